// SPDX-License-Identifier: Apache-2.0
// Settings: the form is generated from the settings JSON Schema, so a new
// setting needs no new UI code: its "title" is the label, its "description"
// the help, "x-enum-labels" names the choices of a select, "x-when" shows a
// field only for some values of its siblings (a REST destination shows URL
// and authentication, not the DICOM host), "format": "cron" gets the
// scheduler presets, and the schema endpoint's "x-restarts" (from the
// agent's settings -> service table) marks the settings that restart a
// service. Secrets show as "********" and are kept unless replaced.
import { get, post, put } from '../api.js';
import { h, clear, toast, showError, openDialog, fmtDate } from '../ui.js';

export const title = 'Settings';
let schema, form, errBox, loaded, snapshot, current;

// The side navigation: each section holds some top-level keys of the schema.
// A key no section names lands in "Other", so a new setting always shows.
const SECTIONS = [
  { id: 'cloud', title: 'Cloud', keys: ['cloud', 'agent', 'upload', 'retry'] },
  { id: 'dicom', title: 'DICOM', keys: ['dicom'] },
  { id: 'users', title: 'Users and sign-in', keys: ['saml'] },
  { id: 'https', title: 'HTTPS', keys: ['tls', 'http'] },
  { id: 'qc', title: 'QC', keys: ['qc'] },
  { id: 'deid', title: 'De-identification', keys: ['deid'] },
  { id: 'delivery', title: 'Delivery', keys: ['delivery', 'failure_delivery', 'smtp'] },
  { id: 'groups', title: 'Groups', keys: ['groups'] },
  { id: 'notifications', title: 'Notifications', keys: ['notifications'] },
  { id: 'scheduler', title: 'Scheduler', keys: ['scheduler'] },
  { id: 'local', title: 'Local processing', keys: ['local_processing'] },
  { id: 'retention', title: 'Retention', keys: ['retention'] },
  { id: 'telemetry', title: 'Telemetry', keys: ['telemetry'] },
  { id: 'atna', title: 'Audit export (ATNA)', keys: ['atna'] },
];

// The user guide's scheduler choices; "Custom (cron)" comes last.
export const CRON_PRESETS = [
  ['* * * * *', 'Every minute'],
  ['*/5 * * * *', 'Every 5 minutes'],
  ['0 * * * *', 'Hourly'],
  ['0 0 * * *', 'Daily at midnight'],
  ['0 3 * * *', 'Daily at 3:00 AM'],
  ['0 3 * * 0', 'Weekly on Sunday at 3:00 AM'],
];

const SERVICE_NAMES = { 'np-httpd': 'the web server', prepare: 'the preparation queue', upload: 'the upload queue',
  deliver: 'the delivery queue', qc: 'the QC queue', 'np-recv': 'the DICOM receiver' };

function resolve(node) {
  while (node && node.$ref) node = schema.definitions[node.$ref.split('/').pop()];
  return node || {};
}

function label(key, node) {
  if (node.title) return node.title;
  const s = key.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const idOf = (path) => 'set-' + path.replace(/\./g, '-');
const parentOf = (path) => path.split('.').slice(0, -1).join('.');

// "Restarts the web server" on a setting from the agent's effect table.
function restartBadge(path) {
  const who = (schema['x-restarts'] || {})[path];
  if (!who || !who.length) return null;
  const names = who.map((s) => SERVICE_NAMES[s] || s).join(' and ');
  return h('span', { class: 'badge restart', title: `Saving a change here restarts ${names} (after its work in hand).`, dataset: { restarts: who.join(' ') } },
    'Restarts ' + names);
}

// A field shown only for some values of its siblings (schema "x-when").
function when(el, node, path) {
  if (node['x-when']) {
    el.dataset.when = JSON.stringify(node['x-when']);
    el.dataset.scope = parentOf(path);
  }
  return el;
}

function field(key, node, value, path) {
  node = resolve(node);
  if (node['x-hidden']) return null;
  // A list item (a result destination) comes with only the keys that were
  // set: an unset key shows, and keeps, its default (a blank REST body
  // template would otherwise be saved and sent).
  if (value === undefined) value = node.default;
  const id = idOf(path);
  const helpId = id + '-help';
  const help = node.description ? h('span', { class: 'help', id: helpId }, node.description) : null;
  const described = node.description ? helpId : null;
  if (node.type === 'object' && node.properties) {
    const fs = h('fieldset', { dataset: { group: path }, class: 'wide' }, h('legend', {}, label(key, node)), help,
      h('div', { class: 'form-grid' }, Object.entries(node.properties).map(([k, n]) => field(k, n, value ? value[k] : undefined, path + '.' + k))),
      deliveryTest(path));
    return when(fs, node, path);
  }
  if (node.type === 'array' && node.items && resolve(node.items).type === 'object') return destinations(key, node, value || [], path);
  const title = h('span', { class: 'field-title' }, label(key, node), restartBadge(path));
  let input;
  if (node.type === 'boolean') {
    input = h('input', { type: 'checkbox', id, checked: !!value, 'aria-describedby': described, dataset: { path, kind: 'bool' } });
    return when(h('div', { class: 'field check' }, h('label', { class: 'inline', for: id }, input, title), help), node, path);
  }
  if (node.format === 'cron') return when(cronField(id, title, help, described, value, path), node, path);
  let wide = false;
  let warning = null;
  if (node.enum) {
    const names = node['x-enum-labels'] || {};
    input = h('select', { id, 'aria-describedby': described, dataset: { path, kind: node.type === 'integer' ? 'int' : 'str' } },
      node.enum.map((v) => h('option', { value: v, selected: v === value }, names[v] || String(v))));
    // A choice the schema warns about ("x-enum-warnings") says so while chosen.
    const warns = node['x-enum-warnings'];
    if (warns) {
      warning = h('div', { class: 'field-warning', role: 'status', 'aria-live': 'polite' });
      const show = () => { warning.textContent = warns[input.value] || ''; warning.hidden = !warns[input.value]; };
      input.addEventListener('change', show);
      show();
    }
  } else if (node.type === 'integer' || node.type === 'number') {
    input = h('input', { type: 'number', id, value: value ?? '', min: node.minimum, max: node.maximum, 'aria-describedby': described, dataset: { path, kind: 'int' } });
  } else if (node.type === 'array') {
    input = h('textarea', { id, rows: 2, 'aria-describedby': described, dataset: { path, kind: 'list' } }, (value || []).join('\n'));
  } else if (node.type === 'object') {
    input = h('textarea', { id, rows: 2, 'aria-describedby': described, dataset: { path, kind: 'json' } }, JSON.stringify(value || {}, null, 1));
  } else if (node.writeOnly) {
    input = h('input', { type: 'password', id, value: value || '', autocomplete: 'new-password', 'aria-describedby': described, dataset: { path, kind: 'secret' } });
  } else if (/body_template$|_pem$/.test(key) || (node.maxLength || 0) > 4096) {
    wide = true;
    input = h('textarea', { id, rows: 3, 'aria-describedby': described, dataset: { path, kind: 'str' } }, value ?? '');
  } else {
    // no maxlength: the browser would cut an AE title silently; the agent refuses it with a reason
    input = h('input', { id, value: value ?? '', 'aria-describedby': described, dataset: { path, kind: 'str' } });
  }
  // Set on the host only (the agent refuses a change from the page): shown, not editable.
  if (node.readOnly) input.disabled = true;
  const extra = path === 'saml.idp_metadata_url'
    ? h('button', { type: 'button', id: 'saml-fetch', onclick: () => samlFetch(input.value).catch(showError) }, 'Fetch') : null;
  return when(h('label', { for: id, class: 'field' + (wide ? ' wide' : '') }, title, extra ? h('span', { class: 'with-button' }, input, extra) : input, warning, help), node, path);
}

// A schedule: the guide's presets in a select, "Custom (cron)" last with the
// expression typed; the saved value is always the cron text in the input,
// and the next run times come from the agent (its parser, its time zone).
function cronField(id, title, help, described, value, path) {
  const input = h('input', { id, value: value ?? '', class: 'mono', spellcheck: 'false', 'aria-label': 'Cron expression (minute hour day month weekday)', 'aria-describedby': described, dataset: { path, kind: 'str' } });
  const known = CRON_PRESETS.find(([c]) => c === String(value ?? '').trim());
  const select = h('select', { id: id + '-preset', 'aria-label': 'Schedule', dataset: { cron: path } },
    CRON_PRESETS.map(([c, name]) => h('option', { value: c, selected: !!known && known[0] === c }, name)),
    h('option', { value: 'custom', selected: !known }, 'Custom (cron)'));
  const next = h('span', { class: 'help cron-next', id: id + '-next', 'aria-live': 'polite' });
  const custom = h('span', { class: 'cron-custom' }, input);
  custom.hidden = !!known;
  let seq = 0, timer;
  const showNext = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++seq;
      try {
        const r = await get('/api/settings/cron?count=3&expr=' + encodeURIComponent(input.value.trim()));
        if (mine !== seq) return;
        next.classList.remove('error');
        next.textContent = r.next.length ? 'Next runs: ' + r.next.map((n) => n.local).join(' · ') : 'Never runs.';
      } catch (e) {
        if (mine !== seq) return;
        next.classList.add('error');
        next.textContent = e.message;
      }
    }, 250);
  };
  select.addEventListener('change', () => {
    custom.hidden = select.value !== 'custom';
    if (select.value !== 'custom') input.value = select.value;
    else input.focus();
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
  input.addEventListener('input', showNext);
  showNext();
  return h('div', { class: 'field cron' }, h('label', { for: select.id }, title), select, custom, help, next);
}

// The Test button of a delivery setting other than the result list.
function deliveryTest(path) {
  const which = path === 'groups.delivery' ? 'group' : path === 'failure_delivery' ? 'failure' : null;
  if (!which) return null;
  return h('div', { class: 'actions' }, h('button', { type: 'button', id: 'test-delivery-' + which, onclick: () => testDelivery(which) }, 'Test delivery'));
}

function destinations(key, node, list, path) {
  const box = h('div', { id: idOf(path), class: 'destinations' });
  const max = node.maxItems || 5;
  const redraw = () => {
    clear(box, list.map((d, i) => h('fieldset', { dataset: { group: path + '.' + i }, class: 'destination' },
      h('legend', {}, `Destination ${i + 1}` + (d.name ? ` — ${d.name}` : '')),
      h('div', { class: 'form-grid' }, Object.entries(resolve(node.items).properties).map(([k, n]) => field(k, n, d[k], `${path}.${i}.${k}`))),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => testDelivery(String(i)) }, 'Test delivery'),
        h('button', { type: 'button', class: 'danger', onclick: () => { collectInto(list, path); list.splice(i, 1); redraw(); changed(); } }, 'Remove')))),
    list.length < max ? h('button', { type: 'button', id: 'add-destination', onclick: () => { collectInto(list, path); list.push({ type: 'none' }); redraw(); changed(); } }, 'Add destination')
      : h('p', { class: 'help' }, `At most ${max} destinations.`));
  };
  redraw();
  return h('fieldset', { dataset: { list: path }, class: 'wide' }, h('legend', {}, label(key, node)), h('span', { class: 'help' }, node.description || ''), box);
}

// Keep values typed in destination fields when the list is redrawn.
function collectInto(list, path) {
  const v = collect();
  const cur = getPath(v, path);
  if (Array.isArray(cur)) cur.forEach((d, i) => { list[i] = d; });
}

function setPath(obj, path, val) {
  const parts = path.split('.');
  let cur = obj;
  parts.slice(0, -1).forEach((p, i) => {
    const nextIsIndex = /^\d+$/.test(parts[i + 1]);
    if (cur[p] === undefined) cur[p] = nextIsIndex ? [] : {};
    cur = cur[p];
  });
  cur[parts[parts.length - 1]] = val;
}

function collect() {
  const out = {};
  for (const el of form.querySelectorAll('[data-path]')) {
    const k = el.dataset.kind;
    let v;
    if (k === 'bool') v = el.checked;
    else if (k === 'int') v = el.value === '' ? undefined : Number(el.value);
    else if (k === 'list') v = el.value.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);
    else if (k === 'json') { try { v = JSON.parse(el.value || '{}'); } catch { throw new Error(el.dataset.path + ': not valid JSON'); } }
    else v = el.value;
    if (v !== undefined) setPath(out, el.dataset.path, v);
  }
  for (const fs of form.querySelectorAll('[data-list]')) {
    if (!fs.querySelector('[data-path]')) setPath(out, fs.dataset.list, []);
    else prune(out, fs.dataset.list);
  }
  return out;
}

const getPath = (obj, path) => path.split('.').reduce((c, p) => (c === null || c === undefined ? undefined : c[p]), obj);

// The agent returns list items (result destinations) with only the keys that
// were set. A key the form shows at its schema default stays unset, so saving
// an untouched list changes nothing and the audit trail names only what the
// user changed.
function prune(out, path) {
  const items = getPath(out, path);
  const before = getPath(loaded, path) || [];
  let node = { properties: schema.properties };
  for (const p of path.split('.')) node = resolve(resolve(node).properties[p]);
  const props = resolve(node.items).properties || {};
  (items || []).forEach((item, i) => {
    for (const k of Object.keys(item)) {
      const was = before[i] && Object.prototype.hasOwnProperty.call(before[i], k);
      const dflt = props[k] ? resolve(props[k]).default : undefined;
      if (!was && dflt !== undefined && JSON.stringify(item[k]) === JSON.stringify(dflt)) delete item[k];
    }
  });
}

// ---- what the form shows: conditional fields, unsaved changes ----

function valueOf(path) {
  const el = form.querySelector(`[data-path="${CSS.escape(path)}"]`);
  if (!el) return getPath(loaded, path);
  return el.dataset.kind === 'bool' ? el.checked : el.dataset.kind === 'int' ? Number(el.value) : el.value;
}

function applyWhen() {
  for (const el of form.querySelectorAll('[data-when]')) {
    const rule = JSON.parse(el.dataset.when);
    const scope = el.dataset.scope ? el.dataset.scope + '.' : '';
    el.hidden = !Object.entries(rule).every(([k, allowed]) => allowed.includes(valueOf(scope + k)));
  }
  // The mail server matters once something is sent by e-mail.
  const smtp = form.querySelector('[data-group="smtp"]');
  if (smtp) {
    const email = [...form.querySelectorAll('[data-path$=".type"], [data-path="notifications.method"]')].some((e) => e.value === 'email');
    smtp.hidden = !email;
    const note = form.querySelector('#smtp-unused');
    if (note) note.hidden = email;
  }
}

// Sections whose values differ from the loaded ones.
function dirtySections() {
  if (!form || !form.isConnected) return [];
  let now;
  try { now = collect(); } catch { return [current]; }
  return sectionsOf().filter((s) => s.keys.some((k) => JSON.stringify(now[k]) !== JSON.stringify(snapshot[k]))).map((s) => s.id);
}
export const isDirty = () => dirtySections().length > 0;

function changed() {
  applyWhen();
  const dirty = dirtySections();
  for (const b of document.querySelectorAll('#settings-nav button')) b.classList.toggle('dirty', dirty.includes(b.dataset.section));
  const st = document.getElementById('settings-dirty');
  if (st) st.textContent = dirty.length ? 'Unsaved changes in ' + dirty.map((id) => sectionsOf().find((s) => s.id === id).title).join(', ') + '.' : 'All changes saved.';
  const saveBtn = document.getElementById('save-settings');
  if (saveBtn) saveBtn.classList.toggle('pending', dirty.length > 0);
}

function sectionsOf() {
  const named = new Set(SECTIONS.flatMap((s) => s.keys));
  const other = Object.keys(schema.properties).filter((k) => !named.has(k));
  const list = SECTIONS.map((s) => ({ ...s, keys: s.keys.filter((k) => schema.properties[k]) })).filter((s) => s.keys.length);
  return other.length ? [...list, { id: 'other', title: 'Other', keys: other }] : list;
}

// Asks before edits are left behind; resolves true to go on.
function leaveOk(where) {
  if (!isDirty()) return Promise.resolve(true);
  return new Promise((resolve) => {
    let answered = false;
    const done = (v) => { answered = true; resolve(v); };
    openDialog('Unsaved changes', h('p', { id: 'unsaved-prompt' },
      `You changed settings that are not saved yet. Save them before going to ${where}?`), [
      // A refused save closes the question: the form shows why, next to the field.
      { label: 'Save changes', primary: true, onClick: async () => { done(await save()); } },
      { label: 'Discard changes', danger: true, onClick: () => { discard(); done(true); } },
    ], { onClose: () => { if (!answered) resolve(false); } });
  });
}

function discard() {
  buildForm(document.getElementById('view'), loaded);
}

function showSection(id) {
  const list = sectionsOf();
  if (!list.find((s) => s.id === id)) id = list[0].id;
  current = id;
  for (const s of form.querySelectorAll('section[data-section]')) s.hidden = s.dataset.section !== id;
  for (const b of document.querySelectorAll('#settings-nav button')) {
    if (b.dataset.section === id) b.setAttribute('aria-current', 'true'); else b.removeAttribute('aria-current');
  }
  // The address names the section (a reload or a bookmark opens it) without
  // a hashchange, which would render the page again.
  history.replaceState(null, '', '#/settings/' + id);
}

async function goSection(id) {
  if (id === current) return;
  const s = sectionsOf().find((x) => x.id === id);
  if (!(await leaveOk('“' + (s ? s.title : id) + '”'))) return;
  showSection(id);
  const first = form.querySelector(`section[data-section="${CSS.escape(id)}"] h2`);
  if (first) first.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// Leaving the page: a link to another page, or closing/reloading the tab.
let guarded = false;
function guardLeaving() {
  if (guarded) return;
  guarded = true;
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href^="#/"]');
    if (!a || a.getAttribute('href').startsWith('#/settings') || !isDirty()) return;
    e.preventDefault();
    e.stopPropagation();
    leaveOk('“' + a.textContent.trim() + '”').then((go) => { if (go) { snapshot = collect(); location.hash = a.getAttribute('href'); } });
  }, true);
  window.addEventListener('beforeunload', (e) => {
    if (!isDirty()) return;
    e.preventDefault();
    e.returnValue = '';
  });
}

// ---- actions ----

async function save() {
  errBox.textContent = '';
  for (const x of form.querySelectorAll('.field-error')) x.remove();
  let body;
  try { body = collect(); } catch (e) { errBox.textContent = e.message; return false; }
  try {
    const r = await put('/api/settings', body);
    toast(`Settings saved (${(r.changed || []).length} changed).`);
    const moving = (r.applied || []).find((a) => a.action === 'restarting' && a.url);
    snapshot = body;
    if (moving) follow(moving.url);
    else await render(document.getElementById('view'));
    const view = document.getElementById('view');
    const old = document.getElementById('settings-applied');
    if (old) old.remove();
    view.insertBefore(appliedBox(r, moving), view.children[1] || null);
    return true;
  } catch (e) {
    errBox.textContent = e.message;
    const key = (e.message.split(':')[0] || '').trim();
    const el = form.querySelector(`[data-path="${CSS.escape(key)}"]`);
    if (el) {
      // Show the section that holds the refused setting.
      const sec = el.closest('section[data-section]');
      if (sec && sec.dataset.section !== current) showSection(sec.dataset.section);
      el.after(h('span', { class: 'error field-error', role: 'alert' }, e.message));
      el.focus();
    }
    return false;
  }
}

// What each service did with the saved settings (PUT /api/settings "applied").
function appliedBox(r, moving) {
  const items = r.applied || [];
  return h('div', { id: 'settings-applied', class: 'panel', role: 'status' },
    h('p', {}, `Settings saved (${(r.changed || []).length} changed)` +
      (items.length ? ':' : '; no service needed to be told.')),
    items.length ? h('ul', {}, items.map((a) => h('li', { 'data-service': a.service, 'data-action': a.action },
      // the API's message may already start with "np-httpd restarting: "
      h('strong', {}, a.service), ` ${a.action}: ${(a.message || '').replace(`${a.service} ${a.action}: `, '')}`))) : null,
    moving ? h('p', { id: 'settings-reconnect' }, 'np-httpd restarting: reconnect at ',
      h('a', { href: moving.url, id: 'settings-reconnect-url' }, moving.url),
      ' (this page follows in a few seconds).') : null);
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// np-httpd restarts on its new address (port, or HTTPS): follow it. The page
// may not probe another origin (CSP connect-src 'self'), so wait until this
// address stops answering (the restart has begun), give s6 a moment to start
// np-httpd again, then load the new address; the session cookie is the
// host's, so the admin stays logged in.
async function follow(url) {
  const t0 = Date.now();
  while (Date.now() - t0 < 15000) {
    try { await fetch('/api/health', { cache: 'no-store' }); } catch { break; }
    await sleep(300);
  }
  await sleep(2500);
  location.assign(url);
}

// A test sends with the saved settings: unsaved edits are saved first (asked).
async function saveFirst(what) {
  if (!isDirty()) return true;
  return new Promise((resolve) => {
    let answered = false;
    openDialog('Save before testing?', h('p', {}, `${what} uses the saved settings. Save your changes first?`),
      [{ label: 'Save and test', primary: true, onClick: async () => { answered = true; resolve(await save()); } }],
      { onClose: () => { if (!answered) resolve(false); } });
  });
}

async function testDelivery(which) {
  try {
    if (!(await saveFirst('The test'))) return;
    const r = await post('/api/settings/test-delivery', { destination: which });
    toast(r && r.message ? r.message : 'Test delivery sent.');
  } catch (e) { showError(e); }
}

async function testWith(url, done) {
  try {
    if (!(await saveFirst('The test'))) return;
    const r = await post(url);
    toast((r && r.message) || done);
  } catch (e) { showError(e); }
}
const testNotification = () => testWith('/api/settings/test-notification', 'Test notification sent.');

async function samlFetch(url) {
  const r = await post('/api/saml/fetch-metadata', url ? { url } : {});
  for (const [k, v] of Object.entries(r.saml || r)) {
    const el = form.querySelector(`[data-path="saml.${CSS.escape(k)}"]`);
    if (el && typeof v === 'string') el.value = v;
    if (el && typeof v === 'boolean' && el.type === 'checkbox') el.checked = v;
  }
  changed();
  toast('IdP metadata fetched: review and save.');
}

async function action(fn, done) {
  try { const r = await fn(); toast(done(r)); } catch (e) { showError(e); }
}

function tlsDialog() {
  const cert = h('textarea', { id: 'tls-cert', rows: 6, placeholder: '-----BEGIN CERTIFICATE-----' });
  const key = h('textarea', { id: 'tls-key', rows: 6, placeholder: '-----BEGIN PRIVATE KEY-----' });
  const ca = h('textarea', { id: 'tls-ca', rows: 4 });
  const fileInto = (ta, id) => h('input', { type: 'file', id, 'aria-label': 'Read from a file', accept: '.pem,.crt,.cer,.key', onchange: async (e) => { if (e.target.files[0]) ta.value = await e.target.files[0].text(); } });
  const err = h('p', { class: 'error', role: 'alert', id: 'tls-error' });
  openDialog('Upload TLS certificate', [
    h('label', {}, 'TLS Certificate (PEM)', fileInto(cert, 'tls-cert-file'), cert),
    h('label', {}, 'TLS Private Key (PEM)', fileInto(key, 'tls-key-file'), key),
    h('label', {}, 'CA Certificate (PEM, optional)', fileInto(ca, 'tls-ca-file'), ca),
    h('p', { class: 'help' }, 'The key must match the certificate and the chain must verify; the current certificate stays active otherwise.'),
    err,
  ], [{ label: 'Upload', primary: true, onClick: async () => {
    err.textContent = '';
    try {
      const r = await post('/api/tls/certificate', { certificate: cert.value, private_key: key.value, ca_certificate: ca.value || undefined });
      const c = r.certificate || {};
      toast(`TLS certificate installed: ${c.subject || 'certificate'}, valid until ${fmtDate(c.not_after)}` +
        (r.active ? '.' : ' (used once HTTPS is turned on below).'));
    } catch (e) {
      // Shown in the dialog, which stays open so the files can be corrected.
      err.textContent = e.message;
      return false;
    }
  } }]);
}

async function updates() {
  const r = await get('/api/updates');
  openDialog('Updates', h('div', { id: 'updates' },
    h('p', {}, `Running version ${r.current}. ` + (r.latest ? `Latest release ${r.latest}.` : r.message ? r.message + '.' : 'No release information available.')),
    r.update_available ? [h('p', {}, h('strong', {}, 'An update is available.')), r.notes ? h('p', {}, 'Release notes: ', r.notes) : null,
      h('p', { class: 'help' }, 'How to update: ', r.how_to_update || 'see np-httpd(8).')]
      : r.latest ? h('p', {}, 'This agent is up to date.') : null));
}

// Buttons that belong to one section, above its fields.
function sectionActions(id) {
  if (id === 'https') return h('div', { class: 'actions section-actions' }, h('button', { type: 'button', id: 'tls-upload', onclick: tlsDialog }, 'Upload TLS certificate'));
  if (id === 'notifications') return h('div', { class: 'actions section-actions' }, h('button', { type: 'button', id: 'test-notification', onclick: testNotification }, 'Test notification'));
  if (id === 'atna') return h('div', { class: 'actions section-actions' }, h('button', { type: 'button', id: 'test-atna', onclick: () => testWith('/api/settings/test-atna', 'Test audit message sent.') }, 'Send a test audit message'));
  return null;
}

function buildForm(view, values) {
  errBox = h('p', { class: 'error', role: 'alert', id: 'settings-error' });
  const list = sectionsOf();
  form = h('form', { id: 'settings-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); save(); }, oninput: changed, onchange: changed },
    list.map((s) => h('section', { dataset: { section: s.id }, 'aria-labelledby': 'settings-h-' + s.id },
      h('h2', { id: 'settings-h-' + s.id, tabindex: '-1' }, s.title),
      sectionActions(s.id),
      s.keys.map((k) => field(k, schema.properties[k], values[k], k)),
      s.id === 'delivery' ? h('p', { class: 'help', id: 'smtp-unused' }, 'The e-mail server (SMTP) settings appear here once a destination or the notifications send by e-mail.') : null)),
    h('div', { class: 'settings-savebar' },
      h('button', { type: 'submit', class: 'primary', id: 'save-settings' }, 'Save settings'),
      h('span', { id: 'settings-dirty', class: 'muted', 'aria-live': 'polite' }),
      errBox));
  const nav = h('nav', { id: 'settings-nav', class: 'settings-nav', 'aria-label': 'Settings sections' },
    h('ul', {}, list.map((s) => h('li', {}, h('button', { type: 'button', dataset: { section: s.id }, onclick: () => goSection(s.id) }, s.title)))));
  clear(view, h('div', { class: 'settings-head' }, h('h1', {}, 'Settings'),
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'refresh-token', onclick: () => action(() => post('/api/cloud/refresh-token'), (r) => (r && r.message) || 'Token refreshed.') }, 'Refresh token'),
      h('button', { type: 'button', id: 'check-updates', onclick: () => updates().catch(showError) }, 'Check for updates'),
      // what a PACS engineer asks for first (PS3.2), generated from the code's own tables
      h('a', { id: 'conformance-link', class: 'button', href: '/api/conformance', target: '_blank', rel: 'noopener' }, 'DICOM Conformance Statement'))),
    h('div', { class: 'settings-layout' }, nav, form));
  snapshot = collect();
  const want = (location.hash.match(/^#\/settings\/([\w-]+)/) || [])[1] || current;
  showSection(want);
  changed();
}

export async function render(view) {
  schema = await get('/api/settings/schema');
  const values = await get('/api/settings');
  loaded = values;
  guardLeaving();
  buildForm(view, values);
}

export async function refresh() { /* never reload over unsaved edits */ }
