// SPDX-License-Identifier: Apache-2.0
// Groups: list, details, reports, creation (same products rule) and group upload.
import { get, post, del, upload } from '../api.js';
import { h, clear, toast, showError, openDialog, confirmDialog, badge, fmtDate, download } from '../ui.js';
import { statusLabel } from './studies.js';

export const title = 'Groups';
let tbody, ctxRef;

export async function render(view, ctx) {
  ctxRef = ctx;
  tbody = h('tbody');
  clear(view, h('h1', {}, 'Groups'),
    h('div', { class: 'filters' },
      h('button', { type: 'button', class: 'primary', id: 'create-group', onclick: () => create().catch(showError) }, 'Create New Group'),
      h('button', { type: 'button', id: 'upload-group', onclick: () => uploadGroup().catch(showError) }, 'Upload New Group'),
      h('button', { type: 'button', onclick: () => download('/api/uploads/sidecar-template') }, 'Download JSON sidecar template')),
    h('table', { id: 'groups' }, h('thead', {}, h('tr', {}, ['Name', 'Products', 'Studies', 'Created', 'Completed', 'Report sent', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))), tbody));
  await refresh();
}

/* A group's path segment: its name, or id:N for a name made before names
 * were checked that no URL can carry ('a/b', '..'). */
const ref = (x) => encodeURIComponent(/[/\\]/.test(x.name) || x.name === '.' || x.name === '..' ? `id:${x.id}` : x.name);

export async function refresh() {
  if (!tbody || !tbody.isConnected) return;
  const g = await get('/api/groups');
  const items = g.items || [];
  clear(tbody, items.length ? items.map((x) => h('tr', { dataset: { group: x.name } },
    h('td', {}, x.name), h('td', {}, (x.products || []).join(', ')), h('td', {}, String(x.studies ?? 0)),
    h('td', {}, fmtDate(x.created_at)), h('td', {}, x.completed_at ? fmtDate(x.completed_at) : 'No'),
    h('td', {}, fmtDate(x.report_sent_at)),
    h('td', {}, h('div', { class: 'actions' },
      h('button', { type: 'button', 'aria-label': 'View group ' + x.name, onclick: () => details(x.name, ref(x)).catch(showError) }, 'View'),
      h('button', { type: 'button', 'aria-label': 'Download report of ' + x.name, onclick: () => download(`/api/groups/${ref(x)}/report`) }, 'Download Report'),
      ctxRef.isAdmin ? h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete group ' + x.name, onclick: () => remove(x.name, ref(x)).catch(showError) }, 'Delete') : null))))
    : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No groups yet.')));
}

async function details(name, seg = encodeURIComponent(name)) {
  const g = await get(`/api/groups/${seg}`);
  const members = g.members || [];
  openDialog('Group ' + name, [
    h('dl', { class: 'kv' }, h('dt', {}, 'Products'), h('dd', {}, (g.products || []).join(', ')),
      h('dt', {}, 'Description'), h('dd', {}, g.description || '—'),
      h('dt', {}, 'Studies'), h('dd', {}, `${g.studies ?? members.length} (${g.terminal ?? 0} finished)`),
      h('dt', {}, 'Completed'), h('dd', {}, g.completed_at ? fmtDate(g.completed_at) : 'No'),
      h('dt', {}, 'Report sent'), h('dd', {}, fmtDate(g.report_sent_at))),
    members.length
      ? h('table', { id: 'group-members' }, h('thead', {}, h('tr', {}, ['Neuropacs UID', 'State', 'Order', 'Received'].map((c) => h('th', {}, c)))),
        h('tbody', {}, members.map((m) => h('tr', { dataset: { npuid: m.npuid } }, h('td', { class: 'mono' }, m.npuid), h('td', {}, badge(statusLabel(m), m.state)),
          h('td', { class: 'mono' }, m.order_id || '—'), h('td', {}, fmtDate(m.created_at))))))
      : h('p', { class: 'muted' }, 'No study in this group yet.'),
  ], [
    { label: 'Download Report', closes: false, onClick: () => download(`/api/groups/${seg}/report`) },
    ...(ctxRef.isAdmin ? [{ label: 'Send Report', primary: true, onClick: async () => {
      const r = await post(`/api/groups/${seg}/report/send`);
      toast(r && r.message ? r.message : 'Group report sent.');
    } }] : []),
  ]);
}

async function remove(name, seg = encodeURIComponent(name)) {
  if (!(await confirmDialog('Delete group', `Delete group ${name}? Its studies stay, without a group.`, 'Delete', { danger: true }))) return;
  await del(`/api/groups/${seg}`);
  toast('Group deleted.');
  await refresh();
}

async function products() {
  try {
    const s = await get('/api/settings/schema');
    return (s.properties.dicom.properties.default_products.examples || []).flat();
  } catch { return []; }
}

async function create() {
  const name = h('input', { id: 'group-name', required: true, maxlength: 100 });
  const prods = h('input', { id: 'group-products', required: true, list: 'product-list', placeholder: 'Atypical/MSAp/PSP-v1.0' });
  const list = h('datalist', { id: 'product-list' }, (await products()).map((p) => h('option', { value: p })));
  const descr = h('input', { id: 'group-description' });
  openDialog('Create New Group', [
    h('div', { class: 'form-grid' }, h('label', {}, 'Name', name), h('label', {}, 'Products (comma-separated)', prods, list), h('label', {}, 'Description', descr)),
    h('p', { class: 'help' }, 'Note: all studies associated with a group must use the same products.'),
  ], [{ label: 'Create', primary: true, onClick: async () => {
    const p = prods.value.split(',').map((x) => x.trim()).filter(Boolean);
    if (!name.value.trim() || !p.length) throw new Error('A group needs a name and at least one product.');
    await post('/api/groups', { name: name.value.trim(), products: p, description: descr.value });
    toast('Group created.');
    await refresh();
  } }]);
}

async function uploadGroup() {
  const g = await get('/api/groups');
  const sel = h('select', { id: 'group-upload-group' }, (g.items || []).map((x) => h('option', { value: x.name }, x.name)));
  const files = h('input', { type: 'file', id: 'group-upload-files', webkitdirectory: true, multiple: true });
  const bar = h('progress', { id: 'group-upload-progress', max: 100, value: 0, hidden: true });
  const pct = h('span', { id: 'group-upload-percent', 'aria-live': 'polite' });
  openDialog('Upload New Group', [
    h('p', {}, 'Select a folder that holds one ZIP archive per study. Each ZIP holds a DICOM study (with an optional JSON sidecar) or a NIfTI file with matching .bvec, .bval and JSON sidecar.'),
    h('div', { class: 'form-grid' }, h('label', {}, 'Group', sel), h('label', {}, 'Folder of ZIPs', files)),
    bar, pct,
  ], [{ label: 'Upload', primary: true, closes: false, onClick: async () => {
    const zips = [...files.files].filter((f) => f.name.toLowerCase().endsWith('.zip'));
    if (!zips.length) throw new Error('The folder has no ZIP archive.');
    const form = new FormData();
    form.append('type', 'group');
    form.append('group', sel.value);
    for (const f of zips) form.append('files', f, f.name);
    bar.hidden = false;
    const r = await upload('/api/uploads', form, (x) => { bar.value = Math.round(x * 100); pct.textContent = Math.round(x * 100) + '%'; });
    const n = r && r.npuids ? r.npuids.length : zips.length;
    pct.textContent = `100% · ${n} ${n === 1 ? 'study' : 'studies'} uploaded into ${sel.value}`;
    toast(`Uploaded ${n} ${n === 1 ? 'study' : 'studies'} into ${sel.value}.`);
    await refresh();
  } }]);
}
