// The browser map's benchmark, run by web/browser_test.go's TestBrowserBench
// (scripts/bench-web.sh) against a real `tessera serve` at TESSERA_URL: how long the
// WebAssembly core takes to render one NDVI tile from cached bands in headless Chromium,
// how long re-colouring every tile on screen takes, and, to compare, how long the server
// takes to answer a PNG for the same tile (distinct ranges, so no response-cache hits).
import { launch } from './harness.mjs';

const base = process.env.TESSERA_URL;
const chrome = await launch();
const browser = chrome.browser;
const page = await browser.newPage();
await page.goto(base + '/');
await page.waitForFunction(() => window.tesseraApp && window.tesseraApp.ready, null, { timeout: 30000 });
await page.waitForFunction(() => [...document.querySelectorAll('#map canvas.tile')].every((c) => c.dataset.state === 'rendered'), null, { timeout: 30000 });

const r = await page.evaluate(async () => {
  const app = window.tesseraApp, layer = app.layer;
  const c = [...document.querySelectorAll('#map canvas.tile')].find((t) => t.dataset.empty !== '1');
  const coords = { z: +c.dataset.z, x: +c.dataset.x, y: +c.dataset.y };
  const v = app.view();
  const bytes = layer.source.cached(v.layers, coords.z, coords.x, coords.y);
  const time = (n, fn) => { fn(); const t0 = performance.now(); for (let i = 0; i < n; i++) fn(); return (performance.now() - t0) / n; };
  // V8 first runs WebAssembly through its baseline compiler and optimises hot functions
  // later, so the first renders of a page are slower than the rest: time both.
  const render = time(50, () => window.tessera.render(bytes, v.formula, v.colormap));
  time(500, () => window.tessera.render(bytes, v.formula, v.colormap));
  const warm = time(50, () => window.tessera.render(bytes, v.formula, v.colormap));
  const decode = time(50, () => window.tessera.decodeTile(bytes));
  const tiles = document.querySelectorAll('#map canvas.tile').length;
  const screen = time(10, () => layer.refresh(false));
  const server = [];
  for (let i = 0; i < 20; i++) {
    const cm = JSON.stringify({ continuous: true, name: 'RdYlGn', range: [-1, 1 + (i + 1) * 1e-6 + Math.random() * 1e-6] });
    const q = new URLSearchParams({ layers: v.layers, formula: v.formula, colormap: cm });
    const t0 = performance.now();
    const res = await fetch(`${window.location.origin}/raster/algebra/${coords.z}/${coords.x}/${coords.y}.png?${q}`);
    await res.arrayBuffer();
    server.push(performance.now() - t0);
  }
  server.sort((a, b) => a - b);
  return { tile: `${coords.z}/${coords.x}/${coords.y}`, bytes: bytes.length, render, warm, decode, tiles, screen, serverMedian: server[10] };
});
console.log(`tile ${r.tile} (${r.bytes} bytes of bands, 2 × UInt16 256×256)`);
console.log(`browser render (decode + NDVI + RdYlGn), ms/tile: ${r.render.toFixed(2)}`);
console.log(`the same after 550 renders, ms/tile:             ${r.warm.toFixed(2)}`);
console.log(`browser decodeTile only, ms/tile:                ${r.decode.toFixed(2)}`);
console.log(`re-colour the whole screen (${r.tiles} tiles), ms:     ${r.screen.toFixed(1)}`);
console.log(`server PNG round trip (new colormap), median ms: ${r.serverMedian.toFixed(2)}`);
await chrome.close();
