# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for the sandbox tier (sourced): a temporary directory, TAP-like
# results, a vfsd started in the background and the process that serves.
set -euo pipefail
tmp=$(mktemp -d /tmp/vfsd-sb.XXXXXX)
chmod 755 "$tmp"
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }
check() { if "${@:2}"; then ok "$1"; else bad "$1"; fi; }
skip() {
	echo "SKIP: $*"
	exit 77
}
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

wait_for_socket() {
	for _ in $(seq 1 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# The process that serves: the only child of $1 (namespace sandbox), or
# $1 itself. Waits until it runs under its seccomp filter.
serving_pid() {
	local p=$1 c
	for _ in $(seq 1 100); do
		c=$(pgrep -P "$p" 2>/dev/null | head -n1 || true)
		c=${c:-$p}
		if grep -q '^Seccomp:[[:space:]]*2' "/proc/$c/status" 2>/dev/null; then
			echo "$c"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# Start vfsd serving $tmp/share on $tmp/s.sock with extra arguments,
# through the command in the launcher array if any (it must exec).
launcher=()
start_vfsd() {
	rm -f "$tmp/s.sock"
	${launcher[@]+"${launcher[@]}"} "$vfsd" --shared-dir "$tmp/share" --socket-path "$tmp/s.sock" "$@" \
		2>"$tmp/log" &
	pid=$!
	wait_for_socket "$tmp/s.sock"
}

# SIGTERM to vfsd; sets rc to its exit status.
stop_vfsd() {
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	pid=
}
