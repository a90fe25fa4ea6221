package tiles_test

import (
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/tiles"
)

func TestMatchesETag(t *testing.T) {
	const tag = `"0123456789abcdef"`
	tests := []struct {
		name, header, etag string
		want               bool
	}{
		{"no header", "", tag, false},
		{"same tag", tag, tag, true},
		{"other tag", `"fedcba9876543210"`, tag, false},
		{"star", "*", tag, true},
		{"star with spaces", "  * ", tag, true},
		{"list, second", `"aaaa", ` + tag, tag, true},
		{"list without spaces", `"aaaa",` + tag + `,"bbbb"`, tag, true},
		{"list, none", `"aaaa", "bbbb"`, tag, false},
		{"weak header tag", `W/` + tag, tag, true},
		{"weak in a list", `"aaaa", W/` + tag, tag, true},
		{"weak resource tag", tag, `W/` + tag, true},
		{"lower-case w is not weak", `w/` + tag, tag, false},
		{"longer tag holding ours", `"0123456789abcdef0"`, `"0123456789abcdef"`, false},
		{"shorter tag inside ours", `"0123"`, `"0123456789abcdef"`, false},
		{"tag glued after another", `"x"` + tag, tag, false},
		{"comma inside a tag", `"a,b"`, `"a,b"`, true},
		{"comma inside a tag, part", `"a,b"`, `"a"`, false},
		{"unquoted", "0123456789abcdef", tag, false},
		{"unterminated", `"0123456789abcdef`, tag, false},
		{"resource tag unquoted", "abc", "abc", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tiles.MatchesETag(tc.header, tc.etag); got != tc.want {
				t.Errorf("MatchesETag(%q, %q) = %v, want %v", tc.header, tc.etag, got, tc.want)
			}
		})
	}
}

// FuzzMatchesETag: never panics; a header without * matches only a tag it holds whole; a
// tag matches itself, alone or at the end of a list.
func FuzzMatchesETag(f *testing.F) {
	for _, s := range [][2]string{{`"a"`, `"a"`}, {`W/"a", "b"`, `"b"`}, {"*", `"x"`}, {`"a,b"`, `"a"`}, {`"x"abc"`, `"abc"`}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, header, etag string) {
		got := tiles.MatchesETag(header, etag)
		opaque := strings.TrimPrefix(etag, "W/")
		if got && !strings.Contains(header, "*") && !strings.Contains(header, opaque) {
			t.Fatalf("MatchesETag(%q, %q) = true, but the header does not hold the tag", header, etag)
		}
		if len(opaque) >= 2 && opaque[0] == '"' && opaque[len(opaque)-1] == '"' && !strings.Contains(opaque[1:len(opaque)-1], `"`) {
			if !tiles.MatchesETag(etag, etag) || !tiles.MatchesETag(`"zz", `+etag, etag) {
				t.Fatalf("tag %q does not match itself", etag)
			}
		}
	})
}
