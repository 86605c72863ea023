#!/usr/bin/python3
"""Write hostile ZIP archives for np-import's safety tests into OUTDIR:
traversal.zip (../ entry), absolute.zip (/ entry), symlink.zip (a symlink
entry), device.zip (a character device entry), bomb.zip (64 MiB of zeros in
one entry), many.zip (3000 entries), truncated.zip (a valid ZIP of SRC cut
in half, SRC a folder), notzip.zip (not a ZIP at all).

Usage: make_hostile_zips.py OUTDIR SRC
"""
import os, sys, zipfile

out, src = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
dcm = None
for root, _, names in os.walk(src):
    for n in sorted(names):
        if n.endswith(".dcm"):
            dcm = os.path.join(root, n)
            break
    if dcm:
        break
data = open(dcm, "rb").read()


def mk(name, entries):
    with zipfile.ZipFile(os.path.join(out, name), "w", zipfile.ZIP_DEFLATED) as z:
        for info, payload in entries:
            z.writestr(info, payload)


def special(name, mode):
    zi = zipfile.ZipInfo(name)
    zi.create_system = 3  # unix, so external_attr carries the mode
    zi.external_attr = mode << 16
    return zi


mk("traversal.zip", [("ok.dcm", data), ("../../evil.dcm", data)])
mk("absolute.zip", [("ok.dcm", data), ("/tmp/np-evil-absolute.dcm", data)])
mk("symlink.zip", [("ok.dcm", data), (special("link.dcm", 0o120777), "/etc/passwd")])
mk("device.zip", [("ok.dcm", data), (special("dev.dcm", 0o020644), "")])
with zipfile.ZipFile(os.path.join(out, "bomb.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("bomb.dcm", "w") as f:
        chunk = b"\0" * (1 << 20)
        for _ in range(64):
            f.write(chunk)
with zipfile.ZipFile(os.path.join(out, "many.zip"), "w", zipfile.ZIP_STORED) as z:
    for i in range(3000):
        z.writestr("f%05d.txt" % i, "")
with zipfile.ZipFile(os.path.join(out, "full.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for root, _, names in os.walk(src):
        for n in sorted(names):
            p = os.path.join(root, n)
            z.write(p, os.path.relpath(p, src))
full = open(os.path.join(out, "full.zip"), "rb").read()
open(os.path.join(out, "truncated.zip"), "wb").write(full[: len(full) // 2])
os.unlink(os.path.join(out, "full.zip"))
open(os.path.join(out, "notzip.zip"), "wb").write(b"PK\x03\x04" + os.urandom(4000))
