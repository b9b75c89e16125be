/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scatter-list helpers shared by the transports and the FUSE server. None
 * of them trusts the lists' lengths to add up: totals saturate instead of
 * wrapping, and every copy stops at the end of the shorter side.
 */
#ifndef VFSD_UTIL_IOV_H
#define VFSD_UTIL_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* Sum of the lengths, saturating at SIZE_MAX. */
size_t iov_size(const struct iovec *iov, int cnt);

/* Copy up to @len bytes starting @off bytes into @iov to @dst; returns the
 * number of bytes copied (less than @len when the list is shorter). */
size_t iov_to_buf(const struct iovec *iov, int cnt, size_t off, void *dst,
		  size_t len);
/* Copy up to @len bytes from @src into @iov starting @off bytes in. */
size_t iov_from_buf(const struct iovec *iov, int cnt, size_t off,
		    const void *src, size_t len);

/*
 * Describe bytes [@off, @off + @len) of @iov in @dst (room for @dst_max
 * entries). Returns the number of entries used, or -1 when the range is
 * not entirely inside @iov or needs more than @dst_max entries.
 */
int iov_slice(const struct iovec *iov, int cnt, size_t off, size_t len,
	      struct iovec *dst, int dst_max);

/* a + b into *res; false on overflow. */
static inline bool size_add(size_t a, size_t b, size_t *res)
{
	return !__builtin_add_overflow(a, b, res);
}

#endif /* VFSD_UTIL_IOV_H */
