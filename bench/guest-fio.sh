#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The daemon comparison of compare.sh, inside a guest, with fio: boot QEMU
# (TCG) with an initramfs holding Debian's fio against QEMU's reference
# virtiofsd and against vfsd (one boot per daemon and repeat, interleaved),
# run a short fio job set on the share (O_DIRECT, so every request reaches
# the daemon) and print fio's results side by side with the ratio
# vfsd/reference. TCG makes the absolute numbers slow; compare ratios.
#
#   bench/guest-fio.sh [-V VFSD] [-R VIRTIOFSD] [-P POLICIES] [-r REPEATS]
#                      [-t SEC] [-j JOBS_FILE] [-c CACHE] [-k KEEP_DIR] [-m]
#                      [-v]
#
#   -V VFSD      vfsd binary (default build/src/vfsd; "" to run only the
#                reference)
#   -P POLICIES  vfsd READ/WRITE offload policies, as in compare.sh:
#                default, all (0), inline (4294967295), or bytes
#   -r REPEATS   boots per daemon (default 1); tables show medians
#   -t SEC       seconds per fio job (default 4)
#   -j FILE      job list, one a line: NAME RW BS IOENGINE IODEPTH
#                (default: randread/randwrite 4k, seqread/seqwrite 1m at
#                depth 1 with psync, randread 4k at depth 16 with libaio)
#   -c CACHE     scripts/guest/prepare.sh cache (default build/guest-cache)
#   -k DIR       keep the serial logs, daemon logs and fio.csv in DIR
#   -m           markdown tables
#   -v           print each guest's check lines (fio's own terse lines
#                are in the serial logs that -k keeps)
#
# Needs root (the daemons switch credentials), qemu-system-x86_64 and fio
# on the host (its binary, libraries and loader are copied into the
# initramfs).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
vfsd=$root/build/src/vfsd
ref=/usr/lib/qemu/virtiofsd
policies=default
repeats=1
runtime=4
jobs_file=
cache=$root/build/guest-cache
keep=
md=0
verbose=0
while [[ $# -gt 0 ]]; do
	case $1 in
	-V) vfsd=$2; shift 2 ;;
	-R) ref=$2; shift 2 ;;
	-P) policies=$2; shift 2 ;;
	-r) repeats=$2; shift 2 ;;
	-t) runtime=$2; shift 2 ;;
	-j) jobs_file=$2; shift 2 ;;
	-c) cache=$2; shift 2 ;;
	-k) keep=$2; shift 2 ;;
	-m) md=1; shift ;;
	-v) verbose=1; shift ;;
	-h | --help) sed -n '3,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "guest-fio.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
die() {
	echo "guest-fio.sh: $*" >&2
	exit 1
}
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || die "bad -r $repeats"
[[ "$runtime" =~ ^[1-9][0-9]*$ ]] || die "bad -t $runtime"
[[ $(id -u) -eq 0 ]] || die "needs root"
[[ -x "$ref" ]] || die "no reference daemon at $ref"
[[ -z "$vfsd" || -x "$vfsd" ]] || die "no vfsd at $vfsd"
fio_bin=$(command -v fio) || die "fio is not installed on the host (package fio)"
command -v "${QEMU:-qemu-system-x86_64}" >/dev/null || die "no qemu-system-x86_64"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-guest-fio.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

# --- the initramfs: fio with its libraries and loader, the guest script
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
# name        rw         bs   ioengine iodepth
randread-4k   randread   4k   psync    1
randwrite-4k  randwrite  4k   psync    1
seqread-1m    read       1m   psync    1
seqwrite-1m   write      1m   psync    1
randread-4k-qd16 randread 4k  libaio   16
JOBS
fi
"$root/scripts/guest/prepare.sh" "$cache" >/dev/null
"$root/scripts/guest/mkinitramfs.sh" --cache "$cache" --payload "$p" \
	"$tmp/initramfs.gz" >/dev/null
echo "# initramfs with fio: $(($(stat -c %s "$tmp/initramfs.gz") >> 20)) MiB"

# --- the share: the file every job works on
share=$tmp/share
mkdir -p "$share"
head -c 64M /dev/urandom >"$share/fio.dat"

# policy -> "label value" (value "-" = leave the variable unset)
policy() {
	case $1 in
	default) echo "vfsd -" ;;
	all) echo "vfsd-all 0" ;;
	inline) echo "vfsd-inline 4294967295" ;;
	'' | *[!0-9]*) die "bad policy $1" ;;
	*) echo "vfsd-$1 $1" ;;
	esac
}
labels=(reference)
declare -A polval
if [[ -n "$vfsd" ]]; then
	IFS=, read -r -a pols <<<"$policies"
	for x in "${pols[@]}"; do
		read -r l v <<<"$(policy "$x")"
		[[ -n "$l" ]] || exit 2
		labels+=("$l")
		polval[$l]=$v
	done
fi

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# guest: QEMU TCG, 2 vCPUs, 512 MiB; fio $("$fio_bin" --version), $runtime s per job, O_DIRECT; repeats: $repeats"
echo "# reference: $ref (thread pool: default)${vfsd:+; vfsd: $vfsd, policies: $policies}"

: >"$tmp/fio.csv"
for ((rep = 1; rep <= repeats; rep++)); do
	for l in "${labels[@]}"; do
		if [[ $l == reference ]]; then
			daemon=("$ref" --socket-path=@SOCK@ -o "source=$share" -o cache=auto)
		elif [[ ${polval[$l]} == - ]]; then
			daemon=(env -u VFSD_BENCH_OFFLOAD_IO_BYTES "$vfsd" --shared-dir "$share"
				--socket-path @SOCK@ --cache auto)
		else
			daemon=(env "VFSD_BENCH_OFFLOAD_IO_BYTES=${polval[$l]}" "$vfsd"
				--shared-dir "$share" --socket-path @SOCK@ --cache auto)
		fi
		log=$tmp/serial-$l-$rep.log
		rc=0
		"$root/scripts/guest/run.sh" --cache "$cache" \
			--initramfs "$tmp/initramfs.gz" --test fio-bench \
			--timeout $((120 + 12 * runtime)) --log "$log" \
			--daemon-log "$tmp/daemon-$l-$rep.log" \
			--daemon "${daemon[@]}" >"$tmp/run.out" 2>&1 || rc=$?
		if [[ $rc -ne 0 ]]; then
			echo "guest-fio.sh: $l (repeat $rep): run.sh failed (exit $rc):" >&2
			tail -n 15 "$tmp/run.out" >&2
		fi
		[[ $verbose -eq 1 && -f "$log" ]] &&
			tr -d '\r' <"$log" | grep -a -E '^(ok|not ok|#) ' |
			sed "s/^/$l| /"
		# terse v3: read bw KiB/s 7, iops 8, clat p50 24, p99 30;
		# write bw 48, iops 49, clat p50 65, p99 71 (percentiles
		# are "P%=usec")
		[[ -f "$log" ]] && tr -d '\r' <"$log" | grep -a '^VFSD-FIO ' |
			awk -v l="$l" -v rep="$rep" '{
				name = $2; line = $0; sub(/^VFSD-FIO [^ ]+ /, "", line)
				n = split(line, f, ";")
				w = f[49] > f[8]
				bw = w ? f[48] : f[7]; iops = w ? f[49] : f[8]
				p50 = w ? f[65] : f[24]; p99 = w ? f[71] : f[30]
				sub(/.*=/, "", p50); sub(/.*=/, "", p99)
				printf "%s,%s,%s,%.1f,%s,%s,%s\n", l, name, iops,
					bw / 1024, p50, p99, rep
			}' >>"$tmp/fio.csv"
	done
done
if [[ -n "$keep" ]]; then
	mkdir -p "$keep"
	{ echo "label,job,iops,mib_per_s,clat_p50_us,clat_p99_us,repeat"
		cat "$tmp/fio.csv"; } >"$keep/fio.csv"
	cp "$tmp"/serial-*.log "$tmp"/daemon-*.log "$keep/" 2>/dev/null || true
fi

awk -F, -v labels="${labels[*]}" -v md="$md" '
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		if (n == 0) return ""
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function row(c, n,   i, s) {
		if (md) {
			s = "|"
			for (i = 1; i <= n; i++) s = s " " c[i] " |"
		} else {
			s = sprintf("%-17s", c[1])
			for (i = 2; i <= n; i++) s = s sprintf(" %11s", c[i])
		}
		print s
	}
	function rule(n,   i, s) {
		if (!md) return
		s = "|"
		for (i = 1; i <= n; i++) s = s " --- |"
		print s
	}
	{
		if (!($2 in seen)) { seen[$2] = 1; jobs[nj++] = $2 }
		iops[$1, $2] = iops[$1, $2] " " $3
		mib[$1, $2] = mib[$1, $2] " " $4
		p50[$1, $2] = p50[$1, $2] " " $5
		p99[$1, $2] = p99[$1, $2] " " $6
	}
	END {
		nl = split(labels, L, " ")
		n = 0; c[++n] = "fio job"; c[++n] = "reference IOPS"
		c[++n] = "reference MiB/s"
		for (i = 2; i <= nl; i++) { c[++n] = L[i] " IOPS"; c[++n] = "ratio" }
		row(c, n); rule(n)
		for (j = 0; j < nj; j++) {
			k = jobs[j]; n = 0; c[++n] = k
			r = median(iops["reference", k])
			c[++n] = r == "" ? "-" : r
			v = median(mib["reference", k]); c[++n] = v == "" ? "-" : v
			for (i = 2; i <= nl; i++) {
				v = median(iops[L[i], k]); c[++n] = v == "" ? "-" : v
				c[++n] = (v == "" || r == "" || r == 0) ? "-" : sprintf("%.2f", v / r)
			}
			row(c, n)
		}
		print ""
		n = 0; c[++n] = "clat us"
		for (i = 1; i <= nl; i++) { c[++n] = L[i] " p50"; c[++n] = L[i] " p99" }
		row(c, n); rule(n)
		for (j = 0; j < nj; j++) {
			k = jobs[j]; n = 0; c[++n] = k
			for (i = 1; i <= nl; i++) {
				v = median(p50[L[i], k]); c[++n] = v == "" ? "-" : v
				v = median(p99[L[i], k]); c[++n] = v == "" ? "-" : v
			}
			row(c, n)
		}
	}' "$tmp/fio.csv"
