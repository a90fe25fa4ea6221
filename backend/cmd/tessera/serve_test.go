package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
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
		{"bad log level", map[string]string{"TESSERA_LOG_LEVEL": "loud"}, nil, "TESSERA_LOG_LEVEL"},
		{"bad bool", map[string]string{"TESSERA_PRIVATE_READS": "maybe"}, nil, "TESSERA_PRIVATE_READS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadServeConfig(tc.args, env(tc.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
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
