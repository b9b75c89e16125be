/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueues, device side (virtio 1.x, section 2.7).
 *
 * src/vhost/ sets a queue up from the frontend's SET_VRING_* messages
 * (virtq_setup), then a transport thread pops descriptor chains from it
 * (virtq_pop), turns each into iovecs that point straight into guest
 * memory, and returns it with the number of bytes written (virtq_push),
 * notifying the driver when virtq_need_notify() says so.
 *
 * Everything in the ring is guest-controlled and may change under us:
 * every index, address and length is read once and checked; a chain that
 * loops, leaves guest memory, uses an out-of-range head, nests indirect
 * tables, or an avail index that jumps by more than the ring size marks
 * the queue broken (virtq_fault() names the fault) and pops nothing more.
 * No function here asserts, aborts or exits on ring contents.
 *
 * One thread pops from a queue at a time. virtq_push() and the
 * notification helpers may be called from other threads if the caller
 * serialises them (a mutex per queue in the transport).
 */
#ifndef VFSD_VIRTQ_H
#define VFSD_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtq_mem.h"

/* Largest ring the protocol allows (virtio split ring). */
#define VIRTQ_MAX_SIZE 32768

/*
 * Dirty-page log of a live migration (vhost-user VHOST_F_LOG_ALL): one
 * bit per VIRTQ_LOG_PAGE bytes of guest-physical memory, bit (gpa / page)
 * % 8 of byte (gpa / page) / 8, in memory the frontend shares. Bits are
 * only ever set, atomically, by any thread; the mapping belongs to
 * src/vhost/, which changes it only while no queue runs.
 */
#define VIRTQ_LOG_PAGE 4096u

struct virtq_log {
	uint8_t *bits;
	uint64_t size; /* bytes of bitmap */
};

/* Mark the pages of guest-physical [@gpa, @gpa + @len) dirty. Pages past
 * the end of the log are left out: returns false when any was. */
bool virtq_log_range(const struct virtq_log *log, uint64_t gpa, uint64_t len);

struct virtq {
	/* Set by virtq_setup(); the ring memory belongs to the guest. */
	unsigned int num; /* power of two, 1..VIRTQ_MAX_SIZE */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	const struct virtq_mem *mem; /* for descriptor addresses */
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect; /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	/* Dirty logging (virtq_set_log): NULL when off. While on, every
	 * byte the device writes into guest memory (the writable buffers of
	 * a pushed chain, and with log_used the used ring) is marked before
	 * used->idx publishes it. */
	const struct virtq_log *log;
	bool log_used; /* VHOST_VRING_F_LOG: the used ring too */
	uint64_t log_used_gpa; /* guest-physical address of the used ring */
	bool log_missed; /* a write fell outside the log */
	uint64_t log_missed_gpa; /* the first one */

	/* Device state. */
	uint16_t last_avail_idx; /* next avail entry to pop */
	uint16_t used_idx; /* next used entry to fill */
	uint16_t signalled_used; /* used_idx at the last notification */
	bool signalled_used_valid;
	bool no_notify; /* virtq_set_notification(false) in effect */
	unsigned int inflight; /* popped, not yet pushed */
	bool broken;
	char fault[128]; /* why it broke, for the log */
};

/* One popped descriptor chain. */
struct virtq_elem {
	uint16_t head; /* returned in the used ring */
	/* Device-readable buffers first (out_num of them, the driver's
	 * request), then device-writable ones (in_num, for the reply),
	 * both in the iovec array passed to virtq_pop(). */
	unsigned int out_num;
	unsigned int in_num;
	struct iovec *out_iov; /* = iov */
	struct iovec *in_iov; /* = iov + out_num */
};

/*
 * Attach a queue to ring memory already translated by src/vhost/ (ring
 * addresses are frontend virtual addresses; the caller checked each ring
 * part lies inside one region and is suitably aligned). @avail_base is the
 * index from SET_VRING_BASE. @features: the negotiated virtio features.
 * Returns 0 or -EINVAL (bad size or alignment).
 */
int virtq_setup(struct virtq *vq, unsigned int num, void *desc, void *avail,
		void *used, uint16_t avail_base, const struct virtq_mem *mem,
		uint64_t features);
/* Swap the memory table used for descriptor addresses (memory hot-plug);
 * the caller guarantees no pop runs concurrently. */
void virtq_set_mem(struct virtq *vq, const struct virtq_mem *mem);
/* Turn dirty logging on (@log) or off (NULL); with @log_used the used
 * ring, at guest-physical @used_gpa, is logged too. Only while the
 * queue is stopped. */
void virtq_set_log(struct virtq *vq, const struct virtq_log *log, bool log_used,
		   uint64_t used_gpa);

enum virtq_pop_result {
	VIRTQ_EMPTY = 0, /* nothing available */
	VIRTQ_POPPED, /* *elem filled */
	VIRTQ_BROKEN, /* the ring is corrupt: see virtq_fault() */
};

/*
 * Pop the next available chain into @elem, describing its buffers in @iov
 * (room for @iov_max entries; a chain needing more breaks the queue — use
 * at least the ring size). Buffers that cross a memory-region boundary
 * take several iovecs. A readable descriptor after a writable one breaks
 * the queue (virtio requires readable first).
 */
enum virtq_pop_result virtq_pop(struct virtq *vq, struct virtq_elem *elem,
				struct iovec *iov, unsigned int iov_max);

/* Return @elem to the driver through the used ring with @len bytes
 * written into its writable buffers. */
void virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len);

/* Whether the driver wants an interrupt now for what was pushed since the
 * last notification (EVENT_IDX used_event, or VRING_AVAIL_F_NO_INTERRUPT).
 * Call after virtq_push(); when it returns true, signal the call fd. */
bool virtq_need_notify(struct virtq *vq);

/*
 * Ask the driver to kick (true) or not (false) when it adds buffers
 * (VRING_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX). After enabling,
 * re-check virtq_avail_pending() to close the race with a driver that
 * added buffers meanwhile.
 */
void virtq_set_notification(struct virtq *vq, bool enable);
/* Whether buffers are available to pop (reads the avail index). */
bool virtq_avail_pending(struct virtq *vq);

/* The index to report in GET_VRING_BASE (the next avail entry). */
uint16_t virtq_avail_base(const struct virtq *vq);

/* Why the queue broke ("" while healthy). */
const char *virtq_fault(const struct virtq *vq);

#endif /* VFSD_VIRTQ_H */
