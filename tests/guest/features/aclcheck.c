// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest helper (static; busybox has no setfacl): run the POSIX ACL steps
 * of tests/mount/test-acl.sh in DIR with raw system.posix_acl_* values and
 * print, for every file they leave, its mode, owner and both ACLs. The
 * guest check runs it on the virtio-fs share and on a tmpfs and compares
 * the two outputs. Steps needing an unprivileged user run in a child with
 * uid/gid 65534 and no groups.
 *
 *   aclcheck DIR
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define U 65534
#define NONE 0xffffffffu

/* The kernel's xattr form of an ACL (include/uapi/linux/posix_acl_xattr.h
 * is not installed by every distribution, so spelled out here). */
enum {
	T_UOBJ = 1,
	T_USER = 2,
	T_GOBJ = 4,
	T_GROUP = 8,
	T_MASK = 16,
	T_OTHER = 32
};
struct ent {
	uint16_t tag, perm;
	uint32_t id;
};

static const char *const ACC = "system.posix_acl_access";
static const char *const DEF = "system.posix_acl_default";

/* Set an ACL from entries already sorted by tag then id. */
static void set_acl(const char *path, const char *name, const struct ent *e,
		    int n)
{
	unsigned char buf[4 + 8 * 16];
	uint32_t v = 2;

	memcpy(buf, &v, 4);
	memcpy(buf + 4, e, 8 * (size_t)n);
	if (setxattr(path, name, buf, 4 + 8 * (size_t)n, 0) < 0)
		printf("setxattr %s %s: %s\n", path, name,
		       strerrorname_np(errno));
}

static void print_acl(const char *path, const char *name, const char *what)
{
	unsigned char buf[4 + 8 * 64];
	ssize_t n = getxattr(path, name, buf, sizeof(buf));
	static const char *const tags[] = {
		[1] = "user",  [2] = "user",  [4] = "group",
		[8] = "group", [16] = "mask", [32] = "other"
	};

	if (n < 0) {
		printf("  %s: %s\n", what, strerrorname_np(errno));
		return;
	}
	for (ssize_t i = 4; i + 8 <= n; i += 8) {
		struct ent e;

		memcpy(&e, buf + i, 8);
		printf("  %s %s:", what,
		       e.tag < 33 && tags[e.tag] ? tags[e.tag] : "?");
		if (e.tag == T_USER || e.tag == T_GROUP)
			printf("%u", e.id);
		printf(":%c%c%c\n", e.perm & 4 ? 'r' : '-',
		       e.perm & 2 ? 'w' : '-', e.perm & 1 ? 'x' : '-');
	}
}

static void touch(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);

	if (fd < 0)
		printf("create %s: %s\n", path, strerrorname_np(errno));
	else
		close(fd);
}

/* Run fn(arg) as the unprivileged user; its exit status. */
static int as_user(int (*fn)(void *), void *arg)
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		if (setgroups(0, NULL) || setresgid(U, U, U) ||
		    setresuid(U, U, U))
			_exit(99);
		_exit(fn(arg));
	}
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const struct ent plus_root[] = {
	{ T_UOBJ, 7, NONE }, { T_USER, 4, 0 },	   { T_GOBJ, 7, NONE },
	{ T_MASK, 7, NONE }, { T_OTHER, 0, NONE },
};

static int user_sgid(void *arg)
{
	(void)arg;
	set_acl("own/outside", ACC, plus_root, 5);
	set_acl("own/inside", ACC, plus_root, 5);
	return 0;
}

static int user_create(void *arg)
{
	(void)arg;
	touch("own/outside", 0666);
	touch("own/inside", 0666);
	return 0;
}

static int user_notmine(void *arg)
{
	static const struct ent e[] = { { T_UOBJ, 6, NONE },
					{ T_USER, 7, U },
					{ T_GOBJ, 4, NONE },
					{ T_MASK, 7, NONE },
					{ T_OTHER, 4, NONE } };
	unsigned char buf[4 + sizeof(e)];
	uint32_t v = 2;

	(void)arg;
	memcpy(buf, &v, 4);
	memcpy(buf + 4, e, sizeof(e));
	return setxattr("notmine", ACC, buf, sizeof(buf), 0) == 0 ? 0 :
	       errno == EPERM					  ? 1 :
								    2;
}

static int user_read(void *arg)
{
	int fd = open(arg, O_RDONLY);

	if (fd < 0)
		return errno == EACCES ? 1 : 2;
	close(fd);
	return 0;
}

static int user_in_dacl(void *arg)
{
	(void)arg;
	umask(077);
	touch("dacl/byuser", 0666);
	if (mkdir("dacl/byuserd", 0777) < 0)
		printf("mkdir dacl/byuserd: %s\n", strerrorname_np(errno));
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const files[] = {
		"dacl",	     "dacl/file",   "dacl/sub",	    "dacl/sub/deep",
		"dacl/fifo", "dacl/byuser", "dacl/byuserd", "plain",
		"plaind",    "masked",	    "minimal",	    "extended",
		"notmine",   "own/outside", "own/inside",   "granted",
	};
	static const struct ent dflt[] = {
		{ T_UOBJ, 7, NONE }, { T_USER, 7, U },	   { T_GOBJ, 5, NONE },
		{ T_MASK, 7, NONE }, { T_OTHER, 0, NONE },
	};
	static const struct ent masked[] = {
		{ T_UOBJ, 6, NONE }, { T_USER, 6, U },	   { T_GOBJ, 4, NONE },
		{ T_MASK, 6, NONE }, { T_OTHER, 4, NONE },
	};
	static const struct ent minimal[] = {
		{ T_UOBJ, 4, NONE },
		{ T_GOBJ, 0, NONE },
		{ T_OTHER, 0, NONE },
	};
	static const struct ent extended[] = {
		{ T_UOBJ, 6, NONE }, { T_USER, 5, U },	   { T_GOBJ, 7, NONE },
		{ T_MASK, 7, NONE }, { T_OTHER, 0, NONE },
	};
	static const struct ent granted[] = {
		{ T_UOBJ, 6, NONE }, { T_USER, 4, U },	   { T_GOBJ, 0, NONE },
		{ T_MASK, 4, NONE }, { T_OTHER, 0, NONE },
	};

	if (argc != 2 || chdir(argv[1]) < 0) {
		fprintf(stderr, "usage: aclcheck DIR\n");
		return 2;
	}
	umask(022);
	mkdir("dacl", 0755);
	set_acl("dacl", DEF, dflt, 5);
	set_acl("dacl", ACC, dflt, 5);
	umask(077);
	touch("dacl/file", 0666);
	mkdir("dacl/sub", 0777);
	mkfifo("dacl/fifo", 0666);
	touch("dacl/sub/deep", 0666);
	umask(027);
	touch("plain", 0666);
	mkdir("plaind", 0777);
	umask(022);

	touch("masked", 0666);
	set_acl("masked", ACC, masked, 5);
	chmod("masked", 0640);
	touch("minimal", 0666);
	set_acl("minimal", ACC, minimal, 3);
	touch("extended", 0666);
	chmod("extended", 0600);
	set_acl("extended", ACC, extended, 5);

	touch("notmine", 0666);
	printf("notmine: %d\n", as_user(user_notmine, NULL));

	mkdir("own", 0777);
	chmod("own", 0777);
	as_user(user_create, NULL);
	if (chown("own/outside", U, 0) < 0)
		printf("chown: %s\n", strerrorname_np(errno));
	chmod("own/outside", 02770);
	chmod("own/inside", 02770);
	as_user(user_sgid, NULL);

	touch("granted", 0600);
	set_acl("granted", ACC, granted, 5);
	printf("granted: %d\n", as_user(user_read, "granted"));
	if (removexattr("granted", ACC) < 0)
		printf("removexattr: %s\n", strerrorname_np(errno));
	printf("granted after removal: %d\n", as_user(user_read, "granted"));

	as_user(user_in_dacl, NULL);

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct stat st;

		if (lstat(files[i], &st) < 0) {
			printf("== %s: %s\n", files[i], strerrorname_np(errno));
			continue;
		}
		printf("== %s %06o %u %u\n", files[i], (unsigned)st.st_mode,
		       st.st_uid, st.st_gid);
		print_acl(files[i], ACC, "access");
		if (S_ISDIR(st.st_mode))
			print_acl(files[i], DEF, "default");
	}
	return 0;
}
