/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Metrics internals shared by the files of src/metrics/ and their unit
 * tests: the counter block, the page renderer and the HTTP parser.
 */
#ifndef VFSD_METRICS_I_H
#define VFSD_METRICS_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

/* Every field is a uint64_t, so a block can be summed word by word. */
struct metrics_counts {
	uint64_t requests[METRICS_OPS];
	uint64_t op_errors[METRICS_OPS]; /* answered with an error */
	uint64_t latency[METRICS_OPS][METRICS_BUCKETS]; /* not cumulative */
	uint64_t latency_ns[METRICS_OPS]; /* sum */
	uint64_t errors[METRICS_ERRNOS]; /* by errno, every opcode */
	uint64_t queue[METRICS_QUEUES];
	uint64_t read_bytes;
	uint64_t written_bytes;
	uint64_t read_splits; /* READs copied in two halves at once */
	uint64_t read_bounces; /* READs through a bounce buffer */
};

#define METRICS_WORDS (sizeof(struct metrics_counts) / sizeof(uint64_t))

/* The bucket of a latency of @ns nanoseconds. */
unsigned int metrics_bucket(uint64_t ns);

/* Sum the blocks of every thread, live and gone, into @out. Takes the
 * registry lock (which a serving thread takes only when it starts
 * counting and when it ends). */
void metrics_snapshot(struct metrics_counts *out);
/* Nanoseconds since metrics_enable(). */
uint64_t metrics_uptime_ns(void);

/* A growing text buffer that refuses to grow past ->max bytes. */
struct metrics_buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;
	bool full; /* something did not fit: the text is incomplete */
};

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void metrics_buf_free(struct metrics_buf *b);

/*
 * The page in the Prometheus text format 0.0.4 from @c, @g and @uptime_ns,
 * appended to @b. Series are shown for the opcodes, errnos and queues
 * counted at least once. Returns 0, or -ENOSPC when ->max was reached.
 */
int metrics_render(struct metrics_buf *b, const struct metrics_counts *c,
		   const struct metrics_gauges *g, uint64_t uptime_ns,
		   const char *(*op_name)(uint32_t op));

/* The request head a client may send, request line and headers. */
#define METRICS_HTTP_HEAD_MAX 4096

struct metrics_http_req {
	bool head; /* HEAD: the answer carries no body */
};

/*
 * Look at the first @len bytes a client sent. Returns 0 while the head is
 * incomplete but may still be valid and fit in METRICS_HTTP_HEAD_MAX
 * bytes; otherwise the status to answer with: 200 for GET or HEAD of
 * /metrics (with *req filled in), 400 for anything that is not an
 * HTTP/1.x request, 404 for another path, 405 for another method, 413
 * for a request with a body, 431 for a head that does not fit, 505 for
 * another HTTP version. Never reads past @len.
 */
int metrics_http_parse(const char *buf, size_t len,
		       struct metrics_http_req *req);
/* "OK", "Not Found", ...; "Error" for a status not used here. */
const char *metrics_http_reason(int status);
/*
 * The status line and headers of an answer with a @body_len byte body
 * (text/plain; the exposition format's version on a 200), into @buf.
 * Returns the length, or 0 when @cap is too small.
 */
size_t metrics_http_head(char *buf, size_t cap, int status, size_t body_len);

#endif /* VFSD_METRICS_I_H */
