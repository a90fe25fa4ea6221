package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestColorize(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantCode int
		want     string // exact stdout, or for errors a part of the message
	}{
		{"discrete with counts; nodata and unmatched transparent",
			`{"data": [[1, 2], [3, -9999]], "nodata": -9999, "colormap": {"1": "#ff0000", "2": [0, 0, 255]}}`, 0,
			`{"rgba":[[255,0,0,255],[0,0,255,255],[0,0,0,0],[0,0,0,0]],"stats":{"1":1,"2":1}}` + "\n"},
		{"null is nodata", `{"data": [[null, 1]], "nodata": null, "colormap": {"1": "#fff"}}`, 0,
			`{"rgba":[[0,0,0,0],[255,255,255,255]],"stats":{"1":1}}` + "\n"},
		{"grayscale by default over the data's range", `{"data": [[0, 5, 10]]}`, 0,
			`{"rgba":[[0,0,0,255],[127,127,127,255],[255,255,255,255]],"stats":{}}` + "\n"},
		{"named colormap with a range", `{"data": [[0, 1]], "colormap": "viridis", "range": [0, 1]}`, 0,
			`{"rgba":[[68,1,84,255],[253,231,37,255]],"stats":{}}` + "\n"},
		{"colormap given as a string of single-quoted pseudo-JSON", `{"data": [[7]], "colormap": "{'7': '#00ff00'}"}`, 0,
			`{"rgba":[[0,255,0,255]],"stats":{"7":1}}` + "\n"},
		{"continuous over", `{"data": [[0, 25, 50, 100]], "colormap": {"continuous": true, "from": "#ff0000", "over": "#00ff00", "to": "#0000ff"}}`, 0,
			`{"rgba":[[255,0,0,255],[127,127,0,255],[0,255,0,255],[0,0,255,255]],"stats":{}}` + "\n"},
		{"ragged rows", `{"data": [[1, 2], [3]]}`, 2, "row 1 has 1 values, row 0 has 2"},
		{"empty data", `{"data": []}`, 2, "data is empty"},
		{"not JSON", `{"data": [[1]]`, 2, "not the expected JSON"},
		{"unknown field", `{"data": [[1]], "colours": {}}`, 2, "colours"},
		{"string in data", `{"data": [["a"]]}`, 2, "not the expected JSON"},
		{"bad colour", `{"data": [[1]], "colormap": {"1": "#ff"}}`, 2, "Invalid color, could not convert hex to rgb."},
		{"unknown colormap name", `{"data": [[1]], "colormap": "nope"}`, 2, "unknown colormap name"},
		{"bad range", `{"data": [[1]], "range": [3, 1]}`, 2, "minimum above"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runColorize(nil, strings.NewReader(tt.in), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if tt.wantCode == 0 {
				if stdout.String() != tt.want {
					t.Fatalf("stdout =\n%s\nwant\n%s", stdout.String(), tt.want)
				}
				return
			}
			var e struct{ Error string }
			if err := json.Unmarshal(stdout.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("stdout %q is not {\"error\": …}: %v", stdout.String(), err)
			}
			if !strings.Contains(e.Error, tt.want) {
				t.Fatalf("error %q does not contain %q", e.Error, tt.want)
			}
		})
	}
}

func TestColorizeArgs(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runColorize([]string{"extra"}, strings.NewReader(`{"data": [[1]]}`), &stdout, &stderr); code != 2 || !strings.Contains(stdout.String(), "no arguments") {
		t.Fatalf("extra argument: exit %d, stdout %s", code, stdout.String())
	}
	stdout.Reset()
	// The usage says how a bad input ends, as eval's does (it did not).
	if code := runColorize([]string{"-h"}, strings.NewReader(""), &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "usage") || !strings.Contains(stderr.String(), `prints {"error": "…"} and exits 2`) {
		t.Fatalf("-h: exit %d, stderr %s", code, stderr.String())
	}
}
