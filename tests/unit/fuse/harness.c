// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test doubles for the FUSE server tests (see harness.h). The fake file
 * system copies every decoded argument it is given into F so a test can
 * check exactly what the server passed on.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct fake_fs F;
unsigned char notify_buf[1024];
size_t notify_len;
int notify_calls;

/* per thread: the interrupt tests run two requests at once */
static __thread unsigned char outbuf[OUT_BIG + 64];
static uint64_t next_unique = 100;

void fake_reset(void)
{
	memset(&F, 0, sizeof(F));
	F.entry_nodeid = 42;
	F.fh = 7;
	notify_len = 0;
	notify_calls = 0;
}

static void rec(int op, const struct fuse_ctx *ctx, uint64_t nodeid)
{
	F.op = op;
	F.calls++;
	F.nodeid = nodeid;
	if (ctx) {
		F.ctx = *ctx;
		F.ctx_has_req = ctx->req != NULL;
	}
}

static void rec_in(const void *in, size_t n)
{
	memcpy(F.in, in, n);
	F.inlen = n;
}

static void rec_name(char *dst, const char *s)
{
	strncpy(dst, s, NAME_MAX + 1);
	dst[NAME_MAX + 1] = '\0';
}

static void fill_entry(struct fuse_entry_out *e)
{
	memset(e, 0, sizeof(*e));
	e->nodeid = F.entry_nodeid;
	e->generation = 1;
	e->attr.ino = F.entry_nodeid;
	e->attr.mode = 0100644;
}

static void f_init(void *fs, uint64_t offered, uint64_t *want,
		   uint32_t *max_write)
{
	F.init_calls++;
	F.offered = offered;
	*want |= F.init_add;
	*want &= ~F.init_del;
	if (F.init_max_write)
		*max_write = F.init_max_write;
}

static void f_destroy(void *fs)
{
	F.destroy_calls++;
}

static int f_lookup(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		    const char *name, struct fuse_entry_out *e)
{
	rec(FUSE_LOOKUP, ctx, parent);
	rec_name(F.name, name);
	fill_entry(e);
	return F.ret;
}

static void f_forget(void *fs, uint64_t nodeid, uint64_t nlookup)
{
	if (F.nforget < 64) {
		F.forget_id[F.nforget] = nodeid;
		F.forget_nl[F.nforget] = nlookup;
	}
	F.nforget++;
}

static int f_getattr(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_getattr_in *in,
		     struct fuse_attr_out *out)
{
	rec(FUSE_GETATTR, ctx, nodeid);
	rec_in(in, sizeof(*in));
	out->attr.ino = nodeid;
	out->attr_valid = 5;
	return F.ret;
}

static int f_setattr(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_setattr_in *in,
		     struct fuse_attr_out *out)
{
	rec(FUSE_SETATTR, ctx, nodeid);
	rec_in(in, sizeof(*in));
	out->attr.size = in->size;
	return F.ret;
}

static ssize_t f_readlink(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
			  char *buf, size_t size)
{
	rec(FUSE_READLINK, ctx, nodeid);
	F.size = size;
	if (F.ret < 0)
		return F.ret;
	memcpy(buf, "target", 6);
	return 6;
}

static int f_symlink(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		     const char *name, const char *target,
		     struct fuse_entry_out *e)
{
	rec(FUSE_SYMLINK, ctx, parent);
	rec_name(F.name, name);
	strncpy(F.target, target, PATH_MAX - 1);
	fill_entry(e);
	return F.ret;
}

static int f_mknod(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		   const char *name, const struct fuse_mknod_in *in,
		   struct fuse_entry_out *e)
{
	rec(FUSE_MKNOD, ctx, parent);
	rec_name(F.name, name);
	rec_in(in, sizeof(*in));
	fill_entry(e);
	return F.ret;
}

static int f_mkdir(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		   const char *name, const struct fuse_mkdir_in *in,
		   struct fuse_entry_out *e)
{
	rec(FUSE_MKDIR, ctx, parent);
	rec_name(F.name, name);
	rec_in(in, sizeof(*in));
	fill_entry(e);
	return F.ret;
}

static int f_unlink(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		    const char *name)
{
	rec(FUSE_UNLINK, ctx, parent);
	rec_name(F.name, name);
	return F.ret;
}

static int f_rmdir(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		   const char *name)
{
	rec(FUSE_RMDIR, ctx, parent);
	rec_name(F.name, name);
	return F.ret;
}

static int f_rename(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		    const char *name, uint64_t newparent, const char *newname,
		    uint32_t flags)
{
	rec(ctx->opcode, ctx, parent);
	rec_name(F.name, name);
	rec_name(F.name2, newname);
	F.nodeid2 = newparent;
	F.u32a = flags;
	return F.ret;
}

static int f_link(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  uint64_t newparent, const char *newname,
		  struct fuse_entry_out *e)
{
	rec(FUSE_LINK, ctx, nodeid);
	F.nodeid2 = newparent;
	rec_name(F.name, newname);
	fill_entry(e);
	return F.ret;
}

static int f_open(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_open_in *in, struct fuse_open_out *out)
{
	rec(FUSE_OPEN, ctx, nodeid);
	rec_in(in, sizeof(*in));
	out->fh = F.fh;
	return F.ret;
}

static ssize_t f_read(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		      const struct fuse_read_in *in, const struct iovec *iov,
		      int iovcnt)
{
	size_t total = 0;

	rec(FUSE_READ, ctx, nodeid);
	rec_in(in, sizeof(*in));
	F.iovcnt = iovcnt;
	for (int i = 0; i < iovcnt; i++) {
		memset(iov[i].iov_base, 'r', iov[i].iov_len);
		total += iov[i].iov_len;
	}
	F.size = total;
	if (F.set_sret)
		return F.sret;
	return (ssize_t)total;
}

static ssize_t f_write(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		       const struct fuse_write_in *in, const struct iovec *iov,
		       int iovcnt)
{
	size_t total = 0;

	rec(FUSE_WRITE, ctx, nodeid);
	rec_in(in, sizeof(*in));
	F.iovcnt = iovcnt;
	for (int i = 0; i < iovcnt; i++) {
		if (total + iov[i].iov_len <= sizeof(F.data))
			memcpy(F.data + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	F.size = total;
	if (F.set_sret)
		return F.sret;
	return (ssize_t)total;
}

static int f_statfs(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		    struct fuse_kstatfs *st)
{
	rec(FUSE_STATFS, ctx, nodeid);
	st->bsize = 4096;
	st->namelen = 255;
	return F.ret;
}

static int f_release(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_release_in *in)
{
	F.release_calls++;
	rec(FUSE_RELEASE, ctx, nodeid);
	rec_in(in, sizeof(*in));
	return F.ret;
}

static int f_fsync(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		   const struct fuse_fsync_in *in)
{
	rec(FUSE_FSYNC, ctx, nodeid);
	rec_in(in, sizeof(*in));
	return F.ret;
}

static int f_setxattr(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		      const char *name, const void *value, size_t size,
		      uint32_t flags, uint32_t setxattr_flags)
{
	rec(FUSE_SETXATTR, ctx, nodeid);
	rec_name(F.name, name);
	F.size = size;
	memcpy(F.data, value, size < sizeof(F.data) ? size : sizeof(F.data));
	F.u32a = flags;
	F.u32b = setxattr_flags;
	return F.ret;
}

static ssize_t xattr_fill(void *buf, size_t size)
{
	F.size = size;
	if (F.set_sret) {
		if (size && F.sret > 0 && (size_t)F.sret > size)
			return -ERANGE;
		if (buf && F.sret > 0)
			memset(buf, 'x', (size_t)F.sret);
		return F.sret;
	}
	if (size == 0)
		return 5;
	if (size < 5)
		return -ERANGE;
	memcpy(buf, "value", 5);
	return 5;
}

static ssize_t f_getxattr(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
			  const char *name, void *buf, size_t size)
{
	rec(FUSE_GETXATTR, ctx, nodeid);
	rec_name(F.name, name);
	return xattr_fill(buf, size);
}

static ssize_t f_listxattr(void *fs, const struct fuse_ctx *ctx,
			   uint64_t nodeid, char *buf, size_t size)
{
	rec(FUSE_LISTXATTR, ctx, nodeid);
	return xattr_fill(buf, size);
}

static int f_removexattr(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
			 const char *name)
{
	rec(FUSE_REMOVEXATTR, ctx, nodeid);
	rec_name(F.name, name);
	return F.ret;
}

static int f_flush(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		   const struct fuse_flush_in *in)
{
	rec(FUSE_FLUSH, ctx, nodeid);
	rec_in(in, sizeof(*in));
	return F.ret;
}

static int f_opendir(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_open_in *in, struct fuse_open_out *out)
{
	rec(FUSE_OPENDIR, ctx, nodeid);
	rec_in(in, sizeof(*in));
	out->fh = F.fh;
	return F.ret;
}

static int f_readdir(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_read_in *in, struct fuse_dirbuf *db)
{
	char name[32];

	rec(ctx->opcode, ctx, nodeid);
	rec_in(in, sizeof(*in));
	for (int i = 0; i < F.readdir_entries; i++) {
		size_t n = (size_t)snprintf(name, sizeof(name), "file%d", i);
		bool ok;

		if (fuse_dirbuf_is_plus(db)) {
			struct fuse_entry_out e;

			if (!fuse_dirbuf_fits_plus(db, n))
				break;
			F.entry_nodeid = 1000 + (uint64_t)i;
			fill_entry(&e);
			ok = fuse_dirbuf_add_plus(db, name, n, &e,
						  in->offset + (uint64_t)i + 1);
		} else {
			ok = fuse_dirbuf_add(db, name, n, 1000 + (uint64_t)i, 8,
					     in->offset + (uint64_t)i + 1);
		}
		if (!ok)
			break;
	}
	F.size = fuse_dirbuf_count(db);
	return F.readdir_err ? F.readdir_err : F.ret;
}

static int f_releasedir(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
			const struct fuse_release_in *in)
{
	rec(FUSE_RELEASEDIR, ctx, nodeid);
	rec_in(in, sizeof(*in));
	return F.ret;
}

static int f_fsyncdir(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		      const struct fuse_fsync_in *in)
{
	rec(FUSE_FSYNCDIR, ctx, nodeid);
	rec_in(in, sizeof(*in));
	return F.ret;
}

static int f_getlk(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		   const struct fuse_lk_in *in, struct fuse_file_lock *out)
{
	rec(FUSE_GETLK, ctx, nodeid);
	rec_in(in, sizeof(*in));
	*out = in->lk;
	return F.ret;
}

/* SETLKW with lk.type == 99 blocks until interrupted (interrupt tests). */
static int f_setlk(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		   const struct fuse_lk_in *in, bool sleep)
{
	int ret = F.ret;

	rec(sleep ? FUSE_SETLKW : FUSE_SETLK, ctx, nodeid);
	rec_in(in, sizeof(*in));
	F.sleep = sleep;
	if (sleep && in->lk.type == 99) {
		__atomic_store_n(&F.blk_state, 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&F.go, __ATOMIC_ACQUIRE))
			poll(NULL, 0, 1);
		F.block_begin_ok = fuse_req_block_begin(ctx);
		if (F.block_begin_ok) {
			__atomic_store_n(&F.blk_state, 2, __ATOMIC_RELEASE);
			/* a blocking wait that the signal should end; the
			 * flag is re-checked so a lost signal cannot hang */
			for (int i = 0; i < 100 && !F.got_eintr; i++) {
				if (poll(NULL, 0, 100) == -1 && errno == EINTR)
					F.got_eintr = true;
				else if (fuse_req_interrupted(ctx))
					break;
			}
			fuse_req_block_end(ctx);
		}
		F.saw_interrupted = fuse_req_interrupted(ctx);
		ret = F.saw_interrupted ? -EINTR : 0;
		__atomic_store_n(&F.blk_state, 3, __ATOMIC_RELEASE);
	}
	return ret;
}

static int f_access(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		    uint32_t mask)
{
	rec(FUSE_ACCESS, ctx, nodeid);
	F.u32a = mask;
	return F.ret;
}

static int f_create(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		    const char *name, const struct fuse_create_in *in,
		    struct fuse_entry_out *e, struct fuse_open_out *out)
{
	rec(FUSE_CREATE, ctx, parent);
	rec_name(F.name, name);
	rec_in(in, sizeof(*in));
	fill_entry(e);
	out->fh = F.fh;
	return F.ret;
}

static int f_bmap(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_bmap_in *in, uint64_t *block)
{
	rec(FUSE_BMAP, ctx, nodeid);
	rec_in(in, sizeof(*in));
	*block = in->block * 2;
	return F.ret;
}

static int f_fallocate(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		       const struct fuse_fallocate_in *in)
{
	rec(FUSE_FALLOCATE, ctx, nodeid);
	rec_in(in, sizeof(*in));
	return F.ret;
}

static ssize_t f_copy_file_range(void *fs, const struct fuse_ctx *ctx,
				 const struct fuse_copy_file_range_in *in,
				 uint64_t nodeid_in)
{
	rec(FUSE_COPY_FILE_RANGE, ctx, nodeid_in);
	rec_in(in, sizeof(*in));
	return F.set_sret ? F.sret : (ssize_t)in->len;
}

static int f_lseek(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		   const struct fuse_lseek_in *in, uint64_t *offset)
{
	rec(FUSE_LSEEK, ctx, nodeid);
	rec_in(in, sizeof(*in));
	*offset = in->offset + 1;
	return F.ret;
}

static int f_syncfs(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid)
{
	rec(FUSE_SYNCFS, ctx, nodeid);
	return F.ret;
}

static int f_tmpfile(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		     const struct fuse_create_in *in, struct fuse_entry_out *e,
		     struct fuse_open_out *out)
{
	rec(FUSE_TMPFILE, ctx, parent);
	rec_in(in, sizeof(*in));
	fill_entry(e);
	out->fh = F.fh;
	return F.ret;
}

struct fuse_fs_ops fake_ops = {
	.init = f_init,
	.destroy = f_destroy,
	.lookup = f_lookup,
	.forget = f_forget,
	.getattr = f_getattr,
	.setattr = f_setattr,
	.readlink = f_readlink,
	.symlink = f_symlink,
	.mknod = f_mknod,
	.mkdir = f_mkdir,
	.unlink = f_unlink,
	.rmdir = f_rmdir,
	.rename = f_rename,
	.link = f_link,
	.open = f_open,
	.read = f_read,
	.write = f_write,
	.statfs = f_statfs,
	.release = f_release,
	.fsync = f_fsync,
	.setxattr = f_setxattr,
	.getxattr = f_getxattr,
	.listxattr = f_listxattr,
	.removexattr = f_removexattr,
	.flush = f_flush,
	.opendir = f_opendir,
	.readdir = f_readdir,
	.releasedir = f_releasedir,
	.fsyncdir = f_fsyncdir,
	.getlk = f_getlk,
	.setlk = f_setlk,
	.access = f_access,
	.create = f_create,
	.bmap = f_bmap,
	.fallocate = f_fallocate,
	.copy_file_range = f_copy_file_range,
	.lseek = f_lseek,
	.syncfs = f_syncfs,
	.tmpfile = f_tmpfile,
};

/* transport: the completion length goes to the request's priv */
static void t_complete(void *tdata, struct fuse_chan_req *req, size_t len)
{
	struct reply *rp = req->priv;

	rp->len = len;
	rp->completions++;
}

static int t_notify(void *tdata, const struct iovec *iov, int iovcnt)
{
	size_t off = 0;

	notify_calls++;
	for (int i = 0; i < iovcnt; i++) {
		if (off + iov[i].iov_len > sizeof(notify_buf))
			return -E2BIG;
		memcpy(notify_buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	notify_len = off;
	return 0;
}

static const struct fuse_transport_ops tops = {
	.complete = t_complete,
	.notify = t_notify,
};
static const struct fuse_transport_ops tops_nonotify = {
	.complete = t_complete,
};

void env_remake(struct env *e, const struct fuse_fs_ops *ops, bool notify)
{
	fuse_session_free(e->se);
	e->se = fuse_session_new(ops, NULL, &e->opts,
				 notify ? &tops : &tops_nonotify, NULL);
	assert_non_null(e->se);
}

static int setup_common(void **state, bool init, bool reinit)
{
	struct env *e = calloc(1, sizeof(*e));

	fake_reset();
	e->opts.max_write = 128 * 1024;
	e->opts.allow_reinit = reinit;
	e->se = fuse_session_new(&fake_ops, NULL, &e->opts, &tops, NULL);
	if (!e->se)
		return -1;
	*state = e;
	if (init) {
		struct reply rp = do_init(
			e, 7, 38,
			FUSE_ASYNC_READ | FUSE_MAX_PAGES | FUSE_INIT_EXT, 0);
		if (rp.error != 0)
			return -1;
	}
	return 0;
}

int env_setup(void **state)
{
	return setup_common(state, true, false);
}

int env_setup_noinit(void **state)
{
	return setup_common(state, false, false);
}

int env_setup_reinit(void **state)
{
	return setup_common(state, false, true);
}

int env_teardown(void **state)
{
	struct env *e = *state;

	fuse_session_free(e->se);
	free(e);
	return 0;
}

void rq_start(struct rq *r, uint32_t opcode, uint64_t nodeid)
{
	struct fuse_in_header h = {
		.opcode = opcode,
		.unique = next_unique++,
		.nodeid = nodeid,
		.uid = 1000,
		.gid = 1001,
		.pid = 1234,
	};

	memcpy(r->b, &h, sizeof(h));
	r->len = sizeof(h);
	r->extlen = 0;
	r->raw = false;
}

void rq_add(struct rq *r, const void *p, size_t n)
{
	assert_true(r->len + n <= sizeof(r->b));
	memcpy(r->b + r->len, p, n);
	r->len += n;
}

void rq_str(struct rq *r, const char *s)
{
	rq_add(r, s, strlen(s) + 1);
}

void rq_add_ext_raw(struct rq *r, const void *p, size_t n)
{
	rq_add(r, p, n);
	r->extlen += (uint16_t)(n / 8);
}

void rq_ext_groups(struct rq *r, uint32_t n, uint32_t gid)
{
	/* header, nr_groups, groups, padded to 8 */
	uint32_t rec[16] = { 0 };
	size_t bytes = 8 + 4 + 4 * (size_t)n;

	bytes = (bytes + 7) & ~(size_t)7;
	rec[0] = (uint32_t)bytes;
	rec[1] = FUSE_EXT_GROUPS;
	rec[2] = n;
	rec[3] = gid;
	rq_add_ext_raw(r, rec, bytes);
}

static void finish(struct rq *r)
{
	struct fuse_in_header h;

	memcpy(&h, r->b, sizeof(h));
	h.len = (uint32_t)r->len;
	h.total_extlen = r->extlen;
	memcpy(r->b, &h, sizeof(h));
}

static struct reply parse(struct reply rp, const struct rq *r)
{
	struct fuse_out_header oh;

	if (rp.len >= sizeof(oh)) {
		memcpy(&oh, outbuf, sizeof(oh));
		rp.error = oh.error;
		rp.hlen = oh.len;
		rp.unique = oh.unique;
		rp.payload = outbuf + sizeof(oh);
	} else {
		rp.error = 1; /* no reply */
	}
	return rp;
}

struct reply rq_send_split(struct env *e, struct rq *r, size_t outcap,
			   const size_t *cuts, int ncuts)
{
	struct iovec in[16], out = { outbuf, outcap };
	struct reply rp = { 0 };
	struct fuse_chan_req creq = { in, 0, &out, 1, &rp };
	size_t prev = 0;

	if (!r->raw)
		finish(r);
	memset(outbuf, 0xee, sizeof(outbuf));
	for (int i = 0; i < ncuts; i++) {
		in[i].iov_base = r->b + prev;
		in[i].iov_len = cuts[i] - prev;
		prev = cuts[i];
	}
	in[ncuts].iov_base = r->b + prev;
	in[ncuts].iov_len = r->len - prev;
	creq.in_cnt = ncuts + 1;
	fuse_session_process(e->se, &creq);
	assert_int_equal(rp.completions, 1);
	if (rp.len)
		assert_int_equal(rp.len, parse(rp, r).hlen);
	return parse(rp, r);
}

struct reply rq_send(struct env *e, struct rq *r, size_t outcap)
{
	return rq_send_split(e, r, outcap, NULL, 0);
}

struct reply do_init(struct env *e, uint32_t major, uint32_t minor,
		     uint32_t flags, uint32_t flags2)
{
	struct fuse_init_in in = {
		.major = major,
		.minor = minor,
		.max_readahead = 65536,
		.flags = flags,
		.flags2 = flags2,
	};
	struct rq *r = malloc(sizeof(*r));
	struct reply rp;

	rq_start(r, FUSE_INIT, 0);
	rq_add(r, &in,
	       minor >= 36 ? sizeof(in) :
			     offsetof(struct fuse_init_in, flags2));
	rp = rq_send(e, r, OUT_BIG);
	free(r);
	return rp;
}

struct fuse_init_out *init_out(struct reply *rp)
{
	static struct fuse_init_out o;

	assert_int_equal(rp->len, sizeof(struct fuse_out_header) + sizeof(o));
	memcpy(&o, rp->payload, sizeof(o));
	return &o;
}
