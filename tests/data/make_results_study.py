#!/usr/bin/python3
"""A study folder as np-poll leaves it in spool/results/ (until the cloud
stand-in's output is used): dicom/ (the original study, make_mr_study.py),
manifest.json, order.json and results/ with report.pdf and the results JSON
of cloud-api.md section 6 (or, with --failure, only results/failure.txt).

Usage: make_results_study.py STUDYDIR [--failure] [--negative] [--no-dicom]"""
import argparse
import json
import os
import subprocess
import sys


def pdf(text):
    """A one-page PDF of odd length (exercises DICOM padding)."""
    stream = "BT /F1 14 Tf 72 720 Td (%s) Tj ET" % text
    objs = ["<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            "<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)]
    out = b"%PDF-1.4\n"
    offs = []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i + 1, o.encode())
    x = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offs)
    out += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % x
    if len(out) % 2 == 0:
        out += b" "
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--failure", action="store_true")
    ap.add_argument("--negative", action="store_true")
    ap.add_argument("--no-dicom", action="store_true", help="skip dicom/ (for non-DICOM destinations)")
    a = ap.parse_args()
    npuid = os.path.basename(a.dir.rstrip("/"))
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(a.dir, "results"))
    if not a.no_dicom:
        subprocess.run([sys.executable, os.path.join(here, "make_mr_study.py"), os.path.join(a.dir, "dicom"),
                        "--ndir", "6", "--nsl", "4"], check=True, stdout=subprocess.DEVNULL)
    order = "5f0c6b1e-8a7d-4c39-9e51-0d2f7a3b6c41"
    json.dump({"npuid": npuid, "source": "dicom", "format": "dicom", "products": ["Atypical/MSAp/PSP-v1.0"],
               "study_name": "CANARY-STUDY-NAME", "study": {"accession_number": "ACC20240001"}},
              open(os.path.join(a.dir, "manifest.json"), "w"))
    json.dump({"order_id": order, "status": "Failed" if a.failure else "Completed",
               "product": "Atypical/MSAp/PSP-v1.0"}, open(os.path.join(a.dir, "order.json"), "w"))
    res = os.path.join(a.dir, "results")
    if a.failure:
        open(os.path.join(res, "failure.txt"), "w").write("Order %s failed: input QC error.\n" % order)
        return
    atyp = 0.213 if a.negative else 0.913
    r = {"date": "2024-05-17", "orderID": order, "product": "Atypical/MSAp/PSP-v1.0",
         "model_version": "2BP20V6_29",
         "results": {"Atypical": {"value": atyp}, "FWpSN": {"value": 0.28}, "FWPutamen": {"value": 0.19},
                     "FWSCP": {"value": 0.22}, "FWMCP": {"value": 0.17}}}
    if not a.negative:
        r["results"]["PSPvsMSAp"] = {"value": 0.944}
    json.dump(r, open(os.path.join(res, "results.json"), "w"))
    open(os.path.join(res, "report.pdf"), "wb").write(pdf("neuropacs report %s" % order))
    open(os.path.join(res, "results.txt"), "w").write("Atypical: %.3f\n" % atyp)


if __name__ == "__main__":
    main()
