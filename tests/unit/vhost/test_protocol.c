// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user backend, well-behaved frontend: the message sequence QEMU's
 * vhost-user-fs-pci sends, REPLY_ACK, config space, status, memory
 * hot-plug with running queues, RESET_DEVICE and disconnects. Every test
 * checks that no fd leaked (t_finish).
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
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "harness.h"

/* Lay one device-writable 64-byte buffer at guest offset 0x8000 on the
 * rings of queue @q as entry @slot, and publish it. */
static void t_post_buffer(struct harness *h, unsigned int q, uint16_t slot)
{
	struct vring_desc *desc = (void *)(h->mem + T_DESC_OFF(q));
	struct vring_avail *avail = (void *)(h->mem + T_AVAIL_OFF(q));

	desc[slot].addr = T_GPA + 0x8000;
	desc[slot].len = 64;
	desc[slot].flags = VRING_DESC_F_WRITE;
	desc[slot].next = 0;
	avail->ring[slot % T_QSIZE] = slot;
	__atomic_store_n(&avail->idx, (uint16_t)(slot + 1), __ATOMIC_RELEASE);
}

static void test_qemu_sequence(void **state)
{
	struct harness h;
	struct vhost_vring_state s = { .index = 1 };
	struct virtq_elem elem;
	struct iovec iov[4];
	unsigned int starts, stops;
	bool running;
	int kick, call, dev_kick;
	uint64_t v;

	t_start(&h);
	t_negotiate(&h);
	t_setup_queue(&h, 1, &kick, &call);

	t_fake_counts(&h, 1, &starts, &stops, &running);
	assert_int_equal(starts, 1);
	assert_int_equal(stops, 0);
	assert_true(running);
	t_fake_counts(&h, 0, &starts, NULL, NULL);
	assert_int_equal(starts, 0);

	/* The device got a usable ring: pop a chain the "driver" posts,
	 * complete it, notify through the call fd. */
	memset(h.mem + 0x8000, 0x5a, 64);
	t_post_buffer(&h, 1, 0);
	pthread_mutex_lock(&h.fake.lock);
	{
		struct virtq *vq = h.fake.vq[1];

		assert_non_null(vq);
		assert_int_equal(vq->num, T_QSIZE);
		assert_true(vq->event_idx);
		dev_kick = h.fake.kick_fd[1];
		assert_true(t_fd_open(dev_kick));
		assert_int_equal(virtq_pop(vq, &elem, iov, 4), VIRTQ_POPPED);
		assert_int_equal(elem.out_num, 0);
		assert_int_equal(elem.in_num, 1);
		assert_int_equal(elem.in_iov[0].iov_len, 64);
		/* Same guest page as the test's mapping. */
		assert_int_equal(((uint8_t *)elem.in_iov[0].iov_base)[7], 0x5a);
		memset(elem.in_iov[0].iov_base, 0x11, 10);
		virtq_push(vq, &elem, 10);
		assert_true(virtq_need_notify(vq));
	}
	pthread_mutex_unlock(&h.fake.lock);
	assert_int_equal(h.mem[0x8000], 0x11);
	vu_queue_notify(h.dev, 1);
	assert_int_equal(read(call, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 1);

	/* GET_VRING_BASE stops the ring and reports the next avail index. */
	assert_int_equal(t_send(&h, VHOST_USER_GET_VRING_BASE, false, &s,
				sizeof(s), NULL, 0),
			 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(t_recv(&h, VHOST_USER_GET_VRING_BASE, &s, sizeof(s)),
			 sizeof(s));
	assert_int_equal(s.index, 1);
	assert_int_equal(s.num, 1);
	t_fake_counts(&h, 1, &starts, &stops, &running);
	assert_int_equal(stops, 1);
	assert_false(running);
	/* The backend's kick fd went with the stop. */
	assert_false(t_fd_open(dev_kick));

	/* Restarting takes a base and a new kick fd, as QEMU does. */
	assert_int_equal(t_set_state(&h, VHOST_USER_SET_VRING_BASE, 1, 1), 0);
	v = 1;
	assert_int_equal(t_send(&h, VHOST_USER_SET_VRING_KICK, true, &v,
				sizeof(v), &kick, 1),
			 0);
	assert_int_equal(t_ack(&h, VHOST_USER_SET_VRING_KICK), 0);
	t_fake_counts(&h, 1, &starts, NULL, &running);
	assert_int_equal(starts, 2);
	assert_true(running);
	pthread_mutex_lock(&h.fake.lock);
	assert_int_equal(virtq_avail_base(h.fake.vq[1]), 1);
	pthread_mutex_unlock(&h.fake.lock);

	assert_int_equal(t_disconnect(&h), 0);
	t_fake_counts(&h, 1, NULL, &stops, &running);
	assert_int_equal(stops, 2);
	assert_int_equal(h.fake.resets, 1);
	assert_int_equal(h.fake.broken, 0);
	close(kick);
	close(call);
	t_finish(&h);
}

static void test_reply_ack(void **state)
{
	struct harness h;
	uint64_t f;

	t_start(&h);
	/* No NEED_REPLY, no reply: the next reply is GET_FEATURES'. */
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_OWNER, false, NULL, 0, NULL, 0), 0);
	f = t_get_u64(&h, VHOST_USER_GET_FEATURES);
	assert_true(f & (1ULL << VIRTIO_F_VERSION_1));
	/* NEED_REPLY: 0 for success, non-zero for refusal. */
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_OWNER, true, NULL, 0, NULL, 0), 0);
	assert_int_equal(t_ack(&h, VHOST_USER_SET_OWNER), 0);
	assert_int_not_equal(t_set_state(&h, VHOST_USER_SET_VRING_NUM, 0, 3),
			     0);
	/* NEED_REPLY on a request with its own reply changes nothing. */
	assert_int_equal(
		t_send(&h, VHOST_USER_GET_QUEUE_NUM, true, NULL, 0, NULL, 0),
		0);
	assert_int_equal(t_ack(&h, VHOST_USER_GET_QUEUE_NUM), T_NQ);
	/* Features that were not offered are refused. */
	assert_int_not_equal(t_set_u64(&h, VHOST_USER_SET_FEATURES, 1ULL << 63),
			     0);
	assert_int_not_equal(
		t_set_u64(&h, VHOST_USER_SET_PROTOCOL_FEATURES,
			  1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD),
		0);
	assert_int_equal(
		t_set_u64(&h, VHOST_USER_SET_FEATURES,
			  T_DEV_FEATURE | (1ULL << VIRTIO_F_VERSION_1)),
		0);
	assert_int_equal(h.fake.features,
			 T_DEV_FEATURE | (1ULL << VIRTIO_F_VERSION_1));
	assert_int_equal(t_disconnect(&h), 0);
	t_finish(&h);
}

static int get_config(struct harness *h, uint32_t offset, uint32_t size,
		      struct vhost_user_config *out)
{
	struct vhost_user_config c = { .offset = offset, .size = size };

	assert_int_equal(t_send(h, VHOST_USER_GET_CONFIG, false, &c,
				VHOST_USER_CONFIG_HDR_SIZE + size, NULL, 0),
			 0);
	return t_recv(h, VHOST_USER_GET_CONFIG, out, sizeof(*out));
}

static void test_config(void **state)
{
	struct harness h;
	struct vhost_user_config c;

	t_start(&h);
	t_negotiate(&h);
	assert_int_equal(get_config(&h, 4, 8, &c),
			 VHOST_USER_CONFIG_HDR_SIZE + 8);
	assert_int_equal(c.offset, 4);
	assert_int_equal(c.size, 8);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(c.region[i], 0xa4 + i);
	assert_int_equal(get_config(&h, 0, T_CONFIG_SIZE, &c),
			 VHOST_USER_CONFIG_HDR_SIZE + T_CONFIG_SIZE);
	/* Out of bounds, or the size field disagreeing with the payload:
	 * the spec's error answer, an empty payload. */
	assert_int_equal(get_config(&h, 36, 8, &c), 0);
	assert_int_equal(get_config(&h, UINT32_MAX, 8, &c), 0);
	{
		struct vhost_user_config bad = { .offset = 0, .size = 16 };

		assert_int_equal(t_send(&h, VHOST_USER_GET_CONFIG, false, &bad,
					VHOST_USER_CONFIG_HDR_SIZE + 8, NULL,
					0),
				 0);
		assert_int_equal(
			t_recv(&h, VHOST_USER_GET_CONFIG, &c, sizeof(c)), 0);
	}
	/* The fake device's config space is read-only. */
	c = (struct vhost_user_config){ .offset = 0, .size = 4 };
	assert_int_equal(t_send(&h, VHOST_USER_SET_CONFIG, true, &c,
				VHOST_USER_CONFIG_HDR_SIZE + 4, NULL, 0),
			 0);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_CONFIG), 0);
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.broken, 0);
	t_finish(&h);
}

static void test_status(void **state)
{
	struct harness h;

	t_start(&h);
	t_negotiate(&h);
	assert_int_equal(t_get_u64(&h, VHOST_USER_GET_STATUS), 0);
	assert_int_equal(t_set_u64(&h, VHOST_USER_SET_STATUS,
				   VIRTIO_CONFIG_S_ACKNOWLEDGE |
					   VIRTIO_CONFIG_S_DRIVER |
					   VIRTIO_CONFIG_S_DRIVER_OK),
			 0);
	assert_int_equal(t_get_u64(&h, VHOST_USER_GET_STATUS), 7);
	assert_int_not_equal(t_set_u64(&h, VHOST_USER_SET_STATUS, 0x100), 0);
	assert_int_equal(t_get_u64(&h, VHOST_USER_GET_STATUS), 7);
	assert_int_equal(t_disconnect(&h), 0);
	t_finish(&h);
}

static uint64_t add_region(struct harness *h, uint32_t req,
			   struct vhost_user_mem_region r, const int *fds,
			   unsigned int nfds)
{
	struct vhost_user_mem_reg m = { .region = r };

	assert_int_equal(t_send(h, req, true, &m, sizeof(m), fds, nfds), 0);
	return t_ack(h, req);
}

static void test_add_rem_mem_reg(void **state)
{
	struct vhost_user_mem_region r2 = {
		.guest_phys_addr = T_GPA + T_MEM_SIZE,
		.memory_size = 0x10000,
		.userspace_addr = T_UADDR + 4 * T_MEM_SIZE,
		.mmap_offset = 0x10000,
	};
	struct harness h;
	unsigned int starts, stops;
	bool running;
	int kick, call, fd2, before, extra[2];

	t_start(&h);
	t_negotiate(&h);
	t_setup_queue(&h, 0, &kick, &call);

	fd2 = memfd_create("hotplug", MFD_CLOEXEC);
	assert_true(fd2 >= 0);
	assert_int_equal(ftruncate(fd2, 0x20000), 0);

	/* Hot-add: the running queue is stopped around the swap and goes
	 * on from where it was. */
	assert_int_equal(add_region(&h, VHOST_USER_ADD_MEM_REG, r2, &fd2, 1),
			 0);
	t_fake_counts(&h, 0, &starts, &stops, &running);
	assert_int_equal(starts, 2);
	assert_int_equal(stops, 1);
	assert_true(running);

	/* The same range again overlaps; wrong fd counts are refused and
	 * their fds closed. */
	before = t_count_fds();
	assert_int_not_equal(
		add_region(&h, VHOST_USER_ADD_MEM_REG, r2, &fd2, 1), 0);
	assert_int_not_equal(
		add_region(&h, VHOST_USER_ADD_MEM_REG, r2, NULL, 0), 0);
	extra[0] = dup(fd2);
	extra[1] = dup(fd2);
	assert_int_not_equal(
		add_region(&h, VHOST_USER_ADD_MEM_REG, r2, extra, 2), 0);
	close(extra[0]);
	close(extra[1]);
	assert_int_equal(t_count_fds(), before);

	/* REM matches gpa + size + uaddr; the mmap offset does not count. */
	r2.userspace_addr += 0x1000;
	assert_int_not_equal(
		add_region(&h, VHOST_USER_REM_MEM_REG, r2, NULL, 0), 0);
	r2.userspace_addr -= 0x1000;
	r2.mmap_offset = 0;
	/* An old frontend's stray fd is accepted and closed. */
	extra[0] = dup(fd2);
	assert_int_equal(add_region(&h, VHOST_USER_REM_MEM_REG, r2, extra, 1),
			 0);
	close(extra[0]);
	assert_int_equal(t_count_fds(), before);
	t_fake_counts(&h, 0, &starts, &stops, &running);
	assert_int_equal(starts, 3);
	assert_int_equal(stops, 2);
	assert_true(running);

	/* Removing the region that holds the rings stops the queue for
	 * good; adding it back lets it run again. */
	assert_int_equal(
		add_region(&h, VHOST_USER_REM_MEM_REG, t_region(), NULL, 0), 0);
	t_fake_counts(&h, 0, &starts, &stops, &running);
	assert_int_equal(stops, 3);
	assert_false(running);
	assert_int_equal(
		add_region(&h, VHOST_USER_ADD_MEM_REG, t_region(), &h.memfd, 1),
		0);
	t_fake_counts(&h, 0, &starts, &stops, &running);
	assert_int_equal(starts, 4);
	assert_true(running);

	assert_int_equal(t_disconnect(&h), 0);
	close(fd2);
	close(kick);
	close(call);
	t_finish(&h);
}

static void test_mem_table_replaced_while_running(void **state)
{
	struct vhost_user_mem_table t = { .nregions = 1 };
	struct harness h;
	unsigned int starts, stops;
	bool running;
	int kick, call;

	t_start(&h);
	t_negotiate(&h);
	t_setup_queue(&h, 1, &kick, &call);
	t_post_buffer(&h, 1, 0);
	pthread_mutex_lock(&h.fake.lock);
	{
		struct virtq_elem elem;
		struct iovec iov[2];

		assert_int_equal(virtq_pop(h.fake.vq[1], &elem, iov, 2),
				 VIRTQ_POPPED);
	}
	pthread_mutex_unlock(&h.fake.lock);

	t.regions[0] = t_region();
	assert_int_equal(t_send(&h, VHOST_USER_SET_MEM_TABLE, true, &t,
				8 + sizeof(t.regions[0]), &h.memfd, 1),
			 0);
	assert_int_equal(t_ack(&h, VHOST_USER_SET_MEM_TABLE), 0);
	t_fake_counts(&h, 1, &starts, &stops, &running);
	assert_int_equal(starts, 2);
	assert_int_equal(stops, 1);
	assert_true(running);
	/* Indices survive the restart. */
	pthread_mutex_lock(&h.fake.lock);
	assert_int_equal(virtq_avail_base(h.fake.vq[1]), 1);
	assert_int_equal(h.fake.vq[1]->inflight, 1);
	pthread_mutex_unlock(&h.fake.lock);

	/* An empty table stops it. */
	t.nregions = 0;
	assert_int_equal(
		t_send(&h, VHOST_USER_SET_MEM_TABLE, true, &t, 8, NULL, 0), 0);
	assert_int_equal(t_ack(&h, VHOST_USER_SET_MEM_TABLE), 0);
	t_fake_counts(&h, 1, NULL, NULL, &running);
	assert_false(running);

	assert_int_equal(t_disconnect(&h), 0);
	close(kick);
	close(call);
	t_finish(&h);
}

static void test_reset_device(void **state)
{
	struct harness h;
	bool running;
	int kick, call;

	t_start(&h);
	t_negotiate(&h);
	t_setup_queue(&h, 0, &kick, &call);
	assert_int_equal(
		t_send(&h, VHOST_USER_RESET_DEVICE, true, NULL, 0, NULL, 0), 0);
	assert_int_equal(t_ack(&h, VHOST_USER_RESET_DEVICE), 0);
	t_fake_counts(&h, 0, NULL, NULL, &running);
	assert_false(running);
	assert_int_equal(h.fake.resets, 1);
	/* The device can be set up again on the same connection. */
	close(kick);
	close(call);
	assert_int_equal(
		t_set_u64(&h, VHOST_USER_SET_FEATURES,
			  (1ULL << VIRTIO_F_VERSION_1) |
				  (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)),
		0);
	t_setup_queue(&h, 0, &kick, &call);
	t_fake_counts(&h, 0, NULL, NULL, &running);
	assert_true(running);
	assert_int_equal(t_disconnect(&h), 0);
	close(kick);
	close(call);
	t_finish(&h);
}

/* Without VHOST_USER_F_PROTOCOL_FEATURES rings start enabled; with it,
 * they wait for SET_VRING_ENABLE. Polling (no kick fd) is allowed. */
static void test_enable_rules(void **state)
{
	struct vhost_vring_addr a = {
		.index = 0,
		.desc_user_addr = T_UADDR + T_DESC_OFF(0),
		.avail_user_addr = T_UADDR + T_AVAIL_OFF(0),
		.used_user_addr = T_UADDR + T_USED_OFF(0),
	};
	struct harness h;
	uint64_t v;
	bool running;

	t_start(&h);
	t_negotiate(&h);
	assert_int_equal(t_set_state(&h, VHOST_USER_SET_VRING_NUM, 0, 16), 0);
	assert_int_equal(t_send(&h, VHOST_USER_SET_VRING_ADDR, true, &a,
				sizeof(a), NULL, 0),
			 0);
	assert_int_equal(t_ack(&h, VHOST_USER_SET_VRING_ADDR), 0);
	v = VHOST_USER_VRING_NOFD_MASK | 0;
	assert_int_equal(t_set_u64(&h, VHOST_USER_SET_VRING_KICK, v), 0);
	t_fake_counts(&h, 0, NULL, NULL, &running);
	assert_false(running); /* disabled */
	assert_int_equal(t_set_state(&h, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	t_fake_counts(&h, 0, NULL, NULL, &running);
	assert_true(running);
	pthread_mutex_lock(&h.fake.lock);
	assert_int_equal(h.fake.kick_fd[0], -1);
	pthread_mutex_unlock(&h.fake.lock);
	assert_int_equal(t_set_state(&h, VHOST_USER_SET_VRING_ENABLE, 0, 0), 0);
	t_fake_counts(&h, 0, NULL, NULL, &running);
	assert_false(running);

	/* Acking features without PROTOCOL_FEATURES enables every ring. */
	assert_int_equal(t_set_u64(&h, VHOST_USER_SET_FEATURES,
				   1ULL << VIRTIO_F_VERSION_1),
			 0);
	t_fake_counts(&h, 0, NULL, NULL, &running);
	assert_true(running);

	/* Call fd replaced while running, then removed: notify is safe. */
	v = 0;
	{
		int call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		assert_int_equal(t_send(&h, VHOST_USER_SET_VRING_CALL, true, &v,
					sizeof(v), &call, 1),
				 0);
		assert_int_equal(t_ack(&h, VHOST_USER_SET_VRING_CALL), 0);
		vu_queue_notify(h.dev, 0);
		assert_int_equal(read(call, &v, sizeof(v)), sizeof(v));
		close(call);
	}
	assert_int_equal(t_set_u64(&h, VHOST_USER_SET_VRING_CALL,
				   VHOST_USER_VRING_NOFD_MASK),
			 0);
	vu_queue_notify(h.dev, 0);
	vu_queue_notify(h.dev, T_NQ); /* out of range: ignored */
	vu_queue_error(h.dev, 0);
	assert_int_equal(t_disconnect(&h), 0);
	t_finish(&h);
}

static void test_disconnect_running(void **state)
{
	struct harness h;
	int kick[2], call[2];

	t_start(&h);
	t_negotiate(&h);
	t_setup_queue(&h, 0, &kick[0], &call[0]);
	t_setup_queue(&h, 1, &kick[1], &call[1]);
	assert_int_equal(t_disconnect(&h), 0);
	/* t_finish checks both stopped and every fd closed. */
	for (int i = 0; i < 2; i++) {
		close(kick[i]);
		close(call[i]);
	}
	t_finish(&h);
}

/* Two connections in a row on one device start from scratch. */
static void serve_again(struct harness *h)
{
	int kick, call;

	t_setup_queue(h, 0, &kick, &call);
	close(kick);
	close(call);
}

static void test_reconnect(void **state)
{
	struct vhost_vring_addr a = { .index = 0 };
	struct harness h;

	t_start(&h);
	t_negotiate(&h);
	serve_again(&h);
	assert_int_equal(t_disconnect(&h), 0);

	/* Nothing negotiated survives: ring addresses need a memory table. */
	t_reconnect(&h);
	assert_int_equal(t_set_state(&h, VHOST_USER_SET_VRING_NUM, 0, 16), 0);
	assert_int_equal(t_send(&h, VHOST_USER_SET_VRING_ADDR, true, &a,
				sizeof(a), NULL, 0),
			 0);
	assert_int_not_equal(t_ack(&h, VHOST_USER_SET_VRING_ADDR), 0);
	t_negotiate(&h);
	serve_again(&h);
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.resets, 2);
	t_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_sequence),
		cmocka_unit_test(test_reply_ack),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_add_rem_mem_reg),
		cmocka_unit_test(test_mem_table_replaced_while_running),
		cmocka_unit_test(test_reset_device),
		cmocka_unit_test(test_enable_rules),
		cmocka_unit_test(test_disconnect_running),
		cmocka_unit_test(test_reconnect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
