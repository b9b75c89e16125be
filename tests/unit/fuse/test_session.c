// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Session behaviour: INIT negotiation and state, DESTROY and re-INIT,
 * malformed framing (short header, len mismatch, tiny out buffers),
 * request extensions, INTERRUPT, directory listings, the forget rule for
 * undeliverable entry replies, and notifications.
 */
#include <errno.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_i.h" /* struct fuse_dirbuf for the dirbuf unit test */
#include "harness.h"

/* The kernel marks an INTERRUPT's own unique with this bit. */
#define FUSE_INT_REQ_BIT (1ULL << 0)

static struct rq R;

static void test_opcode_names(void **state)
{
	assert_string_equal(fuse_opcode_name(FUSE_LOOKUP), "LOOKUP");
	assert_string_equal(fuse_opcode_name(FUSE_TMPFILE), "TMPFILE");
	assert_string_equal(fuse_opcode_name(FUSE_SETUPMAPPING),
			    "SETUPMAPPING");
	assert_string_equal(fuse_opcode_name(0), "UNKNOWN");
	assert_string_equal(fuse_opcode_name(CUSE_INIT), "UNKNOWN");
	assert_string_equal(fuse_opcode_name(0xffffffffu), "UNKNOWN");
}

static void test_before_init(void **state)
{
	struct env *e = *state;
	struct fuse_getattr_in gi = { 0 };
	struct fuse_forget_in fi = { 1 };
	struct reply rp;

	assert_false(fuse_session_initialized(e->se));
	rq_start(&R, FUSE_GETATTR, 1);
	rq_add(&R, &gi, sizeof(gi));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, -EIO);
	assert_int_equal(F.calls, 0);
	/* unknown opcodes are EIO too before INIT */
	rq_start(&R, 9999, 1);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EIO);
	/* FORGET takes no reply, even then */
	rq_start(&R, FUSE_FORGET, 1);
	rq_add(&R, &fi, sizeof(fi));
	assert_int_equal(rq_send(e, &R, OUT_BIG).len, 0);
	assert_int_equal(F.nforget, 0);
}

static void test_init_old_versions(void **state)
{
	struct env *e = *state;

	assert_int_equal(do_init(e, 7, 30, 0, 0).error, -EPROTO);
	assert_int_equal(do_init(e, 6, 99, 0, 0).error, -EPROTO);
	assert_false(fuse_session_initialized(e->se));
	assert_int_equal(F.init_calls, 0);
}

static void test_init_major8(void **state)
{
	struct env *e = *state;
	struct reply rp = do_init(e, 8, 0, 0, 0);
	struct fuse_init_out *o = init_out(&rp);

	assert_int_equal(rp.error, 0);
	assert_int_equal(o->major, 7);
	assert_int_equal(o->minor, 38);
	assert_int_equal(o->flags, 0);
	assert_false(fuse_session_initialized(e->se));
	assert_int_equal(F.init_calls, 0);
	/* the retry with 7.x works */
	rp = do_init(e, 7, 38, 0, 0);
	assert_int_equal(rp.error, 0);
	assert_true(fuse_session_initialized(e->se));
}

static const uint32_t all_v1 =
	FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC |
	FUSE_BIG_WRITES | FUSE_FLOCK_LOCKS | FUSE_AUTO_INVAL_DATA |
	FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |
	FUSE_WRITEBACK_CACHE | FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV |
	FUSE_POSIX_ACL | FUSE_MAX_PAGES | FUSE_SETXATTR_EXT |
	FUSE_EXPORT_SUPPORT | FUSE_DONT_MASK;

static void test_init_731(void **state)
{
	struct env *e = *state;
	struct reply rp = do_init(e, 7, 31, all_v1, 0);
	struct fuse_init_out *o = init_out(&rp);
	const uint32_t expect =
		FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC |
		FUSE_BIG_WRITES | FUSE_FLOCK_LOCKS | FUSE_AUTO_INVAL_DATA |
		FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |
		FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV | FUSE_MAX_PAGES |
		FUSE_SETXATTR_EXT;

	assert_int_equal(rp.error, 0);
	assert_int_equal(o->major, 7);
	assert_int_equal(o->minor, 38);
	assert_int_equal(o->flags, expect);
	assert_int_equal(o->flags2, 0);
	assert_int_equal(o->max_write, 128 * 1024);
	assert_int_equal(o->max_pages, 32);
	assert_int_equal(o->max_readahead, 65536);
	assert_int_equal(o->time_gran, 1);
	assert_true(o->max_background > 0);
	assert_true(o->congestion_threshold > 0 &&
		    o->congestion_threshold <= o->max_background);
	assert_true(fuse_session_initialized(e->se));
	assert_int_equal(F.init_calls, 1);
	assert_int_equal(F.offered, all_v1);
}

static void test_init_offered_subset(void **state)
{
	struct env *e = *state;
	struct reply rp =
		do_init(e, 7, 38, FUSE_ASYNC_READ | FUSE_ASYNC_DIO, 0);
	struct fuse_init_out *o = init_out(&rp);

	/* never more than offered; no MAX_PAGES: 32 pages of max_write */
	assert_int_equal(o->flags, FUSE_ASYNC_READ | FUSE_ASYNC_DIO);
	assert_int_equal(o->max_pages, 0);
	assert_int_equal(o->max_write, 32 * 4096);
}

static void test_init_no_lock_ops(void **state)
{
	struct env *e = *state;
	struct fuse_fs_ops ops = fake_ops;
	struct reply rp;

	ops.getlk = NULL;
	ops.readdir = NULL;
	env_remake(e, &ops, true);
	rp = do_init(e, 7, 38, all_v1, 0);
	/* setlk alone: FLOCK yes, POSIX no; no readdir: no READDIRPLUS */
	assert_false(init_out(&rp)->flags & FUSE_POSIX_LOCKS);
	assert_true(init_out(&rp)->flags & FUSE_FLOCK_LOCKS);
	assert_false(init_out(&rp)->flags & FUSE_DO_READDIRPLUS);
	assert_false(init_out(&rp)->flags & FUSE_READDIRPLUS_AUTO);
}

static void test_init_writeback_when_fs_wants(void **state)
{
	struct env *e = *state;
	struct reply rp;

	rp = do_init(e, 7, 38, all_v1, 0);
	assert_false(init_out(&rp)->flags & FUSE_WRITEBACK_CACHE);

	env_remake(e, &fake_ops, true);
	F.init_add = FUSE_WRITEBACK_CACHE | FUSE_HANDLE_KILLPRIV_V2;
	rp = do_init(e, 7, 38, all_v1 | FUSE_HANDLE_KILLPRIV_V2, 0);
	assert_true(init_out(&rp)->flags & FUSE_WRITEBACK_CACHE);
	assert_true(init_out(&rp)->flags & FUSE_HANDLE_KILLPRIV_V2);

	/* wanted but not offered: dropped */
	env_remake(e, &fake_ops, true);
	rp = do_init(e, 7, 38, FUSE_ASYNC_READ, 0);
	assert_int_equal(init_out(&rp)->flags, FUSE_ASYNC_READ);
}

static void test_init_ext_flags2(void **state)
{
	struct env *e = *state;
	struct reply rp;
	struct fuse_init_out *o;
	const uint32_t supp = (uint32_t)(FUSE_CREATE_SUPP_GROUP >> 32);
	const uint32_t secctx = (uint32_t)(FUSE_SECURITY_CTX >> 32);

	rp = do_init(e, 7, 38, FUSE_INIT_EXT | FUSE_ASYNC_READ, supp | secctx);
	o = init_out(&rp);
	assert_true(o->flags & FUSE_INIT_EXT);
	assert_int_equal(o->flags2, supp);
	assert_int_equal(F.offered, ((uint64_t)(supp | secctx) << 32) |
					    FUSE_INIT_EXT | FUSE_ASYNC_READ);

	/* flags2 without INIT_EXT is not looked at */
	env_remake(e, &fake_ops, true);
	rp = do_init(e, 7, 38, FUSE_ASYNC_READ, supp);
	o = init_out(&rp);
	assert_int_equal(o->flags2, 0);
	assert_int_equal(F.offered, FUSE_ASYNC_READ);
}

static void test_init_max_write(void **state)
{
	struct env *e = *state;
	struct reply rp;

	/* the fs lowers it */
	F.init_max_write = 64 * 1024 + 1;
	rp = do_init(e, 7, 38, FUSE_MAX_PAGES, 0);
	assert_int_equal(init_out(&rp)->max_write, 64 * 1024 + 1);
	assert_int_equal(init_out(&rp)->max_pages, 17);

	/* the fs cannot raise it beyond the transport's */
	env_remake(e, &fake_ops, true);
	F.init_max_write = 1024 * 1024;
	rp = do_init(e, 7, 38, FUSE_MAX_PAGES, 0);
	assert_int_equal(init_out(&rp)->max_write, 128 * 1024);
	assert_int_equal(init_out(&rp)->max_pages, 32);
}

static void test_init_bad_sizes(void **state)
{
	struct env *e = *state;
	struct fuse_init_in in = { .major = 7, .minor = 38 };

	/* 7.38 must send the full struct */
	rq_start(&R, FUSE_INIT, 0);
	rq_add(&R, &in, 16);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	/* 7.31 the 16-byte one */
	in.minor = 31;
	rq_start(&R, FUSE_INIT, 0);
	rq_add(&R, &in, sizeof(in));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	rq_start(&R, FUSE_INIT, 0);
	rq_add(&R, &in, 4);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_false(fuse_session_initialized(e->se));
}

static void test_reinit_refused(void **state)
{
	struct env *e = *state;

	assert_int_equal(do_init(e, 7, 38, 0, 0).error, 0);
	assert_int_equal(do_init(e, 7, 38, 0, 0).error, -EIO);
	assert_int_equal(F.destroy_calls, 0);
	assert_true(fuse_session_initialized(e->se));
}

static void test_reinit_allowed(void **state)
{
	struct env *e = *state;
	struct reply rp;

	assert_int_equal(do_init(e, 7, 38, FUSE_ASYNC_READ, 0).error, 0);
	rp = do_init(e, 7, 36, FUSE_ASYNC_DIO, 0);
	assert_int_equal(rp.error, 0);
	assert_int_equal(init_out(&rp)->flags, FUSE_ASYNC_DIO);
	assert_int_equal(F.destroy_calls, 1);
	assert_int_equal(F.init_calls, 2);
	assert_true(fuse_session_initialized(e->se));
}

static void test_destroy(void **state)
{
	struct env *e = *state;
	struct fuse_getattr_in gi = { 0 };
	struct reply rp;

	rq_start(&R, FUSE_DESTROY, 0);
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(rp.len, 16);
	assert_int_equal(F.destroy_calls, 1);
	assert_true(fuse_session_destroyed(e->se));
	assert_false(fuse_session_initialized(e->se));

	rq_start(&R, FUSE_GETATTR, 1);
	rq_add(&R, &gi, sizeof(gi));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EIO);
	assert_int_equal(F.calls, 0);

	/* a new INIT brings it back */
	assert_int_equal(do_init(e, 7, 38, 0, 0).error, 0);
	assert_false(fuse_session_destroyed(e->se));
	rq_start(&R, FUSE_GETATTR, 1);
	rq_add(&R, &gi, sizeof(gi));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
}

static void test_unknown_and_enosys(void **state)
{
	struct env *e = *state;
	static const uint32_t ops[] = { 0,
					52,
					53,
					1000,
					CUSE_INIT,
					FUSE_INIT_BSWAP_RESERVED,
					0xffffffffu,
					FUSE_SETUPMAPPING,
					FUSE_REMOVEMAPPING };
	struct fuse_setupmapping_in sm = { 0 };

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		rq_start(&R, ops[i], 1);
		rq_add(&R, &sm, sizeof(sm));
		assert_int_equal(rq_send(e, &R, OUT_BIG).error, -ENOSYS);
	}
	assert_int_equal(F.calls, 0);
}

static void test_null_op_enosys(void **state)
{
	struct env *e = *state;
	struct fuse_fs_ops ops = fake_ops;
	struct fuse_open_in oi = { 0 };

	ops.open = NULL;
	ops.lookup = NULL;
	env_remake(e, &ops, true);
	assert_int_equal(do_init(e, 7, 38, 0, 0).error, 0);
	rq_start(&R, FUSE_OPEN, 1);
	rq_add(&R, &oi, sizeof(oi));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -ENOSYS);
	rq_start(&R, FUSE_LOOKUP, 1);
	rq_str(&R, "x");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -ENOSYS);
	assert_int_equal(F.calls, 0);
}

static void test_notify_reply_consumed(void **state)
{
	struct env *e = *state;

	rq_start(&R, FUSE_NOTIFY_REPLY, 0);
	rq_add(&R, "whatever", 8);
	assert_int_equal(rq_send(e, &R, OUT_BIG).len, 0);
}

static void test_framing(void **state)
{
	struct env *e = *state;
	struct fuse_getattr_in gi = { 0 };
	struct reply rp;
	size_t lens[] = { 0, 1, 39 };

	/* fewer bytes than a header: no reply possible */
	for (size_t i = 0; i < 3; i++) {
		rq_start(&R, FUSE_GETATTR, 1);
		R.raw = true;
		R.len = lens[i];
		rp = rq_send(e, &R, OUT_BIG);
		assert_int_equal(rp.len, 0);
	}
	/* len larger and smaller than received */
	rq_start(&R, FUSE_GETATTR, 1);
	rq_add(&R, &gi, sizeof(gi));
	R.raw = true;
	{
		struct fuse_in_header h;

		memcpy(&h, R.b, sizeof(h));
		h.len = (uint32_t)R.len + 1;
		memcpy(R.b, &h, sizeof(h));
		assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
		h.len = (uint32_t)R.len - 1;
		memcpy(R.b, &h, sizeof(h));
		assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
		h.len = 0;
		memcpy(R.b, &h, sizeof(h));
		assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	}
	assert_int_equal(F.calls, 0);

	/* out buffer smaller than a reply header: complete(0), no fs call */
	rq_start(&R, FUSE_GETATTR, 1);
	rq_add(&R, &gi, sizeof(gi));
	rp = rq_send(e, &R, 15);
	assert_int_equal(rp.len, 0);
	assert_int_equal(F.calls, 0);
	rq_start(&R, FUSE_GETATTR, 1);
	rq_add(&R, &gi, sizeof(gi));
	rp = rq_send(e, &R, 0);
	assert_int_equal(rp.len, 0);

	/* payload does not fit: EIO header only, never beyond out */
	rq_start(&R, FUSE_GETATTR, 1);
	rq_add(&R, &gi, sizeof(gi));
	rp = rq_send(e, &R, 16 + sizeof(struct fuse_attr_out) - 1);
	assert_int_equal(rp.error, -EIO);
	assert_int_equal(rp.len, 16);
	assert_int_equal(rp.payload[0], 0xee);
	assert_int_equal(F.calls, 1);
}

static void test_reply_unique(void **state)
{
	struct env *e = *state;
	struct fuse_in_header h;
	struct reply rp;

	rq_start(&R, FUSE_STATFS, 1);
	memcpy(&h, R.b, sizeof(h));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.unique, h.unique);
	assert_int_equal(F.ctx.unique, h.unique);
}

static void test_extensions(void **state)
{
	struct env *e = *state;
	struct fuse_mkdir_in md = { .mode = 0755 };
	struct reply rp;
	const uint32_t supp = (uint32_t)(FUSE_CREATE_SUPP_GROUP >> 32);

	env_remake(e, &fake_ops, true);
	assert_int_equal(do_init(e, 7, 38, FUSE_INIT_EXT, supp).error, 0);

	rq_start(&R, FUSE_MKDIR, 1);
	rq_add(&R, &md, sizeof(md));
	rq_str(&R, "dir");
	R.len = (R.len + 7) & ~(size_t)7; /* pad the name to 8 */
	rp = rq_send(e, &R, OUT_BIG);
	/* no extension announced: bytes after the name are garbage */
	assert_int_equal(rp.error, -EINVAL);

	rq_start(&R, FUSE_MKDIR, 1);
	rq_add(&R, &md, sizeof(md));
	rq_str(&R, "dir1234"); /* 8 + 8 bytes: extension lands aligned */
	rq_ext_groups(&R, 1, 555);
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_string_equal(F.name, "dir1234");
	assert_true(F.ctx.has_supp_gid);
	assert_int_equal(F.ctx.supp_gid, 555);

	/* no extension: no supp gid */
	rq_start(&R, FUSE_MKDIR, 1);
	rq_add(&R, &md, sizeof(md));
	rq_str(&R, "dir");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_false(F.ctx.has_supp_gid);

	/* zero groups: none; unknown type: skipped */
	rq_start(&R, FUSE_MKDIR, 1);
	rq_add(&R, &md, sizeof(md));
	rq_str(&R, "dir");
	{
		uint32_t unk[4] = { 16, 77, 1, 2 };

		rq_add_ext_raw(&R, unk, sizeof(unk));
	}
	rq_ext_groups(&R, 0, 0);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_false(F.ctx.has_supp_gid);

	/* malformed: size 0, size beyond the list, too many groups */
	{
		uint32_t bad[3][4] = {
			{ 0, FUSE_EXT_GROUPS, 1, 5 },
			{ 24, FUSE_EXT_GROUPS, 1, 5 },
			{ 16, FUSE_EXT_GROUPS, 3, 5 },
		};

		for (int i = 0; i < 3; i++) {
			fake_reset();
			rq_start(&R, FUSE_MKDIR, 1);
			rq_add(&R, &md, sizeof(md));
			rq_str(&R, "dir");
			rq_add_ext_raw(&R, bad[i], sizeof(bad[i]));
			assert_int_equal(rq_send(e, &R, OUT_BIG).error,
					 -EINVAL);
			assert_int_equal(F.calls, 0);
		}
	}
	/* total_extlen beyond the request */
	rq_start(&R, FUSE_MKDIR, 1);
	rq_add(&R, &md, sizeof(md));
	rq_str(&R, "dir");
	R.extlen = 100;
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_int_equal(F.calls, 0);
}

static void test_ext_not_negotiated(void **state)
{
	struct env *e = *state;
	struct fuse_mkdir_in md = { .mode = 0755 };

	/* the harness session did not negotiate CREATE_SUPP_GROUP */
	rq_start(&R, FUSE_MKDIR, 1);
	rq_add(&R, &md, sizeof(md));
	rq_str(&R, "dir");
	rq_ext_groups(&R, 1, 555);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_false(F.ctx.has_supp_gid);
}

static void test_interrupt_unknown(void **state)
{
	struct env *e = *state;
	struct fuse_interrupt_in ii = { .unique = 123456 };
	struct reply rp;

	rq_start(&R, FUSE_INTERRUPT, 0);
	rq_add(&R, &ii, sizeof(ii));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, -EAGAIN);
	rq_start(&R, FUSE_INTERRUPT, 0);
	rq_add(&R, &ii, sizeof(ii) - 1);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
}

struct blocked {
	struct env *e;
	struct rq rq;
	struct reply rp;
};

static void *run_blocked(void *arg)
{
	struct blocked *b = arg;

	b->rp = rq_send(b->e, &b->rq, OUT_BIG);
	return NULL;
}

static void start_blocked(struct env *e, struct blocked *b, pthread_t *t,
			  uint64_t *unique)
{
	struct fuse_lk_in lk = { .fh = 1 };
	struct fuse_in_header h;

	lk.lk.type = 99; /* the fake blocks on this */
	b->e = e;
	rq_start(&b->rq, FUSE_SETLKW, 5);
	rq_add(&b->rq, &lk, sizeof(lk));
	memcpy(&h, b->rq.b, sizeof(h));
	*unique = h.unique;
	assert_int_equal(pthread_create(t, NULL, run_blocked, b), 0);
	while (__atomic_load_n(&F.blk_state, __ATOMIC_ACQUIRE) < 1)
		poll(NULL, 0, 1);
}

static struct reply send_interrupt(struct env *e, uint64_t unique)
{
	static struct rq ir;
	struct fuse_interrupt_in ii = { .unique = unique };

	rq_start(&ir, FUSE_INTERRUPT, 0);
	{
		struct fuse_in_header h;

		memcpy(&h, ir.b, sizeof(h));
		h.unique |= FUSE_INT_REQ_BIT;
		memcpy(ir.b, &h, sizeof(h));
	}
	rq_add(&ir, &ii, sizeof(ii));
	return rq_send(e, &ir, OUT_BIG);
}

static void test_interrupt_blocked(void **state)
{
	struct env *e = *state;
	struct blocked *b = calloc(1, sizeof(*b));
	struct reply rp;
	uint64_t unique;
	pthread_t t;

	start_blocked(e, b, &t, &unique);
	__atomic_store_n(&F.go, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&F.blk_state, __ATOMIC_ACQUIRE) < 2)
		poll(NULL, 0, 1);
	rp = send_interrupt(e, unique);
	assert_int_equal(rp.len, 0); /* matched: no reply */
	pthread_join(t, NULL);
	assert_true(F.block_begin_ok);
	assert_true(F.got_eintr);
	assert_true(F.saw_interrupted);
	assert_int_equal(b->rp.error, -EINTR);
	/* the request is gone: a late INTERRUPT is EAGAIN */
	assert_int_equal(send_interrupt(e, unique).error, -EAGAIN);
	free(b);
}

static void test_interrupt_before_block(void **state)
{
	struct env *e = *state;
	struct blocked *b = calloc(1, sizeof(*b));
	uint64_t unique;
	pthread_t t;

	start_blocked(e, b, &t, &unique);
	/* in flight but not blocking yet: flagged, no signal */
	assert_int_equal(send_interrupt(e, unique).len, 0);
	__atomic_store_n(&F.go, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	assert_false(F.block_begin_ok);
	assert_true(F.saw_interrupted);
	assert_int_equal(b->rp.error, -EINTR);
	free(b);
}

/* A guest reboot (re-INIT) must not wait forever on a blocked request. */
static void test_reinit_interrupts_blocked(void **state)
{
	struct env *e = *state;
	struct blocked *b = calloc(1, sizeof(*b));
	uint64_t unique;
	pthread_t t;

	assert_int_equal(do_init(e, 7, 38, 0, 0).error, 0);
	start_blocked(e, b, &t, &unique);
	__atomic_store_n(&F.go, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&F.blk_state, __ATOMIC_ACQUIRE) < 2)
		poll(NULL, 0, 1);
	assert_int_equal(do_init(e, 7, 38, 0, 0).error, 0);
	pthread_join(t, NULL);
	assert_true(F.saw_interrupted);
	assert_int_equal(b->rp.error, -EINTR);
	assert_int_equal(F.destroy_calls, 1);
	free(b);
}

static void test_interrupt_api_outside_request(void **state)
{
	struct fuse_ctx ctx = { 0 };

	assert_false(fuse_req_interrupted(&ctx));
	assert_true(fuse_req_block_begin(&ctx));
	fuse_req_block_end(&ctx);
}

/* Walk a READDIR reply; returns the number of entries. */
static int walk_dirents(const unsigned char *p, size_t len, bool plus,
			uint64_t first_ino)
{
	size_t off = 0;
	int n = 0;

	while (off < len) {
		struct fuse_dirent d;
		size_t base =
			plus ? offsetof(struct fuse_direntplus, dirent) : 0;
		size_t rec;
		char name[32];

		memcpy(&d, p + off + base, sizeof(d));
		rec = plus ? FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS +
					       d.namelen) :
			     FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d.namelen);
		assert_true(off + rec <= len);
		snprintf(name, sizeof(name), "file%d", n);
		assert_int_equal(d.namelen, strlen(name));
		assert_memory_equal(p + off + base + sizeof(d), name,
				    d.namelen);
		assert_int_equal(d.ino, first_ino + (uint64_t)n);
		assert_int_equal(d.off, (uint64_t)n + 1);
		if (plus) {
			struct fuse_entry_out eo;

			memcpy(&eo, p + off, sizeof(eo));
			assert_int_equal(eo.nodeid, first_ino + (uint64_t)n);
			assert_int_equal(d.type, 8); /* DT_REG from mode */
		}
		/* padding is zeroed */
		for (size_t i = base + sizeof(d) + d.namelen; i < rec; i++)
			assert_int_equal(p[off + i], 0);
		off += rec;
		n++;
	}
	assert_int_equal(off, len);
	return n;
}

static void test_readdir(void **state)
{
	struct env *e = *state;
	struct fuse_read_in in = { .fh = 3, .size = 4096 };
	struct reply rp;

	F.readdir_entries = 5;
	rq_start(&R, FUSE_READDIR, 2);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(F.op, FUSE_READDIR);
	/* "fileN": 24 + 5 -> 32 bytes each */
	assert_int_equal(rp.len, 16 + 5 * 32);
	assert_int_equal(walk_dirents(rp.payload, rp.len - 16, false, 1000), 5);

	/* the client's size bounds the listing */
	F.readdir_entries = 100;
	in.size = 100;
	rq_start(&R, FUSE_READDIR, 2);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.len, 16 + 3 * 32);
	assert_int_equal(F.size, 3);
	walk_dirents(rp.payload, rp.len - 16, false, 1000);

	/* ...and so does the out buffer */
	in.size = 4096;
	rq_start(&R, FUSE_READDIR, 2);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send(e, &R, 16 + 70);
	assert_int_equal(rp.len, 16 + 2 * 32);

	/* an error with no entries is the error */
	F.readdir_entries = 0;
	F.ret = -EBADF;
	rq_start(&R, FUSE_READDIR, 2);
	rq_add(&R, &in, sizeof(in));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EBADF);
}

static void test_readdirplus(void **state)
{
	struct env *e = *state;
	struct fuse_read_in in = { .fh = 3, .size = 4096 };
	const size_t rec = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + 5);
	struct reply rp;

	F.readdir_entries = 4;
	rq_start(&R, FUSE_READDIRPLUS, 2);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(F.op, FUSE_READDIRPLUS);
	assert_int_equal(rp.len, 16 + 4 * rec);
	assert_int_equal(walk_dirents(rp.payload, rp.len - 16, true, 1000), 4);
	assert_int_equal(F.nforget, 0);

	/* limited by size: exactly what fits, no reference leaked */
	F.readdir_entries = 50;
	in.size = (uint32_t)(2 * rec + rec - 1);
	rq_start(&R, FUSE_READDIRPLUS, 2);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.len, 16 + 2 * rec);
	assert_int_equal(F.size, 2);
	assert_int_equal(F.nforget, 0);

	/* an error after entries: the entries are delivered */
	F.readdir_entries = 2;
	F.readdir_err = -EIO;
	in.size = 4096;
	rq_start(&R, FUSE_READDIRPLUS, 2);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(rp.len, 16 + 2 * rec);
	assert_int_equal(F.nforget, 0);
}

static void test_dirbuf_kinds(void **state)
{
	struct fuse_dirbuf db = { 0 };
	unsigned char buf[256];
	struct fuse_entry_out eo = { .nodeid = 5 };

	db.buf = buf;
	db.size = sizeof(buf);
	assert_false(fuse_dirbuf_is_plus(&db));
	assert_false(fuse_dirbuf_add_plus(&db, "a", 1, &eo, 1));
	assert_false(fuse_dirbuf_fits_plus(&db, 1));
	assert_false(fuse_dirbuf_add(&db, "", 0, 1, 0, 1));
	assert_true(fuse_dirbuf_add(&db, "a", 1, 1, 0, 1));
	assert_int_equal(fuse_dirbuf_count(&db), 1);
	assert_int_equal(db.len, 32);
	db.plus = true;
	assert_false(fuse_dirbuf_add(&db, "b", 1, 1, 0, 1));
	assert_true(fuse_dirbuf_fits_plus(&db, 1));
	assert_true(fuse_dirbuf_add_plus(&db, "b", 1, &eo, 2));
	assert_int_equal(db.len, 32 + 160);
	assert_false(fuse_dirbuf_fits_plus(&db, 1));
	assert_false(fuse_dirbuf_add_plus(&db, "c", 1, &eo, 3));
	assert_int_equal(fuse_dirbuf_count(&db), 2);
}

/* The references of plus entries that cannot be delivered go back. */
static void test_dirbuf_forget(void **state)
{
	struct env *e = *state;
	struct fuse_dirbuf db = { 0 };
	unsigned char buf[512];
	struct fuse_entry_out eo = { .nodeid = 5 };
	struct fuse_entry_out neg = { .nodeid = 0 };

	db.buf = buf;
	db.size = sizeof(buf);
	db.plus = true;
	assert_true(fuse_dirbuf_add_plus(&db, "a", 1, &eo, 1));
	assert_true(fuse_dirbuf_add_plus(&db, "bbbbbbbbbbbb", 12, &neg, 2));
	eo.nodeid = 6;
	assert_true(fuse_dirbuf_add_plus(&db, "c", 1, &eo, 3));
	fuse_dirbuf_forget(e->se, &db);
	assert_int_equal(F.nforget, 2);
	assert_int_equal(F.forget_id[0], 5);
	assert_int_equal(F.forget_id[1], 6);
	assert_int_equal(F.forget_nl[1], 1);
}

static void test_entry_undeliverable(void **state)
{
	struct env *e = *state;
	struct fuse_create_in cr = { .flags = 2 };
	struct fuse_mkdir_in md = { 0 };
	struct reply rp;

	rq_start(&R, FUSE_LOOKUP, 1);
	rq_str(&R, "x");
	rp = rq_send(e, &R, 16 + sizeof(struct fuse_entry_out) - 1);
	assert_int_equal(rp.error, -EIO);
	assert_int_equal(F.nforget, 1);
	assert_int_equal(F.forget_id[0], 42);
	assert_int_equal(F.forget_nl[0], 1);

	/* a negative entry (nodeid 0) carries no reference */
	fake_reset();
	F.entry_nodeid = 0;
	rq_start(&R, FUSE_LOOKUP, 1);
	rq_str(&R, "x");
	rp = rq_send(e, &R, 16 + 8);
	assert_int_equal(rp.error, -EIO);
	assert_int_equal(F.nforget, 0);

	fake_reset();
	rq_start(&R, FUSE_MKDIR, 1);
	rq_add(&R, &md, sizeof(md));
	rq_str(&R, "x");
	rq_send(e, &R, 16);
	assert_int_equal(F.nforget, 1);

	/* CREATE: the handle is closed and the reference dropped */
	fake_reset();
	rq_start(&R, FUSE_CREATE, 1);
	rq_add(&R, &cr, sizeof(cr));
	rq_str(&R, "x");
	rp = rq_send(e, &R, 16 + sizeof(struct fuse_entry_out));
	assert_int_equal(rp.error, -EIO);
	assert_int_equal(F.nforget, 1);
	assert_int_equal(F.release_calls, 1);
	{
		struct fuse_release_in ri;

		memcpy(&ri, F.in, sizeof(ri));
		assert_int_equal(ri.fh, 7);
		assert_int_equal(ri.flags, 2);
	}

	/* TMPFILE likewise */
	fake_reset();
	rq_start(&R, FUSE_TMPFILE, 1);
	rq_add(&R, &cr, sizeof(cr));
	rq_str(&R, "/");
	rq_send(e, &R, 16 + 10);
	assert_int_equal(F.nforget, 1);
	assert_int_equal(F.release_calls, 1);
}

static void test_notify(void **state)
{
	struct env *e = *state;
	struct fuse_out_header oh;
	struct fuse_notify_inval_entry_out ie;
	char data[4] = "abcd";
	struct iovec iov = { data, 4 };

	assert_int_equal(fuse_notify_inval_inode(e->se, 1, 0, -1), -ENOTCONN);
	assert_int_equal(notify_calls, 0);
	assert_int_equal(do_init(e, 7, 38, 0, 0).error, 0);

	assert_int_equal(fuse_notify_inval_entry(e->se, 9, "name", 4), 0);
	assert_int_equal(notify_len, 16 + sizeof(ie) + 5);
	memcpy(&oh, notify_buf, sizeof(oh));
	assert_int_equal(oh.len, notify_len);
	assert_int_equal(oh.error, FUSE_NOTIFY_INVAL_ENTRY);
	assert_int_equal(oh.unique, 0);
	memcpy(&ie, notify_buf + 16, sizeof(ie));
	assert_int_equal(ie.parent, 9);
	assert_int_equal(ie.namelen, 4);
	assert_memory_equal(notify_buf + 16 + sizeof(ie), "name", 5);

	assert_int_equal(fuse_notify_inval_inode(e->se, 3, 10, 20), 0);
	memcpy(&oh, notify_buf, sizeof(oh));
	assert_int_equal(oh.error, FUSE_NOTIFY_INVAL_INODE);
	assert_int_equal(notify_len, 16 + 24);

	assert_int_equal(fuse_notify_delete(e->se, 1, 2, "gone", 4), 0);
	assert_int_equal(notify_len,
			 16 + sizeof(struct fuse_notify_delete_out) + 5);
	assert_int_equal(fuse_notify_store(e->se, 4, 0, &iov, 1), 0);
	assert_int_equal(notify_len,
			 16 + sizeof(struct fuse_notify_store_out) + 4);
	assert_memory_equal(notify_buf + notify_len - 4, "abcd", 4);
	assert_int_equal(fuse_notify_poll_wakeup(e->se, 77), 0);
	assert_int_equal(notify_calls, 5);

	assert_int_equal(fuse_notify_inval_entry(e->se, 9, "", 0), -EINVAL);

	env_remake(e, &fake_ops, false);
	assert_int_equal(do_init(e, 7, 38, 0, 0).error, 0);
	assert_int_equal(fuse_notify_inval_inode(e->se, 1, 0, -1), -ENOSYS);
}

static void test_bufsize(void **state)
{
	struct env *e = *state;
	size_t min = sizeof(struct fuse_in_header) +
		     sizeof(struct fuse_write_in) + 128 * 1024;

	assert_true(fuse_session_bufsize(e->se) >= min);
	assert_true(fuse_session_bufsize(e->se) >= FUSE_MIN_READ_BUFFER);
	e->opts.max_write = 4096;
	env_remake(e, &fake_ops, true);
	assert_true(fuse_session_bufsize(e->se) > FUSE_MIN_READ_BUFFER);
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, env_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_opcode_names, env_setup_noinit),
		T(test_before_init, env_setup_noinit),
		T(test_init_old_versions, env_setup_noinit),
		T(test_init_major8, env_setup_noinit),
		T(test_init_731, env_setup_noinit),
		T(test_init_offered_subset, env_setup_noinit),
		T(test_init_no_lock_ops, env_setup_noinit),
		T(test_init_writeback_when_fs_wants, env_setup_noinit),
		T(test_init_ext_flags2, env_setup_noinit),
		T(test_init_max_write, env_setup_noinit),
		T(test_init_bad_sizes, env_setup_noinit),
		T(test_reinit_refused, env_setup_noinit),
		T(test_reinit_allowed, env_setup_reinit),
		T(test_destroy, env_setup),
		T(test_unknown_and_enosys, env_setup),
		T(test_null_op_enosys, env_setup_noinit),
		T(test_notify_reply_consumed, env_setup),
		T(test_framing, env_setup),
		T(test_reply_unique, env_setup),
		T(test_extensions, env_setup_noinit),
		T(test_ext_not_negotiated, env_setup),
		T(test_interrupt_unknown, env_setup),
		T(test_interrupt_blocked, env_setup),
		T(test_interrupt_before_block, env_setup),
		T(test_reinit_interrupts_blocked, env_setup_reinit),
		T(test_interrupt_api_outside_request, env_setup),
		T(test_readdir, env_setup),
		T(test_readdirplus, env_setup),
		T(test_dirbuf_kinds, env_setup),
		T(test_dirbuf_forget, env_setup),
		T(test_entry_undeliverable, env_setup),
		T(test_notify, env_setup_noinit),
		T(test_bufsize, env_setup),
	};

	return cmocka_run_group_tests_name("fuse-session", tests, NULL, NULL);
}
