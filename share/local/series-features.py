#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Example local-processing pipeline for neuropacs-agent (np-local).

Reads the DICOM files under $NP_INPUT and writes $NP_OUTPUT/features.csv:
one row per series with derived, non-identifying features only (no UIDs,
names, dates or free text): series index, modality, instance count, matrix
size, b-values seen, and pixel intensity mean / standard deviation.
Needs Debian's python3-pydicom and python3-numpy.
"""
import csv, os, sys
import numpy as np
import pydicom

inp, out = os.environ["NP_INPUT"], os.environ["NP_OUTPUT"]
series = {}
for root, _, files in os.walk(inp):
    for name in sorted(files):
        try:
            ds = pydicom.dcmread(os.path.join(root, name))
        except Exception:
            continue
        s = series.setdefault(ds.get("SeriesInstanceUID", ""), {
            "modality": str(ds.get("Modality", "")), "n": 0, "rows": ds.get("Rows", 0),
            "cols": ds.get("Columns", 0), "bvals": set(), "sum": 0.0, "sumsq": 0.0, "px": 0})
        s["n"] += 1
        b = ds.get((0x0018, 0x9087))
        if b is not None and b.value is not None:
            s["bvals"].add(int(round(float(b.value))))
        try:
            a = ds.pixel_array.astype(np.float64)
            s["sum"] += a.sum(); s["sumsq"] += (a * a).sum(); s["px"] += a.size
        except Exception:
            pass
with open(os.path.join(out, "features.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["series_index", "modality", "instances", "rows", "columns", "b_values", "mean", "std"])
    for i, s in enumerate(sorted(series.values(), key=lambda s: (-s["n"], s["modality"])), 1):
        mean = s["sum"] / s["px"] if s["px"] else 0.0
        std = max(s["sumsq"] / s["px"] - mean * mean, 0.0) ** 0.5 if s["px"] else 0.0
        w.writerow([i, s["modality"], s["n"], s["rows"], s["cols"],
                    " ".join(str(b) for b in sorted(s["bvals"])), f"{mean:.3f}", f"{std:.3f}"])
print(f"series-features: {len(series)} series", file=sys.stderr)
