#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest-test tier: make sure CACHE_DIR (default build/guest-cache) holds a
# guest kernel and a static busybox, downloading with apt-get only what is
# missing. Idempotent. Prints where things are, as shell assignments:
#
#   GUEST_KERNEL=.../vmlinuz
#   GUEST_MODULES=.../modules      (the needed modules, uncompressed, and
#                                   modules.order: their insmod order)
#   GUEST_BUSYBOX=.../busybox
#
# Kernel: Debian's linux-image-amd64 meta-package names the real
# linux-image-6.1.*-amd64 package; only vmlinuz and the virtio-fs modules
# are kept from it. Busybox: the host's busybox-static if installed,
# otherwise the package is downloaded. On failure one line on stderr
# ("prepare: ...") and exit 1.
#
#   scripts/guest/prepare.sh [CACHE_DIR [bookworm|trixie]]
#
# trixie: Debian 13's kernel (6.12: virtio and virtio-fs built in, so no
# modules; several request queues), fetched by scripts/trixie-apt.sh.
set -euo pipefail

# Insmod order that works on Debian 12's kernel.
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
	virtio_pci fuse virtiofs)

die() {
	echo "prepare: $*" >&2
	exit 1
}

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-$root/build/guest-cache}
dist=${2:-${VFSD_GUEST_DIST:-bookworm}}
case $dist in
bookworm) ;;
trixie) MODULES=() ;;
*) die "unknown distribution '$dist' (bookworm or trixie)" ;;
esac
mkdir -p "$cache" || die "cannot create cache directory $cache"
cache=$(cd "$cache" && pwd)

tmp=
cleanup() {
	if [[ -n "$tmp" ]]; then
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

work() {
	if [[ -z "$tmp" ]]; then
		tmp=$(mktemp -d "$cache/.prepare.XXXXXX")
	fi
}

apt_updated=0
# apt_download PKG: fetch PKG's .deb into $tmp (apt-get update once if the
# package lists do not know it yet). Sets DEB to the .deb's path.
DEB=
apt_download() {
	local pkg=$1
	work
	if [[ $dist == trixie ]]; then
		"$root/scripts/trixie-apt.sh" "$cache/apt" "$tmp" "$pkg" ||
			die "cannot download $pkg from Debian 13"
		DEB=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
		[[ -n "$DEB" ]] || die "apt-get download $pkg produced no .deb"
		return 0
	fi
	if ! (cd "$tmp" && apt-get download -q "$pkg") >"$tmp/apt.log" 2>&1; then
		if [[ $apt_updated -eq 0 && $(id -u) -eq 0 ]]; then
			apt_updated=1
			apt-get update -q >"$tmp/apt.log" 2>&1 ||
				die "apt-get update failed: $(tail -n 1 "$tmp/apt.log")"
			(cd "$tmp" && apt-get download -q "$pkg") >"$tmp/apt.log" 2>&1 ||
				die "cannot download $pkg: $(tail -n 1 "$tmp/apt.log")"
		else
			die "cannot download $pkg: $(tail -n 1 "$tmp/apt.log")"
		fi
	fi
	DEB=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
	[[ -n "$DEB" ]] || die "apt-get download $pkg produced no .deb"
}

kernel_ok() {
	local m
	[[ -s "$cache/kernel/vmlinuz" && -e "$cache/kernel/modules/modules.order" ]] ||
		return 1
	for m in ${MODULES[@]+"${MODULES[@]}"}; do
		[[ -s "$cache/kernel/modules/$m.ko" ]] || return 1
	done
}

get_kernel() {
	local meta real deb x m path
	apt_download linux-image-amd64
	meta=$DEB
	# Depends: linux-image-6.1.0-NN-amd64 (= ...)
	real=$(dpkg-deb -f "$meta" Depends | tr ',|' '\n' |
		sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)
	[[ -n "$real" ]] || die "cannot find the kernel package in $(basename "$meta")'s Depends"
	apt_download "$real"
	deb=$DEB
	x="$tmp/x"
	mkdir -p "$x"
	# Extract only the kernel image and the modules we need.
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$x" --wildcards './boot/vmlinuz-*' \
			${MODULES[@]+'./lib/modules/*/kernel/drivers/virtio/*'} \
			${MODULES[@]+'./lib/modules/*/kernel/fs/fuse/*'} ||
		die "cannot extract $(basename "$deb")"
	mkdir -p "$tmp/kernel/modules"
	cp "$x"/boot/vmlinuz-* "$tmp/kernel/vmlinuz" ||
		die "no vmlinuz in $(basename "$deb")"
	: >"$tmp/kernel/modules/modules.order"
	for m in ${MODULES[@]+"${MODULES[@]}"}; do
		path=$(find "$x/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" |
			head -n 1)
		[[ -n "$path" ]] || die "module $m not found in $(basename "$deb")"
		case "$path" in
		*.xz) xz -dc "$path" >"$tmp/kernel/modules/$m.ko" ||
			die "cannot decompress $path" ;;
		*) cp "$path" "$tmp/kernel/modules/$m.ko" ;;
		esac
		echo "$m" >>"$tmp/kernel/modules/modules.order"
	done
	basename "$deb" >"$tmp/kernel/package"
	rm -rf "$cache/kernel"
	mv "$tmp/kernel" "$cache/kernel"
}

busybox_ok() {
	[[ -x "$cache/busybox" ]] && file_is_static "$cache/busybox"
}

file_is_static() {
	# A static binary has no program interpreter: readelf may be absent,
	# so look for the dynamic loader's path instead.
	! grep -q -a '/lib64/ld-linux' "$1"
}

get_busybox() {
	local deb
	work
	if dpkg-query -W -f='${Status}' busybox-static 2>/dev/null |
		grep -q 'ok installed' && [[ -x /bin/busybox ]] &&
		file_is_static /bin/busybox; then
		cp /bin/busybox "$tmp/busybox"
	else
		apt_download busybox-static
		deb=$DEB
		mkdir -p "$tmp/bb"
		dpkg-deb -x "$deb" "$tmp/bb" || die "cannot extract $(basename "$deb")"
		[[ -x "$tmp/bb/bin/busybox" ]] || die "no bin/busybox in $(basename "$deb")"
		cp "$tmp/bb/bin/busybox" "$tmp/busybox"
	fi
	file_is_static "$tmp/busybox" || die "busybox is not statically linked"
	mv "$tmp/busybox" "$cache/busybox"
}

command -v dpkg-deb >/dev/null || die "dpkg-deb is missing"
command -v xz >/dev/null || die "xz is missing (package xz-utils)"

kernel_ok || get_kernel
busybox_ok || get_busybox

echo "GUEST_KERNEL=$cache/kernel/vmlinuz"
echo "GUEST_MODULES=$cache/kernel/modules"
echo "GUEST_BUSYBOX=$cache/busybox"
