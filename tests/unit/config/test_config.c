// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for the command line (src/config/config.c).
 *
 * Flow: each test builds an argv, runs config_parse() with its help and
 * error streams captured in memory, then checks the result, the parsed
 * settings and the one-line message on errors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "log/log.h"

#define MAX_ARGS 32

struct run {
	struct config cfg;
	enum config_result res;
	char *out;
	char *err;
};

/* Parse the NULL-terminated arguments after "vfsd" into @r. */
static enum config_result parse_args(struct run *r, const char *first, ...)
{
	char *argv[MAX_ARGS + 2];
	size_t out_len, err_len;
	FILE *out, *err;
	const char *a;
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"vfsd";
	va_start(ap, first);
	for (a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc <= MAX_ARGS);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;

	out = open_memstream(&r->out, &out_len);
	err = open_memstream(&r->err, &err_len);
	assert_non_null(out);
	assert_non_null(err);
	r->res = config_parse(&r->cfg, argc, argv, out, err);
	fclose(out);
	fclose(err);
	return r->res;
}

static void run_free(struct run *r)
{
	config_free(&r->cfg);
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* The run failed with exactly one line on err containing @needle. */
static void assert_error(struct run *r, const char *needle)
{
	size_t len = strlen(r->err);

	assert_int_equal(r->res, CONFIG_ERROR);
	assert_true(len > 0);
	assert_int_equal(r->err[len - 1], '\n');
	assert_ptr_equal(strchr(r->err, '\n'), r->err + len - 1);
	assert_int_equal(strncmp(r->err, "vfsd: ", 6), 0);
	if (!strstr(r->err, needle))
		fail_msg("error '%s' lacks '%s'", r->err, needle);
	assert_string_equal(r->out, "");
	/* On error nothing is left to free. */
	assert_null(r->cfg.shared_dir);
	assert_null(r->cfg.mount_point);
	assert_null(r->cfg.uid_map);
	assert_null(r->cfg.gid_map);
	assert_int_equal(r->cfg.uid_map_count, 0);
}

static void assert_ok(struct run *r)
{
	if (r->res != CONFIG_OK)
		fail_msg("parse failed: %s", r->err);
	assert_string_equal(r->err, "");
	assert_string_equal(r->out, "");
}

#define BASE "--shared-dir", "/srv/share", "--mount", "/mnt/m"

static void test_defaults(void **state)
{
	struct run r;

	parse_args(&r, BASE, NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.shared_dir, "/srv/share");
	assert_string_equal(r.cfg.mount_point, "/mnt/m");
	assert_int_equal(r.cfg.cache, CONFIG_CACHE_AUTO);
	assert_false(r.cfg.xattr);
	assert_false(r.cfg.writeback);
	assert_false(r.cfg.allow_direct_io);
	assert_int_equal(r.cfg.readdirplus, CONFIG_AUTO);
	/* On by default, as in the Rust virtiofsd. */
	assert_true(r.cfg.announce_submounts);
	assert_false(r.cfg.killpriv_v2);
	assert_false(r.cfg.allow_mmap);
	assert_false(r.cfg.preserve_noatime);
	assert_int_equal(r.cfg.inode_fh, CONFIG_FH_AUTO);
	assert_null(r.cfg.xattrmap);
	assert_false(r.cfg.posix_acl);
	assert_false(r.cfg.security_label);
	assert_int_equal(r.cfg.translate_uid_count, 0);
	assert_int_equal(r.cfg.translate_gid_count, 0);
	assert_int_equal(r.cfg.migration_mode, CONFIG_MIGRATION_FIND_PATHS);
	assert_int_equal(r.cfg.migration_on_error, CONFIG_MIGRATION_ABORT);
	assert_false(r.cfg.daemonize);
	assert_int_equal(r.cfg.threads, 0);
	assert_int_equal(r.cfg.log_level, LOG_LEVEL_INFO);
	assert_false(r.cfg.syslog);
	assert_false(r.cfg.want_help);
	assert_false(r.cfg.want_version);
	/* A host mount stays in the host's namespaces: no sandbox mode,
	 * but the seccomp filter in kill mode. */
	assert_int_equal(r.cfg.sandbox, CONFIG_SANDBOX_NONE);
	assert_int_equal(r.cfg.seccomp, CONFIG_SECCOMP_KILL);
	assert_false(r.cfg.readonly);
	assert_null(r.cfg.modcaps);
	assert_true(r.cfg.rlimit_nofile == CONFIG_RLIMIT_NOFILE_AUTO);
	run_free(&r);
}

static void test_equals_form(void **state)
{
	struct run r;

	parse_args(&r, "--shared-dir=/a", "--mount=/b", "--cache=never",
		   "--thread-pool-size=8", "--log-level=trace", NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.shared_dir, "/a");
	assert_string_equal(r.cfg.mount_point, "/b");
	assert_int_equal(r.cfg.cache, CONFIG_CACHE_NEVER);
	assert_int_equal(r.cfg.threads, 8);
	assert_int_equal(r.cfg.log_level, LOG_LEVEL_TRACE);
	run_free(&r);
}

static void test_cache_values(void **state)
{
	static const struct {
		const char *arg;
		enum config_cache cache;
	} cases[] = {
		{ "never", CONFIG_CACHE_NEVER },
		{ "metadata", CONFIG_CACHE_METADATA },
		{ "auto", CONFIG_CACHE_AUTO },
		{ "always", CONFIG_CACHE_ALWAYS },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_args(&r, BASE, "--cache", cases[i].arg, NULL);
		assert_ok(&r);
		assert_int_equal(r.cfg.cache, cases[i].cache);
		assert_string_equal(config_cache_name(r.cfg.cache),
				    cases[i].arg);
		run_free(&r);
	}
}

static void test_flags(void **state)
{
	struct run r;

	parse_args(&r, BASE, "--xattr", "--writeback", "--allow-direct-io",
		   "--readdirplus", "--killpriv-v2", "--announce-submounts",
		   "--syslog", "-f", NULL);
	assert_ok(&r);
	assert_true(r.cfg.xattr);
	assert_true(r.cfg.writeback);
	assert_true(r.cfg.allow_direct_io);
	assert_int_equal(r.cfg.readdirplus, CONFIG_ON);
	assert_true(r.cfg.killpriv_v2);
	assert_true(r.cfg.announce_submounts);
	assert_true(r.cfg.syslog);
	run_free(&r);

	parse_args(&r, BASE, "--no-xattr", "--no-readdirplus",
		   "--no-killpriv-v2", NULL);
	assert_ok(&r);
	assert_false(r.cfg.xattr);
	assert_int_equal(r.cfg.readdirplus, CONFIG_OFF);
	assert_false(r.cfg.killpriv_v2);
	run_free(&r);
}

/* The options of the Rust virtiofsd 1.13 this parser added. */
static void test_rust_options(void **state)
{
	static const struct {
		const char *arg;
		enum config_inode_fh mode;
	} fh[] = {
		{ "never", CONFIG_FH_NEVER },
		{ "prefer", CONFIG_FH_PREFER },
		{ "fallback", CONFIG_FH_PREFER },
		{ "mandatory", CONFIG_FH_MANDATORY },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(fh) / sizeof(fh[0]); i++) {
		parse_args(&r, BASE, "--inode-file-handles", fh[i].arg, NULL);
		assert_ok(&r);
		assert_int_equal(r.cfg.inode_fh, fh[i].mode);
		run_free(&r);
	}
	assert_string_equal(config_inode_fh_name(CONFIG_FH_PREFER), "prefer");

	parse_args(&r, BASE, "--allow-mmap", "--preserve-noatime",
		   "--no-announce-submounts", "--posix-acl", NULL);
	assert_ok(&r);
	assert_true(r.cfg.allow_mmap);
	assert_true(r.cfg.preserve_noatime);
	assert_false(r.cfg.announce_submounts);
	assert_true(r.cfg.posix_acl);
	assert_true(r.cfg.xattr); /* implied */
	assert_false(r.cfg.security_label);
	run_free(&r);

	/* Live migration, the Rust daemon's spellings and values. */
	parse_args(&r, BASE, "--migration-mode", "file-handles",
		   "--migration-on-error=guest-error",
		   "--migration-verify-handles", "--migration-confirm-paths",
		   NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.migration_mode, CONFIG_MIGRATION_FILE_HANDLES);
	assert_int_equal(r.cfg.migration_on_error,
			 CONFIG_MIGRATION_GUEST_ERROR);
	assert_true(r.cfg.migration_verify_handles);
	assert_true(r.cfg.migration_confirm_paths);
	run_free(&r);
	parse_args(&r, BASE, "--migration-mode=find-paths",
		   "--migration-on-error", "abort", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.migration_mode, CONFIG_MIGRATION_FIND_PATHS);
	assert_int_equal(r.cfg.migration_on_error, CONFIG_MIGRATION_ABORT);
	run_free(&r);

	parse_args(&r, BASE, "--security-label", "--xattrmap",
		   ":map::user.virtiofs.:", NULL);
	assert_ok(&r);
	assert_true(r.cfg.security_label);
	assert_true(r.cfg.xattr);
	assert_string_equal(r.cfg.xattrmap, ":map::user.virtiofs.:");
	run_free(&r);

	parse_args(&r, BASE, "-o",
		   "xattrmap=:ok:all:::,posix_acl,security_label", NULL);
	assert_ok(&r);
	assert_true(r.cfg.xattr);
	assert_true(r.cfg.posix_acl);
	assert_true(r.cfg.security_label);
	assert_string_equal(r.cfg.xattrmap, ":ok:all:::");
	run_free(&r);

	parse_args(&r, BASE, "-o", "no_posix_acl,no_security_label", NULL);
	assert_ok(&r);
	assert_false(r.cfg.posix_acl);
	assert_false(r.cfg.security_label);
	assert_false(r.cfg.xattr);
	run_free(&r);

	/* Repeatable, kept in order for the passthrough to check. */
	parse_args(&r, BASE, "--translate-uid", "map:1000:0:1",
		   "--translate-uid=guest:0:5000:10", "--translate-gid",
		   "forbid-guest:7:3", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.translate_uid_count, 2);
	assert_string_equal(r.cfg.translate_uid[0], "map:1000:0:1");
	assert_string_equal(r.cfg.translate_uid[1], "guest:0:5000:10");
	assert_int_equal(r.cfg.translate_gid_count, 1);
	assert_string_equal(r.cfg.translate_gid[0], "forbid-guest:7:3");
	run_free(&r);

	/* The deprecated spelling of --socket-path; the C daemon's
	 * leftovers are accepted without effect. */
	parse_args(&r, "--shared-dir", "/s", "--socket", "/run/v.sock", "-o",
		   "debug,allow_root,max_idle_threads=8", NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.socket_path, "/run/v.sock");
	assert_int_equal(r.cfg.log_level, LOG_LEVEL_DEBUG);
	run_free(&r);

	parse_args(&r, "--shared-dir", "/s", "--socket-path", "/v.sock",
		   "--daemonize", NULL);
	assert_ok(&r);
	assert_true(r.cfg.daemonize);
	assert_true(r.cfg.syslog); /* no terminal left to log to */
	run_free(&r);
}

static void test_log_levels(void **state)
{
	static const struct {
		const char *arg;
		int level;
	} cases[] = {
		{ "error", LOG_LEVEL_ERROR }, { "warn", LOG_LEVEL_WARN },
		{ "info", LOG_LEVEL_INFO },   { "debug", LOG_LEVEL_DEBUG },
		{ "trace", LOG_LEVEL_TRACE }, { "off", LOG_LEVEL_OFF },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_args(&r, BASE, "--log-level", cases[i].arg, NULL);
		assert_ok(&r);
		assert_int_equal(r.cfg.log_level, cases[i].level);
		run_free(&r);
	}
	parse_args(&r, BASE, "-d", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.log_level, LOG_LEVEL_DEBUG);
	run_free(&r);

	parse_args(&r, BASE, "--debug", "--log-level", "debug", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.log_level, LOG_LEVEL_DEBUG);
	run_free(&r);

	/* Clustered short flags. */
	parse_args(&r, BASE, "-fd", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.log_level, LOG_LEVEL_DEBUG);
	run_free(&r);
}

static void test_legacy_basic(void **state)
{
	struct run r;

	parse_args(&r, "-o", "source=/srv/old,cache=none,xattr", "--mount",
		   "/m", NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.shared_dir, "/srv/old");
	assert_int_equal(r.cfg.cache, CONFIG_CACHE_NEVER);
	assert_true(r.cfg.xattr);
	run_free(&r);

	/* Attached form and repeated -o. */
	parse_args(&r, "-osource=/x", "-ocache=always", "-o", "writeback",
		   "--mount", "/m", NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.shared_dir, "/x");
	assert_int_equal(r.cfg.cache, CONFIG_CACHE_ALWAYS);
	assert_true(r.cfg.writeback);
	run_free(&r);

	parse_args(&r, "-o", "source=/x,cache=auto", "--mount", "/m", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.cache, CONFIG_CACHE_AUTO);
	run_free(&r);

	/* A backslash escapes a comma inside a path. */
	parse_args(&r, "-o", "source=/a\\,b,xattr", "--mount", "/m", NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.shared_dir, "/a,b");
	assert_true(r.cfg.xattr);
	run_free(&r);

	/* So does doubling it, as libvirt escapes the source directory. */
	parse_args(&r, "-o", "source=/a,,b,,,xattr", "--mount", "/m", NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.shared_dir, "/a,b,");
	assert_true(r.cfg.xattr);
	run_free(&r);

	parse_args(&r, "-o", "source=/x,,,,y,,", "--mount", "/m", NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.shared_dir, "/x,,y,");
	run_free(&r);
}

static void test_legacy_flags(void **state)
{
	struct run r;

	parse_args(&r, BASE, "-o",
		   "xattr,writeback,allow_direct_io,readdirplus,killpriv_v2,"
		   "announce_submounts",
		   NULL);
	assert_ok(&r);
	assert_true(r.cfg.xattr);
	assert_true(r.cfg.writeback);
	assert_true(r.cfg.allow_direct_io);
	assert_int_equal(r.cfg.readdirplus, CONFIG_ON);
	assert_true(r.cfg.killpriv_v2);
	assert_true(r.cfg.announce_submounts);
	run_free(&r);

	parse_args(&r, BASE, "-o",
		   "no_xattr,no_writeback,no_allow_direct_io,no_readdirplus,"
		   "no_killpriv_v2",
		   NULL);
	assert_ok(&r);
	assert_false(r.cfg.xattr);
	assert_false(r.cfg.writeback);
	assert_false(r.cfg.allow_direct_io);
	assert_int_equal(r.cfg.readdirplus, CONFIG_OFF);
	assert_false(r.cfg.killpriv_v2);
	run_free(&r);

	/* Accepted for compatibility, no effect. */
	parse_args(&r, BASE, "-o",
		   "flock,no_flock,posix_lock,no_posix_lock,timeout=1.5", NULL);
	assert_ok(&r);
	run_free(&r);
}

static void test_legacy_log_level(void **state)
{
	static const struct {
		const char *arg;
		int level;
	} cases[] = {
		{ "log_level=debug", LOG_LEVEL_DEBUG },
		{ "log_level=info", LOG_LEVEL_INFO },
		{ "log_level=warn", LOG_LEVEL_WARN },
		{ "log_level=err", LOG_LEVEL_ERROR },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_args(&r, BASE, "-o", cases[i].arg, NULL);
		assert_ok(&r);
		assert_int_equal(r.cfg.log_level, cases[i].level);
		run_free(&r);
	}
}

static void test_same_value_twice(void **state)
{
	struct run r;

	parse_args(&r, BASE, "-o", "source=/srv/share", "--xattr", "-o",
		   "xattr", "--cache", "never", "-o", "cache=none", NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.shared_dir, "/srv/share");
	run_free(&r);
}

static void test_help(void **state)
{
	static const char *const options[] = {
		"--shared-dir",
		"--mount",
		"--cache",
		"--xattr",
		"--no-xattr",
		"--writeback",
		"--allow-direct-io",
		"--readdirplus",
		"--no-readdirplus",
		"--killpriv-v2",
		"--no-killpriv-v2",
		"--announce-submounts",
		"--thread-pool-size",
		"--log-level",
		"--syslog",
		"--debug",
		"-f",
		"-o",
		"--help",
		"--version",
		"source=",
		"cache=",
		"no_xattr",
		"log_level=",
		"timeout=",
	};
	struct run r;

	/* Help wins over missing required options. */
	assert_int_equal(parse_args(&r, "--help", NULL), CONFIG_EXIT_OK);
	assert_true(r.cfg.want_help);
	assert_string_equal(r.err, "");
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		if (!strstr(r.out, options[i]))
			fail_msg("help lacks %s", options[i]);
	}
	run_free(&r);

	assert_int_equal(parse_args(&r, BASE, "-h", NULL), CONFIG_EXIT_OK);
	assert_true(strlen(r.out) > 0);
	run_free(&r);
}

static void test_version(void **state)
{
	struct run r;

	assert_int_equal(parse_args(&r, "--version", NULL), CONFIG_EXIT_OK);
	assert_true(r.cfg.want_version);
	assert_string_equal(r.out, "vfsd " VFSD_VERSION "\n");
	assert_string_equal(r.err, "");
	run_free(&r);

	assert_int_equal(parse_args(&r, "-V", NULL), CONFIG_EXIT_OK);
	assert_string_equal(r.out, "vfsd " VFSD_VERSION "\n");
	run_free(&r);
}

/* --metrics-socket with either transport; --socket-group then applies
 * to it even without --socket-path. */
static void test_metrics_socket(void **state)
{
	struct run r;

	assert_int_equal(parse_args(&r, BASE, "--metrics-socket", "/run/m.sock",
				    "--socket-group", "kvm", NULL),
			 CONFIG_OK);
	assert_string_equal(r.cfg.metrics_socket, "/run/m.sock");
	assert_string_equal(r.cfg.socket_group, "kvm");
	assert_string_equal(r.err, "");
	run_free(&r);

	assert_int_equal(parse_args(&r, "--shared-dir", "/s", "--socket-path",
				    "/run/v.sock", "--metrics-socket=/run/m",
				    NULL),
			 CONFIG_OK);
	assert_string_equal(r.cfg.metrics_socket, "/run/m");
	run_free(&r);

	assert_int_equal(parse_args(&r, BASE, NULL), CONFIG_OK);
	assert_null(r.cfg.metrics_socket);
	run_free(&r);
}

/* Each error case: arguments and a word the message must contain. */
static const struct {
	const char *args[8];
	const char *needle;
} error_cases[] = {
	{ { BASE, "--foo" }, "unknown option '--foo'" },
	{ { BASE, "--foo=bar" }, "unknown option '--foo'" },
	{ { BASE, "-x" }, "unknown option '-x'" },
	{ { BASE, "-o", "bogus" }, "unknown option '-o bogus'" },
	{ { BASE, "-o", "xattr,bogus=1" }, "unknown option '-o bogus'" },
	{ { BASE, "-o" }, "'-o' needs a value" },
	{ { BASE, "-o", "" }, "'-o' needs a value" },
	{ { BASE, "-o", "xattr,,writeback" },
	  "unknown option '-o xattr,writeback'" },
	{ { BASE, "-o", "xattr,,,writeback" }, "unknown option '-o xattr,'" },
	{ { BASE, "-o", "xattr," }, "empty item" },
	{ { BASE, "-o", ",xattr" }, "empty item" },
	{ { BASE, "-o", "source" }, "'-o source' needs a value" },
	{ { BASE, "-o", "cache" }, "'-o cache' needs a value" },
	{ { BASE, "-o", "xattr=1" }, "'-o xattr' takes no value" },
	{ { BASE, "-o", "readdirplus=1" }, "takes no value" },
	{ { BASE, "-o", "flock=1" }, "takes no value" },
	{ { BASE, "-o", "cache=bogus" }, "bad cache mode 'bogus'" },
	{ { BASE, "-o", "log_level=loud" }, "bad log level 'loud'" },
	{ { BASE, "-o", "timeout=soon" }, "bad value 'soon'" },
	{ { BASE, "--cache" }, "'--cache' needs a value" },
	{ { BASE, "--cache", "bogus" }, "bad cache mode 'bogus'" },
	{ { BASE, "--cache=" }, "bad cache mode ''" },
	{ { BASE, "--log-level", "loud" }, "bad log level 'loud'" },
	{ { BASE, "--thread-pool-size", "-1" }, "bad thread count '-1'" },
	{ { BASE, "--thread-pool-size", "x" }, "bad thread count 'x'" },
	{ { BASE, "--thread-pool-size", "99999999999" }, "bad thread count" },
	{ { BASE, "--thread-pool-size" }, "needs a value" },
	{ { BASE, "--xattr=yes" }, "'--xattr' takes no value" },
	{ { "--shared-dir", "--mount", "/m" }, "'--shared-dir' needs a value" },
	{ { "--shared-dir=", "--mount", "/m" }, "non-empty value" },
	{ { "--mount", "/m", "--shared-dir" }, "'--shared-dir' needs a value" },
	{ { BASE, "stray" }, "unexpected argument 'stray'" },
	{ { BASE, "-" }, "unexpected argument '-'" },
	{ { BASE, "--", "x" }, "unexpected argument 'x'" },
	{ { "--mount", "/m" }, "no shared directory" },
	{ { "--shared-dir", "/s" }, "nothing to serve: give --socket-path" },
	{ { BASE, "--socket-path", "/s.sock" }, "give only one of" },
	{ { "--shared-dir", "/s", "--fd", "3", "--socket-path", "/x" },
	  "give only one of" },
	{ { "--shared-dir", "/s", "--fd", "-3" }, "bad file descriptor '-3'" },
	{ { "--shared-dir", "/s", "--fd=x" }, "bad file descriptor 'x'" },
	{ { BASE, "--socket-group", "kvm" }, "--socket-group needs" },
	{ { BASE, "--metrics-socket" }, "'--metrics-socket' needs a value" },
	{ { BASE, "--metrics-socket", "" }, "non-empty value" },
	{ { BASE, "--metrics-socket", "/a", "--metrics-socket", "/b" },
	  "conflicts with" },
	{ { "--shared-dir", "/s", "--socket-path", "/x", "--metrics-socket",
	    "/x" },
	  "a path of its own" },
	{ { BASE, "--tag", "0123456789012345678901234567890123456" },
	  "longer than 36 bytes" },
	{ { BASE, "--queues", "0" }, "bad queue count '0'" },
	{ { BASE, "--queues", "256" }, "bad queue count '256'" },
	{ { BASE, "-o", "source=/other" }, "conflicts with '--shared-dir'" },
	{ { BASE, "--shared-dir", "/other" }, "conflicts with" },
	{ { BASE, "--mount", "/other" }, "conflicts with" },
	{ { BASE, "--xattr", "--no-xattr" }, "'--no-xattr' conflicts" },
	{ { BASE, "--xattr", "-o", "no_xattr" }, "'-o no_xattr' conflicts" },
	{ { BASE, "--readdirplus", "--no-readdirplus" }, "conflicts" },
	{ { BASE, "--killpriv-v2", "--no-killpriv-v2" }, "conflicts" },
	{ { BASE, "--cache", "never", "-o", "cache=always" }, "conflicts" },
	{ { BASE, "-d", "--log-level", "warn" }, "conflicts with '-d'" },
	{ { BASE, "--thread-pool-size", "1", "--thread-pool-size=2" },
	  "conflicts" },
	{ { BASE, "--sandbox", "jail" }, "bad sandbox 'jail'" },
	{ { BASE, "--sandbox" }, "'--sandbox' needs a value" },
	{ { BASE, "-o", "sandbox=jail" },
	  "bad sandbox 'jail' for '-o sandbox'" },
	{ { BASE, "-o", "sandbox" }, "'-o sandbox' needs a value" },
	{ { BASE, "--sandbox", "chroot", "-o", "sandbox=namespace" },
	  "'-o sandbox' conflicts with '--sandbox'" },
	{ { BASE, "--seccomp", "maybe" }, "bad seccomp action 'maybe'" },
	{ { BASE, "--seccomp=kill", "--seccomp=log" }, "conflicts" },
	{ { BASE, "--modcaps", "sys_admin" }, "bad capability list" },
	{ { BASE, "--modcaps", "+sys_admin:" }, "bad capability list" },
	{ { BASE, "--modcaps", "+sys_admin::-mknod" }, "bad capability list" },
	{ { BASE, "--modcaps", "+" }, "bad capability list" },
	{ { BASE, "--modcaps", "+sys admin" }, "bad capability list" },
	{ { BASE, "--modcaps=" }, "non-empty value" },
	{ { BASE, "-o", "modcaps=-chown,modcaps=+chown" }, "conflicts" },
	{ { BASE, "--rlimit-nofile", "-1" }, "bad file limit '-1'" },
	{ { BASE, "--rlimit-nofile", "many" }, "bad file limit 'many'" },
	{ { BASE, "--rlimit-nofile", "99999999999999999999999" },
	  "bad file limit" },
	{ { BASE, "--uid-map", ":0:1000:" },
	  "bad map ':0:1000:' for '--uid-map'" },
	{ { BASE, "--uid-map", ":0:1000:1" }, "same separator" },
	{ { BASE, "--gid-map=:0:1000:0:" }, "count must be at least 1" },
	{ { BASE, "--gid-map", "x0x1x1x" },
	  "bad map 'x0x1x1x' for '--gid-map'" },
	{ { BASE, "--uid-map", ":0:1000:1:", "--uid-map", ":0:2000:1:" },
	  "overlaps :0:1000:1: inside the namespace" },
	{ { BASE, "--gid-map", ":0:1000:10:", "--gid-map", ":10:1005:1:" },
	  "overlaps :0:1000:10: on the host" },
	{ { BASE, "--uid-map" }, "'--uid-map' needs a value" },
	{ { BASE, "--translate-uid" }, "'--translate-uid' needs a value" },
	{ { BASE, "--translate-gid=" }, "non-empty value" },
	{ { BASE, "--inode-file-handles", "sometimes" },
	  "bad file handle mode 'sometimes'" },
	{ { BASE, "--inode-file-handles" }, "needs a value" },
	{ { BASE, "--inode-file-handles=never",
	    "--inode-file-handles=mandatory" },
	  "conflicts" },
	{ { BASE, "--xattrmap" }, "'--xattrmap' needs a value" },
	{ { BASE, "--xattrmap", ":ok:all:::", "--no-xattr" }, "conflicts" },
	{ { BASE, "--posix-acl", "-o", "no_xattr" }, "conflicts" },
	{ { BASE, "--security-label", "--no-xattr" }, "conflicts" },
	{ { BASE, "--posix-acl", "-o", "no_posix_acl" }, "conflicts" },
	{ { BASE, "--announce-submounts", "--no-announce-submounts" },
	  "conflicts" },
	{ { BASE, "--allow-mmap=1" }, "'--allow-mmap' takes no value" },
	{ { BASE, "--migration-mode", "teleport" },
	  "bad migration mode 'teleport'" },
	{ { BASE, "--migration-on-error", "retry" },
	  "bad migration error action 'retry'" },
	{ { BASE, "-o", "max_idle_threads=lots" }, "bad value 'lots'" },
	{ { BASE, "--daemonize" }, "'--daemonize' is for vhost-user serving" },
	/* Errors come before --help. */
	{ { "--help", "--bogus" }, "unknown option '--bogus'" },
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]);
	     i++) {
		const char *const *a = error_cases[i].args;
		struct run r;

		parse_args(&r, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7],
			   NULL);
		assert_error(&r, error_cases[i].needle);
		run_free(&r);
	}
}

static void test_sandbox(void **state)
{
	static const struct {
		const char *args[4];
		enum config_sandbox sandbox;
		enum config_seccomp seccomp;
	} cases[] = {
		{ { "--sandbox", "namespace" },
		  CONFIG_SANDBOX_NAMESPACE,
		  CONFIG_SECCOMP_KILL },
		{ { "--sandbox=chroot", "--seccomp=log" },
		  CONFIG_SANDBOX_CHROOT,
		  CONFIG_SECCOMP_LOG },
		{ { "--sandbox", "none", "--seccomp", "kill" },
		  CONFIG_SANDBOX_NONE,
		  CONFIG_SECCOMP_KILL },
		{ { "-o", "sandbox=namespace", "--seccomp", "trap" },
		  CONFIG_SANDBOX_NAMESPACE,
		  CONFIG_SECCOMP_TRAP },
		{ { "-o", "sandbox=chroot", "--sandbox", "chroot" },
		  CONFIG_SANDBOX_CHROOT,
		  CONFIG_SECCOMP_KILL },
		{ { "--seccomp", "none" },
		  CONFIG_SANDBOX_NONE,
		  CONFIG_SECCOMP_NONE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		parse_args(&r, BASE, cases[i].args[0], cases[i].args[1],
			   cases[i].args[2], cases[i].args[3], NULL);
		assert_ok(&r);
		assert_int_equal(r.cfg.sandbox, cases[i].sandbox);
		assert_int_equal(r.cfg.seccomp, cases[i].seccomp);
		run_free(&r);
	}
	/* Serving vhost-user, the default is the namespace sandbox for every
	 * user (without root in a user namespace); --readonly in both
	 * spellings. */
	{
		struct run r;

		parse_args(&r, "--shared-dir", "/srv/share", "--socket-path",
			   "/run/s", NULL);
		assert_ok(&r);
		assert_int_equal(r.cfg.sandbox, CONFIG_SANDBOX_NAMESPACE);
		assert_int_equal(r.cfg.seccomp, CONFIG_SECCOMP_KILL);
		run_free(&r);
		parse_args(&r, BASE, "--readonly", NULL);
		assert_ok(&r);
		assert_true(r.cfg.readonly);
		run_free(&r);
		parse_args(&r, BASE, "-o", "readonly", NULL);
		assert_ok(&r);
		assert_true(r.cfg.readonly);
		run_free(&r);
	}
	assert_string_equal(config_sandbox_name(CONFIG_SANDBOX_NAMESPACE),
			    "namespace");
	assert_string_equal(config_seccomp_name(CONFIG_SECCOMP_KILL), "kill");
}

static void test_modcaps_rlimit(void **state)
{
	struct run r;

	parse_args(&r, BASE, "--modcaps=+sys_admin:-mknod", "--rlimit-nofile",
		   "4096", NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.modcaps, "+sys_admin:-mknod");
	assert_true(r.cfg.rlimit_nofile == 4096);
	run_free(&r);

	/* The C daemon's spelling; ':' separates, ',' ends the -o item. */
	parse_args(&r, BASE, "-o", "modcaps=-CAP_CHOWN:+sys_admin,xattr",
		   "--rlimit-nofile=0", NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.modcaps, "-CAP_CHOWN:+sys_admin");
	assert_true(r.cfg.xattr);
	assert_true(r.cfg.rlimit_nofile == 0);
	run_free(&r);

	/* The same list twice is no conflict. */
	parse_args(&r, BASE, "--modcaps", "+chown", "-o", "modcaps=+chown",
		   NULL);
	assert_ok(&r);
	run_free(&r);
}

/* One --uid-map/--gid-map value: the Rust virtiofsd's syntax, with every
 * way to get it wrong refused and the reason named. */
static void test_idmap_syntax(void **state)
{
	static const struct {
		const char *s;
		uint32_t inside, outside, count;
	} good[] = {
		{ ":0:1000:1:", 0, 1000, 1 },
		{ ":0:100000:65536:", 0, 100000, 65536 },
		{ "/1/2/3/", 1, 2, 3 },
		{ "-5-6-7-", 5, 6, 7 },
		{ ":007:08:9:", 7, 8, 9 },
		{ ":4294967294:0:1:", 4294967294u, 0, 1 },
		{ ":0:0:4294967295:", 0, 0, 4294967295u },
	};
	static const struct {
		const char *s;
		const char *why;
	} bad[] = {
		{ "", "same separator" },
		{ ":", "same separator" },
		{ "::", "three numbers" },
		{ ":0:1000:1", "same separator" },
		{ "0:1000:1:", "same separator" },
		{ "a0a1a1a", "same separator" },
		{ ":0:1000:1;", "same separator" },
		{ ":0;1000;1:", "three numbers" },
		{ ":0:1000:", "three numbers" },
		{ ":0:1000:1:2:", "three numbers" },
		{ "::1000:1:", "three numbers" },
		{ ":+1:2:3:", "three numbers" },
		{ ":-1:2:3:", "three numbers" },
		{ ": 1:2:3:", "three numbers" },
		{ ":0x10:1:1:", "three numbers" },
		{ ":1.5:1:1:", "three numbers" },
		{ ":4294967296:0:1:", "larger than 4294967295" },
		{ ":99999999999999999999999:0:1:", "larger than 4294967295" },
		{ ":0:1000:0:", "at least 1" },
		{ ":4294967295:0:1:", "past id 4294967294" },
		{ ":0:4294967295:1:", "past id 4294967294" },
		{ ":1:0:4294967295:", "past id 4294967294" },
		{ ":0:4294967290:6:", "past id 4294967294" },
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct config_idmap m;
		const char *why = NULL;

		if (config_parse_idmap(good[i].s, &m, &why))
			fail_msg("'%s' refused: %s", good[i].s, why);
		assert_int_equal(m.inside, good[i].inside);
		assert_int_equal(m.outside, good[i].outside);
		assert_int_equal(m.count, good[i].count);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config_idmap m = { 7, 7, 7 };
		const char *why = NULL;

		if (config_parse_idmap(bad[i].s, &m, &why) != -EINVAL)
			fail_msg("'%s' accepted", bad[i].s);
		assert_non_null(why);
		if (!strstr(why, bad[i].why))
			fail_msg("'%s': reason '%s' lacks '%s'", bad[i].s, why,
				 bad[i].why);
		/* Nothing half-parsed is left behind. */
		assert_int_equal(m.inside, 7);
		assert_int_equal(m.count, 7);
	}
}

/* --uid-map/--gid-map on the command line: repeatable, in order. */
static void test_idmap_options(void **state)
{
	struct run r;

	parse_args(&r, "--shared-dir", "/s", "--socket-path", "/x.sock",
		   "--uid-map",
		   ":0:1000:1:", "--uid-map=:1:100000:65536:", "--gid-map",
		   ":0:1000:1:", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.sandbox, CONFIG_SANDBOX_NAMESPACE);
	assert_int_equal(r.cfg.uid_map_count, 2);
	assert_int_equal(r.cfg.uid_map[0].inside, 0);
	assert_int_equal(r.cfg.uid_map[0].outside, 1000);
	assert_int_equal(r.cfg.uid_map[0].count, 1);
	assert_int_equal(r.cfg.uid_map[1].inside, 1);
	assert_int_equal(r.cfg.uid_map[1].outside, 100000);
	assert_int_equal(r.cfg.uid_map[1].count, 65536);
	assert_int_equal(r.cfg.gid_map_count, 1);
	assert_int_equal(r.cfg.gid_map[0].outside, 1000);
	/* config_free() leaves nothing behind, twice over. */
	config_free(&r.cfg);
	assert_null(r.cfg.uid_map);
	assert_int_equal(r.cfg.uid_map_count, 0);
	assert_null(r.cfg.gid_map);
	config_free(&r.cfg);
	run_free(&r);

	/* Adjacent ranges touch but do not overlap. */
	parse_args(&r, BASE, "--gid-map", ":0:1000:10:", "--gid-map",
		   ":10:1010:5:", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.gid_map_count, 2);
	run_free(&r);

	/* Without maps, none. */
	parse_args(&r, BASE, NULL);
	assert_ok(&r);
	assert_null(r.cfg.uid_map);
	assert_int_equal(r.cfg.uid_map_count, 0);
	run_free(&r);
}

/* The kernel takes at most CONFIG_IDMAP_MAX lines: one more is refused. */
static void test_idmap_limit(void **state)
{
	enum { N = CONFIG_IDMAP_MAX + 1 };
	static char vals[N][32];
	char *argv[4 + 2 * N + 1];
	size_t out_len, err_len;
	struct run r = { 0 };
	FILE *out, *err;
	int argc = 0;

	argv[argc++] = (char *)"vfsd";
	argv[argc++] = (char *)"--shared-dir=/s";
	argv[argc++] = (char *)"--socket-path=/x.sock";
	for (int i = 0; i < N; i++) {
		snprintf(vals[i], sizeof(vals[i]), ":%d:%d:1:", i, 100000 + i);
		argv[argc++] = (char *)"--uid-map";
		argv[argc++] = vals[i];
	}
	argv[argc] = NULL;

	/* All but the last: accepted. */
	out = open_memstream(&r.out, &out_len);
	err = open_memstream(&r.err, &err_len);
	r.res = config_parse(&r.cfg, argc - 2, argv, out, err);
	fclose(out);
	fclose(err);
	assert_ok(&r);
	assert_int_equal(r.cfg.uid_map_count, CONFIG_IDMAP_MAX);
	run_free(&r);

	out = open_memstream(&r.out, &out_len);
	err = open_memstream(&r.err, &err_len);
	r.res = config_parse(&r.cfg, argc, argv, out, err);
	fclose(out);
	fclose(err);
	assert_error(&r, "too many '--uid-map' ranges");
	run_free(&r);
}

/* Parsing twice in one process gives the same result (no global state). */
static void test_parse_twice(void **state)
{
	struct run r;

	for (int i = 0; i < 2; i++) {
		parse_args(&r, "-o", "source=/s", "--mount", "/m", "-d", NULL);
		assert_ok(&r);
		assert_string_equal(r.cfg.shared_dir, "/s");
		assert_int_equal(r.cfg.log_level, LOG_LEVEL_DEBUG);
		run_free(&r);
		parse_args(&r, BASE, "--bogus", NULL);
		assert_error(&r, "--bogus");
		run_free(&r);
	}
}

/* A realistic Rust-virtiofsd command line and an old C one. */
static void test_real_command_lines(void **state)
{
	struct run r;

	parse_args(&r, "--shared-dir", "/srv/vm1", "--cache=auto",
		   "--announce-submounts", "--thread-pool-size=0", "--xattr",
		   "--log-level", "warn", "--mount", "/mnt/vm1", NULL);
	assert_ok(&r);
	assert_true(r.cfg.announce_submounts);
	assert_int_equal(r.cfg.log_level, LOG_LEVEL_WARN);
	run_free(&r);

	parse_args(&r, "-o", "source=/srv/vm1,cache=always,xattr,flock",
		   "--thread-pool-size=16", "-f", "-o", "log_level=debug",
		   "--mount=/mnt/vm1", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.cache, CONFIG_CACHE_ALWAYS);
	assert_int_equal(r.cfg.threads, 16);
	assert_int_equal(r.cfg.log_level, LOG_LEVEL_DEBUG);
	run_free(&r);
}

/* The command lines libvirt builds for the Rust and the C daemon. */
static void test_vhost_user(void **state)
{
	struct run r;

	parse_args(&r, "--fd=3", "--shared-dir", "/srv/vm1", "--xattr",
		   "--cache", "always", "--thread-pool-size=4", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.fd, 3);
	assert_null(r.cfg.socket_path);
	assert_null(r.cfg.mount_point);
	assert_true(r.cfg.xattr);
	run_free(&r);

	parse_args(&r, "--fd=5", "-o", "source=/srv/vm1,cache=none,xattr",
		   NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.fd, 5);
	assert_int_equal(r.cfg.cache, CONFIG_CACHE_NEVER);
	run_free(&r);

	/* What libvirt 9.0 passes for every <binary> setting, with a comma
	 * in the source directory (doubled by libvirt). */
	parse_args(&r, "--fd=31", "-o",
		   "source=/srv/vm,,1,cache=always,sandbox=namespace,xattr,"
		   "flock,posix_lock",
		   "--thread-pool-size=16", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.fd, 31);
	assert_string_equal(r.cfg.shared_dir, "/srv/vm,1");
	assert_int_equal(r.cfg.cache, CONFIG_CACHE_ALWAYS);
	assert_int_equal(r.cfg.sandbox, CONFIG_SANDBOX_NAMESPACE);
	assert_true(r.cfg.xattr);
	assert_int_equal(r.cfg.threads, 16);
	run_free(&r);

	parse_args(&r, "--fd=3", "-o",
		   "source=/srv,cache=none,sandbox=chroot,no_xattr,no_flock,"
		   "no_posix_lock",
		   "--thread-pool-size=4", "-d", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.cache, CONFIG_CACHE_NEVER);
	assert_int_equal(r.cfg.sandbox, CONFIG_SANDBOX_CHROOT);
	assert_false(r.cfg.xattr);
	assert_int_equal(r.cfg.log_level, LOG_LEVEL_DEBUG);
	run_free(&r);

	parse_args(&r, "--socket-path=/run/vfsd.sock", "--socket-group", "kvm",
		   "--shared-dir", "/srv", "--tag", "myfs", "--queues", "4",
		   NULL);
	assert_ok(&r);
	assert_string_equal(r.cfg.socket_path, "/run/vfsd.sock");
	assert_string_equal(r.cfg.socket_group, "kvm");
	assert_string_equal(r.cfg.tag, "myfs");
	assert_int_equal(r.cfg.request_queues, 4);
	assert_int_equal(r.cfg.fd, -1);
	run_free(&r);

	/* Defaults: 16 request queues offered, no fd. */
	parse_args(&r, "--socket-path", "/s", "--shared-dir", "/srv", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.request_queues, CONFIG_QUEUES_DEFAULT);
	assert_null(r.cfg.tag);
	run_free(&r);
}

/* libvirt learns the option style from the capabilities JSON. */
static void test_print_capabilities(void **state)
{
	struct run r;

	assert_int_equal(parse_args(&r, "--print-capabilities", NULL),
			 CONFIG_EXIT_OK);
	assert_non_null(strstr(r.out, "\"type\": \"fs\""));
	assert_non_null(strstr(r.out, "\"separate-options\""));
	/* QEMU and libvirt migrate a guest only with this. */
	assert_non_null(strstr(r.out, "\"migrate-precopy\""));
	assert_string_equal(r.err, "");
	run_free(&r);
}

static void test_free_twice(void **state)
{
	struct run r;

	parse_args(&r, BASE, NULL);
	assert_ok(&r);
	config_free(&r.cfg);
	config_free(&r.cfg);
	run_free(&r);
}

/* LISTEN_PID/LISTEN_FDS values alone, for a process with pid 4242. */
static void test_listen_fds_values(void **state)
{
	static const struct {
		const char *pid, *fds;
		int ret; /* 0: not activated, 1: fd 3, -EINVAL */
		const char *why;
	} cases[] = {
		{ NULL, NULL, 0, NULL },
		{ NULL, "1", 0, NULL }, /* no LISTEN_PID: not for us */
		{ "4242", "1", 1, NULL },
		{ "4243", "1", 0, NULL }, /* another process's */
		{ "1", "2", 0, NULL },
		{ "4243", "junk", 0, NULL }, /* not ours: not looked at */
		{ "4242", "0", -EINVAL, "passed 0 sockets" },
		{ "4242", "2", -EINVAL, "passed 2 sockets (LISTEN_FDS=2)" },
		{ "4242", NULL, -EINVAL, "LISTEN_FDS='' is not a number" },
		{ "4242", "", -EINVAL, "LISTEN_FDS='' is not a number" },
		{ "4242", "x", -EINVAL, "LISTEN_FDS='x' is not a number" },
		{ "4242", "-1", -EINVAL, "LISTEN_FDS='-1'" },
		{ "4242", " 1", -EINVAL, "LISTEN_FDS=' 1'" },
		{ "4242", "1 ", -EINVAL, "LISTEN_FDS='1 '" },
		{ "4242", "+1", -EINVAL, "LISTEN_FDS='+1'" },
		{ "4242", "99999999999999999999999", -EINVAL, "not a number" },
		{ "", "1", -EINVAL, "LISTEN_PID='' is not a process id" },
		{ "0", "1", -EINVAL, "LISTEN_PID='0' is not a process id" },
		{ "-4242", "1", -EINVAL, "LISTEN_PID='-4242'" },
		{ "42x", "1", -EINVAL, "LISTEN_PID='42x'" },
		{ "4242 ", "1", -EINVAL, "LISTEN_PID='4242 '" },
		{ "99999999999", "1", -EINVAL, "is not a process id" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[256] = "";
		int fd = -1;
		int ret = config_listen_fds_parse(cases[i].pid, cases[i].fds,
						  4242, &fd, why, sizeof(why));

		if (ret != cases[i].ret)
			fail_msg("LISTEN_PID=%s LISTEN_FDS=%s: %d, not %d",
				 cases[i].pid ? cases[i].pid : "(unset)",
				 cases[i].fds ? cases[i].fds : "(unset)", ret,
				 cases[i].ret);
		assert_int_equal(fd, ret == 1 ? 3 : -1);
		if (cases[i].why && !strstr(why, cases[i].why))
			fail_msg("'%s' lacks '%s'", why, cases[i].why);
		if (ret < 0)
			assert_null(strchr(why, '\n'));
	}
}

/* Set the LISTEN_* variables as a manager would for this process; @pid
 * NULL means this process's id. */
static void set_listen_env(const char *pid, const char *fds)
{
	char self[32];

	snprintf(self, sizeof(self), "%ld", (long)getpid());
	assert_int_equal(setenv("LISTEN_PID", pid ? pid : self, 1), 0);
	assert_int_equal(setenv("LISTEN_FDS", fds, 1), 0);
	assert_int_equal(setenv("LISTEN_FDNAMES", "vfsd", 1), 0);
}

static void assert_listen_env_gone(void)
{
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_FDNAMES"));
}

/* Socket activation through config_parse(): fd 3 stands in for --fd when
 * no socket or mount is given; the variables are gone afterwards in every
 * case. */
static void test_socket_activation(void **state)
{
	struct run r;

	set_listen_env(NULL, "1");
	parse_args(&r, "--shared-dir", "/srv/vm1", "--cache", "never", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.fd, 3);
	assert_true(r.cfg.socket_activated);
	assert_null(r.cfg.socket_path);
	assert_null(r.cfg.mount_point);
	assert_listen_env_gone();
	run_free(&r);

	/* The C daemon's spelling, as a unit's ExecStart= might use it. */
	set_listen_env(NULL, "1");
	parse_args(&r, "-o", "source=/srv/vm1,cache=auto", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.fd, 3);
	assert_true(r.cfg.socket_activated);
	run_free(&r);

	/* An explicit socket, fd or mount wins; the variables still go. */
	set_listen_env(NULL, "1");
	parse_args(&r, "--shared-dir", "/s", "--socket-path", "/x.sock", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.fd, -1);
	assert_false(r.cfg.socket_activated);
	assert_listen_env_gone();
	run_free(&r);

	set_listen_env(NULL, "2"); /* wrong, but not used */
	parse_args(&r, "--shared-dir", "/s", "--fd", "7", NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.fd, 7);
	assert_false(r.cfg.socket_activated);
	assert_listen_env_gone();
	run_free(&r);

	set_listen_env(NULL, "1");
	parse_args(&r, BASE, NULL);
	assert_ok(&r);
	assert_int_equal(r.cfg.fd, -1);
	assert_false(r.cfg.socket_activated);
	run_free(&r);

	/* --help and --version print, whatever the environment says. */
	set_listen_env("junk", "junk");
	parse_args(&r, "--version", NULL);
	assert_int_equal(r.res, CONFIG_EXIT_OK);
	assert_listen_env_gone();
	run_free(&r);

	/* Meant for another process: as if unset. */
	set_listen_env("1", "1");
	parse_args(&r, "--shared-dir", "/s", NULL);
	assert_error(&r, "nothing to serve");
	assert_listen_env_gone();
	run_free(&r);

	/* Ours but wrong: one line naming the variable. */
	set_listen_env(NULL, "2");
	parse_args(&r, "--shared-dir", "/s", NULL);
	assert_error(&r, "vfsd: socket activation passed 2 sockets");
	assert_listen_env_gone();
	run_free(&r);

	set_listen_env(NULL, "one");
	parse_args(&r, "--shared-dir", "/s", NULL);
	assert_error(&r, "LISTEN_FDS='one' is not a number");
	run_free(&r);

	set_listen_env("pid", "1");
	parse_args(&r, "--shared-dir", "/s", NULL);
	assert_error(&r, "LISTEN_PID='pid' is not a process id");
	run_free(&r);

	/* Activation does not make a shared directory optional, nor
	 * --socket-group meaningful. */
	set_listen_env(NULL, "1");
	parse_args(&r, "--cache", "never", NULL);
	assert_error(&r, "no shared directory");
	run_free(&r);

	set_listen_env(NULL, "1");
	parse_args(&r, "--shared-dir", "/s", "--socket-group", "kvm", NULL);
	assert_error(&r, "--socket-group needs --socket-path");
	assert_listen_env_gone();
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_equals_form),
		cmocka_unit_test(test_cache_values),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_rust_options),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_legacy_basic),
		cmocka_unit_test(test_legacy_flags),
		cmocka_unit_test(test_legacy_log_level),
		cmocka_unit_test(test_same_value_twice),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_metrics_socket),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_parse_twice),
		cmocka_unit_test(test_real_command_lines),
		cmocka_unit_test(test_vhost_user),
		cmocka_unit_test(test_print_capabilities),
		cmocka_unit_test(test_free_twice),
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_modcaps_rlimit),
		cmocka_unit_test(test_idmap_syntax),
		cmocka_unit_test(test_idmap_options),
		cmocka_unit_test(test_idmap_limit),
		cmocka_unit_test(test_listen_fds_values),
		cmocka_unit_test(test_socket_activation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
