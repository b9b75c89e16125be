#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of `make demo` (busybox sh, run by the initramfs's /init with
# the share mounted on /mnt): show the host's files, write one, and wait for
# the host's answer to appear.
say() { echo "[guest] $*"; }

show() { sed 's/^/[guest]   /'; }

say "mount | grep virtiofs"
grep virtiofs /proc/mounts | show
say "ls -l /mnt (the share, as the VM sees it)"
# shellcheck disable=SC2012 # the listing as a person reads it
ls -l /mnt | show
say "cat /mnt/hello-from-host.txt (written on the host before boot)"
show </mnt/hello-from-host.txt
say "writing hello-from-guest.txt"
echo "written inside the VM, kernel $(uname -r)" >/mnt/hello-from-guest.txt
say "waiting for the host to answer while the VM runs..."
i=0
while [ ! -s /mnt/answer-from-host.txt ] && [ "$i" -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -s /mnt/answer-from-host.txt ]; then
	say "the host's answer appeared in the share:"
	show </mnt/answer-from-host.txt
	echo "1 0" >/tmp/counts
else
	say "no answer from the host"
	echo "0 1" >/tmp/counts
fi
say "shutting down"
