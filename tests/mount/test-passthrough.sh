#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# FUSE passthrough on the host kernel's client (Linux 6.9 and later, this
# machine runs 6.18): regular files opened in the mount are read and written
# by the kernel itself through a backing file vfsd registers, so no READ or
# WRITE request reaches the daemon (its debug log lists every request).
# Checked: INIT grants FUSE_PASSTHROUGH; reads, writes, appends, a shared
# mapping and two opens of one file at once give the host's bytes both
# ways, with no READ/WRITE served; --cache never (direct I/O) and
# --writeback keep READ/WRITE in the daemon; a kernel without passthrough
# (simulated with VFSD_BENCH_NO_PASSTHROUGH) serves them as before.
#
# usage: test-passthrough.sh VFSD
set -euo pipefail
export VFSD=$1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Requests of kind $1 the daemon logged.
served() {
	grep -c "fuse: unique [0-9]* $1 (" "$T/vfsd.err" || true
}

# Write, read back, append, map shared, two opens: all in the mount.
workload() {
	head -c 1048576 /dev/urandom >"$NATIVE/data"
	cp "$NATIVE/data" "$MNT/data"
	cmp "$MNT/data" "$SHARE/data" || mt_fail "cp into the mount: host differs"
	cmp "$MNT/data" "$NATIVE/data" || mt_fail "reading back differs"
	echo appended >>"$MNT/data"
	[[ $(tail -c 9 "$SHARE/data") == appended ]] || mt_fail "append not on the host"
	echo "host side" >"$SHARE/h"
	[[ $(cat "$MNT/h") == "host side" ]] || mt_fail "a host file reads wrong"
	python3 - "$MNT/data" "$MNT/h" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[0:6] = b"mapped"
m.flush()
m.close()
a = os.open(sys.argv[2], os.O_RDONLY)
b = os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND)
os.write(b, b"more\n")
assert os.pread(a, 64, 0) == b"host side\nmore\n", os.pread(a, 64, 0)
os.close(a); os.close(b); os.close(fd)
PY
	[[ $(head -c 6 "$SHARE/data") == mapped ]] || mt_fail "the mapped write is not on the host"
	[[ $(cat "$SHARE/h") == $'host side\nmore' ]] || mt_fail "two opens at once: $(cat "$SHARE/h")"
}

mt_init

mt_start --log-level debug
stat "$MNT" >/dev/null # waits for INIT
grep -q "fuse: INIT" "$T/vfsd.err" || mt_fail "no INIT in the log"
flags=$(sed -n 's/.*fuse: INIT [0-9.]*: flags \(0x[0-9a-f]*\).*/\1/p' "$T/vfsd.err")
((flags & (1 << 37))) || mt_fail "INIT flags $flags lack FUSE_PASSTHROUGH"
workload
reads=$(served READ)
writes=$(served WRITE)
opens=$(served OPEN)
[[ $reads == 0 && $writes == 0 ]] ||
	mt_fail "passthrough: the daemon still served $reads READ and $writes WRITE"
((opens > 0)) || mt_fail "no OPEN reached the daemon"
mt_stop
grep -q "passthrough refused" "$T/vfsd.err" && mt_fail "passthrough refused: $(grep refused "$T/vfsd.err")"
echo "ok: passthrough granted; 1 MiB written, read, appended, mapped, opened twice: 0 READ, 0 WRITE served ($opens OPEN)"

for opts in "--cache never" "--writeback"; do
	rm -f "$SHARE/data" "$SHARE/h"
	# shellcheck disable=SC2086 # two words
	mt_start --log-level debug $opts
	head -c 65536 /dev/urandom >"$NATIVE/small"
	cp "$NATIVE/small" "$MNT/small"
	cat "$MNT/small" >/dev/null
	cmp "$SHARE/small" "$NATIVE/small" || mt_fail "$opts: host differs"
	mt_stop
	(($(served WRITE) > 0)) || mt_fail "$opts: no WRITE reached the daemon"
	echo "ok: $opts: READ/WRITE served by the daemon ($(served READ) READ, $(served WRITE) WRITE)"
done

rm -f "$SHARE/data" "$SHARE/h"
VFSD_BENCH_NO_PASSTHROUGH=1 mt_start --log-level debug
stat "$MNT" >/dev/null
workload
mt_stop
flags=$(sed -n 's/.*fuse: INIT [0-9.]*: flags \(0x[0-9a-f]*\).*/\1/p' "$T/vfsd.err")
((flags & (1 << 37))) && mt_fail "INIT granted passthrough though the transport cannot"
(($(served READ) > 0 && $(served WRITE) > 0)) || mt_fail "no READ/WRITE served without passthrough"
echo "ok: without passthrough the same work is served by the daemon ($(served READ) READ, $(served WRITE) WRITE)"
mt_finish
