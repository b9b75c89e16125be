/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helper threads that take one half of a long request while the thread
 * that owns it does the other half (src/util/assist.c).
 */
#ifndef VFSD_UTIL_ASSIST_H
#define VFSD_UTIL_ASSIST_H

#include <stdatomic.h>
#include <stdbool.h>

struct assist_job {
	void (*fn)(void *arg);
	void *arg;
	/* the helper's, until done */
	struct assist_job *next;
	atomic_bool done;
};

/*
 * Have a helper run @job->fn(@job->arg). False when none is free and no
 * more may be started: the caller then does the work itself. After
 * true, the caller must assist_wait() before @job goes away.
 */
bool assist_start(struct assist_job *job);

/* Until @job, started by assist_start(), has run. */
void assist_wait(struct assist_job *job);

#endif
