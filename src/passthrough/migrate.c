// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Live migration of the passthrough file system: what the guest holds
 * (node ids with their lookup counts and generations, open files and
 * directories, locks) saved by the source and found again by the
 * destination on its own host.
 *
 * Saving (pt_state_save, on the source, with every queue stopped): the
 * share is identified (its path as configured, its root's file handle);
 * every node gets the path at which it stands now (the kernel's own name
 * for the fd we hold, /proc/self/fd/N, relative to the share: a rename
 * on the host before the save is seen), checked against the object when
 * --migration-confirm-paths asks or the kernel marks the name deleted,
 * and searched for in the share when that check fails; its file handle
 * when the mode is file-handles or --migration-verify-handles asks; the
 * mount it lies on. Every handle gets its node, open flags and directory
 * position, and the flock its description holds; every lock owner the
 * OFD locks its fd holds (ops_lock.c reads both from the host).
 *
 * Loading (pt_state_load, on the destination, before any INIT): every
 * record is decoded and checked (counts, ids inside the tables, each
 * handle and lock naming a node of the state) before anything is opened.
 * The share must be the source's (same path, or the same root handle).
 * Then a node table and a handle table are built apart from the live
 * ones (inode.c, handle.c): each node is found by its path, opened
 * beneath the share (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
 * component by component without openat2) or, in file-handles mode, by
 * its handle on a mount fd of its mount — and then proven to lie inside
 * the share by opening the name the kernel gives it beneath the share
 * and finding the same inode; each handle is reopened with its flags
 * (never O_TRUNC or O_CREAT); each lock is taken again (one a third
 * party holds — the source, on one host — is retried by a thread once
 * loaded). A node that cannot be found fails the whole load with
 * --migration-on-error=abort, or becomes a node that answers ENOENT
 * with guest-error (its handles and locks are dropped). Only when
 * everything is staged are the live tables replaced: a refused state
 * leaves the destination as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "../log/log.h"
#include "../util/dstate.h"
#include "ops_i.h"

/* Record types of the file-system layer. */
enum {
	REC_SHARE = (DSTATE_LAYER_FS << 8) | 0x01,
	REC_SOURCE = (DSTATE_LAYER_FS << 8) | 0x02,
	REC_NODE_TABLE = (DSTATE_LAYER_FS << 8) | 0x03,
	REC_NODE = (DSTATE_LAYER_FS << 8) | 0x04,
	REC_MOUNT = (DSTATE_LAYER_FS << 8) | 0x05,
	REC_HANDLE_TABLE = (DSTATE_LAYER_FS << 8) | 0x06,
	REC_HANDLE = (DSTATE_LAYER_FS << 8) | 0x07,
	REC_PLOCK = (DSTATE_LAYER_FS << 8) | 0x08,
};

/* NODE flags. */
#define NODE_HAS_PATH 0x1u
#define NODE_HAS_FH 0x2u
#define NODE_LOST 0x4u /* the source itself could not describe it */

/* Bytes of a path a state may carry (PATH_MAX, NUL included). */
#define MIG_PATH_MAX 4096
/* Entries the source looks at when it searches the share for a node
 * whose name it could not confirm. */
#define MIG_SEARCH_MAX 1000000

struct fhb {
	int32_t type;
	uint16_t len;
	unsigned char b[128]; /* MAX_HANDLE_SZ */
};

static int fh_of_fd(int fd, struct fhb *out)
{
	union {
		struct file_handle h;
		unsigned char b[sizeof(struct file_handle) + 128];
	} u;
	int mount_id;

	u.h.handle_bytes = 128;
	if (name_to_handle_at(fd, "", &u.h, &mount_id, AT_EMPTY_PATH) < 0)
		return -errno;
	if (u.h.handle_bytes == 0 || u.h.handle_bytes > sizeof(out->b))
		return -EOVERFLOW;
	out->type = u.h.handle_type;
	out->len = (uint16_t)u.h.handle_bytes;
	memcpy(out->b, u.h.f_handle, out->len);
	return 0;
}

static bool fh_same(const struct fhb *a, const struct fhb *b)
{
	return a->type == b->type && a->len == b->len &&
	       memcmp(a->b, b->b, a->len) == 0;
}

/* ---- paths inside the share ---- */

/* The kernel's name of the object @fd holds (/proc/self/fd/N). */
static int fd_path(struct pt_fs *fs, int fd, char *buf, size_t cap)
{
	struct pt_fdname n;
	ssize_t len;

	pt_fdname(&n, fd);
	len = readlinkat(fs->proc_self_fd, n.s, buf, cap);
	if (len < 0)
		return -errno;
	if ((size_t)len >= cap)
		return -ENAMETOOLONG;
	buf[len] = '\0';
	return 0;
}

/* @abs relative to the share whose own name is @root ("" for the root
 * itself); NULL when @abs is not inside it. */
static const char *share_relative(const char *abs, const char *root)
{
	size_t n = strlen(root);

	if (abs[0] != '/')
		return NULL; /* "anon_inode:", "(unreachable)/..." */
	if (strcmp(root, "/") == 0)
		return abs + 1;
	if (strncmp(abs, root, n) != 0)
		return NULL;
	if (abs[n] == '\0')
		return abs + n;
	return abs[n] == '/' ? abs + n + 1 : NULL;
}

/* A relative path a state may name: components that are names. */
static bool path_ok(const char *rel)
{
	const char *p = rel;

	if (strlen(rel) >= MIG_PATH_MAX)
		return false;
	if (!*p)
		return true; /* the share's root */
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || n > 255 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/*
 * Open @rel beneath the share's root with @flags (O_PATH | O_NOFOLLOW
 * for a node), never through a symlink or "..": one openat2 where the
 * kernel has it, otherwise one name at a time. -1 with errno set.
 */
static int open_beneath(struct pt_fs *fs, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	char buf[MIG_PATH_MAX], *p, *slash;
	int dir, fd;
	long r;

	if (!path_ok(rel)) {
		errno = EINVAL;
		return -1;
	}
	if (!*rel)
		return openat(fs->root->fd, ".", flags | O_CLOEXEC);
	r = syscall(SYS_openat2, fs->root->fd, rel, &how, sizeof(how));
	if (r >= 0 || errno != ENOSYS)
		return r < 0 ? -1 : (int)r;
	/* No openat2: every name on its own, each directory O_NOFOLLOW. */
	memcpy(buf, rel, strlen(rel) + 1);
	dir = fs->root->fd;
	for (p = buf;; p = slash + 1) {
		slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		fd = pt_openat_beneath(dir, p,
				       O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
		if (dir != fs->root->fd)
			close(dir);
		if (fd < 0)
			return -1;
		dir = fd;
	}
	fd = pt_openat_beneath(dir, p, flags, 0);
	if (dir != fs->root->fd) {
		int e = errno;

		close(dir);
		errno = e;
	}
	return fd;
}

/* Whether @rel names the inode (@dev, @ino) now. */
static bool path_names(struct pt_fs *fs, const char *rel, uint64_t dev,
		       uint64_t ino)
{
	struct stat st;
	int fd = open_beneath(fs, rel, O_PATH | O_NOFOLLOW);
	bool same;

	if (fd < 0)
		return false;
	same = pt_stat_fd(fd, &st, NULL) == 0 && st.st_dev == dev &&
	       st.st_ino == ino;
	close(fd);
	return same;
}

struct search_dir {
	char *rel;
};

/*
 * Look for the inode (@dev, @ino) in the share, breadth first, looking
 * at MIG_SEARCH_MAX entries at most; its path into @out.
 */
static int search_share(struct pt_fs *fs, uint64_t dev, uint64_t ino, char *out,
			size_t cap)
{
	struct search_dir *q = NULL;
	size_t qhead = 0, qlen = 0, qcap = 0, seen = 0;
	char *buf = malloc(32768);
	int ret = -ENOENT;

	if (!buf)
		return -ENOMEM;
	q = malloc(sizeof(*q) * 64);
	if (!q || !(q[0].rel = strdup(""))) {
		free(q);
		free(buf);
		return -ENOMEM;
	}
	qlen = 1;
	qcap = 64;
	while (qhead < qlen && ret == -ENOENT && seen < MIG_SEARCH_MAX) {
		char *dir = q[qhead++].rel;
		int fd = open_beneath(fs, dir, O_RDONLY | O_DIRECTORY);
		ssize_t n;

		while (fd >= 0 && ret == -ENOENT &&
		       (n = getdents64(fd, buf, 32768)) > 0) {
			for (ssize_t pos = 0; pos < n && ret == -ENOENT;) {
				struct dirent64 *d = (void *)(buf + pos);
				char rel[MIG_PATH_MAX];
				int len;

				pos += d->d_reclen;
				if (d->d_reclen == 0)
					break;
				seen++;
				if (!strcmp(d->d_name, ".") ||
				    !strcmp(d->d_name, ".."))
					continue;
				len = snprintf(rel, sizeof(rel), "%s%s%s", dir,
					       *dir ? "/" : "", d->d_name);
				if (len < 0 || (size_t)len >= sizeof(rel))
					continue;
				if (d->d_ino == ino &&
				    path_names(fs, rel, dev, ino)) {
					if ((size_t)len < cap) {
						memcpy(out, rel,
						       (size_t)len + 1);
						ret = 0;
					}
					continue;
				}
				if (d->d_type != DT_DIR)
					continue;
				if (qlen == qcap) {
					struct search_dir *nq = realloc(
						q, sizeof(*q) * qcap * 2);

					if (!nq)
						continue;
					q = nq;
					qcap *= 2;
				}
				q[qlen].rel = strdup(rel);
				if (q[qlen].rel)
					qlen++;
			}
		}
		if (fd >= 0)
			close(fd);
		free(dir);
	}
	while (qhead < qlen)
		free(q[qhead++].rel);
	free(q);
	free(buf);
	return ret;
}

/* ---- saving ---- */

struct save_ctx {
	struct pt_fs *fs;
	struct dstate_buf *w;
	char root[MIG_PATH_MAX]; /* the kernel's name of the share */
	bool want_fh;
	unsigned int lost, searched;
};

/*
 * Where node @n (its fd held) stands in the share: its path into @rel.
 * -errno when it has none (deleted, moved out of the share).
 */
static int node_path(struct save_ctx *c, struct pt_node *n, char *rel,
		     size_t cap)
{
	struct pt_fs *fs = c->fs;
	char abs[MIG_PATH_MAX];
	const char *r;
	struct stat st;
	bool confirm = fs->opts.migration_confirm_paths;
	size_t len;
	int ret;

	ret = pt_stat_fd(n->fd, &st, NULL);
	if (ret)
		return ret;
	if (st.st_nlink == 0)
		return -ENOENT; /* deleted on the host */
	ret = fd_path(fs, n->fd, abs, sizeof(abs));
	if (ret)
		return ret;
	/* The kernel appends this to a name it unlinked; the object may
	 * have other names (hard links): look for one. */
	len = strlen(abs);
	if (len > 10 && strcmp(abs + len - 10, " (deleted)") == 0) {
		abs[len - 10] = '\0';
		confirm = true;
	}
	r = share_relative(abs, c->root);
	if (r && strlen(r) < cap) {
		memcpy(rel, r, strlen(r) + 1);
		if (!confirm || path_names(fs, rel, n->dev, n->ino))
			return 0;
	}
	c->searched++;
	return search_share(fs, n->dev, n->ino, rel, cap);
}

/* The NODE record of @n; its path (malloc()ed) into *@path when it has
 * one, for the mount records. */
static void save_node(struct save_ctx *c, struct pt_node *n, char **path)
{
	struct pt_fs *fs = c->fs;
	char rel[MIG_PATH_MAX] = "";
	struct fhb fh = { 0 };
	uint8_t flags = 0;
	int ret = 0;

	if (n->nodeid == FUSE_ROOT_ID) {
		flags |= NODE_HAS_PATH;
	} else if (n->lost || n->unhashed) {
		ret = -ESTALE;
	} else {
		ret = pt_node_fd(fs, n);
		if (!ret)
			ret = node_path(c, n, rel, sizeof(rel));
		if (!ret)
			flags |= NODE_HAS_PATH;
	}
	if (!ret && c->want_fh && fh_of_fd(n->fd, &fh) == 0)
		flags |= NODE_HAS_FH;
	if (!(flags & (NODE_HAS_PATH | NODE_HAS_FH))) {
		flags |= NODE_LOST;
		c->lost++;
		log_warn(
			"migration: node %llu (inode %llu) cannot be described to the destination: %s",
			(unsigned long long)n->nodeid,
			(unsigned long long)n->ino,
			strerror(ret ? -ret : ENOENT));
	}
	dstate_rec_begin(c->w, REC_NODE, true);
	dstate_put_u64(c->w, n->nodeid);
	dstate_put_u64(c->w, n->generation);
	dstate_put_u64(c->w, n->nlookup);
	dstate_put_u32(c->w, n->type);
	dstate_put_u8(c->w, flags);
	dstate_put_u64(c->w, n->mnt_id);
	dstate_put_u64(c->w, n->dev);
	dstate_put_u64(c->w, n->ino);
	dstate_put_str(c->w, rel);
	dstate_put_u32(c->w, (uint32_t)fh.type);
	dstate_put_blob(c->w, fh.b, fh.len);
	dstate_rec_end(c->w);
	*path = flags & NODE_HAS_PATH ? strdup(rel) : NULL;
}

static int save_plock(void *arg, uint64_t owner, uint32_t pid,
		      const struct flock *fl)
{
	struct save_ctx *c = arg;

	dstate_put_u64(c->w, owner);
	dstate_put_u32(c->w, pid);
	dstate_put_u8(c->w, fl->l_type == F_WRLCK);
	dstate_put_u64(c->w, (uint64_t)fl->l_start);
	dstate_put_u64(c->w, (uint64_t)fl->l_len);
	return 0;
}

/* The PLOCK records of one node: the emitter writes the fields after
 * the node id, one record per lock. */
struct plock_emit {
	struct save_ctx *c;
	uint64_t nodeid;
	unsigned int count;
};

static int emit_plock(void *arg, uint64_t owner, uint32_t pid,
		      const struct flock *fl)
{
	struct plock_emit *e = arg;

	dstate_rec_begin(e->c->w, REC_PLOCK, true);
	dstate_put_u64(e->c->w, e->nodeid);
	save_plock(e->c, owner, pid, fl);
	dstate_rec_end(e->c->w);
	e->count++;
	return 0;
}

/* For each mount the nodes lie on, the shortest path to one of its
 * directories (its root, normally): file-handles mode opens a mount fd
 * there on the destination. */
static void save_mounts(struct save_ctx *c, struct pt_node **nodes, size_t n,
			char **paths)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t m = nodes[i]->mnt_id;
		size_t best = i;
		bool first = true;

		if (!paths[i] || !S_ISDIR(nodes[i]->type))
			continue;
		for (size_t j = 0; j < n && first; j++)
			if (j < i && nodes[j]->mnt_id == m && paths[j] &&
			    S_ISDIR(nodes[j]->type))
				first = false;
		if (!first)
			continue;
		for (size_t j = i + 1; j < n; j++)
			if (nodes[j]->mnt_id == m && paths[j] &&
			    S_ISDIR(nodes[j]->type) &&
			    strlen(paths[j]) < strlen(paths[best]))
				best = j;
		dstate_rec_begin(c->w, REC_MOUNT, false);
		dstate_put_u64(c->w, m);
		dstate_put_str(c->w, paths[best]);
		dstate_rec_end(c->w);
	}
}

int pt_state_save(void *vfs, struct dstate_buf *w)
{
	struct pt_fs *fs = vfs;
	struct save_ctx c = { .fs = fs, .w = w };
	struct pt_node **nodes = NULL;
	struct pt_handle **hs = NULL;
	uint64_t *fhs = NULL, nslots = 0, max_gen = 0, hslots = 0;
	uint32_t hmax_gen = 0;
	size_t nn = 0, nh = 0, plocks = 0;
	struct fhb rootfh = { 0 };
	char **paths = NULL;
	int ret;

	c.want_fh = fs->opts.migration_mode == PT_MIGRATE_FILE_HANDLES ||
		    fs->opts.migration_verify_handles;
	ret = fd_path(fs, fs->root->fd, c.root, sizeof(c.root));
	if (ret) {
		log_error("migration: the share's own name: %s",
			  strerror(-ret));
		return ret;
	}
	ret = pt_nodes_snapshot(fs, &nodes, &nn, &nslots, &max_gen);
	if (ret)
		return ret;
	ret = pt_handles_snapshot(fs, &hs, &fhs, &nh, &hslots, &hmax_gen);
	if (ret)
		goto out_nodes;

	dstate_rec_begin(w, REC_SHARE, true);
	dstate_put_str(w, fs->opts.source);
	dstate_put_u64(w, fs->root->dev);
	dstate_put_u64(w, fs->root->ino);
	fh_of_fd(fs->root->fd, &rootfh);
	dstate_put_u32(w, (uint32_t)rootfh.type);
	dstate_put_blob(w, rootfh.b, rootfh.len);
	dstate_rec_end(w);

	dstate_rec_begin(w, REC_SOURCE, true);
	dstate_put_u8(w, fs->opts.migration_mode == PT_MIGRATE_FILE_HANDLES);
	dstate_put_u8(w, fs->opts.migration_verify_handles);
	dstate_put_u8(w, fs->opts.migration_confirm_paths);
	dstate_rec_end(w);

	dstate_rec_begin(w, REC_NODE_TABLE, true);
	dstate_put_u64(w, nslots);
	dstate_put_u64(w, max_gen);
	dstate_rec_end(w);

	paths = calloc(nn ? nn : 1, sizeof(*paths));
	if (!paths) {
		ret = -ENOMEM;
		goto out_handles;
	}
	for (size_t i = 0; i < nn; i++)
		save_node(&c, nodes[i], &paths[i]);
	if (fs->opts.migration_mode == PT_MIGRATE_FILE_HANDLES)
		save_mounts(&c, nodes, nn, paths);

	dstate_rec_begin(w, REC_HANDLE_TABLE, true);
	dstate_put_u64(w, hslots);
	dstate_put_u32(w, hmax_gen);
	dstate_rec_end(w);
	for (size_t i = 0; i < nh; i++) {
		struct pt_handle *h = hs[i];
		uint64_t dir_off = 0;
		int fl = h->is_dir ? 0 : pt_flock_state(fs, h->fd);

		if (h->is_dir) {
			pthread_mutex_lock(&h->dir_mutex);
			dir_off = h->dir_off;
			pthread_mutex_unlock(&h->dir_mutex);
		}
		dstate_rec_begin(w, REC_HANDLE, true);
		dstate_put_u64(w, fhs[i]);
		dstate_put_u64(w, h->node->nodeid);
		dstate_put_u32(w, (uint32_t)h->open_flags);
		dstate_put_u8(w, h->is_dir);
		dstate_put_u64(w, dir_off);
		dstate_put_u8(w, fl == LOCK_EX ? 2 : fl == LOCK_SH ? 1 : 0);
		dstate_rec_end(w);
	}
	for (size_t i = 0; i < nn; i++) {
		struct plock_emit e = { &c, nodes[i]->nodeid, 0 };

		if (nodes[i]->type != S_IFREG)
			continue;
		ret = pt_plock_save(fs, nodes[i], emit_plock, &e);
		if (ret) {
			log_error("migration: the locks of node %llu: %s",
				  (unsigned long long)nodes[i]->nodeid,
				  strerror(-ret));
			goto out_paths;
		}
		plocks += e.count;
	}
	log_info(
		"migration: saving %zu nodes (%u lost, %u searched for), %zu handles, %zu POSIX locks",
		nn, c.lost, c.searched, nh, plocks);
	ret = w->failed ? -ENOMEM : 0;

out_paths:
	for (size_t i = 0; i < nn; i++)
		free(paths[i]);
	free(paths);
out_handles:
	for (size_t i = 0; i < nh; i++)
		pt_handle_put(fs, hs[i]);
	free(hs);
	free(fhs);
out_nodes:
	for (size_t i = 0; i < nn; i++)
		pt_node_put(fs, nodes[i]);
	free(nodes);
	return ret;
}

/* ---- loading ---- */

struct mig_node {
	uint64_t nodeid, generation, nlookup, mnt_id, dev, ino;
	uint32_t type;
	uint8_t flags;
	char *path;
	struct fhb fh;
	struct pt_node *staged;
};

struct mig_handle {
	uint64_t fh, nodeid, dir_off;
	uint32_t open_flags;
	uint8_t is_dir, flock;
};

struct mig_plock {
	uint64_t nodeid, owner, start, len;
	uint32_t pid;
	uint8_t write;
};

struct mig_mount {
	uint64_t mnt_id;
	char *path;
	int fd; /* opened on first use, -1 before */
};

struct load_ctx {
	struct pt_fs *fs;
	/* decoded */
	char source[MIG_PATH_MAX];
	uint64_t root_dev, root_ino;
	struct fhb rootfh;
	bool by_handles, verify;
	uint64_t nslots, max_gen, hslots;
	uint32_t hmax_gen;
	bool have_share, have_source, have_ntable, have_htable;
	struct mig_node *nodes;
	size_t nn, ncap;
	struct mig_handle *handles;
	size_t nh, hcap;
	struct mig_plock *plocks;
	size_t np, pcap;
	struct mig_mount *mounts;
	size_t nm, mcap;
	/* staged */
	struct pt_nodes *tnodes;
	struct pt_handles *thandles;
	char root[MIG_PATH_MAX];
	unsigned int lost;
};

/* Grow *@arr of *@n entries of @size (capacity *@cap) by one. */
static void *push(void **arr, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *p = realloc(*arr, nc * size);

		if (!p)
			return NULL;
		*arr = p;
		*cap = nc;
	}
	memset((char *)*arr + *n * size, 0, size);
	return (char *)*arr + (*n)++ * size;
}

#define PUSH(arr, n, cap) push((void **)&(arr), &(n), &(cap), sizeof(*(arr)))

static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int refuse(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("migration: device state refused: %s", msg);
	return -EPROTO;
}

static int decode_fh(struct dstate_cur *cur, struct fhb *fh)
{
	size_t n = 0;

	fh->type = (int32_t)dstate_get_u32(cur);
	dstate_get_blob(cur, fh->b, sizeof(fh->b), &n);
	fh->len = (uint16_t)n;
	return cur->bad ? -EPROTO : 0;
}

static int decode(struct load_ctx *c, const struct dstate_rec *rec)
{
	struct dstate_cur cur;
	char path[MIG_PATH_MAX];

	dstate_cur_init(&cur, rec);
	switch (rec->type) {
	case REC_SHARE:
		if (c->have_share)
			return refuse("two share records");
		c->have_share = true;
		dstate_get_str(&cur, c->source, sizeof(c->source));
		c->root_dev = dstate_get_u64(&cur);
		c->root_ino = dstate_get_u64(&cur);
		decode_fh(&cur, &c->rootfh);
		break;
	case REC_SOURCE:
		if (c->have_source)
			return refuse("two source records");
		c->have_source = true;
		c->by_handles = dstate_get_u8(&cur);
		c->verify = dstate_get_u8(&cur);
		dstate_get_u8_or(&cur, 0); /* confirm-paths: the source's */
		break;
	case REC_NODE_TABLE:
		if (c->have_ntable)
			return refuse("two node table records");
		c->have_ntable = true;
		c->nslots = dstate_get_u64(&cur);
		c->max_gen = dstate_get_u64(&cur);
		break;
	case REC_HANDLE_TABLE:
		if (c->have_htable)
			return refuse("two handle table records");
		c->have_htable = true;
		c->hslots = dstate_get_u64(&cur);
		c->hmax_gen = dstate_get_u32(&cur);
		break;
	case REC_NODE: {
		struct mig_node *n = PUSH(c->nodes, c->nn, c->ncap);

		if (!n)
			return -ENOMEM;
		n->nodeid = dstate_get_u64(&cur);
		n->generation = dstate_get_u64(&cur);
		n->nlookup = dstate_get_u64(&cur);
		n->type = dstate_get_u32(&cur);
		n->flags = dstate_get_u8(&cur);
		n->mnt_id = dstate_get_u64(&cur);
		n->dev = dstate_get_u64(&cur);
		n->ino = dstate_get_u64(&cur);
		dstate_get_str(&cur, path, sizeof(path));
		decode_fh(&cur, &n->fh);
		if (cur.bad)
			break;
		n->path = strdup(path);
		if (!n->path)
			return -ENOMEM;
		break;
	}
	case REC_MOUNT: {
		struct mig_mount *m = PUSH(c->mounts, c->nm, c->mcap);

		if (!m)
			return -ENOMEM;
		m->fd = -1;
		m->mnt_id = dstate_get_u64(&cur);
		dstate_get_str(&cur, path, sizeof(path));
		if (cur.bad)
			break;
		m->path = strdup(path);
		if (!m->path)
			return -ENOMEM;
		break;
	}
	case REC_HANDLE: {
		struct mig_handle *h = PUSH(c->handles, c->nh, c->hcap);

		if (!h)
			return -ENOMEM;
		h->fh = dstate_get_u64(&cur);
		h->nodeid = dstate_get_u64(&cur);
		h->open_flags = dstate_get_u32(&cur);
		h->is_dir = dstate_get_u8(&cur);
		h->dir_off = dstate_get_u64(&cur);
		h->flock = dstate_get_u8(&cur);
		break;
	}
	case REC_PLOCK: {
		struct mig_plock *p = PUSH(c->plocks, c->np, c->pcap);

		if (!p)
			return -ENOMEM;
		p->nodeid = dstate_get_u64(&cur);
		p->owner = dstate_get_u64(&cur);
		p->pid = dstate_get_u32(&cur);
		p->write = dstate_get_u8(&cur);
		p->start = dstate_get_u64(&cur);
		p->len = dstate_get_u64(&cur);
		break;
	}
	default:
		if (rec->flags & DSTATE_REC_CRITICAL)
			return refuse(
				"it needs file-system record type 0x%04x, which this vfsd does not know (a newer source?)",
				rec->type);
		return 0;
	}
	if (cur.bad)
		return refuse("a record of type 0x%04x is truncated",
			      rec->type);
	return 0;
}

static struct mig_node *find_node(struct load_ctx *c, uint64_t nodeid)
{
	/* The source writes nodes by nodeid, ascending: binary search,
	 * after check_tables() made sure they are. */
	size_t lo = 0, hi = c->nn;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->nodes[mid].nodeid < nodeid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nn && c->nodes[lo].nodeid == nodeid ? &c->nodes[lo] :
							     NULL;
}

static bool type_ok(uint32_t type)
{
	switch (type) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return true;
	}
	return false;
}

/* Everything about the tables that can be checked before opening. */
static int check_tables(struct load_ctx *c)
{
	struct pt_fs *fs = c->fs;

	if (!c->have_share || !c->have_source || !c->have_ntable ||
	    !c->have_htable)
		return refuse(
			"a share, source, node table or handle table record is missing");
	/* The same share: the same path as configured, or (another
	 * mount point of it) the same root file handle. */
	if (strcmp(c->source, fs->opts.source) != 0) {
		struct fhb mine;

		if (!c->rootfh.len || fh_of_fd(fs->root->fd, &mine) ||
		    !fh_same(&mine, &c->rootfh))
			return refuse(
				"it is the state of another share: the source shared '%s', this daemon shares '%s'",
				c->source, fs->opts.source);
	}
	if (c->nslots < 2 || c->nslots > PT_NODES_STAGE_MAX ||
	    c->max_gen == 0 || c->max_gen == UINT64_MAX)
		return refuse("node table of %llu slots, generation %llu",
			      (unsigned long long)c->nslots,
			      (unsigned long long)c->max_gen);
	if (c->hslots > PT_HANDLES_STAGE_MAX || c->hmax_gen == UINT32_MAX)
		return refuse("handle table of %llu slots, generation %u",
			      (unsigned long long)c->hslots, c->hmax_gen);
	if (c->nn == 0 || c->nodes[0].nodeid != FUSE_ROOT_ID ||
	    c->nodes[0].type != S_IFDIR || c->nodes[0].path[0])
		return refuse("the node table does not start with the root");
	for (size_t i = 0; i < c->nn; i++) {
		const struct mig_node *n = &c->nodes[i];

		if (i && n->nodeid <= c->nodes[i - 1].nodeid)
			return refuse(
				"the node table does not match: node %llu after node %llu",
				(unsigned long long)n->nodeid,
				(unsigned long long)c->nodes[i - 1].nodeid);
		if (n->nodeid >= c->nslots || n->generation == 0 ||
		    n->generation > c->max_gen)
			return refuse(
				"the node table does not match: node %llu generation %llu in %llu slots up to generation %llu",
				(unsigned long long)n->nodeid,
				(unsigned long long)n->generation,
				(unsigned long long)c->nslots,
				(unsigned long long)c->max_gen);
		if (!type_ok(n->type) ||
		    (n->flags & ~(NODE_HAS_PATH | NODE_HAS_FH | NODE_LOST)))
			return refuse("node %llu: type 0%o, flags 0x%x",
				      (unsigned long long)n->nodeid, n->type,
				      n->flags);
		if ((n->flags & NODE_HAS_PATH) && !path_ok(n->path))
			return refuse(
				"node %llu: the path '%s' does not stay in the share",
				(unsigned long long)n->nodeid, n->path);
	}
	for (size_t i = 0; i < c->nh; i++) {
		const struct mig_handle *h = &c->handles[i];
		const struct mig_node *n = find_node(c, h->nodeid);

		if (!n)
			return refuse(
				"the node table does not match: handle 0x%llx is of node %llu, which the state does not hold",
				(unsigned long long)h->fh,
				(unsigned long long)h->nodeid);
		if ((h->fh & 0xffffffffULL) >= c->hslots || !(h->fh >> 32) ||
		    (h->fh >> 32) > c->hmax_gen)
			return refuse(
				"handle 0x%llx outside its table of %llu slots",
				(unsigned long long)h->fh,
				(unsigned long long)c->hslots);
		if (h->is_dir != (n->type == S_IFDIR) ||
		    (n->type != S_IFDIR && n->type != S_IFREG) || h->flock > 2)
			return refuse(
				"handle 0x%llx does not fit its node %llu",
				(unsigned long long)h->fh,
				(unsigned long long)h->nodeid);
	}
	for (size_t i = 0; i < c->np; i++) {
		const struct mig_plock *p = &c->plocks[i];
		const struct mig_node *n = find_node(c, p->nodeid);

		if (!n || n->type != S_IFREG)
			return refuse(
				"the node table does not match: a lock of node %llu, which is no file of the state",
				(unsigned long long)p->nodeid);
		if (p->start > INT64_MAX || p->len > INT64_MAX || p->write > 1)
			return refuse("a lock of node %llu: range %llu+%llu",
				      (unsigned long long)p->nodeid,
				      (unsigned long long)p->start,
				      (unsigned long long)p->len);
	}
	for (size_t i = 0; i < c->nm; i++)
		if (!path_ok(c->mounts[i].path))
			return refuse(
				"mount %llu: the path '%s' does not stay in the share",
				(unsigned long long)c->mounts[i].mnt_id,
				c->mounts[i].path);
	if (pt_nodes_count(fs) != 1 || pt_handles_count(fs) != 0)
		return refuse("this daemon already holds nodes or open files");
	return 0;
}

/* A mount fd of the source's mount @mnt_id here (file-handles mode). */
static int mount_fd(struct load_ctx *c, uint64_t mnt_id)
{
	for (size_t i = 0; i < c->nm; i++) {
		struct mig_mount *m = &c->mounts[i];
		struct pt_fdname n;
		struct stat st;
		int fd;

		if (m->mnt_id != mnt_id)
			continue;
		if (m->fd >= 0)
			return m->fd;
		fd = open_beneath(c->fs, m->path, O_PATH | O_NOFOLLOW);
		if (fd < 0)
			return -errno;
		if (pt_stat_fd(fd, &st, NULL) || !S_ISDIR(st.st_mode)) {
			close(fd);
			return -ENOTDIR;
		}
		/* open_by_handle_at() wants a real fd, not O_PATH. */
		pt_fdname(&n, fd);
		m->fd = openat(c->fs->proc_self_fd, n.s,
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		return m->fd >= 0 ? m->fd : -errno;
	}
	return -ESTALE;
}

static const char *type_name(mode_t t)
{
	switch (t & S_IFMT) {
	case S_IFREG:
		return "a file";
	case S_IFDIR:
		return "a directory";
	case S_IFLNK:
		return "a symlink";
	default:
		return "a special file";
	}
}

/* Find node @n on this host: its O_PATH fd, or -errno with @why. */
static int find_object(struct load_ctx *c, const struct mig_node *n,
		       struct stat *st, uint64_t *mnt_id, const char **why)
{
	struct pt_fs *fs = c->fs;
	int fd, ret;

	if (n->flags & NODE_LOST) {
		*why = "the source could not describe it";
		return -ENOENT;
	}
	if (c->by_handles && (n->flags & NODE_HAS_FH)) {
		union {
			struct file_handle h;
			unsigned char b[sizeof(struct file_handle) + 128];
		} u;
		char abs[MIG_PATH_MAX];
		const char *rel;
		int mfd = mount_fd(c, n->mnt_id);

		if (mfd < 0) {
			*why = "no mount fd for its mount";
			return mfd;
		}
		u.h.handle_bytes = n->fh.len;
		u.h.handle_type = n->fh.type;
		memcpy(u.h.f_handle, n->fh.b, n->fh.len);
		fd = open_by_handle_at(mfd, &u.h,
				       O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			ret = errno == ESTALE ? -ENOENT : -errno;
			*why = ret == -EPERM ?
				       "opening its file handle needs CAP_DAC_READ_SEARCH" :
				       "its file handle opens nothing";
			return ret;
		}
		/* A handle names any inode of the file system: only one
		 * the share reaches by a name may be served. */
		ret = fd_path(fs, fd, abs, sizeof(abs));
		rel = ret ? NULL : share_relative(abs, c->root);
		if (!ret && (!rel || pt_stat_fd(fd, st, mnt_id) ||
			     !path_names(fs, rel, st->st_dev, st->st_ino)))
			ret = -EACCES;
		if (ret) {
			close(fd);
			*why = "its file handle opens nothing inside the share";
			return ret;
		}
	} else if (n->flags & NODE_HAS_PATH) {
		fd = open_beneath(fs, n->path, O_PATH | O_NOFOLLOW);
		if (fd < 0) {
			*why = "its path names nothing";
			return -errno;
		}
	} else {
		*why = "the state holds neither a path nor a file handle for it";
		return -ENOENT;
	}
	ret = pt_stat_fd(fd, st, mnt_id);
	if (!ret && (st->st_mode & S_IFMT) != n->type) {
		*why = type_name(st->st_mode);
		ret = -ESTALE;
	}
	if (!ret && c->verify && (n->flags & NODE_HAS_FH)) {
		struct fhb mine;

		if (fh_of_fd(fd, &mine) || !fh_same(&mine, &n->fh)) {
			*why = "not the source's file (its file handle differs)";
			ret = -ESTALE;
		}
	}
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int stage_nodes(struct load_ctx *c)
{
	struct pt_fs *fs = c->fs;
	int err = 0;

	c->tnodes = pt_nodes_stage_new(c->nslots, c->max_gen + 1, &err);
	if (!c->tnodes)
		return refuse("a node table of %llu slots: %s",
			      (unsigned long long)c->nslots, strerror(-err));
	for (size_t i = 1; i < c->nn; i++) {
		struct mig_node *n = &c->nodes[i];
		const char *why = "";
		struct stat st;
		uint64_t mnt_id = 0;
		int fd = find_object(c, n, &st, &mnt_id, &why);

		if (fd >= 0) {
			n->staged = pt_nodes_stage_add(
				fs, c->tnodes, n->nodeid, n->generation,
				n->nlookup, fd, &st, mnt_id, n->type, &err);
			if (!n->staged) {
				fd = err;
				why = err == -EEXIST ?
					      "another node of the state is the same object" :
					      "cannot hold it";
			}
		}
		if (fd >= 0)
			continue;
		if (!fs->opts.migration_guest_error) {
			log_error(
				"migration: node %llu ('%s'): %s: %s (--migration-on-error=abort: the migration fails)",
				(unsigned long long)n->nodeid, n->path, why,
				strerror(-fd));
			return -ENOENT;
		}
		log_warn(
			"migration: node %llu ('%s'): %s: %s; the guest gets errors for it",
			(unsigned long long)n->nodeid, n->path, why,
			strerror(-fd));
		c->lost++;
		n->staged = pt_nodes_stage_add(fs, c->tnodes, n->nodeid,
					       n->generation, n->nlookup, -1,
					       NULL, 0, n->type, &err);
		if (!n->staged)
			return refuse("node %llu: %s",
				      (unsigned long long)n->nodeid,
				      strerror(-err));
	}
	return 0;
}

/* A failure of one handle or lock: fatal with abort, dropped with
 * guest-error. */
static int item_failed(struct load_ctx *c, const char *what, uint64_t id,
		       uint64_t nodeid, int err)
{
	if (!c->fs->opts.migration_guest_error) {
		log_error(
			"migration: %s 0x%llx of node %llu: %s (--migration-on-error=abort: the migration fails)",
			what, (unsigned long long)id,
			(unsigned long long)nodeid, strerror(-err));
		return err;
	}
	log_warn("migration: %s 0x%llx of node %llu: %s; dropped", what,
		 (unsigned long long)id, (unsigned long long)nodeid,
		 strerror(-err));
	return 0;
}

struct pending_lock {
	struct pt_node *node; /* NULL: flock */
	uint64_t owner, fh;
	struct flock fl;
	int op;
};

static int stage_handles(struct load_ctx *c, struct pending_lock **pend,
			 size_t *npend, size_t *pcap)
{
	struct pt_fs *fs = c->fs;
	int err = 0;

	c->thandles = pt_handles_stage_new(c->hslots, c->hmax_gen + 1, &err);
	if (!c->thandles)
		return refuse("a handle table of %llu slots: %s",
			      (unsigned long long)c->hslots, strerror(-err));
	for (size_t i = 0; i < c->nh; i++) {
		const struct mig_handle *mh = &c->handles[i];
		struct mig_node *n = find_node(c, mh->nodeid);
		struct pt_node *node =
			mh->nodeid == FUSE_ROOT_ID ? fs->root : n->staged;
		struct pt_handle *h;
		int flags, fd, ret;

		if (!node || node->lost) {
			ret = item_failed(c, "handle", mh->fh, mh->nodeid,
					  -ENOENT);
			if (ret)
				return ret;
			continue;
		}
		if (mh->is_dir) {
			flags = O_RDONLY | O_DIRECTORY;
		} else {
			flags = pt_host_open_flags(fs, mh->open_flags);
			/* Reopened, never created or truncated again. */
			flags &= ~(O_TRUNC | O_CREAT | O_EXCL | O_DIRECTORY |
				   O_TMPFILE);
			flags &= O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT |
				 O_SYNC | O_DSYNC | O_NOATIME | O_LARGEFILE |
				 O_CLOEXEC;
		}
		if (fs->opts.readonly && (flags & O_ACCMODE) != O_RDONLY)
			fd = -EROFS;
		else
			fd = pt_node_open(fs, node, flags);
		if (fd < 0) {
			ret = item_failed(c, "handle", mh->fh, mh->nodeid, fd);
			if (ret)
				return ret;
			continue;
		}
		h = calloc(1, sizeof(*h));
		if (!h || pthread_mutex_init(&h->dir_mutex, NULL)) {
			free(h);
			close(fd);
			return -ENOMEM;
		}
		h->fd = fd;
		h->node = node;
		h->open_flags = flags;
		h->is_dir = mh->is_dir;
		if (mh->is_dir && mh->dir_off) {
			h->dir_off =
				mh->dir_off <= INT64_MAX &&
						lseek(fd, (off_t)mh->dir_off,
						      SEEK_SET) >= 0 ?
					mh->dir_off :
					UINT64_MAX;
		}
		ret = pt_handles_stage_add(c->thandles, mh->fh, h);
		if (ret) {
			close(fd);
			pthread_mutex_destroy(&h->dir_mutex);
			free(h);
			return refuse("handle 0x%llx twice",
				      (unsigned long long)mh->fh);
		}
		/* The root is live: its references are taken at commit. */
		if (node != fs->root)
			node->refs++;
		if (mh->flock) {
			int op = mh->flock == 2 ? LOCK_EX : LOCK_SH;

			ret = flock(fd, op | LOCK_NB) ? -errno : 0;
			if (ret == -EWOULDBLOCK) {
				struct pending_lock *p =
					PUSH(*pend, *npend, *pcap);

				if (!p)
					return -ENOMEM;
				p->fh = mh->fh;
				p->op = op;
			} else if (ret) {
				ret = item_failed(c, "flock of handle", mh->fh,
						  mh->nodeid, ret);
				if (ret)
					return ret;
			}
		}
	}
	return 0;
}

static int stage_plocks(struct load_ctx *c, struct pending_lock **pend,
			size_t *npend, size_t *pcap)
{
	for (size_t i = 0; i < c->np; i++) {
		const struct mig_plock *ml = &c->plocks[i];
		struct mig_node *n = find_node(c, ml->nodeid);
		struct flock fl = {
			.l_type = ml->write ? F_WRLCK : F_RDLCK,
			.l_whence = SEEK_SET,
			.l_start = (off_t)ml->start,
			.l_len = (off_t)ml->len,
		};
		int ret;

		if (!n->staged || n->staged->lost)
			continue; /* reported with its node */
		ret = pt_plock_restore(c->fs, n->staged, ml->owner, ml->pid,
				       &fl);
		if (ret == -EAGAIN) {
			struct pending_lock *p = PUSH(*pend, *npend, *pcap);

			if (!p)
				return -ENOMEM;
			p->node = n->staged;
			p->owner = ml->owner;
			p->fl = fl;
		} else if (ret) {
			ret = item_failed(c, "POSIX lock of owner", ml->owner,
					  ml->nodeid, ret);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static void load_free(struct load_ctx *c)
{
	for (size_t i = 0; i < c->nn; i++)
		free(c->nodes[i].path);
	for (size_t i = 0; i < c->nm; i++) {
		free(c->mounts[i].path);
		if (c->mounts[i].fd >= 0)
			close(c->mounts[i].fd);
	}
	free(c->nodes);
	free(c->handles);
	free(c->plocks);
	free(c->mounts);
}

int pt_state_load(void *vfs, const struct dstate_in *in,
		  const struct fuse_conn *conn)
{
	struct pt_fs *fs = vfs;
	struct load_ctx c = { .fs = fs };
	struct pending_lock *pend = NULL;
	size_t npend = 0, pcap = 0, root_refs = 0;
	struct dstate_rec rec;
	size_t pos = 0;
	int ret = 0;

	while (!ret && dstate_next(in, &pos, &rec))
		if (DSTATE_LAYER(rec.type) == DSTATE_LAYER_FS)
			ret = decode(&c, &rec);
	if (!ret)
		ret = check_tables(&c);
	if (!ret) {
		ret = fd_path(fs, fs->root->fd, c.root, sizeof(c.root));
		if (ret)
			log_error("migration: the share's own name: %s",
				  strerror(-ret));
	}
	if (!ret)
		ret = stage_nodes(&c);
	if (!ret)
		ret = stage_handles(&c, &pend, &npend, &pcap);
	if (!ret)
		ret = stage_plocks(&c, &pend, &npend, &pcap);
	if (ret) {
		/* Nothing of it reached the live tables; closing the
		 * staged fds lets go of every lock taken meanwhile. */
		pt_handles_stage_free(c.thandles);
		pt_nodes_stage_free(c.tnodes);
		goto out;
	}

	for (size_t i = 0; i < c.nh; i++)
		if (c.handles[i].nodeid == FUSE_ROOT_ID)
			root_refs++;
	pt_nodes_commit(fs, c.tnodes);
	pt_handles_commit(fs, c.thandles);
	while (root_refs--)
		pt_node_hold(fs, fs->root);
	pt_apply_conn(fs, conn->flags);
	for (size_t i = 0; i < npend; i++)
		pt_lock_pending_add(fs, pend[i].node, pend[i].owner,
				    &pend[i].fl, pend[i].fh, pend[i].op);
	pt_lock_pending_start(fs);
	log_info(
		"migration: loaded %zu nodes (%u not found), %zu handles, %zu POSIX locks (%s; %zu held elsewhere for now)",
		c.nn, c.lost, c.nh, c.np,
		c.by_handles ? "file handles" : "paths", npend);
out:
	free(pend);
	load_free(&c);
	return ret;
}
