#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# --metrics-socket with a host mount (--mount): the socket (mode 0600),
# curl reading the page, the /dev/fuse device's requests as one series
# (queue="dev") equal to the requests counted by opcode, bytes read and
# written through the mount with --cache never (every byte a READ or
# WRITE), an ENOENT, handles back to 0 after close; the socket file
# removed when vfsd exits.
#
# usage: test-metrics.sh VFSD
set -euo pipefail
export VFSD=$1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

page() {
	curl -sS --max-time 5 --unix-socket "$M" http://localhost/metrics
}

# The value of the sample named exactly $1 on the page in $2 (or "").
sample() {
	awk -v s="$1" '$1 == s { print $2 }' "$2"
}

mt_init
M=$T/metrics.sock
mt_start --cache never --metrics-socket "$M"
[[ -S $M ]] || mt_fail "no metrics socket at $M"
[[ $(stat -c %a "$M") == 600 ]] || mt_fail "metrics socket mode $(stat -c %a "$M")"

head -c 100000 /dev/urandom >"$T/data"
cp "$T/data" "$MNT/f"
cmp "$MNT/f" "$T/data" || mt_fail "the file read back differs"
stat "$MNT/missing" 2>/dev/null && mt_fail "stat of a missing file succeeded"
mt_check_alive

# RELEASE and FORGET come asynchronously: wait for a quiet page.
ok=
for ((i = 0; i < 50; i++)); do
	page >"$T/page" || mt_fail "curl failed"
	dev=$(sample 'vfsd_queue_requests_total{queue="dev"}' "$T/page")
	ops=$(awk '$1 ~ /^vfsd_fuse_requests_total\{/ { n += $2 } END { print n + 0 }' "$T/page")
	handles=$(sample vfsd_handles "$T/page")
	if [[ -n $dev && $dev == "$ops" && $handles == 0 ]]; then
		ok=1
		break
	fi
	sleep 0.1
done
[[ -n $ok ]] || {
	cat "$T/page" >&2
	mt_fail "requests from /dev/fuse ($dev) never equal those by opcode ($ops) with no handle open ($handles)"
}
[[ $(sample 'vfsd_fuse_requests_total{op="INIT"}' "$T/page") == 1 ]] ||
	mt_fail "INIT not counted once"
[[ $(sample vfsd_written_bytes_total "$T/page") == 100000 ]] ||
	mt_fail "written bytes: $(sample vfsd_written_bytes_total "$T/page"), want 100000"
[[ $(sample vfsd_read_bytes_total "$T/page") == 100000 ]] ||
	mt_fail "read bytes: $(sample vfsd_read_bytes_total "$T/page"), want 100000"
enoent=$(sample 'vfsd_fuse_errors_total{errno="ENOENT"}' "$T/page")
[[ ${enoent:-0} -ge 1 ]] || mt_fail "no ENOENT counted"
nodes=$(sample vfsd_nodes "$T/page")
[[ ${nodes:-0} -ge 2 ]] || mt_fail "nodes held: $nodes"
fds=$(sample vfsd_open_fds "$T/page")
[[ ${fds:-0} -gt 3 ]] || mt_fail "open fds: $fds"
c=$(sample 'vfsd_fuse_request_duration_seconds_count{op="WRITE"}' "$T/page")
[[ $c == $(sample 'vfsd_fuse_requests_total{op="WRITE"}' "$T/page") ]] ||
	mt_fail "WRITE histogram count $c"
grep -q '^vfsd_queue_requests_total{queue="[0-9]' "$T/page" &&
	mt_fail "a virtio-fs queue series on a host mount"
mt_check_alive
mt_stop
[[ -e $M ]] && mt_fail "the metrics socket is left after exit"
echo "ok - --mount with --metrics-socket"
