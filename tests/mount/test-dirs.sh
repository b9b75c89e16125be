#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# 10 000 entries created through the mount; getdents64 returns exactly
# those names, also on the host; unlinking while iterating returns no name
# twice. Run with the default cache and with --cache never.
#
# usage: test-dirs.sh VFSD DIRS
set -euo pipefail
export VFSD=$1
DIRS=$2
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mt_init
for config in default "--cache never"; do
	args=()
	[[ "$config" == default ]] || read -ra args <<<"$config"
	mt_start "${args[@]}"
	echo "# vfsd ${args[*]}"
	mkdir "$MNT/big"
	"$DIRS" "$MNT/big" 10000 "$SHARE/big" ||
		mt_fail "dirs failed with vfsd ${args[*]}"
	mt_check_alive
	mt_stop
	rm -rf "$SHARE/big"
done
