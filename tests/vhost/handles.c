// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-handles: --inode-file-handles as a client sees it, over vhost-user.
 *
 *   vhost-handles [-v] [--case NAME]... -- DAEMON ARGS...
 *
 * DAEMON ARGS start vfsd on "{dir}" and "{sock}"; each case adds the mode
 * it is about. The cases:
 *
 *   reuse      with --inode-file-handles=mandatory, and with the default
 *              mode under --rlimit-nofile 600 (which caches at most 300
 *              fds): a held node whose fd was evicted keeps its identity.
 *              Its file is unlinked on the host and files are created
 *              until the host reuses its inode number; a LOOKUP of the new
 *              file gets a new nodeid with the new inode, and the old
 *              nodeid answers GETATTR with an error, never with the new
 *              file's attributes. Two hard links looked up before and after
 *              the eviction give one nodeid.
 *   nohandles  a share on ramfs (no file handles): mandatory refuses to
 *              start with one line that names file handles; prefer and
 *              never serve it.
 *   submount   an ext4 share with a ramfs mounted inside: prefer serves
 *              the submount's files with fds kept for life (still served
 *              after the cache turned over); mandatory answers LOOKUP of
 *              the submount with an error and keeps serving.
 *   caps       the serving process keeps CAP_DAC_READ_SEARCH (which
 *              open_by_handle_at needs) with mandatory and by default,
 *              and drops it with never.
 *
 * Needs root (mounts ramfs; file handles need CAP_DAC_READ_SEARCH) and a
 * /tmp on a file system that reuses inode numbers (ext4 here).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

#define RQ 1 /* the first request queue */
#define FLOOD 600 /* files looked up to turn the fd cache over */
#define REUSE_TRIES 2000 /* creates until the inode number comes back */
#define CAP_DAC_READ_SEARCH_BIT 2

static const char *errname(int r)
{
	return r ? strerror(-r) : "ok";
}

/* A daemon on its own share (frontend.h), started with the program's
 * daemon arguments and @extra. */
static int dmn_start(struct vhf_daemon *d, const char *const *extra,
		     bool connect)
{
	return vhf_daemon_start(d, vhf_daemon_argv, extra, connect, RQ);
}

static void dmn_stop_check(struct vhf_daemon *d)
{
	int status = vhf_daemon_stop(d);

	if (!vhf_check(status == 0,
		       "the daemon exits 0 after the disconnect (%s)",
		       status < 0 ? "killed" : tu_status_str(status)))
		tu_dump_log(d->log);
}

static int host_file(const struct vhf_daemon *d, const char *name,
		     const char *text)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s", d->share, name);
	return tu_write_file(path, text, strlen(text));
}

static uint64_t host_ino(const struct vhf_daemon *d, const char *name)
{
	char path[320];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", d->share, name);
	return lstat(path, &st) ? 0 : st.st_ino;
}

/* Create FLOOD files o000.. on the host. */
static int make_flood(const struct vhf_daemon *d)
{
	char name[32];
	int r;

	for (unsigned i = 0; i < FLOOD; i++) {
		snprintf(name, sizeof(name), "o%04u", i);
		r = host_file(d, name, "x");
		if (r)
			return r;
	}
	return 0;
}

/* LOOKUP every flood file and hold it (no FORGET): every node the
 * cache held before is evicted. Returns the number of errors. */
static unsigned flood(const struct vhf_daemon *d)
{
	struct fuse_entry_out e;
	char name[32];
	unsigned errs = 0;

	for (unsigned i = 0; i < FLOOD; i++) {
		snprintf(name, sizeof(name), "o%04u", i);
		errs += vhf_fuse_lookup(d->fe, RQ, FUSE_ROOT_ID, name, &e) != 0;
	}
	return errs;
}

/* OPEN, READ and RELEASE of @nodeid: 0 when it reads @want. */
static int read_node(struct vhf *fe, uint64_t nodeid, const char *want)
{
	struct fuse_open_out o;
	char buf[64];
	uint32_t got = 0;
	int r;

	r = vhf_fuse_open(fe, RQ, nodeid, O_RDONLY, &o);
	if (r)
		return r;
	r = vhf_fuse_read(fe, RQ, nodeid, o.fh, 0, buf, sizeof(buf), &got);
	vhf_fuse_release(fe, RQ, nodeid, o.fh, O_RDONLY);
	if (!r && (got != strlen(want) || memcmp(buf, want, got)))
		r = -EBADMSG;
	return r;
}

/* ---- reuse ---- */

static void reuse_with(const char *label, const char *const *extra)
{
	struct fuse_entry_out ea, eb, eb2, eh1, eh2, eh3;
	struct fuse_attr_out ao;
	char name[32], path[320], hpath[320];
	uint64_t ino_a;
	unsigned errs, i;
	struct vhf_daemon d;
	int r;

	if (!vhf_check(!vhf_daemon_prepare(&d, vhf_tmpdir, label),
		       "%s: prepare the share", label))
		return;
	r = host_file(&d, "a", "old");
	if (!r)
		r = host_file(&d, "h1", "linked");
	snprintf(path, sizeof(path), "%s/h1", d.share);
	snprintf(hpath, sizeof(hpath), "%s/h2", d.share);
	if (!r && link(path, hpath))
		r = -errno;
	if (!r)
		r = make_flood(&d);
	if (!vhf_check(!r, "%s: files on the host (%s)", label, errname(r)))
		goto out;
	r = dmn_start(&d, extra, true);
	if (!vhf_check(!r, "%s: start, connect, INIT (%s)", label, errname(r)))
		goto out_stop;
	ino_a = host_ino(&d, "a");
	r = vhf_fuse_lookup(d.fe, RQ, FUSE_ROOT_ID, "a", &ea);
	if (!r)
		r = vhf_fuse_lookup(d.fe, RQ, FUSE_ROOT_ID, "h1", &eh1);
	if (!vhf_check(!r && ea.attr.ino == ino_a, "%s: LOOKUP a and h1 (%s)",
		       label, errname(r)))
		goto out_stop;

	errs = flood(&d);
	vhf_check(errs == 0, "%s: %u more files looked up and held (%u errors)",
		  label, FLOOD, errs);

	/* Hard links: one node, before and after the eviction. */
	r = vhf_fuse_lookup(d.fe, RQ, FUSE_ROOT_ID, "h2", &eh2);
	if (!r)
		r = vhf_fuse_lookup(d.fe, RQ, FUSE_ROOT_ID, "h1", &eh3);
	vhf_check(!r && eh2.nodeid == eh1.nodeid && eh3.nodeid == eh1.nodeid,
		  "%s: h1 and h2 (hard links) are one node after eviction "
		  "(%s; %llu %llu %llu)",
		  label, errname(r), (unsigned long long)eh1.nodeid,
		  (unsigned long long)eh2.nodeid,
		  (unsigned long long)eh3.nodeid);
	r = read_node(d.fe, eh2.nodeid, "linked");
	vhf_check(!r, "%s: the evicted hard-linked node reads its bytes (%s)",
		  label, errname(r));

	/* The host reuses a's inode number for a new file. */
	snprintf(path, sizeof(path), "%s/a", d.share);
	if (!vhf_check(unlink(path) == 0, "%s: unlink a on the host", label))
		goto out_stop;
	for (i = 0; i < REUSE_TRIES; i++) {
		snprintf(name, sizeof(name), "b%04u", i);
		if (host_file(&d, name, "new") || host_ino(&d, name) == ino_a)
			break;
	}
	if (!vhf_check(
		    i < REUSE_TRIES && host_ino(&d, name) == ino_a,
		    "%s: the host gave inode %llu to a new file (%s after %u "
		    "creates; only if the daemon closed its fd of a)",
		    label, (unsigned long long)ino_a, name, i + 1))
		goto out_stop;
	r = vhf_fuse_lookup(d.fe, RQ, FUSE_ROOT_ID, name, &eb);
	vhf_check(!r && eb.nodeid != ea.nodeid && eb.attr.ino == ino_a,
		  "%s: LOOKUP %s: a new nodeid (%llu, a was %llu) (%s)", label,
		  name, (unsigned long long)eb.nodeid,
		  (unsigned long long)ea.nodeid, errname(r));
	r = read_node(d.fe, eb.nodeid, "new");
	vhf_check(!r, "%s: the new node reads the new file's bytes (%s)", label,
		  errname(r));
	r = vhf_fuse_getattr(d.fe, RQ, ea.nodeid, &ao);
	vhf_check(r == -ENOENT || r == -ESTALE,
		  "%s: GETATTR of a's old nodeid fails (%s), never the new "
		  "file's attributes",
		  label, errname(r));
	r = vhf_fuse_open(d.fe, RQ, ea.nodeid, O_RDONLY,
			  &(struct fuse_open_out){ 0 });
	vhf_check(r == -ENOENT || r == -ESTALE,
		  "%s: OPEN of a's old nodeid fails (%s)", label, errname(r));
	r = vhf_fuse_lookup(d.fe, RQ, FUSE_ROOT_ID, name, &eb2);
	vhf_check(!r && eb2.nodeid == eb.nodeid,
		  "%s: LOOKUP %s again: the same nodeid (%s)", label, name,
		  errname(r));
	vhf_fuse_forget(d.fe, ea.nodeid, 1);
	r = vhf_fuse_getattr(d.fe, RQ, eb.nodeid, &ao);
	vhf_check(!r && ao.attr.ino == ino_a,
		  "%s: after FORGET of the old node the new one serves (%s)",
		  label, errname(r));
out_stop:
	dmn_stop_check(&d);
out:
	vhf_daemon_cleanup(&d);
}

static void case_reuse(void)
{
	reuse_with("mandatory",
		   (const char *[]){ "--inode-file-handles=mandatory", NULL });
	/* By default handles take over when fds run short: a limit of 600
	 * caches 300 fds, fewer than the files looked up. */
	reuse_with("default",
		   (const char *[]){ "--rlimit-nofile", "600", NULL });
}

/* ---- nohandles ---- */

static int log_lines(const char *log, char *last, size_t cap)
{
	char buf[8192];
	size_t len = 0;
	int lines = 0;
	const char *p, *start;

	last[0] = 0;
	if (tu_read_file(log, buf, sizeof(buf) - 1, &len))
		return -1;
	buf[len] = 0;
	for (p = start = buf; *p; p++) {
		if (*p != '\n')
			continue;
		lines++;
		snprintf(last, cap, "%.*s", (int)(p - start), start);
		start = p + 1;
	}
	return lines;
}

static void case_nohandles(void)
{
	static const char *const modes[] = { "mandatory", "prefer", "never" };
	struct fuse_entry_out e;
	char opt[64], last[512];
	struct vhf_daemon d;
	int r, status, lines;

	if (!vhf_check(!vhf_daemon_prepare(&d, vhf_tmpdir, "nohandles"),
		       "prepare"))
		return;
	errno = 0;
	if (!vhf_check(mount("vfsd-test", d.share, "ramfs", 0, "mode=0755") ==
			       0,
		       "mount ramfs on the share (%s)",
		       errno ? strerror(errno) : "ok"))
		goto out;
	r = host_file(&d, "f", "ramfs");
	vhf_check(!r, "a file on the ramfs share (%s)", errname(r));
	for (unsigned m = 0; m < 3; m++) {
		snprintf(opt, sizeof(opt), "--inode-file-handles=%s", modes[m]);
		if (m == 0) {
			r = dmn_start(&d, (const char *[]){ opt, NULL }, false);
			if (!r)
				r = vhf_reap(d.pid, 10000, &status);
			d.started = r != 0;
			lines = log_lines(d.log, last, sizeof(last));
			vhf_check(!r && WIFEXITED(status) &&
					  WEXITSTATUS(status) != 0,
				  "%s on ramfs: refuses to start (%s)", opt,
				  r ? errname(r) : tu_status_str(status));
			vhf_check(lines == 1 && strstr(last, "file handles"),
				  "%s: one line naming file handles (%d lines: "
				  "\"%s\")",
				  opt, lines, last);
			vhf_check(access(d.sock, F_OK) != 0,
				  "%s: no socket left behind", opt);
			vhf_daemon_stop(&d);
			continue;
		}
		r = dmn_start(&d, (const char *[]){ opt, NULL }, true);
		if (!r)
			r = vhf_fuse_lookup(d.fe, RQ, FUSE_ROOT_ID, "f", &e);
		if (!r)
			r = read_node(d.fe, e.nodeid, "ramfs");
		vhf_check(!r, "%s on ramfs: serves, LOOKUP+OPEN+READ (%s)", opt,
			  errname(r));
		dmn_stop_check(&d);
	}
	umount2(d.share, MNT_DETACH);
out:
	vhf_daemon_cleanup(&d);
}

/* ---- submount ---- */

static void submount_with(const char *mode)
{
	struct fuse_entry_out es, ef;
	struct fuse_attr_out ao;
	char opt[64], sub[320];
	struct vhf_daemon d;
	unsigned errs;
	int r;

	snprintf(opt, sizeof(opt), "--inode-file-handles=%s", mode);
	if (!vhf_check(!vhf_daemon_prepare(&d, vhf_tmpdir, mode), "%s: prepare",
		       opt))
		return;
	snprintf(sub, sizeof(sub), "%s/sub", d.share);
	errno = 0;
	if (!vhf_check(mkdir(sub, 0755) == 0 && mount("vfsd-test", sub, "ramfs",
						      0, "mode=0755") == 0,
		       "%s: ramfs mounted at share/sub (%s)", opt,
		       errno ? strerror(errno) : "ok"))
		goto out;
	r = host_file(&d, "sub/f", "on ramfs");
	if (!r)
		r = make_flood(&d);
	if (!vhf_check(!r, "%s: files on the host (%s)", opt, errname(r)))
		goto out_umount;
	r = dmn_start(&d, (const char *[]){ opt, NULL }, true);
	if (!vhf_check(!r, "%s: start, connect, INIT (%s)", opt, errname(r)))
		goto out_stop;
	r = vhf_fuse_lookup(d.fe, RQ, FUSE_ROOT_ID, "sub", &es);
	if (!strcmp(mode, "mandatory")) {
		vhf_check(r < 0 && r != -ENOENT,
			  "%s: LOOKUP of a submount without handles fails (%s)",
			  opt, errname(r));
		r = vhf_fuse_getattr(d.fe, RQ, FUSE_ROOT_ID, &ao);
		vhf_check(!r, "%s: still serving (%s)", opt, errname(r));
		goto out_stop;
	}
	if (!r)
		r = vhf_fuse_lookup(d.fe, RQ, es.nodeid, "f", &ef);
	if (!vhf_check(!r, "%s: LOOKUP sub and sub/f (%s)", opt, errname(r)))
		goto out_stop;
	errs = flood(&d);
	vhf_check(errs == 0, "%s: %u more files looked up and held (%u errors)",
		  opt, FLOOD, errs);
	r = vhf_fuse_getattr(d.fe, RQ, ef.nodeid, &ao);
	if (!r)
		r = read_node(d.fe, ef.nodeid, "on ramfs");
	vhf_check(!r, "%s: sub/f (no handle: its fd is kept) still served (%s)",
		  opt, errname(r));
out_stop:
	dmn_stop_check(&d);
out_umount:
	umount2(sub, MNT_DETACH);
out:
	vhf_daemon_cleanup(&d);
}

static void case_submount(void)
{
	submount_with("prefer");
	submount_with("mandatory");
}

/* ---- caps ---- */

static void caps_with(const char *mode, bool want)
{
	static const char *const keys[] = { "CapEff" };
	unsigned long long cap = 0;
	char opt[64];
	struct vhf_daemon d;
	int r;

	snprintf(opt, sizeof(opt), "--inode-file-handles=%s", mode);
	if (!vhf_check(!vhf_daemon_prepare(&d, vhf_tmpdir, mode), "%s: prepare",
		       opt))
		return;
	r = dmn_start(&d, (const char *[]){ opt, NULL }, true);
	if (vhf_check(!r, "%s: start, connect, INIT (%s)", opt, errname(r))) {
		r = tu_proc_status(tu_serving_pid(d.pid), keys, 1, 16, &cap);
		vhf_check(r == 1 &&
				  !!(cap & (1ull << CAP_DAC_READ_SEARCH_BIT)) ==
					  want,
			  "%s: CAP_DAC_READ_SEARCH %s (CapEff %llx)", opt,
			  want ? "kept" : "dropped", cap);
	}
	dmn_stop_check(&d);
	vhf_daemon_cleanup(&d);
}

static void case_caps(void)
{
	caps_with("mandatory", true);
	caps_with("prefer", true);
	caps_with("never", false);
}

static const struct vhf_case cases[] = {
	{ "reuse", case_reuse },
	{ "nohandles", case_nohandles },
	{ "submount", case_submount },
	{ "caps", case_caps },
};

int main(int argc, char **argv)
{
	const struct vhf_harness h = {
		.prog = "vhost-handles",
		.cases = cases,
		.ncases = sizeof(cases) / sizeof(cases[0]),
		.need_root = true,
		.tmpdir_mode = 0,
	};

	return vhf_run_cases(&h, argc, argv);
}
