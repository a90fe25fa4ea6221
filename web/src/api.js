// The Tessera HTTP API as the page uses it: every URL is on the page's own server, under
// the prefix the server wrote into <meta name="tessera-prefix">.

const meta = document.querySelector('meta[name="tessera-prefix"]');
/** The raster routes' prefix, e.g. "/raster/". */
export const prefix = (meta && meta.content) || '/raster/';

let token = sessionStorage.getItem('tessera-token') || '';

/**
 * Sets the bearer token sent with every request (needed for writes, and for reads on a server
 * with TESSERA_PRIVATE_READS); it is kept for the tab's session.
 */
export function setToken(t) {
  token = (t || '').trim();
  if (token) sessionStorage.setItem('tessera-token', token);
  else sessionStorage.removeItem('tessera-token');
}

/** Tells whether the page has a token (the write controls show only then). */
export function hasToken() {
  return token !== '';
}

/** Returns fetch options with the Authorization header added when a token is set. */
export function withAuth(init = {}) {
  if (!token) return init;
  return { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers || {}) } };
}

/**
 * Returns url with the token as access_token, for EventSource, which cannot send headers (the
 * server takes a token in the URL on its event streams only).
 */
export function streamURL(url) {
  return token ? `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}` : url;
}

/**
 * The Error of a non-2xx answer: the server's JSON error text (else the status), with status
 * and the parsed body.
 */
export async function responseError(res) {
  const body = await res.json().catch(() => ({}));
  return Object.assign(new Error(body.error || `${res.status} ${res.statusText}`), { status: res.status, body });
}

/** Fetches JSON from a raster route; a non-2xx answer throws with the server's error text. */
export async function getJSON(path, init) {
  const res = await fetch(prefix + path, withAuth(init));
  if (!res.ok) throw await responseError(res);
  return res.json().catch(() => ({}));
}

/**
 * The query of an algebra request.
 * @param {{layers: string, formula?: string, colormap?: string, legend?: number}} q
 */
export function algebraQuery(q) {
  const p = new URLSearchParams({ layers: q.layers });
  if (q.formula !== undefined) p.set('formula', q.formula);
  if (q.legend !== undefined) p.set('legend', String(q.legend));
  else if (q.colormap) p.set('colormap', q.colormap);
  return p.toString();
}

/**
 * The URL of a route beside the algebra tiles for the same query: "algebra.json" (TileJSON),
 * "algebra/WMTSCapabilities.xml", "export"; extra holds further parameters (export's bbox…).
 */
export function algebraRouteURL(path, q, extra = {}) {
  const p = new URLSearchParams(algebraQuery(q));
  for (const [k, v] of Object.entries(extra)) p.set(k, String(v));
  return `${prefix}${path}?${p}`;
}

/** The URL of an algebra tile: ext "msgpack" for the raw bands, "png" for the server's image. */
export function algebraURL(z, x, y, ext, q) {
  return `${prefix}algebra/${z}/${x}/${y}.${ext}?${algebraQuery(q)}`;
}
