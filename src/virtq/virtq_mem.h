/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory as the device sees it: the regions of guest-physical space
 * that the frontend shared (vhost-user SET_MEM_TABLE / ADD_MEM_REG), each
 * mapped into the daemon. src/vhost/ builds a table and publishes it;
 * src/virtq/ translates ring and descriptor addresses through it and never
 * touches memory outside a region.
 */
#ifndef VFSD_VIRTQ_MEM_H
#define VFSD_VIRTQ_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The vhost-user protocol's VHOST_USER_MAX_RAM_SLOTS is 509; QEMU sends
 * at most 8 regions with SET_MEM_TABLE. */
#define VIRTQ_MEM_MAX_REGIONS 509

struct virtq_mem_region {
	uint64_t gpa; /* guest physical address of the first byte */
	uint64_t size; /* bytes, > 0; gpa + size does not overflow */
	uint64_t uaddr; /* frontend virtual address (ring addresses) */
	uint8_t *hva; /* where the region is mapped in the daemon */
};

struct virtq_mem {
	unsigned int nregions;
	struct virtq_mem_region regions[]; /* sorted by gpa, disjoint */
};

/*
 * Translate guest-physical [gpa, gpa + *len) to a pointer. Returns NULL if
 * gpa is in no region; otherwise the pointer, with *len lowered to the
 * bytes contiguous in that region (a buffer that crosses into the next
 * region needs another call).
 */
void *virtq_mem_gpa(const struct virtq_mem *m, uint64_t gpa, uint64_t *len);
/* The same for frontend virtual addresses (vring addresses); the whole
 * [uaddr, uaddr + len) must lie in one region, else NULL. */
void *virtq_mem_uaddr(const struct virtq_mem *m, uint64_t uaddr, uint64_t len);
/*
 * The way back, for dirty logging: the guest-physical address of the
 * daemon pointer @hva, when [hva, hva + len) lies inside one region
 * (every iovec virtq_pop() makes does). Returns false otherwise.
 */
bool virtq_mem_hva_to_gpa(const struct virtq_mem *m, const void *hva,
			  uint64_t len, uint64_t *gpa);

#endif /* VFSD_VIRTQ_MEM_H */
