#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# --xattrmap on the host kernel's client, with the peers' documented use:
# the guest's trusted.* and security.* stored as user.virtiofs.* on the
# host. Checks both directions (set in the mount, read on the host, and
# back), what LISTXATTR shows and hides, a guest write to a host-only name
# refused with EPERM and nothing changed, the mapped security.capability
# dropped on truncate as the host drops the real one, and a malformed map
# refused with one line.
#
# usage: test-xattrmap.sh VFSD
set -euo pipefail
export VFSD=$1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

getval() { # FILE NAME
	getfattr --only-values -n "$2" "$1" 2>/dev/null
}
names() { # FILE: every name, sorted, one per line
	getfattr --absolute-names -d -m - "$1" 2>/dev/null | sed -n 's/=.*//p' | grep -v '^#' | sort
}

MAP=':prefix:all:trusted.:user.virtiofs.: :prefix:all:security.:user.virtiofs.:
 :bad:client:user.virtiofs.:: :bad:server::trusted.: :bad:server::security.:
 :ok:all:::'

mt_init

# A malformed map: one line, non-zero exit, nothing mounted.
rc=0
"$VFSD" --shared-dir "$SHARE" --mount "$MNT" --xattrmap ':ok:all:::/prefx/all///' \
	>"$T/out" 2>"$T/err" </dev/null || rc=$?
[[ $rc != 0 && $(wc -l <"$T/err") == 1 ]] ||
	mt_fail "malformed map: exit $rc, stderr: $(cat "$T/err")"
grep -q "rule 2 at byte 11: unknown type 'prefx'" "$T/err" ||
	mt_fail "malformed map: $(cat "$T/err")"
mt_is_mounted "$MNT" && mt_fail "mounted with a malformed map"
echo "ok: malformed map refused: $(cat "$T/err")"

echo data >"$SHARE/f"
setfattr -n trusted.hostonly -v secret "$SHARE/f"
setfattr -n user.plain -v host "$SHARE/f"
mt_start --xattrmap "$MAP"

setfattr -n trusted.overlay -v ov "$MNT/f" || mt_fail "setfattr trusted.overlay in the mount"
setfattr -n security.label -v lbl "$MNT/f" || mt_fail "setfattr security.label in the mount"
[[ $(getval "$SHARE/f" user.virtiofs.trusted.overlay) == ov ]] ||
	mt_fail "host lacks user.virtiofs.trusted.overlay: $(names "$SHARE/f")"
[[ $(getval "$SHARE/f" user.virtiofs.security.label) == lbl ]] ||
	mt_fail "host lacks user.virtiofs.security.label"
getval "$SHARE/f" trusted.overlay >/dev/null && mt_fail "the host got trusted.overlay itself"
[[ $(getval "$MNT/f" trusted.overlay) == ov ]] || mt_fail "getfattr trusted.overlay in the mount"
[[ $(getval "$MNT/f" user.plain) == host ]] || mt_fail "user.plain not passed through"
echo "ok: guest trusted.*/security.* stored as user.virtiofs.* on the host and read back"

got=$(names "$MNT/f" | tr '\n' ' ')
[[ $got == "security.label trusted.overlay user.plain " ]] ||
	mt_fail "listxattr in the mount: '$got'"
getval "$MNT/f" trusted.hostonly >/dev/null && mt_fail "the host's trusted.hostonly is readable in the mount"
echo "ok: the mount lists '$got' (host's trusted.hostonly and the prefix hidden)"

err=$(setfattr -n user.virtiofs.sneaky -v x "$MNT/f" 2>&1) &&
	mt_fail "the guest wrote a host-only name"
[[ $err == *"Operation not permitted"* ]] || mt_fail "host-only name: $err"
getval "$SHARE/f" user.virtiofs.sneaky >/dev/null && mt_fail "user.virtiofs.sneaky reached the host"
err=$(setfattr -x user.virtiofs.trusted.overlay "$MNT/f" 2>&1) &&
	mt_fail "the guest removed a host-only name"
[[ $(getval "$SHARE/f" user.virtiofs.trusted.overlay) == ov ]] ||
	mt_fail "the refused removal changed the host"
echo "ok: writing or removing a host-only name: EPERM, host unchanged"

# security.capability (a valid v2 value: cap_net_raw permitted+effective)
# lives as user.virtiofs.security.capability; a truncate drops it.
echo x >"$MNT/cap"
setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 "$MNT/cap" ||
	mt_fail "setfattr security.capability in the mount"
getval "$SHARE/cap" user.virtiofs.security.capability >/dev/null ||
	mt_fail "the host lacks the mapped security.capability: $(names "$SHARE/cap")"
truncate -s 0 "$MNT/cap"
getval "$SHARE/cap" user.virtiofs.security.capability >/dev/null &&
	mt_fail "the mapped security.capability survived a truncate"
echo "ok: the mapped security.capability dropped on truncate"

setfattr -x trusted.overlay "$MNT/f" || mt_fail "removexattr trusted.overlay in the mount"
getval "$SHARE/f" user.virtiofs.trusted.overlay >/dev/null &&
	mt_fail "user.virtiofs.trusted.overlay still on the host"
mt_stop
echo "ok: removal through the map"
mt_finish
