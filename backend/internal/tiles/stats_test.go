package tiles_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/tiles"
)

// TestStatsHistogramKeepsValues: a histogram's second pass bins the values its first pass
// kept, evaluating no tile again (it re-evaluated the formula over every tile), and gives
// the answer the re-evaluating pass gives — with no budget, and with a budget the values
// outgrow after the first tile. The tile cache is off, so every evaluated tile is looked up
// (and read) again.
func TestStatsHistogramKeepsValues(t *testing.T) {
	e := setup(t)
	req := statsRequest(t, "layers=a=ramp,c=const&formula=a*2%2Bc&zoom=6&mode=histogram&bins=7&area=1")
	run := func(keep int64) (body string, lookups int64) {
		var n atomic.Int64
		svc := tiles.New(e.st, tiles.Config{LayerTTL: -1, TileCacheBytes: -1, StatsKeepBytes: keep,
			OnCache: func(cache string, hit bool) {
				if cache == "tile" {
					n.Add(1)
				}
			}})
		r := svc.Stats(context.Background(), req)
		if r.Status != 200 {
			t.Fatalf("StatsKeepBytes %d: status %d, body %s", keep, r.Status, r.Body)
		}
		return string(r.Body), n.Load()
	}
	kept, keptLookups := run(0) // the default budget, 64 MiB: 16 tiles of 65536 values fit
	var res tiles.StatsResult
	if err := json.Unmarshal([]byte(kept), &res); err != nil {
		t.Fatal(err)
	}
	var sum int64
	if res.Histogram != nil {
		for _, c := range res.Histogram.Counts {
			sum += c
		}
	}
	if res.Count < 16*65536-16 || sum != res.Count || len(res.AreaBins) != 7 {
		t.Fatalf("histogram of %d values, %d binned, %d area bins: %s", res.Count, sum, len(res.AreaBins), kept)
	}
	for _, tc := range []struct {
		name string
		keep int64
	}{
		{"no values kept", -1},
		{"budget outgrown after the first tile", 16 * 70000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, lookups := run(tc.keep)
			if body != kept {
				t.Errorf("answer differs from the kept values' one:\n%s\nwant\n%s", body, kept)
			}
			if lookups != 2*keptLookups {
				t.Errorf("%d tile lookups, want two passes of %d", lookups, keptLookups)
			}
		})
	}
}

// TestStatsHugeValues: statistics of values whose spread float64 cannot hold. The squared
// deviations of values past 1.3e154 overflowed the standard deviation to +Inf, and values
// more than math.MaxFloat64 apart the mean to NaN and the histogram's width to +Inf (edges
// NaN, every value in bin 0): JSON cannot hold those, so the answer was a 500.
func TestStatsHugeValues(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		name, query string
	}{
		{"squares overflow", "layers=a=ramp&formula=a*1e300&zoom=4&bins=4"},
		{"squares overflow, histogram asked", "layers=a=ramp&formula=a*1e300&zoom=4&mode=histogram&bins=4"},
		{"range overflows", "layers=a=ramp&formula=(a-16384)*1e304&zoom=4&mode=histogram&bins=4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.svc.Stats(context.Background(), statsRequest(t, tc.query))
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var res tiles.StatsResult
			if err := json.Unmarshal(r.Body, &res); err != nil {
				t.Fatal(err)
			}
			h := res.Histogram
			if res.Count == 0 || res.Min == nil || res.Max == nil || h == nil || len(h.Edges) != 5 {
				t.Fatalf("answer %s", r.Body)
			}
			if h.Edges[0] != *res.Min || h.Edges[4] != *res.Max {
				t.Errorf("edges %v, want %v..%v", h.Edges, *res.Min, *res.Max)
			}
			var sum int64
			for i, c := range h.Counts {
				sum += c
				if c == 0 || !(h.Edges[i] < h.Edges[i+1]) {
					t.Errorf("bin %d: %d values in [%v, %v]", i, c, h.Edges[i], h.Edges[i+1])
				}
			}
			if sum != res.Count {
				t.Errorf("%d values binned of %d", sum, res.Count)
			}
		})
	}
}

// TestStatsNoValues: counting by value or legend key where there is no value (a geometry
// away from the layer) answers "values": {} (and "area": {} with area=1), as it answers
// counts where there are values; the keys were left out, so a client reading the counts
// found nothing to read. A histogram of no values has numpy's edges over 0..1 (they were all
// 0).
func TestStatsNoValues(t *testing.T) {
	e := setup(t)
	svc := tiles.New(e.st, tiles.Config{LayerTTL: -1})
	away := url.QueryEscape(`{"type":"Polygon","coordinates":[[[-60,-30],[-59,-30],[-59,-29],[-60,-29],[-60,-30]]]}`)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"values", "mode=values", []string{`"values":{}`}},
		{"values with area", "mode=values&area=1", []string{`"values":{}`, `"area":{}`, `"area_total":0`}},
		{"the default mode of a categorical layer", "area=1", []string{`"mode":"values"`, `"values":{}`, `"area":{}`}},
		// numpy.histogram of no values spans 0..1, as django-raster's value counts answer.
		{"histogram", "mode=histogram&bins=4", []string{`"edges":[0,0.25,0.5,0.75,1]`, `"counts":[0,0,0,0]`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := svc.Stats(context.Background(), statsRequest(t, "layers=x=classes&formula=x&zoom=6&geometry="+away+"&"+tc.query))
			if r.Status != 200 {
				t.Fatalf("status %d, body %s", r.Status, r.Body)
			}
			body := string(r.Body)
			if !strings.Contains(body, `"count":0`) {
				t.Fatalf("the geometry is not away from the layer: %s", body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %s", body, w)
				}
			}
		})
	}
}
