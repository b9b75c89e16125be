// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user backend: device state, message dispatch and queue lifecycle.
 *
 * A message flows: vu_dev_serve() -> vu_msg_recv() (vhost_sock.c: header,
 * version and size bound, payload, fds) -> dispatch(): look the request up
 * in handlers[] (unknown: refused), check the generic rules (fds that did
 * not fit, protocol feature negotiated, exact payload size, fd count) ->
 * the handler checks its own fields (indices, sizes, addresses) and acts
 * -> the reply (GET_*), or a REPLY_ACK when the frontend set NEED_REPLY
 * -> every fd the handler did not take is closed.
 *
 * Queues: a queue runs (ops->queue_start) when it has a size, ring
 * addresses that translate into guest memory, a kick fd (or polling), and
 * is enabled (always, unless VHOST_USER_F_PROTOCOL_FEATURES was acked,
 * when SET_VRING_ENABLE decides — the spec's rule). Anything that changes
 * what a running queue reads stops it first (ops->queue_stop) and starts
 * it again afterwards from its current indices. GET_VRING_BASE stops the
 * queue and forgets its kick fd: it starts again on the next kick fd.
 *
 * Live migration: the dirty log lives in vhost_log.c, the device-state
 * transfer in vhost_state.c; both are device-agnostic (the device
 * serializes its own state through ops->state_save/state_load).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vhost_types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "log/log.h"
#include "vhost_i.h"

/* Transport feature bits the backend implements itself. */
#define VU_TRANSPORT_FEATURES                                            \
	((1ULL << VIRTIO_F_VERSION_1) |                                  \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                         \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VHOST_F_LOG_ALL) | \
	 (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))

/* Bits 24..41 belong to the transport; a device may not offer them. */
#define VU_RESERVED_FEATURES (((1ULL << 42) - 1) & ~((1ULL << 24) - 1))

enum vu_verdict vu_refuse(struct vu_dev *dev, enum vu_verdict v,
			  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->why, sizeof(dev->why), fmt, ap);
	va_end(ap);
	return v;
}

static uint64_t offered_features(const struct vu_dev *dev)
{
	return VU_TRANSPORT_FEATURES | dev->info.device_features;
}

static uint64_t offered_protocol_features(const struct vu_dev *dev)
{
	uint64_t pf = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
		      (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		      (1ULL << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
		      (1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
		      (1ULL << VHOST_USER_PROTOCOL_F_STATUS) |
		      (1ULL << VHOST_USER_PROTOCOL_F_LOG_SHMFD);

	if (dev->info.config_size > 0)
		pf |= 1ULL << VHOST_USER_PROTOCOL_F_CONFIG;
	if (dev->ops.state_save && dev->ops.state_load)
		pf |= 1ULL << VHOST_USER_PROTOCOL_F_DEVICE_STATE;
	return pf;
}

static bool has_protocol_feature(const struct vu_dev *dev, unsigned int bit)
{
	return dev->protocol_features & (1ULL << bit);
}

/* ---- queues ---------------------------------------------------------- */

static void queue_init(struct vu_queue *q)
{
	memset(q, 0, sizeof(*q));
	q->kick_fd = -1;
	q->call_fd = -1;
	q->err_fd = -1;
	pthread_mutex_init(&q->fd_lock, NULL);
}

/* Set the call or error fd of @q to @fd (-1: none), closing the old one. */
static void queue_swap_fd(struct vu_queue *q, int *slot, int fd)
{
	int old;

	pthread_mutex_lock(&q->fd_lock);
	old = *slot;
	*slot = fd;
	pthread_mutex_unlock(&q->fd_lock);
	if (old >= 0)
		close(old);
}

/* Back to the state of a fresh connection (the queue is stopped). */
static void queue_reset(struct vu_queue *q)
{
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = -1;
	queue_swap_fd(q, &q->call_fd, -1);
	queue_swap_fd(q, &q->err_fd, -1);
	q->num = 0;
	q->addr_set = false;
	q->desc_uaddr = q->avail_uaddr = q->used_uaddr = 0;
	q->base = 0;
	q->kick_set = false;
	q->enable = false;
	q->vq_valid = false;
	q->log_used = false;
	q->log_gpa = 0;
	memset(&q->vq, 0, sizeof(q->vq));
}

static bool queue_enabled(const struct vu_dev *dev, const struct vu_queue *q)
{
	if (!(dev->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
		return true;
	return q->enable;
}

static bool queue_should_run(const struct vu_dev *dev, const struct vu_queue *q)
{
	return q->num && q->addr_set && q->kick_set && dev->mem &&
	       queue_enabled(dev, q);
}

/* Ring part sizes for a split ring of @num entries (with the EVENT_IDX
 * words, which are there whether or not the feature is used). */
static uint64_t desc_bytes(unsigned int num)
{
	return 16ULL * num;
}

static uint64_t avail_bytes(unsigned int num)
{
	return 4 + 2ULL * num + 2;
}

static uint64_t used_bytes(unsigned int num)
{
	return 4 + 8ULL * num + 2;
}

/* Translate and check one ring part; NULL with dev->why set if bad. */
static void *ring_part(struct vu_dev *dev, unsigned int idx, const char *what,
		       uint64_t uaddr, uint64_t len, uintptr_t align)
{
	void *p;

	if (uaddr & (align - 1)) {
		vu_refuse(dev, VU_REFUSED,
			  "queue %u: %s ring at 0x%llx is not %u-byte aligned",
			  idx, what, (unsigned long long)uaddr,
			  (unsigned int)align);
		return NULL;
	}
	p = dev->mem ? virtq_mem_uaddr(dev->mem, uaddr, len) : NULL;
	if (!p) {
		vu_refuse(
			dev, VU_REFUSED,
			"queue %u: %s ring [0x%llx, +0x%llx) is not inside one memory region",
			idx, what, (unsigned long long)uaddr,
			(unsigned long long)len);
		return NULL;
	}
	if ((uintptr_t)p & (align - 1)) {
		vu_refuse(dev, VU_REFUSED,
			  "queue %u: %s ring maps to a misaligned address", idx,
			  what);
		return NULL;
	}
	return p;
}

static bool translate_rings(struct vu_dev *dev, unsigned int idx,
			    const struct vu_queue *q, unsigned int num,
			    uint64_t desc, uint64_t avail, uint64_t used,
			    void **d, void **a, void **u)
{
	*d = ring_part(dev, idx, "descriptor", desc, desc_bytes(num), 16);
	if (!*d)
		return false;
	*a = ring_part(dev, idx, "available", avail, avail_bytes(num), 2);
	if (!*a)
		return false;
	*u = ring_part(dev, idx, "used", used, used_bytes(num), 4);
	return *u != NULL;
}

void vu_queue_stop(struct vu_dev *dev, unsigned int idx)
{
	struct vu_queue *q = &dev->queues[idx];

	if (!q->running)
		return;
	dev->ops.queue_stop(dev->opaque, idx);
	q->running = false;
	if (q->vq.log_missed) {
		log_warn(
			"vhost-user: queue %u wrote guest memory the dirty log does not cover (gpa 0x%llx)",
			idx, (unsigned long long)q->vq.log_missed_gpa);
		q->vq.log_missed = false;
	}
	/* A queue set up afresh later (new size) goes on from here, not
	 * from the base it was first given. */
	q->base = virtq_avail_base(&q->vq);
}

/* Set up q->vq and hand it to the device. VU_REFUSED with dev->why set
 * when the rings do not translate or the device declines. */
static enum vu_verdict queue_start(struct vu_dev *dev, unsigned int idx)
{
	struct vu_queue *q = &dev->queues[idx];
	void *d, *a, *u;
	int rc;

	if (!translate_rings(dev, idx, q, q->num, q->desc_uaddr, q->avail_uaddr,
			     q->used_uaddr, &d, &a, &u))
		return VU_REFUSED;

	if (q->vq_valid) {
		/* Continue exactly where the queue stopped. */
		struct virtq old = q->vq;

		rc = virtq_setup(&q->vq, q->num, d, a, u,
				 virtq_avail_base(&old), dev->mem,
				 dev->features);
		if (rc == 0) {
			q->vq.last_avail_idx = old.last_avail_idx;
			q->vq.used_idx = old.used_idx;
			q->vq.signalled_used = old.signalled_used;
			q->vq.signalled_used_valid = old.signalled_used_valid;
			q->vq.inflight = old.inflight;
			q->vq.broken = old.broken;
			memcpy(q->vq.fault, old.fault, sizeof(q->vq.fault));
		}
	} else {
		rc = virtq_setup(&q->vq, q->num, d, a, u, q->base, dev->mem,
				 dev->features);
	}
	if (rc < 0)
		return vu_refuse(dev, VU_REFUSED, "queue %u: ring setup: %s",
				 idx, strerror(-rc));
	q->vq_valid = true;
	virtq_set_log(&q->vq, vu_log_active(dev), q->log_used, q->log_gpa);

	rc = dev->ops.queue_start(dev->opaque, idx, &q->vq, q->kick_fd);
	if (rc < 0)
		return vu_refuse(dev, VU_REFUSED,
				 "queue %u: the device did not start it: %s",
				 idx, strerror(-rc));
	q->running = true;
	log_debug("vhost-user: queue %u started (size %u, avail base %u)", idx,
		  q->num, virtq_avail_base(&q->vq));
	return VU_OK;
}

/* Start or stop queue @idx as its state now says. */
static enum vu_verdict queue_update(struct vu_dev *dev, unsigned int idx)
{
	struct vu_queue *q = &dev->queues[idx];
	bool run = queue_should_run(dev, q);

	if (q->running && !run)
		vu_queue_stop(dev, idx);
	else if (!q->running && run)
		return queue_start(dev, idx);
	return VU_OK;
}

void vu_queues_update(struct vu_dev *dev)
{
	for (unsigned int i = 0; i < dev->info.num_queues; i++) {
		if (queue_update(dev, i) != VU_OK)
			log_ratelimited(
				LOG_LEVEL_WARN,
				"vhost-user: queue %u stays stopped: %s", i,
				dev->why);
	}
}

static void queues_stop_all(struct vu_dev *dev)
{
	for (unsigned int i = 0; i < dev->info.num_queues; i++)
		vu_queue_stop(dev, i);
}

/* Every queue stopped and forgotten, device state back to initial. */
static void device_reset(struct vu_dev *dev)
{
	vu_state_cancel(dev);
	queues_stop_all(dev);
	for (unsigned int i = 0; i < dev->info.num_queues; i++)
		queue_reset(&dev->queues[i]);
	dev->features = 0;
	dev->status = 0;
	if (dev->ops.reset)
		dev->ops.reset(dev->opaque);
}

/* ---- message handlers ------------------------------------------------ */

/* A reply payload; len < 0 while the handler prepared none. */
struct vu_reply {
	union vhost_user_payload p;
	int32_t len;
};

typedef enum vu_verdict (*vu_handler_fn)(struct vu_dev *dev, struct vu_msg *msg,
					 struct vu_reply *reply);

static void reply_u64(struct vu_reply *reply, uint64_t v)
{
	reply->p.u64 = v;
	reply->len = sizeof(uint64_t);
}

static enum vu_verdict check_index(struct vu_dev *dev, uint32_t idx)
{
	if (idx >= dev->info.num_queues)
		return vu_refuse(dev, VU_REFUSED,
				 "vring index %u out of range (%u queues)", idx,
				 dev->info.num_queues);
	return VU_OK;
}

/* Take fd @i out of @msg so it is not closed with the message. */
static int take_fd(struct vu_msg *msg, unsigned int i)
{
	int fd = msg->fds[i];

	msg->fds[i] = -1;
	return fd;
}

static enum vu_verdict h_get_features(struct vu_dev *dev, struct vu_msg *msg,
				      struct vu_reply *reply)
{
	reply_u64(reply, offered_features(dev));
	return VU_OK;
}

static enum vu_verdict h_set_features(struct vu_dev *dev, struct vu_msg *msg,
				      struct vu_reply *reply)
{
	uint64_t f = msg->payload.u64;
	uint64_t extra = f & ~offered_features(dev);

	if (extra)
		return vu_refuse(dev, VU_REFUSED,
				 "features 0x%llx were not offered",
				 (unsigned long long)extra);
	if (f != dev->features) {
		/* Ring features and the enable rule may change: the queues
		 * restart with the new set. */
		queues_stop_all(dev);
		dev->features = f;
		if (dev->ops.set_features)
			dev->ops.set_features(dev->opaque, f);
		vu_queues_update(dev);
	}
	return VU_OK;
}

static enum vu_verdict h_get_protocol_features(struct vu_dev *dev,
					       struct vu_msg *msg,
					       struct vu_reply *reply)
{
	reply_u64(reply, offered_protocol_features(dev));
	return VU_OK;
}

static enum vu_verdict h_set_protocol_features(struct vu_dev *dev,
					       struct vu_msg *msg,
					       struct vu_reply *reply)
{
	uint64_t pf = msg->payload.u64;
	uint64_t extra = pf & ~offered_protocol_features(dev);

	if (extra)
		return vu_refuse(dev, VU_REFUSED,
				 "protocol features 0x%llx were not offered",
				 (unsigned long long)extra);
	dev->protocol_features = pf;
	return VU_OK;
}

static enum vu_verdict h_set_owner(struct vu_dev *dev, struct vu_msg *msg,
				   struct vu_reply *reply)
{
	dev->owner = true;
	return VU_OK;
}

/* Deprecated by the spec, which recommends ignoring it. */
static enum vu_verdict h_reset_owner(struct vu_dev *dev, struct vu_msg *msg,
				     struct vu_reply *reply)
{
	return VU_OK;
}

static enum vu_verdict h_set_mem_table(struct vu_dev *dev, struct vu_msg *msg,
				       struct vu_reply *reply)
{
	return vu_mem_set_table(dev, msg);
}

static enum vu_verdict h_get_max_mem_slots(struct vu_dev *dev,
					   struct vu_msg *msg,
					   struct vu_reply *reply)
{
	reply_u64(reply, VIRTQ_MEM_MAX_REGIONS);
	return VU_OK;
}

static enum vu_verdict h_add_mem_reg(struct vu_dev *dev, struct vu_msg *msg,
				     struct vu_reply *reply)
{
	return vu_mem_add_region(dev, msg);
}

static enum vu_verdict h_rem_mem_reg(struct vu_dev *dev, struct vu_msg *msg,
				     struct vu_reply *reply)
{
	return vu_mem_rem_region(dev, msg);
}

static enum vu_verdict h_set_vring_num(struct vu_dev *dev, struct vu_msg *msg,
				       struct vu_reply *reply)
{
	const struct vhost_vring_state *s = &msg->payload.state;
	struct vu_queue *q;

	if (check_index(dev, s->index) != VU_OK)
		return VU_REFUSED;
	if (s->num == 0 || s->num > VIRTQ_MAX_SIZE || (s->num & (s->num - 1)))
		return vu_refuse(
			dev, VU_REFUSED,
			"queue %u: size %u is not a power of two in 1..%u",
			s->index, s->num, VIRTQ_MAX_SIZE);
	q = &dev->queues[s->index];
	vu_queue_stop(dev, s->index);
	q->num = s->num;
	q->vq_valid = false;
	return queue_update(dev, s->index);
}

static enum vu_verdict h_set_vring_addr(struct vu_dev *dev, struct vu_msg *msg,
					struct vu_reply *reply)
{
	const struct vhost_vring_addr *va = &msg->payload.addr;
	struct vu_queue *q;
	void *d, *a, *u;

	if (check_index(dev, va->index) != VU_OK)
		return VU_REFUSED;
	/* VHOST_VRING_F_LOG: log the used ring at log_guest_addr while
	 * VHOST_F_LOG_ALL is on (vhost_log.c checks the log covers it). */
	if (va->flags & ~(1u << VHOST_VRING_F_LOG))
		return vu_refuse(dev, VU_REFUSED, "queue %u: ring flags 0x%x",
				 va->index, va->flags);
	q = &dev->queues[va->index];
	if (!q->num)
		return vu_refuse(dev, VU_REFUSED,
				 "queue %u: addresses before SET_VRING_NUM",
				 va->index);
	if (!translate_rings(dev, va->index, q, q->num, va->desc_user_addr,
			     va->avail_user_addr, va->used_user_addr, &d, &a,
			     &u))
		return VU_REFUSED;

	vu_queue_stop(dev, va->index);
	q->desc_uaddr = va->desc_user_addr;
	q->avail_uaddr = va->avail_user_addr;
	q->used_uaddr = va->used_user_addr;
	q->addr_set = true;
	q->log_used = va->flags & (1u << VHOST_VRING_F_LOG);
	q->log_gpa = va->log_guest_addr;
	return queue_update(dev, va->index);
}

static enum vu_verdict h_set_vring_base(struct vu_dev *dev, struct vu_msg *msg,
					struct vu_reply *reply)
{
	const struct vhost_vring_state *s = &msg->payload.state;
	struct vu_queue *q;

	if (check_index(dev, s->index) != VU_OK)
		return VU_REFUSED;
	if (s->num > UINT16_MAX)
		return vu_refuse(dev, VU_REFUSED,
				 "queue %u: base %u does not fit a split ring",
				 s->index, s->num);
	q = &dev->queues[s->index];
	vu_queue_stop(dev, s->index);
	q->base = (uint16_t)s->num;
	q->vq_valid = false;
	return queue_update(dev, s->index);
}

static enum vu_verdict h_get_vring_base(struct vu_dev *dev, struct vu_msg *msg,
					struct vu_reply *reply)
{
	const struct vhost_vring_state *s = &msg->payload.state;
	struct vu_queue *q;

	if (check_index(dev, s->index) != VU_OK)
		return VU_REFUSED; /* no reply: dispatch makes it fatal */
	q = &dev->queues[s->index];
	vu_queue_stop(dev, s->index);
	if (q->vq_valid)
		q->base = virtq_avail_base(&q->vq);
	q->vq_valid = false;
	/* Stopped until the next kick fd (the spec's ring states). */
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = -1;
	q->kick_set = false;

	reply->p.state.index = s->index;
	reply->p.state.num = q->base;
	reply->len = sizeof(reply->p.state);
	return VU_OK;
}

/* The u64 of SET_VRING_KICK/CALL/ERR: index, "no fd" flag, and the fd
 * count that goes with it. */
static enum vu_verdict parse_vring_fd(struct vu_dev *dev, struct vu_msg *msg,
				      unsigned int *idx, int *fd)
{
	uint64_t v = msg->payload.u64;
	bool nofd = v & VHOST_USER_VRING_NOFD_MASK;

	if (v &
	    ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
		return vu_refuse(dev, VU_REFUSED, "reserved bits in 0x%llx",
				 (unsigned long long)v);
	*idx = (unsigned int)(v & VHOST_USER_VRING_IDX_MASK);
	if (check_index(dev, *idx) != VU_OK)
		return VU_REFUSED;
	if (msg->nfds != (nofd ? 0u : 1u))
		return vu_refuse(dev, VU_REFUSED,
				 "queue %u: %u fds with the no-fd flag %s",
				 *idx, msg->nfds, nofd ? "set" : "clear");
	*fd = nofd ? -1 : take_fd(msg, 0);
	return VU_OK;
}

static enum vu_verdict h_set_vring_kick(struct vu_dev *dev, struct vu_msg *msg,
					struct vu_reply *reply)
{
	struct vu_queue *q;
	/* Set by parse_vring_fd(); initialised for gcc -O3. */
	unsigned int idx = 0;
	int fd = -1;

	if (parse_vring_fd(dev, msg, &idx, &fd) != VU_OK)
		return VU_REFUSED;
	q = &dev->queues[idx];
	vu_queue_stop(dev, idx);
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = fd;
	q->kick_set = true;
	return queue_update(dev, idx);
}

static enum vu_verdict h_set_vring_call(struct vu_dev *dev, struct vu_msg *msg,
					struct vu_reply *reply)
{
	/* Set by parse_vring_fd(); initialised for gcc -O3. */
	unsigned int idx = 0;
	int fd = -1;

	if (parse_vring_fd(dev, msg, &idx, &fd) != VU_OK)
		return VU_REFUSED;
	queue_swap_fd(&dev->queues[idx], &dev->queues[idx].call_fd, fd);
	return VU_OK;
}

static enum vu_verdict h_set_vring_err(struct vu_dev *dev, struct vu_msg *msg,
				       struct vu_reply *reply)
{
	/* Set by parse_vring_fd(); initialised for gcc -O3. */
	unsigned int idx = 0;
	int fd = -1;

	if (parse_vring_fd(dev, msg, &idx, &fd) != VU_OK)
		return VU_REFUSED;
	queue_swap_fd(&dev->queues[idx], &dev->queues[idx].err_fd, fd);
	return VU_OK;
}

static enum vu_verdict h_set_vring_enable(struct vu_dev *dev,
					  struct vu_msg *msg,
					  struct vu_reply *reply)
{
	const struct vhost_vring_state *s = &msg->payload.state;

	if (check_index(dev, s->index) != VU_OK)
		return VU_REFUSED;
	if (s->num > 1)
		return vu_refuse(dev, VU_REFUSED, "queue %u: enable value %u",
				 s->index, s->num);
	dev->queues[s->index].enable = s->num;
	return queue_update(dev, s->index);
}

static enum vu_verdict h_get_queue_num(struct vu_dev *dev, struct vu_msg *msg,
				       struct vu_reply *reply)
{
	reply_u64(reply, dev->info.num_queues);
	return VU_OK;
}

/* Check the GET/SET_CONFIG header against the message and config size. */
static enum vu_verdict check_config(struct vu_dev *dev,
				    const struct vu_msg *msg)
{
	const struct vhost_user_config *c = &msg->payload.config;

	if (msg->hdr.size < VHOST_USER_CONFIG_HDR_SIZE)
		return vu_refuse(dev, VU_REFUSED, "payload of %u bytes",
				 msg->hdr.size);
	if (c->size > VHOST_USER_MAX_CONFIG_SIZE ||
	    msg->hdr.size != VHOST_USER_CONFIG_HDR_SIZE + c->size)
		return vu_refuse(dev, VU_REFUSED,
				 "config size %u in a payload of %u bytes",
				 c->size, msg->hdr.size);
	if ((uint64_t)c->offset + c->size > dev->info.config_size)
		return vu_refuse(dev, VU_REFUSED,
				 "config range [%u, +%u) beyond %zu bytes",
				 c->offset, c->size, dev->info.config_size);
	return VU_OK;
}

static enum vu_verdict h_get_config(struct vu_dev *dev, struct vu_msg *msg,
				    struct vu_reply *reply)
{
	const struct vhost_user_config *c = &msg->payload.config;
	int rc;

	if (check_config(dev, msg) != VU_OK)
		return VU_REFUSED;
	reply->p.config.offset = c->offset;
	reply->p.config.size = c->size;
	reply->p.config.flags = c->flags;
	rc = dev->ops.get_config ?
		     dev->ops.get_config(dev->opaque, c->offset,
					 reply->p.config.region, c->size) :
		     -ENOTSUP;
	if (rc < 0)
		return vu_refuse(dev, VU_REFUSED, "device: %s", strerror(-rc));
	reply->len = (int32_t)(VHOST_USER_CONFIG_HDR_SIZE + c->size);
	return VU_OK;
}

static enum vu_verdict h_set_config(struct vu_dev *dev, struct vu_msg *msg,
				    struct vu_reply *reply)
{
	const struct vhost_user_config *c = &msg->payload.config;
	int rc;

	if (check_config(dev, msg) != VU_OK)
		return VU_REFUSED;
	if (c->flags != VHOST_SET_CONFIG_TYPE_FRONTEND &&
	    c->flags != VHOST_SET_CONFIG_TYPE_MIGRATION)
		return vu_refuse(dev, VU_REFUSED, "config flags 0x%x",
				 c->flags);
	if (!dev->ops.set_config)
		return vu_refuse(dev, VU_REFUSED,
				 "the config space is read-only");
	rc = dev->ops.set_config(dev->opaque, c->offset, c->region, c->size,
				 c->flags);
	if (rc < 0)
		return vu_refuse(dev, VU_REFUSED, "device: %s", strerror(-rc));
	return VU_OK;
}

static enum vu_verdict h_set_status(struct vu_dev *dev, struct vu_msg *msg,
				    struct vu_reply *reply)
{
	if (msg->payload.u64 > UINT8_MAX)
		return vu_refuse(dev, VU_REFUSED, "status 0x%llx",
				 (unsigned long long)msg->payload.u64);
	dev->status = (uint8_t)msg->payload.u64;
	return VU_OK;
}

static enum vu_verdict h_get_status(struct vu_dev *dev, struct vu_msg *msg,
				    struct vu_reply *reply)
{
	reply_u64(reply, dev->status);
	return VU_OK;
}

/* Rings and device state reset; memory and the negotiated protocol
 * features stay (they belong to the connection). */
static enum vu_verdict h_reset_device(struct vu_dev *dev, struct vu_msg *msg,
				      struct vu_reply *reply)
{
	device_reset(dev);
	return VU_OK;
}

/* With LOG_SHMFD the frontend waits for a u64: 0, or non-zero when the
 * log was refused (vhost_log.c names why). */
static enum vu_verdict h_set_log_base(struct vu_dev *dev, struct vu_msg *msg,
				      struct vu_reply *reply)
{
	uint64_t status = 1;
	enum vu_verdict v = vu_log_set_base(dev, msg, &status);

	reply_u64(reply, status);
	return v;
}

static enum vu_verdict h_set_log_fd(struct vu_dev *dev, struct vu_msg *msg,
				    struct vu_reply *reply)
{
	return vu_log_set_fd(dev, msg);
}

static enum vu_verdict h_set_device_state_fd(struct vu_dev *dev,
					     struct vu_msg *msg,
					     struct vu_reply *reply)
{
	uint64_t status = 1;
	enum vu_verdict v = vu_state_set_fd(dev, msg, &status);

	reply_u64(reply, status);
	return v;
}

static enum vu_verdict h_check_device_state(struct vu_dev *dev,
					    struct vu_msg *msg,
					    struct vu_reply *reply)
{
	uint64_t status = 1;
	enum vu_verdict v = vu_state_check(dev, &status);

	reply_u64(reply, status);
	return v;
}

#define VU_SIZE_VAR (-1) /* the handler checks the payload size */
#define VU_NO_PF (-1) /* no protocol feature needed */

struct vu_handler {
	const char *name;
	vu_handler_fn fn; /* NULL: known but not supported */
	int32_t size; /* exact payload size, or VU_SIZE_VAR */
	uint8_t max_fds;
	bool has_reply; /* the request solicits a reply */
	int8_t pfeature; /* protocol feature it needs, or VU_NO_PF */
};

#define H(req, f, sz, fds, rep, pf)              \
	[VHOST_USER_##req] = { .name = #req,     \
			       .fn = f,          \
			       .size = sz,       \
			       .max_fds = fds,   \
			       .has_reply = rep, \
			       .pfeature = pf }
#define H_UNSUPPORTED(req) [VHOST_USER_##req] = { .name = #req }
#define PF(x) VHOST_USER_PROTOCOL_F_##x

static const struct vu_handler handlers[VHOST_USER_REQUEST_MAX] = {
	H(GET_FEATURES, h_get_features, 0, 0, true, VU_NO_PF),
	H(SET_FEATURES, h_set_features, 8, 0, false, VU_NO_PF),
	H(SET_OWNER, h_set_owner, 0, 0, false, VU_NO_PF),
	H(RESET_OWNER, h_reset_owner, 0, 0, false, VU_NO_PF),
	H(SET_MEM_TABLE, h_set_mem_table, VU_SIZE_VAR,
	  VHOST_MEMORY_BASELINE_NREGIONS, false, VU_NO_PF),
	H(SET_LOG_BASE, h_set_log_base, VU_SIZE_VAR, 1, true, PF(LOG_SHMFD)),
	H(SET_LOG_FD, h_set_log_fd, VU_SIZE_VAR, 1, false, VU_NO_PF),
	H(SET_VRING_NUM, h_set_vring_num, 8, 0, false, VU_NO_PF),
	H(SET_VRING_ADDR, h_set_vring_addr, sizeof(struct vhost_vring_addr), 0,
	  false, VU_NO_PF),
	H(SET_VRING_BASE, h_set_vring_base, 8, 0, false, VU_NO_PF),
	H(GET_VRING_BASE, h_get_vring_base, 8, 0, true, VU_NO_PF),
	H(SET_VRING_KICK, h_set_vring_kick, 8, 1, false, VU_NO_PF),
	H(SET_VRING_CALL, h_set_vring_call, 8, 1, false, VU_NO_PF),
	H(SET_VRING_ERR, h_set_vring_err, 8, 1, false, VU_NO_PF),
	H(GET_PROTOCOL_FEATURES, h_get_protocol_features, 0, 0, true, VU_NO_PF),
	H(SET_PROTOCOL_FEATURES, h_set_protocol_features, 8, 0, false,
	  VU_NO_PF),
	H(GET_QUEUE_NUM, h_get_queue_num, 0, 0, true, VU_NO_PF),
	H(SET_VRING_ENABLE, h_set_vring_enable, 8, 0, false, VU_NO_PF),
	H_UNSUPPORTED(SEND_RARP),
	H_UNSUPPORTED(NET_SET_MTU),
	H_UNSUPPORTED(SET_BACKEND_REQ_FD),
	H_UNSUPPORTED(IOTLB_MSG),
	H_UNSUPPORTED(SET_VRING_ENDIAN),
	H(GET_CONFIG, h_get_config, VU_SIZE_VAR, 0, true, PF(CONFIG)),
	H(SET_CONFIG, h_set_config, VU_SIZE_VAR, 0, false, PF(CONFIG)),
	H_UNSUPPORTED(CREATE_CRYPTO_SESSION),
	H_UNSUPPORTED(CLOSE_CRYPTO_SESSION),
	H_UNSUPPORTED(POSTCOPY_ADVISE),
	H_UNSUPPORTED(POSTCOPY_LISTEN),
	H_UNSUPPORTED(POSTCOPY_END),
	H_UNSUPPORTED(GET_INFLIGHT_FD),
	H_UNSUPPORTED(SET_INFLIGHT_FD),
	H_UNSUPPORTED(GPU_SET_SOCKET),
	H(RESET_DEVICE, h_reset_device, 0, 0, false, PF(RESET_DEVICE)),
	H_UNSUPPORTED(VRING_KICK),
	H(GET_MAX_MEM_SLOTS, h_get_max_mem_slots, 0, 0, true,
	  PF(CONFIGURE_MEM_SLOTS)),
	H(ADD_MEM_REG, h_add_mem_reg, VU_SIZE_VAR, 1, false,
	  PF(CONFIGURE_MEM_SLOTS)),
	H(REM_MEM_REG, h_rem_mem_reg, VU_SIZE_VAR, 1, false,
	  PF(CONFIGURE_MEM_SLOTS)),
	H(SET_STATUS, h_set_status, 8, 0, false, PF(STATUS)),
	H(GET_STATUS, h_get_status, 0, 0, true, PF(STATUS)),
	H_UNSUPPORTED(GET_SHARED_OBJECT),
	H(SET_DEVICE_STATE_FD, h_set_device_state_fd,
	  sizeof(struct vhost_user_transfer_state), 1, true, PF(DEVICE_STATE)),
	H(CHECK_DEVICE_STATE, h_check_device_state, 0, 0, true,
	  PF(DEVICE_STATE)),
};

static const char *request_name(uint32_t req)
{
	if (req < VHOST_USER_REQUEST_MAX && handlers[req].name)
		return handlers[req].name;
	return "unknown request";
}

/* Generic checks every request gets before its handler runs. */
static enum vu_verdict precheck(struct vu_dev *dev, const struct vu_msg *msg,
				const struct vu_handler *h)
{
	if (!h || !h->fn)
		return vu_refuse(dev, VU_REFUSED, "request %u not supported",
				 msg->hdr.request);
	if (msg->fds_truncated)
		return vu_refuse(dev, VU_REFUSED, "more than %d fds",
				 VHOST_USER_MAX_FDS);
	if (h->pfeature != VU_NO_PF &&
	    !has_protocol_feature(dev, (unsigned int)h->pfeature))
		return vu_refuse(dev, VU_REFUSED,
				 "needs protocol feature %d, not negotiated",
				 h->pfeature);
	if (h->size != VU_SIZE_VAR && msg->hdr.size != (uint32_t)h->size)
		return vu_refuse(dev, VU_REFUSED,
				 "payload of %u bytes (expects %d)",
				 msg->hdr.size, h->size);
	if (msg->nfds > h->max_fds)
		return vu_refuse(dev, VU_REFUSED, "%u fds (at most %u)",
				 msg->nfds, h->max_fds);
	return VU_OK;
}

/* Mark the device broken: one log line, the device told. */
static int device_broken(struct vu_dev *dev, const char *name)
{
	log_error("vhost-user: frontend broke the protocol (%s): %s", name,
		  dev->why);
	if (dev->ops.broken)
		dev->ops.broken(dev->opaque, dev->why);
	return -EPROTO;
}

/* Handle one message; 0 to go on, or -errno to end the connection. */
static int dispatch(struct vu_dev *dev, int conn_fd, struct vu_msg *msg)
{
	uint32_t req = msg->hdr.request;
	const struct vu_handler *h =
		req < VHOST_USER_REQUEST_MAX ? &handlers[req] : NULL;
	const char *name = request_name(req);
	struct vu_reply reply = { .len = -1 };
	bool has_reply = h && h->fn && h->has_reply;
	enum vu_verdict v;
	int rc = 0;

	dev->why[0] = '\0';
	v = precheck(dev, msg, h);
	if (v == VU_OK)
		v = h->fn(dev, msg, &reply);
	vu_msg_close_fds(msg);

	if (v == VU_REFUSED && req == VHOST_USER_GET_CONFIG)
		reply.len = 0; /* the spec's error answer: empty payload */
	if (v == VU_REFUSED && reply.len < 0 &&
	    (req == VHOST_USER_SET_LOG_BASE ||
	     req == VHOST_USER_SET_DEVICE_STATE_FD ||
	     req == VHOST_USER_CHECK_DEVICE_STATE))
		reply_u64(&reply, 1); /* their answer is a u64 status */
	if (v == VU_REFUSED && has_reply && reply.len < 0) {
		/* The frontend waits for an answer we cannot give. */
		v = VU_FATAL;
	}
	if (v == VU_FATAL)
		return device_broken(dev, name);
	if (v == VU_REFUSED)
		log_ratelimited(LOG_LEVEL_WARN, "vhost-user: %s refused: %s",
				name, dev->why);

	if (has_reply) {
		rc = vu_msg_reply(conn_fd, req, &reply.p, (uint32_t)reply.len);
	} else if (msg->hdr.flags & VHOST_USER_NEED_REPLY_MASK) {
		uint64_t ack = v == VU_OK ? 0 : 1;

		rc = vu_msg_reply(conn_fd, req, &ack, sizeof(ack));
	}
	return rc;
}

/* ---- device ---------------------------------------------------------- */

int vu_dev_new(const struct vu_dev_info *info, const struct vu_device_ops *ops,
	       void *opaque, struct vu_dev **out)
{
	struct vu_dev *dev;

	if (!info || !ops || !out || !ops->queue_start || !ops->queue_stop ||
	    info->num_queues == 0 || info->num_queues > VU_MAX_QUEUES ||
	    (info->device_features & VU_RESERVED_FEATURES) ||
	    (info->config_size && !ops->get_config))
		return -EINVAL;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->queues = calloc(info->num_queues, sizeof(*dev->queues));
	if (!dev->queues) {
		free(dev);
		return -ENOMEM;
	}
	dev->info = *info;
	dev->ops = *ops;
	dev->opaque = opaque;
	for (unsigned int i = 0; i < info->num_queues; i++)
		queue_init(&dev->queues[i]);
	pthread_mutex_init(&dev->conn_lock, NULL);
	dev->conn_fd = -1;
	dev->log_fd = -1;
	*out = dev;
	return 0;
}

void vu_dev_free(struct vu_dev *dev)
{
	if (!dev)
		return;
	for (unsigned int i = 0; i < dev->info.num_queues; i++) {
		queue_reset(&dev->queues[i]);
		pthread_mutex_destroy(&dev->queues[i].fd_lock);
	}
	vu_state_cancel(dev);
	vu_log_clear(dev);
	vu_mem_clear(dev);
	pthread_mutex_destroy(&dev->conn_lock);
	free(dev->queues);
	free(dev);
}

uint64_t vu_dev_features(const struct vu_dev *dev)
{
	return dev->features;
}

/* Forget the connection: queues stopped, fds closed, memory unmapped. */
static void connection_teardown(struct vu_dev *dev)
{
	device_reset(dev);
	vu_log_clear(dev);
	vu_mem_clear(dev);
	dev->protocol_features = 0;
	dev->owner = false;
}

int vu_dev_serve(struct vu_dev *dev, int conn_fd)
{
	unsigned long nmsgs = 0;
	struct vu_msg msg;
	int rc;

	pthread_mutex_lock(&dev->conn_lock);
	if (dev->conn_fd >= 0) {
		pthread_mutex_unlock(&dev->conn_lock);
		return -EBUSY;
	}
	if (dev->shutdown) {
		pthread_mutex_unlock(&dev->conn_lock);
		return -ECANCELED;
	}
	dev->conn_fd = conn_fd;
	pthread_mutex_unlock(&dev->conn_lock);

	for (;;) {
		dev->why[0] = '\0';
		rc = vu_msg_recv(dev, conn_fd, &msg);
		if (rc == 0 && nmsgs == 0) {
			/* A probe (is anyone listening?), not a frontend. */
			rc = -ENOTCONN;
			break;
		}
		if (rc == 0) {
			log_info("vhost-user: frontend disconnected");
			break;
		}
		if (rc == -ECONNRESET) {
			log_warn("vhost-user: frontend disconnected: %s",
				 dev->why[0] ? dev->why : "connection reset");
			rc = 0;
			break;
		}
		if (rc == -EPROTO) {
			rc = device_broken(dev, "framing");
			break;
		}
		if (rc < 0) {
			log_error("vhost-user: receive: %s", strerror(-rc));
			break;
		}
		nmsgs++;
		rc = dispatch(dev, conn_fd, &msg);
		if (rc == -EPIPE || rc == -ECONNRESET) {
			log_info("vhost-user: frontend disconnected");
			rc = 0;
			break;
		}
		if (rc < 0)
			break;
	}

	connection_teardown(dev);

	pthread_mutex_lock(&dev->conn_lock);
	dev->conn_fd = -1;
	if (dev->shutdown)
		rc = -ECANCELED;
	pthread_mutex_unlock(&dev->conn_lock);
	return rc;
}

void vu_dev_shutdown(struct vu_dev *dev)
{
	pthread_mutex_lock(&dev->conn_lock);
	dev->shutdown = true;
	if (dev->conn_fd >= 0)
		shutdown(dev->conn_fd, SHUT_RDWR);
	pthread_mutex_unlock(&dev->conn_lock);
}

static void signal_fd(struct vu_dev *dev, unsigned int idx, bool err)
{
	struct vu_queue *q;
	uint64_t one = 1;
	int fd;

	if (idx >= dev->info.num_queues)
		return;
	q = &dev->queues[idx];
	pthread_mutex_lock(&q->fd_lock);
	fd = err ? q->err_fd : q->call_fd;
	/* Under the lock: SET_VRING_CALL may not close it meanwhile. An
	 * eventfd write only fails when the counter would overflow, and
	 * then the driver has a notification pending anyway. */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		log_debug("vhost-user: queue %u: signal: %s", idx,
			  strerror(errno));
	pthread_mutex_unlock(&q->fd_lock);
}

void vu_queue_notify(struct vu_dev *dev, unsigned int idx)
{
	signal_fd(dev, idx, false);
}

void vu_queue_error(struct vu_dev *dev, unsigned int idx)
{
	signal_fd(dev, idx, true);
}
