/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --translate-uid/--translate-gid: ids translated between the guest and
 * the host without a user namespace, with the rule types of the Rust
 * virtiofsd (docs/ARCHITECTURE.md, "Id translation").
 *
 * Each rule "TYPE:SOURCE:TARGET:COUNT" (forbid-guest: "forbid-guest:
 * BASE:COUNT") adds ranges to one or both directions; ranges of one
 * direction never overlap, so a lookup is a binary search. Ids no range
 * covers pass unchanged. Immutable once built: no lock.
 */
#ifndef VFSD_IDTRANS_H
#define VFSD_IDTRANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pt_idrange {
	uint32_t base; /* first source id */
	uint32_t count;
	uint32_t target; /* first target id, or the one id (squash) */
	uint8_t kind; /* PT_ID_LINEAR, PT_ID_SQUASH, PT_ID_FORBID */
};

enum { PT_ID_LINEAR, PT_ID_SQUASH, PT_ID_FORBID };

struct pt_idtrans {
	struct pt_idrange *to_host; /* sorted by base */
	size_t n_to_host;
	struct pt_idrange *to_guest;
	size_t n_to_guest;
};

/*
 * Add rule @s. Returns 0, or -EINVAL with a one-line reason in @why (bad
 * syntax, count 0, a range past 4294966294 or reaching the invalid id
 * 4294967295, or an overlap with an earlier rule in the same direction),
 * or -ENOMEM.
 */
int pt_idtrans_add(struct pt_idtrans *t, const char *s, char *why,
		   size_t whylen);
void pt_idtrans_free(struct pt_idtrans *t);

static inline bool pt_idtrans_active(const struct pt_idtrans *t)
{
	return t->n_to_host || t->n_to_guest;
}

/* The host id for the guest's @id: 0 with *@out set, or -EPERM when a
 * forbid-guest rule covers it. (uid_t)-1 passes unchanged. */
int pt_idtrans_to_host(const struct pt_idtrans *t, uint32_t id, uint32_t *out);
/* The guest's id for the host's @id. */
uint32_t pt_idtrans_to_guest(const struct pt_idtrans *t, uint32_t id);

/*
 * Rewrite the user and group entries of a POSIX ACL xattr value in place
 * (version 2 header, 8-byte entries): guest to host when @to_host, else
 * host to guest. 0, -EINVAL for a malformed value, -EPERM for a forbidden
 * guest id (the value may then be partly rewritten: do not use it).
 */
int pt_idtrans_acl(const struct pt_idtrans *uids, const struct pt_idtrans *gids,
		   void *value, size_t size, bool to_host);

#endif /* VFSD_IDTRANS_H */
