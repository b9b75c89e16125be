/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The test double of src/fuse/'s directory buffer (fake_fuse.c). */
#ifndef VFSD_TEST_FAKE_FUSE_H
#define VFSD_TEST_FAKE_FUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuse/fuse_fs.h"

#define FAKE_DIRBUF_MAX 512

struct fake_dirent {
	char name[256];
	uint64_t ino;
	uint32_t type;
	uint64_t off;
	struct fuse_entry_out entry; /* plus listings only */
};

struct fuse_dirbuf {
	bool plus;
	size_t room; /* bytes the reply may take, as the client's size */
	size_t used;
	size_t count;
	struct fake_dirent ents[FAKE_DIRBUF_MAX];
};

void fake_dirbuf_init(struct fuse_dirbuf *db, bool plus, size_t room);

#endif /* VFSD_TEST_FAKE_FUSE_H */
