package xero

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Xero counts calls in fixed one-minute windows that start at a different moment for each
// tenant (and for the app). A call is counted at some moment between its sending and its
// answer, both on our clock; windowSlack covers the steps between our clock and Xero's.
const (
	minuteWindow = time.Minute
	windowSlack  = 250 * time.Millisecond
)

// budget is the outermost layer: it keeps each tenant within Xero's limits instead of
// letting the calls find them.
//
//   - Concurrency: at most maxInFlight calls per tenant are in flight, from sending the
//     request to closing its body. Tenantless calls (connections) are not limited here.
//   - Minute limits: every response reports what is left of the tenant's minute
//     (X-MinLimit-Remaining) and of the app's (X-AppMinLimit-Remaining). The budget takes the
//     lowest count reported in the current window, less every attempt still unanswered (Xero
//     may or may not have counted it yet). When nothing is left, calls wait for the window to
//     turn over instead of being rejected. Xero does not say when its window started; any
//     call counted in it was counted before its answer came, so the window has surely turned
//     over one minute after the earliest such answer. The windows follow each other: a window
//     that follows the one before without a gap ends one minute after that one, however late
//     its first call came. That is what the budget waits for (see window.observe): the calls
//     that waited for a window start it as soon as it has surely begun, and the next window's
//     wait does not grow by their latency, window after window.
//   - The app's minute is shared fairly: when it runs short, each tenant that wants to call may
//     start its fair share of it (the app's limit over the tenants that called in this window
//     or the last) before any other tenant starts more than its own, so none starves while
//     others could use the whole minute. A tenant past its share may still call while what is
//     left exceeds what the tenants still calling (a call waiting, in flight or just answered)
//     are owed of their shares.
//   - A 429 minute or appminute pauses the tenant (or the app) for its Retry-After. A 429 day
//     refuses every further call to the tenant, with the same *APIError (ErrDayLimit), until
//     its Retry-After has passed.
//   - Day limit: what is left of it is X-DayLimit-Remaining as last reported. Until a tenant's
//     first answer, it is the configured day limit (Config.DayLimit): an estimate that the
//     headers replace, never a limit of their own.
//
// Every attempt of a call passes through it (the retry policy repeats calls above the chain),
// so a repeated attempt waits like a first one and every answer feeds the budget.
type budget struct {
	inner       http.RoundTripper
	clock       clock
	log         *slog.Logger
	maxInFlight int
	dayLimit    int // the starting estimate of each tenant's calls left today

	mu       sync.Mutex
	tenants  map[string]*tenantBudget
	app      window
	appLeft  int // last X-AppMinLimit-Remaining, -1 if none
	appLimit int // the app's calls a minute, as the counts reported show it; 0 before any
}

// DefaultAppMinuteLimit is Xero's limit of calls a minute for one app across all its tenants.
const DefaultAppMinuteLimit = 10_000

// tenantBudget is the state of one tenant, guarded by budget.mu (except slots, a semaphore).
type tenantBudget struct {
	slots    chan struct{}
	minute   window
	limits   Limits
	dayUntil time.Time // no calls before this: a 429 day said so
	// Of the app's minute: the window (budget.app.gen) of the tenant's last attempt, and the
	// attempts it started in it.
	appGen  uint64
	appUsed int
	// wanting counts the tenant's calls that wait for the app's minute alone; lastEnd is when
	// its last attempt was answered.
	wanting int
	lastEnd time.Time
}

// window follows one fixed minute window from the counts Xero reports.
type window struct {
	started uint64 // attempts started so far
	open    int    // attempts started and not yet answered
	last    int    // lowest remaining count reported in the current window; -1 unknown
	lastAt  uint64 // started, when last was taken in or the window was seen to turn over
	// end is when the current window has surely ended (zero before any report), and after the
	// sending of the latest attempt known to be in it: the window ends after that.
	end, after time.Time
	blocked    time.Time // no calls before this: a 429 said so
	gen        uint64    // counts the windows seen to start
}

// budgetCall is the budget's record of one attempt.
type budgetCall struct {
	tenantID string
	tenant   *tenantBudget // nil for tenantless calls
	endpoint string
	// Its number in each window, when it was sent, and whether it is still unanswered.
	seq, appSeq uint64
	sent        time.Time
	open        bool
	wanting     bool // counted in tenant.wanting
}

func newBudget(inner http.RoundTripper, maxInFlight, dayLimit int, clk clock, log *slog.Logger) *budget {
	return &budget{
		inner:       inner,
		clock:       clk,
		log:         log,
		maxInFlight: maxInFlight,
		dayLimit:    dayLimit,
		tenants:     make(map[string]*tenantBudget),
		app:         window{last: -1, gen: 1}, // a tenant's appGen 0: it never called
		appLeft:     -1,
	}
}

func (b *budget) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	call := &budgetCall{tenantID: req.Header.Get(tenantHeader), endpoint: endpointOf(req.URL.Path)}
	release := func() {}
	if call.tenantID != "" {
		call.tenant = b.tenant(call.tenantID)
		select {
		case call.tenant.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var once sync.Once
		release = func() { once.Do(func() { <-call.tenant.slots }) }
	}
	if err := b.wait(ctx, call); err != nil {
		release()
		return nil, err
	}
	resp, err := b.inner.RoundTrip(req)
	if err != nil {
		b.mu.Lock()
		b.settle(call)
		b.mu.Unlock()
		release()
		return nil, err
	}
	b.observe(call, resp)
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// tenant returns the state of one tenant, created on first use.
func (b *budget) tenant(id string) *tenantBudget {
	b.mu.Lock()
	defer b.mu.Unlock()
	tb, ok := b.tenants[id]
	if !ok {
		tb = &tenantBudget{
			slots:  make(chan struct{}, b.maxInFlight),
			minute: window{last: -1},
			limits: unknownLimits,
		}
		tb.limits.DayRemaining = b.dayLimit
		b.tenants[id] = tb
	}
	return tb
}

// wait blocks until the call may make an attempt, then counts the attempt as started.
func (b *budget) wait(ctx context.Context, call *budgetCall) error {
	for {
		b.mu.Lock()
		now := b.clock.Now()
		if call.tenant != nil && now.Before(call.tenant.dayUntil) {
			until := call.tenant.dayUntil
			b.want(call, false)
			b.mu.Unlock()
			return &APIError{
				Tenant:     call.tenantID,
				Endpoint:   call.endpoint,
				StatusCode: http.StatusTooManyRequests,
				Problem:    ProblemDay,
				RetryAfter: until.Sub(now).Round(time.Second),
				Body:       "(not sent: the daily limit was reached earlier)",
			}
		}
		ready := b.app.readyAt(now)
		if call.tenant != nil {
			own := call.tenant.minute.readyAt(now)
			b.want(call, own.IsZero())
			ready = later(ready, own)
			if ready.IsZero() {
				ready = b.fairShareWait(call.tenant, now)
			}
		}
		if ready.IsZero() {
			if call.tenant != nil {
				b.want(call, false)
				call.seq = call.tenant.minute.start()
				if call.tenant.appGen != b.app.gen {
					call.tenant.appGen, call.tenant.appUsed = b.app.gen, 0
				}
				call.tenant.appUsed++
			}
			call.appSeq = b.app.start()
			call.sent = now
			call.open = true
			b.mu.Unlock()
			return nil
		}
		b.mu.Unlock()
		b.log.DebugContext(ctx, "xero: minute budget spent, waiting for the window",
			"tenant", call.tenantID, "wait", ready.Sub(now))
		if err := b.clock.Sleep(ctx, ready.Sub(now)); err != nil {
			b.mu.Lock()
			b.want(call, false)
			b.mu.Unlock()
			return err
		}
	}
}

// want records whether the call is waiting for the app's minute only: its own tenant's limits
// would let it go. b.mu must be held.
func (b *budget) want(call *budgetCall, wanting bool) {
	if call.tenant == nil || call.wanting == wanting {
		return
	}
	call.wanting = wanting
	if wanting {
		call.tenant.wanting++
	} else {
		call.tenant.wanting--
	}
}

// shareGrace is how long after its last answer a tenant still counts as calling: long enough to
// cover a retry's backoff or the building and commit of a page, short enough that the share of
// a tenant that has stopped calling goes to the others within the window.
const shareGrace = 15 * time.Second

// fairShareWait returns zero if tenant tb may start an attempt in the app's current minute
// window, else when to look again. b.mu must be held.
//
// The tenants that share the minute are those that started an attempt in this window or the
// last, or have one waiting; each one's fair share is the app's limit divided among them. tb
// may start an attempt while it is below its share, or while what is left of the window
// exceeds what the others still calling are owed: the rest of their shares, for each tenant
// with a call waiting, in flight or answered within shareGrace. So every tenant that wants
// to call gets its share whatever the others do, and what a tenant does not ask for (it has
// nothing to read, or its own pages wait for memory or a commit) goes to those that want more
// instead of being kept for it until the window turns over.
func (b *budget) fairShareWait(tb *tenantBudget, now time.Time) time.Time {
	w := &b.app
	if w.last < 0 {
		return time.Time{} // nothing known of the window: nothing to share
	}
	used := func(t *tenantBudget) int {
		if t.appGen == w.gen {
			return t.appUsed
		}
		return 0
	}
	sharing := 1 // tb
	for _, t := range b.tenants {
		if t != tb && (t.wanting > 0 || (t.appGen+1 >= w.gen && t.appGen != 0)) {
			sharing++
		}
	}
	limit := b.appLimit
	if limit == 0 {
		limit = DefaultAppMinuteLimit
	}
	share := (limit + sharing - 1) / sharing
	if used(tb) < share {
		return time.Time{}
	}
	// A tenant is owed the rest of its share while it is calling: a call waiting or in flight,
	// or one answered within shareGrace. A claim lapses shareGrace after the tenant's last
	// answer: tb looks again then, or shareGrace from now for a tenant still calling.
	owed, recheck := 0, time.Time{}
	for _, t := range b.tenants {
		if t == tb {
			continue
		}
		switch {
		case t.wanting > 0 || t.minute.open > 0:
			// Calling now; if it stops, its claim lapses shareGrace after its last answer.
			if used(t) < share {
				recheck = earliest(recheck, now.Add(shareGrace))
			}
		case now.Sub(t.lastEnd) < shareGrace:
			if used(t) < share {
				recheck = earliest(recheck, t.lastEnd.Add(shareGrace))
			}
		default:
			continue
		}
		owed += max(0, share-used(t))
	}
	if w.last-w.open > owed {
		return time.Time{}
	}
	if !now.Before(w.end) {
		w.newWindow() // it has turned over; the next report starts the new one
		return time.Time{}
	}
	if !recheck.IsZero() && recheck.Before(w.end) {
		return recheck
	}
	return w.end
}

// settle marks the call's current attempt as answered (or abandoned). b.mu must be held.
func (b *budget) settle(call *budgetCall) {
	if !call.open {
		return
	}
	call.open = false
	b.app.open--
	if call.tenant != nil {
		call.tenant.minute.open--
		call.tenant.lastEnd = b.clock.Now()
	}
}

// observe takes in the limits a response reports.
func (b *budget) observe(call *budgetCall, resp *http.Response) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settle(call)
	now := b.clock.Now()
	l := limitsFromHeader(resp.Header, now)
	if l.AppMinuteRemaining >= 0 {
		b.app.observe(l.AppMinuteRemaining, call.appSeq, call.sent, now)
		b.appLeft = l.AppMinuteRemaining
		// The first call of a window reports the limit less one; a later one, less.
		b.appLimit = max(b.appLimit, l.AppMinuteRemaining+1)
	}
	tb := call.tenant
	if tb != nil {
		if l.MinuteRemaining >= 0 {
			tb.minute.observe(l.MinuteRemaining, call.seq, call.sent, now)
			tb.limits.MinuteRemaining = l.MinuteRemaining
		}
		if l.DayRemaining >= 0 {
			tb.limits.DayRemaining = l.DayRemaining
		}
		tb.limits.ObservedAt = now
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		return
	}
	rl := RateLimit{
		Problem:    strings.ToLower(resp.Header.Get("X-Rate-Limit-Problem")),
		At:         now,
		RetryAfter: retryAfter(resp.Header),
	}
	switch rl.Problem {
	case ProblemAppMinute:
		b.app.pause(now, rl.RetryAfter)
	case ProblemMinute:
		if tb != nil {
			tb.minute.pause(now, rl.RetryAfter)
		}
	case ProblemDay:
		if tb != nil && rl.RetryAfter > 0 {
			tb.dayUntil = later(tb.dayUntil, now.Add(rl.RetryAfter))
			b.log.Warn("xero: daily call limit reached; calls to the tenant pause",
				"tenant", call.tenantID, "retry_after", rl.RetryAfter)
		}
	}
	if tb != nil {
		tb.limits.Last429 = rl
	}
}

// limits returns what is known of a tenant's limits.
func (b *budget) limits(tenant string) Limits {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := unknownLimits
	l.DayRemaining = b.dayLimit
	if tb, ok := b.tenants[tenant]; ok {
		l = tb.limits
	}
	l.AppMinuteRemaining = b.appLeft
	return l
}

// start counts an attempt as started and returns its number.
func (w *window) start() uint64 {
	w.started++
	w.open++
	return w.started
}

// readyAt returns zero if an attempt may start now, else when it may.
func (w *window) readyAt(now time.Time) time.Time {
	if now.Before(w.blocked) {
		return w.blocked
	}
	if w.last < 0 || w.last-w.open > 0 {
		return time.Time{}
	}
	if !now.Before(w.end) {
		w.newWindow() // it has turned over; the next report starts the new one
		return time.Time{}
	}
	return w.end
}

// newWindow forgets the count of a window that has turned over. The answers of the attempts
// started before belong to it (or to the next, which a later attempt will report as well).
func (w *window) newWindow() {
	w.last = -1
	w.lastAt = w.started
	w.gen++
}

// observe takes in a remaining count reported to the attempt with number seq, sent at sent and
// answered at answered.
//
// Counts only go down within a window. A higher count, or the first count after the window
// turned over, is a new window if its attempt started after the current count was taken in;
// otherwise it is an older attempt's answer that arrived late, and the lower count stands.
//
// The window ends at most a minute after the earliest answer counted in it. A new window
// follows the last one without a gap when its attempt was answered less than a minute after
// the last one's latest attempt was sent: that one was counted before the last window ended,
// this one before the new one ended. It then also ends at most a minute after the last one's
// end. Without this, each window would be taken to end a minute after its first answer, and
// the calls that waited for it would push the next one later by their latency, window after
// window, until one window got only part of its calls.
func (w *window) observe(remaining int, seq uint64, sent, answered time.Time) {
	bound := answered.Add(minuteWindow + windowSlack)
	switch {
	case (w.last < 0 || remaining > w.last) && seq > w.lastAt:
		if w.last >= 0 {
			w.gen++ // the count went up: a window seen to start without a wait
		}
		if !w.end.IsZero() && answered.Add(windowSlack).Before(w.after.Add(minuteWindow)) {
			bound = earliest(bound, w.end.Add(minuteWindow))
		}
		w.end, w.after = bound, sent // a new window, and this attempt is in it
	case w.last < 0, remaining > w.last:
		return
	default:
		w.end = earliest(w.end, bound)
		w.after = later(w.after, sent)
	}
	w.last = remaining
	w.lastAt = w.started
}

// pause takes in a 429 for the window: Xero's Retry-After says when its window turns over
// (without one, a whole window is waited out). Past that moment the count is unknown until the
// next report.
func (w *window) pause(now time.Time, retryAfter time.Duration) {
	if retryAfter <= 0 {
		retryAfter = minuteWindow
	}
	w.blocked = later(w.blocked, now.Add(retryAfter))
	w.newWindow()
}

// releaseBody gives the call's slot back when its body is closed.
type releaseBody struct {
	io.ReadCloser
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// earliest returns the earlier of two times (zero counts as unset).
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// later returns the later of two times (zero counts as earliest).
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
