#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest, with vfsd --cache never --allow-mmap (the guest-vfsd-features test;
# a payload, not run by the default guest tests): every file is opened
# FOPEN_DIRECT_IO, and a shared mapping still
# works (FUSE_DIRECT_IO_ALLOW_MMAP, Linux 6.6+): a write through it reaches
# the host. The host checks guest/mapped after QEMU exits.
# shellcheck source=SCRIPTDIR/guest-lib.sh
. /tests/guest-lib.sh

f=$GT_OUT/mapped
rm -f "$f"
dd if=/dev/zero of="$f" bs=4096 count=1 2>/dev/null
gt_check "shared mmap of a direct-I/O file, written and synced" \
	/tests/mapcheck "$f" "written through a shared mapping"
gt_drop_caches
gt_eq "read back after dropping caches" "written through a shared mapping" \
	"$(head -c 32 "$f")"
gt_finish
