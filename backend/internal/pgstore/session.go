package pgstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Limits of session colormaps and tokens.
const (
	// MaxSessionColormap is the largest colormap a session may save, in bytes of JSON.
	MaxSessionColormap = 64 << 10
	maxSessionKey      = 256
	// TokenPrefix starts every write token, so a leaked one is recognisable.
	TokenPrefix  = "tsr_"
	maxTokenLen  = 256
	tokenEntropy = 32
)

func checkSessionKey(session, key string) error {
	if session == "" || key == "" {
		return errors.New("pgstore: session colormap: empty session or key")
	}
	if len(session) > maxSessionKey || len(key) > maxSessionKey {
		return fmt.Errorf("pgstore: session colormap: session or key longer than %d bytes", maxSessionKey)
	}
	return nil
}

// SessionColormap returns the colormap JSON a session saved under key, byte for byte (key
// order matters in a discrete colormap), or catalog.ErrNotFound.
func (s *Store) SessionColormap(ctx context.Context, session, key string) (json.RawMessage, error) {
	if err := checkSessionKey(session, key); err != nil {
		return nil, err
	}
	var cm string
	err := s.pool.QueryRow(ctx, `SELECT colormap::text FROM session_colormaps WHERE session = $1 AND key = $2`, session, key).Scan(&cm)
	if err != nil {
		return nil, mapErr(err, fmt.Sprintf("colormap %q of the session", key))
	}
	return json.RawMessage(cm), nil
}

// SetSessionColormap saves (or replaces) a session's colormap under key. cm must be valid
// JSON of at most MaxSessionColormap bytes; it is kept as written.
func (s *Store) SetSessionColormap(ctx context.Context, session, key string, cm json.RawMessage) error {
	if err := checkSessionKey(session, key); err != nil {
		return err
	}
	if len(cm) > MaxSessionColormap {
		return fmt.Errorf("pgstore: session colormap %q is %d bytes, at most %d are allowed", key, len(cm), MaxSessionColormap)
	}
	if !json.Valid(cm) {
		return fmt.Errorf("pgstore: session colormap %q is not valid JSON", key)
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO session_colormaps (session, key, colormap) VALUES ($1, $2, $3::json)
		ON CONFLICT (session, key) DO UPDATE SET colormap = EXCLUDED.colormap, updated = now()`,
		session, key, string(cm))
	return mapErr(err, fmt.Sprintf("save colormap %q of the session", key))
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// CreateAPIKey makes a new write token named name and returns it. Only its SHA-256 hash is
// stored, so the token is shown this once.
func (s *Store) CreateAPIKey(ctx context.Context, name string) (string, error) {
	if len(name) > maxSessionKey {
		return "", fmt.Errorf("pgstore: api key name is %d bytes long, at most %d are allowed", len(name), maxSessionKey)
	}
	var raw [tokenEntropy]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("pgstore: api key: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	if _, err := s.pool.Exec(ctx, `INSERT INTO api_keys (token_hash, name) VALUES ($1, $2)`, hashToken(token), name); err != nil {
		return "", mapErr(err, "create api key")
	}
	return token, nil
}

// CheckAPIKey reports whether token is a write token made by CreateAPIKey.
func (s *Store) CheckAPIKey(ctx context.Context, token string) (bool, error) {
	if token == "" || len(token) > maxTokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return false, nil
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE token_hash = $1)`, hashToken(token)).Scan(&ok)
	if err != nil {
		return false, mapErr(err, "check api key")
	}
	return ok, nil
}
