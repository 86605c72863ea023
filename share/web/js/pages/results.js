// SPDX-License-Identifier: Apache-2.0
// Results: reports in the browser, downloads in every format, manual re-send.
// The patient, accession and study columns are redacted until an admin
// reveals them (audited); the search runs on the agent (the list is paged)
// and looks at those columns only when they are revealed.
import { get, post, qs } from '../api.js';
import { h, clear, toast, showError, openDialog, phiCell, REDACTED } from '../ui.js';
import { statusLabel } from './studies.js';
import { previewReport } from './study-dialogs.js';
import { saveDownload } from '../download.js';
import { stateHelp } from '../states.js';
import { fmtLocal, timeCell, zoneName } from '../time.js';
import { rowMenu } from '../rowmenu.js';

export const title = 'Results';
const FORMATS = ['json', 'png', 'pdf', 'txt', 'xml'];
// Delivery records' states (deliveries.json), in words.
const DELIVERY = { pending: 'Pending', sending: 'Sending', sent: 'Sent', failed: 'Failed' };
let tbody, pager, ctxRef;
const st = { page: 1, size: 25, q: '', reveal: false };

export async function render(view, ctx) {
  ctxRef = ctx;
  tbody = h('tbody');
  pager = h('div', { class: 'pager' });
  const search = h('input', { type: 'search', id: 'results-search', placeholder: 'UID, order, group…', value: st.q,
    title: 'Searches the Neuropacs UID, order and group; patient, accession and study too once revealed' });
  const apply = () => { st.q = search.value.trim(); st.page = 1; refresh().catch(showError); };
  search.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
  search.addEventListener('search', apply); // the clear (x) of the search box
  const reveal = h('button', {
    type: 'button', id: 'results-reveal', 'aria-pressed': String(st.reveal), disabled: !ctx.isAdmin,
    title: ctx.isAdmin ? 'Show patient data in this list (recorded in the audit trail)' : 'Only admins can reveal patient data',
    onclick: () => { st.reveal = !st.reveal; reveal.textContent = st.reveal ? 'Hide PHI' : 'Reveal all'; reveal.setAttribute('aria-pressed', String(st.reveal)); refresh().catch(showError); },
  }, st.reveal ? 'Hide PHI' : 'Reveal all');
  clear(view, h('h1', {}, 'Results'),
    h('div', { class: 'filters' }, h('label', {}, 'Search', search), h('button', { type: 'button', onclick: apply }, 'Search'), reveal),
    h('div', { class: 'table-wrap' }, h('table', { id: 'results', class: 'fit' }, h('thead', {}, h('tr', {},
      ['Neuropacs UID', 'Patient', 'Accession #', 'Study', 'Status', 'Products', `Updated (${zoneName()})`, 'Actions']
        .map((c) => h('th', { scope: 'col' }, c)))), tbody)),
    pager);
  await refresh();
}

let seq = 0;

export async function refresh() {
  if (!tbody || !tbody.isConnected) return;
  const mine = ++seq;
  const data = await get('/api/results' + qs({ page: st.page, size: st.size, q: st.q, reveal: st.reveal ? 1 : '' }));
  if (mine !== seq) return;
  const items = data.items || [];
  clear(tbody, items.length ? items.map(row) : h('tr', {}, h('td', { colspan: 8, class: 'muted' }, st.q ? 'No results match.' : 'No results yet.')));
  const more = data.has_more !== undefined ? !!data.has_more : items.length === st.size;
  clear(pager,
    h('button', { type: 'button', disabled: st.page <= 1, onclick: () => { st.page--; refresh().catch(showError); } }, 'Previous'),
    h('span', { id: 'results-page' }, 'Page ' + st.page),
    h('button', { type: 'button', disabled: !more, onclick: () => { st.page++; refresh().catch(showError); } }, 'Next'));
}

// The patient: name, else ID (both redacted alike).
function patient(r) {
  if (r.patient_name === REDACTED || r.patient_id === REDACTED) return REDACTED;
  return r.patient_name || r.patient_id || null;
}

function row(r) {
  const formats = r.formats || [];
  const downloads = FORMATS.filter((f) => formats.includes(f)).map((f) => h('a', {
    class: 'button', href: `/api/results/${r.npuid}` + qs({ format: f }), role: 'menuitem',
    onclick: (e) => { e.preventDefault(); saveDownload(e.currentTarget.href, `${r.npuid}.${f}`).catch((x) => showError('Download failed: ' + x.message)); },
  }, f.toUpperCase()));
  return h('tr', { dataset: { npuid: r.npuid } },
    h('td', { class: 'mono uid' }, r.npuid),
    phiCell(patient(r)), phiCell(r.accession), phiCell(r.study_name),
    h('td', { class: 'status' }, h('span', { class: 'badge ' + r.state, title: stateHelp(r.state) || null }, statusLabel(r))),
    h('td', {}, (r.products || []).join(', ')),
    timeCell(h, r.updated_at),
    h('td', { class: 'row-actions' }, h('div', { class: 'actions' },
      h('button', { type: 'button', 'aria-label': 'View report ' + r.npuid, disabled: !formats.includes('pdf'), onclick: () => view(r) }, 'View'),
      downloads.length ? rowMenu('Download', 'Download results of ' + r.npuid, downloads)
        : h('button', { type: 'button', disabled: true, title: 'No result files' }, 'Download'),
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
      h('tbody', {}, dests.map((x, i) => {
        const state = x.state || x.status || '';
        return h('tr', {},
          h('td', {}, String((x.index ?? i) + 1)), h('td', {}, [x.name || x.type || '', x.name ? h('div', { class: 'help' }, x.type) : null]),
          h('td', {}, h('span', { class: 'badge ' + state }, DELIVERY[state] || state || '—')),
          h('td', {}, String(x.attempts ?? '')), h('td', {}, fmtLocal(x.sent_at || x.last_attempt_at)), h('td', {}, x.error || x.last_error || ''),
          h('td', {}, ctxRef.isAdmin ? h('button', { type: 'button', onclick: () => resend(r, x.index ?? i).catch(showError) }, 'Re-send') : null));
      })))
      : h('p', { class: 'muted' }, 'No delivery has been attempted for this study.'),
    ctxRef.isAdmin ? null : h('p', { class: 'help' }, 'Only admins can deliver results by hand.'),
  ];
  openDialog('Manage results', body, ctxRef.isAdmin ? [{ label: 'Re-send where missing', primary: true, onClick: () => resend(r) }] : [], { dismiss: 'Close' });
}

async function resend(r, dest) {
  const res = await post(`/api/results/${r.npuid}/resend` + qs({ destination: dest }));
  toast(res && res.message ? res.message : 'Delivery started.');
  await refresh();
}
