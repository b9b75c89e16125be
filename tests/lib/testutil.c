// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * testutil: the host-side helpers the test programs share (see
 * testutil.h for what belongs here and what does not).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define LOG_MAX 65536

/* ---- reporting ---- */

void tu_vcheck_line(bool ok, unsigned no, const char *name, const char *fmt,
		    va_list ap)
{
	printf("%s %u - %s: ", ok ? "ok" : "not ok", no, name);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

/* ---- files ---- */

int tu_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len)
		r = -EIO;
	close(fd);
	return r;
}

int tu_read_file(const char *path, void *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0)
		return -errno;
	*len = (size_t)n;
	return 0;
}

int tu_remove_at(int dfd, const char *name)
{
	char **dirs = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) ? -errno : 0;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		/* what is surely no directory goes at once: a huge
		 * directory of files costs no memory per entry */
		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) {
			unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		if (n == cap) {
			char **nd;

			cap = cap ? cap * 2 : 16;
			nd = realloc(dirs, cap * sizeof(*nd));
			if (!nd)
				break;
			dirs = nd;
		}
		dirs[n] = strdup(e->d_name);
		if (dirs[n])
			n++;
	}
	/* below, keep only the fd (one per level), not the stream's buffer */
	fd = fcntl(dirfd(d), F_DUPFD_CLOEXEC, 0);
	closedir(d);
	for (i = 0; i < n; i++) {
		if (fd >= 0)
			tu_remove_at(fd, dirs[i]);
		free(dirs[i]);
	}
	free(dirs);
	if (fd >= 0)
		close(fd);
	return unlinkat(dfd, name, AT_REMOVEDIR) ? -errno : 0;
}

int tu_remove_tree(const char *path)
{
	return tu_remove_at(AT_FDCWD, path);
}

/* ---- processes ---- */

const char *tu_status_str(int status)
{
	static char s[64];

	if (WIFSIGNALED(status))
		snprintf(s, sizeof(s), "killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		snprintf(s, sizeof(s), "exit status %d", WEXITSTATUS(status));
	else
		snprintf(s, sizeof(s), "status %#x", status);
	return s;
}

pid_t tu_serving_pid(pid_t pid)
{
	char p[64], buf[64];
	size_t len = 0;
	long child;

	/* the sandbox forks from the main thread: its children list */
	snprintf(p, sizeof(p), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	if (tu_read_file(p, buf, sizeof(buf) - 1, &len) || !len)
		return pid;
	buf[len] = '\0';
	child = strtol(buf, NULL, 10);
	return child > 0 ? (pid_t)child : pid;
}

int tu_count_dir(const char *path)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(path);

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int tu_count_fds(pid_t pid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	return tu_count_dir(p);
}

int tu_proc_status(pid_t pid, const char *const *keys, unsigned n, int base,
		   unsigned long long *vals)
{
	char p[64], line[256];
	int found = 0;
	unsigned i;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < n; i++) {
			size_t kl = strlen(keys[i]);

			if (strncmp(line, keys[i], kl) || line[kl] != ':')
				continue;
			vals[i] = strtoull(line + kl + 1, NULL, base);
			found++;
			break;
		}
	}
	fclose(f);
	return found;
}

int tu_fdinfo(pid_t pid, const char *fd, unsigned long *flags,
	      unsigned long *mnt_id)
{
	char p[300], line[128];
	int want = mnt_id ? 3 : 1, got = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/fdinfo/%s", (int)pid, fd);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "flags:", 6)) {
			*flags = strtoul(line + 6, NULL, 8);
			got |= 1;
		} else if (mnt_id && !strncmp(line, "mnt_id:", 7)) {
			*mnt_id = strtoul(line + 7, NULL, 10);
			got |= 2;
		}
	}
	fclose(f);
	return got == want ? 0 : -ENODATA;
}

/* ---- a daemon's command line and log ---- */

char **tu_argv_cat(char *const *argv, const char *const *extra)
{
	size_t n = 0, m = 0, i;
	char **all;

	while (argv[n])
		n++;
	while (extra && extra[m])
		m++;
	all = calloc(n + m + 1, sizeof(*all));
	if (!all)
		return NULL;
	for (i = 0; i < n; i++)
		all[i] = argv[i];
	for (i = 0; i < m; i++)
		all[n + i] = (char *)extra[i];
	return all;
}

int tu_stderr_to(const char *log, bool inherit)
{
	int lf, saved, r;

	lf = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (lf < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	saved = inherit ? dup(2) : fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (saved < 0 || dup2(lf, 2) < 0) {
		r = -errno;
		if (saved >= 0)
			close(saved);
		close(lf);
		return r;
	}
	close(lf);
	return saved;
}

void tu_stderr_restore(int saved)
{
	dup2(saved, 2);
	close(saved);
}

void tu_dump_log(const char *log)
{
	static char buf[LOG_MAX];
	char *line, *save = NULL;
	size_t len = 0;

	if (tu_read_file(log, buf, sizeof(buf) - 1, &len))
		return;
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("#   daemon: %s\n", line);
}
