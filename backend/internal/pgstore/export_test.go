package pgstore

// SetBetweenLayerQueries makes f run between queryLayers' two statements until the returned
// function is called.
func SetBetweenLayerQueries(f func()) (restore func()) {
	testHookBetweenLayerQueries = f
	return func() { testHookBetweenLayerQueries = nil }
}
