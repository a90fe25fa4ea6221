package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// freshDB creates a throw-away database from template1 (which has PostGIS) on the server of
// DATABASE_URL, named with dbtest's prefix so a killed run's leftovers are dropped by later
// test runs, and drops it when the test ends. (backend/internal/dbtest does the same for
// backend packages; web/ may not import an internal package of backend/.)
func freshDB(t *testing.T) string {
	t.Helper()
	server := os.Getenv("DATABASE_URL")
	if server == "" {
		server = "postgres://tessera:tessera@127.0.0.1:5432/tessera?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("web: PostgreSQL at DATABASE_URL does not answer (make services starts it): %v", err)
	}
	defer admin.Close(ctx)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("tessera_test_%d_web%s", time.Now().Unix(), hex.EncodeToString(rnd[:]))
	for attempt := 0; ; attempt++ {
		_, err = admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+` TEMPLATE template1`)
		var pe *pgconn.PgError
		// 55006: template1 is in use by another session; retry.
		if err == nil || !errors.As(err, &pe) || pe.Code != "55006" || attempt == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("web: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("web: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		q := `DROP DATABASE IF EXISTS ` + pgx.Identifier{name}.Sanitize()
		for attempt := 0; attempt < 20; attempt++ {
			if _, err = conn.Exec(ctx, q); err == nil {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		if _, ferr := conn.Exec(ctx, q+` WITH (FORCE)`); ferr != nil {
			t.Errorf("web: drop database %s: %v; with FORCE: %v", name, err, ferr)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("web: DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// moduleRoot walks up from the test's directory to the one holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("web: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// freeAddr returns a free 127.0.0.1 port's address.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// run runs the tessera binary with env and fails the test with its output on error.
func run(t *testing.T, env []string, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tessera %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestBrowser runs the browser map in headless Chromium against a real `tessera serve` (the
// binary `make build` made, which embeds web/dist) on a fresh database holding the
// testdata/ rasters; web/test/browser.mjs drives the page and asserts on what it renders.
// It runs under `make web-test` (TESSERA_WEB_TEST=1); plain `go test ./...` skips it, as it
// needs the built binary, npm packages and Chromium.
func TestBrowser(t *testing.T) {
	if os.Getenv("TESSERA_WEB_TEST") == "" {
		t.Skip("the browser test runs under make web-test (TESSERA_WEB_TEST=1)")
	}
	// An export limit below RASTER_EXPORT_MAX_PIXELS' default: the page reads it (GET config)
	// and offers a view the limit refuses at the layers' max zoom at the map's zoom; a page that
	// assumes the default is refused, and shows the server's message (browser.mjs). An upload
	// limit of 1 MB (the uploaded terrain_utm.tif is 198 KB): the upload form refuses a larger
	// file before sending it.
	runPage(t, "browser.mjs", "RASTER_EXPORT_MAX_PIXELS=16000000", "TESSERA_MAX_UPLOAD=1000000")
}

// TestBrowserPrivateReads runs the page against a server whose reads need a token
// (TESSERA_PRIVATE_READS=1): web/test/private.mjs.
func TestBrowserPrivateReads(t *testing.T) {
	if os.Getenv("TESSERA_WEB_TEST") == "" {
		t.Skip("the browser test runs under make web-test (TESSERA_WEB_TEST=1)")
	}
	runPage(t, "private.mjs", "TESSERA_PRIVATE_READS=1")
}

// TestBrowserKit runs the client kit (/tessera.js) in pages of another origin: the examples
// of docs/clients.md with Leaflet, OpenLayers and MapLibre (web/test/kit.mjs).
func TestBrowserKit(t *testing.T) {
	if os.Getenv("TESSERA_WEB_TEST") == "" {
		t.Skip("the browser test runs under make web-test (TESSERA_WEB_TEST=1)")
	}
	runPage(t, "kit.mjs")
}

// TestBrowserBench measures the page (web/test/bench.mjs): a tile rendered in the browser
// from cached bands against a server PNG. scripts/bench-web.sh runs it (TESSERA_WEB_BENCH=1).
func TestBrowserBench(t *testing.T) {
	if os.Getenv("TESSERA_WEB_BENCH") == "" {
		t.Skip("the browser benchmark runs under scripts/bench-web.sh (TESSERA_WEB_BENCH=1)")
	}
	runPage(t, "bench.mjs")
}

// sameDist says when the page the server at base answers is not web/dist's (dist): a
// TESSERA_BIN built before the last make web embeds an older page, and the scripts then
// tested that one, not the source, passing or failing for no reason they could show.
func sameDist(base, dist string) error {
	for _, name := range []string{"app.js", "tessera.js"} {
		want, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			return fmt.Errorf("web: %v (make web builds it)", err)
		}
		res, err := http.Get(base + "/" + name)
		if err != nil {
			return fmt.Errorf("web: %s: %v", name, err)
		}
		got, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("web: %s: %v", name, err)
		}
		if res.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			return fmt.Errorf("web: the server's /%s is not web/dist/%s: build the tessera binary again after make web (it embeds web/dist)", name, name)
		}
	}
	return nil
}

// TestSameDist pins sameDist: a server whose page is not web/dist's is refused (a binary
// built before make web ran the browser scripts against its old page).
func TestSameDist(t *testing.T) {
	dir := func(app string) string {
		d := t.TempDir()
		for name, body := range map[string]string{"app.js": app, "tessera.js": "kit"} {
			if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	served := dir("new page")
	srv := httptest.NewServer(http.FileServer(http.Dir(served)))
	defer srv.Close()
	tests := []struct {
		name string
		dist string
		ok   bool
	}{
		{"the same page", served, true},
		{"an older page", dir("old page"), false},
		{"no dist", filepath.Join(t.TempDir(), "none"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sameDist(srv.URL, tt.dist)
			if (err == nil) != tt.ok {
				t.Fatalf("sameDist = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// runPage starts tessera serve (with serveEnv added to its environment) on a fresh database
// with the sample layers and a legend, and runs web/test/SCRIPT under node against it; the
// script's exit status decides.
func runPage(t *testing.T, script string, serveEnv ...string) {
	root := moduleRoot(t)
	bin := os.Getenv("TESSERA_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin", "tessera")
	}
	chromium := os.Getenv("TESSERA_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	for _, need := range []string{bin, chromium, filepath.Join(root, "web", "node_modules", "playwright-core")} {
		if _, err := os.Stat(need); err != nil {
			t.Fatalf("web: %s is missing (make web-test builds and installs it): %v", need, err)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("web: node is not installed (make web installs it)")
	}

	dsn := freshDB(t)
	const token = "tessera-browser-test-token"
	env := append(os.Environ(), "DATABASE_URL="+dsn, "RASTER_WORKDIR="+t.TempDir(),
		"TESSERA_ADMIN_TOKEN="+token, "TESSERA_LOG_LEVEL=warn")
	run(t, env, bin, "migrate")
	run(t, env, bin, "ingest", filepath.Join(root, "testdata", "scene_4326.tif"), "--name", "scene", "--datatype", "continuous")
	run(t, env, bin, "ingest", filepath.Join(root, "testdata", "landcover_3857.tif"), "--name", "landcover", "--datatype", "categorical")

	addr := freeAddr(t)
	var serveLog bytes.Buffer
	serve := exec.Command(bin, "serve", "--addr", addr)
	serve.Env, serve.Stdout, serve.Stderr = append(env, serveEnv...), &serveLog, &serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = serve.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = serve.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = serve.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("tessera serve's log:\n%s", serveLog.String())
		}
	})
	base := "http://" + addr
	for i := 0; ; i++ {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if i == 100 {
			t.Fatalf("tessera serve did not answer /healthz: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	if err := sameDist(base, filepath.Join(root, "web", "dist")); err != nil {
		t.Fatal(err)
	}

	// A legend for the land cover classes, for the legend colormap.
	legend := `{"title":"Land cover","entries":[
	 {"name":"Water","expression":"1","color":"#4575b4","code":"1"},
	 {"name":"Wetland","expression":"2","color":"#74add1","code":"2"},
	 {"name":"Cropland","expression":"3","color":"#fee08b","code":"3"},
	 {"name":"Grassland","expression":"4","color":"#a6d96a","code":"4"},
	 {"name":"Forest","expression":"5","color":"#1a9850","code":"5"},
	 {"name":"Urban","expression":"6","color":"#d73027","code":"6"}]}`
	req, _ := http.NewRequest(http.MethodPost, base+"/raster/legend", strings.NewReader(legend))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("creating the legend: %v %v", err, res)
	}
	res.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "web", "test", script))
	cmd.Dir = filepath.Join(root, "web")
	cmd.Env = append(os.Environ(), "TESSERA_URL="+base, "TESSERA_ADMIN_TOKEN="+token, "TESSERA_CHROMIUM="+chromium,
		"TESSERA_UPLOAD="+filepath.Join(root, "testdata", "terrain_utm.tif"),
		"TESSERA_SCREENSHOT="+filepath.Join(root, "bin", "web.png"))
	out, err := cmd.CombinedOutput()
	t.Logf("web/test/%s:\n%s", script, out)
	if err != nil {
		t.Fatalf("web/test/%s failed: %v", script, err)
	}
}
