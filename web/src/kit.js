// Tessera's client kit, served as /tessera.js: client-side algebra in any web map. A page on
// any origin imports it from the Tessera server and connects to the server's raster routes;
// the kit loads the WebAssembly core (tessera.wasm) from its own origin and renders algebra
// tiles in the browser from raw bands fetched once per tile, so a new formula or colormap
// re-renders without a request. Adapters for Leaflet, OpenLayers and MapLibre (docs/clients.md):
//
//   import { connect } from 'https://tiles.example.com/tessera.js';
//   const t = await connect('https://tiles.example.com/raster/');
//   const layer = t.leafletLayer(L, { layers: 'r:2=scene,n:3=scene', formula: '(n-r)/(n+r)', colormap: 'RdYlGn' });
//
// Errors come once: a formula is compiled and a colormap checked once when params are set (a
// bad one rejects every tile without fetching or rendering it), and an error event is sent once
// per distinct message per setting of params, however many tiles fail with it. The limits the
// kit checks (a formula's length, a binding's variables, the deepest zoom) and the size of an
// empty tile are the server's, read from its GET config when connecting.

import { goRuntime } from 'go:wasm_exec';
import { BandSource, MAX_FORMULA, TesseraError, drawRender, errorText, renderOptions } from './bands.js';
import { algebraGridLayer } from './gridlayer.js';
import { loadTessera } from './wasm.js';

export { TesseraError, MAX_FORMULA };

/**
 * The longest layers binding accepted, in UTF-8 bytes: the server's limit on any one query
 * parameter (tiles.MaxParam, 8192 bytes, as backend/internal/tiles/request.go documents it).
 * GET config does not report it, so this is that documented value, not the server's own. It
 * was 4096 characters: bindings the server takes were refused, and multi-byte names counted
 * short of the server's bytes.
 */
export const MAX_LAYERS = 8192;

/**
 * The deepest zoom a Tessera server answers by default (tile.MaxZoom); a connection checks
 * its own server's, t.config.max_zoom.
 */
export const MAX_ZOOM = 30;

/**
 * What the kit reads of a server's GET config (docs/api.md), as a server with its defaults
 * answers: a Tessera built without a config, by hand, checks these.
 */
const DEFAULT_CONFIG = Object.freeze({ tile_size: 256, max_zoom: MAX_ZOOM, formula_max_bytes: MAX_FORMULA, max_variables: 16 });

let core; // the one WebAssembly instance every connect() shares, by the promise of its API
const configs = new Map(); // each server's GET config, by its raster routes' URL: one request a page

/**
 * The raster routes' URL of base, absolute (against the page's) and ending in '/'.
 * @param {string|URL} base
 */
function routesURL(base) {
  const u = new URL(String(base), globalThis.location ? globalThis.location.href : undefined);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

/**
 * The server's settings (GET {base}config, public even when its reads need a token), read once
 * per page and server however many connections it has; a failure is tried again by the next
 * connect. It holds the limits the server applies (tile size, formula length, variables, the
 * deepest zoom), which the kit assumed were the defaults.
 */
function serverConfig(base) {
  if (!configs.has(base)) {
    const url = `${base}config`;
    configs.set(base, (async () => {
      let res;
      try {
        res = await fetch(url);
      } catch (e) {
        throw new TesseraError(`${url}: the server did not answer (${errorText(e)}); the kit reads the server's settings there, which needs CORS (docs/clients.md)`);
      }
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        throw new TesseraError(`${url}: ${body.error || `the server answered ${res.status}`}`, { status: res.status });
      }
      return res.json();
    })().catch((e) => { configs.delete(base); throw e instanceof TesseraError ? e : new TesseraError(`${url}: ${errorText(e)}`); }));
  }
  return configs.get(base);
}

/**
 * Starts the core once. Go's runtime (wasm_exec.js, bundled at build time) runs against a
 * scope of its own, which reads the page's globals but keeps what is set on it (Go, the core's
 * `tessera`): a page that loaded its own wasm_exec.js, or Tessera's page, keeps its
 * globalThis.Go, and the kit adds no global.
 */
function loadCore(wasmURL) {
  core ||= (async () => {
    const scope = globalScope();
    return loadTessera(wasmURL, goRuntime(scope), scope);
  })().catch((e) => { core = undefined; throw e; });
  return core;
}

/**
 * An object standing for globalThis: a read finds what was set on it, else the global's
 * property, read from the global itself (the browser's getters, such as crypto, refuse any
 * other receiver, so a prototype chain will not do); a write stays on it.
 */
function globalScope() {
  const own = Object.create(null);
  return new Proxy(own, {
    get: (t, k) => (k in t ? t[k] : Reflect.get(globalThis, k)),
    has: (t, k) => k in t || k in globalThis,
    set: (t, k, v) => { t[k] = v; return true; },
  });
}

/**
 * The default bytes of raw tiles kept: 1/16 of the device's memory where the browser tells it
 * (navigator.deviceMemory, in GiB: 0.25 to 8 in Chromium, absent in Firefox and Safari),
 * between 32 and 256 MiB; else 256 MiB. A phone of 2 GiB keeps 128 MiB.
 */
function defaultCacheBytes() {
  const gib = globalThis.navigator && globalThis.navigator.deviceMemory;
  if (typeof gib !== 'number' || !(gib > 0)) return 256 << 20;
  return Math.min(256 << 20, Math.max(32 << 20, Math.floor((gib * 2 ** 30) / 16)));
}

/**
 * Connects to a Tessera server's raster routes, loading the WebAssembly core from the kit's
 * own origin (once per page, whatever the number of connections) and the server's settings
 * from its GET config (once per page and server): the connection's config.
 * @param {string|URL} base the raster routes, e.g. 'https://tiles.example.com/raster/'
 * @param {object} [options]
 * @param {string} [options.token] a bearer token, for a server with TESSERA_PRIVATE_READS
 * @param {string|URL} [options.wasm] the core's URL (default: tessera.wasm beside the kit)
 * @param {number} [options.cacheTiles] raw tiles kept for re-rendering (256; at most 4096)
 * @param {number} [options.cacheBytes] their bytes at most (1/16 of navigator.deviceMemory
 *   between 32 and 256 MiB; 256 MiB where the browser does not tell it; 1 GiB at most)
 * @param {number} [options.maxTileBytes] the largest raw tile accepted (64 MiB, the most)
 * @returns {Promise<Tessera>}
 */
export async function connect(base, options = {}) {
  const wasm = options.wasm || new URL('tessera.wasm', import.meta.url);
  const routes = routesURL(base);
  const config = serverConfig(routes); // at the same time as the core
  config.catch(() => {}); // a core that does not load is the error told first
  let api;
  try {
    api = await loadCore(wasm);
  } catch (e) {
    // The browser's own text ("Failed to fetch", a CSP's refusal) names neither the module nor the cause.
    throw new TesseraError(`${wasm}: the WebAssembly core did not load (${errorText(e)}); it needs CORS, and a page's CSP needs connect-src and 'wasm-unsafe-eval' (docs/clients.md)`);
  }
  return new Tessera(routes, api, options, await config);
}

/** A colormap parameter as the core and the server take it: a name or JSON (objects are stringified). */
const colormapString = (c) => (c && typeof c === 'object' ? JSON.stringify(c) : c || '');

/** Says whether v is an integer in [lo, hi]. */
const intIn = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;

/**
 * The variable names a layers binding gives the formula ('r:2=scene,n:3=scene' gives r and n),
 * read as the server reads them (tiles.ParseLayers); undefined when it does not parse: the
 * formula is then checked without names and the server's answer says what is wrong.
 */
function bindingNames(layers) {
  const names = [];
  for (const part of layers.split(',')) {
    const i = part.indexOf('=');
    if (i < 0 || part.slice(i + 1).trim() === '') return undefined;
    const name = part.slice(0, i).trim().split(':')[0];
    if (!/^[A-Za-z0-9_]+$/.test(name)) return undefined;
    names.push(name);
  }
  return names;
}

/** A key equal for params that render alike (a unique one when they cannot be serialised). */
function paramsKey(p) {
  try {
    return JSON.stringify([p.layers, p.formula || '', colormapString(p.colormap), p.range, p.scale, p.entries, p.alpha, p.enhance, p.tileSize]);
  } catch {
    return Symbol('params');
  }
}

/**
 * One setting of params: the error of its colormap or formula, found once, and the errors
 * sent as events for it, each once however many tiles fail with it.
 */
class Report {
  constructor() {
    this.checked = false;
    /** The TesseraError of the colormap or the formula, or null. */
    this.bad = null;
    this.sent = new Set();
  }
}

/**
 * The error every tile's render of params would give, found once per report without a tile,
 * or null: the colormap's (the core's checkColormap; render parses the colormap first), else
 * the formula's compile error against its binding's names, a TesseraError with pos and
 * snippet. The formula is trimmed, as the core's render trims it, so the positions are the same.
 */
function paramsError(client, params, report) {
  if (!report.checked) {
    report.checked = true;
    let r = client.api.checkColormap(colormapString(params.colormap));
    if (!r.error) {
      const f = (params.formula || '').trim();
      r = f === '' ? {} : client.api.compile(f, bindingNames(params.layers));
    }
    if (r.error) report.bad = new TesseraError(r.error, r);
  }
  return report.bad;
}

/**
 * Sends err as an `error` event of client unless report sent its message already (a tile's
 * address in front of it, 'tile 13/2/2: ', left out); says whether it did.
 */
function reportError(client, err, report) {
  const key = `${err.status ?? ''} ${String(err.message).replace(/^tile \d+\/\d+\/\d+: /, '')}`;
  if (report.sent.has(key)) return false;
  report.sent.add(key);
  client.fail(err);
  return true;
}

/**
 * The new Report of params when they are set: their colormap and formula checked now, and an
 * error, if any, sent now through send(err, report) (by default the client's error event, once
 * per report; a Leaflet layer's also fires the layer's).
 */
function setReport(client, params, send = (err, report) => reportError(client, err, report)) {
  const report = new Report();
  const bad = paramsError(client, params, report);
  if (bad) send(bad, report);
  return report;
}

/**
 * tile(z, x, y, params) under report: a colormap or formula known bad rejects without a request
 * or a render, and an error is sent as an event once per report.
 */
async function reportedTile(client, z, x, y, params, signal, report) {
  try {
    if (!intIn(z, 0, client.config.max_zoom) || !intIn(x, 0, 2 ** z - 1) || !intIn(y, 0, 2 ** z - 1)) throw new TesseraError(`tile ${z}/${x}/${y}: no such tile`);
    client.check(params);
    const bad = paramsError(client, params, report);
    if (bad) throw bad;
    const bytes = await client.source.get(params.layers, z, x, y, signal);
    const c = tileCanvas(client, params);
    if (bytes === null) return drawRender(c, null);
    const out = client.render(bytes, params.formula || '', colormapString(params.colormap), renderOptions(params));
    if (out.error) throw new TesseraError(out.error, out);
    drawRender(c, out);
    c.counts = out.counts;
    return c;
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    const err = e instanceof TesseraError ? e : new TesseraError(errorText(e));
    reportError(client, err, report);
    throw err;
  }
}

/**
 * A new transparent canvas of a tile of params (params.tileSize, else the server's tile_size):
 * an OffscreenCanvas where there is no document.
 */
function tileCanvas(client, params) {
  const size = params.tileSize || client.config.tile_size;
  return typeof document !== 'undefined' ? Object.assign(document.createElement('canvas'), { width: size, height: size }) : new OffscreenCanvas(size, size);
}

/**
 * A connection to one server: raw tiles fetched once and rendered with the core. It is an
 * EventTarget: a failure (an HTTP error, a formula error with its position) is also sent as an
 * `error` event (a CustomEvent whose detail is the TesseraError), once per distinct message
 * per setting of params (a layer's setParams, a loader's set, tile() with other params than
 * the call before), not once per tile.
 */
export class Tessera extends EventTarget {
  /**
   * @param {string|URL} base the raster routes
   * @param {object} api the core's API
   * @param {object} [options] connect's options
   * @param {object} [config] the server's GET config (connect reads it); the defaults' limits
   *   without it
   */
  constructor(base, api, options = {}, config = {}) {
    super();
    /** The raster routes' URL, ending in '/'. */
    this.base = routesURL(base);
    this.api = api;
    /**
     * The server's settings (GET config): tile_size, max_zoom, formula_max_bytes and
     * max_variables are the limits the kit checks and the size of an empty tile.
     */
    this.config = Object.freeze({ ...DEFAULT_CONFIG, ...config });
    this.token = options.token || '';
    const max = Math.min(Math.max(1, Math.floor(options.cacheTiles ?? 256)), 4096);
    const maxBytes = Math.min(Math.max(1, options.cacheBytes ?? defaultCacheBytes()), 1 << 30);
    /** Counters: bandFetches (requests for raw tiles), renders. */
    this.stats = { bandFetches: 0, renders: 0 };
    this.source = new BandSource({
      url: (z, x, y, layers) => `${this.base}algebra/${z}/${x}/${y}.msgpack?${new URLSearchParams({ layers })}`,
      init: () => (this.token ? { headers: { Authorization: `Bearer ${this.token}` } } : {}),
      max, maxBytes, maxTile: options.maxTileBytes,
      onFetch: () => { this.stats.bandFetches++; },
    });
  }

  /**
   * Renders raw tile bytes, as the page's tessera.render: {width, height, rgba, counts} or
   * {error, pos, snippet}.
   */
  render(bytes, formula, colormap, opts) {
    this.stats.renders++;
    return this.api.render(bytes, formula, colormap, opts);
  }

  /** Sends err as an `error` event and returns it (to throw). */
  fail(err) {
    this.dispatchEvent(new CustomEvent('error', { detail: err }));
    return err;
  }

  /** Throws a TesseraError when params are not a valid algebra request. */
  check(params) {
    const p = params || {};
    if (typeof p.layers !== 'string' || p.layers === '') throw new TesseraError('layers: a binding such as "r:2=scene,n:3=scene" is needed');
    // In the server's words (tiles.ParseLayers).
    const layerBytes = new TextEncoder().encode(p.layers).length;
    if (layerBytes > MAX_LAYERS) throw new TesseraError(`layers: ${layerBytes} bytes, at most ${MAX_LAYERS}`);
    if (p.formula !== undefined && typeof p.formula !== 'string') throw new TesseraError('formula: a string is needed');
    // The server counts the binding's entries as it splits them (tiles.ParseLayers).
    const vars = p.layers.split(',').length, maxVars = this.config.max_variables;
    if (vars > maxVars) throw new TesseraError(`layers: ${vars} layers, at most ${maxVars}`);
    const n = new TextEncoder().encode(p.formula || '').length, max = this.config.formula_max_bytes;
    if (n > max) throw new TesseraError(`formula is ${n} bytes long, at most ${max} are allowed`, { pos: [max, n] });
    if (p.colormap !== undefined && p.colormap !== null && !['string', 'object'].includes(typeof p.colormap)) throw new TesseraError('colormap: a name, JSON or an object is needed');
  }

  /**
   * Renders tile z/x/y in the browser into a new canvas (an OffscreenCanvas where there is no
   * document). The bands are fetched once per tile and layers; a tile without data (204) is a
   * transparent canvas of params.tileSize pixels (else the server's config.tile_size). Calls
   * with params alike in a row send an error once; a bad formula or colormap rejects without a
   * request.
   * @param {{layers: string, formula?: string, colormap?: string|object, range?: number[],
   *   entries?: string[], scale?: number[], alpha?: boolean, enhance?: object, tileSize?: number}} params
   * @param {{signal?: AbortSignal}} [init]
   * @returns {Promise<HTMLCanvasElement|OffscreenCanvas>} rejects with a TesseraError
   */
  async tile(z, x, y, params, { signal } = {}) {
    const key = paramsKey(params || {});
    if (!this.tileReport || this.tileReport.key !== key) this.tileReport = { key, report: new Report() };
    return reportedTile(this, z, x, y, params, signal, this.tileReport.report);
  }

  /**
   * A Leaflet GridLayer of tiles rendered in the browser, for the map's own Leaflet L. It has
   * setFormula, setColormap and setParams (a re-render from the cached bands, no request;
   * new layers reload), and fires `error` with {message, error} once per distinct message
   * per setting of params.
   * @param {object} L Leaflet
   * @param {object} options the algebra parameters (see tile) and GridLayer options
   */
  leafletLayer(L, options = {}) {
    const client = this;
    const Grid = algebraGridLayer(L);
    const { layers, formula, colormap, range, scale, entries, alpha, enhance, ...gridOptions } = options;
    const params = { layers, formula, colormap, range, scale, entries, alpha, enhance };
    this.check(params);
    let gen = 0, report = new Report();
    // An error of the current params: the client's event and the layer's, once per report.
    const send = (err, r) => { if (reportError(client, err, r)) layer.fire('error', { message: err.message, error: err }); };
    const layer = new Grid(() => ({ ...params, formula: params.formula || '', colormap: colormapString(params.colormap), gen }), {
      source: this.source,
      render: (...a) => client.render(...a),
      // Tiles of a colormap or formula known bad fail as their render would, without it and
      // without a request.
      knownBad: () => paramsError(client, params, report),
      onError(message, e) {
        if (message !== null) send(e instanceof TesseraError ? e : new TesseraError(message, e || {}), report);
      },
      onCounts() {},
    }, gridOptions);
    /**
     * Sets some of the parameters; a new binding (layers) reloads the tiles. A bad formula
     * or colormap fires one error now; its tiles keep their pixels.
     */
    layer.setParams = (p) => {
      const next = { ...params, ...p };
      this.check(next);
      const reload = next.layers !== params.layers;
      Object.assign(params, p);
      gen++;
      report = setReport(client, params, send);
      if (layer._map) layer.refresh(reload);
      return layer;
    };
    layer.setFormula = (f) => layer.setParams({ formula: f });
    layer.setColormap = (c) => layer.setParams({ colormap: c });
    layer.getParams = () => ({ ...params });
    return layer;
  }

  /**
   * A loader for OpenLayers' ImageTile source: new ol.source.ImageTile({loader}). The loader
   * has set(params), after which tiles it loads have the new params; openlayersSource wraps it
   * in a source that re-renders in place.
   * @param {object} params the algebra parameters (see tile)
   */
  openlayersLoader(params) {
    return newLoader(this, params).loader;
  }

  /**
   * An OpenLayers ImageTile source of tiles rendered in the browser:
   * new ol.layer.Tile({source: t.openlayersSource(ol, params, {maxZoom: 12})}). Its setParams,
   * setFormula and setColormap re-render every tile in place from the cached bands, under a new
   * source key: the tiles on screen stay until their new renders replace them (a new source,
   * layer.setSource, showed the map blank for ~300 ms). A formula or colormap known bad fires one
   * error and leaves the tiles on screen. getParams returns the parameters.
   * @param {object|Function} ol OpenLayers (the ol namespace of ol.js), or the ImageTile class
   *   (import ImageTile from 'ol/source/ImageTile.js')
   * @param {object} params the algebra parameters (see tile)
   * @param {object} [options] more options of the ImageTile source (maxZoom, attributions, …)
   */
  openlayersSource(ol, params, options = {}) {
    const ImageTile = typeof ol === 'function' ? ol : ol && ol.source && ol.source.ImageTile;
    if (typeof ImageTile !== 'function') throw new TesseraError('openlayersSource: OpenLayers (ol, with ol.source.ImageTile) or its ImageTile class is needed');
    const { loader, bad } = newLoader(this, params);
    // A tile that fails (the server's or the network's error, its event sent once by the
    // loader) is a transparent tile, as a Leaflet layer's is: a rejected tile is in error, and
    // OpenLayers draws the tile of the former key in its place, the former params' pixels shown
    // as current (and the map never reported rendercomplete). Params known bad reject: the
    // source is not re-keyed for them, its tiles on screen keep their pixels (docs/clients.md).
    const failed = (e) => {
      if ((e && e.name === 'AbortError') || e === bad()) throw e;
      return tileCanvas(this, loader.params);
    };
    const source = new ImageTile({ ...options, loader: (z, x, y, opts) => loader(z, x, y, opts).catch(failed) });
    const key = source.getKey();
    let gen = 0;
    source.setParams = (q) => {
      loader.set(q);
      if (!bad()) source.setKey(`${key}:tessera:${++gen}`);
      return source;
    };
    source.setFormula = (f) => source.setParams({ formula: f });
    source.setColormap = (c) => source.setParams({ colormap: c });
    source.getParams = () => ({ ...loader.params });
    return source;
  }

  /**
   * A MapLibre GL protocol handler: maplibregl.addProtocol('tessera', t.maplibreProtocol(params))
   * with a raster source whose tiles are 'tessera://{z}/{x}/{y}'. A query on the tile URL
   * (tessera://{z}/{x}/{y}?formula=…&colormap=…&layers=…) overrides params, so a source's
   * setTiles with a new query re-renders from the cached bands. It answers PNG bytes. Each
   * query's errors are sent once; MapLibre itself fires its map's `error` for every tile that
   * fails (and logs it when the map has no listener).
   * @param {object} params the algebra parameters (see tile)
   */
  maplibreProtocol(params) {
    this.check(params);
    let last = { query: undefined, report: null };
    return async (req, abortController) => {
      const m = /^[a-z][a-z0-9+.-]*:\/\/(\d+)\/(\d+)\/(\d+)\/?(?:\?(.*))?$/i.exec(req.url);
      if (!m) throw this.fail(new TesseraError(`${req.url}: a tile URL is scheme://{z}/{x}/{y}`));
      // A query is a setting of params: its errors are sent once, until another query comes.
      if (last.query !== (m[4] || '')) last = { query: m[4] || '', report: new Report() };
      const p = { ...params };
      for (const [k, v] of new URLSearchParams(m[4] || '')) {
        if (k === 'range' || k === 'scale') p[k] = v.split(',').map(Number);
        else if (['layers', 'formula', 'colormap'].includes(k)) p[k] = v;
      }
      const c = await reportedTile(this, Number(m[1]), Number(m[2]), Number(m[3]), p, abortController && abortController.signal, last.report);
      return { data: await (await pngBlob(c)).arrayBuffer() };
    };
  }
}

/**
 * An OpenLayers loader of client's tiles for params (Tessera.openlayersLoader), and bad(): the
 * error its current params' colormap or formula gives, or null, as its last set found it (a
 * source's setParams asks it without compiling the formula a second time).
 */
function newLoader(client, params) {
  client.check(params);
  const p = { ...params };
  let report = new Report();
  const loader = (z, x, y, opts = {}) => reportedTile(client, z, x, y, p, opts.signal, report);
  loader.set = (q) => {
    client.check({ ...p, ...q });
    Object.assign(p, q);
    report = setReport(client, p);
    return loader;
  };
  loader.params = p;
  return { loader, bad: () => paramsError(client, p, report) };
}

/** A canvas's pixels as a PNG blob. */
function pngBlob(c) {
  if (c.convertToBlob) return c.convertToBlob({ type: 'image/png' });
  return new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new TesseraError('the tile could not be encoded'))), 'image/png'));
}
