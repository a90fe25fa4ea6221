package render

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func readPNG(t testing.TB, path string) *image.NRGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if n, ok := m.(*image.NRGBA); ok {
		return n
	}
	n := image.NewNRGBA(m.Bounds())
	draw.Draw(n, n.Rect, m, m.Bounds().Min, draw.Src)
	return n
}

// TestEnhanceMatchesPillow compares Apply with images Pillow 9.4's ImageEnhance made from
// the same input (testdata/enhance/gen.py), byte for byte.
func TestEnhanceMatchesPillow(t *testing.T) {
	dir := filepath.Join("testdata", "enhance")
	f, err := os.Open(filepath.Join(dir, "cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 5 {
			t.Fatalf("cases.txt: bad line %q", line)
		}
		var facs [4]*float64
		for i, s := range fields[1:] {
			if s == "-" {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("cases.txt: %q: %v", line, err)
			}
			facs[i] = &v
		}
		n++
		t.Run(fields[0], func(t *testing.T) {
			img := readPNG(t, filepath.Join(dir, "input.png"))
			e := Enhance{Color: facs[0], Contrast: facs[1], Brightness: facs[2], Sharpness: facs[3]}
			if err := e.Apply(img); err != nil {
				t.Fatal(err)
			}
			want := readPNG(t, filepath.Join(dir, fields[0]))
			comparePixels(t, img, want, fields[0])
		})
	}
	if n < 10 {
		t.Fatalf("only %d cases in cases.txt", n)
	}
}

// comparePixels fails on the first differing pixels and writes the actual image beside
// the test's temporary files.
func comparePixels(t *testing.T, got, want *image.NRGBA, name string) {
	t.Helper()
	if got.Rect.Size() != want.Rect.Size() {
		t.Fatalf("%s: size %v, want %v", name, got.Rect.Size(), want.Rect.Size())
	}
	var diffs []string
	w := got.Rect.Dx()
	for i := 0; i < len(got.Pix); i += 4 {
		if string(got.Pix[i:i+4]) != string(want.Pix[i:i+4]) {
			if len(diffs) < 5 {
				diffs = append(diffs, fmt.Sprintf("(%d,%d) = %v, want %v", i/4%w, i/4/w, got.Pix[i:i+4], want.Pix[i:i+4]))
			} else {
				diffs = append(diffs, "")
			}
		}
	}
	if len(diffs) == 0 {
		return
	}
	out := filepath.Join(t.TempDir(), "actual-"+filepath.Base(name))
	if f, err := os.Create(out); err == nil {
		png.Encode(f, got)
		f.Close()
		// Keep it past the test: copy next to the package's testdata as *.actual.png.
		keep := filepath.Join("testdata", strings.TrimSuffix(filepath.Base(name), ".png")+".actual.png")
		if b, err := os.ReadFile(out); err == nil && os.WriteFile(keep, b, 0o644) == nil {
			out = keep
		}
	}
	t.Fatalf("%s: %d pixels differ, first: %s; actual image written to %s", name, len(diffs), strings.Join(diffs[:min(5, len(diffs))], "; "), out)
}

func TestEnhanceValidate(t *testing.T) {
	tests := []struct {
		name string
		e    Enhance
		ok   bool
	}{
		{"none", Enhance{}, true},
		{"zero", Enhance{Brightness: Factor(0)}, true},
		{"max", Enhance{Sharpness: Factor(MaxFactor)}, true},
		{"negative", Enhance{Color: Factor(-0.1)}, false},
		{"too big", Enhance{Contrast: Factor(MaxFactor + 1)}, false},
		{"NaN", Enhance{Contrast: Factor(math.NaN())}, false},
		{"Inf", Enhance{Brightness: Factor(math.Inf(1))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			if err := tt.e.Apply(image.NewNRGBA(image.Rect(0, 0, 2, 2))); (err == nil) != tt.ok {
				t.Fatalf("Apply = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
