// What the browser scripts share: headless Chromium (Debian's, flags from the handbook) with
// a fresh profile, and TAP-like checks that count failures.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Starts Chromium with a fresh profile; close() also removes the profile. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'tessera-chromium-'));
  // A fresh profile (--user-data-dir) each run: playwright passes it for a persistent context.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.TESSERA_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Runs named checks, printing ok / not ok; done() prints the count and exits 1 on a failure. */
export function checker() {
  let failed = 0, passed = 0;
  return {
    async check(name, fn) {
      const t0 = Date.now();
      try {
        await fn();
        passed++;
        console.log(`ok - ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        failed++;
        console.log(`not ok - ${name}\n  ${String(e.stack || e).split('\n').join('\n  ')}`);
      }
    },
    done() {
      console.log(`${passed} passed, ${failed} failed`);
      process.exit(failed ? 1 : 0);
    },
  };
}
