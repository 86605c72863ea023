// SPDX-License-Identifier: Apache-2.0
// Times as the reader's local time with the time zone named ("7 Dec 2026,
// 14:03:50 CET"), never a raw ISO string; a DICOM date (20261120) as a
// calendar date.

// The short name of the local time zone at d (CET or CEST: it may change).
export function zoneName(d = new Date()) {
  const p = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName');
  return p ? p.value : '';
}

function parse(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return isNaN(d) ? null : d;
}

// Date and time with seconds and the zone: dialogs, titles.
export function fmtLocal(iso) {
  const d = parse(iso);
  if (!d) return iso ? String(iso) : '—';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) + ' ' + zoneName(d);
}

// Date and time in a table cell (the column header names the zone).
export function fmtShort(iso) {
  const d = parse(iso);
  if (!d) return iso ? String(iso) : '—';
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

// A table cell of a time: short, the whole time with its zone in the title.
export function timeCell(h, iso) {
  return h('td', { class: 'time', title: parse(iso) ? fmtLocal(iso) : null }, fmtShort(iso));
}

// A DICOM DA value (YYYYMMDD) as a local calendar date; anything else as it is.
export function fmtDicomDate(da) {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da || '');
  if (!m) return da || null;
  return new Date(+m[1], +m[2] - 1, +m[3]).toLocaleDateString(undefined, { dateStyle: 'medium' });
}
