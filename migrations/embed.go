// Package migrations holds Tessera's PostGIS schema as goose SQL migrations
// (github.com/pressly/goose/v3), embedded so the one tessera binary can apply them with
// `tessera migrate` and at start-up (pgstore.Store.Migrate).
//
// Files are named NNNNN_what.sql and only ever appended: a migration that has shipped is
// never edited, a change is a new file.
package migrations

import "embed"

// FS holds the *.sql migrations, in goose's format (-- +goose Up / -- +goose Down).
//
//go:embed *.sql
var FS embed.FS
