// SPDX-License-Identifier: Apache-2.0
// Audit (admins only): the append-only audit trail of GET /api/audit, filtered
// by actor, action, study and time, in pages, newest first, times in local
// time with the zone; exported as CSV (cells defused against spreadsheet
// formulas by the agent) or JSON with the same filters.
import { get, qs } from '../api.js';
import { saveDownload } from '../download.js';
import { h, clear, showError, badge } from '../ui.js';

export const title = 'Audit';
export const adminOnly = true;

const SIZE = 50;
const st = { actor: '', action: '', npuid: '', since: '', until: '', offset: 0 };
let tbody, pager, facets = { actions: [], actors: [] }, actorSel, actionSel;

// The short name of the local time zone at d (it may change over the year).
function zone(d = new Date()) {
  const p = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName');
  return p ? p.value : '';
}

const LOCAL = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false };
// A record's time in local time, the agent's UTC time in the title.
function when(ts) {
  const d = new Date(ts);
  if (!ts || isNaN(d)) return ts || '—';
  return h('time', { datetime: d.toISOString(), title: ts + ' (agent time, UTC)' }, d.toLocaleString(undefined, LOCAL) + ' ' + zone(d));
}

// A datetime-local value as the API's ISO time (UTC, no milliseconds).
const iso = (v) => (v ? new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z') : '');
const filters = () => ({ actor: st.actor, action: st.action, npuid: st.npuid, since: st.since, until: st.until });

function options(sel, values, any, chosen) {
  clear(sel, h('option', { value: '' }, any), values.map((v) => h('option', { value: v, selected: v === chosen }, v)));
  // A value typed in the address or kept from before stays choosable.
  if (chosen && !values.includes(chosen)) sel.append(h('option', { value: chosen, selected: true }, chosen));
}

function outcome(o) {
  if (!o) return '—';
  return badge(o, o === 'success' ? 'pass' : o === 'failure' || o === 'refused' ? 'fail' : 'warning');
}

function line(e) {
  return h('tr', { dataset: { id: e.id, action: e.action } },
    h('td', { class: 'time' }, when(e.ts)),
    h('td', { class: 'actor' }, e.actor || '—'),
    h('td', {}, e.role || '—'),
    h('td', { class: 'mono' }, e.client || '—'),
    h('td', { class: 'action' }, e.action),
    h('td', { class: 'mono study', title: e.npuid || null }, e.npuid || '—'),
    h('td', { class: 'detail', title: e.detail || null }, e.detail || '—'),
    h('td', {}, outcome(e.outcome)));
}

async function save(format) {
  const url = '/api/audit' + qs({ format, ...filters(), limit: 100000 });
  try {
    await saveDownload(url, 'audit.' + format);
  } catch (e) {
    showError('Export failed: ' + (e.message || e));
  }
}

export async function render(view) {
  st.offset = 0;
  actorSel = h('select', { id: 'audit-actor', name: 'actor' });
  actionSel = h('select', { id: 'audit-action', name: 'action' });
  options(actorSel, facets.actors, 'Any actor', st.actor);
  options(actionSel, facets.actions, 'Any action', st.action);
  const study = h('input', { type: 'search', id: 'audit-study', name: 'npuid', value: st.npuid, placeholder: 'UID or its beginning',
    pattern: '[0-9a-fA-F\\-]*', 'aria-describedby': 'audit-study-help', autocomplete: 'off', spellcheck: 'false' });
  const since = h('input', { type: 'datetime-local', id: 'audit-since', name: 'since' });
  const until = h('input', { type: 'datetime-local', id: 'audit-until', name: 'until' });
  const apply = () => {
    const id = study.value.trim();
    if (!/^[0-9a-fA-F-]*$/.test(id)) { showError('Study: a Neuropacs UID or its beginning (hex digits and -).'); study.focus(); return; }
    Object.assign(st, { actor: actorSel.value, action: actionSel.value, npuid: id, since: iso(since.value), until: iso(until.value), offset: 0 });
    refresh().catch(showError);
  };
  const reset = () => {
    actorSel.value = ''; actionSel.value = ''; study.value = ''; since.value = ''; until.value = '';
    apply();
  };
  for (const el of [actorSel, actionSel, since, until]) el.addEventListener('change', apply);
  const form = h('form', { class: 'filters', id: 'audit-filters', role: 'search', 'aria-label': 'Filter the audit trail', onsubmit: (e) => { e.preventDefault(); apply(); } },
    h('label', { for: 'audit-actor' }, 'Actor', actorSel),
    h('label', { for: 'audit-action' }, 'Action', actionSel),
    h('label', { for: 'audit-study' }, 'Study', study, h('span', { class: 'help sr-only', id: 'audit-study-help' }, 'Neuropacs UID or its beginning')),
    h('label', { for: 'audit-since' }, 'From (' + zone() + ')', since),
    h('label', { for: 'audit-until' }, 'To (' + zone() + ')', until),
    h('button', { type: 'submit', class: 'primary', id: 'audit-apply' }, 'Apply'),
    h('button', { type: 'button', id: 'audit-reset', onclick: reset }, 'Clear'));
  // The exports take the filters in force: they sit by the title.
  const exports = h('div', { class: 'downloads', role: 'group', 'aria-label': 'Export the filtered records' },
    h('span', { class: 'muted' }, 'Export:'),
    h('button', { type: 'button', id: 'audit-csv', onclick: () => save('csv') }, 'CSV'),
    h('button', { type: 'button', id: 'audit-json', onclick: () => save('json') }, 'JSON'));
  tbody = h('tbody');
  pager = h('nav', { class: 'pager', id: 'audit-pager', 'aria-label': 'Audit pages' });
  const cols = ['Time', 'Actor', 'Role', 'Client', 'Action', 'Study', 'Detail', 'Outcome'];
  clear(view, h('div', { class: 'page-head' }, h('h1', {}, 'Audit trail'), exports),
    h('p', { class: 'help' }, 'Who signed in, revealed patient data, changed settings or acted on a study. The record is append-only: no one can change or delete it here.'),
    form,
    h('div', { class: 'table-wrap' }, h('table', { id: 'audit', class: 'audit' },
      h('caption', { class: 'sr-only' }, 'Audit records, newest first'),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))), tbody)),
    pager);
  await refresh(true);
}

let seq = 0;

export async function refresh(withFacets = false) {
  if (!tbody || !tbody.isConnected) return;
  const mine = ++seq; // only the answer to the latest filters is shown
  const d = await get('/api/audit' + qs({ ...filters(), limit: SIZE, offset: st.offset, facets: withFacets ? 1 : '' }));
  if (mine !== seq) return;
  if (d.actions) {
    facets = { actions: d.actions, actors: d.actors || [] };
    options(actorSel, facets.actors, 'Any actor', st.actor);
    options(actionSel, facets.actions, 'Any action', st.action);
  }
  const items = d.items || [];
  clear(tbody, items.length ? items.map(line) : h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No audit record matches.')));
  const total = d.total ?? items.length;
  const first = items.length ? st.offset + 1 : 0;
  const go = (off) => { st.offset = Math.max(0, off); refresh().catch(showError); };
  clear(pager,
    h('button', { type: 'button', id: 'audit-prev', disabled: st.offset === 0, onclick: () => go(st.offset - SIZE) }, 'Previous'),
    h('span', { id: 'audit-range', 'aria-live': 'polite' }, `${first}–${st.offset + items.length} of ${total}`),
    h('button', { type: 'button', id: 'audit-next', disabled: st.offset + items.length >= total, onclick: () => go(st.offset + SIZE) }, 'Next'));
}
