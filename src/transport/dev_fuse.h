/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The /dev/fuse transport: mounts the share on the host and serves the
 * host kernel's FUSE client with the same src/fuse/ server and file system
 * that virtio-fs uses.
 */
#ifndef VFSD_DEV_FUSE_H
#define VFSD_DEV_FUSE_H

#include "../fuse/fuse_fs.h"

struct dev_fuse_opts {
	const char *mount_point;
	const char *fsname; /* shown in /proc/mounts, e.g. the shared dir */
	unsigned int threads; /* 0: automatic */
};

/*
 * Mount @opts->mount_point, serve until it is unmounted (exit 0) or
 * SIGINT/SIGTERM arrives (unmount, exit 0). Returns 0 or -errno; on
 * failure a one-line message has been logged.
 */
int dev_fuse_serve(const struct dev_fuse_opts *opts,
		   const struct fuse_fs_ops *ops, void *fs);

#endif /* VFSD_DEV_FUSE_H */
