// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * testutil: small host-side helpers that several test programs share.
 *
 * What belongs here: plain POSIX/Linux code that a test program would
 * otherwise copy (files written and read whole, trees removed, wait
 * statuses worded, what /proc says about a daemon under test, its stderr
 * sent to a log while it starts, the line a check prints), and
 * compatibility definitions the programs need alike. Nothing here knows
 * vhost-user or FUSE: that is the frontend harness (tests/vhost/frontend.h);
 * nothing here counts results: each program keeps its own check() with its
 * counters and per-case accounting.
 *
 * Every function answers 0 (or a count, or a value) on success and
 * -errno on failure, like the rest of vfsd, unless said otherwise.
 */
#ifndef VFSD_TESTUTIL_H
#define VFSD_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* renameat2() flags (<linux/fs.h>), for C libraries without them. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

/* ---- reporting ---- */

/* The line of check number @no of case @name: "ok NO - NAME: MESSAGE" or
 * "not ok NO - NAME: MESSAGE" on stdout, flushed. */
void tu_vcheck_line(bool ok, unsigned no, const char *name, const char *fmt,
		    va_list ap) __attribute__((format(printf, 4, 0)));

/* ---- files ---- */

/* Create or truncate @path (mode 0644) and write @len bytes of @buf in
 * one write(); -EIO when it writes fewer. */
int tu_write_file(const char *path, const void *buf, size_t len);

/* One read() of up to @cap bytes of @path into @buf; *len gets how many
 * (no terminating NUL is added). */
int tu_read_file(const char *path, void *buf, size_t cap, size_t *len);

/*
 * Remove @name under the directory @dfd (AT_FDCWD: a path), with
 * everything below it when it is a directory. Never follows a symlink
 * (one is removed, not its target). Works by fds, so a tree deeper than
 * PATH_MAX goes too: it holds one fd per level being removed, and no
 * per-entry memory for the files of a huge directory. Returns the result
 * of removing @name itself.
 */
int tu_remove_at(int dfd, const char *name);
int tu_remove_tree(const char *path);

/* ---- processes ---- */

/* "exit status N", "killed by signal N (NAME)" or "status 0x..." for a
 * waitpid() status; the text lives until the next call. */
const char *tu_status_str(int status);

/*
 * The process that serves for a daemon started as @pid: its first child
 * when it has one (the namespace sandbox forks the serving process and
 * the parent only waits), else @pid itself (no sandbox, chroot, or a
 * daemon run under valgrind).
 */
pid_t tu_serving_pid(pid_t pid);

/* Entries of the directory @path whose names do not start with '.'. */
int tu_count_dir(const char *path);
/* Open fds of @pid: the entries of /proc/PID/fd. */
int tu_count_fds(pid_t pid);

/*
 * Numbers from /proc/PID/status, read in one pass: for each of the @n
 * @keys ("VmRSS", "CapEff", ...) the line "KEY:" is parsed in @base into
 * @vals at the same index (a unit after the number is ignored); a key
 * that is not there leaves its value as it was. Returns how many keys
 * were found.
 */
int tu_proc_status(pid_t pid, const char *const *keys, unsigned n, int base,
		   unsigned long long *vals);

/*
 * The "flags:" (the open flags, octal in the file) and, when @mnt_id is
 * not NULL, the "mnt_id:" of /proc/PID/fdinfo/@fd (@fd: its name in
 * /proc/PID/fd). -ENODATA when a wanted line is missing.
 */
int tu_fdinfo(pid_t pid, const char *fd, unsigned long *flags,
	      unsigned long *mnt_id);

/* ---- a daemon's command line and log ---- */

/* @argv followed by @extra (NULL: none) in one NULL-terminated array,
 * from malloc (free() only the array: the strings are borrowed); NULL
 * when out of memory. */
char **tu_argv_cat(char *const *argv, const char *const *extra);

/*
 * Send our stderr to @log (created or truncated, mode 0644) until
 * tu_stderr_restore(): a daemon started meanwhile writes its messages
 * there. stdout and stderr are flushed first. Returns the fd that keeps
 * the old stderr, or -errno with nothing changed. With @inherit the kept
 * fd is not close-on-exec, so the daemon holds it too (some programs'
 * recorded fd counts of the daemon include it).
 */
int tu_stderr_to(const char *log, bool inherit);
/* Put back the stderr @saved (from tu_stderr_to()) and close @saved. */
void tu_stderr_restore(int saved);

/* Print the file @log (its first 64 KiB) line by line as "#   daemon:
 * LINE"; nothing when it cannot be read. */
void tu_dump_log(const char *log);

#endif /* VFSD_TESTUTIL_H */
