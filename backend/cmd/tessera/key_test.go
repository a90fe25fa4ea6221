package main

import (
	"context"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
)

func TestKeyCommand(t *testing.T) {
	dsn := cliEnv(t)
	ctx := context.Background()
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	scopeOf := func(tok string) string {
		t.Helper()
		s, err := st.APIKeyScope(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	code, out, errText := runCmd("key", "create", "--read", "public map")
	reader := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(reader, pgstore.TokenPrefix) || strings.Contains(reader, "\n") || !strings.Contains(errText, "shown this once") {
		t.Fatalf("create --read: exit %d, stdout %q, stderr %q", code, out, errText)
	}
	if s := scopeOf(reader); s != catalog.ScopeRead {
		t.Errorf("the --read key's scope is %q", s)
	}
	// The flag after the name works too.
	code, out, errText = runCmd("key", "create", "late flag", "--read")
	if late := strings.TrimSpace(out); code != 0 || scopeOf(late) != catalog.ScopeRead {
		t.Fatalf("create NAME --read: exit %d, stdout %q, stderr %q", code, out, errText)
	}
	if code, _, _ := runCmd("key", "revoke", "late flag"); code != 0 {
		t.Fatal("revoke of the late flag's key")
	}
	code, out, _ = runCmd("key", "create", "ci")
	writer := strings.TrimSpace(out)
	if code != 0 || scopeOf(writer) != catalog.ScopeWrite {
		t.Fatalf("create: exit %d, stdout %q, scope %q", code, out, scopeOf(writer))
	}

	code, out, errText = runCmd("key", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "public map") ||
		!strings.Contains(lines[1], "read") || !strings.Contains(lines[2], "write") || strings.Contains(out, reader) {
		t.Fatalf("list: exit %d, stdout %q, stderr %q", code, out, errText)
	}
	fp := strings.Fields(lines[2])[2] // ci  write  FINGERPRINT  date time
	if code, out, _ := runCmd("key", "revoke", fp); code != 0 || !strings.Contains(out, `revoked write key "ci"`) || scopeOf(writer) != "" {
		t.Fatalf("revoke by fingerprint %s: exit %d, stdout %q; the key still has scope %q", fp, code, out, scopeOf(writer))
	}
	if code, out, _ := runCmd("key", "revoke", "public map"); code != 0 || !strings.Contains(out, `revoked read key "public map"`) || scopeOf(reader) != "" {
		t.Fatalf("revoke by name: exit %d, stdout %q", code, out)
	}

	for _, tc := range []struct {
		args    []string
		code    int
		errText string
	}{
		{[]string{"key"}, 2, "create, list or revoke"},
		{[]string{"key", "frob"}, 2, `unknown action "frob"`},
		{[]string{"key", "create"}, 2, "takes one name"},
		{[]string{"key", "create", "a", "b"}, 2, "takes one name"},
		{[]string{"key", "create", strings.Repeat("n", pgstore.MaxKeyName+1)}, 2, "1 to 256 bytes"},
		// A tab or a newline forged rows of list; a fingerprint's shape was revoked with the
		// key of that fingerprint.
		{[]string{"key", "create", "evil\twrite\tdeadbeef0000\t2020-01-01\nroot"}, 2, "without control characters"},
		{[]string{"key", "create", "0123456789ab"}, 2, "a fingerprint's shape"},
		{[]string{"key", "create", "0123456789AB"}, 2, "a fingerprint's shape"},
		{[]string{"key", "create", "--bogus", "x"}, 2, "-bogus"},
		{[]string{"key", "list", "x"}, 2, "takes nothing"},
		{[]string{"key", "revoke", "public map"}, 1, `no key has the name or fingerprint "public map"`},
		{[]string{"key", "--help"}, 0, "usage: tessera key create"},
	} {
		code, out, errText := runCmd(tc.args...)
		if code != tc.code || !strings.Contains(errText, tc.errText) || code != 0 && out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, out, errText, tc.code, tc.errText)
		}
	}
}
