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
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
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

struct test {
	const char *name;
	enum op op;
	uint32_t bs;
};

static const struct test all_tests[] = {
	{ "getattr", OP_GETATTR, 0 },	    { "lookup", OP_LOOKUP, 0 },
	{ "read-4k", OP_READ, 4096 },	    { "read-128k", OP_READ, 131072 },
	{ "read-1m", OP_READ, 1048576 },    { "write-4k", OP_WRITE, 4096 },
	{ "write-128k", OP_WRITE, 131072 }, { "write-1m", OP_WRITE, 1048576 },
};

#define NR_TESTS (sizeof(all_tests) / sizeof(all_tests[0]))

static struct {
	unsigned queues;
	unsigned depth;
	double seconds;
	uint64_t count;
	bool csv;
	bool spin;
	bool indirect;
	const char *tests;
	const char *socket;
	const char *dir;
	const char *label;
} cfg = { .queues = 1, .depth = 1, .seconds = 3.0 };

static struct vhf *fe;
static uint64_t read_node, read_fh, write_node, write_fh;
static struct fuse_init_out init;

struct slot {
	struct vhf_buf in, out;
	uint32_t in_len, out_len, data_len;
	uint64_t t0;
	uint64_t unique;
};

struct worker {
	pthread_t thread;
	unsigned q;
	const struct test *t;
	uint64_t ops;
	uint64_t bytes;
	uint64_t *lat; /* ns per op */
	size_t nlat, cap;
	uint64_t lookups;
	int err;
	struct slot slots[MAX_DEPTH];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Lay the request for @w->t in @s, with offset @off for I/O. */
static void prepare(struct worker *w, struct slot *s, uint64_t off)
{
	struct fuse_in_header h;
	uint8_t *p = s->in.hva;
	uint64_t node = read_node;

	switch (w->t->op) {
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
					  .size = w->t->bs };

		memcpy(p + sizeof(h), &a, sizeof(a));
		s->in_len = sizeof(h) + sizeof(a);
		s->out_len = sizeof(struct fuse_out_header) + w->t->bs;
		break;
	}
	case OP_WRITE: {
		struct fuse_write_in a = { .fh = write_fh,
					   .offset = off,
					   .size = w->t->bs };

		node = write_node;
		memcpy(p + sizeof(h), &a, sizeof(a));
		s->in_len = sizeof(h) + sizeof(a) + w->t->bs;
		s->out_len = sizeof(struct fuse_out_header) +
			     sizeof(struct fuse_write_out);
		break;
	}
	}
	vhf_fuse_in_header(fe, &h,
			   w->t->op == OP_GETATTR ? FUSE_GETATTR :
			   w->t->op == OP_LOOKUP  ? FUSE_LOOKUP :
			   w->t->op == OP_READ	  ? FUSE_READ :
						    FUSE_WRITE,
			   node, s->in_len);
	memcpy(p, &h, sizeof(h));
	s->unique = h.unique;
}

/* Publish @s the way the Linux driver lays it: header, argument, payload
 * each in a descriptor; out header and reply body likewise. */
static int submit(struct worker *w, struct slot *s)
{
	struct vhf_seg segs[4];
	unsigned n = 0;
	uint32_t arg = s->in_len - sizeof(struct fuse_in_header);

	if (w->t->op == OP_WRITE)
		arg -= w->t->bs;
	segs[n++] = (struct vhf_seg){ s->in.gpa, sizeof(struct fuse_in_header),
				      false };
	segs[n++] = (struct vhf_seg){ s->in.gpa + sizeof(struct fuse_in_header),
				      arg, false };
	if (w->t->op == OP_WRITE)
		segs[n++] = (struct vhf_seg){
			s->in.gpa + sizeof(struct fuse_in_header) + arg,
			w->t->bs, false
		};
	segs[n++] = (struct vhf_seg){ s->out.gpa, s->out_len, true };
	s->t0 = now_ns();
	return vhf_submit(fe, w->q, segs, n, cfg.indirect, s);
}

static int record(struct worker *w, uint64_t ns)
{
	if (w->nlat == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 65536;
		uint64_t *n = realloc(w->lat, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		w->lat = n;
		w->cap = cap;
	}
	w->lat[w->nlat++] = ns;
	return 0;
}

static volatile bool stop_flag;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t per_q = cfg.count ? (cfg.count + cfg.queues - 1) / cfg.queues :
				     UINT64_MAX;
	uint64_t bs = w->t->bs ? w->t->bs : 1, nblocks = FILE_BYTES / bs;
	uint64_t next_block = (uint64_t)w->q * 7919, issued = 0;
	unsigned i;
	int r = 0;

	for (i = 0; i < cfg.depth && issued < per_q; i++, issued++) {
		prepare(w, &w->slots[i], (next_block++ % nblocks) * bs);
		r = submit(w, &w->slots[i]);
		if (r)
			goto out;
	}
	while (vhf_inflight(fe, w->q)) {
		struct fuse_out_header oh;
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
		memcpy(&oh, s->out.hva, sizeof(oh));
		if (oh.error || oh.unique != s->unique || len != s->out_len) {
			fprintf(stderr,
				"vfsd-bench: %s: reply error %d len %u (want "
				"%u)\n",
				w->t->name, oh.error, len, s->out_len);
			r = oh.error ? oh.error : -EPROTO;
			goto out;
		}
		if (w->t->op == OP_WRITE) {
			struct fuse_write_out wo;

			memcpy(&wo, (uint8_t *)s->out.hva + sizeof(oh),
			       sizeof(wo));
			if (wo.size != w->t->bs) {
				fprintf(stderr,
					"vfsd-bench: %s: wrote %u of %u\n",
					w->t->name, wo.size, w->t->bs);
				r = -EIO;
				goto out;
			}
		}
		r = record(w, now_ns() - s->t0);
		if (r)
			goto out;
		w->ops++;
		w->bytes += w->t->bs;
		if (w->t->op == OP_LOOKUP)
			w->lookups++;
		if (stop_flag || issued >= per_q)
			continue;
		prepare(w, s, (next_block++ % nblocks) * bs);
		r = submit(w, s);
		if (r)
			goto out;
		issued++;
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
		       "p50_us,p99_us\n");
		return;
	}
	printf("%-11s %3s %3s %9s %10s %9s %9s %9s\n", "test", "q", "qd", "ops",
	       "ops/s", "MiB/s", "p50 us", "p99 us");
}

static int run_test(const struct test *t)
{
	struct worker *ws = calloc(cfg.queues, sizeof(*ws));
	size_t total = 0, k = 0;
	uint64_t ops = 0, bytes = 0, *lat = NULL, t0, t1;
	unsigned q, i;
	double secs;
	int r = 0;

	if (!ws)
		return -ENOMEM;
	if ((t->op == OP_WRITE && t->bs > init.max_write) ||
	    (t->op == OP_READ && init.max_pages &&
	     t->bs > init.max_pages * 4096u)) {
		if (cfg.csv)
			printf("%s,%s,%u,%u,0,0,,,,\n", cfg.label, t->name,
			       cfg.queues, cfg.depth);
		else
			printf("%-11s skipped: above max_write/max_pages\n",
			       t->name);
		free(ws);
		return 0;
	}
	for (q = 0; q < cfg.queues && !r; q++) {
		ws[q].q = 1 + q;
		ws[q].t = t;
		for (i = 0; i < cfg.depth && !r; i++) {
			struct slot *s = &ws[q].slots[i];

			r = vhf_alloc(fe,
				      4096 + (t->op == OP_WRITE ? t->bs : 0),
				      &s->in);
			if (!r)
				r = vhf_alloc(
					fe,
					4096 + (t->op == OP_READ ? t->bs : 0),
					&s->out);
			if (!r && t->op == OP_WRITE)
				memset(s->in.hva, 0x5a, 4096 + t->bs);
		}
	}
	if (r) {
		fprintf(stderr, "vfsd-bench: guest memory: %s\n", strerror(-r));
		goto out_free;
	}
	stop_flag = false;
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
	secs = (double)(t1 - t0) / 1e9;

	for (q = 0; q < cfg.queues; q++) {
		if (ws[q].err && !r)
			r = ws[q].err;
		ops += ws[q].ops;
		bytes += ws[q].bytes;
		total += ws[q].nlat;
	}
	lat = malloc((total ? total : 1) * sizeof(*lat));
	if (!lat) {
		r = -ENOMEM;
		goto out_free;
	}
	for (q = 0; q < cfg.queues; q++) {
		memcpy(lat + k, ws[q].lat, ws[q].nlat * sizeof(*lat));
		k += ws[q].nlat;
	}
	qsort(lat, total, sizeof(*lat), cmp_u64);
	if (r) {
		fprintf(stderr, "vfsd-bench: %s failed: %s\n", t->name,
			strerror(-r));
	} else if (cfg.csv) {
		printf("%s,%s,%u,%u,%llu,%.3f,%.0f,%.1f,%.1f,%.1f\n", cfg.label,
		       t->name, cfg.queues, cfg.depth, (unsigned long long)ops,
		       secs, ops / secs, t->bs ? bytes / secs / 1048576.0 : 0.0,
		       total ? lat[total / 2] / 1e3 : 0.0,
		       total ? lat[total * 99 / 100] / 1e3 : 0.0);
	} else {
		char mib[16] = "-";

		if (t->bs)
			snprintf(mib, sizeof(mib), "%.1f",
				 bytes / secs / 1048576.0);
		printf("%-11s %3u %3u %9llu %10.0f %9s %9.1f %9.1f\n", t->name,
		       cfg.queues, cfg.depth, (unsigned long long)ops,
		       ops / secs, mib, total ? lat[total / 2] / 1e3 : 0.0,
		       total ? lat[total * 99 / 100] / 1e3 : 0.0);
	}
	fflush(stdout);
	/* give back the lookup counts the lookups took */
	for (q = 0; q < cfg.queues && !r; q++)
		if (ws[q].lookups)
			r = vhf_fuse_forget(fe, read_node, ws[q].lookups);
out_free:
	free(lat);
	for (q = 0; q < cfg.queues; q++) {
		for (i = 0; i < cfg.depth; i++) {
			vhf_free(fe, &ws[q].slots[i].in);
			vhf_free(fe, &ws[q].slots[i].out);
		}
		free(ws[q].lat);
	}
	free(ws);
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
		"  -T, --tests LIST  comma-separated subset of: getattr lookup "
		"read-4k read-128k read-1m write-4k write-128k write-1m\n"
		"  -D, --dir DIR     shared directory (default: a temporary "
		"one)\n"
		"  -S, --socket P    connect to a running daemon\n"
		"  -l, --label NAME  first column in --csv output\n"
		"  -c, --csv         comma-separated output\n"
		"  -i, --indirect    lay requests in indirect descriptors\n"
		"  -s, --spin        spin on the used ring instead of "
		"waiting on the call eventfd\n",
		prog, prog, MAX_DEPTH);
}

static bool wanted(const char *name)
{
	const char *p = cfg.tests;
	size_t n = strlen(name);

	if (!p)
		return true;
	while ((p = strstr(p, name))) {
		if ((p == cfg.tests || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },
		{ "time", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "tests", required_argument, NULL, 'T' },
		{ "dir", required_argument, NULL, 'D' },
		{ "socket", required_argument, NULL, 'S' },
		{ "label", required_argument, NULL, 'l' },
		{ "csv", no_argument, NULL, 'c' },
		{ "indirect", no_argument, NULL, 'i' },
		{ "spin", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vhf_opts opts = { .timeout_ms = 10000, .queue_size = 256 };
	char tmp[64] = "", sock[4200];
	pid_t pid = -1;
	size_t per_slot;
	unsigned i;
	int c, r, status, fails = 0;

	while ((c = getopt_long(argc, argv, "q:d:t:n:T:D:S:l:cish", lopts,
				NULL)) != -1) {
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
		case 's':
			cfg.spin = true;
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!cfg.queues || cfg.queues >= VHF_MAX_QUEUES || !cfg.depth ||
	    cfg.depth > MAX_DEPTH || cfg.seconds <= 0 ||
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
	}

	/* guest memory for every slot of the largest test, plus rings */
	per_slot = 8192 + (1u << 20);
	opts.mem_size = 64ul << 20;
	if (per_slot * cfg.queues * cfg.depth + (32ul << 20) > opts.mem_size)
		opts.mem_size =
			per_slot * cfg.queues * cfg.depth + (32ul << 20);
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
	print_header();
	for (i = 0; i < NR_TESTS; i++) {
		if (!wanted(all_tests[i].name))
			continue;
		if (run_test(&all_tests[i]))
			fails++;
		if (vhf_inflight(fe, 1))
			break; /* a test died with requests outstanding */
	}
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
