package xerosim

import (
	"math"
	"net/http"
	"strconv"
	"sync"
)

// Rate-limit windows, in simulated milliseconds.
const (
	minuteMS = 60_000
	dayMS    = 86_400_000
)

// tenantLimit is the rate-limit state of one tenant. Windows are fixed and start at a
// tenant-specific phase, as Xero's do.
type tenantLimit struct {
	inflight, maxInflight int
	minWin, dayWin        int64 // window numbers
	minCount, dayCount    int
	// perMinute counts the calls admitted in each of the tenant's minute windows, by window
	// number; firstCall and lastCall are when the first and the last were admitted.
	perMinute           map[int64]int
	firstCall, lastCall int64
}

// limiter enforces Xero's limits.
type limiter struct {
	mu       sync.Mutex
	limits   Limits
	off      bool
	clock    *clock
	tenants  map[*tenant]*tenantLimit
	appWin   int64
	appCount int
}

func newLimiter(l Limits, off bool, c *clock) *limiter {
	return &limiter{limits: l, off: off, clock: c, tenants: map[*tenant]*tenantLimit{}}
}

// admission is the outcome of acquire.
type admission struct {
	problem    string // "", "concurrent", "day", "minute", "appminute"
	retryAfter int64  // simulated ms until the window resets
	dayLeft    int
	minLeft    int
	appLeft    int
}

func window(now, phase, size int64) int64 {
	v := now - phase
	if v < 0 {
		return -1 - (-v-1)/size
	}
	return v / size
}

// acquire counts a call of tenant t starting at now. Unless it is refused (problem != ""),
// the caller must call release when the call ends.
func (l *limiter) acquire(t *tenant, now int64) admission {
	l.mu.Lock()
	defer l.mu.Unlock()
	tl := l.tenants[t]
	if tl == nil {
		tl = &tenantLimit{perMinute: map[int64]int{}}
		l.tenants[t] = tl
	}
	if w := window(now, t.minutePhase, minuteMS); w != tl.minWin {
		tl.minWin, tl.minCount = w, 0
	}
	if w := window(now, t.dayPhase, dayMS); w != tl.dayWin {
		tl.dayWin, tl.dayCount = w, 0
	}
	if w := window(now, 0, minuteMS); w != l.appWin {
		l.appWin, l.appCount = w, 0
	}
	a := admission{}
	if !l.off {
		switch {
		case tl.inflight >= l.limits.Concurrent:
			a.problem = "concurrent"
		case tl.dayCount >= l.limits.PerDay:
			a.problem = "day"
			a.retryAfter = (tl.dayWin+1)*dayMS + t.dayPhase - now
		case tl.minCount >= l.limits.PerMinute:
			a.problem = "minute"
			a.retryAfter = (tl.minWin+1)*minuteMS + t.minutePhase - now
		case l.appCount >= l.limits.AppPerMinute:
			a.problem = "appminute"
			a.retryAfter = (l.appWin+1)*minuteMS - now
		}
	}
	if a.problem == "" {
		tl.inflight++
		tl.maxInflight = max(tl.maxInflight, tl.inflight)
		tl.minCount++
		tl.dayCount++
		if len(tl.perMinute) == 0 {
			tl.firstCall = now
		}
		tl.lastCall = now
		tl.perMinute[tl.minWin]++
		l.appCount++
	}
	a.dayLeft = max(0, l.limits.PerDay-tl.dayCount)
	a.minLeft = max(0, l.limits.PerMinute-tl.minCount)
	a.appLeft = max(0, l.limits.AppPerMinute-l.appCount)
	if l.off {
		// Limits that are not enforced are not spent: a client pacing itself by the headers
		// must not wait for a window that nothing would refuse it in.
		a.dayLeft, a.minLeft, a.appLeft = l.limits.PerDay, l.limits.PerMinute, l.limits.AppPerMinute
	}
	return a
}

// release ends a call admitted by acquire.
func (l *limiter) release(t *tenant) {
	l.mu.Lock()
	l.tenants[t].inflight--
	l.mu.Unlock()
}

// minuteWindows returns the calls admitted to tenant t in each of its minute windows, from the
// first window with a call to the last, empty windows included, with the first window's start
// and the moments the first and the last calls were admitted (simulated unix ms).
func (l *limiter) minuteWindows(t *tenant) (calls []int, start, first, last int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tl := l.tenants[t]
	if tl == nil || len(tl.perMinute) == 0 {
		return nil, 0, 0, 0
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for w := range tl.perMinute {
		lo, hi = min(lo, w), max(hi, w)
	}
	calls = make([]int, hi-lo+1)
	for w, n := range tl.perMinute {
		calls[w-lo] = n
	}
	return calls, lo*minuteMS + t.minutePhase, tl.firstCall, tl.lastCall
}

// maxConcurrency returns the highest number of calls seen in progress at once per tenant.
func (l *limiter) maxConcurrency() map[*tenant]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[*tenant]int, len(l.tenants))
	for t, tl := range l.tenants {
		m[t] = tl.maxInflight
	}
	return m
}

// headers writes the limit headers of an admission.
func (a admission) headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-DayLimit-Remaining", strconv.Itoa(a.dayLeft))
	h.Set("X-MinLimit-Remaining", strconv.Itoa(a.minLeft))
	h.Set("X-AppMinLimit-Remaining", strconv.Itoa(a.appLeft))
}

// appHeaders counts a tenantless call (/connections) against the app limit and writes the one
// header Xero sends on it.
func (l *limiter) appHeaders(w http.ResponseWriter, now int64) {
	l.mu.Lock()
	if win := window(now, 0, minuteMS); win != l.appWin {
		l.appWin, l.appCount = win, 0
	}
	l.appCount++
	left := max(0, l.limits.AppPerMinute-l.appCount)
	if l.off {
		left = l.limits.AppPerMinute
	}
	l.mu.Unlock()
	w.Header().Set("X-AppMinLimit-Remaining", strconv.Itoa(left))
}

// inflight returns the number of calls of tenant t in progress.
func (l *limiter) inflight(t *tenant) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if tl := l.tenants[t]; tl != nil {
		return tl.inflight
	}
	return 0
}
