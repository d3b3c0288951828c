#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""genl-raw.py - send one hand-built generic netlink message and print the answer.

Meant for testing how the kernel rejects malformed requests: it resolves the
family through nlctrl, builds a message from attribute specs given on the
command line (any type, any length, unknown numbers allowed), sends it with
NLM_F_ACK over a plain AF_NETLINK socket with extended acks enabled, and prints
what came back:

    reply: cmd=2 ifindex=3 family=2 addr=10.0.0.1 ...   (one line per reply message)
    ok                                                  (ack with error 0 / end of dump)
    error: -22 EINVAL                                   (negative errno of the ack)
    extack: address length does not match family        (NLMSGERR_ATTR_MSG)
    extack-offset: 36                                   (NLMSGERR_ATTR_OFFS)
    miss-type: 4                                        (NLMSGERR_ATTR_MISS_TYPE)

Exit status: 0 the request succeeded, 1 the kernel returned an error,
2 usage error or the family could not be resolved.

Attribute specs are NAME=TYPE:VALUE. NAME is one of the KUBELB_A_* names in
lower case without the prefix (ifindex, family, addr, ...) or a number.
TYPE is one of
    u8 u16 u32 u64 s32   integers (host byte order, like the kernel expects)
    str                  NUL-terminated string
    strn                 string without the NUL
    hex                  raw bytes given in hex, e.g. 0a000001 ("" = empty)
    ip                   an IPv4 or IPv6 address, 4 or 16 bytes
    dev                  u32 ifindex of the named interface (in this netns)
    nest                 nested attributes: VALUE is a comma-separated list
                         of NAME=TYPE:VALUE (no nested nests)
Append "+N" to a NAME to set NLA_F_NESTED on it (e.g. ifindex+N=u32:1).

Examples:
    genl-raw.py new ifindex=dev:kube-lb0 family=u16:2 addr=ip:10.0.0.1
    genl-raw.py new ifindex=dev:kube-lb0 family=u16:2 addr=hex:0a0000
    genl-raw.py --dump get
    genl-raw.py get family=u16:10 addr=ip:2001:db8::1
"""

import argparse
import errno
import ipaddress
import shlex
import socket
import struct
import sys

NETLINK_GENERIC = 16
NETLINK_EXT_ACK = 11
NETLINK_CAP_ACK = 10
SOL_NETLINK = 270

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x01
NLM_F_MULTI = 0x02
NLM_F_ACK = 0x04
NLM_F_ECHO = 0x08
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_ACK_TLVS = 0x200
NLA_F_NESTED = 0x8000

NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2
NLMSGERR_ATTR_MISS_TYPE = 5
NLMSGERR_ATTR_MISS_NEST = 6

GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2

# include/uapi/linux/kubelb.h
COMMANDS = {"get": 1, "new": 2, "del": 3, "flush": 4, "change": 5}
ATTRS = ["unspec", "pad", "ifindex", "family", "addr", "prefixlen", "mode",
         "link", "service", "flags", "owner", "created", "stats", "aggr_refs",
         "prev", "announce_state", "announce_left", "quiet"]
ATTR_TYPES = {"ifindex": "u32", "family": "u16", "addr": "addr",
              "prefixlen": "u8", "mode": "u8", "link": "u32", "service": "str",
              "flags": "u32", "owner": "u32", "created": "u64",
              "stats": "stats", "aggr_refs": "u32", "prev": "prev",
              "announce_state": "u8", "announce_left": "u32"}
STATS = ["unspec", "pad", "answered", "suppressed", "announced", "rewritten"]


class Usage(Exception):
    pass


def nla(atype, payload):
    hdr = struct.pack("=HH", 4 + len(payload), atype)
    pad = b"\0" * ((4 - len(payload) % 4) % 4)
    return hdr + payload + pad


def attr_number(name):
    flags = 0
    if name.endswith("+N"):
        flags = NLA_F_NESTED
        name = name[:-2]
    if name.isdigit():
        return int(name) | flags
    try:
        return ATTRS.index(name.lower()) | flags
    except ValueError:
        raise Usage("unknown attribute name %r" % name)


def encode_value(typ, val):
    ints = {"u8": "=B", "u16": "=H", "u32": "=I", "u64": "=Q", "s32": "=i"}
    if typ in ints:
        return struct.pack(ints[typ], int(val, 0))
    if typ == "str":
        return val.encode() + b"\0"
    if typ == "strn":
        return val.encode()
    if typ == "hex":
        return bytes.fromhex(val)
    if typ == "ip":
        return ipaddress.ip_address(val).packed
    if typ == "dev":
        try:
            return struct.pack("=I", socket.if_nametoindex(val))
        except OSError:
            raise Usage("no interface %r" % val)
    raise Usage("unknown type %r" % typ)


def encode_spec(spec):
    if "=" not in spec or ":" not in spec.split("=", 1)[1]:
        raise Usage("attribute spec %r is not NAME=TYPE:VALUE" % spec)
    name, rest = spec.split("=", 1)
    typ, val = rest.split(":", 1)
    num = attr_number(name)
    if typ == "nest":
        inner = b"".join(encode_spec(s) for s in val.split(",") if s)
        return nla(num, inner)
    return nla(num, encode_value(typ, val))


def parse_attrs(data):
    out = []
    off = 0
    while off + 4 <= len(data):
        alen, atype = struct.unpack_from("=HH", data, off)
        if alen < 4:
            break
        out.append((atype & 0x3fff, data[off + 4:off + alen]))
        off += (alen + 3) & ~3
    return out


class Netlink:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                  NETLINK_GENERIC)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.bind((0, 0))
        self.seq = 1000

    def send(self, msg_type, flags, cmd, version, reserved, payload):
        self.seq += 1
        body = struct.pack("=BBH", cmd, version, reserved) + payload
        hdr = struct.pack("=IHHII", 16 + len(body), msg_type, flags,
                          self.seq, 0)
        self.sock.send(hdr + body)
        return self.seq

    def replies(self, seq):
        """Yield ('msg', cmd, attrs) ... then one ('ack', err, tlvs)."""
        while True:
            data = self.sock.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                mlen, mtype, mflags, mseq, _ = struct.unpack_from("=IHHII",
                                                                  data, off)
                if mlen < 16:
                    return
                msg = data[off:off + mlen]
                off += (mlen + 3) & ~3
                if mseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    err = struct.unpack_from("=i", msg, 16)[0]
                    # nlmsgerr: error, then the original header (its
                    # payload is left out: NETLINK_CAP_ACK), then TLVs
                    tlvs = []
                    if mflags & NLM_F_ACK_TLVS:
                        tlvs = parse_attrs(msg[20 + 16:])
                    yield ("ack", err, tlvs)
                    return
                if mtype == NLMSG_DONE:
                    err = 0
                    if len(msg) >= 20:
                        err = struct.unpack_from("=i", msg, 16)[0]
                    tlvs = []
                    if mflags & NLM_F_ACK_TLVS:
                        tlvs = parse_attrs(msg[20:])
                    yield ("ack", err, tlvs)
                    return
                cmd = msg[16]
                yield ("msg", cmd, parse_attrs(msg[20:]))

    def resolve(self, name):
        seq = self.send(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK,
                        CTRL_CMD_GETFAMILY, 1, 0,
                        nla(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"))
        fam_id = None
        for kind, a, b in self.replies(seq):
            if kind == "msg":
                for atype, val in b:
                    if atype == CTRL_ATTR_FAMILY_ID:
                        fam_id = struct.unpack("=H", val[:2])[0]
            elif a != 0:
                return None
        return fam_id


def fmt_addr(val):
    if len(val) in (4, 16):
        return str(ipaddress.ip_address(val))
    return val.hex()


def fmt_attrs(attrs):
    parts = []
    for atype, val in attrs:
        name = ATTRS[atype] if atype < len(ATTRS) else str(atype)
        typ = ATTR_TYPES.get(name, "hex")
        if typ == "addr":
            s = fmt_addr(val)
        elif typ == "str":
            s = val.rstrip(b"\0").decode(errors="replace")
        elif typ == "stats":
            s = "{" + " ".join(
                "%s=%d" % (STATS[t] if t < len(STATS) else t,
                           struct.unpack("=Q", v[:8])[0])
                for t, v in parse_attrs(val) if len(v) >= 8) + "}"
        elif typ == "prev":
            s = "(" + fmt_attrs(parse_attrs(val)) + ")"
        elif typ in ("u8", "u16", "u32", "u64"):
            width = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}[typ]
            if len(val) == width:
                s = str(int.from_bytes(val, sys.byteorder))
            else:
                s = "0x" + val.hex()
        else:
            s = "0x" + val.hex()
        parts.append("%s=%s" % (name, s))
    return " ".join(parts)


def make_parser():
    ap = argparse.ArgumentParser(
        prog="genl-raw.py",
        description=__doc__.split("\n")[0],
        epilog="See the docstring at the head of this file for details.")
    ap.add_argument("--family-name", default="kubelb",
                    help="generic netlink family to resolve (default kubelb)")
    ap.add_argument("--dump", action="store_true", help="set NLM_F_DUMP")
    ap.add_argument("--replace", action="store_true",
                    help="set NLM_F_REPLACE")
    ap.add_argument("--excl", action="store_true", help="set NLM_F_EXCL")
    ap.add_argument("--create", action="store_true", help="set NLM_F_CREATE")
    ap.add_argument("--nlflags", type=lambda s: int(s, 0), default=0,
                    help="extra nlmsg_flags bits (OR-ed in)")
    ap.add_argument("--version", type=int, default=1,
                    help="genlmsghdr.version (default 1)")
    ap.add_argument("--reserved", type=int, default=0,
                    help="genlmsghdr.reserved (default 0)")
    ap.add_argument("--quiet-replies", action="store_true",
                    help="count reply messages instead of printing them")
    ap.add_argument("--addr-stats", metavar="PREFIX", default=None,
                    help="instead of printing replies, count them: print "
                    "'addr-stats: total=N matched=N distinct=N dups=N' for the "
                    "addresses (as text) starting with PREFIX")
    ap.add_argument("--server", action="store_true",
                    help="read one request a line (the arguments, shell-quoted) "
                    "from stdin; after each answer print '@@ rc=N'")
    ap.add_argument("cmd", nargs="?", help="get|new|del|flush|change or a number")
    ap.add_argument("attrs", nargs="*", help="NAME=TYPE:VALUE")
    return ap


def errname(code):
    # Python maps 95 to ENOTSUP; the kernel calls it EOPNOTSUPP.
    if code == errno.EOPNOTSUPP:
        return "EOPNOTSUPP"
    return errno.errorcode.get(code, "?")


def request(args, out, err):
    """Send one request as described by args; print the answer; return rc."""
    try:
        if args.cmd is None:
            raise Usage("missing command")
        cmd = COMMANDS.get(args.cmd)
        if cmd is None:
            if not args.cmd.isdigit():
                raise Usage("unknown command %r" % args.cmd)
            cmd = int(args.cmd)
        payload = b"".join(encode_spec(s) for s in args.attrs)
    except (Usage, ValueError) as e:
        print("genl-raw: %s" % e, file=err)
        return 2

    nl = Netlink()
    try:
        fam = nl.resolve(args.family_name)
        if fam is None:
            print("genl-raw: generic netlink family %r not found"
                  % args.family_name, file=err)
            return 2

        flags = NLM_F_REQUEST | NLM_F_ACK | args.nlflags
        if args.dump:
            flags |= NLM_F_DUMP
        if args.replace:
            flags |= NLM_F_REPLACE
        if args.excl:
            flags |= NLM_F_EXCL
        if args.create:
            flags |= NLM_F_CREATE

        seq = nl.send(fam, flags, cmd, args.version, args.reserved, payload)
        nmsgs = 0
        rc = 0
        seen = {}
        for kind, a, b in nl.replies(seq):
            if kind == "msg":
                nmsgs += 1
                if args.addr_stats is not None:
                    for atype, val in b:
                        if atype == ATTRS.index("addr"):
                            addr = fmt_addr(val)
                            if addr.startswith(args.addr_stats):
                                seen[addr] = seen.get(addr, 0) + 1
                    continue
                if not args.quiet_replies:
                    print("reply: cmd=%d %s" % (a, fmt_attrs(b)), file=out)
                continue
            if args.quiet_replies:
                print("replies: %d" % nmsgs, file=out)
            if args.addr_stats is not None:
                print("addr-stats: total=%d matched=%d distinct=%d dups=%d" %
                      (nmsgs, sum(seen.values()), len(seen),
                       sum(1 for c in seen.values() if c > 1)), file=out)
            if a == 0:
                print("ok", file=out)
            else:
                rc = 1
                print("error: %d %s" % (a, errname(-a)), file=out)
            for atype, val in b:
                if atype == NLMSGERR_ATTR_MSG:
                    print("extack: %s" % val.rstrip(b"\0").decode(errors="replace"),
                          file=out)
                elif atype == NLMSGERR_ATTR_OFFS and len(val) >= 4:
                    print("extack-offset: %d" % struct.unpack("=I", val[:4])[0],
                          file=out)
                elif atype == NLMSGERR_ATTR_MISS_TYPE and len(val) >= 4:
                    print("miss-type: %d" % struct.unpack("=I", val[:4])[0],
                          file=out)
                elif atype == NLMSGERR_ATTR_MISS_NEST and len(val) >= 4:
                    print("miss-nest: %d" % struct.unpack("=I", val[:4])[0],
                          file=out)
        return rc
    except OSError as e:
        print("genl-raw: %s" % e, file=err)
        return 1 if e.errno == errno.EPERM else 2
    finally:
        nl.sock.close()


def serve(ap):
    """One request per stdin line; answers end with '@@ rc=N'."""
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            args = ap.parse_args(shlex.split(line))
            rc = request(args, sys.stdout, sys.stdout)
        except SystemExit:          # argparse usage error (already printed)
            rc = 2
        except Exception as e:      # keep serving; report the bug
            print("genl-raw: internal error: %r" % (e,))
            rc = 2
        print("@@ rc=%d" % rc)
        sys.stdout.flush()
    return 0


def main():
    ap = make_parser()
    args = ap.parse_args()
    if args.server:
        sys.stderr = sys.stdout
        return serve(ap)
    rc = request(args, sys.stdout, sys.stderr)
    sys.stdout.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main())
