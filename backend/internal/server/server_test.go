package server_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/backend/internal/server"
	"github.com/tessera-gis/tessera/backend/internal/testdatagen"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/backend/internal/tiles/tilestest"
	"github.com/tessera-gis/tessera/shared/rawtile"
	"github.com/tessera-gis/tessera/shared/tile"
)

var _ server.Store = (*pgstore.Store)(nil)

const adminToken = "test-admin-token-0123456789"

type env struct {
	ts  *httptest.Server
	st  *pgstore.Store
	fx  *tilestest.Fixture
	srv *server.Server
}

func setup(t *testing.T, exportMax int64) *env {
	t.Helper()
	return setupWith(t, exportMax, nil)
}

// setupWith is setup with the server's configuration changed by configure.
func setupWith(t *testing.T, exportMax int64, configure func(*server.Config)) *env {
	t.Helper()
	st := dbtest.New(t)
	fx := tilestest.Seed(t, st)
	workdir := t.TempDir()
	icfg := ingest.DefaultConfig()
	icfg.WorkDir = workdir
	pool := jobs.NewPool(2, ingest.NewTaskHandler(st))
	t.Cleanup(pool.Close)
	parser, err := ingest.New(st, pool, icfg)
	if err != nil {
		t.Fatal(err)
	}
	metrics := server.NewMetrics()
	svc := tiles.New(st, tiles.Config{LayerTTL: -1, ExportMaxPixels: exportMax, OnCache: metrics.CacheHook,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	cfg := server.Config{AdminToken: adminToken, CORSOrigins: []string{"*"}, UploadDir: filepath.Join(workdir, "uploads"), WorkDir: workdir,
		MaxUpload: 1 << 20, BenchRoutes: true, EventsPoll: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if configure != nil {
		configure(&cfg)
	}
	srv := server.New(st, svc, func(ctx context.Context, id int64) error { _, err := parser.Parse(ctx, id); return err },
		metrics, cfg)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return &env{ts: ts, st: st, fx: fx, srv: srv}
}

type call struct {
	method, path string
	body         string
	ctype        string
	header       map[string]string
}

func (e *env) do(t *testing.T, c call) (*http.Response, []byte) {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodGet
	}
	req, err := http.NewRequest(c.method, e.ts.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

var auth = map[string]string{"Authorization": "Bearer " + adminToken}

func TestEndpoints(t *testing.T) {
	e := setup(t, 0)
	fx := e.fx
	home := tilestest.Home
	b := home.Bounds()
	px := b.Width() / 256
	zxy := fmt.Sprintf("%d/%d/%d", home.Z, home.X, home.Y)
	cx, cy := b.MinX+10.5*px, b.MaxY-2.5*px // pixel (10, 2)
	classes := strconv.FormatInt(fx.Classes.ID, 10)
	legendID := strconv.FormatInt(fx.Legend.ID, 10)
	tests := []struct {
		name   string
		call   call
		status int
		ctype  string
		body   string // a substring of the body
	}{
		{"tile png by id", call{path: "/raster/tiles/" + strconv.FormatInt(fx.Ramp.ID, 10) + "/" + zxy + ".png"}, 200, "image/png", "PNG"},
		{"tile png by name", call{path: "/raster/tiles/ramp/" + zxy + ".png"}, 200, "image/png", "PNG"},
		{"tile jpg", call{path: "/raster/tiles/ramp/" + zxy + ".jpg"}, 200, "image/jpeg", "\xff\xd8\xff"},
		{"tile tif", call{path: "/raster/tiles/ramp/" + zxy + ".tif"}, 200, "image/tiff", "II*"},
		{"tile msgpack", call{path: "/raster/tiles/ramp/" + zxy + ".msgpack"}, 200, tiles.MsgPack.ContentType(), "bands"},
		{"missing msgpack tile", call{path: "/raster/tiles/ramp/4/0/0.msgpack"}, 204, "", ""},
		{"tile with legend aggregation", call{path: "/raster/tiles/classes/" + zxy + ".png"}, 200, "image/png", "PNG"},
		{"unknown layer", call{path: "/raster/tiles/nope/" + zxy + ".png"}, 404, "application/json", `{"error":"layer \"nope\" not found"}`},
		{"unknown format", call{path: "/raster/tiles/ramp/" + zxy + ".webp"}, 400, "application/json", `unknown tile format \"webp\"`},
		{"zoom out of range", call{path: "/raster/tiles/ramp/40/0/0.png"}, 400, "application/json", "zoom 40"},
		{"layer TileJSON", call{path: "/raster/tiles/ramp.json"}, 200, "application/json", `"tiles":["http://127.0.0.1`},
		{"algebra png", call{path: "/raster/algebra/" + zxy + ".png?layers=a=ramp,b=const,c=classes&formula=(a%2Bb)*c&colormap=viridis"}, 200, "image/png", "PNG"},
		{"algebra rgb", call{path: "/raster/algebra/" + zxy + ".png?layers=r:0=rgb,g:1=rgb,b:2=rgb"}, 200, "image/png", "PNG"},
		{"algebra no formula", call{path: "/raster/algebra/" + zxy + ".png?layers=a=ramp"}, 400, "application/json", "Specify raster algebra formula or provide rgb layer keys."},
		{"algebra bad formula", call{path: "/raster/algebra/" + zxy + ".png?layers=a=ramp&formula=a*(2"}, 400, "application/json", `"pos":[`},
		{"algebra single-quoted colormap", call{path: "/raster/algebra/" + zxy + ".png?layers=a=ramp&formula=a&colormap=" + url.QueryEscape(`{'continuous':1,'from':'#000','to':'#fff'}`)}, 200, "image/png", "PNG"},
		{"algebra bad colour", call{path: "/raster/algebra/" + zxy + ".png?layers=a=ramp&formula=a&colormap=" + url.QueryEscape(`{"1":"blue-ish"}`)}, 400, "application/json", "Invalid color"},
		{"algebra TileJSON", call{path: "/raster/algebra.json?layers=a=ramp&formula=a*2"}, 200, "application/json", `"maxzoom":4`},
		{"pixel", call{path: fmt.Sprintf("/raster/pixel/%v/%v?layers=a=ramp,b=const&formula=a*b", cx, cy)}, 200, "application/json", fmt.Sprintf(`"value":%v}`, float64(2*256+10)*0.5*7)},
		{"pixel trailing slash", call{path: fmt.Sprintf("/raster/pixel/%v/%v/?layers=a=ramp&formula=a", cx, cy)}, 200, "application/json", fmt.Sprintf(`"value":%v}`, float64(2*256+10)*0.5)},
		{"pixel nodata", call{path: fmt.Sprintf("/raster/pixel/%v/%v/?layers=a=ramp&formula=a", b.MinX+1, b.MaxY-1)}, 200, "application/json", `"value":null`},
		{"pixel bad x", call{path: "/raster/pixel/abc/0?layers=a=ramp&formula=a"}, 400, "application/json", `x: \"abc\" is not a number`},
		{"legend by id", call{path: "/raster/legend/" + legendID}, 200, "application/json", `"name":"one"`},
		{"legend by layer", call{path: "/raster/legend?layer=" + classes}, 200, "application/json", `"expression":"3"`},
		{"legend not an integer", call{path: "/raster/legend/abc"}, 404, "application/json", `legend \"abc\" not found`},
		{"legends", call{path: "/raster/legends"}, 200, "application/json", `"title":"Land cover"`},
		{"layers", call{path: "/raster/layers"}, 200, "application/json", `"name":"classes"`},
		{"layer", call{path: "/raster/layers/" + classes}, 200, "application/json", `"status":"FINISHED"`},
		{"layer status", call{path: "/raster/layers/" + classes + "/status"}, 200, "application/json", `"finished_zooms"`},
		{"layer status unknown", call{path: "/raster/layers/999999/status"}, 404, "application/json", "not found"},
		{"layer status by name", call{path: "/raster/layers/classes/status"}, 200, "application/json", `"finished_zooms"`},
		{"layer status unknown name", call{path: "/raster/layers/nope/status"}, 404, "application/json", `layer \"nope\" not found`},
		{"stats values", call{path: "/raster/stats?layers=x=classes&formula=x"}, 200, "application/json", `"mode":"values","count":65280,`},
		{"stats values counts", call{path: "/raster/stats?layers=x=classes&formula=x"}, 200, "application/json", `"values":{"1":21930,"2":21930,"3":21420}`},
		{"stats histogram of one value (numpy's x ± 0.5)", call{path: "/raster/stats?layers=x=ramp&formula=x*0&mode=histogram&bins=2"}, 200, "application/json", `"histogram":{"edges":[-0.5,0,0.5],"counts":[0,`},
		{"stats default on a continuous layer", call{path: "/raster/stats?layers=x=ramp&formula=x&bins=2"}, 200, "application/json", `"mode":"histogram"`},
		{"stats default with a continuous layer", call{path: "/raster/stats?layers=a=ramp,c=classes&formula=a*c"}, 200, "application/json", `"histogram":{"edges":[`},
		{"stats values asked on a continuous layer", call{path: "/raster/stats?layers=x=ramp&formula=x&mode=values"}, 400, "application/json", "use mode=histogram"},
		{"stats legend", call{path: "/raster/stats?layers=x=classes&formula=x&mode=legend&legend=" + legendID}, 200, "application/json", `"values":{"1":21930,"2":21930,"3":21420}`},
		{"stats legend: the layer's own", call{path: "/raster/stats?layers=x=classes&formula=x&mode=legend"}, 200, "application/json", `"values":{"1":21930,"2":21930,"3":21420}`},
		{"stats legend: none to use", call{path: "/raster/stats?layers=x=ramp&formula=x&mode=legend"}, 400, "application/json", "one variable whose layer has a legend"},
		{"stats legend: the variable's layer among two", call{path: "/raster/stats?layers=x=classes,y=ramp&formula=x&mode=legend"}, 200, "application/json", `"values":{"1":21930,"2":21930,"3":21420}`},
		{"stats legend: a formula of the layer", call{path: "/raster/stats?layers=x=classes&formula=x*2&mode=legend"}, 400, "application/json", "one variable whose layer has a legend"},
		{"stats histogram", call{path: "/raster/stats?layers=x=classes&formula=x&mode=histogram&bins=2"}, 200, "application/json", `"histogram":{"edges":[1,2,3],"counts":[21930,43350]}`},
		{"stats over no data", call{path: "/raster/stats?layers=x=classes&formula=x&mode=histogram&area=1&zoom=2&geometry=" + url.QueryEscape(`{"type":"Polygon","coordinates":[[[-170,-80],[-160,-80],[-160,-70],[-170,-80]]]}`)}, 200, "application/json", `"count":0,"min":null`},
		{"stats bad mode", call{path: "/raster/stats?layers=x=classes&formula=x&mode=median"}, 400, "application/json", "mode"},
		{"stats bad geometry", call{path: "/raster/stats?layers=x=classes&formula=x&geometry=%7B%22type%22%3A%22Point%22%7D"}, 400, "application/json", "geometry"},
		{"export no formula", call{path: "/raster/export?layers=r=rgb,g=rgb,b=rgb"}, 400, "application/json", "export needs a formula"},
		{"unknown route", call{path: "/raster/nothing"}, 404, "application/json", "no such endpoint"},
		{"write without token", call{method: "POST", path: "/raster/legend", body: `{}`, ctype: "application/json"}, 401, "application/json", "bearer token"},
		{"write with a wrong token", call{method: "DELETE", path: "/raster/legend/" + legendID, header: map[string]string{"Authorization": "Bearer nope"}}, 401, "application/json", "bearer token is not valid"},
		{"healthz", call{path: "/healthz"}, 200, "application/json", `"ok"`},
		{"bench floor", call{path: "/raster/bench/floor/" + zxy + ".msgpack?layers=a=ramp&formula=a"}, 200, tiles.MsgPack.ContentType(), "bands"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, tc.call)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %.300s", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if !bytes.Contains(body, []byte(tc.body)) {
				t.Errorf("body %.400q does not contain %q", body, tc.body)
			}
			if resp.StatusCode >= 400 {
				var eb tiles.ErrorBody
				if err := json.Unmarshal(body, &eb); err != nil || eb.Error == "" {
					t.Errorf("error body %q is not {\"error\": …}", body)
				}
			}
		})
	}
	t.Run("metrics count requests and cache lookups", func(t *testing.T) {
		_, body := e.do(t, call{path: "/metrics"})
		for _, want := range []string{`tessera_http_request_duration_seconds_count{method="GET",route="/raster/tiles/:layer/:z/:x/:file",status="2xx"}`,
			`tessera_cache_lookups_total{cache="tile",result="miss"}`, `tessera_cache_lookups_total{cache="tile",result="hit"}`} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

func TestHeaders(t *testing.T) {
	e := setup(t, 0)
	zxy := fmt.Sprintf("%d/%d/%d", tilestest.Home.Z, tilestest.Home.X, tilestest.Home.Y)
	path := "/raster/tiles/classes/" + zxy + ".png"
	resp, png := e.do(t, call{path: path, header: map[string]string{"Origin": "http://example.test"}})
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("CORS: %v", resp.Header)
	}
	if resp.ContentLength != int64(len(png)) || len(resp.TransferEncoding) != 0 {
		t.Errorf("Content-Length %d, Transfer-Encoding %v for a %d-byte PNG; want the length, not chunked", resp.ContentLength, resp.TransferEncoding, len(png))
	}
	head, hb := e.do(t, call{method: "HEAD", path: path})
	if head.StatusCode != 200 || len(hb) != 0 || head.Header.Get("Content-Type") != "image/png" || head.Header.Get("ETag") != resp.Header.Get("ETag") ||
		head.ContentLength != int64(len(png)) {
		t.Errorf("HEAD: %d %v", head.StatusCode, head.Header)
	}
	pre, _ := e.do(t, call{method: "OPTIONS", path: path, header: map[string]string{"Origin": "http://example.test",
		"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "If-None-Match"}})
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "If-None-Match") {
		t.Errorf("CORS preflight: %d %v", pre.StatusCode, pre.Header)
	}
	if got := resp.Header.Get("aggregation"); got != `{"1":21930,"2":21930,"3":21420}` {
		t.Errorf("aggregation %q", got)
	}
	etag := resp.Header.Get("ETag")
	resp2, body := e.do(t, call{path: path, header: map[string]string{"If-None-Match": etag}})
	if resp2.StatusCode != 304 || len(body) != 0 || resp2.Header.Get("ETag") != etag {
		t.Errorf("If-None-Match: %d, %d bytes", resp2.StatusCode, len(body))
	}
	// gzip for msgpack when accepted; the body gunzips to a raw tile.
	resp3, body := e.do(t, call{path: "/raster/algebra/" + zxy + ".msgpack?layers=a=ramp,b=const&formula=a", header: map[string]string{"Accept-Encoding": "gzip, br"}})
	if vary := strings.Join(resp3.Header.Values("Vary"), ","); resp3.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(vary, "Accept-Encoding") {
		t.Fatalf("headers %v", resp3.Header)
	}
	if resp3.ContentLength != int64(len(body)) {
		t.Errorf("gzipped .msgpack: Content-Length %d for %d bytes", resp3.ContentLength, len(body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := rawtile.Decode(raw)
	if err != nil || len(rt.Bands) != 2 || !bytes.Equal(rt.Bands["a"].Data, e.fx.Bands["ramp"][0].Data) {
		t.Errorf("gunzipped raw tile: %v", err)
	}
}

func TestLegendWritesAndSession(t *testing.T) {
	e := setup(t, 0)
	legend := `{"title":"Temperature","entries":[{"name":"cold","expression":"x<0","color":"#0000ff","code":"2"},{"name":"hot","expression":"x>=0","color":"#f00","code":"10"}]}`
	resp, body := e.do(t, call{method: "POST", path: "/raster/legend", body: legend, ctype: "application/json", header: auth})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created struct {
		ID      int64           `json:"id"`
		Entries json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(body, &created); err != nil || created.ID == 0 {
		t.Fatalf("create answer %s", body)
	}
	// Codes order as numbers (2 before 10), colours canonical.
	if !strings.Contains(string(created.Entries), `"name":"cold"`) || strings.Index(string(created.Entries), "cold") > strings.Index(string(created.Entries), "hot") ||
		!strings.Contains(string(created.Entries), `#FF0000`) {
		t.Errorf("entries %s", created.Entries)
	}
	id := strconv.FormatInt(created.ID, 10)
	if resp, body := e.do(t, call{path: "/raster/tiles/ramp/4/8/5.png?legend=temperature"}); resp.StatusCode != 200 {
		t.Errorf("tile with legend by title: %d %s", resp.StatusCode, body)
	}
	// Each error names its prefixes once (a bad expression read "colormap: invalid legend …:
	// expression: colormap: invalid colormap: key "x>": formula: formula ends …").
	for _, bad := range []struct{ method, path, body, want string }{
		{"POST", "/raster/legend", `{"title":"x","entries":[{"name":"a","expression":"x>","color":"#000","code":"1"}]}`,
			`colormap: invalid legend \"x\": entry 1 (name \"a\", code \"1\"): expression \"x\u003e\": formula ends where a value is expected`},
		{"POST", "/raster/legend", `{"title":"x","entries":[{"name":"a","expression":"y > 1","color":"#000","code":"1"}]}`,
			`expression \"y \u003e 1\": uses the variable \"y\"`},
		{"POST", "/raster/legend", `{"title":"x","entries":[{"name":"a","expression":" ","color":"#000","code":"1"}]}`, `expression \" \": empty`},
		{"PUT", "/raster/legend/" + id, `{"title":"x","entries":[{"name":"a","expression":"(x","color":"#000","code":"1"}]}`, `expression \"(x\"`},
		{"POST", "/raster/legend", `{"title":"x","entries":[{"name":"a","expression":"1","color":"nocolour","code":"1"}]}`, "Invalid color"},
		{"POST", "/raster/legend", `{"title":""}`, "title"},
		// An entry without a name (django-raster's legend semantics need one) was a 500.
		{"POST", "/raster/legend", `{"title":"x","entries":[{"expression":"1","color":"#ff0000"}]}`, `colormap: invalid legend \"x\": entry 1 has no name`},
		{"PUT", "/raster/legend/" + id, `{"title":"x","entries":[{"name":" ","expression":"1","color":"#ff0000"}]}`, `entry 1 has no name`},
		// A clash names the field the client sent (it said "name:").
		{"POST", "/raster/legend", `{"title":"TEMPERATURE","entries":[]}`, `{"error":"title: a legend named \"TEMPERATURE\" exists already"}`},
		{"POST", "/raster/legend", `{"title":"x","bogus":1}`, "unknown field"},
		{"POST", "/raster/legend", `not json`, "malformed JSON"},
		{"POST", "/raster/session/colormap", `{"key":"k","colormap":{"1":"#000","x >":"#fff"}}`,
			`colormap: invalid colormap: key \"x \u003e\": formula ends where a value is expected`},
	} {
		resp, body := e.do(t, call{method: bad.method, path: bad.path, body: bad.body, ctype: "application/json", header: auth})
		if resp.StatusCode != 400 || !strings.Contains(string(body), bad.want) {
			t.Errorf("bad legend %s: %d %s, want 400 with %q", bad.body, resp.StatusCode, body, bad.want)
		}
		var eb tiles.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil {
			t.Errorf("bad legend %s: body %s: %v", bad.body, body, err)
		} else if p := tilestest.RepeatedPrefix(eb.Error); p != "" {
			t.Errorf("bad legend %s: error %q repeats its prefix %q", bad.body, eb.Error, p)
		}
	}
	upd := strings.Replace(legend, "Temperature", "Temp", 1)
	if resp, body := e.do(t, call{method: "PUT", path: "/raster/legend/" + id, body: upd, ctype: "application/json", header: auth}); resp.StatusCode != 200 || !strings.Contains(string(body), `"title":"Temp"`) {
		t.Errorf("update: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, call{method: "DELETE", path: "/raster/legend/" + id, header: auth}); resp.StatusCode != 204 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, call{path: "/raster/legend/" + id}); resp.StatusCode != 404 {
		t.Errorf("deleted legend: %d", resp.StatusCode)
	}

	// Session colormaps: saved under a key, used with legend=KEY&store=session.
	resp, body = e.do(t, call{method: "POST", path: "/raster/session/colormap", body: `{"key":"mine","colormap":{"continuous":true,"from":"#000","to":"#fff"}}`, ctype: "application/json"})
	if resp.StatusCode != 200 {
		t.Fatalf("session colormap: %d %s", resp.StatusCode, body)
	}
	cookie := sessionCookie(t, resp)
	path := "/raster/tiles/ramp/4/8/5.png?legend=mine&store=session"
	if resp, body := e.do(t, call{path: path, header: map[string]string{"Cookie": cookie}}); resp.StatusCode != 200 {
		t.Errorf("tile with session colormap: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, call{path: path}); resp.StatusCode != 404 {
		t.Errorf("session colormap without the cookie: %d, want 404", resp.StatusCode)
	}
}

func TestExport(t *testing.T) {
	dbtest.GDALTool(t, "gdalinfo")
	e := setup(t, 3*256*256)
	// The bbox covers Home and its right-hand neighbour 4/9/5, which only Parent covers
	// (over-zoomed), and 4/10/5 past Parent: no data, so nodata.
	hb := tilestest.Home.Bounds()
	far := tile.ZXY{Z: 4, X: 10, Y: 5}.Bounds()
	w, s := tile.MercatorToLonLat(hb.MinX+1000, hb.MinY+1000)
	east, n := tile.MercatorToLonLat(far.MaxX-1000, far.MaxY-1000)
	bbox := fmt.Sprintf("%v,%v,%v,%v", w, s, east, n)
	resp, body := e.do(t, call{path: "/raster/export?layers=a=ramp&formula=a*2&zoom=4&legend=" + strconv.FormatInt(e.fx.Legend.ID, 10) + "&filename=ramp2&description=test&bbox=" + bbox})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename="ramp2.zip"`) {
		t.Fatalf("export: %d %v %.200s", resp.StatusCode, resp.Header, body)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		// The entries' dates are the export's (they were DOS date 0: 1980-00-00 in unzip -l).
		if since := time.Since(f.Modified); since < -time.Minute || since > time.Hour {
			t.Errorf("zip entry %s modified %v, want about now", f.Name, f.Modified)
		}
		// Every entry is deflated, the GeoTIFF too (deflated inside already): a stored entry
		// written as a stream carries a data descriptor, which streaming readers refuse.
		if f.Method != zip.Deflate {
			t.Errorf("zip entry %s: method %d, want deflate (%d)", f.Name, f.Method, zip.Deflate)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	if len(files) != 3 || !strings.Contains(string(files["README.txt"]), "a*2") || !strings.Contains(string(files["COLORMAP.txt"]), "1: #FF0000") {
		t.Fatalf("zip files %v; README %s; COLORMAP %s", len(files), files["README.txt"], files["COLORMAP.txt"])
	}
	if !strings.Contains(string(files["README.txt"]), "768 x 256 pixels, 2 of 3 tiles with data") {
		t.Errorf("README %s: want 2 of 3 tiles with data", files["README.txt"])
	}
	// The export starts on the prime meridian (tile 4/8/5's west edge), which is x = 0, not
	// -0.000 as a coordinate a rounding below zero printed.
	if rm := string(files["README.txt"]); !strings.Contains(rm, "Extent:   0.000 ") || strings.Contains(rm, "-0.000") {
		t.Errorf("README %s: want an extent from 0.000, without -0.000", rm)
	}
	// A result with no valid pixel has no tile with data, though every tile was read
	// (the README counted the tiles read).
	resp, body = e.do(t, call{path: "/raster/export?layers=a=ramp&formula=log(a-1e9)&zoom=4&bbox=" + bbox})
	if resp.StatusCode != 200 {
		t.Fatalf("export of nodata: %d %.200s", resp.StatusCode, body)
	}
	if zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body))); err != nil {
		t.Error(err)
	} else if rc, err := zr.Open("README.txt"); err != nil {
		t.Error(err)
	} else {
		readme, _ := io.ReadAll(rc)
		rc.Close()
		if !strings.Contains(string(readme), "0 of 3 tiles with data") {
			t.Errorf("README of an all-nodata export: %s, want 0 of 3 tiles with data", readme)
		}
	}
	path := filepath.Join(t.TempDir(), "ramp2.tif")
	if err := os.WriteFile(path, files["ramp2.tif"], 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("gdalinfo", "-json", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var gi struct {
		Size         []int     `json:"size"`
		GeoTransform []float64 `json:"geoTransform"`
		Bands        []struct {
			Type string `json:"type"`
		} `json:"bands"`
	}
	if err := json.Unmarshal(out, &gi); err != nil {
		t.Fatal(err)
	}
	if len(gi.Size) != 2 || gi.Size[0] != 768 || gi.Size[1] != 256 || gi.Bands[0].Type != "Float64" || gi.GeoTransform[0] != hb.MinX {
		t.Fatalf("gdalinfo %s", out)
	}
	val := func(c, r int) string {
		v, err := exec.Command("gdallocationinfo", "-valonly", path, strconv.Itoa(c), strconv.Itoa(r)).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(v))
	}
	parent := e.fx.ParentBands["ramp"][0]
	for _, p := range []struct {
		c, r int
		want string
	}{
		{0, 0, "nan"}, // Home's pixel 0 is nodata
		{10, 2, fmt.Sprint(float64(2*256+10) * 0.5 * 2)},
		{256 + 4, 6, fmt.Sprint(parent.At(3*256+128+2) * 2)}, // 4/9/5 cut from Parent's quadrant (1,1)
		{512 + 100, 100, "nan"},                              // no data at all: nodata, not 0
	} {
		if got := strings.ToLower(val(p.c, p.r)); got != p.want {
			t.Errorf("pixel (%d,%d) = %s, want %s", p.c, p.r, got, p.want)
		}
	}
	// One tile more than the limit: django-raster's 400.
	resp, body = e.do(t, call{path: "/raster/export?layers=a=ramp&formula=a&zoom=5&bbox=" + bbox})
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"Export raster too large. The export would be`) ||
		!strings.Contains(string(body), "at zoom 5, more than RASTER_EXPORT_MAX_PIXELS") || !strings.Contains(string(body), "use a lower zoom= or a smaller bbox=") {
		t.Errorf("oversized export: %d %s", resp.StatusCode, body)
	}
}

func TestStatsGeometryAndArea(t *testing.T) {
	e := setup(t, 0)
	hb := tilestest.Home.Bounds()
	// The left half of Home: columns 0..127, where classes are 1 (0..85) and 2 (86..127).
	w, s := tile.MercatorToLonLat(hb.MinX, hb.MinY)
	mid, n := tile.MercatorToLonLat(hb.MinX+hb.Width()/2, hb.MaxY)
	geom := fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%v,%v],[%v,%v],[%v,%v],[%v,%v],[%v,%v]]]}`, w, s, mid, s, mid, n, w, n, w, s)
	resp, body := e.do(t, call{path: "/raster/stats?layers=x=classes&formula=x&zoom=4&area=1&geometry=" + url.QueryEscape(geom)})
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var res tiles.StatsResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Values["1"] != 86*255 || res.Values["2"] != 42*255 || len(res.Values) != 2 || res.Count != 128*255 {
		t.Errorf("values %v count %d", res.Values, res.Count)
	}
	if res.AreaTotal == nil || *res.AreaTotal <= 0 || res.Area["1"] <= res.Area["2"] {
		t.Errorf("areas %v total %v", res.Area, res.AreaTotal)
	}
}

// TestUploadParse uploads django-raster's own test raster, follows the parse over
// Server-Sent Events and reads a tile the real parser made.
func TestUploadParse(t *testing.T) {
	dir, err := testdatagen.SharedTestdata()
	if err != nil {
		// The team's shared rasters sit beside the checkout (or TESSERA_SHARED_TESTDATA);
		// like every test that uses them, skip visibly when they are not there.
		t.Skipf("shared test rasters not found (../shared/testdata): %v", err)
	}
	e := setup(t, 0)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("name", "django_test")
	_ = mw.WriteField("datatype", "categorical")
	fw, err := mw.CreateFormFile("file", "django_raster_test.tif")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "django_raster_test.tif"))
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	resp, rb := e.do(t, call{method: "POST", path: "/raster/layers", body: body.String(), ctype: mw.FormDataContentType(), header: auth})
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, rb)
	}
	var l tiles.LayerJSON
	if err := json.Unmarshal(rb, &l); err != nil {
		t.Fatal(err)
	}
	// Follow the parse's events until it ends (by name: the route takes any layer reference).
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/raster/layers/%s/events", e.ts.URL, url.PathEscape(l.Name)), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ev, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Body.Close()
	if ev.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events Content-Type %q", ev.Header.Get("Content-Type"))
	}
	var last tiles.ParseStatusJSON
	events := 0
	sc := bufio.NewScanner(ev.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "event: end") {
			break
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			if err := json.Unmarshal([]byte(d), &last); err == nil {
				events++
			}
		}
	}
	if last.Status != "FINISHED" || events < 1 || len(last.Log) == 0 {
		t.Fatalf("parse ended %s after %d events; log %v", last.Status, events, last.Log)
	}
	// Tile 11/552/858 is one of the four tiles at the max zoom (see shared/testdata/README.md).
	resp, img := e.do(t, call{path: "/raster/tiles/django_test/11/552/858.png"})
	if resp.StatusCode != 200 {
		t.Fatalf("tile: %d %s", resp.StatusCode, img)
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatal(err)
	}
	// Pixel values of the parsed layer equal the source raster's, read by GDAL: the centre of
	// source pixel (col,row) in EPSG:3857 (gdaltransform) falls in a tile pixel warped from it.
	if _, err := exec.LookPath("gdaltransform"); err == nil {
		src := filepath.Join(dir, "django_raster_test.tif")
		pts := [][2]int{{10, 20}, {40, 40}, {80, 90}, {120, 30}, {150, 160}, {5, 170}, {100, 100}, {60, 130}}
		var in strings.Builder
		for _, p := range pts {
			fmt.Fprintf(&in, "%d %d\n", p[0], p[1])
		}
		loc := exec.Command("gdallocationinfo", "-valonly", src)
		loc.Stdin = strings.NewReader(in.String())
		vals, err := loc.Output()
		if err != nil {
			t.Fatal(err)
		}
		in.Reset()
		for _, p := range pts {
			fmt.Fprintf(&in, "%v %v\n", float64(p[0])+0.5, float64(p[1])+0.5)
		}
		tr := exec.Command("gdaltransform", "-t_srs", "EPSG:3857", src)
		tr.Stdin = strings.NewReader(in.String())
		xy, err := tr.Output()
		if err != nil {
			t.Fatal(err)
		}
		want, coords := strings.Fields(string(vals)), strings.Fields(string(xy))
		if len(want) != len(pts) || len(coords) != 3*len(pts) {
			t.Fatalf("gdal output %q %q", vals, xy)
		}
		for i := range pts {
			_, pb := e.do(t, call{path: fmt.Sprintf("/raster/pixel/%s/%s?layers=x=django_test&formula=x", coords[3*i], coords[3*i+1])})
			var pv tiles.PixelValue
			if err := json.Unmarshal(pb, &pv); err != nil {
				t.Fatalf("pixel: %s", pb)
			}
			got := "255" // the source's nodata
			if pv.Value != nil {
				got = strconv.FormatFloat(*pv.Value, 'g', -1, 64)
			}
			if got != want[i] {
				t.Errorf("source pixel %v: served %s, GDAL reads %s", pts[i], got, want[i])
			}
		}
		// The first point in degrees: null, with a hint that names its path in metres, which
		// answers GDAL's value.
		x, _ := strconv.ParseFloat(coords[0], 64)
		y, _ := strconv.ParseFloat(coords[1], 64)
		lon, lat := tile.MercatorToLonLat(x, y)
		_, pb := e.do(t, call{path: fmt.Sprintf("/raster/pixel/%v/%v?layers=x=django_test&formula=x", lon, lat)})
		var pv tiles.PixelValue
		if err := json.Unmarshal(pb, &pv); err != nil || pv.Value != nil || !strings.Contains(pv.Hint, `layer "django_test": ask for pixel/`) {
			t.Fatalf("pixel in degrees: %s", pb)
		}
		hinted := strings.Fields(pv.Hint[strings.Index(pv.Hint, "pixel/"):])[0]
		_, pb = e.do(t, call{path: "/raster/" + hinted + "?layers=x=django_test&formula=x"})
		pv = tiles.PixelValue{}
		if err := json.Unmarshal(pb, &pv); err != nil || pv.Value == nil || strconv.FormatFloat(*pv.Value, 'g', -1, 64) != want[0] || pv.Hint != "" {
			t.Errorf("the hint's %s: %s, want value %s", hinted, pb, want[0])
		}
	} else if dbtest.Required() {
		t.Fatal("gdaltransform missing; scripts/services.sh installs gdal-bin")
	}
	resp, js := e.do(t, call{path: "/raster/stats?layers=x=django_test&formula=x&zoom=11"})
	if resp.StatusCode != 200 || !strings.Contains(string(js), `"values":{`) {
		t.Fatalf("stats: %d %s", resp.StatusCode, js)
	}
	var st tiles.StatsResult
	json.Unmarshal(js, &st)
	for k := range st.Values {
		if !strings.Contains(" 0 1 2 3 4 8 9 ", " "+k+" ") {
			t.Errorf("value %s is not one of the raster's categories 0,1,2,3,4,8,9", k)
		}
	}
	// An upload over the limit is refused with 400, and nothing is kept.
	big := &bytes.Buffer{}
	mw = multipart.NewWriter(big)
	fw, _ = mw.CreateFormFile("file", "big.tif")
	fw.Write(make([]byte, 2<<20))
	mw.Close()
	resp, rb = e.do(t, call{method: "POST", path: "/raster/layers", body: big.String(), ctype: mw.FormDataContentType(), header: auth})
	if resp.StatusCode != 400 || !strings.Contains(string(rb), "larger than") {
		t.Errorf("oversized upload: %d %s", resp.StatusCode, rb)
	}
	// Neither a file nor a URL: django-raster's message.
	resp, rb = e.do(t, call{method: "POST", path: "/raster/layers", body: `{"name":"nothing"}`, ctype: "application/json", header: auth})
	if resp.StatusCode != 400 || !strings.Contains(string(rb), "No data source found. Provide a rasterfile or a source url.") {
		t.Errorf("no source: %d %s", resp.StatusCode, rb)
	}
	resp, rb = e.do(t, call{method: "POST", path: "/raster/layers", body: `{"name":"a/b","url":"https://example.com/y.tif"}`, ctype: "application/json", header: auth})
	if resp.StatusCode != 400 || !strings.Contains(string(rb), `name: layer name \"a/b\" holds a \"/\"`) {
		t.Errorf("a name with a /: %d %s", resp.StatusCode, rb)
	}
	// Without a name field the name comes from the URL's file name: when that leaves nothing
	// or too much, a 400 on name that asks for one (it was a 500 from the store).
	for _, u := range []string{"https://example.com/.tif", "https://example.com/" + strings.Repeat("a", 300) + ".tif"} {
		resp, rb = e.do(t, call{method: "POST", path: "/raster/layers", body: `{"url":"` + u + `"}`, ctype: "application/json", header: auth})
		if resp.StatusCode != 400 || !strings.Contains(string(rb), "name: a layer name") || !strings.Contains(string(rb), "send a name") {
			t.Errorf("a URL whose file name is no layer name (%.40s…): %d %s", u, resp.StatusCode, rb)
		}
	}
	resp, rb = e.do(t, call{method: "POST", path: "/raster/layers", body: `{"name":"ftp","url":"ftp://x/y.tif"}`, ctype: "application/json", header: auth})
	if resp.StatusCode != 400 || !strings.Contains(string(rb), "url") {
		t.Errorf("ftp url: %d %s", resp.StatusCode, rb)
	}

	// DELETE layers/{ref}: a write (401 without a token), by name; the tiles, the layer and
	// the uploaded file go; a second delete is a 404.
	stored, err := e.st.LayerByID(context.Background(), l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stored.Source); err != nil {
		t.Fatalf("the uploaded file before the delete: %v", err)
	}
	if _, err := os.Stat(stored.ReprojectedPath); stored.ReprojectedPath == "" || err != nil {
		t.Fatalf("the kept reprojection before the delete: %q %v", stored.ReprojectedPath, err)
	}
	if resp, rb := e.do(t, call{method: "DELETE", path: "/raster/layers/django_test"}); resp.StatusCode != 401 {
		t.Fatalf("delete without a token: %d %s", resp.StatusCode, rb)
	}
	if resp, rb := e.do(t, call{method: "DELETE", path: "/raster/layers/django_test", header: auth}); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, rb)
	}
	var left int
	if err := e.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM tiles WHERE layer_id = $1`, l.ID).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d tiles of the deleted layer left (%v)", left, err)
	}
	if _, err := os.Stat(stored.Source); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the uploaded file after the delete: %v, want it gone", err)
	}
	// The reprojection the parse kept (store_reprojected) goes too, as with tessera delete:
	// it stayed, as large as the layer's full-resolution raster in EPSG:3857.
	if _, err := os.Stat(stored.ReprojectedPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the kept reprojection after the delete: %v, want it gone", err)
	}
	for _, path := range []string{"/raster/layers/django_test", "/raster/tiles/django_test/11/552/858.png"} {
		if resp, rb := e.do(t, call{path: path}); resp.StatusCode != 404 {
			t.Errorf("GET %s after the delete: %d %s", path, resp.StatusCode, rb)
		}
	}
	if resp, rb := e.do(t, call{method: "DELETE", path: fmt.Sprintf("/raster/layers/%d", l.ID), header: auth}); resp.StatusCode != 404 {
		t.Errorf("second delete: %d %s", resp.StatusCode, rb)
	}
}

// TestURLRegistration registers a raster by http URL (a file server on 127.0.0.1) and waits
// for the real parser to finish it, through the status endpoint.
func TestURLRegistration(t *testing.T) {
	dir, err := testdatagen.SharedTestdata()
	if err != nil {
		// The team's shared rasters sit beside the checkout (or TESSERA_SHARED_TESTDATA);
		// like every test that uses them, skip visibly when they are not there.
		t.Skipf("shared test rasters not found (../shared/testdata): %v", err)
	}
	files := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer files.Close()
	e := setup(t, 0)
	body := fmt.Sprintf(`{"name":"by_url","url":%q,"datatype":"categorical","max_zoom":10}`, files.URL+"/django_raster_test.tif")
	resp, rb := e.do(t, call{method: "POST", path: "/raster/layers", body: body, ctype: "application/json", header: auth})
	if resp.StatusCode != 201 || !strings.HasPrefix(resp.Header.Get("Location"), "/raster/layers/") {
		t.Fatalf("register: %d %s", resp.StatusCode, rb)
	}
	var st tiles.ParseStatusJSON
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		_, sb := e.do(t, call{path: resp.Header.Get("Location") + "/status"})
		if err := json.Unmarshal(sb, &st); err != nil {
			t.Fatal(err)
		}
		if st.Status == "FINISHED" || st.Status == "FAILED" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Status != "FINISHED" || len(st.FinishedZooms) == 0 || st.FinishedZooms[len(st.FinishedZooms)-1] != 10 {
		t.Fatalf("parse %s, zooms %v, log %v", st.Status, st.FinishedZooms, st.Log)
	}
	// The max zoom override (10) holds; zoom 11 is over-zoomed from it.
	if resp, b := e.do(t, call{path: "/raster/tiles/by_url/11/552/858.msgpack"}); resp.StatusCode != 200 {
		t.Errorf("over-zoomed tile: %d %s", resp.StatusCode, b)
	}
}

// TestPrivateReads checks reads with PrivateReads: every read needs the bearer header, and
// the event stream (which a browser's EventSource opens without headers) also takes the
// token as access_token, which no other route does.
func TestPrivateReads(t *testing.T) {
	e := setupWith(t, 0, func(c *server.Config) { c.PrivateReads = true })
	id := e.fx.Ramp.ID
	events := fmt.Sprintf("/raster/layers/%d/events", id)
	ctx := context.Background()
	readKey, err := e.st.CreateAPIKey(ctx, "public map", catalog.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	writeKey, err := e.st.CreateAPIKey(ctx, "ci", catalog.ScopeWrite)
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	legend := `{"title":"by key","entries":[{"name":"one","expression":"1","color":"#ff0000"}]}`
	tests := []struct {
		name string
		c    call
		want int
	}{
		// API keys: a read key reads (and follows a parse), and is refused writes with a 403
		// that says why; a write key does both.
		{"a read with a read key", call{path: "/raster/layers", header: bearer(readKey)}, http.StatusOK},
		{"a tile with a read key", call{path: fmt.Sprintf("/raster/tiles/%d/3/4/3.png", id), header: bearer(readKey)}, http.StatusOK},
		{"the event stream with a read key", call{path: events + "?access_token=" + readKey}, http.StatusOK},
		{"a write with a read key", call{method: "POST", path: "/raster/legend", body: legend, ctype: "application/json", header: bearer(readKey)}, http.StatusForbidden},
		{"a delete with a read key", call{method: "DELETE", path: fmt.Sprintf("/raster/layers/%d", id), header: bearer(readKey)}, http.StatusForbidden},
		{"a read with a write key", call{path: "/raster/layers", header: bearer(writeKey)}, http.StatusOK},
		{"a write with a write key", call{method: "POST", path: "/raster/legend", body: legend, ctype: "application/json", header: bearer(writeKey)}, http.StatusCreated},
		{"a read with a revoked-looking key", call{path: "/raster/layers", header: bearer(readKey + "x")}, http.StatusUnauthorized},
		{"a read without a token", call{path: "/raster/layers"}, http.StatusUnauthorized},
		{"a read with the header", call{path: "/raster/layers", header: auth}, http.StatusOK},
		{"a read with the token in the URL", call{path: "/raster/layers?access_token=" + adminToken}, http.StatusUnauthorized},
		{"the event stream without a token", call{path: events}, http.StatusUnauthorized},
		{"the event stream with a wrong access_token", call{path: events + "?access_token=wrong-token-0123456789"}, http.StatusUnauthorized},
		{"the event stream with access_token", call{path: events + "?access_token=" + adminToken}, http.StatusOK},
		{"the event stream with the header", call{path: events, header: auth}, http.StatusOK},
		{"health stays public", call{path: "/healthz"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, tt.c)
			if resp.StatusCode != tt.want {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tt.want)
			}
			if tt.c.path == events+"?access_token="+adminToken && !strings.Contains(string(body), "event: end") {
				t.Errorf("the stream of a finished layer: %q, want its end event", body)
			}
		})
	}
}

// TestLayerFields checks POST layers' legend field: an id (number or digits) or a title, in
// JSON and in a form, as `tessera ingest --legend` takes it; an unknown one is a 404 naming
// it, not a database error (a title was refused as not an int64). And max_zoom's limit.
func TestLayerFields(t *testing.T) {
	e := setup(t, 0)
	id := e.fx.Legend.ID
	url := "http://127.0.0.1:1/x.tif" // the layer's parse fails later; registration is what is tested
	form := func(name, legend string) (string, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "x.tif")
		fw.Write([]byte("not a raster"))
		mw.WriteField("name", name)
		mw.WriteField("legend", legend)
		mw.Close()
		return b.String(), mw.FormDataContentType()
	}
	tests := []struct {
		name   string
		call   call
		status int
		want   string
	}{
		{"json title", call{body: fmt.Sprintf(`{"name":"lg_title","url":%q,"legend":"land COVER"}`, url)}, 201, ""},
		{"json id", call{body: fmt.Sprintf(`{"name":"lg_id","url":%q,"legend":%d}`, url, id)}, 201, ""},
		{"json id as a string", call{body: fmt.Sprintf(`{"name":"lg_ids","url":%q,"legend":"%d"}`, url, id)}, 201, ""},
		{"json unknown id", call{body: fmt.Sprintf(`{"name":"lg_bad","url":%q,"legend":999999}`, url)}, 404, `legend \"999999\" not found`},
		{"json unknown title", call{body: fmt.Sprintf(`{"name":"lg_bad2","url":%q,"legend":"Nope"}`, url)}, 404, `legend \"Nope\" not found`},
		{"json legend of the wrong type", call{body: fmt.Sprintf(`{"name":"lg_bad3","url":%q,"legend":[1]}`, url)}, 400, "legend"},
		// A max zoom past the parse's limit (19) is refused here, not left to a parse that
		// fails (the server took up to 22).
		{"max_zoom past the parse's limit", call{body: fmt.Sprintf(`{"name":"mz","url":%q,"max_zoom":20}`, url)}, 400, "max_zoom: must be from 0 to 19"},
		// An SRID GDAL does not know is refused here too (it was a 201, then a parse that failed).
		{"unknown srid", call{body: fmt.Sprintf(`{"name":"srid_bad","url":%q,"srid":99999999}`, url)}, 400, "EPSG:99999999 is not a coordinate system GDAL knows"},
	}
	for _, f := range []struct{ name, legend string }{{"lg_form_title", "Land cover"}, {"lg_form_bad", "999999"}} {
		body, ct := form(f.name, f.legend)
		status, want := 201, ""
		if f.name == "lg_form_bad" {
			status, want = 404, `legend \"999999\" not found`
		}
		tests = append(tests, struct {
			name   string
			call   call
			status int
			want   string
		}{"form " + f.name, call{body: body, ctype: ct}, status, want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.call
			c.method, c.path, c.header = "POST", "/raster/layers", auth
			if c.ctype == "" {
				c.ctype = "application/json"
			}
			resp, b := e.do(t, c)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Fatalf("%d %s; want %d and %q", resp.StatusCode, b, tc.status, tc.want)
			}
			if tc.status == 201 {
				var l tiles.LayerJSON
				json.Unmarshal(b, &l)
				if l.LegendID == nil || *l.LegendID != id {
					t.Errorf("legend %v, want %d: %s", l.LegendID, id, b)
				}
			}
		})
	}
}

// TestURLLayerName: a layer registered by URL without a name is named as tessera ingest names
// it (catalog.DefaultName). The server took the extension of the whole URL, query included, so
// a signed URL (…/scene.tif?sig=a.b) gave "scene.tif", and scene.tif.zip "scene.tif".
func TestURLLayerName(t *testing.T) {
	e := setup(t, 0)
	for url, want := range map[string]string{
		"http://127.0.0.1:1/dir/scene.tif?sig=a.b": "scene",
		"http://127.0.0.1:1/dir/archive.tif.zip":   "archive",
		"s3://bucket/plain.tif":                    "plain",
	} {
		resp, b := e.do(t, call{method: "POST", path: "/raster/layers", header: auth, ctype: "application/json", body: fmt.Sprintf(`{"url":%q}`, url)})
		var l tiles.LayerJSON
		json.Unmarshal(b, &l)
		if resp.StatusCode != 201 || l.Name != want {
			t.Errorf("url %s: %d, name %q; want 201 and %q: %s", url, resp.StatusCode, l.Name, want, b)
		}
	}
}

// TestDigitNameRoutes: a layer whose name is made of digits (an upload of 2024.tif) is found
// by that name on every layers/{ref} route, as GET layers/{ref} finds it, when no layer has
// that id; the status, parse and delete routes read such a reference only as an id.
func TestDigitNameRoutes(t *testing.T) {
	e := setup(t, 0)
	l := catalog.NewLayer("987654321", "http://127.0.0.1:1/987654321.tif")
	if err := e.st.CreateLayer(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	if l.ID == 987654321 {
		t.Skip("the layer got the id its name spells")
	}
	if resp, b := e.do(t, call{path: "/raster/layers/987654321"}); resp.StatusCode != http.StatusOK || !strings.Contains(string(b), fmt.Sprintf(`"id":%d`, l.ID)) {
		t.Errorf("GET layers/987654321: %d %s; want 200 with the layer %d", resp.StatusCode, b, l.ID)
	}
	if resp, b := e.do(t, call{path: "/raster/layers/987654321/status"}); resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"status":"UNPARSED"`) {
		t.Errorf("GET layers/987654321/status: %d %s; want 200 UNPARSED", resp.StatusCode, b)
	}
	if resp, b := e.do(t, call{method: http.MethodDelete, path: "/raster/layers/987654321", header: auth}); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s; want 204", resp.StatusCode, b)
	}
	if _, err := e.st.LayerByID(context.Background(), l.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("after DELETE: %v; want the layer gone", err)
	}
}

// TestLegendDigitTitle: POST layers finds a legend by a title made of digits when no legend
// has that id, as style= and tessera ingest --legend do (id, else title).
func TestLegendDigitTitle(t *testing.T) {
	e := setup(t, 0)
	lg := e.fx.Legend
	lg.ID, lg.Title = 0, "31337"
	if err := e.st.CreateLegend(context.Background(), &lg); err != nil {
		t.Fatal(err)
	}
	if lg.ID == 31337 {
		t.Skip("the legend got the id its title spells")
	}
	resp, b := e.do(t, call{method: "POST", path: "/raster/layers", header: auth, ctype: "application/json",
		body: `{"name":"lg_digits","url":"http://127.0.0.1:1/x.tif","legend":"31337"}`})
	var l tiles.LayerJSON
	json.Unmarshal(b, &l)
	if resp.StatusCode != http.StatusCreated || l.LegendID == nil || *l.LegendID != lg.ID {
		t.Fatalf("%d %s; want 201 with legend %d", resp.StatusCode, b, lg.ID)
	}
}

// TestUploadDefaultName: an upload without a name field is named after the client's file
// (scene.tif: "scene"), not after the stored file, whose random prefix ("40950027e6f9-scene")
// the user never chose; when that name is taken, the stored file's name keeps the upload
// from failing.
func TestUploadDefaultName(t *testing.T) {
	e := setup(t, 0)
	tests := []struct {
		name, filename, field string
		want                  string // the name, or a suffix after the stored file's prefix when it starts with "-"
	}{
		{"the file's name without its extension", "walk scene.v2.tif", "", "walk_scene.v2"},
		{"the same file again: the stored file's name", "walk scene.v2.tif", "", "-walk_scene.v2"},
		{"a name field wins", "other.tif", "chosen_name", "chosen_name"},
		{"no extension", "scene2024", "", "scene2024"},
		// Digits only would be read as a layer id: the stored file's name instead.
		{"digits only", "2024.tif", "", "-2024"},
		{"nothing left of the file's name", "..tif", "", "-."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := uploadJunk(t, e, tc.filename, tc.field)
			if suffix, ok := strings.CutPrefix(tc.want, "-"); ok {
				prefix, rest, found := strings.Cut(l.Name, "-")
				if !found || len(prefix) != 12 || rest != suffix {
					t.Errorf("name %q; want the stored file's name, a random prefix and -%s", l.Name, suffix)
				}
				return
			}
			if l.Name != tc.want {
				t.Errorf("name %q; want %q", l.Name, tc.want)
			}
		})
	}
}

// TestUploadURLField pins the multipart url field's check: without a file it was taken as the
// layer's source unchecked, so a form with url=/etc/passwd (or another layer's upload, or a
// GDAL /vsicurl/ path) had the server parse a local file, which DELETE layers/{ref} then
// removed when it lay in the upload directory. The JSON body's url was always checked.
func TestUploadURLField(t *testing.T) {
	e := setup(t, 0)
	for _, tc := range []struct {
		name, url string
		status    int
	}{
		{"a path", "/etc/passwd", 400},
		{"a relative path", "uploads/x.tif", 400},
		{"a GDAL virtual file", "/vsicurl/http://127.0.0.1:1/x.tif", 400},
		{"a file URL", "file:///etc/passwd", 400},
		{"an http URL", "http://127.0.0.1:1/x.tif", 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			mw.WriteField("name", "url_field_"+strings.ReplaceAll(tc.name, " ", "_"))
			mw.WriteField("url", tc.url)
			mw.Close()
			resp, rb := e.do(t, call{method: "POST", path: "/raster/layers", body: b.String(), ctype: mw.FormDataContentType(), header: auth})
			if resp.StatusCode != tc.status {
				t.Fatalf("url=%s: %d %s; want %d", tc.url, resp.StatusCode, rb, tc.status)
			}
			if tc.status == 400 && !strings.Contains(string(rb), "is not an http(s):// or s3:// URL") {
				t.Errorf("url=%s: body %s; want the url's error", tc.url, rb)
			}
		})
	}
}

// TestDeleteSharedUpload: the file of an upload goes with the last layer that reads it, not
// with the first (a layer made by `tessera ingest` of the file in the upload directory lost
// its raster when the upload's own layer was deleted).
func TestDeleteSharedUpload(t *testing.T) {
	e := setup(t, 0)
	ctx := context.Background()
	uploadJunk(t, e, "shared.tif", "shared_upload")
	first, err := e.st.LayerByName(ctx, "shared_upload")
	if err != nil {
		t.Fatal(err)
	}
	twin := catalog.NewLayer("shared_upload_twin", first.Source)
	if err := e.st.CreateLayer(ctx, &twin); err != nil {
		t.Fatal(err)
	}
	for i, ref := range []string{"shared_upload", "shared_upload_twin"} {
		if resp, rb := e.do(t, call{method: "DELETE", path: "/raster/layers/" + ref, header: auth}); resp.StatusCode != 204 {
			t.Fatalf("delete %s: %d %s", ref, resp.StatusCode, rb)
		}
		_, err := os.Stat(first.Source)
		if last := i == 1; last != errors.Is(err, os.ErrNotExist) {
			t.Errorf("after deleting %s (the last layer of the file: %v): the file %v", ref, last, err)
		}
	}
}

// sessionCookie is the session cookie an answer sets, as a Cookie header's "name=value".
func sessionCookie(t *testing.T, resp *http.Response) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "tessera_session" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// uploadJunk uploads a file named filename that is no raster, with a name field unless name
// is "", and returns the layer of the 201. Its parse fails later: the tests that use it look
// at the layer's name or its stored file.
func uploadJunk(t *testing.T, e *env, filename, name string) tiles.LayerJSON {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if name != "" {
		mw.WriteField("name", name)
	}
	fw, _ := mw.CreateFormFile("file", filename)
	fw.Write([]byte("not a raster"))
	mw.Close()
	resp, rb := e.do(t, call{method: "POST", path: "/raster/layers", body: b.String(), ctype: mw.FormDataContentType(), header: auth})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload %q: %d %s; want 201", filename, resp.StatusCode, rb)
	}
	var l tiles.LayerJSON
	if err := json.Unmarshal(rb, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestReadKeyScope: a read key is refused every write route (403, JSON, no-store, and RFC
// 6750's challenge with insufficient_scope, which the 403 lacked), whether reads are private
// or not, and is let through every read of a server with private reads; the session colormap,
// a client's own (public without private reads), is a read's. A token no key has is
// invalid_token, no token gets the bare challenge.
func TestReadKeyScope(t *testing.T) {
	for _, private := range []bool{false, true} {
		t.Run(fmt.Sprintf("private reads %v", private), func(t *testing.T) {
			e := setupWith(t, 0, func(c *server.Config) { c.PrivateReads = private })
			ctx := context.Background()
			readKey, err := e.st.CreateAPIKey(ctx, "public map", catalog.ScopeRead)
			if err != nil {
				t.Fatal(err)
			}
			h := map[string]string{"Authorization": "Bearer " + readKey}
			id, lg := e.fx.Ramp.ID, e.fx.Legend.ID
			legend := `{"title":"by a read key","entries":[{"name":"one","expression":"1","color":"#ff0000"}]}`
			for _, c := range []call{
				{method: "POST", path: "/raster/layers", body: `{"name":"r","url":"http://127.0.0.1:1/x.tif"}`, ctype: "application/json"},
				{method: "POST", path: fmt.Sprintf("/raster/layers/%d/parse", id)},
				{method: "DELETE", path: fmt.Sprintf("/raster/layers/%d", id)},
				{method: "POST", path: "/raster/legend", body: legend, ctype: "application/json"},
				{method: "PUT", path: fmt.Sprintf("/raster/legend/%d", lg), body: legend, ctype: "application/json"},
				{method: "DELETE", path: fmt.Sprintf("/raster/legend/%d", lg)},
			} {
				c.header = h
				resp, body := e.do(t, c)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"error":"this API key only reads`) ||
					resp.Header.Get("Cache-Control") != "no-store" ||
					resp.Header.Get("WWW-Authenticate") != `Bearer realm="tessera", error="insufficient_scope"` {
					t.Errorf("%s %s with a read key: %d %v %s", c.method, c.path, resp.StatusCode, resp.Header, body)
				}
			}
			if !private {
				return
			}
			for _, path := range []string{
				fmt.Sprintf("/raster/tiles/%d/3/4/3.png", id),
				fmt.Sprintf("/raster/tiles/%d.json", id),
				fmt.Sprintf("/raster/algebra/3/4/3.png?layers=x=%d&formula=x", id),
				fmt.Sprintf("/raster/algebra.json?layers=x=%d&formula=x", id),
				fmt.Sprintf("/raster/layers/%d", id),
				fmt.Sprintf("/raster/layers/%d/status", id),
				fmt.Sprintf("/raster/legend/%d", lg),
				"/raster/legends",
				"/raster/colormaps",
				"/raster/layers",
			} {
				if resp, body := e.do(t, call{path: path, header: h}); resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s with a read key: %d %s", path, resp.StatusCode, body)
				}
			}
			sess := call{method: "POST", path: "/raster/session/colormap", ctype: "application/json", header: h,
				body: `{"key":"mine","colormap":{"continuous":true,"range":[0,1],"from":[0,0,0],"to":[255,255,255]}}`}
			if resp, body := e.do(t, sess); resp.StatusCode != http.StatusOK {
				t.Errorf("session colormap with a read key: %d %s", resp.StatusCode, body)
			}
			for _, tc := range []struct {
				header map[string]string
				want   string
			}{
				{map[string]string{"Authorization": "Bearer " + readKey + "x"}, `Bearer realm="tessera", error="invalid_token"`},
				{nil, `Bearer realm="tessera"`},
			} {
				resp, body := e.do(t, call{path: "/raster/layers", header: tc.header})
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != tc.want || resp.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("%v: %d %v %s, want 401 with %s", tc.header, resp.StatusCode, resp.Header, body, tc.want)
				}
			}
		})
	}
}

// TestNULCharacter pins a bug: a NUL character (%00 in a URL, \u0000 in JSON) in a layer
// reference, a legend title or entry, a session key or colormap reached PostgreSQL, which
// cannot store one in text, and was a 500 (and an error in the log) for each request, reads
// by anyone included. Now a 400 naming it.
func TestNULCharacter(t *testing.T) {
	e := setup(t, 0)
	for _, c := range []call{
		{path: "/raster/tiles/a%00b/3/4/3.png"},
		{path: "/raster/tiles/ramp/3/4/3.png?legend=k%00"},
		{path: "/raster/layers/a%00b"},
		{path: "/raster/algebra/3/4/3.png?layers=x=a%00b&formula=x"},
		{method: "POST", path: "/raster/session/colormap", body: `{"key":"k\u0000","colormap":{"1":"#000"}}`},
		{method: "POST", path: "/raster/legend", body: `{"title":"a\u0000b","entries":[]}`},
		{method: "POST", path: "/raster/legend", body: `{"title":"x0","description":"d\u0000","entries":[]}`},
		{method: "POST", path: "/raster/legend", body: `{"title":"x1","entries":[{"name":"a\u0000","expression":"1","color":"#ff0000"}]}`},
		{method: "POST", path: "/raster/legend", body: `{"title":"x2","entries":[{"name":"a","expression":"1","color":"#ff0000","code":"\u0000"}]}`},
		{method: "POST", path: "/raster/layers", body: `{"name":"n\u0000","url":"http://127.0.0.1:1/x.tif"}`},
	} {
		if c.method != "" {
			c.ctype, c.header = "application/json", auth
		}
		resp, body := e.do(t, c)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "NUL") {
			t.Errorf("%s %s %s: %d %s, want a 400 naming the NUL", c.method, c.path, c.body, resp.StatusCode, body)
		}
	}
}
