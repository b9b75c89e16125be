// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The passthrough file system: setup, the operations table, INIT and
 * DESTROY, and the helpers the operation files share.
 *
 * A request arrives through pt_ops from the FUSE server, already decoded
 * and with names validated. The entry turns the nodeid (and fh) into
 * referenced nodes and handles (inode.c, handle.c), performs one or two
 * *at() syscalls relative to their fds, under the requester's credentials
 * where the host must see them (cred.c), and fills the reply structure.
 * Reopening an object for I/O goes through /proc/self/fd (pt_node_open),
 * which only ever opens regular files and directories.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "../log/log.h"
#include "ops_i.h"
#include "xattrmap.h"

void pt_fdname(struct pt_fdname *n, int fd)
{
	snprintf(n->s, sizeof(n->s), "%d", fd);
}

/* Cleared when the kernel (or a container's filter) lacks openat2. */
static atomic_bool have_openat2 = true;

int pt_openat_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
		/* No symlink and no ".." on the way: a second line behind
		 * the name checks. A final symlink with O_PATH|O_NOFOLLOW
		 * still comes back as itself. */
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
	};
	long fd;

	if (atomic_load_explicit(&have_openat2, memory_order_relaxed)) {
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return fd < 0 ? -1 : (int)fd;
		atomic_store_explicit(&have_openat2, false,
				      memory_order_relaxed);
	}
	return openat(dirfd, name, flags | O_CLOEXEC, mode);
}

int pt_stat_fd(int fd, struct stat *st, uint64_t *mnt_id)
{
	return pt_stat_at(fd, "", st, mnt_id);
}

int pt_stat_at(int dirfd, const char *name, struct stat *st, uint64_t *mnt_id)
{
	struct statx stx;

	if (statx(dirfd, name,
		  (name[0] ? 0 : AT_EMPTY_PATH) | AT_SYMLINK_NOFOLLOW,
		  STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0)
		return -errno;
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	st->st_ino = stx.stx_ino;
	st->st_mode = stx.stx_mode;
	st->st_nlink = stx.stx_nlink;
	st->st_uid = stx.stx_uid;
	st->st_gid = stx.stx_gid;
	st->st_rdev = makedev(stx.stx_rdev_major, stx.stx_rdev_minor);
	st->st_size = stx.stx_size;
	st->st_blksize = stx.stx_blksize;
	st->st_blocks = stx.stx_blocks;
	st->st_atim.tv_sec = stx.stx_atime.tv_sec;
	st->st_atim.tv_nsec = stx.stx_atime.tv_nsec;
	st->st_mtim.tv_sec = stx.stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = stx.stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = stx.stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = stx.stx_ctime.tv_nsec;
	if (mnt_id)
		*mnt_id = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
	return 0;
}

void pt_fill_attr(const struct pt_fs *fs, const struct stat *st,
		  struct fuse_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->ino = st->st_ino;
	attr->size = st->st_size;
	attr->blocks = st->st_blocks;
	attr->atime = st->st_atim.tv_sec;
	attr->mtime = st->st_mtim.tv_sec;
	attr->ctime = st->st_ctim.tv_sec;
	attr->atimensec = st->st_atim.tv_nsec;
	attr->mtimensec = st->st_mtim.tv_nsec;
	attr->ctimensec = st->st_ctim.tv_nsec;
	attr->mode = st->st_mode;
	attr->nlink = st->st_nlink;
	attr->uid = st->st_uid;
	attr->gid = st->st_gid;
	if (fs->translating) {
		attr->uid = pt_idtrans_to_guest(&fs->uids, st->st_uid);
		attr->gid = pt_idtrans_to_guest(&fs->gids, st->st_gid);
	}
	attr->rdev = st->st_rdev;
	attr->blksize = st->st_blksize;
}

void pt_fill_timeout(const struct pt_fs *fs, uint64_t *sec, uint32_t *nsec)
{
	*sec = (uint64_t)fs->timeout;
	*nsec = (uint32_t)((fs->timeout - (double)*sec) * 1e9);
}

uint32_t pt_open_out_flags(const struct pt_fs *fs, int flags)
{
	uint32_t f = 0;

	switch (fs->opts.cache) {
	case PT_CACHE_NEVER:
	case PT_CACHE_METADATA:
		f |= FOPEN_DIRECT_IO;
		break;
	case PT_CACHE_AUTO:
		break;
	case PT_CACHE_ALWAYS:
		f |= FOPEN_KEEP_CACHE;
		break;
	}
	if (flags & O_DIRECT)
		f |= FOPEN_DIRECT_IO;
	return f;
}

int pt_host_open_flags(const struct pt_fs *fs, uint32_t in_flags)
{
	int flags = (int)in_flags;

	/* Creation is CREATE's business; no controlling terminals. O_PATH
	 * would make the host ignore O_CREAT, O_EXCL and O_TMPFILE (and
	 * hand out an fd that opens nothing): never from the client. */
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_PATH);
	/* O_NOATIME is for the file's owner (or CAP_FOWNER): kept only on
	 * request, as in the Rust virtiofsd, since an open that would fail
	 * with EPERM for a non-owner must not on the client's side. */
	if (!fs->opts.preserve_noatime)
		flags &= ~O_NOATIME;
	if (!fs->opts.allow_direct_io)
		flags &= ~O_DIRECT;
	/*
	 * With the writeback cache the client kernel writes back pages of a
	 * write-only file and reads around partial pages, and it computes
	 * append offsets itself.
	 */
	if (fs->writeback) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags;
}

int pt_node_open(struct pt_fs *fs, struct pt_node *node, int flags)
{
	struct pt_fdname n;
	int fd;

	/* CVE-2020-35517 class: never open devices, FIFOs or sockets. */
	if (!S_ISREG(node->type) && !S_ISDIR(node->type))
		return -EBADF;
	/* O_NOFOLLOW would refuse the magic link itself; O_PATH, O_CREAT
	 * and O_TMPFILE have no place in a reopen. */
	flags &= ~(O_NOFOLLOW | O_PATH | O_CREAT | O_EXCL |
		   (O_TMPFILE & ~O_DIRECTORY));
	flags |= O_CLOEXEC;
	pt_fdname(&n, node->fd);
	fd = openat(fs->proc_self_fd, n.s, flags);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
	    pt_nodes_shed(fs, 64))
		fd = openat(fs->proc_self_fd, n.s, flags);
	return fd < 0 ? -errno : fd;
}

uint64_t pt_handle_new(struct pt_fs *fs, struct pt_node *node, int fd,
		       int flags, bool is_dir, int *err)
{
	struct pt_handle *h = calloc(1, sizeof(*h));
	uint64_t fh;

	if (!h) {
		*err = -ENOMEM;
		goto out_close;
	}
	if (pthread_mutex_init(&h->dir_mutex, NULL)) {
		free(h);
		*err = -ENOMEM;
		goto out_close;
	}
	h->fd = fd;
	h->node = node;
	h->open_flags = flags;
	h->is_dir = is_dir;
	fh = pt_handle_add(fs, h, err);
	if (!fh) {
		/* Not in the table: undo by hand (fd and node ref). */
		pthread_mutex_destroy(&h->dir_mutex);
		free(h);
		goto out_close;
	}
	return fh;

out_close:
	close(fd);
	pt_node_put(fs, node);
	return 0;
}

/* --- INIT and DESTROY --- */

static void pt_init(void *vfs, uint64_t offered, uint64_t *want,
		    uint32_t *max_write)
{
	struct pt_fs *fs = vfs;
	uint64_t w = *want;
	bool rdplus;

	w |= FUSE_ATOMIC_O_TRUNC | FUSE_CREATE_SUPP_GROUP;
	if (fs->opts.writeback)
		w |= FUSE_WRITEBACK_CACHE;
	else
		w &= ~(uint64_t)FUSE_WRITEBACK_CACHE;
	if (fs->opts.killpriv_v2)
		w |= FUSE_HANDLE_KILLPRIV_V2;
	else
		w &= ~(uint64_t)FUSE_HANDLE_KILLPRIV_V2;
	if (fs->opts.announce_submounts)
		w |= FUSE_SUBMOUNTS;
	/* Files opened with FOPEN_DIRECT_IO (cache never or metadata, or
	 * O_DIRECT) may then be mapped shared; the page cache the client
	 * keeps for the mapping is its own business, as in the peers. */
	/* A host mount whose kernel offers FUSE passthrough: the client
	 * reads and writes regular files itself (ops_file.c). Not with the
	 * writeback cache, which would keep its own copy of the pages. */
	if (!fs->opts.writeback)
		w |= FUSE_PASSTHROUGH;
	else
		w &= ~(uint64_t)FUSE_PASSTHROUGH;
	if (fs->opts.allow_mmap)
		w |= FUSE_DIRECT_IO_ALLOW_MMAP;
	else
		w &= ~(uint64_t)FUSE_DIRECT_IO_ALLOW_MMAP;
	/* ACLs: the client checks them (it turns default_permissions on)
	 * and sends each create's umask apart, so that the host applies a
	 * parent's default ACL instead where it has one. */
	if (fs->opts.posix_acl)
		w |= FUSE_POSIX_ACL | FUSE_DONT_MASK;
	else
		w &= ~(uint64_t)(FUSE_POSIX_ACL | FUSE_DONT_MASK);
	/* Labels: creating requests carry the client LSM's context. */
	if (fs->opts.security_label)
		w |= FUSE_SECURITY_CTX;
	else
		w &= ~(uint64_t)FUSE_SECURITY_CTX;
	if (fs->opts.readdirplus < 0)
		rdplus = fs->opts.cache != PT_CACHE_NEVER;
	else
		rdplus = fs->opts.readdirplus != 0;
	if (rdplus)
		w |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
	else
		w &= ~(uint64_t)(FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO);
	/* The locks (ops_lock.c) and xattrs (ops_xattr.c) decide their own
	 * bits; the server keeps what it chose for them in *want. */
	w &= offered;
	*want = w;
	pt_apply_conn(fs, w);
}

void pt_apply_conn(struct pt_fs *fs, uint64_t flags)
{
	fs->writeback = flags & FUSE_WRITEBACK_CACHE;
	fs->killpriv_v1 = flags & FUSE_HANDLE_KILLPRIV;
	fs->killpriv_v2 = flags & FUSE_HANDLE_KILLPRIV_V2;
	fs->dont_mask = flags & FUSE_DONT_MASK;
	__atomic_store_n(&fs->passthrough, (flags & FUSE_PASSTHROUGH) != 0,
			 __ATOMIC_RELAXED);
}

static void pt_destroy(void *vfs)
{
	struct pt_fs *fs = vfs;

	pt_lock_pending_stop(fs);
	pt_handles_clear(fs);
	pt_nodes_clear(fs);
}

static int pt_map_ctx(void *vfs, struct fuse_ctx *ctx);

const struct fuse_fs_ops pt_ops = {
	.init = pt_init,
	.destroy = pt_destroy,
	.map_ctx = pt_map_ctx,
	.lookup = pt_op_lookup,
	.forget = pt_op_forget,
	.getattr = pt_op_getattr,
	.setattr = pt_op_setattr,
	.readlink = pt_op_readlink,
	.symlink = pt_op_symlink,
	.mknod = pt_op_mknod,
	.mkdir = pt_op_mkdir,
	.unlink = pt_op_unlink,
	.rmdir = pt_op_rmdir,
	.rename = pt_op_rename,
	.link = pt_op_link,
	.open = pt_op_open,
	.read = pt_op_read,
	.write = pt_op_write,
	.statfs = pt_op_statfs,
	.release = pt_op_release,
	.fsync = pt_op_fsync,
	.setxattr = pt_setxattr,
	.getxattr = pt_getxattr,
	.listxattr = pt_listxattr,
	.removexattr = pt_removexattr,
	.flush = pt_op_flush,
	.opendir = pt_op_opendir,
	.readdir = pt_op_readdir,
	.releasedir = pt_op_releasedir,
	.fsyncdir = pt_op_fsync, /* the same call on a directory fd */
	.getlk = pt_getlk,
	.setlk = pt_setlk,
	.access = pt_op_access,
	.create = pt_op_create,
	.fallocate = pt_op_fallocate,
	.copy_file_range = pt_op_copy_file_range,
	.lseek = pt_op_lseek,
	.syncfs = pt_op_syncfs,
	.tmpfile = pt_op_tmpfile,
	.state_save = pt_state_save,
	.state_load = pt_state_load,
};

/* --- setup --- */

static double cache_timeout(enum pt_cache cache)
{
	switch (cache) {
	case PT_CACHE_NEVER:
		return 0.0;
	case PT_CACHE_AUTO:
		return 1.0;
	case PT_CACHE_METADATA:
	case PT_CACHE_ALWAYS:
		break;
	}
	return 86400.0;
}

int pt_new(const struct pt_options *opts, struct pt_fs **out, const char **msg)
{
	struct pt_fs *fs;
	struct pt_node *root;
	struct stat st;
	uint64_t mnt_id;
	const char *dummy;
	int fd;
	int ret;

	if (!msg)
		msg = &dummy;
	if (!opts->source) {
		*msg = "no shared directory given";
		return -EINVAL;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		*msg = "out of memory";
		return -ENOMEM;
	}
	fs->opts = *opts;
	pthread_mutex_init(&fs->backing_lock, NULL);
	pt_bounce_probe(fs);
	fs->opts.source = strdup(opts->source);
	if (!fs->opts.source) {
		free(fs);
		*msg = "out of memory";
		return -ENOMEM;
	}
	fs->proc_self_fd = -1;
	fs->timeout = cache_timeout(opts->cache);
	if (opts->xattrmap) {
		char why[256];

		/* main() has shown the operator what is wrong with it. */
		ret = pt_xattrmap_parse(opts->xattrmap, &fs->xattrmap, why,
					sizeof(why));
		if (ret) {
			*msg = "--xattrmap";
			free((char *)fs->opts.source);
			free(fs);
			return ret;
		}
	}
	fs->opts.xattrmap = NULL; /* the caller's string; parsed above */
	ret = pt_translate_parse(opts, &fs->uids, &fs->gids, NULL, 0);
	if (ret) {
		*msg = "--translate-uid/--translate-gid";
		pt_xattrmap_free(fs->xattrmap);
		free((char *)fs->opts.source);
		free(fs);
		return ret;
	}
	fs->translating =
		pt_idtrans_active(&fs->uids) || pt_idtrans_active(&fs->gids);
	fs->opts.translate_uid = fs->opts.translate_gid = NULL;
	fs->opts.translate_uid_count = fs->opts.translate_gid_count = 0;

	/* Set-up paths (ours and the operator's, never the guest's) are the
	 * only ones resolved from the current directory. */
	fs->proc_self_fd = openat(AT_FDCWD, "/proc/self/fd",
				  O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->proc_self_fd < 0) {
		ret = -errno;
		*msg = "open /proc/self/fd";
		goto out_free;
	}
	ret = pt_nodes_new(&fs->nodes);
	if (ret) {
		*msg = "node table";
		goto out_proc;
	}
	ret = pt_handles_new(&fs->handles);
	if (ret) {
		*msg = "handle table";
		goto out_nodes;
	}
	/* The operator's path, not the guest's: following links is fine. */
	fd = openat(AT_FDCWD, opts->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		*msg = "open the shared directory";
		goto out_handles;
	}
	ret = pt_stat_fd(fd, &st, &mnt_id);
	if (ret) {
		close(fd);
		*msg = "stat the shared directory";
		goto out_handles;
	}
	root = pt_node_add(fs, fd, &st, mnt_id, &ret);
	if (!root) {
		*msg = "root node";
		goto out_handles;
	}
	if (root->nodeid != FUSE_ROOT_ID) {
		ret = -EINVAL; /* NEVER: the table starts empty */
		*msg = "root node id";
		goto out_handles;
	}
	fs->root = root;
	pt_node_put(fs, root); /* keeps its lookup reference forever */
	*out = fs;
	return 0;

out_handles:
	pt_handles_free(fs->handles);
out_nodes:
	pt_nodes_free(fs->nodes);
out_proc:
	close(fs->proc_self_fd);
out_free:
	pt_idtrans_free(&fs->uids);
	pt_idtrans_free(&fs->gids);
	pt_xattrmap_free(fs->xattrmap);
	free((char *)fs->opts.source);
	free(fs);
	return ret;
}

/* Entries of /proc/self/fd other than the one listing it, or -errno. */
static int64_t count_open_fds(struct pt_fs *fs)
{
	union {
		char b[4096];
		struct dirent64 align;
	} buf;
	int64_t n = 0;
	ssize_t got;
	int dfd;

	dfd = openat(fs->proc_self_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	while ((got = getdents64(dfd, buf.b, sizeof(buf.b))) > 0) {
		for (ssize_t off = 0; off < got;) {
			const struct dirent64 *d =
				(const struct dirent64 *)(buf.b + off);

			if (d->d_name[0] != '.')
				n++;
			off += d->d_reclen;
		}
	}
	if (got < 0)
		n = -errno;
	close(dfd);
	return n > 0 ? n - 1 : n;
}

void pt_stats(struct pt_fs *fs, struct pt_stats *st)
{
	st->nodes = pt_nodes_count(fs);
	st->handles = pt_handles_count(fs);
	st->open_fds = count_open_fds(fs);
}

int pt_set_proc_self_fd(struct pt_fs *fs, int proc_self_fd)
{
	if (fchdir(proc_self_fd) < 0) {
		int ret = -errno;

		close(proc_self_fd);
		return ret;
	}
	close(fs->proc_self_fd);
	fs->proc_self_fd = proc_self_fd;
	fs->proc_is_cwd = true;
	return 0;
}

int pt_set_root_fd(struct pt_fs *fs, int root_fd)
{
	/* Set by pt_stat_fd(); initialised for gcc -O3. */
	struct stat st = { 0 };
	uint64_t mnt_id = 0;
	int ret;

	if (root_fd < 0)
		return -EBADF;
	ret = pt_stat_fd(root_fd, &st, &mnt_id);
	if (!ret && (st.st_dev != fs->root->dev || st.st_ino != fs->root->ino))
		ret = -EXDEV;
	if (ret) {
		close(root_fd);
		return ret;
	}
	pt_node_rebind(fs, fs->root, root_fd, mnt_id);
	return 0;
}

void pt_free(struct pt_fs *fs)
{
	if (!fs)
		return;
	pthread_mutex_destroy(&fs->backing_lock);
	pt_lock_retry_free(fs);
	pt_handles_clear(fs);
	pt_handles_free(fs->handles);
	pt_nodes_free(fs->nodes);
	close(fs->proc_self_fd);
	pt_idtrans_free(&fs->uids);
	pt_idtrans_free(&fs->gids);
	pt_xattrmap_free(fs->xattrmap);
	free((char *)fs->opts.source);
	free(fs);
}

int pt_translate_parse(const struct pt_options *opts, struct pt_idtrans *uids,
		       struct pt_idtrans *gids, char *why, size_t whylen)
{
	char dummy[8];
	int ret = 0;

	memset(uids, 0, sizeof(*uids));
	memset(gids, 0, sizeof(*gids));
	if (!why) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	for (unsigned int i = 0; !ret && i < opts->translate_uid_count; i++)
		ret = pt_idtrans_add(uids, opts->translate_uid[i], why, whylen);
	for (unsigned int i = 0; !ret && i < opts->translate_gid_count; i++)
		ret = pt_idtrans_add(gids, opts->translate_gid[i], why, whylen);
	if (ret) {
		pt_idtrans_free(uids);
		pt_idtrans_free(gids);
	}
	return ret;
}

/* The guest's ids of a request as the host's (--translate-*): all or
 * nothing, so that a refused request leaves @ctx as it was. */
static int pt_map_ctx(void *vfs, struct fuse_ctx *ctx)
{
	struct pt_fs *fs = vfs;
	uint32_t uid, gid, supp = ctx->supp_gid;

	if (!fs->translating)
		return 0;
	if (pt_idtrans_to_host(&fs->uids, ctx->uid, &uid) ||
	    pt_idtrans_to_host(&fs->gids, ctx->gid, &gid) ||
	    (ctx->has_supp_gid &&
	     pt_idtrans_to_host(&fs->gids, ctx->supp_gid, &supp)))
		return -EPERM;
	ctx->uid = uid;
	ctx->gid = gid;
	ctx->supp_gid = supp;
	return 0;
}
