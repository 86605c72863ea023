// SPDX-License-Identifier: Apache-2.0
// Logs: view, filter, search, live stream, download as file, CSV, JSON or ZIP.
import { get, qs } from '../api.js';
import { saveDownload } from '../download.js';
import { h, clear, showError } from '../ui.js';

export const title = 'Logs';
const st = { service: '', level: '', q: '', since: '', until: '' };
let tbody, source = null, streamBtn, dlError;

// A refused download says why next to the buttons (and in a toast).
async function save(format) {
  clear(dlError);
  try {
    await saveDownload('/api/logs/download' + qs({ format, ...filters() }), 'neuropacs-logs.' + (format === 'file' ? 'log' : format));
  } catch (e) {
    dlError.textContent = 'Download failed: ' + (e.message || e);
    showError(dlError.textContent);
  }
}

function filters() {
  return { service: st.service, level: st.level, q: st.q, since: st.since, until: st.until };
}

// The time of a line in local time with its zone, as other pages show time
// (to the millisecond: lines of one second keep their order). The agent's
// time (s6-log's UTC, to the nanosecond) stays in the title.
const LOCAL = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  fractionalSecondDigits: 3, hour12: false, timeZoneName: 'short' };
function when(ts) {
  if (!ts) return '';
  const iso = ts.replace(/(\.\d{3})\d*/, '$1') + (/(Z|[+-]\d\d:?\d\d)$/.test(ts) ? '' : 'Z');
  const d = new Date(iso);
  if (isNaN(d)) return ts;
  return h('time', { datetime: d.toISOString(), title: ts }, d.toLocaleString(undefined, LOCAL));
}

function line(e) {
  return h('tr', { class: 'level-' + (e.level || '') }, h('td', { class: 'ts' }, when(e.ts)), h('td', {}, e.service || ''),
    h('td', {}, e.level || ''), h('td', {}, e.id && e.id !== '-' ? e.id : ''), h('td', {}, e.message || ''));
}

export async function render(view) {
  stopStream();
  const svc = h('select', { id: 'log-service' }, h('option', { value: '' }, 'All services'));
  const lvl = h('select', { id: 'log-level' }, ['', 'error', 'warning', 'info', 'debug'].map((l) => h('option', { value: l, selected: st.level === l }, l || 'Any level')));
  const q = h('input', { type: 'search', id: 'log-search', placeholder: 'Search text or id', value: st.q });
  const since = h('input', { type: 'datetime-local', id: 'log-since' });
  const until = h('input', { type: 'datetime-local', id: 'log-until' });
  const iso = (v) => (v ? new Date(v).toISOString() : '');
  const apply = () => {
    Object.assign(st, { service: svc.value, level: lvl.value, q: q.value.trim(), since: iso(since.value), until: iso(until.value) });
    if (source) { stopStream(); startStream(); }
    refresh().catch(showError);
  };
  for (const el of [svc, lvl, since, until]) el.addEventListener('change', apply);
  q.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
  streamBtn = h('button', { type: 'button', id: 'stream-logs', 'aria-pressed': 'false', onclick: () => (source ? stopStream() : startStream()) }, 'Stream logs');
  const dl = (format, label) => h('a', { class: 'button', id: 'log-dl-' + format, href: '/api/logs/download' + qs({ format, ...filters() }), role: 'button',
    onclick: (e) => { e.preventDefault(); save(format).catch(showError); } }, label);
  dlError = h('span', { id: 'log-dl-error', class: 'error', role: 'alert' });
  tbody = h('tbody');
  clear(view, h('h1', {}, 'Logs'),
    h('div', { class: 'filters' }, h('label', {}, 'Service', svc), h('label', {}, 'Level', lvl), h('label', {}, 'Search', q),
      h('label', {}, 'Since', since), h('label', {}, 'Until', until), streamBtn,
      h('span', {}, 'Download: '), dl('file', 'File'), dl('csv', 'CSV'), dl('json', 'JSON'), dl('zip', 'ZIP'), dlError),
    h('table', { class: 'logs', id: 'logs' }, h('thead', {}, h('tr', {}, ['Time', 'Service', 'Level', 'Id', 'Message'].map((c) => h('th', { scope: 'col' }, c)))), tbody));
  get('/api/logs/services').then((s) => {
    for (const x of s.items || []) svc.append(h('option', { value: x, selected: st.service === x }, x));
  }).catch(() => {});
  window.addEventListener('hashchange', stopStream, { once: true });
  await refresh();
}

let seq = 0;

export async function refresh() {
  if (!tbody || !tbody.isConnected) return;
  const mine = ++seq; // only the answer to the latest filters is shown
  const d = await get('/api/logs' + qs({ ...filters(), limit: 500 }));
  if (mine !== seq) return;
  const items = d.items || [];
  clear(tbody, items.length ? items.slice().reverse().map(line) : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No log entries match.')));
}

function startStream() {
  source = new EventSource('/api/logs/stream' + qs(filters()));
  source.onmessage = (ev) => {
    try { tbody.prepend(line(JSON.parse(ev.data))); } catch (_) { /* keep-alive */ }
    while (tbody.rows.length > 2000) tbody.deleteRow(-1);
  };
  source.onerror = () => { if (source && source.readyState === EventSource.CLOSED) stopStream(); };
  streamBtn.textContent = 'Stop streaming';
  streamBtn.setAttribute('aria-pressed', 'true');
}

function stopStream() {
  if (source) source.close();
  source = null;
  if (streamBtn) { streamBtn.textContent = 'Stream logs'; streamBtn.setAttribute('aria-pressed', 'false'); }
}
