// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * INIT and DESTROY. Both run with the session's INIT lock held for
 * writing, so no other request sees a half-negotiated connection.
 *
 * INIT: check the version (7.31 and up; a major above 7 gets our version
 * back so the client retries), compute the server's default flags from
 * what the client offered and which operations the file system has, let
 * the file system adjust them (->init), keep only offered bits, fix
 * max_write/max_pages and answer. A repeated INIT on a live session is a
 * rebooted guest: with allow_reinit the old state is destroyed first.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fuse_i.h"
#include "log/log.h"

#define FUSE_MAX_BACKGROUND 64
#define FUSE_CONGESTION_THRESHOLD 48
/* Without MAX_PAGES the client cannot send more than this many pages. */
#define FUSE_DEFAULT_MAX_PAGES 32

static size_t page_size(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return page > 0 ? (size_t)page : 4096;
}

uint64_t fuse_default_want(const struct fuse_fs_ops *ops)
{
	uint64_t want = FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS |
			FUSE_AUTO_INVAL_DATA | FUSE_HANDLE_KILLPRIV |
			FUSE_ASYNC_DIO | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
			FUSE_MAX_PAGES | FUSE_SETXATTR_EXT | FUSE_INIT_EXT |
			FUSE_CREATE_SUPP_GROUP;

	if (ops->getlk && ops->setlk)
		want |= FUSE_POSIX_LOCKS;
	if (ops->setlk)
		want |= FUSE_FLOCK_LOCKS;
	if (ops->readdir)
		want |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
	return want;
}

static void negotiate(struct fuse_req *req, const struct fuse_init_in *in,
		      size_t insize)
{
	struct fuse_session *se = req->se;
	struct fuse_init_out out = { 0 };
	uint64_t offered = in->flags;
	uint64_t want;
	uint32_t max_write = se->opts.max_write;
	size_t page = page_size();

	if ((in->flags & FUSE_INIT_EXT) &&
	    insize >=
		    offsetof(struct fuse_init_in, flags2) + sizeof(in->flags2))
		offered |= (uint64_t)in->flags2 << 32;

	if (!(offered & FUSE_MAX_PAGES) &&
	    max_write > FUSE_DEFAULT_MAX_PAGES * page)
		max_write = (uint32_t)(FUSE_DEFAULT_MAX_PAGES * page);

	/* Passthrough needs a transport that can register host files. */
	if (!se->tops->backing_open || !se->tops->backing_close)
		offered &= ~(uint64_t)FUSE_PASSTHROUGH;
	want = fuse_default_want(se->ops) & offered;
	if (se->ops->init)
		se->ops->init(se->fs, offered, &want, &max_write);
	want &= offered;
	if (max_write > se->opts.max_write)
		max_write = se->opts.max_write;
	if (!(offered & FUSE_MAX_PAGES) &&
	    max_write > FUSE_DEFAULT_MAX_PAGES * page)
		max_write = (uint32_t)(FUSE_DEFAULT_MAX_PAGES * page);
	if (max_write < 4096)
		max_write = 4096;

	out.major = FUSE_SRV_MAJOR;
	out.minor = FUSE_SRV_MINOR;
	out.max_readahead = in->max_readahead;
	out.flags = (uint32_t)want;
	if (want & FUSE_INIT_EXT)
		out.flags2 = (uint32_t)(want >> 32);
	else
		want &= UINT32_MAX;
	out.max_background = FUSE_MAX_BACKGROUND;
	out.congestion_threshold = FUSE_CONGESTION_THRESHOLD;
	out.max_write = max_write;
	out.time_gran = 1;
	if (want & FUSE_PASSTHROUGH) {
		/* Backing files from a file system that is not stacked
		 * itself; the client refuses deeper ones at BACKING_OPEN. */
		uint32_t depth = 1;

		memcpy((char *)&out + FUSE_INIT_OUT_MAX_STACK_DEPTH_OFF, &depth,
		       sizeof(depth));
	}
	if (want & FUSE_MAX_PAGES) {
		size_t pages = (max_write + page - 1) / page;

		out.max_pages =
			(uint16_t)(pages > UINT16_MAX ? UINT16_MAX : pages);
	}

	se->offered = offered;
	se->conn.proto_minor = in->minor;
	se->conn.flags = want;
	se->conn.max_write = max_write;
	se->conn.max_readahead = in->max_readahead;

	/* a guest may send INIT again and again: rate-limited */
	log_ratelimited(
		LOG_LEVEL_INFO, "fuse: INIT %u.%u: flags 0x%llx, max_write %u",
		in->major, in->minor, (unsigned long long)want, max_write);
	if (fuse_reply_ok(req, &out, sizeof(out)) == 0) {
		__atomic_store_n(&se->destroyed, false, __ATOMIC_RELEASE);
		__atomic_store_n(&se->initialized, true, __ATOMIC_RELEASE);
	}
}

void fuse_do_init(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_session *se = req->se;
	/* clients 7.31..7.35 send the 16-byte layout, 7.36+ the full one */
	const size_t oldsize = offsetof(struct fuse_init_in, flags2);
	struct fuse_init_in in = { 0 };
	size_t insize = rd->left;

	if (se->initialized) {
		if (!se->opts.allow_reinit) {
			log_ratelimited(LOG_LEVEL_WARN,
					"fuse: INIT on a live session refused");
			fuse_reply_err(req, -EIO);
			return;
		}
		log_ratelimited(
			LOG_LEVEL_INFO,
			"fuse: INIT on a live session: starting afresh");
		if (se->ops->destroy)
			se->ops->destroy(se->fs);
		__atomic_store_n(&se->initialized, false, __ATOMIC_RELEASE);
	}

	if (insize < offsetof(struct fuse_init_in, max_readahead)) {
		fuse_reply_err(req, -EINVAL);
		return;
	}
	fuse_rd_get(rd, &in, insize < sizeof(in) ? insize : sizeof(in));
	if (in.major > FUSE_SRV_MAJOR) {
		/* just our version: the client retries with 7.x */
		struct fuse_init_out out = { .major = FUSE_SRV_MAJOR,
					     .minor = FUSE_SRV_MINOR };

		fuse_reply_ok(req, &out, sizeof(out));
		return;
	}
	if (in.major < FUSE_SRV_MAJOR || in.minor < FUSE_SRV_MIN_MINOR) {
		log_ratelimited(LOG_LEVEL_WARN,
				"fuse: unsupported protocol version %u.%u",
				in.major, in.minor);
		fuse_reply_err(req, -EPROTO);
		return;
	}
	/*
	 * Exact layouts: 16 bytes before 7.36, 64 from 7.36 on. Newer minors
	 * may append fields we do not know; those are ignored.
	 */
	if (in.minor < 36 ?
		    insize != oldsize :
		    insize < sizeof(in) || (in.minor <= FUSE_SRV_MINOR &&
					    insize != sizeof(in))) {
		log_ratelimited(LOG_LEVEL_WARN,
				"fuse: INIT %u.%u with %zu argument bytes",
				in.major, in.minor, insize);
		fuse_reply_err(req, -EINVAL);
		return;
	}
	negotiate(req, &in, insize);
}

void fuse_do_destroy(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_session *se = req->se;

	if (!fuse_rd_end(rd)) {
		fuse_reply_err(req, -EINVAL);
		return;
	}
	if (se->ops->destroy)
		se->ops->destroy(se->fs);
	__atomic_store_n(&se->initialized, false, __ATOMIC_RELEASE);
	__atomic_store_n(&se->destroyed, true, __ATOMIC_RELEASE);
	fuse_reply_err(req, 0);
}
