//go:build !js

package tileview

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// nodeScript loads the WebAssembly module as the web app does and calls its API on the
// server's raw tile; it prints one JSON line of results.
const nodeScript = `
const fs = require('fs');
require(process.env.WASM_EXEC);
const go = new Go();
WebAssembly.instantiate(fs.readFileSync(process.env.WASM), go.importObject).then((r) => {
  go.run(r.instance);
  const bytes = new Uint8Array(fs.readFileSync(process.env.TILE));
  const info = tessera.decodeTile(bytes);
  const img = tessera.render(bytes, 'a*b', "{'continuous': true, 'from': '#000080', 'to': '#ffff00'}");
  const disc = tessera.render(bytes, 'b', '{"7": "#ff0000"}', {entries: ['7']});
  const bad = tessera.render(bytes, 'a + (b', '');
  const unknown = tessera.compile('a + zz', ['a', 'b']);
  const vars = tessera.compile('b*mean(a)');
  const notTile = tessera.render(new Uint8Array([1, 2, 3]), 'a', '');
  console.log(JSON.stringify({
    info,
    width: img.width, height: img.height, isClamped: img.rgba instanceof Uint8ClampedArray,
    rgba: require('crypto').createHash('sha256').update(img.rgba).digest('hex'), n: img.rgba.length, counts: disc.counts, bad, unknown, vars, notTile: notTile.error || '',
  }));
  process.exit(0);
});
`

func TestWasmModuleInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("TESSERA_REQUIRE_SERVICES") == "1" {
			t.Fatal("node not found; make test needs it for the WebAssembly tests")
		}
		t.Skip("node not found")
	}
	goroot := runtime.GOROOT()
	wasmExec := filepath.Join(goroot, "lib", "wasm", "wasm_exec.js")
	if _, err := os.Stat(wasmExec); err != nil {
		t.Fatalf("wasm_exec.js: %v", err)
	}
	dir := t.TempDir()
	wasm := filepath.Join(dir, "tessera.wasm")
	build := exec.Command("go", "build", "-o", wasm, "../../wasm")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wasm: %v\n%s", err, out)
	}
	tilePath, _ := filepath.Abs(filepath.Join("..", "rawtile", "testdata", "server-algebra.msgpack"))
	cmd := exec.Command(node, "-e", nodeScript)
	cmd.Env = append(os.Environ(), "WASM_EXEC="+wasmExec, "WASM="+wasm, "TILE="+tilePath)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Info struct {
			Z, X, Y, Width, Height int
			Bands                  map[string]struct {
				Type   string
				NoData *float64
			}
		}
		Width, Height int
		IsClamped     bool
		RGBA          string
		N             int
		Counts        map[string]int
		Bad           struct {
			Error   string
			Pos     []int
			Snippet string
		}
		Unknown struct {
			Error string
			Pos   []int
		}
		Vars    struct{ Vars []string }
		NotTile string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output %.500q: %v", out, err)
	}
	if got.Info.Z != 4 || got.Info.X != 8 || got.Info.Y != 5 || got.Info.Bands["a"].Type != "Float32" || got.Info.Bands["a"].NoData == nil ||
		*got.Info.Bands["a"].NoData != -1 || got.Info.Bands["b"].NoData != nil {
		t.Errorf("decodeTile: %+v", got.Info)
	}
	data, err := os.ReadFile(tilePath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Render(data, Options{Formula: "a*b", Colormap: `{"continuous": true, "from": "#000080", "to": "#ffff00"}`})
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != 256 || got.Height != 256 || !got.IsClamped || got.N != len(want.RGBA) || got.RGBA != fmt.Sprintf("%x", sha256.Sum256(want.RGBA)) {
		t.Errorf("render in the browser differs from the native renderer (%dx%d, clamped %v)", got.Width, got.Height, got.IsClamped)
	}
	if got.Counts["7"] != 256*256 {
		t.Errorf("counts %v", got.Counts)
	}
	if len(got.Bad.Pos) != 2 || got.Bad.Pos[0] != 6 || got.Bad.Snippet == "" {
		t.Errorf("formula error %+v", got.Bad)
	}
	if !strings.Contains(got.Unknown.Error, `"zz"`) || len(got.Unknown.Pos) != 2 || got.Unknown.Pos[0] != 4 {
		t.Errorf("unknown name %+v", got.Unknown)
	}
	if strings.Join(got.Vars.Vars, ",") != "a,b" {
		t.Errorf("vars %v", got.Vars)
	}
	if !strings.Contains(got.NotTile, "rawtile") {
		t.Errorf("not a tile: %q", got.NotTile)
	}
}
