#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# --translate-uid/--translate-gid on the host kernel's client, no user
# namespace: the client's ids 1000-1009 are the host's 2000-2009 (map), id
# 3000 may not be used (forbid-guest). A process of uid 1000 in the mount
# creates files the host sees as 2000's and the mount as its own; chown in
# the mount lands translated; host-side owners show translated back; the
# forbidden id gets EPERM and nothing changes on the host.
#
# usage: test-translate.sh VFSD
set -euo pipefail
export VFSD=$1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

as() { # UID CMD...: run as UID:UID without supplementary groups
	local id=$1
	shift
	setpriv --reuid="$id" --regid="$id" --clear-groups "$@"
}

mt_init
mkdir "$SHARE/home" "$SHARE/open"
chown 2000:2000 "$SHARE/home"
chmod 0777 "$SHARE/open"
echo host >"$SHARE/by-host"
chown 2005:2007 "$SHARE/by-host"
mt_start --translate-uid map:1000:2000:10 --translate-gid map:1000:2000:10 \
	--translate-uid forbid-guest:3000:1 --translate-gid forbid-guest:3000:1

[[ $(stat -c %u:%g "$MNT/home") == 1000:1000 ]] ||
	mt_fail "host 2000:2000 shows as $(stat -c %u:%g "$MNT/home") in the mount"
[[ $(stat -c %u:%g "$MNT/by-host") == 1005:1007 ]] ||
	mt_fail "host 2005:2007 shows as $(stat -c %u:%g "$MNT/by-host")"
[[ $(stat -c %u:%g "$MNT/open") == 0:0 ]] || mt_fail "root's directory is not 0:0 in the mount"
echo "ok: host owners appear translated (2000->1000, 2005:2007->1005:1007, 0 unchanged)"

as 1000 sh -c "echo mine >'$MNT/home/f' && mkdir '$MNT/home/d'" ||
	mt_fail "uid 1000 cannot create in its own directory"
[[ $(stat -c %u:%g "$SHARE/home/f") == 2000:2000 ]] ||
	mt_fail "the host sees the new file as $(stat -c %u:%g "$SHARE/home/f")"
[[ $(stat -c %u:%g "$SHARE/home/d") == 2000:2000 ]] || mt_fail "the host sees the new directory as $(stat -c %u:%g "$SHARE/home/d")"
[[ $(stat -c %u:%g "$MNT/home/f") == 1000:1000 ]] ||
	mt_fail "the mount sees its new file as $(stat -c %u:%g "$MNT/home/f")"
echo "ok: uid 1000 creates files the host owns as 2000:2000 and the mount as 1000:1000"

chown 1001:1003 "$MNT/home/f"
[[ $(stat -c %u:%g "$SHARE/home/f") == 2001:2003 ]] ||
	mt_fail "chown 1001:1003 in the mount: the host has $(stat -c %u:%g "$SHARE/home/f")"
[[ $(stat -c %u:%g "$MNT/home/f") == 1001:1003 ]] || mt_fail "chown not seen in the mount"
chown 4000 "$MNT/home/f"
[[ $(stat -c %u "$SHARE/home/f") == 4000 ]] || mt_fail "an id outside every rule changed"
echo "ok: chown in the mount lands translated; unmapped ids pass unchanged"

err=$(chown 3000 "$MNT/home/f" 2>&1) && mt_fail "chown to the forbidden uid succeeded"
[[ $err == *"Operation not permitted"* ]] || mt_fail "chown to 3000: $err"
err=$(chgrp 3000 "$MNT/home/f" 2>&1) && mt_fail "chgrp to the forbidden gid succeeded"
[[ $(stat -c %u:%g "$SHARE/home/f") == 4000:2003 ]] ||
	mt_fail "the refused chown changed the host: $(stat -c %u:%g "$SHARE/home/f")"
err=$(as 3000 sh -c "echo x >'$MNT/open/forbidden'" 2>&1) &&
	mt_fail "the forbidden uid created a file"
[[ $err == *"Operation not permitted"* ]] || mt_fail "forbidden uid: $err"
[[ ! -e "$SHARE/open/forbidden" ]] || mt_fail "the forbidden uid's file is on the host"
err=$(as 3000 cat "$MNT/by-host" 2>&1) && mt_fail "the forbidden uid read a file"
echo "ok: the forbidden id gets EPERM; nothing changes on the host"
mt_stop
mt_finish
