// SPDX-License-Identifier: Apache-2.0
// Settings: the form is generated from the settings JSON Schema, so a new
// setting needs no new UI code. Secrets show as "********" and are kept
// unless replaced.
import { get, post, put } from '../api.js';
import { h, clear, toast, showError, openDialog, fmtDate } from '../ui.js';

export const title = 'Settings';
let schema, form, errBox, loaded;

function resolve(node) {
  while (node && node.$ref) node = schema.definitions[node.$ref.split('/').pop()];
  return node || {};
}

const WORDS = { api: 'API', url: 'URL', idp: 'IdP', sp: 'SP', tls: 'TLS', ae: 'AE', aets: 'AE titles', ca: 'CA', pem: 'PEM',
  mb: 'MB', gb: 'GB', cpu: 'CPU', id: 'ID', dicom: 'DICOM', smtp: 'SMTP', saml: 'SAML', pdu: 'PDU', uid: 'UID', nameid: 'NameID' };
function label(key, node) {
  if (node.title) return node.title;
  const s = key.split('_').map((w) => WORDS[w] || w).join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function field(key, node, value, path) {
  node = resolve(node);
  // A list item (a result destination) comes with only the keys that were
  // set: an unset key shows, and keeps, its default (a blank REST body
  // template would otherwise be saved and sent).
  if (value === undefined) value = node.default;
  const id = 'set-' + path.replace(/\./g, '-');
  const help = node.description ? h('span', { class: 'help' }, node.description) : null;
  if (node.type === 'object' && node.properties) {
    return h('fieldset', { dataset: { group: path } }, h('legend', {}, label(key, node)), help,
      h('div', { class: 'form-grid' }, Object.entries(node.properties).map(([k, n]) => field(k, n, value ? value[k] : undefined, path + '.' + k))));
  }
  if (node.type === 'array' && node.items && resolve(node.items).type === 'object') return destinations(key, node, value || [], path);
  let input;
  if (node.type === 'boolean') {
    input = h('input', { type: 'checkbox', id, checked: !!value, dataset: { path, kind: 'bool' } });
    return h('div', { class: 'check' }, h('label', { class: 'inline', for: id }, input, label(key, node)), help);
  }
  if (node.enum) {
    input = h('select', { id, dataset: { path, kind: node.type === 'integer' ? 'int' : 'str' } },
      node.enum.map((v) => h('option', { value: v, selected: v === value }, String(v))));
  } else if (node.type === 'integer' || node.type === 'number') {
    input = h('input', { type: 'number', id, value: value ?? '', min: node.minimum, max: node.maximum, dataset: { path, kind: 'int' } });
  } else if (node.type === 'array') {
    input = h('textarea', { id, rows: 2, dataset: { path, kind: 'list' } }, (value || []).join('\n'));
  } else if (node.type === 'object') {
    input = h('textarea', { id, rows: 2, dataset: { path, kind: 'json' } }, JSON.stringify(value || {}, null, 1));
  } else if (node.writeOnly) {
    input = h('input', { type: 'password', id, value: value || '', autocomplete: 'new-password', dataset: { path, kind: 'secret' } });
  } else if (/_template$|_pem$/.test(key) || (node.maxLength || 0) > 4096) {
    input = h('textarea', { id, rows: 3, dataset: { path, kind: 'str' } }, value ?? '');
  } else {
    // no maxlength: the browser would cut an AE title silently; the agent refuses it with a reason
    input = h('input', { id, value: value ?? '', dataset: { path, kind: 'str' } });
  }
  const extra = path === 'saml.idp_metadata_url'
    ? h('button', { type: 'button', id: 'saml-fetch', onclick: () => samlFetch(input.value).catch(showError) }, 'Fetch') : null;
  return h('label', { for: id }, label(key, node), input, extra, help);
}

function destinations(key, node, list, path) {
  const box = h('div', { id: 'set-' + path.replace(/\./g, '-') });
  const max = node.maxItems || 5;
  const redraw = () => {
    clear(box, list.map((d, i) => h('fieldset', { dataset: { group: path + '.' + i } },
      h('legend', {}, `Destination ${i + 1}`),
      h('div', { class: 'form-grid' }, Object.entries(resolve(node.items).properties).map(([k, n]) => field(k, n, d[k], `${path}.${i}.${k}`))),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => testDelivery(i).catch(showError) }, 'Test Delivery'),
        h('button', { type: 'button', class: 'danger', onclick: () => { list.splice(i, 1); redraw(); } }, 'Remove')))),
    list.length < max ? h('button', { type: 'button', id: 'add-destination', onclick: () => { collectInto(list, path); list.push({ type: 'none' }); redraw(); } }, 'Add destination') : null);
  };
  redraw();
  return h('fieldset', { dataset: { list: path } }, h('legend', {}, label(key, node)), h('span', { class: 'help' }, node.description || ''), box);
}

// Keep values typed in destination fields when the list is redrawn.
function collectInto(list, path) {
  const v = collect();
  const parts = path.split('.');
  let cur = v;
  for (const p of parts) cur = cur ? cur[p] : undefined;
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
    else if (k === 'json') { try { v = JSON.parse(el.value || '{}'); } catch (_) { throw new Error(el.dataset.path + ': not valid JSON'); } }
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

async function save() {
  errBox.textContent = '';
  for (const x of form.querySelectorAll('.field-error')) x.remove();
  let body;
  try { body = collect(); } catch (e) { errBox.textContent = e.message; return; }
  try {
    const r = await put('/api/settings', body);
    toast(`Settings saved (${(r.changed || []).length} changed).`);
    const moving = (r.applied || []).find((a) => a.action === 'restarting' && a.url);
    if (moving) follow(moving.url);
    else await render(document.getElementById('view'));
    const view = document.getElementById('view');
    const old = document.getElementById('settings-applied');
    if (old) old.remove();
    view.insertBefore(appliedBox(r, moving), view.children[1] || null);
  } catch (e) {
    errBox.textContent = e.message;
    const key = (e.message.split(':')[0] || '').trim();
    const el = form.querySelector(`[data-path="${CSS.escape(key)}"]`);
    if (el) { el.after(h('span', { class: 'error field-error', role: 'alert' }, e.message)); el.focus(); }
  }
}

// What each service did with the saved settings (PUT /api/settings "applied").
function appliedBox(r, moving) {
  const items = r.applied || [];
  return h('div', { id: 'settings-applied', class: 'panel', role: 'status' },
    h('p', {}, `Settings saved (${(r.changed || []).length} changed)` +
      (items.length ? ':' : '; no service needed to be told.')),
    items.length ? h('ul', {}, items.map((a) => h('li', { 'data-service': a.service, 'data-action': a.action },
      h('strong', {}, a.service), ` ${a.action}: ${a.message || ''}`))) : null,
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
    try { await fetch('/api/health', { cache: 'no-store' }); } catch (e) { break; }
    await sleep(300);
  }
  await sleep(2500);
  location.assign(url);
}

async function testDelivery(i) {
  const r = await post('/api/settings/test-delivery', { destination: i });
  toast(r && r.message ? r.message : 'Test delivery sent.');
}

async function samlFetch(url) {
  const r = await post('/api/saml/fetch-metadata', url ? { url } : {});
  for (const [k, v] of Object.entries(r.saml || r)) {
    const el = form.querySelector(`[data-path="saml.${CSS.escape(k)}"]`);
    if (el && typeof v === 'string') el.value = v;
    if (el && typeof v === 'boolean' && el.type === 'checkbox') el.checked = v;
  }
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
        (r.active ? '.' : ' (used once TLS is enabled in the TLS settings).'));
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

export async function render(view) {
  schema = await get('/api/settings/schema');
  const values = await get('/api/settings');
  loaded = values;
  errBox = h('p', { class: 'error', role: 'alert', id: 'settings-error' });
  form = h('form', { id: 'settings-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); save(); } },
    Object.entries(schema.properties).map(([k, n]) => field(k, n, values[k], k)),
    errBox,
    h('button', { type: 'submit', class: 'primary', id: 'save-settings' }, 'Save settings'));
  clear(view, h('h1', {}, 'Settings'),
    h('div', { class: 'filters' },
      h('button', { type: 'button', id: 'refresh-token', onclick: () => action(() => post('/api/cloud/refresh-token'), (r) => (r && r.message) || 'Token refreshed.') }, 'Refresh Token'),
      h('button', { type: 'button', id: 'check-updates', onclick: () => updates().catch(showError) }, 'Check for Updates'),
      h('button', { type: 'button', id: 'test-notification', onclick: () => action(() => post('/api/settings/test-notification'), (r) => (r && r.message) || 'Test notification sent.') }, 'Test Notification'),
      h('button', { type: 'button', id: 'tls-upload', onclick: tlsDialog }, 'Upload TLS certificate')),
    form);
}

export async function refresh() { /* never reload over unsaved edits */ }
