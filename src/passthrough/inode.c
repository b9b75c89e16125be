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
 *
 * File handles (--inode-file-handles, and the default once fds run short):
 * when pt_fh_probe() found that handles work, every new node gets its
 * handle (name_to_handle_at) and a bounded cache decides which nodes keep
 * an fd. A node that a request holds (pt_node_get .. pt_node_put, which
 * includes every open file: a handle holds its node) always has its fd;
 * one that nobody holds goes to the tail of an LRU list, and while the
 * list is longer than fd_cache_cap the head's fd is closed. pt_node_get()
 * of an evicted node reopens it with open_by_handle_at() on a mount fd of
 * its mount (one dup'ed fd per mount id). A node with an fd pins its
 * inode, so (dev, ino, mnt_id) names it alone; an evicted one does not,
 * and the host may reuse its inode number: pt_node_add() then compares
 * handles (which carry the generation) and, when they differ, takes the
 * old node out of the key map (it dies when the client forgets it; its
 * handle no longer opens) and adds the new object as a new node.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../log/log.h"
#include "ops_i.h"

#define NODES_MIN_SLOTS 64
#define HASH_MIN_SIZE 128 /* power of two */
#define NO_SLOT UINT64_MAX
#define NO_LRU 0 /* slot 0 is never a node */
#define EVICT_BATCH 32

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
	uint32_t lru_head, lru_tail; /* oldest, newest; NO_LRU if empty */
	size_t lru_count;
	/* nodes in the table; written under ->lock, read without it by
	 * pt_nodes_count() (relaxed atomics) */
	uint64_t count;
	/* a mount fd per mount id, for open_by_handle_at() */
	struct mount_fd {
		uint64_t mnt_id;
		int fd;
	} * mounts;
	size_t nmounts;
};

static const unsigned char *node_fh(const struct pt_node *n)
{
	return n->fh_len > PT_FH_INLINE ? n->fh.heap : n->fh.in;
}

static bool fh_equal(const struct pt_node *n, const struct pt_fhbuf *fh)
{
	return n->fh_len == fh->len && n->fh_type == fh->type &&
	       memcmp(node_fh(n), fh->b, fh->len) == 0;
}

/* --- the LRU list of evictable nodes (by nodeid) --- */

static struct pt_node *lru_node(struct pt_nodes *t, uint32_t id)
{
	return t->slots[id].node;
}

static void lru_remove_locked(struct pt_nodes *t, struct pt_node *n)
{
	if (!n->on_lru)
		return;
	if (n->lru_prev != NO_LRU)
		lru_node(t, n->lru_prev)->lru_next = n->lru_next;
	else
		t->lru_head = n->lru_next;
	if (n->lru_next != NO_LRU)
		lru_node(t, n->lru_next)->lru_prev = n->lru_prev;
	else
		t->lru_tail = n->lru_prev;
	n->on_lru = false;
	t->lru_count--;
}

static void lru_append_locked(struct pt_nodes *t, struct pt_node *n)
{
	n->lru_prev = t->lru_tail;
	n->lru_next = NO_LRU;
	if (t->lru_tail != NO_LRU)
		lru_node(t, t->lru_tail)->lru_next = (uint32_t)n->nodeid;
	else
		t->lru_head = (uint32_t)n->nodeid;
	t->lru_tail = (uint32_t)n->nodeid;
	n->on_lru = true;
	t->lru_count++;
}

/* Take the fds of the oldest nodes while more than @keep are cached (at
 * most @max); the caller closes them after unlocking. */
static size_t evict_locked(struct pt_nodes *t, size_t keep, int *fds,
			   size_t max)
{
	size_t n = 0;

	while (n < max && t->lru_count > keep) {
		struct pt_node *v = lru_node(t, t->lru_head);

		lru_remove_locked(t, v);
		fds[n++] = v->fd;
		v->fd = -1;
	}
	return n;
}

static void close_all(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

static int mount_fd_locked(const struct pt_nodes *t, uint64_t mnt_id)
{
	for (size_t i = 0; i < t->nmounts; i++)
		if (t->mounts[i].mnt_id == mnt_id)
			return t->mounts[i].fd;
	return -1;
}

/*
 * Keep a mount fd for @mnt_id, if there is none yet, opened from @fd (an
 * O_PATH fd of type @type on that mount). open_by_handle_at() refuses
 * O_PATH fds as the mount fd, so this one is a real open: a directory (the
 * mount's root, which a client reaches first), or a regular file for a
 * file bind mount; other objects are never opened, their mount gets no
 * handles.
 */
static int mount_register(struct pt_fs *fs, uint64_t mnt_id, int fd,
			  mode_t type)
{
	struct pt_nodes *t = fs->nodes;
	struct pt_fdname fn;
	struct mount_fd *m;
	int d, ret = 0;

	pthread_mutex_lock(&t->lock);
	d = mount_fd_locked(t, mnt_id);
	pthread_mutex_unlock(&t->lock);
	if (d >= 0)
		return 0;
	if (!S_ISDIR(type) && !S_ISREG(type))
		return -EOPNOTSUPP;
	pt_fdname(&fn, fd);
	d = openat(fs->proc_self_fd, fn.s,
		   (S_ISDIR(type) ? O_DIRECTORY : O_NONBLOCK | O_NOCTTY) |
			   O_RDONLY | O_CLOEXEC);
	if (d < 0)
		return -errno;
	pthread_mutex_lock(&t->lock);
	if (mount_fd_locked(t, mnt_id) >= 0) {
		ret = 1; /* a racing request registered it */
	} else {
		m = realloc(t->mounts, (t->nmounts + 1) * sizeof(*m));
		if (!m) {
			ret = -ENOMEM;
		} else {
			t->mounts = m;
			m[t->nmounts++] = (struct mount_fd){ mnt_id, d };
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (ret) {
		close(d);
		return ret < 0 ? ret : 0;
	}
	return 0;
}

int pt_fh_of(struct pt_fs *fs, int dirfd, const char *name,
	     struct pt_fhbuf *out)
{
	union {
		struct file_handle h;
		unsigned char b[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	int mount_id;

	if (!fs->fh_wanted)
		return -EOPNOTSUPP;
	u.h.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(dirfd, name, &u.h, &mount_id,
			      name[0] ? 0 : AT_EMPTY_PATH) < 0)
		return -errno;
	if (u.h.handle_bytes == 0 || u.h.handle_bytes > sizeof(out->b))
		return -EOVERFLOW;
	out->type = u.h.handle_type;
	out->len = (uint8_t)u.h.handle_bytes;
	memcpy(out->b, u.h.f_handle, u.h.handle_bytes);
	return 0;
}

/* Give the new node @n the handle @fh. */
static int node_set_fh(struct pt_node *n, const struct pt_fhbuf *fh)
{
	if (fh->len > PT_FH_INLINE) {
		n->fh.heap = malloc(fh->len);
		if (!n->fh.heap)
			return -ENOMEM;
		memcpy(n->fh.heap, fh->b, fh->len);
	} else {
		memcpy(n->fh.in, fh->b, fh->len);
	}
	n->fh_len = fh->len;
	n->fh_type = fh->type;
	return 0;
}

/* Open @n again from its handle (the caller holds a reference). */
static int node_reopen(struct pt_fs *fs, struct pt_node *n)
{
	struct pt_nodes *t = fs->nodes;
	union {
		struct file_handle h;
		unsigned char b[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	int mfd, fd, extra = -1;

	u.h.handle_bytes = n->fh_len;
	u.h.handle_type = n->fh_type;
	memcpy(u.h.f_handle, node_fh(n), n->fh_len);
	pthread_mutex_lock(&t->lock);
	mfd = mount_fd_locked(t, n->mnt_id);
	pthread_mutex_unlock(&t->lock);
	if (mfd < 0)
		return -ESTALE; /* NEVER: registered before the node */
	for (int tries = 0;; tries++) {
		fd = open_by_handle_at(mfd, &u.h,
				       O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 || (errno != EMFILE && errno != ENFILE) ||
		    tries == 1 || !pt_nodes_shed(fs, EVICT_BATCH))
			break;
	}
	if (fd < 0)
		return errno == ESTALE ? -ENOENT : -errno;
	pthread_mutex_lock(&t->lock);
	if (n->fd < 0)
		n->fd = fd;
	else
		extra = fd; /* another request reopened it first */
	pthread_mutex_unlock(&t->lock);
	if (extra >= 0)
		close(extra);
	return 0;
}

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
		/* The LRU links are 32-bit nodeids. */
		if (t->cap > SIZE_MAX / 2 / sizeof(*ns) ||
		    t->cap >= UINT32_MAX / 2)
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
	if (n->fd >= 0)
		close(n->fd);
	if (n->fh_len > PT_FH_INLINE)
		free(n->fh.heap);
	free(n);
}

/* Take @n out of both maps; the caller destroys it after unlocking. */
static void node_unlink_locked(struct pt_nodes *t, struct pt_node *n)
{
	struct node_slot *s = &t->slots[n->nodeid];

	lru_remove_locked(t, n);
	if (!n->unhashed)
		hash_remove_locked(t, n);
	s->node = NULL;
	s->generation++;
	s->next_free = t->free_head;
	t->free_head = n->nodeid;
	__atomic_store_n(&t->count, t->count - 1, __ATOMIC_RELAXED);
}

void pt_nodes_free(struct pt_nodes *t)
{
	uint64_t i;

	if (!t)
		return;
	for (i = 0; i < t->nslots; i++)
		if (t->slots[i].node)
			node_destroy(t->slots[i].node);
	for (i = 0; i < t->nmounts; i++)
		close(t->mounts[i].fd);
	free(t->mounts);
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t->hash);
	free(t);
}

struct pt_node *pt_node_get(struct pt_fs *fs, uint64_t nodeid)
{
	struct pt_nodes *t = fs->nodes;
	struct pt_node *n = NULL;
	bool has_fd = true;

	pthread_mutex_lock(&t->lock);
	if (nodeid < t->nslots) {
		n = t->slots[nodeid].node;
		/* A node the client has forgotten is not its to name, even
		 * while another request still holds it. */
		if (n && (n->nlookup == 0 || n->lost))
			n = NULL;
		if (n) {
			n->refs++;
			lru_remove_locked(t, n);
			has_fd = n->fd >= 0;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (!has_fd && node_reopen(fs, n)) {
		pt_node_put(fs, n);
		return NULL; /* the file is gone: its handle opens nothing */
	}
	return n;
}

void pt_node_put(struct pt_fs *fs, struct pt_node *node)
{
	struct pt_nodes *t = fs->nodes;
	int fds[EVICT_BATCH];
	size_t nfds = 0;
	bool dead = false;

	if (!node)
		return;
	pthread_mutex_lock(&t->lock);
	node->refs--;
	if (node->refs == 0 && node->nodeid != FUSE_ROOT_ID) {
		if (node->nlookup == 0) {
			node_unlink_locked(t, node);
			dead = true;
		} else if (node->fh_len && node->fd >= 0) {
			lru_append_locked(t, node);
			nfds = evict_locked(t, fs->fd_cache_cap, fds,
					    EVICT_BATCH);
		}
	}
	pthread_mutex_unlock(&t->lock);
	close_all(fds, nfds);
	if (dead)
		node_destroy(node);
}

size_t pt_nodes_shed(struct pt_fs *fs, size_t max)
{
	struct pt_nodes *t = fs->nodes;
	int fds[EVICT_BATCH];
	size_t n, total = 0;

	do {
		pthread_mutex_lock(&t->lock);
		n = evict_locked(t, 0, fds,
				 max - total < EVICT_BATCH ? max - total :
							     EVICT_BATCH);
		pthread_mutex_unlock(&t->lock);
		close_all(fds, n);
		total += n;
	} while (n && total < max);
	return total;
}

/*
 * The node for key (@st, @mnt_id) that is the same object, with @fh its
 * handle when known (NULL: not computed yet). Sets *need_fh when only
 * the handle can tell (an evicted node); takes a stale one out of the key
 * map.
 */
static struct pt_node *find_same_locked(struct pt_nodes *t,
					const struct stat *st, uint64_t mnt_id,
					const struct pt_fhbuf *fh,
					bool *need_fh)
{
	struct pt_node *n = hash_find_locked(t, st->st_dev, st->st_ino, mnt_id);

	*need_fh = false;
	if (!n || n->fd >= 0 || !n->fh_len)
		return n; /* absent, or its fd pins the inode: the same */
	if (!fh) {
		*need_fh = true;
		return NULL;
	}
	if (fh_equal(n, fh))
		return n;
	/* The inode number was reused: the old node keeps its nodeid
	 * until forgotten, out of the key map. */
	hash_remove_locked(t, n);
	n->unhashed = true;
	return NULL;
}

struct pt_node *pt_node_add(struct pt_fs *fs, int fd, const struct stat *st,
			    uint64_t mnt_id, int *err)
{
	struct pt_nodes *t = fs->nodes;
	struct pt_fhbuf fhb;
	const struct pt_fhbuf *fh = NULL;
	struct pt_node *n;
	struct pt_node *fresh = NULL;
	bool need_fh;
	uint64_t idx;
	int ret;

	for (;;) {
		pthread_mutex_lock(&t->lock);
		n = find_same_locked(t, st, mnt_id, fh, &need_fh);
		if (n) {
			/* Known object (another name or a repeated lookup). */
			node_take_locked(n);
			lru_remove_locked(t, n);
			if (n->fd < 0) {
				n->fd = fd; /* evicted: ours serves */
				fd = -1;
			}
			pthread_mutex_unlock(&t->lock);
			if (fresh && fresh->fh_len > PT_FH_INLINE)
				free(fresh->fh.heap);
			free(fresh);
			if (fd >= 0)
				close(fd);
			return n;
		}
		if (fh || (!need_fh && !fs->fh_wanted))
			break; /* a new node; everything it needs is known */
		pthread_mutex_unlock(&t->lock);
		/* Outside the lock: the handle, and a mount fd to open it. */
		ret = pt_fh_of(fs, fd, "", &fhb);
		if (!ret)
			ret = mount_register(fs, mnt_id, fd,
					     st->st_mode & S_IFMT);
		if (ret && fs->opts.inode_fh == PT_FH_MANDATORY) {
			*err = ret;
			goto out_close;
		}
		if (ret)
			fhb.len = 0; /* no handle here: keep the fd for life */
		fh = &fhb;
	}
	pthread_mutex_unlock(&t->lock);

	/* Allocate outside the lock, then look once more. */
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
	if (fh && fh->len) {
		ret = node_set_fh(fresh, fh);
		if (ret) {
			free(fresh);
			*err = ret;
			goto out_close;
		}
	}

	pthread_mutex_lock(&t->lock);
	n = find_same_locked(t, st, mnt_id, fh, &need_fh);
	if (n) {
		/* A racing request added it meanwhile. */
		node_take_locked(n);
		lru_remove_locked(t, n);
		if (n->fd < 0) {
			n->fd = fd;
			fd = -1;
		}
		pthread_mutex_unlock(&t->lock);
		if (fresh->fh_len > PT_FH_INLINE)
			free(fresh->fh.heap);
		free(fresh);
		if (fd >= 0)
			close(fd);
		return n;
	}
	ret = hash_reserve_locked(t);
	if (!ret)
		ret = slot_alloc_locked(t, &idx);
	if (ret) {
		pthread_mutex_unlock(&t->lock);
		if (fresh->fh_len > PT_FH_INLINE)
			free(fresh->fh.heap);
		free(fresh);
		*err = ret;
		goto out_close;
	}
	fresh->nodeid = idx;
	fresh->generation = t->slots[idx].generation;
	t->slots[idx].node = fresh;
	__atomic_store_n(&t->count, t->count + 1, __ATOMIC_RELAXED);
	hash_add_locked(t, fresh);
	pthread_mutex_unlock(&t->lock);
	return fresh;

out_close:
	close(fd);
	return NULL;
}

struct pt_node *pt_node_find_fh(struct pt_fs *fs, const struct stat *st,
				uint64_t mnt_id, const struct pt_fhbuf *fh)
{
	struct pt_nodes *t = fs->nodes;
	struct pt_node *n;
	bool need_fh;

	pthread_mutex_lock(&t->lock);
	n = find_same_locked(t, st, mnt_id, fh, &need_fh);
	if (n) {
		node_take_locked(n);
		lru_remove_locked(t, n);
	}
	pthread_mutex_unlock(&t->lock);
	/* The caller only answers for it; an evicted node stays so (its
	 * pt_node_put puts nothing back on the list without an fd). */
	return n;
}

struct pt_node *pt_node_find(struct pt_fs *fs, const struct stat *st,
			     uint64_t mnt_id)
{
	return pt_node_find_fh(fs, st, mnt_id, NULL);
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
	struct mount_fd *mounts;
	size_t nmounts;
	int old;

	/* The key includes the mount: re-file the node under the new one.
	 * Mount fds taken before (another mount namespace) go too. */
	pthread_mutex_lock(&t->lock);
	hash_remove_locked(t, node);
	old = node->fd;
	node->fd = fd;
	node->mnt_id = mnt_id;
	hash_add_locked(t, node);
	mounts = t->mounts;
	nmounts = t->nmounts;
	t->mounts = NULL;
	t->nmounts = 0;
	pthread_mutex_unlock(&t->lock);
	close(old);
	for (size_t i = 0; i < nmounts; i++)
		close(mounts[i].fd);
	free(mounts);
}

int pt_fh_probe(struct pt_fs *fs, const char **msg)
{
	struct pt_node *root = fs->root;
	struct pt_fhbuf fh;
	union {
		struct file_handle h;
		unsigned char b[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	struct rlimit rl;
	int ret, fd, mfd;

	fs->fh_wanted = fs->opts.inode_fh != PT_FH_NEVER;
	if (!fs->fh_wanted)
		return 0;
	/* Can we make a handle of the share's root and open it again? */
	ret = pt_fh_of(fs, root->fd, "", &fh);
	if (!ret)
		ret = mount_register(fs, root->mnt_id, root->fd, S_IFDIR);
	if (!ret) {
		u.h.handle_bytes = fh.len;
		u.h.handle_type = fh.type;
		memcpy(u.h.f_handle, fh.b, fh.len);
		pthread_mutex_lock(&fs->nodes->lock);
		mfd = mount_fd_locked(fs->nodes, root->mnt_id);
		pthread_mutex_unlock(&fs->nodes->lock);
		fd = open_by_handle_at(mfd, &u.h,
				       O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			ret = -errno;
		else
			close(fd);
	}
	if (ret) {
		fs->fh_wanted = false;
		if (fs->opts.inode_fh == PT_FH_MANDATORY) {
			*msg = ret == -EPERM ?
				       "--inode-file-handles=mandatory: open_by_handle_at needs CAP_DAC_READ_SEARCH (in the initial user namespace)" :
				       "--inode-file-handles=mandatory: the shared directory's file system gives no usable file handles";
			return ret;
		}
		if (fs->opts.inode_fh == PT_FH_PREFER)
			log_warn(
				"--inode-file-handles=prefer: no usable file handles (%s): inodes are held as O_PATH fds",
				strerror(-ret));
		return 0;
	}
	/* prefer/mandatory keep few fds; the default only what the fd
	 * limit leaves room for. */
	if (fs->opts.inode_fh == PT_FH_AUTO) {
		fs->fd_cache_cap = 65536;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY)
			fs->fd_cache_cap = rl.rlim_cur / 2;
	} else {
		fs->fd_cache_cap = PT_FD_CACHE_HANDLES;
	}
	return 0;
}

uint64_t pt_nodes_count(struct pt_fs *fs)
{
	return __atomic_load_n(&fs->nodes->count, __ATOMIC_RELAXED);
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

/* --- live migration (migrate.c) --- */

int pt_nodes_snapshot(struct pt_fs *fs, struct pt_node ***out, size_t *n,
		      uint64_t *nslots, uint64_t *max_gen)
{
	struct pt_nodes *t = fs->nodes;
	struct pt_node **arr;
	size_t k = 0;

	pthread_mutex_lock(&t->lock);
	arr = calloc(t->nslots ? t->nslots : 1, sizeof(*arr));
	if (!arr) {
		pthread_mutex_unlock(&t->lock);
		return -ENOMEM;
	}
	*max_gen = 1;
	for (uint64_t i = 0; i < t->nslots; i++) {
		struct pt_node *node = t->slots[i].node;

		if (t->slots[i].generation > *max_gen)
			*max_gen = t->slots[i].generation;
		if (!node)
			continue;
		node->refs++;
		lru_remove_locked(t, node);
		arr[k++] = node;
	}
	*nslots = t->nslots;
	pthread_mutex_unlock(&t->lock);
	*out = arr;
	*n = k;
	return 0;
}

int pt_node_fd(struct pt_fs *fs, struct pt_node *n)
{
	bool has_fd;

	pthread_mutex_lock(&fs->nodes->lock);
	has_fd = n->fd >= 0;
	pthread_mutex_unlock(&fs->nodes->lock);
	if (has_fd)
		return 0;
	if (n->lost || !n->fh_len)
		return -ENOENT;
	return node_reopen(fs, n);
}

struct pt_nodes *pt_nodes_stage_new(uint64_t nslots, uint64_t next_gen,
				    int *err)
{
	struct pt_nodes *t;

	if (nslots < 2 || nslots > PT_NODES_STAGE_MAX || next_gen == 0) {
		*err = -EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		*err = -ENOMEM;
		return NULL;
	}
	t->cap = nslots < NODES_MIN_SLOTS ? NODES_MIN_SLOTS : nslots;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	t->hash_size = HASH_MIN_SIZE;
	while (t->hash_size < nslots * 2)
		t->hash_size *= 2;
	t->hash = calloc(t->hash_size, sizeof(*t->hash));
	if (!t->slots || !t->hash || pthread_mutex_init(&t->lock, NULL)) {
		free(t->slots);
		free(t->hash);
		free(t);
		*err = -ENOMEM;
		return NULL;
	}
	t->nslots = nslots;
	/* Every slot is free until a node of the state takes it; new ones
	 * start past every generation the source handed out. Slot 1 is the
	 * root's (pt_nodes_commit), slot 0 nobody's. */
	t->free_head = NO_SLOT;
	for (uint64_t i = nslots; i-- > 2;) {
		t->slots[i].generation = next_gen;
		t->slots[i].next_free = t->free_head;
		t->free_head = i;
	}
	return t;
}

/* Take slot @idx out of @t's free list (the list is short-lived here:
 * staging is single-threaded and rare). */
static bool stage_take_slot(struct pt_nodes *t, uint64_t idx)
{
	uint64_t *link = &t->free_head;

	while (*link != NO_SLOT) {
		if (*link == idx) {
			*link = t->slots[idx].next_free;
			return true;
		}
		link = &t->slots[*link].next_free;
	}
	return false;
}

struct pt_node *pt_nodes_stage_add(struct pt_fs *fs, struct pt_nodes *t,
				   uint64_t nodeid, uint64_t generation,
				   uint64_t nlookup, int fd,
				   const struct stat *st, uint64_t mnt_id,
				   mode_t type, int *err)
{
	struct pt_fhbuf fhb;
	struct pt_node *n;
	int ret;

	if (nodeid < 2 || nodeid >= t->nslots || t->slots[nodeid].node ||
	    generation == 0) {
		*err = -EINVAL;
		goto out_close;
	}
	if (fd >= 0 && hash_find_locked(t, st->st_dev, st->st_ino, mnt_id)) {
		*err = -EEXIST;
		goto out_close;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		*err = -ENOMEM;
		goto out_close;
	}
	n->fd = fd;
	n->type = type & S_IFMT;
	n->nodeid = nodeid;
	n->generation = generation;
	n->nlookup = nlookup;
	if (fd < 0) {
		/* Lost: the state named an object this host does not have.
		 * The nodeid lives until forgotten and opens nothing. */
		n->lost = true;
		n->unhashed = true;
	} else {
		n->dev = st->st_dev;
		n->ino = st->st_ino;
		n->mnt_id = mnt_id;
		ret = pt_fh_of(fs, fd, "", &fhb);
		if (!ret)
			ret = mount_register(fs, mnt_id, fd, n->type);
		if (!ret)
			ret = node_set_fh(n, &fhb);
		if (ret && fs->opts.inode_fh == PT_FH_MANDATORY &&
		    fs->fh_wanted) {
			free(n);
			*err = ret;
			goto out_close;
		}
		hash_insert_raw(t->hash, t->hash_size, n);
		t->hash_used++;
	}
	stage_take_slot(t, nodeid);
	t->slots[nodeid].node = n;
	t->slots[nodeid].generation = generation;
	t->count++; /* not shared yet: pt_nodes_commit publishes it */
	return n;

out_close:
	if (fd >= 0)
		close(fd);
	return NULL;
}

struct pt_node *pt_nodes_stage_find(struct pt_nodes *t, uint64_t nodeid)
{
	return nodeid < t->nslots ? t->slots[nodeid].node : NULL;
}

void pt_nodes_stage_free(struct pt_nodes *t)
{
	if (!t)
		return;
	/* No root in it, no mount fds: every node is the state's. */
	pt_nodes_free(t);
}

void pt_nodes_commit(struct pt_fs *fs, struct pt_nodes *t)
{
	struct pt_nodes *old = fs->nodes;
	struct pt_node *root = fs->root;
	int fds[EVICT_BATCH];
	size_t nfds;

	/* The old table holds the root alone (checked by the caller: a
	 * state loads only before INIT) and the mount fds. */
	pthread_mutex_lock(&old->lock);
	old->slots[FUSE_ROOT_ID].node = NULL;
	hash_remove_locked(old, root);
	t->mounts = old->mounts;
	t->nmounts = old->nmounts;
	old->mounts = NULL;
	old->nmounts = 0;
	pthread_mutex_unlock(&old->lock);

	t->slots[FUSE_ROOT_ID].node = root;
	t->slots[FUSE_ROOT_ID].generation = root->generation;
	t->count++;
	hash_insert_raw(t->hash, t->hash_size, root);
	t->hash_used++;
	/* A node the guest had forgotten and no handle holds is gone (the
	 * source kept it only for a request that has ended); the nodes
	 * nobody holds go on the fd cache's list. */
	for (uint64_t i = 2; i < t->nslots; i++) {
		struct pt_node *n = t->slots[i].node;

		if (n && !n->refs && !n->nlookup && !n->plocks) {
			node_unlink_locked(t, n);
			node_destroy(n);
		} else if (n && !n->refs && n->fh_len && n->fd >= 0) {
			lru_append_locked(t, n);
		}
	}
	fs->nodes = t;
	pt_nodes_free(old);
	do {
		pthread_mutex_lock(&t->lock);
		nfds = evict_locked(t, fs->fd_cache_cap, fds, EVICT_BATCH);
		pthread_mutex_unlock(&t->lock);
		close_all(fds, nfds);
	} while (nfds == EVICT_BATCH);
}

void pt_node_hold(struct pt_fs *fs, struct pt_node *n)
{
	pthread_mutex_lock(&fs->nodes->lock);
	n->refs++;
	lru_remove_locked(fs->nodes, n);
	pthread_mutex_unlock(&fs->nodes->lock);
}
