// Package colormap turns values into colours the way django-raster's legends and colormaps
// do, on the server and in the browser alike: discrete colormaps ({value or formula in x:
// colour}), continuous colormaps (from/over/to over a range), named colormaps (viridis, …,
// as matplotlib and TiTiler define them) and the default grayscale, plus colours and legends.
//
// Where Tessera deliberately differs from django-raster (pseudo-JSON with single quotes is
// accepted, "continuous": false still means continuous, "to" defaults to white, the range is
// inclusive, CSS colour rules), the doc comment says so; docs/compatibility.md lists them.
package colormap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/tessera-gis/tessera/shared/formula"
)

// Limits on a colormap given as JSON, so a hostile query parameter cannot make the server
// compile thousands of formulas.
const (
	MaxBytes = 256 << 10 // bytes of JSON
	MaxKeys  = 1000      // keys of a discrete colormap
)

// ErrInvalid is matched (errors.Is) by every error Parse returns for input it cannot read;
// colour errors match ErrInvalidColor as well.
var ErrInvalid = errors.New("colormap: invalid colormap")

// ErrUnknownName is returned by Named for a name that is not a named colormap.
var ErrUnknownName = errors.New("colormap: unknown colormap name")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Kind tells which of the colouring rules a Colormap follows.
type Kind uint8

// The kinds of colormap.
const (
	// Discrete colours pixels matching each key.
	Discrete Kind = iota + 1
	// Continuous interpolates between colours over a range; named colormaps and the default
	// grayscale are continuous too.
	Continuous
)

// Entry is one key of a discrete colormap and its colour.
type Entry struct {
	Key   string
	Color color.NRGBA
}

type entry struct {
	Entry
	isNumber bool
	number   float64
	prog     *formula.Program
}

// Colormap is a parsed colormap. It is immutable; methods that change it return a copy.
type Colormap struct {
	kind Kind
	// Discrete.
	entries []entry
	// Continuous: either stops, equally spaced and interpolated (from, [over,] to), or a
	// 256-colour lookup table (named colormaps, looked up as matplotlib does).
	stops []color.NRGBA
	lut   []color.NRGBA
	name  string
	rng   *[2]float64
	// Derived from stops once (withStops), for every tile coloured: each segment's start and
	// step per channel, whether every segment is grey (greySegments) and whether every stop
	// is opaque.
	segs         []segment
	grey, opaque bool
	// cellKey names the colouring function (the stops' bytes, or the named table's name)
	// for the cell tables of cells.go; "" for discrete colormaps.
	cellKey string
}

// withStops returns the continuous colormap interpolating stops, with what its pixel loops
// read derived once.
func withStops(stops []color.NRGBA) *Colormap {
	c := &Colormap{kind: Continuous, stops: stops, segs: make([]segment, len(stops)-1)}
	c.opaque = len(c.segs) > 0
	for k := range c.segs {
		a, b := stops[k], stops[k+1]
		g := segment{
			base: [4]float64{float64(a.R), float64(a.G), float64(a.B), float64(a.A)},
			step: [4]float64{float64(b.R) - float64(a.R), float64(b.G) - float64(a.G), float64(b.B) - float64(a.B), float64(b.A) - float64(a.A)},
		}
		c.segs[k] = g
		c.opaque = c.opaque && g.base[3] == 255 && g.step[3] == 0
	}
	c.grey = greySegments(c.segs)
	key := make([]byte, 0, 2+4*len(stops))
	key = append(key, 's', ':')
	for _, st := range stops {
		key = append(key, st.R, st.G, st.B, st.A)
	}
	c.cellKey = string(key)
	return c
}

// Kind returns Discrete or Continuous.
func (c *Colormap) Kind() Kind { return c.kind }

// Name returns the named colormap's name ("viridis_r"), or "" for other colormaps.
func (c *Colormap) Name() string { return c.name }

// Entries returns the keys and colours of a discrete colormap, in order (later keys win).
func (c *Colormap) Entries() []Entry {
	out := make([]Entry, len(c.entries))
	for i, e := range c.entries {
		out[i] = e.Entry
	}
	return out
}

// Range returns the range the colormap itself fixes (the "range" key), if any.
func (c *Colormap) Range() (lo, hi float64, ok bool) {
	if c.rng == nil {
		return 0, 0, false
	}
	return c.rng[0], c.rng[1], true
}

// WithRange returns a copy of a continuous colormap with its range set to [lo, hi]; it
// returns an error for a discrete colormap or a bad range.
func (c *Colormap) WithRange(lo, hi float64) (*Colormap, error) {
	if c.kind != Continuous {
		return nil, invalid("a range applies to continuous colormaps only")
	}
	if err := checkRange(lo, hi); err != nil {
		return nil, err
	}
	d := *c
	d.rng = &[2]float64{lo, hi}
	return &d, nil
}

func checkRange(lo, hi float64) error {
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return invalid("range [%v, %v] must hold two finite numbers", lo, hi)
	}
	if lo > hi {
		return invalid("range [%v, %v] has its minimum above its maximum; write [min, max]", lo, hi)
	}
	return nil
}

// Select returns a copy of a discrete colormap keeping only the given keys (the
// entries=k1,k2 query parameter; keys are compared as written). Other colormaps are
// returned unchanged.
func (c *Colormap) Select(keys []string) *Colormap {
	if c.kind != Discrete || keys == nil {
		return c
	}
	keep := make(map[string]bool, len(keys))
	for _, k := range keys {
		keep[k] = true
	}
	d := *c
	d.entries = nil
	for _, e := range c.entries {
		if keep[e.Key] {
			d.entries = append(d.entries, e)
		}
	}
	return &d
}

// grayscale is Grayscale's colormap, made once: a colormap is never changed after it is made
// (WithRange and Select return copies), and a tile without a colormap used to derive its
// segments again.
var grayscale = withStops([]color.NRGBA{{0, 0, 0, 255}, {255, 255, 255, 255}})

// Grayscale returns the default colormap: black to white over the range.
func Grayscale() *Colormap { return grayscale }

// NewContinuous returns the continuous colormap from → [over →] to; rng may be nil (the
// range then comes from the caller or the data).
func NewContinuous(from color.NRGBA, over *color.NRGBA, to color.NRGBA, rng *[2]float64) (*Colormap, error) {
	stops := []color.NRGBA{from, to}
	if over != nil {
		stops = []color.NRGBA{from, *over, to}
	}
	c := withStops(stops)
	if rng != nil {
		if err := checkRange(rng[0], rng[1]); err != nil {
			return nil, err
		}
		r := *rng
		c.rng = &r
	}
	return c, nil
}

// NewDiscrete returns the discrete colormap with these entries, in order. A key that reads
// as a number (strconv.ParseFloat) matches pixels equal to it; any other key is a formula
// in the variable x, compiled now. A repeated key keeps its first position and its last
// colour, as a JSON object read by Python does.
func NewDiscrete(entries []Entry) (*Colormap, error) {
	if len(entries) > MaxKeys {
		return nil, invalid("%d keys, at most %d are allowed", len(entries), MaxKeys)
	}
	c := &Colormap{kind: Discrete}
	pos := make(map[string]int, len(entries))
	for _, e := range entries {
		if i, ok := pos[e.Key]; ok {
			c.entries[i].Color = e.Color
			continue
		}
		ent, err := compileKey(e)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %w", ErrInvalid, e.Key, err)
		}
		pos[e.Key] = len(c.entries)
		c.entries = append(c.entries, ent)
	}
	return c, nil
}

// compileKey reads a discrete colormap's key: a number, or a formula in x. Its error is a
// *keyError saying what is wrong without naming the key, so NewDiscrete ("key …") and
// Legend.Validate ("expression …") each write their own prefix once.
func compileKey(e Entry) (entry, error) {
	ent := entry{Entry: e}
	k := strings.TrimSpace(e.Key)
	if k == "" {
		return ent, &keyError{msg: "empty; write a number or a formula in x"}
	}
	if v, err := strconv.ParseFloat(k, 64); err == nil && !math.IsNaN(v) {
		ent.isNumber, ent.number = true, v
		return ent, nil
	}
	p, err := formula.Compile(k)
	if err != nil {
		var fe *formula.Error
		if errors.As(err, &fe) {
			// The formula's message without its "formula: " prefix: it often starts with
			// "formula" itself ("formula: formula ends where a value is expected").
			return ent, &keyError{msg: fmt.Sprintf("%s at %d:%d", fe.Msg, fe.Start, fe.End), err: err}
		}
		return ent, &keyError{msg: err.Error(), err: err}
	}
	for _, v := range p.Vars() {
		if v != "x" {
			return ent, &keyError{msg: fmt.Sprintf("uses the variable %q; write a number or a formula in x only", v)}
		}
	}
	ent.prog = p
	return ent, nil
}

// keyError is why a colormap key or legend expression does not compile. It matches
// ErrInvalid and unwraps to the formula's error, if any.
type keyError struct {
	msg string
	err error
}

func (e *keyError) Error() string        { return e.msg }
func (e *keyError) Unwrap() error        { return e.err }
func (e *keyError) Is(target error) bool { return target == ErrInvalid }

// Parse reads a colormap: a JSON object (double-quoted JSON, or the single-quoted
// pseudo-JSON django-raster's docs show, which django-raster itself refused), or a named
// colormap's name, bare or as a JSON string ("viridis", "viridis_r").
//
// An object with the key "continuous" (whatever its value: django-raster's behaviour, and
// Tessera also reads "continuous": false as continuous, since the key is what triggers it)
// is continuous: "from" (default black), "to" (default white; django-raster's default was
// the near-black [1,1,1]), optional "over", optional "range" [min, max], or instead of the
// colours "name": a named colormap. Other keys are ignored there. Any other object is
// discrete: {key: colour}, keys kept in the order written.
func Parse(data []byte) (*Colormap, error) {
	if len(data) > MaxBytes {
		return nil, invalid("%d bytes, at most %d are allowed", len(data), MaxBytes)
	}
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return nil, invalid("empty; give a JSON object or a colormap name")
	}
	if isName(t) {
		return Named(string(t))
	}
	keys, vals, err := readObject(t)
	if err != nil {
		conv, ok := pythonToJSON(t)
		if !ok {
			return nil, err
		}
		var err2 error
		if keys, vals, err2 = readObject(conv); err2 != nil {
			return nil, err
		}
	}
	if keys == nil && vals != nil { // a JSON string: a name
		var s string
		if err := json.Unmarshal(vals[0], &s); err != nil {
			return nil, invalid("%v", err)
		}
		return Named(s)
	}
	for _, k := range keys {
		if k == "continuous" {
			return continuousFrom(keys, vals)
		}
	}
	entries := make([]Entry, len(keys))
	for i, k := range keys {
		col, err := ColorFromJSON(vals[i])
		if err != nil {
			return nil, fmt.Errorf("colormap: key %q: %w", k, err)
		}
		entries[i] = Entry{Key: k, Color: col}
	}
	return NewDiscrete(entries)
}

func isName(t []byte) bool {
	if len(t) == 0 || !(t[0] >= 'a' && t[0] <= 'z' || t[0] >= 'A' && t[0] <= 'Z') {
		return false
	}
	for _, c := range t {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// readObject reads a JSON object keeping its keys in order; a repeated key keeps the last
// value in its first position. A JSON string is returned as one value with nil keys.
func readObject(data []byte) ([]string, []json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil {
		return nil, nil, invalid("not JSON: %v", err)
	}
	if s, ok := tok.(string); ok {
		if d.More() || trailing(d) {
			return nil, nil, invalid("text after the colormap name")
		}
		b, _ := json.Marshal(s)
		return nil, []json.RawMessage{b}, nil
	}
	if tok != json.Delim('{') {
		return nil, nil, invalid("expected a JSON object {key: colour, …} or a colormap name")
	}
	var keys []string
	var vals []json.RawMessage
	pos := map[string]int{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, nil, invalid("not JSON: %v", err)
		}
		k, ok := tok.(string)
		if !ok {
			return nil, nil, invalid("object key %v is not a string", tok)
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, nil, invalid("value of key %q: %v", k, err)
		}
		if i, ok := pos[k]; ok {
			vals[i] = v
			continue
		}
		if len(keys) >= MaxKeys {
			return nil, nil, invalid("more than %d keys", MaxKeys)
		}
		pos[k] = len(keys)
		keys = append(keys, k)
		vals = append(vals, v)
	}
	if _, err := d.Token(); err != nil {
		return nil, nil, invalid("not JSON: %v", err)
	}
	if trailing(d) {
		return nil, nil, invalid("text after the closing }")
	}
	if keys == nil {
		keys = []string{}
	}
	return keys, vals, nil
}

func trailing(d *json.Decoder) bool {
	_, err := d.Token()
	return !errors.Is(err, io.EOF)
}

// pythonToJSON rewrites Python-literal syntax ('single quoted' strings, True, False, None,
// tuples) as JSON. It reports false when there was nothing to rewrite.
func pythonToJSON(in []byte) ([]byte, bool) {
	var out bytes.Buffer
	changed := false
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(in) && in[j] != '"' {
				if in[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(in) {
				return nil, false
			}
			out.Write(in[i : j+1])
			i = j
		case c == '\'':
			changed = true
			var s strings.Builder
			j := i + 1
			for ; j < len(in) && in[j] != '\''; j++ {
				if in[j] == '\\' && j+1 < len(in) {
					j++
					switch in[j] {
					case '\'', '"', '\\':
						s.WriteByte(in[j])
					default: // keep other escapes as written
						s.WriteByte('\\')
						s.WriteByte(in[j])
					}
					continue
				}
				s.WriteByte(in[j])
			}
			if j >= len(in) {
				return nil, false
			}
			b, _ := json.Marshal(s.String())
			out.Write(b)
			i = j
		case c == '(' || c == ')':
			changed = true
			if c == '(' {
				out.WriteByte('[')
			} else {
				out.WriteByte(']')
			}
		case c >= 'A' && c <= 'Z':
			j := i
			for j < len(in) && (in[j] >= 'a' && in[j] <= 'z' || in[j] >= 'A' && in[j] <= 'Z') {
				j++
			}
			switch string(in[i:j]) {
			case "True":
				out.WriteString("true")
			case "False":
				out.WriteString("false")
			case "None":
				out.WriteString("null")
			default:
				out.Write(in[i:j])
				i = j - 1
				continue
			}
			changed = true
			i = j - 1
		default:
			out.WriteByte(c)
		}
	}
	return out.Bytes(), changed
}

func continuousFrom(keys []string, vals []json.RawMessage) (*Colormap, error) {
	get := func(k string) json.RawMessage {
		for i, key := range keys {
			if key == k {
				return vals[i]
			}
		}
		return nil
	}
	var rng *[2]float64
	if raw := get("range"); raw != nil {
		var r []float64
		if err := json.Unmarshal(raw, &r); err != nil || len(r) != 2 {
			return nil, invalid("range must be [min, max], got %s", raw)
		}
		if err := checkRange(r[0], r[1]); err != nil {
			return nil, err
		}
		rng = &[2]float64{r[0], r[1]}
	}
	if raw := get("name"); raw != nil {
		if get("from") != nil || get("to") != nil || get("over") != nil {
			return nil, invalid("a continuous colormap has either a name or from/over/to colours, not both")
		}
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return nil, invalid("name must be a string such as \"viridis\", got %s", raw)
		}
		c, err := Named(name)
		if err != nil {
			return nil, err
		}
		c.rng = rng
		return c, nil
	}
	colorOf := func(k string, def color.NRGBA) (color.NRGBA, error) {
		raw := get(k)
		if raw == nil {
			return def, nil
		}
		c, err := ColorFromJSON(raw)
		if err != nil {
			return c, fmt.Errorf("colormap: key %q: %w", k, err)
		}
		return c, nil
	}
	from, err := colorOf("from", color.NRGBA{0, 0, 0, 255})
	if err != nil {
		return nil, err
	}
	to, err := colorOf("to", color.NRGBA{255, 255, 255, 255})
	if err != nil {
		return nil, err
	}
	var over *color.NRGBA
	if get("over") != nil {
		o, err := colorOf("over", color.NRGBA{})
		if err != nil {
			return nil, err
		}
		over = &o
	}
	return NewContinuous(from, over, to, rng)
}
