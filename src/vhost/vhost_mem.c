// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest memory table: SET_MEM_TABLE, ADD_MEM_REG, REM_MEM_REG.
 *
 * A message flows through here as: check every region's numbers
 * (non-empty, no overflow, no overlap with another region in guest-
 * physical or frontend-virtual space) -> fstat each fd and check the
 * region lies inside it -> mmap it (shared, not in core dumps) -> build the
 * new region array and table -> commit.
 *
 * Commit is where running queues meet the change. The queues read the
 * table (descriptor addresses) and the ring pointers (inside regions)
 * without locks, so the change is made while no queue runs: every running
 * queue is stopped (ops->queue_stop waits for its thread), the new table
 * is swapped in, every queue whose ring still lies in guest memory is
 * restarted from its current indices (its ring addresses translated
 * again), and only then are the mappings that left the table unmapped and
 * the old table freed. Memory changes are rare (boot, DIMM hot-plug), so
 * a stop/start is cheaper than making every descriptor lookup pay for
 * RCU-style synchronisation. A failure before commit leaves the old table
 * in place and unmaps whatever was mapped for the new one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/log.h"
#include "vhost_i.h"

#if defined(__SANITIZE_THREAD__)
#define VU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VU_TSAN 1
#endif
#endif
#ifdef VU_TSAN
/* ThreadSanitizer's runtime: races on [mem, mem + size) are not reported. */
void AnnotateBenignRaceSized(const char *file, int line,
			     const volatile void *mem, size_t size,
			     const char *desc);
#endif

static void unmap_region(struct vu_region *r)
{
	if (r->map_base)
		munmap(r->map_base, r->map_len);
	r->map_base = NULL;
}

/* Check one region's numbers (no fd involved yet). */
static enum vu_verdict check_region(struct vu_dev *dev,
				    const struct vhost_user_mem_region *in)
{
	uint64_t end;

	if (in->memory_size == 0)
		return vu_refuse(dev, VU_REFUSED,
				 "region at gpa 0x%llx is empty",
				 (unsigned long long)in->guest_phys_addr);
	if (__builtin_add_overflow(in->guest_phys_addr, in->memory_size - 1,
				   &end) ||
	    __builtin_add_overflow(in->userspace_addr, in->memory_size - 1,
				   &end) ||
	    __builtin_add_overflow(in->mmap_offset, in->memory_size, &end) ||
	    in->memory_size > SIZE_MAX / 2)
		return vu_refuse(
			dev, VU_REFUSED,
			"region gpa 0x%llx size 0x%llx uaddr 0x%llx offset 0x%llx overflows",
			(unsigned long long)in->guest_phys_addr,
			(unsigned long long)in->memory_size,
			(unsigned long long)in->userspace_addr,
			(unsigned long long)in->mmap_offset);
	return VU_OK;
}

/* [a, a + as) and [b, b + bs) intersect (sizes > 0, no overflow). */
static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a <= b + (bs - 1) && b <= a + (as - 1);
}

static enum vu_verdict check_disjoint(struct vu_dev *dev,
				      const struct virtq_mem_region *a,
				      const struct virtq_mem_region *b)
{
	if (ranges_overlap(a->gpa, a->size, b->gpa, b->size))
		return vu_refuse(dev, VU_REFUSED,
				 "regions at gpa 0x%llx and 0x%llx overlap",
				 (unsigned long long)a->gpa,
				 (unsigned long long)b->gpa);
	if (ranges_overlap(a->uaddr, a->size, b->uaddr, b->size))
		return vu_refuse(dev, VU_REFUSED,
				 "regions at uaddr 0x%llx and 0x%llx overlap",
				 (unsigned long long)a->uaddr,
				 (unsigned long long)b->uaddr);
	return VU_OK;
}

/* Map @in from @fd into @out (the fd stays the caller's). */
static enum vu_verdict map_region(struct vu_dev *dev,
				  const struct vhost_user_mem_region *in,
				  int fd, struct vu_region *out)
{
	uint64_t align, start, delta, end, len;
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		return vu_refuse(dev, VU_REFUSED, "fstat of region fd: %s",
				 strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vu_refuse(dev, VU_REFUSED,
				 "region fd is not a memory file (mode 0%o)",
				 (unsigned int)st.st_mode);
	/* check_region() made sure this does not overflow. */
	end = in->mmap_offset + in->memory_size;
	if (st.st_size < 0 || end > (uint64_t)st.st_size)
		return vu_refuse(
			dev, VU_REFUSED,
			"region gpa 0x%llx ends at offset 0x%llx, past its fd's 0x%llx bytes",
			(unsigned long long)in->guest_phys_addr,
			(unsigned long long)end,
			(unsigned long long)st.st_size);

	/* mmap offsets must be page aligned (huge-page aligned on
	 * hugetlbfs, whose st_blksize is the huge page size). */
	align = (uint64_t)sysconf(_SC_PAGESIZE);
	if (st.st_blksize > 0 && (uint64_t)st.st_blksize > align &&
	    !((uint64_t)st.st_blksize & ((uint64_t)st.st_blksize - 1)))
		align = (uint64_t)st.st_blksize;
	start = in->mmap_offset & ~(align - 1);
	delta = in->mmap_offset - start;
	/* hugetlbfs also wants whole pages; nothing past the region's end
	 * is ever touched. check_region() bounded the size. */
	len = (in->memory_size + delta + align - 1) & ~(align - 1);

	p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_NORESERVE, fd, (off_t)start);
	if (p == MAP_FAILED)
		return vu_refuse(dev, VU_REFUSED,
				 "mmap of region gpa 0x%llx size 0x%llx: %s",
				 (unsigned long long)in->guest_phys_addr,
				 (unsigned long long)in->memory_size,
				 strerror(errno));
	/* Guest memory has no business in our core dumps. */
	madvise(p, (size_t)len, MADV_DONTDUMP);
#ifdef VU_TSAN
	/* Queue threads reach guest memory in an order the guest sets
	 * through the rings (a buffer one queue's thread filled comes back on
	 * another queue), and the guest is another process ThreadSanitizer
	 * cannot see: every such pair would be reported as a race. What the
	 * daemon relies on in guest memory is copied out once before use. */
	AnnotateBenignRaceSized(__FILE__, __LINE__, p, (size_t)len,
				"guest memory");
#endif

	out->map_base = p;
	out->map_len = (size_t)len;
	out->r.gpa = in->guest_phys_addr;
	out->r.size = in->memory_size;
	out->r.uaddr = in->userspace_addr;
	out->r.hva = (uint8_t *)p + delta;
	return VU_OK;
}

/* Insert @r into the gpa-sorted array @arr of @n entries (room for one
 * more). */
static void insert_sorted(struct vu_region *arr, unsigned int n,
			  const struct vu_region *r)
{
	unsigned int i = n;

	while (i > 0 && arr[i - 1].r.gpa > r->r.gpa) {
		arr[i] = arr[i - 1];
		i--;
	}
	arr[i] = *r;
}

static struct virtq_mem *build_table(const struct vu_region *arr,
				     unsigned int n)
{
	struct virtq_mem *m;

	m = calloc(1, sizeof(*m) + (size_t)n * sizeof(m->regions[0]));
	if (!m)
		return NULL;
	m->nregions = n;
	for (unsigned int i = 0; i < n; i++)
		m->regions[i] = arr[i].r;
	return m;
}

/*
 * Make (@arr, @n, @table) the memory table; both arrays are the
 * caller's allocations and become the device's. @retire lists @nretire
 * old mappings to unmap once no queue can see them.
 */
static void commit(struct vu_dev *dev, struct vu_region *arr, unsigned int n,
		   struct virtq_mem *table, struct vu_region *retire,
		   unsigned int nretire)
{
	struct vu_region *old_arr = dev->regions;
	struct virtq_mem *old_table = dev->mem;

	for (unsigned int i = 0; i < dev->info.num_queues; i++)
		vu_queue_stop(dev, i);

	dev->regions = arr;
	dev->nregions = n;
	dev->mem = table;
	for (unsigned int i = 0; i < dev->info.num_queues; i++) {
		struct vu_queue *q = &dev->queues[i];

		if (q->vq_valid)
			virtq_set_mem(&q->vq, table);
	}
	vu_queues_update(dev);

	for (unsigned int i = 0; i < nretire; i++)
		unmap_region(&retire[i]);
	free(old_arr);
	free(old_table);
}

enum vu_verdict vu_mem_set_table(struct vu_dev *dev, struct vu_msg *msg)
{
	const struct vhost_user_mem_table *t = &msg->payload.mem;
	struct vu_region *arr = NULL, *retire;
	struct virtq_mem *table;
	enum vu_verdict v;
	unsigned int n, mapped = 0;

	if (msg->hdr.size < 8)
		return vu_refuse(dev, VU_REFUSED, "payload of %u bytes",
				 msg->hdr.size);
	n = t->nregions;
	if (n > VHOST_MEMORY_BASELINE_NREGIONS)
		return vu_refuse(dev, VU_REFUSED, "%u regions (at most %d)", n,
				 VHOST_MEMORY_BASELINE_NREGIONS);
	if (msg->hdr.size != 8 + n * sizeof(t->regions[0]))
		return vu_refuse(dev, VU_REFUSED,
				 "payload of %u bytes for %u regions",
				 msg->hdr.size, n);
	if (msg->nfds != n)
		return vu_refuse(dev, VU_REFUSED, "%u fds for %u regions",
				 msg->nfds, n);

	for (unsigned int i = 0; i < n; i++) {
		v = check_region(dev, &t->regions[i]);
		if (v != VU_OK)
			return v;
	}
	arr = calloc(n + 1, sizeof(*arr)); /* + 1: n may be 0 */
	if (!arr)
		return vu_refuse(dev, VU_REFUSED, "out of memory");
	for (unsigned int i = 0; i < n; i++) {
		struct vu_region r = { 0 };

		v = map_region(dev, &t->regions[i], msg->fds[i], &r);
		if (v != VU_OK)
			goto out_unmap;
		for (unsigned int j = 0; j < mapped; j++) {
			v = check_disjoint(dev, &arr[j].r, &r.r);
			if (v != VU_OK) {
				unmap_region(&r);
				goto out_unmap;
			}
		}
		insert_sorted(arr, mapped++, &r);
	}
	table = build_table(arr, n);
	if (!table) {
		v = vu_refuse(dev, VU_REFUSED, "out of memory");
		goto out_unmap;
	}
	/* The mappings hold the memory; the fds are no longer needed. */
	vu_msg_close_fds(msg);

	retire = dev->regions; /* freed by commit() after the unmaps */
	commit(dev, arr, n, table, retire, dev->nregions);
	return VU_OK;

out_unmap:
	for (unsigned int j = 0; j < mapped; j++)
		unmap_region(&arr[j]);
	free(arr);
	return v;
}

enum vu_verdict vu_mem_add_region(struct vu_dev *dev, struct vu_msg *msg)
{
	const struct vhost_user_mem_region *in = &msg->payload.mem_reg.region;
	struct vu_region r = { 0 }, *arr;
	struct virtq_mem *table;
	enum vu_verdict v;

	if (msg->hdr.size != sizeof(struct vhost_user_mem_reg))
		return vu_refuse(dev, VU_REFUSED, "payload of %u bytes",
				 msg->hdr.size);
	if (msg->nfds != 1)
		return vu_refuse(dev, VU_REFUSED, "%u fds (needs 1)",
				 msg->nfds);
	if (dev->nregions >= VIRTQ_MEM_MAX_REGIONS)
		return vu_refuse(dev, VU_REFUSED, "all %d memory slots in use",
				 VIRTQ_MEM_MAX_REGIONS);
	v = check_region(dev, in);
	if (v != VU_OK)
		return v;
	{
		const struct virtq_mem_region want = {
			.gpa = in->guest_phys_addr,
			.size = in->memory_size,
			.uaddr = in->userspace_addr,
		};

		for (unsigned int i = 0; i < dev->nregions; i++) {
			v = check_disjoint(dev, &dev->regions[i].r, &want);
			if (v != VU_OK)
				return v;
		}
	}
	v = map_region(dev, in, msg->fds[0], &r);
	if (v != VU_OK)
		return v;

	arr = calloc(dev->nregions + 1, sizeof(*arr));
	if (!arr)
		goto out_nomem;
	if (dev->nregions)
		memcpy(arr, dev->regions, dev->nregions * sizeof(*arr));
	insert_sorted(arr, dev->nregions, &r);
	table = build_table(arr, dev->nregions + 1);
	if (!table) {
		free(arr);
		goto out_nomem;
	}
	vu_msg_close_fds(msg);
	commit(dev, arr, dev->nregions + 1, table, NULL, 0);
	return VU_OK;

out_nomem:
	unmap_region(&r);
	return vu_refuse(dev, VU_REFUSED, "out of memory");
}

enum vu_verdict vu_mem_rem_region(struct vu_dev *dev, struct vu_msg *msg)
{
	const struct vhost_user_mem_region *in = &msg->payload.mem_reg.region;
	struct vu_region *arr, gone;
	struct virtq_mem *table;
	unsigned int i, n;

	if (msg->hdr.size != sizeof(struct vhost_user_mem_reg))
		return vu_refuse(dev, VU_REFUSED, "payload of %u bytes",
				 msg->hdr.size);
	/* The spec tolerates one (unused) fd from older frontends. */
	if (msg->nfds > 1)
		return vu_refuse(dev, VU_REFUSED, "%u fds (needs 0)",
				 msg->nfds);

	for (i = 0; i < dev->nregions; i++) {
		const struct virtq_mem_region *r = &dev->regions[i].r;

		if (r->gpa == in->guest_phys_addr &&
		    r->size == in->memory_size &&
		    r->uaddr == in->userspace_addr)
			break;
	}
	if (i == dev->nregions)
		return vu_refuse(
			dev, VU_REFUSED,
			"no region gpa 0x%llx size 0x%llx uaddr 0x%llx",
			(unsigned long long)in->guest_phys_addr,
			(unsigned long long)in->memory_size,
			(unsigned long long)in->userspace_addr);

	n = dev->nregions - 1;
	arr = calloc(n + 1, sizeof(*arr));
	if (!arr)
		return vu_refuse(dev, VU_REFUSED, "out of memory");
	memcpy(arr, dev->regions, i * sizeof(*arr));
	memcpy(arr + i, dev->regions + i + 1, (n - i) * sizeof(*arr));
	table = build_table(arr, n);
	if (!table) {
		free(arr);
		return vu_refuse(dev, VU_REFUSED, "out of memory");
	}
	gone = dev->regions[i];
	commit(dev, arr, n, table, &gone, 1);
	return VU_OK;
}

void vu_mem_clear(struct vu_dev *dev)
{
	for (unsigned int i = 0; i < dev->nregions; i++)
		unmap_region(&dev->regions[i]);
	free(dev->regions);
	free(dev->mem);
	dev->regions = NULL;
	dev->nregions = 0;
	dev->mem = NULL;
}
