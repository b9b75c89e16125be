#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# System calls per request of each daemon: every daemon runs under
# "strace -c -f" (all its processes and threads) while vfsd-bench sends a
# fixed count of requests of one test; each (daemon, test) runs twice, with
# COUNT and with 2 x COUNT requests, and the difference of the two
# summaries divided by COUNT is what one request costs -- start-up, FUSE
# setup and shutdown cancel out.
#
#   bench/syscalls.sh [-B BENCH] [-V VFSD] [-R C_VIRTIOFSD]
#                     [-U RUST_VIRTIOFSD] [-S PEERS] [-n COUNT]
#                     [-l LIMIT] [-k DIR] [-m]
#                     [vfsd-bench options: -T TESTS -d DEPTH -q QUEUES ...]
#
#   -S PEERS   comma list: c, rust, none (default c,rust); vfsd runs when
#              -V is given or build/src/vfsd exists
#   -n COUNT   requests in the first run of each test (default 5000)
#   -l LIMIT   leave out system calls below LIMIT per request for every
#              daemon (default 0.01)
#   -T TESTS   vfsd-bench tests, one at a time (default
#              getattr,lookup,read-4k,write-4k,read-1m,write-1m); the
#              mixed tests do not fit (their large requests are not
#              counted)
#   -k DIR     keep syscalls.csv (daemon,test,syscall,per_request) and
#              the strace summaries in DIR
#   -m         markdown tables
#
# The peers get -q 1, vfsd the -q given. strace slows every daemon down
# by an order of magnitude, so this counts, it does not time. Needs
# strace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bench=${VFSD_BENCH:-$root/build/bench/vfsd-bench}
vfsd=
cref=/usr/lib/qemu/virtiofsd
rust=${RUST_VIRTIOFSD:-}
peers=c,rust
count=5000
limit=0.01
keep=
md=0
die() { echo "syscalls.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	-B) bench=$2; shift 2 ;;
	-V) vfsd=$2; shift 2 ;;
	-R) cref=$2; shift 2 ;;
	-U) rust=$2; shift 2 ;;
	-S) peers=$2; shift 2 ;;
	-n) count=$2; shift 2 ;;
	-l) limit=$2; shift 2 ;;
	-k) keep=$2; shift 2 ;;
	-m) md=1; shift ;;
	-h | --help) sed -n '3,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
[[ "$count" =~ ^[1-9][0-9]*$ ]] || die "bad -n $count"
command -v strace >/dev/null || die "no strace (apt-get install strace)"
[ -x "$bench" ] || die "no vfsd-bench at $bench (ninja -C build bench/vfsd-bench)"
if [ -z "$vfsd" ] && [ -x "$root/build/src/vfsd" ]; then
	vfsd=$root/build/src/vfsd
fi

# -T and -q out of the vfsd-bench options
tests=getattr,lookup,read-4k,write-4k,read-1m,write-1m
vq=1
bopts=()
next=
for a in "$@"; do
	case $next in
	T) tests=$a; next=; continue ;;
	q) vq=$a; next=; continue ;;
	esac
	case $a in
	-T | --tests) next=T ;;
	--tests=*) tests=${a#--tests=} ;;
	-T*) tests=${a#-T} ;;
	-q | --queues) next=q ;;
	--queues=*) vq=${a#--queues=} ;;
	-q*) vq=${a#-q} ;;
	-n* | --count*) die "give the count with syscalls.sh's own -n, first" ;;
	*) bopts+=("$a") ;;
	esac
done

names=()
IFS=, read -r -a plist <<<"$peers"
for p in "${plist[@]}"; do
	case $p in
	c | C)
		[ -x "$cref" ] || die "no C daemon at $cref (or -S rust)"
		names+=(C) ;;
	rust | Rust)
		if [ -z "$rust" ]; then
			rust=$("$root/scripts/peers/rust-virtiofsd.sh" | sed -n 's/^RUST_VIRTIOFSD=//p') ||
				die "cannot fetch the Rust virtiofsd (-U PATH, or -S c)"
		fi
		names+=(Rust) ;;
	none | '') ;;
	*) die "bad peer $p in -S" ;;
	esac
done
if [ -n "$vfsd" ]; then
	[ -x "$vfsd" ] || die "no vfsd at $vfsd"
	names+=(vfsd)
fi
[ ${#names[@]} -gt 0 ] || die "no daemon to run"

tmp=$(mktemp -d /tmp/vfsd-syscalls.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/share"
: >"$tmp/syscalls.csv"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(strace -V | head -n 1)"
echo "# requests: $count and $((2 * count)) per (daemon, test); vfsd -q $vq, peers -q 1; other vfsd-bench options: ${bopts[*]}"

# one NAME TEST N: the strace summary of the daemon over N requests
one() {
	local name=$1 t=$2 n=$3 q=1 cmd sum=$tmp/$1-$2-$3.strace
	case $name in
	C) cmd=("$cref" '--socket-path={sock}' -o 'source={dir}' -o cache=auto) ;;
	Rust) cmd=("$rust" '--socket-path={sock}' --shared-dir '{dir}' --cache auto) ;;
	vfsd)
		q=$vq
		cmd=("$vfsd" --shared-dir '{dir}' --socket-path '{sock}' --cache auto) ;;
	esac
	"$bench" --csv --label "$name" --dir "$tmp/share" -T "$t" -n "$n" -q "$q" \
		${bopts[@]+"${bopts[@]}"} -- strace -f -c -o "$sum" -- "${cmd[@]}" \
		>"$tmp/run.out" 2>"$tmp/run.err" ||
		{ echo "syscalls.sh: $name $t -n $n failed:" >&2; tail -n 5 "$tmp/run.err" >&2; return 1; }
	# strace -c: "% time seconds usecs/call calls [errors] syscall";
	# calls is the fourth field, the name the last
	awk '$1 ~ /^[0-9.]+$/ && $NF != "total" && NF >= 5 { print $NF, $4 }' "$sum"
}

IFS=, read -r -a tlist <<<"$tests"
for t in "${tlist[@]}"; do
	for name in "${names[@]}"; do
		one "$name" "$t" "$count" >"$tmp/a" || continue
		one "$name" "$t" $((2 * count)) >"$tmp/b" || continue
		awk -v name="$name" -v t="$t" -v n="$count" '
			FNR == NR { a[$1] = $2; next }
			{ b[$1] = $2 }
			END {
				for (s in b) printf "%s,%s,%s,%.3f\n", name, t, s, (b[s] - a[s]) / n
				for (s in a) if (!(s in b)) printf "%s,%s,%s,%.3f\n", name, t, s, -a[s] / n
			}' "$tmp/a" "$tmp/b" >>"$tmp/syscalls.csv"
	done
done
if [ -n "$keep" ]; then
	mkdir -p "$keep"
	{ echo "daemon,test,syscall,per_request"; cat "$tmp/syscalls.csv"; } >"$keep/syscalls.csv"
	cp "$tmp"/*.strace "$keep/" 2>/dev/null || true
fi

# one table per test: a row per system call, a column per daemon
awk -F, -v names="${names[*]}" -v tests="${tlist[*]}" -v md="$md" -v limit="$limit" \
	-v w1=22 -v w=9 "$(cat "$here/table.awk")"'
	{
		v[$1, $2, $3] = $4; tot[$1, $2] += $4
		if (!(($2, $3) in seen)) { seen[$2, $3] = 1; sc[$2] = sc[$2] " " $3 }
		if ($4 > top[$2, $3]) top[$2, $3] = $4
	}
	END {
		nd = split(names, D, " "); nt = split(tests, T, " ")
		for (t = 1; t <= nt; t++) {
			if (t > 1) print ""
			n = 0; c[++n] = T[t] " /request"
			for (d = 1; d <= nd; d++) c[++n] = D[d]
			row(c, n); rule(n)
			ns = split(sc[T[t]], S, " ")
			# by the largest count first (insertion sort, ns is small)
			for (i = 2; i <= ns; i++)
				for (j = i; j > 1 && top[T[t], S[j - 1]] < top[T[t], S[j]]; j--) {
					x = S[j]; S[j] = S[j - 1]; S[j - 1] = x
				}
			for (i = 1; i <= ns; i++) {
				if (top[T[t], S[i]] < limit) continue
				n = 0; c[++n] = S[i]
				for (d = 1; d <= nd; d++) {
					x = v[D[d], T[t], S[i]]
					c[++n] = x == "" ? "-" : sprintf("%.2f", x)
				}
				row(c, n)
			}
			n = 0; c[++n] = "total"
			for (d = 1; d <= nd; d++)
				c[++n] = ((D[d], T[t]) in tot) ? sprintf("%.2f", tot[D[d], T[t]]) : "-"
			row(c, n)
		}
	}' "$tmp/syscalls.csv"
