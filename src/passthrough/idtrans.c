// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --translate-uid/--translate-gid (see idtrans.h). The six rule types:
 *
 *   guest:G:H:C         guest ids G..G+C-1 are host ids H..H+C-1
 *   host:H:G:C          host ids H..H+C-1 appear as guest ids G..G+C-1
 *   squash-guest:G:H:C  guest ids G..G+C-1 all become host id H
 *   squash-host:H:G:C   host ids H..H+C-1 all appear as guest id G
 *   forbid-guest:G:C    guest ids G..G+C-1 may not be used (EPERM)
 *   map:G:H:C           guest and host at once, both directions
 *
 * Deliberate differences from the Rust virtiofsd: a forbidden id gets
 * EPERM (Rust: EIO), and a rule whose count is 0 or whose range wraps or
 * reaches 4294967295 (the "no id" of chown) is refused at start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idtrans.h"

#define ID_NONE 0xffffffffu

/* One decimal id field up to the next ':' (or the end when @last). */
static int parse_u32(const char **p, bool last, uint32_t *out)
{
	unsigned long long v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > 0xffffffffull)
			return -1;
		s++;
	}
	if (last ? *s != '\0' : *s != ':')
		return -1;
	*p = last ? s : s + 1;
	*out = (uint32_t)v;
	return 0;
}

static int range_insert(struct pt_idrange **arr, size_t *n,
			const struct pt_idrange *r, const char *rule, char *why,
			size_t whylen, const char *dir)
{
	struct pt_idrange *a;
	size_t i = 0;

	while (i < *n && (*arr)[i].base < r->base)
		i++;
	/* Neighbours only: the array is sorted and free of overlaps. */
	if ((i > 0 &&
	     (*arr)[i - 1].base + ((*arr)[i - 1].count - 1) >= r->base) ||
	    (i < *n && r->base + (r->count - 1) >= (*arr)[i].base)) {
		const struct pt_idrange *o =
			(i > 0 &&
			 (*arr)[i - 1].base + ((*arr)[i - 1].count - 1) >=
				 r->base) ?
				&(*arr)[i - 1] :
				&(*arr)[i];
		snprintf(why, whylen,
			 "'%s': %s ids %u-%u overlap an earlier rule's %u-%u",
			 rule, dir, r->base, r->base + (r->count - 1), o->base,
			 o->base + (o->count - 1));
		return -EINVAL;
	}
	a = realloc(*arr, (*n + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	memmove(a + i + 1, a + i, (*n - i) * sizeof(*a));
	a[i] = *r;
	*arr = a;
	(*n)++;
	return 0;
}

/* A range base..base+count-1 that stays clear of ID_NONE. */
static bool range_ok(uint32_t base, uint32_t count)
{
	return count > 0 && (uint64_t)base + count - 1 < ID_NONE;
}

int pt_idtrans_add(struct pt_idtrans *t, const char *s, char *why,
		   size_t whylen)
{
	static const struct {
		const char *name;
		bool to_host, to_guest, squash, forbid;
	} types[] = {
		{ "guest", true, false, false, false },
		{ "host", false, true, false, false },
		{ "squash-guest", true, false, true, false },
		{ "squash-host", false, true, true, false },
		{ "forbid-guest", true, false, false, true },
		{ "map", true, true, false, false },
	};
	const char *colon = strchr(s, ':');
	uint32_t src = 0, dst = 0, count = 0;
	struct pt_idrange r;
	const char *p;
	size_t ti;
	int ret;

	for (ti = 0; colon && ti < sizeof(types) / sizeof(types[0]); ti++)
		if (strlen(types[ti].name) == (size_t)(colon - s) &&
		    strncmp(s, types[ti].name, (size_t)(colon - s)) == 0)
			break;
	if (!colon || ti == sizeof(types) / sizeof(types[0])) {
		snprintf(
			why, whylen,
			"'%s': unknown type (guest, host, squash-guest, squash-host, forbid-guest or map)",
			s);
		return -EINVAL;
	}
	p = colon + 1;
	if (types[ti].forbid) {
		if (parse_u32(&p, false, &src) || parse_u32(&p, true, &count)) {
			snprintf(why, whylen,
				 "'%s': expected forbid-guest:BASE:COUNT", s);
			return -EINVAL;
		}
	} else if (parse_u32(&p, false, &src) || parse_u32(&p, false, &dst) ||
		   parse_u32(&p, true, &count)) {
		snprintf(why, whylen, "'%s': expected %s:SOURCE:TARGET:COUNT",
			 s, types[ti].name);
		return -EINVAL;
	}
	if (!range_ok(src, count) ||
	    (!types[ti].forbid && !types[ti].squash && !range_ok(dst, count)) ||
	    (types[ti].squash && dst == ID_NONE)) {
		snprintf(
			why, whylen,
			"'%s': the count must be at least 1 and no range may reach id 4294967295",
			s);
		return -EINVAL;
	}
	r.count = count;
	r.kind = types[ti].forbid ? PT_ID_FORBID :
		 types[ti].squash ? PT_ID_SQUASH :
				    PT_ID_LINEAR;
	if (types[ti].to_host) {
		r.base = src;
		r.target = dst;
		ret = range_insert(&t->to_host, &t->n_to_host, &r, s, why,
				   whylen, "guest");
		if (ret)
			return ret;
	}
	if (types[ti].to_guest) {
		/* host:H:G:C and squash-host name the host ids first; map
		 * names the guest's. */
		bool map = types[ti].to_host;

		r.base = map ? dst : src;
		r.target = map ? src : dst;
		ret = range_insert(&t->to_guest, &t->n_to_guest, &r, s, why,
				   whylen, "host");
		if (ret) {
			if (map) {
				/* Undo the guest half of the map rule. */
				for (size_t i = 0; i < t->n_to_host; i++)
					if (t->to_host[i].base == src) {
						memmove(&t->to_host[i],
							&t->to_host[i + 1],
							(t->n_to_host - i - 1) *
								sizeof(r));
						t->n_to_host--;
						break;
					}
			}
			return ret;
		}
	}
	return 0;
}

void pt_idtrans_free(struct pt_idtrans *t)
{
	free(t->to_host);
	free(t->to_guest);
	memset(t, 0, sizeof(*t));
}

static const struct pt_idrange *find(const struct pt_idrange *a, size_t n,
				     uint32_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (id < a[mid].base)
			hi = mid;
		else if (id - a[mid].base >= a[mid].count)
			lo = mid + 1;
		else
			return &a[mid];
	}
	return NULL;
}

static uint32_t apply(const struct pt_idrange *r, uint32_t id)
{
	return r->kind == PT_ID_SQUASH ? r->target : r->target + (id - r->base);
}

int pt_idtrans_to_host(const struct pt_idtrans *t, uint32_t id, uint32_t *out)
{
	const struct pt_idrange *r = find(t->to_host, t->n_to_host, id);

	if (!r) {
		*out = id;
		return 0;
	}
	if (r->kind == PT_ID_FORBID)
		return -EPERM;
	*out = apply(r, id);
	return 0;
}

uint32_t pt_idtrans_to_guest(const struct pt_idtrans *t, uint32_t id)
{
	const struct pt_idrange *r = find(t->to_guest, t->n_to_guest, id);

	return r ? apply(r, id) : id;
}

/* The ACL xattr layout (<linux/posix_acl_xattr.h>), little-endian. */
#define ACL_XATTR_VERSION 0x0002
#define ACL_USER_TAG 0x02
#define ACL_GROUP_TAG 0x08

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

int pt_idtrans_acl(const struct pt_idtrans *uids, const struct pt_idtrans *gids,
		   void *value, size_t size, bool to_host)
{
	unsigned char *v = value;

	if (size < 4 || (size - 4) % 8 || get_le32(v) != ACL_XATTR_VERSION)
		return -EINVAL;
	for (size_t off = 4; off < size; off += 8) {
		unsigned int tag = (unsigned int)v[off] | (unsigned)v[off + 1]
								  << 8;
		const struct pt_idtrans *t;
		uint32_t id, mapped;

		if (tag == ACL_USER_TAG)
			t = uids;
		else if (tag == ACL_GROUP_TAG)
			t = gids;
		else
			continue;
		id = get_le32(v + off + 4);
		if (to_host) {
			if (pt_idtrans_to_host(t, id, &mapped))
				return -EPERM;
		} else {
			mapped = pt_idtrans_to_guest(t, id);
		}
		put_le32(v + off + 4, mapped);
	}
	return 0;
}
