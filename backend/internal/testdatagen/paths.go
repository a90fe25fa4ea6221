// Package testdatagen generates Tessera's own sample rasters deterministically (fixed seeds,
// pure Go math, written as GeoTIFF through the gdal package): a float32 terrain with nodata
// holes in a UTM zone, a 4-band uint16 scene (blue, green, red, near-infrared) in EPSG:4326
// and a categorical uint8 land cover in EPSG:3857, plus a large terrain for benchmarks. It
// also finds the test data folders from a test's working directory.
package testdatagen

import (
	"errors"
	"os"
	"path/filepath"
)

// ErrNoModuleRoot is returned by ModuleRoot when no go.mod is found above the directory.
var ErrNoModuleRoot = errors.New("testdatagen: no go.mod above the working directory")

// ModuleRoot walks up from the working directory to the directory holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoModuleRoot
		}
		dir = parent
	}
}

// SharedTestdata returns the folder of real-world test rasters made by other projects
// ($TESSERA_SHARED_TESTDATA, else module root + "/../shared/testdata"), or an error when it
// is missing.
func SharedTestdata() (string, error) {
	dir := os.Getenv("TESSERA_SHARED_TESTDATA")
	if dir == "" {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "..", "shared", "testdata")
	}
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return filepath.Clean(dir), nil
}

// ProjectTestdata returns the module's own testdata folder of generated rasters.
func ProjectTestdata() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "testdata"), nil
}
