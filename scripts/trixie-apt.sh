#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Download Debian 13 ("trixie") packages without touching the system's apt
# configuration: a private sources list, package lists and cache under
# APT_DIR, the archive URI taken from the machine's own sources.
#
#   scripts/trixie-apt.sh APT_DIR DEST_DIR PKG...
#
# Leaves PKG_*.deb in DEST_DIR. The lists are fetched once per APT_DIR
# (delete APT_DIR/lists to refresh). On failure one line on stderr
# ("trixie-apt: ...") and exit 1.
set -euo pipefail

die() {
	echo "trixie-apt: $*" >&2
	exit 1
}

[[ $# -ge 3 ]] || die "usage: trixie-apt.sh APT_DIR DEST_DIR PKG..."
apt=$1
dest=$2
shift 2
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$dest" ||
	die "cannot create $apt or $dest"

# The machine's own archive (deb822 or one-line sources).
uri=$(grep -hs -m1 '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' || true)
if [[ -z "$uri" ]]; then
	uri=$(grep -hs -m1 '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
		awk '{print $2}' || true)
fi
[[ -n "$uri" ]] || die "no Debian archive URI in /etc/apt/sources*"
echo "deb $uri trixie main" >"$apt/sources.list"
opts=(-q -o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=-"
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")
if ! compgen -G "$apt/lists/*_Packages*" >/dev/null; then
	apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 ||
		die "apt-get update (trixie) failed: $(tail -n 1 "$apt/update.log")"
fi
(cd "$dest" && apt-get "${opts[@]}" download "$@") >"$apt/download.log" 2>&1 ||
	die "apt-get download $* failed: $(tail -n 1 "$apt/download.log")"
