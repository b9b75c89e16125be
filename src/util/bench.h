/* SPDX-License-Identifier: GPL-2.0-or-later */
/* VFSD_BENCH_* settings: knobs for benchmarks that compare policies. */
#ifndef VFSD_UTIL_BENCH_H
#define VFSD_UTIL_BENCH_H

#include <stdbool.h>

/*
 * The environment variable @name as a decimal number in [@min, @max].
 * True with *@val when it is one; false when it is unset or empty, and
 * false with a warning when it is something else (the caller then keeps
 * its default). The caller says what a value it takes means.
 */
bool bench_setting(const char *name, unsigned long long min,
		   unsigned long long max, unsigned long long *val);

#endif
