// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-metrics: the --metrics-socket as a client and as an attacker see
 * it, with vfsd under its defaults (namespace sandbox, seccomp kill), so a
 * system call the metrics thread makes off the allowlist kills the daemon
 * and fails the case.
 *
 *   vhost-metrics [-v] [--case NAME]... -- DAEMON ARGS...
 *
 * DAEMON ARGS start vfsd on "{dir}" and "{sock}"; each case adds
 * --metrics-socket and what else it needs. The cases:
 *
 *   counts     a known sequence of requests on three queues (INIT, LOOKUPs
 *              of which one fails with ENOENT, GETATTRs, FORGET on the
 *              hiprio queue, OPEN, READ, WRITE, then RELEASE), and the
 *              page read after each step checked exactly: requests and
 *              error replies per opcode and no other opcode, errors by
 *              errno and no other errno, every histogram's _count equal
 *              to its opcode's count with cumulative buckets ending in
 *              +Inf, bytes read and written, requests per queue and no
 *              other queue, nodes and handles held, open fds as
 *              /proc/PID/fd shows them, uptime growing; HEAD gets the
 *              headers alone; curl --unix-socket reads the page.
 *   clients    misbehaving metrics clients while a guest thread keeps
 *              sending GETATTRs: one that never sends (408 at its
 *              deadline), one that sends a byte every 300 ms (408), one
 *              that sends its request and never reads (answered and
 *              closed all the same), 200 connections that flood garbage
 *              (400 each), 40 connections opened at once and left idle
 *              (the oldest closed with 503 as newer ones arrive, the rest
 *              408), oversized and wrong requests (431, 413, 404, 405,
 *              505, 400); meanwhile well-behaved clients get 200 and
 *              every GETATTR is answered within a bound; the GETATTR
 *              count on the page then equals the thread's.
 *   threads    four guest threads, one per request queue, each sending
 *              GETATTRs and 4 KiB READs while the page is read over and
 *              over: no counter ever goes back between two reads, and
 *              once they are done every total is exact (requests per
 *              opcode and per queue, bytes). Run unconfined in the
 *              ThreadSanitizer build (suite tsan): the counters written
 *              by the queue threads and read by the metrics thread.
 *   socket     the socket's file: mode 0600 and our uid, or 0660 and
 *              the group with --socket-group; a stale socket file
 *              replaced, a live socket or a regular file at the path
 *              refused with one line (and the vhost-user socket not left
 *              behind); removed at exit, with the namespace sandbox and
 *              without.
 *   logflood   a guest flooding malformed requests that each log a line
 *              (header lengths that do not add up, names without their
 *              NUL, INITs of an unsupported version): the daemon's
 *              stderr stays within 21 lines per second of flood plus a
 *              few, says how many lines it suppressed, and the daemon
 *              still serves. Run with --metrics-socket too, so the page
 *              counts the malformed requests.
 *
 * Needs root (the daemon's namespace sandbox; socket ownership).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

#define HIPRIO 0
#define RQ1 1
#define RQ2 2
#define FILE_LEN 8192
#define HTTP_MS 5000 /* a well-behaved exchange, at most */
#define DEADLINE_MS 3000 /* the daemon's per-connection deadline */
/* The longest a GETATTR may take while metrics clients misbehave: far
 * below the deadline a stalled request path would show. */
#define SERVE_BOUND_MS 1500

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the daemon ---- */

/* A daemon on its own share (frontend.h) with its metrics socket. */
struct dmn {
	struct vhf_daemon v;
	char msock[160];
};

static int dmn_prepare(struct dmn *d, const char *name)
{
	int r = vhf_daemon_prepare(&d->v, vhf_tmpdir, name);

	snprintf(d->msock, sizeof(d->msock), "%s/metrics.sock", d->v.dir);
	return r;
}

/* Start the daemon with --metrics-socket and @extra (NULL-terminated);
 * with @connect, set the device up and send INIT on RQ1. */
static int dmn_start(struct dmn *d, const char *const *extra, bool connect)
{
	const char *all[16] = { "--metrics-socket", d->msock };
	unsigned int n = 2;

	for (; extra && *extra && n < 15; extra++)
		all[n++] = *extra;
	all[n] = NULL;
	return vhf_daemon_start(&d->v, vhf_daemon_argv, all, connect, RQ1);
}

/* Disconnect and reap: the exit status, or -1 when it had to be killed. */
static int dmn_stop(struct dmn *d)
{
	return vhf_daemon_stop(&d->v);
}

static void dmn_stop_check(struct dmn *d)
{
	int status = dmn_stop(d);

	if (!vhf_check(status == 0,
		       "the daemon exits 0 after the disconnect (%s)",
		       status < 0 ? "killed" : tu_status_str(status)))
		tu_dump_log(d->v.log);
}

/* Wait for a socket file at @path (the daemon may still be starting). */
static bool wait_for_path(const char *path, int ms)
{
	int64_t end = now_ms() + ms;
	struct stat st;

	while (now_ms() < end) {
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			return true;
		usleep(10000);
	}
	return false;
}

/* ---- an HTTP client ---- */

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct resp {
	char *buf; /* the whole answer, NUL-terminated */
	size_t len;
	int status;
	const char *body; /* after the blank line, or NULL */
	bool eof; /* the daemon closed the connection */
};

static void resp_free(struct resp *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* Read what the daemon sends on @fd until it closes (or @ms pass) and
 * parse the status line. Returns the status, or -errno. */
static int read_resp(int fd, struct resp *r, int ms)
{
	int64_t end = now_ms() + ms;
	size_t cap = 0;

	memset(r, 0, sizeof(*r));
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (r->len + 4096 + 1 > cap) {
			char *nb = realloc(r->buf, cap ? cap * 2 : 65536);

			if (!nb)
				return -ENOMEM;
			r->buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		n = recv(fd, r->buf + r->len, cap - r->len - 1, 0);
		if (n <= 0) {
			r->eof = true; /* EOF, or a reset after the answer */
			break;
		}
		r->len += (size_t)n;
	}
	if (!r->buf)
		return -ETIMEDOUT;
	r->buf[r->len] = '\0';
	if (sscanf(r->buf, "HTTP/1.1 %d ", &r->status) != 1)
		return -EPROTO;
	r->body = strstr(r->buf, "\r\n\r\n");
	if (r->body)
		r->body += 4;
	return r->status;
}

/* One exchange: connect, send @req (then end the sending side when
 * @half_close), read the answer. */
static int http_ex(const char *path, const char *req, size_t len,
		   bool half_close, struct resp *r)
{
	int fd = unix_connect(path), ret;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return fd;
	ret = send_all(fd, req, len);
	if (!ret && half_close)
		ret = shutdown(fd, SHUT_WR) ? -errno : 0;
	if (!ret)
		ret = read_resp(fd, r, HTTP_MS);
	close(fd);
	return ret;
}

static int http(const char *path, const char *req, size_t len, struct resp *r)
{
	return http_ex(path, req, len, false, r);
}

static int get_page(const char *path, struct resp *r)
{
	static const char req[] =
		"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";

	return http(path, req, sizeof(req) - 1, r);
}

/* The value of the sample named exactly @series, or -1 when absent. */
static long long sample(const char *page, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = page; p && *p;) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static long long samplef(const char *page, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static long long samplef(const char *page, const char *fmt, ...)
{
	char series[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(series, sizeof(series), fmt, ap);
	va_end(ap);
	return sample(page, series);
}

/* How many sample lines start with @prefix (a family, or a family and
 * the start of its labels). */
static unsigned count_series(const char *page, const char *prefix)
{
	size_t n = strlen(prefix);
	unsigned c = 0;

	for (const char *p = page; p && *p;) {
		if (strncmp(p, prefix, n) == 0)
			c++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return c;
}

/* The sum of the values of the sample lines starting with @prefix. */
static long long sum_series(const char *page, const char *prefix)
{
	size_t n = strlen(prefix);
	long long sum = 0;

	for (const char *p = page; p && *p;) {
		if (strncmp(p, prefix, n) == 0) {
			const char *sp = strchr(p, ' ');

			if (sp)
				sum += strtoll(sp + 1, NULL, 10);
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return sum;
}

/* ---- counts ---- */

struct expect {
	const char *op;
	long long requests;
	long long errors;
};

/* The histogram of @op: buckets never decrease, the last is +Inf and
 * equals _count, which equals @count; the sum is positive. */
static void check_histogram(const char *page, const char *op, long long count)
{
	static const char fam[] = "vfsd_fuse_request_duration_seconds";
	char prefix[128];
	long long last = -1, inf = -1;
	unsigned buckets = 0;
	bool monotonic = true;
	size_t n;

	n = (size_t)snprintf(prefix, sizeof(prefix), "%s_bucket{op=\"%s\",",
			     fam, op);
	for (const char *p = page; p && *p;) {
		if (strncmp(p, prefix, n) == 0) {
			const char *sp = strchr(p, ' ');
			long long v = strtoll(sp + 1, NULL, 10);

			if (v < last)
				monotonic = false;
			last = v;
			buckets++;
			if (strncmp(p + n, "le=\"+Inf\"}", 10) == 0)
				inf = v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	vhf_check(buckets == 26 && monotonic && inf == last,
		  "%s: 26 cumulative buckets ending in +Inf (%u, %s)", op,
		  buckets, monotonic ? "non-decreasing" : "DECREASING");
	vhf_check(
		inf == count &&
			samplef(page, "%s_count{op=\"%s\"}", fam, op) == count,
		"%s: histogram _count %lld and +Inf bucket %lld equal the %lld requests",
		op, samplef(page, "%s_count{op=\"%s\"}", fam, op), inf, count);
	{
		char series[128];
		const char *p;

		snprintf(series, sizeof(series), "%s_sum{op=\"%s\"} ", fam, op);
		p = strstr(page, series);
		vhf_check(p && strtod(p + strlen(series), NULL) > 0,
			  "%s: histogram _sum is a positive number of seconds",
			  op);
	}
}

static void check_page(struct dmn *d, const char *step, const struct expect *ex,
		       unsigned nex, const long long queues[3], long long rd,
		       long long wr, long long nodes, long long handles,
		       long long enoent)
{
	struct resp r;
	long long total = 0;
	int st = get_page(d->msock, &r);

	vhf_case = step;
	if (!vhf_check(st == 200 && r.body, "GET /metrics: 200 (got %d)", st)) {
		resp_free(&r);
		return;
	}
	vhf_check(strstr(r.buf, "Content-Type: text/plain; version=0.0.4") !=
			  NULL,
		  "Content-Type says the exposition format 0.0.4");
	vhf_check(strstr(r.body, "# TYPE vfsd_fuse_requests_total counter\n") &&
			  strstr(r.body,
				 "# TYPE vfsd_fuse_request_duration_seconds "
				 "histogram\n") &&
			  strstr(r.body, "# HELP vfsd_nodes "),
		  "HELP and TYPE lines");
	for (unsigned i = 0; i < nex; i++) {
		long long got =
			samplef(r.body, "vfsd_fuse_requests_total{op=\"%s\"}",
				ex[i].op);
		long long err = samplef(
			r.body, "vfsd_fuse_request_errors_total{op=\"%s\"}",
			ex[i].op);

		total += ex[i].requests;
		vhf_check(got == ex[i].requests && err == ex[i].errors,
			  "%s: %lld requests, %lld errors (page: %lld, %lld)",
			  ex[i].op, ex[i].requests, ex[i].errors, got, err);
		check_histogram(r.body, ex[i].op, ex[i].requests);
	}
	vhf_check(count_series(r.body, "vfsd_fuse_requests_total{") == nex &&
			  sum_series(r.body, "vfsd_fuse_requests_total{") ==
				  total,
		  "no other opcode: %u series summing to %lld (want %u, %lld)",
		  count_series(r.body, "vfsd_fuse_requests_total{"),
		  sum_series(r.body, "vfsd_fuse_requests_total{"), nex, total);
	vhf_check(
		sample(r.body, "vfsd_fuse_errors_total{errno=\"ENOENT\"}") ==
				enoent &&
			count_series(r.body, "vfsd_fuse_errors_total{") ==
				(enoent > 0),
		"errors by errno: ENOENT %lld and no other (page: %lld, %u series)",
		enoent,
		sample(r.body, "vfsd_fuse_errors_total{errno=\"ENOENT\"}"),
		count_series(r.body, "vfsd_fuse_errors_total{"));
	vhf_check(sample(r.body, "vfsd_read_bytes_total") == rd &&
			  sample(r.body, "vfsd_written_bytes_total") == wr,
		  "bytes read %lld, written %lld (page: %lld, %lld)", rd, wr,
		  sample(r.body, "vfsd_read_bytes_total"),
		  sample(r.body, "vfsd_written_bytes_total"));
	for (unsigned q = 0; q < 3; q++) {
		long long got = samplef(
			r.body, "vfsd_queue_requests_total{queue=\"%u\"}", q);

		vhf_check(got == (queues[q] ? queues[q] : -1),
			  "queue %u: %lld requests (page: %lld)", q, queues[q],
			  got);
	}
	vhf_check(count_series(r.body, "vfsd_queue_requests_total{") ==
			  (unsigned)(!!queues[0] + !!queues[1] + !!queues[2]),
		  "no other queue");
	vhf_check(sample(r.body, "vfsd_nodes") == nodes &&
			  sample(r.body, "vfsd_handles") == handles,
		  "nodes %lld, handles %lld (page: %lld, %lld)", nodes, handles,
		  sample(r.body, "vfsd_nodes"), sample(r.body, "vfsd_handles"));
	/* the page counted the connection it was answering on */
	{
		int fds = tu_count_fds(tu_serving_pid(d->v.pid));

		vhf_check(
			sample(r.body, "vfsd_open_fds") == fds + 1,
			"open fds %lld = /proc/PID/fd now (%d) + the scrape's",
			sample(r.body, "vfsd_open_fds"), fds);
	}
	resp_free(&r);
}

static int fuse_forget_nodeid(struct dmn *d, uint64_t nodeid)
{
	return vhf_fuse_forget(d->v.fe, nodeid, 1);
}

static void case_counts(void)
{
	static const char *const extra[] = { "--queues", "2", NULL };
	char path[320], data[FILE_LEN], buf[FILE_LEN];
	struct fuse_entry_out e, e2;
	struct fuse_attr_out a;
	struct fuse_open_out o;
	struct resp r1, r2;
	struct dmn d;
	uint32_t n;
	int r;

	if (dmn_prepare(&d, "counts"))
		return;
	for (unsigned i = 0; i < FILE_LEN; i++)
		data[i] = (char)('a' + i % 26);
	snprintf(path, sizeof(path), "%s/file.txt", d.v.share);
	tu_write_file(path, data, FILE_LEN);
	snprintf(path, sizeof(path), "%s/other.txt", d.v.share);
	tu_write_file(path, "x", 1);
	r = dmn_start(&d, extra, true);
	if (!vhf_check(!r, "vfsd with --metrics-socket serves (%s)",
		       strerror(-r))) {
		tu_dump_log(d.v.log);
		dmn_stop(&d);
		return;
	}

	/* The sequence; queue 1: INIT, 2 LOOKUPs, OPEN, READ, WRITE;
	 * queue 2: 3 GETATTRs, LOOKUP; queue 0: FORGET. */
	r = vhf_fuse_lookup(d.v.fe, RQ1, FUSE_ROOT_ID, "file.txt", &e);
	vhf_check(!r, "LOOKUP file.txt (%s)", strerror(-r));
	r = vhf_fuse_lookup(d.v.fe, RQ1, FUSE_ROOT_ID, "missing", &e2);
	vhf_check(r == -ENOENT, "LOOKUP missing: ENOENT (%s)", strerror(-r));
	for (int i = 0; i < 3; i++) {
		r = vhf_fuse_getattr(d.v.fe, RQ2, FUSE_ROOT_ID, &a);
		vhf_check(!r, "GETATTR %d on queue 2 (%s)", i, strerror(-r));
	}
	r = vhf_fuse_lookup(d.v.fe, RQ2, FUSE_ROOT_ID, "other.txt", &e2);
	vhf_check(!r, "LOOKUP other.txt on queue 2 (%s)", strerror(-r));
	r = fuse_forget_nodeid(&d, e2.nodeid);
	vhf_check(!r, "FORGET other.txt on the hiprio queue (%s)",
		  strerror(-r));
	{
		const struct expect ex[] = {
			{ "INIT", 1, 0 },
			{ "LOOKUP", 3, 1 },
			{ "GETATTR", 3, 0 },
			{ "FORGET", 1, 0 },
		};
		const long long q[3] = { 1, 3, 4 };

		check_page(&d, "counts-lookups", ex, 4, q, 0, 0, 2, 0, 1);
	}
	vhf_case = "counts";
	r = vhf_fuse_open(d.v.fe, RQ1, e.nodeid, O_RDWR, &o);
	vhf_check(!r, "OPEN file.txt (%s)", strerror(-r));
	r = vhf_fuse_read(d.v.fe, RQ1, e.nodeid, o.fh, 0, buf, 1000, &n);
	vhf_check(!r && n == 1000 && memcmp(buf, data, 1000) == 0,
		  "READ 1000 bytes (%s, %u)", strerror(-r), n);
	r = vhf_fuse_write(d.v.fe, RQ1, e.nodeid, o.fh, 100, data, 300, &n);
	vhf_check(!r && n == 300, "WRITE 300 bytes (%s, %u)", strerror(-r), n);
	{
		const struct expect ex[] = {
			{ "INIT", 1, 0 },    { "LOOKUP", 3, 1 },
			{ "GETATTR", 3, 0 }, { "FORGET", 1, 0 },
			{ "OPEN", 1, 0 },    { "READ", 1, 0 },
			{ "WRITE", 1, 0 },
		};
		const long long q[3] = { 1, 6, 4 };

		check_page(&d, "counts-io", ex, 7, q, 1000, 300, 2, 1, 1);
	}
	vhf_case = "counts";
	r = vhf_fuse_release(d.v.fe, RQ2, e.nodeid, o.fh, O_RDWR);
	vhf_check(!r, "RELEASE on queue 2 (%s)", strerror(-r));
	{
		const struct expect ex[] = {
			{ "INIT", 1, 0 },    { "LOOKUP", 3, 1 },
			{ "GETATTR", 3, 0 }, { "FORGET", 1, 0 },
			{ "OPEN", 1, 0 },    { "READ", 1, 0 },
			{ "WRITE", 1, 0 },   { "RELEASE", 1, 0 },
		};
		const long long q[3] = { 1, 6, 5 };

		check_page(&d, "counts-release", ex, 8, q, 1000, 300, 2, 0, 1);
	}

	vhf_case = "counts-http";
	/* uptime grows; HEAD: the same headers, no body */
	r = get_page(d.msock, &r1);
	usleep(20000);
	get_page(d.msock, &r2);
	if (r == 200 && r1.body && r2.body) {
		const char *u1 = strstr(r1.body, "\nvfsd_uptime_seconds ");
		const char *u2 = strstr(r2.body, "\nvfsd_uptime_seconds ");

		vhf_check(u1 && u2 && strtod(u1 + 21, NULL) > 0 &&
				  strtod(u2 + 21, NULL) > strtod(u1 + 21, NULL),
			  "uptime grows between two reads");
	}
	resp_free(&r1);
	resp_free(&r2);
	{
		static const char head[] = "HEAD /metrics HTTP/1.0\r\n\r\n";

		r = http(d.msock, head, sizeof(head) - 1, &r1);
		vhf_check(r == 200 && r1.body && *r1.body == '\0' &&
				  strstr(r1.buf, "Content-Length: ") &&
				  atoi(strstr(r1.buf, "Content-Length: ") +
				       16) > 0,
			  "HEAD (HTTP/1.0): 200, a Content-Length and no body");
		resp_free(&r1);
	}
	if (access("/usr/bin/curl", X_OK) == 0) {
		char cmd[512];
		FILE *p;
		size_t got;

		snprintf(cmd, sizeof(cmd),
			 "curl -sS --max-time 5 --unix-socket '%s' "
			 "http://localhost/metrics",
			 d.msock);
		p = popen(cmd, "r");
		got = p ? fread(buf, 1, sizeof(buf) - 1, p) : 0;
		buf[got] = '\0';
		if (p)
			pclose(p);
		vhf_check(
			strstr(buf,
			       "vfsd_fuse_requests_total{op=\"LOOKUP\"} 3\n") !=
				NULL,
			"curl --unix-socket %s http://localhost/metrics reads the page",
			d.msock);
	}
	dmn_stop_check(&d);
	vhf_check(access(d.msock, F_OK) && errno == ENOENT,
		  "the metrics socket is removed at exit");
	vhf_daemon_cleanup(&d.v);
}

/* ---- split: large READs on an idle queue, copied by two threads ---- */

#define SPLIT_MIB (1u << 20)
#define SPLIT_LEN (SPLIT_MIB + 77777u)

/* READ @size at @off into out buffers of the sizes given (the first holds
 * the out header); the reply's data bytes land in @dst, their number in
 * *@got. */
static int split_read(struct dmn *d, uint64_t nodeid, uint64_t fh, uint64_t off,
		      uint32_t size, const size_t *outs, unsigned nout,
		      uint8_t *dst, uint32_t *got)
{
	static uint8_t reply[sizeof(struct fuse_out_header) + SPLIT_MIB];
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
	struct iovec arg = { &in, sizeof(in) };
	struct fuse_out_header *oh = (struct fuse_out_header *)reply;
	size_t len = 0;
	int r;

	r = vhf_fuse(d->v.fe, RQ1, FUSE_READ, nodeid, &arg, 1, outs, nout,
		     reply, sizeof(reply), &len);
	if (r)
		return r;
	if (len < sizeof(*oh) || oh->len != len)
		return -EPROTO;
	if (oh->error)
		return oh->error;
	*got = (uint32_t)(len - sizeof(*oh));
	memcpy(dst, reply + sizeof(*oh), *got);
	return 0;
}

/* The daemon started on a share holding big.bin, SPLIT_LEN bytes of
 * data[i] = i * @mul + i / @div, with big.bin looked up and opened; the
 * daemon sees the VFSD_BENCH_* settings of @env (NULL-terminated "VAR",
 * "VALUE" pairs) and no others. 0, or -1 with nothing left running. */
static int big_start(struct dmn *d, const char *name, uint8_t *data,
		     unsigned mul, unsigned div, const char *const *env,
		     uint64_t *nodeid, uint64_t *fh)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	char path[320];
	int r;

	if (dmn_prepare(d, name))
		return -1;
	for (unsigned i = 0; i < SPLIT_LEN; i++)
		data[i] = (uint8_t)(i * mul + i / div);
	snprintf(path, sizeof(path), "%s/big.bin", d->v.share);
	tu_write_file(path, data, SPLIT_LEN);
	for (const char *const *v = env; v && *v; v += 2)
		setenv(v[0], v[1], 1);
	r = dmn_start(d, NULL, true);
	for (const char *const *v = env; v && *v; v += 2)
		unsetenv(v[0]);
	if (!vhf_check(!r, "vfsd serves (%s)", strerror(-r))) {
		tu_dump_log(d->v.log);
		dmn_stop(d);
		vhf_daemon_cleanup(&d->v);
		return -1;
	}
	r = vhf_fuse_lookup(d->v.fe, RQ1, FUSE_ROOT_ID, "big.bin", &e);
	vhf_check(!r, "LOOKUP big.bin (%s)", strerror(-r));
	r = r ? r : vhf_fuse_open(d->v.fe, RQ1, e.nodeid, O_RDONLY, &o);
	vhf_check(!r, "OPEN big.bin (%s)", strerror(-r));
	if (r) {
		dmn_stop_check(d);
		vhf_daemon_cleanup(&d->v);
		return -1;
	}
	*nodeid = e.nodeid;
	*fh = o.fh;
	return 0;
}

/* What one read of @size at @off gives of big.bin. */
static uint32_t big_want(uint64_t off, uint32_t size)
{
	uint64_t end = off + size;

	if (off >= SPLIT_LEN)
		return 0;
	return (uint32_t)((end < SPLIT_LEN ? end : SPLIT_LEN) - off);
}

/*
 * Each READ below is what one read of the file gives, whether the end of
 * the file falls in the first half, the second or before either, with the
 * guest's buffer in one piece or in several that do not line up with the
 * halves; and every one of them was split (vfsd_read_splits_total).
 */
static void case_split(void)
{
	static uint8_t data[SPLIT_LEN], buf[SPLIT_MIB];
	const size_t hdr = sizeof(struct fuse_out_header);
	const size_t whole[1] = { hdr + SPLIT_MIB };
	const size_t pieces[4] = { hdr + 1000, 300001, 524288 + 3,
				   SPLIT_MIB - 1000 - 300001 - 524288 - 3 };
	static const struct {
		uint64_t off;
		uint32_t size;
		bool pieces;
	} rd[] = {
		{ 0, SPLIT_MIB, false },
		{ 12293, SPLIT_MIB, true },
		{ SPLIT_LEN - 300000, SPLIT_MIB, false }, /* EOF in half 1 */
		{ SPLIT_LEN - 700000, SPLIT_MIB, true }, /* EOF in half 2 */
		{ SPLIT_LEN + 10, SPLIT_MIB, false }, /* past EOF */
		{ 4096, 256u << 10, false }, /* the smallest split */
	};
	const unsigned nrd = sizeof(rd) / sizeof(rd[0]);
	uint64_t nodeid, fh;
	struct resp pg;
	struct dmn d;
	int r = 0;

	if (big_start(&d, "split", data, 7, 4096, NULL, &nodeid, &fh))
		return;
	for (unsigned i = 0; !r && i < nrd; i++) {
		uint32_t want = big_want(rd[i].off, rd[i].size);
		uint32_t got = 0;
		size_t outs[4];
		unsigned nout = rd[i].pieces ? 4 : 1;

		memcpy(outs, rd[i].pieces ? pieces : whole,
		       nout * sizeof(size_t));
		if (!rd[i].pieces)
			outs[0] = hdr + rd[i].size;
		memset(buf, 0, sizeof(buf));
		r = split_read(&d, nodeid, fh, rd[i].off, rd[i].size, outs,
			       nout, buf, &got);
		vhf_check(
			!r && got == want &&
				!memcmp(buf, data + (want ? rd[i].off : 0),
					want),
			"READ %u at %llu%s: %u bytes of the file (%s, got %u)",
			rd[i].size, (unsigned long long)rd[i].off,
			rd[i].pieces ? " into 4 buffers" : "", want,
			strerror(-r), got);
	}
	r = get_page(d.msock, &pg);
	vhf_check(r == 200 && pg.body &&
			  sample(pg.body, "vfsd_read_splits_total") == nrd,
		  "every READ was split: vfsd_read_splits_total %lld, want %u",
		  pg.body ? sample(pg.body, "vfsd_read_splits_total") : -1LL,
		  nrd);
	resp_free(&pg);
	dmn_stop_check(&d);
	vhf_daemon_cleanup(&d.v);
}

/* ---- bounce: READs into buffers just after their file position ---- */

/*
 * The reply's data starts 16 bytes into the guest's page (after the out
 * header), so a READ at a file offset o lands (16 - o) mod 4096 bytes
 * after its source: 1 to 31 is the distance vfsd bounces (forced on with
 * VFSD_BENCH_BOUNCE=1, whatever this CPU is; splitting off so that each
 * READ is one bounce). Every READ must still give what one read gives,
 * across the 256 KiB pieces of the bounce and at the end of the file, and
 * only the READs at those distances and of 32 KiB or more are bounced.
 */
static void case_bounce(void)
{
	static uint8_t data[SPLIT_LEN], buf[SPLIT_MIB];
	const size_t hdr = sizeof(struct fuse_out_header);
	const size_t pieces[3] = { hdr + 5000, 300000,
				   SPLIT_MIB - 5000 - 300000 };
	static const struct {
		uint64_t off;
		uint32_t size;
		bool bounced;
		bool pieces;
	} rd[] = {
		{ 0, SPLIT_MIB, true }, /* distance 16 */
		{ 8, SPLIT_MIB, true }, /* 8 */
		{ 15, 65536, true }, /* 1 */
		{ 4096 * 3 - 15, 300000, true }, /* 31 */
		{ 16, SPLIT_MIB, false }, /* 0 */
		{ 4096 * 3 - 16, 300000, false }, /* 32 */
		{ 8, 32767, false }, /* too small to bounce */
		{ 8, 32768, true },
		{ 4096 + 8, SPLIT_MIB, true, true }, /* into 3 buffers */
		{ 4096 * 202 + 8, SPLIT_MIB, true }, /* EOF in piece 2 */
		{ 4096 * 251 + 8, SPLIT_MIB, true }, /* EOF in piece 1 */
		{ SPLIT_LEN + 8, SPLIT_MIB, true }, /* past EOF: 0 bytes */
	};
	const unsigned nrd = sizeof(rd) / sizeof(rd[0]);
	static const char *const env[] = { "VFSD_BENCH_BOUNCE", "1",
					   "VFSD_BENCH_SPLIT_READS", "0",
					   NULL };
	uint64_t nodeid, fh;
	unsigned bounced = 0;
	struct resp pg;
	struct dmn d;
	int r = 0;

	if (big_start(&d, "bounce", data, 13, 4093, env, &nodeid, &fh))
		return;
	for (unsigned i = 0; !r && i < nrd; i++) {
		uint32_t want = big_want(rd[i].off, rd[i].size);
		size_t one = hdr + rd[i].size;
		uint32_t got = 0;

		memset(buf, 0, sizeof(buf));
		r = split_read(&d, nodeid, fh, rd[i].off, rd[i].size,
			       rd[i].pieces ? pieces : &one,
			       rd[i].pieces ? 3 : 1, buf, &got);
		vhf_check(
			!r && got == want &&
				!memcmp(buf, data + (want ? rd[i].off : 0),
					want),
			"READ %u at %llu%s: %u bytes of the file (%s, got %u)",
			rd[i].size, (unsigned long long)rd[i].off,
			rd[i].pieces ? " into 3 buffers" : "", want,
			strerror(-r), got);
		/* a READ past the end reads nothing and counts nothing */
		bounced += rd[i].bounced && want;
	}
	r = get_page(d.msock, &pg);
	vhf_check(
		r == 200 && pg.body &&
			sample(pg.body, "vfsd_read_bounces_total") == bounced &&
			sample(pg.body, "vfsd_read_splits_total") == 0,
		"bounced exactly the READs at distance 1-31 of 32 KiB or more: "
		"vfsd_read_bounces_total %lld, want %u",
		pg.body ? sample(pg.body, "vfsd_read_bounces_total") : -1LL,
		bounced);
	resp_free(&pg);
	dmn_stop_check(&d);
	vhf_daemon_cleanup(&d.v);
}

/* ---- clients ---- */

struct load {
	struct vhf *fe;
	atomic_bool stop;
	unsigned long done;
	unsigned long failed;
	int64_t max_ms;
};

/* The guest: GETATTRs back to back, each timed. */
static void *load_main(void *arg)
{
	struct load *l = arg;

	while (!atomic_load(&l->stop)) {
		struct fuse_attr_out a;
		int64_t t0 = now_ms(), dt;
		int r = vhf_fuse_getattr(l->fe, RQ1, FUSE_ROOT_ID, &a);

		dt = now_ms() - t0;
		if (dt > l->max_ms)
			l->max_ms = dt;
		if (r)
			l->failed++;
		else
			l->done++;
		usleep(500);
	}
	return NULL;
}

/* A well-behaved client in the middle of it all: 200 within HTTP_MS. */
static void good_client(struct dmn *d, const char *when)
{
	struct resp r;
	int64_t t0 = now_ms();
	int st = get_page(d->msock, &r);

	vhf_check(st == 200 && r.body &&
			  strstr(r.body, "vfsd_fuse_requests_total"),
		  "%s: a well-behaved client gets the page (%d, %lld ms)", when,
		  st, (long long)(now_ms() - t0));
	resp_free(&r);
}

static void expect_status(struct dmn *d, const char *what, const char *req,
			  size_t len, int want)
{
	struct resp r;
	int st = http_ex(d->msock, req, len, want == 400, &r);

	vhf_check(st == want && r.eof, "%s: %d and closed (got %d)", what, want,
		  st);
	resp_free(&r);
}

/* Read the answer a held connection got: @want (or @alt, 0: none) and
 * closed. */
static void expect_held(int fd, const char *what, int want, int alt)
{
	struct resp rr;
	int st;

	if (fd < 0)
		return;
	st = read_resp(fd, &rr, 2000);
	vhf_check((st == want || (alt && st == alt)) && rr.eof,
		  "%s: %d and closed (got %d)", what, want, st);
	if (st == 200) {
		const char *cl = strstr(rr.buf, "Content-Length: ");

		vhf_check(cl && rr.body &&
				  strtoul(cl + 16, NULL, 10) == strlen(rr.body),
			  "%s: the body is as long as Content-Length says",
			  what);
	}
	resp_free(&rr);
	close(fd);
}

static void case_clients(void)
{
	static const char *const extra[] = { "--queues", "1", NULL };
	static const char get[] = "GET /metrics HTTP/1.1\r\n\r\n";
	static const char slow_start[] = "GET /metrics HTTP/1.1\r\nX-Slow: ";
	struct load l = { 0 };
	pthread_t lt;
	struct dmn d;
	int silent, slow, noread, idle[40];
	unsigned garbage_ok = 0, idle_503 = 0, idle_408 = 0, idle_other = 0;
	int64_t t0, end;
	char *big;
	int r;

	if (dmn_prepare(&d, "clients"))
		return;
	r = dmn_start(&d, extra, true);
	if (!vhf_check(!r, "vfsd with --metrics-socket serves (%s)",
		       strerror(-r))) {
		tu_dump_log(d.v.log);
		dmn_stop(&d);
		return;
	}
	l.fe = d.v.fe;
	if (pthread_create(&lt, NULL, load_main, &l)) {
		vhf_check(false, "starting the guest thread");
		dmn_stop(&d);
		return;
	}

	/* Phase 1: held until their deadline, while the rest goes on. */
	t0 = now_ms();
	silent = unix_connect(d.msock);
	slow = unix_connect(d.msock);
	noread = unix_connect(d.msock);
	vhf_check(silent >= 0 && slow >= 0 && noread >= 0,
		  "three clients connect");
	if (noread >= 0)
		send_all(noread, get, sizeof(get) - 1);
	if (slow >= 0)
		send_all(slow, slow_start, sizeof(slow_start) - 1);
	good_client(&d, "with a silent, a slow and a non-reading client");

	/* 200 connections flooding garbage. */
	big = malloc(65536);
	for (unsigned i = 0; big && i < 65536; i++)
		big[i] = (char)(i * 131 + 7);
	for (unsigned i = 0; big && i < 200; i++) {
		int fd = unix_connect(d.msock);
		struct resp rr;
		size_t off = 0;

		if (fd < 0)
			continue;
		/* as much as the socket takes, until the daemon hangs up */
		fcntl(fd, F_SETFL, O_NONBLOCK);
		while (off < 65536) {
			ssize_t n =
				send(fd, big + off, 65536 - off, MSG_NOSIGNAL);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
		fcntl(fd, F_SETFL, 0);
		if (read_resp(fd, &rr, HTTP_MS) == 400 && rr.eof)
			garbage_ok++;
		resp_free(&rr);
		close(fd);
	}
	free(big);
	vhf_check(garbage_ok == 200,
		  "200 garbage floods: each 400 and closed (%u)", garbage_ok);
	good_client(&d, "after the garbage");

	/* Wrong and oversized requests. */
	expect_status(&d, "GET /", "GET / HTTP/1.1\r\n\r\n", 18, 404);
	expect_status(&d, "POST", "POST /metrics HTTP/1.1\r\n\r\n", 26, 405);
	expect_status(&d, "HTTP/2.0", "GET /metrics HTTP/2.0\r\n\r\n", 25, 505);
	expect_status(&d, "a body",
		      "GET /metrics HTTP/1.1\r\nContent-Length: 9\r\n\r\n", 44,
		      413);
	expect_status(&d, "half a request line, then the end of sending",
		      "GET /met", 8, 400);
	{
		char huge[8192];
		int n = snprintf(huge, sizeof(huge),
				 "GET /metrics HTTP/1.1\r\n");

		while (n < (int)sizeof(huge) - 16)
			n += snprintf(huge + n, sizeof(huge) - (size_t)n,
				      "X-Pad: %08d\r\n", n);
		expect_status(&d, "an 8 KiB head", huge, (size_t)n, 431);
	}

	/* The slow one trickles a valid header until past its deadline. */
	end = t0 + DEADLINE_MS + 500;
	while (now_ms() < end) {
		if (slow >= 0)
			send(slow, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		usleep(300000);
	}
	expect_held(silent, "a client that never sends", 408, 0);
	expect_held(slow, "a client that sends a byte every 300 ms", 408, 0);
	expect_held(noread, "a client that did not read: its answer, whole",
		    200, 0);
	good_client(&d, "after the deadlines");

	/* Phase 2: 40 idle connections at once; 16 slots, so the oldest
	 * make room for the newer ones. */
	for (unsigned i = 0; i < 40; i++)
		idle[i] = unix_connect(d.msock);
	good_client(&d, "right after 40 idle connections");
	usleep((DEADLINE_MS + 500) * 1000);
	for (unsigned i = 0; i < 40; i++) {
		struct resp rr;
		int st;

		if (idle[i] < 0) {
			idle_other++;
			continue;
		}
		st = read_resp(idle[i], &rr, 2000);
		if (st == 503 && rr.eof)
			idle_503++;
		else if (st == 408 && rr.eof)
			idle_408++;
		else
			idle_other++;
		resp_free(&rr);
		close(idle[i]);
	}
	/* 25 of the 41 made room (the good client's took one more) */
	vhf_check(
		idle_503 + idle_408 == 40 && idle_503 >= 24 && idle_408 >= 15,
		"40 idle connections: every one answered and closed, the oldest with 503 to make room, the rest 408 (503: %u, 408: %u, other: %u)",
		idle_503, idle_408, idle_other);
	good_client(&d, "at the end");

	atomic_store(&l.stop, true);
	pthread_join(lt, NULL);
	vhf_check(
		l.failed == 0 && l.done > 100,
		"the guest's GETATTRs kept being answered: %lu done, %lu failed",
		l.done, l.failed);
	vhf_check(
		l.max_ms < SERVE_BOUND_MS,
		"every GETATTR within %d ms while clients misbehaved (slowest %lld ms)",
		SERVE_BOUND_MS, (long long)l.max_ms);
	{
		struct resp rr;

		r = get_page(d.msock, &rr);
		vhf_check(
			r == 200 &&
				samplef(rr.body,
					"vfsd_fuse_requests_total{op=\"GETATTR\"}") ==
					(long long)l.done,
			"the page counts the guest's %lu GETATTRs (%lld)",
			l.done,
			r == 200 ?
				samplef(rr.body,
					"vfsd_fuse_requests_total{op=\"GETATTR\"}") :
				-1);
		resp_free(&rr);
	}
	dmn_stop_check(&d);
	vhf_daemon_cleanup(&d.v);
}

/* ---- threads ---- */

#define TQ 4 /* request queues, one guest thread each */
#define T_GETATTR 3000
#define T_READ 300

struct tguest {
	struct vhf *fe;
	unsigned q;
	uint64_t nodeid, fh;
	unsigned failed;
};

static void *tguest_main(void *arg)
{
	struct tguest *g = arg;
	char buf[4096];

	for (unsigned i = 0; i < T_GETATTR; i++) {
		struct fuse_attr_out a;

		g->failed +=
			vhf_fuse_getattr(g->fe, g->q, FUSE_ROOT_ID, &a) != 0;
		if (i % (T_GETATTR / T_READ) == 0) {
			uint32_t n = 0;
			int r = vhf_fuse_read(g->fe, g->q, g->nodeid, g->fh, 0,
					      buf, sizeof(buf), &n);

			g->failed += r || n != sizeof(buf);
		}
	}
	return NULL;
}

static void case_threads(void)
{
	static const char *const extra[] = { "--queues", "4", NULL };
	struct tguest g[TQ];
	pthread_t t[TQ];
	char path[320], data[FILE_LEN];
	struct fuse_entry_out e;
	long long last_getattr = 0, last_read = 0;
	unsigned scrapes = 0, backwards = 0, failed = 0, started = 0;
	bool joined[TQ] = { false };
	struct dmn d;
	int r;

	if (dmn_prepare(&d, "threads"))
		return;
	memset(data, 'x', sizeof(data));
	snprintf(path, sizeof(path), "%s/file.txt", d.v.share);
	tu_write_file(path, data, sizeof(data));
	r = dmn_start(&d, extra, true);
	if (!vhf_check(!r,
		       "vfsd with --metrics-socket and 4 queues serves (%s)",
		       strerror(-r))) {
		tu_dump_log(d.v.log);
		dmn_stop(&d);
		return;
	}
	r = vhf_fuse_lookup(d.v.fe, RQ1, FUSE_ROOT_ID, "file.txt", &e);
	vhf_check(!r, "LOOKUP file.txt (%s)", strerror(-r));
	for (unsigned i = 0; i < TQ; i++) {
		struct fuse_open_out o = { 0 };

		g[i] = (struct tguest){ .fe = d.v.fe,
					.q = 1 + i,
					.nodeid = e.nodeid };
		r = vhf_fuse_open(d.v.fe, 1 + i, e.nodeid, O_RDONLY, &o);
		vhf_check(!r, "OPEN on queue %u (%s)", 1 + i, strerror(-r));
		g[i].fh = o.fh;
	}
	for (unsigned i = 0; i < TQ; i++)
		started += pthread_create(&t[i], NULL, tguest_main, &g[i]) == 0;
	vhf_check(started == TQ, "four guest threads");
	/* Read the page while they run: no counter goes back. */
	for (bool running = true; running;) {
		struct resp rr;

		running = false;
		for (unsigned i = 0; i < started; i++) {
			if (!joined[i])
				joined[i] = pthread_tryjoin_np(t[i], NULL) == 0;
			running |= !joined[i];
		}
		if (get_page(d.msock, &rr) == 200) {
			long long ga = sample(
				rr.body,
				"vfsd_fuse_requests_total{op=\"GETATTR\"}");
			long long rd = sample(rr.body, "vfsd_read_bytes_total");

			/* A series appears once counted: absent is 0. */
			ga = ga < 0 ? 0 : ga;
			rd = rd < 0 ? 0 : rd;
			if (ga < last_getattr || rd < last_read) {
				backwards++;
				printf("# went back: GETATTR %lld after %lld, read bytes %lld after %lld\n",
				       ga, last_getattr, rd, last_read);
			}
			last_getattr = ga > last_getattr ? ga : last_getattr;
			last_read = rd > last_read ? rd : last_read;
			scrapes++;
		}
		resp_free(&rr);
		if (running)
			usleep(2000);
	}
	for (unsigned i = 0; i < TQ; i++)
		failed += g[i].failed;
	vhf_check(failed == 0,
		  "every request of the guest threads answered (%u failed)",
		  failed);
	vhf_check(scrapes > 2 && backwards == 0,
		  "%u reads of the page while they ran, no counter went back",
		  scrapes);
	{
		struct resp rr;
		long long want_q = T_GETATTR + T_READ + 1; /* + the OPEN */
		bool queues_ok = true;

		r = get_page(d.msock, &rr);
		vhf_check(
			r == 200 &&
				sample(rr.body,
				       "vfsd_fuse_requests_total{op=\"GETATTR\"}") ==
					TQ * T_GETATTR &&
				sample(rr.body,
				       "vfsd_fuse_requests_total{op=\"READ\"}") ==
					TQ * T_READ &&
				sample(rr.body, "vfsd_read_bytes_total") ==
					(long long)TQ * T_READ * 4096,
			"totals exact: GETATTR %lld (want %d), READ %lld (want %d), bytes %lld",
			sample(rr.body,
			       "vfsd_fuse_requests_total{op=\"GETATTR\"}"),
			TQ * T_GETATTR,
			sample(rr.body,
			       "vfsd_fuse_requests_total{op=\"READ\"}"),
			TQ * T_READ, sample(rr.body, "vfsd_read_bytes_total"));
		for (unsigned q = 2; q <= TQ; q++)
			queues_ok &=
				samplef(rr.body,
					"vfsd_queue_requests_total{queue=\"%u\"}",
					q) == want_q;
		/* queue 1 also carried INIT and the LOOKUP */
		vhf_check(
			queues_ok &&
				sample(rr.body,
				       "vfsd_queue_requests_total{queue=\"1\"}") ==
					want_q + 2,
			"each queue's count exact (%lld per queue, 2 more on queue 1)",
			want_q);
		resp_free(&rr);
	}
	dmn_stop_check(&d);
	vhf_daemon_cleanup(&d.v);
}

/* ---- socket ---- */

/* A UNIX socket bound at @path: left listening (@listening) or closed,
 * which leaves a stale socket file. Returns the fd or -1 (closed). */
static int bind_at(const char *path, bool listening)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (listening && listen(fd, 1))) {
		if (fd >= 0)
			close(fd);
		return -2;
	}
	if (!listening) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool log_has(const char *log, const char *needle)
{
	const size_t cap = 1 << 20;
	char *buf = malloc(cap);
	size_t len = 0;
	bool found;

	if (!buf || tu_read_file(log, buf, cap - 1, &len)) {
		free(buf);
		return false;
	}
	buf[len] = '\0';
	found = strstr(buf, needle) != NULL;
	free(buf);
	return found;
}

/* Started with @extra, the daemon must refuse: exit 1, a line naming
 * the metrics socket and @why, no vhost-user socket left behind. */
static void expect_refusal(struct dmn *d, const char *what, const char *why)
{
	int status = 0;
	int r = dmn_start(d, NULL, false);

	if (!r)
		r = vhf_reap(d->v.pid, 10000, &status);
	d->v.started = r != 0;
	vhf_check(!r && WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
			  log_has(d->v.log, "metrics socket") &&
			  log_has(d->v.log, why),
		  "%s: refused, exit 1 and a line saying '%s' (%s)", what, why,
		  r ? strerror(-r) : tu_status_str(status));
	vhf_check(access(d->v.sock, F_OK) && errno == ENOENT,
		  "%s: no vhost-user socket left behind", what);
	if (d->v.started)
		dmn_stop(d);
}

static void mode_case(const char *name, const char *const *extra, mode_t mode,
		      gid_t gid)
{
	struct dmn d;
	struct stat st;
	struct resp r;
	int ret;

	if (dmn_prepare(&d, name))
		return;
	ret = dmn_start(&d, extra, false);
	vhf_check(!ret && wait_for_path(d.msock, 10000),
		  "%s: the metrics socket appears", name);
	vhf_check(lstat(d.msock, &st) == 0 && S_ISSOCK(st.st_mode) &&
			  (st.st_mode & 07777) == mode &&
			  st.st_uid == getuid() && st.st_gid == gid,
		  "%s: mode %04o, owner %u:%u (got %04o %u:%u)", name,
		  (unsigned)mode, (unsigned)getuid(), (unsigned)gid,
		  (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
		  (unsigned)st.st_gid);
	ret = get_page(d.msock, &r);
	vhf_check(ret == 200 && sample(r.body, "vfsd_nodes") == 1,
		  "%s: served before any frontend connects (%d)", name, ret);
	resp_free(&r);
	/* SIGTERM without a frontend: exit 0, both sockets gone */
	kill(d.v.pid, SIGTERM);
	dmn_stop_check(&d);
	vhf_check(access(d.msock, F_OK) && errno == ENOENT &&
			  access(d.v.sock, F_OK) && errno == ENOENT,
		  "%s: both socket files removed at exit", name);
	vhf_daemon_cleanup(&d.v);
}

static void case_socket(void)
{
	static const char *const none[] = { "--sandbox", "none", NULL };
	const char *grp[] = { "--socket-group", "daemon", NULL };
	struct group *g = getgrnam("daemon");
	struct dmn d;
	int fd;

	mode_case("socket-default", NULL, 0600, getgid());
	mode_case("socket-no-sandbox", none, 0600, getgid());
	if (g)
		mode_case("socket-group", grp, 0660, g->gr_gid);

	vhf_case = "socket-stale";
	if (!dmn_prepare(&d, "stale")) {
		struct resp r;

		vhf_check(bind_at(d.msock, false) == -1, "a stale socket file");
		vhf_check(!dmn_start(&d, NULL, true),
			  "the daemon starts over a stale socket file");
		vhf_check(get_page(d.msock, &r) == 200, "and serves on it");
		resp_free(&r);
		dmn_stop_check(&d);
		vhf_daemon_cleanup(&d.v);
	}
	vhf_case = "socket-live";
	if (!dmn_prepare(&d, "live")) {
		fd = bind_at(d.msock, true);
		vhf_check(fd >= 0, "a live socket at the path");
		expect_refusal(&d, "a live socket", "another process");
		vhf_check(access(d.msock, F_OK) == 0,
			  "the live socket is left");
		if (fd >= 0)
			close(fd);
		vhf_daemon_cleanup(&d.v);
	}
	vhf_case = "socket-file";
	if (!dmn_prepare(&d, "file")) {
		vhf_check(!tu_write_file(d.msock, "keep", 4),
			  "a file at the path");
		expect_refusal(&d, "a regular file", "not a socket");
		{
			char b[8];
			size_t n = 0;

			vhf_check(!tu_read_file(d.msock, b, sizeof(b), &n) &&
					  n == 4 && !memcmp(b, "keep", 4),
				  "the file is untouched");
		}
		vhf_daemon_cleanup(&d.v);
	}
}

/* ---- logflood ---- */

/* A header whose len claims 8 bytes more than the chain carries. */
static int bad_len(struct vhf *fe)
{
	struct {
		struct fuse_in_header h;
		struct fuse_getattr_in ga;
	} req;
	struct vhf_buf in, out;
	struct vhf_seg segs[2];
	void *cookie;
	uint32_t used;
	int r;

	memset(&req, 0, sizeof(req));
	vhf_fuse_in_header(fe, &req.h, FUSE_GETATTR, FUSE_ROOT_ID,
			   sizeof(req) + 8);
	r = vhf_alloc(fe, sizeof(req), &in);
	if (r)
		return r;
	r = vhf_alloc(fe, 4096, &out);
	if (r) {
		vhf_free(fe, &in);
		return r;
	}
	memcpy(in.hva, &req, sizeof(req));
	segs[0] = (struct vhf_seg){ in.gpa, sizeof(req), false };
	segs[1] = (struct vhf_seg){ out.gpa, 4096, true };
	r = vhf_submit(fe, RQ1, segs, 2, false, &req);
	if (!r)
		r = vhf_wait(fe, RQ1, 0, &used, &cookie);
	if (!r) {
		struct fuse_out_header oh;

		memcpy(&oh, out.hva, sizeof(oh));
		r = used >= sizeof(oh) ? oh.error : -EPROTO;
	}
	vhf_free(fe, &out);
	vhf_free(fe, &in);
	return r;
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	int n = 0, c;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

#define FLOOD_LEN 2000
#define FLOOD_NAMES 1000
#define FLOOD_INITS 500

static void case_logflood(void)
{
	struct fuse_init_in bad_init = { .major = 7, .minor = 5 };
	struct fuse_init_out io;
	struct fuse_attr_out a;
	unsigned ok_len = 0, ok_name = 0, ok_init = 0;
	long long malformed = 0;
	int64_t t0, secs;
	struct dmn d;
	struct resp rr;
	int lines, bound, r;

	if (dmn_prepare(&d, "logflood"))
		return;
	r = dmn_start(&d, NULL, true);
	if (!vhf_check(!r, "vfsd serves (%s)", strerror(-r))) {
		tu_dump_log(d.v.log);
		dmn_stop(&d);
		return;
	}
	t0 = now_ms();
	for (unsigned i = 0; i < FLOOD_LEN; i++)
		ok_len += bad_len(d.v.fe) == -EINVAL;
	for (unsigned i = 0; i < FLOOD_NAMES; i++) {
		/* a name without its NUL */
		struct iovec arg = { .iov_base = "abc", .iov_len = 3 };
		char reply[256];
		size_t out = sizeof(reply), rlen = 0;

		r = vhf_fuse(d.v.fe, RQ1, FUSE_LOOKUP, FUSE_ROOT_ID, &arg, 1,
			     &out, 1, reply, sizeof(reply), &rlen);
		if (!r && rlen >= sizeof(struct fuse_out_header) &&
		    ((struct fuse_out_header *)reply)->error == -EINVAL)
			ok_name++;
	}
	for (unsigned i = 0; i < FLOOD_INITS; i++) {
		/* each was a warning line of its own before the rate limit */
		struct iovec arg = { .iov_base = &bad_init,
				     .iov_len = sizeof(bad_init) };
		char reply[256];
		size_t out = sizeof(reply), rlen = 0;

		r = vhf_fuse(d.v.fe, RQ1, FUSE_INIT, 0, &arg, 1, &out, 1, reply,
			     sizeof(reply), &rlen);
		if (!r && rlen >= sizeof(struct fuse_out_header) &&
		    ((struct fuse_out_header *)reply)->error == -EPROTO)
			ok_init++;
	}
	secs = (now_ms() - t0 + 999) / 1000;
	vhf_check(
		ok_len == FLOOD_LEN && ok_name == FLOOD_NAMES &&
			ok_init == FLOOD_INITS,
		"every malformed request answered with its error (len %u/%d EINVAL, name %u/%d EINVAL, INIT %u/%d EPROTO) in %lld s",
		ok_len, FLOOD_LEN, ok_name, FLOOD_NAMES, ok_init, FLOOD_INITS,
		(long long)secs);
	r = vhf_fuse_init(d.v.fe, RQ1, 0, &io);
	vhf_check(!r, "a good INIT afterwards (%s)", strerror(-r));
	r = vhf_fuse_getattr(d.v.fe, RQ1, FUSE_ROOT_ID, &a);
	vhf_check(!r, "and the daemon still serves (%s)", strerror(-r));
	if (get_page(d.msock, &rr) == 200) {
		malformed = sample(rr.body,
				   "vfsd_fuse_errors_total{errno=\"EINVAL\"}");
		vhf_check(
			malformed == FLOOD_LEN + FLOOD_NAMES &&
				sample(rr.body,
				       "vfsd_fuse_errors_total{errno=\"EPROTO\"}") ==
					FLOOD_INITS,
			"the page counts them: EINVAL %lld, EPROTO %lld",
			malformed,
			sample(rr.body,
			       "vfsd_fuse_errors_total{errno=\"EPROTO\"}"));
	}
	resp_free(&rr);
	dmn_stop_check(&d);
	/*
	 * The bound: the start and end lines (a handful), then per second
	 * of flood at most the burst of 20 and one "suppressed" line, and
	 * one more of each for the second the flood ended in.
	 */
	lines = count_lines(d.v.log);
	bound = 10 + 21 * (int)(secs + 2);
	vhf_check(
		lines >= 0 && lines <= bound &&
			lines < (FLOOD_LEN + FLOOD_NAMES + FLOOD_INITS) / 10,
		"%d malformed requests in %lld s left %d log lines (bound %d)",
		FLOOD_LEN + FLOOD_NAMES + FLOOD_INITS, (long long)secs, lines,
		bound);
	vhf_check(log_has(d.v.log, "log rate limit: suppressed "),
		  "the log says how many lines it suppressed");
	if (vhf_fails)
		tu_dump_log(d.v.log);
	vhf_daemon_cleanup(&d.v);
}

static const struct vhf_case cases[] = {
	{ "counts", case_counts },     { "clients", case_clients },
	{ "threads", case_threads },   { "socket", case_socket },
	{ "logflood", case_logflood }, { "split", case_split },
	{ "bounce", case_bounce },
};

int main(int argc, char **argv)
{
	const struct vhf_harness h = {
		.prog = "vhost-metrics",
		.cases = cases,
		.ncases = sizeof(cases) / sizeof(cases[0]),
		.need_root = true,
		.tmpdir_mode = 0755,
	};

	return vhf_run_cases(&h, argc, argv);
}
