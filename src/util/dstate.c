// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device-state format (see dstate.h): a growable writer and a
 * bounded reader.
 *
 * Writing: records are appended to one buffer; dstate_rec_end() fills in
 * the open record's length, dstate_finish() the header and its CRC. An
 * allocation failure marks the buffer failed and later calls do nothing,
 * so callers check once at the end.
 *
 * Reading: dstate_open() checks everything about the framing before any
 * record is looked at; a cursor then reads a record's fields without ever
 * leaving it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dstate.h"

/* ---- CRC-32C ---- */

static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
	__atomic_store_n(&crc_ready, true, __ATOMIC_RELEASE);
}

uint32_t dstate_crc32c(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	/* Idempotent: two threads racing here compute the same table. */
	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		crc_init();
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- little-endian helpers ---- */

static void le_put(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- writing ---- */

void dstate_init(struct dstate_buf *b)
{
	memset(b, 0, sizeof(*b));
	/* Room for the header, filled in by dstate_finish(). */
	b->p = calloc(1, 4096);
	if (!b->p) {
		b->failed = true;
		return;
	}
	b->cap = 4096;
	b->len = DSTATE_HDR_LEN;
}

void dstate_free(struct dstate_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
	b->failed = true;
}

/* Room for @n more bytes; false (and failed) when there is none. */
static bool reserve(struct dstate_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->failed)
		return false;
	if (b->cap - b->len >= n)
		return true;
	cap = b->cap;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void put(struct dstate_buf *b, uint64_t v, unsigned int n)
{
	if (!reserve(b, n))
		return;
	le_put(b->p + b->len, v, n);
	b->len += n;
}

void dstate_rec_begin(struct dstate_buf *b, uint16_t type, bool critical)
{
	if (b->in_rec)
		dstate_rec_end(b);
	if (!reserve(b, DSTATE_REC_HDR_LEN))
		return;
	b->rec = b->len;
	b->in_rec = true;
	put(b, type, 2);
	put(b, critical ? DSTATE_REC_CRITICAL : 0, 2);
	put(b, 0, 4); /* length, known at the end */
}

void dstate_rec_end(struct dstate_buf *b)
{
	size_t n;

	if (!b->in_rec || b->failed)
		return;
	b->in_rec = false;
	n = b->len - b->rec - DSTATE_REC_HDR_LEN;
	if (n > UINT32_MAX) {
		b->failed = true;
		return;
	}
	le_put(b->p + b->rec + 4, n, 4);
	b->nrec++;
}

void dstate_put_u8(struct dstate_buf *b, uint8_t v)
{
	put(b, v, 1);
}

void dstate_put_u16(struct dstate_buf *b, uint16_t v)
{
	put(b, v, 2);
}

void dstate_put_u32(struct dstate_buf *b, uint32_t v)
{
	put(b, v, 4);
}

void dstate_put_u64(struct dstate_buf *b, uint64_t v)
{
	put(b, v, 8);
}

void dstate_put_blob(struct dstate_buf *b, const void *p, size_t n)
{
	if (n > UINT16_MAX) {
		b->failed = true;
		return;
	}
	put(b, n, 2);
	if (n && reserve(b, n)) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
}

void dstate_put_str(struct dstate_buf *b, const char *s)
{
	dstate_put_blob(b, s, strlen(s));
}

int dstate_finish(struct dstate_buf *b, void **out, size_t *len)
{
	uint8_t *h;

	if (b->in_rec)
		dstate_rec_end(b);
	if (b->failed) {
		dstate_free(b);
		return -ENOMEM;
	}
	h = b->p;
	memcpy(h, DSTATE_MAGIC, 8);
	le_put(h + 8, DSTATE_VERSION, 2);
	le_put(h + 10, DSTATE_HDR_LEN, 2);
	le_put(h + 12, 0, 4);
	le_put(h + 16, b->len - DSTATE_HDR_LEN, 8);
	le_put(h + 24,
	       dstate_crc32c(0, h + DSTATE_HDR_LEN, b->len - DSTATE_HDR_LEN),
	       4);
	le_put(h + 28, b->nrec, 4);
	*out = b->p;
	*len = b->len;
	b->p = NULL;
	dstate_free(b);
	return 0;
}

/* ---- reading ---- */

#define WHY(...) snprintf(why, whylen, __VA_ARGS__)

int dstate_open(struct dstate_in *in, const void *buf, size_t len, char *why,
		size_t whylen)
{
	const uint8_t *h = buf;
	uint64_t body;
	uint32_t crc, nrec, n = 0;
	uint16_t version, hlen;
	size_t pos;

	memset(in, 0, sizeof(*in));
	if (len < DSTATE_HDR_LEN) {
		WHY("truncated: %zu bytes, less than the %u-byte header", len,
		    DSTATE_HDR_LEN);
		return -EPROTO;
	}
	if (memcmp(h, DSTATE_MAGIC, 8) != 0) {
		WHY("not a vfsd device state (bad magic)");
		return -EINVAL;
	}
	version = (uint16_t)le_get(h + 8, 2);
	hlen = (uint16_t)le_get(h + 10, 2);
	if (version != DSTATE_VERSION) {
		WHY("format version %u (this vfsd reads version %u)", version,
		    DSTATE_VERSION);
		return -EINVAL;
	}
	/* A longer header from a later minor change is allowed and
	 * skipped; the fields read here stay where they are. */
	if (hlen < DSTATE_HDR_LEN || hlen > len) {
		WHY("header length %u in %zu bytes", hlen, len);
		return -EPROTO;
	}
	if (le_get(h + 12, 4) != 0) {
		WHY("header flags 0x%x (this vfsd knows none)",
		    (unsigned int)le_get(h + 12, 4));
		return -EINVAL;
	}
	body = le_get(h + 16, 8);
	crc = (uint32_t)le_get(h + 24, 4);
	nrec = (uint32_t)le_get(h + 28, 4);
	if (body != len - hlen) {
		WHY("%s: the header says %llu bytes of records, %zu came",
		    body > len - hlen ? "truncated" : "oversized",
		    (unsigned long long)body, len - hlen);
		return -EPROTO;
	}
	if (dstate_crc32c(0, h + hlen, (size_t)body) != crc) {
		WHY("corrupt: the checksum of its %llu bytes of records does not match",
		    (unsigned long long)body);
		return -EPROTO;
	}
	for (pos = 0; pos < body; n++) {
		uint32_t rlen;

		if (body - pos < DSTATE_REC_HDR_LEN) {
			WHY("record %u at byte %zu: truncated header", n, pos);
			return -EPROTO;
		}
		rlen = (uint32_t)le_get(h + hlen + pos + 4, 4);
		if (rlen > body - pos - DSTATE_REC_HDR_LEN) {
			WHY("record %u at byte %zu: %u bytes run past the end",
			    n, pos, rlen);
			return -EPROTO;
		}
		pos += DSTATE_REC_HDR_LEN + rlen;
	}
	if (n != nrec) {
		WHY("%u records, the header says %u", n, nrec);
		return -EPROTO;
	}
	in->body = h + hlen;
	in->len = (size_t)body;
	in->nrec = nrec;
	in->version = version;
	return 0;
}

bool dstate_next(const struct dstate_in *in, size_t *pos,
		 struct dstate_rec *rec)
{
	const uint8_t *r;

	if (*pos >= in->len || in->len - *pos < DSTATE_REC_HDR_LEN)
		return false;
	r = in->body + *pos;
	rec->type = (uint16_t)le_get(r, 2);
	rec->flags = (uint16_t)le_get(r + 2, 2);
	rec->len = (uint32_t)le_get(r + 4, 4);
	/* dstate_open() checked every record lies inside the body. */
	rec->p = r + DSTATE_REC_HDR_LEN;
	*pos += DSTATE_REC_HDR_LEN + rec->len;
	return true;
}

void dstate_cur_init(struct dstate_cur *c, const struct dstate_rec *rec)
{
	c->p = rec->p;
	c->left = rec->len;
	c->bad = false;
}

static uint64_t get(struct dstate_cur *c, unsigned int n)
{
	uint64_t v;

	if (c->left < n) {
		c->bad = true;
		c->left = 0;
		return 0;
	}
	v = le_get(c->p, n);
	c->p += n;
	c->left -= n;
	return v;
}

uint8_t dstate_get_u8(struct dstate_cur *c)
{
	return (uint8_t)get(c, 1);
}

uint16_t dstate_get_u16(struct dstate_cur *c)
{
	return (uint16_t)get(c, 2);
}

uint32_t dstate_get_u32(struct dstate_cur *c)
{
	return (uint32_t)get(c, 4);
}

uint64_t dstate_get_u64(struct dstate_cur *c)
{
	return get(c, 8);
}

uint8_t dstate_get_u8_or(struct dstate_cur *c, uint8_t dflt)
{
	return c->left ? dstate_get_u8(c) : dflt;
}

uint64_t dstate_get_u64_or(struct dstate_cur *c, uint64_t dflt)
{
	return c->left ? dstate_get_u64(c) : dflt;
}

void dstate_get_blob(struct dstate_cur *c, void *dst, size_t cap, size_t *n)
{
	size_t len = dstate_get_u16(c);

	*n = 0;
	if (c->bad || len > c->left || len > cap) {
		c->bad = true;
		c->left = 0;
		return;
	}
	memcpy(dst, c->p, len);
	c->p += len;
	c->left -= len;
	*n = len;
}

void dstate_get_str(struct dstate_cur *c, char *dst, size_t cap)
{
	size_t n = 0;

	dst[0] = '\0';
	if (cap == 0) {
		c->bad = true;
		return;
	}
	dstate_get_blob(c, dst, cap - 1, &n);
	dst[n] = '\0';
	if (memchr(dst, '\0', n))
		c->bad = true;
}
