// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Open files: OPEN, CREATE, TMPFILE, READ, WRITE, FLUSH, RELEASE, FSYNC,
 * FALLOCATE, COPY_FILE_RANGE, LSEEK and SYNCFS.
 *
 * OPEN reopens the node's object through /proc/self/fd (pt_node_open) and
 * stores the fd in a handle; CREATE and TMPFILE create the file under the
 * requester's credentials and return both an entry and a handle. Every
 * later request names the fh, which must belong to the request's nodeid.
 * READ and WRITE move data with preadv/pwritev directly between the host
 * file and the iovecs the server hands over (guest memory on virtio-fs);
 * all I/O is positional, so handles never depend on the fd's file
 * position. The one exception is a READ into guest buffers that sit 1 to
 * 31 bytes after their file position modulo a page, on a CPU where the
 * kernel's copy runs several times slower then (read_bounced()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../util/bench.h"
#include "../util/iov.h"
#include "../log/log.h"
#include "../metrics/metrics.h"
#include "ops_i.h"

#define RW_IOV_STACK 64
/* Bounce only READs this large: below, the second copy costs what the
 * slow first one would lose. Bounced in pieces of at most this much. */
#define PT_BOUNCE_MIN (32u << 10)
#define PT_BOUNCE_CHUNK (256u << 10)
#define PT_PAGE 4096u

static void fill_open_out(struct pt_fs *fs, uint64_t fh, int flags,
			  struct fuse_open_out *out)
{
	memset(out, 0, sizeof(*out));
	out->fh = fh;
	out->open_flags = pt_open_out_flags(fs, flags);
}

/*
 * FUSE passthrough (a host mount on Linux 6.9 and later): the client reads
 * and writes a regular file's host twin itself, through a backing file it
 * holds, and READ/WRITE never reach us. The client takes one backing file
 * per inode and refuses to mix opens with and without it, so a node keeps
 * one backing id while any handle uses it; a node that has handles
 * opened without it (registration refused) stays without until they are
 * released. Opens with direct I/O stay ours. Registered with the daemon's credentials and a read-write
 * open where the host allows one; the client opens its own file from it
 * with each open's flags.
 */
static int backing_register(struct pt_fs *fs, const struct fuse_ctx *ctx,
			    struct pt_node *node)
{
	struct pt_fdname n;
	int fd, id;

	pt_fdname(&n, node->fd);
	fd = openat(fs->proc_self_fd, n.s, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS ||
		       errno == ETXTBSY))
		fd = openat(fs->proc_self_fd, n.s, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	id = fuse_backing_open(ctx, fd);
	close(fd);
	if (id == -EPERM || id == -EOPNOTSUPP) {
		__atomic_store_n(&fs->passthrough, false, __ATOMIC_RELAXED);
		log_warn(
			"FUSE passthrough refused by the kernel (%s): READ and WRITE are served by vfsd",
			strerror(-id));
	} else if (id <= 0) {
		log_debug("FUSE passthrough: node %llu not registered: %s",
			  (unsigned long long)node->nodeid,
			  strerror(id ? -id : EINVAL));
		id = id ? id : -EINVAL;
	}
	return id;
}

/* The new handle @fh of @node, whose open reply is @out. */
static void passthrough_attach(struct pt_fs *fs, const struct fuse_ctx *ctx,
			       struct pt_node *node, uint64_t fh,
			       struct fuse_open_out *out)
{
	struct pt_handle *h;
	int id = 0;

	/* Direct I/O (--cache never|metadata, O_DIRECT) is asked to come
	 * through us; the client allows such opens beside passthrough ones
	 * on one inode, so they are not counted either. */
	if (!__atomic_load_n(&fs->passthrough, __ATOMIC_RELAXED) ||
	    !S_ISREG(node->type) || (out->open_flags & FOPEN_DIRECT_IO))
		return;
	h = pt_handle_get(fs, fh);
	if (!h)
		return;
	pthread_mutex_lock(&fs->backing_lock);
	if (node->plain_opens == 0 && node->backing_refs == 0) {
		int r = backing_register(fs, ctx, node);

		node->backing_id = r > 0 ? r : 0;
	}
	if (node->plain_opens == 0 && node->backing_id > 0) {
		node->backing_refs++;
		id = node->backing_id;
		h->io_mode = PT_IO_BACKING;
	} else {
		node->plain_opens++;
		h->io_mode = PT_IO_PLAIN;
	}
	pthread_mutex_unlock(&fs->backing_lock);
	pt_handle_put(fs, h);
	if (id)
		fuse_open_out_passthrough(out, id);
}

/* RELEASE of @h: its share of the node's passthrough state goes. */
static void passthrough_detach(struct pt_fs *fs, const struct fuse_ctx *ctx,
			       struct pt_handle *h)
{
	struct pt_node *node = h->node;
	int close_id = 0;

	pthread_mutex_lock(&fs->backing_lock);
	if (h->io_mode == PT_IO_BACKING && node->backing_refs &&
	    --node->backing_refs == 0) {
		close_id = node->backing_id;
		node->backing_id = 0;
	} else if (h->io_mode == PT_IO_PLAIN && node->plain_opens) {
		node->plain_opens--;
	}
	h->io_mode = PT_IO_UNTRACKED;
	pthread_mutex_unlock(&fs->backing_lock);
	if (close_id > 0)
		fuse_backing_close(ctx, close_id);
}

/*
 * Whether set-user/group-ID bits must be cleared for this request, as the
 * host does for a local caller without CAP_FSETID. With killpriv v2 the
 * client says so per request (@flag), for root too (a guest root without
 * CAP_FSETID). Otherwise (killpriv v1, which leaves it to the daemon, or no
 * killpriv, where an honest client has cleared them already) every caller
 * but root: a guest that skips the client's own clearing gets what a local
 * write by that user gets.
 */
static bool must_kill_priv(const struct pt_fs *fs, const struct fuse_ctx *ctx,
			   bool flag)
{
	return flag || (!fs->killpriv_v2 && ctx->uid != 0);
}

/*
 * Act as the requester without CAP_FSETID, so that the host clears the
 * set-ID bits exactly as for a local caller: pt_cred_enter() keeps
 * CAP_FSETID for root, which must lose it too when the client asked for
 * the clearing. Always pair with kill_priv_leave().
 */
static int kill_priv_enter(const struct fuse_ctx *ctx, struct pt_cred *cred,
			   bool *dropped)
{
	int ret;

	*dropped = false;
	ret = pt_cred_enter(ctx, cred);
	if (ret)
		return ret;
	if (!cred->cap_dropped) {
		ret = pt_cap_fsetid_drop(dropped);
		if (ret)
			pt_cred_leave(cred);
	}
	return ret;
}

static void kill_priv_leave(struct pt_cred *cred, bool dropped)
{
	pt_cap_fsetid_restore(dropped);
	pt_cred_leave(cred);
}

/* Open @node with client flags. An O_TRUNC that must clear set-ID bits
 * runs as the requester, so the host applies its own rules. */
static int open_node(struct pt_fs *fs, const struct fuse_ctx *ctx,
		     struct pt_node *node, int flags, uint32_t open_flags)
{
	struct pt_cred cred;
	bool as_caller;
	bool dropped = false;
	int fd;

	as_caller =
		(flags & O_TRUNC) &&
		must_kill_priv(fs, ctx, open_flags & FUSE_OPEN_KILL_SUIDGID);
	if (as_caller) {
		fd = kill_priv_enter(ctx, &cred, &dropped);
		if (fd)
			return fd;
	}
	fd = pt_node_open(fs, node, flags);
	if (as_caller)
		kill_priv_leave(&cred, dropped);
	return fd;
}

/*
 * Devices, FIFOs and sockets are opened by the client kernel itself (a
 * device node in the share names a device of the guest); it never sends
 * OPEN or CREATE-and-open for them, so one that does is hostile. Opening
 * the node here would open the host's device (CVE-2020-35517 class) or
 * block a thread on a FIFO. The answer is EACCES, what the host gives for
 * a device node on a nodev mount, the closest local case (the reference
 * daemon answers EBADF, which open(2) never returns).
 */
static int special_open_check(const struct pt_node *node)
{
	if (S_ISREG(node->type) || S_ISDIR(node->type))
		return 0;
	return S_ISLNK(node->type) ? -ELOOP : -EACCES;
}

int pt_op_open(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
	       const struct fuse_open_in *in, struct fuse_open_out *out)
{
	struct pt_fs *fs = vfs;
	struct pt_node *node;
	uint64_t fh;
	int flags;
	int ret;
	int fd;

	if (fs->opts.readonly &&
	    ((in->flags & O_ACCMODE) != O_RDONLY || (in->flags & O_TRUNC)))
		return -EROFS;
	node = pt_node_get(fs, nodeid);
	if (!node)
		return -ENOENT;
	ret = special_open_check(node);
	if (ret) {
		pt_node_put(fs, node);
		return ret;
	}
	flags = pt_host_open_flags(fs, in->flags);
	fd = open_node(fs, ctx, node, flags, in->open_flags);
	if (fd < 0) {
		pt_node_put(fs, node);
		return fd;
	}
	/* The handle takes over fd and the node reference. */
	fh = pt_handle_new(fs, node, fd, flags, false, &ret);
	if (!fh)
		return ret;
	fill_open_out(fs, fh, flags, out);
	passthrough_attach(fs, ctx, node, fh, out);
	return 0;
}

/* CREATE on a name that exists and the client did not ask O_EXCL: open it
 * like OPEN, but only a regular file (never a FIFO or device someone
 * planted under the name: special_open_check(); never through a
 * symlink). */
static int create_existing(struct pt_fs *fs, const struct fuse_ctx *ctx,
			   struct pt_node *dir, const char *name, int flags,
			   uint32_t open_flags, struct fuse_entry_out *e,
			   struct pt_node **nodep)
{
	struct pt_node *node;
	int pfd;
	int ret;
	int fd;

	pfd = pt_openat_beneath(dir->fd, name, O_PATH | O_NOFOLLOW, 0);
	if (pfd < 0)
		return -errno;
	ret = pt_entry_from_fd(fs, dir, pfd, e, &node);
	if (ret)
		return ret;
	if (S_ISREG(node->type))
		fd = open_node(fs, ctx, node, flags, open_flags);
	else if (S_ISDIR(node->type))
		fd = -EISDIR;
	else
		fd = special_open_check(node);
	if (fd < 0) {
		uint64_t nodeid = node->nodeid;

		pt_node_put(fs, node);
		pt_node_forget(fs, nodeid, 1);
		return fd;
	}
	*nodep = node;
	return fd;
}

/* Store @fd of @node (one lookup reference taken for the entry) in a new
 * handle; on failure give the reference back. */
static int finish_open(struct pt_fs *fs, const struct fuse_ctx *ctx,
		       struct pt_node *node, int fd, int flags,
		       struct fuse_open_out *out)
{
	uint64_t nodeid = node->nodeid;
	uint64_t fh;
	int ret;

	fh = pt_handle_new(fs, node, fd, flags, false, &ret);
	if (!fh) {
		pt_node_forget(fs, nodeid, 1);
		return ret;
	}
	fill_open_out(fs, fh, flags, out);
	passthrough_attach(fs, ctx, node, fh, out);
	return 0;
}

/*
 * The end of CREATE and TMPFILE: @fd is the file just made in @dir (owned
 * by the call). Take its node through /proc/self/fd (exactly that object,
 * whatever its name does meanwhile), fill the entry, store @fd in a new
 * handle and fill the open reply. Returns 0 or -errno.
 */
static int reply_new_file(struct pt_fs *fs, const struct fuse_ctx *ctx,
			  struct pt_node *dir, int fd, int flags,
			  struct fuse_entry_out *e, struct fuse_open_out *out)
{
	struct pt_node *node;
	struct pt_fdname n;
	int pfd;
	int ret;

	pt_fdname(&n, fd);
	pfd = openat(fs->proc_self_fd, n.s, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = pt_entry_from_fd(fs, dir, pfd, e, &node);
	if (ret) {
		close(fd);
		return ret;
	}
	return finish_open(fs, ctx, node, fd, flags, out);
}

int pt_op_create(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		 const char *name, const struct fuse_create_in *in,
		 struct fuse_entry_out *e, struct fuse_open_out *out)
{
	struct pt_fs *fs = vfs;
	struct pt_node *node = NULL;
	struct pt_node *dir;
	struct pt_cred cred;
	mode_t mode, old_mask;
	int flags;
	int ret;
	int fd;

	if (fs->opts.readonly)
		return -EROFS;
	dir = pt_node_get(fs, parent);
	if (!dir)
		return -ENOENT;
	flags = pt_host_open_flags(fs, in->flags);
	ret = pt_cred_enter(ctx, &cred);
	if (ret)
		goto out_dir;
	/* Always exclusive here, so an existing FIFO or device is never
	 * opened by the create itself (see create_existing()). */
	mode = in->mode & 07777;
	old_mask = pt_umask_enter(fs->dont_mask, in->umask, &mode);
	fd = pt_openat_beneath(dir->fd, name,
			       flags | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
	ret = fd < 0 ? -errno : 0;
	pt_umask_leave(old_mask);
	if (!ret) {
		ret = pt_secctx_set(fs, ctx, dir, name, fd);
		if (ret)
			close(fd);
	}
	pt_cred_leave(&cred);
	/* A label the host refuses: the new file goes, the create fails. */
	if (ret && fd >= 0)
		unlinkat(dir->fd, name, 0);

	if (ret == -EEXIST && !(in->flags & O_EXCL)) {
		fd = create_existing(fs, ctx, dir, name, flags, in->open_flags,
				     e, &node);
		if (fd < 0) {
			ret = fd;
			goto out_dir;
		}
		ret = finish_open(fs, ctx, node, fd, flags, out);
	} else if (!ret) {
		ret = reply_new_file(fs, ctx, dir, fd, flags, e, out);
	}
out_dir:
	pt_node_put(fs, dir);
	return ret;
}

int pt_op_tmpfile(void *vfs, const struct fuse_ctx *ctx, uint64_t parent,
		  const struct fuse_create_in *in, struct fuse_entry_out *e,
		  struct fuse_open_out *out)
{
	struct pt_fs *fs = vfs;
	struct pt_node *dir;
	struct pt_cred cred;
	struct pt_fdname n;
	mode_t mode, old_mask;
	int flags;
	int ret;
	int fd;

	if (fs->opts.readonly)
		return -EROFS;
	dir = pt_node_get(fs, parent);
	if (!dir)
		return -ENOENT;
	if (!S_ISDIR(dir->type)) {
		ret = -ENOTDIR;
		goto out_dir;
	}
	flags = pt_host_open_flags(fs, in->flags) & ~O_TMPFILE;
	ret = pt_cred_enter(ctx, &cred);
	if (ret)
		goto out_dir;
	pt_fdname(&n, dir->fd);
	mode = in->mode & 07777;
	old_mask = pt_umask_enter(fs->dont_mask, in->umask, &mode);
	fd = openat(fs->proc_self_fd, n.s, flags | O_TMPFILE | O_CLOEXEC, mode);
	ret = fd < 0 ? -errno : 0;
	pt_umask_leave(old_mask);
	if (!ret) {
		/* Refused: closing the unnamed file is all it takes. */
		ret = pt_secctx_set(fs, ctx, dir, NULL, fd);
		if (ret)
			close(fd);
	}
	pt_cred_leave(&cred);
	if (!ret)
		ret = reply_new_file(fs, ctx, dir, fd, flags, e, out);
out_dir:
	pt_node_put(fs, dir);
	return ret;
}

/*
 * Move @len bytes between @fd at @off and @iov (which holds at least
 * @len), retrying short transfers until done, end of file or an error.
 * Returns the bytes moved, or -errno if nothing was.
 */
static ssize_t rw_loop(int fd, const struct iovec *iov, int cnt, size_t len,
		       off_t off, bool write)
{
	struct iovec stack[RW_IOV_STACK];
	struct iovec *v = stack;
	size_t done = 0;
	ssize_t ret = 0;
	int n;
	int i = 0;

	if (len == 0)
		return 0;
	if (cnt > RW_IOV_STACK) {
		v = calloc(cnt, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	/* A private copy we can advance; also trims it to exactly len. */
	n = iov_slice(iov, cnt, 0, len, v, cnt);
	if (n < 0) {
		ret = -EINVAL;
		goto out_free;
	}
	while (done < len && i < n) {
		int c = n - i < IOV_MAX ? n - i : IOV_MAX;
		ssize_t r;

		r = write ? pwritev(fd, v + i, c, off + (off_t)done) :
			    preadv(fd, v + i, c, off + (off_t)done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (!done)
				ret = -errno;
			break;
		}
		if (r == 0)
			break; /* end of file */
		done += r;
		while (r > 0 && i < n) {
			if ((size_t)r >= v[i].iov_len) {
				r -= v[i].iov_len;
				i++;
			} else {
				v[i].iov_base = (char *)v[i].iov_base + r;
				v[i].iov_len -= r;
				r = 0;
			}
		}
	}
	if (done)
		ret = done;
out_free:
	if (v != stack)
		free(v);
	return ret;
}

/*
 * The kernel copies page-cache data to the reader's buffer with one "rep
 * movsb" per page on current x86 CPUs. On some (AMD Zen among them) that
 * instruction runs 2-6x slower when the destination lies 1 to 31 bytes
 * after the source modulo 4 KiB (measured here: 1-15 bytes 6x, 16-31
 * 2.3x, 32 and more not at all): a guest reading into a buffer 16 bytes
 * into a page (what malloc returns for a large block) from a page-aligned
 * file position, under cache=never, pays that on every byte
 * (bench/RESULTS.md, 2026-12-06, "Where the data lands"). Whether this CPU
 * does is measured once at start (pt_bounce_probe()); when it does, such
 * READs are read into a buffer placed so that neither the kernel's copy
 * into it nor the copy from it to the guest has that distance.
 * VFSD_BENCH_BOUNCE=0 or 1 overrides the probe.
 */
static bool near_alias(const struct iovec *v, int n, off_t off)
{
	uint64_t pos = (uint64_t)off;

	for (int i = 0; i < n; i++) {
		uintptr_t d = ((uintptr_t)v[i].iov_base - (uintptr_t)pos) &
			      (PT_PAGE - 1);

		if (v[i].iov_len >= 512 && d >= 1 && d < 32)
			return true;
		pos += v[i].iov_len;
	}
	return false;
}

/* Each thread's bounce buffer, made on its first bounce and kept: a
 * buffer this size freed and allocated again per READ is handed back to
 * the kernel and faulted in anew each time, which costs more than the
 * bounce saves. Mapped, not malloc'd: a block this large freed back to
 * malloc raises its threshold for using mmap, and the node table's
 * large arrays then grow on the heap and leave holes there (measured:
 * 198 -> 213 bytes per held inode in hostile-exhaust-handles-default).
 * Unmapped when the thread ends. */
#define PT_BOUNCE_MAP (PT_BOUNCE_CHUNK + PT_PAGE)

static pthread_key_t bounce_key;
static pthread_once_t bounce_once = PTHREAD_ONCE_INIT;

static void bounce_unmap(void *b)
{
	munmap(b, PT_BOUNCE_MAP);
}

static void bounce_key_init(void)
{
	if (pthread_key_create(&bounce_key, bounce_unmap))
		bounce_key = (pthread_key_t)-1;
}

static void *map_buffer(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static uint8_t *bounce_buffer(void)
{
	uint8_t *b;

	pthread_once(&bounce_once, bounce_key_init);
	if (bounce_key == (pthread_key_t)-1)
		return NULL;
	b = pthread_getspecific(bounce_key);
	if (!b) {
		b = map_buffer(PT_BOUNCE_MAP);
		if (b && pthread_setspecific(bounce_key, b)) {
			munmap(b, PT_BOUNCE_MAP);
			b = NULL;
		}
	}
	return b;
}

/* Read @len bytes at @off into @v through the bounce buffer @b. Returns
 * the bytes read, or -errno if none were. */
static ssize_t read_bounced(int fd, uint8_t *b, const struct iovec *v, int n,
			    size_t len, off_t off)
{
	/* where the guest's buffers sit relative to the file, mod a page */
	uint64_t dist =
		((uintptr_t)v[0].iov_base - (uint64_t)off) & (PT_PAGE - 1);
	size_t done = 0;

	while (done < len) {
		off_t at = off + (off_t)done;
		/* Half a page from both the file position and the guest
		 * buffer, modulo a page: far from the slow distances of
		 * "rep movsb" and from the 4 KiB aliasing that slows
		 * memcpy's vector loop when its stores run just ahead of its
		 * loads. */
		struct iovec piece = {
			.iov_base = b + (((uint64_t)at + dist + PT_PAGE / 2) &
					 (PT_PAGE - 1)),
			.iov_len = len - done < PT_BOUNCE_CHUNK ?
					   len - done :
					   PT_BOUNCE_CHUNK,
		};
		ssize_t r = rw_loop(fd, &piece, 1, piece.iov_len, at, false);

		if (r <= 0) {
			if (!done)
				return r;
			break;
		}
		iov_from_buf(v, n, done, piece.iov_base, (size_t)r);
		done += (size_t)r;
		if ((size_t)r < piece.iov_len)
			break; /* end of file, or an error after some */
	}
	if (done && metrics_enabled())
		metrics_count_bounce();
	return (ssize_t)done;
}

/* Time one read of @len bytes of @fd into @dst, best of 5, in ns. */
static uint64_t probe_read_ns(int fd, void *dst, size_t len)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 5; i++) {
		struct timespec a, b;
		uint64_t t;

		clock_gettime(CLOCK_MONOTONIC, &a);
		if (pread(fd, dst, len, 0) != (ssize_t)len)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &b);
		t = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
		    (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
		if (t < best)
			best = t;
	}
	return best;
}

void pt_bounce_probe(struct pt_fs *fs)
{
	const size_t len = 256u << 10;
	unsigned long long forced;
	uint64_t fast, slow;
	uint8_t *buf;
	int fd;

	fs->bounce_reads = false;
	if (bench_setting("VFSD_BENCH_BOUNCE", 0, 1, &forced)) {
		fs->bounce_reads = forced;
		log_info("benchmark setting: READs near a page alias %s",
			 fs->bounce_reads ? "always bounced" : "never bounced");
		return;
	}
	/* A page-cache file of its own: the copy the kernel makes for a
	 * READ, at distance 0 and 8 from its source. */
	fd = memfd_create("vfsd-probe", MFD_CLOEXEC);
	buf = map_buffer(len + PT_PAGE); /* not malloc: see bounce_buffer */
	if (fd < 0 || !buf || ftruncate(fd, (off_t)len) ||
	    probe_read_ns(fd, buf, len) == 0) /* faults the pages in */
		goto out;
	fast = probe_read_ns(fd, buf, len);
	slow = probe_read_ns(fd, buf + 8, len);
	/* Worth a second copy only when the slow case is clearly slow. */
	fs->bounce_reads = fast && slow > fast + fast / 2;
	log_debug("copy probe: %llu ns aligned, %llu ns 8 bytes off: %s",
		  (unsigned long long)fast, (unsigned long long)slow,
		  fs->bounce_reads ? "bouncing such READs" : "no bouncing");
out:
	if (buf)
		munmap(buf, len + PT_PAGE);
	if (fd >= 0)
		close(fd);
}

static size_t rw_len(uint32_t size, const struct iovec *iov, int iovcnt)
{
	size_t cap = iov_size(iov, iovcnt);

	return size < cap ? size : cap;
}

ssize_t pt_op_read(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		   const struct fuse_read_in *in, const struct iovec *iov,
		   int iovcnt)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h;
	uint8_t *bounce = NULL;
	size_t len;
	ssize_t ret;

	if (in->offset > INT64_MAX)
		return -EINVAL;
	h = pt_handle_get_node(fs, in->fh, nodeid);
	if (!h)
		return -EBADF;
	len = rw_len(in->size, iov, iovcnt);
	if (fs->bounce_reads && len >= PT_BOUNCE_MIN &&
	    near_alias(iov, iovcnt, (off_t)in->offset))
		bounce = bounce_buffer(); /* NULL: read directly after all */
	if (bounce)
		ret = read_bounced(h->fd, bounce, iov, iovcnt, len,
				   (off_t)in->offset);
	else
		ret = rw_loop(h->fd, iov, iovcnt, len, (off_t)in->offset,
			      false);
	pt_handle_put(fs, h);
	return ret;
}

/*
 * CVE-2022-0358 class: a write that must clear the set-user/group-ID bits
 * runs as the requester (fsuid, fsgid, its group, no CAP_FSETID), so the
 * host clears exactly what it would for the same local writer, including
 * S_ISGID without group execute for a writer outside the file's group.
 * Only worth the credential switch when such a bit is set on @fd.
 */
static bool write_kills_priv(const struct pt_fs *fs, const struct fuse_ctx *ctx,
			     int fd, bool flag)
{
	struct stat st;

	return must_kill_priv(fs, ctx, flag) && fstat(fd, &st) == 0 &&
	       (st.st_mode & (S_ISUID | S_ISGID));
}

ssize_t pt_op_write(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		    const struct fuse_write_in *in, const struct iovec *iov,
		    int iovcnt)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h;
	struct pt_cred cred;
	bool as_caller;
	bool dropped = false;
	ssize_t ret;

	if (fs->opts.readonly)
		return -EROFS;
	if (in->offset > INT64_MAX)
		return -EINVAL;
	h = pt_handle_get_node(fs, in->fh, nodeid);
	if (!h)
		return -EBADF;
	as_caller = write_kills_priv(fs, ctx, h->fd,
				     in->write_flags & FUSE_WRITE_KILL_SUIDGID);
	if (as_caller) {
		ret = kill_priv_enter(ctx, &cred, &dropped);
		if (ret)
			goto out_handle;
	}
	ret = rw_loop(h->fd, iov, iovcnt, rw_len(in->size, iov, iovcnt),
		      (off_t)in->offset, true);
	if (as_caller)
		kill_priv_leave(&cred, dropped);
out_handle:
	pt_handle_put(fs, h);
	return ret;
}

int pt_op_flush(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		const struct fuse_flush_in *in)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h = pt_handle_get_node(fs, in->fh, nodeid);
	int ret = 0;
	int fd;

	if (!h)
		return -EBADF;
	/* What close(2) of the client's fd would report (NFS and friends
	 * write back on close), without closing the handle itself. */
	fd = dup(h->fd);
	if (fd < 0)
		ret = -errno;
	else if (close(fd) < 0)
		ret = -errno;
	pt_plock_release_owner(fs, h->node, in->lock_owner);
	pt_handle_put(fs, h);
	return ret;
}

int pt_op_release(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_release_in *in)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h = pt_handle_get_node(fs, in->fh, nodeid);

	if (!h)
		return -EBADF;
	if (in->release_flags & FUSE_RELEASE_FLOCK_UNLOCK)
		flock(h->fd, LOCK_UN);
	if (h->io_mode != PT_IO_UNTRACKED)
		passthrough_detach(fs, ctx, h);
	pt_handle_put(fs, h);
	return pt_handle_remove(fs, in->fh);
}

int pt_op_fsync(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		const struct fuse_fsync_in *in)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h = pt_handle_get_node(fs, in->fh, nodeid);
	int ret;

	if (!h)
		return -EBADF;
	if (in->fsync_flags & FUSE_FSYNC_FDATASYNC)
		ret = fdatasync(h->fd);
	else
		ret = fsync(h->fd);
	ret = ret < 0 ? -errno : 0;
	pt_handle_put(fs, h);
	return ret;
}

int pt_op_fallocate(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		    const struct fuse_fallocate_in *in)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h;
	int ret = 0;

	if (fs->opts.readonly)
		return -EROFS;
	if (in->offset > INT64_MAX || in->length > INT64_MAX)
		return -EINVAL;
	h = pt_handle_get_node(fs, in->fh, nodeid);
	if (!h)
		return -EBADF;
	if (fallocate(h->fd, (int)in->mode, (off_t)in->offset,
		      (off_t)in->length) < 0)
		ret = -errno;
	pt_handle_put(fs, h);
	return ret;
}

ssize_t pt_op_copy_file_range(void *vfs, const struct fuse_ctx *ctx,
			      const struct fuse_copy_file_range_in *in,
			      uint64_t nodeid_in)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *hin;
	struct pt_handle *hout;
	struct pt_cred cred;
	bool as_caller;
	bool dropped = false;
	loff_t off_in;
	loff_t off_out;
	ssize_t ret;

	if (fs->opts.readonly)
		return -EROFS;
	if (in->flags)
		return -EINVAL;
	if (in->off_in > INT64_MAX || in->off_out > INT64_MAX)
		return -EINVAL;
	hin = pt_handle_get_node(fs, in->fh_in, nodeid_in);
	if (!hin)
		return -EBADF;
	hout = pt_handle_get_node(fs, in->fh_out, in->nodeid_out);
	if (!hout) {
		ret = -EBADF;
		goto out_in;
	}
	off_in = (loff_t)in->off_in;
	off_out = (loff_t)in->off_out;
	/* A write into the output file: the same set-ID rules as WRITE
	 * (the request carries no kill flag of its own). */
	as_caller = write_kills_priv(fs, ctx, hout->fd, false);
	if (as_caller) {
		ret = kill_priv_enter(ctx, &cred, &dropped);
		if (ret)
			goto out_out;
	}
	ret = copy_file_range(hin->fd, &off_in, hout->fd, &off_out,
			      in->len > SSIZE_MAX ? SSIZE_MAX : in->len, 0);
	if (ret < 0)
		ret = -errno;
	if (as_caller)
		kill_priv_leave(&cred, dropped);
out_out:
	pt_handle_put(fs, hout);
out_in:
	pt_handle_put(fs, hin);
	return ret;
}

int pt_op_lseek(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		const struct fuse_lseek_in *in, uint64_t *offset)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h;
	off_t off;
	int ret = 0;

	switch (in->whence) {
	case SEEK_SET:
	case SEEK_CUR:
	case SEEK_END:
	case SEEK_DATA:
	case SEEK_HOLE:
		break;
	default:
		return -EINVAL;
	}
	h = pt_handle_get_node(fs, in->fh, nodeid);
	if (!h)
		return -EBADF;
	if (h->is_dir) {
		/* The directory stream's position belongs to READDIR. */
		ret = -EISDIR;
		goto out_handle;
	}
	/* Moves the shared file position: harmless, all I/O is positional
	 * and directories have their own handles. */
	off = lseek(h->fd, (off_t)in->offset, (int)in->whence);
	if (off < 0)
		ret = -errno;
	else
		*offset = (uint64_t)off;
out_handle:
	pt_handle_put(fs, h);
	return ret;
}

int pt_op_syncfs(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid)
{
	struct pt_fs *fs = vfs;
	struct pt_node *node = pt_node_get(fs, nodeid);
	struct pt_node *target;
	int ret = 0;
	int fd;

	if (!node)
		return -ENOENT;
	/* The client sends SYNCFS for each (sub)mount root; any other node
	 * syncs the share's file system. */
	target = S_ISDIR(node->type) ? node : fs->root;
	fd = pt_node_open(fs, target, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		ret = fd;
		goto out_node;
	}
	if (syncfs(fd) < 0)
		ret = -errno;
	close(fd);
out_node:
	pt_node_put(fs, node);
	return ret;
}
