package server

import "testing"

// TestUploadName: the default name of an upload's layer, from the client's file name.
func TestUploadName(t *testing.T) {
	for in, want := range map[string]string{
		"scene.tif":          "scene",
		"C:\\maps\\dem.tiff": "dem",
		"scene.tif.zip":      "scene",
		"scene.zip":          "scene",
		"my map (2).tif":     "my_map_2_",
		"2024.tif":           "", // digits only: read as an id, so the stored name is used
		"2024.tif.zip":       "",
		"2024b.tif":          "2024b",
		".tif":               "",
		"":                   "",
	} {
		if got := uploadName(in); got != want {
			t.Errorf("uploadName(%q) = %q, want %q", in, got, want)
		}
	}
}
