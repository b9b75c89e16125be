// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE server's front door. fuse_session_process() takes one request
 * from a transport and:
 *   1. copies the fuse_in_header out of @in and checks that its len equals
 *      the bytes received (nothing else is looked at before that);
 *   2. takes the INIT lock (write for INIT/DESTROY, read otherwise) and
 *      checks the session state;
 *   3. copies the arguments once into request-local memory (a WRITE
 *      payload stays in @in and is only sliced), strips and parses the
 *      request extensions;
 *   4. registers the request for INTERRUPT and calls the opcode's decoder
 *      from the dispatch table, which always completes the request.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/limits.h>

#include "fuse_i.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "util/iov.h"

enum {
	OP_NOREPLY = 1 << 0, /* never answered: FORGET, BATCH_FORGET, ... */
	OP_WRITE_PAYLOAD = 1 << 1, /* args end with a payload left in @in */
};

struct fuse_opdesc {
	fuse_op_fn fn;
	const char *name;
	unsigned int flags;
};

static void do_enosys(struct fuse_req *req, struct fuse_rd *rd)
{
	fuse_reply_err(req, -ENOSYS);
}

static void do_notify_reply(struct fuse_req *req, struct fuse_rd *rd)
{
	/* We never send NOTIFY_RETRIEVE; swallow stray answers. */
	fuse_reply_none(req);
}

static const struct fuse_opdesc fuse_ops[] = {
	[FUSE_LOOKUP] = { fuse_do_lookup, "LOOKUP", 0 },
	[FUSE_FORGET] = { fuse_do_forget, "FORGET", OP_NOREPLY },
	[FUSE_GETATTR] = { fuse_do_getattr, "GETATTR", 0 },
	[FUSE_SETATTR] = { fuse_do_setattr, "SETATTR", 0 },
	[FUSE_READLINK] = { fuse_do_readlink, "READLINK", 0 },
	[FUSE_SYMLINK] = { fuse_do_symlink, "SYMLINK", 0 },
	[FUSE_MKNOD] = { fuse_do_mknod, "MKNOD", 0 },
	[FUSE_MKDIR] = { fuse_do_mkdir, "MKDIR", 0 },
	[FUSE_UNLINK] = { fuse_do_unlink, "UNLINK", 0 },
	[FUSE_RMDIR] = { fuse_do_rmdir, "RMDIR", 0 },
	[FUSE_RENAME] = { fuse_do_rename, "RENAME", 0 },
	[FUSE_LINK] = { fuse_do_link, "LINK", 0 },
	[FUSE_OPEN] = { fuse_do_open, "OPEN", 0 },
	[FUSE_READ] = { fuse_do_read, "READ", 0 },
	[FUSE_WRITE] = { fuse_do_write, "WRITE", OP_WRITE_PAYLOAD },
	[FUSE_STATFS] = { fuse_do_statfs, "STATFS", 0 },
	[FUSE_RELEASE] = { fuse_do_release, "RELEASE", 0 },
	[FUSE_FSYNC] = { fuse_do_fsync, "FSYNC", 0 },
	[FUSE_SETXATTR] = { fuse_do_setxattr, "SETXATTR", 0 },
	[FUSE_GETXATTR] = { fuse_do_getxattr, "GETXATTR", 0 },
	[FUSE_LISTXATTR] = { fuse_do_listxattr, "LISTXATTR", 0 },
	[FUSE_REMOVEXATTR] = { fuse_do_removexattr, "REMOVEXATTR", 0 },
	[FUSE_FLUSH] = { fuse_do_flush, "FLUSH", 0 },
	[FUSE_INIT] = { fuse_do_init, "INIT", 0 },
	[FUSE_OPENDIR] = { fuse_do_opendir, "OPENDIR", 0 },
	[FUSE_READDIR] = { fuse_do_readdir, "READDIR", 0 },
	[FUSE_RELEASEDIR] = { fuse_do_releasedir, "RELEASEDIR", 0 },
	[FUSE_FSYNCDIR] = { fuse_do_fsyncdir, "FSYNCDIR", 0 },
	[FUSE_GETLK] = { fuse_do_getlk, "GETLK", 0 },
	[FUSE_SETLK] = { fuse_do_setlk, "SETLK", 0 },
	[FUSE_SETLKW] = { fuse_do_setlk, "SETLKW", 0 },
	[FUSE_ACCESS] = { fuse_do_access, "ACCESS", 0 },
	[FUSE_CREATE] = { fuse_do_create, "CREATE", 0 },
	[FUSE_INTERRUPT] = { fuse_do_interrupt, "INTERRUPT", 0 },
	[FUSE_BMAP] = { fuse_do_bmap, "BMAP", 0 },
	[FUSE_DESTROY] = { fuse_do_destroy, "DESTROY", 0 },
	[FUSE_IOCTL] = { fuse_do_ioctl, "IOCTL", 0 },
	[FUSE_POLL] = { fuse_do_poll, "POLL", 0 },
	[FUSE_NOTIFY_REPLY] = { do_notify_reply, "NOTIFY_REPLY", OP_NOREPLY },
	[FUSE_BATCH_FORGET] = { fuse_do_batch_forget, "BATCH_FORGET",
				OP_NOREPLY },
	[FUSE_FALLOCATE] = { fuse_do_fallocate, "FALLOCATE", 0 },
	[FUSE_READDIRPLUS] = { fuse_do_readdir, "READDIRPLUS", 0 },
	[FUSE_RENAME2] = { fuse_do_rename, "RENAME2", 0 },
	[FUSE_LSEEK] = { fuse_do_lseek, "LSEEK", 0 },
	[FUSE_COPY_FILE_RANGE] = { fuse_do_copy_file_range, "COPY_FILE_RANGE",
				   0 },
	[FUSE_SETUPMAPPING] = { do_enosys, "SETUPMAPPING", 0 },
	[FUSE_REMOVEMAPPING] = { do_enosys, "REMOVEMAPPING", 0 },
	[FUSE_SYNCFS] = { fuse_do_syncfs, "SYNCFS", 0 },
	[FUSE_TMPFILE] = { fuse_do_tmpfile, "TMPFILE", 0 },
};

#define FUSE_NR_OPS (sizeof(fuse_ops) / sizeof(fuse_ops[0]))

_Static_assert(FUSE_NR_OPS <= METRICS_OPS, "every opcode has a metrics slot");

static const struct fuse_opdesc *opdesc(uint32_t opcode)
{
	if (opcode >= FUSE_NR_OPS || !fuse_ops[opcode].fn)
		return NULL;
	return &fuse_ops[opcode];
}

const char *fuse_opcode_name(uint32_t opcode)
{
	const struct fuse_opdesc *d = opdesc(opcode);

	return d ? d->name : "UNKNOWN";
}

void fuse_count_request(const struct fuse_req *req)
{
	/* opcodes without a name share slot 0, "UNKNOWN" */
	unsigned int op = opdesc(req->opcode) ? req->opcode : 0;

	metrics_count_request(op, req->error, metrics_now_ns() - req->start_ns);
	if (req->io_bytes)
		metrics_count_io(req->opcode == FUSE_WRITE, req->io_bytes);
}

/* Names of directory entries as the protocol restricts them. */
int fuse_rd_name(struct fuse_rd *rd, const char **name)
{
	const char *p = (const char *)rd->p;
	const char *nul = memchr(p, '\0', rd->left);
	size_t len;

	if (!nul)
		return -EINVAL;
	len = (size_t)(nul - p);
	if (len == 0 || memchr(p, '/', len))
		return -EINVAL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (p[0] == '.' && (len == 1 || (len == 2 && p[1] == '.')))
		return -EINVAL;
	rd->p += len + 1;
	rd->left -= len + 1;
	*name = p;
	return 0;
}

int fuse_rd_str(struct fuse_rd *rd, size_t max, const char **s)
{
	const char *p = (const char *)rd->p;
	const char *nul = memchr(p, '\0', rd->left);
	size_t len;

	if (!nul)
		return -EINVAL;
	len = (size_t)(nul - p);
	if (len == 0)
		return -EINVAL;
	if (len > max)
		return -ENAMETOOLONG;
	rd->p += len + 1;
	rd->left -= len + 1;
	*s = p;
	return 0;
}

size_t fuse_session_bufsize(const struct fuse_session *se)
{
	return se->bufsize;
}

static size_t compute_bufsize(uint32_t max_write)
{
	size_t n = sizeof(struct fuse_in_header) +
		   sizeof(struct fuse_write_in) + max_write;
	long page = sysconf(_SC_PAGESIZE);

	if (n < FUSE_MIN_READ_BUFFER)
		n = FUSE_MIN_READ_BUFFER;
	return n + (page > 0 ? (size_t)page : 4096);
}

struct fuse_session *fuse_session_new(const struct fuse_fs_ops *ops, void *fs,
				      const struct fuse_session_opts *opts,
				      const struct fuse_transport_ops *tops,
				      void *tdata)
{
	struct fuse_session *se;
	size_t xattr_max;
	int err;

	if (!ops || !opts || !tops || !tops->complete) {
		errno = EINVAL;
		return NULL;
	}
	err = fuse_intr_setup();
	if (err) {
		errno = -err;
		return NULL;
	}
	se = calloc(1, sizeof(*se));
	if (!se)
		return NULL;
	se->ops = ops;
	se->fs = fs;
	se->opts = *opts;
	if (se->opts.max_write < 4096)
		se->opts.max_write = 4096;
	se->tops = tops;
	se->tdata = tdata;
	se->bufsize = compute_bufsize(se->opts.max_write);
	/* SETXATTR: header, name and the largest value, extensions */
	xattr_max = sizeof(struct fuse_setxattr_in) + XATTR_NAME_MAX + 1 +
		    XATTR_SIZE_MAX + 4096;
	se->arg_max = se->bufsize > xattr_max ? se->bufsize : xattr_max;

	err = pthread_rwlock_init(&se->init_lock, NULL);
	if (err)
		goto out_free;
	err = pthread_mutex_init(&se->intr_lock, NULL);
	if (err)
		goto out_rwlock;
	return se;

out_rwlock:
	pthread_rwlock_destroy(&se->init_lock);
out_free:
	free(se);
	errno = err;
	return NULL;
}

void fuse_session_free(struct fuse_session *se)
{
	if (!se)
		return;
	pthread_mutex_destroy(&se->intr_lock);
	pthread_rwlock_destroy(&se->init_lock);
	free(se);
}

bool fuse_session_initialized(struct fuse_session *se)
{
	return fuse_se_initialized(se);
}

bool fuse_session_destroyed(struct fuse_session *se)
{
	return __atomic_load_n(&se->destroyed, __ATOMIC_ACQUIRE);
}

/*
 * The security contexts of a creating request (FUSE_SECURITY_CTX): @nr
 * records in @p..@p+@len, each a struct fuse_secctx, the xattr name with
 * its NUL and the value, padded to 8 bytes. The first is kept in the
 * context (the Linux client sends at most one); all are checked. Returns
 * 0 or -EINVAL.
 */
int fuse_secctx_parse(struct fuse_req *req, const unsigned char *p, size_t len,
		      uint32_t nr)
{
	if (nr > FUSE_MAX_NR_SECCTX)
		return -EINVAL;
	for (uint32_t i = 0; i < nr; i++) {
		struct fuse_secctx sc;
		const char *name;
		const unsigned char *nul;
		size_t namelen, rec;

		if (len < sizeof(sc))
			return -EINVAL;
		memcpy(&sc, p, sizeof(sc));
		name = (const char *)p + sizeof(sc);
		nul = memchr(name, '\0', len - sizeof(sc));
		if (!nul || nul == (const unsigned char *)name)
			return -EINVAL;
		namelen = (size_t)(nul - (const unsigned char *)name) + 1;
		if (namelen > XATTR_NAME_MAX + 1 ||
		    sc.size > len - sizeof(sc) - namelen)
			return -EINVAL;
		rec = sizeof(sc) + namelen + sc.size;
		rec = rec + 7 < len ? (rec + 7) & ~(size_t)7 : len;
		if (i == 0 && (req->se->conn.flags & FUSE_SECURITY_CTX)) {
			req->ctx.secctx_name = name;
			req->ctx.secctx_value = nul + 1;
			req->ctx.secctx_len = sc.size;
		}
		p += rec;
		len -= rec;
	}
	return 0;
}

/*
 * Walk the request extensions at the end of the arguments. Returns 0 or
 * -EINVAL for a malformed list; unknown types are skipped.
 */
static int parse_extensions(struct fuse_req *req, const unsigned char *p,
			    size_t len)
{
	bool groups_on = req->se->conn.flags & FUSE_CREATE_SUPP_GROUP;

	while (len > 0) {
		struct fuse_ext_header eh;

		if (len < sizeof(eh))
			return -EINVAL;
		memcpy(&eh, p, sizeof(eh));
		if (eh.size < sizeof(eh) || eh.size > len || eh.size % 8)
			return -EINVAL;
		if (eh.type <= FUSE_MAX_NR_SECCTX) {
			/* a fuse_secctx_header: the type is the count */
			int err = fuse_secctx_parse(req, p + sizeof(eh),
						    eh.size - sizeof(eh),
						    eh.type);

			if (err)
				return err;
		} else if (eh.type == FUSE_EXT_GROUPS) {
			size_t body = eh.size - sizeof(eh);
			uint32_t nr, gid;

			if (body < sizeof(nr))
				return -EINVAL;
			memcpy(&nr, p + sizeof(eh), sizeof(nr));
			if (nr > (body - sizeof(nr)) / sizeof(uint32_t))
				return -EINVAL;
			if (nr >= 1 && groups_on) {
				memcpy(&gid, p + sizeof(eh) + sizeof(nr),
				       sizeof(gid));
				req->ctx.has_supp_gid = true;
				req->ctx.supp_gid = gid;
			}
		}
		p += eh.size;
		len -= eh.size;
	}
	return 0;
}

/* Requests that release what the client holds: never refused for the
 * requester's ids (map_ctx), or the client would leak handles, locks or
 * nodes. */
static bool ends_something(uint32_t opcode)
{
	switch (opcode) {
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
	case FUSE_INIT:
	case FUSE_DESTROY:
		return true;
	}
	return false;
}

static void malformed(const struct fuse_req *req, const char *why)
{
	log_ratelimited(LOG_LEVEL_WARN,
			"fuse: malformed %s request (unique %llu): %s",
			fuse_opcode_name(req->opcode),
			(unsigned long long)req->unique, why);
}

/*
 * Steps 3 and 4: copy arguments, parse extensions, run the decoder.
 * Called with the INIT lock held.
 */
static void dispatch(struct fuse_req *req, const struct fuse_in_header *h,
		     const struct fuse_opdesc *d)
{
	struct fuse_session *se = req->se;
	const struct fuse_chan_req *creq = req->creq;
	/* small arguments stay on the stack; names and xattrs go to heap */
	union {
		uint64_t align;
		unsigned char b[1024];
	} stackbuf;
	unsigned char *buf = stackbuf.b;
	size_t body = h->len - sizeof(*h);
	size_t extlen = (size_t)h->total_extlen * 8;
	size_t argl, copy, ext_off;
	struct fuse_rd rd;
	int err;

	if (extlen > body) {
		malformed(req, "extensions longer than the request");
		fuse_reply_err(req, -EINVAL);
		return;
	}
	argl = body - extlen;
	copy = argl;
	if (d->flags & OP_WRITE_PAYLOAD) {
		if (argl < sizeof(struct fuse_write_in)) {
			malformed(req, "short arguments");
			fuse_reply_err(req, -EINVAL);
			return;
		}
		copy = sizeof(struct fuse_write_in);
		req->payload_off = sizeof(*h) + copy;
		req->payload_len = argl - copy;
	}
	if (copy > se->arg_max || extlen > se->arg_max - copy) {
		malformed(req, "arguments too long");
		fuse_reply_err(req, -EINVAL);
		return;
	}
	if (copy + extlen > sizeof(stackbuf.b)) {
		buf = malloc(copy + extlen);
		if (!buf) {
			fuse_reply_err(req, -ENOMEM);
			return;
		}
	}
	/* the one and only read of the argument bytes */
	ext_off = sizeof(*h) + argl;
	iov_to_buf(creq->in, creq->in_cnt, sizeof(*h), buf, copy);
	iov_to_buf(creq->in, creq->in_cnt, ext_off, buf + copy, extlen);

	err = parse_extensions(req, buf + copy, extlen);
	if (err) {
		malformed(req, "bad request extension");
		fuse_reply_err(req, err);
		goto out_free;
	}

	if (se->ops->map_ctx) {
		err = se->ops->map_ctx(se->fs, &req->ctx);
		if (err && !ends_something(h->opcode)) {
			if (d->flags & OP_NOREPLY)
				fuse_reply_none(req);
			else
				fuse_reply_err(req, err);
			goto out_free;
		}
	}

	rd.p = buf;
	rd.left = copy;
	fuse_intr_register(req);
	d->fn(req, &rd);
	fuse_intr_unregister(req);
	if (!req->done) {
		/* every decoder completes; keep the transport's promise */
		log_ratelimited(LOG_LEVEL_ERROR, "fuse: %s left unanswered",
				d->name);
		fuse_reply_err(req, -EIO);
	}
out_free:
	if (buf != stackbuf.b)
		free(buf);
}

void fuse_session_process(struct fuse_session *se, struct fuse_chan_req *creq)
{
	struct fuse_in_header h;
	struct fuse_req req;
	const struct fuse_opdesc *d;
	size_t inlen = iov_size(creq->in, creq->in_cnt);
	bool exclusive;

	memset(&req, 0, sizeof(req));
	req.se = se;
	req.creq = creq;
	req.out_cap = iov_size(creq->out, creq->out_cnt);
	if (metrics_enabled())
		req.start_ns = metrics_now_ns();

	/* Step 1: the header, and whether the length adds up. */
	if (inlen < sizeof(h)) {
		log_ratelimited(LOG_LEVEL_WARN,
				"fuse: request of %zu bytes has no header",
				inlen);
		fuse_reply_none(&req); /* counted as UNKNOWN */
		return;
	}
	iov_to_buf(creq->in, creq->in_cnt, 0, &h, sizeof(h));
	req.unique = h.unique;
	req.nodeid = h.nodeid;
	req.opcode = h.opcode;
	req.ctx.unique = h.unique;
	req.ctx.opcode = h.opcode;
	req.ctx.uid = h.uid;
	req.ctx.gid = h.gid;
	req.ctx.pid = h.pid;
	req.ctx.conn = &se->conn;
	req.ctx.req = &req;

	log_debug("fuse: unique %llu %s (%u) nodeid %llu len %u",
		  (unsigned long long)h.unique, fuse_opcode_name(h.opcode),
		  h.opcode, (unsigned long long)h.nodeid, h.len);

	d = opdesc(h.opcode);
	if (h.len != inlen) {
		log_ratelimited(
			LOG_LEVEL_WARN,
			"fuse: unique %llu: len %u but %zu bytes received",
			(unsigned long long)h.unique, h.len, inlen);
		if (d && (d->flags & OP_NOREPLY))
			fuse_reply_none(&req);
		else
			fuse_reply_err(&req, -EINVAL);
		return;
	}

	/* Step 2: state. */
	exclusive = h.opcode == FUSE_INIT || h.opcode == FUSE_DESTROY;
	if (exclusive) {
		/* a request left blocking would hold the lock forever */
		if (fuse_se_initialized(se) &&
		    (h.opcode == FUSE_DESTROY || se->opts.allow_reinit))
			fuse_intr_all(se);
		pthread_rwlock_wrlock(&se->init_lock);
	} else {
		pthread_rwlock_rdlock(&se->init_lock);
	}

	if (!se->initialized && h.opcode != FUSE_INIT) {
		if (d && (d->flags & OP_NOREPLY))
			fuse_reply_none(&req);
		else
			fuse_reply_err(&req, -EIO);
		goto out_unlock;
	}
	if (!d) {
		/* Newer clients try newer opcodes and fall back on ENOSYS. */
		log_ratelimited(LOG_LEVEL_DEBUG, "fuse: unknown opcode %u",
				h.opcode);
		fuse_reply_err(&req, -ENOSYS);
		goto out_unlock;
	}
	/* No point doing work whose answer cannot be delivered. */
	if (!(d->flags & OP_NOREPLY) && h.opcode != FUSE_INTERRUPT &&
	    req.out_cap < sizeof(struct fuse_out_header)) {
		fuse_reply_err(&req, -EIO);
		goto out_unlock;
	}

	dispatch(&req, &h, d);

out_unlock:
	pthread_rwlock_unlock(&se->init_lock);
}

/* --- FUSE passthrough (host mounts) --- */

int fuse_backing_open(const struct fuse_ctx *ctx, int fd)
{
	struct fuse_session *se = ctx->req->se;

	if (!se->tops->backing_open || !(se->conn.flags & FUSE_PASSTHROUGH))
		return -EOPNOTSUPP;
	return se->tops->backing_open(se->tdata, fd);
}

int fuse_backing_close(const struct fuse_ctx *ctx, int id)
{
	struct fuse_session *se = ctx->req->se;

	if (!se->tops->backing_close)
		return -EOPNOTSUPP;
	return se->tops->backing_close(se->tdata, id);
}

void fuse_open_out_passthrough(struct fuse_open_out *out, int id)
{
	int32_t v = id;

	/* The client's own page cache is not used: no KEEP_CACHE (which the
	 * client refuses with passthrough), no DIRECT_IO. */
	out->open_flags &= ~(uint32_t)(FOPEN_KEEP_CACHE | FOPEN_DIRECT_IO);
	out->open_flags |= FOPEN_PASSTHROUGH;
	memcpy((char *)out + FUSE_OPEN_OUT_BACKING_ID_OFF, &v, sizeof(v));
}
