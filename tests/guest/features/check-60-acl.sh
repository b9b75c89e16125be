#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest, with vfsd --posix-acl (the guest-vfsd-features test; a payload,
# not run by the default guest tests): the ACL steps of aclcheck (default
# ACLs deciding new files' modes over the umask, chmod and the ACL mask,
# access ACLs and the mode, S_ISGID, access granted by an entry) leave the
# same modes, owners and ACLs on the virtio-fs share as on the guest's own
# tmpfs. The host checks that the ACLs reached its files.
# shellcheck source=SCRIPTDIR/guest-lib.sh
. /tests/guest-lib.sh

rm -rf "$GT_OUT/acl"
mkdir -p "$GT_OUT/acl" /tmp/acl-native
chmod 0755 "$GT_OUT/acl"
gt_check "tmpfs for the reference run" mount -t tmpfs -o mode=0755 tmpfs /tmp/acl-native
/tests/aclcheck /tmp/acl-native >/tmp/acl-native.out 2>&1
/tests/aclcheck "$GT_OUT/acl" >"$GT_OUT/acl.out" 2>&1
gt_check "the reference run on tmpfs has ACLs" grep -q "default user:65534:rwx" /tmp/acl-native.out
gt_check "ACL steps: modes, owners and ACLs as on tmpfs" \
	diff -u /tmp/acl-native.out "$GT_OUT/acl.out"
gt_eq "a default ACL, not the umask 077, decided dacl/file" "== dacl/file 100660 0 0" \
	"$(grep '^== dacl/file ' "$GT_OUT/acl.out")"
umount /tmp/acl-native
gt_finish
