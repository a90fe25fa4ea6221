package pgstore

import (
	"context"
	"time"
)

// SetBetweenLayerQueries makes f run between queryLayers' two statements until the returned
// function is called.
func SetBetweenLayerQueries(f func()) (restore func()) {
	testHookBetweenLayerQueries = f
	return func() { testHookBetweenLayerQueries = nil }
}

// SetPixelSlices makes TilePixelValues read slices (on) or use ST_Value, whatever the probe
// would find.
func (s *Store) SetPixelSlices(on bool) {
	if on {
		s.slices.Store(slicesOn)
	} else {
		s.slices.Store(slicesOff)
	}
}

// PixelSlices probes, if not yet done, and reports whether TilePixelValues reads slices.
func (s *Store) PixelSlices(ctx context.Context) bool { return s.rawTiles(ctx) }

// SetBeforeProbeWhole makes f run between the tessera_rast_slice probe's two statements until
// the returned function is called.
func SetBeforeProbeWhole(f func()) (restore func()) {
	testHookBeforeProbeWhole = f
	return func() { testHookBeforeProbeWhole = nil }
}

// SetSliceMissing marks tessera_rast_slice as found missing at `at` (slices off), as a probe
// that did not find it does.
func (s *Store) SetSliceMissing(at time.Time) {
	s.slices.Store(slicesOff)
	s.sliceMissing.Store(at.UnixNano())
}

// SliceMissingSince is when tessera_rast_slice was last found missing (zero: not missing).
func (s *Store) SliceMissingSince() time.Time {
	if at := s.sliceMissing.Load(); at != 0 {
		return time.Unix(0, at)
	}
	return time.Time{}
}

// SetClock makes the store read the time from now until the returned function is called.
func SetClock(now func() time.Time) (restore func()) {
	timeNow = now
	return func() { timeNow = time.Now }
}
