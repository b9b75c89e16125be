// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest helper (static, busybox has no mmap): map FILE shared, write TEXT
 * at offset 0 through the mapping, msync, unmap. Exit 0 on success; on
 * failure print the failing step and errno name and exit 1.
 *
 *   mapcheck FILE TEXT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t len;
	char *p;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: mapcheck FILE TEXT\n");
		return 2;
	}
	len = strlen(argv[2]);
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		printf("open: %s\n", strerrorname_np(errno));
		return 1;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		printf("mmap: %s\n", strerrorname_np(errno));
		return 1;
	}
	if (len > 4096)
		len = 4096;
	memcpy(p, argv[2], len);
	if (msync(p, 4096, MS_SYNC)) {
		printf("msync: %s\n", strerrorname_np(errno));
		return 1;
	}
	munmap(p, 4096);
	close(fd);
	return 0;
}
