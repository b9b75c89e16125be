#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Unprivileged use without a user namespace: as nobody, --sandbox none
# serves a frontend (with the seccomp filter, which needs no privilege),
# and asking for a chroot sandbox is one clear line and a non-zero exit.
# (The namespace sandbox, in a user namespace: test-userns.sh.)
#   tests/sandbox/test-unpriv.sh PATH/TO/vfsd PATH/TO/vhost-smoke
vfsd=${1:?usage: test-unpriv.sh PATH/TO/vfsd PATH/TO/vhost-smoke}
smoke=${2:?usage: test-unpriv.sh PATH/TO/vfsd PATH/TO/vhost-smoke}
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root to become nobody"
command -v setpriv >/dev/null || skip "no setpriv (package util-linux)"
vfsd=$(realpath "$vfsd")
smoke=$(realpath "$smoke")
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}
as_nobody test -x "$vfsd" || skip "nobody cannot run $vfsd"
mkdir "$tmp/share" "$tmp/run"
chown 65534:65534 "$tmp/share" "$tmp/run"

# 1. The whole smoke test, daemon and frontend as nobody.
for args in "--sandbox none" "--sandbox none --seccomp kill"; do
	# shellcheck disable=SC2086 # word splitting wanted
	if as_nobody "$smoke" -- "$vfsd" --shared-dir {dir} \
		--socket-path {sock} $args >"$tmp/smoke" 2>&1; then
		ok "nobody, $args: vhost smoke test passes"
	else
		bad "nobody, $args: vhost smoke test: $(tail -n3 "$tmp/smoke")"
	fi
done

# 2. Seen from outside: seccomp on, no capabilities, host namespaces.
rm -f "$tmp/run/u.sock"
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$vfsd" \
	--shared-dir "$tmp/share" --socket-path "$tmp/run/u.sock" --sandbox none --seccomp kill 2>"$tmp/log" &
pid=$!
if wait_for_socket "$tmp/run/u.sock" && sp=$(serving_pid "$pid"); then
	check "nobody: vfsd serves itself under seccomp" test "$sp" = "$pid"
	check "nobody: CapEff 0" test "$(status_field "$sp" CapEff)" = \
		0000000000000000
	check "nobody: host mount namespace" test \
		"$(readlink "/proc/$sp/ns/mnt")" = "$(readlink /proc/self/ns/mnt)"
	stop_vfsd
	check "nobody: SIGTERM, exit 0 ($rc)" test "$rc" -eq 0
else
	bad "nobody: vfsd did not start: $(cat "$tmp/log")"
fi

# 3. chroot needs root: one line naming the ways out, exit 1, nothing
# left.
rc=0
as_nobody "$vfsd" --shared-dir "$tmp/share" --socket-path "$tmp/run/n.sock" \
	--sandbox chroot >"$tmp/out" 2>"$tmp/err" || rc=$?
if [ "$rc" -ne 1 ]; then
	bad "nobody, --sandbox chroot: exit $rc, not 1"
elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
	bad "nobody, --sandbox chroot: $(wc -l <"$tmp/err") lines on stderr"
elif ! grep -q "needs root.*--sandbox namespace" "$tmp/err"; then
	bad "nobody, --sandbox chroot: $(cat "$tmp/err")"
else
	ok "nobody, --sandbox chroot: $(cat "$tmp/err")"
fi
check "nobody, --sandbox chroot: no socket left" test ! -e "$tmp/run/n.sock"
finish
