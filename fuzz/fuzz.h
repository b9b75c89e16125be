/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libFuzzer entry points every target in fuzz/ defines. The same
 * target object links either with libFuzzer (-fsanitize=fuzzer, the
 * fuzzing binaries) or with replay.c (the corpus replay `make check`
 * runs, any compiler).
 */
#ifndef VFSD_FUZZ_H
#define VFSD_FUZZ_H

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

#endif /* VFSD_FUZZ_H */
