// The Leaflet GridLayer of algebra canvases that the page (layer.js) and the client kit
// (kit.js) share, made from the Leaflet they are given: the page bundles its own, the kit
// takes the map builder's (it bundles none). In client mode each tile fetches the raw bands
// once (a BandSource) and renders them in the browser; a new formula or colormap re-renders
// every tile from the cached bands without a request. In server mode (the page only) it
// draws the server's PNG for the same parameters, to compare.

import { drawRender, renderOptions, tileError } from './bands.js';

const classes = new WeakMap();

/** Tells whether canvas c shows a render of the parameters v (of gen v.gen). */
const current = (c, v) => c.dataset.state === 'rendered' && c.dataset.gen === String(v.gen);

/**
 * The AlgebraGridLayer class for the Leaflet L (one class per Leaflet). Its constructor takes
 * (view, hooks, options):
 *   view() returns the current parameters {layers, formula, colormap, legendColormap, range,
 *     scale, entries, alpha, enhance, server, gen};
 *   hooks: source (a BandSource), render(bytes, formula, colormap, opts) (the core's),
 *     onError(message|null, error), onCounts(), stats {renders}, optionally knownBad() (the
 *     error every render of the current parameters would give, or null: such a tile fails
 *     with it without a request or a render), and for server mode
 *     pngURL(coords, view) and init() (fetch options).
 */
export function algebraGridLayer(L) {
  if (classes.has(L)) return classes.get(L);
  const cls = L.GridLayer.extend({
    options: { tileSize: 256, updateWhenZooming: false, keepBuffer: 1 },

    initialize(view, hooks, options) {
      L.GridLayer.prototype.initialize.call(this, options);
      this.view = view;
      this.hooks = hooks;
      this.source = hooks.source;
    },

    createTile(coords, done) {
      const c = document.createElement('canvas');
      c.width = c.height = this.getTileSize().x;
      c.className = 'tile';
      Object.assign(c.dataset, { z: coords.z, x: coords.x, y: coords.y, state: 'loading' });
      this.draw(c, coords).then(() => done(null, c), (e) => { this.failed(c, e); done(null, c); });
      return c;
    },

    /**
     * Marks canvas c as a tile whose draw failed with e, cleared (transparent) and
     * data-state="error", and reports e (onError sends an error once however many tiles fail
     * with it). A tile re-drawn on new parameters kept the pixels and the state of the former
     * ones when its fetch failed, and the map showed it as current.
     */
    failed(c, e) {
      c.getContext('2d').clearRect(0, 0, c.width, c.height);
      delete c.counts;
      delete c.dataset.empty;
      delete c.dataset.gen;
      this.refused(c, e.message, e);
    },

    /**
     * Marks canvas c data-state="error" for an error of the current parameters (a formula or
     * colormap error, known bad or the render's), its pixels kept, and reports it.
     */
    refused(c, message, e) {
      c.dataset.state = 'error';
      this.hooks.onError(message, e);
    },

    async draw(c, coords) {
      const v = this.view();
      if (v.server) {
        const res = await fetch(this.hooks.pngURL(coords, v), this.hooks.init());
        if (!res.ok) throw await tileError(res);
        const img = await createImageBitmap(await res.blob(), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
        // The canvas takes the PNG's size, as paint takes the bands' (a server cutting tiles at
        // RASTER_TILESIZE=512 answers 512-pixel PNGs; Leaflet shows the canvas at tileSize).
        if (c.width !== img.width || c.height !== img.height) { c.width = img.width; c.height = img.height; }
        const ctx = c.getContext('2d');
        ctx.clearRect(0, 0, c.width, c.height);
        ctx.drawImage(img, 0, 0);
        Object.assign(c.dataset, { state: 'rendered', mode: 'server', gen: v.gen });
        return;
      }
      const bad = this.hooks.knownBad && this.hooks.knownBad();
      if (bad) throw bad;
      const bytes = await this.source.get(v.layers, coords.z, coords.x, coords.y);
      this.paint(c, bytes, v);
    },

    /** Renders cached bytes into the canvas with the current formula and colormap. */
    paint(c, bytes, v) {
      c.dataset.mode = 'client';
      if (bytes === null) {
        drawRender(c, null);
        Object.assign(c.dataset, { state: 'rendered', empty: '1', gen: v.gen });
        return;
      }
      // Parameters known bad fail as their render would, without it (a re-render from the
      // cache comes here without draw's check).
      const bad = this.hooks.knownBad && this.hooks.knownBad();
      if (bad) {
        this.refused(c, bad.message, bad);
        return;
      }
      const out = this.hooks.render(bytes, v.formula, v.legendColormap || v.colormap, renderOptions(v));
      if (this.hooks.stats) this.hooks.stats.renders++;
      if (out.error) {
        this.refused(c, out.error, out);
        return;
      }
      drawRender(c, out);
      c.counts = out.counts;
      Object.assign(c.dataset, { state: 'rendered', empty: '', gen: v.gen });
    },

    /**
     * Applies new parameters: the same bands re-render from the cache (no request); a new
     * binding or a switch between client and server mode reloads the tiles. A tile whose bands
     * are not cached (dropped from the cache, or still loading) is drawn again: "loading" until
     * then, as a new tile is, and cleared with data-state="error" when that fails. Parameters
     * known bad fail every tile as paint does, its pixels kept, without a request.
     */
    refresh(reload) {
      this.hooks.onError(null);
      if (reload || this.view().server) { this.redraw(); return; }
      const v = this.view();
      const bad = this.hooks.knownBad && this.hooks.knownBad();
      for (const t of Object.values(this._tiles)) {
        const { z, x, y } = t.coords;
        if (this.source.has(v.layers, z, x, y)) this.paint(t.el, this.source.cached(v.layers, z, x, y), v);
        else if (bad) this.refused(t.el, bad.message, bad);
        else {
          t.el.dataset.state = 'loading';
          // Leaflet's load event is not fired for this draw: the counts follow its end here.
          this.draw(t.el, t.coords).catch((e) => this.failed(t.el, e)).finally(() => this.hooks.onCounts());
        }
      }
      this.hooks.onCounts();
    },

    /**
     * The pixel count per colormap key over the tiles on screen (discrete colormaps), at the map's
     * zoom only: the former zoom's tiles, kept until Leaflet prunes them after the new ones load,
     * were counted too (a zoom in showed 1,015,235 pixels for 812,188), and stayed so. Only tiles
     * rendered for the current parameters count: a tile fetched again ("loading", showing the
     * former parameters' pixels until it is re-rendered) or in error counts none, as uncounted()
     * says; its former counts were added to the new ones, and stayed after its re-render.
     */
    counts() {
      const sum = {}, v = this.view();
      for (const el of this.atZoom()) {
        if (!current(el, v)) continue;
        for (const [k, n] of Object.entries(el.counts || {})) sum[k] = (sum[k] || 0) + n;
      }
      return sum;
    },

    /** The tiles on screen at the map's zoom that counts() leaves out: {loading, error}. */
    uncounted() {
      const n = { loading: 0, error: 0 }, v = this.view();
      for (const el of this.atZoom()) {
        if (current(el, v)) continue;
        if (el.dataset.state === 'error') n.error++;
        else n.loading++;
      }
      return n;
    },

    /** The canvases of the tiles at the map's zoom. */
    atZoom() {
      return Object.values(this._tiles).filter((t) => t.coords.z === this._tileZoom).map((t) => t.el);
    },
  });
  classes.set(L, cls);
  return cls;
}
