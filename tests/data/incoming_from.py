#!/usr/bin/python3
"""Place DICOM files into $HOME/spool/incoming/<StudyInstanceUID>/ the way
np-recv does (see the np-recv -> np-stable contract): <SOPInstanceUID>.dcm,
`npuid` and `source.json` written when the folder is new. Prints the
StudyInstanceUID.

Usage: incoming_from.py HOME FILE_OR_DIR... [--ae AE] [--first ISO] [--no-npuid] [--study-uid UID]
"""
import argparse, datetime, json, os, shutil, uuid
import pydicom

ap = argparse.ArgumentParser()
ap.add_argument("home")
ap.add_argument("paths", nargs="+")
ap.add_argument("--ae", default="STORESCU")
ap.add_argument("--first")
ap.add_argument("--no-npuid", action="store_true")
ap.add_argument("--study-uid", help="rewrite StudyInstanceUID (a new study from the same files)")
a = ap.parse_args()

files = []
for p in a.paths:
    if os.path.isdir(p):
        for root, _, names in os.walk(p):
            files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".dcm")]
    else:
        files.append(p)
uid = None
for f in files:
    ds = pydicom.dcmread(f, stop_before_pixels=not a.study_uid)
    if a.study_uid:
        ds.StudyInstanceUID = a.study_uid
    uid = str(ds.StudyInstanceUID)
    d = os.path.join(a.home, "spool", "incoming", uid)
    if not os.path.isdir(d):
        os.makedirs(d)
        if not a.no_npuid:
            with open(os.path.join(d, "npuid.tmp"), "w") as fh:
                fh.write(str(uuid.uuid4()) + "\n")
            os.rename(os.path.join(d, "npuid.tmp"), os.path.join(d, "npuid"))
        first = a.first or datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z")
        with open(os.path.join(d, "source.json"), "w") as fh:
            json.dump({"calling_ae": a.ae, "first_arrival": first}, fh)
    tmp = os.path.join(a.home, "spool", "tmp", "in-" + str(ds.SOPInstanceUID))
    os.makedirs(os.path.dirname(tmp), exist_ok=True)
    if a.study_uid:
        ds.save_as(tmp)
    else:
        shutil.copyfile(f, tmp)
    os.rename(tmp, os.path.join(d, str(ds.SOPInstanceUID) + ".dcm"))
print(uid)
