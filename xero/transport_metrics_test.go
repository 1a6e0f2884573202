package xero

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricValue reads a counter or gauge.
func metricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func TestMetricsTransport(t *testing.T) {
	s := &scripted{steps: steps(
		status(200, "X-DayLimit-Remaining", "4321"),
		status(429, "X-Rate-Limit-Problem", "minute", "Retry-After", "5"),
		status(429, "X-Rate-Limit-Problem", "something-new"),
		status(503),
		dropConnection,
	)}
	srv := httptest.NewServer(s)
	defer srv.Close()
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	// No keep-alive: net/http would repeat a GET whose reused connection dropped.
	rt := &metricsTransport{inner: &http.Transport{DisableKeepAlives: true}, metrics: m, clock: realClock{}}
	paths := []string{"/api.xro/2.0/Invoices", "/api.xro/2.0/Invoices", "/api.xro/2.0/Contacts/3f2a", "/connections", "/api.xro/2.0/Journals"}
	for _, p := range paths {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+p, nil)
		req.Header.Set(tenantHeader, testTenant)
		req.Header.Set("Authorization", "Bearer secret-access-token")
		if resp, err := rt.RoundTrip(req); err == nil {
			drain(resp)
		}
	}

	checks := []struct {
		name string
		c    prometheus.Metric
		want float64
	}{
		{"200 on /Invoices", m.requests.WithLabelValues("/Invoices", "200"), 1},
		{"429 on /Invoices", m.requests.WithLabelValues("/Invoices", "429"), 1},
		{"429 on /Contacts (id dropped)", m.requests.WithLabelValues("/Contacts", "429"), 1},
		{"503 on /connections", m.requests.WithLabelValues("/connections", "503"), 1},
		{"no response on /Journals", m.requests.WithLabelValues("/Journals", "error"), 1},
		{"429 minute", m.rateLimited.WithLabelValues("minute"), 1},
		{"429 unknown problem", m.rateLimited.WithLabelValues("other"), 1},
		{"day limit left", m.dayRemaining.WithLabelValues(testTenant), 4321},
	}
	for _, c := range checks {
		if got := metricValue(t, c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	for _, v := range labelValues(t, reg) {
		if strings.Contains(v, "secret-access-token") {
			t.Errorf("label %q carries a secret", v)
		}
	}
}

func TestEndpointOf(t *testing.T) {
	tests := map[string]string{
		"/api.xro/2.0/Invoices":            "/Invoices",
		"/api.xro/2.0/Invoices/":           "/Invoices",
		"/api.xro/2.0/Contacts/abc-123":    "/Contacts",
		"/prefix/api.xro/2.0/Organisation": "/Organisation",
		"/connections":                     "/connections",
		"/connect/token":                   "/connect/token",
		"/identity/connect/token":          "/connect/token",
	}
	for in, want := range tests {
		if got := endpointOf(in); got != want {
			t.Errorf("endpointOf(%q) = %q, want %q", in, got, want)
		}
	}
}
