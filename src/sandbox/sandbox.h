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

enum sandbox_mode {
	SANDBOX_NONE, /* no namespaces, no chroot */
	SANDBOX_CHROOT, /* chroot into the shared directory */
	SANDBOX_NAMESPACE, /* new mount, pid, net, ipc namespaces; pivot_root */
};

enum sandbox_seccomp {
	SANDBOX_SECCOMP_NONE,
	SANDBOX_SECCOMP_KILL, /* the whole process dies by SIGSYS */
	SANDBOX_SECCOMP_LOG, /* allowed and logged by the kernel */
	SANDBOX_SECCOMP_TRAP, /* SIGSYS to the calling thread */
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
};

/*
 * Check @opts against the environment before anything is changed (root
 * for namespace and chroot, capability names in modcaps). Returns 0 or
 * -errno with a one-line description in @msg (static storage).
 */
int sandbox_check(const struct sandbox_opts *opts, const char **msg);

enum sandbox_role {
	SANDBOX_SERVE, /* this process serves (sandboxed as asked) */
	SANDBOX_PARENT_EXIT, /* the serving child ended: exit with *status */
};

/*
 * Confine the process as @opts says. Call single-threaded, after
 * everything needed has been opened and before serving starts.
 *
 * Namespace mode forks: the child becomes PID 1 of a new pid namespace
 * and returns SANDBOX_SERVE; the parent forwards SIGINT/SIGTERM/SIGHUP to
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

/* Load the seccomp allowlist (seccomp.c). 0 or -errno. */
int sandbox_seccomp_load(enum sandbox_seccomp action, bool host_mount);

#endif /* VFSD_SANDBOX_H */
