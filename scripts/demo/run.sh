#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make demo`: boot a QEMU guest (TCG) whose virtio-fs share is served by
# vfsd, show files created on each side appearing on the other, shut down.
# Leaves no process, socket or temporary directory behind.
#
#   scripts/demo/run.sh build/src/vfsd
set -euo pipefail

vfsd=$(realpath "${1:?usage: run.sh PATH/TO/vfsd}")
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VFSD_GUEST_CACHE:-$root/build/guest-cache}
tmp=$(mktemp -d /tmp/vfsd-demo.XXXXXX)
runner=

cleanup() {
	if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then
		kill "$runner" 2>/dev/null || true
		wait "$runner" 2>/dev/null || true
	fi
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n=== %s\n' "$*"; }

step "1. Prepare the guest: Debian's kernel, a busybox initramfs"
"$root/scripts/guest/prepare.sh" "$cache" >/dev/null
mkdir -p "$tmp/payload" "$tmp/share"
cp "$root/scripts/demo/demo.sh" "$tmp/payload/demo.sh"
"$root/scripts/guest/mkinitramfs.sh" --cache "$cache" \
	--payload "$tmp/payload" "$tmp/initramfs.gz" >/dev/null
echo "kernel and initramfs ready"

step "2. A demo share on the host: $tmp/share"
echo "hello from the host, $(uname -n)" >"$tmp/share/hello-from-host.txt"
mkdir "$tmp/share/docs"
cp /etc/os-release "$tmp/share/docs/"
ls -l "$tmp/share"

step "3. Start vfsd and boot the VM (QEMU, TCG; the guest's output follows)"
echo "\$ vfsd --shared-dir $tmp/share --socket-path SOCK"
"$root/scripts/guest/run.sh" --cache "$cache" --initramfs "$tmp/initramfs.gz" \
	--test demo --timeout 180 --verbose \
	--daemon-log "$tmp/vfsd.log" \
	--daemon "$vfsd" --shared-dir "$tmp/share" --socket-path @SOCK@ \
	>"$tmp/run.log" 2>&1 &
runner=$!

# Answer the guest from the host side while the VM runs.
tail -n +1 -f "$tmp/run.log" --pid="$runner" | grep --line-buffered '\[guest\]' &
for _ in $(seq 1 1800); do
	[ -s "$tmp/share/hello-from-guest.txt" ] && break
	kill -0 "$runner" 2>/dev/null || break
	sleep 0.1
done
if [ -s "$tmp/share/hello-from-guest.txt" ]; then
	echo "[host]  the guest's file appeared on the host:"
	echo "[host]  $(cat "$tmp/share/hello-from-guest.txt")"
	echo "answered by the host while the VM runs" \
		>"$tmp/share/answer-from-host.txt.tmp"
	mv "$tmp/share/answer-from-host.txt.tmp" "$tmp/share/answer-from-host.txt"
	echo "[host]  wrote answer-from-host.txt"
fi
status=0
wait "$runner" || status=$?
runner=
sleep 0.2

step "4. After the VM powered off"
ls -l "$tmp/share"
if [ "$status" -ne 0 ]; then
	echo "the demo FAILED; the runner said:"
	tail -n 30 "$tmp/run.log"
	exit 1
fi
grep -m1 'VFSD-GUEST-RESULT' "$tmp/run.log" || true
echo "vfsd log:"
sed 's/^/  /' "$tmp/vfsd.log"
step "Done: vfsd exited 0 when QEMU quit; nothing is left running"
