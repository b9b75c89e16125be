// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A stand-in for the parts of src/fuse/ the passthrough file system calls:
 * a directory buffer that records entries and runs out of room like the
 * real one (same record sizes), and request-interrupt helpers that report
 * "never interrupted". The tests link the passthrough sources with this
 * file instead of the FUSE server, so they exercise ->readdir too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_fuse.h"

static size_t rec_size(bool plus, size_t namelen)
{
	if (plus)
		return FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + namelen);
	return FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + namelen);
}

void fake_dirbuf_init(struct fuse_dirbuf *db, bool plus, size_t room)
{
	memset(db, 0, sizeof(*db));
	db->plus = plus;
	db->room = room;
}

static bool add(struct fuse_dirbuf *db, const char *name, size_t namelen,
		const struct fuse_entry_out *e, uint64_t ino, uint32_t type,
		uint64_t next_off)
{
	struct fake_dirent *d;
	size_t sz = rec_size(db->plus, namelen);

	if (db->used + sz > db->room || db->count == FAKE_DIRBUF_MAX ||
	    namelen >= sizeof(d->name))
		return false;
	d = &db->ents[db->count++];
	memcpy(d->name, name, namelen);
	d->name[namelen] = '\0';
	d->ino = ino;
	d->type = type;
	d->off = next_off;
	if (e)
		d->entry = *e;
	db->used += sz;
	return true;
}

bool fuse_dirbuf_add(struct fuse_dirbuf *db, const char *name, size_t namelen,
		     uint64_t ino, uint32_t type, uint64_t next_off)
{
	if (db->plus)
		return false; /* misuse: a plus listing takes add_plus only */
	return add(db, name, namelen, NULL, ino, type, next_off);
}

bool fuse_dirbuf_fits_plus(const struct fuse_dirbuf *db, size_t namelen)
{
	return db->used + rec_size(true, namelen) <= db->room &&
	       db->count < FAKE_DIRBUF_MAX;
}

bool fuse_dirbuf_add_plus(struct fuse_dirbuf *db, const char *name,
			  size_t namelen, const struct fuse_entry_out *entry,
			  uint64_t next_off)
{
	if (!db->plus)
		return false;
	return add(db, name, namelen, entry, entry->attr.ino,
		   (entry->attr.mode >> 12) & 017, next_off);
}

bool fuse_dirbuf_is_plus(const struct fuse_dirbuf *db)
{
	return db->plus;
}

size_t fuse_dirbuf_count(const struct fuse_dirbuf *db)
{
	return db->count;
}

bool fuse_req_interrupted(const struct fuse_ctx *ctx)
{
	return false;
}

bool fuse_req_block_begin(const struct fuse_ctx *ctx)
{
	return true;
}

void fuse_req_block_end(const struct fuse_ctx *ctx)
{
}

/* No client to register files with: INIT never grants passthrough here. */
int fuse_backing_open(const struct fuse_ctx *ctx, int fd)
{
	return -EOPNOTSUPP;
}

int fuse_backing_close(const struct fuse_ctx *ctx, int id)
{
	return -EOPNOTSUPP;
}

void fuse_open_out_passthrough(struct fuse_open_out *out, int id)
{
}
