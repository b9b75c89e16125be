/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The file-system operations table: the contract between the FUSE server
 * (src/fuse/) and a file system (src/passthrough/, or a test double).
 *
 * The server decodes and validates a request, then calls exactly one entry
 * of this table synchronously on the calling thread and encodes its result.
 * Every entry returns 0 (or a non-negative count where stated) on success
 * and -errno on failure; the server turns a negative value into a FUSE
 * error reply. An entry left NULL is answered ENOSYS by the server.
 *
 * Names handed to an entry are NUL-terminated, at most NAME_MAX bytes, never
 * empty, never "." or "..", never containing '/' (the server rejects such a
 * request with EINVAL before the entry runs). Node ids and file handles are
 * the guest's word: the file system must check them (an unknown or stale id
 * answers -EBADF for handles, -ENOENT/-ESTALE for nodes as stated below).
 *
 * Lookup counts: an entry that fills a struct fuse_entry_out with a non-zero
 * nodeid and returns success has taken one lookup reference on that node;
 * the client returns it later with FORGET/BATCH_FORGET. If the server cannot
 * deliver the reply it calls ->forget(nodeid, 1) itself.
 *
 * All entries may run concurrently on several threads.
 */
#ifndef VFSD_FUSE_FS_H
#define VFSD_FUSE_FS_H

#include <linux/fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fuse_compat.h"

/* Connection parameters negotiated by INIT; fixed until the next INIT. */
struct fuse_conn {
	uint32_t proto_minor; /* client's minor version (major is 7) */
	uint64_t flags; /* FUSE_* INIT flags in effect; bits 32.. are flags2 */
	uint32_t max_write;
	uint32_t max_readahead;
};

struct fuse_req; /* opaque: one request in flight, owned by the server */
struct dstate_buf; /* src/util/dstate.h: the device-state format */
struct dstate_in;

/* Who asks, taken from the request header (and its extensions). */
struct fuse_ctx {
	uint64_t unique;
	uint32_t opcode;
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	/*
	 * FUSE_CREATE_SUPP_GROUP: for creating requests the client may send
	 * the one supplementary group of the caller that matters (the parent
	 * directory's group). Valid when has_supp_gid.
	 */
	bool has_supp_gid;
	uint32_t supp_gid;
	/*
	 * FUSE_SECURITY_CTX: the security context the client's LSM chose
	 * for the object a CREATE, MKDIR, MKNOD, SYMLINK or TMPFILE makes
	 * (an xattr name under "security." and its value, bounds checked,
	 * valid for the request). NULL when none was sent.
	 */
	const char *secctx_name;
	const void *secctx_value;
	uint32_t secctx_len;
	const struct fuse_conn *conn;
	struct fuse_req *req;
};

/*
 * Interrupt support for entries that may block for a long time (SETLKW).
 * fuse_req_interrupted() tells whether the client interrupted the request.
 * Between fuse_req_block_begin() and fuse_req_block_end() the server may
 * deliver a signal (without SA_RESTART) to the calling thread when an
 * INTERRUPT arrives, so a blocking syscall returns EINTR; begin() returns
 * false when the request was already interrupted (do not block then).
 * The caller must re-check fuse_req_interrupted() after EINTR.
 * The signal is SIGUSR2: threads that serve requests must not block it.
 */
bool fuse_req_interrupted(const struct fuse_ctx *ctx);
bool fuse_req_block_begin(const struct fuse_ctx *ctx);
void fuse_req_block_end(const struct fuse_ctx *ctx);

/*
 * FUSE passthrough (granted when ->init kept FUSE_PASSTHROUGH in *want):
 * register the open host file @fd with the client for an OPEN or CREATE
 * reply (FOPEN_PASSTHROUGH with the id, set by fuse_open_out_passthrough);
 * the client holds its own reference, @fd may be closed after. Returns
 * the backing id (> 0) or -errno. fuse_backing_close() drops an id once
 * no open of the file uses it.
 */
int fuse_backing_open(const struct fuse_ctx *ctx, int fd);
int fuse_backing_close(const struct fuse_ctx *ctx, int id);
void fuse_open_out_passthrough(struct fuse_open_out *out, int id);

/*
 * Directory listing buffer for ->readdir. The file system appends entries
 * until an append returns false (the entry did not fit and nothing was
 * added). next_off is the offset the client passes back to continue after
 * this entry.
 */
struct fuse_dirbuf;
bool fuse_dirbuf_add(struct fuse_dirbuf *db, const char *name, size_t namelen,
		     uint64_t ino, uint32_t type, uint64_t next_off);
/* Whether a READDIRPLUS entry with this name length would still fit. */
bool fuse_dirbuf_fits_plus(const struct fuse_dirbuf *db, size_t namelen);
bool fuse_dirbuf_add_plus(struct fuse_dirbuf *db, const char *name,
			  size_t namelen, const struct fuse_entry_out *entry,
			  uint64_t next_off);
/* Whether this listing is READDIRPLUS (entries must use add_plus). */
bool fuse_dirbuf_is_plus(const struct fuse_dirbuf *db);
/* Number of entries added so far. */
size_t fuse_dirbuf_count(const struct fuse_dirbuf *db);

struct fuse_fs_ops {
	/*
	 * INIT: @offered are the client's flags (flags | flags2 << 32);
	 * @want holds the server's default choice and may be changed (only
	 * bits that are also in @offered are honoured). @max_write may be
	 * lowered. Called again on every re-INIT (after ->destroy).
	 */
	void (*init)(void *fs, uint64_t offered, uint64_t *want,
		     uint32_t *max_write);
	/*
	 * DESTROY, or a new INIT on a live session (guest reboot): drop
	 * every node except the root and every open handle.
	 */
	void (*destroy)(void *fs);
	/*
	 * Optional: rewrite the requester's ids in @ctx (uid, gid, the
	 * supplementary group) before the operation runs, e.g. from the
	 * guest's ids to the host's. A negative return fails the request with
	 * that error; requests that only end something (RELEASE, FLUSH,
	 * FORGET, ...) run with the ids unchanged instead.
	 */
	int (*map_ctx)(void *fs, struct fuse_ctx *ctx);

	/* Entry ops: fill @e on success (one lookup reference taken). A
	 * negative lookup may return 0 with e->nodeid == 0 to let the client
	 * cache the absence for e->entry_valid. */
	int (*lookup)(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		      const char *name, struct fuse_entry_out *e);
	/* Drop @nlookup references; never replies. Unknown ids are ignored. */
	void (*forget)(void *fs, uint64_t nodeid, uint64_t nlookup);
	int (*getattr)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		       const struct fuse_getattr_in *in,
		       struct fuse_attr_out *out);
	int (*setattr)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		       const struct fuse_setattr_in *in,
		       struct fuse_attr_out *out);
	/* Returns the link length (not NUL-terminated) or -errno. */
	ssize_t (*readlink)(void *fs, const struct fuse_ctx *ctx,
			    uint64_t nodeid, char *buf, size_t size);
	int (*symlink)(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		       const char *name, const char *target,
		       struct fuse_entry_out *e);
	int (*mknod)(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		     const char *name, const struct fuse_mknod_in *in,
		     struct fuse_entry_out *e);
	int (*mkdir)(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		     const char *name, const struct fuse_mkdir_in *in,
		     struct fuse_entry_out *e);
	int (*unlink)(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		      const char *name);
	int (*rmdir)(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		     const char *name);
	/* RENAME (flags 0) and RENAME2 (RENAME_NOREPLACE/EXCHANGE/WHITEOUT) */
	int (*rename)(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		      const char *name, uint64_t newparent, const char *newname,
		      uint32_t flags);
	int (*link)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		    uint64_t newparent, const char *newname,
		    struct fuse_entry_out *e);
	int (*open)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		    const struct fuse_open_in *in, struct fuse_open_out *out);
	/*
	 * READ into @iov (total capacity exactly in->size); returns the
	 * number of bytes read (short at end of file) or -errno.
	 */
	ssize_t (*read)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
			const struct fuse_read_in *in, const struct iovec *iov,
			int iovcnt);
	/* WRITE from @iov (total exactly in->size); returns bytes written. */
	ssize_t (*write)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
			 const struct fuse_write_in *in,
			 const struct iovec *iov, int iovcnt);
	int (*statfs)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		      struct fuse_kstatfs *st);
	int (*release)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		       const struct fuse_release_in *in);
	int (*fsync)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_fsync_in *in);
	/* @flags: XATTR_CREATE/REPLACE; @setxattr_flags: FUSE_SETXATTR_* */
	int (*setxattr)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
			const char *name, const void *value, size_t size,
			uint32_t flags, uint32_t setxattr_flags);
	/* @size 0 asks for the value's size. Returns length or -errno
	 * (-ERANGE when @size is non-zero and too small). */
	ssize_t (*getxattr)(void *fs, const struct fuse_ctx *ctx,
			    uint64_t nodeid, const char *name, void *buf,
			    size_t size);
	ssize_t (*listxattr)(void *fs, const struct fuse_ctx *ctx,
			     uint64_t nodeid, char *buf, size_t size);
	int (*removexattr)(void *fs, const struct fuse_ctx *ctx,
			   uint64_t nodeid, const char *name);
	int (*flush)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_flush_in *in);
	int (*opendir)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		       const struct fuse_open_in *in,
		       struct fuse_open_out *out);
	/*
	 * READDIR and READDIRPLUS (fuse_dirbuf_is_plus): append entries
	 * starting after in->offset. For plus entries each appended entry
	 * with a non-zero nodeid carries one lookup reference; take it only
	 * once fuse_dirbuf_fits_plus() said the entry fits.
	 */
	int (*readdir)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		       const struct fuse_read_in *in, struct fuse_dirbuf *db);
	int (*releasedir)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
			  const struct fuse_release_in *in);
	int (*fsyncdir)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
			const struct fuse_fsync_in *in);
	int (*getlk)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_lk_in *in, struct fuse_file_lock *out);
	/* SETLK (@sleep false) and SETLKW (@sleep true); in->lk_flags may
	 * hold FUSE_LK_FLOCK for flock(2) requests. */
	int (*setlk)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_lk_in *in, bool sleep);
	int (*access)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		      uint32_t mask);
	int (*create)(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		      const char *name, const struct fuse_create_in *in,
		      struct fuse_entry_out *e, struct fuse_open_out *out);
	int (*bmap)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		    const struct fuse_bmap_in *in, uint64_t *block);
	int (*fallocate)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
			 const struct fuse_fallocate_in *in);
	/* Returns bytes copied or -errno. */
	ssize_t (*copy_file_range)(void *fs, const struct fuse_ctx *ctx,
				   const struct fuse_copy_file_range_in *in,
				   uint64_t nodeid_in);
	int (*lseek)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_lseek_in *in, uint64_t *offset);
	int (*syncfs)(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid);
	/* TMPFILE: an unnamed file in directory @parent (O_TMPFILE). */
	int (*tmpfile)(void *fs, const struct fuse_ctx *ctx, uint64_t parent,
		       const struct fuse_create_in *in,
		       struct fuse_entry_out *e, struct fuse_open_out *out);

	/*
	 * Live migration (src/fuse/state.c); optional, both or neither.
	 * Called with no request running (the transport stopped them).
	 * state_save: append the file system's records (types of
	 * DSTATE_LAYER_FS) to @w; 0 or -errno. state_load: the records of
	 * @in (a whole state, already checked for framing) that are the
	 * file system's, from a source whose session negotiated @conn:
	 * apply all of them or nothing; 0 or -errno, a line logged that
	 * names the fault. A record of its layer it does not know and that
	 * is marked critical fails the load.
	 */
	int (*state_save)(void *fs, struct dstate_buf *w);
	int (*state_load)(void *fs, const struct dstate_in *in,
			  const struct fuse_conn *conn);
};

#endif /* VFSD_FUSE_FS_H */
