// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Socket activation: a service manager (systemd, systemd-socket-activate,
 * or anything speaking the same protocol) creates the listening socket
 * and starts vfsd with it already open.
 *
 * Flow: config_parse() calls config_listen_fds_take() once. It reads
 * LISTEN_PID and LISTEN_FDS, removes them (and LISTEN_FDNAMES) from the
 * environment whatever they say, so no process vfsd starts later believes
 * the sockets are its own, and decides through config_listen_fds_parse():
 * variables meant for another process (LISTEN_PID is not ours, or unset)
 * are no activation at all; ours must pass exactly one descriptor, fd 3.
 * Whether that fd is a listening AF_UNIX stream socket is checked by
 * main.c with --fd's check, before anything else runs.
 *
 * No libsystemd: the protocol is two decimal variables and a fixed fd
 * number, and sd_listen_fds() would be the only call vfsd made into it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* A decimal number without sign, spaces or leading junk, below @max. */
static int parse_decimal(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long n = 0;

	if (!s || !*s || strlen(s) > 19)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > max)
			return -EINVAL;
	}
	*out = n;
	return 0;
}

int config_listen_fds_parse(const char *listen_pid, const char *listen_fds,
			    long self, int *fd, char *why, size_t why_len)
{
	unsigned long pid, n;

	/* Not set: started by hand, or by a manager that passed nothing. */
	if (!listen_pid)
		return 0;
	if (parse_decimal(listen_pid, INT_MAX, &pid) || pid == 0) {
		snprintf(
			why, why_len,
			"socket activation: LISTEN_PID='%.32s' is not a process id",
			listen_pid);
		return -EINVAL;
	}
	/* Inherited from a parent that was activated itself: not ours. */
	if ((long)pid != self)
		return 0;
	if (!listen_fds || parse_decimal(listen_fds, INT_MAX, &n)) {
		snprintf(
			why, why_len,
			"socket activation: LISTEN_FDS='%.32s' is not a number of file descriptors",
			listen_fds ? listen_fds : "");
		return -EINVAL;
	}
	if (n != 1) {
		snprintf(
			why, why_len,
			"socket activation passed %lu sockets (LISTEN_FDS=%lu); vfsd serves exactly one: give its socket unit one ListenStream=",
			n, n);
		return -EINVAL;
	}
	*fd = CONFIG_LISTEN_FDS_START;
	return 1;
}

int config_listen_fds_take(int *fd, char *why, size_t why_len)
{
	int ret = config_listen_fds_parse(getenv("LISTEN_PID"),
					  getenv("LISTEN_FDS"), (long)getpid(),
					  fd, why, why_len);

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return ret;
}
