package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xero"
)

// pool watches the calls of many pollers: when each began, and how many ran at once, in all and
// per poller.
type pool struct {
	took time.Duration // each call's length, on the bubble's clock

	mu                 sync.Mutex
	start              time.Time
	calls              map[string][]time.Duration
	running            map[string]int
	now, most, overlap int
}

func newPool(took time.Duration) *pool {
	return &pool{took: took, start: time.Now(), calls: map[string][]time.Duration{}, running: map[string]int{}}
}

// lister returns the lister of the poller named name.
func (w *pool) lister(name string) lister { return poolLister{w, name} }

type poolLister struct {
	w    *pool
	name string
}

func (l poolLister) List(context.Context, xero.Request) (*xero.Page, error) {
	w := l.w
	w.mu.Lock()
	w.calls[l.name] = append(w.calls[l.name], time.Since(w.start))
	w.running[l.name]++
	if w.running[l.name] > 1 {
		w.overlap++
	}
	w.now++
	w.most = max(w.most, w.now)
	w.mu.Unlock()
	time.Sleep(w.took)
	w.mu.Lock()
	w.running[l.name]--
	w.now--
	w.mu.Unlock()
	return emptyPage(), nil
}

func (w *pool) callsOf(name string) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls[name])
}

// poolPollers makes n pollers of invoices, tenants t0.., each reading from w and polled every
// interval.
func poolPollers(t *testing.T, w *pool, n int, interval time.Duration) []*poller {
	ps := make([]*poller, n)
	for i := range ps {
		p := newTestPoller(t, "invoices", nil, committerFunc(func(context.Context, []*kgo.Record) error { return nil }))
		p.tenant = fmt.Sprintf("t%d", i)
		p.api = w.lister(p.tenant)
		p.interval = interval
		ps[i] = p
	}
	return ps
}

// runScheduler runs s for d of the bubble's time, then stops it and returns what run returned.
func runScheduler(s *scheduler, d time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	time.Sleep(d)
	cancel()
	return <-done
}

// TestSchedulerRunsEachWhenDue: with a worker for each, every poller's cycles start exactly when
// due: at its start delay, then each interval after its last cycle ended.
func TestSchedulerRunsEachWhenDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newPool(time.Second)
		s := newScheduler(20, nil)
		for i, p := range poolPollers(t, w, 20, time.Minute) {
			p.startDelay = time.Duration(i) * 100 * time.Millisecond
			s.add(p)
		}
		if err := runScheduler(s, 5*time.Minute); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			first := time.Duration(i) * 100 * time.Millisecond
			var want []time.Duration
			for at := first; at < 5*time.Minute; at += time.Minute + time.Second {
				want = append(want, at)
			}
			if got := w.callsOf(fmt.Sprintf("t%d", i)); !slices.Equal(got, want) {
				t.Errorf("t%d: calls at %v, want %v", i, got, want)
			}
		}
	})
}

// TestSchedulerSharesTheWorkers: 200 pollers on 8 workers, more work than they can do. No more than 8 cycles run at once, a
// poller's cycles never overlap, none starts before it is due, and every poller gets its turn:
// the pollers due first run first, so none waits much longer than a round of all of them.
func TestSchedulerSharesTheWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			n        = 200
			workers  = 8
			took     = time.Second
			interval = 10 * time.Second // shorter than a round: the workers never rest
			runFor   = 30 * time.Minute
		)
		w := newPool(took)
		s := newScheduler(workers, nil)
		for _, p := range poolPollers(t, w, n, interval) {
			s.add(p)
		}
		if err := runScheduler(s, runFor); err != nil {
			t.Fatal(err)
		}
		if w.most != workers || w.overlap != 0 {
			t.Errorf("at most %d cycles at once (want %d), %d overlapping cycles of one poller (want 0)", w.most, workers, w.overlap)
		}
		// A round of every poller takes n/workers calls' time; a poller waits its interval,
		// then at most about one round behind those that became due before it.
		round := time.Duration(n/workers) * took
		least, most := runFor, time.Duration(0)
		for i := range n {
			calls := w.callsOf(fmt.Sprintf("t%d", i))
			if len(calls) < int(runFor/(interval+took+round)) {
				t.Errorf("t%d: %d cycles in %v: starved", i, len(calls), runFor)
			}
			for j := 1; j < len(calls); j++ {
				gap := calls[j] - calls[j-1]
				least, most = min(least, gap), max(most, gap)
			}
		}
		if least < interval+took || most > interval+took+round+took {
			t.Errorf("gaps between a poller's cycles from %v to %v, want from %v to %v", least, most, interval+took, interval+took+round+took)
		}
		t.Logf("%d pollers, %d workers: gaps between cycles %v to %v", n, workers, least, most)
	})
}

// TestSchedulerResetWakesOne: a reset of one stream runs its cycle at once, and so does a later
// wake; the other streams wait for their interval.
func TestSchedulerResetWakesOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newPool(time.Second)
		s := newScheduler(2, nil)
		ps := poolPollers(t, w, 10, time.Hour)
		inbox := &fakeInbox{}
		ps[3].resets = inbox
		for _, p := range ps {
			s.add(p)
		}
		inbox.setWake(func() { s.wake("t3", "invoices") })
		reset := offsets.Reset{BookmarkID: offsets.BookmarkID{Tenant: "t3", Stream: "invoices"}, ID: "r1"}
		go func() {
			time.Sleep(10 * time.Minute)
			inbox.add(reset)
			time.Sleep(10*time.Minute + 500*time.Millisecond)
			s.wake("t3", "invoices")
			s.wake("t9", "nothing") // an unknown pair is ignored
		}()
		if err := runScheduler(s, 30*time.Minute); err != nil {
			t.Fatal(err)
		}
		// Two workers, ten pollers due at once: t3 is in the second pair.
		want := []time.Duration{time.Second, 10 * time.Minute, 20*time.Minute + 500*time.Millisecond}
		if got := w.callsOf("t3"); !slices.Equal(got, want) {
			t.Errorf("t3: calls at %v, want %v", got, want)
		}
		if len(inbox.Pending()) != 0 {
			t.Errorf("the reset is still pending")
		}
		for i, p := range ps {
			if i == 3 {
				continue
			}
			if got := w.callsOf(p.tenant); len(got) != 1 {
				t.Errorf("%s: calls at %v, want one, at the start", p.tenant, got)
			}
		}
	})
}

// TestSchedulerWakeDuringCycle: a reset that arrives while the stream's cycle runs makes the
// next cycle start as soon as this one ends, not after the interval.
func TestSchedulerWakeDuringCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newPool(10 * time.Second)
		s := newScheduler(1, nil)
		s.add(poolPollers(t, w, 1, time.Hour)[0])
		go func() {
			time.Sleep(5 * time.Second)
			s.wake("t0", "invoices")
		}()
		if err := runScheduler(s, 30*time.Minute); err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{0, 10 * time.Second}
		if got := w.callsOf("t0"); !slices.Equal(got, want) {
			t.Errorf("calls at %v, want %v", got, want)
		}
	})
}

// TestSchedulerFatalStopsAll: a cycle that fails for the connector as a whole (a commit whose
// outcome is unknown) ends run with its error, stops the other cycles and starts no new one,
// and calls onFatal once.
func TestSchedulerFatalStopsAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newPool(time.Second)
		s := newScheduler(4, nil)
		fatals := 0
		s.onFatal = func() { fatals++ }
		ps := poolPollers(t, w, 50, time.Minute)
		bad := ps[7]
		bad.api = fixedPage{`{"InvoiceID":"a","UpdatedDateUTC":"/Date(1700000000000+0000)/"}`}
		bad.out = committerFunc(func(context.Context, []*kgo.Record) error {
			return fmt.Errorf("%w: injected", errOutcomeUnknown)
		})
		for i, p := range ps {
			p.startDelay = time.Duration(i) * time.Second
			s.add(p)
		}
		done := make(chan error, 1)
		go func() { done <- s.run(context.Background()) }()
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Hour):
			t.Fatal("run did not end after a fatal error")
		}
		if !errors.Is(err, errOutcomeUnknown) || fatals != 1 {
			t.Fatalf("run: %v, onFatal called %d times; want the unknown outcome, once", err, fatals)
		}
		called := func() int {
			n := 0
			for _, p := range ps {
				n += len(w.callsOf(p.tenant))
			}
			return n
		}
		before := called()
		time.Sleep(time.Hour)
		if after := called(); after != before || before > 12 {
			t.Errorf("%d calls before the end, %d an hour after; want no more than the 4 workers' few, and none after", before, after)
		}
	})
}
