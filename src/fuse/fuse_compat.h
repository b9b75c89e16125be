/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Protocol additions newer than the <linux/fuse.h> that Debian 12 ships
 * (protocol 7.38 as of Linux 6.1). Each is defined only when the system
 * header lacks it, so a newer header always wins. Values are the protocol's
 * wire constants (FUSE protocol 7.38+, Linux 6.2 and later).
 */
#ifndef VFSD_FUSE_COMPAT_H
#define VFSD_FUSE_COMPAT_H

#include <linux/fuse.h>
#include <stddef.h>
#include <stdint.h>

/* INIT flags2 bit: client sends one supplementary group on create ops. */
#ifndef FUSE_CREATE_SUPP_GROUP
#define FUSE_CREATE_SUPP_GROUP (1ULL << 34)
/* Request extension type carrying struct fuse_supp_groups. */
#define FUSE_EXT_GROUPS 32 /* above FUSE_MAX_NR_SECCTX (31) */
struct fuse_supp_groups {
	uint32_t nr_groups;
	uint32_t groups[];
};
#endif

/* INIT flags2 bit (7.39): shared mmap of FOPEN_DIRECT_IO files. */
#ifndef FUSE_DIRECT_IO_ALLOW_MMAP
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#endif

/*
 * FUSE passthrough (7.40, Linux 6.9): the server registers a host file with
 * the client (FUSE_DEV_IOC_BACKING_OPEN on /dev/fuse, CAP_SYS_ADMIN) and
 * answers OPEN with FOPEN_PASSTHROUGH and the backing id; the client then
 * reads and writes that file itself. The id travels in fuse_open_out's
 * last 32-bit word (`padding` in older headers) and the stacking depth in
 * the first word after fuse_init_out's flags2 (`unused[0]` there).
 */
#ifndef FUSE_PASSTHROUGH
#define FUSE_PASSTHROUGH (1ULL << 37)
#endif
#ifndef FOPEN_PASSTHROUGH
#define FOPEN_PASSTHROUGH (1 << 7)
#endif
#ifndef FUSE_DEV_IOC_BACKING_OPEN
#include <linux/ioctl.h>
struct fuse_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
#define FUSE_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct fuse_backing_map)
#define FUSE_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)
#endif
#define FUSE_OPEN_OUT_BACKING_ID_OFF 12
#define FUSE_INIT_OUT_MAX_STACK_DEPTH_OFF \
	(offsetof(struct fuse_init_out, flags2) + sizeof(uint32_t))

#endif /* VFSD_FUSE_COMPAT_H */
