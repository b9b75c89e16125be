// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhf: vhost-user frontend harness for virtio-fs (see frontend.h).
 *
 * Guest memory is one memfd mapped once here; it is described to the
 * backend as up to two regions at non-contiguous guest physical addresses,
 * so a backend that confuses frontend virtual addresses, guest physical
 * addresses and mmap offsets fails visibly. Our own virtual address of a
 * region is its userspace_addr, so ring addresses are plain pointers.
 */
#include "frontend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_fs.h>

#define VHF_PAGE 4096ul
#define VHF_REGION1_GPA 0x100000000ull
#define VHF_INDIRECT_MAX (VHF_PAGE / sizeof(struct vring_desc))

struct vhf_queue {
	bool started;
	unsigned num;
	struct vhf_buf ring;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	int kickfd;
	int callfd;
	uint16_t avail_idx; /* next avail index we publish */
	uint16_t last_used; /* next used index we consume */
	uint16_t *next; /* shadow of our own chain links */
	uint16_t *free_stack;
	unsigned nfree;
	uint16_t *chain_len; /* per head, 0 when not ours */
	void **cookie;
	struct vhf_buf *indirect; /* per head, allocated on first use */
	unsigned inflight;
	uint64_t kicks;
	uint64_t used_gpa; /* guest-physical address of the used ring */
	bool stopped; /* by vhf_stop()/vhf_get_vring_base() */
	uint16_t stop_base; /* the base the backend reported then */
};

struct vhf {
	int sock;
	struct vhf_opts opts;
	struct vhf_info info;
	bool reply_ack;
	bool event_idx;

	int memfd;
	uint8_t *mem;
	size_t mem_size;
	unsigned nregions;
	struct vhf_mem_region regions[2];

	pthread_mutex_t alloc_lock;
	uint8_t *page_used; /* protected by ->alloc_lock, one byte per page */
	size_t npages;

	uint64_t unique; /* atomic */
	struct vhf_queue q[VHF_MAX_QUEUES];
	/* vhf_fuse_set_ids(), vhf_fuse_next_extlen(); single-threaded use */
	bool hdr_ids;
	uint32_t hdr_uid, hdr_gid;
	uint16_t next_extlen;

	/* live migration: the dirty log we share, and the writes tracked */
	int logfd;
	uint8_t *log;
	size_t log_size;
	bool logging; /* VHOST_F_LOG_ALL acked */
	pthread_mutex_t track_lock;
	bool tracking; /* protected by ->track_lock, as are the rest */
	struct vhf_range *tracked;
	size_t ntracked, tracked_cap;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- messages ---- */

static int send_all(struct vhf *fe, const void *bytes, size_t len,
		    const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHF_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)bytes, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t off = 0;

	if (nfds > VHF_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (off < len) {
		ssize_t n;

		iov.iov_base = (char *)bytes + off;
		iov.iov_len = len - off;
		n = sendmsg(fe->sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
		/* fds travel with the first byte only */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	return 0;
}

/* Read exactly @len bytes, within @deadline; fds that arrive are closed. */
static int recv_all(struct vhf *fe, void *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHF_MAX_FDS)];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { .iov_base = (char *)buf + off,
				     .iov_len = len - off };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		struct pollfd pfd = { .fd = fe->sock, .events = POLLIN };
		struct cmsghdr *c;
		int64_t left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = recvmsg(fe->sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS) {
				size_t k = (c->cmsg_len - CMSG_LEN(0)) /
					   sizeof(int);
				int fds[VHF_MAX_FDS];

				if (k > VHF_MAX_FDS)
					k = VHF_MAX_FDS;
				memcpy(fds, CMSG_DATA(c), k * sizeof(int));
				while (k--)
					close(fds[k]);
			}
		}
		off += (size_t)n;
	}
	return 0;
}

int vhf_send_raw(struct vhf *fe, const void *bytes, size_t len, const int *fds,
		 unsigned nfds)
{
	return send_all(fe, bytes, len, fds, nfds);
}

static int msg_send(struct vhf *fe, uint32_t req, uint32_t flags,
		    const void *payload, uint32_t len, const int *fds,
		    unsigned nfds)
{
	uint8_t buf[sizeof(struct vhf_msg_hdr) + VHF_MAX_PAYLOAD];
	struct vhf_msg_hdr h = { .request = req,
				 .flags = VHF_FLAG_VERSION | flags,
				 .size = len };

	if (len > VHF_MAX_PAYLOAD)
		return -EINVAL;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), payload, len);
	return send_all(fe, buf, sizeof(h) + len, fds, nfds);
}

static int msg_recv(struct vhf *fe, uint32_t req, void *reply, size_t cap,
		    size_t *reply_len)
{
	int64_t deadline = now_ms() + fe->opts.timeout_ms;
	uint8_t payload[VHF_MAX_PAYLOAD];
	struct vhf_msg_hdr h;
	int r;

	r = recv_all(fe, &h, sizeof(h), deadline);
	if (r)
		return r;
	if (h.size > VHF_MAX_PAYLOAD) {
		fprintf(stderr, "vhf: reply to %u: size %u too large\n", req,
			h.size);
		return -EPROTO;
	}
	r = recv_all(fe, payload, h.size, deadline);
	if (r)
		return r;
	if (h.request != req || (h.flags & 0x3) != VHF_FLAG_VERSION ||
	    !(h.flags & VHF_FLAG_REPLY)) {
		fprintf(stderr,
			"vhf: bad reply: request %u flags %#x, expected reply "
			"to %u\n",
			h.request, h.flags, req);
		return -EPROTO;
	}
	if (reply)
		memcpy(reply, payload, h.size < cap ? h.size : cap);
	if (reply_len)
		*reply_len = h.size;
	return 0;
}

int vhf_msg(struct vhf *fe, uint32_t req, const void *payload, uint32_t len,
	    const int *fds, unsigned nfds, void *reply, size_t reply_cap,
	    size_t *reply_len)
{
	int r = msg_send(fe, req, 0, payload, len, fds, nfds);

	if (r || !reply)
		return r;
	return msg_recv(fe, req, reply, reply_cap, reply_len);
}

int vhf_msg_ack(struct vhf *fe, uint32_t req, const void *payload, uint32_t len,
		const int *fds, unsigned nfds)
{
	uint64_t ack = 0;
	size_t got = 0;
	int r;

	r = msg_send(fe, req, fe->reply_ack ? VHF_FLAG_NEED_REPLY : 0, payload,
		     len, fds, nfds);
	if (r || !fe->reply_ack)
		return r;
	r = msg_recv(fe, req, &ack, sizeof(ack), &got);
	if (r)
		return r;
	if (got != sizeof(ack)) {
		fprintf(stderr, "vhf: ack to %u has size %zu\n", req, got);
		return -EPROTO;
	}
	if (ack) {
		fprintf(stderr, "vhf: backend nacked request %u (%#llx)\n", req,
			(unsigned long long)ack);
		return -EREMOTEIO;
	}
	return 0;
}

static int get_u64(struct vhf *fe, uint32_t req, uint64_t *val)
{
	size_t got = 0;
	int r = vhf_msg(fe, req, NULL, 0, NULL, 0, val, sizeof(*val), &got);

	if (!r && got != sizeof(*val))
		r = -EPROTO;
	return r;
}

static int set_u64(struct vhf *fe, uint32_t req, uint64_t val)
{
	return vhf_msg_ack(fe, req, &val, sizeof(val), NULL, 0);
}

/* ---- setup ---- */

static int connect_retry(struct vhf *fe, const char *path)
{
	int64_t deadline = now_ms() + fe->opts.timeout_ms;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			fe->sock = fd;
			return 0;
		}
		close(fd);
		if ((errno != ENOENT && errno != ECONNREFUSED) ||
		    now_ms() > deadline)
			return -errno;
		if (fe->opts.daemon_pid > 0) {
			siginfo_t si = { 0 };

			if (!waitid(P_PID, (id_t)fe->opts.daemon_pid, &si,
				    WEXITED | WNOHANG | WNOWAIT) &&
			    si.si_pid == fe->opts.daemon_pid)
				return -ECHILD;
		}
		usleep(20000);
	}
}

int vhf_negotiate(struct vhf *fe)
{
	struct vhf_info *in = &fe->info;
	uint64_t feat;
	int r;

	r = get_u64(fe, VHF_GET_FEATURES, &in->features);
	if (r)
		return r;
	if (!(in->features & (1ull << VIRTIO_F_VERSION_1))) {
		fprintf(stderr, "vhf: backend lacks VIRTIO_F_VERSION_1\n");
		return -EPROTO;
	}
	if (in->features & (1ull << VHF_F_PROTOCOL_FEATURES)) {
		uint64_t want = (1ull << VHF_PF_MQ) |
				(1ull << VHF_PF_REPLY_ACK) |
				(1ull << VHF_PF_CONFIG);

		if (fe->opts.migration)
			want |= (1ull << VHF_PF_LOG_SHMFD) |
				(1ull << VHF_PF_DEVICE_STATE);

		r = get_u64(fe, VHF_GET_PROTOCOL_FEATURES,
			    &in->protocol_features);
		if (r)
			return r;
		in->acked_protocol = in->protocol_features & want;
		r = set_u64(fe, VHF_SET_PROTOCOL_FEATURES, in->acked_protocol);
		if (r)
			return r;
		fe->reply_ack = in->acked_protocol & (1ull << VHF_PF_REPLY_ACK);
	}
	r = vhf_msg_ack(fe, VHF_SET_OWNER, NULL, 0, NULL, 0);
	if (r)
		return r;
	in->backend_queues = 2;
	if (in->acked_protocol & (1ull << VHF_PF_MQ)) {
		uint64_t n;

		r = get_u64(fe, VHF_GET_QUEUE_NUM, &n);
		if (r)
			return r;
		if (n < 2 || n > VHF_MAX_QUEUES) {
			fprintf(stderr, "vhf: GET_QUEUE_NUM %llu unusable\n",
				(unsigned long long)n);
			return -EPROTO;
		}
		in->backend_queues = (unsigned)n;
	}
	if (in->acked_protocol & (1ull << VHF_PF_CONFIG)) {
		struct vhf_config_msg c = {
			.offset = 0, .size = sizeof(struct virtio_fs_config)
		};
		size_t got = 0;

		r = vhf_msg(fe, VHF_GET_CONFIG, &c, 12 + c.size, NULL, 0, &c,
			    sizeof(c), &got);
		if (r)
			return r;
		if (got >= 12 + sizeof(struct virtio_fs_config) &&
		    c.size == sizeof(struct virtio_fs_config)) {
			struct virtio_fs_config fc;

			memcpy(&fc, c.payload, sizeof(fc));
			memcpy(in->tag, fc.tag, sizeof(fc.tag));
			in->tag[sizeof(fc.tag)] = '\0';
			in->num_request_queues = fc.num_request_queues;
			in->have_config = true;
		}
	}
	feat = 1ull << VIRTIO_F_VERSION_1;
	feat |= in->features & (1ull << VHF_F_PROTOCOL_FEATURES);
	if (!fe->opts.no_event_idx)
		feat |= in->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	if (!fe->opts.no_indirect)
		feat |= in->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	in->acked_features = feat;
	fe->event_idx = feat & (1ull << VIRTIO_RING_F_EVENT_IDX);
	if (fe->opts.use_indirect &&
	    !(feat & (1ull << VIRTIO_RING_F_INDIRECT_DESC)))
		fe->opts.use_indirect = false;
	return set_u64(fe, VHF_SET_FEATURES, feat);
}

/* SET_MEM_TABLE with the regions of fe->memfd laid out already. */
static int send_mem_table(struct vhf *fe)
{
	struct vhf_mem_table mt = { 0 };
	int fds[2];
	unsigned i;

	for (i = 0; i < fe->nregions; i++) {
		mt.regions[i] = fe->regions[i];
		fds[i] = fe->memfd;
	}
	mt.nregions = fe->nregions;
	return vhf_msg_ack(fe, VHF_SET_MEM_TABLE, &mt,
			   8 + fe->nregions * sizeof(struct vhf_mem_region),
			   fds, fe->nregions);
}

int vhf_setup_memory(struct vhf *fe)
{
	size_t half;
	unsigned i;

	fe->memfd = memfd_create("vhf-guest", MFD_CLOEXEC);
	if (fe->memfd < 0)
		return -errno;
	if (ftruncate(fe->memfd, (off_t)fe->mem_size))
		return -errno;
	fe->mem = mmap(NULL, fe->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fe->memfd, 0);
	if (fe->mem == MAP_FAILED) {
		fe->mem = NULL;
		return -errno;
	}
	fe->npages = fe->mem_size / VHF_PAGE;
	fe->page_used = calloc(fe->npages, 1);
	if (!fe->page_used)
		return -ENOMEM;

	fe->nregions = fe->opts.nr_regions == 1 ? 1 : 2;
	half = fe->mem_size / fe->nregions;
	for (i = 0; i < fe->nregions; i++) {
		struct vhf_mem_region *r = &fe->regions[i];

		r->guest_addr = i ? VHF_REGION1_GPA : 0;
		r->size = half;
		r->user_addr = (uint64_t)(uintptr_t)(fe->mem + i * half);
		r->mmap_offset = i * half;
	}
	return send_mem_table(fe);
}

static size_t ring_bytes(unsigned num, size_t *avail_off, size_t *used_off)
{
	size_t d = sizeof(struct vring_desc) * num;
	size_t a = 6 + 2ul * num;
	size_t u = 6 + sizeof(struct vring_used_elem) * num;

	*avail_off = d;
	*used_off = (d + a + VHF_PAGE - 1) & ~(VHF_PAGE - 1);
	return *used_off + u;
}

static int send_queue_setup(struct vhf *fe, unsigned q, uint16_t base);

static void set_used_event(struct vhf *fe, struct vhf_queue *vq)
{
	uint16_t ev = fe->opts.spin ? (uint16_t)(vq->last_used + 0x8000) :
				      vq->last_used;

	__atomic_store_n(&vq->avail->ring[vq->num], ev, __ATOMIC_RELAXED);
}

int vhf_setup_queue(struct vhf *fe, unsigned q)
{
	struct vhf_queue *vq = &fe->q[q];
	size_t aoff, uoff;
	unsigned i;
	int r;

	if (q >= VHF_MAX_QUEUES)
		return -EINVAL;
	vq->num = fe->opts.queue_size;
	r = vhf_alloc(fe, ring_bytes(vq->num, &aoff, &uoff), &vq->ring);
	if (r)
		return r;
	vq->desc = vq->ring.hva;
	vq->avail = (void *)((uint8_t *)vq->ring.hva + aoff);
	vq->used = (void *)((uint8_t *)vq->ring.hva + uoff);
	vq->next = calloc(vq->num, sizeof(*vq->next));
	vq->free_stack = calloc(vq->num, sizeof(*vq->free_stack));
	vq->chain_len = calloc(vq->num, sizeof(*vq->chain_len));
	vq->cookie = calloc(vq->num, sizeof(*vq->cookie));
	vq->indirect = calloc(vq->num, sizeof(*vq->indirect));
	if (!vq->next || !vq->free_stack || !vq->chain_len || !vq->cookie ||
	    !vq->indirect)
		return -ENOMEM;
	for (i = 0; i < vq->num; i++)
		vq->free_stack[i] = (uint16_t)(vq->num - 1 - i);
	vq->nfree = vq->num;
	if (fe->opts.spin && !fe->event_idx)
		vq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	set_used_event(fe, vq);

	vq->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vq->callfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vq->kickfd < 0 || vq->callfd < 0)
		return -errno;
	vq->used_gpa = vq->ring.gpa + uoff;
	r = send_queue_setup(fe, q, 0);
	if (r)
		return r;
	vq->started = true;
	return 0;
}

/* The vring messages that start queue @q over its ring at avail @base. */
static int send_queue_setup(struct vhf *fe, unsigned q, uint16_t base)
{
	struct vhf_queue *vq = &fe->q[q];
	struct vhf_vring_state st = { .index = q };
	struct vhf_vring_addr addr = { .index = q };
	uint64_t idx = q;
	int r;

	st.num = vq->num;
	r = vhf_msg_ack(fe, VHF_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
	if (r)
		return r;
	st.num = base;
	r = vhf_msg_ack(fe, VHF_SET_VRING_BASE, &st, sizeof(st), NULL, 0);
	if (r)
		return r;
	addr.desc = (uint64_t)(uintptr_t)vq->desc;
	addr.avail = (uint64_t)(uintptr_t)vq->avail;
	addr.used = (uint64_t)(uintptr_t)vq->used;
	if (fe->logging) {
		addr.flags = 1u << VHF_VRING_F_LOG;
		addr.log = vq->used_gpa;
	}
	r = vhf_msg_ack(fe, VHF_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0);
	if (r)
		return r;
	r = vhf_msg_ack(fe, VHF_SET_VRING_CALL, &idx, sizeof(idx), &vq->callfd,
			1);
	if (r)
		return r;
	r = vhf_msg_ack(fe, VHF_SET_VRING_KICK, &idx, sizeof(idx), &vq->kickfd,
			1);
	if (r)
		return r;
	if (fe->info.acked_features & (1ull << VHF_F_PROTOCOL_FEATURES)) {
		st.num = 1;
		r = vhf_msg_ack(fe, VHF_SET_VRING_ENABLE, &st, sizeof(st), NULL,
				0);
		if (r)
			return r;
	}
	return 0;
}

int vhf_connect(struct vhf **fep, const char *sock_path,
		const struct vhf_opts *opts)
{
	struct vhf *fe;
	unsigned q, n;
	int r;

	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	fe->sock = -1;
	fe->memfd = -1;
	fe->logfd = -1;
	pthread_mutex_init(&fe->track_lock, NULL);
	for (q = 0; q < VHF_MAX_QUEUES; q++)
		fe->q[q].kickfd = fe->q[q].callfd = -1;
	pthread_mutex_init(&fe->alloc_lock, NULL);
	if (opts)
		fe->opts = *opts;
	if (!fe->opts.mem_size)
		fe->opts.mem_size = 64ul << 20;
	if (!fe->opts.queue_size)
		fe->opts.queue_size = 256;
	if (!fe->opts.timeout_ms)
		fe->opts.timeout_ms = 5000;
	fe->opts.mem_size &= ~(2 * VHF_PAGE - 1);
	fe->mem_size = fe->opts.mem_size;
	if (fe->opts.queue_size > 32768 ||
	    (fe->opts.queue_size & (fe->opts.queue_size - 1))) {
		r = -EINVAL;
		goto out_free;
	}
	*fep = fe;
	r = connect_retry(fe, sock_path);
	if (r || fe->opts.setup_only_conn)
		goto out;
	r = vhf_negotiate(fe);
	if (r)
		goto out;
	r = vhf_setup_memory(fe);
	if (r)
		goto out;
	n = fe->opts.nr_queues ? fe->opts.nr_queues : fe->info.backend_queues;
	if (n > fe->info.backend_queues)
		n = fe->info.backend_queues;
	for (q = 0; q < n; q++) {
		r = vhf_setup_queue(fe, q);
		if (r)
			goto out;
	}
	fe->info.nr_queues = n;
	fe->info.queue_size = fe->opts.queue_size;
out:
	if (r) {
		vhf_disconnect(fe);
		*fep = NULL;
	}
	return r;
out_free:
	pthread_mutex_destroy(&fe->alloc_lock);
	pthread_mutex_destroy(&fe->track_lock);
	free(fe);
	return r;
}

const struct vhf_info *vhf_info(const struct vhf *fe)
{
	return &fe->info;
}

int vhf_sock_fd(const struct vhf *fe)
{
	return fe->sock;
}

int vhf_memfd(const struct vhf *fe)
{
	return fe->memfd;
}

int vhf_region(const struct vhf *fe, unsigned i, struct vhf_mem_region *r)
{
	if (i >= fe->nregions)
		return -EINVAL;
	*r = fe->regions[i];
	return 0;
}

int vhf_get_vring_base(struct vhf *fe, unsigned q, uint32_t *base)
{
	struct vhf_vring_state st = { .index = q };
	size_t got = 0;
	int r;

	r = vhf_msg(fe, VHF_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &st,
		    sizeof(st), &got);
	if (r)
		return r;
	if (got != sizeof(st) || st.index != q)
		return -EPROTO;
	if (q < VHF_MAX_QUEUES && fe->q[q].started) {
		fe->q[q].started = false;
		fe->q[q].stopped = true;
		fe->q[q].stop_base = (uint16_t)st.num;
	}
	*base = st.num;
	return 0;
}

int vhf_stop(struct vhf *fe)
{
	int ret = 0;
	unsigned q;

	for (q = 0; q < VHF_MAX_QUEUES; q++) {
		struct vhf_queue *vq = &fe->q[q];
		uint32_t base;
		int r;

		if (!vq->started)
			continue;
		r = vhf_get_vring_base(fe, q, &base);
		if (r)
			return r;
		if (!vq->inflight && base != vq->avail_idx) {
			fprintf(stderr,
				"vhf: queue %u stopped at avail %u, expected "
				"%u\n",
				q, base, vq->avail_idx);
			ret = -EPROTO;
		}
	}
	return ret;
}

void vhf_disconnect(struct vhf *fe)
{
	unsigned q;

	if (!fe)
		return;
	if (fe->sock >= 0)
		close(fe->sock);
	for (q = 0; q < VHF_MAX_QUEUES; q++) {
		struct vhf_queue *vq = &fe->q[q];

		if (vq->kickfd >= 0)
			close(vq->kickfd);
		if (vq->callfd >= 0)
			close(vq->callfd);
		free(vq->next);
		free(vq->free_stack);
		free(vq->chain_len);
		free(vq->cookie);
		free(vq->indirect);
	}
	if (fe->mem)
		munmap(fe->mem, fe->mem_size);
	if (fe->memfd >= 0)
		close(fe->memfd);
	if (fe->log)
		munmap(fe->log, fe->log_size);
	if (fe->logfd >= 0)
		close(fe->logfd);
	free(fe->tracked);
	free(fe->page_used);
	pthread_mutex_destroy(&fe->alloc_lock);
	pthread_mutex_destroy(&fe->track_lock);
	free(fe);
}

/* ---- live migration ---- */

static uint64_t guest_end(const struct vhf *fe)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < fe->nregions; i++)
		if (fe->regions[i].guest_addr + fe->regions[i].size > end)
			end = fe->regions[i].guest_addr + fe->regions[i].size;
	return end;
}

static int set_vring_log(struct vhf *fe, unsigned q, bool on)
{
	struct vhf_queue *vq = &fe->q[q];
	struct vhf_vring_addr addr = {
		.index = q,
		.flags = on ? 1u << VHF_VRING_F_LOG : 0,
		.desc = (uint64_t)(uintptr_t)vq->desc,
		.used = (uint64_t)(uintptr_t)vq->used,
		.avail = (uint64_t)(uintptr_t)vq->avail,
		.log = on ? vq->used_gpa : 0,
	};

	return vhf_msg_ack(fe, VHF_SET_VRING_ADDR, &addr, sizeof(addr), NULL,
			   0);
}

int vhf_log_start(struct vhf *fe, size_t log_bytes, uint64_t *status)
{
	struct {
		uint64_t size;
		uint64_t offset;
	} lg;
	uint64_t pages = (guest_end(fe) + VHF_LOG_PAGE - 1) / VHF_LOG_PAGE;
	uint64_t ack = 1;
	size_t got = 0;
	int r;

	if (!log_bytes)
		log_bytes = (size_t)((pages + 63) / 64 * 8);
	if (fe->log) {
		munmap(fe->log, fe->log_size);
		fe->log = NULL;
	}
	if (fe->logfd >= 0)
		close(fe->logfd);
	fe->logfd = memfd_create("vhf-log", MFD_CLOEXEC);
	if (fe->logfd < 0)
		return -errno;
	if (ftruncate(fe->logfd, (off_t)log_bytes))
		return -errno;
	fe->log = mmap(NULL, log_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fe->logfd, 0);
	if (fe->log == MAP_FAILED) {
		fe->log = NULL;
		return -errno;
	}
	fe->log_size = log_bytes;
	lg.size = log_bytes;
	lg.offset = 0;
	r = vhf_msg(fe, VHF_SET_LOG_BASE, &lg, sizeof(lg), &fe->logfd, 1, &ack,
		    sizeof(ack), &got);
	if (r)
		return r;
	if (status)
		*status = ack;
	if (got != sizeof(ack))
		return -EPROTO;
	if (ack)
		return -EREMOTEIO;
	fe->logging = true;
	r = set_u64(fe, VHF_SET_FEATURES,
		    fe->info.acked_features | (1ull << VHF_F_LOG_ALL));
	for (unsigned q = 0; !r && q < VHF_MAX_QUEUES; q++)
		if (fe->q[q].started)
			r = set_vring_log(fe, q, true);
	return r;
}

int vhf_log_stop(struct vhf *fe)
{
	int r;

	fe->logging = false;
	r = set_u64(fe, VHF_SET_FEATURES, fe->info.acked_features);
	for (unsigned q = 0; !r && q < VHF_MAX_QUEUES; q++)
		if (fe->q[q].started)
			r = set_vring_log(fe, q, false);
	return r;
}

bool vhf_log_dirty(const struct vhf *fe, uint64_t gpa)
{
	uint64_t page = gpa / VHF_LOG_PAGE;

	if (!fe->log || page / 8 >= fe->log_size)
		return false;
	return __atomic_load_n(&fe->log[page / 8], __ATOMIC_RELAXED) &
	       (1u << (page % 8));
}

void vhf_log_clear(struct vhf *fe)
{
	if (fe->log)
		memset(fe->log, 0, fe->log_size);
}

void vhf_track_writes(struct vhf *fe, bool on)
{
	pthread_mutex_lock(&fe->track_lock);
	fe->tracking = on;
	if (on)
		fe->ntracked = 0;
	pthread_mutex_unlock(&fe->track_lock);
}

size_t vhf_tracked(const struct vhf *fe, const struct vhf_range **ranges)
{
	*ranges = fe->tracked;
	return fe->ntracked;
}

/* SET_DEVICE_STATE_FD with @fd; its u64 reply checked. */
static int set_state_fd(struct vhf *fe, uint32_t direction, int fd)
{
	struct {
		uint32_t direction;
		uint32_t phase;
	} t = { direction, 0 };
	uint64_t reply = 1;
	size_t got = 0;
	int r;

	r = vhf_msg(fe, VHF_SET_DEVICE_STATE_FD, &t, sizeof(t), &fd, 1, &reply,
		    sizeof(reply), &got);
	if (r)
		return r;
	if (got != sizeof(reply))
		return -EPROTO;
	if (reply & 0xff)
		return -EREMOTEIO;
	/* We offer no way to take a channel of the backend's. */
	if (!(reply & 0x100))
		return -EPROTO;
	return 0;
}

static int check_state(struct vhf *fe, uint64_t *check)
{
	return get_u64(fe, VHF_CHECK_DEVICE_STATE, check);
}

int vhf_save_state(struct vhf *fe, void **buf, size_t *len, uint64_t *check)
{
	size_t cap = 1 << 16, have = 0;
	uint8_t *b = NULL;
	int p[2], r;

	*buf = NULL;
	*len = 0;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	r = set_state_fd(fe, 0, p[1]);
	close(p[1]);
	if (r) {
		close(p[0]);
		return r;
	}
	for (;;) {
		ssize_t n;

		if (!b || have == cap) {
			uint8_t *nb = realloc(b, b ? cap *= 2 : cap);

			if (!nb) {
				r = -ENOMEM;
				break;
			}
			b = nb;
		}
		n = read(p[0], b + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(p[0]);
	if (!r)
		r = check_state(fe, check);
	if (r) {
		free(b);
		return r;
	}
	*buf = b;
	*len = have;
	return 0;
}

int vhf_load_state(struct vhf *fe, const void *buf, size_t len, uint64_t *check)
{
	size_t off = 0;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	r = set_state_fd(fe, 1, p[0]);
	close(p[0]);
	if (r) {
		close(p[1]);
		return r;
	}
	while (off < len) {
		ssize_t n = write(p[1], (const uint8_t *)buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno; /* the backend gave up reading: check */
			break;
		}
		off += (size_t)n;
	}
	close(p[1]);
	return check_state(fe, check);
}

/* Start again every queue vhf_stop() stopped, at its reported base, and
 * kick those with requests in flight (they may sit unread in the avail
 * ring). */
static int restart_queues(struct vhf *fe)
{
	for (unsigned q = 0; q < VHF_MAX_QUEUES; q++) {
		struct vhf_queue *vq = &fe->q[q];
		int r;

		if (!vq->stopped)
			continue;
		r = send_queue_setup(fe, q, vq->stop_base);
		if (r)
			return r;
		vq->stopped = false;
		vq->started = true;
		if (vq->inflight) {
			r = vhf_kick(fe, q);
			if (r)
				return r;
		}
	}
	return 0;
}

int vhf_resume(struct vhf *fe)
{
	return restart_queues(fe);
}

int vhf_switch(struct vhf *fe, const char *sock_path, const void *state,
	       size_t len, uint64_t *check, int *old_sock)
{
	int old = fe->sock;
	int r;

	*old_sock = -1;
	fe->sock = -1;
	r = connect_retry(fe, sock_path);
	if (r) {
		fe->sock = old;
		return r;
	}
	*old_sock = old;
	/* The destination has no dirty log: the migration is over. */
	fe->logging = false;
	r = vhf_negotiate(fe);
	if (r)
		return r;
	if (state) {
		uint64_t c = 1;

		r = vhf_load_state(fe, state, len, &c);
		if (check)
			*check = c;
		if (r)
			return r;
		if (c)
			return -EREMOTEIO;
	}
	r = send_mem_table(fe);
	if (r)
		return r;
	return restart_queues(fe);
}

/* ---- guest memory ---- */

static uint64_t off_to_gpa(struct vhf *fe, size_t off)
{
	size_t half = fe->mem_size / fe->nregions;
	unsigned i = (unsigned)(off / half);

	return fe->regions[i].guest_addr + (off - i * half);
}

int vhf_alloc(struct vhf *fe, size_t len, struct vhf_buf *buf)
{
	size_t pages = (len + VHF_PAGE - 1) / VHF_PAGE;
	size_t per_region, start, run = 0, p;

	if (!pages)
		pages = 1;
	per_region = fe->npages / (fe->nregions ? fe->nregions : 1);
	pthread_mutex_lock(&fe->alloc_lock);
	for (p = 0, start = 0; p < fe->npages; p++) {
		if (p % per_region == 0)
			run = 0; /* never span a region boundary */
		if (fe->page_used[p]) {
			run = 0;
			continue;
		}
		if (!run)
			start = p;
		if (++run == pages)
			break;
	}
	if (run != pages) {
		pthread_mutex_unlock(&fe->alloc_lock);
		return -ENOMEM;
	}
	memset(fe->page_used + start, 1, pages);
	pthread_mutex_unlock(&fe->alloc_lock);
	buf->hva = fe->mem + start * VHF_PAGE;
	buf->gpa = off_to_gpa(fe, start * VHF_PAGE);
	buf->len = len;
	memset(buf->hva, 0, pages * VHF_PAGE);
	return 0;
}

void vhf_free(struct vhf *fe, struct vhf_buf *buf)
{
	size_t start, pages;

	if (!buf->hva)
		return;
	start = (size_t)((uint8_t *)buf->hva - fe->mem) / VHF_PAGE;
	pages = (buf->len + VHF_PAGE - 1) / VHF_PAGE;
	if (!pages)
		pages = 1;
	pthread_mutex_lock(&fe->alloc_lock);
	memset(fe->page_used + start, 0, pages);
	pthread_mutex_unlock(&fe->alloc_lock);
	buf->hva = NULL;
}

void *vhf_gpa_to_hva(struct vhf *fe, uint64_t gpa, size_t len)
{
	unsigned i;

	for (i = 0; i < fe->nregions; i++) {
		const struct vhf_mem_region *r = &fe->regions[i];

		if (gpa >= r->guest_addr && gpa - r->guest_addr <= r->size &&
		    len <= r->size - (gpa - r->guest_addr))
			return (void *)(uintptr_t)(r->user_addr +
						   (gpa - r->guest_addr));
	}
	return NULL;
}

/* ---- rings ---- */

struct vring_desc *vhf_desc(struct vhf *fe, unsigned q)
{
	return fe->q[q].desc;
}

struct vring_avail *vhf_avail(struct vhf *fe, unsigned q)
{
	return fe->q[q].avail;
}

struct vring_used *vhf_used(struct vhf *fe, unsigned q)
{
	return fe->q[q].used;
}

unsigned vhf_inflight(const struct vhf *fe, unsigned q)
{
	return fe->q[q].inflight;
}

unsigned vhf_free_descs(const struct vhf *fe, unsigned q)
{
	return fe->q[q].nfree;
}

uint64_t vhf_kicks(const struct vhf *fe, unsigned q)
{
	return fe->q[q].kicks;
}

int vhf_kick(struct vhf *fe, unsigned q)
{
	uint64_t one = 1;

	fe->q[q].kicks++;
	if (write(fe->q[q].kickfd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

/* Publish @head and kick when the backend asked for it. */
static int publish_and_kick(struct vhf *fe, struct vhf_queue *vq, unsigned q,
			    uint16_t head)
{
	uint16_t old = vq->avail_idx, now = (uint16_t)(old + 1);
	bool kick;

	vq->avail->ring[old % vq->num] = head;
	__atomic_store_n(&vq->avail->idx, now, __ATOMIC_RELEASE);
	vq->avail_idx = now;
	atomic_thread_fence(memory_order_seq_cst);
	if (fe->event_idx) {
		/* avail_event lives right after the used ring */
		uint16_t ev = __atomic_load_n(
			(uint16_t *)&vq->used->ring[vq->num], __ATOMIC_RELAXED);

		kick = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		kick = !(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED) &
			 VRING_USED_F_NO_NOTIFY);
	}
	return kick ? vhf_kick(fe, q) : 0;
}

void vhf_publish(struct vhf *fe, unsigned q, uint16_t head)
{
	struct vhf_queue *vq = &fe->q[q];
	uint16_t old = vq->avail_idx;

	vq->avail->ring[old % vq->num] = head;
	__atomic_store_n(&vq->avail->idx, (uint16_t)(old + 1),
			 __ATOMIC_RELEASE);
	vq->avail_idx = (uint16_t)(old + 1);
}

int vhf_submit(struct vhf *fe, unsigned q, const struct vhf_seg *segs,
	       unsigned n, bool indirect, void *cookie)
{
	struct vhf_queue *vq;
	uint16_t head, prev = 0;
	unsigned i;

	if (q >= VHF_MAX_QUEUES || !fe->q[q].started || !n)
		return -EINVAL;
	vq = &fe->q[q];
	if (indirect) {
		struct vring_desc *t;
		struct vhf_buf *ib;

		if (n > VHF_INDIRECT_MAX || !vq->nfree)
			return n > VHF_INDIRECT_MAX ? -E2BIG : -ENOSPC;
		head = vq->free_stack[--vq->nfree];
		ib = &vq->indirect[head];
		if (!ib->hva) {
			int r = vhf_alloc(fe, VHF_PAGE, ib);

			if (r) {
				vq->nfree++;
				return r;
			}
		}
		t = ib->hva;
		for (i = 0; i < n; i++) {
			t[i].addr = segs[i].gpa;
			t[i].len = segs[i].len;
			t[i].flags = (segs[i].write ? VRING_DESC_F_WRITE : 0) |
				     (i + 1 < n ? VRING_DESC_F_NEXT : 0);
			t[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
		}
		vq->desc[head].addr = ib->gpa;
		vq->desc[head].len = (uint32_t)(n * sizeof(struct vring_desc));
		vq->desc[head].flags = VRING_DESC_F_INDIRECT;
		vq->desc[head].next = 0;
		vq->chain_len[head] = 1;
	} else {
		if (n > vq->nfree)
			return -ENOSPC;
		head = vq->free_stack[vq->nfree - 1];
		for (i = 0; i < n; i++) {
			uint16_t d = vq->free_stack[--vq->nfree];

			if (i) {
				vq->desc[prev].next = d;
				vq->desc[prev].flags |= VRING_DESC_F_NEXT;
				vq->next[prev] = d;
			}
			vq->desc[d].addr = segs[i].gpa;
			vq->desc[d].len = segs[i].len;
			vq->desc[d].flags =
				segs[i].write ? VRING_DESC_F_WRITE : 0;
			vq->desc[d].next = 0;
			prev = d;
		}
		vq->chain_len[head] = (uint16_t)n;
	}
	vq->cookie[head] = cookie;
	vq->inflight++;
	return publish_and_kick(fe, vq, q, head);
}

/* Record that the backend wrote [gpa, gpa + len), while tracking. */
static void track(struct vhf *fe, uint64_t gpa, uint64_t len)
{
	pthread_mutex_lock(&fe->track_lock);
	if (fe->tracking && len) {
		if (fe->ntracked == fe->tracked_cap) {
			size_t cap = fe->tracked_cap ? fe->tracked_cap * 2 : 64;
			struct vhf_range *n =
				realloc(fe->tracked, cap * sizeof(*n));

			if (!n) {
				pthread_mutex_unlock(&fe->track_lock);
				return;
			}
			fe->tracked = n;
			fe->tracked_cap = cap;
		}
		fe->tracked[fe->ntracked++] =
			(struct vhf_range){ .gpa = gpa, .len = len };
	}
	pthread_mutex_unlock(&fe->track_lock);
}

/* Take one used element if there is one. */
static int take_used(struct vhf *fe, struct vhf_queue *vq, unsigned q,
		     uint32_t *len, void **cookie)
{
	uint16_t idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	struct vring_used_elem e;
	uint16_t d;
	unsigned i;

	if (idx == vq->last_used)
		return -EAGAIN;
	if ((uint16_t)(idx - vq->last_used) > vq->num) {
		fprintf(stderr, "vhf: queue %u used idx %u runs %u ahead\n", q,
			idx, (uint16_t)(idx - vq->last_used));
		return -EPROTO;
	}
	e = vq->used->ring[vq->last_used % vq->num];
	track(fe,
	      vq->used_gpa + 4 +
		      sizeof(struct vring_used_elem) *
			      (vq->last_used % vq->num),
	      sizeof(struct vring_used_elem));
	track(fe, vq->used_gpa + 2, 2);
	vq->last_used++;
	set_used_event(fe, vq);
	if (len)
		*len = e.len;
	if (cookie)
		*cookie = NULL;
	if (e.id >= vq->num) {
		fprintf(stderr, "vhf: queue %u used id %u out of range\n", q,
			e.id);
		return -EPROTO;
	}
	if (!vq->chain_len[e.id])
		return 0; /* laid raw, not ours to free */
	if (cookie)
		*cookie = vq->cookie[e.id];
	d = (uint16_t)e.id;
	for (i = 0; i < vq->chain_len[e.id]; i++) {
		vq->free_stack[vq->nfree++] = d;
		d = vq->next[d];
	}
	vq->chain_len[e.id] = 0;
	vq->cookie[e.id] = NULL;
	vq->inflight--;
	return 0;
}

int vhf_poll(struct vhf *fe, unsigned q, uint32_t *len, void **cookie)
{
	return take_used(fe, &fe->q[q], q, len, cookie);
}

int vhf_wait(struct vhf *fe, unsigned q, int timeout_ms, uint32_t *len,
	     void **cookie)
{
	struct vhf_queue *vq = &fe->q[q];
	int64_t deadline =
		now_ms() + (timeout_ms > 0 ? timeout_ms : fe->opts.timeout_ms);
	unsigned spins = 0;

	for (;;) {
		struct pollfd pfd = { .fd = vq->callfd, .events = POLLIN };
		uint64_t v;
		int r;

		atomic_thread_fence(memory_order_seq_cst);
		r = take_used(fe, vq, q, len, cookie);
		if (r != -EAGAIN)
			return r;
		if (fe->opts.spin) {
			if ((++spins & 0xfff) == 0) {
				if (now_ms() > deadline)
					return -ETIMEDOUT;
				sched_yield();
			}
			continue;
		}
		r = (int)(deadline - now_ms());
		if (r <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, r);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0 && read(vq->callfd, &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			return -errno;
	}
}

/* ---- FUSE ---- */

uint64_t vhf_next_unique(struct vhf *fe)
{
	/* the kernel uses even ids; odd ones are for interrupts */
	return __atomic_add_fetch(&fe->unique, 2, __ATOMIC_RELAXED);
}

void vhf_fuse_in_header(struct vhf *fe, struct fuse_in_header *h,
			uint32_t opcode, uint64_t nodeid, uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->len = len;
	h->opcode = opcode;
	h->unique = vhf_next_unique(fe);
	h->nodeid = nodeid;
	h->uid = fe->hdr_ids ? fe->hdr_uid : getuid();
	h->gid = fe->hdr_ids ? fe->hdr_gid : getgid();
	h->pid = (uint32_t)getpid();
	if (fe->next_extlen) { /* written only here: other threads read 0 */
		h->total_extlen = fe->next_extlen;
		fe->next_extlen = 0;
	}
}

void vhf_fuse_set_ids(struct vhf *fe, uint32_t uid, uint32_t gid)
{
	fe->hdr_ids = true;
	fe->hdr_uid = uid;
	fe->hdr_gid = gid;
}

void vhf_fuse_next_extlen(struct vhf *fe, uint16_t n)
{
	fe->next_extlen = n;
}

#define VHF_FUSE_MAX_SEGS 16

int vhf_fuse(struct vhf *fe, unsigned q, uint32_t opcode, uint64_t nodeid,
	     const struct iovec *args, unsigned nargs, const size_t *out_sizes,
	     unsigned nout, void *reply, size_t reply_cap, size_t *reply_len)
{
	struct vhf_seg segs[VHF_FUSE_MAX_SEGS];
	struct vhf_buf inb = { 0 }, outb = { 0 };
	struct fuse_in_header h;
	size_t in_len = sizeof(h), out_len = 0, off;
	uint32_t used_len = 0;
	unsigned i, n = 0;
	void *cookie = NULL;
	int r;

	if (1 + nargs + nout > VHF_FUSE_MAX_SEGS)
		return -E2BIG;
	for (i = 0; i < nargs; i++)
		in_len += args[i].iov_len;
	for (i = 0; i < nout; i++)
		out_len += out_sizes[i];
	r = vhf_alloc(fe, in_len, &inb);
	if (r)
		return r;
	if (out_len) {
		r = vhf_alloc(fe, out_len, &outb);
		if (r)
			goto out_free_in;
	}
	vhf_fuse_in_header(fe, &h, opcode, nodeid, (uint32_t)in_len);
	memcpy(inb.hva, &h, sizeof(h));
	segs[n++] = (struct vhf_seg){ .gpa = inb.gpa, .len = sizeof(h) };
	off = sizeof(h);
	for (i = 0; i < nargs; i++) {
		memcpy((uint8_t *)inb.hva + off, args[i].iov_base,
		       args[i].iov_len);
		segs[n++] =
			(struct vhf_seg){ .gpa = inb.gpa + off,
					  .len = (uint32_t)args[i].iov_len };
		off += args[i].iov_len;
	}
	for (i = 0, off = 0; i < nout; i++) {
		segs[n++] = (struct vhf_seg){ .gpa = outb.gpa + off,
					      .len = (uint32_t)out_sizes[i],
					      .write = true };
		off += out_sizes[i];
	}
	r = vhf_submit(fe, q, segs, n, fe->opts.use_indirect, &h);
	if (r)
		goto out_free_out;
	r = vhf_wait(fe, q, 0, &used_len, &cookie);
	if (r)
		goto out_free_out;
	if (cookie != &h) {
		fprintf(stderr, "vhf: unexpected used element on queue %u\n",
			q);
		r = -EPROTO;
		goto out_free_out;
	}
	if (used_len > out_len) {
		fprintf(stderr,
			"vhf: opcode %u: backend wrote %u bytes into %zu\n",
			opcode, used_len, out_len);
		r = -EPROTO;
		goto out_free_out;
	}
	track(fe, outb.gpa, used_len);
	if (used_len >= sizeof(struct fuse_out_header)) {
		struct fuse_out_header oh;

		memcpy(&oh, outb.hva, sizeof(oh));
		if (oh.unique != h.unique || oh.len != used_len) {
			fprintf(stderr,
				"vhf: opcode %u: reply unique %llu len %u, "
				"expected %llu len %u\n",
				opcode, (unsigned long long)oh.unique, oh.len,
				(unsigned long long)h.unique, used_len);
			r = -EPROTO;
			goto out_free_out;
		}
	}
	if (reply && used_len)
		memcpy(reply, outb.hva,
		       used_len < reply_cap ? used_len : reply_cap);
	if (reply_len)
		*reply_len = used_len;
out_free_out:
	vhf_free(fe, &outb);
out_free_in:
	vhf_free(fe, &inb);
	return r;
}

/* Run a request whose reply is an out header plus fixed-size parts. */
static int fuse_fixed(struct vhf *fe, unsigned q, uint32_t opcode,
		      uint64_t nodeid, const struct iovec *args, unsigned nargs,
		      void *out1, size_t len1, void *out2, size_t len2)
{
	uint8_t reply[sizeof(struct fuse_out_header) + 512] = { 0 };
	size_t sizes[3] = { sizeof(struct fuse_out_header), len1, len2 };
	unsigned nout = 1 + (len1 ? 1 : 0) + (len2 ? 1 : 0);
	struct fuse_out_header oh;
	size_t got = 0;
	int r;

	if (len1 + len2 > 512)
		return -E2BIG;
	r = vhf_fuse(fe, q, opcode, nodeid, args, nargs, sizes, nout, reply,
		     sizeof(reply), &got);
	if (r)
		return r;
	if (got < sizeof(oh))
		return -EBADMSG;
	memcpy(&oh, reply, sizeof(oh));
	if (oh.error > 0 || oh.error < -4095)
		return -EPROTO;
	if (oh.error)
		return oh.error;
	if (got != sizeof(oh) + len1 + len2 && opcode != FUSE_INIT)
		return -EBADMSG;
	if (out1)
		memcpy(out1, reply + sizeof(oh), len1);
	if (out2)
		memcpy(out2, reply + sizeof(oh) + len1, len2);
	return 0;
}

int vhf_fuse_init(struct vhf *fe, unsigned q, uint32_t want_flags,
		  struct fuse_init_out *out)
{
	struct fuse_init_in in = { .major = FUSE_KERNEL_VERSION,
				   .minor = FUSE_KERNEL_MINOR_VERSION,
				   .max_readahead = 1u << 20,
				   .flags = want_flags | FUSE_INIT_EXT,
				   .flags2 = 0 };
	struct iovec a = { .iov_base = &in, .iov_len = sizeof(in) };

	memset(out, 0, sizeof(*out));
	return fuse_fixed(fe, q, FUSE_INIT, 0, &a, 1, out, sizeof(*out), NULL,
			  0);
}

int vhf_fuse_lookup(struct vhf *fe, unsigned q, uint64_t parent,
		    const char *name, struct fuse_entry_out *out)
{
	struct iovec a = { .iov_base = (void *)name,
			   .iov_len = strlen(name) + 1 };

	return fuse_fixed(fe, q, FUSE_LOOKUP, parent, &a, 1, out, sizeof(*out),
			  NULL, 0);
}

int vhf_fuse_getattr(struct vhf *fe, unsigned q, uint64_t nodeid,
		     struct fuse_attr_out *out)
{
	struct fuse_getattr_in in = { 0 };
	struct iovec a = { .iov_base = &in, .iov_len = sizeof(in) };

	return fuse_fixed(fe, q, FUSE_GETATTR, nodeid, &a, 1, out, sizeof(*out),
			  NULL, 0);
}

int vhf_fuse_open(struct vhf *fe, unsigned q, uint64_t nodeid, uint32_t flags,
		  struct fuse_open_out *out)
{
	struct fuse_open_in in = { .flags = flags };
	struct iovec a = { .iov_base = &in, .iov_len = sizeof(in) };

	return fuse_fixed(fe, q, FUSE_OPEN, nodeid, &a, 1, out, sizeof(*out),
			  NULL, 0);
}

int vhf_fuse_create(struct vhf *fe, unsigned q, uint64_t parent,
		    const char *name, uint32_t flags, uint32_t mode,
		    struct fuse_entry_out *entry, struct fuse_open_out *open)
{
	struct fuse_create_in in = { .flags = flags,
				     .mode = mode,
				     .umask = 022 };
	struct iovec a[2] = {
		{ .iov_base = &in, .iov_len = sizeof(in) },
		{ .iov_base = (void *)name, .iov_len = strlen(name) + 1 },
	};

	return fuse_fixed(fe, q, FUSE_CREATE, parent, a, 2, entry,
			  sizeof(*entry), open, sizeof(*open));
}

int vhf_fuse_read(struct vhf *fe, unsigned q, uint64_t nodeid, uint64_t fh,
		  uint64_t off, void *buf, uint32_t size, uint32_t *got)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
	struct iovec a = { .iov_base = &in, .iov_len = sizeof(in) };
	size_t sizes[2] = { sizeof(struct fuse_out_header), size };
	struct fuse_out_header oh;
	size_t len = 0;
	uint8_t *reply;
	int r;

	reply = malloc(sizeof(oh) + size);
	if (!reply)
		return -ENOMEM;
	r = vhf_fuse(fe, q, FUSE_READ, nodeid, &a, 1, sizes, size ? 2 : 1,
		     reply, sizeof(oh) + size, &len);
	if (r)
		goto out;
	r = -EBADMSG;
	if (len < sizeof(oh))
		goto out;
	memcpy(&oh, reply, sizeof(oh));
	r = oh.error;
	if (r)
		goto out;
	memcpy(buf, reply + sizeof(oh), len - sizeof(oh));
	*got = (uint32_t)(len - sizeof(oh));
out:
	free(reply);
	return r;
}

int vhf_fuse_write(struct vhf *fe, unsigned q, uint64_t nodeid, uint64_t fh,
		   uint64_t off, const void *buf, uint32_t size,
		   uint32_t *written)
{
	struct fuse_write_in in = { .fh = fh, .offset = off, .size = size };
	struct iovec a[2] = {
		{ .iov_base = &in, .iov_len = sizeof(in) },
		{ .iov_base = (void *)buf, .iov_len = size },
	};
	struct fuse_write_out out;
	int r;

	r = fuse_fixed(fe, q, FUSE_WRITE, nodeid, a, size ? 2 : 1, &out,
		       sizeof(out), NULL, 0);
	if (!r)
		*written = out.size;
	return r;
}

int vhf_fuse_release(struct vhf *fe, unsigned q, uint64_t nodeid, uint64_t fh,
		     uint32_t flags)
{
	struct fuse_release_in in = { .fh = fh, .flags = flags };
	struct iovec a = { .iov_base = &in, .iov_len = sizeof(in) };

	return fuse_fixed(fe, q, FUSE_RELEASE, nodeid, &a, 1, NULL, 0, NULL, 0);
}

int vhf_fuse_forget(struct vhf *fe, uint64_t nodeid, uint64_t nlookup)
{
	struct fuse_forget_in in = { .nlookup = nlookup };
	struct iovec a = { .iov_base = &in, .iov_len = sizeof(in) };
	size_t got = 0;
	int r;

	r = vhf_fuse(fe, 0, FUSE_FORGET, nodeid, &a, 1, NULL, 0, NULL, 0, &got);
	if (!r && got)
		r = -EPROTO;
	return r;
}

/* ---- the daemon under test ---- */

/* @arg with every "{sock}"/"@SOCK@" and "{dir}"/"@DIR@" replaced. */
static char *expand(const char *arg, const char *sock, const char *dir)
{
	size_t cap = strlen(arg) + 1, len = 0;
	char *out = malloc(cap);

	while (out && *arg) {
		const char *rep = NULL;
		size_t skip = 1, rl;

		if (!strncmp(arg, "{sock}", 6) || !strncmp(arg, "@SOCK@", 6)) {
			rep = sock;
			skip = 6;
		} else if (!strncmp(arg, "{dir}", 5) ||
			   !strncmp(arg, "@DIR@", 5)) {
			rep = dir;
			skip = 5;
		}
		rl = rep ? strlen(rep) : 1;
		if (len + rl + 1 > cap) {
			char *n;

			cap = (len + rl + 1) * 2;
			n = realloc(out, cap);
			if (!n) {
				free(out);
				return NULL;
			}
			out = n;
		}
		memcpy(out + len, rep ? rep : arg, rl);
		len += rl;
		arg += skip;
	}
	if (out)
		out[len] = '\0';
	return out;
}

int vhf_spawn(char *const argv[], const char *sock, const char *dir, pid_t *pid)
{
	size_t n = 0, i;
	char **args;
	pid_t p;

	while (argv[n])
		n++;
	if (!n)
		return -EINVAL;
	args = calloc(n + 1, sizeof(*args));
	if (!args)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		args[i] = expand(argv[i], sock, dir);
		if (!args[i])
			goto out_free;
	}
	p = fork();
	if (p < 0)
		goto out_free;
	if (p == 0) {
		execvp(args[0], args);
		fprintf(stderr, "vhf: exec %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	*pid = p;
	for (i = 0; i < n; i++)
		free(args[i]);
	free(args);
	return 0;
out_free:
	for (i = 0; i < n; i++)
		free(args[i]);
	free(args);
	return -ENOMEM;
}

int vhf_reap(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return -errno;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

int vhf_verbose;

void vhf_note(const char *fmt, ...)
{
	va_list ap;

	if (!vhf_verbose)
		return;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}
