#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# Open-time options of the Rust virtiofsd, on the host kernel's client:
#   --allow-mmap        with --cache never every file is FOPEN_DIRECT_IO;
#                       a shared mapping is refused (ENODEV) without the
#                       option and works with it, writes reaching the host
#   --preserve-noatime  an O_NOATIME open in the mount leaves the host
#                       file's atime alone; without the option the flag is
#                       dropped and the host's relatime updates it
#
# usage: test-open-flags.sh VFSD
set -euo pipefail
export VFSD=$1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mt_init

# Map the file shared, write through the mapping, msync. Prints "ok" or
# the errno name.
map_write() {
	python3 - "$1" <<'PY'
import errno, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    m = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
except OSError as e:
    print(errno.errorcode[e.errno])
    sys.exit(0)
m[0:6] = b"mapped"
m.flush()
m.close()
os.close(fd)
print("ok")
PY
}

head -c 4096 /dev/zero >"$SHARE/m"
mt_start --cache never
got=$(map_write "$MNT/m")
[[ $got == ENODEV ]] || mt_fail "shared mmap without --allow-mmap: $got, expected ENODEV"
mt_stop
echo "ok: --cache never without --allow-mmap: shared mmap refused (ENODEV)"

mt_start --cache never --allow-mmap
got=$(map_write "$MNT/m")
[[ $got == ok ]] || mt_fail "shared mmap with --allow-mmap: $got"
mt_stop
[[ $(head -c 6 "$SHARE/m") == mapped ]] ||
	mt_fail "the write through the mapping did not reach the host"
echo "ok: --cache never --allow-mmap: shared mmap works, the host has the write"

# Read with O_NOATIME in the mount; the host's atime before and after.
noatime_read() {
	local before after
	touch -a -d '2000-01-01 00:00:00' "$SHARE/a"
	before=$(stat -c %X "$SHARE/a")
	python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NOATIME)
os.read(fd, 100)
os.close(fd)' "$MNT/a"
	after=$(stat -c %X "$SHARE/a")
	[[ $before == "$after" ]] && echo kept || echo updated
}

echo data >"$SHARE/a"
[[ $(findmnt -n -o OPTIONS -T "$SHARE") != *noatime* ]] ||
	mt_fail "the share's file system is mounted noatime: nothing to observe"
mt_start --cache never
got=$(noatime_read)
[[ $got == updated ]] || mt_fail "without --preserve-noatime the host atime was $got"
mt_stop
echo "ok: without --preserve-noatime O_NOATIME is dropped (host atime updated)"

mt_start --cache never --preserve-noatime
got=$(noatime_read)
[[ $got == kept ]] || mt_fail "with --preserve-noatime the host atime was $got"
mt_stop
echo "ok: --preserve-noatime: host atime unchanged"
mt_finish
