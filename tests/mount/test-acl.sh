#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# --posix-acl on the host kernel's client: the same setfacl/getfacl steps
# on a plain host directory and in the mount must leave the same modes and
# ACLs. Covered: a default ACL, not the umask, decides the mode of files,
# directories and FIFOs created under it (FUSE_DONT_MASK), and is
# inherited by subdirectories; the umask applies where there is none;
# chmod rewrites the ACL mask; setting an access ACL rewrites the mode
# bits; a non-owner cannot set an ACL; setting an access ACL clears S_ISGID
# for an owner outside the file's group and keeps it inside; an ACL grants
# a user access the mode bits alone refuse; removing the ACL. Then: without
# --posix-acl the umask decides instead, and with
# --translate-uid the ids inside an ACL are the host's on the host.
#
# usage: test-acl.sh VFSD
set -euo pipefail
export VFSD=$1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

U=65534 # the unprivileged user of the steps (nobody)
as_user() {
	setpriv --reuid=$U --regid=$U --clear-groups -- "$@"
}

# Every step in DIR; prints one line per result, with no path in it.
steps() {
	local d=$1 f
	cd "$d"
	umask 022
	mkdir dacl
	setfacl -d -m u::rwx,g::r-x,o::---,u:$U:rwx,m::rwx dacl
	setfacl -m u:$U:rwx dacl
	(
		umask 077
		: >dacl/file
		mkdir dacl/sub
		mkfifo dacl/fifo
		: >dacl/sub/deep
	)
	(
		umask 027
		: >plain
		mkdir plaind
	)
	# chmod rewrites the mask of an extended ACL.
	: >masked
	setfacl -m u:$U:rw- masked
	chmod 0640 masked
	# An access ACL rewrites the mode: minimal and extended.
	: >minimal
	setfacl -m u::r--,g::---,o::--- minimal
	: >extended
	chmod 0600 extended
	setfacl -m g::rwx,u:$U:r-x extended
	# Only the owner sets an ACL.
	: >notmine
	if as_user setfacl -m u:$U:rwx notmine 2>/dev/null; then
		echo "notmine: the non-owner set an ACL"
	else
		echo "notmine: refused"
	fi
	# S_ISGID: cleared for an owner outside the group, kept inside.
	mkdir -m 0777 own
	as_user sh -c ': >own/outside; : >own/inside'
	chgrp 0 own/outside
	chmod 2770 own/outside own/inside
	as_user setfacl -m u:0:r-- own/outside
	as_user setfacl -m u:0:r-- own/inside
	# Access granted by an ACL entry alone.
	echo secret >granted
	chmod 0600 granted
	setfacl -m u:$U:r-- granted
	echo "granted: $(as_user cat granted 2>&1 || true)"
	setfacl -b granted
	echo "granted after -b: $(as_user cat granted 2>/dev/null || echo refused)"
	# A user creating under the default ACL.
	as_user sh -c 'umask 077; : >dacl/byuser; mkdir dacl/byuserd'

	for f in dacl dacl/file dacl/sub dacl/sub/deep dacl/fifo \
		dacl/byuser dacl/byuserd plain plaind masked minimal extended \
		notmine own/outside own/inside granted; do
		echo "== $f $(stat -c '%A %u %g' "$f")"
		getfacl -cn "$f" 2>&1
	done
	cd - >/dev/null
}

mt_init
mkdir -m 0755 "$NATIVE/t"
steps "$NATIVE/t" >"$T/out.native" 2>&1 || mt_fail "steps failed natively: $(cat "$T/out.native")"
grep -q 'default:user::rwx' "$T/out.native" ||
	mt_fail "the host directory has no ACLs: $(head -n 20 "$T/out.native")"

mt_start --posix-acl --cache never
mkdir -m 0755 "$MNT/t"
steps "$MNT/t" >"$T/out.mount" 2>&1 || mt_fail "steps failed in the mount: $(cat "$T/out.mount")"
mt_diff "the ACL steps, host directory vs mount" "$T/out.native" "$T/out.mount"
echo "ok: ACL steps: $(grep -c '^==' "$T/out.mount") files, modes and ACLs as on the host"
grep -F -A8 '== dacl/file ' "$T/out.mount" | sed 's/^/#   /'

# The host sees what the mount set.
[[ $(getfacl -cnp "$SHARE/t/masked") == $(cd "$NATIVE/t" && getfacl -cn masked) ]] ||
	mt_fail "the host's own view of an ACL set in the mount differs"
echo "ok: the host reads the ACLs set through the mount"
mt_stop

# Without --posix-acl the client masks the mode with the umask before it
# sends a create (no FUSE_DONT_MASK), so a default ACL no longer decides:
# the peers' behaviour.
mt_start --xattr
mkdir "$SHARE/noacl"
setfacl -d -m u::rwx,g::rwx,o::--- "$SHARE/noacl"
(umask 077 && : >"$MNT/noacl/f")
mode=$(stat -c %a "$SHARE/noacl/f")
[[ $mode == 600 ]] || mt_fail "without --posix-acl, umask 077 under a default ACL gave $mode"
echo "ok: without --posix-acl the umask decides (mode $mode; 660 with it)"
mt_stop

# ACL entries carry ids: translated like the owner (--translate-uid).
mt_start --posix-acl --translate-uid=map:1000:2000:10 \
	--translate-gid=map:1000:2000:10
: >"$MNT/tr"
setfacl -m u:1003:rw,g:1004:r "$MNT/tr" || mt_fail "setfacl with translation"
host=$(getfacl -cnp "$SHARE/tr" | grep -E '^(user|group):[0-9]' | tr '\n' ' ')
[[ $host == "user:2003:rw- group:2004:r-- " ]] || mt_fail "host ACL entries: '$host'"
guest=$(getfacl -cnp "$MNT/tr" | grep -E '^(user|group):[0-9]' | tr '\n' ' ')
[[ $guest == "user:1003:rw- group:1004:r-- " ]] || mt_fail "mount ACL entries: '$guest'"
echo "ok: with --translate-*: mount '$guest', host '$host'"
mt_stop
mt_finish
