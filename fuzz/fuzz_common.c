// SPDX-License-Identifier: GPL-2.0-or-later
/* What every fuzz target shares: the failed-check report. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
	abort();
}
