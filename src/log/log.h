/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging: one line per event on stderr (or syslog), with a level filter.
 * Messages the guest can trigger at will go through log_ratelimited() so a
 * hostile guest cannot flood the host's logs.
 */
#ifndef VFSD_LOG_H
#define VFSD_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_OFF = 0,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Send lines to syslog (LOG_DAEMON) instead of stderr. */
void log_use_syslog(bool on);
/* Parse "error", "warn", "info", "debug", "trace", "off"; -1 if unknown. */
int log_parse_level(const char *s);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* As log_msg, but at most a burst of such lines per second in all; the
 * rest are counted, and their number is reported in one line ("log rate
 * limit: suppressed N messages") by the next line logged in a later
 * second, or by log_flush_suppressed(). For every line a guest, a
 * frontend or any other client can cause at will. */
void log_ratelimited(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Report what the rate limit suppressed and not yet reported (at exit). */
void log_flush_suppressed(void);

static inline bool log_enabled(enum log_level level)
{
	return level <= log_get_level();
}

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                         \
	do {                                                   \
		if (log_enabled(LOG_LEVEL_DEBUG))              \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif /* VFSD_LOG_H */
