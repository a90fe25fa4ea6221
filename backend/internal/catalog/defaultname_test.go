package catalog

import "testing"

func TestDefaultName(t *testing.T) {
	for in, want := range map[string]string{
		"testdata/terrain_utm.tif":                   "terrain_utm",
		`C:\maps\dem.tiff`:                           "dem",
		"https://example.com/data/scene.tif?sig=a.b": "scene",
		"s3://bucket/dir/":                           "dir",
		"scene.tif.zip":                              "scene",
		"scene.tif.gz":                               "scene",
		"archive.zip":                                "archive",
		"x.geopackage":                               "x.geopackage", // more than five letters: not an extension
		"noext":                                      "noext",
		".tif":                                       "",
		"":                                           "",
	} {
		if got := DefaultName(in); got != want {
			t.Errorf("DefaultName(%q) = %q, want %q", in, got, want)
		}
	}
}
