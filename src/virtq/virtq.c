// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Split virtqueue, device side (virtio 1.x, "Split Virtqueues").
 *
 * How a request flows through here: the driver puts a chain's head index
 * in avail->ring and bumps avail->idx. virtq_pop() reads avail->idx once
 * (acquire), reads the head once, then walks the chain: each descriptor
 * is copied out of guest memory into a local before any field is looked
 * at, checked, and its buffer translated through the memory table into
 * one or more iovecs (one per region the buffer touches). An indirect
 * descriptor, allowed only as the last of a chain, hands the walk over to
 * its table. When the transport is done it calls virtq_push(), which
 * writes the used element and then publishes used->idx (release), and
 * virtq_need_notify() to decide whether to signal the call fd. During a
 * live migration every such write into guest memory is also marked in
 * the dirty log first (virtq_log.c).
 *
 * The guest is hostile: any inconsistency marks the queue broken with a
 * fault string naming the descriptor and the numbers involved, and the
 * queue pops nothing more. Ring fields are little-endian (VIRTIO_F_VERSION_1).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "virtq_i.h"

_Static_assert(sizeof(struct vring_desc) == 16, "vring_desc layout");

/* Indirect tables larger than the largest ring are refused (spec: a chain
 * is never longer than the queue size; this bounds the walk). */
#define VIRTQ_MAX_INDIRECT VIRTQ_MAX_SIZE

/* Forbid the compiler to reuse or re-read guest memory across this point:
 * a value copied before it is the value we check and use. */
#define guest_barrier() __asm__ __volatile__("" ::: "memory")

static void virtq_set_fault(struct virtq *vq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void virtq_set_fault(struct virtq *vq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vq->fault, sizeof(vq->fault), fmt, ap);
	va_end(ap);
	vq->broken = true;
}

static uint16_t read_avail_idx(const struct virtq *vq)
{
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
}

/* used_event lives after the avail ring, avail_event after the used ring. */
static uint16_t *used_event_ptr(const struct virtq *vq)
{
	return (uint16_t *)&vq->avail->ring[vq->num];
}

static uint16_t *avail_event_ptr(const struct virtq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

static void write_avail_event(struct virtq *vq, uint16_t val)
{
	__atomic_store_n(avail_event_ptr(vq), htole16(val), __ATOMIC_RELAXED);
	if (virtq_logging(vq))
		virtq_log_used(vq,
			       (uint64_t)((uint8_t *)avail_event_ptr(vq) -
					  (uint8_t *)vq->used),
			       sizeof(uint16_t));
}

int virtq_setup(struct virtq *vq, unsigned int num, void *desc, void *avail,
		void *used, uint16_t avail_base, const struct virtq_mem *mem,
		uint64_t features)
{
	if (!vq || num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	if (!desc || !avail || !used)
		return -EINVAL;
	if ((uintptr_t)desc % VRING_DESC_ALIGN_SIZE ||
	    (uintptr_t)avail % VRING_AVAIL_ALIGN_SIZE ||
	    (uintptr_t)used % VRING_USED_ALIGN_SIZE)
		return -EINVAL;

	memset(vq, 0, sizeof(*vq));
	vq->num = num;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->mem = mem;
	vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	vq->last_avail_idx = avail_base;
	/*
	 * The used index continues from what the ring holds: a queue set up
	 * again after GET_VRING_BASE resumes where it stopped. Any value is a
	 * valid 16-bit index, so trusting it costs nothing.
	 */
	vq->used_idx =
		le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_RELAXED));
	vq->signalled_used_valid = false;
	return 0;
}

void virtq_set_mem(struct virtq *vq, const struct virtq_mem *mem)
{
	vq->mem = mem;
}

/* State of one chain walk. */
struct walk {
	struct virtq *vq;
	struct iovec *iov;
	unsigned int iov_max;
	unsigned int niov; /* iovecs filled */
	unsigned int nout; /* of which readable */
	bool seen_write; /* a writable descriptor came already */
	uint64_t total; /* bytes in the chain so far, <= UINT32_MAX */
	/* Where we are, for fault strings. */
	unsigned int desc_idx; /* index in the ring's descriptor table */
	int entry; /* index in its indirect table, or -1 */
};

static void walk_fault(struct walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Break the queue with "descriptor D[, indirect entry E]: <message>". */
static void walk_fault(struct walk *w, const char *fmt, ...)
{
	char msg[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->entry < 0)
		virtq_set_fault(w->vq, "descriptor %u: %s", w->desc_idx, msg);
	else
		virtq_set_fault(w->vq, "descriptor %u, indirect entry %d: %s",
				w->desc_idx, w->entry, msg);
}

/* Copy one descriptor out of shared memory; the result is ours. */
static void copy_desc(struct vring_desc *dst, const struct vring_desc *src)
{
	memcpy(dst, src, sizeof(*dst));
	guest_barrier();
	dst->addr = le64toh(dst->addr);
	dst->len = le32toh(dst->len);
	dst->flags = le16toh(dst->flags);
	dst->next = le16toh(dst->next);
}

/* Copy @len bytes from guest-physical @gpa, possibly across regions. */
static int copy_from_guest(const struct virtq_mem *mem, void *dst, uint64_t gpa,
			   uint64_t len)
{
	uint8_t *d = dst;

	while (len) {
		uint64_t n = len;
		const void *p = virtq_mem_gpa(mem, gpa, &n);

		if (!p || n == 0)
			return -EFAULT;
		memcpy(d, p, n);
		d += n;
		len -= n;
		if (__builtin_add_overflow(gpa, n, &gpa) && len)
			return -EFAULT;
	}
	guest_barrier();
	return 0;
}

/* Whether [gpa, gpa + len) lies entirely in guest memory (len > 0). */
static bool range_in_memory(const struct virtq_mem *mem, uint64_t gpa,
			    uint64_t len)
{
	while (len) {
		uint64_t n = len;

		if (!virtq_mem_gpa(mem, gpa, &n) || n == 0)
			return false;
		len -= n;
		if (__builtin_add_overflow(gpa, n, &gpa) && len)
			return false;
	}
	return true;
}

/* Add the buffer of (copied, checked for flags) descriptor @d. */
static int walk_buffer(struct walk *w, const struct vring_desc *d)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;
	uint64_t addr = d->addr, left = d->len, last;

	if (writable) {
		w->seen_write = true;
	} else if (w->seen_write) {
		walk_fault(w, "readable buffer after a writable one");
		return -EINVAL;
	}

	/* Each len is < 2^32, so the 64-bit sum cannot overflow before the
	 * check stops it. */
	w->total += d->len;
	if (w->total > UINT32_MAX) {
		walk_fault(w, "chain longer than 4 GiB in total");
		return -EINVAL;
	}

	/* Zero-length buffers are legal and take no iovec. */
	if (left == 0)
		return 0;

	if (__builtin_add_overflow(addr, left - 1, &last)) {
		walk_fault(w, "address 0x%" PRIx64 " len %u wraps around",
			   (uint64_t)d->addr, d->len);
		return -EINVAL;
	}

	while (left) {
		uint64_t n = left;
		void *p =
			w->vq->mem ? virtq_mem_gpa(w->vq->mem, addr, &n) : NULL;

		if (!p || n == 0) {
			walk_fault(w,
				   "address 0x%" PRIx64
				   " len %u outside guest memory",
				   (uint64_t)d->addr, d->len);
			return -EINVAL;
		}
		if (w->niov >= w->iov_max) {
			walk_fault(w, "chain needs more than %u iovecs",
				   w->iov_max);
			return -EINVAL;
		}
		w->iov[w->niov].iov_base = p;
		w->iov[w->niov].iov_len = n;
		w->niov++;
		if (!writable)
			w->nout++;
		/* addr + n <= last + 1 cannot overflow unless n == left and
		 * the buffer ends at 2^64 - 1; the loop then ends anyway. */
		left -= n;
		if (left)
			addr += n;
	}
	return 0;
}

/* Walk the indirect table that descriptor @d (already copied) points to. */
static int walk_indirect(struct walk *w, const struct vring_desc *d)
{
	const struct virtq_mem *mem = w->vq->mem;
	unsigned int n, i = 0, count = 0;
	uint64_t table = d->addr, last;
	const struct vring_desc *fast = NULL;
	uint64_t contig = d->len;

	if (!w->vq->indirect) {
		walk_fault(w, "indirect descriptor but "
			      "VIRTIO_RING_F_INDIRECT_DESC not negotiated");
		return -EINVAL;
	}
	if (d->flags & VRING_DESC_F_NEXT) {
		walk_fault(w, "indirect descriptor with the next flag set");
		return -EINVAL;
	}
	if (d->len == 0 || d->len % sizeof(struct vring_desc)) {
		walk_fault(w,
			   "indirect table length %u is not a non-zero "
			   "multiple of %zu",
			   d->len, sizeof(struct vring_desc));
		return -EINVAL;
	}
	n = d->len / sizeof(struct vring_desc);
	if (n > VIRTQ_MAX_INDIRECT) {
		walk_fault(w, "indirect table of %u entries exceeds %u", n,
			   VIRTQ_MAX_INDIRECT);
		return -EINVAL;
	}
	if (__builtin_add_overflow(table, (uint64_t)d->len - 1, &last) ||
	    !mem || !range_in_memory(mem, table, d->len)) {
		walk_fault(w,
			   "indirect table at 0x%" PRIx64
			   " len %u outside guest memory",
			   table, d->len);
		return -EINVAL;
	}
	/* Common case: the table lies in one region; read it in place. */
	fast = virtq_mem_gpa(mem, table, &contig);
	if (contig != d->len)
		fast = NULL;

	for (;;) {
		struct vring_desc e;

		w->entry = (int)i;
		if (++count > n) {
			walk_fault(w,
				   "chain longer than its table of %u "
				   "entries",
				   n);
			return -EINVAL;
		}
		if (fast) {
			copy_desc(&e, &fast[i]);
		} else {
			struct vring_desc raw;

			if (copy_from_guest(mem, &raw,
					    table + (uint64_t)i * sizeof(raw),
					    sizeof(raw))) {
				walk_fault(w, "indirect table unreadable");
				return -EINVAL;
			}
			copy_desc(&e, &raw);
		}
		if (e.flags & VRING_DESC_F_INDIRECT) {
			walk_fault(w, "indirect table in an indirect table");
			return -EINVAL;
		}
		if (walk_buffer(w, &e))
			return -EINVAL;
		if (!(e.flags & VRING_DESC_F_NEXT))
			return 0;
		if (e.next >= n) {
			walk_fault(w, "next index %u >= table size %u", e.next,
				   n);
			return -EINVAL;
		}
		i = e.next;
	}
}

/* Walk the chain starting at @head in the ring's descriptor table. */
static int walk_chain(struct walk *w, uint16_t head)
{
	struct virtq *vq = w->vq;
	unsigned int idx = head, count = 0;

	for (;;) {
		struct vring_desc d;

		w->desc_idx = idx;
		w->entry = -1;
		if (++count > vq->num) {
			virtq_set_fault(vq,
					"chain from head %u longer than ring "
					"size %u",
					head, vq->num);
			return -EINVAL;
		}
		copy_desc(&d, &vq->desc[idx]);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return walk_indirect(w, &d);
		if (walk_buffer(w, &d))
			return -EINVAL;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->num) {
			walk_fault(w, "next index %u >= ring size %u", d.next,
				   vq->num);
			return -EINVAL;
		}
		idx = d.next;
	}
}

enum virtq_pop_result virtq_pop(struct virtq *vq, struct virtq_elem *elem,
				struct iovec *iov, unsigned int iov_max)
{
	uint16_t avail_idx, pending, head;
	struct walk w;

	if (vq->broken)
		return VIRTQ_BROKEN;

	avail_idx = read_avail_idx(vq);
	pending = (uint16_t)(avail_idx - vq->last_avail_idx);
	if (pending > vq->num) {
		virtq_set_fault(vq,
				"avail index jumped by %u (from %u to %u), "
				"more than ring size %u",
				pending, vq->last_avail_idx, avail_idx,
				vq->num);
		return VIRTQ_BROKEN;
	}
	if (pending == 0)
		return VIRTQ_EMPTY;

	/* num is a power of two, so masking is the modulo. */
	head = le16toh(__atomic_load_n(
		&vq->avail->ring[vq->last_avail_idx & (vq->num - 1)],
		__ATOMIC_RELAXED));
	if (head >= vq->num) {
		virtq_set_fault(vq, "avail entry %u: head %u >= ring size %u",
				vq->last_avail_idx, head, vq->num);
		return VIRTQ_BROKEN;
	}

	memset(&w, 0, sizeof(w));
	w.vq = vq;
	w.iov = iov;
	w.iov_max = iov ? iov_max : 0;
	if (walk_chain(&w, head))
		return VIRTQ_BROKEN;

	elem->head = head;
	elem->out_num = w.nout;
	elem->in_num = w.niov - w.nout;
	elem->out_iov = iov;
	elem->in_iov = iov ? iov + w.nout : NULL;

	vq->last_avail_idx++;
	vq->inflight++;
	/* Ask for a kick once the driver goes past what we consumed. */
	if (vq->event_idx && !vq->no_notify)
		write_avail_event(vq, vq->last_avail_idx);
	return VIRTQ_POPPED;
}

void virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len)
{
	struct vring_used_elem *u =
		&vq->used->ring[vq->used_idx & (vq->num - 1)];

	__atomic_store_n(&u->id, htole32(elem->head), __ATOMIC_RELAXED);
	__atomic_store_n(&u->len, htole32(len), __ATOMIC_RELAXED);
	if (virtq_logging(vq)) {
		/* Marked before used->idx makes any of it visible. */
		virtq_log_elem(vq, elem);
		virtq_log_used(vq,
			       (uint64_t)((uint8_t *)u - (uint8_t *)vq->used),
			       sizeof(*u));
		virtq_log_used(vq, offsetof(struct vring_used, idx),
			       sizeof(uint16_t));
	}
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx),
			 __ATOMIC_RELEASE);
	/* A push without a pop is a caller bug; do not wrap the count. */
	if (vq->inflight)
		vq->inflight--;
}

bool virtq_need_notify(struct virtq *vq)
{
	uint16_t old, new, event;
	bool valid;

	/* Our used->idx store must be visible before we read the driver's
	 * suppression fields, or we could miss its update. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (!vq->event_idx) {
		uint16_t flags = le16toh(
			__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED));

		return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
	}

	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	event = le16toh(__atomic_load_n(used_event_ptr(vq), __ATOMIC_RELAXED));
	return vring_need_event(event, new, old);
}

void virtq_set_notification(struct virtq *vq, bool enable)
{
	vq->no_notify = !enable;
	if (vq->event_idx) {
		/* Disabling needs no write: the driver only kicks when it
		 * passes avail_event, which we stop moving. */
		if (enable)
			write_avail_event(vq, vq->last_avail_idx);
	} else {
		__atomic_store_n(&vq->used->flags,
				 htole16(enable ? 0 : VRING_USED_F_NO_NOTIFY),
				 __ATOMIC_RELAXED);
		if (virtq_logging(vq))
			virtq_log_used(vq, offsetof(struct vring_used, flags),
				       sizeof(uint16_t));
	}
	/* Publish the change before the caller re-reads avail->idx. */
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool virtq_avail_pending(struct virtq *vq)
{
	if (vq->broken)
		return false;
	return read_avail_idx(vq) != vq->last_avail_idx;
}

uint16_t virtq_avail_base(const struct virtq *vq)
{
	return vq->last_avail_idx;
}

const char *virtq_fault(const struct virtq *vq)
{
	return vq->fault;
}
