// SPDX-License-Identifier: Apache-2.0
// The Audit page (issue 19): admins only; filters by actor, action, study and
// time narrow the rows; pages of 50; CSV and JSON exports hold the filtered
// records; times in local time with the zone; it fits at 1024 px. A user-role
// session sees no Audit link, is sent away from #/audit, and the API says 403.
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export default async function (t) {
  const { page, step, ok, api, apiJson, shot, go, download, env } = t;
  const db = join(env.NP_HOME, 'db/agent.sqlite');
  const sql = (q) => execFileSync('sqlite3', [db, q]).toString();
  const rows = () => page.$$eval('#audit tbody tr[data-id]', (r) => r.map((x) => ({
    action: x.dataset.action, actor: x.querySelector('.actor').textContent, study: x.querySelector('.study').textContent,
    time: x.querySelector('time') ? x.querySelector('time').getAttribute('datetime') : '' })));
  const settle = () => page.waitForLoadState('networkidle').catch(() => {});
  // A datetime-local value (the browser's local time, to the minute) of an ISO time.
  const local = (iso) => page.evaluate((s) => {
    const d = new Date(s), p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }, iso);
  const STUDY = 'abcdef01-2345-4678-89ab-cdef01234567';

  await step('audit page', async () => {
    // Records of a past day the test knows, and 60 of one actor (two pages).
    const old = Array.from({ length: 60 }, (_, i) =>
      `('2020-02-01T10:${String(i).padStart(2, '0')}:00Z', 'pager@example.test', 'admin', '10.0.0.9', 'settings_change', NULL, 'keys=qc.enabled', 'success')`);
    sql(`INSERT INTO audit (ts, actor, role, client, action, npuid, detail, outcome) VALUES
      ('2020-01-01T10:00:00Z', 'auditor@example.test', 'admin', '10.0.0.8', 'retry', '${STUDY}', NULL, 'success'),
      ('2020-01-01T12:00:00Z', 'auditor@example.test', 'admin', '10.0.0.8', 'delete', '${STUDY}', NULL, 'failure'),
      ${old.join(',\n')}`);
    ok((await page.isVisible('a[data-page=audit]')), 'an admin has an Audit link in the navigation');
    await go('audit', '#audit tbody tr[data-id]');
    const all = await apiJson('/api/audit?limit=1');
    ok((await page.textContent('#audit-range')).endsWith(`of ${all.total}`) && (await rows()).length === 50,
      'the page shows the newest 50 records and says how many there are', await page.textContent('#audit-range'));
    const zone = await page.evaluate(() => new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(new Date()).find((x) => x.type === 'timeZoneName').value);
    const cell = await page.textContent('#audit tbody tr[data-id] time');
    ok(cell.endsWith(' ' + zone) && !/T\d\d:/.test(cell), 'times are local with the time zone, not ISO', cell);
    ok((await page.$$eval('#audit-action option', (o) => o.map((x) => x.value))).includes('login'), 'the action filter offers the recorded actions');

    await page.selectOption('#audit-action', 'login');
    await page.waitForFunction(() => [...document.querySelectorAll('#audit tbody tr[data-id]')].every((r) => r.dataset.action === 'login'));
    const logins = await rows();
    ok(logins.length > 0 && logins.every((r) => r.action === 'login'), 'the action filter keeps only that action', logins.length);
    await page.selectOption('#audit-action', '');

    await page.selectOption('#audit-actor', 'auditor@example.test');
    await page.waitForFunction(() => document.querySelector('#audit-range').textContent.endsWith('of 2'));
    let r = await rows();
    ok(r.length === 2 && r.every((x) => x.actor === 'auditor@example.test'), 'the actor filter keeps only that actor', JSON.stringify(r));
    await page.selectOption('#audit-actor', '');
    await page.fill('#audit-study', STUDY.slice(0, 8));
    await page.press('#audit-study', 'Enter');
    await page.waitForFunction(() => document.querySelector('#audit-range').textContent.endsWith('of 2'));
    r = await rows();
    ok(r.length === 2 && r.every((x) => x.study === STUDY), 'the study filter (a UID\'s beginning) keeps that study\'s records', JSON.stringify(r));
    await page.fill('#audit-study', '');
    await page.fill('#audit-since', await local('2020-01-01T09:00:00Z'));
    await page.fill('#audit-until', await local('2020-01-01T11:00:00Z'));
    await page.click('#audit-apply');
    await page.waitForFunction(() => document.querySelector('#audit-range').textContent.endsWith('of 1'));
    r = await rows();
    ok(r.length === 1 && r[0].time === '2020-01-01T10:00:00.000Z', 'a time range keeps the records in it', JSON.stringify(r));
    await page.click('#audit-reset');
    await page.waitForFunction((n) => document.querySelector('#audit-range').textContent.endsWith('of ' + n), all.total);
    ok(true, 'Clear shows every record again');

    // Pages: 60 records of one actor are 50 and 10.
    await page.selectOption('#audit-actor', 'pager@example.test');
    await page.waitForFunction(() => document.querySelector('#audit-range').textContent === '1–50 of 60');
    await page.click('#audit-next');
    await page.waitForFunction(() => document.querySelector('#audit-range').textContent === '51–60 of 60');
    ok((await rows()).length === 10 && await page.isDisabled('#audit-next') && !(await page.isDisabled('#audit-prev')), 'Next shows the second page, the last');
    await page.click('#audit-prev');
    await page.waitForFunction(() => document.querySelector('#audit-range').textContent === '1–50 of 60');

    // Exports hold the filtered records.
    const csv = await download(() => page.click('#audit-csv'));
    const lines = csv.body.toString().trim().split(/\r?\n/);
    ok(csv.name === 'audit.csv' && lines[0].startsWith('id,ts,actor') && lines.length === 61 && lines.slice(1).every((l) => l.includes(',pager@example.test,')),
      'Export CSV downloads the 60 filtered records', `${csv.name} ${lines.length} ${lines[1]}`);
    const json = await download(() => page.click('#audit-json'));
    let items = [];
    try { items = JSON.parse(json.body.toString()).items; } catch { /* checked below */ }
    ok(json.name === 'audit.json' && items.length === 60 && items.every((x) => x.actor === 'pager@example.test'),
      'Export JSON downloads the same records', `${json.name} ${items.length}`);
    await page.selectOption('#audit-actor', '');
    await settle();
    await shot('audit');
    await page.setViewportSize({ width: 1024, height: 800 });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    ok(wide <= 0, 'the Audit page fits 1024 px (no horizontal scroll)', wide + ' px too wide');
    const tall = await page.evaluate(() => { const f = document.querySelector('#audit-filters'); const b = f.querySelector('button'); return f.getBoundingClientRect().height / b.getBoundingClientRect().height; });
    ok(tall < 4, 'its filters take at most two rows at 1024 px', tall);
    await shot('audit-1024');
    await page.setViewportSize({ width: 1440, height: 900 });
    await shot('audit-1440');
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  // Issue 19: failed studies can be retried or deleted from the Studies page,
  // through its Failed filter.
  await step('failed studies: Retry and Delete', async () => {
    const failed = await t.studiesIn('failed');
    ok(failed.length > 0, 'the fixtures have a failed study');
    await go('studies', '#studies tbody tr');
    await page.selectOption('#filter-state', 'failed');
    await page.waitForFunction(() => [...document.querySelectorAll('#studies tbody tr[data-npuid]')].length > 0 &&
      [...document.querySelectorAll('#studies tbody tr[data-npuid] td:nth-child(4)')].every((c) => /Failed/.test(c.textContent)));
    const ids = await page.$$eval('#studies tbody tr[data-npuid]', (r) => r.map((x) => x.dataset.npuid));
    const missing = [];
    for (const id of ids) for (const l of ['Retry', 'Delete']) if ((await t.action(id, l).count()) !== 1) missing.push(`${id} ${l}`);
    ok(ids.length === failed.length && missing.length === 0, 'the Failed filter lists every failed study, each with Retry and Delete', missing.join(', '));
    await page.selectOption('#filter-state', '');
  });

  await step('audit page is for admins only', async () => {
    const cookies = await page.context().cookies();
    const admin = cookies.find((c) => c.name === 'np_session');
    // A user-role session: a row and its HMAC-signed token, as the agent makes them.
    const key = Buffer.from(readFileSync(join(env.NP_HOME, 'etc/secrets/http.session_key'), 'utf8').trim(), 'hex');
    const sid = randomBytes(32).toString('hex'), csrf = randomBytes(32).toString('hex'), now = Date.now() / 1000;
    // (Its method is not saml: a SAML session is bound to a hash of the SAML
    // settings, which earlier steps changed; the role is what counts here.)
    sql(`INSERT INTO sessions VALUES ('${sid}', 'reader@example.test', 'user', 'password', ${now}, ${now}, '${csrf}', NULL)`);
    const token = sid + '.' + createHmac('sha256', key).update(sid).digest('hex');
    try {
      await page.context().addCookies([{ ...admin, value: token }]);
      await page.reload();
      await page.waitForSelector('#studies tbody tr');
      ok((await page.textContent('#who')).includes('(user)'), 'signed in as a user', await page.textContent('#who'));
      ok(await page.isHidden('a[data-page=audit]'), 'a user has no Audit link');
      await page.evaluate(() => { location.hash = '#/audit'; });
      await page.waitForFunction(() => location.hash === '#/studies');
      ok(!(await page.$('#audit')), 'a user who opens #/audit is sent to Studies');
      const res = await api('/api/audit');
      ok(res.status === 403, 'the API refuses the audit trail to a user', res.status);
    } finally {
      await page.context().addCookies([admin]);
      await page.evaluate(() => { location.hash = '#/studies'; });
      await page.reload();
      await page.waitForSelector('#studies tbody tr');
    }
    ok((await page.textContent('#who')).includes('(admin)'), 'back as the admin');
  });
}
