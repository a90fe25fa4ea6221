package main

import (
	"flag"
	"io"
	"slices"
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

// TestParseInterspersed: flags before, between and after the arguments (tessera ingest and
// tessera key take them there), a flag's value is not an argument, all after -- are, and a
// bad flag ends the command with 2, -h with 0.
func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		pos      []string
		code     int
		ok, read bool
		queue    string
	}{
		{"flags first", []string{"--read", "--queue", "q", "a"}, []string{"a"}, 0, true, true, "q"},
		{"flags after", []string{"a", "--read", "b", "--queue", "q"}, []string{"a", "b"}, 0, true, true, "q"},
		{"value is no argument", []string{"--queue", "a"}, nil, 0, true, false, "a"},
		{"an argument after --", []string{"a", "--", "--read"}, []string{"a", "--read"}, 0, true, false, ""},
		{"all after -- are arguments", []string{"--", "a", "--read", "b"}, []string{"a", "--read", "b"}, 0, true, false, ""},
		{"all after a later --", []string{"a", "--read", "--", "b", "--queue", "q"}, []string{"a", "b", "--queue", "q"}, 0, true, true, ""},
		{"-- as a flag's value", []string{"--queue", "--", "a", "--read"}, []string{"a"}, 0, true, true, "--"},
		{"-- after a bool flag", []string{"--read", "--", "--queue"}, []string{"--queue"}, 0, true, true, ""},
		{"lone dash is an argument", []string{"-", "--read"}, []string{"-"}, 0, true, true, ""},
		{"bad flag", []string{"a", "--bogus"}, nil, 2, false, false, ""},
		{"help", []string{"a", "-h"}, nil, 0, false, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			read := fs.Bool("read", false, "")
			queue := fs.String("queue", "", "")
			pos, code, ok := parseInterspersed(fs, tc.args)
			if !slices.Equal(pos, tc.pos) || code != tc.code || ok != tc.ok || ok && (*read != tc.read || *queue != tc.queue) {
				t.Errorf("pos %q, code %d, ok %v, read %v, queue %q; want %q, %d, %v, %v, %q",
					pos, code, ok, *read, *queue, tc.pos, tc.code, tc.ok, tc.read, tc.queue)
			}
		})
	}
}
