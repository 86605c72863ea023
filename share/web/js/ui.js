// SPDX-License-Identifier: Apache-2.0
// DOM helpers: elements are built with textContent only (no HTML from data),
// dialogs keep focus inside and give it back when they close.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function toast(message, kind = 'info') {
  const box = document.getElementById('toast');
  const d = h('div', { class: kind }, message);
  box.append(d);
  setTimeout(() => d.remove(), kind === 'error' ? 9000 : 4000);
}

export function showError(e) {
  toast(e && e.message ? e.message : String(e), 'error');
}

let dialogs = 0;

// A modal dialog; returns { dialog, body, close }. actions: [{label, primary, danger, onClick}]
export function openDialog(title, content, actions = [], { onClose, dismiss } = {}) {
  const opener = document.activeElement;
  const body = h('div', { class: 'body' }, content);
  const footer = h('footer');
  // A dialog opened over another (a confirmation) has a title of its own.
  const titleId = 'dlg-title-' + ++dialogs;
  const dialog = h('dialog', { 'aria-labelledby': titleId },
    h('header', {}, h('h2', { id: titleId }, title),
      h('button', { type: 'button', 'aria-label': 'Close', onclick: () => close() }, '✕')),
    body, footer);
  function close() {
    if (!dialog.open) return;
    dialog.close();
    dialog.remove();
    if (onClose) onClose();
    if (opener && opener.focus) opener.focus();
  }
  for (const a of actions) {
    footer.append(h('button', {
      type: 'button', class: a.primary ? 'primary' : a.danger ? 'danger' : '',
      onclick: async (ev) => {
        const btn = ev.currentTarget;
        btn.disabled = true;
        try { if ((await a.onClick(close)) !== false && a.closes !== false) close(); }
        catch (e) { showError(e); }
        finally { btn.disabled = false; }
      },
    }, a.label));
  }
  footer.append(h('button', { type: 'button', onclick: () => close() }, dismiss || (actions.length ? 'Cancel' : 'Close')));
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
  document.body.append(dialog);
  dialog.showModal();
  // A body taller than the dialog scrolls: it is a tab stop then, so the
  // keyboard can scroll it too.
  if (body.scrollHeight > body.clientHeight) { body.tabIndex = 0; body.setAttribute('aria-labelledby', titleId); body.setAttribute('role', 'region'); }
  const first = body.querySelector('input, select, textarea, button') || footer.querySelector('button');
  if (first) first.focus();
  return { dialog, body, close };
}

export function confirmDialog(title, message, label, { danger = false, dismiss } = {}) {
  return new Promise((resolve) => {
    let answered = false;
    openDialog(title, h('p', {}, message), [{ label, danger, primary: !danger, onClick: () => { answered = true; resolve(true); } }],
      { onClose: () => { if (!answered) resolve(false); }, dismiss });
  });
}

export const REDACTED = '[Redacted]';

// A table cell for a possibly redacted value.
export function phiCell(v) {
  if (v === REDACTED) return h('td', { class: 'redacted' }, REDACTED);
  return h('td', {}, v === null || v === undefined || v === '' ? '—' : v);
}

export function badge(text, cls) {
  return h('span', { class: 'badge ' + (cls || text || '') }, text || '—');
}

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + ' ' + u[i];
}

export function download(href) {
  const a = h('a', { href, download: '' });
  document.body.append(a);
  a.click();
  a.remove();
}
