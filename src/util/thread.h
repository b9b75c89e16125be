/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Threads that serve requests (src/util/thread.c). */
#ifndef VFSD_UTIL_THREAD_H
#define VFSD_UTIL_THREAD_H

#include <pthread.h>

/*
 * Start @fn(@arg) on a new thread with every signal blocked but SIGUSR2,
 * the signal that interrupts a request waiting in a system call: the
 * daemon's other signals are for its main thread. Detached when @t is
 * NULL, else joinable with its id in *@t. Returns 0 or -errno.
 */
int thread_start_serving(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
