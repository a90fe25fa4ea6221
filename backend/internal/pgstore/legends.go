package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-gis/tessera/backend/internal/catalog"
	"github.com/tessera-gis/tessera/shared/colormap"
)

// Size limits of legends (the schema enforces them too).
const (
	MaxLegendTitle = 256
	maxEntryName   = 256
	maxEntryText   = 4096
	maxEntryColor  = 64
	maxEntryCode   = 64
)

func validateLegend(l *colormap.Legend) error {
	// Each error wraps colormap.ErrInvalidLegend, as Validate's do: bad input, which the
	// server answers with a 400 (an entry without a name was a 500).
	t := strings.TrimSpace(l.Title)
	switch {
	case t == "":
		return fmt.Errorf("%w: its title is empty", colormap.ErrInvalidLegend)
	case len(l.Title) > MaxLegendTitle:
		return fmt.Errorf("%w: its title is %d bytes long, at most %d are allowed", colormap.ErrInvalidLegend, len(l.Title), MaxLegendTitle)
	case len(l.Description) > maxEntryText:
		return fmt.Errorf("%w %q: description is %d bytes long, at most %d are allowed", colormap.ErrInvalidLegend, l.Title, len(l.Description), maxEntryText)
	}
	for i, e := range l.Entries {
		switch {
		case strings.TrimSpace(e.Name) == "":
			return fmt.Errorf("%w %q: entry %d has no name (django-raster's legend semantics: every entry names what it shows)", colormap.ErrInvalidLegend, l.Title, i+1)
		case len(e.Name) > maxEntryName:
			return fmt.Errorf("%w %q: entry %d: name is %d bytes long, at most %d are allowed", colormap.ErrInvalidLegend, l.Title, i+1, len(e.Name), maxEntryName)
		case len(e.Description) > maxEntryText || len(e.Expression) > maxEntryText:
			return fmt.Errorf("%w %q: entry %d (%s): description or expression longer than %d bytes", colormap.ErrInvalidLegend, l.Title, i+1, e.Name, maxEntryText)
		case len(e.Color) > maxEntryColor || len(e.Code) > maxEntryCode:
			return fmt.Errorf("%w %q: entry %d (%s): color or code longer than %d bytes", colormap.ErrInvalidLegend, l.Title, i+1, e.Name, maxEntryCode)
		}
	}
	// Colours and expressions must be usable: a legend that cannot make a colormap is refused
	// when stored, not when a tile is drawn.
	return l.Validate()
}

// CreateLegend stores a legend with its entries and sets l.ID. Entry names are legend
// semantics shared between legends (django-raster's LegendSemantics): a new name creates
// one, and a non-empty description updates it. A title taken (case-insensitively) gives
// catalog.ErrConflict.
func (s *Store) CreateLegend(ctx context.Context, l *colormap.Legend) error {
	if l == nil {
		return errors.New("pgstore: create legend: nil legend")
	}
	if err := validateLegend(l); err != nil {
		return err
	}
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO legends (title, description) VALUES ($1, $2) RETURNING id`,
			l.Title, l.Description).Scan(&id); err != nil {
			return err
		}
		return insertEntries(ctx, tx, id, l.Entries)
	})
	if err != nil {
		return mapErr(err, fmt.Sprintf("create legend %q", l.Title))
	}
	l.ID = id
	return nil
}

// UpdateLegend replaces the title, description and entries of legend l.ID.
func (s *Store) UpdateLegend(ctx context.Context, l *colormap.Legend) error {
	if l == nil {
		return errors.New("pgstore: update legend: nil legend")
	}
	if err := validateLegend(l); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE legends SET title = $2, description = $3, updated = now() WHERE id = $1`,
			l.ID, l.Title, l.Description)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		if _, err := tx.Exec(ctx, `DELETE FROM legend_entries WHERE legend_id = $1`, l.ID); err != nil {
			return err
		}
		return insertEntries(ctx, tx, l.ID, l.Entries)
	})
	return mapErr(err, fmt.Sprintf("update legend %d", l.ID))
}

func insertEntries(ctx context.Context, tx pgx.Tx, legendID int64, entries []colormap.LegendEntry) error {
	for i, e := range entries {
		var sem int64
		err := tx.QueryRow(ctx, `
			INSERT INTO legend_semantics (name, description) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET description =
				CASE WHEN EXCLUDED.description = '' THEN legend_semantics.description ELSE EXCLUDED.description END
			RETURNING id`, e.Name, e.Description).Scan(&sem)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO legend_entries (legend_id, position, semantics_id, expression, color, code)
			VALUES ($1, $2, $3, $4, $5, $6)`, legendID, i, sem, e.Expression, e.Color, e.Code); err != nil {
			return err
		}
	}
	return nil
}

// DeleteLegend deletes a legend and its entries; layers using it lose their legend.
func (s *Store) DeleteLegend(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM legends WHERE id = $1`, id)
	if err != nil {
		return mapErr(err, fmt.Sprintf("delete legend %d", id))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: delete legend %d: %w", id, catalog.ErrNotFound)
	}
	return nil
}

// Legend returns a legend with its entries in stored order, or catalog.ErrNotFound.
func (s *Store) Legend(ctx context.Context, id int64) (colormap.Legend, error) {
	ls, err := s.queryLegends(ctx, `WHERE id = $1`, id)
	if err != nil {
		return colormap.Legend{}, mapErr(err, fmt.Sprintf("legend %d", id))
	}
	if len(ls) == 0 {
		return colormap.Legend{}, fmt.Errorf("pgstore: legend %d: %w", id, catalog.ErrNotFound)
	}
	return ls[0], nil
}

// LegendByTitle returns the legend with that title, compared case-insensitively, or
// catalog.ErrNotFound (django-raster: 500 for an unknown title).
func (s *Store) LegendByTitle(ctx context.Context, title string) (colormap.Legend, error) {
	if len(title) > MaxLegendTitle {
		return colormap.Legend{}, fmt.Errorf("pgstore: legend title is %d bytes long, at most %d are allowed: %w", len(title), MaxLegendTitle, catalog.ErrNotFound)
	}
	ls, err := s.queryLegends(ctx, `WHERE lower(title) = lower($1)`, title)
	if err != nil {
		return colormap.Legend{}, mapErr(err, fmt.Sprintf("legend %q", title))
	}
	if len(ls) == 0 {
		return colormap.Legend{}, fmt.Errorf("pgstore: no legend titled %q: %w", title, catalog.ErrNotFound)
	}
	return ls[0], nil
}

// LegendByRef resolves a legend reference as style=, POST layers and `tessera ingest
// --legend` take it: an integer id, else a title (LegendByTitle), so a title made of digits
// is found when no legend has that id. No match gives catalog.ErrNotFound.
func (s *Store) LegendByRef(ctx context.Context, ref string) (colormap.Legend, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		lg, err := s.Legend(ctx, id)
		if !errors.Is(err, catalog.ErrNotFound) {
			return lg, err
		}
	}
	return s.LegendByTitle(ctx, ref)
}

// Legends returns every legend, by id.
func (s *Store) Legends(ctx context.Context) ([]colormap.Legend, error) {
	ls, err := s.queryLegends(ctx, ``)
	if err != nil {
		return nil, mapErr(err, "list legends")
	}
	return ls, nil
}

func (s *Store) queryLegends(ctx context.Context, where string, args ...any) ([]colormap.Legend, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, title, description FROM legends `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (colormap.Legend, error) {
		var l colormap.Legend
		err := r.Scan(&l.ID, &l.Title, &l.Description)
		return l, err
	})
	if err != nil || len(ls) == 0 {
		return ls, err
	}
	ids := make([]int64, len(ls))
	at := make(map[int64]int, len(ls))
	for i, l := range ls {
		ids[i], at[l.ID] = l.ID, i
	}
	rows, err = s.pool.Query(ctx, `
		SELECT e.legend_id, s.name, s.description, e.expression, e.color, e.code
		FROM legend_entries e JOIN legend_semantics s ON s.id = e.semantics_id
		WHERE e.legend_id = ANY($1) ORDER BY e.legend_id, e.position`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			e  colormap.LegendEntry
		)
		if err := rows.Scan(&id, &e.Name, &e.Description, &e.Expression, &e.Color, &e.Code); err != nil {
			return nil, err
		}
		i := at[id]
		ls[i].Entries = append(ls[i].Entries, e)
	}
	return ls, rows.Err()
}
