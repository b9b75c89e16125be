// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prw: parallel writers and readers on a few shared files.
 *
 *   prw [-w writers] [-r readers] [-f files] [-b blocks] [-s blocksize]
 *       DIR [HOSTDIR]
 *
 * Each writer thread owns the blocks i with i % writers == its id in every
 * file and writes them (in a shuffled order, through its own file
 * descriptors) with a pattern derived from file, block and byte offset that
 * never contains a zero byte. The block size is deliberately not a multiple
 * of the page size, so neighbouring writers share pages. Reader threads
 * read random ranges meanwhile: every byte must be zero (not yet written)
 * or the pattern. At the end every byte is verified through DIR and, when
 * given, through HOSTDIR (the same files seen directly on the host).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned int nwriters = 4, nreaders = 2, nfiles = 3, nblocks = 256;
static size_t blocksize = 5000;
static const char *dir;
static atomic_int writers_done;
static atomic_int failed;

static unsigned char pattern(unsigned int file, uint64_t off)
{
	uint64_t block = off / blocksize;
	uint64_t x = (file + 1) * 0x9E3779B97F4A7C15ULL ^ (block << 20) ^ off;

	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 32;
	return (unsigned char)(1 + x % 255); /* never 0 */
}

static void file_path(char *buf, size_t len, const char *base,
		      unsigned int file)
{
	snprintf(buf, len, "%s/prw.%u", base, file);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void *writer(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	unsigned char *buf = malloc(blocksize);
	unsigned int *order = malloc(nblocks * sizeof(*order));
	uint64_t seed = 0x1234567ULL + id;
	int fds[16];
	unsigned int n = 0;

	if (!buf || !order)
		goto out_free;
	for (unsigned int f = 0; f < nfiles; f++) {
		char p[4096];

		file_path(p, sizeof(p), dir, f);
		fds[f] = open(p, O_WRONLY);
		if (fds[f] < 0) {
			fprintf(stderr, "writer %u: open %s: %s\n", id, p,
				strerror(errno));
			atomic_store(&failed, 1);
			goto out_free;
		}
	}
	for (unsigned int b = id; b < nblocks; b += nwriters)
		order[n++] = b;
	for (unsigned int i = n; i > 1; i--) {
		unsigned int j = (unsigned int)(rnd(&seed) % i),
			     t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	for (unsigned int i = 0; i < n && !atomic_load(&failed); i++) {
		for (unsigned int f = 0; f < nfiles; f++) {
			uint64_t off = (uint64_t)order[i] * blocksize;
			size_t done = 0;

			for (size_t k = 0; k < blocksize; k++)
				buf[k] = pattern(f, off + k);
			while (done < blocksize) {
				ssize_t w = pwrite(fds[f], buf + done,
						   blocksize - done,
						   (off_t)(off + done));

				if (w <= 0) {
					fprintf(stderr,
						"writer %u: pwrite file %u "
						"off %" PRIu64 ": %s\n",
						id, f, off + done,
						w < 0 ? strerror(errno) :
							"returned 0");
					atomic_store(&failed, 1);
					break;
				}
				done += (size_t)w;
			}
		}
	}
	for (unsigned int f = 0; f < nfiles; f++)
		close(fds[f]);
out_free:
	free(buf);
	free(order);
	atomic_fetch_add(&writers_done, 1);
	return NULL;
}

static void *reader(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	size_t maxlen = blocksize * 3;
	unsigned char *buf = malloc(maxlen);
	uint64_t seed = 0xabcdefULL + id, total = (uint64_t)nblocks * blocksize;
	int fds[16];
	unsigned long reads = 0;

	if (!buf)
		return NULL;
	for (unsigned int f = 0; f < nfiles; f++) {
		char p[4096];

		file_path(p, sizeof(p), dir, f);
		fds[f] = open(p, O_RDONLY);
		if (fds[f] < 0) {
			fprintf(stderr, "reader %u: open: %s\n", id,
				strerror(errno));
			atomic_store(&failed, 1);
			free(buf);
			return NULL;
		}
	}
	/* Read until all writers are done, and at least a little. */
	while ((atomic_load(&writers_done) < (int)nwriters || reads < 64) &&
	       !atomic_load(&failed)) {
		unsigned int f = (unsigned int)(rnd(&seed) % nfiles);
		uint64_t off = rnd(&seed) % total;
		size_t len = 1 + (size_t)(rnd(&seed) % maxlen);
		ssize_t n;

		if (off + len > total)
			len = (size_t)(total - off);
		n = pread(fds[f], buf, len, (off_t)off);
		if (n < 0) {
			fprintf(stderr, "reader %u: pread: %s\n", id,
				strerror(errno));
			atomic_store(&failed, 1);
			break;
		}
		for (ssize_t k = 0; k < n; k++) {
			unsigned char want = pattern(f, off + (uint64_t)k);

			if (buf[k] != 0 && buf[k] != want) {
				fprintf(stderr,
					"reader %u: file %u offset %" PRIu64
					": read 0x%02x, expected 0 or 0x%02x\n",
					id, f, off + (uint64_t)k, buf[k], want);
				atomic_store(&failed, 1);
				break;
			}
		}
		reads++;
	}
	for (unsigned int f = 0; f < nfiles; f++)
		close(fds[f]);
	free(buf);
	return NULL;
}

/* Verify every byte of every file under @base; returns 0 when all match. */
static int verify(const char *base)
{
	uint64_t total = (uint64_t)nblocks * blocksize;
	unsigned char *buf = malloc(1 << 20);
	int rc = 0;

	if (!buf)
		return 1;
	for (unsigned int f = 0; f < nfiles && !rc; f++) {
		char p[4096];
		struct stat st;
		uint64_t off = 0;
		int fd;

		file_path(p, sizeof(p), base, f);
		fd = open(p, O_RDONLY);
		if (fd < 0 || fstat(fd, &st) < 0) {
			fprintf(stderr, "verify %s: %s\n", p, strerror(errno));
			rc = 1;
			break;
		}
		if ((uint64_t)st.st_size != total) {
			fprintf(stderr,
				"verify %s: size %lld, expected %" PRIu64 "\n",
				p, (long long)st.st_size, total);
			rc = 1;
		}
		while (off < total && !rc) {
			ssize_t n = pread(fd, buf, 1 << 20, (off_t)off);

			if (n <= 0) {
				fprintf(stderr,
					"verify %s: short read at %" PRIu64
					"\n",
					p, off);
				rc = 1;
				break;
			}
			for (ssize_t k = 0; k < n; k++) {
				if (buf[k] != pattern(f, off + (uint64_t)k)) {
					fprintf(stderr,
						"verify %s: offset %" PRIu64
						" (block %" PRIu64
						"): 0x%02x, expected 0x%02x\n",
						p, off + (uint64_t)k,
						(off + (uint64_t)k) / blocksize,
						buf[k],
						pattern(f, off + (uint64_t)k));
					rc = 1;
					break;
				}
			}
			off += (uint64_t)n;
		}
		close(fd);
	}
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	unsigned int nth = 0;
	int opt;

	while ((opt = getopt(argc, argv, "w:r:f:b:s:")) != -1) {
		switch (opt) {
		case 'w':
			nwriters = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			nreaders = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'f':
			nfiles = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			nblocks = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			blocksize = strtoul(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc && optind + 2 != argc)
		goto usage;
	if (!nwriters || nwriters + nreaders > 64 || !nfiles || nfiles > 16 ||
	    !nblocks || !blocksize)
		goto usage;
	dir = argv[optind];

	for (unsigned int f = 0; f < nfiles; f++) {
		char p[4096];
		int fd;

		file_path(p, sizeof(p), dir, f);
		fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 ||
		    ftruncate(fd, (off_t)((uint64_t)nblocks * blocksize)) < 0) {
			fprintf(stderr, "prw: create %s: %s\n", p,
				strerror(errno));
			return 1;
		}
		close(fd);
	}
	for (unsigned int i = 0; i < nwriters; i++)
		pthread_create(&th[nth++], NULL, writer, (void *)(uintptr_t)i);
	for (unsigned int i = 0; i < nreaders; i++)
		pthread_create(&th[nth++], NULL, reader, (void *)(uintptr_t)i);
	for (unsigned int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&failed))
		return 1;
	if (verify(dir))
		return 1;
	if (optind + 2 == argc && verify(argv[optind + 1]))
		return 1;
	printf("prw: %u writers, %u readers, %u files of %u blocks of %zu "
	       "bytes: ok\n",
	       nwriters, nreaders, nfiles, nblocks, blocksize);
	return 0;

usage:
	fprintf(stderr, "usage: prw [-w writers] [-r readers] [-f files] "
			"[-b blocks] [-s blocksize] DIR [HOSTDIR]\n");
	return 2;
}
