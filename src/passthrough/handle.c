// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The handle table: fh -> open file or directory.
 *
 * OPEN, CREATE, TMPFILE and OPENDIR insert a handle and reply its fh; the
 * fh is (slot generation << 32 | slot index). READ, WRITE, READDIR and the
 * rest look it up with pt_handle_get() (or pt_handle_get_node(), which also
 * checks that the handle belongs to the nodeid of the request) and drop it
 * with pt_handle_put(); RELEASE removes it. The table holds one reference
 * and each request one more, so a RELEASE racing a READ on the same fh
 * closes the fd only after the READ is done. A forged fh, or one whose slot
 * was reused since (generation differs), is not found: -EBADF.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "passthrough_i.h"

#define HANDLES_MIN_SLOTS 64
#define HANDLES_MAX_SLOTS 0x100000000ULL /* the index is 32 bits of fh */
#define NO_SLOT UINT32_MAX

struct handle_slot {
	struct pt_handle *h; /* NULL when free */
	uint32_t generation; /* never 0, so no fh is 0 */
	uint32_t next_free;
};

struct pt_handles {
	pthread_mutex_t lock;
	/* all below protected by ->lock */
	struct handle_slot *slots;
	uint64_t nslots;
	uint64_t cap;
	uint32_t free_head;
	/* handles in the table; written under ->lock, read without it by
	 * pt_handles_count() (relaxed atomics) */
	uint64_t count;
};

int pt_handles_new(struct pt_handles **out)
{
	struct pt_handles *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->slots = calloc(HANDLES_MIN_SLOTS, sizeof(*t->slots));
	if (!t->slots)
		goto out_free;
	if (pthread_mutex_init(&t->lock, NULL))
		goto out_free;
	t->cap = HANDLES_MIN_SLOTS;
	t->free_head = NO_SLOT;
	*out = t;
	return 0;

out_free:
	free(t->slots);
	free(t);
	return -ENOMEM;
}

static void handle_destroy(struct pt_fs *fs, struct pt_handle *h)
{
	if (h->fd >= 0)
		close(h->fd);
	pthread_mutex_destroy(&h->dir_mutex);
	pt_node_put(fs, h->node);
	free(h);
}

void pt_handles_free(struct pt_handles *t)
{
	if (!t)
		return;
	/* pt_handles_clear() ran first (pt_free); nothing is left here. */
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
}

static int slot_alloc_locked(struct pt_handles *t, uint32_t *idx)
{
	struct handle_slot *ns;
	uint64_t cap;

	if (t->free_head != NO_SLOT) {
		*idx = t->free_head;
		t->free_head = t->slots[*idx].next_free;
		return 0;
	}
	if (t->nslots == t->cap) {
		cap = t->cap * 2;
		if (cap > HANDLES_MAX_SLOTS - 1)
			return -ENFILE;
		ns = realloc(t->slots, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		memset(ns + t->cap, 0, (cap - t->cap) * sizeof(*ns));
		t->slots = ns;
		t->cap = cap;
	}
	*idx = t->nslots++;
	t->slots[*idx].generation = 1;
	return 0;
}

uint64_t pt_handle_add(struct pt_fs *fs, struct pt_handle *h, int *err)
{
	struct pt_handles *t = fs->handles;
	uint32_t idx;
	uint64_t fh;
	int ret;

	pthread_mutex_lock(&t->lock);
	ret = slot_alloc_locked(t, &idx);
	if (ret) {
		pthread_mutex_unlock(&t->lock);
		*err = ret;
		return 0;
	}
	h->refs = 1; /* the table's */
	t->slots[idx].h = h;
	__atomic_store_n(&t->count, t->count + 1, __ATOMIC_RELAXED);
	fh = (uint64_t)t->slots[idx].generation << 32 | idx;
	pthread_mutex_unlock(&t->lock);
	return fh;
}

static struct pt_handle *lookup_locked(struct pt_handles *t, uint64_t fh)
{
	uint64_t idx = fh & 0xffffffffULL;
	uint32_t gen = fh >> 32;

	if (idx >= t->nslots || !t->slots[idx].h ||
	    t->slots[idx].generation != gen)
		return NULL;
	return t->slots[idx].h;
}

struct pt_handle *pt_handle_get(struct pt_fs *fs, uint64_t fh)
{
	struct pt_handles *t = fs->handles;
	struct pt_handle *h;

	pthread_mutex_lock(&t->lock);
	h = lookup_locked(t, fh);
	if (h)
		h->refs++;
	pthread_mutex_unlock(&t->lock);
	return h;
}

struct pt_handle *pt_handle_get_node(struct pt_fs *fs, uint64_t fh,
				     uint64_t nodeid)
{
	struct pt_handle *h = pt_handle_get(fs, fh);

	if (h && h->node->nodeid != nodeid) {
		pt_handle_put(fs, h);
		return NULL;
	}
	return h;
}

void pt_handle_put(struct pt_fs *fs, struct pt_handle *h)
{
	struct pt_handles *t = fs->handles;
	bool dead;

	if (!h)
		return;
	pthread_mutex_lock(&t->lock);
	dead = --h->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (dead)
		handle_destroy(fs, h);
}

/* Take slot @idx out of the table; returns its handle. */
static struct pt_handle *slot_release_locked(struct pt_handles *t, uint32_t idx)
{
	struct handle_slot *s = &t->slots[idx];
	struct pt_handle *h = s->h;

	s->h = NULL;
	__atomic_store_n(&t->count, t->count - 1, __ATOMIC_RELAXED);
	if (++s->generation == 0)
		s->generation = 1;
	s->next_free = t->free_head;
	t->free_head = idx;
	return h;
}

int pt_handle_remove(struct pt_fs *fs, uint64_t fh)
{
	struct pt_handles *t = fs->handles;
	struct pt_handle *h;
	bool dead;

	pthread_mutex_lock(&t->lock);
	h = lookup_locked(t, fh);
	if (!h) {
		pthread_mutex_unlock(&t->lock);
		return -EBADF;
	}
	slot_release_locked(t, fh & 0xffffffffULL);
	dead = --h->refs == 0;
	pthread_mutex_unlock(&t->lock);
	if (dead)
		handle_destroy(fs, h);
	return 0;
}

uint64_t pt_handles_count(struct pt_fs *fs)
{
	return __atomic_load_n(&fs->handles->count, __ATOMIC_RELAXED);
}

void pt_handles_clear(struct pt_fs *fs)
{
	struct pt_handles *t = fs->handles;
	uint64_t i;

	/* One slot at a time: handle_destroy() takes the node table lock
	 * and closes fds, neither of which belongs under ours. */
	for (i = 0;; i++) {
		struct pt_handle *h = NULL;
		bool dead = false;

		pthread_mutex_lock(&t->lock);
		if (i >= t->nslots) {
			pthread_mutex_unlock(&t->lock);
			break;
		}
		if (t->slots[i].h) {
			h = slot_release_locked(t, i);
			dead = --h->refs == 0;
		}
		pthread_mutex_unlock(&t->lock);
		if (dead)
			handle_destroy(fs, h);
	}
}

/* --- live migration (migrate.c) --- */

int pt_handles_snapshot(struct pt_fs *fs, struct pt_handle ***hs,
			uint64_t **fhs, size_t *n, uint64_t *nslots,
			uint32_t *max_gen)
{
	struct pt_handles *t = fs->handles;
	size_t k = 0, cap;

	pthread_mutex_lock(&t->lock);
	cap = t->nslots ? t->nslots : 1;
	*hs = calloc(cap, sizeof(**hs));
	*fhs = calloc(cap, sizeof(**fhs));
	if (!*hs || !*fhs) {
		pthread_mutex_unlock(&t->lock);
		free(*hs);
		free(*fhs);
		return -ENOMEM;
	}
	*max_gen = 1;
	for (uint64_t i = 0; i < t->nslots; i++) {
		struct handle_slot *s = &t->slots[i];

		if (s->generation > *max_gen)
			*max_gen = s->generation;
		if (!s->h)
			continue;
		s->h->refs++;
		(*hs)[k] = s->h;
		(*fhs)[k] = (uint64_t)s->generation << 32 | i;
		k++;
	}
	*nslots = t->nslots;
	pthread_mutex_unlock(&t->lock);
	*n = k;
	return 0;
}

struct pt_handles *pt_handles_stage_new(uint64_t nslots, uint32_t next_gen,
					int *err)
{
	struct pt_handles *t;

	if (nslots > PT_HANDLES_STAGE_MAX || next_gen == 0) {
		*err = -EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		*err = -ENOMEM;
		return NULL;
	}
	t->cap = nslots < HANDLES_MIN_SLOTS ? HANDLES_MIN_SLOTS : nslots;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (!t->slots || pthread_mutex_init(&t->lock, NULL)) {
		free(t->slots);
		free(t);
		*err = -ENOMEM;
		return NULL;
	}
	t->nslots = nslots;
	t->free_head = NO_SLOT;
	for (uint64_t i = nslots; i-- > 0;) {
		t->slots[i].generation = next_gen;
		t->slots[i].next_free = t->free_head;
		t->free_head = (uint32_t)i;
	}
	return t;
}

int pt_handles_stage_add(struct pt_handles *t, uint64_t fh, struct pt_handle *h)
{
	uint64_t idx = fh & 0xffffffffULL;
	uint32_t gen = fh >> 32, *link = &t->free_head;

	if (idx >= t->nslots || gen == 0)
		return -EINVAL;
	if (t->slots[idx].h)
		return -EEXIST;
	while (*link != NO_SLOT && *link != idx)
		link = &t->slots[*link].next_free;
	if (*link == idx)
		*link = t->slots[idx].next_free;
	h->refs = 1; /* the table's */
	t->slots[idx].h = h;
	t->slots[idx].generation = gen;
	t->count++; /* not shared yet: pt_handles_commit publishes it */
	return 0;
}

void pt_handles_stage_free(struct pt_handles *t)
{
	if (!t)
		return;
	/* The nodes they hold belong to a staged node table, freed with
	 * it: only the handles' own fds go here. */
	for (uint64_t i = 0; i < t->nslots; i++) {
		struct pt_handle *h = t->slots[i].h;

		if (!h)
			continue;
		if (h->fd >= 0)
			close(h->fd);
		pthread_mutex_destroy(&h->dir_mutex);
		free(h);
	}
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
}

void pt_handles_commit(struct pt_fs *fs, struct pt_handles *t)
{
	/* The live table is empty (a state loads only before INIT). */
	pt_handles_free(fs->handles);
	fs->handles = t;
}
