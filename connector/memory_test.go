package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xero"
)

// u is the size unit of these tests: 16 u is the least a page is counted for.
const u = minPageCharge / 16

// reserveAsync asks for n bytes in a goroutine and returns the channel its lease arrives on.
func reserveAsync(ctx context.Context, b *pageBudget, n int64) <-chan *pageLease {
	ch := make(chan *pageLease, 1)
	go func() {
		l, err := b.reserve(ctx, n)
		if err != nil {
			close(ch)
			return
		}
		ch <- l
	}()
	return ch
}

// granted reports whether a lease has arrived on ch, once every goroutine of the bubble waits.
func granted(ch <-chan *pageLease) (*pageLease, bool) {
	synctest.Wait()
	select {
	case l, ok := <-ch:
		return l, ok
	default:
		return nil, false
	}
}

// TestPageBudgetFIFO: reservations are granted in the order asked, a small one never overtakes
// a large one that waits, and a release grants as many waiting ones as fit.
func TestPageBudgetFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newPageBudget(64*u, nil)
		a, err := b.reserve(t.Context(), 48*u)
		if err != nil {
			t.Fatal(err)
		}
		big := reserveAsync(t.Context(), b, 32*u)
		synctest.Wait() // big queues first
		small := reserveAsync(t.Context(), b, 16*u)
		if _, ok := granted(big); ok {
			t.Fatal("32 u granted with 48 of 64 u held")
		}
		if _, ok := granted(small); ok {
			t.Fatal("16 u fits, but was granted before the 32 u asked earlier")
		}
		a.release()
		lb, okb := granted(big)
		ls, oks := granted(small)
		if !okb || !oks {
			t.Fatalf("after the release: 32 u granted %v, 16 u granted %v; want both (48 of 64 u)", okb, oks)
		}
		if got := b.usedBytes(); got != 48*u {
			t.Errorf("held %d bytes, want %d", got, 48*u)
		}
		lb.release()
		ls.release()
		if got := b.usedBytes(); got != 0 {
			t.Errorf("held %d bytes after every release, want 0", got)
		}
	})
}

// TestPageBudgetLargerThanLimit: a reservation larger than the limit waits until nothing else
// is held, then goes on alone.
func TestPageBudgetLargerThanLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newPageBudget(64*u, nil)
		a, _ := b.reserve(t.Context(), 16*u)
		huge := reserveAsync(t.Context(), b, 1<<20)
		if _, ok := granted(huge); ok {
			t.Fatal("1 MiB granted beside another reservation under a 64 u limit")
		}
		after := reserveAsync(t.Context(), b, 16*u)
		a.release()
		l, ok := granted(huge)
		if !ok {
			t.Fatal("1 MiB not granted once nothing else was held")
		}
		if _, ok := granted(after); ok {
			t.Fatal("a reservation was granted beside the one larger than the limit")
		}
		l.release()
		if _, ok := granted(after); !ok {
			t.Fatal("the reservation behind the large one was not granted after its release")
		}
	})
}

// TestPageBudgetCancel: a reservation whose context ends stops waiting with the context's error
// and does not hold up those behind it.
func TestPageBudgetCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newPageBudget(64*u, nil)
		a, _ := b.reserve(t.Context(), 32*u)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			_, err := b.reserve(ctx, 64*u)
			errc <- err
		}()
		synctest.Wait()
		behind := reserveAsync(t.Context(), b, 32*u)
		if _, ok := granted(behind); ok {
			t.Fatal("granted ahead of an earlier reservation")
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled reservation: %v, want context.Canceled", err)
		}
		if _, ok := granted(behind); !ok {
			t.Fatal("the reservation behind a cancelled one was not granted (32 + 32 of 64 u)")
		}
		a.release()
	})
}

// TestPageBudgetResize: a lease grows past the limit without waiting; new reservations wait
// until the total is back under the limit, and shrinking grants them.
func TestPageBudgetResize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newPageBudget(64*u, nil)
		a, _ := b.reserve(t.Context(), 32*u)
		a.resize(100 * u) // the page was larger than estimated
		if got := b.usedBytes(); got != 100*u {
			t.Fatalf("held %d bytes after resizing, want %d", got, 100*u)
		}
		next := reserveAsync(t.Context(), b, 16*u)
		if _, ok := granted(next); ok {
			t.Fatal("granted while the total is over the limit")
		}
		a.resize(20 * u)
		if _, ok := granted(next); !ok {
			t.Fatal("not granted after the lease shrank to 20 of 64 u")
		}
	})
}

// TestPageBudgetNoStarvation: pollers of different page sizes that keep asking each get their
// turns; none waits for ever behind the others.
func TestPageBudgetNoStarvation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newPageBudget(256*u, nil)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		sizes := []int64{16 * u, 16 * u, 16 * u, 64 * u, 200 * u, 1 << 20}
		turns := make([]int, len(sizes))
		var wg sync.WaitGroup
		for i, n := range sizes {
			wg.Go(func() {
				for {
					l, err := b.reserve(ctx, n)
					if err != nil {
						return
					}
					turns[i]++
					time.Sleep(100 * time.Millisecond) // fetch, build, commit
					l.release()
				}
			})
		}
		wg.Wait()
		for i, n := range sizes {
			// A minute of 100 ms turns: each waits at most one turn of every other poller.
			if turns[i] < 60/len(sizes) {
				t.Errorf("poller of %d u pages had %d turns in a minute; turns of all: %v", n/u, turns[i], turns)
			}
		}
	})
}

// slowWriter commits one transaction at a time, each taking a second, and records the page
// memory held when each commit begins. Its lock is a channel: a goroutine waiting on a channel
// lets synctest's clock advance, one waiting on a mutex does not.
type slowWriter struct {
	turn   chan struct{} // holds a token while a commit runs
	budget *pageBudget
	peak   int64
	n      int
}

func (w *slowWriter) commit(context.Context, []*kgo.Record) error {
	w.turn <- struct{}{}
	defer func() { <-w.turn }()
	w.peak = max(w.peak, w.budget.usedBytes())
	w.n++
	time.Sleep(time.Second)
	return nil
}

// TestPollersHoldPagesWithinBudget: many pollers queueing behind one slow writer hold no more
// page memory than the limit (plus the one page a held reservation may grow by), and all of it
// is released once their cycles end.
func TestPollersHoldPagesWithinBudget(t *testing.T) {
	// The state records' zstd encoder is built once per process, with goroutines of its own:
	// build it outside the bubble, where the other tests use it.
	if _, err := offsets.BookmarkRecords("state", "t", "linked_transactions", offsets.Bookmark{Hashes: bigHashes()}); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		var recs []string
		for i := range 50 {
			recs = append(recs, fmt.Sprintf(`{"InvoiceID":"i%d","UpdatedDateUTC":"/Date(17000000%05d+0000)/","Pad":%q}`, i, i, strings.Repeat("x", 900)))
		}
		page := fixedPage(recs) // about 48 KiB
		const limit = 4 * minPageCharge
		budget := newPageBudget(limit, nil)
		w := &slowWriter{turn: make(chan struct{}, 1), budget: budget}
		const pollers = 40
		var wg sync.WaitGroup
		for i := range pollers {
			p := newTestPoller(t, "invoices", page, w)
			p.tenant = fmt.Sprintf("t%d", i)
			p.mem = budget
			wg.Go(func() {
				if err := p.cycle(t.Context()); err != nil {
					t.Error(err)
				}
				p.dropPages()
			})
		}
		wg.Wait()
		if w.n != pollers {
			t.Fatalf("%d commits, want %d", w.n, pollers)
		}
		if w.peak > limit+defaultPageEstimate {
			t.Errorf("page memory held at a commit reached %d bytes; limit %d", w.peak, limit)
		}
		if w.peak < minPageCharge {
			t.Errorf("page memory held at a commit peaked at %d bytes: pages are not counted", w.peak)
		}
		if got := budget.usedBytes(); got != 0 {
			t.Errorf("%d bytes still held after every cycle ended", got)
		}
	})
}

// TestStartDelay: the delay of a (tenant, stream) is the same on every start, lies within the
// spread, and the delays of many pollers cover the spread.
func TestStartDelay(t *testing.T) {
	spread := startSpread(40000)
	if spread != maxStartSpread {
		t.Fatalf("spread of 40,000 pollers %v, want %v", spread, maxStartSpread)
	}
	if got := startSpread(26); got > 10*time.Millisecond {
		t.Errorf("one organisation's streams spread over %v: a small start should not wait", got)
	}
	var buckets [10]int
	for i := range 1000 {
		for _, s := range []string{"invoices", "contacts"} {
			tenant := fmt.Sprintf("tenant-%d", i)
			d := startDelay(tenant, s, spread)
			if d != startDelay(tenant, s, spread) {
				t.Fatal("the delay differs between two starts")
			}
			if d < 0 || d >= spread {
				t.Fatalf("delay %v outside [0, %v)", d, spread)
			}
			buckets[d*10/spread]++
		}
	}
	for i, n := range buckets {
		if n < 100 { // 200 expected in each tenth
			t.Errorf("tenth %d of the spread holds %d of 2,000 first calls: %v", i, n, buckets)
		}
	}
}

// bigHashes is a scan bookmark large enough to be stored compressed.
func bigHashes() map[string]uint64 {
	h := make(map[string]uint64, 2000)
	for i := range 2000 {
		h[fmt.Sprintf("id-%d", i)] = uint64(i) * 0x9e3779b97f4a7c15
	}
	return h
}

// pagedLinks answers page 1 with 100 linked transactions and page 2 with 10: a scan of two
// pages.
type pagedLinks struct{}

func (pagedLinks) List(_ context.Context, req xero.Request) (*xero.Page, error) {
	n := 100
	if req.Query.Get("page") == "2" {
		n = 10
	}
	pg := &xero.Page{}
	for i := range n {
		pg.Records = append(pg.Records, json.RawMessage(fmt.Sprintf(
			`{"LinkedTransactionID":"%s-%d","UpdatedDateUTC":"/Date(1700000000000+0000)/","Pad":%q}`, req.Query.Get("page"), i, strings.Repeat("x", 1000))))
	}
	return pg, nil
}

// usageAtCommit records the page memory held when a commit begins.
type usageAtCommit struct {
	budget *pageBudget
	held   []int64
}

func (u *usageAtCommit) commit(context.Context, []*kgo.Record) error {
	u.held = append(u.held, u.budget.usedBytes())
	return nil
}

// TestScanCountsEveryPageUntilCommit: a scan keeps the records of its pages until it commits
// them, so every page it read counts until then; then nothing does.
func TestScanCountsEveryPageUntilCommit(t *testing.T) {
	budget := newPageBudget(1<<30, nil)
	out := &usageAtCommit{budget: budget}
	p := newTestPoller(t, "linked_transactions", pagedLinks{}, out)
	p.mem = budget
	if err := p.cycle(t.Context()); err != nil {
		t.Fatal(err)
	}
	p.dropPages()
	if len(out.held) != 1 {
		t.Fatalf("%d commits, want 1", len(out.held))
	}
	if want := int64(110 * 1000); out.held[0] < want {
		t.Errorf("%d bytes held when the two pages were committed, want at least %d", out.held[0], want)
	}
	if got := budget.usedBytes(); got != 0 {
		t.Errorf("%d bytes held after the cycle", got)
	}
}
