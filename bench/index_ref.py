#!/usr/bin/python3
# The references of bench/index.sh, on the same spool:
#   rebuild HOME SCHEMA DB   every manifest into a fresh index (same schema,
#                            same columns np_db_study_put writes), one
#                            transaction, one prepared statement
#   check HOME DB            one SELECT per study folder
#   oldcopy HOME DEST N      copy N finished study folders to DEST (for the
#                            reference purge)
import json, os, shutil, sqlite3, sys

STATES = ['stable', 'qc-passed', 'qc-failed', 'ready', 'uploaded', 'results', 'done', 'failed', 'cancelled']


def folders(home):
    for s in STATES:
        d = os.path.join(home, 'spool', s)
        if os.path.isdir(d):
            for e in os.scandir(d):
                if e.is_dir() and not e.name.startswith('.'):
                    yield s, e.name, e.path


def get(m, path):
    for k in path.split('.'):
        m = m.get(k) if isinstance(m, dict) else None
    if isinstance(m, (list, dict)):
        return json.dumps(m, separators=(',', ':'))
    return m


COLS = [('source', 'source'), ('format', 'format'), ('study_uid', 'study.study_instance_uid'),
        ('study_name', 'study_name'), ('accession', 'study.accession_number'), ('patient_name', 'patient.name'),
        ('patient_id', 'patient.id'), ('patient_age', 'patient.age'), ('patient_sex', 'patient.sex'),
        ('study_date', 'study.study_date'), ('study_description', 'study.description'),
        ('modalities', 'modalities'), ('calling_ae', 'source_ae'), ('group_name', 'group'),
        ('products', 'products'), ('instances', 'counts.instances'), ('series', 'counts.series'),
        ('bytes', 'counts.bytes'), ('linked_npuid', 'linked_npuid'), ('flags', 'flags'),
        ('created_at', 'created_at'), ('stable_at', 'stable_at')]

cmd = sys.argv[1]
if cmd == 'rebuild':
    home, schema, db = sys.argv[2:5]
    for p in (db, db + '-wal', db + '-shm'):
        if os.path.exists(p):
            os.unlink(p)
    c = sqlite3.connect(db, isolation_level=None)
    c.execute('PRAGMA journal_mode=WAL')
    c.execute('PRAGMA synchronous=NORMAL')
    c.executescript(open(schema).read())
    sql = 'INSERT INTO studies (npuid, state, stable, %s) VALUES (?, ?, 1, %s)' % (
        ', '.join(k for k, _ in COLS), ', '.join('?' * len(COLS)))
    c.execute('BEGIN IMMEDIATE')
    for state, npuid, d in folders(home):
        with open(os.path.join(d, 'manifest.json'), 'rb') as f:
            m = json.loads(f.read())
        c.execute(sql, [npuid, state] + [get(m, p) for _, p in COLS])
    c.execute('COMMIT')
elif cmd == 'check':
    home, db = sys.argv[2:4]
    c = sqlite3.connect(db)
    bad = 0
    for state, npuid, d in folders(home):
        r = c.execute('SELECT state FROM studies WHERE npuid = ?', (npuid,)).fetchone()
        bad += not r or r[0] != state
    for (npuid,) in c.execute('SELECT npuid FROM studies'):
        pass
    print(bad)
elif cmd == 'oldcopy':
    home, dest, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
    os.makedirs(dest, exist_ok=True)
    k = 0
    for state, npuid, d in folders(home):
        if k >= n:
            break
        if state == 'done':
            shutil.copytree(d, os.path.join(dest, npuid))
            k += 1
