package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tessera-gis/tessera/backend/internal/ingest"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
)

const workerUsage = `usage: tessera worker [--concurrency N] [--queue NAME]

Runs ingest tasks from the Redis of REDIS_URL (asynq) against the database of DATABASE_URL
until SIGINT or SIGTERM. Start any number, on any machine that sees the same RASTER_WORKDIR
(the parse's grid-aligned rasters live there) and can reach the database.

options:`

// runWorker is `tessera worker`.
func runWorker(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, workerUsage)
		fs.PrintDefaults()
	}
	conc := fs.Int("concurrency", jobs.DefaultConcurrency(), "tasks run at once; the default is GOMAXPROCS, the CPUs this process may use")
	url, defaultQueue := redisSettings(os.Getenv)
	queue := fs.String("queue", defaultQueue, "asynq queue (TESSERA_QUEUE, else tessera)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "tessera worker: unexpected argument %q (it takes none; see tessera worker --help)\n", fs.Arg(0))
		return 2
	}
	if *conc < 1 || *conc > 1024 {
		fmt.Fprintf(stderr, "tessera worker: --concurrency %d: want 1..1024\n", *conc)
		return 2
	}
	if url == "" {
		fmt.Fprintln(stderr, "tessera worker: REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	st, code := openMigrated(ctx, "worker", databaseURL(), stderr)
	stop() // from here asynq handles the signals
	if st == nil {
		return code
	}
	defer st.Close()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w, err := jobs.NewWorker(url, jobs.WorkerOptions{Queue: *queue, Concurrency: *conc, Kinds: ingest.TaskKinds, Logger: logger}, ingest.NewTaskHandler(st))
	if err != nil {
		fmt.Fprintf(stderr, "tessera worker: %v\n(check REDIS_URL; scripts/services.sh starts the local Redis)\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "tessera worker: processing queue %q with %d at once\n", *queue, *conc)
	if err := w.Run(); err != nil {
		fmt.Fprintf(stderr, "tessera worker: %v\n", err)
		return 1
	}
	return 0
}
