#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Demo of vfsd's host mount: share a temporary directory, mount it with
# vfsd, work on it through the mount and show the host's view of each step.
# Usage: scripts/demo/mount.sh path/to/vfsd   (as root; `make demo-mount`)
# Leaves nothing behind: the EXIT trap unmounts, stops vfsd and removes
# the temporary directories whatever happens.
set -euo pipefail

VFSD=${1:-build/src/vfsd}
MOUNT_TIMEOUT=10 # seconds to wait for the mount to appear
EXIT_TIMEOUT=10  # seconds to wait for vfsd to exit after unmount

die() {
	echo "demo: $*" >&2
	exit 1
}

[ -x "$VFSD" ] || die "no vfsd binary at '$VFSD' (run 'make build' first)"
[ "$(id -u)" -eq 0 ] || die "needs root to mount (run as root)"
[ -e /dev/fuse ] || die "/dev/fuse is missing (is the fuse module loaded?)"

TOP=$(mktemp -d /tmp/vfsd-demo.XXXXXX)
SHARE=$TOP/share
MNT=$TOP/mnt
LOG=$TOP/vfsd.log
PID=

# True when $MNT is a mount point (field 5 of mountinfo).
is_mounted() {
	awk -v m="$MNT" '$5 == m { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

cleanup() {
	local rc=$?
	if is_mounted; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	fi
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill "$PID" 2>/dev/null || true
		sleep 0.5
		kill -9 "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$TOP"
	[ $rc -eq 0 ] || echo "demo: FAILED (exit $rc)" >&2
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
	printf '\n=== %s\n' "$*"
}

# Show a command, then run it.
run() {
	printf '$ %s\n' "$*"
	"$@"
}

step "1. A shared directory on the host: $SHARE"
mkdir -p "$SHARE/docs" "$MNT"
echo "hello from the host" >"$SHARE/hello.txt"
printf 'line one\nline two\n' >"$SHARE/docs/notes.txt"
head -c 65536 /dev/urandom >"$SHARE/random.bin"
run ls -l "$SHARE"

step "2. Start vfsd --shared-dir $SHARE --mount $MNT"
"$VFSD" --shared-dir "$SHARE" --mount "$MNT" >"$LOG" 2>&1 &
PID=$!
waited=0
until is_mounted; do
	if ! kill -0 "$PID" 2>/dev/null; then
		cat "$LOG" >&2
		PID=
		die "vfsd exited before the mount appeared"
	fi
	[ $waited -lt $((MOUNT_TIMEOUT * 10)) ] ||
		die "no mount at $MNT after ${MOUNT_TIMEOUT}s"
	sleep 0.1
	waited=$((waited + 1))
done
echo "vfsd (pid $PID) is serving; /proc/mounts says:"
grep " $MNT " /proc/mounts

step "3. Read through the mount"
run ls -l "$MNT"
run cat "$MNT/hello.txt"
run cat "$MNT/docs/notes.txt"
echo "comparing random.bin through the mount with the host copy:"
cmp "$MNT/random.bin" "$SHARE/random.bin" && echo "random.bin: identical"

step "4. Write a file through the mount, read it on the host"
printf '$ %s\n' "echo 'written through vfsd' > $MNT/new.txt"
echo 'written through vfsd' >"$MNT/new.txt"
run cat "$SHARE/new.txt"

step "5. mkdir, rename, hard link and symlink through the mount"
run mkdir "$MNT/made"
run mv "$MNT/new.txt" "$MNT/made/renamed.txt"
run ln "$MNT/made/renamed.txt" "$MNT/made/link.txt"
run ln -s ../hello.txt "$MNT/made/symlink"
echo "host view:"
run ls -li "$SHARE/made"

step "6. stat and df through the mount"
run stat "$MNT/made/renamed.txt"
run df -h "$MNT"

step "7. Unmount; vfsd exits on its own"
run umount "$MNT"
waited=0
while kill -0 "$PID" 2>/dev/null; do
	[ $waited -lt $((EXIT_TIMEOUT * 10)) ] ||
		die "vfsd still running ${EXIT_TIMEOUT}s after unmount"
	sleep 0.1
	waited=$((waited + 1))
done
rc=0
wait "$PID" || rc=$?
PID=
echo "vfsd log:"
sed 's/^/  /' "$LOG"
[ $rc -eq 0 ] || die "vfsd exited with status $rc"
echo "vfsd exited with status 0"

step "Done: the files stayed on the host; temporary directories are removed"
