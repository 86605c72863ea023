// SPDX-License-Identifier: Apache-2.0
// A row's less frequent actions behind one button: a popover (the top layer,
// so no table or dialog clips it; Escape and a click elsewhere close it),
// placed under its button, or above it near the bottom of the window.
import { h } from './ui.js';

let n = 0;

// label: the button's text; aria: its accessible name; items: elements
// (buttons, links), null ones left out. A click on an item closes the menu.
export function rowMenu(label, aria, items) {
  const id = 'row-menu-' + ++n;
  const pop = h('div', { class: 'row-menu', id, popover: 'auto', role: 'menu', 'aria-label': aria }, items);
  const btn = h('button', {
    type: 'button', class: 'row-menu-btn', popovertarget: id, 'aria-haspopup': 'menu', 'aria-expanded': 'false',
    'aria-label': aria, title: aria,
  }, label, h('span', { 'aria-hidden': 'true', class: 'caret' }, ' ▾'));
  // beforetoggle comes at once (toggle is queued): the state is said as
  // soon as the menu is open.
  pop.addEventListener('beforetoggle', (e) => btn.setAttribute('aria-expanded', String(e.newState === 'open')));
  pop.addEventListener('toggle', (e) => {
    if (e.newState !== 'open') return;
    const r = btn.getBoundingClientRect(), m = pop.getBoundingClientRect();
    const below = r.bottom + 4 + m.height <= window.innerHeight;
    pop.style.top = (below ? r.bottom + 4 : Math.max(4, r.top - 4 - m.height)) + 'px';
    pop.style.left = Math.max(4, Math.min(r.right - m.width, window.innerWidth - m.width - 4)) + 'px';
    const first = pop.querySelector('button:not(:disabled), a');
    if (first) first.focus();
  });
  pop.addEventListener('click', (e) => { if (e.target.closest('button, a')) pop.hidePopover(); });
  // Up and down walk the items.
  pop.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const all = [...pop.querySelectorAll('button:not(:disabled), a')];
    const i = all.indexOf(document.activeElement);
    const next = all[(i + (e.key === 'ArrowDown' ? 1 : all.length - 1)) % all.length];
    if (next) { next.focus(); e.preventDefault(); }
  });
  return h('span', { class: 'row-menu-wrap' }, btn, pop);
}
