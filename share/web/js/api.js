// SPDX-License-Identifier: Apache-2.0
// Calls to the agent's REST API. Every write carries the session's CSRF token.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrf = '';
export function setCsrf(token) { csrf = token || ''; }

function cookieCsrf() {
  const m = document.cookie.match(/(?:^|;\s*)np_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

export async function api(method, path, body, { raw = false } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf || cookieCsrf();
  if (body !== undefined && !(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  } else if (body) {
    init.body = body;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'The agent cannot be reached. Check that it is running and the network is up.');
  }
  if (res.status === 401 && !path.startsWith('/api/auth/')) {
    window.dispatchEvent(new CustomEvent('np-unauthorized'));
  }
  if (!res.ok) {
    let code = 'http_' + res.status, message = res.statusText || 'Request failed';
    try {
      const j = await res.json();
      if (j && j.error) { code = j.error.code || code; message = j.error.message || message; }
    } catch { /* not JSON */ }
    throw new ApiError(res.status, code, message);
  }
  if (raw) return res;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('application/json') ? res.json() : res.text();
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b === undefined ? {} : b);
export const put = (p, b) => api('PUT', p, b);
export const del = (p) => api('DELETE', p);

// Query string from an object, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

// Upload with progress (fetch has no upload progress): onProgress(fraction).
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', path);
    x.setRequestHeader('X-CSRF-Token', csrf || cookieCsrf());
    x.setRequestHeader('Accept', 'application/json');
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    x.onerror = () => reject(new ApiError(0, 'network', 'The upload was interrupted: the agent cannot be reached.'));
    x.onload = () => {
      let j = null;
      try { j = JSON.parse(x.responseText); } catch { /* empty */ }
      if (x.status >= 200 && x.status < 300) { onProgress(1); resolve(j); return; }
      const e = j && j.error ? j.error : {};
      reject(new ApiError(x.status, e.code || 'http_' + x.status, e.message || 'Upload failed'));
    };
    x.send(form);
  });
}
