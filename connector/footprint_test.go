package connector

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
)

// streamsFootprint returns the heap bytes that n organisations' pollers take once made and
// queued, per (organisation, stream), before any cycle: what grows with the organisations, as
// opposed to the page traffic that PAGE_MEMORY_MIB bounds.
func streamsFootprint(t testing.TB, n int) float64 {
	cfg, err := Config{RefreshToken: "x"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics(prometheus.NewRegistry(), false)
	c := &Connector{cfg: cfg, deps: Deps{Now: time.Now}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), metrics: m,
		board: newBoard(m, time.Now), pages: newPageBudget(cfg.PageMemoryLimit, m.pageBytes)}
	builders := make(map[string]builder, len(cfg.Streams))
	for _, name := range cfg.Streams {
		s, _ := streams.ByName(name)
		builders[name] = builder{stream: &s, topic: "xero." + name, deadTopic: "xero.dead_letters"}
	}
	tenants := make([]string, n)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("%08d-0000-4000-8000-%012d", i, i)
	}
	state := &offsets.State{}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := newScheduler(cfg.Workers, nil)
	for _, tenant := range tenants {
		plan := c.plan(tenant)
		for _, name := range cfg.Streams {
			s.add(c.newPoller(tenant, name, fixedPage{}, nil, builders[name], state, plan.stream(name)))
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n*len(streams.Names()))
}

// TestStreamFootprint: an (organisation, stream) waiting for its cycle takes no more than
// maxStreamBytes of heap: 1,000 organisations' 26,000 streams fit in a few tens of MiB.
func TestStreamFootprint(t *testing.T) {
	const maxStreamBytes = 4096
	per := streamsFootprint(t, 200)
	t.Logf("%.0f bytes per (organisation, stream)", per)
	if per > maxStreamBytes {
		t.Errorf("%.0f bytes per (organisation, stream), want at most %d", per, maxStreamBytes)
	}
}

// BenchmarkStreamFootprint reports the heap bytes per (organisation, stream) of 1,000
// organisations; run it with -memprofile to see where they go.
func BenchmarkStreamFootprint(b *testing.B) {
	var per float64
	for b.Loop() {
		per = streamsFootprint(b, 1000)
	}
	b.ReportMetric(per, "B/stream")
}
