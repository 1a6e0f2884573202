package xerosim

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// status calls the invoices endpoint and returns the answer.
func (c *client) call(tenant string) *http.Response {
	c.tb.Helper()
	resp, _ := c.get(tenant, "/api.xro/2.0/Invoices?page=1&pageSize=1", nil)
	return resp
}

func TestMinuteAndDayLimits(t *testing.T) {
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	s := newSim(t, StartTime(start), Clock(func() time.Time { return start }), RateLimits(Limits{PerMinute: 5}), DayLimit(8))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	// Move to the start of this tenant's minute window so all calls fall in one window.
	tt := s.tenants[0]
	now := s.clock.now()
	s.Advance(time.Duration((window(now, tt.minutePhase, minuteMS)+1)*minuteMS+tt.minutePhase-now) * time.Millisecond)
	for k := 1; k <= 5; k++ {
		resp := c.call(ten)
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: %d", k, resp.StatusCode)
		}
		if got := resp.Header.Get("X-MinLimit-Remaining"); got != strconv.Itoa(5-k) {
			t.Fatalf("call %d: X-MinLimit-Remaining %s", k, got)
		}
		if resp.Header.Get("X-DayLimit-Remaining") != strconv.Itoa(8-k) || resp.Header.Get("X-AppMinLimit-Remaining") == "" {
			t.Fatalf("call %d: headers %v", k, resp.Header)
		}
	}
	resp := c.call(ten)
	if resp.StatusCode != 429 || resp.Header.Get("X-Rate-Limit-Problem") != "minute" {
		t.Fatalf("6th call: %d %q", resp.StatusCode, resp.Header.Get("X-Rate-Limit-Problem"))
	}
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra < 59 || ra > 60 {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	s.Advance(time.Minute)
	for k := 6; k <= 8; k++ {
		if resp := c.call(ten); resp.StatusCode != 200 {
			t.Fatalf("call %d after the window: %d", k, resp.StatusCode)
		}
	}
	resp = c.call(ten)
	if resp.StatusCode != 429 || resp.Header.Get("X-Rate-Limit-Problem") != "day" || resp.Header.Get("X-DayLimit-Remaining") != "0" {
		t.Fatalf("9th call: %d %v", resp.StatusCode, resp.Header)
	}
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra <= 60 || ra > 86400 {
		t.Fatalf("day Retry-After %q", resp.Header.Get("Retry-After"))
	}
	st := s.Stats()
	if st.RateLimited["minute"] != 1 || st.RateLimited["day"] != 1 || st.Calls["GET /api.xro/2.0/Invoices"][429] != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAppMinuteLimit(t *testing.T) {
	s := newSim(t, Tenants(3), RateLimits(Limits{AppPerMinute: 4}))
	c := newClient(t, s)
	var last *http.Response
	for k := 0; k < 5; k++ {
		last = c.call(s.Tenants()[k%3])
	}
	if last.StatusCode != 429 || last.Header.Get("X-Rate-Limit-Problem") != "appminute" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("%d %v", last.StatusCode, last.Header)
	}
}

func TestConcurrentLimit(t *testing.T) {
	s := newSim(t, WithFaults(Faults{SlowDelay: time.Hour}))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	s.InjectFault(FaultSlow, 5)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for k := 0; k < 5; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/api.xro/2.0/Invoices?page=1", nil)
			req.Header.Set("Authorization", "Bearer "+c.access)
			req.Header.Set("xero-tenant-id", ten)
			req.Header.Set("Accept", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	// Wait (bounded) until the five slow calls are in progress.
	deadline := time.Now().Add(20 * time.Second)
	for s.lim.maxConcurrency()[s.tenants[0]] < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the slow calls never got in flight")
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp := c.call(ten)
	cancel()
	wg.Wait()
	if resp.StatusCode != 429 || resp.Header.Get("X-Rate-Limit-Problem") != "concurrent" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	if s.Stats().MaxConcurrency[ten] != 5 {
		t.Fatalf("max concurrency %v", s.Stats().MaxConcurrency)
	}
	// The server notices the cancelled calls on its own time: wait (bounded) for it.
	for s.lim.inflight(s.tenants[0]) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("cancelled calls still in flight")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if resp := c.call(ten); resp.StatusCode != 200 {
		t.Fatalf("after the slow calls: %d", resp.StatusCode)
	}
}

func TestNoLimitsAndTimeScale(t *testing.T) {
	s := newSim(t, NoLimits(), RateLimits(Limits{PerMinute: 2}))
	c := newClient(t, s)
	for k := 0; k < 5; k++ {
		resp := c.call(s.Tenants()[0])
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: %d", k, resp.StatusCode)
		}
		// Nothing is spent against limits that are not enforced, so a client pacing itself
		// by the headers never waits.
		if got := resp.Header.Get("X-MinLimit-Remaining"); got != "2" {
			t.Fatalf("call %d: X-MinLimit-Remaining %q, want the whole limit, 2", k, got)
		}
	}
	// With time running 60 times faster, a minute window lasts a second: Retry-After is given
	// in real seconds and the token lifetime shrinks with it.
	fast := newSim(t, TimeScale(60), RateLimits(Limits{PerMinute: 1}))
	cf := newClient(t, fast)
	_, tr := cf.token(cf.rt)
	if tr.ExpiresIn != 30 {
		t.Fatalf("expires_in %d with time scale 60", tr.ExpiresIn)
	}
	cf.access = tr.AccessToken
	var resp *http.Response
	for k := 0; k < 3; k++ {
		if resp = cf.call(fast.Tenants()[0]); resp.StatusCode == 429 {
			break
		}
	}
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("%d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestCallsPerMinuteAndScaledClient: the calls admitted are counted per minute window of the
// tenant, empty windows included and 429s left out; with ScaledClient, Retry-After is in
// simulated seconds even though simulated time runs 60 times faster than real time.
func TestCallsPerMinuteAndScaledClient(t *testing.T) {
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	real := start
	s := newSim(t, StartTime(start), Clock(func() time.Time { return real }), TimeScale(60), ScaledClient(),
		RateLimits(Limits{PerMinute: 3}))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	if got := s.CallsPerMinute(ten); got != nil {
		t.Fatalf("before any call: %v", got)
	}
	tt := s.tenants[0]
	now := s.clock.now()
	s.Advance(time.Duration((window(now, tt.minutePhase, minuteMS)+1)*minuteMS+tt.minutePhase-now) * time.Millisecond)
	windowStart := time.UnixMilli(s.clock.now()).UTC() // a window begins now
	s.Advance(5 * time.Second)
	for range 3 {
		if resp := c.call(ten); resp.StatusCode != 200 {
			t.Fatalf("call: %d", resp.StatusCode)
		}
	}
	resp := c.call(ten)
	if resp.StatusCode != 429 {
		t.Fatalf("4th call: %d", resp.StatusCode)
	}
	// 55 simulated seconds of the window are left, under 1 real second at this scale: the
	// scaled client is told 55 (seconds of its own clock).
	if ra := resp.Header.Get("Retry-After"); ra != "55" {
		t.Errorf("Retry-After %q, want 55 simulated seconds", ra)
	}
	s.Advance(2 * time.Minute) // a window with no call, then one with a call
	if resp := c.call(ten); resp.StatusCode != 200 {
		t.Fatalf("call after the windows: %d", resp.StatusCode)
	}
	if got := s.CallsPerMinute(ten); len(got) != 3 || got[0] != 3 || got[1] != 0 || got[2] != 1 {
		t.Errorf("calls per minute %v, want [3 0 1]", got)
	}
	// The windows' start, and the first and last calls admitted (the 429 is not one).
	mw := s.MinuteWindows(ten)
	firstCall, lastCall := windowStart.Add(5*time.Second), windowStart.Add(2*time.Minute+5*time.Second)
	if !mw.Start.Equal(windowStart) || !mw.First.Equal(firstCall) || !mw.Last.Equal(lastCall) {
		t.Errorf("windows start %v, first call %v, last %v; want %v, %v, %v",
			mw.Start, mw.First, mw.Last, windowStart, firstCall, lastCall)
	}
}
