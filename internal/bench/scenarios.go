package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xero-kafka/xero-kafka/connector"
)

// caughtUp runs one organisation with the given volumes and environment until every stream has
// caught up, and returns the running connector and simulator; stop both when done.
func (b *bench) caughtUp(ctx context.Context, tg *target, name string, spec SimSpec, extra ...string) (*run, *sim, string, func(), error) {
	if tg == nil {
		return nil, nil, "", nil, errNoReal
	}
	dir, prefix, err := b.scratch(name)
	if err != nil {
		return nil, nil, "", nil, err
	}
	spec.Seed = b.cfg.Seed
	s, err := startSim(ctx, b.cfg.Self, dir, spec)
	if err != nil {
		return nil, nil, "", nil, err
	}
	r, err := startRun(b.cfg.Bin, filepath.Join(dir, "xero-kafka.log"), b.runEnv(s, *tg, prefix, true, extra...))
	if err != nil {
		s.stop()
		return nil, nil, "", nil, err
	}
	stop := func() {
		r.stop()
		s.stop()
		_ = deleteTopics(context.WithoutCancel(ctx), *tg, prefix)
	}
	if _, _, err := r.waitStatus(ctx, 100*time.Millisecond, b.cfg.Sizes.Limit, "caught up", func(st connector.Status) bool { return st.CaughtUp }); err != nil {
		stop()
		return nil, nil, "", nil, err
	}
	return r, s, prefix, stop, nil
}

// latency: an edit in the simulator, timed until it is readable read_committed, while caught up.
func (b *bench) latency(ctx context.Context) {
	for _, c := range []struct {
		id, interval string
		samples      int
	}{
		{"latency-planned", "", b.cfg.Sizes.PlannedSamples},
		{"latency-1s", "1s", b.cfg.Sizes.FastSamples},
	} {
		if !b.wants(c.id) {
			continue
		}
		what := "change → Kafka latency while caught up, invoices only, interval planned from the day limit"
		if c.interval != "" {
			what = "change → Kafka latency while caught up, XERO_POLL_INTERVAL=" + c.interval
		}
		if c.samples == 0 {
			b.add(c.id, what, "", errors.New("skipped in the short form: the planned interval is at least a minute"))
			continue
		}
		fig, err := b.latencyOf(ctx, c.interval, c.samples)
		b.add(c.id, what, fig, err)
	}
}

func (b *bench) latencyOf(ctx context.Context, interval string, samples int) (string, error) {
	extra := []string{"XERO_STREAMS=invoices"}
	if interval != "" {
		extra = append(extra, "XERO_POLL_INTERVAL="+interval)
	}
	r, s, prefix, stop, err := b.caughtUp(ctx, b.real, "latency", SimSpec{Tenants: 1, Volumes: map[string]int{"invoices": 1000}, NoLimits: true}, extra...)
	if err != nil {
		return "", err
	}
	defer stop()
	every, err := plannedInterval(ctx, r)
	if err != nil {
		return "", err
	}
	topic := prefix + ".invoices"
	var lat []time.Duration
	for range samples {
		// An edit lands at a random point of the poll cycle.
		select {
		case <-time.After(jitter(every)):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		from, err := endOffsets(ctx, *b.real, topic)
		if err != nil {
			return "", err
		}
		cl, err := committedReader(*b.real, topic, from)
		if err != nil {
			return "", err
		}
		t0 := time.Now()
		if err := s.burst(ctx, "invoices", 1); err != nil {
			cl.Close()
			return "", fmt.Errorf("edit an invoice: %w", err)
		}
		wctx, cancel := context.WithTimeout(ctx, every+b.cfg.Sizes.Limit)
		at, err := firstRecordAfter(wctx, cl)
		cancel()
		cl.Close()
		if err != nil {
			return "", fmt.Errorf("wait for the edited invoice in %s: %w", topic, err)
		}
		lat = append(lat, at.Sub(t0))
	}
	slices.Sort(lat)
	return fmt.Sprintf("median %s, max %s over %d edits (poll interval %s)",
		lat[len(lat)/2].Round(10*time.Millisecond), lat[len(lat)-1].Round(10*time.Millisecond), len(lat), every), nil
}

// plannedInterval reads the interval of the invoices stream from the connector's day-budget
// plan, as /status shows it.
func plannedInterval(ctx context.Context, r *run) (time.Duration, error) {
	st, _, err := r.statusOf(ctx)
	if err != nil {
		return 0, err
	}
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			if s.Stream == "invoices" && s.Plan != nil {
				return time.ParseDuration(s.Plan.Interval)
			}
		}
	}
	return 0, fmt.Errorf("no plan of the invoices stream in /status (log %s)", r.logPath)
}

// bulk: n invoices created at one instant, all sharing one UpdatedDateUTC, while caught up.
func (b *bench) bulk(ctx context.Context) {
	if !b.wants("bulk") {
		return
	}
	sizes := b.cfg.Sizes.Bulk
	var names, figs []string
	var perRecord []float64
	var err error
	for _, n := range sizes {
		names = append(names, thousands(int64(n)))
		var fig string
		var cpu float64
		if fig, cpu, err = b.bulkOf(ctx, n); err != nil {
			break
		}
		figs = append(figs, thousands(int64(n))+": "+fig)
		perRecord = append(perRecord, cpu/float64(n))
	}
	fig := strings.Join(figs, "; ")
	if err == nil && len(perRecord) > 1 {
		fig += fmt.Sprintf("; CPU per record at %s / at %s: %.1f×", names[len(names)-1], names[0], perRecord[len(perRecord)-1]/max(perRecord[0], 1e-12))
	}
	b.add("bulk", fmt.Sprintf("bulk import: %s invoices, each import sharing one UpdatedDateUTC, while caught up, real broker",
		strings.Join(names, " and ")), fig, err)
}

func (b *bench) bulkOf(ctx context.Context, n int) (string, float64, error) {
	r, s, prefix, stop, err := b.caughtUp(ctx, b.real, "bulk", SimSpec{Tenants: 1, Volumes: map[string]int{"invoices": 0}, NoLimits: true},
		"XERO_STREAMS=invoices", "XERO_POLL_INTERVAL=1s")
	if err != nil {
		return "", 0, err
	}
	defer stop()
	stateTopic := prefix + "._state"
	from, err := endOffsets(ctx, *b.real, stateTopic)
	if err != nil {
		return "", 0, err
	}
	cpu0, err := cpuOf(r.pid())
	if err != nil {
		return "", 0, err
	}
	if err := s.burst(ctx, "invoices", n); err != nil {
		return "", 0, fmt.Errorf("import %d invoices: %w", n, err)
	}
	t0 := time.Now()
	_, _, err = r.waitStatus(ctx, 100*time.Millisecond, b.cfg.Sizes.Limit, "caught up after the import", func(st connector.Status) bool {
		return records(st) >= int64(n) && caughtUpSince(t0)(st)
	})
	if err != nil {
		return "", 0, err
	}
	wall := time.Since(t0)
	cpu1, err := cpuOf(r.pid())
	if err != nil {
		return "", 0, err
	}
	to, err := endOffsets(ctx, *b.real, stateTopic)
	if err != nil {
		return "", 0, err
	}
	written, err := bytesBetween(ctx, *b.real, stateTopic, from, to)
	if err != nil {
		return "", 0, err
	}
	cpu := cpu1 - cpu0
	return fmt.Sprintf("%s wall, %.1f CPU s (%.2f per 100k), %s to the state topic",
		wall.Round(100*time.Millisecond), cpu.Seconds(), cpu.Seconds()*100_000/float64(n), humanBytes(written)), cpu.Seconds(), nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// rateLimitedMetrics are the metrics BenchmarkRateLimitedBackfill reports.
var rateLimitedMetrics = []string{"calls", "429_minute", "429_concurrency", "429_day", "minute_util_pct", "floor_ratio"}

// rateLimited runs the connector package's reference backfill under Xero's real limits in
// compressed time, when that benchmark exists.
func (b *bench) rateLimited(ctx context.Context) {
	if !b.wants("rate-limited") {
		return
	}
	what := "rate-limited reference backfill (100k invoices, 20k contacts, 200k journals, Xero's limits)"
	const cmdline = "go test -run '^$' -bench BenchmarkRateLimitedBackfill -benchtime 1x ./connector/"
	files, _ := filepath.Glob(filepath.Join(b.cfg.Repo, "connector", "*_test.go"))
	found := false
	for _, f := range files {
		src, err := os.ReadFile(f)
		found = found || (err == nil && bytes.Contains(src, []byte("func BenchmarkRateLimitedBackfill(")))
	}
	if !b.cfg.Sizes.RateLimited {
		b.add("rate-limited", what, "", errors.New("skipped in the short form: a benchmark of its own, run by `make bench`"))
		return
	}
	if !found {
		b.add("rate-limited", what, "", errors.New("not available: connector/ has no BenchmarkRateLimitedBackfill in this tree"))
		return
	}
	cmd := exec.CommandContext(ctx, b.cfg.GoBin, "test", "-run", "^$", "-bench", "BenchmarkRateLimitedBackfill", "-benchtime", "1x", "./connector/")
	cmd.Dir = b.cfg.Repo
	cmd.Env = withoutEnv(os.Environ(), "XK_KAFKA_BROKERS", "XK_SCHEMA_REGISTRY_URL")
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(filepath.Join(b.cfg.Dir, "rate-limited.log"), out, 0o644)
	if err != nil {
		b.add("rate-limited", what, "", fmt.Errorf("%s: %w: %s", cmdline, err, lastLines(out, 3)))
		return
	}
	m, err := parseBenchMetrics(out, "BenchmarkRateLimitedBackfill")
	if err != nil {
		b.add("rate-limited", what, "", err)
		return
	}
	var parts []string
	for _, k := range rateLimitedMetrics {
		v, ok := m[k]
		if !ok {
			parts = append(parts, k+" not reported")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s", k, strconv.FormatFloat(v, 'f', -1, 64)))
	}
	b.add("rate-limited", what+"; "+cmdline, strings.Join(parts, ", "), nil)
}

func lastLines(b []byte, n int) string {
	l := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(l[max(0, len(l)-n):], " | ")
}

func withoutEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, k)
	})
}

// parseBenchMetrics reads the value-unit pairs of a benchmark's result line.
func parseBenchMetrics(out []byte, name string) (map[string]float64, error) {
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || (f[0] != name && !strings.HasPrefix(f[0], name+"-")) {
			continue
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q of %s is not a number", name, f[i], f[i+1])
			}
			m[f[i+1]] = v
		}
		return m, nil
	}
	return nil, fmt.Errorf("%s printed no result line", name)
}
