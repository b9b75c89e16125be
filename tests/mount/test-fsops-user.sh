#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# The fsops trace as an unprivileged user (uid/gid 65534), natively and
# inside the mount, with the unprivileged cases (-u): creating in a root
# 0755 directory, deleting root's file in a sticky directory, set-group-ID
# directories, writing and truncating set-id files (their S_ISUID/S_ISGID
# must go: the CVE-2022-0358 class), chmod g+s outside the group. Runs once
# with no supplementary groups and once with the directories' group as a
# supplementary group. Outputs must be identical.
#
# usage: test-fsops-user.sh VFSD FSOPS [VFSD-ARGS...]
set -euo pipefail
export VFSD=$1
FSOPS=$2
shift 2
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USER_ID=65534
GROUP=100 # the group of the set-group-ID directories

# Prepare, as root, the directories the unprivileged trace works in.
prepare() {
	local p=$1/prep f
	mkdir -m 0755 "$1" "$p" "$p/ro" "$p/setid"
	echo data >"$p/ro/file"
	echo secret >"$p/ro/secret"
	chmod 0600 "$p/ro/secret"
	mkdir -m 0700 "$p/ro/private"
	: >"$p/ro/private/x"
	mkdir "$p/sticky"
	chmod 1777 "$p/sticky"
	echo root >"$p/sticky/rootfile"
	chmod 0666 "$p/sticky/rootfile"
	mkdir "$p/sgid" "$p/sgid_open"
	chgrp "$GROUP" "$p/sgid" "$p/sgid_open"
	chmod 2775 "$p/sgid"
	chmod 2777 "$p/sgid_open"
	for f in w pw t ot ft r; do
		printf original >"$p/setid/$f"
		chmod 06777 "$p/setid/$f"
	done
	printf original >"$p/setid/gnx"
	chmod 02767 "$p/setid/gnx"
	mkdir "$1/work"
	chown "$USER_ID:$USER_ID" "$1/work"
}

mt_init
mt_start --xattr "$@"
cp "$FSOPS" "$T/fsops"
chmod 0755 "$T/fsops"

run() {
	local name=$1
	shift
	prepare "$NATIVE/$name"
	prepare "$MNT/$name"
	setpriv --reuid=$USER_ID --regid=$USER_ID "$@" \
		"$T/fsops" -x -u "$NATIVE/$name/prep" "$NATIVE/$name/work" \
		>"$T/$name.native.out" 2>&1 ||
		mt_fail "fsops ($name) failed natively: $(tail -n 3 "$T/$name.native.out")"
	setpriv --reuid=$USER_ID --regid=$USER_ID "$@" \
		"$T/fsops" -x -u "$MNT/$name/prep" "$MNT/$name/work" \
		>"$T/$name.mount.out" 2>&1 ||
		mt_fail "fsops ($name) failed on the mount: $(tail -n 3 "$T/$name.mount.out")"
	mt_check_alive
	grep -q "^# fsops uid=$USER_ID" "$T/$name.native.out" ||
		mt_fail "fsops did not run as uid $USER_ID"
	grep -q '^# end$' "$T/$name.native.out" || mt_fail "native trace incomplete"
	grep -v '^~' "$T/$name.native.out" >"$T/$name.native.cmp" || true
	grep -v '^~' "$T/$name.mount.out" >"$T/$name.mount.cmp" || true
	mt_diff_soft "unprivileged fsops trace ($name)" \
		"$T/$name.native.cmp" "$T/$name.mount.cmp"
	echo "# $name trace: $(wc -l <"$T/$name.native.out") lines"
}

run nogroups --clear-groups
run group --groups=$GROUP

# What the traces left: on the host side of the share, and through a fresh
# mount (no cached attributes), it must match the native directories.
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%U|%G|%s|%n\n' |
		awk -F'|' -v OFS='|' '$2 == "d" { $6 = "-" } { print }' |
		LC_ALL=C sort)
}
listing "$NATIVE" >"$T/native.list"
listing "$SHARE" >"$T/share.list"
mt_diff_soft "host listing of the share" "$T/native.list" "$T/share.list"
mt_stop
mt_start --xattr "$@"
listing "$MNT" >"$T/remount.list"
mt_diff_soft "listing through a fresh mount" "$T/native.list" "$T/remount.list"
mt_check_alive
mt_stop
mt_finish
echo "ok: unprivileged traces identical"
