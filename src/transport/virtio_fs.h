/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-fs device: serves the FUSE server (src/fuse/) over the
 * virtqueues of a vhost-user frontend (src/vhost/). Queue 0 is the
 * high-priority queue (FORGET, BATCH_FORGET, INTERRUPT), queues 1..N carry
 * requests; each queue has its own thread.
 */
#ifndef VFSD_VIRTIO_FS_H
#define VFSD_VIRTIO_FS_H

#include "../fuse/fuse_fs.h"

struct virtio_fs_opts {
	const char *tag; /* GET_CONFIG tag, at most 36 bytes; may be NULL */
	unsigned int request_queues; /* 1.. ; 0 means 1 */
	unsigned int max_workers; /* blocking-request threads; 0: default */
};

/*
 * Serve one frontend connected on @conn_fd until it disconnects. Returns
 * 0 when the frontend went away, -ENOTCONN when the peer closed without a
 * message (not a frontend: accept the next one), -EPROTO when it (or a corrupt ring)
 * broke the device (a line naming the fault has been logged), another
 * -errno on other failures.
 */
int virtio_fs_serve(int conn_fd, const struct virtio_fs_opts *opts,
		    const struct fuse_fs_ops *ops, void *fs);

#endif /* VFSD_VIRTIO_FS_H */
