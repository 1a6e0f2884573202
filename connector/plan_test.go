package connector

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/xero-kafka/xero-kafka/streams"
)

// allStreams returns the 26 streams as the planner sees them: costs one call a cycle unless
// cost names them, full tables at fullTable, incremental streams at poll (zero: planned).
func allStreams(cost map[string]float64, poll, fullTable time.Duration) ([]string, []planStream) {
	names := streams.Names()
	ss := make([]planStream, len(names))
	for i, name := range names {
		s, _ := streams.ByName(name)
		ss[i] = planStream{cost: 1, fixed: poll}
		if s.FullTable {
			ss[i].fixed = fullTable
		}
		if c, ok := cost[name]; ok {
			ss[i].cost = c
		}
	}
	return names, ss
}

func TestMakePlan(t *testing.T) {
	const lt = "linked_transactions"
	for _, tc := range []struct {
		name  string
		limit int
		cost  map[string]float64
		poll  time.Duration
		// check looks at the plan beyond the rules every plan keeps.
		check func(t *testing.T, iv map[string]time.Duration)
	}{
		{
			name: "one call a cycle, 5000 a day", limit: 5000,
			check: func(t *testing.T, iv map[string]time.Duration) {
				// (3750 - 7 full tables * 4) / 19 streams = 195.9 calls a day each.
				within(t, "invoices", iv["invoices"], 7*time.Minute+21*time.Second, 2*time.Second)
				if iv["invoices"] != iv[lt] {
					t.Errorf("streams of the same cost planned apart: %v and %v", iv["invoices"], iv[lt])
				}
			},
		},
		{
			name: "one call a cycle, Starter tier", limit: 1000,
			check: func(t *testing.T, iv map[string]time.Duration) {
				// (750 - 28) / 19 = 38 calls a day each.
				within(t, "invoices", iv["invoices"], 37*time.Minute+54*time.Second, 2*time.Second)
			},
		},
		{
			name: "a 50-page scan leaves the other streams as they were", limit: 5000, cost: map[string]float64{lt: 50},
			check: func(t *testing.T, iv map[string]time.Duration) {
				within(t, "invoices", iv["invoices"], 7*time.Minute+21*time.Second, 2*time.Second)
				within(t, lt, iv[lt], 50*(7*time.Minute+21*time.Second), 2*time.Minute)
			},
		},
		{
			name: "a 50-page scan on the Starter tier is still read twice a day", limit: 1000, cost: map[string]float64{lt: 50},
			check: func(t *testing.T, iv map[string]time.Duration) {
				if iv[lt] != maxPlannedInterval {
					t.Errorf("scan every %v, want %v", iv[lt], maxPlannedInterval)
				}
				// (750 - 28 - 100) / 18 = 34.6 calls a day.
				within(t, "invoices", iv["invoices"], 41*time.Minute+40*time.Second, 10*time.Second)
			},
		},
		{
			name: "many scans take no more than their share", limit: 1000,
			cost: map[string]float64{lt: 80, "invoices": 80, "contacts": 80, "quotes": 80, "bank_transactions": 80,
				"payments": 80, "credit_notes": 80, "receipts": 80, "manual_journals": 80, "overpayments": 80},
			check: func(t *testing.T, iv map[string]time.Duration) {
				// Twice a day would take 1618 of 722 calls: the scans' guarantee is capped at
				// (361 - 9 × 2) / 10 = 34.3 calls a day, below the equal share, 722 / 19 = 38,
				// which every stream gets: the one-call streams as if there were no scans.
				within(t, "users", iv["users"], 37*time.Minute+54*time.Second, 2*time.Second)
				within(t, lt, iv[lt], 50*time.Hour+32*time.Minute, 2*time.Minute)
			},
		},
		{
			name: "a tiny limit", limit: 20,
			check: func(t *testing.T, iv map[string]time.Duration) {
				// 15 calls a day, less than the full tables' 28: the rest waits a week.
				if iv["invoices"] != maxStretchedInterval {
					t.Errorf("invoices every %v, want %v", iv["invoices"], maxStretchedInterval)
				}
			},
		},
		{
			name: "a limit too large to spend", limit: 10_000_000,
			check: func(t *testing.T, iv map[string]time.Duration) {
				if iv["invoices"] != minPlannedInterval {
					t.Errorf("invoices every %v, want %v", iv["invoices"], minPlannedInterval)
				}
			},
		},
		{
			name: "configured intervals are kept, even past the limit", limit: 1000, poll: 10 * time.Second, cost: map[string]float64{lt: 50},
			check: func(t *testing.T, iv map[string]time.Duration) {
				if iv["invoices"] != 10*time.Second || iv[lt] != 10*time.Second {
					t.Errorf("invoices every %v, scan every %v; want the configured 10s", iv["invoices"], iv[lt])
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			names, ss := allStreams(tc.cost, tc.poll, 6*time.Hour)
			plan := makePlan(tc.limit, ss)
			iv := make(map[string]time.Duration, len(names))
			fixedSpend, total := 0.0, 0.0
			for i, e := range plan {
				iv[names[i]] = e.interval
				total += e.perDay
				if got := ss[i].cost * float64(24*time.Hour) / float64(e.interval); math.Abs(got-e.perDay) > 1e-6 {
					t.Errorf("%s: %v calls a day said, %v at its interval", names[i], e.perDay, got)
				}
				if ss[i].fixed > 0 {
					fixedSpend += e.perDay
					if e.interval != ss[i].fixed {
						t.Errorf("%s: configured %v, planned %v", names[i], ss[i].fixed, e.interval)
					}
					continue
				}
				if e.interval < minPlannedInterval || e.interval > maxStretchedInterval {
					t.Errorf("%s: interval %v outside [%v, %v]", names[i], e.interval, minPlannedInterval, maxStretchedInterval)
				}
			}
			// The plan spends at most its share of the limit, unless configured intervals (or
			// streams stretched to the longest interval) alone spend more.
			if budget := planShare * float64(tc.limit); total > budget && fixedSpend < budget {
				t.Errorf("the plan spends %.1f calls a day, more than %.0f", total, budget)
			}
			tc.check(t, iv)
		})
	}
}

// within fails unless got is want give or take tol.
func within(t *testing.T, what string, got, want, tol time.Duration) {
	t.Helper()
	if got < want-tol || got > want+tol {
		t.Errorf("%s: interval %v, want %v ± %v", what, got, want, tol)
	}
}

// TestPlanFollowsGrowingCost: as a scan grows, its interval grows, the others' hardly moves,
// and the plan keeps within its share of the limit at every step.
func TestPlanFollowsGrowingCost(t *testing.T) {
	for _, limit := range []int{5000, 1000} {
		names, ss := allStreams(nil, 0, 6*time.Hour)
		tp := newTenantPlan(limit, names, func(name string) time.Duration { return ss[indexOf(names, name)].fixed })
		scan, cheap := tp.stream("linked_transactions"), tp.stream("invoices")
		before := cheap.interval()
		last := time.Duration(0)
		for _, pages := range []int{1, 10, 50, 200, 1000, 5000} {
			for range 8 { // enough cycles for the average to settle
				cheap.calls.Store(1)
				cheap.next(true, 0)
				scan.calls.Store(int64(pages))
				scan.next(true, 0)
			}
			got := scan.interval()
			if got < last {
				t.Errorf("limit %d, %d pages: the scan's interval fell from %v to %v", limit, pages, last, got)
			}
			last = got
			if c := cheap.interval(); c > 2*before {
				t.Errorf("limit %d, %d pages: invoices every %v, was %v", limit, pages, c, before)
			}
			if total := tp.total(); total > planShare*float64(limit) {
				t.Errorf("limit %d, %d pages: %.0f calls a day, over %.0f", limit, pages, total, planShare*float64(limit))
			}
			if v := scan.view(); math.Abs(v.CallsPerCycle-float64(pages)) > 0.05*float64(pages) {
				t.Errorf("limit %d: %d pages a cycle measured as %v", limit, pages, v.CallsPerCycle)
			}
		}
	}
}

// TestPlanMeasuresCompleteCycles: a backfill's pages raise a stream's cost for a few cycles
// only; a failed cycle's calls are no measure; a cycle costs at least one call.
func TestPlanMeasuresCompleteCycles(t *testing.T) {
	names, ss := allStreams(nil, 0, 6*time.Hour)
	tp := newTenantPlan(5000, names, func(name string) time.Duration { return ss[indexOf(names, name)].fixed })
	sp := tp.stream("contacts")
	base := sp.interval()

	sp.calls.Store(40) // the backfill
	after := sp.next(true, 0)
	if after < 20*base {
		t.Errorf("after a 40-call backfill the interval is %v, want about 40 × %v", after, base)
	}
	sp.calls.Store(7) // part of a cycle that failed
	if got := sp.next(false, time.Hour); got != after {
		t.Errorf("a failed cycle changed the interval from %v to %v", after, got)
	}
	if sp.calls.Load() != 0 {
		t.Error("a failed cycle's calls were carried into the next")
	}
	var iv time.Duration
	for range 3 {
		sp.calls.Store(1)
		iv = sp.next(true, 0)
	}
	within(t, "contacts", iv, base, base)
	if got := sp.next(true, 0); got < base { // no call counted: still one
		t.Errorf("a cycle counted as no call planned at %v, below the one-call %v", got, base)
	}
	var none *streamPlan
	if got := none.next(true, 3*time.Second); got != 3*time.Second {
		t.Errorf("no plan: interval %v, want the fallback 3s", got)
	}
}

// TestPlanCountsEveryCall: the calls a poller makes through its plan are the cycle's cost, and
// the status shows the plan.
func TestPlanCountsEveryCall(t *testing.T) {
	tp := newTenantPlan(1000, []string{"invoices", "currencies"}, func(name string) time.Duration {
		if name == "currencies" {
			return 6 * time.Hour
		}
		return 0
	})
	sp := tp.stream("invoices")
	p := newTestPoller(t, "invoices", sp.count(fixedPage{`{"InvoiceID":"a","UpdatedDateUTC":"/Date(1700000000000+0000)/"}`}), &memLog{})
	p.plan = sp
	p.status.plan = sp.view
	if err := p.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := sp.calls.Load()
	if calls < 1 {
		t.Fatalf("%d calls counted for a cycle that read a page", calls)
	}
	iv := p.plan.next(true, 0)
	// One planned stream at 750 - 4 calls a day.
	want := time.Duration(float64(calls) * float64(24*time.Hour) / 746)
	within(t, "invoices", iv, want, 2*time.Second)
	perDay := float64(24*time.Hour) / float64(iv) * float64(calls)

	raw, err := json.Marshal(p.status.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Plan StreamPlan `json:"plan"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Plan.Interval != iv.String() || got.Plan.CallsPerCycle != float64(calls) || got.Plan.Fixed ||
		math.Abs(got.Plan.DayLimitShare-perDay/1000) > 0.0001 || math.Abs(got.Plan.CallsPerDay-perDay) > 0.1 || perDay > 746 || perDay < 740 {
		t.Errorf("status shows the plan %+v (%s); want every %v, %d calls a cycle, %.1f a day (at most 746), that /1000 of the limit", got.Plan, raw, iv, calls, perDay)
	}
	if v := tp.stream("currencies").view(); !v.Fixed || v.Interval != "6h0m0s" || v.CallsPerDay != 4 {
		t.Errorf("the full table's plan is %+v, want fixed, every 6h, 4 calls a day", v)
	}
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}
