#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The vhost-user command line: what libvirt and an operator rely on.
#   tests/vhost/test-cli.sh PATH/TO/vfsd
set -euo pipefail
vfsd=${1:?usage: test-cli.sh PATH/TO/vfsd}
tmp=$(mktemp -d /tmp/vfsd-vcli.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/share"
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }
check() { if "${@:2}"; then ok "$1"; else bad "$1"; fi; }

# One line on stderr and a non-zero exit.
one_line_error() {
	local desc=$1
	shift
	if "$@" >"$tmp/out" 2>"$tmp/err"; then
		bad "$desc: exited 0"
	elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
		bad "$desc: $(wc -l <"$tmp/err") lines on stderr"
	else
		ok "$desc ($(cat "$tmp/err"))"
	fi
}

wait_for_socket() {
	for _ in $(seq 1 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# --print-capabilities: the JSON libvirt reads.
"$vfsd" --print-capabilities >"$tmp/caps"
check "--print-capabilities is JSON of type fs with separate-options" \
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["type"]=="fs" and "separate-options" in d["features"]' "$tmp/caps"

one_line_error "--fd that is not a socket" "$vfsd" --shared-dir "$tmp/share" --fd 0
one_line_error "socket in a missing directory" \
	"$vfsd" --shared-dir "$tmp/share" --socket-path "$tmp/nodir/s.sock"
one_line_error "missing shared directory" \
	"$vfsd" --shared-dir "$tmp/missing" --socket-path "$tmp/s.sock"
touch "$tmp/regular"
one_line_error "socket path is a regular file" \
	"$vfsd" --shared-dir "$tmp/share" --socket-path "$tmp/regular"
check "the regular file is left alone" test -f "$tmp/regular"

# A stale socket (nobody listening) is replaced; the new one is 0600.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$tmp/s.sock"
check "a stale socket file exists" test -S "$tmp/s.sock"
"$vfsd" --shared-dir "$tmp/share" --socket-path "$tmp/s.sock" 2>"$tmp/log" &
pid=$!
sleep 0.3
check "listening on the replaced socket" wait_for_socket "$tmp/s.sock"
check "socket mode 0600" test "$(stat -c %a "$tmp/s.sock")" = 600
one_line_error "a live socket is not stolen" \
	"$vfsd" --shared-dir "$tmp/share" --socket-path "$tmp/s.sock"

# SIGTERM while waiting for a frontend: exit 0, socket removed.
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
check "SIGTERM while waiting: exit 0 (got $rc)" test "$rc" -eq 0
check "SIGTERM while waiting: socket removed" test ! -e "$tmp/s.sock"

# --socket-group: 0660 and the group.
"$vfsd" --shared-dir "$tmp/share" --socket-path "$tmp/g.sock" \
	--socket-group daemon 2>"$tmp/log" &
pid=$!
check "listening with --socket-group" wait_for_socket "$tmp/g.sock"
check "--socket-group: mode 0660, group daemon" \
	test "$(stat -c '%a %G' "$tmp/g.sock")" = "660 daemon"

# SIGTERM with a frontend connected: the connection ends, exit 0.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
time.sleep(5)' "$tmp/g.sock" &
client=$!
sleep 0.5
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
kill "$client" 2>/dev/null || true
wait "$client" 2>/dev/null || true
check "SIGTERM with a frontend connected: exit 0 (got $rc)" test "$rc" -eq 0
check "the log says why it stopped" grep -q "shutting down" "$tmp/log"

# libvirt's way: a listening socket handed over as --fd.
python3 -c '
import os, socket, struct, subprocess, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[2]); s.listen(1)
p = subprocess.Popen([sys.argv[1], "--fd=%d" % s.fileno(),
                      "-o", "source=" + sys.argv[3] + ",cache=auto,xattr"],
                     pass_fds=[s.fileno()])
s.close()
# A probe that says nothing is not a frontend: vfsd keeps waiting.
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[2]); c.close()
# A frontend: VHOST_USER_GET_FEATURES (1), version flag 0x1, no payload.
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[2])
c.sendall(struct.pack("<III", 1, 1, 0))
hdr = c.recv(12)
req, flags, size = struct.unpack("<III", hdr)
feat = struct.unpack("<Q", c.recv(size))[0]
assert req == 1 and flags & 0x4 and size == 8, (req, flags, size)
assert feat & (1 << 32), hex(feat)  # VIRTIO_F_VERSION_1
c.close()
sys.exit(p.wait(timeout=20))' "$vfsd" "$tmp/fd.sock" "$tmp/share"
check "--fd with legacy -o options: ignores a silent probe, answers GET_FEATURES, exits 0 on disconnect" test $? -eq 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
