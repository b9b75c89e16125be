// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device-state format (src/util/dstate.c): what a source writes
 * reads back field for field, and anything else a hostile source could
 * send — every truncation, every extension, every flipped byte, records
 * that run past the end, counts that do not add up, fields read past
 * their record — is refused with a reason and never read out of bounds
 * (the tests run under ASan in the sanitizer build).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/dstate.h"

/* A state of three records: two critical ones with every field kind,
 * one skippable. */
static void *sample(size_t *len)
{
	static const uint8_t blob[5] = { 1, 2, 3, 4, 5 };
	struct dstate_buf w;
	void *out = NULL;

	dstate_init(&w);
	dstate_rec_begin(&w, 0x0201, true);
	dstate_put_u8(&w, 0xab);
	dstate_put_u16(&w, 0xbeef);
	dstate_put_u32(&w, 0xdeadbeef);
	dstate_put_u64(&w, 0x0123456789abcdefULL);
	dstate_put_str(&w, "dir/sub/file");
	dstate_put_blob(&w, blob, sizeof(blob));
	dstate_rec_end(&w);
	dstate_rec_begin(&w, 0x0001, true);
	dstate_put_u64(&w, 42);
	/* dstate_rec_begin() closes the open record itself. */
	dstate_rec_begin(&w, 0x02f0, false);
	dstate_put_str(&w, "");
	assert_int_equal(dstate_finish(&w, &out, len), 0);
	return out;
}

static void test_roundtrip(void **state)
{
	size_t len, pos = 0, n;
	uint8_t *st = sample(&len);
	struct dstate_rec rec;
	struct dstate_cur c;
	struct dstate_in in;
	char why[128], str[32];
	uint8_t blob[8];

	assert_int_equal(dstate_open(&in, st, len, why, sizeof(why)), 0);
	assert_int_equal(in.nrec, 3);
	assert_true(dstate_next(&in, &pos, &rec));
	assert_int_equal(rec.type, 0x0201);
	assert_int_equal(rec.flags, DSTATE_REC_CRITICAL);
	assert_int_equal(DSTATE_LAYER(rec.type), DSTATE_LAYER_FS);
	dstate_cur_init(&c, &rec);
	assert_int_equal(dstate_get_u8(&c), 0xab);
	assert_int_equal(dstate_get_u16(&c), 0xbeef);
	assert_int_equal(dstate_get_u32(&c), 0xdeadbeef);
	assert_true(dstate_get_u64(&c) == 0x0123456789abcdefULL);
	dstate_get_str(&c, str, sizeof(str));
	assert_string_equal(str, "dir/sub/file");
	dstate_get_blob(&c, blob, sizeof(blob), &n);
	assert_int_equal(n, 5);
	assert_int_equal(blob[4], 5);
	assert_false(c.bad);
	/* A field a later format appended: the default. */
	assert_int_equal(dstate_get_u8_or(&c, 7), 7);
	assert_true(dstate_get_u64_or(&c, 99) == 99);
	assert_false(c.bad);
	/* Past the end: zeros and ->bad. */
	assert_int_equal(dstate_get_u32(&c), 0);
	assert_true(c.bad);

	assert_true(dstate_next(&in, &pos, &rec));
	assert_int_equal(rec.type, 0x0001);
	dstate_cur_init(&c, &rec);
	assert_int_equal(dstate_get_u64(&c), 42);
	assert_true(dstate_next(&in, &pos, &rec));
	assert_int_equal(rec.type, 0x02f0);
	assert_int_equal(rec.flags, 0);
	assert_false(dstate_next(&in, &pos, &rec));
	free(st);
}

static void test_every_truncation(void **state)
{
	size_t len;
	uint8_t *st = sample(&len);
	struct dstate_in in;
	char why[128];

	for (size_t n = 0; n < len; n++) {
		why[0] = '\0';
		assert_int_not_equal(dstate_open(&in, st, n, why, sizeof(why)),
				     0);
		assert_non_null(strstr(why, n < DSTATE_HDR_LEN ? "truncated: " :
								 "truncated"));
	}
	free(st);
}

static void test_extended(void **state)
{
	size_t len;
	uint8_t *st = sample(&len);
	uint8_t *big = calloc(1, len + 100);
	struct dstate_in in;
	char why[128];

	memcpy(big, st, len);
	for (size_t extra = 1; extra < 100; extra++) {
		assert_int_not_equal(
			dstate_open(&in, big, len + extra, why, sizeof(why)),
			0);
		assert_non_null(strstr(why, "oversized"));
	}
	free(big);
	free(st);
}

static void test_every_byte_flipped(void **state)
{
	size_t len;
	uint8_t *st = sample(&len);
	struct dstate_in in;
	char why[128];

	for (size_t i = 0; i < len; i++) {
		for (unsigned int bit = 0; bit < 8; bit++) {
			st[i] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(
				dstate_open(&in, st, len, why, sizeof(why)), 0);
			st[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(dstate_open(&in, st, len, why, sizeof(why)), 0);
	free(st);
}

/* Fix length, CRC and count after changing the body by hand. */
static void reseal(uint8_t *st, size_t len, uint32_t nrec)
{
	uint32_t crc =
		dstate_crc32c(0, st + DSTATE_HDR_LEN, len - DSTATE_HDR_LEN);

	for (int i = 0; i < 8; i++)
		st[16 + i] =
			(uint8_t)((uint64_t)(len - DSTATE_HDR_LEN) >> (8 * i));
	for (int i = 0; i < 4; i++) {
		st[24 + i] = (uint8_t)(crc >> (8 * i));
		st[28 + i] = (uint8_t)(nrec >> (8 * i));
	}
}

static void test_framing(void **state)
{
	size_t len;
	uint8_t *st = sample(&len);
	struct dstate_in in;
	char why[128];

	/* A record that claims more than is there (CRC made right). */
	st[DSTATE_HDR_LEN + 4] = 0xff;
	st[DSTATE_HDR_LEN + 5] = 0xff;
	reseal(st, len, 3);
	assert_int_equal(dstate_open(&in, st, len, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "run past the end"));
	free(st);

	/* A count that does not add up. */
	st = sample(&len);
	reseal(st, len, 4);
	assert_int_equal(dstate_open(&in, st, len, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "3 records, the header says 4"));
	free(st);

	/* A record header cut short inside the body. */
	st = sample(&len);
	reseal(st, len - 3, 3);
	assert_int_not_equal(dstate_open(&in, st, len - 3, why, sizeof(why)),
			     0);
	free(st);

	/* Header flags, version, magic, header length. */
	st = sample(&len);
	st[12] = 1;
	assert_int_equal(dstate_open(&in, st, len, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "header flags"));
	st[12] = 0;
	st[8] = 2;
	assert_int_equal(dstate_open(&in, st, len, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "format version 2"));
	st[8] = DSTATE_VERSION;
	st[10] = 8;
	assert_int_equal(dstate_open(&in, st, len, why, sizeof(why)), -EPROTO);
	st[10] = 0xff;
	st[11] = 0xff;
	assert_int_equal(dstate_open(&in, st, len, why, sizeof(why)), -EPROTO);
	st[10] = DSTATE_HDR_LEN;
	st[11] = 0;
	st[0] = 'v';
	assert_int_equal(dstate_open(&in, st, len, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "bad magic"));
	free(st);
}

static void test_empty_body(void **state)
{
	struct dstate_buf w;
	struct dstate_rec rec;
	struct dstate_in in;
	void *out;
	size_t len, pos = 0;
	char why[64];

	dstate_init(&w);
	assert_int_equal(dstate_finish(&w, &out, &len), 0);
	assert_int_equal(len, DSTATE_HDR_LEN);
	assert_int_equal(dstate_open(&in, out, len, why, sizeof(why)), 0);
	assert_false(dstate_next(&in, &pos, &rec));
	free(out);
}

static void test_cursor_strings(void **state)
{
	static const uint8_t payload[] = {
		/* "ab\0c": a string with a NUL inside */
		4,
		0,
		'a',
		'b',
		0,
		'c',
		/* "abcdef": longer than the caller's room */
		6,
		0,
		'a',
		'b',
		'c',
		'd',
		'e',
		'f',
		/* a blob that claims 200 bytes */
		200,
		0,
		1,
	};
	struct dstate_rec rec = { .p = payload, .len = sizeof(payload) };
	struct dstate_cur c;
	char s[8];
	uint8_t b[4];
	size_t n;

	dstate_cur_init(&c, &rec);
	dstate_get_str(&c, s, sizeof(s));
	assert_true(c.bad);

	rec.p = payload + 6;
	rec.len = 8;
	dstate_cur_init(&c, &rec);
	dstate_get_str(&c, s, 4);
	assert_true(c.bad);
	assert_string_equal(s, "");
	dstate_cur_init(&c, &rec);
	dstate_get_str(&c, s, sizeof(s));
	assert_false(c.bad);
	assert_string_equal(s, "abcdef");

	rec.p = payload + 14;
	rec.len = 3;
	dstate_cur_init(&c, &rec);
	dstate_get_blob(&c, b, sizeof(b), &n);
	assert_true(c.bad);
	assert_int_equal(n, 0);
	/* Once bad, everything after reads as zero. */
	assert_int_equal(dstate_get_u8(&c), 0);
	assert_int_equal(dstate_get_u8_or(&c, 9), 9);
}

static void test_writer_limits(void **state)
{
	struct dstate_buf w;
	static uint8_t big[70000];
	void *out = NULL;
	size_t len;

	dstate_init(&w);
	dstate_rec_begin(&w, 1, true);
	dstate_put_blob(&w, big, sizeof(big));
	assert_int_equal(dstate_finish(&w, &out, &len), -ENOMEM);
	assert_null(out);

	/* Many records grow the buffer. */
	dstate_init(&w);
	for (int i = 0; i < 5000; i++) {
		dstate_rec_begin(&w, 0x0204, true);
		dstate_put_str(&w, "some/path/of/a/node");
		dstate_put_u64(&w, (uint64_t)i);
	}
	assert_int_equal(dstate_finish(&w, &out, &len), 0);
	{
		struct dstate_in in;
		char why[64];

		assert_int_equal(dstate_open(&in, out, len, why, sizeof(why)),
				 0);
		assert_int_equal(in.nrec, 5000);
	}
	free(out);
}

static void test_crc(void **state)
{
	/* The standard check value of CRC-32C. */
	assert_int_equal(dstate_crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(dstate_crc32c(dstate_crc32c(0, "1234", 4), "56789", 5),
			 0xe3069283);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_extended),
		cmocka_unit_test(test_every_byte_flipped),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_cursor_strings),
		cmocka_unit_test(test_writer_limits),
		cmocka_unit_test(test_crc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
