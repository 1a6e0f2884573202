package xero

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the client's Prometheus collectors. Labels are endpoints ("/Invoices"), status
// codes, rate-limit problems, retry reasons, refresh outcomes and, for the remaining calls when
// Config.PerTenantMetrics is set, the tenant id: all bounded sets. Record ids, pages and tokens
// never become labels.
type metrics struct {
	requests    *prometheus.CounterVec   // attempts by endpoint and status
	duration    *prometheus.HistogramVec // attempt latency (to response headers) by endpoint
	rateLimited *prometheus.CounterVec   // 429s by X-Rate-Limit-Problem
	retries     *prometheus.CounterVec   // attempts repeated, by reason
	refreshes   *prometheus.CounterVec   // token refreshes by outcome
	remaining   *remainingCollector      // X-DayLimit-Remaining and X-MinLimit-Remaining
	tokenAge    *tokenAgeCollector       // seconds since the refresh token in use was issued
}

// Values of the bounded labels, created at zero so that the series exist before the first event.
var (
	refreshOutcomes = []string{"ok", "rejected", "error", "save_failed"}
	problemLabels   = []string{ProblemMinute, ProblemDay, ProblemConcurrent, ProblemAppMinute, "other"}
	retryReasons    = []string{"timeout", "network", "rate_limit", "server_error", "body", "token_expired"}
)

// newMetrics creates the collectors and registers them on reg (nil: not registered).
// perTenant adds the remaining calls of each tenant to their minimum over the tenants.
func newMetrics(reg prometheus.Registerer, perTenant bool, clk clock) (*metrics, error) {
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
		remaining: &remainingCollector{perTenant: perTenant, byTenant: map[string]remaining{}},
		tokenAge:  &tokenAgeCollector{clock: clk, since: clk.Now()},
	}
	for _, o := range refreshOutcomes {
		m.refreshes.WithLabelValues(o)
	}
	for _, p := range problemLabels {
		m.rateLimited.WithLabelValues(p)
	}
	for _, r := range retryReasons {
		m.retries.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.rateLimited, m.retries, m.refreshes, m.remaining, m.tokenAge} {
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
		t.metrics.remaining.observe(tenant, resp.Header)
	}
	return resp, nil
}

// remaining is a tenant's calls left, as last reported; -1 when never reported.
type remaining struct{ day, minute int }

// remainingCollector reports the calls left to each tenant, from the X-DayLimit-Remaining and
// X-MinLimit-Remaining headers: their minimum over the tenants always, and each tenant's when
// perTenant is set.
type remainingCollector struct {
	perTenant bool

	mu       sync.Mutex
	byTenant map[string]remaining
}

var (
	dayRemainingDesc = prometheus.NewDesc("xero_api_day_limit_remaining",
		"Calls left in the tenant's daily limit, from the last X-DayLimit-Remaining.", []string{"tenant"}, nil)
	minuteRemainingDesc = prometheus.NewDesc("xero_api_minute_limit_remaining",
		"Calls left in the tenant's current minute, from the last X-MinLimit-Remaining.", []string{"tenant"}, nil)
	dayRemainingMinDesc = prometheus.NewDesc("xero_api_day_limit_remaining_min",
		"Calls left in the daily limit of the organisation that has the fewest (X-DayLimit-Remaining).", nil, nil)
	minuteRemainingMinDesc = prometheus.NewDesc("xero_api_minute_limit_remaining_min",
		"Calls left in the current minute of the organisation that has the fewest (X-MinLimit-Remaining).", nil, nil)
)

func (c *remainingCollector) observe(tenant string, h http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byTenant[tenant]
	if !ok {
		r = remaining{day: -1, minute: -1}
	}
	if v, ok := headerInt(h, "X-DayLimit-Remaining"); ok {
		r.day = v
	}
	if v, ok := headerInt(h, "X-MinLimit-Remaining"); ok {
		r.minute = v
	}
	c.byTenant[tenant] = r
}

func (c *remainingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dayRemainingMinDesc
	ch <- minuteRemainingMinDesc
	if c.perTenant {
		ch <- dayRemainingDesc
		ch <- minuteRemainingDesc
	}
}

func (c *remainingCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	minDay, minMinute := -1, -1
	lower := func(cur, v int) int {
		if v >= 0 && (cur < 0 || v < cur) {
			return v
		}
		return cur
	}
	for tenant, r := range c.byTenant {
		minDay, minMinute = lower(minDay, r.day), lower(minMinute, r.minute)
		if !c.perTenant {
			continue
		}
		if r.day >= 0 {
			ch <- prometheus.MustNewConstMetric(dayRemainingDesc, prometheus.GaugeValue, float64(r.day), tenant)
		}
		if r.minute >= 0 {
			ch <- prometheus.MustNewConstMetric(minuteRemainingDesc, prometheus.GaugeValue, float64(r.minute), tenant)
		}
	}
	// Before any answer the minimum is unknown: no sample, rather than a misleading zero.
	if minDay >= 0 {
		ch <- prometheus.MustNewConstMetric(dayRemainingMinDesc, prometheus.GaugeValue, float64(minDay))
	}
	if minMinute >= 0 {
		ch <- prometheus.MustNewConstMetric(minuteRemainingMinDesc, prometheus.GaugeValue, float64(minMinute))
	}
}

// tokenAgeCollector reports the age of the refresh token in use: the time since Xero issued it
// at the last refresh, or since the client started for the token it was given. The connector
// refreshes about every 25 minutes; a token much older means refreshes are failing (Xero
// expires an unused refresh token after 60 days).
type tokenAgeCollector struct {
	clock clock

	mu    sync.Mutex
	since time.Time
}

var tokenAgeDesc = prometheus.NewDesc("xero_token_age_seconds",
	"Seconds since the refresh token in use was issued (or, before the first refresh, since the client started).", nil, nil)

// rotated records that a new refresh token is in use.
func (c *tokenAgeCollector) rotated() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since = c.clock.Now()
}

func (c *tokenAgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- tokenAgeDesc }

func (c *tokenAgeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	since := c.since
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(tokenAgeDesc, prometheus.GaugeValue, c.clock.Now().Sub(since).Seconds())
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
