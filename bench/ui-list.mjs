// SPDX-License-Identifier: Apache-2.0
// bench/ui-list.mjs BASE_URL PASSWORD REPS: the Studies page in headless
// Chromium (Debian's chromium, playwright-core from make browser-deps, as
// tests/browser/ui.mjs): signs in, then REPS times reloads the page and
// times it until the first rows of the list are in the DOM ("load"), and
// clicks Next until the next page's rows replace them ("next"). For each
// load the page's own Resource Timing of its GET /api/studies is kept
// ("fetch": the request as the browser made it). Prints one line per
// measure: "name p50 p99" in ms.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(process.env.NP_NODE_MODULES ? join(process.env.NP_NODE_MODULES, 'x.js') : import.meta.url);
const { chromium } = require('playwright-core');
const [base, password, repsArg] = process.argv.slice(2);
const reps = Number(repsArg || 30);
const profile = mkdtempSync(join(tmpdir(), 'np-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1360, height: 900 },
});
ctx.setDefaultTimeout(30000);
const page = ctx.pages()[0] || await ctx.newPage();
const rows = '#studies tbody tr[data-npuid]';
try {
  await page.goto(base + '/');
  await page.waitForSelector('#password');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector(rows);
  const load = [], fetchT = [], next = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await page.reload();
    await page.waitForSelector(rows);
    load.push(performance.now() - t0);
    fetchT.push(await page.evaluate(() => {
      const e = performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/studies'));
      return e.length ? e[e.length - 1].duration : 0;
    }));
    const first = await page.getAttribute(rows, 'data-npuid');
    const t1 = performance.now();
    await page.click('.pager button:last-child');
    await page.waitForFunction(([sel, id]) => {
      const r = document.querySelector(sel);
      return r && r.dataset.npuid !== id;
    }, [rows, first], { polling: 'raf' });
    next.push(performance.now() - t1);
  }
  const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
  for (const [name, a] of [['load', load], ['fetch', fetchT], ['next', next]])
    console.log(`${name} ${pct(a, 0.5).toFixed(1)} ${pct(a, 0.99).toFixed(1)}`);
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
