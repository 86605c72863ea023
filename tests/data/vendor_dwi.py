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


out = sys.argv[1]
save(read(PD + "/CT_small.dcm"), out, "ge_ct")
save(read(NB + "/philips_mprage.dcm.gz"), out, "philips_t1")

ds = read(NB + "/philips_mprage.dcm.gz")
ds.private_block(0x2001, "Philips Imaging DD 001").add_new(0x03, "FL", 1000.0)
blk = ds.private_block(0x2005, "Philips MR Imaging DD 001")
for el, v in ((0xB0, 0.6), (0xB1, 0.8), (0xB2, 0.0)):
    blk.add_new(el, "FL", v)
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
ds.add_new((0x0043, 0x0010), "LO", "GEMS_IDEN_01")
ds.add_new((0x0043, 0x1039), "IS", ["7", "7", "7", "7"])
ds.add_new((0x0043, 0x0011), "LO", "GEMS_PARM_01")
ds.add_new((0x0043, 0x1139), "IS", ["1000001000", "8", "0", "0"])
blk = ds.private_block(0x0019, "GEMS_ACQU_01", create=True)
for el, v in ((0xBB, "0.6"), (0xBC, "0.8"), (0xBD, "0.0")):
    blk.add_new(el, "DS", v)
save(ds, out, "ge_dwi")

save(read(NB + "/siemens_dwi_0.dcm.gz"), out, "siemens_dup", "a.dcm")
save(read(NB + "/siemens_dwi_1000.dcm.gz"), out, "siemens_dup", "b.dcm")
ds = read(NB + "/siemens_dwi_0.dcm.gz")
ds.SeriesDescription = "SECOND COPY"
for name in ("c.dcm", "z/a.dcm", "z/b.dcm", "z/c.dcm"):
    save(ds, out, "siemens_dup", name)
