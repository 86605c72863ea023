// SPDX-License-Identifier: Apache-2.0
// Downloads fetched first, then saved under the agent's file name: a refusal
// (4xx/5xx) throws an ApiError with the agent's message for the page to
// show, where a plain <a download> would be dropped by the browser in silence.
import { api } from './api.js';
import { h } from './ui.js';

export async function saveDownload(url, fallbackName) {
  const res = await api('GET', url, undefined, { raw: true });
  const m = (res.headers.get('Content-Disposition') || '').match(/filename="([^"]+)"/);
  const href = URL.createObjectURL(await res.blob());
  const a = h('a', { href, download: m ? m[1] : fallbackName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60000);
}
