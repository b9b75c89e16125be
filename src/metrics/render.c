// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The page: the Prometheus text exposition format, version 0.0.4. Each
 * family is announced with "# HELP" and "# TYPE" lines, then its samples,
 * one per line: "name{label="value",...} number". Counters end in
 * "_total"; the latency histogram has cumulative "_bucket" samples with an
 * "le" label (the last "+Inf"), then "_sum" and "_count", whose value is
 * the "+Inf" bucket's. Label values are opcode and errno names from fixed
 * tables and queue numbers, so nothing needs escaping. Numbers are
 * integers, or seconds printed from integer nanoseconds (no floating
 * point, so the text is exact).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_i.h"

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->full = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		/* grow to at least twice, within ->max (one byte for the
		 * NUL vsnprintf writes) */
		size_t want = b->len + (size_t)n + 1;
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < want)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		if (cap < want) {
			b->full = true;
			return;
		}
		p = realloc(b->p, cap);
		if (!p) {
			b->full = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

void metrics_buf_free(struct metrics_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->full = false;
}

static void family(struct metrics_buf *b, const char *name, const char *type,
		   const char *help)
{
	metrics_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			   type);
}

/* @ns as seconds: "1.000000250". */
static void seconds(struct metrics_buf *b, uint64_t ns)
{
	metrics_buf_printf(b, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u,
			   ns % 1000000000u);
}

static const char *errno_name(unsigned int e, char *tmp, size_t len)
{
	const char *name;

	if (e == 0)
		return "other";
	name = strerrorname_np((int)e);
	if (name)
		return name;
	snprintf(tmp, len, "%u", e);
	return tmp;
}

static void render_requests(struct metrics_buf *b,
			    const struct metrics_counts *c,
			    const char *(*op_name)(uint32_t op))
{
	family(b, "vfsd_fuse_requests_total", "counter",
	       "FUSE requests completed, by opcode.");
	for (uint32_t op = 0; op < METRICS_OPS; op++)
		if (c->requests[op])
			metrics_buf_printf(
				b,
				"vfsd_fuse_requests_total{op=\"%s\"} %" PRIu64
				"\n",
				op_name(op), c->requests[op]);
	family(b, "vfsd_fuse_request_errors_total", "counter",
	       "FUSE requests answered with an error, by opcode.");
	for (uint32_t op = 0; op < METRICS_OPS; op++)
		if (c->requests[op])
			metrics_buf_printf(
				b,
				"vfsd_fuse_request_errors_total{op=\"%s\"} %" PRIu64
				"\n",
				op_name(op), c->op_errors[op]);
}

static void render_errors(struct metrics_buf *b, const struct metrics_counts *c)
{
	char tmp[16];

	family(b, "vfsd_fuse_errors_total", "counter",
	       "FUSE error replies by errno, all opcodes together.");
	for (unsigned int e = 1; e <= METRICS_ERRNOS; e++) {
		unsigned int slot = e % METRICS_ERRNOS; /* "other" last */

		if (c->errors[slot])
			metrics_buf_printf(
				b,
				"vfsd_fuse_errors_total{errno=\"%s\"} %" PRIu64
				"\n",
				errno_name(slot, tmp, sizeof(tmp)),
				c->errors[slot]);
	}
}

static void render_latency(struct metrics_buf *b,
			   const struct metrics_counts *c,
			   const char *(*op_name)(uint32_t op))
{
	static const char name[] = "vfsd_fuse_request_duration_seconds";

	family(b, name, "histogram",
	       "Time from taking a FUSE request to handing its reply to the transport, by opcode.");
	for (uint32_t op = 0; op < METRICS_OPS; op++) {
		const char *opn = op_name(op);
		uint64_t sum = 0;

		if (!c->requests[op])
			continue;
		for (unsigned int i = 0; i < METRICS_BUCKETS; i++) {
			sum += c->latency[op][i];
			if (i == METRICS_BUCKETS - 1) {
				metrics_buf_printf(
					b,
					"%s_bucket{op=\"%s\",le=\"+Inf\"} %" PRIu64
					"\n",
					name, opn, sum);
				break;
			}
			/* 2^i microseconds in seconds, exactly */
			uint64_t us = (uint64_t)1 << i;

			metrics_buf_printf(b,
					   "%s_bucket{op=\"%s\",le=\"%" PRIu64
					   ".%06" PRIu64 "\"} %" PRIu64 "\n",
					   name, opn, us / 1000000,
					   us % 1000000, sum);
		}
		metrics_buf_printf(b, "%s_sum{op=\"%s\"} ", name, opn);
		seconds(b, c->latency_ns[op]);
		metrics_buf_printf(b, "\n%s_count{op=\"%s\"} %" PRIu64 "\n",
				   name, opn, sum);
	}
}

static void render_counter(struct metrics_buf *b, const char *name,
			   const char *help, uint64_t v)
{
	family(b, name, "counter", help);
	metrics_buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

static void render_gauge(struct metrics_buf *b, const char *name,
			 const char *help, int64_t v)
{
	if (v < 0)
		return;
	family(b, name, "gauge", help);
	metrics_buf_printf(b, "%s %" PRId64 "\n", name, v);
}

int metrics_render(struct metrics_buf *b, const struct metrics_counts *c,
		   const struct metrics_gauges *g, uint64_t uptime_ns,
		   const char *(*op_name)(uint32_t op))
{
	render_requests(b, c, op_name);
	render_errors(b, c);
	render_latency(b, c, op_name);
	render_counter(b, "vfsd_read_bytes_total",
		       "File data bytes returned by READ.", c->read_bytes);
	render_counter(b, "vfsd_written_bytes_total",
		       "File data bytes stored by WRITE.", c->written_bytes);
	render_counter(b, "vfsd_read_splits_total",
		       "Large READs copied by two threads at once.",
		       c->read_splits);
	render_counter(b, "vfsd_read_bounces_total",
		       "READs copied through a bounce buffer.",
		       c->read_bounces);
	family(b, "vfsd_queue_requests_total", "counter",
	       "Requests taken from each virtio-fs queue (0: hiprio), or from /dev/fuse (\"dev\").");
	for (unsigned int q = 0; q < METRICS_QUEUES; q++) {
		if (!c->queue[q])
			continue;
		if (q == METRICS_QUEUE_DEV_FUSE)
			metrics_buf_printf(
				b,
				"vfsd_queue_requests_total{queue=\"dev\"} %" PRIu64
				"\n",
				c->queue[q]);
		else
			metrics_buf_printf(
				b,
				"vfsd_queue_requests_total{queue=\"%u\"} %" PRIu64
				"\n",
				q, c->queue[q]);
	}
	render_gauge(
		b, "vfsd_nodes",
		"Inodes held for the client (the node table, root included).",
		g->nodes);
	render_gauge(b, "vfsd_handles", "Open file and directory handles.",
		     g->handles);
	render_gauge(b, "vfsd_open_fds",
		     "File descriptors open in the serving process.",
		     g->open_fds);
	family(b, "vfsd_uptime_seconds", "gauge",
	       "Seconds since the daemon started counting.");
	metrics_buf_printf(b, "vfsd_uptime_seconds ");
	seconds(b, uptime_ns);
	metrics_buf_printf(b, "\n");
	return b->full ? -ENOSPC : 0;
}
