#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest: reset the virtio-fs device under the driver. Unmounting and
# removing the virtiofs module resets the device (QEMU stops every ring:
# GET_VRING_BASE, and the queues go back to the daemon); loading it again
# makes QEMU set the rings up anew, and the next mount sends a second INIT
# on the same vhost-user connection. The share must work as before.
# shellcheck source=SCRIPTDIR/guest-lib.sh
. /tests/guest-lib.sh

echo before-reset >"$GT_OUT/reset-marker"
cd /
gt_check "umount" umount "$GT_MNT"
gt_check "remove the virtiofs driver (device reset)" rmmod virtiofs
gt_check "load the virtiofs driver again" insmod /lib/modules/virtiofs.ko
gt_check "mount after the reset" mount -t virtiofs "$GT_TAG" "$GT_MNT"
gt_eq "file written before the reset" before-reset "$(cat "$GT_OUT/reset-marker")"
gt_check "write after the reset" sh -c "echo after-reset >'$GT_OUT/after-reset'"
gt_eq "read back after the reset" after-reset "$(cat "$GT_OUT/after-reset")"
gt_check "many files still listed" sh -c "[ \$(ls '$GT_OUT' | wc -l) -gt 3 ]"

gt_finish
