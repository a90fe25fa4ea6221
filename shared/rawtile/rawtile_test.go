package rawtile

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sample builds a tile with one band of every data type, values depending on the pixel.
func sample(w, h int) *Tile {
	z := tile.ZXY{Z: 3, X: 2, Y: 5}
	t := &Tile{Tile: z, Bounds: z.Bounds(), Width: w, Height: h, Bands: map[string]*raster.Band{}}
	types := []raster.DataType{raster.Byte, raster.Int8, raster.UInt16, raster.Int16, raster.UInt32, raster.Int32, raster.Float32, raster.Float64}
	for k, typ := range types {
		b := raster.New(typ, w, h)
		for i := 0; i < w*h; i++ {
			b.Set(i, float64((i*7+k*13)%100)-20)
		}
		if k%2 == 0 {
			b.HasNoData, b.NoData = true, float64(k)
		}
		t.Bands[typ.String()] = b
	}
	nan := raster.New(raster.Float32, w, h)
	nan.HasNoData, nan.NoData = true, math.NaN()
	for i := 0; i < w*h; i++ {
		nan.Set(i, math.NaN())
	}
	nan.Set(0, 1.5)
	t.Bands["nan"] = nan
	return t
}

func equalTiles(t *testing.T, got, want *Tile) {
	t.Helper()
	if got.Tile != want.Tile || got.Bounds != want.Bounds || got.Width != want.Width || got.Height != want.Height {
		t.Fatalf("header: got %v %v %dx%d, want %v %v %dx%d", got.Tile, got.Bounds, got.Width, got.Height, want.Tile, want.Bounds, want.Width, want.Height)
	}
	if len(got.Bands) != len(want.Bands) {
		t.Fatalf("got %d bands, want %d", len(got.Bands), len(want.Bands))
	}
	for name, wb := range want.Bands {
		gb := got.Bands[name]
		if gb == nil {
			t.Fatalf("band %q missing", name)
		}
		if gb.Type != wb.Type || gb.HasNoData != wb.HasNoData || gb.Width != wb.Width || gb.Height != wb.Height {
			t.Errorf("band %q: got %s nodata=%v, want %s nodata=%v", name, gb.Type, gb.HasNoData, wb.Type, wb.HasNoData)
		}
		if wb.HasNoData && !(gb.NoData == wb.NoData || math.IsNaN(gb.NoData) && math.IsNaN(wb.NoData)) {
			t.Errorf("band %q: nodata %v, want %v", name, gb.NoData, wb.NoData)
		}
		if !bytes.Equal(gb.Data, wb.Data) {
			t.Errorf("band %q: data differs", name)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {3, 2}, {256, 256}} {
		want := sample(size[0], size[1])
		data, err := Encode(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		equalTiles(t, got, want)
		again, err := Encode(got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Errorf("%dx%d: encode(decode(b)) differs from b: encoding is not deterministic", size[0], size[1])
		}
	}
}

// TestSchema decodes the encoding as a generic map, checking the documented keys and types,
// so a change of the wire format cannot pass unnoticed.
func TestSchema(t *testing.T) {
	data, err := Encode(sample(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := msgpack.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"v", "z", "x", "y", "bounds", "width", "height", "bands"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	if len(m) != 8 {
		t.Errorf("%d keys, want 8: %v", len(m), m)
	}
	bands := m["bands"].(map[string]any)
	f32 := bands["Float32"].(map[string]any)
	if f32["type"] != "Float32" {
		t.Errorf("type = %v", f32["type"])
	}
	if f32["nodata"] != 6.0 {
		t.Errorf("nodata = %#v, want 6.0", f32["nodata"])
	}
	if b, ok := f32["data"].([]byte); !ok || len(b) != 16 {
		t.Errorf("data = %T len %d, want 16 bytes of bin", f32["data"], len(b))
	}
	if v := bands["Int8"].(map[string]any)["nodata"]; v != nil {
		t.Errorf("Int8 nodata = %v, want nil", v)
	}
	if got := m["bounds"].([]any); len(got) != 4 || got[0] != (tile.ZXY{Z: 3, X: 2, Y: 5}).Bounds().MinX {
		t.Errorf("bounds = %v", got)
	}
}

// TestGolden pins the exact bytes of a small tile, so the browser's decoder and old clients
// keep reading what the server writes. Rewrite with go test -update.
func TestGolden(t *testing.T) {
	data, err := Encode(sample(4, 3))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "sample.msgpack")
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("encoding differs from %s (rerun with -update if the change is intended)", path)
	}
}

func TestInvalid(t *testing.T) {
	good, err := Encode(sample(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	enc := func(w wireTile) []byte {
		b, err := msgpack.Marshal(&w)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	base := func() wireTile {
		return wireTile{V: 1, Z: 1, X: 0, Y: 1, Bounds: []float64{0, 0, 1, 1}, Width: 2, Height: 1,
			Bands: map[string]wireBand{"a": {Type: "Byte", Data: []byte{1, 2}}}}
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not msgpack", []byte("{\"v\":1}")},
		{"truncated", good[:len(good)-3]},
		{"trailing bytes", append(append([]byte{}, good...), 0xc0)},
		{"wrong version", enc(func() wireTile { w := base(); w.V = 2; return w }())},
		{"zoom out of range", enc(func() wireTile { w := base(); w.Z = 31; return w }())},
		{"x out of range", enc(func() wireTile { w := base(); w.X = 2; return w }())},
		{"three bounds", enc(func() wireTile { w := base(); w.Bounds = w.Bounds[:3]; return w }())},
		{"NaN bound", enc(func() wireTile { w := base(); w.Bounds[0] = math.NaN(); return w }())},
		{"zero width", enc(func() wireTile { w := base(); w.Width = 0; return w }())},
		{"huge side", enc(func() wireTile { w := base(); w.Width = MaxSide + 1; return w }())},
		{"no bands", enc(func() wireTile { w := base(); w.Bands = nil; return w }())},
		{"unknown type", enc(func() wireTile { w := base(); w.Bands["a"] = wireBand{Type: "Complex", Data: []byte{1, 2}}; return w }())},
		{"short data", enc(func() wireTile { w := base(); w.Bands["a"] = wireBand{Type: "UInt16", Data: []byte{1, 2}}; return w }())},
		{"empty name", enc(func() wireTile { w := base(); w.Bands[""] = w.Bands["a"]; return w }())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode = %v, want an ErrInvalid error", err)
			}
		})
	}
	t.Run("valid base", func(t *testing.T) {
		if _, err := Decode(enc(base())); err != nil {
			t.Fatalf("the base of the table must decode: %v", err)
		}
	})
}

func TestEncodeRejectsInvalid(t *testing.T) {
	tl := sample(2, 2)
	tl.Bands["x"] = raster.New(raster.Byte, 3, 2)
	if _, err := Encode(tl); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Encode of a band of the wrong size = %v, want ErrInvalid", err)
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts re-encodes to bytes
// that decode to the same tile.
func FuzzDecode(f *testing.F) {
	if seed, err := os.ReadFile(filepath.Join("testdata", "sample.msgpack")); err == nil {
		f.Add(seed)
	}
	if seed, err := Encode(sample(1, 1)); err == nil {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tl, err := Decode(data)
		if err != nil {
			return
		}
		again, err := Encode(tl)
		if err != nil {
			t.Fatalf("decoded tile does not encode: %v", err)
		}
		tl2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded tile does not decode: %v", err)
		}
		equalTiles(t, tl2, tl)
	})
}

func BenchmarkEncode(b *testing.B) {
	tl := &Tile{Tile: tile.ZXY{Z: 10, X: 3, Y: 4}, Width: 256, Height: 256, Bands: map[string]*raster.Band{
		"a": raster.New(raster.Float32, 256, 256), "b": raster.New(raster.Float32, 256, 256), "c": raster.New(raster.UInt16, 256, 256)}}
	tl.Bounds = tl.Tile.Bounds()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(tl); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	tl := &Tile{Tile: tile.ZXY{Z: 10, X: 3, Y: 4}, Width: 256, Height: 256, Bands: map[string]*raster.Band{
		"a": raster.New(raster.Float32, 256, 256), "b": raster.New(raster.Float32, 256, 256), "c": raster.New(raster.UInt16, 256, 256)}}
	tl.Bounds = tl.Tile.Bounds()
	data, err := Encode(tl)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeAliases checks that Decode takes a band's pixels from the input in place (the
// browser renders from them without a copy) and that the bytes still decode when the band
// data is read by a plain msgpack decoder (aliasBytes' fallback).
func TestDecodeAliases(t *testing.T) {
	z := tile.ZXY{Z: 3, X: 1, Y: 2}
	src := raster.New(raster.UInt16, 4, 2)
	for i := range src.Len() {
		src.Set(i, float64(100+i))
	}
	data, err := Encode(&Tile{Tile: z, Bounds: z.Bounds(), Width: 4, Height: 2, Bands: map[string]*raster.Band{"a": src}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	b := got.Bands["a"]
	if !bytes.Equal(b.Data, src.Data) {
		t.Fatalf("pixels %v, want %v", b.Data, src.Data)
	}
	i := bytes.Index(data, src.Data)
	if i < 0 || &data[i] != &b.Data[0] || cap(b.Data) != len(b.Data) {
		t.Fatal("the band's pixels are a copy, or their capacity reaches past them")
	}
	var w wireTile
	if err := msgpack.Unmarshal(data, &w); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bands["a"].Data, src.Data) {
		t.Errorf("plain msgpack decode: %v, want %v", w.Bands["a"].Data, src.Data)
	}
}

// TestDecodeDeclaredLengths: a few bytes declaring a huge bounds array or bands map must be
// refused without allocating for the declared size (msgpack v5.4.1 allocates a slice of the
// declared length whatever its alloc limit says: 10 bytes once asked for 24 GB).
func TestDecodeDeclaredLengths(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"bounds array of 10^7", append([]byte("\x81\xa6bounds\xdd"), 0x00, 0x98, 0x96, 0x80)},
		{"bands map of 10^6", append([]byte("\x81\xa5bands\xdf"), 0x00, 0x0f, 0x42, 0x40)},
		{"fuzz: struct as array", []byte("\x98\xfbO\xee\xe9ݳ000")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Decode(tt.data)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Fatalf("decoding %d bytes allocated %d bytes", len(tt.data), n)
			}
		})
	}
}
