/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vhost-user message set, as specified in QEMU's
 * docs/interop/vhost-user.rst ("Vhost-user Protocol"). No system header
 * defines it; this is its one definition in vfsd. The ring structures
 * that the spec borrows from the vhost ioctl interface (vring state and
 * vring address) come from <linux/vhost_types.h>.
 *
 * Every message is a 12-byte header, then `size` bytes of payload, with
 * file descriptors (if any) in SCM_RIGHTS ancillary data. All numbers are
 * in host byte order.
 */
#ifndef VFSD_VHOST_PROTO_H
#define VFSD_VHOST_PROTO_H

#include <stdint.h>

#include <linux/vhost_types.h>

/* Feature bit that announces protocol-feature negotiation (a reused,
 * transport-reserved virtio feature bit). */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
enum vhost_user_protocol_feature {
	VHOST_USER_PROTOCOL_F_MQ = 0,
	VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
	VHOST_USER_PROTOCOL_F_RARP = 2,
	VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
	VHOST_USER_PROTOCOL_F_MTU = 4,
	VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5,
	VHOST_USER_PROTOCOL_F_CROSS_ENDIAN = 6,
	VHOST_USER_PROTOCOL_F_CRYPTO_SESSION = 7,
	VHOST_USER_PROTOCOL_F_PAGEFAULT = 8,
	VHOST_USER_PROTOCOL_F_CONFIG = 9,
	VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10,
	VHOST_USER_PROTOCOL_F_HOST_NOTIFIER = 11,
	VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD = 12,
	VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13,
	VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
	VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
	VHOST_USER_PROTOCOL_F_STATUS = 16,
	VHOST_USER_PROTOCOL_F_XEN_MMAP = 17,
	VHOST_USER_PROTOCOL_F_SHARED_OBJECT = 18,
	VHOST_USER_PROTOCOL_F_DEVICE_STATE = 19,
};

/* Front-end requests. */
enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_GET_SHARED_OBJECT = 41,
	VHOST_USER_SET_DEVICE_STATE_FD = 42,
	VHOST_USER_CHECK_DEVICE_STATE = 43,
	VHOST_USER_REQUEST_MAX, /* one past the last id this file names */
};

/* Header flags: the low two bits are the protocol version. */
#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_REPLY_MASK (1u << 2) /* set on every back-end reply */
#define VHOST_USER_NEED_REPLY_MASK (1u << 3) /* REPLY_ACK requested */

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes that follow */
};

/* SET_VRING_KICK / CALL / ERR u64: vring index and "no fd" flag. */
#define VHOST_USER_VRING_IDX_MASK 0xffu
#define VHOST_USER_VRING_NOFD_MASK 0x100u

/* Memory regions in SET_MEM_TABLE: at most this many, one fd each. */
#define VHOST_MEMORY_BASELINE_NREGIONS 8

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

/* SET_MEM_TABLE: only the first `nregions` entries are sent. */
struct vhost_user_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_MEMORY_BASELINE_NREGIONS];
};

/* ADD_MEM_REG / REM_MEM_REG. */
struct vhost_user_mem_reg {
	uint64_t padding;
	struct vhost_user_mem_region region;
};

/* GET_CONFIG / SET_CONFIG: header, then `size` bytes of config space. */
#define VHOST_USER_MAX_CONFIG_SIZE 256
#define VHOST_SET_CONFIG_TYPE_FRONTEND 0
#define VHOST_SET_CONFIG_TYPE_MIGRATION 1

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
};

#define VHOST_USER_CONFIG_HDR_SIZE 12u

/* SET_LOG_BASE (with VHOST_USER_PROTOCOL_F_LOG_SHMFD): the dirty log is
 * [mmap_offset, mmap_offset + mmap_size) of the one fd sent along; its
 * first bit is guest-physical page 0. VHOST_F_LOG_ALL (the feature bit)
 * and VHOST_VRING_F_LOG (SET_VRING_ADDR's flag for the used ring) come
 * from <linux/vhost_types.h>. */
struct vhost_user_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
};

/* Pages of guest memory per bit of the dirty log. */
#define VHOST_LOG_PAGE 0x1000u

/* SET_DEVICE_STATE_FD: which way the back-end state travels through the
 * fd sent along, and in which phase of the migration. */
struct vhost_user_transfer_state {
	uint32_t direction;
	uint32_t phase;
};

#define VHOST_TRANSFER_STATE_DIRECTION_SAVE 0u
#define VHOST_TRANSFER_STATE_DIRECTION_LOAD 1u
#define VHOST_TRANSFER_STATE_PHASE_STOPPED 0u
/* SET_DEVICE_STATE_FD's u64 reply: bits 0-7 an error code (0: success),
 * bit 8 set when the back-end sends no fd of its own back. */
#define VHOST_USER_STATE_REPLY_NOFD 0x100u

/* Every payload this back-end accepts fits in this union; a larger size
 * in a header is refused before any byte of payload is read. */
union vhost_user_payload {
	uint64_t u64;
	struct vhost_vring_state state;
	struct vhost_vring_addr addr;
	struct vhost_user_mem_table mem;
	struct vhost_user_mem_reg mem_reg;
	struct vhost_user_config config;
	struct vhost_user_log log;
	struct vhost_user_transfer_state transfer;
};

#define VHOST_USER_MAX_PAYLOAD ((uint32_t)sizeof(union vhost_user_payload))

/* Most fds one message may carry (SET_MEM_TABLE's regions). */
#define VHOST_USER_MAX_FDS VHOST_MEMORY_BASELINE_NREGIONS

#endif /* VFSD_VHOST_PROTO_H */
