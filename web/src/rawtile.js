// A minimal writer of the raw tile format (docs/rawtile.md), enough to build the synthetic
// one-row tile the colour bar is rendered from, so the bar's colours come from the same Go
// colormap code as the tiles'.

class Writer {
  constructor() { this.parts = []; this.n = 0; }
  bytes(b) { this.parts.push(b); this.n += b.length; }
  u8(...v) { this.bytes(Uint8Array.from(v)); }
  uint(v) {
    if (v < 128) this.u8(v);
    else if (v < 0x10000) this.u8(0xcd, v >> 8, v & 255);
    else this.u8(0xce, (v >>> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255);
  }
  f64(v) { const b = new Uint8Array(9); b[0] = 0xcb; new DataView(b.buffer).setFloat64(1, v); this.bytes(b); }
  str(s) { const b = new TextEncoder().encode(s); this.u8(0xa0 | b.length); this.bytes(b); } // short strings only
  bin(b) { this.u8(0xc6, (b.length >>> 24) & 255, (b.length >> 16) & 255, (b.length >> 8) & 255, b.length & 255); this.bytes(b); }
  map(n) { this.u8(0x80 | n); }
  arr(n) { this.u8(0x90 | n); }
  out() { const o = new Uint8Array(this.n); let i = 0; for (const p of this.parts) { o.set(p, i); i += p.length; } return o; }
}

/**
 * Encodes a one-band Float64 raw tile named `x`, width×height pixels (row-major values).
 * @param {Float64Array} values
 */
export function float64Tile(values, width, height) {
  const w = new Writer();
  w.map(8);
  w.str('v'); w.uint(1);
  w.str('z'); w.uint(0); w.str('x'); w.uint(0); w.str('y'); w.uint(0);
  w.str('bounds'); w.arr(4); for (const v of [-1, -1, 1, 1]) w.f64(v);
  w.str('width'); w.uint(width); w.str('height'); w.uint(height);
  w.str('bands'); w.map(1); w.str('x');
  w.map(3); w.str('type'); w.str('Float64'); w.str('nodata'); w.u8(0xc0);
  const data = new Uint8Array(values.length * 8);
  const dv = new DataView(data.buffer);
  values.forEach((v, i) => dv.setFloat64(i * 8, v, true));
  w.str('data'); w.bin(data);
  return w.out();
}
