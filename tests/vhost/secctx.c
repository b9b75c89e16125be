// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vhost-secctx: --security-label (FUSE_SECURITY_CTX) driven over vhost-user
 * with no VM, since a guest kernel sends a context only when an LSM such as
 * SELinux runs in it with a policy.
 *
 *   vhost-secctx [-v] --expect map|direct|refused [--name NAME]
 *                -- DAEMON ARGS...
 *
 * The daemon is started twice: once for a client of protocol 7.38, which
 * sends the context as a request extension, once for 7.37, which sends it
 * as one more argument after the names. Each creates, with a context
 * named NAME (default "security.selinux") and as uid/gid 1000, a file (CREATE), a directory
 * (MKDIR), a FIFO (MKNOD) and a symlink (SYMLINK), then checks on the host:
 *
 *   map      the daemon runs with --xattrmap storing security.* as
 *            user.virtiofs.security.*: the file and the directory carry
 *            the label under that name; the FIFO and the symlink, which the
 *            host refuses user.* xattrs, fail with EPERM and are not left
 *            behind;
 *   direct   the daemon keeps CAP_SYS_ADMIN: all four carry NAME;
 *   refused  the daemon lacks CAP_SYS_ADMIN, which the host wants for a
 *            security.* name no LSM of its own claims (security.selinux
 *            may be claimed even where SELinux is off): all four fail
 *            with EPERM and nothing is left.
 *
 * In every mode: each object that exists is owned by 1000:1000; a create
 * without a context works and carries no label; a malformed context
 * (truncated record, a name outside "security.", a header whose size is
 * wrong) gets EINVAL, creates nothing, and the daemon keeps serving.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/limits.h>
#include <unistd.h>

#include "frontend.h"
#include "testutil.h"

#define RQ 1 /* the first request queue */
#define UID 1000
static const char LABEL[] = "system_u:object_r:vfsd_test_t:s0";

enum expect { EXPECT_MAP, EXPECT_DIRECT, EXPECT_REFUSED };

static enum expect expect;
static const char *label_name = "security.selinux";
static char mapped_name[XATTR_NAME_MAX + 1];
static int fails, step_no;
static char tmpdir[64], share[128], sock[128];

static void ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++step_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fails += !cond;
}

/* The secctx blob: header, one record, name, value, padded to 8. */
struct blob {
	unsigned char b[256];
	size_t len;
};

static void make_blob(struct blob *bl, const char *name, size_t vlen,
		      bool truncate)
{
	struct fuse_secctx_header h = { 0 };
	struct fuse_secctx sc = { .size = (uint32_t)vlen };
	size_t nl = strlen(name) + 1, off = sizeof(h);

	memset(bl, 0, sizeof(*bl));
	memcpy(bl->b + off, &sc, sizeof(sc));
	off += sizeof(sc);
	memcpy(bl->b + off, name, nl);
	off += nl;
	memcpy(bl->b + off, LABEL, vlen);
	off += vlen;
	off = (off + 7) & ~(size_t)7;
	if (truncate)
		off = sizeof(h) + sizeof(sc) + 8; /* the name cut short */
	h.size = (uint32_t)off;
	h.nr_secctx = 1;
	memcpy(bl->b, &h, sizeof(h));
	bl->len = off;
}

static void empty_blob(struct blob *bl)
{
	struct fuse_secctx_header h = { .size = sizeof(h), .nr_secctx = 0 };

	memset(bl, 0, sizeof(*bl));
	memcpy(bl->b, &h, sizeof(h));
	bl->len = sizeof(h);
}

/*
 * Send @opcode with @fixed (may be NULL), then @names (NUL-separated,
 * @nlen bytes), then the blob in the form of @minor. Returns the FUSE error
 * (0 or -errno) or a transport error.
 */
static int send_create(struct vhf *fe, int minor, uint32_t opcode,
		       const void *fixed, size_t flen, const char *names,
		       size_t nlen, const struct blob *bl)
{
	unsigned char reply[sizeof(struct fuse_out_header) + 512];
	size_t outs[1] = { sizeof(reply) };
	struct iovec a[3];
	struct fuse_out_header oh;
	unsigned n = 0;
	size_t got = 0;
	int r;

	if (fixed)
		a[n++] = (struct iovec){ (void *)fixed, flen };
	a[n++] = (struct iovec){ (void *)names, nlen };
	if (bl) {
		a[n++] = (struct iovec){ (void *)bl->b, bl->len };
		if (minor >= 38)
			vhf_fuse_next_extlen(fe, (uint16_t)(bl->len / 8));
	}
	r = vhf_fuse(fe, RQ, opcode, FUSE_ROOT_ID, a, n, outs, 1, reply,
		     sizeof(reply), &got);
	if (r)
		return r;
	if (got < sizeof(oh))
		return -EBADMSG;
	memcpy(&oh, reply, sizeof(oh));
	return oh.error;
}

static int do_create(struct vhf *fe, int minor, const char *name,
		     const struct blob *bl)
{
	struct fuse_create_in in = { .flags = O_WRONLY,
				     .mode = S_IFREG | 0644 };

	return send_create(fe, minor, FUSE_CREATE, &in, sizeof(in), name,
			   strlen(name) + 1, bl);
}

static int do_mkdir(struct vhf *fe, int minor, const char *name,
		    const struct blob *bl)
{
	struct fuse_mkdir_in in = { .mode = 0755 };

	return send_create(fe, minor, FUSE_MKDIR, &in, sizeof(in), name,
			   strlen(name) + 1, bl);
}

static int do_mknod(struct vhf *fe, int minor, const char *name,
		    const struct blob *bl)
{
	struct fuse_mknod_in in = { .mode = S_IFIFO | 0644 };

	return send_create(fe, minor, FUSE_MKNOD, &in, sizeof(in), name,
			   strlen(name) + 1, bl);
}

static int do_symlink(struct vhf *fe, int minor, const char *name,
		      const struct blob *bl)
{
	char names[128];
	size_t nl = strlen(name) + 1;

	memcpy(names, name, nl);
	memcpy(names + nl, "target", 7);
	return send_create(fe, minor, FUSE_SYMLINK, NULL, 0, names, nl + 7, bl);
}

/* The label on the host object @name: its length, or -errno. */
static ssize_t host_label(const char *name, const char *xname, char *buf,
			  size_t cap)
{
	char path[256];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", share, name);
	n = lgetxattr(path, xname, buf, cap);
	return n < 0 ? -errno : n;
}

static bool host_exists(const char *name, struct stat *st)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", share, name);
	return lstat(path, st) == 0;
}

typedef int (*maker)(struct vhf *, int, const char *, const struct blob *);

/* One object made with the label: the outcome the mode predicts. */
static void labelled(struct vhf *fe, int minor, const char *what, maker fn,
		     const char *name, bool user_ok)
{
	const char *xname = expect == EXPECT_MAP ? mapped_name : label_name;
	bool want_ok =
		expect == EXPECT_DIRECT || (expect == EXPECT_MAP && user_ok);
	struct blob bl;
	struct stat st;
	char buf[128];
	ssize_t n;
	int r;

	make_blob(&bl, label_name, sizeof(LABEL), false);
	r = fn(fe, minor, name, &bl);
	if (!want_ok) {
		ok(r == -EPERM,
		   "7.%d %s with a context the host refuses: EPERM (got %d)",
		   minor, what, r);
		ok(!host_exists(name, &st), "7.%d %s: nothing left behind",
		   minor, what);
		return;
	}
	ok(r == 0, "7.%d %s with a context (%d)", minor, what, r);
	n = host_label(name, xname, buf, sizeof(buf));
	ok(n == (ssize_t)sizeof(LABEL) && !memcmp(buf, LABEL, sizeof(LABEL)),
	   "7.%d %s: the host has %s (%zd)", minor, what, xname, n);
	ok(host_exists(name, &st) && st.st_uid == UID && st.st_gid == UID,
	   "7.%d %s: owned by the requester", minor, what);
}

static void session(char *const *argv, int minor)
{
	struct vhf_opts opts = { 0 };
	struct fuse_init_in in = { .major = FUSE_KERNEL_VERSION,
				   .minor = (uint32_t)minor,
				   .max_readahead = 1u << 20,
				   .flags = FUSE_INIT_EXT | FUSE_ASYNC_READ,
				   .flags2 = FUSE_SECURITY_CTX >> 32 };
	unsigned char reply[sizeof(struct fuse_out_header) +
			    sizeof(struct fuse_init_out)];
	size_t outs[1] = { sizeof(reply) };
	struct iovec a = { &in, sizeof(in) };
	struct fuse_init_out io;
	struct fuse_attr_out at;
	char nm[5][32];
	struct blob bl;
	struct stat st;
	struct vhf *fe = NULL;
	size_t got = 0;
	pid_t pid;
	int r, status;

	for (int i = 0; i < 5; i++)
		snprintf(nm[i], sizeof(nm[i]), "%s%d",
			 (const char *[]){ "file", "dir", "fifo", "link",
					   "plain" }[i],
			 minor);
	r = vhf_spawn(argv, sock, share, &pid);
	if (r) {
		ok(false, "start the daemon: %s", strerror(-r));
		return;
	}
	opts.daemon_pid = pid;
	r = vhf_connect(&fe, sock, &opts);
	ok(!r, "7.%d: connect (%s)", minor, strerror(-r));
	if (r)
		goto out;
	r = vhf_fuse(fe, RQ, FUSE_INIT, 0, &a, 1, outs, 1, reply, sizeof(reply),
		     &got);
	memcpy(&io, reply + sizeof(struct fuse_out_header), sizeof(io));
	ok(!r && got == sizeof(reply) &&
		   (io.flags2 & (FUSE_SECURITY_CTX >> 32)),
	   "7.%d: INIT grants FUSE_SECURITY_CTX (flags2 %#x)", minor,
	   io.flags2);
	vhf_fuse_set_ids(fe, UID, UID);

	labelled(fe, minor, "CREATE", do_create, nm[0], true);
	labelled(fe, minor, "MKDIR", do_mkdir, nm[1], true);
	labelled(fe, minor, "MKNOD of a FIFO", do_mknod, nm[2], false);
	labelled(fe, minor, "SYMLINK", do_symlink, nm[3], false);

	empty_blob(&bl);
	r = do_create(fe, minor, nm[4], &bl);
	ok(r == 0 && host_exists(nm[4], &st) &&
		   host_label(nm[4], label_name, (char[8]){ 0 }, 8) < 0 &&
		   host_label(nm[4], mapped_name, (char[8]){ 0 }, 8) < 0,
	   "7.%d CREATE with no context: made, no label (%d)", minor, r);

	make_blob(&bl, label_name, sizeof(LABEL), true);
	r = do_create(fe, minor, "bad-trunc", &bl);
	ok(r == -EINVAL && !host_exists("bad-trunc", &st),
	   "7.%d a truncated context: EINVAL, nothing made (%d)", minor, r);
	make_blob(&bl, "user.evil", sizeof(LABEL), false);
	r = do_mkdir(fe, minor, "bad-name", &bl);
	ok(r == -EINVAL && !host_exists("bad-name", &st),
	   "7.%d a context named outside security.: EINVAL, nothing made (%d)",
	   minor, r);
	make_blob(&bl, label_name, sizeof(LABEL), false);
	bl.b[0] += 8; /* header size past the argument */
	r = do_create(fe, minor, "bad-size", &bl);
	ok(r == -EINVAL && !host_exists("bad-size", &st),
	   "7.%d a context header of the wrong size: EINVAL, nothing made (%d)",
	   minor, r);
	r = vhf_fuse_getattr(fe, RQ, FUSE_ROOT_ID, &at);
	ok(!r, "7.%d still serving (%s)", minor, strerror(-r));
out:
	vhf_disconnect(fe);
	r = vhf_reap(pid, 10000, &status);
	ok(!r && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "7.%d: the daemon exits 0 after the disconnect", minor);
	if (r) {
		kill(pid, SIGKILL);
		vhf_reap(pid, 5000, &status);
	}
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-v"))
			vhf_verbose = 1;
		else if (!strcmp(argv[i], "--expect") && i + 1 < argc) {
			const char *e = argv[++i];

			if (!strcmp(e, "map"))
				expect = EXPECT_MAP;
			else if (!strcmp(e, "direct"))
				expect = EXPECT_DIRECT;
			else if (!strcmp(e, "refused"))
				expect = EXPECT_REFUSED;
			else
				goto usage;
		} else if (!strcmp(argv[i], "--name") && i + 1 < argc &&
			   strlen(argv[i + 1]) < 64) {
			label_name = argv[++i];
		} else {
			goto usage;
		}
	}
	if (i + 1 >= argc)
		goto usage;
	snprintf(mapped_name, sizeof(mapped_name), "user.virtiofs.%s",
		 label_name);
	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vhost-secctx.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(share, sizeof(share), "%s/share", tmpdir);
	snprintf(sock, sizeof(sock), "%s/vhost.sock", tmpdir);
	if (mkdir(share, 0777) || chmod(share, 0777)) {
		perror("mkdir");
		return 1;
	}
	session(argv + i + 1, 38);
	session(argv + i + 1, 37);
	tu_remove_tree(tmpdir);
	printf("%s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
usage:
	fprintf(stderr,
		"usage: %s [-v] --expect map|direct|refused [--name NAME] -- DAEMON ARGS...\n",
		argv[0]);
	return 2;
}
