#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Start vfsd the way the installed vfsd@.service would, without systemd.

    run-unit.py ROOT SERVICE INSTANCE SOCK DIR

ROOT is a `meson install --destdir` tree and SERVICE the unit file in it.
The instance's EnvironmentFile (under ROOT) is written with SHARED_DIR=DIR
and a VFSD_OPTIONS that has to be split; ExecStart= is expanded as systemd
does (${VAR} one word, $VAR split on white space, %i the instance) with
its binary looked up under ROOT. Then, in this process (so that the pid
the frontend waits for is vfsd's):

  unshare --mount --propagation slave [--net]    PrivateNetwork=, and the
      mount namespace the Protect* directives give the service, with
      /proc/sys, /sys and /sys/fs/cgroup read-only (ProtectKernelTunables=,
      ProtectControlGroups=)
  setpriv --bounding-set ... [--no-new-privs]    CapabilityBoundingSet=,
                                                 NoNewPrivileges=
  systemd-socket-activate -l SOCK                the socket unit (fd 3)
  vfsd ...                                       ExecStart=

Not reproduced (seccomp filters systemd installs itself):
RestrictNamespaces=, RestrictAddressFamilies=, SystemCallFilter=,
MemoryDenyWriteExecute=, LockPersonality=, RestrictRealtime=.
"""
import os
import re
import shlex
import sys


def parse_unit(path):
    """[Service] keys; a repeated key keeps its last value."""
    keys, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            if section == "Service":
                k, _, v = line.partition("=")
                keys[k.strip()] = v.strip()
    return keys


def read_env_file(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            k, _, v = line.partition("=")
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            env[k.strip()] = v
    return env


def expand_exec(line, env, instance):
    """ExecStart= words, with systemd's two kinds of variable reference."""
    line = line.replace("%i", instance)
    out = []
    for word in line.split():
        m = re.fullmatch(r"\$\{(\w+)\}|\$(\w+)", word)
        if m and m.group(1):
            out.append(env.get(m.group(1), ""))
        elif m:
            out.extend(env.get(m.group(2), "").split())
        else:
            out.append(word)
    return out


def yes(keys, k):
    return keys.get(k, "no").lower() in ("yes", "true", "1", "on")


def main():
    root, service, instance, sock, share = sys.argv[1:6]
    keys = parse_unit(service)

    conf = root + keys["EnvironmentFile"].lstrip("-").replace("%i", instance)
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    with open(conf, "w") as f:
        f.write("# written by run-unit.py\n")
        f.write("SHARED_DIR=%s\n" % share)
        f.write('VFSD_OPTIONS="--cache auto  --xattr"\n')
    argv = expand_exec(keys["ExecStart"], read_env_file(conf), instance)
    argv[0] = root + argv[0]
    print("# ExecStart:", shlex.join(argv), file=sys.stderr, flush=True)

    caps = keys.get("CapabilityBoundingSet", "").split()
    bounding = "-all" + "".join(",+" + c.lower().removeprefix("cap_")
                                for c in caps)
    setpriv = ["setpriv", "--bounding-set", bounding]
    if yes(keys, "NoNewPrivileges"):
        setpriv.append("--no-new-privs")

    mounts = []
    if yes(keys, "ProtectKernelTunables"):
        mounts += ["/proc/sys", "/sys"]
    if yes(keys, "ProtectControlGroups"):
        mounts += ["/sys/fs/cgroup"]
    script = "".join(
        'mount --rbind %s %s && mount -o remount,bind,ro %s || exit 1\n'
        % (m, m, m) for m in mounts if os.path.isdir(m))
    unshare = ["unshare", "--mount", "--propagation", "slave"]
    if yes(keys, "PrivateNetwork"):
        unshare.append("--net")
    cmd = (unshare + ["--", "sh", "-c", script + 'exec "$@"', "sh"] +
           setpriv + ["--", "systemd-socket-activate", "-l", sock] + argv)
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
