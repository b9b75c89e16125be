#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest tier, libvirt: an unmodified libvirtd (Debian 12's libvirt 9.0 and
# its QEMU) starts vfsd for a transient TCG domain, as it starts any
# virtiofsd, and the guest uses the share.
#
#   tests/guest/test-libvirt.sh PATH/TO/vfsd BUILD_DIR
#
# Isolation: everything runs in a private mount namespace (unshare -m).
# There /etc and /var are overlays whose upper layers live in the test's
# temporary directory, and /run is a fresh tmpfs, so libvirtd gets its own
# libvirtd.conf and qemu.conf, its own state, log and cache directories and
# its own sockets, and the system's files are never written. The overlay
# on /etc also adds the libvirt-qemu user the QEMU driver insists on (even
# with user = "root"). A fresh /run means no systemd or D-Bus for libvirtd:
# the domain is not registered with machined. At the end every domain is
# destroyed, libvirtd and virtlogd are stopped, and no process of the
# namespace (nor any vfsd naming the test's share) may remain.
#
# The domain (two cases): TCG, 512 MiB of shared memfd memory, Debian's
# kernel booted directly with the guest tier's initramfs, which mounts the
# share and runs tests/guest/libvirt/check-70-libvirt.sh.
#
#   1. <binary path='BUILD/src/vfsd' xattr='on'> with cache always,
#      sandbox namespace, posix and flock locks on, a thread pool of 16; a
#      share whose path holds a comma (libvirt doubles it); the guest
#      powers off.
#   2. No path: libvirt finds the binary through the vhost-user descriptor
#      that `meson install` installs (installed here into a DESTDIR that
#      the namespace overlays on the prefix; with the default prefix
#      /usr/local the descriptor is linked into /etc/qemu/vhost-user, as
#      README.md tells an administrator to do). It must beat Debian's
#      50-qemu-virtiofsd.json. xattr off, cache none, sandbox chroot,
#      locks off, 4 threads; the guest holds and the host ends the domain
#      with `virsh destroy`.
#
# Each case checks the guest's results, the file the guest wrote, the exact
# command line libvirt gave vfsd (read from /proc while it ran, and
# libvirt's own record of it in the domain log), which binary ran, that
# vfsd's output is in /var/log/libvirt/qemu/DOMAIN-fs0-virtiofsd.log, and
# that neither vfsd nor its socket nor its pid file is left.
#
# VFSD_LIBVIRT_KEEP=1 keeps the temporary directory (libvirt's logs and
# state are in var/up/ there).
#
# Exit 0 on success, 77 (skip) when root, libvirt, QEMU or overlayfs is
# missing, 1 on failure. The last line is "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
VIRSH=(virsh -q -c qemu:///system)

skip() {
	echo "SKIP: $*"
	exit 77
}

pass=0
fail=0
ok() {
	pass=$((pass + 1))
	echo "ok - $*"
}
not_ok() {
	fail=$((fail + 1))
	echo "not ok - $*"
}
check() {
	local desc=$1
	shift
	if "$@" >"$tmp/check.out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		head -n 20 "$tmp/check.out" | sed 's/^/#   /'
	fi
}
eq() {
	if [[ "$2" == "$3" ]]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   want: $2"
		echo "#   got:  $3"
	fi
}

# Processes that belong to this test: those in the private mount
# namespace, and any whose command line names the test's directory (vfsd's
# sandboxed child has a mount namespace of its own). This script's own
# shells are not counted (their command line names the directory too).
# Only shell built-ins look at the command lines, so no helper process
# can match itself.
our_pids() {
	local p ns self
	ns=$(cat "$tmp/mntns" 2>/dev/null || true)
	self=$(readlink /proc/$$/exe)
	for p in /proc/[0-9]*; do
		[[ "$(readlink "$p/exe" 2>/dev/null)" == "$self" ]] && continue
		if [[ -n "$ns" && "$(readlink "$p/ns/mnt" 2>/dev/null)" == "$ns" ]] ||
			pid_names "${p#/proc/}" "$tmp/"; then
			echo "${p#/proc/}"
		fi
	done
}

# pid_names PID TEXT: does PID's command line contain TEXT?
pid_names() {
	local arg
	[[ -r /proc/$1/cmdline ]] || return 1
	while IFS= read -r -d '' arg; do
		[[ "$arg" == *"$2"* ]] && return 0
	done 2>/dev/null <"/proc/$1/cmdline"
	return 1
}

# pids_naming TEXT: the processes (other than this script's shells) whose
# command line contains TEXT.
pids_naming() {
	local p self
	self=$(readlink /proc/$$/exe)
	for p in /proc/[0-9]*; do
		[[ "$(readlink "$p/exe" 2>/dev/null)" == "$self" ]] && continue
		pid_names "${p#/proc/}" "$1" && echo "${p#/proc/}"
	done
	return 0
}

not() {
	! "$@"
}

# holds_file PID FILE: has PID an fd open on FILE?
holds_file() {
	local f id
	id=$(stat -L -c %d:%i "$2") || return 1
	for f in "/proc/$1/fd"/*; do
		[[ "$(stat -L -c %d:%i "$f" 2>/dev/null)" == "$id" ]] && return 0
	done
	return 1
}

# ---------------------------------------------------------------- outside
outer() {
	local vfsd build cache rc
	vfsd=$(realpath "${1:?usage: test-libvirt.sh PATH/TO/vfsd BUILD_DIR}")
	build=$(realpath "${2:?usage: test-libvirt.sh PATH/TO/vfsd BUILD_DIR}")
	[[ $(id -u) -eq 0 ]] || skip "needs root (libvirtd's system instance)"
	for c in libvirtd virtlogd virsh; do
		command -v "$c" >/dev/null ||
			skip "$c is missing (packages libvirt-daemon, libvirt-clients)"
	done
	compgen -G '/usr/lib/*/libvirt/connection-driver/libvirt_driver_qemu.so' >/dev/null ||
		skip "libvirt's QEMU driver is missing (package libvirt-daemon-driver-qemu)"
	command -v qemu-system-x86_64 >/dev/null ||
		skip "qemu-system-x86_64 is missing (package qemu-system-x86)"
	command -v unshare >/dev/null || skip "unshare is missing (package util-linux)"
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
		skip "no overlay file system for the private /etc and /var"
	[[ -x "$vfsd" ]] || skip "no vfsd binary at $vfsd"

	cache=${VFSD_GUEST_CACHE:-$build/tests/guest/guest-cache}
	# Not under TMPDIR: /var is overlaid in the namespace.
	tmp=$(mktemp -d /tmp/vfsd-libvirt.XXXXXX)
	chmod 755 "$tmp"
	trap outer_cleanup EXIT
	trap 'exit 130' INT TERM

	local t0=$SECONDS
	"$root/scripts/guest/prepare.sh" "$cache" >"$tmp/prepare.out" ||
		{ cat "$tmp/prepare.out"; exit 1; }
	eval "$(cat "$tmp/prepare.out")"
	"$root/scripts/guest/mkinitramfs.sh" --cache "$cache" \
		--payload "$here/libvirt" "$tmp/initramfs.gz" >/dev/null
	# The installed layout of this build, for case 2.
	meson install -C "$build" --no-rebuild --destdir "$tmp/inst" \
		>"$tmp/install.log" 2>&1 || {
		tail -n 20 "$tmp/install.log"
		exit 1
	}
	echo "# kernel, initramfs and installed tree ready: $((SECONDS - t0)) s"

	rc=0
	unshare -m --propagation private "$0" --inner "$tmp" "$vfsd" \
		"$GUEST_KERNEL" || rc=$?
	if [[ -s "$tmp/counts" ]]; then
		read -r pass fail <"$tmp/counts"
	else
		not_ok "the namespace part ended early (exit $rc)"
	fi

	# Nothing of the test may outlive it.
	local left
	left=$(our_pids | tr '\n' ' ')
	eq "no process of the test is left (libvirtd, virtlogd, QEMU, vfsd)" "" "$left"
	echo "# total $((SECONDS - t0)) s"
	echo "$pass passed, $fail failed"
	[[ $fail -eq 0 && $rc -eq 0 ]]
}

# shellcheck disable=SC2317 # invoked by the trap
outer_cleanup() {
	local p
	set +e
	for p in $(our_pids); do
		echo "# killing left-over process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
		kill -KILL "$p" 2>/dev/null
	done
	if [[ "${VFSD_LIBVIRT_KEEP:-0}" == 1 ]]; then
		echo "# kept $tmp (libvirt's files under var/up and etc/up)"
	else
		rm -rf --one-file-system "$tmp"
	fi
}

# ------------------------------------------------------ inside the namespace
libvirtd_pid=
virtlogd_pid=

# shellcheck disable=SC2317 # invoked by the trap
inner_cleanup() {
	local d p i
	set +e
	if [[ -n "$libvirtd_pid" ]]; then
		for d in $("${VIRSH[@]}" list --name 2>/dev/null); do
			"${VIRSH[@]}" destroy "$d" >/dev/null 2>&1
		done
		kill -TERM "$libvirtd_pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$libvirtd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$libvirtd_pid" 2>/dev/null
		wait "$libvirtd_pid" 2>/dev/null
	fi
	if [[ -n "$virtlogd_pid" ]]; then
		kill -TERM "$virtlogd_pid" 2>/dev/null
		wait "$virtlogd_pid" 2>/dev/null
	fi
	# Anything else still here (a QEMU or vfsd libvirt lost) is reported
	# by the outer part, which also kills it.
	echo "$pass $fail" >"$tmp/counts"
	for p in $(our_pids); do
		echo "# still running at the end: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
}

# A private /etc, /var and /run for libvirtd.
private_views() {
	local id f
	mkdir -p "$tmp"/{etc,var}/{up,work}
	# The QEMU driver looks up the user and group libvirt-qemu at start.
	cp /etc/passwd /etc/group "$tmp/etc/up/"
	if ! getent passwd libvirt-qemu >/dev/null; then
		for ((id = 64055; id < 65000; id++)); do
			getent passwd "$id" >/dev/null || getent group "$id" >/dev/null ||
				break
		done
		echo "libvirt-qemu:x:$id:$id:libvirt test:/nonexistent:/usr/sbin/nologin" \
			>>"$tmp/etc/up/passwd"
		getent group libvirt-qemu >/dev/null ||
			echo "libvirt-qemu:x:$id:" >>"$tmp/etc/up/group"
	fi
	mkdir -p "$tmp/etc/up/libvirt" "$tmp/etc/up/qemu/vhost-user"
	for f in /etc/libvirt/*; do
		[[ -e "$f" ]] && cp -a "$f" "$tmp/etc/up/libvirt/"
	done
	cat >"$tmp/etc/up/libvirt/libvirtd.conf" <<-'EOF'
		# vfsd's test: root only, no polkit, a debug log of the QEMU
		# driver's vhost-user and virtio-fs steps.
		unix_sock_group = "root"
		unix_sock_ro_perms = "0700"
		unix_sock_rw_perms = "0700"
		auth_unix_ro = "none"
		auth_unix_rw = "none"
		log_filters = "1:qemu.qemu_virtiofs 1:qemu.qemu_vhost_user 1:qemu.qemu_configs 1:util.command"
		log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
	EOF
	cat >"$tmp/etc/up/libvirt/qemu.conf" <<-'EOF'
		# vfsd's test, in a container: QEMU runs as root without a
		# security driver, cgroups or namespaces of its own.
		user = "root"
		group = "root"
		dynamic_ownership = 0
		security_driver = "none"
		cgroup_controllers = [ ]
		namespaces = [ ]
	EOF
	mount -t overlay overlay \
		-o "lowerdir=/etc,upperdir=$tmp/etc/up,workdir=$tmp/etc/work" /etc
	mount -t overlay overlay \
		-o "lowerdir=/var,upperdir=$tmp/var/up,workdir=$tmp/var/work" /var
	mount -t tmpfs -o mode=0755 tmpfs /run
	mkdir -p /run/lock /var/log/libvirt
}

# The installed tree of case 2 at its real prefix: the descriptor names
# the binary by its installed path.
installed_view() {
	local rel
	json=$(find "$tmp/inst" -path '*/share/qemu/vhost-user/*vfsd.json' | head -n 1)
	[[ -n "$json" ]] || return 1
	rel=${json#"$tmp/inst"}
	prefix=${rel%/share/qemu/vhost-user/*}
	[[ -d "$prefix" ]] || return 1
	mount -t overlay overlay -o "lowerdir=$tmp/inst$prefix:$prefix" "$prefix"
	json=$rel
	if [[ "$(dirname "$json")" != /usr/share/qemu/vhost-user ]]; then
		# What README.md asks of an administrator with this prefix.
		ln -s "$json" "/etc/qemu/vhost-user/$(basename "$json")"
	fi
	installed_binary=$(sed -n 's/.*"binary": *"\([^"]*\)".*/\1/p' "$json")
}

start_libvirt() {
	local i
	virtlogd >"$tmp/virtlogd.out" 2>&1 &
	virtlogd_pid=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S /run/libvirt/virtlogd-sock ]] && break
		sleep 0.1
	done
	libvirtd >"$tmp/libvirtd.out" 2>&1 &
	libvirtd_pid=$!
	for ((i = 0; i < 300; i++)); do
		"${VIRSH[@]}" uri >/dev/null 2>&1 && return 0
		kill -0 "$libvirtd_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/libvirtd.out"
	tail -n 20 /var/log/libvirt/libvirtd.log 2>/dev/null
	return 1
}

# domain_xml NAME SHARE BINARY_ELEMENT CMDLINE_EXTRA
domain_xml() {
	cat <<-EOF
		<domain type='qemu'>
		  <name>$1</name>
		  <memory unit='MiB'>512</memory>
		  <vcpu>2</vcpu>
		  <memoryBacking>
		    <source type='memfd'/>
		    <access mode='shared'/>
		  </memoryBacking>
		  <os>
		    <type arch='x86_64' machine='pc'>hvm</type>
		    <kernel>$kernel</kernel>
		    <initrd>$tmp/initramfs.gz</initrd>
		    <cmdline>console=ttyS0 panic=-1 quiet vfsd.tag=share vfsd.test=check-70-libvirt$4</cmdline>
		  </os>
		  <features><acpi/></features>
		  <on_poweroff>destroy</on_poweroff>
		  <on_reboot>destroy</on_reboot>
		  <on_crash>destroy</on_crash>
		  <devices>
		    <emulator>$(command -v qemu-system-x86_64)</emulator>
		    <filesystem type='mount' accessmode='passthrough'>
		      <driver type='virtiofs'/>
		      $3
		      <source dir='$2'/>
		      <target dir='share'/>
		    </filesystem>
		    <serial type='file'>
		      <source path='$tmp/$1-serial.log'/>
		      <target port='0'/>
		    </serial>
		    <controller type='usb' model='none'/>
		    <memballoon model='none'/>
		  </devices>
		</domain>
	EOF
}

domain_running() {
	"${VIRSH[@]}" list --name 2>/dev/null | grep -qx "$1"
}

# run_case NAME SHARE BINARY_ELEMENT END WANT_BINARY WANT_OPTS
#   END: poweroff (the guest powers off) or destroy (virsh destroy once
#   the guest has done its checks). WANT_BINARY: the program libvirt must
#   start; WANT_OPTS: the arguments after --fd=N.
run_case() {
	local name=$1 share=$2 binel=$3 end=$4 want_bin=$5 want_opts=$6
	local xml=$tmp/$name.xml extra='' t0 pidfile pid='' cmd='' exe='' sock i token
	local exe_same=0
	local vlog=/var/log/libvirt/qemu/$name-fs0-virtiofsd.log
	local dlog=/var/log/libvirt/qemu/$name.log
	local serial=$tmp/$name-serial.log

	echo "# === $name"
	mkdir -p "$share/host" "$share/guest"
	token="$name-$RANDOM$RANDOM"
	echo "$token" >"$share/host/hello"
	echo "$token" >"$share/host/token.expected"
	[[ $end == destroy ]] && extra=" vfsd.hold=1"
	domain_xml "$name" "$share" "$binel" "$extra" >"$xml"
	t0=$(date +%s%N)
	if ! "${VIRSH[@]}" create "$xml" >"$tmp/create.out" 2>&1; then
		not_ok "$name: virsh create"
		sed 's/^/#   /' "$tmp/create.out"
		[[ -f "$vlog" ]] && sed 's/^/#   vfsd log: /' "$vlog"
		return 0
	fi
	ok "$name: virsh create started the domain ($((($(date +%s%N) - t0) / 1000000)) ms)"

	# vfsd as libvirt started it: its pid file, command line and binary.
	pidfile=$(compgen -G "/run/libvirt/qemu/*$name-fs0-fs.pid" | head -n 1 || true)
	[[ -n "$pidfile" ]] && pid=$(cat "$pidfile" 2>/dev/null || true)
	if [[ -n "$pid" && -r /proc/$pid/cmdline ]]; then
		cmd=$(tr '\0' '\n' <"/proc/$pid/cmdline")
		exe=$(readlink "/proc/$pid/exe" || true)
		cmp -s "/proc/$pid/exe" "$want_bin" && exe_same=1 || exe_same=0
	fi
	sock=$(find /var/lib/libvirt/qemu -name 'fs0-fs.sock' -path "*$name*" 2>/dev/null | head -n 1)
	echo "# libvirt's vfsd: pid ${pid:-?}, socket ${sock:-?}"
	echo "# command line: $(echo "$cmd" | tr '\n' ' ')"
	echo "$cmd" >"$tmp/$name.cmdline"
	check "$name: vfsd runs (pid file $pidfile)" test -n "$cmd"
	eq "$name: libvirt started $want_bin" "$want_bin" "$exe"
	eq "$name: the running program is that file, byte for byte" 1 "${exe_same:-0}"
	local got_opts
	got_opts=$(echo "$cmd" | tail -n +2 | tr '\n' ' ')
	got_opts=${got_opts% }
	if [[ "$got_opts" =~ ^--fd=([0-9]+)\ (.*)$ ]]; then
		eq "$name: libvirt's arguments" "$want_opts" "${BASH_REMATCH[2]}"
		eq "$name: vfsd holds the listening socket libvirt passed (fd ${BASH_REMATCH[1]})" \
			socket "$(readlink "/proc/$pid/fd/${BASH_REMATCH[1]}" | cut -d: -f1)"
	else
		not_ok "$name: libvirt's arguments start with --fd=N: '$got_opts'"
	fi
	check "$name: the vhost-user socket is there while the domain runs" test -S "$sock"
	# libvirt's pid file: vfsd keeps it open, for the lock that tells
	# libvirt it lives; a sandboxed child of it must not have it.
	check "$name: vfsd holds libvirt's pid file (the lock on it)" \
		holds_file "$pid" "$pidfile"
	local child children
	children=$(cat "/proc/$pid/task/"*/children 2>/dev/null || true)
	if [[ $want_opts == *sandbox=namespace* ]]; then
		check "$name: vfsd serves from a sandboxed child" test -n "$children"
	fi
	for child in $children; do
		check "$name: its sandboxed child $child has no fd of the pid file" \
			not holds_file "$child" "$pidfile"
	done

	# The end of the domain.
	if [[ $end == destroy ]]; then
		for ((i = 0; i < 1200; i++)); do
			[[ -s "$share/guest/held" ]] && break
			domain_running "$name" || break
			sleep 0.1
		done
		check "$name: the guest did its checks and holds" test -s "$share/guest/held"
		check "$name: vfsd still serves the held guest" kill -0 "$pid"
		check "$name: virsh destroy" "${VIRSH[@]}" destroy "$name"
	else
		for ((i = 0; i < 1200; i++)); do
			domain_running "$name" || break
			sleep 0.1
		done
	fi
	if domain_running "$name"; then
		not_ok "$name: the domain ended within 120 s"
		"${VIRSH[@]}" destroy "$name" >/dev/null 2>&1 || true
	else
		ok "$name: the domain ended ($end) after $((($(date +%s%N) - t0) / 1000000)) ms"
	fi

	# What the guest saw and left.
	tr -d '\r' <"$serial" | grep -a -E '^(ok|not ok|#) ' | sed 's/^/#   guest| /' || true
	check "$name: the guest's checks passed" \
		sh -c "tr -d '\r' <'$serial' | grep -a -q '^ok ' && ! tr -d '\r' <'$serial' | grep -a -q '^not ok '"
	if [[ $end == poweroff ]]; then
		check "$name: the guest reported PASS and powered off" \
			grep -a -q '^VFSD-GUEST-RESULT: PASS' "$serial"
	fi
	eq "$name: the host reads the guest's file" "guest read: $token" \
		"$(cat "$share/guest/from-guest" 2>&1)"

	# Nothing left behind.
	for ((i = 0; i < 50; i++)); do
		[[ -n "$pid" && -e /proc/$pid ]] || break
		sleep 0.1
	done
	eq "$name: no vfsd process left" "" \
		"$( (
			[[ -n "$pid" && -e /proc/$pid ]] && echo "$pid"
			pids_naming "$share"
		) | sort -u | tr '\n' ' ')"
	check "$name: no socket left" sh -c "! test -e '$sock'"
	check "$name: no pid file left" sh -c "! test -e '$pidfile'"

	# vfsd's output in libvirt's per-domain log, and libvirt's record of
	# the command line in the domain's log.
	echo "# $vlog:"
	sed 's/^/#   /' "$vlog" 2>/dev/null | head -n 20 || true
	check "$name: vfsd's log lines are in $vlog" grep -q '^vfsd: ' "$vlog"
	check "$name: no sanitizer report in vfsd's log" \
		sh -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$vlog'"
	check "$name: the domain log records the command line libvirt ran" \
		grep -qF -- "$want_bin --fd=" "$dlog"
	grep -F -- "$want_bin --fd=" "$dlog" | sed 's/^/#   domain log: /' || true
}

inner() {
	local vfsd kernel json prefix installed_binary
	tmp=$1
	vfsd=$2
	kernel=$3
	readlink /proc/self/ns/mnt >"$tmp/mntns"
	trap inner_cleanup EXIT

	private_views
	if ! installed_view; then
		not_ok "the installed tree has a vhost-user descriptor at a usable prefix"
		exit 1
	fi
	local t0=$SECONDS
	if ! start_libvirt; then
		not_ok "libvirtd started"
		exit 1
	fi
	ok "libvirtd $(libvirtd --version | awk '{ print $NF }') answers in its namespace ($((SECONDS - t0)) s)"

	# 1. The binary named in the XML; a path with a comma in it.
	local share1="$tmp/share,one"
	run_case vfsd-lv-path "$share1" \
		"<binary path='$vfsd' xattr='on'>
		        <cache mode='always'/>
		        <sandbox mode='namespace'/>
		        <lock posix='on' flock='on'/>
		        <thread_pool size='16'/>
		      </binary>" \
		poweroff "$vfsd" \
		"-o source=${share1//,/,,},cache=always,sandbox=namespace,xattr,flock,posix_lock --thread-pool-size=16"

	# 2. The binary found through the installed descriptor.
	local d others
	others=
	for d in /usr/share/qemu/vhost-user /etc/qemu/vhost-user; do
		for f in "$d"/*.json; do
			[[ -s "$f" && "$f" != *vfsd.json ]] && others+=" $(basename "$f")"
		done
	done
	echo "# descriptors libvirt sees: $(basename "$json") (vfsd)${others:- and no other}"
	echo "# the descriptor: $(tr -d '\n' <"$json")"
	run_case vfsd-lv-json "$tmp/share2" \
		"<binary xattr='off'>
		        <cache mode='none'/>
		        <sandbox mode='chroot'/>
		        <lock posix='off' flock='off'/>
		        <thread_pool size='4'/>
		      </binary>" \
		destroy "$installed_binary" \
		"-o source=$tmp/share2,cache=none,sandbox=chroot,no_xattr,no_flock,no_posix_lock --thread-pool-size=4"
	check "the binary libvirt found is not another virtiofsd" \
		sh -c "! grep -q virtiofsd '$tmp/vfsd-lv-json.cmdline'"
	# libvirt's own account of the search (its debug log).
	local order
	order=$(sed -n "s/.*vhost-user description path '\([^']*\)' len=.*/\1/p" \
		/var/log/libvirt/libvirtd.log | awk '!seen[$0]++')
	local first
	for first in $order; do
		echo "# libvirt read, in order: $first"
	done
	first=$(echo "$order" | head -n 1)
	eq "libvirt took the installed descriptor first ($first)" \
		"$(readlink -f "$json")" "$(readlink -f "$first")"
}

if [[ "${1:-}" == --inner ]]; then
	shift
	inner "$@"
else
	outer "$@"
fi
