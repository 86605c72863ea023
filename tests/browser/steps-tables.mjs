// SPDX-License-Identifier: Apache-2.0
// Tables that fit (issue 19): Studies and Results at 1024 px stay inside the
// window, row actions on one line, every state shown in words from the one
// table (share/web/js/states.js), the study information dialog with names
// and local times, Results with its PHI columns redacted and a search.
export default async function (t) {
  const { page, step, ok, apiJson, studiesIn, shot, go, row, action, env } = t;
  const canary = new RegExp(env.NP_CANARY || 'CANARY');
  const widths = [1024, 1440];
  const table = await page.evaluate(async () => (await import('/js/states.js')).STATES);
  const labels = table.map((x) => x.label);
  const codes = table.map((x) => x.state);

  // Elements wider than the window, or reaching past its right edge.
  const overflow = () => page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const bad = [...document.querySelectorAll('#view *')].filter((e) => {
      const r = e.getBoundingClientRect();
      return r.width && (r.width > vw + 1 || r.right > vw + 1);
    }).map((e) => e.tagName + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '') + ' ' + Math.round(e.getBoundingClientRect().right));
    return { page: document.documentElement.scrollWidth - vw, bad: bad.slice(0, 5) };
  });
  // Action cells whose visible controls are not on one line.
  const tallActions = (sel) => page.evaluate((s) => [...document.querySelectorAll(`${s} td.row-actions`)].filter((td) => {
    const tops = [...td.querySelectorAll('.actions > button, .actions > .row-menu-wrap > button')].map((b) => Math.round(b.getBoundingClientRect().top));
    return !tops.length || new Set(tops).size > 1;
  }).map((td) => td.closest('tr').dataset.npuid), sel);

  let done;
  await step('tables: studies fit at 1024 and 1440 px', async () => {
    [done] = await studiesIn('done');
    await go('studies', `#studies tr[data-npuid="${done.npuid}"]`);
    for (const width of widths) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(200);
      const o = await overflow();
      ok(o.page <= 0 && !o.bad.length, `Studies at ${width} px: nothing wider than the window`, JSON.stringify(o));
      const tall = await tallActions('#studies');
      ok(!tall.length, `Studies at ${width} px: every row's actions on one line`, tall.join(' '));
      const fits = await page.evaluate(() => document.querySelector('#studies').getBoundingClientRect().right <= document.querySelector('.filters').getBoundingClientRect().right + 1);
      ok(fits, `Studies at ${width} px: the table does not reach past its toolbar`);
      const groups = await page.$$eval('#studies td.group .badge', (b) => b.filter((x) => x.getClientRects().length > 1 || x.offsetHeight > 30).length);
      ok(groups === 0, `Studies at ${width} px: no group badge wraps`);
      await shot(`tables-studies-${width}`);
    }
  });

  await step('tables: every state shown in words from the one table', async () => {
    const items = (await apiJson('/api/studies?size=100')).items || [];
    const shown = await page.$$eval('#studies tbody tr[data-npuid]', (rows) => rows.map((r) => [r.dataset.npuid, r.querySelector('td.status .badge').textContent]));
    const plain = shown.filter(([id]) => { const s = items.find((x) => x.npuid === id); return s && !s.waiting && !s.delivery && !s.order_status; });
    const off = plain.filter(([id, text]) => text !== labels[codes.indexOf(items.find((x) => x.npuid === id).state)]);
    ok(plain.length > 0 && !off.length, 'a study with no order or delivery shows the label of its state', JSON.stringify(off));
    const raw = shown.filter(([, text]) => codes.includes(text) && !labels.includes(text));
    ok(!raw.length, 'no status reads as a raw state (done, qc-passed...)', JSON.stringify(raw));
    const options = await page.$$eval('#filter-state option', (o) => o.map((x) => x.textContent).slice(1));
    ok(options.join() === labels.join(), 'the status filter offers the labels of the table', options.join());
    const openapi = await apiJson('/api/openapi.json');
    const doc = (openapi.components.schemas.State.oneOf || []).map((x) => x.title);
    ok(doc.join() === labels.join(), 'the API documentation labels the states as the UI does', doc.join());
  });

  await step('tables: study information in names and local time', async () => {
    await page.setViewportSize({ width: 1024, height: 800 });
    const info = await apiJson('/api/study-info/' + done.npuid);
    await action(done.npuid, 'Info').click();
    await page.waitForSelector('dialog[open] #info-kv');
    const text = await page.textContent('dialog[open] .body');
    ok((await page.textContent('#info-state')) === 'Delivered', 'the state reads Delivered, not done', await page.textContent('#info-state'));
    const names = Object.values(info.uid_names || {});
    ok(names.length > 0 && names.every((n) => text.includes(n)), 'transfer syntaxes and SOP classes by name', names.join(', '));
    ok(!/\b1\.2\.840\.10008\.\d/.test(text), 'no known UID shown as a number', (text.match(/1\.2\.840\.10008\.[\d.]+/) || [''])[0]);
    ok(!/\d{4}-\d\d-\d\dT\d\d:\d\d/.test(text), 'no raw ISO time', (text.match(/\d{4}-\d\d-\d\dT[\d:.]+Z?/) || [''])[0]);
    const zone = await page.evaluate(async () => (await import('/js/time.js')).zoneName());
    ok(zone && text.includes(zone), 'times say their time zone', zone);
    const hist = await page.$$eval('#info-history li', (l) => l.map((x) => x.textContent));
    ok(hist.length && hist.every((l) => !/→ (done|qc-passed|uploaded|incoming|stable|ready|results)\b/.test(l)), 'the history names states in words', hist.join(' / '));
    const buttons = await page.$$eval('dialog[open] footer button', (b) => b.map((x) => x.textContent));
    ok(buttons.includes('Close') && !buttons.includes('Cancel'), 'the dialog closes with Close, not Cancel', buttons.join());
    ok(!canary.test(await page.textContent('dialog[open]')), 'and its PHI is redacted');
    await shot('tables-study-info-1024');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
  });

  await step('tables: Cancel order sits beside Close', async () => {
    let s;
    for (const state of ['incoming', 'stable', 'qc-passed', 'ready']) if (!s) [s] = await studiesIn(state);
    if (!s) { ok(false, 'a study that can be cancelled'); return; }
    await action(s.npuid, 'Cancel').click();
    await page.waitForSelector('dialog[open]');
    const buttons = await page.$$eval('dialog[open] footer button', (b) => b.map((x) => x.textContent));
    ok(buttons.join() === 'Cancel order,Close', 'the confirmation offers Cancel order and Close', buttons.join());
    await shot('tables-cancel-confirm');
    await page.locator('dialog[open] footer button', { hasText: 'Close' }).click();
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    const after = (await apiJson('/api/study-info/' + s.npuid)).state;
    ok(after === s.state, 'Close keeps the study as it was', s.state + ' -> ' + after);
  });

  await step('tables: the row menu', async () => {
    const more = row(done.npuid).locator('.row-menu-btn');
    await more.click();
    await page.waitForSelector('.row-menu:popover-open');
    const r = await page.evaluate(() => { const m = document.querySelector('.row-menu:popover-open').getBoundingClientRect(); return [m.left, m.right, m.bottom, innerWidth, innerHeight]; });
    ok(r[0] >= 0 && r[1] <= r[3] && r[2] <= r[4], 'the More menu opens inside the window', r.join());
    const expanded = await more.evaluate((b) => new Promise((res) => {
      const t0 = Date.now();
      const poll = () => (b.getAttribute('aria-expanded') === 'true' || Date.now() - t0 > 2000 ? res(b.getAttribute('aria-expanded')) : setTimeout(poll, 20));
      poll();
    }));
    ok(expanded === 'true', 'its button says it is expanded', expanded);
    await shot('tables-row-menu-1024');
    await page.keyboard.press('Escape');
    await page.waitForSelector('.row-menu:popover-open', { state: 'detached' }).catch(() => {});
    ok(!(await page.$('.row-menu:popover-open')), 'Escape closes it');
  });

  await step('tables: results', async () => {
    await go('results', `#results tr[data-npuid="${done.npuid}"]`);
    const html = await page.content();
    ok(!canary.test(html), 'no PHI in the Results page before Reveal');
    const heads = await page.$$eval('#results thead th', (t) => t.map((x) => x.textContent));
    ok(['Patient', 'Accession #', 'Study'].every((c) => heads.includes(c)), 'Results has patient, accession and study columns', heads.join());
    const cells = await page.$$eval(`#results tr[data-npuid="${done.npuid}"] td`, (t) => t.slice(1, 4).map((x) => x.textContent));
    ok(cells[0] === '[Redacted]' && cells[1] === '[Redacted]' && cells.every((c) => c === '[Redacted]' || c === '—'), 'they are redacted by default', cells.join());
    const states = await page.$$eval('#results td.status .badge', (b) => b.map((x) => x.textContent));
    ok(states.length && !states.some((s) => codes.includes(s) && !labels.includes(s)), 'Results states are in words', states.join());
    for (const width of widths) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(200);
      const o = await overflow();
      ok(o.page <= 0 && !o.bad.length, `Results at ${width} px: nothing wider than the window`, JSON.stringify(o));
      const tall = await tallActions('#results');
      ok(!tall.length, `Results at ${width} px: every row's actions on one line`, tall.join(' '));
      await shot(`tables-results-${width}`);
    }
    const before = await page.$$eval('#results tbody tr[data-npuid]', (r) => r.length);
    await page.fill('#results-search', done.npuid.slice(0, 8));
    await page.press('#results-search', 'Enter');
    await page.waitForFunction((id) => { const r = document.querySelectorAll('#results tbody tr[data-npuid]'); return r.length === 1 && r[0].dataset.npuid === id; }, done.npuid);
    ok(before > 1, 'the search narrows the rows to the one study', before + ' rows before');
    await page.fill('#results-search', 'no-such-study-xyz');
    await page.press('#results-search', 'Enter');
    await page.waitForFunction(() => !document.querySelector('#results tbody tr[data-npuid]'));
    ok((await page.textContent('#results tbody')).includes('No results match'), 'a search that finds nothing says so');
    await page.fill('#results-search', '');
    await page.press('#results-search', 'Enter');
    await page.waitForSelector(`#results tr[data-npuid="${done.npuid}"]`);
    await page.click('#results-reveal');
    await page.waitForFunction((id) => !/\[Redacted\]/.test(document.querySelector(`#results tr[data-npuid="${id}"]`).textContent), done.npuid);
    ok(true, 'Reveal all shows the PHI columns to an admin');
    await page.click('#results-reveal');
    await page.waitForFunction((id) => /\[Redacted\]/.test(document.querySelector(`#results tr[data-npuid="${id}"]`).textContent), done.npuid);
    ok(!canary.test(await page.content()), 'Hide PHI takes it out of the page again');
    await page.setViewportSize({ width: 1360, height: 900 });
  });
}
