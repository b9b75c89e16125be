/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside src/sandbox/ only. */
#ifndef VFSD_SANDBOX_I_H
#define VFSD_SANDBOX_I_H

#include <stdbool.h>
#include <unistd.h>

#include "sandbox.h"

/* ASan (with its leak checker) or TSan: their runtimes make system calls
 * of their own and read /proc. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANDBOX_SANITIZER_BUILD 1
#endif
#endif

/*
 * Namespace mode without root: the namespaces are made inside a user
 * namespace of our own (userns.c). Ask before anything has changed: once
 * inside, geteuid() answers in the namespace's ids.
 */
static inline bool sandbox_wants_userns(const struct sandbox_opts *opts)
{
	return opts->mode == SANDBOX_NAMESPACE && !opts->host_mount &&
	       geteuid() != 0;
}

/*
 * userns.c. Each returns 0, or -errno with a one-line @msg (static
 * storage) naming the cause and the way out.
 *
 * sandbox_userns_probe(): rehearse every privileged step in a throwaway
 * child (user namespace and maps, the other namespaces, the mounts).
 * sandbox_userns_enter(): move this process into a new user namespace
 * with the maps of @opts; call single-threaded.
 * sandbox_userns_become(): in the serving child, take the namespace's id
 * 0 when mapped and drop supplementary groups where allowed.
 */
int sandbox_userns_probe(const struct sandbox_opts *opts, const char **msg);
int sandbox_userns_enter(const struct sandbox_opts *opts, const char **msg);
int sandbox_userns_become(const struct sandbox_opts *opts, const char **msg);

#endif /* VFSD_SANDBOX_I_H */
