/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user device backend, device-agnostic.
 *
 * A frontend (QEMU's vhost-user-*-pci) connects to a UNIX socket
 * (vu_listen/vu_accept, or an fd handed over by the caller) and configures
 * the device with vhost-user messages: features, guest memory regions,
 * and for each virtqueue its size, ring addresses, base index and
 * eventfds. vu_dev_serve() runs that conversation on the calling thread.
 * When a queue has everything it needs and is enabled, the backend hands
 * it to the device (ops->queue_start) as a ready struct virtq; the device
 * pops and pushes on its own threads and signals the guest through
 * vu_queue_notify(). Before anything the queue depends on changes (ring
 * addresses, kick fd, guest memory, features, GET_VRING_BASE, reset,
 * disconnect) the backend takes the queue back (ops->queue_stop).
 *
 * The frontend is not trusted: every message is checked; a message that
 * does not make sense is refused (logged, its fds closed, an error
 * REPLY_ACK if one was asked for) and the conversation goes on; a fault
 * that leaves no sane way to continue (a broken header, an unanswerable
 * request) marks the device broken (ops->broken) and vu_dev_serve()
 * returns an error. Nothing the frontend sends aborts the process.
 *
 * Threads: vu_dev_serve() and every ops callback run on the serving
 * thread; vu_queue_notify(), vu_queue_error() and vu_dev_shutdown() may be
 * called from any thread.
 */
#ifndef VFSD_VHOST_H
#define VFSD_VHOST_H

#include <stddef.h>
#include <stdint.h>

#include "virtq/virtq.h"

/* Most queues a device may have: the vring index of SET_VRING_KICK,
 * _CALL and _ERR is eight bits wide. */
#define VU_MAX_QUEUES 256

struct vu_dev;

/* How the backend drives a device. Called on the serving thread only. */
struct vu_device_ops {
	/*
	 * Queue @idx is started and enabled: serve it. @vq is set up over
	 * guest memory (num, ring pointers, memory table, negotiated ring
	 * features, avail index) and belongs to the device until
	 * queue_stop(@idx) returns; the backend does not touch it meanwhile.
	 * @kick_fd is the eventfd the driver kicks, or -1 when the frontend
	 * asked for polling; the backend owns it and keeps it open until
	 * queue_stop returns. Return 0, or -errno to leave the queue stopped.
	 * Required.
	 */
	int (*queue_start)(void *opaque, unsigned int idx, struct virtq *vq,
			   int kick_fd);
	/*
	 * Stop serving queue @idx; return only when no device thread touches
	 * its struct virtq or kick fd any more. Requests already popped are
	 * best completed (pushed) first: the backend reads the indices back
	 * for GET_VRING_BASE. Required.
	 */
	void (*queue_stop)(void *opaque, unsigned int idx);
	/* Fill [@offset, @offset + @len) of the device config space into
	 * @buf (GET_CONFIG; the range is checked against config_size).
	 * Return 0 or -errno. Optional when config_size is 0. */
	int (*get_config)(void *opaque, uint32_t offset, void *buf,
			  uint32_t len);
	/* Write config space (SET_CONFIG; range checked; @flags is
	 * VHOST_SET_CONFIG_TYPE_*). NULL: the config space is read-only and
	 * SET_CONFIG is refused. Return 0 or -errno. */
	int (*set_config)(void *opaque, uint32_t offset, const void *buf,
			  uint32_t len, uint32_t flags);
	/* The frontend acked @features (SET_FEATURES; already checked to be
	 * a subset of what was offered). Optional. */
	void (*set_features)(void *opaque, uint64_t features);
	/* Every queue is stopped and the device returns to its initial
	 * state: RESET_DEVICE, or the frontend went away. Optional. */
	void (*reset)(void *opaque);
	/* The frontend broke the protocol beyond repair; @why names the
	 * fault (also logged). vu_dev_serve() returns an error next.
	 * Optional. */
	void (*broken)(void *opaque, const char *why);
	/*
	 * Live migration (VHOST_USER_PROTOCOL_F_DEVICE_STATE, offered when
	 * both are set). state_save, on the source: every queue is stopped;
	 * serialize the device's state into a malloc()ed buffer (*@buf,
	 * *@len; the backend sends and frees it). state_load, on the
	 * destination: @buf is what a source saved, as the frontend handed
	 * it over (untrusted, at most VU_STATE_MAX bytes; no queue runs):
	 * apply all of it or nothing. Both return 0 or -errno, having
	 * logged a line that names the fault.
	 */
	int (*state_save)(void *opaque, void **buf, size_t *len);
	int (*state_load)(void *opaque, const void *buf, size_t len);
};

/* Largest device state accepted from a frontend (SET_DEVICE_STATE_FD). */
#define VU_STATE_MAX (256u << 20)

struct vu_dev_info {
	/* Device-specific virtio feature bits to offer (bits 0-23 and
	 * 42-63; the transport bits are the backend's). */
	uint64_t device_features;
	/* Virtqueues, 1..VU_MAX_QUEUES (GET_QUEUE_NUM). */
	unsigned int num_queues;
	/* Bytes of device config space (GET_CONFIG); 0 offers no
	 * CONFIG protocol feature. At most VHOST_USER_MAX_CONFIG_SIZE is
	 * transferred per message. */
	size_t config_size;
};

/*
 * Create a device backend. @info and @ops are copied; @opaque is passed
 * to every callback. Returns 0 and *@out, or -EINVAL (bad info or missing
 * required ops), -ENOMEM.
 */
int vu_dev_new(const struct vu_dev_info *info, const struct vu_device_ops *ops,
	       void *opaque, struct vu_dev **out);
/* Free a device that is not being served. NULL is a no-op. */
void vu_dev_free(struct vu_dev *dev);

/*
 * Serve one connected frontend on @conn_fd until it goes away. Returns 0
 * when the frontend disconnected (also in the middle of a message),
 * -ENOTCONN when the peer closed without sending a single message (a
 * probe such as another instance checking whether the socket is live, not
 * a frontend: the caller may accept the next connection),
 * -ECANCELED after vu_dev_shutdown(), -EPROTO when the frontend broke the
 * protocol (ops->broken was called), or another -errno on a socket error.
 * On return every queue is stopped, guest memory is unmapped, every fd
 * the frontend sent is closed and the negotiated state is forgotten, so
 * the device can serve the next connection. @conn_fd stays the caller's
 * to close.
 */
int vu_dev_serve(struct vu_dev *dev, int conn_fd);

/* Make a running vu_dev_serve() return -ECANCELED soon (it shuts the
 * connection down). Safe from any thread and from a queue's fault path. */
void vu_dev_shutdown(struct vu_dev *dev);

/*
 * Signal the driver through queue @idx's call eventfd: what a queue
 * thread does after virtq_push() when virtq_need_notify() says so. Safe
 * from any thread, concurrently with SET_VRING_CALL. No-op while the
 * frontend set no call fd (polling) or @idx is out of range.
 */
void vu_queue_notify(struct vu_dev *dev, unsigned int idx);
/* Signal queue @idx's error eventfd (SET_VRING_ERR), e.g. when the ring
 * turned out corrupt. Same rules as vu_queue_notify(). */
void vu_queue_error(struct vu_dev *dev, unsigned int idx);

/* Negotiated virtio features (SET_FEATURES), for the serving thread. */
uint64_t vu_dev_features(const struct vu_dev *dev);

/*
 * Create a listening UNIX socket at @path. A stale socket (nobody
 * accepting on it) is replaced; a live one or any other kind of file is
 * left alone (-EADDRINUSE, -EEXIST). The socket file is mode 0600, or
 * 0660 owned by @group when @group (name or number) is given: never
 * world-accessible. Returns 0 and *@fd_out (close-on-exec), or -errno
 * with *@msg naming the step that failed (a static string).
 */
int vu_listen(const char *path, const char *group, int *fd_out,
	      const char **msg);
/* Accept the next frontend on @listen_fd. Serve one frontend at a time:
 * accept, vu_dev_serve(), close, accept again. Returns a close-on-exec
 * fd, or -errno. */
int vu_accept(int listen_fd);

#endif /* VFSD_VHOST_H */
