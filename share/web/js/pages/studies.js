// SPDX-License-Identifier: Apache-2.0
// Studies: the index of every study, filters, paging, PHI redacted until revealed.
import { get, post, put, del, qs } from '../api.js';
import { h, clear, toast, showError, openDialog, confirmDialog, phiCell, badge, fmtDate, fmtBytes, REDACTED } from '../ui.js';
import { showQc } from './qc.js';
import { checkStatus as statusDialog, previewReport as reportDialog, deliveryNote } from './study-dialogs.js';

export const title = 'Studies';

const STATES = ['incoming', 'stable', 'qc-passed', 'qc-failed', 'ready', 'uploaded', 'results', 'done', 'failed', 'cancelled'];
const LABEL = {
  incoming: 'Receiving', stable: 'Stable', 'qc-passed': 'QC Passed', 'qc-failed': 'QC Failed', ready: 'Queued',
  uploaded: 'Processing', results: 'Delivering', done: 'Delivered', failed: 'Failed', cancelled: 'Cancelled',
};

// Order states of lib/np_cloud.h after which the cloud does no more work.
const ORDER_ENDED = ['Completed', 'Failed', 'Expired', 'Cancelled'];

// A study waiting to retry after temporary failures (GET /api/studies "waiting").
function waitingFor(w) {
  return w.stage === 'ready' ? 'Waiting for cloud' : w.stage === 'results' ? 'Waiting for destination' : 'Waiting to retry';
}
export function waitingText(w) {
  if (!w) return null;
  const at = new Date(w.next_try);
  const when = at <= new Date() ? 'retrying now' : 'next try at ' + at.toLocaleString();
  return `${waitingFor(w)}, ${when} (${w.attempts} failed ${w.attempts === 1 ? 'try' : 'tries'} since ${new Date(w.since).toLocaleString()}): ${w.reason}`;
}

export function statusLabel(s) {
  if (s.waiting) return waitingFor(s.waiting);
  // After the results: how many destinations got them ("Delivered 2/4 (2 failed)").
  if (s.delivery && s.delivery.label) return s.delivery.label;
  // A percentage only while the order runs: an order that ended (Cancelled,
  // Completed, ...) reads as its label alone.
  if (s.order_status && ['ready', 'uploaded', 'results'].includes(s.state)) {
    const running = !ORDER_ENDED.includes(s.order_status);
    return s.order_status + (running && s.order_progress ? ' ' + s.order_progress + '%' : '');
  }
  return LABEL[s.state] || s.state;
}

const st = { page: 1, size: 25, q: '', state: '', qc: '', group: '', from: '', to: '', reveal: false };
let tbody, pager, ctxRef;

export async function render(view, ctx) {
  ctxRef = ctx;
  const search = h('input', { type: 'search', id: 'study-search', placeholder: 'UID, accession, name…', value: st.q });
  const state = h('select', { id: 'filter-state' }, h('option', { value: '' }, 'Any'), STATES.map((s) => h('option', { value: s, selected: st.state === s }, LABEL[s])));
  const qc = h('select', { id: 'filter-qc' }, ['', 'passed', 'failed', 'bypassed', 'pending'].map((v) => h('option', { value: v, selected: st.qc === v }, v || 'Any')));
  const group = h('select', { id: 'filter-group' }, h('option', { value: '' }, 'Any'));
  const from = h('input', { type: 'date', id: 'filter-from', value: st.from });
  const to = h('input', { type: 'date', id: 'filter-to', value: st.to });
  const apply = () => {
    Object.assign(st, { q: search.value.trim(), state: state.value, qc: qc.value, group: group.value, from: from.value, to: to.value, page: 1 });
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
    h('table', { id: 'studies' },
      h('thead', {}, h('tr', {}, ['Neuropacs UID', 'Study ID/Name', 'Accession #', 'Status', 'Stable', 'QC', 'Group', 'Received', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody),
    pager);
  get('/api/groups').then((g) => {
    for (const x of g.items || []) group.append(h('option', { value: x.name, selected: st.group === x.name }, x.name));
  }).catch(() => {});
  await refresh();
}

let seq = 0;

export async function refresh() {
  if (!tbody || !tbody.isConnected) return;
  const q = { page: st.page, size: st.size, q: st.q, state: st.state, qc: st.qc, group: st.group,
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
  const total = typeof data.total === 'number' ? data.total : null;
  const plus = data.total_exact === false ? '+' : '';
  const more = data.has_more !== undefined ? !!data.has_more
    : total !== null ? st.page * st.size < total : !!data.next_cursor || rows.length === st.size;
  const info = total !== null ? `Page ${st.page} of ${Math.max(1, Math.ceil(total / st.size))}${plus} · ${total}${plus} studies` : `Page ${st.page}`;
  clear(pager,
    h('button', { type: 'button', disabled: st.page <= 1, onclick: () => { st.page--; refresh().catch(showError); } }, 'Previous'),
    h('span', { id: 'page-info' }, info),
    h('button', { type: 'button', disabled: !more, onclick: () => { st.page++; refresh().catch(showError); } }, 'Next'));
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
  const act = (label, aria, fn, enabled = true) => h('button', { type: 'button', 'aria-label': aria + ' ' + id, title: aria, disabled: !enabled, onclick: () => fn(s).catch(showError) }, label);
  return h('tr', { dataset: { npuid: id } },
    h('td', { class: 'mono' }, id, s.linked_npuid ? h('div', { class: 'help' }, 'late series of ' + s.linked_npuid.slice(0, 8)) : null),
    phiCell(name(s)), phiCell(s.accession),
    h('td', {}, badge(statusLabel(s), s.waiting || (s.delivery && s.delivery.failed) ? 'warning' : s.state), deliveryNote(s),
      s.waiting ? h('div', { class: 'help waiting' }, waitingText(s.waiting)) : null),
    h('td', {}, s.stable ? 'Yes' : 'No'),
    h('td', {}, s.qc_result ? badge(s.qc_result) : '—'),
    h('td', {}, s.group ? badge(s.group, 'group') : '—'),
    h('td', {}, fmtDate(s.created_at)),
    h('td', {}, h('div', { class: 'actions' },
      act('Status', 'Check status', checkStatus, hasOrder),
      act('QC', 'View quality control results', (x) => showQc(x.npuid, ctxRef, refresh), s.state !== 'incoming'),
      act('Report', 'Preview report', previewReport, hasReport),
      act('Cancel', s.state === 'results' ? 'Cancel delivery' : 'Cancel order', cancel, cancellable),
      s.state === 'failed' ? act('Retry', 'Retry study', retry) : null,
      ctxRef && ctxRef.isAdmin ? act('Delete', 'Delete study', remove) : null,
      act('Info', 'View study information', info),
      act('Group', 'Assign to group', assign),
      s.state === 'incoming' ? act('Stabilize', 'Force stable', forceStable) : null)));
}

async function checkStatus(s) {
  await statusDialog(s, (x) => LABEL[x] || x);
  refresh().catch(() => {});
}

async function previewReport(s) {
  await reportDialog(s, (x) => LABEL[x] || x);
}

async function cancel(s) {
  const delivery = s.state === 'results';
  const verb = delivery ? 'Cancel delivery' : 'Cancel order';
  const what = delivery ? 'the delivery of the results of study ' : 'the processing of study ';
  if (!(await confirmDialog(verb, 'Cancel ' + what + s.npuid + '? This cannot be undone.', verb, { danger: true }))) return;
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

function infoBody(d) {
  const m = d.manifest || {};
  const p = m.patient || {}, st2 = m.study || {};
  const kv = [['Neuropacs UID', d.npuid], ['State', d.state], ['Source', m.source], ['Format', m.format],
    ['Study name', m.study_name], ['Patient name', p.name], ['Patient ID', p.id], ['Age', p.age], ['Sex', p.sex],
    ['Accession #', st2.accession_number], ['Study description', st2.description], ['Study date', st2.study_date],
    ['Calling AE', m.source_ae], ['Products', (m.products || []).join(', ')], ['Group', m.group],
    ['Series', (m.counts || {}).series], ['Instances', (m.counts || {}).instances], ['Size', fmtBytes((m.counts || {}).bytes)],
    ['Order', d.order ? d.order.order_id || d.order.orderId : null], ['Linked study', m.linked_npuid],
    ['Waiting', waitingText(d.waiting)]];
  const series = (m.series || []).map((x) => h('tr', {}, h('td', {}, x.number ?? ''), h('td', {}, x.modality || ''),
    h('td', {}, x.description || ''), h('td', {}, x.instances ?? ''), h('td', {}, (x.transfer_syntaxes || []).join(' '))));
  return [h('dl', { class: 'kv' }, kv.map(([k, v]) => [h('dt', {}, k), v === REDACTED ? h('dd', { class: 'redacted' }, v) : h('dd', {}, v ?? '—')])),
    series.length ? h('table', {}, h('thead', {}, h('tr', {}, ['#', 'Modality', 'Description', 'Instances', 'Transfer syntax'].map((c) => h('th', {}, c)))), h('tbody', {}, series)) : null,
    d.history && d.history.length ? [h('h2', {}, 'History'), h('ul', {}, d.history.map((e) => h('li', {}, `${fmtDate(e.ts)}: ${e.from || '—'} → ${e.to}${e.reason ? ' (' + e.reason + ')' : ''}`)))] : null];
}

async function info(s) {
  const d = await get(`/api/study-info/${s.npuid}`);
  const dlg = openDialog('Study information', infoBody(d), ctxRef.isAdmin ? [{
    label: 'Reveal', closes: false,
    onClick: async () => { clear(dlg.body, infoBody(await get(`/api/study-info/${s.npuid}?reveal=1`))); },
  }] : []);
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
