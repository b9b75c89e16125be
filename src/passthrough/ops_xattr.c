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
 *
 * Who may do what (xattr_may): the calls run as the daemon, whose
 * capabilities (CAP_FOWNER, CAP_SETFCAP, and CAP_SYS_ADMIN when --modcaps
 * keeps it) a local user of the requester's uid would not have. For a
 * requester other than root, the host's rules that depend on the uid alone
 * are applied first: trusted.* is root's (values read as absent, names
 * left out of lists), security.* is written only by root (file
 * capabilities included), ACLs only by the file's owner, user.* only
 * where the mode bits could allow it and not in another user's sticky
 * directory. Guest root is root in the share: its requests get the
 * daemon's own answer; so does everyone when the daemon is not root.
 * What depends on the requester's full group list, which the daemon does
 * not have, is left to the client's check, so a refusal here is one the
 * host gives a local caller of that uid without capabilities too.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ops_i.h"
#include "xattrmap.h"

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

#define PREFIX_IS(name, p) (strncmp((name), (p), sizeof(p) - 1) == 0)

/* Whether the mode of @st could grant @bits (04 read, 02 write) to the
 * requester: the owner class for the owner; otherwise the group or the
 * other class, since membership in the file's group (or an ACL entry,
 * bounded by the group class) cannot be ruled out without the requester's
 * full group list. */
static bool mode_may_allow(const struct fuse_ctx *ctx, const struct stat *st,
			   mode_t bits)
{
	if (st->st_uid == ctx->uid)
		return ((st->st_mode >> 6) & bits) == bits;
	return (((st->st_mode >> 3) | st->st_mode) & bits) == bits;
}

/*
 * Whether requests of @ctx need the checks below: a requester other than
 * root, served by a daemon running as root (one that is not acts as
 * itself for everyone, with no capability the host would not give its
 * own uid).
 */
static bool for_other_user(const struct fuse_ctx *ctx)
{
	return ctx->uid != 0 && geteuid() == 0;
}

/*
 * The host's permission rules for xattr @name that depend on the
 * requester's uid only (see the note at the top); 0 to go ahead, or the
 * host's answer for a local caller of that uid without capabilities.
 */
static int xattr_may(const struct fuse_ctx *ctx, const struct pt_node *node,
		     const char *name, bool write)
{
	struct stat st;

	if (!for_other_user(ctx))
		return 0;
	if (PREFIX_IS(name, "trusted."))
		return write ? -EPERM : -ENODATA;
	if (PREFIX_IS(name, "security."))
		return write ? -EPERM : 0;
	if (!PREFIX_IS(name, "user.") &&
	    !(write && PREFIX_IS(name, "system.posix_acl_")))
		return 0; /* the host decides the rest alone */
	if (fstatat(node->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!PREFIX_IS(name, "user."))
		return st.st_uid == ctx->uid ? 0 : -EPERM; /* an ACL */
	/* user.* on other types: the host refuses by itself */
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;
	if (write && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) &&
	    st.st_uid != ctx->uid)
		return -EPERM;
	return mode_may_allow(ctx, &st, write ? 02 : 04) ? 0 : -EACCES;
}

/* Remove the trusted.* names from the name list @list of @len bytes, as
 * the host hides them from unprivileged callers; the new length. */
static size_t list_drop_trusted(char *list, size_t len)
{
	size_t in = 0;
	size_t out = 0;

	while (in < len) {
		size_t n = strnlen(list + in, len - in);
		size_t step = n < len - in ? n + 1 : n;

		if (n < sizeof("trusted.") - 1 ||
		    !PREFIX_IS(list + in, "trusted.")) {
			memmove(list + out, list + in, step);
			out += step;
		}
		in += step;
	}
	return out;
}

static bool is_acl_name(const char *name)
{
	return strcmp(name, "system.posix_acl_access") == 0 ||
	       strcmp(name, "system.posix_acl_default") == 0;
}

/* xattr_may() for the guest's name and, when the map renames it, for the
 * host's too: a rule either name calls for applies. */
static int xattr_may2(const struct fuse_ctx *ctx, const struct pt_node *node,
		      const char *name, const char *host, bool write)
{
	int ret = xattr_may(ctx, node, name, write);

	if (!ret && host != name)
		ret = xattr_may(ctx, node, host, write);
	return ret;
}

int pt_xattr_host_name(const struct pt_fs *fs, const char *name, char *buf,
		       size_t len, const char **host)
{
	int ret;

	if (!fs->xattrmap) {
		*host = name;
		return 0;
	}
	ret = pt_xattrmap_to_host(fs->xattrmap, name, buf, len);
	if (ret)
		return ret;
	*host = buf;
	return 0;
}

/*
 * The node for an xattr request with one reference, or an error; for a
 * request naming an attribute, *@host is the name to use on the host
 * (through --xattrmap, in @hbuf of XATTR_NAME_MAX + 1 bytes).
 */
static int xattr_begin(struct pt_fs *fs, uint64_t nodeid, const char *name,
		       char *hbuf, const char **host, struct pt_node **node,
		       struct xattr_target *t)
{
	int ret;

	if (!fs->opts.xattr)
		return -ENOSYS;
	if (name) {
		ret = xattr_name_check(name);
		if (!ret)
			ret = pt_xattr_host_name(fs, name, hbuf,
						 XATTR_NAME_MAX + 1, host);
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
	char hbuf[XATTR_NAME_MAX + 1];
	struct pt_node *node;
	struct xattr_target t;
	struct pt_cred cred;
	const char *host;
	bool as_requester;
	void *acl = NULL;
	int ret;

	if (!fs->opts.xattr)
		return -ENOSYS;
	if (fs->opts.readonly)
		return -EROFS;

	if (size > XATTR_SIZE_MAX)
		return -E2BIG;
	if (flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;

	ret = xattr_begin(fs, nodeid, name, hbuf, &host, &node, &t);
	if (ret)
		return ret;
	ret = xattr_may2(ctx, node, name, host, true);
	if (ret)
		goto out_end;
	/*
	 * Setting an access ACL clears S_ISGID when the caller is not in
	 * the file's group and lacks CAP_FSETID. The client asks for that
	 * with ACL_KILL_SGID; acting as the requester (pt_cred_enter drops
	 * CAP_FSETID for non-root) lets the host decide exactly as it would
	 * for a local caller.
	 *
	 * Everything else is set as the daemon, once xattr_may() has
	 * applied the rules that the daemon's capabilities would bypass:
	 * trusted.* and security.* are then root's alone, with the host's
	 * answer for a root holding the daemon's capabilities.
	 */
	/* The ids inside an ACL, as the host's (--translate-*). */
	if (fs->translating && is_acl_name(name)) {
		acl = malloc(size ? size : 1);
		if (!acl) {
			ret = -ENOMEM;
			goto out_end;
		}
		memcpy(acl, value, size);
		ret = pt_idtrans_acl(&fs->uids, &fs->gids, acl, size, true);
		if (ret)
			goto out_end;
		value = acl;
	}
	as_requester = (setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID) &&
		       strcmp(host, "system.posix_acl_access") == 0;

	if (as_requester) {
		ret = pt_cred_enter(ctx, &cred);
		if (ret)
			goto out_end;
	}
	if (t.fd >= 0)
		ret = fsetxattr(t.fd, host, value, size, (int)flags);
	else
		ret = setxattr(t.path, host, value, size, (int)flags);
	if (ret)
		ret = -errno;
	if (as_requester)
		pt_cred_leave(&cred);
out_end:
	free(acl);
	xattr_end(fs, node, &t);
	return ret;
}

ssize_t pt_getxattr(void *fs_, const struct fuse_ctx *ctx, uint64_t nodeid,
		    const char *name, void *buf, size_t size)
{
	struct pt_fs *fs = fs_;
	char hbuf[XATTR_NAME_MAX + 1];
	struct pt_node *node;
	struct xattr_target t;
	const char *host;
	ssize_t n;
	int ret;

	ret = xattr_begin(fs, nodeid, name, hbuf, &host, &node, &t);
	/* A name the map refuses reads as absent, as in both peers. */
	if (ret == -EPERM && fs->xattrmap)
		return -ENODATA;
	if (ret)
		return ret;
	ret = xattr_may2(ctx, node, name, host, false);
	if (ret) {
		xattr_end(fs, node, &t);
		return ret;
	}
	/* No value is larger, so a larger buffer is never needed. */
	if (size > XATTR_SIZE_MAX)
		size = XATTR_SIZE_MAX;
	if (size == 0)
		buf = NULL;

	if (t.fd >= 0)
		n = fgetxattr(t.fd, host, buf, size);
	else
		n = getxattr(t.path, host, buf, size);
	if (n < 0)
		n = -errno;
	/* The host's ids inside an ACL, as the guest's; a value the host
	 * holds that is no ACL goes back as it is. */
	if (n > 0 && buf && fs->translating && is_acl_name(name))
		(void)pt_idtrans_acl(&fs->uids, &fs->gids, buf, (size_t)n,
				     false);
	xattr_end(fs, node, &t);
	return n;
}

/* LISTXATTR through the map or for a requester other than root: the
 * whole list, renamed and filtered by the map, without the trusted.*
 * names for the requester other than root, then the size or the names as
 * asked. */
static ssize_t list_filtered(const struct pt_fs *fs, const struct fuse_ctx *ctx,
			     const struct xattr_target *t, char *buf,
			     size_t size)
{
	char *all = malloc(2 * (size_t)XATTR_LIST_MAX);
	char *mapped = all + XATTR_LIST_MAX;
	ssize_t n;

	if (!all)
		return -ENOMEM;
	if (t->fd >= 0)
		n = flistxattr(t->fd, all, XATTR_LIST_MAX);
	else
		n = listxattr(t->path, all, XATTR_LIST_MAX);
	if (n < 0) {
		n = -errno;
		goto out_free;
	}
	if (fs->xattrmap) {
		/* Never longer than the host's: names only lose prefixes. */
		n = pt_xattrmap_list(fs->xattrmap, all, (size_t)n, mapped,
				     XATTR_LIST_MAX);
		if (n < 0)
			goto out_free;
		memcpy(all, mapped, (size_t)n);
	}
	if (for_other_user(ctx))
		n = (ssize_t)list_drop_trusted(all, (size_t)n);
	if (size == 0)
		goto out_free;
	if ((size_t)n > size)
		n = -ERANGE;
	else
		memcpy(buf, all, (size_t)n);
out_free:
	free(all);
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

	ret = xattr_begin(fs, nodeid, NULL, NULL, NULL, &node, &t);
	if (ret)
		return ret;
	if (fs->xattrmap || for_other_user(ctx)) {
		n = list_filtered(fs, ctx, &t, buf, size);
		xattr_end(fs, node, &t);
		return n;
	}
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
	char hbuf[XATTR_NAME_MAX + 1];
	struct pt_node *node;
	struct xattr_target t;
	const char *host;
	int ret;

	if (fs->opts.xattr && fs->opts.readonly)
		return -EROFS;
	/* As the daemon, like setxattr (see there for security/trusted). */
	ret = xattr_begin(fs, nodeid, name, hbuf, &host, &node, &t);
	if (ret)
		return ret;
	ret = xattr_may2(ctx, node, name, host, true);
	if (ret) {
		xattr_end(fs, node, &t);
		return ret;
	}
	if (t.fd >= 0)
		ret = fremovexattr(t.fd, host);
	else
		ret = removexattr(t.path, host);
	if (ret)
		ret = -errno;
	xattr_end(fs, node, &t);
	return ret;
}

void pt_xattr_drop_mapped_caps(struct pt_fs *fs, struct pt_node *node)
{
	char hbuf[XATTR_NAME_MAX + 1];
	struct xattr_target t;
	const char *host;

	/*
	 * The host drops security.capability itself on chown and truncate;
	 * stored under another name it is the daemon's to drop, as the
	 * host kernel would for the real one (the Rust virtiofsd does the
	 * same on SETATTR).
	 */
	if (!fs->xattrmap || !S_ISREG(node->type) ||
	    pt_xattr_host_name(fs, "security.capability", hbuf, sizeof(hbuf),
			       &host) ||
	    strcmp(host, "security.capability") == 0)
		return;
	if (xattr_target_get(fs, node, &t))
		return;
	/* ENODATA, the usual answer, and any other failure change nothing
	 * the request asked for. */
	if (t.fd >= 0)
		(void)fremovexattr(t.fd, host);
	else
		(void)removexattr(t.path, host);
	xattr_target_put(&t);
}

int pt_secctx_set(struct pt_fs *fs, const struct fuse_ctx *ctx,
		  const struct pt_node *dir, const char *name, int fd)
{
	static const char prefix[] = "security.";
	char hbuf[XATTR_NAME_MAX + 1];
	char path[32 + NAME_MAX + 1];
	const char *host;
	int ret;

	if (!ctx->secctx_name || !fs->opts.security_label)
		return 0;
	/* An LSM's label, never a way around xattr_may() for the rest. */
	if (strncmp(ctx->secctx_name, prefix, sizeof(prefix) - 1) != 0 ||
	    !ctx->secctx_name[sizeof(prefix) - 1])
		return -EINVAL;
	if (ctx->secctx_len > XATTR_SIZE_MAX)
		return -E2BIG;
	ret = pt_xattr_host_name(fs, ctx->secctx_name, hbuf, sizeof(hbuf),
				 &host);
	if (ret)
		return ret;
	if (fd >= 0) {
		ret = fsetxattr(fd, host, ctx->secctx_value, ctx->secctx_len,
				0);
	} else {
		/* Through the parent's magic link; the last component is
		 * not followed, so a symlink gets the label itself. */
		if ((size_t)snprintf(path, sizeof(path), "%s%d/%s",
				     fs->proc_is_cwd ? "" : "/proc/self/fd/",
				     dir->fd, name) >= sizeof(path))
			return -ENAMETOOLONG;
		ret = lsetxattr(path, host, ctx->secctx_value, ctx->secctx_len,
				0);
	}
	return ret < 0 ? -errno : 0;
}
