#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR disable=SC2119
# A real tree: cp -a /usr/share/doc into the mount, then the copy must equal
# the original (diff -r, and a listing of type, mode, owner, size, mtime and
# symlink target of every entry), and the host side of the share must equal
# the mount view.
#
# usage: test-tree.sh VFSD [SOURCE-TREE]
set -euo pipefail
export VFSD=$1
SRC=${2:-/usr/share/doc}
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

listing() {
	(cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%U|%G|%s|%T@|%l\n' |
		awk -F'|' -v OFS='|' '$2 == "d" { $6 = "-" } { print }' |
		LC_ALL=C sort)
}

[[ -d "$SRC" ]] || mt_fail "no source tree $SRC"
mt_init
mt_start
cp -a "$SRC" "$MNT/tree" || mt_fail "cp -a into the mount failed"
diff -r --no-dereference "$SRC" "$MNT/tree" >"$T/diff.out" 2>&1 ||
	{ head -n 50 "$T/diff.out" >&2; mt_fail "diff -r: copy differs"; }
listing "$SRC" >"$T/src.list"
listing "$MNT/tree" >"$T/mount.list"
listing "$SHARE/tree" >"$T/share.list"
[[ $(wc -l <"$T/src.list") -gt 100 ]] || mt_fail "source tree too small"
mt_diff "metadata listing (--- original, +++ mount)" "$T/src.list" "$T/mount.list"
mt_diff "metadata listing (--- original, +++ host share)" "$T/src.list" "$T/share.list"
diff -r --no-dereference "$SRC" "$SHARE/tree" >"$T/diff.out" 2>&1 ||
	{ head -n 50 "$T/diff.out" >&2; mt_fail "diff -r: host share differs"; }
mt_check_alive
mt_stop
echo "ok: $(wc -l <"$T/src.list") entries copied and compared"
