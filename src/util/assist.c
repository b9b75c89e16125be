// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helper threads for splitting one long request in two.
 *
 * A 1 MiB READ from the page cache is ~150 us of memory copying on one
 * CPU; when the queue has nothing else to do, the second half can be
 * copied on another CPU at the same time (docs/ARCHITECTURE.md,
 * "Splitting a large READ"). The helpers are started on first use, at
 * most ASSIST_MAX_THREADS, and then stay; a caller that finds none free
 * does the whole work itself, so a busy daemon never waits for a helper.
 *
 * After a job a helper keeps looking for the next one for a short while
 * before it sleeps: on a VM host a sleeping CPU takes tens of
 * microseconds to wake, as long as the half-copy it would save.
 * The thread that waits for a helper's half spins the same way first.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "assist.h"
#include "thread.h"

#define ASSIST_MAX_THREADS 4u
#define ASSIST_SPIN_NS 50000u

static pthread_mutex_t assist_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t assist_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t assist_done = PTHREAD_COND_INITIALIZER;
static struct assist_job *assist_head; /* protected by assist_lock */
static struct assist_job *assist_tail; /* protected by assist_lock */
static unsigned int assist_nthreads; /* protected by assist_lock */
static unsigned int assist_free; /* not yet promised a job; assist_lock */
static atomic_uint assist_queued; /* jobs in the list, for the spinners */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spin up to ASSIST_SPIN_NS for @cond to hold; true if it did. */
static bool spin_until(bool (*cond)(void *), void *arg)
{
	uint64_t start = mono_ns();
	unsigned int n = 0;

	while (!cond(arg)) {
		cpu_relax();
		if (++n % 64 == 0 && mono_ns() - start > ASSIST_SPIN_NS)
			return false;
	}
	return true;
}

static bool work_queued(void *unused)
{
	(void)unused;
	return atomic_load_explicit(&assist_queued, memory_order_acquire) > 0;
}

static void *assist_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&assist_lock);
	for (;;) {
		struct assist_job *job;

		while (!assist_head) {
			pthread_mutex_unlock(&assist_lock);
			spin_until(work_queued, NULL);
			pthread_mutex_lock(&assist_lock);
			if (!assist_head)
				pthread_cond_wait(&assist_work, &assist_lock);
		}
		job = assist_head;
		assist_head = job->next;
		if (!assist_head)
			assist_tail = NULL;
		atomic_fetch_sub(&assist_queued, 1);
		pthread_mutex_unlock(&assist_lock);

		job->fn(job->arg);

		/* Free again before the caller can see its job done, so that
		 * its next job finds this helper. */
		pthread_mutex_lock(&assist_lock);
		assist_free++;
		atomic_store_explicit(&job->done, true, memory_order_release);
		pthread_cond_broadcast(&assist_done);
	}
	return NULL;
}

static bool spawn_locked(void)
{
	if (thread_start_serving(NULL, assist_main, NULL))
		return false;
	assist_nthreads++;
	assist_free++;
	return true;
}

bool assist_start(struct assist_job *job)
{
	bool ok = false;

	atomic_store_explicit(&job->done, false, memory_order_relaxed);
	job->next = NULL;
	pthread_mutex_lock(&assist_lock);
	if (assist_free == 0 && assist_nthreads < ASSIST_MAX_THREADS)
		spawn_locked();
	if (assist_free > 0) {
		assist_free--;
		if (assist_tail)
			assist_tail->next = job;
		else
			assist_head = job;
		assist_tail = job;
		atomic_fetch_add_explicit(&assist_queued, 1,
					  memory_order_release);
		pthread_cond_signal(&assist_work);
		ok = true;
	}
	pthread_mutex_unlock(&assist_lock);
	return ok;
}

static bool job_done(void *arg)
{
	struct assist_job *job = arg;

	return atomic_load_explicit(&job->done, memory_order_acquire);
}

void assist_wait(struct assist_job *job)
{
	if (spin_until(job_done, job))
		return;
	pthread_mutex_lock(&assist_lock);
	while (!job_done(job))
		pthread_cond_wait(&assist_done, &assist_lock);
	pthread_mutex_unlock(&assist_lock);
}
