/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Passthrough internals shared by the files of src/passthrough/ only.
 *
 * Nodes: every host object the client knows is a struct pt_node holding an
 * O_PATH|O_NOFOLLOW fd, keyed by (st_dev, st_ino, mount id) so that hard
 * links share one node. A node's nodeid is its slot in the node table; the
 * slot's generation grows each time it is reused, so (nodeid, generation)
 * never repeats. A node lives while the client holds lookup references
 * (nlookup) or a request is using it (refs).
 *
 * Handles: every OPEN/OPENDIR/CREATE result is a struct pt_handle in the
 * handle table; fh encodes slot and generation so a forged or stale fh is
 * refused with EBADF.
 */
#ifndef VFSD_PASSTHROUGH_I_H
#define VFSD_PASSTHROUGH_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "idtrans.h"
#include "passthrough.h"

struct pt_plock; /* ops_lock.c: one OFD-lock fd per (node, lock owner) */
struct pt_lock_retry; /* ops_lock.c: locks a destination takes again */
struct flock;

/* Handle bytes kept in the node itself; longer handles go to the heap. */
#define PT_FH_INLINE 16

struct pt_node {
	/*
	 * O_PATH|O_NOFOLLOW. Valid while the caller holds a reference from
	 * pt_node_get/add/find; a node that has a file handle may lose it
	 * while nobody does (evicted by the bounded fd cache, inode.c) and
	 * gets it back from the handle on the next pt_node_get().
	 */
	int fd;
	mode_t type; /* S_IFMT bits; immutable */
	uint64_t dev; /* key, immutable */
	uint64_t ino;
	uint64_t mnt_id;
	uint64_t nodeid; /* immutable */
	uint64_t generation; /* immutable */
	uint64_t nlookup; /* protected by the node table lock */
	uint64_t refs; /* protected by the node table lock */
	struct pt_plock *plocks; /* protected by ops_lock.c's stripe lock */
	/* The fd cache's LRU list (nodeids; protected by the table lock):
	 * nodes with an fd and a handle that no request holds. */
	uint32_t lru_prev, lru_next;
	bool on_lru;
	bool unhashed; /* out of the key map: its inode number was reused */
	/* FUSE passthrough (ops_file.c), protected by pt_fs.backing_lock:
	 * the client's backing id for this file while backing_refs open
	 * handles use it, and the handles opened without it meanwhile (the
	 * client refuses to mix the two on one inode). */
	int backing_id;
	uint32_t backing_refs;
	uint32_t plain_opens;
	/* A migration's destination could not find its object
	 * (--migration-on-error=guest-error): requests get ENOENT. */
	bool lost;
	/* The file handle (name_to_handle_at), immutable once set; fh_len
	 * 0 when the node has none and keeps its fd for life. */
	uint8_t fh_len;
	int32_t fh_type;
	union {
		unsigned char in[PT_FH_INLINE];
		unsigned char *heap; /* fh_len > PT_FH_INLINE */
	} fh;
};

struct pt_handle {
	int fd; /* opened for I/O (or a directory fd); immutable */
	struct pt_node *node; /* holds a ref; immutable */
	int open_flags; /* host open flags used; immutable */
	bool is_dir;
	/* PT_IO_*: how the client does I/O on it; pt_fs.backing_lock */
	uint8_t io_mode;
	pthread_mutex_t dir_mutex; /* serialises lseek+getdents on fd */
	/* directory stream state, protected by ->dir_mutex: the cookie
	 * after the last entry sent (ops_dir.c) */
	uint64_t dir_off;
	uint64_t refs; /* protected by the handle table lock (handle.c) */
};

/* pt_handle.io_mode under FUSE passthrough */
enum {
	PT_IO_UNTRACKED = 0, /* no passthrough, or already released */
	PT_IO_BACKING, /* the client does its I/O on node->backing_id */
	PT_IO_PLAIN, /* READ and WRITE come to us */
};

/* Node table: nodeid -> node, (dev, ino, mnt_id) -> node. */
struct pt_nodes;
/* Handle table: fh -> handle. */
struct pt_handles;

struct pt_xattrmap;

struct pt_fs {
	struct pt_options opts; /* source copied */
	struct pt_xattrmap *xattrmap; /* --xattrmap, or NULL; immutable */
	/* --translate-uid/--translate-gid; immutable */
	struct pt_idtrans uids;
	struct pt_idtrans gids;
	bool translating; /* either has a rule */
	int proc_self_fd; /* O_PATH fd of /proc/self/fd, for reopening */
	/* The current directory is proc_self_fd (pt_set_proc_self_fd):
	 * path-form calls name "N" instead of "/proc/self/fd/N". */
	bool proc_is_cwd;
	struct pt_node *root; /* nodeid FUSE_ROOT_ID, never forgotten */
	struct pt_nodes *nodes;
	struct pt_handles *handles;
	double timeout; /* entry/attr validity in seconds, from opts.cache */
	/* Negotiated at INIT (see ->init): */
	bool killpriv_v1;
	bool killpriv_v2;
	bool writeback;
	bool dont_mask; /* FUSE_DONT_MASK: creates carry the umask apart */
	/* READs whose buffers alias their file position badly go through a
	 * bounce buffer (ops_file.c, pt_bounce_probe()); immutable */
	bool bounce_reads;
	/* FUSE passthrough granted (a host mount); cleared for good when
	 * the client refuses to register a file (no CAP_SYS_ADMIN). */
	bool passthrough; /* atomic */
	pthread_mutex_t backing_lock;
	/* File handles (--inode-file-handles, inode.c): nodes get them
	 * (fh_wanted, immutable after pt_fh_probe) and may be evicted
	 * down to fd_cache_cap fds held by no request. */
	bool fh_wanted;
	size_t fd_cache_cap;
	/* Locks a migration's destination is still taking again
	 * (ops_lock.c); NULL until one is. */
	struct pt_lock_retry *lock_retry;
};

/* --- node table (inode.c) --- */

int pt_nodes_new(struct pt_nodes **out);
void pt_nodes_free(struct pt_nodes *t);

/* The node for @nodeid with one in-flight reference, or NULL when the id
 * is unknown (the caller answers -ENOENT, or -EBADF for handles). */
struct pt_node *pt_node_get(struct pt_fs *fs, uint64_t nodeid);
void pt_node_put(struct pt_fs *fs, struct pt_node *node);

/*
 * Find or add the node for the object @fd (O_PATH, owned by the call: kept
 * or closed) described by @st and @mnt_id, and take one lookup reference
 * on it. Returns the node (with one in-flight reference as pt_node_get) or
 * NULL with -errno in *err.
 */
struct pt_node *pt_node_add(struct pt_fs *fs, int fd, const struct stat *st,
			    uint64_t mnt_id, int *err);
/*
 * The node of an object the table already holds, keyed as pt_node_add(),
 * with one more lookup reference and an in-flight one; NULL when unknown.
 */
struct pt_node *pt_node_find(struct pt_fs *fs, const struct stat *st,
			     uint64_t mnt_id);
/* Drop @nlookup lookup references (FORGET); unknown ids are ignored. */
void pt_node_forget(struct pt_fs *fs, uint64_t nodeid, uint64_t nlookup);
/* Give @node the fd @fd of the same object seen through mount @mnt_id
 * (the old fd is closed). Only before serving: ->fd is otherwise
 * immutable. */
void pt_node_rebind(struct pt_fs *fs, struct pt_node *node, int fd,
		    uint64_t mnt_id);
/* Nodes in the table (the root included), without taking its lock. */
uint64_t pt_nodes_count(struct pt_fs *fs);
/* Drop every node but the root (DESTROY, re-INIT). */
void pt_nodes_clear(struct pt_fs *fs);
/*
 * Out of fds: close the fds of up to @max nodes that no request holds and
 * that can be reopened from their handles. Returns how many were closed;
 * the caller retries its open when that is not 0.
 */
size_t pt_nodes_shed(struct pt_fs *fs, size_t max);
/* The fds that --inode-file-handles=prefer|mandatory keep cached. */
#define PT_FD_CACHE_HANDLES 256
/* For lookup_known(): the handle of @name in @dir as pt_node_add keys it
 * (0, or -errno when the node table does not use handles). */
struct pt_fhbuf {
	int32_t type;
	uint8_t len;
	unsigned char b[128]; /* MAX_HANDLE_SZ */
};
int pt_fh_of(struct pt_fs *fs, int dirfd, const char *name,
	     struct pt_fhbuf *out);
struct pt_node *pt_node_find_fh(struct pt_fs *fs, const struct stat *st,
				uint64_t mnt_id, const struct pt_fhbuf *fh);

/*
 * Live migration (migrate.c): the nodes as they stand, each with an
 * in-flight reference (pt_node_put() each) and the table's slot count
 * and highest slot generation; the fd of a held node the fd cache
 * closed, opened again (0 or -errno).
 */
int pt_nodes_snapshot(struct pt_fs *fs, struct pt_node ***out, size_t *n,
		      uint64_t *nslots, uint64_t *max_gen);
int pt_node_fd(struct pt_fs *fs, struct pt_node *n);
/* One more in-flight reference on a node the caller already holds. */
void pt_node_hold(struct pt_fs *fs, struct pt_node *n);
/*
 * A node table rebuilt from a state, apart from the live one: @nslots
 * slots (at most PT_NODES_STAGE_MAX), new nodes from generation
 * @next_gen on. stage_add puts a node at @nodeid with the state's
 * generation and lookup count over @fd (O_PATH, taken; -1: the object
 * was not found and the node is lost); NULL with -EEXIST when another
 * node of the state is the same object. commit makes it the live table
 * with the root at FUSE_ROOT_ID (the live one must hold nothing else).
 */
#define PT_NODES_STAGE_MAX (1ULL << 24)
struct pt_nodes *pt_nodes_stage_new(uint64_t nslots, uint64_t next_gen,
				    int *err);
struct pt_node *pt_nodes_stage_add(struct pt_fs *fs, struct pt_nodes *t,
				   uint64_t nodeid, uint64_t generation,
				   uint64_t nlookup, int fd,
				   const struct stat *st, uint64_t mnt_id,
				   mode_t type, int *err);
struct pt_node *pt_nodes_stage_find(struct pt_nodes *t, uint64_t nodeid);
void pt_nodes_stage_free(struct pt_nodes *t);
void pt_nodes_commit(struct pt_fs *fs, struct pt_nodes *t);

/* --- handle table (handle.c) --- */

int pt_handles_new(struct pt_handles **out);
void pt_handles_free(struct pt_handles *t);
/* Insert @h (owned by the table from now on); returns its fh or 0 with
 * -errno in *err. */
uint64_t pt_handle_add(struct pt_fs *fs, struct pt_handle *h, int *err);
/* The handle for @fh with a reference, or NULL (-EBADF). */
struct pt_handle *pt_handle_get(struct pt_fs *fs, uint64_t fh);
void pt_handle_put(struct pt_fs *fs, struct pt_handle *h);
/* Remove @fh from the table (RELEASE); the handle is freed (fd closed)
 * when the last reference goes. Returns 0 or -EBADF. */
int pt_handle_remove(struct pt_fs *fs, uint64_t fh);
/* Handles in the table, without taking its lock. */
uint64_t pt_handles_count(struct pt_fs *fs);
/* Remove every handle (DESTROY). */
void pt_handles_clear(struct pt_fs *fs);
/* As pt_handle_get(), but NULL also when the handle was not opened on
 * @nodeid (a client naming another node's fh gets -EBADF). */
struct pt_handle *pt_handle_get_node(struct pt_fs *fs, uint64_t fh,
				     uint64_t nodeid);

/*
 * Live migration (migrate.c): every handle with a reference (put each)
 * and its fh, the table's slot count and highest generation; a handle
 * table rebuilt from a state, each handle at the fh the guest holds
 * (-EEXIST, -EINVAL); stage_free closes the handles' fds only (their
 * nodes go with the staged node table); commit replaces the (empty)
 * live table.
 */
#define PT_HANDLES_STAGE_MAX (1ULL << 24)
int pt_handles_snapshot(struct pt_fs *fs, struct pt_handle ***hs,
			uint64_t **fhs, size_t *n, uint64_t *nslots,
			uint32_t *max_gen);
struct pt_handles *pt_handles_stage_new(uint64_t nslots, uint32_t next_gen,
					int *err);
int pt_handles_stage_add(struct pt_handles *t, uint64_t fh,
			 struct pt_handle *h);
void pt_handles_stage_free(struct pt_handles *t);
void pt_handles_commit(struct pt_fs *fs, struct pt_handles *t);

/* --- credentials (cred.c) --- */

/*
 * The requester's identity for an operation that creates or changes an
 * object: fsuid/fsgid of the thread set to the requester's, the thread's
 * supplementary groups set to the one group the client sent (or none),
 * and CAP_FSETID dropped unless the requester is root, so that the host
 * kernel applies its own set-user/group-ID rules exactly as for a local
 * caller. pt_cred_enter() returns 0 or -errno; pt_cred_leave() restores
 * the daemon's identity and must always be called after a successful
 * enter.
 */
struct pt_cred {
	bool changed;
	bool groups_changed;
	bool cap_dropped;
	uint32_t old_fsuid; /* the daemon's, restored by pt_cred_leave() */
	uint32_t old_fsgid;
};
int pt_cred_enter(const struct fuse_ctx *ctx, struct pt_cred *saved);
void pt_cred_leave(struct pt_cred *saved);
/*
 * The requester's umask around a create (FUSE_DONT_MASK, --posix-acl):
 * the client sends the mode unmasked and its umask apart, so that the host
 * applies the umask only where the parent directory has no default ACL,
 * as for a local caller. The first call on a thread gives it an fs struct
 * of its own (unshare(CLONE_FS)), so the umask is per thread. *mode is
 * masked by hand when that fails. No-op when @dont_mask is false.
 */
mode_t pt_umask_enter(bool dont_mask, uint32_t mask, mode_t *mode);
void pt_umask_leave(mode_t saved);

/* Drop / restore only CAP_FSETID on this thread (for a WRITE or truncate
 * that must clear set-user/group-ID bits). */
int pt_cap_fsetid_drop(bool *dropped);
void pt_cap_fsetid_restore(bool dropped);

/* --- helpers (passthrough.c) --- */

/* Reopen @node's object with @flags (never O_PATH) through
 * /proc/self/fd. Refuses objects that are not regular files or
 * directories (-EBADF): the daemon never opens devices, FIFOs or sockets.
 * Returns the fd or -errno. */
int pt_node_open(struct pt_fs *fs, struct pt_node *node, int flags);

/* The negotiated INIT flags (@flags) take effect: the INIT hook's
 * tail, also run when a migration brings a session's flags along. */
void pt_apply_conn(struct pt_fs *fs, uint64_t flags);

/* --- operations in their own files --- */

/* migrate.c: the file system's part of a live migration (fuse_fs.h) */
int pt_state_save(void *fs, struct dstate_buf *w);
int pt_state_load(void *fs, const struct dstate_in *in,
		  const struct fuse_conn *conn);

/* ops_xattr.c */
int pt_setxattr(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		const char *name, const void *value, size_t size,
		uint32_t flags, uint32_t setxattr_flags);
ssize_t pt_getxattr(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		    const char *name, void *buf, size_t size);
ssize_t pt_listxattr(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     char *buf, size_t size);
int pt_removexattr(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
		   const char *name);

/* ops_lock.c */
int pt_getlk(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
	     const struct fuse_lk_in *in, struct fuse_file_lock *out);
int pt_setlk(void *fs, const struct fuse_ctx *ctx, uint64_t nodeid,
	     const struct fuse_lk_in *in, bool sleep);
/* Release the POSIX locks of @owner on @node (FLUSH, RELEASE with
 * FUSE_RELEASE_FLOCK_UNLOCK is handled by closing the handle fd). */
void pt_plock_release_owner(struct pt_fs *fs, struct pt_node *node,
			    uint64_t owner);
/* Free every lock-owner fd of @node (node teardown). */
void pt_plock_free_all(struct pt_node *node);

/*
 * Live migration. pt_plock_save: @emit gets every OFD lock @node's
 * owners hold (type and range as the host reports them). pt_flock_state:
 * the flock(2) lock the description @fd holds (0, LOCK_SH, LOCK_EX) or
 * -errno. pt_plock_restore: take @fl for @owner on @node again (its fd
 * is opened); -EAGAIN when someone holds a conflicting lock (the owner's
 * fd stays, for pt_lock_pending_add). pt_lock_pending_add: try @fl of
 * @owner on @node (or, @node NULL, flock @op on handle @fh) again and
 * again once pt_lock_pending_start() runs; the guest acting on the same
 * owner or handle cancels it. pt_lock_retry_free: stop and forget all.
 */
int pt_plock_save(struct pt_fs *fs, struct pt_node *node,
		  int (*emit)(void *arg, uint64_t owner, uint32_t pid,
			      const struct flock *fl),
		  void *arg);
int pt_flock_state(struct pt_fs *fs, int fd);
int pt_plock_restore(struct pt_fs *fs, struct pt_node *node, uint64_t owner,
		     uint32_t pid, const struct flock *fl);
int pt_lock_pending_add(struct pt_fs *fs, struct pt_node *node, uint64_t owner,
			const struct flock *fl, uint64_t fh, int op);
int pt_lock_pending_start(struct pt_fs *fs);
void pt_lock_pending_stop(struct pt_fs *fs);
void pt_lock_retry_free(struct pt_fs *fs);

#endif /* VFSD_PASSTHROUGH_I_H */
