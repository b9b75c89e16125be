#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The confinement, seen from outside as an operator would check it: the
# serving process's seccomp mode, capabilities, namespaces and root.
#   tests/sandbox/test-confine.sh PATH/TO/vfsd
vfsd=${1:?usage: test-confine.sh PATH/TO/vfsd}
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, capabilities)"
mkdir "$tmp/share"
echo hello >"$tmp/share/hello.txt"

# CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID SETGID SETUID MKNOD
# SETFCAP: bits 0-4, 6, 7, 27, 31.
caps_base=00000000880000df
# --modcaps=+sys_admin:-mknod: bit 21 in, bit 27 out.
caps_mod=00000000802000df

same_file() { [ "$(stat -L -c %d:%i "$1")" = "$(stat -L -c %d:%i "$2")" ]; }
ns_differs() { [ "$(readlink "/proc/$1/ns/$2")" != "$(readlink "/proc/self/ns/$2")" ]; }
ns_same() { [ "$(readlink "/proc/$1/ns/$2")" = "$(readlink "/proc/self/ns/$2")" ]; }

# 1. --sandbox namespace --seccomp kill: a child in new namespaces serves.
start_vfsd --sandbox namespace --seccomp kill
if sp=$(serving_pid "$pid"); then
	ok "namespace: serving process $sp runs under seccomp (Seccomp: 2)"
	check "namespace: the serving process is a child of vfsd ($pid)" \
		test "$sp" != "$pid"
	check "namespace: CapEff $(status_field "$sp" CapEff)" \
		test "$(status_field "$sp" CapEff)" = "$caps_base"
	check "namespace: CapPrm = CapEff" \
		test "$(status_field "$sp" CapPrm)" = "$caps_base"
	check "namespace: CapBnd $(status_field "$sp" CapBnd)" \
		test "$(status_field "$sp" CapBnd)" = "$caps_base"
	check "namespace: NoNewPrivs: 1" \
		test "$(status_field "$sp" NoNewPrivs)" = 1
	for ns in mnt pid net ipc; do
		check "namespace: own $ns namespace" ns_differs "$sp" "$ns"
	done
	check "namespace: PID 1 of its pid namespace" \
		test "$(awk '$1 == "NSpid:" { print $NF }' "/proc/$sp/status")" = 1
	check "namespace: its root is the shared directory" \
		same_file "/proc/$sp/root" "$tmp/share"
	check "namespace: the share is all it sees at /" \
		test "$(ls "/proc/$sp/root")" = hello.txt
	check "namespace: no /proc at its root" test ! -e "/proc/$sp/root/proc"
	check "namespace: the waiting parent has no capability (CapEff $(status_field "$pid" CapEff))" \
		test "$(status_field "$pid" CapEff)" = 0000000000000000
	check "namespace: ... nor can regain one (CapBnd, CapPrm 0, NoNewPrivs 1)" \
		test "$(status_field "$pid" CapBnd)$(status_field "$pid" CapPrm)$(status_field "$pid" NoNewPrivs)" = 000000000000000000000000000000001
else
	bad "namespace: no serving process under seccomp"
fi
stop_vfsd
check "namespace: SIGTERM is passed on, exit 0 (got $rc)" test "$rc" -eq 0
check "namespace: the parent removed the socket" test ! -e "$tmp/s.sock"

# 2. --modcaps, in the C daemon's -o spelling too.
for spelling in --modcaps=+sys_admin:-mknod "-o modcaps=+sys_admin:-mknod"; do
	# shellcheck disable=SC2086 # the -o form is two words
	start_vfsd --sandbox namespace --seccomp kill $spelling
	if sp=$(serving_pid "$pid"); then
		check "$spelling: CapEff $(status_field "$sp" CapEff)" \
			test "$(status_field "$sp" CapEff)" = "$caps_mod"
	else
		bad "$spelling: no serving process under seccomp"
	fi
	stop_vfsd
done

# 3. --sandbox chroot: no fork, no namespaces, root is the share.
start_vfsd --sandbox chroot --seccomp kill
if sp=$(serving_pid "$pid"); then
	check "chroot: vfsd serves itself" test "$sp" = "$pid"
	check "chroot: CapEff $(status_field "$sp" CapEff)" \
		test "$(status_field "$sp" CapEff)" = "$caps_base"
	for ns in mnt pid net; do
		check "chroot: host's $ns namespace" ns_same "$sp" "$ns"
	done
	check "chroot: its root is the shared directory" \
		same_file "/proc/$sp/root" "$tmp/share"
else
	bad "chroot: no serving process under seccomp"
fi
stop_vfsd
check "chroot: SIGTERM, exit 0 (got $rc)" test "$rc" -eq 0

# 4. The open file limit: raised by default, or as asked.
start_vfsd --sandbox namespace --seccomp kill --rlimit-nofile 4321
if sp=$(serving_pid "$pid"); then
	check "--rlimit-nofile 4321" \
		grep -Eq '^Max open files +4321 +4321' "/proc/$sp/limits"
else
	bad "--rlimit-nofile: no serving process under seccomp"
fi
stop_vfsd
# Without CAP_SYS_RESOURCE (some containers) only up to the hard limit.
want=$(cat /proc/sys/fs/nr_open)
[ "$want" -gt 1000000 ] && want=1000000
(($((16#$(status_field self CapEff))) & (1 << 24))) || want=4096
launcher=(prlimit --nofile=1024:4096)
start_vfsd --sandbox namespace --seccomp kill
launcher=()
if sp=$(serving_pid "$pid"); then
	check "default open file limit raised to $want" \
		grep -Eq "^Max open files +$want " "/proc/$sp/limits"
else
	bad "default rlimit: no serving process under seccomp"
fi
stop_vfsd

# 5. What a launcher leaves open (libvirt leaves its pid file open in the
# daemon, to hold a lock on it): the waiting parent keeps it, the
# sandboxed child has closed it.
holds_file() {
	local f
	for f in "/proc/$1/fd"/*; do
		same_file "$f" "$2" 2>/dev/null && return 0
	done
	return 1
}
: >"$tmp/launcher.pid"
exec 7<>"$tmp/launcher.pid"
start_vfsd --sandbox namespace --seccomp kill
exec 7>&-
if sp=$(serving_pid "$pid"); then
	check "inherited fd: the parent still holds the launcher's file" \
		holds_file "$pid" "$tmp/launcher.pid"
	check "inherited fd: the sandboxed child does not" \
		sh -c "! ls -l /proc/$sp/fd | grep -qF '$tmp/launcher.pid'"
else
	bad "inherited fd: no serving process under seccomp"
fi
stop_vfsd
check "inherited fd: SIGTERM, exit 0 (got $rc)" test "$rc" -eq 0

# 6. Bad configuration: one line, non-zero exit.
one_line_error() {
	local desc=$1
	shift
	if "$@" >"$tmp/out" 2>"$tmp/err"; then
		bad "$desc: exited 0"
	elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
		bad "$desc: $(wc -l <"$tmp/err") lines on stderr"
	else
		ok "$desc ($(cat "$tmp/err"))"
	fi
}
one_line_error "unknown capability in --modcaps" "$vfsd" --shared-dir \
	"$tmp/share" --socket-path "$tmp/x.sock" --modcaps=+no_such_cap
one_line_error "bad --sandbox" "$vfsd" --shared-dir "$tmp/share" \
	--socket-path "$tmp/x.sock" --sandbox jail
one_line_error "bad --seccomp" "$vfsd" --shared-dir "$tmp/share" \
	--socket-path "$tmp/x.sock" --seccomp maybe
finish
