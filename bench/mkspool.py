#!/usr/bin/python3
# bench/mkspool.py HOME N [OLD_PERCENT]: N study folders in HOME/spool, as
# the pipeline leaves them after ten years: mostly done, a few in every
# other state; each with a manifest.json of an 8-series MR study (~2.5 KB,
# the fields the index reads and the series list it does not) and a
# history.jsonl. OLD_PERCENT (default 10) of the finished ones get a
# history older than any retention period (mtime 2015), for np-retain.
# Written with plain os calls, no fsync: a bench spool, not a durable one.
# The study at position i has npuid "0000000i-0000-4000-a000-00000000000i"
# (hex) so runs compare. N "-": the folders of the "NPUID STATE" lines on
# standard input (bench/api.sh: the studies it opens of a generated index).
import json, os, sys

home = sys.argv[1]
given = [l.split() for l in sys.stdin] if sys.argv[2] == '-' else None
n = len(given) if given else int(sys.argv[2])
old_pct = int(sys.argv[3]) if len(sys.argv) > 3 else 10
STATES = ['done'] * 90 + ['failed'] * 3 + ['qc-failed'] * 3 + ['cancelled', 'results', 'uploaded', 'ready']
OLD = 1420070400  # 2015-01-01
for s in set(STATES):
    os.makedirs(os.path.join(home, 'spool', s), exist_ok=True)
os.makedirs(os.path.join(home, 'spool', 'tmp'), exist_ok=True)
series = [{'series_instance_uid': '1.2.826.0.1.3680043.8.498.%d.%d' % (k, k * 7), 'number': k + 1, 'modality': 'MR',
           'description': d, 'protocol': d, 'manufacturer': 'SIEMENS', 'instances': 176 if k else 1200,
           'bytes': 45000000, 'transfer_syntaxes': ['1.2.840.10008.1.2.1'],
           'sop_classes': ['1.2.840.10008.5.1.4.1.1.4'], 'image_types': ['ORIGINAL', 'PRIMARY', 'M', 'ND']}
          for k, d in enumerate(['DTI_64dir', 'T1_MPRAGE', 'T2_FLAIR', 'T2_TSE', 'SWI', 'ASL', 'rsfMRI', 'localizer'])]
for i in range(n):
    state = STATES[i % len(STATES)]
    npuid = '%08x-0000-4000-a000-%012x' % (i >> 16, i)
    if given:
        npuid, state = given[i]
        os.makedirs(os.path.join(home, 'spool', state), exist_ok=True)
    day = i % 3650
    created = '%04d-%02d-%02dT%02d:%02d:%02d.000Z' % (2016 + day // 365, 1 + day % 365 // 31, 1 + day % 28,
                                                      i % 24, i % 60, i * 7 % 60)
    m = {'manifest_version': 1, 'npuid': npuid, 'source': 'dicom', 'format': 'dicom', 'created_at': created,
         'received_at': created, 'stable_at': created, 'stabilized_by': 'timeout', 'source_ae': 'MR_SCANNER_%d' % (i % 4),
         'study': {'study_instance_uid': '1.2.826.0.1.3680043.8.498.1.%d' % i, 'accession_number': 'ACC%d' % i,
                   'description': 'MR BRAIN W/O CONTRAST', 'study_date': created[:10].replace('-', ''),
                   'study_time': '101500', 'study_id': str(i)},
         'study_uids': ['1.2.826.0.1.3680043.8.498.1.%d' % i],
         'patient': {'name': 'PATIENT^%d' % i, 'id': 'PID%d' % i, 'birth_date': '19600101', 'age': '061Y', 'sex': 'F'},
         'modalities': ['MR'], 'series': series,
         'counts': {'series': 8, 'instances': 2432, 'bytes': 360000000, 'unreadable': 0, 'duplicates': 0},
         'transfer_syntaxes': ['1.2.840.10008.1.2.1'], 'products': ['PDvMSA'], 'flags': [],
         'study_name': 'STUDY %d' % i}
    if i % 50 == 0:
        m['group'] = 'group%d' % (i % 7)
    d = os.path.join(home, 'spool', state, npuid)
    os.mkdir(d)
    with open(os.path.join(d, 'manifest.json'), 'w') as f:
        f.write(json.dumps(m, separators=(',', ':')))
    h = os.path.join(d, 'history.jsonl')
    with open(h, 'w') as f:
        f.write('{"ts":"%s","from":"","to":"incoming","reason":"received"}\n'
                '{"ts":"%s","from":"results","to":"%s","reason":""}\n' % (created, created, state))
    if state in ('done', 'failed', 'cancelled', 'qc-failed') and i % 100 < old_pct:
        os.utime(h, (OLD, OLD))
