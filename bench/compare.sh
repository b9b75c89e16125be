#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run vfsd-bench against QEMU's reference virtiofsd and (when given) vfsd,
# one after the other on the same shared directory in the same run, and
# print each row side by side with the ratio vfsd/reference (>1: vfsd does
# more ops/s or MiB/s), then the p50/p99 latencies (us) of every daemon.
#
#   bench/compare.sh [-B BENCH] [-R VIRTIOFSD] [-V VFSD] [-P POLICIES]
#                    [-r REPEATS] [-D "DEPTH..."] [-c CPUS] [-k KEEP_DIR] [-m]
#                    [vfsd-bench options: -q QUEUES -t SEC -T TESTS -K N ...]
#
#   -P POLICIES  comma list of vfsd READ/WRITE offload policies, each run as
#                a daemon of its own: default (unset: 256 KiB+ offloaded
#                when the queue is busy), all (0: offload every
#                READ/WRITE), inline (4294967295: none), or a byte count
#                (always offloaded from that size);
#                set through VFSD_BENCH_OFFLOAD_IO_BYTES (default: default)
#   -r REPEATS   run every daemon REPEATS times (interleaved: reference,
#                vfsd policies, reference, ...); the tables show medians
#                and the ratio of the medians (default 1)
#   -D DEPTHS    run each queue depth in turn (instead of giving -d)
#   -c CPUS      run vfsd-bench and the daemons under taskset -c CPUS (e.g.
#                0: one CPU, so that wakeups hand off on it and rows at
#                depth 1 stop flipping between ~3 us and ~50 us modes)
#   -k DIR       keep all.csv (every run, with a repeat column) in DIR
#   -m           print markdown tables
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
policies=default
repeats=1
depths=
cpus=
md=0
while [ $# -gt 0 ]; do
  case $1 in
    -B) bench=$2; shift 2 ;;
    -R) ref=$2; shift 2 ;;
    -V) vfsd=$2; shift 2 ;;
    -P) policies=$2; shift 2 ;;
    -r) repeats=$2; shift 2 ;;
    -D) depths=$2; shift 2 ;;
    -c) cpus=$2; shift 2 ;;
    -k) keep=$2; shift 2 ;;
    -m) md=1; shift ;;
    -h|--help) sed -n '3,30p' "$0" >&2; exit 0 ;;
    --) shift; break ;;
    *) break ;; # the rest goes to vfsd-bench
  esac
done
if [ -z "$bench" ]; then
  for c in "$here/../build/bench/vfsd-bench" "$here/vfsd-bench"; do
    [ -x "$c" ] && bench=$c && break
  done
fi
if [ -z "$bench" ] || [ ! -x "$bench" ]; then
  echo "compare.sh: vfsd-bench not found (use -B or VFSD_BENCH)" >&2; exit 1
fi
[ -x "$ref" ] || { echo "compare.sh: reference daemon $ref missing" >&2; exit 1; }
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: bad -r $repeats" >&2; exit 2; }

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

# policy -> "label value" (value "" = leave the variable unset)
policy() {
  case $1 in
    default) echo "vfsd -" ;;
    all) echo "vfsd-all 0" ;;
    inline) echo "vfsd-inline 4294967295" ;;
    *[!0-9]*|'') echo "compare.sh: bad policy $1" >&2; exit 2 ;;
    *) echo "vfsd-$1 $1" ;;
  esac
}
labels=(reference)
if [ -n "$vfsd" ]; then
  IFS=, read -r -a pols <<<"$policies"
  for p in "${pols[@]}"; do
    read -r l _ <<<"$(policy "$p")"
    [ -n "$l" ] || exit 2
    labels+=("$l")
  done
fi

work=$(mktemp -d /tmp/vfsd-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/share"
: >"$work/all.csv"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# reference: $ref (thread pool: default)"
[ -n "$vfsd" ] && echo "# vfsd: $vfsd, offload policies: $policies"
echo "# vfsd-bench options: $* ${depths:+(depths: $depths)}, repeats: $repeats"

pin=()
if [ -n "$cpus" ]; then
  command -v taskset >/dev/null || { echo "compare.sh: no taskset" >&2; exit 1; }
  pin=(taskset -c "$cpus")
  echo "# pinned: taskset -c $cpus"
fi

# run LABEL REPEAT DEPTH: one vfsd-bench invocation, rows into all.csv
run() {
  local label=$1 rep=$2 d=$3 opts val out=$work/run.csv err=$work/run.err
  local dopt=()
  shift 3
  [ -n "$d" ] && dopt=(-d "$d")
  if [ "$label" = reference ]; then
    "${pin[@]}" "$bench" --csv --label reference --dir "$work/share" "${ref_opts[@]}" \
      "${dopt[@]}" -- "$ref" '--socket-path={sock}' -o 'source={dir}' \
      -o cache=auto >"$out" 2>"$err" ||
      { echo "compare.sh: reference run failed:" >&2; tail -5 "$err" >&2; }
  else
    for p in "${pols[@]}"; do
      read -r l val <<<"$(policy "$p")"
      [ "$l" = "$label" ] && break
    done
    if [ "$val" = - ]; then
      opts=(env -u VFSD_BENCH_OFFLOAD_IO_BYTES)
    else
      opts=(env "VFSD_BENCH_OFFLOAD_IO_BYTES=$val")
    fi
    "${pin[@]}" "$bench" --csv --label "$label" --dir "$work/share" "$@" "${dopt[@]}" \
      -- "${opts[@]}" "$vfsd" --shared-dir '{dir}' --socket-path '{sock}' \
      --cache auto >"$out" 2>"$err" ||
      { echo "compare.sh: $label run failed:" >&2; tail -5 "$err" >&2; }
  fi
  awk -v rep="$rep" 'NR > 1 { print $0 "," rep }' "$out" >>"$work/all.csv"
}

dlist=("")
[ -n "$depths" ] && read -r -a dlist <<<"$depths"
for ((rep = 1; rep <= repeats; rep++)); do
  for d in "${dlist[@]}"; do
    for l in "${labels[@]}"; do
      run "$l" "$rep" "$d" "$@"
    done
  done
done
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  { echo "label,test,queues,depth,ops,seconds,ops_per_s,mib_per_s,p50_us,p99_us,repeat"
    cat "$work/all.csv"; } >"$keep/all.csv"
fi

awk -F, -v labels="${labels[*]}" -v md="$md" '
  function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    if (n == 0) return ""
    for (i = 2; i <= n; i++)          # insertion sort, n is small
      for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
        t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
      }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function row(cells, n,   i, s) {
    if (md) {
      s = "|"
      for (i = 1; i <= n; i++) s = s " " cells[i] " |"
    } else {
      s = sprintf("%-19s", cells[1])
      for (i = 2; i <= n; i++) s = s sprintf(" %11s", cells[i])
    }
    print s
  }
  function rule(n,   i, s) {
    if (!md) return
    s = "|"
    for (i = 1; i <= n; i++) s = s " --- |"
    print s
  }
  $5 == 0 && $7 == "" { next }          # skipped test
  {
    k = $2 SUBSEP $4
    if (!(k in seen)) { seen[k] = 1; keys[nk++] = k }
    mib[k] = $8 > 0
    rate[$1, k] = rate[$1, k] " " ($8 > 0 ? $8 : $7)
    p50[$1, k] = p50[$1, k] " " $9
    p99[$1, k] = p99[$1, k] " " $10
  }
  END {
    nl = split(labels, L, " ")
    # rates and ratios
    n = 0; c[++n] = "test"; c[++n] = "qd"; c[++n] = "unit"
    c[++n] = "reference"
    for (i = 2; i <= nl; i++) { c[++n] = L[i]; c[++n] = "ratio" }
    row(c, n); rule(n)
    for (j = 0; j < nk; j++) {
      k = keys[j]; split(k, tk, SUBSEP)
      n = 0; c[++n] = tk[1]; c[++n] = tk[2]
      c[++n] = mib[k] ? "MiB/s" : "ops/s"
      r = median(rate["reference", k]); c[++n] = r == "" ? "-" : sprintf("%.0f", r)
      for (i = 2; i <= nl; i++) {
        v = median(rate[L[i], k])
        c[++n] = v == "" ? "-" : sprintf("%.0f", v)
        c[++n] = (v == "" || r == "" || r == 0) ? "-" : sprintf("%.2f", v / r)
      }
      row(c, n)
    }
    print ""
    # latencies
    n = 0; c[++n] = "latency us"; c[++n] = "qd"
    for (i = 1; i <= nl; i++) { c[++n] = L[i] " p50"; c[++n] = L[i] " p99" }
    row(c, n); rule(n)
    for (j = 0; j < nk; j++) {
      k = keys[j]; split(k, tk, SUBSEP)
      n = 0; c[++n] = tk[1]; c[++n] = tk[2]
      for (i = 1; i <= nl; i++) {
        v = median(p50[L[i], k]); c[++n] = v == "" ? "-" : sprintf("%.1f", v)
        v = median(p99[L[i], k]); c[++n] = v == "" ? "-" : sprintf("%.1f", v)
      }
      row(c, n)
    }
  }' "$work/all.csv"
