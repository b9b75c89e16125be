#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the Debian package out of tree: `make deb`, and the package test.
#
#   scripts/build-deb.sh BUILD_DIR
#
# The files git knows (tracked, and new ones not ignored, as they are in
# the working tree) are copied to BUILD_DIR/deb/vfsd-VERSION/, where
# dpkg-buildpackage -b -us -uc runs; it leaves vfsd_VERSION_ARCH.deb (and
# the -dbgsym package, .buildinfo, .changes) in BUILD_DIR/deb/, its parent
# directory, so the source tree stays clean. Prints the .changes path last.
set -euo pipefail
build=${1:?usage: build-deb.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
die() {
	echo "build-deb: $*" >&2
	exit 1
}
command -v dpkg-buildpackage >/dev/null ||
	die "no dpkg-buildpackage: install dpkg-dev and debhelper (scripts/install-deps.sh)"
git -C "$top" rev-parse --git-dir >/dev/null 2>&1 ||
	die "$top is not a git checkout: the file list comes from git"

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
mkdir -p "$build"
out=$(cd "$build" && pwd)/deb
tree=$out/vfsd-$version
rm -rf "$out"
mkdir -p "$tree"

# Files deleted in the working tree but still tracked are left out.
git -C "$top" ls-files -z --cached --others --exclude-standard |
	(cd "$top" && while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done) |
	tar -C "$top" --null -T - -cf - | tar -C "$tree" -xf -

echo "build-deb: dpkg-buildpackage in $tree (log: $out/build.log)"
if ! (cd "$tree" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	die "dpkg-buildpackage failed; the whole log is $out/build.log"
fi
changes=$(ls "$out"/vfsd_"$version"_*.changes)
ls "$out"/*.deb
echo "$changes"
