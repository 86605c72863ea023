// SPDX-License-Identifier: Apache-2.0
// The one table of a study's states in words: every page and dialog labels a
// state from here. The OpenAPI document (share/openapi/base.json) has the same table (the State
// schema: one entry per state, its label as title, the explanation as
// description); tests/e2e/64-ui-states.t fails when the two differ, and
// when either misses a state of lib/spool/np_spool.c.

export const STATES = [
  { state: 'incoming', label: 'Receiving', help: 'Images are arriving; the study is not complete yet.' },
  { state: 'stable', label: 'Stable', help: 'No new images for the stable time; quality control comes next.' },
  { state: 'qc-passed', label: 'QC Passed', help: 'Quality control passed (or was bypassed); waiting to be queued.' },
  { state: 'qc-failed', label: 'QC Failed', help: 'Quality control found problems; an admin may bypass it.' },
  { state: 'ready', label: 'Queued', help: 'Waiting to be uploaded to the neuropacs cloud.' },
  { state: 'uploaded', label: 'Processing', help: 'Uploaded; the cloud is processing the order.' },
  { state: 'results', label: 'Delivering', help: 'The report is in; it is being delivered to the destinations.' },
  { state: 'done', label: 'Delivered', help: 'The report was received and delivered.' },
  { state: 'failed', label: 'Failed', help: 'Stopped by an error; the history says why. An admin may retry it.' },
  { state: 'cancelled', label: 'Cancelled', help: 'Cancelled by a user; nothing more is done for it.' },
];

const BY = Object.fromEntries(STATES.map((s) => [s.state, s]));

// The label of a state ("done" -> "Delivered"); an unknown one as it is.
export function stateLabel(state) {
  return BY[state] ? BY[state].label : state || '—';
}

// The explanation of a state, for a title or help text.
export function stateHelp(state) {
  return BY[state] ? BY[state].help : '';
}
