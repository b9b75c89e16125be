#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A system call outside the seccomp allowlist is stopped, and the parent
# of a namespace sandbox reports the child's death by signal.
# VFSD_TEST_FORBIDDEN_SYSCALL=1 makes the serving process call
# getpriority() (a harmless query that is not on the list)
# right after its filter is loaded.
#   tests/sandbox/test-forbidden.sh PATH/TO/vfsd
vfsd=${1:?usage: test-forbidden.sh PATH/TO/vfsd}
. "$(dirname "$0")/lib.sh"
mkdir "$tmp/share"
sigsys=$(kill -l SYS)
not() { ! "$@"; }

# Run vfsd with the hook until it ends (or 10 s); sets rc.
run_forbidden() {
	rc=0
	VFSD_TEST_FORBIDDEN_SYSCALL=1 timeout -s KILL 10 "$vfsd" \
		--shared-dir "$tmp/share" --socket-path "$tmp/f.sock" "$@" \
		>"$tmp/out" 2>"$tmp/log" || rc=$?
}

if [ "$(id -u)" -eq 0 ]; then
	# 1. namespace + kill: the child dies by SIGSYS; the parent says so
	#    and exits 128 + 31.
	run_forbidden --sandbox namespace --seccomp kill
	check "namespace, kill: exit status 128 + SIGSYS ($rc)" \
		test "$rc" -eq $((128 + sigsys))
	check "namespace, kill: the parent names the signal" \
		grep -q "killed by signal $sigsys (SIGSYS" "$tmp/log"
	check "namespace, kill: the call did not return" \
		not grep -q "still alive" "$tmp/log"
	check "namespace, kill: the parent removed the socket" \
		test ! -e "$tmp/f.sock"

	# 2. namespace + trap: SIGSYS to the thread, not handled: same end.
	run_forbidden --sandbox namespace --seccomp trap
	check "namespace, trap: exit status 128 + SIGSYS ($rc)" \
		test "$rc" -eq $((128 + sigsys))
	check "namespace, trap: the parent names the signal" \
		grep -q "killed by signal $sigsys (SIGSYS" "$tmp/log"

	# 3. A child killed by another signal is reported the same way.
	start_vfsd --sandbox namespace --seccomp kill
	if sp=$(serving_pid "$pid"); then
		kill -KILL "$sp"
		rc=0
		wait "$pid" || rc=$?
		pid=
		check "namespace: child killed by SIGKILL, exit 137 ($rc)" \
			test "$rc" -eq 137
		check "namespace: the parent names SIGKILL" \
			grep -q "killed by signal 9 (SIGKILL" "$tmp/log"
	else
		bad "namespace: no serving process under seccomp"
	fi
fi

# 4. log: the call is allowed (and logged by the kernel); vfsd serves on.
start_vfsd_log() {
	VFSD_TEST_FORBIDDEN_SYSCALL=1 start_vfsd --seccomp log "$@"
}
start_vfsd_log
for _ in $(seq 1 100); do
	grep -q "still alive" "$tmp/log" && break
	sleep 0.05
done
check "log: the call returned and vfsd still serves" \
	grep -q "still alive" "$tmp/log"
stop_vfsd
check "log: SIGTERM, exit 0 ($rc)" test "$rc" -eq 0

# 5. --sandbox none --seccomp kill (also unprivileged): vfsd itself dies.
run_forbidden --sandbox none --seccomp kill
check "none, kill: killed by SIGSYS ($rc)" test "$rc" -eq $((128 + sigsys))
finish
