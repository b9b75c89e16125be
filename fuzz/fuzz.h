/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libFuzzer entry points every target in fuzz/ defines. The same
 * target object links either with libFuzzer (-fsanitize=fuzzer, the
 * fuzzing binaries) or with replay.c (the corpus replay `make check`
 * runs, any compiler).
 */
#ifndef VFSD_FUZZ_H
#define VFSD_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed check in a fuzz target: print where and abort, so both
 * libFuzzer and the replay runner report it with the input. */
#define FUZZ_CHECK(cond)                                      \
	do {                                                  \
		if (!(cond))                                  \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

__attribute__((noreturn)) void fuzz_fail(const char *file, int line,
					 const char *what);

/* The open fds whose link target @match takes, for leak checks; and
 * every open fd with its target on stderr, for the report of a leak. */
int fuzz_count_fds(bool (*match)(const char *target));
void fuzz_list_fds(void);

#endif /* VFSD_FUZZ_H */
