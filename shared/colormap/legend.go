package colormap

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Legend is a named list of legend entries, django-raster's Legend model.
type Legend struct {
	ID          int64
	Title       string
	Description string
	Entries     []LegendEntry
}

// LegendEntry is one class of a legend: django-raster's LegendEntry with its semantics.
type LegendEntry struct {
	// Name is the semantics' name ("Forest").
	Name        string
	Description string
	// Expression selects the entry's pixels: a number, or a formula in x.
	Expression string
	// Color is the entry's colour (see ParseColor).
	Color string
	// Code orders the entries; numeric codes order as numbers.
	Code string
}

// ErrInvalidLegend is matched by the errors Validate returns.
var ErrInvalidLegend = errors.New("colormap: invalid legend")

// Sorted returns the entries ordered by code, then name. Codes that read as numbers order
// as numbers and come before other codes, which order as text (django-raster ordered every
// code as text, so "10" came before "2").
func (l *Legend) Sorted() []LegendEntry {
	out := slices.Clone(l.Entries)
	slices.SortStableFunc(out, func(a, b LegendEntry) int {
		if c := compareCodes(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func compareCodes(a, b string) int {
	x, errA := strconv.ParseFloat(strings.TrimSpace(a), 64)
	y, errB := strconv.ParseFloat(strings.TrimSpace(b), 64)
	numA := errA == nil && !math.IsNaN(x)
	numB := errB == nil && !math.IsNaN(y)
	switch {
	case numA && numB:
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	case numA:
		return -1
	case numB:
		return 1
	}
	return strings.Compare(a, b)
}

type legendJSON struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Expression  string `json:"expression"`
	Code        string `json:"code"`
	Color       string `json:"color"`
}

// JSON returns django-raster's legend JSON: [{"name", "expression", "code", "color"}, …] in
// Sorted order, with "description" added when an entry has one. A colour that parses is
// written in the canonical form #RRGGBB (#RRGGBBAA when not opaque), others as stored.
func (l *Legend) JSON() ([]byte, error) {
	s := l.Sorted()
	out := make([]legendJSON, len(s))
	for i, e := range s {
		col := e.Color
		if c, err := ParseColor(col); err == nil {
			col = Hex(c)
		}
		out[i] = legendJSON{Name: e.Name, Description: e.Description, Expression: e.Expression, Code: e.Code, Color: col}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Colormap returns the legend's discrete colormap {expression: colour}, keys in Sorted
// order (a later entry with the same expression changes its colour).
func (l *Legend) Colormap() (*Colormap, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	s := l.Sorted()
	entries := make([]Entry, len(s))
	for i, e := range s {
		c, _ := ParseColor(e.Color)
		entries[i] = Entry{Key: e.Expression, Color: c}
	}
	return NewDiscrete(entries)
}

// Validate checks every entry's colour and expression; the error names the first bad entry
// by position, name and code.
func (l *Legend) Validate() error {
	if len(l.Entries) > MaxKeys {
		return fmt.Errorf("%w %q: %d entries, at most %d are allowed", ErrInvalidLegend, l.Title, len(l.Entries), MaxKeys)
	}
	for i, e := range l.Entries {
		if _, err := ParseColor(e.Color); err != nil {
			return fmt.Errorf("%w %q: entry %d (name %q, code %q): %w", ErrInvalidLegend, l.Title, i+1, e.Name, e.Code, err)
		}
		if _, err := compileKey(Entry{Key: e.Expression}); err != nil {
			return fmt.Errorf("%w %q: entry %d (name %q, code %q): expression %q: %w", ErrInvalidLegend, l.Title, i+1, e.Name, e.Code, e.Expression, err)
		}
	}
	return nil
}
