package ingest

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// traceOn is set by the hidden TESSERA_INGEST_TRACE=1: the parse then prints the time of each
// phase (warp, each level, statistics, each task) to stderr, since the process started, for
// profiling ingests (docs/benchmarks.md).
var traceOn = os.Getenv("TESSERA_INGEST_TRACE") == "1"

var (
	traceMu    sync.Mutex
	traceStart = time.Now()
)

// tracef prints one trace line when TESSERA_INGEST_TRACE=1.
func tracef(format string, args ...any) {
	if !traceOn {
		return
	}
	traceMu.Lock()
	defer traceMu.Unlock()
	fmt.Fprintf(os.Stderr, "trace %7.3fs  %s\n", time.Since(traceStart).Seconds(), fmt.Sprintf(format, args...))
}

// Tracef is tracef for the ingest command's own phases.
func Tracef(format string, args ...any) { tracef(format, args...) }
