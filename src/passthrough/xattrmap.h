/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --xattrmap: rename, hide or refuse extended attribute names between the
 * guest and the host, with the rule language of the QEMU and Rust
 * virtiofsd (docs/ARCHITECTURE.md, "Extended attribute names").
 *
 * A map is a list of rules "<c>type<c>scope<c>key<c>prepend<c>", <c> any
 * punctuation character chosen per rule, or "<c>map<c>key<c>prepend<c>".
 * Names from the guest (GET/SET/REMOVEXATTR) are matched against the key
 * of the rules with client scope, names from the host (LISTXATTR) against
 * the prepend of the rules with server scope; the first match decides.
 * The map is immutable once parsed, so lookups need no lock.
 */
#ifndef VFSD_XATTRMAP_H
#define VFSD_XATTRMAP_H

#include <stddef.h>
#include <sys/types.h>

struct pt_xattrmap;

/*
 * Parse @spec. Returns 0 with *@out set, or -EINVAL with a one-line reason
 * naming the rule and its byte position in @why (or -ENOMEM).
 */
int pt_xattrmap_parse(const char *spec, struct pt_xattrmap **out, char *why,
		      size_t whylen);
void pt_xattrmap_free(struct pt_xattrmap *m);

/* Rules after expansion of the "map" shorthand (tests). */
size_t pt_xattrmap_rules(const struct pt_xattrmap *m);

/*
 * The host name for the guest's @guest into @out: 0, -EPERM (a "bad"
 * rule, or no rule matches), -EOPNOTSUPP ("unsupported"), -ERANGE (the
 * result does not fit @outlen bytes with its NUL).
 */
int pt_xattrmap_to_host(const struct pt_xattrmap *m, const char *guest,
			char *out, size_t outlen);

/*
 * The guest's name for the host's @host into @out: 1 (shown), 0 (hidden:
 * "bad", "unsupported", no match, or nothing left after the prefix), or
 * -ERANGE.
 */
int pt_xattrmap_to_guest(const struct pt_xattrmap *m, const char *host,
			 char *out, size_t outlen);

/*
 * Turn the host's name list @list (@len bytes of NUL-terminated names)
 * into the guest's in @out: the length the guest's list has, whether or
 * not @outsize is 0 (a size probe); -ERANGE when it is larger than a
 * non-zero @outsize.
 */
ssize_t pt_xattrmap_list(const struct pt_xattrmap *m, const char *list,
			 size_t len, char *out, size_t outsize);

#endif /* VFSD_XATTRMAP_H */
