/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by passthrough.c and the operation files ops_entry.c, ops_file.c
 * and ops_dir.c only: the entries they put into pt_ops and the helpers
 * they have in common.
 */
#ifndef VFSD_PASSTHROUGH_OPS_I_H
#define VFSD_PASSTHROUGH_OPS_I_H

#include "passthrough_i.h"

/* passthrough.c */

/* "N" for fd N, the name of its magic link under fs->proc_self_fd. */
struct pt_fdname {
	char s[16];
};
void pt_fdname(struct pt_fdname *n, int fd);
/*
 * openat() of the single name @name in @dirfd that cannot leave @dirfd:
 * with openat2's RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel
 * has it (Linux 5.6), plain openat() otherwise. O_CLOEXEC is added.
 * Returns the fd, or -1 with errno set.
 */
int pt_openat_beneath(int dirfd, const char *name, int flags, mode_t mode);
/* statx of an O_PATH (or any) fd, not following a final symlink. */
int pt_stat_fd(int fd, struct stat *st, uint64_t *mnt_id);
/* The same for @name relative to @dirfd, not following a final symlink. */
int pt_stat_at(int dirfd, const char *name, struct stat *st, uint64_t *mnt_id);
void pt_fill_attr(const struct pt_fs *fs, const struct stat *st,
		  struct fuse_attr *attr);
void pt_fill_timeout(const struct pt_fs *fs, uint64_t *sec, uint32_t *nsec);
/* FOPEN_* flags for a file handle opened with host flags @flags. */
uint32_t pt_open_out_flags(const struct pt_fs *fs, int flags);
/* Host open flags for a client's OPEN/CREATE flags. */
int pt_host_open_flags(const struct pt_fs *fs, uint32_t flags);
/* Allocate a handle for @fd on @node; takes over @fd and the caller's
 * reference on @node (both released on failure). Returns fh or 0. */
uint64_t pt_handle_new(struct pt_fs *fs, struct pt_node *node, int fd,
		       int flags, bool is_dir, int *err);

/* ops_xattr.c */

/* The host's name for the guest's xattr @name: @name itself without
 * --xattrmap, else mapped into @buf of @len bytes. 0, -EPERM, -EOPNOTSUPP
 * or -ERANGE (xattrmap.h). */
int pt_xattr_host_name(const struct pt_fs *fs, const char *name, char *buf,
		       size_t len, const char **host);
/*
 * --security-label: set the security context a creating request carries
 * (ctx->secctx_name, under "security.", through the xattr map) on the
 * object just made: @fd when the caller holds an open fd of it, else
 * @name in @dir, not followed. Runs with the requester's credentials.
 * 0 when there is none to set, or -errno: the caller then removes the
 * object and fails the request.
 */
int pt_secctx_set(struct pt_fs *fs, const struct fuse_ctx *ctx,
		  const struct pt_node *dir, const char *name, int fd);
/* After a chown or truncate of @node: drop the mapped form of
 * security.capability, as the host drops the real one. */
void pt_xattr_drop_mapped_caps(struct pt_fs *fs, struct pt_node *node);

/* ops_entry.c */

/* Look @name up in @parent: a new lookup reference on its node and @e
 * filled. Returns 0 or -errno. */
int pt_do_lookup(struct pt_fs *fs, struct pt_node *parent, const char *name,
		 struct fuse_entry_out *e);
/* Fill @e for an object already held as the O_PATH fd @fd (consumed). */
int pt_entry_from_fd(struct pt_fs *fs, struct pt_node *parent, int fd,
		     struct fuse_entry_out *e, struct pt_node **nodep);

int pt_op_lookup(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		 const char *name, struct fuse_entry_out *e);
void pt_op_forget(void *vfs, uint64_t nodeid, uint64_t nlookup);
int pt_op_getattr(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_getattr_in *in, struct fuse_attr_out *out);
int pt_op_setattr(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_setattr_in *in, struct fuse_attr_out *out);
ssize_t pt_op_readlink(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		       char *buf, size_t size);
int pt_op_symlink(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		  const char *name, const char *target,
		  struct fuse_entry_out *e);
int pt_op_mknod(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		const char *name, const struct fuse_mknod_in *in,
		struct fuse_entry_out *e);
int pt_op_mkdir(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		const char *name, const struct fuse_mkdir_in *in,
		struct fuse_entry_out *e);
int pt_op_unlink(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		 const char *name);
int pt_op_rmdir(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		const char *name);
int pt_op_rename(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		 const char *name, uint64_t newparent, const char *newname,
		 uint32_t flags);
int pt_op_link(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
	       uint64_t newparent, const char *newname,
	       struct fuse_entry_out *e);
int pt_op_statfs(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		 struct fuse_kstatfs *st);
int pt_op_access(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		 uint32_t mask);

/* ops_file.c */
int pt_op_open(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
	       const struct fuse_open_in *in, struct fuse_open_out *out);
int pt_op_create(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		 const char *name, const struct fuse_create_in *in,
		 struct fuse_entry_out *e, struct fuse_open_out *out);
int pt_op_tmpfile(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		  const struct fuse_create_in *in, struct fuse_entry_out *e,
		  struct fuse_open_out *out);
/* Whether READs near a page alias are bounced on this CPU (ops_file.c). */
void pt_bounce_probe(struct pt_fs *fs);
ssize_t pt_op_read(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		   const struct fuse_read_in *in, const struct iovec *iov,
		   int iovcnt);
ssize_t pt_op_write(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		    const struct fuse_write_in *in, const struct iovec *iov,
		    int iovcnt);
int pt_op_flush(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		const struct fuse_flush_in *in);
int pt_op_release(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_release_in *in);
int pt_op_fsync(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		const struct fuse_fsync_in *in);
int pt_op_fallocate(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		    const struct fuse_fallocate_in *in);
ssize_t pt_op_copy_file_range(void *vfs, const struct fuse_ctx *ctx,
			      const struct fuse_copy_file_range_in *in,
			      uint64_t nodeid_in);
int pt_op_lseek(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		const struct fuse_lseek_in *in, uint64_t *offset);
int pt_op_syncfs(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid);

/* ops_dir.c */
int pt_op_opendir(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_open_in *in, struct fuse_open_out *out);
int pt_op_readdir(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_read_in *in, struct fuse_dirbuf *db);
int pt_op_releasedir(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_release_in *in);

#endif /* VFSD_PASSTHROUGH_OPS_I_H */
