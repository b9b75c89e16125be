#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run vfsd-bench against QEMU's reference virtiofsd and (when given) vfsd,
# one after the other on the same shared directory in the same run, and
# print each row side by side with the ratio vfsd/reference (>1: vfsd does
# more ops/s; for latency columns the raw values are shown).
#
#   bench/compare.sh [-B BENCH] [-R VIRTIOFSD] [-V VFSD] [-k KEEP_CSV_DIR]
#                    [vfsd-bench options: -d DEPTH -q QUEUES -t SEC -T TESTS]
#
# The reference daemon has one request queue: it is always run with -q 1
# (same depth); vfsd gets the -q given. Its default (inline, no thread
# pool) is kept: with a pool it dies of its own seccomp filter here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${VFSD_BENCH:-}
ref=/usr/lib/qemu/virtiofsd
vfsd=
keep=
while [ $# -gt 0 ]; do
  case $1 in
    -B) bench=$2; shift 2 ;;
    -R) ref=$2; shift 2 ;;
    -V) vfsd=$2; shift 2 ;;
    -k) keep=$2; shift 2 ;;
    -h|--help) sed -n '3,14p' "$0" >&2; exit 0 ;;
    *) break ;; # the rest goes to vfsd-bench
  esac
done
if [ -z "$bench" ]; then
  for c in "$here/../build/bench/vfsd-bench" "$here/vfsd-bench"; do
    [ -x "$c" ] && bench=$c && break
  done
fi
[ -n "$bench" ] && [ -x "$bench" ] ||
  { echo "compare.sh: vfsd-bench not found (use -B or VFSD_BENCH)" >&2; exit 1; }
[ -x "$ref" ] || { echo "compare.sh: reference daemon $ref missing" >&2; exit 1; }

# bench options for the reference: same, but one request queue
ref_opts=()
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then ref_opts+=(1); skip=; continue; fi
  case $a in
    -q|--queues) ref_opts+=("$a"); skip=1 ;;
    --queues=*) ref_opts+=(--queues=1) ;;
    -q*) ref_opts+=(-q1) ;;
    *) ref_opts+=("$a") ;;
  esac
done

work=$(mktemp -d /tmp/vfsd-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/share"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# reference: $ref (thread pool: default)"
"$bench" --csv --label reference --dir "$work/share" "${ref_opts[@]}" -- \
  "$ref" --socket-path={sock} -o source={dir} -o cache=auto \
  >"$work/ref.csv" 2>"$work/ref.err" ||
  { echo "compare.sh: reference run failed:" >&2; tail -5 "$work/ref.err" >&2; }
if [ -n "$vfsd" ]; then
  echo "# vfsd: $vfsd"
  "$bench" --csv --label vfsd --dir "$work/share" "$@" -- \
    "$vfsd" --shared-dir {dir} --socket-path {sock} --cache auto \
    >"$work/vfsd.csv" 2>"$work/vfsd.err" ||
    { echo "compare.sh: vfsd run failed:" >&2; tail -5 "$work/vfsd.err" >&2; }
else
  : >"$work/vfsd.csv"
fi
[ -n "$keep" ] && mkdir -p "$keep" && cp "$work"/*.csv "$keep"/

awk -F, '
  FNR == 1 { next }                      # csv header
  FILENAME ~ /ref.csv$/ { r[$2] = $0; order[n++] = $2; next }
  { v[$2] = $0 }
  function rate(row, a) { split(row, a, ","); return a[8] > 0 ? a[8] : a[7] }
  END {
    printf "%-11s %5s %12s %12s %7s %9s %9s %9s %9s\n", "test", "qd",
      "reference", "vfsd", "ratio", "ref p50", "vfsd p50", "ref p99",
      "vfsd p99"
    for (i = 0; i < n; i++) {
      t = order[i]; split(r[t], a, ",")
      unit = a[8] > 0 ? " MiB/s" : " ops/s"
      ref = rate(r[t]); vr = "-"; ratio = "-"; vp50 = "-"; vp99 = "-"
      if (t in v) {
        split(v[t], b, ","); vr = rate(v[t]); vp50 = b[9]; vp99 = b[10]
        if (ref > 0) ratio = sprintf("%.2f", vr / ref)
      }
      printf "%-11s %5s %12s %12s %7s %9s %9s %9s %9s  %s\n", t, a[4], ref,
        vr, ratio, a[9], vp50, a[10], vp99, unit
    }
  }' "$work/ref.csv" "$work/vfsd.csv"
