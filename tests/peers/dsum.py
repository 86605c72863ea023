#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# dsum.py FILE...: one line per Part 10 file, "<SOPInstanceUID> <sha256 of
# the data set bytes after the file meta header> <transfer syntax>", sorted.
# Used to check that np-recv stored every data set byte-identical to what
# the sender had. A deflated data set is hashed inflated: senders such as
# storescu re-deflate it on the wire with their own compression level.
import hashlib
import struct
import sys
import zlib

LONG = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


def meta(b):
    if b[128:132] != b"DICM":
        raise SystemExit("not Part 10")
    off, vals = 132, {}
    while off + 8 <= len(b):
        g, e = struct.unpack_from("<HH", b, off)
        if g != 2:
            break
        vr = b[off + 4:off + 6]
        if vr in LONG:
            ln = struct.unpack_from("<I", b, off + 8)[0]
            hl = 12
        else:
            ln = struct.unpack_from("<H", b, off + 6)[0]
            hl = 8
        vals[e] = b[off + hl:off + hl + ln].rstrip(b"\0 ").decode("latin-1")
        off += hl + ln
    return vals, off


out = []
for f in sys.argv[1:]:
    b = open(f, "rb").read()
    m, off = meta(b)
    ds = b[off:]
    if m.get(0x10) == "1.2.840.10008.1.2.1.99":
        ds = zlib.decompressobj(-15).decompress(ds)
    out.append("%s %s %s" % (m.get(3, "?"), hashlib.sha256(ds).hexdigest(), m.get(0x10, "?")))
print("\n".join(sorted(out)))
