#!/usr/bin/python3
"""Edit a generated study in place to make QC pass/fail cases.

Usage: qc_variant.py DIR [options]
  --only SUBSTR          touch only files whose SeriesDescription contains SUBSTR
  --set GGGG,EEEE=VALUE  set a public element (VR from the dictionary), repeatable
  --del GGGG,EEEE        delete an element, repeatable
  --private GGGG,CREATOR,EE,VR,VALUE  set a private element (block allocated), repeatable
  --ts UID               rewrite the transfer syntax UID in the meta header
  --sop UID              set SOP Class UID (and MediaStorageSOPClassUID)
  --strip-diffusion      remove every diffusion indicator (standard, private, ImageType)
  --flat OUT             also copy every file flat into OUT (named NNNNN.dcm)
"""
import argparse
import struct, os, shutil
import pydicom
from pydicom.tag import Tag
from pydicom.encaps import encapsulate


def tag(s):
    g, e = s.split(",")
    return Tag(int(g, 16), int(e, 16))


def files(d):
    for root, _, names in os.walk(d):
        for n in sorted(names):
            if n.endswith(".dcm"):
                yield os.path.join(root, n)


JPEG2000_LOSSLESS = "1.2.840.10008.1.2.4.90"


def relabel_ts(path, uid):
    """Name a syntax pydicom does not know (HTJ2K...) in a saved file's meta
    header: pydicom refuses to write it, so the file is written as JPEG 2000
    and its (0002,0010) and group length rewritten here."""
    b = open(path, "rb").read()
    at = b.index(b"\x02\x00\x10\x00UI", 132)
    old_len = struct.unpack("<H", b[at + 6:at + 8])[0]
    v = uid.encode() + (b"\0" if len(uid) % 2 else b"")
    b = b[:at + 6] + struct.pack("<H", len(v)) + v + b[at + 8 + old_len:]
    gl = struct.unpack("<I", b[140:144])[0] + len(v) - old_len
    b = b[:140] + struct.pack("<I", gl) + b[144:]
    open(path, "wb").write(b)


ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--only")
ap.add_argument("--set", action="append", default=[])
ap.add_argument("--del", dest="delete", action="append", default=[])
ap.add_argument("--private", action="append", default=[])
ap.add_argument("--ts")
ap.add_argument("--sop")
ap.add_argument("--strip-diffusion", action="store_true")
ap.add_argument("--flat")
a = ap.parse_args()

n = 0
for f in list(files(a.dir)):
    ds = pydicom.dcmread(f)
    if a.only and a.only not in str(ds.get("SeriesDescription", "")):
        continue
    for s in a.set:
        k, v = s.split("=", 1)
        t = tag(k)
        vr = pydicom.datadict.dictionary_VR(t)
        ds.add_new(t, vr, v)
    for k in a.delete:
        t = tag(k)
        if t in ds:
            del ds[t]
    for p in a.private:
        g, creator, el, vr, v = p.split(",", 4)
        blk = ds.private_block(int(g, 16), creator, create=True)
        blk.add_new(int(el, 16), vr, v)
    if a.sop:
        ds.SOPClassUID = a.sop
        ds.file_meta.MediaStorageSOPClassUID = a.sop
    if a.strip_diffusion:
        for t in [(0x0018, 0x9087), (0x0018, 0x9089), (0x0018, 0x9075), (0x0018, 0x9117), (0x0029, 0x1010),
                  (0x0029, 0x0010)]:
            if Tag(*t) in ds:
                del ds[Tag(*t)]
        for el in list(ds.keys()):
            if el.group == 0x0019:
                del ds[el]
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    if a.ts:
        ds.file_meta.TransferSyntaxUID = a.ts if a.ts in pydicom.uid.UID_dictionary else JPEG2000_LOSSLESS
        # pydicom 2.3 does not know syntaxes newer than itself (HTJ2K):
        # every syntax but these four encapsulates its pixel data.
        native = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99")
        if a.ts not in native and "PixelData" in ds:
            # fake compressed frames: only the header matters to QC
            ds.PixelData = encapsulate([bytes(ds.PixelData)])
            ds["PixelData"].is_undefined_length = True
    ds.save_as(f)
    if a.ts and a.ts not in pydicom.uid.UID_dictionary:
        relabel_ts(f, a.ts)
    n += 1
if a.flat:
    os.makedirs(a.flat, exist_ok=True)
    for i, f in enumerate(files(a.dir)):
        shutil.copy(f, os.path.join(a.flat, "%05d.dcm" % (i + 1)))
print(n)
