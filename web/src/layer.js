// AlgebraLayer: the page's Leaflet GridLayer of algebra canvases (gridlayer.js, shared with
// the client kit), its bands fetched from the page's server with the page's token. In client
// mode each tile fetches the raw bands (.msgpack) once and renders them in the browser with
// tessera.render; a new formula or colormap re-renders every tile from the cached bands
// without a request. In server mode it draws the server's PNG for the same parameters.

import L from 'leaflet';
import { algebraURL, withAuth } from './api.js';
import { BandSource } from './bands.js';
import { algebraGridLayer } from './gridlayer.js';

/**
 * The algebra query of the server's PNGs for the parameters v of the AlgebraLayer's view (its
 * legend when one is chosen, else its colormap): the page's "Use this map" URLs (TileJSON,
 * WMTS, export) take the same, so they show what server mode shows.
 */
export function pngQuery(v) {
  return { layers: v.layers, formula: v.formula, legend: v.legend, colormap: v.colormap };
}

/** The server's PNG of a tile for the parameters v of the AlgebraLayer's view. */
export function pngURL(coords, v) {
  return algebraURL(coords.z, coords.x, coords.y, 'png', pngQuery(v));
}

const Grid = algebraGridLayer(L);

export const AlgebraLayer = Grid.extend({
  /**
   * @param {() => object} view returns {layers, formula, colormap, legend, legendColormap,
   *   server, gen}: the current parameters (see main.js)
   * @param {object} hooks onError(msg|null), onCounts(), stats {bandFetches, renders}
   */
  initialize(view, hooks, options) {
    const source = new BandSource({
      url: (z, x, y, layers) => algebraURL(z, x, y, 'msgpack', { layers }),
      init: () => withAuth(),
      onFetch: () => { hooks.stats.bandFetches++; },
    });
    Grid.prototype.initialize.call(this, view, {
      ...hooks, source, pngURL, init: () => withAuth(),
      render: (...a) => globalThis.tessera.render(...a),
    }, options);
  },
});
