// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Decoders of the file-system requests. Each one reads its arguments with
 * the bounded reader over the request-local copy (fixed structs first,
 * then names), rejects a request that is short, carries trailing bytes or
 * bad names with EINVAL/ENAMETOOLONG before the file system runs, then
 * calls exactly one entry of the operations table (ENOSYS when it is NULL)
 * and hands the result to reply.c. Node ids and handles are passed on
 * unchecked: the file system owns them.
 */
#include <errno.h>
#include <stdlib.h>
#include <linux/limits.h>

#include "fuse_i.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "util/assist.h"
#include "util/iov.h"

#define FS(req) ((req)->se->fs)
#define OPS(req) ((req)->se->ops)
#define CTX(req) (&(req)->ctx)

static void bad(struct fuse_req *req, int err, const char *why)
{
	/* A name longer than NAME_MAX is an ordinary client request (the
	 * Linux client allows up to 1024 bytes): answered, not logged. */
	if (err == -ENAMETOOLONG) {
		fuse_reply_err(req, err);
		return;
	}
	log_ratelimited(LOG_LEVEL_WARN,
			"fuse: malformed %s request (unique %llu): %s",
			fuse_opcode_name(req->opcode),
			(unsigned long long)req->unique, why);
	fuse_reply_err(req, err);
}

/* An ssize_t result as an error code (out-of-range values are EIO). */
static int ecode(ssize_t r)
{
	return r < -4095 ? -EIO : (int)r;
}

/* A plain status answer: negative is an error, anything else success. */
static void reply_status(struct fuse_req *req, long ret)
{
	fuse_reply_err(req, ret < 0 ? (int)ret : 0);
}

#define GET_ARG(req, rd, arg)                                   \
	do {                                                    \
		if (!fuse_rd_get((rd), &(arg), sizeof(arg))) {  \
			bad((req), -EINVAL, "short arguments"); \
			return;                                 \
		}                                               \
	} while (0)

#define GET_NAME(req, rd, name)                         \
	do {                                            \
		int err_ = fuse_rd_name((rd), &(name)); \
		if (err_) {                             \
			bad((req), err_, "bad name");   \
			return;                         \
		}                                       \
	} while (0)

#define END_ARGS(req, rd)                                      \
	do {                                                   \
		if (!fuse_rd_end(rd)) {                        \
			bad((req), -EINVAL, "trailing bytes"); \
			return;                                \
		}                                              \
	} while (0)

int fuse_rd_secctx(struct fuse_req *req, struct fuse_rd *rd)
{
	const struct fuse_conn *c = &req->se->conn;
	struct fuse_secctx_header sh;
	const unsigned char *p;

	if (!(c->flags & FUSE_SECURITY_CTX) || c->proto_minor >= 38)
		return 0; /* none, or sent as a request extension */
	if (!fuse_rd_get(rd, &sh, sizeof(sh)) || sh.size < sizeof(sh) ||
	    sh.size - sizeof(sh) != rd->left)
		return -EINVAL;
	p = fuse_rd_take(rd, rd->left);
	return fuse_secctx_parse(req, p, sh.size - sizeof(sh), sh.nr_secctx);
}

/* The pre-7.38 security context argument, where one is due. */
#define GET_SECCTX(req, rd)                                       \
	do {                                                      \
		int err_ = fuse_rd_secctx((req), (rd));           \
		if (err_) {                                       \
			bad((req), err_, "bad security context"); \
			return;                                   \
		}                                                 \
	} while (0)

#define NEED_OP(req, op)                                \
	do {                                            \
		if (!OPS(req)->op) {                    \
			fuse_reply_err((req), -ENOSYS); \
			return;                         \
		}                                       \
	} while (0)

/* An entry answer: the reference it carries is returned if undelivered. */
static void reply_entry_ret(struct fuse_req *req, int ret,
			    const struct fuse_entry_out *e)
{
	if (ret < 0)
		fuse_reply_err(req, ret);
	else
		fuse_reply_entry(req, e);
}

void fuse_do_lookup(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_entry_out e = { 0 };
	const char *name;

	GET_NAME(req, rd, name);
	END_ARGS(req, rd);
	NEED_OP(req, lookup);
	reply_entry_ret(
		req, OPS(req)->lookup(FS(req), CTX(req), req->nodeid, name, &e),
		&e);
}

void fuse_do_forget(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_forget_in in;

	if (!fuse_rd_get(rd, &in, sizeof(in)) || !fuse_rd_end(rd)) {
		log_ratelimited(LOG_LEVEL_WARN, "fuse: malformed FORGET");
		fuse_reply_none(req);
		return;
	}
	if (OPS(req)->forget)
		OPS(req)->forget(FS(req), req->nodeid, in.nlookup);
	fuse_reply_none(req);
}

void fuse_do_batch_forget(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_batch_forget_in in;
	struct fuse_forget_one one;
	size_t bytes;

	if (!fuse_rd_get(rd, &in, sizeof(in)) ||
	    __builtin_mul_overflow((size_t)in.count, sizeof(one), &bytes) ||
	    bytes != rd->left) {
		log_ratelimited(LOG_LEVEL_WARN,
				"fuse: malformed BATCH_FORGET (unique %llu)",
				(unsigned long long)req->unique);
		fuse_reply_none(req);
		return;
	}
	while (OPS(req)->forget && fuse_rd_get(rd, &one, sizeof(one)))
		OPS(req)->forget(FS(req), one.nodeid, one.nlookup);
	fuse_reply_none(req);
}

void fuse_do_getattr(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_getattr_in in;
	struct fuse_attr_out out = { 0 };
	int ret;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, getattr);
	ret = OPS(req)->getattr(FS(req), CTX(req), req->nodeid, &in, &out);
	if (ret < 0)
		fuse_reply_err(req, ret);
	else
		fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_setattr(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_setattr_in in;
	struct fuse_attr_out out = { 0 };
	int ret;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, setattr);
	ret = OPS(req)->setattr(FS(req), CTX(req), req->nodeid, &in, &out);
	if (ret < 0)
		fuse_reply_err(req, ret);
	else
		fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_readlink(struct fuse_req *req, struct fuse_rd *rd)
{
	char buf[PATH_MAX];
	ssize_t ret;

	END_ARGS(req, rd);
	NEED_OP(req, readlink);
	ret = OPS(req)->readlink(FS(req), CTX(req), req->nodeid, buf,
				 sizeof(buf));
	if (ret < 0)
		fuse_reply_err(req, ecode(ret));
	else if ((size_t)ret > sizeof(buf))
		fuse_reply_err(req, -EIO);
	else
		fuse_reply_ok(req, buf, (size_t)ret);
}

void fuse_do_symlink(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_entry_out e = { 0 };
	const char *name, *target;
	int err;

	GET_NAME(req, rd, name);
	err = fuse_rd_str(rd, PATH_MAX - 1, &target);
	if (err) {
		bad(req, err, "bad symlink target");
		return;
	}
	GET_SECCTX(req, rd);
	END_ARGS(req, rd);
	NEED_OP(req, symlink);
	reply_entry_ret(req,
			OPS(req)->symlink(FS(req), CTX(req), req->nodeid, name,
					  target, &e),
			&e);
}

void fuse_do_mknod(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_mknod_in in;
	struct fuse_entry_out e = { 0 };
	const char *name;

	GET_ARG(req, rd, in);
	GET_NAME(req, rd, name);
	GET_SECCTX(req, rd);
	END_ARGS(req, rd);
	NEED_OP(req, mknod);
	reply_entry_ret(
		req,
		OPS(req)->mknod(FS(req), CTX(req), req->nodeid, name, &in, &e),
		&e);
}

void fuse_do_mkdir(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_mkdir_in in;
	struct fuse_entry_out e = { 0 };
	const char *name;

	GET_ARG(req, rd, in);
	GET_NAME(req, rd, name);
	GET_SECCTX(req, rd);
	END_ARGS(req, rd);
	NEED_OP(req, mkdir);
	reply_entry_ret(
		req,
		OPS(req)->mkdir(FS(req), CTX(req), req->nodeid, name, &in, &e),
		&e);
}

void fuse_do_unlink(struct fuse_req *req, struct fuse_rd *rd)
{
	const char *name;

	GET_NAME(req, rd, name);
	END_ARGS(req, rd);
	NEED_OP(req, unlink);
	reply_status(req,
		     OPS(req)->unlink(FS(req), CTX(req), req->nodeid, name));
}

void fuse_do_rmdir(struct fuse_req *req, struct fuse_rd *rd)
{
	const char *name;

	GET_NAME(req, rd, name);
	END_ARGS(req, rd);
	NEED_OP(req, rmdir);
	reply_status(req,
		     OPS(req)->rmdir(FS(req), CTX(req), req->nodeid, name));
}

/* RENAME and RENAME2 */
void fuse_do_rename(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_rename2_in in = { 0 };
	const char *name, *newname;

	if (req->opcode == FUSE_RENAME) {
		struct fuse_rename_in in1;

		GET_ARG(req, rd, in1);
		in.newdir = in1.newdir;
	} else {
		GET_ARG(req, rd, in);
	}
	GET_NAME(req, rd, name);
	GET_NAME(req, rd, newname);
	END_ARGS(req, rd);
	NEED_OP(req, rename);
	reply_status(req, OPS(req)->rename(FS(req), CTX(req), req->nodeid, name,
					   in.newdir, newname, in.flags));
}

void fuse_do_link(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_link_in in;
	struct fuse_entry_out e = { 0 };
	const char *newname;

	GET_ARG(req, rd, in);
	GET_NAME(req, rd, newname);
	END_ARGS(req, rd);
	NEED_OP(req, link);
	reply_entry_ret(req,
			OPS(req)->link(FS(req), CTX(req), in.oldnodeid,
				       req->nodeid, newname, &e),
			&e);
}

void fuse_do_open(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_open_in in;
	struct fuse_open_out out = { 0 };
	int ret;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, open);
	ret = OPS(req)->open(FS(req), CTX(req), req->nodeid, &in, &out);
	if (ret < 0) {
		fuse_reply_err(req, ret);
	} else if (fuse_reply_ok(req, &out, sizeof(out)) && OPS(req)->release) {
		/* the client never learns the handle: close it */
		struct fuse_release_in rin = { .fh = out.fh,
					       .flags = in.flags };

		OPS(req)->release(FS(req), CTX(req), req->nodeid, &rin);
	}
}

void fuse_do_opendir(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_open_in in;
	struct fuse_open_out out = { 0 };
	int ret;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, opendir);
	ret = OPS(req)->opendir(FS(req), CTX(req), req->nodeid, &in, &out);
	if (ret < 0) {
		fuse_reply_err(req, ret);
	} else if (fuse_reply_ok(req, &out, sizeof(out)) &&
		   OPS(req)->releasedir) {
		struct fuse_release_in rin = { .fh = out.fh,
					       .flags = in.flags };

		OPS(req)->releasedir(FS(req), CTX(req), req->nodeid, &rin);
	}
}

static size_t read_bound(const struct fuse_req *req)
{
	uint32_t mw = req->se->conn.max_write;

	return mw > FUSE_READ_MAX_DEFAULT ? mw : FUSE_READ_MAX_DEFAULT;
}

/* READs at least this large may be split in two (fuse_chan_req.split_ok);
 * the halves are cut at a page boundary. */
#define FUSE_SPLIT_READ_BYTES (256u << 10)

struct read_half {
	struct fuse_req *req;
	struct fuse_read_in in;
	struct iovec iov[FUSE_PAYLOAD_IOV_MAX];
	int cnt;
	ssize_t ret;
};

static void read_half_run(void *arg)
{
	struct read_half *h = arg;

	h->ret = OPS(h->req)->read(FS(h->req), CTX(h->req), h->req->nodeid,
				   &h->in, h->iov, h->cnt);
}

/*
 * Read @in into @iov (@cnt of them) in two halves at once, the second on a
 * helper thread. False, having read nothing, when no helper is free.
 * Else *@ret is what one read would have given: the bytes up to the
 * first short half (end of file, or an error after some bytes), or the
 * first half's error.
 */
static bool read_split(struct fuse_req *req, const struct fuse_read_in *in,
		       const struct iovec *iov, int cnt, ssize_t *ret)
{
	struct read_half second;
	struct assist_job job = { .fn = read_half_run, .arg = &second };
	struct fuse_read_in first = *in;
	uint32_t half = (in->size / 2) & ~4095u;

	second.req = req;
	second.in = *in;
	second.in.offset += half;
	second.in.size = in->size - half;
	second.cnt = iov_slice(iov, cnt, half, second.in.size, second.iov,
			       FUSE_PAYLOAD_IOV_MAX);
	if (second.cnt < 0 || !assist_start(&job))
		return false;
	/* The file system reads no more than first.size of @iov. */
	first.size = half;
	*ret = OPS(req)->read(FS(req), CTX(req), req->nodeid, &first, iov, cnt);
	assist_wait(&job);
	if (metrics_enabled())
		metrics_count_split();
	/* The second half only counts after a whole first half. */
	if (*ret == (ssize_t)half && second.ret > 0)
		*ret += second.ret;
	return true;
}

/*
 * READ: the file system reads straight into the out iovecs after the
 * reply header. A size larger than the out buffers can hold is EINVAL:
 * answering with fewer bytes would look like end of file to the client.
 */
void fuse_do_read(struct fuse_req *req, struct fuse_rd *rd)
{
	const size_t hdr = sizeof(struct fuse_out_header);
	struct iovec iov[FUSE_PAYLOAD_IOV_MAX];
	struct fuse_read_in in;
	ssize_t ret;
	int cnt;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	if (in.size > read_bound(req) || in.size > req->out_cap - hdr) {
		bad(req, -EINVAL, "read size exceeds the reply buffer");
		return;
	}
	NEED_OP(req, read);
	cnt = iov_slice(req->creq->out, req->creq->out_cnt, hdr, in.size, iov,
			FUSE_PAYLOAD_IOV_MAX);
	if (cnt < 0) {
		bad(req, -EINVAL, "reply buffer too fragmented");
		return;
	}
	if (!req->creq->split_ok || in.size < FUSE_SPLIT_READ_BYTES ||
	    !read_split(req, &in, iov, cnt, &ret))
		ret = OPS(req)->read(FS(req), CTX(req), req->nodeid, &in, iov,
				     cnt);
	if (ret < 0)
		fuse_reply_err(req, ecode(ret));
	else if ((size_t)ret > in.size)
		fuse_reply_err(req, -EIO);
	else {
		req->io_bytes = (uint64_t)ret;
		fuse_reply_inplace(req, (size_t)ret);
	}
}

/* WRITE: only the fuse_write_in was copied; the payload stays in @in. */
void fuse_do_write(struct fuse_req *req, struct fuse_rd *rd)
{
	struct iovec iov[FUSE_PAYLOAD_IOV_MAX];
	struct fuse_write_in in;
	struct fuse_write_out out = { 0 };
	ssize_t ret;
	int cnt;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	if (in.size != req->payload_len) {
		bad(req, -EINVAL, "write size does not match the payload");
		return;
	}
	if (in.size > req->se->conn.max_write) {
		bad(req, -EINVAL, "write larger than max_write");
		return;
	}
	NEED_OP(req, write);
	cnt = iov_slice(req->creq->in, req->creq->in_cnt, req->payload_off,
			in.size, iov, FUSE_PAYLOAD_IOV_MAX);
	if (cnt < 0) {
		bad(req, -EINVAL, "write payload too fragmented");
		return;
	}
	ret = OPS(req)->write(FS(req), CTX(req), req->nodeid, &in, iov, cnt);
	if (ret < 0) {
		fuse_reply_err(req, ecode(ret));
		return;
	}
	if ((size_t)ret > in.size) {
		fuse_reply_err(req, -EIO);
		return;
	}
	out.size = (uint32_t)ret;
	req->io_bytes = (uint64_t)ret;
	fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_statfs(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_statfs_out out = { 0 };
	int ret;

	END_ARGS(req, rd);
	NEED_OP(req, statfs);
	ret = OPS(req)->statfs(FS(req), CTX(req), req->nodeid, &out.st);
	if (ret < 0)
		fuse_reply_err(req, ret);
	else
		fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_release(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_release_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, release);
	reply_status(req,
		     OPS(req)->release(FS(req), CTX(req), req->nodeid, &in));
}

void fuse_do_releasedir(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_release_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, releasedir);
	reply_status(req,
		     OPS(req)->releasedir(FS(req), CTX(req), req->nodeid, &in));
}

void fuse_do_fsync(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_fsync_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, fsync);
	reply_status(req, OPS(req)->fsync(FS(req), CTX(req), req->nodeid, &in));
}

void fuse_do_fsyncdir(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_fsync_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, fsyncdir);
	reply_status(req,
		     OPS(req)->fsyncdir(FS(req), CTX(req), req->nodeid, &in));
}

/* Extended attribute names: 1..XATTR_NAME_MAX bytes, ERANGE beyond. */
static int get_xattr_name(struct fuse_req *req, struct fuse_rd *rd,
			  const char **name)
{
	int err = fuse_rd_str(rd, XATTR_NAME_MAX, name);

	if (err == -ENAMETOOLONG)
		err = -ERANGE;
	if (err)
		bad(req, err, "bad xattr name");
	return err;
}

void fuse_do_setxattr(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_setxattr_in in = { 0 };
	size_t insize = FUSE_COMPAT_SETXATTR_IN_SIZE;
	const char *name;
	const void *value;

	if (req->se->conn.flags & FUSE_SETXATTR_EXT)
		insize = sizeof(in);
	if (!fuse_rd_get(rd, &in, insize)) {
		bad(req, -EINVAL, "short arguments");
		return;
	}
	if (get_xattr_name(req, rd, &name))
		return;
	if (in.size > XATTR_SIZE_MAX) {
		bad(req, -E2BIG, "xattr value too large");
		return;
	}
	if (in.size != rd->left) {
		bad(req, -EINVAL, "xattr size does not match the value");
		return;
	}
	value = fuse_rd_take(rd, in.size);
	NEED_OP(req, setxattr);
	reply_status(req, OPS(req)->setxattr(FS(req), CTX(req), req->nodeid,
					     name, value, in.size, in.flags,
					     in.setxattr_flags));
}

/* Room for an xattr answer: the asked size, clamped to what can travel. */
static size_t xattr_room(const struct fuse_req *req, uint32_t size)
{
	size_t room = req->out_cap - sizeof(struct fuse_out_header);

	if (size > XATTR_SIZE_MAX)
		size = XATTR_SIZE_MAX;
	return size < room ? size : room;
}

/* GETXATTR and LISTXATTR share their answer: a size, or the data. */
static void xattr_answer(struct fuse_req *req, const char *name, uint32_t size)
{
	struct fuse_getxattr_out gout = { 0 };
	size_t room = xattr_room(req, size);
	char *buf = NULL;
	ssize_t ret;

	if (size) {
		if (room == 0) {
			fuse_reply_err(req, -ERANGE);
			return;
		}
		buf = malloc(room);
		if (!buf) {
			fuse_reply_err(req, -ENOMEM);
			return;
		}
	}
	if (name)
		ret = OPS(req)->getxattr(FS(req), CTX(req), req->nodeid, name,
					 buf, size ? room : 0);
	else
		ret = OPS(req)->listxattr(FS(req), CTX(req), req->nodeid, buf,
					  size ? room : 0);
	if (ret < 0) {
		fuse_reply_err(req, ecode(ret));
	} else if (!size) {
		if ((size_t)ret > UINT32_MAX) {
			fuse_reply_err(req, -E2BIG);
		} else {
			gout.size = (uint32_t)ret;
			fuse_reply_ok(req, &gout, sizeof(gout));
		}
	} else if ((size_t)ret > room) {
		fuse_reply_err(req, -ERANGE);
	} else {
		fuse_reply_ok(req, buf, (size_t)ret);
	}
	free(buf);
}

void fuse_do_getxattr(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_getxattr_in in;
	const char *name;

	GET_ARG(req, rd, in);
	if (get_xattr_name(req, rd, &name))
		return;
	END_ARGS(req, rd);
	NEED_OP(req, getxattr);
	xattr_answer(req, name, in.size);
}

void fuse_do_listxattr(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_getxattr_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, listxattr);
	xattr_answer(req, NULL, in.size);
}

void fuse_do_removexattr(struct fuse_req *req, struct fuse_rd *rd)
{
	const char *name;

	if (get_xattr_name(req, rd, &name))
		return;
	END_ARGS(req, rd);
	NEED_OP(req, removexattr);
	reply_status(req, OPS(req)->removexattr(FS(req), CTX(req), req->nodeid,
						name));
}

void fuse_do_flush(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_flush_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, flush);
	reply_status(req, OPS(req)->flush(FS(req), CTX(req), req->nodeid, &in));
}

/*
 * READDIR and READDIRPLUS: the listing is built in a buffer no larger
 * than what the client asked for and the out iovecs can carry, then
 * copied out. If the file system fails after adding entries, the entries
 * are delivered (their lookup references with them) and the error is left
 * for the next call, which starts after the last entry delivered.
 */
void fuse_do_readdir(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_read_in in;
	struct fuse_dirbuf db = { 0 };
	size_t room = req->out_cap - sizeof(struct fuse_out_header);
	int ret;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, readdir);
	db.plus = req->opcode == FUSE_READDIRPLUS;
	db.size = in.size;
	if (db.size > room)
		db.size = room;
	if (db.size > read_bound(req))
		db.size = read_bound(req);
	if (db.size) {
		db.buf = calloc(1, db.size);
		if (!db.buf) {
			fuse_reply_err(req, -ENOMEM);
			return;
		}
	}
	ret = OPS(req)->readdir(FS(req), CTX(req), req->nodeid, &in, &db);
	if (ret < 0 && db.count == 0)
		fuse_reply_err(req, ret);
	else if (fuse_reply_ok(req, db.buf, db.len) && db.plus)
		fuse_dirbuf_forget(req->se, &db);
	free(db.buf);
}

void fuse_do_getlk(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_lk_in in;
	struct fuse_lk_out out = { 0 };
	int ret;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, getlk);
	ret = OPS(req)->getlk(FS(req), CTX(req), req->nodeid, &in, &out.lk);
	if (ret < 0)
		fuse_reply_err(req, ret);
	else
		fuse_reply_ok(req, &out, sizeof(out));
}

/* SETLK and SETLKW */
void fuse_do_setlk(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_lk_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, setlk);
	reply_status(req, OPS(req)->setlk(FS(req), CTX(req), req->nodeid, &in,
					  req->opcode == FUSE_SETLKW));
}

void fuse_do_access(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_access_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, access);
	reply_status(req,
		     OPS(req)->access(FS(req), CTX(req), req->nodeid, in.mask));
}

void fuse_do_create(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_create_in in;
	struct fuse_entry_out e = { 0 };
	struct fuse_open_out o = { 0 };
	const char *name;
	int ret;

	GET_ARG(req, rd, in);
	GET_NAME(req, rd, name);
	GET_SECCTX(req, rd);
	END_ARGS(req, rd);
	NEED_OP(req, create);
	ret = OPS(req)->create(FS(req), CTX(req), req->nodeid, name, &in, &e,
			       &o);
	if (ret < 0)
		fuse_reply_err(req, ret);
	else
		fuse_reply_create(req, &e, &o, in.flags);
}

/* TMPFILE: the kernel sends a placeholder name ("/"); it is ignored. */
void fuse_do_tmpfile(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_create_in in;
	struct fuse_entry_out e = { 0 };
	struct fuse_open_out o = { 0 };
	const unsigned char *nul;
	int ret;

	GET_ARG(req, rd, in);
	nul = memchr(rd->p, '\0', rd->left);
	if (!nul || (size_t)(nul - rd->p) > NAME_MAX) {
		bad(req, -EINVAL, "bad name");
		return;
	}
	fuse_rd_take(rd, (size_t)(nul - rd->p) + 1);
	GET_SECCTX(req, rd);
	END_ARGS(req, rd);
	NEED_OP(req, tmpfile);
	ret = OPS(req)->tmpfile(FS(req), CTX(req), req->nodeid, &in, &e, &o);
	if (ret < 0)
		fuse_reply_err(req, ret);
	else
		fuse_reply_create(req, &e, &o, in.flags);
}

void fuse_do_bmap(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_bmap_in in;
	struct fuse_bmap_out out = { 0 };
	uint64_t block = 0;
	int ret;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, bmap);
	block = in.block;
	ret = OPS(req)->bmap(FS(req), CTX(req), req->nodeid, &in, &block);
	if (ret < 0) {
		fuse_reply_err(req, ret);
		return;
	}
	out.block = block;
	fuse_reply_ok(req, &out, sizeof(out));
}

/* IOCTL: decoded so malformed ones are told apart, then not supported. */
void fuse_do_ioctl(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_ioctl_in in;

	GET_ARG(req, rd, in);
	if (in.in_size != rd->left) {
		bad(req, -EINVAL, "ioctl in_size does not match the data");
		return;
	}
	fuse_reply_err(req, -ENOSYS);
}

void fuse_do_poll(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_poll_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	fuse_reply_err(req, -ENOSYS);
}

void fuse_do_fallocate(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_fallocate_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, fallocate);
	reply_status(req,
		     OPS(req)->fallocate(FS(req), CTX(req), req->nodeid, &in));
}

void fuse_do_lseek(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_lseek_in in;
	struct fuse_lseek_out out = { 0 };
	uint64_t off = 0;
	int ret;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, lseek);
	ret = OPS(req)->lseek(FS(req), CTX(req), req->nodeid, &in, &off);
	if (ret < 0) {
		fuse_reply_err(req, ret);
		return;
	}
	out.offset = off;
	fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_copy_file_range(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_copy_file_range_in in;
	struct fuse_write_out out = { 0 };
	ssize_t ret;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, copy_file_range);
	ret = OPS(req)->copy_file_range(FS(req), CTX(req), &in, req->nodeid);
	if (ret < 0) {
		fuse_reply_err(req, ecode(ret));
		return;
	}
	if ((uint64_t)ret > UINT32_MAX || (uint64_t)ret > in.len) {
		fuse_reply_err(req, -EIO);
		return;
	}
	out.size = (uint32_t)ret;
	fuse_reply_ok(req, &out, sizeof(out));
}

void fuse_do_syncfs(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_syncfs_in in;

	GET_ARG(req, rd, in);
	END_ARGS(req, rd);
	NEED_OP(req, syncfs);
	reply_status(req, OPS(req)->syncfs(FS(req), CTX(req), req->nodeid));
}
