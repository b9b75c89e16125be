// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hostile-privilege: a guest that tries to gain privileges on the host
 * through a virtio-fs daemon, played through the vhost-user frontend
 * harness (tests/vhost/frontend.h) against the real daemon.
 *
 *   hostile-privilege [-v] [-k SUBSTRING] [--readonly] -- DAEMON ARGS...
 *
 * Run as root. "{sock}" and "{dir}" in the daemon's arguments are filled in
 * per case; every case starts a fresh daemon on a fresh share.
 *
 * The guest's kernel names the requesting user in each FUSE in-header
 * (uid, gid, pid) and, for requests that create, in the supplementary
 * group extension; a hostile guest can name anyone. The requests here are
 * laid by hand so that each carries the identity the case chooses: guest
 * root (uid 0) or an unprivileged guest user (uid 1000, gid 1000).
 *
 * The host is the oracle: the expected answer, mode or owner is what the
 * host kernel gives a local process with the same identity doing the same
 * thing to a twin object in a directory beside the share (a forked child
 * with that uid, gid and groups; for guest root, the capabilities the
 * daemon's serving process really has, read from /proc). Nothing expected
 * is a constant, except the errno vfsd chose for OPEN of a special file.
 *
 * Cases (default mode):
 *   special-nodes      device nodes (the numbers of /dev/zero and
 *                      /dev/null), a FIFO and a socket node made by guest
 *                      root, and the same planted by the host: MKNOD works
 *                      as on the host; OPEN (every access mode, as root and
 *                      as a user) and CREATE without O_EXCL on those names
 *                      answer EACCES promptly and never open them (no
 *                      non-O_PATH fd of the daemon refers to them); the
 *                      daemon then still answers GETATTR.
 *   suid-write-*       an unprivileged writer (WRITE, OPEN with O_TRUNC,
 *                      COPY_FILE_RANGE) clears set-user/group-ID bits of
 *                      another user's file exactly as a local write does:
 *                      with killpriv v1 negotiated (what Linux offers),
 *                      with no killpriv at all, and with --killpriv-v2
 *                      following the request's KILL_SUIDGID flag (root
 *                      included); a file capability goes with a write.
 *   suid-chown-root    guest root's chown of set-ID files, as the host.
 *   suid-chmod-user    uid 1000: chmod u+s / chmod / chown / chgrp of a
 *                      file it does not own are EPERM, its own file works.
 *   sgid-dir-create    uid 1000 creating with S_ISGID in a set-group-ID
 *                      directory of a group it is not in (CREATE, MKNOD,
 *                      MKDIR, TMPFILE): the bit is dropped as on the host;
 *                      and kept when the client says it is a member.
 *   xattr-user         uid 1000 cannot set or remove trusted.* or
 *                      security.* (security.capability included), cannot
 *                      see trusted.* values or names, cannot touch user.*
 *                      or ACLs where it lacks the right; what it may do
 *                      works. Needs the daemon's --xattr.
 *   xattr-root         guest root's trusted.* / security.* requests get
 *                      what the host gives a root with the daemon's
 *                      capabilities.
 * --readonly mode (the daemon must run with --readonly or -o readonly):
 *   readonly           every changing request answers EROFS and the share
 *                      (names, types, modes, owners, sizes, mtimes, ctimes,
 *                      contents, link targets, xattrs) is unchanged; every
 *                      reading request still works.
 *
 * Prints one "ok"/"not ok" line per check and PASS or FAIL; exit status 0,
 * 1, or 77 when not run as root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <grp.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

/* Newer than Debian 12's <linux/fuse.h> (protocol 7.38). */
#ifndef FUSE_CREATE_SUPP_GROUP
#define FUSE_CREATE_SUPP_GROUP (1ULL << 34)
#define FUSE_EXT_GROUPS 32
#endif
#ifndef XATTR_LIST_MAX
#define XATTR_LIST_MAX 65536
#endif

#define RQ 1 /* the request queue */
#define REAP_MS 10000
#define GUEST_PID 4242

#define USER 1000 /* the unprivileged guest user, and its group */
#define OTHER 2000 /* another user and group owning files */
#define GROUP 3000 /* a group the user is not in (unless told) */

/* A failure of the transport (no reply, bad reply), not a daemon errno. */
#define XPORT 100000

/* What a client kernel offers at INIT that matters here. */
#define OFFER_BASE                                                            \
	((uint64_t)(FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | \
		    FUSE_PARALLEL_DIROPS | FUSE_SETXATTR_EXT |                \
		    FUSE_MAX_PAGES) |                                         \
	 FUSE_CREATE_SUPP_GROUP)

/* The errno vfsd answers an OPEN of a device, FIFO or socket with (the
 * host's answer for a device on a nodev mount; see pt_op_open). */
#define SPECIAL_OPEN_ERRNO EACCES

struct ctx {
	const char *name;
	struct vhf *fe;
	pid_t pid;
	pid_t spid; /* the serving process (the sandbox's child, or pid) */
	uint64_t dcaps; /* its effective capabilities */
	int status;
	bool reaped;
	int fails;
	/* who the next requests claim to be */
	uint32_t uid;
	uint32_t gid;
	bool supp;
	uint32_t supp_gid;
	uint64_t flags; /* INIT flags agreed */
	char dir[160];
	char share[192];
	char ref[192]; /* the host's twins of the share's objects */
	char sock[192];
	char log[192];
};

static char *const *daemon_argv;
static unsigned check_no;
static char tmpdir[64];

static bool check(struct ctx *c, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool check(struct ctx *c, bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tu_vcheck_line(ok, ++check_no, c->name, fmt, ap);
	va_end(ap);
	if (!ok)
		c->fails++;
	return ok;
}

/* "ok", "EPERM", ... or "transport: ..." for a negative result. */
static const char *ename(int r)
{
	static char buf[4][64];
	static int slot;
	const char *n;
	char *b;

	if (r == 0)
		return "ok";
	b = buf[slot++ % 4];
	if (r <= -XPORT) {
		snprintf(b, sizeof(buf[0]), "transport: %s",
			 strerror(-r - XPORT));
		return b;
	}
	n = strerrorname_np(r < 0 ? -r : r);
	snprintf(b, sizeof(buf[0]), "%s", n ? n : "E?");
	return b;
}

/* ---- paths and files ---- */

static void spath(struct ctx *c, const char *rel, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", c->share, rel);
}

static void rpath(struct ctx *c, const char *rel, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", c->ref, rel);
}

/* @path with @uid:@gid and @mode, in that order (chown clears set-ID
 * bits, so the mode comes last). */
static int own(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	if (lchown(path, uid, gid) < 0 || chmod(path, mode) < 0)
		return -errno;
	return 0;
}

/* A regular file @rel in the share and its twin beside it. */
static int twin_file(struct ctx *c, const char *rel, uid_t uid, gid_t gid,
		     mode_t mode)
{
	char p[256];
	int i, r;

	for (i = 0; i < 2; i++) {
		(i ? rpath : spath)(c, rel, p, sizeof(p));
		r = tu_write_file(p, "0123456789", 10);
		if (!r)
			r = own(p, uid, gid, mode);
		if (r)
			return r;
	}
	return 0;
}

static int twin_dir(struct ctx *c, const char *rel, uid_t uid, gid_t gid,
		    mode_t mode)
{
	char p[256];
	int i, r;

	for (i = 0; i < 2; i++) {
		(i ? rpath : spath)(c, rel, p, sizeof(p));
		if (mkdir(p, 0700) < 0)
			return -errno;
		r = own(p, uid, gid, mode);
		if (r)
			return r;
	}
	return 0;
}

static int twin_xattr(struct ctx *c, const char *rel, const char *name,
		      const void *value, size_t len)
{
	char p[256];
	int i;

	for (i = 0; i < 2; i++) {
		(i ? rpath : spath)(c, rel, p, sizeof(p));
		if (lsetxattr(p, name, value, len, 0) < 0)
			return -errno;
	}
	return 0;
}

/* ---- capabilities ---- */

static int caps_set_eff(uint64_t eff)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[0].effective = (uint32_t)eff & d[0].permitted;
	d[1].effective = (uint32_t)(eff >> 32) & d[1].permitted;
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

#define CAPBIT(n) (1ULL << (n))

/* ---- the host as the oracle ---- */

/* A local requester: its ids, one optional supplementary group, and for
 * root the effective capabilities it acts with. */
struct who {
	uid_t uid;
	gid_t gid;
	bool has_supp;
	gid_t supp;
	uint64_t caps;
};

enum hop {
	HOP_WRITE,
	HOP_OPEN_TRUNC,
	HOP_COPY,
	HOP_CHOWN,
	HOP_CHMOD,
	HOP_CREATE,
	HOP_MKNOD,
	HOP_MKDIR,
	HOP_TMPFILE,
	HOP_SETXATTR,
	HOP_GETXATTR,
	HOP_LISTXATTR,
	HOP_REMOVEXATTR,
};

struct hop_args {
	enum hop op;
	const char *path;
	const char *src; /* HOP_COPY: copied into path */
	mode_t mode;
	dev_t rdev;
	uid_t uid; /* chown; -1 keeps */
	gid_t gid;
	const char *name; /* xattr */
	const void *value;
	size_t size; /* value size, or the buffer size of a get/list */
	int flags;
};

/* What the child saw, in memory shared with it. */
struct hres {
	struct stat st; /* HOP_TMPFILE: the new file */
	size_t len; /* HOP_GETXATTR, HOP_LISTXATTR */
	char data[XATTR_LIST_MAX];
};

static struct hres *hres;

static int hop_run(const struct hop_args *a)
{
	ssize_t n;
	int fd;

	switch (a->op) {
	case HOP_WRITE:
		fd = open(a->path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = pwrite(fd, "ABCD", 4, 0);
		close(fd);
		return n == 4 ? 0 : -EIO;
	case HOP_COPY: {
		int in = open(a->src, O_RDONLY | O_CLOEXEC);

		if (in < 0)
			return -errno;
		fd = open(a->path, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			close(in);
			return -errno;
		}
		n = copy_file_range(in, NULL, fd, NULL, 4, 0);
		close(fd);
		close(in);
		return n == 4 ? 0 : -EIO;
	}
	case HOP_OPEN_TRUNC:
		fd = open(a->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	case HOP_CHOWN:
		return fchownat(AT_FDCWD, a->path, a->uid, a->gid,
				AT_SYMLINK_NOFOLLOW) < 0 ?
			       -errno :
			       0;
	case HOP_CHMOD:
		return fchmodat(AT_FDCWD, a->path, a->mode, 0) < 0 ? -errno : 0;
	case HOP_CREATE:
		fd = open(a->path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
			  a->mode);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	case HOP_MKNOD:
		return mknod(a->path, a->mode, a->rdev) < 0 ? -errno : 0;
	case HOP_MKDIR:
		return mkdir(a->path, a->mode) < 0 ? -errno : 0;
	case HOP_TMPFILE:
		fd = open(a->path, O_TMPFILE | O_RDWR | O_CLOEXEC, a->mode);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &hres->st) < 0) {
			close(fd);
			return -errno;
		}
		close(fd);
		return 0;
	case HOP_SETXATTR:
		return lsetxattr(a->path, a->name, a->value, a->size,
				 a->flags) < 0 ?
			       -errno :
			       0;
	case HOP_GETXATTR:
		n = lgetxattr(a->path, a->name, a->size ? hres->data : NULL,
			      a->size);
		if (n < 0)
			return -errno;
		hres->len = (size_t)n;
		return 0;
	case HOP_LISTXATTR:
		n = llistxattr(a->path, a->size ? hres->data : NULL, a->size);
		if (n < 0)
			return -errno;
		hres->len = (size_t)n;
		return 0;
	case HOP_REMOVEXATTR:
		return lremovexattr(a->path, a->name) < 0 ? -errno : 0;
	}
	return -EINVAL;
}

/* Run @a as @w in a child; 0 or -errno as the host answered, or
 * -XPORT-EIO when the child could not take the identity. */
static int host_as(const struct who *w, const struct hop_args *a)
{
	pid_t p;
	int st;

	memset(hres, 0, sizeof(*hres));
	fflush(stdout);
	fflush(stderr);
	p = fork();
	if (p < 0)
		return -XPORT - errno;
	if (p == 0) {
		gid_t g = w->supp;
		int r;

		umask(0); /* the daemon's; modes come masked by the client */
		if (setgroups(w->has_supp ? 1 : 0, &g) < 0 ||
		    setresgid(w->gid, w->gid, w->gid) < 0 ||
		    setresuid(w->uid, w->uid, w->uid) < 0)
			_exit(255);
		if (w->uid == 0 && caps_set_eff(w->caps))
			_exit(255);
		r = hop_run(a);
		_exit(r < 0 && -r < 255 ? -r : (r ? 254 : 0));
	}
	if (waitpid(p, &st, 0) != p)
		return -XPORT - EIO;
	if (!WIFEXITED(st) || WEXITSTATUS(st) >= 254)
		return -XPORT - EIO;
	return -WEXITSTATUS(st);
}

static struct who who_user(void)
{
	return (struct who){ .uid = USER, .gid = USER };
}

static struct who who_root(const struct ctx *c)
{
	return (struct who){ .uid = 0, .gid = 0, .caps = c->dcaps };
}

/* ---- the daemon ---- */

static int spawn(struct ctx *c, const char *const *extra)
{
	char **argv = tu_argv_cat(daemon_argv, extra);
	int saved, r;

	if (!argv)
		return -ENOMEM;
	/* as before testutil: the daemon holds the kept stderr too */
	saved = tu_stderr_to(c->log, true);
	if (saved < 0) {
		free(argv);
		return saved;
	}
	r = vhf_spawn(argv, c->sock, c->share, &c->pid);
	tu_stderr_restore(saved);
	free(argv);
	return r;
}

static int reap(struct ctx *c, int timeout_ms)
{
	int r;

	if (c->reaped)
		return 0;
	r = vhf_reap(c->pid, timeout_ms, &c->status);
	if (!r)
		c->reaped = true;
	return r;
}

static int proc_cap_eff(pid_t pid, uint64_t *caps)
{
	static const char *const key[] = { "CapEff" };
	unsigned long long v = 0;
	int r = tu_proc_status(pid, key, 1, 16, &v);

	if (r < 0)
		return r;
	if (!r)
		return -ENOENT;
	*caps = v;
	return 0;
}

/*
 * Fds of the serving process that are open on the object @st describes
 * (device and inode) other than as O_PATH: an O_PATH fd is how the daemon
 * holds every node; anything else means it opened the object.
 */
static int opened_fds(struct ctx *c, const struct stat *st)
{
	char p[96];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)c->spid);
	d = opendir(p);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		unsigned long flags = 0;
		struct stat fst;
		char fp[320];
		int r;

		if (e->d_name[0] == '.')
			continue;
		snprintf(fp, sizeof(fp), "/proc/%d/fd/%s", (int)c->spid,
			 e->d_name);
		if (stat(fp, &fst) < 0 || fst.st_dev != st->st_dev ||
		    fst.st_ino != st->st_ino)
			continue;
		/* no "flags:" line: counted as opened */
		r = tu_fdinfo(c->spid, e->d_name, &flags, NULL);
		if (r && r != -ENODATA)
			continue;
		if (!(flags & O_PATH))
			n++;
	}
	closedir(d);
	return n;
}

/* ---- FUSE requests as anyone ---- */

/*
 * One request on RQ: the in-header carrying c->uid/gid (and the
 * supplementary group extension when c->supp), each argument in its own
 * descriptor as the Linux driver lays them, one writable buffer for the
 * out header and up to @cap bytes of reply, which is copied to @out
 * (*len gets its true size). Returns 0, the daemon's -errno, or
 * -XPORT-errno when the transport failed (no reply in time, a reply that
 * does not add up).
 */
static int req(struct ctx *c, uint32_t opcode, uint64_t nodeid,
	       const struct iovec *args, unsigned nargs, void *out, size_t cap,
	       size_t *len)
{
	struct vhf_buf ib = { 0 }, ob = { 0 };
	struct vhf_seg segs[12];
	struct fuse_in_header h;
	struct fuse_out_header oh = { 0 };
	uint32_t ext[4];
	size_t in_len = sizeof(h), ext_len = 0, off, olen;
	uint32_t used = 0;
	void *cookie = NULL;
	unsigned i, n = 0;
	int r;

	if (nargs + 3 > sizeof(segs) / sizeof(segs[0]))
		return -XPORT - E2BIG;
	if (c->supp) {
		/* fuse_ext_header { size, type } + fuse_supp_groups */
		ext[0] = sizeof(ext);
		ext[1] = FUSE_EXT_GROUPS;
		ext[2] = 1;
		ext[3] = c->supp_gid;
		ext_len = sizeof(ext);
	}
	for (i = 0; i < nargs; i++)
		in_len += args[i].iov_len;
	in_len += ext_len;
	olen = sizeof(oh) + cap;
	r = vhf_alloc(c->fe, in_len, &ib);
	if (r)
		return -XPORT - (-r);
	r = vhf_alloc(c->fe, olen, &ob);
	if (r) {
		vhf_free(c->fe, &ib);
		return -XPORT - (-r);
	}
	vhf_fuse_in_header(c->fe, &h, opcode, nodeid, (uint32_t)in_len);
	h.uid = c->uid;
	h.gid = c->gid;
	h.pid = GUEST_PID;
	h.total_extlen = (uint16_t)(ext_len / 8);
	memcpy(ib.hva, &h, sizeof(h));
	segs[n++] = (struct vhf_seg){ .gpa = ib.gpa, .len = sizeof(h) };
	off = sizeof(h);
	for (i = 0; i < nargs; i++) {
		if (!args[i].iov_len)
			continue;
		memcpy((uint8_t *)ib.hva + off, args[i].iov_base,
		       args[i].iov_len);
		segs[n++] =
			(struct vhf_seg){ .gpa = ib.gpa + off,
					  .len = (uint32_t)args[i].iov_len };
		off += args[i].iov_len;
	}
	if (ext_len) {
		memcpy((uint8_t *)ib.hva + off, ext, ext_len);
		segs[n++] = (struct vhf_seg){ .gpa = ib.gpa + off,
					      .len = (uint32_t)ext_len };
	}
	segs[n++] = (struct vhf_seg){ .gpa = ob.gpa,
				      .len = (uint32_t)olen,
				      .write = true };
	r = vhf_submit(c->fe, RQ, segs, n, false, &h);
	if (!r)
		r = vhf_wait(c->fe, RQ, 0, &used, &cookie);
	if (r) {
		r = -XPORT - (-r);
		goto out_free;
	}
	if (used >= sizeof(oh))
		memcpy(&oh, ob.hva, sizeof(oh));
	if (cookie != &h || used < sizeof(oh) || used > olen ||
	    oh.unique != h.unique || oh.len != used || oh.error > 0 ||
	    oh.error < -4095) {
		fprintf(stderr, "# opcode %u: bad reply (used %u)\n", opcode,
			used);
		r = -XPORT - EPROTO;
		goto out_free;
	}
	r = oh.error;
	if (!r) {
		if (out)
			memcpy(out, (uint8_t *)ob.hva + sizeof(oh),
			       used - sizeof(oh));
		if (len)
			*len = used - sizeof(oh);
	}
out_free:
	vhf_free(c->fe, &ob);
	vhf_free(c->fe, &ib);
	return r;
}

static void as(struct ctx *c, uint32_t uid, uint32_t gid)
{
	c->uid = uid;
	c->gid = gid;
	c->supp = false;
}

/* A fixed-size reply of exactly @size bytes. */
static int req_fixed(struct ctx *c, uint32_t opcode, uint64_t nodeid,
		     const struct iovec *args, unsigned nargs, void *out,
		     size_t size)
{
	size_t len = 0;
	int r = req(c, opcode, nodeid, args, nargs, out, size, &len);

	if (!r && len != size)
		r = -XPORT - EBADMSG;
	return r;
}

#define ARG(x)                                                 \
	{                                                      \
		.iov_base = (void *)&(x), .iov_len = sizeof(x) \
	}
#define STR(s)                                                    \
	{                                                         \
		.iov_base = (void *)(s), .iov_len = strlen(s) + 1 \
	}

static int f_init(struct ctx *c, uint64_t offer)
{
	struct fuse_init_in in = {
		.major = FUSE_KERNEL_VERSION,
		.minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = 1u << 20,
		.flags = (uint32_t)offer | FUSE_INIT_EXT,
		.flags2 = (uint32_t)(offer >> 32),
	};
	struct iovec a[] = { ARG(in) };
	struct fuse_init_out out = { 0 };
	size_t len = 0;
	uint32_t uid = c->uid, gid = c->gid;
	int r;

	as(c, 0, 0);
	r = req(c, FUSE_INIT, 0, a, 1, &out, sizeof(out), &len);
	c->uid = uid;
	c->gid = gid;
	if (r)
		return r;
	c->flags = out.flags;
	if (out.flags & FUSE_INIT_EXT)
		c->flags |= (uint64_t)out.flags2 << 32;
	return 0;
}

static int f_lookup(struct ctx *c, uint64_t parent, const char *name,
		    struct fuse_entry_out *e)
{
	struct iovec a[] = { STR(name) };

	return req_fixed(c, FUSE_LOOKUP, parent, a, 1, e, sizeof(*e));
}

static int f_getattr(struct ctx *c, uint64_t nodeid, struct fuse_attr_out *o)
{
	struct fuse_getattr_in in = { 0 };
	struct iovec a[] = { ARG(in) };

	return req_fixed(c, FUSE_GETATTR, nodeid, a, 1, o, sizeof(*o));
}

static int f_setattr(struct ctx *c, uint64_t nodeid,
		     const struct fuse_setattr_in *in)
{
	struct fuse_attr_out o;
	struct iovec a[] = { ARG(*in) };

	return req_fixed(c, FUSE_SETATTR, nodeid, a, 1, &o, sizeof(o));
}

static int f_mknod(struct ctx *c, uint64_t parent, const char *name,
		   uint32_t mode, uint32_t rdev, struct fuse_entry_out *e)
{
	struct fuse_mknod_in in = { .mode = mode, .rdev = rdev };
	struct iovec a[] = { ARG(in), STR(name) };
	struct fuse_entry_out tmp;

	return req_fixed(c, FUSE_MKNOD, parent, a, 2, e ? e : &tmp,
			 sizeof(tmp));
}

static int f_mkdir(struct ctx *c, uint64_t parent, const char *name,
		   uint32_t mode)
{
	struct fuse_mkdir_in in = { .mode = mode };
	struct iovec a[] = { ARG(in), STR(name) };
	struct fuse_entry_out e;

	return req_fixed(c, FUSE_MKDIR, parent, a, 2, &e, sizeof(e));
}

static int f_symlink(struct ctx *c, uint64_t parent, const char *name,
		     const char *target)
{
	struct iovec a[] = { STR(name), STR(target) };
	struct fuse_entry_out e;

	return req_fixed(c, FUSE_SYMLINK, parent, a, 2, &e, sizeof(e));
}

static int f_link(struct ctx *c, uint64_t nodeid, uint64_t newparent,
		  const char *newname)
{
	struct fuse_link_in in = { .oldnodeid = nodeid };
	struct iovec a[] = { ARG(in), STR(newname) };
	struct fuse_entry_out e;

	return req_fixed(c, FUSE_LINK, newparent, a, 2, &e, sizeof(e));
}

static int f_remove(struct ctx *c, uint32_t opcode, uint64_t parent,
		    const char *name)
{
	struct iovec a[] = { STR(name) };

	return req(c, opcode, parent, a, 1, NULL, 0, NULL);
}

/* RENAME (@v2 false, no flags) or RENAME2 with @flags. */
static int f_rename(struct ctx *c, bool v2, uint64_t parent, const char *name,
		    uint64_t newparent, const char *newname, uint32_t flags)
{
	struct fuse_rename2_in in2 = { .newdir = newparent, .flags = flags };
	struct fuse_rename_in in1 = { .newdir = newparent };
	struct iovec a[] = { ARG(in2), STR(name), STR(newname) };

	if (!v2) {
		a[0].iov_base = &in1;
		a[0].iov_len = sizeof(in1);
	}
	return req(c, v2 ? FUSE_RENAME2 : FUSE_RENAME, parent, a, 3, NULL, 0,
		   NULL);
}

static int f_open(struct ctx *c, uint64_t nodeid, uint32_t flags,
		  uint32_t open_flags, uint64_t *fh)
{
	struct fuse_open_in in = { .flags = flags, .open_flags = open_flags };
	struct iovec a[] = { ARG(in) };
	struct fuse_open_out o = { 0 };
	int r = req_fixed(c, FUSE_OPEN, nodeid, a, 1, &o, sizeof(o));

	if (!r)
		*fh = o.fh;
	return r;
}

static int f_release(struct ctx *c, uint32_t opcode, uint64_t nodeid,
		     uint64_t fh)
{
	struct fuse_release_in in = { .fh = fh };
	struct iovec a[] = { ARG(in) };

	return req(c, opcode, nodeid, a, 1, NULL, 0, NULL);
}

/* CREATE (or TMPFILE when @name is NULL). */
static int f_create(struct ctx *c, uint64_t parent, const char *name,
		    uint32_t flags, uint32_t mode, struct fuse_entry_out *e,
		    uint64_t *fh)
{
	struct fuse_create_in in = { .flags = flags, .mode = mode };
	struct iovec a[] = { ARG(in), STR(name ? name : "/") };
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out;
	int r = req_fixed(c, name ? FUSE_CREATE : FUSE_TMPFILE, parent, a, 2,
			  &out, sizeof(out));

	if (!r) {
		if (e)
			*e = out.e;
		if (fh)
			*fh = out.o.fh;
		else
			f_release(c, FUSE_RELEASE, out.e.nodeid, out.o.fh);
	}
	return r;
}

static int f_read(struct ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		  void *buf, uint32_t size, size_t *got)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
	struct iovec a[] = { ARG(in) };

	return req(c, FUSE_READ, nodeid, a, 1, buf, size, got);
}

static int f_write(struct ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
		   const void *data, uint32_t size, uint32_t write_flags)
{
	struct fuse_write_in in = { .fh = fh,
				    .offset = off,
				    .size = size,
				    .write_flags = write_flags };
	struct iovec a[] = { ARG(in),
			     { .iov_base = (void *)data, .iov_len = size } };
	struct fuse_write_out o;
	int r = req_fixed(c, FUSE_WRITE, nodeid, a, 2, &o, sizeof(o));

	if (!r && o.size != size)
		r = -XPORT - EIO;
	return r;
}

static int f_fallocate(struct ctx *c, uint64_t nodeid, uint64_t fh,
		       uint64_t off, uint64_t len, uint32_t mode)
{
	struct fuse_fallocate_in in = {
		.fh = fh, .offset = off, .length = len, .mode = mode
	};
	struct iovec a[] = { ARG(in) };

	return req(c, FUSE_FALLOCATE, nodeid, a, 1, NULL, 0, NULL);
}

static int f_copy(struct ctx *c, uint64_t node_in, uint64_t fh_in,
		  uint64_t node_out, uint64_t fh_out, uint64_t off_out,
		  uint64_t len)
{
	struct fuse_copy_file_range_in in = { .fh_in = fh_in,
					      .off_in = 0,
					      .nodeid_out = node_out,
					      .fh_out = fh_out,
					      .off_out = off_out,
					      .len = len };
	struct iovec a[] = { ARG(in) };
	struct fuse_write_out o;

	return req_fixed(c, FUSE_COPY_FILE_RANGE, node_in, a, 1, &o, sizeof(o));
}

static int f_setxattr(struct ctx *c, uint64_t nodeid, const char *name,
		      const void *value, size_t size, uint32_t flags)
{
	struct fuse_setxattr_in in = { .size = (uint32_t)size, .flags = flags };
	struct iovec a[] = { ARG(in),
			     STR(name),
			     { .iov_base = (void *)value, .iov_len = size } };

	/* The short form unless the daemon agreed to the extended one. */
	if (!(c->flags & FUSE_SETXATTR_EXT))
		a[0].iov_len = FUSE_COMPAT_SETXATTR_IN_SIZE;
	return req(c, FUSE_SETXATTR, nodeid, a, 3, NULL, 0, NULL);
}

/* GETXATTR (@name) or LISTXATTR (@name NULL): with @cap 0 a size query
 * (*len gets the size), else the value in @buf. */
static int f_getxattr(struct ctx *c, uint64_t nodeid, const char *name,
		      void *buf, size_t cap, size_t *len)
{
	struct fuse_getxattr_in in = { .size = (uint32_t)cap };
	struct iovec a[] = { ARG(in), STR(name ? name : "") };
	struct fuse_getxattr_out o;
	uint32_t op = name ? FUSE_GETXATTR : FUSE_LISTXATTR;
	int r;

	if (cap)
		return req(c, op, nodeid, a, name ? 2 : 1, buf, cap, len);
	r = req_fixed(c, op, nodeid, a, name ? 2 : 1, &o, sizeof(o));
	if (!r)
		*len = o.size;
	return r;
}

static int f_removexattr(struct ctx *c, uint64_t nodeid, const char *name)
{
	struct iovec a[] = { STR(name) };

	return req(c, FUSE_REMOVEXATTR, nodeid, a, 1, NULL, 0, NULL);
}

/* LOOKUP @name under the root; 0 when it failed (after a failed check). */
static uint64_t node_of(struct ctx *c, const char *name)
{
	struct fuse_entry_out e;
	uint32_t uid = c->uid, gid = c->gid;
	int r;

	as(c, 0, 0);
	r = f_lookup(c, FUSE_ROOT_ID, name, &e);
	c->uid = uid;
	c->gid = gid;
	if (!check(c, !r, "LOOKUP %s (%s)", name, ename(r)))
		return 0;
	return e.nodeid;
}

static bool still_serving(struct ctx *c, const char *after)
{
	struct fuse_attr_out a;
	int r = f_getattr(c, FUSE_ROOT_ID, &a);

	return check(c, !r && S_ISDIR(a.attr.mode),
		     "GETATTR still answered after %s (%s)", after, ename(r));
}

static void expect_clean_exit(struct ctx *c)
{
	int r;

	vhf_disconnect(c->fe);
	c->fe = NULL;
	r = reap(c, REAP_MS);
	if (!check(c, !r, "daemon exits after the frontend disconnects"))
		return;
	check(c, WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0,
	      "daemon exit status 0 (%s)", tu_status_str(c->status));
}

/* lstat of a share object and of its twin: type, mode, owner agree. */
static void same_as_twin(struct ctx *c, const char *rel, const char *what)
{
	struct stat s, t;
	char p[256];
	int rs, rt;

	spath(c, rel, p, sizeof(p));
	rs = lstat(p, &s) < 0 ? -errno : 0;
	rpath(c, rel, p, sizeof(p));
	rt = lstat(p, &t) < 0 ? -errno : 0;
	if (rs || rt) {
		check(c, rs == rt, "%s: %s exists as its twin does (%s, %s)",
		      what, rel, ename(rs), ename(rt));
		return;
	}
	check(c,
	      s.st_mode == t.st_mode && s.st_uid == t.st_uid &&
		      s.st_gid == t.st_gid,
	      "%s: %s is %06o %u:%u in the share, %06o %u:%u on the host", what,
	      rel, s.st_mode, s.st_uid, s.st_gid, t.st_mode, t.st_uid,
	      t.st_gid);
}

static mode_t mode_of(struct ctx *c, const char *rel, bool twin)
{
	struct stat st;
	char p[256];

	(twin ? rpath : spath)(c, rel, p, sizeof(p));
	return lstat(p, &st) < 0 ? (mode_t)-1 : st.st_mode;
}

/* ---- special files ---- */

static const struct special {
	const char *name;
	mode_t mode;
	unsigned maj, min;
} specials[] = {
	{ "zero", S_IFCHR | 0666, 1, 5 },
	{ "null", S_IFCHR | 0666, 1, 3 },
	{ "fifo", S_IFIFO | 0666, 0, 0 },
	{ "sock", S_IFSOCK | 0666, 0, 0 },
};

/* The kernel's 32-bit device encoding, as FUSE_MKNOD carries it. */
static uint32_t fuse_rdev(unsigned maj, unsigned min)
{
	return (min & 0xff) | (maj & 0xfff) << 8 | (min & ~0xffu) << 12;
}

/*
 * OPEN of a special file must be refused promptly with
 * SPECIAL_OPEN_ERRNO. Returns false when the queue is stuck (no reply):
 * nothing more can be learnt from this daemon.
 */
static bool open_refused(struct ctx *c, const char *name, uint64_t nodeid)
{
	static const uint32_t flags[] = {
		O_RDONLY,
		O_WRONLY,
		O_RDWR,
		O_RDONLY | O_NONBLOCK,
		O_WRONLY | O_NONBLOCK,
		O_RDWR | O_TRUNC,
	};
	static const uint32_t uids[] = { 0, USER };
	size_t i, u;

	for (u = 0; u < 2; u++) {
		as(c, uids[u], uids[u]);
		for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
			uint64_t fh = 0;
			int r = f_open(c, nodeid, flags[i], 0, &fh);

			if (r == 0) {
				uint8_t buf[64];
				size_t got = 0, z = 0;

				memset(buf, 0xa5, sizeof(buf));
				f_read(c, nodeid, fh, 0, buf, sizeof(buf),
				       &got);
				while (z < got && buf[z] == 0)
					z++;
				check(c, false,
				      "OPEN %s flags %#o as uid %u: opened "
				      "(read %zu bytes, %zu zero: %s)",
				      name, flags[i], uids[u], got, z,
				      got && z == got ?
					      "the host's device was opened" :
					      "a special file was opened");
				f_release(c, FUSE_RELEASE, nodeid, fh);
				continue;
			}
			check(c, r == -SPECIAL_OPEN_ERRNO,
			      "OPEN %s flags %#o as uid %u: %s (want %s)", name,
			      flags[i], uids[u], ename(r),
			      ename(-SPECIAL_OPEN_ERRNO));
			if (r <= -XPORT)
				return false;
		}
	}
	as(c, 0, 0);
	return true;
}

static int case_special_nodes(struct ctx *c)
{
	struct who root = who_root(c);
	char p[256], q[256];
	size_t i;
	int r;

	r = f_init(c, OFFER_BASE | FUSE_HANDLE_KILLPRIV);
	if (!check(c, !r, "INIT (%s)", ename(r)))
		return 0;
	/* The host's own device and FIFO, planted in the share. */
	spath(c, "hzero", p, sizeof(p));
	if (mknod(p, S_IFCHR | 0666, makedev(1, 5)) < 0)
		return -errno;
	spath(c, "hfifo", p, sizeof(p));
	if (mkfifo(p, 0666) < 0)
		return -errno;

	as(c, 0, 0);
	for (i = 0; i < sizeof(specials) / sizeof(specials[0]); i++) {
		const struct special *s = &specials[i];
		struct hop_args h = { .op = HOP_MKNOD,
				      .path = q,
				      .mode = s->mode,
				      .rdev = makedev(s->maj, s->min) };
		struct fuse_entry_out e;
		struct stat st;
		int rg, rh;

		rpath(c, s->name, q, sizeof(q));
		rh = host_as(&root, &h);
		rg = f_mknod(c, FUSE_ROOT_ID, s->name, s->mode,
			     fuse_rdev(s->maj, s->min), &e);
		check(c, rg == rh, "MKNOD %s %06o %u:%u as root: %s, host %s",
		      s->name, s->mode, s->maj, s->min, ename(rg), ename(rh));
		if (rg)
			continue;
		spath(c, s->name, p, sizeof(p));
		check(c,
		      !lstat(p, &st) && st.st_mode == s->mode &&
			      st.st_rdev == makedev(s->maj, s->min),
		      "%s is a %06o node %u:%u in the share", s->name,
		      st.st_mode, major(st.st_rdev), minor(st.st_rdev));
		if (!open_refused(c, s->name, e.nodeid))
			return 0;
	}
	for (i = 0; i < 2; i++) {
		const char *n = i ? "hfifo" : "hzero";
		uint64_t nodeid = node_of(c, n);

		if (nodeid && !open_refused(c, n, nodeid))
			return 0;
	}

	/* CREATE on an existing special name without O_EXCL opens it. */
	for (i = 0; i < sizeof(specials) / sizeof(specials[0]) + 2; i++) {
		static const uint32_t flags[] = { O_RDWR, O_WRONLY | O_TRUNC,
						  O_RDONLY };
		const char *n =
			i < 4 ? specials[i].name : (i == 4 ? "hzero" : "hfifo");
		size_t f;

		for (f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			uint64_t fh = 0;

			r = f_create(c, FUSE_ROOT_ID, n, flags[f], 0666, NULL,
				     &fh);

			check(c, r == -SPECIAL_OPEN_ERRNO,
			      "CREATE %s flags %#o (no O_EXCL) on the special "
			      "file: %s (want %s)",
			      n, flags[f], ename(r),
			      ename(-SPECIAL_OPEN_ERRNO));
			if (r <= -XPORT)
				return 0;
		}
	}

	/* None of them is open in the daemon (other than its O_PATH fds). */
	for (i = 0; i < sizeof(specials) / sizeof(specials[0]) + 2; i++) {
		const char *n =
			i < 4 ? specials[i].name : (i == 4 ? "hzero" : "hfifo");
		struct stat st;
		int k;

		spath(c, n, p, sizeof(p));
		if (lstat(p, &st) < 0)
			continue;
		k = opened_fds(c, &st);
		check(c, k == 0,
		      "the serving process (pid %d) holds %d fds opened on %s",
		      (int)c->spid, k, n);
	}
	still_serving(c, "OPEN and CREATE of special files");
	expect_clean_exit(c);
	return 0;
}

/* ---- set-user/group-ID bits ---- */

/* security.capability: VFS_CAP_REVISION_2, effective, CAP_SETUID. */
static size_t cap_value(uint8_t *buf)
{
	uint32_t v[5] = { 0x02000000 | 1, CAPBIT(CAP_SETUID), 0, 0, 0 };

	memcpy(buf, v, sizeof(v));
	return sizeof(v);
}

static const mode_t write_modes[] = { 06777, 04777, 02777, 02767, 00777 };

/*
 * Requester @w (as the guest) writes to, opens with O_TRUNC, or copies
 * into share/@rel (@op) with the killpriv flag @kill; a local process as
 * @w does the same to the twin. The resulting modes must agree.
 */
static void write_vs_host(struct ctx *c, const char *rel, enum hop op,
			  bool kill, const struct who *w, const char *who_s)
{
	static const char *const opnames[] = {
		[HOP_WRITE] = "WRITE",
		[HOP_OPEN_TRUNC] = "OPEN O_TRUNC",
		[HOP_COPY] = "COPY_FILE_RANGE",
	};
	struct hop_args h = { .op = op };
	mode_t before = mode_of(c, rel, false), ms, mh;
	uint64_t nodeid = node_of(c, rel), fh = 0;
	bool trunc = op == HOP_OPEN_TRUNC;
	char q[256], qs[256];
	int rg, rh;

	if (!nodeid)
		return;
	rpath(c, rel, q, sizeof(q));
	rpath(c, "source", qs, sizeof(qs));
	h.path = q;
	h.src = qs;
	rh = host_as(w, &h);
	as(c, w->uid, w->gid);
	rg = f_open(c, nodeid, trunc ? O_WRONLY | O_TRUNC : O_WRONLY,
		    trunc && kill ? FUSE_OPEN_KILL_SUIDGID : 0, &fh);
	if (!rg && op == HOP_WRITE)
		rg = f_write(c, nodeid, fh, 0, "ABCD", 4,
			     kill ? FUSE_WRITE_KILL_SUIDGID : 0);
	if (!rg && op == HOP_COPY) {
		uint64_t src = node_of(c, "source"), sfh = 0;

		as(c, w->uid, w->gid);
		rg = src ? f_open(c, src, O_RDONLY, 0, &sfh) : -ENOENT;
		if (!rg) {
			rg = f_copy(c, src, sfh, nodeid, fh, 0, 4);
			f_release(c, FUSE_RELEASE, src, sfh);
		}
	}
	if (fh)
		f_release(c, FUSE_RELEASE, nodeid, fh);
	ms = mode_of(c, rel, false);
	mh = mode_of(c, rel, true);
	check(c, rg == rh && ms == mh,
	      "%s by %s%s on a %04o file of uid %d: share %04o (%s), host "
	      "%04o (%s)",
	      opnames[op], who_s, kill ? " with KILL_SUIDGID" : "",
	      before & 07777, OTHER, ms & 07777, ename(rg), mh & 07777,
	      ename(rh));
	as(c, 0, 0);
}

/* Files w<mode>, t<mode> and k<mode> owned by OTHER with each of
 * write_modes, and a root-owned "source" to copy from. */
static int make_write_files(struct ctx *c, const char *tag)
{
	size_t i;
	int r;

	for (i = 0; i < sizeof(write_modes) / sizeof(write_modes[0]); i++) {
		char n[32];

		snprintf(n, sizeof(n), "w%s%04o", tag, write_modes[i]);
		r = twin_file(c, n, OTHER, OTHER, write_modes[i]);
		if (r)
			return r;
		snprintf(n, sizeof(n), "t%s%04o", tag, write_modes[i]);
		r = twin_file(c, n, OTHER, OTHER, write_modes[i]);
		if (r)
			return r;
		snprintf(n, sizeof(n), "k%s%04o", tag, write_modes[i]);
		r = twin_file(c, n, OTHER, OTHER, write_modes[i]);
		if (r)
			return r;
	}
	if (mode_of(c, "source", false) == (mode_t)-1)
		return twin_file(c, "source", 0, 0, 0644);
	return 0;
}

/* Killpriv v1 (what Linux offers) or none: the daemon clears for any
 * requester but root, as a local write by that user would. */
static int case_suid_write(struct ctx *c, uint64_t offer, const char *what)
{
	struct who user = who_user();
	uint8_t capv[32];
	char p[256];
	size_t i;
	int r, rs, rh;

	r = f_init(c, offer);
	if (!check(c, !r, "INIT offering %s (%s)", what, ename(r)))
		return 0;
	check(c,
	      (offer & FUSE_HANDLE_KILLPRIV) ==
		      (c->flags & FUSE_HANDLE_KILLPRIV),
	      "FUSE_HANDLE_KILLPRIV agreed as offered (%s)",
	      c->flags & FUSE_HANDLE_KILLPRIV ? "on" : "off");
	r = make_write_files(c, "");
	if (r)
		return r;
	for (i = 0; i < sizeof(write_modes) / sizeof(write_modes[0]); i++) {
		char n[32];

		snprintf(n, sizeof(n), "w%04o", write_modes[i]);
		write_vs_host(c, n, HOP_WRITE, false, &user, "uid 1000");
		snprintf(n, sizeof(n), "t%04o", write_modes[i]);
		write_vs_host(c, n, HOP_OPEN_TRUNC, false, &user, "uid 1000");
		snprintf(n, sizeof(n), "k%04o", write_modes[i]);
		write_vs_host(c, n, HOP_COPY, false, &user, "uid 1000");
	}
	/* The comparison is not empty: the host does clear here. */
	check(c, !(mode_of(c, "w6777", true) & (S_ISUID | S_ISGID)),
	      "the host cleared both bits of w6777 (%04o)",
	      mode_of(c, "w6777", true) & 07777);

	/* A file capability goes with any write, as on the host. */
	r = twin_file(c, "capfile", OTHER, OTHER, 0777);
	if (!r)
		r = twin_xattr(c, "capfile", "security.capability", capv,
			       cap_value(capv));
	if (r)
		return r;
	write_vs_host(c, "capfile", HOP_WRITE, false, &user, "uid 1000");
	spath(c, "capfile", p, sizeof(p));
	rs = lgetxattr(p, "security.capability", NULL, 0) < 0 ? -errno : 0;
	rpath(c, "capfile", p, sizeof(p));
	rh = lgetxattr(p, "security.capability", NULL, 0) < 0 ? -errno : 0;
	check(c, rs == rh,
	      "security.capability after the write: share %s, host %s",
	      ename(rs), ename(rh));
	still_serving(c, "the writes");
	expect_clean_exit(c);
	return 0;
}

static int case_suid_write_v1(struct ctx *c)
{
	return case_suid_write(c, OFFER_BASE | FUSE_HANDLE_KILLPRIV,
			       "FUSE_HANDLE_KILLPRIV");
}

static int case_suid_write_none(struct ctx *c)
{
	return case_suid_write(c, OFFER_BASE, "no killpriv");
}

/* Killpriv v2: the request's flag says whether to clear, root included
 * (a guest root without CAP_FSETID sends it). */
static int case_suid_write_v2(struct ctx *c)
{
	struct who user = who_user();
	struct who root = who_root(c);
	struct who root_nofsetid = who_root(c);
	size_t i;
	int r;

	root_nofsetid.caps &= ~CAPBIT(CAP_FSETID);
	r = f_init(c, OFFER_BASE | FUSE_HANDLE_KILLPRIV_V2);
	if (!check(c, !r, "INIT offering FUSE_HANDLE_KILLPRIV_V2 (%s)",
		   ename(r)))
		return 0;
	if (!check(c, c->flags & FUSE_HANDLE_KILLPRIV_V2,
		   "FUSE_HANDLE_KILLPRIV_V2 agreed (--killpriv-v2)"))
		return 0;
	r = make_write_files(c, "u");
	if (!r)
		r = make_write_files(c, "r");
	if (!r)
		r = make_write_files(c, "k");
	if (r)
		return r;
	for (i = 0; i < sizeof(write_modes) / sizeof(write_modes[0]); i++) {
		char n[32];
		mode_t m = write_modes[i];

		snprintf(n, sizeof(n), "wu%04o", m);
		write_vs_host(c, n, HOP_WRITE, true, &user, "uid 1000");
		snprintf(n, sizeof(n), "tu%04o", m);
		write_vs_host(c, n, HOP_OPEN_TRUNC, true, &user, "uid 1000");
		snprintf(n, sizeof(n), "wr%04o", m);
		write_vs_host(c, n, HOP_WRITE, true, &root_nofsetid,
			      "root without CAP_FSETID");
		snprintf(n, sizeof(n), "tr%04o", m);
		write_vs_host(c, n, HOP_OPEN_TRUNC, true, &root_nofsetid,
			      "root without CAP_FSETID");
		snprintf(n, sizeof(n), "wk%04o", m);
		write_vs_host(c, n, HOP_WRITE, false, &root, "root");
		snprintf(n, sizeof(n), "tk%04o", m);
		write_vs_host(c, n, HOP_OPEN_TRUNC, false, &root, "root");
	}
	check(c, !(mode_of(c, "wr6777", true) & S_ISUID),
	      "the host cleared S_ISUID of wr6777 (%04o)",
	      mode_of(c, "wr6777", true) & 07777);
	still_serving(c, "the writes");
	expect_clean_exit(c);
	return 0;
}

static int case_suid_chown_root(struct ctx *c)
{
	static const mode_t modes[] = { 06755, 04755, 02755, 02745, 06777 };
	static const uint32_t valids[] = { FATTR_UID | FATTR_GID, FATTR_UID,
					   FATTR_GID };
	struct who root = who_root(c);
	size_t i, v;
	int r;

	r = f_init(c, OFFER_BASE | FUSE_HANDLE_KILLPRIV);
	if (!check(c, !r, "INIT (%s)", ename(r)))
		return 0;
	for (v = 0; v < 3; v++) {
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			struct fuse_setattr_in in = { .valid = valids[v],
						      .uid = GROUP,
						      .gid = GROUP };
			struct hop_args h = {
				.op = HOP_CHOWN,
				.uid = valids[v] & FATTR_UID ? GROUP :
							       (uid_t)-1,
				.gid = valids[v] & FATTR_GID ? GROUP : (gid_t)-1
			};
			char n[32], q[256], what[64];
			uint64_t nodeid;
			int rg, rh;

			snprintf(n, sizeof(n), "c%u-%04o", (unsigned)v,
				 modes[i]);
			r = twin_file(c, n, OTHER, OTHER, modes[i]);
			if (r)
				return r;
			nodeid = node_of(c, n);
			if (!nodeid)
				continue;
			rpath(c, n, q, sizeof(q));
			h.path = q;
			rh = host_as(&root, &h);
			as(c, 0, 0);
			rg = f_setattr(c, nodeid, &in);
			snprintf(what, sizeof(what),
				 "root SETATTR %s of a %04o file",
				 v == 0 ? "uid+gid" : (v == 1 ? "uid" : "gid"),
				 modes[i]);
			check(c, rg == rh, "%s: %s, host %s", what, ename(rg),
			      ename(rh));
			same_as_twin(c, n, what);
		}
	}
	still_serving(c, "chown");
	expect_clean_exit(c);
	return 0;
}

/* One SETATTR by uid 1000 and the same call by a local uid 1000. */
static void user_setattr(struct ctx *c, const char *rel, uint32_t valid,
			 mode_t mode, uid_t uid, gid_t gid, const char *what)
{
	struct fuse_setattr_in in = {
		.valid = valid, .mode = S_IFREG | mode, .uid = uid, .gid = gid
	};
	struct hop_args h = { .op = valid & FATTR_MODE ? HOP_CHMOD : HOP_CHOWN,
			      .mode = mode,
			      .uid = valid & FATTR_UID ? uid : (uid_t)-1,
			      .gid = valid & FATTR_GID ? gid : (gid_t)-1 };
	struct who user = who_user();
	uint64_t nodeid = node_of(c, rel);
	char q[256];
	int rg, rh;

	if (!nodeid)
		return;
	rpath(c, rel, q, sizeof(q));
	h.path = q;
	rh = host_as(&user, &h);
	as(c, USER, USER);
	rg = f_setattr(c, nodeid, &in);
	as(c, 0, 0);
	check(c, rg == rh, "uid 1000 %s: %s, host %s", what, ename(rg),
	      ename(rh));
	same_as_twin(c, rel, what);
}

static int case_suid_chmod_user(struct ctx *c)
{
	int r;

	r = f_init(c, OFFER_BASE | FUSE_HANDLE_KILLPRIV);
	if (!check(c, !r, "INIT (%s)", ename(r)))
		return 0;
	r = twin_file(c, "theirs", OTHER, OTHER, 0755);
	if (!r)
		r = twin_file(c, "mine", USER, USER, 0755);
	if (!r)
		r = twin_file(c, "theirs-suid", OTHER, OTHER, 06755);
	if (r)
		return r;
	user_setattr(c, "theirs", FATTR_MODE, 04755, 0, 0,
		     "chmod u+s of a file it does not own");
	user_setattr(c, "theirs", FATTR_MODE, 02755, 0, 0,
		     "chmod g+s of a file it does not own");
	user_setattr(c, "theirs", FATTR_MODE, 0777, 0, 0,
		     "chmod 0777 of a file it does not own");
	user_setattr(c, "theirs-suid", FATTR_MODE, 0777, 0, 0,
		     "chmod 0777 of a set-ID file it does not own");
	user_setattr(c, "theirs", FATTR_UID, 0, USER, 0,
		     "chown to itself of a file it does not own");
	user_setattr(c, "theirs", FATTR_GID, 0, 0, USER,
		     "chgrp to its group of a file it does not own");
	user_setattr(c, "mine", FATTR_UID, 0, OTHER, 0,
		     "chown of its own file to another user");
	user_setattr(c, "mine", FATTR_MODE, 04755, 0, 0,
		     "chmod u+s of its own file");
	still_serving(c, "chmod and chown");
	expect_clean_exit(c);
	return 0;
}

/* Create @rel in the set-group-ID directory as the guest user and as a
 * local one with the same groups; compare the results. */
static void sgid_create(struct ctx *c, enum hop op, const char *rel,
			uint64_t dirnode, bool member)
{
	struct who user = who_user();
	struct hop_args h = { .op = op, .mode = 02755 };
	const char *name = strrchr(rel, '/') + 1;
	const char *opname = op == HOP_CREATE ? "CREATE" :
			     op == HOP_MKNOD  ? "MKNOD" :
			     op == HOP_MKDIR  ? "MKDIR" :
						"TMPFILE";
	struct fuse_entry_out e;
	char q[256], what[96];
	int rg, rh;

	user.has_supp = member;
	user.supp = GROUP;
	if (op == HOP_MKNOD)
		h.mode |= S_IFREG;
	rpath(c, op == HOP_TMPFILE ? "sg" : rel, q, sizeof(q));
	h.path = q;
	rh = host_as(&user, &h);
	as(c, USER, USER);
	c->supp = member;
	c->supp_gid = GROUP;
	switch (op) {
	case HOP_CREATE:
		rg = f_create(c, dirnode, name, O_CREAT | O_EXCL | O_RDWR,
			      S_IFREG | 02755, NULL, NULL);
		break;
	case HOP_MKNOD:
		rg = f_mknod(c, dirnode, name, S_IFREG | 02755, 0, NULL);
		break;
	case HOP_MKDIR:
		rg = f_mkdir(c, dirnode, name, 02755);
		break;
	default:
		rg = f_create(c, dirnode, NULL, O_RDWR, S_IFREG | 02755, &e,
			      NULL);
		/* The unnamed file, as the daemon sees it: link it in. */
		if (!rg)
			rg = f_link(c, e.nodeid, dirnode, name);
		break;
	}
	as(c, 0, 0);
	snprintf(what, sizeof(what), "uid 1000 (%s group %d) %s 02755",
		 member ? "in" : "not in", GROUP, opname);
	check(c, rg == rh, "%s: %s, host %s", what, ename(rg), ename(rh));
	if (rg || rh)
		return;
	if (op == HOP_TMPFILE) {
		struct stat st;
		char p[256];

		spath(c, rel, p, sizeof(p));
		check(c,
		      !lstat(p, &st) && st.st_mode == hres->st.st_mode &&
			      st.st_uid == hres->st.st_uid &&
			      st.st_gid == hres->st.st_gid,
		      "%s: %06o %u:%u in the share, %06o %u:%u on the host",
		      what, st.st_mode, st.st_uid, st.st_gid, hres->st.st_mode,
		      hres->st.st_uid, hres->st.st_gid);
		return;
	}
	same_as_twin(c, rel, what);
}

static int case_sgid_dir_create(struct ctx *c)
{
	static const enum hop ops[] = { HOP_CREATE, HOP_MKNOD, HOP_MKDIR,
					HOP_TMPFILE };
	uint64_t dirnode;
	size_t i, m;
	int r;

	r = f_init(c, OFFER_BASE | FUSE_HANDLE_KILLPRIV);
	if (!check(c, !r, "INIT (%s)", ename(r)))
		return 0;
	if (!check(c, c->flags & FUSE_CREATE_SUPP_GROUP,
		   "FUSE_CREATE_SUPP_GROUP agreed"))
		return 0;
	r = twin_dir(c, "sg", 0, GROUP, 02777);
	if (r)
		return r;
	dirnode = node_of(c, "sg");
	if (!dirnode)
		return 0;
	for (m = 0; m < 2; m++) {
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			char rel[32];

			snprintf(rel, sizeof(rel), "sg/%c%s", "cndt"[i],
				 m ? "-member" : "");
			sgid_create(c, ops[i], rel, dirnode, m);
		}
	}
	/* The comparison is not empty: the host dropped the bit here. */
	check(c, !(mode_of(c, "sg/c", true) & S_ISGID),
	      "the host dropped S_ISGID of sg/c (%04o)",
	      mode_of(c, "sg/c", true) & 07777);
	still_serving(c, "creating in a set-group-ID directory");
	expect_clean_exit(c);
	return 0;
}

/* ---- extended attributes ---- */

/* A valid access ACL granting uid 1000 rwx (system.posix_acl_access). */
static size_t acl_value(uint8_t *buf)
{
	static const struct {
		uint16_t tag, perm;
		uint32_t id;
	} ents[] = {
		{ 0x01, 6, (uint32_t)-1 }, /* USER_OBJ rw- */
		{ 0x02, 7, USER }, /* USER 1000 rwx */
		{ 0x04, 4, (uint32_t)-1 }, /* GROUP_OBJ r-- */
		{ 0x10, 7, (uint32_t)-1 }, /* MASK rwx */
		{ 0x20, 4, (uint32_t)-1 }, /* OTHER r-- */
	};
	uint32_t version = 2;

	memcpy(buf, &version, 4);
	memcpy(buf + 4, ents, sizeof(ents));
	return 4 + sizeof(ents);
}

enum xop { XSET, XGET, XLIST, XREMOVE };

static bool list_has(const char *list, size_t len, const char *name)
{
	size_t i;

	for (i = 0; i < len; i += strnlen(list + i, len - i) + 1)
		if (!strncmp(list + i, name, len - i))
			return true;
	return false;
}

/* Two xattr name lists of @len bytes hold the same names (in any order). */
static bool same_names(const char *a, const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += strnlen(a + i, len - i) + 1)
		if (!list_has(b, len, a + i))
			return false;
	return true;
}

/*
 * The guest (as c->uid/gid) and a local process @w do the same xattr
 * operation on share/@rel and its twin; answers (and values read) must
 * agree. Returns the guest's answer.
 */
static int xattr_vs_host(struct ctx *c, const struct who *w, enum xop op,
			 const char *rel, const char *name, const void *value,
			 size_t vlen, size_t cap)
{
	static char got[XATTR_LIST_MAX];
	static const char *const opnames[] = { "SETXATTR", "GETXATTR",
					       "LISTXATTR", "REMOVEXATTR" };
	struct hop_args h = { .name = name,
			      .value = value,
			      .size = op == XSET ? vlen : cap };
	uint64_t nodeid = node_of(c, rel);
	size_t len = 0;
	char q[256];
	int rg, rh;

	if (!nodeid)
		return -ENOENT;
	h.op = op == XSET  ? HOP_SETXATTR :
	       op == XGET  ? HOP_GETXATTR :
	       op == XLIST ? HOP_LISTXATTR :
			     HOP_REMOVEXATTR;
	rpath(c, rel, q, sizeof(q));
	h.path = q;
	rh = host_as(w, &h);
	as(c, w->uid, w->gid);
	switch (op) {
	case XSET:
		rg = f_setxattr(c, nodeid, name, value, vlen, 0);
		break;
	case XGET:
		rg = f_getxattr(c, nodeid, name, cap ? got : NULL, cap, &len);
		break;
	case XLIST:
		rg = f_getxattr(c, nodeid, NULL, cap ? got : NULL, cap, &len);
		break;
	default:
		rg = f_removexattr(c, nodeid, name);
		break;
	}
	as(c, 0, 0);
	if (!rg && !rh && (op == XGET || op == XLIST)) {
		bool same = len == hres->len &&
			    (!cap ||
			     (op == XLIST ? same_names(got, hres->data, len) :
					    !memcmp(got, hres->data, len)));

		check(c, same,
		      "uid %u %s %s %s (size %zu): %zu bytes, host %zu bytes%s",
		      w->uid, opnames[op], rel, name ? name : "", cap, len,
		      hres->len, same ? "" : ", different");
		return rg;
	}
	check(c, rg == rh, "uid %u %s %s %s: %s, host %s", w->uid, opnames[op],
	      rel, name ? name : "", ename(rg), ename(rh));
	return rg;
}

/* share/@rel's xattr @name has exactly @value (or is absent: NULL). */
static void xattr_is(struct ctx *c, const char *rel, const char *name,
		     const char *value)
{
	char p[256], buf[256];
	ssize_t n;

	spath(c, rel, p, sizeof(p));
	n = lgetxattr(p, name, buf, sizeof(buf));
	if (value)
		check(c,
		      n == (ssize_t)strlen(value) &&
			      !memcmp(buf, value, (size_t)n),
		      "%s of %s still \"%s\" in the share", name, rel, value);
	else
		check(c, n < 0 && errno == ENODATA,
		      "%s of %s still absent in the share (%zd)", name, rel, n);
}

static int xattr_setup(struct ctx *c)
{
	int r;

	r = f_init(c, OFFER_BASE | FUSE_HANDLE_KILLPRIV);
	if (!check(c, !r, "INIT (%s)", ename(r)))
		return r ? r : -EIO;
	r = twin_file(c, "xo", OTHER, OTHER, 0644);
	if (!r)
		r = twin_file(c, "xmine", USER, USER, 0644);
	if (!r)
		r = twin_file(c, "xpriv", OTHER, OTHER, 0600);
	if (!r)
		r = twin_dir(c, "sticky", OTHER, OTHER, 01777);
	if (!r)
		r = twin_xattr(c, "xo", "trusted.vfsd", "secret", 6);
	if (!r)
		r = twin_xattr(c, "xo", "security.vfsd", "label", 5);
	if (!r)
		r = twin_xattr(c, "xo", "user.vfsd", "u", 1);
	if (!r)
		r = twin_xattr(c, "xpriv", "user.vfsd", "p", 1);
	if (!r)
		r = twin_xattr(c, "xpriv", "trusted.vfsd", "secret", 6);
	if (!r)
		r = twin_xattr(c, "xmine", "trusted.vfsd", "mine", 4);
	return r;
}

static int case_xattr_user(struct ctx *c)
{
	struct who user = who_user();
	uint8_t acl[64], capv[32];
	size_t acl_len = acl_value(acl), cap_len = cap_value(capv);
	int r;

	r = xattr_setup(c);
	if (r)
		return r == -EIO ? 0 : r;
	/* trusted.*: no writes, no values, no names */
	xattr_vs_host(c, &user, XSET, "xo", "trusted.vfsd", "x", 1, 0);
	xattr_vs_host(c, &user, XSET, "xmine", "trusted.new", "x", 1, 0);
	xattr_vs_host(c, &user, XSET, "xmine", "trusted.vfsd", "x", 1, 0);
	xattr_vs_host(c, &user, XREMOVE, "xo", "trusted.vfsd", NULL, 0, 0);
	xattr_vs_host(c, &user, XREMOVE, "xmine", "trusted.vfsd", NULL, 0, 0);
	xattr_vs_host(c, &user, XGET, "xo", "trusted.vfsd", NULL, 0, 256);
	xattr_vs_host(c, &user, XGET, "xo", "trusted.vfsd", NULL, 0, 0);
	xattr_vs_host(c, &user, XGET, "xmine", "trusted.vfsd", NULL, 0, 256);
	xattr_vs_host(c, &user, XLIST, "xo", NULL, NULL, 0, 0);
	xattr_vs_host(c, &user, XLIST, "xo", NULL, NULL, 0, 4096);
	xattr_vs_host(c, &user, XLIST, "xmine", NULL, NULL, 0, 4096);
	/* security.*: no writes (capabilities included); reads as the host */
	xattr_vs_host(c, &user, XSET, "xo", "security.vfsd", "x", 1, 0);
	xattr_vs_host(c, &user, XSET, "xmine", "security.vfsd", "x", 1, 0);
	xattr_vs_host(c, &user, XREMOVE, "xo", "security.vfsd", NULL, 0, 0);
	xattr_vs_host(c, &user, XSET, "xmine", "security.capability", capv,
		      cap_len, 0);
	xattr_vs_host(c, &user, XGET, "xo", "security.vfsd", NULL, 0, 256);
	/* user.*: the file's permissions; sticky directories */
	xattr_vs_host(c, &user, XSET, "xo", "user.vfsd", "x", 1, 0);
	xattr_vs_host(c, &user, XREMOVE, "xo", "user.vfsd", NULL, 0, 0);
	xattr_vs_host(c, &user, XGET, "xo", "user.vfsd", NULL, 0, 256);
	xattr_vs_host(c, &user, XGET, "xpriv", "user.vfsd", NULL, 0, 256);
	xattr_vs_host(c, &user, XLIST, "xpriv", NULL, NULL, 0, 4096);
	xattr_vs_host(c, &user, XSET, "sticky", "user.x", "x", 1, 0);
	xattr_vs_host(c, &user, XSET, "xmine", "user.new", "x", 1, 0);
	xattr_vs_host(c, &user, XREMOVE, "xmine", "user.new", NULL, 0, 0);
	/* ACLs: only the owner */
	xattr_vs_host(c, &user, XSET, "xo", "system.posix_acl_access", acl,
		      acl_len, 0);
	xattr_vs_host(c, &user, XSET, "xmine", "system.posix_acl_access", acl,
		      acl_len, 0);

	/* Nothing the user had no right to change changed. */
	xattr_is(c, "xo", "trusted.vfsd", "secret");
	xattr_is(c, "xmine", "trusted.vfsd", "mine");
	xattr_is(c, "xmine", "trusted.new", NULL);
	xattr_is(c, "xo", "security.vfsd", "label");
	xattr_is(c, "xmine", "security.vfsd", NULL);
	xattr_is(c, "xmine", "security.capability", NULL);
	xattr_is(c, "xo", "user.vfsd", "u");
	xattr_is(c, "sticky", "user.x", NULL);
	xattr_is(c, "xo", "system.posix_acl_access", NULL);
	same_as_twin(c, "xo", "after the ACL attempts");
	same_as_twin(c, "xmine", "after the ACL attempts");
	still_serving(c, "the xattr requests");
	expect_clean_exit(c);
	return 0;
}

static int case_xattr_root(struct ctx *c)
{
	struct who root = who_root(c);
	uint8_t capv[32];
	size_t cap_len = cap_value(capv);
	int r;

	r = xattr_setup(c);
	if (r)
		return r == -EIO ? 0 : r;
	printf("# the serving process's CapEff: %016llx (CAP_SYS_ADMIN %s)\n",
	       (unsigned long long)c->dcaps,
	       c->dcaps & CAPBIT(CAP_SYS_ADMIN) ? "kept" : "dropped");
	xattr_vs_host(c, &root, XGET, "xo", "trusted.vfsd", NULL, 0, 256);
	xattr_vs_host(c, &root, XLIST, "xo", NULL, NULL, 0, 4096);
	r = xattr_vs_host(c, &root, XSET, "xo", "trusted.root", "r", 1, 0);
	xattr_is(c, "xo", "trusted.root", r ? NULL : "r");
	r = xattr_vs_host(c, &root, XREMOVE, "xo", "trusted.vfsd", NULL, 0, 0);
	xattr_is(c, "xo", "trusted.vfsd", r ? "secret" : NULL);
	r = xattr_vs_host(c, &root, XSET, "xo", "security.root", "s", 1, 0);
	xattr_is(c, "xo", "security.root", r ? NULL : "s");
	r = xattr_vs_host(c, &root, XSET, "xmine", "security.capability", capv,
			  cap_len, 0);
	xattr_vs_host(c, &root, XGET, "xmine", "security.capability", NULL, 0,
		      256);
	xattr_vs_host(c, &root, XSET, "xo", "user.root", "u", 1, 0);
	xattr_vs_host(c, &root, XLIST, "xo", NULL, NULL, 0, 4096);
	still_serving(c, "the xattr requests");
	expect_clean_exit(c);
	return 0;
}

/* ---- read-only ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL,
			      b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort(); /* out of memory in the test itself */
	}
}

static uint64_t hash_file(const char *path)
{
	uint64_t h = 1469598103934665603ULL;
	uint8_t buf[4096];
	ssize_t n, i;
	int fd = open(path, O_RDONLY | O_NOATIME | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
	close(fd);
	return h;
}

/* One line per object under @path: everything a change would touch
 * except atime. */
static void snapshot(struct sbuf *b, const char *path, const char *rel)
{
	struct dirent **names = NULL;
	char list[4096], val[512];
	struct stat st;
	ssize_t ln, vn;
	int n, i;

	if (lstat(path, &st) < 0) {
		sb_printf(b, "%s: %s\n", rel, strerror(errno));
		return;
	}
	sb_printf(
		b,
		"%s %06o %u:%u size %lld nlink %lu rdev %lx mtime %lld.%09ld ctime %lld.%09ld",
		rel, st.st_mode, st.st_uid, st.st_gid, (long long)st.st_size,
		(unsigned long)st.st_nlink, (unsigned long)st.st_rdev,
		(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		(long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	if (S_ISREG(st.st_mode))
		sb_printf(b, " data %016llx",
			  (unsigned long long)hash_file(path));
	if (S_ISLNK(st.st_mode)) {
		char t[256];
		ssize_t tn = readlink(path, t, sizeof(t) - 1);

		t[tn > 0 ? tn : 0] = '\0';
		sb_printf(b, " -> %s", t);
	}
	ln = llistxattr(path, list, sizeof(list));
	for (i = 0; ln > 0 && i < ln; i += (int)strlen(list + i) + 1) {
		ssize_t k;

		vn = lgetxattr(path, list + i, val, sizeof(val));
		sb_printf(b, " %s=", list + i);
		for (k = 0; k < vn; k++)
			sb_printf(b, "%02x", (uint8_t)val[k]);
	}
	sb_printf(b, "\n");
	if (!S_ISDIR(st.st_mode))
		return;
	n = scandir(path, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		char p[512], r[512];

		if (strcmp(names[i]->d_name, ".") &&
		    strcmp(names[i]->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", path, names[i]->d_name);
			snprintf(r, sizeof(r), "%s/%s", rel, names[i]->d_name);
			snapshot(b, p, r);
		}
		free(names[i]);
	}
	free(names);
}

static void expect_erofs(struct ctx *c, int r, const char *what)
{
	check(c, r == -EROFS, "%s: %s (want EROFS)", what, ename(r));
}

static int case_readonly(struct ctx *c)
{
	static const char content[] = "read-only content\n";
	struct sbuf before = { 0 }, after = { 0 };
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	uint64_t f, d, empty, l, fh = 0, dfh = 0;
	char buf[4096], p[256];
	size_t len = 0;
	int r;

	/* The tree: f (with user.vfsd), d/g, empty/, l -> f, fifo. */
	spath(c, "f", p, sizeof(p));
	r = tu_write_file(p, content, sizeof(content) - 1);
	if (r || lsetxattr(p, "user.vfsd", "v", 1, 0) < 0)
		return r ? r : -errno;
	spath(c, "d", p, sizeof(p));
	if (mkdir(p, 0755) < 0)
		return -errno;
	spath(c, "d/g", p, sizeof(p));
	r = tu_write_file(p, "g", 1);
	if (r)
		return r;
	spath(c, "empty", p, sizeof(p));
	if (mkdir(p, 0755) < 0)
		return -errno;
	spath(c, "l", p, sizeof(p));
	if (symlink("f", p) < 0)
		return -errno;
	spath(c, "fifo", p, sizeof(p));
	if (mkfifo(p, 0644) < 0)
		return -errno;
	snapshot(&before, c->share, ".");

	r = f_init(c, OFFER_BASE | FUSE_HANDLE_KILLPRIV);
	if (!check(c, !r, "INIT (%s)", ename(r)))
		goto out;
	as(c, 0, 0);

	/* Reads work. */
	f = node_of(c, "f");
	d = node_of(c, "d");
	empty = node_of(c, "empty");
	l = node_of(c, "l");
	if (!f || !d || !empty || !l)
		goto out;
	r = f_lookup(c, d, "g", &e);
	check(c, !r, "LOOKUP d/g (%s)", ename(r));
	r = f_getattr(c, f, &a);
	check(c, !r && a.attr.size == sizeof(content) - 1,
	      "GETATTR f (%s, size %llu)", ename(r),
	      (unsigned long long)a.attr.size);
	r = f_open(c, f, O_RDONLY, 0, &fh);
	check(c, !r, "OPEN f O_RDONLY (%s)", ename(r));
	if (!r) {
		r = f_read(c, f, fh, 0, buf, sizeof(buf), &len);
		check(c,
		      !r && len == sizeof(content) - 1 &&
			      !memcmp(buf, content, len),
		      "READ f (%s, %zu bytes)", ename(r), len);
	}
	{
		struct fuse_open_in oin = { .flags = O_RDONLY };
		struct iovec oa[] = { ARG(oin) };
		struct fuse_open_out oo = { 0 };
		struct fuse_read_in rin = { .size = sizeof(buf) };
		struct iovec ra[] = { ARG(rin) };

		r = req_fixed(c, FUSE_OPENDIR, FUSE_ROOT_ID, oa, 1, &oo,
			      sizeof(oo));
		check(c, !r, "OPENDIR / (%s)", ename(r));
		if (!r) {
			dfh = oo.fh;
			rin.fh = dfh;
			len = 0;
			r = req(c, FUSE_READDIR, FUSE_ROOT_ID, ra, 1, buf,
				sizeof(buf), &len);
			check(c, !r && memmem(buf, len, "empty", 5),
			      "READDIR / (%s, %zu bytes, lists \"empty\")",
			      ename(r), len);
			f_release(c, FUSE_RELEASEDIR, FUSE_ROOT_ID, dfh);
		}
	}
	len = 0;
	r = req(c, FUSE_READLINK, l, NULL, 0, buf, sizeof(buf), &len);
	check(c, !r && len == 1 && buf[0] == 'f', "READLINK l (%s)", ename(r));
	r = f_getxattr(c, f, "user.vfsd", buf, sizeof(buf), &len);
	check(c, !r && len == 1 && buf[0] == 'v', "GETXATTR user.vfsd (%s)",
	      ename(r));
	r = f_getxattr(c, f, NULL, buf, sizeof(buf), &len);
	check(c, !r && memmem(buf, len, "user.vfsd", 10), "LISTXATTR f (%s)",
	      ename(r));

	/* Every change is refused. */
	{
		static const struct {
			uint32_t valid;
			const char *what;
		} sa[] = {
			{ FATTR_MODE, "SETATTR mode" },
			{ FATTR_SIZE, "SETATTR size" },
			{ FATTR_ATIME | FATTR_MTIME, "SETATTR times" },
			{ FATTR_ATIME_NOW | FATTR_MTIME_NOW,
			  "SETATTR times now" },
			{ FATTR_UID | FATTR_GID, "SETATTR owner" },
			{ FATTR_SIZE | FATTR_FH, "SETATTR size with fh" },
		};
		size_t i;

		for (i = 0; i < sizeof(sa) / sizeof(sa[0]); i++) {
			struct fuse_setattr_in in = {
				.valid = sa[i].valid,
				.fh = fh,
				.mode = S_IFREG | 0600,
				.size = 0,
				.atime = 1,
				.mtime = 1,
				.uid = USER,
				.gid = USER,
			};

			expect_erofs(c, f_setattr(c, f, &in), sa[i].what);
		}
	}
	expect_erofs(c, f_mknod(c, FUSE_ROOT_ID, "n", S_IFREG | 0644, 0, NULL),
		     "MKNOD regular");
	expect_erofs(c, f_mknod(c, FUSE_ROOT_ID, "n", S_IFIFO | 0644, 0, NULL),
		     "MKNOD FIFO");
	expect_erofs(c, f_mkdir(c, FUSE_ROOT_ID, "nd", 0755), "MKDIR");
	expect_erofs(c, f_symlink(c, FUSE_ROOT_ID, "nl", "f"), "SYMLINK");
	expect_erofs(c, f_link(c, f, FUSE_ROOT_ID, "hl"), "LINK");
	expect_erofs(c, f_remove(c, FUSE_UNLINK, FUSE_ROOT_ID, "f"),
		     "UNLINK f");
	expect_erofs(c, f_remove(c, FUSE_UNLINK, FUSE_ROOT_ID, "l"),
		     "UNLINK l");
	expect_erofs(c, f_remove(c, FUSE_RMDIR, FUSE_ROOT_ID, "empty"),
		     "RMDIR empty");
	expect_erofs(c, f_rename(c, false, FUSE_ROOT_ID, "f", d, "f2", 0),
		     "RENAME");
	expect_erofs(
		c, f_rename(c, true, FUSE_ROOT_ID, "f", FUSE_ROOT_ID, "f2", 0),
		"RENAME2 flags 0");
	expect_erofs(c,
		     f_rename(c, true, FUSE_ROOT_ID, "f", FUSE_ROOT_ID, "f2",
			      RENAME_NOREPLACE),
		     "RENAME2 NOREPLACE");
	expect_erofs(c,
		     f_rename(c, true, FUSE_ROOT_ID, "f", FUSE_ROOT_ID, "d",
			      RENAME_EXCHANGE),
		     "RENAME2 EXCHANGE");
	expect_erofs(c,
		     f_rename(c, true, FUSE_ROOT_ID, "f", FUSE_ROOT_ID, "f2",
			      RENAME_WHITEOUT),
		     "RENAME2 WHITEOUT");
	expect_erofs(c,
		     f_create(c, FUSE_ROOT_ID, "new", O_CREAT | O_EXCL | O_RDWR,
			      S_IFREG | 0644, NULL, NULL),
		     "CREATE new O_EXCL");
	expect_erofs(c,
		     f_create(c, FUSE_ROOT_ID, "f", O_CREAT | O_RDWR,
			      S_IFREG | 0644, NULL, NULL),
		     "CREATE existing f O_RDWR");
	expect_erofs(c,
		     f_create(c, FUSE_ROOT_ID, "f", O_CREAT | O_TRUNC,
			      S_IFREG | 0644, NULL, NULL),
		     "CREATE existing f O_TRUNC");
	expect_erofs(c,
		     f_create(c, FUSE_ROOT_ID, NULL, O_RDWR, S_IFREG | 0644,
			      NULL, NULL),
		     "TMPFILE");
	{
		static const uint32_t wflags[] = {
			O_WRONLY,	    O_RDWR,
			O_RDONLY | O_TRUNC, O_WRONLY | O_TRUNC,
			O_RDWR | O_APPEND,
		};
		size_t i;

		for (i = 0; i < sizeof(wflags) / sizeof(wflags[0]); i++) {
			uint64_t wfh = 0;
			char what[64];

			snprintf(what, sizeof(what), "OPEN f flags %#o",
				 wflags[i]);
			r = f_open(c, f, wflags[i], 0, &wfh);
			expect_erofs(c, r, what);
			if (!r)
				f_release(c, FUSE_RELEASE, f, wfh);
		}
	}
	expect_erofs(c, f_write(c, f, fh, 0, "x", 1, 0), "WRITE");
	expect_erofs(c, f_fallocate(c, f, fh, 0, 65536, 0), "FALLOCATE");
	expect_erofs(c, f_copy(c, f, fh, f, fh, 4096, 4), "COPY_FILE_RANGE");
	expect_erofs(c, f_setxattr(c, f, "user.vfsd", "w", 1, XATTR_REPLACE),
		     "SETXATTR user.vfsd");
	expect_erofs(c, f_setxattr(c, f, "user.new", "w", 1, 0),
		     "SETXATTR user.new");
	expect_erofs(c, f_setxattr(c, d, "trusted.new", "w", 1, 0),
		     "SETXATTR trusted.new on a directory");
	expect_erofs(c, f_removexattr(c, f, "user.vfsd"),
		     "REMOVEXATTR user.vfsd");
	as(c, USER, USER);
	expect_erofs(c, f_remove(c, FUSE_UNLINK, FUSE_ROOT_ID, "f"),
		     "UNLINK f as uid 1000");
	expect_erofs(c, f_mkdir(c, empty, "x", 0755), "MKDIR as uid 1000");
	as(c, 0, 0);
	if (fh)
		f_release(c, FUSE_RELEASE, f, fh);
	still_serving(c, "the refused changes");
	expect_clean_exit(c);

	snapshot(&after, c->share, ".");
	if (!check(c,
		   before.len == after.len &&
			   !memcmp(before.p, after.p, before.len),
		   "the share is unchanged (%zu bytes of listing)",
		   before.len)) {
		printf("# before:\n%s# after:\n%s", before.p, after.p);
	}
out:
	free(before.p);
	free(after.p);
	return 0;
}

/* ---- driver ---- */

struct pcase {
	const char *name;
	int (*fn)(struct ctx *c);
	const char *const *extra; /* daemon arguments added */
	bool readonly; /* a case of the --readonly mode */
};

static const char *const killpriv_v2_args[] = { "--killpriv-v2", NULL };

static const struct pcase cases[] = {
	{ "special-nodes", case_special_nodes, NULL, false },
	{ "suid-write-killpriv", case_suid_write_v1, NULL, false },
	{ "suid-write-nokillpriv", case_suid_write_none, NULL, false },
	{ "suid-write-killpriv-v2", case_suid_write_v2, killpriv_v2_args,
	  false },
	{ "suid-chown-root", case_suid_chown_root, NULL, false },
	{ "suid-chmod-user", case_suid_chmod_user, NULL, false },
	{ "sgid-dir-create", case_sgid_dir_create, NULL, false },
	{ "xattr-user", case_xattr_user, NULL, false },
	{ "xattr-root", case_xattr_root, NULL, false },
	{ "readonly", case_readonly, NULL, true },
};

static int run_case(const struct pcase *pc, unsigned no)
{
	struct vhf_opts opts = { .timeout_ms = 5000, .nr_queues = 2 };
	struct ctx c = { .name = pc->name };
	int r;

	snprintf(c.dir, sizeof(c.dir), "%s/%u", tmpdir, no);
	snprintf(c.share, sizeof(c.share), "%s/share", c.dir);
	snprintf(c.ref, sizeof(c.ref), "%s/ref", c.dir);
	snprintf(c.sock, sizeof(c.sock), "%s/s", c.dir);
	snprintf(c.log, sizeof(c.log), "%s/log", c.dir);
	if (mkdir(c.dir, 0755) || mkdir(c.share, 0755) || mkdir(c.ref, 0755)) {
		check(&c, false, "set up the directories (%s)",
		      strerror(errno));
		return 1;
	}
	r = spawn(&c, pc->extra);
	if (!check(&c, !r, "start the daemon (%s)", strerror(-r)))
		return 1;
	opts.daemon_pid = c.pid;
	r = vhf_connect(&c.fe, c.sock, &opts);
	if (!check(&c, !r, "connect and set up the device (%s)", strerror(-r)))
		goto out;
	c.spid = tu_serving_pid(c.pid);
	r = proc_cap_eff(c.spid, &c.dcaps);
	if (!check(&c, !r, "CapEff of the serving process %d (%s)", (int)c.spid,
		   strerror(-r)))
		goto out;
	r = pc->fn(&c);
	check(&c, !r, "case ran (%s)", strerror(-r));
out:
	if (c.fe) {
		vhf_disconnect(c.fe);
		c.fe = NULL;
	}
	if (!c.reaped && reap(&c, REAP_MS)) {
		check(&c, false, "daemon still running at the end; killed");
		kill(c.pid, SIGKILL);
		reap(&c, REAP_MS);
	}
	if (c.fails || vhf_verbose) {
		vhf_note("%s: daemon %s; its log:", c.name,
			 tu_status_str(c.status));
		tu_dump_log(c.log);
	}
	tu_remove_tree(c.dir);
	return c.fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *filter = NULL;
	bool readonly = false;
	unsigned i, nfail = 0, nrun = 0;
	int a;

	for (a = 1; a < argc && strcmp(argv[a], "--"); a++) {
		if (!strcmp(argv[a], "-v"))
			vhf_verbose = 1;
		else if (!strcmp(argv[a], "-k") && a + 1 < argc)
			filter = argv[++a];
		else if (!strcmp(argv[a], "--readonly"))
			readonly = true;
		else
			goto usage;
	}
	if (a + 1 >= argc)
		goto usage;
	daemon_argv = argv + a + 1;
	if (geteuid() != 0) {
		printf("# SKIP: needs root (chown, mknod, other users)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	hres = mmap(NULL, sizeof(*hres), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (hres == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hostile-privilege.XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0) {
		perror("mkdtemp");
		return 1;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].readonly != readonly)
			continue;
		if (filter && !strstr(cases[i].name, filter))
			continue;
		nrun++;
		if (run_case(&cases[i], i)) {
			nfail++;
			printf("# case %s failed\n", cases[i].name);
		}
	}
	rmdir(tmpdir);
	if (nfail || !nrun)
		printf("FAIL: %u of %u cases\n", nfail, nrun);
	else
		printf("PASS: %u cases\n", nrun);
	return nfail || !nrun ? 1 : 0;
usage:
	fprintf(stderr,
		"usage: %s [-v] [-k SUBSTRING] [--readonly] -- DAEMON ARGS...\n",
		argv[0]);
	return 2;
}
