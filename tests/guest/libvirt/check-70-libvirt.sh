#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest, in a domain that libvirt started (tests/guest/test-libvirt.sh; a
# payload, not run by the default guest tests): the share libvirt's vfsd
# serves holds the host's file, takes a file the host reads after the
# guest is gone, and renames and lists as usual.
#
# With "vfsd.hold=1" on the kernel command line the guest does not power
# off: it leaves guest/held in the share and waits, so that the host can
# end the domain with "virsh destroy" while vfsd is serving it.
# shellcheck source=SCRIPTDIR/guest-lib.sh
. /tests/guest-lib.sh

token=$(cat "$GT_HOST/hello" 2>&1)
gt_check "the host's file is readable" test -s "$GT_HOST/hello"
gt_eq "the host's file holds the host's token" \
	"$(cat "$GT_HOST/token.expected" 2>&1)" "$token"
echo "guest read: $token" >"$GT_OUT/from-guest.tmp"
gt_check "rename in the share" mv "$GT_OUT/from-guest.tmp" "$GT_OUT/from-guest"
gt_eq "the file just written, read back" "guest read: $token" \
	"$(cat "$GT_OUT/from-guest" 2>&1)"
gt_check "a directory made in the share" mkdir "$GT_OUT/dir"
gt_eq "the share lists as the guest left it" "dir from-guest" \
	"$(cd "$GT_OUT" && echo *)"
gt_eq "the mount is virtiofs" virtiofs \
	"$(awk '$2 == "/mnt" { print $3 }' /proc/mounts)"
sync

if grep -q 'vfsd\.hold=1' /proc/cmdline; then
	gt_note "holding: the host ends this domain"
	echo "$GT_PASSED $GT_FAILED" >"$GT_OUT/held"
	sync
	while :; do
		sleep 60
	done
fi
gt_finish
