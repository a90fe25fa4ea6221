package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/jobs"
)

// TestRedisSettings: serve, ingest and worker read REDIS_URL and TESSERA_QUEUE alike, trimmed
// (ingest and worker did not trim: a REDIS_URL of spaces sent ingest to Redis).
func TestRedisSettings(t *testing.T) {
	for _, tc := range []struct {
		name             string
		env              map[string]string
		wantURL, wantQue string
	}{
		{"unset", nil, "", jobs.DefaultQueue},
		{"spaces only", map[string]string{"REDIS_URL": "  ", "TESSERA_QUEUE": " "}, "", jobs.DefaultQueue},
		{"padded", map[string]string{"REDIS_URL": " redis://127.0.0.1:6379/0\n", "TESSERA_QUEUE": " q1 "}, "redis://127.0.0.1:6379/0", "q1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, queue := redisSettings(func(k string) string { return tc.env[k] })
			if url != tc.wantURL || queue != tc.wantQue {
				t.Errorf("redisSettings = %q, %q; want %q, %q", url, queue, tc.wantURL, tc.wantQue)
			}
			c, err := loadServeConfig(nil, func(k string) string { return tc.env[k] }, &bytes.Buffer{})
			if err != nil || c.RedisURL != url || c.Queue != queue {
				t.Errorf("serve's configuration: %q, %q (%v); want what redisSettings reads", c.RedisURL, c.Queue, err)
			}
		})
	}
	t.Run("worker with a REDIS_URL of spaces", func(t *testing.T) {
		t.Setenv("REDIS_URL", "   ")
		if code, _, errText := runCmd("worker"); code != 2 || !strings.Contains(errText, "REDIS_URL is not set") {
			t.Errorf("exit %d, stderr %q; want 2 and REDIS_URL is not set", code, errText)
		}
	})
}

// TestOpenQueue: the command's name and hint frame the error of a Redis that does not answer;
// a queue no worker serves is reported idle.
func TestOpenQueue(t *testing.T) {
	var errb bytes.Buffer
	if q, _ := openQueue("ingest", "redis://127.0.0.1:1/0", "q", "a hint", &errb); q != nil {
		q.Close()
		t.Fatal("a queue on a Redis that does not answer")
	}
	if s := errb.String(); !strings.HasPrefix(s, "tessera ingest: jobs: connect to redis ") || !strings.HasSuffix(s, "\n(a hint)\n") {
		t.Errorf("stderr %q: want the command, the error, then the hint in parentheses", s)
	}
	url := dbtest.RedisURL(t)
	errb.Reset()
	q, idle := openQueue("serve", url, fmt.Sprintf("open-queue-test-%d", time.Now().UnixNano()), "a hint", &errb)
	if q == nil {
		t.Fatalf("no queue: %s", errb.String())
	}
	defer q.Close()
	if !idle || errb.Len() != 0 {
		t.Errorf("a new queue: idle %v, stderr %q; want idle and nothing printed", idle, errb.String())
	}
}
