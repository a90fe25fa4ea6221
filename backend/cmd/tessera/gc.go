package main

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// Serve's garbage-collector settings, used unless GOGC or GOMEMLIMIT is set.
//
// Why: every tile answer allocates about a megabyte that is garbage once sent (bands, the
// image, the PNG), while the live heap is small until the caches fill: with Go's default
// GOGC=100 the collector then runs every few dozen requests. At 400 a cold server (caches off)
// answered 4–6 % more 3-layer algebra tiles a second, p50 5 % lower, for a peak RSS of 159
// instead of 101 MB (docs/benchmarks.md, "Session 5"). The soft memory limit keeps the larger
// target bounded once the caches hold their budgets: past it the collector runs as often as
// it must.
const (
	serveGCPercent = 400
	// serveGCHeadroom is the soft memory limit above the two caches' budgets: room for the
	// answers in flight and an export (RASTER_EXPORT_MAX_PIXELS of float64 is 800 MB).
	serveGCHeadroom = 2 << 30
)

// gcSettings returns the GC percent and soft memory limit serve sets, each -1 when the
// environment (GOGC, GOMEMLIMIT) already decides it. container is the memory the process may
// use (its cgroup's limit, containerMemory; ≤ 0: none known): the limit stays at nine tenths
// of it, so in a small container the collector works harder before the kernel kills the
// process, instead of letting a heap five times the live one grow into it.
func gcSettings(getenv func(string) string, tileCache, responseCache, container int64) (percent int, limit int64) {
	percent, limit = -1, -1
	if getenv("GOGC") == "" {
		percent = serveGCPercent
	}
	if getenv("GOMEMLIMIT") == "" {
		limit = satAdd(satAdd(tileCache, responseCache), serveGCHeadroom)
		if container > 0 {
			limit = min(limit, container/10*9)
		}
	}
	return percent, limit
}

// containerMemory returns the memory limit of the process's cgroup (v2 memory.max, else v1
// memory.limit_in_bytes), or 0 when there is none or it cannot be read.
func containerMemory(readFile func(string) ([]byte, error)) int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := readFile(p)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 { // "max", or v1's "no limit" (a page-rounded 2^63)
			return 0
		}
		return n
	}
	return 0
}

// satAdd is a + b for a, b ≥ 0, math.MaxInt64 where that overflows: cache budgets near the
// int64 maximum (no bound) give no memory limit instead of a wrapped one.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// applyGC sets what gcSettings returns and describes it for the start-up log.
func applyGC(percent int, limit int64) string {
	p, l := "GOGC from the environment", "GOMEMLIMIT from the environment"
	if percent >= 0 {
		debug.SetGCPercent(percent)
		p = fmt.Sprintf("GC percent %d", percent)
	}
	if limit >= 0 {
		debug.SetMemoryLimit(limit)
		l = fmt.Sprintf("soft memory limit %d MiB", limit>>20)
	}
	return p + ", " + l
}
