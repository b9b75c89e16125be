/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command line, parsed into one validated, immutable configuration.
 * Accepts the Rust virtiofsd's long options and the legacy C virtiofsd's
 * "-o source=DIR,cache=...,xattr" form.
 */
#ifndef VFSD_CONFIG_H
#define VFSD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum config_cache {
	CONFIG_CACHE_NEVER, /* "never", legacy "none" */
	CONFIG_CACHE_METADATA, /* "metadata": cache attributes, not data */
	CONFIG_CACHE_AUTO, /* "auto" (default) */
	CONFIG_CACHE_ALWAYS, /* "always" */
};

/* Tri-state for options with an automatic default. */
enum config_tristate {
	CONFIG_AUTO = -1,
	CONFIG_OFF = 0,
	CONFIG_ON = 1,
};

/* --sandbox: how the serving process is confined (src/sandbox/). */
enum config_sandbox {
	CONFIG_SANDBOX_NONE, /* "none": default with --mount */
	CONFIG_SANDBOX_CHROOT, /* "chroot": for containers with namespaces */
	CONFIG_SANDBOX_NAMESPACE, /* "namespace" (default): a user namespace
				   * too when not root */
};

/* --seccomp: what a system call outside the allowlist does. */
enum config_seccomp {
	CONFIG_SECCOMP_NONE, /* "none": no filter */
	CONFIG_SECCOMP_KILL, /* "kill" (default): the process dies by SIGSYS */
	CONFIG_SECCOMP_LOG, /* "log": allowed, logged by the kernel */
	CONFIG_SECCOMP_TRAP, /* "trap": SIGSYS to the thread */
};

/*
 * --inode-file-handles: how the passthrough holds the inodes the client
 * knows (src/passthrough/inode.c).
 */
enum config_inode_fh {
	CONFIG_FH_AUTO, /* no option: O_PATH fds, a node switched to its file
			 * handle when fds run short */
	CONFIG_FH_NEVER, /* "never": O_PATH fds only */
	CONFIG_FH_PREFER, /* "prefer" (alias "fallback"): handles, O_PATH fds
			   * on file systems without them */
	CONFIG_FH_MANDATORY, /* "mandatory": handles only */
};

/* --migration-mode (how a source describes nodes) and
 * --migration-on-error (what a destination does with one it cannot
 * find). */
enum config_migration_mode {
	CONFIG_MIGRATION_FIND_PATHS, /* "find-paths" (default) */
	CONFIG_MIGRATION_FILE_HANDLES, /* "file-handles" */
};

enum config_migration_on_error {
	CONFIG_MIGRATION_ABORT, /* "abort" (default) */
	CONFIG_MIGRATION_GUEST_ERROR, /* "guest-error" */
};

/* --rlimit-nofile default: raise to min(1000000, fs.nr_open). */
#define CONFIG_RLIMIT_NOFILE_AUTO ULONG_MAX

/*
 * --uid-map/--gid-map ":namespace_id:host_id:count:": host ids
 * [host_id, host_id + count) appear as [namespace_id, ...) in the user
 * namespace of an unprivileged namespace sandbox. The first character is
 * the separator (any non-alphanumeric one), as in the Rust virtiofsd.
 */
struct config_idmap {
	uint32_t inside; /* first id in the namespace */
	uint32_t outside; /* first id on the host */
	uint32_t count;
};

/* The kernel's limit of lines in a uid_map or gid_map. */
#define CONFIG_IDMAP_MAX 340

/* --translate-uid/--translate-gid rules each, at most. */
#define CONFIG_TRANSLATE_MAX 1024

#define CONFIG_TAG_MAX 36 /* bytes in struct virtio_fs_config.tag */
#define CONFIG_QUEUES_MAX 255 /* vhost-user vring indices are 8 bits */
#define CONFIG_QUEUES_DEFAULT 16

struct config {
	char *shared_dir; /* --shared-dir, -o source= */
	char *mount_point; /* --mount: serve a host mount via /dev/fuse */
	char *socket_path; /* --socket-path: vhost-user socket to listen on */
	char *socket_group; /* --socket-group: group of the socket files */
	char *metrics_socket; /* --metrics-socket: HTTP /metrics, or NULL */
	int fd; /* --fd: an already listening socket; -1 if none */
	bool socket_activated; /* fd came from LISTEN_FDS, not --fd */
	char *tag; /* --tag: virtio-fs tag answered through GET_CONFIG */
	unsigned int request_queues; /* --queues: request queues offered */
	enum config_cache cache;
	bool xattr;
	bool writeback; /* --writeback, -o writeback */
	bool allow_direct_io; /* --allow-direct-io, -o allow_direct_io */
	enum config_tristate readdirplus; /* --readdirplus/--no-readdirplus */
	bool announce_submounts; /* default on, as the Rust virtiofsd */
	bool allow_mmap; /* --allow-mmap: FUSE_DIRECT_IO_ALLOW_MMAP */
	bool preserve_noatime; /* --preserve-noatime: keep O_NOATIME */
	enum config_inode_fh inode_fh; /* --inode-file-handles */
	char *xattrmap; /* --xattrmap, -o xattrmap=: the rules, or NULL */
	bool posix_acl; /* --posix-acl, -o posix_acl */
	bool security_label; /* --security-label, -o security_label */
	/* --translate-uid/--translate-gid (repeatable), as given */
	char **translate_uid;
	unsigned int translate_uid_count;
	char **translate_gid;
	unsigned int translate_gid_count;
	/* --migration-*: the Rust virtiofsd's options and values */
	enum config_migration_mode migration_mode;
	enum config_migration_on_error migration_on_error;
	bool migration_verify_handles;
	bool migration_confirm_paths;
	bool daemonize; /* --daemonize: serve in the background */
	bool readonly; /* --readonly, -o readonly */
	bool killpriv_v2; /* --killpriv-v2, -o killpriv_v2 */
	unsigned int threads; /* --thread-pool-size; 0: automatic */
	enum config_sandbox sandbox; /* --sandbox, -o sandbox= */
	enum config_seccomp seccomp; /* --seccomp */
	char *modcaps; /* --modcaps, -o modcaps=: "+cap:-cap..." or NULL */
	/* --uid-map, --gid-map (repeatable): the user namespace's maps */
	struct config_idmap *uid_map;
	unsigned int uid_map_count;
	struct config_idmap *gid_map;
	unsigned int gid_map_count;
	/* --rlimit-nofile: 0 leaves the limit alone; or _AUTO */
	unsigned long rlimit_nofile;
	int log_level; /* enum log_level */
	bool syslog;
	/* What the command asked for besides serving. */
	bool want_help;
	bool want_version;
	bool want_capabilities; /* --print-capabilities */
};

enum config_result {
	CONFIG_OK = 0, /* serve */
	CONFIG_EXIT_OK, /* --help/--version/--print-capabilities: exit 0 */
	CONFIG_ERROR, /* one-line message printed: exit non-zero */
};

/*
 * Parse argv into @cfg (zeroed and defaulted first). On CONFIG_ERROR one
 * line naming the problem has been written to @err. Help and version text
 * go to @out.
 */
enum config_result config_parse(struct config *cfg, int argc, char **argv,
				FILE *out, FILE *err);
void config_free(struct config *cfg);
/*
 * One --uid-map/--gid-map value into @out. Returns 0, or -EINVAL with
 * @why (static text) naming what is wrong.
 */
int config_parse_idmap(const char *s, struct config_idmap *out,
		       const char **why);

/* The first descriptor a socket-activating manager passes. */
#define CONFIG_LISTEN_FDS_START 3

/*
 * Socket activation (src/config/activation.c): the values of LISTEN_PID
 * and LISTEN_FDS (NULL when unset) as seen by process @self. Returns 0 when
 * no socket was passed to this process, 1 with *@fd the socket passed, or
 * -EINVAL with @why (one line, no "vfsd: ") saying what is wrong.
 */
int config_listen_fds_parse(const char *listen_pid, const char *listen_fds,
			    long self, int *fd, char *why, size_t why_len);
/*
 * config_listen_fds_parse() on this process's environment, then remove
 * LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from it in every case.
 */
int config_listen_fds_take(int *fd, char *why, size_t why_len);

const char *config_cache_name(enum config_cache cache);
const char *config_inode_fh_name(enum config_inode_fh mode);
const char *config_sandbox_name(enum config_sandbox sandbox);
const char *config_seccomp_name(enum config_seccomp seccomp);

#endif /* VFSD_CONFIG_H */
