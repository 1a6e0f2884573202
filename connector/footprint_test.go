package connector

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
)

// streamsFootprint returns the heap bytes that n organisations' pollers take once made and
// queued, per (organisation, stream), before any cycle: what grows with the organisations, as
// opposed to the page traffic that PAGE_MEMORY_MIB bounds.
func streamsFootprint(t testing.TB, n int) float64 {
	c, cfg := footprintConnector(t)
	builders := make(map[string]*streamBuilder, len(cfg.Streams))
	for _, name := range cfg.Streams {
		s, _ := streams.ByName(name)
		builders[name] = &streamBuilder{stream: &s, topic: "xero." + name, deadTopic: "xero.dead_letters"}
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
// maxStreamBytes of heap: 1,000 organisations' 26,000 streams fit in about 25 MiB. It measured
// 997 to 1,004 bytes; with each poller holding the connector's settings (state topic, start
// date, pause after a refusal) itself, 1,030 to 1,040; with each copying its stream's builder
// too, 1,100.
func TestStreamFootprint(t *testing.T) {
	if !measureAlone(t) {
		return
	}
	const maxStreamBytes = 1025
	per := streamsFootprint(t, 200)
	t.Logf("%.0f bytes per (organisation, stream)", per)
	if per > maxStreamBytes+raceSlack {
		t.Errorf("%.0f bytes per (organisation, stream), want at most %d", per, maxStreamBytes+raceSlack)
	}
}

// aloneEnv names the test that a process of the test binary was started to run alone.
const aloneEnv = "XK_MEASURE_ALONE"

// measureAlone runs t's test again in a process of its own and reports whether this is that
// process. A heap measured by difference also counts what the tests that ran before left
// behind: after the rest of the package, the synced footprint measured 1,143 bytes a stream,
// against 1,067 to 1,111 alone. The parent fails t when the child fails, and logs its output.
func measureAlone(t *testing.T) bool {
	t.Helper()
	if os.Getenv(aloneEnv) == t.Name() {
		return true
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), aloneEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("in a process of its own:\n%s", out)
	if err != nil {
		t.Fatalf("%s in a process of its own: %v", t.Name(), err)
	}
	return false
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

// syncedFootprint returns the heap bytes per stream of n invoices streams that have each run a
// first cycle and committed a bookmark holding three ids (the records of its newest second),
// as they wait for their next: the restart's case, where every stream has a bookmark. It fails
// t if a stream kept its bookmark writer.
func syncedFootprint(t testing.TB, n int) float64 {
	c, cfg := footprintConnector(t)
	s, _ := streams.ByName("invoices")
	b := &streamBuilder{stream: &s, topic: "xero.invoices", deadTopic: "xero.dead_letters", enc: rawEncoder{}}
	var page fixedPage
	for i := range 3 {
		page = append(page, fmt.Sprintf(`{"InvoiceID":"%08d-0000-4000-8000-000000000000","UpdatedDateUTC":"/Date(1700000000000+0000)/"}`, i))
	}
	out := committerFunc(func(context.Context, []*kgo.Record) error { return nil })
	state := &offsets.State{}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// The streams share one organisation's plan, which 26 streams share in service: what is
	// measured is what each stream adds.
	plan := c.plan("plan").stream("invoices")
	sched := newScheduler(cfg.Workers, nil)
	for i := range n {
		tenant := fmt.Sprintf("%08d-0000-4000-8000-%012d", i, i)
		p := c.newPoller(tenant, "invoices", page, nil, b, state, plan)
		p.out = out
		tk := &task{p: p}
		if o := tk.step(t.Context()); o.err != nil || o.stopped {
			t.Fatalf("first cycle of %s: %+v", tenant, o)
		}
		if p.bw != nil {
			t.Fatalf("stream %s keeps its bookmark writer between cycles", tenant)
		}
		if n := len(p.bm.Window) + p.window.len(); n != len(page) {
			t.Fatalf("stream %s: bookmark window of %d ids, want %d", tenant, n, len(page))
		}
		sched.add(p)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(sched)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// TestSyncedStreamFootprint: a stream that has committed a small bookmark and waits for its next
// cycle holds the bookmark once, not a writer's copy too, its window packed, and no header
// values. It measured 1,105 to 1,106 bytes; with the window kept as a map, about 1,390; with
// the header values kept, about 1,305; with each poller holding the connector's settings
// itself, 1,138 to 1,143; with each copying its stream's builder too, about 1,205.
func TestSyncedStreamFootprint(t *testing.T) {
	if !measureAlone(t) {
		return
	}
	const maxStreamBytes = 1125
	per := syncedFootprint(t, 1000)
	t.Logf("%.0f bytes per stream after a first cycle", per)
	if per > maxStreamBytes+raceSlack {
		t.Errorf("%.0f bytes per stream after a first cycle, want at most %d", per, maxStreamBytes+raceSlack)
	}
}

// footprintConnector returns a connector with the default configuration and no I/O, to make
// pollers from, and that configuration.
func footprintConnector(t testing.TB) (*Connector, Config) {
	t.Helper()
	cfg, err := Config{RefreshToken: "x"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics(prometheus.NewRegistry(), false)
	return &Connector{cfg: cfg, deps: Deps{Now: time.Now}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), metrics: m,
		board: newBoard(m, time.Now), pages: newPageBudget(cfg.PageMemoryLimit, m.pageBytes)}, cfg
}
