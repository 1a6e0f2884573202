package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
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

// TestStatusSummaryAndTenant: GET /status counts the streams by state and names the slowest and
// the failing ones; ?tenant= gives one organisation's streams, 404 for one not read; ?all gives
// every stream.
func TestStatusSummaryAndTenant(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	now := start
	b := newBoard(newMetrics(nil, false), func() time.Time { return now })
	for i := range 30 {
		tenant := fmt.Sprintf("t%02d", i)
		for _, name := range []string{"invoices", "contacts"} {
			b.stream(tenant, name, false)
		}
	}
	now = start.Add(time.Minute)
	for i := range 30 {
		tenant := fmt.Sprintf("t%02d", i)
		inv := b.stream(tenant, "invoices", false)
		inv.begin(now)
		switch {
		case i == 7:
			inv.end(now, errors.New("503 from Xero"))
		case i == 8:
			inv.end(now, errors.New("day limit"))
			inv.pause(now.Add(time.Hour))
		case i < 20:
			inv.committed(offsets.Bookmark{}, 5)
			inv.end(now, nil)
		}
		c := b.stream(tenant, "contacts", false)
		if i != 3 {
			c.begin(now)
			c.end(now.Add(time.Duration(i)*time.Second), nil)
		}
	}
	now = start.Add(10 * time.Minute)

	srv := httptest.NewServer(b)
	defer srv.Close()
	var sum Summary
	getJSON(t, srv.URL+"/status", &sum)
	// Invoices of t20..t29 are in their first cycle, and contacts of t03 never began: 11 in
	// their first sync.
	want := map[string]int{StateIdle: 18 + 29, StateError: 1, StatePaused: 1, StateFirstSync: 11}
	if fmt.Sprint(sum.ByState) != fmt.Sprint(want) {
		t.Errorf("streams by state %v, want %v", sum.ByState, want)
	}
	if sum.Tenants != 30 || sum.Streams != 60 || sum.CaughtUp || sum.TenantsCaughtUp != 17 || sum.RecordsWritten != 90 {
		t.Errorf("summary %+v: want 30 tenants, 60 streams, 17 caught up, 90 records, not caught up", sum)
	}
	if len(sum.Slowest) != summaryRows || sum.Slowest[0].LagSeconds != 600 {
		t.Errorf("slowest %+v: want %d rows, the first 600 s behind", sum.Slowest, summaryRows)
	}
	if len(sum.Failing) != 2 || sum.Failing[0].TenantID != "t07" || sum.Failing[1].TenantID != "t08" || sum.Failing[1].State != StatePaused {
		t.Errorf("failing %+v: want t07 (error) and t08 (paused)", sum.Failing)
	}

	var one TenantStatus
	getJSON(t, srv.URL+"/status?tenant=t07", &one)
	if one.TenantID != "t07" || len(one.Streams) != 2 || one.Streams[0].LastError != "503 from Xero" {
		t.Errorf("tenant t07: %+v", one)
	}
	resp, err := http.Get(srv.URL + "/status?tenant=nope")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"nope"`) {
		t.Errorf("unknown tenant: %d %q, want 404 naming it", resp.StatusCode, body)
	}
	var full Status
	getJSON(t, srv.URL+"/status?all", &full)
	if len(full.Tenants) != 30 || full.Tenants[29].TenantID != "t29" {
		t.Errorf("?all: %d tenants, want 30 in order", len(full.Tenants))
	}
}

// TestStatusSummarySize: the summary of 1,000 organisations' 26 streams stays small.
func TestStatusSummarySize(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	b := newBoard(newMetrics(nil, false), func() time.Time { return now })
	for i := range 1000 {
		for _, name := range streams.Names() {
			s := b.stream(fmt.Sprintf("%08x-0000-0000-0000-000000000000", i), name, false)
			s.begin(now)
			s.end(now, errors.New("Xero answered 500 Internal Server Error for this endpoint"))
		}
	}
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
	if n := rec.Body.Len(); n > 16<<10 {
		t.Errorf("summary of 26,000 streams is %d bytes, want at most 16 KiB", n)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestStatusAllStreamed: ?all, written one organisation at a time, is the indented JSON of
// status(), byte for byte, with organisations and without.
func TestStatusAllStreamed(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	b := newBoard(newMetrics(nil, false), func() time.Time { return now })
	whole := func() string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(b.status()); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	for n := range 3 {
		for i := range n * 2 {
			tenant := fmt.Sprintf("t%d", 9-i)
			b.setName(tenant, "Org "+tenant)
			for _, name := range []string{"invoices", "journals"} {
				s := b.stream(tenant, name, name == "journals")
				s.begin(now)
				s.committed(offsets.Bookmark{Watermark: 1700000000000 + int64(i)}, i)
				s.end(now, nil)
			}
		}
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, httptest.NewRequest("GET", "/status?all", nil))
		if got, want := rec.Body.String(), whole(); got != want {
			t.Errorf("%d organisations: ?all is\n%s\nwant\n%s", len(b.status().Tenants), got, want)
		}
	}
}
