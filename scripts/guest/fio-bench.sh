#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of bench/guest-fio.sh (busy box sh; /init runs it as the test
# "fio-bench" with the share on /mnt). Benchmarks report, they never
# assert: a check fails only when a row cannot run.
#
# Needs, in the initramfs's /tests (bench/guest-fio.sh puts them there
# with mkinitramfs.sh --payload):
#   fio/fio, fio/lib/*, fio/ld-linux-x86-64.so.2   Debian's fio, the
#                             libraries ldd lists and the loader
#   fio/jobs                  one row a line: NAME RW BS IOENGINE IODEPTH
#                             [NUMJOBS]; RW untar, find or rm make a
#                             metadata row on fio/tree.tar instead
#   fio/runtime               seconds per fio job
#   fio/tree.tar              the tree the metadata rows work on
#   fio/tree.count            how many entries it holds
# and, in the share, fio.dat (the file every fio job works on; the host
# makes it, so no job lays it out).
#
# Every row is framed by two console lines, each followed by 0.2 s of
# quiet so that the host can sample the daemon's and QEMU's CPU time
# between them (fio prints them itself, through exec_prerun and
# exec_postrun, so that its start-up -- loading some sixty libraries under
# TCG -- falls outside; with NUMJOBS > 1 every job prints them, and the
# host keeps the last of each):
#   VFSD-ROW-BEGIN NAME
#   VFSD-FIO NAME <fio's terse (version 3) result line>
#   VFSD-META NAME CENTISECONDS ENTRIES         (metadata rows)
#   VFSD-ROW-END NAME
# shellcheck source=SCRIPTDIR/../../tests/guest/guest-lib.sh
. /tests/guest-lib.sh

F=/tests/fio
fio() {
	"$F/ld-linux-x86-64.so.2" --library-path "$F/lib" "$F/fio" "$@"
}

runtime=$(cat "$F/runtime" 2>/dev/null || echo 4)
entries=$(cat "$F/tree.count" 2>/dev/null || echo 0)
gt_check "fio runs" fio --version
gt_check "the share has fio.dat" test -s "$GT_MNT/fio.dat"
size=$(wc -c <"$GT_MNT/fio.dat")
gt_note "fio.dat: $size bytes, $runtime s per job; tree: $entries entries"
tree=$GT_MNT/bench-tree

row_begin() {
	echo "VFSD-ROW-BEGIN $1"
	sleep 0.2
}

row_end() {
	echo "VFSD-ROW-END $1"
	sleep 0.2
}

# meta NAME untar|find|rm: time one metadata operation on the tree; the
# guest's caches are dropped first so that find and rm ask the daemon
meta() {
	gt_drop_caches
	row_begin "$1"
	gt_now
	t0=$GT_NOW
	case $2 in
	untar)
		mkdir -p "$tree" && tar -xf "$F/tree.tar" -C "$tree"
		;;
	find)
		n=$(find "$tree" | wc -l) && [ "$n" -gt 1 ]
		;;
	rm)
		rm -rf "$tree" && [ ! -e "$tree" ]
		;;
	esac
	rc=$?
	gt_now
	el=$((GT_NOW - t0))
	row_end "$1"
	if [ $rc -eq 0 ]; then
		gt_ok "$1"
		echo "VFSD-META $1 $el $entries"
	else
		gt_not_ok "$1"
	fi
}

while read -r name rw bs engine depth jobs; do
	case "$name" in '' | '#'*) continue ;; esac
	case "$rw" in
	untar | find | rm)
		meta "$name" "$rw"
		continue
		;;
	esac
	# O_DIRECT: every request goes to the daemon, none to the guest's
	# page cache
	if fio --name="$name" --filename="$GT_MNT/fio.dat" --size="$size" \
		--rw="$rw" --bs="$bs" --ioengine="$engine" --iodepth="$depth" \
		--numjobs="${jobs:-1}" --group_reporting \
		--exec_prerun="echo VFSD-ROW-BEGIN $name >/dev/console; sleep 0.2" \
		--exec_postrun="echo VFSD-ROW-END $name >/dev/console; sleep 0.2" \
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

# which request queues the guest used: their interrupts, per vCPU
gt_note "virtio interrupts (per vCPU) after the rows:"
grep -i virtio /proc/interrupts | sed 's/^/#   /'

gt_finish
