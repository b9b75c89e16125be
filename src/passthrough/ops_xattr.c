// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes: SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR.
 *
 * A request flows: xattr support switched off -> ENOSYS (the Linux client
 * then stops asking); the name and sizes are bounded; the node is looked up;
 * the node's object is reached without ever opening a device, FIFO or
 * socket (xattr_target_get); the host call runs and its answer, including
 * ERANGE for a too-small buffer and EPERM for user.* on a symlink, goes back
 * to the client unchanged.
 *
 * Reaching the object: regular files and directories are reopened through
 * /proc/self/fd (pt_node_open) and served with the f*xattr() calls. Other
 * types cannot be opened safely (and a symlink cannot be opened at all), so
 * they use the path "/proc/self/fd/N" of the node's O_PATH fd with the
 * following forms getxattr()/setxattr()/...: following that magic link lands
 * on the object the fd refers to - for an O_PATH|O_NOFOLLOW fd of a symlink,
 * the symlink itself, not its target - whereas the l*xattr() forms would act
 * on the /proc link and fail with EOPNOTSUPP (checked on Linux 6.18).
 * The path form needs /proc mounted at /proc in the daemon's view, or, in
 * a sandbox (pt_set_proc_self_fd), the current directory set once and for
 * all to /proc/self/fd and the relative path "N"; an fchdir() around each
 * call is not safe with several threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "passthrough_i.h"

/* Where the host calls act: an fd we opened, or else a /proc path. */
struct xattr_target {
	int fd; /* owned; -1 when the path form is used */
	char path[32]; /* "/proc/self/fd/N" of the node's O_PATH fd */
};

static int xattr_target_get(struct pt_fs *fs, struct pt_node *node,
			    struct xattr_target *t)
{
	t->fd = -1;
	t->path[0] = '\0';
	if (node->type == S_IFREG || node->type == S_IFDIR) {
		int fd = pt_node_open(
			fs, node, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

		if (fd < 0)
			return fd;
		t->fd = fd;
		return 0;
	}
	snprintf(t->path, sizeof(t->path), "%s%d",
		 fs->proc_is_cwd ? "" : "/proc/self/fd/", node->fd);
	return 0;
}

static void xattr_target_put(struct xattr_target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* The host refuses empty and over-long names with ERANGE; do it first. */
static int xattr_name_check(const char *name)
{
	size_t len = strnlen(name, XATTR_NAME_MAX + 1);

	if (len == 0 || len > XATTR_NAME_MAX)
		return -ERANGE;
	return 0;
}

/* The node for an xattr request with one reference, or an error. */
static int xattr_begin(struct pt_fs *fs, uint64_t nodeid, const char *name,
		       struct pt_node **node, struct xattr_target *t)
{
	int ret;

	if (!fs->opts.xattr)
		return -ENOSYS;
	if (name) {
		ret = xattr_name_check(name);
		if (ret)
			return ret;
	}
	*node = pt_node_get(fs, nodeid);
	if (!*node)
		return -ENOENT;
	ret = xattr_target_get(fs, *node, t);
	if (ret) {
		pt_node_put(fs, *node);
		return ret;
	}
	return 0;
}

static void xattr_end(struct pt_fs *fs, struct pt_node *node,
		      struct xattr_target *t)
{
	xattr_target_put(t);
	pt_node_put(fs, node);
}

int pt_setxattr(void *fs_, const struct fuse_ctx *ctx, uint64_t nodeid,
		const char *name, const void *value, size_t size,
		uint32_t flags, uint32_t setxattr_flags)
{
	struct pt_fs *fs = fs_;
	struct pt_node *node;
	struct xattr_target t;
	struct pt_cred cred;
	bool as_requester;
	int ret;

	if (!fs->opts.xattr)
		return -ENOSYS;
	if (size > XATTR_SIZE_MAX)
		return -E2BIG;
	if (flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;

	ret = xattr_begin(fs, nodeid, name, &node, &t);
	if (ret)
		return ret;
	/*
	 * Setting an access ACL clears S_ISGID when the caller is not in
	 * the file's group and lacks CAP_FSETID. The client asks for that
	 * with ACL_KILL_SGID; acting as the requester (pt_cred_enter drops
	 * CAP_FSETID for non-root) lets the host decide exactly as it would
	 * for a local caller.
	 *
	 * Everything else is set as the daemon: the client has already
	 * checked the caller's permission. That includes "security.*" and
	 * "trusted.*", which therefore get the host's semantics for a root
	 * caller (issue 5 revisits how these namespaces are exposed).
	 */
	as_requester = (setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID) &&
		       strcmp(name, "system.posix_acl_access") == 0;

	if (as_requester) {
		ret = pt_cred_enter(ctx, &cred);
		if (ret)
			goto out_end;
	}
	if (t.fd >= 0)
		ret = fsetxattr(t.fd, name, value, size, (int)flags);
	else
		ret = setxattr(t.path, name, value, size, (int)flags);
	if (ret)
		ret = -errno;
	if (as_requester)
		pt_cred_leave(&cred);
out_end:
	xattr_end(fs, node, &t);
	return ret;
}

ssize_t pt_getxattr(void *fs_, const struct fuse_ctx *ctx, uint64_t nodeid,
		    const char *name, void *buf, size_t size)
{
	struct pt_fs *fs = fs_;
	struct pt_node *node;
	struct xattr_target t;
	ssize_t n;
	int ret;

	ret = xattr_begin(fs, nodeid, name, &node, &t);
	if (ret)
		return ret;
	/* No value is larger, so a larger buffer is never needed. */
	if (size > XATTR_SIZE_MAX)
		size = XATTR_SIZE_MAX;
	if (size == 0)
		buf = NULL;

	if (t.fd >= 0)
		n = fgetxattr(t.fd, name, buf, size);
	else
		n = getxattr(t.path, name, buf, size);
	if (n < 0)
		n = -errno;
	xattr_end(fs, node, &t);
	return n;
}

ssize_t pt_listxattr(void *fs_, const struct fuse_ctx *ctx, uint64_t nodeid,
		     char *buf, size_t size)
{
	struct pt_fs *fs = fs_;
	struct pt_node *node;
	struct xattr_target t;
	ssize_t n;
	int ret;

	ret = xattr_begin(fs, nodeid, NULL, &node, &t);
	if (ret)
		return ret;
	if (size > XATTR_LIST_MAX)
		size = XATTR_LIST_MAX;
	if (size == 0)
		buf = NULL;

	if (t.fd >= 0)
		n = flistxattr(t.fd, buf, size);
	else
		n = listxattr(t.path, buf, size);
	if (n < 0)
		n = -errno;
	xattr_end(fs, node, &t);
	return n;
}

int pt_removexattr(void *fs_, const struct fuse_ctx *ctx, uint64_t nodeid,
		   const char *name)
{
	struct pt_fs *fs = fs_;
	struct pt_node *node;
	struct xattr_target t;
	int ret;

	/* As the daemon, like setxattr (see there for security/trusted). */
	ret = xattr_begin(fs, nodeid, name, &node, &t);
	if (ret)
		return ret;
	if (t.fd >= 0)
		ret = fremovexattr(t.fd, name);
	else
		ret = removexattr(t.path, name);
	if (ret)
		ret = -errno;
	xattr_end(fs, node, &t);
	return ret;
}
