// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * engines: the file I/O of a batch of READs or WRITEs, done the ways a
 * queue thread could do it, on the same file and the same kind of memory
 * (a shared memfd mapping, as guest memory is), timed alone:
 *
 *   inline    the queue thread calls preadv/pwritev once per request
 *             (what vfsd does for a request it serves inline)
 *   pool      the queue thread hands each request to a worker thread
 *             (mutex + condition variable, as vfsd's worker pool) and
 *             waits for the batch
 *   uring     one io_uring_enter submits the batch and waits for it; the
 *             kernel serves what it can at once (page-cache hits) and
 *             punts the rest to its own workers
 *   uring-async  the same with IOSQE_ASYNC: every request on the
 *             kernel's workers, the io_uring form of a pool
 *
 *   engines [-s SIZE] [-d DEPTH] [-t SEC] [-w] [-W WORKERS] [-S] [-D DIR]
 *           [-o OFFSET] [ENGINE...]
 *
 *   -s SIZE     bytes per request (default 4096)
 *   -d DEPTH    requests per batch (default 16)
 *   -t SEC      seconds per engine (default 2)
 *   -w          WRITE instead of READ
 *   -W N        pool threads (default: DEPTH)
 *   -S          run under a seccomp filter of vfsd's size first (every
 *               system call then pays for it, as in the daemon)
 *   -D DIR      where the 64 MiB file goes (default /tmp)
 *   -o OFFSET   each buffer starts OFFSET bytes into its page (default
 *               0: page-aligned, as the guest's page-cache pages are)
 *
 * Prints, per engine, requests per second and CPU microseconds per
 * request of the whole process (every thread, the kernel's io_uring
 * workers included: they belong to the process). A benchmark: it asserts
 * nothing. See bench/RESULTS.md ("io_uring against the pool").
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FILE_BYTES (64u << 20)

static size_t req_size = 4096;
static unsigned depth = 16;
static double seconds = 2;
static bool writing;
static size_t buf_off;
static unsigned nworkers;
static int file_fd = -1;
static uint8_t *mem; /* depth buffers of req_size */
static struct iovec *iov; /* one per request */
static off_t *offs;

static uint64_t ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "engines: %s: %s\n", what, strerror(err));
	exit(1);
}

/* Next batch's offsets: spread over the file, aligned to the size. */
static void next_offsets(uint64_t *seq)
{
	uint64_t slots = FILE_BYTES / req_size;

	for (unsigned i = 0; i < depth; i++)
		offs[i] = (off_t)(((*seq)++ * 2654435761u) % slots * req_size);
}

static int one_io(unsigned i)
{
	ssize_t r = writing ? pwritev(file_fd, &iov[i], 1, offs[i]) :
			      preadv(file_fd, &iov[i], 1, offs[i]);

	return r == (ssize_t)req_size ? 0 : (r < 0 ? -errno : -EIO);
}

/* --- inline --- */

static int batch_inline(void *unused)
{
	(void)unused;
	for (unsigned i = 0; i < depth; i++) {
		int r = one_io(i);

		if (r)
			return r;
	}
	return 0;
}

/* --- pool --- */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER;
static unsigned pool_next, pool_queued, pool_left;
static int pool_err;
static bool pool_stop;

static void *pool_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		unsigned i;
		int r;

		while (!pool_queued && !pool_stop)
			pthread_cond_wait(&pool_work, &pool_lock);
		if (pool_stop)
			break;
		i = pool_next++;
		pool_queued--;
		pthread_mutex_unlock(&pool_lock);
		r = one_io(i);
		pthread_mutex_lock(&pool_lock);
		if (r)
			pool_err = r;
		if (--pool_left == 0)
			pthread_cond_signal(&pool_done);
	}
	pthread_mutex_unlock(&pool_lock);
	return NULL;
}

/* Each request signalled on its own, as vfsd's dispatch hands them over
 * one by one while it pops them. */
static int batch_pool(void *unused)
{
	int r;

	(void)unused;
	pthread_mutex_lock(&pool_lock);
	pool_next = 0;
	pool_left = depth;
	pool_err = 0;
	for (unsigned i = 0; i < depth; i++) {
		pool_queued++;
		pthread_cond_signal(&pool_work);
	}
	while (pool_left)
		pthread_cond_wait(&pool_done, &pool_lock);
	r = pool_err;
	pthread_mutex_unlock(&pool_lock);
	return r;
}

/* --- io_uring --- */

static struct io_uring ring;
static unsigned sqe_flags;

static int batch_uring(void *unused)
{
	struct io_uring_cqe *cqe;
	int r = 0;

	(void)unused;
	for (unsigned i = 0; i < depth; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (writing)
			io_uring_prep_writev(sqe, file_fd, &iov[i], 1,
					     (uint64_t)offs[i]);
		else
			io_uring_prep_readv(sqe, file_fd, &iov[i], 1,
					    (uint64_t)offs[i]);
		sqe->flags |= sqe_flags;
	}
	r = io_uring_submit_and_wait(&ring, depth);
	if (r < 0)
		return r;
	r = 0;
	for (unsigned done = 0; done < depth; done++) {
		int e = io_uring_wait_cqe(&ring, &cqe);

		if (e)
			return e;
		if (cqe->res != (int)req_size)
			r = cqe->res < 0 ? cqe->res : -EIO;
		io_uring_cqe_seen(&ring, cqe);
	}
	return r;
}

/* --- seccomp: a filter as long as vfsd's, so each call pays as there --- */

static void load_filter(void)
{
	/* Rules for calls the benchmark never makes, ahead of those it
	 * does, then an allowlist: the kernel walks the filter per call. */
	static const char *const filler[] = {
		"openat",
		"openat2",
		"newfstatat",
		"statx",
		"getdents64",
		"renameat2",
		"unlinkat",
		"mkdirat",
		"mknodat",
		"symlinkat",
		"linkat",
		"readlinkat",
		"fchmod",
		"fchmodat",
		"fchownat",
		"utimensat",
		"fgetxattr",
		"fsetxattr",
		"flistxattr",
		"fremovexattr",
		"fallocate",
		"fsync",
		"fdatasync",
		"syncfs",
		"lseek",
		"fcntl",
		"flock",
		"copy_file_range",
		"statfs",
		"fstatfs",
		"setfsuid",
		"setfsgid",
		"epoll_wait",
		"epoll_ctl",
		"eventfd2",
		"recvmsg",
		"sendmsg",
		"ppoll",
		"getpid",
		"gettid",
		"rt_sigaction",
		"sigaltstack",
		"tgkill",
		"prctl",
		"name_to_handle_at",
		"open_by_handle_at",
		"capget",
		"capset",
	};
	static const char *const used[] = {
		"preadv",
		"pwritev",
		"futex",
		"io_uring_enter",
		"io_uring_setup",
		"io_uring_register",
		"mmap",
		"munmap",
		"mprotect",
		"madvise",
		"brk",
		"clone",
		"clone3",
		"rseq",
		"set_robust_list",
		"exit",
		"exit_group",
		"write",
		"read",
		"close",
		"clock_gettime",
		"clock_nanosleep",
		"rt_sigprocmask",
		"sched_yield",
		"getrandom",
		"fstat",
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = 0;

	if (!ctx)
		die("seccomp_init", ENOMEM);
	for (size_t i = 0; !r && i < sizeof(filler) / sizeof(*filler); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				     seccomp_syscall_resolve_name(filler[i]),
				     0);
	for (size_t i = 0; !r && i < sizeof(used) / sizeof(*used); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				     seccomp_syscall_resolve_name(used[i]), 0);
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r)
		die("seccomp", -r);
}

/* --- driver --- */

struct engine {
	const char *name;
	int (*batch)(void *);
};

static const struct engine engines[] = {
	{ "inline", batch_inline },
	{ "pool", batch_pool },
	{ "uring", batch_uring },
	{ "uring-async", batch_uring },
};

static void run(const struct engine *e)
{
	pthread_t *threads = NULL;
	uint64_t seq = 0, batches = 0, t0, c0, t1, c1;
	int r = 0;

	if (!strcmp(e->name, "pool")) {
		threads = calloc(nworkers, sizeof(*threads));
		pool_stop = false;
		for (unsigned i = 0; i < nworkers; i++)
			if (pthread_create(&threads[i], NULL, pool_main, NULL))
				die("pthread_create", errno);
	} else if (!strncmp(e->name, "uring", 5)) {
		r = io_uring_queue_init(depth * 2, &ring, 0);
		if (r)
			die("io_uring_queue_init", -r);
		sqe_flags = strcmp(e->name, "uring-async") ? 0 : IOSQE_ASYNC;
	}
	/* warm up: the file in the page cache, the threads started */
	for (int i = 0; i < 50 && !r; i++) {
		next_offsets(&seq);
		r = e->batch(NULL);
	}
	t0 = ns(CLOCK_MONOTONIC);
	c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
	do {
		for (int i = 0; i < 64 && !r; i++, batches++) {
			next_offsets(&seq);
			r = e->batch(NULL);
		}
		t1 = ns(CLOCK_MONOTONIC);
	} while (!r && t1 - t0 < (uint64_t)(seconds * 1e9));
	c1 = ns(CLOCK_PROCESS_CPUTIME_ID);
	if (r)
		die(e->name, -r);
	{
		double reqs = (double)batches * depth;
		double secs = (double)(t1 - t0) / 1e9;

		printf("%-12s %-5s %8zu %5u %12.0f %10.1f %10.2f\n", e->name,
		       writing ? "write" : "read", req_size, depth, reqs / secs,
		       reqs * req_size / secs / (1 << 20),
		       (double)(c1 - c0) / 1e3 / reqs);
	}
	if (threads) {
		pthread_mutex_lock(&pool_lock);
		pool_stop = true;
		pthread_cond_broadcast(&pool_work);
		pthread_mutex_unlock(&pool_lock);
		for (unsigned i = 0; i < nworkers; i++)
			pthread_join(threads[i], NULL);
		free(threads);
	} else if (!strncmp(e->name, "uring", 5)) {
		io_uring_queue_exit(&ring);
	}
}

int main(int argc, char **argv)
{
	const char *dir = "/tmp";
	bool filter = false;
	char path[4096];
	int memfd, c;
	uint8_t *fill;

	while ((c = getopt(argc, argv, "s:d:t:wW:SD:o:h")) != -1) {
		switch (c) {
		case 's':
			req_size = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			depth = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		case 'w':
			writing = true;
			break;
		case 'W':
			nworkers = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'S':
			filter = true;
			break;
		case 'D':
			dir = optarg;
			break;
		case 'o':
			buf_off = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-s SIZE] [-d DEPTH] [-t SEC] [-w] "
				"[-W WORKERS] [-S] [-D DIR] [-o OFFSET] "
				"[inline|pool|uring|uring-async]...\n",
				argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!req_size || req_size > (1u << 20) || req_size % 512 || !depth ||
	    depth > 256 || seconds <= 0 || buf_off >= 4096) {
		fprintf(stderr, "engines: bad size, depth or time\n");
		return 2;
	}
	if (!nworkers)
		nworkers = depth;

	snprintf(path, sizeof(path), "%s/engines.XXXXXX", dir);
	file_fd = mkstemp(path);
	if (file_fd < 0)
		die(path, errno);
	unlink(path);
	fill = malloc(1u << 20);
	if (!fill)
		die("malloc", ENOMEM);
	memset(fill, 0x5a, 1u << 20);
	for (unsigned off = 0; off < FILE_BYTES; off += 1u << 20)
		if (pwrite(file_fd, fill, 1u << 20, off) != 1 << 20)
			die("filling the file", errno);
	free(fill);

	/* a page of room per buffer for -o */
	memfd = memfd_create("engines-guest", 0);
	if (memfd < 0 || ftruncate(memfd, (off_t)(depth * (req_size + 4096))))
		die("memfd", errno);
	mem = mmap(NULL, depth * (req_size + 4096), PROT_READ | PROT_WRITE,
		   MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED)
		die("mmap", errno);
	memset(mem, 0xa5, depth * (req_size + 4096));
	iov = calloc(depth, sizeof(*iov));
	offs = calloc(depth, sizeof(*offs));
	if (!iov || !offs)
		die("calloc", ENOMEM);
	for (unsigned i = 0; i < depth; i++)
		iov[i] = (struct iovec){ mem + i * (req_size + 4096) + buf_off,
					 req_size };
	if (filter)
		load_filter();

	printf("%-12s %-5s %8s %5s %12s %10s %10s\n", "engine", "op", "size",
	       "depth", "req/s", "MiB/s", "cpu us/req");
	for (int i = optind == argc ? 0 : optind; i < argc || optind == argc;
	     i++) {
		const char *want = optind == argc ? NULL : argv[i];

		for (size_t k = 0; k < sizeof(engines) / sizeof(*engines); k++)
			if (!want || !strcmp(want, engines[k].name))
				run(&engines[k]);
		if (!want)
			break;
	}
	return 0;
}
