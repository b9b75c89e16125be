#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR disable=SC2119
# The command line and the mount's lifetime: --help, --version, errors as
# one line on stderr with a non-zero exit, refusal when not root, exit 0 on
# `umount`, SIGTERM and SIGINT, the mount options, and the legacy
# `-o source=DIR,cache=none,xattr` form.
#
# usage: test-cli.sh VFSD
set -euo pipefail
export VFSD=$1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Run the daemon expecting a one-line error and a non-zero exit.
expect_error() {
	local what=$1 rc=0 lines
	shift
	timeout 20 "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	[[ $rc != 0 ]] || mt_fail "$what: exit status 0"
	[[ $rc != 124 ]] || mt_fail "$what: still running after 20 s"
	lines=$(wc -l <"$T/err")
	[[ $lines == 1 ]] ||
		mt_fail "$what: $lines lines on stderr, expected 1: $(cat "$T/err")"
	mt_is_mounted "$MNT" && mt_fail "$what: $MNT is mounted"
	echo "ok: $what -> $rc: $(cat "$T/err")"
}

mt_init

rc=0
"$VFSD" --help >"$T/out" 2>"$T/err" || rc=$?
[[ $rc == 0 ]] || mt_fail "--help exits $rc"
grep -q -- --shared-dir "$T/out" || mt_fail "--help does not mention --shared-dir"
rc=0
"$VFSD" --version >"$T/out" 2>"$T/err" || rc=$?
[[ $rc == 0 ]] || mt_fail "--version exits $rc"
[[ -s "$T/out" ]] || mt_fail "--version prints nothing"
echo "ok: --help, --version ($(head -n 1 "$T/out"))"

expect_error "unknown option" "$VFSD" --no-such-option --shared-dir "$SHARE" --mount "$MNT"
expect_error "no shared dir given" "$VFSD" --mount "$MNT"
expect_error "missing shared dir" "$VFSD" --shared-dir "$T/missing" --mount "$MNT"
echo file >"$T/afile"
expect_error "shared dir is a file" "$VFSD" --shared-dir "$T/afile" --mount "$MNT"
expect_error "mount point is a file" "$VFSD" --shared-dir "$SHARE" --mount "$T/afile"
expect_error "missing mount point" "$VFSD" --shared-dir "$SHARE" --mount "$T/missing"
expect_error "bad cache mode" "$VFSD" --shared-dir "$SHARE" --mount "$MNT" --cache sometimes
expect_error "bad log level" "$VFSD" --shared-dir "$SHARE" --mount "$MNT" --log-level loud
cp "$VFSD" "$T/vfsd"
chmod 0755 "$T/vfsd"
expect_error "not root" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$T/vfsd" --shared-dir "$SHARE" --mount "$MNT"

# The mount and its options.
mt_start
info=$(mt_mountinfo "$MNT")
read -r -a f <<<"$info"
# mountinfo: id parent dev root mp mount-opts [optional...] - fstype src super-opts
for ((i = 6; i < ${#f[@]}; i++)); do [[ ${f[i]} == - ]] && break; done
fstype=${f[i + 1]}
mopts=${f[5]}
sopts=${f[i + 3]}
[[ $fstype == fuse.vfsd ]] || mt_fail "fstype $fstype, expected fuse.vfsd ($info)"
for o in nosuid nodev; do
	[[ ,$mopts, == *,$o,* ]] || mt_fail "mount option $o missing: $info"
done
for o in allow_other default_permissions; do
	[[ ,$sopts, == *,$o,* ]] || mt_fail "super option $o missing: $info"
done
echo "ok: mounted: $fstype $mopts $sopts"

# umount makes the daemon exit 0.
umount "$MNT"
mt_wait_exit
[[ $MT_RC == 0 ]] || mt_fail "vfsd exited $MT_RC after umount"
MT_MOUNTED_AT=
echo "ok: umount -> exit 0"

# SIGTERM and SIGINT: unmount and exit 0.
mt_start
mt_stop
echo "ok: SIGTERM -> exit 0, unmounted"
mt_start
kill -INT "$MT_DAEMON_PID"
mt_wait_exit
[[ $MT_RC == 0 ]] || mt_fail "vfsd exited $MT_RC on SIGINT"
mt_is_mounted "$MNT" && mt_fail "$MNT still mounted after SIGINT"
MT_MOUNTED_AT=
echo "ok: SIGINT -> exit 0, unmounted"

# Legacy options: -o source=DIR,cache=none,xattr.
: >"$T/vfsd.err"
"$VFSD" -o "source=$SHARE,cache=none,xattr" --mount "$MNT" \
	</dev/null >"$T/vfsd.out" 2>"$T/vfsd.err" &
MT_DAEMON_PID=$!
MT_MOUNTED_AT=$MNT
for ((i = 0; i < 100; i++)); do
	mt_is_mounted "$MNT" && break
	kill -0 "$MT_DAEMON_PID" 2>/dev/null || mt_fail "legacy -o: vfsd exited"
	sleep 0.1
done
mt_is_mounted "$MNT" || mt_fail "legacy -o: not mounted within 10 s"
echo legacy >"$MNT/legacy"
[[ $(cat "$SHARE/legacy") == legacy ]] || mt_fail "legacy -o: wrong shared dir"
setfattr -n user.legacy -v 1 "$MNT/legacy" || mt_fail "legacy -o: xattr not enabled"
mt_stop
echo "ok: legacy -o source=,cache=none,xattr"
