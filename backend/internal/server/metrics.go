package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the server's Prometheus metrics, in a registry of their own (no global state).
type Metrics struct {
	Registry *prometheus.Registry
	// Latency is the request latency per route, method and status class.
	Latency *prometheus.HistogramVec
	// Cache counts cache lookups per cache and result (hit, miss).
	Cache *prometheus.CounterVec
	// ParsesRunning is the number of parses the server has started that are still running.
	ParsesRunning prometheus.Gauge
	// Parses counts finished parses by result (finished, failed).
	Parses *prometheus.CounterVec
}

// NewMetrics registers the server's metrics and the Go runtime and process collectors in a
// new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "tessera", Name: "http_request_duration_seconds",
			Help:    "Latency of HTTP requests by route, method and status class.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "method", "status"}),
		Cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "tessera", Name: "cache_lookups_total",
			Help: "Lookups in the tile service's caches by cache (tile, response, layer, legend) and result (hit, miss).",
		}, []string{"cache", "result"}),
		ParsesRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "tessera", Name: "parse_jobs_running",
			Help: "Parses started by this server (upload, URL registration) still running.",
		}),
		Parses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "tessera", Name: "parse_jobs_total",
			Help: "Parses started by this server, by result (finished, failed).",
		}, []string{"result"}),
	}
	m.Registry.MustRegister(m.Latency, m.Cache, m.ParsesRunning, m.Parses,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// CacheHook is a tiles.Config.OnCache that counts lookups.
func (m *Metrics) CacheHook(cache string, hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.Cache.WithLabelValues(cache, result).Inc()
}
