#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Keep test-options.py's lists true: each peer must accept every option
# of its own list. The Rust virtiofsd is fetched by
# scripts/peers/rust-virtiofsd.sh into the build directory.
#
# usage: test-options-peer.sh rust|c BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
case ${1:-} in
rust)
	eval "$("$root/scripts/peers/rust-virtiofsd.sh" "$2/peers")"
	peer=$RUST_VIRTIOFSD
	;;
c)
	peer=/usr/lib/qemu/virtiofsd
	[[ -x $peer ]] || { echo "no $peer (package qemu-system-common)" >&2; exit 1; }
	;;
*)
	echo "usage: test-options-peer.sh rust|c BUILD_DIR" >&2
	exit 2
	;;
esac
exec python3 "$here/test-options.py" --peer "$1" "$peer"
