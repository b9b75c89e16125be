// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File locks: GETLK, SETLK, SETLKW (POSIX record locks and flock(2)).
 *
 * POSIX locks belong to a lock owner (the client's id for a process's file
 * table), but every lock the daemon takes lives in one host process, where
 * classic fcntl locks of all owners would merge. So each (node, owner) pair
 * gets its own open file description and the locks are open-file-
 * description (OFD) locks on it: the host then keeps owners apart and
 * arbitrates between them, and between them and host processes, exactly.
 *
 * A POSIX request flows: node checked (regular files only) -> the client's
 * struct fuse_file_lock converted to a struct flock -> the owner's struct
 * pt_plock found (or created, or for GETLK a temporary fd used) under
 * the node's plock stripe lock and referenced -> mutex dropped -> F_OFD_GETLK/SETLK,
 * or F_OFD_SETLKW inside fuse_req_block_begin/end so that an INTERRUPT ends
 * the wait with EINTR -> reference dropped. A blocked SETLKW thus holds no
 * daemon lock while it waits.
 *
 * The owner's fd goes away on FLUSH (pt_plock_release_owner), which the
 * client sends on every close(): closing it releases the owner's locks, as
 * close() does locally.
 *
 * flock requests (FUSE_LK_FLOCK) act on the handle's own fd: flock locks
 * belong to an open file description, which is what a handle is.
 *
 * Live migration: the locks are read back from the host (fdinfo of each
 * owner's fd and of each handle's fd) when the source saves, and taken
 * again by the destination; one the source still holds is tried again by
 * a thread until the source lets it go (see "lock_pending" below).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "../log/log.h"
#include "passthrough_i.h"

/* The lock of every node's owner list, striped by nodeid: a mutex per
 * node would cost 40 bytes of every held inode (docs/LIMITS.md). */
#define PLOCK_STRIPES 64
static pthread_mutex_t plock_stripes[PLOCK_STRIPES] = {
	[0 ... PLOCK_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER
};
#define PLOCK_MUTEX(node) (&plock_stripes[(node)->nodeid % PLOCK_STRIPES])

static void pending_cancel_owner(struct pt_fs *fs, const struct pt_node *node,
				 uint64_t owner);
static void pending_cancel_fh(struct pt_fs *fs, uint64_t fh);

/* The FUSE encoding of "to end of file" in fuse_file_lock.end. */
#define LK_OFFSET_MAX ((uint64_t)INT64_MAX)

/* More owners than this on one node is a misbehaving client. */
#define PLOCK_MAX_OWNERS 4096

/* Bytes of /proc/self/fdinfo/N read when looking for a lock's owner. */
#define FDINFO_READ_MAX (256 * 1024)

struct pt_plock {
	uint64_t owner; /* immutable */
	int fd; /* immutable; OFD locks of this owner live on it */
	uint32_t pid; /* lk.pid of the owner's last lock request */
	unsigned int refs; /* list's one plus users'; protected by node's
			    * the node's PLOCK_MUTEX, as are ->pid and ->next */
	struct pt_plock *next;
};

/*
 * A fresh open file description for the node's lock fd. Read-write first so
 * that both read and write locks can be taken; read-only, then write-only,
 * where the host refuses writing or reading (read-only file system,
 * append-only or immutable file, file being executed, a lease). The client
 * has already checked the lock type against the mode its caller opened, so a
 * mode that the host refuses here is one the caller's lock could not have
 * needed locally either. O_NONBLOCK: never wait for a lease break.
 */
static int plock_open(struct pt_fs *fs, struct pt_node *node)
{
	static const int modes[] = { O_RDWR, O_RDONLY, O_WRONLY };
	int fd = -EACCES;
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		fd = pt_node_open(fs, node,
				  modes[i] | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0)
			return fd;
		if (fd != -EACCES && fd != -EPERM && fd != -EROFS &&
		    fd != -ETXTBSY && fd != -EWOULDBLOCK)
			return fd;
	}
	return fd;
}

static struct pt_plock *plock_find_locked(struct pt_node *node, uint64_t owner,
					  unsigned int *count)
{
	struct pt_plock *p;
	unsigned int n = 0;

	for (p = node->plocks; p; p = p->next, n++) {
		if (p->owner == owner)
			return p;
	}
	if (count)
		*count = n;
	return NULL;
}

/* The owner's entry with a reference, or NULL when it has none. */
static struct pt_plock *plock_get_existing(struct pt_node *node, uint64_t owner)
{
	struct pt_plock *p;

	pthread_mutex_lock(PLOCK_MUTEX(node));
	p = plock_find_locked(node, owner, NULL);
	if (p)
		p->refs++;
	pthread_mutex_unlock(PLOCK_MUTEX(node));
	return p;
}

/* The owner's entry with a reference, created if needed; NULL and -errno in
 * *err on failure. The fd is opened without holding the mutex. */
static struct pt_plock *plock_get(struct pt_fs *fs, struct pt_node *node,
				  uint64_t owner, int *err)
{
	struct pt_plock *p, *fresh;
	unsigned int count = 0;
	int fd;

	p = plock_get_existing(node, owner);
	if (p)
		return p;

	fd = plock_open(fs, node);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh) {
		*err = -ENOMEM;
		goto out_close;
	}
	fresh->owner = owner;
	fresh->fd = fd;
	fresh->refs = 2; /* the list's and the caller's */

	pthread_mutex_lock(PLOCK_MUTEX(node));
	p = plock_find_locked(node, owner, &count);
	if (p) {
		/* Another request of this owner raced us; use its entry. */
		p->refs++;
		pthread_mutex_unlock(PLOCK_MUTEX(node));
		free(fresh);
		close(fd);
		return p;
	}
	if (count >= PLOCK_MAX_OWNERS) {
		pthread_mutex_unlock(PLOCK_MUTEX(node));
		*err = -ENOLCK;
		goto out_free;
	}
	fresh->next = node->plocks;
	node->plocks = fresh;
	pthread_mutex_unlock(PLOCK_MUTEX(node));
	return fresh;

out_free:
	free(fresh);
out_close:
	close(fd);
	return NULL;
}

static void plock_put(struct pt_node *node, struct pt_plock *p)
{
	bool last;

	pthread_mutex_lock(PLOCK_MUTEX(node));
	last = --p->refs == 0;
	pthread_mutex_unlock(PLOCK_MUTEX(node));
	if (last) {
		close(p->fd);
		free(p);
	}
}

void pt_plock_release_owner(struct pt_fs *fs, struct pt_node *node,
			    uint64_t owner)
{
	struct pt_plock **pp, *p = NULL;
	bool last = false;

	pending_cancel_owner(fs, node, owner);
	pthread_mutex_lock(PLOCK_MUTEX(node));
	for (pp = &node->plocks; *pp; pp = &(*pp)->next) {
		if ((*pp)->owner == owner) {
			p = *pp;
			*pp = p->next;
			last = --p->refs == 0;
			break;
		}
	}
	pthread_mutex_unlock(PLOCK_MUTEX(node));
	/*
	 * A SETLKW of this owner still waiting keeps the fd until it returns;
	 * a lock it then gets is released when it drops the last reference,
	 * as Linux drops a lock granted to a descriptor closed meanwhile.
	 */
	if (last) {
		close(p->fd);
		free(p);
	}
}

void pt_plock_free_all(struct pt_node *node)
{
	struct pt_plock *p, *next;

	/* No other user of the node: no reference but the list's exists. */
	for (p = node->plocks; p; p = next) {
		next = p->next;
		close(p->fd);
		free(p);
	}
	node->plocks = NULL;
}

/* struct fuse_file_lock -> struct flock; -EINVAL for what no client sends. */
static int lk_to_flock(const struct fuse_file_lock *lk, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	if (lk->type != F_RDLCK && lk->type != F_WRLCK && lk->type != F_UNLCK)
		return -EINVAL;
	if (lk->start > LK_OFFSET_MAX || lk->end > LK_OFFSET_MAX ||
	    lk->end < lk->start)
		return -EINVAL;
	fl->l_type = (short)lk->type;
	fl->l_whence = SEEK_SET;
	fl->l_start = (off_t)lk->start;
	/* end is inclusive; OFFSET_MAX means "to end of file", l_len 0 */
	fl->l_len =
		lk->end == LK_OFFSET_MAX ? 0 : (off_t)(lk->end - lk->start + 1);
	fl->l_pid = 0; /* must be 0 for OFD locks */
	return 0;
}

static void flock_to_lk(const struct flock *fl, struct fuse_file_lock *lk)
{
	memset(lk, 0, sizeof(*lk));
	lk->type = (uint32_t)fl->l_type;
	if (fl->l_type == F_UNLCK)
		return;
	lk->start = (uint64_t)fl->l_start;
	lk->end = fl->l_len <= 0 ?
			  LK_OFFSET_MAX :
			  (uint64_t)fl->l_start + (uint64_t)fl->l_len - 1;
}

/* One "lock:" line of fdinfo: is it an OFD lock equal to @fl? */
static bool fdinfo_line_matches(const char *line, const struct flock *fl)
{
	char kind[16], adv[16], rw[16], endstr[24];
	long long start, end;
	char *e;

	if (strncmp(line, "lock:", 5) != 0)
		return false;
	if (sscanf(line, "lock: %*d: %15s %15s %15s %*d %*s %lld %23s", kind,
		   adv, rw, &start, endstr) != 5)
		return false;
	if (strcmp(kind, "OFDLCK") != 0 || start != (long long)fl->l_start)
		return false;
	if (strcmp(rw, fl->l_type == F_WRLCK ? "WRITE" : "READ") != 0)
		return false;
	if (strcmp(endstr, "EOF") == 0)
		return fl->l_len == 0;
	errno = 0;
	end = strtoll(endstr, &e, 10);
	if (errno || *e || fl->l_len <= 0)
		return false;
	return end == (long long)(fl->l_start + fl->l_len - 1);
}

/*
 * Whether the open file description @fd holds the OFD lock @fl (as
 * F_OFD_GETLK reported it: exact type and range). The host lists the locks
 * of a description in /proc/self/fdinfo/N, reached through the
 * /proc/self/fd directory fd. Bounded: a huge list answers false.
 */
static bool fd_holds_lock(struct pt_fs *fs, int fd, const struct flock *fl)
{
	char path[32], buf[1024];
	size_t have = 0, total = 0;
	bool found = false;
	int info;

	snprintf(path, sizeof(path), "../fdinfo/%d", fd);
	info = openat(fs->proc_self_fd, path, O_RDONLY | O_CLOEXEC);
	if (info < 0)
		return false;
	while (!found && total < FDINFO_READ_MAX) {
		ssize_t n = read(info, buf + have, sizeof(buf) - 1 - have);
		char *p = buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
		have += (size_t)n;
		buf[have] = '\0';
		while (!found && (nl = memchr(p, '\n', have - (p - buf)))) {
			*nl = '\0';
			found = fdinfo_line_matches(p, fl);
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* no line is this long: skip it */
	}
	close(info);
	return found;
}

/*
 * The pid to report for the conflicting lock @fl: the one its owner gave
 * in its lock request, when it is one of this node's owners; 0 otherwise
 * (a host process's lock carries a host pid, meaningless to the client).
 */
static uint32_t conflict_pid(struct pt_fs *fs, struct pt_node *node,
			     uint64_t self, const struct flock *fl)
{
	struct pt_plock *p;
	uint32_t pid = 0;

	if (fl->l_pid != -1)
		return 0;
	/* Entries on the list keep their fd open while we hold the mutex. */
	pthread_mutex_lock(PLOCK_MUTEX(node));
	for (p = node->plocks; p; p = p->next) {
		if (p->owner != self && fd_holds_lock(fs, p->fd, fl)) {
			pid = p->pid;
			break;
		}
	}
	pthread_mutex_unlock(PLOCK_MUTEX(node));
	return pid;
}

/* The node of a POSIX lock request: only regular files take locks. */
static int lock_node_get(struct pt_fs *fs, uint64_t nodeid,
			 struct pt_node **node)
{
	*node = pt_node_get(fs, nodeid);
	if (!*node)
		return -ENOENT;
	if ((*node)->type != S_IFREG) {
		pt_node_put(fs, *node);
		return -EINVAL;
	}
	return 0;
}

int pt_getlk(void *fs_, const struct fuse_ctx *ctx, uint64_t nodeid,
	     const struct fuse_lk_in *in, struct fuse_file_lock *out)
{
	struct pt_fs *fs = fs_;
	struct pt_node *node;
	struct pt_plock *p;
	struct flock fl;
	int fd, ret;

	if (in->lk_flags & FUSE_LK_FLOCK)
		return -EINVAL; /* flock(2) has no test operation */
	ret = lk_to_flock(&in->lk, &fl);
	if (ret)
		return ret;
	if (fl.l_type == F_UNLCK)
		return -EINVAL;
	ret = lock_node_get(fs, nodeid, &node);
	if (ret)
		return ret;

	/* An owner without an fd holds no lock: any fresh fd tests alike. */
	p = plock_get_existing(node, in->owner);
	fd = p ? p->fd : plock_open(fs, node);
	if (fd < 0) {
		ret = fd;
		goto out_node;
	}

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
		ret = -errno;
		goto out_fd;
	}
	flock_to_lk(&fl, out);
	if (fl.l_type != F_UNLCK)
		out->pid = conflict_pid(fs, node, in->owner, &fl);

out_fd:
	if (p)
		plock_put(node, p);
	else
		close(fd);
out_node:
	pt_node_put(fs, node);
	return ret;
}

/*
 * Run a lock call that may wait, so that an INTERRUPT from the client ends
 * the wait: between block_begin and block_end the server signals this
 * thread, the call fails with EINTR, and only an interrupted request stops
 * retrying (other signals just restart the wait).
 */
static int lock_wait(const struct fuse_ctx *ctx, int fd, int flock_op,
		     struct flock *fl)
{
	int ret;

	if (!fuse_req_block_begin(ctx))
		return -EINTR;
	for (;;) {
		if (fl)
			ret = fcntl(fd, F_OFD_SETLKW, fl);
		else
			ret = flock(fd, flock_op);
		if (ret == 0)
			break;
		ret = -errno;
		if (ret != -EINTR || fuse_req_interrupted(ctx))
			break;
	}
	fuse_req_block_end(ctx);
	return ret;
}

/* flock(2) on the handle's own open file description. */
static int setlk_flock(struct pt_fs *fs, const struct fuse_ctx *ctx,
		       uint64_t nodeid, const struct fuse_lk_in *in, bool sleep)
{
	struct pt_handle *h;
	int op, ret;

	switch (in->lk.type) {
	case F_RDLCK:
		op = LOCK_SH;
		break;
	case F_WRLCK:
		op = LOCK_EX;
		break;
	case F_UNLCK:
		op = LOCK_UN;
		sleep = false;
		break;
	default:
		return -EINVAL;
	}

	pending_cancel_fh(fs, in->fh);
	h = pt_handle_get(fs, in->fh);
	if (!h)
		return -EBADF;
	if (h->node->nodeid != nodeid) {
		ret = -EBADF;
		goto out_handle;
	}
	if (sleep) {
		ret = lock_wait(ctx, h->fd, op, NULL);
	} else {
		ret = flock(h->fd, op | LOCK_NB) ? -errno : 0;
	}

out_handle:
	pt_handle_put(fs, h);
	return ret;
}

int pt_setlk(void *fs_, const struct fuse_ctx *ctx, uint64_t nodeid,
	     const struct fuse_lk_in *in, bool sleep)
{
	struct pt_fs *fs = fs_;
	struct pt_node *node;
	struct pt_plock *p;
	struct flock fl;
	int ret;

	if (in->lk_flags & FUSE_LK_FLOCK)
		return setlk_flock(fs, ctx, nodeid, in, sleep);

	ret = lk_to_flock(&in->lk, &fl);
	if (ret)
		return ret;
	ret = lock_node_get(fs, nodeid, &node);
	if (ret)
		return ret;
	pending_cancel_owner(fs, node, in->owner);

	if (fl.l_type == F_UNLCK) {
		/* An owner without an fd has nothing to unlock. */
		p = plock_get_existing(node, in->owner);
		if (!p)
			goto out_node;
		if (fcntl(p->fd, F_OFD_SETLK, &fl) < 0)
			ret = -errno;
		goto out_plock;
	}

	p = plock_get(fs, node, in->owner, &ret);
	if (!p)
		goto out_node;
	if (sleep)
		ret = lock_wait(ctx, p->fd, 0, &fl);
	else if (fcntl(p->fd, F_OFD_SETLK, &fl) < 0)
		ret = -errno;
	if (ret == 0) {
		pthread_mutex_lock(PLOCK_MUTEX(node));
		p->pid = in->lk.pid;
		pthread_mutex_unlock(PLOCK_MUTEX(node));
	}

out_plock:
	plock_put(node, p);
out_node:
	pt_node_put(fs, node);
	return ret;
}

/* --- live migration (migrate.c) --- */

/*
 * The locks an open file description holds, from the "lock:" lines of
 * /proc/self/fdinfo/N (the host lists there exactly the locks taken
 * through that description): @kind "OFDLCK" or "FLOCK". @emit gets each
 * one's type and range (l_len 0: to the end of the file); a non-zero
 * return stops the walk and is returned. -errno when fdinfo cannot be
 * read.
 */
static int fd_locks(struct pt_fs *fs, int fd, const char *kind,
		    int (*emit)(void *arg, const struct flock *fl), void *arg)
{
	char path[32], buf[1024];
	size_t have = 0, total = 0;
	int info, ret = 0;

	snprintf(path, sizeof(path), "../fdinfo/%d", fd);
	info = openat(fs->proc_self_fd, path, O_RDONLY | O_CLOEXEC);
	if (info < 0)
		return -errno;
	while (!ret && total < FDINFO_READ_MAX) {
		ssize_t n = read(info, buf + have, sizeof(buf) - 1 - have);
		char *p = buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ret = -errno;
		if (n <= 0)
			break;
		total += (size_t)n;
		have += (size_t)n;
		buf[have] = '\0';
		while (!ret && (nl = memchr(p, '\n', have - (p - buf)))) {
			char k[16], adv[16], rw[16], endstr[24];
			long long start, end;
			struct flock fl = { 0 };

			*nl = '\0';
			if (sscanf(p,
				   "lock: %*d: %15s %15s %15s %*d %*s %lld %23s",
				   k, adv, rw, &start, endstr) == 5 &&
			    strcmp(k, kind) == 0 && start >= 0) {
				fl.l_type = strcmp(rw, "WRITE") == 0 ? F_WRLCK :
								       F_RDLCK;
				fl.l_whence = SEEK_SET;
				fl.l_start = (off_t)start;
				if (strcmp(endstr, "EOF") != 0) {
					char *e;

					errno = 0;
					end = strtoll(endstr, &e, 10);
					if (errno || *e || end < start)
						goto next;
					fl.l_len = (off_t)(end - start + 1);
				}
				ret = emit(arg, &fl);
			}
next:
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* no line is this long: skip it */
	}
	close(info);
	return ret;
}

struct plock_save_arg {
	uint64_t owner;
	uint32_t pid;
	int (*emit)(void *arg, uint64_t owner, uint32_t pid,
		    const struct flock *fl);
	void *arg;
};

static int plock_save_one(void *varg, const struct flock *fl)
{
	struct plock_save_arg *a = varg;

	return a->emit(a->arg, a->owner, a->pid, fl);
}

int pt_plock_save(struct pt_fs *fs, struct pt_node *node,
		  int (*emit)(void *arg, uint64_t owner, uint32_t pid,
			      const struct flock *fl),
		  void *arg)
{
	struct pt_plock *p;
	int ret = 0;

	/* No request runs during a save: the list holds still; the
	 * entries' fds stay open while they are on it. */
	pthread_mutex_lock(PLOCK_MUTEX(node));
	for (p = node->plocks; p && !ret; p = p->next) {
		struct plock_save_arg a = { p->owner, p->pid, emit, arg };

		ret = fd_locks(fs, p->fd, "OFDLCK", plock_save_one, &a);
	}
	pthread_mutex_unlock(PLOCK_MUTEX(node));
	return ret;
}

static int flock_seen(void *arg, const struct flock *fl)
{
	*(int *)arg = fl->l_type == F_WRLCK ? LOCK_EX : LOCK_SH;
	return 1;
}

int pt_flock_state(struct pt_fs *fs, int fd)
{
	int op = 0, ret = fd_locks(fs, fd, "FLOCK", flock_seen, &op);

	return ret < 0 ? ret : op;
}

int pt_plock_restore(struct pt_fs *fs, struct pt_node *node, uint64_t owner,
		     uint32_t pid, const struct flock *fl)
{
	struct flock l = *fl;
	struct pt_plock *p;
	int ret = 0;

	if (node->type != S_IFREG ||
	    (l.l_type != F_RDLCK && l.l_type != F_WRLCK))
		return -EINVAL;
	p = plock_get(fs, node, owner, &ret);
	if (!p)
		return ret;
	l.l_pid = 0;
	if (fcntl(p->fd, F_OFD_SETLK, &l) < 0)
		ret = errno == EACCES ? -EAGAIN : -errno;
	pthread_mutex_lock(PLOCK_MUTEX(node));
	p->pid = pid;
	pthread_mutex_unlock(PLOCK_MUTEX(node));
	plock_put(node, p);
	return ret;
}

/*
 * Locks a destination could not take yet: on one host (or a shared file
 * system) the source still holds them until it ends, moments after the
 * migration completes. A thread tries them again, without waiting in
 * the host's lock calls, until each is taken, or is made moot by the
 * guest (its owner unlocks, locks again or goes away; the handle is
 * released or flocked anew), or PT_LOCK_RETRY_S pass. Meanwhile the
 * lock is held on the guest's behalf by the source, so no third party
 * gets in before the source lets go.
 */
#define PT_LOCK_RETRY_MS 20
#define PT_LOCK_RETRY_S 300

struct lock_pending {
	struct lock_pending *next;
	bool is_flock;
	struct pt_node *node; /* POSIX: held (an in-flight reference) */
	uint64_t owner;
	struct flock fl;
	uint64_t fh; /* flock: the handle, looked up at each try */
	int op; /* flock: LOCK_SH or LOCK_EX */
};

struct pt_lock_retry {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct lock_pending *list; /* protected by ->lock */
	bool stop; /* protected by ->lock */
	bool running;
	pthread_t thread;
	atomic_uint count; /* entries on the list: the hot paths' test */
};

static struct pt_lock_retry *retry_get(struct pt_fs *fs)
{
	struct pt_lock_retry *r = fs->lock_retry;

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	fs->lock_retry = r;
	return r;
}

int pt_lock_pending_add(struct pt_fs *fs, struct pt_node *node, uint64_t owner,
			const struct flock *fl, uint64_t fh, int op)
{
	struct pt_lock_retry *r = retry_get(fs);
	struct lock_pending *e = calloc(1, sizeof(*e));

	if (!r || !e) {
		free(e);
		return -ENOMEM;
	}
	e->is_flock = node == NULL;
	e->node = node;
	e->owner = owner;
	if (fl)
		e->fl = *fl;
	e->fh = fh;
	e->op = op;
	if (node)
		pt_node_hold(fs, node);
	pthread_mutex_lock(&r->lock);
	e->next = r->list;
	r->list = e;
	atomic_fetch_add(&r->count, 1);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* Try @e once: true when it is done with (taken, or moot). */
static bool retry_one(struct pt_fs *fs, struct lock_pending *e)
{
	if (e->is_flock) {
		struct pt_handle *h = pt_handle_get(fs, e->fh);
		int ret;

		if (!h)
			return true; /* released meanwhile */
		ret = flock(h->fd, e->op | LOCK_NB) ? -errno : 0;
		pt_handle_put(fs, h);
		if (ret == -EWOULDBLOCK || ret == -EINTR)
			return false;
		if (ret)
			log_warn(
				"migration: flock of handle 0x%llx could not be taken again: %s",
				(unsigned long long)e->fh, strerror(-ret));
		else
			log_info(
				"migration: flock of handle 0x%llx taken again",
				(unsigned long long)e->fh);
		return true;
	} else {
		struct pt_plock *p = plock_get_existing(e->node, e->owner);
		struct flock l = e->fl;
		int ret;

		if (!p)
			return true; /* the owner flushed meanwhile */
		ret = fcntl(p->fd, F_OFD_SETLK, &l) ? -errno : 0;
		plock_put(e->node, p);
		if (ret == -EAGAIN || ret == -EACCES || ret == -EINTR)
			return false;
		if (ret)
			log_warn(
				"migration: POSIX lock of node %llu could not be taken again: %s",
				(unsigned long long)e->node->nodeid,
				strerror(-ret));
		else
			log_info(
				"migration: POSIX lock of node %llu (owner 0x%llx) taken again",
				(unsigned long long)e->node->nodeid,
				(unsigned long long)e->owner);
		return true;
	}
}

/* Unlink and free every entry @match accepts; returns them counted.
 * Called with r->lock held; node references are dropped by the caller
 * through @dead (a list). */
static struct lock_pending *
retry_take_locked(struct pt_lock_retry *r,
		  bool (*match)(struct lock_pending *e, const void *key),
		  const void *key)
{
	struct lock_pending **pp = &r->list, *dead = NULL;

	while (*pp) {
		struct lock_pending *e = *pp;

		if (match(e, key)) {
			*pp = e->next;
			e->next = dead;
			dead = e;
			atomic_fetch_sub(&r->count, 1);
		} else {
			pp = &e->next;
		}
	}
	return dead;
}

static void free_pending(struct pt_fs *fs, struct lock_pending *e)
{
	while (e) {
		struct lock_pending *next = e->next;

		if (e->node)
			pt_node_put(fs, e->node);
		free(e);
		e = next;
	}
}

struct owner_key {
	const struct pt_node *node;
	uint64_t owner;
};

static bool match_owner(struct lock_pending *e, const void *key)
{
	const struct owner_key *k = key;

	return !e->is_flock && e->node == k->node && e->owner == k->owner;
}

static bool match_fh(struct lock_pending *e, const void *key)
{
	return e->is_flock && e->fh == *(const uint64_t *)key;
}

static bool match_all(struct lock_pending *e, const void *key)
{
	return true;
}

/* The guest acts on @node's locks of @owner: pending re-takes of them
 * are moot. Cheap when none are pending (the common case). */
static void pending_cancel_owner(struct pt_fs *fs, const struct pt_node *node,
				 uint64_t owner)
{
	struct pt_lock_retry *r = fs->lock_retry;
	struct owner_key k = { node, owner };
	struct lock_pending *dead;

	if (!r || atomic_load(&r->count) == 0)
		return;
	pthread_mutex_lock(&r->lock);
	dead = retry_take_locked(r, match_owner, &k);
	pthread_mutex_unlock(&r->lock);
	free_pending(fs, dead);
}

static void pending_cancel_fh(struct pt_fs *fs, uint64_t fh)
{
	struct pt_lock_retry *r = fs->lock_retry;
	struct lock_pending *dead;

	if (!r || atomic_load(&r->count) == 0)
		return;
	pthread_mutex_lock(&r->lock);
	dead = retry_take_locked(r, match_fh, &fh);
	pthread_mutex_unlock(&r->lock);
	free_pending(fs, dead);
}

static void *retry_main(void *arg)
{
	struct pt_fs *fs = arg;
	struct pt_lock_retry *r = fs->lock_retry;
	struct timespec deadline, until;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += PT_LOCK_RETRY_S;
	pthread_mutex_lock(&r->lock);
	while (!r->stop && r->list) {
		struct lock_pending **pp = &r->list, *dead = NULL;
		struct timespec now;

		while (*pp) {
			struct lock_pending *e = *pp;

			if (retry_one(fs, e)) {
				*pp = e->next;
				e->next = dead;
				dead = e;
				atomic_fetch_sub(&r->count, 1);
			} else {
				pp = &e->next;
			}
		}
		if (dead) {
			pthread_mutex_unlock(&r->lock);
			free_pending(fs, dead);
			pthread_mutex_lock(&r->lock);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec)
			break;
		until = now;
		until.tv_nsec += PT_LOCK_RETRY_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!r->stop && r->list)
			pthread_cond_timedwait(&r->cond, &r->lock, &until);
	}
	if (r->list && !r->stop)
		log_warn(
			"migration: %u lock(s) of the guest could not be taken again in %d s: another process holds them",
			atomic_load(&r->count), PT_LOCK_RETRY_S);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int pt_lock_pending_start(struct pt_fs *fs)
{
	struct pt_lock_retry *r = fs->lock_retry;
	pthread_condattr_t ca;
	sigset_t all, old;
	int ret;

	if (!r || !r->list || r->running)
		return 0;
	/* Timed waits on the monotonic clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&r->cond);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&r->thread, NULL, retry_main, fs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return ret;
	r->running = true;
	log_info(
		"migration: %u lock(s) held elsewhere (by the source?): trying them again",
		atomic_load(&r->count));
	return 0;
}

void pt_lock_pending_stop(struct pt_fs *fs)
{
	struct pt_lock_retry *r = fs->lock_retry;
	struct lock_pending *dead;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (r->running)
		pthread_join(r->thread, NULL);
	r->running = false;
	pthread_mutex_lock(&r->lock);
	dead = retry_take_locked(r, match_all, NULL);
	r->stop = false;
	pthread_mutex_unlock(&r->lock);
	free_pending(fs, dead);
}

void pt_lock_retry_free(struct pt_fs *fs)
{
	struct pt_lock_retry *r = fs->lock_retry;

	if (!r)
		return;
	pt_lock_pending_stop(fs);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
	fs->lock_retry = NULL;
}
