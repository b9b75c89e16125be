// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directories: OPENDIR, READDIR/READDIRPLUS and RELEASEDIR (FSYNCDIR is
 * ops_file.c's FSYNC on the directory handle).
 *
 * OPENDIR opens the directory for reading. READDIR hands out the host's
 * entries with the host's own d_off cookies as offsets, so a listing
 * continues correctly however the client splits it: when the client asks
 * for an offset other than the handle's current one, the stream is
 * repositioned with lseek. The getdents64 buffer lives only as long as
 * the call and is sized to the reply: entries read but not sent (the
 * reply was full) are read again next time, after an lseek back to the
 * cookie of the last entry sent. So an open listing holds its fd and
 * nothing else, however many the client leaves open. For
 * READDIRPLUS every entry except "." and ".." is looked up (one lookup
 * reference each) only once the reply is known to have room for it. When
 * that lookup runs out of fds or memory (a guest that never forgets can
 * do that), the entry is listed without a node (nodeid 0, as "." and
 * ".."; the client looks it up later), so the listing itself survives.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops_i.h"

/* getdents64 buffer bounds; a record is at most 280 bytes. */
#define DIR_BUF_SIZE 32768
#define DIR_BUF_MIN 1024
/* h->dir_off when the stream's position is not known: no client offset
 * (at most INT64_MAX) matches it, so the next call repositions. */
#define DIR_OFF_UNKNOWN UINT64_MAX

/* The kernel's struct linux_dirent64 header. */
struct raw_dirent {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};

int pt_op_opendir(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_open_in *in, struct fuse_open_out *out)
{
	struct pt_fs *fs = vfs;
	struct pt_node *node = pt_node_get(fs, nodeid);
	uint64_t fh;
	int ret;
	int fd;

	if (!node)
		return -ENOENT;
	if (!S_ISDIR(node->type)) {
		pt_node_put(fs, node);
		return -ENOTDIR;
	}
	fd = pt_node_open(fs, node, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		pt_node_put(fs, node);
		return fd;
	}
	/* The handle takes over fd and the node reference. */
	fh = pt_handle_new(fs, node, fd, O_RDONLY | O_DIRECTORY, true, &ret);
	if (!fh)
		return ret;
	memset(out, 0, sizeof(*out));
	out->fh = fh;
	if (fs->opts.cache == PT_CACHE_ALWAYS)
		out->open_flags = FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE;
	return 0;
}

static bool is_dot_or_dotdot(const char *name, size_t len)
{
	return name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'));
}

/* A READDIRPLUS entry that carries no lookup reference: nodeid 0, only
 * the inode number and type the host listed. 1 when added, 0 when full. */
static int add_without_node(struct fuse_dirbuf *db, const struct raw_dirent *d,
			    size_t namelen)
{
	struct fuse_entry_out e;

	memset(&e, 0, sizeof(e));
	e.attr.ino = d->d_ino;
	e.attr.mode = (uint32_t)d->d_type << 12;
	return fuse_dirbuf_add_plus(db, d->d_name, namelen, &e,
				    (uint64_t)d->d_off);
}

/*
 * Emit one entry; returns 1 when it was consumed (added or skipped), 0
 * when it did not fit (keep it), or -errno.
 */
static int emit_entry(struct pt_fs *fs, struct pt_handle *h,
		      struct fuse_dirbuf *db, const struct raw_dirent *d,
		      size_t namelen)
{
	struct fuse_entry_out e;
	int ret;

	if (!fuse_dirbuf_is_plus(db))
		return fuse_dirbuf_add(db, d->d_name, namelen, d->d_ino,
				       d->d_type, (uint64_t)d->d_off);

	memset(&e, 0, sizeof(e));
	if (is_dot_or_dotdot(d->d_name, namelen)) {
		/* No lookup: ".." may lie outside the share. */
		return add_without_node(db, d, namelen);
	}
	if (!fuse_dirbuf_fits_plus(db, namelen))
		return 0;
	ret = pt_do_lookup(fs, h->node, d->d_name, &e);
	if (ret == -ENOENT)
		return 1; /* gone since getdents: skip it */
	if (ret == -EMFILE || ret == -ENFILE || ret == -ENOMEM)
		return add_without_node(db, d, namelen);
	if (ret)
		return ret;
	if (!fuse_dirbuf_add_plus(db, d->d_name, namelen, &e,
				  (uint64_t)d->d_off)) {
		/* NEVER after fits_plus; do not leak the reference. */
		pt_node_forget(fs, e.nodeid, 1);
		return 0;
	}
	return 1;
}

/*
 * Fill @db from the handle's stream with a @bufsize-byte getdents64
 * buffer; called with h->dir_mutex held. On return the stream stands at
 * h->dir_off, the cookie after the last entry sent (or DIR_OFF_UNKNOWN).
 */
static int readdir_locked(struct pt_fs *fs, struct pt_handle *h,
			  uint64_t offset, struct fuse_dirbuf *db,
			  size_t bufsize)
{
	const size_t hdr = offsetof(struct raw_dirent, d_name);
	size_t len = 0, pos = 0;
	char *buf;
	int ret = 0;

	if (offset != h->dir_off) {
		if (offset > INT64_MAX)
			return -EINVAL;
		if (lseek(h->fd, (off_t)offset, SEEK_SET) < 0)
			return -errno;
		h->dir_off = offset;
	}
	buf = malloc(bufsize);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		const struct raw_dirent *d;
		size_t namelen;
		ssize_t n;

		if (pos >= len) {
			n = getdents64(h->fd, buf, bufsize);
			if (n < 0) {
				ret = fuse_dirbuf_count(db) ? 0 : -errno;
				break;
			}
			if (n == 0)
				break; /* end of directory */
			len = (size_t)n;
			pos = 0;
		}
		d = (const struct raw_dirent *)(buf + pos);
		if (len - pos < hdr || d->d_reclen <= hdr ||
		    d->d_reclen > len - pos) {
			/* The host handed us garbage: skip the rest of it. */
			len = pos = 0;
			ret = fuse_dirbuf_count(db) ? 0 : -EIO;
			break;
		}
		namelen = strnlen(d->d_name, d->d_reclen - hdr);
		if (namelen == 0 || namelen == d->d_reclen - hdr)
			ret = 1; /* unterminated or empty name: skip */
		else
			ret = emit_entry(fs, h, db, d, namelen);
		if (ret <= 0) {
			/* full (0): this entry waits for the next call */
			if (ret < 0 && fuse_dirbuf_count(db))
				ret = 0;
			break;
		}
		pos += d->d_reclen;
		h->dir_off = (uint64_t)d->d_off;
	}
	/* Entries read but not sent are read again next time. */
	if (pos < len && lseek(h->fd, (off_t)h->dir_off, SEEK_SET) < 0)
		h->dir_off = DIR_OFF_UNKNOWN;
	free(buf);
	return ret > 0 ? 0 : ret;
}

int pt_op_readdir(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_read_in *in, struct fuse_dirbuf *db)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h = pt_handle_get_node(fs, in->fh, nodeid);
	size_t bufsize;
	int ret;

	if (!h)
		return -EBADF;
	if (!h->is_dir) {
		pt_handle_put(fs, h);
		return -ENOTDIR;
	}
	/* READDIRPLUS records are about five times larger than raw ones. */
	bufsize = fuse_dirbuf_is_plus(db) ? in->size / 4 : in->size;
	if (bufsize > DIR_BUF_SIZE)
		bufsize = DIR_BUF_SIZE;
	if (bufsize < DIR_BUF_MIN)
		bufsize = DIR_BUF_MIN;
	pthread_mutex_lock(&h->dir_mutex);
	ret = readdir_locked(fs, h, in->offset, db, bufsize);
	pthread_mutex_unlock(&h->dir_mutex);
	pt_handle_put(fs, h);
	return ret;
}

int pt_op_releasedir(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		     const struct fuse_release_in *in)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h = pt_handle_get_node(fs, in->fh, nodeid);

	if (!h)
		return -EBADF;
	pt_handle_put(fs, h);
	return pt_handle_remove(fs, in->fh);
}
