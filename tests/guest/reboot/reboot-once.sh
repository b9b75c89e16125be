#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest: reboot once with the share mounted. First boot: write a marker and
# reboot at once (no unmount: the device is reset under a live session).
# Second boot: the share is served again (a new INIT on the same
# vhost-user connection) and the marker is there.
# shellcheck source=SCRIPTDIR/../guest-lib.sh
. /tests/guest-lib.sh

if [ ! -f "$GT_MNT/boot1" ]; then
	echo "written on the first boot" >"$GT_MNT/boot1"
	sync
	echo "vfsd-guest: rebooting"
	reboot -f
	sleep 30
	exit 1
fi
gt_eq "marker from the first boot" "written on the first boot" "$(cat "$GT_MNT/boot1")"
gt_check "write on the second boot" sh -c "echo second >'$GT_MNT/boot2'"
gt_finish
