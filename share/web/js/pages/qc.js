// SPDX-License-Identifier: Apache-2.0
// The quality control report of a study, with the admin bypass.
import { get, put } from '../api.js';
import { h, openDialog, badge, toast } from '../ui.js';

export async function showQc(npuid, ctx, after) {
  const qc = await get(`/api/studies/${npuid}/qc`);
  const checks = qc.checks || [];
  const failed = checks.some((c) => c.status === 'fail');
  const body = [
    h('p', {}, 'Result: ', badge(qc.result || (failed ? 'failed' : 'passed')), qc.bypassed_by ? ` (bypassed by ${qc.bypassed_by})` : ''),
    h('table', { id: 'qc-checks' },
      h('thead', {}, h('tr', {}, ['Check', 'Status', 'Details'].map((c) => h('th', {}, c)))),
      h('tbody', {}, checks.map((c) => h('tr', {}, h('td', {}, c.title || c.id), h('td', {}, badge(c.status)),
        h('td', {}, Array.isArray(c.details) ? c.details.join('; ') : c.details || ''))))),
  ];
  const actions = [];
  if (failed && ctx.isAdmin) {
    body.push(h('div', { class: 'warning-box', role: 'note' },
      'Warning: Bypassing QC can result in additional processing charges, incomplete or failed analyses, or unreliable results.'));
    actions.push({ label: 'Bypass QC', danger: true, onClick: async () => {
      await put('/api/bypass-qc', { neuropacsId: npuid });
      toast('QC bypassed; the study continues.');
      if (after) await after();
    } });
  }
  openDialog('Quality control report', body, actions);
}
