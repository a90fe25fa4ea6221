// Builds the page into dist/: bundles src/main.js (and its CSS) with esbuild, copies
// index.html, and — when given — the WebAssembly module and Go's wasm_exec.js.
//   node build.mjs [--wasm ../bin/tessera.wasm] [--wasm-exec $(go env GOROOT)/lib/wasm/wasm_exec.js]
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };

// Start clean, keeping the committed .gitkeep (go:embed needs the directory on a fresh clone).
mkdirSync(dist, { recursive: true });
for (const f of readdirSync(dist)) if (f !== '.gitkeep') rmSync(join(dist, f), { recursive: true });

await build({
  entryPoints: { app: join(here, 'src/main.js') },
  bundle: true, format: 'esm', target: 'es2020', minify: true, sourcemap: false,
  outdir: dist, loader: { '.png': 'file', '.svg': 'file' }, assetNames: 'assets/[name]-[hash]',
  logLevel: 'warning',
});
copyFileSync(join(here, 'index.html'), join(dist, 'index.html'));
if (arg('--wasm')) copyFileSync(arg('--wasm'), join(dist, 'tessera.wasm'));
if (arg('--wasm-exec')) copyFileSync(arg('--wasm-exec'), join(dist, 'wasm_exec.js'));
console.log('web: built', readdirSync(dist).filter((f) => f !== '.gitkeep').join(' '));
