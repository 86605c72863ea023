// SPDX-License-Identifier: Apache-2.0
// Settings as an admin reads it (issue 19): sections with a side navigation,
// labels and help from the schema, fields only for the chosen type, the
// scheduler presets saved as cron, restart badges, Test buttons for every
// delivery kind, and a question before unsaved edits are left behind.
export default async function (t) {
  const { page, step, ok, apiJson, api, shot, go, clearToasts, waitToast, dialogButton, hooked, waitHook } = t;
  const section = async (id) => {
    await page.click(`#settings-nav [data-section=${id}]`);
    await page.waitForSelector(`section[data-section=${id}]:not([hidden])`);
  };
  // Visible elements reaching past the right edge of the window.
  const overflow = () => page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const out = [...document.querySelectorAll('body *')].filter((e) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.right > w + 1;
    }).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : ''));
    return { scroll: document.documentElement.scrollWidth > w, out: out.slice(0, 8) };
  });
  const SECTIONS = ['Cloud', 'DICOM', 'Users and sign-in', 'HTTPS', 'QC', 'De-identification', 'Delivery', 'Groups',
    'Notifications', 'Scheduler', 'Local processing', 'Retention', 'Telemetry'];

  await step('settings: sections', async () => {
    await page.setViewportSize({ width: 1024, height: 800 });
    try { await sections(); } finally { await page.setViewportSize({ width: 1360, height: 900 }); }
  });
  async function sections() {
    await go('settings', '#settings-nav');
    const names = await page.$$eval('#settings-nav button', (b) => b.map((x) => x.textContent.trim()));
    ok(JSON.stringify(names.filter((n) => SECTIONS.includes(n))) === JSON.stringify(SECTIONS), 'the side navigation lists the sections of the guide, in its order', names.join(', '));
    ok(!names.includes('Other'), 'every setting belongs to a named section (none left in "Other")', names.join(', '));
    const wide = [], tall = [], shown = [];
    for (const b of await page.$$('#settings-nav button')) {
      const id = await b.getAttribute('data-section');
      await section(id);
      const visible = await page.$$eval('section[data-section]', (s) => s.filter((x) => !x.hidden).map((x) => x.dataset.section));
      if (visible.length !== 1 || visible[0] !== id) shown.push(id + ':' + visible.join('+'));
      const o = await overflow();
      if (o.scroll || o.out.length) wide.push(id + ': ' + o.out.join(' '));
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      if (height > 4000) tall.push(id + ' ' + height + ' px');
      if (['dicom', 'delivery', 'notifications', 'scheduler', 'users'].includes(id)) await shot('settings-' + id + '-1024');
    }
    ok(!shown.length, 'each navigation button shows its section alone', shown.join(' '));
    ok(!wide.length, 'no element of any section is wider than a 1024 px window', wide.join('\n'));
    ok(!tall.length, 'no section is one very long page', tall.join(', '));
    await section('telemetry');
    ok(/#\/settings\/telemetry$/.test(page.url()), 'the address names the section shown', page.url());
    await page.reload();
    await page.waitForSelector('section[data-section=telemetry]:not([hidden])');
    ok(true, 'a reload opens the same section');
    await page.setViewportSize({ width: 1440, height: 900 });
    await section('delivery');
    await shot('settings-delivery-1440');
    await section('dicom');
    await shot('settings-dicom-1440');
  }

  await step('settings: labels and help for an admin', async () => {
    const fields = await page.$$eval('#settings-form .field', (f) => f.map((x) => ({
      label: (x.querySelector('.field-title') || x).firstChild.textContent.trim(),
      help: ((x.querySelector('.help') || {}).textContent || '').trim(),
    })));
    const raw = fields.filter((f) => /^(Db record days|Qc passed|Artim seconds)$/.test(f.label) || /_/.test(f.label));
    ok(fields.length > 150 && !raw.length, 'every setting has a written label, none made from its key', raw.map((f) => f.label).join(', '));
    const echo = fields.filter((f) => !f.help || f.help.toLowerCase().replace(/\W/g, '') === f.label.toLowerCase().replace(/\W/g, ''));
    ok(!echo.length, 'every setting has help that says more than its label', echo.map((f) => f.label).join(', '));
    // A checkbox sits on its label's first line.
    await section('qc');
    const gap = await page.$eval('#set-qc-dicom_enabled', (c) => {
      const t = c.nextElementSibling.getBoundingClientRect(), r = c.getBoundingClientRect();
      return { dy: Math.abs((r.top + r.bottom) / 2 - (t.top + Math.min(t.height, 20) / 2)), dx: t.left - r.right };
    });
    ok(gap.dy < 8 && gap.dx >= 0 && gap.dx < 16, 'a checkbox is aligned with its label', JSON.stringify(gap));
  });

  await step('settings: restart badges', async () => {
    const schema = await apiJson('/api/settings/schema');
    const r = schema['x-restarts'] || {};
    ok((r['http.port'] || []).includes('np-httpd') && (r['agent.mode'] || []).includes('prepare') && !r['dicom.ae_title'],
      'the schema answer names the settings that restart a service', JSON.stringify(r));
    await section('https');
    const badge = await page.textContent('label[for="set-http-port"] .badge.restart').catch(() => '');
    ok(/restarts the web server/i.test(badge), 'the HTTP port is marked as restarting the web server', badge);
    await section('dicom');
    ok(!(await page.$('label[for="set-dicom-ae_title"] .badge.restart')), 'a setting applied live has no restart badge');
  });

  await step('settings: fields for the chosen type', async () => {
    await section('delivery');
    const type = '#set-delivery-destinations-0-type';
    const vis = async (id) => page.isVisible('#set-delivery-destinations-0-' + id);
    ok((await page.inputValue(type)) === 'rest' && (await vis('url')) && (await vis('body_template')) && !(await vis('host')) && !(await vis('port')) && !(await vis('ae_title')),
      'a REST destination shows its URL and body, not the DICOM host, port or AE title');
    ok(!(await vis('username')), 'without authentication no user name is asked');
    await page.selectOption('#set-delivery-destinations-0-auth', 'basic');
    ok((await vis('username')) && (await vis('password')), 'basic authentication asks for the user name and password');
    await page.selectOption('#set-delivery-destinations-0-auth', 'none');
    await page.selectOption(type, 'dicom_pdf');
    ok((await vis('host')) && (await vis('port')) && (await vis('ae_title')) && !(await vis('url')) && !(await vis('tls_cert_file')),
      'a DICOM destination shows host, port and AE title, not the URL (nor the TLS files before TLS is on)');
    await page.selectOption(type, 'rest');
    ok(!(await page.isVisible('[data-group=smtp]')), 'the SMTP server is not shown while nothing is sent by e-mail');
    await page.selectOption('#set-failure_delivery-type', 'email');
    ok((await page.isVisible('[data-group=smtp]')) && (await page.isVisible('#set-failure_delivery-recipients')), 'choosing e-mail shows the recipients and the SMTP server');
    await page.selectOption('#set-failure_delivery-type', 'none');
    ok((await page.textContent('#settings-dirty')).includes('All changes saved'), 'putting the values back leaves nothing unsaved', await page.textContent('#settings-dirty'));
  });

  await step('settings: scheduler presets', async () => {
    const before = (await apiJson('/api/settings')).scheduler.poll_cron;
    await section('scheduler');
    const sel = '#set-scheduler-poll_cron-preset';
    const opts = await page.$$eval(sel + ' option', (o) => o.map((x) => x.textContent));
    ok(JSON.stringify(opts) === JSON.stringify(['Every minute', 'Every 5 minutes', 'Hourly', 'Daily at midnight', 'Daily at 3:00 AM', 'Weekly on Sunday at 3:00 AM', 'Custom (cron)']),
      'the schedule offers the guide\'s choices, custom last', opts.join(' | '));
    await page.selectOption(sel, { label: 'Weekly on Sunday at 3:00 AM' });
    await page.waitForFunction(() => /Next runs: .*03:00/.test(document.querySelector('#set-scheduler-poll_cron-next').textContent));
    const next = await page.textContent('#set-scheduler-poll_cron-next');
    ok(true, 'the next run times are shown', next);
    await clearToasts();
    await page.click('#save-settings');
    await waitToast(/Settings saved/);
    ok((await apiJson('/api/settings')).scheduler.poll_cron === '0 3 * * 0', 'the preset is saved as its cron expression');
    await page.selectOption(sel, 'custom');
    ok(await page.isVisible('#set-scheduler-poll_cron'), 'Custom shows the cron expression to edit');
    await page.fill('#set-scheduler-poll_cron', '61 * * * *');
    await page.waitForFunction(() => document.querySelector('#set-scheduler-poll_cron-next').classList.contains('error'));
    ok(/minute/i.test(await page.textContent('#set-scheduler-poll_cron-next')), 'a wrong expression is explained before saving', await page.textContent('#set-scheduler-poll_cron-next'));
    await page.fill('#set-scheduler-poll_cron', '15 2 * * 1-5');
    await page.waitForFunction(() => /02:15/.test(document.querySelector('#set-scheduler-poll_cron-next').textContent));
    await clearToasts();
    await page.click('#save-settings');
    await waitToast(/Settings saved/);
    ok((await apiJson('/api/settings')).scheduler.poll_cron === '15 2 * * 1-5', 'a custom expression is saved as typed');
    const r = await api('/api/settings', { method: 'PUT', body: JSON.stringify({ scheduler: { poll_cron: before } }) });
    ok(r.status === 200, 'the schedule is put back', r.body);
  });

  await step('settings: Test buttons for every delivery kind', async () => {
    await page.reload();
    await page.waitForSelector('#settings-nav');
    await section('groups');
    let before = hooked('/group').length;
    await clearToasts();
    await page.click('#test-delivery-group');
    ok((await waitHook('/group', before + 1)).length === before + 1, 'Test delivery of the group report reaches the webhook');
    // The failure report: set up in the form, the test offers to save first.
    const url = (await apiJson('/api/settings')).delivery.destinations[0].url.replace(/\/results$/, '/failure');
    await section('delivery');
    await page.selectOption('#set-failure_delivery-type', 'rest');
    await page.fill('#set-failure_delivery-url', url);
    before = hooked('/failure').length;
    await page.click('#test-delivery-failure');
    await page.waitForSelector('dialog[open]');
    ok((await page.textContent('dialog[open]')).includes('uses the saved settings'), 'a test with unsaved changes asks to save first');
    await dialogButton('Save and test').click();
    ok((await waitHook('/failure', before + 1)).length === before + 1, 'Test delivery of the failure report reaches the webhook');
    const s = await apiJson('/api/settings');
    ok(s.failure_delivery.type === 'rest' && s.failure_delivery.url === url, 'and the failure delivery was saved', JSON.stringify(s.failure_delivery));
    await api('/api/settings', { method: 'PUT', body: JSON.stringify({ failure_delivery: { type: 'none', url: '' } }) });
    await page.reload();
    await page.waitForSelector('#settings-nav');
  });

  await step('settings: unsaved changes', async () => {
    await section('dicom');
    const was = await page.inputValue('#set-dicom-max_wait_minutes');
    await page.fill('#set-dicom-max_wait_minutes', String(Number(was) + 7));
    ok(await page.$('#settings-nav button.dirty[data-section=dicom]'), 'the section with an edit is marked in the navigation');
    await page.click('#settings-nav [data-section=qc]');
    await page.waitForSelector('dialog[open] #unsaved-prompt');
    ok(true, 'leaving the section with an edit asks first');
    await shot('settings-unsaved');
    await dialogButton('Cancel').click();
    ok(await page.isVisible('#set-dicom-max_wait_minutes') && (await page.inputValue('#set-dicom-max_wait_minutes')) === String(Number(was) + 7), 'Cancel stays, with the edit kept');
    const prevented = await page.evaluate(() => { const e = new Event('beforeunload', { cancelable: true }); window.dispatchEvent(e); return e.defaultPrevented; });
    ok(prevented, 'closing or reloading the tab asks too (beforeunload)');
    await page.click('a[data-page=studies]');
    await page.waitForSelector('dialog[open] #unsaved-prompt');
    ok(/#\/settings/.test(page.url()), 'leaving the page asks first', page.url());
    await dialogButton('Discard changes').click();
    await page.waitForSelector('#studies');
    ok((await apiJson('/api/settings')).dicom.max_wait_minutes === Number(was), 'Discard leaves the saved value as it was');
    const clean = await page.evaluate(() => { const e = new Event('beforeunload', { cancelable: true }); window.dispatchEvent(e); return e.defaultPrevented; });
    ok(!clean, 'with nothing unsaved, leaving asks nothing');
  });

  await step('settings: a weaker TLS profile warns; the Conformance Statement is linked', async () => {
    await go('settings', '#settings-nav');
    await section('dicom');
    const on = '#set-dicom-tls-enabled', prof = '#set-dicom-tls-profile';
    const was = await page.isChecked(on);
    if (!was) await page.check(on);
    const warn = () => page.locator(`label[for="${prof.slice(1)}"] .field-warning`);
    ok(!(await warn().isVisible()), 'the default BCP 195 profile shows no warning');
    await page.selectOption(prof, 'legacy-aes');
    ok((await warn().isVisible()) && /no forward secrecy/.test(await warn().textContent()), 'choosing Legacy AES says what it weakens');
    await page.selectOption(prof, 'bcp195');
    ok(!(await warn().isVisible()), 'and the warning goes with the choice');
    if (!was) await page.uncheck(on);
    const href = await page.getAttribute('#conformance-link', 'href');
    const r = await api(href);
    ok(href === '/api/conformance' && r.status === 200 && /Conformance Statement/.test(r.body), 'Settings links the DICOM Conformance Statement', href + ' ' + r.status);
  });
}
