#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# pdu.py PORT CALLED SCENARIO: a hostile or sloppy DICOM peer for the
# bad-input tests of np-recv. Prints one line with what the SCP answered:
#   "abort" (A-ASSOCIATE-AC then A-ABORT), "closed", "status XXXX" (C-STORE
#   response), "rj R S R" (A-ASSOCIATE-RJ), "pc N R" (context N result R).
import socket
import struct
import sys
import time

MR = "1.2.840.10008.5.1.4.1.1.4"
CT = "1.2.840.10008.5.1.4.1.1.2"
PALETTE = "1.2.840.10008.5.1.4.39.1"
ELE = "1.2.840.10008.1.2.1"
APP = "1.2.840.10008.3.1.1.1"


def item(t, v):
    return struct.pack(">BBH", t, 0, len(v)) + v


def assoc_rq(called, calling, pcs, maxpdu=16384):
    body = struct.pack(">HH", 1, 0) + called.ljust(16).encode() + calling.ljust(16).encode() + b"\0" * 32
    body += item(0x10, APP.encode())
    for pid, asx, tss in pcs:
        sub = item(0x30, asx.encode()) + b"".join(item(0x40, t.encode()) for t in tss)
        body += item(0x20, struct.pack(">BBBB", pid, 0, 0, 0) + sub)
    body += item(0x50, item(0x51, struct.pack(">I", maxpdu)) + item(0x52, b"1.2.3.4"))
    return struct.pack(">BBI", 1, 0, len(body)) + body


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b


def recv_pdu(s):
    h = recv_exact(s, 6)
    if h is None:
        return None, None
    t, _, n = struct.unpack(">BBI", h)
    return t, recv_exact(s, n)


def pdata(pid, mch, data, pdv_len=None):
    pl = len(data) + 2 if pdv_len is None else pdv_len
    pdv = struct.pack(">IBB", pl, pid, mch) + data
    return struct.pack(">BBI", 4, 0, len(pdv)) + pdv


def el_ui(g, e, v):
    v = v.encode()
    if len(v) % 2:
        v += b"\0"
    return struct.pack("<HHI", g, e, len(v)) + v


def el_us(g, e, v):
    return struct.pack("<HHIH", g, e, 2, v)


def command_store(msgid, cls, inst):
    body = el_ui(0, 2, cls) + el_us(0, 0x100, 1) + el_us(0, 0x110, msgid) + el_us(0, 0x700, 0) \
        + el_us(0, 0x800, 0) + el_ui(0, 0x1000, inst)
    return struct.pack("<HHII", 0, 0, 4, len(body)) + body


def ex(g, e, vr, v):
    if len(v) % 2:
        v += b"\0" if vr == "UI" else b" "
    return struct.pack("<HH2sH", g, e, vr.encode(), len(v)) + v


def dataset(inst, study, pad=0):
    d = ex(8, 0x16, "UI", MR.encode()) + ex(8, 0x18, "UI", inst.encode())
    d += ex(0x10, 0x10, "PN", b"Doe^John")
    if study:
        d += ex(0x20, 0x0D, "UI", study.encode())
    d += ex(0x20, 0x0E, "UI", ((study or "1.2.826.0.1.3680043.2.1.8") + ".1").encode()[:64])
    if pad:
        d += struct.pack("<HH2sHI", 0x7FE0, 0x10, b"OW", 0, pad) + b"\0" * pad
    return d


def main():
    port, called, scen = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if scen == "garbage":
        s.sendall(b"\x42" + b"\0" * 9)
        t, _ = recv_pdu(s)
        print("abort" if t == 7 else "closed" if t is None else "pdu %d" % t)
        return
    if scen == "artim":
        t0 = time.time()
        t, _ = recv_pdu(s)
        print("closed after %.0f s" % (time.time() - t0) if t is None else "pdu %d" % t)
        return
    if scen == "truncated-rq":
        rq = assoc_rq(called, "BADPEER", [(1, MR, [ELE])])
        s.sendall(rq[:40])
        s.close()
        print("sent")
        return
    pcs = [(1, MR, [ELE]), (3, "1.2.840.10008.5.1.4.1.2.2.1", [ELE]), (5, MR, ["1.2.3.4.5"])]
    if scen == "palette":
        pcs = [(1, MR, [ELE]), (3, PALETTE, [ELE])]
    s.sendall(assoc_rq(called, "BADPEER", pcs))
    t, body = recv_pdu(s)
    if t == 3:
        print("rj %d %d %d" % (body[1], body[2], body[3]))
        return
    if t != 2:
        print("no AC (%s)" % t)
        return
    if scen in ("contexts", "palette"):
        off, res = 68, []
        while off < len(body):
            it, _, n = struct.unpack_from(">BBH", body, off)
            if it == 0x21:
                res.append("pc %d %d" % (body[off + 4], body[off + 6]))
            off += 4 + n
        print(" ".join(res))
        return
    inst, study = "1.2.826.0.1.3680043.2.1.7.1", "1.2.826.0.1.3680043.2.1.7"
    if scen == "biglen":
        s.sendall(struct.pack(">BBI", 4, 0, 1 << 30) + b"\0" * 64)
    elif scen == "pdvlen":
        s.sendall(pdata(1, 3, command_store(1, MR, inst), pdv_len=5000))
    elif scen == "badpc":
        s.sendall(pdata(3, 3, command_store(1, MR, inst)))
    elif scen == "truncated-pdu":
        p = pdata(1, 3, command_store(1, MR, inst))
        s.sendall(p[:len(p) - 10])
        s.close()
        print("sent")
        return
    elif scen in ("mismatch", "store", "unsafe", "vanish", "big", "slow", "nostudy", "wrongclass"):
        ds_inst = "1.2.826.0.1.3680043.2.1.7.999" if scen == "mismatch" else inst
        st = "../../../etc/evil" if scen == "unsafe" else None if scen == "nostudy" else study
        ds = dataset(ds_inst, st, pad=4 << 20 if scen in ("vanish", "big") else 0)
        s.sendall(pdata(1, 3, command_store(1, CT if scen == "wrongclass" else MR, inst)))
        chunk = 16000
        chunks = [ds[i:i + chunk] for i in range(0, len(ds), chunk)]
        if scen == "vanish":
            chunks = chunks[:len(chunks) // 2]
        for i, c in enumerate(chunks):
            last = i == len(chunks) - 1 and scen != "vanish"
            if scen == "slow" and last:
                time.sleep(1.5)  # the test stops np-recv meanwhile
            s.sendall(pdata(1, 2 if last else 0, c))
        if scen == "vanish":
            time.sleep(0.2)
            s.close()
            print("vanished")
            return
    t, body = recv_pdu(s)
    if t == 7:
        print("abort")
    elif t is None:
        print("closed")
    elif t == 4:
        cmd = body[6:]
        off, status = 0, None
        while off + 8 <= len(cmd):
            g, e, n = struct.unpack_from("<HHI", cmd, off)
            if e == 0x900:
                status = struct.unpack_from("<H", cmd, off + 8)[0]
            off += 8 + n
        if scen == "slow":
            t2, _ = recv_pdu(s)
            print("status %04x then %s" % (status, "abort" if t2 == 7 else t2))
            return
        print("status %04x" % status)
        s.sendall(struct.pack(">BBIxxxx", 5, 0, 4))
        recv_pdu(s)
    else:
        print("pdu %d" % t)


if __name__ == "__main__":
    main()
