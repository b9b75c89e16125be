#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vfsd's log goes wherever its launcher points stderr: libvirt points it
# at a pipe to virtlogd. When the reader of that pipe goes away (virtlogd
# stopped or crashed), the next log line must not kill vfsd with SIGPIPE:
# the file system keeps serving and a stop signal still ends it with 0.
#
#   tests/vhost/test-log-pipe.sh PATH/TO/vfsd
set -euo pipefail
vfsd=${1:?usage: test-log-pipe.sh PATH/TO/vfsd}
tmp=$(mktemp -d /tmp/vfsd-logpipe.XXXXXX)
chmod 755 "$tmp"
pid=
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	[[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null
	[[ -n "$pid" ]] && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
check() {
	if "${@:2}"; then
		echo "ok - $1"
		pass=$((pass + 1))
	else
		echo "not ok - $1"
		fail=$((fail + 1))
	fi
}

sandboxes=(none)
[[ $(id -u) -eq 0 ]] && sandboxes+=(namespace chroot)
mkdir "$tmp/share"
mkfifo "$tmp/log"
for sb in "${sandboxes[@]}"; do
	rm -f "$tmp/s.sock"
	# This shell holds the read end until vfsd has the write end open.
	exec 3<>"$tmp/log"
	"$vfsd" --shared-dir "$tmp/share" --socket-path "$tmp/s.sock" \
		--sandbox "$sb" 3<&- >"$tmp/log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		[[ -S "$tmp/s.sock" ]] && break
		sleep 0.05
	done
	# Its first line is in the pipe; now nobody reads it any more.
	exec 3<&-
	check "--sandbox $sb: serving (socket made)" test -S "$tmp/s.sock"
	# A stop signal makes vfsd log again, into the broken pipe.
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	pid=
	check "--sandbox $sb: the log line into a pipe without reader did not kill it; exit 0 (got $rc)" \
		test "$rc" -eq 0
done
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
