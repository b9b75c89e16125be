/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device-state format of a live migration: what a source vfsd writes
 * and a destination vfsd reads back (through the vhost-user frontend,
 * VHOST_USER_PROTOCOL_F_DEVICE_STATE). The layers serialize their own
 * parts with it: the FUSE session (src/fuse/state.c), the transport
 * (src/transport/virtio_fs.c) and the file system (src/passthrough/
 * migrate.c); this module knows none of their contents.
 *
 * Layout, every number little-endian:
 *
 *   header (DSTATE_HDR_LEN bytes): magic "VFSDSTAT", u16 format version,
 *   u16 header length (a longer header is skipped), u32 flags (none
 *   defined: a reader refuses any it does not know), u64 length of the
 *   records that follow, u32 CRC-32C of those records, u32 number of
 *   records;
 *
 *   records, one after another: u16 type, u16 flags, u32 payload length,
 *   payload. Types belong to layers by their high byte (DSTATE_LAYER_*).
 *   A record a reader does not know is skipped unless its flags carry
 *   DSTATE_REC_CRITICAL, which makes the whole state unreadable for it.
 *   A payload is a sequence of fields; a newer writer only appends fields
 *   to a record, so a reader takes the fields it knows and ignores what
 *   follows them, and a newer reader gives fields an older writer did not
 *   write their defaults (dstate_get_*_or()).
 *
 * The reader treats the bytes as hostile: the header must match, the
 * length be exact, the CRC agree, every record lie inside the body and
 * their count add up before any record is handed out; every field read is
 * bounded by its record.
 */
#ifndef VFSD_UTIL_DSTATE_H
#define VFSD_UTIL_DSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSTATE_MAGIC "VFSDSTAT"
#define DSTATE_VERSION 1 /* bumped only for changes old readers must refuse */
#define DSTATE_HDR_LEN 32u
#define DSTATE_REC_HDR_LEN 8u
#define DSTATE_REC_CRITICAL 0x1u

/* Record types: high byte = owning layer. */
#define DSTATE_LAYER_SESSION 0x00u /* src/fuse/ */
#define DSTATE_LAYER_TRANSPORT 0x01u /* src/transport/ */
#define DSTATE_LAYER_FS 0x02u /* the file system (src/passthrough/) */
#define DSTATE_LAYER(type) ((unsigned int)(type) >> 8)

/* ---- writing ---- */

struct dstate_buf {
	uint8_t *p;
	size_t len, cap;
	size_t rec; /* offset of the open record's header */
	bool in_rec;
	bool failed; /* out of memory, or a record too long: give up */
	uint32_t nrec;
};

void dstate_init(struct dstate_buf *b);
void dstate_free(struct dstate_buf *b);
void dstate_rec_begin(struct dstate_buf *b, uint16_t type, bool critical);
void dstate_rec_end(struct dstate_buf *b);
void dstate_put_u8(struct dstate_buf *b, uint8_t v);
void dstate_put_u16(struct dstate_buf *b, uint16_t v);
void dstate_put_u32(struct dstate_buf *b, uint32_t v);
void dstate_put_u64(struct dstate_buf *b, uint64_t v);
/* u16 length, then the bytes (at most UINT16_MAX). */
void dstate_put_blob(struct dstate_buf *b, const void *p, size_t n);
void dstate_put_str(struct dstate_buf *b, const char *s);
/* The header filled in: *@out (the buffer, now the caller's) and *@len.
 * -ENOMEM (or -EFBIG) when anything failed on the way; @b is emptied
 * either way. */
int dstate_finish(struct dstate_buf *b, void **out, size_t *len);

/* ---- reading ---- */

struct dstate_rec {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	const uint8_t *p;
};

struct dstate_in {
	const uint8_t *body;
	size_t len;
	uint32_t nrec;
	uint16_t version;
};

/* Check a whole state: 0, or -EINVAL / -EPROTO with a reason (a static
 * or @why-formatted string) in @why. */
int dstate_open(struct dstate_in *in, const void *buf, size_t len, char *why,
		size_t whylen);
/* The record at *@pos and *@pos moved past it; false at the end. Only
 * on a state dstate_open() accepted. */
bool dstate_next(const struct dstate_in *in, size_t *pos,
		 struct dstate_rec *rec);

/* A bounded cursor over one record's payload. A read past the end sets
 * ->bad and yields zeros; check ->bad once after the reads. */
struct dstate_cur {
	const uint8_t *p;
	size_t left;
	bool bad;
};

void dstate_cur_init(struct dstate_cur *c, const struct dstate_rec *rec);
uint8_t dstate_get_u8(struct dstate_cur *c);
uint16_t dstate_get_u16(struct dstate_cur *c);
uint32_t dstate_get_u32(struct dstate_cur *c);
uint64_t dstate_get_u64(struct dstate_cur *c);
/* Fields a later format appended: @dflt when the record ends before. */
uint8_t dstate_get_u8_or(struct dstate_cur *c, uint8_t dflt);
uint64_t dstate_get_u64_or(struct dstate_cur *c, uint64_t dflt);
/* A blob of at most @cap bytes into @dst (*@n its length); longer ones
 * set ->bad. */
void dstate_get_blob(struct dstate_cur *c, void *dst, size_t cap, size_t *n);
/* A string of at most @cap - 1 bytes, NUL-terminated into @dst; one
 * holding a NUL or too long sets ->bad. */
void dstate_get_str(struct dstate_cur *c, char *dst, size_t cap);

/* CRC-32C (Castagnoli) of @n bytes, continuing from @crc (0 to start). */
uint32_t dstate_crc32c(uint32_t crc, const void *p, size_t n);

#endif /* VFSD_UTIL_DSTATE_H */
