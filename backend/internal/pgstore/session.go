package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Limits of session colormaps.
const (
	// MaxSessionColormap is the largest colormap a session may save, in bytes of JSON.
	MaxSessionColormap = 64 << 10
	maxSessionKey      = 256
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
