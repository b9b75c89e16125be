#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Profile one daemon under vfsd-bench with perf: vfsd-bench starts
# "perf record -- DAEMON ..." in place of the daemon, so the profile covers
# the daemon and every process and thread it makes (a namespace sandbox
# serves from a child), from start to exit; then print the top symbols.
#
#   bench/profile.sh [-B BENCH] [-V VFSD] [-R C_VIRTIOFSD] [-U RUST_VIRTIOFSD]
#                    [-e EVENT] [-g] [-n TOP] [-o OUT.data] [-a "ARGS"]
#                    c|rust|vfsd [vfsd-bench options: -T TEST -d DEPTH ...]
#
#   c|rust|vfsd  which daemon: QEMU's C virtiofsd, the Rust virtiofsd
#                (-U, $RUST_VIRTIOFSD or scripts/peers/rust-virtiofsd.sh),
#                or vfsd (-V, default build/src/vfsd); the peers get -q 1
#   -e EVENT     perf event (default: cycles if this machine counts them,
#                else cpu-clock, e.g. in a VM without a virtual PMU)
#   -g           record call graphs (--call-graph dwarf: the release build
#                has no frame pointers)
#   -n TOP       symbols to print (default 25)
#   -o FILE      keep perf.data here (default: a temporary file, removed)
#   -a ARGS      more daemon arguments, split on spaces
#
# Give vfsd-bench one test and a length, e.g. -T getattr -d 4 -t 5: the
# profile covers the whole run, setup included (a short fraction of a
# few-second test). Needs perf (Debian: apt-get install linux-perf) and
# root or kernel.perf_event_paranoid <= 1. The peers' binaries are stripped:
# their own functions show as addresses inside their DSO unless debug
# symbols are installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bench=${VFSD_BENCH:-$root/build/bench/vfsd-bench}
vfsd=$root/build/src/vfsd
cref=/usr/lib/qemu/virtiofsd
rust=${RUST_VIRTIOFSD:-}
event=
graph=()
top=25
out=
extra=
die() { echo "profile.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	-B) bench=$2; shift 2 ;;
	-V) vfsd=$2; shift 2 ;;
	-R) cref=$2; shift 2 ;;
	-U) rust=$2; shift 2 ;;
	-e) event=$2; shift 2 ;;
	-g) graph=(--call-graph dwarf); shift ;;
	-n) top=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-a) extra=$2; shift 2 ;;
	-h | --help) sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || die "which daemon: c, rust or vfsd (see --help)"
kind=$1
shift
command -v perf >/dev/null || die "no perf (Debian: apt-get install linux-perf)"
[ -x "$bench" ] || die "no vfsd-bench at $bench (ninja -C build bench/vfsd-bench)"
read -r -a xargs_ <<<"$extra"
case $kind in
c)
	[ -x "$cref" ] || die "no C daemon at $cref"
	cmd=("$cref" '--socket-path={sock}' -o 'source={dir}' -o cache=auto) ;;
rust)
	if [ -z "$rust" ]; then
		rust=$("$root/scripts/peers/rust-virtiofsd.sh" | sed -n 's/^RUST_VIRTIOFSD=//p') ||
			die "cannot fetch the Rust virtiofsd (give -U PATH)"
	fi
	cmd=("$rust" '--socket-path={sock}' --shared-dir '{dir}' --cache auto) ;;
vfsd)
	[ -x "$vfsd" ] || die "no vfsd at $vfsd"
	cmd=("$vfsd" --shared-dir '{dir}' --socket-path '{sock}' --cache auto) ;;
*) die "unknown daemon $kind (c, rust or vfsd)" ;;
esac
cmd+=(${xargs_[@]+"${xargs_[@]}"})
# the peers serve one request queue
bopts=()
if [ "$kind" != vfsd ]; then
	skip=
	for a in "$@"; do
		if [ -n "$skip" ]; then skip=; continue; fi
		case $a in
		-q | --queues) skip=1 ;;
		--queues=* | -q*) ;;
		*) bopts+=("$a") ;;
		esac
	done
	bopts+=(-q 1)
else
	bopts=("$@")
fi

if [ -z "$event" ]; then
	if perf stat -x, -e cycles true 2>&1 >/dev/null | grep -q '^[0-9]'; then
		event=cycles
	else
		event=cpu-clock
	fi
fi
tmp=$(mktemp -d /tmp/vfsd-profile.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
data=${out:-$tmp/perf.data}

echo "# $kind: ${cmd[0]}; perf $(perf --version | awk '{print $3}'), event $event${graph:+, call graphs}"
"$bench" --label "$kind" "${bopts[@]}" -- perf record -q -e "$event" \
	${graph[@]+"${graph[@]}"} -o "$data" -- "${cmd[@]}" 2>"$tmp/err" ||
	{ tail -n 5 "$tmp/err" >&2; die "the run failed"; }
[ -s "$data" ] || die "perf wrote no data (see $tmp/err)"
echo
echo "# by DSO, all of the daemon's processes and threads:"
perf report -i "$data" --stdio --no-children --sort dso \
	--percent-limit 0.5 2>/dev/null | grep -v -e '^#' -e '^$' | head -n 8
echo "# top $top symbols:"
perf report -i "$data" --stdio --no-children --sort dso,sym \
	--percent-limit 0.1 2>/dev/null | grep -v -e '^#' -e '^$' | head -n "$top"
[ -n "$out" ] && echo "# perf.data kept in $out (perf report -i $out)"
exit 0
