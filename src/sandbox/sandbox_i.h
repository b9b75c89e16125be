/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside src/sandbox/ only. */
#ifndef VFSD_SANDBOX_I_H
#define VFSD_SANDBOX_I_H

/* ASan (with its leak checker) or TSan: their runtimes make system calls
 * of their own and read /proc. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANDBOX_SANITIZER_BUILD 1
#endif
#endif

#endif /* VFSD_SANDBOX_I_H */
