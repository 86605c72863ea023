// SPDX-License-Identifier: Apache-2.0
// Accessibility (issue 19), run last: axe-core on every page and every dialog
// it can open, in both themes, with 0 serious or critical violations; and a
// keyboard-only walk: Tab reaches the navigation and a page's first action
// with a visible focus ring, Enter follows a link, Enter or Space presses a
// button, Escape closes a dialog and gives focus back.
//
// Every page and dialog counts; a page put in DIAGNOSTIC (while it is being
// reworked) has its own violations printed as '# ' lines instead, the shared
// frame (top bar, navigation) still counted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Pages and dialogs whose content is not checked here yet (their owners fix
// them): their violations are listed, the frame's still count.
const DIAGNOSTIC = new Set([]);
const FRAME = '#topbar, .skip, #toast, #demo-banner';

export default async function (t) {
  const { page, step, ok, studiesIn, go, env } = t;
  const axeSrc = readFileSync(join(env.NP_NODE_MODULES || join(new URL('.', import.meta.url).pathname, 'node_modules'), 'axe-core/axe.min.js'), 'utf8');
  const themes = ['light', 'dark'];
  const diagnostics = [];

  // axe-core in the page. The agent's Content-Security-Policy (script-src
  // 'self') refuses an inline <script> such as page.addScriptTag adds (and
  // the browser logs the refusal as an error), so the engine is evaluated
  // through the DevTools protocol, which the policy does not govern.
  const inject = async () => {
    if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(axeSrc);
  };
  // Serious and critical violations of the document (or of the open dialog),
  // each node marked frame or not.
  const audit = async () => {
    await inject();
    return page.evaluate(async (frameSel) => {
      const dlg = document.querySelector('dialog[open]');
      const r = await window.axe.run(dlg || document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
        resultTypes: ['violations'],
      });
      const out = [];
      for (const v of r.violations) {
        if (v.impact !== 'serious' && v.impact !== 'critical') continue;
        for (const n of v.nodes) {
          let el = null;
          try { el = document.querySelector(n.target[0]); } catch { /* a selector axe made for a shadow root */ }
          out.push({ id: v.id, impact: v.impact, target: n.target.join(' '), frame: !!(el && el.closest(frameSel)),
            summary: (n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 240) });
        }
      }
      return out;
    }, FRAME);
  };
  // Check what is on screen in both themes; name says what it is.
  const check = async (name) => {
    const found = [];
    for (const theme of themes) {
      await page.evaluate((x) => { document.documentElement.dataset.theme = x; }, theme);
      // the theme's colours are in place before contrast is measured
      await page.waitForTimeout(50);
      for (const v of await audit()) found.push({ ...v, theme });
    }
    await page.evaluate(() => { document.documentElement.dataset.theme = localStorage.getItem('np-theme') || 'light'; });
    const soft = DIAGNOSTIC.has(name);
    const counted = found.filter((v) => v.frame || !soft);
    const listed = found.filter((v) => !v.frame && soft);
    const fmt = (v) => `${v.theme} ${v.impact} ${v.id}: ${v.target} — ${v.summary}`;
    ok(counted.length === 0, `axe: no serious or critical violation on ${name}${soft ? ' (its frame)' : ''}, both themes`, counted.map(fmt).join('\n'));
    // One line per rule and theme: how many nodes, the first of them.
    const byRule = new Map();
    for (const v of listed) {
      const k = `${v.theme} ${v.impact} ${v.id}`;
      if (!byRule.has(k)) byRule.set(k, { n: 0, v });
      byRule.get(k).n++;
    }
    for (const [k, { n, v }] of byRule) diagnostics.push(`${name}: ${k} ×${n}, e.g. ${v.target} — ${v.summary}`);
  };
  const dialog = async (name, open) => {
    await open();
    await page.waitForSelector('dialog[open]');
    await check(name);
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
  };
  const button = (sel, text) => page.locator(sel, { hasText: new RegExp('^' + text + '$') }).first();

  await step('axe: pages and dialogs', async () => {
    await go('studies', '#studies tbody tr');
    await check('studies');
    const [done] = await studiesIn('done');
    const [qcFailed] = await studiesIn('qc-failed');
    if (done) {
      for (const [name, label] of [['study-info', 'Info'], ['study-report', 'Report'], ['study-status', 'Status']]) {
        const b = t.action(done.npuid, label);
        if (await b.count()) await dialog(name, () => b.click()).catch((e) => diagnostics.push(`${name}: not opened (${e.message.split('\n')[0]})`));
      }
    }
    // The QC report and the upload form are this file's to check whatever
    // the Studies page looks like: opened through their modules.
    const qcOf = qcFailed || done;
    if (qcOf) await dialog('qc-report', () => page.evaluate((id) => import('/js/pages/qc.js').then((m) => m.showQc(id, { isAdmin: true })), qcOf.npuid));
    else ok(false, 'a study to show the QC report of');
    await dialog('upload', () => page.click('#upload-btn'));
    await go('results', '#results tbody tr');
    await check('results');
    await go('groups', '#groups tbody tr');
    await check('groups');
    await dialog('group-create', () => page.click('#create-group'));
    await dialog('group-upload', () => page.click('#upload-group'));
    await dialog('group-details', () => button('#groups tbody button', 'View').click());
    await dialog('group-delete', () => button('#groups tbody button', 'Delete').click());
    await go('logs', '#logs tbody tr');
    await check('logs');
    await go('settings', '#settings-form');
    await check('settings');
    await go('audit', '#audit tbody tr');
    await check('audit');
    for (const d of diagnostics) console.log('# a11y (not counted): ' + d);
  });

  await step('keyboard only', async () => {
    // From the top of the document, as after a page load.
    await page.evaluate(() => { location.hash = '#/studies'; });
    await page.reload();
    await page.waitForSelector('#studies tbody tr');
    const active = () => page.evaluate(() => {
      const a = document.activeElement, cs = getComputedStyle(a);
      return { tag: a.tagName, id: a.id, page: a.dataset ? a.dataset.page || '' : '', text: (a.textContent || '').trim().slice(0, 40),
        inView: !!a.closest('#view'), outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0,
        visible: a.getBoundingClientRect().width > 0 };
    });
    await page.keyboard.press('Tab');
    let a = await active();
    ok(a.tag === 'A' && /skip/i.test(a.text) && a.outline && a.visible, 'the first Tab shows "Skip to content"', JSON.stringify(a));
    let nav = null, first = null;
    for (let i = 0; i < 40 && !first; i++) {
      await page.keyboard.press('Tab');
      a = await active();
      if (!nav && a.page) nav = a;
      if (a.inView && (a.tag === 'BUTTON' || a.tag === 'A' || a.tag === 'INPUT' || a.tag === 'SELECT')) first = a;
    }
    ok(nav && nav.page === 'studies' && nav.outline, 'Tab reaches the navigation, its focus visible (an outline)', JSON.stringify(nav));
    ok(first && first.outline, 'Tab goes on to the page\'s first control, its focus visible', JSON.stringify(first));
    // Enter on a navigation link opens its page.
    await page.focus('a[data-page=logs]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#logs');
    ok(true, 'Enter on a navigation link opens the page');
    // Enter opens a dialog from a button, focus goes into it, Escape closes
    // it and gives focus back to the button.
    await page.focus('#upload-btn');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog[open]');
    ok(await page.evaluate(() => !!document.activeElement.closest('dialog[open]')), 'Enter on Upload opens its dialog with the focus inside');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    ok(await page.evaluate(() => document.activeElement.id === 'upload-btn'), 'Escape closes the dialog and the focus is back on Upload');
    await page.focus('#upload-btn');
    await page.keyboard.press(' ');
    await page.waitForSelector('dialog[open]');
    // Tab stays inside the modal dialog.
    let inside = true;
    for (let i = 0; i < 25; i++) {
      await page.keyboard.press('Tab');
      inside = inside && await page.evaluate(() => !!document.activeElement.closest('dialog[open]') || document.activeElement === document.body);
    }
    ok(inside, 'Space opens it too, and Tab keeps the focus inside the dialog');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    // A log line whose message is cut opens with the keyboard.
    const line = page.locator('#logs tbody tr[tabindex]').first();
    if (await line.count()) {
      await line.focus();
      await page.keyboard.press('Enter');
      ok(await line.evaluate((r) => r.classList.contains('open')), 'Enter on a log line shows it whole');
      await page.keyboard.press('Enter');
    } else ok(false, 'log lines can be reached with Tab');
    // Every control of the pages this file checks has a name a screen reader reads.
    for (const [name, ready] of [['groups', '#groups tbody tr'], ['logs', '#logs tbody tr'], ['audit', '#audit tbody tr']]) {
      await go(name, ready);
      const unnamed = await page.evaluate(() => [...document.querySelectorAll('#view input, #view select, #view textarea')]
        .filter((e) => !e.labels.length && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')).map((e) => e.id || e.name || e.outerHTML.slice(0, 60)));
      ok(unnamed.length === 0, `every field of ${name} has a label tied to it`, unnamed.join(' '));
    }
  });
}
