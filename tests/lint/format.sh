#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every C file must match .clang-format (run `make format` to fix).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v clang-format >/dev/null || { echo "clang-format missing" >&2; exit 1; }
files=$(git ls-files '*.c' '*.h')
clang-format --dry-run --Werror $files
