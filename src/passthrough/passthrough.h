/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passthrough file system: serves the FUSE operations table
 * (src/fuse/fuse_fs.h) by acting on a host directory. Every host object is
 * held by an O_PATH fd and every operation is an *at() call relative to one;
 * no path is ever built from a guest-supplied name.
 */
#ifndef VFSD_PASSTHROUGH_H
#define VFSD_PASSTHROUGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../fuse/fuse_fs.h"

enum pt_cache {
	PT_CACHE_NEVER, /* no attr/entry caching, FOPEN_DIRECT_IO */
	PT_CACHE_METADATA, /* 1 day attr/entry timeouts, FOPEN_DIRECT_IO */
	PT_CACHE_AUTO, /* 1 s timeouts */
	PT_CACHE_ALWAYS, /* 1 day timeouts, FOPEN_KEEP_CACHE, FOPEN_CACHE_DIR */
};

/* How nodes hold their host inodes (--inode-file-handles, inode.c). */
enum pt_inode_fh {
	PT_FH_AUTO, /* O_PATH fds; a node switches to its handle when fds
		     * run short */
	PT_FH_NEVER, /* O_PATH fds only */
	PT_FH_PREFER, /* handles; O_PATH fds where the file system has none */
	PT_FH_MANDATORY, /* handles only */
};

/* How a source describes its nodes to a destination (--migration-mode). */
enum pt_migration_mode {
	PT_MIGRATE_FIND_PATHS, /* by their paths in the share */
	PT_MIGRATE_FILE_HANDLES, /* by their file handles (same file system) */
};

struct pt_options {
	const char *source; /* the shared directory (opened by pt_new) */
	enum pt_cache cache;
	bool xattr;
	bool writeback; /* offer FUSE_WRITEBACK_CACHE */
	bool allow_direct_io; /* pass O_DIRECT through; otherwise drop it */
	int readdirplus; /* -1: automatic (off with cache never), 0, 1 */
	bool killpriv_v2; /* negotiate FUSE_HANDLE_KILLPRIV_V2 */
	bool announce_submounts;
	bool readonly; /* --readonly: every change refused with EROFS */
	bool allow_mmap; /* offer FUSE_DIRECT_IO_ALLOW_MMAP */
	bool preserve_noatime; /* keep the client's O_NOATIME on host opens */
	enum pt_inode_fh inode_fh;
	const char *xattrmap; /* --xattrmap rules, or NULL */
	bool posix_acl; /* negotiate FUSE_POSIX_ACL */
	bool security_label; /* negotiate FUSE_SECURITY_CTX */
	/* --translate-uid/--translate-gid rules as given, in order */
	char *const *translate_uid;
	unsigned int translate_uid_count;
	char *const *translate_gid;
	unsigned int translate_gid_count;
	/* Live migration (migrate.c): how this daemon saves a state
	 * (mode, file handles to verify, paths confirmed), and what it does
	 * with a node it cannot find when it loads one (guest_error: that
	 * node answers errors; otherwise the load fails). */
	enum pt_migration_mode migration_mode;
	bool migration_verify_handles;
	bool migration_confirm_paths;
	bool migration_guest_error;
};

struct pt_fs;

/*
 * Open the shared directory and prepare the tables. Returns 0 or -errno;
 * on failure @msg (if not NULL) points to a static description of the step
 * that failed.
 */
int pt_new(const struct pt_options *opts, struct pt_fs **out, const char **msg);

struct pt_idtrans;
/*
 * Build the --translate-uid/--translate-gid tables of @opts into @uids and
 * @gids (freed with pt_idtrans_free). 0, or -EINVAL with a one-line
 * reason in @why (may be NULL), or -ENOMEM; on failure nothing is held.
 */
int pt_translate_parse(const struct pt_options *opts, struct pt_idtrans *uids,
		       struct pt_idtrans *gids, char *why, size_t whylen);
void pt_free(struct pt_fs *fs);

/* The operations table to hand to fuse_session_new() with the pt_fs. */
extern const struct fuse_fs_ops pt_ops;

/*
 * Process-wide preparation done once before serving, while still
 * single-threaded: drop supplementary groups, set umask 0, keep capabilities
 * across fsuid changes. Returns 0 or -errno with @msg set.
 */
int pt_process_init(const char **msg);
/*
 * The sandbox made this process able to act as other ids (id 0 of a user
 * namespace mapping more than one id, setgroups allowed, capabilities kept
 * across fsuid changes): from now on take each requester's ids, as a
 * daemon started as root does. Call before serving starts.
 */
void pt_cred_switch_ids(void);

/*
 * The sandbox changed the daemon's view (src/sandbox/): /proc is no longer
 * at /proc, and after a fork the old fd names the parent's fd table. From
 * now on reach /proc/self/fd through @proc_self_fd (an O_PATH directory fd
 * opened inside the sandbox; @fs owns it from now on, also on failure),
 * which also becomes the current directory so that the xattr calls on
 * special files use the relative path "N". Call once, single-threaded,
 * before serving. Returns 0 or -errno.
 */
int pt_set_proc_self_fd(struct pt_fs *fs, int proc_self_fd);

/*
 * The sandbox made the shared directory the daemon's root: @root_fd is an
 * O_PATH fd of "/" opened inside it. The root node takes it over (@fs owns
 * it from now on, also on failure) so that its fd is the sandbox root
 * itself: the fd opened by pt_new() names the directory through the
 * host's mount, and a walk up from it (a ".." or a followed relative
 * symlink, should a bug ever let one through) would climb out of the
 * sandbox's bind mount. Call once, single-threaded, before serving.
 * Returns 0, or -errno (-EXDEV when @root_fd is another directory).
 */
int pt_set_root_fd(struct pt_fs *fs, int root_fd);

/*
 * After the sandbox (its capabilities and mount view are the ones that
 * count): find whether file handles of the share can be made and opened
 * again, and turn them on unless --inode-file-handles=never. 0, or -errno
 * with *msg set when the mode is mandatory and they cannot.
 */
int pt_fh_probe(struct pt_fs *fs, const char **msg);

/* What the metrics show of the file system (src/metrics/). */
struct pt_stats {
	uint64_t nodes; /* inodes held for the client, the root included */
	uint64_t handles; /* open files and directories */
	int64_t open_fds; /* the process's fds, or -errno */
};

/*
 * Fill @st. Safe from any thread while requests run: it takes no lock
 * the request path takes (the counts are read atomically) and counts the
 * fds by listing /proc/self/fd through the fd the passthrough holds.
 */
void pt_stats(struct pt_fs *fs, struct pt_stats *st);

#endif /* VFSD_PASSTHROUGH_H */
