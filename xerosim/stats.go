package xerosim

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Stats counts what clients did. Maps are keyed by endpoint ("GET /api.xro/2.0/Invoices"),
// by HTTP status, by rate-limit problem and by tenant id.
type Stats struct {
	// Calls counts responses per endpoint and status.
	Calls map[string]map[int]int `json:"calls"`
	// RateLimited counts 429 answers per X-Rate-Limit-Problem value.
	RateLimited map[string]int `json:"rateLimited"`
	// MaxConcurrency is the highest number of calls in progress at once, per tenant id.
	MaxConcurrency map[string]int `json:"maxConcurrency"`
	// TokenRefreshes counts successful refresh-token grants; TokenRefreshFailures the refused ones.
	TokenRefreshes       int `json:"tokenRefreshes"`
	TokenRefreshFailures int `json:"tokenRefreshFailures"`
	// PageSizeIgnored counts calls whose pageSize was not applied as asked: sent to an endpoint
	// without pageSize, sent without page, or above 1000 (capped). PageSizeIgnoredBy splits it
	// per endpoint.
	PageSizeIgnored   int            `json:"pageSizeIgnored"`
	PageSizeIgnoredBy map[string]int `json:"pageSizeIgnoredBy"`
	// Faults counts injected faults per kind.
	Faults map[string]int `json:"faults"`
	// Mutations counts changes applied to the data.
	Mutations int `json:"mutations"`
	// Prerendered counts the records sent as they were rendered at start (Prerendered).
	Prerendered int `json:"prerendered"`
}

// stats is the live counter set behind Stats.
type stats struct {
	mu sync.Mutex
	s  Stats
}

func newStats() *stats {
	return &stats{s: Stats{
		Calls: map[string]map[int]int{}, RateLimited: map[string]int{}, MaxConcurrency: map[string]int{},
		PageSizeIgnoredBy: map[string]int{}, Faults: map[string]int{},
	}}
}

func (st *stats) call(endpoint string, status int) {
	st.mu.Lock()
	m := st.s.Calls[endpoint]
	if m == nil {
		m = map[int]int{}
		st.s.Calls[endpoint] = m
	}
	m[status]++
	st.mu.Unlock()
}

func (st *stats) limited(problem string) {
	st.mu.Lock()
	st.s.RateLimited[problem]++
	st.mu.Unlock()
}

func (st *stats) refresh(ok bool) {
	st.mu.Lock()
	if ok {
		st.s.TokenRefreshes++
	} else {
		st.s.TokenRefreshFailures++
	}
	st.mu.Unlock()
}

func (st *stats) pageSizeIgnored(endpoint string) {
	st.mu.Lock()
	st.s.PageSizeIgnored++
	st.s.PageSizeIgnoredBy[endpoint]++
	st.mu.Unlock()
}

func (st *stats) fault(kind string) {
	st.mu.Lock()
	st.s.Faults[kind]++
	st.mu.Unlock()
}

func (st *stats) prerendered(n int) {
	st.mu.Lock()
	st.s.Prerendered += n
	st.mu.Unlock()
}

func (st *stats) mutations(n int) {
	st.mu.Lock()
	st.s.Mutations += n
	st.mu.Unlock()
}

// snapshot returns a deep copy.
func (st *stats) snapshot() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := st.s
	out.Calls = make(map[string]map[int]int, len(st.s.Calls))
	for k, m := range st.s.Calls {
		c := make(map[int]int, len(m))
		for s, n := range m {
			c[s] = n
		}
		out.Calls[k] = c
	}
	out.RateLimited = copyMap(st.s.RateLimited)
	out.PageSizeIgnoredBy = copyMap(st.s.PageSizeIgnoredBy)
	out.Faults = copyMap(st.s.Faults)
	out.MaxConcurrency = map[string]int{}
	return out
}

func copyMap(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Stats returns a copy of the counters.
func (s *Sim) Stats() Stats {
	out := s.stats.snapshot()
	for t, n := range s.lim.maxConcurrency() {
		out.MaxConcurrency[t.id.String()] = n
	}
	return out
}

// CallsPerMinute returns the calls the simulator admitted (answered other than 429) to the
// tenant in each of its fixed minute windows, from the first window with a call to the last,
// empty ones included; nil for an unknown tenant or one never called. Set against the minute
// limit, it says how much of each window a client used.
func (s *Sim) CallsPerMinute(tenantID string) []int {
	return s.MinuteWindows(tenantID).Calls
}

// MinuteWindows is what a tenant's calls made of its minute limit, on the simulated clock.
type MinuteWindows struct {
	// Calls are the calls admitted in each of the tenant's fixed minute windows, from the
	// first window with a call to the last, empty ones included (CallsPerMinute).
	Calls []int
	// Start is when the first of those windows began; First and Last are when the first and
	// the last calls were admitted.
	Start, First, Last time.Time
}

// MinuteWindows returns the tenant's minute windows; the zero value for an unknown tenant or
// one never called.
func (s *Sim) MinuteWindows(tenantID string) MinuteWindows {
	t := s.byID[strings.ToLower(tenantID)]
	if t == nil {
		return MinuteWindows{}
	}
	calls, start, first, last := s.lim.minuteWindows(t)
	if calls == nil {
		return MinuteWindows{}
	}
	return MinuteWindows{
		Calls: calls,
		Start: time.UnixMilli(start).UTC(), First: time.UnixMilli(first).UTC(), Last: time.UnixMilli(last).UTC(),
	}
}

// handleStats serves GET /__sim/stats.
func (s *Sim) handleStats(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Stats())
}
