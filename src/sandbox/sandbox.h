/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Confinement of the serving process: namespaces and pivot_root (or
 * chroot), the open file limit, capabilities and the seccomp allowlist.
 *
 * main.c opens everything the daemon needs first (the shared directory
 * and /proc/self/fd through the passthrough, the listening vhost-user
 * socket), then calls sandbox_enter() while still single-threaded, then
 * starts serving.
 */
#ifndef VFSD_SANDBOX_H
#define VFSD_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>

enum sandbox_mode {
	SANDBOX_NONE, /* no namespaces, no chroot */
	SANDBOX_CHROOT, /* chroot into the shared directory */
	/* new mount, pid, net, ipc namespaces; pivot_root. Not root: in a
	 * new user namespace first (userns.c). */
	SANDBOX_NAMESPACE,
};

enum sandbox_seccomp {
	SANDBOX_SECCOMP_NONE,
	SANDBOX_SECCOMP_KILL, /* the whole process dies by SIGSYS */
	SANDBOX_SECCOMP_LOG, /* allowed and logged by the kernel */
	SANDBOX_SECCOMP_TRAP, /* SIGSYS to the calling thread */
};

/* One line of a uid_map or gid_map: host ids [outside, outside + count)
 * are [inside, inside + count) in the user namespace. */
struct sandbox_idmap {
	uint32_t inside;
	uint32_t outside;
	uint32_t count;
};

/* rlimit_nofile: the reference daemon's default, min(1000000, nr_open). */
#define SANDBOX_RLIMIT_NOFILE_AUTO ((unsigned long)-1)

struct sandbox_opts {
	enum sandbox_mode mode;
	enum sandbox_seccomp seccomp;
	const char *shared_dir; /* becomes the root */
	const char *modcaps; /* "+name:-name..." or NULL */
	unsigned long rlimit_nofile; /* 0: unchanged; or _AUTO */
	/*
	 * --mount: the mount lives in the host's mount namespace and is made
	 * and taken down by the serving process, so no namespaces or chroot;
	 * CAP_SYS_ADMIN and mount(2)/umount2(2) stay allowed.
	 */
	bool host_mount;
	/* drop CAP_DAC_READ_SEARCH (kept for open_by_handle_at otherwise) */
	bool drop_dac_read_search;
	/*
	 * Namespace mode without root: the maps of the user namespace
	 * (--uid-map, --gid-map). None given: the caller's own id as itself.
	 */
	const struct sandbox_idmap *uid_map;
	unsigned int uid_map_count;
	const struct sandbox_idmap *gid_map;
	unsigned int gid_map_count;
};

/*
 * Check @opts against the environment before anything is changed (root
 * for chroot, capability names in modcaps, maps only where they apply).
 * Without root, namespace mode is rehearsed in a throwaway child, so a
 * host that forbids user namespaces, or a map newuidmap(1) refuses, is
 * reported here. Returns 0 or -errno with a one-line description in @msg
 * (static storage) naming the cause and the way out.
 */
int sandbox_check(const struct sandbox_opts *opts, const char **msg);

/*
 * Note the file descriptors this process inherited: every open fd above 2
 * but @keep (the --fd socket, or -1). Call first, before vfsd opens
 * anything. In namespace mode the serving child closes them as soon as it
 * exists, so what a launcher left open stays with the parent outside the
 * sandbox. libvirt, for one, leaves its pid file open in the daemon (the
 * lock on it says the daemon lives); a writable fd of that file inside
 * the sandbox would let a compromised server name any process for
 * libvirt to kill when the domain stops. Returns 0, or -errno with
 * nothing noted (no /proc).
 */
int sandbox_note_inherited_fds(int keep);

enum sandbox_role {
	SANDBOX_SERVE, /* this process serves (sandboxed as asked) */
	SANDBOX_PARENT_EXIT, /* the serving child ended: exit with *status */
};

/*
 * Confine the process as @opts says. Call single-threaded, after
 * everything needed has been opened and before serving starts.
 *
 * Namespace mode forks: without root, this process first moves into a new
 * user namespace with the maps of @opts (both processes live in it; the
 * child takes id 0 there when 0 is mapped). The child becomes PID 1 of a
 * new pid namespace and returns SANDBOX_SERVE; the parent forwards
 * SIGINT/SIGTERM/SIGHUP to
 * it, waits, and returns SANDBOX_PARENT_EXIT with the exit status to use:
 * the child's own, or 128 + N (logged with the signal's name) when it died
 * by signal N.
 *
 * On SANDBOX_SERVE, *proc_self_fd is a new O_PATH fd of /proc/self/fd as
 * seen from inside the sandbox (the caller owns it and should hand it to
 * the passthrough), or -1 when the old one is still right (mode none).
 * Returns a role, or -errno with @msg set; on error the process may be
 * half-confined and must exit.
 */
int sandbox_enter(const struct sandbox_opts *opts, int *proc_self_fd,
		  int *status, const char **msg);

/*
 * After sandbox_enter() returned SANDBOX_SERVE in a user namespace (not
 * root): true when the serving process is id 0 there, more than one uid
 * and gid are mapped and setgroups(2) is allowed, so it could take each
 * requester's ids as a root daemon does (its capabilities survive fsuid
 * changes: SECBIT_NO_SETUID_FIXUP is set). False otherwise: requests act
 * as the daemon's own ids in the namespace.
 */
bool sandbox_userns_ids_switchable(void);

/* Load the seccomp allowlist (seccomp.c). 0 or -errno. */
int sandbox_seccomp_load(enum sandbox_seccomp action, bool host_mount);

#endif /* VFSD_SANDBOX_H */
