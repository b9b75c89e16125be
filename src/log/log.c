// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Logging. Lines go to stderr as "vfsd: LEVEL: message" or to syslog
 * (facility LOG_DAEMON, opened before the sandbox so the connection to
 * /dev/log is inherited).
 * The rate limiter is global: a burst of LOG_BURST lines per second, the
 * rest counted; their number is reported in one line ("log rate limit:
 * suppressed N messages") by the first line logged in a later second, or
 * by log_flush_suppressed() at exit.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

#define LOG_BURST 20

static _Atomic int cur_level = LOG_LEVEL_INFO;
static _Atomic bool to_syslog;
static _Atomic long rl_second;
static _Atomic unsigned int rl_count;
static _Atomic unsigned int rl_dropped;

static const char *const level_names[] = {
	[LOG_LEVEL_OFF] = "off",     [LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",   [LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug", [LOG_LEVEL_TRACE] = "trace",
};

void log_set_level(enum log_level level)
{
	atomic_store(&cur_level, level);
}

enum log_level log_get_level(void)
{
	return atomic_load_explicit(&cur_level, memory_order_relaxed);
}

void log_use_syslog(bool on)
{
	if (on)
		openlog("vfsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&to_syslog, on);
}

int log_parse_level(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	}
	if (strcasecmp(s, "warning") == 0)
		return LOG_LEVEL_WARN;
	if (strcasecmp(s, "err") == 0)
		return LOG_LEVEL_ERROR;
	return -1;
}

/* One line, already past the level filter. */
static void emit(enum log_level level, const char *line)
{
	static const int prio[] = {
		[LOG_LEVEL_OFF] = LOG_ERR,	[LOG_LEVEL_ERROR] = LOG_ERR,
		[LOG_LEVEL_WARN] = LOG_WARNING, [LOG_LEVEL_INFO] = LOG_INFO,
		[LOG_LEVEL_DEBUG] = LOG_DEBUG,	[LOG_LEVEL_TRACE] = LOG_DEBUG,
	};

	if (atomic_load(&to_syslog))
		syslog(prio[level], "%s", line);
	else
		fprintf(stderr, "vfsd: %s: %s\n", level_names[level], line);
}

void log_flush_suppressed(void)
{
	unsigned int dropped = atomic_exchange(&rl_dropped, 0);
	char line[128];

	if (!dropped)
		return;
	/* The messages counted passed the level filter: so does this. */
	snprintf(
		line, sizeof(line),
		"log rate limit: suppressed %u messages (at most %d lines a second)",
		dropped, LOG_BURST);
	emit(LOG_LEVEL_WARN, line);
}

/* A new second for the rate limiter: its burst starts again, and what
 * the last one suppressed is reported. */
static void rl_tick(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (atomic_load_explicit(&rl_second, memory_order_relaxed) ==
	    now.tv_sec)
		return;
	if (atomic_exchange(&rl_second, now.tv_sec) != now.tv_sec) {
		atomic_store(&rl_count, 0);
		log_flush_suppressed();
	}
}

static __attribute__((format(printf, 2, 0))) void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];

	if (level == LOG_LEVEL_OFF || level > log_get_level())
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	emit(level, line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level == LOG_LEVEL_OFF || level > log_get_level())
		return;
	if (atomic_load_explicit(&rl_dropped, memory_order_relaxed))
		rl_tick();
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_ratelimited(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level == LOG_LEVEL_OFF || level > log_get_level())
		return;
	rl_tick();
	if (atomic_fetch_add(&rl_count, 1) >= LOG_BURST) {
		atomic_fetch_add(&rl_dropped, 1);
		return;
	}
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
