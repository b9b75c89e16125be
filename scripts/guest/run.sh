#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest-test tier: boot a guest against a virtio-fs daemon and report.
#
#   scripts/guest/run.sh [OPTIONS] --daemon CMD [ARG...]
#
# Starts CMD (its own process group; every "@SOCK@" in CMD and its
# arguments is replaced by the vhost-user socket path), waits for the
# socket, boots QEMU (TCG) with the initramfs, waits for QEMU to end (or the
# timeout), prints the guest's result line, then requires the daemon to
# exit by itself with the expected status. Whatever happens, no QEMU,
# daemon, socket or temporary directory is left behind.
#
# Options (each also settable by the environment variable in brackets):
#   --cache DIR         prepare.sh cache (default build/guest-cache)
#   --kernel FILE       guest kernel   (default: from the cache)
#   --initramfs FILE    initramfs      (default: built by mkinitramfs.sh)
#   --test A,B          guest test scripts to run (default: all check-*)
#   --tag TAG           virtio-fs tag  (default vfsd)
#   --timeout SEC       QEMU's time limit [VFSD_GUEST_TIMEOUT] (default 150)
#   --daemon-exit N|any daemon's expected exit status (default 0)
#   --daemon-grace SEC  how long the daemon may take to exit after QEMU (10)
#   --log FILE          keep the serial log here
#   --daemon-log FILE   keep the daemon's stdout+stderr here
#   --verbose           copy the serial log to stdout as it comes
#   --allow-reboot      let a guest reboot restart the VM (default: a reboot
#                       ends QEMU)
#   --queues N          num-request-queues of the vhost-user-fs-pci device
#                       (default: QEMU's, 1)
#   --pid-file FILE     once QEMU runs, write "DAEMON_PID QEMU_PID SERIAL_LOG"
#                       to FILE (for a caller that samples their CPU time
#                       or follows the console while the guest runs)
#
# Exit status: 0 only if the guest printed "VFSD-GUEST-RESULT: PASS", QEMU
# powered off in time and the daemon exited as expected; 1 otherwise; 2 on
# a usage error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=
kernel=
initramfs=
tests=
tag=vfsd
timeout_s=${VFSD_GUEST_TIMEOUT:-150}
daemon_exit=0
grace=10
keep_log=
keep_dlog=
verbose=0
reboot_flag=-no-reboot
queues=
pid_file=
daemon=()

usage() {
	echo "run.sh: $*" >&2
	echo "usage: run.sh [OPTIONS] --daemon CMD [ARG...] (see the header of $0)" >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case "$1" in
	--cache) cache=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--initramfs) initramfs=$2; shift 2 ;;
	--test) tests=$2; shift 2 ;;
	--tag) tag=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--daemon-exit) daemon_exit=$2; shift 2 ;;
	--daemon-grace) grace=$2; shift 2 ;;
	--log) keep_log=$2; shift 2 ;;
	--daemon-log) keep_dlog=$2; shift 2 ;;
	--verbose) verbose=1; shift ;;
	--allow-reboot) reboot_flag=; shift ;;
	--queues) queues=$2; shift 2 ;;
	--pid-file) pid_file=$2; shift 2 ;;
	--daemon) shift; daemon=("$@"); break ;;
	-h | --help) sed -n '3,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage "unknown option $1" ;;
	esac
done
[[ ${#daemon[@]} -gt 0 ]] || usage "--daemon CMD is required"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || usage "bad --timeout $timeout_s"
[[ "$grace" =~ ^[0-9]+$ ]] || usage "bad --daemon-grace $grace"
[[ "$daemon_exit" =~ ^([0-9]+|any)$ ]] || usage "bad --daemon-exit $daemon_exit"
[[ "$tag" =~ ^[A-Za-z0-9_.-]{1,35}$ ]] || usage "bad --tag $tag"
[[ -z "$queues" || "$queues" =~ ^[1-9][0-9]*$ ]] || usage "bad --queues $queues"
QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || { echo "run.sh: $QEMU not found" >&2; exit 1; }

tmp=
qemu_pid=
daemon_pid=
tail_pid=

log() {
	echo "run.sh: $*" >&2
}

# Is PID alive (and not a zombie)?
alive() {
	local st
	[[ -r /proc/$1/stat ]] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[[ -n "$st" && "$st" != Z ]]
}

# Does process group PGID still have members?
group_alive() {
	kill -0 -- "-$1" 2>/dev/null
}

kill_group() {
	local pg=$1 i
	group_alive "$pg" || return 0
	kill -TERM -- "-$pg" 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		group_alive "$pg" || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pg" 2>/dev/null || true
}

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [[ -n "$qemu_pid" ]] && alive "$qemu_pid"; then
		kill -KILL "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
	if [[ -n "$daemon_pid" ]]; then
		kill_group "$daemon_pid"
		wait "$daemon_pid" 2>/dev/null
	fi
	if [[ -n "$tail_pid" ]]; then
		kill "$tail_pid" 2>/dev/null
		wait "$tail_pid" 2>/dev/null
	fi
	if [[ -n "$tmp" ]]; then
		[[ -n "$keep_log" && -f "$tmp/serial.log" ]] &&
			cp "$tmp/serial.log" "$keep_log"
		[[ -n "$keep_dlog" && -f "$tmp/daemon.log" ]] &&
			cp "$tmp/daemon.log" "$keep_dlog"
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-guest.XXXXXX")
sock=$tmp/vhost.sock

if [[ -z "$kernel" ]]; then
	GUEST_KERNEL=
	eval "$("$here/prepare.sh" ${cache:+"$cache"})"
	kernel=$GUEST_KERNEL
fi
if [[ -z "$initramfs" ]]; then
	initramfs=$tmp/initramfs.gz
	"$here/mkinitramfs.sh" ${cache:+--cache "$cache"} "$initramfs" >/dev/null
fi
[[ -r "$kernel" ]] || { log "no kernel at $kernel"; exit 1; }
[[ -r "$initramfs" ]] || { log "no initramfs at $initramfs"; exit 1; }

fail() {
	log "FAIL: $*"
	if [[ -s "$tmp/serial.log" ]]; then
		echo "--- serial log (last 60 lines) ---" >&2
		tr -d '\r' <"$tmp/serial.log" | tail -n 60 >&2
	fi
	if [[ -s "$tmp/daemon.log" ]]; then
		echo "--- daemon log (last 30 lines) ---" >&2
		tail -n 30 "$tmp/daemon.log" >&2
	fi
	echo "---" >&2
	exit 1
}

# The daemon, with @SOCK@ substituted, in a process group of its own
# (setsid execs directly: a background job of this shell is no group leader).
cmd=()
for a in "${daemon[@]}"; do
	cmd+=("${a//@SOCK@/$sock}")
done
t0=$(date +%s%N)
setsid "${cmd[@]}" </dev/null >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!

for ((i = 0; i < 100; i++)); do
	[[ -S "$sock" ]] && break
	alive "$daemon_pid" || break
	sleep 0.1
done
if [[ ! -S "$sock" ]]; then
	if alive "$daemon_pid"; then
		fail "daemon made no socket at $sock within 10 s"
	fi
	rc=0
	wait "$daemon_pid" || rc=$?
	daemon_pid=
	fail "daemon exited with status $rc before making its socket"
fi

# Two vCPUs in one TCG thread by default: with a thread per vCPU, QEMU
# 7.2 lets one vCPU run code another is patching (the guest kernel's
# static calls and jump labels), which Debian 13's kernel has been seen to
# die of at boot (int3 Oops). VFSD_GUEST_TCG_THREAD=multi for benchmarks.
append="console=ttyS0 panic=-1 quiet vfsd.tag=$tag"
[[ -n "$tests" ]] && append+=" vfsd.test=$tests"
: >"$tmp/serial.log"
if [[ $verbose -eq 1 ]]; then
	tail -n +1 -f "$tmp/serial.log" &
	tail_pid=$!
fi
t1=$(date +%s%N)
# shellcheck disable=SC2086 # $reboot_flag is one word or none
"$QEMU" -accel "tcg,thread=${VFSD_GUEST_TCG_THREAD:-single}" -m 512M -smp 2 -nodefaults -display none $reboot_flag \
	-object memory-backend-memfd,id=mem,size=512M,share=on \
	-numa node,memdev=mem \
	-chardev "socket,id=c0,path=$sock" \
	-device "vhost-user-fs-pci,chardev=c0,tag=$tag${queues:+,num-request-queues=$queues}" \
	-kernel "$kernel" -initrd "$initramfs" -append "$append" \
	-serial "file:$tmp/serial.log" -monitor none \
	</dev/null >"$tmp/qemu.log" 2>&1 &
qemu_pid=$!
if [[ -n "$pid_file" ]]; then
	echo "$daemon_pid $qemu_pid $tmp/serial.log" >"$pid_file.new"
	mv "$pid_file.new" "$pid_file"
fi

timed_out=0
deadline=$((SECONDS + timeout_s))
while alive "$qemu_pid"; do
	if ((SECONDS >= deadline)); then
		timed_out=1
		kill -KILL "$qemu_pid" 2>/dev/null || true
		break
	fi
	sleep 0.2
done
qemu_rc=0
{ wait "$qemu_pid"; } 2>/dev/null || qemu_rc=$?
qemu_pid=
t2=$(date +%s%N)
if [[ -n "$tail_pid" ]]; then
	sleep 0.2
	kill "$tail_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
	tail_pid=
fi

result=$(tr -d '\r' <"$tmp/serial.log" | grep -a '^VFSD-GUEST-RESULT:' | tail -n 1 || true)
[[ -n "$result" ]] && echo "$result"
if [[ $timed_out -eq 1 ]]; then
	fail "QEMU timed out after $timeout_s s"
fi
if [[ $qemu_rc -ne 0 ]]; then
	[[ -s "$tmp/qemu.log" ]] && sed 's/^/qemu: /' "$tmp/qemu.log" >&2
	fail "QEMU exited with status $qemu_rc"
fi
[[ -n "$result" ]] || fail "the guest printed no VFSD-GUEST-RESULT line"

# The daemon must notice the disconnect and exit by itself.
for ((i = 0; i < grace * 10; i++)); do
	alive "$daemon_pid" || break
	sleep 0.1
done
if alive "$daemon_pid"; then
	fail "daemon still running $grace s after QEMU exited"
fi
drc=0
wait "$daemon_pid" || drc=$?
if group_alive "$daemon_pid"; then
	kill_group "$daemon_pid"
	daemon_pid=
	fail "daemon exited but left processes in its group"
fi
daemon_pid=
t3=$(date +%s%N)
if [[ "$daemon_exit" != any && $drc -ne $daemon_exit ]]; then
	fail "daemon exited with status $drc, expected $daemon_exit"
fi

ms() { echo $((($2 - $1) / 1000000)); }
log "timings: daemon socket $(ms "$t0" "$t1") ms, guest (boot+tests) $(ms "$t1" "$t2") ms, daemon exit $(ms "$t2" "$t3") ms; daemon status $drc"
[[ "$result" == "VFSD-GUEST-RESULT: PASS"* ]] || fail "guest reported failure"
exit 0
