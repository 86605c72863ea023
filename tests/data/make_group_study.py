#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Make a finished study folder for group/report tests, without DICOM data.

usage: make_group_study.py HOME STATE [--products P1,P2] [--name NAME]
           [--order ID] [--result PRODUCT:KEY=VALUE ...] [--date YYYY-MM-DD]
           [--format dicom] [--group NAME]
Prints the study's npuid. Results go to results/<n>.json in the shape of
cloud-api.md section 6: {"product", "date", "results": {KEY: {"value": V}}};
a VALUE that parses as a number is written as a JSON number.
"""
import argparse
import json
import os
import uuid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("home")
    ap.add_argument("state")
    ap.add_argument("--products", default="Atypical/MSAp/PSP-v1.0")
    ap.add_argument("--name", default="CANARY^GROUPSTUDY")
    ap.add_argument("--order", default="")
    ap.add_argument("--result", action="append", default=[])
    ap.add_argument("--date", default="2026-11-20")
    ap.add_argument("--format", default="dicom")
    ap.add_argument("--group", default=None)
    ap.add_argument("--created", default="2026-11-20T10:00:00.000Z")
    a = ap.parse_args()
    npuid = str(uuid.uuid4())
    d = os.path.join(a.home, "spool", a.state, npuid)
    os.makedirs(os.path.join(d, "results"))
    products = [p for p in a.products.split(",") if p]
    manifest = {
        "manifest_version": 1, "npuid": npuid, "source": "dicom", "format": a.format,
        "created_at": a.created, "study": {"study_description": "CANARY BRAIN"},
        "patient": {"name": "CANARY^PATIENT", "id": "CANARY-ID-1"}, "series": [],
        "counts": {"series": 0, "instances": 0, "bytes": 0}, "products": products,
        "flags": [], "group": a.group, "study_name": a.name,
    }
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    if a.order:
        with open(os.path.join(d, "order.json"), "w") as f:
            json.dump({"orderId": a.order}, f)
    per = {}
    for r in a.result:
        prod, kv = r.rsplit(":", 1)
        k, v = kv.split("=", 1)
        try:
            v = float(v)
        except ValueError:
            pass
        per.setdefault(prod, {})[k] = {"value": v}
    for i, (prod, res) in enumerate(per.items()):
        with open(os.path.join(d, "results", "results-%d.json" % i), "w") as f:
            json.dump({"product": prod, "date": a.date, "results": res}, f)
    print(npuid)


main()
