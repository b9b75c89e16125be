#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package, built as `make deb` builds it (scripts/build-deb.sh:
# dpkg-buildpackage -b on a copy of the tree, its unit tests included):
#  1. lintian reports no error (E:) on the .changes (both .debs);
#  2. unpacked with dpkg -x into a scratch root, it holds the binary at
#     /usr/libexec/vfsd (whose --version is the changelog's version), the
#     vhost-user descriptor naming that binary, vfsd(1), the units (naming
#     /usr/libexec/vfsd and /etc/vfsd/%i.conf), /etc/vfsd, the copyright;
#  3. it depends on the libraries it links (libseccomp, libcap-ng);
#  4. systemd-analyze verify accepts the units with that root;
#  5. the packaged binary serves the vhost-user smoke test, socket-activated.
#
#   tests/package/test-deb.sh SOURCE_DIR BUILD_DIR VHOST_SMOKE
set -euo pipefail
src=${1:?usage: test-deb.sh SOURCE_DIR BUILD_DIR VHOST_SMOKE}
build=${2:?usage: test-deb.sh SOURCE_DIR BUILD_DIR VHOST_SMOKE}
smoke=${3:?usage: test-deb.sh SOURCE_DIR BUILD_DIR VHOST_SMOKE}
for tool in dpkg-buildpackage dh lintian git; do
	command -v "$tool" >/dev/null || {
		echo "SKIP: no $tool (scripts/install-deps.sh installs it)"
		exit 77
	}
done
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || {
	echo "SKIP: $src is not a git checkout (make deb copies the files git lists)"
	exit 77
}
root=$(mktemp -d /tmp/vfsd-deb.XXXXXX)
trap 'rm -rf "$root"' EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }
check() { if "${@:2}"; then ok "$1"; else bad "$1"; fi; }

start=$SECONDS
"$src/scripts/build-deb.sh" "$build" >"$root/build-deb.out" || {
	cat "$root/build-deb.out"
	echo "not ok - scripts/build-deb.sh failed"
	exit 1
}
changes=$(tail -n 1 "$root/build-deb.out")
deb=$(ls "${changes%/*}"/vfsd_*.deb)
ok "dpkg-buildpackage -b: ${deb##*/} in $((SECONDS - start)) s"

# 1. lintian (its tags as comments in the log).
lintian "$changes" >"$root/lintian" 2>&1 || true
sed 's/^/# /' "$root/lintian"
errors=$(grep -c '^E:' "$root/lintian" || true)
warnings=$(grep -c '^W:' "$root/lintian" || true)
check "lintian: $errors errors, $warnings warnings" test "$errors" -eq 0

# 2. The files.
dpkg -x "$deb" "$root/fs"
fs=$root/fs
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
check "/usr/libexec/vfsd --version is 'vfsd $version'" \
	test "$("$fs/usr/libexec/vfsd" --version)" = "vfsd $version"
check "nothing in /usr/bin or /usr/sbin" \
	test ! -e "$fs/usr/bin/vfsd" -a ! -e "$fs/usr/sbin/vfsd"
check "the vhost-user descriptor names /usr/libexec/vfsd, type fs" \
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
assert d["binary"] == "/usr/libexec/vfsd" and d["type"] == "fs", d' \
	"$fs/usr/share/qemu/vhost-user/40-vfsd.json"
check "vfsd(1) in /usr/share/man/man1" test -s "$fs/usr/share/man/man1/vfsd.1.gz"
unitdir=$fs/lib/systemd/system
check "vfsd@.socket listens on /run/vfsd/%i.sock" \
	grep -qx 'ListenStream=/run/vfsd/%i.sock' "$unitdir/vfsd@.socket"
check "vfsd@.service runs /usr/libexec/vfsd" \
	grep -q '^ExecStart=/usr/libexec/vfsd ' "$unitdir/vfsd@.service"
check "vfsd@.service reads /etc/vfsd/%i.conf" \
	grep -qx 'EnvironmentFile=/etc/vfsd/%i.conf' "$unitdir/vfsd@.service"
check "/etc/vfsd exists, the example configuration is shipped" \
	test -d "$fs/etc/vfsd" -a -s "$fs/usr/share/doc/vfsd/examples/example.conf"
check "debian/copyright: DEP-5, GPL-2.0-or-later" \
	grep -qx 'License: GPL-2.0-or-later' "$fs/usr/share/doc/vfsd/copyright"

# 3. Dependencies.
depends=$(dpkg-deb -f "$deb" Depends)
check "Depends: $depends" \
	bash -c '[[ $1 == *libseccomp2* && $1 == *libcap-ng0* ]]' _ "$depends"

# 4. The units against the unpacked root (the manager's own units copied
# in, so that sockets.target and the like resolve).
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$fs/usr/lib/systemd/system"
	cp -rn /usr/lib/systemd/system/. "$fs/usr/lib/systemd/system/"
	rc=0
	systemd-analyze verify --man=no --root="$fs" \
		/lib/systemd/system/vfsd@pkg.socket \
		/lib/systemd/system/vfsd@pkg.service >"$root/verify" 2>&1 || rc=$?
	check "systemd-analyze verify: exit $rc, clean" \
		test "$rc" -eq 0 -a ! -s "$root/verify"
	cat "$root/verify"
fi

# 5. The packaged binary serving, socket-activated.
if command -v systemd-socket-activate >/dev/null; then
	if "$smoke" -- systemd-socket-activate -l '{sock}' \
		"$fs/usr/libexec/vfsd" --shared-dir '{dir}' >"$root/smoke" 2>&1; then
		ok "packaged vfsd serves vhost-smoke, socket-activated"
	else
		cat "$root/smoke"
		bad "packaged vfsd serves vhost-smoke, socket-activated"
	fi
fi

echo "$pass passed, $fail failed ($((SECONDS - start)) s)"
[ "$fail" -eq 0 ]
