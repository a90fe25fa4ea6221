package ingest

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	t.Run("defaults", func(t *testing.T) {
		c, err := ConfigFromEnv(env())
		if err != nil {
			t.Fatal(err)
		}
		d := DefaultConfig()
		if c.TileSize != 256 || c.BatchSize != 500 || c.MaxZoom != 19 || c.WorkDir != d.WorkDir || c.MaxSourceBytes != 2<<30 {
			t.Errorf("defaults %+v", c)
		}
	})
	t.Run("settings", func(t *testing.T) {
		c, err := ConfigFromEnv(env("RASTER_TILESIZE", "100", "RASTER_BATCH_STEP_SIZE", "50", "RASTER_WORKDIR", "/w",
			"RASTER_PARSE_SINGLE_TASK", "true", "TESSERA_HTTP_TIMEOUT", "10s", "RASTER_S3_ENDPOINT_URL", "http://127.0.0.1:9000",
			"AWS_ACCESS_KEY_ID", "AK", "AWS_SECRET_ACCESS_KEY", "SECRET", "AWS_REGION", "eu-west-1", "TESSERA_S3_REQUESTER_PAYS", "1"))
		if err != nil {
			t.Fatal(err)
		}
		if c.TileSize != 100 || c.BatchSize != 50 || c.WorkDir != "/w" || !c.SingleTask || c.HTTPTimeout != 10*time.Second ||
			c.S3Endpoint != "http://127.0.0.1:9000" || c.S3AccessKey != "AK" || c.S3Region != "eu-west-1" || !c.S3RequesterPay {
			t.Errorf("settings %+v", c)
		}
		if s := c.String(); strings.Contains(s, "SECRET") || strings.Contains(s, "AK") || !strings.Contains(s, "<redacted>") {
			t.Errorf("String() shows a secret: %s", s)
		}
	})
	bad := []struct{ name, value, want string }{
		{"RASTER_TILESIZE", "abc", "RASTER_TILESIZE"},
		{"RASTER_TILESIZE", "8", "16..4096"},
		{"RASTER_BATCH_STEP_SIZE", "0", "RASTER_BATCH_STEP_SIZE"},
		{"RASTER_PARSE_SINGLE_TASK", "maybe", "true or false"},
		{"TESSERA_MAX_SOURCE_BYTES", "-1", "TESSERA_MAX_SOURCE_BYTES"},
		{"TESSERA_HTTP_TIMEOUT", "soon", "TESSERA_HTTP_TIMEOUT"},
		{"RASTER_S3_ENDPOINT_URL", "ftp://x", "http:// or https://"},
		{"AWS_ACCESS_KEY_ID", "AK", "AWS_SECRET_ACCESS_KEY"},
	}
	for _, tc := range bad {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := ConfigFromEnv(env(tc.name, tc.value))
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want ErrConfig naming %q", err, tc.want)
			}
		})
	}
}
