#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR disable=SC2119
# Hard links share one inode: the link count of every name, through the
# mount and on the host; unlink while open keeps the data reachable.
#
# usage: test-links.sh VFSD
set -euo pipefail
export VFSD=$1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

expect_nlink() {
	local n
	n=$(stat -c %h "$2")
	[[ "$n" == "$1" ]] || mt_fail "$2: nlink $n, expected $1"
}

mt_init
mt_start
mkdir "$MNT/d"
echo content >"$MNT/a"
ln "$MNT/a" "$MNT/b"
ln "$MNT/a" "$MNT/d/c"
for f in a b d/c; do
	expect_nlink 3 "$MNT/$f"
	expect_nlink 3 "$SHARE/$f"
done
[[ $(stat -c %i "$SHARE/a") == $(stat -c %i "$SHARE/d/c") ]] ||
	mt_fail "host: a and d/c are not the same inode"
[[ $(stat -c %i "$MNT/a") == $(stat -c %i "$MNT/d/c") ]] ||
	mt_fail "mount: a and d/c have different inode numbers"
echo more >>"$MNT/b"
[[ $(cat "$MNT/d/c") == $'content\nmore' ]] || mt_fail "write via b not seen via d/c"
[[ $(cat "$SHARE/a") == $'content\nmore' ]] || mt_fail "write via b not seen on host"

rm "$MNT/a"
expect_nlink 2 "$MNT/b"
expect_nlink 2 "$MNT/d/c"
expect_nlink 2 "$SHARE/b"
mv "$MNT/d/c" "$MNT/c"
expect_nlink 2 "$MNT/c"
[[ ! -e "$SHARE/d/c" && -e "$SHARE/c" ]] || mt_fail "rename not visible on host"

# Unlink while open: the data stays readable and writable through the fd.
exec 7>>"$MNT/b"
rm "$MNT/b" "$MNT/c"
[[ ! -e "$MNT/b" && ! -e "$SHARE/b" ]] || mt_fail "unlinked name still present"
[[ $(stat -L -c %h /proc/self/fd/7) == 0 ]] ||
	mt_fail "open unlinked file: nlink $(stat -L -c %h /proc/self/fd/7), expected 0"
echo appended >&7
[[ $(cat /proc/self/fd/7) == $'content\nmore\nappended' ]] ||
	mt_fail "unlinked file content: $(cat /proc/self/fd/7)"
exec 7>&-
[[ -z $(find "$SHARE" -mindepth 1 -maxdepth 1 ! -name d) ]] ||
	mt_fail "host share holds more than d/: $(ls -A "$SHARE")"
mt_check_alive
mt_stop
echo "ok: hard links"
