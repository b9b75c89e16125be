#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest, live-migrated between two QEMUs while this runs (the
# guest-vfsd-migrate test; a payload, not run by the default guest
# tests): an open file, a directory stream in the middle of its listing
# and a POSIX lock go along (migcheck), and the share serves afterwards.
# The host compares guest/data.copy and guest/dir.list with its own.
# shellcheck source=SCRIPTDIR/../guest-lib.sh
. /tests/guest-lib.sh

mkdir -p "$GT_OUT"
gt_check "open file, directory stream and lock across the migration" \
	/tests/migcheck "$GT_HOST/data" "$GT_HOST/dir" "$GT_HOST/locked" \
	"$GT_MNT/go" "$GT_OUT"
gt_check "a file written after the migration" \
	sh -c "echo after > '$GT_OUT/after'"
gt_eq "and read back" after "$(cat "$GT_OUT/after")"
gt_finish
