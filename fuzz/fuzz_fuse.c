// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz target: the FUSE server (src/fuse/) in front of the real
 * passthrough file system (src/passthrough/) on a temporary directory.
 *
 * Once per process a scratch directory is made: share/ (the shared
 * directory: files, a hard link, a subdirectory, a FIFO, symlinks that
 * point outside) and outside/ next to it, which nothing may change. Each
 * input starts from a fresh share/, a fresh passthrough and a fresh
 * session, so an input replays the same way every time and node ids and
 * file handles are predictable (slot numbers) for the requests that
 * follow in the same input. Input layout:
 *
 *   b0       bit 0: no INIT (the requests meet an uninitialised session)
 *            bit 1: allow_reinit   bits 2-3: cache mode   bit 4: xattr
 *            bit 5: writeback      bit 6: readdirplus     bit 7: killpriv_v2
 *   u32 u32  INIT flags and flags2, XORed into "everything offered"
 *   then up to 16 requests, each:
 *   ctl      bits 0-1: extra in-iovec cuts (0-3), bit 2: raw (the header's
 *            len is left as it came), bits 4-5: out iovecs (1, 2, 3, none)
 *   outsel   the out capacity, from a table of sizes
 *   cut[5]   where the in and out buffers are cut into iovecs
 *   u16      request length, then the request: fuse_in_header, arguments
 *
 * Every iovec is its own heap block of exactly its size, so ASan catches
 * a read or write one byte beyond any of them. The transport checks the
 * reply: completed exactly once, never longer than the out capacity, and
 * a reply's header len equal to the completed length. SETLKW becomes
 * SETLK (a blocking lock wait would only hang a single-threaded fuzzer).
 * Files are capped at 16 MiB (RLIMIT_FSIZE) and the process cannot make
 * device nodes (CAP_MKNOD dropped).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuse/fuse_server.h"
#include "fuzz.h"
#include "log/log.h"
#include "passthrough/passthrough.h"

#define MAX_REQS 16
#define MAX_WRITE (128u * 1024)
#define FILE_LIMIT (16u << 20)

static char base[64]; /* the scratch directory */
static char share[96], outside[96];

/* What outside/ and its file looked like: nothing may change them. */
struct snap {
	struct stat dir, file;
};
static struct snap outside_snap;

static struct {
	size_t cap; /* out capacity of the request in flight */
	const struct iovec *out;
	int out_cnt;
	uint64_t unique;
	bool has_header;
	int completions;
} T;

static bool xfsz_ignored;
static bool trace; /* VFSD_FUZZ_TRACE: each request and its reply */

static void t_complete(void *tdata, struct fuse_chan_req *req, size_t len)
{
	struct fuse_out_header oh;
	size_t got = 0;

	T.completions++;
	FUZZ_CHECK(T.completions == 1);
	FUZZ_CHECK(req->out == T.out && req->out_cnt == T.out_cnt);
	FUZZ_CHECK(len <= T.cap);
	if (!len)
		return;
	FUZZ_CHECK(len >= sizeof(oh));
	for (int i = 0; i < T.out_cnt && got < sizeof(oh); i++) {
		size_t n = T.out[i].iov_len;

		if (n > sizeof(oh) - got)
			n = sizeof(oh) - got;
		memcpy((char *)&oh + got, T.out[i].iov_base, n);
		got += n;
	}
	FUZZ_CHECK(oh.len == len);
	FUZZ_CHECK(oh.error <= 0 && oh.error > -4096);
	FUZZ_CHECK(oh.error == 0 || len == sizeof(oh));
	if (T.has_header)
		FUZZ_CHECK(oh.unique == T.unique);
	if (trace) {
		uint64_t first = 0;

		if (len >= sizeof(oh) + 8 && T.out[0].iov_len >= sizeof(oh) + 8)
			memcpy(&first, (char *)T.out[0].iov_base + sizeof(oh),
			       8);
		fprintf(stderr, "  -> error %d len %zu first u64 0x%llx\n",
			oh.error, len, (unsigned long long)first);
	}
}

static const struct fuse_transport_ops tops = {
	.complete = t_complete,
};

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	/* the fuzzer may have left a directory without permissions; root
	 * does not care, an unprivileged run needs them back */
	if (flag == FTW_DP)
		chmod(path, 0700);
	return remove(path) < 0 ? -1 : 0;
}

static void make_file(const char *name, const char *text)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", share, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

static void make_share(void)
{
	char a[160], b[160];

	if (nftw(share, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 &&
	    errno != ENOENT)
		abort();
	if (mkdir(share, 0755) < 0 && errno != EEXIST)
		abort();
	chmod(share, 0755);
	make_file("file", "hello, world\nsecond line\n");
	make_file("empty", "");
	snprintf(a, sizeof(a), "%s/dir", share);
	if (mkdir(a, 0755) < 0)
		abort();
	make_file("dir/inner", "inner file\n");
	snprintf(a, sizeof(a), "%s/dir/sub", share);
	snprintf(b, sizeof(b), "%s/file", share);
	if (mkdir(a, 0700) < 0)
		abort();
	snprintf(a, sizeof(a), "%s/hard", share);
	if (link(b, a) < 0)
		abort();
	snprintf(a, sizeof(a), "%s/fifo", share);
	if (mkfifo(a, 0644) < 0)
		abort();
	snprintf(a, sizeof(a), "%s/out-abs", share);
	snprintf(b, sizeof(b), "%s/secret", outside);
	if (symlink(b, a) < 0)
		abort();
	snprintf(a, sizeof(a), "%s/out-rel", share);
	if (symlink("../outside/secret", a) < 0)
		abort();
	snprintf(a, sizeof(a), "%s/out-dir", share);
	if (symlink("../outside", a) < 0)
		abort();
}

static struct snap take_snap(void)
{
	struct snap s;
	char path[160];

	snprintf(path, sizeof(path), "%s/secret", outside);
	if (lstat(outside, &s.dir) < 0 || lstat(path, &s.file) < 0)
		abort();
	return s;
}

static bool same(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
	       a->st_nlink == b->st_nlink && a->st_uid == b->st_uid &&
	       a->st_gid == b->st_gid && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void cleanup(void)
{
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(base);
}

/* No device nodes: a bug that opened one would reach real hardware. */
static void drop_mknod(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return;
	data[0].effective &= ~CAP_TO_MASK(CAP_MKNOD);
	data[0].permitted &= ~CAP_TO_MASK(CAP_MKNOD);
	data[0].inheritable &= ~CAP_TO_MASK(CAP_MKNOD);
	if (syscall(SYS_capset, &hdr, data) < 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rlimit fsize = { FILE_LIMIT, FILE_LIMIT };
	const char *msg = "", *tmp;
	char path[160];

	log_set_level(getenv("VFSD_FUZZ_LOG") ? LOG_LEVEL_DEBUG :
						LOG_LEVEL_OFF);
	if (pt_process_init(&msg)) {
		fprintf(stderr, "pt_process_init: %s\n", msg);
		abort();
	}
	trace = getenv("VFSD_FUZZ_TRACE");
	drop_mknod();
	if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
		abort();

	tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 32)
		tmp = "/tmp";
	snprintf(base, sizeof(base), "%s/vfsd-fuzz-fuse.XXXXXX", tmp);
	if (!mkdtemp(base))
		abort();
	chmod(base, 0755);
	atexit(cleanup);
	snprintf(share, sizeof(share), "%s/share", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	if (mkdir(outside, 0755) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/secret", outside);
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0 || write(fd, "outside\n", 8) != 8)
			abort();
		close(fd);
	}
	outside_snap = take_snap();
	return 0;
}

struct cursor {
	const uint8_t *p;
	size_t left;
};

static uint8_t next8(struct cursor *c)
{
	if (!c->left)
		return 0;
	c->left--;
	return *c->p++;
}

static uint32_t next32(struct cursor *c)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)next8(c) << (8 * i);
	return v;
}

/* Out capacities: none, shorter than a header, exact sizes of common
 * replies and their neighbours, pages, the largest READ. */
static const size_t out_caps[32] = {
	0,    1,    15,	   16,	  17,	 24,	 32,	 40,
	56,   80,   96,	   104,	  120,	 128,	 136,	 144,
	152,  160,  200,   256,	  512,	 1024,	 4095,	 4096,
	4112, 8192, 16384, 65536, 65552, 131072, 131088, 262144,
};

/* Cut @len bytes into @n pieces at the fractions @cuts/256. */
static void cut_points(size_t len, const uint8_t *cuts, int n, size_t *at)
{
	size_t prev = 0;

	for (int i = 0; i < n; i++) {
		size_t p = len * cuts[i] / 256;

		if (p < prev)
			p = prev;
		at[i] = p;
		prev = p;
	}
}

static void one_request(struct fuse_session *se, uint8_t ctl, uint8_t outsel,
			const uint8_t *cuts, const uint8_t *req, size_t len)
{
	struct iovec in[4], out[3];
	int in_cnt = 1 + (ctl & 3), out_cnt = ((ctl >> 4) & 3) + 1;
	size_t at[3], cap = out_caps[outsel % 32];
	struct fuse_in_header h;
	struct fuse_chan_req creq;
	uint8_t *copy;

	if (out_cnt == 4)
		out_cnt = 0;
	/* the request, with its length fixed up unless raw */
	copy = malloc(len + 1);
	if (!copy)
		abort();
	memcpy(copy, req, len);
	if (len >= sizeof(h)) {
		memcpy(&h, copy, sizeof(h));
		if (!(ctl & 4))
			h.len = (uint32_t)len;
		if (h.opcode == FUSE_SETLKW)
			h.opcode = FUSE_SETLK;
		memcpy(copy, &h, sizeof(h));
	}
	cut_points(len, cuts, in_cnt - 1, at);
	for (int i = 0; i < in_cnt; i++) {
		size_t from = i ? at[i - 1] : 0;
		size_t to = i < in_cnt - 1 ? at[i] : len;

		in[i].iov_len = to - from;
		in[i].iov_base = malloc(in[i].iov_len + !in[i].iov_len);
		if (!in[i].iov_base)
			abort();
		memcpy(in[i].iov_base, copy + from, in[i].iov_len);
	}
	free(copy);
	if (!out_cnt)
		cap = 0;
	cut_points(cap, cuts + 3, out_cnt - 1 < 0 ? 0 : out_cnt - 1, at);
	for (int i = 0; i < out_cnt; i++) {
		size_t from = i ? at[i - 1] : 0;
		size_t to = i < out_cnt - 1 ? at[i] : cap;

		out[i].iov_len = to - from;
		out[i].iov_base = malloc(out[i].iov_len + !out[i].iov_len);
		if (!out[i].iov_base)
			abort();
		memset(out[i].iov_base, 0xa5, out[i].iov_len);
	}

	T.cap = cap;
	T.out = out;
	T.out_cnt = out_cnt;
	T.completions = 0;
	T.has_header = len >= sizeof(h);
	T.unique = T.has_header ? h.unique : 0;
	creq = (struct fuse_chan_req){ in, in_cnt, out, out_cnt, NULL };
	if (trace)
		fprintf(stderr,
			"%s unique %llu nodeid %llu, %zu bytes in %d, out %zu in %d\n",
			T.has_header ? fuse_opcode_name(h.opcode) : "(short)",
			(unsigned long long)(T.has_header ? h.unique : 0),
			(unsigned long long)(T.has_header ? h.nodeid : 0), len,
			in_cnt, cap, out_cnt);
	fuse_session_process(se, &creq);
	FUZZ_CHECK(T.completions == 1);

	for (int i = 0; i < in_cnt; i++)
		free(in[i].iov_base);
	for (int i = 0; i < out_cnt; i++)
		free(out[i].iov_base);
}

static void send_init(struct fuse_session *se, uint32_t flags, uint32_t flags2)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in in;
	} r = {
		.h = { .len = sizeof(r), .opcode = FUSE_INIT, .unique = 1 },
		.in = { .major = 7,
			.minor = 38,
			.max_readahead = 1 << 20,
			.flags = flags,
			.flags2 = flags2 },
	};
	const uint8_t cuts[5] = { 0 };

	one_request(se, 0, 31, cuts, (const uint8_t *)&r, sizeof(r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	struct fuse_session_opts sopts = { .max_write = MAX_WRITE };
	struct pt_options popts = { 0 };
	struct fuse_session *se;
	struct pt_fs *fs;
	const char *msg = "";
	struct snap now;
	uint8_t b0;
	uint32_t flags, flags2;

	if (!xfsz_ignored) {
		/* here, not in LLVMFuzzerInitialize: libFuzzer installs its
		 * own SIGXFSZ handler after that; a write past RLIMIT_FSIZE
		 * must fail with EFBIG, not end the process */
		signal(SIGXFSZ, SIG_IGN);
		xfsz_ignored = true;
	}
	b0 = next8(&c);
	flags = ~next32(&c);
	flags2 = ~next32(&c);

	make_share();
	popts.source = share;
	popts.cache = (enum pt_cache)((b0 >> 2) & 3);
	popts.xattr = b0 & 0x10;
	popts.writeback = b0 & 0x20;
	popts.readdirplus = b0 & 0x40 ? 1 : -1;
	popts.killpriv_v2 = b0 & 0x80;
	if (pt_new(&popts, &fs, &msg)) {
		fprintf(stderr, "pt_new: %s\n", msg);
		abort();
	}
	sopts.allow_reinit = b0 & 2;
	se = fuse_session_new(&pt_ops, fs, &sopts, &tops, NULL);
	FUZZ_CHECK(se);
	if (!(b0 & 1)) {
		send_init(se, flags, flags2);
		FUZZ_CHECK(fuse_session_initialized(se));
	}

	for (int n = 0; n < MAX_REQS && c.left; n++) {
		uint8_t ctl = next8(&c), outsel = next8(&c), cuts[5];
		size_t len;

		for (int i = 0; i < 5; i++)
			cuts[i] = next8(&c);
		len = next8(&c);
		len |= (size_t)next8(&c) << 8;
		if (len > c.left)
			len = c.left;
		one_request(se, ctl, outsel, cuts, c.p, len);
		c.p += len;
		c.left -= len;
	}

	/* as a transport going away: the file system lets go of it all */
	if (fuse_session_initialized(se))
		pt_ops.destroy(fs);
	fuse_session_free(se);
	pt_free(fs);

	now = take_snap();
	FUZZ_CHECK(same(&now.dir, &outside_snap.dir));
	FUZZ_CHECK(same(&now.file, &outside_snap.file));
	return 0;
}
