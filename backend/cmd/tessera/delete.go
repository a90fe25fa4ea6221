package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
	"github.com/tessera-gis/tessera/backend/internal/server"
)

const deleteUsage = `usage: tessera delete LAYER...

Deletes layers, each named by id, name or file-name fragment (as the tile URLs name them),
with their tiles, metadata, statistics and parse log, from the database of DATABASE_URL
(default ` + pgstore.DefaultDSN + `). The file of an upload (in RASTER_WORKDIR/uploads) goes
too, as with DELETE /raster/layers/{ref} over HTTP, unless another layer reads it, and so
does the layer's EPSG:3857 copy kept for re-parses (in RASTER_WORKDIR/reprojected); a raster
named by a path or URL stays where it is. A parse of the layer running at that moment fails.
Nothing is deleted unless every LAYER names one layer.

Exit status: 0 deleted, 1 a LAYER not found or ambiguous (nothing deleted) or a database
error, 2 usage error.`

// runDelete is `tessera delete LAYER...`: it looks every name up first and deletes nothing
// unless each names one layer; a failed delete stops it, the layers before it deleted.
func runDelete(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("delete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, deleteUsage) }
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "tessera delete: name the layers to delete\n\n%s\n", deleteUsage)
		return 2
	}
	return withStore("delete", true, stderr, func(ctx context.Context, st *pgstore.Store) int {
		// Only RASTER_WORKDIR matters here, which ConfigFromEnv sets whatever its error: another
		// ingest setting that is bad (RASTER_TILESIZE=x) left the files where they were, unsaid.
		ic, _ := ingest.ConfigFromEnv(os.Getenv)
		work := ic.WorkDir
		uploads := server.UploadDir(work)
		// Every name first: a name that finds no layer (or several) among others deletes none
		// of them. It deleted the layers named before it, then stopped.
		var layers []catalog.Layer
		seen := map[int64]bool{}
		failed := false
		for _, ref := range fs.Args() {
			l, err := st.Layer(ctx, ref)
			switch {
			case errors.Is(err, catalog.ErrNotFound):
				fmt.Fprintf(stderr, "tessera delete: no layer %q (tessera serve's GET /raster/layers lists them)\n", ref)
				failed = true
			case errors.Is(err, catalog.ErrAmbiguous):
				fmt.Fprintf(stderr, "tessera delete: %v: give its id or whole name\n", err)
				failed = true
			case err != nil:
				fmt.Fprintf(stderr, "tessera delete: %q: %v\n", ref, err)
				return 1
			case !seen[l.ID]:
				seen[l.ID] = true
				layers = append(layers, l)
			}
		}
		if failed {
			if len(layers) > 0 {
				fmt.Fprintln(stderr, "tessera delete: nothing deleted")
			}
			return 1
		}
		for _, l := range layers {
			if err := st.DeleteLayer(ctx, l.ID); err != nil {
				fmt.Fprintf(stderr, "tessera delete: %q: %v\n", l.Name, err)
				return 1
			}
			fmt.Fprintf(stdout, "deleted layer %q (id %d)\n", l.Name, l.ID)
			if _, err := server.RemoveUpload(ctx, st, uploads, l); err != nil {
				fmt.Fprintf(stderr, "tessera delete: %q: its uploaded file %s stays (%v); remove it by hand\n", l.Name, l.Source, err)
			}
			if _, err := ingest.RemoveKept(work, l); err != nil {
				fmt.Fprintf(stderr, "tessera delete: %q: its reprojected copy %s stays (%v); remove it by hand\n", l.Name, l.ReprojectedPath, err)
			}
		}
		return 0
	})
}
