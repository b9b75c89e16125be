# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Common library of the host-mount tests. Source it after `set -euo
# pipefail`, with VFSD set to the daemon's path:
#
#   mt_init            make the per-test temporary directory $T (mode 0755)
#                      holding $SHARE (served), $MNT (mount point) and
#                      $NATIVE (a plain directory beside the share); installs
#                      the trap that always cleans up
#   mt_start [ARGS]    start vfsd --shared-dir $SHARE --mount $MNT ARGS and
#                      wait (10 s at most) until $MNT is in mountinfo
#   mt_stop            SIGTERM the daemon, require exit 0 and $MNT unmounted
#   mt_fail MSG        print MSG (and the daemon's stderr) and exit 1
#   mt_diff WHAT A B   compare two files, fail with the diff
#   mt_diff_soft, mt_finish
#                      the same, failing only at mt_finish
#
# The cleanup trap unmounts (umount, then umount -l), kills the daemon and
# removes $T, whether the test passed, failed or was interrupted.

MT_DAEMON_PID=
MT_MOUNTED_AT=
T=
SHARE=
MNT=
NATIVE=

mt_log() {
	echo "# $*" >&2
}

mt_daemon_log() {
	if [[ -n "$T" && -s "$T/vfsd.err" ]]; then
		echo "--- vfsd stderr (last 40 lines) ---" >&2
		tail -n 40 "$T/vfsd.err" >&2
		echo "---" >&2
	fi
}

mt_fail() {
	echo "FAIL: $*" >&2
	mt_daemon_log
	exit 1
}

# Is $1 a mount point in this namespace? (mountinfo field 5)
mt_is_mounted() {
	local mp
	mp=$(realpath -m "$1")
	awk -v mp="$mp" '$5 == mp { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

# The mountinfo line for $1 (empty if none).
mt_mountinfo() {
	local mp
	mp=$(realpath -m "$1")
	awk -v mp="$mp" '$5 == mp' /proc/self/mountinfo
}

mt_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	set +e
	if [[ -n "$MT_MOUNTED_AT" ]] && mt_is_mounted "$MT_MOUNTED_AT"; then
		umount "$MT_MOUNTED_AT" 2>/dev/null ||
			umount -l "$MT_MOUNTED_AT" 2>/dev/null
	fi
	if [[ -n "$MT_DAEMON_PID" ]] && kill -0 "$MT_DAEMON_PID" 2>/dev/null; then
		kill -TERM "$MT_DAEMON_PID" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$MT_DAEMON_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$MT_DAEMON_PID" 2>/dev/null
		wait "$MT_DAEMON_PID" 2>/dev/null
	fi
	if [[ -n "$MT_MOUNTED_AT" ]] && mt_is_mounted "$MT_MOUNTED_AT"; then
		umount -l "$MT_MOUNTED_AT" 2>/dev/null
	fi
	if [[ -n "$T" && -d "$T" ]]; then
		if [[ -n "$MNT" ]] && mt_is_mounted "$MNT"; then
			echo "cleanup: $MNT still mounted, leaving $T" >&2
		else
			rm -rf --one-file-system "$T"
		fi
	fi
	exit "$rc"
}

mt_init() {
	: "${VFSD:?VFSD must name the vfsd binary}"
	T=$(mktemp -d /tmp/vfsd-mt.XXXXXX)
	chmod 0755 "$T"
	trap mt_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	SHARE=$T/share
	MNT=$T/mnt
	NATIVE=$T/native
	mkdir -m 0755 "$SHARE" "$MNT" "$NATIVE"
}

# Start the daemon on $SHARE/$MNT; extra arguments are passed to it.
mt_start() {
	local i
	[[ -z "$MT_DAEMON_PID" ]] || mt_fail "mt_start: daemon already running"
	: >"$T/vfsd.err"
	"$VFSD" --shared-dir "$SHARE" --mount "$MNT" "$@" \
		</dev/null >"$T/vfsd.out" 2>"$T/vfsd.err" &
	MT_DAEMON_PID=$!
	MT_MOUNTED_AT=$MNT
	for ((i = 0; i < 100; i++)); do
		if mt_is_mounted "$MNT"; then
			return 0
		fi
		if ! kill -0 "$MT_DAEMON_PID" 2>/dev/null; then
			local rc=0
			wait "$MT_DAEMON_PID" || rc=$?
			MT_DAEMON_PID=
			mt_fail "vfsd exited with status $rc before mounting $MNT"
		fi
		sleep 0.1
	done
	mt_fail "$MNT not mounted within 10 s"
}

# Wait for the daemon to exit by itself (harness bound: 20 s); sets MT_RC.
mt_wait_exit() {
	local i
	for ((i = 0; i < 200; i++)); do
		kill -0 "$MT_DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$MT_DAEMON_PID" 2>/dev/null &&
		mt_fail "vfsd (pid $MT_DAEMON_PID) did not exit within 20 s"
	MT_RC=0
	wait "$MT_DAEMON_PID" || MT_RC=$?
	MT_DAEMON_PID=
}

# Stop the daemon with SIGTERM: it must exit 0 and leave $MNT unmounted.
mt_stop() {
	[[ -n "$MT_DAEMON_PID" ]] || mt_fail "mt_stop: no daemon"
	kill -TERM "$MT_DAEMON_PID"
	mt_wait_exit
	[[ "$MT_RC" == 0 ]] || mt_fail "vfsd exited with status $MT_RC on SIGTERM"
	if mt_is_mounted "$MNT"; then
		mt_fail "$MNT still mounted after vfsd exited"
	fi
	MT_MOUNTED_AT=
}

# Fail unless the daemon is still running (call after the test's work).
mt_check_alive() {
	if ! kill -0 "$MT_DAEMON_PID" 2>/dev/null; then
		local rc=0
		wait "$MT_DAEMON_PID" || rc=$?
		MT_DAEMON_PID=
		mt_fail "vfsd died during the test (status $rc)"
	fi
}

# Compare two files; on difference show the diff and fail.
mt_diff() {
	mt_diff_soft "$@"
	[[ $MT_SOFT_FAILURES == 0 ]] || mt_fail "see the differences above"
}

# As mt_diff, but only count the failure (see mt_finish): lets a test show
# every independent difference before it fails.
MT_SOFT_FAILURES=0
mt_diff_soft() {
	local what=$1 a=$2 b=$3
	if ! diff -u "$a" "$b" >"$T/diff.out" 2>&1; then
		echo "FAIL: $what differs (--- $a, +++ $b):" >&2
		head -n 200 "$T/diff.out" >&2
		MT_SOFT_FAILURES=$((MT_SOFT_FAILURES + 1))
	fi
}

# Fail if any mt_diff_soft found a difference.
mt_finish() {
	[[ $MT_SOFT_FAILURES == 0 ]] || mt_fail "$MT_SOFT_FAILURES comparisons differ"
}
