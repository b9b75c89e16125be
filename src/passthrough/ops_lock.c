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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "passthrough_i.h"

/* The lock of every node's owner list, striped by nodeid: a mutex per
 * node would cost 40 bytes of every held inode (docs/LIMITS.md). */
#define PLOCK_STRIPES 64
static pthread_mutex_t plock_stripes[PLOCK_STRIPES] = {
	[0 ... PLOCK_STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER
};
#define PLOCK_MUTEX(node) (&plock_stripes[(node)->nodeid % PLOCK_STRIPES])

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
