#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest reboot: the guest reboots with the share mounted; QEMU resets the
# device (the rings are stopped and set up again over the same vhost-user
# connection), the new kernel sends INIT on a live session, and the share
# works. vfsd exits 0 when QEMU finally quits.
#
#   tests/guest/test-reboot.sh PATH/TO/vfsd
set -euo pipefail
vfsd=$(realpath "${1:?usage: test-reboot.sh PATH/TO/vfsd}")
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VFSD_GUEST_CACHE:-$root/build/guest-cache}
tmp=$(mktemp -d /tmp/vfsd-reboot.XXXXXX)
trap 'rm -rf --one-file-system "$tmp"' EXIT

"$root/scripts/guest/prepare.sh" "$cache" >/dev/null
"$root/scripts/guest/mkinitramfs.sh" --cache "$cache" \
	--payload "$root/tests/guest/reboot" "$tmp/initramfs.gz" >/dev/null
mkdir "$tmp/share"
rc=0
"$root/scripts/guest/run.sh" --cache "$cache" --initramfs "$tmp/initramfs.gz" \
	--test reboot-once --allow-reboot --timeout 240 \
	--log "$tmp/serial.log" --daemon-log "$tmp/daemon.log" \
	--daemon "$vfsd" --shared-dir "$tmp/share" --socket-path @SOCK@ || rc=$?

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
check "the guest passed after its reboot (runner exit 0)" test "$rc" -eq 0
check "the guest booted twice" \
	test "$(grep -c 'vfsd-guest: rebooting' "$tmp/serial.log")" -eq 1
check "first boot's marker on the host" test -s "$tmp/share/boot1"
check "second boot's file on the host" grep -qx second "$tmp/share/boot2"
check "vfsd saw a second INIT" \
	test "$(grep -c 'fuse: INIT' "$tmp/daemon.log")" -ge 2
if [ "$fail" -ne 0 ]; then
	echo "# daemon log:"
	sed 's/^/#   /' "$tmp/daemon.log"
	echo "# serial log (tail):"
	tail -n 30 "$tmp/serial.log" | sed 's/^/#   /'
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
