// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The seccomp allowlist: every system call the serving process makes,
 * found by running the test tiers under strace, plus what glibc (and the
 * sanitizers, in such builds) make on their own. Anything else gets the
 * action chosen with --seccomp. Loaded last by sandbox_enter(), after the
 * capabilities are dropped; libseccomp sets no_new_privs for us.
 *
 * Only the process's own work is here: no exec, no ptrace (except the
 * leak checker of sanitizer builds), no new network sockets, no module,
 * mount (except for a host mount), keyring, bpf or namespace calls.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "sandbox.h"
#include "sandbox_i.h"

/* Names, not numbers: libseccomp resolves them for the running arch and
 * skips those the arch does not have. */
static const char *const allowed[] = {
	/* memory and threads (glibc, pthreads) */
	"brk",
	"mmap",
	"munmap",
	"mprotect",
	"mremap",
	"madvise",
	"futex",
	"futex_waitv",
	"set_robust_list",
	"get_robust_list",
	"rseq",
	"set_tid_address",
	"exit",
	"exit_group",
	"sched_yield",
	"sched_getaffinity",
	"getrandom",
	"membarrier",
	/* signals */
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"rt_sigtimedwait",
	"rt_sigpending",
	"sigaltstack",
	"tgkill",
	"tkill",
	"signalfd4",
	"restart_syscall",
	/* time */
	"clock_gettime",
	"clock_getres",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"time",
	/* identity and credentials (per-request fsuid/fsgid, groups, caps) */
	"getpid",
	"gettid",
	"getppid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getresuid",
	"getresgid",
	"getgroups",
	"setfsuid",
	"setfsgid",
	"setgroups",
	"capget",
	"capset",
	"prctl",
	"getrlimit",
	"prlimit64",
	"umask",
	"uname",
	/* vhost-user: the socket, kick and call eventfds, waiting */
	"accept",
	"accept4",
	"recvmsg",
	"sendmsg",
	"recvfrom",
	"sendto",
	"shutdown",
	"getsockopt",
	"eventfd2",
	"poll",
	"ppoll",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"pselect6",
	"select",
	/* plain I/O */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"preadv",
	"pwritev",
	"preadv2",
	"pwritev2",
	"lseek",
	"close",
	"dup",
	"dup3",
	"fcntl",
	"flock",
	"ioctl", /* FIONREAD and the like; FUSE IOCTL is not served */
	/* the file operations, all *at() on held fds */
	"openat",
	"openat2",
	"name_to_handle_at", /* --inode-file-handles (passthrough/inode.c) */
	"open_by_handle_at",
	"newfstatat",
	"fstat",
	"statx",
	"fstatfs",
	"statfs",
	"getdents64",
	"mkdirat",
	"mknodat",
	"symlinkat",
	"linkat",
	"unlinkat",
	"unlink", /* the socket file at the end, without a namespace */
	"renameat",
	"renameat2",
	"readlinkat",
	"fchmod",
	"fchmodat",
	"fchown",
	"fchownat",
	"utimensat",
	"ftruncate",
	"fallocate",
	"fsync",
	"fdatasync",
	"syncfs",
	"copy_file_range",
	"fadvise64",
	"name_to_handle_at",
	/* extended attributes: f*() on opened files, path forms on
	 * /proc/self/fd/N for the rest */
	"fgetxattr",
	"fsetxattr",
	"flistxattr",
	"fremovexattr",
	"getxattr",
	"setxattr",
	"listxattr",
	"removexattr",
	"lgetxattr",
	"lsetxattr",
	"llistxattr",
	"lremovexattr",
	/* the daemon's own fds */
	"fchdir",
	"getcwd",
};

/* A host mount (--mount): mount and unmount; realpath(3) of the mount
 * point for /proc/self/mountinfo. */
static const char *const allowed_host_mount[] = {
	"mount",
	"umount2",
	"readlink",
};

#ifdef SANDBOX_SANITIZER_BUILD
/* The leak checker stops the world with ptrace from a helper task and
 * lists /proc/self/task at exit (--sandbox none only, see sandbox.c). */
static const char *const allowed_sanitizer[] = {
	"clone",     "ptrace",	 "wait4", "waitid",
	"getrusage", "readlink", "open",  "stat",
	"lstat",     "access",	 "pipe2", "sched_setaffinity",
	"getdents",
};

/*
 * A sanitizer report starts llvm-symbolizer (fork, execve). In kill mode
 * that would end the process in the middle of its report and lose it;
 * refused with an error, the runtime prints the report with module
 * offsets instead (rerun with --seccomp none, or feed them to
 * llvm-symbolizer, for names). No program is ever started either way.
 */
static const char *const refused_sanitizer[] = {
	"fork",
	"vfork",
	"execve",
	"execveat",
};
#endif

static int allow_list(scmp_filter_ctx ctx, const char *const *names,
		      size_t count)
{
	for (size_t i = 0; i < count; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int ret;

		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (ret)
			return ret;
	}
	return 0;
}

int sandbox_seccomp_load(enum sandbox_seccomp action, bool host_mount)
{
	scmp_filter_ctx ctx;
	uint32_t act;
	int ret;

	switch (action) {
	case SANDBOX_SECCOMP_NONE:
		return 0;
	case SANDBOX_SECCOMP_KILL:
		act = SCMP_ACT_KILL_PROCESS;
		break;
	case SANDBOX_SECCOMP_LOG:
		act = SCMP_ACT_LOG;
		break;
	case SANDBOX_SECCOMP_TRAP:
		act = SCMP_ACT_TRAP;
		break;
	default:
		return -EINVAL;
	}
	ctx = seccomp_init(act);
	if (!ctx)
		return -ENOMEM;
	ret = allow_list(ctx, allowed, sizeof(allowed) / sizeof(allowed[0]));
	if (ret)
		goto out_release;
	/* New threads, never new processes. clone3's flags sit in memory
	 * where a filter cannot look: ENOSYS makes glibc use clone. */
	ret = seccomp_rule_add(
		ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (ret)
		goto out_release;
	ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
			       0);
	if (ret)
		goto out_release;
	/* A serving thread's own umask (--posix-acl, pt_umask_enter): the
	 * fs struct and nothing else, never a new namespace. */
	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unshare), 1,
			       SCMP_A0(SCMP_CMP_EQ, CLONE_FS));
	if (ret)
		goto out_release;
	/* syslog(3) may have to reconnect to /dev/log: UNIX sockets only. */
	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
			       SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (ret)
		goto out_release;
	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0);
	if (ret)
		goto out_release;
	if (host_mount) {
		ret = allow_list(ctx, allowed_host_mount,
				 sizeof(allowed_host_mount) /
					 sizeof(allowed_host_mount[0]));
		if (ret)
			goto out_release;
	}
#ifdef SANDBOX_SANITIZER_BUILD
	ret = allow_list(ctx, allowed_sanitizer,
			 sizeof(allowed_sanitizer) /
				 sizeof(allowed_sanitizer[0]));
	if (ret)
		goto out_release;
	for (size_t i = 0;
	     i < sizeof(refused_sanitizer) / sizeof(refused_sanitizer[0]);
	     i++) {
		int nr = seccomp_syscall_resolve_name(refused_sanitizer[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (ret)
			goto out_release;
	}
#endif
	ret = seccomp_load(ctx);
out_release:
	seccomp_release(ctx);
	return ret;
}
