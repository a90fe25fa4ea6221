package pgstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
)

// API keys: bearer tokens kept in the database as SHA-256 hashes, besides the server's
// TESSERA_ADMIN_TOKEN. A key has a scope: catalog.ScopeWrite keys read and write (upload,
// re-parse, delete, legends); catalog.ScopeRead keys only read, which matters with
// TESSERA_PRIVATE_READS: a public map's page can hold one without handing out writes.
// `tessera key` manages them.
const (
	// TokenPrefix starts every key, so a leaked one is recognisable.
	TokenPrefix = "tsr_"
	// MaxKeyName is the longest key name, in bytes.
	MaxKeyName   = 256
	maxTokenLen  = 256
	tokenEntropy = 32
	// fingerprintLen is how many hex digits of a key's hash name it in listings.
	fingerprintLen = 12
)

// APIKey is a key as listed: never the token, which is shown once, when it is made.
type APIKey struct {
	Name  string
	Scope string
	// Fingerprint is the start of the token's SHA-256 hash (hex): it tells keys of one name
	// apart and revokes one of them.
	Fingerprint string
	Created     time.Time
}

// CreateAPIKey makes a new key named name with scope (catalog.ScopeRead or
// catalog.ScopeWrite) and returns its token. Only the token's SHA-256 hash is stored, so
// the token is shown this once.
func (s *Store) CreateAPIKey(ctx context.Context, name, scope string) (string, error) {
	if err := CheckKeyName(name); err != nil {
		return "", err
	}
	if scope != catalog.ScopeRead && scope != catalog.ScopeWrite {
		return "", fmt.Errorf("pgstore: api key scope %q: %q or %q", clipName(scope), catalog.ScopeRead, catalog.ScopeWrite)
	}
	var raw [tokenEntropy]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("pgstore: api key: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	if _, err := s.pool.Exec(ctx, `INSERT INTO api_keys (token_hash, name, scope) VALUES ($1, $2, $3)`, hashToken(token), name, scope); err != nil {
		return "", mapErr(err, "create api key")
	}
	return token, nil
}

// CheckKeyName reports why name cannot name a key, nil when it can: a name is 1 to MaxKeyName
// bytes of UTF-8 without control characters (a tab or a newline in one forged rows of `tessera
// key list`), and not 12 hex digits, the shape of a fingerprint (`tessera key revoke` of
// such a name also revoked the key whose fingerprint it is, and the other way round).
func CheckKeyName(name string) error {
	switch {
	case name == "" || len(name) > MaxKeyName:
		return fmt.Errorf("pgstore: api key name %q: 1 to %d bytes", clipName(name), MaxKeyName)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("pgstore: api key name %q: UTF-8 without control characters (tabs, newlines, escapes)", clipName(name))
	case isFingerprint(name):
		return fmt.Errorf("pgstore: api key name %q: %d hex digits is a fingerprint's shape, which revoke would also take for another key's", name, fingerprintLen)
	}
	return nil
}

// isFingerprint reports whether ref has the shape of APIKey.Fingerprint (in either case).
func isFingerprint(ref string) bool {
	if len(ref) != fingerprintLen {
		return false
	}
	_, err := hex.DecodeString(ref)
	return err == nil
}

// APIKeyScope returns the scope of the key whose token this is, or "" when no key has it.
func (s *Store) APIKeyScope(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > maxTokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return "", nil
	}
	var scope string
	err := s.pool.QueryRow(ctx, `SELECT scope FROM api_keys WHERE token_hash = $1`, hashToken(token)).Scan(&scope)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", mapErr(err, "check api key")
	}
	return scope, nil
}

// APIKeys lists the keys, oldest first.
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, scope, left(token_hash, $1), created FROM api_keys ORDER BY created, token_hash`, fingerprintLen)
	if err != nil {
		return nil, mapErr(err, "list api keys")
	}
	return collectAPIKeys(rows, "list api keys")
}

// RevokeAPIKeys deletes the keys named ref, or the one whose fingerprint is ref (all of
// APIKey.Fingerprint), and returns them; catalog.ErrNotFound when none is.
func (s *Store) RevokeAPIKeys(ctx context.Context, ref string) ([]APIKey, error) {
	if ref == "" || len(ref) > MaxKeyName {
		return nil, fmt.Errorf("pgstore: api key %q: %w", clipName(ref), catalog.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, `
		DELETE FROM api_keys WHERE name = $1 OR (length($1) = $2 AND left(token_hash, $2) = lower($1))
		RETURNING name, scope, left(token_hash, $2), created`, ref, fingerprintLen)
	if err != nil {
		return nil, mapErr(err, "revoke api keys")
	}
	out, err := collectAPIKeys(rows, "revoke api keys")
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("pgstore: no api key has the name or fingerprint %q: %w", clipName(ref), catalog.ErrNotFound)
	}
	return out, err
}

// collectAPIKeys reads rows of (name, scope, fingerprint, created) and closes them.
func collectAPIKeys(rows pgx.Rows, what string) ([]APIKey, error) {
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (APIKey, error) {
		var k APIKey
		err := row.Scan(&k.Name, &k.Scope, &k.Fingerprint, &k.Created)
		return k, err
	})
	if err != nil {
		return nil, mapErr(err, what)
	}
	return keys, nil
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// clipName shortens a name for an error message.
func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
