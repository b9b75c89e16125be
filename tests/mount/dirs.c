// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dirs: a large directory through getdents64.
 *
 *   dirs DIR N [HOSTDIR]
 *
 * 1. creates N entries in DIR (mostly files, some directories, names of
 *    varying length);
 * 2. lists DIR with getdents64 in small chunks: exactly the names created,
 *    none twice, none missing (and d_type matches); the same for HOSTDIR
 *    (the same directory seen on the host), when given;
 * 3. iterates again and, while iterating, unlinks every entry with index
 *    % 4 == 0 as it is returned and, ahead of the iteration, the entry with
 *    index + 2: no name may be returned twice, every entry that was never
 *    unlinked must be returned, and the final listing holds exactly the
 *    entries kept.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Chunk for getdents64: small, so listing takes many calls. */
#define CHUNK 1024

static unsigned int n_entries;
static unsigned char *seen; /* per index: times returned */
static bool *removed;

static void entry_name(char *buf, size_t len, unsigned int i)
{
	/* Names of 8..58 characters; index first, so parse_index() works. */
	snprintf(buf, len, "e%07u_%.*s", i, (int)(i * 37 % 51),
		 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

static bool is_dir_entry(unsigned int i)
{
	return i % 17 == 0;
}

/* The index of a name made by entry_name(), or -1. */
static long parse_index(const char *name)
{
	char want[128];
	char *end;
	unsigned long i;

	if (name[0] != 'e')
		return -1;
	i = strtoul(name + 1, &end, 10);
	if (*end != '_' || i >= n_entries)
		return -1;
	entry_name(want, sizeof(want), (unsigned int)i);
	return strcmp(want, name) ? -1 : (long)i;
}

static int remove_entry(int dfd, unsigned int i)
{
	char name[128];

	entry_name(name, sizeof(name), i);
	if (unlinkat(dfd, name, is_dir_entry(i) ? AT_REMOVEDIR : 0) < 0) {
		fprintf(stderr, "unlink %s: %s\n", name, strerror(errno));
		return -1;
	}
	removed[i] = true;
	return 0;
}

/*
 * List @path with getdents64. With @unlink_while set, remove entries during
 * the iteration (see the header). Returns the number of problems found.
 */
static int list(const char *path, bool unlink_while)
{
	char *buf = malloc(CHUNK);
	unsigned long calls = 0, total = 0;
	int problems = 0, dots = 0;
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0 || !buf) {
		fprintf(stderr, "open %s: %s\n", path, strerror(errno));
		free(buf);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	memset(seen, 0, n_entries);
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, CHUNK);

		if (n < 0) {
			fprintf(stderr, "getdents64 %s: %s\n", path,
				strerror(errno));
			problems++;
			break;
		}
		if (n == 0)
			break;
		calls++;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			long i;

			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") ||
			    !strcmp(d->d_name, "..")) {
				dots++;
				continue;
			}
			total++;
			i = parse_index(d->d_name);
			if (i < 0) {
				fprintf(stderr, "%s: unexpected name '%s'\n",
					path, d->d_name);
				problems++;
				continue;
			}
			if (seen[i]++) {
				fprintf(stderr, "%s: '%s' returned twice\n",
					path, d->d_name);
				problems++;
			}
			if (d->d_type != DT_UNKNOWN &&
			    d->d_type != (is_dir_entry((unsigned int)i) ?
						  DT_DIR :
						  DT_REG)) {
				fprintf(stderr, "%s: '%s' has d_type %u\n",
					path, d->d_name, d->d_type);
				problems++;
			}
			if (!unlink_while || i % 4 != 0 || removed[i])
				continue;
			if (remove_entry(fd, (unsigned int)i) < 0)
				problems++;
			if (i + 2 < n_entries && !seen[i + 2] &&
			    remove_entry(fd, (unsigned int)i + 2) < 0)
				problems++;
		}
		if (problems > 20)
			break;
	}
	if (dots != 2) {
		fprintf(stderr, "%s: %d entries named . or ..\n", path, dots);
		problems++;
	}
	for (unsigned int i = 0; i < n_entries && problems <= 20; i++) {
		char name[128];

		if (seen[i] || removed[i])
			continue;
		entry_name(name, sizeof(name), i);
		fprintf(stderr, "%s: '%s' missing\n", path, name);
		problems++;
	}
	printf("%s: %lu entries in %lu getdents64 calls%s\n", path, total,
	       calls, unlink_while ? " (unlinking meanwhile)" : "");
	close(fd);
	free(buf);
	return problems;
}

int main(int argc, char **argv)
{
	const char *dir, *host = NULL;
	unsigned int kept = 0;
	int problems = 0, dfd;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: dirs DIR N [HOSTDIR]\n");
		return 2;
	}
	dir = argv[1];
	n_entries = (unsigned int)strtoul(argv[2], NULL, 0);
	if (argc == 4)
		host = argv[3];
	seen = calloc(n_entries ? n_entries : 1, 1);
	removed = calloc(n_entries ? n_entries : 1, sizeof(*removed));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (!seen || !removed || dfd < 0) {
		fprintf(stderr, "dirs: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (unsigned int i = 0; i < n_entries; i++) {
		char name[128];
		int fd;

		entry_name(name, sizeof(name), i);
		if (is_dir_entry(i)) {
			if (mkdirat(dfd, name, 0755) < 0) {
				fprintf(stderr, "mkdir %s: %s\n", name,
					strerror(errno));
				return 1;
			}
			continue;
		}
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			fprintf(stderr, "create %s: %s\n", name,
				strerror(errno));
			return 1;
		}
		close(fd);
	}
	printf("created %u entries\n", n_entries);

	problems += list(dir, false);
	if (host)
		problems += list(host, false);
	problems += list(dir, true);
	problems += list(dir, false); /* exactly the entries kept */
	for (unsigned int i = 0; i < n_entries; i++) {
		if (removed[i])
			continue;
		kept++;
		if (!seen[i])
			problems++; /* already reported by list() */
	}
	for (unsigned int i = 0; i < n_entries; i++) {
		if (removed[i] && seen[i]) {
			fprintf(stderr, "removed entry %u still listed\n", i);
			problems++;
		}
	}
	if (host)
		problems += list(host, false);
	printf("kept %u entries\n", kept);
	close(dfd);
	free(seen);
	free(removed);
	if (problems) {
		fprintf(stderr, "dirs: %d problems\n", problems);
		return 1;
	}
	printf("dirs: ok\n");
	return 0;
}
