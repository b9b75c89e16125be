// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-smoke: drive a virtio-fs daemon over vhost-user with no VM.
 *
 *   vhost-smoke [-v] [--one-region] [--no-event-idx] [--indirect] [--spin]
 *               -- DAEMON ARGS...
 *
 * "{sock}" and "{dir}" (or "@SOCK@" and "@DIR@") in the daemon's arguments
 * become a socket path and a shared directory inside a fresh temporary
 * directory, e.g.
 *
 *   vhost-smoke -- /usr/lib/qemu/virtiofsd --socket-path={sock} \
 *       -o source={dir} -o cache=auto
 *   vhost-smoke -- vfsd --shared-dir {dir} --socket-path {sock}
 *
 * Steps: start the daemon; negotiate and set up every queue; FUSE INIT;
 * LOOKUP, OPEN, READ of a file made beforehand; WRITE and READ back;
 * GETATTR; CREATE and WRITE a new file; several requests in flight at once;
 * an indirect chain; RELEASE; FORGET on the hiprio queue; GET_VRING_BASE;
 * disconnect; the daemon must exit on its own. Prints PASS or FAIL;
 * exit status 0, 1, or 77 (skip) when the daemon cannot be executed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

#define FILE_SIZE 100000
#define NR_INFLIGHT 8

static int step_no;
static char tmpdir[64];
static char share[128];
static char sock[128];
static pid_t daemon_pid = -1;
static uint8_t data[FILE_SIZE]; /* content of hello.txt */

/* Report step @what: @r is 0 or -errno. */
static int step(int r, const char *what)
{
	step_no++;
	if (r) {
		printf("not ok %d - %s: %s\n", step_no, what, strerror(-r));
		return -1;
	}
	printf("ok %d - %s\n", step_no, what);
	return 0;
}

static int check(bool cond, const char *what)
{
	return step(cond ? 0 : -EBADMSG, what);
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + seed + (i >> 8));
}

static int write_host_file(const char *name, const void *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", share, name);
	return tu_write_file(path, buf, len);
}

static int read_host_file(const char *name, void *buf, size_t cap, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", share, name);
	return tu_read_file(path, buf, cap, len);
}

static void remove_tree(void)
{
	char path[256];

	if (!tmpdir[0])
		return;
	snprintf(path, sizeof(path), "%s/hello.txt", share);
	unlink(path);
	snprintf(path, sizeof(path), "%s/created.txt", share);
	unlink(path);
	rmdir(share);
	unlink(sock);
	rmdir(tmpdir);
}

/* Several GETATTRs in flight at once on @q; each must come back once with
 * its own unique. */
static int inflight_getattrs(struct vhf *fe, unsigned q, uint64_t nodeid,
			     bool indirect)
{
	struct vhf_buf in[NR_INFLIGHT], out[NR_INFLIGHT];
	uint64_t unique[NR_INFLIGHT];
	unsigned seen = 0, i;
	int r = 0;

	memset(in, 0, sizeof(in));
	memset(out, 0, sizeof(out));
	for (i = 0; i < NR_INFLIGHT; i++) {
		size_t inlen = sizeof(struct fuse_in_header) +
			       sizeof(struct fuse_getattr_in);
		struct fuse_in_header h;
		struct vhf_seg segs[3];

		r = vhf_alloc(fe, inlen, &in[i]);
		if (!r)
			r = vhf_alloc(fe, 4096, &out[i]);
		if (r)
			goto out_free;
		vhf_fuse_in_header(fe, &h, FUSE_GETATTR, nodeid,
				   (uint32_t)inlen);
		unique[i] = h.unique;
		memcpy(in[i].hva, &h, sizeof(h));
		segs[0] = (struct vhf_seg){ in[i].gpa, sizeof(h), false };
		segs[1] = (struct vhf_seg){ in[i].gpa + sizeof(h),
					    sizeof(struct fuse_getattr_in),
					    false };
		segs[2] = (struct vhf_seg){ out[i].gpa, 4096, true };
		r = vhf_submit(fe, q, segs, 3, indirect, &unique[i]);
		if (r)
			goto out_free;
	}
	vhf_note("%u chains in flight on queue %u, %llu kicks so far",
		 vhf_inflight(fe, q), q, (unsigned long long)vhf_kicks(fe, q));
	while (vhf_inflight(fe, q)) {
		struct fuse_out_header oh;
		uint32_t len;
		void *cookie;

		r = vhf_wait(fe, q, 0, &len, &cookie);
		if (r)
			goto out_free;
		if (!cookie) {
			r = -EPROTO;
			goto out_free;
		}
		i = (unsigned)((uint64_t *)cookie - unique);
		memcpy(&oh, out[i].hva, sizeof(oh));
		if (len != sizeof(oh) + sizeof(struct fuse_attr_out) ||
		    oh.len != len || oh.error || oh.unique != unique[i] ||
		    (seen & (1u << i))) {
			r = -EBADMSG;
			goto out_free;
		}
		seen |= 1u << i;
	}
	if (seen != (1u << NR_INFLIGHT) - 1)
		r = -EBADMSG;
out_free:
	for (i = 0; i < NR_INFLIGHT; i++) {
		vhf_free(fe, &in[i]);
		vhf_free(fe, &out[i]);
	}
	return r;
}

static int run(struct vhf *fe)
{
	static uint8_t buf[FILE_SIZE], host[FILE_SIZE + 16];
	const struct vhf_info *info = vhf_info(fe);
	const char msg[] = "written over vhost-user";
	struct fuse_entry_out e, ce;
	struct fuse_open_out o, co;
	struct fuse_attr_out a;
	struct fuse_init_out init;
	uint32_t got = 0, chunk, done;
	size_t hlen = 0;
	unsigned rq = 1;
	int fails = 0, r;

	vhf_note("features %#llx acked %#llx, protocol %#llx acked %#llx",
		 (unsigned long long)info->features,
		 (unsigned long long)info->acked_features,
		 (unsigned long long)info->protocol_features,
		 (unsigned long long)info->acked_protocol);
	vhf_note("backend queues %u, set up %u of %u entries%s%s",
		 info->backend_queues, info->nr_queues, info->queue_size,
		 info->have_config ? ", config tag " : "",
		 info->have_config ? (info->tag[0] ? info->tag : "(empty)") :
				     "");
	if (check(info->nr_queues >= 2, "hiprio and a request queue"))
		return 1;

	r = vhf_fuse_init(fe, rq, FUSE_MAX_PAGES | FUSE_ASYNC_READ, &init);
	if (step(r, "FUSE_INIT"))
		return 1;
	vhf_note("INIT: %u.%u max_write %u max_pages %u flags %#x", init.major,
		 init.minor, init.max_write, init.max_pages, init.flags);
	fails += check(init.major == FUSE_KERNEL_VERSION && init.minor >= 27,
		       "INIT version 7.27 or later");

	r = vhf_fuse_lookup(fe, rq, FUSE_ROOT_ID, "hello.txt", &e);
	if (step(r, "LOOKUP hello.txt"))
		return 1;
	fails += check(e.nodeid != 0 && e.nodeid != FUSE_ROOT_ID &&
			       e.attr.size == FILE_SIZE &&
			       (e.attr.mode & S_IFMT) == S_IFREG,
		       "LOOKUP attributes");

	r = vhf_fuse_open(fe, rq, e.nodeid, O_RDWR, &o);
	if (step(r, "OPEN O_RDWR"))
		return 1;

	chunk = init.max_pages ? init.max_pages * 4096u : 32768;
	if (chunk > 65536)
		chunk = 65536;
	for (done = 0, r = 0; done < FILE_SIZE && !r; done += got) {
		r = vhf_fuse_read(fe, rq, e.nodeid, o.fh, done, buf + done,
				  chunk, &got);
		if (!r && !got)
			r = -ENODATA;
	}
	fails += step(r, "READ whole file");
	fails += check(!r && done == FILE_SIZE && !memcmp(buf, data, done),
		       "READ content");

	r = vhf_fuse_write(fe, rq, e.nodeid, o.fh, 4000, msg, sizeof(msg),
			   &got);
	fails += step(r, "WRITE");
	fails += check(!r && got == sizeof(msg), "WRITE size");
	r = vhf_fuse_read(fe, rq, e.nodeid, o.fh, 4000, buf, sizeof(msg), &got);
	fails += check(!r && got == sizeof(msg) && !memcmp(buf, msg, got),
		       "READ back");
	r = read_host_file("hello.txt", host, sizeof(host), &hlen);
	fails += check(!r && hlen == FILE_SIZE &&
			       !memcmp(host + 4000, msg, sizeof(msg)) &&
			       !memcmp(host, data, 4000),
		       "WRITE visible on the host");

	r = vhf_fuse_getattr(fe, rq, e.nodeid, &a);
	fails += step(r, "GETATTR");
	fails += check(!r && a.attr.size == FILE_SIZE &&
			       a.attr.ino == e.attr.ino,
		       "GETATTR attributes");

	r = vhf_fuse_create(fe, rq, FUSE_ROOT_ID, "created.txt",
			    O_RDWR | O_CREAT | O_EXCL, S_IFREG | 0640, &ce,
			    &co);
	fails += step(r, "CREATE created.txt");
	if (!r) {
		fill(buf, 8192, 7);
		r = vhf_fuse_write(fe, rq, ce.nodeid, co.fh, 0, buf, 8192,
				   &got);
		fails += check(!r && got == 8192, "WRITE new file");
		r = read_host_file("created.txt", host, sizeof(host), &hlen);
		fails += check(!r && hlen == 8192 && !memcmp(host, buf, 8192),
			       "new file on the host");
		fails +=
			step(vhf_fuse_release(fe, rq, ce.nodeid, co.fh, O_RDWR),
			     "RELEASE new file");
	}

	fails += step(inflight_getattrs(fe, rq, e.nodeid, false),
		      "8 GETATTRs in flight");
	if (info->acked_features & (1ull << VIRTIO_RING_F_INDIRECT_DESC))
		fails += step(inflight_getattrs(fe, rq, e.nodeid, true),
			      "8 indirect GETATTRs in flight");

	fails += step(vhf_fuse_release(fe, rq, e.nodeid, o.fh, O_RDWR),
		      "RELEASE");
	fails += step(vhf_fuse_forget(fe, e.nodeid, 1), "FORGET on hiprio");
	if (!r)
		fails += step(vhf_fuse_forget(fe, ce.nodeid, 1),
			      "FORGET new file");
	fails += step(vhf_stop(fe), "GET_VRING_BASE on every queue");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct vhf_opts opts = { .timeout_ms = 10000 };
	struct vhf *fe = NULL;
	int i, r, status = 0, fails = 0;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-v"))
			vhf_verbose = 1;
		else if (!strcmp(argv[i], "--one-region"))
			opts.nr_regions = 1;
		else if (!strcmp(argv[i], "--no-event-idx"))
			opts.no_event_idx = true;
		else if (!strcmp(argv[i], "--indirect"))
			opts.use_indirect = true;
		else if (!strcmp(argv[i], "--spin"))
			opts.spin = true;
		else
			goto usage;
	}
	if (i + 1 >= argc)
		goto usage;
	signal(SIGPIPE, SIG_IGN);

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vhost-smoke.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(share, sizeof(share), "%s/share", tmpdir);
	snprintf(sock, sizeof(sock), "%s/vhost.sock", tmpdir);
	if (mkdir(share, 0755)) {
		perror("mkdir");
		return 1;
	}
	fill(data, sizeof(data), 1);
	r = write_host_file("hello.txt", data, sizeof(data));
	if (r) {
		fprintf(stderr, "cannot make hello.txt: %s\n", strerror(-r));
		goto out_rm;
	}

	r = vhf_spawn(argv + i + 1, sock, share, &daemon_pid);
	if (r) {
		fprintf(stderr, "cannot start daemon: %s\n", strerror(-r));
		goto out_rm;
	}
	opts.daemon_pid = daemon_pid;
	r = vhf_connect(&fe, sock, &opts);
	if (step(r, "connect and set up the device")) {
		if (!vhf_reap(daemon_pid, 0, &status)) {
			daemon_pid = -1;
			printf("# daemon exited before serving, status %#x\n",
			       status);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
				printf("SKIP: daemon cannot be run\n");
				remove_tree();
				return 77;
			}
		}
		fails++;
		goto out_kill;
	}
	fails += run(fe);
	vhf_disconnect(fe);
	fe = NULL;

	r = vhf_reap(daemon_pid, 10000, &status);
	fails += step(r, "daemon exits after disconnect");
	if (!r) {
		daemon_pid = -1;
		vhf_note("daemon status %#x", status);
		fails += check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			       "daemon exit status 0");
	}
out_kill:
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		vhf_reap(daemon_pid, 5000, &status);
	}
	vhf_disconnect(fe);
	remove_tree();
	printf("%s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
out_rm:
	remove_tree();
	return 1;
usage:
	fprintf(stderr,
		"usage: %s [-v] [--one-region] [--no-event-idx] [--indirect] "
		"[--spin] -- DAEMON ARGS... ({sock} and {dir} are "
		"substituted)\n",
		argv[0]);
	return 2;
}
