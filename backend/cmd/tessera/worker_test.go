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
		code int
		want string
	}{
		{"extra argument", []string{"worker", "extra"}, 2, `unexpected argument "extra"`},
		{"concurrency 0", []string{"worker", "--concurrency", "0"}, 2, "--concurrency 0: want 1..1024"},
		{"concurrency too high", []string{"worker", "--concurrency", "5000"}, 2, "--concurrency 5000: want 1..1024"},
		{"not a number", []string{"worker", "--concurrency", "x"}, 2, `invalid value "x"`},
		// The default is the CPU count, not the 2 of README's example (--help showed only
		// the number of the machine it ran on).
		{"help", []string{"worker", "-h"}, 0, "the default is GOMAXPROCS, the CPUs this process may use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errText := runCmd(tc.args...)
			if code != tc.code || !strings.Contains(errText, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errText, tc.code, tc.want)
			}
		})
	}
}
