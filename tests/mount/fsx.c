// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsx: randomized single-file exerciser in the style of the classic fsx.
 *
 *   fsx [-S seed] [-N ops] [-l maxlen] [-o maxop] [-v verify-every] FILE
 *
 * Keeps an in-memory model of FILE and applies a seeded random sequence of
 * writes, reads (verified against the model), truncates (grow and shrink),
 * fallocate (0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE with and without
 * KEEP_SIZE), size checks, periodic full-file verification and occasional
 * close/reopen. On the first mismatch it prints the tail of the operation
 * log and the first differing offset and exits 1. The seed is printed so a
 * failure can be replayed with -S.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define LOG_SIZE 64

enum op {
	OP_WRITE,
	OP_READ,
	OP_TRUNCATE,
	OP_FALLOC,
	OP_FALLOC_KEEP,
	OP_PUNCH,
	OP_ZERO,
	OP_ZERO_KEEP,
	OP_REOPEN,
	OP_VERIFY,
	OP_SIZE,
	OP_COUNT,
};

static const char *const op_names[OP_COUNT] = {
	[OP_WRITE] = "write",
	[OP_READ] = "read",
	[OP_TRUNCATE] = "truncate",
	[OP_FALLOC] = "fallocate",
	[OP_FALLOC_KEEP] = "fallocate KEEP_SIZE",
	[OP_PUNCH] = "PUNCH_HOLE|KEEP_SIZE",
	[OP_ZERO] = "ZERO_RANGE",
	[OP_ZERO_KEEP] = "ZERO_RANGE|KEEP_SIZE",
	[OP_REOPEN] = "close/reopen",
	[OP_VERIFY] = "verify",
	[OP_SIZE] = "size check",
};

struct log_entry {
	unsigned long n;
	enum op op;
	uint64_t off, len;
	uint64_t size_before, size_after;
};

static struct log_entry oplog[LOG_SIZE];
static unsigned long opno;
static uint64_t rng_state;
static const char *path;
static unsigned char *model, *buf;
static uint64_t model_size, maxlen, maxop;
static int fd = -1;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void log_op(enum op op, uint64_t off, uint64_t len, uint64_t before)
{
	struct log_entry *e = &oplog[opno % LOG_SIZE];

	*e = (struct log_entry){ .n = opno,
				 .op = op,
				 .off = off,
				 .len = len,
				 .size_before = before,
				 .size_after = model_size };
}

static void dump_log(void)
{
	unsigned long first = opno >= LOG_SIZE ? opno - LOG_SIZE + 1 : 0;

	fprintf(stderr, "last operations (newest last):\n");
	for (unsigned long i = first; i <= opno; i++) {
		struct log_entry *e = &oplog[i % LOG_SIZE];

		if (e->n != i)
			continue;
		fprintf(stderr,
			"  %8lu %-22s off=%-8" PRIu64 " len=%-7" PRIu64
			" size %" PRIu64 " -> %" PRIu64 "\n",
			e->n, op_names[e->op], e->off, e->len, e->size_before,
			e->size_after);
	}
}

static void __attribute__((noreturn)) fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fsx: FAIL at op %lu: ", opno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_log();
	exit(1);
}

static void do_open(void)
{
	fd = open(path, O_RDWR);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
}

static void check_size(void)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		fail("fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != model_size)
		fail("size is %lld, expected %" PRIu64, (long long)st.st_size,
		     model_size);
}

/* Read [off, off+len) and compare with the model. */
static void check_range(uint64_t off, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n =
			pread(fd, buf + done, len - done, (off_t)(off + done));

		if (n < 0)
			fail("pread off=%" PRIu64 " len=%" PRIu64 ": %s",
			     off + done, len - done, strerror(errno));
		if (n == 0)
			break;
		done += (uint64_t)n;
	}
	if (done != len)
		fail("short read at %" PRIu64 ": %" PRIu64 " of %" PRIu64
		     " bytes (model size %" PRIu64 ")",
		     off, done, len, model_size);
	if (memcmp(buf, model + off, len)) {
		uint64_t i = 0;

		while (buf[i] == model[off + i])
			i++;
		fail("data mismatch at offset %" PRIu64 " (0x%" PRIx64
		     "): file has 0x%02x, expected 0x%02x (read off=%" PRIu64
		     " len=%" PRIu64 ")",
		     off + i, off + i, buf[i], model[off + i], off, len);
	}
}

static void verify_all(void)
{
	check_size();
	check_range(0, model_size);
}

static void op_write(void)
{
	uint64_t off = rnd_below(maxlen), len = 1 + rnd_below(maxop);
	uint64_t before = model_size, done = 0;
	unsigned char seed = (unsigned char)(opno * 7 + 1);

	if (off + len > maxlen)
		len = maxlen - off;
	if (!len)
		return;
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed + (off + i) % 251);
	memcpy(model + off, buf, len);
	if (off + len > model_size)
		model_size = off + len;
	log_op(OP_WRITE, off, len, before);
	while (done < len) {
		ssize_t n =
			pwrite(fd, buf + done, len - done, (off_t)(off + done));

		if (n <= 0)
			fail("pwrite off=%" PRIu64 " len=%" PRIu64 ": %s",
			     off + done, len - done,
			     n < 0 ? strerror(errno) : "returned 0");
		done += (uint64_t)n;
	}
}

static void op_read(void)
{
	uint64_t off, len;

	if (!model_size) {
		log_op(OP_READ, 0, 0, 0);
		check_range(0, 0);
		return;
	}
	off = rnd_below(model_size);
	len = 1 + rnd_below(maxop);
	if (off + len > model_size)
		len = model_size - off;
	log_op(OP_READ, off, len, model_size);
	check_range(off, len);
}

static void op_truncate(void)
{
	uint64_t before = model_size, size = rnd_below(maxlen + 1);

	if (size > model_size)
		memset(model + model_size, 0, size - model_size);
	else
		memset(model + size, 0, model_size - size);
	model_size = size;
	log_op(OP_TRUNCATE, size, 0, before);
	if (ftruncate(fd, (off_t)size) < 0)
		fail("ftruncate %" PRIu64 ": %s", size, strerror(errno));
}

static void op_falloc(enum op op)
{
	static const int modes[OP_COUNT] = {
		[OP_FALLOC] = 0,
		[OP_FALLOC_KEEP] = FALLOC_FL_KEEP_SIZE,
		[OP_PUNCH] = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		[OP_ZERO] = FALLOC_FL_ZERO_RANGE,
		[OP_ZERO_KEEP] = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	};
	uint64_t off = rnd_below(maxlen), len = 1 + rnd_below(maxop);
	uint64_t before = model_size, end;

	if (off + len > maxlen)
		len = maxlen - off;
	if (!len)
		return;
	end = off + len;
	switch (op) {
	case OP_PUNCH:
	case OP_ZERO:
	case OP_ZERO_KEEP:
		if (off < model_size)
			memset(model + off, 0,
			       (end < model_size ? end : model_size) - off);
		break;
	default:
		break;
	}
	if (!(modes[op] & FALLOC_FL_KEEP_SIZE) && end > model_size)
		model_size = end; /* new bytes read as zeros */
	log_op(op, off, len, before);
	if (fallocate(fd, modes[op], (off_t)off, (off_t)len) < 0)
		fail("%s off=%" PRIu64 " len=%" PRIu64 ": %s", op_names[op],
		     off, len, strerror(errno));
}

static void usage(void)
{
	fprintf(stderr, "usage: fsx [-S seed] [-N ops] [-l maxlen] [-o maxop] "
			"[-v verify-every] FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long nops = 100000, verify_every = 1000;
	uint64_t seed = 0;
	bool have_seed = false;
	int opt;

	maxlen = 256 * 1024;
	maxop = 8192;
	while ((opt = getopt(argc, argv, "S:N:l:o:v:")) != -1) {
		switch (opt) {
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			have_seed = true;
			break;
		case 'N':
			nops = strtoul(optarg, NULL, 0);
			break;
		case 'l':
			maxlen = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			maxop = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			verify_every = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc || !maxlen || !maxop || !verify_every)
		usage();
	path = argv[optind];
	if (!have_seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	rng_state = seed ? seed : 1;
	printf("fsx: %s seed=%" PRIu64 " ops=%lu maxlen=%" PRIu64
	       " maxop=%" PRIu64 "\n",
	       path, seed, nops, maxlen, maxop);
	fflush(stdout);

	model = calloc(1, maxlen);
	buf = malloc(maxlen > maxop ? maxlen : maxop);
	if (!model || !buf) {
		fprintf(stderr, "fsx: out of memory\n");
		return 1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "fsx: create %s: %s\n", path, strerror(errno));
		return 1;
	}

	for (opno = 1; opno <= nops; opno++) {
		unsigned int r = (unsigned int)rnd_below(100);

		if (r < 35)
			op_write();
		else if (r < 65)
			op_read();
		else if (r < 72)
			op_truncate();
		else if (r < 76)
			op_falloc(OP_FALLOC);
		else if (r < 80)
			op_falloc(OP_FALLOC_KEEP);
		else if (r < 86)
			op_falloc(OP_PUNCH);
		else if (r < 91)
			op_falloc(OP_ZERO);
		else if (r < 95)
			op_falloc(OP_ZERO_KEEP);
		else if (r < 96) {
			log_op(OP_REOPEN, 0, 0, model_size);
			if (close(fd) < 0)
				fail("close: %s", strerror(errno));
			do_open();
		} else {
			log_op(OP_SIZE, 0, 0, model_size);
			check_size();
		}
		if (opno % verify_every == 0) {
			log_op(OP_VERIFY, 0, model_size, model_size);
			verify_all();
		}
	}
	opno = nops;
	verify_all();
	if (close(fd) < 0)
		fail("close: %s", strerror(errno));
	/* Verify once more through a fresh open. */
	do_open();
	verify_all();
	close(fd);
	printf("fsx: %lu operations ok, final size %" PRIu64 "\n", nops,
	       model_size);
	free(model);
	free(buf);
	return 0;
}
