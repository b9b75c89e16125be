// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-hostile: a hostile frontend and guest against a virtio-fs daemon.
 *
 *   vhost-hostile [-v] [-k SUBSTRING]... [-x SUBSTRING]... -- DAEMON ARGS...
 *
 * "{sock}" and "{dir}" in the daemon's arguments are filled in per case.
 * Every case starts a fresh daemon with its stderr in a file, sets the
 * device up (and, for most, sends FUSE INIT), does one hostile thing and
 * checks the outcome the daemon owes:
 *
 *   ring-*   a corrupt ring: the daemon stops on its own, exits non-zero
 *            and not by a signal, its log names the fault ("corrupt ring"
 *            plus what was wrong) and the queue's error eventfd fired.
 *   fuse-*   a malformed FUSE request: an error reply with the right errno
 *            (or no reply where the protocol has none), nothing written
 *            past the guest's buffers, and the same queue then serves a
 *            normal GETATTR; the daemon exits 0 on disconnect.
 *   vu-*     a malformed vhost-user message (bad sizes, wrong fd
 *            counts, regions that overlap, wrap, exceed or cannot be
 *            mapped from their fd, all memory slots used): refused
 *            (REPLY_ACK error) with a logged reason, the fds it carried
 *            closed (the serving process's /proc/PID/fd is counted before
 *            and after), no mapping left behind, and the device still
 *            serves; accepted memory tables and regions, replaced or
 *            removed, leave no fd or mapping behind either; a broken
 *            header ends the connection without a signal.
 *   disc-*   the frontend vanishes with requests or half a message in
 *            flight: the daemon exits promptly and not by a signal.
 *
 * Every case also fails if the daemon's log holds a sanitizer report
 * (ASan, LeakSanitizer, UBSan, TSan), valgrind counted errors, or
 * valgrind's --track-fds lists an fd the daemon opened and left open at
 * exit: run against a sanitizer build of vfsd with --sandbox none (the
 * leak checker is off inside a sandbox), or under valgrind, this proves
 * the cases leak no memory, and under valgrind no fd either, even where
 * the daemon exits. -k (repeatable) runs only the cases whose names
 * contain one of the substrings, -x (repeatable) leaves out those whose
 * names contain one.
 *
 * Prints one "ok"/"not ok" line per check and PASS or FAIL; exit status 0
 * or 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

#define RQ 1 /* the request queue every case uses */
#define GUARD 0xa5
#define FILE_LEN 8192
#define REAP_MS 10000
#define LOG_MAX 65536

struct ctx {
	const char *name;
	struct vhf *fe;
	pid_t pid;
	int status; /* waitpid() status once reaped */
	bool reaped;
	int err_fd; /* eventfd given as queue RQ's SET_VRING_ERR, or -1 */
	int fails;
	char dir[160];
	char share[192];
	char sock[192];
	char log[192];
};

static char *const *daemon_argv;
static unsigned check_no;
static char tmpdir[64];
static uint8_t file_data[FILE_LEN];

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

/* ---- the daemon ---- */

/* The case's tree: DIR/share/{file.txt,a/b}, DIR/outside.txt, DIR/log. */
static int make_tree(struct ctx *c, unsigned no)
{
	char p[256];

	snprintf(c->dir, sizeof(c->dir), "%s/%u", tmpdir, no);
	snprintf(c->share, sizeof(c->share), "%s/share", c->dir);
	snprintf(c->sock, sizeof(c->sock), "%s/s", c->dir);
	snprintf(c->log, sizeof(c->log), "%s/log", c->dir);
	if (mkdir(c->dir, 0755) || mkdir(c->share, 0755))
		return -errno;
	snprintf(p, sizeof(p), "%s/a", c->share);
	if (mkdir(p, 0755))
		return -errno;
	snprintf(p, sizeof(p), "%s/a/b", c->share);
	if (tu_write_file(p, "b", 1))
		return -EIO;
	snprintf(p, sizeof(p), "%s/file.txt", c->share);
	if (tu_write_file(p, file_data, sizeof(file_data)))
		return -EIO;
	snprintf(p, sizeof(p), "%s/esc", c->share);
	if (symlink("../outside.txt", p))
		return -errno;
	snprintf(p, sizeof(p), "%s/updir", c->share);
	if (symlink("..", p))
		return -errno;
	snprintf(p, sizeof(p), "%s/hfifo", c->share);
	if (mkfifo(p, 0666))
		return -errno;
	snprintf(p, sizeof(p), "%s/outside.txt", c->dir);
	return tu_write_file(p, "outside", 7);
}

/* Start the daemon with its stderr going to c->log. */
static int spawn(struct ctx *c)
{
	/* close-on-exec: the daemon inherits none of our fds */
	int saved = tu_stderr_to(c->log, false), r;

	if (saved < 0)
		return saved;
	r = vhf_spawn(daemon_argv, c->sock, c->share, &c->pid);
	tu_stderr_restore(saved);
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

static void slurp_log(struct ctx *c, char *buf, size_t cap)
{
	size_t len = 0;

	if (tu_read_file(c->log, buf, cap - 1, &len))
		len = 0;
	buf[len] = '\0';
}

static bool log_has(struct ctx *c, const char *needle)
{
	static char buf[LOG_MAX];

	slurp_log(c, buf, sizeof(buf));
	return strcasestr(buf, needle) != NULL;
}

/*
 * What a checking runtime said in the daemon's log: a sanitizer report
 * (ASan, LeakSanitizer, UBSan, TSan) or valgrind's error count. Under
 * either, a leak, a race or a bad access at any point of the case fails
 * it, whatever the exit status was.
 */
static void expect_no_reports(struct ctx *c)
{
	static char prev_fd_line[160];
	static const char *const marks[] = {
		"ERROR: AddressSanitizer",	     "ERROR: LeakSanitizer",
		"WARNING: ThreadSanitizer",	     "runtime error:",
		"ERROR: UndefinedBehaviorSanitizer",
	};
	char line[1024], first[160] = "", fd_first[160] = "";
	unsigned long errs = 0, n;
	bool valgrind = false, fd_entry = false;
	unsigned fds_left = 0;
	const char *v;
	FILE *f = fopen(c->log, "re");
	unsigned i;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		/* --track-fds: each fd open at exit, then where it came from */
		if (fd_entry && strstr(line, "==")) {
			fd_entry = false;
			if (!strstr(line, "<inherited from parent>") &&
			    !fds_left++)
				snprintf(fd_first, sizeof(fd_first), "%.150s",
					 prev_fd_line);
		}
		if (strstr(line, "== Open file descriptor ") ||
		    strstr(line, "== Open AF_")) {
			fd_entry = true;
			snprintf(prev_fd_line, sizeof(prev_fd_line), "%.150s",
				 line);
			continue;
		}
		for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
			if (strstr(line, marks[i]) && !first[0])
				snprintf(first, sizeof(first), "%.150s", line);
		v = strstr(line, "ERROR SUMMARY: ");
		if (v) {
			valgrind = true;
			n = strtoul(v + 15, NULL, 10);
			if (n && !first[0])
				snprintf(first, sizeof(first), "%.150s", line);
			errs += n;
		}
	}
	fclose(f);
	check(c, !first[0], "no sanitizer or valgrind report in the log%s%s",
	      first[0] ? ": " : "", first);
	if (valgrind)
		check(c, !errs, "valgrind counts %lu errors (leaks included)",
		      errs);
	check(c, !fds_left,
	      "every fd the daemon opened was closed by its exit (%u left%s%s)",
	      fds_left, fds_left ? ": " : "", fd_first);
}

/* Lines of /proc/PID/maps that mention @needle. */
static int count_maps(pid_t pid, const char *needle)
{
	char p[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* ---- FUSE requests laid by hand ---- */

struct rawreply {
	uint32_t used; /* length the daemon reported */
	struct fuse_out_header oh; /* valid when used >= sizeof(oh) */
	uint8_t body[8192];
};

/*
 * Send @inlen bytes of @in (header and arguments in separate descriptors,
 * as the Linux driver lays them) with one writable buffer of @outlen bytes
 * (none when 0) on queue @q, and wait for the used element. The bytes
 * after the writable buffer are a guard that must stay untouched; the
 * used length must fit the buffer; a reply must carry the request's
 * unique and its own length.
 */
static int raw_fuse(struct ctx *c, unsigned q, const void *in, size_t inlen,
		    size_t outlen, struct rawreply *rep)
{
	struct vhf_buf ib = { 0 }, ob = { 0 };
	struct vhf_seg segs[3];
	struct fuse_in_header h = { 0 };
	size_t hlen = sizeof(struct fuse_in_header);
	unsigned n = 0;
	uint8_t *g;
	void *cookie = NULL;
	size_t i;
	int r;

	memset(rep, 0, sizeof(*rep));
	if (inlen >= sizeof(h))
		memcpy(&h, in, sizeof(h));
	r = vhf_alloc(c->fe, inlen ? inlen : 1, &ib);
	if (!r)
		r = vhf_alloc(c->fe, outlen + 4096, &ob);
	if (r)
		goto out_free;
	memcpy(ib.hva, in, inlen);
	memset(ob.hva, GUARD, outlen + 4096);
	if (inlen > hlen) {
		segs[n++] = (struct vhf_seg){ ib.gpa, (uint32_t)hlen, false };
		segs[n++] = (struct vhf_seg){ ib.gpa + hlen,
					      (uint32_t)(inlen - hlen), false };
	} else {
		segs[n++] = (struct vhf_seg){ ib.gpa, (uint32_t)inlen, false };
	}
	if (outlen)
		segs[n++] = (struct vhf_seg){ ob.gpa, (uint32_t)outlen, true };
	r = vhf_submit(c->fe, q, segs, n, false, &h);
	if (r)
		goto out_free;
	r = vhf_wait(c->fe, q, 0, &rep->used, &cookie);
	if (r)
		goto out_free;
	if (!check(c, cookie == &h, "used element is our chain"))
		r = -EPROTO;
	check(c, rep->used <= outlen, "used length %u fits the %zu-byte buffer",
	      rep->used, outlen);
	g = (uint8_t *)ob.hva + outlen;
	for (i = 0; i < 4096 && g[i] == GUARD; i++)
		;
	check(c, i == 4096, "nothing written past the reply buffer");
	if (rep->used >= sizeof(rep->oh) && rep->used <= outlen) {
		memcpy(&rep->oh, ob.hva, sizeof(rep->oh));
		memcpy(rep->body, (uint8_t *)ob.hva + sizeof(rep->oh),
		       rep->used - sizeof(rep->oh) < sizeof(rep->body) ?
			       rep->used - sizeof(rep->oh) :
			       sizeof(rep->body));
		check(c, rep->oh.unique == h.unique && rep->oh.len == rep->used,
		      "reply header: unique %llu len %u (want %llu, %u)",
		      (unsigned long long)rep->oh.unique, rep->oh.len,
		      (unsigned long long)h.unique, rep->used);
	}
out_free:
	vhf_free(c->fe, &ib);
	vhf_free(c->fe, &ob);
	return r;
}

/* A request: in header with @len (0: the true length) and @nargs args. */
static size_t build_req(struct ctx *c, void *buf, size_t cap, uint32_t opcode,
			uint64_t nodeid, uint32_t len, const void *args,
			size_t args_len)
{
	struct fuse_in_header h;
	size_t total = sizeof(h) + args_len;

	if (total > cap)
		abort(); /* a bug in this test, not the daemon's fault */
	vhf_fuse_in_header(c->fe, &h, opcode, nodeid,
			   len ? len : (uint32_t)total);
	memcpy(buf, &h, sizeof(h));
	if (args_len)
		memcpy((uint8_t *)buf + sizeof(h), args, args_len);
	return total;
}

/* Send a request and expect an error reply carrying -@want or -@alt
 * (0: no alternative). */
static void expect_errno2(struct ctx *c, const char *what, const void *req,
			  size_t len, size_t outlen, int want, int alt)
{
	struct rawreply rep;
	int r = raw_fuse(c, RQ, req, len, outlen, &rep);

	if (!check(c, !r, "%s: answered (%s)", what, strerror(-r)))
		return;
	check(c,
	      rep.used == sizeof(rep.oh) &&
		      (rep.oh.error == -want || (alt && rep.oh.error == -alt)),
	      "%s: error reply %s%s%s (got used %u, error %d %s)", what,
	      strerror(want), alt ? " or " : "", alt ? strerror(alt) : "",
	      rep.used, rep.oh.error,
	      rep.oh.error < 0 ? strerror(-rep.oh.error) : "");
}

static void expect_errno(struct ctx *c, const char *what, const void *req,
			 size_t len, size_t outlen, int want)
{
	expect_errno2(c, what, req, len, outlen, want, 0);
}

static bool still_serving(struct ctx *c, const char *after)
{
	struct fuse_attr_out a;
	int r = vhf_fuse_getattr(c->fe, RQ, FUSE_ROOT_ID, &a);

	return check(c, !r && S_ISDIR(a.attr.mode),
		     "GETATTR on queue %u still served after %s (%s)", RQ,
		     after, strerror(-r));
}

static int lookup_open(struct ctx *c, const char *name, uint32_t flags,
		       uint64_t *nodeid, uint64_t *fh)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	int r;

	r = vhf_fuse_lookup(c->fe, RQ, FUSE_ROOT_ID, name, &e);
	if (!r)
		r = vhf_fuse_open(c->fe, RQ, e.nodeid, flags, &o);
	check(c, !r, "LOOKUP and OPEN %s (%s)", name, strerror(-r));
	if (!r) {
		*nodeid = e.nodeid;
		*fh = o.fh;
	}
	return r;
}

/* ---- outcomes ---- */

/* Disconnect; the daemon must exit 0. */
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

/*
 * A corrupt ring: without any further action from us the daemon must stop
 * with a non-zero exit, not by a signal, and log one line naming the
 * fault: "corrupt ring" and one of @what (NULL-terminated).
 */
static void expect_ring_fault(struct ctx *c, const char *const *what)
{
	char buf[LOG_MAX], *line, *save = NULL;
	bool named = false;
	uint64_t v = 0;
	int r;

	r = reap(c, REAP_MS);
	if (!check(c, !r, "daemon stops by itself after the corrupt ring"))
		return;
	check(c, !WIFSIGNALED(c->status), "daemon not killed by a signal (%s)",
	      tu_status_str(c->status));
	check(c, WIFEXITED(c->status) && WEXITSTATUS(c->status) != 0,
	      "daemon exit status non-zero (%s)", tu_status_str(c->status));
	slurp_log(c, buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line && !named;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strcasestr(line, "corrupt ring"))
			continue;
		for (unsigned i = 0; what[i]; i++)
			if (strcasestr(line, what[i]))
				named = true;
	}
	check(c, named, "log line \"corrupt ring\" naming the fault (\"%s\")",
	      what[0]);
	if (c->err_fd >= 0)
		check(c, read(c->err_fd, &v, sizeof(v)) == sizeof(v) && v,
		      "queue's error eventfd signalled");
}

/* After a vhost-user message that breaks the framing: the daemon ends
 * the connection and exits, not by a signal. */
static void expect_disconnect(struct ctx *c, const char *logged)
{
	char b;
	struct pollfd p = { .fd = vhf_sock_fd(c->fe), .events = POLLIN };
	int r;

	r = poll(&p, 1, REAP_MS);
	check(c, r == 1 && recv(p.fd, &b, 1, MSG_DONTWAIT) == 0,
	      "daemon closes the connection");
	r = reap(c, REAP_MS);
	if (!check(c, !r, "daemon exits"))
		return;
	check(c, !WIFSIGNALED(c->status), "daemon not killed by a signal (%s)",
	      tu_status_str(c->status));
	if (logged)
		check(c, log_has(c, logged), "log names the fault (\"%s\")",
		      logged);
}

/* The daemon went away after the frontend did, promptly, not by a signal. */
static void expect_exit_nosignal(struct ctx *c)
{
	int r = reap(c, REAP_MS);

	if (!check(c, !r, "daemon exits after the frontend vanished"))
		return;
	check(c, !WIFSIGNALED(c->status), "daemon not killed by a signal (%s)",
	      tu_status_str(c->status));
}

/* ---- ring faults ---- */

/* Descriptors well above those the harness hands out. */
#define D0 200
#define D1 201

static void set_desc(struct ctx *c, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc *d = vhf_desc(c->fe, RQ);

	d[i].addr = addr;
	d[i].len = len;
	d[i].flags = flags;
	d[i].next = next;
}

/* A GETATTR header and argument, valid, at @b; returns its length. */
static uint32_t lay_getattr(struct ctx *c, struct vhf_buf *b)
{
	struct fuse_getattr_in ga = { 0 };
	uint8_t req[128];
	size_t n = build_req(c, req, sizeof(req), FUSE_GETATTR, FUSE_ROOT_ID, 0,
			     &ga, sizeof(ga));

	memcpy(b->hva, req, n);
	return (uint32_t)n;
}

static void publish_kick(struct ctx *c, uint16_t head)
{
	vhf_publish(c->fe, RQ, head);
	check(c, !vhf_kick(c->fe, RQ), "kick");
}

static int ring_loop(struct ctx *c)
{
	static const char *const what[] = { "loop", "longer", NULL };
	struct vhf_buf b;

	if (vhf_alloc(c->fe, 4096, &b))
		return -ENOMEM;
	lay_getattr(c, &b);
	set_desc(c, D0, b.gpa, 40, VRING_DESC_F_NEXT, D1);
	set_desc(c, D1, b.gpa + 40, 16, VRING_DESC_F_NEXT, D0);
	publish_kick(c, D0);
	expect_ring_fault(c, what);
	return 0;
}

static int ring_head_oob(struct ctx *c)
{
	static const char *const what[] = { "head", NULL };
	unsigned num = vhf_info(c->fe)->queue_size;

	publish_kick(c, (uint16_t)(num + 3));
	expect_ring_fault(c, what);
	return 0;
}

static int ring_next_oob(struct ctx *c)
{
	static const char *const what[] = { "next", NULL };
	unsigned num = vhf_info(c->fe)->queue_size;
	struct vhf_buf b;

	if (vhf_alloc(c->fe, 4096, &b))
		return -ENOMEM;
	lay_getattr(c, &b);
	set_desc(c, D0, b.gpa, 40, VRING_DESC_F_NEXT, (uint16_t)(num + 5));
	publish_kick(c, D0);
	expect_ring_fault(c, what);
	return 0;
}

/* Between the two regions (0 and 4 GiB, 32 MiB each): no memory. */
#define HOLE_GPA 0x80000000ull

static int ring_addr_outside(struct ctx *c)
{
	static const char *const what[] = { "outside", "memory", NULL };

	set_desc(c, D0, HOLE_GPA, 64, 0, 0);
	publish_kick(c, D0);
	expect_ring_fault(c, what);
	return 0;
}

/* A buffer that starts inside region 0 and runs past its end. */
static int ring_addr_straddle(struct ctx *c)
{
	static const char *const what[] = { "outside", "memory", NULL };
	uint64_t end0 = (64ull << 20) / 2;

	set_desc(c, D0, end0 - 16, 64, VRING_DESC_F_WRITE, 0);
	publish_kick(c, D0);
	expect_ring_fault(c, what);
	return 0;
}

static int ring_addr_wrap(struct ctx *c)
{
	static const char *const what[] = { "wrap", "overflow", NULL };

	set_desc(c, D0, 0xfffffffffffff000ull, 0x2000, 0, 0);
	publish_kick(c, D0);
	expect_ring_fault(c, what);
	return 0;
}

static int ring_avail_jump(struct ctx *c)
{
	static const char *const what[] = { "avail", NULL };
	struct vring_avail *a = vhf_avail(c->fe, RQ);
	unsigned num = vhf_info(c->fe)->queue_size;
	uint16_t idx = __atomic_load_n(&a->idx, __ATOMIC_RELAXED);

	__atomic_store_n(&a->idx, (uint16_t)(idx + num + 1), __ATOMIC_RELEASE);
	check(c, !vhf_kick(c->fe, RQ), "kick");
	expect_ring_fault(c, what);
	return 0;
}

static int ring_indirect_len(struct ctx *c)
{
	static const char *const what[] = { "indirect", NULL };
	struct vhf_buf t;

	if (vhf_alloc(c->fe, 4096, &t))
		return -ENOMEM;
	set_desc(c, D0, t.gpa, 24, VRING_DESC_F_INDIRECT, 0);
	publish_kick(c, D0);
	expect_ring_fault(c, what);
	return 0;
}

static int ring_indirect_nested(struct ctx *c)
{
	static const char *const what[] = { "indirect", NULL };
	struct vhf_buf t, t2, b;
	struct vring_desc *e;

	if (vhf_alloc(c->fe, 4096, &t) || vhf_alloc(c->fe, 4096, &t2) ||
	    vhf_alloc(c->fe, 4096, &b))
		return -ENOMEM;
	lay_getattr(c, &b);
	e = t2.hva;
	e[0] = (struct vring_desc){ .addr = b.gpa, .len = 56 };
	e = t.hva;
	e[0] = (struct vring_desc){ .addr = t2.gpa,
				    .len = 16,
				    .flags = VRING_DESC_F_INDIRECT };
	set_desc(c, D0, t.gpa, 16, VRING_DESC_F_INDIRECT, 0);
	publish_kick(c, D0);
	expect_ring_fault(c, what);
	return 0;
}

static int ring_indirect_outside(struct ctx *c)
{
	static const char *const what[] = { "outside", "memory", NULL };

	set_desc(c, D0, HOLE_GPA, 64, VRING_DESC_F_INDIRECT, 0);
	publish_kick(c, D0);
	expect_ring_fault(c, what);
	return 0;
}

static int ring_read_after_write(struct ctx *c)
{
	static const char *const what[] = { "readable", "writable", NULL };
	struct vhf_buf b, o;

	if (vhf_alloc(c->fe, 4096, &b) || vhf_alloc(c->fe, 4096, &o))
		return -ENOMEM;
	lay_getattr(c, &b);
	set_desc(c, D0, o.gpa, 256, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, D1);
	set_desc(c, D1, b.gpa, 56, 0, 0);
	publish_kick(c, D0);
	expect_ring_fault(c, what);
	return 0;
}

/* ---- malformed FUSE requests ---- */

static int fuse_len_larger(struct ctx *c)
{
	struct fuse_getattr_in ga = { 0 };
	uint8_t req[128];
	size_t n;

	n = build_req(c, req, sizeof(req), FUSE_GETATTR, FUSE_ROOT_ID,
		      40 + sizeof(ga) + 64, &ga, sizeof(ga));
	expect_errno(c, "in.len 64 bytes more than sent", req, n, 4096, EINVAL);
	n = build_req(c, req, sizeof(req), FUSE_GETATTR, FUSE_ROOT_ID,
		      UINT32_MAX, &ga, sizeof(ga));
	expect_errno(c, "in.len 4 GiB - 1", req, n, 4096, EINVAL);
	still_serving(c, "in.len too large");
	expect_clean_exit(c);
	return 0;
}

static int fuse_len_smaller(struct ctx *c)
{
	struct fuse_getattr_in ga = { 0 };
	uint8_t req[128];
	size_t n;

	n = build_req(c, req, sizeof(req), FUSE_GETATTR, FUSE_ROOT_ID,
		      40 + sizeof(ga) - 8, &ga, sizeof(ga));
	expect_errno(c, "in.len 8 bytes less than sent", req, n, 4096, EINVAL);
	n = build_req(c, req, sizeof(req), FUSE_GETATTR, FUSE_ROOT_ID, 16, &ga,
		      sizeof(ga));
	expect_errno(c, "in.len shorter than the header", req, n, 4096, EINVAL);
	still_serving(c, "in.len too small");
	expect_clean_exit(c);
	return 0;
}

/* Truncated argument structs and names. */
static int fuse_truncated_args(struct ctx *c)
{
	struct fuse_getattr_in ga = { 0 };
	struct fuse_read_in rd = { .size = 4096 };
	uint8_t req[128];
	size_t n;

	n = build_req(c, req, sizeof(req), FUSE_LOOKUP, FUSE_ROOT_ID, 0, NULL,
		      0);
	expect_errno(c, "LOOKUP without a name", req, n, 4096, EINVAL);
	n = build_req(c, req, sizeof(req), FUSE_LOOKUP, FUSE_ROOT_ID, 0,
		      "file.txt", 8);
	expect_errno(c, "LOOKUP name without its NUL", req, n, 4096, EINVAL);
	n = build_req(c, req, sizeof(req), FUSE_LOOKUP, FUSE_ROOT_ID, 0, "", 1);
	expect_errno2(c, "LOOKUP of an empty name", req, n, 4096, EINVAL,
		      ENOENT);
	n = build_req(c, req, sizeof(req), FUSE_GETATTR, FUSE_ROOT_ID, 0, &ga,
		      sizeof(ga) - 4);
	expect_errno(c, "GETATTR with a short argument", req, n, 4096, EINVAL);
	n = build_req(c, req, sizeof(req), FUSE_READ, FUSE_ROOT_ID, 0, &rd,
		      sizeof(rd) / 2);
	expect_errno(c, "READ with half its argument", req, n, 8192, EINVAL);
	n = build_req(c, req, sizeof(req), FUSE_WRITE, FUSE_ROOT_ID, 0, &rd, 8);
	expect_errno(c, "WRITE shorter than fuse_write_in", req, n, 4096,
		     EINVAL);
	still_serving(c, "truncated arguments");
	expect_clean_exit(c);
	return 0;
}

static int fuse_unknown_opcode(struct ctx *c)
{
	uint8_t args[16] = { 0 }, req[128];
	size_t n;

	n = build_req(c, req, sizeof(req), 9999, FUSE_ROOT_ID, 0, args,
		      sizeof(args));
	expect_errno(c, "opcode 9999", req, n, 4096, ENOSYS);
	n = build_req(c, req, sizeof(req), 0, FUSE_ROOT_ID, 0, NULL, 0);
	expect_errno(c, "opcode 0", req, n, 4096, ENOSYS);
	n = build_req(c, req, sizeof(req), UINT32_MAX, FUSE_ROOT_ID, 0, NULL,
		      0);
	expect_errno(c, "opcode 2^32 - 1", req, n, 4096, ENOSYS);
	still_serving(c, "unknown opcodes");
	expect_clean_exit(c);
	return 0;
}

/* Runs without INIT. */
static int fuse_before_init(struct ctx *c)
{
	struct fuse_getattr_in ga = { 0 };
	struct fuse_init_out init;
	uint8_t req[128];
	size_t n;
	int r;

	n = build_req(c, req, sizeof(req), FUSE_GETATTR, FUSE_ROOT_ID, 0, &ga,
		      sizeof(ga));
	expect_errno(c, "GETATTR before INIT", req, n, 4096, EIO);
	n = build_req(c, req, sizeof(req), FUSE_LOOKUP, FUSE_ROOT_ID, 0,
		      "file.txt", 9);
	expect_errno(c, "LOOKUP before INIT", req, n, 4096, EIO);
	r = vhf_fuse_init(c->fe, RQ, 0, &init);
	check(c, !r, "INIT afterwards (%s)", strerror(-r));
	still_serving(c, "requests before INIT");
	expect_clean_exit(c);
	return 0;
}

static int fuse_read_too_big(struct ctx *c)
{
	struct fuse_read_in rd = { .size = 65536 };
	uint64_t nodeid, fh;
	uint8_t req[128];
	size_t n;
	uint32_t got = 0;
	uint8_t buf[256];
	int r;

	if (lookup_open(c, "file.txt", O_RDONLY, &nodeid, &fh))
		return 0;
	rd.fh = fh;
	n = build_req(c, req, sizeof(req), FUSE_READ, nodeid, 0, &rd,
		      sizeof(rd));
	expect_errno2(c, "READ of 64 KiB into a 4 KiB buffer", req, n,
		      sizeof(struct fuse_out_header) + 4096, EINVAL, E2BIG);
	rd.size = 1;
	n = build_req(c, req, sizeof(req), FUSE_READ, nodeid, 0, &rd,
		      sizeof(rd));
	expect_errno2(c, "READ of 1 byte with room for the header only", req, n,
		      sizeof(struct fuse_out_header), EINVAL, E2BIG);
	r = vhf_fuse_read(c->fe, RQ, nodeid, fh, 100, buf, sizeof(buf), &got);
	check(c, !r && got == sizeof(buf) && !memcmp(buf, file_data + 100, got),
	      "a proper READ afterwards (%s)", strerror(-r));
	still_serving(c, "oversized READs");
	expect_clean_exit(c);
	return 0;
}

static int fuse_reply_too_small(struct ctx *c)
{
	struct fuse_getattr_in ga = { 0 };
	struct rawreply rep;
	uint8_t req[128];
	size_t n;
	int r;

	n = build_req(c, req, sizeof(req), FUSE_GETATTR, FUSE_ROOT_ID, 0, &ga,
		      sizeof(ga));
	r = raw_fuse(c, RQ, req, n, 8, &rep);
	check(c, !r && rep.used == 0,
	      "GETATTR with an 8-byte reply buffer: used length 0 (got %u, %s)",
	      rep.used, strerror(-r));
	n = build_req(c, req, sizeof(req), FUSE_GETATTR, FUSE_ROOT_ID, 0, &ga,
		      sizeof(ga));
	r = raw_fuse(c, RQ, req, n, 0, &rep);
	check(c, !r && rep.used == 0,
	      "GETATTR with no reply buffer: used length 0 (got %u, %s)",
	      rep.used, strerror(-r));
	n = build_req(c, req, sizeof(req), FUSE_GETATTR, FUSE_ROOT_ID, 0, &ga,
		      sizeof(ga));
	r = raw_fuse(c, RQ, req, n, sizeof(struct fuse_out_header) + 8, &rep);
	check(c,
	      !r && rep.used <= sizeof(struct fuse_out_header) + 8 &&
		      (rep.used == 0 || rep.oh.error < 0),
	      "GETATTR with room for half its reply: no partial success "
	      "(used %u error %d)",
	      rep.used, rep.oh.error);
	/* A chain too short to hold a header at all. */
	r = raw_fuse(c, RQ, req, 20, 4096, &rep);
	check(c, !r && rep.used == 0,
	      "request of 20 bytes (half a header): used length 0 (got %u)",
	      rep.used);
	still_serving(c, "undersized buffers");
	expect_clean_exit(c);
	return 0;
}

static int fuse_write_mismatch(struct ctx *c)
{
	struct {
		struct fuse_write_in w;
		uint8_t data[50];
	} a;
	uint8_t req[256], host[FILE_LEN + 16];
	uint64_t nodeid, fh;
	char path[256];
	size_t n, hlen = 0;

	if (lookup_open(c, "file.txt", O_RDWR, &nodeid, &fh))
		return 0;
	memset(&a, 0, sizeof(a));
	memset(a.data, 'X', sizeof(a.data));
	a.w.fh = fh;
	a.w.size = 100;
	n = build_req(c, req, sizeof(req), FUSE_WRITE, nodeid, 0, &a,
		      sizeof(a));
	expect_errno(c, "WRITE size 100 with 50 bytes of payload", req, n, 4096,
		     EINVAL);
	a.w.size = 10;
	n = build_req(c, req, sizeof(req), FUSE_WRITE, nodeid, 0, &a,
		      sizeof(a));
	expect_errno(c, "WRITE size 10 with 50 bytes of payload", req, n, 4096,
		     EINVAL);
	a.w.size = UINT32_MAX;
	n = build_req(c, req, sizeof(req), FUSE_WRITE, nodeid, 0, &a,
		      sizeof(a));
	expect_errno(c, "WRITE size 4 GiB - 1 with 50 bytes of payload", req, n,
		     4096, EINVAL);
	snprintf(path, sizeof(path), "%s/file.txt", c->share);
	check(c,
	      !tu_read_file(path, host, sizeof(host), &hlen) &&
		      hlen == FILE_LEN && !memcmp(host, file_data, FILE_LEN),
	      "file unchanged on the host");
	still_serving(c, "mismatched WRITEs");
	expect_clean_exit(c);
	return 0;
}

/* BATCH_FORGET whose count does not match its entries is ignored whole:
 * the node it names keeps its lookup. */
static int fuse_batch_forget(struct ctx *c)
{
	static const uint32_t counts[] = { UINT32_MAX, 0x10000001u, 2 };
	struct {
		struct fuse_batch_forget_in b;
		struct fuse_forget_one one;
	} a;
	struct fuse_entry_out e;
	struct fuse_attr_out at;
	struct rawreply rep;
	uint8_t req[128];
	size_t n;
	unsigned i;
	int r;

	r = vhf_fuse_lookup(c->fe, RQ, FUSE_ROOT_ID, "file.txt", &e);
	if (!check(c, !r, "LOOKUP file.txt (%s)", strerror(-r)))
		return 0;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.b.count = counts[i];
		a.one.nodeid = e.nodeid;
		a.one.nlookup = 1;
		n = build_req(c, req, sizeof(req), FUSE_BATCH_FORGET, 0, 0, &a,
			      sizeof(a));
		r = raw_fuse(c, 0, req, n, 0, &rep);
		check(c, !r && rep.used == 0,
		      "BATCH_FORGET count %#x with one entry: no reply (%s)",
		      counts[i], strerror(-r));
		r = vhf_fuse_getattr(c->fe, RQ, e.nodeid, &at);
		check(c, !r && at.attr.ino == e.attr.ino,
		      "node not forgotten by it (GETATTR: %s)", strerror(-r));
	}
	still_serving(c, "absurd BATCH_FORGETs");
	expect_clean_exit(c);
	return 0;
}

static int fuse_bad_names(struct ctx *c)
{
	struct fuse_attr_out root;
	struct rawreply rep;
	uint8_t req[128];
	size_t n;
	int r;

	r = vhf_fuse_getattr(c->fe, RQ, FUSE_ROOT_ID, &root);
	check(c, !r, "GETATTR root (%s)", strerror(-r));
	n = build_req(c, req, sizeof(req), FUSE_LOOKUP, FUSE_ROOT_ID, 0, "..",
		      3);
	r = raw_fuse(c, RQ, req, n, 4096, &rep);
	if (check(c, !r && rep.used >= sizeof(rep.oh), "LOOKUP .. answered")) {
		struct fuse_entry_out e;

		memcpy(&e, rep.body, sizeof(e));
		/* Refused, or resolved to the root itself: never above it. */
		check(c,
		      rep.oh.error == -EINVAL ||
			      (!rep.oh.error && e.attr.ino == root.attr.ino),
		      "LOOKUP .. on the root: EINVAL or the root (error %d "
		      "ino %llu, root %llu)",
		      rep.oh.error, (unsigned long long)e.attr.ino,
		      (unsigned long long)root.attr.ino);
	}
	n = build_req(c, req, sizeof(req), FUSE_LOOKUP, FUSE_ROOT_ID, 0, "a/b",
		      4);
	expect_errno(c, "LOOKUP a/b", req, n, 4096, EINVAL);
	n = build_req(c, req, sizeof(req), FUSE_LOOKUP, FUSE_ROOT_ID, 0,
		      "../outside.txt", 15);
	expect_errno(c, "LOOKUP ../outside.txt", req, n, 4096, EINVAL);
	still_serving(c, "bad names");
	expect_clean_exit(c);
	return 0;
}

static int fuse_garbage_ids(struct ctx *c)
{
	static const uint64_t bad[] = { 0, 0xdeadbeef12345ull, UINT64_MAX };
	struct fuse_getattr_in ga = { 0 };
	struct fuse_read_in rd = { .size = 4096 };
	struct rawreply rep;
	uint64_t nodeid, fh;
	uint8_t req[128];
	size_t n;
	unsigned i;
	int r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = build_req(c, req, sizeof(req), FUSE_GETATTR, bad[i], 0, &ga,
			      sizeof(ga));
		r = raw_fuse(c, RQ, req, n, 4096, &rep);
		check(c,
		      !r && rep.used == sizeof(rep.oh) && rep.oh.error < 0 &&
			      rep.oh.error >= -4095,
		      "GETATTR of nodeid %#llx: error reply (used %u error %d)",
		      (unsigned long long)bad[i], rep.used, rep.oh.error);
		n = build_req(c, req, sizeof(req), FUSE_LOOKUP, bad[i], 0,
			      "file.txt", 9);
		r = raw_fuse(c, RQ, req, n, 4096, &rep);
		check(c,
		      !r && rep.used == sizeof(rep.oh) && rep.oh.error < 0 &&
			      rep.oh.error >= -4095,
		      "LOOKUP under nodeid %#llx: error reply (used %u error "
		      "%d)",
		      (unsigned long long)bad[i], rep.used, rep.oh.error);
	}
	if (!lookup_open(c, "file.txt", O_RDONLY, &nodeid, &fh)) {
		uint64_t bad_fh[] = { fh ^ 0xdeadbeef00ull, UINT64_MAX,
				      fh + 1000 };

		for (i = 0; i < 3; i++) {
			rd.fh = bad_fh[i];
			n = build_req(c, req, sizeof(req), FUSE_READ, nodeid, 0,
				      &rd, sizeof(rd));
			expect_errno(c, "READ with a garbage fh", req, n,
				     sizeof(rep.oh) + 4096, EBADF);
		}
	}
	still_serving(c, "garbage ids");
	expect_clean_exit(c);
	return 0;
}

/* Symlinks out of the share, planted by the host or the guest, are never
 * followed: not by OPEN, not by CREATE, not by LOOKUP under them. */
static int fuse_symlink_escape(struct ctx *c)
{
	struct fuse_entry_out e, l;
	struct fuse_open_out o;
	struct rawreply rep;
	char path[256], buf[64];
	uint8_t req[256];
	size_t n, len = 0;
	int r;

	r = vhf_fuse_lookup(c->fe, RQ, FUSE_ROOT_ID, "esc", &e);
	check(c, !r && S_ISLNK(e.attr.mode), "LOOKUP esc: a symlink (%s)",
	      strerror(-r));
	if (!r) {
		r = vhf_fuse_open(c->fe, RQ, e.nodeid, O_RDONLY, &o);
		if (!check(c, r < 0, "OPEN of the symlink refused (%s)",
			   strerror(-r))) {
			uint32_t got = 0;

			r = vhf_fuse_read(c->fe, RQ, e.nodeid, o.fh, 0, buf, 7,
					  &got);
			check(c, r || got != 7 || memcmp(buf, "outside", 7),
			      "READ through it does not reach outside.txt");
		}
	}
	r = vhf_fuse_create(c->fe, RQ, FUSE_ROOT_ID, "esc",
			    O_RDWR | O_CREAT | O_TRUNC, S_IFREG | 0644, &e, &o);
	check(c, r < 0, "CREATE O_TRUNC over the symlink refused (%s)",
	      strerror(-r));
	r = vhf_fuse_lookup(c->fe, RQ, FUSE_ROOT_ID, "updir", &e);
	check(c, !r, "LOOKUP updir (%s)", strerror(-r));
	if (!r) {
		r = vhf_fuse_lookup(c->fe, RQ, e.nodeid, "outside.txt", &l);
		check(c, r < 0, "LOOKUP outside.txt under updir refused (%s)",
		      strerror(-r));
	}
	n = build_req(c, req, sizeof(req), FUSE_SYMLINK, FUSE_ROOT_ID, 0,
		      "gesc\0../outside.txt", 20);
	r = raw_fuse(c, RQ, req, n, 4096, &rep);
	if (check(c, !r && rep.used >= sizeof(rep.oh),
		  "SYMLINK gesc -> ../outside.txt answered") &&
	    !rep.oh.error) {
		memcpy(&e, rep.body, sizeof(e));
		r = vhf_fuse_open(c->fe, RQ, e.nodeid, O_RDWR, &o);
		check(c, r < 0, "OPEN of the guest's symlink refused (%s)",
		      strerror(-r));
	}
	snprintf(path, sizeof(path), "%s/outside.txt", c->dir);
	check(c,
	      !tu_read_file(path, buf, sizeof(buf), &len) && len == 7 &&
		      !memcmp(buf, "outside", 7),
	      "outside.txt untouched");
	still_serving(c, "symlinks out of the share");
	expect_clean_exit(c);
	return 0;
}

/* FIFOs (the guest's or the host's) never block the queue on OPEN. */
static int fuse_fifo(struct ctx *c)
{
	struct {
		struct fuse_mknod_in m;
		char name[8];
	} a = { .m = { .mode = S_IFIFO | 0666 }, .name = "gfifo" };
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct rawreply rep;
	uint8_t req[256];
	size_t n;
	int r;

	r = vhf_fuse_lookup(c->fe, RQ, FUSE_ROOT_ID, "hfifo", &e);
	check(c, !r && S_ISFIFO(e.attr.mode), "LOOKUP the host's FIFO (%s)",
	      strerror(-r));
	if (!r) {
		r = vhf_fuse_open(c->fe, RQ, e.nodeid, O_RDONLY, &o);
		check(c, r != -ETIMEDOUT,
		      "OPEN of the host's FIFO answered (%s)", strerror(-r));
		if (r == -ETIMEDOUT)
			return 0; /* the queue is stuck: nothing more to see */
	}
	n = build_req(c, req, sizeof(req), FUSE_MKNOD, FUSE_ROOT_ID, 0, &a,
		      sizeof(a.m) + 6);
	r = raw_fuse(c, RQ, req, n, 4096, &rep);
	if (check(c, !r && rep.used >= sizeof(rep.oh),
		  "MKNOD of a FIFO answered (%s)", strerror(-r)) &&
	    !rep.oh.error) {
		memcpy(&e, rep.body, sizeof(e));
		r = vhf_fuse_open(c->fe, RQ, e.nodeid, O_RDONLY, &o);
		check(c, r != -ETIMEDOUT,
		      "OPEN of the guest's FIFO answered (%s)", strerror(-r));
		if (r == -ETIMEDOUT)
			return 0;
		r = vhf_fuse_open(c->fe, RQ, e.nodeid, O_WRONLY, &o);
		check(c, r != -ETIMEDOUT,
		      "OPEN O_WRONLY of the guest's FIFO answered (%s)",
		      strerror(-r));
		if (r == -ETIMEDOUT)
			return 0;
	}
	still_serving(c, "opening FIFOs");
	expect_clean_exit(c);
	return 0;
}

/* FORGET of more lookups than were given, of a stale node, of the root. */
static int fuse_over_forget(struct ctx *c)
{
	struct fuse_entry_out e, e2;
	struct fuse_attr_out a;
	int r;

	r = vhf_fuse_lookup(c->fe, RQ, FUSE_ROOT_ID, "file.txt", &e);
	if (!check(c, !r, "LOOKUP file.txt (%s)", strerror(-r)))
		return 0;
	check(c, !vhf_fuse_forget(c->fe, e.nodeid, 1000),
	      "FORGET 1000 lookups of a node looked up once");
	check(c, !vhf_fuse_forget(c->fe, e.nodeid, 1),
	      "FORGET of the forgotten node");
	check(c, !vhf_fuse_forget(c->fe, FUSE_ROOT_ID, UINT64_MAX),
	      "FORGET 2^64 - 1 lookups of the root");
	check(c, !vhf_fuse_forget(c->fe, 0xdeadbeef12345ull, 1),
	      "FORGET of a nodeid never given");
	r = vhf_fuse_getattr(c->fe, RQ, e.nodeid, &a);
	check(c, r < 0 && r >= -4095,
	      "GETATTR of the forgotten node: an error reply (%s)",
	      strerror(-r));
	r = vhf_fuse_lookup(c->fe, RQ, FUSE_ROOT_ID, "file.txt", &e2);
	check(c, !r && e2.attr.ino == e.attr.ino, "LOOKUP file.txt again (%s)",
	      strerror(-r));
	still_serving(c, "over-forgetting");
	expect_clean_exit(c);
	return 0;
}

/* Request extensions (total_extlen) that do not add up. */
static int fuse_bad_extensions(struct ctx *c)
{
	struct {
		struct fuse_in_header h;
		struct fuse_getattr_in ga;
		struct fuse_ext_header ext;
		uint8_t more[8];
	} req;
	struct {
		uint16_t extlen;
		uint32_t size;
		const char *what;
	} t[] = {
		{ 1, 0, "extension of size 0" },
		{ 1, 7, "extension of size 7" },
		{ 1, 16, "extension of 16 bytes in 8" },
		{ 100, 8, "total_extlen 800 bytes in a 24-byte body" },
		{ UINT16_MAX, 8, "total_extlen 2^16 - 1" },
	};
	unsigned i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = sizeof(req.h) + sizeof(req.ga) + 8;

		memset(&req, 0, sizeof(req));
		vhf_fuse_in_header(c->fe, &req.h, FUSE_GETATTR, FUSE_ROOT_ID,
				   (uint32_t)len);
		req.h.total_extlen = t[i].extlen;
		req.ext.size = t[i].size;
		req.ext.type = 31; /* FUSE_EXT_GROUPS */
		expect_errno(c, t[i].what, &req, len, 4096, EINVAL);
	}
	still_serving(c, "bad extensions");
	expect_clean_exit(c);
	return 0;
}

/* Not hostile, only awkward: a GETATTR in 1-byte descriptors, header,
 * argument and reply buffer alike, must be served like any other. */
static int fuse_fragmented(struct ctx *c)
{
	const size_t out =
		sizeof(struct fuse_out_header) + sizeof(struct fuse_attr_out);
	struct vhf_seg segs[256];
	struct fuse_out_header oh;
	struct fuse_attr_out a;
	struct vhf_buf b, o;
	uint32_t inlen, used = 0, i, n = 0;
	void *cookie = NULL;
	int r;

	if (vhf_alloc(c->fe, 4096, &b) || vhf_alloc(c->fe, 4096, &o))
		return -ENOMEM;
	inlen = lay_getattr(c, &b);
	for (i = 0; i < inlen; i++)
		segs[n++] = (struct vhf_seg){ b.gpa + i, 1, false };
	for (i = 0; i < out; i++)
		segs[n++] = (struct vhf_seg){ o.gpa + i, 1, true };
	r = vhf_submit(c->fe, RQ, segs, n, false, &oh);
	if (!r)
		r = vhf_wait(c->fe, RQ, 0, &used, &cookie);
	check(c, !r && cookie == &oh, "%u one-byte descriptors answered (%s)",
	      n, strerror(-r));
	memcpy(&oh, o.hva, sizeof(oh));
	memcpy(&a, (uint8_t *)o.hva + sizeof(oh), sizeof(a));
	check(c,
	      used == out && oh.len == out && !oh.error && S_ISDIR(a.attr.mode),
	      "GETATTR reply right (used %u, error %d)", used, oh.error);
	still_serving(c, "a fragmented request");
	expect_clean_exit(c);
	return 0;
}

/* ---- vhost-user messages ---- */

struct fdsnap {
	int fds;
	int maps;
};

static void snap(struct ctx *c, struct fdsnap *s)
{
	pid_t pid = tu_serving_pid(c->pid);

	s->fds = tu_count_fds(pid);
	s->maps = count_maps(pid, "hostile-mem");
}

static void expect_same(struct ctx *c, const struct fdsnap *before,
			const char *what)
{
	struct fdsnap now;

	snap(c, &now);
	check(c, before->fds > 0 && now.fds == before->fds,
	      "%s: daemon holds %d fds as before (%d)", what, now.fds,
	      before->fds);
	check(c, now.maps == 0 && before->maps == 0,
	      "%s: no mapping of the refused memfd left (%d)", what, now.maps);
}

/* Send @req with @fds (ours to close) and NEED_REPLY; the daemon must
 * refuse it and close the fds it received. */
static void expect_refused_fds(struct ctx *c, const char *what, uint32_t req,
			       const void *payload, uint32_t len,
			       const int *fds, unsigned nfds)
{
	struct fdsnap before;
	int r;

	snap(c, &before);
	r = vhf_msg_ack(c->fe, req, payload, len, fds, nfds);
	check(c, r == -EREMOTEIO, "%s: refused with a REPLY_ACK error (%s)",
	      what, strerror(-r));
	expect_same(c, &before, what);
}

/* The same with @nfds fresh eventfds. */
static void expect_refused(struct ctx *c, const char *what, uint32_t req,
			   const void *payload, uint32_t len, unsigned nfds)
{
	int fds[VHF_MAX_FDS] = { -1 };
	unsigned i;

	for (i = 0; i < nfds; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	expect_refused_fds(c, what, req, payload, len, fds, nfds);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

static int memfd_of(size_t size)
{
	int fd = memfd_create("hostile-mem", MFD_CLOEXEC);

	if (fd >= 0 && ftruncate(fd, (off_t)size)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* SET_MEM_TABLE with @n regions on one memfd of @fd_size bytes. */
static void mem_table_refused(struct ctx *c, const char *what,
			      const struct vhf_mem_region *regs, unsigned n,
			      size_t fd_size, unsigned nfds)
{
	struct vhf_mem_table mt = { .nregions = n };
	int fds[VHF_MAX_FDS];
	struct fdsnap before;
	int mfd = memfd_of(fd_size);
	unsigned i;
	int r;

	memcpy(mt.regions, regs, n * sizeof(*regs));
	for (i = 0; i < nfds; i++)
		fds[i] = mfd;
	snap(c, &before);
	r = vhf_msg_ack(c->fe, VHF_SET_MEM_TABLE, &mt,
			8 + n * sizeof(struct vhf_mem_region), fds, nfds);
	check(c, r == -EREMOTEIO, "%s: refused with a REPLY_ACK error (%s)",
	      what, strerror(-r));
	close(mfd);
	expect_same(c, &before, what);
}

#define MIB (1ull << 20)
#define FAR_GPA 0x300000000ull
#define FAR_UADDR 0x500000000000ull

static int vu_mem_exceeds_fd(struct ctx *c)
{
	struct vhf_mem_region r = { FAR_GPA, 2 * MIB, FAR_UADDR, 0 };

	mem_table_refused(c, "region of 2 MiB on a 1 MiB memfd", &r, 1, MIB, 1);
	r = (struct vhf_mem_region){ FAR_GPA, MIB, FAR_UADDR, MIB };
	mem_table_refused(c, "region at offset 1 MiB of a 1 MiB memfd", &r, 1,
			  MIB, 1);
	check(c, log_has(c, "refused"), "log says why it was refused");
	still_serving(c, "refused memory tables");
	expect_clean_exit(c);
	return 0;
}

static int vu_mem_overflow(struct ctx *c)
{
	struct vhf_mem_region r;

	r = (struct vhf_mem_region){ UINT64_MAX - 0xfff, 0x2000, FAR_UADDR, 0 };
	mem_table_refused(c, "guest address + size wraps", &r, 1, MIB, 1);
	r = (struct vhf_mem_region){ FAR_GPA, 0x2000, UINT64_MAX - 0xfff, 0 };
	mem_table_refused(c, "user address + size wraps", &r, 1, MIB, 1);
	r = (struct vhf_mem_region){ FAR_GPA, 0x2000, FAR_UADDR,
				     UINT64_MAX - 0xfff };
	mem_table_refused(c, "mmap offset + size wraps", &r, 1, MIB, 1);
	r = (struct vhf_mem_region){ FAR_GPA, UINT64_MAX, FAR_UADDR, 0 };
	mem_table_refused(c, "size 2^64 - 1", &r, 1, MIB, 1);
	r = (struct vhf_mem_region){ FAR_GPA, 0, FAR_UADDR, 0 };
	mem_table_refused(c, "size 0", &r, 1, MIB, 1);
	check(c, log_has(c, "refused"), "log says why it was refused");
	still_serving(c, "overflowing regions");
	expect_clean_exit(c);
	return 0;
}

static int vu_mem_overlap(struct ctx *c)
{
	struct vhf_mem_region r[2] = {
		{ FAR_GPA, 2 * MIB, FAR_UADDR, 0 },
		{ FAR_GPA + MIB, 2 * MIB, FAR_UADDR + 16 * MIB, 2 * MIB },
	};

	mem_table_refused(c, "regions overlapping in guest addresses", r, 2,
			  4 * MIB, 2);
	r[1].guest_addr = FAR_GPA + 16 * MIB;
	r[1].user_addr = FAR_UADDR + MIB;
	mem_table_refused(c, "regions overlapping in user addresses", r, 2,
			  4 * MIB, 2);
	check(c, log_has(c, "overlap"), "log says the regions overlap");
	still_serving(c, "overlapping regions");
	expect_clean_exit(c);
	return 0;
}

static int vu_mem_fd_count(struct ctx *c)
{
	struct vhf_mem_region r[2] = {
		{ FAR_GPA, MIB, FAR_UADDR, 0 },
		{ FAR_GPA + 16 * MIB, MIB, FAR_UADDR + 16 * MIB, MIB },
	};
	struct vhf_mem_region many[VHF_MAX_REGIONS];
	unsigned i;

	mem_table_refused(c, "one region with three fds", r, 1, 2 * MIB, 3);
	mem_table_refused(c, "two regions with one fd", r, 2, 2 * MIB, 1);
	for (i = 0; i < VHF_MAX_REGIONS; i++)
		many[i] =
			(struct vhf_mem_region){ FAR_GPA + i * 16 * MIB, MIB,
						 FAR_UADDR + i * 16 * MIB, 0 };
	mem_table_refused(c, "eight regions with two fds", many, 8, MIB, 2);
	still_serving(c, "memory tables with the wrong fd count");
	expect_clean_exit(c);
	return 0;
}

static int vu_extra_fds(struct ctx *c)
{
	struct vhf_vring_state st = { .index = RQ,
				      .num = vhf_info(c->fe)->queue_size };
	uint64_t idx = RQ;

	expect_refused(c, "SET_VRING_NUM with three fds", VHF_SET_VRING_NUM,
		       &st, sizeof(st), 3);
	expect_refused(c, "SET_VRING_CALL with two fds", VHF_SET_VRING_CALL,
		       &idx, sizeof(idx), 2);
	idx = RQ | VHF_VRING_NOFD;
	expect_refused(c, "SET_VRING_KICK with the no-fd flag and an fd",
		       VHF_SET_VRING_KICK, &idx, sizeof(idx), 1);
	expect_refused(c, "SET_OWNER with eight fds", VHF_SET_OWNER, NULL, 0,
		       8);
	check(c, log_has(c, "refused"), "log says why it was refused");
	still_serving(c, "messages with extra fds");
	expect_clean_exit(c);
	return 0;
}

/* Read one reply of @len payload bytes to @req from the socket. */
static int recv_reply(struct ctx *c, uint32_t req, void *payload, size_t len)
{
	uint8_t buf[sizeof(struct vhf_msg_hdr) + 64];
	size_t want = sizeof(struct vhf_msg_hdr) + len, got = 0;
	struct vhf_msg_hdr h;

	while (got < want) {
		struct pollfd p = { .fd = vhf_sock_fd(c->fe),
				    .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) != 1)
			return -ETIMEDOUT;
		n = recv(p.fd, buf + got, want - got, 0);
		if (n <= 0)
			return n ? -errno : -EPIPE;
		got += (size_t)n;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.request != req || h.size != len || !(h.flags & VHF_FLAG_REPLY))
		return -EPROTO;
	memcpy(payload, buf + sizeof(h), len);
	return 0;
}

/* More fds than any message may carry: the kernel truncates what the
 * daemon's buffer cannot hold; the message is refused and nothing kept. */
static int vu_too_many_fds(struct ctx *c)
{
	enum { NFDS = 24 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * NFDS)];
		struct cmsghdr align;
	} cbuf;
	struct vhf_msg_hdr h = { .request = VHF_SET_OWNER,
				 .flags =
					 VHF_FLAG_VERSION | VHF_FLAG_NEED_REPLY,
				 .size = 0 };
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	struct fdsnap before;
	int fds[NFDS], i, r;
	uint64_t ack = 0;

	for (i = 0; i < NFDS; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	memset(&cbuf, 0, sizeof(cbuf));
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * NFDS);
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	snap(c, &before);
	check(c, sendmsg(vhf_sock_fd(c->fe), &mh, MSG_NOSIGNAL) == sizeof(h),
	      "sent SET_OWNER with %d fds", NFDS);
	r = recv_reply(c, VHF_SET_OWNER, &ack, sizeof(ack));
	check(c, !r && ack != 0,
	      "refused with a REPLY_ACK error (%s, ack %llu)", strerror(-r),
	      (unsigned long long)ack);
	for (i = 0; i < NFDS; i++)
		close(fds[i]);
	expect_same(c, &before, "24 fds");
	check(c, log_has(c, "refused"), "log says why it was refused");
	still_serving(c, "a message with 24 fds");
	expect_clean_exit(c);
	return 0;
}

static int vu_unknown_request(struct ctx *c)
{
	uint64_t v = 0;

	expect_refused(c, "request 999", 999, &v, sizeof(v), 0);
	expect_refused(c, "request 999 with an fd", 999, &v, sizeof(v), 1);
	expect_refused(c, "request 0", 0, NULL, 0, 0);
	expect_refused(c, "request 0x7fffffff with an fd", 0x7fffffffu, NULL, 0,
		       1);
	expect_refused(c, "SET_BACKEND_REQ_FD (unsupported) with an fd",
		       VHF_SET_BACKEND_REQ_FD, NULL, 0, 1);
	check(c, log_has(c, "refused"), "log says why it was refused");
	still_serving(c, "unknown requests");
	expect_clean_exit(c);
	return 0;
}

static int vu_bad_sizes(struct ctx *c)
{
	uint8_t big[64] = { 0 };
	struct vhf_vring_addr va = { .index = RQ };

	expect_refused(c, "SET_VRING_NUM with 4 bytes", VHF_SET_VRING_NUM, big,
		       4, 0);
	expect_refused(c, "SET_FEATURES with 16 bytes", VHF_SET_FEATURES, big,
		       16, 0);
	expect_refused(c, "SET_VRING_ADDR with 8 bytes", VHF_SET_VRING_ADDR,
		       &va, 8, 0);
	expect_refused(c, "SET_MEM_TABLE with 4 bytes", VHF_SET_MEM_TABLE, big,
		       4, 0);
	expect_refused(c, "SET_OWNER with 8 bytes", VHF_SET_OWNER, big, 8, 0);
	check(c, log_has(c, "refused"), "log says why it was refused");
	still_serving(c, "messages of the wrong size");
	expect_clean_exit(c);
	return 0;
}

static int vu_vring_num(struct ctx *c)
{
	static const uint32_t bad[] = { 100, 0, 65536, 3, UINT32_MAX };
	struct vhf_vring_state st = { .index = RQ };
	char what[64];
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st.num = bad[i];
		snprintf(what, sizeof(what), "SET_VRING_NUM %u", bad[i]);
		expect_refused(c, what, VHF_SET_VRING_NUM, &st, sizeof(st), 0);
	}
	st = (struct vhf_vring_state){ .index = 200, .num = 256 };
	expect_refused(c, "SET_VRING_NUM of queue 200", VHF_SET_VRING_NUM, &st,
		       sizeof(st), 0);
	check(c, log_has(c, "refused"), "log says why it was refused");
	still_serving(c, "bad ring sizes");
	expect_clean_exit(c);
	return 0;
}

static int vu_vring_addr(struct ctx *c)
{
	struct vring_avail *a = vhf_avail(c->fe, RQ);
	struct vring_used *u = vhf_used(c->fe, RQ);
	struct vhf_vring_addr ok = {
		.index = RQ,
		.desc = (uint64_t)(uintptr_t)vhf_desc(c->fe, RQ),
		.avail = (uint64_t)(uintptr_t)a,
		.used = (uint64_t)(uintptr_t)u,
	};
	struct vhf_vring_addr va;
	uint64_t idx = 200;

	va = ok;
	va.desc = 0x1000;
	expect_refused(c, "descriptor table outside memory", VHF_SET_VRING_ADDR,
		       &va, sizeof(va), 0);
	va = ok;
	va.used = UINT64_MAX - 8;
	expect_refused(c, "used ring wrapping 2^64", VHF_SET_VRING_ADDR, &va,
		       sizeof(va), 0);
	va = ok;
	/* 2 KiB before the end of region 1: the table runs off it */
	va.desc = (uint64_t)(uintptr_t)vhf_gpa_to_hva(
		c->fe, 0x100000000ull + (32ull << 20) - 2048, 2048);
	expect_refused(c, "descriptor table running off a region",
		       VHF_SET_VRING_ADDR, &va, sizeof(va), 0);
	va = ok;
	va.index = 200;
	expect_refused(c, "addresses of queue 200", VHF_SET_VRING_ADDR, &va,
		       sizeof(va), 0);
	expect_refused(c, "SET_VRING_KICK of queue 200 with an fd",
		       VHF_SET_VRING_KICK, &idx, sizeof(idx), 1);
	check(c, log_has(c, "refused"), "log says why it was refused");
	still_serving(c, "bad ring addresses");
	expect_clean_exit(c);
	return 0;
}

static int vu_bad_version(struct ctx *c)
{
	struct vhf_msg_hdr h = { .request = VHF_GET_FEATURES,
				 .flags = 0x2,
				 .size = 0 };
	int fd = eventfd(0, EFD_CLOEXEC);

	check(c, !vhf_send_raw(c->fe, &h, sizeof(h), &fd, 1),
	      "sent a header with version 2 and an fd");
	close(fd);
	expect_disconnect(c, "version");
	return 0;
}

static int vu_huge_size(struct ctx *c)
{
	struct vhf_msg_hdr h = { .request = VHF_SET_FEATURES,
				 .flags = VHF_FLAG_VERSION,
				 .size = 0x7fffffff };

	check(c, !vhf_send_raw(c->fe, &h, sizeof(h), NULL, 0),
	      "sent a header announcing 2 GiB of payload");
	expect_disconnect(c, "payload");
	return 0;
}

static int vu_truncated(struct ctx *c)
{
	struct vhf_msg_hdr h = { .request = VHF_SET_FEATURES,
				 .flags = VHF_FLAG_VERSION,
				 .size = 8 };

	/* the header and half the payload, then the frontend is gone */
	check(c,
	      !vhf_send_raw(c->fe, &h, sizeof(h) + 0, NULL, 0) &&
		      !vhf_send_raw(c->fe, "abcd", 4, NULL, 0),
	      "sent a header and half its payload");
	vhf_disconnect(c->fe);
	c->fe = NULL;
	expect_exit_nosignal(c);
	return 0;
}

/* The reply goes to a socket nobody reads any more (no SIGPIPE). */
static int vu_reply_to_gone(struct ctx *c)
{
	struct vhf_msg_hdr h = { .request = VHF_GET_FEATURES,
				 .flags = VHF_FLAG_VERSION,
				 .size = 0 };
	int i;

	for (i = 0; i < 64; i++)
		vhf_send_raw(c->fe, &h, sizeof(h), NULL, 0);
	vhf_disconnect(c->fe);
	c->fe = NULL;
	expect_exit_nosignal(c);
	return 0;
}

/* The region holding the rings and a waiting request's buffers is removed
 * (REM_MEM_REG) and added back: the daemon must not touch unmapped memory,
 * and the queue must serve again once the region is back. */
static int vu_rem_region_inflight(struct ctx *c)
{
	struct {
		uint64_t padding;
		struct vhf_mem_region r;
	} reg = { 0 };
	const struct vhf_info *info = vhf_info(c->fe);
	struct fuse_lk_in lk = { 0 };
	struct iovec a = { .iov_base = &lk, .iov_len = sizeof(lk) };
	size_t sz = sizeof(struct fuse_out_header), got = 0;
	struct fuse_out_header oh = { 0 };
	struct vhf_buf b, o;
	struct vhf_seg segs[3];
	struct fuse_in_header h;
	uint64_t nodeid, fh, pf;
	uint32_t used = 0;
	void *cookie = NULL;
	int fd = vhf_memfd(c->fe), r;

	pf = info->acked_protocol | (1ull << VHF_PF_CONFIGURE_MEM_SLOTS);
	if (!(info->protocol_features & (1ull << VHF_PF_CONFIGURE_MEM_SLOTS)))
		return -EOPNOTSUPP;
	r = vhf_msg_ack(c->fe, VHF_SET_PROTOCOL_FEATURES, &pf, sizeof(pf), NULL,
			0);
	check(c, !r, "CONFIGURE_MEM_SLOTS acked (%s)", strerror(-r));
	if (vhf_region(c->fe, 0, &reg.r) ||
	    lookup_open(c, "file.txt", O_RDWR, &nodeid, &fh))
		return 0;
	lk.fh = fh;
	lk.owner = 0xa;
	lk.lk = (struct fuse_file_lock){ .end = INT64_MAX,
					 .type = F_WRLCK,
					 .pid = 1 };
	r = vhf_fuse(c->fe, RQ, FUSE_SETLK, nodeid, &a, 1, &sz, 1, &oh,
		     sizeof(oh), &got);
	if (!check(c, !r && got == sizeof(oh) && !oh.error,
		   "SETLK by owner A (%s, error %d)", strerror(-r), oh.error))
		return 0;
	lk.owner = 0xb;
	if (vhf_alloc(c->fe, 4096, &b) || vhf_alloc(c->fe, 4096, &o))
		return -ENOMEM;
	vhf_fuse_in_header(c->fe, &h, FUSE_SETLKW, nodeid,
			   sizeof(h) + sizeof(lk));
	memcpy(b.hva, &h, sizeof(h));
	memcpy((uint8_t *)b.hva + sizeof(h), &lk, sizeof(lk));
	segs[0] = (struct vhf_seg){ b.gpa, sizeof(h), false };
	segs[1] = (struct vhf_seg){ b.gpa + sizeof(h), sizeof(lk), false };
	segs[2] = (struct vhf_seg){ o.gpa, 4096, true };
	check(c, !vhf_submit(c->fe, RQ, segs, 3, false, &h),
	      "SETLKW by owner B submitted");
	still_serving(c, "the SETLKW");

	r = vhf_msg_ack(c->fe, VHF_REM_MEM_REG, &reg, sizeof(reg), NULL, 0);
	check(c, !r || r == -EREMOTEIO,
	      "REM_MEM_REG of the rings' region answered (%s)", strerror(-r));
	if (!r) {
		r = vhf_msg_ack(c->fe, VHF_ADD_MEM_REG, &reg, sizeof(reg), &fd,
				1);
		check(c, !r, "ADD_MEM_REG puts it back (%s)", strerror(-r));
	}
	/* Whatever became of the SETLKW, it ends once A unlocks. */
	lk.owner = 0xa;
	lk.lk.type = F_UNLCK;
	r = vhf_fuse(c->fe, RQ, FUSE_SETLK, nodeid, &a, 1, &sz, 1, &oh,
		     sizeof(oh), &got);
	if (r == -EPROTO) /* the SETLKW's element came first */
		r = 0;
	check(c, !r, "owner A unlocks on the queue again (%s)", strerror(-r));
	while (vhf_inflight(c->fe, RQ) &&
	       !vhf_wait(c->fe, RQ, 0, &used, &cookie))
		;
	check(c, !vhf_inflight(c->fe, RQ), "the SETLKW completed");
	still_serving(c, "removing and adding back the rings' region");
	expect_clean_exit(c);
	return 0;
}

/* Region fds that cannot be guest memory: not a regular file, or a file
 * that cannot be mapped shared and writable. Each is refused, closed,
 * and leaves no mapping behind; the old table keeps serving. */
static int vu_mem_not_file(struct ctx *c)
{
	struct vhf_mem_table mt = { .nregions = 1 };
	const uint32_t len = 8 + sizeof(struct vhf_mem_region);
	char path[64];
	int fd, mfd, p[2];

	mt.regions[0] = (struct vhf_mem_region){ FAR_GPA, MIB, FAR_UADDR, 0 };
	fd = eventfd(0, EFD_CLOEXEC);
	expect_refused_fds(c, "region on an eventfd", VHF_SET_MEM_TABLE, &mt,
			   len, &fd, 1);
	close(fd);
	if (!check(c, !pipe2(p, O_CLOEXEC), "pipe"))
		return -EIO;
	expect_refused_fds(c, "region on a pipe", VHF_SET_MEM_TABLE, &mt, len,
			   p, 1);
	close(p[0]);
	close(p[1]);
	fd = open(c->share, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	expect_refused_fds(c, "region on a directory", VHF_SET_MEM_TABLE, &mt,
			   len, &fd, 1);
	close(fd);
	check(c, log_has(c, "not a memory file"),
	      "log says the fd is not a memory file");

	/* A memfd opened read-only: mmap(MAP_SHARED, PROT_WRITE) fails. */
	mfd = memfd_of(MIB);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	expect_refused_fds(c, "region on a read-only memfd", VHF_SET_MEM_TABLE,
			   &mt, len, &fd, 1);
	close(fd);
	close(mfd);
	/* A memfd sealed against writes: the same. */
	mfd = memfd_create("hostile-mem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd >= 0 && !ftruncate(mfd, MIB) &&
	    check(c, !fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK),
		  "seal a memfd against writes"))
		expect_refused_fds(c, "region on a write-sealed memfd",
				   VHF_SET_MEM_TABLE, &mt, len, &mfd, 1);
	if (mfd >= 0)
		close(mfd);
	check(c, log_has(c, "mmap of region"), "log names the failed mmap");
	still_serving(c, "unmappable region fds");
	expect_clean_exit(c);
	return 0;
}

/* The same memory table sent again and again (QEMU does so on memory
 * hot-plug): each one maps the regions anew and retires the old
 * mappings; neither fds nor mappings pile up. */
static int vu_mem_replace(struct ctx *c)
{
	struct vhf_mem_table mt = { 0 };
	int fds[VHF_MAX_REGIONS], mfd = vhf_memfd(c->fe);
	int fds0, maps0, fds1, maps1, r = 0;
	unsigned i, n = 0;
	pid_t pid;

	while (n < VHF_MAX_REGIONS && !vhf_region(c->fe, n, &mt.regions[n]))
		fds[n++] = mfd;
	mt.nregions = n;
	pid = tu_serving_pid(c->pid);
	fds0 = tu_count_fds(pid);
	maps0 = count_maps(pid, "vhf-guest");
	for (i = 0; i < 32 && !r; i++)
		r = vhf_msg_ack(c->fe, VHF_SET_MEM_TABLE, &mt,
				8 + n * sizeof(struct vhf_mem_region), fds, n);
	check(c, !r, "the %u-region memory table accepted %u times (%s)", n, i,
	      strerror(-r));
	fds1 = tu_count_fds(pid);
	maps1 = count_maps(pid, "vhf-guest");
	check(c, fds0 > 0 && fds1 == fds0, "daemon holds %d fds as before (%d)",
	      fds1, fds0);
	check(c, maps0 > 0 && maps1 == maps0,
	      "guest memory mapped in %d places as before (%d)", maps1, maps0);
	still_serving(c, "32 new memory tables");
	expect_clean_exit(c);
	return 0;
}

/* Acks CONFIGURE_MEM_SLOTS on top of what vhf_connect() agreed. */
static int enable_mem_slots(struct ctx *c)
{
	const struct vhf_info *info = vhf_info(c->fe);
	uint64_t pf =
		info->acked_protocol | (1ull << VHF_PF_CONFIGURE_MEM_SLOTS);
	int r;

	if (!(info->protocol_features & (1ull << VHF_PF_CONFIGURE_MEM_SLOTS)))
		return -EOPNOTSUPP;
	r = vhf_msg_ack(c->fe, VHF_SET_PROTOCOL_FEATURES, &pf, sizeof(pf), NULL,
			0);
	check(c, !r, "CONFIGURE_MEM_SLOTS acked (%s)", strerror(-r));
	return r;
}

struct mem_reg_msg {
	uint64_t padding;
	struct vhf_mem_region r;
};

/* ADD_MEM_REG and REM_MEM_REG that must be refused, each with its fds
 * closed; then regions added and removed again leave neither fds nor
 * mappings behind. */
static int vu_add_rem_region(struct ctx *c)
{
	struct mem_reg_msg m = { 0 };
	struct vhf_mem_region r0;
	struct fdsnap before;
	int mfd, efd, two[2], r;
	unsigned i;

	r = enable_mem_slots(c);
	if (r)
		return r;
	if (vhf_region(c->fe, 0, &r0))
		return -EINVAL;
	mfd = memfd_of(2 * MIB);
	efd = eventfd(0, EFD_CLOEXEC);
	two[0] = two[1] = mfd;

	m.r = (struct vhf_mem_region){ FAR_GPA, 4 * MIB, FAR_UADDR, 0 };
	expect_refused_fds(c, "ADD_MEM_REG of 4 MiB on a 2 MiB memfd",
			   VHF_ADD_MEM_REG, &m, sizeof(m), &mfd, 1);
	m.r = (struct vhf_mem_region){ FAR_GPA, MIB, FAR_UADDR, 2 * MIB };
	expect_refused_fds(c, "ADD_MEM_REG at offset 2 MiB of a 2 MiB memfd",
			   VHF_ADD_MEM_REG, &m, sizeof(m), &mfd, 1);
	m.r = (struct vhf_mem_region){ r0.guest_addr + MIB, MIB, FAR_UADDR, 0 };
	expect_refused_fds(c,
			   "ADD_MEM_REG overlapping region 0's guest addresses",
			   VHF_ADD_MEM_REG, &m, sizeof(m), &mfd, 1);
	m.r = (struct vhf_mem_region){ FAR_GPA, MIB, r0.user_addr + MIB, 0 };
	expect_refused_fds(c,
			   "ADD_MEM_REG overlapping region 0's user addresses",
			   VHF_ADD_MEM_REG, &m, sizeof(m), &mfd, 1);
	m.r = (struct vhf_mem_region){ FAR_GPA, 0, FAR_UADDR, 0 };
	expect_refused_fds(c, "ADD_MEM_REG of size 0", VHF_ADD_MEM_REG, &m,
			   sizeof(m), &mfd, 1);
	m.r = (struct vhf_mem_region){ UINT64_MAX - 0xfff, 0x2000, FAR_UADDR,
				       0 };
	expect_refused_fds(c, "ADD_MEM_REG whose guest addresses wrap",
			   VHF_ADD_MEM_REG, &m, sizeof(m), &mfd, 1);
	m.r = (struct vhf_mem_region){ FAR_GPA, MIB, FAR_UADDR, 0 };
	expect_refused_fds(c, "ADD_MEM_REG without an fd", VHF_ADD_MEM_REG, &m,
			   sizeof(m), NULL, 0);
	expect_refused_fds(c, "ADD_MEM_REG with two fds", VHF_ADD_MEM_REG, &m,
			   sizeof(m), two, 2);
	expect_refused_fds(c, "ADD_MEM_REG on an eventfd", VHF_ADD_MEM_REG, &m,
			   sizeof(m), &efd, 1);
	expect_refused_fds(c, "ADD_MEM_REG with a 16-byte payload",
			   VHF_ADD_MEM_REG, &m, 16, &mfd, 1);
	expect_refused_fds(c,
			   "REM_MEM_REG of a region never added (with an fd)",
			   VHF_REM_MEM_REG, &m, sizeof(m), &mfd, 1);
	expect_refused_fds(c, "REM_MEM_REG with two fds", VHF_REM_MEM_REG, &m,
			   sizeof(m), two, 2);
	check(c, log_has(c, "refused"), "log says why it was refused");
	still_serving(c, "refused ADD_MEM_REG and REM_MEM_REG");

	snap(c, &before);
	for (i = 0; i < 8; i++) {
		m.r = (struct vhf_mem_region){ FAR_GPA + i * 16 * MIB, MIB,
					       FAR_UADDR + i * 16 * MIB,
					       (i & 1) * MIB };
		r = vhf_msg_ack(c->fe, VHF_ADD_MEM_REG, &m, sizeof(m), &mfd, 1);
		if (!check(c, !r, "ADD_MEM_REG %u (%s)", i, strerror(-r)))
			break;
		check(c, count_maps(tu_serving_pid(c->pid), "hostile-mem") >= 1,
		      "region %u mapped", i);
		r = vhf_msg_ack(c->fe, VHF_REM_MEM_REG, &m, sizeof(m), NULL, 0);
		if (!check(c, !r, "REM_MEM_REG %u (%s)", i, strerror(-r)))
			break;
	}
	expect_same(c, &before, "8 regions added and removed");
	close(mfd);
	close(efd);
	still_serving(c, "regions added and removed");
	expect_clean_exit(c);
	return 0;
}

/* Every memory slot filled: the next ADD_MEM_REG is refused and its fd
 * closed; removing them all leaves nothing behind. */
static int vu_slots_full(struct ctx *c)
{
	struct mem_reg_msg m = { 0 };
	struct fdsnap before;
	uint64_t slots = 0;
	size_t got = 0;
	unsigned i, added = 0, have;
	int mfd, r;

	r = enable_mem_slots(c);
	if (r)
		return r;
	r = vhf_msg(c->fe, VHF_GET_MAX_MEM_SLOTS, NULL, 0, NULL, 0, &slots,
		    sizeof(slots), &got);
	if (!check(c, !r && got == 8 && slots >= 8 && slots <= 4096,
		   "GET_MAX_MEM_SLOTS: %llu (%s)", (unsigned long long)slots,
		   strerror(-r)))
		return 0;
	for (have = 0; have < VHF_MAX_REGIONS && !vhf_region(c->fe, have, &m.r);
	     have++)
		;
	/* Its own name: the refusal below counts "hostile-mem" mappings. */
	mfd = memfd_create("hostile-slots", MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, MIB)) {
		r = -errno;
		close(mfd);
		return r;
	}
	snap(c, &before);
	for (i = 0; i < slots - have; i++) {
		m.r = (struct vhf_mem_region){ FAR_GPA + i * 0x10000ull, 0x1000,
					       FAR_UADDR + i * 0x10000ull,
					       (i & 0xff) * 0x1000ull };
		r = vhf_msg_ack(c->fe, VHF_ADD_MEM_REG, &m, sizeof(m), &mfd, 1);
		if (r)
			break;
		added++;
	}
	check(c, added == slots - have, "%u regions added to fill %llu slots",
	      added, (unsigned long long)slots);
	m.r = (struct vhf_mem_region){ FAR_GPA + i * 0x10000ull, 0x1000,
				       FAR_UADDR + i * 0x10000ull, 0 };
	r = memfd_of(MIB);
	expect_refused_fds(c, "ADD_MEM_REG with every slot in use",
			   VHF_ADD_MEM_REG, &m, sizeof(m), &r, 1);
	close(r);
	check(c, log_has(c, "slots in use"), "log says every slot is in use");
	still_serving(c, "filling every slot");
	for (i = 0; i < added; i++) {
		m.r = (struct vhf_mem_region){ FAR_GPA + i * 0x10000ull, 0x1000,
					       FAR_UADDR + i * 0x10000ull,
					       (i & 0xff) * 0x1000ull };
		r = vhf_msg_ack(c->fe, VHF_REM_MEM_REG, &m, sizeof(m), NULL, 0);
		if (!check(c, !r, "REM_MEM_REG %u (%s)", i, strerror(-r)))
			break;
	}
	close(mfd);
	expect_same(c, &before, "every slot emptied again");
	r = count_maps(tu_serving_pid(c->pid), "hostile-slots");
	check(c, !r, "no mapping of the removed regions left (%d)", r);
	still_serving(c, "emptying every slot");
	expect_clean_exit(c);
	return 0;
}

/* ---- the frontend vanishes mid-request ---- */

static int disc_mid_request(struct ctx *c)
{
	struct vhf_buf b, o;
	struct vhf_seg segs[3];
	uint32_t n;

	if (vhf_alloc(c->fe, 4096, &b) || vhf_alloc(c->fe, 4096, &o))
		return -ENOMEM;
	n = lay_getattr(c, &b);
	segs[0] = (struct vhf_seg){ b.gpa, 40, false };
	segs[1] = (struct vhf_seg){ b.gpa + 40, n - 40, false };
	segs[2] = (struct vhf_seg){ o.gpa, 4096, true };
	check(c, !vhf_submit(c->fe, RQ, segs, 3, false, NULL),
	      "GETATTR submitted");
	vhf_disconnect(c->fe);
	c->fe = NULL;
	expect_exit_nosignal(c);
	return 0;
}

/* Many requests, among them WRITEs, in flight when the frontend goes. */
static int disc_many_inflight(struct ctx *c)
{
	uint64_t nodeid, fh;
	unsigned i;

	if (lookup_open(c, "file.txt", O_RDWR, &nodeid, &fh))
		return 0;
	for (i = 0; i < 32; i++) {
		struct vhf_buf b, o;
		struct vhf_seg segs[3];
		struct fuse_write_in w = { .fh = fh,
					   .offset = i * 64,
					   .size = 64 };
		struct fuse_in_header h;

		if (vhf_alloc(c->fe, 4096, &b) || vhf_alloc(c->fe, 4096, &o))
			return -ENOMEM;
		vhf_fuse_in_header(c->fe, &h, FUSE_WRITE, nodeid,
				   sizeof(h) + sizeof(w) + 64);
		memcpy(b.hva, &h, sizeof(h));
		memcpy((uint8_t *)b.hva + sizeof(h), &w, sizeof(w));
		segs[0] = (struct vhf_seg){ b.gpa, sizeof(h), false };
		segs[1] = (struct vhf_seg){ b.gpa + sizeof(h), sizeof(w) + 64,
					    false };
		segs[2] = (struct vhf_seg){ o.gpa, 4096, true };
		if (vhf_submit(c->fe, RQ, segs, 3, false, NULL))
			break;
	}
	check(c, i == 32, "32 WRITEs submitted");
	vhf_disconnect(c->fe);
	c->fe = NULL;
	expect_exit_nosignal(c);
	return 0;
}

/* A SETLKW blocked on a lock held by another owner when the frontend
 * goes: the daemon must not hang on it. */
static int disc_blocked_setlkw(struct ctx *c)
{
	struct fuse_lk_in lk = { 0 };
	struct iovec a = { .iov_base = &lk, .iov_len = sizeof(lk) };
	size_t sz = sizeof(struct fuse_out_header), got = 0;
	struct fuse_out_header oh = { 0 };
	struct vhf_buf b, o;
	struct vhf_seg segs[3];
	struct fuse_in_header h;
	uint64_t nodeid, fh;
	int r;

	if (lookup_open(c, "file.txt", O_RDWR, &nodeid, &fh))
		return 0;
	lk.fh = fh;
	lk.owner = 0xa;
	lk.lk = (struct fuse_file_lock){
		.start = 0, .end = INT64_MAX, .type = F_WRLCK, .pid = 1
	};
	r = vhf_fuse(c->fe, RQ, FUSE_SETLK, nodeid, &a, 1, &sz, 1, &oh,
		     sizeof(oh), &got);
	if (!check(c, !r && got == sizeof(oh) && !oh.error,
		   "SETLK by owner A (%s, error %d)", strerror(-r), oh.error))
		return 0;
	lk.owner = 0xb;
	lk.lk.pid = 2;
	if (vhf_alloc(c->fe, 4096, &b) || vhf_alloc(c->fe, 4096, &o))
		return -ENOMEM;
	vhf_fuse_in_header(c->fe, &h, FUSE_SETLKW, nodeid,
			   sizeof(h) + sizeof(lk));
	memcpy(b.hva, &h, sizeof(h));
	memcpy((uint8_t *)b.hva + sizeof(h), &lk, sizeof(lk));
	segs[0] = (struct vhf_seg){ b.gpa, sizeof(h), false };
	segs[1] = (struct vhf_seg){ b.gpa + sizeof(h), sizeof(lk), false };
	segs[2] = (struct vhf_seg){ o.gpa, 4096, true };
	check(c, !vhf_submit(c->fe, RQ, segs, 3, false, NULL),
	      "SETLKW by owner B submitted");
	/* It must be blocked, not answered: a GETATTR behind it is. */
	still_serving(c, "the SETLKW");
	check(c, vhf_inflight(c->fe, RQ) == 1, "SETLKW still waiting");
	vhf_disconnect(c->fe);
	c->fe = NULL;
	expect_exit_nosignal(c);
	return 0;
}

/* The frontend goes halfway through a message that carries fds. */
static int disc_mid_message_fds(struct ctx *c)
{
	struct {
		struct vhf_msg_hdr h;
		uint8_t part[16];
	} __attribute__((packed)) m = {
		.h = { .request = VHF_SET_MEM_TABLE,
		       .flags = VHF_FLAG_VERSION,
		       .size = 8 + sizeof(struct vhf_mem_region) },
		.part = { 1 },
	};
	int fds[2] = { memfd_of(MIB), eventfd(0, EFD_CLOEXEC) };

	check(c, !vhf_send_raw(c->fe, &m, sizeof(m), fds, 2),
	      "sent SET_MEM_TABLE's header, 16 of its 40 bytes and two fds");
	close(fds[0]);
	close(fds[1]);
	vhf_disconnect(c->fe);
	c->fe = NULL;
	expect_exit_nosignal(c);
	return 0;
}

/* READs and WRITEs of 512 KiB (served by the worker pool when the queue
 * is busy) in flight when the frontend goes. */
static int disc_large_io(struct ctx *c)
{
	enum { BIG = 512 * 1024, N = 8 };
	uint64_t nodeid, fh;
	unsigned i;

	if (lookup_open(c, "file.txt", O_RDWR, &nodeid, &fh))
		return 0;
	for (i = 0; i < N; i++) {
		struct fuse_write_in w = { .fh = fh,
					   .offset = (uint64_t)i * BIG,
					   .size = BIG };
		struct fuse_read_in rd = { .fh = fh,
					   .offset = (uint64_t)i * BIG,
					   .size = BIG };
		bool write = i & 1;
		struct vhf_buf b, o;
		struct vhf_seg segs[3];
		struct fuse_in_header h;
		size_t alen = write ? sizeof(w) + BIG : sizeof(rd);

		if (vhf_alloc(c->fe, sizeof(h) + alen, &b) ||
		    vhf_alloc(c->fe, sizeof(struct fuse_out_header) + BIG, &o))
			return -ENOMEM;
		vhf_fuse_in_header(c->fe, &h, write ? FUSE_WRITE : FUSE_READ,
				   nodeid, (uint32_t)(sizeof(h) + alen));
		memcpy(b.hva, &h, sizeof(h));
		if (write)
			memcpy((uint8_t *)b.hva + sizeof(h), &w, sizeof(w));
		else
			memcpy((uint8_t *)b.hva + sizeof(h), &rd, sizeof(rd));
		segs[0] = (struct vhf_seg){ b.gpa, sizeof(h), false };
		segs[1] = (struct vhf_seg){ b.gpa + sizeof(h), (uint32_t)alen,
					    false };
		segs[2] = (struct vhf_seg){
			o.gpa, (uint32_t)(sizeof(struct fuse_out_header) + BIG),
			true
		};
		if (vhf_submit(c->fe, RQ, segs, 3, false, NULL))
			break;
	}
	check(c, i == N, "%u READs and WRITEs of 512 KiB submitted", i);
	vhf_disconnect(c->fe);
	c->fe = NULL;
	expect_exit_nosignal(c);
	return 0;
}

/* ---- cases ---- */

enum { NO_INIT = 1, ERR_FD = 2 };

struct hcase {
	const char *name;
	int (*fn)(struct ctx *c);
	unsigned flags;
};

static const struct hcase cases[] = {
	{ "ring-loop", ring_loop, ERR_FD },
	{ "ring-head-oob", ring_head_oob, ERR_FD },
	{ "ring-next-oob", ring_next_oob, ERR_FD },
	{ "ring-addr-outside", ring_addr_outside, ERR_FD },
	{ "ring-addr-straddle", ring_addr_straddle, ERR_FD },
	{ "ring-addr-wrap", ring_addr_wrap, ERR_FD },
	{ "ring-avail-jump", ring_avail_jump, ERR_FD },
	{ "ring-indirect-len", ring_indirect_len, ERR_FD },
	{ "ring-indirect-nested", ring_indirect_nested, ERR_FD },
	{ "ring-indirect-outside", ring_indirect_outside, ERR_FD },
	{ "ring-read-after-write", ring_read_after_write, ERR_FD },
	{ "fuse-len-larger", fuse_len_larger, 0 },
	{ "fuse-len-smaller", fuse_len_smaller, 0 },
	{ "fuse-truncated-args", fuse_truncated_args, 0 },
	{ "fuse-unknown-opcode", fuse_unknown_opcode, 0 },
	{ "fuse-before-init", fuse_before_init, NO_INIT },
	{ "fuse-read-too-big", fuse_read_too_big, 0 },
	{ "fuse-reply-too-small", fuse_reply_too_small, 0 },
	{ "fuse-write-mismatch", fuse_write_mismatch, 0 },
	{ "fuse-batch-forget", fuse_batch_forget, 0 },
	{ "fuse-bad-names", fuse_bad_names, 0 },
	{ "fuse-garbage-ids", fuse_garbage_ids, 0 },
	{ "fuse-symlink-escape", fuse_symlink_escape, 0 },
	{ "fuse-fifo", fuse_fifo, 0 },
	{ "fuse-over-forget", fuse_over_forget, 0 },
	{ "fuse-bad-extensions", fuse_bad_extensions, 0 },
	{ "fuse-fragmented", fuse_fragmented, 0 },
	{ "vu-mem-exceeds-fd", vu_mem_exceeds_fd, 0 },
	{ "vu-mem-overflow", vu_mem_overflow, 0 },
	{ "vu-mem-overlap", vu_mem_overlap, 0 },
	{ "vu-mem-fd-count", vu_mem_fd_count, 0 },
	{ "vu-extra-fds", vu_extra_fds, 0 },
	{ "vu-too-many-fds", vu_too_many_fds, 0 },
	{ "vu-unknown-request", vu_unknown_request, 0 },
	{ "vu-bad-sizes", vu_bad_sizes, 0 },
	{ "vu-vring-num", vu_vring_num, 0 },
	{ "vu-vring-addr", vu_vring_addr, 0 },
	{ "vu-rem-region-inflight", vu_rem_region_inflight, 0 },
	{ "vu-mem-not-file", vu_mem_not_file, 0 },
	{ "vu-mem-replace", vu_mem_replace, 0 },
	{ "vu-add-rem-region", vu_add_rem_region, 0 },
	{ "vu-slots-full", vu_slots_full, 0 },
	{ "vu-bad-version", vu_bad_version, 0 },
	{ "vu-huge-size", vu_huge_size, 0 },
	{ "vu-truncated", vu_truncated, 0 },
	{ "vu-reply-to-gone", vu_reply_to_gone, 0 },
	{ "disc-mid-request", disc_mid_request, 0 },
	{ "disc-many-inflight", disc_many_inflight, 0 },
	{ "disc-blocked-setlkw", disc_blocked_setlkw, 0 },
	{ "disc-mid-message-fds", disc_mid_message_fds, 0 },
	{ "disc-large-io", disc_large_io, 0 },
};

static int run_case(const struct hcase *hc, unsigned no)
{
	struct vhf_opts opts = { .timeout_ms = 5000, .nr_queues = 2 };
	struct ctx c = { .name = hc->name, .err_fd = -1 };
	struct fuse_init_out init;
	int r;

	r = make_tree(&c, no);
	if (!check(&c, !r, "set up the tree (%s)", strerror(-r)))
		return 1;
	r = spawn(&c);
	if (!check(&c, !r, "start the daemon (%s)", strerror(-r)))
		return 1;
	opts.daemon_pid = c.pid;
	r = vhf_connect(&c.fe, c.sock, &opts);
	if (!check(&c, !r, "connect and set up the device (%s)", strerror(-r)))
		goto out;
	if (hc->flags & ERR_FD) {
		uint64_t idx = RQ;

		c.err_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		r = vhf_msg_ack(c.fe, VHF_SET_VRING_ERR, &idx, sizeof(idx),
				&c.err_fd, 1);
		check(&c, !r, "SET_VRING_ERR (%s)", strerror(-r));
	}
	if (!(hc->flags & NO_INIT)) {
		r = vhf_fuse_init(c.fe, RQ, 0, &init);
		if (!check(&c, !r, "FUSE INIT (%s)", strerror(-r)))
			goto out;
	}
	r = hc->fn(&c);
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
	if (c.reaped)
		expect_no_reports(&c);
	if (c.err_fd >= 0)
		close(c.err_fd);
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
	const char *filter[16], *skip[16];
	char failed[2048] = "";
	unsigned i, j, nfilter = 0, nskip = 0, nfail = 0, nrun = 0;
	int a;

	for (a = 1; a < argc && strcmp(argv[a], "--"); a++) {
		if (!strcmp(argv[a], "-v"))
			vhf_verbose = 1;
		else if (!strcmp(argv[a], "-k") && a + 1 < argc &&
			 nfilter < sizeof(filter) / sizeof(filter[0]))
			filter[nfilter++] = argv[++a];
		else if (!strcmp(argv[a], "-x") && a + 1 < argc &&
			 nskip < sizeof(skip) / sizeof(skip[0]))
			skip[nskip++] = argv[++a];
		else
			goto usage;
	}
	if (a + 1 >= argc)
		goto usage;
	daemon_argv = argv + a + 1;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < FILE_LEN; i++)
		file_data[i] = (uint8_t)(i * 13 + (i >> 8));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vhost-hostile.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (j = 0; j < nfilter && !strstr(cases[i].name, filter[j]);
		     j++)
			;
		if (nfilter && j == nfilter)
			continue;
		for (j = 0; j < nskip && !strstr(cases[i].name, skip[j]); j++)
			;
		if (j < nskip)
			continue;
		nrun++;
		if (run_case(&cases[i], i)) {
			nfail++;
			if (strlen(failed) + strlen(cases[i].name) + 2 <
			    sizeof(failed)) {
				strcat(failed, " ");
				strcat(failed, cases[i].name);
			}
		}
	}
	rmdir(tmpdir);
	if (nfail)
		printf("FAIL: %u of %u cases:%s\n", nfail, nrun, failed);
	else
		printf("PASS: %u cases\n", nrun);
	return nfail ? 1 : 0;
usage:
	fprintf(stderr,
		"usage: %s [-v] [-k SUBSTRING]... [-x SUBSTRING]... -- DAEMON "
		"ARGS...\n",
		argv[0]);
	return 2;
}
