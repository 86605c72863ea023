// SPDX-License-Identifier: Apache-2.0
// Browser test of SAML SSO through the web UI: Debian's chromium driven by
// playwright-core (tests/e2e/81-browser-sso.t starts the agent and the test
// IdP, tests/peers/saml_idp.py). The login page offers SSO; the button
// follows the AuthnRequest redirect to the IdP, whose page posts the signed
// Response back to the ACS; the browser lands logged in with the role of the
// group claim; sign-out ends the session at the agent and, by Single
// Logout, at the IdP, and comes back to the login page.
// usage: node sso.mjs BASE_URL OUTDIR   (prints TAP)
// Env: NP_NODE_MODULES (where playwright-core is), IDP_URL, SSO_NAMEID,
// SSO_ROLE (the role the group claim must give), CHROMIUM.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(process.env.NP_NODE_MODULES ? join(process.env.NP_NODE_MODULES, 'x.js') : import.meta.url);
const { chromium } = require('playwright-core');
const [base, outdir] = process.argv.slice(2);
const env = process.env;
mkdirSync(outdir, { recursive: true });
let n = 0, failed = 0;
const ok = (cond, name, extra) => { n++; if (!cond) failed++; console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`); if (!cond && extra) console.log('# ' + String(extra).replace(/\n/g, '\n# ')); };
const step = async (name, fn) => { try { await fn(); } catch (e) { ok(false, name, e.stack || e); } };

const profile = mkdtempSync(join(tmpdir(), 'np-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1360, height: 900 },
});
ctx.setDefaultTimeout(15000);
const page = ctx.pages()[0] || await ctx.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error' && !/favicon/.test(m.text())) consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
// Every document the browser was sent to, in order (redirects included).
const visited = [];
page.on('request', (r) => { if (r.isNavigationRequest()) visited.push(r.method() + ' ' + r.url()); });
const session = async () => page.evaluate(async () => (await fetch('/api/auth/session')).json());
const idp = env.IDP_URL;

await step('login page', async () => {
  await page.goto(base + '/#/studies');
  await page.waitForSelector('.login');
  ok(await page.locator('.login #password').isVisible(), 'auth mode "both": the login page shows the password form');
  const sso = page.locator('.login a', { hasText: 'Sign in with SSO' });
  ok(await sso.isVisible(), '... and the SSO button');
  await page.screenshot({ path: join(outdir, 'sso-login.png') });
});

await step('SSO login', async () => {
  visited.length = 0;
  await page.click('.login a:has-text("Sign in with SSO")');
  await page.waitForSelector('#topbar:not([hidden])');
  await page.waitForFunction(() => document.getElementById('who').textContent.trim() !== '');
  const toIdp = visited.find((v) => v.startsWith('GET ' + idp + '/sso?SAMLRequest='));
  ok(toIdp, 'the SSO button follows the AuthnRequest redirect to the IdP', visited.join('\n'));
  ok(visited.some((v) => v === 'POST ' + base + '/api/saml/acs'), "the IdP's page posts the Response to the ACS", visited.join('\n'));
  const who = (await page.textContent('#who')).trim();
  ok(who === `${env.SSO_NAMEID} (${env.SSO_ROLE})`, 'the browser lands logged in, named by the NameID, with the role of the group claim', who);
  const s = await session();
  ok(s.authenticated && s.role === env.SSO_ROLE && s.actor === env.SSO_NAMEID, '... and the server agrees', JSON.stringify(s));
  ok(/#\/studies$/.test(page.url()), '... back on the page the login started from', page.url());
  await page.waitForSelector('#studies');
  const settingsHidden = await page.locator('#nav a[data-page=settings]').evaluate((a) => a.parentElement.hidden);
  ok(settingsHidden === (env.SSO_ROLE !== 'admin'), 'the Settings page is offered by role only', String(settingsHidden));
  await page.screenshot({ path: join(outdir, 'sso-studies.png') });
});

await step('SSO logout', async () => {
  visited.length = 0;
  await page.click('#logout-btn');
  await page.waitForSelector('.login a:has-text("Sign in with SSO")');
  ok(visited.some((v) => v.startsWith('GET ' + idp + '/slo?SAMLRequest=')), 'sign-out sends the browser to the IdP with a LogoutRequest', visited.join('\n'));
  ok(visited.some((v) => v.startsWith('GET ' + base + '/api/saml/slo?SAMLResponse=')), "... and the IdP's LogoutResponse comes back", visited.join('\n'));
  const s = await session();
  ok(!s.authenticated, 'the session has ended; the login page is shown again', JSON.stringify(s));
  await page.screenshot({ path: join(outdir, 'sso-logged-out.png') });
});

ok(consoleErrors.length === 0, 'no console errors', consoleErrors.join('\n'));
await ctx.close();
rmSync(profile, { recursive: true, force: true });
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
