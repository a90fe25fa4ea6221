// Package jobs runs batches of independent tasks to completion, either in an in-process pool
// of goroutines (Pool) or as asynq tasks on Redis (Queue) processed by any number of worker
// processes on any machine (Worker, run by `tessera worker`). Both take the same Handler and
// offer the same Run call, so the caller does not know where its tasks run.
//
// Tasks must be idempotent: a task whose worker dies, times out or fails is run again
// (up to MaxRetry more times) unless its error is Permanent.
//
// Why: django-raster distributes parses with celery; asynq on Redis plays celery's part here,
// and without Redis the same tasks run in the process (django-raster ran them in the request).
package jobs

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Task is one unit of work.
type Task struct {
	// Kind selects the handler's behaviour (the asynq task type).
	Kind string
	// ID is unique per task; enqueuing an ID twice runs the task once.
	ID string
	// Payload is the task's input, opaque to this package (at most MaxPayload bytes).
	Payload []byte
}

// MaxPayload is the largest payload a task may carry.
const MaxPayload = 64 << 10

// MaxRetry is how many more times a failed task runs before its batch fails.
const MaxRetry = 3

// Handler runs one task. It must be safe for concurrent use.
type Handler func(ctx context.Context, t Task) error

// ErrPermanent marks errors that retrying cannot fix; wrap with Permanent.
var ErrPermanent = errors.New("permanent failure")

// Permanent wraps err so that the task is not retried.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// TaskError is the error of a task that failed for good.
type TaskError struct {
	ID  string
	Err error
}

func (e *TaskError) Error() string { return fmt.Sprintf("jobs: task %s failed: %v", e.ID, e.Err) }

func (e *TaskError) Unwrap() error { return e.Err }

func validate(tasks []Task) error {
	seen := make(map[string]bool, len(tasks))
	for _, t := range tasks {
		if t.ID == "" || t.Kind == "" {
			return fmt.Errorf("jobs: task %q of kind %q: id and kind are required", t.ID, t.Kind)
		}
		if seen[t.ID] {
			return fmt.Errorf("jobs: task id %q used twice in one batch", t.ID)
		}
		seen[t.ID] = true
		if len(t.Payload) > MaxPayload {
			return fmt.Errorf("jobs: task %s: payload of %d bytes is over the %d-byte limit", t.ID, len(t.Payload), MaxPayload)
		}
	}
	return nil
}

// DefaultConcurrency is how many tasks to run at once when no one says: GOMAXPROCS, the CPUs
// this process may use. It honours a container's CPU limit (Go 1.25 and later derive GOMAXPROCS
// from the cgroup quota) and the GOMAXPROCS variable, where runtime.NumCPU counts every CPU of
// the machine. Every in-process parse pool and worker is sized by it (serve used NumCPU while
// ingest and worker used GOMAXPROCS).
func DefaultConcurrency() int { return runtime.GOMAXPROCS(0) }

// Pool runs tasks on a fixed number of goroutines in this process.
type Pool struct {
	handler Handler
	jobs    chan poolJob
	wg      sync.WaitGroup
	once    sync.Once
	// retryDelay is the pause before retry n (1-based).
	retryDelay func(n int) time.Duration
}

type poolJob struct {
	ctx  context.Context
	task Task
	done chan<- error
}

// NewPool starts workers goroutines (at least one) running h.
func NewPool(workers int, h Handler) *Pool {
	p := &Pool{handler: h, jobs: make(chan poolJob), retryDelay: func(n int) time.Duration { return time.Duration(n) * 200 * time.Millisecond }}
	for range max(workers, 1) {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

func (p *Pool) work() {
	defer p.wg.Done()
	for j := range p.jobs {
		j.done <- p.runOne(j.ctx, j.task)
	}
}

// runOne runs a task, retrying failures up to MaxRetry times; a panic in the handler is a
// permanent failure of that task, not of the process.
func (p *Pool) runOne(ctx context.Context, t Task) error {
	var err error
	for attempt := 0; attempt <= MaxRetry; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(p.retryDelay(attempt)):
			}
		}
		err = p.call(ctx, t)
		if err == nil || errors.Is(err, ErrPermanent) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return &TaskError{ID: t.ID, Err: err}
	}
	return nil
}

func (p *Pool) call(ctx context.Context, t Task) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("panic: %v", r))
		}
	}()
	return p.handler(ctx, t)
}

// Run runs the tasks and waits for all of them. It returns the first task's error (after
// the others have finished or been cancelled), or ctx's error.
func (p *Pool) Run(ctx context.Context, tasks []Task) error {
	if err := validate(tasks); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, len(tasks))
	go func() {
		for _, t := range tasks {
			select {
			case p.jobs <- poolJob{ctx: ctx, task: t, done: done}:
			case <-ctx.Done():
				done <- ctx.Err()
			}
		}
	}()
	var first error
	for range tasks {
		if err := <-done; err != nil && first == nil {
			first = err
			cancel() // the rest of the batch is pointless now
		}
	}
	return first
}

// Close stops the workers after the tasks being run; Run must not be called afterwards.
func (p *Pool) Close() {
	p.once.Do(func() { close(p.jobs) })
	p.wg.Wait()
}
