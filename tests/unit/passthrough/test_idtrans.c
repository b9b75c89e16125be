// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for --translate-uid/--translate-gid (src/passthrough/
 * idtrans.c): every rule type in both directions, range edges, overlaps
 * and bad rules refused with their reason, the invalid id, ACL values
 * rewritten and malformed ones refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "passthrough/idtrans.h"

static void add_ok(struct pt_idtrans *t, const char *rule)
{
	char why[256] = "";

	if (pt_idtrans_add(t, rule, why, sizeof(why)))
		fail_msg("'%s' refused: %s", rule, why);
}

static uint32_t host_of(const struct pt_idtrans *t, uint32_t id)
{
	uint32_t out = 0;

	if (pt_idtrans_to_host(t, id, &out))
		return 0xdeadu;
	return out;
}

static void test_types(void **state)
{
	struct pt_idtrans t = { 0 };

	add_ok(&t, "map:1000:2000:10");
	add_ok(&t, "guest:0:5000:1");
	add_ok(&t, "host:7000:50:5");
	add_ok(&t, "squash-guest:100:65534:100");
	add_ok(&t, "squash-host:8000:99:1000");
	add_ok(&t, "forbid-guest:3000:2");
	/* map: both ways, edges included */
	assert_int_equal(host_of(&t, 1000), 2000);
	assert_int_equal(host_of(&t, 1009), 2009);
	assert_int_equal(host_of(&t, 1010), 1010);
	assert_int_equal(host_of(&t, 999), 999);
	assert_int_equal(pt_idtrans_to_guest(&t, 2000), 1000);
	assert_int_equal(pt_idtrans_to_guest(&t, 2009), 1009);
	assert_int_equal(pt_idtrans_to_guest(&t, 2010), 2010);
	/* guest: one way only */
	assert_int_equal(host_of(&t, 0), 5000);
	assert_int_equal(pt_idtrans_to_guest(&t, 5000), 5000);
	/* host: the other way only */
	assert_int_equal(pt_idtrans_to_guest(&t, 7004), 54);
	assert_int_equal(host_of(&t, 54), 54);
	/* squashes */
	assert_int_equal(host_of(&t, 100), 65534);
	assert_int_equal(host_of(&t, 199), 65534);
	assert_int_equal(host_of(&t, 200), 200);
	assert_int_equal(pt_idtrans_to_guest(&t, 8999), 99);
	/* forbidden */
	assert_int_equal(host_of(&t, 3000), 0xdeadu);
	assert_int_equal(host_of(&t, 3001), 0xdeadu);
	assert_int_equal(host_of(&t, 3002), 3002);
	/* The invalid id never becomes a valid one. */
	assert_int_equal(host_of(&t, 0xffffffffu), 0xffffffffu);
	assert_true(pt_idtrans_active(&t));
	pt_idtrans_free(&t);
	assert_false(pt_idtrans_active(&t));
}

static void test_big_ranges(void **state)
{
	struct pt_idtrans t = { 0 };

	add_ok(&t, "map:0:100000:65536");
	add_ok(&t, "guest:65536:4294900000:67295");
	assert_int_equal(host_of(&t, 65535), 165535);
	assert_int_equal(host_of(&t, 65536 + 67294), 4294967294u);
	pt_idtrans_free(&t);
}

static void test_errors(void **state)
{
	static const struct {
		const char *first, *rule, *needle;
	} cases[] = {
		{ NULL, "", "unknown type" },
		{ NULL, "mapp:1:2:3", "unknown type" },
		{ NULL, "map", "unknown type" },
		{ NULL, "map:1:2", "expected map:SOURCE:TARGET:COUNT" },
		{ NULL, "map:1:2:3:4", "expected map:SOURCE" },
		{ NULL, "map:a:2:3", "expected map" },
		{ NULL, "map:-1:2:3", "expected map" },
		{ NULL, "map:4294967296:2:3", "expected map" },
		{ NULL, "forbid-guest:1:2:3",
		  "expected forbid-guest:BASE:COUNT" },
		{ NULL, "map:0:1000:0", "count must be at least 1" },
		{ NULL, "guest:4294967290:0:6", "reach id 4294967295" },
		{ NULL, "guest:0:4294967290:6", "reach id 4294967295" },
		{ NULL, "squash-guest:0:4294967295:6", "reach id 4294967295" },
		{ "map:0:1000:10", "guest:9:5:1",
		  "guest ids 9-9 overlap an earlier rule's 0-9" },
		{ "map:0:1000:10", "host:1005:0:100",
		  "host ids 1005-1104 overlap an earlier rule's 1000-1009" },
		{ "forbid-guest:10:10", "squash-guest:0:7:11", "overlap" },
	};
	char why[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pt_idtrans t = { 0 };

		if (cases[i].first)
			add_ok(&t, cases[i].first);
		assert_int_equal(
			pt_idtrans_add(&t, cases[i].rule, why, sizeof(why)),
			-EINVAL);
		if (!strstr(why, cases[i].needle))
			fail_msg("'%s': '%s' lacks '%s'", cases[i].rule, why,
				 cases[i].needle);
		pt_idtrans_free(&t);
	}
	/* A refused map rule leaves no half behind. */
	{
		struct pt_idtrans t = { 0 };

		add_ok(&t, "host:2000:0:1");
		assert_int_equal(
			pt_idtrans_add(&t, "map:5:2000:1", why, sizeof(why)),
			-EINVAL);
		assert_int_equal(host_of(&t, 5), 5);
		pt_idtrans_free(&t);
	}
}

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4); /* x86: little-endian, as the format */
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void test_acl(void **state)
{
	struct pt_idtrans u = { 0 }, g = { 0 };
	unsigned char acl[4 + 5 * 8];
	/* tags: USER_OBJ 1, USER 2, GROUP_OBJ 4, GROUP 8, MASK 0x10 */
	static const uint16_t tags[5] = { 1, 2, 4, 8, 0x10 };
	static const uint32_t ids[5] = { 0xffffffffu, 1003, 0xffffffffu, 1004,
					 0xffffffffu };

	add_ok(&u, "map:1000:2000:10");
	add_ok(&g, "map:1000:3000:10");
	add_ok(&u, "forbid-guest:5000:1");
	put32(acl, 2);
	for (int i = 0; i < 5; i++) {
		memcpy(acl + 4 + 8 * i, &tags[i], 2);
		memset(acl + 6 + 8 * i, 6, 2);
		put32(acl + 8 + 8 * i, ids[i]);
	}
	assert_int_equal(pt_idtrans_acl(&u, &g, acl, sizeof(acl), true), 0);
	assert_int_equal(get32(acl + 8 + 8), 2003); /* user entry */
	assert_int_equal(get32(acl + 8 + 24), 3004); /* group entry */
	assert_int_equal(get32(acl + 8), 0xffffffffu); /* others untouched */
	assert_int_equal(pt_idtrans_acl(&u, &g, acl, sizeof(acl), false), 0);
	assert_int_equal(get32(acl + 8 + 8), 1003);
	assert_int_equal(get32(acl + 8 + 24), 1004);
	/* malformed: short, ragged, wrong version */
	assert_int_equal(pt_idtrans_acl(&u, &g, acl, 3, true), -EINVAL);
	assert_int_equal(pt_idtrans_acl(&u, &g, acl, sizeof(acl) - 1, true),
			 -EINVAL);
	put32(acl, 1);
	assert_int_equal(pt_idtrans_acl(&u, &g, acl, sizeof(acl), true),
			 -EINVAL);
	put32(acl, 2);
	/* the header alone is a valid (empty) ACL */
	assert_int_equal(pt_idtrans_acl(&u, &g, acl, 4, true), 0);
	/* a forbidden user entry */
	put32(acl + 8 + 8, 5000);
	assert_int_equal(pt_idtrans_acl(&u, &g, acl, sizeof(acl), true),
			 -EPERM);
	pt_idtrans_free(&u);
	pt_idtrans_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_big_ranges),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_acl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
