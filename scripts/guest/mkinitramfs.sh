#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest-test tier: build the initramfs (cpio newc, gzip).
#
#   scripts/guest/mkinitramfs.sh [--cache DIR] [--payload DIR]... OUTPUT
#
# Contents: the static busybox (with its applet links), the virtio-fs
# modules and their insmod order (from scripts/guest/prepare.sh's cache,
# default build/guest-cache), scripts/guest/init as /init, a minimal
# /etc/passwd and /etc/group (root, tester 1000:1000, nobody), the
# guest-side test scripts tests/guest/guest-lib.sh and
# tests/guest/check-*.sh in /tests, and the files of every --payload DIR in
# /tests too (e.g. small static helper programs).
set -euo pipefail

die() {
	echo "mkinitramfs: $*" >&2
	exit 1
}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=
payloads=()
out=
while [[ $# -gt 0 ]]; do
	case "$1" in
	--cache) cache=$2; shift 2 ;;
	--payload) payloads+=("$2"); shift 2 ;;
	-h | --help) sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) [[ -z "$out" ]] || die "one OUTPUT only"; out=$1; shift ;;
	esac
done
[[ -n "$out" ]] || die "usage: mkinitramfs.sh [--cache DIR] [--payload DIR]... OUTPUT"
command -v cpio >/dev/null || die "cpio is missing (package cpio)"

GUEST_MODULES=
GUEST_BUSYBOX=
eval "$("$here/prepare.sh" ${cache:+"$cache"})"
[[ -n "$GUEST_MODULES" && -n "$GUEST_BUSYBOX" ]] || die "prepare.sh failed"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/root
mkdir -p "$r"/{bin,sbin,dev,proc,sys,tmp,mnt,root,etc,lib/modules,tests}
cp "$GUEST_BUSYBOX" "$r/bin/busybox"
# Applet links: ask the busybox we ship (it is static, it runs here).
for a in $("$r/bin/busybox" --list); do
	[[ "$a" == busybox ]] || ln -s busybox "$r/bin/$a"
done
cp "$GUEST_MODULES/modules.order" "$r/lib/modules/"
# Debian 13's kernel has virtio-fs built in: no modules at all.
if compgen -G "$GUEST_MODULES/*.ko" >/dev/null; then
	cp "$GUEST_MODULES"/*.ko "$r/lib/modules/"
fi
install -m 0755 "$here/init" "$r/init"
cat >"$r/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
tester:x:1000:1000:tester:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$r/etc/group" <<'GROUP'
root:x:0:
tester:x:1000:
nogroup:x:65534:
GROUP
install -m 0644 "$root/tests/guest/guest-lib.sh" "$r/tests/"
for f in "$root"/tests/guest/check-*.sh; do
	[[ -e "$f" ]] && install -m 0755 "$f" "$r/tests/"
done
for p in "${payloads[@]}"; do
	[[ -d "$p" ]] || die "payload $p is not a directory"
	cp -a "$p"/. "$r/tests/"
done
# Device nodes the kernel needs before devtmpfs is mounted.
mknod -m 0600 "$r/dev/console" c 5 1 2>/dev/null || true
mknod -m 0666 "$r/dev/null" c 1 3 2>/dev/null || true

(cd "$r" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$tmp/initramfs"
mv "$tmp/initramfs" "$out"
echo "$out"
