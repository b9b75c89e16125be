# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh disable=SC2034 # GT_* are for the scripts that source this
#
# Library of the guest-side checks (busybox sh inside the guest). Source it
# from a /tests/check-*.sh script; /init runs the script with the share
# mounted on $VFSD_MNT (/mnt) and reads the counts that gt_finish leaves.
#
# The share, as test-guest.sh lays it out on the host before boot:
#   $GT_HOST   (/mnt/host)   made by the host, read-only by convention:
#              big.bin + big.sha256 + big.md5, tree/ + tree.sha256 (a
#              sha256sum manifest relative to tree/) + tree.list (find
#              listing of tree/, sorted) + tree.stat (name size mode of
#              every non-directory, sorted)
#   $GT_OUT    (/mnt/guest)  made by the guest; the host checks it after
#              QEMU exits
#
#   gt_check DESC CMD...   run CMD; "ok N - DESC [+T s]" or "not ok N - DESC"
#                          with its output indented below (T: time since the
#                          previous result)
#   gt_eq DESC WANT GOT    compare two strings
#   gt_note TEXT           a comment line
#   gt_finish              write the counts, exit 0 if nothing failed
#   gt_drop_caches         sync and drop the guest's page/dentry caches, so
#                          the next reads go to the daemon

GT_MNT=${VFSD_MNT:-/mnt}
GT_TAG=${VFSD_TAG:-vfsd}
GT_HOST=$GT_MNT/host
GT_OUT=$GT_MNT/guest
GT_PASSED=0
GT_FAILED=0

# GT_NOW: centiseconds of uptime (no fork: the guest is slow at forking).
gt_now() {
	read -r gt_up _ </proc/uptime
	gt_up=${gt_up%.*}${gt_up#*.}
	while [ "${gt_up#0}" != "$gt_up" ]; do
		gt_up=${gt_up#0}
	done
	GT_NOW=${gt_up:-0}
}

# GT_EL: "[+S.Ds]" since the previous call.
gt_elapsed() {
	gt_prev=$GT_NOW
	gt_now
	gt_cs=$((GT_NOW - gt_prev))
	GT_EL="[+$((gt_cs / 100)).$((gt_cs % 100 / 10))s]"
}

gt_note() {
	echo "# $*"
}

gt_ok() {
	GT_PASSED=$((GT_PASSED + 1))
	gt_elapsed
	echo "ok $((GT_PASSED + GT_FAILED)) - $* $GT_EL"
}

gt_not_ok() {
	GT_FAILED=$((GT_FAILED + 1))
	gt_elapsed
	echo "not ok $((GT_PASSED + GT_FAILED)) - $* $GT_EL"
}

gt_check() {
	gt_desc=$1
	shift
	if "$@" >/tmp/gt-check.out 2>&1; then
		gt_ok "$gt_desc"
	else
		gt_not_ok "$gt_desc (exit $?: $*)"
		head -n 20 /tmp/gt-check.out | sed 's/^/#   /'
	fi
}

gt_eq() {
	if [ "$2" = "$3" ]; then
		gt_ok "$1"
	else
		gt_not_ok "$1: want '$2', got '$3'"
	fi
}

gt_drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

gt_finish() {
	echo "$GT_PASSED $GT_FAILED" >/tmp/counts
	[ "$GT_FAILED" -eq 0 ]
	exit
}

gt_now
mkdir -p "$GT_OUT"
