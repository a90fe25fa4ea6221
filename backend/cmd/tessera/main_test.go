package main

import (
	"strings"
	"testing"
)

// TestBadFlag pins that a bad flag prints its message and a pointer to --help, not the whole
// usage: under it the message scrolled away (tessera ingest --srid x printed 40 lines of
// options after it). -h still prints the whole usage.
func TestBadFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ingest", "a.tif", "--srid", "x"}, `tessera ingest: invalid value "x" for flag -srid`},
		{[]string{"ingest", "--bogus", "a.tif"}, "tessera ingest: flag provided but not defined: -bogus"},
		{[]string{"worker", "--concurrency", "x"}, `tessera worker: invalid value "x" for flag -concurrency`},
		{[]string{"gendata", "--bogus"}, "tessera gendata: flag provided but not defined: -bogus"},
		{[]string{"delete", "--bogus", "x"}, "tessera delete: flag provided but not defined: -bogus"},
		{[]string{"migrate", "--bogus"}, "tessera migrate: flag provided but not defined: -bogus"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errText := runCmd(tc.args...)
			if code != 2 || !strings.Contains(errText, tc.want) || !strings.Contains(errText, "--help lists the options") || strings.Contains(errText, "usage:") {
				t.Errorf("exit %d, stderr %q; want 2, %q and a pointer to --help, without the usage", code, errText, tc.want)
			}
		})
		t.Run(tc.args[0]+" -h", func(t *testing.T) {
			code, _, errText := runCmd(tc.args[0], "-h")
			if code != 0 || !strings.HasPrefix(errText, "usage: tessera "+tc.args[0]) {
				t.Errorf("exit %d, stderr %q; want 0 and the usage", code, errText)
			}
		})
	}
}
