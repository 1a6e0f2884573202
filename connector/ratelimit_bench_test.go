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
//   - floor_ratio: the time from the opening of the first whole window (the second) to the last
//     call admitted, against the least it can be (1.0: no time lost), both on the simulator's
//     clock (minuteLimitUse).
//
// Xero's limit is 60 calls in each fixed window, not 60 calls in any minute: the first window
// takes its calls in what is left of it after the first call, and the last takes its calls as
// soon as it opens, so C calls can take well under C/60 minutes. A ratio against C/60
// minutes, measured on the benchmark's clock from before the connector starts to after it
// settles, mixed setup and settling with the calls and read below 1.0 when the first call came
// late in its window. The C' calls admitted from the first whole window on need ceil(C'/60)
// windows, and the last cannot be admitted before the last of them opens: that is the floor.
// It starts at a window's opening, so where the first call fell in its window (the moment the
// benchmark started) does not count, but how soon after each window opens the connector calls
// does.
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
		use                                     limitUse
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
		mw := h.sim.MinuteWindows(h.sim.Tenants()[0])
		u := minuteLimitUse(mw, xeroPerMinute)
		b.Logf("time scale %g: calls admitted per minute window %v; first call %.1fs into its window, last %.1fs into its; from the first whole window to the last call %s, floor %s",
			scale, mw.Calls, mw.First.Sub(mw.Start).Seconds(),
			mw.Last.Sub(mw.Start.Add(time.Duration(len(mw.Calls)-1)*time.Minute)).Seconds(), u.span, u.floor)
		use.add(u)
	}
	n := float64(b.N)
	b.ReportMetric(float64(calls)/n, "calls")
	b.ReportMetric(float64(minute429)/n, "429_minute")
	b.ReportMetric(float64(concurrent429)/n, "429_concurrency")
	b.ReportMetric(float64(day429)/n, "429_day")
	if use.busyWindows > 0 {
		b.ReportMetric(100*float64(use.busyCalls)/float64(use.busyWindows*xeroPerMinute), "minute_util_pct")
	}
	if use.floor > 0 {
		b.ReportMetric(use.span.Seconds()/use.floor.Seconds(), "floor_ratio")
	}
}

// limitUse is what a backfill made of one organisation's minute limit.
type limitUse struct {
	// busyCalls are the calls admitted in the busyWindows between the first call's window and
	// the last call's.
	busyCalls, busyWindows int
	// span is the time from the opening of the first whole window, the one after the first
	// call's, to the last call admitted; floor is the least it can be.
	span, floor time.Duration
}

// minuteLimitUse computes limitUse from the windows the simulator counted, limit calls in each.
// The calls admitted from the first whole window on need at least ceil(calls/limit) windows:
// the last call cannot be admitted before the last of those opens, and that is the floor.
func minuteLimitUse(w xerosim.MinuteWindows, limit int) limitUse {
	var u limitUse
	if len(w.Calls) < 2 {
		return u
	}
	rest := 0 // the calls admitted from the first whole window on
	for i, n := range w.Calls[1:] {
		rest += n
		if i < len(w.Calls)-2 {
			u.busyCalls += n
			u.busyWindows++
		}
	}
	u.span = w.Last.Sub(w.Start.Add(time.Minute))
	u.floor = time.Duration((rest+limit-1)/limit-1) * time.Minute
	return u
}

// add sums the use of several runs.
func (u *limitUse) add(v limitUse) {
	u.busyCalls += v.busyCalls
	u.busyWindows += v.busyWindows
	u.span += v.span
	u.floor += v.floor
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

// TestMinuteLimitUse: the busy windows are those between the first and the last, and the floor
// runs from the opening of the first whole window to the opening of the window the last call
// needs at the least.
func TestMinuteLimitUse(t *testing.T) {
	start := time.Date(2026, 9, 1, 10, 0, 17, 0, time.UTC) // the first call's window opens
	for _, tc := range []struct {
		name        string
		w           xerosim.MinuteWindows
		busy, wins  int
		span, floor time.Duration
	}{{
		// From the second window on, 174 calls need 3 windows: the last cannot come before the
		// 4th window opens, 2 minutes after the 2nd. It came 5s late. From the first call,
		// 2 min 25 s against 204/60 minutes (3 min 24 s) would read as faster than the limit.
		name: "first call late in its window",
		w: xerosim.MinuteWindows{
			Calls: []int{30, 60, 60, 54}, Start: start,
			First: start.Add(40 * time.Second), Last: start.Add(3*time.Minute + 5*time.Second),
		},
		busy: 120, wins: 2, span: 2*time.Minute + 5*time.Second, floor: 2 * time.Minute,
	}, {
		// The first window had under a second left: its 11 calls do not make the floor longer.
		name: "first call in the last second of its window",
		w: xerosim.MinuteWindows{
			Calls: []int{11, 60, 60, 13}, Start: start,
			First: start.Add(59600 * time.Millisecond), Last: start.Add(3*time.Minute + 800*time.Millisecond),
		},
		busy: 120, wins: 2, span: 2*time.Minute + 800*time.Millisecond, floor: 2 * time.Minute,
	}, {
		// 125 calls need 3 windows after the first, but one window was left short: they took 4.
		name: "a window left short",
		w: xerosim.MinuteWindows{
			Calls: []int{60, 60, 5, 59, 1}, Start: start,
			First: start.Add(time.Second), Last: start.Add(4*time.Minute + time.Second),
		},
		busy: 124, wins: 3, span: 3*time.Minute + time.Second, floor: 2 * time.Minute,
	}, {
		name: "one window",
		w: xerosim.MinuteWindows{
			Calls: []int{12}, Start: start, First: start.Add(time.Second), Last: start.Add(9 * time.Second),
		},
	}, {
		name: "no call",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			u := minuteLimitUse(tc.w, xeroPerMinute)
			want := limitUse{busyCalls: tc.busy, busyWindows: tc.wins, span: tc.span, floor: tc.floor}
			if u != want {
				t.Errorf("got %+v, want %+v", u, want)
			}
		})
	}
}
