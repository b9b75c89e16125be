// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reply encoding. A decoder hands its result here; the reply is written
 * into the transport's out iovecs (never beyond them) as a fuse_out_header
 * and the payload, then the transport's ->complete() runs exactly once.
 * If not even the header fits, nothing can be said to the client: the
 * request completes with 0 bytes. If the payload does not fit, the client
 * gets EIO, and a reply that carried a lookup reference (or an open
 * handle) gives it back to the file system so no count leaks.
 */
#include <errno.h>

#include "fuse_i.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "util/iov.h"

static void complete(struct fuse_req *req, size_t len)
{
	struct fuse_session *se = req->se;

	if (req->done)
		return;
	req->done = true;
	/* Before the transport has it: once the client sees the reply, the
	 * request is counted. */
	if (metrics_enabled())
		fuse_count_request(req);
	se->tops->complete(se->tdata, req->creq, len);
}

static void no_room(struct fuse_req *req)
{
	log_ratelimited(
		LOG_LEVEL_WARN,
		"fuse: unique %llu (%s): %zu byte out buffer cannot hold a reply header",
		(unsigned long long)req->unique, fuse_opcode_name(req->opcode),
		req->out_cap);
	complete(req, 0);
}

/* Write a header saying @err with @len payload bytes following. */
static void put_header(struct fuse_req *req, int err, size_t len)
{
	struct fuse_out_header oh = {
		.len = (uint32_t)(sizeof(oh) + len),
		.error = err,
		.unique = req->unique,
	};

	req->error = err;
	iov_from_buf(req->creq->out, req->creq->out_cnt, 0, &oh, sizeof(oh));
}

void fuse_reply_none(struct fuse_req *req)
{
	complete(req, 0);
}

void fuse_reply_err(struct fuse_req *req, int err)
{
	if (req->done)
		return;
	if (err > 0 || err < -4095) {
		log_ratelimited(LOG_LEVEL_WARN, "fuse: bad error %d from %s",
				err, fuse_opcode_name(req->opcode));
		err = -EIO;
	}
	if (err)
		log_debug("fuse: unique %llu %s -> error %d",
			  (unsigned long long)req->unique,
			  fuse_opcode_name(req->opcode), -err);
	if (req->out_cap < sizeof(struct fuse_out_header)) {
		no_room(req);
		return;
	}
	put_header(req, err, 0);
	complete(req, sizeof(struct fuse_out_header));
}

/* Whether @len payload bytes fit after the header. */
static bool fits(const struct fuse_req *req, size_t len)
{
	return req->out_cap >= sizeof(struct fuse_out_header) &&
	       len <= req->out_cap - sizeof(struct fuse_out_header) &&
	       len <= UINT32_MAX - sizeof(struct fuse_out_header);
}

int fuse_reply_iov(struct fuse_req *req, const struct iovec *iov, int cnt)
{
	size_t len = iov_size(iov, cnt);
	size_t off = sizeof(struct fuse_out_header);

	if (req->done)
		return 0;
	if (!fits(req, len)) {
		log_ratelimited(
			LOG_LEVEL_WARN,
			"fuse: unique %llu (%s): %zu byte reply does not fit in %zu",
			(unsigned long long)req->unique,
			fuse_opcode_name(req->opcode), len, req->out_cap);
		fuse_reply_err(req, -EIO);
		return -EIO;
	}
	for (int i = 0; i < cnt; i++) {
		iov_from_buf(req->creq->out, req->creq->out_cnt, off,
			     iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	put_header(req, 0, len);
	complete(req, off);
	return 0;
}

int fuse_reply_ok(struct fuse_req *req, const void *arg, size_t len)
{
	struct iovec iov = { .iov_base = (void *)arg, .iov_len = len };

	return fuse_reply_iov(req, &iov, len ? 1 : 0);
}

void fuse_reply_inplace(struct fuse_req *req, size_t len)
{
	if (!fits(req, len)) {
		fuse_reply_err(req, -EIO);
		return;
	}
	put_header(req, 0, len);
	complete(req, sizeof(struct fuse_out_header) + len);
}

void fuse_reply_entry(struct fuse_req *req, const struct fuse_entry_out *e)
{
	struct fuse_session *se = req->se;

	if (fuse_reply_ok(req, e, sizeof(*e)) && e->nodeid && se->ops->forget)
		se->ops->forget(se->fs, e->nodeid, 1);
}

void fuse_reply_create(struct fuse_req *req, const struct fuse_entry_out *e,
		       const struct fuse_open_out *o, uint32_t open_flags)
{
	struct fuse_session *se = req->se;
	struct iovec iov[2] = {
		{ .iov_base = (void *)e, .iov_len = sizeof(*e) },
		{ .iov_base = (void *)o, .iov_len = sizeof(*o) },
	};

	if (!fuse_reply_iov(req, iov, 2))
		return;
	/* undeliverable: close the handle and drop the reference */
	if (se->ops->release) {
		struct fuse_release_in rin = { .fh = o->fh,
					       .flags = open_flags };

		se->ops->release(se->fs, &req->ctx, e->nodeid, &rin);
	}
	if (e->nodeid && se->ops->forget)
		se->ops->forget(se->fs, e->nodeid, 1);
}
