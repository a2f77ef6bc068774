// The dashboard's only way to the API: every call carries the API key from this tab's sessionStorage as
// a bearer token (no cookies, so no CSRF surface). Errors are the API's problem+json, thrown as ApiError.

const KEY = 'qat.apiKey';

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

/** A problem+json answer (or a network failure, status 0). `fields` maps field → reason. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
    this.code = this.problem.code ?? (status ? `HTTP_${status}` : 'NETWORK');
    this.errors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** "message (CODE, HTTP 422)" for any error. */
export function errorText(err) {
  if (err instanceof ApiError) return `${err.message}${err.code ? ` (${err.code}${err.status ? `, HTTP ${err.status}` : ''})` : ''}`;
  return String(err?.message ?? err);
}

let onUnauthorized = () => {};
/** Called when a request with the stored key answers 401 (revoked or wrong key). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

async function problemOf(res) {
  try {
    const text = await res.text();
    return text ? JSON.parse(text) : {};
  } catch {
    return {};
  }
}

/**
 * fetch() against the API. `json` sends a JSON body, `form` a FormData (multipart); `key` overrides the
 * stored key (sign-in checks a key before keeping it). Resolves to the parsed JSON, null for 204, or
 * the Response itself with `raw: true`.
 */
export async function api(path, { method = 'GET', json, form, headers = {}, signal, key, raw = false } = {}) {
  const bearer = key ?? session.key;
  const h = { accept: 'application/json', ...headers };
  if (bearer) h.authorization = `Bearer ${bearer}`;
  let body;
  if (json !== undefined) {
    h['content-type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) body = form;
  let res;
  try {
    res = await fetch(path, { method, headers: h, body, signal, cache: 'no-store' });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(0, { title: 'Network error', detail: `the service did not answer (${err?.message ?? err})` });
  }
  if (!res.ok) {
    const problem = await problemOf(res);
    if (res.status === 401 && key === undefined) onUnauthorized(problem);
    throw new ApiError(res.status, problem);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') ?? '';
  return type.includes('json') ? res.json() : res.text();
}

/** Every page of a `{items, next_page_token}` list, up to `max` items. */
export async function listAll(path, { max = 500, signal } = {}) {
  const items = [];
  let token = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(`${path}${sep}page_size=100${token ? `&page_token=${encodeURIComponent(token)}` : ''}`, { signal });
    items.push(...page.items);
    token = page.next_page_token;
  } while (token && items.length < max);
  return items;
}

/**
 * Downloads an artifact with the bearer header: the bytes become a Blob, saved through a temporary
 * object URL (a plain link could not carry the key). Resolves to the Blob.
 */
export async function download(path, filename) {
  const res = await api(path, { raw: true, headers: { accept: '*/*' } });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob;
}

/**
 * Follows a job's Server-Sent Events. EventSource cannot send an Authorization header, so the stream is
 * read with fetch and parsed here. On a dropped connection it reconnects with Last-Event-ID (1 s, then
 * doubling up to 15 s); it stops after `event: end`, on a 4xx answer, or when `signal` aborts.
 * Handlers: onEvent({id, type, data}), onEnd(data), onError(ApiError), onOpen().
 */
export function followEvents(path, { onEvent, onEnd, onError, onOpen, signal }) {
  let lastId = null;
  let delay = 1000;
  let ended = false;

  const dispatch = (block) => {
    let id = null;
    let type = 'message';
    const data = [];
    for (const line of block.split(/\r\n|\r|\n/)) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
    if (id !== null) lastId = id;
    if (data.length === 0) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join('\n'));
    } catch {
      parsed = { value: data.join('\n') };
    }
    if (type === 'end') {
      ended = true;
      onEnd?.(parsed);
    } else onEvent?.({ id, type, data: parsed });
  };

  const run = async () => {
    while (!ended && !signal?.aborted) {
      try {
        const headers = { accept: 'text/event-stream' };
        if (lastId !== null) headers['last-event-id'] = lastId;
        const res = await api(path, { raw: true, headers, signal });
        onOpen?.();
        delay = 1000;
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.search(/\r\n\r\n|\n\n|\r\r/)) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + (buffer.startsWith('\r\n\r\n', cut) ? 4 : 2));
            dispatch(block);
          }
        }
      } catch (err) {
        if (signal?.aborted || err?.name === 'AbortError') return;
        if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          onError?.(err);
          return;
        }
      }
      if (ended || signal?.aborted) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  };
  void run();
}
