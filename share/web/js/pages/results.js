// SPDX-License-Identifier: Apache-2.0
// Results: reports in the browser, downloads in every format, manual re-send.
import { get, post, qs } from '../api.js';
import { h, clear, toast, showError, openDialog, badge, fmtDate } from '../ui.js';
import { statusLabel } from './studies.js';
import { previewReport } from './study-dialogs.js';
import { saveDownload } from '../download.js';

export const title = 'Results';
const FORMATS = ['json', 'png', 'pdf', 'txt', 'xml'];
let tbody, pager, ctxRef;
const st = { page: 1, size: 25 };

export async function render(view, ctx) {
  ctxRef = ctx;
  tbody = h('tbody');
  pager = h('div', { class: 'pager' });
  clear(view, h('h1', {}, 'Results'),
    h('table', { id: 'results' }, h('thead', {}, h('tr', {}, ['Neuropacs UID', 'Status', 'Products', 'Updated', 'Downloads', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))), tbody),
    pager);
  await refresh();
}

export async function refresh() {
  if (!tbody || !tbody.isConnected) return;
  const data = await get('/api/results' + qs(st));
  const items = data.items || [];
  clear(tbody, items.length ? items.map(row) : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No results yet.')));
  clear(pager,
    h('button', { type: 'button', disabled: st.page <= 1, onclick: () => { st.page--; refresh().catch(showError); } }, 'Previous'),
    h('span', {}, 'Page ' + st.page),
    h('button', { type: 'button', disabled: items.length < st.size, onclick: () => { st.page++; refresh().catch(showError); } }, 'Next'));
}

function row(r) {
  const formats = r.formats || [];
  return h('tr', { dataset: { npuid: r.npuid } },
    h('td', { class: 'mono' }, r.npuid),
    h('td', {}, badge(statusLabel(r), r.state)),
    h('td', {}, (r.products || []).join(', ')),
    h('td', {}, fmtDate(r.updated_at)),
    h('td', {}, h('div', { class: 'actions' }, FORMATS.map((f) => formats.includes(f)
      ? h('a', { class: 'button', href: `/api/results/${r.npuid}` + qs({ format: f }), role: 'button',
        onclick: (e) => { e.preventDefault(); saveDownload(e.currentTarget.href, `${r.npuid}.${f}`).catch((x) => showError('Download failed: ' + x.message)); } }, f.toUpperCase())
      : null))),
    h('td', {}, h('div', { class: 'actions' },
      h('button', { type: 'button', 'aria-label': 'View report ' + r.npuid, disabled: !formats.includes('pdf'), onclick: () => view(r) }, 'View'),
      h('button', { type: 'button', 'aria-label': 'Manage delivery ' + r.npuid, onclick: () => manage(r).catch(showError) }, 'Manage'))));
}

function view(r) {
  previewReport(r).catch(showError);
}

async function manage(r) {
  const d = r.deliveries || {};
  const dests = d.destinations || [];
  const body = [
    dests.length ? h('table', {}, h('thead', {}, h('tr', {}, ['#', 'Destination', 'State', 'Attempts', 'Last attempt', 'Last error', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, dests.map((x, i) => h('tr', {},
        h('td', {}, String((x.index ?? i) + 1)), h('td', {}, [x.name || x.type || '', x.name ? h('div', { class: 'help' }, x.type) : null]),
        h('td', {}, badge(x.state || x.status || '—')),
        h('td', {}, String(x.attempts ?? '')), h('td', {}, fmtDate(x.sent_at || x.last_attempt_at)), h('td', {}, x.error || x.last_error || ''),
        h('td', {}, ctxRef.isAdmin ? h('button', { type: 'button', onclick: () => resend(r, x.index ?? i).catch(showError) }, 'Re-send') : null)))))
      : h('p', { class: 'muted' }, 'No delivery has been attempted for this study.'),
    ctxRef.isAdmin ? null : h('p', { class: 'help' }, 'Only admins can deliver results by hand.'),
  ];
  openDialog('Manage results', body, ctxRef.isAdmin ? [{ label: 'Re-send where missing', primary: true, onClick: () => resend(r) }] : []);
}

async function resend(r, dest) {
  const res = await post(`/api/results/${r.npuid}/resend` + qs({ destination: dest }));
  toast(res && res.message ? res.message : 'Delivery started.');
  await refresh();
}
