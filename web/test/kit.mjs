// The browser test of the client kit (/tessera.js), run by web/browser_test.go (make web-test)
// against a real `tessera serve` at TESSERA_URL holding the layer "scene". The pages are the
// examples of docs/clients.md, taken from it as they are, served from a second origin (a static
// server on another 127.0.0.1 port started here) with the CDN's Leaflet, OpenLayers and
// MapLibre replaced by web/node_modules' copies of the same versions, so the kit, its
// WebAssembly module and the tiles all load cross-origin; its bundler example is bundled with
// esbuild. Exit status 0 means every check passed.
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, checker } from './harness.mjs';

const base = process.env.TESSERA_URL;
if (!base) throw new Error('TESSERA_URL must be set');
const tessera = new URL(base).origin;
const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, '..');

// --- the examples of docs/clients.md, rewritten for this run -----------------------------------

const docs = readFileSync(join(web, '..', 'docs', 'clients.md'), 'utf8');
const examples = new Map();
for (const m of docs.matchAll(/<!-- example: ([\w.-]+) -->\n```html\n([\s\S]*?)```/g)) examples.set(m[1], m[2]);
const bundled = /<!-- example: main\.js -->\n```js\n([\s\S]*?)```/.exec(docs);
assert.ok(bundled, 'docs/clients.md: no bundler example (main.js)');
const csp = /<!-- csp -->\n```\nContent-Security-Policy: (.+)\n```/.exec(docs);
assert.ok(csp, 'docs/clients.md: no Content-Security-Policy (<!-- csp -->)');
const want = ['leaflet-png.html', 'leaflet-kit.html', 'openlayers-png.html', 'openlayers-kit.html', 'maplibre-png.html', 'maplibre-kit.html'];
assert.deepEqual([...examples.keys()].sort(), [...want].sort(), 'docs/clients.md: the examples are not the ones this test runs');

const pages = mkdtempSync(join(tmpdir(), 'tessera-kit-'));
const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml' };

// The second origin: the pages, and /npm/NAME@VERSION/PATH from node_modules when VERSION is
// the one installed (the examples name versions; a mismatch must fail, not load another).
/** The Content-Security-Policy header of a page of the second origin, by its path. */
const policies = new Map();
const statics = createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/favicon.ico') {
    res.writeHead(204).end();
    return;
  }
  let file;
  const npm = /^\/npm\/([a-z0-9.-]+)@([^/]+)\/(.+)$/.exec(u.pathname);
  if (npm) {
    const pkg = join(web, 'node_modules', npm[1]);
    const version = existsSync(join(pkg, 'package.json')) && JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version;
    if (version !== npm[2]) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`${npm[1]}@${npm[2]}: node_modules has ${version}`);
      return;
    }
    file = join(pkg, normalize(npm[3]));
    if (!file.startsWith(pkg + '/')) file = undefined;
  } else if (/^\/[\w.-]+\.(html|js|css)$/.test(u.pathname)) {
    file = join(pages, u.pathname.slice(1));
  }
  if (!file || !existsSync(file)) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  const headers = { 'Content-Type': types[extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' };
  if (policies.has(u.pathname)) headers['Content-Security-Policy'] = policies.get(u.pathname);
  res.writeHead(200, headers).end(readFileSync(file));
});
await new Promise((r) => statics.listen(0, '127.0.0.1', r));
const site = `http://127.0.0.1:${statics.address().port}`;
assert.notEqual(site, tessera);

for (const [name, html] of examples) {
  writeFileSync(join(pages, name), html.replaceAll('https://tiles.example.com', tessera).replaceAll('https://cdn.jsdelivr.net/npm/', `${site}/npm/`));
}
// The bundler example: bundled as its comment says, with Leaflet from web/node_modules.
writeFileSync(join(pages, 'main.js'), bundled[1].replaceAll('https://tiles.example.com', tessera));
await build({
  entryPoints: [join(pages, 'main.js')], bundle: true, format: 'esm', outfile: join(pages, 'main.bundle.js'),
  external: [`${tessera}/tessera.js`], nodePaths: [join(web, 'node_modules')], logLevel: 'warning',
});
writeFileSync(join(pages, 'bundled.html'), `<!doctype html><meta charset="utf-8"><title>bundled</title>
<link rel="stylesheet" href="${site}/npm/leaflet@1.9.4/dist/leaflet.css"><style>#map { height: 512px; width: 768px; }</style>
<div id="map"></div><script type="module" src="main.bundle.js"></script>`);
// The examples under docs/clients.md's Content-Security-Policy, sent as a header: their inline
// <style> and <script> moved to files of the site, as the docs say; and the kit's example
// under the policy without 'wasm-unsafe-eval', which the docs say connect() needs.
const policy = csp[1].replaceAll('https://tiles.example.com', tessera);
for (const [page, example, p] of [
  ['csp-leaflet-kit', 'leaflet-kit.html', policy],
  ['csp-leaflet-png', 'leaflet-png.html', policy],
  ['csp-no-wasm', 'leaflet-kit.html', policy.replace(" 'wasm-unsafe-eval'", '')],
]) {
  let html = readFileSync(join(pages, example), 'utf8');
  const style = /<style>([\s\S]*?)<\/style>/.exec(html), script = /<script( type="module")?>([\s\S]*?)<\/script>/.exec(html);
  assert.ok(style && script, `${example}: no inline <style> and <script> to move`);
  writeFileSync(join(pages, `${page}.css`), style[1]);
  writeFileSync(join(pages, `${page}.js`), script[2]);
  html = html.replace(style[0], `<link rel="stylesheet" href="${page}.css">`).replace(script[0], `<script${script[1] || ''} src="${page}.js"></script>`);
  writeFileSync(join(pages, `${page}.html`), html);
  policies.set(`/${page}.html`, p);
}
// A page of this test only: it loads Go's wasm_exec.js first, as a page running another Go
// program would, then the kit (from evaluate).
writeFileSync(join(pages, 'own-go.html'), `<!doctype html><meta charset="utf-8"><title>own Go</title>
<script src="${tessera}/wasm_exec.js"></script><script>window.pageGo = globalThis.Go;</script><body></body>`);

// --- helpers that run in the page -----------------------------------------------------------

/** Defines window.kitTest: the server's PNG pixels of a URL, and a pixel diff. */
function pageHelpers() {
  window.kitTest = {
    async serverPixels(url) {
      const res = await fetch(url);
      if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
      return this.decode(await res.blob());
    },
    async decode(blob) {
      const bmp = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
      const oc = new OffscreenCanvas(bmp.width, bmp.height), ctx = oc.getContext('2d');
      ctx.drawImage(bmp, 0, 0);
      return ctx.getImageData(0, 0, bmp.width, bmp.height).data;
    },
    diff(a, b) {
      if (a.length !== b.length) return { diff: -1, opaque: 0 };
      let diff = 0, opaque = 0;
      for (let i = 0; i < a.length; i += 4) {
        if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2] || a[i + 3] !== b[i + 3]) diff++;
        if (a[i + 3] === 255) opaque++;
      }
      return { diff, opaque };
    },
    /** The server's PNG URL of tile z/x/y for kit params. */
    pngURL(base, z, x, y, p) {
      const q = new URLSearchParams({ layers: p.layers, formula: p.formula || '' });
      if (p.colormap) q.set('colormap', typeof p.colormap === 'object' ? JSON.stringify(p.colormap) : p.colormap);
      return `${base}/raster/algebra/${z}/${x}/${y}.png?${q}`;
    },
  };
}

// --- the run ----------------------------------------------------------------------------------

const chrome = await launch();
const browser = chrome.browser;
const { check, done } = checker();

/**
 * Opens a page of the second origin, recording its requests, failures and errors; the page's
 * uncaught errors and failed requests make the checks that look at them fail.
 */
async function open(name, setup) {
  const p = await browser.newPage();
  const log = { requests: [], msgpack: 0, failed: [], errors: [], wasm: 0 };
  p.on('request', (r) => {
    log.requests.push(r.url());
    if (new URL(r.url()).pathname.endsWith('.msgpack')) log.msgpack++;
    if (new URL(r.url()).pathname.endsWith('/tessera.wasm')) log.wasm++;
  });
  p.on('requestfailed', (r) => { if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) log.failed.push(`${r.url()}: ${r.failure()?.errorText}`); });
  p.on('response', (r) => { if (r.status() >= 400) log.failed.push(`${r.url()}: ${r.status()}`); });
  p.on('pageerror', (e) => log.errors.push(e.message));
  p.on('console', (m) => { if (m.type() === 'error') log.errors.push(`console: ${m.text()}`); });
  await p.addInitScript(pageHelpers);
  if (setup) await setup(p);
  await p.goto(`${site}/${name}`);
  return { p, log };
}

/** Asserts that the kit, its module and the tiles came from the Tessera server, cross-origin. */
function crossOrigin(log) {
  const from = (re) => log.requests.filter((u) => re.test(new URL(u).pathname));
  for (const [what, re] of [['tessera.js', /\/tessera\.js$/], ['tessera.wasm', /\/tessera\.wasm$/], ['.msgpack tiles', /\.msgpack$/]]) {
    const urls = from(re);
    assert.ok(urls.length > 0, `no request for ${what}`);
    for (const u of urls) assert.equal(new URL(u).origin, tessera, `${what} from ${u}`);
  }
  assert.equal(log.wasm, 1, 'tessera.wasm was loaded more than once');
}

/** Sets the example's formula box and fires its change event. */
async function setFormula(p, f) {
  await p.fill('#formula', f);
  await p.dispatchEvent('#formula', 'change');
}

/** The server's 400 for a formula, as the examples show it: "message (at start)". */
async function serverFormulaError(formula) {
  const q = new URLSearchParams({ layers: 'r:2=scene,n:3=scene', formula });
  const res = await fetch(`${tessera}/raster/algebra/13/4347/2842.png?${q}`);
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.ok(body.pos, `the server's error has no position: ${JSON.stringify(body)}`);
  return `${body.error} (at ${body.pos[0]})`;
}

const badFormula = '(n-r)/(n+';
const secondFormula = '(r-n)/(n+r)';

// --- Leaflet ------------------------------------------------------------------------------------

{
  const { p, log } = await open('leaflet-kit.html');
  /** Waits until every tile canvas on the map shows the layer's current parameters. */
  const rendered = () => p.waitForFunction(() => {
    if (!window.layer) return false;
    const g = String(window.layer.view().gen);
    const tiles = [...document.querySelectorAll('#map canvas.tile')];
    return tiles.length > 0 && tiles.every((c) => c.dataset.state === 'rendered' && c.dataset.gen === g);
  }, null, { timeout: 30000 });
  /** Compares the most central tile with data with the server's PNG for the layer's parameters. */
  const compare = () => p.evaluate(async (base) => {
    const tiles = [...document.querySelectorAll('#map canvas.tile')].filter((c) => c.dataset.empty !== '1' && c.dataset.z === String(window.map.getZoom()));
    const mid = document.querySelector('#map').getBoundingClientRect();
    const dist = (c) => { const r = c.getBoundingClientRect(); return Math.hypot(r.x + r.width / 2 - mid.x - mid.width / 2, r.y + r.height / 2 - mid.y - mid.height / 2); };
    tiles.sort((a, b) => dist(a) - dist(b));
    const c = tiles[0], { z, x, y } = c.dataset;
    const client = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const server = await window.kitTest.serverPixels(window.kitTest.pngURL(base, z, x, y, window.layer.getParams()));
    return { tile: `${z}/${x}/${y}`, ...window.kitTest.diff(client, server) };
  }, tessera);

  await check('leaflet-kit: the example loads the kit, tessera.wasm and the tiles cross-origin', async () => {
    await rendered();
    crossOrigin(log);
    assert.notEqual(new URL(p.url()).origin, tessera);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.failed, []);
  });
  await check('leaflet-kit: a tile rendered by the kit equals the server\'s PNG, pixel for pixel', async () => {
    const r = await compare();
    assert.equal(r.diff, 0, `tile ${r.tile}: ${r.diff} pixels differ`);
    assert.ok(r.opaque > 1000, `tile ${r.tile}: only ${r.opaque} opaque pixels`);
  });
  await check('leaflet-kit: a second formula re-renders without a .msgpack request and equals the server', async () => {
    const requests = log.msgpack, fetches = await p.evaluate(() => window.t.stats.bandFetches);
    await setFormula(p, secondFormula);
    await rendered();
    assert.equal(await p.evaluate(() => window.layer.getParams().formula), secondFormula);
    assert.equal(log.msgpack, requests, 'a new formula requested bands again');
    assert.equal(await p.evaluate(() => window.t.stats.bandFetches), fetches);
    const r = await compare();
    assert.equal(r.diff, 0, `tile ${r.tile}: ${r.diff} pixels differ`);
  });
  await check('leaflet-kit: a bad formula shows the server\'s message and position', async () => {
    const want = await serverFormulaError(badFormula);
    await setFormula(p, badFormula);
    await p.waitForFunction(() => document.querySelector('#error').textContent !== '', null, { timeout: 10000 });
    assert.equal(await p.textContent('#error'), want);
    await setFormula(p, secondFormula);
    await rendered();
    assert.equal(await p.textContent('#error'), '');
  });
  // A bad formula gave an error event for every tile on screen (12 here), and one more for every
  // tile a pan brought in.
  await check('leaflet-kit: a bad formula sends one error event, not one per tile, panning included; its tiles are not rendered or requested', async () => {
    const requests = log.msgpack;
    const r = await p.evaluate(async (bad) => {
      const { t, layer, map } = window;
      const events = { t: 0, layer: 0 }, renders = t.stats.renders;
      t.addEventListener('error', () => events.t++);
      layer.on('error', () => events.layer++);
      const canvases = () => [...document.querySelectorAll('#map canvas.tile')];
      const settled = () => new Promise((resolve) => {
        const poll = () => (canvases().every((c) => c.dataset.state !== 'loading') ? resolve() : setTimeout(poll, 20));
        poll();
      });
      const failed = () => new Set(canvases().filter((c) => c.dataset.state === 'error').map((c) => `${c.dataset.z}/${c.dataset.x}/${c.dataset.y}`));
      const input = document.querySelector('#formula');
      input.value = bad;
      input.dispatchEvent(new Event('change'));
      await settled();
      const before = failed();
      map.panBy([300, 200], { animate: false });
      await new Promise((res) => setTimeout(res, 100));
      await settled();
      const panned = [...failed()].filter((k) => !before.has(k)).length;
      return { events, failed: before.size, panned, renders: t.stats.renders - renders, text: document.querySelector('#error').textContent };
    }, badFormula);
    assert.ok(r.failed > 1 && r.panned > 0, `${r.failed} tiles failed, ${r.panned} more after the pan`);
    assert.deepEqual(r.events, { t: 1, layer: 1 }, `error events for ${r.failed} + ${r.panned} failed tiles`);
    assert.equal(r.renders, 0, 'tiles of a formula known bad went to the core');
    assert.equal(log.msgpack, requests, 'tiles a pan brought in under a formula known bad were requested');
    assert.equal(r.text, await serverFormulaError(badFormula));
  });
  await p.close();
}

{
  // A tile whose bands the cache had dropped (cacheBytes) was fetched again on a new formula;
  // when that fetch failed, the tile kept the former formula's pixels and data-state, and the
  // map showed it as current.
  const { p } = await open('leaflet-kit.html');
  const kit = `${tessera}/tessera.js`, raster = `${tessera}/raster/`;
  await check('leaflet-kit: a re-render whose fetch of evicted bands fails clears those tiles (data-state "error") and sends one error event; the cached ones re-render', async () => {
    await p.waitForFunction(() => window.layer && window.map, null, { timeout: 30000 });
    // A layer of a connection that keeps the bands of one tile with data (cacheBytes: 1): the
    // example's layer is replaced by it.
    const before = await p.evaluate(async ({ kit, raster }) => {
      const { connect } = await import(kit);
      const t = await connect(raster, { cacheBytes: 1 });
      const params = { layers: 'r:2=scene,n:3=scene', formula: '(n-r)/(n+r)', colormap: { continuous: true, name: 'RdYlGn', range: [-1, 1] } };
      window.layer.remove();
      const layer = t.leafletLayer(L, params).addTo(window.map);
      const events = { t: [], layer: 0 };
      t.addEventListener('error', (e) => events.t.push(e.detail.message));
      layer.on('error', () => events.layer++);
      Object.assign(window, { kt: t, klayer: layer, kevents: events });
      const canvases = () => Object.values(layer._tiles).map((x) => x.el);
      for (let i = 0; i < 1500 && !(canvases().length > 0 && canvases().every((c) => c.dataset.state === 'rendered')); i++) await new Promise((r) => setTimeout(r, 20));
      const key = (c) => `${c.dataset.z}/${c.dataset.x}/${c.dataset.y}`;
      const blank = (c) => !c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0);
      const painted = canvases().filter((c) => !blank(c));
      // A tile with pixels read last: the cache keeps its bands, and only them.
      const kept = painted[0];
      if (kept) await t.source.get(params.layers, +kept.dataset.z, +kept.dataset.x, +kept.dataset.y);
      return {
        all: canvases().map(key), states: [...new Set(canvases().map((c) => c.dataset.state))],
        painted: painted.map(key), cached: canvases().filter((c) => t.source.has(params.layers, +c.dataset.z, +c.dataset.x, +c.dataset.y)).map(key),
      };
    }, { kit, raster });
    assert.deepEqual(before.states, ['rendered'], `${before.all.length} tiles`);
    assert.equal(before.cached.length, 1, `cached: ${before.cached}`);
    assert.ok(before.painted.length > 1, `${before.painted.length} tiles with pixels`);

    const msgpack = (u) => u.pathname.endsWith('.msgpack');
    await p.route(msgpack, (route) => route.fulfill({
      status: 503, headers: { 'Access-Control-Allow-Origin': '*', 'Content-Type': 'application/json' }, body: '{"error":"the server is busy"}',
    }));
    const r = await p.evaluate(async (formula) => {
      const layer = window.klayer;
      const canvases = () => Object.values(layer._tiles).map((x) => x.el);
      const key = (c) => `${c.dataset.z}/${c.dataset.x}/${c.dataset.y}`;
      layer.setFormula(formula);
      const loading = canvases().filter((c) => c.dataset.state === 'loading').map(key);
      for (let i = 0; i < 1500 && canvases().some((c) => c.dataset.state === 'loading'); i++) await new Promise((res) => setTimeout(res, 20));
      const gen = String(layer.view().gen);
      const blank = (c) => !c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0);
      return {
        loading,
        error: canvases().filter((c) => c.dataset.state === 'error').map(key),
        errorBlank: canvases().filter((c) => c.dataset.state === 'error').every(blank),
        rendered: canvases().filter((c) => c.dataset.state === 'rendered' && c.dataset.gen === gen).map(key),
        events: window.kevents.t, layerEvents: window.kevents.layer,
      };
    }, secondFormula);
    const evicted = before.all.filter((k) => !before.cached.includes(k));
    assert.deepEqual(r.error.sort(), [...evicted].sort(), 'the tiles whose fetch failed');
    assert.ok(r.errorBlank, 'a tile whose fetch failed still shows the former formula\'s pixels');
    assert.deepEqual(r.loading.sort(), [...evicted].sort(), 'the tiles fetched again say "loading" while they are');
    assert.deepEqual(r.rendered, before.cached, 'the cached tile is re-rendered with the new formula');
    assert.deepEqual(r.events, ['the server is busy'], 'one error event for every failed tile');
    assert.equal(r.layerEvents, 1);
    const [z, x, y] = before.cached[0].split('/');
    const same = await p.evaluate(async ({ base, z, x, y }) => {
      const c = Object.values(window.klayer._tiles).map((t) => t.el).find((e) => e.dataset.z === z && e.dataset.x === x && e.dataset.y === y);
      const client = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      return window.kitTest.diff(client, await window.kitTest.serverPixels(window.kitTest.pngURL(base, z, x, y, window.klayer.getParams())));
    }, { base: tessera, z, x, y });
    assert.equal(same.diff, 0, `the cached tile ${before.cached[0]}: ${same.diff} pixels differ from the server's for the new formula`);

    // The server answers again: the next formula fetches the failed tiles and renders them.
    await p.unroute(msgpack);
    const after = await p.evaluate(async () => {
      const layer = window.klayer;
      const canvases = () => Object.values(layer._tiles).map((x) => x.el);
      layer.setFormula('(n-r)/(n+r)');
      const gen = String(layer.view().gen);
      for (let i = 0; i < 1500 && !canvases().every((c) => c.dataset.state === 'rendered' && c.dataset.gen === gen); i++) await new Promise((res) => setTimeout(res, 20));
      return { states: [...new Set(canvases().map((c) => `${c.dataset.state} ${c.dataset.gen === gen}`))], events: window.kevents.t.length };
    });
    assert.deepEqual(after, { states: ['rendered true'], events: 1 });

    // A formula known bad fails the tiles whose bands were dropped as it fails the cached ones:
    // their pixels kept (docs/clients.md), no request, one event.
    const bad = await p.evaluate(async (formula) => {
      const layer = window.klayer, t = window.kt, fetches = t.stats.bandFetches;
      const canvases = () => Object.values(layer._tiles).map((x) => x.el);
      const blank = (c) => !c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0);
      const painted = canvases().filter((c) => !blank(c));
      layer.setFormula(formula);
      await new Promise((res) => setTimeout(res, 200));
      return {
        states: [...new Set(canvases().map((c) => c.dataset.state))],
        painted: painted.length, cleared: painted.filter(blank).length,
        cached: canvases().filter((c) => t.source.has(layer.getParams().layers, +c.dataset.z, +c.dataset.x, +c.dataset.y)).length,
        fetches: t.stats.bandFetches - fetches, events: window.kevents.t.length,
      };
    }, badFormula);
    const { cached, painted, ...rest } = bad;
    assert.ok(cached < before.all.length && painted > 1, `${cached} of ${before.all.length} tiles cached, ${painted} with pixels`);
    assert.deepEqual(rest, { states: ['error'], cleared: 0, fetches: 0, events: 2 });
  });
  await p.close();
}

{
  const { p, log } = await open('leaflet-png.html');
  await check('leaflet-png: the example shows the server\'s PNG tiles cross-origin', async () => {
    await p.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('#map img.leaflet-tile')];
      return imgs.length > 0 && imgs.every((i) => i.classList.contains('leaflet-tile-loaded'));
    }, null, { timeout: 30000 });
    const png = log.requests.filter((u) => new URL(u).pathname.endsWith('.png'));
    assert.ok(png.length > 0 && png.every((u) => new URL(u).origin === tessera), `PNG requests: ${png}`);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.failed, []);
  });
  await p.close();
}

{
  const { p, log } = await open('bundled.html');
  await check('bundler example: Leaflet from npm bundled by esbuild, the kit imported by URL, renders tiles', async () => {
    await p.waitForFunction(() => {
      const tiles = [...document.querySelectorAll('#map canvas.tile')];
      return tiles.length > 0 && tiles.every((c) => c.dataset.state === 'rendered') && tiles.some((c) => c.dataset.empty === '');
    }, null, { timeout: 30000 });
    crossOrigin(log);
    assert.ok(!readFileSync(join(pages, 'main.bundle.js'), 'utf8').includes('WebAssembly'), 'the kit was bundled, not imported');
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.failed, []);
  });
  // Its colormap was a bare name, 'RdYlGn', without a range: each tile was coloured over its own
  // minimum and maximum, and the map showed a seam at every tile's edge.
  await check('bundler example: every tile equals the Leaflet example\'s (NDVI over [-1, 1]): no seams between tiles', async () => {
    const r = await p.evaluate(async (base) => {
      const params = { layers: 'r:2=scene,n:3=scene', formula: '(n-r)/(n+r)', colormap: { continuous: true, name: 'RdYlGn', range: [-1, 1] } };
      const out = [];
      for (const c of document.querySelectorAll('#map canvas.tile')) {
        if (c.dataset.empty === '1') continue;
        const { z, x, y } = c.dataset;
        const client = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const server = await window.kitTest.serverPixels(window.kitTest.pngURL(base, z, x, y, params));
        out.push({ tile: `${z}/${x}/${y}`, ...window.kitTest.diff(client, server) });
      }
      return out;
    }, tessera);
    assert.ok(r.length > 1, `${r.length} tiles with data`);
    for (const t of r) assert.equal(t.diff, 0, `tile ${t.tile}: ${t.diff} pixels differ from the Leaflet example's`);
  });
  await p.close();
}

// --- Content-Security-Policy ------------------------------------------------------------------------

{
  const { p, log } = await open('csp-leaflet-kit.html');
  await check('csp: the Leaflet kit example renders under docs/clients.md\'s Content-Security-Policy, no violation', async () => {
    await p.waitForFunction(() => {
      const tiles = [...document.querySelectorAll('#map canvas.tile')];
      return tiles.length > 0 && tiles.every((c) => c.dataset.state === 'rendered') && tiles.some((c) => c.dataset.empty === '');
    }, null, { timeout: 30000 });
    crossOrigin(log);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.failed, []);
  });
  await p.close();
}

{
  const { p, log } = await open('csp-leaflet-png.html');
  await check('csp: the Leaflet PNG example shows the server\'s tiles under the policy (img-src)', async () => {
    await p.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('#map img.leaflet-tile')];
      return imgs.length > 0 && imgs.every((i) => i.classList.contains('leaflet-tile-loaded'));
    }, null, { timeout: 30000 });
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.failed, []);
  });
  await p.close();
}

{
  const { p, log } = await open('csp-no-wasm.html');
  await check('csp: without \'wasm-unsafe-eval\' connect() rejects, as the docs say (the policy is applied)', async () => {
    for (let i = 0; i < 100 && log.errors.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(log.errors.some((e) => /WebAssembly|wasm/i.test(e)), `page errors: ${log.errors}`);
    assert.equal(await p.locator('#map canvas.tile').count(), 0);
  });
  await p.close();
}

// --- OpenLayers -----------------------------------------------------------------------------------

/** Resolves when the OpenLayers map of the page has rendered every tile. */
const olRendered = (p) => p.evaluate(() => new Promise((resolve) => { window.map.once('rendercomplete', resolve); window.map.render(); }));

{
  const { p, log } = await open('openlayers-kit.html');
  // The tile at the view's centre at the source's deepest zoom, and the view moved to that zoom
  // with the tile's top-left corner at the centre of the map: OpenLayers then draws it 1:1 at whole pixels, and the map's
  // canvas can be compared with the server's PNG.
  const compare = () => p.evaluate(async (base) => {
    const { map, layer, source } = window;
    const view = map.getView(), grid = layer.getSource().getTileGrid(), z = grid.getMaxZoom(); // the source's maxZoom: 12
    const [tz, tx, ty] = grid.getTileCoordForCoordAndZ(view.getCenter(), z);
    const ext = grid.getTileCoordExtent([tz, tx, ty]);
    view.setZoom(z);
    view.setCenter([ext[0], ext[3]]);
    await new Promise((resolve) => { map.once('rendercomplete', resolve); map.render(); });
    const [w, h] = map.getSize();
    const canvas = [...map.getViewport().querySelectorAll('.ol-layer canvas')].find((c) => c.width === w && c.height === h);
    if (!canvas) throw new Error(`no layer canvas of the map's size ${w}x${h}`);
    const client = canvas.getContext('2d').getImageData(w / 2, h / 2, 256, 256).data;
    const server = await window.kitTest.serverPixels(window.kitTest.pngURL(base, tz, tx, ty, source.getParams()));
    return { tile: `${tz}/${tx}/${ty}`, ...window.kitTest.diff(client, server) };
  }, tessera);

  await check('openlayers-kit: the example loads the kit, tessera.wasm and the tiles cross-origin', async () => {
    await p.waitForFunction(() => window.map && window.layer, null, { timeout: 30000 });
    await olRendered(p);
    crossOrigin(log);
    assert.ok(await p.evaluate(() => window.t.stats.renders) > 0, 'the loader rendered no tile');
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.failed, []);
  });
  await check('openlayers-kit: the map\'s pixels of a tile equal the server\'s PNG', async () => {
    const r = await compare();
    assert.equal(r.diff, 0, `tile ${r.tile}: ${r.diff} pixels differ`);
    assert.ok(r.opaque > 1000, `tile ${r.tile}: only ${r.opaque} opaque pixels`);
  });
  await check('openlayers-kit: a second formula re-renders without a .msgpack request and equals the server', async () => {
    const requests = log.msgpack, renders = await p.evaluate(() => window.t.stats.renders);
    await setFormula(p, secondFormula);
    await olRendered(p);
    assert.ok(await p.evaluate(() => window.t.stats.renders) > renders, 'the new source rendered nothing');
    assert.equal(log.msgpack, requests, 'a new formula requested bands again');
    const r = await compare();
    assert.equal(r.diff, 0, `tile ${r.tile}: ${r.diff} pixels differ`);
  });
  // The example's formula change made a new source (layer.setSource), and the map showed nothing
  // for ~300 ms until its tiles were rendered; the kit's source re-keys itself and OpenLayers
  // keeps the old tiles on screen until the new ones replace them.
  await check('openlayers-kit: a formula change re-renders in place: the same source, no frame of a blank map', async () => {
    await olRendered(p);
    const r = await p.evaluate(async (formula) => {
      const { map, layer } = window;
      const source = layer.getSource(), renders = window.t.stats.renders;
      const [w, h] = map.getSize();
      /** Says whether the map's layer canvas shows any opaque pixel (a grid of them, sampled). */
      const shows = () => {
        const c = [...map.getViewport().querySelectorAll('.ol-layer canvas')].find((x) => x.width === w && x.height === h);
        if (!c || c.style.display === 'none' || c.style.opacity === '0') return false;
        const d = c.getContext('2d').getImageData(0, 0, w, h).data;
        for (let i = 3; i < d.length; i += 4 * 97) if (d[i] === 255) return true;
        return false;
      };
      const blank = [];
      let frames = 0;
      const input = document.querySelector('#formula');
      input.value = formula;
      input.dispatchEvent(new Event('change'));
      const done = new Promise((resolve) => map.once('rendercomplete', resolve));
      const t0 = performance.now();
      while (performance.now() - t0 < 800) {
        await new Promise((r) => requestAnimationFrame(r));
        frames++;
        if (!shows()) blank.push(Math.round(performance.now() - t0));
      }
      await done;
      return { same: layer.getSource() === source, blank, frames, rendered: window.t.stats.renders > renders };
    }, '(n-r)/(n+r)');
    assert.ok(r.rendered, 'the formula change rendered nothing');
    assert.ok(r.frames > 5, `${r.frames} frames sampled`);
    assert.deepEqual(r.blank, [], `the map was blank in ${r.blank.length} of ${r.frames} frames (ms after the change)`);
    assert.equal(r.same, true, 'a new source was made');
  });
  await check('openlayers-kit: a bad formula shows the server\'s message and position', async () => {
    const want = await serverFormulaError(badFormula);
    await setFormula(p, badFormula);
    await p.waitForFunction(() => document.querySelector('#error').textContent !== '', null, { timeout: 10000 });
    assert.equal(await p.textContent('#error'), want);
  });
  // A bad formula gave an error event for every tile on screen (6 here), and more for a pan.
  await check('openlayers-kit: a bad formula sends one error event, not one per tile, panning included', async () => {
    await setFormula(p, secondFormula);
    await olRendered(p);
    const r = await p.evaluate(async (bad) => {
      const { t, map } = window;
      let events = 0, loads = 0;
      t.addEventListener('error', () => events++);
      window.layer.getSource().on('tileloaderror', () => loads++);
      const input = document.querySelector('#formula');
      input.value = bad;
      input.dispatchEvent(new Event('change'));
      const view = map.getView();
      const c = view.getCenter(), d = 400 * view.getResolution();
      view.setCenter([c[0] + d, c[1] - d]);
      await new Promise((resolve) => { map.once('rendercomplete', resolve); map.render(); });
      return { events, loads, text: document.querySelector('#error').textContent };
    }, badFormula);
    assert.ok(r.loads > 0, 'no tile of the bad formula was loaded after the pan');
    assert.equal(r.events, 1, `error events for ${r.loads} failed tiles`);
    assert.equal(r.text, await serverFormulaError(badFormula));
  });
  await p.close();
}

{
  // A tile whose bands the cache had dropped (cacheBytes) was fetched again on a new formula;
  // when that fetch failed, its tile of the new source key was in error, and OpenLayers drew
  // the former key's tile in its place (a stale tile stands in for a tile not loaded): the
  // former formula's pixels, shown as current. (Its map then never reported rendercomplete:
  // the waits below are bounded.)
  const { p } = await open('openlayers-kit.html');
  const kit = `${tessera}/tessera.js`, raster = `${tessera}/raster/`;
  await check('openlayers-kit: a re-render whose fetch of evicted bands fails clears those tiles and sends one error event', async () => {
    await p.waitForFunction(() => window.map && window.layer, null, { timeout: 30000 });
    await olRendered(p);
    // A source of a connection that keeps the bands of one tile (cacheBytes: 1) replaces the example's.
    await p.evaluate(async ({ kit, raster }) => {
      const { connect } = await import(kit);
      const t = await connect(raster, { cacheBytes: 1 });
      const params = { layers: 'r:2=scene,n:3=scene', formula: '(n-r)/(n+r)', colormap: { continuous: true, name: 'RdYlGn', range: [-1, 1] } };
      const source = t.openlayersSource(ol, params, { maxZoom: 12 });
      const events = [];
      t.addEventListener('error', (e) => events.push(e.detail.message));
      window.layer.setSource(source);
      Object.assign(window, { kt: t, ksource: source, kevents: events });
      await new Promise((resolve) => { window.map.once('rendercomplete', resolve); window.map.render(); setTimeout(resolve, 3000); });
    }, { kit, raster });
    /** The tiles in view: cached or not, and how many opaque pixels the map shows of each. */
    const tiles = () => p.evaluate(() => {
      const { map, ksource: source, kt: t } = window;
      const grid = source.getTileGrid(), view = map.getView(), [w, h] = map.getSize();
      const z = grid.getZForResolution(view.getResolution());
      const canvas = [...map.getViewport().querySelectorAll('.ol-layer canvas')].find((c) => c.width === w && c.height === h);
      const d = canvas.getContext('2d').getImageData(0, 0, w, h).data;
      const range = grid.getTileRangeForExtentAndZ(view.calculateExtent(map.getSize()), z);
      const out = [];
      for (let x = range.minX; x <= range.maxX; x++) {
        for (let y = range.minY; y <= range.maxY; y++) {
          const ext = grid.getTileCoordExtent([z, x, y]);
          const [x0, y0] = map.getPixelFromCoordinate([ext[0], ext[3]]), [x1, y1] = map.getPixelFromCoordinate([ext[2], ext[1]]);
          let opaque = 0;
          for (let py = Math.max(0, Math.ceil(y0) + 1); py < Math.min(h, Math.floor(y1) - 1); py += 3) {
            for (let px = Math.max(0, Math.ceil(x0) + 1); px < Math.min(w, Math.floor(x1) - 1); px += 3) if (d[4 * (py * w + px) + 3] > 0) opaque++;
          }
          out.push({ tile: `${z}/${x}/${y}`, cached: t.source.has(source.getParams().layers, z, x, y), opaque });
        }
      }
      return out;
    });
    const before = await tiles();
    const shown = before.filter((x) => x.opaque > 0);
    assert.ok(shown.filter((x) => !x.cached).length >= 1, `tiles: ${JSON.stringify(before)}`);

    const msgpack = (u) => u.pathname.endsWith('.msgpack');
    await p.route(msgpack, (route) => route.fulfill({
      status: 503, headers: { 'Access-Control-Allow-Origin': '*', 'Content-Type': 'application/json' }, body: '{"error":"the server is busy"}',
    }));
    await p.evaluate(async (formula) => {
      window.ksource.setFormula(formula);
      await new Promise((resolve) => { window.map.once('rendercomplete', resolve); window.map.render(); setTimeout(resolve, 3000); });
    }, secondFormula);
    const after = await tiles();
    const stale = after.filter((x) => !x.cached && x.opaque > 0).map((x) => x.tile);
    assert.deepEqual(stale, [], 'tiles whose fetch failed still show the former formula\'s pixels');
    const cached = before.filter((x) => x.cached && x.opaque > 0).map((x) => x.tile);
    assert.deepEqual(after.filter((x) => x.cached && x.opaque > 0).map((x) => x.tile), cached, 'the cached tile is re-rendered');
    assert.deepEqual(await p.evaluate(() => window.kevents), ['the server is busy'], 'one error event for every failed tile');

    // The server answers again: the next formula fetches the failed tiles and renders them.
    await p.unroute(msgpack);
    await p.evaluate(async () => {
      window.ksource.setFormula('(n-r)/(n+r)');
      await new Promise((resolve) => { window.map.once('rendercomplete', resolve); window.map.render(); setTimeout(resolve, 3000); });
    });
    const again = await tiles();
    assert.deepEqual(again.filter((x) => x.opaque > 0).map((x) => x.tile).sort(), shown.map((x) => x.tile).sort(), 'the failed tiles are drawn again');
    assert.equal(await p.evaluate(() => window.kevents.length), 1);
  });
  await p.close();
}

{
  const { p, log } = await open('openlayers-png.html');
  await check('openlayers-png: the example shows the server\'s PNG tiles from TileJSON, cross-origin', async () => {
    await p.waitForFunction(() => window.map && window.map.getLayers().item(0).getSource().getState() === 'ready', null, { timeout: 30000 });
    await olRendered(p);
    const opaque = await p.evaluate(() => {
      const [w, h] = window.map.getSize();
      const c = [...window.map.getViewport().querySelectorAll('.ol-layer canvas')].find((x) => x.width === w && x.height === h);
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] === 255) n++;
      return n;
    });
    assert.ok(opaque > 10000, `${opaque} opaque pixels on the map`);
    const png = log.requests.filter((u) => new URL(u).pathname.endsWith('.png'));
    assert.ok(png.length > 0 && png.every((u) => new URL(u).origin === tessera), `PNG requests: ${png}`);
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.failed, []);
  });
  await p.close();
}

// --- MapLibre ---------------------------------------------------------------------------------------

/** Waits until the MapLibre map has loaded its style and tiles. */
const mlIdle = (p) => p.waitForFunction(() => window.map && window.map.loaded() && window.map.areTilesLoaded(), null, { timeout: 30000 });

{
  const { p, log } = await open('maplibre-kit.html');
  // Headless Chromium runs with --disable-gpu; MapLibre then needs its software WebGL. Where
  // that is missing the map cannot start, and the protocol handler is still tested directly.
  const webgl = await p.evaluate(() => !!document.createElement('canvas').getContext('webgl2'));
  console.log(`# MapLibre: WebGL2 ${webgl ? 'available (the map itself runs)' : 'missing: the map is not run, the protocol handler is tested directly'}`);
  /** Calls the page's protocol handler for a tile and compares its PNG bytes with the server's. */
  const compare = (url, params) => p.evaluate(async ({ base, url, params }) => {
    const r = await window.protocol({ url, type: 'image' }, new AbortController());
    if (!(r.data instanceof ArrayBuffer)) throw new Error('the handler did not answer an ArrayBuffer');
    const client = await window.kitTest.decode(new Blob([r.data], { type: 'image/png' }));
    const [z, x, y] = url.slice('tessera://'.length).split('?')[0].split('/');
    const server = await window.kitTest.serverPixels(window.kitTest.pngURL(base, z, x, y, params));
    return { tile: `${z}/${x}/${y}`, ...window.kitTest.diff(client, server) };
  }, { base: tessera, url, params });
  const params = { layers: 'r:2=scene,n:3=scene', formula: '(n-r)/(n+r)', colormap: { continuous: true, name: 'RdYlGn', range: [-1, 1] } };

  await check('maplibre-kit: the example loads the kit and tessera.wasm cross-origin and the map its tiles', async () => {
    await p.waitForFunction(() => window.protocol, null, { timeout: 30000 });
    if (webgl) {
      await mlIdle(p);
      assert.ok(await p.evaluate(() => window.t.stats.renders) > 0, 'the protocol rendered no tile');
      crossOrigin(log);
    }
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.failed, []);
  });
  await check('maplibre-kit: the protocol handler\'s PNG bytes decode to the server\'s pixels', async () => {
    const r = await compare('tessera://13/4347/2842', params);
    assert.equal(r.diff, 0, `tile ${r.tile}: ${r.diff} pixels differ`);
    assert.ok(r.opaque > 1000, `tile ${r.tile}: only ${r.opaque} opaque pixels`);
    const q = await compare(`tessera://13/4347/2842?${new URLSearchParams({ formula: secondFormula })}`, { ...params, formula: secondFormula });
    assert.equal(q.diff, 0, `a formula in the URL: tile ${q.tile}: ${q.diff} pixels differ`);
  });
  await check('maplibre-kit: a second formula (setTiles) re-renders without a .msgpack request', async () => {
    const requests = log.msgpack, renders = await p.evaluate(() => window.t.stats.renders);
    await setFormula(p, secondFormula);
    if (webgl) {
      await p.waitForFunction((n) => window.t.stats.renders > n, renders, { timeout: 10000 });
      await mlIdle(p);
    }
    assert.equal(log.msgpack, requests, 'a new formula requested bands again');
  });
  await check('maplibre-kit: a bad formula shows the server\'s message and position; an aborted tile rejects', async () => {
    const want = await serverFormulaError(badFormula);
    if (webgl) {
      // A bad formula gave an error event for every tile on screen (8), and as many stack
      // traces in the console (MapLibre's own error, logged when the map has no listener).
      await p.evaluate(() => {
        window.kitEvents = 0;
        window.t.addEventListener('error', () => window.kitEvents++);
      });
      const errors = log.errors.length;
      await setFormula(p, badFormula);
      await p.waitForFunction(() => document.querySelector('#error').textContent !== '', null, { timeout: 10000 });
      assert.equal(await p.textContent('#error'), want);
      await mlIdle(p);
      await p.evaluate(() => window.map.panBy([300, 200], { animate: false }));
      await mlIdle(p);
      assert.equal(await p.evaluate(() => window.kitEvents), 1, 'error events of the bad formula');
      assert.deepEqual(log.errors.slice(errors), [], 'console errors of the bad formula');
    }
    const r = await p.evaluate(async (f) => {
      const ac = new AbortController();
      const aborted = window.protocol({ url: 'tessera://12/0/0', type: 'image' }, ac).then(() => 'resolved', (e) => e.name);
      ac.abort();
      const bad = await window.protocol({ url: `tessera://13/4347/2842?${new URLSearchParams({ formula: f })}`, type: 'image' }, new AbortController())
        .then(() => null, (e) => `${e.message} (at ${e.pos[0]})`);
      return { aborted: await aborted, bad };
    }, badFormula);
    assert.equal(r.aborted, 'AbortError');
    assert.equal(r.bad, want);
  });
  await p.close();
}

if (await (async () => { const p = await browser.newPage(); const w = await p.evaluate(() => !!document.createElement('canvas').getContext('webgl2')); await p.close(); return w; })()) {
  const { p, log } = await open('maplibre-png.html');
  await check('maplibre-png: the example shows the server\'s PNG tiles from TileJSON, cross-origin', async () => {
    await mlIdle(p);
    const png = log.requests.filter((u) => new URL(u).pathname.endsWith('.png'));
    assert.ok(png.length > 0 && png.every((u) => new URL(u).origin === tessera), `PNG requests: ${png}`);
    assert.ok(log.requests.some((u) => new URL(u).pathname.endsWith('/algebra.json')), 'no TileJSON request');
    assert.deepEqual(log.errors, []);
    assert.deepEqual(log.failed, []);
  });
  await p.close();
} else {
  console.log('# maplibre-png: skipped, no WebGL2 in this Chromium');
}

// --- the kit's API --------------------------------------------------------------------------------

{
  const { p, log } = await open('own-go.html');
  const kit = `${tessera}/tessera.js`, raster = `${tessera}/raster/`;
  const params = { layers: 'r:2=scene,n:3=scene', formula: '(n-r)/(n+r)', colormap: 'RdYlGn' };

  await check('kit: connect() twice shares one WebAssembly instance and leaves the page\'s Go and globals alone', async () => {
    const r = await p.evaluate(async ({ kit, raster }) => {
      const { connect } = await import(kit);
      const [a, b] = await Promise.all([connect(raster), connect(raster)]);
      const c = await connect(raster);
      return {
        pageGo: typeof window.pageGo === 'function' && globalThis.Go === window.pageGo,
        noTessera: !('tessera' in globalThis), shared: a.api === b.api && b.api === c.api,
        separate: a.source !== c.source,
      };
    }, { kit, raster });
    assert.deepEqual(r, { pageGo: true, noTessera: true, shared: true, separate: true });
    assert.equal(log.wasm, 1, 'tessera.wasm was instantiated more than once');
    // The page's own wasm_exec.js still runs a Go program: the kit's copy did not replace it.
    const own = await p.evaluate(async (url) => {
      const go = new globalThis.Go();
      const { instance } = await WebAssembly.instantiateStreaming(fetch(url), go.importObject);
      go.run(instance);
      for (let i = 0; i < 200 && !globalThis.tessera; i++) await new Promise((r) => setTimeout(r, 10));
      return typeof globalThis.tessera?.render;
    }, `${tessera}/tessera.wasm`);
    assert.equal(own, 'function');
  });

  await check('kit: tile() renders the server\'s pixels; an aborted tile rejects without an error event', async () => {
    const r = await p.evaluate(async ({ kit, raster, params, base }) => {
      const { connect } = await import(kit);
      const t = await connect(raster);
      const events = [];
      t.addEventListener('error', (e) => events.push(e.detail.message));
      const c = await t.tile(13, 4347, 2842, params);
      const client = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const server = await window.kitTest.serverPixels(window.kitTest.pngURL(base, 13, 4347, 2842, params));
      const ac = new AbortController();
      const aborted = t.tile(12, 1, 1, params, { signal: ac.signal }).then(() => 'resolved', (e) => e.name);
      ac.abort();
      return { ...window.kitTest.diff(client, server), aborted: await aborted, events, isCanvas: c instanceof HTMLCanvasElement };
    }, { kit, raster, params, base: tessera });
    assert.equal(r.diff, 0, `${r.diff} pixels differ`);
    assert.ok(r.opaque > 1000);
    assert.equal(r.isCanvas, true);
    assert.equal(r.aborted, 'AbortError');
    assert.deepEqual(r.events, []);
  });

  await check('kit: a 204 is a transparent tile', async () => {
    await p.route((u) => u.pathname.endsWith('/algebra/13/1/1.msgpack'), (route) => route.fulfill({ status: 204, headers: { 'Access-Control-Allow-Origin': '*' } }));
    const r = await p.evaluate(async ({ kit, raster, params }) => {
      const { connect } = await import(kit);
      const t = await connect(raster);
      const c = await t.tile(13, 1, 1, params);
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      // Of params.tileSize pixels, as docs/clients.md says (a server of RASTER_TILESIZE=512).
      const big = await t.tile(13, 1, 1, { ...params, tileSize: 512 });
      return { w: c.width, h: c.height, nonzero: d.some((v) => v !== 0), renders: t.stats.renders, big: [big.width, big.height] };
    }, { kit, raster, params });
    assert.deepEqual(r, { w: 256, h: 256, nonzero: false, renders: 0, big: [512, 512] });
  });

  // The browser's fetch says only "Failed to fetch": the tile rejected with that and nothing else.
  await check('kit: a server that does not answer: the tile rejects naming the tile, not with the bare "Failed to fetch"', async () => {
    await p.route((u) => u.pathname.endsWith('/algebra/13/2/2.msgpack'), (route) => route.abort('connectionrefused'));
    const r = await p.evaluate(async ({ kit, raster, params }) => {
      const { connect } = await import(kit);
      const t = await connect(raster);
      const events = [];
      t.addEventListener('error', (e) => events.push(e.detail.message));
      const e = await t.tile(13, 2, 2, params).then(() => null, (err) => err);
      return { name: e && e.name, message: e && e.message, events, cached: t.source.has(params.layers, 13, 2, 2) };
    }, { kit, raster, params });
    assert.equal(r.name, 'TesseraError');
    assert.match(r.message, /^tile 13\/2\/2: the server did not answer \(.+\)$/);
    assert.deepEqual(r.events, [r.message]);
    assert.equal(r.cached, false, 'a failed tile must be fetched again');
  });

  await check('kit: errors reject with the server\'s message and are sent as error events', async () => {
    const r = await p.evaluate(async ({ kit, raster, params }) => {
      const { connect } = await import(kit);
      const t = await connect(raster);
      const events = [];
      t.addEventListener('error', (e) => events.push(e.detail.message));
      const fail = (pr) => pr.then(() => null, (e) => ({ message: e.message, status: e.status, pos: e.pos }));
      const requests = t.stats.bandFetches;
      return {
        http: await fail(t.tile(13, 4347, 2842, { ...params, layers: 'r=nope', formula: 'r' })),
        formula: await fail(t.tile(13, 4347, 2842, { ...params, formula: 'r +* 2' })),
        long: await fail(t.tile(13, 4347, 2842, { ...params, formula: 'r+'.repeat(2049) + 'r' })),
        badTile: await fail(t.tile(3, 8, 0, params)),
        noLayers: await fail(t.tile(3, 0, 0, { formula: 'r' })),
        requests: t.stats.bandFetches - requests,
        events,
      };
    }, { kit, raster, params });
    assert.deepEqual(r.http, { message: 'layer "nope" not found', status: 404, pos: undefined });
    const server = await fetch(`${tessera}/raster/algebra/13/4347/2842.png?${new URLSearchParams({ layers: params.layers, formula: 'r +* 2' })}`);
    const body = await server.json();
    assert.deepEqual(r.formula, { message: body.error, status: undefined, pos: body.pos });
    assert.match(r.long.message, /at most 4096/);
    assert.match(r.badTile.message, /no such tile/);
    assert.match(r.noLayers.message, /layers/);
    assert.equal(r.requests, 1, 'the unknown layer\'s tile only: a formula known bad and refused parameters send no request');
    assert.equal(r.events.length, 5, `error events: ${r.events}`);
  });

  await check('kit: layers= is limited as the server limits it, 8192 bytes (tiles.MaxParam): longer is refused in its words with no request, shorter is sent', async () => {
    // The kit refused past 4096 characters, bindings the server takes; and counted characters,
    // not the server's bytes. Its names here are not layers: a binding sent is the server's 404.
    const cases = { sent: 'r=' + 'x'.repeat(5000), over: 'r=' + 'x'.repeat(8191), wide: 'r=' + 'é'.repeat(4096), edge: 'r=' + 'x'.repeat(8190) };
    const r = await p.evaluate(async ({ kit, raster, params, cases }) => {
      const { connect } = await import(kit);
      const t = await connect(raster);
      const out = {};
      for (const [k, layers] of Object.entries(cases)) {
        const before = t.stats.bandFetches;
        const e = await t.tile(13, 4347, 2842, { ...params, layers, formula: 'r' }).then(() => null, (err) => err);
        out[k] = { message: e && e.message, status: e && e.status, requests: t.stats.bandFetches - before };
      }
      return out;
    }, { kit, raster, params, cases });
    for (const [k, layers] of Object.entries(cases)) {
      const res = await fetch(`${tessera}/raster/algebra/13/4347/2842.png?${new URLSearchParams({ layers, formula: 'r' })}`);
      const body = await res.json();
      if (k === 'sent' || k === 'edge') {
        assert.deepEqual(r[k], { message: body.error, status: res.status, requests: 1 }, `${k}: ${JSON.stringify(r[k])}`);
        assert.equal(res.status, 404, `${k}: ${body.error}`);
      } else {
        assert.equal(res.status, 400, `${k}: ${body.error}`);
        assert.deepEqual(r[k], { message: body.error, status: undefined, requests: 0 }, `${k}: ${JSON.stringify(r[k])}`);
        assert.match(body.error, /^layers: 819[34] bytes, at most 8192$/);
      }
    }
  });

  await check('kit: tile() sends an error once per message while its params stay the same, and a bad formula fetches nothing', async () => {
    const r = await p.evaluate(async ({ kit, raster, params }) => {
      const { connect } = await import(kit);
      const t = await connect(raster);
      const events = [];
      t.addEventListener('error', (e) => events.push(e.detail.message));
      const tiles = (q) => Promise.all([4347, 4348, 4349].map((x) => t.tile(13, x, 2842, q).then(() => 'ok', (e) => e.message)));
      const requests = t.stats.bandFetches;
      const bad = await tiles({ ...params, formula: 'r +* 2' });
      const badRequests = t.stats.bandFetches - requests;
      const nope = await tiles({ ...params, layers: 'r=nope', formula: 'r' });
      const good = await tiles(params);
      const again = await tiles({ ...params, formula: 'r +* 2' });
      return { bad, badRequests, nope, good, again, events };
    }, { kit, raster, params });
    assert.equal(new Set(r.bad).size, 1);
    assert.equal(r.badRequests, 0, 'tiles of a formula known bad were requested');
    assert.deepEqual(r.nope, Array(3).fill('layer "nope" not found'));
    assert.deepEqual(r.good, ['ok', 'ok', 'ok']);
    assert.deepEqual(r.events, [r.bad[0], r.nope[0], r.again[0]], 'one event per params and message');
  });

  // A bad colormap was found only by the first tile's render: its tiles were requested first.
  await check('kit: a bad colormap sends one error event with the core\'s message and fetches nothing', async () => {
    const requests = log.msgpack;
    const r = await p.evaluate(async ({ kit, raster, params }) => {
      const { connect } = await import(kit);
      const t = window.badColormapKit = await connect(raster);
      const events = [];
      t.addEventListener('error', (e) => events.push(e.detail.message));
      const bad = await Promise.all([4347, 4348, 4349].map((x) => t.tile(13, x, 2842, { ...params, colormap: 'nosuchmap' }).then(() => 'ok', (e) => e.message)));
      const tileEvents = events.length;
      // A loader's set checks an object colormap, stringified, at once: one event before any tile.
      const loader = t.openlayersLoader(params);
      loader.set({ colormap: { 1: '#zz0000' } });
      const loaded = await loader(13, 4347, 2842).then(() => 'ok', (e) => e.message);
      return { bad, tileEvents, events, loaded, fetches: t.stats.bandFetches, renders: t.stats.renders };
    }, { kit, raster, params });
    assert.equal(log.msgpack, requests, '.msgpack requests for a colormap known bad');
    assert.deepEqual({ fetches: r.fetches, renders: r.renders }, { fetches: 0, renders: 0 });
    assert.equal(new Set(r.bad).size, 1, `tiles: ${r.bad}`);
    assert.match(r.bad[0], /^colormap: unknown colormap name "nosuchmap"/);
    assert.equal(r.tileEvents, 1, `error events: ${r.events}`);
    assert.equal(r.events.length, 2, `error events: ${r.events}`);
    assert.match(r.events[1], /^colormap: key "1": /);
    assert.equal(r.loaded, r.events[1]);
    // The messages are the core's render's, which a good tile's bands show.
    const render = await p.evaluate(async ({ params }) => {
      const t = window.badColormapKit;
      await t.tile(13, 4347, 2842, params);
      const bytes = t.source.cached(params.layers, 13, 4347, 2842);
      return [t.render(bytes, params.formula, 'nosuchmap').error, t.render(bytes, params.formula, JSON.stringify({ 1: '#zz0000' })).error];
    }, { params });
    assert.deepEqual(render, [r.bad[0], r.events[1]]);
  });

  // A source's setParams compiled the formula twice: once in its loader's set, once more to
  // decide whether to re-key the source.
  await check('kit: an OpenLayers source\'s setParams checks the formula once', async () => {
    const r = await p.evaluate(async ({ kit, raster, params }) => {
      const { connect } = await import(kit);
      const t = await connect(raster);
      const api = t.api;
      let compiles = 0;
      t.api = Object.create(api);
      t.api.compile = (...a) => { compiles++; return api.compile(...a); };
      // The ImageTile class's part that the kit uses: a key.
      class ImageTile { constructor(o) { this.o = o; this.key = 'k'; } getKey() { return this.key; } setKey(k) { this.key = k; } }
      const source = t.openlayersSource(ImageTile, params);
      const before = compiles;
      source.setParams({ formula: 'n - r' });
      const good = { compiles: compiles - before, key: source.getKey() };
      source.setParams({ formula: 'n +* r' });
      return { good, bad: { compiles: compiles - before - good.compiles, key: source.getKey() } };
    }, { kit, raster, params });
    assert.deepEqual(r, { good: { compiles: 1, key: 'k:tessera:1' }, bad: { compiles: 1, key: 'k:tessera:1' } });
  });

  await check('kit: a legend\'s entries as a colormap, as docs/clients.md shows, give the server\'s legend= pixels', async () => {
    const recipe = /const colormap = (Object\.fromEntries\(legend\.map\(.+\)\));/.exec(docs);
    assert.ok(recipe, 'docs/clients.md: no legend recipe');
    const r = await p.evaluate(async ({ kit, raster, base, recipe }) => {
      const { connect } = await import(kit);
      const t = await connect(raster);
      const legends = await (await fetch(`${raster}legends`)).json();
      const { id } = legends.find((l) => l.title === 'Land cover');
      const legend = await (await fetch(`${raster}legend/${id}`)).json();
      const colormap = new Function('legend', `return ${recipe};`)(legend);
      const c = await t.tile(13, 4358, 2843, { layers: 'x=landcover', formula: 'x', colormap });
      const client = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const server = await window.kitTest.serverPixels(`${base}/raster/algebra/13/4358/2843.png?${new URLSearchParams({ layers: 'x=landcover', formula: 'x', legend: String(id) })}`);
      return { ...window.kitTest.diff(client, server), keys: Object.keys(c.counts || {}).length };
    }, { kit, raster, base: tessera, recipe: recipe[1] });
    assert.equal(r.diff, 0, `${r.diff} pixels differ`);
    assert.ok(r.opaque > 1000 && r.keys === 6, `${r.opaque} opaque pixels, ${r.keys} classes`);
  });

  await check('kit: the cache of raw tiles is bounded (cacheTiles)', async () => {
    const r = await p.evaluate(async ({ kit, raster, params }) => {
      const { connect } = await import(kit);
      const t = await connect(raster, { cacheTiles: 2 });
      for (const x of [4347, 4348, 4347, 4349, 4347, 4348]) await t.tile(13, x, 2842, params);
      return { fetches: t.stats.bandFetches, size: t.source.cache.size };
    }, { kit, raster, params });
    // 4347, 4348 fetched; 4347 cached; 4349 drops 4348; 4347 cached; 4348 fetched again.
    assert.deepEqual(r, { fetches: 4, size: 2 });
  });

  await check('kit: a raw tile larger than maxTileBytes is refused as it arrives (its gzip Content-Length is smaller)', async () => {
    const r = await p.evaluate(async ({ kit, raster, params }) => {
      const { connect } = await import(kit);
      const t = await connect(raster, { maxTileBytes: 100000 });
      const events = [];
      t.addEventListener('error', (e) => events.push(e.detail.message));
      const message = await t.tile(13, 4347, 2842, params).then(() => null, (e) => e.message);
      const small = await connect(raster, { maxTileBytes: 1 << 20 });
      const ok = await small.tile(13, 4347, 2842, params).then((c) => c.width, (e) => e.message);
      return { message, events, ok };
    }, { kit, raster, params });
    assert.equal(r.message, 'tile: more than 100000 bytes, larger than a raw tile may be');
    assert.deepEqual(r.events, [r.message]);
    assert.equal(r.ok, 256);
  });
  await p.close();
}

{
  // A server of other settings than the defaults (its GET config answered here): the kit
  // assumed the defaults (256-pixel tiles, 4096-byte formulas, zoom 30) and counted no variables.
  const settings = { private_reads: false, tile_size: 512, max_zoom: 20, export_max_pixels: 100000000, export_max_zoom: 24, stats_max_tiles: 4096,
    formula_max_bytes: 64, max_variables: 2, ingest_max_zoom: 19, upload_max_bytes: 2147483648 };
  const cors = { 'Access-Control-Allow-Origin': '*' };
  const { p, log } = await open('own-go.html', (page) => page.route(`${tessera}/raster/config`,
    (route) => route.fulfill({ status: 200, headers: { ...cors, 'Content-Type': 'application/json' }, body: JSON.stringify(settings) })));
  await p.route((u) => u.pathname.endsWith('/algebra/13/1/1.msgpack'), (route) => route.fulfill({ status: 204, headers: cors }));
  const kit = `${tessera}/tessera.js`, raster = `${tessera}/raster/`;
  const params = { layers: 'r:2=scene,n:3=scene', formula: '(n-r)/(n+r)', colormap: 'RdYlGn' };
  await check('kit: connect() reads the server\'s GET config once per server, and checks its limits and sizes empty tiles by it', async () => {
    const r = await p.evaluate(async ({ kit, raster, params }) => {
      const { connect } = await import(kit);
      const [a, b] = await Promise.all([connect(raster), connect(raster)]);
      const c = await connect(raster.slice(0, -1)); // the same routes without their '/'
      const events = [];
      a.addEventListener('error', (e) => events.push(e.detail.message));
      const fail = (pr) => pr.then(() => null, (e) => e.message);
      const empty = await a.tile(13, 1, 1, params);
      const fetches = a.stats.bandFetches;
      return {
        configs: [a.config, b.config, c.config],
        empty: [empty.width, empty.height],
        long: await fail(a.tile(13, 4347, 2842, { ...params, formula: 'r+'.repeat(32) + 'r' })),
        vars: await fail(a.tile(13, 4347, 2842, { ...params, layers: 'r:2=scene,n:3=scene,g:1=scene', formula: 'r' })),
        deep: await fail(a.tile(21, 0, 0, params)),
        setParams: (() => { try { a.openlayersLoader(params).set({ layers: 'a=scene,b=scene,c=scene' }); return null; } catch (e) { return e.message; } })(),
        fetches: a.stats.bandFetches - fetches, events,
      };
    }, { kit, raster, params });
    const configs = log.requests.filter((u) => new URL(u).pathname === '/raster/config');
    assert.deepEqual(configs, [`${tessera}/raster/config`], 'GET config: not one request for three connections');
    for (const c of r.configs) assert.deepEqual(c, settings);
    assert.deepEqual(r.empty, [512, 512], 'an empty tile is not of the server\'s tile_size');
    assert.equal(r.long, 'formula is 65 bytes long, at most 64 are allowed');
    assert.equal(r.vars, 'layers: 3 layers, at most 2');
    assert.equal(r.deep, 'tile 21/0/0: no such tile');
    assert.equal(r.setParams, 'layers: 3 layers, at most 2');
    assert.equal(r.fetches, 0, 'refused params were fetched');
    assert.deepEqual(r.events, [r.long, r.vars, r.deep]);
    // The kit's words are the server's (its limit is 16).
    const q = new URLSearchParams({ layers: Array.from({ length: 17 }, (_, i) => `v${i}=scene`).join(','), formula: 'v0' });
    const res = await fetch(`${tessera}/raster/algebra/13/4347/2842.png?${q}`);
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'layers: 17 layers, at most 16');
  });
  await check('kit: connect() to routes whose GET config fails rejects naming it, and the next connect() asks again', async () => {
    const missing = `${tessera}/nothing/`;
    const r = await p.evaluate(async ({ kit, missing }) => {
      const { connect } = await import(kit);
      const fail = () => connect(missing).then(() => null, (e) => ({ name: e.name, message: e.message, status: e.status }));
      return [await fail(), await fail()];
    }, { kit, missing });
    console.log(`  ${r[0].message}`);
    assert.equal(r[0].name, 'TesseraError');
    assert.equal(r[0].status, 404);
    assert.match(r[0].message, new RegExp(`^${tessera}/nothing/config: `));
    assert.deepEqual(r[1], r[0]);
    assert.equal(log.requests.filter((u) => u === `${missing}config`).length, 2, 'a failed config was kept');
  });
  await p.close();
}

{
  // A fresh page: the kit's core is not loaded yet. Its fallback to bytes fetched the module a
  // second time on any failure: a server that does not answer, a 404, a wrong type.
  const { p, log } = await open('own-go.html');
  const refused = 'http://127.0.0.1:9/tessera.wasm', missing = `${tessera}/missing/tessera.wasm`, octet = `${tessera}/octet/tessera.wasm`;
  const cors = { 'Access-Control-Allow-Origin': '*' };
  await p.route(missing, (route) => route.fulfill({ status: 404, headers: { ...cors, 'Content-Type': 'application/json' }, body: '{"error":"not found"}' }));
  await p.route(octet, (route) => route.fulfill({ status: 200, headers: { ...cors, 'Content-Type': 'application/octet-stream' }, body: readFileSync(join(web, 'dist', 'tessera.wasm')) }));
  await check('kit: connect() with a core that does not load rejects naming its URL after one request; one of another type than application/wasm loads from one', async () => {
    const r = await p.evaluate(async ({ kit, raster, refused, missing, octet }) => {
      const { connect } = await import(kit);
      const fail = (wasm) => connect(raster, { wasm }).then(() => null, (err) => ({ name: err.name, message: err.message }));
      const a = await fail(refused), b = await fail(missing);
      const t = await connect(raster, { wasm: octet });
      return { a, b, ok: typeof t.tile, renders: (await t.tile(13, 4347, 2842, { layers: 'r:2=scene', formula: 'r' })).width };
    }, { kit: `${tessera}/tessera.js`, raster: `${tessera}/raster/`, refused, missing, octet });
    const count = (u) => log.requests.filter((x) => x === u).length;
    assert.deepEqual([count(refused), count(missing), count(octet)], [1, 1, 1], 'requests for tessera.wasm: refused, 404, application/octet-stream');
    assert.equal(r.a.name, 'TesseraError');
    assert.match(r.a.message, /^http:\/\/127\.0\.0\.1:9\/tessera\.wasm: the WebAssembly core did not load \(.+\); it needs CORS/);
    assert.match(r.b.message, /missing\/tessera\.wasm: the WebAssembly core did not load \(the server answered 404\)/);
    assert.equal(r.ok, 'function');
    assert.equal(r.renders, 256);
  });
  await p.close();
}

{
  // The band cache's default: 256 MiB was a lot on a phone.
  const { p } = await open('own-go.html', (page) => page.addInitScript(() => {
    window.deviceMemory = 1;
    Object.defineProperty(Navigator.prototype, 'deviceMemory', { get: () => window.deviceMemory, configurable: true });
  }));
  await check('kit: the band cache\'s default bytes are 1/16 of navigator.deviceMemory, between 32 and 256 MiB; cacheBytes overrides them', async () => {
    const r = await p.evaluate(async ({ kit, raster }) => {
      const { connect } = await import(kit);
      const out = {};
      for (const gib of [0.25, 1, 2, 8, undefined]) {
        window.deviceMemory = gib;
        out[String(gib)] = (await connect(raster)).source.cache.maxBytes / 2 ** 20;
      }
      window.deviceMemory = 1;
      out.given = (await connect(raster, { cacheBytes: 200 << 20 })).source.cache.maxBytes / 2 ** 20;
      out.capped = (await connect(raster, { cacheBytes: 2 ** 31 })).source.cache.maxBytes / 2 ** 20; // 1 GiB at most, as documented
      return out;
    }, { kit: `${tessera}/tessera.js`, raster: `${tessera}/raster/` });
    assert.deepEqual(r, { 0.25: 32, 1: 64, 2: 128, 8: 256, undefined: 256, given: 200, capped: 1024 });
  });
  await p.close();
}

// --- TypeScript declarations and the source map ------------------------------------------------------

{
  const { p } = await open('own-go.html');
  await check('kit: /tessera.d.ts is served as TypeScript and declares every export of tessera.js and every method of Tessera', async () => {
    const res = await fetch(`${tessera}/tessera.d.ts`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('Content-Type'), /^application\/typescript/);
    const dts = await res.text();
    const api = await p.evaluate(async (kit) => {
      const m = await import(kit);
      return { exports: Object.keys(m), methods: Object.getOwnPropertyNames(m.Tessera.prototype).filter((k) => k !== 'constructor') };
    }, `${tessera}/tessera.js`);
    assert.ok(api.exports.includes('connect') && api.methods.includes('tile'), `exports ${api.exports}, methods ${api.methods}`);
    const missing = api.exports.filter((name) => !new RegExp(`^export declare (const|function|class) ${name}\\b`, 'm').test(dts));
    assert.deepEqual(missing, [], 'exports without a declaration');
    const body = /^export declare class Tessera extends EventTarget \{\n([\s\S]*?)^\}/m.exec(dts);
    assert.ok(body, 'no declaration of the class Tessera');
    assert.deepEqual(api.methods.filter((name) => !new RegExp(`^  ${name}[<(]`, 'm').test(body[1])), [], 'methods of Tessera without a declaration');
    // t.config is the server's GET config: ServerConfig declares each of its keys (it lacked
    // scaled_tile_max_bytes, which the server reports since 6f71344).
    const config = await (await fetch(`${tessera}/raster/config`)).json();
    const decl = /^export interface ServerConfig \{\n([\s\S]*?)^\}/m.exec(dts);
    assert.ok(decl, 'no declaration of the interface ServerConfig');
    assert.deepEqual(Object.keys(config).filter((k) => !new RegExp(`^  ${k}: `, 'm').test(decl[1])), [], 'GET config keys ServerConfig lacks');
  });
  await check('kit: tessera.js names its source map, tessera.js.map, which is served with the kit\'s sources', async () => {
    const js = await (await fetch(`${tessera}/tessera.js`)).text();
    const m = /\n\/\/# sourceMappingURL=(\S+)\s*$/.exec(js);
    assert.ok(m, 'tessera.js has no sourceMappingURL');
    const res = await fetch(new URL(m[1], `${tessera}/tessera.js`));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('Content-Type'), /^application\/json/);
    const map = await res.json();
    assert.equal(map.version, 3);
    assert.ok(map.sources.some((s) => s.endsWith('src/kit.js')) && map.sourcesContent.length === map.sources.length, `sources ${map.sources}`);
    assert.ok(!/sourceMappingURL/.test(await (await fetch(`${tessera}/app.js`)).text()), 'the page\'s app.js has a source map too');
  });
  await p.close();
}

await chrome.close();
statics.close();
rmSync(pages, { recursive: true, force: true });
done();
