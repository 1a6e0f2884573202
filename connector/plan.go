package connector

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xero-kafka/xero-kafka/xero"
)

// The day-budget plan: how often each stream of one organisation is polled, so that routine
// polling fits the organisation's daily call limit.
//
// A stream's cost is the calls its cycles really make, measured: one for an incremental stream
// with nothing new, its page count for a scan, the pages of a backfill or of a burst of changes.
// The plan gives every stream a share of the day's calls, fairly: the same share to each,
// except that a stream needs no more than polling every minute takes, and is given what
// polling twice a day takes, as long as these guarantees together take no more than half the
// budget. A stream's interval follows from its share and its cost: when one stream's cost
// grows, its interval grows, and the others' share never falls below half an equal one.
//
// Configured intervals (XERO_POLL_INTERVAL, XERO_FULL_TABLE_INTERVAL) are kept as they are:
// their cost is counted first, and the planned streams share what remains.
//
// The planner does no I/O and reads no clock: costs come in, intervals go out.
const (
	// planShare is the part of the day limit that planned polling spends. The rest is
	// headroom: retries, the first cycle of every stream at each start, access checks, and
	// bursts of changes the average has not caught up with yet.
	planShare = 0.75
	// minPlannedInterval is the shortest planned interval, however large the limit.
	minPlannedInterval = time.Minute
	// maxPlannedInterval is the longest planned interval while polling every stream this
	// often takes no more than half the budget.
	maxPlannedInterval = 12 * time.Hour
	// maxStretchedInterval is the interval of the planned streams when configured intervals
	// spend the whole budget.
	maxStretchedInterval = 7 * 24 * time.Hour
	// longestInterval bounds every interval (a stream whose cycles cost thousands of calls
	// under a tiny limit).
	longestInterval = 365 * 24 * time.Hour
	// costRise and costFall are the weights of the newest cycle in a stream's average cost,
	// when it cost more than the average and when it cost less: a grown scan counts within a
	// cycle or two, a burst of changes is smoothed, and the pages of a one-off backfill fade
	// within a few cycles.
	costRise = 0.5
	costFall = 0.75
	planDay  = 24 * time.Hour
)

// planStream is one stream as the planner sees it.
type planStream struct {
	// cost is the calls one cycle makes (at least 1).
	cost float64
	// fixed is the configured interval; zero when the plan chooses.
	fixed time.Duration
}

// planEntry is the plan of one stream.
type planEntry struct {
	interval time.Duration
	// perDay is the calls a day the stream makes at that interval.
	perDay float64
}

// makePlan returns the interval of each stream so that their calls a day fit planShare of
// limit: the configured intervals as they are, the others by sharing what remains.
func makePlan(limit int, ss []planStream) []planEntry {
	out := make([]planEntry, len(ss))
	budget := planShare * float64(limit)
	perDay := func(cost float64, iv time.Duration) float64 { return cost * float64(planDay) / float64(iv) }
	var planned []int
	for i, s := range ss {
		if s.fixed > 0 {
			out[i] = planEntry{interval: s.fixed, perDay: perDay(s.cost, s.fixed)}
			budget -= out[i].perDay
			continue
		}
		planned = append(planned, i)
	}
	if len(planned) == 0 {
		return out
	}
	if budget <= 0 {
		// The configured intervals spend it all: the planned streams wait as long as the
		// plan allows.
		for _, i := range planned {
			out[i] = planEntry{interval: maxStretchedInterval, perDay: perDay(ss[i].cost, maxStretchedInterval)}
		}
		return out
	}
	// Each planned stream takes, in calls a day, between lo and hi: hi is polling every
	// minPlannedInterval, lo polling every maxPlannedInterval. The streams' lo together take
	// at most half the budget, each lo capped alike when they would take more, so that no
	// stream's cost can take more than half of any other's equal share. Water-filling: find
	// the level such that the streams, each given the level clamped to its range, spend the
	// budget.
	lo := make([]float64, len(ss))
	hi := make([]float64, len(ss))
	var sumLo, sumHi, top float64
	for _, i := range planned {
		lo[i] = perDay(ss[i].cost, maxPlannedInterval)
		hi[i] = perDay(ss[i].cost, minPlannedInterval)
		sumLo += lo[i]
		sumHi += hi[i]
		top = max(top, hi[i])
	}
	if sumLo > budget/2 {
		capped := func(c float64) float64 {
			total := 0.0
			for _, i := range planned {
				total += min(lo[i], c)
			}
			return total
		}
		c := bisect(top, func(c float64) bool { return capped(c) > budget/2 })
		for _, i := range planned {
			lo[i] = min(lo[i], c)
		}
	}
	level := top
	if budget < sumHi {
		level = bisect(top, func(level float64) bool {
			total := 0.0
			for _, i := range planned {
				total += min(max(level, lo[i]), hi[i])
			}
			return total > budget
		})
	}
	for _, i := range planned {
		share := min(max(level, lo[i]), hi[i])
		iv := roundUpSecond(time.Duration(min(ss[i].cost*float64(planDay)/share, float64(longestInterval))))
		out[i] = planEntry{interval: iv, perDay: perDay(ss[i].cost, iv)}
	}
	return out
}

// bisect returns the largest x in [0, top] for which over(x) is false, over being false up to a
// point and true beyond it.
func bisect(top float64, over func(x float64) bool) float64 {
	a, b := 0.0, top
	for range 100 {
		m := (a + b) / 2
		if over(m) {
			b = m
		} else {
			a = m
		}
	}
	return a
}

// roundUpSecond rounds d up to a whole second: a rounded interval never spends more.
func roundUpSecond(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(float64(d)/float64(time.Second))) * time.Second
}

// StreamPlan is a stream's part of its organisation's day budget, as /status shows it.
type StreamPlan struct {
	// Interval is the pause after a cycle that caught up, such as "7m30s".
	Interval string `json:"interval"`
	// Fixed says the interval is the configured one, not planned.
	Fixed bool `json:"fixed,omitempty"`
	// CallsPerCycle is the measured average of the calls of a cycle (1 before the first).
	CallsPerCycle float64 `json:"calls_per_cycle"`
	// CallsPerDay is what polling at Interval spends a day.
	CallsPerDay float64 `json:"calls_per_day"`
	// DayLimitShare is CallsPerDay as a share of the organisation's day limit (0.05 is 5%).
	DayLimitShare float64 `json:"day_limit_share"`
}

// tenantPlan is the plan of one organisation's streams, updated as their cycles report their
// costs. Its pollers share it.
type tenantPlan struct {
	limit int

	mu      sync.Mutex
	names   []string
	streams []planStream
	cycles  []int // cycles measured per stream
	entries []planEntry
}

// newTenantPlan plans names, with the interval fixed(name) for each (zero: planned), under
// the day limit; until a stream's first cycle, its cost is one call.
func newTenantPlan(limit int, names []string, fixed func(name string) time.Duration) *tenantPlan {
	tp := &tenantPlan{limit: limit, names: names, streams: make([]planStream, len(names)), cycles: make([]int, len(names))}
	for i, name := range names {
		tp.streams[i] = planStream{cost: 1, fixed: fixed(name)}
	}
	tp.entries = makePlan(limit, tp.streams)
	return tp
}

// stream returns the handle of the stream name, or nil when the plan does not know it.
func (tp *tenantPlan) stream(name string) *streamPlan {
	for i, n := range tp.names {
		if n == name {
			return &streamPlan{plan: tp, i: i}
		}
	}
	return nil
}

// observe adds a completed cycle of stream i that made calls calls, plans again, and returns
// the stream's interval.
func (tp *tenantPlan) observe(i int, calls int) time.Duration {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	c := float64(max(calls, 1))
	switch avg := tp.streams[i].cost; {
	case tp.cycles[i] == 0:
		tp.streams[i].cost = c
	case c > avg:
		tp.streams[i].cost = costRise*c + (1-costRise)*avg
	default:
		tp.streams[i].cost = costFall*c + (1-costFall)*avg
	}
	tp.cycles[i]++
	tp.entries = makePlan(tp.limit, tp.streams)
	return tp.entries[i].interval
}

// interval returns the current interval of stream i.
func (tp *tenantPlan) interval(i int) time.Duration {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.entries[i].interval
}

// view returns the plan of stream i for the status page.
func (tp *tenantPlan) view(i int) StreamPlan {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	e, s := tp.entries[i], tp.streams[i]
	round := func(v float64, digits float64) float64 { p := math.Pow(10, digits); return math.Round(v*p) / p }
	return StreamPlan{
		Interval:      e.interval.String(),
		Fixed:         s.fixed > 0,
		CallsPerCycle: round(s.cost, 1),
		CallsPerDay:   round(e.perDay, 1),
		DayLimitShare: round(e.perDay/float64(tp.limit), 4),
	}
}

// total returns the calls a day of the whole plan.
func (tp *tenantPlan) total() float64 {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	sum := 0.0
	for _, e := range tp.entries {
		sum += e.perDay
	}
	return sum
}

// streamPlan is one poller's handle on its organisation's plan: it counts the calls of the
// cycle under way and turns them, when the cycle ends, into the pause before the next one.
type streamPlan struct {
	plan  *tenantPlan
	i     int
	calls atomic.Int64
}

// count returns l with every call counted against the stream's cycle.
func (sp *streamPlan) count(l lister) lister { return countingLister{lister: l, n: &sp.calls} }

// next ends a cycle. After a complete cycle (ok) it measures the cycle's calls and returns the
// planned interval; after a failed one the count is dropped (a part of a cycle is no measure
// of a whole one) and the interval stays. A nil plan returns fallback.
func (sp *streamPlan) next(ok bool, fallback time.Duration) time.Duration {
	if sp == nil {
		return fallback
	}
	calls := sp.calls.Swap(0)
	if !ok {
		return sp.plan.interval(sp.i)
	}
	return sp.plan.observe(sp.i, int(calls))
}

// interval returns the stream's current interval.
func (sp *streamPlan) interval() time.Duration { return sp.plan.interval(sp.i) }

// view returns the stream's plan for the status page.
func (sp *streamPlan) view() *StreamPlan {
	v := sp.plan.view(sp.i)
	return &v
}

// countingLister counts the calls made through it.
type countingLister struct {
	lister
	n *atomic.Int64
}

func (c countingLister) List(ctx context.Context, req xero.Request) (*xero.Page, error) {
	c.n.Add(1)
	return c.lister.List(ctx, req)
}
