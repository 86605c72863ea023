// SPDX-License-Identifier: Apache-2.0
// Manual upload of one study (folder or ZIP) with the guide's form rules.
import { get, upload } from '../api.js';
import { h, toast, openDialog } from '../ui.js';

const NAME_RULE = /^[A-Za-z0-9 /:-]{5,50}$/;

export async function openUpload(ctx, after) {
  let groups = [];
  let defaults = [];
  try { groups = (await get('/api/groups')).items || []; } catch { /* none */ }
  try {
    const s = await get('/api/settings/schema');
    defaults = s.properties.dicom.properties.default_products.default || [];
  } catch { /* use what the user types */ }
  const name = h('input', { id: 'up-name', maxlength: 50, pattern: '[A-Za-z0-9 /:\\-]{5,50}', 'aria-describedby': 'up-name-help' });
  const acc = h('input', { id: 'up-accession', maxlength: 64 });
  const age = h('input', { id: 'up-age', type: 'number', min: 0, max: 150 });
  const sex = h('select', { id: 'up-sex' }, h('option', { value: '' }, '—'), h('option', { value: 'F' }, 'Female'), h('option', { value: 'M' }, 'Male'));
  const group = h('select', { id: 'up-group' }, h('option', { value: '' }, 'No group'), groups.map((g) => h('option', { value: g.name }, g.name)));
  const prods = h('input', { id: 'up-products', value: defaults.join(', '), 'aria-describedby': 'up-products-help' });
  group.addEventListener('change', () => {
    const g = groups.find((x) => x.name === group.value);
    if (g) prods.value = (g.products || []).join(', ');
    prods.disabled = !!g;
  });
  const type = h('select', { id: 'up-type' }, h('option', { value: 'folder' }, 'Folder'), h('option', { value: 'zip' }, 'ZIP Archive'));
  const folder = h('input', { type: 'file', id: 'up-folder', webkitdirectory: true, multiple: true });
  const zip = h('input', { type: 'file', id: 'up-zip', accept: '.zip,application/zip', hidden: true });
  type.addEventListener('change', () => { folder.hidden = type.value !== 'folder'; zip.hidden = type.value !== 'zip'; });
  const bar = h('progress', { id: 'up-progress', max: 100, value: 0, hidden: true });
  const pct = h('span', { id: 'up-percent', 'aria-live': 'polite' });
  const warn = h('p', { class: 'warning-box', hidden: true }, 'Uploading: do not navigate away or close this window, or the upload may be corrupted.');
  const guard = (e) => { e.preventDefault(); e.returnValue = ''; };
  const dlg = openDialog('Manual Upload', [
    h('div', { class: 'form-grid' },
      h('label', {}, 'Study Name (optional)', name, h('span', { class: 'help', id: 'up-name-help' }, '5–50 characters: letters, numbers, spaces, / : -')),
      h('label', {}, 'Accession Number (optional)', acc),
      h('label', {}, 'Patient Age (optional)', age),
      h('label', {}, 'Patient Sex (optional)', sex),
      h('label', {}, 'Assign to group (optional)', group),
      h('label', {}, 'Product(s)', prods, h('span', { class: 'help', id: 'up-products-help' }, 'Comma-separated; set by the group when one is chosen.')),
      h('label', {}, 'Upload Type', type),
      h('label', {}, 'Files', folder, zip)),
    h('p', { class: 'help' }, 'Patient age and sex must come from this form, the DICOM metadata or a JSON sidecar. Precedence: this form, then the JSON sidecar, then DICOM metadata.'),
    warn, bar, pct,
  ], [{ label: 'Upload', primary: true, closes: false, onClick: async () => {
    if (name.value && !NAME_RULE.test(name.value)) throw new Error('Study Name: 5–50 characters of letters, numbers, spaces, / : -');
    const files = type.value === 'zip' ? [...zip.files] : [...folder.files];
    if (!files.length) throw new Error('Choose a ' + (type.value === 'zip' ? 'ZIP archive' : 'folder') + ' to upload.');
    const total = files.reduce((n, f) => n + f.size, 0);
    if (total > 5 * 1024 ** 3) throw new Error('The upload is larger than the 5 GB limit.');
    const form = new FormData();
    for (const [k, v] of [['study_name', name.value], ['accession', acc.value], ['patient_age', age.value], ['patient_sex', sex.value],
      ['group', group.value], ['products', prods.value], ['type', type.value]]) if (v) form.append(k, v);
    for (const f of files) form.append('files', f, f.webkitRelativePath || f.name);
    bar.hidden = false;
    warn.hidden = false;
    window.addEventListener('beforeunload', guard);
    try {
      const r = await upload('/api/uploads', form, (x) => { bar.value = Math.round(x * 100); pct.textContent = Math.round(x * 100) + '%'; });
      const ids = r && r.npuid ? [r.npuid] : (r && r.npuids) || [];
      // The dialog stays open on the result so the new Neuropacs UID can be read.
      pct.textContent = '100% · uploaded' + (ids.length ? ' as ' + ids.join(', ') : '');
      toast('Upload complete.');
      if (after) await after();
    } finally {
      window.removeEventListener('beforeunload', guard);
      warn.hidden = true;
    }
  } }]);
  return dlg;
}
