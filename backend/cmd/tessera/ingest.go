package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/gdal"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
)

const ingestUsage = `usage: tessera ingest PATH_OR_URL [options]

Ingests a raster (a local file, an http(s):// URL, s3://bucket/key, a .zip holding a raster
or a raster compressed with gzip, such as dem.tif.gz) into a tile pyramid in the database
of DATABASE_URL (default ` + pgstore.DefaultDSN + `), migrating it first.
Ingesting under an existing name re-parses that layer; its old tiles keep serving until the
new ones are complete.

With REDIS_URL set the parse's tasks go to Redis for ` + "`tessera worker`" + ` processes (start at
least one); without it they run in this process. Settings from the environment:
TESSERA_QUEUE (asynq queue, default "tessera"), RASTER_WORKDIR, RASTER_TILESIZE,
RASTER_BATCH_STEP_SIZE, RASTER_PARSE_SINGLE_TASK, RASTER_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (or AWS_DEFAULT_REGION),
TESSERA_S3_REQUESTER_PAYS, TESSERA_MAX_SOURCE_BYTES, TESSERA_MAX_SOURCE_PIXELS,
TESSERA_MAX_INGEST_ZOOM (19), TESSERA_HTTP_TIMEOUT (30m), TESSERA_WARP_MEMORY_MB,
TESSERA_WARP_THREADS, TESSERA_BLOCK_TILES, TESSERA_INGEST_STREAM, TESSERA_INGEST_TRACE
(README.md, "Configuration").

Exit status: 0 FINISHED, 1 FAILED (or no database), 2 usage error.

options:`

// ingestOutput is the --json answer.
type ingestOutput struct {
	ID      int64    `json:"id"`
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	MaxZoom *int     `json:"max_zoom"`
	Tiles   int64    `json:"tiles"`
	Log     []string `json:"log"`
}

// runIngest is `tessera ingest`.
func runIngest(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, ingestUsage)
		fs.PrintDefaults()
	}
	name := fs.String("name", "", "layer name (default: the file name without extension)")
	desc := fs.String("description", "", "layer description")
	dtype := fs.String("datatype", "continuous", "continuous, categorical, mask or rank-ordered")
	var nodata *float64
	fs.Func("nodata", "nodata value applied to every band (default: the file's)", func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", s)
		}
		nodata = &v
		return nil
	})
	var srid, maxZoom *int
	fs.Func("srid", "EPSG code replacing the file's CRS (needed when it has none)", func(s string) error {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			return fmt.Errorf("want a positive EPSG code, got %q", s)
		}
		if !gdal.KnownEPSG(v) {
			return fmt.Errorf("EPSG:%d is not a coordinate system GDAL knows; give the raster's EPSG code", v)
		}
		srid = &v
		return nil
	})
	fs.Func("max-zoom", "deepest zoom level, at most TESSERA_MAX_INGEST_ZOOM (19) (default: from the resolution, as django-raster)", func(s string) error {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 24 {
			return fmt.Errorf("want a zoom level 0..24, got %q", s)
		}
		maxZoom = &v
		return nil
	})
	legend := fs.String("legend", "", "legend id or title to render the layer with")
	noPyramid := fs.Bool("no-pyramid", false, "create the max zoom only")
	noNextHigher := fs.Bool("no-next-higher", false, "use one zoom level less than the resolution asks for")
	noKeep := fs.Bool("no-store-reprojected", false, "do not keep the EPSG:3857 copy for re-parses")
	asJSON := fs.Bool("json", false, "print one JSON object {id, name, status, max_zoom, tiles, log} instead of the summary")
	local := fs.Bool("local", false, "run the tasks in this process even when REDIS_URL is set")

	// Flags may come before or after the path.
	pos, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "tessera ingest: one PATH_OR_URL expected, got %d\n\n", len(pos))
		fs.Usage()
		return 2
	}
	source := pos[0]
	if strings.TrimSpace(source) == "" {
		// filepath.Abs would make it the current directory, parsed into a FAILED layer.
		fmt.Fprintln(stderr, "tessera ingest: the PATH_OR_URL is empty (an unset shell variable?); give a raster file or URL")
		return 2
	}
	if !ingest.SupportedSource(source) {
		fmt.Fprintf(stderr, "tessera ingest: %q: unsupported source; give a local path, an http(s):// URL or s3://bucket/key\n", source)
		return 2
	}
	if len(source) > 4096 {
		fmt.Fprintln(stderr, "tessera ingest: the path or URL is longer than 4096 bytes")
		return 2
	}
	if !strings.Contains(source, "://") {
		if abs, err := filepath.Abs(source); err == nil {
			source = abs // workers and later re-parses must find it from anywhere
		}
	}
	if *name != "" {
		if err := catalog.CheckName(*name); err != nil {
			fmt.Fprintf(stderr, "tessera ingest: --name: %v\n", err)
			return 2
		}
	}
	dt, err := catalog.ParseDatatype(*dtype)
	if err != nil {
		fmt.Fprintf(stderr, "tessera ingest: --datatype: %v\n", err)
		return 2
	}
	cfg, err := ingest.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "tessera ingest: %v\n", err)
		return 2
	}
	if maxZoom != nil && *maxZoom > cfg.MaxZoom {
		// Refused here, not by the parse: that would leave a FAILED layer behind.
		fmt.Fprintf(stderr, "tessera ingest: --max-zoom %d: at most %d (TESSERA_MAX_INGEST_ZOOM raises the limit, up to 24)\n", *maxZoom, cfg.MaxZoom)
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ingest.Tracef("ingest command start")
	// GDAL keeps its PROJ context per thread: with this goroutine (which runs the parse)
	// locked to one, warming GDAL here while the database opens saves the parse the first
	// CRS lookups (the RGB.byte 400% ingest reaches its warp 30 ms sooner, median of 6).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	type opened struct {
		st   *pgstore.Store
		code int
	}
	openc := make(chan opened, 1)
	go func() {
		st, code := openMigrated(ctx, "ingest", databaseURL(), stderr)
		openc <- opened{st, code}
	}()
	gdal.Warm()
	ingest.Tracef("gdal warm")
	o := <-openc
	st, code := o.st, o.code
	if st == nil {
		return code
	}
	defer st.Close()
	ingest.Tracef("database open and migrated")

	var legendID *int64
	if *legend != "" {
		id, err := resolveLegend(ctx, st, *legend)
		if err != nil {
			fmt.Fprintf(stderr, "tessera ingest: --legend %q: %v\n", *legend, err)
			return 2
		}
		legendID = &id
	}
	layerName := *name
	if layerName == "" {
		if layerName = catalog.DefaultName(source); layerName == "" {
			layerName = "layer"
		}
	}

	// The runner before the layer: an unreachable Redis must not leave a new layer behind
	// that no parse will ever start (it stayed UNPARSED, with an empty log).
	var runner ingest.Runner
	if url, queue := redisSettings(os.Getenv); url != "" && !*local {
		q, idle := openQueue("ingest", url, queue, "unset REDIS_URL or pass --local to parse in this process", stderr)
		if q == nil {
			return 1
		}
		defer q.Close()
		runner = q
		if !*asJSON {
			fmt.Fprintf(stderr, "tessera ingest: tasks go to Redis queue %q; `tessera worker` processes run them\n", queue)
		}
		if idle {
			fmt.Fprintf(stderr, "tessera ingest: no `tessera worker` serves queue %q yet: the parse waits until one starts (or use --local)\n", queue)
		}
	} else {
		pool := jobs.NewPool(jobs.DefaultConcurrency(), ingest.NewTaskHandler(st))
		defer pool.Close()
		runner = pool
		// The tile writes' connection loads PostGIS raster on the database's side while the
		// parse opens and reprojects the source (an error shows again at the first write).
		go st.PrepareTileWrites(ctx)
	}

	// A new layer, or the existing one of that name with the given settings changed.
	l, err := st.LayerByName(ctx, layerName)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		l = catalog.NewLayer(layerName, source)
		l.Description, l.Datatype = *desc, dt
		l.NoData, l.SRID, l.MaxZoom, l.LegendID = nodata, srid, maxZoom, legendID
		l.BuildPyramid, l.NextHigher, l.StoreReprojected = !*noPyramid, !*noNextHigher, !*noKeep
		if err := st.CreateLayer(ctx, &l); err != nil {
			fmt.Fprintf(stderr, "tessera ingest: %v\n", err)
			return 1
		}
	case err != nil:
		fmt.Fprintf(stderr, "tessera ingest: %v\n", err)
		return 1
	default:
		if l.Source != source {
			// Two files of one name in different directories: the second re-parses the
			// first's layer, which then serves the second file.
			fmt.Fprintf(stderr, "tessera ingest: layer %q (id %d) exists with another source: re-parsing it from %s (--name N makes a new layer instead)\n", l.Name, l.ID, source)
		}
		l.Source = source
		if set["description"] {
			l.Description = *desc
		}
		if set["datatype"] {
			l.Datatype = dt
		}
		if set["nodata"] {
			l.NoData = nodata
		}
		if set["srid"] {
			l.SRID = srid
		}
		if set["max-zoom"] {
			l.MaxZoom = maxZoom
		}
		if set["legend"] {
			l.LegendID = legendID
		}
		if set["no-pyramid"] {
			l.BuildPyramid = !*noPyramid
		}
		if set["no-next-higher"] {
			l.NextHigher = !*noNextHigher
		}
		if set["no-store-reprojected"] {
			l.StoreReprojected = !*noKeep
		}
		if err := st.UpdateLayer(ctx, &l); err != nil {
			fmt.Fprintf(stderr, "tessera ingest: %v\n", err)
			return 1
		}
	}

	parser, err := ingest.New(st, runner, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tessera ingest: %v\n", err)
		return 2
	}

	start := time.Now()
	var stopBar func()
	if !*asJSON {
		stopBar = showProgress(ctx, st, l.ID, stderr)
	}
	res, perr := parser.Parse(ctx, l.ID)
	if stopBar != nil {
		stopBar()
	}
	final, err := st.LayerByID(context.WithoutCancel(ctx), l.ID)
	if err != nil {
		fmt.Fprintf(stderr, "tessera ingest: %v\n", err)
		return 1
	}
	if perr != nil && ctx.Err() != nil {
		// Said as the parse log says it, not as the step it broke ("pgstore: write tiles of
		// layer N: context canceled").
		perr = errors.New("interrupted before it finished")
	}
	out := ingestOutput{ID: l.ID, Name: final.Name, Status: res.Status.String(), Tiles: res.Tiles, Log: final.Parse.Log}
	if res.Status != catalog.Finished {
		out.Status = catalog.Failed.String()
	}
	if perr == nil || res.MaxZoom > 0 {
		z := res.MaxZoom
		out.MaxZoom = &z
	}
	if out.Log == nil {
		out.Log = []string{}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		printSummary(stdout, stderr, out, res, perr, final.Version > 0, time.Since(start))
	}
	ingest.Tracef("ingest command done")
	if perr != nil {
		return 1
	}
	return 0
}

// printSummary prints the outcome; served tells whether the layer serves the tiles of an
// earlier parse.
func printSummary(stdout, stderr io.Writer, out ingestOutput, res ingest.Result, perr error, served bool, took time.Duration) {
	if perr != nil {
		fmt.Fprintf(stderr, "tessera ingest: layer %d %q FAILED: %v\n", out.ID, out.Name, perr)
		for _, line := range out.Log {
			fmt.Fprintf(stderr, "  %s\n", line)
		}
		// The layer stays in the catalog, FAILED, with this log (as django-raster keeps it).
		what := "it stays in the catalog, FAILED"
		if served {
			what = "it keeps serving the tiles of its last finished parse"
		}
		fmt.Fprintf(stderr, "tessera ingest: %s; ingest again under the name %q to re-parse it, or `tessera delete %d` removes it\n", what, out.Name, out.ID)
		return
	}
	zs := ""
	for z := 0; z <= res.MaxZoom; z++ {
		if n := res.TilesPerZoom[z]; n > 0 {
			zs += fmt.Sprintf(" z%d:%d", z, n)
		}
	}
	rate := float64(res.Tiles) / took.Seconds()
	fmt.Fprintf(stdout, "layer %d %q: FINISHED, max zoom %d, %d tiles in %.2fs (%.0f tiles/s)\n  tiles per zoom:%s\n",
		out.ID, out.Name, res.MaxZoom, res.Tiles, took.Seconds(), rate, zs)
}

// showProgress draws a progress bar of tiles done / total on w until the returned stop is
// called, polling the layer's parse status. On a file or pipe that is not a terminal (make
// demo's log, CI) it prints one line per phase instead: the bar's carriage-return frames
// piled up there as one long line.
func showProgress(ctx context.Context, st *pgstore.Store, id int64, w io.Writer) (stop func()) {
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
			return showPhases(ctx, st, id, w)
		}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("parsing"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("tiles"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
	)
	var max int64 = -1
	stopPoll := pollParse(ctx, st, id, func(p catalog.ParseStatus) {
		bar.Describe(strings.ToLower(strings.ReplaceAll(p.Status.String(), "_", " ")))
		if p.TilesTotal > 0 && p.TilesTotal != max {
			max = p.TilesTotal
			bar.ChangeMax64(max)
		}
		if max > 0 {
			bar.Set64(min(p.TilesDone, max))
		}
	})
	return func() {
		stopPoll()
		bar.Finish()
		fmt.Fprintln(w)
	}
}

// showPhases prints a line on w each time the layer's parse status changes, with the tiles
// to check once they are known, until the returned stop is called.
func showPhases(ctx context.Context, st *pgstore.Store, id int64, w io.Writer) (stop func()) {
	last := ""
	return pollParse(ctx, st, id, func(p catalog.ParseStatus) {
		line := strings.ToLower(strings.ReplaceAll(p.Status.String(), "_", " "))
		if p.TilesTotal > 0 {
			line += fmt.Sprintf(" (%d tiles to check)", p.TilesTotal)
		}
		if line != last && p.Status != catalog.Unparsed && p.Status != catalog.Finished && p.Status != catalog.Failed {
			fmt.Fprintf(w, "tessera ingest: %s\n", line)
			last = line
		}
	})
}

// pollParse calls show with the layer's parse status every 200 ms, from one goroutine, until
// the returned stop is called, and once more then with the status the parse ended with (the
// bar of a parse quicker than a poll showed "unparsed" as its last frame); stop returns once
// the goroutine has ended.
func pollParse(ctx context.Context, st *pgstore.Store, id int64, show func(catalog.ParseStatus)) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if l, err := st.LayerByID(context.WithoutCancel(ctx), id); err == nil {
					show(l.Parse)
				}
				return
			default:
			}
			if l, err := st.LayerByID(ctx, id); err == nil {
				show(l.Parse)
			}
			select {
			case <-done:
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// databaseURL is DATABASE_URL, or pgstore.DefaultDSN when it is not set.
func databaseURL() string {
	if dsn := os.Getenv("DATABASE_URL"); dsn != "" {
		return dsn
	}
	return pgstore.DefaultDSN
}

// openDSN opens the store of dsn with opts, giving it 30 seconds; on failure it prints why
// and returns a nil store and the exit code: 2 for a DATABASE_URL that cannot be read, 1 for
// a database that does not answer or a ctx ended first (a signal: it says it was
// interrupted).
func openDSN(ctx context.Context, cmd, dsn string, stderr io.Writer, opts ...pgstore.Option) (*pgstore.Store, int) {
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := pgstore.Open(openCtx, dsn, opts...)
	if err != nil && ctx.Err() != nil {
		// A signal, not the database: its advice would mislead.
		fmt.Fprintf(stderr, "tessera %s: interrupted while opening the database (%v)\n", cmd, err)
		return nil, 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "tessera %s: %v\n(set DATABASE_URL, or run scripts/services.sh to start the default database)\n", cmd, err)
		if errors.Is(err, pgstore.ErrDSN) {
			return nil, 2 // a setting to correct, as a bad flag
		}
		return nil, 1
	}
	return st, 0
}

// openMigrated is openDSN, then the migrations; when they fail it closes the store, prints
// why (that it was interrupted, when ctx ended first) and returns exit code 1. serve, ingest,
// worker and withStore's commands all migrate through it, so a failure reads the same in
// each: "tessera CMD: pgstore: migrate: …".
func openMigrated(ctx context.Context, cmd, dsn string, stderr io.Writer, opts ...pgstore.Option) (*pgstore.Store, int) {
	st, code := openDSN(ctx, cmd, dsn, stderr, opts...)
	if st == nil {
		return nil, code
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		if ctx.Err() != nil {
			// Stopped by a signal: the store's error alone ("pgstore: migrate: lock: conn
			// closed") did not say so.
			fmt.Fprintf(stderr, "tessera %s: interrupted before the migrations finished (%v)\n", cmd, err)
		} else {
			fmt.Fprintf(stderr, "tessera %s: %v\n", cmd, err)
		}
		return nil, 1
	}
	return st, 0
}

// withStore runs run with a context that Ctrl-C or SIGTERM cancels (as ingest, serve and
// worker take both) and the store of DATABASE_URL, migrated first when migrate is set, and
// closes the store after; when the store does not open (or migrate) it prints why and
// returns the exit code.
func withStore(cmd string, migrate bool, stderr io.Writer, run func(ctx context.Context, st *pgstore.Store) int) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	open := openDSN
	if migrate {
		open = openMigrated
	}
	st, code := open(ctx, cmd, databaseURL(), stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	return run(ctx, st)
}

func resolveLegend(ctx context.Context, st *pgstore.Store, ref string) (int64, error) {
	l, err := st.LegendByRef(ctx, ref)
	return l.ID, err
}
