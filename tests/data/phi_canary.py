#!/usr/bin/python3
"""Plant a PHI canary in every file of a generated study (make_mr_study.py),
in place: distinctive fake values in every attribute of the user guide's
de-identification lists and of PS3.15 Annex E's basic profile that matter for
MR, at sequence depths 0-3, in private blocks, in free text carrying each
regex pattern, and in an Original Attributes Sequence.

Usage: phi_canary.py STUDYDIR [--old-age] [--canaries FILE]
--canaries writes the canary strings (one per line) that must not survive.
Every canary contains "QZX" so `grep -r QZX` finds survivors.
"""
import argparse, os, sys
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

C = {
    "name": "Qzxcanary^Pat^Middle",
    "other_name": "Qzxother^Alias",
    "birth_name": "Qzxbirth^Maiden",
    "mother": "Qzxmother^Mary",
    "resp": "Qzxresponsible^Ron",
    "referring": "Qzxreferring^Rita",
    "phys_record": "Qzxrecord^Rick",
    "performing": "Qzxperforming^Pam",
    "reading": "Qzxreading^Reed",
    "operator": "Qzxoperator^Otto",
    "requesting": "Qzxrequesting^Rex",
    "sched_phys": "Qzxscheduled^Sam",
    "pid": "QZXMRN-778899",
    "other_pid": "QZXOTHER-4455",
    "issuer": "QZXISSUER",
    "study_id": "QZXSTUDY7",
    "serial": "QZXSERIAL-0042",
    "placer": "QZXPLACER-31",
    "filler": "QZXFILLER-32",
    "accession": "QZXACC-99123",
    "inst": "Qzx Memorial Hospital",
    "inst_addr": "77 Qzx Avenue, Qzxtown",
    "station": "QZXSTATION9",
    "dept": "Qzx Neuroradiology Dept",
    "ref_addr": "12 Qzxreferrer Lane",
    "proc_loc": "Qzx Wing B Room 4",
    "military": "QZXCOLONEL",
    "branch": "QZXNAVY",
    "locator": "QZXLOCATOR-1",
    "phone": "QZX-555-0199",
    "telecom": "qzx.patient@example.org",
    "ref_phone": "QZX-555-0142",
    "addr": "9 Qzxcanary Road, Springfield, IL 62704",
    "admitting": "Qzx admitting diagnosis",
    "history": "Qzx additional history",
    "alerts": "Qzx medical alert",
    "allergies": "Qzx peanut allergy",
    "pcomments": "Qzx patient comments",
    "occupation": "Qzxoccupation",
    "overlay": "Qzx overlay comment",
    "curve": "Qzx curve label",
    "orig_name": "Qzxoriginal^Before^Coercion",
    "deep_name": "Qzxdeep^Three^Levels",
    "deep_inst": "Qzx Deep Institution",
    "priv_bin": "QZXBINARYBLOB",
    "req_proc_id": "QZXRP-1234",
    "sps_id": "QZXSPS-5678",
    "retrieve_url": "http://qzx.example.org/wado",
    "ae": "QZXAETITLE",
    "pps_id": "QZXPPS-77",
    "admission": "QZXADMIT-88",
    "birth_date": "19320229",
    "other_date": "19990101",
}
# free text with one example of each pattern the guide lists
FREE = ("see http://qzx.example.org/case and 10.20.30.40, ssn 123-45-6789, "
        "call (555) 123-4567, mail qzx.doc@example.org, MRN 4455667 ACCT 99887766")
FREE_CANARIES = ["qzx.example.org", "10.20.30.40", "123-45-6789", "123-4567", "qzx.doc@example.org",
                 "4455667", "99887766"]


def pn_item(name, inst):
    d = Dataset()
    d.PatientName = name
    d.InstitutionName = inst
    d.StudyDate = C["other_date"]
    d.OperatorsName = C["operator"]
    return d


def plant(ds, sop_ref, old_age):
    ds.PatientName = C["name"]
    ds.OtherPatientNames = C["other_name"]
    ds.PatientBirthName = C["birth_name"]
    ds.PatientMotherBirthName = C["mother"]
    ds.ResponsiblePerson = C["resp"]
    ds.ResponsiblePersonRole = "QZXROLE"
    ds.ReferringPhysicianName = C["referring"]
    ds.PhysiciansOfRecord = C["phys_record"]
    ds.PerformingPhysicianName = C["performing"]
    ds.NameOfPhysiciansReadingStudy = C["reading"]
    ds.OperatorsName = C["operator"]
    ds.RequestingPhysician = C["requesting"]
    ds.PatientAddress = C["addr"]
    ds.MilitaryRank = C["military"]
    ds.BranchOfService = C["branch"]
    ds.MedicalRecordLocator = C["locator"]
    ds.InstitutionName = C["inst"]
    ds.InstitutionAddress = C["inst_addr"]
    ds.StationName = C["station"]
    ds.InstitutionalDepartmentName = C["dept"]
    ds.RequestedProcedureLocation = C["proc_loc"]
    ds.ReferringPhysicianAddress = C["ref_addr"]
    ds.PatientTelephoneNumbers = C["phone"]
    ds.ReferringPhysicianTelephoneNumbers = C["ref_phone"]
    ds.PatientID = C["pid"]
    ds.OtherPatientIDs = C["other_pid"]
    op = Dataset(); op.PatientID = C["other_pid"] + "X"; op.IssuerOfPatientID = C["issuer"]; op.TypeOfPatientID = "TEXT"
    ds.OtherPatientIDsSequence = Sequence([op])
    ds.IssuerOfPatientID = C["issuer"]
    ds.StudyID = C["study_id"]
    ds.DeviceSerialNumber = C["serial"]
    ds.PlacerOrderNumberImagingServiceRequest = C["placer"]
    ds.FillerOrderNumberImagingServiceRequest = C["filler"]
    ds.AccessionNumber = C["accession"]
    ds.PatientBirthDate = C["birth_date"]
    ds.PatientBirthTime = "101010"
    ds.AdmittingDiagnosesDescription = C["admitting"]
    ds.AdditionalPatientHistory = C["history"]
    ds.MedicalAlerts = C["alerts"]
    ds.Allergies = C["allergies"]
    ds.PatientComments = C["pcomments"]
    ds.Occupation = C["occupation"]
    ds.AdmissionID = C["admission"]
    ds.RetrieveURL = C["retrieve_url"]
    ds.StationAETitle = C["ae"]
    ds.PerformedProcedureStepID = C["pps_id"]
    ds.ScheduledPerformingPhysicianName = C["sched_phys"]
    ds.ImageComments = FREE
    ds.StudyComments = "study comment " + FREE
    ds.ReasonForTheRequestedProcedure = "QZX reason"
    ds.add_new((0x0040, 0x2001), "LO", "follow up, contact 555-867-5309")  # Reason for Imaging Service Request (retired)
    ds.SeriesDescription = ds.SeriesDescription  # kept: descriptors are cleaned, not removed
    ds.PatientAge = "095Y" if old_age else "054Y"
    ds.ScheduledProcedureStepStartDate = C["other_date"]
    ds.PerformedProcedureStepStartDate = C["other_date"]
    ds.PerformedProcedureStepStartTime = "111111"
    ds.InstanceCreationDate = C["other_date"]
    # Referenced Patient Sequence, Original Attributes Sequence, Icon Image Sequence
    rp = Dataset(); rp.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.1.1"; rp.ReferencedSOPInstanceUID = "1.2.3.4.5.6.7.8.9.10"
    ds.ReferencedPatientSequence = Sequence([rp])
    oa = Dataset()
    mod = Dataset(); mod.PatientName = C["orig_name"]; mod.PatientID = C["pid"] + "0"
    oa.ModifiedAttributesSequence = Sequence([mod])
    oa.AttributeModificationDateTime = "20240101120000"
    oa.ModifyingSystem = "QZXSYSTEM"
    oa.SourceOfPreviousValues = "QZXSOURCE"
    oa.ReasonForTheAttributeModification = "COERCE"
    ds.OriginalAttributesSequence = Sequence([oa])
    ic = Dataset(); ic.Rows = 2; ic.Columns = 2; ic.SamplesPerPixel = 1; ic.PhotometricInterpretation = "MONOCHROME2"
    ic.BitsAllocated = 8; ic.BitsStored = 8; ic.HighBit = 7; ic.PixelRepresentation = 0; ic.PixelData = b"QZXI"
    ds.IconImageSequence = Sequence([ic])
    # depth 1-3 inside Request Attributes: PHI and a reference to another instance
    rq = ds.RequestAttributesSequence[0]
    rq.RequestedProcedureID = C["req_proc_id"]
    rq.ScheduledProcedureStepID = C["sps_id"]
    rq.RequestingPhysician = C["requesting"]
    rq.AccessionNumber = C["accession"]
    ref_study = Dataset()
    ref_study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref_study.ReferencedSOPInstanceUID = ds.StudyInstanceUID
    img = Dataset()
    img.ReferencedSOPClassUID = ds.SOPClassUID
    img.ReferencedSOPInstanceUID = sop_ref
    img.PatientName = C["deep_name"]            # depth 3
    img.InstitutionName = C["deep_inst"]
    img.ContentDate = C["other_date"]
    img.ReferencedPatientSequence = Sequence([pn_item(C["deep_name"], C["deep_inst"])])
    ref_study.ReferencedImageSequence = Sequence([img])   # depth 2
    rq.ReferencedStudySequence = Sequence([ref_study])    # depth 1
    # an undefined-length sequence at depth 0 that references another file
    ri = Dataset(); ri.ReferencedSOPClassUID = ds.SOPClassUID; ri.ReferencedSOPInstanceUID = sop_ref
    ds.ReferencedImageSequence = Sequence([ri])
    ds.SourceImageSequence = Sequence([pn_item(C["deep_name"], C["deep_inst"])])
    # overlays and curves
    ds.add_new((0x6000, 0x4000), "LT", C["overlay"])
    ds.add_new((0x6000, 0x0022), "LO", C["overlay"])
    ds.add_new((0x5000, 0x2500), "LO", C["curve"])
    # private blocks: text with PHI, binary blob, nested private sequence
    # private elements outside the diffusion allow-list are removed, text
    # included: plant the patient's own name and id plus a pattern there
    ds.add_new((0x0035, 0x0010), "LO", "ACME VENDOR")
    ds.add_new((0x0035, 0x1001), "LO", C["name"] + " 123-45-6789")
    ds.add_new((0x0035, 0x1002), "OB", C["priv_bin"].encode() + b"\x00\x01\x02\x03")
    ds.add_new((0x0035, 0x1003), "LO", C["pid"])
    ps = Dataset(); ps.PatientName = C["deep_name"]
    ps.add_new((0x0035, 0x0010), "LO", "ACME VENDOR")
    ps.add_new((0x0035, 0x1004), "LO", "ref " + C["accession"])
    ds.add_new((0x0035, 0x1005), "SQ", Sequence([ps]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("study")
    ap.add_argument("--old-age", action="store_true")
    ap.add_argument("--canaries")
    a = ap.parse_args()
    paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(a.study) for f in fs if f.endswith(".dcm"))
    sops = [pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in paths]
    for i, p in enumerate(paths):
        ds = pydicom.dcmread(p)
        plant(ds, sops[(i + 1) % len(sops)], a.old_age)
        ds.save_as(p, write_like_original=False)
    if a.canaries:
        with open(a.canaries, "w") as f:
            for k, v in C.items():
                if k in ("birth_date", "other_date"):
                    continue
                f.write(v + "\n")
            for v in FREE_CANARIES:
                f.write(v + "\n")
    print("planted canaries in %d files" % len(paths))


if __name__ == "__main__":
    main()
