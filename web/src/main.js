// The Tessera map: a layer list, a formula over variable→layer:band bindings, a colormap,
// and an AlgebraLayer that renders the formula in the browser from raw band tiles (or shows
// the server's PNG tiles to compare), plus pixel values on click and an upload form whose
// parse is followed live over Server-Sent Events.

import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import '../style.css';
import { prefix, getJSON, setToken, hasToken, streamURL, withAuth, algebraQuery, algebraRouteURL, responseError } from './api.js';
import { loadTessera } from './wasm.js';
import { AlgebraLayer, pngURL, pngQuery } from './layer.js';
import { float64Tile } from './rawtile.js';

const $ = (s) => document.querySelector(s);
const el = (tag, props = {}, ...kids) => {
  const { dataset, ...rest } = props;
  const e = Object.assign(document.createElement(tag), rest);
  Object.assign(e.dataset, dataset || {});
  e.append(...kids);
  return e;
};

// config is the server's GET config (loadConfig), null until it has come.
const state = { layers: [], legends: [], gen: 0, formulaOK: true, selected: null, config: null };
const stats = { bandFetches: 0, renders: 0 };

// --- parameters ---------------------------------------------------------------------------

function bindings() {
  return [...document.querySelectorAll('#bindings tbody tr')].map((tr) => ({
    name: tr.querySelector('[name=var]').value.trim(),
    layer: tr.querySelector('[name=layer]').value,
    band: Number(tr.querySelector('[name=band]').value) || 0,
  })).filter((b) => b.name && b.layer);
}

/** The algebra `layers` parameter: var=id or var:band=id. */
function layersParam() {
  return bindings().map((b) => (b.band ? `${b.name}:${b.band}=${b.layer}` : `${b.name}=${b.layer}`)).join(',');
}

function rangeValue() {
  const lo = $('#range-min').value, hi = $('#range-max').value;
  return lo !== '' && hi !== '' ? [Number(lo), Number(hi)] : null;
}

/**
 * Says so when the range has one end only: it is then no range (each tile's own minimum and
 * maximum), and a lone end was dropped without a word, the bar's "tile min … tile max" the only
 * hint.
 */
function checkRange() {
  const lo = $('#range-min').value, hi = $('#range-max').value, p = $('#range-error');
  const half = (lo === '') !== (hi === '');
  p.hidden = !half;
  p.textContent = half ? `range: give the ${lo === '' ? 'minimum' : 'maximum'} too, or neither for each tile's own minimum and maximum` : '';
  for (const [box, v] of [[$('#range-min'), lo], [$('#range-max'), hi]]) box.classList.toggle('bad', half && v === '');
}

/** The colormap as the server's `colormap=` takes it ("" is grayscale over the tile's range). */
function colormapValue() {
  const kind = $('#cmap-kind').value, range = rangeValue();
  const withRange = (o) => JSON.stringify(range ? { ...o, range } : o);
  switch (kind) {
    case 'named': return range ? withRange({ continuous: true, name: $('#cmap-name').value }) : $('#cmap-name').value;
    case 'continuous': return withRange({ continuous: true, from: $('#cmap-from').value, to: $('#cmap-to').value });
    case 'gray': return range ? withRange({ continuous: true, from: '#000000', to: '#ffffff' }) : '';
    default: return '';
  }
}

function selectedLegend() {
  return $('#cmap-kind').value === 'legend' ? state.legends.find((l) => String(l.id) === $('#cmap-legend').value) : undefined;
}

/** A legend's discrete colormap {expression: color}, in the legend's order, as the server builds it. */
function legendColormap(lg) {
  const m = {};
  for (const e of lg.entries) m[e.expression] = e.color;
  return JSON.stringify(m);
}

/** The current rendering parameters, read by the AlgebraLayer for every tile. */
function view() {
  const lg = selectedLegend();
  return {
    layers: layersParam(), formula: $('#formula').value, colormap: colormapValue(),
    legend: lg ? lg.id : undefined, legendColormap: lg ? legendColormap(lg) : undefined,
    server: $('#server-tiles').checked, gen: state.gen,
  };
}

/** The server PNG URL of a tile with the current parameters (the test compares with it). */
function serverTileURL(z, x, y) {
  return pngURL({ z, x, y }, view());
}

// --- formula ------------------------------------------------------------------------------

/** The string index in s of UTF-8 byte offset b (the compiler's spans are byte offsets). */
function byteIndex(s, b) {
  const enc = new TextEncoder();
  let bytes = 0, i = 0;
  for (const ch of s) {
    if (bytes >= b) break;
    bytes += enc.encode(ch).length;
    i += ch.length;
  }
  return i;
}

/**
 * Checks the formula with the WebAssembly compiler; shows the error under the box, its span
 * marked in the snippet. It never touches the box itself beyond its class: moving the
 * selection to the span (as it did) made the caret jump while the user typed, and the next
 * key overwrote the span.
 */
function checkFormula() {
  const names = bindings().map((b) => b.name);
  const f = $('#formula').value;
  const r = globalThis.tessera.compile(f, names);
  const box = $('#formula-error');
  if (r.error) {
    box.hidden = false;
    box.querySelector('.msg').textContent = r.error;
    box.dataset.start = r.pos ? r.pos[0] : '';
    box.dataset.end = r.pos ? r.pos[1] : '';
    const pre = box.querySelector('.snippet');
    const snippet = r.snippet || '';
    const nl = snippet.indexOf('\n');
    if (r.pos && nl >= 0) {
      // The snippet's first line is the formula's line holding the span: mark the span in it.
      const a = byteIndex(f, r.pos[0]), b = byteIndex(f, r.pos[1]);
      const ls = f.lastIndexOf('\n', a - 1) + 1, line = snippet.slice(0, nl);
      const ma = Math.min(a - ls, line.length), mb = Math.min(Math.max(b - ls, ma), line.length);
      const mark = el('mark', { textContent: line.slice(ma, mb) });
      pre.replaceChildren(line.slice(0, ma), mark, line.slice(mb) + snippet.slice(nl));
      // A snippet wider than the panel scrolls sideways: the span is brought into its view.
      pre.scrollLeft = Math.max(0, mark.offsetLeft + mark.offsetWidth / 2 - pre.clientWidth / 2);
    } else {
      pre.textContent = snippet;
    }
    $('#formula').classList.add('bad');
    return false;
  }
  box.hidden = true;
  $('#formula').classList.remove('bad');
  return true;
}

// --- legend and colour bar -----------------------------------------------------------------

function drawColorbar() {
  const bar = $('#colorbar'), canvas = bar.querySelector('canvas'), sw = bar.querySelector('.swatches');
  const lg = selectedLegend();
  sw.replaceChildren();
  canvas.hidden = !!lg;
  bar.querySelector('.labels').hidden = !!lg;
  if (lg) {
    const counts = layer ? layer.counts() : {};
    for (const e of lg.entries) {
      const n = counts[e.expression];
      sw.append(el('li', {}, el('i', { style: `background:${e.color}` }), `${e.name} (${e.expression})`,
        n !== undefined ? el('span', { className: 'muted' }, ` ${n.toLocaleString()} px`) : ''));
    }
    // The counts are those of the tiles rendered for the current parameters: the bar says which
    // are left out (a tile fetched again counts once rendered, when the bar is drawn again).
    const left = layer ? layer.uncounted() : { loading: 0, error: 0 };
    const tiles = (n) => `${n} tile${n === 1 ? '' : 's'}`;
    const out = [left.loading ? `${tiles(left.loading)} loading` : '', left.error ? `${tiles(left.error)} in error` : ''].filter(Boolean);
    if (out.length) sw.append(el('li', { className: 'muted uncounted' }, `not counted: ${out.join(', ')}`));
    return;
  }
  const range = rangeValue();
  const lo = range ? range[0] : 0, hi = range ? range[1] : 1;
  const vals = Float64Array.from({ length: 256 }, (_, i) => lo + ((hi - lo) * i) / 255);
  const out = globalThis.tessera.render(float64Tile(vals, 256, 1), 'x', colormapValue());
  if (!out.error) canvas.getContext('2d').putImageData(new ImageData(out.rgba, 256, 1), 0, 0);
  // Six significant digits: a Float32 band's minimum, bound as the range of an upload, read
  // 338.8999938964844 under the bar (the range boxes keep the exact value the tiles use).
  const label = (v) => String(Number(v.toPrecision(6)));
  bar.querySelector('.lo').textContent = range ? label(lo) : 'tile min';
  bar.querySelector('.hi').textContent = range ? label(hi) : 'tile max';
}

// --- map ----------------------------------------------------------------------------------

const map = L.map('map', { zoomControl: true, attributionControl: false, minZoom: 0, maxZoom: 22 }).setView([0, 0], 2);
const outlines = L.layerGroup().addTo(map);
let layer;

function showTileError(msg) {
  const p = $('#tile-error');
  p.hidden = !msg;
  p.textContent = msg || '';
}

/** Applies a parameter change: reload when the bands change, else re-render from the cache. */
function apply(reload) {
  state.formulaOK = checkFormula();
  checkRange();
  drawColorbar();
  updateUse();
  refreshPixel();
  if (!state.formulaOK && !view().server) return;
  state.gen++;
  layer.refresh(reload);
}

// --- layers -------------------------------------------------------------------------------

function fmt(v) { return v === undefined || v === null ? '–' : Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v * 100) / 100) : v.toPrecision(4); }

/** django-raster's datatype codes, as the catalog answers them. */
const DATATYPES = { co: 'continuous', ca: 'categorical', ma: 'mask', ro: 'rank-ordered' };

/**
 * What the list says of a layer without bands: why its parse failed (the last line of its parse
 * log, the failure, which says what to do), else that it has no bands yet. A failed layer said "no bands
 * yet" as if its parse were still to come, and the reason showed only to the page that
 * followed the upload.
 */
function parseNote(l) {
  const log = (l.parse && l.parse.log) || [];
  if (l.parse && l.parse.status === 'FAILED') {
    const why = log.length ? log[log.length - 1].replace(/^\[[^\]]*\]\s*/, '') : 'no log';
    return el('div', { className: 'meta failed' }, why); // the badge says FAILED
  }
  return el('div', { className: 'meta' }, 'no bands yet');
}

/**
 * The selected layer's show button, when its parse finished: binds it in the formula and moves
 * the map to its extent, as a finished upload is shown. Binding a layer by its select left the
 * map where it was, most often away from the layer: a blank map, its outline out of sight.
 */
function showButton(l) {
  if (l.parse.status !== 'FINISHED' || !l.bands.length) return '';
  return el('button', { type: 'button', className: 'show', textContent: 'show', title: `show ${l.name}: bind it in the formula, move the map to it`,
    onclick: (ev) => { ev.stopPropagation(); showLayer(l.id).catch((err) => showTileError(`${l.name}: ${err.message}`)); } });
}

/** The selected layer's delete button (deletes need a token: the page shows it only with one). */
function deleteButton(l) {
  return el('button', { type: 'button', className: 'delete', textContent: 'delete', title: `delete layer ${l.name}`,
    onclick: (ev) => { ev.stopPropagation(); deleteLayer(l); } });
}

/**
 * Lists the layers. A layer's name is a button, so the list is reached and used from the
 * keyboard too (Tab, then Enter or Space; an item was only clickable with a mouse, so without
 * one no layer could be selected, nor deleted); a click anywhere on the item selects it as well.
 */
function renderLayerList() {
  const ul = $('#layers');
  const focused = document.activeElement && document.activeElement.closest('#layers li[data-id] button.pick');
  const focusID = focused ? focused.closest('li').dataset.id : null;
  ul.replaceChildren();
  outlines.clearLayers();
  if (!state.layers.some((l) => l.id === state.selected)) state.selected = null;
  for (const l of state.layers) {
    const bands = l.bands.map((b) => `b${b.index} ${b.type} ${fmt(b.min)}…${fmt(b.max)} μ ${fmt(b.mean)}`).join('; ');
    const selected = l.id === state.selected;
    const pick = el('button', { type: 'button', className: 'pick', title: selected ? `unselect ${l.name}` : `select ${l.name}` }, el('b', {}, l.name));
    pick.setAttribute('aria-pressed', String(selected));
    ul.append(el('li', { className: selected ? 'selected' : '', dataset: { id: l.id },
      onclick: () => { state.selected = selected ? null : l.id; renderLayerList(); } },
      pick, ' ', el('span', { className: 'muted' }, `#${l.id} ${DATATYPES[l.datatype] || l.datatype}`), ' ',
      el('span', { className: `badge ${l.parse.status}` }, l.parse.status),
      selected ? el('span', { className: 'actions' }, showButton(l), hasToken() ? deleteButton(l) : '') : '',
      bands ? el('div', { className: 'meta' }, bands) : parseNote(l)));
    if (l.bounds) {
      const [w, s, e, n] = l.bounds;
      outlines.addLayer(L.rectangle([[s, w], [n, e]], { color: '#445', weight: 1, fill: false, dashArray: '4 3', interactive: false }));
    }
  }
  // The list is made anew: the focus stays on the layer that had it (Enter, then Enter again).
  if (focusID !== null) {
    const again = ul.querySelector(`li[data-id="${focusID}"] button.pick`);
    if (again) again.focus();
  }
  for (const sel of document.querySelectorAll('#bindings select[name=layer]')) fillLayerSelect(sel, sel.value);
}

/**
 * Adds or removes the selected layer's delete button as the page has a token or not, in place.
 * The token field's change event runs on the mousedown of the click that leaves the field:
 * making the list anew there (as it did) replaced the item under the pointer, and a click in
 * the list right after typing a token was lost.
 */
function updateDeleteButton() {
  const li = document.querySelector('#layers li.selected');
  const l = li && state.layers.find((x) => String(x.id) === li.dataset.id);
  if (!l) return;
  const btn = li.querySelector('button.delete');
  if (hasToken() && !btn) li.querySelector('.actions').append(deleteButton(l));
  else if (!hasToken() && btn) btn.remove();
}

/** Hides the refusal shown under the layer list. */
function hideLayerError() {
  const box = $('#layer-error');
  box.hidden = true;
  box.textContent = '';
}

/**
 * Deletes a layer (DELETE layers/{id}) after the user confirms with its name, then lists the
 * layers again; bindings to it are dropped (the first formula is bound again when none is
 * left, over the first layer as at the start). A refusal shows the server's error under the
 * list until the delete control is opened again (an earlier refusal stayed on screen through
 * a cancelled or a successful retry's confirmation).
 */
async function deleteLayer(l) {
  const box = $('#layer-error');
  hideLayerError();
  if (!window.confirm(`Delete the layer "${l.name}" (#${l.id}) with its tiles? This cannot be undone.`)) return;
  try {
    await getJSON(`layers/${l.id}`, { method: 'DELETE' });
    box.hidden = true;
  } catch (err) {
    box.textContent = `delete ${l.name}: ${err.message}`;
    box.hidden = false;
    return;
  }
  state.selected = null;
  const stale = [...document.querySelectorAll('#bindings tbody tr')].filter((tr) => tr.querySelector('[name=layer]').value === String(l.id));
  const at = state.layers.findIndex((x) => x.id === l.id);
  await loadLayers();
  // The focus was on the delete button, gone with the list made anew (it fell to the page's
  // body, so the keyboard started over from the top): it goes to the layer now at its place.
  const picks = document.querySelectorAll('#layers button.pick');
  if (picks.length && (!document.activeElement || document.activeElement === document.body)) picks[Math.min(Math.max(at, 0), picks.length - 1)].focus();
  if (stale.length) {
    for (const tr of stale) tr.remove();
    if (!document.querySelector('#bindings tbody tr')) {
      const done = state.layers.filter((x) => x.parse.status === 'FINISHED' && x.bands.length);
      const first = done.find((x) => x.bands.length >= 4) || done[0];
      if (first) bindLayer(first);
    }
    apply(true);
  }
}

/**
 * Fills a binding's layer select; a layer whose parse has not finished says its status ("notes
 * (FAILED)"): bound, it gives an empty map, which said nothing of why.
 */
function fillLayerSelect(sel, value) {
  const label = (l) => (l.parse.status === 'FINISHED' ? l.name : `${l.name} (${l.parse.status})`);
  sel.replaceChildren(...state.layers.map((l) => el('option', { value: String(l.id), textContent: label(l) })));
  if (value) sel.value = value;
}

/**
 * Names a binding row's controls after its variable ("layer of n", "band of n", "remove n"),
 * for screen readers and voice control: they had no name but their value (and the remove
 * button was "×"), the table's headings naming no control.
 */
function nameBinding(tr) {
  const v = tr.querySelector('[name=var]').value.trim();
  const of = v ? ` of ${v}` : ' of this variable';
  tr.querySelector('[name=var]').setAttribute('aria-label', 'variable name');
  tr.querySelector('[name=layer]').setAttribute('aria-label', `layer${of}`);
  tr.querySelector('[name=band]').setAttribute('aria-label', `band${of}`);
  tr.querySelector('button').setAttribute('aria-label', v ? `remove ${v}` : 'remove this variable');
}

function addBinding(name = '', layerID = '', band = 0) {
  const sel = el('select', { name: 'layer' });
  fillLayerSelect(sel, String(layerID));
  const tr = el('tr', {},
    el('td', {}, el('input', { name: 'var', value: name, size: 3 })),
    el('td', {}, sel),
    el('td', {}, el('input', { name: 'band', type: 'number', min: 0, value: band })),
    el('td', {}, el('button', { type: 'button', textContent: '×', title: 'remove', onclick: () => { tr.remove(); apply(true); } })));
  tr.addEventListener('change', () => apply(true));
  tr.querySelector('[name=var]').addEventListener('input', () => nameBinding(tr));
  nameBinding(tr);
  $('#bindings tbody').append(tr);
}

async function loadLayers() {
  state.layers = await getJSON('layers');
  renderLayerList();
  if (window.tesseraApp.ready) $('#app-status').textContent = `${state.layers.length} layers; rendering in the browser`;
}

/**
 * Fills the named-colormap select from the server's registry (GET colormaps), each name also
 * reversed with _r, choosing rdylgn. When the list cannot be fetched the select stays empty
 * and the error shows under it.
 */
async function loadColormaps() {
  const sel = $('#cmap-name'), box = $('#cmap-error');
  try {
    const { colormaps } = await getJSON('colormaps');
    sel.replaceChildren(...colormaps.flatMap((n) => [el('option', { value: n, textContent: n }), el('option', { value: `${n}_r`, textContent: `${n}_r` })]));
    if (colormaps.includes('rdylgn')) sel.value = 'rdylgn';
    box.hidden = true;
  } catch (err) {
    sel.replaceChildren();
    box.textContent = `colormap names: ${err.message}`;
    box.hidden = false;
  }
}

async function loadLegends() {
  state.legends = await getJSON('legends').catch(() => []);
  const sel = $('#cmap-legend');
  sel.replaceChildren(...state.legends.map((l) => el('option', { value: String(l.id), textContent: l.title })));
}

/** Binds a sensible first formula: NDVI on a layer with four bands, else x on the first layer. */
function defaultBindings() {
  const four = state.layers.find((l) => l.bands.length >= 4 && l.parse.status === 'FINISHED');
  const first = four || state.layers.find((l) => l.parse.status === 'FINISHED') || state.layers[0];
  if (first) bindLayer(first);
  return first;
}

/** Shows the colormap controls of the chosen kind only. */
function showKind() {
  const k = $('#cmap-kind').value;
  for (const x of document.querySelectorAll('[data-for]')) x.hidden = !x.dataset.for.split(' ').includes(k);
}

/** Moves the map to a layer's extent (bounds: west, south, east, north in degrees). */
function fitLayer(l) {
  if (!l.bounds) return;
  const [w, s, e, n] = l.bounds;
  map.fitBounds([[s, w], [n, e]]);
}

/**
 * Shows a layer whose parse finished (an upload or a URL registration): binds it in the
 * formula's layers — NDVI over bands 2 and 3 when it has four bands, else x over band 0 with
 * its range — with its legend when it has one, and moves the map to its extent. (Once the
 * parse ended the page only listed the new layer: the map kept showing the old formula
 * elsewhere.)
 */
async function showLayer(id) {
  const l = await getJSON(`layers/${id}`);
  if (l.parse.status !== 'FINISHED' || !l.bands.length || !layer) return;
  bindLayer(l);
  if (l.legend && state.legends.some((lg) => lg.id === l.legend)) {
    $('#cmap-kind').value = 'legend';
    $('#cmap-legend').value = String(l.legend);
  } else if ($('#cmap-kind').value === 'legend') {
    $('#cmap-kind').value = 'named';
  }
  showKind();
  fitLayer(l);
  apply(true);
}

/**
 * Replaces the bindings with one layer's: NDVI over bands 2 and 3 when it has four bands,
 * else x over band 0 with the band's range (the page's first formula, an upload's, and the
 * one bound again after a delete).
 */
function bindLayer(l) {
  $('#bindings tbody').replaceChildren();
  if (l.bands.length >= 4) {
    addBinding('r', l.id, 2);
    addBinding('n', l.id, 3);
    $('#formula').value = '(n-r)/(n+r)';
    $('#range-min').value = '-1';
    $('#range-max').value = '1';
  } else {
    addBinding('x', l.id, 0);
    $('#formula').value = 'x';
    const b = l.bands[0] || {}; // a layer still parsing has no bands yet
    $('#range-min').value = b.min ?? '';
    $('#range-max').value = b.max ?? '';
  }
}

// --- pixel --------------------------------------------------------------------------------

let pixelSeq = 0;

// The point whose value the section shows, and the layers and formula it was asked for.
let shownPixel = null;
const pixelPrompt = document.querySelector('#pixel').textContent;

/**
 * " (Cropland)": the name of the selected legend's entry for value v when the entry's
 * expression is that number (a class of a categorical layer), else "". The value alone (3)
 * left the user to look the class up in the legend.
 */
function legendName(v) {
  const lg = selectedLegend();
  if (v === null || !lg) return '';
  const e = lg.entries.find((e) => e.expression.trim() !== '' && Number(e.expression) === v);
  return e && e.name ? ` (${e.name})` : '';
}

/**
 * Shows the formula's value at a point of the map (pixel/{x}/{y} in EPSG:3857 metres). Only the
 * latest point's answer is shown: an earlier, slower answer arriving last replaced the latest
 * point's value with the one of the point clicked before.
 */
async function showPixel(latlng) {
  const p = L.CRS.EPSG3857.project(latlng), seq = ++pixelSeq;
  shownPixel = { latlng, layers: layersParam(), formula: $('#formula').value };
  const q = new URLSearchParams({ layers: shownPixel.layers, formula: shownPixel.formula });
  const out = $('#pixel');
  out.textContent = '…';
  for (const k of ['value', 'x', 'y']) delete out.dataset[k];
  try {
    const r = await getJSON(`pixel/${p.x}/${p.y}?${q}`);
    if (seq !== pixelSeq) return;
    out.textContent = `${r.value === null ? 'no data' : r.value}${legendName(r.value)} at ${latlng.lat.toFixed(5)}, ${latlng.lng.toFixed(5)}`;
    out.dataset.value = r.value === null ? '' : String(r.value);
    out.dataset.x = String(p.x); out.dataset.y = String(p.y);
  } catch (err) {
    if (seq === pixelSeq) out.textContent = err.message;
  }
}

/**
 * Asks the shown point's value again when the formula or its bindings changed (apply): the
 * section kept the former formula's value under the new map (a land cover class under the
 * NDVI). With a formula in error, or nothing bound, it says what to do again.
 */
function refreshPixel() {
  if (!shownPixel || (shownPixel.layers === layersParam() && shownPixel.formula === $('#formula').value)) return;
  if (state.formulaOK && bindings().length) {
    showPixel(shownPixel.latlng);
    return;
  }
  pixelSeq++;
  shownPixel = null;
  const out = $('#pixel');
  out.textContent = pixelPrompt;
  for (const k of ['value', 'x', 'y']) delete out.dataset[k];
}

map.on('click', (e) => showPixel(e.latlng));
// From the keyboard (the arrow keys move the focused map, + and - zoom it), Enter gives the
// value at the map's centre: the value under a click was for the mouse only.
map.getContainer().addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && ev.target === map.getContainer()) showPixel(map.getCenter());
});

// --- use this map -------------------------------------------------------------------------

/** The EPSG:3857 world's northern and southern edge (its tiles end there). */
const MAX_LAT = 85.0511287798066;

/**
 * The map's view in lon/lat (west, south, east, north), taken into the world copy of its
 * centre and clamped to the EPSG:3857 world, to six decimals rounded outwards; null when
 * nothing of the world is in view.
 */
function viewBBox() {
  const b = map.getBounds(), shift = Math.round(map.getCenter().lng / 360) * 360;
  const down = (v) => Math.floor(v * 1e6) / 1e6, up = (v) => Math.ceil(v * 1e6) / 1e6;
  const w = Math.max(-180, down(b.getWest() - shift)), e = Math.min(180, up(b.getEast() - shift));
  const s = Math.max(-MAX_LAT, down(b.getSouth())), n = Math.min(MAX_LAT, up(b.getNorth()));
  return e > w && n > s ? [w, s, e, n] : null;
}

/**
 * The export's zoom for a view: the bound layers' deepest max zoom (the server's default, all
 * their detail) when the view's tiles there stay under the server's pixel limit (its config's
 * export_max_pixels, counted at its tile_size, as its export checks), else the map's zoom (no
 * deeper than the layers'), whose view is about the window's size. A refusal all the same (a
 * server restarted with a lower limit since the page loaded) is the server's 400, whose message
 * the section shows.
 */
function exportZoom(bbox) {
  const ids = new Set(bindings().map((b) => b.layer));
  const zooms = state.layers.filter((l) => ids.has(String(l.id))).map((l) => l.max_zoom);
  const mapZoom = Math.floor(map.getZoom());
  const c = state.config;
  if (!zooms.length || !globalThis.tessera || !c) return mapZoom; // the core counts tiles as the server does
  const deepest = Math.max(...zooms);
  if (globalThis.tessera.coveringCount(...bbox, deepest) * c.tile_size * c.tile_size <= c.export_max_pixels) return deepest;
  return Math.min(mapZoom, deepest);
}

/** "tessera-n-r-n-r" for (n-r)/(n+r): the export's file name, as the server takes one. */
function exportName(formula) {
  const slug = formula.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+/, '').slice(0, 60).replace(/-+$/, '');
  return `tessera-${slug || 'export'}`;
}

/**
 * The current view's URLs for other tools: the XYZ PNG template, TileJSON and WMTS
 * capabilities (the server-PNG mode's query, pngQuery), the @2x template and the TileJSON of
 * its tiles (tile_scale=2: the same area in twice the pixels a side, for MapLibre's 512-pixel
 * sources and high-density screens), and the export of the map's view; or {off} saying why
 * there are none.
 */
function useURLs() {
  if (!bindings().length) return { off: 'Bind a layer to a variable for these URLs.' };
  if (!state.formulaOK) return { off: 'The formula has an error: fix it for these URLs.' };
  const v = view(), q = pngQuery(v), origin = window.location.origin;
  const out = {
    xyz: origin + pngURL({ z: '{z}', x: '{x}', y: '{y}' }, v),
    xyz2x: origin + pngURL({ z: '{z}', x: '{x}', y: '{y}@2x' }, v),
    tilejson: origin + algebraRouteURL('algebra.json', q),
    // tile_scale first, in sight in the section's box (at the end it was past the box's two lines).
    tilejson2x: `${origin}${prefix}algebra.json?tile_scale=2&${algebraQuery(q)}`,
    wmts: origin + algebraRouteURL('algebra/WMTSCapabilities.xml', q),
  };
  const bbox = viewBBox();
  if (bbox) {
    const zoom = exportZoom(bbox), filename = exportName(v.formula);
    out.export = { url: origin + algebraRouteURL('export', q, { bbox: bbox.join(','), zoom, filename }), zoom, filename };
  }
  return out;
}

/** Fills the "Use this map" section for the current parameters and view. */
function updateUse() {
  const u = useURLs(), off = $('#use-off'), a = $('#use-download');
  off.hidden = !u.off;
  off.textContent = u.off || '';
  for (const k of ['xyz', 'xyz2x', 'tilejson', 'tilejson2x', 'wmts']) {
    const box = $(`#use-${k}`);
    box.value = u[k] || '';
    box.disabled = !u[k];
    document.querySelector(`[data-copy="use-${k}"]`).disabled = !u[k];
  }
  $('#use-token').hidden = !(state.config && state.config.private_reads); // the URLs hold no token
  if (u.export) {
    a.href = u.export.url;
    a.dataset.filename = `${u.export.filename}.zip`;
    a.textContent = `Download GeoTIFF (zoom ${u.export.zoom})`;
    a.removeAttribute('aria-disabled');
  } else {
    a.removeAttribute('href');
    delete a.dataset.filename;
    a.textContent = 'Download GeoTIFF';
    a.setAttribute('aria-disabled', 'true');
  }
  // A refusal stays while it is the export on offer; a new view or parameters drop it.
  const err = $('#use-error');
  if (!err.hidden && err.dataset.url !== a.getAttribute('href')) {
    err.hidden = true;
    err.textContent = '';
    $('#use-download-status').textContent = '';
  }
}

/**
 * Copies a URL box's text (navigator.clipboard; without it, or refused, the text is selected
 * for the user to copy) and says so on the button for a moment.
 */
async function copyURL(btn) {
  const box = document.getElementById(btn.dataset.copy);
  let copied = false;
  if (navigator.clipboard && navigator.clipboard.writeText) {
    copied = await navigator.clipboard.writeText(box.value).then(() => true, () => false);
  }
  if (!copied) {
    box.focus();
    box.select();
  }
  btn.textContent = copied ? 'copied' : 'selected';
  clearTimeout(btn.timer);
  btn.timer = setTimeout(() => { btn.textContent = 'copy'; }, 1500);
}

let exportSeq = 0;

/**
 * Downloads the export of the view: fetched with the page's token, a refusal (a view too large
 * for the server's RASTER_EXPORT_MAX_PIXELS, say) shown in the section, the zip saved under its
 * name through an object URL. A plain link would have left a 400's JSON as the download, and
 * sent no token.
 */
async function downloadExport(ev) {
  ev.preventDefault();
  const a = ev.currentTarget, url = a.getAttribute('href'), name = a.dataset.filename;
  if (!url || a.getAttribute('aria-disabled') === 'true') return;
  const seq = ++exportSeq, status = $('#use-download-status'), err = $('#use-error');
  err.hidden = true;
  err.textContent = '';
  status.textContent = 'exporting…';
  try {
    const res = await fetch(url, withAuth());
    if (!res.ok) throw await responseError(res);
    const blob = await res.blob();
    const obj = URL.createObjectURL(blob);
    const tmp = el('a', { href: obj, download: name, hidden: true });
    document.body.append(tmp);
    tmp.click();
    tmp.remove();
    setTimeout(() => URL.revokeObjectURL(obj), 60000);
    if (seq === exportSeq) status.textContent = `saved ${name}`;
  } catch (e) {
    if (seq !== exportSeq) return;
    status.textContent = '';
    err.textContent = `export: ${e.message}`;
    err.dataset.url = url;
    err.hidden = false;
  }
}

for (const btn of document.querySelectorAll('#use [data-copy]')) btn.addEventListener('click', () => copyURL(btn));
$('#use-download').addEventListener('click', downloadExport);
map.on('moveend', updateUse);

// --- upload and parse status --------------------------------------------------------------

function followParse(l) {
  const box = $('#status');
  box.hidden = false;
  box.querySelector('.layer').textContent = `${l.name} (#${l.id})`;
  const text = $('#status-text'), bar = $('#status-progress'), log = box.querySelector('.log');
  log.replaceChildren();
  const es = new EventSource(streamURL(`${prefix}layers/${l.id}/events`));
  let first = true;
  es.addEventListener('status', (ev) => {
    const s = JSON.parse(ev.data);
    text.textContent = s.status;
    text.dataset.status = s.status;
    bar.max = Math.max(1, s.tiles_total);
    bar.value = s.status === 'FINISHED' ? bar.max : s.tiles_done;
    log.replaceChildren(...s.log.slice(-20).map((line) => el('li', { textContent: line })));
    log.scrollTop = log.scrollHeight;
    if (first) box.scrollIntoView({ block: 'nearest' }); // with its first log lines, once
    first = false;
  });
  es.addEventListener('end', () => {
    es.close();
    loadLayers().then(() => showLayer(l.id)).catch((err) => { text.textContent = `error: ${err.message}`; });
  });
  es.addEventListener('error', (ev) => {
    if (ev.data) text.textContent = `error: ${JSON.parse(ev.data).error}`;
    es.close();
  });
}

/**
 * Opens the upload's status for a new attempt: the layer's name, no log, message with its
 * data-status (none while the upload goes on). It opens under the upload button, which a user
 * scrolls to the panel's bottom edge to press, so it is brought into sight: it was out of sight
 * there, the refusal or the parse's progress with it.
 */
function openStatus(name, message, status) {
  const box = $('#status'), text = $('#status-text');
  box.hidden = false;
  box.querySelector('.layer').textContent = name;
  box.querySelector('.log').replaceChildren();
  text.textContent = message;
  if (status) text.dataset.status = status;
  else delete text.dataset.status;
  box.scrollIntoView({ block: 'nearest' });
}

/** n bytes in megabytes (10^6 bytes, as browsers and file managers count them), to 0.1. */
function megabytes(n) {
  return `${Math.round(n / 1e5) / 10} MB`;
}

/**
 * Why the server would refuse the upload form's values, by its config, or '': a file larger
 * than its upload_max_bytes (TESSERA_MAX_UPLOAD; the whole file went up, gigabytes maybe,
 * before the server's 400 said so), a max zoom outside 0 to its ingest_max_zoom
 * (TESSERA_MAX_INGEST_ZOOM). Without the config (it did not load) the server decides.
 */
function uploadRefusal(f) {
  const c = state.config, file = f.elements.file.files[0], z = f.elements.max_zoom.value.trim();
  if (!c) return '';
  if (file && file.size > c.upload_max_bytes) {
    // In bytes when megabytes round the file to the limit ("is 1 MB: … up to 1 MB" read as no reason).
    const size = megabytes(file.size) === megabytes(c.upload_max_bytes) ? `${file.size} bytes` : megabytes(file.size);
    return `${file.name} is ${size}: this server takes files up to ${megabytes(c.upload_max_bytes)} (${c.upload_max_bytes} bytes, TESSERA_MAX_UPLOAD)`;
  }
  if (z !== '' && !(Number.isInteger(Number(z)) && Number(z) >= 0 && Number(z) <= c.ingest_max_zoom)) {
    return `max zoom: ${z} is not a zoom from 0 to ${c.ingest_max_zoom}, this server's deepest (TESSERA_MAX_INGEST_ZOOM)`;
  }
  return '';
}

/** Bounds the upload form's max zoom by the server's config (its ingest_max_zoom). */
function boundUploadZoom(c) {
  const box = $('#upload [name=max_zoom]');
  box.max = String(c.ingest_max_zoom);
  box.placeholder = `0 to ${c.ingest_max_zoom}; default: by resolution`;
}

$('#upload').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target, text = $('#status-text');
  setToken(f.elements.token.value); // getJSON sends it (withAuth), as with every request
  const headers = {};
  if (f.elements.file.files.length && f.elements.url.value.trim()) {
    // The file went up and the URL was dropped without a word; the server takes one source.
    openStatus('', 'error: choose a file or give a URL, not both', 'refused');
    return;
  }
  const name = f.elements.name.value || (f.elements.file.files[0] || {}).name || ''; // the status's heading
  const refusal = uploadRefusal(f);
  if (refusal) {
    openStatus(name, `error: ${refusal}`, 'refused');
    return;
  }
  const maxZoom = f.elements.max_zoom.value.trim();
  let body;
  if (f.elements.file.files.length) {
    body = new FormData();
    body.set("file", f.elements.file.files[0]);
    for (const k of ["name", "datatype"]) if (f.elements[k].value) body.set(k, f.elements[k].value);
    if (maxZoom !== '') body.set('max_zoom', maxZoom);
  } else {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify({ name: f.elements.name.value, url: f.elements.url.value, datatype: f.elements.datatype.value,
      ...(maxZoom !== '' ? { max_zoom: Number(maxZoom) } : {}) });
  }
  $('#status-progress').value = 0;
  openStatus(name, 'uploading…');
  try {
    const l = await getJSON('layers', { method: 'POST', headers, body });
    await loadLayers();
    followParse(l);
  } catch (err) {
    text.textContent = `error: ${err.message}`;
  }
});

// --- start --------------------------------------------------------------------------------

let wasmLoaded = null, configLoaded = null;

/**
 * Reads the server's settings (GET config, public even when reads need a token) into
 * state.config, once: a failure is tried again at the next start.
 */
function loadConfig() {
  configLoaded ||= getJSON('config').then((c) => {
    state.config = c;
    boundUploadZoom(c);
    // The @2x tiles' size in "Use this map": twice the server's tile_size (RASTER_TILESIZE).
    for (const s of document.querySelectorAll('#use .px2x')) s.textContent = String(2 * c.tile_size);
  }).catch((e) => { configLoaded = null; throw e; });
  return configLoaded;
}

async function start() {
  // Once, even when start runs again after a token; a failure names the module, which the
  // fetch's own text ("the server answered 404") did not.
  wasmLoaded ||= loadTessera().catch((e) => {
    throw new Error(`tessera.wasm: the WebAssembly core did not load (${e.message}); \`make web\` builds it into the server`);
  });
  // The names once only (start runs again after a token): a later run keeps the choice.
  const names = $('#cmap-name').options.length ? null : loadColormaps();
  await Promise.all([wasmLoaded, loadConfig(), loadLayers(), loadLegends(), names]);
  const first = defaultBindings();
  layer = new AlgebraLayer(view, { onError: showTileError, onCounts: drawColorbar, stats }).addTo(map);
  layer.on('load', () => { if (selectedLegend()) drawColorbar(); });
  if (first) fitLayer(first);
  showKind();
  let timer;
  $('#formula').addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => apply(false), 250); });
  $('#cmap-kind').addEventListener('change', () => { showKind(); apply(false); });
  for (const s of ['#cmap-name', '#cmap-from', '#cmap-to', '#cmap-legend', '#range-min', '#range-max']) $(s).addEventListener('change', () => apply(false));
  $('#server-tiles').addEventListener('change', () => apply(true));
  $('#add-binding').addEventListener('click', () => {
    // The server takes at most max_variables (16) variables; the button stops there.
    if (document.querySelectorAll('#bindings tbody tr').length < state.config.max_variables) addBinding('', state.layers[0] ? state.layers[0].id : '');
  });
  apply(false);
  $('#app-status').textContent = `${state.layers.length} layers; rendering in the browser`;
  window.tesseraApp.ready = true;
}

window.tesseraApp = { map, state, stats, view, serverTileURL, get layer() { return layer; }, ready: false };

// On a phone (below 640 pixels the panel is above the map, 45% of its height) "Use this map"
// and "Add a layer" start folded: the panel was some 1300 pixels to scroll through in 380,
// the formula and colormap lost among them. Their headings open them.
if (window.matchMedia('(max-width: 640px)').matches) for (const d of document.querySelectorAll('details.fold')) d.open = false;

// A server with private reads (TESSERA_PRIVATE_READS) answers 401 until the page has a token:
// the page says so and starts again once one is entered in the token field.
let starting = false;
function boot() {
  starting = true;
  start().catch((e) => {
    const st = $('#app-status');
    st.className = 'error';
    st.dataset.needsToken = e.status === 401 ? '1' : '';
    if (e.status === 401) $('#add').open = true; // the token field is in it (folded on a phone)
    st.textContent = e.status === 401
      ? 'This server\'s reads need a token: enter it in the token field below.'
      : `failed to start: ${e.message}`;
    window.tesseraApp.error = e.message;
  }).finally(() => { starting = false; });
}
$('#upload [name=token]').addEventListener('change', (ev) => {
  setToken(ev.target.value);
  updateDeleteButton();
  hideLayerError(); // a refusal shown under the list was the former token's
  if (!window.tesseraApp.ready && !starting) {
    $('#app-status').className = '';
    delete window.tesseraApp.error;
    boot();
  }
});
boot();
