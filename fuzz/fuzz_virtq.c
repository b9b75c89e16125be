// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the descriptor-chain walker (src/virtq/virtq.c).
 *
 * A fake guest memory of two regions, adjacent in guest-physical space
 * but separate on the host (so a buffer crossing the boundary needs two
 * iovecs), holds one split ring at a fixed place. The input is laid out
 * as (see make-seeds.py, which writes valid chains this way):
 *
 *   hdr[9]   flags, log2(num) or raw num, avail base, used idx, small
 *            iov_max, bytes of buffer memory that follow the rings
 *   desc     num * 16 bytes: the descriptor table
 *   avail    4 + 2 * num + 2 bytes: flags, idx, ring, used_event
 *   buffers  the bytes after the rings (indirect tables live here)
 *   script   (flag F_SCRIPT) one byte per step: pop, push, the driver
 *            adding or changing entries, notification calls
 *
 * Every popped iovec must lie inside one region, counts must add up and
 * what is pushed must appear in the used ring. The walker itself must
 * never read or write outside the regions (ASan).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "fuzz.h"
#include "virtq/virtq.h"

#define GPA_A 0x10000ULL
#define SIZE_A 0x10000ULL
#define GPA_B 0x20000ULL /* right after A */
#define SIZE_B 0x2000ULL

#define DESC_OFF 0x0000u
#define AVAIL_OFF 0x1000u
#define USED_OFF 0x2000u
#define BUF_OFF 0x3000u
#define MAX_NUM 256u

/* header flags */
#define F_INDIRECT 0x01u
#define F_EVENT_IDX 0x02u
#define F_RELATIVE 0x04u /* descriptor addresses are offsets from GPA_A */
#define F_SMALL_IOV 0x08u
#define F_SCRIPT 0x10u
#define F_RAW_NUM 0x20u /* b1 | b6 << 8 is num as is: expect -EINVAL */

#define IOV_BIG 512u
#define MAX_OUTSTANDING 512u

struct cursor {
	const uint8_t *p;
	size_t left;
};

static uint8_t next8(struct cursor *c)
{
	if (!c->left)
		return 0;
	c->left--;
	return *c->p++;
}

static uint16_t next16(struct cursor *c)
{
	uint16_t lo = next8(c);

	return (uint16_t)(lo | (uint16_t)next8(c) << 8);
}

/* Copy up to @n bytes of input to @dst; the rest of @dst stays zero. */
static void fill(struct cursor *c, void *dst, size_t n)
{
	size_t k = n < c->left ? n : c->left;

	memcpy(dst, c->p, k);
	c->p += k;
	c->left -= k;
}

struct outstanding {
	uint16_t head;
	uint32_t in_bytes;
};

static uint8_t *mem_a, *mem_b;
static struct virtq_mem *mem;

static struct {
	struct virtq vq;
	unsigned int iov_max;
	struct iovec iov[IOV_BIG];
	struct outstanding out[MAX_OUTSTANDING];
	unsigned int nout, first; /* a FIFO of popped chains */
	unsigned int pushed;
	bool broken;
} S;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	mem_a = aligned_alloc(4096, SIZE_A);
	mem_b = aligned_alloc(4096, SIZE_B);
	mem = malloc(sizeof(*mem) + 2 * sizeof(mem->regions[0]));
	if (!mem_a || !mem_b || !mem)
		abort();
	mem->nregions = 2;
	mem->regions[0] = (struct virtq_mem_region){ GPA_A, SIZE_A, 0, mem_a };
	mem->regions[1] = (struct virtq_mem_region){ GPA_B, SIZE_B, 0, mem_b };
	return 0;
}

static bool inside(const uint8_t *base, uint64_t size, const struct iovec *v)
{
	const uint8_t *p = v->iov_base;

	return p >= base && v->iov_len <= size &&
	       (uint64_t)(p - base) <= size - v->iov_len;
}

static void push_oldest(uint32_t len)
{
	struct outstanding o;
	uint16_t before;
	struct vring_used *used = S.vq.used;
	uint16_t slot;

	if (!S.nout)
		return;
	o = S.out[S.first];
	S.first = (S.first + 1) % MAX_OUTSTANDING;
	S.nout--;
	before = S.vq.used_idx;
	slot = (uint16_t)(before % S.vq.num);
	virtq_push(&S.vq, &(struct virtq_elem){ .head = o.head }, len);
	FUZZ_CHECK(S.vq.used_idx == (uint16_t)(before + 1));
	FUZZ_CHECK(used->idx == S.vq.used_idx);
	FUZZ_CHECK(used->ring[slot].id == o.head);
	FUZZ_CHECK(used->ring[slot].len == len);
	S.pushed++;
}

static enum virtq_pop_result pop_one(void)
{
	struct virtq_elem elem;
	enum virtq_pop_result r;
	uint64_t in_bytes = 0;

	r = virtq_pop(&S.vq, &elem, S.iov, S.iov_max);
	if (r == VIRTQ_BROKEN) {
		FUZZ_CHECK(virtq_fault(&S.vq)[0] != '\0');
		S.broken = true;
		return r;
	}
	if (r != VIRTQ_POPPED) {
		FUZZ_CHECK(r == VIRTQ_EMPTY);
		return r;
	}
	FUZZ_CHECK(elem.head < S.vq.num);
	FUZZ_CHECK(elem.out_num + elem.in_num <= S.iov_max);
	FUZZ_CHECK(elem.out_iov == S.iov);
	FUZZ_CHECK(elem.in_iov == S.iov + elem.out_num);
	for (unsigned int i = 0; i < elem.out_num + elem.in_num; i++) {
		const struct iovec *v = &S.iov[i];

		FUZZ_CHECK(inside(mem_a, SIZE_A, v) ||
			   inside(mem_b, SIZE_B, v));
		/* touch every byte: ASan checks the bounds once more */
		if (v->iov_len) {
			volatile uint8_t *p = v->iov_base;

			(void)p[0];
			(void)p[v->iov_len - 1];
		}
		if (i >= elem.out_num)
			in_bytes += v->iov_len;
	}
	if (S.nout == MAX_OUTSTANDING)
		push_oldest(0);
	S.out[(S.first + S.nout) % MAX_OUTSTANDING] = (struct outstanding){
		.head = elem.head,
		.in_bytes =
			in_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)in_bytes,
	};
	S.nout++;
	return r;
}

static void pop_all(void)
{
	/* a ring of num entries cannot hold more than num new chains per
	 * avail index jump; the bound only keeps a buggy walker finite */
	for (unsigned int i = 0; i < 4 * MAX_NUM + 4; i++)
		if (pop_one() != VIRTQ_POPPED)
			return;
}

static void run_script(struct cursor *c, struct vring_avail *avail)
{
	while (c->left) {
		uint8_t op = next8(c);

		switch (op % 8) {
		case 0:
			pop_one();
			break;
		case 1: {
			uint32_t len = S.nout ? S.out[S.first].in_bytes : 0;

			/* bit 3: claim more than was writable */
			push_oldest(op & 8 ? len + next8(c) : len);
			break;
		}
		case 2: /* the driver makes more entries available */
			avail->idx = (uint16_t)(avail->idx + next8(c));
			break;
		case 3: { /* the driver rewrites ring memory under us */
			uint16_t off = next16(c) % BUF_OFF;

			mem_a[off] = next8(c);
			break;
		}
		case 4:
			virtq_set_notification(&S.vq, op & 8);
			(void)virtq_avail_pending(&S.vq);
			break;
		case 5:
			(void)virtq_need_notify(&S.vq);
			break;
		case 6:
			while (S.nout)
				push_oldest(S.out[S.first].in_bytes);
			break;
		case 7:
			pop_all();
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	uint8_t flags, b1, b6;
	uint16_t base, used_idx, nbuf;
	unsigned int num;
	uint64_t features = 1ULL << VIRTIO_F_VERSION_1;
	struct vring_desc *desc = (struct vring_desc *)(mem_a + DESC_OFF);
	struct vring_avail *avail = (struct vring_avail *)(mem_a + AVAIL_OFF);
	struct vring_used *used = (struct vring_used *)(mem_a + USED_OFF);
	int rc;

	memset(mem_a, 0, SIZE_A);
	memset(mem_b, 0, SIZE_B);
	memset(&S, 0, sizeof(S));

	flags = next8(&c);
	b1 = next8(&c);
	base = next16(&c);
	used_idx = next16(&c);
	b6 = next8(&c);
	nbuf = next16(&c);

	if (flags & F_RAW_NUM) {
		/* sizes the queue must refuse; valid ones too big for the
		 * fake memory are not tried */
		num = (unsigned int)b1 | (unsigned int)b6 << 8 |
		      (flags & 0x80u ? 0x10000u : 0);
		if (num && num <= VIRTQ_MAX_SIZE && !(num & (num - 1)))
			return 0;
		rc = virtq_setup(&S.vq, num, desc, avail, used, base, mem,
				 features);
		FUZZ_CHECK(rc == -EINVAL);
		/* misaligned rings are refused too */
		rc = virtq_setup(&S.vq, 16, mem_a + 2, avail, used, base, mem,
				 features);
		FUZZ_CHECK(rc == -EINVAL);
		return 0;
	}
	num = 1u << (b1 % 9);
	S.iov_max = flags & F_SMALL_IOV ? 1u + b6 % 8u : IOV_BIG;
	if (flags & F_INDIRECT)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (flags & F_EVENT_IDX)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;

	fill(&c, desc, num * sizeof(*desc));
	if (flags & F_RELATIVE)
		for (unsigned int i = 0; i < num; i++)
			desc[i].addr = GPA_A + desc[i].addr % (SIZE_A + SIZE_B +
							       0x1000);
	/* flags, idx, ring[num], used_event */
	fill(&c, avail, 4 + 2 * (size_t)num + 2);
	fill(&c, mem_a + BUF_OFF,
	     nbuf < SIZE_A - BUF_OFF ? nbuf : SIZE_A - BUF_OFF);
	used->idx = used_idx;

	rc = virtq_setup(&S.vq, num, desc, avail, used, base, mem, features);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(virtq_avail_base(&S.vq) == base);

	if (flags & F_SCRIPT) {
		run_script(&c, avail);
	} else {
		pop_all();
		(void)virtq_need_notify(&S.vq);
	}
	/* give back everything, as a stopping queue would */
	while (S.nout)
		push_oldest(S.out[S.first].in_bytes);
	(void)virtq_need_notify(&S.vq);
	if (S.broken) {
		struct virtq_elem elem;

		/* a broken queue stays broken */
		FUZZ_CHECK(virtq_pop(&S.vq, &elem, S.iov, S.iov_max) ==
			   VIRTQ_BROKEN);
	}
	FUZZ_CHECK(virtq_fault(&S.vq)[0] == '\0' || S.vq.broken);
	return 0;
}
