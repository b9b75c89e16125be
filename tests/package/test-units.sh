#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The systemd units `meson install` puts in place, checked without a
# running systemd:
#  1. systemd-analyze verify accepts both (no warning at all), with the
#     installed tree as the root, so ExecStart= must name the binary
#     where it was installed (and man:vfsd(1) must resolve when man-db
#     is there);
#  2. the socket listens on /run/vfsd/INSTANCE.sock, mode 0600;
#  3. vfsd started as the service would start it (run-unit.py: its
#     EnvironmentFile, ExecStart=, capability bounding set, no new
#     privileges, a private network and read-only kernel interfaces)
#     serves the vhost-user smoke test on the socket and exits 0.
#
#   tests/package/test-units.sh BUILD_DIR VHOST_SMOKE
set -euo pipefail
build=${1:?usage: test-units.sh BUILD_DIR VHOST_SMOKE}
smoke=${2:?usage: test-units.sh BUILD_DIR VHOST_SMOKE}
here=$(cd "$(dirname "$0")" && pwd)
for tool in systemd-analyze systemd-socket-activate setpriv unshare; do
	command -v "$tool" >/dev/null || {
		echo "SKIP: no $tool"
		exit 77
	}
done
dest=$(mktemp -d /tmp/vfsd-units.XXXXXX)
trap 'rm -rf "$dest"' EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }

meson install -C "$build" --no-rebuild --destdir "$dest" >/dev/null
service=$(find "$dest" -path '*/systemd/system/vfsd@.service')
socket=$(find "$dest" -path '*/systemd/system/vfsd@.socket')
if [ -z "$service" ] || [ -z "$socket" ]; then
	echo "not ok - units not installed: $(find "$dest" -type f)"
	exit 1
fi
unitdir=${service%/*}
ok "units installed in ${unitdir#"$dest"}"

# 1. The manager's own units (sysinit.target, sockets.target, ...) must be
# found under the root too.
mkdir -p "$dest/usr/lib/systemd/system"
cp -rn /usr/lib/systemd/system/. "$dest/usr/lib/systemd/system/"
man=(--man=no)
if command -v man >/dev/null; then
	man=(--man=yes)
	export MANPATH
	MANPATH=$(dirname "$(dirname "$(find "$dest" -path '*/man1/vfsd.1*')")")
fi
rc=0
systemd-analyze verify "${man[@]}" --root="$dest" \
	"${unitdir#"$dest"}/vfsd@smoke.socket" \
	"${unitdir#"$dest"}/vfsd@smoke.service" >"$dest/verify" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$dest/verify" ]; then
	ok "systemd-analyze verify ${man[*]}: clean"
else
	bad "systemd-analyze verify: exit $rc: $(cat "$dest/verify")"
fi
systemd-analyze security --offline=true --root="$dest" vfsd@smoke.service \
	2>/dev/null | grep -i 'overall exposure' | sed 's/^/# /' || true

# 2. The socket unit.
grep -qx 'ListenStream=/run/vfsd/%i.sock' "$socket" &&
	grep -qx 'SocketMode=0600' "$socket" &&
	ok "socket: /run/vfsd/%i.sock, mode 0600" ||
	bad "socket unit lacks ListenStream=/run/vfsd/%i.sock or SocketMode=0600"

# 3. The service, emulated, serving a frontend.
if "$smoke" -- "$here/run-unit.py" "$dest" "$service" smoke '{sock}' '{dir}' \
	>"$dest/smoke" 2>&1; then
	ok "vfsd as vfsd@smoke.service serves vhost-smoke: $(tail -n 1 "$dest/smoke")"
	grep '^# ExecStart' "$dest/smoke" || true
else
	cat "$dest/smoke"
	bad "vfsd as vfsd@smoke.service serves vhost-smoke"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
