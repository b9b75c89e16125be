#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The daemon comparison of compare.sh, inside a guest: boot QEMU (TCG) with
# an initramfs holding Debian's fio and a 10 000-file tree, against QEMU's
# C virtiofsd, the Rust virtiofsd and vfsd (one boot per daemon and repeat,
# interleaved), run fio jobs (O_DIRECT, so every request reaches the
# daemon) and timed metadata work (untar, find, rm -rf) on the share, and
# print the results side by side with the ratios vfsd/C and vfsd/Rust, and
# with each row the CPU time the daemon (its whole process tree) and the
# guest (the QEMU process) spent on it. TCG makes the absolute numbers
# slow; compare ratios.
#
#   bench/guest-fio.sh [-V VFSD] [-R C_VIRTIOFSD] [-U RUST_VIRTIOFSD]
#                      [-S PEERS] [-P POLICIES] [-Q "QUEUES..."]
#                      [-r REPEATS] [-t SEC] [-j JOBS_FILE] [-F FILES]
#                      [-K DIST] [-c CACHE] [-k KEEP_DIR] [-m] [-v]
#
#   -V VFSD      vfsd binary (default build/src/vfsd; "" to run only the
#                peers)
#   -S PEERS     comma list: c, rust, none (default c,rust); the peers get
#                one request queue
#   -R, -U       the C and the Rust daemon (default /usr/lib/qemu/virtiofsd;
#                $RUST_VIRTIOFSD or what scripts/peers/rust-virtiofsd.sh
#                fetches)
#   -P POLICIES  vfsd READ/WRITE offload policies, as in compare.sh:
#                default, all (0), inline (4294967295), or bytes; or
#                LABEL:VFSD_BENCH_VAR=VALUE[:...] for a variant
#   -Q QUEUES    request queues of vfsd's device (num-request-queues), one
#                boot per count (default 2; "1 2" adds the one-queue case)
#   -r REPEATS   boots per daemon (default 1); tables show medians
#   -t SEC       seconds per fio job (default 4)
#   -j FILE      job list, one a line: NAME RW BS IOENGINE IODEPTH [NUMJOBS]
#                (RW untar, find or rm: a metadata row; see the default
#                list below)
#   -F FILES     files in the metadata rows' tree, 100 a directory
#                (default 10000)
#   -K DIST      guest kernel: trixie (Debian 13's 6.12, the default:
#                virtio-fs built in, several request queues) or bookworm
#                (Debian 12's 6.1: one request queue)
#   -c CACHE     scripts/guest/prepare.sh cache (default
#                build/guest-cache-DIST)
#   -k DIR       keep the serial logs, daemon logs, CPU samples and
#                rows.csv in DIR
#   -m           markdown tables
#   -v           print each guest's check lines
#
# Needs root (the daemons switch credentials), qemu-system-x86_64, and fio
# on the host (its binary, the libraries ldd lists -- libaio among them --
# and the loader are copied into the initramfs).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
vfsd=$root/build/src/vfsd
cref=/usr/lib/qemu/virtiofsd
rust=${RUST_VIRTIOFSD:-}
peers=c,rust
policies=default
qlist=2
repeats=1
runtime=4
jobs_file=
nfiles=10000
dist=trixie
cache=
keep=
md=0
verbose=0
while [[ $# -gt 0 ]]; do
	case $1 in
	-V) vfsd=$2; shift 2 ;;
	-R) cref=$2; shift 2 ;;
	-U) rust=$2; shift 2 ;;
	-S) peers=$2; shift 2 ;;
	-P) policies=$2; shift 2 ;;
	-Q) qlist=$2; shift 2 ;;
	-r) repeats=$2; shift 2 ;;
	-t) runtime=$2; shift 2 ;;
	-j) jobs_file=$2; shift 2 ;;
	-F) nfiles=$2; shift 2 ;;
	-K) dist=$2; shift 2 ;;
	-c) cache=$2; shift 2 ;;
	-k) keep=$2; shift 2 ;;
	-m) md=1; shift ;;
	-v) verbose=1; shift ;;
	-h | --help) sed -n '3,46p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "guest-fio.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
die() {
	echo "guest-fio.sh: $*" >&2
	exit 1
}
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || die "bad -r $repeats"
[[ "$runtime" =~ ^[1-9][0-9]*$ ]] || die "bad -t $runtime"
[[ "$nfiles" =~ ^[1-9][0-9]*$ ]] || die "bad -F $nfiles"
[[ "$dist" == trixie || "$dist" == bookworm ]] || die "bad -K $dist (trixie or bookworm)"
[[ $(id -u) -eq 0 ]] || die "needs root"
[[ -z "$vfsd" || -x "$vfsd" ]] || die "no vfsd at $vfsd"
fio_bin=$(command -v fio) || die "fio is not installed on the host (package fio)"
command -v "${QEMU:-qemu-system-x86_64}" >/dev/null || die "no qemu-system-x86_64"
cache=${cache:-$root/build/guest-cache-$dist}
export VFSD_GUEST_DIST=$dist

# --- the daemons, in boot order: name, kind, offload value, queues, base
names=()
kinds=()
vals=()
qs=()
bases=()
add() { names+=("$1"); kinds+=("$2"); vals+=("$3"); qs+=("$4"); bases+=("$5"); }
IFS=, read -r -a plist <<<"$peers"
for x in "${plist[@]}"; do
	case $x in
	c | C)
		[[ -x "$cref" ]] || die "no C daemon at $cref (or -S rust)"
		add C c - 1 C ;;
	rust | Rust)
		if [[ -z "$rust" ]]; then
			rust=$("$root/scripts/peers/rust-virtiofsd.sh" | sed -n 's/^RUST_VIRTIOFSD=//p') ||
				die "cannot fetch the Rust virtiofsd (-U PATH, or -S c)"
		fi
		[[ -x "$rust" ]] || die "no Rust daemon at $rust"
		add Rust rust - 1 Rust ;;
	none | '') ;;
	*) die "bad peer $x in -S (c, rust or none)" ;;
	esac
done
policy() {
	case $1 in
	default) echo "vfsd -" ;;
	all) echo "vfsd-all VFSD_BENCH_OFFLOAD_IO_BYTES=0" ;;
	inline) echo "vfsd-inline VFSD_BENCH_OFFLOAD_IO_BYTES=4294967295" ;;
	*:VFSD_BENCH_*=*) echo "vfsd-${1%%:*} ${1#*:}" ;;
	'' | *[!0-9]*) die "bad policy $1" ;;
	*) echo "vfsd-$1 VFSD_BENCH_OFFLOAD_IO_BYTES=$1" ;;
	esac
}
read -r -a qarr <<<"$qlist"
[[ ${#qarr[@]} -gt 0 ]] || die "empty -Q"
for n in "${qarr[@]}"; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "bad queue count $n in -Q"
done
if [[ -n "$vfsd" ]]; then
	IFS=, read -r -a pols <<<"$policies"
	for x in "${pols[@]}"; do
		read -r l v <<<"$(policy "$x")"
		[[ -n "$l" ]] || exit 2
		for n in "${qarr[@]}"; do
			if [[ ${#qarr[@]} -gt 1 ]]; then
				add "$l-q$n" vfsd "$v" "$n" "$l"
			else
				add "$l" vfsd "$v" "$n" "$l"
			fi
		done
	done
fi
[[ ${#names[@]} -gt 0 ]] || die "nothing to run"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-guest-fio.XXXXXX")
run_pid=
mon_pid=
cleanup() {
	# run.sh ends QEMU and the daemon itself when it is told to stop
	[[ -n "$run_pid" ]] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	[[ -n "$mon_pid" ]] && kill "$mon_pid" 2>/dev/null && wait "$mon_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 755 "$tmp"

# --- the initramfs: fio with its libraries and loader, the tree, the
# guest script
p=$tmp/payload
mkdir -p "$p/fio/lib"
cp -L "$fio_bin" "$p/fio/fio"
loader=
while read -r lib; do
	case $lib in
	*/ld-linux*) loader=$lib ;;
	/*) cp -L "$lib" "$p/fio/lib/" ;;
	esac
done < <(ldd "$fio_bin" | awk '/=> \// { print $3; next } $1 ~ /^\// { print $1 }')
[[ -n "$loader" ]] || die "ldd names no loader for $fio_bin"
cp -L "$loader" "$p/fio/ld-linux-x86-64.so.2"
install -m 0755 "$root/scripts/guest/fio-bench.sh" "$p/fio-bench.sh"
echo "$runtime" >"$p/fio/runtime"
if [[ -n "$jobs_file" ]]; then
	cp "$jobs_file" "$p/fio/jobs"
else
	cat >"$p/fio/jobs" <<'JOBS'
# name             rw         bs   ioengine iodepth [numjobs]
randread-4k        randread   4k   psync    1
randwrite-4k       randwrite  4k   psync    1
randread-4k-qd16   randread   4k   libaio   16
randwrite-4k-qd16  randwrite  4k   libaio   16
randread-4k-2x8    randread   4k   libaio   8        2
seqread-1m         read       1m   psync    1
seqwrite-1m        write      1m   psync    1
untar              untar      -    -        -
find               find       -    -        -
rm-rf              rm         -    -        -
JOBS
fi
# the metadata rows' tree: NFILES small files, 100 a directory
t=$tmp/tree
mkdir -p "$t"
for ((i = 0; i < nfiles; i++)); do
	d=$t/d$((i / 100))
	((i % 100 == 0)) && mkdir "$d"
	printf 'file %d of the vfsd benchmark tree\n' "$i" >"$d/f$i"
done
tar -C "$t" --format=ustar --owner=0 --group=0 -cf "$p/fio/tree.tar" .
entries=$((nfiles + (nfiles + 99) / 100))
echo "$entries" >"$p/fio/tree.count"
rm -rf "$t"
nfio=$(grep -c -v -E '^[[:space:]]*(#|$)|[[:space:]](untar|find|rm)[[:space:]]' "$p/fio/jobs" || true)
nmeta=$(grep -c -E '^[^#]*[[:space:]](untar|find|rm)[[:space:]]' "$p/fio/jobs" || true)

"$root/scripts/guest/prepare.sh" "$cache" "$dist" >/dev/null
"$root/scripts/guest/mkinitramfs.sh" --cache "$cache" --payload "$p" \
	"$tmp/initramfs.gz" >/dev/null
echo "# initramfs with fio and the tree: $(($(stat -c %s "$tmp/initramfs.gz") >> 20)) MiB"

# --- the share: the file every fio job works on
share=$tmp/share
mkdir -p "$share"
head -c 64M /dev/urandom >"$share/fio.dat"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# guest: QEMU TCG, 2 vCPUs, 512 MiB, $(cat "$cache/kernel/package" 2>/dev/null || echo "$dist kernel");" \
	"fio $("$fio_bin" --version), $runtime s per job, O_DIRECT; tree: $nfiles files; repeats: $repeats"
for i in "${!names[@]}"; do
	case ${kinds[$i]} in
	c) echo "# C: $cref (defaults), 1 request queue" ;;
	rust) echo "# Rust: $rust ($("$rust" --version 2>/dev/null | head -n 1); defaults), 1 request queue" ;;
	vfsd) echo "# ${names[$i]}: $vfsd, policy ${vals[$i]/#-/default}, ${qs[$i]} request queue(s)" ;;
	esac
done

# tree_ticks PID: utime+stime of PID and all its descendants (children
# already reaped count through cutime+cstime), in clock ticks
tree_ticks() {
	local pids=("$1") i=0 sum=0 st c
	local -a f
	while ((i < ${#pids[@]})); do
		st=$(cat "/proc/${pids[$i]}/stat" 2>/dev/null) || { i=$((i + 1)); continue; }
		# after "(comm) ": field 3 is f[0], utime (14) f[11] ... cstime f[14]
		read -r -a f <<<"${st##*) }"
		sum=$((sum + f[11] + f[12] + f[13] + f[14]))
		# shellcheck disable=SC2013 # pids separated by spaces
		for c in $(cat /proc/"${pids[$i]}"/task/*/children 2>/dev/null); do
			pids+=("$c")
		done
		i=$((i + 1))
	done
	echo "$sum"
}

# monitor PIDFILE RUN_PID: wait for run.sh's pid file, then follow the
# serial console and, at every row's begin and end line, print
# "BEGIN|END NAME DAEMON_TICKS QEMU_TICKS"
monitor() {
	local pidf=$1 rpid=$2 dpid qpid serial line a b
	while [[ ! -s "$pidf" ]]; do
		kill -0 "$rpid" 2>/dev/null || return 0
		sleep 0.05
	done
	read -r dpid qpid serial <"$pidf"
	tail -n +1 -F --pid="$rpid" "$serial" 2>/dev/null | while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"VFSD-ROW-BEGIN "* | "VFSD-ROW-END "*)
			a=${line%% *}
			b=${line#* }
			echo "${a#VFSD-ROW-} $b $(tree_ticks "$dpid") $(tree_ticks "$qpid")"
			;;
		esac
	done
}

hz=$(getconf CLK_TCK)
timeout_s=$((120 + nfio * (runtime + 10) + nmeta * (30 + entries / 20)))
: >"$tmp/rows.csv"
for ((rep = 1; rep <= repeats; rep++)); do
	for i in "${!names[@]}"; do
		l=${names[$i]}
		case ${kinds[$i]} in
		c) daemon=("$cref" --socket-path=@SOCK@ -o "source=$share" -o cache=auto) ;;
		rust) daemon=("$rust" --socket-path=@SOCK@ --shared-dir "$share" --cache auto) ;;
		vfsd)
			daemon=(env -u VFSD_BENCH_OFFLOAD_IO_BYTES -u VFSD_BENCH_POLL_MAX_NS
				-u VFSD_BENCH_NOTIFY_BATCH)
			if [[ ${vals[$i]} != - ]]; then
				IFS=: read -r -a sets <<<"${vals[$i]}"
				daemon+=("${sets[@]}")
			fi
			daemon+=("$vfsd" --shared-dir "$share" --socket-path @SOCK@ --cache auto) ;;
		esac
		qopt=()
		[[ ${qs[$i]} -gt 1 ]] && qopt=(--queues "${qs[$i]}")
		rm -rf "$share/bench-tree" "$tmp/pids"
		log=$tmp/serial-$l-$rep.log
		cpu=$tmp/cpu-$l-$rep.txt
		"$root/scripts/guest/run.sh" --cache "$cache" \
			--initramfs "$tmp/initramfs.gz" --test fio-bench \
			--timeout "$timeout_s" --log "$log" --daemon-exit any \
			--daemon-log "$tmp/daemon-$l-$rep.log" --pid-file "$tmp/pids" \
			${qopt[@]+"${qopt[@]}"} --daemon "${daemon[@]}" >"$tmp/run.out" 2>&1 &
		run_pid=$!
		monitor "$tmp/pids" "$run_pid" >"$cpu" &
		mon_pid=$!
		rc=0
		wait "$run_pid" || rc=$?
		run_pid=
		wait "$mon_pid" || true
		mon_pid=
		if [[ $rc -ne 0 ]]; then
			echo "guest-fio.sh: $l (repeat $rep): run.sh failed (exit $rc):" >&2
			tail -n 15 "$tmp/run.out" >&2
		fi
		[[ $verbose -eq 1 && -f "$log" ]] &&
			tr -d '\r' <"$log" | grep -a -E '^(ok|not ok|#) ' |
			sed "s/^/$l| /"
		[[ -f "$log" ]] || continue
		# terse v3: read io KiB 6, bw KiB/s 7, iops 8, runtime ms 9,
		# clat p50 24, p99 30; write 47, 48, 49, 50, 65, 71
		# (percentiles are "P%=usec")
		tr -d '\r' <"$log" | grep -a -E '^VFSD-(FIO|META) ' |
			awk -v l="$l" -v rep="$rep" -v hz="$hz" -v cpu="$cpu" '
			BEGIN {
				while ((getline s < cpu) > 0) {
					split(s, c, " ")
					d[c[1], c[2]] = c[3]; g[c[1], c[2]] = c[4]
				}
			}
			function cpus(name) {
				if (!(("BEGIN", name) in d) || !(("END", name) in d))
					return ","
				return sprintf("%.2f,%.2f",
					(d["END", name] - d["BEGIN", name]) / hz,
					(g["END", name] - g["BEGIN", name]) / hz)
			}
			$1 == "VFSD-META" {
				# entries/s, seconds (guest clock), entries
				s = $3 / 100
				printf "%s,%s,meta,%.1f,,,,%.2f,%d,%s,%s\n", l, $2,
					(s > 0 ? $4 / s : 0), s, $4, cpus($2), rep
				next
			}
			{
				name = $2; line = $0; sub(/^VFSD-FIO [^ ]+ /, "", line)
				split(line, f, ";")
				w = f[49] > f[8]
				iops = w ? f[49] : f[8]; bw = w ? f[48] : f[7]
				ms = w ? f[50] : f[9]
				p50 = w ? f[65] : f[24]; p99 = w ? f[71] : f[30]
				sub(/.*=/, "", p50); sub(/.*=/, "", p99)
				printf "%s,%s,fio,%s,%.1f,%s,%s,%.2f,%d,%s,%s\n", l, name,
					iops, bw / 1024, p50, p99, ms / 1000,
					iops * ms / 1000, cpus(name), rep
			}' >>"$tmp/rows.csv"
	done
done
if [[ -n "$keep" ]]; then
	mkdir -p "$keep"
	{ echo "label,row,kind,rate,mib_per_s,clat_p50_us,clat_p99_us,seconds,ops,daemon_cpu_s,guest_cpu_s,repeat"
		cat "$tmp/rows.csv"; } >"$keep/rows.csv"
	cp "$tmp"/serial-*.log "$tmp"/daemon-*.log "$tmp"/cpu-*.txt "$keep/" 2>/dev/null || true
fi

awk -F, -v names="${names[*]}" -v kinds="${kinds[*]}" -v qs="${qs[*]}" \
	-v bases="${bases[*]}" -v qlist="$qlist" -v md="$md" -v w1=17 -v w=11 \
	"$(cat "$here/table.awk")"'
	BEGIN {
		nl = split(names, L, " "); split(kinds, K, " "); split(qs, Q, " ")
		split(bases, BS, " ")
		for (i = 1; i <= nl; i++)
			if (K[i] != "vfsd") peer[++np] = L[i]
	}
	{
		if (!($2 in seen)) { seen[$2] = 1; rows[nr++] = $2 }
		kind[$2] = $3
		rate[$1, $2] = rate[$1, $2] " " $4
		if ($6 != "") p50[$1, $2] = p50[$1, $2] " " $6
		if ($7 != "") p99[$1, $2] = p99[$1, $2] " " $7
		if ($10 != "" && $9 > 0) {
			dcpu[$1, $2] = dcpu[$1, $2] " " $10 * 1e6 / $9
			gcpu[$1, $2] = gcpu[$1, $2] " " $11 * 1e6 / $9
		}
	}
	END {
		n = 0; c[++n] = "row"; c[++n] = "unit"
		for (p = 1; p <= np; p++) c[++n] = peer[p]
		for (i = 1; i <= nl; i++) {
			if (K[i] != "vfsd") continue
			c[++n] = L[i]
			for (p = 1; p <= np; p++) c[++n] = L[i] "/" peer[p]
		}
		row(c, n); rule(n)
		for (j = 0; j < nr; j++) {
			k = rows[j]; n = 0; c[++n] = k
			c[++n] = kind[k] == "meta" ? "entries/s" : "IOPS"
			for (p = 1; p <= np; p++) c[++n] = fmt(median(rate[peer[p], k]), "%.0f")
			for (i = 1; i <= nl; i++) {
				if (K[i] != "vfsd") continue
				v = median(rate[L[i], k]); c[++n] = fmt(v, "%.0f")
				for (p = 1; p <= np; p++) c[++n] = ratio(v, median(rate[peer[p], k]))
			}
			row(c, n)
		}
		print ""
		n = 0; c[++n] = "clat us"
		for (i = 1; i <= nl; i++) { c[++n] = L[i] " p50"; c[++n] = L[i] " p99" }
		row(c, n); rule(n)
		for (j = 0; j < nr; j++) {
			k = rows[j]
			if (kind[k] == "meta") continue
			n = 0; c[++n] = k
			for (i = 1; i <= nl; i++) {
				c[++n] = fmt(median(p50[L[i], k]), "%.0f")
				c[++n] = fmt(median(p99[L[i], k]), "%.0f")
			}
			row(c, n)
		}
		print ""
		# CPU per I/O or per tree entry: the daemon (its process tree)
		# and the guest (the QEMU process), in microseconds
		n = 0; c[++n] = "cpu us/op"
		for (i = 1; i <= nl; i++) { c[++n] = L[i] " daemon"; c[++n] = L[i] " guest" }
		for (i = 1; i <= nl; i++) {
			if (K[i] != "vfsd") continue
			for (p = 1; p <= np; p++) c[++n] = L[i] "/" peer[p] " daemon"
		}
		row(c, n); rule(n)
		for (j = 0; j < nr; j++) {
			k = rows[j]; n = 0; c[++n] = k
			for (i = 1; i <= nl; i++) {
				c[++n] = fmt(median(dcpu[L[i], k]), "%.1f")
				c[++n] = fmt(median(gcpu[L[i], k]), "%.1f")
			}
			for (i = 1; i <= nl; i++) {
				if (K[i] != "vfsd") continue
				v = median(dcpu[L[i], k])
				for (p = 1; p <= np; p++) c[++n] = ratio(v, median(dcpu[peer[p], k]))
			}
			row(c, n)
		}
		# queue scaling, when -Q gave several counts
		nq = split(qlist, QL, " ")
		if (nq < 2) exit
		print ""
		n = 0; c[++n] = "queues"
		for (i = 1; i <= nl; i++)
			if (K[i] == "vfsd" && Q[i] != QL[1])
				c[++n] = BS[i] " q" Q[i] "/q" QL[1]
		row(c, n); rule(n)
		for (j = 0; j < nr; j++) {
			k = rows[j]; n = 0; c[++n] = k
			for (i = 1; i <= nl; i++)
				if (K[i] == "vfsd" && Q[i] != QL[1])
					c[++n] = ratio(median(rate[L[i], k]),
						median(rate[BS[i] "-q" QL[1], k]))
			row(c, n)
		}
	}' "$tmp/rows.csv"
