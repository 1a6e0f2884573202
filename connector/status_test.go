package connector

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// TestLag: the lag of a stream counts from its last successful cycle, or from its start; without
// the tenant label it is the worst over the organisations.
func TestLag(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	for _, perTenant := range []bool{false, true} {
		now = start
		m := newMetrics(nil, perTenant)
		b := newBoard(m, clock)
		a := b.stream("a", "invoices", false)
		c := b.stream("c", "invoices", false)
		b.stream("a", "journals", true)
		now = start.Add(time.Minute)
		a.begin(now)
		a.end(now, nil)
		c.begin(now)
		c.end(now, errors.New("503"))
		now = start.Add(100 * time.Second)

		reg := prometheus.NewRegistry()
		reg.MustRegister(&lagCollector{board: b, now: clock, perTenant: perTenant})
		var want string
		if perTenant {
			want = `
# HELP xero_kafka_stream_lag_seconds Seconds since the stream's last successful sync cycle (since it started, before the first).
# TYPE xero_kafka_stream_lag_seconds gauge
xero_kafka_stream_lag_seconds{stream="invoices",tenant="a"} 40
xero_kafka_stream_lag_seconds{stream="invoices",tenant="c"} 100
xero_kafka_stream_lag_seconds{stream="journals",tenant="a"} 100
`
		} else {
			want = `
# HELP xero_kafka_stream_lag_seconds Seconds since the stream's last successful sync cycle (since it started, before the first), the largest over the organisations.
# TYPE xero_kafka_stream_lag_seconds gauge
xero_kafka_stream_lag_seconds{stream="invoices"} 100
xero_kafka_stream_lag_seconds{stream="journals"} 100
`
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
			t.Errorf("perTenant %v: %v", perTenant, err)
		}
	}
}

// TestMetricsWithoutTenants: without per-tenant series, counters carry no tenant label and sum
// over the organisations; every outcome exists at zero from the stream's start.
func TestMetricsWithoutTenants(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, false)
	b := newBoard(m, time.Now)
	b.stream("a", "invoices", false)
	b.stream("b", "invoices", false)
	m.records.WithLabelValues("a", "invoices", "written").Add(3)
	m.records.WithLabelValues("b", "invoices", "written").Add(4)
	if got := testutil.ToFloat64(m.records.vec.WithLabelValues("invoices", "written")); got != 7 {
		t.Errorf("written %v, want 7", got)
	}
	if got := testutil.ToFloat64(m.records.vec.WithLabelValues("invoices", "dead_letter")); got != 0 {
		t.Errorf("dead letters %v, want 0", got)
	}
	if n := testutil.CollectAndCount(m.records.vec); n != len(recordOutcomes) {
		t.Errorf("%d record series for one stream of two tenants, want %d", n, len(recordOutcomes))
	}
}

type pingFunc func(context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

// TestReadyHandler: /readyz is 503 until the state is replayed, then follows Kafka and the
// registry.
func TestReadyHandler(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	c := &Connector{ready: &readiness{registry: cl}}
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		c.ReadyHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "not replayed") {
		t.Errorf("before replay: %d %q", code, body)
	}
	kafkaErr := errors.New("no broker answered")
	var kafkaDown bool
	c.ready.set(pingFunc(func(context.Context) error {
		if kafkaDown {
			return kafkaErr
		}
		return nil
	}))
	if code, body := get(); code != http.StatusOK || body != "ready\n" {
		t.Errorf("after replay: %d %q", code, body)
	}
	kafkaDown = true
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "kafka: no broker answered") {
		t.Errorf("kafka down: %d %q", code, body)
	}
	kafkaDown = false
	reg.Close()
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "schema registry") {
		t.Errorf("registry down: %d %q", code, body)
	}
	c.ready.set(nil)
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Errorf("after Run returned: %d", code)
	}
}
