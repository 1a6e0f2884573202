package xero

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// newBubbleClient serves api behind a fakeXero on an in-memory network and returns a client on
// the real clock, for use inside a synctest bubble (where the real clock is the bubble's). The
// returned stop must run before the bubble ends.
func newBubbleClient(t *testing.T, api http.Handler) (*Client, *fakeXero, func()) {
	t.Helper()
	store := &memStore{}
	fx := newFakeXero(t, store, api)
	tr, stop := serveMem(fx)
	cfg := Config{APIURL: "http://xero.test", IdentityURL: "http://xero.test", ClientID: testClientID, ClientSecret: testClientSecret, Transport: tr}
	c, err := NewClient(cfg, firstRefresh, store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, fx, func() {
		c.Close()
		stop()
		fx.checkNoViolations(t)
	}
}

// TestClientInFlightPerTenant: 20 callers per tenant on one client; once every caller is
// blocked, the server holds 5 calls of each tenant, never more.
func TestClientInFlightPerTenant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu       sync.Mutex
			inFlight = map[string]int{}
			maxSeen  = map[string]int{}
			release  = make(chan struct{})
		)
		api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tenant := r.Header.Get(tenantHeader)
			mu.Lock()
			inFlight[tenant]++
			maxSeen[tenant] = max(maxSeen[tenant], inFlight[tenant])
			mu.Unlock()
			<-release
			mu.Lock()
			inFlight[tenant]--
			mu.Unlock()
			okInvoices(w, r)
		})
		c, _, stop := newBubbleClient(t, api)
		defer stop()

		var wg sync.WaitGroup
		for _, tenant := range []string{testTenant, testTenant2} {
			for range 20 {
				wg.Go(func() {
					req := invoicesReq()
					req.Tenant = tenant
					if _, err := c.List(t.Context(), req); err != nil {
						t.Error(err)
					}
				})
			}
		}
		synctest.Wait()
		mu.Lock()
		for _, tenant := range []string{testTenant, testTenant2} {
			if inFlight[tenant] != DefaultMaxInFlight {
				t.Errorf("tenant %s: %d calls at the server, want %d", shortID(tenant), inFlight[tenant], DefaultMaxInFlight)
			}
		}
		mu.Unlock()
		close(release)
		wg.Wait()
		for tenant, m := range maxSeen {
			if m > DefaultMaxInFlight {
				t.Errorf("tenant %s: %d calls in flight at once", shortID(tenant), m)
			}
		}
	})
}

// minuteLimiter plays Xero's per-tenant limits: a fixed one-minute window that starts with the
// first call after the previous one ended, limit calls in it, and at most 5 at once.
type minuteLimiter struct {
	limit int

	mu          sync.Mutex
	windowStart time.Time
	used        int
	inFlight    int
	ok, limited int
}

func (m *minuteLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	now := time.Now()
	if m.windowStart.IsZero() || now.Sub(m.windowStart) >= time.Minute {
		m.windowStart, m.used = now, 0
	}
	switch {
	case m.inFlight >= 5:
		m.limited++
		m.mu.Unlock()
		w.Header().Set("X-Rate-Limit-Problem", "concurrent")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case m.used >= m.limit:
		m.limited++
		retry := m.windowStart.Add(time.Minute).Sub(now)
		m.mu.Unlock()
		w.Header().Set("X-Rate-Limit-Problem", "minute")
		w.Header().Set("Retry-After", fmt.Sprint(int(retry.Seconds()+0.999)))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	m.used++
	m.ok++
	m.inFlight++
	left := m.limit - m.used
	m.mu.Unlock()
	time.Sleep(200 * time.Millisecond) // the call takes a while at Xero
	w.Header().Set("X-MinLimit-Remaining", fmt.Sprint(left))
	w.Header().Set("X-DayLimit-Remaining", "4000")
	w.Header().Set("X-AppMinLimit-Remaining", "9000")
	okInvoices(w, r)
	m.mu.Lock()
	m.inFlight--
	m.mu.Unlock()
}

// TestClientStaysWithinTheMinuteLimit: 8 pollers make 40 calls to one tenant whose minute
// limit is 10. The client waits for the windows instead of being rejected.
func TestClientStaysWithinTheMinuteLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := &minuteLimiter{limit: 10}
		c, _, stop := newBubbleClient(t, lim)
		defer stop()
		start := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 5 {
					if _, err := c.List(t.Context(), invoicesReq()); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if lim.ok != 40 {
			t.Errorf("%d calls served, want 40", lim.ok)
		}
		if lim.limited != 0 {
			t.Errorf("%d calls rejected with 429, want 0", lim.limited)
		}
		// 40 calls at 10 a minute span at least three window turnovers.
		if elapsed := time.Since(start); elapsed < 3*time.Minute {
			t.Errorf("40 calls took %s of the bubble's time, want at least 3m", elapsed)
		}
	})
}

// TestClientRefreshesAcrossHours runs three hours of calls every five minutes: the access token
// is refreshed ahead of each expiry and never used after it.
func TestClientRefreshesAcrossHours(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		issued := map[string]time.Time{}
		var late int
		c, fx, stop := newBubbleClient(t, okInvoices)
		defer stop()
		fx.api = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			auth := r.Header.Get("Authorization")
			if at, ok := issued[auth]; !ok {
				issued[auth] = time.Now()
			} else if time.Since(at) >= 30*time.Minute {
				late++
			}
			mu.Unlock()
			okInvoices(w, r)
		})
		for range 36 {
			if _, err := c.List(t.Context(), invoicesReq()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Minute)
		}
		if late > 0 {
			t.Errorf("%d calls used an access token 30 minutes or more after its first use", late)
		}
		// 3 hours of 30-minute tokens refreshed 5 minutes early: one every 25 minutes.
		if r := fx.Refreshes(); r < 7 || r > 8 {
			t.Errorf("%d refreshes in 3 hours, want 7 or 8", r)
		}
	})
}
