// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest address translation.
 *
 * A descriptor address (guest-physical) comes in from virtq_pop(); the
 * table of regions that src/vhost/ built from SET_MEM_TABLE is searched
 * for the region holding it (binary search: the table is sorted by gpa and
 * disjoint) and the address leaves as a daemon pointer plus the number of
 * bytes that stay inside that region. Ring addresses (frontend virtual
 * addresses, only at vring setup) take a linear scan, as the table is not
 * sorted by uaddr. Dirty logging maps daemon pointers back to guest-
 * physical addresses the same linear way.
 *
 * Every computation is overflow-checked; one past a region's last byte is
 * outside it.
 */
#include <stddef.h>
#include <stdint.h>

#include "virtq/virtq_mem.h"

/* The region that holds @gpa, or NULL. */
static const struct virtq_mem_region *find_gpa(const struct virtq_mem *m,
					       uint64_t gpa)
{
	unsigned int lo = 0, hi = m->nregions;

	/* Find the last region whose first byte is <= gpa. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (m->regions[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;

	const struct virtq_mem_region *r = &m->regions[lo - 1];

	if (gpa - r->gpa >= r->size)
		return NULL;
	return r;
}

void *virtq_mem_gpa(const struct virtq_mem *m, uint64_t gpa, uint64_t *len)
{
	const struct virtq_mem_region *r;
	uint64_t off, rest;

	if (!m || !len)
		return NULL;
	r = find_gpa(m, gpa);
	if (!r)
		return NULL;
	off = gpa - r->gpa;
	rest = r->size - off;
	if (*len > rest)
		*len = rest;
	return r->hva + off;
}

void *virtq_mem_uaddr(const struct virtq_mem *m, uint64_t uaddr, uint64_t len)
{
	uint64_t last;

	if (!m)
		return NULL;
	/* An empty range still has to start inside a region. */
	if (__builtin_add_overflow(uaddr, len ? len - 1 : 0, &last))
		return NULL;

	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct virtq_mem_region *r = &m->regions[i];
		uint64_t off;

		if (uaddr < r->uaddr)
			continue;
		off = uaddr - r->uaddr;
		if (off >= r->size)
			continue;
		/* last - uaddr == len - 1 (or 0); it must fit in what is left. */
		if (last - uaddr >= r->size - off)
			return NULL;
		return r->hva + off;
	}
	return NULL;
}

bool virtq_mem_hva_to_gpa(const struct virtq_mem *m, const void *hva,
			  uint64_t len, uint64_t *gpa)
{
	uintptr_t p = (uintptr_t)hva;

	if (!m)
		return false;
	/* Linear: only dirty logging (a migration) asks, and a table holds
	 * a handful of regions in practice. */
	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct virtq_mem_region *r = &m->regions[i];
		uintptr_t base = (uintptr_t)r->hva;
		uint64_t off;

		if (p < base)
			continue;
		off = p - base;
		if (off >= r->size || len > r->size - off)
			continue;
		*gpa = r->gpa + off;
		return true;
	}
	return false;
}
