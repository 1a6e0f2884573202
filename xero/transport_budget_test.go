package xero

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/xero-kafka/xero-kafka/xerosim"
)

func budgetRequest(t testing.TB, url, tenant string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/api.xro/2.0/Invoices", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tenant != "" {
		req.Header.Set(tenantHeader, tenant)
	}
	return req
}

// callBudget makes one call through b and returns the status, or the error.
func callBudget(t testing.TB, b *budget, url, tenant string) (int, error) {
	t.Helper()
	resp, err := b.RoundTrip(budgetRequest(t, url, tenant))
	if err != nil {
		return 0, err
	}
	drain(resp)
	return resp.StatusCode, nil
}

// TestBudgetInFlight holds every request at the server and counts, once all callers are
// blocked, how many reached it: at most MaxInFlight per tenant, tenants independent.
func TestBudgetInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu       sync.Mutex
			inFlight = map[string]int{}
			maxSeen  = map[string]int{}
			release  = make(chan struct{})
		)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tenant := r.Header.Get(tenantHeader)
			mu.Lock()
			inFlight[tenant]++
			maxSeen[tenant] = max(maxSeen[tenant], inFlight[tenant])
			mu.Unlock()
			<-release
			mu.Lock()
			inFlight[tenant]--
			mu.Unlock()
		})
		tr, stop := serveMem(h)
		defer stop()
		b := newBudget(tr, 5, DefaultDayLimit, realClock{}, slog.New(slog.DiscardHandler))

		var wg sync.WaitGroup
		for _, tenant := range []string{testTenant, testTenant2} {
			for range 20 {
				wg.Go(func() {
					if _, err := callBudget(t, b, "http://xero.test", tenant); err != nil {
						t.Error(err)
					}
				})
			}
		}
		synctest.Wait() // every caller is now either at the server or waiting for a slot
		mu.Lock()
		for _, tenant := range []string{testTenant, testTenant2} {
			if inFlight[tenant] != 5 {
				t.Errorf("tenant %s: %d calls at the server with 20 callers, want 5", shortID(tenant), inFlight[tenant])
			}
		}
		mu.Unlock()
		close(release)
		wg.Wait()
		for tenant, m := range maxSeen {
			if m > 5 {
				t.Errorf("tenant %s: up to %d calls in flight, want at most 5", shortID(tenant), m)
			}
		}
	})
}

// minuteServer answers each call with the next remaining count of a minute limit.
type minuteServer struct {
	mu        sync.Mutex
	remaining []int // reported by successive calls
	calls     int
}

func (s *minuteServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls < len(s.remaining) {
		w.Header().Set("X-MinLimit-Remaining", fmt.Sprint(s.remaining[s.calls]))
		w.Header().Set("X-DayLimit-Remaining", fmt.Sprint(4000-s.calls))
		w.Header().Set("X-AppMinLimit-Remaining", fmt.Sprint(9000-s.calls))
	}
	s.calls++
}

func TestBudgetWaitsForTheMinuteWindow(t *testing.T) {
	ms := &minuteServer{remaining: []int{2, 1, 0, 59, 58, 57}}
	srv := httptest.NewServer(ms)
	defer srv.Close()
	clk := newFakeClock()
	b := newBudget(srv.Client().Transport, 5, DefaultDayLimit, clk, slog.New(slog.DiscardHandler))

	start := clk.Now()
	for i := range 3 {
		if _, err := callBudget(t, b, srv.URL, testTenant); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Second)
		if got := clk.Sleeps(); len(got) != 0 {
			t.Fatalf("call %d waited %v with budget left", i+1, got)
		}
	}
	// The third call reported 0 left: the fourth waits until a minute after the first call
	// (plus the slack), not a fixed minute from now.
	if _, err := callBudget(t, b, srv.URL, testTenant); err != nil {
		t.Fatal(err)
	}
	want := start.Add(minuteWindow + windowSlack).Sub(start.Add(6 * time.Second))
	if got := clk.Sleeps(); len(got) != 1 || got[0] != want {
		t.Errorf("waits %v, want [%s]", got, want)
	}
	// The new window reported 59: no more waiting.
	if _, err := callBudget(t, b, srv.URL, testTenant); err != nil {
		t.Fatal(err)
	}
	if got := clk.Sleeps(); len(got) != 1 {
		t.Errorf("waits %v after the window turned over, want none more", got)
	}
	// Another tenant never waited for this one's minute.
	if _, err := callBudget(t, b, srv.URL, testTenant2); err != nil {
		t.Fatal(err)
	}
	if got := clk.Sleeps(); len(got) != 1 {
		t.Errorf("the other tenant waited: %v", got)
	}
	// Limits are per tenant, but the app minute is the app's.
	if l := b.limits(testTenant); l.MinuteRemaining != 58 || l.DayRemaining != 3996 || l.AppMinuteRemaining != 8995 {
		t.Errorf("limits = %+v, want minute 58, day 3996, app minute 8995", l)
	}
	if l := b.limits(testTenant2); l.MinuteRemaining != 57 || l.DayRemaining != 3995 {
		t.Errorf("limits of the other tenant = %+v, want minute 57, day 3995", l)
	}
	if l := b.limits("unknown"); l.MinuteRemaining != -1 || l.DayRemaining != DefaultDayLimit {
		t.Errorf("limits of a tenant never called = %+v, want minute -1 and the day limit's estimate", l)
	}
}

func TestWindow(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	w := window{last: -1}
	if !w.readyAt(t0).IsZero() {
		t.Fatal("not ready before any report")
	}
	a, b, c := w.start(), w.start(), w.start() // three attempts at t0
	w.open--                                   // a answered: 2 left
	w.observe(2, a, t0, t0.Add(time.Second))
	if w.readyAt(t0).IsZero() {
		t.Error("ready with 2 left and 2 attempts unanswered")
	}
	w.open--
	w.observe(3, b, t0, t0.Add(time.Second)) // b's answer arrives late with the higher count of before a
	if w.last != 2 {
		t.Errorf("a late, higher count replaced the lower one: last = %d", w.last)
	}
	w.open--
	w.observe(1, c, t0, t0.Add(500*time.Millisecond)) // answered earlier than a
	if w.last != 1 || !w.readyAt(t0).IsZero() {
		t.Errorf("last = %d, open = %d: want 1 left and ready", w.last, w.open)
	}
	d := w.start()
	w.open--
	w.observe(0, d, t0.Add(10*time.Second), t0.Add(11*time.Second))
	// The window began before c's answer, the earliest: it ends a minute after that at most.
	end := t0.Add(500*time.Millisecond + minuteWindow + windowSlack)
	if got := w.readyAt(t0.Add(11 * time.Second)); !got.Equal(end) {
		t.Errorf("spent: ready at %v, want a minute after the window's earliest answer (%v)", got, end)
	}
	e := w.start() // an attempt that waited for the window, and another that did not
	stale := w.start()
	_ = e
	if !w.readyAt(end).IsZero() || w.last != -1 {
		t.Error("not ready once the window turned over")
	}
	// An attempt started before the window was seen to turn over answers late: its count may
	// be the old window's, and says nothing of the new one.
	w.open--
	w.observe(0, stale, t0.Add(11*time.Second), end.Add(time.Second))
	if w.last != -1 {
		t.Errorf("an attempt started before the turn over set the new window's count: last = %d", w.last)
	}
	f := w.start()
	w.open--
	w.observe(50, f, end.Add(time.Second), end.Add(2*time.Second))
	// The new window follows the last without a gap (f was answered within a minute of d's
	// sending): it ends a minute after the last one's end, not a minute after f's answer.
	if w.last != 50 || !w.end.Equal(end.Add(minuteWindow)) {
		t.Errorf("new window: last = %d, end = %v, want 50 and %v", w.last, w.end, end.Add(minuteWindow))
	}
	// After a gap of more than a minute, the windows in between are unknown: the new window
	// ends a minute after its first answer, at most.
	g := w.start()
	w.open--
	at := end.Add(5 * minuteWindow)
	w.observe(59, g, at, at.Add(time.Second))
	if want := at.Add(time.Second + minuteWindow + windowSlack); w.last != 59 || !w.end.Equal(want) {
		t.Errorf("window after a gap: last = %d, end = %v, want 59 and %v", w.last, w.end, want)
	}
}

// TestWindowDoesNotDrift runs one caller, one call at a time, against a model of Xero's fixed
// minute windows for two hours: every window between the first and the last must count the
// whole limit, with no call refused, and its first call must come as early in it as in the
// second window. A budget that took each window to end a minute after its first answer would
// start each window later than the one before by the slack and a latency, until the calls of
// one no longer fitted in it.
func TestWindowDoesNotDrift(t *testing.T) {
	const limit = 60
	for _, latency := range []time.Duration{20 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond} {
		t.Run(latency.String(), func(t *testing.T) {
			t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			phase := 17300 * time.Millisecond // the windows start at t0 + phase + k minutes
			windowOf := func(at time.Time) int { return int(at.Sub(t0.Add(phase)) / minuteWindow) }
			counts := map[int]int{}
			firstCall := map[int]time.Duration{} // the first call's offset into each window
			w := window{last: -1}
			now := t0.Add(phase + 5*time.Second)
			for now.Before(t0.Add(2 * time.Hour)) {
				if r := w.readyAt(now); !r.IsZero() {
					now = r
					continue
				}
				seq := w.start()
				counted := now.Add(latency / 2)
				win := windowOf(counted)
				if counts[win] == limit {
					t.Fatalf("call sent at %v refused: window %d is spent", now.Sub(t0), win)
				}
				if counts[win] == 0 {
					firstCall[win] = counted.Sub(t0.Add(phase)) - time.Duration(win)*minuteWindow
				}
				counts[win]++
				answered := now.Add(latency)
				w.open--
				w.observe(limit-counts[win], seq, now, answered)
				now = answered.Add(10 * time.Millisecond) // the page's work before the next call
			}
			first, last := windowOf(t0.Add(phase+5*time.Second)), windowOf(now)
			for k := first + 1; k < last; k++ {
				if counts[k] != limit {
					t.Errorf("window %d counted %d calls, want %d", k, counts[k], limit)
				}
				if d := firstCall[k] - firstCall[first+1]; d > 0 {
					t.Errorf("window %d: first call %s into it, %s later than in window %d", k, firstCall[k], d, first+1)
				}
			}
		})
	}
}

func TestBudgetRateLimitAnswers(t *testing.T) {
	tests := []struct {
		name        string
		answer      []string // headers of the 429
		sameTenant  time.Duration
		otherTenant time.Duration
	}{
		{"429 minute pauses the tenant", []string{"X-Rate-Limit-Problem", "minute", "Retry-After", "20"}, 20 * time.Second, 0},
		{"429 appminute pauses the app", []string{"X-Rate-Limit-Problem", "appminute", "Retry-After", "9"}, 9 * time.Second, 9 * time.Second},
		{"429 concurrent pauses nobody", []string{"X-Rate-Limit-Problem", "concurrent"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{steps: steps(status(429, tt.answer...))}
			srv := httptest.NewServer(s)
			defer srv.Close()
			clk := newFakeClock()
			b := newBudget(srv.Client().Transport, 5, DefaultDayLimit, clk, slog.New(slog.DiscardHandler))
			if code, err := callBudget(t, b, srv.URL, testTenant); err != nil || code != 429 {
				t.Fatalf("first call: %d, %v", code, err)
			}
			waited := func(tenant string) time.Duration {
				before := len(clk.Sleeps())
				if _, err := callBudget(t, b, srv.URL, tenant); err != nil {
					t.Fatal(err)
				}
				var d time.Duration
				for _, s := range clk.Sleeps()[before:] {
					d += s
				}
				return d
			}
			if got := waited(testTenant2); got != tt.otherTenant {
				t.Errorf("other tenant waited %s, want %s", got, tt.otherTenant)
			}
			if got := waited(testTenant); got != max(0, tt.sameTenant-tt.otherTenant) {
				t.Errorf("same tenant waited %s more, want %s", got, max(0, tt.sameTenant-tt.otherTenant))
			}
			if l := b.limits(testTenant); l.Last429.Problem != tt.answer[1] {
				t.Errorf("Last429 = %+v", l.Last429)
			}
		})
	}
}

func TestBudgetDayLimitRefusesUntilReset(t *testing.T) {
	s := &scripted{steps: steps(status(429, "X-Rate-Limit-Problem", "day", "Retry-After", "3600"))}
	srv := httptest.NewServer(s)
	defer srv.Close()
	clk := newFakeClock()
	b := newBudget(srv.Client().Transport, 5, DefaultDayLimit, clk, slog.New(slog.DiscardHandler))

	if code, _ := callBudget(t, b, srv.URL, testTenant); code != 429 {
		t.Fatalf("first call: status %d, want the 429", code)
	}
	clk.Advance(10 * time.Minute)
	_, err := callBudget(t, b, srv.URL, testTenant)
	var ae *APIError
	if !errors.Is(err, ErrDayLimit) || !errors.As(err, &ae) || ae.RetryAfter != 50*time.Minute {
		t.Fatalf("err = %v, want ErrDayLimit with RetryAfter 50m", err)
	}
	if IsRetryable(err) {
		t.Error("the day limit is retryable")
	}
	if got := s.Calls(); got != 1 {
		t.Errorf("server saw %d calls, want 1: the refused call must not be sent", got)
	}
	if code, err := callBudget(t, b, srv.URL, testTenant2); err != nil || code != 200 {
		t.Errorf("other tenant: %d, %v", code, err)
	}
	clk.Advance(50 * time.Minute)
	if code, err := callBudget(t, b, srv.URL, testTenant); err != nil || code != 200 {
		t.Errorf("after the reset: %d, %v", code, err)
	}
}

// TestRetryFeedsTheBudget: the retry policy repeats a call above the budget, so a 429 minute
// that a call absorbs still pauses the tenant's next call, and the repeated attempt itself
// passes through the budget.
func TestRetryFeedsTheBudget(t *testing.T) {
	s := &scripted{steps: steps(
		status(429, "X-Rate-Limit-Problem", "minute", "Retry-After", "30", "X-MinLimit-Remaining", "0"),
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-MinLimit-Remaining", "0")
			writeEnvelope(w, "Invoices", `{"InvoiceID":"a"}`)
		},
	)}
	env := newTestEnv(t, s, nil)
	if _, err := env.client.List(t.Context(), invoicesReq()); err != nil {
		t.Fatalf("first call: %v", err)
	}
	// The policy waited Retry-After; the budget saw the 429 and let the attempt through at the
	// same moment.
	if got := env.clock.Sleeps(); len(got) != 1 || got[0] != 30*time.Second {
		t.Fatalf("waits %v, want [30s]", got)
	}
	// The repeated attempt's answer said 0 left: the next call waits for the window that began
	// with it (sent 30s after the start).
	if _, err := env.client.List(t.Context(), invoicesReq()); err != nil {
		t.Fatal(err)
	}
	if got := env.clock.Sleeps(); len(got) != 2 || got[1] != minuteWindow+windowSlack {
		t.Errorf("waits %v, want [30s %s]", got, minuteWindow+windowSlack)
	}
}

// TestBudgetDayEstimate: the configured day limit is only the estimate of the calls left until
// Xero reports the real count; from then on the headers alone say what is left.
func TestBudgetDayEstimate(t *testing.T) {
	left := 4321
	var mu sync.Mutex
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		w.Header().Set("X-DayLimit-Remaining", fmt.Sprint(left))
		left--
		mu.Unlock()
		writeEnvelope(w, "Invoices", `{"InvoiceID":"a"}`)
	})
	env := newTestEnv(t, api, func(c *Config) { c.DayLimit = 1000 })
	if got := env.client.Limits(testTenant).DayRemaining; got != 1000 {
		t.Errorf("before any call: %d left, want the configured 1000", got)
	}
	for range 3 {
		if _, err := env.client.List(t.Context(), invoicesReq()); err != nil {
			t.Fatal(err)
		}
	}
	if got := env.client.Limits(testTenant).DayRemaining; got != 4319 {
		t.Errorf("after three calls: %d left, want 4319 as reported", got)
	}
	if got := env.client.Limits(testTenant2).DayRemaining; got != 1000 {
		t.Errorf("another tenant: %d left, want the configured 1000", got)
	}
}

// TestAppMinuteSharedFairly: 20 tenants behind one client, each wanting all 60 calls a minute
// Xero allows it, against a simulator whose app limit (200 a minute here; Xero's is 10,000)
// lets each have only 10. Over 5 minutes (of a synctest bubble's clock, which the simulator and
// the client share), the simulator refuses no call for the app's limit, and every tenant gets
// about its share: none starves while others take the minute.
//
// The first window is shared among the tenants seen so far: a tenant whose first call comes
// before the others' may take more of it. Fairness is measured over the windows that follow,
// once every tenant has called; in the first, every tenant must have called at all.
func TestAppMinuteSharedFairly(t *testing.T) {
	const (
		tenants  = 20
		appLimit = 200
		minutes  = 5
	)
	synctest.Test(t, func(t *testing.T) {
		sim, c := appLimitedClient(t, tenants, appLimit)

		ctx, cancel := context.WithTimeout(t.Context(), minutes*time.Minute)
		defer cancel()
		var (
			mu sync.Mutex
			// got counts the calls of each tenant after the first window, first in it.
			got, first = map[string]int{}, map[string]int{}
			wg         sync.WaitGroup
			start      = time.Now()
		)
		for _, tenant := range sim.Tenants() {
			for range DefaultMaxInFlight {
				wg.Go(func() {
					for ctx.Err() == nil {
						if _, err := c.List(ctx, simInvoices(tenant, 1)); err != nil {
							if ctx.Err() == nil {
								t.Errorf("tenant %s: %v", tenant, err)
							}
							return
						}
						mu.Lock()
						if time.Since(start) < time.Minute {
							first[tenant]++
						} else {
							got[tenant]++
						}
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()

		st := sim.Stats()
		if n := st.RateLimited["appminute"]; n != 0 {
			t.Errorf("%d calls refused for the app's minute limit, want 0", n)
		}
		lo, hi, sum := -1, 0, 0
		for _, tenant := range sim.Tenants() {
			if first[tenant] == 0 {
				t.Errorf("tenant %s made no call in the first window", tenant)
			}
			n := got[tenant]
			sum += n
			hi = max(hi, n)
			if lo < 0 || n < lo {
				lo = n
			}
		}
		mean := float64(sum) / tenants
		t.Logf("calls per tenant after the first of %d minutes: min %d, mean %.1f, max %d (fair share %d a minute); 429s %v",
			minutes, lo, mean, hi, appLimit/tenants, st.RateLimited)
		// About 10 a minute each; the margin covers the window the run ends in.
		if float64(lo) < 0.8*mean || float64(hi) > 1.2*mean {
			t.Errorf("calls per tenant from %d to %d around a mean of %.1f: not a fair share", lo, hi, mean)
		}
		// The limit is used, not only respected: at least the 3 whole windows after the first.
		for _, n := range first {
			sum += n
		}
		if sum < (minutes-1)*appLimit || sum > (minutes+1)*appLimit {
			t.Errorf("%d calls in %d minutes, want about %d a minute", sum, minutes, appLimit)
		}
	})
}

// appLimitedClient returns a simulator of tenants organisations whose app may make appLimit
// calls a minute, and a client of it; both end with the test. Call it in a synctest bubble.
func appLimitedClient(t *testing.T, tenants, appLimit int) (*xerosim.Sim, *Client) {
	t.Helper()
	sim := xerosim.NewSim(xerosim.Seed(3), xerosim.Tenants(tenants), xerosim.Volume("invoices", 10),
		xerosim.RateLimits(xerosim.Limits{AppPerMinute: appLimit}))
	t.Cleanup(sim.Close)
	tr, stop := serveMem(sim.Handler())
	t.Cleanup(stop)
	cfg := Config{APIURL: "http://xero.test", IdentityURL: "http://xero.test",
		ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), Transport: tr}
	c, err := NewClient(cfg, sim.RefreshToken(), &memStore{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

// TestAppMinuteUnclaimedSharesAreUsed: 10 busy tenants call without pause while 10 quiet ones
// make one call every 50 s, so every tenant has called in this window or the last. The shares
// the quiet tenants do not ask for go to the busy ones instead of being kept for them until the
// window turns over: the app's minute is used in full (a connector whose pages wait for memory
// or for a commit is such a quiet tenant), still with no appminute 429.
func TestAppMinuteUnclaimedSharesAreUsed(t *testing.T) {
	const (
		tenants  = 20
		appLimit = 200
		minutes  = 5
	)
	synctest.Test(t, func(t *testing.T) {
		sim, c := appLimitedClient(t, tenants, appLimit)

		ctx, cancel := context.WithTimeout(t.Context(), minutes*time.Minute)
		defer cancel()
		var (
			mu          sync.Mutex
			busy, quiet int
			wg          sync.WaitGroup
		)
		for i, tenant := range sim.Tenants() {
			workers, pause, count := DefaultMaxInFlight, time.Duration(0), &busy
			if i%2 == 1 {
				workers, pause, count = 1, 50*time.Second, &quiet
			}
			for range workers {
				wg.Go(func() {
					for ctx.Err() == nil {
						if _, err := c.List(ctx, simInvoices(tenant, 1)); err != nil {
							if ctx.Err() == nil {
								t.Errorf("tenant %s: %v", tenant, err)
							}
							return
						}
						mu.Lock()
						*count++
						mu.Unlock()
						select {
						case <-ctx.Done():
						case <-time.After(pause):
						}
					}
				})
			}
		}
		wg.Wait()

		st := sim.Stats()
		if n := st.RateLimited["appminute"]; n != 0 {
			t.Errorf("%d calls refused for the app's minute limit, want 0", n)
		}
		t.Logf("in %d minutes: busy tenants %d calls, quiet tenants %d; 429s %v", minutes, busy, quiet, st.RateLimited)
		// Every whole window of the run used in full (the first and last may be partial).
		if sum := busy + quiet; sum < (minutes-1)*appLimit {
			t.Errorf("%d calls in %d minutes, want at least %d: the quiet tenants' shares were kept unused", sum, minutes, (minutes-1)*appLimit)
		}
	})
}
