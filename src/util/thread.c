// SPDX-License-Identifier: GPL-2.0-or-later
/* Threads that serve requests: one signal mask for all of them. */
#include <signal.h>

#include "thread.h"

int thread_start_serving(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t tid;
	int ret;

	pthread_attr_init(&attr);
	if (!t)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	sigdelset(&all, SIGUSR2);
	/* the new thread inherits the mask in force when it is made */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(t ? t : &tid, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return ret;
}
