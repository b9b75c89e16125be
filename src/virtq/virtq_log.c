// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Dirty-page logging for live migration.
 *
 * While the frontend migrates the guest it copies guest memory in rounds
 * and needs to know which pages changed since the last round. Pages the
 * guest changes, the hypervisor tracks; pages this daemon writes, it must
 * report itself, in a bitmap the frontend shares (VHOST_USER_SET_LOG_BASE,
 * src/vhost/vhost_log.c). The write paths of virtq.c call in here: a push
 * marks the chain's writable buffers (translated back from daemon
 * pointers to guest-physical addresses) and, when the frontend asked
 * for it (VHOST_VRING_F_LOG), the used-ring bytes it stores, all before
 * the release store of used->idx that lets the driver see them. The bits
 * are set with atomic ORs: queues push from their own threads and
 * workers, and the frontend clears bits concurrently; no lock is taken.
 */
#include "virtq_i.h"

/* OR @mask into byte @i of the log. */
static void set_bits(const struct virtq_log *log, uint64_t i, uint8_t mask)
{
	__atomic_fetch_or(&log->bits[i], mask, __ATOMIC_RELAXED);
}

bool virtq_log_range(const struct virtq_log *log, uint64_t gpa, uint64_t len)
{
	uint64_t first, last, max_page;
	bool whole = true;

	if (!log || !len)
		return true;
	first = gpa / VIRTQ_LOG_PAGE;
	if (__builtin_add_overflow(gpa, len - 1, &last))
		last = UINT64_MAX;
	last /= VIRTQ_LOG_PAGE;
	if (log->size == 0)
		return false;
	/* log->size < 2^61 (checked when the log was mapped). */
	max_page = log->size * 8 - 1;
	if (first > max_page)
		return false;
	if (last > max_page) {
		last = max_page;
		whole = false;
	}
	while (first <= last) {
		uint64_t byte = first / 8;
		unsigned int bit = first % 8;

		if (bit == 0 && last - first >= 7) {
			/* Whole bytes in the middle of a long range. */
			set_bits(log, byte, 0xff);
			first += 8;
			continue;
		}
		{
			unsigned int end = last / 8 == byte ? last % 8 : 7;
			uint8_t mask =
				(uint8_t)(((1u << (end - bit + 1)) - 1) << bit);

			set_bits(log, byte, mask);
			first += end - bit + 1;
		}
	}
	return whole;
}

void virtq_set_log(struct virtq *vq, const struct virtq_log *log, bool log_used,
		   uint64_t used_gpa)
{
	vq->log = log;
	vq->log_used = log && log_used;
	vq->log_used_gpa = used_gpa;
}

/* A write the log does not cover: src/vhost/ reports it when it stops
 * the queue (this module logs nothing itself). */
static void missed(struct virtq *vq, uint64_t gpa)
{
	if (!vq->log_missed)
		vq->log_missed_gpa = gpa;
	vq->log_missed = true;
}

void virtq_log_elem(struct virtq *vq, const struct virtq_elem *elem)
{
	for (unsigned int i = 0; i < elem->in_num; i++) {
		const struct iovec *v = &elem->in_iov[i];
		uint64_t gpa;

		if (!v->iov_len)
			continue;
		/* virtq_pop() made each iovec from one region; a table
		 * swapped since would have stopped the queue first. */
		if (!virtq_mem_hva_to_gpa(vq->mem, v->iov_base, v->iov_len,
					  &gpa)) {
			missed(vq, 0);
			continue;
		}
		if (!virtq_log_range(vq->log, gpa, v->iov_len))
			missed(vq, gpa);
	}
}

void virtq_log_used(struct virtq *vq, uint64_t off, uint64_t len)
{
	uint64_t gpa;

	if (!vq->log_used)
		return;
	if (__builtin_add_overflow(vq->log_used_gpa, off, &gpa) ||
	    !virtq_log_range(vq->log, gpa, len))
		missed(vq, vq->log_used_gpa);
}
