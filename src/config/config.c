// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The command line into one struct config.
 *
 * Flow: config_parse() walks argv once with its own loop (no getopt global
 * state, so it can run any number of times). Each argument is matched
 * against the option table: "--name", "--name=VALUE", "--name VALUE",
 * clustered short flags ("-df") and "-o a,b=c" / "-oa,b=c". Legacy "-o"
 * items are split on commas (",," and "\," stand for a comma) and mapped
 * onto the same settings as the long options. Every setting remembers
 * which option set it, so two options asking for different values of one
 * setting are reported as a conflict instead of the later one silently
 * winning. After the walk, --help/--version short-circuit; otherwise the
 * required settings are checked. Every error is one line on @err and
 * CONFIG_ERROR. A socket passed by socket activation (activation.c) stands
 * in for --fd when the command line gives neither a socket nor a mount.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../log/log.h"
#include "config.h"

/* The settings an option can set; used to detect conflicting options. */
enum setting {
	SET_SHARED_DIR,
	SET_MOUNT,
	SET_CACHE,
	SET_XATTR,
	SET_WRITEBACK,
	SET_DIRECT_IO,
	SET_READDIRPLUS,
	SET_KILLPRIV_V2,
	SET_SUBMOUNTS,
	SET_READONLY,
	SET_THREADS,
	SET_LOG_LEVEL,
	SET_SYSLOG,
	SET_SOCKET_PATH,
	SET_SOCKET_GROUP,
	SET_FD,
	SET_TAG,
	SET_QUEUES,
	SET_SANDBOX,
	SET_SECCOMP,
	SET_MODCAPS,
	SET_RLIMIT_NOFILE,
	SET_ALLOW_MMAP,
	SET_NOATIME,
	SET_INODE_FH,
	SET_XATTRMAP,
	SET_POSIX_ACL,
	SET_SECURITY_LABEL,
	SET_MIGRATION_MODE,
	SET_MIGRATION_ON_ERROR,
	SET_MIGRATION_VERIFY,
	SET_MIGRATION_CONFIRM,
	SET_DAEMONIZE,
	SET_METRICS_SOCKET,
	SET_COUNT,
};

enum opt_id {
	OPT_SHARED_DIR,
	OPT_MOUNT,
	OPT_CACHE,
	OPT_XATTR,
	OPT_NO_XATTR,
	OPT_WRITEBACK,
	OPT_ALLOW_DIRECT_IO,
	OPT_READDIRPLUS,
	OPT_NO_READDIRPLUS,
	OPT_KILLPRIV_V2,
	OPT_NO_KILLPRIV_V2,
	OPT_ANNOUNCE_SUBMOUNTS,
	OPT_READONLY,
	OPT_THREAD_POOL_SIZE,
	OPT_LOG_LEVEL,
	OPT_SYSLOG,
	OPT_DEBUG,
	OPT_FOREGROUND,
	OPT_LEGACY,
	OPT_HELP,
	OPT_VERSION,
	OPT_SOCKET_PATH,
	OPT_SOCKET_GROUP,
	OPT_FD,
	OPT_TAG,
	OPT_QUEUES,
	OPT_PRINT_CAPABILITIES,
	OPT_SANDBOX,
	OPT_SECCOMP,
	OPT_MODCAPS,
	OPT_RLIMIT_NOFILE,
	OPT_UID_MAP,
	OPT_GID_MAP,
	OPT_TRANSLATE_UID,
	OPT_TRANSLATE_GID,
	OPT_NO_ANNOUNCE_SUBMOUNTS,
	OPT_ALLOW_MMAP,
	OPT_PRESERVE_NOATIME,
	OPT_INODE_FILE_HANDLES,
	OPT_XATTRMAP,
	OPT_POSIX_ACL,
	OPT_SECURITY_LABEL,
	OPT_MIGRATION_MODE,
	OPT_MIGRATION_ON_ERROR,
	OPT_MIGRATION_VERIFY_HANDLES,
	OPT_MIGRATION_CONFIRM_PATHS,
	OPT_DAEMONIZE,
	OPT_METRICS_SOCKET,
};

struct opt_def {
	const char *name; /* long name without "--", or NULL */
	char short_name; /* or 0 */
	const char *arg; /* argument name in --help; NULL: a flag */
	enum opt_id id;
	const char *help;
};

static const struct opt_def opt_table[] = {
	{ "shared-dir", 0, "DIR", OPT_SHARED_DIR,
	  "shared directory to serve (required)" },
	{ "socket-path", 0, "PATH", OPT_SOCKET_PATH,
	  "serve a vhost-user frontend (QEMU) on this UNIX socket" },
	{ "socket", 0, "PATH", OPT_SOCKET_PATH,
	  "the same as --socket-path (deprecated spelling)" },
	{ "socket-group", 0, "GROUP", OPT_SOCKET_GROUP,
	  "group owning the socket file (mode 0660)" },
	{ "fd", 0, "N", OPT_FD,
	  "serve on the listening socket fd N (from libvirt)" },
	{ "tag", 0, "TAG", OPT_TAG,
	  "virtio-fs tag for frontends that ask the backend" },
	{ "queues", 0, "N", OPT_QUEUES,
	  "request queues offered to the frontend (default 16)" },
	{ "print-capabilities", 0, NULL, OPT_PRINT_CAPABILITIES,
	  "print the vhost-user backend capabilities (JSON) and exit" },
	{ "mount", 0, "MNT", OPT_MOUNT,
	  "mount the share on the host at MNT (needs root)" },
	{ "cache", 0, "MODE", OPT_CACHE,
	  "never, metadata, auto or always (default auto)" },
	{ "xattr", 0, NULL, OPT_XATTR, "enable extended attributes" },
	{ "no-xattr", 0, NULL, OPT_NO_XATTR,
	  "disable extended attributes (default)" },
	{ "xattrmap", 0, "MAP", OPT_XATTRMAP,
	  "rename, hide or refuse xattr names between guest and host, e.g. :map::user.virtiofs.: (implies --xattr)" },
	{ "posix-acl", 0, NULL, OPT_POSIX_ACL,
	  "serve POSIX ACLs: FUSE_POSIX_ACL, default ACLs decide new files' modes (implies --xattr)" },
	{ "security-label", 0, NULL, OPT_SECURITY_LABEL,
	  "set the security label (SELinux context) the guest sends with each create (implies --xattr)" },
	{ "writeback", 0, NULL, OPT_WRITEBACK,
	  "let the client cache writes (writeback cache)" },
	{ "allow-direct-io", 0, NULL, OPT_ALLOW_DIRECT_IO,
	  "honour O_DIRECT instead of dropping it" },
	{ "readdirplus", 0, NULL, OPT_READDIRPLUS,
	  "offer READDIRPLUS (default: on unless --cache never)" },
	{ "no-readdirplus", 0, NULL, OPT_NO_READDIRPLUS,
	  "never offer READDIRPLUS" },
	{ "killpriv-v2", 0, NULL, OPT_KILLPRIV_V2,
	  "negotiate FUSE_HANDLE_KILLPRIV_V2" },
	{ "no-killpriv-v2", 0, NULL, OPT_NO_KILLPRIV_V2,
	  "do not negotiate FUSE_HANDLE_KILLPRIV_V2 (default)" },
	{ "readonly", 0, NULL, OPT_READONLY,
	  "share read-only: every change is refused with EROFS" },
	{ "announce-submounts", 0, NULL, OPT_ANNOUNCE_SUBMOUNTS,
	  "tell the client about mounts inside the share (default)" },
	{ "no-announce-submounts", 0, NULL, OPT_NO_ANNOUNCE_SUBMOUNTS,
	  "do not tell the client about mounts inside the share" },
	{ "inode-file-handles", 0, "MODE", OPT_INODE_FILE_HANDLES,
	  "never, prefer (alias fallback) or mandatory: hold inodes by file handle instead of an O_PATH fd each (default: fds, switching to handles when fds run short)" },
	{ "allow-mmap", 0, NULL, OPT_ALLOW_MMAP,
	  "with --cache never or metadata, let the guest mmap files shared" },
	{ "preserve-noatime", 0, NULL, OPT_PRESERVE_NOATIME,
	  "keep O_NOATIME on the host open (default: dropped)" },
	{ "sandbox", 0, "MODE", OPT_SANDBOX,
	  "namespace (default), chroot or none" },
	{ "seccomp", 0, "ACTION", OPT_SECCOMP,
	  "kill (default), log, trap or none: what a system call off the list does" },
	{ "modcaps", 0, "CAPS", OPT_MODCAPS,
	  "add or remove capabilities, e.g. +sys_admin:-mknod" },
	{ "rlimit-nofile", 0, "N", OPT_RLIMIT_NOFILE,
	  "open file limit (0: unchanged; default raised to 1000000)" },
	{ "uid-map", 0, ":NS_UID:HOST_UID:COUNT:", OPT_UID_MAP,
	  "map host uids into the user namespace of an unprivileged --sandbox namespace (repeatable; default: your uid as itself)" },
	{ "gid-map", 0, ":NS_GID:HOST_GID:COUNT:", OPT_GID_MAP,
	  "the same for gids (repeatable; default: your gid as itself)" },
	{ "translate-uid", 0, "TYPE:SOURCE:TARGET:COUNT", OPT_TRANSLATE_UID,
	  "translate uids between guest and host; TYPE guest, host, squash-guest, squash-host, map, or forbid-guest:BASE:COUNT (repeatable)" },
	{ "translate-gid", 0, "TYPE:SOURCE:TARGET:COUNT", OPT_TRANSLATE_GID,
	  "the same for gids (repeatable)" },
	{ "migration-mode", 0, "MODE", OPT_MIGRATION_MODE,
	  "live migration, as source: find-paths (default: nodes by their paths) or file-handles (by file handles; same file system on both hosts)" },
	{ "migration-on-error", 0, "ACTION", OPT_MIGRATION_ON_ERROR,
	  "live migration, as destination: abort (default) or guest-error (a node not found answers errors)" },
	{ "migration-verify-handles", 0, NULL, OPT_MIGRATION_VERIFY_HANDLES,
	  "live migration, find-paths: the destination checks it found the source's files by their file handles" },
	{ "migration-confirm-paths", 0, NULL, OPT_MIGRATION_CONFIRM_PATHS,
	  "live migration, find-paths: confirm each path at the switch-over, and search the share where it is stale" },
	{ "thread-pool-size", 0, "N", OPT_THREAD_POOL_SIZE,
	  "at most N request threads (0: automatic, default)" },
	{ "log-level", 0, "LEVEL", OPT_LOG_LEVEL,
	  "error, warn, info, debug, trace, off (default info)" },
	{ "syslog", 0, NULL, OPT_SYSLOG, "log to syslog instead of stderr" },
	{ "metrics-socket", 0, "PATH", OPT_METRICS_SOCKET,
	  "answer HTTP GET /metrics (Prometheus text) on this UNIX socket (mode and group as the vhost-user socket)" },
	{ "debug", 'd', NULL, OPT_DEBUG, "same as --log-level debug" },
	{ NULL, 'f', NULL, OPT_FOREGROUND,
	  "foreground (the default; accepted)" },
	{ "daemonize", 0, NULL, OPT_DAEMONIZE,
	  "serve in the background once the socket listens; logs go to syslog" },
	{ NULL, 'o', "OPT[,OPT...]", OPT_LEGACY,
	  "legacy virtiofsd options, see below" },
	{ "help", 'h', NULL, OPT_HELP, "print this help and exit" },
	{ "version", 'V', NULL, OPT_VERSION, "print the version and exit" },
};

#define OPT_COUNT (sizeof(opt_table) / sizeof(opt_table[0]))
#define HELP_COL 24

static const struct {
	const char *item;
	const char *help;
} legacy_help[] = {
	{ "source=DIR", "same as --shared-dir DIR" },
	{ "cache=none|auto|always", "same as --cache (none is never)" },
	{ "xattr, no_xattr", "same as --xattr, --no-xattr" },
	{ "writeback, no_writeback", "writeback cache on or off" },
	{ "allow_direct_io, no_allow_direct_io", "O_DIRECT on or off" },
	{ "readdirplus, no_readdirplus", "READDIRPLUS on or off" },
	{ "killpriv_v2, no_killpriv_v2", "FUSE_HANDLE_KILLPRIV_V2 on or off" },
	{ "announce_submounts", "same as --announce-submounts" },
	{ "xattrmap=MAP", "same as --xattrmap" },
	{ "posix_acl, no_posix_acl", "POSIX ACLs on or off" },
	{ "security_label, no_security_label", "security labels on or off" },
	{ "debug", "same as -d" },
	{ "log_level=debug|info|warn|err", "same as --log-level" },
	{ "sandbox=namespace|chroot|none", "same as --sandbox" },
	{ "modcaps=CAPS", "same as --modcaps" },
	{ "flock, no_flock", "accepted; locks are always served" },
	{ "posix_lock, no_posix_lock", "accepted; locks are always served" },
	{ "timeout=N", "accepted and ignored" },
	{ "max_idle_threads=N",
	  "accepted and ignored: vfsd sizes its threads" },
	{ "allow_root", "accepted; the client kernel decides who may use it" },
};

struct parse_state {
	struct config *cfg;
	FILE *err;
	/* Which option set each setting ("" if none yet), for conflicts. */
	char who[SET_COUNT][64];
};

static void __attribute__((format(printf, 2, 3)))
perr(struct parse_state *st, const char *fmt, ...)
{
	va_list ap;

	fputs("vfsd: ", st->err);
	va_start(ap, fmt);
	vfprintf(st->err, fmt, ap);
	va_end(ap);
	fputc('\n', st->err);
}

/*
 * Record that @spelled sets setting @s. @same tells whether the new value
 * equals the one already set; a different value set twice is an error.
 */
static int claim(struct parse_state *st, enum setting s, bool same,
		 const char *spelled)
{
	if (st->who[s][0] && !same) {
		perr(st, "'%s' conflicts with '%s'", spelled, st->who[s]);
		return -EINVAL;
	}
	snprintf(st->who[s], sizeof(st->who[s]), "%s", spelled);
	return 0;
}

static int set_bool(struct parse_state *st, enum setting s, bool *field,
		    bool val, const char *spelled)
{
	int ret = claim(st, s, *field == val, spelled);

	if (ret == 0)
		*field = val;
	return ret;
}

static int set_string(struct parse_state *st, enum setting s, char **field,
		      const char *val, const char *spelled)
{
	char *copy;
	int ret;

	if (val[0] == '\0') {
		perr(st, "'%s' needs a non-empty value (see --help)", spelled);
		return -EINVAL;
	}
	ret = claim(st, s, *field && strcmp(*field, val) == 0, spelled);
	if (ret)
		return ret;
	copy = strdup(val);
	if (!copy) {
		perr(st, "out of memory");
		return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

static int parse_cache(const char *s, enum config_cache *out)
{
	static const struct {
		const char *name;
		enum config_cache cache;
	} names[] = {
		{ "never", CONFIG_CACHE_NEVER },
		{ "none", CONFIG_CACHE_NEVER },
		{ "metadata", CONFIG_CACHE_METADATA },
		{ "auto", CONFIG_CACHE_AUTO },
		{ "always", CONFIG_CACHE_ALWAYS },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].cache;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_cache(struct parse_state *st, const char *val,
		     const char *spelled)
{
	enum config_cache cache;
	int ret;

	if (parse_cache(val, &cache)) {
		perr(st,
		     "bad cache mode '%s' for '%s': use never, metadata, auto or always",
		     val, spelled);
		return -EINVAL;
	}
	ret = claim(st, SET_CACHE, st->cfg->cache == cache, spelled);
	if (ret == 0)
		st->cfg->cache = cache;
	return ret;
}

static int set_log_level(struct parse_state *st, const char *val,
			 const char *spelled)
{
	int level = log_parse_level(val);
	int ret;

	if (level < 0) {
		perr(st,
		     "bad log level '%s' for '%s': use error, warn, info, debug, trace or off",
		     val, spelled);
		return -EINVAL;
	}
	ret = claim(st, SET_LOG_LEVEL, st->cfg->log_level == level, spelled);
	if (ret == 0)
		st->cfg->log_level = level;
	return ret;
}

static int set_readdirplus(struct parse_state *st, enum config_tristate val,
			   const char *spelled)
{
	int ret = claim(st, SET_READDIRPLUS, st->cfg->readdirplus == val,
			spelled);

	if (ret == 0)
		st->cfg->readdirplus = val;
	return ret;
}

/* A decimal count: digits only, no sign, no overflow. */
static int parse_count(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int set_threads(struct parse_state *st, const char *val,
		       const char *spelled)
{
	unsigned long n;
	int ret;

	if (parse_count(val, UINT_MAX, &n)) {
		perr(st, "bad thread count '%s' for '%s': give a number >= 0",
		     val, spelled);
		return -EINVAL;
	}
	ret = claim(st, SET_THREADS, st->cfg->threads == n, spelled);
	if (ret == 0)
		st->cfg->threads = (unsigned int)n;
	return ret;
}

static int set_fd(struct parse_state *st, const char *val, const char *spelled)
{
	unsigned long n;
	int ret;

	if (parse_count(val, INT_MAX, &n)) {
		perr(st, "bad file descriptor '%s' for '%s'", val, spelled);
		return -EINVAL;
	}
	ret = claim(st, SET_FD, st->cfg->fd == (int)n, spelled);
	if (ret == 0)
		st->cfg->fd = (int)n;
	return ret;
}

static int set_queues(struct parse_state *st, const char *val,
		      const char *spelled)
{
	unsigned long n;
	int ret;

	if (parse_count(val, CONFIG_QUEUES_MAX, &n) || n == 0) {
		perr(st, "bad queue count '%s' for '%s': give 1 to %d", val,
		     spelled, CONFIG_QUEUES_MAX);
		return -EINVAL;
	}
	ret = claim(st, SET_QUEUES, st->cfg->request_queues == n, spelled);
	if (ret == 0)
		st->cfg->request_queues = (unsigned int)n;
	return ret;
}

static int set_sandbox(struct parse_state *st, const char *val,
		       const char *spelled)
{
	enum config_sandbox mode;
	int ret;

	if (strcmp(val, "namespace") == 0)
		mode = CONFIG_SANDBOX_NAMESPACE;
	else if (strcmp(val, "chroot") == 0)
		mode = CONFIG_SANDBOX_CHROOT;
	else if (strcmp(val, "none") == 0)
		mode = CONFIG_SANDBOX_NONE;
	else {
		perr(st,
		     "bad sandbox '%s' for '%s': use namespace, chroot or none",
		     val, spelled);
		return -EINVAL;
	}
	ret = claim(st, SET_SANDBOX, st->cfg->sandbox == mode, spelled);
	if (ret == 0)
		st->cfg->sandbox = mode;
	return ret;
}

static int set_seccomp(struct parse_state *st, const char *val,
		       const char *spelled)
{
	static const struct {
		const char *name;
		enum config_seccomp action;
	} names[] = {
		{ "none", CONFIG_SECCOMP_NONE },
		{ "kill", CONFIG_SECCOMP_KILL },
		{ "log", CONFIG_SECCOMP_LOG },
		{ "trap", CONFIG_SECCOMP_TRAP },
	};
	size_t i;
	int ret;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(val, names[i].name) == 0)
			break;
	}
	if (i == sizeof(names) / sizeof(names[0])) {
		perr(st,
		     "bad seccomp action '%s' for '%s': use kill, log, trap or none",
		     val, spelled);
		return -EINVAL;
	}
	ret = claim(st, SET_SECCOMP, st->cfg->seccomp == names[i].action,
		    spelled);
	if (ret == 0)
		st->cfg->seccomp = names[i].action;
	return ret;
}

/*
 * "+name:-name...": each item adds (+) or removes (-) one capability,
 * named as libcap-ng names them (sys_admin, or CAP_SYS_ADMIN). Only the
 * form is checked here; the sandbox checks the names before it starts.
 */
static int set_modcaps(struct parse_state *st, const char *val,
		       const char *spelled)
{
	const char *p = val;

	while (*p) {
		size_t len;

		if (*p != '+' && *p != '-')
			goto out_bad;
		p++;
		len = strspn(p, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (len == 0 || (p[len] != ':' && p[len] != '\0'))
			goto out_bad;
		p += len;
		if (*p == ':' && *++p == '\0')
			goto out_bad;
	}
	return set_string(st, SET_MODCAPS, &st->cfg->modcaps, val, spelled);

out_bad:
	perr(st,
	     "bad capability list '%s' for '%s': use +name or -name items separated by ':', e.g. +sys_admin:-mknod",
	     val, spelled);
	return -EINVAL;
}

static int set_rlimit_nofile(struct parse_state *st, const char *val,
			     const char *spelled)
{
	unsigned long n;
	int ret;

	if (parse_count(val, ULONG_MAX - 1, &n)) {
		perr(st,
		     "bad file limit '%s' for '%s': give a number (0 leaves it unchanged)",
		     val, spelled);
		return -EINVAL;
	}
	ret = claim(st, SET_RLIMIT_NOFILE, st->cfg->rlimit_nofile == n,
		    spelled);
	if (ret == 0)
		st->cfg->rlimit_nofile = n;
	return ret;
}

/* One value of an option that takes a name from a short list. */
struct choice {
	const char *name;
	int value;
};

/*
 * Set the enum *@field from @val, one of the @n names in @c; @list is the
 * list as the error message gives it ("never, prefer or mandatory").
 */
static int set_choice(struct parse_state *st, enum setting s, int *field,
		      const struct choice *c, size_t n, const char *val,
		      const char *spelled, const char *what, const char *list)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		if (strcmp(val, c[i].name) == 0)
			break;
	}
	if (i == n) {
		perr(st, "bad %s '%s' for '%s': use %s", what, val, spelled,
		     list);
		return -EINVAL;
	}
	ret = claim(st, s, *field == c[i].value, spelled);
	if (ret == 0)
		*field = c[i].value;
	return ret;
}

#define CHOICES(c) (c), sizeof(c) / sizeof((c)[0])

static int set_inode_fh(struct parse_state *st, const char *val,
			const char *spelled)
{
	static const struct choice names[] = {
		{ "never", CONFIG_FH_NEVER },
		{ "prefer", CONFIG_FH_PREFER },
		{ "fallback", CONFIG_FH_PREFER }, /* the Rust daemon's alias */
		{ "mandatory", CONFIG_FH_MANDATORY },
	};

	return set_choice(st, SET_INODE_FH, (int *)&st->cfg->inode_fh,
			  CHOICES(names), val, spelled, "file handle mode",
			  "never, prefer or mandatory");
}

/* The --migration-* options: values checked as the Rust daemon's. */
static int set_migration(struct parse_state *st, enum opt_id id,
			 const char *val, const char *spelled)
{
	static const struct choice modes[] = {
		{ "find-paths", CONFIG_MIGRATION_FIND_PATHS },
		{ "file-handles", CONFIG_MIGRATION_FILE_HANDLES },
	};
	static const struct choice on_error[] = {
		{ "abort", CONFIG_MIGRATION_ABORT },
		{ "guest-error", CONFIG_MIGRATION_GUEST_ERROR },
	};
	struct config *cfg = st->cfg;

	switch (id) {
	case OPT_MIGRATION_MODE:
		return set_choice(st, SET_MIGRATION_MODE,
				  (int *)&cfg->migration_mode, CHOICES(modes),
				  val, spelled, "migration mode",
				  "find-paths or file-handles");
	case OPT_MIGRATION_ON_ERROR:
		return set_choice(st, SET_MIGRATION_ON_ERROR,
				  (int *)&cfg->migration_on_error,
				  CHOICES(on_error), val, spelled,
				  "migration error action",
				  "abort or guest-error");
	case OPT_MIGRATION_VERIFY_HANDLES:
		return set_bool(st, SET_MIGRATION_VERIFY,
				&cfg->migration_verify_handles, true, spelled);
	default:
		return set_bool(st, SET_MIGRATION_CONFIRM,
				&cfg->migration_confirm_paths, true, spelled);
	}
}

/* --translate-uid/--translate-gid: kept as given, one more rule. */
static int add_translation(struct parse_state *st, const char *val,
			   const char *spelled, bool gid)
{
	char ***list = gid ? &st->cfg->translate_gid : &st->cfg->translate_uid;
	unsigned int *count = gid ? &st->cfg->translate_gid_count :
				    &st->cfg->translate_uid_count;
	char **grown;
	char *copy;

	if (val[0] == '\0') {
		perr(st, "'%s' needs a non-empty value (see --help)", spelled);
		return -EINVAL;
	}
	if (*count >= CONFIG_TRANSLATE_MAX) {
		perr(st, "too many '%s' rules: at most %d", spelled,
		     CONFIG_TRANSLATE_MAX);
		return -EINVAL;
	}
	copy = strdup(val);
	grown = realloc(*list, (*count + 1) * sizeof(**list));
	if (!copy || !grown) {
		free(copy);
		if (grown)
			*list = grown;
		perr(st, "out of memory");
		return -ENOMEM;
	}
	grown[(*count)++] = copy;
	*list = grown;
	return 0;
}

int config_parse_idmap(const char *s, struct config_idmap *out,
		       const char **why)
{
	size_t len = strlen(s);
	uint32_t field[3];
	const char *p;
	char sep;

	sep = s[0];
	if (len < 2 || isalnum((unsigned char)sep) || s[len - 1] != sep) {
		*why = "it must start and end with the same separator, like ':'";
		return -EINVAL;
	}
	p = s + 1;
	for (int i = 0; i < 3; i++) {
		unsigned long long v;
		char *end;

		if (*p < '0' || *p > '9') {
			*why = "expected three numbers between the separators";
			return -EINVAL;
		}
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno || v > UINT32_MAX) {
			*why = "a number is larger than 4294967295";
			return -EINVAL;
		}
		if (*end != sep) {
			*why = "expected three numbers between the separators";
			return -EINVAL;
		}
		field[i] = (uint32_t)v;
		p = end + 1;
	}
	if (*p != '\0') {
		*why = "expected three numbers between the separators";
		return -EINVAL;
	}
	if (field[2] == 0) {
		*why = "the count must be at least 1";
		return -EINVAL;
	}
	/* The kernel's rule: a range ends before 4294967295, the invalid id. */
	if ((uint64_t)field[0] + field[2] > UINT32_MAX ||
	    (uint64_t)field[1] + field[2] > UINT32_MAX) {
		*why = "the range goes past id 4294967294";
		return -EINVAL;
	}
	out->inside = field[0];
	out->outside = field[1];
	out->count = field[2];
	return 0;
}

static bool ranges_overlap(uint32_t a, uint32_t b, uint32_t count_a,
			   uint32_t count_b)
{
	return (uint64_t)a < (uint64_t)b + count_b &&
	       (uint64_t)b < (uint64_t)a + count_a;
}

/* --uid-map/--gid-map: one more line of the map, as the kernel takes it. */
static int add_idmap(struct parse_state *st, const char *val,
		     const char *spelled, bool gid)
{
	struct config_idmap **map = gid ? &st->cfg->gid_map : &st->cfg->uid_map;
	unsigned int *count =
		gid ? &st->cfg->gid_map_count : &st->cfg->uid_map_count;
	const char *what = gid ? "gid" : "uid";
	struct config_idmap m, *grown;
	const char *why;

	if (config_parse_idmap(val, &m, &why)) {
		perr(st,
		     "bad map '%s' for '%s': %s; use :namespace_%s:host_%s:count:, e.g. :0:1000:1:",
		     val, spelled, why, what, what);
		return -EINVAL;
	}
	if (*count >= CONFIG_IDMAP_MAX) {
		perr(st, "too many '%s' ranges: the kernel takes at most %d",
		     spelled, CONFIG_IDMAP_MAX);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < *count; i++) {
		const struct config_idmap *o = &(*map)[i];
		bool in =
			ranges_overlap(m.inside, o->inside, m.count, o->count);

		if (in ||
		    ranges_overlap(m.outside, o->outside, m.count, o->count)) {
			perr(st,
			     "'%s %s' overlaps :%u:%u:%u: %s: ranges of a map must not overlap",
			     spelled, val, o->inside, o->outside, o->count,
			     in ? "inside the namespace" : "on the host");
			return -EINVAL;
		}
	}
	grown = realloc(*map, (*count + 1) * sizeof(**map));
	if (!grown) {
		perr(st, "out of memory");
		return -ENOMEM;
	}
	grown[(*count)++] = m;
	*map = grown;
	return 0;
}

/* Apply one option of the table with its value (NULL for flags). */
static int apply_opt(struct parse_state *st, enum opt_id id, const char *val,
		     const char *spelled)
{
	struct config *cfg = st->cfg;

	/* Flags come with NULL; an option with a value never does, but an
	 * empty string would still be refused by every setter below. */
	if (!val)
		val = "";
	switch (id) {
	case OPT_SHARED_DIR:
		return set_string(st, SET_SHARED_DIR, &cfg->shared_dir, val,
				  spelled);
	case OPT_MOUNT:
		return set_string(st, SET_MOUNT, &cfg->mount_point, val,
				  spelled);
	case OPT_CACHE:
		return set_cache(st, val, spelled);
	case OPT_XATTR:
	case OPT_NO_XATTR:
		return set_bool(st, SET_XATTR, &cfg->xattr, id == OPT_XATTR,
				spelled);
	case OPT_WRITEBACK:
		return set_bool(st, SET_WRITEBACK, &cfg->writeback, true,
				spelled);
	case OPT_ALLOW_DIRECT_IO:
		return set_bool(st, SET_DIRECT_IO, &cfg->allow_direct_io, true,
				spelled);
	case OPT_READDIRPLUS:
		return set_readdirplus(st, CONFIG_ON, spelled);
	case OPT_NO_READDIRPLUS:
		return set_readdirplus(st, CONFIG_OFF, spelled);
	case OPT_KILLPRIV_V2:
	case OPT_NO_KILLPRIV_V2:
		return set_bool(st, SET_KILLPRIV_V2, &cfg->killpriv_v2,
				id == OPT_KILLPRIV_V2, spelled);
	case OPT_READONLY:
		return set_bool(st, SET_READONLY, &cfg->readonly, true,
				spelled);
	case OPT_ANNOUNCE_SUBMOUNTS:
	case OPT_NO_ANNOUNCE_SUBMOUNTS:
		return set_bool(st, SET_SUBMOUNTS, &cfg->announce_submounts,
				id == OPT_ANNOUNCE_SUBMOUNTS, spelled);
	case OPT_ALLOW_MMAP:
		return set_bool(st, SET_ALLOW_MMAP, &cfg->allow_mmap, true,
				spelled);
	case OPT_PRESERVE_NOATIME:
		return set_bool(st, SET_NOATIME, &cfg->preserve_noatime, true,
				spelled);
	case OPT_INODE_FILE_HANDLES:
		return set_inode_fh(st, val, spelled);
	case OPT_XATTRMAP:
		return set_string(st, SET_XATTRMAP, &cfg->xattrmap, val,
				  spelled);
	case OPT_POSIX_ACL:
		return set_bool(st, SET_POSIX_ACL, &cfg->posix_acl, true,
				spelled);
	case OPT_SECURITY_LABEL:
		return set_bool(st, SET_SECURITY_LABEL, &cfg->security_label,
				true, spelled);
	case OPT_MIGRATION_MODE:
	case OPT_MIGRATION_ON_ERROR:
	case OPT_MIGRATION_VERIFY_HANDLES:
	case OPT_MIGRATION_CONFIRM_PATHS:
		return set_migration(st, id, val, spelled);
	case OPT_DAEMONIZE:
		return set_bool(st, SET_DAEMONIZE, &cfg->daemonize, true,
				spelled);
	case OPT_THREAD_POOL_SIZE:
		return set_threads(st, val, spelled);
	case OPT_LOG_LEVEL:
		return set_log_level(st, val, spelled);
	case OPT_SYSLOG:
		return set_bool(st, SET_SYSLOG, &cfg->syslog, true, spelled);
	case OPT_DEBUG:
		return set_log_level(st, "debug", spelled);
	case OPT_FOREGROUND:
		return 0;
	case OPT_HELP:
		cfg->want_help = true;
		return 0;
	case OPT_VERSION:
		cfg->want_version = true;
		return 0;
	case OPT_SOCKET_PATH:
		return set_string(st, SET_SOCKET_PATH, &cfg->socket_path, val,
				  spelled);
	case OPT_SOCKET_GROUP:
		return set_string(st, SET_SOCKET_GROUP, &cfg->socket_group, val,
				  spelled);
	case OPT_METRICS_SOCKET:
		return set_string(st, SET_METRICS_SOCKET, &cfg->metrics_socket,
				  val, spelled);
	case OPT_FD:
		return set_fd(st, val, spelled);
	case OPT_TAG:
		if (strlen(val) > CONFIG_TAG_MAX) {
			perr(st, "tag '%s' is longer than %d bytes", val,
			     CONFIG_TAG_MAX);
			return -EINVAL;
		}
		return set_string(st, SET_TAG, &cfg->tag, val, spelled);
	case OPT_QUEUES:
		return set_queues(st, val, spelled);
	case OPT_PRINT_CAPABILITIES:
		cfg->want_capabilities = true;
		return 0;
	case OPT_SANDBOX:
		return set_sandbox(st, val, spelled);
	case OPT_SECCOMP:
		return set_seccomp(st, val, spelled);
	case OPT_MODCAPS:
		return set_modcaps(st, val, spelled);
	case OPT_RLIMIT_NOFILE:
		return set_rlimit_nofile(st, val, spelled);
	case OPT_UID_MAP:
	case OPT_GID_MAP:
		return add_idmap(st, val, spelled, id == OPT_GID_MAP);
	case OPT_TRANSLATE_UID:
	case OPT_TRANSLATE_GID:
		return add_translation(st, val, spelled,
				       id == OPT_TRANSLATE_GID);
	case OPT_LEGACY:
		break; /* handled by the caller */
	}
	return 0;
}

/* Legacy "-o" items that are plain flags. */
static const struct {
	const char *name;
	enum setting setting;
	size_t field; /* offsetof the bool in struct config */
	bool value;
} legacy_flags[] = {
	{ "xattr", SET_XATTR, offsetof(struct config, xattr), true },
	{ "no_xattr", SET_XATTR, offsetof(struct config, xattr), false },
	{ "writeback", SET_WRITEBACK, offsetof(struct config, writeback),
	  true },
	{ "no_writeback", SET_WRITEBACK, offsetof(struct config, writeback),
	  false },
	{ "allow_direct_io", SET_DIRECT_IO,
	  offsetof(struct config, allow_direct_io), true },
	{ "no_allow_direct_io", SET_DIRECT_IO,
	  offsetof(struct config, allow_direct_io), false },
	{ "killpriv_v2", SET_KILLPRIV_V2, offsetof(struct config, killpriv_v2),
	  true },
	{ "no_killpriv_v2", SET_KILLPRIV_V2,
	  offsetof(struct config, killpriv_v2), false },
	{ "announce_submounts", SET_SUBMOUNTS,
	  offsetof(struct config, announce_submounts), true },
	{ "readonly", SET_READONLY, offsetof(struct config, readonly), true },
	{ "posix_acl", SET_POSIX_ACL, offsetof(struct config, posix_acl),
	  true },
	{ "no_posix_acl", SET_POSIX_ACL, offsetof(struct config, posix_acl),
	  false },
	{ "security_label", SET_SECURITY_LABEL,
	  offsetof(struct config, security_label), true },
	{ "no_security_label", SET_SECURITY_LABEL,
	  offsetof(struct config, security_label), false },
};

/* Legacy items accepted for compatibility that change nothing. */
static const char *const legacy_ignored[] = {
	"flock", "no_flock", "posix_lock", "no_posix_lock", "allow_root",
};

/* timeout=N: the old daemon's cache timeout in seconds; checked, unused. */
static int check_timeout(struct parse_state *st, const char *val,
			 const char *spelled)
{
	char *end;
	double t;

	errno = 0;
	t = strtod(val, &end);
	if (errno || end == val || *end != '\0' || !(t >= 0)) {
		perr(st, "bad value '%s' for '%s': give a number of seconds",
		     val, spelled);
		return -EINVAL;
	}
	return 0;
}

/* max_idle_threads=N: the old daemon's idle-thread cap; checked, unused
 * (vfsd starts and ends its own threads). */
static int check_count(struct parse_state *st, const char *val,
		       const char *spelled)
{
	unsigned long n;

	if (parse_count(val, UINT_MAX, &n)) {
		perr(st, "bad value '%s' for '%s': give a number >= 0", val,
		     spelled);
		return -EINVAL;
	}
	return 0;
}

/* One legacy item, "name" or "name=value". */
static int apply_legacy_item(struct parse_state *st, char *item)
{
	char spelled[64];
	char *val = strchr(item, '=');
	size_t i;

	if (val)
		*val++ = '\0';
	snprintf(spelled, sizeof(spelled), "-o %s", item);

	if (item[0] == '\0') {
		perr(st, "empty item in '-o' (see --help)");
		return -EINVAL;
	}
	if (strcmp(item, "debug") == 0) {
		if (val) {
			perr(st, "'%s' takes no value (see --help)", spelled);
			return -EINVAL;
		}
		return set_log_level(st, "debug", spelled);
	}
	if (strcmp(item, "source") == 0 || strcmp(item, "cache") == 0 ||
	    strcmp(item, "log_level") == 0 || strcmp(item, "timeout") == 0 ||
	    strcmp(item, "sandbox") == 0 || strcmp(item, "modcaps") == 0 ||
	    strcmp(item, "xattrmap") == 0 ||
	    strcmp(item, "max_idle_threads") == 0) {
		if (!val) {
			perr(st, "'%s' needs a value: '%s=VALUE' (see --help)",
			     spelled, spelled);
			return -EINVAL;
		}
		if (strcmp(item, "source") == 0)
			return set_string(st, SET_SHARED_DIR,
					  &st->cfg->shared_dir, val, spelled);
		if (strcmp(item, "cache") == 0)
			return set_cache(st, val, spelled);
		if (strcmp(item, "log_level") == 0)
			return set_log_level(st, val, spelled);
		if (strcmp(item, "sandbox") == 0)
			return set_sandbox(st, val, spelled);
		if (strcmp(item, "modcaps") == 0)
			return set_modcaps(st, val, spelled);
		if (strcmp(item, "xattrmap") == 0)
			return set_string(st, SET_XATTRMAP, &st->cfg->xattrmap,
					  val, spelled);
		if (strcmp(item, "max_idle_threads") == 0)
			return check_count(st, val, spelled);
		return check_timeout(st, val, spelled);
	}

	for (i = 0; i < sizeof(legacy_flags) / sizeof(legacy_flags[0]); i++) {
		if (strcmp(item, legacy_flags[i].name) == 0)
			break;
	}
	if (i < sizeof(legacy_flags) / sizeof(legacy_flags[0])) {
		if (val) {
			perr(st, "'%s' takes no value (see --help)", spelled);
			return -EINVAL;
		}
		return set_bool(
			st, legacy_flags[i].setting,
			(bool *)((char *)st->cfg + legacy_flags[i].field),
			legacy_flags[i].value, spelled);
	}

	if (strcmp(item, "readdirplus") == 0 ||
	    strcmp(item, "no_readdirplus") == 0) {
		if (val) {
			perr(st, "'%s' takes no value (see --help)", spelled);
			return -EINVAL;
		}
		return set_readdirplus(
			st, item[0] == 'r' ? CONFIG_ON : CONFIG_OFF, spelled);
	}

	for (i = 0; i < sizeof(legacy_ignored) / sizeof(legacy_ignored[0]);
	     i++) {
		if (strcmp(item, legacy_ignored[i]) == 0) {
			if (val) {
				perr(st, "'%s' takes no value (see --help)",
				     spelled);
				return -EINVAL;
			}
			return 0;
		}
	}

	perr(st, "unknown option '%s' (see --help)", spelled);
	return -EINVAL;
}

/*
 * "-o a,b=c": split on commas. A path may contain a comma in two
 * spellings: escaped with a backslash as the C daemon's option parser
 * wants ("source=/a\,b"), or doubled as in QEMU's option syntax, which is
 * how libvirt escapes the source directory it passes ("source=/a,,b").
 * An empty item is an error anyway, so ",," cannot mean anything else.
 */
static int apply_legacy(struct parse_state *st, const char *list)
{
	char *buf, *item, *w;
	const char *r;
	int ret = 0;

	if (list[0] == '\0') {
		perr(st, "'-o' needs a value: '-o OPT[,OPT...]' (see --help)");
		return -EINVAL;
	}
	buf = malloc(strlen(list) + 1);
	if (!buf) {
		perr(st, "out of memory");
		return -ENOMEM;
	}
	item = w = buf;
	for (r = list;; r++) {
		if (*r == '\\' && r[1] != '\0') {
			*w++ = *++r;
			continue;
		}
		if (*r == ',' && r[1] == ',') {
			*w++ = *++r;
			continue;
		}
		if (*r != ',' && *r != '\0') {
			*w++ = *r;
			continue;
		}
		*w++ = '\0';
		ret = apply_legacy_item(st, item);
		if (ret || *r == '\0')
			break;
		item = w;
	}
	free(buf);
	return ret;
}

static const struct opt_def *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < OPT_COUNT; i++) {
		const char *n = opt_table[i].name;

		if (n && strlen(n) == len && strncmp(n, name, len) == 0)
			return &opt_table[i];
	}
	return NULL;
}

static const struct opt_def *find_short(char c)
{
	for (size_t i = 0; i < OPT_COUNT; i++) {
		if (opt_table[i].short_name == c)
			return &opt_table[i];
	}
	return NULL;
}

static int apply_with_value(struct parse_state *st, const struct opt_def *o,
			    const char *val, const char *spelled)
{
	if (o->id == OPT_LEGACY)
		return apply_legacy(st, val);
	return apply_opt(st, o->id, val, spelled);
}

/* "--name", "--name=VALUE" or "--name VALUE"; advances *i past a value. */
static int parse_long(struct parse_state *st, int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct opt_def *o = find_long(arg, len);
	char spelled[64];

	if (!o) {
		perr(st, "unknown option '--%.*s' (see --help)", (int)len, arg);
		return -EINVAL;
	}
	snprintf(spelled, sizeof(spelled), "--%s", o->name);
	if (!o->arg) {
		if (eq) {
			perr(st, "option '%s' takes no value (see --help)",
			     spelled);
			return -EINVAL;
		}
		return apply_opt(st, o->id, NULL, spelled);
	}
	if (eq)
		return apply_with_value(st, o, eq + 1, spelled);
	if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0) {
		perr(st, "option '%s' needs a value: '%s %s' (see --help)",
		     spelled, spelled, o->arg);
		return -EINVAL;
	}
	(*i)++;
	return apply_with_value(st, o, argv[*i], spelled);
}

/* "-d", "-df", "-o LIST", "-oLIST"; advances *i past a value. */
static int parse_short(struct parse_state *st, int argc, char **argv, int *i)
{
	const char *p;
	int ret;

	for (p = argv[*i] + 1; *p; p++) {
		const struct opt_def *o = find_short(*p);
		char spelled[3] = { '-', *p, '\0' };

		if (!o) {
			perr(st, "unknown option '-%c' (see --help)", *p);
			return -EINVAL;
		}
		if (!o->arg) {
			ret = apply_opt(st, o->id, NULL, spelled);
			if (ret)
				return ret;
			continue;
		}
		if (p[1] != '\0')
			return apply_with_value(st, o, p + 1, spelled);
		if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0) {
			perr(st,
			     "option '%s' needs a value: '%s %s' (see --help)",
			     spelled, spelled, o->arg);
			return -EINVAL;
		}
		(*i)++;
		return apply_with_value(st, o, argv[*i], spelled);
	}
	return 0;
}

/* One help entry: the option in a column, the text after it (or on the
 * next line when the option is too wide). */
static void help_line(FILE *out, const char *left, const char *text)
{
	if (strlen(left) > HELP_COL)
		fprintf(out, "  %s\n  %-*s %s\n", left, HELP_COL, "", text);
	else
		fprintf(out, "  %-*s %s\n", HELP_COL, left, text);
}

static void print_help(FILE *out)
{
	fputs("Usage: vfsd --shared-dir DIR --socket-path PATH [OPTIONS]\n"
	      "       vfsd --shared-dir DIR --fd N [OPTIONS]\n"
	      "       vfsd --shared-dir DIR --mount MNT [OPTIONS]\n"
	      "       vfsd -o source=DIR[,OPT...] --socket-path PATH [OPTIONS]\n"
	      "       vfsd --shared-dir DIR [OPTIONS]   (socket-activated)\n"
	      "\n"
	      "Serves a host directory over the FUSE protocol (virtio-fs).\n"
	      "Without --socket-path, --fd or --mount it serves the one socket\n"
	      "passed by socket activation (LISTEN_PID, LISTEN_FDS=1, fd 3).\n"
	      "Values are given as '--opt VALUE' or '--opt=VALUE'.\n"
	      "\n"
	      "Options:\n",
	      out);
	for (size_t i = 0; i < OPT_COUNT; i++) {
		const struct opt_def *o = &opt_table[i];
		const char *sp = o->arg ? " " : "", *arg = o->arg ? o->arg : "";
		char left[64];

		if (o->name && o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s",
				 o->short_name, o->name, sp, arg);
		else if (o->name)
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 sp, arg);
		else
			snprintf(left, sizeof(left), "-%c%s%s", o->short_name,
				 sp, arg);
		help_line(out, left, o->help);
	}
	fputs("\nLegacy options (-o, comma-separated, repeatable):\n", out);
	for (size_t i = 0; i < sizeof(legacy_help) / sizeof(legacy_help[0]);
	     i++)
		help_line(out, legacy_help[i].item, legacy_help[i].help);
}

static void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cache = CONFIG_CACHE_AUTO;
	cfg->xattr = false;
	cfg->readdirplus = CONFIG_AUTO;
	cfg->threads = 0;
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->fd = -1;
	cfg->request_queues = CONFIG_QUEUES_DEFAULT;
	/* Confined by default: namespaces (with a user namespace when not
	 * root; config_parse() falls back to none for a host mount), the
	 * seccomp filter in kill mode. */
	cfg->sandbox = CONFIG_SANDBOX_NAMESPACE;
	cfg->seccomp = CONFIG_SECCOMP_KILL;
	cfg->rlimit_nofile = CONFIG_RLIMIT_NOFILE_AUTO;
	/* As the Rust virtiofsd: mounts inside the share are announced. */
	cfg->announce_submounts = true;
	cfg->inode_fh = CONFIG_FH_AUTO;
}

/* What libvirt reads to learn how to drive a vhost-user backend. */
static void print_capabilities(FILE *out)
{
	fputs("{\n"
	      "  \"type\": \"fs\",\n"
	      "  \"features\": [\n"
	      "    \"migrate-precopy\",\n"
	      "    \"separate-options\"\n"
	      "  ]\n"
	      "}\n",
	      out);
}

enum config_result config_parse(struct config *cfg, int argc, char **argv,
				FILE *out, FILE *err)
{
	struct parse_state st = { .cfg = cfg, .err = err };
	char why[256];
	int activated_fd = -1;
	int activation;
	int ret = 0;

	config_defaults(cfg);
	/* Read (and cleared from the environment) in every case; used only
	 * when the command line names no socket and no mount. */
	activation = config_listen_fds_take(&activated_fd, why, sizeof(why));
	for (int i = 1; i < argc && ret == 0; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--") == 0) {
			if (i + 1 < argc) {
				perr(&st,
				     "unexpected argument '%s' (see --help)",
				     argv[i + 1]);
				ret = -EINVAL;
			}
			break;
		}
		if (arg[0] == '-' && arg[1] == '-')
			ret = parse_long(&st, argc, argv, &i);
		else if (arg[0] == '-' && arg[1] != '\0')
			ret = parse_short(&st, argc, argv, &i);
		else {
			perr(&st, "unexpected argument '%s' (see --help)", arg);
			ret = -EINVAL;
		}
	}
	if (ret)
		goto out_free;

	if (cfg->want_help) {
		print_help(out);
		return CONFIG_EXIT_OK;
	}
	if (cfg->want_version) {
		fprintf(out, "vfsd %s\n", VFSD_VERSION);
		return CONFIG_EXIT_OK;
	}
	if (cfg->want_capabilities) {
		print_capabilities(out);
		return CONFIG_EXIT_OK;
	}
	if (!cfg->shared_dir) {
		perr(&st,
		     "no shared directory: give --shared-dir DIR (see --help)");
		goto out_free;
	}
	if (!cfg->mount_point && !cfg->socket_path && cfg->fd < 0 &&
	    activation) {
		if (activation < 0) {
			perr(&st, "%s", why);
			goto out_free;
		}
		/* Served as --fd: the manager listens, vfsd accepts. */
		cfg->fd = activated_fd;
		cfg->socket_activated = true;
	}
	if (!cfg->mount_point && !cfg->socket_path && cfg->fd < 0) {
		perr(&st,
		     "nothing to serve: give --socket-path PATH, --fd N or --mount MNT (see --help)");
		goto out_free;
	}
	if ((cfg->mount_point != NULL) + (cfg->socket_path != NULL) +
		    (cfg->fd >= 0) >
	    1) {
		perr(&st,
		     "give only one of --socket-path, --fd and --mount (see --help)");
		goto out_free;
	}
	if (cfg->socket_group && !cfg->socket_path && !cfg->metrics_socket) {
		perr(&st,
		     "--socket-group needs --socket-path or --metrics-socket");
		goto out_free;
	}
	if (cfg->metrics_socket && cfg->socket_path &&
	    strcmp(cfg->metrics_socket, cfg->socket_path) == 0) {
		perr(&st,
		     "--metrics-socket needs a path of its own, not the --socket-path");
		goto out_free;
	}
	/* The options that need xattrs turn them on, unless refused. */
	if (cfg->xattrmap || cfg->posix_acl || cfg->security_label) {
		const char *by = cfg->xattrmap	? st.who[SET_XATTRMAP] :
				 cfg->posix_acl ? st.who[SET_POSIX_ACL] :
						  st.who[SET_SECURITY_LABEL];

		if (st.who[SET_XATTR][0] && !cfg->xattr) {
			perr(&st,
			     "'%s' needs extended attributes: it conflicts with '%s'",
			     by, st.who[SET_XATTR]);
			goto out_free;
		}
		cfg->xattr = true;
	}
	if (cfg->daemonize && cfg->mount_point) {
		perr(&st,
		     "'--daemonize' is for vhost-user serving; a --mount runs in the foreground (start it with '&' or a service manager)");
		goto out_free;
	}
	if (cfg->daemonize && !st.who[SET_SYSLOG][0])
		cfg->syslog = true;
	/* The default sandbox: a host mount stays in the host's namespaces
	 * (capabilities and seccomp still apply). Without root the namespace
	 * sandbox takes a user namespace (src/sandbox/userns.c). */
	if (!st.who[SET_SANDBOX][0] && cfg->mount_point)
		cfg->sandbox = CONFIG_SANDBOX_NONE;
	return CONFIG_OK;

out_free:
	config_free(cfg);
	return CONFIG_ERROR;
}

void config_free(struct config *cfg)
{
	free(cfg->shared_dir);
	cfg->shared_dir = NULL;
	free(cfg->mount_point);
	cfg->mount_point = NULL;
	free(cfg->socket_path);
	cfg->socket_path = NULL;
	free(cfg->socket_group);
	cfg->socket_group = NULL;
	free(cfg->metrics_socket);
	cfg->metrics_socket = NULL;
	free(cfg->tag);
	cfg->tag = NULL;
	free(cfg->modcaps);
	cfg->modcaps = NULL;
	free(cfg->xattrmap);
	cfg->xattrmap = NULL;
	for (unsigned int i = 0; i < cfg->translate_uid_count; i++)
		free(cfg->translate_uid[i]);
	free(cfg->translate_uid);
	cfg->translate_uid = NULL;
	cfg->translate_uid_count = 0;
	for (unsigned int i = 0; i < cfg->translate_gid_count; i++)
		free(cfg->translate_gid[i]);
	free(cfg->translate_gid);
	cfg->translate_gid = NULL;
	cfg->translate_gid_count = 0;
	free(cfg->uid_map);
	cfg->uid_map = NULL;
	cfg->uid_map_count = 0;
	free(cfg->gid_map);
	cfg->gid_map = NULL;
	cfg->gid_map_count = 0;
}

const char *config_cache_name(enum config_cache cache)
{
	switch (cache) {
	case CONFIG_CACHE_NEVER:
		return "never";
	case CONFIG_CACHE_METADATA:
		return "metadata";
	case CONFIG_CACHE_AUTO:
		return "auto";
	case CONFIG_CACHE_ALWAYS:
		return "always";
	}
	return "unknown";
}

const char *config_inode_fh_name(enum config_inode_fh mode)
{
	switch (mode) {
	case CONFIG_FH_AUTO:
		return "auto";
	case CONFIG_FH_NEVER:
		return "never";
	case CONFIG_FH_PREFER:
		return "prefer";
	case CONFIG_FH_MANDATORY:
		return "mandatory";
	}
	return "unknown";
}

const char *config_sandbox_name(enum config_sandbox sandbox)
{
	switch (sandbox) {
	case CONFIG_SANDBOX_NONE:
		return "none";
	case CONFIG_SANDBOX_CHROOT:
		return "chroot";
	case CONFIG_SANDBOX_NAMESPACE:
		return "namespace";
	}
	return "unknown";
}

const char *config_seccomp_name(enum config_seccomp seccomp)
{
	switch (seccomp) {
	case CONFIG_SECCOMP_NONE:
		return "none";
	case CONFIG_SECCOMP_KILL:
		return "kill";
	case CONFIG_SECCOMP_LOG:
		return "log";
	case CONFIG_SECCOMP_TRAP:
		return "trap";
	}
	return "unknown";
}
