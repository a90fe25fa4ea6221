package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
)

const deleteUsage = `usage: tessera delete LAYER...

Deletes layers, each named by id, name or file-name fragment (as the tile URLs name them),
with their tiles, metadata, statistics and parse log, from the database of DATABASE_URL
(default ` + pgstore.DefaultDSN + `). The raster files they were made from stay where they
are. A parse of the layer running at that moment fails. Over HTTP: DELETE /raster/layers/{ref}
with the admin token (that route also removes the file of an upload).`

// runDelete is `tessera delete LAYER...`: it stops at the first layer it cannot delete,
// having deleted the ones before it, and says so.
func runDelete(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("delete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, deleteUsage) }
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "tessera delete: name the layers to delete\n\n%s\n", deleteUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	st, code := openMigrated(ctx, "delete", stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	for _, ref := range fs.Args() {
		l, err := st.Layer(ctx, ref)
		if err == nil {
			err = st.DeleteLayer(ctx, l.ID)
		}
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			fmt.Fprintf(stderr, "tessera delete: no layer %q (tessera serve's GET /raster/layers lists them)\n", ref)
			return 1
		case errors.Is(err, catalog.ErrAmbiguous):
			fmt.Fprintf(stderr, "tessera delete: %v: give its id or whole name\n", err)
			return 1
		case err != nil:
			fmt.Fprintf(stderr, "tessera delete: %q: %v\n", ref, err)
			return 1
		}
		fmt.Fprintf(stdout, "deleted layer %q (id %d)\n", l.Name, l.ID)
	}
	return 0
}
