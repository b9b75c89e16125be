// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * migcheck: the guest's side of a live migration (tests/guest/
 * test-migrate.sh). Static: the guest has only busybox.
 *
 *   migcheck FILE DIR LOCKFILE GO OUTDIR
 *
 * Before the migration it opens FILE and reads its first block, opens
 * DIR and reads part of the listing, and takes a POSIX write lock on
 * LOCKFILE; then it says "VFSD-MIGRATE: READY" on the console and waits
 * until GO
 * exists (the host makes it once the guest runs on the destination).
 * After: it reads all of FILE through the same descriptor into
 * OUTDIR/data.copy, reads the rest of the same directory stream and
 * writes every name it saw (before and after, one per line) to
 * OUTDIR/dir.list, and checks from a child process that the lock is
 * still its own (F_GETLK sees it). Exit 0 when all of it worked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A line for the host to see now: on the console (the test library
 * keeps a check's own output until it ends). */
static void say(const char *line)
{
	FILE *c = fopen("/dev/console", "w");

	fputs(line, c ? c : stdout);
	if (c)
		fclose(c);
	else
		fflush(stdout);
}

static int fail(const char *what)
{
	printf("migcheck: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	char path[512];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	FILE *list;
	DIR *d;
	struct dirent *e;
	int fd, lfd, out, n, before = 0, after = 0, status;
	pid_t child;
	off_t off = 0;
	ssize_t got;

	if (argc != 6) {
		fprintf(stderr,
			"usage: migcheck FILE DIR LOCKFILE GO OUTDIR\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || read(fd, buf, 4096) < 0)
		return fail("open and read FILE");
	d = opendir(argv[2]);
	if (!d)
		return fail("opendir DIR");
	snprintf(path, sizeof(path), "%s/dir.list", argv[5]);
	list = fopen(path, "w");
	if (!list)
		return fail("create dir.list");
	while (before < 40 && (e = readdir(d))) {
		fprintf(list, "%s\n", e->d_name);
		before++;
	}
	lfd = open(argv[3], O_RDWR);
	if (lfd < 0 || fcntl(lfd, F_SETLK, &fl) < 0)
		return fail("lock LOCKFILE");
	snprintf(path, sizeof(path),
		 "VFSD-MIGRATE: READY (%d entries read, lock taken)\n", before);
	say(path);

	for (n = 0; access(argv[4], F_OK) != 0; n++) {
		if (n > 3000)
			return fail("waiting for GO");
		usleep(100000);
	}
	snprintf(path, sizeof(path), "VFSD-MIGRATE: GO seen after %d tries\n",
		 n);
	say(path);

	snprintf(path, sizeof(path), "%s/data.copy", argv[5]);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		return fail("create data.copy");
	while ((got = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (write(out, buf, (size_t)got) != got)
			return fail("write data.copy");
		off += got;
	}
	if (got < 0)
		return fail("read FILE after the migration");
	close(out);
	close(fd);
	errno = 0;
	while ((e = readdir(d))) {
		fprintf(list, "%s\n", e->d_name);
		after++;
	}
	if (errno)
		return fail("readdir after the migration");
	closedir(d);
	if (fclose(list))
		return fail("write dir.list");

	child = fork();
	if (child == 0) {
		struct flock t = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int cfd = open(argv[3], O_RDWR);

		if (cfd < 0 || fcntl(cfd, F_GETLK, &t) < 0)
			_exit(3);
		_exit(t.l_type == F_WRLCK && t.l_pid == getppid() ? 0 : 4);
	}
	if (child < 0 || waitpid(child, &status, 0) < 0)
		return fail("fork");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("migcheck: the lock is not held after the migration "
		       "(child status %d)\n",
		       status);
		return 1;
	}
	printf("migcheck: %lld bytes read, %d+%d entries, lock held\n",
	       (long long)off, before, after);
	close(lfd);
	return 0;
}
