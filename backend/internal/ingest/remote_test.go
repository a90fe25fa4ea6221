package ingest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
)

func TestHTTPSource(t *testing.T) {
	dir := filepath.Dir(shared(t, "README.md"))
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.FileServer(http.Dir(dir)).ServeHTTP(w, r)
	}))
	defer srv.Close()
	e := newEnv(t, nil, nil)
	tests := []struct {
		name, path string
		want       error
		hint       string
	}{
		{"tif", "/django_raster_test.tif", nil, ""},
		{"zip", "/django_raster_test.tif.zip?token=secret", nil, ""},
		{"404", "/nothing.tif", ingest.ErrDownload, "404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, res, err := e.ingest(t, "http "+tc.name, srv.URL+tc.path, nil)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || !strings.Contains(l.Parse.Log[len(l.Parse.Log)-1], tc.hint) {
					t.Fatalf("err %v, log %q", err, l.Parse.Log)
				}
				return
			}
			if err != nil {
				t.Fatalf("err %v, log %q", err, l.Parse.Log)
			}
			if res.MaxZoom != 11 || res.TilesPerZoom[11] != 4 {
				t.Errorf("max zoom %d, tiles %v", res.MaxZoom, res.TilesPerZoom)
			}
			if !hasLine(l.Parse.Log, "Downloading file from") {
				t.Errorf("no download line in %q", l.Parse.Log)
			}
			for _, line := range l.Parse.Log {
				if strings.Contains(line, "secret") {
					t.Errorf("log line shows the URL's query: %q", line)
				}
			}
		})
	}
	t.Run("over the byte limit", func(t *testing.T) {
		small := newEnv(t, e.store, func(c *ingest.Config) { c.MaxSourceBytes = 1000 })
		_, _, err := small.ingest(t, "http big", srv.URL+"/django_raster_test.tif", nil)
		if !errors.Is(err, ingest.ErrTooLarge) {
			t.Fatalf("err %v, want ErrTooLarge", err)
		}
	})
}

// s3Server is gofakes3 behind a gate that makes the bucket "private" demand AWS signature
// V4 with the given keys (gofakes3 checks no credentials itself), answering 403
// AccessDenied otherwise as S3 does.
func s3Server(t *testing.T, accessKey, secretKey string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	backend := s3mem.New()
	faker := gofakes3.New(backend)
	data, err := os.ReadFile(shared(t, "django_raster_test.tif"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"public", "private"} {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
		if _, err := backend.PutObject(b, "rasters/test.tif", map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
	}
	var signed atomic.Int64
	h := faker.Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/private") {
			if err := verifySigV4(r, accessKey, secretKey); err != nil {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied: ` + err.Error() + `</Message></Error>`))
				return
			}
			signed.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &signed
}

// verifySigV4 checks an AWS Signature Version 4 Authorization header (the S3 flavour: no
// double URI encoding, payload hash from x-amz-content-sha256).
func verifySigV4(r *http.Request, accessKey, secretKey string) error {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		return errors.New("no signature")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || cred[0] != accessKey {
		return errors.New("unknown access key")
	}
	date, region, service := cred[1], cred[2], cred[3]
	signedHeaders := strings.Split(fields["SignedHeaders"], ";")
	var canon strings.Builder
	canon.WriteString(r.Method + "\n" + r.URL.EscapedPath() + "\n")
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var qs []string
	for _, k := range keys {
		for _, v := range q[k] {
			qs = append(qs, url.QueryEscape(k)+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	canon.WriteString(strings.Join(qs, "&") + "\n")
	for _, h := range signedHeaders {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		canon.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	canon.WriteString("\n" + fields["SignedHeaders"] + "\n" + r.Header.Get("X-Amz-Content-Sha256"))
	sum := sha256.Sum256([]byte(canon.String()))
	scope := strings.Join(cred[1:], "/")
	toSign := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	k := mac(mac(mac(mac([]byte("AWS4"+secretKey), date), region), service), "aws4_request")
	if hex.EncodeToString(mac(k, toSign)) != fields["Signature"] {
		return errors.New("signature mismatch")
	}
	return nil
}

func TestS3Source(t *testing.T) {
	const ak, sk = "TESSERAKEY", "tessera-secret-key"
	srv, signed := s3Server(t, ak, sk)
	e := newEnv(t, nil, nil)
	withKeys := func(ak, sk string) func(*ingest.Config) {
		return func(c *ingest.Config) {
			c.S3Endpoint = srv.URL
			c.S3AccessKey, c.S3SecretKey = ak, sk
		}
	}
	tests := []struct {
		name, src, ak, sk string
		want              error
		hint              string
		maxBytes          int64
	}{
		{"public bucket, no keys", "s3://public/rasters/test.tif", "", "", nil, "", 0},
		{"private bucket, keys", "s3://private/rasters/test.tif", ak, sk, nil, "", 0},
		{"private bucket, no keys", "s3://private/rasters/test.tif", "", "", ingest.ErrS3, "AWS_ACCESS_KEY_ID", 0},
		{"private bucket, wrong secret", "s3://private/rasters/test.tif", ak, "wrong", ingest.ErrS3, "may read it", 0},
		{"missing key", "s3://public/rasters/none.tif", "", "", ingest.ErrS3, "Check the bucket and key", 0},
		{"over the byte limit", "s3://public/rasters/test.tif", "", "", ingest.ErrTooLarge, "TESSERA_MAX_SOURCE_BYTES", 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pe := newEnv(t, e.store, func(c *ingest.Config) {
				withKeys(tc.ak, tc.sk)(c)
				if tc.maxBytes > 0 {
					c.MaxSourceBytes = tc.maxBytes
				}
			})
			before := signed.Load()
			l, res, err := pe.ingest(t, "s3 "+tc.name, tc.src, nil)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err %v, want %v", err, tc.want)
				}
				last := l.Parse.Log[len(l.Parse.Log)-1]
				t.Logf("log: %s", last)
				if l.Parse.Status != catalog.Failed || !strings.Contains(last, tc.hint) {
					t.Errorf("status %s, last line %q (want %q)", l.Parse.Status, last, tc.hint)
				}
				return
			}
			if err != nil {
				t.Fatalf("err %v, log %q", err, l.Parse.Log)
			}
			if res.MaxZoom != 11 || res.TilesPerZoom[11] != 4 {
				t.Errorf("max zoom %d, tiles %v", res.MaxZoom, res.TilesPerZoom)
			}
			if tc.ak != "" && signed.Load() == before {
				t.Error("no signed request reached the private bucket")
			}
		})
	}
	_ = context.Background
}
