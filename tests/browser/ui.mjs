// SPDX-License-Identifier: Apache-2.0
// Browser test of the web UI: Debian's chromium driven by playwright-core.
// usage: node ui.mjs BASE_URL PASSWORD OUTDIR   (prints TAP)
// Env: NP_UPLOAD_ZIP (a study ZIP for the upload test), NP_CANARY (PHI that
// must not be in the DOM until revealed).
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(process.env.NP_NODE_MODULES ? join(process.env.NP_NODE_MODULES, 'x.js') : import.meta.url);
const { chromium } = require('playwright-core');
const [base, password, outdir] = process.argv.slice(2);
mkdirSync(outdir, { recursive: true });
const canary = process.env.NP_CANARY || 'CANARY';
let n = 0, failed = 0;
const ok = (cond, name, extra) => { n++; if (!cond) failed++; console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`); if (!cond && extra) console.log('# ' + String(extra).replace(/\n/g, '\n# ')); };
const step = async (name, fn) => {
  try { await fn(); } catch (e) {
    const shown = await page.textContent('#toast').catch(() => '');
    ok(false, name, (shown ? 'UI says: ' + shown + '\n' : '') + (e.stack || e));
    // leave no dialog open to block the next steps
    await page.evaluate(() => document.querySelectorAll('dialog').forEach((d) => { d.close(); d.remove(); })).catch(() => {});
  }
};

const profile = mkdtempSync(join(tmpdir(), 'np-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1360, height: 900 },
});
const page = ctx.pages()[0] || await ctx.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error' && !/favicon|autocomplete|Failed to load resource/.test(m.text())) consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
const api = async (path, opts = {}) => page.evaluate(async ([p, o]) => {
  const csrf = (document.cookie.match(/np_csrf=([^;]+)/) || [])[1] || '';
  const r = await fetch(p, { ...o, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': decodeURIComponent(csrf) } });
  return { status: r.status, body: await r.text() };
}, [path, opts]);
const shot = async (name) => {
  for (const theme of ['light', 'dark']) {
    await page.evaluate((t) => { document.documentElement.dataset.theme = t; }, theme);
    await page.screenshot({ path: join(outdir, `${name}-${theme}.png`), fullPage: true });
  }
  await page.evaluate(() => { document.documentElement.dataset.theme = localStorage.getItem('np-theme') || 'light'; });
};

await step('login', async () => {
  await page.goto(base + '/');
  await page.waitForSelector('#password');
  await shot('login');
  await page.fill('#password', 'wrong-password-value');
  await page.click('button[type=submit]');
  await page.waitForSelector('.login .error:not(:empty)');
  ok((await page.textContent('.login .error')).includes('Wrong password'), 'a wrong password is refused with a message');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#studies tbody tr');
  ok(await page.isVisible('#topbar'), 'password login opens the Studies page');
});

await step('studies', async () => {
  const rows = await page.$$('#studies tbody tr[data-npuid]');
  ok(rows.length >= 1, 'studies are listed');
  const html = await page.content();
  ok(!html.includes(canary), 'PHI is not in the DOM before Reveal');
  ok((await page.textContent('#studies')).includes('[Redacted]'), 'PHI columns show [Redacted]');
  await shot('studies');
  await page.click('#reveal-all');
  await page.waitForFunction((c) => document.querySelector('#studies').textContent.includes(c), canary);
  ok(true, 'Reveal all shows the PHI to an admin');
  await page.click('#reveal-all');
  await page.waitForFunction((c) => !document.querySelector('#studies').textContent.includes(c), canary);
  ok(true, 'Hide PHI removes it again');
  await page.selectOption('#filter-state', 'qc-failed');
  await page.waitForFunction(() => [...document.querySelectorAll('#studies tbody tr[data-npuid]')].every((r) => r.textContent.includes('QC Failed')));
  ok(true, 'the status filter narrows the list');
  await page.selectOption('#filter-state', '');
});

await step('qc', async () => {
  const row = page.locator('#studies tbody tr', { hasText: 'QC Failed' }).first();
  const id = await row.getAttribute('data-npuid');
  await row.locator('button', { hasText: 'QC' }).click();
  await page.waitForSelector('dialog[open] #qc-checks');
  ok((await page.textContent('dialog[open]')).includes('Bypassing QC can result in additional processing charges'), 'the QC report shows the bypass warning to admins');
  await shot('qc-report');
  await page.locator('dialog[open] button', { hasText: 'Bypass QC' }).click();
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  const info = JSON.parse((await api('/api/study-info/' + id)).body);
  ok(info.qc && /bypass/.test(JSON.stringify(info.qc)), 'Bypass QC is recorded for the study', JSON.stringify(info.qc));
});

await step('info dialog', async () => {
  await page.locator('#studies tbody tr[data-npuid] button', { hasText: 'Info' }).first().click();
  await page.waitForSelector('dialog[open] dl');
  ok(!(await page.textContent('dialog[open]')).includes(canary), 'study information is redacted');
  await page.locator('dialog[open] button', { hasText: 'Reveal' }).click();
  await page.waitForFunction((c) => document.querySelector('dialog[open]').textContent.includes(c), canary);
  ok(true, 'Reveal in the dialog shows the PHI');
  await page.keyboard.press('Escape');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  ok(await page.evaluate(() => document.activeElement && document.activeElement.tagName === 'BUTTON'), 'focus returns to the opener after Escape');
});

await step('groups', async () => {
  await page.click('a[data-page=groups]');
  await page.waitForSelector('#create-group');
  await page.click('#create-group');
  await page.fill('#group-name', 'Cohort-A');
  await page.fill('#group-products', 'Atypical/MSAp/PSP-v1.0');
  await page.locator('dialog[open] button', { hasText: 'Create' }).click();
  await page.waitForSelector('#groups tr[data-group="Cohort-A"]');
  ok(true, 'a group is created from the form');
  await shot('groups');
  await page.click('a[data-page=studies]');
  await page.waitForSelector('#studies tbody tr[data-npuid]');
  const row = page.locator('#studies tbody tr[data-npuid]').first();
  const id = await row.getAttribute('data-npuid');
  await row.locator('button', { hasText: 'Group' }).click();
  await page.waitForSelector('#assign-group');
  await page.selectOption('#assign-group', 'Cohort-A');
  await page.locator('dialog[open] button', { hasText: 'Assign' }).click();
  await page.waitForSelector(`#studies tr[data-npuid="${id}"] .badge.group`);
  ok(true, 'a study is assigned to the group');
});

await step('results', async () => {
  await page.click('a[data-page=results]');
  await page.waitForSelector('#results tbody tr');
  await shot('results');
  ok(true, 'the Results page loads');
});

await step('logs', async () => {
  await page.click('a[data-page=logs]');
  await page.waitForSelector('#logs tbody tr');
  await shot('logs');
  ok(await page.isVisible('#log-dl-zip'), 'the Logs page offers File, CSV, JSON and ZIP downloads');
  await page.click('#stream-logs');
  ok((await page.getAttribute('#stream-logs', 'aria-pressed')) === 'true', 'log streaming can be turned on');
  await page.click('#stream-logs');
});

await step('settings', async () => {
  await page.click('a[data-page=settings]');
  await page.waitForSelector('#settings-form');
  await shot('settings');
  await page.fill('#set-dicom-ae_title', 'UI_TEST_SCP');
  await page.fill('#set-dicom-port', '70000');
  await page.click('#save-settings');
  await page.waitForSelector('#settings-error:not(:empty)');
  ok((await page.textContent('#settings-error')).includes('dicom.port'), 'an invalid setting is refused naming the key');
  await page.fill('#set-dicom-port', '11113');
  await page.click('#save-settings');
  await page.waitForFunction(() => document.querySelector('#toast').textContent.includes('Settings saved'));
  const s = JSON.parse((await api('/api/settings')).body);
  ok(s.dicom.ae_title === 'UI_TEST_SCP' && s.dicom.port === 11113, 'settings are saved through the form', JSON.stringify(s.dicom));
  ok((await page.inputValue('#set-cloud-service_password')) === '********', 'secrets are shown masked');
});

await step('dark mode', async () => {
  await page.click('#theme-btn');
  const t = await page.evaluate(() => document.documentElement.dataset.theme);
  await page.reload();
  await page.waitForSelector('#topbar:not([hidden])');
  ok((await page.evaluate(() => document.documentElement.dataset.theme)) === t, 'dark mode persists across reloads');
});

if (process.env.NP_UPLOAD_ZIP) {
  await step('upload', async () => {
    await page.click('#upload-btn');
    await page.waitForSelector('#up-type');
    await page.fill('#up-name', 'Browser Upload 1');
    await page.fill('#up-age', '67');
    await page.selectOption('#up-sex', 'F');
    await page.selectOption('#up-type', 'zip');
    await page.setInputFiles('#up-zip', process.env.NP_UPLOAD_ZIP);
    await page.locator('dialog[open] button', { hasText: 'Upload' }).click();
    await page.waitForFunction(() => Number(document.querySelector('#up-progress').value) === 100 && document.querySelector('#up-percent').textContent.includes('uploaded'), null, { timeout: 60000 });
    ok(true, 'the upload progress bar reaches 100% and shows the new study');
    await shot('upload');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    const list = JSON.parse((await api('/api/studies?reveal=1&q=Browser%20Upload%201')).body);
    ok((list.items || []).length === 1, 'the uploaded study is listed', JSON.stringify(list));
  });
}

await step('logout', async () => {
  await page.click('#logout-btn');
  await page.waitForSelector('#password');
  const r = await api('/api/studies');
  ok(r.status === 401, 'after sign-out the API refuses the old session');
});

ok(consoleErrors.length === 0, 'no JavaScript errors in the console', consoleErrors.join('\n'));
await ctx.close();
rmSync(profile, { recursive: true, force: true });
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
