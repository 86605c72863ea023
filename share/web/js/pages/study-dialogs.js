// SPDX-License-Identifier: Apache-2.0
// What a study's status and report dialogs say: the cloud is asked only
// while its order is live (an order that is over shows what was stored),
// the report is offered only when there is one (else the reason, in words),
// and the delivery of the results counts each destination.
import { api, get, qs } from '../api.js';
import { h, openDialog } from '../ui.js';
import { stateLabel as labelOf } from '../states.js';
import { fmtLocal as fmtDate } from '../time.js';

// Under the status badge: the destinations that failed, with their reasons.
export function deliveryNote(s) {
  const d = s.delivery;
  if (!d || !d.items) return null;
  const bad = d.items.filter((x) => x.state === 'failed');
  if (!bad.length) return null;
  return h('div', { class: 'help delivery-failures' }, bad.map((x) =>
    h('div', {}, `Destination ${x.destination} (${x.name || x.type}): ${x.error || 'failed'}`)));
}

// The sentence that ends the status dialog of an order that is over.
function finalSentence(r, o) {
  const f = o.failure;
  if (r.state === 'failed') {
    return f ? `Failed: the order ended ${f.status || 'Failed'}${f.info ? ' (' + f.info + ')' : ''}${f.at ? ' at ' + fmtDate(f.at) : ''}.`
      : 'Failed before the cloud finished an order.';
  }
  if (r.state === 'cancelled') return 'Cancelled: nothing more will be done for this study.';
  const at = o.results_at ? ` at ${fmtDate(o.results_at)}` : '';
  return r.state === 'results' ? `Finished: the report was received${at}; delivery is under way.`
    : `Finished: the report was received${at}.`;
}

export async function checkStatus(s, stateLabel = labelOf) {
  const r = await get(`/api/studies/${s.npuid}/status`);
  const o = r.order || {};
  const common = [['Neuropacs UID', r.npuid], ['Agent state', stateLabel(r.state)], ['Order ID', o.order_id],
    ['Order status', o.status], ['Products', (o.jobs_started || []).join(', ')]];
  // as_of: np-httpd may not ask the cloud (the privilege split); the order as the back-end last recorded it.
  if (r.live === false && !r.as_of) {
    const d = s.delivery;
    const kv = [...common, ['Information', o.failure ? o.failure.info : o.info],
      ['Report received', o.results_at ? fmtDate(o.results_at) : null],
      ['Delivery', d ? d.label : null], ['Uploaded', fmtDate(o.created_at)]];
    openDialog('Order status', [
      h('dl', { class: 'kv', id: 'order-status' }, kv.filter(([, v]) => v && v !== '—').map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('p', { id: 'order-final' }, finalSentence(r, o)),
      d ? deliveryNote(s) : null,
    ]);
    return;
  }
  const pct = Number(o.progress) || 0;
  const kv = [...common, ['Information', o.info], ['Uploaded', fmtDate(o.created_at)], ['Last update', fmtDate(o.updated_at)]];
  if (r.as_of) kv.push(['As of', `${fmtDate(r.as_of)} (the back-end's last poll)`]);
  openDialog('Order status', [
    h('dl', { class: 'kv', id: 'order-status' }, kv.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '—')])),
    h('label', {}, `Progress ${pct}%`, h('progress', { max: 100, value: pct })),
  ]);
}

// Why a study has no report, in words.
async function noReportReason(s, stateLabel) {
  if (s.state !== 'failed') return `There is no report yet: the study is ${stateLabel(s.state)}.`;
  const r = await get(`/api/studies/${s.npuid}/status`).catch(() => ({}));
  const f = (r.order || {}).failure;
  if (f) return `There is no report: the order ended ${f.status || 'Failed'} at the cloud${f.info ? ': ' + f.info : ''}.`;
  const info = await get(`/api/study-info/${s.npuid}`).catch(() => ({}));
  const last = (info.history || []).filter((e) => e.to === 'failed').pop();
  return 'There is no report: the study failed' + (last && last.reason ? ` (${last.reason})` : '') + '.';
}

export async function previewReport(s, stateLabel = labelOf) {
  const src = '/api/reports' + qs({ neuropacsId: s.npuid });
  let have = true;
  try {
    await api('HEAD', src, undefined, { raw: true });
  } catch (e) {
    if (e.status !== 404) throw e;
    have = false;
  }
  if (!have) {
    openDialog('Report ' + s.npuid, h('p', { id: 'report-missing' }, await noReportReason(s, stateLabel)));
    return;
  }
  openDialog('Report ' + s.npuid, [h('iframe', { class: 'pdf', src, title: 'PDF report' }),
    h('p', {}, h('a', { href: src, download: '' }, 'Download PDF'))]);
}
