#!/usr/bin/python3
"""Independent check (pydicom) of a de-identified copy against its original.

Usage: check_deid.py IN OUT [--canaries FILE] [--remove-dates] [--old-age] [--range DAYS]
Prints one "problem: ..." line per finding (tag numbers only) and exits 1 if
any; prints "ok N files offset D" otherwise.
"""
import argparse, datetime, os, struct, sys
import pydicom

REMOVED = [  # (tag, what) that must be absent or empty at every depth
    0x00100010, 0x00101001, 0x00101005, 0x00101060, 0x00102297, 0x00102298, 0x00080090, 0x00081048,
    0x00081050, 0x00081060, 0x00081070, 0x00321032, 0x00400006, 0x00101040, 0x00101080, 0x00101081,
    0x00101090, 0x00080080, 0x00080081, 0x00081010, 0x00081040, 0x00321060, 0x00080092, 0x00102154,
    0x00102155, 0x00080094, 0x00100020, 0x00101000, 0x00101002, 0x00100021, 0x00200010, 0x00402016,
    0x00402017, 0x00080050, 0x04000561, 0x00081120, 0x00081080, 0x001021B0, 0x00102000, 0x00102110,
    0x00104000, 0x00102180, 0x00380010, 0x00081190, 0x00080055, 0x00400253, 0x00401001, 0x00400009,
    0x00880200, 0x00401002,
]
KEEP_PRIVATE = [(0x0019, "SIEMENS MR HEADER", 0x0C), (0x0019, "SIEMENS MR HEADER", 0x0D),
                (0x0019, "SIEMENS MR HEADER", 0x0E), (0x0029, "SIEMENS CSA HEADER", 0x10)]
PLACEHOLDERS = ["[URL_REMOVED]", "[IP_ADDRESS_REMOVED]", "[SSN_REMOVED]", "[PHONE_REMOVED]",
                "[EMAIL_REMOVED]", "[MRN_REMOVED]", "[ACCOUNT_REMOVED]"]

problems = []


def problem(msg):
    problems.append(msg)
    print("problem: " + msg)


def files(d):
    return sorted(os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs if f != "manifest.json")


def walk(ds, depth=0):
    for el in ds:
        yield el, depth
        if el.VR == "SQ":
            for it in el.value:
                yield from walk(it, depth + 1)


# the diffusion allow-list of np-deid(1): (group, creator prefix) -> element bytes
ALLOWED_PRIVATE = {(0x0019, "GEMS_ACQU_01"): {0xBB, 0xBC, 0xBD, 0xE0}, (0x0043, "GEMS_PARM_01"): {0x39},
                   (0x0019, "SIEMENS MR HEADER"): {0x0A, 0x0C, 0x0D, 0x0E, 0x27},
                   (0x0029, "SIEMENS CSA HEADER"): {0x10, 0x20}, (0x2001, "Philips Imaging DD 001"): {0x03, 0x04},
                   (0x2005, "Philips MR Imaging DD 001"): {0xB0, 0xB1, 0xB2},
                   (0x2005, "Philips MR Imaging DD 0"): {0x15, 0x99}}


def stray_private(ds):
    for el in ds:
        g, e = el.tag.group, el.tag.element
        if g % 2 and e > 0xFF:
            ct = (g << 16) | (e >> 8)
            cr = str(ds[ct].value).strip() if ct in ds else ""
            if not any(g == ag and cr.startswith(acr) and (e & 0xFF) in es
                       for (ag, acr), es in ALLOWED_PRIVATE.items()):
                yield el.tag
        if el.VR == "SQ":
            for it in el.value:
                yield from stray_private(it)


def private(ds, group, creator, elem):
    for blk in range(0x10, 0x100):
        t = (group << 16) | blk
        if t in ds and str(ds[t].value).strip() == creator:
            t2 = (group << 16) | (blk << 8) | elem
            return ds[t2] if t2 in ds else None
    return None


def csa_blobs(ds):
    """The Siemens CSA image and series headers (0029,xx10/xx20) of ds."""
    out = []
    for blk in range(0x10, 0x100):
        t = (0x0029 << 16) | blk
        if t in ds and str(ds[t].value).strip(" \0") == "SIEMENS CSA HEADER":
            for e in (0x10, 0x20):
                t2 = (0x0029 << 16) | (blk << 8) | e
                if t2 in ds and isinstance(ds[t2].value, bytes):
                    out.append((t2, ds[t2].value))
    return out


def csa_stale(blob):
    """Text a CSA2 ('SV10') header carries after the NUL that ends an element
    name or an item value: what the scanner's buffers held before (the
    station name, the site), never read by a CSA reader."""
    found = set()
    if blob[:4] != b"SV10" or len(blob) < 16:
        return found
    n, pos = struct.unpack_from("<I", blob, 8)[0], 16
    for _ in range(min(n, 512)):
        if pos + 84 > len(blob):
            break
        found.update(blob[pos:pos + 64].split(b"\0")[1:])
        nitems = struct.unpack_from("<i", blob, pos + 76)[0]
        pos += 84
        for _ in range(max(0, min(nitems, 1024))):
            if pos + 16 > len(blob):
                break
            ln = struct.unpack_from("<i", blob, pos)[0]
            val = blob[pos + 16:pos + 16 + max(0, ln)]
            found.update(val.split(b"\0")[1:])
            pos += 16 + max(0, ln) + (4 - max(0, ln) % 4) % 4
    return {f.strip() for f in found if len(f.strip()) >= 4}


def ascconv(blob):
    """key -> value of the ASCCONV block in a CSA series header's protocol."""
    out, on = {}, False
    for line in blob.decode("latin-1").splitlines():
        if "### ASCCONV BEGIN" in line:
            on = True
        elif "### ASCCONV END" in line:
            on = False
        elif on and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def days(da):
    return datetime.date(int(da[:4]), int(da[4:6]), int(da[6:8]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--canaries")
    ap.add_argument("--remove-dates", action="store_true")
    ap.add_argument("--old-age", action="store_true")
    ap.add_argument("--range", type=int, default=365)
    a = ap.parse_args()
    ins = {}
    for p in files(a.inp):
        try:
            ds = pydicom.dcmread(p)
        except Exception:
            continue
        ins[(int(ds.SeriesNumber), int(ds.InstanceNumber))] = (p, ds)
    outs = {}
    for p in files(a.out):
        ds = pydicom.dcmread(p)
        outs[(int(ds.SeriesNumber), int(ds.InstanceNumber))] = (p, ds)
    if len(ins) != len(outs) or set(ins) != set(outs):
        problem("file count in %d out %d" % (len(ins), len(outs)))
    canaries = []
    if a.canaries:
        canaries = [l.strip().encode() for l in open(a.canaries) if l.strip()]
    new_sop = {}
    for k, (p, ds) in ins.items():
        if k in outs:
            new_sop[ds.SOPInstanceUID] = outs[k][1].SOPInstanceUID
    studies, series_map, offsets, sops = set(), {}, set(), set()
    for k, (ip, i) in ins.items():
        if k not in outs:
            continue
        op, o = outs[k]
        raw = open(op, "rb").read()
        for c in canaries:
            if c.lower() in raw.lower():
                problem("canary %d survived in %s" % (canaries.index(c), k))
        if b"QZX" in raw.upper().replace(b"QZXI", b""):
            pos = raw.upper().find(b"QZX")
            problem("QZX marker survived in %s near byte %d" % (k, pos))
        # the Siemens CSA headers: no stale text of the input's, nor its
        # station or institution name, may be in the output's
        site = {str(i.get(k, "")).strip().encode("latin-1") for k in ("StationName", "InstitutionName")}
        secret = {x for x in site if len(x) >= 4}
        for _, blob in csa_blobs(i):
            secret |= csa_stale(blob)
        for t, blob in csa_blobs(o):
            for x in sorted(secret):
                if x.lower() in blob.lower():
                    problem("CSA header (%04X,%04X) keeps %s text of the input in %s"
                            % (t >> 16, t & 0xFFFF, "site" if x in site else "stale", k))
        if i.PixelData != o.PixelData:
            problem("pixel data differs %s" % (k,))
        if i.SOPClassUID != o.SOPClassUID:
            problem("SOP class differs %s" % (k,))
        if i.file_meta.TransferSyntaxUID != o.file_meta.TransferSyntaxUID:
            problem("transfer syntax differs %s" % (k,))
        if o.file_meta.MediaStorageSOPInstanceUID != o.SOPInstanceUID:
            problem("media storage SOP UID != SOP UID %s" % (k,))
        if o.SOPInstanceUID == i.SOPInstanceUID or o.StudyInstanceUID == i.StudyInstanceUID:
            problem("UIDs not replaced %s" % (k,))
        if o.SOPInstanceUID in sops:
            problem("duplicate new SOP UID")
        sops.add(o.SOPInstanceUID)
        studies.add(o.StudyInstanceUID)
        series_map.setdefault(i.SeriesInstanceUID, set()).add(o.SeriesInstanceUID)
        if o.FrameOfReferenceUID == i.FrameOfReferenceUID:
            problem("frame of reference not replaced")
        if o.PatientSex != i.PatientSex:
            problem("sex not kept")
        want_age = "090Y" if a.old_age else i.PatientAge
        if o.PatientAge != want_age:
            problem("age %s" % o.PatientAge)
        if o.get("PatientIdentityRemoved") != "YES":
            problem("(0012,0062) not YES")
        codes = [it.CodeValue for it in o.get("DeidentificationMethodCodeSequence", [])]
        if "113100" not in codes:
            problem("(0012,0064) lacks 113100")
        ltm = o.get("LongitudinalTemporalInformationModified")
        if ltm != ("REMOVED" if a.remove_dates else "MODIFIED"):
            problem("(0028,0303) is %s" % ltm)
        if "DeidentificationMethod" not in o:
            problem("(0012,0063) missing")
        # every removed attribute at every depth
        for el, depth in walk(o):
            t = int(el.tag)
            if t == 0x00101040 and el.value and not (len(el.value) == 5 and el.value.endswith("00")):
                problem("address not masked")
            elif t in REMOVED and t != 0x00101040 and el.VR != "SQ" and el.value not in (None, "", b""):
                problem("(%04X,%04X) kept at depth %d" % (el.tag.group, el.tag.elem, depth))
            if t in REMOVED and el.VR == "SQ" and t not in (0x00400275,) and len(el.value):
                problem("sequence (%04X,%04X) kept at depth %d" % (el.tag.group, el.tag.elem, depth))
            if el.VR == "PN" and el.value not in (None, ""):
                problem("person name (%04X,%04X) at depth %d" % (el.tag.group, el.tag.elem, depth))
            if el.tag.group in range(0x5000, 0x5100) or el.tag.group in range(0x6000, 0x6100):
                problem("curve/overlay (%04X,%04X)" % (el.tag.group, el.tag.elem))
            if el.VR == "UI" and el.tag != 0x00080016 and el.tag != 0x00081150 and el.value:
                for u in str(el.value).split("\\"):
                    if u.startswith("1.2.840.10008."):
                        continue
                    if not u.startswith("2.25."):
                        problem("UID (%04X,%04X) not pseudonymous" % (el.tag.group, el.tag.elem))
            if el.VR in ("DA", "DT", "TM") and a.remove_dates and el.value not in (None, ""):
                problem("date/time (%04X,%04X) kept at depth %d" % (el.tag.group, el.tag.elem, depth))
        # dates: one offset everywhere, nested too
        if not a.remove_dates:
            for (ie, idp), (oe, odp) in zip(walk(i), walk(o)):
                pass
            if o.StudyDate and i.StudyDate:
                off = (days(o.StudyDate) - days(i.StudyDate)).days
                offsets.add(off)
                if o.get("PatientBirthDate") and (days(o.PatientBirthDate) - days(i.PatientBirthDate)).days != off:
                    problem("birth date shifted differently")
                if o.get("StudyTime") != i.get("StudyTime"):
                    problem("time changed while shifting")
            for el, depth in walk(o):
                if el.VR == "DA" and el.value and depth > 0:
                    pass
        # free text placeholders
        if "ImageComments" in o:
            for ph in PLACEHOLDERS:
                if ph not in o.ImageComments:
                    problem("ImageComments lacks %s" % ph)
        # references stay valid: nested (0008,1155) point at the new SOP of the target
        for (ie, _), (oe, _) in zip(walk(i), walk(o)):
            pass
        if "ReferencedImageSequence" in i and "ReferencedImageSequence" in o:
            ir = i.ReferencedImageSequence[0].ReferencedSOPInstanceUID
            orf = o.ReferencedImageSequence[0].ReferencedSOPInstanceUID
            if ir in new_sop and new_sop[ir] != orf:
                problem("Referenced SOP Instance UID does not follow the map")
        # diffusion-critical private elements byte for byte
        for g, cr, e in KEEP_PRIVATE:
            ie, oe = private(i, g, cr, e), private(o, g, cr, e)
            if cr == "SIEMENS CSA HEADER" and ie is not None:
                # rebuilt from an allow-list, not kept as bytes: the diffusion
                # values must read the same with nibabel's own CSA reader
                from nibabel.nicom import csareader
                it = csareader.read(ie.value)["tags"]
                ot = csareader.read(oe.value)["tags"] if oe is not None else {}
                for name in ("B_value", "DiffusionGradientDirection", "SliceNormalVector"):
                    if it.get(name, {}).get("items") and ot.get(name, {}).get("items") != it[name]["items"]:
                        problem("CSA %s not kept" % name)
                # the series header's protocol: its numeric ASCCONV lines
                # (the diffusion scheme, k-space) kept, its name gone
                ise, ose = private(i, g, cr, 0x20), private(o, g, cr, 0x20)
                if ise is not None:
                    ia, oa = ascconv(ise.value), ascconv(ose.value) if ose is not None else {}
                    for key, v in ia.items():
                        if key.startswith(("sDiffusion", "sKSpace")) and oa.get(key) != v:
                            problem("CSA series header %s not kept" % key)
                    if "tProtocolName" in oa:
                        problem("CSA series header keeps tProtocolName")
                continue
            if ie is not None and (oe is None or oe.value != ie.value):
                problem("private (%04X,%s,%02X) not kept" % (g, cr, e))
        # and no other private element, at any depth
        for tag in stray_private(o):
            problem("private element %s kept" % tag)
    if len(studies) != 1:
        problem("%d study UIDs" % len(studies))
    if any(len(v) != 1 for v in series_map.values()) or len(set().union(*series_map.values())) != len(series_map):
        problem("series mapping not 1:1")
    if not a.remove_dates:
        if len(offsets) != 1:
            problem("offsets %s" % sorted(offsets))
        elif 0 in offsets or abs(next(iter(offsets))) > a.range:
            problem("offset out of range")
    if problems:
        sys.exit(1)
    print("ok %d files offset %s" % (len(outs), next(iter(offsets)) if offsets else "-"))


if __name__ == "__main__":
    main()
