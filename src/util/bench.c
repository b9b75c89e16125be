// SPDX-License-Identifier: GPL-2.0-or-later
/* VFSD_BENCH_* settings, read the one way. */
#include <errno.h>
#include <stdlib.h>

#include "../log/log.h"
#include "bench.h"

bool bench_setting(const char *name, unsigned long long min,
		   unsigned long long max, unsigned long long *val)
{
	const char *s = getenv(name);
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || *s == '-' || v < min || v > max) {
		log_warn("ignoring %s=%s", name, s);
		return false;
	}
	*val = v;
	return true;
}
