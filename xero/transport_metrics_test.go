package xero

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
	m, err := newMetrics(reg, true, realClock{})
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
	}
	for _, c := range checks {
		if got := metricValue(t, c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if got := gathered(t, reg, "xero_api_day_limit_remaining", "tenant="+testTenant); got != 4321 {
		t.Errorf("day limit left = %v, want 4321", got)
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

// gathered returns the value of the sample of metric name whose labels (name=value, sorted)
// are labels, or -1 when there is none.
func gathered(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var got []string
			for _, lp := range m.GetLabel() {
				got = append(got, lp.GetName()+"="+lp.GetValue())
			}
			if strings.Join(got, ",") != strings.Join(labels, ",") {
				continue
			}
			if m.Gauge != nil {
				return m.Gauge.GetValue()
			}
			return m.Counter.GetValue()
		}
	}
	return -1
}

// TestRemainingCalls: the lowest remaining calls over the tenants are always exported, each
// tenant's only when asked for, so the series stay few with many organisations.
func TestRemainingCalls(t *testing.T) {
	for _, perTenant := range []bool{false, true} {
		reg := prometheus.NewRegistry()
		m, err := newMetrics(reg, perTenant, realClock{})
		if err != nil {
			t.Fatal(err)
		}
		if got := gathered(t, reg, "xero_api_day_limit_remaining_min"); got != -1 {
			t.Errorf("before any answer: minimum %v, want no sample", got)
		}
		h := func(day, minute string) http.Header {
			return http.Header{"X-Daylimit-Remaining": {day}, "X-Minlimit-Remaining": {minute}}
		}
		m.remaining.observe("a", h("4000", "50"))
		m.remaining.observe("b", h("1200", "58"))
		m.remaining.observe("a", h("3999", "49"))
		m.remaining.observe("c", http.Header{}) // a response without the headers changes nothing
		checks := []struct {
			name   string
			labels []string
			want   float64
		}{
			{"xero_api_day_limit_remaining_min", nil, 1200},
			{"xero_api_minute_limit_remaining_min", nil, 49},
		}
		if perTenant {
			checks = append(checks, []struct {
				name   string
				labels []string
				want   float64
			}{
				{"xero_api_day_limit_remaining", []string{"tenant=a"}, 3999},
				{"xero_api_minute_limit_remaining", []string{"tenant=b"}, 58},
				{"xero_api_day_limit_remaining", []string{"tenant=c"}, -1},
			}...)
		}
		for _, c := range checks {
			if got := gathered(t, reg, c.name, c.labels...); got != c.want {
				t.Errorf("perTenant %v: %s%v = %v, want %v", perTenant, c.name, c.labels, got, c.want)
			}
		}
		if !perTenant {
			for _, v := range labelValues(t, reg) {
				if strings.HasPrefix(v, "tenant=") {
					t.Errorf("a tenant label without per-tenant metrics: %s", v)
				}
			}
		}
	}
}

// TestTokenAge: the age of the refresh token counts from the client's start, then from each
// rotation.
func TestTokenAge(t *testing.T) {
	clk := newFakeClock()
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, false, clk)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(90 * time.Second)
	if got := gathered(t, reg, "xero_token_age_seconds"); got != 90 {
		t.Errorf("age %v, want 90", got)
	}
	m.tokenAge.rotated()
	clk.Advance(10 * time.Second)
	if got := gathered(t, reg, "xero_token_age_seconds"); got != 10 {
		t.Errorf("age after a rotation %v, want 10", got)
	}
	if got := gathered(t, reg, "xero_token_refreshes_total", "outcome=rejected"); got != 0 {
		t.Errorf("rejected refreshes %v, want a series at 0", got)
	}
}
