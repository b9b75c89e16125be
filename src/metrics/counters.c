// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The counters. A serving thread's first count makes its block (calloc)
 * and links it into the registry, and a thread-specific key's destructor
 * folds it into ->retired and frees it when the thread ends. In between
 * the thread adds to its own block with relaxed atomic loads and stores
 * (plain moves on x86; atomic so that the reader's loads are not data
 * races) and takes no lock. metrics_snapshot() sums the retired total and
 * every live block under the registry lock, which the request path never
 * waits for except once per thread, at its first count.
 *
 * A block that cannot be allocated leaves its thread uncounted (and it
 * tries again at its next count): counting never fails a request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_i.h"

_Static_assert(sizeof(struct metrics_counts) % sizeof(uint64_t) == 0,
	       "struct metrics_counts is made of uint64_t only");

struct metrics_thread {
	struct metrics_counts c; /* written by the owning thread only */
	struct metrics_thread *prev, *next; /* protected by registry_lock */
};

bool metrics_on;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_thread *registry; /* protected by registry_lock */
static struct metrics_counts retired; /* protected by registry_lock */
static pthread_key_t thread_key;
static __thread struct metrics_thread *self;
static uint64_t start_ns; /* immutable after metrics_enable() */

static void add_words(uint64_t *to, const uint64_t *from)
{
	for (size_t i = 0; i < METRICS_WORDS; i++)
		to[i] += __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

/* Thread exit: keep what it counted, forget the block. */
static void thread_retire(void *arg)
{
	struct metrics_thread *t = arg;

	pthread_mutex_lock(&registry_lock);
	add_words((uint64_t *)&retired, (const uint64_t *)&t->c);
	if (t->prev)
		t->prev->next = t->next;
	else
		registry = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&registry_lock);
	if (self == t)
		self = NULL;
	free(t);
}

static struct metrics_thread *thread_register(void)
{
	struct metrics_thread *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (pthread_setspecific(thread_key, t)) {
		free(t);
		return NULL;
	}
	pthread_mutex_lock(&registry_lock);
	t->next = registry;
	if (registry)
		registry->prev = t;
	registry = t;
	pthread_mutex_unlock(&registry_lock);
	self = t;
	return t;
}

static inline struct metrics_thread *thread_block(void)
{
	return self ? self : thread_register();
}

/* The owner's increment: nobody else writes the word. */
static inline void bump(uint64_t *w, uint64_t n)
{
	__atomic_store_n(w, __atomic_load_n(w, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

int metrics_enable(void)
{
	int ret;

	if (metrics_on)
		return 0;
	ret = pthread_key_create(&thread_key, thread_retire);
	if (ret)
		return -ret;
	start_ns = metrics_now_ns();
	metrics_on = true;
	return 0;
}

uint64_t metrics_uptime_ns(void)
{
	return metrics_now_ns() - start_ns;
}

unsigned int metrics_bucket(uint64_t ns)
{
	/* whole microseconds, rounded up: bucket i is <= 2^i us */
	uint64_t us = ns / 1000 + (ns % 1000 != 0);
	unsigned int b;

	if (us <= 1)
		return 0;
	b = 64u - (unsigned int)__builtin_clzll(us - 1);
	return b < METRICS_BUCKETS - 1 ? b : METRICS_BUCKETS - 1;
}

void metrics_count_request(unsigned int op, int error, uint64_t ns)
{
	struct metrics_thread *t = thread_block();

	if (!t)
		return;
	if (op >= METRICS_OPS)
		op = 0;
	bump(&t->c.requests[op], 1);
	bump(&t->c.latency[op][metrics_bucket(ns)], 1);
	bump(&t->c.latency_ns[op], ns);
	if (error < 0) {
		unsigned int e = (unsigned int)-error;

		bump(&t->c.op_errors[op], 1);
		bump(&t->c.errors[e < METRICS_ERRNOS ? e : 0], 1);
	}
}

void metrics_count_io(bool write, uint64_t bytes)
{
	struct metrics_thread *t = thread_block();

	if (t)
		bump(write ? &t->c.written_bytes : &t->c.read_bytes, bytes);
}

void metrics_count_split(void)
{
	struct metrics_thread *t = thread_block();

	if (t)
		bump(&t->c.read_splits, 1);
}

void metrics_count_bounce(void)
{
	struct metrics_thread *t = thread_block();

	if (t)
		bump(&t->c.read_bounces, 1);
}

void metrics_count_queue(unsigned int queue)
{
	struct metrics_thread *t = thread_block();

	if (t && queue < METRICS_QUEUES)
		bump(&t->c.queue[queue], 1);
}

void metrics_snapshot(struct metrics_counts *out)
{
	pthread_mutex_lock(&registry_lock);
	memcpy(out, &retired, sizeof(*out));
	for (const struct metrics_thread *t = registry; t; t = t->next)
		add_words((uint64_t *)out, (const uint64_t *)&t->c);
	pthread_mutex_unlock(&registry_lock);
}
