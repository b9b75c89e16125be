// SPDX-License-Identifier: GPL-2.0-or-later
/* What every fuzz target shares: the failed-check report, and the walk
 * of the process's open fds that the targets' leak checks make. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
	abort();
}

/* Call @fn(@arg, fd name, target) for every open fd; returns the sum of
 * what it returns. An fd gone before its link is read is skipped. */
static int walk_fds(int (*fn)(void *arg, const char *fd, const char *target),
		    void *arg)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d))) {
		char path[300], target[256];
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue; /* the directory's own fd, closed meanwhile */
		target[len] = '\0';
		n += fn(arg, e->d_name, target);
	}
	closedir(d);
	return n;
}

struct count_arg {
	bool (*match)(const char *target);
};

static int count_one(void *arg, const char *fd, const char *target)
{
	const struct count_arg *c = arg;

	(void)fd;
	return c->match(target) ? 1 : 0;
}

int fuzz_count_fds(bool (*match)(const char *target))
{
	struct count_arg c = { match };

	return walk_fds(count_one, &c);
}

static int list_one(void *arg, const char *fd, const char *target)
{
	(void)arg;
	fprintf(stderr, "  fd %s -> %s\n", fd, target);
	return 0;
}

void fuzz_list_fds(void)
{
	walk_fds(list_one, NULL);
}
