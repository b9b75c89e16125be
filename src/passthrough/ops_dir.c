// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directories: OPENDIR, READDIR/READDIRPLUS and RELEASEDIR (FSYNCDIR is
 * ops_file.c's FSYNC on the directory handle).
 *
 * OPENDIR opens the directory for reading and keeps a getdents64 buffer
 * in the handle. READDIR hands out the host's entries with the host's own
 * d_off cookies as offsets, so a listing continues correctly however the
 * client splits it: when the client asks for an offset other than the
 * handle's current one, the stream is repositioned with lseek. An entry
 * that does not fit the reply stays in the buffer for the next call. For
 * READDIRPLUS every entry except "." and ".." is looked up (one lookup
 * reference each) only once the reply is known to have room for it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops_i.h"

#define DIR_BUF_SIZE 32768

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
		e.attr.ino = d->d_ino;
		e.attr.mode = (uint32_t)d->d_type << 12;
		return fuse_dirbuf_add_plus(db, d->d_name, namelen, &e,
					    (uint64_t)d->d_off);
	}
	if (!fuse_dirbuf_fits_plus(db, namelen))
		return 0;
	ret = pt_do_lookup(fs, h->node, d->d_name, &e);
	if (ret == -ENOENT)
		return 1; /* gone since getdents: skip it */
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

/* Fill @db from the handle's stream; called with h->dir_mutex held. */
static int readdir_locked(struct pt_fs *fs, struct pt_handle *h,
			  uint64_t offset, struct fuse_dirbuf *db)
{
	const size_t hdr = offsetof(struct raw_dirent, d_name);

	if (!h->dir_buf) {
		h->dir_buf = malloc(DIR_BUF_SIZE);
		if (!h->dir_buf)
			return -ENOMEM;
	}
	if (offset != h->dir_off) {
		if (offset > INT64_MAX ||
		    lseek(h->fd, (off_t)offset, SEEK_SET) < 0)
			return offset > INT64_MAX ? -EINVAL : -errno;
		h->dir_len = 0;
		h->dir_pos = 0;
		h->dir_off = offset;
	}
	for (;;) {
		const struct raw_dirent *d;
		size_t namelen;
		ssize_t n;
		int ret;

		if (h->dir_pos >= h->dir_len) {
			n = getdents64(h->fd, h->dir_buf, DIR_BUF_SIZE);
			if (n < 0)
				return fuse_dirbuf_count(db) ? 0 : -errno;
			if (n == 0)
				return 0; /* end of directory */
			h->dir_len = n;
			h->dir_pos = 0;
		}
		d = (const struct raw_dirent *)(h->dir_buf + h->dir_pos);
		if (h->dir_len - h->dir_pos < hdr || d->d_reclen <= hdr ||
		    d->d_reclen > h->dir_len - h->dir_pos) {
			/* The host handed us garbage: drop the buffer. */
			h->dir_len = 0;
			h->dir_pos = 0;
			return fuse_dirbuf_count(db) ? 0 : -EIO;
		}
		namelen = strnlen(d->d_name, d->d_reclen - hdr);
		if (namelen == 0 || namelen == d->d_reclen - hdr) {
			ret = 1; /* unterminated or empty name: skip */
		} else {
			ret = emit_entry(fs, h, db, d, namelen);
		}
		if (ret < 0)
			return fuse_dirbuf_count(db) ? 0 : ret;
		if (ret == 0)
			return 0; /* full: this entry waits for the next call */
		h->dir_pos += d->d_reclen;
		h->dir_off = (uint64_t)d->d_off;
	}
}

int pt_op_readdir(void *vfs, const struct fuse_ctx *ctx, uint64_t nodeid,
		  const struct fuse_read_in *in, struct fuse_dirbuf *db)
{
	struct pt_fs *fs = vfs;
	struct pt_handle *h = pt_handle_get_node(fs, in->fh, nodeid);
	int ret;

	if (!h)
		return -EBADF;
	if (!h->is_dir) {
		pt_handle_put(fs, h);
		return -ENOTDIR;
	}
	pthread_mutex_lock(&h->dir_mutex);
	ret = readdir_locked(fs, h, in->offset, db);
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
