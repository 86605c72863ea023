// SPDX-License-Identifier: Apache-2.0
// The single-page shell: session, navigation, theme, refresh and auto-refresh.
import { get, post, setCsrf } from './api.js';
import { h, clear, showError, toast } from './ui.js';
import * as studies from './pages/studies.js';
import * as results from './pages/results.js';
import * as groups from './pages/groups.js';
import * as logs from './pages/logs.js';
import * as settings from './pages/settings.js';
import * as audit from './pages/audit.js';
import { openUpload } from './pages/upload.js';

const pages = { studies, results, groups, logs, settings, audit };
// Pages only an admin may open (their links are hidden from other roles).
const ADMIN_PAGES = [settings, audit];
const view = document.getElementById('view');
const ctx = { session: null, isAdmin: false };
let current = null;
let timer = null;
let routed = false;

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const b = document.getElementById('theme-btn');
  b.setAttribute('aria-pressed', String(theme === 'dark'));
  b.textContent = theme === 'dark' ? 'Light mode' : 'Dark mode';
}
applyTheme(localStorage.getItem('np-theme') || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
document.getElementById('theme-btn').addEventListener('click', () => {
  const t = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  localStorage.setItem('np-theme', t);
  applyTheme(t);
});

async function refresh() {
  if (current && current.refresh) {
    try { await current.refresh(); } catch (e) { showError(e); }
  }
}
document.getElementById('refresh-btn').addEventListener('click', refresh);
const auto = document.getElementById('auto-refresh');
auto.checked = localStorage.getItem('np-auto-refresh') === '1';
function setAuto() {
  clearInterval(timer);
  localStorage.setItem('np-auto-refresh', auto.checked ? '1' : '0');
  // Refreshing updates data in place: scroll position and open dialogs stay.
  if (auto.checked) timer = setInterval(() => { if (!document.querySelector('dialog[open]')) refresh(); }, 15000);
}
auto.addEventListener('change', setAuto);
setAuto();

document.getElementById('upload-btn').addEventListener('click', () => openUpload(ctx, refresh));
document.getElementById('logout-btn').addEventListener('click', async () => {
  let r = null;
  try { r = await post('/api/auth/logout'); } catch { /* session may be gone already */ }
  ctx.session = null;
  // A SAML session also ends at the IdP (Single Logout), which sends the
  // browser back to the agent.
  if (r && r.redirect) { location.assign(r.redirect); return; }
  let methods;
  try { methods = (await get('/api/auth/session')).methods; } catch { /* keep the default */ }
  showLogin(methods);
});
window.addEventListener('np-unauthorized', () => {
  if (ctx.session) toast('Your session has ended. Please sign in again.', 'error');
  ctx.session = null;
  showLogin();
});

function showLogin(methods = ['password']) {
  document.getElementById('topbar').hidden = true;
  current = null;
  const err = h('p', { class: 'error', role: 'alert' });
  const pw = h('input', { type: 'password', id: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      try {
        const s = await post('/api/auth/login', { password: pw.value });
        pw.value = '';
        await start(s);
      } catch (ex) {
        err.textContent = ex.status === 401 ? 'Wrong password.' : ex.message;
      }
    },
  }, h('label', { for: 'password' }, 'Service password', pw), h('button', { type: 'submit', class: 'primary' }, 'Sign in'), err);
  const sso = h('a', { class: 'button', href: '/api/saml/login?relay=' + encodeURIComponent('/' + (location.hash || '#/studies')) }, 'Sign in with SSO');
  clear(view, h('div', { class: 'login panel' }, h('h1', {}, 'Neuropacs Agent'),
    methods.includes('password') ? form : null, methods.includes('saml') ? sso : null));
  if (methods.includes('password')) pw.focus();
}

function route() {
  const name = (location.hash.replace(/^#\/?/, '').split(/[/?]/)[0]) || 'studies';
  const page = pages[name] || studies;
  if (ADMIN_PAGES.includes(page) && !ctx.isAdmin) { location.hash = '#/studies'; return; }
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  current = page;
  clear(view);
  document.title = page.title + ' · Neuropacs Agent';
  page.render(view, ctx).catch(showError);
  // A page opened from the navigation takes the focus, so a screen reader
  // reads it; the first page after loading leaves it at the top, where Tab
  // goes to "Skip to content", the navigation, then the page.
  if (routed) view.focus({ preventScroll: true });
  routed = true;
}
window.addEventListener('hashchange', () => { if (ctx.session) route(); });

async function start(s) {
  ctx.session = s;
  ctx.isAdmin = s.role === 'admin';
  if (s.csrf_token) setCsrf(s.csrf_token);
  document.getElementById('topbar').hidden = false;
  // The name of who is signed in: the service admin or the SAML user.
  let actor = s.actor;
  if (!actor) { try { actor = (await get('/api/auth/session')).actor; } catch { /* shown without */ } }
  document.getElementById('who').textContent = (actor ? actor + ' ' : '') + '(' + s.role + ')';
  for (const a of document.querySelectorAll('#nav a[data-role="admin"]')) a.parentElement.hidden = !ctx.isAdmin;
  route();
  demoBanner();
}

// make demo: the cloud is the local stand-in and every result is synthetic.
async function demoBanner() {
  let st;
  try { st = await get('/api/status'); } catch { return; }
  const old = document.getElementById('demo-banner');
  if (!st.demo) { if (old) old.remove(); return; }
  if (old) return;
  view.before(h('div', { id: 'demo-banner', class: 'demo-banner', role: 'note' },
    h('strong', {}, 'DEMO'), ' — the cloud is the local stand-in of make demo: every result is a synthetic analysis, not for clinical use.'));
}

(async () => {
  try {
    const s = await get('/api/auth/session');
    if (s.authenticated) await start(s); else showLogin(s.methods || ['password']);
  } catch (e) {
    clear(view, h('p', { class: 'error' }, e.message));
  }
})();
