// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vu_listen()/vu_accept(): socket file mode, stale socket replacement,
 * refusing to clobber a live socket or another file, group ownership.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "log/log.h"

struct dir {
	char path[64];
	char sock[96];
};

static void mkdir_tmp(struct dir *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/vu-listen-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->sock, sizeof(d->sock), "%s/vhost.sock", d->path);
}

static void rmdir_tmp(struct dir *d)
{
	unlink(d->sock);
	assert_int_equal(rmdir(d->path), 0);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_listen_accept(void **state)
{
	int before = t_count_fds();
	const char *msg = NULL;
	struct stat st;
	struct dir d;
	int lfd, cfd, afd;

	log_set_level(LOG_LEVEL_OFF);
	mkdir_tmp(&d);
	assert_int_equal(vu_listen(d.sock, NULL, &lfd, &msg), 0);
	assert_int_equal(lstat(d.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	cfd = connect_to(d.sock);
	afd = vu_accept(lfd);
	assert_true(afd >= 0);
	assert_int_equal(write(cfd, "x", 1), 1);
	{
		char c;

		assert_int_equal(read(afd, &c, 1), 1);
		assert_int_equal(c, 'x');
	}
	close(afd);
	close(cfd);

	/* A live socket is not taken over. */
	assert_int_equal(vu_listen(d.sock, NULL, &afd, &msg), -EADDRINUSE);
	assert_non_null(msg);
	close(lfd);
	/* Now it is stale (nobody listens): replaced. */
	assert_int_equal(vu_listen(d.sock, NULL, &lfd, &msg), 0);
	close(lfd);
	rmdir_tmp(&d);
	assert_int_equal(t_count_fds(), before);
}

static void test_listen_refuses_other_files(void **state)
{
	const char *msg = NULL;
	char longpath[200];
	struct stat st;
	struct dir d;
	int fd;

	mkdir_tmp(&d);
	fd = open(d.sock, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vu_listen(d.sock, NULL, &fd, &msg), -EEXIST);
	assert_non_null(msg);
	assert_int_equal(lstat(d.sock, &st), 0);
	assert_true(S_ISREG(st.st_mode)); /* left alone */

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(vu_listen(longpath, NULL, &fd, &msg), -ENAMETOOLONG);
	assert_int_equal(vu_listen(d.sock, "no-such-group-vfsd", &fd, &msg),
			 -ENOENT);
	rmdir_tmp(&d);
}

static void test_listen_group(void **state)
{
	const char *msg = NULL;
	char gid[32];
	struct stat st;
	struct dir d;
	int fd;

	mkdir_tmp(&d);
	snprintf(gid, sizeof(gid), "%u", (unsigned int)getegid());
	assert_int_equal(vu_listen(d.sock, gid, &fd, &msg), 0);
	assert_int_equal(lstat(d.sock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, getegid());
	close(fd);
	rmdir_tmp(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_accept),
		cmocka_unit_test(test_listen_refuses_other_files),
		cmocka_unit_test(test_listen_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
