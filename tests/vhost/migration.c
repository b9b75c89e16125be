// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-migration: live migration as QEMU drives it, with the in-tree
 * frontend playing both QEMUs.
 *
 *   vhost-migration [-v] [--case NAME]... -- DAEMON ARGS...
 *
 * DAEMON ARGS start vfsd on "{dir}" and "{sock}"; each case adds the
 * options it is about. The cases:
 *
 *   dirty-log    with logging on (SET_LOG_BASE, VHOST_F_LOG_ALL, the used
 *                rings' log flag), requests on two request queues, the
 *                hiprio queue and a worker (FSYNC) write replies and used
 *                rings: every page the driver sees written is marked in
 *                the log, also with 56 requests in flight at once on two
 *                queues and the workers. With logging off again nothing is
 *                marked. A log too small for guest memory is refused with
 *                a non-zero reply and a line naming both sizes, and
 *                serving goes on.
 *   find-paths   daemon A: LOOKUPs (one twice), OPENs, a READDIR stopped
 *                after one entry, a POSIX lock, a flock; logging on, a
 *                WRITE in flight, a file renamed on the host, rings
 *                stopped: every page A wrote is marked; A saves its state.
 *                Daemon B (a new process on the same share) loads it and
 *                the rings start on B while A still lives (and holds the
 *                locks: B takes them once A is gone). On B, with A's
 *                nodeids and fhs: the WRITE completes, READ returns the
 *                same bytes with it, LOOKUP gives the same nodeid and
 *                generation, the renamed file is the same node under its
 *                new name, READDIR goes on from A's cookie, GETLK of
 *                another owner and a host process see the lock, the
 *                flock holds, unlock and RELEASE work.
 *   file-handles the same with --migration-mode=file-handles (and
 *                --inode-file-handles=never: the capability to open
 *                handles is kept for the migration alone), the file
 *                renamed after the save (a handle finds it anyway).
 *   cancel       the state saved, the migration called off: the rings
 *                start again on A, which serves with its lock and flock.
 *   deleted      a file the guest holds open is deleted between save and
 *                load: B (abort) refuses the state, names the node, keeps
 *                no fd of it; C (guest-error) loads it, and only that
 *                node (ENOENT) and its handle (EBADF) fail.
 *   hardlink     the guest's name of a file is unlinked on the host while
 *                another link stays: A finds the other name in the share,
 *                B serves the node and its fh by it.
 *   verify       with --migration-verify-handles, the file at a node's
 *                path is replaced between save and load: B refuses.
 *   corrupt      states refused, each with its fault in the log and no fd
 *                kept: of another share, empty, truncated, oversized, a
 *                flipped byte, a foreign magic, a future version, an
 *                unknown critical record, a handle of an unknown node, a
 *                node twice, a ".." path, a path through a symlink out of
 *                the share, a path naming a directory for a file; then
 *                the valid state (with a record a newer vfsd might add,
 *                not critical) loads.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

#define RQ 1 /* the first request queue */
#define RQ2 2 /* another one */

static const char *errname(int r)
{
	return r ? strerror(-r) : "ok";
}

/* One daemon: its socket and log; the share is the case's. */
struct dmn {
	char sock[160];
	char log[160];
	pid_t pid;
	bool started;
};

/* A case's directory: the share both daemons serve, and a second
 * share for the state-from-elsewhere case. */
static char casedir[128], share[192];

static int case_prepare(const char *name)
{
	snprintf(casedir, sizeof(casedir), "%s/%s", vhf_tmpdir, name);
	snprintf(share, sizeof(share), "%s/share", casedir);
	if (mkdir(casedir, 0755) || mkdir(share, 0755))
		return -errno;
	return 0;
}

static void case_cleanup(void)
{
	tu_remove_tree(casedir);
}

/* Start daemon @label on @dir with @extra options (NULL-terminated). */
static int dmn_start(struct dmn *d, const char *label, const char *dir,
		     const char *const *extra)
{
	char **argv = tu_argv_cat(vhf_daemon_argv, extra);
	int saved, r;

	memset(d, 0, sizeof(*d));
	snprintf(d->sock, sizeof(d->sock), "%s/%s.sock", casedir, label);
	snprintf(d->log, sizeof(d->log), "%s/%s.log", casedir, label);
	if (!argv)
		return -ENOMEM;
	saved = tu_stderr_to(d->log, false);
	r = vhf_spawn(argv, d->sock, dir, &d->pid);
	if (saved >= 0)
		tu_stderr_restore(saved);
	free(argv);
	if (!r)
		d->started = true;
	return r;
}

/* Wait for the daemon to end (its frontend has gone): its exit status,
 * or -1 when it had to be killed. */
static int dmn_wait(struct dmn *d)
{
	int status = 0;

	if (!d->started)
		return -1;
	d->started = false;
	if (vhf_reap(d->pid, 10000, &status)) {
		kill(d->pid, SIGKILL);
		vhf_reap(d->pid, 5000, &status);
		return -1;
	}
	return status;
}

static void dmn_wait_check(struct dmn *d, const char *label)
{
	int status = dmn_wait(d);

	if (!vhf_check(status == 0, "%s exits 0 once its frontend is gone (%s)",
		       label, status < 0 ? "killed" : tu_status_str(status)))
		tu_dump_log(d->log);
}

/* Whether the daemon's log has a line containing @needle. */
static bool log_has(const struct dmn *d, const char *needle)
{
	static char buf[1 << 16];
	size_t len = 0;

	if (tu_read_file(d->log, buf, sizeof(buf) - 1, &len))
		return false;
	buf[len] = '\0';
	return strstr(buf, needle) != NULL;
}

static int connect_fe(struct dmn *d, struct vhf **fe)
{
	struct vhf_opts opts = { .migration = true, .daemon_pid = d->pid };
	struct fuse_init_out io;
	int r;

	r = vhf_connect(fe, d->sock, &opts);
	if (!r)
		r = vhf_fuse_init(*fe, RQ, 0, &io);
	return r;
}

static int host_file(const char *name, const void *data, size_t len)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s", share, name);
	return tu_write_file(path, data, len);
}

/* ---- FUSE requests the helpers lack ---- */

static int fuse_readdir(struct vhf *fe, unsigned q, uint64_t nodeid,
			uint64_t fh, uint64_t off, void *buf, size_t cap,
			size_t *got)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = 4096 };
	struct iovec a = { &in, sizeof(in) };
	size_t out = sizeof(struct fuse_out_header) + in.size, len = 0;
	static uint8_t reply[sizeof(struct fuse_out_header) + 4096];
	struct fuse_out_header oh;
	int r;

	r = vhf_fuse(fe, q, FUSE_READDIR, nodeid, &a, 1, &out, 1, reply,
		     sizeof(reply), &len);
	if (r)
		return r;
	memcpy(&oh, reply, sizeof(oh));
	if (oh.error)
		return oh.error;
	len -= sizeof(oh);
	if (len > cap)
		len = cap;
	memcpy(buf, reply + sizeof(oh), len);
	*got = len;
	return 0;
}

static int fuse_simple(struct vhf *fe, unsigned q, uint32_t opcode,
		       uint64_t nodeid, const void *arg, size_t arglen)
{
	struct iovec a = { (void *)arg, arglen };
	size_t out = sizeof(struct fuse_out_header), len = 0;
	struct fuse_out_header oh;
	int r;

	r = vhf_fuse(fe, q, opcode, nodeid, &a, arglen ? 1 : 0, &out, 1, &oh,
		     sizeof(oh), &len);
	if (r)
		return r;
	return len >= sizeof(oh) ? oh.error : -EBADMSG;
}

static int fuse_opendir(struct vhf *fe, unsigned q, uint64_t nodeid,
			uint64_t *fh)
{
	struct fuse_open_in in = { .flags = O_RDONLY | O_DIRECTORY };
	struct iovec a = { &in, sizeof(in) };
	size_t out = sizeof(struct fuse_out_header) +
		     sizeof(struct fuse_open_out),
	       len = 0;
	struct {
		struct fuse_out_header h;
		struct fuse_open_out o;
	} reply;
	int r;

	r = vhf_fuse(fe, q, FUSE_OPENDIR, nodeid, &a, 1, &out, 1, &reply,
		     sizeof(reply), &len);
	if (r)
		return r;
	if (reply.h.error)
		return reply.h.error;
	*fh = reply.o.fh;
	return 0;
}

/* ---- dirty-log ---- */

/* Every page of every range the frontend saw written is dirty. */
static unsigned unmarked_pages(struct vhf *fe, unsigned *total)
{
	const struct vhf_range *r;
	size_t n = vhf_tracked(fe, &r);
	unsigned missing = 0;

	*total = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t p = r[i].gpa / VHF_LOG_PAGE;
		uint64_t last = (r[i].gpa + r[i].len - 1) / VHF_LOG_PAGE;

		for (; p <= last; p++) {
			(*total)++;
			if (!vhf_log_dirty(fe, p * VHF_LOG_PAGE)) {
				vhf_note("page 0x%llx (range 0x%llx+%llu) "
					 "not marked",
					 (unsigned long long)p * VHF_LOG_PAGE,
					 (unsigned long long)r[i].gpa,
					 (unsigned long long)r[i].len);
				missing++;
			}
		}
	}
	return missing;
}

/* Requests that write replies of every kind, on two queues, the hiprio
 * queue (FORGET) and a worker (FSYNC). */
static int busy_work(struct vhf *fe, unsigned *nreq)
{
	static char data[3 * 4096 + 100];
	struct fuse_entry_out e, e2;
	struct fuse_attr_out ao;
	struct fuse_open_out o;
	struct fuse_fsync_in fs = { 0 };
	uint32_t got = 0;
	uint64_t dfh = 0;
	size_t dlen = 0;
	int r;

	r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, "data", &e);
	if (!r)
		r = vhf_fuse_getattr(fe, RQ2, e.nodeid, &ao);
	if (!r)
		r = vhf_fuse_open(fe, RQ, e.nodeid, O_RDWR, &o);
	if (!r)
		r = vhf_fuse_read(fe, RQ2, e.nodeid, o.fh, 0, data,
				  sizeof(data), &got);
	if (!r)
		r = vhf_fuse_write(fe, RQ, e.nodeid, o.fh, 0, "changed", 7,
				   &got);
	if (!r) {
		fs.fh = o.fh;
		r = fuse_simple(fe, RQ2, FUSE_FSYNC, e.nodeid, &fs, sizeof(fs));
	}
	if (!r)
		r = vhf_fuse_release(fe, RQ, e.nodeid, o.fh, O_RDWR);
	if (!r)
		r = fuse_opendir(fe, RQ2, FUSE_ROOT_ID, &dfh);
	if (!r)
		r = fuse_readdir(fe, RQ2, FUSE_ROOT_ID, dfh, 0, data,
				 sizeof(data), &dlen);
	if (!r)
		r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, "data", &e2);
	if (!r)
		r = vhf_fuse_forget(fe, e2.nodeid, 1);
	*nreq = 11;
	return r;
}

/* Many requests in flight at once on two queues and workers (FSYNC),
 * so that queue threads and workers push, and mark the log, together.
 * The reply buffers go to @out (the caller checks their pages). */
#define BURST 24

static int burst(struct vhf *fe, uint64_t nodeid, uint64_t fh,
		 struct vhf_buf *out, unsigned *nout)
{
	struct vhf_buf in[2 * BURST + 8];
	unsigned n = 0, done = 0;
	int r = 0;

	for (unsigned i = 0; i < 2 * BURST + 8 && !r; i++) {
		bool fsync = i >= 2 * BURST;
		unsigned q = fsync || i % 2 ? RQ2 : RQ;
		struct fuse_in_header h;
		struct fuse_read_in ri = { .fh = fh,
					   .offset = (i % 3) * 4096,
					   .size = 4096 };
		struct fuse_fsync_in fi = { .fh = fh };
		size_t alen = fsync ? sizeof(fi) : sizeof(ri);
		size_t olen =
			sizeof(struct fuse_out_header) + (fsync ? 0 : 4096);
		struct vhf_seg segs[3];

		r = vhf_alloc(fe, sizeof(h) + alen, &in[n]);
		if (!r)
			r = vhf_alloc(fe, olen, &out[n]);
		if (r)
			break;
		vhf_fuse_in_header(fe, &h, fsync ? FUSE_FSYNC : FUSE_READ,
				   nodeid, (uint32_t)(sizeof(h) + alen));
		memcpy(in[n].hva, &h, sizeof(h));
		memcpy((uint8_t *)in[n].hva + sizeof(h),
		       fsync ? (void *)&fi : (void *)&ri, alen);
		segs[0] = (struct vhf_seg){ in[n].gpa, sizeof(h), false };
		segs[1] = (struct vhf_seg){ in[n].gpa + sizeof(h),
					    (uint32_t)alen, false };
		segs[2] = (struct vhf_seg){ out[n].gpa, (uint32_t)olen, true };
		r = vhf_submit(fe, q, segs, 3, false, &out[n]);
		n++;
	}
	for (unsigned q = RQ; q <= RQ2; q++) {
		while (vhf_inflight(fe, q)) {
			uint32_t len = 0;
			void *cookie = NULL;
			int w = vhf_wait(fe, q, 0, &len, &cookie);

			if (w) {
				r = r ? r : w;
				break;
			}
			done++;
		}
	}
	for (unsigned i = 0; i < n; i++)
		vhf_free(fe, &in[i]);
	*nout = n;
	return r ? r : done == n ? 0 : -EPROTO;
}

static void case_dirty_log(void)
{
	static char data[3 * 4096 + 100];
	unsigned nreq = 0, total = 0, missing;
	uint64_t status = 0;
	struct vhf *fe = NULL;
	struct dmn d;
	int r;

	if (!vhf_check(!case_prepare("dirty-log"), "prepare the share"))
		return;
	memset(data, 'd', sizeof(data));
	r = host_file("data", data, sizeof(data));
	if (!r)
		r = dmn_start(&d, "a", share, NULL);
	if (!r)
		r = connect_fe(&d, &fe);
	if (!vhf_check(!r, "start, connect, INIT (%s)", errname(r)))
		goto out;
	r = vhf_log_start(fe, 0, &status);
	if (!vhf_check(
		    !r && status == 0,
		    "SET_LOG_BASE, VHOST_F_LOG_ALL, ring log flags (%s, reply "
		    "%llu)",
		    errname(r), (unsigned long long)status))
		goto out_stop;
	vhf_log_clear(fe);
	vhf_track_writes(fe, true);
	r = busy_work(fe, &nreq);
	vhf_track_writes(fe, false);
	vhf_check(!r, "%u requests on queues 0, 1, 2 and a worker (%s)", nreq,
		  errname(r));
	missing = unmarked_pages(fe, &total);
	vhf_check(
		total > 20 && missing == 0,
		"every page written (replies, used rings: %u) is marked in the "
		"log (%u not)",
		total, missing);

	{
		struct vhf_buf out[2 * BURST + 8];
		struct fuse_entry_out e;
		struct fuse_open_out o;
		unsigned n = 0, unmarked = 0;

		vhf_log_clear(fe);
		vhf_track_writes(fe, true);
		r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, "data", &e);
		if (!r)
			r = vhf_fuse_open(fe, RQ, e.nodeid, O_RDWR, &o);
		if (!r)
			r = burst(fe, e.nodeid, o.fh, out, &n);
		vhf_track_writes(fe, false);
		vhf_check(!r,
			  "%u READs and FSYNCs in flight at once on queues 1 "
			  "and 2 and the workers (%s)",
			  n, errname(r));
		for (unsigned i = 0; i < n; i++) {
			for (uint64_t p = out[i].gpa / VHF_LOG_PAGE;
			     p <= (out[i].gpa + out[i].len - 1) / VHF_LOG_PAGE;
			     p++)
				unmarked +=
					!vhf_log_dirty(fe, p * VHF_LOG_PAGE);
			vhf_free(fe, &out[i]);
		}
		missing = unmarked_pages(fe, &total);
		vhf_check(
			n && unmarked == 0 && missing == 0,
			"their reply pages and every used-ring page are marked "
			"(%u reply pages, %u ring pages not)",
			unmarked, missing);
	}

	r = vhf_log_stop(fe);
	vhf_check(!r, "logging off again (%s)", errname(r));
	vhf_log_clear(fe);
	vhf_track_writes(fe, true);
	r = busy_work(fe, &nreq);
	vhf_track_writes(fe, false);
	missing = unmarked_pages(fe, &total);
	vhf_check(!r && missing == total,
		  "with logging off nothing is marked (%u of %u pages marked)",
		  total - missing, total);

	/* One page of log covers 128 MiB: far less than guest memory. */
	r = vhf_log_start(fe, 4096, &status);
	vhf_check(
		r == -EREMOTEIO && status != 0,
		"a log too small for guest memory is refused (%s, reply %llu)",
		errname(r), (unsigned long long)status);
	if (!vhf_check(log_has(&d,
			       "dirty log of 0x1000 bytes covers guest "
			       "memory up to 0x8000000, but the memory table"),
		       "the daemon names the sizes in its log"))
		tu_dump_log(d.log);
	r = vhf_fuse_getattr(fe, RQ, FUSE_ROOT_ID,
			     &(struct fuse_attr_out){ 0 });
	vhf_check(!r, "and goes on serving (GETATTR: %s)", errname(r));
out_stop:
	vhf_disconnect(fe);
	dmn_wait_check(&d, "vfsd");
out:
	case_cleanup();
}

/* ---- the migration scenario ---- */

/* VHOST_MIGRATION_DUMP=DIR: each saved state also goes to DIR/LABEL,
 * behind the control byte of fuzz/fuzz_state.c (reseal, this share). */
static void dump_state(const char *label, const void *state, size_t len)
{
	const char *dir = getenv("VHOST_MIGRATION_DUMP");
	char path[256];
	uint8_t *b;

	if (!dir || !state)
		return;
	b = malloc(len + 1);
	if (!b)
		return;
	b[0] = 0x0b;
	memcpy(b + 1, state, len);
	snprintf(path, sizeof(path), "%s/seed-%s", dir, label);
	tu_write_file(path, b, len + 1);
	free(b);
}

static int fuse_lk(struct vhf *fe, uint32_t opcode, uint64_t nodeid,
		   uint64_t fh, uint64_t owner, uint32_t type, uint32_t flags,
		   struct fuse_file_lock *out)
{
	struct fuse_lk_in in = {
		.fh = fh,
		.owner = owner,
		.lk = { .start = 0, .end = INT64_MAX, .type = type, .pid = 42 },
		.lk_flags = flags,
	};
	struct iovec a = { &in, sizeof(in) };
	size_t outs = sizeof(struct fuse_out_header) +
		      (opcode == FUSE_GETLK ? sizeof(struct fuse_lk_out) : 0),
	       len = 0;
	struct {
		struct fuse_out_header h;
		struct fuse_lk_out o;
	} reply;
	int r;

	r = vhf_fuse(fe, RQ, opcode, nodeid, &a, 1, &outs, 1, &reply,
		     sizeof(reply), &len);
	if (r)
		return r;
	if (reply.h.error)
		return reply.h.error;
	if (out)
		*out = reply.o.lk;
	return 0;
}

/* Can a host process write-lock @name (an OFD lock on a fresh open)? */
static int host_lock(const char *name, bool flk)
{
	char path[320];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", share, name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flk)
		r = flock(fd, LOCK_EX | LOCK_NB) ? -errno : 0;
	else
		r = fcntl(fd, F_OFD_SETLK, &fl) ? -errno : 0;
	close(fd);
	return r;
}

/* A WRITE laid by hand and left in flight (its reply is collected
 * later, from whichever daemon serves it). */
struct inflight {
	struct vhf_buf in, out;
	size_t len;
};

static int write_submit(struct vhf *fe, struct inflight *w, uint64_t nodeid,
			uint64_t fh, uint64_t off, const char *data)
{
	size_t dlen = strlen(data);
	struct fuse_in_header h;
	struct fuse_write_in wi = { .fh = fh,
				    .offset = off,
				    .size = (uint32_t)dlen };
	struct vhf_seg segs[3];
	int r;

	w->len = sizeof(h) + sizeof(wi) + dlen;
	r = vhf_alloc(fe, w->len, &w->in);
	if (!r)
		r = vhf_alloc(fe,
			      sizeof(struct fuse_out_header) +
				      sizeof(struct fuse_write_out),
			      &w->out);
	if (r)
		return r;
	vhf_fuse_in_header(fe, &h, FUSE_WRITE, nodeid, (uint32_t)w->len);
	memcpy(w->in.hva, &h, sizeof(h));
	memcpy((uint8_t *)w->in.hva + sizeof(h), &wi, sizeof(wi));
	memcpy((uint8_t *)w->in.hva + sizeof(h) + sizeof(wi), data, dlen);
	segs[0] = (struct vhf_seg){ w->in.gpa, sizeof(h), false };
	segs[1] = (struct vhf_seg){ w->in.gpa + sizeof(h),
				    (uint32_t)(sizeof(wi) + dlen), false };
	segs[2] = (struct vhf_seg){ w->out.gpa, (uint32_t)w->out.len, true };
	return vhf_submit(fe, RQ, segs, 3, false, w);
}

/* Collect the in-flight WRITE's reply: bytes written, or -errno. */
static int write_collect(struct vhf *fe, struct inflight *w)
{
	struct fuse_out_header oh;
	struct fuse_write_out wo;
	void *cookie = NULL;
	uint32_t len = 0;
	int r;

	r = vhf_wait(fe, RQ, 0, &len, &cookie);
	if (!r && cookie != w)
		r = -EPROTO;
	if (r)
		return r;
	memcpy(&oh, w->out.hva, sizeof(oh));
	memcpy(&wo, (uint8_t *)w->out.hva + sizeof(oh), sizeof(wo));
	vhf_free(fe, &w->in);
	vhf_free(fe, &w->out);
	return oh.error ? oh.error : (int)wo.size;
}

/* What the source's guest holds, for the checks on the destination. */
struct held {
	struct fuse_entry_out data, dir, sub, file, moved, doomed, locked;
	uint64_t data_fh, dir_fh, locked_fh, flock_fh;
	uint64_t dir_off; /* READDIR cookie after the first entry */
	char first_name[64];
};

static const char *const owner_name = "owner 0x1234";
#define OWNER 0x1234u
#define OTHER_OWNER 0x9999u

/* Build the guest's state on the source. */
static int source_work(struct vhf *fe, struct held *g, bool doomed)
{
	struct fuse_open_out o;
	static uint8_t buf[4096];
	size_t len = 0;
	int r;

	r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, "data", &g->data);
	if (!r)
		r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, "dir", &g->dir);
	if (!r)
		r = vhf_fuse_lookup(fe, RQ, g->dir.nodeid, "sub", &g->sub);
	if (!r)
		r = vhf_fuse_lookup(fe, RQ, g->sub.nodeid, "file", &g->file);
	if (!r)
		r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, "to-move", &g->moved);
	if (!r && doomed)
		r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, "doomed", &g->doomed);
	if (!r)
		r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, "locked", &g->locked);
	/* A second lookup: the count the destination must carry on. */
	if (!r)
		r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, "data", &g->data);
	if (!r)
		r = vhf_fuse_open(fe, RQ, g->data.nodeid, O_RDWR, &o);
	if (!r) {
		g->data_fh = o.fh;
		r = fuse_opendir(fe, RQ, g->dir.nodeid, &g->dir_fh);
	}
	if (!r)
		r = fuse_readdir(fe, RQ, g->dir.nodeid, g->dir_fh, 0, buf,
				 sizeof(buf), &len);
	if (!r) {
		/* Remember where the listing stood after its first entry. */
		const struct fuse_dirent *d = (const void *)buf;

		g->dir_off = d->off;
		snprintf(g->first_name, sizeof(g->first_name), "%.*s",
			 (int)d->namelen, d->name);
	}
	if (!r)
		r = vhf_fuse_open(fe, RQ, g->locked.nodeid, O_RDWR, &o);
	if (!r) {
		g->locked_fh = o.fh;
		r = fuse_lk(fe, FUSE_SETLK, g->locked.nodeid, g->locked_fh,
			    OWNER, F_WRLCK, 0, NULL);
	}
	if (!r)
		r = vhf_fuse_open(fe, RQ, g->file.nodeid, O_RDONLY, &o);
	if (!r) {
		g->flock_fh = o.fh;
		r = fuse_lk(fe, FUSE_SETLK, g->file.nodeid, g->flock_fh,
			    OTHER_OWNER, F_WRLCK, FUSE_LK_FLOCK, NULL);
	}
	return r;
}

static void make_share(bool doomed)
{
	static char data[3 * 4096];
	char path[320];
	int r;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 23);
	snprintf(path, sizeof(path), "%s/dir", share);
	r = mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/dir/sub", share);
	r = r ? r : mkdir(path, 0755);
	for (int i = 0; !r && i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "dir/e%d", i);
		r = host_file(name, "", 0);
	}
	if (!r)
		r = host_file("data", data, sizeof(data));
	if (!r)
		r = host_file("dir/sub/file", "deep", 4);
	if (!r)
		r = host_file("to-move", "moved bytes", 11);
	if (!r && doomed)
		r = host_file("doomed", "gone soon", 9);
	if (!r)
		r = host_file("locked", "locked bytes", 12);
	vhf_check(!r, "the share's files");
}

static void rename_host(const char *from, const char *to)
{
	char a[320], b[320];

	snprintf(a, sizeof(a), "%s/%s", share, from);
	snprintf(b, sizeof(b), "%s/%s", share, to);
	vhf_check(rename(a, b) == 0, "host: rename %s -> %s", from, to);
}

static void unlink_host(const char *name)
{
	char a[320];

	snprintf(a, sizeof(a), "%s/%s", share, name);
	vhf_check(unlink(a) == 0, "host: unlink %s", name);
}

/* Checks on the destination that the guest's world went along. */
static void check_destination(struct vhf *fe, const struct held *g,
			      const char *moved_to, const char *label)
{
	static char buf[3 * 4096];
	struct fuse_entry_out e;
	struct fuse_attr_out ao;
	struct fuse_file_lock lk;
	uint32_t got = 0;
	size_t len = 0;
	int r;

	r = vhf_fuse_read(fe, RQ, g->data.nodeid, g->data_fh, 0, buf,
			  sizeof(buf), &got);
	vhf_check(
		!r && got == sizeof(buf) && !memcmp(buf, "MIGRATED", 8) &&
			buf[8] == 'a' + 8 % 23 && buf[4096] == 'a' + 4096 % 23,
		"%s: READ through the source's fh returns the same bytes, with "
		"the WRITE that was in flight (%s, %u bytes)",
		label, errname(r), got);
	r = vhf_fuse_getattr(fe, RQ, g->file.nodeid, &ao);
	vhf_check(!r && ao.attr.ino == g->file.attr.ino,
		  "%s: GETATTR of dir/sub/file by the source's nodeid (%s)",
		  label, errname(r));
	r = vhf_fuse_lookup(fe, RQ, g->sub.nodeid, "file", &e);
	vhf_check(
		!r && e.nodeid == g->file.nodeid &&
			e.generation == g->file.generation,
		"%s: LOOKUP sub/file gives the source's nodeid and generation "
		"(%s; %llu/%llu, was %llu/%llu)",
		label, errname(r), (unsigned long long)e.nodeid,
		(unsigned long long)e.generation,
		(unsigned long long)g->file.nodeid,
		(unsigned long long)g->file.generation);
	if (!r)
		vhf_fuse_forget(fe, e.nodeid, 1);
	r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, moved_to, &e);
	vhf_check(
		!r && e.nodeid == g->moved.nodeid,
		"%s: the file moved on the host is the same node under its new "
		"name %s (%s; %llu, was %llu)",
		label, moved_to, errname(r), (unsigned long long)e.nodeid,
		(unsigned long long)g->moved.nodeid);
	if (!r)
		vhf_fuse_forget(fe, e.nodeid, 1);
	r = fuse_readdir(fe, RQ, g->dir.nodeid, g->dir_fh, g->dir_off, buf,
			 sizeof(buf), &len);
	{
		const struct fuse_dirent *d = (const void *)buf;
		bool dup = false;

		for (size_t pos = 0; !r && pos < len;) {
			d = (const void *)(buf + pos);
			if (d->namelen == strlen(g->first_name) &&
			    !memcmp(d->name, g->first_name, d->namelen))
				dup = true;
			pos += FUSE_DIRENT_SIZE(d);
		}
		vhf_check(
			!r && len > 0 && !dup,
			"%s: READDIR goes on from the source's cookie, without "
			"'%s' again (%s, %zu bytes)",
			label, g->first_name, errname(r), len);
	}
	r = fuse_lk(fe, FUSE_GETLK, g->locked.nodeid, g->locked_fh, OTHER_OWNER,
		    F_RDLCK, 0, &lk);
	vhf_check(
		!r && lk.type == F_WRLCK,
		"%s: GETLK by another owner sees %s's write lock (%s, type %u)",
		label, owner_name, errname(r), lk.type);
	r = host_lock("locked", false);
	vhf_check(r == -EAGAIN || r == -EACCES,
		  "%s: a host process cannot lock the locked file (%s)", label,
		  errname(r));
	r = host_lock("dir/sub/file", true);
	vhf_check(r == -EWOULDBLOCK,
		  "%s: nor flock the file whose handle holds a flock (%s)",
		  label, errname(r));
	r = fuse_lk(fe, FUSE_SETLK, g->locked.nodeid, g->locked_fh, OWNER,
		    F_UNLCK, 0, NULL);
	vhf_check(!r, "%s: the owner unlocks on the destination (%s)", label,
		  errname(r));
	r = host_lock("locked", false);
	vhf_check(!r, "%s: then the host can lock it (%s)", label, errname(r));
	r = vhf_fuse_release(fe, RQ, g->data.nodeid, g->data_fh, O_RDWR);
	vhf_check(!r, "%s: RELEASE of the source's fh (%s)", label, errname(r));
	r = vhf_fuse_read(fe, RQ, g->data.nodeid, g->data_fh, 0, buf, 16, &got);
	vhf_check(r == -EBADF, "%s: after RELEASE the fh is gone (%s)", label,
		  errname(r));
}

/* Wait until the flock and POSIX lock the destination took again hold
 * (the source, on the same host, held them until it ended). */
static bool wait_locks(void)
{
	for (int i = 0; i < 250; i++) {
		if (host_lock("locked", false) == -EAGAIN &&
		    host_lock("dir/sub/file", true) == -EWOULDBLOCK)
			return true;
		usleep(20000);
	}
	return false;
}

static int serving_fds(const struct dmn *d)
{
	return tu_count_fds(tu_serving_pid(d->pid));
}

/*
 * The whole scenario: daemon A with the guest's state (nodes, handles,
 * a READDIR in the middle, a POSIX lock and a flock), dirty logging on,
 * a WRITE in flight, a file moved on the host, rings stopped, state
 * saved; daemon B started on the same share loads it, A is let go, and
 * the guest goes on on B with A's nodeids and fhs.
 */
static void migrate(const char *label, const char *const *opts,
		    bool move_after_save)
{
	struct vhf *fe = NULL;
	struct dmn a, b;
	struct held g;
	struct inflight w;
	void *state = NULL;
	size_t len = 0;
	uint64_t check_a = 1, check_b = 1, status = 1;
	unsigned total = 0, missing;
	int old = -1, r;

	memset(&g, 0, sizeof(g));
	make_share(false);
	r = dmn_start(&a, "a", share, opts);
	if (!r)
		r = connect_fe(&a, &fe);
	if (!vhf_check(!r, "%s: A: start, connect, INIT (%s)", label,
		       errname(r)))
		goto out;
	r = source_work(fe, &g, false);
	if (!vhf_check(!r, "%s: A: LOOKUPs, OPENs, READDIR, SETLK, flock (%s)",
		       label, errname(r)))
		goto out_a;
	r = vhf_log_start(fe, 0, &status);
	vhf_check(!r, "%s: dirty logging on (%s)", label, errname(r));
	vhf_log_clear(fe);
	vhf_track_writes(fe, true);
	r = vhf_fuse_getattr(fe, RQ, g.data.nodeid,
			     &(struct fuse_attr_out){ 0 });
	r = r ? r :
		write_submit(fe, &w, g.data.nodeid, g.data_fh, 0, "MIGRATED");
	vhf_check(!r, "%s: a WRITE in flight (%s)", label, errname(r));
	if (!move_after_save)
		rename_host("to-move", "moved");
	r = vhf_stop(fe);
	vhf_check(!r, "%s: rings stopped (GET_VRING_BASE) (%s)", label,
		  errname(r));
	missing = unmarked_pages(fe, &total);
	vhf_check(missing == 0,
		  "%s: every page A wrote is marked (%u of %u not)", label,
		  missing, total);
	vhf_track_writes(fe, false);
	r = vhf_save_state(fe, &state, &len, &check_a);
	vhf_check(!r && check_a == 0 && len > 64,
		  "%s: A saves its state (%s, %zu bytes, CHECK %llu)", label,
		  errname(r), len, (unsigned long long)check_a);
	dump_state(label, state, len);
	if (r || check_a)
		goto out_a;
	if (move_after_save)
		rename_host("to-move", "moved");

	r = dmn_start(&b, "b", share, opts);
	vhf_check(!r, "%s: B: started on the same share (%s)", label,
		  errname(r));
	if (r)
		goto out_a;
	r = vhf_switch(fe, b.sock, state, len, &check_b, &old);
	if (!vhf_check(
		    !r && check_b == 0,
		    "%s: B loads the state, its rings start (%s, CHECK %llu)",
		    label, errname(r), (unsigned long long)check_b)) {
		tu_dump_log(b.log);
		goto out_b;
	}
	vhf_check(log_has(&b, opts ? "(file handles;" : "(paths;"),
		  "%s: B found the nodes by %s", label,
		  opts ? "their file handles" : "their paths");
	r = write_collect(fe, &w);
	vhf_check(r == 8, "%s: the in-flight WRITE completes (%d)", label, r);
	r = host_lock("locked", false);
	vhf_check(r == -EAGAIN || r == -EACCES,
		  "%s: while A lives it still holds the lock (%s)", label,
		  errname(r));
	close(old);
	old = -1;
	dmn_wait_check(&a, "A");
	vhf_check(wait_locks(),
		  "%s: B holds the POSIX lock and the flock once "
		  "A is gone",
		  label);
	check_destination(fe, &g, "moved", label);
	vhf_disconnect(fe);
	fe = NULL;
	dmn_wait_check(&b, "B");
	free(state);
	return;

out_b:
	if (old >= 0)
		close(old);
	old = -1;
	vhf_disconnect(fe);
	fe = NULL;
	dmn_wait(&b);
out_a:
	if (old >= 0)
		close(old);
	vhf_disconnect(fe);
	fe = NULL;
	dmn_wait_check(&a, "A");
out:
	free(state);
}

static void case_find_paths(void)
{
	if (!vhf_check(!case_prepare("find-paths"), "prepare the share"))
		return;
	migrate("find-paths", NULL, false);
	case_cleanup();
}

static void case_file_handles(void)
{
	/* With inodes held as fds (never), CAP_DAC_READ_SEARCH stays for
	 * the migration's open_by_handle_at() alone. */
	static const char *const opts[] = { "--migration-mode=file-handles",
					    "--inode-file-handles=never",
					    NULL };

	if (!vhf_check(!case_prepare("file-handles"), "prepare the share"))
		return;
	/* A handle finds the file wherever it went, also after the save. */
	migrate("file-handles", opts, true);
	case_cleanup();
}

/* ---- a cancelled migration ---- */

static void case_cancel(void)
{
	struct vhf *fe = NULL;
	struct held g;
	struct dmn a;
	void *state = NULL;
	size_t len = 0;
	uint64_t chk = 1;
	char buf[16];
	uint32_t got = 0;
	struct fuse_file_lock lk;
	int r;

	if (!vhf_check(!case_prepare("cancel"), "prepare the share"))
		return;
	memset(&g, 0, sizeof(g));
	make_share(false);
	r = dmn_start(&a, "a", share, NULL);
	if (!r)
		r = connect_fe(&a, &fe);
	if (!r)
		r = source_work(fe, &g, false);
	if (!vhf_check(!r, "A: start, INIT, the guest's state (%s)",
		       errname(r)))
		goto out;
	r = vhf_log_start(fe, 0, NULL);
	if (!r)
		r = vhf_stop(fe);
	if (!r)
		r = vhf_save_state(fe, &state, &len, &chk);
	vhf_check(!r && chk == 0,
		  "logging on, rings stopped, state saved (%s, CHECK %llu)",
		  errname(r), (unsigned long long)chk);
	/* The migration is cancelled: QEMU starts the rings again. */
	r = vhf_resume(fe);
	vhf_check(!r,
		  "the rings start again on A (SET_VRING_* and ENABLE) (%s)",
		  errname(r));
	r = vhf_log_stop(fe);
	vhf_check(!r, "logging off (%s)", errname(r));
	r = vhf_fuse_read(fe, RQ, g.data.nodeid, g.data_fh, 0, buf, sizeof(buf),
			  &got);
	vhf_check(!r && got == sizeof(buf) && buf[0] == 'a',
		  "A goes on serving: READ by its fh (%s, %u bytes)",
		  errname(r), got);
	r = fuse_lk(fe, FUSE_GETLK, g.locked.nodeid, g.locked_fh, OTHER_OWNER,
		    F_RDLCK, 0, &lk);
	vhf_check(!r && lk.type == F_WRLCK, "its lock is still held (%s)",
		  errname(r));
	r = host_lock("dir/sub/file", true);
	vhf_check(r == -EWOULDBLOCK, "and its flock (%s)", errname(r));
out:
	vhf_disconnect(fe);
	dmn_wait_check(&a, "A");
	free(state);
	case_cleanup();
}

/* ---- a file deleted between save and load ---- */

/* Save A's state with a node (and an open handle) of "doomed"; it is
 * unlinked on the host right after. */
static int save_with_doomed(struct dmn *a, struct vhf **fe, struct held *g,
			    void **state, size_t *len, uint64_t *doomed_fh)
{
	struct fuse_open_out o;
	uint64_t chk = 1;
	int r;

	memset(g, 0, sizeof(*g));
	make_share(true);
	r = dmn_start(a, "a", share, NULL);
	if (!r)
		r = connect_fe(a, fe);
	if (!r)
		r = source_work(*fe, g, true);
	if (!r)
		r = vhf_fuse_open(*fe, RQ, g->doomed.nodeid, O_RDONLY, &o);
	if (!r) {
		*doomed_fh = o.fh;
		r = vhf_stop(*fe);
	}
	if (!r)
		r = vhf_save_state(*fe, state, len, &chk);
	if (!r && chk)
		r = -EREMOTEIO;
	return r;
}

static void case_deleted(void)
{
	static const char *const guest_error[] = {
		"--migration-on-error=guest-error", NULL
	};
	struct vhf *fe = NULL, *fe2 = NULL;
	struct held g;
	struct dmn a, b, c;
	void *state = NULL;
	size_t len = 0;
	uint64_t chk = 0, doomed_fh = 0;
	struct fuse_attr_out ao;
	char buf[16], needle[96];
	uint32_t got = 0;
	int old = -1, fds, r;

	if (!vhf_check(!case_prepare("deleted"), "prepare the share"))
		return;
	r = save_with_doomed(&a, &fe, &g, &state, &len, &doomed_fh);
	if (!vhf_check(!r, "A: the guest holds 'doomed' open; state saved (%s)",
		       errname(r)))
		goto out_a;
	unlink_host("doomed");

	/* abort (the default): the whole load fails, nothing stays. */
	r = dmn_start(&b, "b", share, NULL);
	if (!r) {
		struct vhf_opts o = { .migration = true,
				      .setup_only_conn = true,
				      .daemon_pid = b.pid };

		r = vhf_connect(&fe2, b.sock, &o);
		if (!r)
			r = vhf_negotiate(fe2);
	}
	if (!vhf_check(!r, "B (--migration-on-error=abort) connected (%s)",
		       errname(r)))
		goto out_b;
	fds = serving_fds(&b);
	r = vhf_load_state(fe2, state, len, &chk);
	vhf_check(!r && chk != 0,
		  "B refuses the state: CHECK_DEVICE_STATE %llu "
		  "(%s)",
		  (unsigned long long)chk, errname(r));
	snprintf(needle, sizeof(needle), "node %llu ('doomed')",
		 (unsigned long long)g.doomed.nodeid);
	if (!vhf_check(log_has(&b, needle) &&
			       log_has(&b, "--migration-on-error=abort"),
		       "B's log names the node and why the migration fails"))
		tu_dump_log(b.log);
	vhf_check(serving_fds(&b) == fds,
		  "B keeps nothing of the state: %d fds, as before (%d)",
		  serving_fds(&b), fds);
	vhf_disconnect(fe2);
	fe2 = NULL;
	dmn_wait_check(&b, "B");

	/* guest-error: only that node fails. */
	r = dmn_start(&c, "c", share, guest_error);
	r = r ? r : vhf_switch(fe, c.sock, state, len, &chk, &old);
	if (!vhf_check(
		    !r && chk == 0,
		    "C (--migration-on-error=guest-error) loads it (%s, CHECK "
		    "%llu)",
		    errname(r), (unsigned long long)chk)) {
		tu_dump_log(c.log);
		goto out_c;
	}
	vhf_check(log_has(&c, needle), "C's log names the node it lost");
	r = vhf_fuse_getattr(fe, RQ, g.doomed.nodeid, &ao);
	vhf_check(r == -ENOENT, "GETATTR of the deleted file's node fails (%s)",
		  errname(r));
	r = vhf_fuse_read(fe, RQ, g.doomed.nodeid, doomed_fh, 0, buf,
			  sizeof(buf), &got);
	vhf_check(r == -EBADF, "READ by its handle fails (%s)", errname(r));
	r = vhf_fuse_read(fe, RQ, g.data.nodeid, g.data_fh, 0, buf, sizeof(buf),
			  &got);
	vhf_check(!r && got == sizeof(buf) && buf[0] == 'a',
		  "the other files serve: READ of data (%s)", errname(r));
	r = vhf_fuse_getattr(fe, RQ, g.file.nodeid, &ao);
	vhf_check(!r, "GETATTR of dir/sub/file (%s)", errname(r));
	r = vhf_fuse_forget(fe, g.doomed.nodeid, 1);
	vhf_check(!r, "FORGET of the lost node (%s)", errname(r));
	r = vhf_fuse_release(fe, RQ, g.doomed.nodeid, doomed_fh, O_RDONLY);
	vhf_check(r == -EBADF, "RELEASE of its handle: EBADF (%s)", errname(r));
out_c:
	if (old >= 0)
		close(old);
	old = -1;
	vhf_disconnect(fe);
	fe = NULL;
	dmn_wait_check(&c, "C");
	dmn_wait_check(&a, "A");
	free(state);
	case_cleanup();
	return;
out_b:
	vhf_disconnect(fe2);
	dmn_wait(&b);
out_a:
	vhf_disconnect(fe);
	dmn_wait(&a);
	free(state);
	case_cleanup();
}

/* ---- names the kernel marks deleted; handles that differ ---- */

/* Save A's state (with @opts) after the guest looked up and opened
 * @name; @between runs on the host before the save. */
static int simple_save(struct dmn *a, struct vhf **fe, const char *const *opts,
		       const char *name, struct fuse_entry_out *e, uint64_t *fh,
		       void (*between)(void), void **state, size_t *len)
{
	struct fuse_open_out o;
	uint64_t chk = 1;
	int r;

	r = dmn_start(a, "a", share, opts);
	if (!r)
		r = connect_fe(a, fe);
	if (!r)
		r = vhf_fuse_lookup(*fe, RQ, FUSE_ROOT_ID, name, e);
	if (!r)
		r = vhf_fuse_open(*fe, RQ, e->nodeid, O_RDONLY, &o);
	if (!r) {
		*fh = o.fh;
		if (between)
			between();
		r = vhf_stop(*fe);
	}
	if (!r)
		r = vhf_save_state(*fe, state, len, &chk);
	if (!r && chk)
		r = -EREMOTEIO;
	return r;
}

static void unlink_h1(void)
{
	unlink_host("h1");
}

/* The guest's name of a file is unlinked on the host while another link
 * remains: the kernel's name for the fd ends in " (deleted)", and the
 * source finds the other name in the share. */
static void case_hardlink(void)
{
	struct vhf *fe = NULL;
	struct fuse_entry_out e, e2;
	struct dmn a, b;
	void *state = NULL;
	size_t len = 0;
	uint64_t fh = 0, chk = 1;
	char a1[320], a2[320], buf[16];
	uint32_t got = 0;
	int old = -1, r;

	if (!vhf_check(!case_prepare("hardlink"), "prepare the share"))
		return;
	snprintf(a1, sizeof(a1), "%s/h1", share);
	snprintf(a2, sizeof(a2), "%s/h2", share);
	r = host_file("h1", "linked bytes", 12);
	vhf_check(!r && link(a1, a2) == 0, "host: h1 and h2, hard links");
	r = simple_save(&a, &fe, NULL, "h1", &e, &fh, unlink_h1, &state, &len);
	if (!vhf_check(!r,
		       "A: LOOKUP and OPEN h1; h1 unlinked on the host; "
		       "state saved (%s)",
		       errname(r)))
		goto out;
	vhf_check(log_has(&a, "1 searched for"),
		  "A searched the share for the node whose name was deleted");
	r = dmn_start(&b, "b", share, NULL);
	r = r ? r : vhf_switch(fe, b.sock, state, len, &chk, &old);
	if (!vhf_check(!r && chk == 0, "B loads it (%s)", errname(r))) {
		tu_dump_log(b.log);
		goto out_b;
	}
	r = vhf_fuse_read(fe, RQ, e.nodeid, fh, 0, buf, sizeof(buf), &got);
	vhf_check(!r && got == 12 && !memcmp(buf, "linked bytes", 12),
		  "READ through the fh opened by h1 (%s)", errname(r));
	r = vhf_fuse_lookup(fe, RQ, FUSE_ROOT_ID, "h2", &e2);
	vhf_check(!r && e2.nodeid == e.nodeid,
		  "h2 is the same node (%s; %llu, was %llu)", errname(r),
		  (unsigned long long)e2.nodeid, (unsigned long long)e.nodeid);
out_b:
	if (old >= 0)
		close(old);
	vhf_disconnect(fe);
	fe = NULL;
	dmn_wait_check(&b, "B");
out:
	vhf_disconnect(fe);
	dmn_wait_check(&a, "A");
	free(state);
	case_cleanup();
}

static void replace_data(void)
{
	unlink_host("data");
	host_file("data", "a new file", 10);
}

/* --migration-verify-handles: the file at the node's path is replaced
 * by another one between the save and the load: B finds a file by the
 * path, but not the source's, and refuses. */
static void case_verify(void)
{
	static const char *const verify[] = { "--migration-verify-handles",
					      NULL };
	struct vhf *fe = NULL, *fe2 = NULL;
	struct fuse_entry_out e;
	struct dmn a, b;
	void *state = NULL;
	size_t len = 0;
	uint64_t fh = 0, chk = 0;
	int r;

	if (!vhf_check(!case_prepare("verify"), "prepare the share"))
		return;
	r = host_file("data", "the source's file", 17);
	r = r ? r :
		simple_save(&a, &fe, verify, "data", &e, &fh, NULL, &state,
			    &len);
	if (!vhf_check(!r, "A (--migration-verify-handles): state saved (%s)",
		       errname(r)))
		goto out;
	/* The source goes away, the file is replaced meanwhile. */
	vhf_disconnect(fe);
	fe = NULL;
	dmn_wait_check(&a, "A");
	replace_data();
	r = dmn_start(&b, "b", share, NULL);
	if (!r) {
		struct vhf_opts o = { .migration = true,
				      .setup_only_conn = true,
				      .daemon_pid = b.pid };

		r = vhf_connect(&fe2, b.sock, &o);
		if (!r)
			r = vhf_negotiate(fe2);
	}
	if (!r)
		r = vhf_load_state(fe2, state, len, &chk);
	vhf_check(!r && chk != 0,
		  "B refuses the state: 'data' is another file now (%s, CHECK "
		  "%llu)",
		  errname(r), (unsigned long long)chk);
	if (!vhf_check(log_has(&b, "its file handle differs"),
		       "B's log says the file handle differs"))
		tu_dump_log(b.log);
	vhf_disconnect(fe2);
	dmn_wait_check(&b, "B");
out:
	if (fe) {
		vhf_disconnect(fe);
		dmn_wait(&a);
	}
	free(state);
	case_cleanup();
}

/* ---- corrupt and foreign states ---- */

/* The format, as far as these tests change it (src/util/dstate.h):
 * a 32-byte header (magic, u16 version, u16 header length, u32 flags,
 * u64 body length, u32 CRC-32C of the body, u32 record count), then
 * records (u16 type, u16 flags, u32 length, payload), little-endian. */
#define HDR 32u
#define REC_NODE 0x0204
#define REC_HANDLE 0x0207

static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = ~0u;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A copy of @st (@len bytes) with room for @extra more. */
static uint8_t *copy_state(const void *st, size_t len, size_t extra)
{
	uint8_t *c = malloc(len + extra + 1);

	if (c)
		memcpy(c, st, len);
	return c;
}

/* Header fields made to match the body again (length, CRC, count). */
static void reseal(uint8_t *st, size_t len)
{
	unsigned n = 0;

	for (size_t pos = HDR; pos + 8 <= len; n++)
		pos += 8 + le(st + pos + 4, 4);
	put_le(st + 16, len - HDR, 8);
	put_le(st + 24, crc32c(st + HDR, len - HDR), 4);
	put_le(st + 28, n, 4);
}

/* The offset of the first record of @type, or 0. */
static size_t find_rec(const uint8_t *st, size_t len, unsigned type,
		       unsigned nth)
{
	for (size_t pos = HDR; pos + 8 <= len; pos += 8 + le(st + pos + 4, 4))
		if (le(st + pos, 2) == type && nth-- == 0)
			return pos;
	return 0;
}

/* Append a record of @type with @flags and @n bytes of @payload. */
static size_t append_rec(uint8_t *st, size_t len, unsigned type, unsigned flags,
			 const void *payload, size_t n)
{
	put_le(st + len, type, 2);
	put_le(st + len + 2, flags, 2);
	put_le(st + len + 4, n, 4);
	memcpy(st + len + 8, payload, n);
	return len + 8 + n;
}

/* Replace the path of the @nth NODE record by @path. */
static size_t set_node_path(uint8_t *st, size_t len, unsigned nth,
			    const char *path)
{
	size_t pos = find_rec(st, len, REC_NODE, nth), at, old, n;
	size_t plen = strlen(path);

	if (!pos)
		return 0;
	at = pos + 8 + 53; /* nodeid..ino: 8+8+8+4+1+8+8+8 */
	old = le(st + at, 2);
	if (at + 2 + old > len)
		return 0;
	n = len - (at + 2 + old);
	memmove(st + at + 2 + plen, st + at + 2 + old, n);
	put_le(st + at, plen, 2);
	memcpy(st + at + 2, path, plen);
	put_le(st + pos + 4, le(st + pos + 4, 4) - old + plen, 4);
	return len - old + plen;
}

struct bad_state {
	const char *what; /* the check's wording */
	const char *log; /* what B's log must say */
	uint8_t *st;
	size_t len;
};

static void try_bad(struct dmn *b, struct vhf *fe, struct bad_state *bs,
		    int fds)
{
	uint64_t chk = 0;
	int r;

	if (!bs->st) {
		vhf_check(false, "%s: build it", bs->what);
		return;
	}
	r = vhf_load_state(fe, bs->st, bs->len, &chk);
	vhf_check(!r && chk != 0, "%s: refused (CHECK_DEVICE_STATE %llu, %s)",
		  bs->what, (unsigned long long)chk, errname(r));
	if (!vhf_check(log_has(b, bs->log), "%s: the log says '%s'", bs->what,
		       bs->log))
		tu_dump_log(b->log);
	vhf_check(serving_fds(b) == fds, "%s: nothing kept (%d fds, %d before)",
		  bs->what, serving_fds(b), fds);
	free(bs->st);
	bs->st = NULL;
}

static void case_corrupt(void)
{
	struct vhf *fe = NULL, *fe2 = NULL;
	struct dmn a, b, other;
	struct held g;
	void *state = NULL;
	uint8_t *st;
	size_t len = 0, n;
	uint64_t chk = 1;
	char othershare[224], link[320];
	int fds, r;

	if (!vhf_check(!case_prepare("corrupt"), "prepare the share"))
		return;
	memset(&g, 0, sizeof(g));
	make_share(false);
	snprintf(link, sizeof(link), "%s/escape", share);
	vhf_check(symlink("/etc", link) == 0,
		  "host: a symlink 'escape' to /etc");
	r = dmn_start(&a, "a", share, NULL);
	if (!r)
		r = connect_fe(&a, &fe);
	if (!r)
		r = source_work(fe, &g, false);
	if (!r)
		r = vhf_stop(fe);
	if (!r)
		r = vhf_save_state(fe, &state, &len, &chk);
	vhf_disconnect(fe);
	fe = NULL;
	dmn_wait_check(&a, "A");
	if (!vhf_check(!r && chk == 0, "A: a valid state (%s, %zu bytes)",
		       errname(r), len))
		goto out;

	/* The state of this share offered to a daemon of another. */
	snprintf(othershare, sizeof(othershare), "%s/other", casedir);
	mkdir(othershare, 0755);
	r = dmn_start(&other, "other", othershare, NULL);
	if (!r) {
		struct vhf_opts o = { .migration = true,
				      .setup_only_conn = true,
				      .daemon_pid = other.pid };

		r = vhf_connect(&fe2, other.sock, &o);
		if (!r)
			r = vhf_negotiate(fe2);
	}
	if (vhf_check(!r, "a daemon on another share (%s)", errname(r))) {
		struct bad_state bs = { "the state of another share",
					"it is the state of another share",
					copy_state(state, len, 0), len };

		try_bad(&other, fe2, &bs, serving_fds(&other));
	}
	vhf_disconnect(fe2);
	fe2 = NULL;
	dmn_wait_check(&other, "the other share's daemon");

	r = dmn_start(&b, "b", share, NULL);
	if (!r) {
		struct vhf_opts o = { .migration = true,
				      .setup_only_conn = true,
				      .daemon_pid = b.pid };

		r = vhf_connect(&fe2, b.sock, &o);
		if (!r)
			r = vhf_negotiate(fe2);
	}
	if (!vhf_check(!r, "B on the same share (%s)", errname(r)))
		goto out_b;
	fds = serving_fds(&b);
	{
		struct bad_state bs[] = {
			{ "an empty state", "truncated: 0 bytes",
			  copy_state(state, len, 0), 0 },
			{ "a truncated state (half of it)", "truncated",
			  copy_state(state, len, 0), len / 2 },
			{ "a truncated state (one byte short)",
			  "truncated: the header says",
			  copy_state(state, len, 0), len - 1 },
			{ "an oversized state (16 more bytes)",
			  "oversized: the header says",
			  copy_state(state, len, 16), len + 16 },
			{ "a corrupt state (one byte flipped)",
			  "corrupt: the checksum", copy_state(state, len, 0),
			  len },
			{ "no state at all (bad magic)",
			  "not a vfsd device state", copy_state(state, len, 0),
			  len },
			{ "a state of a future format", "format version 7",
			  copy_state(state, len, 0), len },
		};

		bs[4].st[len / 2] ^= 0x40;
		bs[5].st[0] = 'X';
		put_le(bs[6].st + 8, 7, 2);
		for (size_t i = 0; i < sizeof(bs) / sizeof(bs[0]); i++)
			try_bad(&b, fe2, &bs[i], fds);
	}
	/* Well-framed (resealed) but wrong inside. */
	st = copy_state(state, len, 64);
	if (st) {
		struct bad_state bs = { "a record of a future vfsd marked "
					"critical",
					"record type 0x02f0", st, 0 };

		bs.len = append_rec(st, len, 0x02f0, 1, "new", 3);
		reseal(st, bs.len);
		try_bad(&b, fe2, &bs, fds);
	}
	st = copy_state(state, len, 0);
	if (st) {
		struct bad_state bs = { "a handle of a node the state does not "
					"hold",
					"the node table does not match", st,
					len };
		size_t pos = find_rec(st, len, REC_HANDLE, 0);

		if (pos)
			put_le(st + pos + 8 + 8, 999999, 8);
		reseal(st, len);
		try_bad(&b, fe2, &bs, fds);
	}
	st = copy_state(state, len, 512);
	if (st) {
		struct bad_state bs = { "a node twice",
					"the node table does not match", st,
					len };
		size_t pos = find_rec(st, len, REC_NODE, 2);

		if (pos) {
			n = 8 + le(st + pos + 4, 4);
			memmove(st + pos + n, st + pos, len - pos);
			bs.len = len + n;
		}
		reseal(st, bs.len);
		try_bad(&b, fe2, &bs, fds);
	}
	st = copy_state(state, len, 64);
	if (st) {
		struct bad_state bs = { "a node path with '..'",
					"does not stay in the share", st, 0 };

		bs.len = set_node_path(st, len, 1, "../../etc/passwd");
		reseal(st, bs.len);
		try_bad(&b, fe2, &bs, fds);
	}
	st = copy_state(state, len, 64);
	if (st) {
		struct bad_state bs = { "a node path through a symlink out of "
					"the share",
					"its path names nothing", st, 0 };

		bs.len = set_node_path(st, len, 1, "escape/passwd");
		reseal(st, bs.len);
		try_bad(&b, fe2, &bs, fds);
	}
	st = copy_state(state, len, 64);
	if (st) {
		struct bad_state bs = { "a node path that is now a directory",
					"a directory", st, 0 };

		/* node 1 in the records is the root; 2 is data, a file */
		bs.len = set_node_path(st, len, 1, "dir");
		reseal(st, bs.len);
		try_bad(&b, fe2, &bs, fds);
	}
	/* After all of it, the valid state still loads: nothing stayed.
	 * With a record it does not know (not critical) appended, as a
	 * newer source could send. */
	st = copy_state(state, len, 64);
	if (st) {
		n = append_rec(st, len, 0x02f1, 0, "later", 5);
		reseal(st, n);
		r = vhf_load_state(fe2, st, n, &chk);
		vhf_check(!r && chk == 0,
			  "then the valid state, with a record of a newer vfsd "
			  "(not critical), loads (%s, CHECK %llu)",
			  errname(r), (unsigned long long)chk);
		free(st);
	}
out_b:
	vhf_disconnect(fe2);
	dmn_wait_check(&b, "B");
out:
	free(state);
	case_cleanup();
}

/* ---- main ---- */

static const struct vhf_case cases[] = {
	{ "dirty-log", case_dirty_log },
	{ "find-paths", case_find_paths },
	{ "file-handles", case_file_handles },
	{ "cancel", case_cancel },
	{ "deleted", case_deleted },
	{ "hardlink", case_hardlink },
	{ "verify", case_verify },
	{ "corrupt", case_corrupt },
};

int main(int argc, char **argv)
{
	const struct vhf_harness h = {
		.prog = "vhost-migration",
		.cases = cases,
		.ncases = sizeof(cases) / sizeof(cases[0]),
		.need_root = false,
		.tmpdir_mode = 0,
	};

	return vhf_run_cases(&h, argc, argv);
}
