package xero

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the client's Prometheus collectors. Labels are endpoints ("/Invoices"), status
// codes, rate-limit problems, retry reasons, refresh outcomes and, for the day limit, the
// tenant id: all bounded sets. Record ids, pages and tokens never become labels.
type metrics struct {
	requests     *prometheus.CounterVec   // attempts by endpoint and status
	duration     *prometheus.HistogramVec // attempt latency (to response headers) by endpoint
	rateLimited  *prometheus.CounterVec   // 429s by X-Rate-Limit-Problem
	retries      *prometheus.CounterVec   // attempts repeated, by reason
	refreshes    *prometheus.CounterVec   // token refreshes by outcome
	dayRemaining *prometheus.GaugeVec     // X-DayLimit-Remaining by tenant
}

// newMetrics creates the collectors and registers them on reg (nil: not registered).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xero_api_requests_total",
			Help: "HTTP attempts to Xero by endpoint and status code (\"error\" when no response came back).",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "xero_api_request_duration_seconds",
			Help:    "Time from sending an attempt to its response headers, by endpoint.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xero_api_rate_limited_total",
			Help: "429 responses by X-Rate-Limit-Problem (minute, day, concurrent, appminute, other).",
		}, []string{"problem"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xero_api_retries_total",
			Help: "Calls repeated after a transient failure, by reason.",
		}, []string{"reason"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xero_token_refreshes_total",
			Help: "Access-token refreshes by outcome (ok, rejected, error, save_failed).",
		}, []string{"outcome"}),
		dayRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "xero_api_day_limit_remaining",
			Help: "Calls left in the tenant's daily limit, from the last X-DayLimit-Remaining.",
		}, []string{"tenant"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.rateLimited, m.retries, m.refreshes, m.dayRemaining} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// metricsTransport counts every attempt that reaches the network, including the token
// endpoint's and the retries.
type metricsTransport struct {
	inner   http.RoundTripper
	metrics *metrics
	clock   clock
}

func (t *metricsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	endpoint := endpointOf(req.URL.Path)
	start := t.clock.Now()
	resp, err := t.inner.RoundTrip(req)
	t.metrics.duration.WithLabelValues(endpoint).Observe(t.clock.Now().Sub(start).Seconds())
	if err != nil {
		t.metrics.requests.WithLabelValues(endpoint, "error").Inc()
		return nil, err
	}
	t.metrics.requests.WithLabelValues(endpoint, strconv.Itoa(resp.StatusCode)).Inc()
	if resp.StatusCode == http.StatusTooManyRequests {
		t.metrics.rateLimited.WithLabelValues(problemLabel(resp.Header.Get("X-Rate-Limit-Problem"))).Inc()
	}
	if tenant := req.Header.Get(tenantHeader); tenant != "" {
		if v, ok := headerInt(resp.Header, "X-DayLimit-Remaining"); ok {
			t.metrics.dayRemaining.WithLabelValues(tenant).Set(float64(v))
		}
	}
	return resp, nil
}

// endpointOf reduces a request path to its endpoint: "/api.xro/2.0/Invoices/abc" becomes
// "/Invoices", which keeps label values to the few endpoints the client calls.
func endpointOf(path string) string {
	if strings.HasSuffix(path, tokenPath) {
		return tokenPath
	}
	if i := strings.Index(path, accountingPrefix); i >= 0 {
		path = path[i+len(accountingPrefix):]
	}
	path = strings.TrimPrefix(path, "/")
	if i := strings.IndexByte(path, '/'); i >= 0 {
		path = path[:i]
	}
	return "/" + path
}

// problemLabel keeps the problem label to the values Xero documents.
func problemLabel(p string) string {
	switch p = strings.ToLower(p); p {
	case ProblemMinute, ProblemDay, ProblemConcurrent, ProblemAppMinute:
		return p
	}
	return "other"
}
