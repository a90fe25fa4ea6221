package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
		if r.code != 1 || !strings.Contains(r.errText, "tessera key: ") {
			t.Errorf("after SIGTERM: exit %d, stderr %q; want 1 and why", r.code, r.errText)
		}
	case <-time.After(10 * time.Second):
		tx.Rollback(ctx) // let the command finish
		r := <-done
		t.Errorf("tessera key list did not stop on SIGTERM: it finished when the lock went, exit %d, stderr %q", r.code, r.errText)
	}
}
