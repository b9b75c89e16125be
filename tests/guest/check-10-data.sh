#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest: large files and data integrity. Reads the host-made 64 MiB file and
# compares its checksums with the host's; writes a 64 MiB file (its blocks
# reordered, shifted by 1000 random bytes) and a copy of the host's (the host re-checks both after QEMU exits); applies the
# same unaligned writes, truncates and appends to a tmpfs reference and to a
# file in the share and compares them, with caches dropped between.
# shellcheck source=SCRIPTDIR/guest-lib.sh
. /tests/guest-lib.sh

H=$GT_HOST
O=$GT_OUT

sum() {
	sha256sum <"$1" | cut -d' ' -f1
}

gt_eq "host big.bin: size" 67108864 "$(stat -c %s "$H/big.bin")"
gt_eq "host big.bin: sha256 as on the host" \
	"$(cut -d' ' -f1 "$H/big.sha256")" "$(sum "$H/big.bin")"
gt_eq "host big.bin: md5 as on the host" \
	"$(cut -d' ' -f1 "$H/big.md5")" "$(md5sum <"$H/big.bin" | cut -d' ' -f1)"

# 64 MiB + 1000 bytes: 1000 fresh random bytes (so every later byte is
# unaligned with its source), then the host file's 1 MiB blocks in another
# order (/dev/urandom is far too slow under TCG). Hashed from the generator,
# written with 1 MiB writes (tee's small writes are slow under TCG).
dd if=/dev/urandom of=/tmp/prefix bs=1000 count=1 2>/dev/null
gen() {
	cat /tmp/prefix
	i=0
	while [ $i -lt 64 ]; do
		dd if="$H/big.bin" bs=1M skip=$(((i * 29 + 7) % 64)) count=1 2>/dev/null
		i=$((i + 1))
	done
}
s=$(gen | sha256sum | cut -d' ' -f1)
# shellcheck disable=SC2317 # called through gt_check
write_big() {
	gen | dd of="$O/big.bin" bs=1M iflag=fullblock 2>/dev/null
}
gt_check "write 64 MiB in 1 MiB writes" write_big
echo "$s  big.bin" >"$O/big.sha256"
gt_eq "guest big.bin: size" 67109864 "$(stat -c %s "$O/big.bin")"
gt_eq "guest big.bin: read back (cached)" "$s" "$(sum "$O/big.bin")"
gt_drop_caches
gt_eq "guest big.bin: read back (uncached)" "$s" "$(sum "$O/big.bin")"

gt_check "copy host big.bin into the share" cp "$H/big.bin" "$O/big-copy.bin"
gt_drop_caches
gt_check "copy is identical" cmp "$H/big.bin" "$O/big-copy.bin"

# Unaligned writes: the same operations on /tmp/ref (tmpfs) and $O/patch.bin.
R=/tmp/ref
P=$O/patch.bin
dd if="$H/big.bin" of=$R bs=4096 count=300 2>/dev/null
cp $R "$P"
# "LEN SEEK": write LEN random bytes at LEN*SEEK (crossing pages, past EOF).
for spec in "12345 3" "99 41" "131073 2" "10001 125" "1 0" "65536 16"; do
	len=${spec% *}
	seek=${spec#* }
	dd if=/dev/urandom of=/tmp/chunk bs="$len" count=1 2>/dev/null
	dd if=/tmp/chunk of=$R bs="$len" seek="$seek" conv=notrunc 2>/dev/null
	dd if=/tmp/chunk of="$P" bs="$len" seek="$seek" conv=notrunc 2>/dev/null
done
gt_check "unaligned overwrites (cached)" cmp $R "$P"
gt_drop_caches
gt_check "unaligned overwrites (uncached)" cmp $R "$P"
gt_eq "size after writing past EOF" "$(stat -c %s $R)" "$(stat -c %s "$P")"

truncate -s 5000 $R
gt_check "truncate down" truncate -s 5000 "$P"
gt_drop_caches
gt_check "truncated contents" cmp $R "$P"
truncate -s 3000000 $R
gt_check "truncate up (sparse)" truncate -s 3000000 "$P"
gt_drop_caches
gt_check "extended contents" cmp $R "$P"
cat /tmp/chunk >>$R
cat /tmp/chunk >>"$P"
gt_drop_caches
gt_check "append" cmp $R "$P"
cp $R "$O/patch.expected"
rm -f $R /tmp/chunk

: >"$O/empty"
gt_eq "empty file" 0 "$(stat -c %s "$O/empty")"
gt_eq "empty file reads nothing" "" "$(cat "$O/empty")"

gt_finish
