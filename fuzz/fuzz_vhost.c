// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the vhost-user backend (src/vhost/), message framing and
 * every handler, through its public entry vu_dev_serve() (the dispatcher
 * is private to vhost.c).
 *
 * One input is one connection. Its first byte shapes the fake device
 * (number of queues, config space, whether it refuses to start queues);
 * the rest is a sequence of records, each either a vhost-user message to
 * send or a write into guest memory (so queues can start on rings that
 * hold real chains):
 *
 *   ctl      bits 0-1  0: message, 3: message with NEED_REPLY,
 *                      1: raw message (12-byte header as is), 2: poke
 *            bits 2-3  fds to attach (0-3)
 *            bit 4     they are eventfds (else the guest-memory memfd)
 *            bit 5     a 4 KiB memfd instead (shorter than any region)
 *            bit 6     header and payload in two sendmsg() calls
 *   message  u8 request, u16 payload length, payload
 *   raw      struct vhost_user_hdr, u16 payload length, payload
 *   poke     u16 offset / 4, u8 length, bytes
 *
 * Every message is written into one end of a socketpair before the
 * backend serves the other end on this thread; the end of input is the
 * frontend hanging up. The fake device records queue_start/queue_stop
 * (never twice in a row for one queue, all stopped at the end) and pops
 * and pushes every chain a started queue holds, checking each iovec lies
 * in the guest memory the backend mapped. Every 16 inputs (every input
 * with VFSD_FUZZ_FDS set) the memfds, eventfds and sockets the process
 * holds are counted: a message's fds must not outlive the connection.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuzz.h"
#include "log/log.h"
#include "vhost/vhost.h"
#include "vhost/vhost_proto.h"

#define MEM_SIZE (256u * 1024)
#define SHORT_MEM_SIZE 4096u
#define MAX_QUEUES 4
#define MAX_MSGS 128 /* replies must fit in the socket buffer */
#define FD_CHECK_EVERY 16

#define CTL_KIND 0x03u
#define CTL_MSG 0u
#define CTL_RAW 1u
#define CTL_POKE 2u
#define CTL_MSG_ACK 3u
#define CTL_NFDS(c) (((c) >> 2) & 3u)
#define CTL_EVENTFD 0x10u
#define CTL_SHORT_MEM 0x20u
#define CTL_SPLIT 0x40u

struct fake {
	bool running[MAX_QUEUES];
	unsigned int starts, stops;
	bool refuse_odd; /* queue_start fails on odd queues */
	struct vu_dev *dev;
};

static struct fake fk;
static int memfd = -1, short_memfd = -1;
static uint8_t *guest; /* our mapping of memfd */
static int fds_baseline = -1;
static unsigned long iterations;

/*
 * Open fds of the kinds a frontend hands the backend (memfds, eventfds)
 * and of the connection (sockets). Pipes and /dev/null are left out: the
 * sanitizers' symbolizer opens those when libFuzzer prints a new PC.
 */
static bool handed_over(const char *target)
{
	return !strncmp(target, "/memfd:", 7) ||
	       !strcmp(target, "anon_inode:[eventfd]") ||
	       !strncmp(target, "socket:", 7);
}

static int count_fds(void)
{
	return fuzz_count_fds(handed_over);
}

static bool in_regions(const struct virtq_mem *m, const struct iovec *v)
{
	for (unsigned int i = 0; i < m->nregions; i++) {
		const struct virtq_mem_region *r = &m->regions[i];
		const uint8_t *p = v->iov_base;

		if (p >= r->hva && v->iov_len <= r->size &&
		    (uint64_t)(p - r->hva) <= r->size - v->iov_len)
			return true;
	}
	return false;
}

/* Serve what the ring holds, as a device thread would. */
static void drain(unsigned int idx, struct virtq *vq)
{
	static struct iovec iov[VIRTQ_MAX_SIZE];
	struct virtq_elem elem;

	for (int n = 0; n < 64; n++) {
		enum virtq_pop_result r = virtq_pop(vq, &elem, iov, vq->num);
		uint32_t len = 0;

		if (r != VIRTQ_POPPED)
			return;
		FUZZ_CHECK(elem.out_num + elem.in_num <= vq->num);
		for (unsigned int i = 0; i < elem.out_num + elem.in_num; i++) {
			FUZZ_CHECK(in_regions(vq->mem, &iov[i]));
			if (i >= elem.out_num && iov[i].iov_len) {
				/* the device writes its reply */
				((volatile uint8_t *)iov[i].iov_base)[0] = 0x5a;
				len = (uint32_t)iov[i].iov_len;
			}
		}
		virtq_push(vq, &elem, len);
		if (virtq_need_notify(vq))
			vu_queue_notify(fk.dev, idx);
	}
}

static int f_queue_start(void *opaque, unsigned int idx, struct virtq *vq,
			 int kick_fd)
{
	FUZZ_CHECK(idx < MAX_QUEUES);
	FUZZ_CHECK(!fk.running[idx]);
	FUZZ_CHECK(vq && vq->num && !(vq->num & (vq->num - 1)));
	if (fk.refuse_odd && (idx & 1))
		return -EIO;
	fk.running[idx] = true;
	fk.starts++;
	drain(idx, vq);
	return 0;
}

static void f_queue_stop(void *opaque, unsigned int idx)
{
	FUZZ_CHECK(idx < MAX_QUEUES);
	FUZZ_CHECK(fk.running[idx]);
	fk.running[idx] = false;
	fk.stops++;
}

static int f_get_config(void *opaque, uint32_t offset, void *buf, uint32_t len)
{
	/* the backend checked the range against config_size (40) */
	FUZZ_CHECK((uint64_t)offset + len <= 40);
	memset(buf, 0xc5, len);
	return 0;
}

static int f_set_config(void *opaque, uint32_t offset, const void *buf,
			uint32_t len, uint32_t flags)
{
	FUZZ_CHECK((uint64_t)offset + len <= 40);
	if (len)
		(void)((const volatile uint8_t *)buf)[len - 1];
	return 0;
}

static void f_reset(void *opaque)
{
	for (unsigned int i = 0; i < MAX_QUEUES; i++)
		FUZZ_CHECK(!fk.running[i]);
}

static const struct vu_device_ops fake_ops = {
	.queue_start = f_queue_start,
	.queue_stop = f_queue_stop,
	.get_config = f_get_config,
	.set_config = f_set_config,
	.reset = f_reset,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(getenv("VFSD_FUZZ_LOG") ? LOG_LEVEL_DEBUG :
						LOG_LEVEL_OFF);
	memfd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	short_memfd = memfd_create("fuzz-short", MFD_CLOEXEC);
	if (memfd < 0 || short_memfd < 0 || ftruncate(memfd, MEM_SIZE) ||
	    ftruncate(short_memfd, SHORT_MEM_SIZE))
		abort();
	guest = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		     0);
	if (guest == MAP_FAILED)
		abort();
	return 0;
}

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

/* Take up to @n bytes of input. */
static const uint8_t *take(struct cursor *c, size_t *n)
{
	const uint8_t *p = c->p;

	if (*n > c->left)
		*n = c->left;
	c->p += *n;
	c->left -= *n;
	return p;
}

/* sendmsg() that never blocks: false when the socket is full. */
static bool send_part(int sock, const void *a, size_t alen, const void *b,
		      size_t blen, const int *fds, unsigned int nfds)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)a, .iov_len = alen },
		{ .iov_base = (void *)b, .iov_len = blen },
	};
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = blen ? 2 : 1 };

	if (!alen && !blen)
		return true;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0;
}

/* Send one message record; false when nothing more can be sent. */
static bool send_msg(int sock, uint8_t ctl, struct cursor *c)
{
	struct vhost_user_hdr hdr = { 0 };
	int fds[3];
	unsigned int nfds = CTL_NFDS(ctl);
	const uint8_t *payload;
	size_t len;
	bool ok;

	if ((ctl & CTL_KIND) == CTL_RAW) {
		size_t n = sizeof(hdr);
		const uint8_t *p = take(c, &n);

		memcpy(&hdr, p, n);
		len = next16(c);
		payload = take(c, &len);
	} else {
		hdr.request = next8(c);
		len = next16(c);
		payload = take(c, &len);
		hdr.flags = VHOST_USER_VERSION;
		if ((ctl & CTL_KIND) == CTL_MSG_ACK)
			hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
		hdr.size = (uint32_t)len;
	}
	for (unsigned int i = 0; i < nfds; i++) {
		if (ctl & CTL_EVENTFD)
			fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		else
			fds[i] = dup(ctl & CTL_SHORT_MEM ? short_memfd : memfd);
		if (fds[i] < 0)
			abort();
	}
	if (ctl & CTL_SPLIT)
		ok = send_part(sock, &hdr, sizeof(hdr), NULL, 0, fds, nfds) &&
		     send_part(sock, payload, len, NULL, 0, NULL, 0);
	else
		ok = send_part(sock, &hdr, sizeof(hdr), payload, len, fds,
			       nfds);
	/* the kernel holds its own references until they are received */
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	struct vu_dev_info info;
	uint8_t shape;
	int sv[2], rc, nmsgs = 0;

	if (fds_baseline < 0)
		fds_baseline = count_fds();
	memset(guest, 0, MEM_SIZE);
	memset(&fk, 0, sizeof(fk));

	shape = next8(&c);
	info = (struct vu_dev_info){
		.device_features = shape & 0x10 ? 1ULL << 3 : 0,
		.num_queues = 1u + (shape & 3u),
		.config_size = shape & 4 ? 0 : 40,
	};
	fk.refuse_odd = shape & 8;
	rc = vu_dev_new(&info, &fake_ops, &fk, &fk.dev);
	FUZZ_CHECK(rc == 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();

	while (c.left && nmsgs < MAX_MSGS) {
		uint8_t ctl = next8(&c);

		if ((ctl & CTL_KIND) == CTL_POKE) {
			size_t off = (size_t)next16(&c) * 4;
			size_t n = next8(&c);
			const uint8_t *p = take(&c, &n);

			if (off + n <= MEM_SIZE)
				memcpy(guest + off, p, n);
			continue;
		}
		nmsgs++;
		if (!send_msg(sv[0], ctl, &c))
			break;
	}
	shutdown(sv[0], SHUT_WR);

	rc = vu_dev_serve(fk.dev, sv[1]);
	/* what the contract allows */
	FUZZ_CHECK(rc == 0 || rc == -ENOTCONN || rc == -EPROTO);
	for (unsigned int i = 0; i < MAX_QUEUES; i++)
		FUZZ_CHECK(!fk.running[i]);
	FUZZ_CHECK(fk.starts == fk.stops);

	close(sv[0]);
	close(sv[1]);
	vu_dev_free(fk.dev);
	fk.dev = NULL;

	if (++iterations % FD_CHECK_EVERY == 0 || getenv("VFSD_FUZZ_FDS")) {
		int now = count_fds();

		if (now != fds_baseline) {
			fprintf(stderr, "fd leak: %d open, %d before\n", now,
				fds_baseline);
			fuzz_list_fds();
			FUZZ_CHECK(now == fds_baseline);
		}
	}
	return 0;
}
