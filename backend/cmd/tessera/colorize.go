package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/tessera-gis/tessera/shared/colormap"
	"github.com/tessera-gis/tessera/shared/formula"
	"github.com/tessera-gis/tessera/shared/raster"
)

// colorizeMaxInput bounds what colorize reads from stdin.
const colorizeMaxInput = 64 << 20

// colorizeInput is what `tessera colorize` reads.
type colorizeInput struct {
	// Data is the grid, row by row; null marks a nodata pixel.
	Data [][]*float64 `json:"data"`
	// NoData is the nodata value; pixels equal to it (numpy isclose) are nodata.
	NoData *float64 `json:"nodata"`
	// Colormap is a colormap object, a named colormap's name, or a string holding a
	// colormap object (as a query parameter would); absent means grayscale.
	Colormap json.RawMessage `json:"colormap"`
	// Range, optional, plays the layer statistics' part for continuous colormaps.
	Range *[2]float64 `json:"range"`
}

// runColorize reads {"data": [[…], …], "nodata": n|null, "colormap": {…}|"name",
// "range": [min, max]} on stdin and prints {"rgba": [[r,g,b,a], …], "stats": {key: count}}:
// one colour per pixel, row-major, and the per-key pixel counts of a discrete colormap ({}
// for others). Bad input prints {"error": "…"} on stdout and exits 2, as `tessera eval` does.
func runColorize(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprintln(stderr, `usage: tessera colorize < input.json

Reads {"data": [[1, 2], [null, 4]], "nodata": -9999, "colormap": {"1": "#ff0000", "x > 1": "#00ff00"}}
("colormap" may also be a name such as "viridis" or {"continuous": true, "from": …, "to": …};
optional "range": [min, max]) and prints {"rgba": [[r, g, b, a], …], "stats": {key: count}}.
Bad input (a colour, a colormap key's formula, the JSON) prints {"error": "…"} and exits 2.`)
			return 0
		}
		return colorizeFail(stdout, fmt.Errorf("colorize takes no arguments (got %q); give the input as JSON on stdin", strings.Join(args, " ")))
	}
	out, err := colorize(stdin)
	if err != nil {
		return colorizeFail(stdout, err)
	}
	stdout.Write(out)
	return 0
}

func colorizeFail(stdout io.Writer, err error) int {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	fmt.Fprintf(stdout, "%s\n", b)
	return 2
}

func colorize(stdin io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(stdin, colorizeMaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	if len(raw) > colorizeMaxInput {
		return nil, fmt.Errorf("input larger than %d bytes", colorizeMaxInput)
	}
	var in colorizeInput
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("input is not the expected JSON ({\"data\": [[numbers]], \"nodata\": number or null, \"colormap\": {...} or \"name\"}): %w", err)
	}
	if len(in.Data) == 0 || len(in.Data[0]) == 0 {
		return nil, errors.New("data is empty; give at least one row of at least one value")
	}
	w := len(in.Data[0])
	vals := make([]float64, 0, w*len(in.Data))
	nd := math.NaN()
	if in.NoData != nil {
		nd = *in.NoData
	}
	for r, row := range in.Data {
		if len(row) != w {
			return nil, fmt.Errorf("data row %d has %d values, row 0 has %d; every row must have the same length", r, len(row), w)
		}
		for _, v := range row {
			if v == nil {
				vals = append(vals, nd)
			} else {
				vals = append(vals, *v)
			}
		}
	}
	x := formula.Array{Values: vals, HasNoData: in.NoData != nil}
	if in.NoData != nil {
		x.NoData = *in.NoData
	}
	x.Mask = raster.Mask(vals, x.HasNoData, x.NoData, nil)

	cm, err := colorizeColormap(in.Colormap)
	if err != nil {
		return nil, err
	}
	pix := make([]uint8, 4*len(vals))
	counts, err := cm.Colorize(pix, x, in.Range)
	if err != nil {
		return nil, err
	}
	if counts == nil {
		counts = colormap.Counts{}
	}
	var b bytes.Buffer
	b.WriteString(`{"rgba":[`)
	for i := 0; i < len(pix); i += 4 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d,%d,%d,%d]", pix[i], pix[i+1], pix[i+2], pix[i+3])
	}
	b.WriteString(`],"stats":`)
	cj, err := counts.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b.Write(cj)
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// colorizeColormap parses the "colormap" field; a string that holds an object (as a query
// parameter would) is parsed as that object.
func colorizeColormap(raw json.RawMessage) (*colormap.Colormap, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return colormap.Grayscale(), nil
	}
	var s string
	if json.Unmarshal(t, &s) == nil && strings.HasPrefix(strings.TrimSpace(s), "{") {
		t = []byte(s)
	}
	return colormap.Parse(t)
}
