// Loads Tessera's WebAssembly core (tessera.wasm, run by Go's wasm_exec.js), which sets
// `tessera` on its global object: decodeTile, render, compile, checkColormap, tileBounds.

/**
 * Starts the Go program and resolves to its `tessera` once it is set. The page runs it with
 * the Go class wasm_exec.js put on globalThis; the client kit passes its own bundled copy and
 * the object that copy takes for the global one (kit.js), so neither clashes with the other.
 * @param {string|URL} url the module's URL
 * @param {Function} [Go] the Go class of wasm_exec.js
 * @param {object} [scope] what the Go program sees as its global object
 */
export async function loadTessera(url = 'tessera.wasm', Go = globalThis.Go, scope = globalThis) {
  const go = new Go();
  // One request, whatever happens: a network error (a server that does not answer, CORS, a
  // CSP's connect-src) rejects here and an HTTP error below; both were fetched a second time
  // by the fallback to bytes, which only a response of another type than application/wasm
  // needs (instantiateStreaming refuses it), and that reads the same response.
  const res = await fetch(url);
  if (!res.ok) throw new Error(`the server answered ${res.status}`);
  const type = (res.headers.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
  let inst;
  if (type === 'application/wasm' && WebAssembly.instantiateStreaming) {
    inst = (await WebAssembly.instantiateStreaming(res, go.importObject)).instance;
  } else {
    inst = (await WebAssembly.instantiate(await res.arrayBuffer(), go.importObject)).instance;
  }
  go.run(inst); // never resolves: main blocks to keep the functions alive
  for (let i = 0; i < 200 && !Object.hasOwn(scope, 'tessera'); i++) await new Promise((r) => setTimeout(r, 10));
  if (!Object.hasOwn(scope, 'tessera')) throw new Error('the WebAssembly module did not start');
  return scope.tessera;
}
