/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test doubles for the FUSE server: a transport that records what was
 * completed, a file system that records which operation ran with which
 * decoded arguments, and a request builder. Tests drive the real
 * fuse_session_process().
 */
#ifndef VFSD_TEST_FUSE_HARNESS_H
#define VFSD_TEST_FUSE_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/limits.h>

#include "fuse/fuse_server.h"

/* What the fake file system saw. */
struct fake_fs {
	int op; /* opcode of the last call, 0 if none */
	int calls; /* number of calls other than forget/init/destroy */
	uint64_t nodeid;
	uint64_t nodeid2;
	char name[NAME_MAX + 2];
	char name2[NAME_MAX + 2];
	char target[PATH_MAX];
	unsigned char in[256]; /* the decoded argument struct */
	size_t inlen;
	uint32_t u32a, u32b;
	bool sleep;
	size_t size;
	unsigned char data[4096]; /* WRITE payload / SETXATTR value */
	int iovcnt;
	struct fuse_ctx ctx;
	bool ctx_has_req;

	/* knobs */
	int ret; /* what int ops return */
	ssize_t sret; /* what read/write/xattr ops return, if set_sret */
	bool set_sret;
	uint64_t entry_nodeid;
	uint64_t fh;
	int readdir_entries; /* how many entries readdir offers */
	int readdir_err; /* returned after adding entries */
	uint64_t init_add, init_del;
	uint32_t init_max_write; /* 0: leave */

	/* log */
	uint64_t offered;
	int init_calls, destroy_calls, release_calls;
	int nforget;
	uint64_t forget_id[64], forget_nl[64];
	/* interrupt test */
	/* atomic: 1 entered, 2 about to block, 3 done */
	int blk_state;
	int go; /* atomic */
	bool saw_interrupted;
	bool got_eintr; /* the blocking wait ended with EINTR */
	bool block_begin_ok;
};

extern struct fake_fs F;
extern struct fuse_fs_ops fake_ops;

struct reply {
	size_t len; /* as given to ->complete() */
	int completions;
	int32_t error;
	uint32_t hlen;
	uint64_t unique;
	unsigned char *payload; /* into the harness's out buffer */
};

struct rq {
	unsigned char b[160 * 1024];
	size_t len;
	uint16_t extlen;
	bool raw; /* send the header as it is (no len fix-up) */
};

struct env {
	struct fuse_session *se;
	struct fuse_session_opts opts;
};

/* recorded notifications */
extern unsigned char notify_buf[1024];
extern size_t notify_len;
extern int notify_calls;

void fake_reset(void);
int env_setup(void **state);
int env_setup_noinit(void **state);
int env_setup_reinit(void **state);
int env_teardown(void **state);
/* new session with different ops/transport; old one freed */
void env_remake(struct env *e, const struct fuse_fs_ops *ops, bool notify);

void rq_start(struct rq *r, uint32_t opcode, uint64_t nodeid);
void rq_add(struct rq *r, const void *p, size_t n);
void rq_str(struct rq *r, const char *s); /* with the NUL */
/* append a supp-groups extension of @n groups (first = @gid) */
void rq_ext_groups(struct rq *r, uint32_t n, uint32_t gid);
void rq_add_ext_raw(struct rq *r, const void *p, size_t n);

/* process with one in and one out iovec of @outcap bytes */
struct reply rq_send(struct env *e, struct rq *r, size_t outcap);
/* process with @in split at the given cut points */
struct reply rq_send_split(struct env *e, struct rq *r, size_t outcap,
			   const size_t *cuts, int ncuts);
/* send INIT 7.@minor with @flags/@flags2; returns the reply */
struct reply do_init(struct env *e, uint32_t major, uint32_t minor,
		     uint32_t flags, uint32_t flags2);
/* the last reply's fuse_init_out */
struct fuse_init_out *init_out(struct reply *rp);

#define OUT_BIG (256 * 1024)

#endif
