#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make fuzz`: build the libFuzzer targets in build-fuzz/ (clang,
# ASan+UBSan) and run each for SECONDS (default 600), one after another on
# one core. New inputs that add coverage are merged into
# fuzz/corpus/<target>/ (review and commit them); a crash leaves its input
# in build-fuzz/artifacts/<target>/ and stops the run with a failure.
#
# usage: fuzz/run.sh [SECONDS] [TARGET...]  targets: fuse vhost virtq state
# env:   FUZZ_BUILD (build dir), FUZZ_ARGS (extra libFuzzer options)
set -euo pipefail
secs=${1:-600}
shift || true
targets=${*:-fuse vhost virtq state}
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$top/build-fuzz}

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$top" --werror \
    -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$build" $(for t in $targets; do echo "fuzz/fuzz-$t"; done)

declare -A max_len=([fuse]=8192 [vhost]=4096 [virtq]=8192 [state]=16384)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

for t in $targets; do
  corpus=$top/fuzz/corpus/$t
  art=$build/artifacts/$t
  new=$(mktemp -d "/tmp/vfsd-fuzz-$t.XXXXXX")
  # scratch space of the target (fuzz_fuse's shared directory): libFuzzer
  # ends without atexit handlers, so it is removed here
  scratch=$(mktemp -d "/tmp/vfsd-fuzz-scratch.XXXXXX")
  mkdir -p "$corpus" "$art"
  echo "== fuzz-$t for ${secs}s (log: $build/fuzz-$t.log)"
  # New finds go to $new (the first corpus dir); the committed corpus is
  # read, not written, so only a merge adds to it.
  rc=0
  TMPDIR=$scratch "$build/fuzz/fuzz-$t" "$new" "$corpus" \
    -max_total_time="$secs" -max_len="${max_len[$t]}" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art/" ${FUZZ_ARGS:-} >"$build/fuzz-$t.log" 2>&1 ||
    rc=$?
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::)' "$build/fuzz-$t.log" || true
  if [ "$rc" -ne 0 ]; then
    echo "fuzz-$t failed (exit $rc): see $build/fuzz-$t.log and $art/" >&2
    rm -rf "$new" "$scratch"
    exit "$rc"
  fi
  before=$(find "$corpus" -type f | wc -l)
  # -use_counters=0: keep only inputs that reach new edges (a small corpus)
  TMPDIR=$scratch "$build/fuzz/fuzz-$t" -merge=1 -use_counters=0 \
    -max_len="${max_len[$t]}" \
    "$corpus" "$new" >"$build/fuzz-$t.merge.log" 2>&1
  rm -rf "$new" "$scratch"
  echo "corpus $t: $before -> $(find "$corpus" -type f | wc -l) files"
done
