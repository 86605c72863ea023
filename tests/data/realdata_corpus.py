#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Build a corpus of real DICOM files from installed Debian packages.

Usage: realdata_corpus.py DIR

Copies the DICOM test files shipped by python3-pydicom, python3-nibabel,
dicom3tools and libgdcm3.0, plus DCMTK and GDCM transcodes of a few of them
to every transfer syntax np-recv accepts, one file per DIR/cases/ID/in/ (one
np-deid run per file, so a refusal is attributed to its file), and a few
multi-file study folders in DIR/studies/ID/in/. Nothing is committed: the
files come from the packages at test time.

Writes DIR/corpus.tsv, one line per case:
  id  kind(file|study)  source  ts  expect  reason  origin
expect is "must" (named in the brief: must be accepted), "accept" (a refusal
is a failure) or "refuse" (broken or not an instance: a refusal is allowed,
reason says why). Prints "corpus: N cases" and a "warning:" line per
transcode a tool could not make.
"""
import glob, gzip, os, re, shutil, subprocess, sys, warnings

warnings.simplefilter("ignore")
import pydicom

PYD = "/usr/lib/python3/dist-packages/pydicom/data"
NIB = "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data"
D3T = "/usr/share/doc/dicom3tools/examples"
GDCM = "/usr/share/doc/libgdcm3.0/examples"

NOT_INSTANCE = "fragment: no SOP Class/Study/Series/SOP Instance UID, not a composite instance"
# Files that may be refused, with the reason (an acceptance is checked all the same).
EXPECT_REFUSED = {
    "MR_truncated.dcm": "truncated: pixel data shorter than its length",
    "rtplan_truncated.dcm": "truncated inside a sequence",
    "badVR.dcm": "invalid value: Number of Frames (0028,0008) is '1A'",
    "SC_rgb_jpeg.dcm": "data set encoded implicit VR under an explicit VR (JPEG baseline) meta header",
    "UN_sequence.dcm": NOT_INSTANCE,
    "chrSQEncoding.dcm": NOT_INSTANCE,
    "chrSQEncoding1.dcm": NOT_INSTANCE,
    "empty_charset_LEI.dcm": NOT_INSTANCE,
    "meta_missing_tsyntax.dcm": NOT_INSTANCE,
    "nested_priv_SQ.dcm": NOT_INSTANCE,
    "no_meta_group_length.dcm": NOT_INSTANCE,
    "priv_SQ.dcm": NOT_INSTANCE,
    "decimal_rescale.dcm": NOT_INSTANCE,
    "no_meta.dcm": "not DICOM: no preamble and its first bytes are no element (dcmdump cannot read it either)",
}
DICOMDIR_REASON = "DICOMDIR: a media directory, not an instance"
# Must be accepted (and their transcodes).
MUST = re.compile(r"^(siemens_dwi_1000|siemens_dwi_0|MR_small.*|CT_small|rtdose_rle.*|reportsi|image_dfl)(\.dcm)?$")
# name -> source file for the transcodes
TRANSCODE_SRC = {
    "siemens_dwi_1000": NIB + "/siemens_dwi_1000.dcm.gz",
    "siemens_dwi_0": NIB + "/siemens_dwi_0.dcm.gz",
    "MR_small": PYD + "/test_files/MR_small.dcm",
    "CT_small": PYD + "/test_files/CT_small.dcm",
}
TRANSCODES = [  # (label, argv with IN and OUT)
    ("implicit-le", ["dcmconv", "+ti", "IN", "OUT"]),
    ("explicit-le", ["dcmconv", "+te", "IN", "OUT"]),
    ("explicit-be", ["dcmconv", "+tb", "IN", "OUT"]),
    ("deflated", ["dcmconv", "+td", "IN", "OUT"]),
    ("rle", ["dcmcrle", "IN", "OUT"]),
    ("jpeg-sv1", ["dcmcjpeg", "+e1", "IN", "OUT"]),
    ("jpeg-ls", ["dcmcjpls", "IN", "OUT"]),
    ("j2k", ["gdcmconv", "--j2k", "IN", "OUT"]),
]
TS_NAMES = {
    "1.2.840.10008.1.2": "implicit-le", "1.2.840.10008.1.2.1": "explicit-le",
    "1.2.840.10008.1.2.2": "explicit-be", "1.2.840.10008.1.2.1.99": "deflated",
    "1.2.840.10008.1.2.5": "rle", "1.2.840.10008.1.2.4.50": "jpeg-baseline",
    "1.2.840.10008.1.2.4.51": "jpeg-extended", "1.2.840.10008.1.2.4.57": "jpeg-p14",
    "1.2.840.10008.1.2.4.70": "jpeg-sv1", "1.2.840.10008.1.2.4.80": "jpeg-ls",
    "1.2.840.10008.1.2.4.81": "jpeg-ls-near", "1.2.840.10008.1.2.4.90": "j2k",
    "1.2.840.10008.1.2.4.91": "j2k-lossy",
}

rows = []
ids = set()


def ts_of(path):
    try:
        ts = str(pydicom.dcmread(path, stop_before_pixels=True, force=True).file_meta.TransferSyntaxUID)
    except Exception:
        ts = ""
    return TS_NAMES.get(ts, ts or "no-meta")


def new_id(name):
    base = re.sub(r"[^A-Za-z0-9_.+-]", "_", name)
    i, n = base, 2
    while i in ids:
        i, n = "%s.%d" % (base, n), n + 1
    ids.add(i)
    return i


def expectation(name, tsname=""):
    if name.startswith("DICOMDIR"):
        return "refuse", DICOMDIR_REASON
    if name in EXPECT_REFUSED:
        return "refuse", EXPECT_REFUSED[name]
    if MUST.match(name) or tsname == "deflated":
        return "must", "-"
    return "accept", "-"


def copy_in(src, dst):
    if src.endswith(".gz"):
        with gzip.open(src, "rb") as f, open(dst, "wb") as g:
            shutil.copyfileobj(f, g)
    else:
        shutil.copyfile(src, dst)


def add_file(top, source, src, name=None, label=None):
    name = name or os.path.basename(src)
    if name.endswith(".gz"):
        name = name[:-3]
    cid = new_id("%s-%s" % (source.split("/")[0], label or name))
    d = os.path.join(top, "cases", cid, "in")
    os.makedirs(d)
    dst = os.path.join(d, name if name.endswith(".dcm") or name.startswith("DICOMDIR") else name + ".dcm")
    copy_in(src, dst)
    ts = ts_of(dst)
    exp, why = expectation(os.path.basename(src).replace(".gz", ""), ts)
    rows.append((cid, "file", source, ts, exp, why, src))
    return dst


def add_study(top, cid, source, srcs):
    d = os.path.join(top, "studies", cid, "in")
    os.makedirs(d)
    for s in srcs:
        copy_in(s, os.path.join(d, os.path.basename(s).replace(".gz", "")))
    rows.append((cid, "study", source, "mixed", "must" if any(MUST.match(os.path.basename(s).replace(".gz", ""))
                                                             for s in srcs) else "accept", "-", "+".join(srcs)))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: realdata_corpus.py DIR")
    top = sys.argv[1]
    os.makedirs(os.path.join(top, "cases"), exist_ok=True)
    os.makedirs(os.path.join(top, "work"), exist_ok=True)
    for f in sorted(glob.glob(PYD + "/test_files/*.dcm")):
        add_file(top, "pydicom/test_files", f)
    for f in sorted(glob.glob(PYD + "/charset_files/*.dcm")):
        add_file(top, "pydicom/charset_files", f)
    dd = PYD + "/test_files/dicomdirtests"
    for r, _, fs in sorted(os.walk(dd)):
        for f in sorted(fs):
            if f.startswith("README"):
                continue
            rel = os.path.relpath(os.path.join(r, f), dd)
            add_file(top, "pydicom/dicomdirtests", os.path.join(r, f), name=f,
                     label=rel.replace("/", "_"))
    for f in sorted(glob.glob(NIB + "/*.dcm") + glob.glob(NIB + "/*.dcm.gz")):
        add_file(top, "nibabel", f)
    for f in sorted(glob.glob(D3T + "/*.dcm")):
        add_file(top, "dicom3tools", f)
    for f in sorted(glob.glob(GDCM + "/*.dcm")):
        add_file(top, "libgdcm", f)
    for name, src in TRANSCODE_SRC.items():
        plain = os.path.join(top, "work", name + ".dcm")
        copy_in(src, plain)
        for label, argv in TRANSCODES:
            out = os.path.join(top, "work", "%s.%s.dcm" % (name, label))
            cmd = [plain if a == "IN" else out if a == "OUT" else a for a in argv]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if p.returncode or not os.path.exists(out):
                print("warning: %s %s: %s failed: %s" % (name, label, argv[0],
                      p.stdout.decode(errors="replace").strip().splitlines()[-1:]))
                continue
            cid = new_id("transcode-%s.%s" % (name, label))
            d = os.path.join(top, "cases", cid, "in")
            os.makedirs(d)
            dst = os.path.join(d, "%s.%s.dcm" % (name, label))
            shutil.move(out, dst)
            ts = ts_of(dst)
            rows.append((cid, "file", "transcode/" + argv[0], ts, "must", "-", "%s via %s" % (src, " ".join(argv[:-2]))))
    sie = [NIB + "/" + f for f in ("0.dcm", "1.dcm", "csa_slice_norm.dcm", "siemens_dwi_0.dcm.gz",
                                   "siemens_dwi_1000.dcm.gz")]
    add_study(top, "study-nibabel-siemens", "nibabel", [f for f in sie if os.path.exists(f)])
    ct = sorted(glob.glob(dd + "/98892001/*/*"))
    add_study(top, "study-dicomdirtests-98892001", "pydicom/dicomdirtests", ct)
    with open(os.path.join(top, "corpus.tsv"), "w") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")
    shutil.rmtree(os.path.join(top, "work"))
    print("corpus: %d cases" % len(rows))


if __name__ == "__main__":
    main()
