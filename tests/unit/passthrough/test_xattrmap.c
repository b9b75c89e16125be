// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for --xattrmap (src/passthrough/xattrmap.c): the peers'
 * documented examples evaluated in both directions, the "map" shorthand,
 * every parse error with its message, list filtering with size probes and
 * ERANGE.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "passthrough/xattrmap.h"

static struct pt_xattrmap *parse_ok(const char *spec)
{
	struct pt_xattrmap *m = NULL;
	char why[256] = "";

	if (pt_xattrmap_parse(spec, &m, why, sizeof(why)))
		fail_msg("'%s' refused: %s", spec, why);
	return m;
}

/* Guest name -> host name, or the error as a string. */
static const char *host_of(const struct pt_xattrmap *m, const char *guest)
{
	static char out[300];
	int ret = pt_xattrmap_to_host(m, guest, out, sizeof(out));

	switch (ret) {
	case 0:
		return out;
	case -EPERM:
		return "EPERM";
	case -EOPNOTSUPP:
		return "EOPNOTSUPP";
	case -ERANGE:
		return "ERANGE";
	}
	return "?";
}

/* Host name -> guest name, or "(hidden)". */
static const char *guest_of(const struct pt_xattrmap *m, const char *host)
{
	static char out[300];
	int ret = pt_xattrmap_to_guest(m, host, out, sizeof(out));

	if (ret == 1)
		return out;
	return ret == 0 ? "(hidden)" : "ERANGE";
}

/* Example 1 of the peers' documentation: everything under user.virtiofs. */
static void test_prefix_all(void **state)
{
	struct pt_xattrmap *m =
		parse_ok(":prefix:all::user.virtiofs.::bad:all:::");

	assert_string_equal(host_of(m, "trusted.overlay.x"),
			    "user.virtiofs.trusted.overlay.x");
	assert_string_equal(host_of(m, "security.selinux"),
			    "user.virtiofs.security.selinux");
	assert_string_equal(guest_of(m, "user.virtiofs.security.selinux"),
			    "security.selinux");
	/* The host's own names are hidden. */
	assert_string_equal(guest_of(m, "security.selinux"), "(hidden)");
	assert_string_equal(guest_of(m, "user.other"), "(hidden)");
	pt_xattrmap_free(m);
}

/* Example 2: trusted. prefixed, the rest through, '/' and new lines. */
static void test_trusted_only(void **state)
{
	struct pt_xattrmap *m =
		parse_ok("/prefix/all/trusted./user.virtiofs./\n"
			 "    /bad/server//trusted./\n"
			 "    /bad/client/user.virtiofs.//\n"
			 "    /ok/all///");

	assert_string_equal(host_of(m, "trusted.x"), "user.virtiofs.trusted.x");
	assert_string_equal(host_of(m, "user.plain"), "user.plain");
	assert_string_equal(host_of(m, "user.virtiofs.trusted.x"), "EPERM");
	assert_string_equal(guest_of(m, "user.virtiofs.trusted.x"),
			    "trusted.x");
	assert_string_equal(guest_of(m, "trusted.host"), "(hidden)");
	assert_string_equal(guest_of(m, "user.plain"), "user.plain");
	pt_xattrmap_free(m);
}

static void test_unsupported(void **state)
{
	struct pt_xattrmap *m = parse_ok(
		"/unsupported/all/security.selinux/security.selinux//ok/all///");

	assert_string_equal(host_of(m, "security.selinux"), "EOPNOTSUPP");
	assert_string_equal(guest_of(m, "security.selinux"), "(hidden)");
	assert_string_equal(host_of(m, "user.a"), "user.a");
	pt_xattrmap_free(m);
}

static void test_map_shorthand(void **state)
{
	struct pt_xattrmap *m = parse_ok(":map::user.virtiofs.:");

	assert_int_equal(pt_xattrmap_rules(m), 2);
	assert_string_equal(host_of(m, "trusted.a"), "user.virtiofs.trusted.a");
	assert_string_equal(guest_of(m, "user.virtiofs.trusted.a"),
			    "trusted.a");
	assert_string_equal(guest_of(m, "user.a"), "(hidden)");
	pt_xattrmap_free(m);

	m = parse_ok(" :map:trusted.:user.virtiofs.: ");
	assert_int_equal(pt_xattrmap_rules(m), 4);
	assert_string_equal(host_of(m, "trusted.a"), "user.virtiofs.trusted.a");
	assert_string_equal(host_of(m, "user.virtiofs.x"), "EPERM");
	assert_string_equal(host_of(m, "user.a"), "user.a");
	assert_string_equal(guest_of(m, "user.virtiofs.trusted.a"),
			    "trusted.a");
	assert_string_equal(guest_of(m, "trusted.host"), "(hidden)");
	assert_string_equal(guest_of(m, "user.a"), "user.a");
	/* Nothing left once the prefix is gone: hidden. */
	assert_string_equal(guest_of(m, "user.virtiofs."), "(hidden)");
	pt_xattrmap_free(m);
}

static void test_client_server_scopes(void **state)
{
	struct pt_xattrmap *m =
		parse_ok(":bad:client:security.:: :ok:server::security.: "
			 ":ok:client::: :bad:server:::");

	assert_string_equal(host_of(m, "security.x"), "EPERM");
	assert_string_equal(host_of(m, "user.x"), "user.x");
	assert_string_equal(guest_of(m, "security.x"), "security.x");
	assert_string_equal(guest_of(m, "user.x"), "(hidden)");
	pt_xattrmap_free(m);
}

static void test_lengths(void **state)
{
	struct pt_xattrmap *m = parse_ok(":map::user.virtiofs.:");
	char name[256];
	char out[300];

	memset(name, 'a', 255);
	memcpy(name, "user.", 5);
	name[255] = '\0';
	/* 14 + 255 bytes: longer than a name, but that is the host's call
	 * to refuse; the buffer bounds it here. */
	assert_int_equal(pt_xattrmap_to_host(m, name, out, 20), -ERANGE);
	assert_int_equal(pt_xattrmap_to_host(m, "user.a", out, 21), 0);
	assert_int_equal(pt_xattrmap_to_host(m, "user.a", out, 20), -ERANGE);
	assert_int_equal(
		pt_xattrmap_to_guest(m, "user.virtiofs.user.abc", out, 4),
		-ERANGE);
	pt_xattrmap_free(m);
}

static void test_list(void **state)
{
	static const char host[] = "user.virtiofs.trusted.a\0security.selinux\0"
				   "user.virtiofs.user.b\0user.c";
	struct pt_xattrmap *m = parse_ok(":map::user.virtiofs.:");
	static const char want[] = "trusted.a\0user.b";
	char out[64];

	assert_int_equal(pt_xattrmap_list(m, host, sizeof(host), NULL, 0),
			 sizeof(want));
	assert_int_equal(
		pt_xattrmap_list(m, host, sizeof(host), out, sizeof(out)),
		sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(
		pt_xattrmap_list(m, host, sizeof(host), out, sizeof(want) - 1),
		-ERANGE);
	/* A list without its final NUL still ends its last name. */
	assert_int_equal(
		pt_xattrmap_list(m, "user.virtiofs.x", 15, out, sizeof(out)),
		2);
	assert_string_equal(out, "x");
	assert_int_equal(pt_xattrmap_list(m, "", 0, out, sizeof(out)), 0);
	pt_xattrmap_free(m);
}

static void test_errors(void **state)
{
	static const struct {
		const char *spec;
		const char *needle;
	} cases[] = {
		{ "", "an empty map: no rule matches every guest name" },
		{ "   ", "an empty map" },
		{ ":ok:all:user.::",
		  "after the last rule: no rule matches every guest name" },
		{ ":ok:server:::", "no rule matches every guest name" },
		{ ":prefx:all:::", "rule 1 at byte 1: unknown type 'prefx'" },
		{ ":ok:all::: :ok:everyone:::",
		  "rule 2 at byte 12: unknown scope 'everyone'" },
		{ ":ok:all::", "rule 1 at byte 1: missing ':'" },
		{ ":ok:all:::/bad/all//", "rule 2 at byte 11: missing '/'" },
		{ ":map::", "missing ':'" },
		{ "xokxallxxx", "separator 'x' is a letter or digit" },
		{ "1ok1all111", "separator '1'" },
		{ ":ok", "missing ':'" },
	};
	char why[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pt_xattrmap *m = NULL;

		why[0] = '\0';
		assert_int_equal(
			pt_xattrmap_parse(cases[i].spec, &m, why, sizeof(why)),
			-EINVAL);
		assert_null(m);
		if (!strstr(why, cases[i].needle))
			fail_msg("'%s': '%s' lacks '%s'", cases[i].spec, why,
				 cases[i].needle);
	}

	/* A key longer than any name. */
	{
		char spec[600];
		struct pt_xattrmap *m = NULL;

		memset(spec, 'k', sizeof(spec));
		memcpy(spec, ":ok:all:", 8);
		memcpy(spec + 8 + 300, ":::", 4);
		assert_int_equal(pt_xattrmap_parse(spec, &m, why, sizeof(why)),
				 -EINVAL);
		assert_non_null(strstr(why, "longer than an xattr name"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_all),
		cmocka_unit_test(test_trusted_only),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_map_shorthand),
		cmocka_unit_test(test_client_server_scopes),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
