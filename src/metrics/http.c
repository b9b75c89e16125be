// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The HTTP/1.x request parser of the metrics socket: just enough of RFC
 * 9112 to recognise "GET /metrics" and to name what is wrong with
 * anything else. The client is untrusted: the parser looks at no more
 * than the bytes received, keeps no state between calls (the server calls
 * it again on the whole head as more bytes arrive, at most
 * METRICS_HTTP_HEAD_MAX of them), and decides as early as it can, so a
 * client sending garbage gets its 400 on the first line instead of
 * holding a connection open.
 *
 * Lines end in CRLF or a bare LF; the head ends with an empty line. The
 * request line is METHOD SP TARGET SP HTTP/1.x; each header line is
 * NAME ":" VALUE with a token for a name and no control characters in the
 * value (obsolete line folding is refused). A body is never read: a
 * Content-Length other than 0, or any Transfer-Encoding, is answered 413.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "metrics_i.h"

#define METHOD_MAX 16

/* RFC 9110 tchar */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The line starting at @p, up to @end: its length without the line end
 * in *len and the start of the next line in *next. False when no LF has
 * arrived yet. */
static bool line_at(const char *p, const char *end, size_t *len,
		    const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (!lf)
		return false;
	*next = lf + 1;
	*len = (size_t)(lf - p);
	if (*len > 0 && lf[-1] == '\r')
		(*len)--;
	return true;
}

/* The version of a request line, as much as has arrived: "HTTP/1.x" is
 * 0, another "HTTP/x.y" 505, anything else 400. */
static int version(const char *v, size_t len, bool complete)
{
	static const char pattern[] = "HTTP/d.d"; /* d: a digit */

	if (len > sizeof(pattern) - 1)
		return 400;
	for (size_t k = 0; k < len; k++) {
		bool ok = pattern[k] == 'd' ? v[k] >= '0' && v[k] <= '9' :
					      v[k] == pattern[k];

		if (!ok)
			return 400;
	}
	if (!complete)
		return 0;
	if (len != sizeof(pattern) - 1)
		return 400;
	return v[5] == '1' ? 0 : 505;
}

/*
 * Check as much of a request line as has arrived (@complete: all of it,
 * @len bytes without the line end). Returns 0 (fine so far), 400 or 505;
 * on a complete, valid line sets *method_len, *target and *target_len.
 */
static int request_line(const char *p, size_t len, bool complete,
			size_t *method_len, const char **target,
			size_t *target_len)
{
	size_t i = 0, m, t0, t;
	int status;

	while (i < len && is_tchar((unsigned char)p[i]))
		i++;
	m = i;
	if (m > METHOD_MAX || (i < len && (p[i] != ' ' || m == 0)))
		return 400;
	if (i == len)
		return complete ? 400 : 0;
	t0 = ++i;
	while (i < len && (unsigned char)p[i] > 0x20 &&
	       (unsigned char)p[i] < 0x7f)
		i++;
	t = i - t0;
	if (i < len && (p[i] != ' ' || t == 0))
		return 400;
	if (i == len)
		return complete ? 400 : 0;
	i++;
	status = version(p + i, len - i, complete);
	if (status || !complete)
		return status;
	*method_len = m;
	*target = p + t0;
	*target_len = t;
	return 0;
}

/* One header line: 0, 400, or 413 for a body. */
static int header_line(const char *p, size_t len)
{
	size_t i = 0;
	const char *v;
	size_t vlen;

	while (i < len && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i == len || p[i] != ':')
		return 400; /* also obsolete folding: a leading space */
	v = p + i + 1;
	vlen = len - i - 1;
	for (size_t k = 0; k < vlen; k++) {
		unsigned char c = (unsigned char)v[k];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 400;
	}
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (i == 17 && strncasecmp(p, "transfer-encoding", 17) == 0)
		return 413;
	if (i == 14 && strncasecmp(p, "content-length", 14) == 0) {
		size_t k;

		if (vlen == 0)
			return 400;
		for (k = 0; k < vlen; k++)
			if (v[k] < '0' || v[k] > '9')
				return 400;
		for (k = 0; k < vlen && v[k] == '0'; k++)
			;
		if (k < vlen)
			return 413;
	}
	return 0;
}

static bool path_is_metrics(const char *t, size_t len)
{
	static const char path[] = "/metrics";
	size_t n = sizeof(path) - 1;

	return len >= n && memcmp(t, path, n) == 0 && (len == n || t[n] == '?');
}

int metrics_http_parse(const char *buf, size_t len,
		       struct metrics_http_req *req)
{
	const char *end =
		buf +
		(len < METRICS_HTTP_HEAD_MAX ? len : METRICS_HTTP_HEAD_MAX);
	const char *p = buf, *next, *target = NULL;
	size_t l, method_len = 0, target_len = 0;
	int status;

	/* The request line, judged even before it is complete. */
	if (!line_at(p, end, &l, &next)) {
		l = (size_t)(end - p);
		if (l > 0 && p[l - 1] == '\r')
			l--; /* the LF may be next */
		status = request_line(p, l, false, &method_len, &target,
				      &target_len);
		if (status)
			return status;
		return len >= METRICS_HTTP_HEAD_MAX ? 431 : 0;
	}
	status = request_line(p, l, true, &method_len, &target, &target_len);
	if (status)
		return status;
	/* Headers, each judged once complete. */
	for (p = next;;) {
		if (!line_at(p, end, &l, &next))
			return len >= METRICS_HTTP_HEAD_MAX ? 431 : 0;
		if (l == 0)
			break; /* the end of the head */
		status = header_line(p, l);
		if (status)
			return status;
		p = next;
	}
	if ((method_len == 3 && memcmp(buf, "GET", 3) == 0) ||
	    (method_len == 4 && memcmp(buf, "HEAD", 4) == 0)) {
		if (!path_is_metrics(target, target_len))
			return 404;
		req->head = method_len == 4;
		return 200;
	}
	return 405;
}

const char *metrics_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Error";
}

size_t metrics_http_head(char *buf, size_t cap, int status, size_t body_len)
{
	int n = snprintf(buf, cap,
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: text/plain; %scharset=utf-8\r\n"
			 "Content-Length: %zu\r\n"
			 "%s"
			 "Connection: close\r\n"
			 "\r\n",
			 status, metrics_http_reason(status),
			 status == 200 ? "version=0.0.4; " : "", body_len,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
