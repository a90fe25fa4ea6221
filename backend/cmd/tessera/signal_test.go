package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-gis/tessera/backend/internal/pgstore"
)

// TestStoreCommandStopsOnSIGTERM: the commands that run through withStore (key, delete and
// migrate) stop on SIGTERM, as ingest, serve and worker do; they stopped on
// Ctrl-C only, so a supervisor's SIGTERM (docker stop, systemd) killed them in the middle
// of their work. `tessera key list` waits here on the migrations, which a transaction that
// holds goose's version table locked keeps from reading it.
func TestStoreCommandStopsOnSIGTERM(t *testing.T) {
	dsn := cliEnv(t)
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE goose_db_version IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	watcher, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close(ctx)

	// Without the command's handler a SIGTERM would end the test binary: catch it here too.
	caught := make(chan os.Signal, 1)
	signal.Notify(caught, syscall.SIGTERM)
	defer signal.Stop(caught)

	type result struct {
		code    int
		errText string
	}
	done := make(chan result, 1)
	go func() {
		code, _, errText := runCmd("key", "list")
		done <- result{code, errText}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting bool
		err := watcher.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid())`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("tessera key list never waited on the locked version table")
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)

	select {
	case r := <-done:
		// It says that it was interrupted: the store's error alone ("pgstore: migrate: lock:
		// conn closed") did not.
		if r.code != 1 || !strings.HasPrefix(r.errText, "tessera key: interrupted before the migrations finished (pgstore: migrate: ") {
			t.Errorf("after SIGTERM: exit %d, stderr %q; want 1 and that it was interrupted", r.code, r.errText)
		}
	case <-time.After(10 * time.Second):
		tx.Rollback(ctx) // let the command finish
		r := <-done
		t.Errorf("tessera key list did not stop on SIGTERM: it finished when the lock went, exit %d, stderr %q", r.code, r.errText)
	}
}

// TestOpenInterrupted: a store that does not open because a signal ended the context says it
// was interrupted, not the advice for a database that does not answer ("set DATABASE_URL, or
// run scripts/services.sh"), which it printed before.
func TestOpenInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, open := range []func(context.Context, string, string, io.Writer, ...pgstore.Option) (*pgstore.Store, int){openDSN, openMigrated} {
		var stderr strings.Builder
		st, code := open(ctx, "key", pgstore.DefaultDSN, &stderr)
		if st != nil {
			st.Close()
		}
		if st != nil || code != 1 || !strings.HasPrefix(stderr.String(), "tessera key: interrupted while opening the database (") ||
			strings.Contains(stderr.String(), "DATABASE_URL") {
			t.Errorf("cancelled: store %v, exit %d, stderr %q", st != nil, code, stderr.String())
		}
	}
}
