package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// allRows are the ids of the table, in order.
var allRows = []string{
	"invoices-real", "invoices-kfake", "rss-invoices", "journals-real", "journals-kfake", "rss-big",
	"latency-planned", "latency-1s", "bulk", "rate-limited", "orgs-first", "orgs-restart", "orgs-bodies", "orgs-oracle", "peer",
}

// TestShortForm runs the whole harness with tiny volumes on kfake, so that `make bench` cannot
// rot: every row must be there, and every row measured except those the short form skips.
func TestShortForm(t *testing.T) {
	if testenv.Real() {
		t.Skip("the short form runs on kfake in helper processes, whatever the mode: the pass on fakes covers it")
	}
	dir := t.TempDir()
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	repo := testenv.RepoRoot(t)
	for pkg, out := range map[string]string{"./cmd/xero-kafka": "xero-kafka", "./internal/bench/cmd/xkbench": "xkbench"} {
		cmd := exec.CommandContext(t.Context(), goBin, "build", "-o", filepath.Join(dir, out), pkg)
		cmd.Dir = repo
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	tap := filepath.Join(repo, ".cache", "tap-xero-venv")
	if _, err := os.Stat(filepath.Join(tap, "bin", "tap-xero")); err != nil {
		tap = "" // the peer's row then says it did not run
	}
	cfg := Config{
		Bin: filepath.Join(dir, "xero-kafka"), Self: filepath.Join(dir, "xkbench"), Dir: filepath.Join(dir, "run"),
		Repo: repo, GoBin: goBin, TapVenv: tap, FakeAsReal: true, Sizes: Short(), Command: "scripts/bench.sh",
	}
	tb, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]string{
		"latency-planned": "skipped in the short form",
		"rate-limited":    "skipped in the short form",
		"orgs-oracle":     "skipped in the short form",
	}
	if tap == "" {
		skipped["peer"] = "not run: no tap-xero environment"
	}
	if len(tb.Rows) != len(allRows) {
		t.Fatalf("%d rows, want %d: %+v", len(tb.Rows), len(allRows), tb.Rows)
	}
	for i, r := range tb.Rows {
		if r.ID != allRows[i] {
			t.Errorf("row %d is %q, want %q", i, r.ID, allRows[i])
		}
		if r.What == "" || r.Figure == "" || !strings.Contains(r.Command, "-only '^"+r.ID+"$'") {
			t.Errorf("row %s is not filled: %+v", r.ID, r)
		}
		want, skip := skipped[r.ID]
		switch {
		case skip && !strings.Contains(r.Figure, want):
			t.Errorf("row %s: %q, want it to say %q", r.ID, r.Figure, want)
		case !skip && strings.HasPrefix(r.Figure, "not measured"):
			t.Errorf("row %s: %s (logs in %s)", r.ID, r.Figure, cfg.Dir)
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, tb, "make bench"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| cores | " + itoa(runtime.NumCPU()) + " |", "| CPU | ", "load average", "`scripts/bench.sh -only '^bulk$'`"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, md.String())
		}
	}
	if t.Failed() {
		var txt bytes.Buffer
		_ = WriteText(&txt, tb)
		t.Logf("table:\n%s", txt.String())
	}
}

func itoa(n int) string { return strings.TrimSpace(thousands(int64(n))) }

func TestParseBenchMetrics(t *testing.T) {
	out := []byte("goos: linux\nBenchmarkRateLimitedBackfill-2   \t       1\t93000000000 ns/op\t      2123 calls\t         0 429_concurrency\t         0 429_day\t 0 429_minute\t 99.4 minute_util_pct\t 1.02 floor_ratio\nPASS\n")
	m, err := parseBenchMetrics(out, "BenchmarkRateLimitedBackfill")
	if err != nil {
		t.Fatal(err)
	}
	if m["calls"] != 2123 || m["minute_util_pct"] != 99.4 || m["floor_ratio"] != 1.02 || m["429_minute"] != 0 {
		t.Errorf("metrics %v", m)
	}
	if _, err := parseBenchMetrics([]byte("PASS\n"), "BenchmarkRateLimitedBackfill"); err == nil {
		t.Error("no result line: want an error")
	}
	if _, err := parseBenchMetrics([]byte("BenchmarkRateLimitedBackfill-2 1 x calls\n"), "BenchmarkRateLimitedBackfill"); err == nil {
		t.Error("a value that is not a number: want an error")
	}
}

func TestProcOfSelf(t *testing.T) {
	// Burn some CPU so that the count moves.
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	_ = x
	cpu, err := cpuOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if cpu <= 0 {
		t.Errorf("CPU of this process: %v, want more than 0", cpu)
	}
	peak, now, err := memOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if peak < now || now <= 0 {
		t.Errorf("peak RSS %d, RSS %d: want 0 < RSS <= peak", peak, now)
	}
	if _, err := cpuOf(-1); err == nil {
		t.Error("a process that does not exist: want an error")
	}
	// A Go program has no JIT compiler threads.
	if c, err := compilingOf(os.Getpid()); err != nil || c != 0 {
		t.Errorf("compiling CPU of this process: %v, %v; want 0, nil", c, err)
	}
	if _, err := compilingOf(-1); err == nil {
		t.Error("compiling CPU of a process that does not exist: want an error")
	}
}

func TestOthersFigure(t *testing.T) {
	metrics := []byte(`# HELP xero_kafka_transactions_total Kafka transactions.
# TYPE xero_kafka_transactions_total counter
xero_kafka_transactions_total{outcome="aborted"} 2
xero_kafka_transactions_total{outcome="committed"} 57
xero_kafka_transaction_seconds_count 59
`)
	r := syncResult{records: 200_000, disk: 38_600_000, txns: committedTransactions(metrics), others: []processCPU{
		{name: "broker", cpu: 2 * time.Second, compiling: 600 * time.Millisecond},
		{name: "simulator", cpu: 800 * time.Millisecond},
	}}
	want := " (others: broker 1.00 of which JIT compiling 0.30, simulator 0.40); 38.6 MB on the broker's disk; 57 transactions"
	if got := r.othersFigure(); got != want {
		t.Errorf("othersFigure:\n got %q\nwant %q", got, want)
	}
	if n := committedTransactions([]byte("go_goroutines 12\n")); n != 0 {
		t.Errorf("transactions in a body without them: %d, want 0", n)
	}
	if got := r.compilingShare("broker"); got != 0.3 {
		t.Errorf("the broker's compiling share: %v, want 0.3", got)
	}
	for _, name := range []string{"simulator", "registry"} {
		if got := r.compilingShare(name); got != 0 {
			t.Errorf("%s's compiling share: %v, want 0", name, got)
		}
	}
}

func TestSelectStreams(t *testing.T) {
	cat := []byte(`{"streams":[{"tap_stream_id":"invoices","metadata":[{"breadcrumb":[],"metadata":{}}]},{"tap_stream_id":"contacts","metadata":[{"breadcrumb":[],"metadata":{}}]}]}`)
	out, err := selectStreams(cat, []string{"invoices"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"selected":true`) || strings.Count(string(out), `"selected"`) != 1 {
		t.Errorf("catalog %s: want invoices alone selected", out)
	}
	if _, err := selectStreams(cat, []string{"journals"}); err == nil {
		t.Error("a stream the catalog lacks: want an error")
	}
}

func TestCaughtUpAt(t *testing.T) {
	at := func(sec int) *time.Time {
		v := time.Date(2026, 12, 1, 12, 0, sec, 0, time.UTC)
		return &v
	}
	stream := func(caught bool, last *time.Time) connector.StreamStatus {
		return connector.StreamStatus{CaughtUp: caught, LastSuccess: last}
	}
	status := func(streams ...connector.StreamStatus) connector.Status {
		return connector.Status{Tenants: []connector.TenantStatus{{Streams: streams[:1]}, {Streams: streams[1:]}}}
	}
	for _, tc := range []struct {
		name string
		st   connector.Status
		want *time.Time
	}{
		{"no organisation", connector.Status{}, nil},
		{"the later of two", status(stream(true, at(3)), stream(true, at(7))), at(7)},
		{"the later first", status(stream(true, at(9)), stream(true, at(7))), at(9)},
		{"one not caught up", status(stream(true, at(3)), stream(false, at(7))), nil},
		{"one never succeeded", status(stream(true, at(3)), stream(true, nil)), nil},
	} {
		got := caughtUpAt(tc.st)
		if tc.want == nil && !got.IsZero() || tc.want != nil && !got.Equal(*tc.want) {
			t.Errorf("%s: caughtUpAt = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMedianRun(t *testing.T) {
	run := func(perSecond, cpu int) syncResult {
		return syncResult{records: 100_000, wall: time.Duration(100_000 * float64(time.Second) / float64(perSecond)), cpu: time.Duration(cpu) * time.Second}
	}
	for _, c := range []struct {
		runs []syncResult
		want float64 // records/s of the median run
	}{
		{nil, 0},
		{[]syncResult{run(40_000, 2)}, 40_000},
		{[]syncResult{run(50_000, 2), run(20_000, 3), run(40_000, 1)}, 40_000},
		{[]syncResult{run(50_000, 2), run(20_000, 3)}, 20_000},
	} {
		got := median(c.runs)
		if len(c.runs) == 0 {
			if got.records != 0 {
				t.Errorf("median of no runs: %+v, want the zero result", got)
			}
			continue
		}
		if diff := got.perSecond() - c.want; diff > 1 || diff < -1 {
			t.Errorf("median of %d runs: %.0f records/s, want %.0f", len(c.runs), got.perSecond(), c.want)
		}
	}
	s := spread([]syncResult{run(50_000, 2), run(20_000, 3), run(40_000, 1)})
	if want := "; median of 3 runs: 20,000–50,000 records/s, 1.00–3.00 CPU s per 100k"; s != want {
		t.Errorf("spread = %q, want %q", s, want)
	}
	if s := spread([]syncResult{run(40_000, 2)}); s != "" {
		t.Errorf("spread of one run = %q, want none", s)
	}
}
