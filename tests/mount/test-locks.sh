#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR disable=SC2119
# POSIX record locks and flock between processes through the mount (see
# locks.c); the same program first runs natively to validate itself.
#
# usage: test-locks.sh VFSD LOCKS
set -euo pipefail
export VFSD=$1
LOCKS=$2
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mt_init
"$LOCKS" "$NATIVE" >"$T/native.out" 2>&1 ||
	{ cat "$T/native.out" >&2; mt_fail "locks failed natively"; }
mt_start
if ! "$LOCKS" "$MNT"; then
	mt_fail "locks failed on the mount"
fi
mt_check_alive
mt_stop
