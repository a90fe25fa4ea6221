package main

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-gis/tessera/shared/tile"
)

// TestPrimeCoversEveryRequest: a warm scenario's priming puts every answer its measured
// requests ask for into the server's caches. For the tile scenarios that is the same URL;
// for the pixel scenario (whose answers the server does not cache) it is a whole-tile read
// of both its layers at the tile holding the point. The warm pixel scenario once primed
// with its own first 256 requests, of 4096 points, and those pixel reads cache no tile.
func TestPrimeCoversEveryRequest(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RequestURI())
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	drain := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}

	const z, x0, y0, n = 12, 2176, 1420, 4
	var tiles []tile.ZXY
	for x := x0; x < x0+n; x++ {
		for y := y0; y < y0+n; y++ {
			tiles = append(tiles, tile.ZXY{Z: z, X: x, Y: y})
		}
	}
	first, last := tiles[0].Bounds(), tiles[len(tiles)-1].Bounds()
	rng := rand.New(rand.NewPCG(1, 2))
	points := make([][2]float64, 500)
	for i := range points {
		points[i] = [2]float64{millimetre(first.MinX + rng.Float64()*(last.MaxX-first.MinX)), millimetre(last.MinY + rng.Float64()*(first.MaxY-last.MinY))}
	}
	p := &plan{c: 3, tiles: tiles, points: points, z: z}
	base := srv.URL + "/raster/"
	cl := newClient(p.c)
	for _, s := range p.scenarios(cl, base) {
		t.Run(s.name, func(t *testing.T) {
			drain()
			if failed, msg := prime(cl, s.prime); failed > 0 {
				t.Fatalf("%d priming requests failed: %s", failed, msg)
			}
			primed := map[string]bool{}
			primedTiles := map[tile.ZXY]bool{}
			for _, u := range drain() {
				primed[u] = true
				if strings.HasSuffix(strings.SplitN(u, "?", 2)[0], ".msgpack") && strings.Contains(u, "layers=a=bench_a,b=bench_b&") {
					primedTiles[tileOf(t, u)] = true
				}
			}
			for w := range p.c {
				for i := range 2 * len(points) {
					if _, err := s.op(w, i); err != nil {
						t.Fatal(err)
					}
				}
			}
			asked := drain()
			if len(asked) == 0 {
				t.Fatal("the scenario made no request")
			}
			for _, u := range asked {
				if !strings.Contains(u, "/pixel/") {
					if !primed[u] {
						t.Fatalf("%s asked for but not primed", u)
					}
					continue
				}
				parts := strings.Split(strings.SplitN(u, "?", 2)[0], "/")
				x, errX := strconv.ParseFloat(parts[len(parts)-2], 64)
				y, errY := strconv.ParseFloat(parts[len(parts)-1], 64)
				if errX != nil || errY != nil {
					t.Fatalf("pixel URL %s: %v %v", u, errX, errY)
				}
				found := false
				for tl := range primedTiles {
					if b := tl.Bounds(); x >= b.MinX && x <= b.MaxX && y >= b.MinY && y <= b.MaxY {
						found = true
						break
					}
				}
				if !found {
					t.Fatalf("pixel %s: no primed tile of bench_a and bench_b holds the point (%d tiles primed)", u, len(primedTiles))
				}
			}
		})
	}
}

// tileOf reads z/x/y from an algebra URL's path.
func tileOf(t *testing.T, u string) tile.ZXY {
	t.Helper()
	path, _, _ := strings.Cut(u, "?")
	path, _ = url.PathUnescape(strings.TrimSuffix(path, ".msgpack"))
	parts := strings.Split(path, "/")
	var v [3]int
	for k := range v {
		var err error
		if v[k], err = strconv.Atoi(parts[len(parts)-3+k]); err != nil {
			t.Fatalf("algebra URL %s: %v", u, err)
		}
	}
	return tile.ZXY{Z: v[0], X: v[1], Y: v[2]}
}
