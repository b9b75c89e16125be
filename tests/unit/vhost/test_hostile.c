// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user backend, hostile frontend: bad sizes, wrong fd counts,
 * memory regions that overflow, exceed their fd or overlap, vring indices
 * out of range, bad ring sizes and addresses, unknown requests, truncated
 * headers and disconnects in the middle of a message. Refused messages
 * leave the backend serving and close their fds; framing faults end the
 * connection with -EPROTO and one ops->broken call. Every test checks
 * that no fd leaked (t_finish), and most check after each refusal too.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/vhost_types.h>
#include <linux/virtio_config.h>

#include "harness.h"

/* The backend still answers. */
static void assert_alive(struct harness *h)
{
	assert_int_not_equal(t_get_u64(h, VHOST_USER_GET_FEATURES), 0);
}

/* @n fresh eventfds into @fds. */
static void make_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
}

static void close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
}

static void test_bad_sizes(void **state)
{
	struct harness h;
	uint8_t buf[64] = { 0 };

	t_start(&h);
	/* Too short and too long for the payload type: refused, serving. */
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_FEATURES, true, buf, 4, NULL, 0), 0);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_FEATURES), 0);
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_VRING_NUM, true, buf, 12, NULL, 0),
		0);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_VRING_NUM), 0);
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_OWNER, true, buf, 8, NULL, 0), 0);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_OWNER), 0);
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_MEM_TABLE, true, buf, 4, NULL, 0), 0);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_MEM_TABLE), 0);
	assert_alive(&h);
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.broken, 0);
	t_finish(&h);
}

static void test_oversized_payload(void **state)
{
	struct harness h;
	uint8_t buf[64] = { 0 };
	int fds[2];

	t_start(&h);
	make_fds(fds, 2);
	/* A size beyond any payload type: the stream cannot be trusted. */
	assert_int_equal(t_send_raw(&h, VHOST_USER_SET_FEATURES,
				    VHOST_USER_VERSION, 1u << 20, buf,
				    sizeof(buf), fds, 2),
			 0);
	close_fds(fds, 2);
	assert_int_equal(t_disconnect(&h), -EPROTO);
	assert_int_equal(h.fake.broken, 1);
	assert_non_null(strstr(h.fake.why, "exceeds"));
	t_finish(&h);
}

static void test_bad_version(void **state)
{
	struct harness h;

	t_start(&h);
	assert_int_equal(t_send_raw(&h, VHOST_USER_GET_FEATURES, 0x2, 0, NULL,
				    0, NULL, 0),
			 0);
	assert_int_equal(t_disconnect(&h), -EPROTO);
	assert_int_equal(h.fake.broken, 1);
	assert_non_null(strstr(h.fake.why, "version"));
	t_finish(&h);
}

static void test_reply_request_refused(void **state)
{
	struct harness h;
	struct vhost_vring_state s = { .index = 7 };

	t_start(&h);
	/* GET_VRING_BASE must be answered; an index out of range leaves no
	 * answer to give: fatal, named. */
	assert_int_equal(t_send(&h, VHOST_USER_GET_VRING_BASE, false, &s,
				sizeof(s), NULL, 0),
			 0);
	assert_int_equal(t_recv(&h, VHOST_USER_GET_VRING_BASE, &s, sizeof(s)),
			 -EPIPE);
	assert_int_equal(t_disconnect(&h), -EPROTO);
	assert_int_equal(h.fake.broken, 1);
	assert_non_null(strstr(h.fake.why, "out of range"));
	t_finish(&h);
}

static void test_wrong_fd_counts(void **state)
{
	struct harness h;
	int fds[12], before;
	uint64_t v;

	t_start(&h);
	t_negotiate(&h);
	before = t_count_fds();

	/* fds on a message that takes none. */
	make_fds(fds, 2);
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_OWNER, true, NULL, 0, fds, 2), 0);
	close_fds(fds, 2);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_OWNER), 0);
	assert_int_equal(t_count_fds(), before);

	/* More fds than any message carries (the rest are truncated). */
	make_fds(fds, 12);
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_MEM_TABLE, true, NULL, 0, fds, 12),
		0);
	close_fds(fds, 12);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_MEM_TABLE), 0);
	assert_int_equal(t_count_fds(), before);

	/* SET_VRING_CALL: an fd with the no-fd flag, none without it. */
	make_fds(fds, 1);
	v = VHOST_USER_VRING_NOFD_MASK | 1;
	assert_int_equal(t_send(&h, VHOST_USER_SET_VRING_CALL, true, &v,
				sizeof(v), fds, 1),
			 0);
	close_fds(fds, 1);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_VRING_CALL), 0);
	assert_int_not_equal(t_set_u64(&h, VHOST_USER_SET_VRING_KICK, 1), 0);
	assert_int_not_equal(t_set_u64(&h, VHOST_USER_SET_VRING_ERR, 0), 0);
	/* Reserved bits in the u64. */
	make_fds(fds, 1);
	v = 1ULL << 32;
	assert_int_equal(t_send(&h, VHOST_USER_SET_VRING_KICK, true, &v,
				sizeof(v), fds, 1),
			 0);
	close_fds(fds, 1);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_VRING_KICK), 0);

	/* SET_MEM_TABLE with fewer and more fds than regions. */
	{
		struct vhost_user_mem_table t = { .nregions = 2 };

		t.regions[0] = t_region();
		t.regions[1] = t_region();
		t.regions[1].guest_phys_addr += T_MEM_SIZE;
		t.regions[1].userspace_addr += T_MEM_SIZE;
		assert_int_equal(t_send(&h, VHOST_USER_SET_MEM_TABLE, true, &t,
					8 + 2 * sizeof(t.regions[0]), &h.memfd,
					1),
				 0);
		assert_int_not_equal(t_ack(&h, VHOST_USER_SET_MEM_TABLE), 0);
		t.nregions = 1;
		make_fds(fds, 2);
		assert_int_equal(t_send(&h, VHOST_USER_SET_MEM_TABLE, true, &t,
					8 + sizeof(t.regions[0]), fds, 2),
				 0);
		close_fds(fds, 2);
		assert_int_not_equal(t_ack(&h, VHOST_USER_SET_MEM_TABLE), 0);
	}
	assert_int_equal(t_count_fds(), before);
	assert_alive(&h);
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.broken, 0);
	t_finish(&h);
}

/* Send SET_MEM_TABLE with @n regions, each backed by @fd; the ack. */
static uint64_t mem_table(struct harness *h,
			  const struct vhost_user_mem_region *r, unsigned int n,
			  int fd)
{
	struct vhost_user_mem_table t = { .nregions = n };
	int fds[VHOST_MEMORY_BASELINE_NREGIONS];

	assert_true(n <= VHOST_MEMORY_BASELINE_NREGIONS);
	for (unsigned int i = 0; i < n; i++) {
		t.regions[i] = r[i];
		fds[i] = fd;
	}
	assert_int_equal(t_send(h, VHOST_USER_SET_MEM_TABLE, true, &t,
				8 + n * sizeof(t.regions[0]), fds, n),
			 0);
	return t_ack(h, VHOST_USER_SET_MEM_TABLE);
}

static void test_bad_regions(void **state)
{
	struct vhost_user_mem_region r[2];
	struct harness h;
	int before, efd;

	t_start(&h);
	t_negotiate(&h);
	before = t_count_fds();

	/* guest address + size overflows */
	r[0] = t_region();
	r[0].guest_phys_addr = UINT64_MAX - 0xfff;
	assert_int_not_equal(mem_table(&h, r, 1, h.memfd), 0);
	/* user address + size overflows */
	r[0] = t_region();
	r[0].userspace_addr = UINT64_MAX - 0xfff;
	assert_int_not_equal(mem_table(&h, r, 1, h.memfd), 0);
	/* mmap offset + size overflows */
	r[0] = t_region();
	r[0].mmap_offset = UINT64_MAX - 0xfff;
	assert_int_not_equal(mem_table(&h, r, 1, h.memfd), 0);
	/* larger than its fd, or past its end through the offset */
	r[0] = t_region();
	r[0].memory_size = 2 * T_MEM_SIZE;
	assert_int_not_equal(mem_table(&h, r, 1, h.memfd), 0);
	r[0] = t_region();
	r[0].mmap_offset = 0x1000;
	assert_int_not_equal(mem_table(&h, r, 1, h.memfd), 0);
	/* empty */
	r[0] = t_region();
	r[0].memory_size = 0;
	assert_int_not_equal(mem_table(&h, r, 1, h.memfd), 0);
	/* overlapping guest-physical ranges */
	r[0] = t_region();
	r[1] = t_region();
	r[1].guest_phys_addr += T_MEM_SIZE / 2;
	r[1].userspace_addr += 4 * T_MEM_SIZE;
	assert_int_not_equal(mem_table(&h, r, 2, h.memfd), 0);
	/* overlapping frontend-virtual ranges */
	r[1] = t_region();
	r[1].guest_phys_addr += 4 * T_MEM_SIZE;
	r[1].userspace_addr += 0x1000;
	assert_int_not_equal(mem_table(&h, r, 2, h.memfd), 0);
	/* an fd that is not memory */
	efd = eventfd(0, EFD_CLOEXEC);
	r[0] = t_region();
	r[0].memory_size = 0x1000;
	assert_int_not_equal(mem_table(&h, r, 1, efd), 0);
	close(efd);
	/* too many regions for SET_MEM_TABLE */
	{
		struct {
			uint32_t nregions, padding;
			struct vhost_user_mem_region regions[9];
		} big = { .nregions = 9 };

		assert_int_equal(t_send(&h, VHOST_USER_SET_MEM_TABLE, true,
					&big, 8 + 8 * sizeof(big.regions[0]),
					NULL, 0),
				 0);
		assert_int_not_equal(t_ack(&h, VHOST_USER_SET_MEM_TABLE), 0);
	}
	assert_int_equal(t_count_fds(), before);

	/* The table from t_negotiate is still in place: a ring set up in it
	 * starts. Two disjoint regions of one fd are fine too. */
	r[0] = t_region();
	r[0].memory_size = T_MEM_SIZE / 2;
	r[1] = t_region();
	r[1].memory_size = T_MEM_SIZE / 2;
	r[1].mmap_offset = T_MEM_SIZE / 2;
	r[1].guest_phys_addr += T_MEM_SIZE / 2;
	r[1].userspace_addr += T_MEM_SIZE / 2;
	assert_int_equal(mem_table(&h, r, 2, h.memfd), 0);
	{
		int kick, call;
		bool running;

		t_setup_queue(&h, 0, &kick, &call);
		t_fake_counts(&h, 0, NULL, NULL, &running);
		assert_true(running);
		close(kick);
		close(call);
	}
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.broken, 0);
	t_finish(&h);
}

static void test_vring_index_out_of_range(void **state)
{
	struct vhost_vring_addr a = { .index = T_NQ };
	struct harness h;
	int fds[1], before;
	uint64_t v;

	t_start(&h);
	t_negotiate(&h);
	before = t_count_fds();
	assert_int_not_equal(
		t_set_state(&h, VHOST_USER_SET_VRING_NUM, T_NQ, 16), 0);
	assert_int_not_equal(
		t_set_state(&h, VHOST_USER_SET_VRING_BASE, UINT32_MAX, 0), 0);
	assert_int_not_equal(
		t_set_state(&h, VHOST_USER_SET_VRING_ENABLE, 200, 1), 0);
	assert_int_equal(t_send(&h, VHOST_USER_SET_VRING_ADDR, true, &a,
				sizeof(a), NULL, 0),
			 0);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_VRING_ADDR), 0);
	make_fds(fds, 1);
	v = 200;
	assert_int_equal(t_send(&h, VHOST_USER_SET_VRING_KICK, true, &v,
				sizeof(v), fds, 1),
			 0);
	close_fds(fds, 1);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_VRING_KICK), 0);
	assert_int_equal(t_count_fds(), before);
	assert_alive(&h);
	assert_int_equal(t_disconnect(&h), 0);
	t_finish(&h);
}

static void test_ring_sizes(void **state)
{
	static const uint32_t bad[] = { 0, 3, 100, 65536, 1u << 31 };
	struct harness h;

	t_start(&h);
	t_negotiate(&h);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(
			t_set_state(&h, VHOST_USER_SET_VRING_NUM, 0, bad[i]),
			0);
	assert_int_equal(t_set_state(&h, VHOST_USER_SET_VRING_NUM, 0, 1), 0);
	assert_int_equal(t_set_state(&h, VHOST_USER_SET_VRING_NUM, 0, 32768),
			 0);
	/* A base beyond 16 bits, an enable value other than 0/1. */
	assert_int_not_equal(
		t_set_state(&h, VHOST_USER_SET_VRING_BASE, 0, 0x10000), 0);
	assert_int_not_equal(t_set_state(&h, VHOST_USER_SET_VRING_ENABLE, 0, 2),
			     0);
	assert_int_equal(t_disconnect(&h), 0);
	t_finish(&h);
}

static uint64_t vring_addr(struct harness *h, uint64_t desc, uint64_t avail,
			   uint64_t used, uint32_t flags)
{
	struct vhost_vring_addr a = {
		.index = 0,
		.flags = flags,
		.desc_user_addr = desc,
		.avail_user_addr = avail,
		.used_user_addr = used,
	};

	assert_int_equal(t_send(h, VHOST_USER_SET_VRING_ADDR, true, &a,
				sizeof(a), NULL, 0),
			 0);
	return t_ack(h, VHOST_USER_SET_VRING_ADDR);
}

static void test_ring_addresses(void **state)
{
	const uint64_t d = T_UADDR, av = T_UADDR + 0x1000, u = T_UADDR + 0x2000,
		       end = T_UADDR + T_MEM_SIZE;
	struct harness h;

	t_start(&h);
	/* Before any memory table. */
	assert_int_equal(t_set_state(&h, VHOST_USER_SET_VRING_NUM, 0, 256), 0);
	assert_int_not_equal(vring_addr(&h, d, av, u, 0), 0);
	t_negotiate(&h);
	/* Before the ring size (queue 1 has none). */
	{
		struct vhost_vring_addr a = { .index = 1,
					      .desc_user_addr = d,
					      .avail_user_addr = av,
					      .used_user_addr = u };

		assert_int_equal(t_send(&h, VHOST_USER_SET_VRING_ADDR, true, &a,
					sizeof(a), NULL, 0),
				 0);
		assert_int_not_equal(t_ack(&h, VHOST_USER_SET_VRING_ADDR), 0);
	}
	/* Outside memory, straddling its end, misaligned. */
	assert_int_not_equal(vring_addr(&h, end, av, u, 0), 0);
	assert_int_not_equal(vring_addr(&h, d - 0x1000, av, u, 0), 0);
	assert_int_not_equal(vring_addr(&h, d, av, end - 4, 0), 0);
	assert_int_not_equal(vring_addr(&h, d, end - 2, u, 0), 0);
	assert_int_not_equal(vring_addr(&h, d + 8, av, u, 0), 0);
	assert_int_not_equal(vring_addr(&h, d, av + 1, u, 0), 0);
	assert_int_not_equal(vring_addr(&h, d, av, u + 2, 0), 0);
	assert_int_not_equal(vring_addr(&h, UINT64_MAX - 8, av, u, 0), 0);
	/* Flags other than the used ring's dirty-log flag. */
	assert_int_not_equal(vring_addr(&h, d, av, u, 1u << 1), 0);
	assert_int_not_equal(vring_addr(&h, d, av, u, 0x80000000u), 0);
	assert_int_equal(vring_addr(&h, d, av, u, 1u << VHOST_VRING_F_LOG), 0);
	assert_int_equal(vring_addr(&h, d, av, u, 0), 0);
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.broken, 0);
	t_finish(&h);
}

/* SET_LOG_BASE with @nfds of @fds; the u64 status it answers. */
static uint64_t log_base(struct harness *h, uint64_t size, uint64_t off,
			 const int *fds, unsigned int nfds)
{
	struct vhost_user_log l = { .mmap_size = size, .mmap_offset = off };
	uint64_t status = UINT64_MAX;

	assert_int_equal(t_send(h, VHOST_USER_SET_LOG_BASE, false, &l,
				sizeof(l), fds, nfds),
			 0);
	assert_int_equal(
		t_recv(h, VHOST_USER_SET_LOG_BASE, &status, sizeof(status)),
		sizeof(status));
	return status;
}

static int log_memfd(size_t len)
{
	int fd = memfd_create("t-log", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	return fd;
}

/* The dirty log: every number checked, a log too small for guest memory
 * or a logged used ring refused, serving goes on, no fd kept. */
static void test_log_base(void **state)
{
	/* Guest memory ends at T_GPA + T_MEM_SIZE = 2 MiB: 512 pages, so a
	 * log of 64 bytes covers it. */
	const uint64_t pf = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
			    (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			    (1ULL << VHOST_USER_PROTOCOL_F_LOG_SHMFD);
	struct harness h;
	int fds[2], before;

	t_start(&h);
	t_negotiate(&h);
	assert_int_equal(t_set_u64(&h, VHOST_USER_SET_PROTOCOL_FEATURES, pf),
			 0);
	before = t_count_fds();

	fds[0] = log_memfd(4096);
	fds[1] = log_memfd(4096);
	assert_int_not_equal(log_base(&h, 64, 0, NULL, 0), 0);
	assert_int_not_equal(log_base(&h, 64, 0, fds, 2), 0);
	assert_int_not_equal(log_base(&h, 0, 0, fds, 1), 0);
	assert_int_not_equal(log_base(&h, 64, UINT64_MAX - 8, fds, 1), 0);
	assert_int_not_equal(log_base(&h, UINT64_MAX, 0, fds, 1), 0);
	/* Past the end of its fd. */
	assert_int_not_equal(log_base(&h, 4096, 64, fds, 1), 0);
	/* Too small for guest memory. */
	assert_int_not_equal(log_base(&h, 32, 0, fds, 1), 0);
	assert_int_not_equal(log_base(&h, 63, 0, fds, 1), 0);
	close_fds(fds, 2);
	/* Not a memory file. */
	make_fds(fds, 1);
	assert_int_not_equal(log_base(&h, 64, 0, fds, 1), 0);
	close_fds(fds, 1);
	assert_int_equal(t_count_fds(), before);
	assert_alive(&h);

	/* Just enough, at an unaligned offset. */
	fds[0] = log_memfd(4096);
	assert_int_equal(log_base(&h, 64, 100, fds, 1), 0);
	close_fds(fds, 1);
	/* A used ring logged at a guest address past the log: a new log
	 * must cover it too. */
	assert_int_equal(t_set_state(&h, VHOST_USER_SET_VRING_NUM, 0, 256), 0);
	{
		struct vhost_vring_addr a = {
			.index = 0,
			.flags = 1u << VHOST_VRING_F_LOG,
			.desc_user_addr = T_UADDR + T_DESC_OFF(0),
			.avail_user_addr = T_UADDR + T_AVAIL_OFF(0),
			.used_user_addr = T_UADDR + T_USED_OFF(0),
			.log_guest_addr = 64ULL << 20,
		};

		assert_int_equal(t_send(&h, VHOST_USER_SET_VRING_ADDR, true, &a,
					sizeof(a), NULL, 0),
				 0);
		assert_int_equal(t_ack(&h, VHOST_USER_SET_VRING_ADDR), 0);
	}
	fds[0] = log_memfd(4096);
	assert_int_not_equal(log_base(&h, 64, 0, fds, 1), 0);
	assert_int_equal(log_base(&h, 4096, 0, fds, 1), 0);
	close_fds(fds, 1);

	/* SET_LOG_FD: one eventfd, kept until the end. */
	make_fds(fds, 1);
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_LOG_FD, true, NULL, 0, fds, 1), 0);
	assert_int_equal(t_ack(&h, VHOST_USER_SET_LOG_FD), 0);
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_LOG_FD, true, NULL, 0, NULL, 0), 0);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_LOG_FD), 0);
	close_fds(fds, 1);
	assert_alive(&h);
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.broken, 0);
	t_finish(&h);
}

static void test_unknown_requests(void **state)
{
	struct harness h;
	uint8_t buf[24] = { 0 };
	int fds[1], before;

	t_start(&h);
	before = t_count_fds();
	assert_int_equal(t_send(&h, 999, true, buf, sizeof(buf), NULL, 0), 0);
	assert_int_not_equal(t_ack(&h, 999), 0);
	assert_int_equal(t_send(&h, VHOST_USER_NONE, true, NULL, 0, NULL, 0),
			 0);
	assert_int_not_equal(t_ack(&h, VHOST_USER_NONE), 0);
	/* Known to the spec, not offered here; its fd is closed. */
	make_fds(fds, 1);
	assert_int_equal(t_send(&h, VHOST_USER_SET_BACKEND_REQ_FD, true, NULL,
				0, fds, 1),
			 0);
	close_fds(fds, 1);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_BACKEND_REQ_FD), 0);
	/* Gated by a protocol feature not negotiated yet. */
	make_fds(fds, 1);
	{
		struct vhost_user_mem_reg m = { .region = t_region() };

		assert_int_equal(t_send(&h, VHOST_USER_ADD_MEM_REG, true, &m,
					sizeof(m), fds, 1),
				 0);
	}
	close_fds(fds, 1);
	assert_int_not_equal(t_ack(&h, VHOST_USER_ADD_MEM_REG), 0);
	/* GET_CONFIG before CONFIG was negotiated: the empty answer. */
	{
		struct vhost_user_config c = { .size = 4 };

		assert_int_equal(t_send(&h, VHOST_USER_GET_CONFIG, false, &c,
					VHOST_USER_CONFIG_HDR_SIZE + 4, NULL,
					0),
				 0);
		assert_int_equal(
			t_recv(&h, VHOST_USER_GET_CONFIG, &c, sizeof(c)), 0);
	}
	assert_int_equal(t_count_fds(), before);
	assert_alive(&h);
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.broken, 0);
	t_finish(&h);
}

static void test_truncated_header(void **state)
{
	struct harness h;
	struct vhost_user_hdr hdr = { .request = VHOST_USER_GET_FEATURES,
				      .flags = VHOST_USER_VERSION };

	t_start(&h);
	assert_int_equal(write(h.sock, &hdr, 6), 6);
	/* Disconnecting mid-message is a disconnect, not a crash. */
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.broken, 0);
	t_finish(&h);
}

static void test_disconnect_mid_payload(void **state)
{
	struct harness h;
	uint8_t buf[10] = { 1 };
	int fds[1];

	t_start(&h);
	t_negotiate(&h);
	make_fds(fds, 1);
	/* Header says 40 bytes, 10 arrive, with an fd: it is closed. */
	assert_int_equal(t_send_raw(&h, VHOST_USER_SET_MEM_TABLE,
				    VHOST_USER_VERSION, 40, buf, sizeof(buf),
				    fds, 1),
			 0);
	close_fds(fds, 1);
	assert_int_equal(t_disconnect(&h), 0);
	t_finish(&h);
}

static void test_shutdown(void **state)
{
	struct harness h;

	t_start(&h);
	t_negotiate(&h);
	vu_dev_shutdown(h.dev);
	assert_int_equal(t_disconnect(&h), -ECANCELED);
	t_finish(&h);
}

static void test_dev_new_rejects(void **state)
{
	static const struct vu_device_ops none = { 0 };
	struct vu_dev_info info = { .num_queues = 1 };
	struct vu_dev *dev = NULL;

	assert_int_equal(vu_dev_new(&info, &none, NULL, &dev), -EINVAL);
	assert_null(dev);
	/* A device may not claim transport feature bits. */
	info.device_features = 1ULL << VIRTIO_F_VERSION_1;
	assert_int_equal(vu_dev_new(&info, &none, NULL, &dev), -EINVAL);
	vu_dev_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_oversized_payload),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_reply_request_refused),
		cmocka_unit_test(test_wrong_fd_counts),
		cmocka_unit_test(test_bad_regions),
		cmocka_unit_test(test_vring_index_out_of_range),
		cmocka_unit_test(test_ring_sizes),
		cmocka_unit_test(test_ring_addresses),
		cmocka_unit_test(test_unknown_requests),
		cmocka_unit_test(test_log_base),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_disconnect_mid_payload),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_dev_new_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
