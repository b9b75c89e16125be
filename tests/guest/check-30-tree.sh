#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest: a tree copied by the host before boot (host/tree) matches the
# host's manifest (host/tree.sha256), listing (host/tree.list) and
# name/size/mode list (host/tree.stat); the guest copies it with cp -a to
# guest/tree-copy, checks the copy the same way, and the host compares the
# copy with the original after QEMU exits.
# shellcheck source=SCRIPTDIR/guest-lib.sh
. /tests/guest-lib.sh

H=$GT_HOST

# listing DIR OUT: the same three views the host made.
views() {
	(cd "$1" && find . | sort) >"$2.list"
	(cd "$1" && find . ! -type d -exec stat -c '%n %s %a' {} + | sort) >"$2.stat"
}

check_tree() {
	gt_drop_caches
	gt_check "$1: every file's sha256 as on the host" \
		sh -c "cd '$2' && sha256sum -c -s '$H/tree.sha256'"
	views "$2" /tmp/tree
	gt_check "$1: same names as on the host" cmp "$H/tree.list" /tmp/tree.list
	gt_check "$1: same sizes and modes as on the host" cmp "$H/tree.stat" /tmp/tree.stat
}

gt_note "tree: $(wc -l <"$H/tree.list") entries"
check_tree "host tree" "$H/tree"
rm -rf "$GT_OUT/tree-copy"
gt_check "cp -a the tree" cp -a "$H/tree" "$GT_OUT/tree-copy"
check_tree "guest copy" "$GT_OUT/tree-copy"

gt_finish
