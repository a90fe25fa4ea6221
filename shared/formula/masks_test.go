package formula

import (
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
)

func funcName(f any) string { return runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name() }

// TestMaskBytes pins the representation maskBytes relies on: false is byte 0, true byte 1.
func TestMaskBytes(t *testing.T) {
	m := []bool{false, true, true, false}
	b := maskBytes(m)
	want := []byte{0, 1, 1, 0}
	for i := range want {
		if b[i] != want[i] {
			t.Fatalf("maskBytes(%v) = %v, want %v", m, b, want)
		}
	}
	if maskBytes(nil) != nil {
		t.Fatal("maskBytes(nil) is not nil")
	}
}

// TestUnionMasks checks the word-at-a-time unions against a pixel-by-pixel one, on lengths
// that are and are not multiples of eight.
func TestUnionMasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, blockSize} {
		for k := 1; k <= 5; k++ {
			masks := make([][]bool, k)
			want := make([]bool, n)
			for j := range masks {
				masks[j] = make([]bool, n+3) // longer than dst, as a variable's mask is
				for i := range masks[j] {
					masks[j][i] = rng.IntN(4) == 0
					if i < n {
						want[i] = want[i] || masks[j][i]
					}
				}
			}
			for _, shift := range []int{0, 1} { // a mask starting off a word boundary
				ms := make([][]bool, k)
				for j, m := range masks {
					ms[j] = append(make([]bool, shift), m...)[shift:]
				}
				ms[k-1] = masks[k-1]
				got := make([]bool, n)
				unionMasks(got, ms)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("n=%d k=%d shift %d pixel %d: %v, want %v", n, k, shift, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestFinalize checks the nodata marking of a block: masked or not finite → nodata, with
// the fill value written there, for blocks with and without non-finite values.
func TestFinalize(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	fill := -9999.0
	for _, n := range []int{1, 13, blockSize} {
		for k := 1; k <= 4; k++ {
			for _, special := range []bool{false, true} {
				dst := make([]float64, n)
				orig := make([]float64, n)
				masks := make([][]bool, k)
				for j := range masks {
					masks[j] = make([]bool, n)
					for i := range n {
						masks[j][i] = rng.IntN(10) == 0
					}
				}
				for i := range dst {
					dst[i] = rng.Float64()*10 - 5
					if special && rng.IntN(8) == 0 {
						dst[i] = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[rng.IntN(3)]
					}
					orig[i] = dst[i]
				}
				mk := make([]bool, n)
				nd := finalize(dst, mk, masks, math.Float64bits(fill), false)
				count := 0
				for i := range dst {
					want := math.IsNaN(orig[i]) || math.IsInf(orig[i], 0)
					for _, m := range masks {
						want = want || m[i]
					}
					if mk[i] != want {
						t.Fatalf("n=%d k=%d pixel %d (%v): nodata %v, want %v", n, k, i, orig[i], mk[i], want)
					}
					if want {
						count++
						if dst[i] != fill {
							t.Fatalf("pixel %d: %v, want the fill value", i, dst[i])
						}
					} else if dst[i] != orig[i] {
						t.Fatalf("pixel %d: %v changed to %v", i, orig[i], dst[i])
					}
				}
				if nd != count {
					t.Fatalf("finalize counted %d nodata pixels, want %d", nd, count)
				}
			}
		}
	}
}

// TestFastKernels checks every fast kernel against its exact one: when the fast one
// reports success its values are finite and the exact ones, bit for bit; on finite
// operands without zeros it succeeds. The operands mix finite values, zeros, NaN and
// infinities, in blocks of which some hold none of them.
func TestFastKernels(t *testing.T) {
	type pair struct {
		exact fusedKernel
		fast  fastKernel
		bs    bool
		cs    bool
	}
	var pairs []pair
	for k, p := range fusedKernels {
		if p.fast != nil {
			pairs = append(pairs, pair{p.exact, p.fast, k.bScalar, k.cScalar})
		}
	}
	for k, f := range binaryFast {
		pairs = append(pairs, pair{binaryKernels[k], f, k.bScalar, false})
	}
	rng := rand.New(rand.NewPCG(8, 9))
	const n = 67
	// Rounds of three kinds: continuous positive values (no quotient by zero, so the fast
	// kernel must succeed), halves from -4 to 4 (zeros, equal operands), and halves with a
	// NaN or an infinity here and there.
	value := func(kind int) float64 {
		if kind == 0 {
			return rng.Float64()*4 + 0.5
		}
		if kind == 2 && rng.IntN(2*n) == 0 {
			return []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[rng.IntN(3)]
		}
		return float64(rng.IntN(17)-8) / 2
	}
	scalar := func(kind int) float64 { // never NaN (exec fills the block then)
		if kind > 0 && rng.IntN(8) == 0 {
			return math.Inf(1 - 2*rng.IntN(2))
		}
		return value(kind)
	}
	for _, p := range pairs {
		for round := range 60 {
			kind := round % 3
			special := kind > 0
			a, b, c := make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range n {
				a[i], b[i], c[i] = value(kind), value(kind), value(kind)
			}
			y, z := scalar(kind), scalar(kind)
			if p.bs {
				fill(b, y)
			}
			if p.cs {
				fill(c, z)
			}
			want, got := make([]float64, n), make([]float64, n)
			p.exact(want, a, b, c, y, z)
			ok := p.fast(got, a, b, c, y, z)
			if !special && !ok {
				t.Fatalf("%s: failed on finite operands", funcName(p.fast))
			}
			if !ok {
				continue
			}
			for i := range n {
				if math.IsNaN(got[i]) || math.IsInf(got[i], 0) { // EvalInto relies on it
					t.Fatalf("%s pixel %d: fast kernel succeeded with %v", funcName(p.fast), i, got[i])
				}
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
					t.Fatalf("%s pixel %d (a %v b %v c %v y %v z %v): fast %v, exact %v", funcName(p.fast), i, a[i], b[i], c[i], y, z, got[i], want[i])
				}
			}
		}
	}
}
