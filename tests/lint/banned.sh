#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Source checks run by `make check`:
#  - functions banned everywhere (unbounded or error-blind);
#  - path-based file-system calls banned in src/passthrough/, where every
#    operation must be an *at() call relative to a held fd;
#  - assert()/abort() banned in the code that handles guest input (and
#    the metrics socket's clients);
#  - an SPDX line atop every source file, script, build file, unit and
#    packaging file.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
fail=0

report() {
  echo "banned: $1" >&2
  fail=1
}

src=$(git ls-files 'src/*.c' 'src/*.h' 2>/dev/null || find src -name '*.[ch]')

hits=$(grep -nE '(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|alloca)[[:space:]]*\(' $src || true)
[ -z "$hits" ] || report "unsafe function:"$'\n'"$hits"

pt=$(echo "$src" | grep '^src/passthrough/' || true)
if [ -n "$pt" ]; then
  hits=$(grep -nE '(^|[^A-Za-z0-9_>.])(open|creat|stat|lstat|chmod|chown|lchown|truncate|opendir|rename|unlink|rmdir|mkdir|link|symlink|readlink|mknod|utimes|utime|access|realpath|chdir)[[:space:]]*\(' $pt |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' || true)
  [ -z "$hits" ] || report "path-based call in passthrough:"$'\n'"$hits"
fi

guest=$(echo "$src" | grep -E '^src/(fuse|passthrough|transport|metrics)/' || true)
if [ -n "$guest" ]; then
  hits=$(grep -nE '(^|[^A-Za-z0-9_])(assert|abort)[[:space:]]*\(' $guest || true)
  [ -z "$hits" ] || report "assert/abort on the request path:"$'\n'"$hits"
fi

all=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]')
# Scripts, build files, units and packaging too: everything that can carry
# a comment. Not: JSON, debian/changelog and source/format (no comment
# syntax), debian/copyright (its License: fields say it).
all+=" "$(git ls-files '*.sh' '*.py' 'meson.build' '*/meson.build' \
  meson_options.txt Makefile 'data/*' 'debian/*' 2>/dev/null |
  grep -vE '\.json(\.in)?$|^debian/(changelog|copyright|source/format)$' || true)
for f in $all; do
  head -n 2 "$f" | grep -q 'SPDX-License-Identifier: GPL-2.0-or-later' ||
    report "missing SPDX line: $f"
done

exit $fail
