// Builds the page into dist/: bundles src/main.js (and its CSS) with esbuild into app.js,
// and the client kit src/kit.js into tessera.js (with Go's wasm_exec.js inside it) and its
// source map tessera.js.map, copies the kit's declarations src/tessera.d.ts, index.html and
// wasm_exec.js (for the page), and — when given — the WebAssembly module.
//   node build.mjs [--wasm ../bin/tessera.wasm] [--wasm-exec $(go env GOROOT)/lib/wasm/wasm_exec.js]
// Without --wasm-exec, wasm_exec.js is taken from `go env GOROOT`.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };

// Start clean, keeping the committed .gitkeep (go:embed needs the directory on a fresh clone).
mkdirSync(dist, { recursive: true });
for (const f of readdirSync(dist)) if (f !== '.gitkeep') rmSync(join(dist, f), { recursive: true });

const wasmExec = arg('--wasm-exec') ||
  join(execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim(), 'lib', 'wasm', 'wasm_exec.js');

// 'go:wasm_exec' is Go's wasm_exec.js as a module: goRuntime(scope) runs the script with scope
// standing for globalThis (a parameter of that name shadows it) and returns the Go class it
// defined there. The kit thus carries Go's runtime (no second script, no eval, any origin)
// and leaves the page's globalThis.Go alone.
const wasmExecPlugin = {
  name: 'wasm-exec',
  setup(b) {
    // The path is the source map's name for it (the build machine's GOROOT left out).
    b.onResolve({ filter: /^go:wasm_exec$/ }, () => ({ path: 'wasm_exec.js', namespace: 'wasm-exec' }));
    b.onLoad({ filter: /.*/, namespace: 'wasm-exec' }, () => ({
      contents: `export function goRuntime(globalThis) {\n${readFileSync(wasmExec, 'utf8')}\nreturn globalThis.Go;\n}\n`,
      loader: 'js',
    }));
  },
};

const options = {
  plugins: [wasmExecPlugin],
  bundle: true, format: 'esm', target: 'es2020', minify: true,
  outdir: dist, loader: { '.png': 'file', '.svg': 'file' }, assetNames: 'assets/[name]-[hash]',
  logLevel: 'warning',
};
// The page's app.js without a source map; the kit, which map builders debug in their own
// pages, with one (tessera.js.map, named by tessera.js's last line), and its TypeScript
// declarations (tessera.d.ts, written by hand from kit.js's JSDoc).
await build({ ...options, entryPoints: { app: join(here, 'src/main.js') }, sourcemap: false });
await build({ ...options, entryPoints: { tessera: join(here, 'src/kit.js') }, sourcemap: 'linked' });
copyFileSync(join(here, 'src/tessera.d.ts'), join(dist, 'tessera.d.ts'));
copyFileSync(join(here, 'index.html'), join(dist, 'index.html'));
if (arg('--wasm')) copyFileSync(arg('--wasm'), join(dist, 'tessera.wasm'));
copyFileSync(wasmExec, join(dist, 'wasm_exec.js'));
console.log('web: built', readdirSync(dist).filter((f) => f !== '.gitkeep').join(' '));
