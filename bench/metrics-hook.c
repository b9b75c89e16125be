// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * metrics-hook: what counting costs a request, without the noise of a
 * daemon. Times the hooks one request runs with --metrics-socket (two
 * clock reads, metrics_count_request(), metrics_count_queue()) in a loop
 * on one thread, and the same loop with counting off (the one branch),
 * three rounds of 20 million each.
 *
 *   build/bench/metrics-hook
 */
#include <stdio.h>

#include "metrics/metrics.h"

#define LOOPS 20000000ul

int main(void)
{
	volatile unsigned long sink = 0;

	if (metrics_enable()) {
		fprintf(stderr, "metrics-hook: cannot turn counting on\n");
		return 1;
	}
	for (int round = 0; round < 3; round++) {
		uint64_t t0, t1, t2;

		t0 = metrics_now_ns();
		for (unsigned long i = 0; i < LOOPS; i++) {
			uint64_t start = metrics_now_ns();

			metrics_count_queue(1);
			/* one in 16 an error, as a LOOKUP of a missing name */
			metrics_count_request(3, (i & 15) ? 0 : -2,
					      metrics_now_ns() - start);
		}
		t1 = metrics_now_ns();
		for (unsigned long i = 0; i < LOOPS; i++)
			sink += metrics_enabled();
		t2 = metrics_now_ns();
		printf("round %d: on %.1f ns per request, off %.2f ns\n", round,
		       (double)(t1 - t0) / LOOPS, (double)(t2 - t1) / LOOPS);
	}
	return sink == 0; /* counting was on: never 0 */
}
