#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Extended attributes of a FIFO and a symlink (reached through
# /proc/self/fd/N, never opened) in each sandbox mode.
#   tests/sandbox/test-xattr.sh PATH/TO/vfsd PATH/TO/sandbox-xattr
vfsd=${1:?usage: test-xattr.sh PATH/TO/vfsd PATH/TO/sandbox-xattr}
client=${2:?usage: test-xattr.sh PATH/TO/vfsd PATH/TO/sandbox-xattr}
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces)"
command -v setfattr >/dev/null || skip "no setfattr (package attr)"
mkdir "$tmp/share"
mkfifo "$tmp/share/fifo"
ln -s nowhere "$tmp/share/link"
setfattr -n security.vfsd -v hi "$tmp/share/fifo" 2>/dev/null ||
	skip "no security.* xattrs on $tmp"
for mode in none chroot namespace; do
	start_vfsd --xattr --sandbox "$mode" --seccomp kill
	if "$client" "$tmp/s.sock" >"$tmp/out" 2>&1; then
		ok "--sandbox $mode: xattrs of a FIFO and a symlink"
	else
		bad "--sandbox $mode: $(grep -v '^ok' "$tmp/out" | head -n3)"
	fi
	rc=0
	wait "$pid" || rc=$?
	pid=
	check "--sandbox $mode: exit 0 after disconnect ($rc)" test "$rc" -eq 0
done
finish
