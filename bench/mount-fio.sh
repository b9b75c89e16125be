#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# fio on a vfsd host mount (--mount, the host kernel's FUSE client) against
# the same fio on the host directory itself, in the same run, interleaved:
# with FUSE passthrough (the default where the kernel offers it: regular
# files are read and written by the kernel through a backing file) and
# without it (VFSD_BENCH_NO_PASSTHROUGH=1: every READ and WRITE goes
# through vfsd). Prints each job's result per target and the ratios
# mount/native (1.00: as fast as the host directory).
#
#   bench/mount-fio.sh [-V VFSD] [-r REPEATS] [-t SEC] [-s SIZE] [-m]
#
#   -V VFSD     vfsd binary (default build/src/vfsd)
#   -r REPEATS  runs of each target, interleaved (default 3; medians)
#   -t SEC      seconds per job (default 5)
#   -s SIZE     file size per job (default 256M; it stays in the page
#               cache, so the numbers are the daemon's and the client's
#               cost, not the disk's)
#   -m          markdown table
#
# Needs root (mounting) and fio. The jobs use the page cache (no
# O_DIRECT: passthrough serves buffered I/O; O_DIRECT on a vfsd mount
# needs --allow-direct-io and is served by vfsd itself).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vfsd=$here/../build/src/vfsd
repeats=3
secs=5
size=256M
md=0
while getopts V:r:t:s:mh o; do
	case $o in
	V) vfsd=$OPTARG ;;
	r) repeats=$OPTARG ;;
	t) secs=$OPTARG ;;
	s) size=$OPTARG ;;
	m) md=1 ;;
	*) sed -n '3,22p' "$0" >&2; exit 2 ;;
	esac
done
die() { echo "mount-fio.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (it mounts)"
command -v fio >/dev/null || die "needs fio (apt-get install fio)"
[[ -x $vfsd ]] || die "no vfsd at $vfsd"
[[ $repeats =~ ^[1-9][0-9]*$ ]] || die "bad -r $repeats"

work=$(mktemp -d /tmp/vfsd-mount-fio.XXXXXX)
pid=
cleanup() {
	if mountpoint -q "$work/mnt" 2>/dev/null; then
		umount "$work/mnt" 2>/dev/null || umount -l "$work/mnt"
	fi
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/share" "$work/mnt"

# name rw bs ioengine iodepth
jobs=(
	"randread-4k randread 4k psync 1"
	"randwrite-4k randwrite 4k psync 1"
	"randread-4k-qd16 randread 4k libaio 16"
	"seqread-1m read 1m psync 1"
	"seqwrite-1m write 1m psync 1"
)

# target -> $dir, the directory fio runs in (mounting vfsd when needed)
start_target() {
	case $1 in
	native) dir=$work/share ;;
	passthrough | no-passthrough)
		local envs=()
		[[ $1 == no-passthrough ]] && envs=(VFSD_BENCH_NO_PASSTHROUGH=1)
		env ${envs[@]+"${envs[@]}"} "$vfsd" --shared-dir "$work/share" \
			--mount "$work/mnt" --cache auto </dev/null >/dev/null \
			2>"$work/vfsd.log" &
		pid=$!
		for _ in $(seq 100); do
			mountpoint -q "$work/mnt" && break
			sleep 0.05
		done
		mountpoint -q "$work/mnt" || die "vfsd did not mount: $(cat "$work/vfsd.log")"
		stat "$work/mnt" >/dev/null
		dir=$work/mnt
		;;
	esac
}
stop_target() {
	if [[ -n $pid ]]; then
		umount "$work/mnt"
		wait "$pid" || die "vfsd exited with $?"
		pid=
	fi
}

targets=(native passthrough no-passthrough)
: >"$work/rows"
for ((rep = 1; rep <= repeats; rep++)); do
	for t in "${targets[@]}"; do
		start_target "$t"
		for j in "${jobs[@]}"; do
			read -r name rw bs eng qd <<<"$j"
			out=$(fio --name="$name" --directory="$dir" --rw="$rw" --bs="$bs" \
				--ioengine="$eng" --iodepth="$qd" --size="$size" \
				--time_based --runtime="$secs" --ramp_time=1 \
				--invalidate=0 --output-format=terse --terse-version=3 \
				--filename="f-$name" 2>&1) || die "fio $name on $t: $out"
			# terse v3: 7 read bw KiB/s, 8 read IOPS, 48 write bw, 49 write IOPS
			iops=$(awk -F';' '{ print ($8 > 0 ? $8 : $49) }' <<<"$out" | tail -n 1)
			echo "$name $t $rep $iops" >>"$work/rows"
		done
		stop_target
	done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# vfsd: $vfsd; fio $(fio --version); $secs s per job, $size files, page cache; medians of $repeats (IOPS)"
if [[ $md == 1 ]]; then
	echo "| job | native | passthrough | ratio | no passthrough | ratio |"
	echo "| --- | --- | --- | --- | --- | --- |"
fi
for j in "${jobs[@]}"; do
	read -r name _ <<<"$j"
	n=$(awk -v j="$name" '$1 == j && $2 == "native" { print $4 }' "$work/rows" | median)
	p=$(awk -v j="$name" '$1 == j && $2 == "passthrough" { print $4 }' "$work/rows" | median)
	q=$(awk -v j="$name" '$1 == j && $2 == "no-passthrough" { print $4 }' "$work/rows" | median)
	rp=$(awk -v a="$p" -v b="$n" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	rq=$(awk -v a="$q" -v b="$n" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	if [[ $md == 1 ]]; then
		echo "| $name | $n | $p | $rp | $q | $rq |"
	else
		printf '%-18s native %9s  passthrough %9s (%s)  no-passthrough %9s (%s)\n' \
			"$name" "$n" "$p" "$rp" "$q" "$rq"
	fi
done
