// Package ingest is Tessera's raster parser: it turns any raster GDAL reads — a local file,
// an upload, an http(s) URL, s3://bucket/key or a .zip holding a raster — into a PostGIS
// tile pyramid in EPSG:3857, with django-raster's statuses, log lines, max-zoom rule,
// metadata and band statistics (reference §2).
//
// The parse (Parser.Parse):
//
//  1. resolve the source to a local file (DOWNLOADING_FILE for URLs and S3);
//  2. open it with GDAL, apply the layer's srid and nodata overrides, and compute the max
//     zoom exactly as django-raster does (MaxZoomForScale);
//  3. reproject once to EPSG:3857 (REPROJECTING_RASTER) with GDAL's warper, at the max zoom's
//     pixel size, over exactly the tiles covering the raster at that zoom, so that every
//     T×T window of the result is one tile; kept under RASTER_WORKDIR when store_reprojected
//     is set so a re-parse with the same settings skips the warp;
//  4. (CREATING_TILES) make each coarser zoom's grid-aligned raster from the next finer one,
//     each pixel from the 2×2 below it (average for continuous layers, the most frequent
//     value for categorical, mask and rank-ordered ones; see downsample), and cut every
//     level into tasks of blocks of tiles (jobs.Pool in process, or asynq tasks for
//     `tessera worker` processes); tasks skip tiles whose every band is nodata and write the
//     others in COPY batches of RASTER_BATCH_STEP_SIZE. An in-process parse (jobs.Pool) of a
//     raster with nodata (no alpha band) instead streams, unless TESSERA_INGEST_STREAM=0,
//     RASTER_PARSE_SINGLE_TASK or two full-width rows of tiles over 64 MiB: one pass over
//     the max zoom's raster builds, cuts and writes every level, without level files
//     (stream.go; the same tiles), and for a local file with integer bands of one type and
//     one nodata the warp of step 3 itself goes a row of tiles at a time inside that pass
//     (gdal.StripWarper);
//  5. meanwhile compute the band statistics (count, min, max, mean, std, 100-bin histogram)
//     over the max-zoom raster, then store the metadata and publish the new tile version.
//
// Why the differences from django-raster: it warped the full-resolution raster again for
// every zoom with nearest neighbour; building each level from the finer one costs a third
// of one warp in total, and averaging (continuous) or the majority class (categorical) give
// better overviews than picking one pixel in 2^k×2^k. The max zoom itself is warped with
// nearest neighbour, as in django-raster. Tiles are written beside the served ones
// and swapped in at the end, so a failed or running re-parse never blanks a layer.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
	"github.com/tessera-gis/tessera/shared/raster"
	"github.com/tessera-gis/tessera/shared/tile"
)

// Store is what a parse needs of the catalog store (pgstore.Store implements it).
type Store interface {
	TileStore
	LayerByID(ctx context.Context, id int64) (catalog.Layer, error)
	UpdateLayer(ctx context.Context, l *catalog.Layer) error
	BeginParse(ctx context.Context, layerID int64) (int64, error)
	SetStatus(ctx context.Context, layerID int64, st catalog.Status, line string) error
	AppendLog(ctx context.Context, layerID int64, line string) error
	SetProgress(ctx context.Context, layerID int64, done, total int64) error
	// FinishZooms records zooms zs as complete and appends lines to the log, in one statement.
	FinishZooms(ctx context.Context, layerID int64, zs []int, lines []string) error
	// PublishWithMetadata stores the metadata and serves the version, in one transaction.
	PublishWithMetadata(ctx context.Context, layerID, version int64, m catalog.Metadata, bands []catalog.BandMeta) error
	TileCount(ctx context.Context, layerID, version int64) (map[int]int64, error)
}

// Runner runs a batch of tasks to completion: jobs.Pool in process, jobs.Queue on Redis.
type Runner interface {
	Run(ctx context.Context, tasks []jobs.Task) error
}

// Parser runs parses. It is safe for concurrent use (on different layers).
type Parser struct {
	store  Store
	runner Runner
	cfg    Config
	http   *http.Client
	// private is RASTER_WORKDIR as the parse log hides it (worked out once).
	private privateDirs
}

// New returns a parser writing to store and running its tasks with runner, whose handler
// must be NewTaskHandler(store) (or the same handler in the worker processes).
func New(store Store, runner Runner, cfg Config) (*Parser, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Parser{store: store, runner: runner, cfg: cfg, http: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		private: newPrivateDirs(cfg.WorkDir)}, nil
}

// Result is the outcome of a parse.
type Result struct {
	LayerID int64
	Version int64
	Status  catalog.Status
	MaxZoom int
	// Tiles is the number of tiles stored, TilesPerZoom the same per zoom.
	Tiles        int64
	TilesPerZoom map[int]int64
}

// run is the state of one parse.
type run struct {
	store   Store
	layer   catalog.Layer
	version int64
	// private hides RASTER_WORKDIR in the parse log, which is public through the layer's
	// status.
	private privateDirs
	// digest is the SHA-256 of a downloaded source's bytes (http(s), s3): with a local
	// file's size and modification time it names the kept reprojection, so a file changed
	// at the same URL is warped again.
	digest string
	mu     sync.Mutex
	err    error // the first error of a status or log write
}

func (r *run) keep(err error) {
	if err != nil {
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
	}
}

func (r *run) status(ctx context.Context, st catalog.Status, line string) {
	r.keep(r.store.SetStatus(ctx, r.layer.ID, st, r.private.hide(line)))
}

func (r *run) log(ctx context.Context, line string) {
	r.keep(r.store.AppendLog(ctx, r.layer.ID, r.private.hide(line)))
}

// privateDirs are the forms of RASTER_WORKDIR the parse log hides: as given and, when
// relative, made absolute ("/" and "." none).
type privateDirs []string

func newPrivateDirs(workDir string) privateDirs {
	if workDir == "" {
		return nil
	}
	var dirs privateDirs
	clean := filepath.Clean(workDir)
	forms := []string{clean}
	if abs, err := filepath.Abs(workDir); err == nil && abs != clean {
		forms = append(forms, abs)
	}
	for _, dir := range forms {
		if dir != string(filepath.Separator) && dir != "." {
			dirs = append(dirs, dir)
		}
	}
	return dirs
}

// hide returns a parse log line with the server's work directory taken out of the paths in
// it ("/srv/tessera-workdir/uploads/1a2b-x.tif" → "uploads/1a2b-x.tif", the directory itself
// → "RASTER_WORKDIR"): anyone who may read a layer may read its log, and GDAL's messages name
// the files it opened. The directory is matched only where a path starts (not inside a longer
// one: with RASTER_WORKDIR=/data, "https://host/data/x.tif" stays as it is).
func (d privateDirs) hide(line string) string {
	for _, dir := range d {
		line = hidePath(line, dir)
	}
	return line
}

// vsiPrefix matches the end of a GDAL virtual file system prefix (/vsizip/), after which a
// path starts.
var vsiPrefix = regexp.MustCompile(`/vsi[a-z0-9_]+/$`)

// hidePath replaces dir where it starts a path in line: followed by a separator it is
// dropped, followed by nothing that continues a name it becomes "RASTER_WORKDIR".
func hidePath(line, dir string) string {
	var b strings.Builder
	for {
		i := strings.Index(line, dir)
		if i < 0 {
			b.WriteString(line)
			return b.String()
		}
		end := i + len(dir)
		starts := i == 0 || !pathByte(line[i-1]) || vsiPrefix.MatchString(line[:i])
		switch {
		case starts && end < len(line) && line[end] == filepath.Separator:
			b.WriteString(line[:i])
			end++
		case starts && (end == len(line) || !pathByte(line[end])):
			b.WriteString(line[:i])
			b.WriteString("RASTER_WORKDIR")
		default:
			b.WriteString(line[:end])
		}
		line = line[end:]
	}
}

// pathByte reports whether c continues a file or host name (or a path, '/').
func pathByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '~' || c == '%' || c == '+' || c == '@' || c == '/' || c == '\\'
}

// finishZooms records zooms zs as complete, with a "Finished parsing" log line each.
func (r *run) finishZooms(ctx context.Context, zs []int) {
	lines := make([]string, len(zs))
	for i, z := range zs {
		lines[i] = fmt.Sprintf("Finished parsing at zoom level %d.", z)
	}
	r.keep(r.store.FinishZooms(ctx, r.layer.ID, zs, lines))
}

// Parse parses the layer into a new tile version and publishes it. Bad input (see the
// sentinel errors) ends with status FAILED, a log line saying what is wrong and what to do,
// the layer row kept and its served tiles untouched; Parse then returns an *Error. Other
// errors (the database, the queue) also mark the parse FAILED when the store still answers.
func (p *Parser) Parse(ctx context.Context, layerID int64) (Result, error) {
	layer, err := p.store.LayerByID(ctx, layerID)
	if err != nil {
		return Result{LayerID: layerID}, fmt.Errorf("ingest: layer %d: %w", layerID, err)
	}
	version, err := p.store.BeginParse(ctx, layerID)
	if err != nil {
		return Result{LayerID: layerID}, fmt.Errorf("ingest: begin parse of layer %d: %w", layerID, err)
	}
	r := &run{store: p.store, layer: layer, version: version, private: p.private}
	r.status(ctx, catalog.Unparsed, "Started parsing raster.")
	res, err := p.parse(ctx, r)
	res.LayerID, res.Version = layerID, version
	if err == nil {
		err = r.err
	}
	if err != nil {
		res.Status = catalog.Failed
		line := err.Error()
		var ie *Error
		switch {
		case ctx.Err() != nil:
			// Whatever step the cancellation broke ("write tiles …: context canceled", or a
			// download that "could not" complete), the log says what happened.
			line = "Parse interrupted before it finished. Parse it again."
			if layer.Version > 0 {
				line = "Parse interrupted before it finished; the layer keeps serving its previous tiles. Parse it again."
			}
		case !errors.As(err, &ie):
			line = "Parse failed: " + line
		}
		// The failure is recorded even when ctx was cancelled.
		if serr := p.store.SetStatus(context.WithoutCancel(ctx), layerID, catalog.Failed, p.private.hide(line)); serr != nil {
			err = errors.Join(err, serr)
		}
		return res, err
	}
	res.Status = catalog.Finished
	return res, nil
}

func (p *Parser) parse(ctx context.Context, r *run) (Result, error) {
	var res Result
	layer := r.layer
	// A directory of its own: another database's layer of this id and version may be
	// parsing under the same RASTER_WORKDIR (parse-layer{id}-v{version} was shared, and the
	// first parse to end removed the other's files). 0755 as before, for workers running as
	// another user.
	if err := os.MkdirAll(p.cfg.WorkDir, 0o755); err != nil {
		return res, fmt.Errorf("ingest: work directory (RASTER_WORKDIR): %w", err)
	}
	dir, err := os.MkdirTemp(p.cfg.WorkDir, fmt.Sprintf("parse-layer%d-v%d-", layer.ID, r.version))
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		return res, fmt.Errorf("ingest: work directory (RASTER_WORKDIR): %w", err)
	}
	defer os.RemoveAll(dir)

	tracef("parse start")
	src, err := p.openSource(ctx, r, dir)
	if err != nil {
		return res, err
	}
	tracef("source open")
	defer src.Close()
	if err := p.checkPixels(src, layer.Source); err != nil {
		return res, err
	}
	in, err := src.Info()
	if err != nil {
		return res, fail(ErrUnsupported, fmt.Sprintf("The raster cannot be used: %v.", err), "Convert it to integer or float bands (gdal_translate -ot Float32).")
	}
	if len(in.Bands) == 0 {
		return res, fail(ErrUnsupported, "The file has no raster bands.", "Give a raster with at least one band.")
	}
	if !in.HasGeoTransform {
		return res, fail(ErrNoGeoTransform, "The raster has no geotransform: its pixels have no position on the ground.",
			"Georeference it first, e.g. gdal_translate -a_ullr ULX ULY LRX LRY -a_srs EPSG:CODE.")
	}
	crs, epsg, srcSRS := in.WKT, in.EPSG, ""
	if layer.SRID != nil {
		srcSRS = fmt.Sprintf("EPSG:%d", *layer.SRID)
		wkt, err := gdal.SRSWKT(srcSRS)
		if err != nil {
			return res, fail(ErrBadSRID, fmt.Sprintf("The srid %d is not a known EPSG code.", *layer.SRID), "Set the layer's srid to the EPSG code of the raster's CRS.")
		}
		crs, epsg = wkt, *layer.SRID
	}
	if crs == "" {
		return res, fail(ErrNoCRS, "The raster has no coordinate reference system (CRS).",
			"Set the layer's srid to the EPSG code of its CRS (tessera ingest --srid CODE).")
	}
	nbands := len(in.Bands)
	types := make([]raster.DataType, nbands)
	nodata := make([]*float64, nbands)
	alpha := false
	for i, b := range in.Bands {
		types[i] = b.Type
		switch {
		case layer.NoData != nil:
			v := *layer.NoData
			nodata[i] = &v
		case b.HasNoData:
			v := b.NoData
			nodata[i] = &v
		default:
			alpha = true // coverage must come from an alpha band
		}
	}

	// Max zoom (django-raster's rule, or the override).
	T := p.cfg.TileSize
	maxZ := 0
	if layer.MaxZoom != nil {
		maxZ = *layer.MaxZoom
		if maxZ < 0 || maxZ > p.cfg.MaxZoom {
			return res, fail(ErrBadLayer, fmt.Sprintf("The max zoom %d is outside 0..%d.", maxZ, p.cfg.MaxZoom), "Set a max zoom in that range (TESSERA_MAX_INGEST_ZOOM sets the upper end).")
		}
	} else {
		scale, err := sourcePixelSize(in.GeoTransform, in.Width, in.Height, crs, epsg)
		if err != nil {
			return res, fail(ErrMaxZoom, "Failed to compute max zoom.", "Check the SRID of the raster.")
		}
		maxZ = MaxZoomForScale(scale, T, layer.NextHigher)
		if maxZ > p.cfg.MaxZoom {
			r.log(ctx, fmt.Sprintf("Max zoom %d capped at %d (TESSERA_MAX_INGEST_ZOOM).", maxZ, p.cfg.MaxZoom))
			maxZ = p.cfg.MaxZoom
		}
	}
	res.MaxZoom = maxZ
	extent, ok, err := mercatorExtent(in.GeoTransform, in.Width, in.Height, crs, epsg)
	if err != nil {
		return res, fail(ErrMaxZoom, "The raster's CRS cannot be transformed to web mercator (EPSG:3857).", "Check the SRID of the raster.")
	}
	maxRange := tile.Covering(extent, maxZ)
	if !ok || maxRange.Count() == 0 {
		return res, fail(ErrOutsideWorld, "The raster lies outside the web-mercator world (beyond ±85.05° latitude or off the globe).", "Check the SRID and the georeferencing of the raster.")
	}
	wW, wH := int64(maxRange.MaxX-maxRange.MinX+1)*int64(T), int64(maxRange.MaxY-maxRange.MinY+1)*int64(T)
	if wW*wH > p.cfg.MaxPixels {
		return res, fail(ErrTooLarge, fmt.Sprintf("At zoom %d the raster spans %d×%d pixels, over the limit of %d pixels (TESSERA_MAX_SOURCE_PIXELS).", maxZ, wW, wH, p.cfg.MaxPixels),
			"Set a lower max zoom, or raise TESSERA_MAX_SOURCE_PIXELS.")
	}
	meta := catalog.Metadata{
		OriginX: in.GeoTransform[0], OriginY: in.GeoTransform[3],
		ScaleX: in.GeoTransform[1], ScaleY: in.GeoTransform[5],
		SkewX: in.GeoTransform[2], SkewY: in.GeoTransform[4],
		Width: in.Width, Height: in.Height, BandCount: nbands,
		SRID: epsg, WKT: crs, MaxZoom: maxZ,
		Extent: [4]float64{extent.MinX, extent.MinY, extent.MaxX, extent.MaxY},
	}

	tracef("grid computed")
	// Reproject once, onto the max zoom's tile grid.
	// The max zoom's pixels are no larger than the source's, so nearest neighbour keeps
	// every source value as it is (as django-raster does); bilinear measured twice as slow.
	warpAlg := gdal.Nearest
	mode := layer.Datatype != catalog.Continuous && layer.Datatype != ""
	noMask := warpAlg == gdal.Nearest && !alpha
	for _, t := range types {
		noMask = noMask && !t.IsFloat() && t == types[0]
	}
	_, local := p.runner.(*jobs.Pool)
	stream := local && p.cfg.Stream && !alpha && !p.cfg.SingleTask && streamFits(maxRange, T, types)
	wo := warpOptions{
		srcSRS: srcSRS, nodata: nodata, override: layer.NoData, alpha: alpha, rng: maxRange, alg: warpAlg, noMask: noMask,
	}
	// A streamed parse of a local file warps strip by strip while its tiles are written
	// (gdal.StripWarper: the same pixels); otherwise the warp comes first.
	var strips *stripWarp
	var warped string
	if stream && noMask && sameNoData(nodata) && !strings.Contains(src.Path(), "/vsi") {
		strips, warped, err = p.reprojectStrips(ctx, r, src, dir, wo)
	} else {
		warped, err = p.reproject(ctx, r, src, dir, wo)
	}
	if err != nil {
		return res, err
	}

	tracef("warped (or warp prepared)")
	// Cut the levels.
	minZ := maxZ
	if layer.BuildPyramid {
		minZ = 0
	}
	ranges := map[int]tile.Range{}
	var total int64
	for z := maxZ; z >= minZ; z-- {
		ranges[z] = tile.Covering(extent, z)
		total += int64(ranges[z].Count())
	}
	r.status(ctx, catalog.CreatingTiles, fmt.Sprintf("Creating tiles for zoom levels %d to %d (%d tiles to check).", minZ, maxZ, total))
	r.keep(p.store.SetProgress(ctx, layer.ID, 0, total))
	if stream {
		bandMeta, err := p.streamParse(ctx, r, warped, strips, ranges, maxZ, minZ, mode)
		if err != nil {
			return res, err
		}
		var zs []int
		for z := maxZ; z >= minZ; z-- {
			zs = append(zs, z)
		}
		r.finishZooms(ctx, zs)
		return p.conclude(ctx, r, res, meta, bandMeta, total)
	}
	side := p.blockSide(types, alpha)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type levelDone struct {
		zs  []int
		err error
	}
	done := make(chan levelDone, maxZ-minZ+1)
	var failed sync.Once
	var firstErr error
	part := func(z int, path string) cutTask {
		rng := ranges[z]
		return cutTask{LayerID: layer.ID, Version: r.version, Path: path, Block: rng, OriginX: rng.MinX, OriginY: rng.MinY,
			TileSize: T, DataBands: nbands, Alpha: alpha, Batch: p.cfg.BatchSize, Side: side}
	}
	// submit runs the cut tasks cs of levels zs and reports them done together.
	submitted := 0
	submit := func(zs []int, cs []cutTask) {
		submitted++
		tasks := make([]jobs.Task, 0, len(cs))
		for _, c := range cs {
			t, err := c.task()
			if err != nil {
				done <- levelDone{zs, err}
				return
			}
			tasks = append(tasks, t)
		}
		go func() { done <- levelDone{zs, p.runner.Run(ctx, tasks)} }()
	}
	// A level of many tiles goes as blocks, one task each (one task with
	// RASTER_PARSE_SINGLE_TASK); the small coarse levels go together in one task.
	var small []cutTask
	var smallZ []int
	level := func(z int, path string) {
		c := part(z, path)
		if ranges[z].Count() <= side*side {
			small, smallZ = append(small, c), append(smallZ, z)
			return
		}
		if p.cfg.SingleTask {
			submit([]int{z}, []cutTask{c})
			return
		}
		var cs []cutTask
		for _, b := range blocks(ranges[z], side) {
			cb := c
			cb.Block = b
			cs = append(cs, cb)
		}
		submit([]int{z}, cs)
	}
	level(maxZ, warped)
	prev := warped
	for z := maxZ - 1; z >= minZ && ctx.Err() == nil; z-- {
		path := filepath.Join(dir, fmt.Sprintf("z%d.tif", z))
		if err := downsample(prev, path, ranges[z+1], ranges[z], T, mode, alpha); err != nil {
			failed.Do(func() { firstErr = err })
			cancel()
			break
		}
		tracef("level %d built", z)
		level(z, path)
		prev = path
	}
	if len(small) > 0 && ctx.Err() == nil {
		g := small[0]
		g.More = small[1:]
		submit(smallZ, []cutTask{g})
	}
	var bandMeta []catalog.BandMeta
	if ctx.Err() == nil {
		bm, err := bandStatistics(ctx, warped, nbands, alpha)
		if err != nil {
			failed.Do(func() { firstErr = err })
			cancel()
		}
		bandMeta = bm
		tracef("statistics done")
	}
	for range submitted {
		d := <-done
		tracef("levels %v cut", d.zs)
		if d.err != nil {
			failed.Do(func() { firstErr = fmt.Errorf("ingest: zoom %v: %w", d.zs, d.err) })
			cancel()
			continue
		}
		r.finishZooms(ctx, d.zs)
	}
	if firstErr != nil {
		return res, firstErr
	}
	return p.conclude(ctx, r, res, meta, bandMeta, total)
}

// conclude ends a parse whose tiles are written: it counts them, stores the metadata and
// publishes the new version.
func (p *Parser) conclude(ctx context.Context, r *run, res Result, meta catalog.Metadata, bandMeta []catalog.BandMeta, total int64) (Result, error) {
	layer := r.layer
	counts, err := p.store.TileCount(ctx, layer.ID, r.version)
	if err != nil {
		return res, err
	}
	res.TilesPerZoom = counts
	for _, n := range counts {
		res.Tiles += n
	}
	r.keep(p.store.SetProgress(ctx, layer.ID, total, total))
	if r.err != nil {
		return res, r.err
	}
	if err := p.store.PublishWithMetadata(ctx, layer.ID, r.version, meta, bandMeta); err != nil {
		return res, err
	}
	if res.Tiles == 0 {
		r.log(ctx, "Every pixel of the raster is nodata: no tiles were stored.")
	}
	r.status(ctx, catalog.Finished, "Successfully finished parsing raster")
	tracef("finished")
	return res, r.err
}

// blockSide is the side, in tiles, of the blocks a task reads at once: Config.BlockTiles,
// less when the bands are so deep that a block would pass 64 MiB.
func (p *Parser) blockSide(types []raster.DataType, alpha bool) int {
	bpp := 0
	for _, t := range types {
		bpp += t.Size()
	}
	if alpha {
		bpp++
	}
	T := p.cfg.TileSize
	limit := int(math.Sqrt(float64(64<<20) / float64(T*T*bpp)))
	return max(1, min(p.cfg.BlockTiles, limit))
}

type warpOptions struct {
	srcSRS   string
	nodata   []*float64
	override *float64
	alpha    bool
	rng      tile.Range
	alg      gdal.Resampling
	// noMask: nearest neighbour onto integer bands whose target nodata is the source's,
	// where the warp needs no source nodata mask (gdal.WarpOptions.NoSrcNoDataMask).
	noMask bool
}

// reproject warps the source onto the max zoom's tile grid, or reuses the copy a previous
// parse kept (store_reprojected) when nothing that shapes it has changed.
func (p *Parser) reproject(ctx context.Context, r *run, src *gdal.Dataset, dir string, o warpOptions) (string, error) {
	path, reuse, err := p.reprojectPath(ctx, r, dir, o)
	if err != nil || reuse {
		return path, err
	}
	r.status(ctx, catalog.ReprojectingRaster, p.reprojectLine(o.rng))
	return path, p.warp(ctx, r, src, path, o)
}

// warp writes the whole reprojection to path (through path.part, moved into place when
// complete).
func (p *Parser) warp(ctx context.Context, r *run, src *gdal.Dataset, path string, o warpOptions) error {
	tmp := path + ".part"
	out, err := gdal.Warp(src, tmp, p.gdalWarpOptions(o))
	if err != nil {
		os.Remove(tmp)
		return warpFailed(err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return p.keepReprojected(ctx, r, tmp, path)
}

// reprojectPath is where the reprojection of a parse goes: under RASTER_WORKDIR/reprojected,
// named by what shapes it, when store_reprojected is set (reuse: a kept copy is there
// already), else in the parse's own directory.
func (p *Parser) reprojectPath(ctx context.Context, r *run, dir string, o warpOptions) (path string, reuse bool, err error) {
	layer := r.layer
	T := p.cfg.TileSize
	key := sha256.New()
	fmt.Fprintf(key, "%s|%s|%v|%v|%+v|%d|%s", layer.Source, o.srcSRS, fmtPtr(o.override), o.alpha, o.rng, T, o.alg)
	if st, err := os.Stat(strings.TrimPrefix(layer.Source, "file://")); err == nil {
		fmt.Fprintf(key, "|%d|%d", st.Size(), st.ModTime().UnixNano())
	}
	if r.digest != "" {
		fmt.Fprintf(key, "|%s", r.digest)
	}
	name := fmt.Sprintf("layer%d-%s.tif", layer.ID, hex.EncodeToString(key.Sum(nil))[:16])
	path = filepath.Join(dir, "reprojected.tif")
	if layer.StoreReprojected {
		kept := keptDir(p.cfg.WorkDir)
		if err := os.MkdirAll(kept, 0o755); err != nil {
			return "", false, fmt.Errorf("ingest: work directory (RASTER_WORKDIR): %w", err)
		}
		path = filepath.Join(kept, name)
		if layer.ReprojectedPath == path {
			if _, err := os.Stat(path); err == nil {
				r.log(ctx, "Reusing the reprojected raster kept by an earlier parse.")
				return path, true, nil
			}
		}
	}
	return path, false, nil
}

func (p *Parser) reprojectLine(rng tile.Range) string {
	return fmt.Sprintf("Reprojecting raster to EPSG:3857 at zoom %d (%d×%d tiles of %d pixels).", rng.Z, rng.MaxX-rng.MinX+1, rng.MaxY-rng.MinY+1, p.cfg.TileSize)
}

func (p *Parser) gdalWarpOptions(o warpOptions) gdal.WarpOptions {
	T := p.cfg.TileSize
	rng := o.rng
	b := rangeBounds(rng)
	return gdal.WarpOptions{
		SrcSRS: o.srcSRS, SrcNoData: o.override, Bounds: [4]float64{b.MinX, b.MinY, b.MaxX, b.MaxY},
		Width: (rng.MaxX - rng.MinX + 1) * T, Height: (rng.MaxY - rng.MinY + 1) * T,
		Resampling: o.alg, DstNoData: o.nodata, DstAlpha: o.alpha, NoSrcNoDataMask: o.noMask,
		BlockSize: warpBlock(T), MemoryMB: p.cfg.WarpMemoryMB, Threads: p.warpThreads(),
	}
}

func warpFailed(err error) error {
	return fail(ErrUnsupported, fmt.Sprintf("Reprojecting the raster to EPSG:3857 failed (%s).", cause(err)),
		"Check the SRID of the raster, and the free space in RASTER_WORKDIR.")
}

// sameNoData reports whether every band has the same nodata value (a GeoTIFF holds one).
func sameNoData(nd []*float64) bool {
	for _, v := range nd {
		if v == nil || *v != *nd[0] {
			return false
		}
	}
	return len(nd) > 0
}

// stripWarp is a reprojection done strip by strip during a streamed parse.
type stripWarp struct {
	w        *gdal.StripWarper
	complete func(ok bool) error
	finished bool
}

// finish completes the warp as reproject would have (the GeoTIFF moved into place, kept or
// not; dropped when ok is false); later calls do nothing.
func (s *stripWarp) finish(ok bool) error {
	if s.finished {
		return nil
	}
	s.finished = true
	return s.complete(ok)
}

// reprojectStrips is reproject for a streamed parse: it returns the path of a kept
// reprojection to read (strips nil), or a strip warper writing the warped raster to the
// returned path as the stream asks for its rows.
func (p *Parser) reprojectStrips(ctx context.Context, r *run, src *gdal.Dataset, dir string, o warpOptions) (*stripWarp, string, error) {
	path, reuse, err := p.reprojectPath(ctx, r, dir, o)
	if err != nil || reuse {
		return nil, path, err
	}
	r.status(ctx, catalog.ReprojectingRaster, p.reprojectLine(o.rng))
	tmp := path + ".part"
	w, err := gdal.NewStripWarper(src.Path(), tmp, p.gdalWarpOptions(o))
	if errors.Is(err, gdal.ErrStripWarp) {
		return nil, path, p.warp(ctx, r, src, path, o)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, "", warpFailed(err)
	}
	return &stripWarp{w: w, complete: func(ok bool) error {
		err := w.Close()
		if !ok || err != nil {
			os.Remove(tmp)
			if err != nil {
				return warpFailed(err)
			}
			return nil
		}
		return p.keepReprojected(ctx, r, tmp, path)
	}}, path, nil
}

// keepReprojected moves the finished warp at tmp to path and records it on the layer when
// store_reprojected is set (dropping an older kept copy).
func (p *Parser) keepReprojected(ctx context.Context, r *run, tmp, path string) error {
	layer := r.layer
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if layer.StoreReprojected || layer.ReprojectedPath != "" {
		old := layer.ReprojectedPath
		// Recorded even when the parse was interrupted during the warp: the file is complete
		// (a re-parse reuses it, a delete removes it); with the cancelled context the update
		// failed and the file was kept under no layer's name, for good.
		ctx := context.WithoutCancel(ctx)
		l, err := p.store.LayerByID(ctx, layer.ID)
		if err == nil {
			l.ReprojectedPath = ""
			if layer.StoreReprojected {
				l.ReprojectedPath = path
			}
			err = p.store.UpdateLayer(ctx, &l)
		}
		r.keep(err)
		if old != "" && old != path && inKeptDir(p.cfg.WorkDir, old) {
			os.Remove(old)
		}
	}
	return nil
}

// keptDir is where parses keep their reprojections (store_reprojected) under a work
// directory (RASTER_WORKDIR).
func keptDir(workDir string) string { return filepath.Join(workDir, "reprojected") }

// inKeptDir reports whether path is a file in keptDir(workDir).
func inKeptDir(workDir, path string) bool {
	return path != "" && filepath.Dir(filepath.Clean(path)) == keptDir(filepath.Clean(workDir))
}

// RemoveKept removes the reprojection kept for deleted layer l (store_reprojected), when it
// is in workDir's directory of kept reprojections, and reports whether it did. The file's
// name holds the layer's id, so no other layer of the database records it. Without this a
// deleted layer's copy (as large as its full-resolution EPSG:3857 raster) stayed there.
func RemoveKept(workDir string, l catalog.Layer) (bool, error) {
	if !inKeptDir(workDir, l.ReprojectedPath) {
		return false, nil
	}
	if err := os.Remove(l.ReprojectedPath); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func fmtPtr(v *float64) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprint(*v)
}

// warpBlock is the GeoTIFF block size of the grid-aligned rasters: the tile size when
// GeoTIFF allows it (a multiple of 16), else 256.
func warpBlock(T int) int {
	if T%16 == 0 && T <= 1024 {
		return T
	}
	return 256
}

func (p *Parser) warpThreads() int {
	if p.cfg.WarpThreads > 0 {
		return p.cfg.WarpThreads
	}
	return jobs.DefaultConcurrency()
}
