#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest tier: live migration of a running guest between two QEMUs on this
# host, each with its own vfsd on the same share, the way two hosts with a
# shared file system do it.
#
#   tests/guest/test-migrate.sh PATH/TO/vfsd PATH/TO/migcheck
#
# 1. vfsd A and QEMU A (TCG) boot the guest; in it migcheck opens a file,
#    reads part of a directory listing and takes a POSIX lock, says READY
#    and waits for the file "go" to appear in the share.
# 2. vfsd B and QEMU B start with -incoming; QEMU A is told to migrate
#    (QMP "migrate" to a unix socket) and reports "completed": guest
#    memory went across with the pages vfsd A marked dirty, and vfsd A's
#    device state went to vfsd B.
# 3. QEMU A quits, vfsd A exits 0, and vfsd B takes the guest's lock again
#    (a host process can no longer lock the file).
# 4. The host makes "go": the guest, now on QEMU B, reads the rest of the
#    file through the descriptor it opened on A, the rest of the listing
#    through the same directory stream, checks its lock, writes a file,
#    powers off; vfsd B exits 0 and the host compares what it wrote.
#
# Needs QEMU 8.2 or later: $QEMU_MIGRATE, or Debian 13's, fetched by
# scripts/peers/qemu-trixie.sh into build/peers. Exit 0 on success, 77
# (skip) when root or such a QEMU is missing, 1 on failure; the last line
# is "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
vfsd=$(realpath "${1:?usage: test-migrate.sh VFSD MIGCHECK}")
migcheck=$(realpath "${2:?usage: test-migrate.sh VFSD MIGCHECK}")
cache=${VFSD_GUEST_CACHE:-$root/build/guest-cache}
peers=${VFSD_PEERS:-$root/build/peers}

skip() {
	echo "SKIP: $*"
	exit 77
}

[[ $(id -u) -eq 0 ]] || skip "needs root (the daemons switch credentials)"
QEMU=${QEMU_MIGRATE:-}
if [[ -z "$QEMU" ]]; then
	out=$("$root/scripts/peers/qemu-trixie.sh" "$peers" 2>&1) ||
		skip "no QEMU 8.2 or later: $out"
	QEMU=${out##*QEMU_TRIXIE=}
fi
ver=$("$QEMU" --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r vmaj vmin <<<"${ver:-0 0}"
((vmaj > 8 || (vmaj == 8 && vmin >= 2))) ||
	skip "$QEMU is version ${vmaj}.${vmin}; migrating vhost-user-fs needs 8.2"

pass=0 fail=0
check() {
	if "${@:2}"; then
		echo "ok - $1"
		pass=$((pass + 1))
	else
		echo "not ok - $1"
		fail=$((fail + 1))
	fi
}

tmp=$(mktemp -d /tmp/vfsd-migrate.XXXXXX)
pids=()
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	local p
	set +e
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dump() {
	local f
	for f in "$tmp"/*.log; do
		echo "# --- ${f##*/} (tail)"
		tr -d '\r' <"$f" | tail -n 25 | sed 's/^/#   /'
	done
}

die() {
	echo "not ok - $*"
	fail=$((fail + 1))
	dump
	echo "$pass passed, $fail failed"
	exit 1
}

# Is PID alive (not gone, not a zombie)? The shell reaps its children
# on its own, so /proc/PID may vanish between any two looks.
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) ||
		return 1
	[[ -n "$st" && "$st" != Z ]]
}

# wait_exit PID SECONDS: its exit status in $rc, or "timeout" (no
# command substitution: only this shell can wait for its children)
wait_exit() {
	local i
	rc=0
	for ((i = 0; i < $2 * 10; i++)); do
		alive "$1" || break
		sleep 0.1
	done
	if alive "$1"; then
		rc=timeout
		return
	fi
	wait "$1" || rc=$?
}

wait_for() {
	# wait_for SECONDS CMD...: until CMD succeeds
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		"${@:2}" && return 0
		sleep 0.1
	done
	return 1
}

# QMP: one command on the monitor socket $1, the "return" printed as JSON.
qmp() {
	python3 - "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")
def recv():
    while True:
        m = json.loads(f.readline())
        if "event" not in m:
            return m
recv()  # greeting
f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n"); f.flush()
recv()
cmd = {"execute": sys.argv[2]}
if len(sys.argv) > 3:
    cmd["arguments"] = json.loads(sys.argv[3])
f.write(json.dumps(cmd) + "\n"); f.flush()
r = recv()
if "error" in r:
    print(json.dumps(r["error"]))
    sys.exit(1)
print(json.dumps(r.get("return")))
PY
}

# --- the guest and the share ---
GUEST_KERNEL=
eval "$("$root/scripts/guest/prepare.sh" "$cache")"
mkdir -p "$tmp/payload"
cp "$migcheck" "$tmp/payload/migcheck"
cp "$here/migrate/check-70-migrate.sh" "$tmp/payload/"
"$root/scripts/guest/mkinitramfs.sh" --cache "$cache" --payload "$tmp/payload" \
	"$tmp/initramfs.gz" >/dev/null
share=$tmp/share
mkdir -p "$share/host/dir" "$share/guest"
head -c $((4 << 20)) /dev/urandom >"$share/host/data"
for i in $(seq 1 300); do
	: >"$share/host/dir/entry-$i"
done
echo "locked" >"$share/host/locked"

start_vfsd() {
	# start_vfsd NAME: vfsd on the share, socket $tmp/NAME.sock
	setsid "$vfsd" --shared-dir "$share" --socket-path "$tmp/$1.sock" \
		</dev/null >"$tmp/vfsd-$1.log" 2>&1 &
	pids+=($!)
	eval "vfsd_$1=$!"
	wait_for 10 test -S "$tmp/$1.sock" || die "vfsd $1 made no socket"
}

start_qemu() {
	# start_qemu NAME [ARG...]: QEMU on $tmp/NAME.sock, QMP on
	# $tmp/qmp-NAME.sock, serial console to $tmp/serial-NAME.log
	local name=$1
	shift
	"$QEMU" -accel tcg -m 512M -smp 2 -nodefaults -display none -no-reboot \
		-object memory-backend-memfd,id=mem,size=512M,share=on \
		-numa node,memdev=mem \
		-chardev "socket,id=c0,path=$tmp/$name.sock" \
		-device vhost-user-fs-pci,chardev=c0,tag=vfsd \
		-kernel "$GUEST_KERNEL" -initrd "$tmp/initramfs.gz" \
		-append "console=ttyS0 panic=-1 quiet vfsd.tag=vfsd vfsd.test=check-70-migrate" \
		-serial "file:$tmp/serial-$name.log" \
		-qmp "unix:$tmp/qmp-$name.sock,server=on,wait=off" "$@" \
		</dev/null >"$tmp/qemu-$name.log" 2>&1 &
	pids+=($!)
	eval "qemu_$name=$!"
	wait_for 10 test -S "$tmp/qmp-$name.sock" || die "QEMU $name did not start"
}

ready() {
	grep -aq 'VFSD-MIGRATE: READY' "$tmp/serial-a.log" 2>/dev/null
}

# 1. the source
start_vfsd a
start_qemu a
wait_for 240 ready || die "the guest on QEMU A never got READY"
echo "ok - the guest on A holds a file, a directory stream and a lock ($(grep -a 'VFSD-MIGRATE: READY' "$tmp/serial-a.log" | tr -d '\r'))"
pass=$((pass + 1))

# 2. the destination, and the migration
start_vfsd b
start_qemu b -incoming "unix:$tmp/migrate.sock"
r=$(qmp "$tmp/qmp-a.sock" migrate "{\"uri\": \"unix:$tmp/migrate.sock\"}") ||
	die "QMP migrate: $r"
status=
migrated() {
	status=$(qmp "$tmp/qmp-a.sock" query-migrate |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))')
	[[ "$status" == completed || "$status" == failed ]]
}
wait_for 240 migrated || die "the migration did not end (status $status)"
check "QEMU A migrated the guest to QEMU B (status $status)" \
	test "$status" = completed
[[ "$status" == completed ]] || die "the migration failed"
check "vfsd A kept QEMU's dirty log while memory was copied" \
	grep -q 'dirty log of .* mapped' "$tmp/vfsd-a.log"
check "vfsd A saved its state" grep -q 'device state saved' "$tmp/vfsd-a.log"
check "vfsd B loaded it" grep -q 'migration: loaded' "$tmp/vfsd-b.log"

# 3. the source goes away
qmp "$tmp/qmp-a.sock" quit >/dev/null || true
wait_exit "$qemu_a" 30
check "QEMU A quits ($rc)" test "$rc" = 0
wait_exit "$vfsd_a" 15
check "vfsd A exits 0 once QEMU A is gone ($rc)" test "$rc" = 0
# A POSIX lock of a host process conflicts with the guest's (an OFD lock
# of vfsd on the host).
host_locked() {
	! python3 - "$share/host/locked" <<'PY' 2>/dev/null
import fcntl, sys
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
PY
}
check "vfsd B holds the guest's lock (a host process cannot take it)" \
	wait_for 10 host_locked

# 4. the guest goes on, on B
touch "$share/go"
wait_exit "$qemu_b" 240
check "the guest on QEMU B finishes and powers off ($rc)" test "$rc" = 0
result=$(tr -d '\r' <"$tmp/serial-b.log" | grep -a '^VFSD-GUEST-RESULT:' | tail -n 1 || true)
check "the guest passed on B: ${result:-no result line}" \
	test "${result#VFSD-GUEST-RESULT: PASS}" != "$result"
wait_exit "$vfsd_b" 15
check "vfsd B exits 0 once QEMU B is gone ($rc)" test "$rc" = 0
check "what the guest read through its descriptor opened on A is the file" \
	cmp -s "$share/host/data" "$share/guest/data.copy"
(cd "$share/host/dir" && { echo .; echo ..; ls; } | sort) >"$tmp/dir.want"
sort "$share/guest/dir.list" >"$tmp/dir.got" 2>/dev/null || true
check "the directory stream opened on A listed the directory, once each" \
	cmp -s "$tmp/dir.want" "$tmp/dir.got"
check "the file the guest wrote on B" grep -qx after "$share/guest/after"

[[ $fail -eq 0 ]] || dump
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
