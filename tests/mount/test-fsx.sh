#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# fsx (randomized single-file exerciser with an in-memory model) inside the
# mount, once per cache configuration: default, --cache never, --writeback.
# The seed is printed; FSX_SEED=N replays a failure.
#
# usage: test-fsx.sh VFSD FSX
set -euo pipefail
export VFSD=$1
FSX=$2
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OPS=${FSX_OPS:-100000}
SEED=${FSX_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

mt_init
for config in default "--cache never" "--writeback"; do
	args=()
	[[ "$config" == default ]] || read -ra args <<<"$config"
	mt_start "${args[@]}"
	echo "# vfsd ${args[*]}"
	"$FSX" -S "$SEED" -N "$OPS" "$MNT/fsx.file" ||
		mt_fail "fsx failed with vfsd ${args[*]} (replay: FSX_SEED=$SEED)"
	mt_check_alive
	cmp "$MNT/fsx.file" "$SHARE/fsx.file" ||
		mt_fail "mount and host copies of the fsx file differ"
	mt_stop
	rm -f "$SHARE/fsx.file"
done
echo "ok: fsx seed $SEED, $OPS operations per configuration"
