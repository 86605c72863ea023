#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# slow_rq.py PORT CALLED SRC N MODE INTERVAL MAX [READY]: N slow DICOM peers
# from address SRC (any 127.x.y.z works on Linux loopback), for the
# denial-of-service tests of np-recv:
#   trickle  send an A-ASSOCIATE-RQ one byte every INTERVAL s
#   retrickle  the same, and connect again (0.5 s later) each time one is
#            cut off, until MAX s
#   tls      send a TLS ClientHello one byte every INTERVAL s
#   pdata    send the A-ASSOCIATE-RQ at once, then a P-DATA PDU (4 KiB
#            announced) one byte every INTERVAL s
#   hold     associate, stay idle INTERVAL s, release
# Writes READY (when given) once every connection is made, and stops after
# MAX s. Prints one line per connection: "I RESULT SECONDS" with RESULT
#   rj-R-S-R  A-ASSOCIATE-RJ (result, source, reason)
#   abort     A-ABORT;  closed  EOF or reset;  released  A-RELEASE-RP
#   open      still open after MAX s;  ac  accepted (trickle: unexpected)
import os
import select
import ssl
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pdu import ELE, MR, assoc_rq  # noqa: E402  (the A-ASSOCIATE-RQ builder of the bad-input peer)


def main():
    port, called, src, n, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    interval, maxs = float(sys.argv[6]), float(sys.argv[7])
    ready = sys.argv[8] if len(sys.argv) > 8 else None
    rq = assoc_rq(called, "SLOWPEER", [(1, MR, [ELE])])
    if mode == "tls":
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        out = ssl.MemoryBIO()
        tls = ctx.wrap_bio(ssl.MemoryBIO(), out)
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        rq, mode = out.read(), "trickle"
    pdata = struct.pack(">BBI", 4, 0, 4096) + b"\0" * 4096
    again = mode == "retrickle"
    if again:
        mode = "trickle"

    def connect(i):
        s = socket.socket()
        s.bind((src, 0))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        c = {"i": i, "s": s, "t": time.time(), "sent": 0, "next": time.time(), "res": None, "buf": b"",
             "phase": "rq"}
        if mode != "trickle":
            s.sendall(rq)
            c["sent"] = len(rq)
            c["phase"] = "ac"
        return c

    conns = []
    redo = []  # (when, i): connections to make again (retrickle)
    t0 = time.time()
    for i in range(n):
        conns.append(connect(i))
    if ready:
        with open(ready + ".tmp", "w") as f:
            f.write("%d\n" % n)
        os.rename(ready + ".tmp", ready)
    while time.time() - t0 < maxs and (redo or any(c["res"] is None for c in conns)):
        now = time.time()
        for w in [w for w in redo if w[0] <= now]:
            redo.remove(w)
            try:
                conns.append(connect(w[1]))
            except OSError:
                redo.append((now + 0.5, w[1]))
        live = [c for c in conns if c["res"] is None]
        r, _, _ = select.select([c["s"] for c in live], [], [], 0.1)
        for c in live:
            if c["s"] in r:
                try:
                    b = c["s"].recv(4096)
                except OSError:
                    b = b""
                if not b:
                    c["res"] = "closed"
                else:
                    c["buf"] += b
                    t = c["buf"][0]
                    if t == 3 and len(c["buf"]) >= 10:
                        c["res"] = "rj-%d-%d-%d" % tuple(c["buf"][7:10])
                    elif t == 7:
                        c["res"] = "abort"
                    elif t == 6:
                        c["res"] = "released"
                    elif t == 2 and len(c["buf"]) >= 6 and len(c["buf"]) >= 6 + struct.unpack(">I", c["buf"][2:6])[0]:
                        c["buf"] = c["buf"][6 + struct.unpack(">I", c["buf"][2:6])[0]:]
                        if mode == "trickle":
                            c["res"] = "ac"
                        elif mode == "pdata":
                            c["phase"], c["sent"], c["next"] = "pdata", 0, now
                        else:
                            c["phase"], c["next"] = "hold", now + interval
                if c["res"]:
                    c["dt"] = time.time() - c["t"]
                    c["s"].close()
                    if again:
                        redo.append((time.time() + 0.5, c["i"]))
                    continue
            try:
                if c["phase"] == "rq" and now >= c["next"] and c["sent"] < len(rq):
                    c["s"].send(rq[c["sent"]:c["sent"] + 1])
                    c["sent"] += 1
                    c["next"] = now + interval
                elif c["phase"] == "pdata" and now >= c["next"] and c["sent"] < len(pdata):
                    c["s"].send(pdata[c["sent"]:c["sent"] + 1])
                    c["sent"] += 1
                    c["next"] = now + interval
                elif c["phase"] == "hold" and now >= c["next"]:
                    c["s"].send(struct.pack(">BBIi", 5, 0, 4, 0))
                    c["phase"] = "release"
            except OSError:
                c["res"], c["dt"] = "closed", time.time() - c["t"]
                c["s"].close()
                if again:
                    redo.append((time.time() + 0.5, c["i"]))
    for c in conns:
        if c["res"] is None:
            c["res"], c["dt"] = "open", time.time() - c["t"]
            c["s"].close()
        print("%d %s %.1f" % (c["i"], c["res"], c["dt"]))


if __name__ == "__main__":
    main()
