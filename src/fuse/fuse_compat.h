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

#endif /* VFSD_FUSE_COMPAT_H */
