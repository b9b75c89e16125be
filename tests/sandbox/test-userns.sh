#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# An unprivileged vfsd in the namespace sandbox: a user namespace of its
# own, its maps (the default, --uid-map/--gid-map written directly or by
# newuidmap/newgidmap), what the serving process is as seen from outside,
# who owns on the host what a guest creates through it, and one clear line
# where user namespaces are forbidden or a map is refused; --translate-uid
# and --translate-gid on top of a user namespace.
#   tests/sandbox/test-userns.sh PATH/TO/vfsd PATH/TO/sandbox-userns \
#       PATH/TO/vhost-smoke
vfsd=${1:?usage: test-userns.sh VFSD SANDBOX-USERNS VHOST-SMOKE}
client=${2:?usage: test-userns.sh VFSD SANDBOX-USERNS VHOST-SMOKE}
smoke=${3:?usage: test-userns.sh VFSD SANDBOX-USERNS VHOST-SMOKE}
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root to become another user"
command -v setpriv >/dev/null || skip "no setpriv (package util-linux)"
vfsd=$(realpath "$vfsd")
client=$(realpath "$client")
smoke=$(realpath "$smoke")
# The unprivileged user (no passwd entry: its id is neither root's nor the
# overflow id 65534 that unmapped owners show as), and a range of ids
# delegated to it for the newuidmap tests (see ids_ns).
U=64999
SUB=200000
getent passwd $U >/dev/null && skip "uid $U is taken on this host"
as_user() { setpriv --reuid=$U --regid=$U --clear-groups -- "$@"; }
as_user test -x "$vfsd" || skip "uid $U cannot run $vfsd"
# CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID SETGID SETUID MKNOD
# SETFCAP: the serving process's set, here counting in its namespace.
caps_base=00000000880000df

mkdir "$tmp/share" "$tmp/run" "$tmp/share-sub"
chown $U:$U "$tmp/share" "$tmp/run"
chown $SUB:$SUB "$tmp/share-sub"
sock=$tmp/run/u.sock

# newuidmap/newgidmap want the caller in /etc/passwd and its ranges in
# /etc/subuid and /etc/subgid: a private mount namespace gets copies with
# them, and the host's files stay untouched. A launcher (it execs).
cp /etc/passwd "$tmp/passwd"
cp /etc/group "$tmp/group"
echo "vfsd-test:x:$U:$U::/nonexistent:/usr/sbin/nologin" >>"$tmp/passwd"
echo "vfsd-test:x:$U:" >>"$tmp/group"
printf '%s:%s:1000\n' $U $SUB >"$tmp/subids"
ids_ns=(unshare -m sh -c 'for f in passwd group; do
		mount --bind "$0/$f" /etc/$f || exit 1; done &&
	mount --bind "$0/subids" /etc/subuid &&
	mount --bind "$0/subids" /etc/subgid && exec "$@"' "$tmp")
have_newidmap=false
command -v newuidmap >/dev/null && command -v newgidmap >/dev/null &&
	[ -f /etc/subuid ] && [ -f /etc/subgid ] && have_newidmap=true

# vfsd as $U serving $1 on $sock (through the command in the launcher
# array if any; it must exec), with the remaining arguments.
start_user_vfsd() {
	local share=$1
	shift
	rm -f "$sock"
	${launcher[@]+"${launcher[@]}"} setpriv --reuid=$U --regid=$U \
		--clear-groups -- "$vfsd" --shared-dir "$share" \
		--socket-path "$sock" "$@" 2>"$tmp/log" &
	pid=$!
	wait_for_socket "$sock"
}

# After the client disconnected: vfsd must end by itself, with 0.
reap_vfsd() {
	local what=$1
	for _ in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		bad "$what: vfsd still runs after the frontend left"
		kill -TERM "$pid"
	fi
	rc=0
	wait "$pid" || rc=$?
	pid=
	check "$what: exit 0 after the frontend left ($rc)" test "$rc" -eq 0
	check "$what: the socket is removed" test ! -e "$sock"
}

ns_differs() { [ "$(readlink "/proc/$1/ns/$2")" != "$(readlink "/proc/self/ns/$2")" ]; }
same_file() { [ "$(stat -L -c %d:%i "$1")" = "$(stat -L -c %d:%i "$2")" ]; }
# A uid_map or gid_map without its column padding: "0 65534 1;1 200000 999"
map_of() { awk '{ printf "%s%s %s %s", (NR > 1 ? ";" : ""), $1, $2, $3 }' "$1"; }
host_owner() { stat -c %u:%g "$1"; }
# The owner the daemon reported for NAME in the client's output.
reported() { awk -v n="$1" '$1 == "attr" && $2 == n { o = $3 ":" $4 } END { print o }' "$tmp/out"; }
refused() { awk -v n="$1" '$1 == "error" && $2 == n { e = $3 } END { print e }' "$tmp/out"; }

# 1. No map: the namespace sandbox by default, the user's ids as themselves.
start_user_vfsd "$tmp/share"
if sp=$(serving_pid "$pid"); then
	ok "default: serving process $sp runs under seccomp"
	check "default: it is a child of vfsd ($pid)" test "$sp" != "$pid"
	check "default: own user namespace" ns_differs "$sp" user
	check "default: the parent is in the same user namespace" test \
		"$(readlink "/proc/$pid/ns/user")" = "$(readlink "/proc/$sp/ns/user")"
	for ns in mnt pid net ipc; do
		check "default: own $ns namespace" ns_differs "$sp" "$ns"
	done
	check "default: uid_map '$(map_of "/proc/$sp/uid_map")'" \
		test "$(map_of "/proc/$sp/uid_map")" = "$U $U 1"
	check "default: gid_map '$(map_of "/proc/$sp/gid_map")'" \
		test "$(map_of "/proc/$sp/gid_map")" = "$U $U 1"
	check "default: setgroups denied in it" \
		test "$(cat "/proc/$sp/setgroups")" = deny
	check "default: runs as uid $U on the host" test \
		"$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' "/proc/$sp/status")" = "$U$U$U$U"
	check "default: CapEff $(status_field "$sp" CapEff) (namespace's)" \
		test "$(status_field "$sp" CapEff)" = "$caps_base"
	check "default: CapBnd $(status_field "$sp" CapBnd)" \
		test "$(status_field "$sp" CapBnd)" = "$caps_base"
	check "default: NoNewPrivs 1" test "$(status_field "$sp" NoNewPrivs)" = 1
	check "default: its root is the shared directory" \
		same_file "/proc/$sp/root" "$tmp/share"
else
	bad "default: no serving process under seccomp: $(cat "$tmp/log")"
fi
echo hi >"$tmp/share/rootfile" # owned by root: not mapped
"$client" "$sock" create:g1 lookup:rootfile chown:g1:0:0 >"$tmp/out" 2>&1 ||
	bad "default: client: $(cat "$tmp/out")"
check "default: g1 created as $(reported g1) in the namespace" \
	test "$(reported g1)" = "$U:$U"
check "default: g1 owned by $(host_owner "$tmp/share/g1") on the host" \
	test "$(host_owner "$tmp/share/g1")" = "$U:$U"
check "default: root's file shows the overflow id ($(reported rootfile))" \
	test "$(reported rootfile)" = "65534:65534"
check "default: chown to an unmapped id refused (errno $(refused g1))" \
	test "$(refused g1)" = 22
reap_vfsd default
rm -f "$tmp/share/rootfile"

# 2. --uid-map/--gid-map of the user's own id to 0: written directly.
start_user_vfsd "$tmp/share" --uid-map=:0:$U:1: --gid-map :0:$U:1:
if sp=$(serving_pid "$pid"); then
	check "own id as 0: uid_map '$(map_of "/proc/$sp/uid_map")'" \
		test "$(map_of "/proc/$sp/uid_map")" = "0 $U 1"
	check "own id as 0: gid_map '$(map_of "/proc/$sp/gid_map")'" \
		test "$(map_of "/proc/$sp/gid_map")" = "0 $U 1"
	check "own id as 0: uid $U on the host" \
		test "$(status_field "$sp" Uid)" = $U
else
	bad "own id as 0: no serving process under seccomp: $(cat "$tmp/log")"
fi
"$client" "$sock" create:g2 mknod:dev >"$tmp/out" 2>&1 ||
	bad "own id as 0: client: $(cat "$tmp/out")"
check "own id as 0: g2 created as $(reported g2) in the namespace" \
	test "$(reported g2)" = 0:0
check "own id as 0: g2 owned by $(host_owner "$tmp/share/g2") on the host" \
	test "$(host_owner "$tmp/share/g2")" = "$U:$U"
check "own id as 0: no device node, even as root there (errno $(refused dev))" \
	test "$(refused dev)" = 1 -a ! -e "$tmp/share/dev"
reap_vfsd "own id as 0"

# 3. Ranges through newuidmap/newgidmap: the user as 0, its subordinate
# ids from 1 (repeated options).
if $have_newidmap; then
	launcher=("${ids_ns[@]}")
	start_user_vfsd "$tmp/share" --uid-map :0:$U:1: \
		--uid-map :1:$SUB:999: --gid-map :0:$U:1: --gid-map :1:$SUB:999:
	launcher=()
	if sp=$(serving_pid "$pid"); then
		check "ranges: uid_map '$(map_of "/proc/$sp/uid_map")'" \
			test "$(map_of "/proc/$sp/uid_map")" = "0 $U 1;1 $SUB 999"
		check "ranges: gid_map '$(map_of "/proc/$sp/gid_map")'" \
			test "$(map_of "/proc/$sp/gid_map")" = "0 $U 1;1 $SUB 999"
	else
		bad "ranges: no serving process under seccomp: $(cat "$tmp/log")"
	fi
	echo hi >"$tmp/share/subfile"
	chown $((SUB + 9)):$((SUB + 19)) "$tmp/share/subfile"
	"$client" "$sock" create:g3 chown:g3:5:7 lookup:subfile \
		chown:subfile:1000:0 as:5:7 create:g5 >"$tmp/out" 2>&1 ||
		bad "ranges: client: $(cat "$tmp/out")"
	check "ranges: g3 given to 5:7 in the namespace ($(reported g3))" \
		test "$(reported g3)" = 5:7
	check "ranges: g3 owned by $(host_owner "$tmp/share/g3") on the host" \
		test "$(host_owner "$tmp/share/g3")" = "$((SUB + 4)):$((SUB + 6))"
	check "ranges: a subordinate owner shows as 10:20 ($(reported subfile))" \
		grep -q '^attr subfile 10 20$' "$tmp/out"
	check "ranges: chown past the map refused (errno $(refused subfile))" \
		test "$(refused subfile)" = 22
	check "ranges: subfile still $(host_owner "$tmp/share/subfile")" \
		test "$(host_owner "$tmp/share/subfile")" = "$((SUB + 9)):$((SUB + 19))"
	# Requests act as the daemon's id in the namespace, whoever sends
	# them: the passthrough takes requesters' ids only when started as
	# root (docs/SECURITY.md, "Not yet in place").
	check "ranges: a request by 5:7 creates as 5:7 ($(reported g5))" \
		test "$(reported g5)" = 5:7
	check "ranges: ... so g5 is $(host_owner "$tmp/share/g5") on the host" \
		test "$(host_owner "$tmp/share/g5")" = "$((SUB + 4)):$((SUB + 6))"
	reap_vfsd ranges

	# --translate-* on top of a user namespace: the guest's 100:100 is
	# the namespace's 5:7 (subordinate ids on the host), both ways.
	launcher=("${ids_ns[@]}")
	start_user_vfsd "$tmp/share" --uid-map :0:$U:1: \
		--uid-map :1:$SUB:999: --gid-map :0:$U:1: --gid-map :1:$SUB:999: \
		--translate-uid map:100:5:1 --translate-gid map:100:7:1
	launcher=()
	"$client" "$sock" as:100:100 create:g6 >"$tmp/out" 2>&1 ||
		bad "translate in userns: client: $(cat "$tmp/out")"
	check "translate in userns: g6 shows as the guest's 100:100 ($(reported g6))" \
		test "$(reported g6)" = 100:100
	check "translate in userns: g6 is $(host_owner "$tmp/share/g6") on the host" \
		test "$(host_owner "$tmp/share/g6")" = "$((SUB + 4)):$((SUB + 6))"
	reap_vfsd "translate in userns"

	# Only subordinate ids: the daemon serves as their 0.
	launcher=("${ids_ns[@]}")
	start_user_vfsd "$tmp/share-sub" --uid-map :0:$SUB:1000: \
		--gid-map :0:$SUB:1000:
	launcher=()
	if sp=$(serving_pid "$pid"); then
		check "subordinate only: serves as uid $SUB on the host" \
			test "$(status_field "$sp" Uid)" = $SUB
	else
		bad "subordinate only: no serving process: $(cat "$tmp/log")"
	fi
	"$client" "$sock" create:g4 >"$tmp/out" 2>&1 ||
		bad "subordinate only: client: $(cat "$tmp/out")"
	check "subordinate only: g4 created as $(reported g4)" \
		test "$(reported g4)" = 0:0
	check "subordinate only: g4 owned by $(host_owner "$tmp/share-sub/g4")" \
		test "$(host_owner "$tmp/share-sub/g4")" = "$SUB:$SUB"
	reap_vfsd "subordinate only"
else
	bad "no newuidmap/newgidmap (package uidmap) or /etc/subuid, /etc/subgid: ranges not tested"
fi

# 4. The vhost smoke test, daemon and frontend as the user, sandbox by
# default and with a map.
for args in "" "--uid-map=:0:$U:1: --gid-map=:0:$U:1:" \
	"--translate-uid=map:0:$U:1 --translate-gid=map:0:$U:1"; do
	# shellcheck disable=SC2086 # word splitting wanted
	if as_user "$smoke" -- "$vfsd" --shared-dir '{dir}' --socket-path '{sock}' \
		$args >"$tmp/smoke" 2>&1; then
		ok "smoke test as uid $U, namespace sandbox ${args:-by default}"
	else
		bad "smoke ${args:-default}: $(grep -v '^ok' "$tmp/smoke" | head -n3)"
	fi
done

# 5. Refusals: one line on stderr, exit 1, no socket left.
one_line() {
	local desc=$1 needle=$2
	shift 2
	rm -f "$sock"
	rc=0
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne 1 ]; then
		bad "$desc: exit $rc, not 1 ($(head -n3 "$tmp/err"))"
	elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
		bad "$desc: $(wc -l <"$tmp/err") lines on stderr: $(cat "$tmp/err")"
	elif ! grep -qF -- "$needle" "$tmp/err"; then
		bad "$desc: no '$needle' in: $(cat "$tmp/err")"
	else
		ok "$desc: $(cat "$tmp/err")"
	fi
	check "$desc: no socket left" test ! -e "$sock"
}
user_vfsd() {
	as_user "$vfsd" --shared-dir "$tmp/share" --socket-path "$sock" "$@"
}
one_line "a range not delegated" "refused: newuidmap" \
	"${ids_ns[@]}" setpriv --reuid=$U --regid=$U --clear-groups -- \
	"$vfsd" --shared-dir "$tmp/share" --socket-path "$sock" \
	--uid-map=:0:$((SUB + 5000)):10:
one_line "no newuidmap to run" "needs newuidmap(1)" \
	as_user env PATH=/nonexistent "$vfsd" --shared-dir "$tmp/share" \
	--socket-path "$sock" --uid-map=:0:$SUB:10:
one_line "--uid-map with --sandbox none" "need --sandbox namespace" \
	user_vfsd --sandbox none --uid-map=:0:$U:1:
one_line "--gid-map as root" "not root" "$vfsd" --shared-dir "$tmp/share" \
	--socket-path "$sock" --gid-map=:0:0:1:

# A user namespace whose own limit of user namespaces is 0: vfsd started in
# it (as $U) may create none, which nothing outside it notices.
no_userns() {
	local fifo=$tmp/go p r=0 m="0 0 1"$'\n'"$U $U 1"$'\n'
	rm -f "$fifo"
	mkfifo "$fifo"
	# The first shell runs before the maps exist (no capabilities); the
	# second, exec'd after, is root of the namespace.
	unshare -U sh -c 'read _ <"$0"; exec sh -c "$1" "$@"' "$fifo" \
		'echo 0 >/proc/sys/user/max_user_namespaces &&
		exec setpriv --reuid='$U' --regid='$U' --clear-groups -- "$@"' \
		"$@" &
	p=$!
	for _ in $(seq 100); do
		ns_differs "$p" user && break
		sleep 0.05
	done
	echo -n "$m" >"/proc/$p/uid_map"
	echo -n "$m" >"/proc/$p/gid_map"
	echo go >"$fifo"
	wait "$p" || r=$?
	return $r
}
host_limit=$(cat /proc/sys/user/max_user_namespaces)
one_line "user namespaces forbidden" "user.max_user_namespaces = 0" \
	no_userns "$vfsd" --shared-dir "$tmp/share" --socket-path "$sock"
check "... the message names the way out" grep -q -- "--sandbox none" "$tmp/err"
check "the host's limit is untouched ($host_limit)" \
	test "$(cat /proc/sys/user/max_user_namespaces)" = "$host_limit"
if no_userns "$smoke" -- "$vfsd" --shared-dir '{dir}' --socket-path '{sock}' \
	--sandbox none >"$tmp/smoke" 2>&1; then
	ok "there, --sandbox none serves (smoke test)"
else
	bad "there, --sandbox none: $(grep -v '^ok' "$tmp/smoke" | head -n3)"
fi
finish
