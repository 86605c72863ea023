#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Independent check of np-deid on real DICOM files (pydicom, nibabel, dciodvfy).

Usage: check_deid_real.py ORIG OUT          one original file (or folder) and np-deid's OUT
       check_deid_real.py --corpus DIR      every case of realdata_corpus.py's DIR, with the
                                            np-deid exit codes in DIR/results.tsv

It shares no code with the C engine. A finding is an original identifying value,
a non-standard UID or an unshifted date still in the output (per element, after
decoding elements encoded as UN, and as raw bytes outside pixel data), an
inconsistent meta header, a missing Patient Identity Removed, changed pixel
data, a Siemens CSA header still holding an identifying string, lost diffusion
parameters, or a dciodvfy error the input did not have.

Pair mode prints "finding: ..." lines and exits 1 if any. Corpus mode prints
the table and every finding, and writes DIR/summary.txt (key=value lines:
cases, accepted, findings, leaking, new_dciodvfy, must_not_accepted,
unexpected_refused) for the test to assert on.
"""
import json, os, re, struct, subprocess, sys, tempfile, warnings, zlib

warnings.simplefilter("ignore")
import pydicom
from pydicom.charset import encode_string
from pydicom.tag import Tag

pydicom.config.replace_un_with_known_vr = True  # the default; this check depends on it
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
try:
    from nibabel.nicom import csareader
except Exception:  # nibabel missing: the diffusion check reports it
    csareader = None

IDENT = {  # tag -> keyword of the identifying attributes (PN values are added at any tag)
    0x00100010: "PatientName", 0x00100020: "PatientID", 0x00100021: "IssuerOfPatientID",
    0x00101000: "OtherPatientIDs", 0x00101001: "OtherPatientNames", 0x00100030: "PatientBirthDate",
    0x00101005: "PatientBirthName", 0x00101060: "PatientMotherBirthName", 0x00101040: "PatientAddress",
    0x00102154: "PatientTelephoneNumbers", 0x00102155: "PatientTelecomInformation",
    0x00080080: "InstitutionName", 0x00080081: "InstitutionAddress", 0x00081040: "InstitutionalDepartmentName",
    0x00081010: "StationName", 0x00181000: "DeviceSerialNumber", 0x00080090: "ReferringPhysicianName",
    0x00080092: "ReferringPhysicianAddress", 0x00080094: "ReferringPhysicianTelephoneNumbers",
    0x00081050: "PerformingPhysicianName", 0x00081060: "NameOfPhysiciansReadingStudy",
    0x00081070: "OperatorsName", 0x00321032: "RequestingPhysician", 0x00081048: "PhysiciansOfRecord",
    0x00102297: "ResponsiblePerson", 0x00080050: "AccessionNumber", 0x00200010: "StudyID",
    0x00401001: "RequestedProcedureID", 0x00400009: "ScheduledProcedureStepID", 0x00400253: "PerformedProcedureStepID",
}
# UI attributes that name a class, a syntax or a coding scheme, not an instance
CLASS_UIDS = {0x00020002, 0x00020010, 0x00020012, 0x00080016, 0x00081150, 0x00041510, 0x00041512, 0x0008010C,
              0x00080117, 0x0008001A, 0x0008001B, 0x00080062, 0x04000010, 0x00020100}
# values that identify no one
PLACEHOLDERS = {"anonymous", "anonymized", "anonymised", "anon", "unknown", "none", "n/a", "removed", "noname"}
TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"}
MIN_ELEM, MIN_RAW, MIN_UID_RAW = 3, 6, 10
CSA = "SIEMENS CSA HEADER"


def load(path):
    ds = pydicom.dcmread(path, force=True)
    for _ in ds.iterall():  # convert every raw element now (UN of standard tags included)
        pass
    return ds


def walk(ds, path=()):
    """Yield (path, element); path is ((tag, item index), ...) of the enclosing sequences."""
    for el in ds:
        yield path, el
        if el.VR == "SQ":
            for i, it in enumerate(el.value or []):
                yield from walk(it, path + ((el.tag, i),))


def strvals(el):
    v = el.value
    if v is None:
        return []
    vs = list(v) if isinstance(v, (list, tuple, pydicom.multival.MultiValue)) else [v]
    out = []
    for x in vs:
        if isinstance(x, bytes):
            x = x.decode("latin-1", "replace")
        s = str(x).strip(" \0")
        if s:
            out.append(s)
    return out


def trivial(s):
    t = s.strip(" \0^=").lower()
    return len(t) < MIN_ELEM or t in PLACEHOLDERS or len(set(t) - set(" ^=.-0")) == 0


def tagname(t):
    t = Tag(t)
    kw = pydicom.datadict.keyword_for_tag(t) or "private"
    return "(%04X,%04X) %s" % (t.group, t.element, kw)


def charsets(ds):
    return getattr(ds, "_character_set", None) or ["iso8859"]


def raw_forms(s, encs):
    forms = {s.encode("utf-8", "ignore")}
    try:
        forms.add(encode_string(s, encs))
    except Exception:
        pass
    return {f for f in forms if f}


def raw_body(path):
    """The file's bytes with a deflated data set inflated."""
    b = open(path, "rb").read()
    if b[128:132] == b"DICM" and b"1.2.840.10008.1.2.1.99" in b[132:1024]:
        glen = int.from_bytes(b[140:144], "little")
        end = 144 + glen
        try:
            return b[:end] + zlib.decompress(b[end:], -15)
        except zlib.error:
            pass
    return b


def creator_blocks(ds, group, creator):
    out = []
    for blk in range(0x10, 0x100):
        t = (group << 16) | blk
        if t in ds and str(ds[t].value).strip(" \0") == creator:
            out.append(blk)
    return out


def csa_blobs(ds):
    """(tag, bytes) of the Siemens CSA image and series headers at the top level."""
    out = []
    for blk in creator_blocks(ds, 0x0029, CSA):
        for e in (0x10, 0x20):
            t = (0x0029 << 16) | (blk << 8) | e
            if t in ds and isinstance(ds[t].value, (bytes, bytearray)):
                out.append((t, bytes(ds[t].value)))
    return out


class Orig:
    """What an original file holds that must not reach the output."""

    def __init__(self, path):
        self.path = path
        self.ds = load(path)
        encs = charsets(self.ds)
        self.ident = {}  # value -> source keyword
        self.uids = set()
        self.class_uids = set()
        self.dates = {}  # (path, tag) -> value
        els = list(walk(self.ds.file_meta, ())) if hasattr(self.ds, "file_meta") else []
        els += list(walk(self.ds))
        for p, el in els:
            t = int(el.tag)
            if el.VR == "UI":
                for u in strvals(el):
                    (self.class_uids if t in CLASS_UIDS else self.uids).add(u)
            elif el.VR in ("DA", "DT"):
                v = "".join(strvals(el))
                if len(v) >= 6 and v.strip("0 "):
                    self.dates[(p, t)] = v
            if t in IDENT or el.VR == "PN":
                kw = IDENT.get(t) or "PN " + tagname(t)
                for v in strvals(el):
                    if not trivial(v):
                        self.ident.setdefault(v, kw)
        self.uids = {u for u in self.uids - self.class_uids
                     if not u.startswith("1.2.840.10008.") and len(u) >= 5 and "." in u}
        self.raw_ident = {}  # bytes -> keyword, for values long enough to search as bytes
        for v, kw in self.ident.items():
            parts = {v} | (set(re.split(r"[\^=]", v)) if "^" in v or "=" in v else set())
            for s in parts:
                s = s.strip()
                if len(s) >= MIN_RAW and s.lower() not in PLACEHOLDERS:
                    for f in raw_forms(s, encs):
                        self.raw_ident.setdefault(f, kw)
        self.pixels = {t: bytes(self.ds[t].value) for t in (0x7FE00010, 0x7FE00008, 0x7FE00009)
                       if t in self.ds and self.ds[t].value is not None}


def benign_strings(ds):
    """Kept by design and naming no one: manufacturer, model, software, private creators."""
    out = []
    for t in (0x00080070, 0x00081090, 0x00181020, 0x00020013):
        if t in ds:
            out += strvals(ds[t])
    for el in ds:
        if el.tag.is_private and el.tag.element < 0x100 and el.tag.element >= 0x10:
            out += strvals(el)
    if hasattr(ds, "file_meta") and 0x00020013 in ds.file_meta:
        out += strvals(ds.file_meta[0x00020013])
    return [s.lower() for s in out]


def find_uid(buf, u):
    for m in re.finditer(re.escape(u.encode()), buf):
        a, b = m.start(), m.end()
        if (a == 0 or buf[a - 1:a] not in b"0123456789.") and (b >= len(buf) or buf[b:b + 1] not in b"0123456789"):
            return True
    return False


def diffusion(ds):
    """[(source, b, g or None)] from every place a b-value can be."""
    out = []
    if csareader is not None:
        try:
            csa = csareader.get_csa_header(ds, "image")
            if csa and "B_value" in csa["tags"] and csa["tags"]["B_value"]["n_items"]:
                b = csareader.get_b_value(csa)
                g = csareader.get_g_vector(csa) if "DiffusionGradientDirection" in csa["tags"] and \
                    csa["tags"]["DiffusionGradientDirection"]["n_items"] else None
                out.append(("CSA", float(b), None if g is None else [float(x) for x in g]))
        except Exception as e:
            out.append(("CSA unreadable: %s" % type(e).__name__, None, None))
    for blk in creator_blocks(ds, 0x0019, "SIEMENS MR HEADER"):
        tb, tg = 0x00190000 | (blk << 8) | 0x0C, 0x00190000 | (blk << 8) | 0x0E
        if tb in ds:
            try:
                v = ds[tb].value
                b = float(v.decode().strip(" \0") if isinstance(v, bytes) else v)
                g = None
                if tg in ds:
                    gv = ds[tg].value
                    g = [float(x) for x in (pydicom.values.convert_numbers(gv, True, "d")
                                            if isinstance(gv, bytes) else gv)]
                if g and len(g) == 3 and not (0.9 < sum(x * x for x in g) < 1.1 or not any(g)):
                    # UN in a big endian file keeps the little endian bytes the scanner wrote
                    g = list(struct.unpack("<3d", struct.pack(">3d", *g)))
                out.append(("(0019,xx0C)", b, g))
            except Exception:
                pass
    for p, el in walk(ds):
        if el.tag == 0x00189087 and el.value is not None:
            seq = ds
            for t, i in p:
                seq = seq[t].value[i]
            g = seq[0x00189089].value if 0x00189089 in seq else None
            if g is None:  # in the Diffusion Gradient Direction Sequence
                for q, e2 in walk(seq):
                    if e2.tag == 0x00189089:
                        g = e2.value
                        break
            out.append(("(0018,9087)", float(el.value), None if g is None else [float(x) for x in g]))
            break
    return out


def same_diffusion(a, b):
    if a[1] is None or b[1] is None or abs(a[1] - b[1]) > 1e-3 * max(1.0, abs(a[1])):
        return False
    if a[2] is None or a[1] == 0:
        return True
    return b[2] is not None and len(a[2]) == len(b[2]) and all(abs(x - y) < 1e-4 for x, y in zip(a[2], b[2]))


DCIO_CACHE = {}


def dciodvfy_errors(path, ts):
    if path in DCIO_CACHE:
        return DCIO_CACHE[path]
    src = path
    tmp = None
    if ts == "1.2.840.10008.1.2.1.99":  # dciodvfy cannot read deflated files: inflate first
        fd, tmp = tempfile.mkstemp(suffix=".dcm")
        os.close(fd)
        subprocess.run(["dcmconv", "+te", path, tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        src = tmp
    try:
        p = subprocess.run(["dciodvfy", src], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = p.stdout.decode("latin-1")
    except Exception as e:
        out = "Error - dciodvfy did not run: %s" % type(e).__name__
    if tmp:
        os.unlink(tmp)
    errs = set()
    for line in out.splitlines():
        if not line.startswith("Error"):
            continue
        line = re.sub(r"= <[^>]*>", "= <>", line)  # values, not attribute names
        line = re.sub(r"(?<!\w)\d+(\.\d+)*(?!\w)", "#", line)  # UIDs and numbers: new UIDs, new values
        line = re.sub(r"\[\d+\]", "[]", line)
        line = re.sub(r"(values? (are|is)) .*", r"\1 ...", line)
        line = re.sub(r"\s+", " ", line).strip()
        errs.add(line)
    DCIO_CACHE[path] = errs
    return errs


def meta_ts(ds):
    try:
        return str(ds.file_meta.TransferSyntaxUID)
    except Exception:
        return ""


def pixel_key(ds):
    for t in (0x7FE00010, 0x7FE00008, 0x7FE00009):
        if t in ds and ds[t].value is not None:
            return hash(bytes(ds[t].value))
    return None


def check_leaks(o, outpath, ods, finding):
    """Original identifying values, UIDs (per element and raw bytes) and CSA content in one output."""
    benign = benign_strings(ods)
    for p, el in list(walk(ods.file_meta, ()) if hasattr(ods, "file_meta") else []) + list(walk(ods)):
        t = int(el.tag)
        if el.VR == "UI":
            for u in strvals(el):
                if u in o.uids:
                    finding("uid", "%s depth %d keeps an original UID" % (tagname(t), len(p)))
        elif el.VR in TEXT_VRS or t in IDENT:
            if el.tag.is_private and el.tag.element < 0x100:
                continue  # a private creator
            for v in strvals(el):
                if v in o.ident and (t in IDENT or el.VR == "PN" or len(v) >= 4) and v.lower() not in benign:
                    finding("element", "%s depth %d keeps the original %s '%s'" % (tagname(t), len(p), o.ident[v], v))
                elif v in o.uids:
                    finding("uid", "%s depth %d holds an original UID as text" % (tagname(t), len(p)))
    buf = raw_body(outpath)
    for t in (0x7FE00010, 0x7FE00008, 0x7FE00009):
        if t in ods and ods[t].value:
            buf = buf.replace(bytes(ods[t].value), b"")
    blobs = csa_blobs(ods)
    for _, blob in blobs:
        buf = buf.replace(blob, b"")
    for f, kw in o.raw_ident.items():
        if f in buf and not any(f.decode("latin-1").lower() in s for s in benign):
            finding("raw", "the original %s '%s' is in the output bytes" % (kw, f.decode("latin-1")))
    for u in o.uids:
        if len(u) >= MIN_UID_RAW and find_uid(buf, u):
            finding("raw-uid", "an original UID (%d chars) is in the output bytes" % len(u))
    for t, blob in blobs:
        for f, kw in o.raw_ident.items():
            if f in blob:
                finding("csa", "%s CSA header holds the original %s '%s'" % (tagname(t), kw, f.decode("latin-1")))
        for u in o.uids:
            if len(u) >= MIN_UID_RAW and find_uid(blob, u):
                finding("csa", "%s CSA header holds an original UID" % tagname(t))


def check_pair(o, outpath, ods, finding, dcio=True):
    """Per-instance checks of one original against its output."""
    for (p, t), v in o.dates.items():
        el = None
        ds = ods
        try:
            for st, i in p:
                ds = ds[st].value[i]
            el = ds[t] if t in ds else None
        except (KeyError, IndexError, TypeError):
            el = None
        if el is not None and "".join(strvals(el)) == v:
            finding("date", "%s depth %d keeps its original value" % (tagname(t), len(p)))
    ms = ods.file_meta.get("MediaStorageSOPInstanceUID") if hasattr(ods, "file_meta") else None
    if str(ms or "") != str(ods.get("SOPInstanceUID", "")):
        finding("meta", "(0002,0003) differs from (0008,0018)")
    if str(ods.get("PatientIdentityRemoved", "")).strip() != "YES":
        finding("meta", "(0012,0062) PatientIdentityRemoved is not YES")
    for t, px in o.pixels.items():
        if t not in ods or ods[t].value is None:
            finding("pixels", "%s missing in the output" % tagname(t))
        elif bytes(ods[t].value) != px:
            finding("pixels", "%s bytes changed" % tagname(t))
    di, do = diffusion(o.ds), diffusion(ods)
    ref = [d for d in di if d[1] is not None]
    if ref and not any(same_diffusion(ref[0], d) for d in do):
        finding("diffusion", "b=%g g=%s (from %s) not found in the output (it has %s)"
                % (ref[0][1], ref[0][2], ref[0][0], ", ".join(d[0] for d in do) or "nothing"))
    if dcio:
        new = dciodvfy_errors(outpath, meta_ts(ods)) - dciodvfy_errors(o.path, meta_ts(o.ds))
        for e in sorted(new):
            finding("dciodvfy", e)


def out_files(outdir):
    """(files, excluded, problem) from OUT/manifest.json."""
    mp = os.path.join(outdir, "manifest.json")
    if not os.path.exists(mp):
        return [], [], "no OUT/manifest.json"
    m = json.load(open(mp))
    files = [os.path.join(outdir, f["path"]) for f in m.get("files", [])]
    exc = m.get("excluded") or []
    return files, exc, None


def check_case(inp, outdir, finding, dcio=True):
    """Check every output of OUT against the originals under inp (a file or a folder)."""
    origs = []
    paths = [inp] if os.path.isfile(inp) else sorted(
        os.path.join(r, f) for r, _, fs in os.walk(inp) for f in fs)
    for p in paths:
        try:
            origs.append(Orig(p))
        except Exception as e:
            finding("checker", "cannot read the original %s: %s" % (os.path.basename(p), type(e).__name__))
    files, exc, prob = out_files(outdir)
    if prob:
        finding("output", prob)
        return files, exc
    outs = []
    for f in files:
        try:
            outs.append((f, load(f)))
        except Exception as e:
            finding("output", "pydicom cannot read %s: %s" % (os.path.relpath(f, outdir), type(e).__name__))
    for f, ods in outs:
        for o in origs:
            check_leaks(o, f, ods, finding)
    # pair each output with its original: same pixel data, else the only candidate
    for f, ods in outs:
        k = pixel_key(ods)
        cand = [o for o in origs if k is not None and pixel_key(o.ds) == k]
        if not cand:
            cand = [o for o in origs if str(o.ds.get("SOPClassUID", "")) == str(ods.get("SOPClassUID", ""))
                    and str(o.ds.get("InstanceNumber", "")) == str(ods.get("InstanceNumber", ""))]
        if len(cand) > 1:
            cand = [o for o in cand if str(o.ds.get("InstanceNumber", "")) == str(ods.get("InstanceNumber", ""))
                    and str(o.ds.get("SeriesNumber", "")) == str(ods.get("SeriesNumber", ""))] or cand[:1]
        if not cand:
            finding("checker", "no original found for %s" % os.path.relpath(f, outdir))
            continue
        check_pair(cand[0], f, ods, finding, dcio)
    return files, exc


def pair_main(orig, out):
    n = []

    def finding(kind, msg):
        n.append(1)
        print("finding: %s: %s" % (kind, msg))
    check_case(orig, out, finding)
    if not n:
        print("ok")
    return 1 if n else 0


def corpus_main(top):
    cases = [l.rstrip("\n").split("\t") for l in open(os.path.join(top, "corpus.tsv")) if l.strip()]
    results = {}
    for l in open(os.path.join(top, "results.tsv")):
        f = l.rstrip("\n").split("\t")
        if len(f) >= 2:
            results[f[0]] = (int(f[1]), f[2] if len(f) > 2 else "")
    table = {}  # (source, ts) -> counters
    findings, refusals, excluded = [], [], []
    must_not, unexpected, kinds = [], [], {}
    accepted = leaking = newdcio = 0
    for cid, kind, source, ts, expect, reason, origin in cases:
        row = table.setdefault((source, ts), {"files": 0, "passed": 0, "findings": 0, "excluded": 0,
                                              "refused": 0, "refused_expected": 0})
        row["files"] += 1
        base = os.path.join(top, "cases" if kind == "file" else "studies", cid)
        rc, err = results.get(cid, (-1, "not run"))
        if rc != 0:
            row["refused"] += 1
            ok = expect == "refuse"
            row["refused_expected"] += ok
            refusals.append("%s: exit %d: %s [%s]" % (cid, rc, err, ("expected: " + reason) if ok else
                                                       "UNEXPECTED, %s" % ("must be accepted" if expect == "must" else
                                                                           "not in the expected-refused list")))
            if expect == "must":
                must_not.append(cid)
            elif not ok:
                unexpected.append(cid)
            continue
        mine = []

        def finding(k, msg, mine=mine):
            mine.append((k, msg))
        files, exc = check_case(os.path.join(base, "in"), os.path.join(base, "out"), finding)
        why = "; ".join(str(e.get("reason", e)) if isinstance(e, dict) else str(e) for e in exc)
        if exc and files:
            excluded.append("%s: %d of the files: %s [kept the others]" % (cid, len(exc), why))
        if exc and not files:
            row["excluded"] += 1
            excluded.append("%s: %s [%s]" % (cid, why, ("expected: " + reason) if expect == "refuse" else "UNEXPECTED"))
            if expect == "must":
                must_not.append(cid)
            elif expect != "refuse":
                unexpected.append(cid)
            continue
        accepted += 1
        leak = [m for m in mine if m[0] != "dciodvfy"]
        newdcio += len(mine) - len(leak)
        if mine:
            row["findings"] += 1
            leaking += bool(leak)
            for k, msg in mine:
                kinds[k] = kinds.get(k, 0) + 1
                findings.append("%s: %s: %s" % (cid, k, msg))
        else:
            row["passed"] += 1
    w = max(len("%s %s" % k) for k in table) + 2
    print("%-*s %5s %6s %8s %8s %8s" % (w, "source / transfer syntax", "files", "passed", "findings",
                                          "excluded", "refused"))
    tot = {k: 0 for k in ("files", "passed", "findings", "excluded", "refused", "refused_expected")}
    for (s, ts), r in sorted(table.items()):
        print("%-*s %5d %6d %8d %8d %8s" % (w, "%s %s" % (s, ts), r["files"], r["passed"], r["findings"],
                                              r["excluded"], "%d (%d exp)" % (r["refused"], r["refused_expected"])))
        for k in tot:
            tot[k] += r[k]
    print("%-*s %5d %6d %8d %8d %8s" % (w, "total", tot["files"], tot["passed"], tot["findings"], tot["excluded"],
                                          "%d (%d exp)" % (tot["refused"], tot["refused_expected"])))
    print("finding kinds: " + (", ".join("%s %d" % kv for kv in sorted(kinds.items())) or "none"))
    for r in refusals:
        print("refused: " + r)
    for e in excluded:
        print("excluded: " + e)
    for f in findings:
        print("finding: " + f)
    with open(os.path.join(top, "summary.txt"), "w") as f:
        f.write("cases=%d\naccepted=%d\nfindings=%d\nleaking=%d\nnew_dciodvfy=%d\n"
                "must_not_accepted=%s\nunexpected_refused=%s\n" % (
                    len(cases), accepted, len(findings), leaking, newdcio, " ".join(must_not), " ".join(unexpected)))
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "--corpus":
        return corpus_main(a[1])
    if len(a) == 2:
        return pair_main(a[0], a[1])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
