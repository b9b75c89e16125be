// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory listing buffers. fuse_do_readdir() sizes a buffer to what the
 * client asked for and can receive; the file system appends records with
 * fuse_dirbuf_add()/fuse_dirbuf_add_plus() until one does not fit; the
 * buffer is then sent as the reply payload. Records are fuse_dirent or
 * fuse_direntplus, each padded with zeros to FUSE_DIRENT_ALIGN.
 */
#include <string.h>
#include <linux/limits.h>

#include "fuse_i.h"

/* Bytes a record with a @namelen name takes, or 0 if absurd. */
static size_t rec_size(size_t namelen, bool plus)
{
	size_t base = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;

	if (namelen == 0 || namelen > NAME_MAX)
		return 0;
	return FUSE_DIRENT_ALIGN(base + namelen);
}

static bool has_room(const struct fuse_dirbuf *db, size_t rec)
{
	return rec != 0 && db->buf && rec <= db->size - db->len;
}

static void put_dirent(unsigned char *p, const char *name, size_t namelen,
		       uint64_t ino, uint32_t type, uint64_t next_off)
{
	struct fuse_dirent d = {
		.ino = ino,
		.off = next_off,
		.namelen = (uint32_t)namelen,
		.type = type,
	};

	memcpy(p, &d, FUSE_NAME_OFFSET);
	memcpy(p + FUSE_NAME_OFFSET, name, namelen);
}

bool fuse_dirbuf_add(struct fuse_dirbuf *db, const char *name, size_t namelen,
		     uint64_t ino, uint32_t type, uint64_t next_off)
{
	size_t rec = rec_size(namelen, false);

	if (db->plus || !has_room(db, rec))
		return false;
	memset(db->buf + db->len, 0, rec);
	put_dirent(db->buf + db->len, name, namelen, ino, type, next_off);
	db->len += rec;
	db->count++;
	return true;
}

bool fuse_dirbuf_fits_plus(const struct fuse_dirbuf *db, size_t namelen)
{
	return db->plus && has_room(db, rec_size(namelen, true));
}

bool fuse_dirbuf_add_plus(struct fuse_dirbuf *db, const char *name,
			  size_t namelen, const struct fuse_entry_out *entry,
			  uint64_t next_off)
{
	size_t rec = rec_size(namelen, true);
	unsigned char *p;

	if (!db->plus || !has_room(db, rec))
		return false;
	p = db->buf + db->len;
	memset(p, 0, rec);
	memcpy(p, entry, sizeof(*entry));
	put_dirent(p + offsetof(struct fuse_direntplus, dirent), name, namelen,
		   entry->attr.ino, (entry->attr.mode & 0170000) >> 12,
		   next_off);
	db->len += rec;
	db->count++;
	return true;
}

bool fuse_dirbuf_is_plus(const struct fuse_dirbuf *db)
{
	return db->plus;
}

size_t fuse_dirbuf_count(const struct fuse_dirbuf *db)
{
	return db->count;
}

void fuse_dirbuf_forget(struct fuse_session *se, const struct fuse_dirbuf *db)
{
	size_t off = 0;

	if (!db->plus || !se->ops->forget)
		return;
	while (off + FUSE_NAME_OFFSET_DIRENTPLUS <= db->len) {
		struct fuse_direntplus d;

		memcpy(&d, db->buf + off, sizeof(d));
		if (d.entry_out.nodeid)
			se->ops->forget(se->fs, d.entry_out.nodeid, 1);
		off += FUSE_DIRENTPLUS_SIZE(&d);
	}
}
