package main

import (
	"strings"
	"testing"
)

// TestWorkerUsage pins that each usage error names its own problem: an extra argument and
// a bad --concurrency both printed "no arguments expected; --concurrency must be 1..1024".
func TestWorkerUsage(t *testing.T) {
	t.Setenv("REDIS_URL", "redis://127.0.0.1:1/0")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"extra argument", []string{"worker", "extra"}, `unexpected argument "extra"`},
		{"concurrency 0", []string{"worker", "--concurrency", "0"}, "--concurrency 0: want 1..1024"},
		{"concurrency too high", []string{"worker", "--concurrency", "5000"}, "--concurrency 5000: want 1..1024"},
		{"not a number", []string{"worker", "--concurrency", "x"}, `invalid value "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errText := runCmd(tc.args...)
			if code != 2 || !strings.Contains(errText, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errText, tc.want)
			}
		})
	}
}
