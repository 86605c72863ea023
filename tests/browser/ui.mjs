// SPDX-License-Identifier: Apache-2.0
// Browser test of the web UI: Debian's chromium driven by playwright-core,
// against an agent home filled by the pipeline (tests/e2e/80-browser.t).
// usage: node ui.mjs BASE_URL PASSWORD OUTDIR   (prints TAP)
// Env: NP_HOME (the agent home), NP_CANARY (PHI, a regular expression, that
// must not be in the DOM until revealed; its first word is the canary put in
// the received studies), NP_STUDY_DIR and NP_UPLOAD_ZIP (a study folder and a
// study ZIP for Manual Upload), NP_GROUP_DIR (a folder of study ZIPs),
// NP_TLS_DIR (tls.crt, tls.key, other.key), NP_HOOK_DIR (requests the webhook
// receiver recorded), CLOUD_URL (the cloud stand-in), NP_IDP_METADATA (URL of
// IdP metadata), NP_TRUTH and NP_OPS (ids of the studies of
// tests/browser/status-fixtures.sh and ops-fixtures.sh).
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(process.env.NP_NODE_MODULES ? join(process.env.NP_NODE_MODULES, 'x.js') : import.meta.url);
const { chromium } = require('playwright-core');
const [base, password, outdir] = process.argv.slice(2);
const env = process.env;
mkdirSync(outdir, { recursive: true });
const canary = new RegExp(env.NP_CANARY || 'CANARY');
const revealed = (env.NP_CANARY || 'CANARY').split('|')[0];
let n = 0, failed = 0;
const ok = (cond, name, extra) => { n++; if (!cond) failed++; console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`); if (!cond && extra) console.log('# ' + String(extra).replace(/\n/g, '\n# ')); };
const step = async (name, fn) => {
  const t0 = Date.now();
  try { await fn(); } catch (e) {
    const shown = await page.textContent('#toast').catch(() => '');
    ok(false, name, (shown ? 'UI says: ' + shown + '\n' : '') + (e.stack || e));
    // leave no dialog open to block the next steps
    await page.evaluate(() => document.querySelectorAll('dialog').forEach((d) => { d.close(); d.remove(); })).catch(() => {});
  }
  console.log(`# ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
};

const profile = mkdtempSync(join(tmpdir(), 'np-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM || '/usr/bin/chromium', headless: true, acceptDownloads: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1360, height: 900 },
});
ctx.setDefaultTimeout(15000);
const page = ctx.pages()[0] || await ctx.newPage();
const consoleErrors = [];
const watch = (p) => {
  // A 4xx/5xx an action is expected to get (a refused certificate) is shown
  // in the UI; the browser logs it as a failed resource, which is not an error.
  p.on('console', (m) => { if (m.type() === 'error' && !/favicon|autocomplete|Failed to load resource/.test(m.text())) consoleErrors.push(m.text()); });
  p.on('pageerror', (e) => consoleErrors.push(String(e)));
};
watch(page);

// The API as the page's session sees it.
const api = async (path, opts = {}) => page.evaluate(async ([p, o]) => {
  const csrf = (document.cookie.match(/np_csrf=([^;]+)/) || [])[1] || '';
  const r = await fetch(p, { ...o, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': decodeURIComponent(csrf) } });
  return { status: r.status, body: await r.text() };
}, [path, opts]);
const apiJson = async (path) => JSON.parse((await api(path)).body);
const studiesIn = async (state) => (await apiJson('/api/studies?size=100&state=' + state)).items || [];
const stateOf = async (id) => (await apiJson('/api/study-info/' + id)).state;
// A page is shot whole; a dialog (modal, in the viewport) with the viewport
// only. A very long page (Settings, 12000 pixels) takes seconds to shoot
// whole: whole in the light theme, its first screen in the dark one.
const shot = async (name) => {
  const dialog = !!(await page.$('dialog[open]'));
  const tall = !dialog && (await page.evaluate(() => document.documentElement.scrollHeight)) > 3000;
  for (const theme of ['light', 'dark']) {
    await page.evaluate((t) => { document.documentElement.dataset.theme = t; }, theme);
    await page.screenshot({ path: join(outdir, `${name}-${theme}.png`), fullPage: !dialog && !(tall && theme === 'dark') });
  }
  await page.evaluate(() => { document.documentElement.dataset.theme = localStorage.getItem('np-theme') || 'light'; });
};
const dialogButton = (label) => page.locator('dialog[open] footer button', { hasText: label });
const closeDialog = async () => {
  await page.keyboard.press('Escape');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
};
// Toasts stay a few seconds: clear them before an action whose toast is
// awaited, so an earlier one with the same words does not answer for it.
const clearToasts = () => page.evaluate(() => document.querySelector('#toast').replaceChildren());
const waitToast = (re) => page.waitForFunction((src) => new RegExp(src).test(document.querySelector('#toast').textContent), re.source);
const go = async (name, ready) => {
  await page.click(`a[data-page=${name}]`);
  await page.waitForSelector(ready);
};
const row = (id) => page.locator(`#studies tr[data-npuid="${id}"]`);
// A row action; one in the row's More menu is clicked after opening the menu.
const inMenu = (scope, item) => Object.assign(Object.create(item), {
  click: async (o) => {
    if (!(await item.isVisible()) && (await scope.locator('.row-menu-btn').count())) await scope.locator('.row-menu-btn').first().click();
    return item.click(o);
  },
});
const action = (id, label) => inMenu(row(id), row(id).locator('button', { hasText: new RegExp('^' + label + '$') }));
// A download started by click(); its bytes.
const download = async (click) => {
  const [d] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: d.suggestedFilename(), body: readFileSync(await d.path()) };
};
// Requests the webhook receiver got, oldest first.
const hook = () => readdirSync(env.NP_HOOK_DIR).filter((f) => f.endsWith('.json')).sort()
  .map((f) => JSON.parse(readFileSync(join(env.NP_HOOK_DIR, f), 'utf8')));
const hooked = (path) => hook().filter((r) => r.path === path);
const waitHook = async (path, count) => {
  for (let i = 0; i < 100 && hooked(path).length < count; i++) await page.waitForTimeout(100);
  return hooked(path);
};
const cloudState = async () => (await fetch(env.CLOUD_URL + '/_state')).json();
// Every file under dir (recursively) whose bytes match re.
const grepTree = (dir, re) => {
  const hits = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) hits.push(...grepTree(p, re));
    else if (e.isFile() && statSync(p).size < 64 << 20 && re.test(readFileSync(p, 'latin1'))) hits.push(p);
  }
  return hits;
};

let done, qcFailed, processing, incoming;

await step('login', async () => {
  await page.goto(base + '/');
  await page.waitForSelector('#password');
  await shot('login');
  await page.fill('#password', 'wrong-password-value');
  await page.click('button[type=submit]');
  await page.waitForSelector('.login .error:not(:empty)');
  ok((await page.textContent('.login .error')).includes('Wrong password'), 'a wrong password is refused with a message');
  await page.fill('#password', password);
  const [login] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/auth/login')), page.click('button[type=submit]')]);
  await page.waitForSelector('#studies tbody tr');
  ok(await page.isVisible('#topbar'), 'password login opens the Studies page');
  // Issue 19: the top bar names who is signed in.
  const answer = await login.json().catch(() => ({}));
  ok(answer.actor === 'service' && answer.actor === (await apiJson('/api/auth/session')).actor, 'the login answer names the actor, as /api/auth/session does', JSON.stringify(answer.actor));
  const who = await page.textContent('#who');
  ok(who === 'service (admin)', 'the top bar shows the actor and the role', who);
});

await step('studies from the pipeline', async () => {
  [done] = await studiesIn('done');
  [qcFailed] = await studiesIn('qc-failed');
  [processing] = await studiesIn('uploaded');
  [incoming] = await studiesIn('incoming');
  ok(done && qcFailed && processing && incoming, 'the pipeline left a delivered, a QC-failed, a processing and a receiving study',
    JSON.stringify((await apiJson('/api/studies')).items.map((s) => s.state)));
  for (const s of [done, qcFailed, processing, incoming]) await page.waitForSelector(`#studies tr[data-npuid="${s.npuid}"]`);
  ok(true, 'each of them is listed');
  ok(!canary.test(await page.content()), 'PHI is not in the DOM before Reveal');
  ok((await row(done.npuid).textContent()).includes('[Redacted]'), 'PHI columns show [Redacted]');
  ok(/Delivered/.test(await row(done.npuid).textContent()) && /Receiving/.test(await row(incoming.npuid).textContent()) &&
    /QC Failed/.test(await row(qcFailed.npuid).textContent()), 'each study shows its status');
  ok((await row(done.npuid).locator('td').nth(4).textContent()) === 'Yes' && (await row(incoming.npuid).locator('td').nth(4).textContent()) === 'No',
    'the Stable column tells a received study from a stable one');
  await shot('studies');
  await page.click('#reveal-all');
  await page.waitForFunction((c) => document.querySelector('#studies').textContent.includes(c), revealed);
  ok(true, 'Reveal all shows the PHI to an admin');
  await page.click('#reveal-all');
  await page.waitForFunction((c) => !document.querySelector('#studies').textContent.includes(c), revealed);
  ok(true, 'Hide PHI removes it again');
  await page.selectOption('#filter-state', 'qc-failed');
  await page.waitForFunction(() => { const r = [...document.querySelectorAll('#studies tbody tr[data-npuid]')]; return r.length && r.every((x) => x.textContent.includes('QC Failed')); });
  ok(true, 'the status filter narrows the list');
  await page.selectOption('#filter-state', '');
  await page.fill('#study-search', done.npuid);
  await page.press('#study-search', 'Enter');
  await page.waitForFunction((id) => { const r = document.querySelectorAll('#studies tbody tr[data-npuid]'); return r.length === 1 && r[0].dataset.npuid === id; }, done.npuid);
  ok(true, 'search by Neuropacs UID finds the one study');
  await page.fill('#study-search', '');
  await page.press('#study-search', 'Enter');
  await page.waitForSelector(`#studies tr[data-npuid="${incoming.npuid}"]`);
});

await step('check status', async () => {
  await action(processing.npuid, 'Status').click();
  await page.waitForSelector('dialog[open] #order-status');
  const text = await page.textContent('dialog[open]');
  const order = (await apiJson('/api/study-info/' + processing.npuid)).order || {};
  ok(order.order_id && text.includes(order.order_id) && /Processing/.test(text), 'Check status asks the cloud and shows the order processing', text);
  await shot('order-status');
  await closeDialog();
});

await step('qc', async () => {
  await action(qcFailed.npuid, 'QC').click();
  await page.waitForSelector('dialog[open] #qc-checks');
  const text = await page.textContent('dialog[open]');
  ok(text.includes('Bypassing QC can result in additional processing charges'), 'the QC report shows the bypass warning to admins');
  ok(/fail/i.test(await page.textContent('dialog[open] #qc-checks')), 'the QC report lists the failed checks np-qc wrote');
  await shot('qc-report');
  await dialogButton('Bypass QC').click();
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  const info = await apiJson('/api/study-info/' + qcFailed.npuid);
  ok(info.state === 'qc-passed' && /bypass/.test(JSON.stringify(info.qc)), 'Bypass QC moves the study on and records the bypass', info.state + ' ' + JSON.stringify(info.qc));
});

await step('preview report', async () => {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/reports?neuropacsId=' + done.npuid)),
    action(done.npuid, 'Report').click(),
  ]);
  ok(res.status() === 200 && res.headers()['content-type'] === 'application/pdf', 'Preview report loads the PDF the cloud returned', res.status());
  await page.waitForTimeout(500);
  await shot('report-preview');
  await closeDialog();
});

// Issue 17.4 (fixtures of tests/browser/status-fixtures.sh, ids in NP_TRUTH).
await step('status that tells the truth', async () => {
  const [part, none, failedId] = (env.NP_TRUTH || '').split(' ');
  const status = async (id) => (await row(id).locator('td').nth(3).textContent());
  await page.waitForSelector(`#studies tr[data-npuid="${part}"]`);
  const p = await status(part);
  ok(p.includes('Delivered 2/4 (2 failed)'), 'a study delivered to 2 of its 4 destinations is labelled Delivered 2/4 (2 failed)', p);
  ok(/Destination 2 \(Down\): REST request failed/.test(p) && /Destination 3 \(Mail\): .*550/.test(p), 'with the reason of each failed destination', p);
  const n = await status(none);
  ok(n.includes('Results ready (no delivery configured)'), 'a study with no destination: Results ready (no delivery configured)', n);
  ok(/Delivered 1\/1/.test(await status(done.npuid)), 'the pipeline\'s study: Delivered 1/1');
  await action(part, 'Status').click();
  await page.waitForSelector('dialog[open] #order-final');
  const t = await page.textContent('dialog[open]');
  ok(/Finished: the report was received/.test(t) && /Completed/.test(t) && !/Expired|Bucket not found|0%/.test(t),
    'the status of a delivered study is its stored final state, not the cloud\'s', t);
  await shot('order-status-final');
  await closeDialog();
  await action(failedId, 'Report').click();
  await page.waitForSelector('dialog[open] #report-missing');
  const r = await page.textContent('dialog[open]');
  ok(/no report: the order ended Failed at the cloud: input QC error/.test(r) && !/[{}]/.test(r), 'the report preview of a failed study says why, in words', r);
  ok((await page.locator('dialog[open] a', { hasText: /Download/ }).count()) === 0 && !(await page.$('dialog[open] iframe')),
    'and offers no Download link and no broken preview');
  await shot('report-missing');
  await closeDialog();
});

await step('info dialog', async () => {
  await action(done.npuid, 'Info').click();
  await page.waitForSelector('dialog[open] dl');
  const text = await page.textContent('dialog[open]');
  ok(!canary.test(text) && text.includes('[Redacted]'), 'study information is redacted');
  ok(text.includes('STORESCU') && text.includes('19'), 'study information shows the calling AE and the instance count np-recv recorded', text);
  await shot('study-info');
  await dialogButton('Reveal').click();
  await page.waitForFunction((c) => document.querySelector('dialog[open]').textContent.includes(c), revealed);
  ok(true, 'Reveal in the dialog shows the PHI');
  await closeDialog();
  ok(await page.evaluate(() => document.activeElement && document.activeElement.tagName === 'BUTTON'), 'focus returns to the opener after Escape');
  ok(!canary.test(await page.content()), 'the revealed PHI leaves the DOM with the dialog');
});

await step('cancel order', async () => {
  await action(processing.npuid, 'Cancel').click();
  await dialogButton('Cancel order').click();
  // Cloud protocol v1 (the default, used here) has no cancel call: the agent
  // stops the order on its side and says so.
  await waitToast(/cancelled locally only: cloud protocol v1 has no cancel/);
  ok(true, 'Cancel order tells what was cancelled where');
  await page.waitForFunction((id) => document.querySelector(`#studies tr[data-npuid="${id}"]`).textContent.includes('Cancelled'), processing.npuid);
  const order = (await apiJson('/api/study-info/' + processing.npuid)).order || {};
  ok((await stateOf(processing.npuid)) === 'cancelled' && order.status === 'Cancelled', 'the study moves to cancelled, its order too', JSON.stringify(order));
  const shown = (await row(processing.npuid).locator('td').nth(3).textContent()).trim();
  ok(shown === 'Cancelled', 'the cancelled study reads Cancelled, with no percentage', shown);
  // An order that ended reads as its label alone, even before the study
  // leaves the state it was in; a running order shows its progress.
  const labels = await page.evaluate(async () => {
    const { statusLabel } = await import('/js/pages/studies.js');
    return [['uploaded', 'Cancelled', 100], ['results', 'Completed', 100], ['ready', 'Failed', 40], ['uploaded', 'Expired', 100],
      ['uploaded', 'Processing', 40]].map(([state, order_status, order_progress]) => statusLabel({ state, order_status, order_progress }));
  });
  ok(labels.join() === 'Cloud: Cancelled,Cloud: Completed,Cloud: Failed,Cloud: Expired,Cloud: Processing 40%', 'a terminal order state shows no percentage, a running one does, each said to be the cloud\'s', labels.join());
  ok(await action(processing.npuid, 'Cancel').isDisabled(), 'a cancelled study offers no Cancel');
});

// Issue 17.3: the admin's actions on a study (fixtures of
// tests/browser/ops-fixtures.sh, ids in NP_OPS). No runner works here, so a
// study stays where the action put it. A missing button is reported, not
// waited for.
const [opsRetry, opsDelete, opsCompleted, opsDeliver] = (env.NP_OPS || '').split(' ');
const label = async (id) => row(id).locator('td').nth(3).textContent();
// Every spool path named id (the study folder in any state, claimed or not).
const inSpool = (id, dir = join(env.NP_HOME, 'spool')) => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => (e.name === id ? [join(dir, e.name)] : e.isDirectory() && !/^[0-9a-f-]{36}$/.test(e.name) ? inSpool(id, join(dir, e.name)) : []));

await step('retry a failed study', async () => {
  await page.waitForSelector(`#studies tr[data-npuid="${opsRetry}"]`);
  ok(/^Failed/.test(await label(opsRetry)), 'a study whose delivery failed for good is listed Failed', await label(opsRetry));
  const retry = action(opsRetry, 'Retry');
  ok((await retry.count()) === 1 && (await retry.isEnabled()), 'the failed study offers Retry');
  ok((await action(done.npuid, 'Retry').count()) === 0, 'a delivered study does not');
  if (!(await retry.count())) return;
  await clearToasts();
  await retry.click();
  await waitToast(/goes back to results/);
  await page.waitForFunction((id) => !/^Failed/.test(document.querySelector(`#studies tr[data-npuid="${id}"] td:nth-child(4)`).textContent), opsRetry);
  ok(true, 'Retry says where the study goes and its row leaves Failed');
  ok((await stateOf(opsRetry)) === 'results' && inSpool(opsRetry).join() === join(env.NP_HOME, 'spool/results', opsRetry),
    'the study is back in the state it failed from (results), to be delivered again', inSpool(opsRetry).join(' '));
  ok((await action(opsRetry, 'Retry').count()) === 0, 'and no longer offers Retry');
});

await step('delete a study', async () => {
  const del = action(opsDelete, 'Delete');
  ok((await del.count()) === 1 && inSpool(opsDelete).length === 1, 'an admin is offered Delete on a delivered study');
  if (!(await del.count())) return;
  await del.click();
  await page.waitForSelector('dialog[open]');
  const t = await page.textContent('dialog[open]');
  ok(t.includes(opsDelete) && /removed for good/.test(t) && !canary.test(t), 'Delete asks for confirmation, naming the study by its UID only', t);
  ok(inSpool(opsDelete).length === 1, 'nothing is deleted before the admin confirms');
  await shot('study-delete');
  await clearToasts();
  await dialogButton('Delete study').click();
  await page.waitForSelector(`#studies tr[data-npuid="${opsDelete}"]`, { state: 'detached' });
  await waitToast(/deleted/);
  ok(true, 'confirming removes the study from the list');
  ok(inSpool(opsDelete).length === 0, 'the study folder is gone from the spool', inSpool(opsDelete).join(' '));
  ok((await api('/api/study-info/' + opsDelete)).status === 404, 'the agent no longer knows the study');
});

await step('cancel only where it works', async () => {
  const done2 = action(opsCompleted, 'Cancel');
  ok((await done2.count()) === 1 && (await done2.isDisabled()), 'Cancel is not offered once the cloud reports the order Completed (state uploaded)');
  const r = await api(`/api/studies/${opsCompleted}/cancel`, { method: 'POST' });
  ok(r.status === 409 && /already completed/.test(r.body) && (await stateOf(opsCompleted)) === 'uploaded', 'and the API refuses it, the study kept', r.status + ' ' + r.body);
  const c = action(opsDeliver, 'Cancel');
  ok((await c.count()) === 1 && (await c.isEnabled()) && (await c.getAttribute('aria-label')) === 'Cancel: Cancel delivery ' + opsDeliver &&
    (await c.getAttribute('title')) === 'Cancel delivery', 'in state results Cancel is offered, labelled Cancel delivery', await c.getAttribute('aria-label').catch(() => ''));
  if (!(await c.count())) return;
  await c.click();
  await page.waitForSelector('dialog[open]');
  ok(/delivery of the results/.test(await page.textContent('dialog[open]')), 'its confirmation says the delivery is cancelled');
  await clearToasts();
  await dialogButton('Cancel delivery').click();
  await waitToast(/delivery cancelled: the results are not sent/);
  ok((await stateOf(opsDeliver)) === 'cancelled', 'Cancel delivery stops the study before delivery (cancelled)');
});

await step('groups', async () => {
  await go('groups', '#create-group');
  await page.click('#create-group');
  await page.fill('#group-name', 'Cohort-A');
  await page.fill('#group-products', 'Atypical/MSAp/PSP-v1.0');
  await dialogButton('Create').click();
  await page.waitForSelector('#groups tr[data-group="Cohort-A"]');
  await page.click('#create-group');
  await page.fill('#group-name', 'Cohort-B');
  await page.fill('#group-products', 'Other/Product-v2.0');
  await dialogButton('Create').click();
  await page.waitForSelector('#groups tr[data-group="Cohort-B"]');
  const g = await apiJson('/api/groups/Cohort-A');
  ok(JSON.stringify(g.products) === '["Atypical/MSAp/PSP-v1.0"]', 'groups are created from the form', JSON.stringify(g));
  const tpl = await download(() => page.click('text=Download JSON sidecar template'));
  const t = JSON.parse(tpl.body.toString());
  ok(tpl.name === 'sidecar-template.json' && 'patient_age' in t && 'patient_sex' in t, 'the JSON sidecar template downloads', tpl.body.toString());

  await go('studies', '#studies tbody tr[data-npuid]');
  await action(done.npuid, 'Group').click();
  await page.selectOption('#assign-group', 'Cohort-B');
  await dialogButton('Assign').click();
  await waitToast(/same products/);
  ok(true, 'assigning a study to a group of other products is refused with the rule');
  await closeDialog();
  await action(done.npuid, 'Group').click();
  await page.selectOption('#assign-group', 'Cohort-A');
  await dialogButton('Assign').click();
  await page.waitForSelector(`#studies tr[data-npuid="${done.npuid}"] .badge.group`);
  ok((await apiJson('/api/groups/Cohort-A')).members.some((m) => m.npuid === done.npuid), 'a study is assigned to the group');

  await go('groups', '#groups tr[data-group="Cohort-A"]');
  await page.click('button[aria-label="Delete group Cohort-B"]');
  await dialogButton('Delete').click();
  await page.waitForSelector('#groups tr[data-group="Cohort-B"]', { state: 'detached' });
  ok((await api('/api/groups/Cohort-B')).status === 404, 'an empty group is deleted after confirmation');
  await page.click('#upload-group');
  await page.selectOption('#group-upload-group', 'Cohort-A');
  await page.setInputFiles('#group-upload-files', env.NP_GROUP_DIR);
  await dialogButton('Upload').click();
  await page.waitForFunction(() => Number(document.querySelector('#group-upload-progress').value) === 100 && /uploaded into/.test(document.querySelector('#group-upload-percent').textContent));
  ok(true, 'a folder of study ZIPs uploads into a group, progress to 100%');
  await closeDialog();
  const grp = await apiJson('/api/groups/Cohort-A');
  ok(grp.members.length === 2, 'the uploaded study joins the group', JSON.stringify(grp.members));
  await page.waitForFunction(() => document.querySelector('#groups tr[data-group="Cohort-A"]').children[2].textContent === '2');
  await shot('groups');

  await page.click('button[aria-label="View group Cohort-A"]');
  await page.waitForSelector('dialog[open] #group-members');
  ok((await page.textContent('dialog[open] #group-members')).includes(done.npuid), 'group details list its studies');
  await shot('group-details');
  const csv = await download(() => dialogButton('Download Report').click());
  ok(/\.csv$/.test(csv.name) && csv.body.toString().startsWith('npuid') && csv.body.toString().includes(done.npuid),
    'the group report downloads as CSV with the study', csv.name + '\n' + csv.body.toString().slice(0, 300));
  const before = hooked('/group').length;
  await clearToasts();
  await dialogButton('Send Report').click();
  await waitToast(/sent/i);
  const sent = await waitHook('/group', before + 1);
  let report = '';
  try { report = Buffer.from(JSON.parse(sent[sent.length - 1].body).report, 'base64').toString(); } catch { /* none */ }
  ok(sent.length === before + 1 && report.startsWith('npuid') && report.includes(done.npuid), 'Send Report delivers the group report CSV to the group destination', report);
  ok((await apiJson('/api/groups/Cohort-A')).report_sent_at, 'the group records when its report was sent');
  // With the delivery method None, Send Report says nothing was sent.
  const kept = (await apiJson('/api/settings')).groups.delivery.type;
  const put = (type) => api('/api/settings', { method: 'PUT', body: JSON.stringify({ groups: { delivery: { type } } }) });
  ok((await put('none')).status === 200, 'group delivery set to None');
  await clearToasts();
  if (!(await page.$('dialog[open] #group-members'))) {
    await page.click('button[aria-label="View group Cohort-A"]');
    await page.waitForSelector('dialog[open] #group-members');
  }
  await dialogButton('Send Report').click();
  await waitToast(/Not sent: the group report delivery method is None/);
  ok(hooked('/group').length === before + 1, 'Send Report with delivery None says it sent nothing, and sends nothing');
  ok((await put(kept)).status === 200, 'group delivery restored');
});

await step('results', async () => {
  await go('results', `#results tr[data-npuid="${done.npuid}"]`);
  const r = page.locator(`#results tr[data-npuid="${done.npuid}"]`);
  const magic = { json: (b) => !!JSON.parse(b.toString()), png: (b) => b.subarray(0, 4).toString('latin1') === '\x89PNG', pdf: (b) => b.subarray(0, 5).toString() === '%PDF-',
    txt: (b) => b.length > 0 && !b.includes(0), xml: (b) => /^\s*<(\?xml|[A-Za-z])/.test(b.toString()) };
  for (const f of ['json', 'png', 'pdf', 'txt', 'xml']) {
    const d = await download(() => inMenu(r, r.locator('a', { hasText: new RegExp('^' + f.toUpperCase() + '$') })).click());
    let good = false;
    try { good = d.name === `${done.npuid}.${f}` && magic[f](d.body); } catch { /* not parseable */ }
    ok(good, `the ${f.toUpperCase()} result downloads`, d.name + ' ' + d.body.subarray(0, 60).toString('latin1'));
  }
  await shot('results');
  const [res] = await Promise.all([
    page.waitForResponse((x) => x.url().includes('/api/reports?neuropacsId=' + done.npuid)),
    r.locator('button', { hasText: 'View' }).click(),
  ]);
  ok(res.status() === 200 && res.headers()['content-type'] === 'application/pdf', 'View shows the report in the browser');
  await closeDialog();
  await r.locator('button', { hasText: 'Manage' }).click();
  await page.waitForSelector('dialog[open] table');
  const cells = await page.$$eval('dialog[open] tbody tr:first-child td', (t) => t.map((x) => x.textContent));
  ok(cells[1].startsWith('RIS webhook') && /^sent$/i.test(cells[2]) && cells[3] === '1', 'Manage shows the destination np-deliver sent the result to', cells.join(' | '));
  await shot('results-manage');
  const before = hooked('/results').length;
  await clearToasts();
  await page.locator('dialog[open] tbody button', { hasText: 'Re-send' }).click();
  await waitToast(/Delivered [1-9]/); // the answer's message: Delivered 1/1
  const got = await waitHook('/results', before + 1);
  ok(got.length === before + 1, 'Re-send delivers the result to the destination again');
  await closeDialog();
  const dl = (((await apiJson('/api/results')).items || []).find((x) => x.npuid === done.npuid) || {}).deliveries || {};
  ok(JSON.stringify(dl).includes('"attempts"'), 'the delivery record is updated', JSON.stringify(dl));
});

await step('logs', async () => {
  // np-sched's log as it reads on a quiet agent (the test runs no
  // scheduler): the once-a-minute job lines and the passes of the queue it
  // runs, among them an error, a warning and a job that failed.
  const sched = [
    'info: - started jobs=8',
    'info: - job poll started pid=4101', 'info: - started from=uploaded to=results fail=failed cmd=np-poll jobs=1 recovered=0',
    'info: - stopped from=uploaded failures=0', 'info: - job poll finished status=0 secs=0.1',
    'info: - job notify started pid=4102', 'info: - job notify finished status=0 secs=0.0',
    'info: - job metrics started pid=4103', 'info: - metrics collected alerts=0', 'info: - job metrics finished status=0 secs=0.2',
    'error: - unable to start job retention: Resource temporarily unavailable',
    'warning: - job metrics still running (pid 4103): this run is skipped',
    'info: - job failure-delivery finished status=75 secs=0.3',
    'info: - job poll started pid=4104', 'info: - job poll finished status=0 secs=0.1',
  ];
  const t0 = Date.now() - 10 * 60000;
  mkdirSync(join(env.NP_HOME, 'log', 'np-sched'), { recursive: true });
  writeFileSync(join(env.NP_HOME, 'log', 'np-sched', 'current'), sched.map((l, i) =>
    `${new Date(t0 + i * 20000).toISOString().replace('T', ' ').replace('Z', '000000')}  np-sched: ${l}\n`).join(''));
  const width0 = page.viewportSize();
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.evaluate(() => localStorage.removeItem('np-logs-service'));
  await go('logs', '#logs tbody tr');
  await page.waitForFunction(() => document.body.textContent.includes('unable to start job retention'));
  // Issue 19: one line per entry at 1440 px, a study id (a UUID) included.
  const tall = await page.$$eval('#logs tbody tr', (r) => r.map((x) => {
    const c = getComputedStyle(x.cells[x.cells.length - 1]);
    const one = (parseFloat(c.lineHeight) || 16) * 1.5 + parseFloat(c.paddingTop) + parseFloat(c.paddingBottom) + 1;
    return { text: x.textContent.slice(0, 80), h: x.getBoundingClientRect().height, one };
  }).filter((x) => x.h > x.one));
  const uuids = await page.$$eval('#logs td.id', (c) => c.map((x) => x.textContent).filter((t) => /^[0-9a-f]{8}-/.test(t)).length);
  ok(uuids > 0 && !tall.length, 'every log line is one line tall at 1440 px, study ids included', JSON.stringify(tall.slice(0, 3)));
  ok(await page.$$eval('#logs td.id', (c) => c.every((x) => !x.textContent || x.title === x.textContent)), 'a study id is whole in its title');
  // A class per level, and error, warning and info in three colours in both themes.
  ok(await page.$$eval('#logs tbody tr:not(.fold)', (r) => r.length && r.every((x) => x.classList.contains('level-' + x.cells[2].textContent))),
    'each log line has the class of its level');
  for (const theme of ['light', 'dark']) {
    const colours = await page.evaluate((t) => {
      document.documentElement.dataset.theme = t;
      const of = (l) => { const r = document.querySelector(`#logs tr.level-${l}`); return r && getComputedStyle(r.cells[4]).color; };
      return { error: of('error'), warning: of('warning'), info: of('info') };
    }, theme);
    ok(colours.error && colours.warning && colours.info && new Set(Object.values(colours)).size === 3, `error, warning and info lines have their own colours (${theme})`, JSON.stringify(colours));
  }
  await page.evaluate(() => { document.documentElement.dataset.theme = localStorage.getItem('np-theme') || 'light'; });
  // The scheduler's routine lines are folded; a failed job, an error and a warning are not.
  const shown = () => page.$$eval('#logs tbody tr:not(.fold)', (r) => r.filter((x) => x.cells[1].textContent === 'np-sched').map((x) => x.cells[4].textContent));
  let msgs = await shown();
  ok(!msgs.some((m) => /^job poll (started|finished status=0)|^stopped from=uploaded failures=0$|^metrics collected alerts=0$/.test(m)) &&
    ['unable to start job retention', 'still running', 'failure-delivery finished status=75', 'started jobs=8'].every((s) => msgs.some((m) => m.includes(s))) &&
    (await page.textContent('#logs')).includes('routine scheduler lines folded'), 'the scheduler\'s routine lines are folded by default', msgs.join(' | '));
  await page.check('#log-routine');
  msgs = await shown();
  ok(msgs.includes('job poll started pid=4101') && msgs.includes('metrics collected alerts=0') && !(await page.$('#logs tr.fold')), 'Show routine lines shows them');
  await page.uncheck('#log-routine');
  // The download controls sit on one row, at every width.
  for (const width of [1440, 1360, 1024]) {
    await page.setViewportSize({ width, height: 900 });
    const tops = await page.$$eval('.downloads > *', (e) => e.map((x) => Math.round(x.getBoundingClientRect().top + x.getBoundingClientRect().height / 2)));
    ok(tops.length === 5 && Math.max(...tops) - Math.min(...tops) <= 2, `the ZIP button sits on the row of the other downloads at ${width} px`, tops.join(' '));
  }
  await page.setViewportSize(width0);
  await page.waitForFunction(() => document.querySelectorAll('#log-service option').length > 5);
  const services = await page.$$eval('#log-service option', (o) => o.map((x) => x.value).filter(Boolean));
  ok(['np-recv', 'np-stable', 'qc', 'prepare', 'upload', 'poll', 'deliver', 'np-httpd'].every((s) => services.includes(s)), 'every pipeline service has its log', services.join(' '));
  // Issue 19: local time with its zone, as other pages, on one line.
  const times = await page.$$eval('#logs tbody tr:not(.fold)', (r) => r.map((x) => {
    const t = x.cells[0].querySelector('time'), d = t && new Date(t.dateTime);
    const zone = d && new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName').value;
    const hm = d && d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
    const lineHeight = parseFloat(getComputedStyle(x.cells[0]).lineHeight) || 16;
    return { text: x.cells[0].textContent, raw: t && t.title, ok: !!d && !isNaN(d) && x.cells[0].textContent.endsWith(zone) &&
      x.cells[0].textContent.includes(hm) && t.getClientRects().length === 1 && t.getBoundingClientRect().height < 1.5 * lineHeight };
  }));
  const bad = times.filter((x) => !x.ok);
  ok(times.length && !bad.length, 'every line shows the time s6-log wrote in local time with the time zone, on one line', JSON.stringify(bad.slice(0, 3)));
  ok(times.every((x) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(x.raw)), 'the time as written stays in the title', JSON.stringify(times[0]));
  await shot('logs');
  await page.selectOption('#log-service', 'np-recv');
  await page.waitForFunction(() => { const r = [...document.querySelectorAll('#logs tbody tr')]; return r.length && r.every((x) => x.cells[1].textContent === 'np-recv'); });
  ok((await page.textContent('#logs')).includes('association'), 'the service filter shows np-recv\'s associations');
  // The service chosen stays chosen across a reload of the page.
  await page.reload();
  await page.waitForSelector('#logs tbody tr');
  await page.waitForFunction(() => document.querySelectorAll('#log-service option').length > 5);
  ok((await page.inputValue('#log-service')) === 'np-recv' &&
    await page.$$eval('#logs tbody tr', (r) => r.length && r.every((x) => x.cells[1].textContent === 'np-recv')), 'the service filter is remembered across a reload');
  await page.selectOption('#log-service', '');
  await page.selectOption('#log-level', 'warning');
  await page.waitForFunction(() => { const r = [...document.querySelectorAll('#logs tbody tr')]; return r.length && r.every((x) => /^(warning|error|fatal)$/.test(x.cells[2].textContent)); });
  ok((await page.textContent('#logs')).includes('login failed'), 'the level filter shows warnings, the failed login among them');
  await page.selectOption('#log-level', '');
  await page.fill('#log-search', 'stabilized');
  await page.press('#log-search', 'Enter');
  await page.waitForFunction(() => { const r = [...document.querySelectorAll('#logs tbody tr')]; return r.length >= 3 && r.every((x) => x.cells[4].textContent.includes('stabilized')); });
  ok(true, 'search finds the lines np-stable wrote');
  const csv = await download(() => page.click('#log-dl-csv'));
  const csvText = csv.body.toString();
  ok(csvText.startsWith('ts,service,level,id,message') && csvText.includes('stabilized') && !csvText.includes('association'), 'the CSV download holds the filtered lines', csvText.slice(0, 200));
  const json = await download(() => page.click('#log-dl-json'));
  let items = [];
  try { const j = JSON.parse(json.body.toString()); items = Array.isArray(j) ? j : j.items || []; } catch { /* not JSON */ }
  ok(items.length >= 3 && items.every((e) => e.message.includes('stabilized')), 'the JSON download holds the filtered lines', json.body.toString().slice(0, 200));
  await page.fill('#log-search', '');
  await page.press('#log-search', 'Enter');
  await page.selectOption('#log-service', 'np-recv');
  const file = await download(() => page.click('#log-dl-file'));
  ok(file.body.toString().includes('np-recv: info:'), 'the File download is the service\'s log as written', file.body.toString().slice(0, 200));
  const zip = await download(() => page.click('#log-dl-zip'));
  ok(zip.body.subarray(0, 2).toString() === 'PK' && zip.body.includes('log/np-httpd/current'), 'the ZIP download holds the log files');
  await page.selectOption('#log-service', '');
  const all = await download(() => page.click('#log-dl-file'));
  const allText = all.body.toString();
  ok(all.name === 'neuropacs-logs.log' && allText.includes('np-recv: info:') && allText.includes('np-stable: info:') && allText.includes('np-httpd: '),
    'the File download of All services holds the lines of every service', all.name + ' ' + allText.slice(0, 200));
  // A download the agent refuses shows an error instead of vanishing.
  await page.route('**/api/logs/download**', (rt) => rt.fulfill({ status: 503, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'unavailable', message: 'log files unreadable' } }) }));
  await clearToasts();
  await page.click('#log-dl-csv');
  await page.waitForFunction(() => document.querySelector('#log-dl-error').textContent.includes('log files unreadable'));
  ok(await page.isVisible('#log-dl-error'), 'a failed download shows its error next to the buttons');
  await page.unroute('**/api/logs/download**');

  // Live: a study stabilized by hand in another tab shows up in the stream.
  await page.click('#stream-logs');
  ok((await page.getAttribute('#stream-logs', 'aria-pressed')) === 'true', 'log streaming can be turned on');
  await page.waitForTimeout(500);
  const other = await ctx.newPage();
  watch(other);
  await other.goto(base + '/#/studies');
  await other.locator(`#studies tr[data-npuid="${incoming.npuid}"] .row-menu-btn`).click(); // Stabilize is in the row's menu
  await other.locator(`#studies tr[data-npuid="${incoming.npuid}"] button`, { hasText: 'Stabilize' }).click();
  await other.waitForFunction((id) => document.querySelector(`#studies tr[data-npuid="${id}"]`) && !document.querySelector(`#studies tr[data-npuid="${id}"]`).textContent.includes('Receiving'), incoming.npuid);
  await other.close();
  await page.waitForFunction((id) => [...document.querySelectorAll('#logs tbody tr')].some((r) => r.textContent.includes(id) && r.textContent.includes('force_stable')), incoming.npuid);
  ok(true, 'the stream shows the audit line of a Stabilize done meanwhile in another tab');
  ok((await stateOf(incoming.npuid)) === 'stable', 'Stabilize made the received study stable');
  await page.click('#stream-logs');
  ok((await page.getAttribute('#stream-logs', 'aria-pressed')) === 'false', 'and turned off again');
});

await step('settings', async () => {
  const before = await apiJson('/api/settings');
  await go('settings', '#settings-form');
  await shot('settings');
  await page.click('#settings-nav [data-section=dicom]');
  await page.fill('#set-dicom-ae_title', 'UI_TEST_SCP');
  await page.fill('#set-dicom-port', '70000');
  await page.click('#save-settings');
  await page.waitForSelector('#settings-error:not(:empty)');
  ok((await page.textContent('#settings-error')).includes('dicom.port'), 'an invalid setting is refused naming the key');
  await page.fill('#set-dicom-port', '11113');
  await clearToasts();
  await page.click('#save-settings');
  await waitToast(/Settings saved/);
  const s = await apiJson('/api/settings');
  ok(s.dicom.ae_title === 'UI_TEST_SCP' && s.dicom.port === 11113, 'settings are saved through the form', JSON.stringify(s.dicom));
  ok(JSON.stringify(s.delivery.destinations) === JSON.stringify(before.delivery.destinations), 'the result destination is kept as it was', JSON.stringify(s.delivery));
  const audit = execFileSync('sqlite3', [join(env.NP_HOME, 'db/agent.sqlite'), "SELECT detail FROM audit WHERE action = 'settings_change' ORDER BY id DESC LIMIT 1"]).toString().trim();
  ok(audit === 'keys=["dicom.ae_title","dicom.port"]', 'the audit trail names the two keys changed, nothing else', audit);
  ok((await page.inputValue('#set-cloud-service_password')) === '********', 'secrets are shown masked');
});

// Issue 17.1: an AE title is never cut, by the browser or the agent.
await step('settings: AE title of 17 characters', async () => {
  const ae = page.locator('#set-dicom-ae_title');
  // Typed key by key as a user does: a maxlength on the field would drop the 17th.
  await ae.fill('');
  await ae.pressSequentially('NEUROPACS_AE_X177');
  ok((await ae.inputValue()) === 'NEUROPACS_AE_X177', 'the AE title field keeps all 17 characters typed', await ae.inputValue());
  await page.click('#save-settings');
  // Not shown there: reported, and the step goes on to leave a valid form.
  const err = page.locator('#set-dicom-ae_title + .field-error');
  await page.waitForSelector('#settings-error:not(:empty)');
  const t = (await err.count()) ? await err.textContent() : 'not next to the field; #settings-error: ' + (await page.textContent('#settings-error'));
  ok((await err.count()) === 1 && (await err.isVisible()) && /^dicom\.ae_title: .*at most 16 characters \(got 17\)/.test(t), 'saving it is refused, the reason shown next to the AE title field', t);
  ok((await apiJson('/api/settings')).dicom.ae_title === 'UI_TEST_SCP', 'and nothing is saved');
  await ae.fill('NEUROPACS_AE_X16');
  await clearToasts();
  await page.click('#save-settings');
  await waitToast(/Settings saved/);
  ok((await apiJson('/api/settings')).dicom.ae_title === 'NEUROPACS_AE_X16' && !(await page.$('.field-error')), 'an AE title of 16 characters is saved');
});

await step('settings actions', async () => {
  let before = hooked('/results').length;
  await page.click('#settings-nav [data-section=delivery]');
  await page.locator('[data-list="delivery.destinations"] button', { hasText: 'Test Delivery' }).first().click();
  await waitToast(/./);
  const test = await waitHook('/results', before + 1);
  let body = {};
  try { body = JSON.parse(test[test.length - 1].body); } catch { /* not JSON */ }
  ok(test.length === before + 1 && 'npuid' in body && body.report, 'Test Delivery sends to the destination, with the default body after a save from the form',
    test.length && test[test.length - 1].body.slice(0, 200));
  before = hooked('/notify').length;
  await page.click('#settings-nav [data-section=notifications]');
  await page.click('#test-notification');
  ok((await waitHook('/notify', before + 1)).length === before + 1, 'Test Notification reaches the webhook');
  const connects = (await cloudState()).counts.connects;
  await page.click('#refresh-token');
  await waitToast(/token/i);
  ok((await cloudState()).counts.connects === connects + 1, 'Refresh Token gets a new token from the cloud');
  await page.click('#check-updates');
  await page.waitForSelector('dialog[open] #updates');
  const up = await page.textContent('dialog[open] #updates');
  ok(/99\.1\.0/.test(up) && /update is available/.test(up) && /Faster uploads/.test(up), 'Check for Updates shows the newer release and its notes', up);
  await shot('updates');
  await closeDialog();
});

await step('tls certificate', async () => {
  const dir = env.NP_TLS_DIR;
  await page.click('#settings-nav [data-section=https]');
  await page.click('#tls-upload');
  await page.setInputFiles('#tls-cert-file', join(dir, 'tls.crt'));
  await page.setInputFiles('#tls-key-file', join(dir, 'other.key'));
  await page.waitForFunction(() => document.querySelector('#tls-key').value.includes('PRIVATE KEY'));
  await dialogButton('Upload').click();
  await page.waitForSelector('#tls-error:not(:empty)');
  ok((await page.textContent('#tls-error')).includes('the private key does not match the certificate'), 'a key that does not match is refused with a readable error');
  await shot('tls-upload');
  await page.setInputFiles('#tls-key-file', join(dir, 'tls.key'));
  await page.waitForFunction(() => document.querySelector('#tls-key').value.includes('PRIVATE KEY'));
  await dialogButton('Upload').click();
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  await waitToast(/TLS certificate installed: CN=agent\.example\.test/);
  const s = await apiJson('/api/settings');
  const stored = readFileSync(join(env.NP_HOME, s.tls.cert_file || 'none'), 'utf8');
  ok(stored === readFileSync(join(dir, 'tls.crt'), 'utf8') && s.tls.key_file, 'the certificate is accepted and installed in the settings', JSON.stringify(s.tls));
});

await step('saml fetch', async () => {
  await page.click('#settings-nav [data-section=users]');
  await page.check('#set-saml-enabled'); // the IdP fields show with SSO on
  await page.fill('#set-saml-idp_metadata_url', env.NP_IDP_METADATA);
  await page.click('#saml-fetch');
  await waitToast(/metadata fetched/);
  ok((await page.inputValue('#set-saml-idp_entity_id')) === 'https://idp.example.test/saml' &&
    (await page.inputValue('#set-saml-idp_sso_url')) === 'https://idp.example.test/sso' &&
    (await page.inputValue('#set-saml-idp_slo_url')) === 'https://idp.example.test/slo', 'Fetch fills the IdP fields from the metadata');
  ok((await page.inputValue('#set-saml-idp_cert_pem')).startsWith('-----BEGIN CERTIFICATE-----'), '... and its signing certificate');
  await page.uncheck('#set-saml-enabled');
  await clearToasts();
  await page.click('#save-settings');
  await waitToast(/Settings saved/);
  const s = await apiJson('/api/settings');
  ok(s.saml.idp_entity_id === 'https://idp.example.test/saml' && s.saml.idp_metadata_url === env.NP_IDP_METADATA, 'the fetched IdP settings are saved', JSON.stringify(s.saml));
});

await step('dark mode', async () => {
  await page.click('#theme-btn');
  const t = await page.evaluate(() => document.documentElement.dataset.theme);
  await page.reload();
  await page.waitForSelector('#topbar:not([hidden])');
  ok((await page.evaluate(() => document.documentElement.dataset.theme)) === t, 'dark mode persists across reloads');
  await page.click('#theme-btn');
});

const uploadStudy = async (type, files, name) => {
  await page.click('#upload-btn');
  await page.waitForSelector('#up-type');
  await page.fill('#up-name', name);
  await page.fill('#up-age', '67');
  await page.selectOption('#up-sex', 'F');
  await page.selectOption('#up-type', type);
  await page.setInputFiles(type === 'zip' ? '#up-zip' : '#up-folder', files);
  await dialogButton('Upload').click();
  await page.waitForFunction(() => Number(document.querySelector('#up-progress').value) === 100 && document.querySelector('#up-percent').textContent.includes('uploaded'), null, { timeout: 60000 });
};
await step('upload', async () => {
  await go('studies', '#studies tbody tr[data-npuid]');
  await page.click('#upload-btn');
  await page.waitForSelector('#up-type');
  await page.fill('#up-name', 'no');
  await page.selectOption('#up-type', 'zip');
  await page.setInputFiles('#up-zip', env.NP_UPLOAD_ZIP);
  await dialogButton('Upload').click();
  await waitToast(/Study Name: 5–50 characters/);
  ok(true, 'a study name against the rules is refused before upload');
  await closeDialog();
  await uploadStudy('folder', env.NP_STUDY_DIR, 'Browser Folder 1');
  ok(true, 'the folder upload progress bar reaches 100% and shows the new study');
  await closeDialog();
  await uploadStudy('zip', env.NP_UPLOAD_ZIP, 'Browser Zip 1');
  ok(true, 'the ZIP upload progress bar reaches 100% and shows the new study');
  await shot('upload');
  await closeDialog();
  for (const name of ['Browser Folder 1', 'Browser Zip 1']) {
    const list = await apiJson('/api/studies?reveal=1&q=' + encodeURIComponent(name));
    const s = (list.items || [])[0] || {};
    ok((list.items || []).length === 1 && s.state === 'stable', `the uploaded study "${name}" is listed, stable`, JSON.stringify(list));
  }
  await page.waitForFunction(() => document.querySelector('#studies').textContent.includes('[Redacted]'));
  ok(!(await page.textContent('#studies')).includes('Browser Zip 1'), 'the study name of an upload is redacted like other PHI');
});

await step('refresh', async () => {
  // A study imported meanwhile by np-import shows up on Refresh, without a
  // reload of the page.
  await page.evaluate(() => { window.npNoReload = true; });
  const id = execFileSync(join(env.NP_BIN, 'np-import'), ['--name', 'Imported Meanwhile', env.NP_UPLOAD_ZIP], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  ok(!(await row(id).count()), 'a study imported behind the page is not shown yet');
  await page.click('#refresh-btn');
  await page.waitForSelector(`#studies tr[data-npuid="${id}"]`);
  ok(await page.evaluate(() => window.npNoReload === true), 'Refresh shows it without reloading the page');
});

// Steps kept in files of their own (tests/browser/steps-*.mjs, run in name
// order): each exports a default async function of the helpers below, so
// pages can grow their checks without one file for everything.
{
  const t = { page, step, ok, api, apiJson, studiesIn, stateOf, shot, go, row, action, dialogButton, closeDialog,
    clearToasts, waitToast, download, env, outdir, hooked, waitHook };
  const here = new URL('.', import.meta.url).pathname;
  for (const f of readdirSync(here).filter((f) => /^steps-.*\.mjs$/.test(f)).sort())
    await (await import(join(here, f))).default(t);
}

await step('session expiry', async () => {
  await go('results', '#results tbody tr');
  execFileSync('sqlite3', [join(env.NP_HOME, 'db/agent.sqlite'), 'UPDATE sessions SET last_seen = last_seen - 9 * 3600']);
  await page.click('#refresh-btn');
  await page.waitForSelector('#password');
  ok((await page.textContent('#toast')).includes('Your session has ended'), 'an expired session sends the user to sign in, saying why');
  ok(await page.isHidden('#topbar'), 'no page stays visible behind the sign-in');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#results tbody tr');
  ok(true, 'signing in again returns to the page the user was on');
});

await step('logout', async () => {
  await page.click('#logout-btn');
  await page.waitForSelector('#password');
  const r = await api('/api/studies');
  ok(r.status === 401, 'after sign-out the API refuses the old session');
});

ok(consoleErrors.length === 0, 'no JavaScript errors in the console', consoleErrors.join('\n'));
const logHits = grepTree(join(env.NP_HOME, 'log'), canary);
ok(logHits.length === 0, 'no PHI canary in any service log', logHits.join('\n'));
const cloudHits = [env.NP_CLOUD_DIR, env.NP_HOOK_DIR].flatMap((d) => grepTree(d, new RegExp(revealed)));
ok(cloudHits.length === 0, 'no canary from the identifying tags reached the cloud stand-in or the webhook', cloudHits.join('\n'));
await ctx.close();
rmSync(profile, { recursive: true, force: true });
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
