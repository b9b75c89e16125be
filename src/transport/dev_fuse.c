// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The /dev/fuse transport: the share mounted on the host.
 *
 * Flow: dev_fuse_serve() opens /dev/fuse, creates the FUSE session and
 * mounts the share with the device fd. Worker threads each read() one
 * request from the device into their own buffer and hand it to
 * fuse_session_process(); the server calls ->complete(), which write()s
 * the reply from the worker's reply buffer back to the device. When every
 * worker is busy (a blocking SETLKW, a slow fsync), the worker that just
 * took a request starts another one, up to a cap, so one slow request
 * never stalls the others.
 *
 * Order: workers take turns to read (->read_lock), and a RELEASE or
 * RELEASEDIR is processed before the next request is read. The client
 * sends RELEASE without waiting when a file is closed; handled in
 * parallel with the requests that follow, a flock() on another descriptor
 * right after close() could still see the released file's lock.
 *
 * Shutdown: the kernel aborts the connection when the mount goes away
 * (an outside "umount", or our own unmount on SIGINT/SIGTERM/SIGHUP);
 * every read() then fails with ENODEV and the workers end. A busy mount
 * is detached and keeps serving its open files for a grace period; after
 * it, or on a second signal, vfsd aborts: the workers are woken with
 * SIGUSR2 and end, and closing the device ends the connection. The main
 * thread sleeps in poll() on a signalfd and on an eventfd the workers poke
 * as they end, joins them and closes the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../fuse/fuse_compat.h"
#include "../fuse/fuse_server.h"
#include "../log/log.h"
#include "../metrics/metrics.h"
#include "dev_fuse.h"

#define DEV_FUSE_PATH "/dev/fuse"
#define DEV_FUSE_MAX_WRITE (1u << 20)
#define DEV_FUSE_START_THREADS 4u
#define DEV_FUSE_AUTO_MAX_THREADS 64u
#define DEV_FUSE_HARD_MAX_THREADS 1024u
#define FUSECTL_DIR "/sys/fs/fuse/connections"
/* How long a detached (busy) mount keeps being served after a signal. */
#define DEV_FUSE_GRACE_MS 3000
/* How often stuck workers are woken while aborting. */
#define DEV_FUSE_KICK_MS 10

struct dev_fuse;

/* One request thread with its request and reply buffers. */
struct worker {
	pthread_t thread;
	struct dev_fuse *df;
	char *inbuf; /* ->bufsize bytes */
	char *outbuf; /* ->bufsize bytes */
};

struct dev_fuse {
	int fd; /* /dev/fuse */
	int done_fd; /* eventfd: a worker ended */
	const char *mnt;
	struct fuse_session *se;
	size_t bufsize;
	unsigned int max_threads;
	unsigned int conn_id; /* minor of the mount's st_dev; 0: unknown */

	pthread_mutex_t read_lock; /* one reader at a time, see above */
	atomic_bool aborting; /* workers stop at their next wake-up */

	pthread_mutex_t lock;
	struct worker *workers; /* [max_threads]; protected by ->lock */
	unsigned int nthreads; /* started; protected by ->lock */
	unsigned int idle; /* waiting in read(); protected by ->lock */
	unsigned int ended; /* returned; protected by ->lock */
	bool stopping; /* no new workers; protected by ->lock */
	int error; /* first fatal device error; protected by ->lock */
};

static void dev_fuse_complete(void *tdata, struct fuse_chan_req *req,
			      size_t len)
{
	struct dev_fuse *df = tdata;
	ssize_t n;

	if (len == 0)
		return;
	do {
		n = write(df->fd, req->out[0].iov_base, len);
	} while (n < 0 && errno == EINTR);
	/* ENOENT: the request was interrupted and is gone; nothing to do. */
	if (n < 0 && errno != ENOENT && errno != ENODEV)
		log_ratelimited(LOG_LEVEL_WARN, "writing a reply to %s: %s",
				DEV_FUSE_PATH, strerror(errno));
}

static int dev_fuse_notify(void *tdata, const struct iovec *iov, int iovcnt)
{
	struct dev_fuse *df = tdata;
	ssize_t n;

	do {
		n = writev(df->fd, iov, iovcnt);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

static int dev_fuse_backing_open(void *tdata, int fd)
{
	struct dev_fuse *df = tdata;
	struct fuse_backing_map map = { .fd = fd };
	int id = ioctl(df->fd, FUSE_DEV_IOC_BACKING_OPEN, &map);

	return id < 0 ? -errno : id;
}

static int dev_fuse_backing_close(void *tdata, int id)
{
	struct dev_fuse *df = tdata;
	uint32_t v = (uint32_t)id;

	return ioctl(df->fd, FUSE_DEV_IOC_BACKING_CLOSE, &v) < 0 ? -errno : 0;
}

static const struct fuse_transport_ops dev_fuse_tops = {
	.complete = dev_fuse_complete,
	.notify = dev_fuse_notify,
	.backing_open = dev_fuse_backing_open,
	.backing_close = dev_fuse_backing_close,
};

/* VFSD_BENCH_NO_PASSTHROUGH=1: serve READ and WRITE ourselves even where
 * the kernel offers FUSE passthrough (benchmarks compare both). */
static const struct fuse_transport_ops dev_fuse_tops_plain = {
	.complete = dev_fuse_complete,
	.notify = dev_fuse_notify,
};

static void *worker_main(void *arg);

/*
 * Start one more worker. Needs ->lock. The buffers are allocated here, so
 * a worker that could not get them is simply never started. Returns 0 or
 * -errno (-EAGAIN: at the cap, or stopping).
 */
static int spawn_worker_locked(struct dev_fuse *df)
{
	struct worker *w;
	int ret;

	if (df->stopping || df->nthreads >= df->max_threads)
		return -EAGAIN;
	w = &df->workers[df->nthreads];
	w->df = df;
	w->inbuf = malloc(df->bufsize);
	w->outbuf = malloc(df->bufsize);
	if (!w->inbuf || !w->outbuf) {
		ret = -ENOMEM;
		goto out_free_bufs;
	}
	ret = -pthread_create(&w->thread, NULL, worker_main, w);
	if (ret)
		goto out_free_bufs;
	df->nthreads++;
	return 0;

out_free_bufs:
	free(w->inbuf);
	free(w->outbuf);
	w->inbuf = w->outbuf = NULL;
	return ret;
}

/* Mark this worker ended and wake the main thread. */
static void worker_end(struct dev_fuse *df, int error)
{
	uint64_t one = 1;

	pthread_mutex_lock(&df->lock);
	df->stopping = true;
	if (error && !df->error)
		df->error = error;
	df->ended++;
	pthread_mutex_unlock(&df->lock);
	if (write(df->done_fd, &one, sizeof(one)) < 0)
		log_error("waking the main thread: %s", strerror(errno));
}

/* RELEASE and RELEASEDIR are handled before the next request is read. */
static bool is_release(const char *buf)
{
	struct fuse_in_header h;

	memcpy(&h, buf, sizeof(h));
	return h.opcode == FUSE_RELEASE || h.opcode == FUSE_RELEASEDIR;
}

static void *worker_main(void *arg)
{
	struct worker *self = arg;
	struct dev_fuse *df = self->df;
	int error = 0;

	for (;;) {
		struct iovec in, out;
		struct fuse_chan_req req;
		int err, grow_ret;
		bool ordered;
		ssize_t n;

		pthread_mutex_lock(&df->lock);
		df->idle++;
		pthread_mutex_unlock(&df->lock);

		pthread_mutex_lock(&df->read_lock);
		if (atomic_load(&df->aborting)) {
			n = -1;
			err = ESHUTDOWN;
		} else {
			n = read(df->fd, self->inbuf, df->bufsize);
			err = n < 0 ? errno : 0;
		}
		ordered = n >= (ssize_t)sizeof(struct fuse_in_header) &&
			  is_release(self->inbuf);
		if (!ordered)
			pthread_mutex_unlock(&df->read_lock);

		pthread_mutex_lock(&df->lock);
		df->idle--;
		grow_ret = -EAGAIN;
		if (n > 0 && df->idle == 0)
			grow_ret = spawn_worker_locked(df);
		pthread_mutex_unlock(&df->lock);

		if (n < 0) {
			/* ENOENT: the request was aborted before we took it. */
			if ((err == EINTR || err == EAGAIN || err == ENOENT) &&
			    !atomic_load(&df->aborting))
				continue;
			if (err != ENODEV && err != EINTR && err != ESHUTDOWN) {
				log_error("reading %s: %s", DEV_FUSE_PATH,
					  strerror(err));
				error = -err;
			}
			break;
		}
		if (n == 0) {
			log_error("reading %s: unexpected end of file",
				  DEV_FUSE_PATH);
			error = -EIO;
			break;
		}
		if (grow_ret == 0)
			log_debug("all request threads busy: started another");
		else if (grow_ret != -EAGAIN)
			log_ratelimited(
				LOG_LEVEL_WARN,
				"cannot start another request thread: %s",
				strerror(-grow_ret));

		if (metrics_enabled())
			metrics_count_queue(METRICS_QUEUE_DEV_FUSE);
		in = (struct iovec){ .iov_base = self->inbuf,
				     .iov_len = (size_t)n };
		out = (struct iovec){ .iov_base = self->outbuf,
				      .iov_len = df->bufsize };
		req = (struct fuse_chan_req){
			.in = &in,
			.in_cnt = 1,
			.out = &out,
			.out_cnt = 1,
		};
		fuse_session_process(df->se, &req);
		if (ordered)
			pthread_mutex_unlock(&df->read_lock);
	}
	worker_end(df, error);
	return NULL;
}

/*
 * Find the FUSE connection number of our mount (the minor of its device)
 * in /proc/self/mountinfo, without touching the mount itself: a stat()
 * would be a FUSE request. Used only to abort the connection on a second
 * signal. Returns 0 when not found.
 */
static unsigned int find_conn_id(const char *mnt)
{
	char *real = realpath(mnt, NULL);
	unsigned int id = 0;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	if (!real)
		return 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		goto out_free_real;
	while (getline(&line, &cap, f) > 0) {
		unsigned int major, minor;
		char point[PATH_MAX], *w;
		const char *r, *sep;
		int pos = 0;

		/* "ID PARENT MAJ:MIN ROOT POINT OPTS ... - TYPE SRC SOPTS" */
		if (sscanf(line, "%*u %*u %u:%u %*s %n", &major, &minor,
			   &pos) != 2 ||
		    pos == 0)
			continue;
		sep = strstr(line, " - fuse.vfsd ");
		if (!sep)
			continue;
		/* Decode the octal escapes (\040) of the mount point. */
		w = point;
		for (r = line + pos;
		     *r && *r != ' ' && w < point + PATH_MAX - 1; r++) {
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' &&
			    r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
			    r[3] <= '7') {
				*w++ = (char)((r[1] - '0') << 6 |
					      (r[2] - '0') << 3 | (r[3] - '0'));
				r += 3;
			} else {
				*w++ = *r;
			}
		}
		*w = '\0';
		if (strcmp(point, real) == 0)
			id = minor; /* the last match is the topmost mount */
	}
	free(line);
	fclose(f);
out_free_real:
	free(real);
	return id;
}

/*
 * Cut the connection so that blocked users and workers end: through
 * fusectl where it is mounted; in any case the workers are told to stop
 * and woken (wait_for_workers keeps kicking them), and closing the device
 * once they have ended aborts the connection.
 */
static void abort_conn(struct dev_fuse *df)
{
	char path[64];
	int fd;

	atomic_store(&df->aborting, true);
	if (!df->conn_id)
		return;
	snprintf(path, sizeof(path), FUSECTL_DIR "/%u/abort", df->conn_id);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) < 0)
		log_warn("aborting the connection: %s", strerror(errno));
	close(fd);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wake every worker still running out of a blocking read() or request. */
static void kick_workers(struct dev_fuse *df)
{
	pthread_mutex_lock(&df->lock);
	/* Threads are joined only after all ended, so every id is valid. */
	for (unsigned int i = 0; i < df->nthreads; i++)
		pthread_kill(df->workers[i].thread, SIGUSR2);
	pthread_mutex_unlock(&df->lock);
}

/*
 * Unmount on a signal. A busy mount is detached instead: it disappears from
 * the tree at once and the kernel ends the connection (workers see ENODEV)
 * when its last user lets go.
 */
static bool unmount_share(struct dev_fuse *df)
{
	if (umount2(df->mnt, 0) == 0)
		return false;
	if (errno == EBUSY && umount2(df->mnt, MNT_DETACH) == 0) {
		log_info(
			"%s is busy: detached; serving its open files for %d s (signal again to abort now)",
			df->mnt, DEV_FUSE_GRACE_MS / 1000);
		return true;
	}
	if (errno != EINVAL && errno != ENOENT)
		log_warn("unmounting %s: %s", df->mnt, strerror(errno));
	return false;
}

/*
 * The main thread's loop: wait for the workers to end, unmounting on the
 * first signal and aborting the connection on the next. Returns 0, or
 * -errno if a worker stopped on an error.
 */
static int wait_for_workers(struct dev_fuse *df, int sig_fd)
{
	unsigned int signals = 0;
	bool unmounted = false;
	int64_t deadline = -1; /* a detached mount: when to abort, in ms */

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = df->done_fd, .events = POLLIN },
		};
		bool all_ended, aborting = atomic_load(&df->aborting);
		int error, timeout, n;

		pthread_mutex_lock(&df->lock);
		all_ended = df->ended == df->nthreads;
		error = df->error;
		pthread_mutex_unlock(&df->lock);
		if (all_ended)
			return error;
		if (error && !unmounted) {
			/* A worker failed: take the mount down, stop all. */
			unmount_share(df);
			abort_conn(df);
			unmounted = true;
		}
		if (aborting) {
			kick_workers(df);
			timeout = DEV_FUSE_KICK_MS;
		} else if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			timeout = left > 0 ? (int)left : 0;
		} else {
			timeout = -1;
		}

		n = poll(pfd, 2, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return -errno;
		}
		if (n == 0 && !aborting) {
			log_warn("%s still busy: aborting the connection",
				 df->mnt);
			abort_conn(df);
			continue;
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t cnt;

			if (read(df->done_fd, &cnt, sizeof(cnt)) < 0 &&
			    errno != EAGAIN)
				log_warn("eventfd: %s", strerror(errno));
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) != sizeof(si))
				continue;
			signals++;
			if (signals == 1) {
				log_info("%s: unmounting %s",
					 strsignal((int)si.ssi_signo), df->mnt);
				if (unmount_share(df))
					deadline = now_ms() + DEV_FUSE_GRACE_MS;
				unmounted = true;
			} else {
				log_warn("%s again: aborting the connection",
					 strsignal((int)si.ssi_signo));
				abort_conn(df);
			}
		}
	}
}

static int open_device(void)
{
	int fd = open(DEV_FUSE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int ret = -errno;

		log_error("cannot open %s: %s", DEV_FUSE_PATH, strerror(-ret));
		return ret;
	}
	return fd;
}

static int mount_share(struct dev_fuse *df, const char *fsname)
{
	char data[256];

	snprintf(
		data, sizeof(data),
		"fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other,default_permissions",
		df->fd, (unsigned int)getuid(), (unsigned int)getgid());
	if (mount(fsname, df->mnt, "fuse.vfsd", MS_NOSUID | MS_NODEV, data)) {
		int ret = -errno;

		log_error("cannot mount at %s: %s", df->mnt, strerror(-ret));
		return ret;
	}
	return 0;
}

/* The signals that end serving, blocked and read through a signalfd. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/* Start the first workers with every signal blocked except SIGUSR2, which
 * the FUSE server uses to interrupt a blocked request. */
static int start_workers(struct dev_fuse *df)
{
	unsigned int first = df->max_threads < DEV_FUSE_START_THREADS ?
				     df->max_threads :
				     DEV_FUSE_START_THREADS;
	sigset_t all, old;
	int ret = 0;

	sigfillset(&all);
	sigdelset(&all, SIGUSR2);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_lock(&df->lock);
	for (unsigned int i = 0; i < first; i++) {
		ret = spawn_worker_locked(df);
		if (ret)
			break;
	}
	if (df->nthreads > 0)
		ret = 0;
	pthread_mutex_unlock(&df->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		log_error("cannot start a request thread: %s", strerror(-ret));
	return ret;
}

/* Consume stop signals still pending (one that raced with an outside
 * unmount), so unblocking them does not kill the process on its way out. */
static void drain_signals(const sigset_t *set)
{
	const struct timespec zero = { 0 };

	while (sigtimedwait(set, NULL, &zero) > 0)
		;
}

static void join_workers(struct dev_fuse *df)
{
	/* All have ended, so ->nthreads no longer changes. */
	for (unsigned int i = 0; i < df->nthreads; i++) {
		pthread_join(df->workers[i].thread, NULL);
		free(df->workers[i].inbuf);
		free(df->workers[i].outbuf);
	}
}

int dev_fuse_serve(const struct dev_fuse_opts *opts,
		   const struct fuse_fs_ops *ops, void *fs)
{
	const struct fuse_session_opts sopts = {
		.max_write = DEV_FUSE_MAX_WRITE,
		.allow_reinit = false,
	};
	struct dev_fuse df = {
		.fd = -1,
		.done_fd = -1,
		.mnt = opts->mount_point,
	};
	sigset_t stop, old_mask;
	int sig_fd, ret;

	df.max_threads =
		opts->threads ? opts->threads : DEV_FUSE_AUTO_MAX_THREADS;
	if (df.max_threads > DEV_FUSE_HARD_MAX_THREADS)
		df.max_threads = DEV_FUSE_HARD_MAX_THREADS;
	pthread_mutex_init(&df.lock, NULL);
	pthread_mutex_init(&df.read_lock, NULL);
	df.workers = calloc(df.max_threads, sizeof(*df.workers));
	if (!df.workers) {
		log_error("out of memory");
		ret = -ENOMEM;
		goto out_destroy_lock;
	}

	/* Block the stop signals before any thread exists, so every thread
	 * inherits the block and they are only ever read from sig_fd. */
	stop_signals(&stop);
	pthread_sigmask(SIG_BLOCK, &stop, &old_mask);
	sig_fd = signalfd(-1, &stop, SFD_CLOEXEC);
	if (sig_fd < 0) {
		ret = -errno;
		log_error("signalfd: %s", strerror(-ret));
		goto out_restore_mask;
	}
	df.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (df.done_fd < 0) {
		ret = -errno;
		log_error("eventfd: %s", strerror(-ret));
		goto out_close_sig_fd;
	}

	ret = open_device();
	if (ret < 0)
		goto out_close_done_fd;
	df.fd = ret;

	{
		const char *np = getenv("VFSD_BENCH_NO_PASSTHROUGH");
		bool plain = np && *np && strcmp(np, "0") != 0;

		if (plain)
			log_info("benchmark setting: no FUSE passthrough");
		df.se = fuse_session_new(
			ops, fs, &sopts,
			plain ? &dev_fuse_tops_plain : &dev_fuse_tops, &df);
	}
	if (!df.se) {
		ret = -errno;
		log_error("cannot create the FUSE session: %s", strerror(-ret));
		goto out_close_dev;
	}
	df.bufsize = fuse_session_bufsize(df.se);

	ret = mount_share(&df, opts->fsname);
	if (ret)
		goto out_free_session;
	df.conn_id = find_conn_id(df.mnt);

	log_info("serving %s at %s", opts->fsname, df.mnt);
	ret = start_workers(&df);
	if (ret) {
		/* Nothing serves the mount: take it down again. */
		umount2(df.mnt, MNT_DETACH);
		goto out_free_session;
	}

	ret = wait_for_workers(&df, sig_fd);
	if (ret)
		unmount_share(&df); /* so that no worker is left in read() */
	join_workers(&df);
	if (ret == 0)
		log_info("unmounted %s", df.mnt);

out_free_session:
	fuse_session_free(df.se);
out_close_dev:
	close(df.fd);
out_close_done_fd:
	close(df.done_fd);
out_close_sig_fd:
	close(sig_fd);
	drain_signals(&stop);
out_restore_mask:
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	free(df.workers);
out_destroy_lock:
	pthread_mutex_destroy(&df.lock);
	pthread_mutex_destroy(&df.read_lock);
	return ret;
}
