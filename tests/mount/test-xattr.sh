#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# Extended attributes with --xattr: user.* set/get/list/remove through the
# mount, visible on the host (getfattr) and the other way round. Without
# --xattr, setxattr fails with EOPNOTSUPP and getxattr finds nothing.
#
# usage: test-xattr.sh VFSD
set -euo pipefail
export VFSD=$1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

getval() { # FILE NAME
	getfattr --only-values -n "$2" "$1" 2>/dev/null
}

mt_init
mt_start --xattr
echo data >"$MNT/f"
mkdir "$MNT/d"
setfattr -n user.color -v blue "$MNT/f" || mt_fail "setfattr on the mount"
setfattr -n user.dir -v yes "$MNT/d" || mt_fail "setfattr on a directory"
[[ $(getval "$MNT/f" user.color) == blue ]] || mt_fail "getfattr on the mount"
[[ $(getval "$SHARE/f" user.color) == blue ]] ||
	mt_fail "host does not see user.color: $(getfattr -d "$SHARE/f" 2>&1)"
[[ $(getval "$SHARE/d" user.dir) == yes ]] || mt_fail "host does not see user.dir"
setfattr -n user.host -v fromhost "$SHARE/f"
[[ $(getval "$MNT/f" user.host) == fromhost ]] ||
	mt_fail "mount does not see an xattr set on the host"
list=$(getfattr --absolute-names -d -m '^user\.' "$MNT/f" | grep '^user\.' | sort)
[[ "$list" == $'user.color="blue"\nuser.host="fromhost"' ]] ||
	mt_fail "listxattr on the mount: $list"
setfattr -x user.color "$MNT/f" || mt_fail "removexattr on the mount"
if getval "$SHARE/f" user.color >/dev/null; then
	mt_fail "user.color still present on the host after removal"
fi
err=$(setfattr -x user.color "$MNT/f" 2>&1) && mt_fail "second removal succeeded"
[[ "$err" == *"No such attribute"* ]] || mt_fail "second removal: $err"
mt_check_alive
mt_stop

mt_start
err=$(setfattr -n user.x -v 1 "$MNT/f" 2>&1) &&
	mt_fail "setxattr succeeded without --xattr"
[[ "$err" == *"Operation not supported"* ]] ||
	mt_fail "setxattr without --xattr: '$err', expected EOPNOTSUPP"
if getval "$MNT/f" user.host >/dev/null; then
	mt_fail "getxattr without --xattr returned a value"
fi
[[ $(getval "$SHARE/f" user.host) == fromhost ]] || mt_fail "host xattr lost"
mt_check_alive
mt_stop
echo "ok: xattrs"
