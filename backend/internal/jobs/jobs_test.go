package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
)

// recorder is a handler that records which worker ran which task, fails tasks named in
// failOnce on their first run, and fails "perm-*" tasks permanently.
type recorder struct {
	mu       sync.Mutex
	runs     map[string]int
	failOnce map[string]bool
}

func newRecorder(failOnce ...string) *recorder {
	r := &recorder{runs: map[string]int{}, failOnce: map[string]bool{}}
	for _, id := range failOnce {
		r.failOnce[id] = true
	}
	return r
}

func (r *recorder) handle(ctx context.Context, t Task) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs[string(t.Payload)]++
	if len(t.Payload) > 5 && string(t.Payload[:5]) == "perm-" {
		return Permanent(errors.New("bad payload " + string(t.Payload)))
	}
	if r.failOnce[string(t.Payload)] && r.runs[string(t.Payload)] == 1 {
		return errors.New("transient failure")
	}
	return nil
}

func tasks(prefix string, n int) []Task {
	out := make([]Task, n)
	for i := range out {
		p := fmt.Sprintf("%s%d", prefix, i)
		out[i] = Task{Kind: "test:kind", ID: p, Payload: []byte(p)}
	}
	return out
}

func TestPool(t *testing.T) {
	tests := []struct {
		name     string
		tasks    []Task
		failOnce []string
		wantErr  bool
		wantRuns map[string]int
	}{
		{"all succeed", tasks("a", 20), nil, false, map[string]int{"a0": 1, "a19": 1}},
		{"transient failure retried", tasks("b", 3), []string{"b1"}, false, map[string]int{"b0": 1, "b1": 2, "b2": 1}},
		{"permanent failure not retried", append(tasks("c", 2), Task{Kind: "k", ID: "p", Payload: []byte("perm-x")}), nil, true, map[string]int{"perm-x": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder(tc.failOnce...)
			p := NewPool(3, r.handle)
			p.retryDelay = func(int) time.Duration { return time.Millisecond }
			defer p.Close()
			err := p.Run(context.Background(), tc.tasks)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Run = %v, want error %v", err, tc.wantErr)
			}
			var te *TaskError
			if tc.wantErr && (!errors.As(err, &te) || te.ID != "p" || !errors.Is(err, ErrPermanent)) {
				t.Errorf("error %v is not the permanent TaskError of p", err)
			}
			for id, n := range tc.wantRuns {
				if r.runs[id] != n {
					t.Errorf("task %s ran %d times, want %d", id, r.runs[id], n)
				}
			}
			if !tc.wantErr && len(r.runs) != len(tc.tasks) {
				t.Errorf("%d distinct tasks ran, want %d", len(r.runs), len(tc.tasks))
			}
		})
	}
}

func TestPoolPanicAndValidation(t *testing.T) {
	p := NewPool(1, func(ctx context.Context, t Task) error { panic("boom") })
	defer p.Close()
	if err := p.Run(context.Background(), tasks("x", 1)); !errors.Is(err, ErrPermanent) {
		t.Errorf("panicking handler: %v, want a permanent error", err)
	}
	dup := []Task{{Kind: "k", ID: "1"}, {Kind: "k", ID: "1"}}
	if err := p.Run(context.Background(), dup); err == nil {
		t.Error("duplicate ids accepted")
	}
	big := []Task{{Kind: "k", ID: "1", Payload: make([]byte, MaxPayload+1)}}
	if err := p.Run(context.Background(), big); err == nil {
		t.Error("oversized payload accepted")
	}
}

func TestQueueTwoWorkers(t *testing.T) {
	url := dbtest.RedisURL(t)
	queue := fmt.Sprintf("test-jobs-%d-%d", os.Getpid(), time.Now().UnixNano())
	r := newRecorder("q3")
	var byWorker [2]atomic.Int64
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	for i := range 2 {
		i := i
		w, err := NewWorker(url, WorkerOptions{Queue: queue, Concurrency: 2, Kinds: []string{"test:kind"}, Logger: quiet,
			RetryDelay: func(int) time.Duration { return 10 * time.Millisecond }},
			func(ctx context.Context, tk Task) error {
				byWorker[i].Add(1)
				// Hold every task until both workers have started one (or 20 s pass), so a
				// busy machine cannot let one worker drain the queue while the other sleeps
				// between polls: the test shows the two sharing one run, deterministically.
				for wait := time.Now().Add(20 * time.Second); time.Now().Before(wait); time.Sleep(5 * time.Millisecond) {
					if byWorker[0].Load() > 0 && byWorker[1].Load() > 0 {
						break
					}
				}
				return r.handle(ctx, tk)
			})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Shutdown()
	}
	q, err := NewQueue(url, queue)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	defer q.inspector.DeleteQueue(queue, true)
	q.Poll = 20 * time.Millisecond
	// Servers register with Redis shortly after starting.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := q.Workers()
		if err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Workers() = %d, want 2", n)
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ts := tasks("q", 40)
	if err := q.Run(ctx, ts); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	for _, tk := range ts {
		want := 1
		if string(tk.Payload) == "q3" {
			want = 2 // failed once, retried
		}
		if r.runs[string(tk.Payload)] != want {
			t.Errorf("task %s ran %d times, want %d", tk.ID, r.runs[string(tk.Payload)], want)
		}
	}
	r.mu.Unlock()
	if byWorker[0].Load() == 0 || byWorker[1].Load() == 0 {
		t.Errorf("one worker did nothing: %d and %d tasks", byWorker[0].Load(), byWorker[1].Load())
	}

	// A permanent failure fails the batch with that task's error.
	bad := append(tasks("r", 2), Task{Kind: "test:kind", ID: "perm", Payload: []byte("perm-y")})
	err = q.Run(ctx, bad)
	var te *TaskError
	if !errors.As(err, &te) || te.ID != "perm" {
		t.Fatalf("Run with a permanent failure = %v, want TaskError for perm", err)
	}
}

// TestUnreachableRedis checks that NewWorker and NewQueue refuse a Redis that does not
// answer (NewWorker used to return a worker that logged dial errors forever).
func TestUnreachableRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	url := "redis://" + addr + "/0"
	h := func(context.Context, Task) error { return nil }
	if w, err := NewWorker(url, WorkerOptions{Kinds: []string{"test:kind"}}, h); err == nil {
		w.Shutdown()
		t.Error("NewWorker: no error for a Redis that is not there")
	} else if !strings.Contains(err.Error(), "connect to redis "+url) {
		t.Errorf("NewWorker: error %q does not say it could not connect to %s", err, url)
	}
	if q, err := NewQueue(url, ""); err == nil {
		q.Close()
		t.Error("NewQueue: no error for a Redis that is not there")
	}
	// A password in the URL never reaches the message.
	secret := "redis://:s3cret-pw@" + addr + "/0"
	_, werr := NewWorker(secret, WorkerOptions{Kinds: []string{"test:kind"}}, h)
	_, qerr := NewQueue(secret, "")
	for _, err := range []error{werr, qerr} {
		if err == nil || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), addr) {
			t.Errorf("error %v: want one naming %s without the password", err, addr)
		}
	}
}

// TestBadRedisURLHidesPassword: a REDIS_URL that does not parse (here a bad %-escape in the
// password) is refused without printing the password, neither in Tessera's words nor in the
// parser's error, which quotes the URL whole.
func TestBadRedisURLHidesPassword(t *testing.T) {
	h := func(context.Context, Task) error { return nil }
	for _, bad := range []string{"redis://:s3cret%zz@127.0.0.1:6379/0", "ftp://:s3cret@127.0.0.1:6379/0"} {
		_, werr := NewWorker(bad, WorkerOptions{Kinds: []string{"test:kind"}}, h)
		_, qerr := NewQueue(bad, "")
		for _, err := range []error{werr, qerr} {
			if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "REDIS_URL") {
				t.Errorf("%s: error %v; want one naming REDIS_URL without the password", bad, err)
			}
		}
	}
}

// TestDefaultConcurrency checks that the pools' default size follows GOMAXPROCS, also above
// the machine's CPU count, where runtime.NumCPU (which serve used) would not.
func TestDefaultConcurrency(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	for _, n := range []int{1, runtime.NumCPU() + 1} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", n), func(t *testing.T) {
			runtime.GOMAXPROCS(n)
			if got := DefaultConcurrency(); got != n {
				t.Errorf("DefaultConcurrency() = %d with GOMAXPROCS %d", got, n)
			}
		})
	}
}
