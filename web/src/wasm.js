// Loads Tessera's WebAssembly core (tessera.wasm, run by Go's wasm_exec.js), which sets the
// global `tessera`: decodeTile, render, compile, tileBounds.

/** Starts the Go program and resolves to the global `tessera` once it is set. */
export async function loadTessera(url = 'tessera.wasm') {
  const go = new globalThis.Go();
  const res = fetch(url);
  let inst;
  try {
    inst = (await WebAssembly.instantiateStreaming(res, go.importObject)).instance;
  } catch (e) { // a server without application/wasm: fall back to bytes
    const buf = await (await fetch(url)).arrayBuffer();
    inst = (await WebAssembly.instantiate(buf, go.importObject)).instance;
  }
  go.run(inst); // never resolves: main blocks to keep the functions alive
  for (let i = 0; i < 200 && !globalThis.tessera; i++) await new Promise((r) => setTimeout(r, 10));
  if (!globalThis.tessera) throw new Error('the WebAssembly module did not start');
  return globalThis.tessera;
}
