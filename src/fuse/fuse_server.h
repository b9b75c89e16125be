/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE server: what a transport (src/transport/) sees of src/fuse/.
 *
 * A transport receives one request as two scatter lists: @in, the bytes the
 * client sent (fuse_in_header, arguments, WRITE payload), and @out, the
 * buffers the reply may be written into. It calls fuse_session_process(),
 * which validates the request, runs the file-system operation and writes
 * the reply into @out, then calls the transport's ->complete() exactly once
 * with the number of bytes written (0: no reply, e.g. FORGET). The server
 * never writes beyond @out and never reads beyond @in; it copies headers and
 * arguments out of @in once before validating them, so @in may be memory
 * the client can still change (virtio). Only a WRITE payload is handed to
 * the file system as a view into @in.
 *
 * fuse_session_process() may be called from many threads at once.
 */
#ifndef VFSD_FUSE_SERVER_H
#define VFSD_FUSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fuse_fs.h"

struct fuse_session;

/* One request as the transport hands it over. */
struct fuse_chan_req {
	const struct iovec *in;
	int in_cnt;
	const struct iovec *out;
	int out_cnt;
	void *priv; /* the transport's, untouched by the server */
	/* The transport has CPU to spare for this request: a large READ may
	 * be split between this thread and a helper (src/util/assist.c). */
	bool split_ok;
};

struct fuse_transport_ops {
	/*
	 * The reply to @req is in req->out, @len bytes (0: the request takes
	 * no reply). Called exactly once per request, from the thread that
	 * processed it.
	 */
	void (*complete)(void *tdata, struct fuse_chan_req *req, size_t len);
	/*
	 * Send an unsolicited notification (iov[0] begins with a
	 * fuse_out_header whose unique is 0 and error the notify code).
	 * Returns 0 or -errno; NULL or -ENOSYS where the transport has no
	 * notification channel (virtio-fs without a notification queue).
	 */
	int (*notify)(void *tdata, const struct iovec *iov, int iovcnt);
	/*
	 * FUSE passthrough (a host mount only; NULL elsewhere): register
	 * the open host file @fd with the client and return its backing id
	 * (> 0), or -errno; drop a backing id. The session offers
	 * FUSE_PASSTHROUGH to the file system only when both are set.
	 */
	int (*backing_open)(void *tdata, int fd);
	int (*backing_close)(void *tdata, int id);
};

struct fuse_session_opts {
	/* Largest WRITE payload the transport can carry (>= 4096). */
	uint32_t max_write;
	/* Serve a client that re-sends INIT on a live session (a guest
	 * reboot on virtio-fs): tear down and negotiate again. */
	bool allow_reinit;
};

/* Returns NULL (errno set) on allocation failure. */
struct fuse_session *fuse_session_new(const struct fuse_fs_ops *ops, void *fs,
				      const struct fuse_session_opts *opts,
				      const struct fuse_transport_ops *tops,
				      void *tdata);
void fuse_session_free(struct fuse_session *se);

void fuse_session_process(struct fuse_session *se, struct fuse_chan_req *req);

/* Whether INIT has completed and no DESTROY followed. */
bool fuse_session_initialized(struct fuse_session *se);
/* Whether DESTROY was received. */
bool fuse_session_destroyed(struct fuse_session *se);
/* Interrupt every request in flight (as if the client had sent INTERRUPT
 * for each): a transport stopping a queue uses it so that a request
 * blocked in SETLKW ends instead of holding the queue forever. */
void fuse_session_interrupt_all(struct fuse_session *se);
/* Size of a buffer that holds any request this session accepts:
 * headers, arguments and a max_write payload. */
size_t fuse_session_bufsize(const struct fuse_session *se);

/*
 * Live migration: the session's state (INIT's result) and the file
 * system's, with @tblob (@tlen bytes) of the transport's own, in the
 * device-state format (src/util/dstate.h). Call with no request in
 * flight (every queue stopped). 0 and a malloc()ed *@buf, or -errno.
 */
int fuse_session_state_save(struct fuse_session *se, const void *tblob,
			    size_t tlen, void **buf, size_t *len);
/*
 * Load a state a source saved into this session, which has not been
 * INITed: the framing is checked, @check_transport sees the transport's
 * blob (0 to accept, or -errno having logged why), the file system
 * applies its records, and only then does the session take the source's
 * INIT result. All or nothing: on failure nothing changed. Every fault
 * is logged with what it was. 0 or -errno.
 */
int fuse_session_state_load(struct fuse_session *se, const void *buf,
			    size_t len,
			    int (*check_transport)(void *arg, const void *blob,
						   size_t len),
			    void *arg);

/* The opcode's name for logs ("LOOKUP"), or "UNKNOWN". */
const char *fuse_opcode_name(uint32_t opcode);

/*
 * Notifications to the client (see the FUSE protocol). Each returns 0 or
 * -errno; -ENOSYS when the transport cannot send notifications, -ENOTCONN
 * before INIT.
 */
int fuse_notify_inval_inode(struct fuse_session *se, uint64_t nodeid,
			    int64_t off, int64_t len);
int fuse_notify_inval_entry(struct fuse_session *se, uint64_t parent,
			    const char *name, size_t namelen);
int fuse_notify_delete(struct fuse_session *se, uint64_t parent, uint64_t child,
		       const char *name, size_t namelen);
int fuse_notify_store(struct fuse_session *se, uint64_t nodeid, uint64_t off,
		      const struct iovec *iov, int iovcnt);
int fuse_notify_poll_wakeup(struct fuse_session *se, uint64_t kh);

#endif /* VFSD_FUSE_SERVER_H */
