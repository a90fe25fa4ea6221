// Package redact hides the passwords of connection strings (DATABASE_URL, REDIS_URL) in
// messages and logs.
package redact

import (
	"net/url"
	"strings"
)

// Secret returns s, a connection URL or a key=value DSN, with its password replaced by
// "xxxxx". A URL that does not parse loses everything between "://" and its last "@" (the
// parser's own error would quote it whole); a key=value DSN naming a password is replaced
// as a whole.
func Secret(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i, j := strings.Index(s, "://"), strings.LastIndex(s, "@"); i >= 0 && j > i {
			return s[:i+3] + "xxxxx" + s[j:]
		}
		if strings.Contains(s, "password=") {
			return "(redacted key=value DSN)"
		}
		return s
	}
	if u.User == nil {
		if strings.Contains(s, "password=") {
			return "(redacted key=value DSN)"
		}
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
