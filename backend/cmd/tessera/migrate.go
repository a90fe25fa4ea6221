package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/tessera-gis/tessera/backend/internal/pgstore"
)

const migrateUsage = `usage: tessera migrate [up|status|down]

Applies Tessera's SQL migrations to the database of DATABASE_URL
(default ` + pgstore.DefaultDSN + `).

  up      apply every pending migration (the default; serve, ingest and worker also do it)
  status  list the migrations and whether each is applied
  down    roll back the latest applied migration (drops its tables and their data)`

// runMigrate is `tessera migrate [up|status|down]`.
func runMigrate(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, migrateUsage) }
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	action := "up"
	switch fs.NArg() {
	case 0:
	case 1:
		action = fs.Arg(0)
	default:
		fmt.Fprintf(stderr, "tessera migrate: one action expected, got %q\n\n%s\n", fs.Args(), migrateUsage)
		return 2
	}
	if action == "help" {
		fmt.Fprintln(stderr, migrateUsage)
		return 0
	}
	if action != "up" && action != "status" && action != "down" {
		fmt.Fprintf(stderr, "tessera migrate: unknown action %q: use up, status or down\n", action)
		return 2
	}

	return withStore("migrate", false, stderr, func(ctx context.Context, st *pgstore.Store) int {
		switch action {
		case "up":
			if err := st.Migrate(ctx); err != nil {
				fmt.Fprintf(stderr, "tessera migrate: %v\n", err)
				return 1
			}
			fallthrough
		case "status":
			ms, err := st.MigrationStatus(ctx)
			if err != nil {
				fmt.Fprintf(stderr, "tessera migrate: %v\n", err)
				return 1
			}
			for _, m := range ms {
				state := "pending"
				if m.Applied {
					state = "applied"
				}
				fmt.Fprintf(stdout, "%05d  %-8s %s\n", m.Version, state, m.Source)
			}
		case "down":
			v, err := st.MigrateDown(ctx)
			if err != nil {
				fmt.Fprintf(stderr, "tessera migrate: %v\n", err)
				return 1
			}
			if v == 0 {
				fmt.Fprintln(stdout, "no migration applied; nothing to roll back")
			} else {
				fmt.Fprintf(stdout, "rolled back migration %05d\n", v)
			}
		}
		return 0
	})
}
