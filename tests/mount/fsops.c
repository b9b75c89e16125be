// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsops: a scripted trace of file-system operations.
 *
 *   fsops [-x] [-u PREP] DIR
 *
 * Performs a long, fixed sequence of operations inside the empty directory
 * DIR and prints one line per step: the step name, the return value
 * (normalised: file descriptors print as "fd") and the errno name on
 * failure, and normalised results (stat without inode numbers, devices or
 * ctime; times print exactly when they lie far from now, as "recent"
 * otherwise; file contents as run-length encoded bytes).
 *
 * The test runs the same trace in a native directory and inside the mount
 * and requires identical output, so the trace itself has no expectations:
 * the host file system is the oracle.
 *
 * -x      also trace extended attributes (user.*).
 * -u PREP unprivileged cases: PREP holds directories and files prepared by
 *         root (see test-fsops-user.sh); run as a non-root user.
 *
 * Lines starting with '~' are operations the kernel's FUSE client answers
 * itself (fallocate modes it does not forward); the test compares them
 * separately.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* A time this close to now prints as "recent". */
#define RECENT_SECONDS 3600
/* Explicit times used by the trace: far from now, with nanoseconds. */
#define T1_SEC 1000000000LL /* 2001-09-09 */
#define T1_NSEC 123456789L
#define T2_SEC 1234567890LL /* 2009-02-13 */
#define T2_NSEC 987654321L
#define T3_SEC 946684800LL /* 2000-01-01 */
#define T3_NSEC 1L

static bool with_xattr;
static const char *prep_dir;

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

static void res(const char *step, long r, int e)
{
	if (r < 0)
		printf("%s = %ld %s\n", step, r, ename(e));
	else
		printf("%s = %ld\n", step, r);
}

/* Run @expr, print "step = ret [ERRNO]" and yield the return value. */
#define T(step, expr)                  \
	({                             \
		long r__;              \
		errno = 0;             \
		r__ = (long)(expr);    \
		res(step, r__, errno); \
		r__;                   \
	})

/* As T() for calls returning a file descriptor: prints "fd". */
#define TFD(step, expr)                                             \
	({                                                          \
		int fd__;                                           \
		errno = 0;                                          \
		fd__ = (expr);                                      \
		if (fd__ < 0)                                       \
			printf("%s = -1 %s\n", step, ename(errno)); \
		else                                                \
			printf("%s = fd\n", step);                  \
		fd__;                                               \
	})

static void line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static const char *ftype(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return "reg";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "lnk";
	case S_IFCHR:
		return "chr";
	case S_IFBLK:
		return "blk";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "sock";
	}
	return "?";
}

static void fmt_time(char *buf, size_t len, const struct timespec *ts)
{
	long long now = (long long)time(NULL);
	long long d = (long long)ts->tv_sec - now;

	if (d > -RECENT_SECONDS && d < RECENT_SECONDS)
		snprintf(buf, len, "recent");
	else
		snprintf(buf, len, "%lld.%09ld", (long long)ts->tv_sec,
			 ts->tv_nsec);
}

static void print_stat(const char *step, const struct stat *st)
{
	char at[48], mt[48];

	fmt_time(at, sizeof(at), &st->st_atim);
	fmt_time(mt, sizeof(mt), &st->st_mtim);
	printf("%s: %s mode=%04o nlink=%lu uid=%u gid=%u", step,
	       ftype(st->st_mode), (unsigned int)(st->st_mode & 07777),
	       (unsigned long)st->st_nlink, st->st_uid, st->st_gid);
	if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))
		printf(" size=%lld", (long long)st->st_size);
	if (S_ISREG(st->st_mode))
		printf(" blocks=%s", st->st_blocks > 0 ? "yes" : "no");
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		printf(" rdev=%u:%u", major(st->st_rdev), minor(st->st_rdev));
	printf(" atime=%s mtime=%s\n", at, mt);
}

/* stat (follow) or lstat (nofollow) @path and print it, or the error. */
static void show_stat_at(const char *step, const char *path, int flags)
{
	struct stat st;

	if (fstatat(AT_FDCWD, path, &st, flags) < 0) {
		printf("%s: -1 %s\n", step, ename(errno));
		return;
	}
	print_stat(step, &st);
}

static void show_stat(const char *step, const char *path)
{
	show_stat_at(step, path, 0);
}

static void show_lstat(const char *step, const char *path)
{
	show_stat_at(step, path, AT_SYMLINK_NOFOLLOW);
}

static void show_fstat(const char *step, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		printf("%s: -1 %s\n", step, ename(errno));
		return;
	}
	print_stat(step, &st);
}

static void put_byte(unsigned char c)
{
	if (c > ' ' && c < 127 && c != '\\' && c != '*')
		putchar(c);
	else
		printf("\\x%02x", c);
}

/* Print @len bytes as runs: "a*3 \x00*4096 b". */
static void print_rle(const unsigned char *buf, size_t len)
{
	size_t i = 0, runs = 0;

	printf("len=%zu", len);
	while (i < len) {
		size_t j = i;

		while (j < len && buf[j] == buf[i])
			j++;
		if (++runs > 64) {
			uint64_t h = 1469598103934665603ULL;

			for (; i < len; i++)
				h = (h ^ buf[i]) * 1099511628211ULL;
			printf(" ...fnv=%016llx", (unsigned long long)h);
			break;
		}
		putchar(' ');
		put_byte(buf[i]);
		if (j - i > 1)
			printf("*%zu", j - i);
		i = j;
	}
}

/* Print the whole content of @fd (read with pread, up to 4 MiB). */
static void show_fd_content(const char *step, int fd)
{
	size_t cap = 4 << 20, len = 0;
	unsigned char *buf = malloc(cap);
	ssize_t n;

	if (!buf) {
		printf("%s: no memory\n", step);
		return;
	}
	while (len < cap) {
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n < 0) {
			printf("%s: -1 %s\n", step, ename(errno));
			free(buf);
			return;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	printf("%s: ", step);
	print_rle(buf, len);
	putchar('\n');
	free(buf);
}

static void show_content(const char *step, const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		printf("%s: -1 %s\n", step, ename(errno));
		return;
	}
	show_fd_content(step, fd);
	close(fd);
}

/* Create @path with @len bytes of @c (0644); a failure prints a line. */
static void make_file(const char *path, int c, size_t len)
{
	unsigned char *buf = malloc(len + 1);
	int fd;

	if (!buf)
		return;
	memset(buf, c, len);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || (len && write(fd, buf, len) != (ssize_t)len))
		printf("setup %s: %s\n", path, ename(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
}

static void show_buf(const char *step, const void *buf, ssize_t n)
{
	printf("%s: ", step);
	if (n < 0)
		printf("-1");
	else
		print_rle(buf, (size_t)n);
	putchar('\n');
}

static void sec_open(void)
{
	char buf[64];
	int fd;

	line("## open");
	fd = TFD("creat f1", creat("f1", 0666));
	T("write f1 hello", write(fd, "hello", 5));
	T("close f1", close(fd));
	show_stat("stat f1", "f1");
	T("open f1 O_CREAT|O_EXCL",
	  open("f1", O_RDWR | O_CREAT | O_EXCL, 0644));
	TFD("open f1 O_CREAT (exists)",
	    fd = open("f1", O_RDWR | O_CREAT, 0600));
	T("close", close(fd));
	T("open missing", open("missing", O_RDONLY));
	T("open missing/x", open("missing/x", O_RDONLY | O_CREAT, 0644));
	T("open f1 O_DIRECTORY", open("f1", O_RDONLY | O_DIRECTORY));
	T("open f1/x", open("f1/x", O_RDONLY));
	T("open . O_WRONLY", open(".", O_WRONLY));
	TFD("open . O_RDONLY|O_DIRECTORY",
	    fd = open(".", O_RDONLY | O_DIRECTORY));
	close(fd);
	fd = TFD("open f1 O_WRONLY|O_TRUNC", open("f1", O_WRONLY | O_TRUNC));
	show_fstat("fstat after O_TRUNC", fd);
	T("write abc", write(fd, "abc", 3));
	T("close", close(fd));
	fd = TFD("open f1 O_WRONLY|O_APPEND", open("f1", O_WRONLY | O_APPEND));
	T("lseek 0", lseek(fd, 0, SEEK_SET));
	T("append XYZ", write(fd, "XYZ", 3));
	T("lseek cur after append", lseek(fd, 0, SEEK_CUR));
	T("pwrite O_APPEND at 0", pwrite(fd, "12", 2, 0));
	T("close", close(fd));
	show_content("content f1", "f1");
	fd = TFD("open f1 O_RDONLY", open("f1", O_RDONLY));
	T("write to O_RDONLY", write(fd, "x", 1));
	T("read 4", read(fd, buf, 4));
	T("read rest", read(fd, buf, sizeof(buf)));
	T("read at EOF", read(fd, buf, sizeof(buf)));
	T("close", close(fd));
	T("close closed fd", close(fd));
	fd = TFD("open f1 O_WRONLY", open("f1", O_WRONLY));
	T("read from O_WRONLY", read(fd, buf, 1));
	close(fd);
	T("umask 077", umask(077));
	TFD("creat umask", fd = creat("f_umask", 0777));
	close(fd);
	show_stat("stat f_umask", "f_umask");
	T("umask 022", umask(022));
	T("mkdir umask", mkdir("d_umask", 0777));
	show_stat("stat d_umask", "d_umask");
}

static void sec_rw(void)
{
	char b1[3], b2[5], b3[40];
	struct iovec iov[3];
	char buf[256];
	int fd;

	line("## read/write");
	fd = TFD("open rw O_CREAT", open("rw", O_RDWR | O_CREAT, 0644));
	T("pwrite 100 data", pwrite(fd, "data", 4, 100));
	show_fstat("fstat rw", fd);
	T("pread 96..104", pread(fd, buf, 8, 96));
	show_buf("pread content", buf, 8);
	T("pread past EOF", pread(fd, buf, 8, 200));
	T("pread straddling EOF", pread(fd, buf, 8, 100));
	T("pwrite 0 head", pwrite(fd, "head", 4, 0));
	T("lseek cur", lseek(fd, 0, SEEK_CUR));
	T("write at cur", write(fd, "cur", 3));
	T("lseek end", lseek(fd, 0, SEEK_END));
	T("lseek -1", lseek(fd, -1, SEEK_SET));
	T("lseek 50", lseek(fd, 50, SEEK_SET));
	T("read 10 at 50", read(fd, buf, 10));
	show_buf("read content", buf, 10);
	iov[0] = (struct iovec){ .iov_base = "one-", .iov_len = 4 };
	iov[1] = (struct iovec){ .iov_base = "two--", .iov_len = 5 };
	iov[2] = (struct iovec){ .iov_base = "three", .iov_len = 5 };
	T("lseek 10", lseek(fd, 10, SEEK_SET));
	T("writev 3", writev(fd, iov, 3));
	T("pwritev at 200", pwritev(fd, iov, 3, 200));
	T("lseek 10", lseek(fd, 10, SEEK_SET));
	iov[0] = (struct iovec){ .iov_base = b1, .iov_len = sizeof(b1) };
	iov[1] = (struct iovec){ .iov_base = b2, .iov_len = sizeof(b2) };
	iov[2] = (struct iovec){ .iov_base = b3, .iov_len = sizeof(b3) };
	T("readv 3", readv(fd, iov, 3));
	show_buf("readv b1", b1, sizeof(b1));
	show_buf("readv b2", b2, sizeof(b2));
	show_buf("readv b3", b3, sizeof(b3));
	T("preadv at 198", preadv(fd, iov, 3, 198));
	show_buf("preadv b1", b1, sizeof(b1));
	show_buf("preadv b2", b2, sizeof(b2));
	show_fstat("fstat rw", fd);
	show_fd_content("content rw", fd);
	T("fsync", fsync(fd));
	T("fdatasync", fdatasync(fd));
	T("close", close(fd));
}

static void sec_truncate(void)
{
	int fd;

	line("## truncate");
	make_file("tr", 'q', 100);
	T("truncate grow 10000", truncate("tr", 10000));
	show_stat("stat tr", "tr");
	show_content("content tr", "tr");
	T("truncate shrink 3", truncate("tr", 3));
	show_content("content tr", "tr");
	T("truncate -1", truncate("tr", -1));
	T("truncate dir", truncate(".", 0));
	T("truncate missing", truncate("missing", 0));
	fd = TFD("open tr", open("tr", O_RDWR));
	T("ftruncate grow 5000", ftruncate(fd, 5000));
	T("pwrite at 4998", pwrite(fd, "end", 3, 4998));
	show_fstat("fstat tr", fd);
	T("ftruncate shrink 4999", ftruncate(fd, 4999));
	show_fd_content("content tr", fd);
	T("ftruncate 0", ftruncate(fd, 0));
	show_fstat("fstat tr", fd);
	T("close", close(fd));
	fd = TFD("open tr O_RDONLY", open("tr", O_RDONLY));
	T("ftruncate O_RDONLY", ftruncate(fd, 10));
	T("close", close(fd));
}

static void sec_sparse(void)
{
	char blk[4096];
	int fd;

	line("## sparse");
	memset(blk, 's', sizeof(blk));
	fd = TFD("open sparse", open("sparse", O_RDWR | O_CREAT, 0644));
	T("ftruncate 1MiB", ftruncate(fd, 1 << 20));
	show_fstat("fstat sparse (empty)", fd);
	T("SEEK_DATA 0 (no data)", lseek(fd, 0, SEEK_DATA));
	T("SEEK_HOLE 0 (no data)", lseek(fd, 0, SEEK_HOLE));
	T("pwrite 256KiB", pwrite(fd, blk, sizeof(blk), 256 << 10));
	T("pwrite 768KiB", pwrite(fd, blk, sizeof(blk), 768 << 10));
	T("fsync", fsync(fd));
	show_fstat("fstat sparse", fd);
	T("SEEK_DATA 0", lseek(fd, 0, SEEK_DATA));
	T("SEEK_HOLE 256KiB", lseek(fd, 256 << 10, SEEK_HOLE));
	T("SEEK_DATA 260KiB", lseek(fd, 260 << 10, SEEK_DATA));
	T("SEEK_HOLE 770KiB", lseek(fd, 770 << 10, SEEK_HOLE));
	T("SEEK_DATA 772KiB", lseek(fd, 772 << 10, SEEK_DATA));
	T("SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
	T("SEEK_DATA at size", lseek(fd, 1 << 20, SEEK_DATA));
	T("SEEK_HOLE at size", lseek(fd, 1 << 20, SEEK_HOLE));
	T("SEEK_DATA past size", lseek(fd, 2 << 20, SEEK_DATA));
	T("SEEK_HOLE past size", lseek(fd, 2 << 20, SEEK_HOLE));
	T("pwrite last byte", pwrite(fd, "z", 1, (1 << 20) - 1));
	T("fsync", fsync(fd));
	T("SEEK_DATA 772KiB", lseek(fd, 772 << 10, SEEK_DATA));
	T("SEEK_HOLE 1MiB-1", lseek(fd, (1 << 20) - 1, SEEK_HOLE));
	show_fd_content("content sparse", fd);
	T("close", close(fd));
}

static void sec_fallocate(void)
{
	int fd;

	line("## fallocate");
	fd = TFD("open fa", open("fa", O_RDWR | O_CREAT, 0644));
	T("fallocate 0 0..8192", fallocate(fd, 0, 0, 8192));
	show_fstat("fstat fa", fd);
	T("SEEK_DATA 0 (unwritten)", lseek(fd, 0, SEEK_DATA));
	T("fallocate KEEP_SIZE 8192..16384",
	  fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192));
	show_fstat("fstat fa", fd);
	T("fallocate 0 grow 100..20000", fallocate(fd, 0, 100, 19900));
	show_fstat("fstat fa", fd);
	show_fd_content("content fa", fd);
	T("fallocate len 0", fallocate(fd, 0, 0, 0));
	T("fallocate off -1", fallocate(fd, 0, -1, 10));
	T("close", close(fd));

	make_file("fb", 'A', 16384);
	fd = TFD("open fb", open("fb", O_RDWR));
	T("PUNCH_HOLE|KEEP_SIZE 4096+4096",
	  fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096,
		    4096));
	show_fstat("fstat fb", fd);
	show_fd_content("content fb", fd);
	T("SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
	T("SEEK_DATA 4096", lseek(fd, 4096, SEEK_DATA));
	T("PUNCH_HOLE|KEEP_SIZE unaligned 100+50",
	  fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 50));
	T("PUNCH_HOLE without KEEP_SIZE",
	  fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
	T("ZERO_RANGE 10000+2000",
	  fallocate(fd, FALLOC_FL_ZERO_RANGE, 10000, 2000));
	show_fd_content("content fb", fd);
	T("ZERO_RANGE beyond EOF (grows)",
	  fallocate(fd, FALLOC_FL_ZERO_RANGE, 16000, 1000));
	show_fstat("fstat fb", fd);
	T("ZERO_RANGE|KEEP_SIZE beyond EOF",
	  fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 17000,
		    5000));
	show_fstat("fstat fb", fd);
	T("close", close(fd));
	fd = TFD("open fb O_RDONLY", open("fb", O_RDONLY));
	T("fallocate O_RDONLY", fallocate(fd, 0, 0, 4096));
	T("close", close(fd));

	/* Modes the kernel's FUSE client does not forward: tagged '~'. */
	make_file("fc", 'C', 4096 * 4);
	fd = open("fc", O_RDWR);
	if (pwrite(fd, "1", 1, 4096) != 1 || pwrite(fd, "2", 1, 8192) != 1)
		line("setup fc: %s", ename(errno));
	if (T("~COLLAPSE_RANGE 4096+4096",
	      fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 4096, 4096)) == 0) {
		show_fstat("~fstat fc", fd);
		show_fd_content("~content fc", fd);
	}
	if (T("~INSERT_RANGE 0+8192",
	      fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 8192)) == 0) {
		show_fstat("~fstat fc", fd);
		show_fd_content("~content fc", fd);
	}
	T("~COLLAPSE_RANGE unaligned 100+4096",
	  fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 100, 4096));
	T("~INSERT_RANGE unaligned 4096+10",
	  fallocate(fd, FALLOC_FL_INSERT_RANGE, 4096, 10));
	T("~COLLAPSE_RANGE past EOF",
	  fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 1 << 20, 4096));
	close(fd);
	T("unlink fc", unlink("fc"));
}

static void sec_copy(void)
{
	loff_t in_off, out_off;
	int in, out;

	line("## copy_file_range");
	make_file("cs", 'a', 5000);
	in = open("cs", O_RDWR);
	if (pwrite(in, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 30, 4990) != 30)
		line("setup cs: %s", ename(errno));
	out = TFD("open cd", open("cd", O_RDWR | O_CREAT | O_TRUNC, 0644));
	in_off = 1000;
	out_off = 0;
	T("copy_file_range 4500",
	  copy_file_range(in, &in_off, out, &out_off, 4500, 0));
	line("offsets in=%lld out=%lld", (long long)in_off, (long long)out_off);
	in_off = 0;
	out_off = 10000;
	T("copy_file_range to 10000",
	  copy_file_range(in, &in_off, out, &out_off, 100, 0));
	in_off = 5020;
	T("copy_file_range at EOF",
	  copy_file_range(in, &in_off, out, &out_off, 100, 0));
	T("copy_file_range bad flags",
	  copy_file_range(in, NULL, out, NULL, 10, 1));
	show_fd_content("content cd", out);
	show_fstat("fstat cd", out);
	close(in);
	close(out);
}

static void sec_dirs(void)
{
	line("## mkdir/rmdir");
	T("mkdir d1", mkdir("d1", 0755));
	T("mkdir d1 again", mkdir("d1", 0755));
	T("mkdir f1", mkdir("f1", 0755));
	show_stat("stat d1", "d1");
	make_file("d1/f", 'f', 1);
	T("rmdir d1 (non-empty)", rmdir("d1"));
	T("mkdir d1/sub", mkdir("d1/sub", 0700));
	show_stat("stat d1", "d1");
	show_stat("stat d1/sub", "d1/sub");
	T("rmdir f1 (file)", rmdir("f1"));
	T("rmdir missing", rmdir("missing"));
	T("rmdir .", rmdir("."));
	T("rmdir d1/sub/..", rmdir("d1/sub/.."));
	T("unlink d1 (dir)", unlink("d1"));
	T("unlink missing", unlink("missing"));
	T("rmdir d1/sub", rmdir("d1/sub"));
	show_stat("stat d1", "d1");
	T("mkdir d1/f/x", mkdir("d1/f/x", 0755));
	T("mkdir missing/x", mkdir("missing/x", 0755));
	T("mkdir mode 1777", mkdir("d_sticky", 01777));
	show_stat("stat d_sticky", "d_sticky");
}

static void sec_rename(void)
{
	line("## rename");
	make_file("r1", '1', 10);
	T("rename r1 r2", rename("r1", "r2"));
	show_stat("stat r1", "r1");
	show_content("content r2", "r2");
	make_file("r3", '3', 30);
	T("rename r2 over r3", rename("r2", "r3"));
	show_content("content r3", "r3");
	show_stat("stat r2", "r2");
	T("rename missing", rename("missing", "r9"));
	T("rename r3 r3", rename("r3", "r3"));
	T("mkdir rd1", mkdir("rd1", 0755));
	T("mkdir rd2", mkdir("rd2", 0755));
	make_file("rd2/x", 'x', 1);
	T("rename dir over non-empty dir", rename("rd1", "rd2"));
	T("rename dir over file", rename("rd1", "r3"));
	T("rename file over dir", rename("r3", "rd1"));
	T("mkdir rd3", mkdir("rd3", 0755));
	T("rename dir over empty dir", rename("rd1", "rd3"));
	show_stat("stat rd1", "rd1");
	T("rename dir into itself", rename("rd3", "rd3/sub"));
	T("rename into missing dir", rename("r3", "missing/r3"));
	T("rename file into subdir", rename("r3", "rd2/r3"));
	show_stat("stat rd2", "rd2");
	T("rename subdir file back", rename("rd2/r3", "r3"));

	make_file("ra", 'A', 5);
	make_file("rb", 'B', 7);
	T("renameat2 NOREPLACE existing",
	  renameat2(AT_FDCWD, "ra", AT_FDCWD, "rb", RENAME_NOREPLACE));
	T("renameat2 NOREPLACE new",
	  renameat2(AT_FDCWD, "ra", AT_FDCWD, "rc", RENAME_NOREPLACE));
	T("renameat2 EXCHANGE",
	  renameat2(AT_FDCWD, "rc", AT_FDCWD, "rb", RENAME_EXCHANGE));
	show_content("content rb", "rb");
	show_content("content rc", "rc");
	T("renameat2 EXCHANGE missing",
	  renameat2(AT_FDCWD, "rc", AT_FDCWD, "missing", RENAME_EXCHANGE));
	T("renameat2 EXCHANGE file<->dir",
	  renameat2(AT_FDCWD, "rc", AT_FDCWD, "rd2", RENAME_EXCHANGE));
	show_stat("stat rc (now dir)", "rc");
	show_stat("stat rd2 (now file)", "rd2");
	T("renameat2 EXCHANGE|NOREPLACE",
	  renameat2(AT_FDCWD, "rc", AT_FDCWD, "rd2",
		    RENAME_EXCHANGE | RENAME_NOREPLACE));
	make_file("w1", 'w', 3);
	T("renameat2 WHITEOUT",
	  renameat2(AT_FDCWD, "w1", AT_FDCWD, "w2", RENAME_WHITEOUT));
	show_lstat("stat w1 (whiteout)", "w1");
	show_content("content w2", "w2");
	T("unlink whiteout", unlink("w1"));
	T("renameat2 bad flags",
	  renameat2(AT_FDCWD, "w2", AT_FDCWD, "w3", 1 << 7));
}

static void sec_symlink(void)
{
	char buf[PATH_MAX];
	ssize_t n;
	int fd;

	line("## symlink");
	make_file("target", 't', 11);
	T("symlink relative", symlink("target", "sl_rel"));
	T("symlink absolute", symlink("/nonexistent/abs/target", "sl_abs"));
	T("symlink dangling", symlink("no_such_target", "sl_dangling"));
	T("symlink to dir", symlink("d1", "sl_dir"));
	T("symlink existing", symlink("target", "sl_rel"));
	n = T("readlink sl_rel", readlink("sl_rel", buf, sizeof(buf)));
	show_buf("readlink sl_rel", buf, n);
	n = T("readlink sl_abs", readlink("sl_abs", buf, sizeof(buf)));
	show_buf("readlink sl_abs", buf, n);
	n = T("readlink small buffer", readlink("sl_abs", buf, 4));
	show_buf("readlink small", buf, n);
	T("readlink file", readlink("target", buf, sizeof(buf)));
	T("readlink missing", readlink("missing", buf, sizeof(buf)));
	show_lstat("lstat sl_rel", "sl_rel");
	show_lstat("lstat sl_abs", "sl_abs");
	show_stat("stat sl_rel", "sl_rel");
	show_stat("stat sl_dangling", "sl_dangling");
	show_stat("stat sl_dir", "sl_dir");
	T("open dangling", open("sl_dangling", O_RDONLY));
	T("open sl_rel O_NOFOLLOW", open("sl_rel", O_RDONLY | O_NOFOLLOW));
	fd = TFD("open sl_rel", open("sl_rel", O_RDONLY));
	show_fd_content("content via sl_rel", fd);
	close(fd);
	fd = TFD("open sl_rel O_PATH|O_NOFOLLOW",
		 open("sl_rel", O_PATH | O_NOFOLLOW));
	show_fstat("fstat O_PATH symlink", fd);
	close(fd);
	TFD("open sl_dir/f", fd = open("sl_dir/f", O_RDONLY));
	close(fd);
	T("symlink loop a", symlink("loop_b", "loop_a"));
	T("symlink loop b", symlink("loop_a", "loop_b"));
	T("open loop", open("loop_a", O_RDONLY));
	T("unlink sl_dir", unlink("sl_dir"));
	show_stat("stat d1 after unlink sl_dir", "d1");
	T("rmdir symlink", rmdir("sl_rel"));
	T("mkdir over symlink", mkdir("sl_dangling", 0755));
}

static void sec_link(void)
{
	line("## link");
	make_file("l1", 'L', 8);
	T("link l1 l2", link("l1", "l2"));
	show_stat("stat l1", "l1");
	show_stat("stat l2", "l2");
	T("link l1 l2 again", link("l1", "l2"));
	T("link dir", link("d1", "d1_link"));
	T("link missing", link("missing", "l3"));
	T("link into subdir", link("l1", "d1/l3"));
	show_stat("stat l1", "l1");
	T("unlink l1", unlink("l1"));
	show_stat("stat l2", "l2");
	show_stat("stat d1/l3", "d1/l3");
	T("link symlink (no follow)", link("sl_rel", "sl_rel_link"));
	show_lstat("lstat sl_rel_link", "sl_rel_link");
	T("linkat symlink FOLLOW", linkat(AT_FDCWD, "sl_rel", AT_FDCWD,
					  "target_link", AT_SYMLINK_FOLLOW));
	show_stat("stat target", "target");
}

static void sec_mknod(void)
{
	char buf[8];
	int r, w;

	line("## mknod");
	T("mkfifo", mknod("fifo", S_IFIFO | 0644, 0));
	show_stat("stat fifo", "fifo");
	T("mknod chr 1:3", mknod("chr", S_IFCHR | 0600, makedev(1, 3)));
	show_stat("stat chr", "chr");
	T("mknod blk 7:0", mknod("blk", S_IFBLK | 0600, makedev(7, 0)));
	show_stat("stat blk", "blk");
	T("mknod reg", mknod("mknod_reg", S_IFREG | 0640, 0));
	show_stat("stat mknod_reg", "mknod_reg");
	T("mknod existing", mknod("fifo", S_IFIFO | 0644, 0));
	T("mknod sock", mknod("sock", S_IFSOCK | 0644, 0));
	show_stat("stat sock", "sock");
	r = TFD("open fifo reader", open("fifo", O_RDONLY | O_NONBLOCK));
	w = TFD("open fifo writer", open("fifo", O_WRONLY | O_NONBLOCK));
	T("write fifo", write(w, "pipe", 4));
	T("read fifo", read(r, buf, sizeof(buf)));
	show_buf("fifo data", buf, 4);
	close(r);
	close(w);
	T("open fifo writer, no reader", open("fifo", O_WRONLY | O_NONBLOCK));
	T("unlink chr", unlink("chr"));
	T("unlink blk", unlink("blk"));
}

static void sec_chmod(void)
{
	line("## chmod/chown");
	make_file("cm", 'm', 4);
	T("chmod 4755", chmod("cm", 04755));
	show_stat("stat cm", "cm");
	T("chmod 2755", chmod("cm", 02755));
	show_stat("stat cm", "cm");
	T("chmod 6777", chmod("cm", 06777));
	show_stat("stat cm", "cm");
	T("chmod 0", chmod("cm", 0));
	show_stat("stat cm", "cm");
	T("chmod 1777 dir", chmod("d_sticky", 01777));
	T("chmod 2755 dir", chmod("d1", 02755));
	show_stat("stat d1", "d1");
	T("chmod 0755 dir", chmod("d1", 0755));
	T("chmod missing", chmod("missing", 0644));
	T("fchmodat NOFOLLOW symlink",
	  fchmodat(AT_FDCWD, "sl_abs", 0600, AT_SYMLINK_NOFOLLOW));
	T("chmod 6755", chmod("cm", 06755));
	T("chown 1234:5678", chown("cm", 1234, 5678));
	show_stat("stat cm (setid cleared by chown)", "cm");
	T("chmod 6755", chmod("cm", 06755));
	T("chown -1:-1", chown("cm", -1, -1));
	show_stat("stat cm", "cm");
	T("chown -1:4321", chown("cm", -1, 4321));
	show_stat("stat cm", "cm");
	T("chmod 2745", chmod("cm", 02745));
	T("chown -1:99 (no group exec)", chown("cm", -1, 99));
	show_stat("stat cm", "cm");
	T("lchown symlink", lchown("sl_abs", 2222, 3333));
	show_lstat("lstat sl_abs", "sl_abs");
	T("chown via symlink", chown("sl_rel", 4444, 5555));
	show_stat("stat target", "target");
	show_lstat("lstat sl_rel", "sl_rel");
	T("chown dangling", chown("sl_dangling", 1, 1));
	T("chown dir", chown("d1", 7, 8));
	show_stat("stat d1", "d1");
	T("chown target back", chown("target", 0, 0));
}

static void sec_utimens(void)
{
	struct timespec ts[2];
	int fd;

	line("## utimensat");
	make_file("tm", 't', 1);
	ts[0] = (struct timespec){ .tv_sec = T1_SEC, .tv_nsec = T1_NSEC };
	ts[1] = (struct timespec){ .tv_sec = T2_SEC, .tv_nsec = T2_NSEC };
	T("utimensat explicit", utimensat(AT_FDCWD, "tm", ts, 0));
	show_stat("stat tm", "tm");
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_OMIT;
	T("utimensat NOW/OMIT", utimensat(AT_FDCWD, "tm", ts, 0));
	show_stat("stat tm", "tm");
	ts[0] = (struct timespec){ .tv_sec = T3_SEC, .tv_nsec = T3_NSEC };
	ts[1].tv_nsec = UTIME_NOW;
	T("utimensat explicit/NOW", utimensat(AT_FDCWD, "tm", ts, 0));
	show_stat("stat tm", "tm");
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = (struct timespec){ .tv_sec = T1_SEC, .tv_nsec = T2_NSEC };
	T("utimensat OMIT/explicit", utimensat(AT_FDCWD, "tm", ts, 0));
	show_stat("stat tm", "tm");
	T("utimensat NULL (now)", utimensat(AT_FDCWD, "tm", NULL, 0));
	show_stat("stat tm", "tm");
	ts[0] = (struct timespec){ .tv_sec = T2_SEC, .tv_nsec = 0 };
	ts[1] = (struct timespec){ .tv_sec = T3_SEC, .tv_nsec = 999999999 };
	T("utimensat NOFOLLOW symlink",
	  utimensat(AT_FDCWD, "sl_abs", ts, AT_SYMLINK_NOFOLLOW));
	show_lstat("lstat sl_abs", "sl_abs");
	T("utimensat dir", utimensat(AT_FDCWD, "d1", ts, 0));
	show_stat("stat d1", "d1");
	ts[1].tv_nsec = 1000000000;
	T("utimensat bad nsec", utimensat(AT_FDCWD, "tm", ts, 0));
	fd = open("tm", O_RDWR);
	ts[0] = (struct timespec){ .tv_sec = T1_SEC, .tv_nsec = 5 };
	ts[1] = (struct timespec){ .tv_sec = T1_SEC, .tv_nsec = 6 };
	T("futimens", futimens(fd, ts));
	show_fstat("fstat tm", fd);
	T("write tm", write(fd, "w", 1));
	show_fstat("fstat tm after write", fd);
	close(fd);
}

static void sec_statfs(void)
{
	struct statfs sf;
	int fd;

	line("## statfs");
	if (T("statfs .", statfs(".", &sf)) == 0)
		line("statfs bsize=%ld namelen=%ld", (long)sf.f_bsize,
		     (long)sf.f_namelen);
	fd = open("f1", O_RDONLY);
	if (T("fstatfs f1", fstatfs(fd, &sf)) == 0)
		line("fstatfs bsize=%ld namelen=%ld", (long)sf.f_bsize,
		     (long)sf.f_namelen);
	close(fd);
	T("statfs missing", statfs("missing", &sf));
	/* FSYNCDIR and SYNCFS reach the daemon through a directory fd. */
	fd = open(".", O_RDONLY | O_DIRECTORY);
	T("fsync dir", fsync(fd));
	T("fdatasync dir", fdatasync(fd));
	T("syncfs", syncfs(fd));
	close(fd);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Print a NUL-separated xattr name list, sorted. */
static void show_xattr_list(const char *step, const char *list, ssize_t len)
{
	const char *names[64];
	ssize_t off = 0;
	size_t n = 0;

	while (off < len && n < 64) {
		names[n++] = list + off;
		off += (ssize_t)strlen(list + off) + 1;
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	printf("%s:", step);
	for (size_t i = 0; i < n; i++)
		printf(" %s", names[i]);
	putchar('\n');
}

static void sec_xattr(void)
{
	char big[2000], buf[4096];
	ssize_t n;
	int fd;

	line("## xattr");
	make_file("xa", 'x', 1);
	T("setxattr user.a", setxattr("xa", "user.a", "v1", 2, 0));
	T("setxattr user.a CREATE (exists)",
	  setxattr("xa", "user.a", "v2", 2, XATTR_CREATE));
	T("setxattr user.missing REPLACE",
	  setxattr("xa", "user.missing", "v", 1, XATTR_REPLACE));
	T("setxattr user.a REPLACE",
	  setxattr("xa", "user.a", "value-two", 9, XATTR_REPLACE));
	T("getxattr size 0", getxattr("xa", "user.a", NULL, 0));
	T("getxattr too small", getxattr("xa", "user.a", buf, 3));
	n = T("getxattr", getxattr("xa", "user.a", buf, sizeof(buf)));
	show_buf("getxattr user.a", buf, n);
	T("setxattr user.empty", setxattr("xa", "user.empty", "", 0, 0));
	T("getxattr user.empty", getxattr("xa", "user.empty", buf, 10));
	memset(big, 'B', sizeof(big));
	big[0] = '\0';
	T("setxattr user.big", setxattr("xa", "user.big", big, sizeof(big), 0));
	n = T("getxattr user.big",
	      getxattr("xa", "user.big", buf, sizeof(buf)));
	show_buf("getxattr user.big", buf, n);
	T("listxattr size 0", listxattr("xa", NULL, 0));
	T("listxattr too small", listxattr("xa", buf, 5));
	n = T("listxattr", listxattr("xa", buf, sizeof(buf)));
	if (n >= 0)
		show_xattr_list("listxattr names", buf, n);
	T("removexattr user.a", removexattr("xa", "user.a"));
	T("removexattr user.a again", removexattr("xa", "user.a"));
	T("getxattr user.a removed", getxattr("xa", "user.a", buf, 10));
	T("getxattr missing", getxattr("xa", "user.nope", buf, 10));
	n = T("listxattr", listxattr("xa", buf, sizeof(buf)));
	if (n >= 0)
		show_xattr_list("listxattr names", buf, n);
	T("setxattr bad namespace", setxattr("xa", "bogus.a", "v", 1, 0));
	T("setxattr bad flags", setxattr("xa", "user.f", "v", 1, 4));
	T("setxattr dir", setxattr("d1", "user.d", "dir", 3, 0));
	n = T("getxattr dir", getxattr("d1", "user.d", buf, sizeof(buf)));
	show_buf("getxattr dir", buf, n);
	T("lsetxattr symlink user.*", lsetxattr("sl_abs", "user.s", "v", 1, 0));
	T("setxattr via symlink", setxattr("sl_rel", "user.t", "t", 1, 0));
	n = T("getxattr target", getxattr("target", "user.t", buf, 10));
	show_buf("getxattr target", buf, n);
	T("lgetxattr symlink", lgetxattr("sl_rel", "user.t", buf, 10));
	T("setxattr missing file", setxattr("missing", "user.a", "v", 1, 0));
	fd = open("xa", O_RDONLY);
	T("fsetxattr", fsetxattr(fd, "user.f", "fd", 2, 0));
	n = T("fgetxattr", fgetxattr(fd, "user.f", buf, sizeof(buf)));
	show_buf("fgetxattr", buf, n);
	n = T("flistxattr", flistxattr(fd, buf, sizeof(buf)));
	if (n >= 0)
		show_xattr_list("flistxattr names", buf, n);
	T("fremovexattr", fremovexattr(fd, "user.f"));
	close(fd);
	T("setxattr trusted.a", setxattr("xa", "trusted.a", "tr", 2, 0));
	n = T("getxattr trusted.a", getxattr("xa", "trusted.a", buf, 10));
	show_buf("getxattr trusted.a", buf, n);
	T("removexattr trusted.a", removexattr("xa", "trusted.a"));
}

static void sec_access(void)
{
	line("## access");
	make_file("ac", 'a', 1);
	T("chmod 0644", chmod("ac", 0644));
	T("access R_OK|W_OK", access("ac", R_OK | W_OK));
	T("access X_OK (0644)", access("ac", X_OK));
	T("access F_OK", access("ac", F_OK));
	T("access missing", access("missing", F_OK));
	T("chmod 0", chmod("ac", 0));
	T("access R_OK (0000)", access("ac", R_OK));
	T("access W_OK (0000)", access("ac", W_OK));
	T("chmod 0100", chmod("ac", 0100));
	T("access X_OK (0100)", access("ac", X_OK));
	T("faccessat AT_EACCESS",
	  faccessat(AT_FDCWD, "ac", R_OK | X_OK, AT_EACCESS));
	T("faccessat NOFOLLOW dangling",
	  faccessat(AT_FDCWD, "sl_dangling", F_OK, AT_SYMLINK_NOFOLLOW));
	T("access dangling", access("sl_dangling", F_OK));
	T("access dir X_OK", access("d1", X_OK));
	T("access f1/x", access("f1/x", F_OK));
	T("chmod 0644", chmod("ac", 0644));
}

static void sec_unlink_open(void)
{
	char buf[16];
	int fd;

	line("## unlink while open");
	fd = TFD("open uo", open("uo", O_RDWR | O_CREAT, 0644));
	T("write", write(fd, "before", 6));
	T("unlink uo", unlink("uo"));
	show_stat("stat uo", "uo");
	show_fstat("fstat uo", fd);
	T("pwrite after unlink", pwrite(fd, "after", 5, 6));
	T("pread after unlink", pread(fd, buf, sizeof(buf), 0));
	show_buf("pread content", buf, 11);
	T("ftruncate after unlink", ftruncate(fd, 4));
	show_fstat("fstat uo", fd);
	T("fchmod after unlink", fchmod(fd, 0600));
	show_fstat("fstat uo", fd);
	T("close", close(fd));
	make_file("uo2", 'u', 3);
	T("link uo2 uo3", link("uo2", "uo3"));
	fd = TFD("open uo2", open("uo2", O_RDWR));
	T("unlink uo2", unlink("uo2"));
	show_fstat("fstat uo2", fd);
	T("write", write(fd, "X", 1));
	show_content("content uo3", "uo3");
	T("close", close(fd));
}

static void sec_names(void)
{
	char name[300], path[600];
	struct stat st;
	int fd;

	line("## names");
	memset(name, 'n', 255);
	name[255] = '\0';
	fd = TFD("creat 255", open(name, O_RDWR | O_CREAT, 0644));
	close(fd);
	show_stat("stat 255", name);
	snprintf(path, sizeof(path), "d1/%s", name);
	T("mkdir 255", mkdir(path, 0755));
	memset(name, 'o', 256);
	name[256] = '\0';
	T("creat 256", open(name, O_RDWR | O_CREAT, 0644));
	T("mkdir 256", mkdir(name, 0755));
	T("stat 256", stat(name, &st));
	T("symlink 256", symlink("x", name));
	T("rename to 256", rename("f1", name));
	T("symlink target 4095", ({
		  char *t = malloc(4096);
		  int r_ = -1;
		  if (t) {
			  memset(t, 't', 4095);
			  t[4095] = '\0';
			  r_ = symlink(t, "sl_long");
			  free(t);
		  }
		  r_;
	  }));
	show_lstat("lstat sl_long", "sl_long");
	T("open missing/a/b", open("missing/a/b", O_RDONLY));
	T("open f1/a/b", open("f1/a/b", O_RDONLY));
	T("stat f1/", stat("f1/", &st));
	T("stat d1/", stat("d1/", &st));
	T("stat d1/.", stat("d1/.", &st));
	T("stat d1/../f1", stat("d1/../f1", &st));
	TFD("creat with space",
	    fd = open("name with space", O_RDWR | O_CREAT, 0644));
	close(fd);
	TFD("creat utf-8",
	    fd = open("n\xc3\xa4m\xc3\xa9", O_RDWR | O_CREAT, 0644));
	close(fd);
	TFD("creat high bytes",
	    fd = open("\x80\xfe\xff", O_RDWR | O_CREAT, 0644));
	close(fd);
	TFD("creat newline", fd = open("new\nline", O_RDWR | O_CREAT, 0644));
	close(fd);
	T("stat empty name", stat("", &st));
}

/* Read all names of @dir (without . and ..), sorted; returns the count. */
static size_t list_dir(const char *dir, char ***out)
{
	size_t n = 0, cap = 64;
	char **names = malloc(cap * sizeof(*names));
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d || !names) {
		if (d)
			closedir(d);
		free(names);
		*out = NULL;
		return 0;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **nn = realloc(names, 2 * cap * sizeof(*names));

			if (!nn)
				break;
			names = nn;
			cap *= 2;
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	return n;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static uint64_t hash_names(char **names, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		for (const char *p = names[i];; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
			if (!*p)
				break;
		}
	return h;
}

static void show_names(const char *step, char **names, size_t n)
{
	printf("%s: count=%zu fnv=%016llx", step, n,
	       (unsigned long long)hash_names(names, n));
	for (size_t i = 0; i < n && i < 8; i++) {
		putchar(' ');
		for (const char *p = names[i]; *p; p++)
			put_byte((unsigned char)*p);
	}
	putchar('\n');
}

#define MANY 300

static void sec_readdir(void)
{
	char name[64], first[256] = "", again[256] = "";
	size_t n, count, count2;
	struct dirent *de;
	char **names;
	long pos;
	DIR *d;
	int i;

	line("## readdir");
	T("mkdir many", mkdir("many", 0755));
	for (i = 0; i < MANY; i++) {
		int fd;

		snprintf(name, sizeof(name), "many/e%05d%.*s", i * 7919 % 1000,
			 i % 23, "-------------------------");
		if (i % 10 == 0) {
			if (mkdir(name, 0755) < 0)
				line("setup %s: %s", name, ename(errno));
			continue;
		}
		fd = open(name, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			line("setup %s: %s", name, ename(errno));
		else
			close(fd);
	}
	n = list_dir("many", &names);
	show_names("list many", names, n);
	free_names(names, n);
	show_stat("stat many", "many");

	d = opendir("many");
	if (!d) {
		line("opendir many: %s", ename(errno));
		return;
	}
	for (i = 0; i < 10; i++)
		readdir(d);
	pos = telldir(d);
	de = readdir(d);
	if (de)
		snprintf(first, sizeof(first), "%s", de->d_name);
	for (i = 0; i < 50; i++)
		readdir(d);
	seekdir(d, pos);
	de = readdir(d);
	if (de)
		snprintf(again, sizeof(again), "%s", de->d_name);
	line("seekdir to telldir gives same name: %s",
	     first[0] && !strcmp(first, again) ? "yes" : "no");
	rewinddir(d);
	count = 0;
	while (readdir(d))
		count++;
	line("entries after rewinddir (with . and ..): %zu", count);
	rewinddir(d);
	for (i = 0; i < 200; i++)
		readdir(d);
	pos = telldir(d);
	de = readdir(d);
	snprintf(first, sizeof(first), "%s", de ? de->d_name : "");
	rewinddir(d);
	seekdir(d, pos);
	de = readdir(d);
	snprintf(again, sizeof(again), "%s", de ? de->d_name : "");
	line("seekdir after rewinddir gives same name: %s",
	     first[0] && !strcmp(first, again) ? "yes" : "no");
	closedir(d);

	/* Unlink every other entry, then list again. */
	n = list_dir("many", &names);
	for (size_t k = 0; k < n; k += 2) {
		char p[300];

		snprintf(p, sizeof(p), "many/%s", names[k]);
		if (unlink(p) < 0 && (errno != EISDIR || rmdir(p) < 0))
			line("unlink %s: %s", p, ename(errno));
	}
	free_names(names, n);
	d = opendir("many");
	count = 0;
	while (d && (de = readdir(d)))
		count++;
	line("entries after unlinking half (with . and ..): %zu", count);
	if (d)
		closedir(d);
	n = list_dir("many", &names);
	show_names("list many after unlink", names, n);
	free_names(names, n);

	/* Unlink while a directory stream is open: no name comes twice. */
	d = opendir("many");
	count2 = 0;
	for (i = 0; d && i < 20 && readdir(d); i++)
		;
	n = list_dir("many", &names);
	for (size_t k = 0; k < n; k += 3) {
		char p[300];

		snprintf(p, sizeof(p), "many/%s", names[k]);
		if (unlink(p) < 0 && (errno != EISDIR || rmdir(p) < 0))
			line("unlink %s: %s", p, ename(errno));
	}
	free_names(names, n);
	while (d && (de = readdir(d)))
		count2++;
	line("readdir continues after unlink: %s", count2 > 0 ? "yes" : "no");
	if (d)
		closedir(d);
	n = list_dir("many", &names);
	show_names("list many after second unlink", names, n);
	free_names(names, n);

	n = list_dir(".", &names);
	show_names("list top", names, n);
	free_names(names, n);
	T("mkdir empty", mkdir("empty", 0755));
	n = list_dir("empty", &names);
	line("list empty: %zu", n);
	free_names(names, n);
	T("opendir file", ({
		  DIR *fd_ = opendir("f1");
		  if (fd_)
			  closedir(fd_);
		  fd_ ? 0 : -1;
	  }));
}

static void sec_tmpfile(void)
{
	char proc[64];
	int fd;

	line("## O_TMPFILE");
	fd = TFD("open O_TMPFILE", open(".", O_TMPFILE | O_RDWR, 0600));
	if (fd < 0)
		return;
	T("write", write(fd, "tmp", 3));
	show_fstat("fstat tmpfile", fd);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	T("linkat /proc/self/fd",
	  linkat(AT_FDCWD, proc, AT_FDCWD, "tmplinked", AT_SYMLINK_FOLLOW));
	show_stat("stat tmplinked", "tmplinked");
	show_content("content tmplinked", "tmplinked");
	T("close", close(fd));
	fd = TFD("open O_TMPFILE|O_EXCL",
		 open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	T("linkat O_EXCL tmpfile",
	  linkat(AT_FDCWD, proc, AT_FDCWD, "tmplinked2", AT_SYMLINK_FOLLOW));
	close(fd);
	T("open O_TMPFILE on file", open("f1", O_TMPFILE | O_RDWR, 0600));
	T("open O_TMPFILE O_RDONLY", open(".", O_TMPFILE | O_RDONLY, 0600));
}

static void sec_flock(void)
{
	int a, b;

	line("## flock");
	make_file("fl", 'l', 1);
	a = TFD("open fl a", open("fl", O_RDWR));
	b = TFD("open fl b", open("fl", O_RDWR));
	T("flock a EX", flock(a, LOCK_EX));
	T("flock b EX|NB", flock(b, LOCK_EX | LOCK_NB));
	T("flock b SH|NB", flock(b, LOCK_SH | LOCK_NB));
	T("flock a UN", flock(a, LOCK_UN));
	T("flock b SH", flock(b, LOCK_SH));
	T("flock a SH|NB", flock(a, LOCK_SH | LOCK_NB));
	T("flock a EX|NB", flock(a, LOCK_EX | LOCK_NB));
	T("flock b UN", flock(b, LOCK_UN));
	T("flock a EX|NB (upgrade)", flock(a, LOCK_EX | LOCK_NB));
	T("close a", close(a));
	T("flock b EX|NB after close", flock(b, LOCK_EX | LOCK_NB));
	T("close b", close(b));
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type,
			    .l_whence = SEEK_SET,
			    .l_start = start,
			    .l_len = len };

	return fcntl(fd, cmd, &fl);
}

/* F_SETLK and print; POSIX allows EAGAIN or EACCES for a conflict. */
static void try_setlk(const char *step, int fd, short type, off_t start,
		      off_t len)
{
	int r = setlk(fd, F_SETLK, type, start, len);

	if (r == 0)
		printf("%s = 0\n", step);
	else if (errno == EAGAIN || errno == EACCES)
		printf("%s = -1 EAGAIN|EACCES\n", step);
	else
		printf("%s = -1 %s\n", step, ename(errno));
}

static void getlk(const char *step, int fd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type,
			    .l_whence = SEEK_SET,
			    .l_start = start,
			    .l_len = len };

	if (fcntl(fd, F_GETLK, &fl) < 0) {
		printf("%s: -1 %s\n", step, ename(errno));
		return;
	}
	printf("%s: type=%s", step,
	       fl.l_type == F_UNLCK ? "F_UNLCK" :
	       fl.l_type == F_RDLCK ? "F_RDLCK" :
	       fl.l_type == F_WRLCK ? "F_WRLCK" :
				      "?");
	if (fl.l_type != F_UNLCK)
		printf(" whence=%d start=%lld len=%lld", fl.l_whence,
		       (long long)fl.l_start, (long long)fl.l_len);
	putchar('\n');
}

static void sec_fcntl_locks(void)
{
	int fd, to_child[2], to_parent[2];
	char c = 0;
	pid_t pid;
	int status;

	line("## fcntl locks");
	make_file("lk", 'k', 1000);
	fd = TFD("open lk", open("lk", O_RDWR));
	T("F_SETLK WR 0+100", setlk(fd, F_SETLK, F_WRLCK, 0, 100));
	T("F_SETLK RD 50+10 (own)", setlk(fd, F_SETLK, F_RDLCK, 50, 10));
	T("F_SETLK RD 300+0 (to EOF)", setlk(fd, F_SETLK, F_RDLCK, 300, 0));
	getlk("F_GETLK own", fd, F_WRLCK, 0, 1000);
	if (pipe(to_child) < 0 || pipe(to_parent) < 0) {
		line("pipe: %s", ename(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int cfd = open("lk", O_RDWR);

		close(to_child[1]);
		close(to_parent[0]);
		try_setlk("child F_SETLK WR 60+10", cfd, F_WRLCK, 60, 10);
		try_setlk("child F_SETLK RD 0+1", cfd, F_RDLCK, 0, 1);
		try_setlk("child F_SETLK RD 300+1", cfd, F_RDLCK, 300, 1);
		try_setlk("child F_SETLK WR 5000+1", cfd, F_WRLCK, 5000, 1);
		getlk("child F_GETLK WR 0+200", cfd, F_WRLCK, 0, 200);
		getlk("child F_GETLK RD 0+200", cfd, F_RDLCK, 0, 200);
		getlk("child F_GETLK WR 120+10", cfd, F_WRLCK, 120, 10);
		getlk("child F_GETLK RD 400+10", cfd, F_RDLCK, 400, 10);
		getlk("child F_GETLK WR 400+10", cfd, F_WRLCK, 400, 10);
		T("child F_SETLK RD 400+10",
		  setlk(cfd, F_SETLK, F_RDLCK, 400, 10));
		T("child F_SETLK WR 100+50",
		  setlk(cfd, F_SETLK, F_WRLCK, 100, 50));
		T("child F_SETLK bad type", setlk(cfd, F_SETLK, 42, 0, 1));
		fflush(stdout);
		if (write(to_parent[1], "x", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	if (pid < 0 || read(to_parent[0], &c, 1) != 1) {
		line("child failed");
	} else {
		getlk("F_GETLK child's range", fd, F_RDLCK, 100, 1000);
		try_setlk("F_SETLK WR 120+1 (child holds WR)", fd, F_WRLCK, 120,
			  1);
		try_setlk("F_SETLK RD 120+1 (child holds WR)", fd, F_RDLCK, 120,
			  1);
		try_setlk("F_SETLK WR 405+1 (child holds RD)", fd, F_WRLCK, 405,
			  1);
		try_setlk("F_SETLK RD 405+1 (child holds RD)", fd, F_RDLCK, 405,
			  1);
		T("F_SETLK UN 0+0", setlk(fd, F_SETLK, F_UNLCK, 0, 0));
		if (write(to_child[1], "x", 1) != 1)
			line("pipe write: %s", ename(errno));
	}
	close(to_child[1]);
	close(to_parent[0]);
	if (pid > 0) {
		waitpid(pid, &status, 0);
		line("child exit: %d",
		     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	getlk("F_GETLK after child exit", fd, F_WRLCK, 0, 1000);
	T("F_SETLK WR whole after child exit",
	  setlk(fd, F_SETLK, F_WRLCK, 0, 0));
	T("close", close(fd));
}

/* Unprivileged cases in directories prepared by root (see test script). */
static void sec_user(void)
{
	char p[PATH_MAX], q[PATH_MAX];
	struct timespec ts[2];
	int fd;

#define P(rel) (snprintf(p, sizeof(p), "%s/%s", prep_dir, rel), p)
#define Q(rel) (snprintf(q, sizeof(q), "%s/%s", prep_dir, rel), q)
	line("## unprivileged (uid %u gid %u)", getuid(), getgid());
	T("creat in root 0755 dir", open(P("ro/new"), O_RDWR | O_CREAT, 0644));
	T("mkdir in root 0755 dir", mkdir(P("ro/newdir"), 0755));
	T("unlink in root 0755 dir", unlink(P("ro/file")));
	T("rename in root 0755 dir", rename(P("ro/file"), Q("ro/file2")));
	T("access ro W_OK", access(P("ro"), W_OK));
	T("open root 0644 file O_WRONLY", open(P("ro/file"), O_WRONLY));
	T("open root 0600 file O_RDONLY", open(P("ro/secret"), O_RDONLY));
	T("stat through 0700 dir", ({
		  struct stat st_;
		  stat(P("ro/private/x"), &st_);
	  }));
	T("chmod root's file", chmod(P("ro/file"), 0666));
	T("chown root's file", chown(P("ro/file"), getuid(), getgid()));
	ts[0] = (struct timespec){ .tv_sec = T1_SEC, .tv_nsec = T1_NSEC };
	ts[1] = ts[0];
	T("utimensat explicit on root's 0666 file",
	  utimensat(AT_FDCWD, P("sticky/rootfile"), ts, 0));
	T("utimensat NOW on root's 0666 file",
	  utimensat(AT_FDCWD, P("sticky/rootfile"), NULL, 0));
	T("utimensat NOW on root's 0644 file",
	  utimensat(AT_FDCWD, P("ro/file"), NULL, 0));

	T("unlink root's file in sticky dir", unlink(P("sticky/rootfile")));
	T("rename root's file in sticky dir",
	  rename(P("sticky/rootfile"), Q("sticky/mine")));
	fd = TFD("open root's 0666 file in sticky dir",
		 open(P("sticky/rootfile"), O_WRONLY));
	T("write", write(fd, "user", 4));
	close(fd);
	fd = TFD("creat own file in sticky dir",
		 open(P("sticky/own"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	close(fd);
	show_stat("stat sticky/own", P("sticky/own"));
	T("rename own file in sticky dir",
	  rename(P("sticky/own"), Q("sticky/own2")));
	T("unlink own file in sticky dir", unlink(P("sticky/own2")));

	/* Set-group-ID directory, mode 2775: members of its group create. */
	fd = TFD("creat in sgid 2775 dir",
		 open(P("sgid/file"), O_WRONLY | O_CREAT | O_EXCL, 0664));
	close(fd);
	show_stat("stat sgid/file", P("sgid/file"));
	T("mkdir in sgid 2775 dir", mkdir(P("sgid/dir"), 0775));
	show_stat("stat sgid/dir", P("sgid/dir"));
	fd = TFD("creat 02755 in sgid 2775 dir",
		 open(P("sgid/setgid"), O_WRONLY | O_CREAT | O_EXCL, 02755));
	close(fd);
	show_stat("stat sgid/setgid", P("sgid/setgid"));
	T("chmod g+s own file in sgid 2775 dir", chmod(P("sgid/file"), 02775));
	show_stat("stat sgid/file", P("sgid/file"));

	/* Set-group-ID directory, mode 2777: anyone creates. */
	fd = TFD("creat in sgid 2777 dir",
		 open(P("sgid_open/file"), O_WRONLY | O_CREAT | O_EXCL, 0664));
	close(fd);
	show_stat("stat sgid_open/file", P("sgid_open/file"));
	T("mkdir in sgid 2777 dir", mkdir(P("sgid_open/dir"), 0777));
	show_stat("stat sgid_open/dir", P("sgid_open/dir"));
	fd = TFD("creat 02755 in sgid 2777 dir",
		 open(P("sgid_open/setgid"), O_WRONLY | O_CREAT | O_EXCL,
		      02755));
	close(fd);
	show_stat("stat sgid_open/setgid", P("sgid_open/setgid"));
	T("mkdir 02777 in sgid 2777 dir", mkdir(P("sgid_open/d2"), 02777));
	show_stat("stat sgid_open/d2", P("sgid_open/d2"));
	T("chmod g+s own file, group not mine",
	  chmod(P("sgid_open/file"), 02775));
	show_stat("stat sgid_open/file", P("sgid_open/file"));
	T("chmod u+s own file", chmod(P("sgid_open/file"), 04775));
	show_stat("stat sgid_open/file", P("sgid_open/file"));
	T("chown own file to own gid",
	  chown(P("sgid_open/file"), (uid_t)-1, getgid()));
	show_stat("stat sgid_open/file", P("sgid_open/file"));
	T("chown own file to uid 0", chown(P("sgid_open/file"), 0, (gid_t)-1));
	T("chown own file to group 0",
	  chown(P("sgid_open/file"), (uid_t)-1, 0));

	/* Writing or truncating a set-id file drops S_ISUID and S_ISGID. */
	show_stat("stat setid (before)", P("setid/w"));
	fd = TFD("open root's 06777 file O_WRONLY",
		 open(P("setid/w"), O_WRONLY));
	T("write", write(fd, "written", 7));
	T("close", close(fd));
	show_stat("stat setid/w after write", P("setid/w"));
	show_content("content setid/w", P("setid/w"));
	fd = TFD("open root's 06777 file O_RDWR", open(P("setid/pw"), O_RDWR));
	T("pwrite", pwrite(fd, "pw", 2, 100));
	show_fstat("fstat setid/pw after pwrite", fd);
	T("close", close(fd));
	T("truncate root's 06777 file", truncate(P("setid/t"), 3));
	show_stat("stat setid/t after truncate", P("setid/t"));
	fd = TFD("open root's 06777 file O_TRUNC",
		 open(P("setid/ot"), O_WRONLY | O_TRUNC));
	T("close", close(fd));
	show_stat("stat setid/ot after O_TRUNC", P("setid/ot"));
	fd = TFD("open root's 06777 file O_RDWR", open(P("setid/ft"), O_RDWR));
	T("ftruncate", ftruncate(fd, 1));
	show_fstat("fstat setid/ft after ftruncate", fd);
	T("fallocate", fallocate(fd, 0, 0, 8192));
	show_fstat("fstat setid/ft after fallocate", fd);
	T("close", close(fd));
	fd = TFD("open root's 02767 file O_WRONLY (no group exec)",
		 open(P("setid/gnx"), O_WRONLY));
	T("write", write(fd, "x", 1));
	T("close", close(fd));
	show_stat("stat setid/gnx after write", P("setid/gnx"));
	show_stat("stat setid/r (read only, untouched)", P("setid/r"));
	fd = TFD("open root's 06777 file O_RDONLY",
		 open(P("setid/r"), O_RDONLY));
	T("close", close(fd));
	show_stat("stat setid/r after open", P("setid/r"));
#undef P
#undef Q
}

static void usage(void)
{
	fprintf(stderr, "usage: fsops [-x] [-u PREP] DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char **names;
	size_t n;
	int opt;

	while ((opt = getopt(argc, argv, "xu:")) != -1) {
		switch (opt) {
		case 'x':
			with_xattr = true;
			break;
		case 'u':
			prep_dir = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	if (prep_dir && prep_dir[0] != '/') {
		fprintf(stderr, "fsops: PREP must be absolute\n");
		return 2;
	}
	if (chdir(argv[optind]) < 0) {
		fprintf(stderr, "fsops: chdir %s: %s\n", argv[optind],
			strerror(errno));
		return 2;
	}
	n = list_dir(".", &names);
	free_names(names, n);
	if (n) {
		fprintf(stderr, "fsops: %s is not empty\n", argv[optind]);
		return 2;
	}
	line("# fsops uid=%u gid=%u xattr=%d", getuid(), getgid(), with_xattr);
	show_stat("stat .", ".");
	sec_open();
	sec_rw();
	sec_truncate();
	sec_sparse();
	sec_fallocate();
	sec_copy();
	sec_dirs();
	sec_rename();
	sec_symlink();
	sec_link();
	sec_mknod();
	sec_chmod();
	sec_utimens();
	sec_statfs();
	if (with_xattr)
		sec_xattr();
	sec_access();
	sec_unlink_open();
	sec_names();
	sec_readdir();
	sec_tmpfile();
	sec_flock();
	sec_fcntl_locks();
	if (prep_dir)
		sec_user();
	line("# end");
	return 0;
}
