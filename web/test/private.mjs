// The browser test of a server with private reads (TESSERA_PRIVATE_READS=1), run by
// web/browser_test.go: the page must say it needs a token, start once one is entered, render
// tiles with it (fetch sends the Authorization header) and follow a parse over Server-Sent
// Events (EventSource sends it as access_token); the client kit sends the token it is given.
// Exit status 0 means every check passed.
import assert from 'node:assert/strict';
import { launch, checker } from './harness.mjs';

const base = process.env.TESSERA_URL;
const token = process.env.TESSERA_ADMIN_TOKEN;
if (!base || !token) throw new Error('TESSERA_URL and TESSERA_ADMIN_TOKEN must be set');

const chrome = await launch();
const browser = chrome.browser;
const { check, done } = checker();

const page = await browser.newPage();
const pageErrors = [], refused = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('response', (r) => { if (r.status() === 401) refused.push(r.url()); });

await check('without a token the page says reads need one', async () => {
  const res = await fetch(`${base}/raster/layers`);
  assert.equal(res.status, 401, 'the server must refuse reads without a token');
  await page.goto(base + '/');
  await page.waitForFunction(() => document.querySelector('#app-status').dataset.needsToken === '1', null, { timeout: 20000 });
  assert.equal(await page.evaluate(() => window.tesseraApp.ready), false);
  // GET config is public: the page knows that reads are private from the server's word.
  const config = await (await fetch(`${base}/raster/config`)).json();
  assert.equal(config.private_reads, true);
  await page.waitForFunction(() => window.tesseraApp.state.config?.private_reads === true, null, { timeout: 5000 });
});

await check('on a phone, where "Add a layer" starts folded, a page asking for the token opens it: the field is in sight', async () => {
  const p2 = await browser.newPage();
  try {
    await p2.setViewportSize({ width: 390, height: 844 });
    await p2.goto(base + '/');
    await p2.waitForFunction(() => document.querySelector('#app-status').dataset.needsToken === '1', null, { timeout: 20000 });
    assert.deepEqual(await p2.$$eval('details.fold', (d) => d.map((x) => [x.id, x.open])), [['use', false], ['add', true]]);
    assert.equal(await p2.isVisible('#upload [name=token]'), true, 'the token field is folded away');
  } finally {
    await p2.close();
  }
});

await check('with the token the page starts and renders tiles in the browser', async () => {
  await page.fill('#upload [name=token]', token);
  await page.dispatchEvent('#upload [name=token]', 'change');
  await page.waitForFunction(() => window.tesseraApp.ready, null, { timeout: 30000 });
  await page.waitForFunction(() => {
    const tiles = [...document.querySelectorAll('#map canvas.tile')];
    return tiles.length > 0 && tiles.every((c) => c.dataset.state === 'rendered');
  }, null, { timeout: 30000 });
  const names = await page.$$eval('#layers li b', (b) => b.map((x) => x.textContent));
  assert.ok(names.includes('scene'), `layers listed: ${names}`);
  assert.equal(await page.$$eval('#cmap-name option', (o) => new Set(o.map((x) => x.value)).size === o.length), true, 'colormap names listed twice');
});

await check('"Use this map" says its URLs need a token (not in them), and its download sends the page\'s', async () => {
  const use = () => page.evaluate(() => ({
    note: !document.querySelector('#use-token').hidden,
    urls: ['#use-xyz', '#use-tilejson', '#use-wmts', '#use-xyz2x', '#use-tilejson2x'].map((s) => document.querySelector(s).value).concat(document.querySelector('#use-download').href),
  }));
  const u = await use();
  assert.equal(u.note, true, 'no token note');
  for (const url of u.urls) assert.ok(url.startsWith(base) && !url.includes(token), `URL ${url}`);
  assert.equal((await fetch(u.urls[1])).status, 401, 'the TileJSON URL answers without a token');
  assert.equal((await fetch(u.urls[4])).status, 401, 'the @2x TileJSON URL answers without a token');
  // The download: a plain link would have had the server's 401 (no token): it is the zip.
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), page.click('#use-download')]);
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(await dl.path()).subarray(0, 2).toString('latin1'), 'PK');
  // Loaded again with the token of the tab's session, the page starts without a 401, and
  // still knows that reads need it: from GET config, without a request made to be refused (it
  // asked colormaps without the token, for the 401).
  refused.length = 0;
  await page.reload();
  await page.waitForFunction(() => window.tesseraApp && window.tesseraApp.ready, null, { timeout: 30000 });
  assert.equal((await use()).note, true, 'no token note after a reload');
  await page.fill('#upload [name=token]', token); // the next check's upload reads it: empty after the reload
  assert.deepEqual(refused, [], 'requests refused with 401 after the reload');
});

await check('an upload is followed over the event stream to FINISHED', async () => {
  const file = process.env.TESSERA_UPLOAD;
  assert.ok(file, 'TESSERA_UPLOAD must name a raster');
  await page.fill('#upload [name=name]', 'terrain');
  await page.setInputFiles('#upload [name=file]', file);
  await page.click('#upload button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#status-text').dataset.status === 'FINISHED', null, { timeout: 120000 });
  assert.deepEqual(pageErrors, [], 'uncaught page errors');
});

await check('the client kit sends its token: without one a tile is the server\'s 401, with it the tile renders', async () => {
  const r = await page.evaluate(async (token) => {
    const { connect } = await import('/tessera.js');
    const params = { layers: 'r:2=scene,n:3=scene', formula: '(n-r)/(n+r)', colormap: 'RdYlGn' };
    const without = await (await connect('/raster/')).tile(13, 4347, 2842, params).then(() => null, (e) => ({ status: e.status, message: e.message }));
    const c = await (await connect('/raster/', { token })).tile(13, 4347, 2842, params);
    return { without, width: c.width };
  }, token);
  assert.equal(r.without.status, 401, `without a token: ${JSON.stringify(r.without)}`);
  assert.ok(r.without.message, 'the 401 has no message');
  assert.equal(r.width, 256);
});

await chrome.close();
done();
