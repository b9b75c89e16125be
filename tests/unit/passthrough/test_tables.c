// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The node and handle tables (src/passthrough/inode.c, handle.c) on real
 * O_PATH fds of a temporary directory: hard links share a node, lookup
 * counts follow FORGET exactly, in-flight references keep a forgotten node
 * alive, slots are reused with a new generation, and stale or forged file
 * handles are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "passthrough/ops_i.h"

struct env {
	char dir[64];
	int dfd;
	struct pt_fs *fs;
};

static int setup(void **state)
{
	struct pt_options opts = { .cache = PT_CACHE_AUTO, .readdirplus = -1 };
	struct env *env = calloc(1, sizeof(*env));
	const char *msg = NULL;

	if (!env)
		return -1;
	snprintf(env->dir, sizeof(env->dir), "/tmp/vfsd-pt-tables.XXXXXX");
	if (!mkdtemp(env->dir))
		return -1;
	env->dfd = open(env->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	opts.source = env->dir;
	if (env->dfd < 0 || pt_new(&opts, &env->fs, &msg))
		return -1;
	*state = env;
	return 0;
}

static int teardown(void **state)
{
	struct env *env = *state;
	char cmd[128];

	pt_free(env->fs);
	close(env->dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env->dir);
	if (system(cmd) != 0)
		return -1;
	free(env);
	return 0;
}

static void make_file(struct env *env, const char *name)
{
	int fd = openat(env->dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	close(fd);
}

/* pt_node_add() for @name, as LOOKUP does it; returns the node with one
 * in-flight reference and one more lookup reference. */
static struct pt_node *add_name(struct env *env, const char *name)
{
	struct pt_node *node;
	struct stat st;
	uint64_t mnt;
	int err = 0;
	int fd;

	fd = openat(env->fs->root->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pt_stat_fd(fd, &st, &mnt), 0);
	node = pt_node_add(env->fs, fd, &st, mnt, &err);
	assert_non_null(node);
	assert_int_equal(err, 0);
	return node;
}

static void test_root(void **state)
{
	struct env *env = *state;
	struct pt_node *root = pt_node_get(env->fs, FUSE_ROOT_ID);

	assert_non_null(root);
	assert_ptr_equal(root, env->fs->root);
	assert_int_equal(root->nodeid, FUSE_ROOT_ID);
	assert_true(S_ISDIR(root->type));
	pt_node_put(env->fs, root);
	/* FORGET of the root, even a huge one, never frees it. */
	pt_node_forget(env->fs, FUSE_ROOT_ID, UINT64_MAX);
	root = pt_node_get(env->fs, FUSE_ROOT_ID);
	assert_ptr_equal(root, env->fs->root);
	pt_node_put(env->fs, root);
	/* nodeid 0 and ids never handed out are unknown. */
	assert_null(pt_node_get(env->fs, 0));
	assert_null(pt_node_get(env->fs, 2));
	assert_null(pt_node_get(env->fs, UINT64_MAX));
}

static void test_hard_links_share_node(void **state)
{
	struct env *env = *state;
	struct pt_node *a;
	struct pt_node *b;

	make_file(env, "a");
	assert_int_equal(linkat(env->dfd, "a", env->dfd, "b", 0), 0);
	a = add_name(env, "a");
	b = add_name(env, "b");
	assert_ptr_equal(a, b);
	assert_int_equal(a->nlookup, 2);
	assert_int_not_equal(a->nodeid, FUSE_ROOT_ID);
	pt_node_put(env->fs, a);
	pt_node_put(env->fs, b);
	pt_node_forget(env->fs, a->nodeid, 2);
}

static void test_lookup_counts_and_reuse(void **state)
{
	struct env *env = *state;
	struct pt_node *n;
	struct pt_node *c;
	uint64_t id;
	uint64_t gen;

	make_file(env, "f");
	n = add_name(env, "f");
	pt_node_put(env->fs, n);
	n = add_name(env, "f");
	pt_node_put(env->fs, n);
	id = n->nodeid;
	gen = n->generation;
	assert_int_equal(n->nlookup, 2);

	pt_node_forget(env->fs, id, 1);
	n = pt_node_get(env->fs, id);
	assert_non_null(n); /* one lookup left */
	pt_node_put(env->fs, n);

	pt_node_forget(env->fs, id, 1);
	assert_null(pt_node_get(env->fs, id)); /* freed */
	/* A forget for an id no longer (or never) known is ignored. */
	pt_node_forget(env->fs, id, 1);
	pt_node_forget(env->fs, 123456789, 5);

	/* The free slot is reused for the next new object, with a higher
	 * generation so (nodeid, generation) never repeats. */
	make_file(env, "g");
	c = add_name(env, "g");
	assert_int_equal(c->nodeid, id);
	assert_true(c->generation > gen);
	pt_node_put(env->fs, c);
	pt_node_forget(env->fs, c->nodeid, 1);
}

static void test_forget_more_than_count(void **state)
{
	struct env *env = *state;
	struct pt_node *n;
	uint64_t id;

	make_file(env, "h");
	n = add_name(env, "h");
	pt_node_put(env->fs, n);
	id = n->nodeid;
	pt_node_forget(env->fs, id, 1000);
	assert_null(pt_node_get(env->fs, id));
}

static void test_refs_keep_node_alive(void **state)
{
	struct env *env = *state;
	struct pt_node *n;
	struct pt_node *again;
	uint64_t id;
	int fd;

	make_file(env, "r");
	n = add_name(env, "r"); /* nlookup 1, refs 1 */
	id = n->nodeid;
	fd = n->fd;
	/* A hostile client forgets while a request still uses the node. */
	pt_node_forget(env->fs, id, 1);
	assert_null(pt_node_get(env->fs, id)); /* not the client's any more */
	assert_int_equal(n->nodeid, id); /* but still valid memory */
	assert_true(fcntl(fd, F_GETFD) >= 0); /* and its fd still open */

	/* A lookup meanwhile revives the same node rather than a twin. */
	again = add_name(env, "r");
	assert_ptr_equal(again, n);
	pt_node_put(env->fs, again);
	pt_node_forget(env->fs, id, 1);
	assert_true(fcntl(fd, F_GETFD) >= 0);

	pt_node_put(env->fs, n); /* last reference: now freed */
	assert_null(pt_node_get(env->fs, id));
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

/* Many objects: the slot array and the hash table grow, and removing
 * half of them (backward-shift deletion) keeps the others findable. */
static void test_many_nodes(void **state)
{
	struct env *env = *state;
	enum { N = 1500 };
	uint64_t *ids = calloc(N, sizeof(*ids));
	char name[32];
	int i;

	assert_non_null(ids);
	for (i = 0; i < N; i++) {
		struct pt_node *n;

		snprintf(name, sizeof(name), "m%d", i);
		make_file(env, name);
		n = add_name(env, name);
		ids[i] = n->nodeid;
		pt_node_put(env->fs, n);
	}
	for (i = 0; i < N; i += 2)
		pt_node_forget(env->fs, ids[i], 1);
	for (i = 0; i < N; i++) {
		struct pt_node *n;

		snprintf(name, sizeof(name), "m%d", i);
		n = add_name(env, name);
		if (i % 2)
			assert_int_equal(n->nodeid, ids[i]);
		else
			assert_int_equal(n->nlookup, 1); /* a fresh node */
		pt_node_put(env->fs, n);
	}
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		{
			struct pt_node *n = add_name(env, name);

			pt_node_put(env->fs, n);
			pt_node_forget(env->fs, n->nodeid, UINT64_MAX);
		}
	}
	/* DESTROY drops everything but the root. */
	pt_nodes_clear(env->fs);
	for (i = 0; i < N; i++)
		assert_true(ids[i] == FUSE_ROOT_ID ||
			    !pt_node_get(env->fs, ids[i]));
	assert_non_null(pt_node_get(env->fs, FUSE_ROOT_ID));
	pt_node_put(env->fs, env->fs->root);
	free(ids);
}

static uint64_t add_handle(struct env *env, struct pt_handle **hp)
{
	struct pt_node *node = pt_node_get(env->fs, FUSE_ROOT_ID);
	int fd = pt_node_open(env->fs, node, O_RDONLY | O_DIRECTORY);
	int err = 0;
	uint64_t fh;

	assert_true(fd >= 0);
	fh = pt_handle_new(env->fs, node, fd, O_RDONLY, true, &err);
	assert_int_not_equal(fh, 0);
	if (hp) {
		*hp = pt_handle_get(env->fs, fh);
		pt_handle_put(env->fs, *hp);
	}
	return fh;
}

static void test_handles(void **state)
{
	struct env *env = *state;
	struct pt_handle *h;
	struct pt_handle *g;
	uint64_t fh;
	uint64_t fh2;
	int fd;

	fh = add_handle(env, &h);
	g = pt_handle_get(env->fs, fh);
	assert_ptr_equal(g, h);
	assert_ptr_equal(g->node, env->fs->root);
	pt_handle_put(env->fs, g);

	/* The handle belongs to the root only. */
	g = pt_handle_get_node(env->fs, fh, FUSE_ROOT_ID);
	assert_ptr_equal(g, h);
	pt_handle_put(env->fs, g);
	assert_null(pt_handle_get_node(env->fs, fh, 2));

	/* Forged: other generation, other slot, zero, all ones. */
	assert_null(pt_handle_get(env->fs, fh ^ (1ULL << 32)));
	assert_null(pt_handle_get(env->fs, fh + 1));
	assert_null(pt_handle_get(env->fs, 0));
	assert_null(pt_handle_get(env->fs, UINT64_MAX));

	/* A request holding the handle keeps the fd across RELEASE. */
	g = pt_handle_get(env->fs, fh);
	fd = g->fd;
	assert_int_equal(pt_handle_remove(env->fs, fh), 0);
	assert_null(pt_handle_get(env->fs, fh)); /* stale */
	assert_int_equal(pt_handle_remove(env->fs, fh), -EBADF);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	pt_handle_put(env->fs, g);
	assert_int_equal(fcntl(fd, F_GETFD), -1);

	/* Reuse of the slot: same index, newer generation; the old fh stays
	 * dead. */
	fh2 = add_handle(env, NULL);
	assert_int_equal(fh2 & 0xffffffffULL, fh & 0xffffffffULL);
	assert_true((fh2 >> 32) > (fh >> 32));
	assert_null(pt_handle_get(env->fs, fh));
	pt_handles_clear(env->fs);
	assert_null(pt_handle_get(env->fs, fh2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hard_links_share_node,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_counts_and_reuse,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_more_than_count,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_refs_keep_node_alive,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_nodes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_handles, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
