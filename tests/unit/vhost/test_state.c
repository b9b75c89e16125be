// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user backend: the device-state transfer of a live migration
 * (SET_DEVICE_STATE_FD, CHECK_DEVICE_STATE; src/vhost/vhost_state.c).
 * A state larger than a pipe goes out and comes back intact through the
 * transfer thread; the device's verdict on a load is what CHECK answers;
 * a frontend that stops reading, sends bad parameters, the wrong fds, or
 * leaves in the middle gets a non-zero answer or a clean teardown, never
 * a hang or a leaked fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define BIG_STATE 200000 /* three times a pipe's buffer */

static void negotiate_state(struct harness *h)
{
	const uint64_t pf = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
			    (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			    (1ULL << VHOST_USER_PROTOCOL_F_DEVICE_STATE);

	t_negotiate(h);
	assert_int_equal(t_set_u64(h, VHOST_USER_SET_PROTOCOL_FEATURES, pf), 0);
}

/* SET_DEVICE_STATE_FD; its u64 answer. */
static uint64_t set_state_fd(struct harness *h, uint32_t direction,
			     uint32_t phase, const int *fds, unsigned int nfds,
			     uint32_t size)
{
	struct vhost_user_transfer_state t = { direction, phase };
	uint64_t status = UINT64_MAX;

	assert_int_equal(t_send(h, VHOST_USER_SET_DEVICE_STATE_FD, false, &t,
				size, fds, nfds),
			 0);
	assert_int_equal(t_recv(h, VHOST_USER_SET_DEVICE_STATE_FD, &status,
				sizeof(status)),
			 sizeof(status));
	return status;
}

static uint64_t check_state(struct harness *h)
{
	return t_get_u64(h, VHOST_USER_CHECK_DEVICE_STATE);
}

static void test_roundtrip(void **state)
{
	struct harness h;
	uint8_t *buf = malloc(BIG_STATE + 1);
	size_t got = 0;
	int p[2];

	assert_non_null(buf);
	t_start(&h);
	negotiate_state(&h);
	h.fake.state_len = BIG_STATE;

	/* Save: the back-end writes, we read to the end, CHECK says 0. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(set_state_fd(&h, VHOST_TRANSFER_STATE_DIRECTION_SAVE,
				      VHOST_TRANSFER_STATE_PHASE_STOPPED, &p[1],
				      1,
				      sizeof(struct vhost_user_transfer_state)),
			 VHOST_USER_STATE_REPLY_NOFD);
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], buf + got, BIG_STATE + 1 - got);

		assert_true(n >= 0);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	assert_int_equal(got, BIG_STATE);
	assert_int_equal(check_state(&h), 0);
	for (size_t i = 0; i < got; i++)
		assert_int_equal(buf[i], (uint8_t)(i * 7 + 3));

	/* Load: we write, close, CHECK hands it to the device. */
	for (int verdict = 0; verdict < 2; verdict++) {
		h.fake.load_result = verdict ? -EPROTO : 0;
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		assert_int_equal(
			set_state_fd(&h, VHOST_TRANSFER_STATE_DIRECTION_LOAD,
				     VHOST_TRANSFER_STATE_PHASE_STOPPED, &p[0],
				     1,
				     sizeof(struct vhost_user_transfer_state)),
			VHOST_USER_STATE_REPLY_NOFD);
		close(p[0]);
		for (size_t off = 0; off < got;) {
			ssize_t n = write(p[1], buf + off, got - off);

			assert_true(n > 0);
			off += (size_t)n;
		}
		close(p[1]);
		if (verdict)
			assert_int_not_equal(check_state(&h), 0);
		else
			assert_int_equal(check_state(&h), 0);
		assert_int_equal(h.fake.loads, (unsigned int)verdict + 1);
		assert_int_equal(h.fake.loaded_len, BIG_STATE);
		assert_true(h.fake.loaded_ok);
	}
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.broken, 0);
	t_finish(&h);
	free(buf);
}

static void test_bad_requests(void **state)
{
	const uint32_t sz = sizeof(struct vhost_user_transfer_state);
	struct harness h;
	int p[2], fds[2];

	t_start(&h);
	t_negotiate(&h);
	/* Not negotiated yet: refused, with its u64 answer. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_not_equal(set_state_fd(&h, 0, 0, &p[1], 1, sz), 0);
	assert_int_not_equal(check_state(&h), 0);
	negotiate_state(&h);

	/* A direction or phase that does not exist. */
	assert_int_not_equal(set_state_fd(&h, 2, 0, &p[1], 1, sz), 0);
	assert_int_not_equal(set_state_fd(&h, 0xffffffffu, 0, &p[1], 1, sz), 0);
	assert_int_not_equal(set_state_fd(&h, 0, 1, &p[1], 1, sz), 0);
	/* No fd, two fds, a payload of the wrong size. */
	assert_int_not_equal(set_state_fd(&h, 0, 0, NULL, 0, sz), 0);
	fds[0] = p[1];
	fds[1] = p[0];
	assert_int_not_equal(set_state_fd(&h, 1, 0, fds, 2, sz), 0);
	assert_int_not_equal(set_state_fd(&h, 0, 0, &p[1], 1, 4), 0);
	/* CHECK without a transfer. */
	assert_int_not_equal(check_state(&h), 0);
	/* Save while a ring runs: the spec's phase is "all stopped". */
	{
		int kick, call;

		t_setup_queue(&h, 0, &kick, &call);
		assert_int_not_equal(set_state_fd(&h, 0, 0, &p[1], 1, sz), 0);
		close(kick);
		close(call);
	}
	close(p[0]);
	close(p[1]);
	assert_int_not_equal(t_get_u64(&h, VHOST_USER_GET_FEATURES), 0);
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.broken, 0);
	assert_int_equal(h.fake.loads, 0);
	t_finish(&h);
}

/* The frontend stops reading a save: CHECK answers non-zero. */
static void test_reader_gone(void **state)
{
	struct harness h;
	int p[2];

	t_start(&h);
	negotiate_state(&h);
	h.fake.state_len = BIG_STATE;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(set_state_fd(&h, 0, 0, &p[1], 1,
				      sizeof(struct vhost_user_transfer_state)),
			 VHOST_USER_STATE_REPLY_NOFD);
	close(p[1]);
	close(p[0]);
	assert_int_not_equal(check_state(&h), 0);
	assert_int_equal(t_disconnect(&h), 0);
	t_finish(&h);
}

/* The frontend leaves (or starts another transfer) in the middle of a
 * load: the transfer thread is cancelled, nothing hangs or leaks, and
 * the device never saw a partial state. */
static void test_cancelled(void **state)
{
	struct harness h;
	int p[2], q[2];

	t_start(&h);
	negotiate_state(&h);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(set_state_fd(&h, 1, 0, &p[0], 1,
				      sizeof(struct vhost_user_transfer_state)),
			 VHOST_USER_STATE_REPLY_NOFD);
	assert_int_equal(write(p[1], "partial", 7), 7);
	/* A second transfer replaces the first one. */
	assert_int_equal(pipe2(q, O_CLOEXEC), 0);
	assert_int_equal(set_state_fd(&h, 1, 0, &q[0], 1,
				      sizeof(struct vhost_user_transfer_state)),
			 VHOST_USER_STATE_REPLY_NOFD);
	assert_int_equal(write(q[1], "second", 6), 6);
	/* Then the frontend goes away with its write end still open. */
	assert_int_equal(t_disconnect(&h), 0);
	assert_int_equal(h.fake.loads, 0);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	t_finish(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_reader_gone),
		cmocka_unit_test(test_cancelled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
