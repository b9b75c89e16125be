// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost/ test harness: the test thread plays the frontend and sends
 * messages over a socketpair; a server thread runs vu_dev_serve() with a
 * fake device that records queue_start/queue_stop and serves a small
 * config space.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "harness.h"
#include "log/log.h"

int t_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

bool t_fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* ---- the fake device --------------------------------------------------- */

static int fake_queue_start(void *opaque, unsigned int idx, struct virtq *vq,
			    int kick_fd)
{
	struct fake_dev *f = opaque;

	pthread_mutex_lock(&f->lock);
	f->starts[idx]++;
	f->running[idx] = true;
	f->vq[idx] = vq;
	f->kick_fd[idx] = kick_fd;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void fake_queue_stop(void *opaque, unsigned int idx)
{
	struct fake_dev *f = opaque;

	pthread_mutex_lock(&f->lock);
	f->stops[idx]++;
	f->running[idx] = false;
	f->vq[idx] = NULL;
	f->kick_fd[idx] = -1;
	pthread_mutex_unlock(&f->lock);
}

static int fake_get_config(void *opaque, uint32_t offset, void *buf,
			   uint32_t len)
{
	struct fake_dev *f = opaque;

	/* The backend promised the bounds; check it kept the promise. */
	if ((uint64_t)offset + len > sizeof(f->config))
		return -EFAULT;
	pthread_mutex_lock(&f->lock);
	memcpy(buf, f->config + offset, len);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void fake_set_features(void *opaque, uint64_t features)
{
	struct fake_dev *f = opaque;

	pthread_mutex_lock(&f->lock);
	f->features = features;
	pthread_mutex_unlock(&f->lock);
}

static void fake_reset(void *opaque)
{
	struct fake_dev *f = opaque;

	pthread_mutex_lock(&f->lock);
	f->resets++;
	pthread_mutex_unlock(&f->lock);
}

static void fake_broken(void *opaque, const char *why)
{
	struct fake_dev *f = opaque;

	pthread_mutex_lock(&f->lock);
	f->broken++;
	snprintf(f->why, sizeof(f->why), "%s", why);
	pthread_mutex_unlock(&f->lock);
}

/* The device state: state_len bytes of a pattern; a load records what
 * came and answers load_result. */
static int fake_state_save(void *opaque, void **buf, size_t *len)
{
	struct fake_dev *f = opaque;
	uint8_t *b;

	pthread_mutex_lock(&f->lock);
	*len = f->state_len;
	pthread_mutex_unlock(&f->lock);
	b = malloc(*len ? *len : 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < *len; i++)
		b[i] = (uint8_t)(i * 7 + 3);
	*buf = b;
	return 0;
}

static int fake_state_load(void *opaque, const void *buf, size_t len)
{
	struct fake_dev *f = opaque;
	const uint8_t *b = buf;
	int ret;

	pthread_mutex_lock(&f->lock);
	f->loads++;
	f->loaded_len = len;
	f->loaded_ok = true;
	for (size_t i = 0; i < len; i++)
		if (b[i] != (uint8_t)(i * 7 + 3))
			f->loaded_ok = false;
	ret = f->load_result;
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static const struct vu_device_ops fake_ops = {
	.queue_start = fake_queue_start,
	.queue_stop = fake_queue_stop,
	.get_config = fake_get_config,
	.set_features = fake_set_features,
	.reset = fake_reset,
	.broken = fake_broken,
	.state_save = fake_state_save,
	.state_load = fake_state_load,
};

void t_fake_counts(struct harness *h, unsigned int q, unsigned int *starts,
		   unsigned int *stops, bool *running)
{
	pthread_mutex_lock(&h->fake.lock);
	if (starts)
		*starts = h->fake.starts[q];
	if (stops)
		*stops = h->fake.stops[q];
	if (running)
		*running = h->fake.running[q];
	pthread_mutex_unlock(&h->fake.lock);
}

/* ---- lifecycle --------------------------------------------------------- */

static void *serve_thread(void *arg)
{
	struct harness *h = arg;

	h->serve_rc = vu_dev_serve(h->dev, h->srv_sock);
	/* The frontend sees the end of the connection. */
	shutdown(h->srv_sock, SHUT_RDWR);
	return NULL;
}

void t_start(struct harness *h)
{
	const struct vu_dev_info info = {
		.device_features = T_DEV_FEATURE,
		.num_queues = T_NQ,
		.config_size = T_CONFIG_SIZE,
	};
	int sv[2];

	log_set_level(getenv("VFSD_TEST_LOG") ? LOG_LEVEL_DEBUG :
						LOG_LEVEL_OFF);
	memset(h, 0, sizeof(*h));
	h->fds_before = t_count_fds();
	pthread_mutex_init(&h->fake.lock, NULL);
	for (unsigned int i = 0; i < T_NQ; i++)
		h->fake.kick_fd[i] = -1;
	for (unsigned int i = 0; i < T_CONFIG_SIZE; i++)
		h->fake.config[i] = (uint8_t)(0xa0 + i);

	assert_int_equal(vu_dev_new(&info, &fake_ops, &h->fake, &h->dev), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	h->sock = sv[0];
	h->srv_sock = sv[1];

	h->memfd = memfd_create("guest", MFD_CLOEXEC);
	assert_true(h->memfd >= 0);
	assert_int_equal(ftruncate(h->memfd, T_MEM_SIZE), 0);
	h->mem = mmap(NULL, T_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      h->memfd, 0);
	assert_true(h->mem != MAP_FAILED);

	assert_int_equal(pthread_create(&h->thread, NULL, serve_thread, h), 0);
}

int t_disconnect(struct harness *h)
{
	if (!h->finished) {
		close(h->sock);
		pthread_join(h->thread, NULL);
		close(h->srv_sock);
		h->finished = true;
	}
	return h->serve_rc;
}

void t_reconnect(struct harness *h)
{
	int sv[2];

	assert_true(h->finished);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	h->sock = sv[0];
	h->srv_sock = sv[1];
	h->finished = false;
	assert_int_equal(pthread_create(&h->thread, NULL, serve_thread, h), 0);
}

void t_finish(struct harness *h)
{
	t_disconnect(h);
	/* Teardown stopped whatever ran. */
	for (unsigned int i = 0; i < T_NQ; i++)
		assert_false(h->fake.running[i]);
	vu_dev_free(h->dev);
	munmap(h->mem, T_MEM_SIZE);
	close(h->memfd);
	pthread_mutex_destroy(&h->fake.lock);
	/* Every fd the frontend sent was closed or kept and closed. */
	assert_int_equal(t_count_fds(), h->fds_before);
}

/* ---- messages ---------------------------------------------------------- */

int t_send_raw(struct harness *h, uint32_t req, uint32_t flags, uint32_t size,
	       const void *payload, size_t len, const int *fds,
	       unsigned int nfds)
{
	struct vhost_user_hdr hdr = { .request = req,
				      .flags = flags,
				      .size = size };
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (nfds) {
		struct cmsghdr *c;

		assert_true(nfds <= 16);
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	if (sendmsg(h->sock, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int t_send(struct harness *h, uint32_t req, bool need_reply,
	   const void *payload, uint32_t size, const int *fds,
	   unsigned int nfds)
{
	uint32_t flags = VHOST_USER_VERSION;

	if (need_reply)
		flags |= VHOST_USER_NEED_REPLY_MASK;
	return t_send_raw(h, req, flags, size, payload, size, fds, nfds);
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) == 0)
			return -ETIMEDOUT;
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

int t_recv(struct harness *h, uint32_t req, void *payload, size_t max)
{
	struct vhost_user_hdr hdr;
	int rc;

	rc = read_full(h->sock, &hdr, sizeof(hdr));
	if (rc < 0)
		return rc;
	assert_int_equal(hdr.request, req);
	assert_int_equal(hdr.flags, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
	assert_true(hdr.size <= max);
	rc = read_full(h->sock, payload, hdr.size);
	if (rc < 0)
		return rc;
	return (int)hdr.size;
}

uint64_t t_ack(struct harness *h, uint32_t req)
{
	uint64_t v;

	if (t_recv(h, req, &v, sizeof(v)) != sizeof(v))
		return UINT64_MAX;
	return v;
}

uint64_t t_get_u64(struct harness *h, uint32_t req)
{
	assert_int_equal(t_send(h, req, false, NULL, 0, NULL, 0), 0);
	return t_ack(h, req);
}

uint64_t t_set_u64(struct harness *h, uint32_t req, uint64_t v)
{
	assert_int_equal(t_send(h, req, true, &v, sizeof(v), NULL, 0), 0);
	return t_ack(h, req);
}

uint64_t t_set_state(struct harness *h, uint32_t req, uint32_t idx,
		     uint32_t num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };

	assert_int_equal(t_send(h, req, true, &s, sizeof(s), NULL, 0), 0);
	return t_ack(h, req);
}

struct vhost_user_mem_region t_region(void)
{
	return (struct vhost_user_mem_region){
		.guest_phys_addr = T_GPA,
		.memory_size = T_MEM_SIZE,
		.userspace_addr = T_UADDR,
		.mmap_offset = 0,
	};
}

void t_negotiate(struct harness *h)
{
	uint64_t f, pf, want_pf;
	struct vhost_user_mem_table t = { .nregions = 1 };

	f = t_get_u64(h, VHOST_USER_GET_FEATURES);
	assert_true(f & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES));
	assert_true(f & (1ULL << VIRTIO_F_VERSION_1));
	assert_true(f & (1ULL << VIRTIO_RING_F_EVENT_IDX));
	assert_true(f & (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	assert_true(f & T_DEV_FEATURE);

	pf = t_get_u64(h, VHOST_USER_GET_PROTOCOL_FEATURES);
	want_pf = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
		  (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		  (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |
		  (1ULL << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
		  (1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
		  (1ULL << VHOST_USER_PROTOCOL_F_STATUS);
	assert_int_equal(pf & want_pf, want_pf);
	/* Not offered: what this backend does not implement. */
	assert_false(pf & (1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD));
	/* The fake device saves a state of its own. */
	assert_true(pf & (1ULL << VHOST_USER_PROTOCOL_F_DEVICE_STATE));
	/* Dirty logging is the backend's, for every device. */
	assert_true(pf & (1ULL << VHOST_USER_PROTOCOL_F_LOG_SHMFD));
	assert_true(f & (1ULL << VHOST_F_LOG_ALL));
	/* QEMU sends SET_PROTOCOL_FEATURES without NEED_REPLY. */
	assert_int_equal(t_send(h, VHOST_USER_SET_PROTOCOL_FEATURES, false,
				&want_pf, sizeof(want_pf), NULL, 0),
			 0);
	assert_int_equal(t_get_u64(h, VHOST_USER_GET_QUEUE_NUM), T_NQ);
	assert_int_equal(
		t_send(h, VHOST_USER_SET_OWNER, false, NULL, 0, NULL, 0), 0);
	assert_int_equal(t_get_u64(h, VHOST_USER_GET_MAX_MEM_SLOTS),
			 VIRTQ_MEM_MAX_REGIONS);
	assert_int_equal(
		t_set_u64(h, VHOST_USER_SET_FEATURES,
			  (1ULL << VIRTIO_F_VERSION_1) |
				  (1ULL << VIRTIO_RING_F_EVENT_IDX) |
				  (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)),
		0);

	t.regions[0] = t_region();
	assert_int_equal(t_send(h, VHOST_USER_SET_MEM_TABLE, true, &t,
				8 + sizeof(t.regions[0]), &h->memfd, 1),
			 0);
	assert_int_equal(t_ack(h, VHOST_USER_SET_MEM_TABLE), 0);
}

void t_setup_queue(struct harness *h, unsigned int q, int *kick, int *call)
{
	struct vhost_vring_addr a = {
		.index = q,
		.desc_user_addr = T_UADDR + T_DESC_OFF(q),
		.avail_user_addr = T_UADDR + T_AVAIL_OFF(q),
		.used_user_addr = T_UADDR + T_USED_OFF(q),
	};
	uint64_t v;

	assert_int_equal(t_set_state(h, VHOST_USER_SET_VRING_NUM, q, T_QSIZE),
			 0);
	assert_int_equal(t_set_state(h, VHOST_USER_SET_VRING_BASE, q, 0), 0);
	assert_int_equal(t_send(h, VHOST_USER_SET_VRING_ADDR, true, &a,
				sizeof(a), NULL, 0),
			 0);
	assert_int_equal(t_ack(h, VHOST_USER_SET_VRING_ADDR), 0);

	*kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	*call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(*kick >= 0 && *call >= 0);
	v = q;
	assert_int_equal(t_send(h, VHOST_USER_SET_VRING_KICK, true, &v,
				sizeof(v), kick, 1),
			 0);
	assert_int_equal(t_ack(h, VHOST_USER_SET_VRING_KICK), 0);
	assert_int_equal(t_send(h, VHOST_USER_SET_VRING_CALL, true, &v,
				sizeof(v), call, 1),
			 0);
	assert_int_equal(t_ack(h, VHOST_USER_SET_VRING_CALL), 0);
	assert_int_equal(t_set_state(h, VHOST_USER_SET_VRING_ENABLE, q, 1), 0);
}
