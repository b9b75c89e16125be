// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sandbox-xattr: extended attributes of objects the daemon must not open
 * (a FIFO, a symlink) are reached through /proc/self/fd/N paths; inside a
 * sandbox /proc is not at /proc, so this checks that path still works.
 *
 *   sandbox-xattr SOCKET
 *
 * The share holds "fifo" with security.vfsd = "hi" and "link" (a
 * symlink). Steps: INIT; LOOKUP fifo; GETXATTR security.vfsd on it;
 * LOOKUP link; LISTXATTR (size query) on it; disconnect. Prints ok/not ok
 * lines; exit 0 or 1.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "frontend.h"

static int fails;

static void report(int r, const char *what)
{
	if (r) {
		printf("not ok - %s: %s\n", what, strerror(r < 0 ? -r : r));
		fails++;
	} else {
		printf("ok - %s\n", what);
	}
}

/* GETXATTR (@name) or LISTXATTR (@name NULL); the reply's error or size. */
static int xattr_req(struct vhf *fe, uint64_t nodeid, const char *name,
		     uint32_t size, char *value, size_t *value_len)
{
	struct fuse_getxattr_in in = { .size = size };
	struct {
		struct fuse_out_header h;
		char data[256];
	} reply;
	struct iovec args[2] = {
		{ &in, sizeof(in) },
		{ (void *)name, name ? strlen(name) + 1 : 0 },
	};
	size_t out_sizes[1] = { sizeof(reply) };
	size_t len = 0;
	int r;

	r = vhf_fuse(fe, 1, name ? FUSE_GETXATTR : FUSE_LISTXATTR, nodeid, args,
		     name ? 2 : 1, out_sizes, 1, &reply, sizeof(reply), &len);
	if (r)
		return r;
	if (reply.h.error)
		return reply.h.error;
	*value_len = len - sizeof(reply.h);
	if (value)
		memcpy(value, reply.data, *value_len);
	return 0;
}

int main(int argc, char **argv)
{
	struct vhf_opts opts = { .timeout_ms = 10000 };
	struct fuse_init_out init;
	struct fuse_entry_out e;
	char value[256];
	struct vhf *fe;
	size_t len = 0;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: sandbox-xattr SOCKET\n");
		return 2;
	}
	r = vhf_connect(&fe, argv[1], &opts);
	report(r, "connect and set up the device");
	if (r)
		return 1;
	report(vhf_fuse_init(fe, 1, 0, &init), "FUSE_INIT");

	r = vhf_fuse_lookup(fe, 1, FUSE_ROOT_ID, "fifo", &e);
	report(r, "LOOKUP fifo");
	if (!r) {
		r = xattr_req(fe, e.nodeid, "security.vfsd", sizeof(value),
			      value, &len);
		if (!r && (len != 2 || memcmp(value, "hi", 2) != 0))
			r = -EBADMSG;
		report(r, "GETXATTR security.vfsd of the FIFO is \"hi\"");
	}
	r = vhf_fuse_lookup(fe, 1, FUSE_ROOT_ID, "link", &e);
	report(r, "LOOKUP link");
	if (!r)
		report(xattr_req(fe, e.nodeid, NULL, 0, NULL, &len),
		       "LISTXATTR of the symlink");
	vhf_disconnect(fe);
	return fails ? 1 : 0;
}
