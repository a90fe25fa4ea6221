package web_test

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/tessera-gis/tessera/web"
)

// TestDist checks the embedded app against what `make web` builds; on an unbuilt tree (a
// fresh clone before npm ran) it checks that nothing but the placeholder is embedded.
func TestDist(t *testing.T) {
	files, err := web.Files()
	if err != nil {
		t.Fatal(err)
	}
	if !web.Built() {
		if len(files) != 0 {
			t.Errorf("no index.html but files %v", files)
		}
		return
	}
	for _, want := range []string{"index.html", "app.js", "app.css", "tessera.wasm", "wasm_exec.js"} {
		if !slices.Contains(files, want) {
			t.Errorf("dist lacks %s (has %v)", want, files)
		}
	}
	wasm, err := fs.ReadFile(web.Dist(), "tessera.wasm")
	if err != nil || len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		t.Errorf("tessera.wasm is not a WebAssembly module")
	}
}
