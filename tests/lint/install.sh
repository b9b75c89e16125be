#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `meson install` puts the binary and the vhost-user backend descriptor
# (share/qemu/vhost-user/40-vfsd.json) where QEMU and libvirt look, and the
# descriptor names the installed binary, which reports type "fs".
set -euo pipefail
build=${1:?usage: install.sh BUILD_DIR}
dest=$(mktemp -d /tmp/vfsd-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --destdir "$dest" >/dev/null
json=$(find "$dest" -path '*/share/qemu/vhost-user/40-vfsd.json')
[ -n "$json" ] || { echo "no vhost-user descriptor installed" >&2; exit 1; }
python3 - "$json" "$dest" <<'PY'
import json, os, subprocess, sys
d = json.load(open(sys.argv[1]))
assert d["type"] == "fs", d
binary = sys.argv[2] + d["binary"]
assert os.access(binary, os.X_OK), binary
caps = json.loads(subprocess.check_output([binary, "--print-capabilities"]))
assert caps["type"] == "fs", caps
print("ok:", d["binary"], caps)
PY
man=$(find "$dest" -path '*/share/man/man1/vfsd.1*')
[ -n "$man" ] || { echo "no man page installed" >&2; exit 1; }
echo "ok: man page at ${man#"$dest"}"
