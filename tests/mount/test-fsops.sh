#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# The fsops trace as root, once in a native directory and once inside the
# mount (vfsd --xattr): the outputs must be identical. Then the host view of
# the share must hold what the native run left (names, types, modes, owners,
# sizes, link counts).
#
# usage: test-fsops.sh VFSD FSOPS [VFSD-ARGS...]
set -euo pipefail
export VFSD=$1
FSOPS=$2
shift 2
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mt_init
mt_start --xattr "$@"
mkdir "$NATIVE/dir" "$MNT/dir"

"$FSOPS" -x "$NATIVE/dir" >"$T/native.out" 2>&1 ||
	mt_fail "fsops failed natively: $(tail -n 3 "$T/native.out")"
"$FSOPS" -x "$MNT/dir" >"$T/mount.out" 2>&1 ||
	mt_fail "fsops failed on the mount: $(tail -n 3 "$T/mount.out")"
mt_check_alive

# Lines starting with '~' are fallocate modes the kernel's FUSE client does
# not forward (COLLAPSE_RANGE, INSERT_RANGE): there every such call must
# fail with EOPNOTSUPP, unless it matches the native result exactly.
grep -v '^~' "$T/native.out" >"$T/native.cmp" || true
grep -v '^~' "$T/mount.out" >"$T/mount.cmp" || true
mt_diff_soft "fsops trace" "$T/native.cmp" "$T/mount.cmp"
if ! cmp -s <(grep '^~' "$T/native.out") <(grep '^~' "$T/mount.out"); then
	bad=$(grep '^~' "$T/mount.out" | grep -v ' = -1 EOPNOTSUPP$' || true)
	[[ -z "$bad" ]] ||
		mt_fail "fallocate modes the FUSE client does not forward: $bad"
	mt_log "COLLAPSE_RANGE/INSERT_RANGE: EOPNOTSUPP from the FUSE client"
fi
[[ $(grep -c . "$T/native.cmp") -gt 400 ]] || mt_fail "trace too short"

# What the trace left: on the host side of the share, and through a fresh
# mount (no cached attributes), it must match the native directory.
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%U|%G|%s|%n\n' |
		awk -F'|' -v OFS='|' '$2 == "d" { $6 = "-" } { print }' |
		LC_ALL=C sort)
}
listing "$NATIVE/dir" >"$T/native.list"
listing "$SHARE/dir" >"$T/share.list"
mt_diff_soft "host listing of the share" "$T/native.list" "$T/share.list"
mt_stop
mt_start --xattr "$@"
listing "$MNT/dir" >"$T/remount.list"
mt_diff_soft "listing through a fresh mount" "$T/native.list" "$T/remount.list"
mt_check_alive
mt_stop
mt_finish
echo "ok: fsops trace identical ($(wc -l <"$T/native.out") lines)"
