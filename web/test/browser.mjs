// The browser test of the Tessera map, run by web/browser_test.go (make web-test) against a
// real `tessera serve` at TESSERA_URL holding the layers "scene" (4 bands) and "landcover"
// and the legend "Land cover". It drives headless Chromium through playwright-core and
// asserts on what the page renders. Exit status 0 means every check passed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, checker } from './harness.mjs';

const base = process.env.TESSERA_URL;
const token = process.env.TESSERA_ADMIN_TOKEN;
if (!base || !token) throw new Error('TESSERA_URL and TESSERA_ADMIN_TOKEN must be set');
const origin = new URL(base).origin;

const chrome = await launch();
const browser = chrome.browser;
const { check, done } = checker();

const page = await browser.newPage();
const foreign = [], msgpack = [], configs = [], pageErrors = [];
page.on('request', (r) => {
  const u = new URL(r.url());
  if (u.protocol !== 'data:' && u.origin !== origin) foreign.push(r.url());
  if (u.pathname.endsWith('.msgpack')) msgpack.push(r.url());
  if (u.pathname === '/raster/config') configs.push(r.url());
});
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => { if (m.type() === 'error') console.log(`  console: ${m.text()}`); });

/** Waits until every tile on screen was rendered for the current parameters. */
async function settled() {
  await page.waitForFunction(() => {
    const app = window.tesseraApp, g = String(app.state.gen);
    const tiles = [...document.querySelectorAll('#map canvas.tile')];
    return tiles.length > 0 && tiles.every((c) => c.dataset.state === 'rendered' && c.dataset.gen === g);
  }, null, { timeout: 30000 });
}

/**
 * Compares the canvas of the most central tile that has data with the server's PNG for the
 * same parameters, both decoded in the page. Returns the pixel statistics.
 */
async function compareWithServer(template) {
  return page.evaluate(async (template) => {
    const tiles = [...document.querySelectorAll('#map canvas.tile')].filter((c) => c.dataset.empty !== '1');
    if (!tiles.length) throw new Error('no tile with data on screen');
    const mid = document.querySelector('#map').getBoundingClientRect();
    const dist = (c) => { const r = c.getBoundingClientRect(); return Math.hypot(r.x + r.width / 2 - mid.x - mid.width / 2, r.y + r.height / 2 - mid.y - mid.height / 2); };
    tiles.sort((a, b) => dist(a) - dist(b));
    const c = tiles[0], { z, x, y } = c.dataset;
    const client = c.getContext('2d').getImageData(0, 0, 256, 256).data;
    const url = template ? template.replace('{z}', z).replace('{x}', x).replace('{y}', y) : window.tesseraApp.serverTileURL(z, x, y);
    const res = await fetch(url);
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    const bmp = await createImageBitmap(await res.blob(), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    const oc = new OffscreenCanvas(256, 256), ctx = oc.getContext('2d');
    ctx.drawImage(bmp, 0, 0);
    const server = ctx.getImageData(0, 0, 256, 256).data;
    let diff = 0, opaque = 0;
    const colors = new Set();
    for (let i = 0; i < client.length; i += 4) {
      if (client[i] !== server[i] || client[i + 1] !== server[i + 1] || client[i + 2] !== server[i + 2] || client[i + 3] !== server[i + 3]) diff++;
      if (client[i + 3] === 255) { opaque++; colors.add((client[i] << 16) | (client[i + 1] << 8) | client[i + 2]); }
    }
    return { tile: `${z}/${x}/${y}`, url, diff, opaque, colors: colors.size, sample: Array.from(client.slice(4 * (128 * 256 + 128), 4 * (128 * 256 + 128) + 4)) };
  }, template);
}

/** The "Use this map" section as the page shows it. */
async function useSection(p = page) {
  return p.evaluate(() => {
    const $ = (s) => document.querySelector(s), a = $('#use-download'), off = $('#use-off'), err = $('#use-error');
    return {
      off: off.hidden ? null : off.textContent,
      xyz: $('#use-xyz').value, tilejson: $('#use-tilejson').value, wmts: $('#use-wmts').value,
      xyz2x: $('#use-xyz2x').value, tilejson2x: $('#use-tilejson2x').value,
      names: [...document.querySelectorAll('#use .use-url .name')].map((e) => e.textContent),
      disabled: [...document.querySelectorAll('#use textarea, #use button')].map((e) => e.disabled),
      download: { href: a.getAttribute('href'), filename: a.dataset.filename, text: a.textContent, disabled: a.getAttribute('aria-disabled') === 'true' },
      error: err.hidden ? null : err.textContent,
      tokenNote: !$('#use-token').hidden,
    };
  });
}

/** The query of a URL as sorted [key, value] pairs. */
const queryOf = (u) => [...new URL(u).searchParams].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/**
 * Checks the section's URLs for the page's current view: absolute on the server, the view's
 * layers, formula and colormap (or legend) encoded in each; the PNG template filled with the
 * central tile gives that tile's canvas, pixel for pixel, and the bytes server mode fetches;
 * the TileJSON's tiles and the WMTS ResourceURL are the same template and query. Returns the
 * section.
 */
async function checkUseURLs() {
  const u = await useSection(), v = await page.evaluate(() => window.tesseraApp.view());
  assert.equal(u.off, null, `the section is off: ${u.off}`);
  assert.ok(u.disabled.every((d) => !d), 'a control of the section is disabled');
  const paths = {
    xyz: '/raster/algebra/{z}/{x}/{y}.png', tilejson: '/raster/algebra.json', wmts: '/raster/algebra/WMTSCapabilities.xml',
    xyz2x: '/raster/algebra/{z}/{x}/{y}@2x.png', tilejson2x: '/raster/algebra.json',
  };
  for (const [k, path] of Object.entries(paths)) {
    const url = new URL(u[k]);
    assert.equal(url.origin, origin, `${k}: ${u[k]}`);
    assert.equal(decodeURI(url.pathname), path, `${k}: ${u[k]}`);
    assert.equal(url.searchParams.get('layers'), v.layers, `${k}: ${u[k]}`);
    assert.equal(url.searchParams.get('formula'), v.formula, `${k}: ${u[k]}`);
    if (v.legend !== undefined) assert.deepEqual([url.searchParams.get('legend'), url.searchParams.get('colormap')], [String(v.legend), null], `${k}: ${u[k]}`);
    else assert.equal(url.searchParams.get('colormap'), v.colormap || null, `${k}: ${u[k]}`);
    // Encoded: a + of the formula would read as a space.
    if (v.formula.includes('+')) assert.ok(u[k].includes('%2B') && !/[?&]formula=[^&]*\+/.test(u[k]), `${k}: the formula's + is not %2B: ${u[k]}`);
    assert.ok(!u[k].includes(token), `${k} holds the token`);
  }
  assert.ok(u.xyz.startsWith(`${origin}/raster/algebra/{z}/{x}/{y}.png?`), `the template's placeholders are encoded: ${u.xyz}`);
  assert.ok(u.xyz2x.startsWith(`${origin}/raster/algebra/{z}/{x}/{y}@2x.png?`), `the @2x template's placeholders are encoded: ${u.xyz2x}`);
  assert.deepEqual(queryOf(u.xyz2x), queryOf(u.xyz), 'the @2x template\'s query');
  assert.deepEqual(queryOf(u.tilejson2x), queryOf(`${u.tilejson}&tile_scale=2`), 'the @2x TileJSON\'s query');
  // The template filled with the central tile: the canvas's pixels, and server mode's bytes.
  const r = await compareWithServer(u.xyz);
  assert.ok(r.opaque > 1000, `${r.tile}: too little data (${r.opaque} opaque pixels)`);
  assert.equal(r.diff, 0, `${r.diff} pixels of ${r.tile} differ from ${r.url}`);
  const res = await fetch(r.url);
  assert.equal(res.status, 200, r.url);
  assert.equal(res.headers.get('content-type'), 'image/png');
  const png = Buffer.from(await res.arrayBuffer());
  const [z, x, y] = r.tile.split('/');
  const own = Buffer.from(await page.evaluate(async ([z, x, y]) => [...new Uint8Array(await (await fetch(window.tesseraApp.serverTileURL(z, x, y))).arrayBuffer())], [z, x, y]));
  assert.ok(png.equals(own), `${r.url}: not the bytes server mode fetches`);
  // TileJSON: its tiles are the template.
  const tj = await fetch(u.tilejson);
  assert.equal(tj.status, 200, u.tilejson);
  const tiles = (await tj.json()).tiles;
  assert.equal(tiles.length, 1);
  const t = new URL(tiles[0]), want = new URL(u.xyz);
  assert.equal(`${t.origin}${decodeURI(t.pathname)}`, `${want.origin}${decodeURI(want.pathname)}`, `TileJSON's tiles ${tiles[0]}`);
  assert.deepEqual(queryOf(tiles[0]), queryOf(u.xyz), `TileJSON's tiles ${tiles[0]}`);
  // WMTS: the ResourceURL over the same tiles and query.
  const wm = await fetch(u.wmts);
  assert.equal(wm.status, 200, u.wmts);
  assert.match(wm.headers.get('content-type'), /^application\/xml/);
  const m = /<ResourceURL[^>]*template="([^"]+)"/.exec(await wm.text());
  assert.ok(m, 'no ResourceURL in the capabilities');
  const tmpl = m[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#34;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'");
  assert.equal(decodeURI(new URL(tmpl).pathname), '/raster/algebra/{TileMatrix}/{TileCol}/{TileRow}.png', tmpl);
  assert.deepEqual(queryOf(tmpl), queryOf(u.xyz), `the ResourceURL ${tmpl}`);
  // @2x: the central tile from the @2x template is twice the server's tile size a side, and
  // each quarter of it is pixel for pixel the tile a zoom deeper from the XYZ template.
  const size = (await page.evaluate(() => window.tesseraApp.state.config)).tile_size;
  // The section names the @2x tiles' size from the server's config.
  assert.deepEqual(await page.$$eval('#use .px2x', (ss) => [...new Set(ss.map((s) => s.textContent))]), [String(2 * size)]);
  const fill = (tmpl, z, x, y) => tmpl.replace('{z}', z).replace('{x}', x).replace('{y}', y);
  const x2 = await page.evaluate(async ({ big, kids }) => {
    const decode = async (url) => {
      const res = await fetch(url);
      if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
      const bmp = await createImageBitmap(await res.blob(), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
      const oc = new OffscreenCanvas(bmp.width, bmp.height), ctx = oc.getContext('2d');
      ctx.drawImage(bmp, 0, 0);
      return { w: bmp.width, h: bmp.height, type: res.headers.get('content-type'), data: ctx.getImageData(0, 0, bmp.width, bmp.height).data };
    };
    const b = await decode(big), out = { w: b.w, h: b.h, type: b.type, kids: [] };
    for (const k of kids) {
      const c = await decode(k.url), half = b.w / 2;
      let diff = 0, opaque = 0;
      for (let y = 0; y < c.h; y++) {
        for (let x = 0; x < c.w; x++) {
          const i = 4 * (y * c.w + x), j = 4 * ((k.dy * half + y) * b.w + k.dx * half + x);
          if (c.data[i] !== b.data[j] || c.data[i + 1] !== b.data[j + 1] || c.data[i + 2] !== b.data[j + 2] || c.data[i + 3] !== b.data[j + 3]) diff++;
          if (c.data[i + 3] === 255) opaque++;
        }
      }
      out.kids.push({ w: c.w, h: c.h, diff, opaque });
    }
    return out;
  }, {
    big: fill(u.xyz2x, z, x, y),
    kids: [[0, 0], [1, 0], [0, 1], [1, 1]].map(([dx, dy]) => ({ dx, dy, url: fill(u.xyz, Number(z) + 1, 2 * Number(x) + dx, 2 * Number(y) + dy) })),
  });
  assert.deepEqual([x2.w, x2.h, x2.type], [2 * size, 2 * size, 'image/png'], `${fill(u.xyz2x, z, x, y)}: not a ${2 * size}-pixel PNG`);
  for (const k of x2.kids) assert.deepEqual([k.w, k.h, k.diff], [size, size, 0], `a quarter of the @2x tile ${r.tile} is not the XYZ tile a zoom deeper: ${JSON.stringify(x2.kids)}`);
  assert.ok(x2.kids.reduce((a, k) => a + k.opaque, 0) > 1000, `the @2x tile has too little data: ${JSON.stringify(x2.kids)}`);
  // The @2x TileJSON: its tiles are the @2x template, of twice the tile size.
  const tj2 = await fetch(u.tilejson2x);
  assert.equal(tj2.status, 200, u.tilejson2x);
  const doc2 = await tj2.json();
  assert.equal(doc2.tileSize, 2 * size);
  assert.equal(doc2.tiles.length, 1);
  const t2 = new URL(doc2.tiles[0]), want2 = new URL(u.xyz2x);
  assert.equal(`${t2.origin}${decodeURI(t2.pathname)}`, `${want2.origin}${decodeURI(want2.pathname)}`, `the @2x TileJSON's tiles ${doc2.tiles[0]}`);
  assert.deepEqual(queryOf(doc2.tiles[0]), queryOf(u.xyz2x), `the @2x TileJSON's tiles ${doc2.tiles[0]}`);
  assert.ok(u.names.some((n) => n.includes(`@2x, ${2 * size} pixels a side`)) && u.names.some((n) => n.includes(`tileSize ${2 * size}`)), `the @2x names: ${u.names}`);
  console.log(`  ${u.xyz}\n  ${r.tile}: ${r.opaque} opaque pixels, ${r.diff} differ; TileJSON and WMTS over the same query; its @2x tile ${x2.w}×${x2.h}, its quarters the tiles a zoom deeper (${x2.kids.map((k) => k.opaque).join(', ')} opaque pixels)`);
  return u;
}

/** Waits until the app on p has started, or failed to (window.tesseraApp.error). */
async function started(p) {
  await p.waitForFunction(() => window.tesseraApp && (window.tesseraApp.ready || window.tesseraApp.error), null, { timeout: 30000 });
}

/**
 * Runs body on a page of its own, closed after: setup (a window size, routes) runs on it
 * before it loads the map, body once the app has started.
 */
async function onOwnPage(setup, body) {
  const p = await browser.newPage();
  try {
    await setup(p);
    await p.goto(base + '/');
    await started(p);
    await body(p);
  } finally {
    await p.close();
  }
}

await check('the page loads, the WebAssembly core starts and the layers are listed', async () => {
  await page.goto(base + '/');
  await started(page);
  assert.equal(await page.evaluate(() => window.tesseraApp.error), undefined);
  const names = await page.$$eval('#layers li b', (bs) => bs.map((b) => b.textContent));
  assert.deepEqual(names.sort(), ['landcover', 'scene']);
  const status = await page.$$eval('#layers .badge', (bs) => bs.map((b) => b.textContent));
  assert.deepEqual(status, ['FINISHED', 'FINISHED']);
  await settled();
});

await check('the named colormaps are the server\'s list (GET colormaps), each also reversed', async () => {
  const listed = await page.evaluate(async () => {
    const prefix = document.querySelector('meta[name="tessera-prefix"]').content;
    const { colormaps } = await (await fetch(prefix + 'colormaps')).json();
    return colormaps;
  });
  assert.ok(listed.length > 0 && listed.includes('viridis'), `server list: ${listed}`);
  const options = await page.$$eval('#cmap-name option', (o) => o.map((x) => x.value));
  assert.deepEqual(options, listed.flatMap((n) => [n, `${n}_r`]));
  assert.equal(await page.$eval('#cmap-name', (s) => s.value), 'rdylgn');
  assert.equal(await page.$eval('#cmap-error', (p) => p.hidden), true);
});

await check('without a token a selected layer has no delete button', async () => {
  await page.click('#layers li[data-id] >> text=scene');
  await page.waitForSelector('#layers li.selected', { timeout: 5000 });
  assert.equal(await page.$eval('#layers li.selected b', (b) => b.textContent), 'scene');
  assert.equal(await page.$$eval('#layers button.delete', (b) => b.length), 0, 'a delete button without a token');
  await page.click('#layers li.selected');
  assert.equal(await page.$$eval('#layers li.selected', (l) => l.length), 0);
});

await check('the layer list works from the keyboard: Tab reaches each layer, Enter and Space select it and unselect it', async () => {
  // The layer under the keyboard focus, or the focused element's tag.
  const focused = () => page.evaluate(() => {
    const li = document.activeElement.closest('#layers li[data-id]');
    return li ? li.querySelector('b').textContent : document.activeElement.tagName;
  });
  const selected = () => page.$$eval('#layers li.selected b', (b) => b.map((x) => x.textContent));
  await page.focus('#formula');
  await page.keyboard.press('Shift+Tab'); // the layers come before the formula
  assert.equal(await focused(), 'landcover', 'Shift+Tab from the formula does not reach the last layer');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await focused(), 'scene');
  await page.keyboard.press('Enter');
  assert.deepEqual(await selected(), ['scene']);
  assert.equal(await focused(), 'scene', 'the focus left the selected layer');
  assert.equal(await page.$eval('#layers li.selected button.pick', (b) => b.getAttribute('aria-pressed')), 'true');
  await page.keyboard.press('Space');
  assert.deepEqual(await selected(), []);
  assert.equal(await focused(), 'scene');
});

await check('each binding control is named after its variable (screen readers, voice control)', async () => {
  // They were named by nothing but their value, the remove button "×".
  for (const v of ['r', 'n']) {
    for (const [role, name] of [['combobox', `layer of ${v}`], ['spinbutton', `band of ${v}`], ['button', `remove ${v}`]]) {
      assert.equal(await page.getByRole(role, { name, exact: true }).count(), 1, `no ${role} named "${name}"`);
    }
  }
  assert.equal(await page.getByRole('textbox', { name: 'variable name', exact: true }).count(), 2);
  // Renamed, the row's controls follow.
  await page.fill('#bindings tbody tr:first-child [name=var]', 'red');
  assert.equal(await page.getByRole('combobox', { name: 'layer of red', exact: true }).count(), 1);
  await page.fill('#bindings tbody tr:first-child [name=var]', 'r');
  await page.dispatchEvent('#bindings tbody tr:first-child', 'change');
  assert.equal(await page.getByRole('combobox', { name: 'layer of r', exact: true }).count(), 1);
});

await check('without the server\'s list the select stays empty and says why', async () => {
  await onOwnPage(async (p2) => {
    await p2.route((u) => u.pathname.endsWith('/colormaps'), (r) => r.fulfill({ status: 503, contentType: 'application/json', body: '{"error": "colormap list unavailable (test)"}' }));
  }, async (p2) => {
    assert.equal(await p2.$$eval('#cmap-name option', (o) => o.length), 0);
    assert.equal(await p2.$eval('#cmap-error', (p) => p.hidden), false, 'the error is not shown');
    const msg = await p2.$eval('#cmap-error', (p) => p.textContent);
    assert.ok(msg.includes('colormap list unavailable (test)'), `error text: ${msg}`);
  });
});

await check('without tessera.wasm the page says which file did not load and how to build it', async () => {
  await onOwnPage(async (p2) => {
    await p2.route((u) => u.pathname.endsWith('/tessera.wasm'), (r) => r.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' }));
  }, async (p2) => {
    const msg = await p2.$eval('#app-status', (p) => p.textContent);
    // It said only "failed to start: the server answered 404".
    assert.equal(msg, 'failed to start: tessera.wasm: the WebAssembly core did not load (the server answered 404); `make web` builds it into the server');
  });
});

await check('on a phone-sized window the map is as wide as the window, under the panel, with tiles', async () => {
  await onOwnPage(async (p3) => {
    await p3.setViewportSize({ width: 375, height: 667 });
  }, async (p3) => {
    const box = (s) => p3.$eval(s, (e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });
    const map = await box('#map'), panel = await box('#panel');
    console.log(`  panel ${JSON.stringify(panel)}, map ${JSON.stringify(map)}`);
    // Side by side the map had 35 of the 375 pixels.
    assert.ok(map.w >= 374 && map.h >= 300, `the map is ${map.w}×${map.h} pixels in a 375×667 window`);
    assert.ok(panel.y + panel.h <= map.y + 0.5 && map.y + map.h <= 667.5, `the panel ${JSON.stringify(panel)} and the map ${JSON.stringify(map)} overlap`);
    assert.equal(await p3.evaluate(() => document.documentElement.scrollWidth), 375, 'the page scrolls sideways');
    await p3.waitForFunction(() => document.querySelectorAll('#map canvas.tile[data-state=rendered]:not([data-empty="1"])').length > 0, null, { timeout: 30000 });
  });
});

await check('nothing sticks out of the panel: a long layer name wraps, a long formula\'s error snippet scrolls to its span', async () => {
  const long = 'sentinel2_L2A_T33UVP_20240615T100559_B04_10m_reprojected_scene';
  await onOwnPage(async (p4) => {
    await p4.setViewportSize({ width: 375, height: 667 });
    // The scene layer, listed under a long name without spaces.
    await p4.route((u) => u.pathname.endsWith('/raster/layers'), async (r) => {
      const layers = await (await r.fetch()).json();
      for (const l of layers) if (l.name === 'scene') l.name = long;
      await r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(layers) });
    });
  }, async (p4) => {
    // The elements of the panel whose right edge is past the panel's (the panel scrolled sideways).
    const outside = () => p4.evaluate(() => {
      const p = document.querySelector('#panel'), right = p.getBoundingClientRect().left + p.clientWidth;
      return [...p.querySelectorAll('*')].filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > right + 0.5 && !e.closest('pre'))
        .map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${e.textContent.slice(0, 40)}`).concat(p.scrollWidth > p.clientWidth ? [`panel scrollWidth ${p.scrollWidth} > ${p.clientWidth}`] : []);
    });
    assert.ok(await p4.$$eval('#layers li b', (b, n) => b.some((x) => x.textContent === n), long), 'the long name is not listed');
    assert.deepEqual(await outside(), [], 'with a long layer name');
    const f = '(n - r) / (n + r) + sqrt(abs(n * r)) / (n + r + 1) - clamp(n, 0, 1) * max(n, r) + foo';
    await p4.fill('#formula', f);
    await p4.waitForSelector('#formula-error:not([hidden])', { timeout: 5000 });
    assert.deepEqual(await outside(), [], 'with a long formula\'s error');
    const seen = await p4.$eval('#formula-error .snippet', (pre) => {
      const m = pre.querySelector('mark').getBoundingClientRect(), r = pre.getBoundingClientRect();
      return { mark: [m.left, m.right], pre: [r.left, r.right], text: pre.querySelector('mark').textContent };
    });
    assert.ok(seen.text.length > 0 && seen.mark[0] >= seen.pre[0] - 1 && seen.mark[1] <= seen.pre[1] + 1, `the span ${seen.mark} is outside the snippet's view ${seen.pre}`);
  });
});

await check('the panel reads at 1280×800 and on a 390×844 phone: each URL box shows its path, each upload field has a visible label, placeholders fit, text has 4.5:1 contrast, nothing sticks out', async () => {
  for (const [w, h] of [[1280, 800], [390, 844]]) {
    await onOwnPage(async (pg) => {
      await pg.setViewportSize({ width: w, height: h });
    }, async (pg) => {
      // On the phone "Use this map" and "Add a layer" start folded (the panel, 45% of the
      // window's height, was some 1300 pixels long); from the keyboard, Enter on a heading
      // opens its section. At 1280×800 they are open.
      const folds = () => pg.$$eval('details.fold', (d) => d.map((x) => x.open));
      const phone = w <= 640;
      assert.deepEqual(await folds(), [!phone, !phone], `the sections' open at ${w}×${h}`);
      if (phone) {
        const folded = await pg.$eval('#panel', (p) => p.scrollHeight);
        await pg.focus('#use > summary');
        await pg.keyboard.press('Enter');
        await pg.click('#add > summary');
        assert.deepEqual(await folds(), [true, true]);
        const open = await pg.$eval('#panel', (p) => p.scrollHeight);
        console.log(`  the phone's panel: ${folded} pixels long folded, ${open} open`);
        assert.ok(folded < 0.7 * open, `the panel is ${folded} pixels long folded, ${open} open`);
      }
      await pg.fill('#upload [name=token]', token);
      await pg.dispatchEvent('#upload [name=token]', 'change');
      await pg.click('#layers li[data-id] >> text=scene');
      await pg.waitForSelector('#layers li.selected button.delete', { timeout: 5000 });
      const seen = await pg.evaluate(() => {
        const panel = document.querySelector('#panel');
        // Each URL box holds what sets its URL apart (its path, @2x, tile_scale=2) with no
        // scrolling: one line showed the same "http://host/raster/alge" in every box.
        const marks = { xyz: '.png', xyz2x: '@2x.png', tilejson: 'algebra.json', tilejson2x: 'tile_scale=2', wmts: 'WMTSCapabilities.xml' };
        const hidden = [];
        for (const [k, mark] of Object.entries(marks)) {
          const box = document.getElementById(`use-${k}`), full = box.value, at = full.indexOf(mark);
          if (at < 0) { hidden.push(`${k}: no ${mark} in ${full}`); continue; }
          box.value = full.slice(0, at + mark.length);
          if (box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight) hidden.push(`${k}: ${box.value} is ${box.scrollWidth}×${box.scrollHeight} in a ${box.clientWidth}×${box.clientHeight} box`);
          box.value = full;
        }
        // The upload form's fields, named by the text of their labels, on screen.
        const labels = [...document.querySelectorAll('#upload input, #upload select')].map((c) => {
          const l = c.labels && c.labels[0];
          if (!l) return `${c.name}: no label`;
          const text = [...l.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('').trim();
          const r = document.createRange();
          r.selectNodeContents(l.firstChild);
          return r.getBoundingClientRect().width > 0 ? text : `${c.name}: its label is not shown`;
        });
        // A placeholder wider than its box was cut off ("max zoom, 0 to 19 (default: from the resolu").
        const ctx = document.createElement('canvas').getContext('2d');
        const cut = [...document.querySelectorAll('#upload [placeholder]')].filter((i) => {
          const cs = getComputedStyle(i);
          ctx.font = cs.font;
          return ctx.measureText(i.placeholder).width > i.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
        }).map((i) => `${i.name}: "${i.placeholder}"`);
        // WCAG AA: text against its background at 4.5:1 at least (the grey of .muted was 4.4:1
        // on the panel, 3.9:1 on a selected layer).
        const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
        const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
          .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
        const bg = (e) => {
          for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c; }
          return [255, 255, 255];
        };
        const low = [];
        for (const e of panel.querySelectorAll('*')) {
          if (!e.getClientRects().length || e.closest('select, [disabled], [aria-disabled=true]')) continue;
          if (![...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim())) continue;
          const a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e)), ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
          if (ratio < 4.5) low.push(`${e.tagName.toLowerCase()}.${e.className} "${e.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
        }
        const right = panel.getBoundingClientRect().left + panel.clientWidth;
        const outside = [...panel.querySelectorAll('*')].filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > right + 0.5 && !e.closest('pre'))
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`).concat(panel.scrollWidth > panel.clientWidth ? [`panel scrollWidth ${panel.scrollWidth} > ${panel.clientWidth}`] : []);
        return { hidden, labels, cut, low, outside };
      });
      const at = `at ${w}×${h}`;
      assert.deepEqual(seen.hidden, [], `URL boxes ${at}`);
      assert.deepEqual(seen.labels, ['admin token', 'name', 'datatype', 'max zoom', 'file', 'or URL'], `the upload form's labels ${at}`);
      assert.deepEqual(seen.cut, [], `placeholders cut off ${at}`);
      assert.deepEqual(seen.low, [], `text under 4.5:1 contrast ${at}`);
      assert.deepEqual(seen.outside, [], `sticking out of the panel ${at}`);
      // The label names its field for assistive technology too.
      for (const name of ['admin token', 'name', 'datatype', 'max zoom', 'file', 'or URL']) {
        assert.equal(await pg.locator('#upload').getByLabel(name, { exact: true }).count(), 1, `no field labelled "${name}" ${at}`);
      }
    });
  }
});

await check('a layer whose parse failed says why in the list, and says FAILED in the layer selects', async () => {
  // A failed upload, as GET layers lists it (the last log line is the failure's).
  const why = 'The file uploads/0a1b2c-notes.tif is not a raster GDAL can read (not recognized as a supported file format). Check that it is a raster format GDAL supports, such as GeoTIFF.';
  const failed = { id: 9999, name: 'notes', datatype: 'co', source: 'notes.tif', version: 1, max_zoom: 0, bands: [], metadata: {},
    parse: { status: 'FAILED', code: 6, version: 1, log: ['[2026-01-01 00:00:00] Started parsing raster.', `[2026-01-01 00:00:01] ${why}`], finished_zooms: [], tiles_done: 0, tiles_total: 0 } };
  await onOwnPage(async (p5) => {
    await p5.route((u) => u.pathname.endsWith('/raster/layers'), async (r) => {
      const layers = await (await r.fetch()).json();
      await r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify([...layers, failed]) });
    });
  }, async (p5) => {
    const li = await p5.$eval('#layers li[data-id="9999"]', (e) => ({ badge: e.querySelector('.badge').textContent, meta: e.querySelector('.meta').textContent }));
    // It said "no bands yet", as if the parse were still to come.
    assert.deepEqual(li, { badge: 'FAILED', meta: why });
    // The bindings' layer selects say so too (it read "notes", and bound it gave an empty map).
    assert.deepEqual(await p5.$$eval('#bindings select[name=layer] option[value="9999"]', (o) => o.map((x) => x.textContent)), ['notes (FAILED)', 'notes (FAILED)']);
  });
});

await check('the upload\'s status is in sight once the upload button is pressed at the panel\'s bottom edge', async () => {
  await onOwnPage(async (p6) => {
    await p6.setViewportSize({ width: 375, height: 667 });
    await p6.route((u) => u.pathname.endsWith('/raster/layers'), (r) => (r.request().method() === 'POST'
      ? r.fulfill({ status: 401, contentType: 'application/json', body: '{"error": "the bearer token is not valid (test)"}' })
      : r.continue()));
  }, async (p6) => {
    await p6.click('#add > summary'); // folded on a phone
    await p6.fill('#upload [name=token]', 'some-token');
    await p6.fill('#upload [name=url]', 'https://example.com/scene.tif');
    // As a user scrolls to it: the button at the panel's bottom edge, pressed where it is.
    await p6.$eval('#upload button[type=submit]', (b) => b.scrollIntoView({ block: 'end' }));
    const b = await p6.locator('#upload button[type=submit]').boundingBox();
    await p6.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
    await p6.waitForFunction(() => document.querySelector('#status-text').textContent.includes('(test)'), null, { timeout: 5000 });
    const seen = await p6.evaluate(() => {
      const p = document.querySelector('#panel').getBoundingClientRect(), t = document.querySelector('#status-text').getBoundingClientRect();
      return { panel: [p.top, p.bottom], text: [t.top, t.bottom] };
    });
    assert.ok(seen.text[0] >= seen.panel[0] && seen.text[1] <= seen.panel[1] + 0.5, `the status ${seen.text} is outside the panel's view ${seen.panel}`);
  });
});

await check('"Use this map" gives the default view\'s XYZ, TileJSON and WMTS URLs; copy puts one on the clipboard', async () => {
  const u = await checkUseURLs();
  assert.equal(u.tokenNote, false, 'the token note shows on a server with public reads');
  // The export of the view: its layers, formula and colormap, the file named after the formula,
  // at the scene's max zoom (the view's tiles there are under the pixel limit).
  const scene = await page.evaluate(() => window.tesseraApp.state.layers.find((l) => l.name === 'scene'));
  const e = new URL(u.download.href), v = await page.evaluate(() => window.tesseraApp.view());
  assert.equal(`${e.origin}${e.pathname}`, `${origin}/raster/export`);
  assert.deepEqual(['layers', 'formula', 'colormap', 'zoom', 'filename'].map((k) => e.searchParams.get(k)),
    [v.layers, v.formula, v.colormap, String(scene.max_zoom), 'tessera-n-r-n-r']);
  assert.equal(u.download.filename, 'tessera-n-r-n-r.zip');
  assert.equal(u.download.text, `Download GeoTIFF (zoom ${scene.max_zoom})`);
  const bbox = e.searchParams.get('bbox').split(',').map(Number);
  const view = await page.evaluate(() => { const b = window.tesseraApp.map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; });
  assert.ok(bbox.every((b, i) => Math.abs(b - view[i]) < 2e-6), `bbox ${bbox}, the map's view ${view}`);
  // Copy: on the clipboard, and the button says so.
  await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  await page.click('[data-copy="use-wmts"]');
  await page.waitForFunction(() => document.querySelector('[data-copy="use-wmts"]').textContent === 'copied', null, { timeout: 3000 });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), u.wmts);
  // Without the Clipboard API the text is selected, for the user's Ctrl+C.
  const sel = await page.evaluate(async () => {
    const own = Object.getOwnPropertyDescriptor(Navigator.prototype, 'clipboard');
    Object.defineProperty(Navigator.prototype, 'clipboard', { configurable: true, get: () => undefined });
    try {
      const b = document.querySelector('[data-copy="use-tilejson"]'), box = document.querySelector('#use-tilejson');
      b.click();
      await new Promise((ok) => setTimeout(ok, 50));
      return { text: b.textContent, focused: document.activeElement === box, sel: [box.selectionStart, box.selectionEnd], len: box.value.length };
    } finally {
      Object.defineProperty(Navigator.prototype, 'clipboard', own);
    }
  });
  assert.deepEqual(sel, { text: 'selected', focused: true, sel: [0, sel.len], len: sel.len });
});

let ndvi;
await check('client-rendered NDVI tile equals the server PNG (RdYlGn, range -1..1)', async () => {
  ndvi = await compareWithServer();
  console.log(`  ${ndvi.tile}: ${ndvi.opaque} opaque pixels, ${ndvi.colors} colours, ${ndvi.diff} differ`);
  assert.ok(ndvi.opaque > 1000, `the tile has too little data: ${ndvi.opaque} opaque pixels`);
  assert.ok(ndvi.colors > 10, `the tile has only ${ndvi.colors} colours`);
  assert.equal(ndvi.diff, 0, `${ndvi.diff} pixels differ from ${ndvi.url}`);
  assert.ok(msgpack.length > 0, 'no .msgpack band tile was fetched');
});

await check('changing the colormap re-renders from cached bands without a request', async () => {
  const before = msgpack.length, fetches = await page.evaluate(() => window.tesseraApp.stats.bandFetches);
  await page.selectOption('#cmap-name', 'viridis');
  await settled();
  const viridis = await compareWithServer();
  console.log(`  ${viridis.tile}: centre pixel ${ndvi.sample} → ${viridis.sample}, ${viridis.diff} differ from the server`);
  assert.equal(msgpack.length, before, 'the colormap change fetched band tiles');
  assert.equal(await page.evaluate(() => window.tesseraApp.stats.bandFetches), fetches);
  assert.equal(viridis.diff, 0, `viridis: ${viridis.diff} pixels differ from ${viridis.url}`);
  assert.notDeepEqual(viridis.sample, ndvi.sample, 'the pixels did not change');
});

await check('a new formula re-renders without a request and equals the server', async () => {
  const before = msgpack.length;
  await page.fill('#formula', 'n - r');
  await page.fill('#range-min', '-500');
  await page.fill('#range-max', '4000');
  await page.dispatchEvent('#range-max', 'change');
  await settled();
  const r = await compareWithServer();
  assert.equal(msgpack.length, before, 'the formula change fetched band tiles');
  assert.equal(r.diff, 0, `n - r: ${r.diff} pixels differ from ${r.url}`);
  assert.ok(r.colors > 10);
});

await check('a range with one end only says so (it is no range: each tile\'s own minimum and maximum)', async () => {
  const shown = () => page.$eval('#range-error', (p) => (p.hidden ? null : p.textContent));
  await page.fill('#range-max', '');
  await page.dispatchEvent('#range-max', 'change');
  // The lone minimum was dropped without a word.
  assert.match(await shown() || '', /give the maximum too/);
  assert.equal(await page.$eval('#range-max', (i) => i.classList.contains('bad')), true);
  assert.equal(await page.$eval('#colorbar .hi', (s) => s.textContent), 'tile max');
  await page.fill('#range-max', '4000');
  await page.dispatchEvent('#range-max', 'change');
  assert.equal(await shown(), null);
  assert.equal(await page.$eval('#range-max', (i) => i.classList.contains('bad')), false);
  await settled();
});

await check('"Use this map" follows a new formula and colormap; its GeoTIFF download is the export zip, at a zoom under the server\'s own export limit', async () => {
  const u = await checkUseURLs();
  const v = await page.evaluate(() => window.tesseraApp.view());
  assert.equal(v.formula, 'n - r');
  assert.ok(JSON.parse(new URL(u.xyz).searchParams.get('colormap')).name === 'viridis', `colormap ${v.colormap}`);
  // The download: the server's zip, saved under the export's file name.
  const e = new URL(u.download.href);
  assert.equal(e.searchParams.get('filename'), 'tessera-n-r');
  assert.equal(e.searchParams.get('colormap'), v.colormap);
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), page.click('#use-download')]);
  assert.equal(dl.suggestedFilename(), 'tessera-n-r.zip');
  const zip = readFileSync(await dl.path());
  assert.equal(zip.subarray(0, 2).toString('latin1'), 'PK', 'the download is no zip');
  assert.ok(zip.includes(Buffer.from('tessera-n-r.tif')) && zip.includes(Buffer.from('COLORMAP.txt')), 'the zip lacks the GeoTIFF or COLORMAP.txt');
  await page.waitForFunction(() => document.querySelector('#use-download-status').textContent === 'saved tessera-n-r.zip', null, { timeout: 5000 });
  console.log(`  ${u.download.text}: ${zip.length} bytes`);
  // The page has the server's settings (GET config): this server's RASTER_EXPORT_MAX_PIXELS,
  // 16 M (browser_test.go), not the default 100 M.
  const config = await (await fetch(`${base}/raster/config`)).json();
  assert.equal(config.export_max_pixels, 16000000);
  assert.deepEqual(await page.evaluate(() => window.tesseraApp.state.config), config);
  // Three zooms out from the scene's max zoom, the view's tiles at that zoom (some 60 M pixels
  // in the test's 940×800 map) are under the default limit but over this server's: the
  // export is at the map's zoom, which the server takes, not at the max zoom, which it refuses
  // (the page offered it when it assumed the default limit).
  const deepest = await page.evaluate(() => window.tesseraApp.state.layers.find((l) => l.name === 'scene').max_zoom);
  const moved = (z) => page.waitForFunction((z) => window.tesseraApp.map.getZoom() === z, z, { timeout: 5000 });
  await page.evaluate((z) => window.tesseraApp.map.setZoom(z, { animate: false }), deepest - 3);
  await moved(deepest - 3);
  const big = await useSection();
  assert.equal(big.download.text, `Download GeoTIFF (zoom ${deepest - 3})`);
  assert.notEqual(big.download.href, u.download.href, 'the export did not follow the view');
  const atZoom = (href, z) => { const x = new URL(href); x.searchParams.set('zoom', String(z)); return x.href; };
  const refused = await fetch(atZoom(big.download.href, deepest));
  assert.equal(refused.status, 400, 'the view at the max zoom is not over the server\'s limit');
  assert.match((await refused.json()).error, /^Export raster too large\..*RASTER_EXPORT_MAX_PIXELS \(16000000\)/);
  const taken = await fetch(big.download.href);
  assert.equal(taken.status, 200, `${big.download.href}: ${taken.status}`);
  await taken.arrayBuffer();
  // Far out, the export is at the map's zoom.
  await page.evaluate(() => window.tesseraApp.map.setZoom(3, { animate: false }));
  await moved(3);
  const far = await useSection();
  assert.equal(new URL(far.download.href).searchParams.get('zoom'), '3');
  assert.equal(far.download.text, 'Download GeoTIFF (zoom 3)');
  assert.equal(far.error, null);
  await page.evaluate(() => {
    const b = window.tesseraApp.state.layers.find((l) => l.name === 'scene').bounds;
    window.tesseraApp.map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { animate: false });
  });
  await settled();
});

await check('an export the server refuses (a page loaded before the server was restarted with a lower limit) shows the server\'s error, and a new view drops it', async () => {
  await onOwnPage(async (p2) => {
    // The page gets the default limit in place of this server's 16 M.
    await p2.route((u) => u.pathname === '/raster/config', async (r) => {
      const res = await r.fetch();
      await r.fulfill({ response: res, json: { ...(await res.json()), export_max_pixels: 10000 * 10000 } });
    });
  }, async (p2) => {
    assert.equal(await p2.evaluate(() => window.tesseraApp.state.config.export_max_pixels), 10000 * 10000);
    const scene = await p2.evaluate(() => window.tesseraApp.state.layers.find((l) => l.name === 'scene'));
    const deepest = scene.max_zoom, moved = (z) => p2.waitForFunction((z) => window.tesseraApp.map.getZoom() === z, z, { timeout: 5000 });
    await p2.evaluate((z) => window.tesseraApp.map.setZoom(z, { animate: false }), deepest - 3);
    await moved(deepest - 3);
    const big = await useSection(p2);
    assert.equal(big.download.text, `Download GeoTIFF (zoom ${deepest})`);
    const want = await fetch(big.download.href);
    assert.equal(want.status, 400, big.download.href);
    const msg = (await want.json()).error;
    assert.match(msg, /^Export raster too large\./);
    let downloads = 0;
    p2.on('download', () => { downloads++; });
    await p2.click('#use-download');
    await p2.waitForSelector('#use-error:not([hidden])', { timeout: 30000 });
    assert.equal(await p2.$eval('#use-error', (p) => p.textContent), `export: ${msg}`);
    await p2.waitForTimeout(200);
    assert.equal(downloads, 0, 'a refused export was downloaded');
    // Far out, the export is at the map's zoom, and the former refusal is gone.
    await p2.evaluate(() => window.tesseraApp.map.setZoom(3, { animate: false }));
    await moved(3);
    const far = await useSection(p2);
    assert.equal(far.download.text, 'Download GeoTIFF (zoom 3)');
    assert.equal(far.error, null, 'the refusal of another view still shows');
  });
});

await check('a bad formula shows the error with the server\'s position', async () => {
  const bad = '(n - r) / (n +* r)';
  await page.fill('#formula', bad);
  await page.waitForSelector('#formula-error:not([hidden])', { timeout: 5000 });
  const shown = await page.$eval('#formula-error', (e) => ({ msg: e.querySelector('.msg').textContent, snippet: e.querySelector('.snippet').textContent, start: Number(e.dataset.start), end: Number(e.dataset.end) }));
  const layers = await page.evaluate(() => window.tesseraApp.view().layers);
  const res = await fetch(`${base}/raster/algebra/12/2173/1420.png?${new URLSearchParams({ layers, formula: bad })}`);
  assert.equal(res.status, 400);
  const server = await res.json();
  console.log(`  shown: ${shown.msg} [${shown.start}, ${shown.end})\n  ${shown.snippet.split('\n').join('\n  ')}`);
  assert.deepEqual([shown.start, shown.end], server.pos);
  assert.equal(shown.snippet, server.snippet);
  assert.ok(server.error.includes(shown.msg), `server says ${server.error}, page ${shown.msg}`);
  assert.ok(shown.start > 0 && shown.start < bad.length);
  assert.equal(await page.$eval('#formula-error .snippet mark', (m) => m.textContent), bad.slice(shown.start, shown.end), 'the span is not marked');
});

await check('with a bad formula "Use this map" is disabled and says why', async () => {
  const u = await useSection();
  assert.match(u.off || '', /formula has an error/);
  assert.deepEqual([u.xyz, u.xyz2x, u.tilejson, u.tilejson2x, u.wmts], ['', '', '', '', '']);
  assert.ok(u.disabled.length === 10 && u.disabled.every((d) => d), `controls ${u.disabled}`);
  assert.deepEqual([u.download.href, u.download.disabled], [null, true]);
});

await check('the error highlight never moves the caret nor changes the text', async () => {
  const caret = () => page.$eval('#formula', (f) => [f.selectionStart, f.selectionEnd, f.value]);
  const errorShown = async () => {
    await page.waitForSelector('#formula-error:not([hidden])', { timeout: 5000 });
    await page.waitForTimeout(400); // past the input's debounce
  };
  // Typing: the error is at 0, the caret at 2; the check must leave the caret there.
  await page.fill('#formula', 'n - r');
  await page.waitForSelector('#formula-error[hidden]', { state: 'attached', timeout: 5000 });
  await page.click('#formula');
  await page.keyboard.press('Home');
  await page.keyboard.type('* ');
  await errorShown();
  assert.deepEqual(await caret(), [2, 2, '* n - r'], 'the caret moved while the error was shown');
  const mark = await page.$eval('#formula-error', (e) => ({ text: (e.querySelector('.snippet mark') || {}).textContent, start: Number(e.dataset.start), end: Number(e.dataset.end) }));
  assert.deepEqual(mark, { text: '*', start: 0, end: 1 }, 'the error span is not highlighted');
  await page.keyboard.type('x');
  assert.equal((await caret())[2], '* xn - r', 'typing overwrote the formula');
  // Editing a variable, then clicking into the formula box (the variable's change event runs
  // on that click): the caret stays where the click put it.
  await page.fill('#formula', '(n - r) / (n + r)');
  await page.waitForSelector('#formula-error[hidden]', { state: 'attached', timeout: 5000 });
  await page.fill('#bindings tbody tr:last-child [name=var]', 'm');
  const box = await page.locator('#formula').boundingBox();
  await page.mouse.click(box.x + box.width - 4, box.y + box.height / 2);
  await errorShown();
  assert.deepEqual(await caret(), [17, 17, '(n - r) / (n + r)'], 'the caret jumped to the error');
  await page.keyboard.type(' + 1');
  await page.waitForTimeout(400); // the formula is checked again: n is still undeclared
  assert.deepEqual(await caret(), [21, 21, '(n - r) / (n + r) + 1'], 'the caret jumped to the error');
  await page.keyboard.type('0');
  assert.equal((await caret())[2], '(n - r) / (n + r) + 10', 'typing overwrote the formula');
  await page.fill('#bindings tbody tr:last-child [name=var]', 'n');
  await page.dispatchEvent('#bindings tbody tr:last-child', 'change');
});

await check('a legend colours the land cover as the server does', async () => {
  await page.fill('#formula', 'x');
  await page.evaluate(() => {
    const tr = document.querySelector('#bindings tbody tr:last-child');
    tr.remove();
    const first = document.querySelector('#bindings tbody tr');
    first.querySelector('[name=var]').value = 'x';
    const sel = first.querySelector('[name=layer]');
    sel.value = [...sel.options].find((o) => o.textContent === 'landcover').value;
    first.querySelector('[name=band]').value = '0';
  });
  await page.selectOption('#cmap-kind', 'legend');
  await page.evaluate(() => {
    const b = window.tesseraApp.state.layers.find((l) => l.name === 'landcover').bounds;
    window.tesseraApp.map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  });
  await page.dispatchEvent('#bindings tbody tr', 'change');
  await settled();
  const r = await compareWithServer();
  console.log(`  ${r.tile}: ${r.opaque} opaque pixels, ${r.colors} colours, ${r.diff} differ`);
  assert.equal(r.diff, 0, `legend: ${r.diff} pixels differ from ${r.url}`);
  assert.ok(r.colors >= 3 && r.colors <= 6, `${r.colors} colours for a 6-class legend`);
  const swatches = await page.$$eval('#colorbar .swatches li', (li) => li.length);
  assert.equal(swatches, 6);
  // Zoomed in with the + button: the counts are those of the new zoom's tiles (the former
  // zoom's, kept until pruned, were added to them).
  const counted = () => page.evaluate(() => {
    const shown = [...document.querySelectorAll('#colorbar .swatches li span.muted')].reduce((a, s) => a + Number(s.textContent.replace(/[^0-9]/g, '')), 0);
    const z = window.tesseraApp.map.getZoom();
    const tiles = [...document.querySelectorAll('#map canvas.tile')].filter((c) => Number(c.dataset.z) === z);
    return { shown, want: tiles.reduce((a, c) => a + Object.values(c.counts || {}).reduce((x, y) => x + y, 0), 0) };
  });
  const before = await counted();
  assert.ok(before.shown > 0 && before.shown === before.want, `counts ${JSON.stringify(before)}`);
  await page.click('.leaflet-control-zoom-in');
  await page.waitForFunction((z) => window.tesseraApp.map.getZoom() === z + 1, Number(r.tile.split('/')[0]), { timeout: 5000 });
  await settled();
  await page.waitForTimeout(600); // past the former zoom's pruning
  const after = await counted();
  assert.ok(after.shown > before.shown && after.shown === after.want, `counts after a zoom in ${JSON.stringify(after)} (before ${JSON.stringify(before)})`);
  await page.click('.leaflet-control-zoom-out');
  await page.waitForFunction((z) => window.tesseraApp.map.getZoom() === z, Number(r.tile.split('/')[0]), { timeout: 5000 });
  await settled();
});

await check('the legend\'s counts follow a re-render whose bands are fetched again, and one whose fetch fails', async () => {
  // The land cover legend is shown (the check before). The bands of half the tiles with data
  // are dropped from the cache and their fetches delayed: a new formula re-renders the others
  // at once and fetches those again. The bar was drawn when the re-render began, those tiles
  // counted with the former formula's counts, and not again once they were re-rendered
  // (Leaflet's load event does not fire for them): it kept counts of no formula.
  const bar = () => page.evaluate(() => {
    const shown = {};
    for (const li of document.querySelectorAll('#colorbar .swatches li')) {
      const m = /\((\S+)\)\s*([\d,]+) px/.exec(li.textContent);
      if (m) shown[m[1]] = Number(m[2].replace(/,/g, ''));
    }
    const note = document.querySelector('#colorbar .swatches li.uncounted');
    const app = window.tesseraApp, z = app.map.getZoom(), g = String(app.state.gen);
    const tiles = [...document.querySelectorAll('#map canvas.tile')].filter((c) => Number(c.dataset.z) === z);
    const sum = (cs) => {
      const o = {};
      for (const c of cs) for (const [k, n] of Object.entries(c.counts || {})) o[k] = (o[k] || 0) + n;
      return o;
    };
    return {
      shown, note: note ? note.textContent : null,
      rendered: sum(tiles.filter((c) => c.dataset.state === 'rendered' && c.dataset.gen === g)),
      all: sum(tiles), states: tiles.map((c) => c.dataset.state),
    };
  });
  /** Types formula f into the box, and waits until the page applied it. */
  const type = async (f) => {
    const gen = await page.evaluate(() => window.tesseraApp.state.gen);
    await page.fill('#formula', f);
    await page.waitForFunction((g) => window.tesseraApp.state.gen > g, gen, { timeout: 5000 });
  };
  const settle = () => page.waitForFunction(() => {
    const tiles = [...document.querySelectorAll('#map canvas.tile')];
    return tiles.length > 0 && tiles.every((c) => c.dataset.state !== 'loading');
  }, null, { timeout: 30000 });
  assert.equal(await page.$eval('#cmap-kind', (e) => e.value), 'legend');
  const before = await bar();
  assert.ok(Object.keys(before.shown).length >= 3 && before.note === null, JSON.stringify(before));
  assert.deepEqual(before.shown, before.all);
  /** Drops the bands of every other tile with data at the map's zoom; returns how many. */
  const evict = () => page.evaluate(() => {
    const app = window.tesseraApp, layer = app.layer, v = app.view(), z = app.map.getZoom();
    const tiles = [...document.querySelectorAll('#map canvas.tile')].filter((c) => Number(c.dataset.z) === z && c.dataset.empty !== '1');
    let n = 0;
    tiles.forEach((c, i) => {
      if (i % 2) return;
      layer.source.cache.delete(layer.source.key(v.layers, +c.dataset.z, +c.dataset.x, +c.dataset.y));
      n++;
    });
    return n;
  });
  const evicted = await evict();
  assert.ok(evicted >= 1, 'no tile with data');
  const msgpackRoute = (u) => u.pathname.endsWith('.msgpack');
  await page.route(msgpackRoute, async (r) => { await new Promise((ok) => setTimeout(ok, 1000)); await r.continue(); });
  try {
    // 7 - x: the classes 1…6 become 6…1, the same binding (no reload).
    await type('7 - x');
    const during = await bar();
    assert.equal(during.states.filter((s) => s === 'loading').length, evicted, JSON.stringify(during.states));
    assert.deepEqual(during.shown, during.rendered, 'while tiles are fetched again the bar counts only the tiles rendered for the new formula');
    assert.equal(during.note, `not counted: ${evicted} tile${evicted === 1 ? '' : 's'} loading`);
    await settle();
    const after = await bar();
    console.log(`  ${evicted} of ${during.states.length} tiles fetched again: ${JSON.stringify(during.shown)} while, ${JSON.stringify(after.shown)} after`);
    assert.ok(after.states.every((s) => s === 'rendered'), JSON.stringify(after.states));
    assert.deepEqual(after.shown, after.all, 'once every tile is re-rendered the bar counts them all');
    assert.equal(after.note, null);
    assert.notDeepEqual(after.shown, before.shown, 'the counts did not change with the formula');
    assert.equal(after.shown['1'], before.shown['6'], 'class 6 is 1 under 7 - x');
  } finally {
    await page.unroute(msgpackRoute);
  }
  // A re-fetch that fails: the bar is drawn again when it does, those tiles left out.
  const evicted2 = await evict();
  const fail = (r) => r.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"the server is busy"}' });
  await page.route(msgpackRoute, fail);
  try {
    await type('x');
    await settle();
    const failed = await bar();
    assert.equal(failed.states.filter((s) => s === 'error').length, evicted2, JSON.stringify(failed.states));
    assert.deepEqual(failed.shown, failed.rendered);
    assert.deepEqual(failed.shown, failed.all, 'a failed tile has no counts');
    assert.equal(failed.note, `not counted: ${evicted2} tile${evicted2 === 1 ? '' : 's'} in error`);
    assert.equal(await page.$eval('#tile-error', (e) => e.textContent), 'the server is busy');
  } finally {
    await page.unroute(msgpackRoute, fail);
  }
  // The server answers again: the next change fetches them, and the bar counts every tile.
  await type(' x');
  await settled();
  await page.waitForTimeout(50);
  const back = await bar();
  assert.deepEqual(back.shown, back.all);
  assert.deepEqual(back.shown, before.shown, 'x again: the counts of the start');
  assert.equal(back.note, null);
});

await check('the server-tile toggle shows the server\'s PNG tiles', async () => {
  const before = msgpack.length;
  await page.check('#server-tiles');
  await settled();
  const modes = await page.$$eval('#map canvas.tile', (cs) => [...new Set(cs.map((c) => c.dataset.mode))]);
  assert.deepEqual(modes, ['server']);
  const r = await compareWithServer();
  assert.equal(r.diff, 0);
  assert.equal(msgpack.length, before, 'server mode fetched band tiles');
  await page.uncheck('#server-tiles');
  await settled();
});

await check('server PNG tiles of 512 pixels (RASTER_TILESIZE=512) fill their tile', async () => {
  // A 512×512 PNG, red but for a blue bottom-right quarter, stands in for the server's tiles:
  // the canvas was 256 pixels and showed only the image's top-left quarter.
  const png = Buffer.from(await page.evaluate(async () => {
    const c = new OffscreenCanvas(512, 512), x = c.getContext('2d');
    x.fillStyle = '#ff0000'; x.fillRect(0, 0, 512, 512);
    x.fillStyle = '#0000ff'; x.fillRect(256, 256, 256, 256);
    return [...new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer())];
  }));
  const route = /\/algebra\/\d+\/\d+\/\d+\.png/;
  await page.route(route, (r) => r.fulfill({ status: 200, contentType: 'image/png', body: png }));
  try {
    await page.check('#server-tiles');
    await settled();
    const tiles = await page.$$eval('#map canvas.tile', (cs) => cs.map((c) => {
      const d = c.getContext('2d').getImageData(c.width - 1, c.height - 1, 1, 1).data;
      return { w: c.width, h: c.height, rgba: [...d], css: c.style.width };
    }));
    assert.ok(tiles.length > 0);
    for (const t of tiles) {
      assert.deepEqual([t.w, t.h, t.rgba], [512, 512, [0, 0, 255, 255]], JSON.stringify(t));
      assert.equal(t.css, '256px', 'Leaflet shows the tile at its tileSize');
    }
  } finally {
    await page.unroute(route);
    await page.uncheck('#server-tiles');
    await settled();
  }
});

await check('a selected layer\'s show button binds it and moves the map to it (no token needed)', async () => {
  const land = await page.evaluate(() => window.tesseraApp.state.layers.find((l) => l.name === 'landcover'));
  // Away from it, on the scene, with a formula other than the one the show gives (x).
  await page.evaluate(() => {
    const b = window.tesseraApp.state.layers.find((l) => l.name === 'scene').bounds;
    window.tesseraApp.map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  });
  const gen = await page.evaluate(() => window.tesseraApp.state.gen);
  await page.fill('#formula', '0 + x');
  await page.waitForFunction((g) => window.tesseraApp.state.gen > g, gen, { timeout: 5000 });
  await page.click('#layers li[data-id] >> text=landcover');
  // Binding a layer by its select left the map where it was: blank, the layer out of sight.
  // The show's GET layers/{id} answers late, as a busy server's may. The check waited for
  // the binding alone, which the check before had left as the show makes it (x=landcover), so
  // the wait passed before the show's answer came and the formula read the former ' x' (one
  // run in six): it waits for the show's binding and formula, which differ from the page's.
  const byID = (u) => u.pathname === `/raster/layers/${land.id}`;
  const late = async (r) => { await new Promise((ok) => setTimeout(ok, 500)); await r.continue(); };
  await page.route(byID, late);
  try {
    const view = () => page.evaluate(() => { const v = window.tesseraApp.view(); return [v.layers, v.formula]; });
    assert.deepEqual(await view(), [`x=${land.id}`, '0 + x'], 'before the show');
    await page.click(`#layers li.selected[data-id="${land.id}"] button.show`);
    await page.waitForFunction((id) => {
      const v = window.tesseraApp.view();
      return v.layers === `x=${id}` && v.formula === 'x';
    }, land.id, { timeout: 5000 }).catch(async (e) => { throw new Error(`the show did not bind x=${land.id} with the formula x: ${JSON.stringify(await view())} (${e.message})`); });
    assert.equal(await page.$eval('#formula', (f) => f.value), 'x');
  } finally {
    await page.unroute(byID, late);
  }
  const [w, s, e, n] = land.bounds;
  await page.waitForFunction(([w, s, e, n]) => {
    const b = window.tesseraApp.map.getBounds();
    return b.getWest() <= w && b.getSouth() <= s && b.getEast() >= e && b.getNorth() >= n && b.getEast() - b.getWest() < 4 * (e - w);
  }, [w, s, e, n], { timeout: 5000 });
  await settled();
  const r = await compareWithServer();
  assert.ok(r.opaque > 1000 && r.diff === 0, `landcover shown: ${JSON.stringify(r)}`);
  await page.click('#layers li.selected button.pick'); // unselected again
});

await check('a click, or Enter on the focused map, gives the pixel value the server answers', async () => {
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForFunction(() => document.querySelector('#pixel').dataset.x !== undefined, null, { timeout: 10000 });
  const p = await page.$eval('#pixel', (e) => ({ ...e.dataset, text: e.textContent }));
  const layers = await page.evaluate(() => window.tesseraApp.view().layers);
  const want = await (await fetch(`${base}/raster/pixel/${p.x}/${p.y}?${new URLSearchParams({ layers, formula: 'x' })}`)).json();
  console.log(`  ${p.text}`);
  assert.ok(want.value >= 1 && want.value <= 6, `landcover class at the centre: ${want.value}`);
  assert.equal(Number(p.value), want.value);
  // With the land cover legend selected, the class has its legend name beside it (the number
  // alone left the user to look it up).
  const kind = await page.$eval('#cmap-kind', (e) => e.value);
  await page.selectOption('#cmap-kind', 'legend');
  await page.selectOption('#cmap-legend', { label: 'Land cover' });
  await page.evaluate(() => { const e = document.querySelector('#pixel'); e.textContent = ''; delete e.dataset.x; });
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForFunction(() => document.querySelector('#pixel').dataset.x !== undefined, null, { timeout: 10000 });
  const named = await page.$eval('#pixel', (e) => e.textContent);
  const legend = await page.evaluate(() => window.tesseraApp.state.legends.find((l) => l.title === 'Land cover'));
  const entry = legend.entries.find((e) => Number(e.expression) === want.value);
  assert.ok(entry && entry.name, `no legend entry for class ${want.value}`);
  assert.ok(named.startsWith(`${want.value} (${entry.name}) at `), `pixel text ${named}`);
  await page.selectOption('#cmap-kind', kind);
  await settled();
  // From the keyboard: Enter on the focused map gives the value at its centre (it gave none).
  await page.evaluate(() => { const e = document.querySelector('#pixel'); e.textContent = ''; delete e.dataset.x; delete e.dataset.value; });
  await page.focus('#map');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#pixel').dataset.x !== undefined, null, { timeout: 3000 });
  const k = await page.$eval('#pixel', (e) => ({ ...e.dataset }));
  const centre = await page.evaluate(() => window.tesseraApp.map.options.crs.project(window.tesseraApp.map.getCenter()));
  assert.deepEqual([Number(k.x), Number(k.y)], [centre.x, centre.y]);
  assert.equal(Number(k.value), (await (await fetch(`${base}/raster/pixel/${k.x}/${k.y}?${new URLSearchParams({ layers, formula: 'x' })}`)).json()).value);
  // Two clicks, the first answer slower: the second point's value stays (the first one's
  // overwrote it, shown at the second point).
  let first = true;
  const slow = async (r) => { if (first) { first = false; await new Promise((ok) => setTimeout(ok, 800)); } await r.continue(); };
  await page.route((u) => u.pathname.includes('/raster/pixel/'), slow);
  try {
    await page.mouse.click(box.x + box.width / 2 - 40, box.y + box.height / 2);
    await page.mouse.click(box.x + box.width / 2 + 40, box.y + box.height / 2);
    await page.waitForFunction(() => document.querySelector('#pixel').dataset.x !== undefined, null, { timeout: 5000 });
    await page.waitForTimeout(1200); // past the first, slow answer
  } finally {
    await page.unroute((u) => u.pathname.includes('/raster/pixel/'), slow);
  }
  const last = await page.$eval('#pixel', (e) => ({ ...e.dataset }));
  const east = await page.evaluate(([x, y]) => {
    const m = window.tesseraApp.map, r = m.getContainer().getBoundingClientRect();
    return m.options.crs.project(m.containerPointToLatLng([x - r.left, y - r.top]));
  }, [box.x + box.width / 2 + 40, box.y + box.height / 2]);
  assert.ok(Math.abs(Number(last.x) - east.x) < 1e-6, `the value shown is at x ${last.x}, the last click at ${east.x}`);
  // A new formula: the value shown is the new formula's at the same point, with no click (the
  // former formula's stayed under the new map); a formula in error shows the prompt again.
  const pixelNow = () => page.$eval('#pixel', (e) => ({ ...e.dataset, text: e.textContent }));
  await page.fill('#formula', 'x * 10');
  await page.waitForFunction((v) => document.querySelector('#pixel').dataset.value === String(v), Number(last.value) * 10, { timeout: 5000 });
  const ten = await pixelNow();
  assert.deepEqual([ten.x, ten.y], [last.x, last.y], 'the value is not at the point shown');
  assert.equal(Number(ten.value), (await (await fetch(`${base}/raster/pixel/${ten.x}/${ten.y}?${new URLSearchParams({ layers, formula: 'x * 10' })}`)).json()).value);
  await page.fill('#formula', 'x +');
  await page.waitForFunction(() => document.querySelector('#pixel').dataset.x === undefined, null, { timeout: 5000 });
  assert.equal((await pixelNow()).text, 'click the map (or press Enter on it for its centre)');
  await page.fill('#formula', 'x');
  await page.waitForSelector('#formula-error', { state: 'hidden', timeout: 5000 });
});

await check('the upload form follows the server\'s config: a file over its upload_max_bytes or a max zoom past its ingest_max_zoom is refused in the page, nothing sent; what it takes is sent', async () => {
  // This server takes files of 1 MB (TESSERA_MAX_UPLOAD, browser_test.go). A larger file went
  // up in full before the server's 400 said so; the max zoom had no box.
  const config = await (await fetch(`${base}/raster/config`)).json();
  assert.equal(config.upload_max_bytes, 1000000);
  const box = await page.$eval('#upload [name=max_zoom]', (i) => ({ max: i.max, min: i.min, placeholder: i.placeholder }));
  assert.deepEqual(box, { max: String(config.ingest_max_zoom), min: '0', placeholder: `0 to ${config.ingest_max_zoom}; default: by resolution` });
  // The POSTs the page sends, answered here (a real upload would add a layer the later checks
  // do not expect).
  const posts = [];
  const layersRoute = (u) => u.pathname === '/raster/layers';
  const answer = (r) => {
    if (r.request().method() !== 'POST') return r.continue();
    posts.push({ type: r.request().headers()['content-type'], body: r.request().postDataBuffer() });
    return r.fulfill({ status: 400, contentType: 'application/json', body: '{"error": "refused by the test"}' });
  };
  await page.route(layersRoute, answer);
  const submit = async (want) => {
    await page.evaluate(() => { const t = document.querySelector('#status-text'); t.textContent = ''; delete t.dataset.status; });
    await page.click('#upload button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#status-text').textContent.startsWith('error:'), null, { timeout: 5000 });
    return page.$eval('#status-text', (t) => [t.textContent, t.dataset.status]);
  };
  const file = (name, size) => ({ name, mimeType: 'image/tiff', buffer: Buffer.alloc(size) });
  try {
    await page.fill('#upload [name=token]', token);
    await page.fill('#upload [name=name]', '');
    await page.setInputFiles('#upload [name=file]', file('big.tif', 1500000));
    assert.deepEqual(await submit(), ['error: big.tif is 1.5 MB: this server takes files up to 1 MB (1000000 bytes, TESSERA_MAX_UPLOAD)', 'refused']);
    await page.setInputFiles('#upload [name=file]', file('edge.tif', config.upload_max_bytes + 1));
    // One byte over: in bytes, not "is 1 MB: … up to 1 MB".
    assert.deepEqual(await submit(), ['error: edge.tif is 1000001 bytes: this server takes files up to 1 MB (1000000 bytes, TESSERA_MAX_UPLOAD)', 'refused']);
    assert.equal(posts.length, 0, 'the page sent a file over the limit');
    // The server refuses that byte too: the page's limit is the server's.
    const form = new FormData();
    form.set('file', new Blob([Buffer.alloc(config.upload_max_bytes + 1)]), 'edge.tif');
    const res = await fetch(`${base}/raster/layers`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, /larger than 1000000 bytes \(TESSERA_MAX_UPLOAD\)/);
    // A file of the limit is sent, with its max zoom.
    await page.setInputFiles('#upload [name=file]', file('limit.tif', config.upload_max_bytes));
    await page.fill('#upload [name=max_zoom]', '12');
    assert.deepEqual(await submit(), ['error: refused by the test', undefined]);
    assert.equal(posts.length, 1);
    assert.match(posts[0].type, /^multipart\/form-data/);
    assert.ok(posts[0].body.includes(Buffer.from('name="max_zoom"\r\n\r\n12\r\n')), 'the form has no max_zoom 12');
    // A max zoom past the server's: refused in the page, as the server refuses it.
    await page.setInputFiles('#upload [name=file]', []);
    await page.fill('#upload [name=url]', 'https://example.com/scene.tif');
    for (const z of [String(config.ingest_max_zoom + 1), '-1', '2.5']) {
      await page.fill('#upload [name=max_zoom]', z);
      assert.deepEqual(await submit(), [`error: max zoom: ${z} is not a zoom from 0 to ${config.ingest_max_zoom}, this server's deepest (TESSERA_MAX_INGEST_ZOOM)`, 'refused'], `max zoom ${z}`);
    }
    assert.equal(posts.length, 1, 'the page sent a max zoom past the server\'s');
    const over = await fetch(`${base}/raster/layers`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: 'https://example.com/scene.tif', max_zoom: config.ingest_max_zoom + 1 }) });
    assert.equal(over.status, 400);
    assert.match((await over.json()).error, new RegExp(`max_zoom.*from 0 to ${config.ingest_max_zoom} \\(TESSERA_MAX_INGEST_ZOOM\\)`));
    // The server's deepest is sent, in the JSON of a URL.
    await page.fill('#upload [name=max_zoom]', String(config.ingest_max_zoom));
    assert.deepEqual(await submit(), ['error: refused by the test', undefined]);
    assert.equal(posts.length, 2);
    assert.equal(JSON.parse(posts[1].body.toString()).max_zoom, config.ingest_max_zoom);
  } finally {
    await page.unroute(layersRoute, answer);
    await page.fill('#upload [name=url]', '');
    await page.fill('#upload [name=max_zoom]', '');
    await page.setInputFiles('#upload [name=file]', []);
  }
});

await check('a file and a URL together are refused in the page, nothing sent', async () => {
  // The file went up and the URL was dropped without a word.
  const file = process.env.TESSERA_UPLOAD;
  const posts = [];
  const seen = (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname.endsWith('/layers')) posts.push(r.url()); };
  page.on('request', seen);
  try {
    await page.fill('#upload [name=token]', token);
    await page.setInputFiles('#upload [name=file]', file);
    await page.fill('#upload [name=url]', 'https://example.com/scene.tif');
    await page.click('#upload button[type=submit]');
    await page.waitForFunction(() => /not both/.test(document.querySelector('#status-text').textContent), null, { timeout: 5000 });
    assert.equal(posts.length, 0, 'the page sent the upload');
  } finally {
    page.off('request', seen);
    await page.fill('#upload [name=url]', '');
    await page.setInputFiles('#upload [name=file]', []);
  }
});

await check('an upload is parsed and the status panel reaches FINISHED', async () => {
  const file = process.env.TESSERA_UPLOAD;
  assert.ok(file, 'TESSERA_UPLOAD must name a raster');
  await page.fill('#upload [name=token]', token);
  await page.fill('#upload [name=name]', 'terrain');
  await page.setInputFiles('#upload [name=file]', file);
  await page.click('#upload button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#status-text').dataset.status === 'FINISHED', null, { timeout: 120000 });
  const prog = await page.$eval('#status-progress', (p) => [p.value, p.max]);
  assert.ok(prog[1] > 1 && prog[0] === prog[1], `progress ${prog}`);
  const log = await page.$$eval('#status .log li', (li) => li.map((l) => l.textContent));
  assert.ok(log.length > 0, 'no parse log shown');
  await page.waitForFunction(() => [...document.querySelectorAll('#layers li b')].some((b) => b.textContent === 'terrain'), null, { timeout: 10000 });
});

await check('the parsed upload is shown: bound in the formula, the map at its extent', async () => {
  const terrain = (await (await fetch(`${base}/raster/layers`)).json()).find((l) => l.name === 'terrain');
  assert.ok(terrain && terrain.bounds, 'terrain has no bounds');
  await page.waitForFunction((id) => window.tesseraApp.view().layers === `x=${id}`, terrain.id, { timeout: 10000 });
  assert.equal(await page.$eval('#formula', (f) => f.value), 'x');
  assert.deepEqual(await page.$$eval('#range-min, #range-max', (i) => i.map((x) => Number(x.value))), [terrain.bands[0].min, terrain.bands[0].max]);
  // The colour bar's labels are the range in six significant digits (the Float32 minimum read
  // 338.8999938964844 there).
  const labels = await page.$$eval('#colorbar .lo, #colorbar .hi', (s) => s.map((x) => x.textContent));
  assert.deepEqual(labels, [terrain.bands[0].min, terrain.bands[0].max].map((v) => String(Number(v.toPrecision(6)))));
  assert.ok(labels.every((t) => t.replace(/[-.]/g, '').length <= 6), `colour bar labels ${labels}`);
  const [w, s, e, n] = terrain.bounds;
  const view = await page.evaluate(() => { const b = window.tesseraApp.map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; });
  const cx = (w + e) / 2, cy = (s + n) / 2;
  assert.ok(view[0] <= w + 1e-6 && view[2] >= e - 1e-6 && view[1] <= s + 1e-6 && view[3] >= n - 1e-6, `the map ${view} does not show terrain ${terrain.bounds}`);
  assert.ok((view[2] - view[0]) < 4 * (e - w) && (view[3] - view[1]) < 4 * (n - s) && view[0] < cx && cx < view[2] && view[1] < cy && cy < view[3],
    `the map ${view} is not at terrain's extent ${terrain.bounds}`);
  await settled();
  const r = await compareWithServer();
  console.log(`  ${r.tile}: ${r.opaque} opaque pixels, ${r.colors} colours, ${r.diff} differ`);
  assert.ok(r.opaque > 1000, `terrain's tile has too little data: ${r.opaque} opaque pixels`);
  assert.equal(r.diff, 0, `terrain: ${r.diff} pixels differ from ${r.url}`);
});

await check('a wrong token is refused with the server\'s message', async () => {
  await page.fill('#upload [name=token]', 'not-the-token-at-all');
  await page.fill('#upload [name=name]', 'terrain2');
  await page.click('#upload button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#status-text').textContent.startsWith('error:'), null, { timeout: 10000 });
});

await check('a layer is deleted from the page after a confirmation naming it', async () => {
  const listed = async () => (await (await fetch(`${base}/raster/layers`)).json()).map((l) => l.name).sort();
  const terrain = (await (await fetch(`${base}/raster/layers`)).json()).find((l) => l.name === 'terrain');
  assert.ok(terrain, 'no terrain layer to delete');
  const selectTerrain = async () => {
    await page.click('#layers li[data-id] >> text=terrain');
    await page.waitForSelector(`#layers li.selected[data-id="${terrain.id}"] button.delete`, { timeout: 5000 });
  };
  const dialog = (accept) => new Promise((resolve) => page.once('dialog', async (d) => {
    const msg = d.message();
    await (accept ? d.accept() : d.dismiss());
    resolve(msg);
  }));
  // The page still holds the wrong token of the previous check: the server's 401 shows.
  await selectTerrain();
  let asked = dialog(true);
  await page.click('#layers button.delete');
  assert.ok((await asked).includes('"terrain"'), 'the confirmation does not name the layer');
  await page.waitForSelector('#layer-error:not([hidden])', { timeout: 5000 });
  assert.ok((await page.$eval('#layer-error', (p) => p.textContent)).includes('token'), 'the refusal is not shown');
  // The right token is typed, then the list clicked at once: that click counts (the token's
  // change event, run as the click leaves the field, made the list anew under the pointer and
  // the click was lost), and the refusal, the former token's, is gone.
  await page.fill('#upload [name=token]', token);
  await page.click('#layers li[data-id] >> text=terrain'); // terrain is selected: this unselects it
  assert.deepEqual(await page.$$eval('#layers li.selected b', (b) => b.map((x) => x.textContent)), [], 'the first click after typing the token was lost');
  assert.deepEqual(await page.$eval('#layer-error', (p) => [p.hidden, p.textContent]), [true, ''], 'the former token\'s refusal still shows');
  // Cancelled: nothing is deleted.
  await selectTerrain();
  asked = dialog(false);
  await page.click('#layers button.delete');
  await asked;
  await page.waitForTimeout(300);
  assert.deepEqual(await listed(), ['landcover', 'scene', 'terrain']);
  // The refusal is gone once the control opened again, cancelled or not (it stayed).
  assert.deepEqual(await page.$eval('#layer-error', (p) => [p.hidden, p.textContent]), [true, ''], 'the earlier refusal still shows after a cancel');
  // Confirmed: it is gone from GET layers and from the list, and no binding points at it.
  asked = dialog(true);
  await page.click('#layers button.delete');
  await asked;
  await page.waitForFunction(() => ![...document.querySelectorAll('#layers li b')].some((b) => b.textContent === 'terrain'), null, { timeout: 10000 });
  assert.deepEqual(await listed(), ['landcover', 'scene']);
  assert.equal((await fetch(`${base}/raster/layers/terrain`)).status, 404);
  // The focus, on the delete button, goes to the list (it fell to the page's body).
  assert.equal(await page.evaluate(() => document.activeElement.matches('#layers button.pick')), true, 'the focus left the list');
  assert.equal(await page.$eval('#layer-error', (p) => p.hidden), true);
  const bound = await page.evaluate(() => window.tesseraApp.view().layers);
  assert.ok(bound !== '' && !bound.split(',').some((b) => b.endsWith(`=${terrain.id}`)), `bindings after the delete: ${bound}`);
  assert.equal(await page.$eval('#formula-error', (e) => e.hidden), true, 'the formula left after the delete has an error');
  await page.evaluate(() => document.querySelectorAll('#bindings tbody tr:not(:first-child)').forEach((tr) => tr.remove()));
});

await check('back to NDVI for the screenshot; no request left the server, no page error', async () => {
  await page.evaluate(() => {
    const tr = document.querySelector('#bindings tbody tr');
    const scene = [...tr.querySelector('[name=layer]').options].find((o) => o.textContent === 'scene').value;
    tr.querySelector('[name=var]').value = 'r';
    tr.querySelector('[name=layer]').value = scene;
    tr.querySelector('[name=band]').value = '2';
    document.querySelector('#add-binding').click();
    const n = document.querySelector('#bindings tbody tr:last-child');
    n.querySelector('[name=var]').value = 'n';
    n.querySelector('[name=layer]').value = scene;
    n.querySelector('[name=band]').value = '3';
    document.querySelector('#formula').value = '(n-r)/(n+r)';
    document.querySelector('#cmap-kind').value = 'named';
    document.querySelector('#cmap-name').value = 'rdylgn';
    document.querySelector('#range-min').value = '-1';
    document.querySelector('#range-max').value = '1';
    document.querySelector('#cmap-kind').dispatchEvent(new Event('change'));
    const b = window.tesseraApp.state.layers.find((l) => l.name === 'scene').bounds;
    window.tesseraApp.map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  });
  await page.dispatchEvent('#bindings tbody tr', 'change');
  await settled();
  await page.evaluate(() => { document.querySelector('#panel').scrollTop = 0; });
  // Leaflet fades new tiles in over 200 ms: the screenshot (docs/web.png) waits for the tiles
  // to be opaque (taken at once, it showed the NDVI washed out, half faded in).
  await page.waitForFunction(() => [...document.querySelectorAll('#map canvas.tile')].every((c) => getComputedStyle(c).opacity === '1'), null, { timeout: 5000 });
  // The pixel value shown is the NDVI's, or the prompt (not the land cover class clicked before).
  await page.waitForFunction(() => document.querySelector('#pixel').textContent !== '…', null, { timeout: 5000 });
  const pixel = await page.$eval('#pixel', (e) => ({ ...e.dataset }));
  if (pixel.x !== undefined) {
    const v = await page.evaluate(() => window.tesseraApp.view());
    const want = (await (await fetch(`${base}/raster/pixel/${pixel.x}/${pixel.y}?${new URLSearchParams({ layers: v.layers, formula: v.formula })}`)).json()).value;
    assert.equal(pixel.value, want === null ? '' : String(want), 'the pixel value shown is not the NDVI\'s');
  }
  if (process.env.TESSERA_SCREENSHOT) await page.screenshot({ path: process.env.TESSERA_SCREENSHOT });
  assert.deepEqual(foreign, [], 'requests to other hosts');
  assert.deepEqual(pageErrors, [], 'uncaught page errors');
  assert.equal(configs.length, 1, `the page read GET config ${configs.length} times, not once at its start`);
});

await chrome.close();
done();
