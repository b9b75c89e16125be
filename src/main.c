// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfsd: wires the command line to a transport.
 *
 * Flow: parse the command line (src/config/), set up logging, check the
 * environment before touching anything (so a bad setup is one clear line
 * and exit 1, never a half-made mount), prepare the process and open the
 * shared directory (src/passthrough/), open the listening socket, enter
 * the sandbox (src/sandbox/: in namespace mode the serving process is a
 * child and this one only reports its end), then serve: one vhost-user
 * frontend on a socket until it disconnects (src/transport/virtio_fs.c),
 * or a host mount until it is unmounted (src/transport/dev_fuse.c), with
 * the metrics thread (src/metrics/) on --metrics-socket beside it; that
 * socket too listens before the sandbox closes, and the serving process
 * inherits it. A host
 * mount is made in the host's mount namespace, so with --mount the sandbox
 * is only capabilities, seccomp and the file limit.
 * Exit 0 after a clean end, 1 on errors (a broken device included), 128+N
 * when the sandboxed serving process died by signal N.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "fuse/fuse_server.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "passthrough/passthrough.h"
#include "passthrough/idtrans.h"
#include "passthrough/xattrmap.h"
#include "sandbox/sandbox.h"
#include "transport/dev_fuse.h"
#include "transport/virtio_fs.h"
#include "vhost/vhost.h"

/* @path must be an existing directory; @what names it in the message. */
static int check_dir(const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st)) {
		fprintf(stderr, "vfsd: %s '%s': %s\n", what, path,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vfsd: %s '%s': %s\n", what, path,
			strerror(ENOTDIR));
		return -1;
	}
	return 0;
}

/* @fd's socket option @opt as an int; -1 if it has none. */
static int sockopt_int(int fd, int opt)
{
	int val = -1;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, SOL_SOCKET, opt, &val, &len))
		return -1;
	return val;
}

/*
 * --fd, or the socket passed by socket activation: a listening AF_UNIX
 * stream socket (vhost-user passes fds, which only AF_UNIX carries).
 */
static int check_listen_fd(const struct config *cfg)
{
	struct stat st;

	if (fstat(cfg->fd, &st) || !S_ISSOCK(st.st_mode) ||
	    sockopt_int(cfg->fd, SO_DOMAIN) != AF_UNIX ||
	    sockopt_int(cfg->fd, SO_TYPE) != SOCK_STREAM ||
	    sockopt_int(cfg->fd, SO_ACCEPTCONN) != 1) {
		if (cfg->socket_activated)
			fprintf(stderr,
				"vfsd: socket activation: fd %d is not a listening AF_UNIX stream socket (ListenStream= with a path)\n",
				cfg->fd);
		else
			fprintf(stderr,
				"vfsd: --fd %d is not a listening AF_UNIX stream socket\n",
				cfg->fd);
		return -1;
	}
	/* The manager passes it inheritable; nothing vfsd starts needs it. */
	if (cfg->socket_activated &&
	    fcntl(cfg->fd, F_SETFD, FD_CLOEXEC | fcntl(cfg->fd, F_GETFD)) < 0) {
		fprintf(stderr, "vfsd: socket activation: fd %d: %s\n", cfg->fd,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Everything a host mount needs, checked before anything is changed. */
static int check_environment(const struct config *cfg)
{
	struct stat st;
	int fd;

	if (check_dir("shared directory", cfg->shared_dir))
		return -1;
	if (cfg->fd >= 0 && check_listen_fd(cfg))
		return -1;
	if (!cfg->mount_point)
		return 0;
	if (check_dir("mount point", cfg->mount_point))
		return -1;
	if (geteuid() != 0) {
		fprintf(stderr,
			"vfsd: --mount needs root (CAP_SYS_ADMIN) to mount\n");
		return -1;
	}
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vfsd: cannot open /dev/fuse: %s%s\n",
			strerror(errno),
			errno == ENOENT ? " (is the fuse module loaded?)" : "");
		return -1;
	}
	if (fstat(fd, &st) || !S_ISCHR(st.st_mode)) {
		fprintf(stderr, "vfsd: /dev/fuse is not the FUSE device\n");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static enum pt_inode_fh pt_inode_fh_of(enum config_inode_fh mode)
{
	switch (mode) {
	case CONFIG_FH_NEVER:
		return PT_FH_NEVER;
	case CONFIG_FH_PREFER:
		return PT_FH_PREFER;
	case CONFIG_FH_MANDATORY:
		return PT_FH_MANDATORY;
	case CONFIG_FH_AUTO:
		break;
	}
	return PT_FH_AUTO;
}

/* A malformed --xattrmap: one line naming the rule, before anything runs. */
static int check_xattrmap(const struct config *cfg)
{
	struct pt_xattrmap *m;
	char why[256];
	int ret;

	if (!cfg->xattrmap)
		return 0;
	ret = pt_xattrmap_parse(cfg->xattrmap, &m, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "vfsd: --xattrmap: %s\n", why);
		return -1;
	}
	pt_xattrmap_free(m);
	return 0;
}

/* --translate-uid/--translate-gid rules: one line naming the bad one. */
static int check_translate(const struct config *cfg)
{
	static const char *const names[] = { "--translate-uid",
					     "--translate-gid" };
	for (int k = 0; k < 2; k++) {
		char *const *rules =
			k ? cfg->translate_gid : cfg->translate_uid;
		unsigned int n =
			k ? cfg->translate_gid_count : cfg->translate_uid_count;
		struct pt_idtrans t = { 0 };
		char why[256];
		int ret = 0;

		for (unsigned int i = 0; !ret && i < n; i++)
			ret = pt_idtrans_add(&t, rules[i], why, sizeof(why));
		pt_idtrans_free(&t);
		if (ret) {
			fprintf(stderr, "vfsd: %s %s\n", names[k], why);
			return -1;
		}
	}
	return 0;
}

static enum pt_cache pt_cache_of(enum config_cache cache)
{
	switch (cache) {
	case CONFIG_CACHE_NEVER:
		return PT_CACHE_NEVER;
	case CONFIG_CACHE_METADATA:
		return PT_CACHE_METADATA;
	case CONFIG_CACHE_AUTO:
		return PT_CACHE_AUTO;
	case CONFIG_CACHE_ALWAYS:
		return PT_CACHE_ALWAYS;
	}
	return PT_CACHE_AUTO;
}

/* --uid-map/--gid-map as the sandbox takes them (at most the kernel's
 * CONFIG_IDMAP_MAX lines each, checked by the parser). */
static void idmap_copy(struct sandbox_idmap *to,
		       const struct config_idmap *from, unsigned int count)
{
	for (unsigned int i = 0; i < count && i < CONFIG_IDMAP_MAX; i++)
		to[i] = (struct sandbox_idmap){ from[i].inside, from[i].outside,
						from[i].count };
}

static struct sandbox_opts sandbox_opts_of(const struct config *cfg)
{
	static struct sandbox_idmap uid_map[CONFIG_IDMAP_MAX];
	static struct sandbox_idmap gid_map[CONFIG_IDMAP_MAX];
	static const enum sandbox_mode modes[] = {
		[CONFIG_SANDBOX_NONE] = SANDBOX_NONE,
		[CONFIG_SANDBOX_CHROOT] = SANDBOX_CHROOT,
		[CONFIG_SANDBOX_NAMESPACE] = SANDBOX_NAMESPACE,
	};
	static const enum sandbox_seccomp actions[] = {
		[CONFIG_SECCOMP_NONE] = SANDBOX_SECCOMP_NONE,
		[CONFIG_SECCOMP_KILL] = SANDBOX_SECCOMP_KILL,
		[CONFIG_SECCOMP_LOG] = SANDBOX_SECCOMP_LOG,
		[CONFIG_SECCOMP_TRAP] = SANDBOX_SECCOMP_TRAP,
	};

	idmap_copy(uid_map, cfg->uid_map, cfg->uid_map_count);
	idmap_copy(gid_map, cfg->gid_map, cfg->gid_map_count);
	return (struct sandbox_opts){
		.mode = modes[cfg->sandbox],
		.seccomp = actions[cfg->seccomp],
		.shared_dir = cfg->shared_dir,
		.modcaps = cfg->modcaps,
		.rlimit_nofile =
			cfg->rlimit_nofile == CONFIG_RLIMIT_NOFILE_AUTO ?
				SANDBOX_RLIMIT_NOFILE_AUTO :
				cfg->rlimit_nofile,
		.host_mount = cfg->mount_point != NULL,
		/* only file handles need it (open_by_handle_at) */
		/* open_by_handle_at() needs it: for --inode-file-handles
		 * and for a migration by file handles alike. */
		.drop_dac_read_search =
			cfg->inode_fh == CONFIG_FH_NEVER &&
			cfg->migration_mode != CONFIG_MIGRATION_FILE_HANDLES,
		.uid_map = uid_map,
		.uid_map_count = cfg->uid_map_count,
		.gid_map = gid_map,
		.gid_map_count = cfg->gid_map_count,
	};
}

/*
 * Enter the sandbox once everything is open. Returns 1 in the process that
 * serves, 0 in a namespace sandbox's parent once its child has ended
 * (*exit_code set to mirror it), or -errno after a logged error.
 */
static int confine(const struct sandbox_opts *sbo, struct pt_fs *fs,
		   int *exit_code)
{
	const char *msg = NULL;
	int proc_fd;
	int ret;

	ret = sandbox_enter(sbo, &proc_fd, exit_code, &msg);
	if (ret < 0) {
		log_error("sandbox: %s: %s", msg ? msg : "entering",
			  strerror(-ret));
		return ret;
	}
	if (ret == SANDBOX_PARENT_EXIT)
		return 0;
	if (sandbox_userns_ids_switchable())
		pt_cred_switch_ids();
	if (proc_fd >= 0) {
		ret = pt_set_proc_self_fd(fs, proc_fd);
		if (ret) {
			log_error(
				"sandbox: /proc/self/fd as the working directory: %s",
				strerror(-ret));
			return ret;
		}
		/* A chroot or namespace sandbox: "/" is the shared directory
		 * now, and the root node must hold it as the sandbox sees it. */
		ret = pt_set_root_fd(
			fs, open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
		if (ret) {
			log_error(
				"sandbox: the shared directory as the root: %s",
				strerror(-ret));
			return ret;
		}
	}
	/* File handles need the sandbox's capabilities and view: probed
	 * only now (--inode-file-handles=mandatory refuses here). */
	ret = pt_fh_probe(fs, &msg);
	if (ret) {
		log_error("%s: %s", msg, strerror(-ret));
		return ret;
	}
	return 1;
}

/* The socket a stop signal shuts down: the listening one, then the
 * frontend's connection (which vu_dev_serve() then sees as a clean
 * disconnect). */
static _Atomic int stop_fd = -1;
static atomic_bool stop_requested;

static void *signal_main(void *arg)
{
	const sigset_t *set = arg;
	int sig;

	if (sigwait(set, &sig))
		return NULL;
	log_info("%s: shutting down", strsignal(sig));
	atomic_store(&stop_requested, true);
	shutdown(atomic_load(&stop_fd), SHUT_RDWR);
	return NULL;
}

static sigset_t stop_signals;

/* Blocked from before the socket listens: a stop signal sent as soon as
 * the socket appears stays pending until the signal thread takes it,
 * instead of killing the daemon with the default action. */
static void block_stop_signals(void)
{
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
}

/* SIGINT/SIGTERM/SIGHUP end serving cleanly: every thread started after
 * this inherits the blocked mask; one thread waits for them. */
static int start_signal_thread(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int ret;

	block_stop_signals();
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = -pthread_create(&t, &attr, signal_main, &stop_signals);
	pthread_attr_destroy(&attr);
	return ret;
}

/*
 * --daemonize: once the socket listens (a frontend may connect from now
 * on), leave the caller: the parent exits 0 and the child goes on in a
 * session of its own with its standard streams on /dev/null. The working
 * directory is kept, since the shared directory may have been given
 * relative to it. Returns 0 in the child, 1 in the parent, or -errno.
 */
static int daemonize(void)
{
	pid_t pid;
	int fd;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		return 1;
	if (setsid() < 0)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

/*
 * --metrics-socket: counting on, and the socket listening, before the
 * sandbox closes (the serving process inherits the fd; inside a namespace
 * or chroot sandbox the path means nothing any more). Same rules as the
 * vhost-user socket: mode 0600, or 0660 for --socket-group's group; a
 * stale socket file is replaced. Returns 0 (*fd -1 without the option)
 * or -1 after a line on stderr.
 */
static int metrics_listen(const struct config *cfg, int *fd)
{
	const char *msg = NULL;
	int ret;

	*fd = -1;
	if (!cfg->metrics_socket)
		return 0;
	ret = metrics_enable();
	if (ret) {
		msg = "counters";
		goto out_err;
	}
	ret = vu_listen(cfg->metrics_socket, cfg->socket_group, fd, &msg);
	if (ret)
		goto out_err;
	/* vu_listen() queues one frontend; clients come more at a time */
	if (listen(*fd, METRICS_BACKLOG) < 0) {
		ret = -errno;
		msg = "listen";
		close(*fd);
		*fd = -1;
		unlink(cfg->metrics_socket);
		goto out_err;
	}
	return 0;

out_err:
	fprintf(stderr, "vfsd: metrics socket '%s': %s: %s\n",
		cfg->metrics_socket, msg ? msg : "listen", strerror(-ret));
	return -1;
}

static void metrics_gauges(void *arg, struct metrics_gauges *g)
{
	struct pt_stats st;

	pt_stats(arg, &st);
	g->nodes = (int64_t)st.nodes;
	g->handles = (int64_t)st.handles;
	g->open_fds = st.open_fds >= 0 ? st.open_fds : -1;
}

/* In the serving process: the metrics thread on @fd (none when -1).
 * Returns 0 or -errno (logged). */
static int metrics_start(int fd, struct pt_fs *fs, struct metrics_server **srv)
{
	const struct metrics_sources src = {
		.op_name = fuse_opcode_name,
		.gauges = metrics_gauges,
		.arg = fs,
	};
	int ret;

	*srv = NULL;
	if (fd < 0)
		return 0;
	ret = metrics_server_start(fd, &src, srv);
	if (ret)
		log_error("metrics socket: cannot start its thread: %s",
			  strerror(-ret));
	return ret;
}

/* Close the metrics socket; remove its file when @unlink_path. */
static void metrics_close(const struct config *cfg, int fd, bool unlink_path)
{
	if (fd < 0)
		return;
	close(fd);
	if (unlink_path)
		unlink(cfg->metrics_socket);
}

/*
 * vhost-user: listen (or take libvirt's listening fd), enter the sandbox,
 * serve one frontend until it disconnects or a stop signal arrives.
 * Returns the exit code.
 */
static int serve_vhost(const struct config *cfg, struct pt_fs *fs,
		       const struct sandbox_opts *sbo)
{
	const struct virtio_fs_opts vfo = {
		.tag = cfg->tag,
		.request_queues = cfg->request_queues,
		.max_workers = cfg->threads,
	};
	struct metrics_server *msrv = NULL;
	const char *msg = NULL;
	/* After chroot or pivot_root the socket's path means something else
	 * (in namespace mode the parent removes it). */
	bool unlink_socket = sbo->mode == SANDBOX_NONE;
	int exit_code = 1;
	int lfd = cfg->fd;
	int mfd = -1;
	int conn, ret;

	block_stop_signals();
	/* First: once the vhost-user socket appears, so has this one. */
	if (metrics_listen(cfg, &mfd))
		return 1;
	if (cfg->socket_path) {
		ret = vu_listen(cfg->socket_path, cfg->socket_group, &lfd,
				&msg);
		if (ret) {
			fprintf(stderr, "vfsd: socket '%s': %s: %s\n",
				cfg->socket_path, msg ? msg : "listen",
				strerror(-ret));
			metrics_close(cfg, mfd, true);
			return 1;
		}
	}
	if (cfg->daemonize) {
		ret = daemonize();
		if (ret) {
			if (ret < 0)
				fprintf(stderr, "vfsd: --daemonize: %s\n",
					strerror(-ret));
			/* The parent leaves the sockets to the child. */
			if (lfd >= 0 && ret > 0)
				close(lfd);
			if (ret > 0)
				metrics_close(cfg, mfd, false);
			return ret > 0 ? 0 : 1;
		}
	}
	ret = confine(sbo, fs, &exit_code);
	if (ret <= 0) {
		/* The parent of a namespace sandbox: the child has ended. */
		unlink_socket = ret == 0 || sbo->mode == SANDBOX_NONE;
		goto out_close_listen;
	}
	/* Said only once serving is certain: a refusal inside the sandbox
	 * (--inode-file-handles=mandatory) is then the only line. */
	if (cfg->socket_path)
		log_info("waiting for a vhost-user frontend on %s",
			 cfg->socket_path);
	else if (cfg->socket_activated)
		log_info(
			"waiting for a vhost-user frontend on the socket-activated fd %d",
			lfd);
	ret = metrics_start(mfd, fs, &msrv);
	if (ret)
		goto out_served;
	atomic_store(&stop_fd, lfd);
	ret = start_signal_thread();
	if (ret) {
		log_error("cannot start the signal thread: %s", strerror(-ret));
		goto out_served;
	}
	do {
		conn = vu_accept(lfd);
		if (conn < 0) {
			ret = atomic_load(&stop_requested) ? 0 : conn;
			if (ret)
				log_error("accepting the frontend: %s",
					  strerror(-ret));
			goto out_served;
		}
		atomic_store(&stop_fd, conn);
		if (atomic_load(&stop_requested)) {
			ret = 0;
			close(conn);
			goto out_served;
		}
		ret = virtio_fs_serve(conn, &vfo, &pt_ops, fs);
		close(conn);
		atomic_store(&stop_fd, lfd);
		/* A probe that closed without a word is not our frontend. */
	} while (ret == -ENOTCONN && !atomic_load(&stop_requested));
	/* One frontend, and vfsd ends with it (or with a stop signal). */
	if (ret == -ENOTCONN)
		ret = 0;
out_served:
	metrics_server_stop(msrv);
	exit_code = ret == 0 ? 0 : 1;
out_close_listen:
	if (lfd >= 0) {
		close(lfd);
		if (cfg->socket_path && unlink_socket)
			unlink(cfg->socket_path);
	}
	metrics_close(cfg, mfd, unlink_socket);
	return exit_code;
}

int main(int argc, char **argv)
{
	struct sandbox_opts sbo;
	struct pt_options pto;
	struct dev_fuse_opts dfo;
	struct pt_fs *fs = NULL;
	const char *msg = NULL;
	struct config cfg;
	int exit_code = 1;
	int ret;

	switch (config_parse(&cfg, argc, argv, stdout, stderr)) {
	case CONFIG_OK:
		break;
	case CONFIG_EXIT_OK:
		config_free(&cfg);
		return 0;
	case CONFIG_ERROR:
		return 1;
	}
	/* Before anything is opened: these are what a launcher left us. */
	(void)sandbox_note_inherited_fds(cfg.fd);
	/* stderr may be a pipe (libvirt's to virtlogd): if its reader goes
	 * away, a log line must fail, not end the file system. */
	signal(SIGPIPE, SIG_IGN);

	log_set_level(cfg.log_level);
	log_use_syslog(cfg.syslog);

	if (check_environment(&cfg) || check_xattrmap(&cfg) ||
	    check_translate(&cfg))
		goto out_free_config;
	sbo = sandbox_opts_of(&cfg);
	ret = sandbox_check(&sbo, &msg);
	if (ret) {
		fprintf(stderr, "vfsd: %s\n", msg);
		goto out_free_config;
	}

	ret = pt_process_init(&msg);
	if (ret) {
		fprintf(stderr, "vfsd: %s: %s\n",
			msg ? msg : "preparing the process", strerror(-ret));
		goto out_free_config;
	}

	pto = (struct pt_options){
		.source = cfg.shared_dir,
		.cache = pt_cache_of(cfg.cache),
		.xattr = cfg.xattr,
		.writeback = cfg.writeback,
		.allow_direct_io = cfg.allow_direct_io,
		.readdirplus = cfg.readdirplus,
		.killpriv_v2 = cfg.killpriv_v2,
		.announce_submounts = cfg.announce_submounts,
		.readonly = cfg.readonly,
		.allow_mmap = cfg.allow_mmap,
		.preserve_noatime = cfg.preserve_noatime,
		.inode_fh = pt_inode_fh_of(cfg.inode_fh),
		.xattrmap = cfg.xattrmap,
		.posix_acl = cfg.posix_acl,
		.security_label = cfg.security_label,
		.translate_uid = cfg.translate_uid,
		.translate_uid_count = cfg.translate_uid_count,
		.translate_gid = cfg.translate_gid,
		.translate_gid_count = cfg.translate_gid_count,
		.migration_mode =
			cfg.migration_mode == CONFIG_MIGRATION_FILE_HANDLES ?
				PT_MIGRATE_FILE_HANDLES :
				PT_MIGRATE_FIND_PATHS,
		.migration_verify_handles = cfg.migration_verify_handles,
		.migration_confirm_paths = cfg.migration_confirm_paths,
		.migration_guest_error =
			cfg.migration_on_error == CONFIG_MIGRATION_GUEST_ERROR,
	};
	ret = pt_new(&pto, &fs, &msg);
	if (ret) {
		if (msg)
			fprintf(stderr, "vfsd: shared directory '%s': %s: %s\n",
				cfg.shared_dir, msg, strerror(-ret));
		else
			fprintf(stderr, "vfsd: shared directory '%s': %s\n",
				cfg.shared_dir, strerror(-ret));
		goto out_free_config;
	}
	log_debug("shared directory %s, cache %s", cfg.shared_dir,
		  config_cache_name(cfg.cache));

	if (cfg.mount_point) {
		struct metrics_server *msrv = NULL;
		int mfd;

		dfo = (struct dev_fuse_opts){
			.mount_point = cfg.mount_point,
			.fsname = cfg.shared_dir,
			.threads = cfg.threads,
		};
		if (metrics_listen(&cfg, &mfd))
			goto out_free_fs;
		/* host_mount: no fork, so never the parent's return. */
		ret = confine(&sbo, fs, &exit_code);
		if (ret > 0 && metrics_start(mfd, fs, &msrv) == 0)
			exit_code = dev_fuse_serve(&dfo, &pt_ops, fs) ? 1 : 0;
		metrics_server_stop(msrv);
		/* no chroot or namespaces with a host mount */
		metrics_close(&cfg, mfd, true);
	} else {
		exit_code = serve_vhost(&cfg, fs, &sbo);
	}

out_free_fs:
	log_flush_suppressed();
	pt_free(fs);
out_free_config:
	config_free(&cfg);
	return exit_code;
}
