// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The metrics thread: serves "GET /metrics" on the --metrics-socket.
 *
 * Flow: one thread polls the listening socket, a stop eventfd and its
 * connections, all non-blocking. A connection takes one of
 * METRICS_MAX_CONNS slots and sends at most METRICS_HTTP_HEAD_MAX bytes
 * of request head, which http.c judges after every read; once it has a
 * verdict the whole answer (status line, headers and, for a 200, the page
 * rendered from a snapshot of the counters) is built in memory and sent
 * as the socket takes it. One request per connection: the answer says
 * "Connection: close" and the connection is closed once it is sent.
 *
 * Bounds, since the client is untrusted: each connection has
 * METRICS_CONN_MS from its accept to finish, reading and writing
 * together; one that has sent no complete request by then gets a 408 (if
 * the socket takes it) and is closed, one that does not read its answer
 * is closed. When every slot is taken, a new connection closes the
 * oldest one (with a 503 if it was still being read), so connections
 * held open idle keep nobody out for long. Request bytes and page size
 * are capped, and so is an accept burst, so that a flood of connections
 * cannot starve those already open. Nothing here is shared with the
 * request path except the counters, which it only reads (counters.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../log/log.h"
#include "metrics_i.h"

#define METRICS_MAX_CONNS 16
#define METRICS_CONN_MS 3000
#define METRICS_ACCEPT_BURST 32
/* After accept() ran out of fds or memory: leave the backlog this long
 * instead of spinning on a socket that stays readable. */
#define METRICS_ACCEPT_PAUSE_MS 100
#define METRICS_PAGE_MAX (1u << 20) /* the largest page possible: ~210 KB */

struct conn {
	int fd; /* -1: the slot is free */
	uint64_t deadline_ms;
	size_t inlen;
	char in[METRICS_HTTP_HEAD_MAX];
	char *out; /* the answer once decided, else NULL */
	size_t outlen;
	size_t outoff;
};

struct metrics_server {
	int listen_fd; /* the caller's */
	int stop_fd; /* eventfd: end the thread */
	pthread_t thread;
	struct metrics_sources src;
	uint64_t accept_pause_until_ms;
	struct metrics_counts counts; /* the snapshot being rendered */
	struct conn conns[METRICS_MAX_CONNS];
};

static uint64_t now_ms(void)
{
	return metrics_now_ns() / 1000000u;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->inlen = c->outlen = c->outoff = 0;
}

/* Best effort: an answer without a page, on a socket we close next. */
static void send_short(int fd, int status)
{
	char buf[256];
	char body[64];
	int blen = snprintf(body, sizeof(body), "%d %s\n", status,
			    metrics_http_reason(status));
	size_t hlen;

	if (blen < 0)
		return;
	hlen = metrics_http_head(buf, sizeof(buf), status, (size_t)blen);
	if (!hlen || hlen + (size_t)blen > sizeof(buf))
		return;
	memcpy(buf + hlen, body, (size_t)blen);
	if (send(fd, buf, hlen + (size_t)blen, MSG_DONTWAIT | MSG_NOSIGNAL) <
	    0) {
		/* the client is gone or not reading: nothing to do */
	}
}

/* The page, or NULL (-> 500) when it could not be made. */
static struct metrics_buf render_page(struct metrics_server *s)
{
	struct metrics_gauges g = { .nodes = -1,
				    .handles = -1,
				    .open_fds = -1 };
	struct metrics_buf b = { .max = METRICS_PAGE_MAX };

	if (s->src.gauges)
		s->src.gauges(s->src.arg, &g);
	metrics_snapshot(&s->counts);
	if (metrics_render(&b, &s->counts, &g, metrics_uptime_ns(),
			   s->src.op_name))
		metrics_buf_free(&b);
	return b;
}

/* Decide the answer of @c: status line, headers and body in ->out. */
static void conn_answer(struct metrics_server *s, struct conn *c, int status,
			const struct metrics_http_req *req)
{
	struct metrics_buf page = { 0 };
	char head[256], text[64];
	const char *body = text;
	size_t blen, hlen;
	int n;

	if (status == 200) {
		page = render_page(s);
		if (page.p) {
			body = page.p;
			blen = page.len;
		} else {
			status = 500;
		}
	}
	if (status != 200) {
		n = snprintf(text, sizeof(text), "%d %s\n", status,
			     metrics_http_reason(status));
		blen = n > 0 ? (size_t)n : 0;
	}
	hlen = metrics_http_head(head, sizeof(head), status, blen);
	if (req->head && status == 200)
		blen = 0;
	c->out = malloc(hlen + blen);
	if (c->out) {
		memcpy(c->out, head, hlen);
		memcpy(c->out + hlen, body, blen);
		c->outlen = hlen + blen;
	}
	metrics_buf_free(&page);
	if (!c->out) {
		send_short(c->fd, 500);
		conn_close(c);
	}
}

/* Send what the socket takes; close when all is sent or it failed. */
static void conn_send(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n =
			send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
			     MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return; /* wait for POLLOUT */
			break;
		}
		c->outoff += (size_t)n;
	}
	conn_close(c);
}

static void conn_read(struct metrics_server *s, struct conn *c)
{
	struct metrics_http_req req = { 0 };
	ssize_t n;
	int status;

	do {
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen,
			 MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			conn_close(c);
		return;
	}
	if (n == 0) {
		/* the client stopped sending before the head was complete */
		if (c->inlen)
			send_short(c->fd, 400);
		conn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	status = metrics_http_parse(c->in, c->inlen, &req);
	if (status == 0)
		return; /* more to come (the head has room left) */
	conn_answer(s, c, status, &req);
	if (c->fd >= 0)
		conn_send(c);
}

static void accept_some(struct metrics_server *s, uint64_t now)
{
	for (unsigned int k = 0; k < METRICS_ACCEPT_BURST; k++) {
		struct conn *c = NULL;
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_ratelimited(LOG_LEVEL_WARN,
						"metrics: accept: %s",
						strerror(errno));
				s->accept_pause_until_ms =
					now + METRICS_ACCEPT_PAUSE_MS;
			}
			return;
		}
		for (unsigned int i = 0; i < METRICS_MAX_CONNS; i++) {
			struct conn *o = &s->conns[i];

			if (o->fd < 0) {
				c = o;
				break;
			}
			if (!c || o->deadline_ms < c->deadline_ms)
				c = o;
		}
		if (c->fd >= 0) {
			/* Full: the oldest makes room, so that idle
			 * connections cannot keep a client out for long. */
			if (!c->out)
				send_short(c->fd, 503);
			conn_close(c);
		}
		c->fd = fd;
		c->deadline_ms = now + METRICS_CONN_MS;
		c->inlen = 0;
	}
}

/* Past its deadline: a 408 for a request never completed, then close. */
static void conn_expire(struct conn *c)
{
	if (!c->out)
		send_short(c->fd, 408);
	conn_close(c);
}

static void *server_main(void *arg)
{
	struct metrics_server *s = arg;
	struct pollfd pfd[2 + METRICS_MAX_CONNS];
	unsigned int slot[2 + METRICS_MAX_CONNS];

	for (;;) {
		uint64_t now = now_ms(), next = UINT64_MAX;
		nfds_t nfds = 0;
		int timeout, n;

		pfd[nfds++] =
			(struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
		pfd[nfds++] =
			(struct pollfd){ .fd = now >= s->accept_pause_until_ms ?
						       s->listen_fd :
						       -1,
					 .events = POLLIN };
		if (now < s->accept_pause_until_ms)
			next = s->accept_pause_until_ms;
		for (unsigned int i = 0; i < METRICS_MAX_CONNS; i++) {
			struct conn *c = &s->conns[i];

			if (c->fd < 0)
				continue;
			slot[nfds] = i;
			pfd[nfds++] = (struct pollfd){
				.fd = c->fd,
				.events = c->out ? POLLOUT : POLLIN,
			};
			if (c->deadline_ms < next)
				next = c->deadline_ms;
		}
		if (next == UINT64_MAX)
			timeout = -1;
		else if (next <= now)
			timeout = 0;
		else
			timeout = next - now > INT_MAX ? INT_MAX :
							 (int)(next - now);
		n = poll(pfd, nfds, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("metrics: poll: %s; the metrics socket stops",
				  strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		for (nfds_t k = 2; k < nfds; k++) {
			struct conn *c = &s->conns[slot[k]];

			if (!pfd[k].revents || c->fd != pfd[k].fd)
				continue;
			if (c->out)
				conn_send(c);
			else
				conn_read(s, c);
		}
		now = now_ms();
		for (unsigned int i = 0; i < METRICS_MAX_CONNS; i++)
			if (s->conns[i].fd >= 0 &&
			    now >= s->conns[i].deadline_ms)
				conn_expire(&s->conns[i]);
		if (pfd[1].fd >= 0 && (pfd[1].revents & POLLIN))
			accept_some(s, now);
	}
	return NULL;
}

int metrics_server_start(int listen_fd, const struct metrics_sources *src,
			 struct metrics_server **out)
{
	struct metrics_server *s;
	sigset_t all, old;
	int flags, ret;

	if (!src || !src->op_name)
		return -EINVAL;
	/* The thread accepts in bursts until EAGAIN. */
	flags = fcntl(listen_fd, F_GETFL);
	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->listen_fd = listen_fd;
	s->src = *src;
	for (unsigned int i = 0; i < METRICS_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		ret = -errno;
		goto out_free;
	}
	/* No signal is for this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&s->thread, NULL, server_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto out_close_stop;
	*out = s;
	return 0;

out_close_stop:
	close(s->stop_fd);
out_free:
	free(s);
	return ret;
}

void metrics_server_stop(struct metrics_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (write(s->stop_fd, &one, sizeof(one)) < 0)
		log_error("metrics: stopping the thread: %s", strerror(errno));
	pthread_join(s->thread, NULL);
	for (unsigned int i = 0; i < METRICS_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			conn_close(&s->conns[i]);
	close(s->stop_fd);
	free(s);
}
