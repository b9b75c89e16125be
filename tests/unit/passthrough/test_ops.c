// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The passthrough operations table driven directly, as the FUSE server
 * would, on a temporary directory: entries, files, directories, special
 * files (never opened), and the credential rules that keep the host's
 * set-user/group-ID semantics (run as root; skipped otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_fuse.h"
#include "passthrough/ops_i.h"

struct env {
	char dir[64];
	int dfd; /* the temp dir, for checking from outside */
	struct pt_fs *fs;
	struct fuse_conn conn;
};

static struct fuse_ctx ctx_of(struct env *env, uint32_t uid, uint32_t gid)
{
	struct fuse_ctx c = {
		.uid = uid,
		.gid = gid,
		.pid = 1,
		.conn = &env->conn,
	};
	return c;
}

static int setup_cache(void **state, enum pt_cache cache, bool writeback)
{
	struct pt_options opts = {
		.cache = cache,
		.readdirplus = -1,
		.writeback = writeback,
	};
	struct env *env = calloc(1, sizeof(*env));
	const char *msg = NULL;
	uint64_t want = 0;
	uint32_t max_write = 1 << 20;

	if (!env)
		return -1;
	if (pt_process_init(&msg)) {
		fprintf(stderr, "pt_process_init: %s\n", msg);
		return -1;
	}
	snprintf(env->dir, sizeof(env->dir), "/tmp/vfsd-pt-ops.XXXXXX");
	if (!mkdtemp(env->dir))
		return -1;
	chmod(env->dir, 0755);
	env->dfd = open(env->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	opts.source = env->dir;
	if (env->dfd < 0 || pt_new(&opts, &env->fs, &msg))
		return -1;
	pt_ops.init(env->fs, ~0ULL, &want, &max_write);
	env->conn.flags = want;
	*state = env;
	return 0;
}

static int setup(void **state)
{
	return setup_cache(state, PT_CACHE_AUTO, false);
}

static int teardown(void **state)
{
	struct env *env = *state;
	char cmd[128];

	pt_ops.destroy(env->fs);
	pt_free(env->fs);
	close(env->dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env->dir);
	if (system(cmd) != 0)
		return -1;
	free(env);
	return 0;
}

static bool is_root(void)
{
	return geteuid() == 0;
}

/* CREATE @name in @parent; returns the fh, fills @e. */
static uint64_t create(struct env *env, const struct fuse_ctx *c,
		       uint64_t parent, const char *name, uint32_t mode,
		       struct fuse_entry_out *e)
{
	struct fuse_create_in in = { .flags = O_RDWR, .mode = S_IFREG | mode };
	struct fuse_open_out out;

	assert_int_equal(pt_ops.create(env->fs, c, parent, name, &in, e, &out),
			 0);
	assert_int_not_equal(e->nodeid, 0);
	assert_int_not_equal(out.fh, 0);
	return out.fh;
}

static void release(struct env *env, uint64_t nodeid, uint64_t fh)
{
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_release_in in = { .fh = fh };

	assert_int_equal(pt_ops.release(env->fs, &c, nodeid, &in), 0);
}

static ssize_t write_str(struct env *env, const struct fuse_ctx *c,
			 uint64_t nodeid, uint64_t fh, uint64_t off,
			 const char *s, uint32_t flags)
{
	size_t len = strlen(s);
	struct iovec iov[2] = {
		{ (void *)s, len / 2 },
		{ (void *)(s + len / 2), len - len / 2 },
	};
	struct fuse_write_in in = {
		.fh = fh,
		.offset = off,
		.size = len,
		.write_flags = flags,
	};

	return pt_ops.write(env->fs, c, nodeid, &in, iov, 2);
}

static ssize_t read_buf(struct env *env, uint64_t nodeid, uint64_t fh,
			uint64_t off, char *buf, size_t size)
{
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct iovec iov[3] = {
		{ buf, 1 },
		{ buf + 1, 2 },
		{ buf + 3, size - 3 },
	};
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };

	return pt_ops.read(env->fs, &c, nodeid, &in, iov, 3);
}

static struct stat host_stat(struct env *env, const char *path)
{
	struct stat st;

	assert_int_equal(fstatat(env->dfd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
	return st;
}

static void test_init_flags(void **state)
{
	struct env *env = *state;
	uint64_t want = FUSE_DO_READDIRPLUS | FUSE_WRITEBACK_CACHE;
	uint32_t mw = 4096;

	/* cache auto: readdirplus automatic = on, no writeback asked. */
	pt_ops.init(env->fs, ~0ULL, &want, &mw);
	assert_true(want & FUSE_DO_READDIRPLUS);
	assert_false(want & FUSE_WRITEBACK_CACHE);
	assert_false(want & FUSE_HANDLE_KILLPRIV_V2);
	assert_true(want & FUSE_ATOMIC_O_TRUNC);
	assert_false(env->fs->writeback);
	/* Nothing the client did not offer. */
	want = 0;
	pt_ops.init(env->fs, FUSE_ASYNC_READ, &want, &mw);
	assert_int_equal(want, 0);
	env->fs->opts.cache = PT_CACHE_NEVER;
	env->fs->opts.writeback = true;
	env->fs->opts.killpriv_v2 = true;
	want = FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
	pt_ops.init(env->fs, ~0ULL, &want, &mw);
	assert_false(want & (FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO));
	assert_true(want & FUSE_WRITEBACK_CACHE);
	assert_true(want & FUSE_HANDLE_KILLPRIV_V2);
	assert_true(env->fs->writeback);
	assert_true(env->fs->killpriv_v2);
	/* Writeback: a write-only open becomes read-write, no O_APPEND. */
	assert_int_equal(pt_host_open_flags(env->fs, O_WRONLY | O_APPEND),
			 O_RDWR);
	assert_int_equal(pt_open_out_flags(env->fs, O_RDWR), FOPEN_DIRECT_IO);
}

static void test_create_write_read(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_entry_out e;
	struct fuse_entry_out e2;
	struct fuse_attr_out ao;
	struct fuse_getattr_in gi = { 0 };
	struct fuse_flush_in fl = { 0 };
	struct fuse_read_in ri = { 0 };
	struct iovec iov;
	char buf[64] = { 0 };
	uint64_t fh;

	fh = create(env, &c, FUSE_ROOT_ID, "f", 0644, &e);
	assert_true(S_ISREG(e.attr.mode));
	assert_int_equal(e.entry_valid, 1); /* cache auto: 1 s */
	assert_int_equal(write_str(env, &c, e.nodeid, fh, 0, "hello world", 0),
			 11);
	assert_int_equal(read_buf(env, e.nodeid, fh, 0, buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "hello world", 11);
	assert_int_equal(read_buf(env, e.nodeid, fh, 6, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "world", 5);

	/* GETATTR by node and by handle. */
	assert_int_equal(pt_ops.getattr(env->fs, &c, e.nodeid, &gi, &ao), 0);
	assert_int_equal(ao.attr.size, 11);
	assert_int_equal(ao.attr.ino, e.attr.ino);
	gi.getattr_flags = FUSE_GETATTR_FH;
	gi.fh = fh;
	assert_int_equal(pt_ops.getattr(env->fs, &c, e.nodeid, &gi, &ao), 0);
	assert_int_equal(ao.attr.size, 11);

	/* LOOKUP finds the same node and adds a reference. */
	assert_int_equal(pt_ops.lookup(env->fs, &c, FUSE_ROOT_ID, "f", &e2), 0);
	assert_int_equal(e2.nodeid, e.nodeid);
	assert_int_equal(e2.generation, e.generation);
	assert_int_equal(pt_ops.lookup(env->fs, &c, FUSE_ROOT_ID, "nope", &e2),
			 -ENOENT);
	assert_int_equal(pt_ops.lookup(env->fs, &c, 9999, "f", &e2), -ENOENT);

	/* The fh belongs to this node only; forged ones are refused. */
	ri.fh = fh;
	ri.size = sizeof(buf);
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	assert_int_equal(pt_ops.read(env->fs, &c, FUSE_ROOT_ID, &ri, &iov, 1),
			 -EBADF);
	ri.fh = fh + (1ULL << 32);
	assert_int_equal(pt_ops.read(env->fs, &c, e.nodeid, &ri, &iov, 1),
			 -EBADF);

	fl.fh = fh;
	assert_int_equal(pt_ops.flush(env->fs, &c, e.nodeid, &fl), 0);
	release(env, e.nodeid, fh);
	fl.fh = fh;
	assert_int_equal(pt_ops.flush(env->fs, &c, e.nodeid, &fl), -EBADF);
	pt_ops.forget(env->fs, e.nodeid, 2);
	assert_null(pt_node_get(env->fs, e.nodeid));
}

static void test_mkdir_rename_unlink(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_mkdir_in mi = { .mode = 0755 };
	struct fuse_entry_out d;
	struct fuse_entry_out e;
	struct fuse_entry_out x;
	uint64_t fh;

	assert_int_equal(pt_ops.mkdir(env->fs, &c, FUSE_ROOT_ID, "d", &mi, &d),
			 0);
	assert_true(S_ISDIR(d.attr.mode));
	assert_int_equal(pt_ops.mkdir(env->fs, &c, FUSE_ROOT_ID, "d", &mi, &e),
			 -EEXIST);
	fh = create(env, &c, FUSE_ROOT_ID, "f", 0644, &e);
	release(env, e.nodeid, fh);
	fh = create(env, &c, d.nodeid, "x", 0644, &x);
	release(env, x.nodeid, fh);

	assert_int_equal(pt_ops.rename(env->fs, &c, FUSE_ROOT_ID, "f", d.nodeid,
				       "x", RENAME_NOREPLACE),
			 -EEXIST);
	assert_int_equal(pt_ops.rename(env->fs, &c, FUSE_ROOT_ID, "f", d.nodeid,
				       "x", 1u << 7),
			 -EINVAL);
	assert_int_equal(pt_ops.rename(env->fs, &c, FUSE_ROOT_ID, "f", d.nodeid,
				       "y", RENAME_NOREPLACE),
			 0);
	assert_int_equal(host_stat(env, "d/y").st_ino, e.attr.ino);
	assert_int_equal(pt_ops.rename(env->fs, &c, d.nodeid, "x", d.nodeid,
				       "y", RENAME_EXCHANGE),
			 0);
	assert_int_equal(host_stat(env, "d/x").st_ino, e.attr.ino);

	assert_int_equal(pt_ops.rmdir(env->fs, &c, FUSE_ROOT_ID, "d"),
			 -ENOTEMPTY);
	assert_int_equal(pt_ops.unlink(env->fs, &c, d.nodeid, "x"), 0);
	assert_int_equal(pt_ops.unlink(env->fs, &c, d.nodeid, "y"), 0);
	assert_int_equal(pt_ops.unlink(env->fs, &c, d.nodeid, "y"), -ENOENT);
	assert_int_equal(pt_ops.rmdir(env->fs, &c, FUSE_ROOT_ID, "d"), 0);
	assert_int_equal(faccessat(env->dfd, "d", F_OK, 0), -1);
}

static void test_unlink_while_open(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_entry_out e;
	struct fuse_attr_out ao;
	struct fuse_getattr_in gi = { 0 };
	char buf[16];
	uint64_t fh;

	fh = create(env, &c, FUSE_ROOT_ID, "gone", 0600, &e);
	assert_int_equal(write_str(env, &c, e.nodeid, fh, 0, "still here", 0),
			 10);
	assert_int_equal(pt_ops.unlink(env->fs, &c, FUSE_ROOT_ID, "gone"), 0);
	assert_int_equal(read_buf(env, e.nodeid, fh, 0, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "still here", 10);
	assert_int_equal(pt_ops.getattr(env->fs, &c, e.nodeid, &gi, &ao), 0);
	assert_int_equal(ao.attr.nlink, 0);
	release(env, e.nodeid, fh);
}

static void test_symlink_and_times(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_setattr_in si = { 0 };
	struct fuse_attr_out ao;
	struct fuse_entry_out e;
	struct pt_node *node;
	char buf[64];
	struct stat st;

	assert_int_equal(pt_ops.symlink(env->fs, &c, FUSE_ROOT_ID, "l",
					"../../etc/passwd", &e),
			 0);
	assert_true(S_ISLNK(e.attr.mode));
	assert_int_equal(
		pt_ops.readlink(env->fs, &c, e.nodeid, buf, sizeof(buf)), 16);
	assert_memory_equal(buf, "../../etc/passwd", 16);

	/* Times with nanoseconds on the link itself, not its target. */
	si.valid = FATTR_ATIME | FATTR_MTIME;
	si.atime = 1000;
	si.atimensec = 123;
	si.mtime = 2000;
	si.mtimensec = 456789;
	assert_int_equal(pt_ops.setattr(env->fs, &c, e.nodeid, &si, &ao), 0);
	assert_int_equal(ao.attr.mtime, 2000);
	assert_int_equal(ao.attr.mtimensec, 456789);
	assert_int_equal(ao.attr.atime, 1000);
	st = host_stat(env, "l");
	assert_int_equal(st.st_mtim.tv_sec, 2000);
	assert_int_equal(st.st_mtim.tv_nsec, 456789);

	/* Only mtime; atime left alone (UTIME_OMIT). */
	si.valid = FATTR_MTIME;
	si.mtime = 3000;
	si.mtimensec = 1;
	assert_int_equal(pt_ops.setattr(env->fs, &c, e.nodeid, &si, &ao), 0);
	assert_int_equal(ao.attr.atime, 1000);
	assert_int_equal(ao.attr.mtime, 3000);
	si.mtimensec = 1000000000;
	assert_int_equal(pt_ops.setattr(env->fs, &c, e.nodeid, &si, &ao),
			 -EINVAL);

	/* chmod of a symlink is not supported, as on the host. */
	si.valid = FATTR_MODE;
	si.mode = 0600;
	assert_int_equal(pt_ops.setattr(env->fs, &c, e.nodeid, &si, &ao),
			 -EOPNOTSUPP);
	/* Symlinks are never opened. */
	node = pt_node_get(env->fs, e.nodeid);
	assert_non_null(node);
	assert_int_equal(pt_node_open(env->fs, node, O_RDONLY), -EBADF);
	pt_node_put(env->fs, node);
}

static void test_setattr_size_mode(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_setattr_in si = { 0 };
	struct fuse_attr_out ao;
	struct fuse_entry_out e;
	uint64_t fh;

	fh = create(env, &c, FUSE_ROOT_ID, "s", 0644, &e);
	assert_int_equal(write_str(env, &c, e.nodeid, fh, 0, "0123456789", 0),
			 10);
	release(env, e.nodeid, fh);

	si.valid = FATTR_SIZE | FATTR_MODE | FATTR_ATIME_NOW | FATTR_MTIME_NOW;
	si.size = 3;
	si.mode = S_IFREG | 0600;
	assert_int_equal(pt_ops.setattr(env->fs, &c, e.nodeid, &si, &ao), 0);
	assert_int_equal(ao.attr.size, 3);
	assert_int_equal(ao.attr.mode, S_IFREG | 0600);
	assert_int_equal(host_stat(env, "s").st_size, 3);
	assert_true(ao.attr.mtime > 1000000000);

	/* A stale fh with FATTR_FH is refused. */
	si.valid = FATTR_SIZE | FATTR_FH;
	si.fh = fh;
	assert_int_equal(pt_ops.setattr(env->fs, &c, e.nodeid, &si, &ao),
			 -EBADF);
	/* Truncating a directory without a handle. */
	si.valid = FATTR_SIZE;
	assert_int_equal(pt_ops.setattr(env->fs, &c, FUSE_ROOT_ID, &si, &ao),
			 -EISDIR);
}

/* CVE-2020-35517 class: FIFOs and devices the client made are never
 * opened by the daemon (which would block it or hand out the host's
 * devices). */
static void test_special_files_not_opened(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_mknod_in mi = { .mode = S_IFIFO | 0666 };
	struct fuse_create_in ci = { .flags = O_RDWR, .mode = S_IFREG | 0644 };
	struct fuse_open_in oi = { .flags = O_RDWR };
	struct fuse_entry_out e;
	struct fuse_entry_out e2;
	struct fuse_open_out oo;

	assert_int_equal(pt_ops.mknod(env->fs, &c, FUSE_ROOT_ID, "p", &mi, &e),
			 0);
	assert_true(S_ISFIFO(e.attr.mode));
	assert_int_equal(pt_ops.open(env->fs, &c, e.nodeid, &oi, &oo), -EACCES);
	assert_int_equal(
		pt_ops.create(env->fs, &c, FUSE_ROOT_ID, "p", &ci, &e2, &oo),
		-EACCES);
	ci.flags |= O_EXCL;
	assert_int_equal(
		pt_ops.create(env->fs, &c, FUSE_ROOT_ID, "p", &ci, &e2, &oo),
		-EEXIST);
	assert_int_equal(pt_ops.opendir(env->fs, &c, e.nodeid, &oi, &oo),
			 -ENOTDIR);

	if (is_root()) {
		mi.mode = S_IFCHR | 0666;
		mi.rdev = makedev(1, 3); /* /dev/null */
		assert_int_equal(pt_ops.mknod(env->fs, &c, FUSE_ROOT_ID, "null",
					      &mi, &e2),
				 0);
		assert_true(S_ISCHR(e2.attr.mode));
		assert_int_equal(e2.attr.rdev, makedev(1, 3));
		assert_int_equal(pt_ops.open(env->fs, &c, e2.nodeid, &oi, &oo),
				 -EACCES);
	}
	/* A symlink planted where CREATE is asked is not followed. */
	assert_int_equal(symlinkat("/etc/passwd", env->dfd, "sl"), 0);
	ci.flags = O_RDWR;
	assert_int_equal(
		pt_ops.create(env->fs, &c, FUSE_ROOT_ID, "sl", &ci, &e2, &oo),
		-ELOOP);
}

static void test_link_shares_node(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_entry_out e;
	struct fuse_entry_out l;
	uint64_t fh;

	fh = create(env, &c, FUSE_ROOT_ID, "orig", 0644, &e);
	release(env, e.nodeid, fh);
	assert_int_equal(
		pt_ops.link(env->fs, &c, e.nodeid, FUSE_ROOT_ID, "other", &l),
		0);
	assert_int_equal(l.nodeid, e.nodeid);
	assert_int_equal(l.attr.nlink, 2);
	assert_int_equal(host_stat(env, "other").st_ino, e.attr.ino);
	assert_int_equal(
		pt_ops.link(env->fs, &c, e.nodeid, FUSE_ROOT_ID, "other", &l),
		-EEXIST);
}

static void test_tmpfile(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_create_in ci = { .flags = O_RDWR, .mode = S_IFREG | 0600 };
	struct fuse_entry_out e;
	struct fuse_entry_out l;
	struct fuse_open_out oo;
	char buf[8];

	assert_int_equal(
		pt_ops.tmpfile(env->fs, &c, FUSE_ROOT_ID, &ci, &e, &oo), 0);
	assert_int_equal(e.attr.nlink, 0);
	assert_int_equal(write_str(env, &c, e.nodeid, oo.fh, 0, "tmp", 0), 3);
	assert_int_equal(
		pt_ops.link(env->fs, &c, e.nodeid, FUSE_ROOT_ID, "named", &l),
		0);
	assert_int_equal(l.nodeid, e.nodeid);
	assert_int_equal(host_stat(env, "named").st_size, 3);
	assert_int_equal(read_buf(env, e.nodeid, oo.fh, 0, buf, sizeof(buf)),
			 3);
	release(env, e.nodeid, oo.fh);
}

static void test_file_misc(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_entry_out a;
	struct fuse_entry_out b;
	struct fuse_fallocate_in fa = { 0 };
	struct fuse_copy_file_range_in cr = { 0 };
	struct fuse_lseek_in ls = { 0 };
	struct fuse_fsync_in fs_in = { 0 };
	struct fuse_kstatfs sfs;
	uint64_t fha;
	uint64_t fhb;
	uint64_t off = 0;
	char buf[16];

	fha = create(env, &c, FUSE_ROOT_ID, "a", 0644, &a);
	fhb = create(env, &c, FUSE_ROOT_ID, "b", 0644, &b);
	assert_int_equal(write_str(env, &c, a.nodeid, fha, 0, "copy me", 0), 7);

	cr.fh_in = fha;
	cr.fh_out = fhb;
	cr.nodeid_out = b.nodeid;
	cr.len = 7;
	assert_int_equal(pt_ops.copy_file_range(env->fs, &c, &cr, a.nodeid), 7);
	assert_int_equal(read_buf(env, b.nodeid, fhb, 0, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "copy me", 7);
	cr.flags = 1;
	assert_int_equal(pt_ops.copy_file_range(env->fs, &c, &cr, a.nodeid),
			 -EINVAL);
	cr.flags = 0;
	cr.nodeid_out = a.nodeid; /* fh_out is not a's */
	assert_int_equal(pt_ops.copy_file_range(env->fs, &c, &cr, a.nodeid),
			 -EBADF);

	fa.fh = fhb;
	fa.offset = 0;
	fa.length = 65536;
	assert_int_equal(pt_ops.fallocate(env->fs, &c, b.nodeid, &fa), 0);
	assert_int_equal(host_stat(env, "b").st_size, 65536);

	ls.fh = fha;
	ls.offset = 0;
	ls.whence = SEEK_DATA;
	assert_int_equal(pt_ops.lseek(env->fs, &c, a.nodeid, &ls, &off), 0);
	assert_int_equal(off, 0);
	ls.whence = SEEK_HOLE;
	assert_int_equal(pt_ops.lseek(env->fs, &c, a.nodeid, &ls, &off), 0);
	assert_int_equal(off, 7);
	ls.whence = 42;
	assert_int_equal(pt_ops.lseek(env->fs, &c, a.nodeid, &ls, &off),
			 -EINVAL);

	fs_in.fh = fha;
	assert_int_equal(pt_ops.fsync(env->fs, &c, a.nodeid, &fs_in), 0);
	fs_in.fsync_flags = FUSE_FSYNC_FDATASYNC;
	assert_int_equal(pt_ops.fsync(env->fs, &c, a.nodeid, &fs_in), 0);
	assert_int_equal(pt_ops.syncfs(env->fs, &c, a.nodeid), 0);
	assert_int_equal(pt_ops.statfs(env->fs, &c, FUSE_ROOT_ID, &sfs), 0);
	assert_true(sfs.bsize > 0);
	assert_true(sfs.namelen >= 255);
	release(env, a.nodeid, fha);
	release(env, b.nodeid, fhb);
}

static void test_access(void **state)
{
	struct env *env = *state;
	struct fuse_ctx owner = ctx_of(env, 1000, 1000);
	struct fuse_ctx member = ctx_of(env, 1001, 2000);
	struct fuse_ctx other = ctx_of(env, 1002, 1002);
	struct fuse_ctx root = ctx_of(env, 0, 0);
	struct fuse_entry_out e;
	uint64_t fh;

	if (!is_root())
		skip();
	fh = create(env, &root, FUSE_ROOT_ID, "acc", 0640, &e);
	release(env, e.nodeid, fh);
	assert_int_equal(fchownat(env->dfd, "acc", 1000, 2000, 0), 0);

	assert_int_equal(pt_ops.access(env->fs, &owner, e.nodeid, R_OK | W_OK),
			 0);
	assert_int_equal(pt_ops.access(env->fs, &owner, e.nodeid, X_OK),
			 -EACCES);
	assert_int_equal(pt_ops.access(env->fs, &member, e.nodeid, R_OK), 0);
	assert_int_equal(pt_ops.access(env->fs, &member, e.nodeid, W_OK),
			 -EACCES);
	assert_int_equal(pt_ops.access(env->fs, &other, e.nodeid, R_OK),
			 -EACCES);
	assert_int_equal(pt_ops.access(env->fs, &other, e.nodeid, F_OK), 0);
	other.has_supp_gid = true;
	other.supp_gid = 2000;
	assert_int_equal(pt_ops.access(env->fs, &other, e.nodeid, R_OK), 0);
	assert_int_equal(pt_ops.access(env->fs, &root, e.nodeid, R_OK | W_OK),
			 0);
	assert_int_equal(pt_ops.access(env->fs, &root, e.nodeid, X_OK),
			 -EACCES);
	assert_int_equal(pt_ops.access(env->fs, &root, FUSE_ROOT_ID, X_OK), 0);
}

/* The thread's identity is the daemon's again after every request. */
static void assert_daemon_identity(void)
{
	assert_int_equal(syscall(SYS_setfsuid, -1), geteuid());
	assert_int_equal(syscall(SYS_setfsgid, -1), getegid());
	assert_int_equal(getgroups(0, NULL), 0);
}

/*
 * CVE-2022-0358: a file created in a set-group-ID directory by someone who
 * is not in the directory's group must not keep S_ISGID. The daemon has no
 * supplementary groups and drops CAP_FSETID, so the host decides.
 */
static void test_cred_create_sgid(void **state)
{
	struct env *env = *state;
	struct fuse_ctx user = ctx_of(env, 1000, 1000);
	struct fuse_ctx root = ctx_of(env, 0, 0);
	struct fuse_mkdir_in mi = { .mode = 0777 };
	struct fuse_mknod_in ni = { .mode = S_IFREG | 02755 };
	struct fuse_entry_out d;
	struct fuse_entry_out e;
	struct stat st;
	uint64_t fh;

	if (!is_root())
		skip();
	assert_int_equal(
		pt_ops.mkdir(env->fs, &root, FUSE_ROOT_ID, "sg", &mi, &d), 0);
	assert_int_equal(fchownat(env->dfd, "sg", 0, 2000, 0), 0);
	assert_int_equal(fchmodat(env->dfd, "sg", 02777, 0), 0);

	/* Not in group 2000: S_ISGID stripped, group inherited. */
	fh = create(env, &user, d.nodeid, "nomember", 02755, &e);
	release(env, e.nodeid, fh);
	assert_daemon_identity();
	st = host_stat(env, "sg/nomember");
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 2000);
	assert_int_equal(st.st_mode & 07777, 0755);

	assert_int_equal(pt_ops.mknod(env->fs, &user, d.nodeid, "nod", &ni, &e),
			 0);
	assert_int_equal(host_stat(env, "sg/nod").st_mode & 07777, 0755);

	/* The client sent group 2000 as the caller's: S_ISGID kept. */
	user.has_supp_gid = true;
	user.supp_gid = 2000;
	fh = create(env, &user, d.nodeid, "member", 02755, &e);
	release(env, e.nodeid, fh);
	assert_daemon_identity();
	assert_int_equal(host_stat(env, "sg/member").st_mode & 07777, 02755);

	/* Subdirectories inherit S_ISGID. */
	mi.mode = 0755;
	assert_int_equal(pt_ops.mkdir(env->fs, &user, d.nodeid, "sub", &mi, &e),
			 0);
	st = host_stat(env, "sg/sub");
	assert_true(st.st_mode & S_ISGID);
	assert_int_equal(st.st_gid, 2000);
	assert_int_equal(st.st_uid, 1000);
}

/*
 * chmod applies the mode the client sent: with default_permissions the
 * client has already stripped S_ISGID for a caller outside the file's
 * group using the caller's full group list, which the daemon never sees
 * (stripping again here would wrongly clear it for a member through a
 * supplementary group).
 */
static void test_cred_chmod_sgid(void **state)
{
	struct env *env = *state;
	struct fuse_ctx user = ctx_of(env, 1000, 1000);
	struct fuse_ctx root = ctx_of(env, 0, 0);
	struct fuse_setattr_in si = { .valid = FATTR_MODE };
	struct fuse_attr_out ao;
	struct fuse_entry_out e;
	uint64_t fh;

	if (!is_root())
		skip();
	fh = create(env, &root, FUSE_ROOT_ID, "cm", 0755, &e);
	release(env, e.nodeid, fh);
	assert_int_equal(fchownat(env->dfd, "cm", 1000, 2000, 0), 0);

	si.mode = 02755;
	assert_int_equal(pt_ops.setattr(env->fs, &user, e.nodeid, &si, &ao), 0);
	assert_int_equal(ao.attr.mode & 07777, 02755);
	assert_daemon_identity();

	si.mode = 0755;
	assert_int_equal(pt_ops.setattr(env->fs, &user, e.nodeid, &si, &ao), 0);
	assert_int_equal(ao.attr.mode & 07777, 0755);
	si.mode = 02755;

	/* Root may set it regardless. */
	assert_int_equal(fchmodat(env->dfd, "cm", 0755, 0), 0);
	assert_int_equal(pt_ops.setattr(env->fs, &root, e.nodeid, &si, &ao), 0);
	assert_int_equal(ao.attr.mode & 07777, 02755);

	/* chown by root clears set-ID bits on an executable. */
	si.valid = FATTR_UID;
	si.uid = 1001;
	assert_int_equal(pt_ops.setattr(env->fs, &root, e.nodeid, &si, &ao), 0);
	assert_int_equal(ao.attr.uid, 1001);
	assert_int_equal(ao.attr.mode & 06000, 0);
}

/* A write (and a truncate) by a non-root caller clears set-ID bits when
 * the client asks for it (killpriv v2), as a local write would. */
static void test_cred_write_kills_suid(void **state)
{
	struct env *env = *state;
	struct fuse_ctx user = ctx_of(env, 1000, 1000);
	struct fuse_ctx root = ctx_of(env, 0, 0);
	struct fuse_setattr_in si = { 0 };
	struct fuse_attr_out ao;
	struct fuse_entry_out e;
	uint64_t fh;

	if (!is_root())
		skip();
	fh = create(env, &root, FUSE_ROOT_ID, "suid", 0755, &e);
	assert_int_equal(fchownat(env->dfd, "suid", 1000, 1000, 0), 0);
	assert_int_equal(fchmodat(env->dfd, "suid", 06755, 0), 0);

	/* Without the flag (root writing): bits stay. */
	assert_int_equal(write_str(env, &root, e.nodeid, fh, 0, "ab", 0), 2);
	assert_int_equal(host_stat(env, "suid").st_mode & 07777, 06755);
	assert_int_equal(write_str(env, &user, e.nodeid, fh, 0, "cd",
				   FUSE_WRITE_KILL_SUIDGID),
			 2);
	assert_int_equal(host_stat(env, "suid").st_mode & 07777, 0755);
	assert_daemon_identity();

	/* Truncate with FATTR_KILL_SUIDGID, even by uid 0 on the client
	 * (the client only sends it for callers without CAP_FSETID). */
	assert_int_equal(fchmodat(env->dfd, "suid", 06755, 0), 0);
	si.valid = FATTR_SIZE | FATTR_KILL_SUIDGID;
	si.size = 1;
	assert_int_equal(pt_ops.setattr(env->fs, &root, e.nodeid, &si, &ao), 0);
	assert_int_equal(ao.attr.mode & 07777, 0755);
	assert_int_equal(ao.attr.size, 1);

	/* Truncate by the non-root owner clears them too. */
	assert_int_equal(fchmodat(env->dfd, "suid", 06755, 0), 0);
	si.valid = FATTR_SIZE;
	si.size = 0;
	assert_int_equal(pt_ops.setattr(env->fs, &user, e.nodeid, &si, &ao), 0);
	assert_int_equal(ao.attr.mode & 07777, 0755);
	release(env, e.nodeid, fh);
	assert_daemon_identity();
}

static void make_files(struct env *env, const char *dir, int n)
{
	char name[64];
	int dfd;
	int i;

	assert_int_equal(mkdirat(env->dfd, dir, 0755), 0);
	dfd = openat(env->dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	for (i = 0; i < n; i++) {
		int fd;

		snprintf(name, sizeof(name), "entry-with-a-longish-name-%04d",
			 i);
		fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	close(dfd);
}

/*
 * List directory @nodeid in replies of @room bytes, continuing from each
 * reply's last offset. Every name must show up exactly once.
 */
static void list_all(struct env *env, uint64_t nodeid, bool plus, int n,
		     size_t room)
{
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_release_in rel = { 0 };
	struct fuse_read_in ri = { 0 };
	struct fuse_open_out oo;
	struct fuse_dirbuf *db = malloc(sizeof(*db));
	char *seen = calloc(n, 1);
	int dots = 0;
	int total = 0;
	int calls = 0;
	size_t i;

	assert_non_null(db);
	assert_non_null(seen);
	assert_int_equal(pt_ops.opendir(env->fs, &c, nodeid, &oi, &oo), 0);
	ri.fh = oo.fh;
	for (;;) {
		fake_dirbuf_init(db, plus, room);
		assert_int_equal(pt_ops.readdir(env->fs, &c, nodeid, &ri, db),
				 0);
		calls++;
		if (db->count == 0)
			break;
		for (i = 0; i < db->count; i++) {
			struct fake_dirent *d = &db->ents[i];
			int k;

			total++;
			if (!strcmp(d->name, ".") || !strcmp(d->name, "..")) {
				dots++;
				if (plus)
					assert_int_equal(d->entry.nodeid, 0);
				continue;
			}
			assert_int_equal(sscanf(d->name,
						"entry-with-a-longish-name-%d",
						&k),
					 1);
			assert_true(k >= 0 && k < n);
			assert_int_equal(seen[k], 0);
			seen[k] = 1;
			if (plus) {
				assert_int_not_equal(d->entry.nodeid, 0);
				assert_true(S_ISREG(d->entry.attr.mode));
				assert_int_equal(d->entry.attr.ino, d->ino);
				pt_ops.forget(env->fs, d->entry.nodeid, 1);
			}
		}
		ri.offset = db->ents[db->count - 1].off;
	}
	assert_int_equal(dots, 2);
	assert_int_equal(total, n + 2);
	assert_true(calls > 2); /* the small room forced several replies */
	rel.fh = oo.fh;
	assert_int_equal(pt_ops.releasedir(env->fs, &c, nodeid, &rel), 0);
	free(seen);
	free(db);
}

static void test_readdir(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_entry_out d;
	enum { N = 300 };

	make_files(env, "big", N);
	assert_int_equal(pt_ops.lookup(env->fs, &c, FUSE_ROOT_ID, "big", &d),
			 0);
	list_all(env, d.nodeid, false, N, 1000);
	list_all(env, d.nodeid, true, N, 3000);
	/* Every plus entry's reference was returned: only "big" is left
	 * besides the root. */
	pt_ops.forget(env->fs, d.nodeid, 1);
	assert_null(pt_node_get(env->fs, d.nodeid));
}

/* Restart a listing from an offset handed out earlier (seekdir). */
static void test_readdir_seek(void **state)
{
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_read_in ri = { 0 };
	struct fuse_open_out oo;
	struct fuse_entry_out d;
	struct fuse_dirbuf *db = malloc(sizeof(*db));
	char first[256];
	uint64_t mid;

	assert_non_null(db);
	make_files(env, "sk", 50);
	assert_int_equal(pt_ops.lookup(env->fs, &c, FUSE_ROOT_ID, "sk", &d), 0);
	assert_int_equal(pt_ops.opendir(env->fs, &c, d.nodeid, &oi, &oo), 0);
	ri.fh = oo.fh;
	fake_dirbuf_init(db, false, 400);
	assert_int_equal(pt_ops.readdir(env->fs, &c, d.nodeid, &ri, db), 0);
	assert_true(db->count > 2);
	mid = db->ents[1].off; /* continue after the second entry */
	snprintf(first, sizeof(first), "%s", db->ents[2].name);

	/* Read on, then go back to mid: the same entry comes again. */
	ri.offset = db->ents[db->count - 1].off;
	fake_dirbuf_init(db, false, 400);
	assert_int_equal(pt_ops.readdir(env->fs, &c, d.nodeid, &ri, db), 0);
	ri.offset = mid;
	fake_dirbuf_init(db, false, 400);
	assert_int_equal(pt_ops.readdir(env->fs, &c, d.nodeid, &ri, db), 0);
	assert_string_equal(db->ents[0].name, first);

	/* A handle of another node, or a file's handle, is refused. */
	assert_int_equal(pt_ops.readdir(env->fs, &c, FUSE_ROOT_ID, &ri, db),
			 -EBADF);
	free(db);
}

/*
 * --cache never|metadata|auto|always: entry/attr validity and open flags
 * as the reference daemon's cache=none|auto|always; O_DIRECT passed only
 * with allow_direct_io.
 */
static void test_cache_modes(void **state)
{
	static const struct {
		enum pt_cache cache;
		uint64_t valid;
		uint32_t file_flags;
		uint32_t dir_flags;
	} modes[] = {
		{ PT_CACHE_NEVER, 0, FOPEN_DIRECT_IO, 0 },
		{ PT_CACHE_METADATA, 86400, FOPEN_DIRECT_IO, 0 },
		{ PT_CACHE_AUTO, 1, 0, 0 },
		{ PT_CACHE_ALWAYS, 86400, FOPEN_KEEP_CACHE,
		  FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE },
	};
	struct env *env = *state;
	struct fuse_ctx c = ctx_of(env, 0, 0);
	struct fuse_open_in oi = { .flags = O_RDWR };
	struct fuse_release_in ri = { 0 };
	struct fuse_open_out oo;
	struct fuse_entry_out e;
	const char *msg;
	uint64_t fh;

	fh = create(env, &c, FUSE_ROOT_ID, "cached", 0644, &e);
	release(env, e.nodeid, fh);
	assert_int_equal(mkdirat(env->dfd, "cdir", 0755), 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct pt_options opts = {
			.source = env->dir,
			.cache = modes[i].cache,
			.readdirplus = -1,
		};
		struct pt_fs *fs;

		assert_int_equal(pt_new(&opts, &fs, &msg), 0);
		assert_int_equal(
			pt_ops.lookup(fs, &c, FUSE_ROOT_ID, "cached", &e), 0);
		assert_int_equal(e.entry_valid, modes[i].valid);
		assert_int_equal(e.attr_valid, modes[i].valid);
		assert_int_equal(pt_ops.open(fs, &c, e.nodeid, &oi, &oo), 0);
		assert_int_equal(oo.open_flags, modes[i].file_flags);
		ri.fh = oo.fh;
		assert_int_equal(pt_ops.release(fs, &c, e.nodeid, &ri), 0);
		assert_int_equal(
			pt_ops.lookup(fs, &c, FUSE_ROOT_ID, "cdir", &e), 0);
		assert_int_equal(pt_ops.opendir(fs, &c, e.nodeid, &oi, &oo), 0);
		assert_int_equal(oo.open_flags, modes[i].dir_flags);
		ri.fh = oo.fh;
		assert_int_equal(pt_ops.releasedir(fs, &c, e.nodeid, &ri), 0);
		/* O_DIRECT is dropped unless allowed; allowed, it also
		 * bypasses the client's page cache. */
		assert_int_equal(pt_host_open_flags(fs, O_RDWR | O_DIRECT),
				 O_RDWR);
		fs->opts.allow_direct_io = true;
		assert_int_equal(pt_host_open_flags(fs, O_RDWR | O_DIRECT),
				 O_RDWR | O_DIRECT);
		assert_true(pt_open_out_flags(fs, O_RDWR | O_DIRECT) &
			    FOPEN_DIRECT_IO);
		pt_ops.destroy(fs);
		pt_free(fs);
	}
}

/* The open that lookups and creates use cannot leave its directory,
 * whatever name reaches it (openat2 where the kernel has it). */
static void test_openat_beneath(void **state)
{
	struct env *env = *state;
	struct stat st;
	int fd;

	assert_int_equal(mkdirat(env->dfd, "d", 0755), 0);
	assert_int_equal(symlinkat("/etc", env->dfd, "abs"), 0);
	assert_int_equal(symlinkat("..", env->dfd, "up"), 0);
	fd = openat(env->dfd, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	/* ".." and absolute names: refused (EXDEV from openat2). */
	errno = 0;
	assert_int_equal(pt_openat_beneath(fd, "..", O_PATH, 0), -1);
	assert_int_not_equal(errno, 0);
	assert_int_equal(pt_openat_beneath(fd, "/etc", O_PATH, 0), -1);
	assert_int_equal(pt_openat_beneath(fd, "../d", O_PATH, 0), -1);
	close(fd);
	/* A symlink on the way is never followed, even one that stays in. */
	assert_int_equal(pt_openat_beneath(env->dfd, "abs/passwd", O_PATH, 0),
			 -1);
	assert_int_equal(pt_openat_beneath(env->dfd, "up/d", O_PATH, 0), -1);
	/* A final symlink with O_PATH|O_NOFOLLOW is the link itself. */
	fd = pt_openat_beneath(env->dfd, "abs", O_PATH | O_NOFOLLOW, 0);
	assert_true(fd >= 0);
	assert_int_equal(fstatat(fd, "", &st, AT_EMPTY_PATH), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	/* Creating through a final symlink: EEXIST, nothing made at /etc. */
	assert_int_equal(
		pt_openat_beneath(env->dfd, "abs",
				  O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0644),
		-1);
	assert_int_equal(errno, EEXIST);
	fd = pt_openat_beneath(env->dfd, "new", O_RDWR | O_CREAT | O_EXCL,
			       0600);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	close(fd);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init_flags),
		T(test_cache_modes),
		T(test_create_write_read),
		T(test_mkdir_rename_unlink),
		T(test_unlink_while_open),
		T(test_symlink_and_times),
		T(test_setattr_size_mode),
		T(test_special_files_not_opened),
		T(test_openat_beneath),
		T(test_link_shares_node),
		T(test_tmpfile),
		T(test_file_misc),
		T(test_access),
		T(test_cred_create_sgid),
		T(test_cred_chmod_sgid),
		T(test_cred_write_kills_suid),
		T(test_readdir),
		T(test_readdir_seek),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
