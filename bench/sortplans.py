#!/usr/bin/python3
# bench/sortplans.py DB [REGEX]: the page statement of GET /api/studies for
# every filter the Studies page sends (state, QC, group, date range, search,
# and pairs of them) with every sort key, both ways, and a keyset page:
# its query plan (SORT when SQLite sorts the matching rows: "USE TEMP
# B-TREE FOR ORDER BY") and the time of one run on DB, with the probes
# that chose it, without the count (a copy of an index,
# e.g. bench/api.sh's; NP_HOME must name an agent home for np-httpd
# --studies-sql). The slowest last. REGEX: only the query strings matching.
import os, re, sqlite3, subprocess, sys, time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
db = sys.argv[1]
pat = re.compile(sys.argv[2]) if len(sys.argv) > 2 else None
c = sqlite3.connect(db)
c.execute('PRAGMA mmap_size = 268435456')
newest = c.execute('SELECT created_at || \'|\' || npuid FROM studies ORDER BY created_at DESC, npuid DESC '
                   'LIMIT 1 OFFSET 999').fetchone()
filters = ['', 'state=done', 'state=failed', 'state=incoming', 'qc=passed', 'qc=failed', 'qc=pending', 'group=group3',
           'state=done&qc=passed', 'state=failed&qc=bypassed', 'from=2026-03-01&to=2026-03-31',
           'state=done&from=2026-03-01&to=2026-03-31', 'q=group3', 'q=ord777']
sorts = ['created_at', 'updated_at', 'state', 'npuid', 'study_date', 'group_name', 'qc_result']
cases = ['%s%ssort=%s%s&size=50' % (f, '&' if f else '', d, s) for f in filters for s in sorts for d in ('', '-')]
if newest:
    cases += ['%s%ssize=50&cursor=%s' % (f, '&' if f else '', newest[0]) for f in filters if not f.startswith('q=')]


def statements(query):
    out = subprocess.run([TOP + '/build/sbin/np-httpd', '--studies-sql', query], capture_output=True, text=True,
                         check=True).stdout
    params, stmts = {}, []
    for line in out.splitlines():
        m = re.match(r'''\.parameter set \?(\d+) "'(.*)'"$''', line)
        if m:
            params[int(m.group(1))] = re.sub(r'\\(.)', r'\1', m.group(2)).replace("''", "'")
        elif line.strip():
            s = line.strip().rstrip(';')
            stmts.append((s, [params[i] for i in range(1, max([int(x) for x in re.findall(r'\?(\d+)', s)] or [0]) + 1)]))
    return stmts


rows = []
for q in cases:
    if pat and not pat.search(q):
        continue
    st = statements(q)
    page = [s for s in st if s[0].startswith('SELECT npuid')]
    s, a = page[0]
    plan = ' / '.join(r[3] for r in c.execute('EXPLAIN QUERY PLAN ' + s, a))
    t0 = time.perf_counter()
    for p, pa in st[:st.index(page[0])]:  # the probes that chose it
        c.execute(p, pa).fetchall()
    n = len(c.execute(s, a).fetchall())
    ms = (time.perf_counter() - t0) * 1000
    rows.append((ms, q, n, 'SORT' if 'TEMP B-TREE FOR ORDER BY' in plan else 'walk', plan))
rows.sort()
for ms, q, n, kind, plan in rows:
    print('%9.1f ms %-4s %3d  %-55s %s' % (ms, kind, n, q, plan))
