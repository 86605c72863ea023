// SPDX-License-Identifier: Apache-2.0
// The Studies page's pager (issue 21): Next asks for the page after by the
// keyset cursor the API gave (cursor=, no OFFSET walk over the pages
// before), shows the same rows as the numbered page, keeps "Page N of M";
// Previous goes back to the rows it showed. 60 bare index rows, older than
// every real study, make three pages of 25; they are removed after.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default async function (t) {
  const { page, step, ok, apiJson, go, env } = t;
  const db = join(env.NP_HOME, 'db/agent.sqlite');
  const sql = (q) => execFileSync('sqlite3', [db, q]).toString();
  const ID = (i) => `0badcafe-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const shown = () => page.$$eval('#studies tbody tr[data-npuid]', (r) => r.map((x) => x.dataset.npuid));
  const info = () => page.textContent('#page-info');
  const pager = (label) => page.locator('.pager button', { hasText: label });
  // The /api/studies requests the page sends while fn runs.
  const asked = async (fn) => {
    const urls = [];
    const seen = (r) => { if (r.url().includes('/api/studies?')) urls.push(r.url()); };
    page.on('request', seen);
    try {
      await Promise.all([page.waitForResponse((r) => r.url().includes('/api/studies?')), fn()]);
      await page.waitForLoadState('networkidle').catch(() => {});
    } finally {
      page.off('request', seen);
    }
    return urls;
  };

  await step('studies: Next and Previous page by the cursor', async () => {
    const rows = Array.from({ length: 60 }, (_, i) =>
      `('${ID(i)}', 'done', 'dicom', 'dicom', 'PAGER ${i}', '2019-01-01T00:${String(i).padStart(2, '0')}:00Z', '2019-01-01T00:00:00Z', 1)`);
    sql(`INSERT INTO studies (npuid, state, source, format, study_name, created_at, updated_at, stable) VALUES ${rows.join(',')}`);
    try {
      const byNumber = async (n) => ((await apiJson(`/api/studies?size=25&page=${n}`)).items || []).map((x) => x.npuid);
      const first = await apiJson('/api/studies?size=25');
      const pages = Math.ceil(first.total / 25);
      await go('studies', '#studies tbody tr[data-npuid]');
      // No filter, back on the first page, whatever an earlier step left.
      await page.fill('#study-search', '');
      for (const f of ['#filter-state', '#filter-qc', '#filter-group']) await page.selectOption(f, '');
      for (const f of ['#filter-from', '#filter-to']) await page.fill(f, '');
      await page.click('.filters button:text-is("Apply")');
      await page.waitForFunction(() => /^Page 1 /.test(document.querySelector('#page-info').textContent));
      ok(first.total >= 60 && (await info()).startsWith(`Page 1 of ${pages} `), 'the first page says which of how many', await info());
      const one = await shown();
      let urls = await asked(() => pager('Next').click());
      await page.waitForFunction(() => /^Page 2 /.test(document.querySelector('#page-info').textContent));
      ok(urls.length === 1 && /[?&]cursor=/.test(urls[0]) && !/[?&]page=/.test(urls[0]) &&
        new URL(urls[0]).searchParams.get('cursor') === first.next_cursor,
      'Next asks for the page after by the cursor the first page gave (no page number, no OFFSET)', urls.join('\n'));
      const two = await shown();
      ok(JSON.stringify(two) === JSON.stringify(await byNumber(2)), 'the second page shows the rows of page 2', two.join(' '));
      ok((await info()).startsWith(`Page 2 of ${pages} `), 'it says Page 2 of the same number of pages', await info());
      urls = await asked(() => pager('Next').click());
      await page.waitForFunction(() => /^Page 3 /.test(document.querySelector('#page-info').textContent));
      ok(/[?&]cursor=/.test(urls[0]) && JSON.stringify(await shown()) === JSON.stringify(await byNumber(3)),
        'Next again: the cursor of page 2, the rows of page 3', urls.join('\n'));
      urls = await asked(() => pager('Previous').click());
      await page.waitForFunction(() => /^Page 2 /.test(document.querySelector('#page-info').textContent));
      ok(JSON.stringify(await shown()) === JSON.stringify(two) && /[?&]cursor=/.test(urls[0]), 'Previous shows page 2 again', urls.join('\n'));
      urls = await asked(() => pager('Previous').click());
      await page.waitForFunction(() => /^Page 1 /.test(document.querySelector('#page-info').textContent));
      ok(JSON.stringify(await shown()) === JSON.stringify(one) && !/[?&]cursor=/.test(urls[0]) && (await pager('Previous').isDisabled()),
        'Previous to the first page: its rows, asked for without a cursor', urls.join('\n'));
    } finally {
      sql(`DELETE FROM studies WHERE npuid LIKE '0badcafe-%'`);
    }
  });
}
