package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/backend/internal/dbtest"
	"github.com/tessera-gis/tessera/backend/internal/pgstore"
)

func TestAPIKeys(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	tok, err := s.CreateAPIKey(ctx, "ci", catalog.ScopeWrite)
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := s.CreateAPIKey(ctx, "ci", catalog.ScopeWrite)
	if err != nil || tok2 == tok || !strings.HasPrefix(tok, pgstore.TokenPrefix) || len(tok) < 40 {
		t.Fatalf("tokens %q, %q, %v", tok, tok2, err)
	}
	reader, err := s.CreateAPIKey(ctx, "public map", catalog.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token string
		want  string
	}{
		{tok, catalog.ScopeWrite},
		{tok2, catalog.ScopeWrite},
		{reader, catalog.ScopeRead},
		{tok + "x", ""},
		{tok[:len(tok)-1], ""},
		{"", ""},
		{strings.Repeat("x", 10000), ""},
	} {
		scope, err := s.APIKeyScope(ctx, tc.token)
		if err != nil || scope != tc.want {
			t.Errorf("APIKeyScope(%.20q…) = %q, %v; want %q", tc.token, scope, err, tc.want)
		}
	}
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE token_hash = $1 OR name = $1`, tok).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the token itself is stored (%d rows, %v)", n, err)
	}
	for _, bad := range [][2]string{{"", catalog.ScopeRead}, {strings.Repeat("n", pgstore.MaxKeyName+1), catalog.ScopeRead}, {"x", "admin"}, {"x", ""},
		{"a\tb", catalog.ScopeRead}, {"a\nb", catalog.ScopeRead}, {"\x1b[2Jx", catalog.ScopeRead}, {"\xff", catalog.ScopeRead},
		{"deadbeef0123", catalog.ScopeRead}, {"DEADBEEF0123", catalog.ScopeRead}} {
		if _, err := s.CreateAPIKey(ctx, bad[0], bad[1]); err == nil {
			t.Errorf("CreateAPIKey(%.20q, %q) accepted", bad[0], bad[1])
		}
	}

	keys, err := s.APIKeys(ctx)
	if err != nil || len(keys) != 3 {
		t.Fatalf("APIKeys: %v %v, want 3 keys", keys, err)
	}
	if keys[2].Name != "public map" || keys[2].Scope != catalog.ScopeRead || len(keys[2].Fingerprint) != 12 || keys[2].Created.IsZero() {
		t.Errorf("the read key listed as %+v", keys[2])
	}
	if keys[0].Fingerprint == keys[1].Fingerprint {
		t.Errorf("two keys of one name share the fingerprint %s", keys[0].Fingerprint)
	}

	// Revoking by fingerprint takes one key of the two named "ci"; by name, the rest.
	gone, err := s.RevokeAPIKeys(ctx, strings.ToUpper(keys[0].Fingerprint))
	if err != nil || len(gone) != 1 || gone[0].Fingerprint != keys[0].Fingerprint {
		t.Fatalf("revoke by fingerprint: %v %v", gone, err)
	}
	left := 0
	for _, k := range []string{tok, tok2} {
		if scope, _ := s.APIKeyScope(ctx, k); scope != "" {
			left++
		}
	}
	if left != 1 {
		t.Fatalf("after revoking one of the two ci keys, %d still work", left)
	}
	if gone, err := s.RevokeAPIKeys(ctx, "ci"); err != nil || len(gone) != 1 {
		t.Fatalf("revoke by name: %v %v", gone, err)
	}
	for _, ref := range []string{"ci", "nope", "", keys[2].Fingerprint[:6]} {
		if _, err := s.RevokeAPIKeys(ctx, ref); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("revoke %q: %v, want not found", ref, err)
		}
	}
	if scope, _ := s.APIKeyScope(ctx, reader); scope != catalog.ScopeRead {
		t.Errorf("the read key went with the others (%q)", scope)
	}
}

// TestAPIKeyScopeMigration: a key made before the scopes existed (a row without one) keeps
// writing, as every key did then.
func TestAPIKeyScopeMigration(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	tok := pgstore.TokenPrefix + "made-before-scopes-0123456789"
	if _, err := s.Pool().Exec(ctx, `INSERT INTO api_keys (token_hash, name) VALUES (encode(sha256($1::bytea), 'hex'), 'old')`, tok); err != nil {
		t.Fatal(err)
	}
	if scope, err := s.APIKeyScope(ctx, tok); err != nil || scope != catalog.ScopeWrite {
		t.Fatalf("an old key's scope: %q %v, want write", scope, err)
	}
}

// TestAPIKeyScopeMigrationDown pins a bug: `tessera migrate down` past 00003 dropped the scope
// and kept the read keys, which then wrote (every key did before scopes), and the Up that
// serve runs at start gave them the default, write: a public page's read key could delete
// layers. The Down now deletes the read keys; write keys stay and keep writing.
func TestAPIKeyScopeMigrationDown(t *testing.T) {
	s := dbtest.New(t)
	ctx := context.Background()
	reader, err := s.CreateAPIKey(ctx, "public map", catalog.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	writer, err := s.CreateAPIKey(ctx, "ci", catalog.ScopeWrite)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.MigrateDown(ctx); err != nil || v != 3 {
		t.Fatalf("MigrateDown = %d, %v; want 3", v, err)
	}
	var names []string
	rows, err := s.Pool().Query(ctx, `SELECT name FROM api_keys ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if rows.Err() != nil || len(names) != 1 || names[0] != "ci" {
		t.Errorf("keys after the down: %q (%v), want only the write key", names, rows.Err())
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ token, want string }{{reader, ""}, {writer, catalog.ScopeWrite}} {
		if scope, err := s.APIKeyScope(ctx, tc.token); err != nil || scope != tc.want {
			t.Errorf("after down and up, scope %q, %v; want %q", scope, err, tc.want)
		}
	}
}
