// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-multiqueue: several request queues at depth, and blocking
 * requests that must not stall the queue they came on.
 *
 *   vhost-multiqueue [-v] [--queues N] -- DAEMON ARGS...
 *
 * Steps: start the daemon ("{sock}" and "{dir}" filled in); set up the
 * hiprio queue and N request queues (default 4); INIT with POSIX locks;
 * CREATE one file per queue;
 *  1. on every queue at once, many WRITEs and GETATTRs in flight, laid
 *     round-robin across the queues before any reply is awaited; each
 *     reply checked (its own unique, size, attributes), then the files on
 *     the host;
 *  2. the same with READs of another queue's file, content checked;
 *  3. owner A holds a write lock; owner B's SETLKW on queue 1 waits, and
 *     a GETATTR and a GETLK submitted behind it on queue 1 are answered
 *     meanwhile; A unlocks on queue 1 and B's SETLKW succeeds;
 *  4. one SETLKW (read lock) waiting on every queue while A holds a
 *     write lock; GETATTRs on every queue answered meanwhile; A unlocks
 *     and every SETLKW succeeds;
 *  5. a waiting SETLKW interrupted by an INTERRUPT on the hiprio queue
 *     completes with EINTR;
 *  6. disconnect: the daemon exits 0.
 * Prints ok/not ok per check and PASS or FAIL; exit status 0 or 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"

#define MAX_RQ 8
#define DEPTH 8 /* WRITEs (or READs) in flight per queue */
#define CHUNK 16384
#define FILE_BYTES (DEPTH * CHUNK)
#define NOPS (MAX_RQ * (DEPTH + DEPTH / 2))

static int check_no;
static int fails;
static char tmpdir[64];
static char share[128];
static char sock[128];
static unsigned nrq = 4;

struct file {
	uint64_t nodeid;
	uint64_t fh;
	uint64_t ino;
};

/* One request in flight; its address is the chain's cookie. */
struct op {
	unsigned q;
	uint32_t opcode;
	uint64_t unique;
	struct vhf_buf in, out;
	size_t outlen;
	bool done;
	uint32_t used;
	/* what the reply must say */
	unsigned file;
	uint32_t slot;
};

static bool check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	check_no++;
	printf("%s %d - ", ok ? "ok" : "not ok", check_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok)
		fails++;
	return ok;
}

static void pattern(uint8_t *buf, size_t len, unsigned file, unsigned slot)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + file * 31 + slot * 101 + (i >> 9));
}

/* ---- requests ---- */

/*
 * Lay a FUSE request on @q: header, @a1 (and @a2, e.g. a WRITE payload)
 * in their own descriptors, one writable buffer of @outlen. Not awaited.
 */
static int submit(struct vhf *fe, struct op *op, unsigned q, uint32_t opcode,
		  uint64_t nodeid, const void *a1, size_t l1, const void *a2,
		  size_t l2, size_t outlen)
{
	struct fuse_in_header h;
	struct vhf_seg segs[4];
	size_t hl = sizeof(h);
	unsigned n = 0;
	int r;

	memset(&op->in, 0, sizeof(op->in));
	memset(&op->out, 0, sizeof(op->out));
	op->q = q;
	op->opcode = opcode;
	op->done = false;
	op->used = 0;
	op->outlen = outlen;
	r = vhf_alloc(fe, hl + l1 + l2, &op->in);
	if (!r && outlen)
		r = vhf_alloc(fe, outlen, &op->out);
	if (r)
		return r;
	vhf_fuse_in_header(fe, &h, opcode, nodeid, (uint32_t)(hl + l1 + l2));
	op->unique = h.unique;
	memcpy(op->in.hva, &h, hl);
	if (l1)
		memcpy((uint8_t *)op->in.hva + hl, a1, l1);
	if (l2)
		memcpy((uint8_t *)op->in.hva + hl + l1, a2, l2);
	segs[n++] = (struct vhf_seg){ op->in.gpa, (uint32_t)hl, false };
	if (l1)
		segs[n++] = (struct vhf_seg){ op->in.gpa + hl, (uint32_t)l1,
					      false };
	if (l2)
		segs[n++] = (struct vhf_seg){ op->in.gpa + hl + l1,
					      (uint32_t)l2, false };
	if (outlen)
		segs[n++] =
			(struct vhf_seg){ op->out.gpa, (uint32_t)outlen, true };
	return vhf_submit(fe, q, segs, n, false, op);
}

static void op_free(struct vhf *fe, struct op *op)
{
	vhf_free(fe, &op->in);
	vhf_free(fe, &op->out);
}

/* Take one used element of @q and mark its op done. */
static int reap_one(struct vhf *fe, unsigned q)
{
	struct op *op;
	void *cookie = NULL;
	uint32_t len = 0;
	int r;

	r = vhf_wait(fe, q, 0, &len, &cookie);
	if (r)
		return r;
	op = cookie;
	if (!op || op->q != q || op->done) {
		fprintf(stderr, "queue %u: used element for no request\n", q);
		return -EPROTO;
	}
	op->done = true;
	op->used = len;
	return 0;
}

/* Wait until @op is done (others on its queue may finish first). */
static int wait_op(struct vhf *fe, struct op *op)
{
	while (!op->done) {
		int r = reap_one(fe, op->q);

		if (r)
			return r;
	}
	return 0;
}

/* The reply's error (0 or -errno), or a transport/format error. */
static int op_error(const struct op *op, size_t want_len)
{
	struct fuse_out_header oh;

	if (!op->done)
		return -EINPROGRESS;
	if (op->used < sizeof(oh) || op->used > op->outlen)
		return -EBADMSG;
	memcpy(&oh, op->out.hva, sizeof(oh));
	if (oh.unique != op->unique || oh.len != op->used)
		return -EBADMSG;
	if (oh.error)
		return oh.error;
	if (want_len && op->used != sizeof(oh) + want_len)
		return -EBADMSG;
	return 0;
}

static void *op_body(const struct op *op)
{
	return (uint8_t *)op->out.hva + sizeof(struct fuse_out_header);
}

/* Run one request to completion. */
static int run_op(struct vhf *fe, unsigned q, uint32_t opcode, uint64_t nodeid,
		  const void *a1, size_t l1, void *out, size_t out_len)
{
	struct op op;
	int r;

	r = submit(fe, &op, q, opcode, nodeid, a1, l1, NULL, 0,
		   sizeof(struct fuse_out_header) + out_len + 64);
	if (!r)
		r = wait_op(fe, &op);
	if (!r)
		r = op_error(&op, out_len);
	if (!r && out)
		memcpy(out, op_body(&op), out_len);
	op_free(fe, &op);
	return r;
}

static int lk(struct vhf *fe, unsigned q, uint32_t opcode, const struct file *f,
	      uint64_t owner, uint32_t type, struct fuse_lk_out *out)
{
	struct fuse_lk_in in = { .fh = f->fh,
				 .owner = owner,
				 .lk = { .start = 0,
					 .end = INT64_MAX,
					 .type = type,
					 .pid = (uint32_t)owner } };

	return run_op(fe, q, opcode, f->nodeid, &in, sizeof(in), out,
		      out ? sizeof(*out) : 0);
}

static int submit_lk(struct vhf *fe, struct op *op, unsigned q, uint32_t opcode,
		     const struct file *f, uint64_t owner, uint32_t type)
{
	struct fuse_lk_in in = { .fh = f->fh,
				 .owner = owner,
				 .lk = { .start = 0,
					 .end = INT64_MAX,
					 .type = type,
					 .pid = (uint32_t)owner } };

	return submit(fe, op, q, opcode, f->nodeid, &in, sizeof(in), NULL, 0,
		      sizeof(struct fuse_out_header) + 64);
}

static int submit_getattr(struct vhf *fe, struct op *op, unsigned q,
			  uint64_t nodeid)
{
	struct fuse_getattr_in in = { 0 };

	return submit(fe, op, q, FUSE_GETATTR, nodeid, &in, sizeof(in), NULL, 0,
		      sizeof(struct fuse_out_header) +
			      sizeof(struct fuse_attr_out));
}

/* ---- steps ---- */

static int make_files(struct vhf *fe, struct file *files)
{
	unsigned q;

	for (q = 1; q <= nrq; q++) {
		struct fuse_entry_out e;
		struct fuse_open_out o;
		char name[32];
		int r;

		snprintf(name, sizeof(name), "q%u.dat", q);
		r = vhf_fuse_create(fe, q, FUSE_ROOT_ID, name,
				    O_RDWR | O_CREAT | O_EXCL, S_IFREG | 0644,
				    &e, &o);
		if (!check(!r, "CREATE %s on queue %u (%s)", name, q,
			   strerror(-r)))
			return r;
		files[q] = (struct file){ e.nodeid, o.fh, e.attr.ino };
	}
	return 0;
}

/* Submit everything round-robin over the queues, then collect it all. */
static int collect_all(struct vhf *fe)
{
	unsigned q;
	int r;

	for (q = 1; q <= nrq; q++) {
		while (vhf_inflight(fe, q)) {
			r = reap_one(fe, q);
			if (r)
				return r;
		}
	}
	return 0;
}

static void step_writes(struct vhf *fe, const struct file *files)
{
	static struct op ops[NOPS];
	static uint8_t data[CHUNK];
	unsigned q, s, n = 0, ok = 0, inflight_max = 0;
	int r = 0;

	for (s = 0; s < DEPTH && !r; s++) {
		for (q = 1; q <= nrq && !r; q++) {
			struct fuse_write_in w = { .fh = files[q].fh,
						   .offset =
							   (uint64_t)s * CHUNK,
						   .size = CHUNK };
			struct op *op = &ops[n++];

			pattern(data, CHUNK, q, s);
			op->file = q;
			op->slot = s;
			r = submit(fe, op, q, FUSE_WRITE, files[q].nodeid, &w,
				   sizeof(w), data, CHUNK,
				   sizeof(struct fuse_out_header) +
					   sizeof(struct fuse_write_out));
			if (!r && s % 2 == 1) {
				op = &ops[n++];
				op->file = q;
				op->slot = UINT32_MAX;
				r = submit_getattr(fe, op, q, files[q].nodeid);
			}
		}
	}
	for (q = 1; q <= nrq; q++)
		if (vhf_inflight(fe, q) > inflight_max)
			inflight_max = vhf_inflight(fe, q);
	check(!r, "%u WRITEs and GETATTRs submitted over %u queues (%s)", n,
	      nrq, strerror(-r));
	vhf_note("up to %u requests in flight per queue", inflight_max);
	r = collect_all(fe);
	check(!r, "every reply collected (%s)", strerror(-r));
	for (unsigned i = 0; i < n; i++) {
		struct op *op = &ops[i];

		if (op->opcode == FUSE_WRITE) {
			struct fuse_write_out wo;

			r = op_error(op, sizeof(wo));
			if (!r) {
				memcpy(&wo, op_body(op), sizeof(wo));
				r = wo.size == CHUNK ? 0 : -EIO;
			}
		} else {
			struct fuse_attr_out ao;

			r = op_error(op, sizeof(ao));
			if (!r) {
				memcpy(&ao, op_body(op), sizeof(ao));
				r = ao.attr.ino == files[op->file].ino ?
					    0 :
					    -ESTALE;
			}
		}
		if (r)
			check(false, "queue %u %s slot %u: %s", op->q,
			      op->opcode == FUSE_WRITE ? "WRITE" : "GETATTR",
			      op->slot, strerror(-r));
		else
			ok++;
		op_free(fe, op);
	}
	check(ok == n, "%u of %u replies right", ok, n);

	for (q = 1, ok = 0; q <= nrq; q++) {
		static uint8_t host[FILE_BYTES + 1];
		char path[256];
		ssize_t got;
		int fd;

		snprintf(path, sizeof(path), "%s/q%u.dat", share, q);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		got = fd >= 0 ? read(fd, host, sizeof(host)) : -1;
		if (fd >= 0)
			close(fd);
		if (got != FILE_BYTES)
			continue;
		for (s = 0; s < DEPTH; s++) {
			pattern(data, CHUNK, q, s);
			if (memcmp(host + (size_t)s * CHUNK, data, CHUNK))
				break;
		}
		ok += s == DEPTH;
	}
	check(ok == nrq, "all %u files right on the host", nrq);
}

/* Each queue reads the file the next queue wrote. */
static void step_reads(struct vhf *fe, const struct file *files)
{
	static struct op ops[NOPS];
	static uint8_t data[CHUNK];
	unsigned q, s, n = 0, ok = 0;
	int r = 0;

	for (s = 0; s < DEPTH && !r; s++) {
		for (q = 1; q <= nrq && !r; q++) {
			unsigned f = q % nrq + 1;
			struct fuse_read_in rd = { .fh = files[f].fh,
						   .offset =
							   (uint64_t)s * CHUNK,
						   .size = CHUNK };
			struct op *op = &ops[n++];

			op->file = f;
			op->slot = s;
			r = submit(fe, op, q, FUSE_READ, files[f].nodeid, &rd,
				   sizeof(rd), NULL, 0,
				   sizeof(struct fuse_out_header) + CHUNK);
			if (!r && s % 2 == 0) {
				op = &ops[n++];
				op->file = f;
				op->slot = UINT32_MAX;
				r = submit_getattr(fe, op, q, files[f].nodeid);
			}
		}
	}
	check(!r, "%u READs and GETATTRs submitted over %u queues (%s)", n, nrq,
	      strerror(-r));
	r = collect_all(fe);
	check(!r, "every reply collected (%s)", strerror(-r));
	for (unsigned i = 0; i < n; i++) {
		struct op *op = &ops[i];

		if (op->opcode == FUSE_READ) {
			r = op_error(op, CHUNK);
			if (!r) {
				pattern(data, CHUNK, op->file, op->slot);
				r = memcmp(op_body(op), data, CHUNK) ? -EIO : 0;
			}
		} else {
			struct fuse_attr_out ao;

			r = op_error(op, sizeof(ao));
			if (!r) {
				memcpy(&ao, op_body(op), sizeof(ao));
				r = ao.attr.ino == files[op->file].ino &&
						    ao.attr.size == FILE_BYTES ?
					    0 :
					    -ESTALE;
			}
		}
		if (r)
			check(false, "queue %u %s of file %u slot %u: %s",
			      op->q,
			      op->opcode == FUSE_READ ? "READ" : "GETATTR",
			      op->file, op->slot, strerror(-r));
		else
			ok++;
		op_free(fe, op);
	}
	check(ok == n, "%u of %u replies right", ok, n);
}

#define OWNER_A 0xa0a0
#define OWNER_B 0xb0b0
#define OWNER_C 0xc0c0

/* SETLKW of B waits behind A's lock; the queue goes on serving. */
static void step_lock_one_queue(struct vhf *fe, const struct file *f)
{
	struct op w, g, t;
	struct fuse_lk_out lo;
	struct fuse_attr_out ao;
	int r;

	r = lk(fe, 1, FUSE_SETLK, f, OWNER_A, F_WRLCK, NULL);
	if (!check(!r, "SETLK write lock by owner A on queue 1 (%s)",
		   strerror(-r)))
		return;
	r = submit_lk(fe, &w, 1, FUSE_SETLKW, f, OWNER_B, F_WRLCK);
	check(!r, "SETLKW by owner B submitted on queue 1 (%s)", strerror(-r));
	r = submit_getattr(fe, &g, 1, f->nodeid);
	if (!r)
		r = wait_op(fe, &g);
	if (!r)
		r = op_error(&g, sizeof(ao));
	check(!r, "GETATTR behind the waiting SETLKW on queue 1 answered (%s)",
	      strerror(-r));
	check(!w.done, "owner B's SETLKW still waiting (answered: %s)",
	      w.done ? strerror(-op_error(&w, 0)) : "no");
	r = submit_lk(fe, &t, 1, FUSE_GETLK, f, OWNER_C, F_RDLCK);
	if (!r)
		r = wait_op(fe, &t);
	if (!r)
		r = op_error(&t, sizeof(lo));
	if (!r)
		memcpy(&lo, op_body(&t), sizeof(lo));
	check(!r && lo.lk.type == F_WRLCK,
	      "GETLK on queue 1 meanwhile sees the write lock (%s, type %u)",
	      strerror(-r), r ? 0 : lo.lk.type);
	op_free(fe, &g);
	op_free(fe, &t);

	r = lk(fe, 1, FUSE_SETLK, f, OWNER_A, F_UNLCK, NULL);
	check(!r, "owner A unlocks on queue 1 (%s)", strerror(-r));
	r = wait_op(fe, &w);
	if (!r)
		r = op_error(&w, 0);
	check(!r, "owner B's SETLKW then succeeds (%s)", strerror(-r));
	op_free(fe, &w);
	r = lk(fe, 1, FUSE_GETLK, f, OWNER_C, F_RDLCK, &lo);
	check(!r && lo.lk.type == F_WRLCK && lo.lk.pid == OWNER_B,
	      "GETLK shows owner B's lock (%s, type %u pid %#x)", strerror(-r),
	      r ? 0 : lo.lk.type, r ? 0 : lo.lk.pid);
	r = lk(fe, 1, FUSE_SETLK, f, OWNER_B, F_UNLCK, NULL);
	check(!r, "owner B unlocks (%s)", strerror(-r));
}

/* A SETLKW waiting on every queue at once. */
static void step_lock_all_queues(struct vhf *fe, const struct file *f)
{
	struct op w[MAX_RQ + 1], g[MAX_RQ + 1];
	unsigned q, waiting = 0, served = 0, granted = 0;
	int r;

	r = lk(fe, 1, FUSE_SETLK, f, OWNER_A, F_WRLCK, NULL);
	if (!check(!r, "SETLK write lock by owner A (%s)", strerror(-r)))
		return;
	for (q = 1; q <= nrq; q++) {
		r = submit_lk(fe, &w[q], q, FUSE_SETLKW, f, OWNER_B + q,
			      F_RDLCK);
		check(!r, "SETLKW read lock submitted on queue %u (%s)", q,
		      strerror(-r));
	}
	for (q = 1; q <= nrq; q++) {
		r = submit_getattr(fe, &g[q], q, f->nodeid);
		if (!r)
			r = wait_op(fe, &g[q]);
		if (!r)
			r = op_error(&g[q], sizeof(struct fuse_attr_out));
		served += !r;
		op_free(fe, &g[q]);
	}
	for (q = 1; q <= nrq; q++)
		waiting += !w[q].done;
	check(served == nrq,
	      "GETATTR answered on all %u queues with a SETLKW waiting on each "
	      "(%u)",
	      nrq, served);
	check(waiting == nrq, "all %u SETLKWs still waiting (%u)", nrq,
	      waiting);
	r = lk(fe, 1, FUSE_SETLK, f, OWNER_A, F_UNLCK, NULL);
	check(!r, "owner A unlocks (%s)", strerror(-r));
	for (q = 1; q <= nrq; q++) {
		r = wait_op(fe, &w[q]);
		if (!r)
			r = op_error(&w[q], 0);
		granted += !r;
		op_free(fe, &w[q]);
	}
	check(granted == nrq, "all %u SETLKWs then granted (%u)", nrq, granted);
	for (q = 1; q <= nrq; q++)
		lk(fe, q, FUSE_SETLK, f, OWNER_B + q, F_UNLCK, NULL);
}

/* An INTERRUPT on the hiprio queue ends a waiting SETLKW with EINTR. */
static void step_interrupt(struct vhf *fe, const struct file *f)
{
	struct op w, g;
	unsigned tries = 0;
	int r, ir = 0;

	r = lk(fe, 1, FUSE_SETLK, f, OWNER_A, F_WRLCK, NULL);
	if (!check(!r, "SETLK write lock by owner A (%s)", strerror(-r)))
		return;
	r = submit_lk(fe, &w, 1, FUSE_SETLKW, f, OWNER_B, F_WRLCK);
	check(!r, "SETLKW by owner B submitted on queue 1 (%s)", strerror(-r));
	/* Once a request behind it is answered, the SETLKW was taken. */
	r = submit_getattr(fe, &g, 1, f->nodeid);
	if (!r)
		r = wait_op(fe, &g);
	op_free(fe, &g);
	check(!r && !w.done, "SETLKW waiting (GETATTR behind it: %s)",
	      strerror(-r));

	/* EAGAIN means "not seen yet, send it again", as the kernel does. */
	for (tries = 0; tries < 500; tries++) {
		struct fuse_interrupt_in in = { .unique = w.unique };
		struct op i;

		r = submit(fe, &i, 0, FUSE_INTERRUPT, 0, &in, sizeof(in), NULL,
			   0, sizeof(struct fuse_out_header));
		if (!r)
			r = wait_op(fe, &i);
		ir = r ? r : (i.used ? op_error(&i, 0) : 0);
		op_free(fe, &i);
		if (r || ir != -EAGAIN)
			break;
		usleep(10000);
	}
	check(!r && (ir == 0 || ir == -EAGAIN),
	      "INTERRUPT on the hiprio queue taken (%s, reply %d, %u tries)",
	      strerror(-r), ir, tries + 1);
	r = wait_op(fe, &w);
	if (!r)
		r = op_error(&w, 0);
	check(r == -EINTR, "interrupted SETLKW completes with EINTR (%s)",
	      strerror(-r));
	op_free(fe, &w);
	r = lk(fe, 1, FUSE_SETLK, f, OWNER_A, F_UNLCK, NULL);
	check(!r, "owner A unlocks (%s)", strerror(-r));
	r = lk(fe, 1, FUSE_SETLK, f, OWNER_B, F_WRLCK, NULL);
	check(!r, "owner B gets the lock without waiting now (%s)",
	      strerror(-r));
	lk(fe, 1, FUSE_SETLK, f, OWNER_B, F_UNLCK, NULL);
}

static int run(struct vhf *fe)
{
	const struct vhf_info *info = vhf_info(fe);
	struct file files[MAX_RQ + 1];
	struct fuse_init_out init;
	int r;

	if (!check(info->nr_queues == nrq + 1,
		   "hiprio and %u request queues set up (%u of %u)", nrq,
		   info->nr_queues, info->backend_queues))
		return 1;
	r = vhf_fuse_init(fe, 1, FUSE_POSIX_LOCKS | FUSE_MAX_PAGES, &init);
	if (!check(!r, "INIT (%s)", strerror(-r)))
		return 1;
	check(init.flags & FUSE_POSIX_LOCKS, "POSIX locks negotiated");
	if (make_files(fe, files))
		return 1;
	step_writes(fe, files);
	step_reads(fe, files);
	step_lock_one_queue(fe, &files[1]);
	step_lock_all_queues(fe, &files[2]);
	step_interrupt(fe, &files[1]);
	for (unsigned q = 1; q <= nrq; q++)
		vhf_fuse_release(fe, q, files[q].nodeid, files[q].fh, O_RDWR);
	return 0;
}

static void remove_tree(void)
{
	char path[256];
	unsigned q;

	for (q = 1; q <= MAX_RQ; q++) {
		snprintf(path, sizeof(path), "%s/q%u.dat", share, q);
		unlink(path);
	}
	rmdir(share);
	unlink(sock);
	rmdir(tmpdir);
}

int main(int argc, char **argv)
{
	struct vhf_opts opts = { .timeout_ms = 10000 };
	struct vhf *fe = NULL;
	pid_t pid;
	int i, r, status = 0;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-v")) {
			vhf_verbose = 1;
		} else if (!strcmp(argv[i], "--queues") && i + 1 < argc) {
			nrq = (unsigned)strtoul(argv[++i], NULL, 10);
			if (nrq < 1 || nrq > MAX_RQ)
				goto usage;
		} else {
			goto usage;
		}
	}
	if (i + 1 >= argc)
		goto usage;
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vhost-mq.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(share, sizeof(share), "%s/share", tmpdir);
	snprintf(sock, sizeof(sock), "%s/vhost.sock", tmpdir);
	if (mkdir(share, 0755)) {
		perror("mkdir");
		return 1;
	}
	r = vhf_spawn(argv + i + 1, sock, share, &pid);
	if (!check(!r, "start the daemon (%s)", strerror(-r)))
		goto out_rm;
	opts.daemon_pid = pid;
	opts.nr_queues = nrq + 1;
	r = vhf_connect(&fe, sock, &opts);
	if (check(!r, "connect and set up the device (%s)", strerror(-r)))
		fails += run(fe);
	vhf_disconnect(fe);
	r = vhf_reap(pid, 10000, &status);
	if (check(!r, "daemon exits after disconnect")) {
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "daemon exit status 0 (status %#x)", status);
	} else {
		kill(pid, SIGKILL);
		vhf_reap(pid, 5000, &status);
	}
out_rm:
	remove_tree();
	printf("%s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
usage:
	fprintf(stderr,
		"usage: %s [-v] [--queues N (1..%d)] -- DAEMON ARGS... "
		"({sock} and {dir} are substituted)\n",
		argv[0], MAX_RQ);
	return 2;
}
