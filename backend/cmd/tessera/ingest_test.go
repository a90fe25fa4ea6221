package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/backend/internal/testdatagen"
)

func sharedRaster(t *testing.T, name string) string {
	t.Helper()
	dir, err := testdatagen.SharedTestdata()
	if err != nil {
		t.Skipf("shared test rasters not found (../shared/testdata): %v", err)
	}
	return filepath.Join(dir, name)
}

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := dispatch(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func ingestJSON(t *testing.T, args ...string) (int, ingestOutput, string) {
	t.Helper()
	code, out, errText := runCmd(append([]string{"ingest", "--json"}, args...)...)
	var o ingestOutput
	if code != 2 {
		if err := json.Unmarshal([]byte(out), &o); err != nil {
			t.Fatalf("ingest %v: exit %d, stdout %q is not JSON: %v (stderr %q)", args, code, out, err, errText)
		}
	}
	return code, o, errText
}

func cliEnv(t *testing.T) string {
	t.Helper()
	_, dsn := dbtest.NewWithDSN(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("RASTER_WORKDIR", t.TempDir())
	t.Setenv("REDIS_URL", "")
	return dsn
}

func TestIngestCommand(t *testing.T) {
	cliEnv(t)
	src := sharedRaster(t, "django_raster_test.tif")

	// z11: the 4 tiles x 552–553, y 858–859; z0–z10: their one common ancestor each.
	const wantTiles = 4 + 11
	code, o, errText := ingestJSON(t, src, "--name", "django", "--datatype", "categorical")
	if code != 0 || o.Status != "FINISHED" || o.MaxZoom == nil || *o.MaxZoom != 11 || o.Tiles != wantTiles || o.ID == 0 || o.Name != "django" {
		t.Fatalf("exit %d, %+v, stderr %q", code, o, errText)
	}
	if !strings.Contains(strings.Join(o.Log, "\n"), "Successfully finished parsing raster") {
		t.Errorf("log %q", o.Log)
	}

	// The same name again re-parses that layer.
	code, o2, _ := ingestJSON(t, "--max-zoom", "10", src, "--name", "django")
	if code != 0 || o2.ID != o.ID || *o2.MaxZoom != 10 || o2.Tiles != wantTiles-4 {
		t.Errorf("re-ingest: exit %d, %+v (first %+v)", code, o2, o)
	}

	// The default name is the file name; the summary goes to stdout, the bar to stderr.
	code, out, errText := runCmd("ingest", sharedRaster(t, "gdalautotest2_byte.tif"))
	if code != 0 || !strings.Contains(out, `"gdalautotest2_byte": FINISHED`) || !strings.Contains(out, "tiles per zoom") {
		t.Errorf("summary: exit %d, stdout %q, stderr %q", code, out, errText)
	}
	if !strings.Contains(errText, "tiles") {
		t.Errorf("no progress bar on stderr: %q", errText)
	}
	// The bar's last frame is the status the parse ended with (a parse quicker than a poll
	// left "unparsed" or "reprojecting raster" there, above the FINISHED summary).
	if !strings.Contains(errText, "finished") {
		t.Errorf("the bar never shows the parse finished: %q", errText)
	}

	// --srid gives a CRS to a raster without one.
	code, o3, _ := ingestJSON(t, sharedRaster(t, "rasterio_float32.tif"), "--srid", "3857")
	if code != 0 || o3.Status != "FINISHED" || o3.Tiles == 0 {
		t.Errorf("--srid: exit %d, %+v", code, o3)
	}
}

// TestIngestSameNameOtherSource: a file of the same name from another directory re-parses
// the existing layer, which then serves the new file; ingest says so (it said nothing, so a
// second dem.tif silently replaced the first's tiles). The same source again is quiet.
func TestIngestSameNameOtherSource(t *testing.T) {
	cliEnv(t)
	data, err := os.ReadFile(sharedRaster(t, "django_raster_test.tif"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(t.TempDir(), "dem.tif"), filepath.Join(t.TempDir(), "dem.tif")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const notice = "exists with another source"
	for _, step := range []struct {
		src    string
		notice bool
	}{{a, false}, {a, false}, {b, true}} {
		code, o, errText := ingestJSON(t, step.src)
		if code != 0 || o.Name != "dem" || strings.Contains(errText, notice) != step.notice {
			t.Errorf("ingest %s: exit %d, %+v, stderr %q; want the notice: %v", step.src, code, o, errText, step.notice)
		}
	}
}

func TestIngestCommandFailures(t *testing.T) {
	cliEnv(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.tif")
	os.WriteFile(empty, nil, 0o644)
	tests := []struct {
		name string
		args []string
		line string
	}{
		{"missing file", []string{filepath.Join(dir, "missing.tif")}, "does not exist"},
		{"empty file", []string{empty}, "is empty"},
		{"no CRS", []string{sharedRaster(t, "rasterio_float32.tif")}, "--srid"},
		{"unreachable URL", []string{"http://127.0.0.1:1/x.tif"}, "reachable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, o, _ := ingestJSON(t, tc.args...)
			if code != 1 || o.Status != "FAILED" || o.ID == 0 {
				t.Fatalf("exit %d, %+v", code, o)
			}
			if last := o.Log[len(o.Log)-1]; !strings.Contains(last, tc.line) {
				t.Errorf("last log line %q lacks %q", last, tc.line)
			}
		})
	}
	t.Run("summary mode names the failure", func(t *testing.T) {
		code, _, errText := runCmd("ingest", filepath.Join(dir, "missing.tif"), "--name", "again")
		if code != 1 || !strings.Contains(errText, "FAILED") || !strings.Contains(errText, "does not exist") {
			t.Errorf("exit %d, stderr %q", code, errText)
		}
		// What is left and what to do about it (the layer stayed, unsaid).
		if !strings.Contains(errText, "it stays in the catalog, FAILED") || !strings.Contains(errText, "`tessera delete ") {
			t.Errorf("stderr %q does not say that the FAILED layer stays and how to remove it", errText)
		}
		if code, _, errText := runCmd("ingest", sharedRaster(t, "django_raster_test.tif"), "--name", "served"); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errText)
		}
		code, _, errText = runCmd("ingest", filepath.Join(dir, "missing.tif"), "--name", "served")
		if code != 1 || !strings.Contains(errText, "it keeps serving the tiles of its last finished parse") {
			t.Errorf("failed re-parse: exit %d, stderr %q", code, errText)
		}
	})
}

// TestIngestInterrupted: Ctrl-C during a parse says "interrupted", as the parse log does; it
// said what the cancellation broke ("Could not download …: context canceled", "pgstore: write
// tiles of layer N: context canceled").
func TestIngestInterrupted(t *testing.T) {
	cliEnv(t)
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	}))
	defer srv.Close()
	go func() {
		<-started // runIngest has caught SIGINT since before it opened the database
		syscall.Kill(os.Getpid(), syscall.SIGINT)
	}()
	code, _, errText := runCmd("ingest", srv.URL+"/slow.tif")
	if code != 1 || !strings.Contains(errText, `"slow" FAILED: interrupted before it finished`) || strings.Contains(errText, "context canceled") {
		t.Errorf("exit %d, stderr %q", code, errText)
	}
}

// TestIngestUsageNamesSettings checks that --help names every setting the parse reads from
// the environment (it left out AWS_SESSION_TOKEN and AWS_DEFAULT_REGION, which README lists).
func TestIngestUsageNamesSettings(t *testing.T) {
	read := map[string]bool{}
	ingest.ConfigFromEnv(func(k string) string {
		read[k] = true
		return ""
	})
	if len(read) < 10 {
		t.Fatalf("ConfigFromEnv read only %v", read)
	}
	for k := range read {
		if !strings.Contains(ingestUsage, k) {
			t.Errorf("tessera ingest --help does not name %s", k)
		}
	}
}

// TestIngestProgressInALog checks that on a stderr that is a file, not a terminal, the
// progress is one line per phase, not the bar's carriage-return frames.
func TestIngestProgressInALog(t *testing.T) {
	cliEnv(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	code := dispatch([]string{"ingest", sharedRaster(t, "gdalautotest2_byte.tif"), "--name", "logged"}, strings.NewReader(""), &out, f)
	log, _ := os.ReadFile(f.Name())
	if code != 0 || !strings.Contains(out.String(), `"logged": FINISHED`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), log)
	}
	// Which phases show depends on the 200 ms polls (a quick parse may show none).
	if bytes.ContainsRune(log, '\r') {
		t.Errorf("stderr %q: carriage returns in a log", log)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		if line != "" && !strings.HasPrefix(line, "tessera ingest: ") {
			t.Errorf("stderr line %q is not a phase line", line)
		}
	}
}

// TestIngestUnreachableRedis checks that an unreachable REDIS_URL stops the command before
// it creates the layer (a new name was left UNPARSED in the catalog, with no log).
func TestIngestUnreachableRedis(t *testing.T) {
	dsn := cliEnv(t)
	t.Setenv("REDIS_URL", "redis://127.0.0.1:1/0")
	code, _, errText := runCmd("ingest", sharedRaster(t, "gdalautotest2_byte.tif"), "--name", "orphan")
	if code != 1 || !strings.Contains(errText, "REDIS_URL") {
		t.Fatalf("exit %d, stderr %q; want 1 and a message naming REDIS_URL", code, errText)
	}
	st, err := pgstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if l, err := st.LayerByName(context.Background(), "orphan"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("layer %q (%v) left behind: %v", l.Name, l.Parse.Status, err)
	}
}

func TestIngestCommandUsage(t *testing.T) {
	cliEnv(t)
	for _, args := range [][]string{
		{"ingest"},
		{"ingest", "a.tif", "b.tif"},
		{"ingest", "a.tif", "--datatype", "fuzzy"},
		{"ingest", "a.tif", "--srid", "x"},
		{"ingest", "a.tif", "--srid", "99999999"}, // no such EPSG code
		{"ingest", "a.tif", "--max-zoom", "99"},
		{"ingest", "a.tif", "--max-zoom", "22"}, // past TESSERA_MAX_INGEST_ZOOM (19)
		{"ingest", "a.tif", "--nodata", "none"},
		{"ingest", "a.tif", "--bogus"},
		{"ingest", "a.tif", "--legend", "no such legend"},
		// An empty path (an unset shell variable) parsed the current directory, leaving a
		// FAILED layer named after it.
		{"ingest", ""},
		{"ingest", " "},
		// A scheme no parse reads: refused before the layer is made (it was a FAILED layer).
		{"ingest", "ftp://127.0.0.1/x.tif"},
		// A name no tile URL can carry (it was a layer reachable by its id only), and one
		// too long to look up.
		{"ingest", "a.tif", "--name", "a/b"},
		{"ingest", "a.tif", "--name", strings.Repeat("n", 257)},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if code, _, errText := runCmd(args...); code != 2 || errText == "" {
				t.Errorf("exit %d, stderr %q; want 2 and a message", code, errText)
			}
		})
	}
	t.Run("worker without REDIS_URL", func(t *testing.T) {
		if code, _, errText := runCmd("worker"); code != 2 || !strings.Contains(errText, "REDIS_URL") {
			t.Errorf("exit %d, stderr %q", code, errText)
		}
	})
}

// TestIngestCommandThroughRedis runs `tessera ingest` with REDIS_URL set against an asynq
// worker (the one `tessera worker` runs) on a queue of its own.
func TestIngestCommandThroughRedis(t *testing.T) {
	cliEnv(t)
	url := dbtest.RedisURL(t)
	queue := fmt.Sprintf("test-cli-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Setenv("REDIS_URL", url)
	t.Setenv("TESSERA_QUEUE", queue)
	// The worker has its own connection to the database of DATABASE_URL, as `tessera worker`.
	wst, code := openMigrated(context.Background(), "worker", databaseURL(), os.Stderr)
	if wst == nil {
		t.Fatalf("open: exit %d", code)
	}
	defer wst.Close()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	w, err := jobs.NewWorker(url, jobs.WorkerOptions{Queue: queue, Concurrency: 2, Kinds: ingest.TaskKinds, Logger: quiet}, ingest.NewTaskHandler(wst))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	code, o, errText := ingestJSON(t, sharedRaster(t, "django_raster_test.tif"))
	if code != 0 || o.Status != "FINISHED" || *o.MaxZoom != 11 || o.Tiles != 4+11 {
		t.Fatalf("exit %d, %+v, stderr %q", code, o, errText)
	}
}

func TestGendataCommand(t *testing.T) {
	out := t.TempDir()
	code, stdout, errText := runCmd("gendata", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d, %q", code, errText)
	}
	committed, err := testdatagen.ProjectTestdata()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range testdatagen.Samples {
		if !strings.Contains(stdout, n) {
			t.Errorf("stdout %q does not list %s", stdout, n)
		}
		a, _ := os.ReadFile(filepath.Join(out, n))
		b, _ := os.ReadFile(filepath.Join(committed, n))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: regenerated bytes differ from testdata/ (%d vs %d bytes)", n, len(a), len(b))
		}
	}
	// Each usage error names its own problem (both printed "no arguments expected;
	// --bench-size must be 16..40000").
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"gendata", "--bench-size", "3"}, "--bench-size 3: want 16..40000"},
		{[]string{"gendata", "extra"}, `unexpected argument "extra"`},
	} {
		if code, _, errText := runCmd(tc.args...); code != 2 || !strings.Contains(errText, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errText, tc.want)
		}
	}
}
