package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
)

func TestServeConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("defaults", func(t *testing.T) {
		c, err := loadServeConfig(nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != "127.0.0.1:8080" || c.Prefix != "/raster/" || len(c.CORSOrigins) != 1 || c.CORSOrigins[0] != "*" || c.ExportMax != 100000000 {
			t.Errorf("defaults %+v", c)
		}
	})
	t.Run("flags win over the environment", func(t *testing.T) {
		c, err := loadServeConfig([]string{"--addr", "127.0.0.1:9999", "--prefix", "/tiles", "--bench-routes"},
			env(map[string]string{"TESSERA_ADDR": "127.0.0.1:1", "TESSERA_CORS_ORIGINS": "-"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != "127.0.0.1:9999" || c.Prefix != "/tiles/" || !c.BenchRoutes || c.CORSOrigins != nil {
			t.Errorf("%+v", c)
		}
	})
	t.Run("listed origins", func(t *testing.T) {
		c, err := loadServeConfig(nil, env(map[string]string{"TESSERA_CORS_ORIGINS": "https://app.example.com, http://127.0.0.1:5173,http://[::1]:8080"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(c.CORSOrigins, " ") != "https://app.example.com http://127.0.0.1:5173 http://[::1]:8080" {
			t.Errorf("origins %q", c.CORSOrigins)
		}
	})
	t.Run("trusted proxies", func(t *testing.T) {
		c, err := loadServeConfig(nil, env(nil), io.Discard)
		if err != nil || c.TrustedProxies != nil || !strings.Contains(c.String(), "trusted_proxies=[127.0.0.0/8 ::1/128]") {
			t.Errorf("unset: %v %v, want nil (loopback): %s", c.TrustedProxies, err, c.String())
		}
		c, err = loadServeConfig(nil, env(map[string]string{"TESSERA_TRUSTED_PROXIES": " 172.18.0.0/16, fd00::1 "}), io.Discard)
		if err != nil || fmt.Sprint(c.TrustedProxies) != "[172.18.0.0/16 fd00::1/128]" {
			t.Errorf("listed: %v %v", c.TrustedProxies, err)
		}
		c, err = loadServeConfig(nil, env(map[string]string{"TESSERA_TRUSTED_PROXIES": "-"}), io.Discard)
		if err != nil || c.TrustedProxies == nil || len(c.TrustedProxies) != 0 || !strings.Contains(c.String(), "trusted_proxies=[]") {
			t.Errorf("-: %#v %v, want an empty list: %s", c.TrustedProxies, err, c.String())
		}
	})
	t.Run("ingest errors stay ingest.ErrConfig", func(t *testing.T) {
		_, err := loadServeConfig(nil, env(map[string]string{"RASTER_TILESIZE": "big"}), io.Discard)
		if !errors.Is(err, ingest.ErrConfig) || !strings.Contains(err.Error(), `RASTER_TILESIZE="big"`) {
			t.Errorf("%v", err)
		}
	})
	t.Run("secrets are redacted", func(t *testing.T) {
		c, err := loadServeConfig(nil, env(map[string]string{"TESSERA_ADMIN_TOKEN": "s3cret-s3cret-s3cret",
			"DATABASE_URL": "postgres://u:pw123@h/db"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		s := c.String()
		if strings.Contains(s, "s3cret") || strings.Contains(s, "pw123") || !strings.Contains(s, "redacted") {
			t.Errorf("String() leaks a secret: %s", s)
		}
	})
	t.Run("REDIS_URL sends parses to a queue", func(t *testing.T) {
		c, err := loadServeConfig(nil, env(map[string]string{"REDIS_URL": "redis://:hunter22@127.0.0.1:6379/0", "TESSERA_QUEUE": "q1"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		s := c.String()
		if c.RedisURL == "" || c.Queue != "q1" || strings.Contains(s, "hunter22") || !strings.Contains(s, `queue "q1"`) {
			t.Errorf("%+v: %s", c, s)
		}
		if c, _ := loadServeConfig(nil, env(nil), io.Discard); c.RedisURL != "" || !strings.Contains(c.String(), "parses=in-process") {
			t.Errorf("without REDIS_URL: %s", c.String())
		}
		// The start-up line names the tile size, which TileJSON, exports and empty tiles use.
		if c, err := loadServeConfig(nil, env(map[string]string{"RASTER_TILESIZE": "512"}), io.Discard); err != nil || !strings.Contains(c.String(), "tile_size=512") {
			t.Errorf("RASTER_TILESIZE=512: %v %s", err, c.String())
		}
	})
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad addr", nil, []string{"--addr", "nowhere"}, "--addr/TESSERA_ADDR"},
		{"bad prefix", map[string]string{"TESSERA_PREFIX": "raster"}, nil, "must start with /"},
		{"short token", map[string]string{"TESSERA_ADMIN_TOKEN": "short"}, nil, "TESSERA_ADMIN_TOKEN"},
		{"bad cache size", map[string]string{"TESSERA_TILE_CACHE_BYTES": "lots"}, nil, "TESSERA_TILE_CACHE_BYTES"},
		{"bad export max", map[string]string{"RASTER_EXPORT_MAX_PIXELS": "-1"}, nil, "RASTER_EXPORT_MAX_PIXELS"},
		{"bad origin", map[string]string{"TESSERA_CORS_ORIGINS": "example.com"}, nil, "TESSERA_CORS_ORIGINS"},
		// echo reads * and ? in a listed origin as wildcards, and listed origins get
		// credentials: https://* named every https page with them.
		{"wildcard origin", map[string]string{"TESSERA_CORS_ORIGINS": "https://*"}, nil, "TESSERA_CORS_ORIGINS"},
		{"wildcard subdomain", map[string]string{"TESSERA_CORS_ORIGINS": "https://app.test,https://*.example.com"}, nil, "TESSERA_CORS_ORIGINS"},
		{"one-character wildcard", map[string]string{"TESSERA_CORS_ORIGINS": "http://app?.test"}, nil, "TESSERA_CORS_ORIGINS"},
		// Never an Origin header's value: matched no page.
		{"origin with a path", map[string]string{"TESSERA_CORS_ORIGINS": "https://app.test/"}, nil, "TESSERA_CORS_ORIGINS"},
		{"origin in capitals", map[string]string{"TESSERA_CORS_ORIGINS": "https://App.test"}, nil, "TESSERA_CORS_ORIGINS"},
		{"origin with a user", map[string]string{"TESSERA_CORS_ORIGINS": "https://u@app.test"}, nil, "TESSERA_CORS_ORIGINS"},
		{"bad log level", map[string]string{"TESSERA_LOG_LEVEL": "loud"}, nil, "TESSERA_LOG_LEVEL"},
		{"bad bool", map[string]string{"TESSERA_PRIVATE_READS": "maybe"}, nil, "TESSERA_PRIVATE_READS"},
		{"bad proxy address", map[string]string{"TESSERA_TRUSTED_PROXIES": "10.0.0.1,10.0.0.300"}, nil, "TESSERA_TRUSTED_PROXIES"},
		{"proxy as a host name", map[string]string{"TESSERA_TRUSTED_PROXIES": "nginx"}, nil, "TESSERA_TRUSTED_PROXIES"},
		{"bad proxy prefix", map[string]string{"TESSERA_TRUSTED_PROXIES": "fd00::/129"}, nil, "TESSERA_TRUSTED_PROXIES"},
		{"proxies of commas", map[string]string{"TESSERA_TRUSTED_PROXIES": ","}, nil, "TESSERA_TRUSTED_PROXIES"},
		// Serve refuses a bad ingest setting, and says it is one and why serve reads it.
		{"bad ingest setting", map[string]string{"RASTER_TILESIZE": "big"}, nil, "ingest settings (serve parses uploads"},
		{"bad ingest setting names it", map[string]string{"TESSERA_WARP_THREADS": "-1"}, nil, "TESSERA_WARP_THREADS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadServeConfig(tc.args, env(tc.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
}

// TestServeRefusesBadSettings: tessera serve exits 2 before opening the database, with a
// message naming the setting, on a bad TESSERA_TRUSTED_PROXIES or a bad ingest setting.
func TestServeRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"TESSERA_TRUSTED_PROXIES", "192.168.0.0/33", `tessera serve: TESSERA_TRUSTED_PROXIES: "192.168.0.0/33" is not an IP address or a CIDR prefix`},
		{"RASTER_TILESIZE", "0", `tessera serve: ingest settings (serve parses uploads and registered URLs with them; see tessera ingest --help): ingest: invalid setting RASTER_TILESIZE="0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A database that is not there: past the settings, serve would exit 1.
			t.Setenv("DATABASE_URL", "postgres://tessera:tessera@127.0.0.1:1/tessera?sslmode=disable&connect_timeout=2")
			t.Setenv("RASTER_WORKDIR", t.TempDir())
			t.Setenv(tc.name, tc.value)
			var stderr bytes.Buffer
			if code := runServe([]string{"--addr", "127.0.0.1:0"}, nil, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %s; want 2 and %s", code, stderr.String(), tc.want)
			}
		})
	}
}

// TestServe runs the command's server on a fresh database and port, checks that it migrated
// and answers, and that it stops when its context ends.
func TestServe(t *testing.T) {
	_, dsn := dbtest.NewWithDSN(t)
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, func(k string) string {
		return map[string]string{"DATABASE_URL": dsn, "TESSERA_LOG_LEVEL": "warn", "RASTER_WORKDIR": t.TempDir()}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() { done <- serve(ctx, cfg, pw, io.Discard); pw.Close() }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimSpace(strings.TrimPrefix(line, "tessera serve: listening on "))
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/raster/") {
		t.Fatalf("listening line %q", line)
	}
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", 200, `"ok"`},
		{"layers", 200, "[]"},
		{"tiles/nope/1/0/0.png", 404, `layer \"nope\" not found`},
	} {
		u := base + c.path
		if strings.HasPrefix(c.path, "/") {
			u = strings.TrimSuffix(base, "/raster/") + c.path
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.body) {
			t.Errorf("GET %s: %d %s", c.path, resp.StatusCode, b)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// startServe runs serve with cfg until the test ends and returns its /raster/ base URL.
func startServe(t *testing.T, cfg serveConfig) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() { done <- serve(ctx, cfg, pw, io.Discard); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	return strings.TrimSpace(strings.TrimPrefix(line, "tessera serve: listening on "))
}

// TestServeThroughRedis checks that with REDIS_URL set the parse of an upload runs on a
// worker of the queue (serve parsed in its own process whatever REDIS_URL said).
func TestServeThroughRedis(t *testing.T) {
	_, dsn := dbtest.NewWithDSN(t)
	redisURL := dbtest.RedisURL(t)
	queue := fmt.Sprintf("test-serve-%d-%d", os.Getpid(), time.Now().UnixNano())
	const token = "serve-redis-token-0123456789"
	workdir := t.TempDir()
	getenv := func(k string) string {
		return map[string]string{"DATABASE_URL": dsn, "TESSERA_LOG_LEVEL": "error", "RASTER_WORKDIR": workdir,
			"REDIS_URL": redisURL, "TESSERA_QUEUE": queue, "TESSERA_ADMIN_TOKEN": token}[k]
	}
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", dsn)
	wst, code := openMigrated(context.Background(), "worker", databaseURL(), os.Stderr)
	if wst == nil {
		t.Fatalf("open: exit %d", code)
	}
	defer wst.Close()
	var ran atomic.Int64
	h := ingest.NewTaskHandler(wst)
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	w, err := jobs.NewWorker(redisURL, jobs.WorkerOptions{Queue: queue, Concurrency: 2, Kinds: ingest.TaskKinds, Logger: quiet},
		func(ctx context.Context, task jobs.Task) error { ran.Add(1); return h(ctx, task) })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	base := startServe(t, cfg)

	data, err := os.ReadFile(sharedRaster(t, "django_raster_test.tif"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "django_raster_test.tif")
	fw.Write(data)
	mw.WriteField("name", "viaqueue")
	mw.Close()
	if code, b := postLayers(t, base, mw.FormDataContentType(), &body, token); code != 201 {
		t.Fatalf("upload: %d %s", code, b)
	}
	var st struct {
		Status string   `json:"status"`
		Log    []string `json:"log"`
	}
	for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "layers/viaqueue/status")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if st.Status == "FINISHED" || st.Status == "FAILED" {
			break
		}
	}
	if st.Status != "FINISHED" {
		t.Fatalf("parse ended %q: %v", st.Status, st.Log)
	}
	if ran.Load() == 0 {
		t.Error("the parse finished without a task on the Redis queue's worker: it ran in the server")
	}
}

// TestServeUnreachableRedis checks that serve stops with a message when REDIS_URL does not
// answer.
func TestServeUnreachableRedis(t *testing.T) {
	_, dsn := dbtest.NewWithDSN(t)
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, func(k string) string {
		return map[string]string{"DATABASE_URL": dsn, "RASTER_WORKDIR": t.TempDir(), "REDIS_URL": "redis://127.0.0.1:1/0"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a serve that starts stops here
	defer cancel()
	var errb bytes.Buffer
	if code := serve(ctx, cfg, io.Discard, &errb); code != 1 || !strings.Contains(errb.String(), "REDIS_URL") {
		t.Errorf("exit %d, stderr %q; want 1 and a message naming REDIS_URL", code, errb.String())
	}
}

// TestServeMaxZoomLimit: POST layers refuses a max_zoom past TESSERA_MAX_INGEST_ZOOM even
// when that limit is 0 (only zoom 0), which the server took for "unset" and its default 19.
func TestServeMaxZoomLimit(t *testing.T) {
	_, dsn := dbtest.NewWithDSN(t)
	const token = "serve-maxzoom-token-0123456789"
	workdir := t.TempDir()
	getenv := func(k string) string {
		return map[string]string{"DATABASE_URL": dsn, "TESSERA_LOG_LEVEL": "error", "RASTER_WORKDIR": workdir,
			"TESSERA_ADMIN_TOKEN": token, "TESSERA_MAX_INGEST_ZOOM": "0"}[k]
	}
	cfg, err := loadServeConfig([]string{"--addr", "127.0.0.1:0"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	base := startServe(t, cfg)
	code, b := postLayers(t, base, "application/json", strings.NewReader(`{"name":"mz","url":"http://127.0.0.1:1/x.tif","max_zoom":3}`), token)
	if code != http.StatusBadRequest || !strings.Contains(string(b), "max_zoom: must be from 0 to 0") {
		t.Fatalf("%d %s; want 400 naming the limit 0", code, b)
	}
}

// postLayers POSTs body to the server's layers route with the admin token and returns the
// status and the answer.
func postLayers(t *testing.T, base, ctype string, body io.Reader, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"layers", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestServeConfigHidesMalformedPasswords: the configuration line serve logs at start hides
// the passwords of URLs that do not parse (a bad %-escape), which it printed whole.
func TestServeConfigHidesMalformedPasswords(t *testing.T) {
	c := serveConfig{DatabaseURL: "postgres://tessera:s3cret%zz@127.0.0.1:5432/tessera",
		RedisURL: "redis://:s3cret%zz@127.0.0.1:6379/0", Queue: "tessera"}
	if s := c.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "127.0.0.1:5432") || !strings.Contains(s, "127.0.0.1:6379") {
		t.Errorf("config line %q: want the hosts without the passwords", s)
	}
}
