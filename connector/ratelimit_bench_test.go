package connector_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xero-kafka/xero-kafka/xero"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// Xero's limits per organisation, as the simulator enforces them by default.
const (
	xeroPerMinute = 60
	xeroPerDay    = 5000
)

// BenchmarkRateLimitedBackfill runs the reference backfill (100,000 invoices, 20,000 contacts,
// 200,000 journals, one organisation) through the connector to the test's broker, under
// Xero's real limits (60 calls a minute, 5 in flight, 5,000 a day), in compressed time: the
// simulator and the client's clock (xero.ScaledClock) both run XK_BENCH_TIME_SCALE times
// faster than real time (default 15), so the 35 simulated minutes the limit asks for pass in
// about 140 seconds. At a higher scale the connector must encode the records of 60 pages in
// 60/scale real seconds (at 30, 30,000 invoices a second): on a slow or loaded machine it is
// then its own speed, not the limit, that the figures measure. Run it with
//
//	go test -run '^$' -bench RateLimitedBackfill -benchtime 1x ./connector/
//
// It reports:
//   - calls: the API calls the simulator answered (429s included);
//   - 429_minute, 429_concurrency, 429_day: the 429s by X-Rate-Limit-Problem;
//   - minute_util_pct: the calls admitted per minute window against the limit of 60, over the
//     windows while busy (every window from the first call's to the last's, less those two,
//     which the backfill fills only in part);
//   - floor_ratio: the backfill's simulated duration against the floor the limit sets, calls/60
//     minutes (1.0: no time lost).
func BenchmarkRateLimitedBackfill(b *testing.B) {
	scale := 15.0
	if v := os.Getenv("XK_BENCH_TIME_SCALE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 1 {
			b.Fatalf("XK_BENCH_TIME_SCALE=%q: want a number, at least 1", v)
		}
		scale = f
	}
	volumes := map[string]int{"invoices": 100_000, "contacts": 20_000, "journals": 200_000}
	var (
		calls, minute429, concurrent429, day429 int
		windowCalls, windows                    int
		simSeconds                              float64
	)
	for range b.N {
		b.StopTimer()
		opts := []xerosim.Option{
			xerosim.Seed(1), xerosim.Tenants(1),
			xerosim.RateLimits(xerosim.Limits{Concurrent: 5, PerMinute: xeroPerMinute, PerDay: xeroPerDay}),
			xerosim.TimeScale(scale), xerosim.ScaledClient(),
		}
		var names []string
		for name, n := range volumes {
			opts = append(opts, xerosim.Volume(name, n))
			names = append(names, name)
		}
		h := newHarness(b, opts...)
		cfg := h.cfg
		cfg.Streams = names
		cfg.DayLimit = xeroPerDay
		cfg.Xero.Clock = xero.ScaledClock(scale)
		// One cycle per stream: a stream that caught up does not poll again while the others
		// finish, so the calls counted are the backfill's.
		cfg.PollInterval, cfg.FullTableInterval = time.Hour, time.Hour
		before := h.sim.Stats()
		b.StartTimer()

		start := time.Now()
		r := h.start(cfg)
		waitBackfilled(b, h, r, start)
		simSeconds += time.Since(start).Seconds() * scale

		b.StopTimer()
		if err := r.stop(); err != nil {
			b.Fatal(err)
		}
		after := h.sim.Stats()
		for endpoint, byStatus := range after.Calls {
			if strings.HasPrefix(endpoint, "GET /api.xro/2.0/") {
				calls += total(byStatus) - total(before.Calls[endpoint])
			}
		}
		minute429 += after.RateLimited["minute"] - before.RateLimited["minute"]
		concurrent429 += after.RateLimited["concurrent"] - before.RateLimited["concurrent"]
		day429 += after.RateLimited["day"] - before.RateLimited["day"]
		perMinute := h.sim.CallsPerMinute(h.sim.Tenants()[0])
		b.Logf("time scale %g: calls admitted per minute window %v", scale, perMinute)
		if len(perMinute) > 2 {
			for _, n := range perMinute[1 : len(perMinute)-1] {
				windowCalls += n
				windows++
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(calls)/n, "calls")
	b.ReportMetric(float64(minute429)/n, "429_minute")
	b.ReportMetric(float64(concurrent429)/n, "429_concurrency")
	b.ReportMetric(float64(day429)/n, "429_day")
	if windows > 0 {
		b.ReportMetric(100*float64(windowCalls)/float64(windows*xeroPerMinute), "minute_util_pct")
	}
	if calls > 0 {
		floor := float64(calls) / xeroPerMinute * 60 // seconds
		b.ReportMetric(simSeconds/floor, "floor_ratio")
	}
}

// waitBackfilled waits until every stream has finished a cycle begun after since. The bound is
// a safety net for a stalled run (the backfill takes about 35 simulated minutes), not a
// performance goal.
func waitBackfilled(b *testing.B, h *harness, r *running, since time.Time) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		if settled(r.Status(), since) {
			return
		}
		h.checkRunning(r, since)
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("the backfill did not finish within 20 minutes:\n%s", h.report(r, since))
}
