// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Corpus replay without libFuzzer: runs a target's LLVMFuzzerTestOneInput
 * once over every file named on the command line, or every file in the
 * directories named (sorted, dot files skipped). `make check` runs it over
 * fuzz/corpus/<target>/ so every input a fuzzer kept, and every
 * reproducer of a fixed bug, is a regression test under any compiler.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t got;
	FILE *f;

	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) < 0 || st.st_size < 0) {
		fclose(f);
		return -1;
	}
	/* one spare byte: malloc(0) may return NULL */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fclose(f);
		return -1;
	}
	got = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	if (getenv("VFSD_REPLAY_VERBOSE"))
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, got);
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned long *count)
{
	struct dirent **list;
	int n, ret = 0;

	n = scandir(dir, &list, NULL, NULL);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	qsort(list, (size_t)n, sizeof(*list), cmp_names);
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if (list[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir,
			     list[i]->d_name) < (int)sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) < 0)
				ret = -1;
			else
				(*count)++;
		}
		free(list[i]);
	}
	free(list);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int ret = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
				strerror(errno));
			ret = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) < 0)
				ret = 1;
		} else if (run_file(argv[i]) < 0) {
			ret = 1;
		} else {
			count++;
		}
	}
	printf("replayed %lu inputs\n", count);
	return ret;
}
