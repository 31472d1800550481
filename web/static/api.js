// api.js: the client of Runlet's JSON API. Requests carry the session
// cookie; state-changing ones add the X-CSRF-Token header of the session.
// Errors come back as ApiError with the server's code, message and details
// (job validation problems with their line numbers).

export const PREFIX = '/api/v1';

// session is the signed-in user's Session ({user, workspace, role, csrf,
// expires}), or null.
export let session = null;

export class ApiError extends Error {
  constructor(status, code, message, details, removed) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || [];
    // removed: the jobs a refused job file would delete (PUT /jobs
    // without prune=true).
    this.removed = removed || [];
  }
}

// onUnauthorized is called when a request finds the session gone; the app
// sets it to send the person to the sign-in page.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// api sends one request. body is JSON-encoded unless it is a string (the
// YAML job file). It resolves to the parsed JSON answer (null for 204).
export async function api(method, path, body, { headers = {}, quiet401 = false } = {}) {
  const h = { Accept: 'application/json', ...headers };
  const init = { method, headers: h, credentials: 'same-origin' };
  if (body !== undefined) {
    if (typeof body === 'string') {
      init.body = body;
      h['Content-Type'] = h['Content-Type'] || 'application/yaml';
    } else {
      init.body = JSON.stringify(body);
      h['Content-Type'] = 'application/json';
    }
  }
  if (!['GET', 'HEAD', 'OPTIONS'].includes(method) && session && session.csrf) {
    h['X-CSRF-Token'] = session.csrf;
  }
  let resp;
  try {
    resp = await fetch(PREFIX + path, init);
  } catch (err) {
    throw new ApiError(0, 'unavailable', `The server does not answer (${err.message}). Check your connection and try again.`);
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    const err = new ApiError(resp.status, e.code || 'internal', e.message || `The server answered ${resp.status} ${resp.statusText}.`, e.details, e.removed);
    if (resp.status === 401 && !quiet401) {
      session = null;
      err.handled = true;
      onUnauthorized();
    }
    throw err;
  }
  return data;
}

// list unwraps the API's list answers, which are either an array or an
// object holding one ({"devices": [...]}).
export function list(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  return [];
}

// loadSession asks the server who the cookie belongs to; null when nobody.
export async function loadSession() {
  try {
    session = await api('GET', '/session', undefined, { quiet401: true });
  } catch (err) {
    if (err.status !== 401) throw err;
    session = null;
  }
  return session;
}

export async function signIn(email, password) {
  session = await api('POST', '/session', { email, password }, { quiet401: true });
  return session;
}

export async function acceptInvite(token, name, password) {
  session = await api('POST', '/invites/accept', { token, name, password }, { quiet401: true });
  return session;
}

export async function signOut() {
  try {
    await api('DELETE', '/session', undefined, { quiet401: true });
  } finally {
    session = null;
  }
}

// terminalURL is the WebSocket address of one device's terminal of an
// execution, starting at frame sequence from.
export function terminalURL(execution, device, from) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams({ device, from: String(from) });
  return `${proto}//${location.host}${PREFIX}/executions/${encodeURIComponent(execution)}/terminal?${q}`;
}
