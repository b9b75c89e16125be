/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Metrics: what vfsd counts while it serves, and the socket that shows it
 * (--metrics-socket).
 *
 * Counting: every thread that serves requests owns a block of counters
 * (struct metrics_counts), made on its first count and linked into a
 * registry. Only the owner writes it, with relaxed atomic stores, so the
 * request path takes no lock and shares no cache line with any other
 * thread; a reader sums the blocks with relaxed loads. When a thread ends
 * its counts are folded into a total kept for the threads gone. With
 * --metrics-socket off nothing is counted: every hook is behind
 * metrics_enabled(), one predictable branch on a flag set once at start.
 *
 * Who counts what: the FUSE server (src/fuse/) each request's opcode,
 * error, latency and READ/WRITE bytes, as the reply is handed to the
 * transport; the transports (src/transport/) the requests each virtio-fs
 * queue carried, or the /dev/fuse device for a host mount. Gauges (nodes
 * and handles held, open fds) are asked of their owner when the page is
 * rendered (struct metrics_sources).
 *
 * Showing: a thread of its own (server.c) answers HTTP "GET /metrics" on
 * a UNIX socket with the Prometheus text format (render.c), parsing each
 * request with the bounded parser of http.c; see docs/ARCHITECTURE.md.
 */
#ifndef VFSD_METRICS_H
#define VFSD_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Opcode slots: FUSE opcodes 1..63 as themselves; slot 0 takes any
 * opcode the server does not know. */
#define METRICS_OPS 64
/* errno slots 1..133 as themselves; slot 0 takes anything larger. */
#define METRICS_ERRNOS 134
/* Latency buckets: bucket i holds what took at most 2^i microseconds
 * (1 us .. 2^24 us, ~16.8 s); the last one everything longer. */
#define METRICS_BUCKETS 26
/* Queue slots: virtio-fs queues 0..255 (0 is the hiprio queue), then one
 * for the /dev/fuse device of a host mount. */
#define METRICS_QUEUES 257
#define METRICS_QUEUE_DEV_FUSE (METRICS_QUEUES - 1)

/* Set once by metrics_enable() before any serving thread exists. */
extern bool metrics_on;

static inline bool metrics_enabled(void)
{
	return __builtin_expect(metrics_on, 0);
}

static inline uint64_t metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Turn counting on. Call once, single-threaded, before the threads that
 * serve requests start. Returns 0 or -errno.
 */
int metrics_enable(void);

/* One request done: its opcode slot (< METRICS_OPS), 0 or -errno as
 * answered, and how long it took in nanoseconds. */
void metrics_count_request(unsigned int op, int error, uint64_t ns);
/* File data moved by READ (@write false) or WRITE. */
void metrics_count_io(bool write, uint64_t bytes);
/* One READ split between two threads (src/fuse/ops.c). */
void metrics_count_split(void);
/* One READ through a bounce buffer (src/passthrough/ops_file.c). */
void metrics_count_bounce(void);
/* One request taken from queue slot @queue (< METRICS_QUEUES). */
void metrics_count_queue(unsigned int queue);

/* What the page shows besides the counters; -1: unknown (left out). */
struct metrics_gauges {
	int64_t nodes; /* inodes the file system holds for the client */
	int64_t handles; /* open files and directories */
	int64_t open_fds; /* the serving process's file descriptors */
};

/* Where the metrics thread gets names and gauges; called on it. */
struct metrics_sources {
	/* the name of opcode slot @op ("LOOKUP"; slot 0 "UNKNOWN") */
	const char *(*op_name)(uint32_t op);
	/* fill @g (everything starts at -1); may be NULL */
	void (*gauges)(void *arg, struct metrics_gauges *g);
	void *arg;
};

struct metrics_server;

/* How many connections the listening socket may queue (listen(2)). */
#define METRICS_BACKLOG 64

/*
 * Start the metrics thread on @listen_fd, a listening UNIX stream socket
 * that stays the caller's (closed and unlinked by it after
 * metrics_server_stop()). Call after metrics_enable(). Returns 0 or
 * -errno.
 */
int metrics_server_start(int listen_fd, const struct metrics_sources *src,
			 struct metrics_server **out);
/* Stop the thread, close its connections, free @s (NULL: nothing). */
void metrics_server_stop(struct metrics_server *s);

#endif /* VFSD_METRICS_H */
