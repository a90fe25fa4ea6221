package tiles

import (
	"context"
	"encoding/json"
	"image/color"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Statistics modes.
const (
	ModeValues    = "values"
	ModeHistogram = "histogram"
	ModeLegend    = "legend"
)

// Limits of the statistics endpoint.
const (
	// MaxGeometryPoints bounds the vertices of a statistics geometry.
	MaxGeometryPoints = 10000
	// MaxDistinct bounds the distinct values mode=values counts (past it: 400, use a
	// histogram).
	MaxDistinct = 10000
	// acre is one international acre in square metres.
	acre = 4046.8564224
)

// StatsRequest is stats?layers=&formula=&zoom=&geometry=&mode=&area=: value counts and
// statistics of a formula over a region. django-raster has this only as a Python API
// (value_count); Tessera adds the endpoint.
type StatsRequest struct {
	Query Query
	Zoom  *int
	// Rings is the geometry (a GeoJSON Polygon or MultiPolygon in lon/lat), as rings in
	// EPSG:3857; nil: the layers' extents.
	Rings [][][2]float64
	// Mode is values (count per distinct value), histogram (Bins bins over min..max) or
	// legend (count per key of the colormap or legend given); "" (no mode= given) is values
	// when no layer of the query is continuous, else histogram, as django-raster counts
	// categorical layers by value and continuous ones in a 10-bin histogram (defaultMode).
	Mode string
	Bins int
	// Area adds each count's ground area in acres.
	Area  bool
	Style Style
}

// ParseStats reads a statistics request.
func ParseStats(q url.Values) (StatsRequest, error) {
	var r StatsRequest
	var err error
	if r.Query, err = ParseQuery(q); err != nil {
		return r, err
	}
	if r.Query.RGB != nil {
		return r, paramErr("formula", "missing: statistics need a formula")
	}
	if r.Zoom, err = parseZoom(q.Get("zoom")); err != nil {
		return r, err
	}
	if g := q.Get("geometry"); g != "" {
		if r.Rings, err = parseGeometry(g); err != nil {
			return r, err
		}
	}
	r.Mode = q.Get("mode")
	switch r.Mode {
	case "", ModeValues, ModeHistogram, ModeLegend:
	default:
		return r, paramErr("mode", "%q: use values, histogram or legend", clip(r.Mode))
	}
	r.Bins = 10
	if b := q.Get("bins"); b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 || n > 1000 {
			return r, paramErr("bins", "%q: use an integer from 1 to 1000", clip(b))
		}
		r.Bins = n
	}
	if a := q.Get("area"); a != "" {
		v, err := strconv.ParseBool(a)
		if err != nil {
			return r, paramErr("area", "%q: use 1 or 0", clip(a))
		}
		r.Area = v
	}
	if r.Style, err = ParseStyle(q); err != nil {
		return r, err
	}
	return r, nil
}

// parseGeometry reads a GeoJSON Polygon or MultiPolygon (or a Feature holding one) in
// lon/lat degrees and returns its rings in EPSG:3857.
func parseGeometry(s string) ([][][2]float64, error) {
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
		Geometry    *struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	}
	if err := json.Unmarshal([]byte(s), &g); err != nil {
		return nil, paramErr("geometry", "not GeoJSON: %v", err)
	}
	if g.Type == "Feature" && g.Geometry != nil {
		g.Type, g.Coordinates = g.Geometry.Type, g.Geometry.Coordinates
	}
	var polys [][][][]float64
	switch g.Type {
	case "Polygon":
		var p [][][]float64
		if err := json.Unmarshal(g.Coordinates, &p); err != nil {
			return nil, paramErr("geometry", "bad Polygon coordinates: %v", err)
		}
		polys = [][][][]float64{p}
	case "MultiPolygon":
		if err := json.Unmarshal(g.Coordinates, &polys); err != nil {
			return nil, paramErr("geometry", "bad MultiPolygon coordinates: %v", err)
		}
	default:
		return nil, paramErr("geometry", "type %q: give a GeoJSON Polygon or MultiPolygon in lon/lat", clip(g.Type))
	}
	var rings [][][2]float64
	n := 0
	for _, p := range polys {
		for _, ring := range p {
			if len(ring) < 4 {
				return nil, paramErr("geometry", "a ring needs at least 4 positions")
			}
			out := make([][2]float64, 0, len(ring))
			for _, pt := range ring {
				if len(pt) < 2 || math.IsNaN(pt[0]) || math.IsNaN(pt[1]) || math.Abs(pt[0]) > 180 || math.Abs(pt[1]) > 90 {
					return nil, paramErr("geometry", "position %v is not lon/lat in degrees", pt)
				}
				x, y := tile.LonLatToMercator(pt[0], pt[1])
				out = append(out, [2]float64{x, y})
			}
			n += len(out)
			rings = append(rings, out)
		}
	}
	if n > MaxGeometryPoints {
		return nil, paramErr("geometry", "%d positions, at most %d", n, MaxGeometryPoints)
	}
	if len(rings) == 0 {
		return nil, paramErr("geometry", "no rings")
	}
	return rings, nil
}

func ringsBounds(rings [][][2]float64) tile.Bounds {
	b := tile.Bounds{MinX: math.Inf(1), MinY: math.Inf(1), MaxX: math.Inf(-1), MaxY: math.Inf(-1)}
	for _, r := range rings {
		for _, p := range r {
			b.MinX, b.MinY = min(b.MinX, p[0]), min(b.MinY, p[1])
			b.MaxX, b.MaxY = max(b.MaxX, p[0]), max(b.MaxY, p[1])
		}
	}
	return b
}

// spans returns the x intervals inside the rings on the horizontal line y (even-odd rule,
// so holes and multipolygons need no special case), as sorted crossing pairs.
func spans(rings [][][2]float64, y float64, xs []float64) []float64 {
	xs = xs[:0]
	for _, r := range rings {
		for i := 0; i+1 < len(r); i++ {
			a, b := r[i], r[i+1]
			if (a[1] <= y) != (b[1] <= y) {
				xs = append(xs, a[0]+(y-a[1])*(b[0]-a[0])/(b[1]-a[1]))
			}
		}
	}
	sort.Float64s(xs)
	return xs
}

// onlyLegend returns the legend of the layer a formula that is one variable reads (formula=x),
// nil for any other formula (its values are not the layer's, which the legend's keys
// classify) or a layer without a legend.
func onlyLegend(formula string, vars []boundVar) *int64 {
	for _, v := range vars {
		if v.Name == formula {
			return v.layer.LegendID
		}
	}
	return nil
}

// defaultMode is the mode of a request without mode=: values when every layer it reads holds
// discrete values (categorical, mask, rank-ordered), else histogram.
func defaultMode(vars []boundVar) string {
	for _, v := range vars {
		if v.layer.Datatype == catalog.Continuous {
			return ModeHistogram
		}
	}
	return ModeValues
}

// StatsResult is the statistics answer.
type StatsResult struct {
	Zoom int `json:"zoom"`
	// Mode is the mode counted: the one asked for, or the layers' default.
	Mode  string   `json:"mode"`
	Count int64    `json:"count"`
	Min   *float64 `json:"min"`
	Max   *float64 `json:"max"`
	Mean  *float64 `json:"mean"`
	Std   *float64 `json:"std"`
	// Values (mode values and legend): pixel counts by value or legend key; Histogram: bins.
	// Values and Area are {} without values (omitzero: omitempty left the key out).
	Values    map[string]int64 `json:"values,omitzero"`
	Histogram *Histogram       `json:"histogram,omitempty"`
	// Area: acres by the same keys (values, legend) or per bin (histogram); AreaTotal all.
	Area      map[string]float64 `json:"area,omitzero"`
	AreaBins  []float64          `json:"area_bins,omitempty"`
	AreaTotal *float64           `json:"area_total,omitempty"`
}

// Histogram counts values in equal bins over [min, max]; Edges has one more entry than
// Counts.
type Histogram struct {
	Edges  []float64 `json:"edges"`
	Counts []int64   `json:"counts"`
}

// Stats answers stats?…. Areas are ground areas: a pixel's EPSG:3857 area scaled by
// cos²(latitude) of its row (django-raster used the projected area, which overstates it away
// from the equator). Without a zoom, the deepest zoom whose covering has at most
// StatsMaxTiles tiles is used.
func (s *Service) Stats(ctx context.Context, r StatsRequest) *Response {
	release, err := s.acquire(ctx)
	if err != nil {
		return s.fail(ctx, "stats", err)
	}
	defer release()
	vars, _, z, err := s.formulaQuery(ctx, r.Query)
	if err != nil {
		return s.fail(ctx, "stats", err)
	}
	if r.Mode == "" {
		r.Mode = defaultMode(vars)
	}
	var cm *colormap.Colormap
	if r.Mode == ModeLegend {
		j := &job{style: r.Style}
		if r.Style.Colormap == nil && r.Style.Legend == "" {
			// No legend= nor colormap=: for formula=x, the legend of x's layer, as that
			// layer's tiles are coloured.
			if j.layerLegend = onlyLegend(r.Query.Formula, vars); j.layerLegend == nil {
				return s.fail(ctx, "stats", paramErr("mode", "mode=legend needs legend= or a discrete colormap=, unless the formula is one variable whose layer has a legend"))
			}
		}
		st, err := s.colormap(ctx, j, Client{})
		if err != nil {
			return s.fail(ctx, "stats", err)
		}
		if st.cm == nil || st.cm.Kind() != colormap.Discrete {
			return s.fail(ctx, "stats", paramErr("mode", "mode=legend needs a discrete colormap or legend"))
		}
		cm = st.cm
		if r.Style.Entries != nil {
			cm = cm.Select(r.Style.Entries)
		}
	}
	var b tile.Bounds
	if r.Rings != nil {
		b = ringsBounds(r.Rings)
	} else if b, err = region(nil, vars); err != nil {
		return s.fail(ctx, "stats", err)
	}
	if r.Zoom != nil {
		z = *r.Zoom
		if tile.Covering(b, z).Count() > s.cfg.StatsMaxTiles {
			return s.fail(ctx, "stats", paramErr("zoom", "zoom %d covers %d tiles, at most %d: use a lower zoom or a smaller geometry", z, tile.Covering(b, z).Count(), s.cfg.StatsMaxTiles))
		}
	} else {
		for z > 0 && tile.Covering(b, z).Count() > s.cfg.StatsMaxTiles {
			z--
		}
	}
	rng := tile.Covering(b, z)
	acc := newAccumulator(r, cm)
	add := acc.add
	var kept *keptValues
	if r.Mode == ModeHistogram && s.cfg.StatsKeepBytes > 0 {
		kept = &keptValues{budget: s.cfg.StatsKeepBytes}
		add = func(vals, areas []float64) error {
			kept.add(vals, areas)
			return acc.add(vals, areas)
		}
	}
	if err := s.eachTile(ctx, vars, r, rng, add); err != nil {
		return s.fail(ctx, "stats", err)
	}
	if r.Mode == ModeHistogram && acc.count > 0 {
		// Second pass: the bins need the range, known only now. It bins the values the first
		// pass kept, in the same order; past the budget it evaluates every tile again (tiles
		// the decoded-tile cache still holds are not read again).
		acc.startHistogram()
		if kept != nil && !kept.over {
			err = acc.bin(kept.vals, kept.areas)
		} else {
			err = s.eachTile(ctx, vars, r, rng, acc.bin)
		}
		if err != nil {
			return s.fail(ctx, "stats", err)
		}
	}
	res, err := acc.result()
	if err != nil {
		return s.fail(ctx, "stats", err)
	}
	res.Zoom = z
	return jsonResponse(http.StatusOK, res)
}

// eachTile evaluates the formula on every tile of rng with data and calls fn with the valid
// values inside the geometry and each one's ground area in m².
func (s *Service) eachTile(ctx context.Context, vars []boundVar, r StatsRequest, rng tile.Range, fn func(vals, areas []float64) error) error {
	j := &job{formula: r.Query.Formula}
	var xs, vals, areas []float64
	for ty := rng.MinY; ty <= rng.MaxY; ty++ {
		for tx := rng.MinX; tx <= rng.MaxX; tx++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			t := tile.ZXY{Z: rng.Z, X: tx, Y: ty}
			tv, mask, w, h, ok, err := s.evalTile(ctx, vars, j, t)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			vals, areas = vals[:0], areas[:0]
			tb := t.Bounds()
			px, py := tb.Width()/float64(w), tb.Height()/float64(h)
			for row := 0; row < h; row++ {
				y := tb.MaxY - (float64(row)+0.5)*py
				_, lat := tile.MercatorToLonLat(0, y)
				cos := math.Cos(lat * math.Pi / 180)
				pa := px * py * cos * cos
				if r.Rings != nil {
					xs = spans(r.Rings, y, xs)
				}
				for col := 0; col < w; col++ {
					i := row*w + col
					v := tv[i]
					if (mask != nil && mask[i]) || math.IsNaN(v) || math.IsInf(v, 0) {
						continue
					}
					if r.Rings != nil {
						x := tb.MinX + (float64(col)+0.5)*px
						if sort.SearchFloat64s(xs, x)%2 == 0 { // an even number of crossings left of x: outside
							continue
						}
					}
					vals, areas = append(vals, v), append(areas, pa)
				}
			}
			if len(vals) > 0 {
				if err := fn(vals, areas); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// keptValues holds a histogram's first-pass values and their areas for its second pass, in
// at most budget bytes: past it, it drops them (over) and the second pass evaluates the
// tiles again.
type keptValues struct {
	budget      int64
	vals, areas []float64
	over        bool
}

func (k *keptValues) add(vals, areas []float64) {
	if k.over {
		return
	}
	need := len(k.vals) + len(vals)
	if int64(need)*16 > k.budget {
		k.over, k.vals, k.areas = true, nil, nil
		return
	}
	if need > cap(k.vals) { // grow by doubling, but never past the budget
		c := min(max(2*cap(k.vals), need, 1<<16), int(k.budget/16))
		k.vals = append(make([]float64, 0, c), k.vals...)
		k.areas = append(make([]float64, 0, c), k.areas...)
	}
	k.vals = append(k.vals, vals...)
	k.areas = append(k.areas, areas...)
}

// accumulator computes the statistics tile by tile, without keeping the values.
type accumulator struct {
	r          StatsRequest
	cm         *colormap.Colormap
	entries    []colormap.Entry
	count      int64
	mean, m2   float64 // Welford's running mean and sum of squared deviations
	lo, hi     float64
	area       float64
	values     map[string]int64
	valueAreas map[string]float64
	hist       *Histogram
	histAreas  []float64
	winner     []int
	pix        []uint8
	keyCM      []*colormap.Colormap
}

func newAccumulator(r StatsRequest, cm *colormap.Colormap) *accumulator {
	a := &accumulator{r: r, lo: math.Inf(1), hi: math.Inf(-1), values: map[string]int64{}, valueAreas: map[string]float64{}}
	if cm != nil {
		a.entries = cm.Entries()
		for _, e := range a.entries {
			a.values[e.Key], a.valueAreas[e.Key] = 0, 0
		}
	}
	return a
}

func (a *accumulator) add(vals, areas []float64) error {
	for i, v := range vals {
		a.count++
		d := v - a.mean
		a.mean += d / float64(a.count)
		a.m2 += d * (v - a.mean)
		a.lo, a.hi = min(a.lo, v), max(a.hi, v)
		a.area += areas[i]
	}
	switch a.r.Mode {
	case ModeValues:
		for i, v := range vals {
			k := strconv.FormatFloat(v, 'g', -1, 64)
			if _, ok := a.values[k]; !ok && len(a.values) >= MaxDistinct {
				return paramErr("mode", "more than %d distinct values: use mode=histogram", MaxDistinct)
			}
			a.values[k]++
			a.valueAreas[k] += areas[i]
		}
	case ModeLegend:
		return a.legend(vals, areas)
	}
	return nil
}

// legend gives each value to the last key that selects it (later keys overwrite earlier
// ones, as in the colormap); each key is evaluated once per tile over all its values.
func (a *accumulator) legend(vals, areas []float64) error {
	if a.keyCM == nil {
		for _, e := range a.entries {
			one, err := colormap.NewDiscrete([]colormap.Entry{{Key: e.Key, Color: color.NRGBA{A: 255}}})
			if err != nil {
				return err
			}
			a.keyCM = append(a.keyCM, one)
		}
	}
	if cap(a.winner) < len(vals) {
		a.winner, a.pix = make([]int, len(vals)), make([]uint8, 4*len(vals))
	}
	winner, pix := a.winner[:len(vals)], a.pix[:4*len(vals)]
	for i := range winner {
		winner[i] = -1
	}
	for k, one := range a.keyCM {
		clear(pix)
		if _, err := one.Colorize(pix, formula.Array{Values: vals}, nil); err != nil {
			return err
		}
		for i := range winner {
			if pix[4*i+3] != 0 {
				winner[i] = k
			}
		}
	}
	for i, k := range winner {
		if k >= 0 {
			a.values[a.entries[k].Key]++
			a.valueAreas[a.entries[k].Key] += areas[i]
		}
	}
	return nil
}

// histRange is the span the histogram's bins cover: min..max, or, when every value is the
// same x, x − 0.5..x + 0.5 as numpy.histogram (and so django-raster's value counts) takes
// it, the values then in the middle bin (the range stays x..x where ±0.5 is lost to
// rounding, beyond 2^52). scale is 1, or ½ where hi − lo overflows (values more than
// math.MaxFloat64 apart): the bins are then computed over the halves, halving being exact at
// those magnitudes ((v − lo)/(hi − lo) was +Inf/+Inf = NaN at hi and 0 elsewhere, every value
// in bin 0). With no value it is 0..1, numpy.histogram's range for no data.
func (a *accumulator) histRange() (lo, hi, scale float64) {
	if a.count == 0 {
		return 0, 1, 1
	}
	lo, hi = a.lo, a.hi
	if lo == hi && lo-0.5 < hi+0.5 {
		lo, hi = lo-0.5, hi+0.5
	}
	scale = 1
	if math.IsInf(hi-lo, 0) {
		scale = 0.5
	}
	return lo, hi, scale
}

func (a *accumulator) startHistogram() {
	n := a.r.Bins
	a.hist = &Histogram{Edges: make([]float64, n+1), Counts: make([]int64, n)}
	a.histAreas = make([]float64, n)
	lo, hi, scale := a.histRange()
	for i := range a.hist.Edges {
		if scale != 1 { // i/n first: (hi/2 − lo/2)·i may overflow
			a.hist.Edges[i] = 2 * (lo/2 + (hi/2-lo/2)*(float64(i)/float64(n)))
		} else {
			a.hist.Edges[i] = lo + (hi-lo)*float64(i)/float64(n)
		}
	}
	a.hist.Edges[0], a.hist.Edges[n] = lo, hi
}

func (a *accumulator) bin(vals, areas []float64) error {
	n := a.r.Bins
	lo, hi, scale := a.histRange()
	slo, span := lo*scale, hi*scale-lo*scale
	for i, v := range vals {
		k := n - 1
		if hi > lo {
			k = max(0, min(n-1, int((v*scale-slo)/span*float64(n))))
		}
		a.hist.Counts[k]++
		a.histAreas[k] += areas[i]
	}
	return nil
}

func (a *accumulator) result() (*StatsResult, error) {
	res := &StatsResult{Mode: a.r.Mode, Count: a.count}
	if a.count > 0 {
		// The values are finite, so are min and max; the mean (values more than
		// math.MaxFloat64 apart) and the standard deviation (deviations past 1.3e154, whose
		// squares overflow) may not be, and JSON has no infinity or NaN: those are null.
		lo, hi := a.lo, a.hi
		res.Min, res.Max = &lo, &hi
		res.Mean, res.Std = finitePtr(a.mean), finitePtr(math.Sqrt(a.m2/float64(a.count)))
	}
	if a.r.Area {
		t := a.area / acre
		res.AreaTotal = &t
	}
	switch a.r.Mode {
	case ModeValues, ModeLegend:
		res.Values = a.values
		if a.r.Area {
			res.Area = map[string]float64{}
			for k, v := range a.valueAreas {
				res.Area[k] = v / acre
			}
		}
	case ModeHistogram:
		if a.hist == nil {
			a.startHistogram()
		}
		res.Histogram = a.hist
		if a.r.Area {
			for _, v := range a.histAreas {
				res.AreaBins = append(res.AreaBins, v/acre)
			}
		}
	}
	return res, nil
}
