// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Credentials: who the host kernel thinks is acting.
 *
 * The daemon runs as root with no supplementary groups (pt_process_init)
 * and with SECBIT_NO_SETUID_FIXUP, so changing the fsuid keeps its
 * capabilities: the client kernel mounts with default_permissions and has
 * already checked access against the caller's full identity. A request
 * that creates or changes an object runs between pt_cred_enter() and
 * pt_cred_leave(): the thread's fsuid/fsgid become the requester's, its
 * groups become the one group the client sent (FUSE_CREATE_SUPP_GROUP) or
 * none, and CAP_FSETID is dropped unless the requester is root. The host
 * then applies its own set-group-ID rules (inheritance from the parent
 * directory, stripping on chmod/chown/truncate/write) from in_group_p()
 * and CAP_FSETID exactly as for a local caller (the CVE-2022-0358 class).
 *
 * Everything is per thread: raw syscalls, never the glibc wrappers for
 * setresuid/setgroups, which change every thread of the process.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../log/log.h"
#include "passthrough_i.h"

/* 32-bit ids: on the old 32-bit ABIs the plain calls take 16-bit ids. */
#ifdef SYS_setgroups32
#define PT_SYS_SETGROUPS SYS_setgroups32
#define PT_SYS_SETFSUID SYS_setfsuid32
#define PT_SYS_SETFSGID SYS_setfsgid32
#else
#define PT_SYS_SETGROUPS SYS_setgroups
#define PT_SYS_SETFSUID SYS_setfsuid
#define PT_SYS_SETFSGID SYS_setfsgid
#endif

static bool daemon_is_root;
static bool groups_dropped; /* pt_process_init() cleared the groups */
static pthread_once_t root_once = PTHREAD_ONCE_INIT;

static void root_check(void)
{
	daemon_is_root = geteuid() == 0;
}

int pt_process_init(const char **msg)
{
	pthread_once(&root_once, root_check);
	umask(0);
	if (!daemon_is_root)
		return 0; /* unprivileged: requests run as the daemon */
	/* Process-wide on purpose: we are still single-threaded. */
	if (setgroups(0, NULL) < 0) {
		if (msg)
			*msg = "setgroups(0): drop supplementary groups";
		return -errno;
	}
	groups_dropped = true;
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0,
		  0) < 0) {
		if (msg)
			*msg = "prctl(PR_SET_SECUREBITS, NO_SETUID_FIXUP)";
		return -errno;
	}
	return 0;
}

void pt_cred_switch_ids(void)
{
	pthread_once(&root_once, root_check);
	daemon_is_root = true;
	groups_dropped = true; /* the sandbox emptied them */
}

static int caps_get(struct __user_cap_header_struct *hdr,
		    struct __user_cap_data_struct data[2])
{
	hdr->version = _LINUX_CAPABILITY_VERSION_3;
	hdr->pid = 0; /* this thread */
	if (syscall(SYS_capget, hdr, data) < 0)
		return -errno;
	return 0;
}

int pt_cap_fsetid_drop(bool *dropped)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];
	const uint32_t bit = CAP_TO_MASK(CAP_FSETID);
	int ret;

	*dropped = false;
	ret = caps_get(&hdr, data);
	if (ret)
		return ret;
	if (!(data[0].effective & bit))
		return 0; /* nothing to drop (unprivileged daemon) */
	data[0].effective &= ~bit;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	*dropped = true;
	return 0;
}

void pt_cap_fsetid_restore(bool dropped)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	if (!dropped)
		return;
	if (caps_get(&hdr, data) == 0) {
		data[0].effective |= CAP_TO_MASK(CAP_FSETID);
		if (syscall(SYS_capset, &hdr, data) == 0)
			return;
	}
	/* The thread stays less privileged than it should: safe, but later
	 * requests by root may see set-ID bits cleared. */
	log_ratelimited(LOG_LEVEL_ERROR,
			"cannot restore CAP_FSETID on this thread: %d", errno);
}

/*
 * The thread's fsuid and fsgid as last set here (-1: not known yet). Only
 * this file changes them once threads run, so a switch to the id a thread
 * already has (a root requester of a root daemon, the way back after it)
 * costs no system call.
 */
static __thread int64_t thread_fsuid = -1;
static __thread int64_t thread_fsgid = -1;

/* setfsuid/setfsgid report the previous id, never an error: read the id
 * back to learn whether the change happened. */
static int set_fsuid(uint32_t uid, uint32_t *old)
{
	if (thread_fsuid == (int64_t)uid) {
		*old = uid;
		return 0;
	}
	*old = syscall(PT_SYS_SETFSUID, uid);
	thread_fsuid = -1;
	if ((uint32_t)syscall(PT_SYS_SETFSUID, -1) != uid)
		return -EPERM;
	thread_fsuid = uid;
	return 0;
}

static int set_fsgid(uint32_t gid, uint32_t *old)
{
	if (thread_fsgid == (int64_t)gid) {
		*old = gid;
		return 0;
	}
	*old = syscall(PT_SYS_SETFSGID, gid);
	thread_fsgid = -1;
	if ((uint32_t)syscall(PT_SYS_SETFSGID, -1) != gid)
		return -EPERM;
	thread_fsgid = gid;
	return 0;
}

int pt_cred_enter(const struct fuse_ctx *ctx, struct pt_cred *saved)
{
	uint32_t dummy;
	int ret;

	saved->changed = false;
	saved->groups_changed = false;
	saved->cap_dropped = false;
	pthread_once(&root_once, root_check);
	if (!daemon_is_root)
		return 0; /* cannot act as anyone else: act as ourselves */

	/* Groups first, while the thread still has its full privileges. */
	if (ctx->has_supp_gid) {
		gid_t g = ctx->supp_gid;

		if (syscall(PT_SYS_SETGROUPS, 1, &g) < 0)
			return -errno;
		saved->groups_changed = true;
	} else if (!groups_dropped) {
		/* Never let the requester borrow the daemon's groups. */
		if (syscall(PT_SYS_SETGROUPS, 0, NULL) < 0)
			return -errno;
		saved->groups_changed = true;
	}
	ret = set_fsgid(ctx->gid, &saved->old_fsgid);
	if (ret) {
		set_fsgid(saved->old_fsgid, &dummy);
		goto out_groups;
	}
	ret = set_fsuid(ctx->uid, &saved->old_fsuid);
	if (ret) {
		set_fsuid(saved->old_fsuid, &dummy);
		goto out_fsgid;
	}
	if (ctx->uid != 0) {
		ret = pt_cap_fsetid_drop(&saved->cap_dropped);
		if (ret)
			goto out_fsuid;
	}
	saved->changed = true;
	return 0;

out_fsuid:
	set_fsuid(saved->old_fsuid, &dummy);
out_fsgid:
	set_fsgid(saved->old_fsgid, &dummy);
out_groups:
	if (saved->groups_changed)
		syscall(PT_SYS_SETGROUPS, 0, NULL);
	saved->groups_changed = false;
	return ret;
}

void pt_cred_leave(struct pt_cred *saved)
{
	uint32_t dummy;

	if (saved->changed) {
		pt_cap_fsetid_restore(saved->cap_dropped);
		if (set_fsuid(saved->old_fsuid, &dummy) ||
		    set_fsgid(saved->old_fsgid, &dummy))
			log_ratelimited(
				LOG_LEVEL_ERROR,
				"cannot restore the daemon's fsuid/fsgid");
	}
	/* The daemon's groups are empty (pt_process_init); without it,
	 * empty is still the safe state to leave the thread in. */
	if (saved->groups_changed)
		syscall(PT_SYS_SETGROUPS, 0, NULL);
	saved->changed = false;
	saved->groups_changed = false;
	saved->cap_dropped = false;
}

/* Has this thread an fs struct (cwd, root, umask) of its own? */
static __thread bool thread_own_fs;
#define PT_UMASK_NONE ((mode_t)-1)

mode_t pt_umask_enter(bool dont_mask, uint32_t mask, mode_t *mode)
{
	if (!dont_mask)
		return PT_UMASK_NONE;
	mask &= 0777;
	if (!thread_own_fs) {
		/* The copy keeps the root and cwd the sandbox set up. */
		if (unshare(CLONE_FS) < 0) {
			log_ratelimited(
				LOG_LEVEL_ERROR,
				"unshare(CLONE_FS): %d; the umask is applied without regard to default ACLs",
				errno);
			*mode &= ~(mode_t)mask;
			return PT_UMASK_NONE;
		}
		thread_own_fs = true;
	}
	return umask((mode_t)mask);
}

void pt_umask_leave(mode_t saved)
{
	if (saved != PT_UMASK_NONE)
		umask(saved);
}
