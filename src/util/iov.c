// SPDX-License-Identifier: GPL-2.0-or-later
#include <string.h>
#include <stdint.h>

#include "iov.h"

size_t iov_size(const struct iovec *iov, int cnt)
{
	size_t total = 0;

	for (int i = 0; i < cnt; i++) {
		if (!size_add(total, iov[i].iov_len, &total))
			return SIZE_MAX;
	}
	return total;
}

/* Walk @iov skipping @off bytes, calling @fn on each piece up to @len. */
static size_t iov_copy(const struct iovec *iov, int cnt, size_t off, void *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;

	for (int i = 0; i < cnt && done < len; i++) {
		size_t seg = iov[i].iov_len;
		size_t n;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		n = seg - off;
		if (n > len - done)
			n = len - done;
		if (to_iov)
			memcpy((char *)iov[i].iov_base + off,
			       (const char *)buf + done, n);
		else
			memcpy((char *)buf + done,
			       (const char *)iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, int cnt, size_t off, void *dst,
		  size_t len)
{
	return iov_copy(iov, cnt, off, dst, len, false);
}

size_t iov_from_buf(const struct iovec *iov, int cnt, size_t off,
		    const void *src, size_t len)
{
	return iov_copy(iov, cnt, off, (void *)src, len, true);
}

int iov_slice(const struct iovec *iov, int cnt, size_t off, size_t len,
	      struct iovec *dst, int dst_max)
{
	int used = 0;

	for (int i = 0; i < cnt && len > 0; i++) {
		size_t seg = iov[i].iov_len;
		size_t n;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		if (used == dst_max)
			return -1;
		n = seg - off;
		if (n > len)
			n = len;
		dst[used].iov_base = (char *)iov[i].iov_base + off;
		dst[used].iov_len = n;
		used++;
		len -= n;
		off = 0;
	}
	return len == 0 ? used : -1;
}
