// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hostile-escape: a malicious guest that tries to leave the shared
 * directory, against a real daemon through the vhost-user frontend
 * harness (tests/vhost/frontend.h).
 *
 *   hostile-escape [-v] [-k CASE] [--xattr] [--sandboxed] [--race-ms N]
 *                  -- DAEMON ARGS...
 *
 * "{sock}" and "{dir}" in the daemon's arguments are filled in. The host
 * layout is TOP/a/b/{outside,share,run} (BASE = TOP/a/b): "outside" is a
 * sibling of the share holding a marker (random content, also its xattr
 * values and a file name built from it), "run" the socket and the
 * daemon's log; the depth makes "../../.." from the share land in TOP.
 * One daemon serves every case in turn. --xattr: the daemon was started
 * with --xattr (xattr requests must be served, not ENOSYS). --sandboxed:
 * it runs in a chroot or namespace sandbox, and at the end every node fd
 * of the serving process must be on the sandbox root's mount.
 *
 * Every reply body is searched for the marker: it must never appear.
 * After every case: the root still answers GETATTR with the share root's
 * inode; no inotify event fired on TOP, TOP/a, BASE (entries created,
 * deleted or moved) or on outside/ and outside/sub/ (any event, reads
 * and opens included); those directories and the outside tree are
 * unchanged (names, inode, mode, links, owner, size, mtime, ctime, xattr
 * names and values); and no name the guest tried to create (they all
 * start with "vfsd-escape-PID-") exists in /, /etc, /tmp, TOP, TOP/a,
 * BASE or outside/.
 *
 * This runs as root against a daemon that may be broken: every request
 * that could change something is sent only through links and names that
 * lead into TOP, never to the host's own directories (links to /etc, /
 * and /proc get read-only probes).
 *
 * Cases:
 *   symlinks     links in the share pointing out (absolute, relative,
 *                dangling, to /etc and /): LOOKUP gives the link,
 *                READLINK its text, and nothing done to, under or
 *                through the link node follows it
 *   names        ".", "..", "", names with '/', 255/256+ bytes, no NUL,
 *                embedded NUL, from the root and a subdirectory, in every
 *                name-taking request
 *   dotdot-root  ".." of the root and of a subdirectory; READDIRPLUS of
 *                the root hands out no node for ".."
 *   hardlinks    LINK of the root, of directories, of a symlink
 *   rename-root  RENAME/RENAME2 with "..", into itself, EXCHANGE with
 *                the root's entries
 *   race         a host thread swaps a directory with symlinks to
 *                outside (RENAME_EXCHANGE) while the guest looks it up
 *                and opens, reads, creates and makes directories in it
 *   deep         a chain of 2000 directories (a path far beyond PATH_MAX)
 *                made, used and removed through FUSE
 *   proc-links   symlinks to /proc magic links
 *   nodeids      node ids the guest never received, and forgotten ones
 *
 * Prints TAP-like "ok"/"not ok" lines, one summary line per case and PASS
 * or FAIL; exit status 0 or 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

#define RQ 1 /* the request queue */
#define BODY_MAX 65536
#define XPORT (-100000) /* no reply: the transport failed */
#define PROTO (-100001) /* a reply that breaks the protocol */
#define DEEP 2000
#define SNAP_MAX 16
#define XBLOB_MAX 2048

/* ---- reporting ---- */

static const char *case_name = "setup";
static unsigned check_no, case_checks, case_fails, total_fails;

static bool check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	case_checks++;
	va_start(ap, fmt);
	tu_vcheck_line(ok, ++check_no, case_name, fmt, ap);
	va_end(ap);
	if (!ok) {
		case_fails++;
		total_fails++;
	}
	return ok;
}

static const char *ename(int r)
{
	static char bufs[16][32]; /* several in one message */
	static unsigned next;
	char *buf = bufs[next++ % 16];
	const char *n;

	if (r == 0)
		return "success";
	if (r == XPORT)
		return "no reply";
	if (r == PROTO)
		return "malformed reply";
	n = r < 0 && r >= -4095 ? strerrorname_np(-r) : NULL;
	if (n)
		return n;
	snprintf(buf, sizeof(bufs[0]), "error %d", r);
	return buf;
}

static bool is_errno(int r)
{
	return r < 0 && r >= -4095;
}

/* ---- the host side ---- */

static char top[64]; /* TOP, from mkdtemp() */
static char mid[96]; /* TOP/a */
static char base[128]; /* BASE = TOP/a/b, the share's parent */
static char share[160], outside[160], outside_sub[192], rundir[160];
static char sock_path[192], log_path[192];
static char marker[40]; /* the secret: must never reach the guest */
static size_t marker_len;
static char gprefix[40]; /* names the guest tries to create outside */
static int share_fd = -1; /* O_PATH of the share, host side */
static int ino_fd = -1;
static ino_t share_ino, base_ino, outside_ino, secret_ino;
static bool xattr_on;
static bool sandboxed; /* the daemon runs in a chroot or namespace sandbox */

static int pathf(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pathf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

struct hlink {
	const char *name;
	char target[160];
};

/*
 * The share's symlinks that point out of it into the test's own tree
 * (targets filled in at setup): every probe, changing ones included, is
 * sent through them. "../../.." from BASE/share is TOP.
 */
static struct hlink out_links[] = {
	{ "abs-file", "" }, /* BASE/outside/secret.txt */
	{ "abs-dir", "" }, /* BASE/outside */
	{ "rel-file", "../outside/secret.txt" },
	{ "rel-dir", "../outside" },
	{ "rel-up", "../../.." },
	{ "dangle-abs", "" }, /* BASE/outside/created-abs */
	{ "dangle-rel", "../outside/created-rel" },
};

/*
 * Links to the host's own directories and to /proc magic links get only
 * the probes that cannot change anything even if the daemon did follow
 * them: this runs as root, and a broken daemon must fail the test, not
 * damage the host.
 */
static struct hlink sys_links[] = {
	{ "etc", "/etc" },
	{ "slash", "/" },
};

static struct hlink proc_links[] = {
	{ "proc-root", "/proc/self/root" },
	{ "proc-cwd", "/proc/self/cwd" },
	{ "proc-fd3", "/proc/self/fd/3" },
	{ "proc-1-root", "/proc/1/root" },
	{ "proc-self", "/proc/self" },
	{ "proc-exe", "/proc/self/exe" },
	{ "thread-root", "/proc/thread-self/root" },
};

#define NLINKS(a) (sizeof(a) / sizeof((a)[0]))

static const char decoy[] = "decoy: inside the share\n";
static const char inside[] = "inside the share\n";

static int make_tree(void)
{
	char p[512];
	unsigned i;
	int r = 0;

	snprintf(marker, sizeof(marker), "vfsd-secret-%08lx%08lx",
		 (unsigned long)random(), (unsigned long)random());
	marker_len = strlen(marker);
	snprintf(gprefix, sizeof(gprefix), "vfsd-escape-%d-", (int)getpid());
	if (pathf(mid, sizeof(mid), "%s/a", top) ||
	    pathf(base, sizeof(base), "%s/b", mid) ||
	    pathf(share, sizeof(share), "%s/share", base) ||
	    pathf(outside, sizeof(outside), "%s/outside", base) ||
	    pathf(outside_sub, sizeof(outside_sub), "%s/sub", outside) ||
	    pathf(rundir, sizeof(rundir), "%s/run", base) ||
	    pathf(sock_path, sizeof(sock_path), "%s/sock", rundir) ||
	    pathf(log_path, sizeof(log_path), "%s/log", rundir))
		return -ENAMETOOLONG;
	if (mkdir(mid, 0755) || mkdir(base, 0755) || mkdir(share, 0755) ||
	    mkdir(outside, 0755) || mkdir(outside_sub, 0755) ||
	    mkdir(rundir, 0700))
		return -errno;

	/* outside: the marker as content, xattr values and a name */
	pathf(p, sizeof(p), "%s/secret.txt", outside);
	r = r ?: tu_write_file(p, marker, marker_len);
	if (!r && (setxattr(p, "user.vfsd.secret", marker, marker_len, 0) ||
		   setxattr(p, "trusted.vfsd.secret", marker, marker_len, 0)))
		r = -errno;
	if (!r &&
	    (setxattr(outside, "trusted.vfsd.secret", marker, marker_len, 0) ||
	     setxattr(outside, "user.vfsd.secret", marker, marker_len, 0)))
		r = -errno;
	pathf(p, sizeof(p), "%s/secret2.txt", outside_sub);
	r = r ?: tu_write_file(p, marker, marker_len);
	pathf(p, sizeof(p), "%s/listing-%s", outside, marker);
	r = r ?: tu_write_file(p, "", 0);
	if (r)
		return r;

	/* the share */
	pathf(p, sizeof(p), "%s/file.txt", share);
	r = r ?: tu_write_file(p, inside, sizeof(inside) - 1);
	if (!r && setxattr(p, "user.vfsd.inside", "inside", 6, 0))
		r = -errno;
	pathf(p, sizeof(p), "%s/victim", share);
	r = r ?: tu_write_file(p, "victim", 6);
	pathf(p, sizeof(p), "%s/forgettable", share);
	r = r ?: tu_write_file(p, "f", 1);
	pathf(p, sizeof(p), "%s/sub", share);
	if (!r && mkdir(p, 0755))
		r = -errno;
	pathf(p, sizeof(p), "%s/sub/file.txt", share);
	r = r ?: tu_write_file(p, inside, sizeof(inside) - 1);
	pathf(p, sizeof(p), "%s/sub/victim", share);
	r = r ?: tu_write_file(p, "victim", 6);
	pathf(p, sizeof(p), "%s/d", share);
	if (!r && mkdir(p, 0755))
		r = -errno;
	pathf(p, sizeof(p), "%s/d/secret.txt", share);
	r = r ?: tu_write_file(p, decoy, sizeof(decoy) - 1);
	if (r)
		return r;

	pathf(out_links[0].target, sizeof(out_links[0].target), "%s/secret.txt",
	      outside);
	pathf(out_links[1].target, sizeof(out_links[1].target), "%s", outside);
	pathf(out_links[5].target, sizeof(out_links[5].target),
	      "%s/created-abs", outside);
	for (i = 0; i < NLINKS(out_links); i++) {
		pathf(p, sizeof(p), "%s/%s", share, out_links[i].name);
		if (symlink(out_links[i].target, p))
			return -errno;
	}
	for (i = 0; i < NLINKS(sys_links); i++) {
		pathf(p, sizeof(p), "%s/%s", share, sys_links[i].name);
		if (symlink(sys_links[i].target, p))
			return -errno;
	}
	for (i = 0; i < NLINKS(proc_links); i++) {
		pathf(p, sizeof(p), "%s/%s", share, proc_links[i].name);
		if (symlink(proc_links[i].target, p))
			return -errno;
	}
	/* the race's partners of "d" */
	pathf(p, sizeof(p), "%s/d-rel", share);
	if (symlink("../outside", p))
		return -errno;
	pathf(p, sizeof(p), "%s/d-abs", share);
	if (symlink(outside, p))
		return -errno;
	return 0;
}

/* ---- what "nothing outside was touched" means ---- */

struct snap_ent {
	char name[320];
	struct stat st;
	char xattrs[XBLOB_MAX]; /* "name=value\n"... */
	size_t xlen;
};

struct snap {
	unsigned n;
	struct snap_ent e[SNAP_MAX];
	char base_names[512]; /* BASE's entries, sorted, '/'-separated */
	char top_names[512]; /* TOP's and TOP/a's */
};

static struct snap before;

static void snap_xattrs(const char *path, struct snap_ent *e)
{
	char names[1024];
	ssize_t len = llistxattr(path, names, sizeof(names));
	ssize_t i, v;

	e->xlen = 0;
	for (i = 0; len > 0 && i < len; i += (ssize_t)strlen(names + i) + 1) {
		char val[256];
		int w;

		v = lgetxattr(path, names + i, val, sizeof(val) - 1);
		if (v < 0)
			v = 0;
		val[v] = '\0';
		w = snprintf(e->xattrs + e->xlen, sizeof(e->xattrs) - e->xlen,
			     "%s=%s\n", names + i, val);
		if (w < 0 || (size_t)w >= sizeof(e->xattrs) - e->xlen)
			break;
		e->xlen += (size_t)w;
	}
}

static void snap_add(struct snap *s, const char *path, const char *label)
{
	struct snap_ent *e;

	if (s->n >= SNAP_MAX)
		return;
	e = &s->e[s->n++];
	snprintf(e->name, sizeof(e->name), "%s", label);
	if (lstat(path, &e->st))
		memset(&e->st, 0, sizeof(e->st));
	snap_xattrs(path, e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of @dir, joined with '/' (no "." and ".."). */
static void list_names(const char *dir, char *out, size_t cap)
{
	char *names[64];
	unsigned n = 0, i;
	struct dirent *e;
	size_t len = 0;
	DIR *d = opendir(dir);

	out[0] = '\0';
	if (!d) {
		snprintf(out, cap, "(cannot list: %s)", strerror(errno));
		return;
	}
	while ((e = readdir(d)) && n < 64) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++) {
		int w = snprintf(out + len, cap - len, "%s%s", i ? "/" : "",
				 names[i]);

		if (w > 0 && (size_t)w < cap - len)
			len += (size_t)w;
		free(names[i]);
	}
}

static void take_snap(struct snap *s)
{
	char p[512], label[320];
	struct dirent *e;
	const char *dirs[2] = { outside, outside_sub };
	unsigned i;

	memset(s, 0, sizeof(*s));
	snap_add(s, top, "TOP");
	snap_add(s, mid, "TOP/a");
	snap_add(s, base, "BASE");
	snap_add(s, outside, "outside");
	snap_add(s, outside_sub, "outside/sub");
	for (i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);

		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") ||
			    !strcmp(e->d_name, "..") ||
			    (i == 0 && !strcmp(e->d_name, "sub")))
				continue;
			pathf(p, sizeof(p), "%s/%s", dirs[i], e->d_name);
			snprintf(label, sizeof(label), "%s/%s",
				 i ? "outside/sub" : "outside", e->d_name);
			snap_add(s, p, label);
		}
		if (d)
			closedir(d);
	}
	list_names(base, s->base_names, sizeof(s->base_names));
	list_names(top, s->top_names, sizeof(s->top_names) / 2);
	list_names(mid, s->top_names + strlen(s->top_names) + 1,
		   sizeof(s->top_names) / 2);
}

static const struct snap_ent *snap_find(const struct snap *s, const char *n)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->e[i].name, n))
			return &s->e[i];
	return NULL;
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static const char *ino_mask_str(uint32_t m)
{
	static char s[160];
	static const struct {
		uint32_t bit;
		const char *name;
	} bits[] = {
		{ IN_ACCESS, "ACCESS" },
		{ IN_MODIFY, "MODIFY" },
		{ IN_ATTRIB, "ATTRIB" },
		{ IN_CLOSE_WRITE, "CLOSE_WRITE" },
		{ IN_CLOSE_NOWRITE, "CLOSE" },
		{ IN_OPEN, "OPEN" },
		{ IN_MOVED_FROM, "MOVED_FROM" },
		{ IN_MOVED_TO, "MOVED_TO" },
		{ IN_CREATE, "CREATE" },
		{ IN_DELETE, "DELETE" },
		{ IN_DELETE_SELF, "DELETE_SELF" },
		{ IN_MOVE_SELF, "MOVE_SELF" },
	};
	size_t len = 0;
	unsigned i;

	s[0] = '\0';
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if ((m & bits[i].bit) && len < sizeof(s))
			len += (size_t)snprintf(s + len, sizeof(s) - len,
						"%s%s", len ? "|" : "",
						bits[i].name);
	return s;
}

/* Read pending inotify events; report them when @report. */
static unsigned drain_events(bool report)
{
	char buf[8192] __attribute__((aligned(8)));
	unsigned n = 0;
	ssize_t len;

	while ((len = read(ino_fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + len) {
			const struct inotify_event *ev = (void *)p;

			if (report && n < 8)
				printf("#   inotify: wd %d %s \"%s\"\n", ev->wd,
				       ino_mask_str(ev->mask),
				       ev->len ? ev->name : "");
			n++;
			p += sizeof(*ev) + ev->len;
		}
	}
	return n;
}

static int add_watches(void)
{
	const uint32_t names = IN_CREATE | IN_DELETE | IN_MOVED_FROM |
			       IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;

	ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino_fd < 0)
		return -errno;
	if (inotify_add_watch(ino_fd, top, names) < 0 ||
	    inotify_add_watch(ino_fd, mid, names) < 0 ||
	    inotify_add_watch(ino_fd, base, names) < 0 ||
	    inotify_add_watch(ino_fd, outside, IN_ALL_EVENTS) < 0 ||
	    inotify_add_watch(ino_fd, outside_sub, IN_ALL_EVENTS) < 0)
		return -errno;
	return 0;
}

/* A name with the guest's prefix in @dir. */
static bool has_guest_name(const char *dir, char *found, size_t cap)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	bool hit = false;

	while (d && (e = readdir(d)) && !hit)
		if (!strncmp(e->d_name, gprefix, strlen(gprefix)))
			/* A cut name still names the hit. */
			hit = snprintf(found, cap, "%s/%s", dir, e->d_name) > 0;
	if (d)
		closedir(d);
	return hit;
}

static void outside_intact(void)
{
	const char *dirs[] = { "/", "/etc", "/tmp",  top,
			       mid, base,   outside, outside_sub };
	struct snap now;
	char found[600];
	unsigned i, n, bad = 0;

	n = drain_events(true);
	check(n == 0, "no inotify event on TOP, TOP/a, BASE or outside (%u)",
	      n);
	take_snap(&now);
	check(!strcmp(now.base_names, before.base_names),
	      "BASE lists %s (was %s)", now.base_names, before.base_names);
	check(!memcmp(now.top_names, before.top_names, sizeof(now.top_names)),
	      "TOP lists %s and TOP/a %s", now.top_names,
	      now.top_names + strlen(now.top_names) + 1);
	for (i = 0; i < before.n; i++) {
		const struct snap_ent *a = &before.e[i];
		const struct snap_ent *b = snap_find(&now, a->name);

		if (!b) {
			check(false, "%s still exists", a->name);
			bad++;
			continue;
		}
		if (a->st.st_ino != b->st.st_ino ||
		    a->st.st_mode != b->st.st_mode ||
		    a->st.st_nlink != b->st.st_nlink ||
		    a->st.st_uid != b->st.st_uid ||
		    a->st.st_gid != b->st.st_gid ||
		    a->st.st_size != b->st.st_size ||
		    !ts_eq(a->st.st_mtim, b->st.st_mtim) ||
		    !ts_eq(a->st.st_ctim, b->st.st_ctim) ||
		    a->xlen != b->xlen ||
		    memcmp(a->xattrs, b->xattrs, a->xlen)) {
			check(false,
			      "%s unchanged (mode %o->%o nlink %ju->%ju "
			      "uid %u->%u size %jd->%jd mtime %jd->%jd "
			      "ctime %jd.%09ld->%jd.%09ld xattrs %zu->%zu)",
			      a->name, a->st.st_mode, b->st.st_mode,
			      (uintmax_t)a->st.st_nlink,
			      (uintmax_t)b->st.st_nlink, a->st.st_uid,
			      b->st.st_uid, (intmax_t)a->st.st_size,
			      (intmax_t)b->st.st_size,
			      (intmax_t)a->st.st_mtim.tv_sec,
			      (intmax_t)b->st.st_mtim.tv_sec,
			      (intmax_t)a->st.st_ctim.tv_sec,
			      a->st.st_ctim.tv_nsec,
			      (intmax_t)b->st.st_ctim.tv_sec,
			      b->st.st_ctim.tv_nsec, a->xlen, b->xlen);
			bad++;
		}
	}
	check(now.n == before.n && !bad,
	      "outside tree unchanged: %u entries (was %u), %u changed", now.n,
	      before.n, bad);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (has_guest_name(dirs[i], found, sizeof(found)))
			check(false, "guest's name appeared outside: %s",
			      found);
	drain_events(false); /* our own opendir() of outside */
}

/* ---- the guest: FUSE requests ---- */

static struct vhf *fe;
static bool dead;
static uint8_t rbuf[sizeof(struct fuse_out_header) + BODY_MAX];
static unsigned marker_hits;

/* Node ids the daemon handed out, to tell them from ones it did not. */
#define SEEN_BITS (1u << 20)
static uint8_t seen[SEEN_BITS / 8];
static uint64_t max_seen = FUSE_ROOT_ID;
static unsigned seen_huge;

static void note_nodeid(uint64_t id)
{
	if (id < SEEN_BITS)
		seen[id / 8] |= (uint8_t)(1u << (id % 8));
	else
		seen_huge++;
	if (id > max_seen)
		max_seen = id;
}

static bool was_seen(uint64_t id)
{
	return id < SEEN_BITS && (seen[id / 8] & (1u << (id % 8)));
}

static const char *op_name(uint32_t op)
{
	switch (op) {
	case FUSE_LOOKUP:
		return "LOOKUP";
	case FUSE_GETATTR:
		return "GETATTR";
	case FUSE_SETATTR:
		return "SETATTR";
	case FUSE_READLINK:
		return "READLINK";
	case FUSE_SYMLINK:
		return "SYMLINK";
	case FUSE_MKNOD:
		return "MKNOD";
	case FUSE_MKDIR:
		return "MKDIR";
	case FUSE_UNLINK:
		return "UNLINK";
	case FUSE_RMDIR:
		return "RMDIR";
	case FUSE_RENAME:
		return "RENAME";
	case FUSE_RENAME2:
		return "RENAME2";
	case FUSE_LINK:
		return "LINK";
	case FUSE_OPEN:
		return "OPEN";
	case FUSE_READ:
		return "READ";
	case FUSE_WRITE:
		return "WRITE";
	case FUSE_STATFS:
		return "STATFS";
	case FUSE_RELEASE:
		return "RELEASE";
	case FUSE_GETXATTR:
		return "GETXATTR";
	case FUSE_LISTXATTR:
		return "LISTXATTR";
	case FUSE_SETXATTR:
		return "SETXATTR";
	case FUSE_REMOVEXATTR:
		return "REMOVEXATTR";
	case FUSE_OPENDIR:
		return "OPENDIR";
	case FUSE_READDIR:
		return "READDIR";
	case FUSE_READDIRPLUS:
		return "READDIRPLUS";
	case FUSE_RELEASEDIR:
		return "RELEASEDIR";
	case FUSE_CREATE:
		return "CREATE";
	case FUSE_TMPFILE:
		return "TMPFILE";
	case FUSE_FALLOCATE:
		return "FALLOCATE";
	case FUSE_FSYNC:
		return "FSYNC";
	}
	return "?";
}

/*
 * One request on RQ; the reply body (up to @cap bytes) goes to @out.
 * Returns 0, the reply's -errno, XPORT when no reply came (the daemon is
 * then considered gone) or PROTO for a malformed reply. Every body is
 * searched for the marker.
 */
static int fop(uint32_t op, uint64_t nodeid, const struct iovec *a, unsigned n,
	       void *out, size_t cap, size_t *got)
{
	struct fuse_out_header oh;
	size_t sizes[2] = { sizeof(oh), cap };
	size_t len = 0, body;
	int r;

	if (got)
		*got = 0;
	if (dead)
		return XPORT;
	if (cap > BODY_MAX)
		cap = sizes[1] = BODY_MAX;
	r = vhf_fuse(fe, RQ, op, nodeid, a, n, sizes, cap ? 2 : 1, rbuf,
		     sizeof(rbuf), &len);
	if (r) {
		check(false, "%s on node %#" PRIx64 " answered (%s)",
		      op_name(op), nodeid, strerror(-r));
		dead = true;
		return XPORT;
	}
	if (len < sizeof(oh)) {
		check(false, "%s: reply of %zu bytes", op_name(op), len);
		return PROTO;
	}
	memcpy(&oh, rbuf, sizeof(oh));
	body = len - sizeof(oh);
	if (body && memmem(rbuf + sizeof(oh), body, marker, marker_len)) {
		marker_hits++;
		check(false,
		      "%s on node %#" PRIx64 ": the reply carries the "
		      "outside marker",
		      op_name(op), nodeid);
	}
	if (oh.error) {
		if (oh.error > 0 || oh.error < -4095 || body) {
			check(false, "%s: error reply %d with %zu body bytes",
			      op_name(op), oh.error, body);
			return PROTO;
		}
		return oh.error;
	}
	if (out)
		memcpy(out, rbuf + sizeof(oh), body < cap ? body : cap);
	if (got)
		*got = body;
	return 0;
}

/* A name as sent: @len bytes (the NUL, if any, included). */
struct nm {
	const void *p;
	size_t len;
};

#define NM(lit) ((struct nm){ (lit), sizeof(lit) })

static struct nm S(const char *s) {
	return (struct nm){ s, strlen(s) + 1 };
}

static struct iovec
IOV(const void *p, size_t len) {
	return (struct iovec){ (void *)p, len };
}

/* A request answered by an entry (plus @extra bytes, for CREATE). */
static int
entry_op(uint32_t op, uint64_t nodeid, const struct iovec *a, unsigned n,
	 struct fuse_entry_out *e, void *extra, size_t extra_len)
{
	uint8_t b[sizeof(struct fuse_entry_out) + 64];
	struct fuse_entry_out tmp;
	size_t got;
	int r;

	r = fop(op, nodeid, a, n, b, sizeof(tmp) + extra_len, &got);
	if (r)
		return r;
	if (got != sizeof(tmp) + extra_len) {
		check(false, "%s: entry reply of %zu bytes", op_name(op), got);
		return PROTO;
	}
	memcpy(&tmp, b, sizeof(tmp));
	note_nodeid(tmp.nodeid);
	if (e)
		*e = tmp;
	if (extra)
		memcpy(extra, b + sizeof(tmp), extra_len);
	return 0;
}

static int g_lookup(uint64_t parent, struct nm name, struct fuse_entry_out *e)
{
	struct iovec a[1] = { IOV(name.p, name.len) };

	return entry_op(FUSE_LOOKUP, parent, a, 1, e, NULL, 0);
}

static int g_getattr(uint64_t node, bool with_fh, uint64_t fh,
		     struct fuse_attr_out *out)
{
	struct fuse_getattr_in in = { .fh = fh };
	struct iovec a[1] = { IOV(&in, sizeof(in)) };
	struct fuse_attr_out tmp;
	size_t got;
	int r;

	if (with_fh)
		in.getattr_flags = FUSE_GETATTR_FH;
	r = fop(FUSE_GETATTR, node, a, 1, &tmp, sizeof(tmp), &got);
	if (!r && got != sizeof(tmp))
		return PROTO;
	if (!r && out)
		*out = tmp;
	return r;
}

static int g_setattr(uint64_t node, const struct fuse_setattr_in *in,
		     struct fuse_attr_out *out)
{
	struct iovec a[1] = { IOV(in, sizeof(*in)) };
	struct fuse_attr_out tmp;
	size_t got;
	int r;

	r = fop(FUSE_SETATTR, node, a, 1, &tmp, sizeof(tmp), &got);
	if (!r && got != sizeof(tmp))
		return PROTO;
	if (!r && out)
		*out = tmp;
	return r;
}

static int g_readlink(uint64_t node, char *buf, size_t cap, size_t *len)
{
	int r = fop(FUSE_READLINK, node, NULL, 0, buf, cap - 1, len);

	buf[r ? 0 : *len] = '\0';
	return r;
}

static int open_op(uint32_t op, uint64_t node, uint32_t flags, uint64_t *fh)
{
	struct fuse_open_in in = { .flags = flags };
	struct iovec a[1] = { IOV(&in, sizeof(in)) };
	struct fuse_open_out out;
	size_t got;
	int r;

	r = fop(op, node, a, 1, &out, sizeof(out), &got);
	if (!r && got != sizeof(out))
		return PROTO;
	if (!r && fh)
		*fh = out.fh;
	return r;
}

static int g_open(uint64_t node, uint32_t flags, uint64_t *fh)
{
	return open_op(FUSE_OPEN, node, flags, fh);
}

static int g_opendir(uint64_t node, uint64_t *fh)
{
	return open_op(FUSE_OPENDIR, node, O_RDONLY | O_DIRECTORY, fh);
}

static int g_release(uint64_t node, uint64_t fh, bool dir)
{
	struct fuse_release_in in = { .fh = fh };
	struct iovec a[1] = { IOV(&in, sizeof(in)) };

	return fop(dir ? FUSE_RELEASEDIR : FUSE_RELEASE, node, a, 1, NULL, 0,
		   NULL);
}

static int g_read(uint64_t node, uint64_t fh, uint64_t off, void *buf,
		  uint32_t size, size_t *got)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
	struct iovec a[1] = { IOV(&in, sizeof(in)) };

	return fop(FUSE_READ, node, a, 1, buf, size, got);
}

static int g_write(uint64_t node, uint64_t fh, uint64_t off, const void *buf,
		   uint32_t size, uint32_t *written)
{
	struct fuse_write_in in = { .fh = fh, .offset = off, .size = size };
	struct iovec a[2] = { IOV(&in, sizeof(in)), IOV(buf, size) };
	struct fuse_write_out out;
	size_t got;
	int r;

	r = fop(FUSE_WRITE, node, a, 2, &out, sizeof(out), &got);
	if (!r && got != sizeof(out))
		return PROTO;
	if (!r)
		*written = out.size;
	return r;
}

static int g_readdir(uint64_t node, uint64_t fh, uint64_t off, bool plus,
		     void *buf, uint32_t size, size_t *got)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
	struct iovec a[1] = { IOV(&in, sizeof(in)) };

	return fop(plus ? FUSE_READDIRPLUS : FUSE_READDIR, node, a, 1, buf,
		   size, got);
}

static int g_create(uint64_t parent, struct nm name, uint32_t flags,
		    uint32_t mode, struct fuse_entry_out *e, uint64_t *fh)
{
	struct fuse_create_in in = { .flags = flags,
				     .mode = mode,
				     .umask = 022 };
	struct iovec a[2] = { IOV(&in, sizeof(in)), IOV(name.p, name.len) };
	struct fuse_open_out o;
	int r;

	r = entry_op(FUSE_CREATE, parent, a, 2, e, &o, sizeof(o));
	if (!r && fh)
		*fh = o.fh;
	return r;
}

static int g_tmpfile(uint64_t parent, uint32_t flags, struct fuse_entry_out *e,
		     uint64_t *fh)
{
	struct fuse_create_in in = { .flags = flags,
				     .mode = S_IFREG | 0600,
				     .umask = 022 };
	struct iovec a[2] = { IOV(&in, sizeof(in)), IOV("/", 2) };
	struct fuse_open_out o;
	int r;

	r = entry_op(FUSE_TMPFILE, parent, a, 2, e, &o, sizeof(o));
	if (!r && fh)
		*fh = o.fh;
	return r;
}

static int g_mkdir(uint64_t parent, struct nm name, struct fuse_entry_out *e)
{
	struct fuse_mkdir_in in = { .mode = S_IFDIR | 0755, .umask = 022 };
	struct iovec a[2] = { IOV(&in, sizeof(in)), IOV(name.p, name.len) };

	return entry_op(FUSE_MKDIR, parent, a, 2, e, NULL, 0);
}

static int g_mknod(uint64_t parent, struct nm name, uint32_t mode,
		   struct fuse_entry_out *e)
{
	struct fuse_mknod_in in = { .mode = mode, .umask = 022 };
	struct iovec a[2] = { IOV(&in, sizeof(in)), IOV(name.p, name.len) };

	return entry_op(FUSE_MKNOD, parent, a, 2, e, NULL, 0);
}

static int g_symlink(uint64_t parent, struct nm name, const char *target,
		     struct fuse_entry_out *e)
{
	struct iovec a[2] = { IOV(name.p, name.len),
			      IOV(target, strlen(target) + 1) };

	return entry_op(FUSE_SYMLINK, parent, a, 2, e, NULL, 0);
}

static int g_link(uint64_t old, uint64_t newparent, struct nm name,
		  struct fuse_entry_out *e)
{
	struct fuse_link_in in = { .oldnodeid = old };
	struct iovec a[2] = { IOV(&in, sizeof(in)), IOV(name.p, name.len) };

	return entry_op(FUSE_LINK, newparent, a, 2, e, NULL, 0);
}

/* RENAME when @flags is 0, RENAME2 otherwise. */
static int g_rename(uint64_t parent, struct nm old, uint64_t newparent,
		    struct nm new, uint32_t flags)
{
	struct fuse_rename2_in in2 = { .newdir = newparent, .flags = flags };
	struct fuse_rename_in in1 = { .newdir = newparent };
	struct iovec a[3] = { flags ? IOV(&in2, sizeof(in2)) :
				      IOV(&in1, sizeof(in1)),
			      IOV(old.p, old.len), IOV(new.p, new.len) };

	return fop(flags ? FUSE_RENAME2 : FUSE_RENAME, parent, a, 3, NULL, 0,
		   NULL);
}

static int g_unlink(uint64_t parent, struct nm name)
{
	struct iovec a[1] = { IOV(name.p, name.len) };

	return fop(FUSE_UNLINK, parent, a, 1, NULL, 0, NULL);
}

static int g_rmdir(uint64_t parent, struct nm name)
{
	struct iovec a[1] = { IOV(name.p, name.len) };

	return fop(FUSE_RMDIR, parent, a, 1, NULL, 0, NULL);
}

static int g_getxattr(uint64_t node, const char *name, void *buf, uint32_t size,
		      size_t *len)
{
	struct fuse_getxattr_in in = { .size = size };
	struct iovec a[2] = { IOV(&in, sizeof(in)),
			      IOV(name, strlen(name) + 1) };

	return fop(FUSE_GETXATTR, node, a, 2, buf, size ? size : 8, len);
}

static int g_listxattr(uint64_t node, void *buf, uint32_t size, size_t *len)
{
	struct fuse_getxattr_in in = { .size = size };
	struct iovec a[1] = { IOV(&in, sizeof(in)) };

	return fop(FUSE_LISTXATTR, node, a, 1, buf, size, len);
}

static int g_setxattr(uint64_t node, const char *name, const char *value)
{
	/* FUSE_SETXATTR_EXT is not negotiated: the 8-byte form. */
	struct {
		uint32_t size;
		uint32_t flags;
	} in = { (uint32_t)strlen(value), 0 };
	struct iovec a[3] = { IOV(&in, sizeof(in)), IOV(name, strlen(name) + 1),
			      IOV(value, strlen(value)) };

	return fop(FUSE_SETXATTR, node, a, 3, NULL, 0, NULL);
}

static int g_removexattr(uint64_t node, const char *name)
{
	struct iovec a[1] = { IOV(name, strlen(name) + 1) };

	return fop(FUSE_REMOVEXATTR, node, a, 1, NULL, 0, NULL);
}

static int g_statfs(uint64_t node)
{
	struct fuse_statfs_out out;

	return fop(FUSE_STATFS, node, NULL, 0, &out, sizeof(out), NULL);
}

static void g_forget(uint64_t node, uint64_t n)
{
	int r;

	if (dead)
		return;
	r = vhf_fuse_forget(fe, node, n);
	if (r) {
		check(false, "FORGET %#" PRIx64 " taken (%s)", node,
		      strerror(-r));
		dead = true;
	}
}

static void g_batch_forget(const uint64_t *ids, unsigned n)
{
	struct fuse_batch_forget_in in = { .count = n };
	struct fuse_forget_one one[64];
	struct iovec a[2];
	size_t got = 0;
	unsigned i;
	int r;

	if (dead || n > 64)
		return;
	for (i = 0; i < n; i++)
		one[i] = (struct fuse_forget_one){ ids[i], 1 };
	a[0] = IOV(&in, sizeof(in));
	a[1] = IOV(one, n * sizeof(one[0]));
	r = vhf_fuse(fe, 0, FUSE_BATCH_FORGET, 0, a, 2, NULL, 0, NULL, 0, &got);
	if (r) {
		check(false, "BATCH_FORGET taken (%s)", strerror(-r));
		dead = true;
	}
}

/* An error reply (any errno) for the request described by @fmt. */
static bool want_err(int r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool want_err(int r, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return check(is_errno(r), "%s refused (%s)", what, ename(r));
}

static bool want_ok(int r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool want_ok(int r, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return check(r == 0, "%s (%s)", what, ename(r));
}

/* A name the guest tries to create outside; found by outside_intact(). */
static const char *gname(const char *what)
{
	static char b[4][96];
	static unsigned i;
	char *p = b[i++ % 4];

	snprintf(p, sizeof(b[0]), "%s%s", gprefix, what);
	return p;
}

static bool host_exists(const char *rel)
{
	struct stat st;

	return fstatat(share_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool host_is_dir(const char *rel)
{
	struct stat st;

	return fstatat(share_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

static ino_t host_ino(const char *rel)
{
	struct stat st;

	if (fstatat(share_fd, rel, &st, AT_SYMLINK_NOFOLLOW))
		return 0;
	return st.st_ino;
}

/* ---- case 1: symlinks pointing out ---- */

/* A regular file of the share, open: its fh is offered with other nodes. */
static uint64_t file_node, file_fh;

/*
 * A handle the daemon should not have handed out (CREATE with O_PATH on
 * the name of a symlink): whatever it holds, nothing done with it may
 * read, write or change anything.
 */
static void poke_handle(const char *name, uint64_t node, uint64_t fh)
{
	struct fuse_setattr_in sa = { .valid = FATTR_FH | FATTR_SIZE,
				      .fh = fh };
	struct fuse_fallocate_in fa = { .fh = fh, .length = 4096 };
	struct fuse_fsync_in fs = { .fh = fh };
	struct iovec a[1];
	char buf[256];
	uint32_t w = 0;
	size_t len;

	want_err(g_read(node, fh, 0, buf, sizeof(buf), &len),
		 "READ with the O_PATH handle of %s", name);
	want_err(g_write(node, fh, 0, "escape", 6, &w),
		 "WRITE with the O_PATH handle of %s", name);
	want_err(g_setattr(node, &sa, NULL),
		 "SETATTR size with the O_PATH handle of %s", name);
	sa.valid = FATTR_FH | FATTR_MODE;
	sa.mode = S_IFREG | 0777;
	want_err(g_setattr(node, &sa, NULL),
		 "SETATTR mode with the O_PATH handle of %s", name);
	a[0] = IOV(&fa, sizeof(fa));
	want_err(fop(FUSE_FALLOCATE, node, a, 1, NULL, 0, NULL),
		 "FALLOCATE with the O_PATH handle of %s", name);
	a[0] = IOV(&fs, sizeof(fs));
	want_err(fop(FUSE_FSYNC, node, a, 1, NULL, 0, NULL),
		 "FSYNC with the O_PATH handle of %s", name);
	g_release(node, fh, false);
	g_forget(node, 1);
}

/*
 * Everything done to or under the symlink node @node (@name in the root)
 * must not follow it. With @full the probes include changing ones (the
 * link points into the test's tree); without, only those that change
 * nothing even where a broken daemon follows the link.
 */
static void poke_link(const char *name, uint64_t node, ino_t ino, bool full)
{
	static const uint32_t ro_flags[] = {
		O_RDONLY,
		O_RDONLY | O_DIRECTORY,
		O_PATH,
		O_RDONLY | O_NOFOLLOW,
	};
	static const uint32_t rw_flags[] = {
		O_WRONLY,
		O_RDWR | O_TRUNC,
		O_WRONLY | O_APPEND,
	};
	struct fuse_setattr_in sa;
	struct fuse_attr_out ao;
	struct fuse_entry_out e;
	char buf[1024];
	uint64_t fh = 0;
	size_t len;
	unsigned i;
	int r;

	r = g_getattr(node, false, 0, &ao);
	check(!r && S_ISLNK(ao.attr.mode) && ao.attr.ino == ino,
	      "GETATTR %s: the link itself (%s, mode %o, ino %" PRIu64
	      " want %ju)",
	      name, ename(r), ao.attr.mode, (uint64_t)ao.attr.ino,
	      (uintmax_t)ino);
	want_err(g_getattr(node, true, file_fh, NULL),
		 "GETATTR %s with another node's fh", name);
	want_err(g_getattr(node, true, 0x5eed0000000001ull, NULL),
		 "GETATTR %s with a forged fh", name);
	for (i = 0; i < sizeof(ro_flags) / sizeof(ro_flags[0]); i++) {
		r = g_open(node, ro_flags[i], &fh);
		if (!want_err(r, "OPEN %s flags %#o", name, ro_flags[i]) &&
		    !r) {
			g_read(node, fh, 0, buf, sizeof(buf), &len);
			g_release(node, fh, false);
		}
	}
	for (i = 0; full && i < sizeof(rw_flags) / sizeof(rw_flags[0]); i++) {
		r = g_open(node, rw_flags[i], &fh);
		if (!want_err(r, "OPEN %s flags %#o", name, rw_flags[i]) && !r)
			g_release(node, fh, false);
	}
	r = g_opendir(node, &fh);
	if (!want_err(r, "OPENDIR %s", name) && !r) {
		g_readdir(node, fh, 0, false, buf, sizeof(buf), &len);
		g_release(node, fh, true);
	}
	want_err(g_lookup(node, S("secret.txt"), &e),
		 "LOOKUP secret.txt under %s", name);
	want_err(g_lookup(node, S("sub"), &e), "LOOKUP sub under %s", name);
	want_err(g_lookup(node, S("passwd"), &e), "LOOKUP passwd under %s",
		 name);
	/* never followed by the host either: O_EXCL, mkdir, mknod, symlink */
	r = g_create(FUSE_ROOT_ID, S(name), O_CREAT | O_EXCL | O_RDWR,
		     S_IFREG | 0644, &e, &fh);
	if (!want_err(r, "CREATE O_EXCL through %s", name) && !r)
		g_release(e.nodeid, fh, false);
	r = g_create(FUSE_ROOT_ID, S(name), O_CREAT | O_EXCL | O_PATH,
		     S_IFREG | 0644, &e, &fh);
	if (!want_err(r, "CREATE O_EXCL|O_PATH through %s", name) && !r) {
		if (full)
			poke_handle(name, e.nodeid, fh);
		else
			g_release(e.nodeid, fh, false);
	}
	want_err(g_mkdir(FUSE_ROOT_ID, S(name), &e), "MKDIR through %s", name);
	want_err(g_mknod(FUSE_ROOT_ID, S(name), S_IFREG | 0644, &e),
		 "MKNOD through %s", name);
	want_err(g_symlink(FUSE_ROOT_ID, S(name), "x", &e),
		 "SYMLINK through %s", name);
	if (xattr_on) {
		want_err(g_getxattr(node, "user.vfsd.secret", buf, sizeof(buf),
				    &len),
			 "GETXATTR user.vfsd.secret of %s", name);
		want_err(g_getxattr(node, "trusted.vfsd.secret", buf,
				    sizeof(buf), &len),
			 "GETXATTR trusted.vfsd.secret of %s", name);
		r = g_listxattr(node, buf, sizeof(buf), &len);
		check(is_errno(r) ||
			      (!r && !memmem(buf, len, "vfsd.secret", 11)),
		      "LISTXATTR of %s: not the target's names (%s, %zu "
		      "bytes)",
		      name, ename(r), len);
	}
	if (!full)
		return;

	memset(&sa, 0, sizeof(sa));
	sa.valid = FATTR_MODE;
	sa.mode = S_IFREG | 0777;
	want_err(g_setattr(node, &sa, NULL), "SETATTR mode 0777 on %s", name);
	sa.valid = FATTR_SIZE;
	sa.size = 0;
	want_err(g_setattr(node, &sa, NULL), "SETATTR size 0 on %s", name);
	sa.valid = FATTR_SIZE | FATTR_FH;
	sa.fh = file_fh;
	want_err(g_setattr(node, &sa, NULL),
		 "SETATTR size 0 on %s with another node's fh", name);
	/* Times and owner may be set on the link itself (as lutimes and
	 * lchown do); outside_intact() checks the target did not change. */
	sa.valid = FATTR_MTIME | FATTR_ATIME;
	sa.mtime = sa.atime = 1000000000;
	r = g_setattr(node, &sa, &ao);
	check(is_errno(r) ||
		      (!r && S_ISLNK(ao.attr.mode) && ao.attr.ino == ino),
	      "SETATTR times on %s: refused or the link itself (%s)", name,
	      ename(r));
	sa.valid = FATTR_UID | FATTR_GID;
	sa.uid = sa.gid = 4242;
	r = g_setattr(node, &sa, &ao);
	check(is_errno(r) ||
		      (!r && S_ISLNK(ao.attr.mode) && ao.attr.ino == ino),
	      "SETATTR owner on %s: refused or the link itself (%s)", name,
	      ename(r));

	/* under the link */
	want_err(g_create(node, S(gname("new")), O_CREAT | O_RDWR,
			  S_IFREG | 0644, &e, &fh),
		 "CREATE under %s", name);
	want_err(g_mkdir(node, S(gname("dir")), &e), "MKDIR under %s", name);
	want_err(g_mknod(node, S(gname("fifo")), S_IFIFO | 0644, &e),
		 "MKNOD under %s", name);
	want_err(g_symlink(node, S(gname("sym")), "x", &e), "SYMLINK under %s",
		 name);
	want_err(g_link(file_node, node, S(gname("link")), &e),
		 "LINK file.txt under %s", name);
	want_err(
		g_rename(FUSE_ROOT_ID, S("victim"), node, S(gname("moved")), 0),
		"RENAME victim under %s", name);
	want_err(g_rename(node, S("secret.txt"), FUSE_ROOT_ID,
			  S(gname("stolen")), 0),
		 "RENAME secret.txt from under %s", name);
	want_err(g_unlink(node, S("secret.txt")), "UNLINK secret.txt under %s",
		 name);
	want_err(g_rmdir(node, S("sub")), "RMDIR sub under %s", name);
	want_err(g_tmpfile(node, O_RDWR, &e, &fh), "TMPFILE under %s", name);

	/* through the name */
	want_err(g_create(FUSE_ROOT_ID, S(name), O_CREAT | O_WRONLY | O_TRUNC,
			  S_IFREG | 0644, &e, &fh),
		 "CREATE O_TRUNC through %s", name);
	want_err(g_create(FUSE_ROOT_ID, S(name), O_CREAT | O_APPEND | O_WRONLY,
			  S_IFREG | 0644, &e, &fh),
		 "CREATE O_APPEND through %s", name);

	if (!xattr_on)
		return;
	want_err(g_setxattr(node, "user.vfsd.guest", "g"),
		 "SETXATTR user.vfsd.guest on %s", name);
	r = g_setxattr(node, "trusted.vfsd.guest", "g");
	if (!r) {
		char p[512];

		pathf(p, sizeof(p), "%s/%s", share, name);
		check(lgetxattr(p, "trusted.vfsd.guest", buf, sizeof(buf)) == 1,
		      "SETXATTR trusted.vfsd.guest on %s: on the link itself",
		      name);
	} else {
		want_err(r, "SETXATTR trusted.vfsd.guest on %s", name);
	}
	want_err(g_removexattr(node, "trusted.vfsd.secret"),
		 "REMOVEXATTR trusted.vfsd.secret of %s", name);
	want_err(g_removexattr(node, "user.vfsd.secret"),
		 "REMOVEXATTR user.vfsd.secret of %s", name);
}

static void links_case(struct hlink *links, unsigned n, bool full)
{
	struct fuse_entry_out e;
	char buf[PATH_MAX];
	size_t len = 0;
	unsigned i;
	int r;

	for (i = 0; i < n; i++) {
		const char *name = links[i].name;
		ino_t ino = host_ino(name);

		r = g_lookup(FUSE_ROOT_ID, S(name), &e);
		check(!r && S_ISLNK(e.attr.mode) && e.attr.ino == ino,
		      "LOOKUP %s: the symlink itself (%s, mode %o)", name,
		      ename(r), r ? 0 : e.attr.mode);
		/* whatever node came back is probed: what it reaches shows */
		if (r)
			continue;
		r = g_readlink(e.nodeid, buf, sizeof(buf), &len);
		check(!r && !strcmp(buf, links[i].target),
		      "READLINK %s: \"%s\" (%s)", name, buf, ename(r));
		poke_link(name, e.nodeid, ino, full);
		g_forget(e.nodeid, 1);
	}
}

static void open_file_txt(void)
{
	struct fuse_entry_out e;
	int r;

	r = g_lookup(FUSE_ROOT_ID, S("file.txt"), &e);
	if (!r)
		r = g_open(e.nodeid, O_RDWR, &file_fh);
	want_ok(r, "LOOKUP and OPEN file.txt");
	file_node = r ? 0 : e.nodeid;
	if (xattr_on && !r) {
		char v[16];
		size_t len = 0;

		r = g_getxattr(file_node, "user.vfsd.inside", v, sizeof(v),
			       &len);
		check(!r && len == 6 && !memcmp(v, "inside", 6),
		      "GETXATTR user.vfsd.inside of file.txt served (%s)",
		      ename(r));
	}
}

static void case_symlinks(void)
{
	links_case(out_links, NLINKS(out_links), true);
	links_case(sys_links, NLINKS(sys_links), false);
}

static void case_proc_links(void)
{
	links_case(proc_links, NLINKS(proc_links), false);
}

/* ---- case 2: names ---- */

static char n255[256], n255b[256], n256[257], n1024[1025], n4000[4001];

static void bad_names_at(uint64_t parent, const char *where, uint64_t victim)
{
	static const char noterm[] = "file.txt";
	const struct {
		const char *label;
		struct nm n;
		int want; /* the errno required, or 0 for any */
	} bad[] = {
		{ "\"..\"", NM(".."), EINVAL },
		{ "\".\"", NM("."), EINVAL },
		{ "\"\"", NM(""), EINVAL },
		{ "\"/\"", NM("/"), EINVAL },
		{ "\"sub/file.txt\"", NM("sub/file.txt"), EINVAL },
		{ "\"a/../..\"", NM("a/../.."), EINVAL },
		{ "\"../outside/secret.txt\"", NM("../outside/secret.txt"),
		  EINVAL },
		{ "\"..//..\"", NM("..//.."), EINVAL },
		/* absolute, but into the test's tree: a broken check must not
		 * let these requests loose on the host's own files */
		{ "BASE/outside/secret.txt", S(out_links[0].target), EINVAL },
		{ "256 bytes", S(n256), ENAMETOOLONG },
		{ "1024 bytes", S(n1024), ENAMETOOLONG },
		{ "4000 bytes", S(n4000), ENAMETOOLONG },
		{ "no NUL", { noterm, sizeof(noterm) - 1 }, 0 },
		{ "embedded NUL", NM("file.txt\0x"), 0 },
		{ "two NULs", NM("victim\0"), 0 },
		{ "NUL first", NM("\0victim"), 0 },
	};
	struct fuse_entry_out e;
	unsigned i;
	uint64_t fh = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nm n = bad[i].n;
		const char *l = bad[i].label;
		int want = bad[i].want;
		int r[12];
		bool ok = true;
		unsigned k;

		r[0] = g_lookup(parent, n, &e);
		r[1] = g_mkdir(parent, n, &e);
		r[2] = g_create(parent, n, O_CREAT | O_RDWR, S_IFREG | 0644, &e,
				&fh);
		r[3] = g_mknod(parent, n, S_IFREG | 0644, &e);
		r[4] = g_symlink(parent, n, "../outside", &e);
		r[5] = g_link(victim, parent, n, &e);
		r[6] = g_rename(parent, n, parent, S(gname("renamed")), 0);
		r[7] = g_rename(parent, S("victim"), parent, n, 0);
		r[8] = g_rename(parent, S("victim"), parent, n,
				RENAME_EXCHANGE);
		r[9] = g_rename(parent, n, parent, S("victim"),
				RENAME_EXCHANGE);
		r[10] = g_unlink(parent, n);
		r[11] = g_rmdir(parent, n);
		for (k = 0; k < 12; k++)
			if (!is_errno(r[k]) || (want && r[k] != -want))
				ok = false;
		check(ok,
		      "name %s from %s: LOOKUP %s MKDIR %s CREATE %s MKNOD %s "
		      "SYMLINK %s LINK %s RENAME %s/%s RENAME_EXCHANGE %s/%s "
		      "UNLINK %s RMDIR %s%s%s",
		      l, where, ename(r[0]), ename(r[1]), ename(r[2]),
		      ename(r[3]), ename(r[4]), ename(r[5]), ename(r[6]),
		      ename(r[7]), ename(r[8]), ename(r[9]), ename(r[10]),
		      ename(r[11]), want ? ", all " : "",
		      want ? strerrorname_np(want) : "");
	}
}

/* The longest names work: the limit is NAME_MAX, not less. */
static void long_names_at(uint64_t parent, const char *where)
{
	struct fuse_entry_out e, e2;
	uint64_t fh = 0;
	int r;

	r = g_create(parent, S(n255), O_CREAT | O_EXCL | O_RDWR, S_IFREG | 0644,
		     &e, &fh);
	if (want_ok(r, "CREATE a 255-byte name in %s", where)) {
		g_release(e.nodeid, fh, false);
		r = g_lookup(parent, S(n255), &e2);
		check(!r && e2.nodeid == e.nodeid,
		      "LOOKUP the 255-byte name in %s: the same node (%s)",
		      where, ename(r));
		want_ok(g_rename(parent, S(n255), parent, S(n255b), 0),
			"RENAME it to another 255-byte name in %s", where);
		want_ok(g_link(e.nodeid, parent, S(n255), &e2),
			"LINK it back under the first 255-byte name in %s",
			where);
		want_ok(g_unlink(parent, S(n255)), "UNLINK the first in %s",
			where);
		want_ok(g_unlink(parent, S(n255b)), "UNLINK the second in %s",
			where);
		g_forget(e.nodeid, 3);
	}
	r = g_mkdir(parent, S(n255), &e);
	if (want_ok(r, "MKDIR a 255-byte name in %s", where)) {
		want_ok(g_rmdir(parent, S(n255)), "RMDIR it in %s", where);
		g_forget(e.nodeid, 1);
	}
	r = g_symlink(parent, S(n255), "../../outside", &e);
	if (want_ok(r, "SYMLINK a 255-byte name in %s", where)) {
		want_ok(g_unlink(parent, S(n255)), "UNLINK it in %s", where);
		g_forget(e.nodeid, 1);
	}
}

static void case_names(void)
{
	struct fuse_entry_out sub, v1, v2;
	char l_root[512], l_sub[512], p[512];
	char l2[512];
	int r;

	memset(n255, 'y', 255);
	memset(n255b, 'z', 255);
	memset(n256, 'x', 256);
	memset(n1024, 'x', 1024);
	memset(n4000, 'x', 4000);
	list_names(share, l_root, sizeof(l_root));
	pathf(p, sizeof(p), "%s/sub", share);
	list_names(p, l_sub, sizeof(l_sub));

	r = g_lookup(FUSE_ROOT_ID, S("sub"), &sub);
	want_ok(r, "LOOKUP sub");
	r = r ?: g_lookup(FUSE_ROOT_ID, S("victim"), &v1);
	r = r ?: g_lookup(sub.nodeid, S("victim"), &v2);
	if (!want_ok(r, "LOOKUP victim in the root and in sub"))
		return;
	bad_names_at(FUSE_ROOT_ID, "the root", v1.nodeid);
	bad_names_at(sub.nodeid, "sub", v2.nodeid);
	list_names(share, l2, sizeof(l2));
	check(!strcmp(l2, l_root), "the root still lists %s", l2);
	list_names(p, l2, sizeof(l2));
	check(!strcmp(l2, l_sub), "sub still lists %s", l2);
	long_names_at(FUSE_ROOT_ID, "the root");
	long_names_at(sub.nodeid, "sub");
	list_names(share, l2, sizeof(l2));
	check(!strcmp(l2, l_root), "the root lists %s after the long names",
	      l2);
}

/* ---- case 3: ".." of the root ---- */

/* Walk a READDIR(PLUS) buffer; calls @fn per entry. */
static void walk_dirents(const uint8_t *buf, size_t len, bool plus,
			 void (*fn)(const struct fuse_entry_out *e,
				    const char *name, size_t namelen,
				    void *arg),
			 void *arg)
{
	size_t off = 0;

	while (off < len) {
		struct fuse_dirent d;
		struct fuse_entry_out e = { 0 };
		size_t hdr =
			plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
		size_t rec;

		if (len - off < hdr) {
			check(false, "READDIR: truncated entry header");
			return;
		}
		if (plus)
			memcpy(&e, buf + off, sizeof(e));
		memcpy(&d, buf + off + (plus ? sizeof(e) : 0), sizeof(d));
		rec = FUSE_DIRENT_ALIGN(hdr + d.namelen);
		if (d.namelen > NAME_MAX || rec > len - off) {
			check(false, "READDIR: entry runs past the reply");
			return;
		}
		fn(&e, (const char *)buf + off + hdr, d.namelen, arg);
		off += rec;
	}
}

struct dd_scan {
	unsigned entries, dotdot_nodes, parent_nodes, forget;
	uint64_t ids[256];
	char names[2048];
	size_t nlen;
};

static void dd_entry(const struct fuse_entry_out *e, const char *name,
		     size_t namelen, void *arg)
{
	struct dd_scan *s = arg;
	bool dotdot = namelen == 2 && !memcmp(name, "..", 2);

	s->entries++;
	if (dotdot && e->nodeid)
		s->dotdot_nodes++;
	if (e->nodeid &&
	    (e->attr.ino == base_ino || e->attr.ino == outside_ino ||
	     e->attr.ino == secret_ino))
		s->parent_nodes++;
	if (e->nodeid) {
		note_nodeid(e->nodeid);
		if (s->forget < 256)
			s->ids[s->forget++] = e->nodeid;
	}
	if (s->nlen + namelen + 2 < sizeof(s->names)) {
		memcpy(s->names + s->nlen, name, namelen);
		s->nlen += namelen;
		s->names[s->nlen++] = ' ';
		s->names[s->nlen] = '\0';
	}
}

static void case_dotdot_root(void)
{
	static const char *siblings[] = { "outside", "share", "run" };
	static uint8_t buf[32768];
	struct fuse_entry_out e, sub;
	struct dd_scan scan;
	unsigned i;
	uint64_t fh = 0;
	size_t len;
	int r;

	r = g_lookup(FUSE_ROOT_ID, NM(".."), &e);
	check(is_errno(r) || (!r && e.attr.ino == share_ino),
	      "LOOKUP .. of the root: refused or the root itself (%s, ino "
	      "%" PRIu64 ", root %ju, its parent %ju)",
	      ename(r), r ? 0 : (uint64_t)e.attr.ino, (uintmax_t)share_ino,
	      (uintmax_t)base_ino);
	r = g_lookup(FUSE_ROOT_ID, NM("."), &e);
	check(is_errno(r) || (!r && e.attr.ino == share_ino),
	      "LOOKUP . of the root: refused or the root (%s)", ename(r));
	r = g_lookup(FUSE_ROOT_ID, S("sub"), &sub);
	if (want_ok(r, "LOOKUP sub")) {
		r = g_lookup(sub.nodeid, NM(".."), &e);
		check(is_errno(r) || (!r && e.attr.ino == share_ino),
		      "LOOKUP .. of sub: refused or the root (%s)", ename(r));
		r = g_lookup(sub.nodeid, NM("../.."), &e);
		want_err(r, "LOOKUP ../.. of sub");
		r = g_lookup(sub.nodeid, NM("../../outside"), &e);
		want_err(r, "LOOKUP ../../outside of sub");
	}
	/* O_PATH makes the kernel ignore O_TMPFILE: the open would name the
	 * directory itself, which must not come back as a new file */
	r = g_tmpfile(FUSE_ROOT_ID, O_RDWR | O_PATH, &e, &fh);
	check(is_errno(r) ||
		      (!r && S_ISREG(e.attr.mode) && e.attr.ino != share_ino),
	      "TMPFILE O_PATH in the root: refused or a new file, not the "
	      "root (%s, mode %o)",
	      ename(r), r ? 0 : e.attr.mode);
	if (!r) {
		g_release(e.nodeid, fh, false);
		g_forget(e.nodeid, 1);
	}
	for (i = 0; i < 3; i++)
		want_err(g_lookup(FUSE_ROOT_ID, S(siblings[i]), &e),
			 "LOOKUP %s (a sibling of the share) in the root",
			 siblings[i]);

	for (i = 0; i < 2; i++) {
		bool plus = i == 1;

		r = g_opendir(FUSE_ROOT_ID, &fh);
		if (!want_ok(r, "OPENDIR the root"))
			return;
		memset(&scan, 0, sizeof(scan));
		r = g_readdir(FUSE_ROOT_ID, fh, 0, plus, buf, sizeof(buf),
			      &len);
		if (want_ok(r, "%s the root", plus ? "READDIRPLUS" : "READDIR"))
			walk_dirents(buf, len, plus, dd_entry, &scan);
		g_release(FUSE_ROOT_ID, fh, true);
		check(scan.entries > 2 && !strstr(scan.names, "outside ") &&
			      !strstr(scan.names, "run "),
		      "%s of the root lists the share: %s",
		      plus ? "READDIRPLUS" : "READDIR", scan.names);
		if (plus) {
			check(scan.dotdot_nodes == 0 && scan.parent_nodes == 0,
			      "READDIRPLUS hands out no node for \"..\" "
			      "(%u) nor for BASE, outside or the marker file (%u)",
			      scan.dotdot_nodes, scan.parent_nodes);
			g_batch_forget(scan.ids,
				       scan.forget < 64 ? scan.forget : 64);
		}
	}
}

/* ---- case 4: hard links ---- */

static void case_hardlinks(void)
{
	/*
	 * A hard link the host admin put in the share to a file outside it
	 * is the admin's choice (the file is then in the share too): not an
	 * escape, so not tested. What the guest must not do is make new
	 * names for the root or for directories.
	 */
	struct fuse_entry_out sub, d, l, e;
	struct fuse_attr_out ao;
	int r;

	r = g_lookup(FUSE_ROOT_ID, S("sub"), &sub);
	r = r ?: g_lookup(FUSE_ROOT_ID, S("d"), &d);
	r = r ?: g_lookup(FUSE_ROOT_ID, S("abs-file"), &l);
	if (!want_ok(r, "LOOKUP sub, d and abs-file"))
		return;
	want_err(g_link(FUSE_ROOT_ID, sub.nodeid, S(gname("rootlink")), &e),
		 "LINK of the root into sub");
	want_err(g_link(FUSE_ROOT_ID, FUSE_ROOT_ID, S(gname("rootlink")), &e),
		 "LINK of the root into the root");
	want_err(g_link(sub.nodeid, FUSE_ROOT_ID, S(gname("sublink")), &e),
		 "LINK of directory sub into the root");
	want_err(g_link(d.nodeid, sub.nodeid, S(gname("dlink")), &e),
		 "LINK of directory d into sub");
	want_err(g_link(FUSE_ROOT_ID, sub.nodeid, NM(".."), &e),
		 "LINK of the root as sub/..");
	{
		char subdir[512], found[600] = "";

		pathf(subdir, sizeof(subdir), "%s/sub", share);
		check(!has_guest_name(share, found, sizeof(found)) &&
			      !has_guest_name(subdir, found, sizeof(found)),
		      "no directory link made in the share %s", found);
	}
	/* A link of a symlink names the symlink, never its target. */
	r = g_link(l.nodeid, sub.nodeid, S("hl-of-abs-file"), &e);
	if (!r) {
		check(S_ISLNK(e.attr.mode) && e.attr.ino == l.attr.ino,
		      "LINK of abs-file: another name of the symlink (mode "
		      "%o)",
		      e.attr.mode);
		want_ok(g_unlink(sub.nodeid, S("hl-of-abs-file")),
			"UNLINK the link of abs-file");
		g_forget(e.nodeid, 1);
	} else {
		want_err(r, "LINK of the symlink abs-file");
	}
	/* and the ordinary case works, so the refusals above mean something */
	r = g_link(file_node, sub.nodeid, S("hl-of-file"), &e);
	if (want_ok(r, "LINK of file.txt into sub")) {
		r = g_getattr(file_node, false, 0, &ao);
		check(!r && ao.attr.nlink == 2, "file.txt has 2 links (%u)",
		      r ? 0 : ao.attr.nlink);
		want_ok(g_unlink(sub.nodeid, S("hl-of-file")),
			"UNLINK sub/hl-of-file");
		g_forget(e.nodeid, 1);
	}
}

/* ---- case 5: renames of and around the root ---- */

static void case_rename_root(void)
{
	struct fuse_entry_out sub, rl;
	char l_root[512], l_base[512], l2[512];
	ino_t sub_ino = host_ino("sub");
	int r;

	list_names(share, l_root, sizeof(l_root));
	list_names(base, l_base, sizeof(l_base));
	r = g_lookup(FUSE_ROOT_ID, S("sub"), &sub);
	r = r ?: g_lookup(FUSE_ROOT_ID, S("rel-dir"), &rl);
	if (!want_ok(r, "LOOKUP sub and rel-dir"))
		return;
	want_err(g_rename(FUSE_ROOT_ID, NM(".."), FUSE_ROOT_ID, S(gname("x")),
			  0),
		 "RENAME root/.. to a name in the root");
	want_err(g_rename(FUSE_ROOT_ID, NM("."), sub.nodeid, S(gname("x")), 0),
		 "RENAME root/. into sub");
	want_err(g_rename(FUSE_ROOT_ID, S("sub"), FUSE_ROOT_ID, NM(".."), 0),
		 "RENAME sub onto root/..");
	want_err(g_rename(FUSE_ROOT_ID, S("sub"), sub.nodeid, NM(".."), 0),
		 "RENAME sub onto sub/..");
	want_err(g_rename(sub.nodeid, NM(".."), FUSE_ROOT_ID, S(gname("x")), 0),
		 "RENAME sub/.. (the root) into the root");
	want_err(g_rename(FUSE_ROOT_ID, S("sub"), sub.nodeid, S("inner"), 0),
		 "RENAME sub into itself");
	want_err(g_rename(FUSE_ROOT_ID, S("sub"), FUSE_ROOT_ID, NM(".."),
			  RENAME_EXCHANGE),
		 "RENAME_EXCHANGE sub with root/..");
	want_err(g_rename(FUSE_ROOT_ID, NM(".."), FUSE_ROOT_ID, NM("."),
			  RENAME_EXCHANGE),
		 "RENAME_EXCHANGE root/.. with root/.");
	want_err(g_rename(FUSE_ROOT_ID, S("sub"), sub.nodeid, S("file.txt"),
			  RENAME_EXCHANGE),
		 "RENAME_EXCHANGE sub with its own child");
	want_err(g_rename(FUSE_ROOT_ID, S("sub"), FUSE_ROOT_ID, NM(".."),
			  RENAME_NOREPLACE),
		 "RENAME_NOREPLACE sub onto root/..");
	want_err(g_rename(FUSE_ROOT_ID, S("victim"), FUSE_ROOT_ID, NM(".."),
			  RENAME_WHITEOUT),
		 "RENAME_WHITEOUT victim onto root/..");
	want_err(g_rename(FUSE_ROOT_ID, S("victim"), FUSE_ROOT_ID,
			  S(gname("x")), 0xffffffffu),
		 "RENAME2 with every flag set");
	want_err(g_rename(FUSE_ROOT_ID, S("victim"), rl.nodeid, S(gname("x")),
			  0),
		 "RENAME victim into rel-dir (-> ../outside)");
	want_err(g_rename(rl.nodeid, S("secret.txt"), FUSE_ROOT_ID,
			  S(gname("stolen")), 0),
		 "RENAME secret.txt out of rel-dir");
	want_err(g_rename(rl.nodeid, S("secret.txt"), FUSE_ROOT_ID, S("victim"),
			  RENAME_EXCHANGE),
		 "RENAME_EXCHANGE rel-dir/secret.txt with victim");
	want_err(g_rename(FUSE_ROOT_ID, S("victim"), 0xfffffff0ull,
			  S(gname("x")), 0),
		 "RENAME victim into an unknown node");
	list_names(share, l2, sizeof(l2));
	check(!strcmp(l2, l_root), "the root still lists %s", l2);
	list_names(base, l2, sizeof(l2));
	check(!strcmp(l2, l_base), "BASE still lists %s", l2);
	check(host_ino("sub") == sub_ino, "sub is still the same directory");
	check(host_ino(".") == share_ino, "the share is still the same");
}

/* ---- case 6: a directory swapped for a symlink ---- */

static volatile int race_stop;
static unsigned long race_swaps;
static unsigned race_ms = 3000;

static void *swapper(void *arg)
{
	static const char *partner[] = { "d-rel", "d-rel", "d-abs", "d-abs" };
	unsigned i = 0;

	(void)arg;
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		if (renameat2(share_fd, "d", share_fd, partner[i % 4],
			      RENAME_EXCHANGE) == 0)
			race_swaps++;
		i++;
	}
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct race_stats {
	uint64_t plus_ids[64]; /* READDIRPLUS entries to forget */
	unsigned nplus;
	unsigned long iters, as_dir, as_link, lookup_err;
	unsigned long listed, reads, decoy_reads, created, mkdirs;
	unsigned long link_followed; /* a symlink node let something through */
	unsigned long foreign; /* a listing showed a name from outside */
	unsigned long cleanup_fail;
};

static void race_list(const struct fuse_entry_out *e, const char *name,
		      size_t namelen, void *arg)
{
	struct race_stats *st = arg;

	/* outside/ holds "sub" and "listing-..."; d never does */
	if (e->nodeid && st->nplus < 64)
		st->plus_ids[st->nplus++] = e->nodeid;
	if (e->nodeid &&
	    (e->attr.ino == outside_ino || e->attr.ino == secret_ino))
		st->foreign++;
	if ((namelen == 3 && !memcmp(name, "sub", 3)) ||
	    (namelen > 8 && !memcmp(name, "listing-", 8)))
		st->foreign++;
}

static void race_iter(struct race_stats *st, unsigned long i)
{
	static uint8_t buf[8192];
	struct fuse_entry_out e, f, c;
	char name[64];
	bool link;
	uint64_t fh = 0;
	size_t len;
	int r;

	r = g_lookup(FUSE_ROOT_ID, S("d"), &e);
	if (r) {
		st->lookup_err++;
		return;
	}
	link = S_ISLNK(e.attr.mode);
	if (link)
		st->as_link++;
	else
		st->as_dir++;

	r = g_opendir(e.nodeid, &fh);
	if (!r) {
		bool plus = i & 1; /* READDIRPLUS looks the entries up */

		st->link_followed += link;
		st->nplus = 0;
		if (!g_readdir(e.nodeid, fh, 0, plus, buf, sizeof(buf), &len)) {
			walk_dirents(buf, len, plus, race_list, st);
			st->listed++;
		}
		if (st->nplus)
			g_batch_forget(st->plus_ids, st->nplus);
		g_release(e.nodeid, fh, true);
	}
	r = g_lookup(e.nodeid, S("secret.txt"), &f);
	if (!r) {
		st->link_followed += link;
		if (!g_open(f.nodeid, O_RDONLY, &fh)) {
			if (!g_read(f.nodeid, fh, 0, buf, sizeof(buf), &len)) {
				st->reads++;
				if (len == sizeof(decoy) - 1 &&
				    !memcmp(buf, decoy, len))
					st->decoy_reads++;
			}
			g_release(f.nodeid, fh, false);
		}
		g_forget(f.nodeid, 1);
	}
	snprintf(name, sizeof(name), "new-%lu", i);
	r = g_create(e.nodeid, S(name), O_CREAT | O_EXCL | O_RDWR,
		     S_IFREG | 0644, &c, &fh);
	if (!r) {
		st->link_followed += link;
		st->created++;
		g_release(c.nodeid, fh, false);
		if (g_unlink(e.nodeid, S(name)))
			st->cleanup_fail++;
		g_forget(c.nodeid, 1);
	}
	snprintf(name, sizeof(name), "newdir-%lu", i);
	r = g_mkdir(e.nodeid, S(name), &c);
	if (!r) {
		st->link_followed += link;
		st->mkdirs++;
		if (g_rmdir(e.nodeid, S(name)))
			st->cleanup_fail++;
		g_forget(c.nodeid, 1);
	}
	g_forget(e.nodeid, 1);
}

static void case_race(void)
{
	struct race_stats st = { 0 };
	pthread_t t;
	int64_t end;
	char l[512], p[512];
	int r;

	race_stop = 0;
	race_swaps = 0;
	r = pthread_create(&t, NULL, swapper, NULL);
	if (!check(r == 0, "start the swapping thread (%s)", strerror(r)))
		return;
	end = now_ms() + race_ms;
	while (now_ms() < end && !dead)
		race_iter(&st, st.iters++);
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	/* leave "d" the directory again */
	if (!host_is_dir("d"))
		renameat2(share_fd, "d", share_fd,
			  host_is_dir("d-rel") ? "d-rel" : "d-abs",
			  RENAME_EXCHANGE);
	check(host_is_dir("d") && !host_is_dir("d-rel") &&
		      !host_is_dir("d-abs"),
	      "d is the directory again after the race");
	printf("# race: %lu iterations in %u ms, %lu host swaps; d seen as "
	       "directory %lu, as symlink %lu, lookup errors %lu; %lu "
	       "listings, %lu reads (%lu of the decoy), %lu creates, %lu "
	       "mkdirs\n",
	       st.iters, race_ms, race_swaps, st.as_dir, st.as_link,
	       st.lookup_err, st.listed, st.reads, st.decoy_reads, st.created,
	       st.mkdirs);
	check(st.iters > 0 && race_swaps > 0,
	      "the guest and the host both ran (%lu iterations, %lu swaps)",
	      st.iters, race_swaps);
	check(st.link_followed == 0,
	      "no request on a node looked up as the symlink succeeded (%lu)",
	      st.link_followed);
	check(st.reads == st.decoy_reads,
	      "every READ returned the share's decoy (%lu of %lu)",
	      st.decoy_reads, st.reads);
	check(st.foreign == 0, "no listing showed an outside name (%lu)",
	      st.foreign);
	check(st.cleanup_fail == 0, "what was created in d was removed (%lu)",
	      st.cleanup_fail);
	pathf(p, sizeof(p), "%s/d", share);
	list_names(p, l, sizeof(l));
	check(!strcmp(l, "secret.txt"), "d holds only secret.txt: %s", l);
}

/* ---- case 7: very deep trees ---- */

static void case_deep(void)
{
	static uint64_t ids[DEEP];
	static uint8_t data[8192], back[8192];
	struct fuse_entry_out e, f = { 0 };
	uint64_t parent = FUSE_ROOT_ID, fh = 0;
	unsigned i, made = 0, bad = 0;
	size_t pathlen = strlen("deep");
	char name[16];
	uint32_t w = 0;
	size_t got = 0;
	int r, dfd;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	r = g_mkdir(FUSE_ROOT_ID, S("deep"), &e);
	if (!want_ok(r, "MKDIR deep"))
		return;
	ids[0] = e.nodeid;
	parent = e.nodeid;
	for (i = 1; i < DEEP; i++) {
		snprintf(name, sizeof(name), "l%04u", i);
		r = g_mkdir(parent, S(name), &e);
		if (r)
			break;
		ids[i] = e.nodeid;
		parent = e.nodeid;
		pathlen += 1 + strlen(name);
	}
	made = i;
	check(made == DEEP,
	      "MKDIR a chain of %u directories (%u made, %s): a path of %zu "
	      "bytes, PATH_MAX is %d",
	      DEEP, made, ename(r), pathlen, PATH_MAX);
	r = g_create(parent, S("bottom.txt"), O_CREAT | O_EXCL | O_RDWR,
		     S_IFREG | 0644, &f, &fh);
	if (want_ok(r, "CREATE bottom.txt at depth %u", made)) {
		r = g_write(f.nodeid, fh, 0, data, sizeof(data), &w);
		check(!r && w == sizeof(data), "WRITE %zu bytes there (%s)",
		      sizeof(data), ename(r));
		r = g_read(f.nodeid, fh, 0, back, sizeof(back), &got);
		check(!r && got == sizeof(data) &&
			      !memcmp(back, data, sizeof(data)),
		      "READ them back (%s, %zu bytes)", ename(r), got);
		g_release(f.nodeid, fh, false);
	}
	r = g_lookup(parent, NM(".."), &e);
	check(is_errno(r) || (!r && made > 1 && e.nodeid == ids[made - 2]),
	      "LOOKUP .. at the bottom: refused or the parent (%s)", ename(r));
	for (i = made; i-- > 1;) {
		snprintf(name, sizeof(name), "l%04u", i);
		r = g_lookup(ids[i - 1], S(name), &e);
		if (r || e.nodeid != ids[i] || !S_ISDIR(e.attr.mode))
			bad++;
	}
	check(bad == 0,
	      "LOOKUP every level again from the bottom up: the "
	      "same nodes (%u differ)",
	      bad);

	/* the host sees the file where the guest put it, inside the share */
	dfd = openat(share_fd, "deep",
		     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (i = 1; i < made && dfd >= 0; i++) {
		int nfd;

		snprintf(name, sizeof(name), "l%04u", i);
		nfd = openat(dfd, name,
			     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
		dfd = nfd;
	}
	if (dfd >= 0) {
		int ffd = openat(dfd, "bottom.txt",
				 O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		ssize_t n = ffd >= 0 ? pread(ffd, back, sizeof(back), 0) : -1;

		check(n == (ssize_t)sizeof(data) &&
			      !memcmp(back, data, sizeof(data)),
		      "the host reads share/deep/.../bottom.txt: the data");
		if (ffd >= 0)
			close(ffd);
		close(dfd);
	} else {
		check(false, "the host walks share/deep/... (%s)",
		      strerror(errno));
	}

	/* take it down through FUSE */
	if (f.nodeid) {
		want_ok(g_unlink(parent, S("bottom.txt")), "UNLINK bottom.txt");
		g_forget(f.nodeid, 1);
	}
	bad = 0;
	for (i = made; i-- > 1;) {
		snprintf(name, sizeof(name), "l%04u", i);
		if (g_rmdir(ids[i - 1], S(name)))
			bad++;
		g_forget(ids[i], 2);
	}
	if (made) {
		if (g_rmdir(FUSE_ROOT_ID, S("deep")))
			bad++;
		g_forget(ids[0], 1);
	}
	check(bad == 0 && !host_exists("deep"),
	      "RMDIR the chain from the bottom up (%u failed)", bad);
	if (host_exists("deep"))
		tu_remove_at(share_fd, "deep");
}

/* ---- case 9: node ids the guest never received ---- */

static void poke_nodeid(uint64_t id, unsigned *bad, char *first, size_t cap)
{
	struct fuse_setattr_in sa = { .valid = FATTR_MODE,
				      .mode = S_IFREG | 0777 };
	struct fuse_entry_out e;
	char buf[256];
	uint64_t fh = 0;
	size_t len;
	int r[16];
	unsigned k, n = 0;

	r[n++] = g_getattr(id, false, 0, NULL);
	r[n++] = g_lookup(id, S("file.txt"), &e);
	r[n++] = g_open(id, O_RDONLY, &fh);
	r[n++] = g_opendir(id, &fh);
	r[n++] = g_readlink(id, buf, sizeof(buf), &len);
	r[n++] = g_setattr(id, &sa, NULL);
	r[n++] = g_mkdir(id, S(gname("dir")), &e);
	r[n++] = g_create(id, S(gname("new")), O_CREAT | O_RDWR, S_IFREG | 0644,
			  &e, &fh);
	r[n++] = g_unlink(id, S("file.txt"));
	r[n++] = g_link(id, FUSE_ROOT_ID, S(gname("link")), &e);
	r[n++] = g_link(file_node, id, S(gname("link")), &e);
	r[n++] = g_rename(FUSE_ROOT_ID, S("victim"), id, S(gname("x")), 0);
	r[n++] = g_statfs(id);
	r[n++] = xattr_on ? g_getxattr(id, "user.vfsd.secret", buf, sizeof(buf),
				       &len) :
			    -ENOENT;
	for (k = 0; k < n; k++)
		if (!is_errno(r[k])) {
			if (!*bad)
				snprintf(first, cap,
					 "node %#" PRIx64 " request %u: %s", id,
					 k, ename(r[k]));
			(*bad)++;
		}
}

static void case_nodeids(void)
{
	uint64_t ids[96];
	unsigned n = 0, i, bad = 0, tried = 0;
	char first[128] = "";
	struct fuse_entry_out e;
	struct fuse_attr_out ao;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	uint64_t id, last;
	int r;

	printf("# nodeids: random seed %u, highest node id received %" PRIu64
	       "\n",
	       seed, max_seen);
	srandom(seed);
	ids[n++] = 0;
	ids[n++] = UINT64_MAX;
	ids[n++] = 1ull << 63;
	ids[n++] = 0xffffffffull;
	ids[n++] = 0x100000000ull;
	while (n < 40)
		ids[n++] = ((uint64_t)random() << 33) ^
			   ((uint64_t)random() << 2) ^ (uint64_t)random();
	/* near the real ones: every id not handed out up to past the top */
	last = max_seen + 24;
	for (id = 2; id <= last && n < sizeof(ids) / sizeof(ids[0]); id++)
		if (!was_seen(id))
			ids[n++] = id;
	for (i = 0; i < n; i++) {
		if (ids[i] == FUSE_ROOT_ID || was_seen(ids[i]))
			continue;
		poke_nodeid(ids[i], &bad, first, sizeof(first));
		tried++;
	}
	check(bad == 0,
	      "%u node ids never handed out: every request refused (%u "
	      "not%s%s)",
	      tried, bad, bad ? "; first: " : "", first);
	g_batch_forget(ids, n < 64 ? n : 64);
	for (i = 0; i < 8; i++)
		g_forget(ids[i], UINT64_MAX);
	g_forget(FUSE_ROOT_ID, UINT64_MAX);
	r = g_getattr(FUSE_ROOT_ID, false, 0, &ao);
	check(!r && ao.attr.ino == share_ino,
	      "the root survives FORGET of UINT64_MAX references (%s)",
	      ename(r));

	/* a node the guest forgot is gone for it */
	r = g_lookup(FUSE_ROOT_ID, S("forgettable"), &e);
	r = r ?: g_lookup(FUSE_ROOT_ID, S("forgettable"), &e);
	if (want_ok(r, "LOOKUP forgettable twice")) {
		g_forget(e.nodeid, 2);
		want_err(g_getattr(e.nodeid, false, 0, NULL),
			 "GETATTR of the forgotten node %" PRIu64, e.nodeid);
		want_err(g_open(e.nodeid, O_RDONLY, NULL),
			 "OPEN of the forgotten node");
		want_err(g_lookup(e.nodeid, S("x"), NULL),
			 "LOOKUP under the forgotten node");
	}
}

/* ---- running the cases ---- */

/*
 * In a sandbox, every node fd must hang off the sandbox's own root
 * mount: a ".." walk (or a followed relative symlink) that starts on
 * another mount of the same file system is not stopped at the sandbox
 * root, so the sandbox would not contain a bug of the passthrough.
 * Checked from outside: the O_PATH fds of the serving process on the
 * share's file system against the mount of its root.
 */
static void sandbox_root_mount(pid_t dpid)
{
	pid_t sp = tu_serving_pid(dpid);
	unsigned long flags = 0, mnt = 0;
	unsigned n = 0, other = 0, is_root = 0;
	struct statx rx;
	struct stat sst, st;
	struct dirent *e;
	char p[96];
	DIR *d;

	snprintf(p, sizeof(p), "/proc/%d/root", (int)sp);
	if (!check(statx(AT_FDCWD, p, 0, STATX_MNT_ID, &rx) == 0 &&
			   (rx.stx_mask & STATX_MNT_ID) && !stat(share, &sst),
		   "the mount of the serving process's root (%s)",
		   strerror(errno)))
		return;
	snprintf(p, sizeof(p), "/proc/%d/fd", (int)sp);
	d = opendir(p);
	while (d && (e = readdir(d))) {
		char fp[300];

		if (e->d_name[0] == '.')
			continue;
		snprintf(fp, sizeof(fp), "/proc/%d/fd/%s", (int)sp, e->d_name);
		if (stat(fp, &st) || st.st_dev != sst.st_dev ||
		    tu_fdinfo(sp, e->d_name, &flags, &mnt) || !(flags & O_PATH))
			continue;
		n++;
		if (st.st_ino == sst.st_ino)
			is_root++;
		if (mnt != rx.stx_mnt_id) {
			if (!other)
				printf("#   fd %s (ino %ju) on mount %lu, the "
				       "root is on mount %llu\n",
				       e->d_name, (uintmax_t)st.st_ino, mnt,
				       (unsigned long long)rx.stx_mnt_id);
			other++;
		}
	}
	if (d)
		closedir(d);
	check(n > 0 && is_root > 0 && other == 0,
	      "sandbox: the %u node fds of serving process %d (the share root "
	      "among them: %u) are all on the sandbox root's mount (%u are not)",
	      n, (int)sp, is_root, other);
}

static void still_serving(void)
{
	struct fuse_attr_out ao;
	int r = g_getattr(FUSE_ROOT_ID, false, 0, &ao);

	check(!r && S_ISDIR(ao.attr.mode) && ao.attr.ino == share_ino,
	      "GETATTR of the root still served: the share's root (%s, ino "
	      "%" PRIu64 ", want %ju)",
	      ename(r), r ? 0 : (uint64_t)ao.attr.ino, (uintmax_t)share_ino);
}

static const struct tcase {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "symlinks", case_symlinks },
	{ "names", case_names },
	{ "dotdot-root", case_dotdot_root },
	{ "hardlinks", case_hardlinks },
	{ "rename-root", case_rename_root },
	{ "race", case_race },
	{ "deep", case_deep },
	{ "proc-links", case_proc_links },
	{ "nodeids", case_nodeids },
};

static int spawn(char *const *argv, pid_t *pid)
{
	/* as before testutil: the daemon holds the kept stderr too */
	int saved = tu_stderr_to(log_path, true), r;

	if (saved < 0)
		return saved;
	r = vhf_spawn(argv, sock_path, share, pid);
	tu_stderr_restore(saved);
	return r;
}

static int run(char *const *argv, const char *filter)
{
	struct vhf_opts opts = { .timeout_ms = 15000, .nr_queues = 2 };
	struct fuse_init_out init;
	struct stat st;
	unsigned i, nfail = 0;
	char failed[256] = "";
	pid_t pid;
	int status = 0, r;

	r = make_tree();
	if (!check(!r, "set up TOP/a/b/{outside,share,run} (%s)", ename(r)))
		return 1;
	share_fd = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (share_fd < 0 || stat(share, &st))
		return 1;
	share_ino = st.st_ino;
	if (stat(base, &st))
		return 1;
	base_ino = st.st_ino;
	if (stat(outside, &st))
		return 1;
	outside_ino = st.st_ino;
	if (stat(out_links[0].target, &st))
		return 1;
	secret_ino = st.st_ino;
	r = spawn(argv, &pid);
	if (!check(!r, "start the daemon (%s)", ename(r)))
		return 1;
	opts.daemon_pid = pid;
	r = vhf_connect(&fe, sock_path, &opts);
	if (!check(!r, "connect and set up the device (%s)", strerror(-r)))
		goto out_reap;
	r = vhf_fuse_init(fe, RQ, FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO,
			  &init);
	if (!check(!r, "FUSE INIT (%s)", ename(r)))
		goto out_reap;
	r = add_watches();
	if (!check(!r, "inotify watches on TOP, TOP/a, BASE and outside (%s)",
		   ename(r)))
		goto out_reap;
	take_snap(&before);
	drain_events(false);
	open_file_txt();
	outside_intact();

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned hits = marker_hits;
		size_t fl = strlen(failed);

		if (filter && !strstr(cases[i].name, filter))
			continue;
		case_name = cases[i].name;
		case_checks = case_fails = 0;
		cases[i].fn();
		still_serving();
		outside_intact();
		check(marker_hits == hits,
		      "the marker never reached the guest (%u replies)",
		      marker_hits - hits);
		if (case_fails) {
			nfail++;
			snprintf(failed + fl, sizeof(failed) - fl, " %s",
				 case_name);
		}
		printf("%s - case %s: %u checks, %u failed\n",
		       case_fails ? "not ok" : "ok", case_name, case_checks,
		       case_fails);
		fflush(stdout);
	}
	case_name = "end";
	if (sandboxed && !dead)
		sandbox_root_mount(pid);
	if (file_node)
		g_release(file_node, file_fh, false);

out_reap:
	if (fe)
		vhf_disconnect(fe);
	fe = NULL;
	r = vhf_reap(pid, 15000, &status);
	if (!check(!r, "the daemon exits after the disconnect")) {
		kill(pid, SIGKILL);
		vhf_reap(pid, 5000, &status);
	} else {
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the daemon's exit status is 0 (%s)",
		      tu_status_str(status));
	}
	if (total_fails || vhf_verbose)
		tu_dump_log(log_path);
	if (nfail)
		printf("# failed cases:%s\n", failed);
	return total_fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *filter = NULL;
	struct rlimit rl;
	int a, ret;

	for (a = 1; a < argc && strcmp(argv[a], "--"); a++) {
		if (!strcmp(argv[a], "-v"))
			vhf_verbose = 1;
		else if (!strcmp(argv[a], "--xattr"))
			xattr_on = true;
		else if (!strcmp(argv[a], "--sandboxed"))
			sandboxed = true;
		else if (!strcmp(argv[a], "-k") && a + 1 < argc)
			filter = argv[++a];
		else if (!strcmp(argv[a], "--race-ms") && a + 1 < argc)
			race_ms = (unsigned)strtoul(argv[++a], NULL, 10);
		else
			goto usage;
	}
	if (a + 1 >= argc)
		goto usage;
	if (geteuid() != 0) {
		/* trusted.* xattrs of the marker and chown need root */
		printf("# hostile-escape needs root\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	/* the host-side removal of a deep tree keeps one fd per level */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(top, sizeof(top), "/tmp/hostile-escape.XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	ret = run(argv + a + 1, filter);
	if (share_fd >= 0)
		close(share_fd);
	if (ino_fd >= 0)
		close(ino_fd);
	tu_remove_tree(top);
	printf("%s\n", ret ? "FAIL" : "PASS");
	return ret;
usage:
	fprintf(stderr,
		"usage: %s [-v] [-k CASE] [--xattr] [--sandboxed] [--race-ms N] -- DAEMON "
		"ARGS... ({sock} and {dir} are filled in)\n",
		argv[0]);
	return 2;
}
