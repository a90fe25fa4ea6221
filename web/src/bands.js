// Raw band tiles (.msgpack, docs/rawtile.md) fetched once and kept for re-rendering, and the
// drawing of a render's pixels into a canvas: what the page's AlgebraLayer and the client kit
// (kit.js) share. Nothing here knows the page (api.js) or a map library.

/** The longest formula the server accepts, in UTF-8 bytes (shared/formula.MaxSource). */
export const MAX_FORMULA = 4096;

/** The largest raw tile the WebAssembly core decodes, in bytes (shared/rawtile.MaxSize). */
export const MAX_TILE_BYTES = 64 << 20;

/** An error of Tessera: the server's JSON error or a render's, with its formula span if any. */
export class TesseraError extends Error {
  /** @param {string} message @param {{status?: number, pos?: number[], snippet?: string}} [detail] */
  constructor(message, detail = {}) {
    super(message);
    this.name = 'TesseraError';
    if (detail.status !== undefined) this.status = detail.status;
    if (detail.pos) this.pos = Array.from(detail.pos); // [start, end], UTF-8 byte offsets in the formula
    if (detail.snippet) this.snippet = detail.snippet;
  }
}

/** The text of a thrown value: its message, else the value itself as a string. */
export const errorText = (e) => (e && e.message ? e.message : String(e));

/** The error of a failed tile response: the server's JSON error text, else the status. */
export async function tileError(res) {
  const body = await res.json().catch(() => ({}));
  return new TesseraError(body.error || `tile: ${res.status}`, { status: res.status });
}

/**
 * The body of res, read as it arrives and refused past max bytes (a body's Content-Length is
 * the compressed size: a small gzip answer can inflate without bound).
 */
export async function readAtMost(res, max) {
  const tooLarge = () => new TesseraError(`tile: more than ${max} bytes, larger than a raw tile may be`);
  if (Number(res.headers.get('Content-Length')) > max) throw tooLarge();
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader(), parts = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(n);
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.byteLength; }
  return out;
}

/**
 * Raw tiles kept for re-rendering, least recently used dropped first, at most max tiles and
 * maxBytes bytes (an empty tile, null, counts no bytes).
 */
export class BandCache {
  constructor(max = 256, maxBytes = 256 << 20) { this.max = max; this.maxBytes = maxBytes; this.bytes = 0; this.m = new Map(); }
  get(k) { const v = this.m.get(k); if (v !== undefined) { this.m.delete(k); this.m.set(k, v); } return v; }
  has(k) { return this.m.has(k); }
  get size() { return this.m.size; }
  set(k, v) {
    this.delete(k);
    this.m.set(k, v);
    this.bytes += v ? v.byteLength : 0;
    while (this.m.size > this.max || (this.bytes > this.maxBytes && this.m.size > 1)) this.delete(this.m.keys().next().value);
  }
  delete(k) {
    const v = this.m.get(k);
    if (v === undefined) return;
    this.bytes -= v ? v.byteLength : 0;
    this.m.delete(k);
  }
}

/**
 * The raw bands of algebra tiles, fetched once per tile and layers binding: concurrent
 * requests for one tile share one fetch, which is aborted only when every caller that waits
 * on it has aborted.
 */
export class BandSource {
  /**
   * @param {object} o
   * @param {(z: number, x: number, y: number, layers: string) => string} o.url the .msgpack URL
   * @param {() => RequestInit} [o.init] fetch options (an Authorization header)
   * @param {number} [o.max] tiles kept, [o.maxBytes] their bytes, [o.maxTile] the bytes of one
   *   (MAX_TILE_BYTES at most)
   * @param {() => void} [o.onFetch] called for every request sent
   */
  constructor(o) {
    this.url = o.url;
    this.init = o.init || (() => ({}));
    this.onFetch = o.onFetch || (() => {});
    this.cache = new BandCache(o.max, o.maxBytes);
    this.maxTile = Math.min(o.maxTile || MAX_TILE_BYTES, MAX_TILE_BYTES);
    this.inflight = new Map();
  }

  /** The cache key of a tile's bands: the binding and the address. */
  key(layers, z, x, y) { return `${layers}|${z}/${x}/${y}`; }

  /** Tells whether a tile's bands are cached (a re-render needs no request). */
  has(layers, z, x, y) { return this.cache.has(this.key(layers, z, x, y)); }

  /** The cached bands of a tile: bytes, null for a tile without data, undefined when not cached. */
  cached(layers, z, x, y) { return this.cache.get(this.key(layers, z, x, y)); }

  /**
   * Resolves to a tile's raw bands (null where the server has none: 204), fetched once.
   * @param {AbortSignal} [signal] rejects this call when aborted (the fetch goes on for others)
   */
  get(layers, z, x, y, signal) {
    const k = this.key(layers, z, x, y);
    if (this.cache.has(k)) return Promise.resolve(this.cache.get(k));
    if (signal && signal.aborted) return Promise.reject(signal.reason);
    let f = this.inflight.get(k);
    if (!f) {
      const ctl = new AbortController();
      f = { ctl, waiting: 0, pinned: false };
      this.onFetch();
      f.promise = fetch(this.url(z, x, y, layers), { ...this.init(), signal: ctl.signal }).catch((e) => {
        // The browser says only "Failed to fetch" (server down, CORS, a CSP's connect-src).
        if (e && e.name === 'AbortError') throw e;
        throw new TesseraError(`tile ${z}/${x}/${y}: the server did not answer (${errorText(e)})`);
      }).then(async (res) => {
        if (res.status === 204) return null;
        if (!res.ok) throw await tileError(res);
        return readAtMost(res, this.maxTile);
      }).then((b) => { this.cache.set(k, b); return b; }).finally(() => { if (this.inflight.get(k) === f) this.inflight.delete(k); });
      f.promise.catch(() => {}); // each caller gets the rejection; an abandoned fetch's is not unhandled
      this.inflight.set(k, f);
    }
    if (!signal) {
      f.pinned = true;
      return f.promise;
    }
    f.waiting++;
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = () => {
        if (done) return false;
        done = true;
        f.waiting--;
        signal.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = () => {
        if (!finish()) return;
        reject(signal.reason);
        if (f.waiting === 0 && !f.pinned) {
          if (this.inflight.get(k) === f) this.inflight.delete(k);
          f.ctl.abort(signal.reason);
        }
      };
      signal.addEventListener('abort', onAbort);
      f.promise.then((b) => { if (finish()) resolve(b); }, (e) => { if (finish()) reject(e); });
    });
  }
}

/** The options of a render taken from a view's parameters: range, scale, entries, alpha, enhance. */
export function renderOptions(v) {
  const o = {};
  for (const k of ['range', 'scale', 'entries', 'alpha', 'enhance']) if (v[k] !== undefined && v[k] !== null) o[k] = v[k];
  return o;
}

/**
 * Draws a render's answer into canvas c (resized to it), or clears c for a tile without data
 * (out null). Returns c.
 */
export function drawRender(c, out) {
  const ctx = c.getContext('2d');
  if (out === null) {
    ctx.clearRect(0, 0, c.width, c.height);
    return c;
  }
  if (c.width !== out.width || c.height !== out.height) { c.width = out.width; c.height = out.height; }
  ctx.putImageData(new ImageData(out.rgba, out.width, out.height), 0, 0);
  return c;
}
