package ingest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/gdal"
)

// openSource turns the layer's source into an open GDAL dataset: a local file as it is, an
// http(s) URL downloaded into dir, s3://bucket/key read through GDAL's /vsis3/ and copied
// into dir (so the rest of the parse reads local disk), and for a .zip the first entry GDAL
// can read as a raster (/vsizip/).
func (p *Parser) openSource(ctx context.Context, r *run, dir string) (*gdal.Dataset, error) {
	src := strings.TrimSpace(r.layer.Source)
	switch {
	case src == "":
		return nil, fail(ErrNoSource, "No data source found.", "Provide a rasterfile or a source url.")
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		local, err := p.download(ctx, r, src, dir)
		if err != nil {
			return nil, err
		}
		return openLocal(local, redactURL(src), p.cfg.MaxSourceBytes)
	case strings.HasPrefix(src, "s3://"):
		return p.openS3(ctx, r, src, dir)
	case !SupportedSource(src):
		return nil, fail(ErrNoSource, fmt.Sprintf("Unsupported source %q.", redactURL(src)), "Use a local path, an http(s):// URL or s3://bucket/key.")
	}
	return openLocal(strings.TrimPrefix(src, "file://"), src, p.cfg.MaxSourceBytes)
}

// SupportedSource reports whether a parse can read a layer source of this form: a local
// path (or file://), an http(s):// URL or s3://bucket/key, not another scheme such as
// ftp://. It does not check that the source exists.
func SupportedSource(src string) bool {
	src = strings.TrimSpace(src)
	for _, p := range []string{"http://", "https://", "s3://", "file://"} {
		if strings.HasPrefix(src, p) {
			return true
		}
	}
	return !strings.Contains(src, "://")
}

// openLocal opens a local raster file or the first raster inside a local zip archive.
func openLocal(p, display string, maxBytes int64) (*gdal.Dataset, error) {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fail(ErrSourceMissing, fmt.Sprintf("The file %s does not exist.", display), "Check the path, or upload the file again.")
	case err != nil:
		return nil, fail(ErrSourceMissing, fmt.Sprintf("The file %s cannot be read: %v.", display, err), "Check the path and its permissions.")
	case st.IsDir():
		return nil, fail(ErrNotRaster, fmt.Sprintf("%s is a directory, not a raster file.", display), "Give the path of a raster file.")
	case st.Size() == 0:
		return nil, fail(ErrEmptySource, fmt.Sprintf("The file %s is empty (0 bytes).", display), "Upload or download the raster again.")
	}
	switch magic, readable := fileStart(p); {
	case readable && (isZip(magic) || strings.EqualFold(filepath.Ext(p), ".zip")):
		return openZip(p, display, maxBytes)
	case isGzip(magic):
		return openGzip(p, display, maxBytes)
	}
	d, err := gdal.Open(p)
	if err != nil {
		return nil, fail(ErrNotRaster, fmt.Sprintf("The file %s is not a raster GDAL can read (%s).", display, cause(err)),
			"Check that it is a raster format GDAL supports, such as GeoTIFF.")
	}
	return d, nil
}

// fileStart returns the first 4 bytes of the file at p (fewer when it is shorter), read once
// for isZip and isGzip; readable is false when it cannot be opened.
func fileStart(p string) (magic []byte, readable bool) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var b [4]byte
	n, _ := io.ReadFull(f, b[:])
	return b[:n], true
}

// isZip reports whether a file starting with magic is a zip archive (local file header, or
// the end record of an empty archive).
func isZip(magic []byte) bool {
	return string(magic) == "PK\x03\x04" || string(magic) == "PK\x05\x06"
}

// isGzip reports whether a file starting with magic is gzip-compressed (a raster.tif.gz).
func isGzip(magic []byte) bool { return bytes.HasPrefix(magic, []byte{0x1f, 0x8b}) }

// openGzip opens a gzip-compressed raster (raster.tif.gz) through GDAL's /vsigzip/, which
// inflates it as the parse reads. Its size as the gzip trailer gives it (modulo 4 GiB) must
// stay under maxBytes, as a zip's entries must; the raster's pixel count is checked after, as
// any raster's. (It was "not a raster GDAL can read".)
func openGzip(p, display string, maxBytes int64) (*gdal.Dataset, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fail(ErrSourceMissing, fmt.Sprintf("The file %s cannot be read: %v.", display, err), "Check the path and its permissions.")
	}
	var trailer [4]byte
	st, err := f.Stat()
	if err == nil {
		_, err = f.ReadAt(trailer[:], st.Size()-4)
	}
	f.Close()
	if size := int64(binary.LittleEndian.Uint32(trailer[:])); err == nil && maxBytes > 0 && size > maxBytes {
		return nil, fail(ErrTooLarge, fmt.Sprintf("The gzip file %s unpacks to %d bytes, over the limit of %d bytes (TESSERA_MAX_SOURCE_BYTES).", display, size, maxBytes),
			"Upload the raster itself, or raise TESSERA_MAX_SOURCE_BYTES.")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	d, err := gdal.Open("/vsigzip/" + abs)
	if err != nil {
		return nil, fail(ErrNotRaster, fmt.Sprintf("The gzip file %s does not hold a raster GDAL can read (%s).", display, cause(err)),
			"Compress a single raster file (such as a GeoTIFF) with gzip, or upload the raster itself.")
	}
	return d, nil
}

// openZip opens the first entry of the archive (in archive order) that GDAL reads as a
// raster, as django-raster does. The entries' uncompressed sizes together must stay under
// maxBytes, so an archive bomb is refused before GDAL inflates anything.
func openZip(p, display string, maxBytes int64) (*gdal.Dataset, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, fail(ErrNotRaster, fmt.Sprintf("The file %s is not a valid zip archive (%v).", display, err), "Upload the archive again, or the raster itself.")
	}
	defer zr.Close()
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
	}
	if maxBytes > 0 && total > uint64(maxBytes) {
		return nil, fail(ErrTooLarge, fmt.Sprintf("The zip archive %s unpacks to %d bytes, over the limit of %d bytes (TESSERA_MAX_SOURCE_BYTES).", display, total, maxBytes),
			"Upload the raster itself, or raise TESSERA_MAX_SOURCE_BYTES.")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || f.UncompressedSize64 == 0 {
			continue
		}
		switch strings.ToLower(path.Ext(f.Name)) {
		case ".aux", ".xml", ".prj", ".tfw", ".wld", ".ovr", ".txt", ".md", ".json", ".pdf", ".html":
			continue // sidecars GDAL reads beside the raster, never rasters themselves
		}
		if d, err := gdal.Open("/vsizip/" + abs + "/" + f.Name); err == nil {
			return d, nil
		}
	}
	return nil, fail(ErrNoRasterInZip, fmt.Sprintf("The zip archive %s contains no raster GDAL can read.", display),
		"Put a raster file (such as a GeoTIFF) in the archive, or upload the raster itself.")
}

// cause is the underlying GDAL message of a gdal error, for log lines.
func cause(err error) string {
	s := err.Error()
	// S3 answers with an XML error document, which GDAL passes on whole.
	if i := strings.Index(s, "<Code>"); i >= 0 {
		code, _, _ := strings.Cut(s[i+len("<Code>"):], "<")
		msg := ""
		if j := strings.Index(s, "<Message>"); j >= 0 {
			msg, _, _ = strings.Cut(s[j+len("<Message>"):], "<")
		}
		return strings.TrimSuffix(strings.TrimSpace(code+": "+msg), ":")
	}
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		s = s[i+2:]
	}
	return strings.TrimSuffix(strings.TrimSpace(s), ".")
}

// redactURL drops the user info and the query (presigned URLs carry credentials there) of
// a URL shown in logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

// download fetches an http(s) URL into dir, refusing more than MaxSourceBytes.
func (p *Parser) download(ctx context.Context, r *run, src, dir string) (string, error) {
	shown := redactURL(src)
	r.status(ctx, catalog.DownloadingFile, "Downloading file from "+shown+".")
	ctx, cancel := context.WithTimeout(ctx, p.cfg.HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return "", fail(ErrDownload, fmt.Sprintf("The URL %s is not valid (%v).", shown, err), "Check the URL.")
	}
	resp, err := p.http.Do(req)
	if err != nil {
		var ne net.Error
		problem := fmt.Sprintf("Could not download %s: %v.", shown, unwrapURLError(err))
		if errors.As(err, &ne) && ne.Timeout() {
			problem = fmt.Sprintf("Downloading %s timed out after %s.", shown, p.cfg.HTTPTimeout)
		}
		return "", fail(ErrDownload, problem, "Check the URL and that the server is reachable from this machine.")
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", fail(ErrDownload, fmt.Sprintf("The server answered %s for %s.", resp.Status, shown), "Check the URL and that the file is public.")
	}
	max := p.cfg.MaxSourceBytes
	if resp.ContentLength > max {
		return "", fail(ErrTooLarge, fmt.Sprintf("The file at %s has %d bytes, over the limit of %d bytes (TESSERA_MAX_SOURCE_BYTES).", shown, resp.ContentLength, max),
			"Raise TESSERA_MAX_SOURCE_BYTES or ingest a smaller raster.")
	}
	name := path.Base(req.URL.Path)
	if name == "." || name == "/" || name == "" || strings.ContainsAny(name, `\:`) {
		name = "download"
	}
	local := filepath.Join(dir, "download-"+name)
	f, err := os.Create(local)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, max+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fail(ErrDownload, fmt.Sprintf("Downloading %s failed after %d bytes: %v.", shown, n, err), "Try again; check the server.")
	}
	if n > max {
		return "", fail(ErrTooLarge, fmt.Sprintf("The file at %s is over the limit of %d bytes (TESSERA_MAX_SOURCE_BYTES).", shown, max),
			"Raise TESSERA_MAX_SOURCE_BYTES or ingest a smaller raster.")
	}
	r.digest = hex.EncodeToString(h.Sum(nil))
	r.log(ctx, fmt.Sprintf("Downloaded %d bytes.", n))
	return local, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// s3Config is the GDAL configuration for /vsis3/ from Tessera's settings: the endpoint of
// RASTER_S3_ENDPOINT_URL in path style, the keys (or unsigned requests without keys, so GDAL
// never probes EC2 metadata), the region and requester-pays. Caching of remote file
// properties is off, so a failed attempt does not stick.
func (p *Parser) s3Config() []string {
	c := p.cfg
	cfg := []string{"GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR", "CPL_VSIL_CURL_NON_CACHED=/vsis3/", "GDAL_HTTP_TIMEOUT=60", "GDAL_HTTP_MAX_RETRY=2"}
	if c.S3Endpoint != "" {
		if u, err := url.Parse(c.S3Endpoint); err == nil {
			cfg = append(cfg, "AWS_S3_ENDPOINT="+u.Host+strings.TrimSuffix(u.Path, "/"), "AWS_VIRTUAL_HOSTING=FALSE")
			if u.Scheme == "http" {
				cfg = append(cfg, "AWS_HTTPS=NO")
			} else {
				cfg = append(cfg, "AWS_HTTPS=YES")
			}
		}
	}
	if c.S3AccessKey != "" {
		cfg = append(cfg, "AWS_NO_SIGN_REQUEST=NO", "AWS_ACCESS_KEY_ID="+c.S3AccessKey, "AWS_SECRET_ACCESS_KEY="+c.S3SecretKey)
		if c.S3SessionToken != "" {
			cfg = append(cfg, "AWS_SESSION_TOKEN="+c.S3SessionToken)
		}
	} else {
		cfg = append(cfg, "AWS_NO_SIGN_REQUEST=YES")
	}
	if c.S3Region != "" {
		cfg = append(cfg, "AWS_REGION="+c.S3Region)
	}
	if c.S3RequesterPay {
		cfg = append(cfg, "AWS_REQUEST_PAYER=requester")
	}
	return cfg
}

// openS3 reads s3://bucket/key through GDAL and copies it into dir as a GeoTIFF. A key
// ending in .zip is read through /vsizip/ (GDAL opens an archive holding one file directly;
// name the entry as s3://bucket/archive.zip/entry.tif otherwise).
func (p *Parser) openS3(ctx context.Context, r *run, src, dir string) (*gdal.Dataset, error) {
	rest := strings.TrimPrefix(src, "s3://")
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" || key == "" {
		return nil, fail(ErrS3, fmt.Sprintf("The S3 source %q has no bucket or key.", src), "Use s3://bucket/key.")
	}
	r.status(ctx, catalog.DownloadingFile, "Downloading file from "+src+".")
	vsi := "/vsis3/" + bucket + "/" + key
	if lk := strings.ToLower(key); strings.HasSuffix(lk, ".zip") || strings.Contains(lk, ".zip/") {
		vsi = "/vsizip/" + vsi
	}
	d, err := gdal.Open(vsi, p.s3Config()...)
	if err != nil {
		hint := "Check the bucket and key and the endpoint (RASTER_S3_ENDPOINT_URL)."
		if p.cfg.S3AccessKey == "" {
			hint += " For a private bucket set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
		} else {
			hint += " Check that AWS_ACCESS_KEY_ID may read it."
		}
		return nil, fail(ErrS3, fmt.Sprintf("Could not read %s (%s).", src, cause(err)), hint)
	}
	defer d.Close()
	if err := p.checkPixels(d, src); err != nil {
		return nil, err
	}
	// GDAL reads the object lazily, so the byte limit bounds what the copy below writes: the
	// raster's uncompressed size.
	if in, err := d.Info(); err == nil {
		var size int64
		for _, b := range in.Bands {
			size += int64(in.Width) * int64(in.Height) * int64(b.Type.Size())
		}
		if size > p.cfg.MaxSourceBytes {
			return nil, fail(ErrTooLarge, fmt.Sprintf("The raster at %s holds %d bytes uncompressed, over the limit of %d bytes (TESSERA_MAX_SOURCE_BYTES).", src, size, p.cfg.MaxSourceBytes),
				"Raise TESSERA_MAX_SOURCE_BYTES or ingest a smaller raster.")
		}
	}
	local := filepath.Join(dir, "s3-source.tif")
	if err := gdal.CopyToGeoTIFF(d, local); err != nil {
		return nil, fail(ErrS3, fmt.Sprintf("Reading %s failed (%s).", src, cause(err)), "Try again; check the endpoint and credentials.")
	}
	if r.digest, err = fileDigest(local); err != nil {
		return nil, err
	}
	r.log(ctx, "Downloaded "+src+".")
	return gdal.Open(local)
}

// checkPixels refuses a raster over the pixel limit.
func (p *Parser) checkPixels(d *gdal.Dataset, display string) error {
	in, err := d.Info()
	if err != nil {
		return fail(ErrUnsupported, fmt.Sprintf("The raster %s cannot be used: %v.", display, err), "Convert it to a supported data type (integer or float bands).")
	}
	if px := int64(in.Width) * int64(in.Height); px > p.cfg.MaxPixels {
		return fail(ErrTooLarge, fmt.Sprintf("The raster is %d×%d = %d pixels, over the limit of %d pixels (TESSERA_MAX_SOURCE_PIXELS).", in.Width, in.Height, px, p.cfg.MaxPixels),
			"Raise TESSERA_MAX_SOURCE_PIXELS or split the raster.")
	}
	return nil
}

// fileDigest is the hex SHA-256 of the file at path.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
