package raster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestDataTypeNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  DataType
		size int
	}{
		{"Byte", Byte, 1}, {"Int8", Int8, 1}, {"UInt16", UInt16, 2}, {"Int16", Int16, 2},
		{"UInt32", UInt32, 4}, {"Int32", Int32, 4}, {"Float32", Float32, 4}, {"Float64", Float64, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDataType(tc.name)
			if err != nil || got != tc.typ {
				t.Fatalf("ParseDataType(%q) = %v, %v; want %v", tc.name, got, err, tc.typ)
			}
			if got.String() != tc.name || got.Size() != tc.size {
				t.Fatalf("%v: String %q Size %d; want %q %d", got, got.String(), got.Size(), tc.name, tc.size)
			}
		})
	}
	if _, err := ParseDataType("float32"); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("lower-case name: err = %v, want ErrUnknownType", err)
	}
}

func TestSetAtRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  DataType
		in   []float64
		want []float64
	}{
		{"byte clamps and rounds half away from zero", Byte, []float64{-5, 0, 2.5, 3.5, 254.6, 300, math.NaN()}, []float64{0, 0, 3, 4, 255, 255, 0}},
		{"int8 signed", Int8, []float64{-128, -1, 127, 200}, []float64{-128, -1, 127, 127}},
		{"uint16", UInt16, []float64{0, 65535, 70000, 1234}, []float64{0, 65535, 65535, 1234}},
		{"int16", Int16, []float64{-32768, -2, 32767}, []float64{-32768, -2, 32767}},
		{"uint32", UInt32, []float64{4294967295, 7}, []float64{4294967295, 7}},
		{"int32", Int32, []float64{-2147483648, 2147483647}, []float64{-2147483648, 2147483647}},
		{"float32 rounds to single precision", Float32, []float64{0.1, -3.4e38}, []float64{float64(float32(0.1)), float64(float32(-3.4e38))}},
		{"float64 exact", Float64, []float64{0.1, math.Inf(-1)}, []float64{0.1, math.Inf(-1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.typ, len(tc.in), 1)
			for i, v := range tc.in {
				b.Set(i, v)
			}
			if err := b.Validate(); err != nil {
				t.Fatal(err)
			}
			vals, _ := b.Decode(nil, nil)
			for i := range tc.want {
				if got := b.At(i); got != tc.want[i] {
					t.Errorf("At(%d) = %v, want %v", i, got, tc.want[i])
				}
				if vals[i] != tc.want[i] {
					t.Errorf("Decode[%d] = %v, want %v", i, vals[i], tc.want[i])
				}
			}
		})
	}
}

func TestIsNoData(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name   string
		v, nd  float64
		expect bool
	}{
		{"exact", 100, 100, true},
		{"within relative 1e-5", 100.0005, 100, true},
		{"outside relative 1e-5", 100.002, 100, false},
		{"zero absolute 1e-8", 1e-9, 0, true},
		{"zero outside", 1e-7, 0, false},
		{"float32 rounding of -3.4e38", float64(float32(-3.4e38)), -3.4e38, true},
		{"NaN nodata matches NaN", nan, nan, true},
		{"NaN nodata does not match numbers", 0, nan, false},
		{"NaN pixel does not match a number", nan, 0, false},
		{"infinite nodata exact", math.Inf(-1), math.Inf(-1), true},
		{"infinite nodata vs large", -math.MaxFloat64, math.Inf(-1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsNoData(tc.v, tc.nd); got != tc.expect {
				t.Fatalf("IsNoData(%v, %v) = %v, want %v", tc.v, tc.nd, got, tc.expect)
			}
		})
	}
}

func TestDecodeMask(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name      string
		vals      []float32
		hasNoData bool
		nd        float64
		want      []bool // nil = no nodata pixel
	}{
		{"no nodata value, no NaN", []float32{1, 2, 3}, false, 0, nil},
		{"NaN is always nodata", []float32{1, nan, 3}, false, 0, []bool{false, true, false}},
		{"nodata matched with tolerance", []float32{-9999, 5, -9999.01}, true, -9999, []bool{true, false, true}},
		{"NaN nodata", []float32{nan, 0, nan}, true, math.NaN(), []bool{true, false, true}},
		{"nodata set but absent", []float32{1, 2}, true, 0, nil},
		{"float32 huge negative", []float32{-3.4e38, 1}, true, -3.4e38, []bool{true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(Float32, len(tc.vals), 1)
			b.HasNoData, b.NoData = tc.hasNoData, tc.nd
			for i, v := range tc.vals {
				b.Set(i, float64(v))
			}
			vals, mask := b.Decode(nil, nil)
			if len(vals) != len(tc.vals) {
				t.Fatalf("len(vals) = %d", len(vals))
			}
			if (mask == nil) != (tc.want == nil) {
				t.Fatalf("mask = %v, want %v", mask, tc.want)
			}
			for i := range tc.want {
				if mask[i] != tc.want[i] {
					t.Fatalf("mask = %v, want %v", mask, tc.want)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	b := New(UInt16, 3, 2)
	b.Data = b.Data[:11]
	if err := b.Validate(); err == nil {
		t.Fatal("short data accepted")
	}
	if err := (&Band{Width: 1, Height: 1, Data: []byte{0}}).Validate(); err == nil {
		t.Fatal("unknown type accepted")
	}
}

func TestFromFloat64WritesNoData(t *testing.T) {
	b := FromFloat64(Int16, 3, 1, []float64{1, 2, 3}, []bool{false, true, false}, true, -1)
	if got := []float64{b.At(0), b.At(1), b.At(2)}; got[0] != 1 || got[1] != -1 || got[2] != 3 {
		t.Fatalf("got %v, want [1 -1 3]", got)
	}
}

func BenchmarkDecodeFloat32(b *testing.B) {
	band := New(Float32, 256, 256)
	band.HasNoData, band.NoData = true, -9999
	for i := 0; i < band.Len(); i++ {
		band.Set(i, float64(i%1000))
	}
	vals := make([]float64, band.Len())
	mask := make([]bool, band.Len())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		vals, mask = band.Decode(vals, mask)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(band.Len()), "ns/pixel")
}

// TestDecodeMatchesAt checks the chunked, unrolled Decode against the per-pixel definition
// (At and IsNoData, NaN always nodata) for every type, at sizes that end inside an unrolled
// group and inside a chunk, with the only nodata pixel in the first, a middle or the last chunk.
func TestDecodeMatchesAt(t *testing.T) {
	types := []DataType{Byte, Int8, UInt16, Int16, UInt32, Int32, Float32, Float64}
	for _, typ := range types {
		for _, n := range []int{1, 3, 4, 5, decodeChunk - 1, decodeChunk + 3, 3*decodeChunk + 7} {
			for _, at := range []int{-1, 0, n / 2, n - 1} { // where the nodata pixel goes; -1 none
				t.Run(fmt.Sprintf("%v/%d/nodata@%d", typ, n, at), func(t *testing.T) {
					b := New(typ, n, 1)
					b.HasNoData, b.NoData = true, 7
					signed := typ != Byte && typ != UInt16 && typ != UInt32
					for i := range n {
						v := float64(i%97 + 10)
						if signed && i%2 == 1 {
							v = -v
						}
						b.Set(i, v)
					}
					if at >= 0 {
						b.Set(at, 7)
					}
					vals, mask := b.Decode(make([]float64, 1), nil)
					if len(vals) != n {
						t.Fatalf("len(vals) = %d, want %d", len(vals), n)
					}
					if (mask == nil) != (at < 0) {
						t.Fatalf("mask nil = %v, want %v", mask == nil, at < 0)
					}
					for i := range n {
						if want := b.At(i); vals[i] != want {
							t.Fatalf("vals[%d] = %v, want %v", i, vals[i], want)
						}
						if mask != nil && mask[i] != IsNoData(vals[i], 7) {
							t.Fatalf("mask[%d] = %v, want %v", i, mask[i], !mask[i])
						}
					}
				})
			}
		}
	}
	b := New(Float64, 5, 1)
	b.Set(4, math.NaN())
	if _, mask := b.Decode(nil, nil); mask == nil || !mask[4] || mask[3] {
		t.Fatalf("a NaN in the unrolled tail: mask = %v, want only [4] set", mask)
	}
	// A Float32 band with a nodata value (convertFloat32NoData): a NaN is nodata too, in the
	// unrolled body and in the tail, in the first chunk and a later one.
	for _, at := range []int{1, 4, decodeChunk + 2, 2*decodeChunk + 2} {
		b := New(Float32, 2*decodeChunk+3, 1)
		b.HasNoData, b.NoData = true, -9999
		for i := range b.Len() {
			b.Set(i, float64(i%50))
		}
		b.Set(at, math.NaN())
		vals, mask := b.Decode(nil, nil)
		if mask == nil || !mask[at] || mask[at-1] || !math.IsNaN(vals[at]) || vals[at-1] != float64((at-1)%50) {
			t.Fatalf("Float32, a NaN at %d: mask nil %v, vals %v", at, mask == nil, vals[at-1:at+1])
		}
	}
}

// TestDecodeIntegerNoData checks the raw-pixel nodata test of 8- and 16-bit bands against
// the per-pixel definition (IsNoData of each converted value), for nodata values at the
// types' edges, near an integer, between two integers, out of range, NaN and infinite; with
// no nodata pixel at all, and with only floor(nodata) or only ceil(nodata) present, after the
// 8-byte words or inside them.
func TestDecodeIntegerNoData(t *testing.T) {
	nds := []float64{0, 7, 7.000001, 7.5, -1, 255, 127, -128, 65535, -32768, 32767, 60000.5, -9999, 1e6, math.NaN(), math.Inf(1)}
	for _, typ := range []DataType{Byte, Int8, UInt16, Int16} {
		lo, hi := typ.Range()
		for _, nd := range nds {
			for _, n := range []int{1, 7, 8, 9, 4096 + 3} {
				for _, put := range []string{"none", "floor", "ceil"} {
					t.Run(fmt.Sprintf("%v/%v/%d/%s", typ, nd, n, put), func(t *testing.T) {
						b := New(typ, n, 1)
						b.HasNoData, b.NoData = true, nd
						for i := range n { // the type's values in turn, edges included, nodata left out
							v := lo + float64((i*7919)%int(hi-lo+1))
							for IsNoData(v, nd) {
								v = lo + math.Mod(v-lo+1, hi-lo+1)
							}
							b.Set(i, v)
						}
						if k := map[string]float64{"floor": math.Floor(nd), "ceil": math.Ceil(nd)}[put]; put != "none" && k >= lo && k <= hi {
							at := 0 // ceil: pixel 0, inside the first 8-byte word
							if put == "floor" {
								at = n - 1 // floor: the last pixel, after the words
							}
							b.Set(at, k)
						}
						vals, mask := b.Decode(nil, nil)
						want := false
						for i := range n {
							if vals[i] != b.At(i) {
								t.Fatalf("vals[%d] = %v, want %v", i, vals[i], b.At(i))
							}
							w := IsNoData(vals[i], nd)
							want = want || w
							if mask != nil && mask[i] != w {
								t.Fatalf("mask[%d] = %v for %v, want %v", i, mask[i], vals[i], w)
							}
						}
						if (mask != nil) != want {
							t.Fatalf("mask nil = %v, but some pixel is nodata = %v", mask == nil, want)
						}
					})
				}
			}
		}
	}
}

func BenchmarkDecodeUInt16(b *testing.B) {
	band := New(UInt16, 256, 256)
	band.HasNoData, band.NoData = true, 0
	for i := 0; i < band.Len(); i++ {
		band.Set(i, float64(1+i%3000))
	}
	vals := make([]float64, band.Len())
	mask := make([]bool, band.Len())
	b.ReportAllocs()
	for b.Loop() {
		vals, mask = band.Decode(vals, mask)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(band.Len()), "ns/pixel")
}

// FuzzDecode checks Decode against the per-pixel rule (At, IsNoData, NaN always nodata) for
// any type, nodata value and pixel bytes.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(UInt16), 0.0, true, []byte{0, 0, 1, 0, 2, 0, 3, 0, 4, 0})
	f.Add(uint8(Byte), 255.0, true, []byte{1, 2, 255, 4, 5, 6, 7, 8, 9})
	f.Add(uint8(Int16), -32768.0, true, []byte{0, 0x80, 1, 0})
	f.Add(uint8(Float32), -9999.0, true, []byte{0, 0, 0xc0, 0x7f, 0, 0, 0, 0})
	f.Add(uint8(Int8), 7.000001, false, []byte{7, 7, 7})
	f.Fuzz(func(t *testing.T, typ uint8, nd float64, has bool, data []byte) {
		b := &Band{Type: DataType(typ % uint8(Float64+1)), HasNoData: has, NoData: nd}
		sz := b.Type.Size()
		if sz == 0 || len(data) < sz {
			return
		}
		b.Width, b.Height = len(data)/sz, 1
		b.Data = data[:b.Width*sz]
		vals, mask := b.Decode(nil, nil)
		any := false
		for i, v := range vals {
			at := b.At(i)
			if v != at && !(v != v && at != at) {
				t.Fatalf("vals[%d] = %v, want %v", i, v, at)
			}
			w := v != v || (has && IsNoData(v, nd))
			any = any || w
			if mask != nil && mask[i] != w {
				t.Fatalf("%v nodata %v (set %v): mask[%d] = %v for %v, want %v", b.Type, nd, has, i, mask[i], v, w)
			}
		}
		if (mask != nil) != any {
			t.Fatalf("%v nodata %v (set %v): mask nil = %v, some pixel nodata = %v", b.Type, nd, has, mask == nil, any)
		}
	})
}

// TestDecodeIntegerNoDataIgnoresSlack checks that bytes past the band's pixels (Data longer
// than Width×Height, which Decode does not convert) cannot make an 8- or 16-bit band look
// as if it had nodata: the mask stays nil, as the converted values say.
func TestDecodeIntegerNoDataIgnoresSlack(t *testing.T) {
	for _, typ := range []DataType{Byte, Int8, UInt16, Int16} {
		t.Run(typ.String(), func(t *testing.T) {
			b := New(typ, 9, 1)
			b.HasNoData, b.NoData = true, 0
			for i := range b.Len() {
				b.Set(i, 1)
			}
			b.Data = append(b.Data, make([]byte, 16)...) // zeros, the nodata value, after the pixels
			vals, mask := b.Decode(nil, nil)
			if len(vals) != 9 || vals[0] != 1 || vals[8] != 1 {
				t.Fatalf("vals = %v, want nine 1s", vals)
			}
			if mask != nil {
				t.Fatalf("mask = %v, want nil: no pixel is nodata", mask)
			}
		})
	}
}

// TestBlockDecoder: a band decoded block by block, at any block size, gives Decode's values
// and nodata pixel for pixel, a nil mask for a block without nodata.
func TestBlockDecoder(t *testing.T) {
	for _, typ := range []DataType{Byte, Int8, UInt16, Int16, UInt32, Int32, Float32, Float64} {
		for _, nd := range []float64{7, math.NaN(), -1} {
			b := New(typ, 37, 29)
			b.HasNoData, b.NoData = !(nd == -1), nd
			for i := range b.Len() {
				b.Set(i, float64(i%90+10))
			}
			b.Set(500, 7) // nodata in one block
			if typ == Float32 || typ == Float64 {
				b.Set(900, math.NaN())
			}
			want, wantMask := b.Decode(nil, nil)
			dec := b.BlockDecoder()
			for _, bs := range []int{1, 5, 64, 4096} {
				vals, mask := make([]float64, bs), make([]bool, bs)
				for off := 0; off < b.Len(); off += bs {
					m := min(bs, b.Len()-off)
					got, gotMask := dec.Decode(vals[:m], mask, off)
					for i := range m {
						w := want[off+i]
						if got[i] != w && !(math.IsNaN(got[i]) && math.IsNaN(w)) {
							t.Fatalf("%v nodata %v, block %d at %d: value %d = %v, want %v", typ, nd, bs, off, off+i, got[i], w)
						}
						wn := wantMask != nil && wantMask[off+i]
						if gn := gotMask != nil && gotMask[i]; gn != wn {
							t.Fatalf("%v nodata %v, block %d at %d: pixel %d nodata %v, want %v", typ, nd, bs, off, off+i, gn, wn)
						}
					}
				}
			}
		}
	}
}

// TestNoDataToleranceEdges: the fused Float32 pass and maskInto call a value nodata exactly
// where IsNoData does, at the float32 values around nodata ± its tolerance (where a
// rewritten |v − nd| > tol would first differ), NaN and ±Inf; alone (the loop's tail) and in
// each place of its unrolled eight.
func TestNoDataToleranceEdges(t *testing.T) {
	for _, nd := range []float64{-9999, 0, 0.1, 1e30, -3.4e38, 65535, float64(float32(0.3))} {
		tol := noDataTol(nd)
		var vals []float32
		for _, edge := range []float64{nd - tol, nd + tol, nd} {
			v := float32(edge)
			for range 6 {
				v = math.Nextafter32(v, float32(math.Inf(-1)))
			}
			for range 13 {
				vals = append(vals, v)
				v = math.Nextafter32(v, float32(math.Inf(1)))
			}
		}
		vals = append(vals, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)))
		for _, v := range vals {
			d := make([]byte, 4)
			binary.LittleEndian.PutUint32(d, math.Float32bits(v))
			out := make([]float64, 1)
			want := IsNoData(float64(v), nd) || math.IsNaN(float64(v))
			if got := convertFloat32NoData(out, d, nd); got != want || (out[0] != float64(v) && !math.IsNaN(float64(v))) {
				t.Errorf("nodata %v: value %v: convertFloat32NoData says nodata %v (%v), IsNoData %v", nd, v, got, out[0], want)
			}
			if m := maskInto(make([]bool, 1), []float64{float64(v)}, true, nd); m[0] != want {
				t.Errorf("nodata %v: value %v: maskInto %v, IsNoData %v", nd, v, m[0], want)
			}
			// The same value in each of the unrolled loop's eight places, the others 1 (far
			// from every nd here): one value alone above took the loop's tail.
			for lane := range 8 {
				d := make([]byte, 32)
				for i := range 8 {
					binary.LittleEndian.PutUint32(d[4*i:], math.Float32bits(1))
				}
				binary.LittleEndian.PutUint32(d[4*lane:], math.Float32bits(v))
				out := make([]float64, 8)
				if got := convertFloat32NoData(out, d, nd); got != want || (out[lane] != float64(v) && !math.IsNaN(float64(v))) {
					t.Errorf("nodata %v: value %v in place %d of 8: convertFloat32NoData says nodata %v (%v), IsNoData %v", nd, v, lane, got, out[lane], want)
				}
			}
		}
	}
}
