#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Socket activation, without a running systemd: systemd-socket-activate
# (the systemd package's tool) listens, starts vfsd with LISTEN_FDS=1 when
# the frontend connects, and vfsd serves it as if given --fd 3; a wrong
# LISTEN_FDS or a wrong kind of fd 3 is one line and a non-zero exit.
#   tests/vhost/test-activation.sh PATH/TO/vfsd PATH/TO/vhost-smoke
set -euo pipefail
vfsd=${1:?usage: test-activation.sh VFSD VHOST_SMOKE}
smoke=${2:?usage: test-activation.sh VFSD VHOST_SMOKE}
activate=$(command -v systemd-socket-activate) || {
	echo "SKIP: no systemd-socket-activate (package systemd)"
	exit 77
}
tmp=$(mktemp -d /tmp/vfsd-activation.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/share"
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }

# The whole vhost-user smoke test (set-up, FUSE I/O, exit 0 when the
# frontend leaves) through the activated socket, sandbox and seccomp at
# their defaults. systemd-socket-activate execs vfsd in its own process,
# so LISTEN_PID is vfsd's pid, as under systemd.
if "$smoke" -- "$activate" -l '{sock}' "$vfsd" --shared-dir '{dir}' \
	>"$tmp/smoke" 2>&1; then
	ok "vhost-smoke through systemd-socket-activate: $(tail -n 1 "$tmp/smoke")"
else
	cat "$tmp/smoke"
	bad "vhost-smoke through systemd-socket-activate"
fi
grep -q "waiting for a vhost-user frontend on the socket-activated fd 3" \
	"$tmp/smoke" && ok "vfsd says it serves the activated fd" ||
	bad "no 'socket-activated fd 3' line in the log"

# The C daemon's spelling works the same way.
if "$smoke" -- "$activate" -l '{sock}' "$vfsd" -o 'source={dir},cache=auto' \
	>"$tmp/smoke" 2>&1; then
	ok "vhost-smoke, activated, legacy -o source="
else
	cat "$tmp/smoke"
	bad "vhost-smoke, activated, legacy -o source="
fi

# $1: description, $2: text the one line must hold; the rest: command.
one_line_error() {
	local desc=$1 want=$2 rc=0
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
		bad "$desc: exit $rc"
	elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
		bad "$desc: $(wc -l <"$tmp/err") lines on stderr: $(cat "$tmp/err")"
	elif ! grep -qF -- "$want" "$tmp/err"; then
		bad "$desc: '$(cat "$tmp/err")' lacks '$want'"
	else
		ok "$desc ($(cat "$tmp/err"))"
	fi
}

# vfsd started with LISTEN_PID set to its own pid (sh execs it) and the
# given LISTEN_FDS; fd 3 is whatever the caller left open.
as_activated() {
	local fds=$1
	shift
	timeout 10 sh -c 'LISTEN_PID=$$ LISTEN_FDS=$0 exec "$@"' "$fds" \
		"$vfsd" --shared-dir "$tmp/share" "$@"
}

one_line_error "LISTEN_FDS=2" "passed 2 sockets (LISTEN_FDS=2)" \
	as_activated 2 3<"$tmp"
one_line_error "LISTEN_FDS=0" "passed 0 sockets" as_activated 0
one_line_error "LISTEN_FDS=junk" "LISTEN_FDS='junk' is not a number" \
	as_activated junk
one_line_error "LISTEN_PID=junk" "LISTEN_PID='junk' is not a process id" \
	env LISTEN_PID=junk LISTEN_FDS=1 "$vfsd" --shared-dir "$tmp/share"
one_line_error "fd 3 closed" "fd 3 is not a listening AF_UNIX stream socket" \
	as_activated 1 3<&-
one_line_error "fd 3 a directory" "fd 3 is not a listening" \
	as_activated 1 3<"$tmp"
# A listening socket of the wrong family, and a UNIX socket not listening.
python3 - "$vfsd" "$tmp/share" "$tmp/err" <<'PY' && ok "fd 3 a TCP socket or an unlistening UNIX one: refused, one line" || bad "fd 3 a TCP socket or an unlistening UNIX one"
import os, socket, subprocess, sys
vfsd, share, errfile = sys.argv[1:]
for s in (socket.socket(socket.AF_INET), socket.socket(socket.AF_UNIX)):
    if s.family == socket.AF_INET:
        s.bind(("127.0.0.1", 0))
        s.listen()
    os.dup2(s.fileno(), 3, inheritable=True)
    p = subprocess.run(["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"',
                        "sh", vfsd, "--shared-dir", share],
                       pass_fds=[3], capture_output=True, text=True,
                       timeout=10)
    lines = p.stderr.splitlines()
    print("#", p.returncode, lines)
    assert p.returncode != 0 and len(lines) == 1, (p.returncode, lines)
    assert "fd 3 is not a listening AF_UNIX stream socket" in lines[0]
PY
# Variables meant for another process are not an activation.
one_line_error "LISTEN_PID of another process" "nothing to serve" \
	env LISTEN_PID=1 LISTEN_FDS=1 "$vfsd" --shared-dir "$tmp/share"

# Two sockets for real: systemd-socket-activate with two -l, a connect.
"$activate" -l "$tmp/a.sock" -l "$tmp/b.sock" \
	"$vfsd" --shared-dir "$tmp/share" >/dev/null 2>"$tmp/err" &
pid=$!
python3 - "$tmp/a.sock" <<'PY' || true
import socket, sys, time
for _ in range(100):
    try:
        socket.socket(socket.AF_UNIX).connect(sys.argv[1])
        break
    except OSError:
        time.sleep(0.05)
PY
rc=0
timeout 10 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null || true
wait "$pid" || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 137 ] &&
	grep -qF "passed 2 sockets" "$tmp/err" &&
	[ "$(grep -c vfsd: "$tmp/err")" -eq 1 ]; then
	ok "two ListenStream sockets: exit $rc, $(grep vfsd: "$tmp/err")"
else
	bad "two ListenStream sockets: exit $rc, $(cat "$tmp/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
