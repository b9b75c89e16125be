// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Notifications: unsolicited messages to the client. Each sender builds a
 * fuse_out_header (unique 0, error = the notify code), the notify_*_out
 * struct and any name or data, and hands the pieces to the transport's
 * ->notify(). Nothing is sent before INIT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/limits.h>

#include "fuse_i.h"
#include "util/iov.h"

/* names travel NUL-terminated; the caller's need not be */
static const char nul[1];

static int send_notify(struct fuse_session *se, int code, struct iovec *iov,
		       int cnt)
{
	struct fuse_out_header oh = { .error = code };
	size_t len;

	if (!se->tops->notify)
		return -ENOSYS;
	if (!fuse_se_initialized(se))
		return -ENOTCONN;
	/* iov[0] is reserved for the header */
	len = sizeof(oh) + iov_size(iov + 1, cnt - 1);
	if (len > UINT32_MAX)
		return -EINVAL;
	oh.len = (uint32_t)len;
	iov[0].iov_base = &oh;
	iov[0].iov_len = sizeof(oh);
	return se->tops->notify(se->tdata, iov, cnt);
}

int fuse_notify_inval_inode(struct fuse_session *se, uint64_t nodeid,
			    int64_t off, int64_t len)
{
	struct fuse_notify_inval_inode_out o = {
		.ino = nodeid,
		.off = off,
		.len = len,
	};
	struct iovec iov[2] = { [1] = { &o, sizeof(o) } };

	return send_notify(se, FUSE_NOTIFY_INVAL_INODE, iov, 2);
}

/* A notification made of @o (@osize bytes) and a NUL-terminated name. */
static int send_name_notify(struct fuse_session *se, int code, const void *o,
			    size_t osize, const char *name, size_t namelen)
{
	struct iovec iov[4] = {
		[1] = { (void *)o, osize },
		[2] = { (void *)name, namelen },
		[3] = { (void *)nul, 1 },
	};

	if (!name || namelen == 0 || namelen > NAME_MAX ||
	    memchr(name, '\0', namelen))
		return -EINVAL;
	return send_notify(se, code, iov, 4);
}

int fuse_notify_inval_entry(struct fuse_session *se, uint64_t parent,
			    const char *name, size_t namelen)
{
	struct fuse_notify_inval_entry_out o = {
		.parent = parent,
		.namelen = (uint32_t)namelen,
	};

	return send_name_notify(se, FUSE_NOTIFY_INVAL_ENTRY, &o, sizeof(o),
				name, namelen);
}

int fuse_notify_delete(struct fuse_session *se, uint64_t parent, uint64_t child,
		       const char *name, size_t namelen)
{
	struct fuse_notify_delete_out o = {
		.parent = parent,
		.child = child,
		.namelen = (uint32_t)namelen,
	};

	return send_name_notify(se, FUSE_NOTIFY_DELETE, &o, sizeof(o), name,
				namelen);
}

int fuse_notify_store(struct fuse_session *se, uint64_t nodeid, uint64_t off,
		      const struct iovec *data, int datacnt)
{
	struct fuse_notify_store_out o = {
		.nodeid = nodeid,
		.offset = off,
	};
	size_t size = iov_size(data, datacnt);
	struct iovec *iov;
	int ret;

	if (datacnt < 0 || datacnt > FUSE_PAYLOAD_IOV_MAX ||
	    size > UINT32_MAX - sizeof(o) - sizeof(struct fuse_out_header))
		return -EINVAL;
	o.size = (uint32_t)size;
	iov = calloc((size_t)datacnt + 2, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	iov[1].iov_base = &o;
	iov[1].iov_len = sizeof(o);
	for (int i = 0; i < datacnt; i++)
		iov[i + 2] = data[i];
	ret = send_notify(se, FUSE_NOTIFY_STORE, iov, datacnt + 2);
	free(iov);
	return ret;
}

int fuse_notify_poll_wakeup(struct fuse_session *se, uint64_t kh)
{
	struct fuse_notify_poll_wakeup_out o = { .kh = kh };
	struct iovec iov[2] = { [1] = { &o, sizeof(o) } };

	return send_notify(se, FUSE_NOTIFY_POLL, iov, 2);
}
