// AlgebraLayer: a Leaflet GridLayer of canvases. In client mode each tile fetches the raw
// bands (.msgpack) once and renders them in the browser with tessera.render; a new formula
// or colormap re-renders every tile from the cached bands without a request. In server
// mode it draws the server's PNG for the same parameters, to compare.

import L from 'leaflet';
import { algebraURL, withAuth } from './api.js';

/** Raw tiles kept for re-rendering, least recently used dropped first. */
export class BandCache {
  constructor(max = 256) { this.max = max; this.m = new Map(); }
  get(k) { const v = this.m.get(k); if (v !== undefined) { this.m.delete(k); this.m.set(k, v); } return v; }
  has(k) { return this.m.has(k); }
  set(k, v) {
    this.m.set(k, v);
    while (this.m.size > this.max) this.m.delete(this.m.keys().next().value);
  }
}

/**
 * The server's PNG of a tile for the parameters v of the AlgebraLayer's view (its legend when
 * one is chosen, else its colormap).
 */
export function pngURL(coords, v) {
  return algebraURL(coords.z, coords.x, coords.y, 'png', { layers: v.layers, formula: v.formula, legend: v.legend, colormap: v.colormap });
}

/** The error of a failed tile response: the server's JSON error text, else the status. */
async function tileError(res) {
  return new Error((await res.json().catch(() => ({}))).error || `tile: ${res.status}`);
}

export const AlgebraLayer = L.GridLayer.extend({
  options: { tileSize: 256, updateWhenZooming: false, keepBuffer: 1 },

  /**
   * @param {() => object} view returns {layers, formula, colormap, legend, legendColormap,
   *   range, server, gen}: the current parameters (see main.js)
   * @param {object} hooks onError(msg|null), onCounts(), stats {bandFetches, renders}
   */
  initialize(view, hooks, options) {
    L.GridLayer.prototype.initialize.call(this, options);
    this.view = view;
    this.hooks = hooks;
    this.cache = new BandCache();
    this.inflight = new Map();
  },

  createTile(coords, done) {
    const c = document.createElement('canvas');
    c.width = c.height = 256;
    c.className = 'tile';
    Object.assign(c.dataset, { z: coords.z, x: coords.x, y: coords.y, state: 'loading' });
    this.draw(c, coords).then(() => done(null, c), (e) => { c.dataset.state = 'error'; this.hooks.onError(e.message); done(null, c); });
    return c;
  },

  /** The cache key of a tile's bands: the binding and the address. */
  key(coords) { return `${this.view().layers}|${coords.z}/${coords.x}/${coords.y}`; },

  /** Fetches a tile's raw bands once (null where the server has none: 204). */
  async bands(coords) {
    const k = this.key(coords);
    if (this.cache.has(k)) return this.cache.get(k);
    if (!this.inflight.has(k)) {
      const v = this.view();
      this.hooks.stats.bandFetches++;
      const p = fetch(algebraURL(coords.z, coords.x, coords.y, 'msgpack', { layers: v.layers }), withAuth()).then(async (res) => {
        if (res.status === 204) return null;
        if (!res.ok) throw await tileError(res);
        return new Uint8Array(await res.arrayBuffer());
      }).then((b) => { this.cache.set(k, b); return b; }).finally(() => this.inflight.delete(k));
      this.inflight.set(k, p);
    }
    return this.inflight.get(k);
  },

  async draw(c, coords) {
    const v = this.view();
    const ctx = c.getContext('2d');
    if (v.server) {
      const res = await fetch(pngURL(coords, v), withAuth());
      if (!res.ok) throw await tileError(res);
      const img = await createImageBitmap(await res.blob(), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
      // The canvas takes the PNG's size, as paint takes the bands' (a server cutting tiles at
      // RASTER_TILESIZE=512 answers 512-pixel PNGs; Leaflet shows the canvas at tileSize).
      if (c.width !== img.width || c.height !== img.height) { c.width = img.width; c.height = img.height; }
      ctx.clearRect(0, 0, c.width, c.height);
      ctx.drawImage(img, 0, 0);
      Object.assign(c.dataset, { state: 'rendered', mode: 'server', gen: v.gen });
      return;
    }
    const bytes = await this.bands(coords);
    this.paint(c, bytes, v);
  },

  /** Renders cached bytes into the canvas with the current formula and colormap. */
  paint(c, bytes, v) {
    const ctx = c.getContext('2d');
    c.dataset.mode = 'client';
    if (bytes === null) {
      ctx.clearRect(0, 0, c.width, c.height);
      Object.assign(c.dataset, { state: 'rendered', empty: '1', gen: v.gen });
      return;
    }
    const opts = v.range ? { range: v.range } : {};
    const out = globalThis.tessera.render(bytes, v.formula, v.legendColormap || v.colormap, opts);
    this.hooks.stats.renders++;
    if (out.error) {
      Object.assign(c.dataset, { state: 'error' });
      this.hooks.onError(out.error);
      return;
    }
    if (c.width !== out.width) { c.width = out.width; c.height = out.height; }
    ctx.putImageData(new ImageData(out.rgba, out.width, out.height), 0, 0);
    c.counts = out.counts;
    Object.assign(c.dataset, { state: 'rendered', empty: '', gen: v.gen });
  },

  /**
   * Applies new parameters: the same bands re-render from the cache (no request); a new
   * binding or a switch between client and server mode reloads the tiles.
   */
  refresh(reload) {
    this.hooks.onError(null);
    if (reload || this.view().server) { this.redraw(); return; }
    const v = this.view();
    for (const t of Object.values(this._tiles)) {
      const k = this.key(t.coords);
      if (this.cache.has(k)) this.paint(t.el, this.cache.get(k), v);
      else this.draw(t.el, t.coords).catch((e) => this.hooks.onError(e.message));
    }
    this.hooks.onCounts();
  },

  /**
   * The pixel count per colormap key over the tiles on screen (discrete colormaps), at the map's
   * zoom only: the former zoom's tiles, kept until Leaflet prunes them after the new ones load,
   * were counted too (a zoom in showed 1,015,235 pixels for 812,188), and stayed so.
   */
  counts() {
    const sum = {};
    for (const t of Object.values(this._tiles)) {
      if (t.coords.z !== this._tileZoom) continue;
      for (const [k, n] of Object.entries(t.el.counts || {})) sum[k] = (sum[k] || 0) + n;
    }
    return sum;
  },
});
