#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest-test tier, host side: boot a Debian kernel under QEMU (TCG) against
# a virtio-fs daemon and run tests/guest/check-*.sh inside the guest.
#
#   tests/guest/test-guest.sh vfsd [VFSD]    vfsd --shared-dir SHARE
#                                              --socket-path SOCK
#                                            (VFSD: path of the binary,
#                                             default $VFSD or build/vfsd)
#   tests/guest/test-guest.sh reference      /usr/lib/qemu/virtiofsd
#
# Environment: VFSD_GUEST_CACHE (kernel/busybox cache, default
# build/guest-cache), VFSD_GUEST_DIST (bookworm, the default: Debian 12's
# kernel 6.1; trixie: Debian 13's 6.12), VFSD_GUEST_TESTS (comma list of
# check-* scripts, default all), VFSD_GUEST_ARGS (more vfsd arguments,
# split on spaces), VFSD_GUEST_PAYLOAD (files put in the guest's /tests,
# split on spaces), VFSD_GUEST_TIMEOUT (seconds for QEMU, default 150),
# VFSD_GUEST_VERBOSE=1 (show the guest's console as it runs).
#
# Before boot it lays out the share: host/big.bin (64 MiB random) with its
# sha256 and md5, host/tree (a copy of a real directory tree of the host)
# with a manifest of checksums, a listing and a name/size/mode list. After
# QEMU exits it checks, on the host, what the guest left in guest/.
# Exit 0 on success, 77 (skip) if QEMU, the daemon or root is missing,
# 1 on failure. The last line is "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kind=${1:-}
REFERENCE=${VFSD_REFERENCE:-/usr/lib/qemu/virtiofsd}

skip() {
	echo "SKIP: $*"
	exit 77
}

case "$kind" in
vfsd)
	vfsd=${2:-${VFSD:-$root/build/vfsd}}
	[[ -x "$vfsd" ]] || skip "no vfsd binary at $vfsd"
	# Read all of it first: grep -q stopping early would end the
	# pipeline with EPIPE on vfsd's side (the ASan build writes slowly).
	help=$("$vfsd" --help 2>&1) || true
	grep -q -- '--socket-path' <<<"$help" ||
		skip "$vfsd has no --socket-path (not a vhost-user backend yet)"
	;;
reference)
	[[ -x "$REFERENCE" ]] || skip "no reference daemon at $REFERENCE (package qemu-system-common)"
	;;
*)
	echo "usage: test-guest.sh vfsd [VFSD] | reference" >&2
	exit 2
	;;
esac
command -v "${QEMU:-qemu-system-x86_64}" >/dev/null ||
	skip "qemu-system-x86_64 is missing (package qemu-system-x86)"
[[ $(id -u) -eq 0 ]] || skip "needs root (the daemons switch credentials; the guest chowns)"

cache=${VFSD_GUEST_CACHE:-$root/build/guest-cache}
tmp=
run_pid=
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	set +e
	if [[ -n "$run_pid" ]]; then
		# run.sh cleans up its QEMU and daemon when it is told to stop.
		kill -TERM "$run_pid" 2>/dev/null
		wait "$run_pid" 2>/dev/null
	fi
	if [[ -n "$tmp" ]]; then
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-test-guest.XXXXXX")
chmod 755 "$tmp"
share=$tmp/share
mkdir -p "$share/host" "$share/guest"

t0=$SECONDS
"$root/scripts/guest/prepare.sh" "$cache" >/dev/null
payload=()
if [[ -n "${VFSD_GUEST_PAYLOAD:-}" ]]; then
	mkdir "$tmp/payload"
	# shellcheck disable=SC2086 # a list of paths without spaces
	cp $VFSD_GUEST_PAYLOAD "$tmp/payload/"
	payload=(--payload "$tmp/payload")
fi
"$root/scripts/guest/mkinitramfs.sh" --cache "$cache" ${payload[@]+"${payload[@]}"} \
	"$tmp/initramfs.gz" >/dev/null

# --- the share, before boot
head -c 64M /dev/urandom >"$share/host/big.bin"
(cd "$share/host" && sha256sum big.bin >big.sha256 && md5sum big.bin >big.md5)
src=
for d in /usr/include/linux /usr/share/doc/bash /usr/share/perl5 /usr/share/doc; do
	if [[ -d "$d" ]] && [[ $(find "$d" -type f | head -n 50 | wc -l) -ge 50 ]]; then
		src=$d
		break
	fi
done
if [[ -n "$src" ]]; then
	cp -a "$src" "$share/host/tree"
else
	# No usable tree on this host: make one.
	for i in $(seq 1 20); do
		mkdir -p "$share/host/tree/d$i/sub"
		for j in $(seq 1 20); do
			head -c $((i * j * 37)) /dev/urandom >"$share/host/tree/d$i/sub/f$j"
		done
	done
fi
# A few shapes any tree should have: empty file, symlinks, odd names, modes.
t=$share/host/tree
: >"$t/empty file"
ln -s "empty file" "$t/link to empty"
ln -s ../nowhere "$t/dangling link"
mkdir -p "$t/deep/a/b/c/d/e"
echo deep >"$t/deep/a/b/c/d/e/leaf"
printf 'x' >"$t/mode-600" && chmod 600 "$t/mode-600"
printf 'y' >"$t/mode-755" && chmod 755 "$t/mode-755"
(
	cd "$t"
	export LC_ALL=C
	find . -type f -print0 | sort -z | xargs -0 sha256sum >../tree.sha256
	find . | sort >../tree.list
	find . ! -type d -exec stat -c '%n %s %a' {} + | sort >../tree.stat
)
echo "# share ready: 64 MiB file, tree from ${src:-generated} ($(wc -l <"$share/host/tree.list") entries), $((SECONDS - t0)) s"

# --- boot
if [[ "$kind" == vfsd ]]; then
	read -r -a extra <<<"${VFSD_GUEST_ARGS:-}"
	daemon=("$vfsd" --shared-dir "$share" --socket-path @SOCK@ ${extra[@]+"${extra[@]}"})
else
	daemon=("$REFERENCE" --socket-path=@SOCK@ -o "source=$share" -o cache=auto)
fi
run_opts=(--cache "$cache" --initramfs "$tmp/initramfs.gz" --daemon-exit 0
	--daemon-log "$tmp/daemon.log")
[[ -n "${VFSD_GUEST_TESTS:-}" ]] && run_opts+=(--test "$VFSD_GUEST_TESTS")
[[ "${VFSD_GUEST_VERBOSE:-0}" == 1 ]] && run_opts+=(--verbose)
t1=$SECONDS
run_rc=0
"$root/scripts/guest/run.sh" "${run_opts[@]}" --log "$tmp/serial.log" \
	--daemon "${daemon[@]}" &
run_pid=$!
wait "$run_pid" || run_rc=$?
run_pid=
echo "# guest run: $((SECONDS - t1)) s, exit $run_rc"
tr -d '\r' <"$tmp/serial.log" | grep -a -E '^(ok|not ok|#) ' >"$tmp/tap" || true
# The guest's own lines (its checks with their times), kernel lines aside.
tr -d '\r' <"$tmp/serial.log" | grep -a -v -E '^\[ *[0-9]+\.[0-9]+\]' |
	sed 's/^/guest| /' || true
g_pass=$(grep -c '^ok ' "$tmp/tap" || true)
g_fail=$(grep -c '^not ok ' "$tmp/tap" || true)
echo "# guest checks: $g_pass passed, $g_fail failed"

# --- host-side checks of what the guest left
h_pass=0
h_fail=0
hcheck() {
	local desc=$1
	shift
	if "$@" >"$tmp/hcheck.out" 2>&1; then
		h_pass=$((h_pass + 1))
		echo "ok - host: $desc"
	else
		h_fail=$((h_fail + 1))
		echo "not ok - host: $desc"
		head -n 20 "$tmp/hcheck.out" | sed 's/^/#   /'
	fi
}
heq() {
	hcheck "$1" test "$2" = "$3"
	[[ "$2" == "$3" ]] || echo "#   want '$2', got '$3'"
}
hstat() {
	stat -c "$1" "$2" 2>/dev/null || echo "(missing $2)"
}
g=$share/guest
run_tests=${VFSD_GUEST_TESTS:-check-10-data,check-20-meta,check-30-tree,check-90-remount,check-95-reset}
if [[ ",$run_tests," == *,check-10-data,* ]]; then
	hcheck "guest big.bin matches the sum the guest took while writing" \
		sh -c "cd '$g' && sha256sum -c --quiet big.sha256"
	hcheck "guest copy of big.bin is identical" cmp "$share/host/big.bin" "$g/big-copy.bin"
	hcheck "unaligned writes landed as in the guest's reference" cmp "$g/patch.expected" "$g/patch.bin"
	heq "empty file is empty" 0 "$(hstat %s "$g/empty")"
fi
if [[ ",$run_tests," == *,check-20-meta,* ]]; then
	m=$g/meta
	heq "renamed file" c "$(cat "$m/f2" 2>&1)"
	hcheck "old names gone" sh -c "! test -e '$m/f1' && ! test -e '$m/f3' && ! test -e '$m/d2' && ! test -e '$m/d1'"
	heq "hard links: nlink 2" 2 "$(hstat %h "$m/h1")"
	heq "hard links: one inode" "$(hstat %i "$m/h1")" "$(hstat %i "$m/d3/h3")"
	heq "symlink target" h1 "$(readlink "$m/s1")"
	heq "dangling symlink target" does-not-exist "$(readlink "$m/dangling")"
	heq "mode 640" 640 "$(hstat %a "$m/p")"
	heq "owner 1000:1000" 1000:1000 "$(hstat %u:%g "$m/p")"
	heq "set-user-ID mode" 4755 "$(hstat %a "$m/suid")"
	heq "set-group-ID inheritance" 1000 "$(hstat %g "$m/sg/f")"
	heq "mtime set in the guest" 1577934245 "$(hstat %Y "$m/t")"
	heq "file made by the unprivileged user is its own" 1000:1000 "$(hstat %u:%g "$m/user/mine")"
	heq "private directory of the unprivileged user" 700:1000 "$(hstat %a:%u "$m/user/private")"
	heq "the unprivileged user changed nothing" ro "$(cat "$m/rofile" 2>&1)"
	hcheck "the unprivileged user created nothing in root's directory" test ! -e "$m/by-tester"
	heq "many files: 1000 left" 1000 "$(find "$g/many" -type f | wc -l)"
	hcheck "many files: the even ones, with their contents" sh -c "
		for i in \$(seq 2 2 2000); do
			[ \"\$(cat '$g/many/f'\$i)\" = \"file \$i\" ] || exit 1
		done"
fi
if [[ ",$run_tests," == *,check-30-tree,* ]]; then
	hcheck "guest's cp -a of the tree equals the original" \
		diff -r --no-dereference "$share/host/tree" "$g/tree-copy"
	hcheck "tree copy: names, sizes and modes" sh -c "
		cd '$g/tree-copy' && find . ! -type d -exec stat -c '%n %s %a' {} + |
			LC_ALL=C sort | cmp - ../../host/tree.stat"
fi
if [[ ",$run_tests," == *,check-50-mmap,* ]]; then
	heq "the write through the guest's shared mapping is on the host" \
		"written through a shared mapping" "$(head -c 32 "$g/mapped" 2>&1)"
fi
if [[ "$kind" == vfsd && " ${VFSD_GUEST_ARGS:-} " == *" --security-label "* ]]; then
	# The flags of the guest's INIT as vfsd granted them: bit 32 is
	# FUSE_SECURITY_CTX, so every create above carried the context header.
	f=$(sed -n 's/.*fuse: INIT 7\.\([0-9]*\): flags \(0x[0-9a-f]*\).*/\2/p' "$tmp/daemon.log" | head -n1)
	heq "the guest's client was granted FUSE_SECURITY_CTX (INIT flags $f)" 1 \
		"$(((${f:-0} >> 32) & 1))"
fi
if [[ ",$run_tests," == *,check-60-acl,* ]]; then
	heq "the guest's default ACL is on the host's directory" \
		"default:user:65534:rwx" "$(getfacl -cnp "$g/acl/dacl" 2>&1 | grep '^default:user:[0-9]')"
	heq "the mask the guest's chmod rewrote is on the host" "mask::r--" \
		"$(getfacl -cnp "$g/acl/masked" 2>&1 | grep '^mask')"
fi
if [[ ",$run_tests," == *,check-90-remount,* ]]; then
	heq "file written before the remount" persist "$(cat "$g/persist" 2>&1)"
	heq "file written after the remount" after-remount "$(cat "$g/after-remount" 2>&1)"
	hcheck "nothing written on the read-only mount" test ! -e "$g/ro-write"
fi
if [[ ",$run_tests," == *,check-95-reset,* ]]; then
	heq "file written after the device reset" after-reset "$(cat "$g/after-reset" 2>&1)"
fi
hcheck "host tree untouched by the guest" sh -c \
	"cd '$share/host/tree' && sha256sum -c --quiet ../tree.sha256"

passed=$((g_pass + h_pass))
failed=$((g_fail + h_fail))
[[ $run_rc -eq 0 ]] || failed=$((failed + 1))
echo "# $kind: total $((SECONDS - t0)) s"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
