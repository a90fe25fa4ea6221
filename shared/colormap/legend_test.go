package colormap

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLegendSorted(t *testing.T) {
	l := &Legend{Entries: []LegendEntry{
		{Name: "b", Code: "10"},
		{Name: "z", Code: "2"},
		{Name: "a", Code: "2"},
		{Name: "text", Code: "x"},
		{Name: "neg", Code: "-1.5"},
		{Name: "empty", Code: ""},
	}}
	var got []string
	for _, e := range l.Sorted() {
		got = append(got, e.Code+"/"+e.Name)
	}
	// Numeric codes as numbers ("2" before "10", which django-raster got wrong), then text.
	want := []string{"-1.5/neg", "2/a", "2/z", "10/b", "/empty", "x/text"}
	if !slices.Equal(got, want) {
		t.Fatalf("Sorted = %v, want %v", got, want)
	}
	if l.Entries[0].Name != "b" {
		t.Error("Sorted reordered the legend's own entries")
	}
}

func TestLegendJSON(t *testing.T) {
	l := &Legend{Title: "Land", Entries: []LegendEntry{
		{Name: "Water", Expression: "10", Color: "00f", Code: "10"},
		{Name: "Forest", Expression: "2", Color: "#228b22", Code: "2", Description: "trees & shrubs"},
	}}
	got, err := l.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"name":"Forest","description":"trees & shrubs","expression":"2","code":"2","color":"#228B22"},` +
		`{"name":"Water","expression":"10","code":"10","color":"#0000FF"}]`
	if string(got) != want {
		t.Fatalf("JSON =\n%s\nwant\n%s", got, want)
	}
	empty, err := (&Legend{}).JSON()
	if err != nil || string(empty) != "[]" {
		t.Fatalf("empty legend JSON = %s, %v; want []", empty, err)
	}
}

func TestLegendColormap(t *testing.T) {
	l := &Legend{Entries: []LegendEntry{
		{Name: "b", Expression: "1", Color: "#0000FF", Code: "10"},
		{Name: "a", Expression: "1", Color: "#FF0000", Code: "2"},
		{Name: "c", Expression: "3", Color: "#00FF00", Code: "3"},
	}}
	c, err := l.Colormap()
	if err != nil {
		t.Fatal(err)
	}
	// In code order: "1" red (code 2), "3" green, then "1" again (code 10) turns it blue.
	want := []Entry{{"1", blue}, {"3", green}}
	if got := c.Entries(); !slices.Equal(got, want) {
		t.Fatalf("Colormap entries = %v, want %v", got, want)
	}
}

func TestLegendValidate(t *testing.T) {
	tests := []struct {
		name    string
		entry   LegendEntry
		wantErr error
		text    string
	}{
		{"good", LegendEntry{Name: "ok", Expression: "1", Color: "#fff", Code: "1"}, nil, ""},
		{"bad colour", LegendEntry{Name: "Forest", Expression: "1", Color: "green", Code: "7"}, ErrInvalidColor, `entry 2 (name "Forest", code "7")`},
		{"bad expression", LegendEntry{Name: "Urban", Expression: "x >", Color: "#fff", Code: "8"}, ErrInvalid, `entry 2 (name "Urban", code "8"): expression`},
		{"empty expression", LegendEntry{Name: "E", Expression: " ", Color: "#fff"}, ErrInvalid, "entry 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Legend{Title: "T", Entries: []LegendEntry{{Name: "first", Expression: "0", Color: "#000", Code: "0"}, tt.entry}}
			err := l.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidLegend) || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Validate error = %v, want ErrInvalidLegend and %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not name %q", err, tt.text)
			}
			if _, err := l.Colormap(); err == nil {
				t.Error("Colormap of an invalid legend: no error")
			}
		})
	}
}
