// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * locks: POSIX record locks and flock between processes.
 *
 *   locks DIR
 *
 * Steps, sequenced with pipes (never with sleeps):
 *  1. F_SETLK conflicts between processes; F_GETLK names the holder's range.
 *  2. F_SETLKW blocks while another process holds the lock and gets it once
 *     the holder unlocks; while it is blocked, another process can still
 *     stat, read and write on the same file system.
 *  3. Closing any descriptor of the file releases the process's locks.
 *  4. flock conflicts between processes; a blocked LOCK_EX gets the lock
 *     when the holder unlocks.
 *  5. Locks (POSIX and flock) are released when the holder exits.
 *  6. A process blocked in F_SETLKW that receives a signal (handler without
 *     SA_RESTART) gets EINTR.
 *
 * "Blocked" means: the child has been seen sleeping in the fcntl/flock
 * system call (/proc/PID/syscall). A step that never completes is caught by
 * an alarm (a harness bound, not a timed assertion) and reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Harness bound for any single step. */
#define STEP_ALARM 30

static const char *dir;
static int failures;
static const char *step = "setup";

static void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: [%s] ", ok ? "ok" : "FAIL", step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

static void on_alarm(int sig)
{
	static const char msg[] = "locks: step did not complete within the "
				  "harness bound\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static int open_file(const char *name)
{
	char p[4096];
	int fd;

	path_of(p, sizeof(p), name);
	fd = open(p, O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", p, strerror(errno));
		exit(2);
	}
	return fd;
}

static int lk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type,
			    .l_whence = SEEK_SET,
			    .l_start = start,
			    .l_len = len };

	return fcntl(fd, cmd, &fl);
}

static struct flock getlk(int fd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type,
			    .l_whence = SEEK_SET,
			    .l_start = start,
			    .l_len = len };

	if (fcntl(fd, F_GETLK, &fl) < 0) {
		check(false, "F_GETLK: %s", strerror(errno));
		fl.l_type = -1;
	}
	return fl;
}

static bool conflict_errno(int e)
{
	return e == EAGAIN || e == EACCES;
}

/* One byte over a pipe: the processes' way of saying "done". */
static void say(int fd)
{
	if (write(fd, "x", 1) != 1) {
		perror("pipe write");
		exit(2);
	}
}

static char hear(int fd)
{
	char c = 0;

	if (read(fd, &c, 1) != 1) {
		perror("pipe read (peer died?)");
		exit(2);
	}
	return c;
}

/* Wait until @pid sleeps in system call @nr (polls /proc; harness-bound). */
static void wait_blocked_in(pid_t pid, long nr)
{
	char p[64], buf[128];

	snprintf(p, sizeof(p), "/proc/%d/syscall", (int)pid);
	alarm(STEP_ALARM);
	for (;;) {
		FILE *f = fopen(p, "r");
		long got = -2;

		if (f) {
			if (fgets(buf, sizeof(buf), f))
				got = strtol(buf, NULL, 10);
			fclose(f);
		}
		if (got == nr) {
			char st[64], state = '?';

			snprintf(st, sizeof(st), "/proc/%d/stat", (int)pid);
			f = fopen(st, "r");
			if (f) {
				if (fscanf(f, "%*d %*s %c", &state) != 1)
					state = '?';
				fclose(f);
			}
			if (state == 'S' || state == 'D')
				break;
		}
		usleep(1000);
	}
	alarm(0);
}

static int reap(pid_t pid)
{
	int status;

	alarm(STEP_ALARM);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	alarm(0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void step1_setlk(void)
{
	int p2c[2], c2p[2], fd = open_file("lk1");
	struct flock fl;
	pid_t pid;

	step = "F_SETLK conflict";
	check(lk(fd, F_SETLK, F_WRLCK, 0, 10) == 0, "parent locks WR 0+10");
	if (pipe(p2c) || pipe(c2p))
		exit(2);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		failures = 0;
		int cfd = open_file("lk1");
		int r;

		r = lk(cfd, F_SETLK, F_WRLCK, 5, 10);
		check(r < 0 && conflict_errno(errno),
		      "child WR 5+10 conflicts (%s)",
		      r < 0 ? strerror(errno) : "granted");
		r = lk(cfd, F_SETLK, F_RDLCK, 9, 1);
		check(r < 0 && conflict_errno(errno),
		      "child RD 9+1 conflicts (%s)",
		      r < 0 ? strerror(errno) : "granted");
		fl = getlk(cfd, F_WRLCK, 0, 100);
		check(fl.l_type == F_WRLCK && fl.l_start == 0 &&
			      fl.l_len == 10 && fl.l_pid == getppid(),
		      "child F_GETLK: type %d start %lld len %lld pid %s",
		      fl.l_type, (long long)fl.l_start, (long long)fl.l_len,
		      fl.l_pid == getppid() ? "parent" : "other");
		check(lk(cfd, F_SETLK, F_WRLCK, 10, 10) == 0,
		      "child WR 10+10 (adjacent) granted");
		say(c2p[1]);
		hear(p2c[0]);
		_exit(failures ? 1 : 0);
	}
	hear(c2p[0]);
	fl = getlk(fd, F_RDLCK, 0, 0);
	check(fl.l_type == F_WRLCK && fl.l_start == 10 && fl.l_len == 10 &&
		      fl.l_pid == pid,
	      "parent F_GETLK sees child's WR 10+10 (type %d start %lld "
	      "len %lld, pid %s)",
	      fl.l_type, (long long)fl.l_start, (long long)fl.l_len,
	      fl.l_pid == pid ? "child" : "other");
	say(p2c[1]);
	check(reap(pid) == 0, "child passed");
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
	close(fd);
}

static void step2_setlkw(void)
{
	int c2p[2], fd = open_file("lk2"), other;
	pid_t waiter, bystander;
	struct flock fl;
	char buf[64];
	fd_set rfds;
	struct timeval tv = { 0, 0 };

	step = "F_SETLKW";
	if (pwrite(fd, "payload", 7, 0) != 7)
		exit(2);
	check(lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0, "parent locks whole file");
	if (pipe(c2p))
		exit(2);
	fflush(stdout);
	waiter = fork();
	if (waiter == 0) {
		failures = 0;
		int cfd = open_file("lk2");
		int r;

		alarm(STEP_ALARM * 2);
		r = lk(cfd, F_SETLKW, F_WRLCK, 0, 0);
		check(r == 0, "waiter got the lock (%s)",
		      r < 0 ? strerror(errno) : "ok");
		say(c2p[1]);
		pause(); /* hold the lock until killed */
		_exit(0);
	}
	wait_blocked_in(waiter, SYS_fcntl);
	FD_ZERO(&rfds);
	FD_SET(c2p[0], &rfds);
	check(select(c2p[0] + 1, &rfds, NULL, NULL, &tv) == 0,
	      "waiter is blocked while the lock is held");

	/* The mount keeps serving while a lock request waits. */
	fflush(stdout);
	bystander = fork();
	if (bystander == 0) {
		failures = 0;
		struct stat st;
		char p[4096];
		int bfd;

		alarm(STEP_ALARM);
		path_of(p, sizeof(p), "lk2");
		check(stat(p, &st) == 0 && st.st_size == 7,
		      "bystander stats the locked file");
		bfd = open(p, O_RDONLY);
		check(bfd >= 0 && pread(bfd, buf, 7, 0) == 7 &&
			      !memcmp(buf, "payload", 7),
		      "bystander reads the locked file");
		close(bfd);
		bfd = open_file("bystander");
		check(pwrite(bfd, "x", 1, 0) == 1 && fsync(bfd) == 0,
		      "bystander writes another file");
		close(bfd);
		_exit(failures ? 1 : 0);
	}
	check(reap(bystander) == 0,
	      "bystander finished while the waiter was blocked");
	check(select(c2p[0] + 1, &rfds, NULL, NULL, &tv) == 0,
	      "waiter still blocked");

	check(lk(fd, F_SETLK, F_UNLCK, 0, 0) == 0, "parent unlocks");
	alarm(STEP_ALARM);
	hear(c2p[0]);
	alarm(0);
	fl = getlk(fd, F_RDLCK, 0, 0);
	check(fl.l_type == F_WRLCK && fl.l_pid == waiter,
	      "parent F_GETLK sees the waiter's lock (type %d)", fl.l_type);
	other = open_file("lk2");
	check(lk(other, F_SETLK, F_RDLCK, 0, 1) < 0 && conflict_errno(errno),
	      "parent cannot lock while the waiter holds it");
	close(other);
	kill(waiter, SIGKILL);
	reap(waiter);
	check(lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0,
	      "lock free again after the waiter was killed");
	close(c2p[0]);
	close(c2p[1]);
	close(fd);
}

static void step3_close_releases(void)
{
	int p2c[2], c2p[2], fd = open_file("lk3");
	struct flock fl;
	pid_t pid;

	step = "close releases";
	if (pipe(p2c) || pipe(c2p))
		exit(2);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		failures = 0;
		int a = open_file("lk3"), b = open_file("lk3");

		check(lk(a, F_SETLK, F_WRLCK, 0, 100) == 0,
		      "child locks via fd a");
		say(c2p[1]);
		hear(p2c[0]);
		close(b); /* any descriptor of the file */
		say(c2p[1]);
		hear(p2c[0]);
		close(a);
		_exit(failures ? 1 : 0);
	}
	hear(c2p[0]);
	fl = getlk(fd, F_WRLCK, 0, 0);
	check(fl.l_type == F_WRLCK, "child's lock visible (type %d)",
	      fl.l_type);
	say(p2c[1]);
	hear(c2p[0]);
	fl = getlk(fd, F_WRLCK, 0, 0);
	check(fl.l_type == F_UNLCK, "closing another fd released it (type %d)",
	      fl.l_type);
	check(lk(fd, F_SETLK, F_WRLCK, 0, 100) == 0, "parent can lock");
	say(p2c[1]);
	check(reap(pid) == 0, "child passed");
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
	close(fd);
}

static void step4_flock(void)
{
	int c2p[2], fd = open_file("fl4");
	pid_t pid;

	step = "flock";
	check(flock(fd, LOCK_EX) == 0, "parent flock EX");
	if (pipe(c2p))
		exit(2);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		failures = 0;
		int cfd = open_file("fl4");
		int r;

		r = flock(cfd, LOCK_EX | LOCK_NB);
		check(r < 0 && errno == EWOULDBLOCK, "child EX|NB: %s",
		      r < 0 ? strerror(errno) : "granted");
		r = flock(cfd, LOCK_SH | LOCK_NB);
		check(r < 0 && errno == EWOULDBLOCK, "child SH|NB: %s",
		      r < 0 ? strerror(errno) : "granted");
		say(c2p[1]);
		alarm(STEP_ALARM);
		r = flock(cfd, LOCK_EX);
		check(r == 0, "child's blocking EX granted");
		say(c2p[1]);
		pause();
		_exit(0);
	}
	hear(c2p[0]);
	wait_blocked_in(pid, SYS_flock);
	check(flock(fd, LOCK_UN) == 0, "parent unlocks");
	alarm(STEP_ALARM);
	hear(c2p[0]);
	alarm(0);
	check(flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK,
	      "parent SH|NB refused while the child holds EX");
	kill(pid, SIGKILL);
	reap(pid);
	check(flock(fd, LOCK_EX | LOCK_NB) == 0,
	      "child killed: parent EX|NB granted");
	close(c2p[0]);
	close(c2p[1]);
	close(fd);
}

static void step5_exit_releases(void)
{
	int p2c[2], c2p[2], fd = open_file("lk5"), ffd = open_file("fl5");
	pid_t pid;

	step = "exit releases";
	if (pipe(p2c) || pipe(c2p))
		exit(2);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		failures = 0;
		int a = open_file("lk5"), b = open_file("fl5");

		check(lk(a, F_SETLK, F_WRLCK, 0, 0) == 0, "child POSIX lock");
		check(flock(b, LOCK_EX) == 0, "child flock");
		say(c2p[1]);
		hear(p2c[0]);
		fflush(stdout);
		_exit(failures ? 1 : 0); /* no unlock, no close */
	}
	hear(c2p[0]);
	check(lk(fd, F_SETLK, F_WRLCK, 0, 0) < 0 && conflict_errno(errno),
	      "child's POSIX lock held");
	check(flock(ffd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK,
	      "child's flock held");
	say(p2c[1]);
	check(reap(pid) == 0, "child exited");
	check(lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0,
	      "POSIX lock released at exit");
	check(flock(ffd, LOCK_EX | LOCK_NB) == 0, "flock released at exit");
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
	close(fd);
	close(ffd);
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void step6_interrupt(void)
{
	int c2p[2], fd = open_file("lk6");
	pid_t pid;
	char c;

	step = "F_SETLKW interrupted";
	check(lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0, "parent locks");
	if (pipe(c2p))
		exit(2);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		failures = 0;
		struct sigaction sa = { .sa_handler = on_usr1 };
		int cfd = open_file("lk6");
		int r;

		sigemptyset(&sa.sa_mask);
		sa.sa_flags = 0; /* no SA_RESTART */
		sigaction(SIGUSR1, &sa, NULL);
		alarm(STEP_ALARM);
		r = lk(cfd, F_SETLKW, F_WRLCK, 0, 0);
		check(r < 0 && errno == EINTR, "F_SETLKW returns %s",
		      r < 0 ? strerrorname_np(errno) : "0 (lock granted)");
		/* Not granted behind our back: try again without waiting. */
		r = lk(cfd, F_SETLK, F_WRLCK, 0, 0);
		check(r < 0 && conflict_errno(errno),
		      "lock still held by the parent");
		say(c2p[1]);
		_exit(failures ? 1 : 0);
	}
	wait_blocked_in(pid, SYS_fcntl);
	kill(pid, SIGUSR1);
	alarm(STEP_ALARM);
	c = hear(c2p[0]);
	alarm(0);
	(void)c;
	check(reap(pid) == 0, "child passed");
	check(lk(fd, F_SETLK, F_UNLCK, 0, 0) == 0, "parent unlocks");
	{
		int other = -1;
		pid_t p2;

		fflush(stdout);
		p2 = fork();
		if (p2 == 0) {
			failures = 0;
			other = open_file("lk6");
			check(lk(other, F_SETLK, F_WRLCK, 0, 0) == 0,
			      "another process gets the lock afterwards");
			_exit(failures ? 1 : 0);
		}
		check(reap(p2) == 0, "no stale lock left by the interrupted "
				     "request");
	}
	close(c2p[0]);
	close(c2p[1]);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: locks DIR\n");
		return 2;
	}
	dir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	step1_setlk();
	step2_setlkw();
	step3_close_releases();
	step4_flock();
	step5_exit_releases();
	step6_interrupt();
	if (failures) {
		printf("locks: %d failures\n", failures);
		return 1;
	}
	printf("locks: all steps ok\n");
	return 0;
}
