#!/usr/bin/python3
"""Build QC cases for diffusion detection from DICOM files shipped by Debian
(pydicom's and nibabel's test data), one folder per case under OUT:

  ge_ct          pydicom CT_small: GE CT, GEMS_ACQU_01 (0019,1027) is a rotation speed
  philips_t1     nibabel philips_mprage: Philips T1, (2005,1415) = 1 is no b-value
  philips_dwi    the same with (2001,xx03) b = 1000 (FL) under "Philips Imaging DD 001"
                 and a direction in (2005,xxB0..B2) under "Philips MR Imaging DD 001"
  siemens_b0     nibabel siemens_dwi_0 alone (b = 0)
  siemens_dwi    nibabel siemens_dwi_0 and siemens_dwi_1000
  siemens_block  siemens_dwi_1000 with "SIEMENS MR HEADER" in block 0x12 and another
                 creator's (0019,100C) = 0 in block 0x10
  siemens_other  siemens_dwi_1000 with its (0019,0010) creator renamed and no CSA
                 header: no b-value
  siemens_csa    siemens_dwi_1000 without group 0019: the b-value is in the CSA
                 image header (0029,1010) only
  ge_dwi         siemens_dwi_1000 turned GE: b = 10^9 + 1000 in (0043,xx39) under
                 "GEMS_PARM_01" in block 0x11, direction in (0019,xxBB..BD) "GEMS_ACQU_01"

  siemens_dup    siemens_dwi_0 and siemens_dwi_1000, then four more copies of
                 siemens_dwi_0 (SeriesDescription "SECOND COPY") later by path

Nothing of these files is committed; they are read from the installed packages.
Usage: vendor_dwi.py OUT

ge_diffusion() and philips_diffusion() write the vendors' private diffusion
blocks; make_mr_study.py --vendor imports them.
"""
import gzip
import os
import sys

import pydicom
from pydicom.tag import Tag

PD = "/usr/lib/python3/dist-packages/pydicom/data/test_files"
NB = "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data"


def read(path):
    if path.endswith(".gz"):
        with gzip.open(path) as f:
            return pydicom.dcmread(f)
    return pydicom.dcmread(path)


def save(ds, out, case, name="a.dcm"):
    path = os.path.join(out, case, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path)


def drop_group(ds, g):
    for t in [t for t in ds.keys() if t.group == g]:
        del ds[t]


def ge_diffusion(ds, b, g, iden=True):
    """GE's private b-value: (0043,xx39) IS under "GEMS_PARM_01", first value
    b + 10^9, in block 0x11 after a "GEMS_IDEN_01" block 0x10 holding the same
    element number (as real files do when iden); the direction (DS) in
    (0019,xxBB..BD) under "GEMS_ACQU_01" (the next free block of 0019)."""
    if iden:
        ds.add_new((0x0043, 0x0010), "LO", "GEMS_IDEN_01")
        ds.add_new((0x0043, 0x1039), "IS", ["7", "7", "7", "7"])
        ds.add_new((0x0043, 0x0011), "LO", "GEMS_PARM_01")
        ds.add_new((0x0043, 0x1139), "IS", ["%d" % (1000000000 + int(b)), "8", "0", "0"])
    else:
        ds.private_block(0x0043, "GEMS_PARM_01", create=True).add_new(
            0x39, "IS", ["%d" % (1000000000 + int(b)), "8", "0", "0"])
    if g is not None:
        blk = ds.private_block(0x0019, "GEMS_ACQU_01", create=True)
        for el, v in zip((0xBB, 0xBC, 0xBD), g):
            t = "%.6g" % v
            blk.add_new(el, "DS", t if "." in t or "e" in t else t + ".0")


def philips_diffusion(ds, b, g, directionality=None, decoy=False):
    """Philips's private b-value: (2001,xx03) FL under "Philips Imaging DD 001",
    the directionality (2001,xx04) CS when given ("O" oblique, "I" isotropic),
    and the direction (2005,xxB0..B2) FL under "Philips MR Imaging DD 001";
    with decoy that creator is in block 0x11 after "Philips MR Imaging DD 002"."""
    blk = ds.private_block(0x2001, "Philips Imaging DD 001", create=True)
    blk.add_new(0x03, "FL", float(b))
    if directionality is not None:
        blk.add_new(0x04, "CS", directionality)
    if decoy:
        ds.private_block(0x2005, "Philips MR Imaging DD 002", create=True)
    if g is not None:
        blk = ds.private_block(0x2005, "Philips MR Imaging DD 001", create=True)
        for el, v in zip((0xB0, 0xB1, 0xB2), g):
            blk.add_new(el, "FL", float(v))


def main(out):
    save(read(PD + "/CT_small.dcm"), out, "ge_ct")
    save(read(NB + "/philips_mprage.dcm.gz"), out, "philips_t1")

    ds = read(NB + "/philips_mprage.dcm.gz")
    philips_diffusion(ds, 1000, (0.6, 0.8, 0.0))
    save(ds, out, "philips_dwi")

    save(read(NB + "/siemens_dwi_0.dcm.gz"), out, "siemens_b0")
    save(read(NB + "/siemens_dwi_0.dcm.gz"), out, "siemens_dwi", "a.dcm")
    save(read(NB + "/siemens_dwi_1000.dcm.gz"), out, "siemens_dwi", "b.dcm")

    ds = read(NB + "/siemens_dwi_1000.dcm.gz")
    b, g = ds[0x0019, 0x100C].value, ds[0x0019, 0x100E].value
    drop_group(ds, 0x0019)
    ds.add_new((0x0019, 0x0010), "LO", "ACME DIFFUSION 1.0")
    ds.add_new((0x0019, 0x100C), "IS", "0")
    ds.add_new((0x0019, 0x0012), "LO", "SIEMENS MR HEADER")
    ds.add_new((0x0019, 0x120C), "IS", str(b))
    ds.add_new((0x0019, 0x120E), "FD", g)
    save(ds, out, "siemens_block")

    ds = read(NB + "/siemens_dwi_1000.dcm.gz")
    ds[0x0019, 0x0010].value = "ACME DIFFUSION 1.0"
    drop_group(ds, 0x0029)
    save(ds, out, "siemens_other")

    ds = read(NB + "/siemens_dwi_1000.dcm.gz")
    drop_group(ds, 0x0019)
    save(ds, out, "siemens_csa")

    ds = read(NB + "/siemens_dwi_1000.dcm.gz")
    drop_group(ds, 0x0019)
    drop_group(ds, 0x0029)
    ds.Manufacturer = "GE MEDICAL SYSTEMS"
    ge_diffusion(ds, 1000, (0.6, 0.8, 0.0))
    save(ds, out, "ge_dwi")

    save(read(NB + "/siemens_dwi_0.dcm.gz"), out, "siemens_dup", "a.dcm")
    save(read(NB + "/siemens_dwi_1000.dcm.gz"), out, "siemens_dup", "b.dcm")
    ds = read(NB + "/siemens_dwi_0.dcm.gz")
    ds.SeriesDescription = "SECOND COPY"
    for name in ("c.dcm", "z/a.dcm", "z/b.dcm", "z/c.dcm"):
        save(ds, out, "siemens_dup", name)


if __name__ == "__main__":
    main(sys.argv[1])
