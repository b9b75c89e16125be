// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-user sockets and message framing.
 *
 * A message flows in here first: vu_msg_recv() reads the 12-byte header
 * with recvmsg() (the fds ride on its first byte, received close-on-exec),
 * checks version and size before reading any payload, then reads exactly
 * `size` payload bytes. Fds that do not fit the message buffer make the
 * message refused (they are closed). Replies leave through vu_msg_reply().
 *
 * vu_listen()/vu_accept() create the listening socket (0600, or 0660 for
 * a group; a stale socket file is replaced) and accept frontends.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "log/log.h"
#include "vhost_i.h"

void vu_msg_close_fds(struct vu_msg *msg)
{
	for (unsigned int i = 0; i < msg->nfds; i++) {
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
		msg->fds[i] = -1;
	}
	msg->nfds = 0;
}

/* Keep the fds of every SCM_RIGHTS block in @mh; those past the buffer are
 * closed and the message marked for refusal. */
static void collect_fds(struct vu_msg *msg, struct msghdr *mh)
{
	if (mh->msg_flags & MSG_CTRUNC)
		msg->fds_truncated = true; /* the kernel dropped the rest */

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		if (c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const unsigned char *data = CMSG_DATA(c);

		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, data + i * sizeof(int), sizeof(fd));
			if (msg->nfds < VHOST_USER_MAX_FDS) {
				msg->fds[msg->nfds++] = fd;
			} else {
				close(fd);
				msg->fds_truncated = true;
			}
		}
	}
}

/* Read exactly @len bytes into @buf, collecting fds. Returns the bytes
 * read (less than @len only at end of stream) or -errno. */
static ssize_t recv_full(int fd, struct vu_msg *msg, void *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	size_t got = 0;

	while (got < len) {
		struct iovec iov = {
			.iov_base = (char *)buf + got,
			.iov_len = len - got,
		};
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof(control.buf),
		};
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		collect_fds(msg, &mh);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int vu_msg_recv(struct vu_dev *dev, int fd, struct vu_msg *msg)
{
	ssize_t n;

	msg->nfds = 0;
	msg->fds_truncated = false;

	n = recv_full(fd, msg, &msg->hdr, sizeof(msg->hdr));
	if (n < 0)
		goto out_close_fds;
	if (n == 0 && msg->nfds == 0)
		return 0; /* clean end of stream */
	if ((size_t)n < sizeof(msg->hdr)) {
		vu_refuse(dev, VU_FATAL,
			  "stream ended inside a header (%zd of %zu bytes)", n,
			  sizeof(msg->hdr));
		n = -ECONNRESET;
		goto out_close_fds;
	}
	if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) {
		vu_refuse(dev, VU_FATAL,
			  "request %u: bad version in flags 0x%x",
			  msg->hdr.request, msg->hdr.flags);
		n = -EPROTO;
		goto out_close_fds;
	}
	if (msg->hdr.size > VHOST_USER_MAX_PAYLOAD) {
		vu_refuse(dev, VU_FATAL,
			  "request %u: payload size %u exceeds %u",
			  msg->hdr.request, msg->hdr.size,
			  VHOST_USER_MAX_PAYLOAD);
		n = -EPROTO;
		goto out_close_fds;
	}
	if (msg->hdr.size == 0)
		return 1;

	n = recv_full(fd, msg, &msg->payload, msg->hdr.size);
	if (n < 0)
		goto out_close_fds;
	if ((size_t)n < msg->hdr.size) {
		vu_refuse(
			dev, VU_FATAL,
			"stream ended inside request %u (%zd of %u payload bytes)",
			msg->hdr.request, n, msg->hdr.size);
		n = -ECONNRESET;
		goto out_close_fds;
	}
	return 1;

out_close_fds:
	vu_msg_close_fds(msg);
	return (int)n;
}

int vu_msg_reply(int fd, uint32_t request, const void *payload, uint32_t len)
{
	struct vhost_user_hdr hdr = {
		.request = request,
		.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
		.size = len,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	size_t left = sizeof(hdr) + len;

	while (left > 0) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		left -= (size_t)n;
		/* Advance past what was sent (short writes are rare). */
		while (n > 0 && mh.msg_iovlen > 0) {
			if ((size_t)n < mh.msg_iov->iov_len) {
				mh.msg_iov->iov_base =
					(char *)mh.msg_iov->iov_base + n;
				mh.msg_iov->iov_len -= (size_t)n;
				n = 0;
			} else {
				n -= (ssize_t)mh.msg_iov->iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

/* Parse a group name or number. */
static int lookup_group(const char *group, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096];
	char *end;
	unsigned long v;
	int rc;

	rc = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
	if (rc == 0 && res) {
		*gid = res->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(group, &end, 10);
	if (errno || end == group || *end || v >= (gid_t)-1)
		return rc ? -rc : -ENOENT;
	*gid = (gid_t)v;
	return 0;
}

/* Decide what to do with an existing file at @path: 0 if it is gone or
 * was a stale socket (now removed), else -errno. */
static int clear_stale(const char *path, const struct sockaddr_un *sa,
		       const char **msg)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		*msg = "cannot inspect the existing socket path";
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*msg = "socket path exists and is not a socket";
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*msg = "socket";
		return -errno;
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		*msg = "another process is listening on the socket path";
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED) {
		*msg = "cannot probe the existing socket";
		return -EADDRINUSE;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		*msg = "cannot remove the stale socket";
		return -errno;
	}
	return 0;
}

int vu_listen(const char *path, const char *group, int *fd_out,
	      const char **msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t mode = group ? 0660 : 0600;
	gid_t gid = (gid_t)-1;
	const char *dummy;
	int fd, rc;

	if (!msg)
		msg = &dummy;
	*msg = NULL;
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path)) {
		*msg = "socket path empty or too long";
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (group) {
		rc = lookup_group(group, &gid);
		if (rc < 0) {
			*msg = "unknown socket group";
			return rc;
		}
	}

	rc = clear_stale(path, &sa, msg);
	if (rc < 0)
		return rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*msg = "socket";
		return -errno;
	}
	/* The socket inode's mode becomes the file's mode at bind (less the
	 * umask), so the file is never more open than @mode, not even
	 * between bind() and chmod(). */
	if (fchmod(fd, mode) < 0) {
		rc = -errno;
		*msg = "fchmod on the socket";
		goto out_close;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		*msg = "bind";
		goto out_close;
	}
	if (fchmodat(AT_FDCWD, path, mode, 0) < 0) {
		rc = -errno;
		*msg = "chmod of the socket file";
		goto out_unlink;
	}
	if (group &&
	    fchownat(AT_FDCWD, path, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = -errno;
		*msg = "chown of the socket file to its group";
		goto out_unlink;
	}
	if (listen(fd, 1) < 0) {
		rc = -errno;
		*msg = "listen";
		goto out_unlink;
	}
	*fd_out = fd;
	return 0;

out_unlink:
	unlink(path);
out_close:
	close(fd);
	return rc;
}

int vu_accept(int listen_fd)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			struct ucred cred;
			socklen_t len = sizeof(cred);

			if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred,
				       &len) == 0)
				/* any process that may connect can repeat it */
				log_ratelimited(
					LOG_LEVEL_INFO,
					"vhost-user: frontend connected (pid %d, uid %u)",
					(int)cred.pid, (unsigned int)cred.uid);
			return fd;
		}
		/* A connection that died while queued is not our error. */
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		return -errno;
	}
}
