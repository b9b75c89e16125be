// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Argument decoding: every opcode's layout at its exact size reaches the
 * right operation with the right values; one byte short or long is EINVAL
 * and the file system never runs; names and targets are checked; requests
 * split across iovecs decode the same.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct rq R;

struct fixed_case {
	uint32_t opcode;
	size_t size; /* argument struct */
	size_t reply; /* expected payload bytes */
	bool records_in; /* the fake copies the struct into F.in */
};

static const struct fixed_case fixed[] = {
	{ FUSE_GETATTR, sizeof(struct fuse_getattr_in),
	  sizeof(struct fuse_attr_out), true },
	{ FUSE_SETATTR, sizeof(struct fuse_setattr_in),
	  sizeof(struct fuse_attr_out), true },
	{ FUSE_OPEN, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out),
	  true },
	{ FUSE_OPENDIR, sizeof(struct fuse_open_in),
	  sizeof(struct fuse_open_out), true },
	{ FUSE_READ, sizeof(struct fuse_read_in), 100, true },
	{ FUSE_RELEASE, sizeof(struct fuse_release_in), 0, true },
	{ FUSE_RELEASEDIR, sizeof(struct fuse_release_in), 0, true },
	{ FUSE_FSYNC, sizeof(struct fuse_fsync_in), 0, true },
	{ FUSE_FSYNCDIR, sizeof(struct fuse_fsync_in), 0, true },
	{ FUSE_FLUSH, sizeof(struct fuse_flush_in), 0, true },
	{ FUSE_GETLK, sizeof(struct fuse_lk_in), sizeof(struct fuse_lk_out),
	  true },
	{ FUSE_SETLK, sizeof(struct fuse_lk_in), 0, true },
	{ FUSE_SETLKW, sizeof(struct fuse_lk_in), 0, true },
	{ FUSE_ACCESS, sizeof(struct fuse_access_in), 0, false },
	{ FUSE_BMAP, sizeof(struct fuse_bmap_in), sizeof(struct fuse_bmap_out),
	  true },
	{ FUSE_FALLOCATE, sizeof(struct fuse_fallocate_in), 0, true },
	{ FUSE_LSEEK, sizeof(struct fuse_lseek_in),
	  sizeof(struct fuse_lseek_out), true },
	{ FUSE_COPY_FILE_RANGE, sizeof(struct fuse_copy_file_range_in),
	  sizeof(struct fuse_write_out), true },
	{ FUSE_SYNCFS, sizeof(struct fuse_syncfs_in), 0, false },
	{ FUSE_LISTXATTR, sizeof(struct fuse_getxattr_in),
	  sizeof(struct fuse_getxattr_out), false },
	{ FUSE_READDIR, sizeof(struct fuse_read_in), 0, true },
	{ FUSE_READDIRPLUS, sizeof(struct fuse_read_in), 0, true },
	{ FUSE_STATFS, 0, sizeof(struct fuse_statfs_out), false },
	{ FUSE_READLINK, 0, 6, false },
};

/* A recognisable argument pattern, with fields fixed where they matter. */
static void fill_args(uint32_t opcode, unsigned char *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] = (unsigned char)(i * 7 + 1);
	if (opcode == FUSE_READ || opcode == FUSE_READDIR ||
	    opcode == FUSE_READDIRPLUS) {
		struct fuse_read_in *r = (void *)a;

		r->size = 100;
	} else if (opcode == FUSE_GETLK || opcode == FUSE_SETLK ||
		   opcode == FUSE_SETLKW) {
		struct fuse_lk_in *l = (void *)a;

		l->lk.type = 1;
	} else if (opcode == FUSE_COPY_FILE_RANGE) {
		struct fuse_copy_file_range_in *c = (void *)a;

		c->len = 4096;
	} else if (opcode == FUSE_LISTXATTR) {
		struct fuse_getxattr_in *g = (void *)a;

		g->size = 0;
	}
}

static void test_fixed_exact(void **state)
{
	struct env *e = *state;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		const struct fixed_case *c = &fixed[i];
		unsigned char args[128];
		struct reply rp;

		fill_args(c->opcode, args, c->size);
		fake_reset();
		rq_start(&R, c->opcode, 77);
		rq_add(&R, args, c->size);
		rp = rq_send(e, &R, OUT_BIG);
		assert_int_equal(rp.error, 0);
		assert_int_equal(F.calls, 1);
		assert_int_equal(F.op, c->opcode);
		assert_int_equal(F.nodeid, 77);
		assert_int_equal(rp.len,
				 sizeof(struct fuse_out_header) + c->reply);
		if (c->records_in) {
			assert_int_equal(F.inlen, c->size);
			assert_memory_equal(F.in, args, c->size);
		}
		assert_int_equal(F.ctx.uid, 1000);
		assert_int_equal(F.ctx.gid, 1001);
		assert_int_equal(F.ctx.pid, 1234);
		assert_int_equal(F.ctx.opcode, c->opcode);
		assert_true(F.ctx_has_req);
		assert_non_null(F.ctx.conn);
		if (c->opcode == FUSE_ACCESS) {
			struct fuse_access_in a;

			memcpy(&a, args, sizeof(a));
			assert_int_equal(F.u32a, a.mask);
		}
		if (c->opcode == FUSE_SETLKW)
			assert_true(F.sleep);
		if (c->opcode == FUSE_SETLK)
			assert_false(F.sleep);
	}
}

static void test_fixed_short_and_long(void **state)
{
	struct env *e = *state;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		const struct fixed_case *c = &fixed[i];
		unsigned char args[129];
		struct reply rp;

		fill_args(c->opcode, args, sizeof(args));
		fill_args(c->opcode, args, c->size);
		if (c->size > 0) {
			fake_reset();
			rq_start(&R, c->opcode, 77);
			rq_add(&R, args, c->size - 1);
			rp = rq_send(e, &R, OUT_BIG);
			assert_int_equal(rp.error, -EINVAL);
			assert_int_equal(rp.len,
					 sizeof(struct fuse_out_header));
			assert_int_equal(F.calls, 0);
		}
		fake_reset();
		rq_start(&R, c->opcode, 77);
		rq_add(&R, args, c->size + 1);
		rp = rq_send(e, &R, OUT_BIG);
		assert_int_equal(rp.error, -EINVAL);
		assert_int_equal(F.calls, 0);
	}
}

/* One op of each name-carrying layout. */
static void test_name_ops(void **state)
{
	struct env *e = *state;
	struct fuse_mknod_in mk = { .mode = 010644, .rdev = 3, .umask = 022 };
	struct fuse_mkdir_in md = { .mode = 0755, .umask = 022 };
	struct fuse_create_in cr = { .flags = 0101, .mode = 0600, .umask = 2 };
	struct fuse_link_in ln = { .oldnodeid = 9 };
	struct fuse_rename_in rn = { .newdir = 11 };
	struct fuse_rename2_in rn2 = { .newdir = 12, .flags = 1 };
	struct reply rp;

	rq_start(&R, FUSE_LOOKUP, 5);
	rq_str(&R, "hello");
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(F.op, FUSE_LOOKUP);
	assert_int_equal(F.nodeid, 5);
	assert_string_equal(F.name, "hello");
	assert_int_equal(rp.len, 16 + sizeof(struct fuse_entry_out));

	rq_start(&R, FUSE_MKNOD, 5);
	rq_add(&R, &mk, sizeof(mk));
	rq_str(&R, "dev");
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(F.op, FUSE_MKNOD);
	assert_string_equal(F.name, "dev");
	assert_memory_equal(F.in, &mk, sizeof(mk));

	rq_start(&R, FUSE_MKDIR, 5);
	rq_add(&R, &md, sizeof(md));
	rq_str(&R, "d");
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(F.op, FUSE_MKDIR);
	assert_memory_equal(F.in, &md, sizeof(md));

	rq_start(&R, FUSE_UNLINK, 6);
	rq_str(&R, "u");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.op, FUSE_UNLINK);
	assert_string_equal(F.name, "u");

	rq_start(&R, FUSE_RMDIR, 6);
	rq_str(&R, "r");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.op, FUSE_RMDIR);

	rq_start(&R, FUSE_CREATE, 5);
	rq_add(&R, &cr, sizeof(cr));
	rq_str(&R, "new");
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(F.op, FUSE_CREATE);
	assert_memory_equal(F.in, &cr, sizeof(cr));
	assert_int_equal(rp.len, 16 + sizeof(struct fuse_entry_out) +
					 sizeof(struct fuse_open_out));

	rq_start(&R, FUSE_LINK, 5);
	rq_add(&R, &ln, sizeof(ln));
	rq_str(&R, "hard");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.op, FUSE_LINK);
	assert_int_equal(F.nodeid, 9);
	assert_int_equal(F.nodeid2, 5);
	assert_string_equal(F.name, "hard");

	rq_start(&R, FUSE_RENAME, 5);
	rq_add(&R, &rn, sizeof(rn));
	rq_str(&R, "a");
	rq_str(&R, "b");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.op, FUSE_RENAME);
	assert_int_equal(F.nodeid2, 11);
	assert_int_equal(F.u32a, 0);
	assert_string_equal(F.name, "a");
	assert_string_equal(F.name2, "b");

	rq_start(&R, FUSE_RENAME2, 5);
	rq_add(&R, &rn2, sizeof(rn2));
	rq_str(&R, "c");
	rq_str(&R, "d");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.op, FUSE_RENAME2);
	assert_int_equal(F.nodeid2, 12);
	assert_int_equal(F.u32a, 1);
	assert_string_equal(F.name2, "d");

	rq_start(&R, FUSE_SYMLINK, 5);
	rq_str(&R, "ln");
	rq_str(&R, "../some/where");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.op, FUSE_SYMLINK);
	assert_string_equal(F.name, "ln");
	assert_string_equal(F.target, "../some/where");
}

/* Short fixed parts of name-carrying ops are EINVAL too. */
static void test_name_ops_short(void **state)
{
	struct env *e = *state;
	static const uint32_t ops[] = { FUSE_MKNOD,   FUSE_MKDIR,
					FUSE_CREATE,  FUSE_LINK,
					FUSE_RENAME,  FUSE_RENAME2,
					FUSE_TMPFILE, FUSE_GETXATTR,
					FUSE_SETXATTR };
	unsigned char zero[4] = { 0 };

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		fake_reset();
		rq_start(&R, ops[i], 5);
		rq_add(&R, zero, 3); /* shorter than any of their structs */
		assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
		assert_int_equal(F.calls, 0);
	}
}

static int send_lookup_raw(struct env *e, const void *name, size_t n)
{
	fake_reset();
	rq_start(&R, FUSE_LOOKUP, 1);
	rq_add(&R, name, n);
	return rq_send(e, &R, OUT_BIG).error;
}

static void test_bad_names(void **state)
{
	struct env *e = *state;
	char longname[NAME_MAX + 2];

	assert_int_equal(send_lookup_raw(e, "abc", 3), -EINVAL); /* no NUL */
	assert_int_equal(send_lookup_raw(e, "", 1), -EINVAL);
	assert_int_equal(send_lookup_raw(e, ".", 2), -EINVAL);
	assert_int_equal(send_lookup_raw(e, "..", 3), -EINVAL);
	assert_int_equal(send_lookup_raw(e, "a/b", 4), -EINVAL);
	assert_int_equal(send_lookup_raw(e, "/", 2), -EINVAL);
	assert_int_equal(send_lookup_raw(e, "ab\0x", 5),
			 -EINVAL); /* trailing */
	assert_int_equal(F.calls, 0);
	memset(longname, 'n', sizeof(longname));
	longname[NAME_MAX + 1] = '\0';
	assert_int_equal(send_lookup_raw(e, longname, NAME_MAX + 2),
			 -ENAMETOOLONG);
	assert_int_equal(F.calls, 0);
	longname[NAME_MAX] = '\0';
	assert_int_equal(send_lookup_raw(e, longname, NAME_MAX + 1), 0);
	assert_int_equal(F.calls, 1);
	/* "..." and ".x" are ordinary names */
	assert_int_equal(send_lookup_raw(e, "...", 4), 0);
	assert_int_equal(send_lookup_raw(e, ".x", 3), 0);
}

static int send_rename2(struct env *e, const char *a, const char *b)
{
	struct fuse_rename2_in in = { .newdir = 3 };

	fake_reset();
	rq_start(&R, FUSE_RENAME2, 2);
	rq_add(&R, &in, sizeof(in));
	rq_str(&R, a);
	rq_str(&R, b);
	return rq_send(e, &R, OUT_BIG).error;
}

static void test_rename2_both_names(void **state)
{
	struct env *e = *state;

	assert_int_equal(send_rename2(e, "ok", ".."), -EINVAL);
	assert_int_equal(send_rename2(e, "..", "ok"), -EINVAL);
	assert_int_equal(send_rename2(e, "ok", "x/y"), -EINVAL);
	assert_int_equal(send_rename2(e, "ok", ""), -EINVAL);
	assert_int_equal(F.calls, 0);
	/* second name missing its NUL */
	fake_reset();
	rq_start(&R, FUSE_RENAME2, 2);
	{
		struct fuse_rename2_in in = { .newdir = 3 };

		rq_add(&R, &in, sizeof(in));
	}
	rq_str(&R, "ok");
	rq_add(&R, "zz", 2);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_int_equal(F.calls, 0);
	assert_int_equal(send_rename2(e, "ok", "fine"), 0);
	assert_int_equal(F.calls, 1);
}

static int send_symlink(struct env *e, const char *name, const void *t,
			size_t tn)
{
	fake_reset();
	rq_start(&R, FUSE_SYMLINK, 2);
	rq_str(&R, name);
	rq_add(&R, t, tn);
	return rq_send(e, &R, OUT_BIG).error;
}

static void test_symlink_target(void **state)
{
	struct env *e = *state;
	static char t[PATH_MAX + 1];

	assert_int_equal(send_symlink(e, "l", "", 1), -EINVAL);
	assert_int_equal(send_symlink(e, "l", "abc", 3), -EINVAL);
	assert_int_equal(send_symlink(e, "l", "abc\0\0", 5), -EINVAL);
	assert_int_equal(send_symlink(e, "..", "abc", 4), -EINVAL);
	assert_int_equal(F.calls, 0);
	memset(t, 't', sizeof(t));
	t[PATH_MAX] = '\0'; /* PATH_MAX bytes: too long */
	assert_int_equal(send_symlink(e, "l", t, PATH_MAX + 1), -ENAMETOOLONG);
	assert_int_equal(F.calls, 0);
	t[PATH_MAX - 1] = '\0'; /* PATH_MAX - 1 bytes: fine */
	assert_int_equal(send_symlink(e, "l", t, PATH_MAX), 0);
	assert_int_equal(F.calls, 1);
	assert_int_equal(strlen(F.target), PATH_MAX - 1);
}

static void test_tmpfile_name_ignored(void **state)
{
	struct env *e = *state;
	struct fuse_create_in cr = { .flags = 2, .mode = 0600 };
	struct reply rp;

	rq_start(&R, FUSE_TMPFILE, 4);
	rq_add(&R, &cr, sizeof(cr));
	rq_str(&R, "/");
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(F.op, FUSE_TMPFILE);
	assert_int_equal(F.nodeid, 4);
	assert_memory_equal(F.in, &cr, sizeof(cr));
	assert_int_equal(rp.len, 16 + sizeof(struct fuse_entry_out) +
					 sizeof(struct fuse_open_out));
	/* without a NUL it is malformed */
	fake_reset();
	rq_start(&R, FUSE_TMPFILE, 4);
	rq_add(&R, &cr, sizeof(cr));
	rq_add(&R, "/", 1);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_int_equal(F.calls, 0);
}

static void test_setxattr(void **state)
{
	struct env *e = *state;
	struct fuse_setxattr_in in = { .size = 4,
				       .flags = 1,
				       .setxattr_flags = 1 };
	static unsigned char big[XATTR_SIZE_MAX + 1];
	char longname[XATTR_NAME_MAX + 2];

	/* session negotiated SETXATTR_EXT? The harness offers no such flag:
	 * compat layout (8 bytes) */
	rq_start(&R, FUSE_SETXATTR, 3);
	rq_add(&R, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
	rq_str(&R, "user.x");
	rq_add(&R, "vvvv", 4);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.op, FUSE_SETXATTR);
	assert_string_equal(F.name, "user.x");
	assert_int_equal(F.size, 4);
	assert_memory_equal(F.data, "vvvv", 4);
	assert_int_equal(F.u32a, 1);
	assert_int_equal(F.u32b, 0);

	/* value bytes not matching size */
	fake_reset();
	rq_start(&R, FUSE_SETXATTR, 3);
	rq_add(&R, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
	rq_str(&R, "user.x");
	rq_add(&R, "vvvvv", 5);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_int_equal(F.calls, 0);

	/* too large a value */
	in.size = XATTR_SIZE_MAX + 1;
	rq_start(&R, FUSE_SETXATTR, 3);
	rq_add(&R, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
	rq_str(&R, "user.x");
	rq_add(&R, big, sizeof(big));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -E2BIG);
	assert_int_equal(F.calls, 0);

	/* the largest value passes */
	in.size = XATTR_SIZE_MAX;
	rq_start(&R, FUSE_SETXATTR, 3);
	rq_add(&R, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
	rq_str(&R, "user.x");
	rq_add(&R, big, XATTR_SIZE_MAX);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.size, XATTR_SIZE_MAX);

	/* names: empty, too long */
	in.size = 0;
	fake_reset();
	rq_start(&R, FUSE_SETXATTR, 3);
	rq_add(&R, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
	rq_str(&R, "");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	memset(longname, 'x', sizeof(longname));
	longname[XATTR_NAME_MAX + 1] = '\0';
	rq_start(&R, FUSE_SETXATTR, 3);
	rq_add(&R, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
	rq_str(&R, longname);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -ERANGE);
	assert_int_equal(F.calls, 0);
}

static void test_setxattr_ext(void **state)
{
	struct env *e = *state;
	struct fuse_setxattr_in in = { .size = 2,
				       .flags = 2,
				       .setxattr_flags = 1 };
	struct reply rp;

	/* a fresh session that negotiates SETXATTR_EXT */
	env_remake(e, &fake_ops, true);
	rp = do_init(e, 7, 38, FUSE_SETXATTR_EXT | FUSE_INIT_EXT, 0);
	assert_int_equal(rp.error, 0);
	assert_true(init_out(&rp)->flags & FUSE_SETXATTR_EXT);

	rq_start(&R, FUSE_SETXATTR, 3);
	rq_add(&R, &in, sizeof(in));
	rq_str(&R, "user.y");
	rq_add(&R, "ab", 2);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.u32a, 2);
	assert_int_equal(F.u32b, 1);
	assert_memory_equal(F.data, "ab", 2);

	/* the compat layout is now misparsed: the name runs into the value
	 * bytes and the size does not match */
	fake_reset();
	rq_start(&R, FUSE_SETXATTR, 3);
	rq_add(&R, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
	rq_str(&R, "user.y");
	rq_add(&R, "ab", 2);
	assert_int_not_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.calls, 0);
}

static void test_getxattr(void **state)
{
	struct env *e = *state;
	struct fuse_getxattr_in in = { .size = 0 };
	struct fuse_getxattr_out go;
	struct reply rp;

	rq_start(&R, FUSE_GETXATTR, 3);
	rq_add(&R, &in, sizeof(in));
	rq_str(&R, "user.z");
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(rp.len, 16 + sizeof(go));
	memcpy(&go, rp.payload, sizeof(go));
	assert_int_equal(go.size, 5);
	assert_string_equal(F.name, "user.z");
	assert_int_equal(F.size, 0);

	in.size = 100;
	rq_start(&R, FUSE_GETXATTR, 3);
	rq_add(&R, &in, sizeof(in));
	rq_str(&R, "user.z");
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(rp.len, 16 + 5);
	assert_memory_equal(rp.payload, "value", 5);
	assert_int_equal(F.size, 100);

	/* too small: the fs says ERANGE */
	in.size = 2;
	rq_start(&R, FUSE_GETXATTR, 3);
	rq_add(&R, &in, sizeof(in));
	rq_str(&R, "user.z");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -ERANGE);

	/* huge sizes are clamped to XATTR_SIZE_MAX */
	in.size = 0x7fffffff;
	rq_start(&R, FUSE_GETXATTR, 3);
	rq_add(&R, &in, sizeof(in));
	rq_str(&R, "user.z");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.size, XATTR_SIZE_MAX);

	/* ...and to what the out buffer can take */
	in.size = 1000;
	rq_start(&R, FUSE_GETXATTR, 3);
	rq_add(&R, &in, sizeof(in));
	rq_str(&R, "user.z");
	assert_int_equal(rq_send(e, &R, 16 + 64).error, 0);
	assert_int_equal(F.size, 64);

	/* a missing name */
	fake_reset();
	rq_start(&R, FUSE_GETXATTR, 3);
	rq_add(&R, &in, sizeof(in));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_int_equal(F.calls, 0);
}

static void test_listxattr_and_remove(void **state)
{
	struct env *e = *state;
	struct fuse_getxattr_in in = { .size = 4096 };
	struct reply rp;

	F.set_sret = true;
	F.sret = 12;
	rq_start(&R, FUSE_LISTXATTR, 3);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.error, 0);
	assert_int_equal(rp.len, 16 + 12);
	assert_int_equal(F.op, FUSE_LISTXATTR);
	assert_int_equal(F.size, 4096);

	fake_reset();
	rq_start(&R, FUSE_REMOVEXATTR, 3);
	rq_str(&R, "trusted.a");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, 0);
	assert_int_equal(F.op, FUSE_REMOVEXATTR);
	assert_string_equal(F.name, "trusted.a");
}

static void test_write(void **state)
{
	struct env *e = *state;
	struct fuse_write_in in = { .fh = 9, .offset = 100, .size = 10 };
	struct fuse_write_out wo;
	/* header split mid-struct, write_in split, payload in 3 pieces */
	const size_t cuts[] = { 13, 40 + 20, 40 + 40 + 3, 40 + 40 + 7 };
	struct reply rp;

	rq_start(&R, FUSE_WRITE, 8);
	rq_add(&R, &in, sizeof(in));
	rq_add(&R, "0123456789", 10);
	rp = rq_send_split(e, &R, OUT_BIG, cuts, 4);
	assert_int_equal(rp.error, 0);
	assert_int_equal(F.op, FUSE_WRITE);
	assert_int_equal(F.nodeid, 8);
	assert_memory_equal(F.in, &in, sizeof(in));
	assert_int_equal(F.size, 10);
	assert_int_equal(F.iovcnt, 3);
	assert_memory_equal(F.data, "0123456789", 10);
	memcpy(&wo, rp.payload, sizeof(wo));
	assert_int_equal(wo.size, 10);

	/* size not matching the payload */
	fake_reset();
	in.size = 11;
	rq_start(&R, FUSE_WRITE, 8);
	rq_add(&R, &in, sizeof(in));
	rq_add(&R, "0123456789", 10);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_int_equal(F.calls, 0);

	/* short write_in */
	rq_start(&R, FUSE_WRITE, 8);
	rq_add(&R, &in, sizeof(in) - 1);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_int_equal(F.calls, 0);

	/* more than max_write */
	in.size = 128 * 1024 + 1;
	rq_start(&R, FUSE_WRITE, 8);
	rq_add(&R, &in, sizeof(in));
	R.len += in.size; /* payload content does not matter */
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_int_equal(F.calls, 0);

	/* the fs claiming more than asked is an EIO */
	in.size = 4;
	F.set_sret = true;
	F.sret = 5;
	rq_start(&R, FUSE_WRITE, 8);
	rq_add(&R, &in, sizeof(in));
	rq_add(&R, "abcd", 4);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EIO);
}

static void test_read(void **state)
{
	struct env *e = *state;
	struct fuse_read_in in = { .fh = 1, .offset = 0, .size = 4096 };
	struct reply rp;

	rq_start(&R, FUSE_READ, 8);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send(e, &R, 16 + 4096);
	assert_int_equal(rp.error, 0);
	assert_int_equal(F.size, 4096);
	assert_int_equal(rp.len, 16 + 4096);
	assert_int_equal(rp.payload[0], 'r');
	assert_int_equal(rp.payload[4095], 'r');

	/* short read: only what was read is sent */
	F.set_sret = true;
	F.sret = 10;
	rq_start(&R, FUSE_READ, 8);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.len, 16 + 10);
	assert_int_equal(rp.hlen, 16 + 10);

	/* bigger than the out space: EINVAL, fs not called */
	fake_reset();
	rq_start(&R, FUSE_READ, 8);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send(e, &R, 16 + 4095);
	assert_int_equal(rp.error, -EINVAL);
	assert_int_equal(F.calls, 0);

	/* absurd size */
	in.size = 0x80000000u;
	rq_start(&R, FUSE_READ, 8);
	rq_add(&R, &in, sizeof(in));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_int_equal(F.calls, 0);
}

static void test_split_iovecs(void **state)
{
	struct env *e = *state;
	struct fuse_getattr_in in = { .getattr_flags = 1, .fh = 0x1122 };
	const size_t cuts[] = { 1, 7, 17, 39, 44 };
	struct reply rp;

	rq_start(&R, FUSE_GETATTR, 99);
	rq_add(&R, &in, sizeof(in));
	rp = rq_send_split(e, &R, OUT_BIG, cuts, 5);
	assert_int_equal(rp.error, 0);
	assert_int_equal(F.nodeid, 99);
	assert_memory_equal(F.in, &in, sizeof(in));
	assert_int_equal(F.ctx.uid, 1000);

	rq_start(&R, FUSE_LOOKUP, 98);
	rq_str(&R, "split-name");
	{
		const size_t c2[] = { 20, 41, 45 };

		rp = rq_send_split(e, &R, OUT_BIG, c2, 3);
	}
	assert_int_equal(rp.error, 0);
	assert_string_equal(F.name, "split-name");
}

static void test_forget_and_batch(void **state)
{
	struct env *e = *state;
	struct fuse_forget_in fi = { .nlookup = 3 };
	struct fuse_batch_forget_in bi = { .count = 2 };
	struct fuse_forget_one one[2] = { { 10, 1 }, { 11, 2 } };
	struct reply rp;

	rq_start(&R, FUSE_FORGET, 10);
	rq_add(&R, &fi, sizeof(fi));
	rp = rq_send(e, &R, 0); /* virtio: no out buffer at all */
	assert_int_equal(rp.len, 0);
	assert_int_equal(F.nforget, 1);
	assert_int_equal(F.forget_id[0], 10);
	assert_int_equal(F.forget_nl[0], 3);

	fake_reset();
	rq_start(&R, FUSE_BATCH_FORGET, 0);
	rq_add(&R, &bi, sizeof(bi));
	rq_add(&R, one, sizeof(one));
	rp = rq_send(e, &R, 0);
	assert_int_equal(rp.len, 0);
	assert_int_equal(F.nforget, 2);
	assert_int_equal(F.forget_id[1], 11);
	assert_int_equal(F.forget_nl[1], 2);

	/* count not matching the bytes */
	fake_reset();
	bi.count = 3;
	rq_start(&R, FUSE_BATCH_FORGET, 0);
	rq_add(&R, &bi, sizeof(bi));
	rq_add(&R, one, sizeof(one));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.len, 0);
	assert_int_equal(F.nforget, 0);

	/* count whose byte size overflows 32 bits */
	bi.count = 0xffffffffu;
	rq_start(&R, FUSE_BATCH_FORGET, 0);
	rq_add(&R, &bi, sizeof(bi));
	rq_add(&R, one, sizeof(one));
	rp = rq_send(e, &R, OUT_BIG);
	assert_int_equal(rp.len, 0);
	assert_int_equal(F.nforget, 0);

	/* a short FORGET: dropped, never answered */
	rq_start(&R, FUSE_FORGET, 10);
	rq_add(&R, &fi, sizeof(fi) - 1);
	assert_int_equal(rq_send(e, &R, OUT_BIG).len, 0);
	assert_int_equal(F.nforget, 0);
}

static void test_ioctl_poll_enosys(void **state)
{
	struct env *e = *state;
	struct fuse_ioctl_in io = { .in_size = 4 };
	struct fuse_poll_in po = { .fh = 1 };

	rq_start(&R, FUSE_IOCTL, 2);
	rq_add(&R, &io, sizeof(io));
	rq_add(&R, "data", 4);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -ENOSYS);
	rq_start(&R, FUSE_IOCTL, 2);
	rq_add(&R, &io, sizeof(io));
	rq_add(&R, "dat", 3);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	rq_start(&R, FUSE_POLL, 2);
	rq_add(&R, &po, sizeof(po));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -ENOSYS);
	rq_start(&R, FUSE_POLL, 2);
	rq_add(&R, &po, sizeof(po) - 1);
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EINVAL);
	assert_int_equal(F.calls, 0);
}

static void test_fs_errors_passed(void **state)
{
	struct env *e = *state;
	struct fuse_open_in oi = { 0 };

	F.ret = -ENOENT;
	rq_start(&R, FUSE_LOOKUP, 1);
	rq_str(&R, "missing");
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -ENOENT);
	assert_int_equal(F.nforget, 0);
	F.ret = -EACCES;
	rq_start(&R, FUSE_OPEN, 1);
	rq_add(&R, &oi, sizeof(oi));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EACCES);
	/* a nonsense code becomes EIO */
	F.ret = -100000;
	rq_start(&R, FUSE_OPEN, 1);
	rq_add(&R, &oi, sizeof(oi));
	assert_int_equal(rq_send(e, &R, OUT_BIG).error, -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fixed_exact, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_fixed_short_and_long,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_name_ops, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_name_ops_short, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_rename2_both_names,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_symlink_target, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_tmpfile_name_ignored,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_setxattr, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_setxattr_ext, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_getxattr, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_listxattr_and_remove,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_write, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_read, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_split_iovecs, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_forget_and_batch,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_ioctl_poll_enosys,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_fs_errors_passed,
						env_setup, env_teardown),
	};

	return cmocka_run_group_tests_name("fuse-decode", tests, NULL, NULL);
}
