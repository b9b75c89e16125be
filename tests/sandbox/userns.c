// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sandbox-userns: the owners a daemon in a user namespace reports and
 * gives, as a guest sees them.
 *
 *   sandbox-userns SOCKET OP...
 *
 * OP is one of
 *   create:NAME          CREATE (then RELEASE) a file in the root
 *   lookup:NAME          LOOKUP a name in the root
 *   chown:NAME:UID:GID   LOOKUP (printed too), then SETATTR of its owner
 *   mknod:NAME           MKNOD of a character device (1:3, /dev/null's)
 *   as:UID:GID           send the requests that follow as UID:GID (the
 *                        ids in their FUSE headers are ours: this
 *                        process takes them, so start it as root)
 * and prints a line for each request: "attr NAME UID GID" with the owner
 * in the daemon's reply (the ids as the user namespace sees them), or
 * "error NAME ERRNO" with the errno of a refused request (positive).
 * Steps: connect, FUSE_INIT, the OPs in order, disconnect. Exit 0 when
 * every request got a reply (refusals included), 1 otherwise, 2 on
 * usage errors.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "frontend.h"

/*
 * One request with a reply of @out_len bytes after the header. Returns a
 * transport error (negative), or 0 with *err set to the reply's error
 * (0 or a negative errno) and the reply's body in @out.
 */
static int request(struct vhf *fe, uint32_t opcode, uint64_t nodeid,
		   const struct iovec *args, unsigned nargs, void *out,
		   size_t out_len, int *err)
{
	struct {
		struct fuse_out_header h;
		uint8_t body[512];
	} reply;
	size_t sizes[2] = { sizeof(reply.h), out_len };
	size_t len = 0;
	int r;

	if (out_len > sizeof(reply.body))
		return -EINVAL;
	r = vhf_fuse(fe, 1, opcode, nodeid, args, nargs, sizes, 2, &reply,
		     sizeof(reply), &len);
	if (r)
		return r;
	*err = reply.h.error;
	if (*err)
		return 0;
	if (len < sizeof(reply.h) + out_len)
		return -EBADMSG;
	memcpy(out, reply.body, out_len);
	return 0;
}

/*
 * request() about @name, whose reply holds the attributes @attr (inside
 * @out): prints "attr NAME UID GID" from them, or "error NAME ERRNO".
 * Returns a transport error, 0 when refused, 1 when served.
 */
static int report(struct vhf *fe, uint32_t opcode, uint64_t nodeid,
		  const struct iovec *args, unsigned nargs, void *out,
		  size_t out_len, const char *name,
		  const struct fuse_attr *attr)
{
	int r, err;

	r = request(fe, opcode, nodeid, args, nargs, out, out_len, &err);
	if (r)
		return r;
	if (err) {
		printf("error %s %d\n", name, -err);
		return 0;
	}
	printf("attr %s %u %u\n", name, attr->uid, attr->gid);
	return 1;
}

static int do_create(struct vhf *fe, const char *name)
{
	struct fuse_create_in in = { .flags = 01 /* O_WRONLY */,
				     .mode = 0100644 };
	struct iovec args[2] = {
		{ &in, sizeof(in) },
		{ (void *)name, strlen(name) + 1 },
	};
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} out = { 0 };
	int r;

	r = report(fe, FUSE_CREATE, FUSE_ROOT_ID, args, 2, &out, sizeof(out),
		   name, &out.e.attr);
	if (r <= 0)
		return r;
	return vhf_fuse_release(fe, 1, out.e.nodeid, out.o.fh, 01);
}

static int do_mknod(struct vhf *fe, const char *name)
{
	struct fuse_mknod_in in = { .mode = 020644, .rdev = (1 << 8) | 3 };
	struct iovec args[2] = {
		{ &in, sizeof(in) },
		{ (void *)name, strlen(name) + 1 },
	};
	struct fuse_entry_out e;
	int r;

	r = report(fe, FUSE_MKNOD, FUSE_ROOT_ID, args, 2, &e, sizeof(e), name,
		   &e.attr);
	return r < 0 ? r : 0;
}

/* LOOKUP: prints the owner, or the refusal (*nodeid 0 then). */
static int do_lookup(struct vhf *fe, const char *name, uint64_t *nodeid)
{
	struct iovec arg = { (void *)name, strlen(name) + 1 };
	struct fuse_entry_out e = { 0 };
	int r;

	*nodeid = 0;
	r = report(fe, FUSE_LOOKUP, FUSE_ROOT_ID, &arg, 1, &e, sizeof(e), name,
		   &e.attr);
	if (r <= 0)
		return r;
	*nodeid = e.nodeid;
	return 0;
}

static int do_chown(struct vhf *fe, const char *name, uint32_t uid,
		    uint32_t gid)
{
	struct fuse_setattr_in in = {
		.valid = FATTR_UID | FATTR_GID,
		.uid = uid,
		.gid = gid,
	};
	struct iovec arg = { &in, sizeof(in) };
	struct fuse_attr_out a;
	uint64_t nodeid;
	int r;

	r = do_lookup(fe, name, &nodeid);
	if (r || !nodeid)
		return r;
	r = report(fe, FUSE_SETATTR, nodeid, &arg, 1, &a, sizeof(a), name,
		   &a.attr);
	return r < 0 ? r : 0;
}

/* "UID:GID" (decimal) into *uid and *gid; false when malformed. */
static bool parse_ids(const char *s, unsigned long *uid, unsigned long *gid)
{
	char *end;

	*uid = strtoul(s, &end, 10);
	if (*end != ':')
		return false;
	*gid = strtoul(end + 1, &end, 10);
	return *end == '\0';
}

/* A request's transport error, 0, or 1 when @op is malformed. */
static int run_op(struct vhf *fe, char *op)
{
	char *arg = strchr(op, ':');
	unsigned long uid, gid;
	char *name;

	if (!arg)
		return 1;
	*arg++ = '\0';
	if (strcmp(op, "create") == 0)
		return do_create(fe, arg);
	if (strcmp(op, "mknod") == 0)
		return do_mknod(fe, arg);
	if (strcmp(op, "as") == 0) {
		if (!parse_ids(arg, &uid, &gid))
			return 1;
		if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
		    setresuid(uid, uid, uid))
			return -errno;
		return 0;
	}
	if (strcmp(op, "lookup") == 0) {
		uint64_t nodeid;

		return do_lookup(fe, arg, &nodeid);
	}
	if (strcmp(op, "chown") != 0)
		return 1;
	name = arg;
	arg = strchr(name, ':');
	if (!arg)
		return 1;
	*arg++ = '\0';
	if (!parse_ids(arg, &uid, &gid))
		return 1;
	return do_chown(fe, name, (uint32_t)uid, (uint32_t)gid);
}

int main(int argc, char **argv)
{
	struct vhf_opts opts = { .timeout_ms = 10000 };
	struct fuse_init_out init;
	struct vhf *fe;
	int r, fails = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: sandbox-userns SOCKET OP...\n");
		return 2;
	}
	r = vhf_connect(&fe, argv[1], &opts);
	if (r) {
		fprintf(stderr, "connect: %s\n", strerror(-r));
		return 1;
	}
	r = vhf_fuse_init(fe, 1, 0, &init);
	if (r) {
		fprintf(stderr, "FUSE_INIT: %s\n", strerror(-r));
		fails++;
	}
	for (int i = 2; i < argc && !fails; i++) {
		char op[256];

		snprintf(op, sizeof(op), "%s", argv[i]);
		r = run_op(fe, op);
		if (r > 0) {
			fprintf(stderr, "bad OP '%s'\n", argv[i]);
			vhf_disconnect(fe);
			return 2;
		}
		if (r) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
			fails++;
		}
	}
	vhf_disconnect(fe);
	return fails ? 1 : 0;
}
