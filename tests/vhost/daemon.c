// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A daemon under test in a directory of its own (frontend.h, struct
 * vhf_daemon): the start, connect and stop every harness program does
 * the same way. Apart from frontend.c, which bench/ builds on its own
 * without the test utilities.
 */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

int vhf_daemon_prepare(struct vhf_daemon *d, const char *top, const char *name)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "%s/%s", top, name);
	snprintf(d->share, sizeof(d->share), "%s/share", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/vhost.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
	if (mkdir(d->dir, 0755) || mkdir(d->share, 0755))
		return -errno;
	return 0;
}

int vhf_daemon_start(struct vhf_daemon *d, char *const *argv,
		     const char *const *extra, bool connect, unsigned int q)
{
	struct vhf_opts opts = { 0 };
	struct fuse_init_out io;
	char **all = tu_argv_cat(argv, extra);
	int saved, r;

	if (!all)
		return -ENOMEM;
	saved = tu_stderr_to(d->log, false);
	r = vhf_spawn(all, d->sock, d->share, &d->pid);
	if (saved >= 0)
		tu_stderr_restore(saved);
	free(all);
	if (r)
		return r;
	d->started = true;
	if (!connect)
		return 0;
	opts.daemon_pid = d->pid;
	r = vhf_connect(&d->fe, d->sock, &opts);
	if (!r)
		r = vhf_fuse_init(d->fe, q, 0, &io);
	return r;
}

int vhf_daemon_stop(struct vhf_daemon *d)
{
	int status = 0;

	if (d->fe)
		vhf_disconnect(d->fe);
	d->fe = NULL;
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

void vhf_daemon_cleanup(struct vhf_daemon *d)
{
	tu_remove_tree(d->dir);
}

int vhf_fails;
const char *vhf_case = "";
char vhf_tmpdir[64];
char *const *vhf_daemon_argv;
static int vhf_checks;

bool vhf_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tu_vcheck_line(ok, ++vhf_checks, vhf_case, fmt, ap);
	va_end(ap);
	vhf_fails += !ok;
	return ok;
}

static void case_usage(const struct vhf_harness *h, const char *argv0)
{
	fprintf(stderr, "usage: %s [-v] [--case ", argv0);
	for (size_t k = 0; k < h->ncases; k++)
		fprintf(stderr, "%s%s", k ? "|" : "", h->cases[k].name);
	fprintf(stderr, "]... -- DAEMON ARGS... ({sock} and {dir} are "
			"substituted)\n");
}

int vhf_run_cases(const struct vhf_harness *h, int argc, char **argv)
{
	bool *want = calloc(h->ncases ? h->ncases : 1, sizeof(*want));
	bool any = false;
	size_t k;
	int i;

	if (!want)
		return 1;
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-v")) {
			vhf_verbose = 1;
		} else if (!strcmp(argv[i], "--case") && i + 1 < argc) {
			for (k = 0; k < h->ncases; k++)
				if (!strcmp(argv[i + 1], h->cases[k].name))
					break;
			if (k == h->ncases)
				goto usage;
			want[k] = any = true;
			i++;
		} else {
			goto usage;
		}
	}
	if (i + 1 >= argc)
		goto usage;
	if (h->need_root && geteuid() != 0) {
		fprintf(stderr, "%s: needs root\n", h->prog);
		free(want);
		return 1;
	}
	vhf_daemon_argv = argv + i + 1;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(vhf_tmpdir, sizeof(vhf_tmpdir), "/tmp/%s.XXXXXX", h->prog);
	if (!mkdtemp(vhf_tmpdir)) {
		perror("mkdtemp");
		free(want);
		return 1;
	}
	if (h->tmpdir_mode)
		chmod(vhf_tmpdir, h->tmpdir_mode);
	for (k = 0; k < h->ncases; k++) {
		if (any && !want[k])
			continue;
		vhf_case = h->cases[k].name;
		h->cases[k].fn();
	}
	tu_remove_tree(vhf_tmpdir);
	free(want);
	printf("%s\n", vhf_fails ? "FAIL" : "PASS");
	return vhf_fails ? 1 : 0;
usage:
	case_usage(h, argv[0]);
	free(want);
	return 2;
}
