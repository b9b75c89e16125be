// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for the split virtqueue, device side (src/virtq/virtq.c).
 *
 * Flow: a fake guest memory of four regions (two of them adjacent, one a
 * 4 GiB address-space reservation that is never touched) holds a ring.
 * Each test plays the driver: it fills descriptors and indirect tables,
 * puts heads in the avail ring and bumps avail->idx, then pops, pushes
 * and asks about notifications, checking the iovecs, the used ring, the
 * event fields and, for hostile rings, that the queue breaks with a fault
 * string naming the problem.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "virtq/virtq.h"

/* Guest-physical layout. */
#define GPA_A 0x10000ULL /* ring, buffers, indirect tables */
#define SIZE_A 0x10000ULL
#define GPA_B 0x20000ULL /* adjacent to A */
#define SIZE_B 0x1000ULL
#define GPA_C 0x100000ULL
#define SIZE_C 0x2000ULL
#define GPA_D 0x100000000ULL /* reserved, PROT_NONE: lengths only */
#define SIZE_D 0x100000000ULL

#define DESC_GPA 0x10000ULL
#define AVAIL_GPA 0x11000ULL
#define USED_GPA 0x12000ULL
#define BUF_GPA 0x14000ULL
#define IND_GPA 0x18000ULL

#define F_EVENT (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_IND (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_V1 (1ULL << VIRTIO_F_VERSION_1)

#define IOV_MAX_TEST 64

struct fixture {
	uint8_t *a, *b, *c, *d;
	struct virtq_mem *mem;
	struct virtq vq;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	unsigned int num;
	uint16_t avail_idx; /* the driver's copy */
	struct iovec iov[IOV_MAX_TEST];
	struct virtq_elem elem;
};

static struct fixture F;

static int group_setup(void **state)
{
	F.a = aligned_alloc(4096, SIZE_A);
	F.b = aligned_alloc(4096, SIZE_B);
	F.c = aligned_alloc(4096, SIZE_C);
	F.d = mmap(NULL, SIZE_D, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	F.mem = malloc(sizeof(*F.mem) + 4 * sizeof(F.mem->regions[0]));
	if (!F.a || !F.b || !F.c || F.d == MAP_FAILED || !F.mem)
		return -1;
	F.mem->nregions = 4;
	F.mem->regions[0] = (struct virtq_mem_region){ GPA_A, SIZE_A, 0, F.a };
	F.mem->regions[1] = (struct virtq_mem_region){ GPA_B, SIZE_B, 0, F.b };
	F.mem->regions[2] = (struct virtq_mem_region){ GPA_C, SIZE_C, 0, F.c };
	F.mem->regions[3] = (struct virtq_mem_region){ GPA_D, SIZE_D, 0, F.d };
	return 0;
}

static int group_teardown(void **state)
{
	free(F.a);
	free(F.b);
	free(F.c);
	munmap(F.d, SIZE_D);
	free(F.mem);
	return 0;
}

/* Host pointer for a guest address the test knows is mapped. */
static void *g2h(uint64_t gpa)
{
	uint64_t len = 1;
	void *p = virtq_mem_gpa(F.mem, gpa, &len);

	assert_non_null(p);
	return p;
}

/* Fresh ring of @num entries; both indices start at @base. */
static void ring_init(unsigned int num, uint64_t features, uint16_t base)
{
	memset(F.a, 0, SIZE_A);
	memset(F.b, 0, SIZE_B);
	memset(F.c, 0, SIZE_C);
	F.num = num;
	F.desc = g2h(DESC_GPA);
	F.avail = g2h(AVAIL_GPA);
	F.used = g2h(USED_GPA);
	F.avail->idx = base;
	F.used->idx = base;
	F.avail_idx = base;
	assert_int_equal(virtq_setup(&F.vq, num, F.desc, F.avail, F.used, base,
				     F.mem, features | F_V1),
			 0);
}

static int test_setup(void **state)
{
	ring_init(16, 0, 0);
	return 0;
}

static void set_desc(struct vring_desc *t, unsigned int i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	t[i].addr = addr;
	t[i].len = len;
	t[i].flags = flags;
	t[i].next = next;
}

/* Make the chain at @head available. */
static void publish(uint16_t head)
{
	F.avail->ring[F.avail_idx % F.num] = head;
	F.avail_idx++;
	__atomic_store_n(&F.avail->idx, F.avail_idx, __ATOMIC_RELEASE);
}

static enum virtq_pop_result pop(void)
{
	return virtq_pop(&F.vq, &F.elem, F.iov, IOV_MAX_TEST);
}

/* The next pop breaks the queue with a fault containing @what. */
static void expect_broken(const char *what)
{
	enum virtq_pop_result r = pop();
	const char *fault = virtq_fault(&F.vq);

	if (r != VIRTQ_BROKEN || !strstr(fault, what))
		fail_msg("pop = %d, fault \"%s\", expected \"%s\"", r, fault,
			 what);
}

static void expect_iov(unsigned int i, uint64_t gpa, size_t len)
{
	assert_ptr_equal(F.iov[i].iov_base, g2h(gpa));
	assert_int_equal(F.iov[i].iov_len, len);
}

/* --- setup --- */

static void test_setup_invalid(void **state)
{
	struct virtq vq;
	uint8_t *d = g2h(DESC_GPA), *a = g2h(AVAIL_GPA), *u = g2h(USED_GPA);
	static const unsigned int bad[] = { 0, 3, 100, 32769, 65536, 1u << 31 };

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(virtq_setup(&vq, bad[i], d, a, u, 0, F.mem, 0),
				 -EINVAL);
	assert_int_equal(virtq_setup(&vq, 1, d, a, u, 0, F.mem, 0), 0);
	assert_int_equal(virtq_setup(&vq, 32768, d, a, u, 0, F.mem, 0), 0);
	assert_int_equal(virtq_setup(&vq, 16, d + 8, a, u, 0, F.mem, 0),
			 -EINVAL);
	assert_int_equal(virtq_setup(&vq, 16, d, a + 1, u, 0, F.mem, 0),
			 -EINVAL);
	assert_int_equal(virtq_setup(&vq, 16, d, a, u + 2, 0, F.mem, 0),
			 -EINVAL);
	assert_int_equal(virtq_setup(&vq, 16, NULL, a, u, 0, F.mem, 0),
			 -EINVAL);
	/* Features are recorded. */
	assert_int_equal(
		virtq_setup(&vq, 16, d, a, u, 7, F.mem, F_V1 | F_EVENT | F_IND),
		0);
	assert_true(vq.event_idx);
	assert_true(vq.indirect);
	assert_int_equal(virtq_avail_base(&vq), 7);
	assert_string_equal(virtq_fault(&vq), "");
}

/* --- popping good chains --- */

static void test_empty(void **state)
{
	assert_int_equal(pop(), VIRTQ_EMPTY);
	assert_false(virtq_avail_pending(&F.vq));
	assert_string_equal(virtq_fault(&F.vq), "");
	assert_int_equal(F.vq.inflight, 0);
}

static void test_single(void **state)
{
	set_desc(F.desc, 0, BUF_GPA, 100, 0, 0);
	publish(0);
	assert_true(virtq_avail_pending(&F.vq));
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.head, 0);
	assert_int_equal(F.elem.out_num, 1);
	assert_int_equal(F.elem.in_num, 0);
	assert_ptr_equal(F.elem.out_iov, F.iov);
	expect_iov(0, BUF_GPA, 100);
	assert_int_equal(F.vq.inflight, 1);
	assert_int_equal(virtq_avail_base(&F.vq), 1);
	assert_int_equal(pop(), VIRTQ_EMPTY);
}

static void test_multi(void **state)
{
	set_desc(F.desc, 3, BUF_GPA, 10, VRING_DESC_F_NEXT, 5);
	set_desc(F.desc, 5, BUF_GPA + 0x100, 20, VRING_DESC_F_NEXT, 1);
	set_desc(F.desc, 1, BUF_GPA + 0x200, 30,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 7);
	set_desc(F.desc, 7, BUF_GPA + 0x300, 40, VRING_DESC_F_WRITE, 0);
	publish(3);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.head, 3);
	assert_int_equal(F.elem.out_num, 2);
	assert_int_equal(F.elem.in_num, 2);
	assert_ptr_equal(F.elem.out_iov, F.iov);
	assert_ptr_equal(F.elem.in_iov, F.iov + 2);
	expect_iov(0, BUF_GPA, 10);
	expect_iov(1, BUF_GPA + 0x100, 20);
	expect_iov(2, BUF_GPA + 0x200, 30);
	expect_iov(3, BUF_GPA + 0x300, 40);
}

static void test_writable_only(void **state)
{
	set_desc(F.desc, 2, BUF_GPA, 64, VRING_DESC_F_WRITE, 0);
	publish(2);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.out_num, 0);
	assert_int_equal(F.elem.in_num, 1);
	assert_ptr_equal(F.elem.in_iov, F.iov);
	expect_iov(0, BUF_GPA, 64);
}

static void test_split_regions(void **state)
{
	/* Ends exactly at A's last byte: one iovec. Then one crossing
	 * from A into the adjacent B: two iovecs. */
	set_desc(F.desc, 0, GPA_B - 0x10, 0x10, VRING_DESC_F_NEXT, 1);
	set_desc(F.desc, 1, GPA_B - 0x100, 0x200, VRING_DESC_F_WRITE, 0);
	publish(0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.out_num, 1);
	assert_int_equal(F.elem.in_num, 2);
	expect_iov(0, GPA_B - 0x10, 0x10);
	expect_iov(1, GPA_B - 0x100, 0x100);
	expect_iov(2, GPA_B, 0x100);
	assert_ptr_equal((uint8_t *)F.iov[1].iov_base, F.a + SIZE_A - 0x100);
	assert_ptr_equal(F.iov[2].iov_base, F.b);
}

static void test_region_end_exact(void **state)
{
	/* The last byte of C is inside; one more is not. */
	set_desc(F.desc, 0, GPA_C + SIZE_C - 8, 8, 0, 0);
	publish(0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	expect_iov(0, GPA_C + SIZE_C - 8, 8);
	set_desc(F.desc, 0, GPA_C + SIZE_C - 8, 9, 0, 0);
	publish(0);
	expect_broken("descriptor 0: address 0x101ff8 len 9 outside guest "
		      "memory");
}

static void test_zero_length(void **state)
{
	/* Zero-length buffers take no iovec and are not translated. */
	set_desc(F.desc, 0, BUF_GPA, 0, VRING_DESC_F_NEXT, 1);
	set_desc(F.desc, 1, 0xdead0000, 0, VRING_DESC_F_NEXT, 2);
	set_desc(F.desc, 2, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	publish(0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.out_num, 0);
	assert_int_equal(F.elem.in_num, 1);
	expect_iov(0, BUF_GPA, 8);
}

static void test_chain_exactly_num(void **state)
{
	for (unsigned int i = 0; i < 16; i++)
		set_desc(F.desc, i, BUF_GPA + i * 16, 16,
			 i < 15 ? VRING_DESC_F_NEXT : 0, i + 1);
	publish(0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.out_num, 16);
	expect_iov(15, BUF_GPA + 15 * 16, 16);
}

static void test_total_limit(void **state)
{
	/* 2^31 + (2^31 - 1) = UINT32_MAX bytes is fine. */
	set_desc(F.desc, 0, GPA_D, 0x80000000u, VRING_DESC_F_NEXT, 1);
	set_desc(F.desc, 1, GPA_D, 0x7fffffffu, 0, 0);
	publish(0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.iov[0].iov_len + F.iov[1].iov_len, UINT32_MAX);
	/* One byte more is not. */
	set_desc(F.desc, 1, GPA_D, 0x80000000u, 0, 0);
	publish(0);
	expect_broken("descriptor 1: chain longer than 4 GiB in total");
}

/* --- indirect tables --- */

static void test_indirect_valid(void **state)
{
	struct vring_desc *t = g2h(IND_GPA);

	ring_init(16, F_IND, 0);
	set_desc(t, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(t, 2, BUF_GPA + 16, 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, BUF_GPA + 32, 64, VRING_DESC_F_WRITE, 0);
	set_desc(F.desc, 9, IND_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(9);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.head, 9);
	assert_int_equal(F.elem.out_num, 2);
	assert_int_equal(F.elem.in_num, 1);
	expect_iov(0, BUF_GPA, 16);
	expect_iov(1, BUF_GPA + 16, 16);
	expect_iov(2, BUF_GPA + 32, 64);
}

static void test_indirect_after_direct(void **state)
{
	struct vring_desc *t = g2h(IND_GPA);

	ring_init(16, F_IND, 0);
	/* Direct descriptors, then one indirect (its WRITE flag ignored). */
	set_desc(F.desc, 4, BUF_GPA + 0x400, 8, VRING_DESC_F_NEXT, 6);
	set_desc(F.desc, 6, IND_GPA, 32,
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	set_desc(t, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, BUF_GPA + 16, 16, VRING_DESC_F_WRITE, 0);
	publish(4);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.out_num, 2);
	assert_int_equal(F.elem.in_num, 1);
	expect_iov(0, BUF_GPA + 0x400, 8);
	expect_iov(1, BUF_GPA, 16);
	expect_iov(2, BUF_GPA + 16, 16);
}

static void test_indirect_table_across_regions(void **state)
{
	/* A table whose first entry is at the end of A, second in B. */
	ring_init(16, F_IND, 0);
	set_desc(g2h(GPA_B - 16), 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(g2h(GPA_B), 0, BUF_GPA + 16, 16, VRING_DESC_F_WRITE, 0);
	set_desc(F.desc, 0, GPA_B - 16, 32, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.out_num, 1);
	assert_int_equal(F.elem.in_num, 1);
	expect_iov(0, BUF_GPA, 16);
	expect_iov(1, BUF_GPA + 16, 16);
}

static void test_indirect_not_negotiated(void **state)
{
	set_desc(g2h(IND_GPA), 0, BUF_GPA, 16, 0, 0);
	set_desc(F.desc, 0, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("descriptor 0: indirect descriptor but "
		      "VIRTIO_RING_F_INDIRECT_DESC not negotiated");
}

static void test_indirect_nested(void **state)
{
	struct vring_desc *t = g2h(IND_GPA);

	ring_init(16, F_IND, 0);
	set_desc(t, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	set_desc(F.desc, 2, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	publish(2);
	expect_broken("descriptor 2, indirect entry 1: indirect table in an "
		      "indirect table");
}

static void test_indirect_bad_length(void **state)
{
	ring_init(16, F_IND, 0);
	set_desc(F.desc, 0, IND_GPA, 20, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect table length 20 is not a non-zero multiple "
		      "of 16");

	ring_init(16, F_IND, 0);
	set_desc(F.desc, 0, IND_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect table length 0 is not");

	ring_init(16, F_IND, 0);
	set_desc(F.desc, 0, GPA_D, (VIRTQ_MAX_SIZE + 1) * 16,
		 VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect table of 32769 entries exceeds 32768");
}

static void test_indirect_outside(void **state)
{
	/* In a hole, running off the end of B, wrapping the space. */
	static const uint64_t where[] = { 0x30000, GPA_B + SIZE_B - 16,
					  UINT64_MAX - 15 };

	for (unsigned int i = 0; i < 3; i++) {
		ring_init(16, F_IND, 0);
		set_desc(F.desc, 0, where[i], 32, VRING_DESC_F_INDIRECT, 0);
		publish(0);
		expect_broken("outside guest memory");
		assert_non_null(strstr(virtq_fault(&F.vq), "indirect table"));
	}
}

static void test_indirect_next_beyond(void **state)
{
	struct vring_desc *t = g2h(IND_GPA);

	ring_init(16, F_IND, 0);
	set_desc(t, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(t, 2, BUF_GPA, 16, 0, 0); /* past the table's 2 entries */
	set_desc(F.desc, 0, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("descriptor 0, indirect entry 0: next index 2 >= table "
		      "size 2");
}

static void test_indirect_loop(void **state)
{
	struct vring_desc *t = g2h(IND_GPA);

	ring_init(16, F_IND, 0);
	set_desc(t, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);
	set_desc(F.desc, 0, IND_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("chain longer than its table of 2 entries");
}

static void test_indirect_with_next(void **state)
{
	ring_init(16, F_IND, 0);
	set_desc(g2h(IND_GPA), 0, BUF_GPA, 16, 0, 0);
	set_desc(F.desc, 0, IND_GPA, 16,
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	set_desc(F.desc, 1, BUF_GPA, 16, 0, 0);
	publish(0);
	expect_broken("descriptor 0: indirect descriptor with the next flag");
}

static void test_indirect_write_before_read(void **state)
{
	struct vring_desc *t = g2h(IND_GPA);

	ring_init(16, F_IND, 0);
	set_desc(F.desc, 0, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		 1);
	set_desc(F.desc, 1, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(t, 0, BUF_GPA, 16, 0, 0);
	publish(0);
	expect_broken("descriptor 1, indirect entry 0: readable buffer after "
		      "a writable one");
}

/* --- hostile direct chains --- */

static void test_loop(void **state)
{
	set_desc(F.desc, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(F.desc, 1, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);
	publish(0);
	expect_broken("chain from head 0 longer than ring size 16");

	ring_init(16, 0, 0);
	set_desc(F.desc, 5, BUF_GPA, 0, VRING_DESC_F_NEXT, 5);
	publish(5);
	expect_broken("longer than ring size 16");
}

static void test_head_out_of_range(void **state)
{
	publish(16);
	expect_broken("avail entry 0: head 16 >= ring size 16");
	ring_init(16, 0, 0);
	publish(0xffff);
	expect_broken("head 65535 >= ring size 16");
}

static void test_next_out_of_range(void **state)
{
	ring_init(256, 0, 0);
	set_desc(F.desc, 7, BUF_GPA, 16, VRING_DESC_F_NEXT, 300);
	publish(7);
	expect_broken("x");
	assert_string_equal(virtq_fault(&F.vq),
			    "descriptor 7: next index 300 >= ring size 256");
}

static void test_addr_outside(void **state)
{
	set_desc(F.desc, 3, 0x30000, 16, 0, 0);
	publish(3);
	expect_broken("x");
	assert_string_equal(virtq_fault(&F.vq), "descriptor 3: address "
						"0x30000 len 16 outside guest "
						"memory");
	/* Starts inside B, runs off its end into the hole. */
	ring_init(16, 0, 0);
	set_desc(F.desc, 0, GPA_B + SIZE_B - 16, 32, 0, 0);
	publish(0);
	expect_broken("descriptor 0: address 0x20ff0 len 32 outside");
	/* Below all memory. */
	ring_init(16, 0, 0);
	set_desc(F.desc, 0, 0, 1, 0, 0);
	publish(0);
	expect_broken("outside guest memory");
}

static void test_addr_wrap(void **state)
{
	set_desc(F.desc, 0, UINT64_MAX - 15, 32, 0, 0);
	publish(0);
	expect_broken("descriptor 0: address 0xfffffffffffffff0 len 32 wraps "
		      "around");
}

static void test_write_before_read(void **state)
{
	set_desc(F.desc, 0, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		 1);
	set_desc(F.desc, 1, BUF_GPA, 16, 0, 0);
	publish(0);
	expect_broken("descriptor 1: readable buffer after a writable one");
}

static void test_avail_jump(void **state)
{
	/* Exactly num new entries is fine... */
	set_desc(F.desc, 0, BUF_GPA, 16, 0, 0);
	for (unsigned int i = 0; i < 16; i++)
		publish(0);
	for (unsigned int i = 0; i < 16; i++)
		assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(pop(), VIRTQ_EMPTY);
	/* ...one more than num is not. */
	F.avail->idx = 16 + 17;
	expect_broken("avail index jumped by 17 (from 16 to 33), more than "
		      "ring size 16");

	/* Going backwards is a jump by almost 2^16. */
	ring_init(16, 0, 100);
	F.avail->idx = 99;
	expect_broken("avail index jumped by 65535");
}

static void test_too_many_iovecs(void **state)
{
	for (unsigned int i = 0; i < 5; i++)
		set_desc(F.desc, i, BUF_GPA, 16, i < 4 ? VRING_DESC_F_NEXT : 0,
			 i + 1);
	publish(0);
	assert_int_equal(virtq_pop(&F.vq, &F.elem, F.iov, 4), VIRTQ_BROKEN);
	assert_string_equal(virtq_fault(&F.vq),
			    "descriptor 4: chain needs more than 4 iovecs");

	/* A buffer split across regions counts twice. */
	ring_init(16, 0, 0);
	set_desc(F.desc, 0, GPA_B - 8, 16, 0, 0);
	publish(0);
	assert_int_equal(virtq_pop(&F.vq, &F.elem, F.iov, 1), VIRTQ_BROKEN);
	assert_non_null(strstr(virtq_fault(&F.vq), "more than 1 iovecs"));
}

static void test_broken_is_sticky(void **state)
{
	char fault[sizeof(F.vq.fault)];

	publish(99);
	expect_broken("head 99");
	snprintf(fault, sizeof(fault), "%s", virtq_fault(&F.vq));
	/* Repairing the ring does not revive the queue. */
	F.avail->ring[0] = 0;
	set_desc(F.desc, 0, BUF_GPA, 16, 0, 0);
	publish(0);
	assert_int_equal(pop(), VIRTQ_BROKEN);
	assert_int_equal(pop(), VIRTQ_BROKEN);
	assert_string_equal(virtq_fault(&F.vq), fault);
	assert_false(virtq_avail_pending(&F.vq));
	assert_int_equal(F.vq.inflight, 0);
	assert_int_equal(virtq_avail_base(&F.vq), 0);
}

static void test_set_mem(void **state)
{
	set_desc(F.desc, 0, BUF_GPA, 16, 0, 0);
	publish(0);
	publish(0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	virtq_set_mem(&F.vq, NULL);
	expect_broken("outside guest memory");
	virtq_set_mem(&F.vq, F.mem);
}

/* --- copy once --- */

static void test_copy_once_overlap(void **state)
{
	/*
	 * The iovec array overlays the descriptor table, so writing iov[0]
	 * rewrites descriptor 0 (its flags become 0) before the walk goes
	 * on: an implementation that re-read descriptor 0 would stop there.
	 */
	struct iovec *iov = (struct iovec *)F.desc;

	set_desc(F.desc, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(F.desc, 1, BUF_GPA + 8, 8, VRING_DESC_F_WRITE, 0);
	publish(0);
	assert_int_equal(virtq_pop(&F.vq, &F.elem, iov, 2), VIRTQ_POPPED);
	assert_int_equal(F.elem.out_num, 1);
	assert_int_equal(F.elem.in_num, 1);
	assert_ptr_equal(iov[0].iov_base, g2h(BUF_GPA));
	assert_int_equal(iov[0].iov_len, 8);
	assert_ptr_equal(iov[1].iov_base, g2h(BUF_GPA + 8));
	assert_int_equal(iov[1].iov_len, 8);
}

static void test_change_after_pop(void **state)
{
	set_desc(F.desc, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(F.desc, 1, BUF_GPA + 8, 8, VRING_DESC_F_WRITE, 0);
	publish(0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	/* The guest rewrites everything; what was popped stays. */
	set_desc(F.desc, 0, 0x30000, 0xffffffff, VRING_DESC_F_INDIRECT, 99);
	set_desc(F.desc, 1, 0, 0, 0, 0);
	F.avail->ring[0] = 12;
	assert_int_equal(F.elem.head, 0);
	assert_int_equal(F.elem.out_num, 1);
	assert_int_equal(F.elem.in_num, 1);
	expect_iov(0, BUF_GPA, 8);
	expect_iov(1, BUF_GPA + 8, 8);
}

static bool race_stop, race_started;

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The hostile guest: flips descriptor 0's length between a good value and
 * one that leaves guest memory, as fast as it can. */
static void *race_writer(void *arg)
{
	uint32_t *len = &F.desc[0].len;

	__atomic_store_n(&race_started, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		__atomic_store_n(len, 16, __ATOMIC_RELAXED);
		__atomic_store_n(len, 0x7fff0000, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_copy_once_race(void **state)
{
	unsigned int popped = 0, broken = 0, i;
	const char *bad = NULL;
	double start;
	pthread_t t;

	set_desc(F.desc, 0, BUF_GPA, 16, 0, 0);
	race_stop = false;
	race_started = false;
	assert_int_equal(pthread_create(&t, NULL, race_writer, NULL), 0);
	while (!__atomic_load_n(&race_started, __ATOMIC_ACQUIRE))
		sched_yield();
	start = now_sec();
	/* At least 100 ms and both outcomes seen often, at most 1 s (a
	 * loaded or one-CPU host may give the writer little time). */
	for (i = 0;; i++) {
		double el = now_sec() - start;

		if (el >= 1.0 ||
		    (el >= 0.1 && popped >= 1000 && broken >= 1000))
			break;
		enum virtq_pop_result r;

		publish(0);
		r = pop();
		if (r == VIRTQ_POPPED) {
			/* Whatever was checked is what was used. */
			if (F.elem.out_num != 1 || F.iov[0].iov_len != 16) {
				bad = "popped a length that was not checked";
				break;
			}
			virtq_push(&F.vq, &F.elem, 0);
			popped++;
		} else {
			if (r != VIRTQ_BROKEN ||
			    !strstr(virtq_fault(&F.vq),
				    "len 2147418112 "
				    "outside guest memory")) {
				bad = virtq_fault(&F.vq);
				break;
			}
			broken++;
			/* Start again past the bad entry. */
			assert_int_equal(virtq_setup(&F.vq, 16, F.desc, F.avail,
						     F.used, F.avail_idx, F.mem,
						     F_V1),
					 0);
		}
	}
	__atomic_store_n(&race_stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	if (bad)
		fail_msg("after %u pops: %s", i, bad);
	print_message("race: %u popped, %u broken\n", popped, broken);
}

/* --- used ring --- */

static void test_push_used(void **state)
{
	struct virtq_elem e1, e2;

	set_desc(F.desc, 4, BUF_GPA, 16, 0, 0);
	set_desc(F.desc, 9, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	publish(4);
	publish(9);
	assert_int_equal(pop(), VIRTQ_POPPED);
	e1 = F.elem;
	assert_int_equal(pop(), VIRTQ_POPPED);
	e2 = F.elem;
	assert_int_equal(F.vq.inflight, 2);

	/* Out of order completion. */
	virtq_push(&F.vq, &e2, 123);
	assert_int_equal(F.used->idx, 1);
	assert_int_equal(F.used->ring[0].id, 9);
	assert_int_equal(F.used->ring[0].len, 123);
	virtq_push(&F.vq, &e1, 0);
	assert_int_equal(F.used->idx, 2);
	assert_int_equal(F.used->ring[1].id, 4);
	assert_int_equal(F.used->ring[1].len, 0);
	assert_int_equal(F.vq.inflight, 0);

	/* A push without a pop does not wrap the in-flight count. */
	virtq_push(&F.vq, &e1, 5);
	assert_int_equal(F.vq.inflight, 0);
	assert_int_equal(F.used->idx, 3);
}

static void test_push_wrap(void **state)
{
	ring_init(16, 0, 65535);
	set_desc(F.desc, 1, BUF_GPA, 16, 0, 0);
	set_desc(F.desc, 2, BUF_GPA, 16, 0, 0);
	publish(1);
	publish(2);
	assert_int_equal(F.avail->idx, 1);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.head, 1);
	virtq_push(&F.vq, &F.elem, 7);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(F.elem.head, 2);
	virtq_push(&F.vq, &F.elem, 8);
	assert_int_equal(F.used->idx, 1);
	assert_int_equal(F.used->ring[15].id, 1);
	assert_int_equal(F.used->ring[15].len, 7);
	assert_int_equal(F.used->ring[0].id, 2);
	assert_int_equal(F.used->ring[0].len, 8);
	assert_int_equal(virtq_avail_base(&F.vq), 1);
	assert_int_equal(pop(), VIRTQ_EMPTY);
}

static void test_setup_resumes_used_idx(void **state)
{
	/* A queue set up again continues from the ring's used->idx. */
	F.used->idx = 40;
	assert_int_equal(virtq_setup(&F.vq, 16, F.desc, F.avail, F.used, 42,
				     F.mem, F_V1),
			 0);
	assert_int_equal(F.vq.used_idx, 40);
	assert_int_equal(virtq_avail_base(&F.vq), 42);
}

/* --- notifications --- */

static void push_one(uint16_t head)
{
	struct virtq_elem e = { .head = head };

	virtq_push(&F.vq, &e, 1);
}

static void test_notify_no_interrupt(void **state)
{
	push_one(0);
	assert_true(virtq_need_notify(&F.vq));
	F.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	push_one(1);
	assert_false(virtq_need_notify(&F.vq));
	F.avail->flags = 0;
	push_one(2);
	assert_true(virtq_need_notify(&F.vq));
}

static uint16_t *used_event(void)
{
	return &F.avail->ring[F.num];
}

static uint16_t *avail_event(void)
{
	return (uint16_t *)&F.used->ring[F.num];
}

static void test_notify_event_idx_wrap(void **state)
{
	ring_init(16, F_EVENT, 65533);
	/* NO_INTERRUPT is ignored with EVENT_IDX. */
	F.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*used_event() = 65533;
	push_one(0); /* used 65534 */
	assert_true(virtq_need_notify(&F.vq)); /* first time: always */
	*used_event() = 65535;
	push_one(1); /* used 65535: entry 65534 used, not 65535 yet */
	assert_false(virtq_need_notify(&F.vq));
	push_one(2); /* used 0: entry 65535 used */
	assert_true(virtq_need_notify(&F.vq));
	*used_event() = 1;
	push_one(3); /* used 1 */
	assert_false(virtq_need_notify(&F.vq));
	push_one(4); /* used 2 */
	assert_true(virtq_need_notify(&F.vq));
	/* Nothing pushed since: no notification. */
	assert_false(virtq_need_notify(&F.vq));
}

static void test_notify_event_idx_batch(void **state)
{
	ring_init(16, F_EVENT, 0);
	push_one(0);
	assert_true(virtq_need_notify(&F.vq)); /* signalled at 1 */
	*used_event() = 3;
	push_one(1);
	push_one(2);
	push_one(3);
	push_one(4); /* used 5; entry 3 among those since 1 */
	assert_true(virtq_need_notify(&F.vq));
	*used_event() = 10;
	push_one(5);
	push_one(6); /* used 7: entry 10 not reached */
	assert_false(virtq_need_notify(&F.vq));
	/* The driver asked for an event already passed: no wake-up until
	 * a new one is set (it would re-check the ring itself). */
	*used_event() = 2;
	push_one(7);
	assert_false(virtq_need_notify(&F.vq));
}

static void test_avail_event(void **state)
{
	ring_init(16, F_EVENT, 65535);
	set_desc(F.desc, 0, BUF_GPA, 16, 0, 0);
	publish(0);
	publish(0);
	publish(0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(*avail_event(), 0);
	/* Disabled: pops leave avail_event alone. */
	virtq_set_notification(&F.vq, false);
	assert_int_equal(F.used->flags, 0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(*avail_event(), 0);
	/* Enabling publishes where we are. */
	virtq_set_notification(&F.vq, true);
	assert_int_equal(*avail_event(), 1);
	assert_true(virtq_avail_pending(&F.vq));
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(*avail_event(), 2);
	assert_false(virtq_avail_pending(&F.vq));
}

static void test_set_notification_flags(void **state)
{
	virtq_set_notification(&F.vq, false);
	assert_int_equal(F.used->flags, VRING_USED_F_NO_NOTIFY);
	virtq_set_notification(&F.vq, true);
	assert_int_equal(F.used->flags, 0);
	/* Without EVENT_IDX, avail_event is never written. */
	set_desc(F.desc, 0, BUF_GPA, 16, 0, 0);
	publish(0);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_int_equal(*avail_event(), 0);
}

static void test_avail_pending_base(void **state)
{
	ring_init(16, 0, 1000);
	assert_false(virtq_avail_pending(&F.vq));
	assert_int_equal(virtq_avail_base(&F.vq), 1000);
	set_desc(F.desc, 0, BUF_GPA, 16, 0, 0);
	publish(0);
	assert_true(virtq_avail_pending(&F.vq));
	assert_int_equal(virtq_avail_base(&F.vq), 1000);
	assert_int_equal(pop(), VIRTQ_POPPED);
	assert_false(virtq_avail_pending(&F.vq));
	assert_int_equal(virtq_avail_base(&F.vq), 1001);
}

#define T(f) cmocka_unit_test_setup(f, test_setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_setup_invalid),
		T(test_empty),
		T(test_single),
		T(test_multi),
		T(test_writable_only),
		T(test_split_regions),
		T(test_region_end_exact),
		T(test_zero_length),
		T(test_chain_exactly_num),
		T(test_total_limit),
		T(test_indirect_valid),
		T(test_indirect_after_direct),
		T(test_indirect_table_across_regions),
		T(test_indirect_not_negotiated),
		T(test_indirect_nested),
		T(test_indirect_bad_length),
		T(test_indirect_outside),
		T(test_indirect_next_beyond),
		T(test_indirect_loop),
		T(test_indirect_with_next),
		T(test_indirect_write_before_read),
		T(test_loop),
		T(test_head_out_of_range),
		T(test_next_out_of_range),
		T(test_addr_outside),
		T(test_addr_wrap),
		T(test_write_before_read),
		T(test_avail_jump),
		T(test_too_many_iovecs),
		T(test_broken_is_sticky),
		T(test_set_mem),
		T(test_copy_once_overlap),
		T(test_change_after_pop),
		T(test_copy_once_race),
		T(test_push_used),
		T(test_push_wrap),
		T(test_setup_resumes_used_idx),
		T(test_notify_no_interrupt),
		T(test_notify_event_idx_wrap),
		T(test_notify_event_idx_batch),
		T(test_avail_event),
		T(test_set_notification_flags),
		T(test_avail_pending_base),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
