package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/tessera-gis/tessera/backend/internal/jobs"
)

// redisSettings reads where parses go, as serve, ingest and worker all read it: the Redis of
// REDIS_URL (empty: no Redis, the parses run in the process) and the asynq queue of
// TESSERA_QUEUE (jobs.DefaultQueue when unset), both trimmed. (Serve trimmed them, ingest and
// worker did not: a REDIS_URL of spaces sent ingest's parses to a Redis of " " where serve
// parsed in its process, and a trailing space made ingest refuse a URL serve took.)
func redisSettings(getenv func(string) string) (redisURL, queue string) {
	redisURL = strings.TrimSpace(getenv("REDIS_URL"))
	if queue = strings.TrimSpace(getenv("TESSERA_QUEUE")); queue == "" {
		queue = jobs.DefaultQueue
	}
	return redisURL, queue
}

// openQueue connects `tessera cmd` to the asynq queue on the Redis at redisURL (serve and
// ingest had a copy each). When that Redis cannot be used it prints "tessera cmd: ERROR" and,
// on the next line in parentheses, hint (what to do, which differs by command) to stderr and
// returns nil. idle reports that no worker serves the queue yet (false when that cannot be
// told); the caller says what that means for it.
func openQueue(cmd, redisURL, queue, hint string, stderr io.Writer) (q *jobs.Queue, idle bool) {
	q, err := jobs.NewQueue(redisURL, queue)
	if err != nil {
		fmt.Fprintf(stderr, "tessera %s: %v\n(%s)\n", cmd, err, hint)
		return nil, false
	}
	n, err := q.Workers()
	return q, err == nil && n == 0
}
