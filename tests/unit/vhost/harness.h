/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test harness for src/vhost/: a fake device behind the backend, served on
 * a thread over one end of a socketpair, and a frontend played by the test
 * on the other end. Guest memory is a memfd the test maps too, so it can
 * lay rings and descriptors the way a driver would.
 */
#ifndef VFSD_TEST_VHOST_HARNESS_H
#define VFSD_TEST_VHOST_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vhost/vhost.h"
#include "vhost/vhost_proto.h"

#define T_NQ 2 /* queues of the fake device */
#define T_CONFIG_SIZE 40 /* bytes of its config space */
#define T_DEV_FEATURE (1ULL << 3) /* one device feature bit it offers */

#define T_MEM_SIZE (1u << 20) /* guest memory */
#define T_GPA 0x100000ULL /* where it sits in guest-physical space */
#define T_UADDR 0x7f0000000000ULL /* and in the frontend's address space */
#define T_QSIZE 256
/* Ring offsets inside guest memory for queue q. */
#define T_DESC_OFF(q) (0x10000u * (q) + 0x0000u)
#define T_AVAIL_OFF(q) (0x10000u * (q) + 0x1000u)
#define T_USED_OFF(q) (0x10000u * (q) + 0x2000u)

struct fake_dev {
	pthread_mutex_t lock; /* protects everything below */
	unsigned int starts[T_NQ];
	unsigned int stops[T_NQ];
	bool running[T_NQ];
	struct virtq *vq[T_NQ]; /* valid while running */
	int kick_fd[T_NQ];
	unsigned int resets;
	unsigned int broken;
	char why[160];
	uint64_t features;
	uint8_t config[T_CONFIG_SIZE];
	/* device state: what a save produces, what a load got */
	size_t state_len;
	int load_result;
	unsigned int loads;
	size_t loaded_len;
	bool loaded_ok; /* the bytes were the save's pattern */
};

struct harness {
	struct fake_dev fake;
	struct vu_dev *dev;
	int sock; /* the frontend's end */
	int srv_sock; /* the backend's end */
	pthread_t thread;
	int serve_rc;
	bool finished;

	int memfd; /* guest memory */
	uint8_t *mem; /* the test's mapping of it */

	int fds_before; /* open fds before the test */
};

/* Open fds of this process (/proc/self/fd). */
int t_count_fds(void);

/* Set up device, socket pair, serving thread and guest memory. */
void t_start(struct harness *h);
/* Close the frontend end, join the server; returns vu_dev_serve()'s
 * result. Idempotent. */
int t_disconnect(struct harness *h);
/* After t_disconnect: connect a new frontend to the same device. */
void t_reconnect(struct harness *h);
/* t_disconnect, free everything, and check no fd leaked. */
void t_finish(struct harness *h);

/* Send one message (raw: @size is put in the header as is, @len bytes of
 * @payload follow). Returns 0 or -errno. */
int t_send_raw(struct harness *h, uint32_t req, uint32_t flags, uint32_t size,
	       const void *payload, size_t len, const int *fds,
	       unsigned int nfds);
int t_send(struct harness *h, uint32_t req, bool need_reply,
	   const void *payload, uint32_t size, const int *fds,
	   unsigned int nfds);
/* Receive one reply for @req into @payload (up to @max); returns the
 * payload size or -errno (-ETIMEDOUT after 5 s, -EPIPE on EOF). */
int t_recv(struct harness *h, uint32_t req, void *payload, size_t max);
/* Expect a REPLY_ACK for @req: returns its value, or UINT64_MAX. */
uint64_t t_ack(struct harness *h, uint32_t req);

/* Request with a u64 reply. */
uint64_t t_get_u64(struct harness *h, uint32_t req);
/* u64 payload with NEED_REPLY; returns the ack. */
uint64_t t_set_u64(struct harness *h, uint32_t req, uint64_t v);
/* vring state payload with NEED_REPLY; returns the ack. */
uint64_t t_set_state(struct harness *h, uint32_t req, uint32_t idx,
		     uint32_t num);
/* A region of the test memfd. */
struct vhost_user_mem_region t_region(void);
/* Negotiate as QEMU does (features incl. PROTOCOL_FEATURES, protocol
 * features incl. REPLY_ACK, CONFIG, CONFIGURE_MEM_SLOTS, STATUS,
 * RESET_DEVICE, MQ), SET_OWNER, SET_MEM_TABLE with the memfd. */
void t_negotiate(struct harness *h);
/* Set queue @q up (num, base 0, addr, kick, call, enable); returns the
 * kick and call eventfds (the test's copies) through @kick/@call. */
void t_setup_queue(struct harness *h, unsigned int q, int *kick, int *call);

/* Snapshot of the fake device's counters. */
void t_fake_counts(struct harness *h, unsigned int q, unsigned int *starts,
		   unsigned int *stops, bool *running);

/* Whether @fd is open in this process. */
bool t_fd_open(int fd);

#endif
