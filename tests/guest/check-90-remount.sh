#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest: unmount and mount again. What was written before (guest/) is still
# there, with the same contents; a read-only mount refuses writes; the
# share is left mounted read-write for whatever runs next.
# shellcheck source=SCRIPTDIR/guest-lib.sh
. /tests/guest-lib.sh

# Names, sizes and modes of everything; contents of all but the big files
# (check-10-data hashed those already: hashing is slow under TCG).
fingerprint() {
	(cd "$GT_OUT" && find . -exec stat -c '%n %s %a %h' {} + | sort) >"$1"
	(cd "$GT_OUT" && find . -type f ! -name 'big*.bin' | sort | xargs sha256sum) >>"$1"
}

# shellcheck disable=SC2317 # called through gt_check
mounted() {
	grep -q " $GT_MNT virtiofs " /proc/mounts
}

echo persist >"$GT_OUT/persist"
fingerprint /tmp/before
cd /
gt_check "umount" umount "$GT_MNT"
gt_check "no longer mounted" sh -c "! grep -q ' $GT_MNT ' /proc/mounts"
gt_check "files gone from the mount point" test ! -e "$GT_OUT/persist"
gt_check "mount again" mount -t virtiofs "$GT_TAG" "$GT_MNT"
gt_check "mounted" mounted
gt_eq "file written before the umount" persist "$(cat "$GT_OUT/persist")"
fingerprint /tmp/after
gt_check "every file and name as before the umount" cmp /tmp/before /tmp/after

gt_check "umount again" umount "$GT_MNT"
gt_check "mount read-only" mount -t virtiofs -o ro "$GT_TAG" "$GT_MNT"
gt_check "read-only mount refuses writes" sh -c "! touch '$GT_OUT/ro-write' 2>/dev/null"
gt_eq "read-only mount reads" persist "$(cat "$GT_OUT/persist")"
gt_check "umount read-only" umount "$GT_MNT"
gt_check "mount read-write" mount -t virtiofs "$GT_TAG" "$GT_MNT"
gt_check "writable again" sh -c "echo after-remount >'$GT_OUT/after-remount'"

gt_finish
