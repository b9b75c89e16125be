// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --xattrmap: parsing and applying the rules (see xattrmap.h).
 *
 * Semantics, per direction:
 *   client (a guest name g, matched against key):
 *     prefix       host name = prepend + g
 *     ok           host name = g
 *     bad          refused, EPERM (GETXATTR answers ENODATA, ops_xattr.c)
 *     unsupported  refused, EOPNOTSUPP
 *     no match     refused, EPERM
 *   server (a host name h, matched against prepend):
 *     prefix       shown with prepend removed
 *     ok           shown as it is
 *     bad, unsupported, no match: hidden
 * "map:key:prepend" expands to prefix/all/key/prepend, then, with an empty
 * key, bad/all//; with a key, bad/server//key (host names that look like
 * unprefixed guest ones are hidden), bad/client/prepend// (the guest may
 * not name the prefix itself) and ok/all//.
 *
 * Stricter than the peers, refused at start: a separator that is a letter,
 * digit or white space, keys and prefixes longer than a name can be, and a
 * map without a catch-all rule for guest names (client scope, empty key),
 * since a name no rule matches would be refused anyway.
 */
#include <ctype.h>
#include <errno.h>
#include <linux/limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xattrmap.h"

enum xm_type {
	XM_PREFIX,
	XM_OK,
	XM_BAD,
	XM_UNSUPPORTED,
};

#define XM_CLIENT 1u
#define XM_SERVER 2u

struct xm_rule {
	enum xm_type type;
	unsigned int scope;
	char key[XATTR_NAME_MAX + 1];
	char prepend[XATTR_NAME_MAX + 1];
};

struct pt_xattrmap {
	struct xm_rule *rules;
	size_t n;
	size_t cap;
};

static int add_rule(struct pt_xattrmap *m, enum xm_type type,
		    unsigned int scope, const char *key, const char *prepend)
{
	struct xm_rule *r;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct xm_rule *n = realloc(m->rules, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->rules = n;
		m->cap = cap;
	}
	r = &m->rules[m->n++];
	r->type = type;
	r->scope = scope;
	/* Both fit: the parser bounds them to XATTR_NAME_MAX. */
	snprintf(r->key, sizeof(r->key), "%s", key);
	snprintf(r->prepend, sizeof(r->prepend), "%s", prepend);
	return 0;
}

/* One field ending at the separator: copied into @out (NUL-terminated);
 * *@p moves past the separator. -1 when it is missing, -2 when too long. */
static int field(const char **p, char sep, char *out)
{
	const char *end = strchr(*p, sep);
	size_t len;

	if (!end)
		return -1;
	len = (size_t)(end - *p);
	if (len > XATTR_NAME_MAX)
		return -2;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p = end + 1;
	return 0;
}

int pt_xattrmap_parse(const char *spec, struct pt_xattrmap **out, char *why,
		      size_t whylen)
{
	static const struct {
		const char *name;
		int type; /* -1: map */
	} types[] = {
		{ "prefix", XM_PREFIX }, { "ok", XM_OK },
		{ "bad", XM_BAD },	 { "unsupported", XM_UNSUPPORTED },
		{ "map", -1 },
	};
	static const struct {
		const char *name;
		unsigned int scope;
	} scopes[] = {
		{ "client", XM_CLIENT },
		{ "server", XM_SERVER },
		{ "all", XM_CLIENT | XM_SERVER },
	};
	char type[XATTR_NAME_MAX + 1], scope[XATTR_NAME_MAX + 1];
	char key[XATTR_NAME_MAX + 1], prepend[XATTR_NAME_MAX + 1];
	struct pt_xattrmap *m = calloc(1, sizeof(*m));
	const char *p = spec;
	bool catch_all = false;
	unsigned int nrule = 0;
	int ret = -EINVAL;

	if (!m)
		return -ENOMEM;
	for (;;) {
		size_t at;
		unsigned int sc = 0;
		int t = -2;
		char sep;
		int f;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		nrule++;
		at = (size_t)(p - spec) + 1;
		sep = *p++;
		if (isalnum((unsigned char)sep) || (sep & 0x80)) {
			snprintf(
				why, whylen,
				"rule %u at byte %zu: separator '%c' is a letter or digit; use punctuation such as ':'",
				nrule, at, sep);
			goto out_err;
		}
		f = field(&p, sep, type);
		for (size_t i = 0;
		     f == 0 && i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(type, types[i].name) == 0)
				t = types[i].type;
		if (f == 0 && t == -2) {
			snprintf(
				why, whylen,
				"rule %u at byte %zu: unknown type '%s' (prefix, ok, bad, unsupported or map)",
				nrule, at, type);
			goto out_err;
		}
		if (f == 0 && t != -1) {
			f = field(&p, sep, scope);
			for (size_t i = 0;
			     f == 0 && i < sizeof(scopes) / sizeof(scopes[0]);
			     i++)
				if (strcmp(scope, scopes[i].name) == 0)
					sc = scopes[i].scope;
			if (f == 0 && !sc) {
				snprintf(
					why, whylen,
					"rule %u at byte %zu: unknown scope '%s' (client, server or all)",
					nrule, at, scope);
				goto out_err;
			}
		}
		if (f == 0)
			f = field(&p, sep, key);
		if (f == 0)
			f = field(&p, sep, prepend);
		if (f == -1) {
			snprintf(
				why, whylen,
				"rule %u at byte %zu: missing '%c' (a rule is %ctype%cscope%ckey%cprepend%c)",
				nrule, at, sep, sep, sep, sep, sep, sep);
			goto out_err;
		}
		if (f == -2) {
			snprintf(
				why, whylen,
				"rule %u at byte %zu: a field is longer than an xattr name (%d bytes)",
				nrule, at, XATTR_NAME_MAX);
			goto out_err;
		}
		if (t != -1) {
			ret = add_rule(m, (enum xm_type)t, sc, key, prepend);
			if ((sc & XM_CLIENT) && !key[0])
				catch_all = true;
		} else if (!key[0]) {
			ret = add_rule(m, XM_PREFIX, XM_CLIENT | XM_SERVER, "",
				       prepend);
			if (!ret)
				ret = add_rule(m, XM_BAD, XM_CLIENT | XM_SERVER,
					       "", "");
			catch_all = true;
		} else {
			ret = add_rule(m, XM_PREFIX, XM_CLIENT | XM_SERVER, key,
				       prepend);
			if (!ret)
				ret = add_rule(m, XM_BAD, XM_SERVER, "", key);
			if (!ret)
				ret = add_rule(m, XM_BAD, XM_CLIENT, prepend,
					       "");
			if (!ret)
				ret = add_rule(m, XM_OK, XM_CLIENT | XM_SERVER,
					       "", "");
			catch_all = true;
		}
		if (ret)
			goto out_err;
		ret = -EINVAL;
	}
	if (!catch_all) {
		snprintf(
			why, whylen,
			"%s: no rule matches every guest name; end the map with a catch-all such as ':ok:all:::' or ':bad:all:::'",
			nrule ? "after the last rule" : "an empty map");
		goto out_err;
	}
	*out = m;
	return 0;

out_err:
	if (ret == -ENOMEM)
		snprintf(why, whylen, "out of memory");
	pt_xattrmap_free(m);
	return ret;
}

void pt_xattrmap_free(struct pt_xattrmap *m)
{
	if (!m)
		return;
	free(m->rules);
	free(m);
}

size_t pt_xattrmap_rules(const struct pt_xattrmap *m)
{
	return m->n;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int pt_xattrmap_to_host(const struct pt_xattrmap *m, const char *guest,
			char *out, size_t outlen)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct xm_rule *r = &m->rules[i];
		int n;

		if (!(r->scope & XM_CLIENT) || !starts_with(guest, r->key))
			continue;
		switch (r->type) {
		case XM_PREFIX:
			n = snprintf(out, outlen, "%s%s", r->prepend, guest);
			return n < 0 || (size_t)n >= outlen ? -ERANGE : 0;
		case XM_OK:
			n = snprintf(out, outlen, "%s", guest);
			return n < 0 || (size_t)n >= outlen ? -ERANGE : 0;
		case XM_BAD:
			return -EPERM;
		case XM_UNSUPPORTED:
			return -EOPNOTSUPP;
		}
	}
	return -EPERM;
}

int pt_xattrmap_to_guest(const struct pt_xattrmap *m, const char *host,
			 char *out, size_t outlen)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct xm_rule *r = &m->rules[i];
		const char *name = host;
		size_t len;

		if (!(r->scope & XM_SERVER) || !starts_with(host, r->prepend))
			continue;
		switch (r->type) {
		case XM_PREFIX:
			name = host + strlen(r->prepend);
			if (!*name)
				return 0;
			break;
		case XM_OK:
			break;
		case XM_BAD:
		case XM_UNSUPPORTED:
			return 0;
		}
		len = strlen(name);
		if (len >= outlen)
			return -ERANGE;
		memcpy(out, name, len + 1);
		return 1;
	}
	return 0;
}

ssize_t pt_xattrmap_list(const struct pt_xattrmap *m, const char *list,
			 size_t len, char *out, size_t outsize)
{
	char name[XATTR_NAME_MAX + 1];
	size_t need = 0;
	size_t in = 0;

	while (in < len) {
		size_t n = strnlen(list + in, len - in);
		char host[XATTR_NAME_MAX + 1];
		int shown;

		/* The host's names fit a name; anything else is skipped. */
		if (n <= XATTR_NAME_MAX) {
			memcpy(host, list + in, n);
			host[n] = '\0';
			shown = pt_xattrmap_to_guest(m, host, name,
						     sizeof(name));
			if (shown == 1) {
				size_t l = strlen(name) + 1;

				if (outsize && need + l > outsize)
					return -ERANGE;
				if (outsize)
					memcpy(out + need, name, l);
				need += l;
			}
		}
		in += n + 1;
	}
	return (ssize_t)need;
}
