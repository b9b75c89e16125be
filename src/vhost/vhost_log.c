// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The dirty log of a live migration: SET_LOG_BASE and SET_LOG_FD.
 *
 * The frontend turns logging on in three steps: SET_LOG_BASE shares a
 * bitmap (one fd, VHOST_USER_PROTOCOL_F_LOG_SHMFD), SET_FEATURES adds
 * VHOST_F_LOG_ALL, and SET_VRING_ADDR with VHOST_VRING_F_LOG asks for
 * each used ring to be logged at the guest-physical address it gives.
 * A message flows through here as: check the numbers (size, offset, the
 * fd is a memory file holding the range) -> check that the bitmap covers
 * all of guest memory and every logged used ring -> map it -> stop the
 * running queues, swap the log in, start them again (each queue reads
 * the log pointer without a lock, so it changes only while none runs)
 * -> unmap the old one. The bits themselves are set by src/virtq/.
 *
 * A log too small for the memory table is refused with a line that
 * gives both sizes, and a non-zero reply: QEMU sends a new log when
 * guest memory grows, and pages past a log's end are never written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vhost_types.h>

#include "log/log.h"
#include "vhost_i.h"

/* Largest log accepted: it covers 2^61 bytes of guest memory. */
#define VU_LOG_MAX_BYTES (1ULL << 46)

/* Bytes of the used ring of a @num-entry split ring (EVENT_IDX word
 * included). */
static uint64_t used_ring_bytes(unsigned int num)
{
	return 4 + 8ULL * num + 2;
}

/* The first guest-physical address the log must cover up to: past the
 * last byte of guest memory and of every logged used ring. */
static uint64_t needed_end(const struct vu_dev *dev, const char **what,
			   unsigned int *which)
{
	uint64_t end = 0;

	*what = "no guest memory";
	*which = 0;
	for (unsigned int i = 0; i < dev->nregions; i++) {
		const struct virtq_mem_region *r = &dev->regions[i].r;

		/* vhost_mem.c checked gpa + size does not overflow. */
		if (r->gpa + r->size > end) {
			end = r->gpa + r->size;
			*what = "the memory table";
			*which = i;
		}
	}
	for (unsigned int i = 0; i < dev->info.num_queues; i++) {
		const struct vu_queue *q = &dev->queues[i];
		uint64_t e;

		if (!q->log_used || !q->num)
			continue;
		if (__builtin_add_overflow(q->log_gpa, used_ring_bytes(q->num),
					   &e))
			e = UINT64_MAX;
		if (e > end) {
			end = e;
			*what = "a used ring";
			*which = i;
		}
	}
	return end;
}

static void log_unmap(struct vu_log *l)
{
	if (!l)
		return;
	if (l->map_base)
		munmap(l->map_base, l->map_len);
	free(l);
}

/* Map [@off, @off + @size) of @fd; NULL with dev->why set. */
static struct vu_log *log_map(struct vu_dev *dev, int fd, uint64_t size,
			      uint64_t off)
{
	uint64_t start, delta, len, page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct vu_log *l;
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0) {
		vu_refuse(dev, VU_REFUSED, "fstat of the log fd: %s",
			  strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		vu_refuse(dev, VU_REFUSED,
			  "the log fd is not a memory file (mode 0%o)",
			  (unsigned int)st.st_mode);
		return NULL;
	}
	if (st.st_size < 0 || off + size > (uint64_t)st.st_size) {
		vu_refuse(
			dev, VU_REFUSED,
			"log [0x%llx, +0x%llx) ends past its fd's 0x%llx bytes",
			(unsigned long long)off, (unsigned long long)size,
			(unsigned long long)st.st_size);
		return NULL;
	}
	start = off & ~(page - 1);
	delta = off - start;
	len = size + delta;
	l = calloc(1, sizeof(*l));
	if (!l) {
		vu_refuse(dev, VU_REFUSED, "out of memory");
		return NULL;
	}
	p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_NORESERVE, fd, (off_t)start);
	if (p == MAP_FAILED) {
		vu_refuse(dev, VU_REFUSED, "mmap of the log (0x%llx bytes): %s",
			  (unsigned long long)size, strerror(errno));
		free(l);
		return NULL;
	}
	madvise(p, (size_t)len, MADV_DONTDUMP);
	l->map_base = p;
	l->map_len = (size_t)len;
	l->log.bits = (uint8_t *)p + delta;
	l->log.size = size;
	return l;
}

enum vu_verdict vu_log_set_base(struct vu_dev *dev, struct vu_msg *msg,
				uint64_t *status)
{
	const struct vhost_user_log *in = &msg->payload.log;
	uint64_t size = in->mmap_size, off = in->mmap_offset, end, covered;
	struct vu_log *l, *old;
	const char *what;
	unsigned int which;

	*status = 1;
	if (msg->hdr.size != sizeof(*in))
		return vu_refuse(dev, VU_REFUSED, "payload of %u bytes",
				 msg->hdr.size);
	if (msg->nfds != 1)
		return vu_refuse(dev, VU_REFUSED, "%u fds (needs 1)",
				 msg->nfds);
	if (size == 0 || size > VU_LOG_MAX_BYTES ||
	    __builtin_add_overflow(off, size, &end))
		return vu_refuse(
			dev, VU_REFUSED, "log size 0x%llx at offset 0x%llx",
			(unsigned long long)size, (unsigned long long)off);
	covered = size * 8 * VHOST_LOG_PAGE;
	end = needed_end(dev, &what, &which);
	if (end > covered)
		return vu_refuse(
			dev, VU_REFUSED,
			"dirty log of 0x%llx bytes covers guest memory up to 0x%llx, but %s (#%u) reaches 0x%llx",
			(unsigned long long)size, (unsigned long long)covered,
			what, which, (unsigned long long)end);
	l = log_map(dev, msg->fds[0], size, off);
	if (!l)
		return VU_REFUSED;

	/* The queues read the log without a lock: swap it while they are
	 * stopped, unmap the old one once they run on the new. */
	for (unsigned int i = 0; i < dev->info.num_queues; i++)
		vu_queue_stop(dev, i);
	old = dev->log;
	dev->log = l;
	vu_queues_update(dev);
	log_unmap(old);
	log_info(
		"vhost-user: dirty log of %llu bytes mapped (guest memory up to 0x%llx)",
		(unsigned long long)size, (unsigned long long)covered);
	*status = 0;
	return VU_OK;
}

enum vu_verdict vu_log_set_fd(struct vu_dev *dev, struct vu_msg *msg)
{
	int old = dev->log_fd;

	if (msg->hdr.size != 0 && msg->hdr.size != sizeof(uint64_t))
		return vu_refuse(dev, VU_REFUSED, "payload of %u bytes",
				 msg->hdr.size);
	if (msg->nfds != 1)
		return vu_refuse(dev, VU_REFUSED, "%u fds (needs 1)",
				 msg->nfds);
	/* Kept for the connection's life, never signalled: the spec makes
	 * telling the frontend about log changes optional, and QEMU reads
	 * the log when it syncs anyway. */
	dev->log_fd = msg->fds[0];
	msg->fds[0] = -1;
	if (old >= 0)
		close(old);
	return VU_OK;
}

const struct virtq_log *vu_log_active(const struct vu_dev *dev)
{
	if (!dev->log || !(dev->features & (1ULL << VHOST_F_LOG_ALL)))
		return NULL;
	return &dev->log->log;
}

void vu_log_clear(struct vu_dev *dev)
{
	log_unmap(dev->log);
	dev->log = NULL;
	if (dev->log_fd >= 0)
		close(dev->log_fd);
	dev->log_fd = -1;
}
