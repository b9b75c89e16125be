#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest: names and metadata. Rename (in and across directories, over an
# existing file, directories), hard links and their link count, symlinks
# (to files, directories, dangling), chmod/chown/umask/set-group-ID
# directories, timestamps, an unprivileged user (uid 1000 "tester" via su)
# denied where it must be and owning what it creates, and 2000 files in one
# directory. The host checks what is left in guest/meta and guest/many.
# shellcheck source=SCRIPTDIR/guest-lib.sh
. /tests/guest-lib.sh

D=$GT_OUT/meta
rm -rf "$D"
mkdir "$D"
cd "$D" || exit 1

# Rename.
echo a >f1
gt_check "rename file" mv f1 f2
gt_check "rename: old name gone" test ! -e f1
gt_eq "rename: contents kept" a "$(cat f2)"
mkdir d1 d2
echo b >d1/x
gt_check "rename across directories" mv d1/x d2/y
gt_eq "renamed across: contents" b "$(cat d2/y)"
echo c >f3
gt_check "rename over an existing file" mv -f f3 f2
gt_eq "replaced contents" c "$(cat f2)"
gt_check "rename a directory" mv d2 d3
gt_eq "file inside renamed directory" b "$(cat d3/y)"
gt_check "rmdir of a non-empty directory fails" sh -c '! rmdir d3 2>/dev/null'
gt_check "rmdir of an empty directory" rmdir d1
gt_check "unlink" sh -c 'echo z >gone && rm gone && test ! -e gone'

# Hard links.
echo h >h1
gt_check "hard link" ln h1 h2
gt_check "hard link in another directory" ln h1 d3/h3
gt_eq "nlink is 3" 3 "$(stat -c %h h1)"
gt_eq "same inode" "$(stat -c %i h1)" "$(stat -c %i d3/h3)"
rm h2
gt_drop_caches
gt_eq "nlink after unlink (uncached)" 2 "$(stat -c %h h1)"
echo written-via-h3 >d3/h3
gt_eq "write through one link, read through the other" written-via-h3 "$(cat h1)"

# Symlinks.
gt_check "symlink to a file" ln -s h1 s1
gt_eq "readlink" h1 "$(readlink s1)"
gt_eq "read through the symlink" written-via-h3 "$(cat s1)"
gt_check "symlink to a directory" ln -s d3 sdir
gt_eq "path through a symlinked directory" b "$(cat sdir/y)"
gt_check "dangling symlink" ln -s does-not-exist dangling
gt_check "dangling: lstat yes, stat no" sh -c 'test -L dangling && test ! -e dangling'
gt_check "symlink to an absolute target" ln -s /etc/passwd sabs
gt_eq "absolute target kept verbatim" /etc/passwd "$(readlink sabs)"

# Modes, owners, umask, set-group-ID directories, times.
: >p
gt_check "chmod 640" chmod 640 p
gt_eq "mode 640" 640 "$(stat -c %a p)"
gt_check "chown 1000:1000" chown 1000:1000 p
gt_eq "owner 1000:1000" 1000:1000 "$(stat -c %u:%g p)"
: >suid
chmod 4755 suid
gt_eq "root keeps the set-user-ID bit" 4755 "$(stat -c %a suid)"
gt_eq "umask 077 applies to new files" 600 "$( (umask 077 && : >um && stat -c %a um))"
mkdir sg
chown 0:1000 sg
chmod 2775 sg
: >sg/f
mkdir sg/sub
gt_eq "new file inherits the set-group-ID directory's group" 1000 "$(stat -c %g sg/f)"
gt_eq "new directory inherits the set-group-ID bit" 2755 "$(stat -c %a sg/sub)"
: >t
gt_check "set mtime" touch -d '2020-01-02 03:04:05' t
gt_drop_caches
gt_eq "mtime (uncached)" 1577934245 "$(stat -c %Y t)"

# An unprivileged user.
mkdir user
chown 1000:1000 user
# shellcheck disable=SC2317 # called through gt_check
as_tester() {
	su -s /bin/sh tester -c "$1"
}
gt_check "tester creates a file in its directory" as_tester "echo mine >$D/user/mine"
gt_eq "owned by tester" 1000:1000 "$(stat -c %u:%g user/mine)"
gt_check "tester makes a private directory" as_tester "mkdir -m 700 $D/user/private && echo p >$D/user/private/f"
gt_eq "root reads tester's private file" p "$(cat user/private/f)"
echo secret >rootonly
chmod 600 rootonly
gt_check "tester cannot read a 0600 root file" sh -c "! su -s /bin/sh tester -c 'cat $D/rootonly' 2>/dev/null"
echo ro >rofile
chmod 644 rofile
gt_check "tester cannot write a 0644 root file" sh -c "! su -s /bin/sh tester -c 'echo x >>$D/rofile' 2>/dev/null"
gt_eq "0644 root file unchanged" ro "$(cat rofile)"
gt_check "tester cannot create in a 0755 root directory" sh -c "! su -s /bin/sh tester -c ': >$D/by-tester' 2>/dev/null"
gt_check "tester cannot chmod a root file" sh -c "! su -s /bin/sh tester -c 'chmod 666 $D/rofile' 2>/dev/null"
gt_check "tester cannot unlink in a 0755 root directory" sh -c "! su -s /bin/sh tester -c 'rm -f $D/rofile' 2>/dev/null"
gt_check "tester can read a 0644 root file" as_tester "test \"\$(cat $D/rofile)\" = ro"

# Many files in one directory.
M=$GT_OUT/many
rm -rf "$M"
mkdir "$M"
i=1
while [ $i -le 2000 ]; do
	echo "file $i" >"$M/f$i" || break
	i=$((i + 1))
done
gt_eq "2000 files created" 2001 "$i"
gt_eq "readdir lists 2000" 2000 "$(find "$M" -mindepth 1 | wc -l)"
gt_drop_caches
bad=0
i=1
while [ $i -le 2000 ]; do
	read -r line <"$M/f$i" || line=
	[ "$line" = "file $i" ] || bad=$((bad + 1))
	i=$((i + 1))
done
gt_eq "all 2000 read back (uncached)" 0 "$bad"
set --
i=1
while [ $i -le 2000 ]; do
	set -- "$@" "$M/f$i"
	i=$((i + 2))
done
gt_check "unlink 1000 of them" rm "$@"
gt_eq "half of them removed; readdir lists 1000" 1000 "$(find "$M" -mindepth 1 | wc -l)"

cd /
gt_finish
