// SPDX-License-Identifier: Apache-2.0
// Logs: view, filter, search, live stream, download as file, CSV, JSON or ZIP.
// One line per entry (a long message or id is cut, whole in its title and on
// a click), a colour per level, the service filter remembered in this
// browser, and the scheduler's routine lines folded unless asked for.
import { get, qs } from '../api.js';
import { saveDownload } from '../download.js';
import { h, clear, showError } from '../ui.js';

export const title = 'Logs';
const SERVICE_KEY = 'np-logs-service';
const st = { service: localStorage.getItem(SERVICE_KEY) || '', level: '', q: '', since: '', until: '', routine: false };
let tbody, source = null, streamBtn, dlError, items = [], drawPending = false;

// What np-sched writes every minute when nothing happens: a job started, a
// job that ended well, the passes of the queue it runs (np-queue's start and
// a stop with no failures), metrics with no alert, a heartbeat not sent.
// Only info lines with no study id: a failed job, a skipped or missed run, a
// warning and the lines of a study are never routine.
const ROUTINE = [
  /^job \S+ started pid=\d+$/,
  /^job \S+ finished status=0 secs=[\d.]+$/,
  /^started from=\S+ to=\S+ fail=\S+ cmd=/,
  /^stopped from=\S+ failures=0$/,
  /^metrics collected alerts=0$/,
  /^protocol \S+ has no heartbeat: nothing sent$/,
];
export function routine(e) {
  return e.service === 'np-sched' && (e.level || 'info') === 'info' && (!e.id || e.id === '-') &&
    ROUTINE.some((re) => re.test(e.message || ''));
}

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

// A click on a line shows its message and id whole (wrapped); again folds it.
// The line is a tab stop too: Enter or Space does the same from the keyboard.
function toggle(tr) {
  tr.classList.toggle('open');
}
function line(e) {
  const id = e.id && e.id !== '-' ? e.id : '';
  return h('tr', { class: 'level-' + (e.level || 'info') + (routine(e) ? ' routine' : ''), tabindex: 0,
    onclick: (ev) => toggle(ev.currentTarget),
    onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); toggle(ev.currentTarget); } } },
    h('td', { class: 'ts' }, when(e.ts)), h('td', { class: 'svc' }, e.service || ''),
    h('td', { class: 'lvl' }, e.level || ''), h('td', { class: 'id', title: id || null }, id), h('td', { class: 'msg', title: e.message || null }, e.message || ''));
}

// Consecutive routine lines, when folded, are one muted row saying how many.
function fold(n) {
  return h('tr', { class: 'fold' }, h('td', { colspan: 5, class: 'muted' }, `${n} routine scheduler line${n === 1 ? '' : 's'} folded`));
}

function draw() {
  drawPending = false;
  if (!tbody) return;
  const rows = [];
  let folded = 0;
  for (const e of items) {
    if (!st.routine && routine(e)) { folded++; continue; }
    if (folded) rows.push(fold(folded));
    folded = 0;
    rows.push(line(e));
  }
  if (folded) rows.push(fold(folded));
  clear(tbody, rows.length ? rows : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No log entries match.')));
}

export async function render(view) {
  stopStream();
  const svc = h('select', { id: 'log-service' }, h('option', { value: '' }, 'All services'), st.service ? h('option', { value: st.service, selected: true }, st.service) : null);
  const lvl = h('select', { id: 'log-level' }, ['', 'error', 'warning', 'info', 'debug'].map((l) => h('option', { value: l, selected: st.level === l }, l || 'Any level')));
  const q = h('input', { type: 'search', id: 'log-search', placeholder: 'Search text or id', value: st.q });
  const since = h('input', { type: 'datetime-local', id: 'log-since' });
  const until = h('input', { type: 'datetime-local', id: 'log-until' });
  const iso = (v) => (v ? new Date(v).toISOString() : '');
  const apply = () => {
    if (svc.value !== st.service) localStorage.setItem(SERVICE_KEY, svc.value);
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
  const showRoutine = h('input', { type: 'checkbox', id: 'log-routine', checked: st.routine,
    onchange: () => { st.routine = showRoutine.checked; draw(); } });
  tbody = h('tbody');
  items = [];
  clear(view, h('h1', {}, 'Logs'),
    h('div', { class: 'filters' }, h('label', {}, 'Service', svc), h('label', {}, 'Level', lvl), h('label', {}, 'Search', q),
      h('label', {}, 'Since', since), h('label', {}, 'Until', until), h('label', { class: 'inline' }, showRoutine, 'Show routine lines'), streamBtn,
      h('div', { class: 'downloads', role: 'group', 'aria-label': 'Download' },
        h('span', {}, 'Download:'), dl('file', 'File'), dl('csv', 'CSV'), dl('json', 'JSON'), dl('zip', 'ZIP')), dlError),
    h('table', { class: 'logs', id: 'logs' }, h('thead', {}, h('tr', {}, ['Time', 'Service', 'Level', 'Id', 'Message'].map((c) => h('th', { scope: 'col', class: c.toLowerCase() }, c)))), tbody));
  get('/api/logs/services').then((s) => {
    const names = s.items || [];
    svc.replaceChildren(svc.options[0]);
    for (const x of names) svc.append(h('option', { value: x, selected: st.service === x }, x));
    // A remembered service this agent no longer logs: back to all of them.
    if (st.service && !names.includes(st.service)) { localStorage.removeItem(SERVICE_KEY); st.service = ''; refresh().catch(showError); }
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
  items = (d.items || []).slice().reverse();
  draw();
}

function startStream() {
  source = new EventSource('/api/logs/stream' + qs(filters()));
  source.onmessage = (ev) => {
    try { items.unshift(JSON.parse(ev.data)); } catch { return; /* keep-alive */ }
    if (items.length > 2000) items.length = 2000;
    // A burst of lines is drawn once.
    if (!drawPending) { drawPending = true; setTimeout(draw, 50); }
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
