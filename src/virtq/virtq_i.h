/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to src/virtq/: the dirty-logging steps virtq.c takes on its
 * write paths (virtq_log.c). Each is a no-op while logging is off.
 */
#ifndef VFSD_VIRTQ_I_H
#define VFSD_VIRTQ_I_H

#include "virtq/virtq.h"

/* Mark the writable buffers of @elem (all of them: a reply may have
 * touched bytes past the length it reports). */
void virtq_log_elem(struct virtq *vq, const struct virtq_elem *elem);
/* Mark bytes [@off, @off + @len) of the used ring. */
void virtq_log_used(struct virtq *vq, uint64_t off, uint64_t len);

static inline bool virtq_logging(const struct virtq *vq)
{
	return vq->log != NULL;
}

#endif /* VFSD_VIRTQ_I_H */
