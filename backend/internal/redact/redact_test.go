package redact

import (
	"strings"
	"testing"
)

func TestSecret(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://tessera:pw@127.0.0.1:5432/tessera?sslmode=disable", "postgres://tessera:xxxxx@127.0.0.1:5432/tessera?sslmode=disable"},
		{"redis://:s3cret@127.0.0.1:6379/0", "redis://:xxxxx@127.0.0.1:6379/0"},
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://:bad%zzpw@127.0.0.1:6379/0", "redis://xxxxx@127.0.0.1:6379/0"},
		{"host=db user=t password=pw dbname=x", "(redacted key=value DSN)"},
		{"host=db user=t dbname=x", "host=db user=t dbname=x"},
	} {
		got := Secret(tc.in)
		if got != tc.want || strings.Contains(got, "pw@") || strings.Contains(got, "s3cret") {
			t.Errorf("Secret(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
