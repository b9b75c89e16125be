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
 *                the log. With logging off again nothing is marked. A log
 *                too small for guest memory is refused with a non-zero
 *                reply and a line naming both sizes, and serving goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

#define RQ 1 /* the first request queue */
#define RQ2 2 /* another one */

static int fails, checks;
static const char *cur_case = "";
static char tmpdir[64];
static char *const *daemon_argv;

static bool check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tu_vcheck_line(ok, ++checks, cur_case, fmt, ap);
	va_end(ap);
	fails += !ok;
	return ok;
}

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
	snprintf(casedir, sizeof(casedir), "%s/%s", tmpdir, name);
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
	char **argv = tu_argv_cat(daemon_argv, extra);
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

	if (!check(status == 0, "%s exits 0 once its frontend is gone (%s)",
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

static void case_dirty_log(void)
{
	static char data[3 * 4096 + 100];
	unsigned nreq = 0, total = 0, missing;
	uint64_t status = 0;
	struct vhf *fe = NULL;
	struct dmn d;
	int r;

	if (!check(!case_prepare("dirty-log"), "prepare the share"))
		return;
	memset(data, 'd', sizeof(data));
	r = host_file("data", data, sizeof(data));
	if (!r)
		r = dmn_start(&d, "a", share, NULL);
	if (!r)
		r = connect_fe(&d, &fe);
	if (!check(!r, "start, connect, INIT (%s)", errname(r)))
		goto out;
	r = vhf_log_start(fe, 0, &status);
	if (!check(!r && status == 0,
		   "SET_LOG_BASE, VHOST_F_LOG_ALL, ring log flags (%s, reply "
		   "%llu)",
		   errname(r), (unsigned long long)status))
		goto out_stop;
	vhf_log_clear(fe);
	vhf_track_writes(fe, true);
	r = busy_work(fe, &nreq);
	vhf_track_writes(fe, false);
	check(!r, "%u requests on queues 0, 1, 2 and a worker (%s)", nreq,
	      errname(r));
	missing = unmarked_pages(fe, &total);
	check(total > 20 && missing == 0,
	      "every page written (replies, used rings: %u) is marked in the "
	      "log (%u not)",
	      total, missing);

	r = vhf_log_stop(fe);
	check(!r, "logging off again (%s)", errname(r));
	vhf_log_clear(fe);
	vhf_track_writes(fe, true);
	r = busy_work(fe, &nreq);
	vhf_track_writes(fe, false);
	missing = unmarked_pages(fe, &total);
	check(!r && missing == total,
	      "with logging off nothing is marked (%u of %u pages marked)",
	      total - missing, total);

	/* One page of log covers 128 MiB: far less than guest memory. */
	r = vhf_log_start(fe, 4096, &status);
	check(r == -EREMOTEIO && status != 0,
	      "a log too small for guest memory is refused (%s, reply %llu)",
	      errname(r), (unsigned long long)status);
	if (!check(log_has(&d, "dirty log of 0x1000 bytes covers guest "
			       "memory up to 0x8000000, but the memory table"),
		   "the daemon names the sizes in its log"))
		tu_dump_log(d.log);
	r = vhf_fuse_getattr(fe, RQ, FUSE_ROOT_ID,
			     &(struct fuse_attr_out){ 0 });
	check(!r, "and goes on serving (GETATTR: %s)", errname(r));
out_stop:
	vhf_disconnect(fe);
	dmn_wait_check(&d, "vfsd");
out:
	case_cleanup();
}

/* ---- main ---- */

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "dirty-log", case_dirty_log },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

int main(int argc, char **argv)
{
	bool want[NCASES] = { false }, any = false;
	unsigned k;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-v")) {
			vhf_verbose = 1;
		} else if (!strcmp(argv[i], "--case") && i + 1 < argc) {
			for (k = 0; k < NCASES; k++)
				if (!strcmp(argv[i + 1], cases[k].name))
					break;
			if (k == NCASES)
				goto usage;
			want[k] = any = true;
			i++;
		} else {
			goto usage;
		}
	}
	if (i + 1 >= argc)
		goto usage;
	daemon_argv = argv + i + 1;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vhost-migration.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	for (k = 0; k < NCASES; k++) {
		if (any && !want[k])
			continue;
		cur_case = cases[k].name;
		cases[k].fn();
	}
	tu_remove_tree(tmpdir);
	printf("%s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
usage:
	fprintf(stderr,
		"usage: %s [-v] [--case NAME]... -- DAEMON ARGS... ({sock} "
		"and {dir} are substituted)\n",
		argv[0]);
	return 2;
}
