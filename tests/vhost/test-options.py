#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Every option of both peers, started one at a time.

The lists below are the options of `virtiofsd --help` of the Rust
virtiofsd 1.13.2 (Debian 13) and of QEMU 7.2's C virtiofsd
(/usr/lib/qemu/virtiofsd), each spelled as the peer documents it, with a
value the peer accepts. vfsd is started with --shared-dir and
--socket-path plus that one option, and must do what the expectation
says:

  serve        listen on the socket; SIGTERM then ends it with exit 0
  exit0        print something on stdout and exit 0 (--help and friends)
  refuse:TEXT  exit non-zero with one line on stderr containing TEXT (a
               deliberate refusal, never "unknown option")

An option a peer adds goes into its list; vfsd then prints a failing line
until it accepts it.

usage: test-options.py PATH/TO/vfsd
       test-options.py --peer rust|c PATH/TO/PEER

With --peer the list of that peer is checked against the peer itself: each
option must be accepted (serve, or exit 0 where vfsd's expectation is
exit0), which keeps the lists true to the peers.
"""
import itertools
import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import time

SERVE = "serve"
EXIT0 = "exit0"


def refuse(text):
    return "refuse:" + text


# The Rust virtiofsd 1.13.2: `virtiofsd --help`. Spelled as it accepts
# them: it needs "--inode-file-handles=MODE" with the equal sign.
RUST = [
    (["--shared-dir", "{share}"], SERVE),  # given twice: the same value
    (["--tag", "myfs"], SERVE),
    (["--socket", "{sock}"], SERVE),  # deprecated --socket-path
    (["--socket-path", "{sock}"], SERVE),
    (["--socket-group", "daemon"], SERVE),
    (["--fd", "{fd}"], SERVE),
    (["--thread-pool-size", "4"], SERVE),
    (["--xattr"], SERVE),
    (["--posix-acl"], SERVE),
    (["--xattrmap", ":map::user.virtiofs.:"], SERVE),
    (["--sandbox", "namespace"], SERVE),
    (["--sandbox", "chroot"], SERVE),
    (["--sandbox", "none"], SERVE),
    (["--readonly"], SERVE),
    (["--seccomp", "none"], SERVE),
    (["--seccomp", "kill"], SERVE),
    (["--seccomp", "log"], SERVE),
    (["--seccomp", "trap"], SERVE),
    (["--announce-submounts"], SERVE),
    (["--no-announce-submounts"], SERVE),
    (["--inode-file-handles=never"], SERVE),
    (["--inode-file-handles=prefer"], SERVE),
    (["--inode-file-handles=fallback"], SERVE),
    (["--inode-file-handles=mandatory"], SERVE),
    (["--cache", "auto"], SERVE),
    (["--cache", "always"], SERVE),
    (["--cache", "never"], SERVE),
    (["--cache", "metadata"], SERVE),
    (["--allow-mmap", "--cache", "never"], SERVE),
    (["--no-readdirplus"], SERVE),
    (["--writeback"], SERVE),
    (["--allow-direct-io"], SERVE),
    (["--print-capabilities"], EXIT0),
    (["--modcaps=-mknod"], SERVE),  # clap needs "=" before "-"
    (["--modcaps=+sys_admin:-chown"], SERVE),
    (["--log-level", "error"], SERVE),
    (["--log-level", "warn"], SERVE),
    (["--log-level", "info"], SERVE),
    (["--log-level", "debug"], SERVE),
    (["--log-level", "trace"], SERVE),
    (["--log-level", "off"], SERVE),
    (["--syslog"], SERVE),
    (["--rlimit-nofile", "10000"], SERVE),
    (["--rlimit-nofile", "0"], SERVE),
    (["-o", "xattr"], SERVE),
    (["-d"], SERVE),
    (["--no-killpriv-v2"], SERVE),
    (["--killpriv-v2"], SERVE),
    (["-f"], SERVE),
    (["--security-label"], SERVE),
    (["--uid-map", ":0:{uid}:1:"], "unpriv:" + SERVE),
    (["--gid-map", ":0:{gid}:1:"], "unpriv:" + SERVE),
    (["--translate-uid", "map:1000:2000:10"], SERVE),
    (["--translate-gid", "map:1000:2000:10"], SERVE),
    (["--translate-uid", "guest:0:1000:1"], SERVE),
    (["--translate-uid", "host:1000:0:1"], SERVE),
    (["--translate-uid", "squash-guest:0:1000:100"], SERVE),
    (["--translate-uid", "squash-host:0:1000:100"], SERVE),
    (["--translate-gid", "forbid-guest:5000:10"], SERVE),
    (["--preserve-noatime"], SERVE),
    # Live migration (tests/vhost/migration.c migrates with them).
    (["--migration-mode", "find-paths"], SERVE),
    (["--migration-mode", "file-handles"], SERVE),
    (["--migration-on-error", "abort"], SERVE),
    (["--migration-on-error", "guest-error"], SERVE),
    (["--migration-verify-handles"], SERVE),
    (["--migration-confirm-paths"], SERVE),
    (["-h"], EXIT0),
    (["--help"], EXIT0),
    (["-V"], EXIT0),
    (["--version"], EXIT0),
    # The -o spellings the Rust daemon still parses (its compat layer).
    (["-o", "source={share}"], SERVE),
    (["-o", "no_xattr"], SERVE),
    (["-o", "no_flock"], SERVE),
    (["-o", "no_posix_lock"], SERVE),
    (["-o", "readdirplus"], SERVE),
    (["-o", "no_readdirplus"], SERVE),
    (["-o", "writeback"], SERVE),
    (["-o", "no_writeback"], SERVE),
    (["-o", "allow_direct_io"], SERVE),
    (["-o", "no_allow_direct_io"], SERVE),
    (["-o", "announce_submounts"], SERVE),
    (["-o", "sandbox=chroot"], SERVE),
    (["-o", "modcaps=-mknod"], SERVE),
    (["-o", "killpriv_v2"], SERVE),
    (["-o", "no_killpriv_v2"], SERVE),
    (["-o", "posix_acl"], SERVE),
    (["-o", "no_posix_acl"], SERVE),
    (["-o", "security_label"], SERVE),
    (["-o", "no_security_label"], SERVE),
    (["-o", "cache=none"], SERVE),
    (["-o", "xattrmap=:map::user.virtiofs.:"], SERVE),
]

# QEMU 7.2's C virtiofsd: `/usr/lib/qemu/virtiofsd --help`.
C_DAEMON = [
    (["-h"], EXIT0),
    (["--help"], EXIT0),
    (["-V"], EXIT0),
    (["--version"], EXIT0),
    (["--print-capabilities"], EXIT0),
    (["-d"], SERVE),
    (["-o", "debug"], SERVE),
    (["--syslog"], SERVE),
    (["-f"], SERVE),
    (["--daemonize"], "daemon:" + SERVE),
    (["-o", "cache=auto"], SERVE),
    (["-o", "cache=always"], SERVE),
    (["-o", "cache=none"], SERVE),
    (["-o", "flock"], SERVE),
    (["-o", "no_flock"], SERVE),
    (["-o", "log_level=debug"], SERVE),
    (["-o", "log_level=info"], SERVE),
    (["-o", "log_level=warn"], SERVE),
    (["-o", "log_level=err"], SERVE),
    (["-o", "max_idle_threads=10"], SERVE),
    (["-o", "posix_lock"], SERVE),
    (["-o", "no_posix_lock"], SERVE),
    (["-o", "readdirplus"], SERVE),
    (["-o", "no_readdirplus"], SERVE),
    (["-o", "sandbox=namespace"], SERVE),
    (["-o", "sandbox=chroot"], SERVE),
    (["-o", "timeout=1.5"], SERVE),
    (["-o", "writeback"], SERVE),
    (["-o", "no_writeback"], SERVE),
    (["-o", "xattr"], SERVE),
    (["-o", "no_xattr"], SERVE),
    (["-o", "xattrmap=:map::user.virtiofs.:"], SERVE),
    (["-o", "modcaps=+sys_admin:-chown"], SERVE),
    (["--rlimit-nofile=10000"], SERVE),
    (["-o", "allow_direct_io"], SERVE),
    (["-o", "no_allow_direct_io"], SERVE),
    (["-o", "announce_submounts"], SERVE),
    (["-o", "xattr,posix_acl"], SERVE),  # it does not imply xattr
    (["-o", "no_posix_acl"], SERVE),
    (["-o", "security_label"], SERVE),
    (["-o", "no_security_label"], SERVE),
    (["-o", "killpriv_v2"], SERVE),
    (["-o", "no_killpriv_v2"], SERVE),
    (["-o", "source={share}"], SERVE),
    (["-o", "allow_root"], SERVE),
    (["--socket-path={sock}"], SERVE),
    (["--socket-group=daemon"], SERVE),
    (["--fd={fd}"], SERVE),
    (["--thread-pool-size=0"], SERVE),
]

# Parsed, not served yet: refused by name (src/main.c refuse_unbuilt()).
# Each leaves this set when its feature lands.
UNBUILT = set()


def unbuilt(args):
    for a in args:
        for item in a.split(","):
            if item.split("=")[0] in UNBUILT:
                return True
    return False


NOBODY = pwd.getpwnam("nobody")


def wait_socket(path, proc, seconds=10.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def find_daemon(sock):
    """The pid of the process whose command line names @sock."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if any(sock.encode() in a for a in args) and \
                b"--daemonize" in args:
            return int(pid)
    return None


def run_case(vfsd, tmp, args, expect, peer=False, base=None):
    """Returns None on success, or what went wrong."""
    return run_one(vfsd, tmp, args, expect, peer, base)


class Proc:
    """subprocess.Popen whose communicate() reads the files it wrote."""

    def __init__(self, argv, pre, fds):
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=self.out, stderr=self.err,
                                  pass_fds=fds, preexec_fn=pre)

    def poll(self):
        return self.p.poll()

    @property
    def returncode(self):
        return self.p.returncode

    def send_signal(self, sig):
        self.p.send_signal(sig)

    def kill(self):
        self.p.kill()

    def wait(self):
        return self.p.wait()

    def communicate(self, timeout=None):
        self.p.wait(timeout=timeout)
        res = []
        for f in (self.out, self.err):
            f.seek(0)
            res.append(f.read())
        return res[0], res[1]


RUN_NO = itertools.count()


def run_one(vfsd, tmp, args, expect, peer, base):
    share = os.path.join(tmp, "share")
    # A socket (and so pid file) of its own per case: the Rust daemon's
    # sandboxed child can still hold the previous case's pid-file lock
    # for a moment after its parent was reaped.
    name = "s%d.sock" % next(RUN_NO)
    sock = os.path.join(tmp, name)
    unpriv = expect.startswith("unpriv:")
    # The C daemon goes to the background only once a frontend has
    # connected: for the peer, listening is enough.
    daemon = expect.startswith("daemon:") and not peer
    if expect.startswith(("unpriv:", "daemon:")):
        expect = expect.split(":", 1)[1]
    if unpriv:
        uid, gid = NOBODY.pw_uid, NOBODY.pw_gid
        sock = os.path.join(tmp, "u", name)
    lsock = None
    subst = {"share": share, "sock": sock, "uid": str(os.getuid()),
             "gid": str(os.getgid())}
    if unpriv:
        subst.update(uid=str(uid), gid=str(gid))
    if any("{fd}" in a for a in args):
        lsock = socket.socket(socket.AF_UNIX)
        lsock.bind(sock)
        lsock.listen(1)
        subst["fd"] = str(lsock.fileno())
    argv = [vfsd] + [a.format(share=share) for a in
                     (base or ["--shared-dir", "{share}"])]
    if not any(a.split("=")[0] in ("--socket", "--socket-path", "--fd")
               for a in args):
        # The C daemon's parser needs "--socket-path=PATH".
        argv += ["--socket-path=" + sock]
    argv += [a.format(**subst) for a in args]
    pre = None
    if unpriv:
        def pre():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
    proc = Proc(argv, pre, [lsock.fileno()] if lsock else [])
    if lsock:
        lsock.close()
    try:
        if expect == SERVE and daemon:
            out, err = proc.communicate(timeout=20)
            if proc.returncode != 0:
                return "the parent exited %d: %s" % (proc.returncode,
                                                     err.decode().strip())
            if not wait_socket(sock, None):
                return "no socket after the parent left"
            pid = find_daemon(sock)
            if pid is None:
                return "no daemon left in the background"
            os.kill(pid, signal.SIGTERM)
            end = time.monotonic() + 10
            while os.path.exists("/proc/%d" % pid) and \
                    time.monotonic() < end:
                time.sleep(0.02)
            if os.path.exists("/proc/%d" % pid):
                return "the daemon outlived SIGTERM"
            return None
        if expect == SERVE:
            if lsock is None and not wait_socket(sock, proc):
                out, err = proc.communicate(timeout=20)
                return "did not serve (exit %s): %s" % (
                    proc.returncode, err.decode().strip())
            if lsock is not None:
                time.sleep(0.3)
                if proc.poll() is not None:
                    out, err = proc.communicate()
                    return "exited %d: %s" % (proc.returncode,
                                              err.decode().strip())
            proc.send_signal(signal.SIGTERM)
            try:
                out, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                if not peer:
                    raise
                # What a peer's row records is that it takes the
                # option and serves; how it exits is its own business
                # (QEMU's C daemon now and then ignores a SIGTERM that
                # comes while its sandbox is being set up).
                proc.kill()
                proc.communicate()
                print("# %s: served, then outlived SIGTERM for 20 s: "
                      "killed" % " ".join(args))
                return None
            if proc.returncode != 0 and not peer:
                return "exit %d after SIGTERM: %s" % (
                    proc.returncode, err.decode().strip())
            return None
        out, err = proc.communicate(timeout=20)
        err = err.decode()
        if expect == EXIT0:
            if proc.returncode != 0 or not out:
                return "exit %d, %d bytes out: %s" % (
                    proc.returncode, len(out), err.strip())
            return None
        text = expect.split(":", 1)[1]
        lines = err.splitlines()
        if proc.returncode == 0 or len(lines) != 1 or text not in err:
            return "exit %d, expected one line with '%s': %s" % (
                proc.returncode, text, err.strip())
        return None
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return "still running after 20 s"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for s in (sock,):
            try:
                os.unlink(s)
            except FileNotFoundError:
                pass


def main():
    peer = None
    if len(sys.argv) == 4 and sys.argv[1] == "--peer":
        peer = sys.argv[2]
        vfsd = os.path.abspath(sys.argv[3])
        lists = (("rust", RUST),) if peer == "rust" else (("c", C_DAEMON),)
    elif len(sys.argv) == 2:
        vfsd = os.path.abspath(sys.argv[1])
        lists = (("rust", RUST), ("c", C_DAEMON))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    failed = 0
    total = 0
    with tempfile.TemporaryDirectory(prefix="vfsd-opts.") as tmp:
        os.chmod(tmp, 0o755)
        os.mkdir(os.path.join(tmp, "share"))
        os.mkdir(os.path.join(tmp, "u"))
        os.chown(os.path.join(tmp, "u"), NOBODY.pw_uid, NOBODY.pw_gid)
        for who, cases in lists:
            for args, expect in cases:
                total += 1
                if peer:
                    # The peer accepts every option of its own list.
                    if expect.startswith("refuse:"):
                        expect = SERVE
                elif expect == SERVE and unbuilt(args):
                    expect = refuse("is not served yet")
                # The C daemon has no --shared-dir.
                base = ["-o", "source={share}"] if peer == "c" else None
                why = run_case(vfsd, tmp, args, expect, peer is not None,
                               base)
                name = "%s %s" % (who, " ".join(args))
                if why is None:
                    print("ok - %s (%s)" % (name, expect))
                else:
                    failed += 1
                    print("not ok - %s: %s" % (name, why))
    print("%d options, %d failed" % (total, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
