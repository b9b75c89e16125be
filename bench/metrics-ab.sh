#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The cost of counting: vfsd-bench against vfsd without and with
# --metrics-socket, interleaved (off, on, off, on, ...) so that a change of
# load on the machine hits both alike, then medians per row and the ratio
# on/off (<1: counting costs), with each side's spread (max-min over
# median of its runs) to judge a difference against.
#
#   bench/metrics-ab.sh [-B BENCH] [-V VFSD] [-r REPEATS] [-D "DEPTHS"]
#                       [-t SEC] [-T TESTS] [-q QUEUES] [-c CPUS] [-k DIR]
#                       [-m]
#
#   -r REPEATS  runs of each side (default 3)
#   -D DEPTHS   queue depths, each in turn (default "1 16")
#   -t SEC      seconds per test (default 2)
#   -T TESTS    vfsd-bench tests (default getattr,read-4k)
#   -q QUEUES   request queues (default 1)
#   -c CPUS     run vfsd-bench and vfsd under taskset -c CPUS (e.g. 0)
#   -k DIR      keep every run's rows in DIR/all.csv
#   -m          markdown table
#
# Nothing scrapes the page during the runs: what is measured is the
# request path's share (the counting), not the metrics thread's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${VFSD_BENCH:-$here/../build/bench/vfsd-bench}
vfsd=$here/../build/src/vfsd
repeats=3
depths="1 16"
secs=2
tests=getattr,read-4k
queues=1
keep=
cpus=
md=0
while [ $# -gt 0 ]; do
  case $1 in
    -B) bench=$2; shift 2 ;;
    -V) vfsd=$2; shift 2 ;;
    -r) repeats=$2; shift 2 ;;
    -D) depths=$2; shift 2 ;;
    -t) secs=$2; shift 2 ;;
    -T) tests=$2; shift 2 ;;
    -q) queues=$2; shift 2 ;;
    -c) cpus=$2; shift 2 ;;
    -k) keep=$2; shift 2 ;;
    -m) md=1; shift ;;
    -h|--help) sed -n '3,23p' "$0" >&2; exit 0 ;;
    *) echo "metrics-ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "metrics-ab.sh: no vfsd-bench at $bench (-B)" >&2; exit 1; }
[ -x "$vfsd" ] || { echo "metrics-ab.sh: no vfsd at $vfsd (-V)" >&2; exit 1; }
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || { echo "metrics-ab.sh: bad -r $repeats" >&2; exit 2; }

tmp=$(mktemp -d /tmp/metrics-ab.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
all=$tmp/all.csv
: >"$all"
for ((r = 1; r <= repeats; r++)); do
  for d in $depths; do
    for side in off on; do
      extra=()
      pin=()
      [ "$side" = on ] && extra=(--metrics-socket "$tmp/metrics.sock")
      [ -n "$cpus" ] && pin=(taskset -c "$cpus")
      "${pin[@]}" "$bench" -c -l "$side" -q "$queues" -d "$d" -t "$secs" -T "$tests" -- \
        "$vfsd" --shared-dir '{dir}' --socket-path '{sock}' "${extra[@]}" \
        2>>"$tmp/daemon.log" | sed -n '2,$p' | sed "s/^/$r,/" >>"$all"
    done
  done
done
[ -n "$keep" ] && { mkdir -p "$keep"; cp "$all" "$keep/all.csv"; }

# rows: repeat,label,test,queues,depth,ops,seconds,ops_per_s,mib_per_s,p50,p99
awk -F, -v md="$md" "$(cat "$here/table.awk")"'
function spread(list,   n, a, i, lo, hi, m) {
  n = split(list, a, " "); lo = hi = a[1] + 0
  for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
  m = median(list)
  return m > 0 ? (hi - lo) / m : 0
}
{
  key = $3 "," $5
  if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
  ops[key "," $2] = ops[key "," $2] " " $8
  p50[key "," $2] = p50[key "," $2] " " $10
}
END {
  if (md) {
    print "| test | qd | off ops/s | on ops/s | on/off | off spread | on spread | off p50 us | on p50 us | runs off | runs on |"
    print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  } else {
    printf "%-10s %3s %10s %10s %7s %8s %8s %8s %8s\n", "test", "qd", "off", "on", "on/off", "spr-off", "spr-on", "p50-off", "p50-on"
  }
  for (i = 1; i <= nk; i++) {
    k = order[i]; split(k, t, ",")
    off = median(ops[k ",off"]); on = median(ops[k ",on"])
    onoff = off > 0 ? on / off : 0
    so = spread(ops[k ",off"]); sn = spread(ops[k ",on"])
    po = median(p50[k ",off"]); pn = median(p50[k ",on"])
    ro = ops[k ",off"]; rn = ops[k ",on"]; sub(/^ /, "", ro); sub(/^ /, "", rn)
    gsub(/ /, " / ", ro); gsub(/ /, " / ", rn)
    if (md)
      printf "| %s | %s | %d | %d | %.3f | %.1f%% | %.1f%% | %.1f | %.1f | %s | %s |\n", t[1], t[2], off, on, onoff, so * 100, sn * 100, po, pn, ro, rn
    else
      printf "%-10s %3s %10d %10d %7.3f %7.1f%% %7.1f%% %8.1f %8.1f\n", t[1], t[2], off, on, onoff, so * 100, sn * 100, po, pn
  }
}' "$all"
