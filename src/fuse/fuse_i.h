/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to src/fuse/: the session, one request in flight, the bounded
 * argument reader and the helpers the decoders share.
 *
 * A request goes server.c (header, length, state, extensions, dispatch) ->
 * ops.c / init.c / interrupt.c (decode the arguments, call the file
 * system) -> reply.c (encode the answer into the transport's out iovecs).
 */
#ifndef VFSD_FUSE_I_H
#define VFSD_FUSE_I_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "fuse_fs.h"
#include "fuse_server.h"

/* The protocol version this server speaks. */
#define FUSE_SRV_MAJOR 7
#define FUSE_SRV_MINOR 38
/* Oldest client minor accepted (as the seed daemon). */
#define FUSE_SRV_MIN_MINOR 31

/* Bounds on what a request may carry besides a WRITE payload. */
#define FUSE_READ_MAX_DEFAULT (1024 * 1024)
/* Most iovecs a READ or WRITE payload may be split into. */
#define FUSE_PAYLOAD_IOV_MAX 272

#define FUSE_INTR_BUCKETS 64

/* Signal that breaks a request out of a blocking syscall (see fuse_fs.h). */
#define FUSE_INTR_SIGNAL SIGUSR2

struct fuse_session {
	const struct fuse_fs_ops *ops;
	void *fs;
	struct fuse_session_opts opts;
	const struct fuse_transport_ops *tops;
	void *tdata;
	size_t bufsize; /* fuse_session_bufsize(), fixed at creation */
	size_t arg_max; /* most argument bytes copied out of a request */

	/*
	 * INIT and DESTROY take it for writing, every other request for
	 * reading, so negotiation never races with ordinary requests.
	 */
	pthread_rwlock_t init_lock;
	/* written under init_lock held for writing, read atomically */
	bool initialized;
	bool destroyed;
	/* protected by init_lock: stable while any request runs */
	struct fuse_conn conn;
	uint64_t offered; /* the client's INIT flags (for a migration) */

	pthread_mutex_t intr_lock;
	/* requests in flight by unique; protected by ->intr_lock */
	struct fuse_req *inflight[FUSE_INTR_BUCKETS];
};

struct fuse_req {
	struct fuse_session *se;
	struct fuse_chan_req *creq;
	struct fuse_ctx ctx;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t opcode;
	size_t out_cap; /* bytes the out iovecs can take */
	bool done; /* ->complete() was called */

	/* for the metrics (src/metrics/), only when they are on: when the
	 * server took the request, the error its reply carries, and the
	 * file data a READ or WRITE moved */
	uint64_t start_ns;
	int error;
	uint64_t io_bytes;

	/* WRITE: where the payload sits in creq->in and its length */
	size_t payload_off;
	size_t payload_len;

	/* interrupt bookkeeping; protected by se->intr_lock */
	struct fuse_req *intr_next;
	pthread_t thread;
	bool registered;
	bool interrupted;
	bool blocking;
};

/*
 * Bounded reader over the request-local copy of the arguments. Every take
 * either yields the whole object or fails; nothing is read past ->left.
 */
struct fuse_rd {
	const unsigned char *p;
	size_t left;
};

static inline bool fuse_rd_get(struct fuse_rd *rd, void *dst, size_t n)
{
	if (rd->left < n)
		return false;
	memcpy(dst, rd->p, n);
	rd->p += n;
	rd->left -= n;
	return true;
}

static inline const void *fuse_rd_take(struct fuse_rd *rd, size_t n)
{
	const void *p = rd->p;

	if (rd->left < n)
		return NULL;
	rd->p += n;
	rd->left -= n;
	return p;
}

static inline bool fuse_rd_end(const struct fuse_rd *rd)
{
	return rd->left == 0;
}

/* A NUL-terminated file name: 0 or -EINVAL / -ENAMETOOLONG. */
int fuse_rd_name(struct fuse_rd *rd, const char **name);
/* A NUL-terminated string of 1..@max bytes without other checks. */
int fuse_rd_str(struct fuse_rd *rd, size_t max, const char **s);

/* The records of a fuse_secctx_header (server.c): 0 or -EINVAL. */
int fuse_secctx_parse(struct fuse_req *req, const unsigned char *p, size_t len,
		      uint32_t nr);
/* Before protocol 7.38 the client sends the fuse_secctx_header as one
 * more argument after the names of a creating request: take it from @rd
 * (ops.c). 0, or -EINVAL when malformed. */
int fuse_rd_secctx(struct fuse_req *req, struct fuse_rd *rd);

/* Dispatch entry: decoder and name. */
typedef void (*fuse_op_fn)(struct fuse_req *req, struct fuse_rd *rd);

/* reply.c: each of these completes the request exactly once. */
void fuse_reply_err(struct fuse_req *req, int err);
/* Returns 0, or -EIO when the payload did not fit (EIO was sent). */
int fuse_reply_ok(struct fuse_req *req, const void *arg, size_t len);
int fuse_reply_iov(struct fuse_req *req, const struct iovec *iov, int cnt);
/* Header with @len payload bytes already placed after it in out. */
void fuse_reply_inplace(struct fuse_req *req, size_t len);
void fuse_reply_entry(struct fuse_req *req, const struct fuse_entry_out *e);
void fuse_reply_create(struct fuse_req *req, const struct fuse_entry_out *e,
		       const struct fuse_open_out *o, uint32_t open_flags);
void fuse_reply_none(struct fuse_req *req);
/* Count @req in the metrics as it completes (reply.c calls it when they
 * are on). */
void fuse_count_request(const struct fuse_req *req);

/* ops.c: the decoders of file-system requests */
void fuse_do_lookup(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_forget(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_getattr(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_setattr(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_readlink(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_symlink(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_mknod(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_mkdir(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_unlink(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_rmdir(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_rename(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_link(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_open(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_read(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_write(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_statfs(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_release(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_fsync(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_setxattr(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_getxattr(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_listxattr(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_removexattr(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_flush(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_opendir(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_readdir(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_releasedir(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_fsyncdir(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_getlk(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_setlk(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_access(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_create(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_bmap(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_ioctl(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_poll(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_batch_forget(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_fallocate(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_lseek(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_copy_file_range(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_syncfs(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_tmpfile(struct fuse_req *req, struct fuse_rd *rd);

/* init.c */
/* The INIT flags the server wants of a client, before ->init. */
uint64_t fuse_default_want(const struct fuse_fs_ops *ops);
void fuse_do_init(struct fuse_req *req, struct fuse_rd *rd);
void fuse_do_destroy(struct fuse_req *req, struct fuse_rd *rd);

/* interrupt.c */
int fuse_intr_setup(void);
void fuse_intr_register(struct fuse_req *req);
void fuse_intr_unregister(struct fuse_req *req);
void fuse_do_interrupt(struct fuse_req *req, struct fuse_rd *rd);
/* Interrupt every request in flight (before INIT/DESTROY). */
void fuse_intr_all(struct fuse_session *se);

/* dirbuf.c */
struct fuse_dirbuf {
	unsigned char *buf;
	size_t size;
	size_t len;
	size_t count;
	bool plus;
};
/* Drop the lookup references of the plus entries in @db. */
void fuse_dirbuf_forget(struct fuse_session *se, const struct fuse_dirbuf *db);

static inline bool fuse_se_initialized(struct fuse_session *se)
{
	return __atomic_load_n(&se->initialized, __ATOMIC_ACQUIRE);
}

#endif /* VFSD_FUSE_I_H */
