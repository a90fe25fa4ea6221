package main

import (
	"io"
	"strings"
	"testing"
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
