// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Device-state transfer of a live migration: SET_DEVICE_STATE_FD and
 * CHECK_DEVICE_STATE (VHOST_USER_PROTOCOL_F_DEVICE_STATE).
 *
 * On the source, once every queue is stopped, the frontend sends
 * SET_DEVICE_STATE_FD (save) with the write end of a pipe: the device
 * serializes its state (ops->state_save) on the serving thread, which
 * replies at once, and a transfer thread writes the bytes into the pipe
 * and closes it; the frontend reads to the end and asks
 * CHECK_DEVICE_STATE, whose answer says whether every byte went out. On
 * the destination, SET_DEVICE_STATE_FD (load) brings the read end: the
 * transfer thread reads to the end (at most VU_STATE_MAX bytes), and
 * CHECK_DEVICE_STATE hands what arrived to the device (ops->state_load)
 * on the serving thread and answers with its verdict. The device state is
 * opaque here; the device checks it.
 *
 * The pipe is served by its own thread because the frontend reads (or
 * writes) it only after our reply: writing a state larger than the pipe
 * from the serving thread would wait for a reader that waits for us.
 * A transfer is cancelled (an eventfd wakes the thread) by a new
 * SET_DEVICE_STATE_FD, RESET_DEVICE and the end of the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"
#include "vhost_i.h"

/* How long CHECK_DEVICE_STATE waits for the transfer to end. The
 * frontend has closed its end (load) or read ours to the end (save)
 * before it asks, so only a misbehaving frontend makes us wait. */
#define VU_XFER_CHECK_TIMEOUT_S 30
#define VU_XFER_CHUNK (64u << 10)

struct vu_xfer {
	pthread_t thread;
	bool save;
	int fd; /* our end of the channel; the thread's until it ends */
	int cancel_fd; /* eventfd: stop now */
	uint8_t *buf; /* save: the state; load: what arrived */
	size_t len, cap;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done; /* protected by ->lock */
	int result; /* 0 or -errno; valid once done */
	char why[120]; /* what failed; valid once done */
};

static void xfer_finish(struct vu_xfer *x, int result, const char *why)
{
	pthread_mutex_lock(&x->lock);
	x->result = result;
	if (why)
		snprintf(x->why, sizeof(x->why), "%s", why);
	x->done = true;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

/* Wait until @x->fd is ready for @events; 0, -ECANCELED or -errno. */
static int xfer_poll(struct vu_xfer *x, short events)
{
	struct pollfd pfd[2] = {
		{ .fd = x->fd, .events = events },
		{ .fd = x->cancel_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[1].revents)
			return -ECANCELED;
		if (pfd[0].revents)
			return 0;
	}
}

static void xfer_send(struct vu_xfer *x)
{
	size_t off = 0;
	int ret = 0;

	while (off < x->len) {
		ssize_t n;

		ret = xfer_poll(x, POLLOUT);
		if (ret)
			break;
		n = write(x->fd, x->buf + off, x->len - off);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ret = -errno;
			break;
		}
		off += (size_t)n;
	}
	/* Closing is the end-of-state mark. */
	close(x->fd);
	x->fd = -1;
	if (ret == -ECANCELED)
		xfer_finish(x, ret, "cancelled");
	else if (ret)
		xfer_finish(x, ret, "writing the state: the frontend's end");
	else
		xfer_finish(x, 0, NULL);
}

static void xfer_receive(struct vu_xfer *x)
{
	int ret;

	for (;;) {
		ssize_t n;

		if (x->cap - x->len < VU_XFER_CHUNK) {
			size_t cap = x->cap ? x->cap * 2 : VU_XFER_CHUNK * 2;
			uint8_t *b;

			if (cap > (size_t)VU_STATE_MAX + VU_XFER_CHUNK)
				cap = (size_t)VU_STATE_MAX + VU_XFER_CHUNK;
			if (cap - x->len < VU_XFER_CHUNK) {
				ret = -EFBIG;
				break;
			}
			b = realloc(x->buf, cap);
			if (!b) {
				ret = -ENOMEM;
				break;
			}
			x->buf = b;
			x->cap = cap;
		}
		ret = xfer_poll(x, POLLIN);
		if (ret)
			break;
		n = read(x->fd, x->buf + x->len, VU_XFER_CHUNK);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ret = -errno;
			break;
		}
		if (n == 0)
			break; /* the frontend closed its end: all there */
		x->len += (size_t)n;
		if (x->len > VU_STATE_MAX) {
			ret = -EFBIG;
			break;
		}
	}
	close(x->fd);
	x->fd = -1;
	if (ret == -EFBIG)
		xfer_finish(x, ret,
			    "the state is larger than the 256 MiB allowed");
	else if (ret == -ECANCELED)
		xfer_finish(x, ret, "cancelled");
	else if (ret)
		xfer_finish(x, ret, "reading the state");
	else
		xfer_finish(x, 0, NULL);
}

static void *xfer_main(void *arg)
{
	struct vu_xfer *x = arg;

	if (x->save)
		xfer_send(x);
	else
		xfer_receive(x);
	return NULL;
}

static void xfer_free(struct vu_xfer *x)
{
	if (x->fd >= 0)
		close(x->fd);
	if (x->cancel_fd >= 0)
		close(x->cancel_fd);
	pthread_cond_destroy(&x->cond);
	pthread_mutex_destroy(&x->lock);
	free(x->buf);
	free(x);
}

void vu_state_cancel(struct vu_dev *dev)
{
	struct vu_xfer *x = dev->xfer;
	uint64_t one = 1;

	if (!x)
		return;
	dev->xfer = NULL;
	if (write(x->cancel_fd, &one, sizeof(one)) < 0)
		log_debug("vhost-user: cancelling a state transfer: %s",
			  strerror(errno));
	pthread_join(x->thread, NULL);
	xfer_free(x);
}

/* Start the transfer thread on @x (every signal blocked in it: a write
 * into a pipe nobody reads then fails with EPIPE, no SIGPIPE). */
static int xfer_start(struct vu_xfer *x)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&x->thread, NULL, xfer_main, x);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

enum vu_verdict vu_state_set_fd(struct vu_dev *dev, struct vu_msg *msg,
				uint64_t *status)
{
	const struct vhost_user_transfer_state *t = &msg->payload.transfer;
	struct vu_xfer *x;
	int fl, ret;

	*status = 1;
	if (t->direction != VHOST_TRANSFER_STATE_DIRECTION_SAVE &&
	    t->direction != VHOST_TRANSFER_STATE_DIRECTION_LOAD)
		return vu_refuse(dev, VU_REFUSED, "transfer direction %u",
				 t->direction);
	if (t->phase != VHOST_TRANSFER_STATE_PHASE_STOPPED)
		return vu_refuse(
			dev, VU_REFUSED,
			"migration phase %u (only 'stopped' is supported)",
			t->phase);
	if (msg->nfds != 1)
		return vu_refuse(dev, VU_REFUSED, "%u fds (needs 1)",
				 msg->nfds);
	/* A new transfer replaces one the frontend gave up on. */
	vu_state_cancel(dev);
	/* The spec's phase: the device is suspended, all rings stopped. */
	for (unsigned int i = 0; i < dev->info.num_queues; i++)
		if (dev->queues[i].running)
			return vu_refuse(
				dev, VU_REFUSED,
				"queue %u still runs: the device state is transferred only while every ring is stopped",
				i);

	x = calloc(1, sizeof(*x));
	if (!x)
		return vu_refuse(dev, VU_REFUSED, "out of memory");
	x->fd = -1;
	x->save = t->direction == VHOST_TRANSFER_STATE_DIRECTION_SAVE;
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->cond, NULL);
	x->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->cancel_fd < 0) {
		ret = -errno;
		xfer_free(x);
		return vu_refuse(dev, VU_REFUSED, "eventfd: %s",
				 strerror(-ret));
	}
	if (x->save) {
		void *buf = NULL;
		size_t len = 0;

		ret = dev->ops.state_save(dev->opaque, &buf, &len);
		if (ret) {
			xfer_free(x);
			return vu_refuse(
				dev, VU_REFUSED,
				"the device could not save its state: %s",
				strerror(-ret));
		}
		x->buf = buf;
		x->len = len;
	}
	x->fd = msg->fds[0];
	msg->fds[0] = -1;
	fl = fcntl(x->fd, F_GETFL);
	if (fl < 0 || fcntl(x->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		ret = -errno;
		xfer_free(x);
		return vu_refuse(dev, VU_REFUSED, "the state fd: %s",
				 strerror(-ret));
	}
	ret = xfer_start(x);
	if (ret) {
		xfer_free(x);
		return vu_refuse(dev, VU_REFUSED, "transfer thread: %s",
				 strerror(-ret));
	}
	dev->xfer = x;
	log_info("vhost-user: device state %s started%s",
		 x->save ? "save" : "load", x->save ? "" : " (waiting for it)");
	*status = VHOST_USER_STATE_REPLY_NOFD;
	return VU_OK;
}

enum vu_verdict vu_state_check(struct vu_dev *dev, uint64_t *status)
{
	struct vu_xfer *x = dev->xfer;
	struct timespec until;
	enum vu_verdict v = VU_OK;
	bool done;
	int ret;

	*status = 1;
	if (!x)
		return vu_refuse(dev, VU_REFUSED,
				 "no device state transfer to check");
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += VU_XFER_CHECK_TIMEOUT_S;
	pthread_mutex_lock(&x->lock);
	while (!x->done) {
		if (pthread_cond_timedwait(&x->cond, &x->lock, &until) ==
		    ETIMEDOUT)
			break;
	}
	done = x->done;
	pthread_mutex_unlock(&x->lock);
	if (!done) {
		vu_state_cancel(dev);
		return vu_refuse(
			dev, VU_REFUSED,
			"device state transfer not finished after %d s: the frontend did not close its end",
			VU_XFER_CHECK_TIMEOUT_S);
	}
	pthread_join(x->thread, NULL);
	dev->xfer = NULL;
	if (x->result) {
		v = vu_refuse(dev, VU_REFUSED, "device state %s failed: %s: %s",
			      x->save ? "save" : "load", x->why,
			      strerror(-x->result));
	} else if (x->save) {
		log_info("vhost-user: device state saved (%zu bytes)", x->len);
		*status = 0;
	} else {
		ret = dev->ops.state_load(dev->opaque, x->buf, x->len);
		if (ret)
			v = vu_refuse(
				dev, VU_REFUSED,
				"the device refused the state it was sent (%zu bytes): %s",
				x->len, strerror(-ret));
		else
			*status = 0;
	}
	xfer_free(x);
	return v;
}
