// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for guest address translation (src/virtq/virtq_mem.c).
 *
 * Flow: each test builds a memory table of a few regions with chosen
 * guest-physical and frontend-virtual addresses over one host buffer, then
 * checks what virtq_mem_gpa() and virtq_mem_uaddr() return at and around
 * the region boundaries. The dirty log's helpers go the other way
 * (daemon pointer to guest-physical address) and set its bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "virtq/virtq.h"
#include "virtq/virtq_mem.h"

#define NREG 5

static uint8_t host[5 * 0x1000];

/* Regions (gpa, size, uaddr): two adjacent, gaps, and one at the top of
 * the address space so that end computations would overflow. */
static struct virtq_mem *make_mem(void)
{
	static const struct {
		uint64_t gpa, size, uaddr;
	} def[NREG] = {
		{ 0x0, 0x1000, 0x7f0000000000 },
		{ 0x10000, 0x1000, 0x7f0000010000 },
		{ 0x11000, 0x1000, 0x7f0000100000 },
		{ 0x200000, 0x1000, 0x7f0000200000 },
		{ UINT64_MAX - 0xfff, 0x1000, UINT64_MAX - 0xfff },
	};
	struct virtq_mem *m;

	m = malloc(sizeof(*m) + NREG * sizeof(m->regions[0]));
	assert_non_null(m);
	m->nregions = NREG;
	for (unsigned int i = 0; i < NREG; i++) {
		m->regions[i].gpa = def[i].gpa;
		m->regions[i].size = def[i].size;
		m->regions[i].uaddr = def[i].uaddr;
		m->regions[i].hva = host + i * 0x1000;
	}
	return m;
}

static void test_gpa_inside(void **state)
{
	struct virtq_mem *m = make_mem();
	uint64_t len = 0x10;

	assert_ptr_equal(virtq_mem_gpa(m, 0x10010, &len), host + 0x1010);
	assert_int_equal(len, 0x10);
	len = 1;
	assert_ptr_equal(virtq_mem_gpa(m, 0, &len), host);
	len = 0x1000;
	assert_ptr_equal(virtq_mem_gpa(m, 0x200000, &len), host + 0x3000);
	assert_int_equal(len, 0x1000);
	free(m);
}

static void test_gpa_boundaries(void **state)
{
	struct virtq_mem *m = make_mem();
	uint64_t len;

	/* The last byte of a region translates, one past it does not. */
	len = 100;
	assert_ptr_equal(virtq_mem_gpa(m, 0xfff, &len), host + 0xfff);
	assert_int_equal(len, 1);
	len = 1;
	assert_null(virtq_mem_gpa(m, 0x1000, &len));
	len = 1;
	assert_ptr_equal(virtq_mem_gpa(m, 0x200fff, &len), host + 0x3fff);
	len = 1;
	assert_null(virtq_mem_gpa(m, 0x201000, &len));
	/* Below the first region of a gap, in the gap, above the last. */
	len = 1;
	assert_null(virtq_mem_gpa(m, 0xffff, &len));
	len = 1;
	assert_null(virtq_mem_gpa(m, 0x12000, &len));
	len = 1;
	assert_null(virtq_mem_gpa(m, 0x1fffff, &len));
	free(m);
}

static void test_gpa_adjacent_split(void **state)
{
	struct virtq_mem *m = make_mem();
	uint64_t len = 0x200;

	/* A buffer crossing into the adjacent region is clamped there. */
	assert_ptr_equal(virtq_mem_gpa(m, 0x10f00, &len), host + 0x1f00);
	assert_int_equal(len, 0x100);
	len = 0x100;
	assert_ptr_equal(virtq_mem_gpa(m, 0x11000, &len), host + 0x2000);
	assert_int_equal(len, 0x100);
	free(m);
}

static void test_gpa_top_of_space(void **state)
{
	struct virtq_mem *m = make_mem();
	uint64_t len = UINT64_MAX;

	assert_ptr_equal(virtq_mem_gpa(m, UINT64_MAX, &len), host + 0x4fff);
	assert_int_equal(len, 1);
	len = UINT64_MAX;
	assert_ptr_equal(virtq_mem_gpa(m, UINT64_MAX - 0xfff, &len),
			 host + 0x4000);
	assert_int_equal(len, 0x1000);
	free(m);
}

static void test_gpa_null_and_empty(void **state)
{
	struct virtq_mem *m = make_mem();
	uint64_t len = 1;

	assert_null(virtq_mem_gpa(NULL, 0, &len));
	assert_null(virtq_mem_gpa(m, 0, NULL));
	m->nregions = 0;
	assert_null(virtq_mem_gpa(m, 0, &len));
	/* A zero length still needs the address inside a region. */
	m->nregions = NREG;
	len = 0;
	assert_ptr_equal(virtq_mem_gpa(m, 0x10, &len), host + 0x10);
	assert_int_equal(len, 0);
	free(m);
}

static void test_gpa_many_regions(void **state)
{
	unsigned int n = VIRTQ_MEM_MAX_REGIONS;
	struct virtq_mem *m;
	static uint8_t buf[16];

	m = malloc(sizeof(*m) + n * sizeof(m->regions[0]));
	assert_non_null(m);
	m->nregions = n;
	/* Regions of 16 bytes with 16-byte holes between them. */
	for (unsigned int i = 0; i < n; i++) {
		m->regions[i].gpa = 0x1000 + 32ULL * i;
		m->regions[i].size = 16;
		m->regions[i].uaddr = 0;
		m->regions[i].hva = buf; /* never dereferenced */
	}
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = 0x1000 + 32ULL * i, len = 64;

		assert_non_null(virtq_mem_gpa(m, gpa, &len));
		assert_int_equal(len, 16);
		len = 1;
		assert_null(virtq_mem_gpa(m, gpa + 16, &len));
		len = 1;
		assert_null(virtq_mem_gpa(m, gpa - 1, &len));
	}
	free(m);
}

static void test_uaddr(void **state)
{
	struct virtq_mem *m = make_mem();

	assert_ptr_equal(virtq_mem_uaddr(m, 0x7f0000010000, 0x1000),
			 host + 0x1000);
	assert_ptr_equal(virtq_mem_uaddr(m, 0x7f0000010fff, 1), host + 0x1fff);
	/* One byte too long, one past the end, across regions. */
	assert_null(virtq_mem_uaddr(m, 0x7f0000010000, 0x1001));
	assert_null(virtq_mem_uaddr(m, 0x7f0000011000, 1));
	assert_null(virtq_mem_uaddr(m, 0x7f00000fffff, 2));
	/* Not sorted by uaddr: still found. */
	assert_ptr_equal(virtq_mem_uaddr(m, 0x7f0000000010, 0x10), host + 0x10);
	/* Wrapping range and the top of the space. */
	assert_null(virtq_mem_uaddr(m, UINT64_MAX - 0xf, 0x20));
	assert_ptr_equal(virtq_mem_uaddr(m, UINT64_MAX - 0xf, 0x10),
			 host + 0x4ff0);
	assert_null(virtq_mem_uaddr(m, 0x1000, 1));
	assert_null(virtq_mem_uaddr(NULL, 0x7f0000010000, 1));
	free(m);
}

static void test_hva_to_gpa(void **state)
{
	struct virtq_mem *m = make_mem();
	uint64_t gpa = 0;

	assert_true(virtq_mem_hva_to_gpa(m, host + 0x1010, 0x10, &gpa));
	assert_int_equal(gpa, 0x10010);
	assert_true(virtq_mem_hva_to_gpa(m, host + 0x2000, 0x1000, &gpa));
	assert_int_equal(gpa, 0x11000);
	/* Across two regions, outside all of them, too long. */
	assert_false(virtq_mem_hva_to_gpa(m, host + 0x1ff0, 0x20, &gpa));
	assert_false(virtq_mem_hva_to_gpa(m, host + sizeof(host), 1, &gpa));
	assert_false(virtq_mem_hva_to_gpa(m, host, 0x1001, &gpa));
	assert_false(virtq_mem_hva_to_gpa(NULL, host, 1, &gpa));
	free(m);
}

static void test_log_range(void **state)
{
	uint8_t bits[4] = { 0 };
	struct virtq_log log = { .bits = bits, .size = sizeof(bits) };
	const uint64_t pg = VIRTQ_LOG_PAGE;

	/* One byte in page 3, a range over pages 6..9, nothing for len 0. */
	assert_true(virtq_log_range(&log, 3 * pg + 5, 1));
	assert_int_equal(bits[0], 1u << 3);
	assert_true(virtq_log_range(&log, 6 * pg + 100, 3 * pg));
	assert_int_equal(bits[0], (1u << 3) | (1u << 6) | (1u << 7));
	assert_int_equal(bits[1], 0x3);
	assert_true(virtq_log_range(&log, 20 * pg, 0));
	assert_int_equal(bits[2], 0);
	/* A long range sets whole bytes. */
	assert_true(virtq_log_range(&log, 16 * pg, 16 * pg));
	assert_int_equal(bits[2], 0xff);
	assert_int_equal(bits[3], 0xff);
	/* Past the end: what fits is marked, and the caller is told. */
	bits[3] = 0;
	assert_false(virtq_log_range(&log, 30 * pg, 4 * pg));
	assert_int_equal(bits[3], 0xc0);
	assert_false(virtq_log_range(&log, 32 * pg, 1));
	assert_false(virtq_log_range(&log, UINT64_MAX - 10, 100));
	assert_true(virtq_log_range(NULL, 0, 100));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpa_inside),
		cmocka_unit_test(test_gpa_boundaries),
		cmocka_unit_test(test_gpa_adjacent_split),
		cmocka_unit_test(test_gpa_top_of_space),
		cmocka_unit_test(test_gpa_null_and_empty),
		cmocka_unit_test(test_gpa_many_regions),
		cmocka_unit_test(test_uaddr),
		cmocka_unit_test(test_hva_to_gpa),
		cmocka_unit_test(test_log_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
