#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The man page is complete and clean: every option and every -o item that
# `vfsd --help` prints appears in docs/vfsd.1, and groff renders the page
# without a warning.
#
# usage: man.sh VFSD MANPAGE
set -euo pipefail
vfsd=$1
page=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

warn=$(groff -man -ww -z "$page" 2>&1) || true
if [[ -n $warn ]]; then
	echo "not ok - groff warns: $warn"
	exit 1
fi
echo "ok - groff -man -ww renders $page without warnings"

# The page as text, hyphens plain.
GROFF_NO_SGR=1 groff -man -Tutf8 -rLL=1000n -rHY=0 "$page" 2>/dev/null | col -b |
	sed 's/‐/-/g' >"$tmp/page"
"$vfsd" --help >"$tmp/help"
fail=0
n=0
while read -r opt; do
	n=$((n + 1))
	if ! grep -q -- "$opt" "$tmp/page"; then
		echo "not ok - '$opt' from --help is not in the man page"
		fail=1
	fi
done < <(
	# Long and short options of the "Options:" part...
	sed -n '/^Options:/,/^Legacy/p' "$tmp/help" | grep -o -E -- '(^| )--?[a-zA-Z][a-z0-9-]*' |
		sed 's/^ //' | sort -u
	# ...and the -o items of the legacy part (name before = or ,).
	sed -n '/^Legacy/,$p' "$tmp/help" | grep -E '^  [a-z]' |
		sed -E 's/^  //; s/ {2,}.*//' | tr ',' '\n' | sed -E 's/^ *//; s/=.*//' |
		grep -v '^$' | sort -u
)
[[ $n -gt 60 ]] || { echo "not ok - only $n options found in --help"; exit 1; }
[[ $fail == 0 ]] && echo "ok - all $n options of --help are in the man page"
exit $fail
