package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
)

// Limits of the parse log: lines longer than MaxLogLine bytes are cut, and only the latest
// MaxLogLines lines are kept, so a runaway parse cannot grow a row without bound.
const (
	MaxLogLine  = 4096
	MaxLogLines = 1000
)

// BeginParse starts a new parse of the layer: it returns a parse version above every earlier
// one, resets the parse status (UNPARSED, empty log, no finished zooms, no progress) and
// deletes the tiles of earlier parses that were never published. The published version
// keeps serving until Publish.
func (s *Store) BeginParse(ctx context.Context, layerID int64) (int64, error) {
	var version int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var served int64
		err := tx.QueryRow(ctx, `
			UPDATE layers SET parse_version = greatest(version, parse_version) + 1, updated = now()
			WHERE id = $1 RETURNING parse_version, version`, layerID).Scan(&version, &served)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tiles WHERE layer_id = $1 AND version <> $2`, layerID, served); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO parse_status (layer_id) VALUES ($1)
			ON CONFLICT (layer_id) DO UPDATE SET status = 0, log = '{}', finished_zooms = '{}',
				tiles_done = 0, tiles_total = 0, updated = now()`, layerID)
		return err
	})
	if err != nil {
		return 0, mapErr(err, fmt.Sprintf("begin parse of layer %d", layerID))
	}
	return version, nil
}

// logLine stamps a log line as django-raster does: "[YYYY-mm-dd HH:MM:SS] line", UTC.
func logLine(line string) string {
	if len(line) > MaxLogLine {
		line = line[:MaxLogLine] + "…"
	}
	return "[" + now().Format("2006-01-02 15:04:05") + "] " + line
}

// parseUpdate runs an UPDATE of the layer's parse_status row ($1 is the layer id) and
// reports catalog.ErrNotFound when the layer does not exist.
func (s *Store) parseUpdate(ctx context.Context, what string, layerID int64, set string, args ...any) error {
	tag, err := s.pool.Exec(ctx, `UPDATE parse_status SET `+set+`, updated = now() WHERE layer_id = $1`,
		append([]any{layerID}, args...)...)
	if err != nil {
		return mapErr(err, fmt.Sprintf("%s of layer %d", what, layerID))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: %s of layer %d: %w", what, layerID, catalog.ErrNotFound)
	}
	return nil
}

// appendLog is the SQL expression of log with line $n appended, keeping the latest
// MaxLogLines lines.
func appendLog(n int) string {
	return fmt.Sprintf(`(log || $%d::text)[greatest(1, cardinality(log) + 2 - %d):]`, n, MaxLogLines)
}

// SetStatus sets the layer's parse status and, when logLine is not empty, appends it to the
// log stamped "[YYYY-mm-dd HH:MM:SS] " (UTC).
func (s *Store) SetStatus(ctx context.Context, layerID int64, st catalog.Status, line string) error {
	if st < catalog.Unparsed || st > catalog.Failed {
		return fmt.Errorf("pgstore: status of layer %d: unknown status %d", layerID, int(st))
	}
	if line == "" {
		return s.parseUpdate(ctx, "status", layerID, `status = $2`, int16(st))
	}
	return s.parseUpdate(ctx, "status", layerID, `status = $2, log = `+appendLog(3), int16(st), logLine(line))
}

// AppendLog appends a stamped line to the layer's parse log.
func (s *Store) AppendLog(ctx context.Context, layerID int64, line string) error {
	return s.parseUpdate(ctx, "log", layerID, `log = `+appendLog(2), logLine(line))
}

// SetProgress sets the tiles done and the tiles to do.
func (s *Store) SetProgress(ctx context.Context, layerID int64, done, total int64) error {
	if done < 0 || total < 0 {
		return fmt.Errorf("pgstore: progress of layer %d: negative count %d/%d", layerID, done, total)
	}
	return s.parseUpdate(ctx, "progress", layerID, `tiles_done = $2, tiles_total = $3`, done, total)
}

// AddProgress adds delta to the tiles done, atomically, so concurrent workers can report.
func (s *Store) AddProgress(ctx context.Context, layerID int64, delta int64) error {
	return s.parseUpdate(ctx, "progress", layerID, `tiles_done = greatest(0, tiles_done + $2)`, delta)
}

// FinishZoom records that zoom z is complete. Recording a zoom twice is harmless; the list
// stays sorted.
func (s *Store) FinishZoom(ctx context.Context, layerID int64, z int) error {
	if z < 0 || z > 30 {
		return fmt.Errorf("pgstore: finish zoom of layer %d: zoom %d out of range 0..30", layerID, z)
	}
	return s.parseUpdate(ctx, "finished zoom", layerID, `
		finished_zooms = CASE WHEN $2 = ANY(finished_zooms) THEN finished_zooms
			ELSE ARRAY(SELECT unnest(finished_zooms || $2::int) ORDER BY 1) END`, int32(z))
}

// FinishZooms records that zooms zs are complete and appends lines to the parse log, in
// one statement: FinishZoom for each zoom and AppendLog for each line, without a round trip
// each (a parse finishing twelve levels at once spent 60 ms on them).
func (s *Store) FinishZooms(ctx context.Context, layerID int64, zs []int, lines []string) error {
	z32 := make([]int32, len(zs))
	for i, z := range zs {
		if z < 0 || z > 30 {
			return fmt.Errorf("pgstore: finish zoom of layer %d: zoom %d out of range 0..30", layerID, z)
		}
		z32[i] = int32(z)
	}
	stamped := make([]string, len(lines))
	for i, l := range lines {
		stamped[i] = logLine(l)
	}
	return s.parseUpdate(ctx, "finished zooms", layerID, fmt.Sprintf(`
		finished_zooms = ARRAY(SELECT DISTINCT unnest(finished_zooms || $2::int[]) ORDER BY 1),
		log = (log || $3::text[])[greatest(1, cardinality(log) + cardinality($3::text[]) + 1 - %d):]`, MaxLogLines),
		z32, stamped)
}
