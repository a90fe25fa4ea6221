package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tessera-gis/tessera/backend/internal/testdatagen"
)

const gendataUsage = `usage: tessera gendata [--out DIR] [--bench [--bench-size N]]

Writes Tessera's sample rasters (the same bytes every time): ` + testdatagen.Terrain + ` (float32
terrain with nodata lakes, EPSG:32633), ` + testdatagen.Scene + ` (4-band uint16 blue/green/red/nir,
EPSG:4326) and ` + testdatagen.LandCover + ` (uint8 classes 1..6, EPSG:3857). With --bench it also
writes ` + testdatagen.Bench + `, an N×N float32 terrain (8000 by default) for the ingest
benchmark.

options:`

// runGendata is `tessera gendata`.
func runGendata(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gendata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, gendataUsage)
		fs.PrintDefaults()
	}
	out := fs.String("out", "testdata", "output directory")
	bench := fs.Bool("bench", false, "also write the benchmark raster")
	size := fs.Int("bench-size", 8000, "width and height of the benchmark raster (16..40000)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "tessera gendata: unexpected argument %q (it takes none; the directory is --out DIR)\n", fs.Arg(0))
		return 2
	}
	if *size < 16 || *size > 40000 {
		fmt.Fprintf(stderr, "tessera gendata: --bench-size %d: want 16..40000\n", *size)
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "tessera gendata: %v\n", err)
		return 1
	}
	if err := testdatagen.Generate(*out); err != nil {
		fmt.Fprintf(stderr, "tessera gendata: %v\n", err)
		return 1
	}
	written := append([]string{}, testdatagen.Samples...)
	if *bench {
		if err := testdatagen.WriteTerrain(filepath.Join(*out, testdatagen.Bench), *size, *size); err != nil {
			fmt.Fprintf(stderr, "tessera gendata: %v\n", err)
			return 1
		}
		written = append(written, testdatagen.Bench)
	}
	for _, n := range written {
		fmt.Fprintln(stdout, filepath.Join(*out, n))
	}
	return 0
}
