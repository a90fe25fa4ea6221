package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tessera-gis/tessera/backend/internal/redact"
)

// DefaultQueue is the asynq queue Tessera's tasks go to.
const DefaultQueue = "tessera"

// TaskCheckInterval is how long an idle worker waits, half of it to 1.5 times, before it
// looks for tasks again: a worker process polls Redis about 10 times a second while the queue
// is empty (asynq's one fetch loop, whatever its Concurrency), a trivial load.
const TaskCheckInterval = 100 * time.Millisecond

// Queue runs tasks as asynq tasks on Redis: Run enqueues them and waits until workers (any
// number of Worker, in this process or others) have completed them.
type Queue struct {
	client    *asynq.Client
	inspector *asynq.Inspector
	queue     string
	// Poll is how often Run checks its tasks' states (100 ms).
	Poll time.Duration
	// Timeout is the longest one task may run before asynq retries it (1 h).
	Timeout time.Duration
}

// NewQueue connects to the Redis at redisURL (redis://[:password@]host:port/db).
func NewQueue(redisURL, queue string) (*Queue, error) {
	opt, client, err := connect(redisURL)
	if err != nil {
		return nil, err
	}
	if queue == "" {
		queue = DefaultQueue
	}
	return &Queue{client: client, inspector: asynq.NewInspector(opt), queue: queue, Poll: 100 * time.Millisecond, Timeout: time.Hour}, nil
}

// connect parses a REDIS_URL and checks that its Redis answers a ping, for NewQueue and
// NewWorker: it returns the connection options and the client that pinged.
func connect(redisURL string) (asynq.RedisConnOpt, *asynq.Client, error) {
	opt, err := redisOpt(redisURL)
	if err != nil {
		return nil, nil, err
	}
	c := asynq.NewClient(opt)
	if err := c.Ping(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("jobs: connect to redis %s: %w", redact.Secret(redisURL), err)
	}
	return opt, c, nil
}

// redisOpt parses a REDIS_URL; its errors never show the URL's password.
func redisOpt(redisURL string) (asynq.RedisConnOpt, error) {
	if _, err := url.Parse(redisURL); err != nil {
		// Not wrapped: url's error quotes the URL whole, password included.
		return nil, fmt.Errorf("jobs: REDIS_URL %q is not a URL: want redis://[:PASSWORD@]HOST:PORT/DB, with a password's special characters %%-escaped", redact.Secret(redisURL))
	}
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		return nil, fmt.Errorf("jobs: REDIS_URL %q: %w", redact.Secret(redisURL), err)
	}
	return opt, nil
}

// Close closes the Redis connections.
func (q *Queue) Close() error {
	return errors.Join(q.client.Close(), q.inspector.Close())
}

// Run enqueues the tasks (a task whose ID is already queued is not queued again) and waits
// until all have completed. A task that fails for good (after MaxRetry retries, or with a
// Permanent error) fails the batch: Run deletes the batch's tasks not yet started and
// returns a *TaskError. Cancelling ctx does the same and returns ctx's error.
func (q *Queue) Run(ctx context.Context, tasks []Task) error {
	if err := validate(tasks); err != nil {
		return err
	}
	pending := make(map[string]bool, len(tasks))
	for _, t := range tasks {
		_, err := q.client.EnqueueContext(ctx, asynq.NewTask(t.Kind, t.Payload),
			asynq.TaskID(t.ID), asynq.Queue(q.queue), asynq.MaxRetry(MaxRetry),
			asynq.Timeout(q.Timeout), asynq.Retention(24*time.Hour))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			q.abandon(pending)
			return fmt.Errorf("jobs: enqueue task %s: %w", t.ID, err)
		}
		pending[t.ID] = true
	}
	tick := time.NewTicker(q.Poll)
	defer tick.Stop()
	done := make([]string, 0, len(tasks))
	defer func() {
		for _, id := range done {
			_ = q.inspector.DeleteTask(q.queue, id)
		}
	}()
	for len(pending) > 0 {
		select {
		case <-ctx.Done():
			q.abandon(pending)
			return ctx.Err()
		case <-tick.C:
		}
		for id := range pending {
			info, err := q.inspector.GetTaskInfo(q.queue, id)
			if err != nil {
				if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
					q.abandon(pending)
					return &TaskError{ID: id, Err: errors.New("task vanished from the queue (deleted by someone else?)")}
				}
				continue // Redis hiccup: ask again at the next tick
			}
			switch info.State {
			case asynq.TaskStateCompleted:
				delete(pending, id)
				done = append(done, id)
			case asynq.TaskStateArchived:
				delete(pending, id)
				done = append(done, id)
				q.abandon(pending)
				return &TaskError{ID: id, Err: errors.New(info.LastErr)}
			}
		}
	}
	return nil
}

// Workers counts the worker processes (asynq servers) currently serving the queue.
func (q *Queue) Workers() (int, error) {
	servers, err := q.inspector.Servers()
	if err != nil {
		return 0, fmt.Errorf("jobs: list workers: %w", err)
	}
	n := 0
	for _, s := range servers {
		if _, ok := s.Queues[q.queue]; ok && s.Status == "active" {
			n++
		}
	}
	return n, nil
}

// abandon deletes the given tasks that have not started (running ones finish on their own;
// their writes are idempotent and belong to a parse that will not be published).
func (q *Queue) abandon(ids map[string]bool) {
	for id := range ids {
		_ = q.inspector.DeleteTask(q.queue, id)
	}
}

// Worker processes a queue's tasks with a Handler: `tessera worker` runs one per process.
type Worker struct {
	srv *asynq.Server
	mux *asynq.ServeMux
}

// WorkerOptions configures NewWorker.
type WorkerOptions struct {
	// Queue is the asynq queue (DefaultQueue when empty).
	Queue string
	// Concurrency is the number of tasks run at once (DefaultConcurrency when 0 or less).
	Concurrency int
	// Kinds lists the task kinds to handle (all of them go to the one Handler).
	Kinds []string
	// Logger receives asynq's warnings and errors (slog.Default when nil).
	Logger *slog.Logger
	// RetryDelay is the pause before retry n (n seconds when nil).
	RetryDelay func(n int) time.Duration
}

// NewWorker returns a worker for the Redis at redisURL (which must answer a ping); start it
// with Start or Run.
func NewWorker(redisURL string, o WorkerOptions, h Handler) (*Worker, error) {
	// asynq's server does not check the connection: against an unreachable Redis it runs
	// on, logging dial errors every second, so a worker started with a wrong REDIS_URL
	// looked alive. Fail here instead, as NewQueue does.
	opt, c, err := connect(redisURL)
	if err != nil {
		return nil, err
	}
	c.Close()
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency() // asynq's own default is runtime.NumCPU
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	delay := o.RetryDelay
	if delay == nil {
		delay = func(n int) time.Duration { return time.Duration(n) * time.Second }
	}
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency: o.Concurrency,
		// A worker that finds the queue empty sleeps half this plus up to all of it before it
		// looks again: with asynq's default (1 s), the tasks a parse enqueues as it goes
		// (each pyramid level after the one before) waited up to 1.5 s for an idle worker.
		TaskCheckInterval: TaskCheckInterval,
		Queues:            map[string]int{o.Queue: 1},
		RetryDelayFunc:    func(n int, _ error, _ *asynq.Task) time.Duration { return delay(n) },
		Logger:            slogLogger{o.Logger},
		LogLevel:          asynq.WarnLevel,
		ShutdownTimeout:   30 * time.Second,
	})
	mux := asynq.NewServeMux()
	hf := asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v: %w", r, asynq.SkipRetry)
			}
		}()
		id, _ := asynq.GetTaskID(ctx)
		err = h(ctx, Task{Kind: t.Type(), ID: id, Payload: t.Payload()})
		if errors.Is(err, ErrPermanent) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return err
	})
	for _, k := range o.Kinds {
		mux.Handle(k, hf)
	}
	return &Worker{srv: srv, mux: mux}, nil
}

// Start starts processing in the background; stop with Shutdown.
func (w *Worker) Start() error { return w.srv.Start(w.mux) }

// Shutdown stops taking tasks and waits (up to 30 s) for the running ones.
func (w *Worker) Shutdown() { w.srv.Shutdown() }

// Run processes tasks until the process gets SIGINT or SIGTERM.
func (w *Worker) Run() error { return w.srv.Run(w.mux) }

// slogLogger adapts slog to asynq's Logger.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Debug(args ...any) { s.l.Debug(fmt.Sprint(args...)) }
func (s slogLogger) Info(args ...any)  { s.l.Info(fmt.Sprint(args...)) }
func (s slogLogger) Warn(args ...any)  { s.l.Warn(fmt.Sprint(args...)) }
func (s slogLogger) Error(args ...any) { s.l.Error(fmt.Sprint(args...)) }
func (s slogLogger) Fatal(args ...any) { s.l.Error(fmt.Sprint(args...)) }
