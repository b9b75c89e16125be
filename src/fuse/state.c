// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE session across a live migration.
 *
 * The guest's FUSE client does not know it moved: it goes on with the
 * protocol version, flags and sizes its INIT negotiated, and with the
 * node ids and file handles it was given. So the state a source saves
 * holds the session's INIT result (one SESSION record), the transport's
 * own record (its queue count, checked by the transport), and the file
 * system's records (nodes, handles, locks: src/passthrough/migrate.c).
 *
 * Loading flows: framing, length and checksum (dstate_open) -> one pass
 * over the records: SESSION and TRANSPORT decoded and checked, records of
 * an unknown layer refused when critical -> the transport's verdict ->
 * the INIT result checked against what this daemon would grant the same
 * client (the source may have granted less, never more) -> the file
 * system applies its records, all or nothing -> the session takes the
 * source's INIT result. Until that last step nothing has changed, so a
 * refused state leaves a session that waits for INIT as before.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_i.h"
#include "log/log.h"
#include "util/dstate.h"

#define REC_SESSION ((DSTATE_LAYER_SESSION << 8) | 0x01)
#define REC_TRANSPORT ((DSTATE_LAYER_TRANSPORT << 8) | 0x01)

int fuse_session_state_save(struct fuse_session *se, const void *tblob,
			    size_t tlen, void **buf, size_t *len)
{
	struct dstate_buf w;
	int ret;

	if (!se->ops->state_save)
		return -ENOTSUP;
	dstate_init(&w);
	dstate_rec_begin(&w, REC_TRANSPORT, true);
	dstate_put_blob(&w, tblob, tlen);
	dstate_rec_end(&w);

	pthread_rwlock_rdlock(&se->init_lock);
	dstate_rec_begin(&w, REC_SESSION, true);
	dstate_put_u8(&w, fuse_se_initialized(se));
	dstate_put_u8(&w, __atomic_load_n(&se->destroyed, __ATOMIC_ACQUIRE));
	dstate_put_u32(&w, se->conn.proto_minor);
	dstate_put_u64(&w, se->conn.flags);
	dstate_put_u32(&w, se->conn.max_write);
	dstate_put_u32(&w, se->conn.max_readahead);
	dstate_put_u64(&w, se->offered);
	dstate_rec_end(&w);
	ret = se->ops->state_save(se->fs, &w);
	pthread_rwlock_unlock(&se->init_lock);
	if (ret) {
		dstate_free(&w);
		return ret;
	}
	return dstate_finish(&w, buf, len);
}

struct saved_session {
	bool initialized, destroyed;
	struct fuse_conn conn;
	uint64_t offered;
};

static int decode_session(const struct dstate_rec *rec, struct saved_session *s)
{
	struct dstate_cur c;

	dstate_cur_init(&c, rec);
	s->initialized = dstate_get_u8(&c);
	s->destroyed = dstate_get_u8(&c);
	s->conn.proto_minor = dstate_get_u32(&c);
	s->conn.flags = dstate_get_u64(&c);
	s->conn.max_write = dstate_get_u32(&c);
	s->conn.max_readahead = dstate_get_u32(&c);
	s->offered = dstate_get_u64(&c);
	return c.bad ? -EPROTO : 0;
}

/* What this daemon grants a client that offers @offered (as INIT). */
static uint64_t would_grant(struct fuse_session *se, uint64_t offered)
{
	uint64_t want = fuse_default_want(se->ops) & offered;
	uint32_t max_write = se->opts.max_write;

	if (se->ops->init)
		se->ops->init(se->fs, offered, &want, &max_write);
	want &= offered;
	if (!(want & FUSE_INIT_EXT))
		want &= UINT32_MAX;
	return want;
}

/* The source's INIT result, as this daemon can honour it. */
static int check_session(struct fuse_session *se, const struct saved_session *s)
{
	uint64_t extra;

	if (!s->initialized)
		return 0; /* the guest never mounted: nothing to honour */
	if (s->conn.proto_minor < FUSE_SRV_MIN_MINOR) {
		log_error(
			"migration: the state's FUSE session is protocol 7.%u (7.%u at least)",
			s->conn.proto_minor, FUSE_SRV_MIN_MINOR);
		return -EPROTO;
	}
	if (s->conn.max_write < 4096 ||
	    s->conn.max_write > se->opts.max_write) {
		log_error(
			"migration: the state's FUSE session has max_write %u (4096..%u here)",
			s->conn.max_write, se->opts.max_write);
		return -EPROTO;
	}
	if (s->conn.flags & ~s->offered) {
		log_error(
			"migration: the state's FUSE session holds flags 0x%llx its client never offered",
			(unsigned long long)(s->conn.flags & ~s->offered));
		return -EPROTO;
	}
	extra = s->conn.flags & ~would_grant(se, s->offered);
	if (extra) {
		log_error(
			"migration: the source granted FUSE flags 0x%llx that this daemon's options do not (start it with the source's options)",
			(unsigned long long)extra);
		return -EPROTO;
	}
	return 0;
}

int fuse_session_state_load(struct fuse_session *se, const void *buf,
			    size_t len,
			    int (*check_transport)(void *arg, const void *blob,
						   size_t len),
			    void *arg)
{
	struct saved_session s = { 0 };
	bool have_session = false, have_transport = false;
	struct dstate_rec rec;
	struct dstate_in in;
	char why[160];
	size_t pos = 0;
	int ret;

	if (!se->ops->state_load)
		return -ENOTSUP;
	ret = dstate_open(&in, buf, len, why, sizeof(why));
	if (ret) {
		log_error("migration: device state refused: %s", why);
		return ret;
	}
	while (dstate_next(&in, &pos, &rec)) {
		unsigned int layer = DSTATE_LAYER(rec.type);

		if (rec.type == REC_SESSION || rec.type == REC_TRANSPORT) {
			bool *seen = rec.type == REC_SESSION ? &have_session :
							       &have_transport;

			if (*seen) {
				log_error(
					"migration: device state refused: two %s records",
					rec.type == REC_SESSION ? "session" :
								  "transport");
				return -EPROTO;
			}
			*seen = true;
			if (rec.type == REC_SESSION) {
				ret = decode_session(&rec, &s);
			} else {
				struct dstate_cur c;
				uint8_t blob[256];
				size_t n = 0;

				dstate_cur_init(&c, &rec);
				dstate_get_blob(&c, blob, sizeof(blob), &n);
				if (!c.bad) {
					/* It logs why it refuses. */
					ret = check_transport(arg, blob, n);
					if (ret)
						return ret;
				}
				ret = c.bad ? -EPROTO : 0;
			}
			if (ret) {
				log_error(
					"migration: device state refused: its %s record is malformed",
					rec.type == REC_SESSION ? "session" :
								  "transport");
				return ret;
			}
		} else if (layer != DSTATE_LAYER_FS &&
			   (rec.flags & DSTATE_REC_CRITICAL)) {
			log_error(
				"migration: device state refused: it needs record type 0x%04x, which this vfsd does not know (a newer source?)",
				rec.type);
			return -EPROTO;
		}
	}
	if (!have_session || !have_transport) {
		log_error("migration: device state refused: no %s record",
			  have_session ? "transport" : "session");
		return -EPROTO;
	}

	pthread_rwlock_wrlock(&se->init_lock);
	if (fuse_se_initialized(se)) {
		pthread_rwlock_unlock(&se->init_lock);
		log_error(
			"migration: device state refused: this daemon already serves a FUSE session (a state loads only into a fresh one)");
		return -EBUSY;
	}
	ret = check_session(se, &s);
	if (!ret)
		ret = se->ops->state_load(se->fs, &in, &s.conn);
	if (!ret) {
		se->conn = s.conn;
		se->offered = s.offered;
		__atomic_store_n(&se->destroyed, s.destroyed, __ATOMIC_RELEASE);
		__atomic_store_n(&se->initialized, s.initialized,
				 __ATOMIC_RELEASE);
	}
	pthread_rwlock_unlock(&se->init_lock);
	if (!ret)
		log_info(
			"migration: FUSE session loaded (7.%u, flags 0x%llx, max_write %u)",
			s.conn.proto_minor, (unsigned long long)s.conn.flags,
			s.conn.max_write);
	return ret;
}
