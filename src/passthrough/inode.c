// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The node table: nodeid -> node and (dev, ino, mnt_id) -> node.
 *
 * A LOOKUP (or any entry-creating request) opens the object O_PATH, stats
 * it and calls pt_node_add(): an object already known gains one lookup
 * reference, a new one gets a free slot whose index is its nodeid. Every
 * other request names a nodeid and brackets its work with pt_node_get() /
 * pt_node_put(), which hold an in-flight reference so that a concurrent
 * FORGET cannot free the node under it. A node is freed when both counts
 * reach zero; its slot's generation is bumped on the way so that a reused
 * nodeid never repeats (nodeid, generation).
 *
 * Both maps are O(1): the slot array is indexed by nodeid, and the key map
 * is an open-addressing hash table (linear probing, backward-shift
 * deletion) of node pointers. One mutex protects both; nothing blocking is
 * done while holding it (fds are closed after it is dropped).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../log/log.h"
#include "passthrough_i.h"

#define NODES_MIN_SLOTS 64
#define HASH_MIN_SIZE 128 /* power of two */
#define NO_SLOT UINT64_MAX

struct node_slot {
	struct pt_node *node; /* NULL when free */
	uint64_t generation; /* generation of the next node in this slot */
	uint64_t next_free; /* free list link, NO_SLOT at the end */
};

struct pt_nodes {
	pthread_mutex_t lock;
	/* all below protected by ->lock */
	struct node_slot *slots;
	uint64_t nslots; /* slots in use or on the free list */
	uint64_t cap;
	uint64_t free_head;
	struct pt_node **hash; /* hash_size buckets, NULL = empty */
	size_t hash_size;
	size_t hash_used;
};

static uint64_t key_hash(uint64_t dev, uint64_t ino, uint64_t mnt_id)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ULL;

	h ^= (dev + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL;
	h ^= (mnt_id + 0x8cb92ba72f3d8dd7ULL) * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static size_t node_bucket(const struct pt_nodes *t, const struct pt_node *n)
{
	return key_hash(n->dev, n->ino, n->mnt_id) & (t->hash_size - 1);
}

static struct pt_node *hash_find_locked(struct pt_nodes *t, uint64_t dev,
					uint64_t ino, uint64_t mnt_id)
{
	size_t mask = t->hash_size - 1;
	size_t i = key_hash(dev, ino, mnt_id) & mask;
	struct pt_node *n;

	while ((n = t->hash[i])) {
		if (n->ino == ino && n->dev == dev && n->mnt_id == mnt_id)
			return n;
		i = (i + 1) & mask;
	}
	return NULL;
}

static void hash_insert_raw(struct pt_node **hash, size_t size,
			    struct pt_node *n)
{
	size_t mask = size - 1;
	size_t i = key_hash(n->dev, n->ino, n->mnt_id) & mask;

	while (hash[i])
		i = (i + 1) & mask;
	hash[i] = n;
}

/* Keep the load factor at most 1/2 so probes stay short. */
/* Index @n (room reserved by hash_reserve_locked, or just freed). */
static void hash_add_locked(struct pt_nodes *t, struct pt_node *n)
{
	hash_insert_raw(t->hash, t->hash_size, n);
	t->hash_used++;
}

/* One more lookup reference (the count saturates rather than wrap) and
 * one in-flight reference on a node found in the table. */
static void node_take_locked(struct pt_node *n)
{
	if (n->nlookup != UINT64_MAX)
		n->nlookup++;
	n->refs++;
}

static int hash_reserve_locked(struct pt_nodes *t)
{
	struct pt_node **nh;
	size_t size;
	size_t i;

	if ((t->hash_used + 1) * 2 <= t->hash_size)
		return 0;
	if (t->hash_size > SIZE_MAX / 2 / sizeof(*nh))
		return -ENOMEM;
	size = t->hash_size * 2;
	nh = calloc(size, sizeof(*nh));
	if (!nh)
		return -ENOMEM;
	for (i = 0; i < t->hash_size; i++)
		if (t->hash[i])
			hash_insert_raw(nh, size, t->hash[i]);
	free(t->hash);
	t->hash = nh;
	t->hash_size = size;
	return 0;
}

static void hash_remove_locked(struct pt_nodes *t, struct pt_node *n)
{
	size_t mask = t->hash_size - 1;
	size_t i = node_bucket(t, n);
	size_t j;

	while (t->hash[i] != n) {
		if (!t->hash[i])
			return; /* not present: nothing to do */
		i = (i + 1) & mask;
	}
	/* Backward-shift deletion: move later members of the run into the
	 * hole when their home bucket does not lie between hole and them. */
	j = i;
	for (;;) {
		size_t home;

		t->hash[i] = NULL;
		for (;;) {
			j = (j + 1) & mask;
			if (!t->hash[j])
				goto out_removed;
			home = node_bucket(t, t->hash[j]);
			if (i <= j ? (home <= i || home > j) :
				     (home <= i && home > j))
				break;
		}
		t->hash[i] = t->hash[j];
		i = j;
	}
out_removed:
	t->hash_used--;
}

static int slot_alloc_locked(struct pt_nodes *t, uint64_t *idx)
{
	struct node_slot *ns;
	uint64_t cap;

	if (t->free_head != NO_SLOT) {
		*idx = t->free_head;
		t->free_head = t->slots[*idx].next_free;
		return 0;
	}
	if (t->nslots == t->cap) {
		if (t->cap > SIZE_MAX / 2 / sizeof(*ns))
			return -ENOMEM;
		cap = t->cap * 2;
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

int pt_nodes_new(struct pt_nodes **out)
{
	struct pt_nodes *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->slots = calloc(NODES_MIN_SLOTS, sizeof(*t->slots));
	t->hash = calloc(HASH_MIN_SIZE, sizeof(*t->hash));
	if (!t->slots || !t->hash)
		goto out_free;
	if (pthread_mutex_init(&t->lock, NULL))
		goto out_free;
	t->cap = NODES_MIN_SLOTS;
	t->hash_size = HASH_MIN_SIZE;
	t->free_head = NO_SLOT;
	/* Slot 0 is never used: nodeid 0 means "no node" in FUSE, so the
	 * first node added (the root) gets FUSE_ROOT_ID. */
	t->nslots = 1;
	*out = t;
	return 0;

out_free:
	free(t->slots);
	free(t->hash);
	free(t);
	return -ENOMEM;
}

static void node_destroy(struct pt_node *n)
{
	pt_plock_free_all(n);
	pthread_mutex_destroy(&n->plock_mutex);
	close(n->fd);
	free(n);
}

/* Take @n out of both maps; the caller destroys it after unlocking. */
static void node_unlink_locked(struct pt_nodes *t, struct pt_node *n)
{
	struct node_slot *s = &t->slots[n->nodeid];

	hash_remove_locked(t, n);
	s->node = NULL;
	s->generation++;
	s->next_free = t->free_head;
	t->free_head = n->nodeid;
}

void pt_nodes_free(struct pt_nodes *t)
{
	uint64_t i;

	if (!t)
		return;
	for (i = 0; i < t->nslots; i++)
		if (t->slots[i].node)
			node_destroy(t->slots[i].node);
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t->hash);
	free(t);
}

struct pt_node *pt_node_get(struct pt_fs *fs, uint64_t nodeid)
{
	struct pt_nodes *t = fs->nodes;
	struct pt_node *n = NULL;

	pthread_mutex_lock(&t->lock);
	if (nodeid < t->nslots) {
		n = t->slots[nodeid].node;
		/* A node the client has forgotten is not its to name, even
		 * while another request still holds it. */
		if (n && n->nlookup == 0)
			n = NULL;
		if (n)
			n->refs++;
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

void pt_node_put(struct pt_fs *fs, struct pt_node *node)
{
	struct pt_nodes *t = fs->nodes;
	bool dead = false;

	if (!node)
		return;
	pthread_mutex_lock(&t->lock);
	node->refs--;
	if (node->refs == 0 && node->nlookup == 0 &&
	    node->nodeid != FUSE_ROOT_ID) {
		node_unlink_locked(t, node);
		dead = true;
	}
	pthread_mutex_unlock(&t->lock);
	if (dead)
		node_destroy(node);
}

struct pt_node *pt_node_add(struct pt_fs *fs, int fd, const struct stat *st,
			    uint64_t mnt_id, int *err)
{
	struct pt_nodes *t = fs->nodes;
	struct pt_node *n;
	struct pt_node *fresh;
	uint64_t idx;
	int ret;

	/* Allocate before locking; freed again if the object is known. */
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh) {
		*err = -ENOMEM;
		goto out_close;
	}
	fresh->fd = fd;
	fresh->dev = st->st_dev;
	fresh->ino = st->st_ino;
	fresh->mnt_id = mnt_id;
	fresh->type = st->st_mode & S_IFMT;
	fresh->nlookup = 1;
	fresh->refs = 1;
	if (pthread_mutex_init(&fresh->plock_mutex, NULL)) {
		free(fresh);
		*err = -ENOMEM;
		goto out_close;
	}

	pthread_mutex_lock(&t->lock);
	n = hash_find_locked(t, fresh->dev, fresh->ino, fresh->mnt_id);
	if (n) {
		/* Known object (another name or a repeated lookup). */
		node_take_locked(n);
		pthread_mutex_unlock(&t->lock);
		pthread_mutex_destroy(&fresh->plock_mutex);
		free(fresh);
		close(fd);
		return n;
	}
	ret = hash_reserve_locked(t);
	if (!ret)
		ret = slot_alloc_locked(t, &idx);
	if (ret) {
		pthread_mutex_unlock(&t->lock);
		pthread_mutex_destroy(&fresh->plock_mutex);
		free(fresh);
		*err = ret;
		goto out_close;
	}
	fresh->nodeid = idx;
	fresh->generation = t->slots[idx].generation;
	t->slots[idx].node = fresh;
	hash_add_locked(t, fresh);
	pthread_mutex_unlock(&t->lock);
	return fresh;

out_close:
	close(fd);
	return NULL;
}

struct pt_node *pt_node_find(struct pt_fs *fs, const struct stat *st,
			     uint64_t mnt_id)
{
	struct pt_nodes *t = fs->nodes;
	struct pt_node *n;

	pthread_mutex_lock(&t->lock);
	n = hash_find_locked(t, st->st_dev, st->st_ino, mnt_id);
	if (n)
		node_take_locked(n);
	pthread_mutex_unlock(&t->lock);
	return n;
}

void pt_node_forget(struct pt_fs *fs, uint64_t nodeid, uint64_t nlookup)
{
	struct pt_nodes *t = fs->nodes;
	struct pt_node *n = NULL;

	/* The root lives as long as the file system. */
	if (nodeid == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&t->lock);
	if (nodeid < t->nslots)
		n = t->slots[nodeid].node;
	if (n && n->nlookup) {
		n->nlookup = nlookup >= n->nlookup ? 0 : n->nlookup - nlookup;
		if (n->nlookup == 0 && n->refs == 0)
			node_unlink_locked(t, n);
		else
			n = NULL;
	} else {
		n = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	if (n)
		node_destroy(n);
}

void pt_node_rebind(struct pt_fs *fs, struct pt_node *node, int fd,
		    uint64_t mnt_id)
{
	struct pt_nodes *t = fs->nodes;
	int old;

	/* The key includes the mount: re-file the node under the new one. */
	pthread_mutex_lock(&t->lock);
	hash_remove_locked(t, node);
	old = node->fd;
	node->fd = fd;
	node->mnt_id = mnt_id;
	hash_add_locked(t, node);
	pthread_mutex_unlock(&t->lock);
	close(old);
}

void pt_nodes_clear(struct pt_fs *fs)
{
	struct pt_nodes *t = fs->nodes;
	uint64_t i;

	/* DESTROY is rare: closing the fds under the lock is acceptable. */
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nslots; i++) {
		struct pt_node *n = t->slots[i].node;

		if (!n || n->nodeid == FUSE_ROOT_ID)
			continue;
		n->nlookup = 0;
		if (n->refs)
			continue; /* freed by the last pt_node_put() */
		node_unlink_locked(t, n);
		node_destroy(n);
	}
	pthread_mutex_unlock(&t->lock);
}
