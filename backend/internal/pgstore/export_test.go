package pgstore

import "context"

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
