package ingest

import (
	"errors"
	"strings"
)

// Sentinel errors for the ways a parse can fail on bad input; a failed parse's error wraps
// one of them (branch with errors.Is) inside an *Error that says what to do.
var (
	ErrNoSource       = errors.New("ingest: no data source")
	ErrSourceMissing  = errors.New("ingest: source file not found")
	ErrEmptySource    = errors.New("ingest: source file is empty")
	ErrNotRaster      = errors.New("ingest: not a raster")
	ErrNoRasterInZip  = errors.New("ingest: no raster in zip archive")
	ErrDownload       = errors.New("ingest: download failed")
	ErrS3             = errors.New("ingest: s3 read failed")
	ErrTooLarge       = errors.New("ingest: source over the size limit")
	ErrNoGeoTransform = errors.New("ingest: raster is not georeferenced")
	ErrNoCRS          = errors.New("ingest: raster has no crs")
	ErrBadSRID        = errors.New("ingest: invalid srid")
	ErrMaxZoom        = errors.New("ingest: cannot compute max zoom")
	ErrOutsideWorld   = errors.New("ingest: raster outside the web-mercator world")
	ErrUnsupported    = errors.New("ingest: unsupported raster")
	ErrBadLayer       = errors.New("ingest: invalid layer settings")
)

// Error is a parse failure caused by the input: Problem says what is wrong and Hint what
// to do about it; together they form the FAILED log line. Err is one of the sentinels above,
// possibly wrapping the underlying cause.
type Error struct {
	Problem string
	Hint    string
	Err     error
}

func (e *Error) Error() string {
	s := strings.TrimSpace(e.Problem)
	if e.Hint != "" {
		s += " " + strings.TrimSpace(e.Hint)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func fail(kind error, problem, hint string) *Error {
	return &Error{Problem: problem, Hint: hint, Err: kind}
}
