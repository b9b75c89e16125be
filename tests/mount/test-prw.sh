#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# Parallel writers and readers through the mount; every byte is verified
# through the mount and directly in the shared directory on the host.
#
# usage: test-prw.sh VFSD PRW
set -euo pipefail
export VFSD=$1
PRW=$2
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mt_init
for config in default "--cache never" "--writeback"; do
	args=()
	[[ "$config" == default ]] || read -ra args <<<"$config"
	mt_start "${args[@]}"
	echo "# vfsd ${args[*]}"
	mkdir "$MNT/prw"
	"$PRW" -w 4 -r 2 -f 3 -b 256 -s 5000 "$MNT/prw" "$SHARE/prw" ||
		mt_fail "prw failed with vfsd ${args[*]}"
	mt_check_alive
	mt_stop
	rm -rf "$SHARE/prw"
done
