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
	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
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

// TestHTTPSourceChangedReparse pins a bug: a re-parse of a URL layer whose file changed at
// the same URL (same grid, new values) reused the reprojection kept from the old file, so
// the layer went on serving the old values. The kept copy was named by the URL alone; a
// local file's name includes its size and modification time.
func TestHTTPSourceChangedReparse(t *testing.T) {
	dir := t.TempDir()
	write := func(v float64) []byte {
		b := raster.New(raster.Float32, 64, 64)
		for i := range b.Len() {
			b.Set(i, v)
		}
		p := filepath.Join(dir, "v.tif")
		if err := gdal.WriteGeoTIFF(p, gdal.GeoTIFF{GeoTransform: [6]float64{0, 1000, 0, 0, 0, -1000}, CRS: "EPSG:3857", Bands: []*raster.Band{b}}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var body atomic.Pointer[[]byte]
	first := write(1)
	body.Store(&first)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(*body.Load())
	}))
	defer srv.Close()
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	value := func(l catalog.Layer, res ingest.Result) float64 {
		t.Helper()
		// The raster's top-left corner is the grid's centre: tile (2^(z-1), 2^(z-1)) holds it.
		z := res.MaxZoom
		bands, err := e.store.Tile(ctx, l.ID, res.Version, tile.ZXY{Z: z, X: 1 << (z - 1), Y: 1 << (z - 1)})
		if err != nil {
			t.Fatalf("tile of version %d at zoom %d: %v", res.Version, z, err)
		}
		return bands[0].At(0)
	}
	l, res, err := e.ingest(t, "changing", srv.URL+"/v.tif", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := value(l, res); v != 1 {
		t.Fatalf("first parse: pixel %v, want 1", v)
	}
	second := write(2)
	body.Store(&second)
	res2, err := e.parser.Parse(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := e.store.LayerByID(ctx, l.ID)
	if v := value(l2, res2); v != 2 || hasLine(l2.Parse.Log, "Reusing the reprojected raster") {
		t.Errorf("re-parse of the changed file: pixel %v, want 2; log %q", v, l2.Parse.Log)
	}
	// The same bytes again: the kept reprojection is reused.
	res3, err := e.parser.Parse(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	l3, _ := e.store.LayerByID(ctx, l.ID)
	if v := value(l3, res3); v != 2 || !hasLine(l3.Parse.Log, "Reusing the reprojected raster") {
		t.Errorf("re-parse of the same file: pixel %v, want 2 from the kept reprojection; log %q", v, l3.Parse.Log)
	}
}

// TestInterruptedParseLog pins the log line of a parse whose context ends (Ctrl-C on tessera
// ingest): it said what the cancellation broke, "Could not download …: context canceled.
// Check the URL and that the server is reachable" or "Parse failed: pgstore: write tiles of
// layer N: context canceled".
func TestInterruptedParseLog(t *testing.T) {
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	}))
	defer srv.Close()
	e := newEnv(t, nil, nil)
	l := catalog.NewLayer("interrupted", srv.URL+"/slow.tif")
	if err := e.store.CreateLayer(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	res, err := e.parser.Parse(ctx, l.ID)
	if err == nil || res.Status != catalog.Failed {
		t.Fatalf("status %v, err %v; want FAILED and an error", res.Status, err)
	}
	got, _ := e.store.LayerByID(context.Background(), l.ID)
	if last := got.Parse.Log[len(got.Parse.Log)-1]; !strings.Contains(last, "Parse interrupted") || strings.Contains(last, "context canceled") {
		t.Errorf("last log line %q", last)
	}
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
	// The local copy of an unchanged object has the same bytes, so a re-parse reuses the
	// reprojection it named (TestHTTPSourceChangedReparse: a changed one does not).
	t.Run("re-parse reuses the kept reprojection", func(t *testing.T) {
		pe := newEnv(t, e.store, withKeys("", ""))
		l, _, err := pe.ingest(t, "s3 re-parse", "s3://public/rasters/test.tif", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pe.parser.Parse(context.Background(), l.ID); err != nil {
			t.Fatal(err)
		}
		l2, _ := pe.store.LayerByID(context.Background(), l.ID)
		if !hasLine(l2.Parse.Log, "Reusing the reprojected raster") {
			t.Errorf("re-parse of the same object warped again: %q", l2.Parse.Log)
		}
	})
}
