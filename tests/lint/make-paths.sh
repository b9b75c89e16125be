#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The programs the Makefile hands to the demo scripts (`$(BUILD)/...`)
# exist in the build directory and are the vfsd binary: `make demo` must
# not start from a path that is not built.
set -euo pipefail
src=${1:?usage: make-paths.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: make-paths.sh SOURCE_DIR BUILD_DIR}
paths=$(grep -oE '\$\(BUILD\)/[A-Za-z0-9_./-]+' "$src/Makefile" |
	sed 's|^\$(BUILD)/||' | grep -v '^build\.ninja$' | sort -u)
[ -n "$paths" ] || { echo "no \$(BUILD)/ paths in the Makefile" >&2; exit 1; }
for p in $paths; do
	[ -x "$build/$p" ] || { echo "Makefile names \$(BUILD)/$p: not built" >&2; exit 1; }
	"$build/$p" --version | grep -q '^vfsd ' ||
		{ echo "\$(BUILD)/$p is not vfsd" >&2; exit 1; }
	echo "ok: \$(BUILD)/$p"
done
