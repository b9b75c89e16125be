#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --syslog: vfsd's lines reach syslog(3) with facility daemon. In a mount
# namespace of its own, with a private /dev, a receiver listens on
# /dev/log (nothing of the host's logging is touched); vfsd starts with
# --syslog (and its default sandbox, which keeps the connection made
# before it), is stopped with SIGTERM, and every line the receiver got
# must carry priority <30> (LOG_DAEMON | LOG_INFO) or another daemon-
# facility priority (24..31), with the "waiting for a vhost-user
# frontend" line among them and nothing on stderr.
#
# usage: test-syslog.sh VFSD
set -euo pipefail
vfsd=$(realpath "$1")
tmp=$(mktemp -d /tmp/vfsd-syslog.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/share"
cat >"$tmp/recv.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[3], 'w').close()  # ready
s.settimeout(float(sys.argv[4]))
with open(sys.argv[2], 'w') as out:
    try:
        while True:
            out.write(s.recv(4096).decode(errors='replace') + '\n')
            out.flush()
    except socket.timeout:
        pass
PY
unshare -m bash -euc '
	mount --make-rprivate /
	mount -t tmpfs -o mode=0755 none /dev
	mknod -m 666 /dev/null c 1 3
	python3 "$1/recv.py" /dev/log "$1/got" "$1/ready" 3 &
	rp=$!
	for ((i = 0; i < 50; i++)); do [[ -e $1/ready ]] && break; sleep 0.1; done
	"$2" --shared-dir "$1/share" --socket-path "$1/v.sock" --syslog \
		2>"$1/stderr" &
	vp=$!
	for ((i = 0; i < 100; i++)); do [[ -S $1/v.sock ]] && break; sleep 0.1; done
	sleep 0.2
	kill -TERM "$vp"
	rc=0
	wait "$vp" || rc=$?
	echo "$rc" >"$1/rc"
	wait "$rp" || true
' _ "$tmp" "$vfsd"
fail=0
[[ $(cat "$tmp/rc") == 0 ]] || { echo "not ok - vfsd exited $(cat "$tmp/rc")"; fail=1; }
if grep -q 'waiting for a vhost-user frontend' "$tmp/got"; then
	echo "ok - the start line reached syslog"
else
	echo "not ok - the start line did not reach syslog:"; cat "$tmp/got"; fail=1
fi
bad=$(grep -v '^$' "$tmp/got" | grep -cvE '^<(2[4-9]|3[01])>' || true)
if [[ $bad == 0 ]]; then
	echo "ok - every line has facility daemon ($(grep -c '^<' "$tmp/got") lines, e.g. $(head -c 4 "$tmp/got"))"
else
	echo "not ok - $bad lines with another facility:"; cat "$tmp/got"; fail=1
fi
if [[ -s $tmp/stderr ]]; then
	echo "not ok - vfsd wrote to stderr with --syslog:"; cat "$tmp/stderr"; fail=1
else
	echo "ok - nothing on stderr"
fi
exit $fail
