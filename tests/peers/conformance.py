#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# conformance.py: turn the Conformance Statement's facts (np-conformance
# --json) into storescu association profiles, and check storescu's debug log
# against what the statement says (tests/e2e/19-conformance.t).
#   conformance.py cfg STATEMENT.json OUT.cfg OUT.expect
#       profiles SOP1, SOP2, ...: every listed Storage SOP Class, one context
#       each (Implicit VR LE, which every Storage SCP must accept); TS: MR
#       Image Storage once per listed transfer syntax; REF: a sample of what
#       the statement says is refused (non-patient classes, known but refused
#       and unknown transfer syntaxes, a non-storage class, a made-up UID).
#       Every profile also has MR Image Storage in Explicit VR LE for the one
#       file storescu sends. OUT.expect: "PROFILE CONTEXT-ID EXPECTED UID".
#   conformance.py check OUT.expect PROFILE STORESCU.log
#       prints one line per context whose result differs, and "checked N".
import json
import re
import sys

MR = "1.2.840.10008.5.1.4.1.1.4"
ILE = "1.2.840.10008.1.2"
ELE = "1.2.840.10008.1.2.1"
PER_ASSOC = 120  # storescu proposes at most 128 contexts
ACCEPT, NO_AS, NO_TS = "Accepted", "Abstract Syntax Not Supported", "Transfer Syntaxes Not Supported"


def cfg(statement, out_cfg, out_expect):
    st = json.load(open(statement))
    scp = st["scp"]
    profiles = []  # (name, [(as, ts, expected)])
    sops = [c["uid"] for c in scp["sop_classes"]]
    for i in range(0, len(sops), PER_ASSOC):
        profiles.append(("SOP%d" % (i // PER_ASSOC + 1), [(u, ILE, ACCEPT) for u in sops[i : i + PER_ASSOC]]))
    profiles.append(("TS", [(MR, t["uid"], ACCEPT) for t in scp["transfer_syntaxes"]]))
    ref = [(c["uid"], ELE, NO_AS) for c in scp["refused_sop_classes"]]
    ref += [(MR, t["uid"], NO_TS) for t in scp["refused_transfer_syntaxes"]]
    ref += [
        ("1.2.840.10008.5.1.4.1.2.2.1", ELE, NO_AS),  # Study Root Q/R FIND: not a storage class
        ("1.2.826.0.1.3680043.2.1.999.1", ELE, NO_AS),  # a made-up SOP class
        (MR, "1.2.826.0.1.3680043.2.1.999.2", NO_TS),  # a made-up transfer syntax
    ]
    profiles.append(("REF", ref))
    tss = {}
    lines = ["[[TransferSyntaxes]]"]
    for _, pcs in profiles:
        for _, ts, _ in pcs + [(None, ELE, None)]:
            if ts not in tss:
                tss[ts] = "TS%d" % len(tss)
                lines += ["[%s]" % tss[ts], "TransferSyntax1 = %s" % ts]
    lines.append("[[PresentationContexts]]")
    expect = []
    for name, pcs in profiles:
        pcs = [(MR, ELE, ACCEPT)] + pcs
        lines.append("[%s]" % name)
        for i, (asx, ts, exp) in enumerate(pcs):
            lines.append("PresentationContext%d = %s\\%s" % (i + 1, asx, tss[ts]))
            expect.append("%s %d %s|%s|%s" % (name, 2 * i + 1, exp, asx, ts))
    lines.append("[[Profiles]]")
    for name, _ in profiles:
        lines += ["[%s]" % name, "PresentationContexts = %s" % name]
    open(out_cfg, "w").write("\n".join(lines) + "\n")
    open(out_expect, "w").write("\n".join(expect) + "\n")
    print(" ".join(n for n, _ in profiles))


def check(expect_file, profile, log):
    want = {}
    for line in open(expect_file):
        name, cid, rest = line.rstrip("\n").split(" ", 2)
        if name == profile:
            want[int(cid)] = rest.split("|")
    got = {}
    for m in re.finditer(r"Context ID:\s+(\d+) \(([^)]*)\)", open(log, errors="replace").read()):
        if m.group(2) != "Proposed":
            got[int(m.group(1))] = m.group(2)
    bad = 0
    for cid, (exp, asx, ts) in sorted(want.items()):
        if got.get(cid) != exp:
            bad += 1
            print("context %d %s in %s: want %s, got %s" % (cid, asx, ts, exp, got.get(cid)))
    print("checked %d" % (len(want) - bad))


if __name__ == "__main__":
    if sys.argv[1] == "cfg":
        cfg(*sys.argv[2:5])
    elif sys.argv[1] == "check":
        check(*sys.argv[2:5])
    else:
        sys.exit("usage: conformance.py cfg|check ...")
