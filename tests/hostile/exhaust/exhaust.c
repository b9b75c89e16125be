// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hostile-exhaust: a guest that tries to exhaust the host, played through
 * the vhost-user frontend harness (tests/vhost/frontend.h) against a real
 * daemon.
 *
 *   hostile-exhaust [-v] [--case NAME]... [--entries N] [--slice N]
 *                   [--flood-ms MS] [--storm N] [--handles]
 *                   -- DAEMON ARGS...
 *
 * "{sock}" and "{dir}" in the daemon's arguments are filled in. Every case
 * starts a fresh daemon (appending the options it needs) and finds the
 * process that serves: with the namespace sandbox that is the child of
 * the one started. It prints that process's numbers before and after
 * ("# CASE: LABEL: fds N threads N VmRSS ... VmHWM ... RssAnon ...
 * RssShmem ..."; VmHWM is the peak since the case reset it through
 * /proc/PID/clear_refs) and ends by proving the daemon still serves
 * (GETATTR of the root; LOOKUP, OPEN, READ with content check, RELEASE
 * and FORGET of a file) and exits 0 on disconnect.
 *
 *   lookup     --rlimit-nofile 1024: LOOKUP 5000 files without FORGET.
 *              Every LOOKUP is answered; once the fds run out the answer
 *              is EMFILE/ENFILE (with --handles: a daemon that holds
 *              inodes by file handle answers every one, within the limit);
 *              meanwhile requests that need no new fd
 *              (GETATTR, READ and READDIR on handles opened before,
 *              STATFS) still work and READDIRPLUS still lists every name;
 *              after BATCH_FORGET of everything the fd count is back
 *              within 2 of the start and LOOKUPs succeed again.
 *   bigdir     a directory of --entries names (default 1,000,000; a
 *              private tmpfs when we may mount one, so creating and
 *              removing it is cheap; --slice of them distinct files, the
 *              rest hard links to those): READDIR through all of it with
 *              a 4 KiB and a 1 MiB buffer, every name seen exactly once
 *              and the daemon's peak memory bounded independently of the
 *              entry count; READDIRPLUS over --slice entries (fewer if
 *              the fd limit asks for it) without FORGET (one fd per
 *              distinct inode, all given back by BATCH_FORGET) and with
 *              a FORGET after every reply (fds bounded by one reply's
 *              entries); 5000 listings left open, each costing the
 *              daemon a handle but no listing buffer.
 *   sizes      READ, READDIR(PLUS), GETXATTR, LISTXATTR with size
 *              0xffffffff, WRITE and SETXATTR whose sizes claim more than
 *              the request carries, a header len of 0xffffffff,
 *              BATCH_FORGET with count 0xffffffff: each answered within
 *              the guest's buffers (guard bytes after them untouched) or
 *              refused, and the daemon's peak memory grows by far less
 *              than the sizes claimed.
 *   flood      every request queue's ring filled at once with indirect
 *              chains (GETATTR, LOOKUP and 1 MiB READ mixed) from four
 *              threads, round after round for --flood-ms: every request
 *              answered and right, used indices matching what was
 *              submitted, threads within the worker pool's cap, fds and
 *              memory bounded while a monitor samples them.
 *   interrupt  --storm INTERRUPTs on the hiprio queue for uniques that
 *              never existed, that finished, and that are in flight, while
 *              normal requests run on two other queues and four SETLKWs
 *              wait for a lock the host holds: no SETLKW is woken by an
 *              INTERRUPT meant for another request, every normal request
 *              succeeds, each SETLKW named by the storm ends with EINTR,
 *              and memory does not grow with the storm.
 *   pool       more SETLKWs waiting than the worker pool has threads: the
 *              thread count stays within the cap, and a 1 MiB READ and an
 *              FSYNC on busy queues are still answered (they must not
 *              queue behind lock waits); INTERRUPTs (resent on EAGAIN, as
 *              the Linux client does) end every SETLKW with EINTR.
 *
 * Prints one "ok"/"not ok" line per check and PASS or FAIL; exit status 0
 * or 1. With no --case, all cases run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define EXHAUST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXHAUST_ASAN 1
#endif
#endif

/* ASan builds: the daemons' quarantine of freed memory, in MiB. */
#define ASAN_QUARANTINE_MB 8u

#define RQ 1 /* the request queue sequential requests use */
#define MIB (1024u * 1024u)
#define WAIT_MS 30000 /* per reply: generous for the ASan build */
#define REAP_MS 20000
#define GUARD_BYTE 0xa5
#define PROBE_LEN 4096
#define DATA_LEN (2 * MIB)
/* A transport failure (timeout, dead socket), not a FUSE answer. */
#define TRANSPORT_ERR (-100000)
/* The worker pool's default cap (src/transport/virtio_fs.c), and the
 * helpers that copy half of a large READ (src/util/assist.c): together
 * the threads a guest can make vfsd start. */
#define POOL_CAP 64
#define ASSIST_CAP 4
#define THREAD_CAP (POOL_CAP + ASSIST_CAP)

static unsigned check_no;
static int fails;
static const char *cur_case = "";
static char *const *daemon_argv;
static char topdir[64];

static unsigned opt_entries = 1000000;
static unsigned opt_slice = 10000;
static unsigned opt_flood_ms = 2000;
/* lookup: the daemon holds inodes by file handle (vfsd's default where
 * handles work): no EMFILE at all (--handles) */
static bool opt_handles;
/* handles: files flooded, under an fd limit of a tenth of them */
static unsigned opt_files = 20000;
/* handles: the most fds the serving process may hold while they are held
 * (--max-fds; "hundreds" with --inode-file-handles=prefer|mandatory, half
 * the fd limit plus the fixed ones by default) */
static unsigned opt_max_fds = 1000;
static unsigned opt_storm = 200000;

static bool check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tu_vcheck_line(ok, ++check_no, cur_case, fmt, ap);
	va_end(ap);
	if (!ok)
		fails++;
	return ok;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Numbers worth recording: printed always. */
static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# %s: ", cur_case);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static const char *errname(int r)
{
	if (r == TRANSPORT_ERR)
		return "no answer (transport failure)";
	return r ? strerror(-r) : "ok";
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t pat(uint64_t off, unsigned salt)
{
	return (uint8_t)(off * 7 + (off >> 12) * 13 + salt);
}

static void fill_pat(uint8_t *b, size_t len, uint64_t off, unsigned salt)
{
	for (size_t i = 0; i < len; i++)
		b[i] = pat(off + i, salt);
}

static bool is_pat(const uint8_t *b, size_t len, uint64_t off, unsigned salt)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != pat(off + i, salt))
			return false;
	return true;
}

/* ---- the serving process, seen from /proc ---- */

struct pstat {
	long rss, hwm, anon, shmem; /* kB */
	int threads;
	int fds;
};

static int pstat_read(pid_t pid, struct pstat *s)
{
	static const char *const keys[] = { "VmRSS", "VmHWM", "RssAnon",
					    "RssShmem", "Threads" };
	unsigned long long v[5] = { 0 };
	int r;

	memset(s, 0, sizeof(*s));
	r = tu_proc_status(pid, keys, 5, 10, v);
	if (r < 0)
		return r;
	s->rss = (long)v[0];
	s->hwm = (long)v[1];
	s->anon = (long)v[2];
	s->shmem = (long)v[3];
	s->threads = (int)v[4];
	s->fds = tu_count_fds(pid);
	return s->fds < 0 ? s->fds : 0;
}

/* Reset VmHWM to the current VmRSS, so it reports the next phase's peak. */
static void hwm_reset(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "5", 1) != 1)
			vhf_note("clear_refs: %s", strerror(errno));
		close(fd);
	}
}

/* The soft RLIMIT_NOFILE of @pid, or -1. */
static long nofile_limit(pid_t pid)
{
	char path[64], line[256];
	long soft = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Max open files %ld", &soft) == 1)
			break;
	fclose(f);
	return soft;
}

static void pstat_note(const char *label, const struct pstat *s)
{
	note("%s: fds %d threads %d VmRSS %ld kB VmHWM %ld kB RssAnon %ld kB "
	     "RssShmem %ld kB",
	     label, s->fds, s->threads, s->rss, s->hwm, s->anon, s->shmem);
}

/* ---- the daemon ---- */

struct dmn {
	char dir[128];
	char share[160];
	char sock[160];
	char log[160];
	pid_t pid; /* started */
	pid_t sp; /* serving */
	struct vhf *fe;
	struct fuse_init_out init;
};

/* the daemon of the file-handle flood (handles_case) */
static struct dmn d_handles;

static int make_pat_file(const char *path, size_t len, unsigned salt)
{
	uint8_t *b = malloc(len);
	int r;

	if (!b)
		return -ENOMEM;
	fill_pat(b, len, 0, salt);
	r = tu_write_file(path, b, len);
	free(b);
	return r;
}

/* The case's directory with share/ and share/probe in it. */
static int dmn_prepare(struct dmn *d)
{
	char path[256];

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "%s/%s", topdir, cur_case);
	snprintf(d->share, sizeof(d->share), "%s/share", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/vhost.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
	if (mkdir(d->dir, 0755) || mkdir(d->share, 0755))
		return -errno;
	snprintf(path, sizeof(path), "%s/probe", d->share);
	return make_pat_file(path, PROBE_LEN, 1);
}

static void print_log_tail(const struct dmn *d)
{
	char buf[4097];
	ssize_t n;
	off_t size;
	int fd = open(d->log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > 4096 ? size - 4096 : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	printf("# daemon log (last %zd bytes):\n", n);
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		printf("#   %s\n", l);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

/*
 * Start the daemon with @extra appended to its arguments (stderr into
 * the case's log), connect with @opts, send INIT asking for @init_flags.
 */
static bool dmn_start(struct dmn *d, const char *const *extra,
		      struct vhf_opts *opts, uint32_t init_flags)
{
	char **argv = tu_argv_cat(daemon_argv, extra);
	int saved, r;

	if (!argv)
		return false;
	/* as before testutil, the daemon holds the kept stderr too: the fd
	 * counts in docs/LIMITS.md include it; without a log, the daemon
	 * writes to our stderr */
	saved = tu_stderr_to(d->log, true);
	r = vhf_spawn(argv, d->sock, d->share, &d->pid);
	if (saved >= 0)
		tu_stderr_restore(saved);
	free(argv);
	if (!check(!r, "start the daemon (%s)", errname(r)))
		return false;
	opts->daemon_pid = d->pid;
	if (!opts->timeout_ms)
		opts->timeout_ms = WAIT_MS;
	r = vhf_connect(&d->fe, d->sock, opts);
	if (!check(!r, "connect and set up %u queues (%s)",
		   r ? 0 : vhf_info(d->fe)->nr_queues, errname(r))) {
		print_log_tail(d);
		return false;
	}
	d->sp = tu_serving_pid(d->pid);
	vhf_note("started pid %d, serving pid %d", (int)d->pid, (int)d->sp);
	r = vhf_fuse_init(d->fe, RQ, init_flags, &d->init);
	return check(!r, "INIT (%s)", errname(r));
}

/* Disconnect; the daemon must exit 0 and leave no process behind. */
static void dmn_stop(struct dmn *d, int fails_before)
{
	int r, status = 0;

	if (d->fe)
		vhf_disconnect(d->fe);
	d->fe = NULL;
	if (d->pid <= 0)
		return;
	r = vhf_reap(d->pid, REAP_MS, &status);
	if (check(!r, "daemon exits after disconnect")) {
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "daemon exit status 0 (status %#x)", status);
	} else {
		kill(d->pid, SIGKILL);
		vhf_reap(d->pid, 5000, &status);
	}
	note("daemon log: %ld bytes", file_size(d->log));
	if (fails != fails_before)
		print_log_tail(d);
	d->pid = 0;
}

static void dmn_cleanup(struct dmn *d)
{
	tu_remove_tree(d->dir);
}

/* ---- FUSE requests, one at a time ---- */

/*
 * One request on @q with @outlen reply bytes besides the header. Returns
 * the FUSE error of the answer (0 or -errno), or TRANSPORT_ERR when no
 * well-formed answer came. The body goes to @body (up to @cap bytes).
 */
static int call(struct vhf *fe, unsigned q, uint32_t opcode, uint64_t nodeid,
		const struct iovec *args, unsigned nargs, size_t outlen,
		void *body, size_t cap, size_t *bodylen)
{
	size_t sizes[2] = { sizeof(struct fuse_out_header), outlen };
	struct fuse_out_header oh;
	size_t got = 0, n;
	uint8_t *rep;
	int r;

	rep = malloc(sizeof(oh) + outlen);
	if (!rep)
		return TRANSPORT_ERR;
	r = vhf_fuse(fe, q, opcode, nodeid, args, nargs, sizes, outlen ? 2 : 1,
		     rep, sizeof(oh) + outlen, &got);
	if (r || got < sizeof(oh)) {
		vhf_note("opcode %u: %s, %zu bytes", opcode, strerror(-r), got);
		free(rep);
		return TRANSPORT_ERR;
	}
	memcpy(&oh, rep, sizeof(oh));
	if (oh.error > 0 || oh.error < -4095) {
		free(rep);
		return TRANSPORT_ERR;
	}
	n = got - sizeof(oh);
	if (bodylen)
		*bodylen = n;
	if (body)
		memcpy(body, rep + sizeof(oh), n < cap ? n : cap);
	free(rep);
	return oh.error;
}

/* Like call() for a reply of exactly @len bytes (or an error). */
static int call_fixed(struct vhf *fe, unsigned q, uint32_t opcode,
		      uint64_t nodeid, const struct iovec *args, unsigned nargs,
		      void *out, size_t len)
{
	size_t got = 0;
	int r = call(fe, q, opcode, nodeid, args, nargs, len, out, len, &got);

	if (!r && got != len)
		return TRANSPORT_ERR;
	return r;
}

static int lookup(struct vhf *fe, unsigned q, uint64_t parent, const char *name,
		  struct fuse_entry_out *e)
{
	struct iovec a = { (void *)name, strlen(name) + 1 };

	return call_fixed(fe, q, FUSE_LOOKUP, parent, &a, 1, e, sizeof(*e));
}

static int getattr(struct vhf *fe, unsigned q, uint64_t nodeid,
		   struct fuse_attr_out *out)
{
	struct fuse_getattr_in in = { 0 };
	struct iovec a = { &in, sizeof(in) };

	return call_fixed(fe, q, FUSE_GETATTR, nodeid, &a, 1, out,
			  sizeof(*out));
}

static int open_node(struct vhf *fe, unsigned q, uint32_t opcode,
		     uint64_t nodeid, uint32_t flags, uint64_t *fh)
{
	struct fuse_open_in in = { .flags = flags };
	struct fuse_open_out out;
	struct iovec a = { &in, sizeof(in) };
	int r = call_fixed(fe, q, opcode, nodeid, &a, 1, &out, sizeof(out));

	if (!r)
		*fh = out.fh;
	return r;
}

static int release(struct vhf *fe, unsigned q, uint32_t opcode, uint64_t nodeid,
		   uint64_t fh)
{
	struct fuse_release_in in = { .fh = fh };
	struct iovec a = { &in, sizeof(in) };

	return call_fixed(fe, q, opcode, nodeid, &a, 1, NULL, 0);
}

static int read_fh(struct vhf *fe, unsigned q, uint32_t opcode, uint64_t nodeid,
		   uint64_t fh, uint64_t off, uint32_t size, void *buf,
		   size_t *got)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
	struct iovec a = { &in, sizeof(in) };

	return call(fe, q, opcode, nodeid, &a, 1, size, buf, size, got);
}

static int statfs_(struct vhf *fe, unsigned q)
{
	struct fuse_statfs_out out;

	return call_fixed(fe, q, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0, &out,
			  sizeof(out));
}

/* FORGET references: BATCH_FORGET on the hiprio queue, in chunks. */
struct fref {
	uint64_t nodeid;
	uint64_t n;
};

static int batch_forget(struct vhf *fe, const struct fref *refs, size_t n)
{
	enum { CHUNK = 1024 };
	static struct fuse_forget_one one[CHUNK];
	size_t done = 0;

	while (done < n) {
		size_t k = 0, got = 0;
		struct fuse_batch_forget_in in = { 0 };
		struct iovec a[2];
		int r;

		while (k < CHUNK && done < n) {
			if (refs[done].nodeid && refs[done].n) {
				one[k].nodeid = refs[done].nodeid;
				one[k].nlookup = refs[done].n;
				k++;
			}
			done++;
		}
		if (!k)
			continue;
		in.count = (uint32_t)k;
		a[0] = (struct iovec){ &in, sizeof(in) };
		a[1] = (struct iovec){ one, k * sizeof(one[0]) };
		r = vhf_fuse(fe, 0, FUSE_BATCH_FORGET, 0, a, 2, NULL, 0, NULL,
			     0, &got);
		if (r || got)
			return TRANSPORT_ERR;
	}
	return 0;
}

/* A growable nodeid -> lookup count table. */
struct reftab {
	uint64_t *n; /* indexed by nodeid */
	size_t cap;
	size_t distinct;
	uint64_t total;
};

static int reftab_add(struct reftab *t, uint64_t nodeid, uint64_t n)
{
	if (nodeid >= t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		uint64_t *nn;

		while (cap <= nodeid)
			cap *= 2;
		if (cap > (1u << 26))
			return -E2BIG;
		nn = realloc(t->n, cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		memset(nn + t->cap, 0, (cap - t->cap) * sizeof(*nn));
		t->n = nn;
		t->cap = cap;
	}
	if (!t->n[nodeid])
		t->distinct++;
	t->n[nodeid] += n;
	t->total += n;
	return 0;
}

/* Forget everything in @t and empty it. */
static int reftab_forget(struct vhf *fe, struct reftab *t)
{
	struct fref *refs;
	size_t k = 0;
	int r;

	if (!t->distinct)
		return 0;
	refs = calloc(t->distinct, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap && k < t->distinct; i++)
		if (t->n[i])
			refs[k++] = (struct fref){ i, t->n[i] };
	r = batch_forget(fe, refs, k);
	free(refs);
	memset(t->n, 0, t->cap * sizeof(*t->n));
	t->distinct = 0;
	t->total = 0;
	return r;
}

static void reftab_free(struct reftab *t)
{
	free(t->n);
	memset(t, 0, sizeof(*t));
}

/*
 * The daemon still serves: GETATTR of the root; LOOKUP, OPEN, READ
 * (content checked), RELEASE and FORGET of "probe".
 */
static void still_serves(struct dmn *d, const char *when)
{
	struct fuse_attr_out ao = { 0 };
	struct fuse_entry_out e = { 0 };
	uint8_t buf[PROBE_LEN];
	uint64_t fh = 0;
	size_t got = 0;
	int r;

	r = getattr(d->fe, RQ, FUSE_ROOT_ID, &ao);
	check(!r && S_ISDIR(ao.attr.mode), "%s: GETATTR of the root (%s)", when,
	      errname(r));
	r = lookup(d->fe, RQ, FUSE_ROOT_ID, "probe", &e);
	if (!r)
		r = open_node(d->fe, RQ, FUSE_OPEN, e.nodeid, O_RDONLY, &fh);
	if (!r)
		r = read_fh(d->fe, RQ, FUSE_READ, e.nodeid, fh, 0, PROBE_LEN,
			    buf, &got);
	check(!r && got == PROBE_LEN && is_pat(buf, PROBE_LEN, 0, 1),
	      "%s: LOOKUP, OPEN and READ of a file (%s, %zu bytes)", when,
	      errname(r), got);
	if (fh)
		release(d->fe, RQ, FUSE_RELEASE, e.nodeid, fh);
	if (e.nodeid && !r)
		vhf_fuse_forget(d->fe, e.nodeid, 1);
}

/* ---- FUSE requests in flight together ---- */

/* One request with its own guest buffers; its address is the cookie. */
struct op {
	unsigned q;
	uint32_t opcode;
	uint64_t unique;
	struct vhf_buf in; /* header and arguments */
	struct vhf_buf out; /* reply header (and body unless @ext) */
	size_t outcap; /* device-writable bytes in the chain */
	bool done;
	uint32_t used;
	unsigned tag; /* the case's own */
	uint64_t arg; /* the case's own */
};

static int op_alloc(struct vhf *fe, struct op *op, size_t inlen, size_t outlen)
{
	int r;

	memset(op, 0, sizeof(*op));
	r = vhf_alloc(fe, inlen, &op->in);
	if (!r && outlen)
		r = vhf_alloc(fe, outlen, &op->out);
	return r;
}

static void op_free(struct vhf *fe, struct op *op)
{
	vhf_free(fe, &op->in);
	vhf_free(fe, &op->out);
}

/*
 * Lay a request in @op's buffers and publish it on @q: the header (with
 * len @force_len when non-zero, else the true length) and each argument
 * in its own descriptor, then @outlen bytes of op->out and the @next
 * extra device-writable segments. Indirect when @indirect.
 */
static int op_submit(struct vhf *fe, struct op *op, unsigned q, uint32_t opcode,
		     uint64_t nodeid, const struct iovec *args, unsigned nargs,
		     size_t outlen, const struct vhf_seg *ext, unsigned next,
		     bool indirect, uint32_t force_len)
{
	struct vhf_seg segs[16];
	struct fuse_in_header h;
	size_t len = sizeof(h), off;
	unsigned n = 0, i;

	for (i = 0; i < nargs; i++)
		len += args[i].iov_len;
	if (len > op->in.len || outlen > op->out.len ||
	    1 + nargs + next + 1 > 16)
		return -E2BIG;
	vhf_fuse_in_header(fe, &h, opcode, nodeid,
			   force_len ? force_len : (uint32_t)len);
	memcpy(op->in.hva, &h, sizeof(h));
	segs[n++] = (struct vhf_seg){ op->in.gpa, sizeof(h), false };
	for (i = 0, off = sizeof(h); i < nargs; i++) {
		memcpy((uint8_t *)op->in.hva + off, args[i].iov_base,
		       args[i].iov_len);
		if (args[i].iov_len)
			segs[n++] = (struct vhf_seg){ op->in.gpa + off,
						      (uint32_t)args[i].iov_len,
						      false };
		off += args[i].iov_len;
	}
	op->outcap = 0;
	if (outlen) {
		segs[n++] =
			(struct vhf_seg){ op->out.gpa, (uint32_t)outlen, true };
		op->outcap += outlen;
	}
	for (i = 0; i < next; i++) {
		segs[n++] = ext[i];
		op->outcap += ext[i].len;
	}
	op->q = q;
	op->opcode = opcode;
	op->unique = h.unique;
	op->done = false;
	op->used = 0;
	return vhf_submit(fe, q, segs, n, indirect, op);
}

/* Take one used element of @q and mark its request done. */
static int reap(struct vhf *fe, unsigned q, int timeout_ms)
{
	void *cookie = NULL;
	uint32_t len = 0;
	struct op *op;
	int r;

	r = vhf_wait(fe, q, timeout_ms, &len, &cookie);
	if (r)
		return r;
	op = cookie;
	if (!op || op->q != q || op->done) {
		fprintf(stderr, "queue %u: used element for no request\n", q);
		return -EPROTO;
	}
	op->done = true;
	op->used = len;
	return 0;
}

static int op_wait(struct vhf *fe, struct op *op, int timeout_ms)
{
	while (!op->done) {
		int r = reap(fe, op->q, timeout_ms);

		if (r)
			return r;
	}
	return 0;
}

/*
 * The answer's FUSE error, or TRANSPORT_ERR when it is not well formed
 * (not done, longer than the chain's writable bytes, another unique, a
 * len that is not the used length). @want: the exact body length a
 * success must have, or SIZE_MAX for any.
 */
static int op_result(const struct op *op, size_t want)
{
	struct fuse_out_header oh;

	if (!op->done || op->used < sizeof(oh) || op->used > op->outcap)
		return TRANSPORT_ERR;
	memcpy(&oh, op->out.hva, sizeof(oh));
	if (oh.unique != op->unique || oh.len != op->used || oh.error > 0 ||
	    oh.error < -4095)
		return TRANSPORT_ERR;
	if (oh.error)
		return oh.error;
	if (want != SIZE_MAX && op->used != sizeof(oh) + want)
		return TRANSPORT_ERR;
	return 0;
}

static void *op_body(const struct op *op)
{
	return (uint8_t *)op->out.hva + sizeof(struct fuse_out_header);
}

/* ---- directory listings ---- */

/* One name of a listing: @e is NULL for READDIR. */
typedef int (*dirent_fn)(void *arg, const char *name, size_t namelen,
			 uint64_t ino, const struct fuse_entry_out *e);

/*
 * Walk a READDIR(PLUS) reply body; returns the entries seen and the next
 * offset in *next, or -EBADMSG for a malformed record.
 */
static long walk_dirents(const uint8_t *body, size_t len, bool plus,
			 uint64_t *next, dirent_fn fn, void *arg)
{
	size_t off = 0;
	long n = 0;

	while (off < len) {
		struct fuse_direntplus dp;
		struct fuse_dirent de;
		size_t base =
			plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
		size_t rec;

		if (len - off < base)
			return -EBADMSG;
		if (plus) {
			memcpy(&dp, body + off, sizeof(dp));
			de = dp.dirent;
		} else {
			memcpy(&de, body + off, sizeof(de));
		}
		if (de.namelen == 0 || de.namelen > 255)
			return -EBADMSG;
		rec = plus ? FUSE_DIRENTPLUS_SIZE(&dp) : FUSE_DIRENT_SIZE(&de);
		if (rec > len - off)
			return -EBADMSG;
		if (fn(arg, (const char *)body + off + base, de.namelen, de.ino,
		       plus ? &dp.entry_out : NULL))
			return -EBADMSG;
		*next = de.off;
		off += rec;
		n++;
	}
	return n;
}

/* Names "PREFIX%07u" below @count, each expected exactly once. */
struct nameset {
	char prefix;
	unsigned count;
	uint8_t *seen;
	unsigned distinct, dups, dots, strangers;
	uint64_t entries;
	struct reftab *refs; /* READDIRPLUS: lookup references taken */
	unsigned with_node, without_node;
};

static int nameset_fn(void *arg, const char *name, size_t len, uint64_t ino,
		      const struct fuse_entry_out *e)
{
	struct nameset *s = arg;
	unsigned idx = 0;
	size_t i;

	s->entries++;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.')) {
		s->dots++;
		if (e && e->nodeid)
			s->strangers++; /* "." and ".." carry no reference */
		return 0;
	}
	if (e) {
		if (e->nodeid) {
			s->with_node++;
			if (s->refs && reftab_add(s->refs, e->nodeid, 1))
				return -1;
		} else {
			s->without_node++;
		}
	}
	if (len < 2 || name[0] != s->prefix) {
		s->strangers++;
		return 0;
	}
	for (i = 1; i < len; i++) {
		if (name[i] < '0' || name[i] > '9') {
			s->strangers++;
			return 0;
		}
		idx = idx * 10 + (unsigned)(name[i] - '0');
	}
	if (idx >= s->count) {
		s->strangers++;
		return 0;
	}
	if (s->seen[idx]++)
		s->dups++;
	else
		s->distinct++;
	return 0;
}

/*
 * List a directory handle from offset 0 with @size-byte requests until an
 * empty reply (or, with @stop_after, once that many entries were seen).
 * After each reply @per_reply runs if set. Returns 0 or an error.
 */
static int list_dir(struct dmn *d, uint32_t opcode, uint64_t nodeid,
		    uint64_t fh, uint32_t size, struct nameset *s,
		    uint64_t stop_after, unsigned *requests,
		    void (*per_reply)(struct dmn *, struct nameset *))
{
	uint8_t *buf = malloc(size);
	uint64_t off = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	*requests = 0;
	for (;;) {
		size_t got = 0;
		long n;

		r = read_fh(d->fe, RQ, opcode, nodeid, fh, off, size, buf,
			    &got);
		(*requests)++;
		if (r)
			break;
		if (got == 0)
			break;
		if (got > size) {
			r = TRANSPORT_ERR;
			break;
		}
		n = walk_dirents(buf, got, opcode == FUSE_READDIRPLUS, &off,
				 nameset_fn, s);
		if (n <= 0) {
			r = -EBADMSG;
			break;
		}
		if (per_reply)
			per_reply(d, s);
		if (stop_after && s->entries >= stop_after)
			break;
	}
	free(buf);
	return r;
}

static void nameset_reset(struct nameset *s)
{
	memset(s->seen, 0, s->count);
	s->distinct = s->dups = s->dots = s->strangers = 0;
	s->with_node = s->without_node = 0;
	s->entries = 0;
}

/* ==== case lookup ==== */

#define LOOKUP_FILES 5000

static void case_lookup(void)
{
	static const char *const extra[] = { "--rlimit-nofile", "1024", NULL };
	struct vhf_opts opts = { 0 };
	struct fuse_entry_out e = { 0 };
	struct fuse_attr_out ao = { 0 };
	struct pstat before, at_limit, after;
	struct reftab refs = { 0 };
	struct nameset ns = { .prefix = 'f', .count = LOOKUP_FILES };
	uint64_t many = 0, probe = 0, probe_fh = 0, root_fh = 0, many_fh = 0;
	unsigned ok = 0, emfile = 0, other = 0, lost = 0, i, reqs = 0;
	int first_err = 0, fb = fails, r;
	char path[256], name[32];
	uint8_t buf[PROBE_LEN];
	size_t got = 0;
	double t0;
	struct dmn d;

	if (!check(!dmn_prepare(&d), "prepare the share"))
		return;
	snprintf(path, sizeof(path), "%s/many", d.share);
	mkdir(path, 0755);
	t0 = now_s();
	for (i = 0; i < LOOKUP_FILES; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/many/f%07u", d.share, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			break;
		close(fd);
	}
	if (!check(i == LOOKUP_FILES, "create %u files (%.2f s)", i,
		   now_s() - t0))
		goto out_rm;
	ns.seen = calloc(LOOKUP_FILES, 1);
	if (!ns.seen || !dmn_start(&d, extra, &opts, 0))
		goto out_stop;

	/* What needs an fd later is opened now. */
	r = lookup(d.fe, RQ, FUSE_ROOT_ID, "many", &e);
	many = r ? 0 : e.nodeid;
	if (!r)
		r = open_node(d.fe, RQ, FUSE_OPENDIR, many, O_RDONLY, &many_fh);
	if (!r)
		r = lookup(d.fe, RQ, FUSE_ROOT_ID, "probe", &e);
	probe = r ? 0 : e.nodeid;
	if (!r)
		r = open_node(d.fe, RQ, FUSE_OPEN, probe, O_RDONLY, &probe_fh);
	if (!r)
		r = open_node(d.fe, RQ, FUSE_OPENDIR, FUSE_ROOT_ID, O_RDONLY,
			      &root_fh);
	if (!check(!r, "LOOKUP and open what is used later (%s)", errname(r)))
		goto out_stop;
	pstat_read(d.sp, &before);
	hwm_reset(d.sp);
	pstat_note("before", &before);
	check(nofile_limit(d.sp) == 1024,
	      "--rlimit-nofile 1024 is the serving process's limit (%ld)",
	      nofile_limit(d.sp));

	/* 1. LOOKUP every file, FORGET none. */
	t0 = now_s();
	for (i = 0; i < LOOKUP_FILES; i++) {
		snprintf(name, sizeof(name), "f%07u", i);
		r = lookup(d.fe, RQ, many, name, &e);
		if (!r) {
			ok++;
			reftab_add(&refs, e.nodeid, 1);
			continue;
		}
		if (r == TRANSPORT_ERR) {
			lost++;
			break;
		}
		if (!first_err)
			first_err = r;
		if (r == -EMFILE || r == -ENFILE)
			emfile++;
		else
			other++;
	}
	pstat_read(d.sp, &at_limit);
	pstat_note("after 5000 LOOKUPs", &at_limit);
	note("%u LOOKUPs succeeded (%zu nodes), %u answered EMFILE/ENFILE "
	     "(first error: %s), %u other errors, in %.2f s",
	     ok, refs.distinct, emfile, first_err ? strerror(-first_err) : "-",
	     other, now_s() - t0);
	check(lost == 0, "every LOOKUP answered (%u unanswered)", lost);
	if (opt_handles)
		check(ok == LOOKUP_FILES && emfile == 0 && other == 0,
		      "held by file handle: every LOOKUP succeeds, no EMFILE "
		      "(%u ok, %u EMFILE/ENFILE, %u other)",
		      ok, emfile, other);
	else
		check(ok > 0 && emfile > 0 && other == 0,
		      "LOOKUPs succeed until the fds run out, then EMFILE/ENFILE "
		      "(%u ok, %u EMFILE/ENFILE, %u other)",
		      ok, emfile, other);
	check(at_limit.fds <= 1024, "fds at the limit: %d <= 1024",
	      at_limit.fds);

	/* 2. What needs no new fd still works. */
	r = getattr(d.fe, RQ, FUSE_ROOT_ID, &ao);
	check(!r, "out of fds: GETATTR of the root (%s)", errname(r));
	for (i = 0; i < refs.cap; i++)
		if (refs.n[i])
			break;
	r = i < refs.cap ? getattr(d.fe, RQ, i, &ao) : -ENOENT;
	check(!r && S_ISREG(ao.attr.mode),
	      "out of fds: GETATTR of a looked-up file (%s)", errname(r));
	r = read_fh(d.fe, RQ, FUSE_READ, probe, probe_fh, 0, PROBE_LEN, buf,
		    &got);
	check(!r && got == PROBE_LEN && is_pat(buf, PROBE_LEN, 0, 1),
	      "out of fds: READ on a handle opened before (%s)", errname(r));
	r = read_fh(d.fe, RQ, FUSE_READDIR, FUSE_ROOT_ID, root_fh, 0,
		    sizeof(buf), buf, &got);
	check(!r && got > 0,
	      "out of fds: READDIR on a handle opened before (%s)", errname(r));
	r = statfs_(d.fe, RQ);
	check(!r, "out of fds: STATFS (%s)", errname(r));
	r = lookup(d.fe, RQ, many, "f0000000", &e);
	note("out of fds: LOOKUP of a name already known: %s", errname(r));
	check(r != TRANSPORT_ERR,
	      "out of fds: LOOKUP of a known name answered");
	if (!r)
		reftab_add(&refs, e.nodeid, 1);
	{
		struct reftab dirrefs = { 0 };

		ns.refs = &dirrefs;
		r = list_dir(&d, FUSE_READDIRPLUS, many, many_fh, 65536, &ns, 0,
			     &reqs, NULL);
		note("out of fds: READDIRPLUS: %u names in %u requests, %u "
		     "with a node, %u without",
		     ns.distinct, reqs, ns.with_node, ns.without_node);
		check(!r && ns.distinct == LOOKUP_FILES && !ns.dups &&
			      !ns.strangers && ns.dots == 2,
		      "out of fds: READDIRPLUS still lists every name once "
		      "(%s, %u names, %u dups)",
		      errname(r), ns.distinct, ns.dups);
		reftab_forget(d.fe, &dirrefs);
		reftab_free(&dirrefs);
		ns.refs = NULL;
	}

	/* 3. FORGET everything: the fds come back. */
	r = reftab_forget(d.fe, &refs);
	check(!r, "BATCH_FORGET of every reference (%s)", errname(r));
	/* The hiprio queue answers in order: a GETATTR after it is enough
	 * for the forgets to have been processed. */
	getattr(d.fe, RQ, FUSE_ROOT_ID, &ao);
	pstat_read(d.sp, &after);
	pstat_note("after BATCH_FORGET", &after);
	check(after.fds <= before.fds + 2,
	      "fds back to within 2 of the start (%d, started at %d, peak "
	      "%d)",
	      after.fds, before.fds, at_limit.fds);
	for (i = 0, ok = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "f%07u", LOOKUP_FILES - 1 - i);
		r = lookup(d.fe, RQ, many, name, &e);
		if (!r) {
			ok++;
			reftab_add(&refs, e.nodeid, 1);
		}
	}
	check(ok == 500, "500 new LOOKUPs succeed again (%u)", ok);
	reftab_forget(d.fe, &refs);
	still_serves(&d, "after the fd exhaustion");
	release(d.fe, RQ, FUSE_RELEASE, probe, probe_fh);
	release(d.fe, RQ, FUSE_RELEASEDIR, FUSE_ROOT_ID, root_fh);
	release(d.fe, RQ, FUSE_RELEASEDIR, many, many_fh);
out_stop:
	dmn_stop(&d, fb);
out_rm:
	reftab_free(&refs);
	free(ns.seen);
	dmn_cleanup(&d);
}

/* ==== case bigdir ==== */

/* Peak memory a listing may add, whatever the entry count: a 1 MiB
 * reply buffer, the reply pages in guest memory and allocator slack (and
 * ASan's quarantine). A daemon that held the listing of a million names
 * would need more than 30 MB. */
#ifdef EXHAUST_ASAN
#define BIGDIR_MEM_BOUND_KB (24 * 1024)
#else
#define BIGDIR_MEM_BOUND_KB (8 * 1024)
#endif

/* Daemon memory one open, started listing may cost: the handle, not a
 * copy of the directory (nor a 32 KiB read-ahead buffer). */
#ifdef EXHAUST_ASAN
#define HANDLE_MEM_BOUND 4096u
#else
#define HANDLE_MEM_BOUND 2048u
#endif

static bool mounted_tmpfs;

/* A private tmpfs for the big directory, when we may mount one: made in
 * our own mount namespace, so it vanishes with us whatever happens. */
static void try_private_tmpfs(const char *dir)
{
	if (unshare(CLONE_NEWNS))
		return;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return;
	if (mount("exhaust", dir, "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755,size=64m"))
		return;
	mounted_tmpfs = true;
}

/* d->share/big: @n names, the first @distinct of them files, the rest
 * hard links to those (ext4 allows 65000 links per inode). */
static int make_big_dir(struct dmn *d, unsigned n, unsigned distinct)
{
	char path[256], name[32], base[32];
	int dfd, r = 0;
	unsigned i;

	snprintf(path, sizeof(path), "%s/big", d->share);
	if (mkdir(path, 0755))
		return -errno;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (i = 0; i < n && !r; i++) {
		snprintf(name, sizeof(name), "e%07u", i);
		if (i < distinct) {
			if (mknodat(dfd, name, S_IFREG | 0644, 0))
				r = -errno;
		} else {
			snprintf(base, sizeof(base), "e%07u", i % distinct);
			if (linkat(dfd, base, dfd, name, 0))
				r = -errno;
		}
	}
	close(dfd);
	return r;
}

static struct pstat rdp_peak;

static void sample_fds(struct dmn *d, struct nameset *s)
{
	struct pstat p;

	if (!pstat_read(d->sp, &p) && p.fds > rdp_peak.fds)
		rdp_peak = p;
}

static void forget_each_reply(struct dmn *d, struct nameset *s)
{
	sample_fds(d, s);
	reftab_forget(d->fe, s->refs);
}

/*
 * Many listings left open: OPENDIR the big directory HANDLES times and
 * READDIR 4 KiB of each (most of the directory left unread), RELEASEDIR
 * none. What a handle costs must not include a listing buffer.
 */
static void many_listings(struct dmn *d, uint64_t big)
{
	enum { HANDLES = 5000 };
	static uint64_t fhs[HANDLES];
	struct pstat before, after;
	uint8_t buf[4096];
	unsigned i, opened = 0, listed = 0;
	long per;

	pstat_read(d->sp, &before);
	for (i = 0; i < HANDLES; i++) {
		size_t got = 0;

		if (open_node(d->fe, RQ, FUSE_OPENDIR, big, O_RDONLY, &fhs[i]))
			break;
		opened++;
		if (!read_fh(d->fe, RQ, FUSE_READDIR, big, fhs[i], 0,
			     sizeof(buf), buf, &got) &&
		    got > 0)
			listed++;
	}
	pstat_read(d->sp, &after);
	per = opened ? (after.anon - before.anon) * 1024 / (long)opened : 0;
	pstat_note("with 5000 listings open", &after);
	note("%u OPENDIRs, %u first READDIRs: RssAnon +%ld kB, %ld bytes per "
	     "open listing",
	     opened, listed, after.anon - before.anon, per);
	check(opened == HANDLES && listed == HANDLES,
	      "%u listings opened and started", listed);
	check(per < HANDLE_MEM_BOUND,
	      "an open listing costs %ld bytes of daemon memory (bound %u)",
	      per, HANDLE_MEM_BOUND);
	for (i = 0; i < opened; i++)
		release(d->fe, RQ, FUSE_RELEASEDIR, big, fhs[i]);
	pstat_read(d->sp, &after);
	check(after.fds <= before.fds + 2,
	      "RELEASEDIR of all gives their fds back (%d, %d before)",
	      after.fds, before.fds);
}

static void case_bigdir(void)
{
	struct vhf_opts opts = { 0 };
	struct nameset ns = { .prefix = 'e', .count = opt_entries };
	struct reftab refs = { 0 };
	struct pstat before, after, base;
	struct fuse_entry_out e = { 0 };
	struct fuse_attr_out ao = { 0 };
	uint32_t sizes[2] = { 4096, MIB };
	unsigned distinct = opt_slice < opt_entries ? opt_slice : opt_entries;
	unsigned reqs = 0, slice = distinct, per_reply;
	uint64_t big = 0, fh = 0;
	int fb = fails, r;
	struct statfs sf;
	double t0, t;
	struct dmn d;

	if (!distinct)
		distinct = slice = 1;
	if (!check(!dmn_prepare(&d), "prepare the share"))
		return;
	try_private_tmpfs(d.share);
	if (!mounted_tmpfs)
		note("no private tmpfs (not allowed to mount): the directory "
		     "goes where the case directory is");
	if (statfs(d.share, &sf) == 0)
		note("file system of the share: %s",
		     sf.f_type == 0x01021994 ? "tmpfs" :
		     sf.f_type == 0xef53     ? "ext4" :
					       "other");
	{
		char probe[256];

		snprintf(probe, sizeof(probe), "%s/probe", d.share);
		make_pat_file(probe, PROBE_LEN, 1);
	}
	t0 = now_s();
	r = make_big_dir(&d, opt_entries, distinct);
	t = now_s() - t0;
	if (!check(!r,
		   "create %u entries (%u files, %u hard links) in %.2f s "
		   "(%s)",
		   opt_entries, distinct, opt_entries - distinct, t,
		   errname(r)))
		goto out_rm;
	ns.seen = calloc(opt_entries, 1);
	if (!ns.seen || !dmn_start(&d, NULL, &opts, FUSE_DO_READDIRPLUS))
		goto out_stop;
	r = lookup(d.fe, RQ, FUSE_ROOT_ID, "big", &e);
	big = r ? 0 : e.nodeid;
	if (!check(!r, "LOOKUP big (%s)", errname(r)))
		goto out_stop;
	pstat_read(d.sp, &base);
	pstat_note("before", &base);
	{
		/* READDIRPLUS without FORGET must stay below the fd limit
		 * (vfsd raises it only with CAP_SYS_RESOURCE). */
		long lim = nofile_limit(d.sp);

		note("open file limit of the serving process: %ld", lim);
		if (lim > 0 && (long)slice > lim - base.fds - 64)
			slice = lim > base.fds + 64 + 1000 ?
					(unsigned)(lim - base.fds - 64) :
					1000;
	}

	/* 1. READDIR through everything with two buffer sizes. */
	for (unsigned k = 0; k < 2; k++) {
		r = open_node(d.fe, RQ, FUSE_OPENDIR, big, O_RDONLY, &fh);
		if (!check(!r, "OPENDIR big (%s)", errname(r)))
			goto out_stop;
		nameset_reset(&ns);
		pstat_read(d.sp, &before);
		hwm_reset(d.sp);
		t0 = now_s();
		r = list_dir(&d, FUSE_READDIR, big, fh, sizes[k], &ns, 0, &reqs,
			     NULL);
		t = now_s() - t0;
		pstat_read(d.sp, &after);
		release(d.fe, RQ, FUSE_RELEASEDIR, big, fh);
		note("READDIR %u bytes: %u names in %u requests, %.2f s",
		     sizes[k], ns.distinct, reqs, t);
		pstat_note(sizes[k] == 4096 ? "after READDIR 4 KiB" :
					      "after READDIR 1 MiB",
			   &after);
		check(!r && ns.distinct == opt_entries && !ns.dups &&
			      !ns.strangers && ns.dots == 2,
		      "READDIR with %u-byte buffers sees each of the %u names "
		      "once (%s; %u seen, %u dups, %u others, %u dots)",
		      sizes[k], opt_entries, errname(r), ns.distinct, ns.dups,
		      ns.strangers, ns.dots);
		check(after.hwm - before.rss < BIGDIR_MEM_BOUND_KB,
		      "peak memory during the %u-byte listing: +%ld kB (bound "
		      "%u kB, whatever the entry count)",
		      sizes[k], after.hwm - before.rss, BIGDIR_MEM_BOUND_KB);
	}

	/* 2. READDIRPLUS over a slice without FORGET: one fd per inode. */
	r = open_node(d.fe, RQ, FUSE_OPENDIR, big, O_RDONLY, &fh);
	if (!check(!r, "OPENDIR big (%s)", errname(r)))
		goto out_stop;
	nameset_reset(&ns);
	ns.refs = &refs;
	pstat_read(d.sp, &before);
	t0 = now_s();
	r = list_dir(&d, FUSE_READDIRPLUS, big, fh, 65536, &ns, slice, &reqs,
		     NULL);
	t = now_s() - t0;
	pstat_read(d.sp, &after);
	release(d.fe, RQ, FUSE_RELEASEDIR, big, fh);
	note("READDIRPLUS without FORGET: %llu entries in %u requests (%.2f "
	     "s), %zu distinct nodes, %llu references",
	     (unsigned long long)ns.entries, reqs, t, refs.distinct,
	     (unsigned long long)refs.total);
	pstat_note("after READDIRPLUS without FORGET", &after);
	check(!r && ns.entries >= slice && !ns.dups && !ns.strangers &&
		      ns.without_node == 0,
	      "READDIRPLUS over %u entries: each looked up once (%s, %u "
	      "dups, %u without a node)",
	      slice, errname(r), ns.dups, ns.without_node);
	check(after.fds >= before.fds + (int)refs.distinct - 2 &&
		      after.fds <= before.fds + (int)refs.distinct + 2,
	      "one fd per distinct inode looked up (+%d fds for %zu nodes)",
	      after.fds - before.fds, refs.distinct);
	r = reftab_forget(d.fe, &refs);
	getattr(d.fe, RQ, FUSE_ROOT_ID, &ao);
	pstat_read(d.sp, &after);
	pstat_note("after BATCH_FORGET", &after);
	check(!r && after.fds <= before.fds + 2,
	      "BATCH_FORGET gives them all back (%d fds, %d before)", after.fds,
	      before.fds);

	/* 3. The same slice with a FORGET after every reply. */
	r = open_node(d.fe, RQ, FUSE_OPENDIR, big, O_RDONLY, &fh);
	if (!check(!r, "OPENDIR big (%s)", errname(r)))
		goto out_stop;
	nameset_reset(&ns);
	pstat_read(d.sp, &before);
	rdp_peak = before;
	r = list_dir(&d, FUSE_READDIRPLUS, big, fh, 65536, &ns, slice, &reqs,
		     forget_each_reply);
	release(d.fe, RQ, FUSE_RELEASEDIR, big, fh);
	getattr(d.fe, RQ, FUSE_ROOT_ID, &ao);
	pstat_read(d.sp, &after);
	per_reply = 65536 / FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + 8);
	note("READDIRPLUS with FORGET after each reply: peak %d fds (%d "
	     "before, at most %u entries per reply)",
	     rdp_peak.fds, before.fds, per_reply);
	check(!r && ns.entries >= slice && !ns.dups,
	      "READDIRPLUS with FORGETs lists the slice (%s)", errname(r));
	check(rdp_peak.fds <= before.fds + (int)per_reply + 2,
	      "fds bounded by one reply's entries (peak +%d, bound +%u)",
	      rdp_peak.fds - before.fds, per_reply + 2);
	check(after.fds <= before.fds + 2, "and all given back (%d, %d before)",
	      after.fds, before.fds);
	ns.refs = NULL;
	many_listings(&d, big);
	still_serves(&d, "after the big directory");
out_stop:
	dmn_stop(&d, fb);
out_rm:
	reftab_free(&refs);
	free(ns.seen);
	t0 = now_s();
	if (mounted_tmpfs) {
		umount2(d.share, MNT_DETACH);
		mounted_tmpfs = false;
	}
	dmn_cleanup(&d);
	note("removed in %.2f s", now_s() - t0);
}

/* ==== case sizes ==== */

/* Peak memory the whole case may add: the claims total many GiB. */
#define SIZES_MEM_BOUND_KB (32 * 1024)

struct raw {
	int err; /* FUSE error, or TRANSPORT_ERR */
	uint32_t used;
	bool guard_ok;
	uint8_t body[8192];
	size_t body_len;
};

/*
 * One request laid by hand: @args as given, header len @force_len (0:
 * true length), @outlen writable bytes followed by guard bytes that must
 * stay untouched. With @outlen 0 no writable buffer at all.
 */
static void raw_req(struct dmn *d, uint32_t opcode, uint64_t nodeid,
		    const struct iovec *args, unsigned nargs, size_t outlen,
		    uint32_t force_len, struct raw *res)
{
	size_t inlen = sizeof(struct fuse_in_header);
	struct op op;
	int r;

	memset(res, 0, sizeof(*res));
	for (unsigned i = 0; i < nargs; i++)
		inlen += args[i].iov_len;
	r = op_alloc(d->fe, &op, inlen, outlen + 4096);
	if (r) {
		res->err = TRANSPORT_ERR;
		return;
	}
	memset(op.out.hva, GUARD_BYTE, outlen + 4096);
	r = op_submit(d->fe, &op, RQ, opcode, nodeid, args, nargs, outlen, NULL,
		      0, false, force_len);
	if (!r)
		r = op_wait(d->fe, &op, WAIT_MS);
	res->used = op.used;
	res->guard_ok = true;
	for (size_t i = outlen; i < outlen + 4096; i++)
		if (((uint8_t *)op.out.hva)[i] != GUARD_BYTE)
			res->guard_ok = false;
	if (r) {
		res->err = TRANSPORT_ERR;
	} else if (!outlen) {
		res->err = op.used ? TRANSPORT_ERR : 0;
	} else {
		res->err = op_result(&op, SIZE_MAX);
		if (!res->err && op.used > sizeof(struct fuse_out_header)) {
			res->body_len =
				op.used - sizeof(struct fuse_out_header);
			memcpy(res->body, op_body(&op),
			       res->body_len < sizeof(res->body) ?
				       res->body_len :
				       sizeof(res->body));
		}
	}
	op_free(d->fe, &op);
}

static void check_raw(const struct raw *res, size_t outlen, const char *what,
		      int want_err)
{
	check(res->err == want_err && res->used <= outlen && res->guard_ok,
	      "%s: %s (want %s), %u bytes written into %zu, guard %s", what,
	      errname(res->err), errname(want_err), res->used, outlen,
	      res->guard_ok ? "intact" : "OVERWRITTEN");
}

static void case_sizes(void)
{
	static const char *const extra[] = { "--xattr", NULL };
	static const char xname[] = "user.exhaust";
	struct vhf_opts opts = { 0 };
	struct fuse_entry_out e = { 0 };
	struct pstat before, after;
	struct raw res;
	uint64_t data = 0, dfh = 0, rfh = 0;
	char path[256], value[1000];
	uint8_t junk[4096];
	int fb = fails, r;
	struct dmn d;

	if (!check(!dmn_prepare(&d), "prepare the share"))
		return;
	snprintf(path, sizeof(path), "%s/data", d.share);
	make_pat_file(path, DATA_LEN, 2);
	memset(value, 'v', sizeof(value));
	if (!check(!setxattr(path, xname, value, sizeof(value), 0),
		   "set %s on the host (%s)", xname, strerror(errno)))
		goto out_rm;
	memset(junk, 0x5a, sizeof(junk));
	if (!dmn_start(&d, extra, &opts, FUSE_MAX_PAGES))
		goto out_stop;
	r = lookup(d.fe, RQ, FUSE_ROOT_ID, "data", &e);
	data = r ? 0 : e.nodeid;
	if (!r)
		r = open_node(d.fe, RQ, FUSE_OPEN, data, O_RDWR, &dfh);
	if (!r)
		r = open_node(d.fe, RQ, FUSE_OPENDIR, FUSE_ROOT_ID, O_RDONLY,
			      &rfh);
	if (!check(!r, "LOOKUP and OPEN data, OPENDIR the root (%s)",
		   errname(r)))
		goto out_stop;
	pstat_read(d.sp, &before);
	hwm_reset(d.sp);
	pstat_note("before", &before);

	{
		struct fuse_read_in in = { .fh = dfh, .size = UINT32_MAX };
		struct iovec a = { &in, sizeof(in) };

		raw_req(&d, FUSE_READ, data, &a, 1, 4096 + 16, 0, &res);
		check_raw(&res, 4096 + 16, "READ size 0xffffffff, 4 KiB buffer",
			  -EINVAL);
		raw_req(&d, FUSE_READ, data, &a, 1, MIB + 16, 0, &res);
		check_raw(&res, MIB + 16, "READ size 0xffffffff, 1 MiB buffer",
			  -EINVAL);
		in.size = 64 * MIB;
		raw_req(&d, FUSE_READ, data, &a, 1, MIB + 16, 0, &res);
		check_raw(&res, MIB + 16, "READ size 64 MiB, 1 MiB buffer",
			  -EINVAL);
	}
	{
		struct fuse_read_in in = { .fh = rfh, .size = UINT32_MAX };
		struct iovec a = { &in, sizeof(in) };

		raw_req(&d, FUSE_READDIR, FUSE_ROOT_ID, &a, 1, 4096 + 16, 0,
			&res);
		check_raw(&res, 4096 + 16,
			  "READDIR size 0xffffffff, 4 KiB buffer", 0);
		check(res.body_len > 0, "READDIR: a listing (%zu bytes)",
		      res.body_len);
		raw_req(&d, FUSE_READDIR, FUSE_ROOT_ID, &a, 1, 2 * MIB + 16, 0,
			&res);
		check_raw(&res, 2 * MIB + 16,
			  "READDIR size 0xffffffff, 2 MiB buffer", 0);
		raw_req(&d, FUSE_READDIRPLUS, FUSE_ROOT_ID, &a, 1, 4096 + 16, 0,
			&res);
		check_raw(&res, 4096 + 16,
			  "READDIRPLUS size 0xffffffff, 4 KiB buffer", 0);
		if (!res.err) {
			struct nameset ns = { .prefix = 'x' };
			struct reftab refs = { 0 };
			uint64_t next = 0;

			ns.refs = &refs;
			walk_dirents(res.body, res.body_len, true, &next,
				     nameset_fn, &ns);
			reftab_forget(d.fe, &refs);
			reftab_free(&refs);
		}
	}
	{
		struct fuse_getxattr_in in = { .size = UINT32_MAX };
		struct iovec a[2] = { { &in, sizeof(in) },
				      { (void *)xname, sizeof(xname) } };

		raw_req(&d, FUSE_GETXATTR, data, a, 2, 4096 + 16, 0, &res);
		check_raw(&res, 4096 + 16,
			  "GETXATTR size 0xffffffff, 4 KiB buffer", 0);
		check(res.body_len == sizeof(value) &&
			      !memcmp(res.body, value, sizeof(value)),
		      "GETXATTR: the %zu-byte value (%zu bytes)", sizeof(value),
		      res.body_len);
		raw_req(&d, FUSE_GETXATTR, data, a, 2, 512 + 16, 0, &res);
		check_raw(&res, 512 + 16,
			  "GETXATTR size 0xffffffff, 512-byte buffer", -ERANGE);
		raw_req(&d, FUSE_LISTXATTR, data, a, 1, 4096 + 16, 0, &res);
		check_raw(&res, 4096 + 16,
			  "LISTXATTR size 0xffffffff, 4 KiB buffer", 0);
		check(res.body_len >= sizeof(xname) &&
			      memmem(res.body, res.body_len, xname,
				     sizeof(xname)),
		      "LISTXATTR: the list names %s", xname);
		raw_req(&d, FUSE_LISTXATTR, data, a, 1, 16, 0, &res);
		check_raw(&res, 16, "LISTXATTR size 0xffffffff, header only",
			  -ERANGE);
	}
	{
		struct fuse_write_in in = { .fh = dfh, .size = UINT32_MAX };
		struct iovec a[2] = { { &in, sizeof(in) },
				      { junk, sizeof(junk) } };

		raw_req(&d, FUSE_WRITE, data, a, 2, 16 + 8, 0, &res);
		check_raw(&res, 24,
			  "WRITE claiming 0xffffffff bytes, 4 KiB sent",
			  -EINVAL);
		in.size = MIB;
		raw_req(&d, FUSE_WRITE, data, a, 2, 16 + 8, 0, &res);
		check_raw(&res, 24, "WRITE claiming 1 MiB, 4 KiB sent",
			  -EINVAL);
		in.size = sizeof(junk);
		raw_req(&d, FUSE_WRITE, data, a, 2, 16 + 8, UINT32_MAX, &res);
		check_raw(&res, 24, "WRITE with header len 0xffffffff",
			  -EINVAL);
		snprintf(path, sizeof(path), "%s/data", d.share);
		{
			uint8_t *b = malloc(DATA_LEN);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t n = fd >= 0 && b ? read(fd, b, DATA_LEN) : -1;

			check(n == DATA_LEN && is_pat(b, DATA_LEN, 0, 2),
			      "the file on the host is unchanged");
			if (fd >= 0)
				close(fd);
			free(b);
		}
	}
	{
		struct fuse_setxattr_in in = { .size = UINT32_MAX };
		struct iovec a[3] = { { &in, sizeof(in) },
				      { (void *)xname, sizeof(xname) },
				      { junk, 16 } };

		raw_req(&d, FUSE_SETXATTR, data, a, 3, 16, 0, &res);
		check(res.err < 0 && res.err != TRANSPORT_ERR &&
			      res.used <= 16 && res.guard_ok,
		      "SETXATTR claiming a 0xffffffff-byte value: refused (%s)",
		      errname(res.err));
	}
	{
		struct fuse_getattr_in in = { 0 };
		struct iovec a = { &in, sizeof(in) };

		raw_req(&d, FUSE_GETATTR, FUSE_ROOT_ID, &a, 1, 4096, UINT32_MAX,
			&res);
		check_raw(&res, 4096, "GETATTR with header len 0xffffffff",
			  -EINVAL);
		raw_req(&d, FUSE_GETATTR, FUSE_ROOT_ID, &a, 1, 4096,
			UINT32_MAX - 7, &res);
		check_raw(&res, 4096, "GETATTR with header len 0xfffffff8",
			  -EINVAL);
	}
	{
		struct fuse_batch_forget_in in = { .count = UINT32_MAX };
		struct fuse_forget_one one = { .nodeid = data, .nlookup = 1 };
		struct iovec a[2] = { { &in, sizeof(in) },
				      { &one, sizeof(one) } };

		raw_req(&d, FUSE_BATCH_FORGET, 0, a, 2, 0, 0, &res);
		check(res.err == 0 && res.used == 0,
		      "BATCH_FORGET with count 0xffffffff: no reply (%s, %u "
		      "bytes)",
		      errname(res.err), res.used);
		r = getattr(d.fe, RQ, data, &(struct fuse_attr_out){ 0 });
		check(!r, "and the node it named is still known (%s)",
		      errname(r));
	}
	pstat_read(d.sp, &after);
	pstat_note("after", &after);
	check(after.hwm - before.rss < SIZES_MEM_BOUND_KB,
	      "peak memory: +%ld kB for claims of up to 4 GiB each (bound "
	      "%u kB)",
	      after.hwm - before.rss, SIZES_MEM_BOUND_KB);
	release(d.fe, RQ, FUSE_RELEASE, data, dfh);
	release(d.fe, RQ, FUSE_RELEASEDIR, FUSE_ROOT_ID, rfh);
	still_serves(&d, "after the huge sizes");
out_stop:
	dmn_stop(&d, fb);
out_rm:
	dmn_cleanup(&d);
}

/* ==== a monitor of the serving process ==== */

struct monitor {
	pthread_t thread;
	pid_t pid;
	atomic_bool stop;
	struct pstat max; /* field-wise maxima */
	unsigned samples;
};

static void *monitor_main(void *arg)
{
	struct monitor *m = arg;
	const struct timespec gap = { 0, 5 * 1000 * 1000 };

	while (!atomic_load(&m->stop)) {
		struct pstat p;

		if (!pstat_read(m->pid, &p)) {
			m->samples++;
			if (p.fds > m->max.fds)
				m->max.fds = p.fds;
			if (p.threads > m->max.threads)
				m->max.threads = p.threads;
			if (p.rss > m->max.rss)
				m->max.rss = p.rss;
			if (p.anon > m->max.anon)
				m->max.anon = p.anon;
			if (p.hwm > m->max.hwm)
				m->max.hwm = p.hwm;
		}
		nanosleep(&gap, NULL);
	}
	return NULL;
}

static int monitor_start(struct monitor *m, pid_t pid)
{
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	atomic_init(&m->stop, false);
	return -pthread_create(&m->thread, NULL, monitor_main, m);
}

static void monitor_stop(struct monitor *m)
{
	atomic_store(&m->stop, true);
	pthread_join(m->thread, NULL);
}

/* ==== case flood ==== */

#define FLOOD_QUEUES 16
#define FLOOD_THREADS 4
#define FLOOD_QSIZE 256
#define FLOOD_OWN 2 /* content-checked 1 MiB READ buffers per queue */
#define FLOOD_NAMES 8
/* RssAnon growth allowed: worker stacks and per-thread allocator state
 * (more under ASan), nothing that grows with the data moved. */
#define FLOOD_ANON_BOUND_KB (64 * 1024)

enum { K_READ, K_LOOKUP, K_GETATTR_ROOT, K_GETATTR_DATA };

struct fq {
	unsigned q;
	uint16_t used_before; /* used index when the flood started */
	struct op ops[FLOOD_QSIZE];
	struct vhf_buf own[FLOOD_OWN];
	struct vhf_buf scratch; /* shared by the other READs */
	uint64_t submitted, completed, bad, reads;
	uint64_t lookups[FLOOD_NAMES];
	char why[160];
};

struct flood {
	struct dmn *d;
	struct fq q[FLOOD_QUEUES + 1];
	unsigned nq;
	uint64_t data, data_fh, data_ino, root_ino;
	uint64_t name_node[FLOOD_NAMES];
	double until;
	unsigned rounds[FLOOD_THREADS];
	int err[FLOOD_THREADS];
};

struct flood_thread {
	struct flood *f;
	unsigned idx;
	pthread_t thread;
};

static unsigned kind_of(unsigned i)
{
	switch (i % 8) {
	case 0:
		return K_READ;
	case 1:
	case 4:
		return K_LOOKUP;
	case 2:
	case 6:
		return K_GETATTR_ROOT;
	default:
		return K_GETATTR_DATA;
	}
}

static int flood_submit(struct flood *f, struct fq *fq, unsigned i)
{
	struct vhf *fe = f->d->fe;
	struct op *op = &fq->ops[i];
	unsigned kind = kind_of(i);
	char name[16];

	op->tag = kind;
	if (kind == K_READ) {
		unsigned j = i / 8;
		struct fuse_read_in in = { .fh = f->data_fh,
					   .offset = (uint64_t)(j % 2) * MIB,
					   .size = MIB };
		struct iovec a = { &in, sizeof(in) };
		struct vhf_seg seg = { j < FLOOD_OWN ? fq->own[j].gpa :
						       fq->scratch.gpa,
				       MIB, true };

		op->arg = j < FLOOD_OWN ? j + 1 : 0;
		op->arg |= in.offset << 8;
		return op_submit(fe, op, fq->q, FUSE_READ, f->data, &a, 1,
				 sizeof(struct fuse_out_header), &seg, 1, true,
				 0);
	}
	if (kind == K_LOOKUP) {
		unsigned n = (i / 3 + fq->q) % FLOOD_NAMES;
		struct iovec a;

		snprintf(name, sizeof(name), "n%u", n);
		a = (struct iovec){ name, strlen(name) + 1 };
		op->arg = n;
		return op_submit(fe, op, fq->q, FUSE_LOOKUP, FUSE_ROOT_ID, &a,
				 1,
				 sizeof(struct fuse_out_header) +
					 sizeof(struct fuse_entry_out),
				 NULL, 0, true, 0);
	}
	{
		struct fuse_getattr_in in = { 0 };
		struct iovec a = { &in, sizeof(in) };

		return op_submit(
			fe, op, fq->q, FUSE_GETATTR,
			kind == K_GETATTR_ROOT ? FUSE_ROOT_ID : f->data, &a, 1,
			sizeof(struct fuse_out_header) +
				sizeof(struct fuse_attr_out),
			NULL, 0, true, 0);
	}
}

static void flood_verify(struct flood *f, struct fq *fq, struct op *op)
{
	int r;

	switch (op->tag) {
	case K_READ: {
		unsigned own = (unsigned)(op->arg & 0xff);
		uint64_t off = op->arg >> 8;

		/* the data went to the separate 1 MiB segment */
		r = op_result(op, SIZE_MAX);
		if (!r && op->used != sizeof(struct fuse_out_header) + MIB)
			r = -EIO; /* short, from a 2 MiB file */
		if (!r && own && !is_pat(fq->own[own - 1].hva, MIB, off, 2))
			r = -EILSEQ;
		fq->reads++;
		break;
	}
	case K_LOOKUP: {
		struct fuse_entry_out e;

		r = op_result(op, sizeof(e));
		if (!r) {
			memcpy(&e, op_body(op), sizeof(e));
			fq->lookups[op->arg]++;
			if (e.nodeid != f->name_node[op->arg])
				r = -ESTALE;
		}
		break;
	}
	default: {
		struct fuse_attr_out ao;

		r = op_result(op, sizeof(ao));
		if (!r) {
			memcpy(&ao, op_body(op), sizeof(ao));
			if (ao.attr.ino != (op->tag == K_GETATTR_ROOT ?
						    f->root_ino :
						    f->data_ino))
				r = -ESTALE;
		}
		break;
	}
	}
	if (r) {
		if (!fq->bad)
			snprintf(fq->why, sizeof(fq->why),
				 "queue %u kind %u: %s (used %u)", fq->q,
				 op->tag, errname(r), op->used);
		fq->bad++;
	}
}

static void *flood_main(void *arg)
{
	struct flood_thread *t = arg;
	struct flood *f = t->f;
	struct vhf *fe = f->d->fe;
	unsigned per = f->nq / FLOOD_THREADS;
	unsigned first = 1 + t->idx * per, last = first + per - 1, q, i;
	int r = 0;

	if (t->idx == FLOOD_THREADS - 1)
		last = f->nq;
	do {
		/* fill every ring, round-robin over this thread's queues */
		for (i = 0; i < FLOOD_QSIZE && !r; i++) {
			for (q = first; q <= last && !r; q++) {
				r = flood_submit(f, &f->q[q], i);
				if (!r)
					f->q[q].submitted++;
			}
		}
		for (q = first; q <= last && !r; q++) {
			while (vhf_inflight(fe, q) && !r) {
				r = reap(fe, q, WAIT_MS);
				if (!r)
					f->q[q].completed++;
			}
			for (i = 0; i < FLOOD_QSIZE && !r; i++)
				flood_verify(f, &f->q[q], &f->q[q].ops[i]);
		}
		f->rounds[t->idx]++;
	} while (!r && now_s() < f->until);
	f->err[t->idx] = r;
	return NULL;
}

static void case_flood(void)
{
	struct vhf_opts opts = { .mem_size = 256ul << 20,
				 .queue_size = FLOOD_QSIZE };
	static struct flood f;
	struct flood_thread ft[FLOOD_THREADS];
	struct pstat before, after;
	struct monitor mon;
	struct fuse_entry_out e = { 0 };
	struct fuse_attr_out ao = { 0 };
	struct reftab refs = { 0 };
	char path[256];
	uint64_t total = 0, bad = 0, reads = 0, mism = 0;
	unsigned q, i, rounds = 0;
	int fb = fails, r;
	double t0, t;
	struct dmn d;

	memset(&f, 0, sizeof(f));
	f.d = &d;
	if (!check(!dmn_prepare(&d), "prepare the share"))
		return;
	snprintf(path, sizeof(path), "%s/data", d.share);
	make_pat_file(path, DATA_LEN, 2);
	for (i = 0; i < FLOOD_NAMES; i++) {
		snprintf(path, sizeof(path), "%s/n%u", d.share, i);
		tu_write_file(path, "n", 1);
	}
	if (!dmn_start(&d, NULL, &opts, FUSE_MAX_PAGES))
		goto out_stop;
	f.nq = vhf_info(d.fe)->nr_queues - 1;
	if (!check(f.nq >= FLOOD_THREADS && f.nq <= FLOOD_QUEUES,
		   "%u request queues to fill", f.nq))
		goto out_stop;
	r = lookup(d.fe, RQ, FUSE_ROOT_ID, "data", &e);
	f.data = e.nodeid;
	f.data_ino = e.attr.ino;
	if (!r)
		r = open_node(d.fe, RQ, FUSE_OPEN, f.data, O_RDONLY,
			      &f.data_fh);
	if (!r)
		r = getattr(d.fe, RQ, FUSE_ROOT_ID, &ao);
	f.root_ino = ao.attr.ino;
	for (i = 0; i < FLOOD_NAMES && !r; i++) {
		char name[16];

		snprintf(name, sizeof(name), "n%u", i);
		r = lookup(d.fe, RQ, FUSE_ROOT_ID, name, &e);
		f.name_node[i] = e.nodeid;
		reftab_add(&refs, e.nodeid, 1);
	}
	for (q = 1; q <= f.nq && !r; q++) {
		struct fq *fq = &f.q[q];

		fq->q = q;
		for (i = 0; i < FLOOD_QSIZE && !r; i++)
			r = op_alloc(d.fe, &fq->ops[i], 512, 512);
		for (i = 0; i < FLOOD_OWN && !r; i++)
			r = vhf_alloc(d.fe, MIB, &fq->own[i]);
		if (!r)
			r = vhf_alloc(d.fe, MIB, &fq->scratch);
	}
	if (!check(!r, "set up the files and the guest buffers (%s)",
		   errname(r)))
		goto out_stop;
	for (q = 1; q <= f.nq; q++)
		f.q[q].used_before = vhf_used(d.fe, q)->idx;
	pstat_read(d.sp, &before);
	hwm_reset(d.sp);
	pstat_note("before", &before);

	r = monitor_start(&mon, d.sp);
	if (!check(!r, "start the monitor (%s)", errname(r)))
		goto out_stop;
	t0 = now_s();
	f.until = t0 + opt_flood_ms / 1000.0;
	for (i = 0; i < FLOOD_THREADS; i++) {
		ft[i] = (struct flood_thread){ .f = &f, .idx = i };
		if (pthread_create(&ft[i].thread, NULL, flood_main, &ft[i]))
			f.err[i] = -EAGAIN;
	}
	for (i = 0; i < FLOOD_THREADS; i++)
		if (f.err[i] != -EAGAIN)
			pthread_join(ft[i].thread, NULL);
	t = now_s() - t0;
	monitor_stop(&mon);
	pstat_read(d.sp, &after);

	for (i = 0; i < FLOOD_THREADS; i++) {
		check(!f.err[i], "flood thread %u: %u rounds (%s)", i,
		      f.rounds[i], errname(f.err[i]));
		rounds += f.rounds[i];
	}
	for (q = 1; q <= f.nq; q++) {
		struct fq *fq = &f.q[q];
		uint16_t used_idx = vhf_used(d.fe, q)->idx;

		total += fq->submitted;
		bad += fq->bad;
		reads += fq->reads;
		if (fq->completed != fq->submitted ||
		    (uint16_t)(used_idx - fq->used_before) !=
			    (uint16_t)fq->submitted ||
		    vhf_inflight(d.fe, q))
			mism++;
		if (fq->bad)
			note("%s", fq->why);
		for (i = 0; i < FLOOD_NAMES; i++)
			reftab_add(&refs, f.name_node[i], fq->lookups[i]);
	}
	note("%llu requests (%llu 1 MiB READs) over %u queues in %.2f s, "
	     "%u rounds of %u per queue",
	     (unsigned long long)total, (unsigned long long)reads, f.nq, t,
	     rounds, FLOOD_QSIZE);
	note("monitor (%u samples): max threads %d, max fds %d, max VmRSS "
	     "%ld kB, max RssAnon %ld kB",
	     mon.samples, mon.max.threads, mon.max.fds, mon.max.rss,
	     mon.max.anon);
	pstat_note("after", &after);
	check(total > 0 && bad == 0, "every answer right (%llu wrong of %llu)",
	      (unsigned long long)bad, (unsigned long long)total);
	check(mism == 0,
	      "used indices and counts match what was submitted on every "
	      "queue (%llu queues differ)",
	      (unsigned long long)mism);
	check(mon.max.threads <= before.threads + THREAD_CAP,
	      "threads within the worker pool's and helpers' caps (max %d, "
	      "%d before, caps +%d)",
	      mon.max.threads, before.threads, THREAD_CAP);
	check(mon.max.fds <= before.fds + (int)f.nq + 1 + POOL_CAP,
	      "fds bounded by the requests that can run at once (max %d, %d "
	      "before)",
	      mon.max.fds, before.fds);
	check(after.fds <= before.fds + 2, "fds back after the flood (%d, %d)",
	      after.fds, before.fds);
	check(mon.max.anon - before.anon < FLOOD_ANON_BOUND_KB,
	      "RssAnon bounded while %llu MiB were read (+%ld kB, bound %u kB)",
	      (unsigned long long)reads, mon.max.anon - before.anon,
	      FLOOD_ANON_BOUND_KB);
	r = reftab_forget(d.fe, &refs);
	check(!r, "FORGET the flood's lookups (%s)", errname(r));
	release(d.fe, RQ, FUSE_RELEASE, f.data, f.data_fh);
	still_serves(&d, "after the flood");
	r = vhf_stop(d.fe);
	check(!r, "GET_VRING_BASE of every queue matches our avail index (%s)",
	      errname(r));
out_stop:
	for (q = 1; q <= FLOOD_QUEUES && d.fe; q++) {
		for (i = 0; i < FLOOD_QSIZE; i++)
			op_free(d.fe, &f.q[q].ops[i]);
		for (i = 0; i < FLOOD_OWN; i++)
			vhf_free(d.fe, &f.q[q].own[i]);
		vhf_free(d.fe, &f.q[q].scratch);
	}
	dmn_stop(&d, fb);
	reftab_free(&refs);
	dmn_cleanup(&d);
}

/* ==== locks, shared by the interrupt and pool cases ==== */

static int host_lock(const char *path, int *fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (fcntl(*fd, F_SETLK, &fl)) {
		int r = -errno;

		close(*fd);
		*fd = -1;
		return r;
	}
	return 0;
}

static int submit_lk(struct vhf *fe, struct op *op, unsigned q, uint32_t opcode,
		     uint64_t nodeid, uint64_t fh, uint64_t owner,
		     uint32_t type)
{
	struct fuse_lk_in in = { .fh = fh,
				 .owner = owner,
				 .lk = { .start = 0,
					 .end = INT64_MAX,
					 .type = type,
					 .pid = (uint32_t)owner } };
	struct iovec a = { &in, sizeof(in) };

	return op_submit(fe, op, q, opcode, nodeid, &a, 1,
			 sizeof(struct fuse_out_header) +
				 sizeof(struct fuse_lk_out),
			 NULL, 0, false, 0);
}

static int setlk(struct vhf *fe, unsigned q, uint64_t nodeid, uint64_t fh,
		 uint64_t owner, uint32_t type)
{
	struct fuse_lk_in in = { .fh = fh,
				 .owner = owner,
				 .lk = { .start = 0,
					 .end = INT64_MAX,
					 .type = type,
					 .pid = (uint32_t)owner } };
	struct iovec a = { &in, sizeof(in) };

	return call_fixed(fe, q, FUSE_SETLK, nodeid, &a, 1, NULL, 0);
}

/* Take whatever @q has used so far, without waiting. */
static int reap_ready(struct vhf *fe, unsigned q)
{
	for (;;) {
		void *cookie = NULL;
		uint32_t len = 0;
		struct op *op;
		int r = vhf_poll(fe, q, &len, &cookie);

		if (r == -EAGAIN)
			return 0;
		if (r)
			return r;
		op = cookie;
		if (!op || op->q != q || op->done)
			return -EPROTO;
		op->done = true;
		op->used = len;
	}
}

/* One INTERRUPT of @unique on the hiprio queue, answered or not. Returns
 * 1 when taken (no reply), 0 for EAGAIN, or another error. */
static int interrupt_one(struct vhf *fe, uint64_t unique)
{
	struct fuse_interrupt_in in = { .unique = unique };
	struct iovec a = { &in, sizeof(in) };
	size_t sizes[1] = { sizeof(struct fuse_out_header) };
	struct fuse_out_header oh;
	size_t got = 0;
	int r;

	r = vhf_fuse(fe, 0, FUSE_INTERRUPT, 0, &a, 1, sizes, 1, &oh, sizeof(oh),
		     &got);
	if (r)
		return TRANSPORT_ERR;
	if (got == 0)
		return 1;
	if (got != sizeof(oh))
		return TRANSPORT_ERR;
	return oh.error == -EAGAIN ? 0 : oh.error ? oh.error : TRANSPORT_ERR;
}

/* ==== case interrupt ==== */

#define INTR_LOCKS 4
#define INTR_RING 256
#define INTR_INFLIGHT 128
#define INTR_FINISHED 1024
/* RssAnon growth allowed over the whole storm: the INTERRUPT path
 * allocates nothing per request, so this is allocator slack; state kept
 * per INTERRUPT would show (10 bytes each over 200,000 would exceed it).
 * Under ASan, add its quarantine of the normal traffic's freed blocks. */
#ifdef EXHAUST_ASAN
#define INTR_ANON_BOUND_KB ((2 + ASAN_QUARANTINE_MB) * 1024)
#else
#define INTR_ANON_BOUND_KB (2 * 1024)
#endif

enum { T_NONE, T_FINISHED, T_INFLIGHT, T_SETLKW };

struct traffic {
	struct dmn *d;
	pthread_t thread;
	atomic_bool stop;
	uint64_t data, data_fh, data_ino;
	_Atomic uint64_t finished[INTR_FINISHED];
	atomic_uint nfinished;
	_Atomic uint64_t inflight; /* unique of a request in flight */
	uint64_t ok, bad, lookups, probe;
	char why[160];
	int err;
};

/* GETATTR, LOOKUP and a 64 KiB READ on queues 2 and 3, over and over. */
static void *traffic_main(void *arg)
{
	struct traffic *t = arg;
	struct vhf *fe = t->d->fe;
	struct op ops[2][3];
	unsigned q, k;
	int r = 0;

	for (q = 0; q < 2 && !r; q++)
		for (k = 0; k < 3 && !r; k++)
			r = op_alloc(fe, &ops[q][k], 512, 65536 + 512);
	while (!r && !atomic_load(&t->stop)) {
		for (q = 0; q < 2 && !r; q++) {
			struct fuse_getattr_in gi = { 0 };
			struct fuse_read_in ri = { .fh = t->data_fh,
						   .size = 65536 };
			struct iovec ga = { &gi, sizeof(gi) };
			struct iovec la = { (void *)"probe", 6 };
			struct iovec ra = { &ri, sizeof(ri) };

			r = op_submit(fe, &ops[q][0], 2 + q, FUSE_GETATTR,
				      t->data, &ga, 1, 16 + 104, NULL, 0, false,
				      0);
			if (!r)
				r = op_submit(
					fe, &ops[q][1], 2 + q, FUSE_LOOKUP,
					FUSE_ROOT_ID, &la, 1,
					16 + sizeof(struct fuse_entry_out),
					NULL, 0, false, 0);
			if (!r)
				r = op_submit(fe, &ops[q][2], 2 + q, FUSE_READ,
					      t->data, &ra, 1, 16 + 65536, NULL,
					      0, false, 0);
			if (!r)
				atomic_store(&t->inflight, ops[q][2].unique);
		}
		for (q = 0; q < 2 && !r; q++) {
			for (k = 0; k < 3 && !r; k++) {
				struct op *op = &ops[q][k];
				int e;

				r = op_wait(fe, op, WAIT_MS);
				if (r)
					break;
				e = op_result(
					op,
					k == 0 ? sizeof(struct fuse_attr_out) :
					k == 1 ? sizeof(struct fuse_entry_out) :
						 65536);
				if (!e && k == 0) {
					struct fuse_attr_out ao;

					memcpy(&ao, op_body(op), sizeof(ao));
					e = ao.attr.ino == t->data_ino ?
						    0 :
						    -ESTALE;
				} else if (!e && k == 1) {
					struct fuse_entry_out eo;

					memcpy(&eo, op_body(op), sizeof(eo));
					t->probe = eo.nodeid;
					t->lookups++;
				} else if (!e && k == 2 &&
					   !is_pat(op_body(op), 65536, 0, 2)) {
					e = -EILSEQ;
				}
				if (e) {
					if (!t->bad)
						snprintf(
							t->why, sizeof(t->why),
							"queue %u opcode %u: %s",
							op->q, op->opcode,
							errname(e));
					t->bad++;
				} else {
					t->ok++;
				}
				atomic_store(
					&t->finished[atomic_fetch_add(
							     &t->nfinished, 1) %
						     INTR_FINISHED],
					op->unique);
			}
		}
	}
	for (q = 0; q < 2; q++)
		for (k = 0; k < 3; k++)
			op_free(fe, &ops[q][k]);
	t->err = r;
	return NULL;
}

struct storm_stats {
	uint64_t sent, taken, eagain, bad;
	uint64_t by_kind[4];
	uint64_t taken_by_kind[4];
	char why[160];
};

/*
 * Send @n INTERRUPTs on the hiprio queue, up to INTR_INFLIGHT at once in
 * indirect chains. Targets cycle through: a unique never used, one that
 * finished, one of the normal traffic's in flight, and (when @locks) the
 * waiting SETLKWs.
 */
static int storm(struct dmn *d, struct op *ops, struct traffic *t,
		 const struct op *locks, unsigned nlocks, unsigned n,
		 struct storm_stats *st)
{
	struct vhf *fe = d->fe;
	unsigned free_ops[INTR_RING], nfree = 0, i, k = 0;
	uint64_t never = 0x4000000000000000ull;
	int r = 0;

	for (i = 0; i < INTR_INFLIGHT; i++)
		free_ops[nfree++] = i;
	while (!r && (st->sent < n || nfree < INTR_INFLIGHT)) {
		while (!r && nfree && st->sent < n) {
			struct op *op = &ops[free_ops[--nfree]];
			struct fuse_interrupt_in in = { 0 };
			struct iovec a = { &in, sizeof(in) };
			unsigned kind = k++ % (nlocks ? 4 : 3);
			unsigned nf = atomic_load(&t->nfinished);

			if (kind == T_FINISHED && nf == 0)
				kind = T_NONE;
			switch (kind) {
			case T_NONE:
				in.unique = never += 2;
				break;
			case T_FINISHED:
				in.unique = atomic_load(
					&t->finished[(k * 7919u) %
						     (nf < INTR_FINISHED ?
							      nf :
							      INTR_FINISHED)]);
				break;
			case T_INFLIGHT:
				in.unique = atomic_load(&t->inflight);
				break;
			default:
				in.unique = locks[k / 4 % nlocks].unique;
				break;
			}
			op->tag = kind;
			op->arg = in.unique;
			r = op_submit(fe, op, 0, FUSE_INTERRUPT, 0, &a, 1,
				      sizeof(struct fuse_out_header), NULL, 0,
				      true, 0);
			if (!r) {
				st->sent++;
				st->by_kind[kind]++;
			}
		}
		/* take at least one answer, then whatever else is ready */
		if (!r && nfree < INTR_INFLIGHT) {
			void *cookie = NULL;
			uint32_t len = 0;
			bool first = true;

			for (;;) {
				struct op *op;
				int e;

				r = first ? vhf_wait(fe, 0, WAIT_MS, &len,
						     &cookie) :
					    vhf_poll(fe, 0, &len, &cookie);
				first = false;
				if (r == -EAGAIN) {
					r = 0;
					break;
				}
				if (r)
					break;
				op = cookie;
				if (!op) {
					r = -EPROTO;
					break;
				}
				op->done = true;
				op->used = len;
				free_ops[nfree++] = (unsigned)(op - ops);
				e = len ? op_result(op, 0) : 1;
				if (e == 1) {
					st->taken++;
					st->taken_by_kind[op->tag]++;
				} else if (e == -EAGAIN) {
					st->eagain++;
				}
				/* a unique that never existed cannot be
				 * taken; every answer is EAGAIN or none */
				if ((e != 1 && e != -EAGAIN) ||
				    (e == 1 && op->tag == T_NONE)) {
					if (!st->bad)
						snprintf(st->why,
							 sizeof(st->why),
							 "INTERRUPT of %#llx "
							 "(kind %u): %s",
							 (unsigned long long)
								 op->arg,
							 op->tag,
							 e == 1 ? "taken" :
								  errname(e));
					st->bad++;
				}
			}
		}
	}
	return r;
}

static void storm_note(const char *label, const struct storm_stats *st,
		       double secs)
{
	note("%s: %llu INTERRUPTs in %.2f s (never-used %llu, finished %llu, "
	     "in-flight %llu, SETLKW %llu): %llu taken (SETLKW %llu, "
	     "in-flight %llu, finished %llu), %llu EAGAIN, %llu wrong",
	     label, (unsigned long long)st->sent, secs,
	     (unsigned long long)st->by_kind[T_NONE],
	     (unsigned long long)st->by_kind[T_FINISHED],
	     (unsigned long long)st->by_kind[T_INFLIGHT],
	     (unsigned long long)st->by_kind[T_SETLKW],
	     (unsigned long long)st->taken,
	     (unsigned long long)st->taken_by_kind[T_SETLKW],
	     (unsigned long long)st->taken_by_kind[T_INFLIGHT],
	     (unsigned long long)st->taken_by_kind[T_FINISHED],
	     (unsigned long long)st->eagain, (unsigned long long)st->bad);
	if (st->bad)
		note("first wrong answer: %s", st->why);
}

static void case_interrupt(void)
{
	struct vhf_opts opts = { .nr_queues = 4 };
	static struct op ops[INTR_RING];
	static struct traffic t;
	struct op locks[INTR_LOCKS], g;
	struct storm_stats s1 = { 0 }, s2 = { 0 };
	struct pstat before, mid, after;
	struct monitor mon = { 0 };
	struct fuse_entry_out e = { 0 };
	uint64_t lnode = 0, lfh = 0;
	unsigned i, waiting = 0, eintr = 0;
	int fb = fails, r, hfd = -1;
	char path[256];
	double t0;
	struct dmn d;

	memset(&t, 0, sizeof(t));
	memset(locks, 0, sizeof(locks));
	memset(&g, 0, sizeof(g));
	if (!check(!dmn_prepare(&d), "prepare the share"))
		return;
	snprintf(path, sizeof(path), "%s/data", d.share);
	make_pat_file(path, DATA_LEN, 2);
	snprintf(path, sizeof(path), "%s/lockme", d.share);
	tu_write_file(path, "lock", 4);
	r = host_lock(path, &hfd);
	if (!check(!r, "the host holds a write lock on lockme (%s)",
		   errname(r)))
		goto out_rm;
	if (!dmn_start(&d, NULL, &opts, FUSE_POSIX_LOCKS | FUSE_MAX_PAGES))
		goto out_stop;
	if (!check(vhf_info(d.fe)->nr_queues == 4,
		   "hiprio and 3 request queues"))
		goto out_stop;
	t.d = &d;
	r = lookup(d.fe, RQ, FUSE_ROOT_ID, "lockme", &e);
	lnode = e.nodeid;
	if (!r)
		r = open_node(d.fe, RQ, FUSE_OPEN, lnode, O_RDWR, &lfh);
	if (!r)
		r = lookup(d.fe, RQ, FUSE_ROOT_ID, "data", &e);
	t.data = e.nodeid;
	t.data_ino = e.attr.ino;
	if (!r)
		r = open_node(d.fe, RQ, FUSE_OPEN, t.data, O_RDONLY,
			      &t.data_fh);
	for (i = 0; i < INTR_RING && !r; i++)
		r = op_alloc(d.fe, &ops[i], 512, 512);
	for (i = 0; i < INTR_LOCKS && !r; i++)
		r = op_alloc(d.fe, &locks[i], 512, 512);
	if (!r)
		r = op_alloc(d.fe, &g, 512, 512);
	if (!check(!r, "open the files, allocate the requests (%s)",
		   errname(r)))
		goto out_stop;

	/* Four SETLKWs wait for the host's lock. */
	pstat_read(d.sp, &before);
	for (i = 0; i < INTR_LOCKS && !r; i++)
		r = submit_lk(d.fe, &locks[i], RQ, FUSE_SETLKW, lnode, lfh,
			      0x100 + i, F_WRLCK);
	if (!r) {
		struct fuse_getattr_in gi = { 0 };
		struct iovec a = { &gi, sizeof(gi) };

		r = op_submit(d.fe, &g, RQ, FUSE_GETATTR, lnode, &a, 1,
			      16 + sizeof(struct fuse_attr_out), NULL, 0, false,
			      0);
	}
	if (!r)
		r = op_wait(d.fe, &g, WAIT_MS);
	for (i = 0; i < INTR_LOCKS; i++)
		waiting += !locks[i].done;
	check(!r && waiting == INTR_LOCKS,
	      "%u SETLKWs waiting, a GETATTR behind them answered (%s)",
	      waiting, errname(r));
	/* Their workers open one lock fd per owner; let them get there so
	 * that the counts below start from a settled daemon. */
	for (i = 0; i < 500; i++) {
		pstat_read(d.sp, &mid);
		if (mid.fds >= before.fds + INTR_LOCKS)
			break;
		usleep(10000);
	}

	r = -pthread_create(&t.thread, NULL, traffic_main, &t);
	if (!check(!r, "start the normal traffic (%s)", errname(r)))
		goto out_locks;
	pstat_read(d.sp, &before);
	hwm_reset(d.sp);
	pstat_note("before the storm", &before);
	r = monitor_start(&mon, d.sp);
	if (!check(!r, "start the monitor (%s)", errname(r)))
		goto out_traffic;

	/* 1. INTERRUPTs for everything but the SETLKWs. */
	t0 = now_s();
	r = storm(&d, ops, &t, NULL, 0, opt_storm / 2, &s1);
	storm_note("storm 1", &s1, now_s() - t0);
	pstat_read(d.sp, &mid);
	pstat_note("after storm 1", &mid);
	check(!r && s1.sent == opt_storm / 2 && s1.bad == 0,
	      "storm 1: every INTERRUPT answered EAGAIN or taken, none for a "
	      "unique that never existed taken (%s, %llu wrong)",
	      errname(r), (unsigned long long)s1.bad);
	r = reap_ready(d.fe, RQ);
	for (i = 0, waiting = 0; i < INTR_LOCKS; i++)
		waiting += !locks[i].done;
	check(!r && waiting == INTR_LOCKS,
	      "no SETLKW woken by INTERRUPTs meant for other requests (%u of "
	      "%u waiting)",
	      waiting, INTR_LOCKS);

	/* 2. The same, with the SETLKWs among the targets. */
	t0 = now_s();
	r = storm(&d, ops, &t, locks, INTR_LOCKS, opt_storm - opt_storm / 2,
		  &s2);
	storm_note("storm 2", &s2, now_s() - t0);
	check(!r && s2.bad == 0 && s2.taken_by_kind[T_SETLKW] >= INTR_LOCKS,
	      "storm 2: every INTERRUPT answered right, each SETLKW's taken "
	      "(%s, %llu wrong, %llu SETLKW INTERRUPTs taken)",
	      errname(r), (unsigned long long)s2.bad,
	      (unsigned long long)s2.taken_by_kind[T_SETLKW]);
	for (i = 0; i < INTR_LOCKS; i++) {
		int e2 = op_wait(d.fe, &locks[i], WAIT_MS);

		if (!e2)
			e2 = op_result(&locks[i], 0);
		eintr += e2 == -EINTR;
	}
	check(eintr == INTR_LOCKS, "every SETLKW ended with EINTR (%u of %u)",
	      eintr, INTR_LOCKS);
	monitor_stop(&mon);
out_traffic:
	atomic_store(&t.stop, true);
	pthread_join(t.thread, NULL);
	pstat_read(d.sp, &after);
	pstat_note("after storm 2", &after);
	note("monitor (%u samples): max threads %d, max fds %d, max RssAnon "
	     "%ld kB",
	     mon.samples, mon.max.threads, mon.max.fds, mon.max.anon);
	note("normal traffic during the storms: %llu requests right, %llu "
	     "wrong",
	     (unsigned long long)t.ok, (unsigned long long)t.bad);
	if (t.bad)
		note("first wrong: %s", t.why);
	check(!t.err && t.ok > 0 && t.bad == 0,
	      "normal requests on two other queues all right meanwhile (%s, "
	      "%llu ok, %llu wrong)",
	      errname(t.err), (unsigned long long)t.ok,
	      (unsigned long long)t.bad);
	check(mon.samples && mon.max.anon - before.anon < INTR_ANON_BOUND_KB,
	      "peak RssAnon over %u INTERRUPTs: +%ld kB (bound %u kB)",
	      opt_storm, mon.max.anon - before.anon, INTR_ANON_BOUND_KB);
	check(after.threads <= before.threads && after.fds <= before.fds + 2,
	      "threads and fds did not grow (%d -> %d threads, %d -> %d fds)",
	      before.threads, after.threads, before.fds, after.fds);

	close(hfd);
	hfd = -1;
	r = setlk(d.fe, RQ, lnode, lfh, 0x100, F_WRLCK);
	check(!r, "with the host's lock gone, SETLK succeeds (%s)", errname(r));
	setlk(d.fe, RQ, lnode, lfh, 0x100, F_UNLCK);
	if (t.lookups) {
		struct fref fr = { t.probe, t.lookups };

		batch_forget(d.fe, &fr, 1);
	}
	release(d.fe, RQ, FUSE_RELEASE, lnode, lfh);
	release(d.fe, RQ, FUSE_RELEASE, t.data, t.data_fh);
	still_serves(&d, "after the INTERRUPT storms");
out_locks:
	for (i = 0; i < INTR_LOCKS; i++)
		op_free(d.fe, &locks[i]);
	op_free(d.fe, &g);
	for (i = 0; i < INTR_RING; i++)
		op_free(d.fe, &ops[i]);
out_stop:
	if (hfd >= 0)
		close(hfd);
	dmn_stop(&d, fb);
out_rm:
	dmn_cleanup(&d);
}

/* ==== case pool ==== */

#define POOL_LOCKS (POOL_CAP + 8)
#define POOL_LOCK_QUEUES 8

static void case_pool(void)
{
	struct vhf_opts opts = { .mem_size = 128ul << 20 };
	static struct op locks[POOL_LOCKS];
	struct op rd, fs, ga, gq[POOL_LOCK_QUEUES + 1];
	struct pstat base, full, after;
	struct fuse_entry_out e = { 0 };
	uint64_t lnode = 0, lfh = 0, data = 0, dfh = 0;
	unsigned i, q, rounds, done = 0, eintr = 0, sent = 0, answered = 0;
	int fb = fails, r, hfd = -1;
	char path[256];
	struct dmn d;

	memset(locks, 0, sizeof(locks));
	memset(&rd, 0, sizeof(rd));
	memset(&fs, 0, sizeof(fs));
	memset(&ga, 0, sizeof(ga));
	memset(gq, 0, sizeof(gq));
	if (!check(!dmn_prepare(&d), "prepare the share"))
		return;
	snprintf(path, sizeof(path), "%s/data", d.share);
	make_pat_file(path, DATA_LEN, 2);
	snprintf(path, sizeof(path), "%s/lockme", d.share);
	tu_write_file(path, "lock", 4);
	r = host_lock(path, &hfd);
	if (!check(!r, "the host holds a write lock on lockme (%s)",
		   errname(r)))
		goto out_rm;
	if (!dmn_start(&d, NULL, &opts, FUSE_POSIX_LOCKS | FUSE_MAX_PAGES))
		goto out_stop;
	if (!check(vhf_info(d.fe)->nr_queues > POOL_LOCK_QUEUES + 1,
		   "more than %u request queues (%u)", POOL_LOCK_QUEUES + 1,
		   vhf_info(d.fe)->nr_queues - 1))
		goto out_stop;
	r = lookup(d.fe, RQ, FUSE_ROOT_ID, "lockme", &e);
	lnode = e.nodeid;
	if (!r)
		r = open_node(d.fe, RQ, FUSE_OPEN, lnode, O_RDWR, &lfh);
	if (!r)
		r = lookup(d.fe, RQ, FUSE_ROOT_ID, "data", &e);
	data = e.nodeid;
	if (!r)
		r = open_node(d.fe, RQ, FUSE_OPEN, data, O_RDWR, &dfh);
	for (i = 0; i < POOL_LOCKS && !r; i++)
		r = op_alloc(d.fe, &locks[i], 512, 512);
	for (q = 1; q <= POOL_LOCK_QUEUES && !r; q++)
		r = op_alloc(d.fe, &gq[q], 512, 512);
	if (!r)
		r = op_alloc(d.fe, &rd, 512, MIB + 4096);
	if (!r)
		r = op_alloc(d.fe, &fs, 512, 512);
	if (!r)
		r = op_alloc(d.fe, &ga, 512, 512);
	if (!check(!r, "open the files, allocate the requests (%s)",
		   errname(r)))
		goto out_stop;
	pstat_read(d.sp, &base);
	pstat_note("before", &base);

	/* 1. More SETLKWs than workers, then a GETATTR on each queue. */
	for (i = 0; i < POOL_LOCKS && !r; i++)
		r = submit_lk(d.fe, &locks[i], 1 + i % POOL_LOCK_QUEUES,
			      FUSE_SETLKW, lnode, lfh, 0x1000 + i, F_WRLCK);
	for (q = 1; q <= POOL_LOCK_QUEUES && !r; q++) {
		struct fuse_getattr_in gi = { 0 };
		struct iovec a = { &gi, sizeof(gi) };

		r = op_submit(d.fe, &gq[q], q, FUSE_GETATTR, data, &a, 1,
			      16 + sizeof(struct fuse_attr_out), NULL, 0, false,
			      0);
	}
	for (q = 1; q <= POOL_LOCK_QUEUES && !r; q++) {
		r = op_wait(d.fe, &gq[q], WAIT_MS);
		if (!r)
			r = op_result(&gq[q], sizeof(struct fuse_attr_out));
	}
	for (i = 0; i < POOL_LOCKS; i++)
		done += locks[i].done;
	check(!r && done == 0,
	      "%u SETLKWs waiting on %u queues, each queue still answers "
	      "GETATTR (%s, %u answered early)",
	      POOL_LOCKS, POOL_LOCK_QUEUES, errname(r), done);
	pstat_read(d.sp, &full);
	pstat_note("with the SETLKWs waiting", &full);
	note("worker threads started for %u waiting SETLKWs: %d (cap %d)",
	     POOL_LOCKS, full.threads - base.threads, POOL_CAP);
	check(full.threads <= base.threads + POOL_CAP,
	      "threads within the pool's cap (%d, %d before, cap +%d)",
	      full.threads, base.threads, POOL_CAP);

	/* 2. Work that may go to a worker must not wait behind them. */
	{
		struct fuse_read_in ri = { .fh = dfh,
					   .offset = MIB,
					   .size = MIB };
		struct fuse_fsync_in fi = { .fh = dfh };
		struct fuse_getattr_in gi = { 0 };
		struct iovec a;

		a = (struct iovec){ &ri, sizeof(ri) };
		r = op_submit(d.fe, &rd, 1, FUSE_READ, data, &a, 1, 16 + MIB,
			      NULL, 0, false, 0);
		a = (struct iovec){ &fi, sizeof(fi) };
		if (!r)
			r = op_submit(d.fe, &fs, 2, FUSE_FSYNC, data, &a, 1, 16,
				      NULL, 0, false, 0);
		a = (struct iovec){ &gi, sizeof(gi) };
		if (!r)
			r = op_submit(d.fe, &ga, 1, FUSE_GETATTR, data, &a, 1,
				      16 + sizeof(struct fuse_attr_out), NULL,
				      0, false, 0);
		if (!r)
			r = op_wait(d.fe, &rd, WAIT_MS);
		if (!r)
			r = op_result(&rd, MIB);
		check(!r && is_pat(op_body(&rd), MIB, MIB, 2),
		      "a 1 MiB READ on a queue with SETLKWs waiting is answered "
		      "(%s)",
		      errname(r));
		r = op_wait(d.fe, &fs, WAIT_MS);
		if (!r)
			r = op_result(&fs, 0);
		check(!r, "an FSYNC meanwhile is answered (%s)", errname(r));
		r = op_wait(d.fe, &ga, WAIT_MS);
		if (!r)
			r = op_result(&ga, sizeof(struct fuse_attr_out));
		check(!r, "a GETATTR behind them too (%s)", errname(r));
	}

	/* 3. INTERRUPT every SETLKW, again on EAGAIN, as the client does. */
	for (rounds = 0, done = 0; rounds < 2000 && done < POOL_LOCKS;
	     rounds++) {
		for (i = 0; i < POOL_LOCKS; i++) {
			if (locks[i].done)
				continue;
			r = interrupt_one(d.fe, locks[i].unique);
			sent++;
			answered += r == 0;
			if (r < 0)
				break;
		}
		if (r < 0)
			break;
		for (q = 1; q <= POOL_LOCK_QUEUES; q++)
			reap_ready(d.fe, q);
		for (i = 0, done = 0; i < POOL_LOCKS; i++)
			done += locks[i].done;
		if (done < POOL_LOCKS)
			usleep(2000);
	}
	for (i = 0; i < POOL_LOCKS; i++)
		eintr += locks[i].done && op_result(&locks[i], 0) == -EINTR;
	note("%u INTERRUPTs sent (%u answered EAGAIN) in %u rounds", sent,
	     answered, rounds);
	check(r >= 0 && eintr == POOL_LOCKS,
	      "every SETLKW ended with EINTR (%u of %u, %s)", eintr, POOL_LOCKS,
	      r < 0 ? errname(r) : "ok");
	pstat_read(d.sp, &after);
	pstat_note("after", &after);
	check(after.threads <= base.threads + THREAD_CAP,
	      "threads still within the caps (%d)", after.threads);

	close(hfd);
	hfd = -1;
	r = setlk(d.fe, RQ, lnode, lfh, 0x1000, F_WRLCK);
	check(!r, "with the host's lock gone, SETLK succeeds (%s)", errname(r));
	setlk(d.fe, RQ, lnode, lfh, 0x1000, F_UNLCK);
	release(d.fe, RQ, FUSE_RELEASE, lnode, lfh);
	release(d.fe, RQ, FUSE_RELEASE, data, dfh);
	still_serves(&d, "after the pool was full");
out_stop:
	if (d.fe) {
		for (i = 0; i < POOL_LOCKS; i++)
			op_free(d.fe, &locks[i]);
		for (q = 1; q <= POOL_LOCK_QUEUES; q++)
			op_free(d.fe, &gq[q]);
		op_free(d.fe, &rd);
		op_free(d.fe, &fs);
		op_free(d.fe, &ga);
	}
	if (hfd >= 0)
		close(hfd);
	dmn_stop(&d, fb);
out_rm:
	dmn_cleanup(&d);
}

/* ==== case handles ==== */

/* Bytes of the daemon's anonymous memory per held inode: the goal of
 * --inode-file-handles (docs/LIMITS.md). ASan's redzones and quarantine
 * make every allocation several times larger. */
#ifdef EXHAUST_ASAN
#define HANDLES_BYTES_PER_INODE 1500
/* the blocks freed by FORGET wait in ASan's quarantine before reuse */
#define HANDLES_REUSE_SLACK_KB (ASAN_QUARANTINE_MB * 1024)
#else
#define HANDLES_BYTES_PER_INODE 200
#define HANDLES_REUSE_SLACK_KB 256
#endif
#define HANDLES_FILE_LEN 64

/* LOOKUP every file of many/ (no FORGET) into @refs; errors counted. */
static unsigned flood(struct dmn *d, uint64_t many, unsigned n,
		      struct reftab *refs, uint64_t *ids, double *secs)
{
	struct fuse_entry_out e;
	char name[32];
	unsigned errs = 0;
	double t0 = now_s();

	for (unsigned i = 0; i < n; i++) {
		int r;

		snprintf(name, sizeof(name), "f%07u", i);
		r = lookup(d->fe, RQ, many, name, &e);
		if (r) {
			errs++;
			ids[i] = 0;
			continue;
		}
		ids[i] = e.nodeid;
		reftab_add(refs, e.nodeid, 1);
	}
	*secs = now_s() - t0;
	return errs;
}

static void case_handles(void)
{
	char limit[16], path[256];
	const char *extra[] = { "--rlimit-nofile", limit, NULL };
	struct vhf_opts opts = { 0 };
	struct fuse_entry_out e = { 0 };
	struct fuse_attr_out ao = { 0 };
	struct pstat before, held, served, forgot, again;
	struct reftab refs = { 0 };
	unsigned n = opt_files, i, errs, bad = 0;
	uint64_t *ids = calloc(n, sizeof(*ids));
	uint64_t many = 0;
	uint8_t buf[HANDLES_FILE_LEN];
	double secs, t0;
	long per, per2;
	int fb = fails, r;

	snprintf(limit, sizeof(limit), "%u", n / 10 < 64 ? 64 : n / 10);
	if (!check(ids && !dmn_prepare(&d_handles), "prepare the share"))
		goto out_free;
	snprintf(path, sizeof(path), "%s/many", d_handles.share);
	mkdir(path, 0755);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/many/f%07u", d_handles.share,
			 i);
		if (make_pat_file(path, HANDLES_FILE_LEN, i))
			break;
	}
	if (!check(i == n, "create %u files of %u bytes (%.2f s)", i,
		   HANDLES_FILE_LEN, now_s() - t0))
		goto out_rm;
	if (!dmn_start(&d_handles, extra, &opts, 0))
		goto out_stop;
	r = lookup(d_handles.fe, RQ, FUSE_ROOT_ID, "many", &e);
	many = r ? 0 : e.nodeid;
	if (!check(!r, "LOOKUP many (%s)", errname(r)))
		goto out_stop;
	pstat_read(d_handles.sp, &before);
	pstat_note("before", &before);

	/* 1. n distinct files held under an fd limit of n / 10. */
	errs = flood(&d_handles, many, n, &refs, ids, &secs);
	pstat_read(d_handles.sp, &held);
	pstat_note("held", &held);
	per = (held.anon - before.anon) * 1024 / (long)n;
	note("%u LOOKUPs in %.2f s (%.0f/s) under --rlimit-nofile %s: %u "
	     "errors, fds %d, %ld bytes of RssAnon per held inode",
	     n, secs, n / secs, limit, errs, held.fds, per);
	check(errs == 0, "every LOOKUP of %u succeeds (%u errors)", n, errs);
	check(refs.distinct == n, "%u distinct nodes held (%zu)", n,
	      refs.distinct);
	check(held.fds <= (int)opt_max_fds, "fds stay at most %u (%d)",
	      opt_max_fds, held.fds);
	check(per <= HANDLES_BYTES_PER_INODE,
	      "memory per held inode %ld <= %d bytes", per,
	      HANDLES_BYTES_PER_INODE);

	/* 2. Every held node still answers GETATTR, OPEN and READ. */
	t0 = now_s();
	for (i = 0; i < n; i++) {
		uint64_t fh = 0;
		size_t got = 0;

		r = getattr(d_handles.fe, RQ, ids[i], &ao);
		if (!r && !S_ISREG(ao.attr.mode))
			r = -EBADMSG;
		if (!r)
			r = open_node(d_handles.fe, RQ, FUSE_OPEN, ids[i],
				      O_RDONLY, &fh);
		if (!r) {
			r = read_fh(d_handles.fe, RQ, FUSE_READ, ids[i], fh, 0,
				    sizeof(buf), buf, &got);
			if (!r && (got != sizeof(buf) ||
				   !is_pat(buf, sizeof(buf), 0, i)))
				r = -EBADMSG;
			release(d_handles.fe, RQ, FUSE_RELEASE, ids[i], fh);
		}
		if (r && bad++ < 3)
			note("node of f%07u: %s", i, errname(r));
	}
	pstat_read(d_handles.sp, &served);
	pstat_note("after GETATTR+OPEN+READ of each", &served);
	check(bad == 0,
	      "every held node answers GETATTR, OPEN and READ with its bytes "
	      "(%u failed, %.2f s)",
	      bad, now_s() - t0);
	check(served.fds <= (int)opt_max_fds, "fds still at most %u (%d)",
	      opt_max_fds, served.fds);

	/* 3. FORGET all, then the same flood again: memory is reused. */
	r = reftab_forget(d_handles.fe, &refs);
	getattr(d_handles.fe, RQ, FUSE_ROOT_ID, &ao);
	pstat_read(d_handles.sp, &forgot);
	pstat_note("after BATCH_FORGET", &forgot);
	check(!r, "BATCH_FORGET of every reference (%s)", errname(r));
	errs = flood(&d_handles, many, n, &refs, ids, &secs);
	pstat_read(d_handles.sp, &again);
	pstat_note("second flood held", &again);
	per2 = (again.anon - held.anon) * 1024 / (long)n;
	check(errs == 0, "second flood: every LOOKUP succeeds (%u errors)",
	      errs);
	check(again.anon <= served.anon + HANDLES_REUSE_SLACK_KB,
	      "second flood does not grow RssAnon (%ld kB, was %ld kB; "
	      "%ld bytes per inode more)",
	      again.anon, served.anon, per2);
	reftab_forget(d_handles.fe, &refs);
	still_serves(&d_handles, "after the floods");
out_stop:
	dmn_stop(&d_handles, fb);
out_rm:
	reftab_free(&refs);
	dmn_cleanup(&d_handles);
out_free:
	free(ids);
}

/* ==== main ==== */

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "lookup", case_lookup },	 { "bigdir", case_bigdir },
	{ "sizes", case_sizes },	 { "flood", case_flood },
	{ "interrupt", case_interrupt }, { "pool", case_pool },
	{ "handles", case_handles },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

int main(int argc, char **argv)
{
	bool want[NCASES] = { false }, any = false;
	unsigned k;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-v")) {
			vhf_verbose = 1;
		} else if (!strcmp(argv[i], "--case") && i + 1 < argc) {
			for (k = 0; k < NCASES; k++)
				if (!strcmp(argv[i + 1], cases[k].name))
					break;
			if (k == NCASES)
				goto usage;
			want[k] = any = true;
			i++;
		} else if (!strcmp(argv[i], "--entries") && i + 1 < argc) {
			if (!parse_uint(argv[++i], 10000000, &opt_entries) ||
			    !opt_entries)
				goto usage;
		} else if (!strcmp(argv[i], "--slice") && i + 1 < argc) {
			if (!parse_uint(argv[++i], 1000000, &opt_slice) ||
			    !opt_slice)
				goto usage;
		} else if (!strcmp(argv[i], "--flood-ms") && i + 1 < argc) {
			if (!parse_uint(argv[++i], 600000, &opt_flood_ms))
				goto usage;
		} else if (!strcmp(argv[i], "--files") && i + 1 < argc) {
			if (!parse_uint(argv[++i], 10000000, &opt_files) ||
			    opt_files < 10)
				goto usage;
		} else if (!strcmp(argv[i], "--max-fds") && i + 1 < argc) {
			if (!parse_uint(argv[++i], 10000000, &opt_max_fds))
				goto usage;
		} else if (!strcmp(argv[i], "--handles")) {
			opt_handles = true;
		} else if (!strcmp(argv[i], "--storm") && i + 1 < argc) {
			if (!parse_uint(argv[++i], 10000000, &opt_storm) ||
			    opt_storm < 2)
				goto usage;
		} else {
			goto usage;
		}
	}
	if (i + 1 >= argc)
		goto usage;
	daemon_argv = argv + i + 1;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(topdir, sizeof(topdir), "/tmp/hostile-exhaust.XXXXXX");
	if (!mkdtemp(topdir)) {
		perror("mkdtemp");
		return 1;
	}
#ifdef EXHAUST_ASAN
	{
		/* The daemon's peak memory is what the cases bound; ASan's
		 * quarantine of freed blocks (256 MB by default) is not. */
		const char *o = getenv("ASAN_OPTIONS");
		char opt[1024];

		snprintf(opt, sizeof(opt), "%s%squarantine_size_mb=%u",
			 o ? o : "", o && *o ? ":" : "", ASAN_QUARANTINE_MB);
		setenv("ASAN_OPTIONS", opt, 1);
		printf("# built with AddressSanitizer: daemons run with "
		       "ASAN_OPTIONS=%s\n",
		       opt);
	}
#endif
	for (k = 0; k < NCASES; k++) {
		if (any && !want[k])
			continue;
		cur_case = cases[k].name;
		cases[k].fn();
	}
	rmdir(topdir);
	printf("%s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
usage:
	fprintf(stderr,
		"usage: %s [-v] [--case lookup|bigdir|sizes|flood|interrupt|"
		"pool|handles]... [--entries N] [--slice N] [--flood-ms MS] "
		"[--files N] [--max-fds N] [--handles] "
		"[--storm N] -- DAEMON ARGS... ({sock} and {dir} are "
		"substituted)\n",
		argv[0]);
	return 2;
}
