#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of bench/guest-fio.sh (busy box sh; /init runs it as the test
# "fio-bench" with the share on /mnt). Benchmarks report, they never
# assert: a check fails only when fio cannot run.
#
# Needs, in the initramfs's /tests (bench/guest-fio.sh puts them there
# with mkinitramfs.sh --payload):
#   fio/fio, fio/lib/*, fio/ld-linux-x86-64.so.2   Debian's fio, the
#                             libraries ldd lists and the loader
#   fio/jobs                  one job a line: NAME RW BS IOENGINE IODEPTH
#   fio/runtime               seconds per job
# and, in the share, fio.dat (the file every job works on; the host makes
# it, so no job lays it out).
#
# For every job one console line:
#   VFSD-FIO NAME <fio's terse (version 3) result line>
# shellcheck source=SCRIPTDIR/../../tests/guest/guest-lib.sh
. /tests/guest-lib.sh

F=/tests/fio
fio() {
	"$F/ld-linux-x86-64.so.2" --library-path "$F/lib" "$F/fio" "$@"
}

runtime=$(cat "$F/runtime" 2>/dev/null || echo 4)
gt_check "fio runs" fio --version
gt_check "the share has fio.dat" test -s "$GT_MNT/fio.dat"
size=$(wc -c <"$GT_MNT/fio.dat")
gt_note "fio.dat: $size bytes, $runtime s per job"

while read -r name rw bs engine depth; do
	case "$name" in '' | '#'*) continue ;; esac
	# O_DIRECT: every request goes to the daemon, none to the guest's
	# page cache
	if fio --name="$name" --filename="$GT_MNT/fio.dat" --size="$size" \
		--rw="$rw" --bs="$bs" --ioengine="$engine" --iodepth="$depth" \
		--direct=1 --runtime="$runtime" --time_based --thread \
		--randrepeat=0 --output-format=terse --terse-version=3 \
		>/tmp/fio.out 2>/tmp/fio.err; then
		gt_ok "fio $name"
		while read -r line; do
			case "$line" in 3\;*) echo "VFSD-FIO $name $line" ;; esac
		done </tmp/fio.out
	else
		gt_not_ok "fio $name"
		head -n 20 /tmp/fio.err | sed 's/^/#   /'
	fi
done <"$F/jobs"

gt_finish
