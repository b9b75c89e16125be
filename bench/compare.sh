#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run vfsd-bench against both peers -- QEMU's C virtiofsd and the Rust
# virtiofsd 1.13 -- and vfsd, one after the other on the same shared
# directory in the same run, and print each row side by side with the
# ratios vfsd/C and vfsd/Rust (>1: vfsd does more ops/s or MiB/s), the
# p50/p99 latencies (us) of every daemon, and the daemon CPU time per
# request (utime+stime of the daemon's whole process tree over the test).
#
#   bench/compare.sh [-B BENCH] [-R C_VIRTIOFSD] [-U RUST_VIRTIOFSD]
#                    [-V VFSD] [-S PEERS] [-P POLICIES] [-Q "QUEUES..."]
#                    [-r REPEATS] [-D "DEPTH..."] [-c CPUS] [-k KEEP_DIR]
#                    [-I SEC] [-m]
#                    [vfsd-bench options: -q QUEUES -t SEC -T TESTS -K N ...]
#
#   -S PEERS     comma list of the peers to run: c, rust, or none
#                (default c,rust)
#   -R PATH      the C daemon (default /usr/lib/qemu/virtiofsd)
#   -U PATH      the Rust daemon (default $RUST_VIRTIOFSD, else what
#                scripts/peers/rust-virtiofsd.sh fetches: Debian 13's 1.13)
#   -P POLICIES  comma list of vfsd READ/WRITE offload policies, each run as
#                a daemon of its own: default (unset: 256 KiB+ offloaded
#                when the queue is busy), all (0: offload every
#                READ/WRITE), inline (4294967295: none), or a byte count
#                (always offloaded from that size);
#                set through VFSD_BENCH_OFFLOAD_IO_BYTES (default: default);
#                or LABEL:VAR=VALUE[:VAR=VALUE...], a variant run with
#                those VFSD_BENCH_* settings (e.g.
#                poll:VFSD_BENCH_POLL_MAX_NS=64000)
#   -Q QUEUES    run vfsd once per request-queue count, e.g. "1 2" (same
#                per-queue depth), and add a table of the ratios qN/q1;
#                without it vfsd gets the -q given (default 1)
#   -r REPEATS   run every daemon REPEATS times (interleaved: C, Rust, vfsd
#                policies, C, ...); the tables show medians and the ratio
#                of the medians (default 1)
#   -D DEPTHS    run each queue depth in turn (instead of giving -d)
#   -c CPUS      run vfsd-bench and the daemons under taskset -c CPUS (e.g.
#                0: one CPU, so that wakeups hand off on it and rows at
#                depth 1 stop flipping between ~3 us and ~50 us modes)
#   -I SEC       idle mode instead of the tests: each daemon set up and
#                left idle SEC seconds; its CPU ticks, run time and wakeups
#                meanwhile, and the latency of the first GETATTR after
#   -k DIR       keep all.csv (every run, with a repeat column) in DIR
#   -m           print markdown tables
#
# The peers offer one request queue each (GET_QUEUE_NUM: hiprio and one):
# they always run with -q 1 at the same depth; vfsd gets
# the -q given, or each of -Q. The C daemon keeps its default (inline, no
# thread pool: with a pool it dies of its own seccomp filter here), the
# Rust one its defaults too (--thread-pool-size 0, namespace sandbox).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bench=${VFSD_BENCH:-}
cref=/usr/lib/qemu/virtiofsd
rust=${RUST_VIRTIOFSD:-}
vfsd=
peers=c,rust
keep=
policies=default
qlist=
repeats=1
depths=
cpus=
idle=
md=0
while [ $# -gt 0 ]; do
  case $1 in
    -B) bench=$2; shift 2 ;;
    -R) cref=$2; shift 2 ;;
    -U) rust=$2; shift 2 ;;
    -V) vfsd=$2; shift 2 ;;
    -S) peers=$2; shift 2 ;;
    -P) policies=$2; shift 2 ;;
    -Q) qlist=$2; shift 2 ;;
    -r) repeats=$2; shift 2 ;;
    -D) depths=$2; shift 2 ;;
    -c) cpus=$2; shift 2 ;;
    -I) idle=$2; shift 2 ;;
    -k) keep=$2; shift 2 ;;
    -m) md=1; shift ;;
    -h|--help) sed -n '3,45p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    --) shift; break ;;
    *) break ;; # the rest goes to vfsd-bench
  esac
done
die() { echo "compare.sh: $*" >&2; exit 1; }
if [ -z "$bench" ]; then
  for c in "$here/../build/bench/vfsd-bench" "$here/vfsd-bench"; do
    [ -x "$c" ] && bench=$c && break
  done
fi
if [ -z "$bench" ] || [ ! -x "$bench" ]; then
  die "vfsd-bench not found (use -B or VFSD_BENCH)"
fi
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || die "bad -r $repeats"
[[ -z "$idle" || "$idle" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "bad -I $idle"

want_c=0
want_rust=0
IFS=, read -r -a plist <<<"$peers"
for p in "${plist[@]}"; do
  case $p in
    c|C) want_c=1 ;;
    rust|Rust) want_rust=1 ;;
    none|'') ;;
    *) die "bad peer $p in -S (c, rust or none)" ;;
  esac
done
if [ $want_c = 1 ] && [ ! -x "$cref" ]; then
  die "C daemon $cref missing (package qemu-system-common; or -S rust)"
fi
if [ $want_rust = 1 ] && [ -z "$rust" ]; then
  rust=$("$root/scripts/peers/rust-virtiofsd.sh" | sed -n 's/^RUST_VIRTIOFSD=//p') ||
    die "cannot fetch the Rust virtiofsd (give -U PATH, or -S c)"
fi
if [ $want_rust = 1 ] && [ ! -x "$rust" ]; then
  die "Rust daemon $rust missing (-U PATH, or -S c)"
fi

# vfsd-bench options without -q: the peers get -q 1, vfsd its own count
bopts=()
vq=1
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then vq=$a; skip=; continue; fi
  case $a in
    -q|--queues) skip=1 ;;
    --queues=*) vq=${a#--queues=} ;;
    -q*) vq=${a#-q} ;;
    *) bopts+=("$a") ;;
  esac
done
[[ "$vq" =~ ^[1-9][0-9]*$ ]] || die "bad -q $vq"

# policy -> "label settings": settings "-" (none) or VAR=VALUE[:VAR=VALUE]
# for the daemon's environment. LABEL:VAR=VALUE[:...] names a variant of
# any benchmark setting (e.g. poll:VFSD_BENCH_POLL_MAX_NS=64000).
policy() {
  case $1 in
    default) echo "vfsd -" ;;
    all) echo "vfsd-all VFSD_BENCH_OFFLOAD_IO_BYTES=0" ;;
    inline) echo "vfsd-inline VFSD_BENCH_OFFLOAD_IO_BYTES=4294967295" ;;
    *:VFSD_BENCH_*=*) echo "vfsd-${1%%:*} ${1#*:}" ;;
    *[!0-9]*|'') echo "compare.sh: bad policy $1" >&2; exit 2 ;;
    *) echo "vfsd-$1 VFSD_BENCH_OFFLOAD_IO_BYTES=$1" ;;
  esac
}
# The daemons, in run order: name, kind (c, rust, vfsd), offload value,
# request queues, and the policy label without the queue suffix.
names=()
kinds=()
vals=()
qs=()
bases=()
add() { names+=("$1"); kinds+=("$2"); vals+=("$3"); qs+=("$4"); bases+=("$5"); }
[ $want_c = 1 ] && add C c - 1 C
[ $want_rust = 1 ] && add Rust rust - 1 Rust
read -r -a qarr <<<"$qlist"
for n in ${qarr[@]+"${qarr[@]}"}; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "bad queue count $n in -Q"
done
if [ -n "$vfsd" ]; then
  [ -x "$vfsd" ] || die "no vfsd at $vfsd"
  IFS=, read -r -a pols <<<"$policies"
  for p in "${pols[@]}"; do
    read -r l v <<<"$(policy "$p")"
    [ -n "$l" ] || exit 2
    if [ ${#qarr[@]} -gt 0 ]; then
      for n in "${qarr[@]}"; do add "$l-q$n" vfsd "$v" "$n" "$l"; done
    else
      add "$l" vfsd "$v" "$vq" "$l"
    fi
  done
fi
[ ${#names[@]} -gt 0 ] || die "nothing to run (no peer and no -V)"

work=$(mktemp -d /tmp/vfsd-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/share"
: >"$work/all.csv"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs," \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
[ $want_c = 1 ] && echo "# C: $cref (thread pool: default), -q 1"
[ $want_rust = 1 ] &&
  echo "# Rust: $rust ($("$rust" --version 2>/dev/null | head -n 1); defaults), -q 1"
[ -n "$vfsd" ] && echo "# vfsd: $vfsd, offload policies: $policies," \
  "request queues: ${qlist:-$vq}"
echo "# vfsd-bench options: ${bopts[*]} ${depths:+(depths: $depths)}${idle:+(idle $idle s)}, repeats: $repeats"

pin=()
if [ -n "$cpus" ]; then
  command -v taskset >/dev/null || die "no taskset"
  pin=(taskset -c "$cpus")
  echo "# pinned: taskset -c $cpus"
fi

# run INDEX REPEAT DEPTH: one vfsd-bench invocation, rows into all.csv
run() {
  local i=$1 rep=$2 d=$3 out=$work/run.csv err=$work/run.err
  local name=${names[$1]} dopt=() mode=() cmd
  [ -n "$d" ] && dopt=(-d "$d")
  [ -n "$idle" ] && mode=(-I "$idle")
  case ${kinds[$i]} in
    c) cmd=("$cref" '--socket-path={sock}' -o 'source={dir}' -o cache=auto) ;;
    rust) cmd=("$rust" '--socket-path={sock}' --shared-dir '{dir}' --cache auto) ;;
    vfsd)
      cmd=(env -u VFSD_BENCH_OFFLOAD_IO_BYTES -u VFSD_BENCH_POLL_MAX_NS \
        -u VFSD_BENCH_NOTIFY_BATCH -u VFSD_BENCH_NO_PASSTHROUGH)
      if [ "${vals[$i]}" != - ]; then
        IFS=: read -r -a sets <<<"${vals[$i]}"
        cmd+=("${sets[@]}")
      fi
      cmd+=("$vfsd" --shared-dir '{dir}' --socket-path '{sock}' --cache auto) ;;
  esac
  "${pin[@]}" "$bench" --csv --label "$name" --dir "$work/share" \
    ${bopts[@]+"${bopts[@]}"} -q "${qs[$i]}" ${dopt[@]+"${dopt[@]}"} \
    ${mode[@]+"${mode[@]}"} -- "${cmd[@]}" >"$out" 2>"$err" ||
    { echo "compare.sh: $name run failed:" >&2; tail -5 "$err" >&2; }
  awk -v rep="$rep" 'NR > 1 { print $0 "," rep }' "$out" >>"$work/all.csv"
}

dlist=("")
[ -n "$depths" ] && read -r -a dlist <<<"$depths"
for ((rep = 1; rep <= repeats; rep++)); do
  for d in "${dlist[@]}"; do
    for i in "${!names[@]}"; do
      run "$i" "$rep" "$d"
    done
  done
done
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  if [ -n "$idle" ]; then
    h="label,test,queues,idle_s,daemon_ticks,daemon_run_us,daemon_wakeups,first_us,next_p50_us,repeat"
  else
    h="label,test,queues,depth,ops,seconds,ops_per_s,mib_per_s,p50_us,p99_us,daemon_cpu_s,cpu_us_per_op,repeat"
  fi
  { echo "$h"; cat "$work/all.csv"; } >"$keep/all.csv"
fi

# shared by both reports: medians and table rows
awk_lib="$(cat "$here/table.awk")"'
  BEGIN {
    nl = split(names, L, " "); split(kinds, K, " "); split(qs, Q, " ")
    split(bases, BS, " ")
    for (i = 1; i <= nl; i++)
      if (K[i] != "vfsd") peer[++np] = L[i]
  }'

if [ -n "$idle" ]; then
  awk -F, -v names="${names[*]}" -v kinds="${kinds[*]}" -v qs="${qs[*]}" \
    -v bases="${bases[*]}" -v md="$md" -v w1=19 -v w=11 "$awk_lib"'
    { for (f = 4; f <= 9; f++) v[$1, f] = v[$1, f] " " $f }
    END {
      n = 0; c[++n] = "idle"; c[++n] = "queues"; c[++n] = "seconds"
      c[++n] = "CPU ticks"; c[++n] = "on CPU us"; c[++n] = "wakeups"
      c[++n] = "first us"; c[++n] = "next p50 us"
      row(c, n); rule(n)
      for (i = 1; i <= nl; i++) {
        n = 0; c[++n] = L[i]; c[++n] = Q[i]
        c[++n] = fmt(median(v[L[i], 4]), "%.1f")
        c[++n] = fmt(median(v[L[i], 5]), "%d")
        c[++n] = fmt(median(v[L[i], 6]), "%.0f")
        c[++n] = fmt(median(v[L[i], 7]), "%d")
        c[++n] = fmt(median(v[L[i], 8]), "%.1f")
        c[++n] = fmt(median(v[L[i], 9]), "%.1f")
        row(c, n)
      }
    }' "$work/all.csv"
  exit 0
fi

awk -F, -v names="${names[*]}" -v kinds="${kinds[*]}" -v qs="${qs[*]}" \
  -v bases="${bases[*]}" -v qlist="$qlist" -v md="$md" -v w1=19 -v w=11 \
  "$awk_lib"'
  $5 == 0 && $7 == "" { next }          # skipped test
  {
    k = $2 SUBSEP $4
    if (!(k in seen)) { seen[k] = 1; keys[nk++] = k }
    mib[k] = $8 > 0
    rate[$1, k] = rate[$1, k] " " ($8 > 0 ? $8 : $7)
    p50[$1, k] = p50[$1, k] " " $9
    p99[$1, k] = p99[$1, k] " " $10
    if ($12 != "") cpu[$1, k] = cpu[$1, k] " " $12
  }
  END {
    # rates and ratios against each peer
    n = 0; c[++n] = "test"; c[++n] = "qd"; c[++n] = "unit"
    for (p = 1; p <= np; p++) c[++n] = peer[p]
    for (i = 1; i <= nl; i++) {
      if (K[i] != "vfsd") continue
      c[++n] = L[i]
      for (p = 1; p <= np; p++) c[++n] = L[i] "/" peer[p]
    }
    row(c, n); rule(n)
    for (j = 0; j < nk; j++) {
      k = keys[j]; split(k, tk, SUBSEP)
      n = 0; c[++n] = tk[1]; c[++n] = tk[2]
      c[++n] = mib[k] ? "MiB/s" : "ops/s"
      for (p = 1; p <= np; p++) c[++n] = fmt(median(rate[peer[p], k]), "%.0f")
      for (i = 1; i <= nl; i++) {
        if (K[i] != "vfsd") continue
        v = median(rate[L[i], k]); c[++n] = fmt(v, "%.0f")
        for (p = 1; p <= np; p++) c[++n] = ratio(v, median(rate[peer[p], k]))
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
        c[++n] = fmt(median(p50[L[i], k]), "%.1f")
        c[++n] = fmt(median(p99[L[i], k]), "%.1f")
      }
      row(c, n)
    }
    print ""
    # daemon CPU per request; ratios <1: vfsd spends less per request
    n = 0; c[++n] = "cpu us/request"; c[++n] = "qd"
    for (i = 1; i <= nl; i++) c[++n] = L[i]
    for (i = 1; i <= nl; i++) {
      if (K[i] != "vfsd") continue
      for (p = 1; p <= np; p++) c[++n] = L[i] "/" peer[p]
    }
    row(c, n); rule(n)
    for (j = 0; j < nk; j++) {
      k = keys[j]; split(k, tk, SUBSEP)
      n = 0; c[++n] = tk[1]; c[++n] = tk[2]
      for (i = 1; i <= nl; i++) c[++n] = fmt(median(cpu[L[i], k]), "%.2f")
      for (i = 1; i <= nl; i++) {
        if (K[i] != "vfsd") continue
        v = median(cpu[L[i], k])
        for (p = 1; p <= np; p++) c[++n] = ratio(v, median(cpu[peer[p], k]))
      }
      row(c, n)
    }
    # queue scaling: each vfsd policy at qN against itself at the first
    # count of -Q
    nq = split(qlist, QL, " ")
    if (nq < 2) exit
    print ""
    n = 0; c[++n] = "queues"; c[++n] = "qd/queue"
    for (i = 1; i <= nl; i++) {
      if (K[i] != "vfsd") continue
      c[++n] = L[i]
      if (Q[i] != QL[1]) c[++n] = BS[i] " q" Q[i] "/q" QL[1]
    }
    row(c, n); rule(n)
    for (j = 0; j < nk; j++) {
      k = keys[j]; split(k, tk, SUBSEP)
      n = 0; c[++n] = tk[1]; c[++n] = tk[2]
      for (i = 1; i <= nl; i++) {
        if (K[i] != "vfsd") continue
        v = median(rate[L[i], k]); c[++n] = fmt(v, "%.0f")
        if (Q[i] != QL[1])
          c[++n] = ratio(v, median(rate[BS[i] "-q" QL[1], k]))
      }
      row(c, n)
    }
  }' "$work/all.csv"
