// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for src/metrics/: the HTTP request parser (every verdict,
 * for whole requests and for every prefix of them, as a client sending a
 * byte at a time would deliver them), the latency buckets, the page
 * (checked line by line against the exposition format's rules) and the
 * per-thread counters summed across threads that come and go.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics_i.h"

/* ---- the HTTP parser ---- */

static int parse(const char *s)
{
	struct metrics_http_req req = { 0 };

	return metrics_http_parse(s, strlen(s), &req);
}

/* Every proper prefix of @s is "not yet" (0) or already the final
 * verdict; the whole of it is @want. */
static void check_prefixes(const char *s, int want)
{
	size_t len = strlen(s);

	for (size_t n = 0; n < len; n++) {
		struct metrics_http_req req = { 0 };
		int got = metrics_http_parse(s, n, &req);

		if (got != 0 && got != want)
			fail_msg("prefix %zu of \"%s\": %d, want 0 or %d", n, s,
				 got, want);
	}
	assert_int_equal(parse(s), want);
}

static void test_http_ok(void **state)
{
	struct metrics_http_req req = { 0 };
	static const char get[] =
		"GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
		"User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

	check_prefixes(get, 200);
	assert_int_equal(metrics_http_parse(get, strlen(get), &req), 200);
	assert_false(req.head);
	check_prefixes("GET /metrics HTTP/1.0\r\n\r\n", 200);
	check_prefixes("GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 200);
	/* bare LF line ends, an empty header value, Content-Length 0 */
	check_prefixes(
		"GET /metrics HTTP/1.1\nX-Empty:\nContent-Length: 00\n\n", 200);
	assert_int_equal(
		metrics_http_parse("HEAD /metrics HTTP/1.1\r\n\r\n", 26, &req),
		200);
	assert_true(req.head);
}

static void test_http_not_found(void **state)
{
	check_prefixes("GET / HTTP/1.1\r\n\r\n", 404);
	check_prefixes("GET /metricsx HTTP/1.1\r\n\r\n", 404);
	check_prefixes("GET /metric HTTP/1.1\r\n\r\n", 404);
	check_prefixes("GET http://localhost/metrics HTTP/1.1\r\n\r\n", 404);
}

static void test_http_method(void **state)
{
	check_prefixes("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
		       405);
	check_prefixes("DELETE /metrics HTTP/1.1\r\n\r\n", 405);
	check_prefixes("get /metrics HTTP/1.1\r\n\r\n", 405);
	check_prefixes("BREW /pot HTTP/1.1\r\n\r\n", 405);
}

static void test_http_garbage(void **state)
{
	static const char tls[] = "\x16\x03\x01\x02\x00\x01";

	/* decided on the first byte, before any line end */
	assert_int_equal(parse(tls), 400);
	assert_int_equal(parse(" GET"), 400);
	assert_int_equal(parse("GET\t/"), 400);
	assert_int_equal(parse("GET /a\x01"), 400);
	assert_int_equal(parse("GET /metrics XTTP"), 400);
	assert_int_equal(parse("GET /metrics HTTP/1.1x"), 400);
	assert_int_equal(parse("ABCDEFGHIJKLMNOPQ"), 400); /* 17-byte method */
	check_prefixes("\r\n\r\n", 400);
	check_prefixes("GET\r\n\r\n", 400);
	check_prefixes("GET /metrics\r\n\r\n", 400);
	check_prefixes("GET  /metrics HTTP/1.1\r\n\r\n", 400);
	check_prefixes("GET /metrics HTTP/1.1 \r\n\r\n", 400);
	check_prefixes("GET /metrics HTTP/11\r\n\r\n", 400);
	check_prefixes("GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n", 400);
	check_prefixes("GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n", 400);
	check_prefixes("GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400);
	check_prefixes("GET /metrics HTTP/1.1\r\nA: b\x01\r\n\r\n", 400);
	check_prefixes("GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		       400);
	check_prefixes("GET /metrics HTTP/1.1\r\nContent-Length:\r\n\r\n", 400);
	/* a NUL inside the head */
	assert_int_equal(metrics_http_parse("GET /metrics HTTP/1.1\r\nA: \0\r\n"
					    "\r\n",
					    29,
					    &(struct metrics_http_req){ 0 }),
			 400);
}

static void test_http_version(void **state)
{
	check_prefixes("GET /metrics HTTP/2.0\r\n\r\n", 505);
	check_prefixes("GET /metrics HTTP/0.9\r\n\r\n", 505);
	/* HTTP/1.x of any minor is answered as HTTP/1.1 */
	check_prefixes("GET /metrics HTTP/1.9\r\n\r\n", 200);
}

static void test_http_body(void **state)
{
	check_prefixes("GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
		       413);
	check_prefixes("GET /metrics HTTP/1.1\r\ncontent-length:  10 \r\n\r\n",
		       413);
	check_prefixes(
		"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		413);
}

static void test_http_too_large(void **state)
{
	char *buf = malloc(METRICS_HTTP_HEAD_MAX + 16);
	size_t n;

	assert_non_null(buf);
	/* a request line that never ends */
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', METRICS_HTTP_HEAD_MAX - 5);
	assert_int_equal(metrics_http_parse(buf, METRICS_HTTP_HEAD_MAX - 1,
					    &(struct metrics_http_req){ 0 }),
			 0);
	assert_int_equal(metrics_http_parse(buf, METRICS_HTTP_HEAD_MAX,
					    &(struct metrics_http_req){ 0 }),
			 431);
	/* headers that never end */
	n = (size_t)snprintf(buf, 64, "GET /metrics HTTP/1.1\r\n");
	while (n + 8 <= METRICS_HTTP_HEAD_MAX) {
		memcpy(buf + n, "A: bcd\r\n", 8);
		n += 8;
	}
	memset(buf + n, 'x', METRICS_HTTP_HEAD_MAX - n);
	assert_int_equal(metrics_http_parse(buf, METRICS_HTTP_HEAD_MAX,
					    &(struct metrics_http_req){ 0 }),
			 431);
	/* whatever follows the limit is not looked at */
	assert_int_equal(metrics_http_parse(buf, METRICS_HTTP_HEAD_MAX + 16,
					    &(struct metrics_http_req){ 0 }),
			 431);
	free(buf);
}

static void test_http_head_line(void **state)
{
	char buf[256];
	size_t n = metrics_http_head(buf, sizeof(buf), 200, 1234);

	assert_int_equal(n, strlen(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(buf, "Content-Type: text/plain; version=0.0.4; "
				    "charset=utf-8\r\n"));
	assert_non_null(strstr(buf, "Content-Length: 1234\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n\r\n"));
	n = metrics_http_head(buf, sizeof(buf), 405, 0);
	assert_non_null(strstr(buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(buf, "Allow: GET, HEAD\r\n"));
	assert_null(strstr(buf, "version=0.0.4"));
	assert_int_equal(metrics_http_head(buf, 20, 200, 1), 0);
	assert_string_equal(metrics_http_reason(431),
			    "Request Header Fields Too Large");
	assert_string_equal(metrics_http_reason(413), "Content Too Large");
}

/* ---- buckets ---- */

static void test_buckets(void **state)
{
	assert_int_equal(metrics_bucket(0), 0);
	assert_int_equal(metrics_bucket(1000), 0); /* 1 us: le 1 us */
	assert_int_equal(metrics_bucket(1001), 1);
	assert_int_equal(metrics_bucket(2000), 1);
	assert_int_equal(metrics_bucket(2001), 2);
	assert_int_equal(metrics_bucket(4000), 2);
	assert_int_equal(metrics_bucket(1000ull << 24), 24);
	assert_int_equal(metrics_bucket((1000ull << 24) + 1),
			 METRICS_BUCKETS - 1);
	assert_int_equal(metrics_bucket(UINT64_MAX), METRICS_BUCKETS - 1);
}

/* ---- the page ---- */

static const char *op_name(uint32_t op)
{
	static const char *const names[] = {
		[0] = "UNKNOWN", [1] = "LOOKUP", [3] = "GETATTR", [15] = "READ"
	};

	return op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] :
								    "UNKNOWN";
}

/* The value of the sample line exactly @series (name and labels). */
static bool sample(const char *page, const char *series, char *val, size_t len)
{
	size_t n = strlen(series);

	for (const char *p = page; p && *p;
	     p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			const char *e = strchr(p + n + 1, '\n');
			size_t vl =
				e ? (size_t)(e - p - n - 1) : strlen(p + n + 1);

			if (vl >= len)
				return false;
			memcpy(val, p + n + 1, vl);
			val[vl] = '\0';
			return true;
		}
	}
	return false;
}

static unsigned long long num(const char *page, const char *series)
{
	char v[64];

	if (!sample(page, series, v, sizeof(v)))
		fail_msg("no sample %s", series);
	return strtoull(v, NULL, 10);
}

/* Every line is a comment of the two kinds or "name{...} value"; each
 * family's TYPE comes once, before its samples. */
static void check_format(const char *page)
{
	char types[64][96];
	unsigned int ntypes = 0;
	const char *p = page;

	assert_true(strlen(page) > 0 && page[strlen(page) - 1] == '\n');
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = (size_t)(e - p);
		char line[512];

		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		p = e + 1;
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[96], type[32];

			assert_int_equal(
				sscanf(line, "# TYPE %95s %31s", name, type),
				2);
			for (unsigned int i = 0; i < ntypes; i++)
				assert_string_not_equal(types[i], name);
			assert_true(ntypes < 64);
			snprintf(types[ntypes++], sizeof(types[0]), "%s", name);
			if (strcmp(type, "counter") == 0)
				assert_non_null(strstr(name, "_total"));
			else if (strcmp(type, "gauge") &&
				 strcmp(type, "histogram"))
				fail_msg("type %s", type);
			continue;
		}
		assert_true(line[0] != '#');
		/* the sample's family was announced */
		{
			bool known = false;

			for (unsigned int i = 0; i < ntypes; i++)
				if (strncmp(line, types[i], strlen(types[i])) ==
				    0)
					known = true;
			if (!known)
				fail_msg("sample before its TYPE: %s", line);
		}
		assert_non_null(strrchr(line, ' '));
	}
}

static void test_render(void **state)
{
	struct metrics_counts *c = calloc(1, sizeof(*c));
	struct metrics_gauges g = { .nodes = 7, .handles = 2, .open_fds = -1 };
	struct metrics_buf b = { .max = 1 << 20 };
	char v[64];
	static const char le[] = "vfsd_fuse_request_duration_seconds_bucket";

	assert_non_null(c);
	c->requests[1] = 3;
	c->op_errors[1] = 1;
	c->latency[1][0] = 1;
	c->latency[1][3] = 2;
	c->latency_ns[1] = 1500000123;
	c->requests[3] = 1;
	c->latency[3][METRICS_BUCKETS - 1] = 1;
	c->latency_ns[3] = 20000000000ull;
	c->errors[2] = 1;
	c->errors[0] = 4; /* an errno past the table */
	c->read_bytes = 4096;
	c->written_bytes = 300;
	c->queue[0] = 1;
	c->queue[2] = 3;
	assert_int_equal(metrics_render(&b, c, &g, 2500000000ull, op_name), 0);
	assert_false(b.full);
	b.p[b.len] = '\0'; /* vsnprintf left room for it */
	check_format(b.p);
	assert_int_equal(num(b.p, "vfsd_fuse_requests_total{op=\"LOOKUP\"}"),
			 3);
	assert_int_equal(num(b.p, "vfsd_fuse_requests_total{op=\"GETATTR\"}"),
			 1);
	assert_false(sample(b.p, "vfsd_fuse_requests_total{op=\"READ\"}", v,
			    sizeof(v)));
	assert_int_equal(
		num(b.p, "vfsd_fuse_request_errors_total{op=\"LOOKUP\"}"), 1);
	assert_int_equal(
		num(b.p, "vfsd_fuse_request_errors_total{op=\"GETATTR\"}"), 0);
	assert_int_equal(num(b.p, "vfsd_fuse_errors_total{errno=\"ENOENT\"}"),
			 1);
	assert_int_equal(num(b.p, "vfsd_fuse_errors_total{errno=\"other\"}"),
			 4);
	/* cumulative buckets, exact bounds, +Inf = _count */
	assert_int_equal(num(b.p, "vfsd_fuse_request_duration_seconds_bucket{"
				  "op=\"LOOKUP\",le=\"0.000001\"}"),
			 1);
	assert_int_equal(num(b.p, "vfsd_fuse_request_duration_seconds_bucket{"
				  "op=\"LOOKUP\",le=\"0.000004\"}"),
			 1);
	assert_int_equal(num(b.p, "vfsd_fuse_request_duration_seconds_bucket{"
				  "op=\"LOOKUP\",le=\"0.000008\"}"),
			 3);
	assert_int_equal(num(b.p, "vfsd_fuse_request_duration_seconds_bucket{"
				  "op=\"LOOKUP\",le=\"16.777216\"}"),
			 3);
	assert_int_equal(num(b.p, "vfsd_fuse_request_duration_seconds_bucket{"
				  "op=\"LOOKUP\",le=\"+Inf\"}"),
			 3);
	assert_int_equal(
		num(b.p,
		    "vfsd_fuse_request_duration_seconds_count{op=\"LOOKUP\"}"),
		3);
	assert_true(sample(
		b.p, "vfsd_fuse_request_duration_seconds_sum{op=\"LOOKUP\"}", v,
		sizeof(v)));
	assert_string_equal(v, "1.500000123");
	assert_int_equal(num(b.p, "vfsd_fuse_request_duration_seconds_bucket{"
				  "op=\"GETATTR\",le=\"16.777216\"}"),
			 0);
	assert_int_equal(num(b.p, "vfsd_fuse_request_duration_seconds_bucket{"
				  "op=\"GETATTR\",le=\"+Inf\"}"),
			 1);
	/* each op's buckets never decrease */
	{
		unsigned long long last = 0;
		unsigned int n = 0;

		for (const char *p = strstr(b.p, le); p;
		     p = strstr(p + 1, le)) {
			const char *sp;

			if (!strstr(p, "op=\"LOOKUP\"") ||
			    strstr(p, "op=\"LOOKUP\"") > strchr(p, '\n'))
				continue;
			sp = strchr(p, ' ');
			assert_true(strtoull(sp + 1, NULL, 10) >= last);
			last = strtoull(sp + 1, NULL, 10);
			n++;
		}
		assert_int_equal(n, METRICS_BUCKETS);
	}
	assert_int_equal(num(b.p, "vfsd_read_bytes_total"), 4096);
	assert_int_equal(num(b.p, "vfsd_written_bytes_total"), 300);
	assert_int_equal(num(b.p, "vfsd_queue_requests_total{queue=\"0\"}"), 1);
	assert_int_equal(num(b.p, "vfsd_queue_requests_total{queue=\"2\"}"), 3);
	assert_false(sample(b.p, "vfsd_queue_requests_total{queue=\"1\"}", v,
			    sizeof(v)));
	assert_int_equal(num(b.p, "vfsd_nodes"), 7);
	assert_int_equal(num(b.p, "vfsd_handles"), 2);
	assert_null(strstr(b.p, "vfsd_open_fds")); /* unknown: left out */
	assert_true(sample(b.p, "vfsd_uptime_seconds", v, sizeof(v)));
	assert_string_equal(v, "2.500000000");
	metrics_buf_free(&b);

	/* the /dev/fuse series */
	memset(c, 0, sizeof(*c));
	c->queue[METRICS_QUEUE_DEV_FUSE] = 5;
	b = (struct metrics_buf){ .max = 1 << 20 };
	assert_int_equal(metrics_render(&b, c, &g, 0, op_name), 0);
	b.p[b.len] = '\0';
	assert_int_equal(num(b.p, "vfsd_queue_requests_total{queue=\"dev\"}"),
			 5);
	metrics_buf_free(&b);

	/* a page larger than the buffer may grow: refused, not cut */
	b = (struct metrics_buf){ .max = 512 };
	assert_int_equal(metrics_render(&b, c, &g, 0, op_name), -ENOSPC);
	assert_true(b.full);
	metrics_buf_free(&b);
	free(c);
}

/* ---- counters across threads ---- */

#define THREADS 4
#define PER_THREAD 10000

static pthread_barrier_t start_line;

static void *counting_thread(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;

	pthread_barrier_wait(&start_line);
	for (unsigned int i = 0; i < PER_THREAD; i++) {
		metrics_count_request(1, i % 10 == 0 ? -ENOENT : 0, 1500);
		metrics_count_queue(id);
		metrics_count_io(false, 2);
	}
	return NULL;
}

static void test_counters(void **state)
{
	struct metrics_counts *c = calloc(1, sizeof(*c));
	pthread_t t[THREADS];
	uint64_t seen = 0;

	assert_non_null(c);
	assert_int_equal(metrics_enable(), 0);
	assert_true(metrics_enabled());
	pthread_barrier_init(&start_line, NULL, THREADS + 1);
	for (unsigned int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, counting_thread,
						(void *)(uintptr_t)i),
				 0);
	pthread_barrier_wait(&start_line);
	/* read while they count: never more than the total, never less
	 * than an earlier read */
	for (unsigned int k = 0; k < 100; k++) {
		metrics_snapshot(c);
		assert_true(c->requests[1] >= seen);
		assert_true(c->requests[1] <= THREADS * PER_THREAD);
		seen = c->requests[1];
	}
	/* the threads end: what they counted stays */
	for (unsigned int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start_line);
	metrics_snapshot(c);
	assert_int_equal(c->requests[1], THREADS * PER_THREAD);
	assert_int_equal(c->op_errors[1], THREADS * PER_THREAD / 10);
	assert_int_equal(c->errors[ENOENT], THREADS * PER_THREAD / 10);
	assert_int_equal(c->latency[1][1], THREADS * PER_THREAD);
	assert_int_equal(c->latency_ns[1], 1500ull * THREADS * PER_THREAD);
	assert_int_equal(c->read_bytes, 2ull * THREADS * PER_THREAD);
	for (unsigned int i = 0; i < THREADS; i++)
		assert_int_equal(c->queue[i], PER_THREAD);
	/* this thread counts too, into a block of its own */
	metrics_count_request(METRICS_OPS + 5, -5000, 0);
	metrics_snapshot(c);
	assert_int_equal(c->requests[0], 1);
	assert_int_equal(c->errors[0], 1);
	assert_int_equal(c->latency[0][0], 1);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_ok),
		cmocka_unit_test(test_http_not_found),
		cmocka_unit_test(test_http_method),
		cmocka_unit_test(test_http_garbage),
		cmocka_unit_test(test_http_version),
		cmocka_unit_test(test_http_body),
		cmocka_unit_test(test_http_too_large),
		cmocka_unit_test(test_http_head_line),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
