// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * User namespaces: the namespace sandbox of a vfsd that is not root.
 *
 * Without root, mount, pid, network and IPC namespaces can only be made
 * inside a user namespace of our own, where our capabilities count for
 * that namespace and the files whose owners it maps, nothing else.
 *
 * Flow:
 *  - sandbox_check() -> sandbox_userns_probe(): a throwaway child goes
 *    through every privileged step (the user namespace and its maps, the
 *    identity inside, the other namespaces, slave mounts, a /proc for the
 *    new pid namespace) and reports the first one that fails, so a host
 *    that forbids it (a sysctl, a container's seccomp profile, AppArmor)
 *    or a map that newuidmap(1) refuses is one line naming the cause
 *    before anything has been changed.
 *  - sandbox_enter() -> sandbox_userns_enter(), in the process that will
 *    be the parent: unshare(CLONE_NEWUSER), then the maps. A map of the
 *    caller's own id alone (one line, count 1) the process writes itself
 *    to /proc/self/uid_map (for gid_map after "deny" to setgroups, as the
 *    kernel requires). Anything else goes through the setuid helpers
 *    newuidmap(1)/newgidmap(1), which check /etc/subuid and /etc/subgid;
 *    they must act from outside the new namespace, so a helper process is
 *    forked before unshare() and runs them when told to.
 *  - sandbox_enter() -> sandbox_userns_become(), in the serving child:
 *    take id 0 of the namespace when it is mapped (else our own id when
 *    mapped, else the first mapped id), and drop the supplementary groups
 *    where the namespace allows setgroups(2). As id 0 of a namespace with
 *    more ids than ours (maps by newuidmap/newgidmap), the process could
 *    act as each requester (sandbox_userns_ids_switchable()).
 *
 * No map given: the caller's uid and gid as themselves (as the Rust
 * virtiofsd does), so the guest sees the caller's files with the same
 * owner as the host does.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "sandbox_i.h"

/* Which step failed, for the message. */
enum userns_step {
	STEP_OK,
	STEP_HELPER, /* the process that runs newuidmap/newgidmap */
	STEP_USERNS, /* unshare(CLONE_NEWUSER) */
	STEP_UID_MAP,
	STEP_GID_MAP,
	STEP_IDENTITY, /* setresuid/setresgid/setgroups inside */
	STEP_NAMESPACES, /* unshare of mount, pid, network, IPC */
	STEP_MOUNTS, /* the mount tree made a slave of the host's */
	STEP_PROC, /* a /proc for the new pid namespace */
};

/* A failure as it crosses from a child to its parent through a pipe. */
struct userns_fault {
	enum userns_step step;
	int err; /* positive errno */
	char detail[200]; /* what newuidmap/newgidmap said, or "" */
};

/* The caller's ids, taken before the namespace changes how they read. */
static uid_t host_uid;
static gid_t host_gid;
/* The serving process may act as other ids per request (see
 * sandbox_userns_ids_switchable()). */
static bool ids_switchable;

/* One of the two maps, with the default filled in. */
struct idmap {
	const struct sandbox_idmap *line;
	unsigned int count;
	struct sandbox_idmap own; /* the default: our id as itself */
};

static void idmap_of(const struct sandbox_opts *opts, bool gid,
		     struct idmap *map)
{
	uint32_t id = gid ? (uint32_t)host_gid : (uint32_t)host_uid;

	map->line = gid ? opts->gid_map : opts->uid_map;
	map->count = gid ? opts->gid_map_count : opts->uid_map_count;
	map->own = (struct sandbox_idmap){ id, id, 1 };
	if (map->count == 0) {
		map->line = &map->own;
		map->count = 1;
	}
}

/* Only our own id, once: the kernel lets us write that map ourselves. */
static bool idmap_is_own(const struct idmap *map, uint32_t id)
{
	return map->count == 1 && map->line[0].count == 1 &&
	       map->line[0].outside == id;
}

/* The id to act as inside: 0 if mapped, else ours if mapped, else the
 * first mapped one. */
static uint32_t idmap_identity(const struct idmap *map, uint32_t host_id)
{
	unsigned int i;

	for (i = 0; i < map->count; i++) {
		if (map->line[i].inside == 0)
			return 0;
	}
	for (i = 0; i < map->count; i++) {
		const struct sandbox_idmap *l = &map->line[i];

		if (host_id >= l->outside && host_id - l->outside < l->count)
			return l->inside + (host_id - l->outside);
	}
	return map->line[0].inside;
}

static void fault_set(struct userns_fault *f, enum userns_step step, int err)
{
	f->step = step;
	f->err = err ? err : EIO;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Up to @len bytes, fewer only at end of file. */
static size_t read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* 0 or errno. */
static int write_proc_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return errno;
	/* One write: the kernel takes a map in a single write only. */
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		err = errno ? errno : EIO;
	close(fd);
	return err;
}

/*
 * In the helper: run @tool ("newuidmap" or "newgidmap") for process
 * @target with the lines of @map. Its output goes to f->detail.
 */
static void run_map_tool(const char *tool, pid_t target,
			 const struct idmap *map, enum userns_step step,
			 struct userns_fault *f)
{
	/* "pid" and three numbers a line, at most 10 digits each. */
	size_t nargs = 2 + 3 * (size_t)map->count + 1;
	char **argv = calloc(nargs, sizeof(*argv));
	char *nums = malloc(11 * (3 * (size_t)map->count + 1));
	int out[2] = { -1, -1 };
	size_t a = 0, len;
	char *p = nums;
	pid_t child;
	int st = 0;

	if (!argv || !nums) {
		fault_set(f, step, ENOMEM);
		goto out_free;
	}
	argv[a++] = (char *)tool;
	argv[a++] = p;
	p += snprintf(p, 11, "%u", (unsigned int)target) + 1;
	for (unsigned int i = 0; i < map->count; i++) {
		const uint32_t v[3] = { map->line[i].inside,
					map->line[i].outside,
					map->line[i].count };

		for (int k = 0; k < 3; k++) {
			argv[a++] = p;
			p += snprintf(p, 11, "%u", v[k]) + 1;
		}
	}
	argv[a] = NULL;
	if (pipe2(out, O_CLOEXEC)) {
		fault_set(f, step, errno);
		goto out_free;
	}
	child = fork();
	if (child < 0) {
		fault_set(f, step, errno);
		goto out_close;
	}
	if (child == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(out[1], STDERR_FILENO);
		execvp(tool, argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s", tool,
			strerror(errno));
		_exit(127);
	}
	close(out[1]);
	out[1] = -1;
	len = read_all(out[0], f->detail, sizeof(f->detail) - 1);
	f->detail[len] = '\0';
	/* Drain the rest, so the tool never blocks on a full pipe. */
	while (len == sizeof(f->detail) - 1) {
		char rest[256];

		if (read_all(out[0], rest, sizeof(rest)) < sizeof(rest))
			break;
	}
	/* One line for the message: the tool's first. */
	f->detail[strcspn(f->detail, "\n")] = '\0';
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		fault_set(f, step, ENOENT); /* not installed */
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fault_set(f, step, EPERM);
	else
		f->detail[0] = '\0';
out_close:
	if (out[1] >= 0)
		close(out[1]);
	close(out[0]);
out_free:
	free(nums);
	free(argv);
}

/* The helper's life: wait for the go, map @target's namespace, report. */
static void __attribute__((noreturn))
helper_main(int go, int done, pid_t target, const struct idmap *uids,
	    const struct idmap *gids)
{
	struct userns_fault f = { .step = STEP_OK };
	char c;

	/* End of file: the parent gave up (its unshare() failed). */
	if (read_all(go, &c, 1) != 1)
		_exit(0);
	if (!idmap_is_own(uids, (uint32_t)host_uid))
		run_map_tool("newuidmap", target, uids, STEP_UID_MAP, &f);
	if (f.step == STEP_OK && !idmap_is_own(gids, (uint32_t)host_gid))
		run_map_tool("newgidmap", target, gids, STEP_GID_MAP, &f);
	write_all(done, &f, sizeof(f));
	_exit(0);
}

/* "inside outside count\n" for the one line of our own id. */
static int write_own_map(const char *path, const struct idmap *map)
{
	char line[40];

	snprintf(line, sizeof(line), "%u %u 1\n", map->line[0].inside,
		 map->line[0].outside);
	return write_proc_file(path, line);
}

/*
 * unshare(CLONE_NEWUSER) and both maps, for this process. On failure @f
 * says which step and why.
 */
static void userns_setup(const struct sandbox_opts *opts,
			 struct userns_fault *f)
{
	struct idmap uids, gids;
	int go[2] = { -1, -1 }, done[2] = { -1, -1 };
	pid_t self = getpid(), helper = -1;
	bool own_uid, own_gid;
	int err;

	host_uid = geteuid();
	host_gid = getegid();
	idmap_of(opts, false, &uids);
	idmap_of(opts, true, &gids);
	own_uid = idmap_is_own(&uids, (uint32_t)host_uid);
	own_gid = idmap_is_own(&gids, (uint32_t)host_gid);

	if (!own_uid || !own_gid) {
		if (pipe2(go, O_CLOEXEC) || pipe2(done, O_CLOEXEC)) {
			fault_set(f, STEP_HELPER, errno);
			goto out_close;
		}
		helper = fork();
		if (helper < 0) {
			fault_set(f, STEP_HELPER, errno);
			goto out_close;
		}
		if (helper == 0) {
			close(go[1]);
			close(done[0]);
			helper_main(go[0], done[1], self, &uids, &gids);
		}
		close(go[0]);
		close(done[1]);
		go[0] = done[1] = -1;
	}

	if (unshare(CLONE_NEWUSER)) {
		fault_set(f, STEP_USERNS, errno);
		goto out_close; /* the helper sees end of file and leaves */
	}
	if (helper > 0) {
		if (write_all(go[1], "g", 1) ||
		    read_all(done[0], f, sizeof(*f)) != sizeof(*f)) {
			fault_set(f, STEP_HELPER, EPIPE);
			goto out_close;
		}
		if (f->step != STEP_OK)
			goto out_close;
	}
	if (own_uid) {
		err = write_own_map("/proc/self/uid_map", &uids);
		if (err) {
			fault_set(f, STEP_UID_MAP, err);
			goto out_close;
		}
	}
	if (own_gid) {
		/* Unprivileged gid_map writes need setgroups(2) denied for
		 * good in the namespace (no dropping groups to gain access). */
		err = write_proc_file("/proc/self/setgroups", "deny");
		if (!err)
			err = write_own_map("/proc/self/gid_map", &gids);
		if (err) {
			fault_set(f, STEP_GID_MAP, err);
			goto out_close;
		}
	}

out_close:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (done[i] >= 0)
			close(done[i]);
	}
	if (helper > 0) {
		while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

/* More than one id in the map: there is someone else to act as. */
static bool idmap_has_others(const struct idmap *map)
{
	return map->count > 1 || map->line[0].count > 1;
}

/*
 * Inside the namespace: the identity to serve as. Where we are its id 0,
 * more than one uid and gid are mapped and setgroups(2) is allowed, the
 * passthrough can take each requester's ids as it does for a root daemon;
 * as there, a change of fsuid must not cost the capabilities
 * (SECBIT_NO_SETUID_FIXUP, set while CAP_SETPCAP is still held).
 */
static void userns_identity(const struct sandbox_opts *opts,
			    struct userns_fault *f)
{
	struct idmap uids, gids;
	bool groups_allowed;
	uint32_t uid, gid;

	idmap_of(opts, false, &uids);
	idmap_of(opts, true, &gids);
	uid = idmap_identity(&uids, (uint32_t)host_uid);
	gid = idmap_identity(&gids, (uint32_t)host_gid);
	/* The host's supplementary groups mean nothing here; where the
	 * namespace denies setgroups they stay, as they were outside. */
	groups_allowed = setgroups(0, NULL) == 0;
	if (!groups_allowed && errno != EPERM) {
		fault_set(f, STEP_IDENTITY, errno);
		return;
	}
	if (setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		fault_set(f, STEP_IDENTITY, errno);
		return;
	}
	if (uid != 0 || gid != 0 || !groups_allowed ||
	    !idmap_has_others(&uids) || !idmap_has_others(&gids))
		return;
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0,
		  0)) {
		fault_set(f, STEP_IDENTITY, errno);
		return;
	}
	ids_switchable = true;
}

/* The value of an integer sysctl, or -1 when it cannot be read. */
static long sysctl_read(const char *path)
{
	long v = -1;
	FILE *fp = fopen(path, "re");

	if (fp) {
		if (fscanf(fp, "%ld", &v) != 1)
			v = -1;
		fclose(fp);
	}
	return v;
}

#define WAY_OUT "use --sandbox none (no confinement) or run vfsd as root"

/* The one line for @f: the cause as precisely as the host tells it. */
static const char *fault_describe(const struct userns_fault *f)
{
	static char line[512];
	const char *err = strerror(f->err);
	long v;

	switch (f->step) {
	case STEP_OK:
		return "no fault";
	case STEP_USERNS:
		if (f->err == ENOSPC) {
			v = sysctl_read("/proc/sys/user/max_user_namespaces");
			snprintf(
				line, sizeof(line),
				"--sandbox namespace without root needs a user namespace, and %s (sysctl user.max_user_namespaces = %ld); " WAY_OUT,
				v == 0 ?
					"this host disables them" :
					"the limit of user namespaces is reached",
				v);
		} else if (
			f->err == EPERM &&
			sysctl_read(
				"/proc/sys/kernel/unprivileged_userns_clone") ==
				0) {
			snprintf(
				line, sizeof(line),
				"--sandbox namespace without root needs a user namespace, and this host disables them for unprivileged users (sysctl kernel.unprivileged_userns_clone = 0); " WAY_OUT);
		} else if (f->err == EPERM) {
			snprintf(
				line, sizeof(line),
				"--sandbox namespace without root needs a user namespace, and creating one is not permitted here (%s: a container's seccomp profile, a security module or a chroot forbids it); " WAY_OUT,
				err);
		} else if (f->err == EUSERS) {
			snprintf(
				line, sizeof(line),
				"--sandbox namespace without root needs a user namespace, and too many are nested here already; " WAY_OUT);
		} else {
			snprintf(
				line, sizeof(line),
				"--sandbox namespace without root needs a user namespace: unshare(CLONE_NEWUSER): %s; " WAY_OUT,
				err);
		}
		return line;
	case STEP_UID_MAP:
	case STEP_GID_MAP: {
		const char *which = f->step == STEP_UID_MAP ? "uid" : "gid";

		if (f->detail[0] && f->err == ENOENT)
			snprintf(
				line, sizeof(line),
				"--%s-map: a map other than your own id alone needs new%smap(1) (Debian package uidmap): %s; or use --sandbox none",
				which, which, f->detail);
		else if (f->detail[0])
			snprintf(
				line, sizeof(line),
				"--%s-map: the %s map of the user namespace was refused: %s (see sub%s(5)); fix the map or /etc/sub%s, or use --sandbox none",
				which, which, f->detail, which, which);
		else
			snprintf(
				line, sizeof(line),
				"--sandbox namespace: writing the %s map of the user namespace: %s; " WAY_OUT,
				which, err);
		return line;
	}
	case STEP_HELPER:
		snprintf(line, sizeof(line),
			 "--sandbox namespace: the id map helper: %s", err);
		return line;
	case STEP_IDENTITY:
		snprintf(
			line, sizeof(line),
			"--sandbox namespace: taking the mapped ids inside the user namespace: %s",
			err);
		return line;
	case STEP_NAMESPACES:
	case STEP_MOUNTS:
	case STEP_PROC: {
		const char *what =
			f->step == STEP_NAMESPACES ?
				"new mount, pid, network and IPC namespaces" :
			f->step == STEP_MOUNTS ? "a private mount tree" :
						 "a /proc of its own";

		if (f->err == EPERM &&
		    sysctl_read(
			    "/proc/sys/kernel/apparmor_restrict_unprivileged_userns") ==
			    1)
			snprintf(
				line, sizeof(line),
				"--sandbox namespace without root: the user namespace has no rights here (AppArmor restricts unprivileged user namespaces: sysctl kernel.apparmor_restrict_unprivileged_userns = 1); " WAY_OUT);
		else
			snprintf(
				line, sizeof(line),
				"--sandbox namespace without root: %s in the user namespace: %s%s; " WAY_OUT,
				what, err,
				f->step == STEP_PROC && f->err == EPERM ?
					" (this host hides parts of /proc, as containers do)" :
					"");
		return line;
	}
	}
	return "unknown fault";
}

/* The rehearsal, in a child that exits after it. */
static void rehearse(const struct sandbox_opts *opts, struct userns_fault *f)
{
	pid_t pid1;
	int st = 0;

	userns_setup(opts, f);
	if (f->step != STEP_OK)
		return;
	userns_identity(opts, f);
	if (f->step != STEP_OK)
		return;
	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID)) {
		fault_set(f, STEP_NAMESPACES, errno);
		return;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) {
		fault_set(f, STEP_MOUNTS, errno);
		return;
	}
	/* PID 1 of the new pid namespace mounts its /proc, as the serving
	 * process will; the mount dies with this mount namespace. */
	pid1 = fork();
	if (pid1 < 0) {
		fault_set(f, STEP_NAMESPACES, errno);
		return;
	}
	if (pid1 == 0)
		_exit(mount("proc", "/proc", "proc",
			    MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_RELATIME,
			    NULL) ?
			      (errno & 0xff) :
			      0);
	while (waitpid(pid1, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fault_set(f, STEP_PROC, WIFEXITED(st) ? WEXITSTATUS(st) : EIO);
}

int sandbox_userns_probe(const struct sandbox_opts *opts, const char **msg)
{
	struct userns_fault f = { .step = STEP_OK };
	int p[2];
	pid_t child;
	size_t got;
	int st = 0;

	if (pipe2(p, O_CLOEXEC)) {
		*msg = "--sandbox namespace: pipe for the rehearsal";
		return -errno;
	}
	child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		*msg = "--sandbox namespace: fork the rehearsal";
		return -EAGAIN;
	}
	if (child == 0) {
		close(p[0]);
		rehearse(opts, &f);
		write_all(p[1], &f, sizeof(f));
		_exit(0);
	}
	close(p[1]);
	got = read_all(p[0], &f, sizeof(f));
	close(p[0]);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof(f)) {
		*msg = "--sandbox namespace without root: the rehearsal of the user namespace died (killed by a seccomp profile?); " WAY_OUT;
		return -EIO;
	}
	if (f.step == STEP_OK)
		return 0;
	*msg = fault_describe(&f);
	return -f.err;
}

int sandbox_userns_enter(const struct sandbox_opts *opts, const char **msg)
{
	struct userns_fault f = { .step = STEP_OK };

	userns_setup(opts, &f);
	if (f.step == STEP_OK)
		return 0;
	*msg = fault_describe(&f);
	return -f.err;
}

bool sandbox_userns_ids_switchable(void)
{
	return ids_switchable;
}

int sandbox_userns_become(const struct sandbox_opts *opts, const char **msg)
{
	struct userns_fault f = { .step = STEP_OK };

	userns_identity(opts, &f);
	if (f.step == STEP_OK)
		return 0;
	*msg = fault_describe(&f);
	return -f.err;
}
