package tiles

// MatchesETag reports whether an If-None-Match header value names etag, by the weak
// comparison RFC 9110 §13.1.2 prescribes for it: the header is "*" (any current
// representation) or a comma-separated list of entity tags, each optionally weak (W/), and
// a listed tag matches when its quoted opaque part equals etag's, whether either is weak.
// A tag must match whole: a header naming "abcd" does not match "abc". A malformed list
// matches nothing past the point where it stops parsing, so the client gets the full
// answer.
func MatchesETag(ifNoneMatch, etag string) bool {
	want := opaqueTag(etag)
	if want == "" {
		return false
	}
	s := ifNoneMatch
	for {
		s = trimListSpace(s)
		if s == "" {
			return false
		}
		if s[0] == '*' {
			return true
		}
		if len(s) >= 2 && s[:2] == "W/" {
			s = s[2:]
		}
		if s == "" || s[0] != '"' {
			return false
		}
		end := 1
		for end < len(s) && s[end] != '"' {
			end++
		}
		if end == len(s) { // no closing quote
			return false
		}
		if s[:end+1] == want {
			return true
		}
		s = s[end+1:]
		if s != "" && s[0] != ',' && s[0] != ' ' && s[0] != '\t' {
			return false // junk right after a tag: not a list
		}
	}
}

// opaqueTag returns etag's quoted opaque part (without a W/ prefix), or "" when etag is not
// an entity tag.
func opaqueTag(etag string) string {
	if len(etag) >= 2 && etag[:2] == "W/" {
		etag = etag[2:]
	}
	if len(etag) < 2 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		return ""
	}
	return etag
}

// trimListSpace skips the spaces, tabs and commas that separate the members of a list.
func trimListSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t' || s[0] == ',') {
		s = s[1:]
	}
	return s
}
