#!/usr/bin/python3
"""Write a small DWI NIfTI bundle: NAME.nii.gz + NAME.bval + NAME.bvec (FSL
3xN) + NAME.json sidecar, with python3-nibabel.

Usage: make_nifti_bundle.py OUTDIR [--name dwi] [--nb0 2] [--ndir 30]
       [--bval 1000] [--age 061Y] [--sex F] [--accession X] [--no-json]
       [--no-bvec] [--extra-bvals N] [--mismatch-prefix] [--plain] [--key-style Pascal|camel|snake]
"""
import argparse, json, os
import numpy as np
import nibabel as nib

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--name", default="dwi")
ap.add_argument("--nb0", type=int, default=2)
ap.add_argument("--ndir", type=int, default=30)
ap.add_argument("--bval", type=float, default=1000)
ap.add_argument("--age")
ap.add_argument("--sex")
ap.add_argument("--accession")
ap.add_argument("--no-json", action="store_true")
ap.add_argument("--no-bvec", action="store_true")
ap.add_argument("--extra-bvals", type=int, default=0)
ap.add_argument("--mismatch-prefix", action="store_true")
ap.add_argument("--plain", action="store_true", help=".nii instead of .nii.gz")
ap.add_argument("--key-style", default="Pascal")
a = ap.parse_args()

os.makedirs(a.out, exist_ok=True)
n = a.nb0 + a.ndir
rng = np.random.default_rng(1)
img = nib.Nifti1Image((rng.random((8, 8, 4, n)) * 1000).astype(np.int16), np.eye(4))
ext = ".nii" if a.plain else ".nii.gz"
nib.save(img, os.path.join(a.out, a.name + ext))
bvals = [0] * a.nb0 + [a.bval] * a.ndir + [a.bval] * a.extra_bvals
v = rng.normal(size=(a.ndir, 3))
v /= np.linalg.norm(v, axis=1)[:, None]
vecs = np.vstack([np.zeros((a.nb0, 3)), v]).T
other = a.name + "_x" if a.mismatch_prefix else a.name
with open(os.path.join(a.out, other + ".bval"), "w") as f:
    f.write(" ".join("%g" % b for b in bvals) + "\n")
if not a.no_bvec:
    with open(os.path.join(a.out, a.name + ".bvec"), "w") as f:
        for row in vecs:
            f.write(" ".join("%.6f" % x for x in row) + "\n")
if not a.no_json:
    keys = {"Pascal": ("PatientAge", "PatientSex", "AccessionNumber"),
            "camel": ("patientAge", "patientSex", "accessionNumber"),
            "snake": ("patient_age", "patient_sex", "accession_number")}[a.key_style]
    side = {"Modality": "MR", "MagneticFieldStrength": 3, "EchoTime": 0.089, "RepetitionTime": 8}
    for k, val in zip(keys, (a.age, a.sex, a.accession)):
        if val is not None:
            side[k] = val
    with open(os.path.join(a.out, a.name + ".json"), "w") as f:
        json.dump(side, f, indent=2)
