#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what building and testing vfsd needs on Debian 12, as root.
# Idempotent: installs only the packages that are missing.
set -euo pipefail

pkgs=(
  build-essential meson ninja-build pkg-config
  libcmocka-dev          # unit tests
  libseccomp-dev libcap-ng-dev  # sandbox: seccomp allowlist, capability drop
  liburing-dev           # bench/engines: io_uring against the worker pool
  clang clang-format     # sanitizer builds (ASan, UBSan, TSan), style check
  valgrind               # leak and fd checks of the VMM-misbehaviour tests
  attr acl               # getfattr/setfattr for the xattr tests
  util-linux             # setpriv, unshare, mount
  uidmap                 # newuidmap/newgidmap: unprivileged user-namespace maps
  fio                    # benchmarks
  qemu-system-x86        # guest tests; brings QEMU's reference virtiofsd
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients  # libvirt starts vfsd (guest-vfsd-libvirt)
  busybox-static cpio xz-utils  # the guest tests' initramfs
  rsync diffutils        # tree copy tests
  groff-base bsdextrautils  # the man page test (groff, col)
  systemd                # systemd-socket-activate, systemd-analyze: unit tests
  git debhelper dpkg-dev lintian  # make deb and its test
  curl                   # reads the --metrics-socket page in its tests
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
