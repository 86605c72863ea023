// SPDX-License-Identifier: Apache-2.0
// Studies: the index of every study, filters, paging, PHI redacted until revealed.
import { get, post, put, del, qs } from '../api.js';
import { h, clear, toast, showError, openDialog, confirmDialog, phiCell, badge, fmtBytes, REDACTED } from '../ui.js';
import { STATES as STATE_TABLE, stateLabel, stateHelp } from '../states.js';
import { fmtLocal, fmtDicomDate, timeCell, zoneName } from '../time.js';
import { rowMenu } from '../rowmenu.js';
import { showQc } from './qc.js';
import { checkStatus as statusDialog, previewReport as reportDialog, deliveryNote } from './study-dialogs.js';

export const title = 'Studies';

// States in words: the one table of ../states.js.
const STATES = STATE_TABLE.map((x) => x.state);

// Order states of lib/pipeline/np_cloud.h after which the cloud does no more work.
const ORDER_ENDED = ['Completed', 'Failed', 'Expired', 'Cancelled'];

// A study waiting to retry after temporary failures (GET /api/studies "waiting").
function waitingFor(w) {
  return w.stage === 'ready' ? 'Waiting for cloud' : w.stage === 'results' ? 'Waiting for destination' : 'Waiting to retry';
}
export function waitingText(w) {
  if (!w) return null;
  const at = new Date(w.next_try);
  const when = at <= new Date() ? 'retrying now' : 'next try at ' + fmtLocal(w.next_try);
  return `${waitingFor(w)}, ${when} (${w.attempts} failed ${w.attempts === 1 ? 'try' : 'tries'} since ${fmtLocal(w.since)}): ${w.reason}`;
}

export function statusLabel(s) {
  if (s.waiting) return waitingFor(s.waiting);
  // After the results: how many destinations got them ("Delivered 2/4 (2 failed)").
  if (s.delivery && s.delivery.label) return s.delivery.label;
  // A percentage only while the order runs: an order that ended (Cancelled,
  // Completed, ...) reads as its label alone.
  // Said to be the cloud's, so its "Queued" is not read as the agent's own
  // state of that name (a study waiting to be uploaded).
  if (s.order_status && ['ready', 'uploaded', 'results'].includes(s.state)) {
    const running = !ORDER_ENDED.includes(s.order_status);
    return 'Cloud: ' + s.order_status + (running && s.order_progress ? ' ' + s.order_progress + '%' : '');
  }
  return stateLabel(s.state);
}

// Pages after the first are asked for by the keyset cursor the page before
// gave (next_cursor), so page N costs one index lookup, not a walk over the
// (N-1) x size rows before it. cursors[N - 1] is how page N is asked for:
// null by its number (the first page, or an answer without a cursor). A
// cursor's answer has no total: the one the first page gave is shown.
const st = { page: 1, cursors: [null], total: null, plus: '', size: 25, q: '', state: '', qc: '', group: '', from: '', to: '', reveal: false };
let tbody, pager, ctxRef;

export async function render(view, ctx) {
  ctxRef = ctx;
  const search = h('input', { type: 'search', id: 'study-search', placeholder: 'UID, accession, name…', value: st.q });
  const state = h('select', { id: 'filter-state' }, h('option', { value: '' }, 'Any'), STATES.map((s) => h('option', { value: s, selected: st.state === s, title: stateHelp(s) }, stateLabel(s))));
  const qc = h('select', { id: 'filter-qc' }, ['', 'passed', 'failed', 'bypassed', 'pending'].map((v) => h('option', { value: v, selected: st.qc === v }, v || 'Any')));
  const group = h('select', { id: 'filter-group' }, h('option', { value: '' }, 'Any'));
  const from = h('input', { type: 'date', id: 'filter-from', value: st.from });
  const to = h('input', { type: 'date', id: 'filter-to', value: st.to });
  const apply = () => {
    Object.assign(st, { q: search.value.trim(), state: state.value, qc: qc.value, group: group.value, from: from.value, to: to.value, page: 1, cursors: [null], total: null });
    refresh().catch(showError);
  };
  search.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
  for (const el of [state, qc, group, from, to]) el.addEventListener('change', apply);
  const reveal = h('button', {
    type: 'button', id: 'reveal-all', 'aria-pressed': String(st.reveal), disabled: !ctx.isAdmin,
    title: ctx.isAdmin ? 'Show patient data in this list (recorded in the audit trail)' : 'Only admins can reveal patient data',
    onclick: () => { st.reveal = !st.reveal; reveal.textContent = st.reveal ? 'Hide PHI' : 'Reveal all'; reveal.setAttribute('aria-pressed', String(st.reveal)); refresh().catch(showError); },
  }, st.reveal ? 'Hide PHI' : 'Reveal all');
  tbody = h('tbody');
  pager = h('div', { class: 'pager' });
  clear(view,
    h('h1', {}, 'Studies'),
    h('div', { class: 'filters' },
      h('label', {}, 'Search', search), h('label', {}, 'Status', state), h('label', {}, 'QC', qc),
      h('label', {}, 'Group', group), h('label', {}, 'From', from), h('label', {}, 'To', to),
      h('button', { type: 'button', onclick: apply }, 'Apply'), reveal),
    h('div', { class: 'table-wrap' }, h('table', { id: 'studies', class: 'fit' },
      h('thead', {}, h('tr', {}, ['Neuropacs UID', 'Study ID/Name', 'Accession #', 'Status', 'Stable', 'QC', 'Group', `Received (${zoneName()})`, 'Actions']
        .map((c) => h('th', { scope: 'col' }, c)))),
      tbody)),
    pager);
  get('/api/groups').then((g) => {
    for (const x of g.items || []) group.append(h('option', { value: x.name, selected: st.group === x.name }, x.name));
  }).catch(() => {});
  await refresh();
}

let seq = 0;

export async function refresh() {
  if (!tbody || !tbody.isConnected) return;
  const cursor = st.cursors[st.page - 1];
  const q = { page: cursor ? '' : st.page, cursor, size: st.size, q: st.q, state: st.state, qc: st.qc, group: st.group,
    from: st.from, to: st.to ? st.to + 'T23:59:59Z' : '', reveal: st.reveal ? 1 : '' };
  // Filters can change faster than the agent answers: only the answer to the
  // latest request is shown.
  const mine = ++seq;
  const data = await get('/api/studies' + qs(q));
  if (mine !== seq) return;
  const rows = (data.items || []).map(row);
  clear(tbody, rows.length ? rows : h('tr', {}, h('td', { colspan: 9, class: 'muted' }, 'No studies match.')));
  // The list may come with a total, or (cheaper on a large index) only with
  // has_more / next_cursor: the pager works with either.
  // Past 1000 studies after the page the total is only a lower bound (total_exact false).
  if (typeof data.total === 'number') Object.assign(st, { total: data.total, plus: data.total_exact === false ? '+' : '' });
  const { total, plus } = st;
  const more = data.has_more !== undefined ? !!data.has_more
    : total !== null ? st.page * st.size < total : !!data.next_cursor || rows.length === st.size;
  const info = total !== null ? `Page ${st.page} of ${Math.max(1, Math.ceil(total / st.size))}${plus} · ${total}${plus} studies` : `Page ${st.page}`;
  clear(pager,
    h('button', { type: 'button', disabled: st.page <= 1, onclick: () => { st.page--; refresh().catch(showError); } }, 'Previous'),
    h('span', { id: 'page-info' }, info),
    h('button', { type: 'button', disabled: !more, onclick: () => { st.cursors[st.page] = data.next_cursor || null; st.page++; refresh().catch(showError); } }, 'Next'));
}

function name(s) {
  if (s.study_name === REDACTED || s.patient_id === REDACTED) return REDACTED;
  return s.study_name || s.patient_id || null;
}

function row(s) {
  const id = s.npuid;
  const hasOrder = !!s.order_id || ['uploaded', 'results', 'done', 'failed'].includes(s.state);
  const hasReport = ['done', 'failed', 'results'].includes(s.state);
  // Cancel only where it works: not once finished, and not once the cloud has
  // completed the order before its results are in (in results it stops the delivery).
  const cancellable = !['done', 'failed', 'cancelled'].includes(s.state) && !(s.order_status === 'Completed' && s.state !== 'results');
  // The accessible name starts with the visible word (voice control users
  // say what they see: "click Info"), then says which study.
  const act = (label, aria, fn, enabled = true, cls = '') => h('button', { type: 'button', class: cls, 'aria-label': label + ': ' + aria + ' ' + id, title: aria, disabled: !enabled, onclick: () => fn(s).catch(showError) }, label);
  const bad = s.waiting || (s.delivery && s.delivery.failed);
  // One line of actions: the two views used most, the rest in the row's menu.
  return h('tr', { dataset: { npuid: id } },
    h('td', { class: 'mono uid' }, id, s.linked_npuid ? h('div', { class: 'help' }, 'late series of ' + s.linked_npuid.slice(0, 8)) : null),
    phiCell(name(s)), phiCell(s.accession),
    h('td', { class: 'status' }, h('span', { class: 'badge ' + (bad ? 'warning' : s.state), title: stateHelp(s.state) || null }, statusLabel(s)), deliveryNote(s),
      s.waiting ? h('div', { class: 'help waiting' }, waitingText(s.waiting)) : null),
    h('td', {}, s.stable ? 'Yes' : 'No'),
    h('td', {}, s.qc_result ? badge(s.qc_result) : '—'),
    h('td', { class: 'group' }, s.group ? h('span', { class: 'badge group', title: s.group }, s.group) : '—'),
    timeCell(h, s.created_at),
    h('td', { class: 'row-actions' }, h('div', { class: 'actions' },
      act('Info', 'View study information', info),
      act('Report', 'Preview report', previewReport, hasReport),
      rowMenu('More', 'More actions for ' + id, [
        act('Status', 'Check status', checkStatus, hasOrder),
        act('QC', 'View quality control results', (x) => showQc(x.npuid, ctxRef, refresh), s.state !== 'incoming'),
        act('Group', 'Assign to group', assign),
        s.state === 'incoming' ? act('Stabilize', 'Force stable', forceStable) : null,
        s.state === 'failed' ? act('Retry', 'Retry study', retry) : null,
        act('Cancel', s.state === 'results' ? 'Cancel delivery' : 'Cancel order', cancel, cancellable, 'danger-text'),
        ctxRef && ctxRef.isAdmin ? act('Delete', 'Delete study', remove, true, 'danger-text') : null,
      ]))));
}

async function checkStatus(s) {
  await statusDialog(s, stateLabel);
  refresh().catch(() => {});
}

async function previewReport(s) {
  await reportDialog(s, stateLabel);
}

async function cancel(s) {
  const delivery = s.state === 'results';
  const verb = delivery ? 'Cancel delivery' : 'Cancel order';
  const what = delivery ? 'the delivery of the results of study ' : 'the processing of study ';
  // The button that keeps the order says Close: "Cancel" beside "Cancel order" would read as either.
  if (!(await confirmDialog(verb, 'Cancel ' + what + s.npuid + '? This cannot be undone.', verb, { danger: true, dismiss: 'Close' }))) return;
  const r = await post(`/api/studies/${s.npuid}/cancel`);
  toast(r && r.message ? r.message : 'Order cancelled.');
  await refresh();
}

async function retry(s) {
  const r = await post(`/api/studies/${s.npuid}/retry`);
  toast(r && r.message ? r.message : 'Study retried.');
  await refresh();
}

// The dialog names the study by its npuid and, only when revealed, its name.
async function remove(s) {
  const shown = name(s);
  const what = 'study ' + s.npuid + (shown && shown !== REDACTED ? ' (' + shown + ')' : '');
  if (!(await confirmDialog('Delete study', 'Delete ' + what + '? Its images, results and patient data are removed for good. This cannot be undone.', 'Delete study', { danger: true }))) return;
  const r = await del(`/api/studies/${s.npuid}`);
  toast(r && r.message ? r.message : 'Study deleted.');
  await refresh();
}

async function forceStable(s) {
  await put('/api/force-stable', { neuropacsId: s.npuid });
  toast('Study marked stable.');
  await refresh();
}

// A UID by its name when the agent knows it (uid_names of GET
// /api/study-info, from its own tables), the UID in the title.
function uidName(d, uid) {
  const n = (d.uid_names || {})[uid];
  return n ? h('span', { title: uid }, n) : h('span', { class: 'mono' }, uid);
}
const uidList = (d, uids) => (uids || []).length ? (uids || []).flatMap((u, i) => [i ? ', ' : null, uidName(d, u)]) : null;

function infoBody(d) {
  const m = d.manifest || {};
  const p = m.patient || {}, st2 = m.study || {};
  const kv = [['Neuropacs UID', d.npuid], ['State', d.state ? h('span', { id: 'info-state', title: stateHelp(d.state) || null }, stateLabel(d.state)) : null],
    ['Source', m.source], ['Format', m.format],
    ['Study name', m.study_name], ['Patient name', p.name], ['Patient ID', p.id], ['Age', p.age], ['Sex', p.sex],
    ['Accession #', st2.accession_number], ['Study description', st2.description], ['Study date', fmtDicomDate(st2.study_date)],
    ['Received', m.created_at ? fmtLocal(m.created_at) : null],
    ['Calling AE', m.source_ae], ['Products', (m.products || []).join(', ')], ['Group', m.group],
    ['Series', (m.counts || {}).series], ['Instances', (m.counts || {}).instances], ['Size', fmtBytes((m.counts || {}).bytes)],
    ['Transfer syntax', uidList(d, m.transfer_syntaxes)],
    ['Order', d.order ? d.order.order_id || d.order.orderId : null], ['Linked study', m.linked_npuid],
    ['Waiting', waitingText(d.waiting)]];
  const series = (m.series || []).map((x) => h('tr', {}, h('td', {}, x.number ?? ''), h('td', {}, x.modality || ''),
    h('td', {}, x.description || ''), h('td', {}, x.instances ?? ''), h('td', {}, uidList(d, x.sop_classes) || '—'),
    h('td', {}, uidList(d, x.transfer_syntaxes) || '—')));
  return [h('dl', { class: 'kv', id: 'info-kv' }, kv.map(([k, v]) => [h('dt', {}, k), v === REDACTED ? h('dd', { class: 'redacted' }, v) : h('dd', {}, v ?? '—')])),
    series.length ? h('table', { id: 'info-series' }, h('thead', {}, h('tr', {}, ['#', 'Modality', 'Description', 'Instances', 'SOP class', 'Transfer syntax'].map((c) => h('th', {}, c)))), h('tbody', {}, series)) : null,
    d.history && d.history.length ? [h('h2', {}, 'History'), h('ul', { id: 'info-history' }, d.history.map((e) =>
      h('li', {}, `${fmtLocal(e.ts)}: ${e.from ? stateLabel(e.from) : '—'} → ${stateLabel(e.to)}${e.reason ? ' (' + e.reason + ')' : ''}`)))] : null];
}

async function info(s) {
  const d = await get(`/api/study-info/${s.npuid}`);
  const dlg = openDialog('Study information', infoBody(d), ctxRef.isAdmin ? [{
    label: 'Reveal', closes: false,
    onClick: async () => { clear(dlg.body, infoBody(await get(`/api/study-info/${s.npuid}?reveal=1`))); },
  }] : [], { dismiss: 'Close' });
}

async function assign(s) {
  const g = await get('/api/groups');
  const sel = h('select', { id: 'assign-group' }, (g.items || []).map((x) => h('option', { value: x.name, selected: x.name === s.group }, `${x.name} (${(x.products || []).join(', ')})`)));
  if (!(g.items || []).length) {
    openDialog('Assign to group', h('p', {}, 'There are no groups yet. Create one on the Groups page.'));
    return;
  }
  openDialog('Assign to group', [h('label', {}, 'Group', sel), h('p', { class: 'help' }, 'All studies of a group must use the same products.')],
    [{ label: 'Assign', primary: true, onClick: async () => { await put(`/api/studies/${s.npuid}/group`, { group: sel.value }); toast('Assigned to ' + sel.value + '.'); await refresh(); } }]);
}
