package ingest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPrivatePaths pins the parse log's hiding of RASTER_WORKDIR: with RASTER_WORKDIR=/data
// it turned "https://example.com/data/scene.tif" into "https://example.comscene.tif", and a
// relative RASTER_WORKDIR (work) cut "network/" out of any text.
func TestPrivatePaths(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, workDir, line, want string
	}{
		{"upload", "/srv/work", "open /srv/work/uploads/1a2b-x.tif: not a raster", "open uploads/1a2b-x.tif: not a raster"},
		{"trailing slash", "/srv/work/", "'/srv/work/uploads/x.tif' failed", "'uploads/x.tif' failed"},
		{"start of line", "/srv/work", "/srv/work/reprojected/a.tif written", "reprojected/a.tif written"},
		{"vsizip", "/srv/work", "/vsizip//srv/work/dl/a.zip/a.tif", "/vsizip/dl/a.zip/a.tif"},
		{"the directory itself", "/srv/work", "mkdir /srv/work: permission denied", "mkdir RASTER_WORKDIR: permission denied"},
		{"inside a URL", "/data", "Downloading https://example.com/data/scene.tif", "Downloading https://example.com/data/scene.tif"},
		{"inside an s3 URL", "/data", "reading s3://data/scene.tif", "reading s3://data/scene.tif"},
		{"inside a longer path", "/data", "open /mnt/data/x.tif", "open /mnt/data/x.tif"},
		{"a longer directory", "/data", "open /database/x.tif and /data2/y", "open /database/x.tif and /data2/y"},
		{"relative", "work", "open work/uploads/x.tif", "open uploads/x.tif"},
		{"relative inside a word", "work", "the network/x.tif and framework/y", "the network/x.tif and framework/y"},
		{"relative made absolute", "work", "open " + filepath.Join(wd, "work", "uploads", "x.tif"), "open uploads/x.tif"},
		{"root", "/", "open /x.tif", "open /x.tif"},
		{"unset", "", "open /srv/work/x.tif", "open /srv/work/x.tif"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := newPrivateDirs(tc.workDir).hide(tc.line); got != tc.want {
				t.Errorf("hiding %q in %q: %q, want %q", tc.workDir, tc.line, got, tc.want)
			}
		})
	}
}
