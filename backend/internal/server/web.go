package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/web"
)

// webPrefixMeta is the tag of web/index.html that tells the app where the raster routes
// live; the server rewrites it when --prefix is not the default.
const webPrefixMeta = `<meta name="tessera-prefix" content="/raster/">`

// webFile is one file of the embedded browser app, ready to serve.
type webFile struct {
	body  []byte
	ctype string
	etag  string

	gzOnce sync.Once
	gz     []byte // nil when compressing does not pay
}

// gzipped returns the file gzip-compressed, computed once, or nil when that is not smaller.
func (f *webFile) gzipped() []byte {
	f.gzOnce.Do(func() {
		if len(f.body) < 1024 || strings.HasPrefix(f.ctype, "image/") {
			return
		}
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		_, _ = w.Write(f.body)
		_ = w.Close()
		if b.Len() < len(f.body)*9/10 {
			f.gz = b.Bytes()
		}
	})
	return f.gz
}

// webRoutes serves the browser map (package web) at "/" and its files by name: only the
// files the binary embeds get routes, so other paths keep the router's JSON 404 and 405.
// The page is public even with PrivateReads: it holds no data, and its API calls are
// authorised as any other client's.
func (s *Server) webRoutes(e *echo.Echo) {
	if !web.Built() {
		e.GET("/", func(c echo.Context) error {
			return errorJSON(c, http.StatusNotFound, "the web map is not built into this binary: run `make web` (or `make build`) and rebuild")
		})
		return
	}
	names, err := web.Files()
	if err != nil {
		s.log.Error("server: cannot list the web app's files", "err", err)
		return
	}
	for _, name := range names {
		body, err := fs.ReadFile(web.Dist(), name)
		if err != nil {
			s.log.Error("server: cannot read a web app file", "file", name, "err", err)
			continue
		}
		if name == web.Index && s.cfg.Prefix != "/raster/" {
			body = bytes.Replace(body, []byte(webPrefixMeta),
				[]byte(strings.Replace(webPrefixMeta, "/raster/", s.cfg.Prefix, 1)), 1)
		}
		ctype := webContentType(name, body)
		sum := sha256.Sum256(body)
		f := &webFile{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		h := func(c echo.Context) error { return serveWebFile(c, f) }
		e.GET("/"+name, h)
		e.HEAD("/"+name, h)
		if name == web.Index {
			e.GET("/", h)
			e.HEAD("/", h)
		}
	}
}

// webContentType is the Content-Type of an embedded file. The kit's TypeScript declarations
// and source map are named here: the system's mime.types takes .ts for something else (a Qt
// Linguist file, text/vnd.trolltech.linguist, on Debian; elsewhere an MPEG transport stream,
// video/mp2t), and .map has no type in Go's table (sniffing gave text/plain).
func webContentType(name string, body []byte) string {
	switch {
	case strings.HasSuffix(name, ".d.ts"):
		return "application/typescript; charset=utf-8"
	case strings.HasSuffix(name, ".js.map"):
		return "application/json; charset=utf-8"
	}
	if ctype := mime.TypeByExtension(path.Ext(name)); ctype != "" {
		return ctype
	}
	return http.DetectContentType(body)
}

// serveWebFile answers one embedded file, revalidated by its ETag on every load (no-cache)
// so a rebuilt binary is picked up at once, gzip-compressed when the client accepts it. The
// gzip answer has an ETag of its own, as a tile's does (tiles.GzipETag, RFC 9110 §8.8.3): with one strong tag
// for both, a cache holding the gzip bytes could revalidate them for a client without gzip.
func serveWebFile(c echo.Context, f *webFile) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	body, etag, gz := f.body, f.etag, false
	if acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		if b := f.gzipped(); b != nil {
			body, etag, gz = b, tiles.GzipETag(f.etag), true
		}
	}
	h.Set("ETag", etag)
	if tiles.MatchesETag(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	if c.Request().Method == http.MethodHead {
		h.Set("Content-Type", f.ctype)
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, f.ctype, body)
}
