/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost/ internals shared by vhost.c (device state and message handlers),
 * vhost_mem.c (guest memory table) and vhost_sock.c (sockets and message
 * framing).
 *
 * Ownership and locking: everything here belongs to the serving thread
 * (the one in vu_dev_serve()) unless a field says otherwise. A running
 * queue's struct virtq belongs to the device between ops->queue_start and
 * ops->queue_stop; the serving thread stops a queue before it changes
 * anything that queue reads.
 */
#ifndef VFSD_VHOST_I_H
#define VFSD_VHOST_I_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "vhost.h"
#include "vhost_proto.h"

/* One received message, with the fds that came with it. */
struct vu_msg {
	struct vhost_user_hdr hdr;
	union vhost_user_payload payload;
	int fds[VHOST_USER_MAX_FDS]; /* -1 once a handler took one */
	unsigned int nfds;
	bool fds_truncated; /* more fds came than fit: refuse it */
};

/* The dirty log as mapped from SET_LOG_BASE's fd. */
struct vu_log {
	struct virtq_log log; /* what the queues are handed */
	void *map_base; /* what mmap() returned */
	size_t map_len;
};

struct vu_xfer; /* vhost_state.c */

/* One mapped region of guest memory. */
struct vu_region {
	struct virtq_mem_region r; /* gpa, size, uaddr, hva */
	void *map_base; /* what mmap() returned */
	size_t map_len;
};

struct vu_queue {
	unsigned int num; /* SET_VRING_NUM; 0 = not set */
	bool addr_set; /* SET_VRING_ADDR accepted */
	uint64_t desc_uaddr, avail_uaddr, used_uaddr;
	uint16_t base; /* SET_VRING_BASE, or the last GET_VRING_BASE */
	int kick_fd; /* -1: none, or polling when kick_set */
	bool kick_set; /* SET_VRING_KICK since the last stop: "started" */
	bool enable; /* SET_VRING_ENABLE */
	bool running; /* the device serves it (queue_start succeeded) */
	/* vq holds live indices to continue from (a queue restarted around
	 * a memory or address change); false: set up afresh from base. */
	bool vq_valid;
	struct virtq vq;
	/* SET_VRING_ADDR's VHOST_VRING_F_LOG: log the used ring, which
	 * lies at guest-physical log_gpa (the message's log address) */
	bool log_used;
	uint64_t log_gpa;

	pthread_mutex_t fd_lock; /* protects call_fd and err_fd */
	int call_fd; /* protected by fd_lock */
	int err_fd; /* protected by fd_lock */
};

struct vu_dev {
	struct vu_dev_info info;
	struct vu_device_ops ops;
	void *opaque;

	uint64_t features; /* acked virtio features */
	uint64_t protocol_features; /* acked protocol features */
	uint8_t status; /* SET_STATUS */
	bool owner; /* SET_OWNER seen */

	/* Guest memory: regions sorted by gpa, and the table published to
	 * the queues (rebuilt on every change; see vhost_mem.c). */
	struct vu_region *regions;
	unsigned int nregions;
	struct virtq_mem *mem; /* NULL until the first table */

	struct vu_queue *queues; /* info.num_queues of them */

	/* Live migration: the dirty log (vhost_log.c; queues see it only
	 * while VHOST_F_LOG_ALL is acked, and it changes only while they
	 * are stopped), the eventfd of SET_LOG_FD, and a device-state
	 * transfer in progress (vhost_state.c). */
	struct vu_log *log;
	int log_fd;
	struct vu_xfer *xfer;

	char why[160]; /* reason of the last refusal or fault */

	pthread_mutex_t conn_lock; /* protects conn_fd and shutdown */
	int conn_fd; /* protected by conn_lock; -1 when not serving */
	bool shutdown; /* protected by conn_lock */
};

/* Handler verdicts. */
enum vu_verdict {
	VU_OK = 0, /* done (a reply, if the request has one, is set) */
	VU_REFUSED, /* not done; dev->why says why; keep serving */
	VU_FATAL, /* the protocol is broken; dev->why says why */
};

/* Record why a message was refused (or why the device broke). */
enum vu_verdict vu_refuse(struct vu_dev *dev, enum vu_verdict v,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* vhost.c: take queues away from the device and give them back. */
void vu_queue_stop(struct vu_dev *dev, unsigned int idx);
void vu_queues_update(struct vu_dev *dev);

/* vhost_mem.c */
enum vu_verdict vu_mem_set_table(struct vu_dev *dev, struct vu_msg *msg);
enum vu_verdict vu_mem_add_region(struct vu_dev *dev, struct vu_msg *msg);
enum vu_verdict vu_mem_rem_region(struct vu_dev *dev, struct vu_msg *msg);
/* Unmap everything (the queues are stopped). */
void vu_mem_clear(struct vu_dev *dev);

/* vhost_log.c: SET_LOG_BASE and SET_LOG_FD; *status is the u64 the
 * frontend gets back for SET_LOG_BASE. */
enum vu_verdict vu_log_set_base(struct vu_dev *dev, struct vu_msg *msg,
				uint64_t *status);
enum vu_verdict vu_log_set_fd(struct vu_dev *dev, struct vu_msg *msg);
/* The log the queues should write now: NULL unless VHOST_F_LOG_ALL is
 * acked and a log is mapped. */
const struct virtq_log *vu_log_active(const struct vu_dev *dev);
/* Forget the log and its eventfd (the queues are stopped). */
void vu_log_clear(struct vu_dev *dev);

/* vhost_state.c: SET_DEVICE_STATE_FD and CHECK_DEVICE_STATE; *status
 * is the u64 reply. vu_state_cancel() ends a transfer in progress
 * (reset, disconnect). */
enum vu_verdict vu_state_set_fd(struct vu_dev *dev, struct vu_msg *msg,
				uint64_t *status);
enum vu_verdict vu_state_check(struct vu_dev *dev, uint64_t *status);
void vu_state_cancel(struct vu_dev *dev);

/* vhost_sock.c: message framing. vu_msg_recv: 1 with a message (its fds
 * in msg->fds), 0 on a clean end of stream, -ECONNRESET when the stream
 * ended inside a message, -EPROTO on a framing fault (dev->why set), or
 * another -errno. */
int vu_msg_recv(struct vu_dev *dev, int fd, struct vu_msg *msg);
/* Send a reply to @request with @len bytes of @payload. 0 or -errno. */
int vu_msg_reply(int fd, uint32_t request, const void *payload, uint32_t len);
/* Close every fd still held by @msg. */
void vu_msg_close_fds(struct vu_msg *msg);

#endif /* VFSD_VHOST_I_H */
