// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The virtio-fs device over vhost-user.
 *
 * Flow: src/vhost/ runs the vhost-user conversation on the calling thread
 * and hands each started queue to queue_start(). A thread per queue waits
 * on the queue's kick eventfd, pops descriptor chains (src/virtq/) and
 * turns each into a struct fuse_chan_req whose @in iovecs are the chain's
 * device-readable buffers and whose @out iovecs are its device-writable
 * ones, both pointing straight into guest memory: the FUSE server copies
 * headers out once, READ data goes from the host file into the guest's
 * buffers and WRITE data from the guest's buffers to the host file. The
 * server's ->complete() pushes the chain to the used ring with the reply
 * length and signals the guest when the ring asks for it.
 *
 * Requests that may block or take long (SETLKW, fsync, syncfs, large
 * READ/WRITE, fallocate, copy_file_range) are handed to a pool of worker
 * threads that grows on demand, so that they never stall the queue
 * behind them: a SETLKW waiting for a lock whose holder's unlock comes on
 * the same queue would otherwise deadlock. Everything else is served
 * inline on the queue thread, which is cheapest for small metadata
 * requests (see docs/ARCHITECTURE.md). The pool has a cap; once every
 * worker is busy and the cap is reached, only SETLKWs wait in line for a
 * worker: anything else is served inline rather than queued behind lock
 * waits that may never end (docs/LIMITS.md).
 *
 * Adaptive polling: once a queue thread has emptied its ring it keeps
 * reading the avail index for a window of time before it goes to sleep on
 * the kick eventfd, with the guest's kicks still suppressed, so that a
 * request that follows soon is seen without a kick and a wake-up. The
 * window tunes itself per queue from how long the queue actually waited
 * for its next request (poll_adjust(), the rule QEMU's event loop uses):
 * it grows while requests come within the largest window, and halves
 * down to nothing when they do not, so an idle queue sleeps at once and
 * costs no CPU.
 *
 * A corrupt ring breaks the device: the fault is logged, the queue's
 * error eventfd signalled, the vhost-user connection shut down, and
 * virtio_fs_serve() returns -EPROTO.
 */
#include <errno.h>
#include <linux/virtio_fs.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../fuse/fuse_server.h"
#include "../log/log.h"
#include "../metrics/metrics.h"
#include "../util/bench.h"
#include "../util/iov.h"
#include "../util/thread.h"
#include "../vhost/vhost.h"
#include "../virtq/virtq.h"
#include "virtio_fs.h"

#define VFS_MAX_WRITE (1u << 20)
#define VFS_DEFAULT_WORKERS 64u
/* Extra iovecs for buffers that cross guest memory regions. */
#define VFS_IOV_SLACK 64u
/* READ/WRITE at least this large go to a worker when the queue has other
 * work that could wait behind them; on an idle queue they are served
 * inline. The environment variable VFSD_BENCH_OFFLOAD_IO_BYTES replaces
 * this with a fixed policy for benchmarks that compare policies: READ/WRITE
 * of at least that many bytes always go to a worker (0: every one; a huge
 * value: none). */
#define VFS_OFFLOAD_IO_BYTES (256u << 10)
/* The polling window: never longer than VFS_POLL_MAX_NS, started at
 * VFS_POLL_START_NS when it grows from nothing. A wait longer than the
 * largest window is a queue gone quiet. The environment variable
 * VFSD_BENCH_POLL_MAX_NS replaces the maximum for benchmarks (0: never
 * poll). Measured in bench/RESULTS.md (2026-12-06): 2-4x the ops/s of
 * both peers at depth 1, 64 us and 200 us alike. */
#define VFS_POLL_MAX_NS 64000u
#define VFS_POLL_START_NS 4000u
#define VFS_POLL_YIELD_EVERY 16u
/* Inline replies signalled together at most (VFSD_BENCH_NOTIFY_BATCH
 * replaces it for benchmarks; 1: a signal per reply). */
#define VFS_NOTIFY_BATCH 16u

struct vfs_dev;

struct vfs_queue {
	struct vfs_dev *dev;
	unsigned int idx;
	struct virtq *vq; /* the device's between queue_start and _stop */
	int kick_fd; /* the backend's; -1: the frontend polls */
	int stop_fd; /* eventfd: end the queue thread */
	pthread_t thread;
	bool running; /* serving thread only */
	struct iovec *iov; /* for requests served inline */
	unsigned int iov_max;
	pthread_mutex_t lock; /* serialises every virtq_* call on ->vq */
	pthread_cond_t drained;
	unsigned int pending; /* offloaded, not pushed; protected by ->lock */
	uint32_t poll_ns; /* the polling window; queue thread only */
	/* replies pushed inline, not signalled yet; queue thread only
	 * (written under ->lock by vfs_complete on that thread) */
	unsigned int unsignalled;
	/* Large WRITEs of this queue go to one worker at a time, in order:
	 * several writers of one file only queue up on its inode lock. The
	 * ones waiting for it, and whether it runs; protected by ->lock. */
	struct vfs_req *writes_head, *writes_tail;
	bool writer_busy;
};

/* One request. Inline ones live on the queue thread's stack and use the
 * queue's iovecs; offloaded ones own a copy of theirs. */
struct vfs_req {
	struct vfs_queue *q;
	struct virtq_elem elem;
	struct fuse_chan_req creq;
	bool offloaded;
	bool serial; /* a large WRITE: the queue's writes run one by one */
	struct vfs_req *next; /* worker job list, or the queue's writes */
	struct iovec iov[];
};

struct vfs_dev {
	struct fuse_session *se;
	struct vu_dev *vu;
	struct virtio_fs_config config;
	unsigned int nqueues;
	struct vfs_queue *queues;
	atomic_bool broken;

	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond; /* jobs arrived, or stop */
	pthread_cond_t pool_done; /* a worker ended */
	struct vfs_req *jobs_head; /* protected by ->pool_lock */
	struct vfs_req *jobs_tail; /* protected by ->pool_lock */
	unsigned int workers; /* protected by ->pool_lock */
	unsigned int free_workers; /* not running a job; ->pool_lock */
	unsigned int njobs; /* queued; protected by ->pool_lock */
	unsigned int max_workers;
	bool pool_stop; /* protected by ->pool_lock */
	uint32_t offload_io_bytes; /* immutable */
	bool offload_always; /* immutable: large I/O even on an idle queue */
	uint32_t poll_max_ns; /* immutable: the largest polling window */
	unsigned int notify_batch; /* immutable: inline replies per signal */
	bool split_reads; /* immutable: large idle READs in two halves */
};

/* --- replies --- */

/*
 * A reply served on the queue thread is pushed at once but signalled with
 * the others of its batch (flush_notify(): when the ring is empty, or
 * every notify_batch replies), so a guest that queued many requests takes
 * one interrupt for them. Workers signal their own replies.
 */
static void vfs_complete(void *tdata, struct fuse_chan_req *creq, size_t len)
{
	struct vfs_req *r = creq->priv;
	struct vfs_queue *q = r->q;
	bool notify = false;

	pthread_mutex_lock(&q->lock);
	virtq_push(q->vq, &r->elem, (uint32_t)len);
	if (r->offloaded) {
		notify = virtq_need_notify(q->vq);
		if (--q->pending == 0)
			pthread_cond_broadcast(&q->drained);
	} else {
		q->unsignalled++;
	}
	pthread_mutex_unlock(&q->lock);
	if (notify)
		vu_queue_notify(q->dev->vu, q->idx);
}

/* Signal the replies pushed on the queue thread since the last time. */
static void flush_notify(struct vfs_queue *q)
{
	bool notify;

	if (!q->unsignalled)
		return;
	pthread_mutex_lock(&q->lock);
	q->unsignalled = 0;
	notify = virtq_need_notify(q->vq);
	pthread_mutex_unlock(&q->lock);
	if (notify)
		vu_queue_notify(q->dev->vu, q->idx);
}

/* virtio-fs has no notification queue in the Linux driver. */
static const struct fuse_transport_ops vfs_tops = {
	.complete = vfs_complete,
	.notify = NULL,
};

static void process(struct vfs_dev *dev, struct vfs_req *r, bool split_ok)
{
	r->creq = (struct fuse_chan_req){
		.in = r->elem.out_iov,
		.in_cnt = (int)r->elem.out_num,
		.out = r->elem.in_iov,
		.out_cnt = (int)r->elem.in_num,
		.priv = r,
		.split_ok = split_ok,
	};
	fuse_session_process(dev->se, &r->creq);
}

/* --- the worker pool for blocking requests --- */

/* Serve an offloaded request; for a large WRITE, then the queue's other
 * large WRITEs that came meanwhile, in order. */
static void run_job(struct vfs_dev *dev, struct vfs_req *r)
{
	struct vfs_queue *q = r->q;
	bool serial = r->serial;

	process(dev, r, false);
	free(r);
	while (serial) {
		pthread_mutex_lock(&q->lock);
		r = q->writes_head;
		if (r) {
			q->writes_head = r->next;
			if (!q->writes_head)
				q->writes_tail = NULL;
		} else {
			q->writer_busy = false;
		}
		pthread_mutex_unlock(&q->lock);
		if (!r)
			break;
		process(dev, r, false);
		free(r);
	}
}

static void *worker_main(void *arg)
{
	struct vfs_dev *dev = arg;

	pthread_mutex_lock(&dev->pool_lock);
	for (;;) {
		struct vfs_req *r;

		while (!dev->jobs_head && !dev->pool_stop)
			pthread_cond_wait(&dev->pool_cond, &dev->pool_lock);
		r = dev->jobs_head;
		if (!r)
			break; /* stopping and nothing left */
		dev->jobs_head = r->next;
		if (!dev->jobs_head)
			dev->jobs_tail = NULL;
		dev->njobs--;
		dev->free_workers--;
		pthread_mutex_unlock(&dev->pool_lock);
		run_job(dev, r);
		pthread_mutex_lock(&dev->pool_lock);
		dev->free_workers++;
	}
	dev->free_workers--;
	dev->workers--;
	pthread_cond_broadcast(&dev->pool_done);
	pthread_mutex_unlock(&dev->pool_lock);
	return NULL;
}

/* A worker: every signal blocked but the interrupt signal. */
static int spawn_worker_locked(struct vfs_dev *dev)
{
	int ret = thread_start_serving(NULL, worker_main, dev);

	if (!ret) {
		dev->workers++;
		dev->free_workers++;
	}
	return ret;
}

/*
 * Hand @r to a worker: one that is free for it, or a new one while the
 * pool is below its cap. When the pool is full and busy, only a request
 * that may wait for a worker (@may_wait: a lock wait, which must never
 * hold a queue thread) is queued; anything else returns false and the
 * caller serves it inline, because the busy workers may be lock waits
 * that never end (a guest can fill the pool with them).
 */
static bool offload(struct vfs_dev *dev, struct vfs_req *r, bool may_wait)
{
	bool queued = false;

	pthread_mutex_lock(&dev->pool_lock);
	if (dev->free_workers <= dev->njobs && dev->workers < dev->max_workers)
		spawn_worker_locked(dev);
	if (dev->workers > 0 && (may_wait || dev->free_workers > dev->njobs)) {
		r->next = NULL;
		if (dev->jobs_tail)
			dev->jobs_tail->next = r;
		else
			dev->jobs_head = r;
		dev->jobs_tail = r;
		dev->njobs++;
		pthread_cond_signal(&dev->pool_cond);
		queued = true;
	}
	pthread_mutex_unlock(&dev->pool_lock);
	return queued;
}

static void pool_stop(struct vfs_dev *dev)
{
	pthread_mutex_lock(&dev->pool_lock);
	dev->pool_stop = true;
	pthread_cond_broadcast(&dev->pool_cond);
	while (dev->workers > 0)
		pthread_cond_wait(&dev->pool_done, &dev->pool_lock);
	pthread_mutex_unlock(&dev->pool_lock);
}

/* --- the queue threads --- */

enum vfs_place {
	VFS_INLINE, /* short: serve on the queue thread */
	VFS_LARGE_IO, /* long only in bytes: offload when others wait */
	VFS_LARGE_WRITE, /* the same, and one at a time per queue */
	VFS_BLOCKING, /* may block for long: always offload */
	VFS_LOCK_WAIT, /* SETLKW, may wait forever: may queue for a worker */
};

/*
 * Where a request should run. Only a guess from the first bytes (the
 * guest may change them before the server copies the header): it picks a
 * thread, nothing more.
 */
static enum vfs_place classify(const struct vfs_dev *dev,
			       const struct virtq_elem *elem)
{
	struct {
		struct fuse_in_header h;
		struct fuse_read_in r; /* READ: size at the same place */
	} peek;
	size_t got;

	got = iov_to_buf(elem->out_iov, (int)elem->out_num, 0, &peek,
			 sizeof(peek));
	if (got < sizeof(peek.h))
		return VFS_INLINE;
	switch (peek.h.opcode) {
	case FUSE_SETLKW:
		return VFS_LOCK_WAIT;
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
	case FUSE_SYNCFS:
	case FUSE_FALLOCATE:
	case FUSE_COPY_FILE_RANGE:
		return VFS_BLOCKING;
	case FUSE_WRITE:
		return peek.h.len >= dev->offload_io_bytes ? VFS_LARGE_WRITE :
							     VFS_INLINE;
	case FUSE_READ:
		return got == sizeof(peek) &&
				       peek.r.size >= dev->offload_io_bytes ?
			       VFS_LARGE_IO :
			       VFS_INLINE;
	default:
		return VFS_INLINE;
	}
}

/*
 * Whether anything could wait behind a long request on this queue: more
 * requests in the ring, or offloaded ones still running (whose replies
 * would then be pushed while we hold the thread). With nothing waiting, a
 * hand-off to a worker only adds two wake-ups to the request's latency.
 */
static bool queue_busy(struct vfs_queue *q)
{
	bool busy;

	pthread_mutex_lock(&q->lock);
	busy = q->pending > 0 || virtq_avail_pending(q->vq);
	pthread_mutex_unlock(&q->lock);
	return busy;
}

static void dispatch(struct vfs_queue *q, const struct virtq_elem *elem)
{
	struct vfs_dev *dev = q->dev;
	unsigned int n = elem->out_num + elem->in_num;
	struct vfs_req *r;

	enum vfs_place place = classify(dev, elem);
	bool large = place == VFS_LARGE_IO || place == VFS_LARGE_WRITE;

	if (place == VFS_LOCK_WAIT || place == VFS_BLOCKING ||
	    (large && (dev->offload_always || queue_busy(q)))) {
		r = malloc(sizeof(*r) + n * sizeof(struct iovec));
		if (r) {
			bool queued = false;

			memcpy(r->iov, elem->out_iov, n * sizeof(struct iovec));
			r->q = q;
			r->elem = *elem;
			r->elem.out_iov = r->iov;
			r->elem.in_iov = r->iov + elem->out_num;
			r->offloaded = true;
			r->serial = place == VFS_LARGE_WRITE;
			r->next = NULL;
			pthread_mutex_lock(&q->lock);
			q->pending++;
			if (r->serial && q->writer_busy) {
				/* The queue's writer takes it after the
				 * ones before it. */
				if (q->writes_tail)
					q->writes_tail->next = r;
				else
					q->writes_head = r;
				q->writes_tail = r;
				queued = true;
			} else if (r->serial) {
				q->writer_busy = true;
			}
			pthread_mutex_unlock(&q->lock);
			if (queued || offload(dev, r, place == VFS_LOCK_WAIT))
				return;
			pthread_mutex_lock(&q->lock);
			q->pending--;
			if (r->serial)
				q->writer_busy = false;
			pthread_mutex_unlock(&q->lock);
			free(r);
		}
		/* No memory, or no worker free for it: serve it here. */
	}
	{
		struct vfs_req inl = {
			.q = q,
			.elem = *elem,
			.offloaded = false,
		};

		/* A large READ on an otherwise idle queue: the pool's
		 * helpers may copy half of it meanwhile. */
		process(dev, &inl, place == VFS_LARGE_IO && dev->split_reads);
	}
}

static uint32_t offload_threshold(bool *fixed)
{
	unsigned long long v;

	*fixed =
		bench_setting("VFSD_BENCH_OFFLOAD_IO_BYTES", 0, UINT32_MAX, &v);
	if (!*fixed)
		return VFS_OFFLOAD_IO_BYTES;
	log_info(
		"benchmark setting: READ/WRITE of %llu bytes and more always go to workers",
		v);
	return (uint32_t)v;
}

static uint32_t poll_max(void)
{
	unsigned long long v;

	if (!bench_setting("VFSD_BENCH_POLL_MAX_NS", 0, 1000000000ull, &v))
		return VFS_POLL_MAX_NS;
	log_info("benchmark setting: queues poll for at most %llu ns", v);
	return (uint32_t)v;
}

static unsigned int notify_batch(void)
{
	unsigned long long v;

	if (!bench_setting("VFSD_BENCH_NOTIFY_BATCH", 1, 65536, &v))
		return VFS_NOTIFY_BATCH;
	log_info("benchmark setting: a signal per %llu inline replies", v);
	return (unsigned int)v;
}

/* VFSD_BENCH_SPLIT_READS=0 turns the splitting of large READs off, for
 * benchmarks that compare with and without. */
static bool split_reads(void)
{
	unsigned long long v;

	if (!bench_setting("VFSD_BENCH_SPLIT_READS", 0, 1, &v))
		return true;
	if (!v)
		log_info("benchmark setting: large READs are not split");
	return v;
}

static void queue_fault(struct vfs_queue *q)
{
	struct vfs_dev *dev = q->dev;

	log_error("virtio-fs: queue %u: corrupt ring: %s; stopping the device",
		  q->idx, virtq_fault(q->vq));
	atomic_store(&dev->broken, true);
	vu_queue_error(dev->vu, q->idx);
	vu_dev_shutdown(dev->vu);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool ring_pending(struct vfs_queue *q)
{
	bool more;

	pthread_mutex_lock(&q->lock);
	more = virtq_avail_pending(q->vq);
	pthread_mutex_unlock(&q->lock);
	return more;
}

/*
 * Read the avail index for up to the queue's window after @since (when
 * the ring went empty). True when a request came; *waited then says
 * how long after @since.
 */
static bool poll_ring(struct vfs_queue *q, uint64_t since, uint64_t *waited)
{
	uint64_t t;
	unsigned int spins = 0;

	if (!q->poll_ns)
		return false;
	do {
		if (ring_pending(q)) {
			*waited = now_ns() - since;
			return true;
		}
		/* Give the CPU up now and then: on a host with fewer CPUs
		 * than busy threads, the guest (or frontend) that would
		 * fill the ring may be waiting for this very CPU. */
		if (++spins % VFS_POLL_YIELD_EVERY == 0)
			sched_yield();
#if defined(__x86_64__) || defined(__i386__)
		else
			__builtin_ia32_pause();
#endif
		t = now_ns();
	} while (t - since < q->poll_ns);
	return false;
}

/*
 * The queue waited @waited ns for its next request after its ring went
 * empty. Within the window: polling saw it, nothing to change. Longer
 * than the largest window: the queue is going quiet, halve the window
 * (below the starting size: no polling at all). In between: polling a
 * little longer would have seen it without a wake-up, so double it.
 */
static void poll_adjust(struct vfs_queue *q, uint64_t waited)
{
	uint32_t max = q->dev->poll_max_ns;

	if (waited <= q->poll_ns)
		return;
	if (waited > max) {
		q->poll_ns /= 2;
		if (q->poll_ns < VFS_POLL_START_NS)
			q->poll_ns = 0;
	} else {
		q->poll_ns = q->poll_ns ? q->poll_ns * 2 : VFS_POLL_START_NS;
		if (q->poll_ns > max)
			q->poll_ns = max;
	}
}

/*
 * Pop and serve until the ring is empty and stays so for the polling
 * window. Returns -EPROTO when broken, else 0 with *idle_since set to
 * when the ring went empty (for poll_adjust() after the sleep).
 */
static int drain(struct vfs_queue *q, uint64_t *idle_since)
{
	uint64_t waited;

	pthread_mutex_lock(&q->lock);
	virtq_set_notification(q->vq, false);
	pthread_mutex_unlock(&q->lock);
	for (;;) {
		bool more;

		for (;;) {
			struct virtq_elem elem;
			enum virtq_pop_result res;

			pthread_mutex_lock(&q->lock);
			res = virtq_pop(q->vq, &elem, q->iov, q->iov_max);
			pthread_mutex_unlock(&q->lock);
			if (res == VIRTQ_EMPTY)
				break;
			if (res == VIRTQ_BROKEN) {
				queue_fault(q);
				return -EPROTO;
			}
			if (metrics_enabled())
				metrics_count_queue(q->idx);
			dispatch(q, &elem);
			if (q->unsignalled >= q->dev->notify_batch)
				flush_notify(q);
		}
		flush_notify(q);
		/* Kicks stay off while we poll: the guest need not kick
		 * a queue that is watching its ring. */
		*idle_since = now_ns();
		if (poll_ring(q, *idle_since, &waited)) {
			poll_adjust(q, waited);
			continue;
		}
		pthread_mutex_lock(&q->lock);
		virtq_set_notification(q->vq, true);
		more = virtq_avail_pending(q->vq);
		if (more)
			virtq_set_notification(q->vq, false);
		pthread_mutex_unlock(&q->lock);
		if (!more)
			return 0;
		poll_adjust(q, now_ns() - *idle_since);
	}
}

static void *queue_main(void *arg)
{
	struct vfs_queue *q = arg;
	uint64_t idle_since = 0;
	bool waited = false;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = q->stop_fd, .events = POLLIN },
			{ .fd = q->kick_fd, .events = POLLIN },
		};
		nfds_t nfds = q->kick_fd >= 0 ? 2 : 1;
		uint64_t cnt;

		/* Without a kick fd the frontend expects us to poll. */
		if (poll(pfd, nfds, q->kick_fd >= 0 ? -1 : 1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("virtio-fs: queue %u: poll: %s", q->idx,
				  strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		if (nfds == 2 && (pfd[1].revents & POLLIN) &&
		    read(q->kick_fd, &cnt, sizeof(cnt)) < 0 &&
		    errno != EAGAIN && errno != EINTR) {
			log_error("virtio-fs: queue %u: kick fd: %s", q->idx,
				  strerror(errno));
			break;
		}
		/* How long the sleep lasted decides the next window. */
		if (waited && ring_pending(q))
			poll_adjust(q, now_ns() - idle_since);
		if (drain(q, &idle_since))
			break;
		waited = true;
	}
	return NULL;
}

static int vfs_queue_start(void *opaque, unsigned int idx, struct virtq *vq,
			   int kick_fd)
{
	struct vfs_dev *dev = opaque;
	struct vfs_queue *q;
	int ret;

	if (idx >= dev->nqueues)
		return -EINVAL;
	q = &dev->queues[idx];
	q->vq = vq;
	q->kick_fd = kick_fd;
	q->iov_max = vq->num + VFS_IOV_SLACK;
	q->iov = calloc(q->iov_max, sizeof(*q->iov));
	if (!q->iov)
		return -ENOMEM;
	q->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->stop_fd < 0) {
		ret = -errno;
		goto out_free_iov;
	}
	ret = thread_start_serving(&q->thread, queue_main, q);
	if (ret)
		goto out_close_stop;
	q->running = true;
	log_debug("virtio-fs: queue %u started (%u entries)", idx, vq->num);
	return 0;

out_close_stop:
	close(q->stop_fd);
	q->stop_fd = -1;
out_free_iov:
	free(q->iov);
	q->iov = NULL;
	return ret;
}

static void vfs_queue_stop(void *opaque, unsigned int idx)
{
	struct vfs_dev *dev = opaque;
	struct vfs_queue *q;
	uint64_t one = 1;

	if (idx >= dev->nqueues || !dev->queues[idx].running)
		return;
	q = &dev->queues[idx];
	if (write(q->stop_fd, &one, sizeof(one)) < 0)
		log_error("virtio-fs: queue %u: stopping: %s", idx,
			  strerror(errno));
	pthread_join(q->thread, NULL);
	/* Offloaded requests must be pushed before the ring goes back: a
	 * blocked one (SETLKW) is interrupted. */
	pthread_mutex_lock(&q->lock);
	while (q->pending > 0) {
		struct timespec until;

		pthread_mutex_unlock(&q->lock);
		fuse_session_interrupt_all(dev->se);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 50 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&q->lock);
		if (q->pending > 0)
			pthread_cond_timedwait(&q->drained, &q->lock, &until);
	}
	pthread_mutex_unlock(&q->lock);
	close(q->stop_fd);
	q->stop_fd = -1;
	free(q->iov);
	q->iov = NULL;
	q->vq = NULL;
	q->running = false;
	log_debug("virtio-fs: queue %u stopped", idx);
}

static int vfs_get_config(void *opaque, uint32_t offset, void *buf,
			  uint32_t len)
{
	struct vfs_dev *dev = opaque;
	size_t end;

	if (!size_add(offset, len, &end) || end > sizeof(dev->config))
		return -EINVAL;
	memcpy(buf, (const char *)&dev->config + offset, len);
	return 0;
}

static void vfs_broken(void *opaque, const char *why)
{
	struct vfs_dev *dev = opaque;

	atomic_store(&dev->broken, true);
	log_error("virtio-fs: device broken: %s", why);
}

/* --- live migration: the device state (src/fuse/state.c) --- */

/* The transport's record: how many request queues the guest may use. */
static int vfs_state_save(void *opaque, void **buf, size_t *len)
{
	struct vfs_dev *dev = opaque;
	uint32_t n = dev->config.num_request_queues;
	uint8_t t[4] = { n, n >> 8, n >> 16, n >> 24 };

	return fuse_session_state_save(dev->se, t, sizeof(t), buf, len);
}

static int vfs_state_check(void *opaque, const void *blob, size_t len)
{
	struct vfs_dev *dev = opaque;
	const uint8_t *t = blob;
	uint32_t n;

	if (len < 4) {
		log_error(
			"migration: device state refused: its transport record is malformed");
		return -EPROTO;
	}
	n = t[0] | t[1] << 8 | t[2] << 16 | (uint32_t)t[3] << 24;
	if (n > dev->config.num_request_queues) {
		log_error(
			"migration: device state refused: the source served %u request queues, this daemon %u (--queues)",
			n, dev->config.num_request_queues);
		return -EPROTO;
	}
	return 0;
}

static int vfs_state_load(void *opaque, const void *buf, size_t len)
{
	struct vfs_dev *dev = opaque;

	return fuse_session_state_load(dev->se, buf, len, vfs_state_check, dev);
}

static const struct vu_device_ops vfs_vu_ops = {
	.queue_start = vfs_queue_start,
	.queue_stop = vfs_queue_stop,
	.get_config = vfs_get_config,
	.broken = vfs_broken,
	.state_save = vfs_state_save,
	.state_load = vfs_state_load,
};

int virtio_fs_serve(int conn_fd, const struct virtio_fs_opts *opts,
		    const struct fuse_fs_ops *ops, void *fs)
{
	const struct fuse_session_opts sopts = {
		.max_write = VFS_MAX_WRITE,
		.allow_reinit = true, /* a guest reboot sends INIT again */
	};
	unsigned int nreq = opts->request_queues ? opts->request_queues : 1;
	struct vu_dev_info info = { 0 };
	struct vfs_dev *dev;
	int ret;

	if (nreq >= VU_MAX_QUEUES) {
		log_error("virtio-fs: at most %u request queues",
			  VU_MAX_QUEUES - 1);
		return -EINVAL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->nqueues = 1 + nreq;
	dev->max_workers =
		opts->max_workers ? opts->max_workers : VFS_DEFAULT_WORKERS;
	/* The tag is not NUL-terminated when it fills all 36 bytes. */
	if (opts->tag)
		memcpy(dev->config.tag, opts->tag,
		       strnlen(opts->tag, sizeof(dev->config.tag)));
	dev->config.num_request_queues = nreq;
	dev->offload_io_bytes = offload_threshold(&dev->offload_always);
	dev->poll_max_ns = poll_max();
	dev->notify_batch = notify_batch();
	dev->split_reads = split_reads();
	pthread_mutex_init(&dev->pool_lock, NULL);
	pthread_cond_init(&dev->pool_cond, NULL);
	pthread_cond_init(&dev->pool_done, NULL);
	dev->queues = calloc(dev->nqueues, sizeof(*dev->queues));
	if (!dev->queues) {
		ret = -ENOMEM;
		goto out_free_dev;
	}
	for (unsigned int i = 0; i < dev->nqueues; i++) {
		struct vfs_queue *q = &dev->queues[i];

		q->dev = dev;
		q->idx = i;
		q->kick_fd = -1;
		q->stop_fd = -1;
		pthread_mutex_init(&q->lock, NULL);
		pthread_cond_init(&q->drained, NULL);
	}

	dev->se = fuse_session_new(ops, fs, &sopts, &vfs_tops, dev);
	if (!dev->se) {
		ret = -errno;
		log_error("cannot create the FUSE session: %s", strerror(-ret));
		goto out_free_queues;
	}
	info.device_features = 0;
	info.num_queues = dev->nqueues;
	info.config_size = sizeof(dev->config);
	ret = vu_dev_new(&info, &vfs_vu_ops, dev, &dev->vu);
	if (ret) {
		log_error("cannot create the vhost-user device: %s",
			  strerror(-ret));
		goto out_free_session;
	}

	ret = vu_dev_serve(dev->vu, conn_fd);
	if (atomic_load(&dev->broken) || ret == -ECANCELED)
		ret = -EPROTO;
	else if (ret == 0)
		log_info("virtio-fs: the frontend disconnected");

	vu_dev_free(dev->vu);
out_free_session:
	pool_stop(dev);
	fuse_session_free(dev->se);
out_free_queues:
	for (unsigned int i = 0; i < dev->nqueues; i++) {
		pthread_mutex_destroy(&dev->queues[i].lock);
		pthread_cond_destroy(&dev->queues[i].drained);
	}
	free(dev->queues);
out_free_dev:
	pthread_cond_destroy(&dev->pool_done);
	pthread_cond_destroy(&dev->pool_cond);
	pthread_mutex_destroy(&dev->pool_lock);
	free(dev);
	return ret;
}
