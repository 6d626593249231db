package armapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts and times ARM requests by resource type, method and
// status. A nil *Metrics records nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the ARM metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "galleon_arm_requests_total",
			Help: "ARM requests answered, by resource type, method and HTTP status.",
		}, []string{"type", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "galleon_arm_request_duration_seconds",
			Help:    "Time to answer ARM requests, by resource type and method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"type", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *Metrics) observe(typ, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(typ, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(typ, method).Observe(d.Seconds())
}
