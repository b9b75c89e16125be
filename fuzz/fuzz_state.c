// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: a live migration's device state as a destination loads it
 * (fuse_session_state_load() in front of the real passthrough), the bytes
 * a hostile source or frontend controls entirely.
 *
 * Once per process a scratch directory is made: share/ with the tree the
 * vhost-migration test's states describe (data, dir/sub/file, dir/e0..4,
 * moved, locked, a FIFO, a symlink to outside/) and outside/ next to it,
 * which nothing may change. Each input gets a fresh passthrough and
 * session. Input layout:
 *
 *   b0     bit 0: reseal — fix the header's length, CRC and record count
 *          to the bytes that follow (so the records themselves are
 *          fuzzed, not only the checksum); bit 1: write this share's path
 *          into a share record (a state of "this" share); bit 2:
 *          --migration-on-error=guest-error; bit 3: after a successful
 *          load, GETATTR and RELEASE every nodeid and fh 1..64
 *   rest   the state
 *
 * Checked beyond ASan/UBSan: a failed load leaves the session
 * uninitialised and the file system holding only its root (no fd of the
 * share more than before it); outside/ is unchanged; every 16 inputs the
 * process holds no more fds of the scratch directory than after the
 * first input.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse/fuse_server.h"
#include "fuzz.h"
#include "log/log.h"
#include "passthrough/passthrough.h"
#include "util/dstate.h"

#define REC_SHARE 0x0201

static char base[64], share[96], outside[96];
static struct stat outside_st;
static int first_fds = -1;
static unsigned long inputs;

/* Open fds of objects of the scratch directory: what a load opens (and
 * must close again when it fails or the file system is freed). The
 * fuzzer's own pipes and files do not count. */
static bool in_scratch(const char *target)
{
	return strncmp(target, base, strlen(base)) == 0;
}

static int count_fds(void)
{
	return fuzz_count_fds(in_scratch);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void cleanup(void)
{
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void mk(const char *rel, const char *text)
{
	char path[192];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", share, rel);
	if (!text) {
		if (mkdir(path, 0755) < 0)
			abort();
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *msg = "", *tmp = getenv("TMPDIR");
	char a[192], b[192];

	log_set_level(getenv("VFSD_FUZZ_LOG") ? LOG_LEVEL_DEBUG :
						LOG_LEVEL_OFF);
	if (pt_process_init(&msg))
		abort();
	if (!tmp || !*tmp || strlen(tmp) > 32)
		tmp = "/tmp";
	snprintf(base, sizeof(base), "%s/vfsd-fuzz-state.XXXXXX", tmp);
	if (!mkdtemp(base))
		abort();
	atexit(cleanup);
	snprintf(share, sizeof(share), "%s/share", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	if (mkdir(share, 0755) < 0 || mkdir(outside, 0755) < 0)
		abort();
	mk("data", "abcdefghijklmnopqrstuvw");
	mk("dir", NULL);
	mk("dir/sub", NULL);
	mk("dir/sub/file", "deep");
	for (int i = 0; i < 5; i++) {
		snprintf(a, sizeof(a), "dir/e%d", i);
		mk(a, "");
	}
	mk("moved", "moved bytes");
	mk("to-move", "not moved");
	mk("locked", "locked bytes");
	snprintf(a, sizeof(a), "%s/fifo", share);
	if (mkfifo(a, 0644) < 0)
		abort();
	snprintf(a, sizeof(a), "%s/escape", share);
	snprintf(b, sizeof(b), "%s", outside);
	if (symlink(b, a) < 0)
		abort();
	if (lstat(outside, &outside_st) < 0)
		abort();
	return 0;
}

static int accept_transport(void *arg, const void *blob, size_t len)
{
	return len >= 4 ? 0 : -EPROTO;
}

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The first share record's path replaced by ours; the new length. */
static size_t own_share(uint8_t *st, size_t len, size_t cap)
{
	size_t plen = strlen(share);

	for (size_t pos = DSTATE_HDR_LEN; pos + 8 <= len;) {
		size_t rlen = le(st + pos + 4, 4), old;

		if (rlen > len - pos - 8)
			return len;
		if (le(st + pos, 2) != REC_SHARE || rlen < 2) {
			pos += 8 + rlen;
			continue;
		}
		old = le(st + pos + 8, 2);
		if (old > rlen - 2 || len - old + plen > cap)
			return len;
		memmove(st + pos + 10 + plen, st + pos + 10 + old,
			len - (pos + 10 + old));
		memcpy(st + pos + 10, share, plen);
		put_le(st + pos + 8, plen, 2);
		put_le(st + pos + 4, rlen - old + plen, 4);
		return len - old + plen;
	}
	return len;
}

static void reseal(uint8_t *st, size_t len)
{
	unsigned int n = 0;
	size_t pos;

	if (len < DSTATE_HDR_LEN)
		return;
	for (pos = DSTATE_HDR_LEN; pos + 8 <= len; n++) {
		size_t rlen = le(st + pos + 4, 4);

		if (rlen > len - pos - 8)
			break;
		pos += 8 + rlen;
	}
	put_le(st + 10, DSTATE_HDR_LEN, 2);
	put_le(st + 16, len - DSTATE_HDR_LEN, 8);
	put_le(st + 24,
	       dstate_crc32c(0, st + DSTATE_HDR_LEN, len - DSTATE_HDR_LEN), 4);
	put_le(st + 28, n, 4);
}

/* A request without a reply buffer worth checking: GETATTR or RELEASE,
 * so that what a load built is also served and torn down. */
static int completions;

static void t_complete(void *tdata, struct fuse_chan_req *req, size_t len)
{
	completions++;
}

static const struct fuse_transport_ops tops_req = {
	.complete = t_complete,
};

static void poke(struct fuse_session *se, uint32_t opcode, uint64_t nodeid,
		 uint64_t fh)
{
	struct {
		struct fuse_in_header h;
		struct fuse_release_in r;
	} in = { 0 };
	uint8_t out[256];
	struct iovec iv = { &in, sizeof(in) }, ov = { out, sizeof(out) };
	struct fuse_chan_req req = { &iv, 1, &ov, 1, NULL };

	in.h.opcode = opcode;
	in.h.nodeid = nodeid;
	in.h.unique = 2;
	if (opcode == FUSE_GETATTR) {
		struct fuse_getattr_in *g = (void *)&in.r;

		iv.iov_len = sizeof(in.h) + sizeof(*g);
		g->fh = fh;
	} else {
		in.r.fh = fh;
	}
	in.h.len = (uint32_t)iv.iov_len;
	completions = 0;
	fuse_session_process(se, &req);
	FUZZ_CHECK(completions == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pt_options opts = { .source = share, .inode_fh = PT_FH_NEVER };
	const struct fuse_session_opts sopts = { .max_write = 1u << 20 };
	struct fuse_session *se;
	struct pt_fs *fs = NULL;
	const char *msg = NULL;
	uint8_t ctl, *st;
	size_t len, cap;
	struct stat now;
	int before, ret;

	if (size < 1)
		return 0;
	ctl = data[0];
	cap = size - 1 + 256;
	st = malloc(cap);
	if (!st)
		abort();
	memcpy(st, data + 1, size - 1);
	len = size - 1;
	if (ctl & 2)
		len = own_share(st, len, cap);
	if (ctl & 1)
		reseal(st, len);
	opts.migration_guest_error = ctl & 4;

	if (pt_new(&opts, &fs, &msg))
		abort();
	se = fuse_session_new(&pt_ops, fs, &sopts, &tops_req, NULL);
	if (!se)
		abort();
	before = count_fds();
	ret = fuse_session_state_load(se, st, len, accept_transport, NULL);
	if (ret) {
		FUZZ_CHECK(!fuse_session_initialized(se));
		FUZZ_CHECK(count_fds() == before);
	} else if (ctl & 8) {
		for (uint64_t id = 1; id <= 64; id++)
			poke(se, FUSE_GETATTR, id, 0);
		for (uint64_t i = 0; i < 64; i++)
			poke(se, FUSE_RELEASE, 2, (1ULL << 32) | i);
	}
	fuse_session_free(se);
	pt_free(fs);
	free(st);

	if (lstat(outside, &now) < 0 ||
	    now.st_mtim.tv_sec != outside_st.st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != outside_st.st_mtim.tv_nsec ||
	    now.st_nlink != outside_st.st_nlink)
		fuzz_fail(__FILE__, __LINE__, "outside/ changed");
	if (first_fds < 0)
		first_fds = count_fds();
	if ((++inputs % 16 == 0 || getenv("VFSD_FUZZ_FDS")) &&
	    count_fds() != first_fds) {
		fuzz_list_fds();
		fuzz_fail(__FILE__, __LINE__, "fds left open");
	}
	return 0;
}
