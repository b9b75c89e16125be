// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sandbox: what the serving process can still reach once it serves.
 *
 * Flow of sandbox_enter(), called once by main.c after the shared
 * directory, /proc/self/fd and the listening socket are open and before
 * any thread starts:
 *
 *  1. RLIMIT_NOFILE is raised (the node table holds one fd per inode).
 *     This also applies to --sandbox none.
 *  2. namespace: without root, first a user namespace of our own with the
 *     maps asked for (userns.c), which both processes below live in; the
 *     serving child takes id 0 there when it is mapped. New pid
 *     namespace, fork. The parent stays outside the others, only
 *     forwards stop signals and mirrors the child's end (exit status, or
 *     128 + N with a log line naming signal N). The child, PID 1 of the
 *     new namespace, closes what the launcher left open (the parent
 *     keeps it), takes new mount, network and IPC namespaces, mounts
 *     a fresh /proc for its pid namespace and opens its self/fd, bind-
 *     mounts the shared directory onto itself and pivots into it; the old
 *     root (with that /proc) is detached, so /proc stays reachable only
 *     through the fd. chroot: the same /proc/self/fd fd, then chroot into
 *     the shared directory; no namespaces (the container has them).
 *     A host mount (--mount) skips this step: its mount must be made and
 *     taken down in the host's mount namespace by the serving process.
 *  3. Capabilities are cut to what the file operations need (libcap-ng),
 *     bounding set included, adjusted by --modcaps (in a user namespace
 *     too: there we hold them all). The securebits set by
 *     pt_process_init() or, in a user namespace, sandbox_userns_become()
 *     (NO_SETUID_FIXUP) are left alone.
 *  4. The seccomp allowlist is loaded last (seccomp.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>

#include "../log/log.h"
#include "sandbox.h"
#include "sandbox_i.h"

#ifdef SANDBOX_SANITIZER_BUILD
/*
 * The leak checker needs /proc/self/task at exit and a helper task in our
 * pid namespace: neither exists inside a chroot or namespace sandbox, nor
 * for the parent whose pid namespace died with its child. It asks this
 * hook of the sanitizer runtime (hence the name) whether to stay quiet.
 */
static bool lsan_off;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return lsan_off;
}
#define LSAN_OFF() (lsan_off = true)
#else
#define LSAN_OFF() ((void)0)
#endif

/* What sandbox_note_inherited_fds() found, with the file each named
 * then; the namespace child closes them. Written once before any thread
 * or fork. */
struct inherited_fd {
	int fd;
	dev_t dev;
	ino_t ino;
};
static struct inherited_fd *inherited_fds;
static size_t inherited_count;

int sandbox_note_inherited_fds(int keep)
{
	struct inherited_fd *grown;
	struct dirent *e;
	struct stat st;
	size_t cap = 0;
	DIR *dir;
	int ret = 0;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		char *end;
		long fd;

		errno = 0;
		fd = strtol(e->d_name, &end, 10);
		if (errno || end == e->d_name || *end || fd <= 2 ||
		    fd > INT_MAX || fd == keep || fd == dirfd(dir) ||
		    fstat((int)fd, &st))
			continue;
		if (inherited_count == cap) {
			cap = cap ? 2 * cap : 8;
			grown = realloc(inherited_fds, cap * sizeof(*grown));
			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			inherited_fds = grown;
		}
		inherited_fds[inherited_count++] = (struct inherited_fd){
			.fd = (int)fd, .dev = st.st_dev, .ino = st.st_ino
		};
	}
	closedir(dir);
	return ret;
}

/* In the serving child of a namespace sandbox (the parent keeps them).
 * An fd that names another file now is vfsd's own: left alone. */
static void close_inherited_fds(void)
{
	size_t closed = 0;
	struct stat st;

	for (size_t i = 0; i < inherited_count; i++) {
		const struct inherited_fd *in = &inherited_fds[i];

		if (fstat(in->fd, &st) || st.st_dev != in->dev ||
		    st.st_ino != in->ino)
			continue;
		close(in->fd);
		closed++;
	}
	if (closed)
		log_debug("sandbox: closed %zu inherited fd%s", closed,
			  closed == 1 ? "" : "s");
}

/* The reference daemon's ceiling for the automatic open file limit. */
#define NOFILE_AUTO_MAX 1000000UL

/* What the passthrough's operations need; --modcaps adjusts it. */
static const unsigned int base_caps[] = {
	CAP_CHOWN, /* chown to the requester's ids */
	CAP_DAC_OVERRIDE, /* the client already checked access */
	CAP_DAC_READ_SEARCH, /* open_by_handle_at, linkat(AT_EMPTY_PATH) */
	CAP_FOWNER, /* chmod, utimens, xattrs of others' files */
	CAP_FSETID, /* keep set-id bits where the requester is root */
	CAP_SETGID, /* per-request fsgid and supplementary group */
	CAP_SETUID, /* per-request fsuid */
	CAP_MKNOD, /* MKNOD of devices */
	CAP_SETFCAP, /* security.capability xattrs */
};

/* Names as libcap-ng spells them: "sys_admin"; "cap_sys_admin" and
 * upper case are accepted too. */
static int cap_from_name(const char *name, size_t len)
{
	char buf[32];
	size_t i;

	if (len >= 4 && strncasecmp(name, "cap_", 4) == 0) {
		name += 4;
		len -= 4;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	for (i = 0; i < len; i++)
		buf[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
					name[i] - 'A' + 'a' :
					name[i]);
	buf[len] = '\0';
	return capng_name_to_capability(buf);
}

/*
 * Walk "+name:-name...": for each item, @fn(capability, add). Returns 0,
 * or -EINVAL at the first bad item (which @bad, if not NULL, points to).
 */
static int modcaps_walk(const char *list, int (*fn)(int cap, bool add),
			const char **bad)
{
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int cap;

		if (len < 2 || (p[0] != '+' && p[0] != '-'))
			goto out_bad;
		cap = cap_from_name(p + 1, len - 1);
		if (cap < 0)
			goto out_bad;
		if (fn && fn(cap, p[0] == '+'))
			goto out_bad;
		p = end ? end + 1 : NULL;
		continue;
out_bad:
		if (bad)
			*bad = p;
		return -EINVAL;
	}
	return 0;
}

int sandbox_check(const struct sandbox_opts *opts, const char **msg)
{
	static char line[160];
	bool maps = opts->uid_map_count || opts->gid_map_count;
	const char *bad = NULL;

	if (opts->mode == SANDBOX_CHROOT && !opts->host_mount &&
	    geteuid() != 0) {
		*msg = "--sandbox chroot needs root; without root use --sandbox namespace (in a user namespace) or --sandbox none";
		return -EPERM;
	}
	if (maps && geteuid() == 0) {
		*msg = "--uid-map/--gid-map are for a vfsd that is not root: root needs no user namespace; drop them";
		return -EINVAL;
	}
	if (maps && (opts->mode != SANDBOX_NAMESPACE || opts->host_mount)) {
		*msg = "--uid-map/--gid-map need --sandbox namespace: they map ids into its user namespace";
		return -EINVAL;
	}
	if (opts->modcaps && modcaps_walk(opts->modcaps, NULL, &bad)) {
		const char *end = strchr(bad, ':');

		snprintf(line, sizeof(line),
			 "--modcaps: unknown capability '%.*s'",
			 (int)(end ? end - bad : (ptrdiff_t)strlen(bad)), bad);
		*msg = line;
		return -EINVAL;
	}
	if (sandbox_wants_userns(opts))
		return sandbox_userns_probe(opts, msg);
	return 0;
}

/* The automatic limit: min(1000000, fs.nr_open). */
static unsigned long nofile_auto(void)
{
	unsigned long nr_open = NOFILE_AUTO_MAX;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = NOFILE_AUTO_MAX;
		fclose(f);
	}
	return nr_open < NOFILE_AUTO_MAX ? nr_open : NOFILE_AUTO_MAX;
}

/*
 * RLIMIT_NOFILE: an explicit --rlimit-nofile is set as given (soft and
 * hard). The automatic default only ever raises the limit; without the
 * privilege to raise the hard limit it settles for the hard limit.
 */
static int set_nofile(unsigned long want, const char **msg)
{
	bool automatic = want == SANDBOX_RLIMIT_NOFILE_AUTO;
	struct rlimit rl;

	if (want == 0)
		return 0;
	if (!automatic) {
		rl.rlim_cur = rl.rlim_max = want;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			*msg = "--rlimit-nofile: setrlimit(RLIMIT_NOFILE)";
			return -errno;
		}
		return 0;
	}
	want = nofile_auto();
	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		*msg = "getrlimit(RLIMIT_NOFILE)";
		return -errno;
	}
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
		log_debug("open file limit raised to %lu", want);
		return 0;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_debug(
				"open file limit raised to the hard limit %lu",
				(unsigned long)rl.rlim_max);
	}
	return 0;
}

static int proc_self_fd_open(int *fd, const char **msg)
{
	*fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		*msg = "open /proc/self/fd";
		return -errno;
	}
	return 0;
}

/*
 * In the child, PID 1 of the new pid namespace: new mount, network and
 * IPC namespaces, a /proc of our own, the shared directory as the root.
 */
static int enter_namespaces(const char *dir, int *proc_fd, const char **msg)
{
	int ret;

	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC)) {
		*msg = "unshare(mount, net, ipc namespaces)";
		return -errno;
	}
	/* Our mounts stay ours; the host's unmounts still reach us. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) {
		*msg = "make the mounts slaves of the host's";
		return -errno;
	}
	if (mount("proc", "/proc", "proc",
		  MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_RELATIME, NULL)) {
		*msg = "mount a /proc for the new pid namespace";
		return -errno;
	}
	ret = proc_self_fd_open(proc_fd, msg);
	if (ret)
		return ret;
	/* pivot_root wants a mount point; submounts stay visible. */
	if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL)) {
		*msg = "bind-mount the shared directory onto itself";
		goto out_close_proc;
	}
	if (chdir(dir)) {
		*msg = "chdir to the shared directory";
		goto out_close_proc;
	}
	/* The old root lands on top of the new one, then goes away. */
	if (syscall(SYS_pivot_root, ".", ".")) {
		*msg = "pivot_root into the shared directory";
		goto out_close_proc;
	}
	if (umount2(".", MNT_DETACH)) {
		*msg = "detach the old root";
		goto out_close_proc;
	}
	if (chdir("/")) {
		*msg = "chdir to the new root";
		goto out_close_proc;
	}
	return 0;

out_close_proc:
	ret = -errno;
	close(*proc_fd);
	*proc_fd = -1;
	return ret;
}

static int enter_chroot(const char *dir, int *proc_fd, const char **msg)
{
	int ret = proc_self_fd_open(proc_fd, msg);

	if (ret)
		return ret;
	if (chdir(dir) || chroot(".") || chdir("/")) {
		*msg = "chroot into the shared directory";
		ret = -errno;
		close(*proc_fd);
		*proc_fd = -1;
		return ret;
	}
	return 0;
}

static int keep_cap(int cap, bool add)
{
	return capng_update(add ? CAPNG_ADD : CAPNG_DROP,
			    CAPNG_EFFECTIVE | CAPNG_PERMITTED |
				    CAPNG_BOUNDING_SET,
			    (unsigned int)cap);
}

/*
 * Keep only base_caps (and CAP_SYS_ADMIN for a host mount), +/- modcaps.
 * In a user namespace of our own (@userns) we hold every capability
 * there, whatever our id: cut them the same way.
 */
static int drop_caps(const struct sandbox_opts *opts, bool userns,
		     const char **msg)
{
	size_t i;
	int ret;

	if (geteuid() != 0 && !userns) {
		if (opts->modcaps)
			log_warn("--modcaps ignored: not running as root");
		return 0;
	}
	capng_clear(CAPNG_SELECT_BOTH);
	for (i = 0; i < sizeof(base_caps) / sizeof(base_caps[0]); i++)
		keep_cap((int)base_caps[i], true);
	if (opts->host_mount)
		keep_cap(CAP_SYS_ADMIN, true);
	/* --inode-file-handles=never: nothing needs it (LINK falls back to
	 * the magic link, DAC_OVERRIDE covers reading) */
	if (opts->drop_dac_read_search)
		keep_cap(CAP_DAC_READ_SEARCH, false);
	if (opts->modcaps && modcaps_walk(opts->modcaps, keep_cap, NULL)) {
		*msg = "--modcaps";
		return -EINVAL;
	}
	ret = capng_apply(CAPNG_SELECT_BOTH);
	if (ret) {
		*msg = "capng_apply: drop capabilities";
		return -EPERM;
	}
	return 0;
}

/*
 * The namespace sandbox's parent only waits for the serving child, passes
 * stop signals on and removes the socket file: as root it needs no
 * capability for that (the child runs as root too). Failure is not fatal:
 * the parent reads nothing from the guest or the VMM.
 */
static void parent_drop_caps(void)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_BOTH) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		log_warn("sandbox: the waiting parent keeps its capabilities");
}

static void block_signals(sigset_t *set, sigset_t *old)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigprocmask(SIG_BLOCK, set, old);
}

/*
 * The parent's whole job: pass stop signals on, wait for the child, and
 * turn its end into our exit status.
 */
static int parent_wait(pid_t child, const sigset_t *set, int *status)
{
	for (;;) {
		int sig = sigwaitinfo(set, NULL);
		int st;

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		if (waitpid(child, &st, WNOHANG) != child)
			continue;
		if (WIFEXITED(st)) {
			*status = WEXITSTATUS(st);
			log_debug("serving process %d exited with status %d",
				  (int)child, *status);
		} else if (WIFSIGNALED(st)) {
			sig = WTERMSIG(st);
			log_error(
				"serving process %d killed by signal %d (SIG%s: %s)%s",
				(int)child, sig,
				sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
				strsignal(sig),
				sig == SIGSYS ?
					"; a system call outside the seccomp allowlist?" :
					"");
			*status = 128 + sig;
		} else {
			continue;
		}
		return SANDBOX_PARENT_EXIT;
	}
}

/* Debug hook for tests/sandbox: a harmless system call that is not on
 * the allowlist, made right after the filter is loaded. */
static void test_forbidden_syscall(void)
{
	log_info("VFSD_TEST_FORBIDDEN_SYSCALL: calling getpriority()");
	syscall(SYS_getpriority, PRIO_PROCESS, 0);
	log_info("VFSD_TEST_FORBIDDEN_SYSCALL: still alive");
}

int sandbox_enter(const struct sandbox_opts *opts, int *proc_self_fd,
		  int *status, const char **msg)
{
	bool forbidden = getenv("VFSD_TEST_FORBIDDEN_SYSCALL") != NULL;
	enum sandbox_mode mode = opts->host_mount ? SANDBOX_NONE : opts->mode;
	bool userns = sandbox_wants_userns(opts);
	sigset_t set, old;
	pid_t child;
	int ret;

	*proc_self_fd = -1;
	ret = set_nofile(opts->rlimit_nofile, msg);
	if (ret)
		return ret;
	if (opts->host_mount && opts->mode != SANDBOX_NONE)
		log_info(
			"--mount: the host mount stays in the host's namespaces; sandbox limited to capabilities and seccomp");

	if (mode != SANDBOX_NONE)
		LSAN_OFF();
	switch (mode) {
	case SANDBOX_NONE:
		break;
	case SANDBOX_CHROOT:
		ret = enter_chroot(opts->shared_dir, proc_self_fd, msg);
		if (ret)
			return ret;
		break;
	case SANDBOX_NAMESPACE:
		if (userns) {
			ret = sandbox_userns_enter(opts, msg);
			if (ret)
				return ret;
		}
		if (unshare(CLONE_NEWPID)) {
			*msg = "unshare(pid namespace)";
			return -errno;
		}
		/* Blocked before the fork: no signal or child end is lost. */
		block_signals(&set, &old);
		child = fork();
		if (child < 0) {
			*msg = "fork the serving process";
			ret = -errno;
			sigprocmask(SIG_SETMASK, &old, NULL);
			return ret;
		}
		if (child > 0) {
			/* In a user namespace it keeps them: the child may
			 * run as another id there, and they count only in
			 * that namespace. */
			if (!userns)
				parent_drop_caps();
			return parent_wait(child, &set, status);
		}
		close_inherited_fds();
		/* Stop signals stay blocked until main's signal thread
		 * takes them; everything else as before. */
		sigaddset(&old, SIGINT);
		sigaddset(&old, SIGTERM);
		sigaddset(&old, SIGHUP);
		sigdelset(&old, SIGCHLD);
		sigprocmask(SIG_SETMASK, &old, NULL);
		/* Before PR_SET_PDEATHSIG: a change of ids clears it. */
		if (userns) {
			ret = sandbox_userns_become(opts, msg);
			if (ret)
				return ret;
		}
		/* Serve no longer than the parent that reports our end. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		ret = enter_namespaces(opts->shared_dir, proc_self_fd, msg);
		if (ret)
			return ret;
		break;
	}

	ret = drop_caps(opts, userns, msg);
	if (ret)
		goto out_close_proc;
	if (opts->seccomp != SANDBOX_SECCOMP_NONE) {
		ret = sandbox_seccomp_load(opts->seccomp, opts->host_mount);
		if (ret) {
			*msg = "load the seccomp filter";
			goto out_close_proc;
		}
	}
	log_debug("sandbox: %s%s, seccomp %d",
		  mode == SANDBOX_NAMESPACE ? "namespace" :
		  mode == SANDBOX_CHROOT    ? "chroot" :
					      "none",
		  userns ? " in a user namespace" : "", (int)opts->seccomp);
	if (forbidden)
		test_forbidden_syscall();
	return SANDBOX_SERVE;

out_close_proc:
	if (*proc_self_fd >= 0)
		close(*proc_self_fd);
	*proc_self_fd = -1;
	return ret;
}
