// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfsd-bench: load generator for virtio-fs daemons, driven directly over
 * vhost-user with the tests/vhost frontend (no guest kernel in the way).
 *
 *   vfsd-bench [OPTIONS] -- DAEMON ARGS...     start DAEMON ({sock}, {dir})
 *   vfsd-bench [OPTIONS] --socket PATH --dir DIR   use a running daemon
 *
 * Each test keeps DEPTH requests in flight on each of QUEUES request
 * queues (one thread per queue) for a fixed time or a fixed count, and
 * reports ops/s, MiB/s and latency percentiles measured from publishing a
 * chain to seeing its used element. Tests: getattr, lookup, read and write
 * at 4 KiB, 128 KiB and 1 MiB (reads from a 64 MiB file in the host page
 * cache, writes over a 64 MiB file). Benchmarks report; they never assert.
 *
 * Mixed tests (mixed-read, mixed-write; "-T mixed" selects both) keep
 * BIG_DEPTH large READs or WRITEs (-K, -b: 4 of 1 MiB by default) in flight
 * on a request queue and, interleaved on the same queue, DEPTH GETATTRs.
 * They report two rows: TEST/getattr (the small requests' rate and latency:
 * what a stalled queue costs them) and TEST/KxSIZE, e.g. mixed-read/4x1m
 * (the large requests' MiB/s and latency); both show DEPTH as queue depth.
 *
 * Daemon CPU: when it knows the daemon's pid (it started the daemon, or
 * --daemon-pid), every row also carries the CPU time the daemon used over
 * the test's timed phase: utime+stime of the daemon and of all its
 * descendants (a namespace sandbox serves from a child process), read from
 * /proc just before the first request of the test and after the last
 * reply, and that time divided by the test's requests (both rows of a
 * mixed test: all its requests).
 *
 * Idle mode (--idle SEC): set everything up, let the daemon idle SEC
 * seconds, report the CPU ticks, run time and wakeups of its threads over
 * that time, then the latency of the first GETATTR after the idle period
 * and the median of the next ones.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"

#define FILE_BYTES (64ull << 20)
#define READ_FILE "vfsd-bench.read"
#define WRITE_FILE "vfsd-bench.write"
#define MAX_DEPTH 128

enum op { OP_GETATTR, OP_LOOKUP, OP_READ, OP_WRITE };

/* What one slot sends: an operation and its I/O size. */
struct load {
	enum op op;
	uint32_t bs;
};

struct test {
	const char *name;
	struct load fg; /* the measured stream, DEPTH per queue */
	bool mixed; /* plus BIG_DEPTH large bg_op per queue */
	enum op bg_op;
};

static const struct test all_tests[] = {
	{ "getattr", { OP_GETATTR, 0 } },
	{ "lookup", { OP_LOOKUP, 0 } },
	{ "read-4k", { OP_READ, 4096 } },
	{ "read-128k", { OP_READ, 131072 } },
	{ "read-1m", { OP_READ, 1048576 } },
	{ "write-4k", { OP_WRITE, 4096 } },
	{ "write-128k", { OP_WRITE, 131072 } },
	{ "write-1m", { OP_WRITE, 1048576 } },
	{ "mixed-read", { OP_GETATTR, 0 }, true, OP_READ },
	{ "mixed-write", { OP_GETATTR, 0 }, true, OP_WRITE },
};

#define NR_TESTS (sizeof(all_tests) / sizeof(all_tests[0]))

static struct {
	unsigned queues;
	unsigned depth;
	unsigned big_depth;
	uint32_t big_bs;
	double seconds;
	uint64_t count;
	bool csv;
	bool spin;
	bool indirect;
	unsigned data_off; /* file data this far into its page */
	const char *tests;
	const char *socket;
	const char *dir;
	const char *label;
	pid_t daemon_pid; /* CPU accounting; 0: none */
	double idle; /* idle mode: seconds */
} cfg = { .queues = 1,
	  .depth = 1,
	  .big_depth = 4,
	  .big_bs = 1u << 20,
	  .seconds = 3.0 };

static struct vhf *fe;
static uint64_t read_node, read_fh, write_node, write_fh;
static struct fuse_init_out init;

/* Latencies and counts of one stream of requests. */
struct stream {
	uint64_t ops;
	uint64_t bytes;
	uint64_t *lat; /* ns per op */
	size_t nlat, cap;
	uint64_t next_block; /* next offset, in units of the I/O size */
};

struct slot {
	struct vhf_buf in, out;
	const struct load *ld;
	struct stream *st;
	uint32_t in_len, out_len, data_len;
	uint64_t t0;
	uint64_t unique;
};

struct worker {
	pthread_t thread;
	unsigned q;
	const struct test *t;
	struct load bg; /* mixed tests: the large requests */
	struct stream fg_st, bg_st;
	unsigned nslots; /* depth, plus big_depth for mixed tests */
	uint64_t lookups;
	int err;
	struct slot slots[2 * MAX_DEPTH];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU use of a process tree, from /proc. */
struct cpu_sample {
	uint64_t ticks; /* utime+stime(+cutime+cstime) of every process */
	uint64_t run_ns; /* schedstat: on-CPU time of the live threads */
	uint64_t wakeups; /* schedstat: times those threads were run */
};

#define MAX_TREE 256

/* Add what /proc/@pid/stat and /proc/@pid/task/{*}/schedstat say to @cs
 * and append @pid's children to @pids. 0 or -errno (the process may have
 * gone: the caller ignores that). */
static int sample_process(pid_t pid, struct cpu_sample *cs, pid_t *pids,
			  size_t *npids)
{
	char path[320], buf[1024], *p;
	unsigned long long f[15];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* after the command's closing parenthesis: field 3 (state) on;
	 * utime, stime, cutime, cstime are fields 14 to 17 */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p += 2;
	for (i = 0; i < 15; i++) {
		char *end;

		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		f[i] = strtoull(++p, &end, 10);
	}
	/* f[i] is field i + 4 */
	cs->ticks += f[10] + f[11] + f[12] + f[13];

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned long long run, wait, slices;
		FILE *fp;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat",
			 (int)pid, de->d_name);
		fp = fopen(path, "re");
		if (fp) {
			if (fscanf(fp, "%llu %llu %llu", &run, &wait,
				   &slices) == 3) {
				cs->run_ns += run;
				cs->wakeups += slices;
			}
			fclose(fp);
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children",
			 (int)pid, de->d_name);
		fp = fopen(path, "re");
		if (fp) {
			int child;

			while (fscanf(fp, "%d", &child) == 1)
				if (*npids < MAX_TREE)
					pids[(*npids)++] = child;
			fclose(fp);
		}
	}
	closedir(d);
	return 0;
}

/* CPU use so far of the daemon and all its descendants. Children already
 * reaped count through their parent's cutime/cstime; threads that have
 * exited count in ticks, not in run_ns or wakeups. */
static void sample_cpu(struct cpu_sample *cs)
{
	pid_t pids[MAX_TREE];
	size_t n = 0, i;

	memset(cs, 0, sizeof(*cs));
	if (cfg.daemon_pid <= 0)
		return;
	pids[n++] = cfg.daemon_pid;
	for (i = 0; i < n; i++)
		sample_process(pids[i], cs, pids, &n);
}

static double ticks_to_s(uint64_t ticks)
{
	static long hz;

	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	return hz > 0 ? (double)ticks / (double)hz : 0.0;
}

/* Lay the request for @s->ld in @s, at the stream's next offset for I/O. */
static void prepare(struct slot *s)
{
	const struct load *ld = s->ld;
	uint64_t bs = ld->bs ? ld->bs : 1, nblocks = FILE_BYTES / bs;
	uint64_t off = (s->st->next_block++ % nblocks) * bs;
	struct fuse_in_header h;
	uint8_t *p = s->in.hva;
	uint64_t node = read_node;

	switch (ld->op) {
	case OP_GETATTR: {
		struct fuse_getattr_in a = { 0 };

		memcpy(p + sizeof(h), &a, sizeof(a));
		s->in_len = sizeof(h) + sizeof(a);
		s->out_len = sizeof(struct fuse_out_header) +
			     sizeof(struct fuse_attr_out);
		break;
	}
	case OP_LOOKUP:
		node = FUSE_ROOT_ID;
		memcpy(p + sizeof(h), READ_FILE, sizeof(READ_FILE));
		s->in_len = sizeof(h) + sizeof(READ_FILE);
		s->out_len = sizeof(struct fuse_out_header) +
			     sizeof(struct fuse_entry_out);
		break;
	case OP_READ: {
		struct fuse_read_in a = { .fh = read_fh,
					  .offset = off,
					  .size = ld->bs };

		memcpy(p + sizeof(h), &a, sizeof(a));
		s->in_len = sizeof(h) + sizeof(a);
		s->out_len = sizeof(struct fuse_out_header) + ld->bs;
		break;
	}
	case OP_WRITE: {
		struct fuse_write_in a = { .fh = write_fh,
					   .offset = off,
					   .size = ld->bs };

		node = write_node;
		memcpy(p + sizeof(h), &a, sizeof(a));
		s->in_len = sizeof(h) + sizeof(a) + ld->bs;
		s->out_len = sizeof(struct fuse_out_header) +
			     sizeof(struct fuse_write_out);
		break;
	}
	}
	vhf_fuse_in_header(fe, &h,
			   ld->op == OP_GETATTR ? FUSE_GETATTR :
			   ld->op == OP_LOOKUP	? FUSE_LOOKUP :
			   ld->op == OP_READ	? FUSE_READ :
						  FUSE_WRITE,
			   node, s->in_len);
	memcpy(p, &h, sizeof(h));
	s->unique = h.unique;
}

/* Publish @s the way the Linux driver lays it: header, argument, payload
 * each in a descriptor; out header and reply body likewise. File data
 * sits page-aligned at +4096 in its buffer, as the guest's page-cache
 * pages do: a copy to or from an address a few bytes off a cache line
 * runs at a fraction of the speed on some CPUs (bench/RESULTS.md,
 * 2026-12-06, "Where the data lands"), which would measure the layout,
 * not the daemon. */
static int submit(unsigned q, struct slot *s)
{
	struct vhf_seg segs[5];
	unsigned n = 0;
	uint32_t arg = s->in_len - sizeof(struct fuse_in_header);
	bool write = s->ld->op == OP_WRITE;
	bool read = s->ld->op == OP_READ;

	if (write)
		arg -= s->ld->bs;
	segs[n++] = (struct vhf_seg){ s->in.gpa, sizeof(struct fuse_in_header),
				      false };
	segs[n++] = (struct vhf_seg){ s->in.gpa + sizeof(struct fuse_in_header),
				      arg, false };
	if (write)
		segs[n++] = (struct vhf_seg){ s->in.gpa + 4096 + cfg.data_off,
					      s->ld->bs, false };
	if (read) {
		segs[n++] = (struct vhf_seg){ s->out.gpa,
					      sizeof(struct fuse_out_header),
					      true };
		segs[n++] = (struct vhf_seg){ s->out.gpa + 4096 + cfg.data_off,
					      s->ld->bs, true };
	} else {
		segs[n++] = (struct vhf_seg){ s->out.gpa, s->out_len, true };
	}
	s->t0 = now_ns();
	return vhf_submit(fe, q, segs, n, cfg.indirect, s);
}

static int record(struct stream *st, uint64_t ns)
{
	if (st->nlat == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 65536;
		uint64_t *n = realloc(st->lat, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		st->lat = n;
		st->cap = cap;
	}
	st->lat[st->nlat++] = ns;
	return 0;
}

/* Is the reply in @s (@len bytes written) the success @s asked for? */
static int check_reply(const char *name, const struct slot *s, uint32_t len)
{
	struct fuse_out_header oh;

	memcpy(&oh, s->out.hva, sizeof(oh));
	if (oh.error || oh.unique != s->unique || len != s->out_len) {
		fprintf(stderr,
			"vfsd-bench: %s: reply error %d len %u (want %u)\n",
			name, oh.error, len, s->out_len);
		return oh.error ? oh.error : -EPROTO;
	}
	if (s->ld->op == OP_WRITE) {
		struct fuse_write_out wo;

		memcpy(&wo, (uint8_t *)s->out.hva + sizeof(oh), sizeof(wo));
		if (wo.size != s->ld->bs) {
			fprintf(stderr, "vfsd-bench: %s: wrote %u of %u\n",
				name, wo.size, s->ld->bs);
			return -EIO;
		}
	}
	return 0;
}

static volatile bool stop_flag;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t per_q = cfg.count ? (cfg.count + cfg.queues - 1) / cfg.queues :
				     UINT64_MAX;
	uint64_t issued = 0; /* measured requests; the count limits these */
	unsigned i;
	int r = 0;

	w->fg_st.next_block = (uint64_t)w->q * 7919;
	w->bg_st.next_block = (uint64_t)w->q * 13;
	for (i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];

		if (s->st == &w->fg_st) {
			if (issued >= per_q)
				continue;
			issued++;
		}
		prepare(s);
		r = submit(w->q, s);
		if (r)
			goto out;
	}
	while (vhf_inflight(fe, w->q)) {
		struct slot *s;
		uint32_t len;
		void *cookie;

		r = vhf_wait(fe, w->q, 10000, &len, &cookie);
		if (r)
			goto out;
		s = cookie;
		if (!s) {
			r = -EPROTO;
			goto out;
		}
		r = check_reply(w->t->name, s, len);
		if (!r)
			r = record(s->st, now_ns() - s->t0);
		if (r)
			goto out;
		s->st->ops++;
		s->st->bytes += s->ld->bs;
		if (s->ld->op == OP_LOOKUP)
			w->lookups++;
		/* the large requests of a mixed test run while the measured
		 * ones do */
		if (stop_flag || issued >= per_q)
			continue;
		if (s->st == &w->fg_st)
			issued++;
		prepare(s);
		r = submit(w->q, s);
		if (r)
			goto out;
	}
out:
	w->err = r;
	if (r)
		stop_flag = true;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_header(void)
{
	if (cfg.csv) {
		printf("label,test,queues,depth,ops,seconds,ops_per_s,mib_per_s,"
		       "p50_us,p99_us,daemon_cpu_s,cpu_us_per_op\n");
		return;
	}
	printf("%-19s %3s %3s %9s %10s %9s %9s %9s %9s %9s\n", "test", "q",
	       "qd", "ops", "ops/s", "MiB/s", "p50 us", "p99 us", "cpu s",
	       "cpu us/op");
}

/* One result row: @st of every worker merged; @cpu_s (the daemon's CPU
 * seconds, negative: unknown) is divided by @cpu_ops requests. Returns
 * -ENOMEM or 0. */
static int print_row(const char *name, struct worker *ws, size_t st_off,
		     unsigned depth, uint32_t bs, double secs, double cpu_s,
		     uint64_t cpu_ops)
{
	char cpu[24] = "", per_op[24] = "";
	uint64_t ops = 0, bytes = 0, *lat, p50, p99;
	size_t total = 0, k = 0;
	unsigned q;

	for (q = 0; q < cfg.queues; q++) {
		struct stream *st = (void *)((char *)&ws[q] + st_off);

		ops += st->ops;
		bytes += st->bytes;
		total += st->nlat;
	}
	lat = malloc((total ? total : 1) * sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	for (q = 0; q < cfg.queues; q++) {
		struct stream *st = (void *)((char *)&ws[q] + st_off);

		memcpy(lat + k, st->lat, st->nlat * sizeof(*lat));
		k += st->nlat;
	}
	qsort(lat, total, sizeof(*lat), cmp_u64);
	p50 = total ? lat[total / 2] : 0;
	p99 = total ? lat[total * 99 / 100] : 0;
	free(lat);
	if (cpu_s >= 0) {
		snprintf(cpu, sizeof(cpu), "%.2f", cpu_s);
		if (cpu_ops)
			snprintf(per_op, sizeof(per_op), "%.2f",
				 cpu_s * 1e6 / (double)cpu_ops);
	}
	if (cfg.csv) {
		printf("%s,%s,%u,%u,%llu,%.3f,%.0f,%.1f,%.1f,%.1f,%s,%s\n",
		       cfg.label, name, cfg.queues, depth,
		       (unsigned long long)ops, secs, ops / secs,
		       bs ? bytes / secs / 1048576.0 : 0.0, p50 / 1e3,
		       p99 / 1e3, cpu, per_op);
	} else {
		char mib[16] = "-";

		if (bs)
			snprintf(mib, sizeof(mib), "%.1f",
				 bytes / secs / 1048576.0);
		printf("%-19s %3u %3u %9llu %10.0f %9s %9.1f %9.1f %9s %9s\n",
		       name, cfg.queues, depth, (unsigned long long)ops,
		       ops / secs, mib, p50 / 1e3, p99 / 1e3,
		       cpu[0] ? cpu : "-", per_op[0] ? per_op : "-");
	}
	return 0;
}

static bool too_big(const struct load *ld)
{
	return (ld->op == OP_WRITE && ld->bs > init.max_write) ||
	       (ld->op == OP_READ && init.max_pages &&
		ld->bs > init.max_pages * 4096u);
}

static int run_test(const struct test *t)
{
	struct worker *ws = calloc(cfg.queues, sizeof(*ws));
	const struct load bg = { t->bg_op, cfg.big_bs };
	struct cpu_sample c0, c1;
	uint64_t t0, t1, all_ops = 0;
	unsigned q, i;
	double secs, cpu_s = -1;
	int r = 0;

	if (!ws)
		return -ENOMEM;
	if (too_big(&t->fg) || (t->mixed && too_big(&bg))) {
		if (cfg.csv)
			printf("%s,%s,%u,%u,0,0,,,,,,\n", cfg.label, t->name,
			       cfg.queues, cfg.depth);
		else
			printf("%-19s skipped: above max_write/max_pages\n",
			       t->name);
		free(ws);
		return 0;
	}
	for (q = 0; q < cfg.queues && !r; q++) {
		struct worker *w = &ws[q];

		w->q = 1 + q;
		w->t = t;
		w->bg = bg;
		w->nslots = cfg.depth + (t->mixed ? cfg.big_depth : 0);
		for (i = 0; i < w->nslots && !r; i++) {
			struct slot *s = &w->slots[i];
			/* mixed: the large requests go first, so that the
			 * small ones always find a queue in use */
			bool big = t->mixed && i < cfg.big_depth;
			const struct load *ld = big ? &w->bg : &t->fg;

			s->ld = ld;
			s->st = big ? &w->bg_st : &w->fg_st;
			r = vhf_alloc(fe,
				      8192 + (ld->op == OP_WRITE ? ld->bs : 0),
				      &s->in);
			if (!r)
				r = vhf_alloc(
					fe,
					8192 + (ld->op == OP_READ ? ld->bs : 0),
					&s->out);
			if (!r && ld->op == OP_WRITE)
				memset(s->in.hva, 0x5a, 8192 + ld->bs);
		}
	}
	if (r) {
		fprintf(stderr, "vfsd-bench: guest memory: %s\n", strerror(-r));
		goto out_free;
	}
	stop_flag = false;
	sample_cpu(&c0);
	t0 = now_ns();
	for (q = 0; q < cfg.queues; q++)
		pthread_create(&ws[q].thread, NULL, worker_main, &ws[q]);
	if (!cfg.count) {
		uint64_t end = t0 + (uint64_t)(cfg.seconds * 1e9);

		while (!stop_flag && now_ns() < end)
			usleep(2000);
		stop_flag = true;
	}
	for (q = 0; q < cfg.queues; q++)
		pthread_join(ws[q].thread, NULL);
	t1 = now_ns();
	sample_cpu(&c1);
	secs = (double)(t1 - t0) / 1e9;
	if (cfg.daemon_pid > 0)
		cpu_s = ticks_to_s(c1.ticks - c0.ticks);
	for (q = 0; q < cfg.queues; q++)
		all_ops += ws[q].fg_st.ops + ws[q].bg_st.ops;

	for (q = 0; q < cfg.queues; q++)
		if (ws[q].err && !r)
			r = ws[q].err;
	if (r) {
		fprintf(stderr, "vfsd-bench: %s failed: %s\n", t->name,
			strerror(-r));
	} else if (!t->mixed) {
		r = print_row(t->name, ws, offsetof(struct worker, fg_st),
			      cfg.depth, t->fg.bs, secs, cpu_s, all_ops);
	} else {
		char name[64];

		snprintf(name, sizeof(name), "%s/getattr", t->name);
		r = print_row(name, ws, offsetof(struct worker, fg_st),
			      cfg.depth, t->fg.bs, secs, cpu_s, all_ops);
		/* e.g. mixed-read/4x1m: its depth column is the small
		 * requests', so that rows of runs at several depths differ */
		if (bg.bs % (1u << 20) == 0)
			snprintf(name, sizeof(name), "%s/%ux%um", t->name,
				 cfg.big_depth, bg.bs >> 20);
		else
			snprintf(name, sizeof(name), "%s/%ux%uk", t->name,
				 cfg.big_depth, bg.bs >> 10);
		if (!r)
			r = print_row(name, ws, offsetof(struct worker, bg_st),
				      cfg.depth, bg.bs, secs, cpu_s, all_ops);
	}
	fflush(stdout);
	/* give back the lookup counts the lookups took */
	for (q = 0; q < cfg.queues && !r; q++)
		if (ws[q].lookups)
			r = vhf_fuse_forget(fe, read_node, ws[q].lookups);
out_free:
	for (q = 0; q < cfg.queues; q++) {
		for (i = 0; i < ws[q].nslots; i++) {
			vhf_free(fe, &ws[q].slots[i].in);
			vhf_free(fe, &ws[q].slots[i].out);
		}
		free(ws[q].fg_st.lat);
		free(ws[q].bg_st.lat);
	}
	free(ws);
	return r;
}

/* One GETATTR on queue @q through @s; its latency in *@ns. */
static int timed_getattr(unsigned q, struct slot *s, uint64_t *ns)
{
	uint32_t len;
	void *cookie;
	int r;

	prepare(s);
	r = submit(q, s);
	if (!r)
		r = vhf_wait(fe, q, 10000, &len, &cookie);
	if (!r && cookie != s)
		r = -EPROTO;
	if (!r)
		r = check_reply("idle", s, len);
	*ns = now_ns() - s->t0;
	return r;
}

#define IDLE_NEXT 101

/* Idle mode: the daemon's CPU use over cfg.idle seconds with every queue
 * set up and nothing to do, then how long the first request after that
 * takes (on request queue 1) and the median of the IDLE_NEXT after it. */
static int run_idle(void)
{
	static const struct load ld = { OP_GETATTR, 0 };
	struct stream st = { 0 };
	struct slot s = { .ld = &ld, .st = &st };
	uint64_t first = 0, next[IDLE_NEXT], end;
	struct cpu_sample c0, c1;
	unsigned i;
	int r;

	r = vhf_alloc(fe, 4096, &s.in);
	if (!r)
		r = vhf_alloc(fe, 4096, &s.out);
	if (r)
		goto out;
	usleep(100000); /* let the setup's last replies settle */
	sample_cpu(&c0);
	end = now_ns() + (uint64_t)(cfg.idle * 1e9);
	for (;;) {
		uint64_t t = now_ns();
		struct timespec ts;

		if (t >= end)
			break;
		ts.tv_sec = (time_t)((end - t) / 1000000000ull);
		ts.tv_nsec = (long)((end - t) % 1000000000ull);
		nanosleep(&ts, NULL);
	}
	sample_cpu(&c1);
	r = timed_getattr(1, &s, &first);
	for (i = 0; i < IDLE_NEXT && !r; i++)
		r = timed_getattr(1, &s, &next[i]);
	if (r) {
		fprintf(stderr, "vfsd-bench: idle: GETATTR failed: %s\n",
			strerror(-r));
		goto out;
	}
	qsort(next, IDLE_NEXT, sizeof(next[0]), cmp_u64);
	if (cfg.csv) {
		printf("label,test,queues,idle_s,daemon_ticks,daemon_run_us,"
		       "daemon_wakeups,first_us,next_p50_us\n");
		printf("%s,idle,%u,%.1f,%llu,%.0f,%llu,%.1f,%.1f\n", cfg.label,
		       cfg.queues, cfg.idle,
		       (unsigned long long)(c1.ticks - c0.ticks),
		       (double)(c1.run_ns - c0.run_ns) / 1e3,
		       (unsigned long long)(c1.wakeups - c0.wakeups),
		       (double)first / 1e3, (double)next[IDLE_NEXT / 2] / 1e3);
	} else {
		printf("idle %.1f s on %u request queue(s): daemon %llu ticks, "
		       "%.0f us on CPU, %llu wakeups; then GETATTR: first "
		       "%.1f us, next p50 %.1f us\n",
		       cfg.idle, cfg.queues,
		       (unsigned long long)(c1.ticks - c0.ticks),
		       (double)(c1.run_ns - c0.run_ns) / 1e3,
		       (unsigned long long)(c1.wakeups - c0.wakeups),
		       (double)first / 1e3, (double)next[IDLE_NEXT / 2] / 1e3);
	}
	fflush(stdout);
out:
	vhf_free(fe, &s.in);
	vhf_free(fe, &s.out);
	free(st.lat);
	return r;
}

/* Fill @name under the shared dir with FILE_BYTES of data. */
static int make_file(const char *name)
{
	static uint8_t buf[1 << 20];
	char path[4096];
	uint64_t done;
	int fd, r = 0;

	memset(buf, 0xa5, sizeof(buf));
	snprintf(path, sizeof(path), "%s/%s", cfg.dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (done = 0; done < FILE_BYTES; done += sizeof(buf))
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			r = -EIO;
			break;
		}
	close(fd);
	return r;
}

static int open_file(const char *name, uint64_t *node, uint64_t *fh)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	int r;

	r = vhf_fuse_lookup(fe, 1, FUSE_ROOT_ID, name, &e);
	if (!r)
		r = vhf_fuse_open(fe, 1, e.nodeid, O_RDWR, &o);
	if (r)
		return r;
	*node = e.nodeid;
	*fh = o.fh;
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [OPTIONS] -- DAEMON ARGS...  ({sock}, {dir} "
		"substituted)\n"
		"       %s [OPTIONS] --socket PATH --dir SHARED_DIR\n"
		"  -q, --queues N    request queues (default 1)\n"
		"  -d, --depth N     requests in flight per queue (default 1, "
		"max %d)\n"
		"  -t, --time SEC    seconds per test (default 3)\n"
		"  -n, --count N     requests per test instead of a time\n"
		"  -T, --tests LIST  comma-separated, of: getattr lookup "
		"read-4k read-128k read-1m write-4k write-128k write-1m\n"
		"                    mixed-read mixed-write; plain (the first "
		"eight, the default), mixed (the last two), all\n"
		"  -K, --big-depth N mixed tests: large requests in flight per "
		"queue (default 4)\n"
		"  -b, --big-bs N    mixed tests: their size in bytes (default "
		"1 MiB, at most 1 MiB)\n"
		"  -D, --dir DIR     shared directory (default: a temporary "
		"one)\n"
		"  -S, --socket P    connect to a running daemon\n"
		"  -l, --label NAME  first column in --csv output\n"
		"  -c, --csv         comma-separated output\n"
		"  -i, --indirect    lay requests in indirect descriptors\n"
		"  -s, --spin        spin on the used ring instead of "
		"waiting on the call eventfd\n"
		"  -o, --data-offset N  READ and WRITE data N bytes into its "
		"page (default 0:\n"
		"                    page-aligned, as a guest's page cache "
		"has it)\n"
		"  -I, --idle SEC    instead of the tests: idle SEC seconds, "
		"report the daemon's\n"
		"                    CPU use, then the first request's "
		"latency\n"
		"      --daemon-pid PID  the running daemon's pid, for its CPU "
		"time (--socket)\n",
		prog, prog, MAX_DEPTH);
}

/* Is @word one of the comma-separated words of @list? */
static bool in_list(const char *list, const char *word)
{
	const char *p = list;
	size_t n = strlen(word);

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

static bool wanted(const struct test *t)
{
	const char *list = cfg.tests ? cfg.tests : "plain";

	return in_list(list, t->name) || in_list(list, "all") ||
	       in_list(list, t->mixed ? "mixed" : "plain");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },
		{ "time", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "tests", required_argument, NULL, 'T' },
		{ "big-depth", required_argument, NULL, 'K' },
		{ "big-bs", required_argument, NULL, 'b' },
		{ "dir", required_argument, NULL, 'D' },
		{ "socket", required_argument, NULL, 'S' },
		{ "label", required_argument, NULL, 'l' },
		{ "csv", no_argument, NULL, 'c' },
		{ "indirect", no_argument, NULL, 'i' },
		{ "spin", no_argument, NULL, 's' },
		{ "data-offset", required_argument, NULL, 'o' },
		{ "idle", required_argument, NULL, 'I' },
		{ "daemon-pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vhf_opts opts = { .timeout_ms = 10000, .queue_size = 256 };
	char tmp[64] = "", sock[4200];
	pid_t pid = -1;
	size_t per_slot;
	unsigned i, slots;
	int c, r, status, fails = 0;

	while ((c = getopt_long(argc, argv, "q:d:t:n:T:K:b:D:S:l:ciso:I:h",
				lopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			cfg.queues = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'd':
			cfg.depth = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 't':
			cfg.seconds = strtod(optarg, NULL);
			break;
		case 'n':
			cfg.count = strtoull(optarg, NULL, 0);
			break;
		case 'T':
			cfg.tests = optarg;
			break;
		case 'K':
			cfg.big_depth = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			cfg.big_bs = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'D':
			cfg.dir = optarg;
			break;
		case 'S':
			cfg.socket = optarg;
			break;
		case 'l':
			cfg.label = optarg;
			break;
		case 'c':
			cfg.csv = true;
			break;
		case 'i':
			cfg.indirect = true;
			break;
		case 'o':
			cfg.data_off = (unsigned)strtoul(optarg, NULL, 10);
			if (cfg.data_off >= 4096)
				usage(argv[0]);
			break;
		case 's':
			cfg.spin = true;
			break;
		case 'I':
			cfg.idle = strtod(optarg, NULL);
			break;
		case 'p':
			cfg.daemon_pid = (pid_t)strtol(optarg, NULL, 0);
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!cfg.queues || cfg.queues >= VHF_MAX_QUEUES || !cfg.depth ||
	    cfg.depth > MAX_DEPTH || cfg.big_depth > MAX_DEPTH || !cfg.big_bs ||
	    cfg.big_bs > (1u << 20) || cfg.seconds <= 0 || cfg.idle < 0 ||
	    (cfg.socket && (!cfg.dir || optind < argc)) ||
	    (!cfg.socket && optind >= argc)) {
		usage(argv[0]);
		return 2;
	}
	if (!cfg.label)
		cfg.label = cfg.socket ? "daemon" : argv[optind];
	signal(SIGPIPE, SIG_IGN);

	if (!cfg.dir) {
		snprintf(tmp, sizeof(tmp), "/tmp/vfsd-bench.XXXXXX");
		if (!mkdtemp(tmp)) {
			perror("mkdtemp");
			return 1;
		}
		cfg.dir = tmp;
	}
	r = make_file(READ_FILE);
	if (!r)
		r = make_file(WRITE_FILE);
	if (r) {
		fprintf(stderr, "vfsd-bench: cannot make files in %s: %s\n",
			cfg.dir, strerror(-r));
		goto out_rm;
	}
	if (cfg.socket) {
		snprintf(sock, sizeof(sock), "%s", cfg.socket);
	} else {
		snprintf(sock, sizeof(sock), "/tmp/vfsd-bench.%d.sock",
			 (int)getpid());
		r = vhf_spawn(argv + optind, sock, cfg.dir, &pid);
		if (r) {
			fprintf(stderr, "vfsd-bench: cannot start daemon: %s\n",
				strerror(-r));
			goto out_rm;
		}
		cfg.daemon_pid = pid;
	}

	/* guest memory for every slot of the largest test, plus rings */
	per_slot = 2 * 8192 + (1u << 20); /* in and out, a page of room each */
	opts.mem_size = 64ul << 20;
	slots = cfg.depth + cfg.big_depth; /* mixed tests */
	if (per_slot * cfg.queues * slots + (32ul << 20) > opts.mem_size)
		opts.mem_size = per_slot * cfg.queues * slots + (32ul << 20);
	opts.nr_queues = 1 + cfg.queues;
	opts.daemon_pid = pid;
	opts.spin = cfg.spin;
	opts.use_indirect = cfg.indirect;
	r = vhf_connect(&fe, sock, &opts);
	if (r) {
		fprintf(stderr, "vfsd-bench: cannot set up the device: %s\n",
			strerror(-r));
		goto out_kill;
	}
	if (vhf_info(fe)->nr_queues < 1 + cfg.queues) {
		fprintf(stderr,
			"vfsd-bench: backend has %u request queue(s), %u "
			"asked\n",
			vhf_info(fe)->backend_queues - 1, cfg.queues);
		r = -EINVAL;
		goto out_disconnect;
	}
	r = vhf_fuse_init(fe, 1,
			  FUSE_MAX_PAGES | FUSE_ASYNC_READ | FUSE_BIG_WRITES,
			  &init);
	if (!r)
		r = open_file(READ_FILE, &read_node, &read_fh);
	if (!r)
		r = open_file(WRITE_FILE, &write_node, &write_fh);
	if (r) {
		fprintf(stderr, "vfsd-bench: FUSE setup: %s\n", strerror(-r));
		goto out_disconnect;
	}
	if (!cfg.csv)
		printf("# %s: max_write %u max_pages %u, %s, %s\n", cfg.label,
		       init.max_write, init.max_pages,
		       cfg.count ? "fixed count" : "fixed time",
		       cfg.spin ? "spinning" : "eventfd wait");
	if (cfg.idle > 0) {
		if (run_idle())
			fails++;
		goto out_release;
	}
	print_header();
	for (i = 0; i < NR_TESTS; i++) {
		if (!wanted(&all_tests[i]))
			continue;
		if (run_test(&all_tests[i]))
			fails++;
		if (vhf_inflight(fe, 1))
			break; /* a test died with requests outstanding */
	}
out_release:
	vhf_fuse_release(fe, 1, read_node, read_fh, O_RDWR);
	vhf_fuse_release(fe, 1, write_node, write_fh, O_RDWR);
	vhf_stop(fe);
out_disconnect:
	vhf_disconnect(fe);
out_kill:
	if (pid > 0 && vhf_reap(pid, 5000, &status)) {
		kill(pid, SIGTERM);
		if (vhf_reap(pid, 2000, &status)) {
			kill(pid, SIGKILL);
			vhf_reap(pid, 2000, &status);
		}
	}
	if (pid > 0)
		unlink(sock);
out_rm:
	if (tmp[0]) {
		char path[128];

		snprintf(path, sizeof(path), "%s/%s", tmp, READ_FILE);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", tmp, WRITE_FILE);
		unlink(path);
		rmdir(tmp);
	} else {
		char path[4200];

		snprintf(path, sizeof(path), "%s/%s", cfg.dir, READ_FILE);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", cfg.dir, WRITE_FILE);
		unlink(path);
	}
	return r || fails ? 1 : 0;
}
