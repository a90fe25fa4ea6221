package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/tiles"
	"github.com/tessera-gis/tessera/shared/colormap"
)

// MaxJSONBody bounds the JSON body of a write (legends, layer registration, colormaps).
const MaxJSONBody = 1 << 20

// decodeJSON reads a bounded JSON body into v, refusing unknown fields.
func decodeJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, MaxJSONBody+1))
	if err != nil {
		return &tiles.ParamError{Msg: "cannot read the request body: " + err.Error()}
	}
	if len(body) > MaxJSONBody {
		return &tiles.ParamError{Msg: fmt.Sprintf("the JSON body is over %d bytes", MaxJSONBody)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &tiles.ParamError{Msg: "malformed JSON body: " + err.Error()}
	}
	return nil
}

func (s *Server) fail(c echo.Context, err error) error {
	r := tiles.ErrorResponse(err)
	if r.Status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "server: "+c.Path(), "err", err)
	}
	return write(c, r)
}

// layerRef resolves the :id of DELETE layers/{ref} and of layers/{ref}/status, /events and
// /parse as layers/{ref} and tiles/{layer} do (Store.Layer): an id, else a name, else a
// fragment of the source's file name. (Only ids were taken, and a name got `layer "terrain"
// not found` for a layer that exists; a name made of digits, as an upload of 2024.tif gets,
// was read only as an id.)
func (s *Server) layerRef(c echo.Context) (catalog.Layer, error) {
	ref := c.Param("id")
	if len(ref) > catalog.MaxRefLen { // as Store.Layer, without quoting the reference
		return catalog.Layer{}, tiles.NotFound("layer not found (a reference of %d bytes)", len(ref))
	}
	l, err := s.store.Layer(c.Request().Context(), ref)
	if errors.Is(err, catalog.ErrNotFound) {
		return l, tiles.NotFound("layer %q not found", ref)
	}
	return l, err
}

func pathID(c echo.Context, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, tiles.NotFound("%s %q not found", what, c.Param("id"))
	}
	return id, nil
}

// legendBody is a legend as POST/PUT legend take it.
type legendBody struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Entries     []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Expression  string `json:"expression"`
		Color       string `json:"color"`
		Code        string `json:"code"`
	} `json:"entries"`
}

func (b legendBody) legend() (colormap.Legend, error) {
	lg := colormap.Legend{Title: strings.TrimSpace(b.Title), Description: b.Description}
	if lg.Title == "" {
		return lg, &tiles.ParamError{Param: "title", Msg: "missing: a legend needs a title"}
	}
	for _, e := range b.Entries {
		lg.Entries = append(lg.Entries, colormap.LegendEntry{Name: e.Name, Description: e.Description, Expression: e.Expression, Color: e.Color, Code: e.Code})
	}
	return lg, lg.Validate()
}

// legendJSON is a legend as the legend list and the writes answer it: django-raster's
// entries with the legend's id and title.
func legendJSON(lg colormap.Legend) (map[string]any, error) {
	entries, err := lg.JSON()
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": lg.ID, "title": lg.Title, "description": lg.Description, "entries": json.RawMessage(entries)}, nil
}

func (s *Server) legends(c echo.Context) error {
	ls, err := s.store.Legends(c.Request().Context())
	if err != nil {
		return s.fail(c, err)
	}
	out := make([]map[string]any, 0, len(ls))
	for _, lg := range ls {
		j, err := legendJSON(lg)
		if err != nil {
			return s.fail(c, err)
		}
		out = append(out, j)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) createLegend(c echo.Context) error {
	var b legendBody
	if err := decodeJSON(c, &b); err != nil {
		return s.fail(c, err)
	}
	lg, err := b.legend()
	if err != nil {
		return s.fail(c, err)
	}
	if err := s.store.CreateLegend(c.Request().Context(), &lg); err != nil {
		return s.fail(c, conflict(err, "legend", "title", lg.Title))
	}
	j, err := legendJSON(lg)
	if err != nil {
		return s.fail(c, err)
	}
	c.Response().Header().Set("Location", s.cfg.Prefix+"legend/"+strconv.FormatInt(lg.ID, 10))
	return c.JSON(http.StatusCreated, j)
}

// conflict turns a unique-name clash into a 400 naming it and the field that carries the
// name (a layer's "name", a legend's "title").
func conflict(err error, what, field, name string) error {
	if errors.Is(err, catalog.ErrConflict) {
		return &tiles.ParamError{Param: field, Msg: fmt.Sprintf("a %s named %q exists already", what, name)}
	}
	return err
}

func (s *Server) updateLegend(c echo.Context) error {
	id, err := pathID(c, "legend")
	if err != nil {
		return s.fail(c, err)
	}
	var b legendBody
	if err := decodeJSON(c, &b); err != nil {
		return s.fail(c, err)
	}
	lg, err := b.legend()
	if err != nil {
		return s.fail(c, err)
	}
	lg.ID = id
	if err := s.store.UpdateLegend(c.Request().Context(), &lg); err != nil {
		return s.fail(c, conflict(err, "legend", "title", lg.Title))
	}
	j, err := legendJSON(lg)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, j)
}

// deleteLayer deletes a layer with its tiles, metadata, band statistics and parse log
// (DELETE layers/{ref}, by id, name or file-name fragment as the other layer routes), and
// the raster file an upload stored for it unless another layer reads it (RemoveUpload), and
// the reprojection its parses kept in WorkDir (ingest.RemoveKept); a file named by a path or
// URL is not the server's and stays. A parse of the layer running at that moment fails. Readers see the
// layer gone within the layer cache's second. django-raster deletes layers in its admin.
func (s *Server) deleteLayer(c echo.Context) error {
	l, err := s.layerRef(c)
	if err != nil {
		return s.fail(c, err)
	}
	ctx := c.Request().Context()
	if err := s.store.DeleteLayer(ctx, l.ID); err != nil {
		return s.fail(c, err)
	}
	if _, err := RemoveUpload(ctx, s.store, s.cfg.UploadDir, l); err != nil {
		s.log.WarnContext(ctx, "server: delete layer: its uploaded file stays", "layer", l.Name, "file", l.Source, "err", err)
	}
	if s.cfg.WorkDir != "" { // as tessera delete: the layer's kept reprojection goes with it
		if _, err := ingest.RemoveKept(s.cfg.WorkDir, l); err != nil {
			s.log.WarnContext(ctx, "server: delete layer: its reprojected copy stays", "layer", l.Name, "file", l.ReprojectedPath, "err", err)
		}
	}
	return c.NoContent(http.StatusNoContent)
}

// uploaded reports whether path is a file the server stored in UploadDir.
func (s *Server) uploaded(path string) bool { return IsUpload(s.cfg.UploadDir, path) }

// RemoveUpload removes the file of deleted layer l when it is an upload (IsUpload) that no
// other layer of st reads (`tessera ingest` of a file in the upload directory makes a second
// layer of it, which lost its raster when the first was deleted), and reports whether it did.
func RemoveUpload(ctx context.Context, st interface {
	Layers(context.Context) ([]catalog.Layer, error)
}, dir string, l catalog.Layer) (bool, error) {
	if !IsUpload(dir, l.Source) {
		return false, nil
	}
	ls, err := st.Layers(ctx)
	if err != nil {
		return false, fmt.Errorf("server: layers reading %s: %w", l.Source, err)
	}
	fi, ferr := os.Stat(l.Source)
	for _, o := range ls {
		if o.ID == l.ID || !IsUpload(dir, o.Source) {
			continue
		}
		if filepath.Clean(o.Source) == filepath.Clean(l.Source) {
			return false, nil
		}
		if ferr == nil {
			if oi, err := os.Stat(o.Source); err == nil && os.SameFile(fi, oi) {
				return false, nil
			}
		}
	}
	if err := os.Remove(l.Source); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// UploadDir is where uploads are stored under an ingest work directory (RASTER_WORKDIR).
func UploadDir(workDir string) string { return filepath.Join(workDir, "uploads") }

// IsUpload reports whether path is a file inside dir, an upload directory: the file of an
// upload, which deleting its layer removes (over HTTP and with `tessera delete`). A file named
// by a path or URL is not the server's and stays.
func IsUpload(dir, path string) bool {
	if dir == "" || path == "" {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel)
}

func (s *Server) deleteLegend(c echo.Context) error {
	id, err := pathID(c, "legend")
	if err != nil {
		return s.fail(c, err)
	}
	if err := s.store.DeleteLegend(c.Request().Context(), id); err != nil {
		return s.fail(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

var sessionRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func validSession(s string) bool { return sessionRE.MatchString(s) }

// setSessionColormap saves a colormap in the client's session (creating the session cookie
// when there is none), for tile requests with legend=KEY&store=session.
func (s *Server) setSessionColormap(c echo.Context) error {
	var b struct {
		Key      string          `json:"key"`
		Colormap json.RawMessage `json:"colormap"`
	}
	if err := decodeJSON(c, &b); err != nil {
		return s.fail(c, err)
	}
	if b.Key = strings.TrimSpace(b.Key); b.Key == "" || len(b.Key) > 256 {
		return s.fail(c, &tiles.ParamError{Param: "key", Msg: "missing or longer than 256 bytes"})
	}
	if _, err := colormap.Parse(b.Colormap); err != nil {
		return s.fail(c, err)
	}
	session := s.client(c).Session
	if session == "" {
		var rnd [16]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return s.fail(c, err)
		}
		session = hex.EncodeToString(rnd[:])
		c.SetCookie(&http.Cookie{Name: sessionCookie, Value: session, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
			MaxAge: 30 * 24 * 3600})
	}
	if err := s.store.SetSessionColormap(c.Request().Context(), session, b.Key, b.Colormap); err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"key": b.Key, "use": "legend=" + url.QueryEscape(b.Key) + "&store=session"})
}

// layerBody is a layer registration (POST layers with a JSON body), and the form fields of
// an upload.
type layerBody struct {
	Name             string    `json:"name"`
	Description      string    `json:"description"`
	URL              string    `json:"url"`
	Datatype         string    `json:"datatype"`
	NoData           *float64  `json:"nodata"`
	SRID             *int      `json:"srid"`
	MaxZoom          *int      `json:"max_zoom"`
	NextHigher       *bool     `json:"next_higher"`
	BuildPyramid     *bool     `json:"build_pyramid"`
	StoreReprojected *bool     `json:"store_reprojected"`
	Legend           legendRef `json:"legend"`
}

// legendRef is a layer's legend field: an id (a JSON number or a string of digits) or a
// title (case-insensitive), as `tessera ingest --legend` takes it. (Only a JSON number was
// taken: a title gave "cannot unmarshal string into Go struct field", and an unknown id a
// database error text.)
type legendRef string

// UnmarshalJSON reads a number or a string.
func (r *legendRef) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*r = legendRef(n.String())
		return nil
	}
	var t string
	if err := json.Unmarshal(b, &t); err != nil {
		return &tiles.ParamError{Param: "legend", Msg: "give a legend id or title"}
	}
	*r = legendRef(t)
	return nil
}

// legendID resolves a layer's legend field; nil when it is empty.
func (s *Server) legendID(ctx context.Context, ref legendRef) (*int64, error) {
	r := strings.TrimSpace(string(ref))
	if r == "" {
		return nil, nil
	}
	lg, err := s.store.LegendByRef(ctx, r)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, tiles.NotFound("legend %q not found (give a legend id or title)", r)
	}
	if err != nil {
		return nil, err
	}
	return &lg.ID, nil
}

// checkURL refuses a layer's url field unless it is an http(s):// or s3:// URL with a host
// ("" passes: no URL).
func checkURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "s3") || u.Host == "" {
		return &tiles.ParamError{Param: "url", Msg: fmt.Sprintf("%q is not an http(s):// or s3:// URL", raw)}
	}
	return nil
}

// errNoSource is django-raster's message for a layer with neither a file nor a URL.
var errNoSource = &tiles.ParamError{Msg: "No data source found. Provide a rasterfile or a source url."}

func (b layerBody) layer(source string, maxZoom int) (catalog.Layer, error) {
	if source == "" {
		return catalog.Layer{}, errNoSource
	}
	name := strings.TrimSpace(b.Name)
	if name == "" {
		name = catalog.DefaultName(source) // checked by createLayer, once an upload's is known
	} else if err := catalog.CheckName(name); err != nil {
		return catalog.Layer{}, &tiles.ParamError{Param: "name", Msg: err.Error()}
	}
	l := catalog.NewLayer(name, source)
	l.Description = b.Description
	dt, err := catalog.ParseDatatype(b.Datatype)
	if err != nil {
		return l, &tiles.ParamError{Param: "datatype", Msg: err.Error()}
	}
	l.Datatype, l.NoData, l.SRID, l.MaxZoom = dt, b.NoData, b.SRID, b.MaxZoom
	if b.MaxZoom != nil && (*b.MaxZoom < 0 || *b.MaxZoom > maxZoom) {
		return l, &tiles.ParamError{Param: "max_zoom", Msg: fmt.Sprintf("must be from 0 to %d (TESSERA_MAX_INGEST_ZOOM)", maxZoom)}
	}
	if b.SRID != nil && *b.SRID <= 0 {
		return l, &tiles.ParamError{Param: "srid", Msg: "must be a positive EPSG code"}
	}
	if b.SRID != nil && !gdal.KnownEPSG(*b.SRID) {
		return l, &tiles.ParamError{Param: "srid", Msg: fmt.Sprintf("EPSG:%d is not a coordinate system GDAL knows; give the raster's EPSG code", *b.SRID)}
	}
	for _, f := range []struct {
		v   *bool
		dst *bool
	}{{b.NextHigher, &l.NextHigher}, {b.BuildPyramid, &l.BuildPyramid}, {b.StoreReprojected, &l.StoreReprojected}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	return l, nil
}

func (s *Server) createLayer(c echo.Context) error {
	if s.parse == nil {
		return errorJSON(c, http.StatusServiceUnavailable, "this server cannot parse rasters (started without a parser)")
	}
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	var (
		l   catalog.Layer
		err error
	)
	// fallback is the name a layer whose name came from its upload's file name takes when
	// that name is in use: the stored file's, unique by its random prefix.
	fallback := ""
	switch mt {
	case "multipart/form-data":
		l, fallback, err = s.upload(c)
	case "application/json", "":
		var b layerBody
		if err = decodeJSON(c, &b); err == nil {
			if err := checkURL(b.URL); err != nil {
				return s.fail(c, err)
			}
			if l, err = b.layer(b.URL, *s.cfg.MaxZoom); err == nil {
				l.LegendID, err = s.legendID(c.Request().Context(), b.Legend)
			}
		}
	default:
		err = &tiles.ParamError{Msg: fmt.Sprintf("Content-Type %q: send multipart/form-data with a file, or JSON with a url", mt)}
	}
	if err != nil {
		return s.fail(c, err)
	}
	if nerr := catalog.CheckName(l.Name); nerr != nil {
		// A name field was checked with the other fields; this name was taken from the
		// source's file name, which may leave nothing (".tif") or too much. It was a 500 from
		// the store.
		err = &tiles.ParamError{Param: "name", Msg: nerr.Error() + " (it was taken from the source's file name): send a name"}
	} else if err = s.store.CreateLayer(c.Request().Context(), &l); errors.Is(err, catalog.ErrConflict) && fallback != "" {
		l.Name = fallback
		err = s.store.CreateLayer(c.Request().Context(), &l)
	}
	if err != nil {
		if s.uploaded(l.Source) {
			os.Remove(l.Source)
		}
		return s.fail(c, conflict(err, "layer", "name", l.Name))
	}
	s.startParse(l.ID)
	c.Response().Header().Set("Location", s.cfg.Prefix+"layers/"+strconv.FormatInt(l.ID, 10))
	return c.JSON(http.StatusCreated, tiles.NewLayerJSON(l))
}

// upload streams the multipart body's "file" part to UploadDir, bounded by MaxUpload, and
// reads the other parts as the layer's fields. Without a name field the layer is named after
// the file the client sent, without its extension (scene.tif: "scene"); fallback is then the
// stored file's name, for when that name is taken. (The stored file's name was always used:
// "40950027e6f9-scene", a random prefix the user never chose.)
func (s *Server) upload(c echo.Context) (l catalog.Layer, fallback string, err error) {
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return catalog.Layer{}, "", &tiles.ParamError{Msg: "malformed multipart body: " + err.Error()}
	}
	fields := map[string]string{}
	path, clientName := "", ""
	fail := func(err error) (catalog.Layer, string, error) {
		if path != "" {
			os.Remove(path)
		}
		return catalog.Layer{}, "", err
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(&tiles.ParamError{Msg: "malformed multipart body: " + err.Error()})
		}
		name := part.FormName()
		if name == "file" || name == "rasterfile" {
			if path != "" {
				return fail(&tiles.ParamError{Param: name, Msg: "one file per upload"})
			}
			if path, err = s.saveUpload(part); err != nil {
				return fail(err)
			}
			clientName = uploadName(part.FileName())
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, 4097))
		if err != nil || len(v) > 4096 {
			return fail(&tiles.ParamError{Param: name, Msg: "a form field has at most 4096 bytes"})
		}
		if len(fields) > 32 {
			return fail(&tiles.ParamError{Msg: "too many form fields"})
		}
		fields[name] = string(v)
	}
	var b layerBody
	b.Name, b.Description, b.Datatype = fields["name"], fields["description"], fields["datatype"]
	num := func(key string) (*float64, error) {
		v, ok := fields[key]
		if !ok || v == "" {
			return nil, nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, &tiles.ParamError{Param: key, Msg: fmt.Sprintf("%q is not a number", v)}
		}
		return &f, nil
	}
	if b.NoData, err = num("nodata"); err != nil {
		return fail(err)
	}
	for _, k := range []struct {
		key string
		dst **int
	}{{"srid", &b.SRID}, {"max_zoom", &b.MaxZoom}} {
		f, err := num(k.key)
		if err != nil {
			return fail(err)
		}
		if f != nil {
			n := int(*f)
			*k.dst = &n
		}
	}
	for _, k := range []struct {
		key string
		dst **bool
	}{{"next_higher", &b.NextHigher}, {"build_pyramid", &b.BuildPyramid}, {"store_reprojected", &b.StoreReprojected}} {
		if v, ok := fields[k.key]; ok {
			bv, err := strconv.ParseBool(v)
			if err != nil {
				return fail(&tiles.ParamError{Param: k.key, Msg: fmt.Sprintf("%q is not true or false", v)})
			}
			*k.dst = &bv
		}
	}
	b.Legend = legendRef(fields["legend"])
	src := path
	if src == "" {
		// Checked as the JSON body's: a path ("/etc/passwd", another layer's upload) or a
		// GDAL virtual file (/vsicurl/…) is no URL the server may read for a client.
		if err := checkURL(fields["url"]); err != nil {
			return fail(err)
		}
		src = fields["url"]
	}
	if l, err = b.layer(src, *s.cfg.MaxZoom); err != nil {
		return fail(err)
	}
	if l.LegendID, err = s.legendID(c.Request().Context(), b.Legend); err != nil {
		return fail(err)
	}
	if strings.TrimSpace(b.Name) == "" && path != "" && clientName != "" {
		fallback, l.Name = l.Name, clientName
	}
	return l, fallback, nil
}

// uploadName is a layer name from an upload's file name, as tessera ingest names a layer
// (catalog.DefaultName: scene.tif.zip → "scene"), with the characters saveUpload replaces
// replaced the same way; "" when nothing is left.
func uploadName(fn string) string {
	fn = catalog.DefaultName(unsafeName.ReplaceAllString(filepath.Base(strings.ReplaceAll(fn, "\\", "/")), "_"))
	// A name of digits only would be read as a layer id wherever a layer is referenced
	// (2024.tif: "2024", unreachable by name once layer 2024 exists): the stored name instead.
	if strings.Trim(fn, "._") == "" || strings.Trim(fn, "0123456789") == "" {
		return ""
	}
	return fn
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (s *Server) saveUpload(part io.Reader) (string, error) {
	fn := "upload"
	if p, ok := part.(interface{ FileName() string }); ok && p.FileName() != "" {
		fn = unsafeName.ReplaceAllString(filepath.Base(p.FileName()), "_")
	}
	if err := os.MkdirAll(s.cfg.UploadDir, 0o755); err != nil {
		return "", err
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	path := filepath.Join(s.cfg.UploadDir, hex.EncodeToString(rnd[:])+"-"+fn)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(part, s.cfg.MaxUpload+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("server: save upload: %w", err)
	}
	if n > s.cfg.MaxUpload {
		os.Remove(path)
		return "", &tooLarge{max: s.cfg.MaxUpload}
	}
	if n == 0 {
		os.Remove(path)
		return "", &tiles.ParamError{Param: "file", Msg: "the uploaded file is empty"}
	}
	return path, nil
}

type tooLarge struct{ max int64 }

func (e *tooLarge) Error() string {
	return fmt.Sprintf("the upload is larger than %d bytes (TESSERA_MAX_UPLOAD)", e.max)
}
func (e *tooLarge) Is(target error) bool { return target == tiles.ErrInvalid }

// startParse parses a layer in the background; the parse reports into the layer's status
// and log, which layers/{id}/status and layers/{id}/events show.
func (s *Server) startParse(id int64) {
	s.parses.Add(1)
	s.metrics.ParsesRunning.Inc()
	go func() {
		defer s.parses.Done()
		defer s.metrics.ParsesRunning.Dec()
		err := s.parse(s.parseCtx, id)
		if err != nil {
			s.metrics.Parses.WithLabelValues("failed").Inc()
			s.log.Warn("server: parse failed", "layer", id, "err", err)
			return
		}
		s.metrics.Parses.WithLabelValues("finished").Inc()
		s.log.Info("server: parse finished", "layer", id)
	}()
}

func (s *Server) reparse(c echo.Context) error {
	if s.parse == nil {
		return errorJSON(c, http.StatusServiceUnavailable, "this server cannot parse rasters (started without a parser)")
	}
	l, err := s.layerRef(c)
	if err != nil {
		return s.fail(c, err)
	}
	s.startParse(l.ID)
	return c.JSON(http.StatusAccepted, map[string]string{"status": s.cfg.Prefix + "layers/" + strconv.FormatInt(l.ID, 10) + "/status"})
}

func (s *Server) status(c echo.Context) error {
	l, err := s.layerRef(c)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, tiles.ParseJSON(l.Parse))
}

// events streams a layer's parse status as Server-Sent Events: an event "status" with the
// status JSON whenever it changes, until the parse is FINISHED or FAILED, the client leaves
// or EventsMaxDuration passes; a comment line every 15 s keeps proxies from closing it.
func (s *Server) events(c echo.Context) error {
	l, err := s.layerRef(c)
	if err != nil {
		return s.fail(c, err)
	}
	id, ctx := l.ID, c.Request().Context()
	w := c.Response()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.EventsMaxDuration)
	defer cancel()
	tick := time.NewTicker(s.cfg.EventsPoll)
	defer tick.Stop()
	var last []byte
	lastWrite := time.Now()
	for {
		l, err := s.store.LayerByID(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(w, "event: error\ndata: %s\n\n", mustJSON(tiles.ErrorBody{Error: "the layer can no longer be read"}))
				w.Flush()
			}
			return nil
		}
		js := mustJSON(tiles.ParseJSON(l.Parse))
		if !bytes.Equal(js, last) {
			fmt.Fprintf(w, "event: status\ndata: %s\n\n", js)
			w.Flush()
			last, lastWrite = js, time.Now()
		} else if time.Since(lastWrite) > 15*time.Second {
			fmt.Fprint(w, ": keep-alive\n\n")
			w.Flush()
			lastWrite = time.Now()
		}
		if l.Parse.Status == catalog.Finished || l.Parse.Status == catalog.Failed {
			fmt.Fprint(w, "event: end\ndata: {}\n\n")
			w.Flush()
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{}`)
	}
	return b
}

func (s *Server) export(c echo.Context) error {
	req, err := tiles.ParseExport(c.QueryParams())
	if err != nil {
		return write(c, tiles.ErrorResponse(err))
	}
	return write(c, s.svc.Export(c.Request().Context(), req))
}

func (s *Server) stats(c echo.Context) error {
	req, err := tiles.ParseStats(c.QueryParams())
	if err != nil {
		return write(c, tiles.ErrorResponse(err))
	}
	return write(c, s.svc.Stats(c.Request().Context(), req))
}
