#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Build a study folder as np-deid leaves it in spool/ready/ (for the cloud
tests, independent of np-deid): STUDYDIR/manifest.json, STUDYDIR/dicom/ (the
generated study with fake PHI) and STUDYDIR/deid/ (a crude de-identified copy:
patient, institution, physician and accession elements and private tags
removed, PatientAge/PatientSex kept) + deid/manifest.json.

Usage: make_ready_study.py STUDYDIR SRC_STUDY_DIR [--pad-mb N]
--pad-mb adds N MiB of incompressible filler files to deid/ (multi-ZIP tests).
"""
import hashlib, json, os, sys
import pydicom

DROP = ["PatientName", "PatientID", "IssuerOfPatientID", "OtherPatientIDs", "PatientBirthDate", "PatientWeight",
        "PatientAddress", "PatientTelephoneNumbers", "InstitutionName", "InstitutionAddress",
        "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName", "StationName", "DeviceSerialNumber",
        "AccessionNumber", "RequestAttributesSequence", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"]


def main():
    out, src = sys.argv[1], sys.argv[2]
    pad = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--pad-mb" else 0
    deid = os.path.join(out, "deid")
    os.makedirs(deid, exist_ok=True)
    os.makedirs(os.path.join(out, "dicom"), exist_ok=True)
    files = []
    n = 0
    for root, _, names in sorted(os.walk(src)):
        for name in sorted(names):
            if not name.endswith(".dcm"):
                continue
            p = os.path.join(root, name)
            ds = pydicom.dcmread(p)
            ds.save_as(os.path.join(out, "dicom", "%05d.dcm" % n))
            for k in DROP:
                if k in ds:
                    delattr(ds, k)
            ds.remove_private_tags()
            sub = os.path.join(deid, "S%s" % ds.get("SeriesNumber", 0))
            os.makedirs(sub, exist_ok=True)
            dst = os.path.join(sub, "IM%05d.dcm" % n)
            ds.save_as(dst)
            files.append(dst)
            n += 1
    for i in range(pad):
        p = os.path.join(deid, "pad", "filler%03d.bin" % i)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(os.urandom(1 << 20))
        files.append(p)
    man = {"files": [{"path": os.path.relpath(f, deid), "size": os.path.getsize(f),
                      "sha256": hashlib.sha256(open(f, "rb").read()).hexdigest()} for f in files],
           "profile": "test-crude"}
    json.dump(man, open(os.path.join(deid, "manifest.json"), "w"))
    npuid = os.path.basename(out.rstrip("/"))
    json.dump({"manifest_version": 1, "npuid": npuid, "source": "dicom", "format": "dicom",
               "created_at": "2026-11-27T00:00:00.000Z", "study": {"accession_number": "ACC20240001"},
               "patient": {"name": "Doe^John^Q", "age": "054Y", "sex": "M"}, "series": [],
               "counts": {"series": 0, "instances": n, "bytes": 0}, "transfer_syntaxes": [],
               "products": ["Atypical/MSAp/PSP-v1.0"], "flags": [], "group": None, "study_name": None},
              open(os.path.join(out, "manifest.json"), "w"))


main()
