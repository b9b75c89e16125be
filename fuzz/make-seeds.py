#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora of the fuzz targets (fuzz/corpus/<target>/seed-*).

Each seed is a meaningful input in the target's input layout (see the
comment atop fuzz_<target>.c): valid FUSE requests, the QEMU vhost-user
message sequence, valid direct and indirect descriptor chains, plus a few
classic hostile cases. The fuzzers add their own finds next to them
(run.sh merges); reproducers of fixed bugs are kept as crash-*/regress-*.

Usage: fuzz/make-seeds.py [CORPUS_DIR]   (default: fuzz/corpus)
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- virtq ---------------------------------------------------------------
GPA_A, SIZE_A, GPA_B, SIZE_B = 0x10000, 0x10000, 0x20000, 0x2000
BUF_GPA = GPA_A + 0x3000
F_INDIRECT, F_EVENT_IDX, F_RELATIVE, F_SMALL_IOV, F_SCRIPT, F_RAW_NUM = (
    1, 2, 4, 8, 16, 32)
D_NEXT, D_WRITE, D_INDIRECT = 1, 2, 4


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def virtq(flags, log2num, descs, heads, avail_idx=None, base=0, used_idx=0,
          iov_small=0, buf=b"", used_event=0, avail_flags=0, script=b""):
    num = 1 << log2num
    if avail_idx is None:
        avail_idx = (base + len(heads)) & 0xffff
    table = b"".join(descs).ljust(num * 16, b"\0")[:num * 16]
    ring = [0] * num
    for i, h in enumerate(heads):
        ring[(base + i) % num] = h
    avail = struct.pack("<HH", avail_flags, avail_idx) + \
        struct.pack("<%dH" % num, *ring) + struct.pack("<H", used_event)
    hdr = struct.pack("<BBHHBH", flags, log2num, base, used_idx, iov_small,
                      len(buf))
    return hdr + table + avail + buf + script


def virtq_seeds():
    w = lambda n, d: write("virtq", n, d)
    # a FUSE request: readable header + args, writable reply buffer
    fuse_chain = [desc(BUF_GPA, 64, D_NEXT, 1),
                  desc(BUF_GPA + 0x100, 4096, D_WRITE)]
    w("direct-one", virtq(0, 4, fuse_chain, [0]))
    w("direct-event-idx", virtq(F_EVENT_IDX, 4, fuse_chain, [0],
                                used_event=0))
    w("direct-three-chains", virtq(0, 4, [
        desc(BUF_GPA, 40, D_NEXT, 1), desc(BUF_GPA + 0x40, 16, D_WRITE),
        desc(BUF_GPA + 0x80, 48, D_NEXT, 3),
        desc(BUF_GPA + 0x100, 80, D_NEXT | D_WRITE, 4),
        desc(BUF_GPA + 0x200, 4096, D_WRITE),
        desc(BUF_GPA + 0x2000, 100)], [0, 2, 5]))
    w("direct-long-chain", virtq(0, 4, [
        desc(BUF_GPA + 0x100 * i, 0x80, D_NEXT | (D_WRITE if i > 3 else 0),
             i + 1) for i in range(15)] + [desc(BUF_GPA + 0x1000, 8,
                                                D_WRITE)], [0]))
    w("cross-region", virtq(0, 4, [desc(GPA_A + SIZE_A - 100, 300, D_NEXT, 1),
                                   desc(GPA_B + 0x100, 512, D_WRITE)], [0]))
    w("cross-region-small-iov", virtq(F_SMALL_IOV, 4, [
        desc(GPA_A + SIZE_A - 100, 300, D_NEXT, 1),
        desc(GPA_B + 0x100, 512, D_WRITE)], [0], iov_small=1))
    w("outside-memory", virtq(0, 4, [desc(GPA_B + SIZE_B - 8, 64)], [0]))
    w("zero-len", virtq(0, 4, [desc(BUF_GPA, 0, D_NEXT, 1),
                               desc(BUF_GPA, 8, D_WRITE)], [0]))
    w("relative", virtq(F_RELATIVE, 3, [desc(0x3000, 32, D_NEXT, 1),
                                        desc(0x3100, 64, D_WRITE)], [0]))
    # indirect: one ring descriptor pointing at a table in buffer memory
    ind = desc(GPA_A + 0x4000, 64, D_NEXT, 1) + \
        desc(GPA_A + 0x4100, 32, D_NEXT, 2) + \
        desc(GPA_A + 0x5000, 4096, D_WRITE)
    w("indirect", virtq(F_INDIRECT, 4, [desc(BUF_GPA, len(ind), D_INDIRECT)],
                        [0], buf=ind))
    w("indirect-event-idx", virtq(F_INDIRECT | F_EVENT_IDX, 4,
                                  [desc(BUF_GPA, len(ind), D_INDIRECT)], [0],
                                  buf=ind, used_event=1))
    w("indirect-not-negotiated", virtq(0, 4, [desc(BUF_GPA, len(ind),
                                                   D_INDIRECT)], [0], buf=ind))
    w("indirect-after-direct", virtq(F_INDIRECT, 4, [
        desc(GPA_A + 0x6000, 16, D_NEXT, 1),
        desc(BUF_GPA, len(ind), D_INDIRECT)], [0], buf=ind))
    nested = desc(BUF_GPA, 16, D_INDIRECT)
    w("indirect-nested", virtq(F_INDIRECT, 4, [
        desc(BUF_GPA, len(nested), D_INDIRECT)], [0], buf=nested))
    w("indirect-odd-len", virtq(F_INDIRECT, 4, [
        desc(BUF_GPA, 20, D_INDIRECT)], [0], buf=ind))
    w("indirect-loop", virtq(F_INDIRECT, 4, [
        desc(BUF_GPA, 32, D_INDIRECT)], [0],
        buf=desc(GPA_A + 0x4000, 8, D_NEXT, 1) +
        desc(GPA_A + 0x4000, 8, D_NEXT, 0)))
    w("indirect-cross-region", virtq(F_INDIRECT, 4, [
        desc(GPA_A + SIZE_A - 16, 32, D_INDIRECT)], [0]))
    # hostile rings
    w("loop", virtq(0, 4, [desc(BUF_GPA, 8, D_NEXT, 1),
                           desc(BUF_GPA, 8, D_NEXT, 0)], [0]))
    w("next-out-of-range", virtq(0, 4, [desc(BUF_GPA, 8, D_NEXT, 99)], [0]))
    w("head-out-of-range", virtq(0, 4, [desc(BUF_GPA, 8)], [16]))
    w("read-after-write", virtq(0, 4, [desc(BUF_GPA, 8, D_WRITE | D_NEXT, 1),
                                       desc(BUF_GPA, 8)], [0]))
    w("avail-jump", virtq(0, 4, fuse_chain, [0], avail_idx=40))
    w("wrap", virtq(F_EVENT_IDX, 2, fuse_chain, [0, 0, 0], base=0xfffe,
                    used_idx=0xfffe, used_event=0xffff))
    w("no-interrupt", virtq(0, 4, fuse_chain, [0], avail_flags=1))
    w("full-ring-256", virtq(0, 8, [desc(BUF_GPA + 0x10 * i, 16, D_WRITE)
                                    for i in range(256)],
                             list(range(256))))
    w("ring-of-one", virtq(0, 0, [desc(BUF_GPA, 16)], [0]))
    # scripts: pop, push, driver adds and rewrites, notification calls
    w("script-pop-push", virtq(F_SCRIPT | F_EVENT_IDX, 4, fuse_chain, [0],
                               script=bytes([0, 1, 5, 4 | 8, 5])))
    w("script-readd", virtq(F_SCRIPT, 4, fuse_chain, [0, 0],
                            avail_idx=1,
                            script=bytes([0, 1, 2, 1, 0, 1, 4, 0, 6, 7])))
    w("script-rewrite", virtq(F_SCRIPT, 4, fuse_chain, [0],
                              script=bytes([3, 0x08, 0x00, 0x50, 0, 1, 7])))
    w("script-overclaim", virtq(F_SCRIPT, 4, fuse_chain, [0],
                                script=bytes([0, 1 | 8, 200])))
    # sizes virtq_setup must refuse
    for n in (0, 3, 100, 0x10000, 0x8001):
        hdr = struct.pack("<BBHHBH", F_RAW_NUM | (0x80 if n >> 16 else 0),
                          n & 0xff, 0, 0, (n >> 8) & 0xff, 0)
        w("bad-num-%d" % n, hdr)

# ---- vhost ---------------------------------------------------------------
(GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE) = (
    1, 2, 3, 4, 5)
SET_LOG_BASE, SET_LOG_FD = 6, 7
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM = 15, 16, 17
SET_VRING_ENABLE, SET_BACKEND_REQ_FD = 18, 21
GET_CONFIG, SET_CONFIG = 24, 25
GET_INFLIGHT_FD, SET_INFLIGHT_FD = 31, 32
RESET_DEVICE, GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG = 34, 36, 37, 38
SET_STATUS, GET_STATUS = 39, 40

C_MSG, C_RAW, C_POKE, C_ACK = 0, 1, 2, 3
C_EVENTFD, C_SHORT, C_SPLIT = 0x10, 0x20, 0x40
VU_GPA, VU_UADDR, VU_MEM = 0x100000, 0x7f0000000000, 256 * 1024
F_VERSION_1, F_EVENT_IDX, F_INDIRECT, F_PROTO = 32, 29, 28, 30
PROTO = (1 << 0) | (1 << 3) | (1 << 9) | (1 << 13) | (1 << 15) | (1 << 16)


def msg(req, payload=b"", ack=False, nfds=0, fdkind=0):
    ctl = (C_ACK if ack else C_MSG) | (nfds << 2) | fdkind
    return struct.pack("<BBH", ctl, req, len(payload)) + payload


def raw(req, flags, size, payload=b"", nfds=0, fdkind=0):
    return struct.pack("<BIIIH", C_RAW | (nfds << 2) | fdkind, req, flags,
                       size, len(payload)) + payload


def poke(off, data):
    out = b""
    for i in range(0, len(data), 252):
        chunk = data[i:i + 252]
        out += struct.pack("<BHB", C_POKE, (off + i) // 4, len(chunk)) + chunk
    return out


def u64(v):
    return struct.pack("<Q", v)


def state(idx, num):
    return struct.pack("<II", idx, num)


def region(gpa=VU_GPA, size=VU_MEM, uaddr=VU_UADDR, off=0):
    return struct.pack("<QQQQ", gpa, size, uaddr, off)


def mem_table(*regions):
    return struct.pack("<II", len(regions), 0) + b"".join(regions)


def ring_off(q):
    return 0x10000 * q


def vring_addr(q, flags=0):
    base = VU_UADDR + ring_off(q)
    return struct.pack("<IIQQQQ", q, flags, base, base + 0x2000,
                       base + 0x1000, 0)


def negotiate(features=(1 << F_VERSION_1) | (1 << F_EVENT_IDX) |
              (1 << F_INDIRECT) | (1 << F_PROTO), regions=None):
    out = msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES)
    out += msg(SET_PROTOCOL_FEATURES, u64(PROTO))
    out += msg(GET_QUEUE_NUM) + msg(SET_OWNER) + msg(GET_MAX_MEM_SLOTS)
    out += msg(SET_FEATURES, u64(features), ack=True)
    out += msg(SET_MEM_TABLE, mem_table(*(regions or [region()])), ack=True,
               nfds=len(regions or [1]))
    return out


def ring_chain(q, num=16):
    """A FUSE-like chain at head 0 of queue q's ring, one avail entry."""
    o = ring_off(q)
    buf = VU_GPA + o + 0x8000
    d = desc(buf, 64, D_NEXT, 1) + desc(buf + 0x100, 4096, D_WRITE)
    avail = struct.pack("<HHH", 0, 1, 0)
    return poke(o, d) + poke(o + 0x1000, avail)


def setup_queue(q, num=16, kick=True):
    out = msg(SET_VRING_NUM, state(q, num), ack=True)
    out += msg(SET_VRING_BASE, state(q, 0), ack=True)
    out += msg(SET_VRING_ADDR, vring_addr(q), ack=True)
    out += msg(SET_VRING_KICK, u64(q), ack=True, nfds=1, fdkind=C_EVENTFD) \
        if kick else msg(SET_VRING_KICK, u64(q | 0x100), ack=True)
    out += msg(SET_VRING_CALL, u64(q), ack=True, nfds=1, fdkind=C_EVENTFD)
    out += msg(SET_VRING_ERR, u64(q), ack=True, nfds=1, fdkind=C_EVENTFD)
    out += msg(SET_VRING_ENABLE, state(q, 1), ack=True)
    return out


def vhost_seeds():
    w = lambda n, d: write("vhost", n, d)
    shape = bytes([1])  # two queues, 40 bytes of config
    w("hello", shape + msg(GET_FEATURES))
    w("negotiate", shape + negotiate())
    qemu = shape + ring_chain(0) + ring_chain(1) + negotiate() + \
        setup_queue(0) + setup_queue(1) + msg(SET_STATUS, u64(0xf), ack=True)
    w("qemu-boot", qemu)
    w("qemu-boot-stop", qemu + msg(GET_VRING_BASE, state(0, 0)) +
      msg(GET_VRING_BASE, state(1, 0)) + msg(GET_STATUS))
    w("qemu-reboot", qemu + msg(GET_VRING_BASE, state(0, 0)) +
      msg(RESET_DEVICE) + negotiate() + setup_queue(0))
    w("qemu-polling", shape + ring_chain(0) + negotiate() +
      setup_queue(0, kick=False))
    w("queue-refused", bytes([1 | 8]) + negotiate() + setup_queue(1))
    w("no-event-idx", shape + ring_chain(0) +
      negotiate(features=(1 << F_VERSION_1) | (1 << F_PROTO)) +
      setup_queue(0))
    w("config", shape + negotiate() +
      msg(GET_CONFIG, struct.pack("<III", 0, 40, 0) + bytes(40)) +
      msg(GET_CONFIG, struct.pack("<III", 36, 8, 0) + bytes(8)) +
      msg(SET_CONFIG, struct.pack("<III", 0, 4, 0) + b"abcd", ack=True))
    w("no-config", bytes([1 | 4]) + negotiate() +
      msg(GET_CONFIG, struct.pack("<III", 0, 4, 0) + bytes(4)))
    w("mem-slots", shape + ring_chain(0) + negotiate() + setup_queue(0) +
      msg(ADD_MEM_REG, u64(0) + region(0x10000000, 0x1000, 0x7e0000000000,
                                         0x1000), ack=True, nfds=1) +
      msg(REM_MEM_REG, u64(0) + region(0x10000000, 0x1000, 0x7e0000000000,
                                         0x1000), ack=True) +
      msg(SET_MEM_TABLE, mem_table(region()), ack=True, nfds=1))
    w("mem-two-regions", shape + negotiate(regions=[
        region(VU_GPA, 0x20000, VU_UADDR, 0),
        region(VU_GPA + 0x20000, 0x20000, VU_UADDR + 0x20000, 0x20000)]))
    w("mem-short-fd", shape + negotiate()[:-4 - len(mem_table(region()))] +
      struct.pack("<BBH", C_ACK | (1 << 2) | C_SHORT, SET_MEM_TABLE,
                  len(mem_table(region()))) + mem_table(region()))
    w("mem-overlap", shape + negotiate(regions=[
        region(VU_GPA, 0x20000, VU_UADDR, 0),
        region(VU_GPA + 0x1000, 0x20000, VU_UADDR + 0x40000, 0x20000)]))
    w("mem-eventfd", shape + msg(SET_MEM_TABLE, mem_table(region()),
                                 ack=True, nfds=1, fdkind=C_EVENTFD))
    w("mem-missing-fd", shape + msg(SET_MEM_TABLE, mem_table(region()),
                                    ack=True))
    w("too-many-fds", shape + msg(SET_OWNER, nfds=3) +
      msg(SET_VRING_CALL, u64(0), nfds=3, fdkind=C_EVENTFD))
    w("ring-outside", shape + negotiate() +
      msg(SET_VRING_NUM, state(0, 256), ack=True) +
      msg(SET_VRING_ADDR, struct.pack("<IIQQQQ", 0, 0, VU_UADDR + VU_MEM - 8,
                                       VU_UADDR, VU_UADDR, 0), ack=True) +
      msg(SET_VRING_KICK, u64(0), nfds=1, fdkind=C_EVENTFD))
    w("bad-index", shape + negotiate() + msg(SET_VRING_NUM, state(7, 16)) +
      msg(SET_VRING_KICK, u64(0xff), nfds=1, fdkind=C_EVENTFD) +
      msg(GET_VRING_BASE, state(0x10000, 0)))
    w("bad-num", shape + negotiate() + msg(SET_VRING_NUM, state(0, 3)) +
      msg(SET_VRING_NUM, state(0, 65536), ack=True))
    w("bad-version", shape + raw(GET_FEATURES, 2, 0))
    w("reply-flag", shape + raw(GET_FEATURES, 1 | 4, 0))
    w("huge-size", shape + raw(SET_MEM_TABLE, 1, 0xffffffff, bytes(16)))
    w("short-payload", shape + raw(SET_FEATURES, 1, 8, bytes(4)))
    w("unknown-request", shape + raw(0x7fffffff, 1 | 8, 0) + msg(99, b"x"))
    w("unsupported", shape + negotiate() + msg(SET_LOG_BASE, u64(0)) +
      msg(SET_LOG_FD, nfds=1) + msg(SET_BACKEND_REQ_FD, nfds=1,
                                    fdkind=C_EVENTFD) +
      msg(GET_INFLIGHT_FD, bytes(24)) + msg(SET_INFLIGHT_FD, bytes(24),
                                            nfds=1))
    w("split-frames", shape + bytes([C_SPLIT | C_ACK]) +
      struct.pack("<BH", SET_FEATURES, 8) + u64(1 << F_VERSION_1) +
      msg(GET_FEATURES))
    w("reset-owner", shape + negotiate() + setup_queue(0) +
      msg(RESET_OWNER) + msg(GET_FEATURES))
    w("features-not-offered", shape + msg(SET_FEATURES, u64(~0 & (2**64 - 1)),
                                          ack=True))
    w("disable-while-running", shape + ring_chain(0) + negotiate() +
      setup_queue(0) + msg(SET_VRING_ENABLE, state(0, 0), ack=True) +
      msg(SET_VRING_ADDR, vring_addr(0), ack=True) +
      msg(SET_VRING_ENABLE, state(0, 1), ack=True))

# ---- fuse ----------------------------------------------------------------
(LOOKUP, FORGET, GETATTR, SETATTR, READLINK, SYMLINK, MKNOD, MKDIR, UNLINK,
 RMDIR, RENAME, LINK, OPEN, READ, WRITE, STATFS, RELEASE, FSYNC, SETXATTR,
 GETXATTR, LISTXATTR, REMOVEXATTR, FLUSH, INIT, OPENDIR, READDIR, RELEASEDIR,
 FSYNCDIR, GETLK, SETLK, SETLKW, ACCESS, CREATE, INTERRUPT, BMAP, DESTROY,
 IOCTL, POLL, NOTIFY_REPLY, BATCH_FORGET, FALLOCATE, READDIRPLUS, RENAME2,
 LSEEK, COPY_FILE_RANGE, SETUPMAPPING, REMOVEMAPPING, SYNCFS, TMPFILE) = (
    1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22,
    23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51)
ROOT = 1
# Node ids and file handles of a fresh share (fuzz_fuse.c rebuilds it for
# every input): the first node looked up takes slot 2, the next 3, ...;
# the first handle is generation 1, slot 0.
N1, N2, N3 = 2, 3, 4
FH0, FH1 = (1 << 32) | 0, (1 << 32) | 1
OUT_4K, OUT_128K, OUT_HDR, OUT_NONE = 23, 29, 3, 0


class Fuse:
    def __init__(self, b0=0, flags=0, flags2=0):
        self.data = struct.pack("<BII", b0, flags, flags2)
        self.unique = 100

    def req(self, opcode, nodeid, args=b"", outsel=OUT_4K, ctl=0,
            cuts=b"\0" * 5, extlen=0, uid=0, gid=0):
        self.unique += 1
        body = struct.pack("<IIQQIIIHH", 40 + len(args), opcode, self.unique,
                           nodeid, uid, gid, 1234, extlen, 0) + args
        self.data += struct.pack("<BB", ctl, outsel) + cuts + \
            struct.pack("<H", len(body)) + body
        return self

    def bytes(self):
        return self.data


def z(s):
    return s.encode() + b"\0"


def read_in(fh, off, size):
    return struct.pack("<QQIIQII", fh, off, size, 0, 0, 0, 0)


def write_in(fh, off, data):
    return struct.pack("<QQIIQII", fh, off, len(data), 0, 0, 0, 0) + data


def open_in(flags):
    return struct.pack("<II", flags, 0)


def release_in(fh):
    return struct.pack("<QIIQ", fh, 0, 0, 0)


def create_in(flags, mode):
    return struct.pack("<IIII", flags, mode, 0o022, 0)


def setattr_in(valid, size=0, mode=0, fh=0):
    return struct.pack("<IIQQQQQQIIIIIIII", valid, 0, fh, size, 0, 0, 0, 0,
                       0, 0, 0, mode, 0, 0, 0, 0)


def lk_in(fh, owner, start, end, typ, flock=False):
    return struct.pack("<QQQQIIII", fh, owner, start, end, typ, 1234,
                       1 if flock else 0, 0)


def fuse_seeds():
    w = lambda n, f: write("fuse", n, f.bytes())
    O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC = 0, 1, 2, 0o100, 0o1000
    w("init-only", Fuse())
    w("no-init-lookup", Fuse(b0=1).req(LOOKUP, ROOT, z("file")))
    raw_init = struct.pack("<IIIII", 7, 38, 1 << 20, 0xffffffff, 0) + \
        bytes(44)
    w("own-init", Fuse(b0=1).req(INIT, 0, raw_init, OUT_4K)
      .req(GETATTR, ROOT, bytes(16)))
    w("old-init-7-31", Fuse(b0=1).req(INIT, 0, struct.pack(
        "<IIII", 7, 31, 1 << 20, 0xffffffff)).req(LOOKUP, ROOT, z("dir")))
    w("reinit", Fuse(b0=2).req(LOOKUP, ROOT, z("file"))
      .req(INIT, 0, raw_init).req(GETATTR, N1, bytes(16)))
    w("lookup", Fuse().req(LOOKUP, ROOT, z("file")).req(LOOKUP, ROOT,
                                                        z("nope")))
    w("lookup-dotdot", Fuse().req(LOOKUP, ROOT, z("..")).req(
        LOOKUP, ROOT, z(".")).req(LOOKUP, ROOT, z("a/b")))
    w("lookup-symlinks", Fuse().req(LOOKUP, ROOT, z("out-abs"))
      .req(READLINK, N1).req(OPEN, N1, open_in(O_RDWR))
      .req(LOOKUP, ROOT, z("out-dir")).req(LOOKUP, N2, z("secret")))
    w("lookup-fifo-open", Fuse().req(LOOKUP, ROOT, z("fifo"))
      .req(OPEN, N1, open_in(O_RDONLY)).req(GETATTR, N1, bytes(16)))
    w("getattr-root", Fuse().req(GETATTR, ROOT, bytes(16)).req(STATFS, ROOT))
    w("read", Fuse().req(LOOKUP, ROOT, z("file"))
      .req(OPEN, N1, open_in(O_RDONLY))
      .req(READ, N1, read_in(FH0, 0, 4096), OUT_128K)
      .req(READ, N1, read_in(FH0, 6, 100), 16, ctl=0x21, cuts=b"\x80\0\0\x40\xc0")
      .req(FLUSH, N1, struct.pack("<QIIQ", FH0, 0, 0, 7))
      .req(RELEASE, N1, release_in(FH0)).req(FORGET, N1, u64(1), OUT_NONE))
    w("write", Fuse().req(LOOKUP, ROOT, z("file"))
      .req(OPEN, N1, open_in(O_RDWR))
      .req(WRITE, N1, write_in(FH0, 5, b"fuzzed bytes"), ctl=2,
           cuts=b"\x10\x50\0\0\0")
      .req(FSYNC, N1, struct.pack("<QII", FH0, 0, 0))
      .req(READ, N1, read_in(FH0, 0, 64), OUT_4K)
      .req(RELEASE, N1, release_in(FH0)))
    w("write-big", Fuse().req(LOOKUP, ROOT, z("empty"))
      .req(OPEN, N1, open_in(O_WRONLY))
      .req(WRITE, N1, write_in(FH0, 1 << 20, bytes(4096)), ctl=3,
           cuts=b"\x01\x02\xff\0\0"))
    w("write-past-limit", Fuse().req(LOOKUP, ROOT, z("empty"))
      .req(OPEN, N1, open_in(O_WRONLY))
      .req(WRITE, N1, write_in(FH0, 1 << 40, b"x"))
      .req(FALLOCATE, N1, struct.pack("<QQQII", FH0, 0, 1 << 30, 0, 0)))
    w("create", Fuse().req(CREATE, ROOT, create_in(O_RDWR | O_CREAT, 0o100644)
                           + z("new"))
      .req(WRITE, N1, write_in(FH0, 0, b"abc"))
      .req(LSEEK, N1, struct.pack("<QQII", FH0, 0, 3, 0))
      .req(SETATTR, N1, setattr_in(1 << 3, size=1))
      .req(RELEASE, N1, release_in(FH0))
      .req(UNLINK, ROOT, z("new")))
    w("create-excl-exists", Fuse().req(CREATE, ROOT, create_in(
        O_RDWR | O_CREAT | 0o200, 0o100600) + z("file")))
    w("mkdir-rmdir", Fuse().req(MKDIR, ROOT, struct.pack("<II", 0o755, 0o022)
                                + z("d"))
      .req(MKNOD, N1, struct.pack("<IIII", 0o010644, 0, 0, 0) + z("p"))
      .req(MKNOD, N1, struct.pack("<IIII", 0o020644, 0x0103, 0, 0) + z("c"))
      .req(SYMLINK, N1, z("s") + z("/etc/passwd"))
      .req(LINK, ROOT, struct.pack("<Q", N1) + z("x"))
      .req(RMDIR, ROOT, z("d")))
    w("rename", Fuse().req(LOOKUP, ROOT, z("dir"))
      .req(RENAME, ROOT, struct.pack("<Q", N1) + z("file") + z("moved"))
      .req(RENAME2, N1, struct.pack("<QII", ROOT, 2, 0) + z("moved") +
           z("empty"))
      .req(RENAME2, ROOT, struct.pack("<QII", ROOT, 4, 0) + z("hard") +
           z("wh")))
    w("readdir", Fuse().req(OPENDIR, ROOT, open_in(0))
      .req(READDIR, ROOT, read_in(FH0, 0, 4096), OUT_4K)
      .req(READDIR, ROOT, read_in(FH0, 3, 80), 7)
      .req(READDIRPLUS, ROOT, read_in(FH0, 0, 4096), OUT_4K)
      .req(FSYNCDIR, ROOT, struct.pack("<QII", FH0, 0, 0))
      .req(RELEASEDIR, ROOT, release_in(FH0)))
    w("readdirplus-small", Fuse(b0=0x40).req(OPENDIR, ROOT, open_in(0))
      .req(READDIRPLUS, ROOT, read_in(FH0, 0, 200), 18))
    w("xattr", Fuse(b0=0x10).req(LOOKUP, ROOT, z("file"))
      .req(SETXATTR, N1, struct.pack("<IIII", 5, 0, 0, 0) + z("user.k") +
           b"value")
      .req(GETXATTR, N1, struct.pack("<II", 0, 0) + z("user.k"))
      .req(GETXATTR, N1, struct.pack("<II", 64, 0) + z("user.k"))
      .req(LISTXATTR, N1, struct.pack("<II", 2, 0))
      .req(REMOVEXATTR, N1, z("user.k")))
    w("xattr-fifo", Fuse(b0=0x10).req(LOOKUP, ROOT, z("fifo"))
      .req(SETXATTR, N1, struct.pack("<IIII", 1, 0, 0, 0) + z("user.a") +
           b"v").req(LISTXATTR, N1, struct.pack("<II", 0, 0)))
    w("locks", Fuse().req(LOOKUP, ROOT, z("file"))
      .req(OPEN, N1, open_in(O_RDWR))
      .req(SETLK, N1, lk_in(FH0, 1, 0, 100, 1))
      .req(GETLK, N1, lk_in(FH0, 2, 0, 10, 1))
      .req(SETLKW, N1, lk_in(FH0, 2, 0, 10, 1))
      .req(SETLK, N1, lk_in(FH0, 1, 0, 0, 1, flock=True))
      .req(SETLK, N1, lk_in(FH0, 1, 0, 100, 2)))
    w("access-bmap-ioctl-poll", Fuse().req(ACCESS, ROOT, struct.pack(
        "<II", 7, 0)).req(BMAP, ROOT, struct.pack("<QII", 0, 4096, 0))
      .req(IOCTL, ROOT, bytes(32)).req(POLL, ROOT, bytes(24))
      .req(SETUPMAPPING, ROOT, bytes(40)).req(SYNCFS, ROOT, bytes(8)))
    w("copy-file-range", Fuse().req(LOOKUP, ROOT, z("file"))
      .req(OPEN, N1, open_in(O_RDONLY)).req(LOOKUP, ROOT, z("empty"))
      .req(OPEN, N2, open_in(O_RDWR))
      .req(COPY_FILE_RANGE, N1, struct.pack("<QQQQQQQ", FH0, 0, N2, FH1, 0,
                                            10, 0)))
    w("tmpfile", Fuse().req(TMPFILE, ROOT, create_in(O_RDWR, 0o100600))
      .req(WRITE, N1, write_in(FH0, 0, b"t")))
    w("forget-batch", Fuse().req(LOOKUP, ROOT, z("file"))
      .req(LOOKUP, ROOT, z("file"))
      .req(BATCH_FORGET, 0, struct.pack("<IIQQQQ", 2, 0, N1, 1, 999, 5),
           OUT_NONE).req(GETATTR, N1, bytes(16)))
    w("interrupt-destroy", Fuse().req(INTERRUPT, 0, u64(5))
      .req(DESTROY, 0).req(LOOKUP, ROOT, z("file")))
    w("stale-handles", Fuse().req(LOOKUP, ROOT, z("file"))
      .req(READ, N1, read_in(FH0, 0, 10))
      .req(READ, N1, read_in(12345, 0, 10))
      .req(GETATTR, 0xdead, bytes(16)).req(GETATTR, 0, bytes(16)))
    w("ext-groups", Fuse().req(MKDIR, ROOT, struct.pack("<II", 0o2775, 0) +
                               z("g") + bytes(2) +
                               struct.pack("<IIII", 16, 2, 1, 100),
                               extlen=2, uid=1000, gid=1000))
    w("out-too-small", Fuse().req(LOOKUP, ROOT, z("file"), outsel=OUT_HDR)
      .req(GETATTR, ROOT, bytes(16), outsel=1)
      .req(STATFS, ROOT, outsel=OUT_NONE))
    w("short-and-raw", Fuse().req(GETATTR, ROOT, bytes(8), ctl=4)
      .req(LOOKUP, ROOT, b"noterm"))
    w("setattr-all", Fuse().req(LOOKUP, ROOT, z("file"))
      .req(SETATTR, N1, setattr_in(0xffff, size=3, mode=0o104755)))


if __name__ == "__main__":
    targets = set(sys.argv[2:]) or {"virtq", "vhost", "fuse"}
    if "virtq" in targets:
        virtq_seeds()
    for t in ("vhost", "fuse"):
        if t in targets and t + "_seeds" in globals():
            globals()[t + "_seeds"]()
