/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhf: an in-tree vhost-user frontend for virtio-fs, playing QEMU's role
 * without a VM.
 *
 * Flow: vhf_connect() opens the backend's socket and negotiates features
 * (GET/SET_FEATURES, protocol features, SET_OWNER, GET_QUEUE_NUM), shares a
 * memfd as guest memory (SET_MEM_TABLE, two regions at distinct guest
 * physical addresses) and lays one split ring per queue in it
 * (SET_VRING_NUM/BASE/ADDR/KICK/CALL/ENABLE). Requests are descriptor chains
 * over guest buffers taken from a page allocator; vhf_submit() publishes a
 * chain and kicks, vhf_wait() returns one used element. vhf_fuse() and the
 * vhf_fuse_*() helpers lay FUSE requests the way the Linux virtiofs driver
 * does (header and each argument in its own descriptor).
 *
 * This is a deliberately independent implementation of the protocol (it
 * shares nothing with src/vhost/) so that it checks the daemon rather than
 * mirroring it. Raw access (vhf_msg(), vhf_desc(), vhf_publish(), ...) lets
 * hostile tests build anything a malicious guest or VMM could.
 *
 * Errors: 0 or -errno. A FUSE error reply is returned as the negative error
 * carried in fuse_out_header.error by the vhf_fuse_*() helpers; transport
 * failures (timeouts, dead socket) are -ETIMEDOUT, -EPIPE, -EPROTO, ...
 * Not thread-safe across queues except vhf_submit()/vhf_wait()/vhf_poll()
 * on distinct queues with buffers allocated beforehand.
 */
#ifndef VHF_FRONTEND_H
#define VHF_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <linux/fuse.h>
#include <linux/virtio_ring.h>

/* vhost-user message set (docs/interop/vhost-user.rst), defined here. */
enum vhf_req {
	VHF_GET_FEATURES = 1,
	VHF_SET_FEATURES = 2,
	VHF_SET_OWNER = 3,
	VHF_RESET_OWNER = 4,
	VHF_SET_MEM_TABLE = 5,
	VHF_SET_LOG_BASE = 6,
	VHF_SET_LOG_FD = 7,
	VHF_SET_VRING_NUM = 8,
	VHF_SET_VRING_ADDR = 9,
	VHF_SET_VRING_BASE = 10,
	VHF_GET_VRING_BASE = 11,
	VHF_SET_VRING_KICK = 12,
	VHF_SET_VRING_CALL = 13,
	VHF_SET_VRING_ERR = 14,
	VHF_GET_PROTOCOL_FEATURES = 15,
	VHF_SET_PROTOCOL_FEATURES = 16,
	VHF_GET_QUEUE_NUM = 17,
	VHF_SET_VRING_ENABLE = 18,
	VHF_SET_BACKEND_REQ_FD = 21,
	VHF_GET_CONFIG = 24,
	VHF_SET_CONFIG = 25,
	VHF_GET_MAX_MEM_SLOTS = 36,
	VHF_ADD_MEM_REG = 37,
	VHF_REM_MEM_REG = 38,
	VHF_SET_DEVICE_STATE_FD = 42,
	VHF_CHECK_DEVICE_STATE = 43,
};

#define VHF_F_PROTOCOL_FEATURES 30

enum vhf_proto_feature {
	VHF_PF_MQ = 0,
	VHF_PF_LOG_SHMFD = 1,
	VHF_PF_REPLY_ACK = 3,
	VHF_PF_BACKEND_REQ = 5,
	VHF_PF_CONFIG = 9,
	VHF_PF_BACKEND_SEND_FD = 10,
	VHF_PF_CONFIGURE_MEM_SLOTS = 15,
	VHF_PF_DEVICE_STATE = 19,
};

/* VHOST_F_LOG_ALL (a feature bit) and VHOST_VRING_F_LOG (a flag of
 * SET_VRING_ADDR's flags, as a bit number). */
#define VHF_F_LOG_ALL 26
#define VHF_VRING_F_LOG 0
#define VHF_LOG_PAGE 4096u

#define VHF_FLAG_VERSION 0x1u
#define VHF_FLAG_REPLY (1u << 2)
#define VHF_FLAG_NEED_REPLY (1u << 3)
#define VHF_VRING_NOFD (1u << 8)
#define VHF_MAX_REGIONS 8
#define VHF_MAX_QUEUES 64
#define VHF_MAX_FDS 8
#define VHF_MAX_PAYLOAD 4096

struct vhf_msg_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vhf_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhf_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vhf_mem_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
};

struct vhf_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhf_mem_region regions[VHF_MAX_REGIONS];
};

struct vhf_config_msg {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t payload[256];
};

struct vhf_opts {
	size_t mem_size; /* guest memory, default 64 MiB */
	unsigned queue_size; /* ring entries, default 256 (power of two) */
	unsigned nr_queues; /* queues to set up, 0 = all the backend has */
	unsigned nr_regions; /* 1 or 2 (default 2, non-contiguous GPAs) */
	bool no_event_idx; /* do not negotiate VIRTIO_RING_F_EVENT_IDX */
	bool no_indirect; /* do not negotiate VIRTIO_RING_F_INDIRECT_DESC */
	bool use_indirect; /* lay FUSE requests in indirect tables */
	bool spin; /* vhf_wait() spins on used->idx, no eventfd */
	int timeout_ms; /* per wait, default 5000 */
	bool setup_only_conn; /* vhf_connect() stops after connect() */
	pid_t daemon_pid; /* if set, stop waiting for the socket when it
			       * exits (-ECHILD; it is left unreaped) */
	bool migration; /* negotiate LOG_SHMFD and DEVICE_STATE */
};

struct vhf;

/* A piece of guest memory: guest physical address and our mapping of it. */
struct vhf_buf {
	uint64_t gpa;
	void *hva;
	size_t len;
};

/* One descriptor of a chain: device-writable when @write is set. */
struct vhf_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* What the backend offered and what was agreed. */
struct vhf_info {
	uint64_t features; /* offered by GET_FEATURES */
	uint64_t acked_features; /* sent with SET_FEATURES */
	uint64_t protocol_features; /* offered */
	uint64_t acked_protocol; /* sent with SET_PROTOCOL_FEATURES */
	unsigned backend_queues; /* GET_QUEUE_NUM, or 2 without MQ */
	unsigned nr_queues; /* queues set up (0 = hiprio) */
	unsigned queue_size;
	bool have_config; /* GET_CONFIG answered */
	char tag[37]; /* from GET_CONFIG */
	uint32_t num_request_queues; /* from GET_CONFIG */
};

/* ---- connection and setup ---- */

/* Connect to @sock_path and set everything up, retrying the connect for up
 * to opts->timeout_ms while the backend creates its socket. */
int vhf_connect(struct vhf **fep, const char *sock_path,
		const struct vhf_opts *opts);
/* The steps of vhf_connect(), for tests that want to stop or diverge. */
int vhf_negotiate(struct vhf *fe);
int vhf_setup_memory(struct vhf *fe);
int vhf_setup_queue(struct vhf *fe, unsigned q);
const struct vhf_info *vhf_info(const struct vhf *fe);
int vhf_sock_fd(const struct vhf *fe);
/* The memfd behind guest memory, and region @i as sent in SET_MEM_TABLE
 * (-EINVAL past the last region). */
int vhf_memfd(const struct vhf *fe);
int vhf_region(const struct vhf *fe, unsigned i, struct vhf_mem_region *r);

/* GET_VRING_BASE on every started queue (the backend stops them); the
 * returned bases are checked against our avail index. */
int vhf_stop(struct vhf *fe);
int vhf_get_vring_base(struct vhf *fe, unsigned q, uint32_t *base);
/* Close the socket and free everything. */
void vhf_disconnect(struct vhf *fe);

/* ---- raw vhost-user messages ---- */

/* Send one message with optional fds. If @reply is non-NULL, wait for the
 * reply to @req and copy up to @reply_cap payload bytes (*reply_len gets the
 * size). With @ack, set NEED_REPLY and check the u64 ack (only when
 * REPLY_ACK was negotiated; ignored otherwise). */
int vhf_msg(struct vhf *fe, uint32_t req, const void *payload, uint32_t len,
	    const int *fds, unsigned nfds, void *reply, size_t reply_cap,
	    size_t *reply_len);
int vhf_msg_ack(struct vhf *fe, uint32_t req, const void *payload, uint32_t len,
		const int *fds, unsigned nfds);
/* Send raw bytes (header included), for malformed messages. */
int vhf_send_raw(struct vhf *fe, const void *bytes, size_t len, const int *fds,
		 unsigned nfds);

/* ---- guest memory ---- */

int vhf_alloc(struct vhf *fe, size_t len, struct vhf_buf *buf);
void vhf_free(struct vhf *fe, struct vhf_buf *buf);
/* Our mapping of [gpa, gpa+len), or NULL when outside guest memory. */
void *vhf_gpa_to_hva(struct vhf *fe, uint64_t gpa, size_t len);

/* ---- rings ---- */

/* Lay @n descriptors (direct, or one indirect table when @indirect),
 * publish the head in the avail ring and kick unless the backend
 * suppressed it. @cookie comes back from vhf_wait(). */
int vhf_submit(struct vhf *fe, unsigned q, const struct vhf_seg *segs,
	       unsigned n, bool indirect, void *cookie);
/* Wait for one used element; returns its written length and cookie. */
int vhf_wait(struct vhf *fe, unsigned q, int timeout_ms, uint32_t *len,
	     void **cookie);
/* Like vhf_wait() but never blocks: -EAGAIN when nothing is used. */
int vhf_poll(struct vhf *fe, unsigned q, uint32_t *len, void **cookie);
/* Chains in flight on @q. */
unsigned vhf_inflight(const struct vhf *fe, unsigned q);
/* Free descriptors on @q (a request needs one per segment, or one when
 * indirect). */
unsigned vhf_free_descs(const struct vhf *fe, unsigned q);

/* Raw ring access for hostile tests: the descriptor table, the rings, and
 * publishing an arbitrary head. Descriptors laid this way are not tracked;
 * a used element for an untracked head is returned with a NULL cookie. */
struct vring_desc *vhf_desc(struct vhf *fe, unsigned q);
struct vring_avail *vhf_avail(struct vhf *fe, unsigned q);
struct vring_used *vhf_used(struct vhf *fe, unsigned q);
void vhf_publish(struct vhf *fe, unsigned q, uint16_t head);
int vhf_kick(struct vhf *fe, unsigned q);
uint64_t vhf_kicks(const struct vhf *fe, unsigned q);

/* ---- live migration ---- */

/*
 * Dirty logging as QEMU starts it: a log memfd of @log_bytes (0: just
 * enough for guest memory), SET_LOG_BASE (the u64 reply in *status when
 * not NULL; a non-zero one is returned as -EREMOTEIO), SET_FEATURES with
 * VHOST_F_LOG_ALL, SET_VRING_ADDR with VHOST_VRING_F_LOG (the used ring's
 * guest-physical address) on every started queue.
 */
int vhf_log_start(struct vhf *fe, size_t log_bytes, uint64_t *status);
/* SET_FEATURES without VHOST_F_LOG_ALL, rings without the log flag. */
int vhf_log_stop(struct vhf *fe);
/* Whether the log marks the page of @gpa dirty; clear every bit. */
bool vhf_log_dirty(const struct vhf *fe, uint64_t gpa);
void vhf_log_clear(struct vhf *fe);

/* What the backend wrote into guest memory, as the driver knows it:
 * every reply's bytes (vhf_fuse) and every used element and used index
 * consumed, recorded while tracking is on. */
struct vhf_range {
	uint64_t gpa;
	uint64_t len;
};
void vhf_track_writes(struct vhf *fe, bool on);
size_t vhf_tracked(const struct vhf *fe, const struct vhf_range **ranges);

/*
 * The device state: SET_DEVICE_STATE_FD (save) with a pipe, read to the
 * end into *buf (malloc()ed), then CHECK_DEVICE_STATE, whose u64 goes to
 * *check. Returns 0 or -errno (a refused SET_DEVICE_STATE_FD is
 * -EREMOTEIO).
 */
int vhf_save_state(struct vhf *fe, void **buf, size_t *len, uint64_t *check);
/* SET_DEVICE_STATE_FD (load), @len bytes of @buf written into the pipe
 * and the pipe closed, then CHECK_DEVICE_STATE into *check. */
int vhf_load_state(struct vhf *fe, const void *buf, size_t len,
		   uint64_t *check);
/*
 * Hand this guest (its memory, rings, requests in flight) to another
 * backend, as the destination's QEMU does: connect to @sock_path and
 * negotiate; with @state, load it (its CHECK_DEVICE_STATE u64 in *check;
 * a failed one stops here with -EREMOTEIO); then share the same guest
 * memory and start again every queue vhf_stop() stopped, at the base the
 * old backend reported. The old connection is not closed: its fd goes to
 * *old_sock (the caller closes it to let the old backend go).
 */
int vhf_switch(struct vhf *fe, const char *sock_path, const void *state,
	       size_t len, uint64_t *check, int *old_sock);
/* Start again, on the same backend, every queue vhf_stop() stopped (a
 * cancelled migration: the source goes on). */
int vhf_resume(struct vhf *fe);

/* ---- FUSE ---- */

/* One FUSE request: header (built here) and @nargs input arguments, one
 * descriptor each; @nout device-writable buffers of the given sizes (the
 * first must hold a fuse_out_header). The reply (out header included) is
 * copied to @reply, up to @reply_cap bytes; *reply_len gets the number of
 * bytes the backend reported as written. Returns 0 when a used element came
 * back (check the out header's error), or a transport error. */
int vhf_fuse(struct vhf *fe, unsigned q, uint32_t opcode, uint64_t nodeid,
	     const struct iovec *args, unsigned nargs, const size_t *out_sizes,
	     unsigned nout, void *reply, size_t reply_cap, size_t *reply_len);
uint64_t vhf_next_unique(struct vhf *fe);
void vhf_fuse_in_header(struct vhf *fe, struct fuse_in_header *h,
			uint32_t opcode, uint64_t nodeid, uint32_t len);

/* The uid and gid later request headers carry (default: the process's). */
void vhf_fuse_set_ids(struct vhf *fe, uint32_t uid, uint32_t gid);
/* total_extlen of the next request header built: its last 8 * @n argument
 * bytes are request extensions. */
void vhf_fuse_next_extlen(struct vhf *fe, uint16_t n);

/* Helpers: 0, a negative FUSE error from the reply, or a transport error.
 * -EBADMSG when a reply is shorter than its opcode requires. */
int vhf_fuse_init(struct vhf *fe, unsigned q, uint32_t want_flags,
		  struct fuse_init_out *out);
int vhf_fuse_lookup(struct vhf *fe, unsigned q, uint64_t parent,
		    const char *name, struct fuse_entry_out *out);
int vhf_fuse_getattr(struct vhf *fe, unsigned q, uint64_t nodeid,
		     struct fuse_attr_out *out);
int vhf_fuse_open(struct vhf *fe, unsigned q, uint64_t nodeid, uint32_t flags,
		  struct fuse_open_out *out);
int vhf_fuse_create(struct vhf *fe, unsigned q, uint64_t parent,
		    const char *name, uint32_t flags, uint32_t mode,
		    struct fuse_entry_out *entry, struct fuse_open_out *open);
int vhf_fuse_read(struct vhf *fe, unsigned q, uint64_t nodeid, uint64_t fh,
		  uint64_t off, void *buf, uint32_t size, uint32_t *got);
int vhf_fuse_write(struct vhf *fe, unsigned q, uint64_t nodeid, uint64_t fh,
		   uint64_t off, const void *buf, uint32_t size,
		   uint32_t *written);
int vhf_fuse_release(struct vhf *fe, unsigned q, uint64_t nodeid, uint64_t fh,
		     uint32_t flags);
/* FORGET on the hiprio queue (0): no reply, only the used element. */
int vhf_fuse_forget(struct vhf *fe, uint64_t nodeid, uint64_t nlookup);

/* ---- the daemon under test ---- */

/* Start @argv (argv[0] looked up in PATH) with "{sock}" and "{dir}" (or
 * "@SOCK@" and "@DIR@") in any argument replaced by @sock and @dir. */
int vhf_spawn(char *const argv[], const char *sock, const char *dir,
	      pid_t *pid);
/* Wait up to @timeout_ms for @pid to exit; -ETIMEDOUT if it does not.
 * *status gets the waitpid() status. */
int vhf_reap(pid_t pid, int timeout_ms, int *status);

/*
 * A daemon under test in a directory of its own, TOP/NAME with share/
 * (served, as "{dir}"), vhost.sock ("{sock}") and daemon.log (its
 * stderr). vhf_daemon_start() runs @argv followed by @extra (NULL: none)
 * and, with @connect, sets the device up and sends INIT on queue @q;
 * vhf_daemon_stop() disconnects and reaps it within 10 s: its waitpid()
 * status, or -1 when it had to be killed (or never started).
 */
struct vhf_daemon {
	char dir[128];
	char share[160];
	char sock[160];
	char log[160];
	pid_t pid;
	struct vhf *fe;
	bool started;
};
int vhf_daemon_prepare(struct vhf_daemon *d, const char *top, const char *name);
int vhf_daemon_start(struct vhf_daemon *d, char *const *argv,
		     const char *const *extra, bool connect, unsigned int q);
int vhf_daemon_stop(struct vhf_daemon *d);
/* Remove its directory and everything in it. */
void vhf_daemon_cleanup(struct vhf_daemon *d);

/*
 * The main() of a harness program made of named cases:
 *
 *   PROG [-v] [--case NAME]... -- DAEMON ARGS...
 *
 * runs the cases asked for, or all of them, in table order, each with
 * vhf_case set to its name, in a fresh directory /tmp/PROG.XXXXXX
 * (vhf_tmpdir, chmod'ed to tmpdir_mode unless 0) that is removed
 * afterwards; vhf_daemon_argv gets DAEMON ARGS. Prints PASS or FAIL from
 * vhf_fails and returns the exit status: 0, 1, or 2 for a bad command
 * line. vhf_check() prints one numbered ok/not ok line naming the case
 * and counts the failures.
 */
struct vhf_case {
	const char *name;
	void (*fn)(void);
};
struct vhf_harness {
	const char *prog;
	const struct vhf_case *cases;
	size_t ncases;
	bool need_root;
	mode_t tmpdir_mode;
};
extern int vhf_fails;
extern const char *vhf_case;
extern char vhf_tmpdir[64];
extern char *const *vhf_daemon_argv;
bool vhf_check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int vhf_run_cases(const struct vhf_harness *h, int argc, char **argv);

/* Diagnostics for the test programs: vhf_note() prints "# ..." lines
 * while vhf_verbose is set (their -v option). */
extern int vhf_verbose;
void vhf_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* VHF_FRONTEND_H */
