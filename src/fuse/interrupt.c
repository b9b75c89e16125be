// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * INTERRUPT. Every request that may take a while is registered by unique
 * while its decoder runs. An INTERRUPT names a unique: if that request is
 * in flight it is flagged interrupted (the file system polls the flag
 * with fuse_req_interrupted()), and if it sits between
 * fuse_req_block_begin() and fuse_req_block_end() its thread gets
 * FUSE_INTR_SIGNAL (SIGUSR2, handled by a no-op without SA_RESTART) so the
 * blocking syscall returns EINTR. The signal is re-sent a few times, a
 * few ms apart, because one that lands just before the thread enters the
 * syscall is lost. A matched INTERRUPT is not answered; one for an unknown
 * unique is answered EAGAIN, which makes the client queue it again.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "fuse_i.h"
#include "log/log.h"

/* Re-send the signal this many times, this far apart, at most. */
#define INTR_TRIES 10
#define INTR_GAP_NS (2 * 1000 * 1000)

static pthread_once_t intr_once = PTHREAD_ONCE_INIT;
static int intr_setup_err;

static void intr_handler(int sig)
{
	/* only there so the blocking syscall returns EINTR */
}

static void intr_install(void)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = intr_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the syscall must fail with EINTR */
	if (sigaction(FUSE_INTR_SIGNAL, &sa, NULL))
		intr_setup_err = -errno;
}

int fuse_intr_setup(void)
{
	pthread_once(&intr_once, intr_install);
	return intr_setup_err;
}

static bool wants_registration(uint32_t opcode)
{
	switch (opcode) {
	case FUSE_INTERRUPT:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_NOTIFY_REPLY:
	case FUSE_INIT:
	case FUSE_DESTROY:
		return false;
	default:
		return true;
	}
}

static struct fuse_req **bucket(struct fuse_session *se, uint64_t unique)
{
	return &se->inflight[unique % FUSE_INTR_BUCKETS];
}

void fuse_intr_register(struct fuse_req *req)
{
	struct fuse_session *se = req->se;
	struct fuse_req **b;

	if (!wants_registration(req->opcode))
		return;
	pthread_mutex_lock(&se->intr_lock);
	b = bucket(se, req->unique);
	req->thread = pthread_self();
	req->intr_next = *b;
	*b = req;
	req->registered = true;
	pthread_mutex_unlock(&se->intr_lock);
}

void fuse_intr_unregister(struct fuse_req *req)
{
	struct fuse_session *se = req->se;
	struct fuse_req **pp;

	if (!req->registered)
		return;
	pthread_mutex_lock(&se->intr_lock);
	for (pp = bucket(se, req->unique); *pp; pp = &(*pp)->intr_next) {
		if (*pp == req) {
			*pp = req->intr_next;
			break;
		}
	}
	req->registered = false;
	pthread_mutex_unlock(&se->intr_lock);
}

static struct fuse_req *find_locked(struct fuse_session *se, uint64_t unique)
{
	struct fuse_req *r;

	for (r = *bucket(se, unique); r; r = r->intr_next) {
		if (r->unique == unique)
			return r;
	}
	return NULL;
}

static bool still_inflight_locked(struct fuse_session *se,
				  const struct fuse_req *target)
{
	const struct fuse_req *r;

	for (r = *bucket(se, target->unique); r; r = r->intr_next) {
		if (r == target)
			return true;
	}
	return false;
}

void fuse_do_interrupt(struct fuse_req *req, struct fuse_rd *rd)
{
	struct fuse_session *se = req->se;
	const struct timespec gap = { 0, INTR_GAP_NS };
	struct fuse_interrupt_in in;
	struct fuse_req *target;

	if (!fuse_rd_get(rd, &in, sizeof(in)) || !fuse_rd_end(rd)) {
		log_ratelimited(LOG_LEVEL_WARN, "fuse: malformed INTERRUPT");
		fuse_reply_err(req, -EINVAL);
		return;
	}
	log_debug("fuse: INTERRUPT of unique %llu",
		  (unsigned long long)in.unique);

	pthread_mutex_lock(&se->intr_lock);
	target = find_locked(se, in.unique);
	if (!target) {
		pthread_mutex_unlock(&se->intr_lock);
		fuse_reply_err(req, -EAGAIN);
		return;
	}
	__atomic_store_n(&target->interrupted, true, __ATOMIC_RELEASE);
	/* target stays valid while it is in the list and we hold the lock */
	for (int i = 0; i < INTR_TRIES; i++) {
		if (!still_inflight_locked(se, target) || !target->blocking)
			break;
		pthread_kill(target->thread, FUSE_INTR_SIGNAL);
		pthread_mutex_unlock(&se->intr_lock);
		nanosleep(&gap, NULL);
		pthread_mutex_lock(&se->intr_lock);
	}
	pthread_mutex_unlock(&se->intr_lock);
	fuse_reply_none(req);
}

/*
 * Before INIT or DESTROY takes the session exclusively, interrupt
 * everything still in flight: a request of the previous guest blocked in
 * SETLKW would otherwise hold the INIT lock forever.
 */
void fuse_intr_all(struct fuse_session *se)
{
	const struct timespec gap = { 0, INTR_GAP_NS };

	pthread_mutex_lock(&se->intr_lock);
	for (int i = 0; i < INTR_TRIES; i++) {
		bool any = false;

		for (int b = 0; b < FUSE_INTR_BUCKETS; b++) {
			for (struct fuse_req *r = se->inflight[b]; r;
			     r = r->intr_next) {
				__atomic_store_n(&r->interrupted, true,
						 __ATOMIC_RELEASE);
				if (r->blocking) {
					pthread_kill(r->thread,
						     FUSE_INTR_SIGNAL);
					any = true;
				}
			}
		}
		if (!any)
			break;
		pthread_mutex_unlock(&se->intr_lock);
		nanosleep(&gap, NULL);
		pthread_mutex_lock(&se->intr_lock);
	}
	pthread_mutex_unlock(&se->intr_lock);
}

void fuse_session_interrupt_all(struct fuse_session *se)
{
	fuse_intr_all(se);
}

bool fuse_req_interrupted(const struct fuse_ctx *ctx)
{
	if (!ctx || !ctx->req)
		return false;
	return __atomic_load_n(&ctx->req->interrupted, __ATOMIC_ACQUIRE);
}

bool fuse_req_block_begin(const struct fuse_ctx *ctx)
{
	struct fuse_req *req = ctx ? ctx->req : NULL;
	bool ok;

	if (!req)
		return true;
	pthread_mutex_lock(&req->se->intr_lock);
	ok = !req->interrupted;
	if (ok)
		req->blocking = true;
	pthread_mutex_unlock(&req->se->intr_lock);
	return ok;
}

void fuse_req_block_end(const struct fuse_ctx *ctx)
{
	struct fuse_req *req = ctx ? ctx->req : NULL;

	if (!req)
		return;
	pthread_mutex_lock(&req->se->intr_lock);
	req->blocking = false;
	pthread_mutex_unlock(&req->se->intr_lock);
}
