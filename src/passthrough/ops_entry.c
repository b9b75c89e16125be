// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Operations on names and attributes: LOOKUP, FORGET, GETATTR, SETATTR,
 * READLINK, SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR, RENAME(2), LINK, STATFS
 * and ACCESS.
 *
 * Each takes its nodes with pt_node_get(), performs one *at() syscall
 * relative to the parent's O_PATH fd (or the node's own fd), and for the
 * requests that create an object, does so under the requester's
 * credentials and then looks the new name up like LOOKUP to fill the
 * entry reply (one lookup reference taken).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "ops_i.h"

/* Fill @e for @node, described by @st. */
static void fill_entry(struct pt_fs *fs, struct pt_node *parent,
		       struct pt_node *node, const struct stat *st,
		       struct fuse_entry_out *e)
{
	memset(e, 0, sizeof(*e));
	e->nodeid = node->nodeid;
	e->generation = node->generation;
	pt_fill_attr(fs, st, &e->attr);
	pt_fill_timeout(fs, &e->entry_valid, &e->entry_valid_nsec);
	pt_fill_timeout(fs, &e->attr_valid, &e->attr_valid_nsec);
	/* A mount point inside the share: let the client make it a
	 * submount with its own st_dev. */
	if (fs->opts.announce_submounts && parent && S_ISDIR(st->st_mode) &&
	    (node->mnt_id != parent->mnt_id || node->dev != parent->dev))
		e->attr.flags |= FUSE_ATTR_SUBMOUNT;
}

int pt_entry_from_fd(struct pt_fs *fs, struct pt_node *parent, int fd,
		     struct fuse_entry_out *e, struct pt_node **nodep)
{
	struct pt_node *node;
	struct stat st;
	uint64_t mnt_id;
	int ret;

	ret = pt_stat_fd(fd, &st, &mnt_id);
	if (ret) {
		close(fd);
		return ret;
	}
	node = pt_node_add(fs, fd, &st, mnt_id, &ret);
	if (!node)
		return ret;
	fill_entry(fs, parent, node, &st, e);
	if (nodep)
		*nodep = node;
	else
		pt_node_put(fs, node);
	return 0;
}

/*
 * Answer a LOOKUP of @name from a statx of the name when the node table
 * holds the object already: 0 with *e filled, -ENOENT when there is no
 * such name, -EAGAIN otherwise (open it). Used first for every lookup,
 * and again when out of fds (@by_handle: an evicted node is then found by
 * its handle, which needs no fd; without this a client at the fd limit
 * could not even revalidate the names it knows).
 */
static int lookup_known(struct pt_fs *fs, struct pt_node *parent,
			const char *name, struct fuse_entry_out *e,
			bool by_handle)
{
	struct pt_node *node;
	struct pt_fhbuf fh;
	struct stat st;
	uint64_t mnt_id;
	int ret;

	ret = pt_stat_at(parent->fd, name, &st, &mnt_id);
	if (ret)
		return ret == -ENOENT ? ret : -EAGAIN;
	/* The handle tells an evicted node from a new file that reuses its
	 * inode number. */
	if (by_handle && pt_fh_of(fs, parent->fd, name, &fh) == 0)
		node = pt_node_find_fh(fs, &st, mnt_id, &fh);
	else
		node = pt_node_find(fs, &st, mnt_id);
	if (!node)
		return -EAGAIN;
	fill_entry(fs, parent, node, &st, e);
	pt_node_put(fs, node);
	return 0;
}

int pt_do_lookup(struct pt_fs *fs, struct pt_node *parent, const char *name,
		 struct fuse_entry_out *e)
{
	int fd, ret;

	/* The server refuses these already; ".." at the root would leave
	 * the share, so do not rely on it. */
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	/* Most lookups name an object the table holds already (the client
	 * revalidating a name) or nothing: one statx of the name answers
	 * both, without opening it. A known node is trusted only while its
	 * fd pins the inode (pt_node_find()); anything else is opened. */
	ret = lookup_known(fs, parent, name, e, false);
	if (ret != -EAGAIN)
		return ret;
	fd = pt_openat_beneath(parent->fd, name, O_PATH | O_NOFOLLOW, 0);
	/* Out of fds: close cached ones that handles can reopen, once. */
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
	    pt_nodes_shed(fs, 64))
		fd = pt_openat_beneath(parent->fd, name, O_PATH | O_NOFOLLOW,
				       0);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
		ret = -errno;
		return lookup_known(fs, parent, name, e, true) == 0 ? 0 : ret;
	}
	if (fd < 0)
		return -errno;
	return pt_entry_from_fd(fs, parent, fd, e, NULL);
}

int pt_op_lookup(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		 const char *name, struct fuse_entry_out *e)
{
	struct pt_fs *fs = vfs;
	struct pt_node *dir = pt_node_get(fs, parent);
	int ret;

	if (!dir)
		return -ENOENT;
	ret = pt_do_lookup(fs, dir, name, e);
	pt_node_put(fs, dir);
	return ret;
}

void pt_op_forget(void *vfs, uint64_t nodeid, uint64_t nlookup)
{
	pt_node_forget(vfs, nodeid, nlookup);
}

static int reply_attr(struct pt_fs *fs, int fd, struct fuse_attr_out *out)
{
	struct stat st;
	int ret = pt_stat_fd(fd, &st, NULL);

	if (ret)
		return ret;
	memset(out, 0, sizeof(*out));
	pt_fill_attr(fs, &st, &out->attr);
	pt_fill_timeout(fs, &out->attr_valid, &out->attr_valid_nsec);
	return 0;
}

int pt_op_getattr(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_getattr_in *in, struct fuse_attr_out *out)
{
	struct pt_fs *fs = vfs;
	struct pt_node *node;
	struct pt_handle *h;
	int ret;

	if (in && (in->getattr_flags & FUSE_GETATTR_FH)) {
		h = pt_handle_get_node(fs, in->fh, nodeid);
		if (!h)
			return -EBADF;
		ret = reply_attr(fs, h->fd, out);
		pt_handle_put(fs, h);
		return ret;
	}
	node = pt_node_get(fs, nodeid);
	if (!node)
		return -ENOENT;
	ret = reply_attr(fs, node->fd, out);
	pt_node_put(fs, node);
	return ret;
}

static int set_times(struct pt_fs *fs, struct pt_node *node,
		     const struct fuse_setattr_in *in)
{
	struct timespec ts[2] = {
		{ .tv_nsec = UTIME_OMIT },
		{ .tv_nsec = UTIME_OMIT },
	};
	struct pt_fdname n;

	if (in->valid & FATTR_ATIME_NOW) {
		ts[0].tv_nsec = UTIME_NOW;
	} else if (in->valid & FATTR_ATIME) {
		if (in->atimensec >= 1000000000 || in->atime > INT64_MAX)
			return -EINVAL;
		ts[0].tv_sec = in->atime;
		ts[0].tv_nsec = in->atimensec;
	}
	if (in->valid & FATTR_MTIME_NOW) {
		ts[1].tv_nsec = UTIME_NOW;
	} else if (in->valid & FATTR_MTIME) {
		if (in->mtimensec >= 1000000000 || in->mtime > INT64_MAX)
			return -EINVAL;
		ts[1].tv_sec = in->mtime;
		ts[1].tv_nsec = in->mtimensec;
	}
	/* Linux 5.8+ takes AT_EMPTY_PATH on an O_PATH fd, symlinks too. */
	if (utimensat(node->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ==
	    0)
		return 0;
	if (errno != EINVAL || S_ISLNK(node->type))
		return -errno;
	/* Older kernels: through the magic link (not for symlinks, which
	 * the link would follow). */
	pt_fdname(&n, node->fd);
	if (utimensat(fs->proc_self_fd, n.s, ts, 0) < 0)
		return -errno;
	return 0;
}

static int set_size(struct pt_fs *fs, struct pt_node *node, struct pt_handle *h,
		    const struct fuse_setattr_in *in, bool fsetid_dropped)
{
	bool dropped = false;
	int fd;
	int ret;

	if (in->size > INT64_MAX)
		return -EFBIG;
	if (h) {
		fd = h->fd;
	} else {
		if (S_ISDIR(node->type))
			return -EISDIR;
		if (!S_ISREG(node->type))
			return -EINVAL;
		fd = pt_node_open(fs, node, O_WRONLY);
		if (fd < 0)
			return fd;
	}
	/* killpriv_v2: the client asks the host to clear set-ID bits as
	 * for an unprivileged local truncate. */
	ret = 0;
	if ((in->valid & FATTR_KILL_SUIDGID) && !fsetid_dropped)
		ret = pt_cap_fsetid_drop(&dropped);
	if (!ret && ftruncate(fd, (off_t)in->size) < 0)
		ret = -errno;
	pt_cap_fsetid_restore(dropped);
	if (!h)
		close(fd);
	return ret;
}

/*
 * The chmod(2) and chown(2) rules that depend on the requester's uid
 * alone, for a requester other than root: mode and owner are applied with
 * the daemon's CAP_FOWNER and CAP_CHOWN, which a local user of that uid
 * would not have. Only the owner changes the mode or the group; nobody
 * gives a file away. Clearing set-ID bits and nothing else is left to
 * anyone (a client without killpriv clears them that way on a write by a
 * non-owner). Whether the owner is in the new group stays the client's
 * check: the daemon does not have the requester's groups. A daemon that
 * is not root acts as itself for everyone and has nothing to bypass.
 */
static int setattr_may(const struct fuse_ctx *ctx, int fd,
		       const struct fuse_setattr_in *in)
{
	const mode_t setid = S_ISUID | S_ISGID;
	struct stat st;
	int ret;

	if (ctx->uid == 0 || geteuid() != 0 ||
	    !(in->valid & (FATTR_MODE | FATTR_UID | FATTR_GID)))
		return 0;
	ret = pt_stat_fd(fd, &st, NULL);
	if (ret)
		return ret;
	if ((in->valid & FATTR_UID) && in->uid != st.st_uid)
		return -EPERM;
	if (st.st_uid == ctx->uid)
		return 0;
	if (in->valid & (FATTR_UID | FATTR_GID))
		return -EPERM;
	if ((in->valid & FATTR_MODE) &&
	    (((in->mode ^ st.st_mode) & 07777 & ~setid) ||
	     (in->mode & ~st.st_mode & setid)))
		return -EPERM;
	return 0;
}

/* The SETATTR bits that change something. */
#define PT_FATTR_CHANGES                                                 \
	(FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE | FATTR_ATIME | \
	 FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)

int pt_op_setattr(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_setattr_in *in, struct fuse_attr_out *out)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h = NULL;
	struct pt_node *node;
	struct pt_cred cred;
	struct pt_fdname n;
	struct fuse_setattr_in tin;
	uint32_t valid = in->valid;
	int ret;

	if (fs->opts.readonly)
		return -EROFS;
	/* The new owner the guest names, as the host's ids. */
	if (fs->translating && (valid & (FATTR_UID | FATTR_GID))) {
		tin = *in;
		if (((valid & FATTR_UID) &&
		     pt_idtrans_to_host(&fs->uids, in->uid, &tin.uid)) ||
		    ((valid & FATTR_GID) &&
		     pt_idtrans_to_host(&fs->gids, in->gid, &tin.gid)))
			return -EPERM;
		in = &tin;
	}

	node = pt_node_get(fs, nodeid);
	if (!node)
		return -ENOENT;
	ret = setattr_may(ctx, node->fd, in);
	if (ret)
		goto out_node;
	if (valid & FATTR_FH) {
		h = pt_handle_get_node(fs, in->fh, nodeid);
		if (!h) {
			ret = -EBADF;
			goto out_node;
		}
	}
	/*
	 * The mode is applied as the daemon: with default_permissions the
	 * client has already dropped S_ISGID for a caller outside the file's
	 * group, judging by the caller's full group list, which the daemon
	 * does not have (only the requester's own gid).
	 */
	if (valid & FATTR_MODE) {
		mode_t mode = in->mode & 07777;

		if (h) {
			ret = fchmod(h->fd, mode);
		} else if (S_ISLNK(node->type)) {
			errno = EOPNOTSUPP; /* as the host's lchmod */
			ret = -1;
		} else {
			pt_fdname(&n, node->fd);
			ret = fchmodat(fs->proc_self_fd, n.s, mode, 0);
		}
		if (ret < 0) {
			ret = -errno;
			goto out_handle;
		}
	}
	ret = pt_cred_enter(ctx, &cred);
	if (ret)
		goto out_handle;

	if (valid & (FATTR_UID | FATTR_GID)) {
		uid_t uid = (valid & FATTR_UID) ? in->uid : (uid_t)-1;
		gid_t gid = (valid & FATTR_GID) ? in->gid : (gid_t)-1;

		if (fchownat(node->fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			ret = -errno;
			goto out_cred;
		}
	}
	if (valid & FATTR_SIZE) {
		ret = set_size(fs, node, h, in, cred.cap_dropped);
		if (ret)
			goto out_cred;
	}
	if (valid &
	    (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
		ret = set_times(fs, node, in);
		if (ret)
			goto out_cred;
	}
	/*
	 * With killpriv negotiated, the client turns the set-ID clearing of
	 * chown(f, -1, -1) (and of an unprivileged write under killpriv v1)
	 * into a SETATTR that changes nothing and leaves the clearing to us:
	 * the same call on the host, as the requester, clears what the host
	 * would. FATTR_CTIME: the host sets ctime itself.
	 */
	if (!(valid & PT_FATTR_CHANGES) && S_ISREG(node->type) &&
	    (fs->killpriv_v1 || fs->killpriv_v2) &&
	    fchownat(node->fd, "", (uid_t)-1, (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		ret = -errno;
		goto out_cred;
	}
	ret = 0;
out_cred:
	pt_cred_leave(&cred);
	if (!ret && (valid & (FATTR_UID | FATTR_GID | FATTR_SIZE)))
		pt_xattr_drop_mapped_caps(fs, node);
	if (!ret)
		ret = reply_attr(fs, node->fd, out);
out_handle:
	pt_handle_put(fs, h);
out_node:
	pt_node_put(fs, node);
	return ret;
}

ssize_t pt_op_readlink(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		       char *buf, size_t size)
{
	struct pt_fs *fs = vfs;
	struct pt_node *node = pt_node_get(fs, nodeid);
	ssize_t len;

	if (!node)
		return -ENOENT;
	len = readlinkat(node->fd, "", buf, size);
	if (len < 0)
		len = -errno;
	pt_node_put(fs, node);
	return len;
}

/* The shape of every creating request: enter the requester's identity,
 * make the object, leave, then look the name up for the reply. */
enum make_kind { MAKE_NOD, MAKE_DIR, MAKE_SYMLINK };

static int make_node(struct pt_fs *fs, const struct fuse_ctx *ctx,
		     uint64_t parent, const char *name, enum make_kind kind,
		     mode_t mode, uint32_t mask, dev_t rdev, const char *target,
		     struct fuse_entry_out *e)
{
	struct pt_node *dir;
	struct pt_cred cred;
	bool label_failed = false;
	mode_t old_mask;
	int ret;

	if (fs->opts.readonly)
		return -EROFS;
	dir = pt_node_get(fs, parent);
	if (!dir)
		return -ENOENT;
	ret = pt_cred_enter(ctx, &cred);
	if (ret)
		goto out_dir;
	old_mask = pt_umask_enter(fs->dont_mask && kind != MAKE_SYMLINK, mask,
				  &mode);
	switch (kind) {
	case MAKE_NOD:
		ret = mknodat(dir->fd, name, mode, rdev);
		break;
	case MAKE_DIR:
		ret = mkdirat(dir->fd, name, mode);
		break;
	case MAKE_SYMLINK:
		ret = symlinkat(target, dir->fd, name);
		break;
	}
	if (ret < 0)
		ret = -errno;
	pt_umask_leave(old_mask);
	if (!ret) {
		ret = pt_secctx_set(fs, ctx, dir, name, -1);
		label_failed = ret != 0;
	}
	pt_cred_leave(&cred);
	/* A label the host refuses: the object goes, the request fails. */
	if (label_failed)
		unlinkat(dir->fd, name, kind == MAKE_DIR ? AT_REMOVEDIR : 0);
	if (!ret)
		ret = pt_do_lookup(fs, dir, name, e);
out_dir:
	pt_node_put(fs, dir);
	return ret;
}

int pt_op_symlink(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		  const char *name, const char *target,
		  struct fuse_entry_out *e)
{
	return make_node(vfs, ctx, parent, name, MAKE_SYMLINK, 0, 0, 0, target,
			 e);
}

int pt_op_mknod(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		const char *name, const struct fuse_mknod_in *in,
		struct fuse_entry_out *e)
{
	/* in->mode is masked by the client's umask unless FUSE_DONT_MASK
	 * was negotiated; in->rdev is the kernel's 32-bit encoding, which
	 * is what mknodat() takes. */
	return make_node(vfs, ctx, parent, name, MAKE_NOD, in->mode, in->umask,
			 in->rdev, NULL, e);
}

int pt_op_mkdir(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		const char *name, const struct fuse_mkdir_in *in,
		struct fuse_entry_out *e)
{
	return make_node(vfs, ctx, parent, name, MAKE_DIR, in->mode, in->umask,
			 0, NULL, e);
}

static int remove_name(struct pt_fs *fs, uint64_t parent, const char *name,
		       int flags)
{
	struct pt_node *dir;
	int ret = 0;

	if (fs->opts.readonly)
		return -EROFS;
	dir = pt_node_get(fs, parent);
	if (!dir)
		return -ENOENT;
	if (unlinkat(dir->fd, name, flags) < 0)
		ret = -errno;
	pt_node_put(fs, dir);
	return ret;
}

int pt_op_unlink(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		 const char *name)
{
	return remove_name(vfs, parent, name, 0);
}

int pt_op_rmdir(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		const char *name)
{
	return remove_name(vfs, parent, name, AT_REMOVEDIR);
}

int pt_op_rename(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		 const char *name, uint64_t newparent, const char *newname,
		 uint32_t flags)
{
	struct pt_fs *fs = vfs;
	struct pt_node *olddir;
	struct pt_node *newdir;
	struct pt_cred cred;
	int ret = 0;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if (fs->opts.readonly)
		return -EROFS;
	olddir = pt_node_get(fs, parent);
	if (!olddir)
		return -ENOENT;
	newdir = pt_node_get(fs, newparent);
	if (!newdir) {
		ret = -ENOENT;
		goto out_olddir;
	}
	/* A whiteout is a new object: it belongs to the requester. */
	if (flags & RENAME_WHITEOUT) {
		ret = pt_cred_enter(ctx, &cred);
		if (ret)
			goto out_newdir;
	}
	if (renameat2(olddir->fd, name, newdir->fd, newname, flags) < 0)
		ret = -errno;
	if (flags & RENAME_WHITEOUT)
		pt_cred_leave(&cred);
out_newdir:
	pt_node_put(fs, newdir);
out_olddir:
	pt_node_put(fs, olddir);
	return ret;
}

int pt_op_link(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
	       uint64_t newparent, const char *newname,
	       struct fuse_entry_out *e)
{
	struct pt_fs *fs = vfs;
	struct pt_node *node;
	struct pt_node *dir;
	struct pt_cred cred;
	struct pt_fdname n;
	int ret;

	if (fs->opts.readonly)
		return -EROFS;
	node = pt_node_get(fs, nodeid);
	if (!node)
		return -ENOENT;
	dir = pt_node_get(fs, newparent);
	if (!dir) {
		ret = -ENOENT;
		goto out_node;
	}
	ret = pt_cred_enter(ctx, &cred);
	if (ret)
		goto out_dir;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the magic link does not
	 * (and links the object itself, even a symlink). */
	ret = linkat(node->fd, "", dir->fd, newname, AT_EMPTY_PATH);
	if (ret < 0 && errno == ENOENT) {
		pt_fdname(&n, node->fd);
		ret = linkat(fs->proc_self_fd, n.s, dir->fd, newname,
			     AT_SYMLINK_FOLLOW);
	}
	if (ret < 0)
		ret = -errno;
	pt_cred_leave(&cred);
	if (!ret)
		ret = pt_do_lookup(fs, dir, newname, e);
out_dir:
	pt_node_put(fs, dir);
out_node:
	pt_node_put(fs, node);
	return ret;
}

int pt_op_statfs(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		 struct fuse_kstatfs *st)
{
	struct pt_fs *fs = vfs;
	struct pt_node *node = pt_node_get(fs, nodeid);
	struct statfs s;
	int ret = 0;

	if (!node)
		return -ENOENT;
	if (fstatfs(node->fd, &s) < 0) {
		ret = -errno;
		goto out_node;
	}
	memset(st, 0, sizeof(*st));
	st->blocks = s.f_blocks;
	st->bfree = s.f_bfree;
	st->bavail = s.f_bavail;
	st->files = s.f_files;
	st->ffree = s.f_ffree;
	st->bsize = s.f_bsize;
	st->namelen = s.f_namelen;
	st->frsize = s.f_frsize;
out_node:
	pt_node_put(fs, node);
	return ret;
}

int pt_op_access(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		 uint32_t mask)
{
	struct pt_fs *fs = vfs;
	struct pt_node *node = pt_node_get(fs, nodeid);
	struct stat st;
	mode_t bits;
	int ret;

	if (!node)
		return -ENOENT;
	ret = pt_stat_fd(node->fd, &st, NULL);
	pt_node_put(fs, node);
	if (ret)
		return ret;
	mask &= R_OK | W_OK | X_OK;
	if (ctx->uid == 0) {
		/* Root may read and write anything, and execute what has
		 * an execute bit somewhere (or search a directory). */
		if ((mask & X_OK) && !S_ISDIR(st.st_mode) &&
		    !(st.st_mode & 0111))
			return -EACCES;
		return 0;
	}
	if (ctx->uid == st.st_uid)
		bits = (st.st_mode >> 6) & 7;
	else if (ctx->gid == st.st_gid ||
		 (ctx->has_supp_gid && ctx->supp_gid == st.st_gid))
		bits = (st.st_mode >> 3) & 7;
	else
		bits = st.st_mode & 7;
	return (mask & ~bits) ? -EACCES : 0;
}
