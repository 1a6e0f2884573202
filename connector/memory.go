package connector

import (
	"container/list"
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// pageBudget bounds the bytes of the pages read from Xero and not yet committed, over every
// organisation and stream. A poller reserves an estimate before it calls Xero, resizes the
// reservation to what the page really holds once it is read, and releases it when the page's
// records are committed (or the cycle ends). Reservations are granted in the order they were
// asked for, so a stream with large pages is never overtaken for ever by small ones, and a
// reservation larger than the whole limit is granted once nothing else is held.
//
// A held reservation grows without waiting (resize): a poller that waited while holding could
// wait for another that waits for it. The total may so pass the limit by the difference between
// the estimates and the pages' sizes; no new reservation is granted until it is back under.
//
// golang.org/x/sync/semaphore is FIFO too, but it cannot grow a held weight past its size nor
// grant a weight larger than its size, which this budget needs.
//
// A nil *pageBudget has no limit.
type pageBudget struct {
	limit int64
	// held reports the bytes reserved (nil: not reported).
	held prometheus.Gauge

	mu      sync.Mutex
	used    int64
	waiters list.List // of *budgetWaiter, oldest first
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed when granted
}

// pageLease is one poller's reservation. Its methods are not safe for concurrent use: a lease
// belongs to one poller.
type pageLease struct {
	b *pageBudget
	n int64
}

// Per-page figures of the budget.
const (
	// defaultPageEstimate is reserved for a stream's first page, before its size is known.
	defaultPageEstimate = 64 << 10
	// minPageCharge is the least a page is counted for: its response, decoder and records
	// cost some memory however few records it has (the body itself is read into a buffer of
	// its size).
	minPageCharge = 4 << 10
)

// newPageBudget returns a budget of limit bytes; limit <= 0 means no limit (nil).
func newPageBudget(limit int64, held prometheus.Gauge) *pageBudget {
	if limit <= 0 {
		return nil
	}
	return &pageBudget{limit: limit, held: held}
}

// reserve waits until n bytes fit under the limit (or nothing else is held) and every earlier
// reservation has been granted, then returns the lease. It returns ctx's error if ctx ends first.
func (b *pageBudget) reserve(ctx context.Context, n int64) (*pageLease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n = max(n, minPageCharge)
	if b == nil {
		return &pageLease{n: n}, nil
	}
	b.mu.Lock()
	if b.waiters.Len() == 0 && b.fits(n) {
		b.add(n)
		b.mu.Unlock()
		return &pageLease{b: b, n: n}, nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	elem := b.waiters.PushBack(w)
	b.mu.Unlock()

	select {
	case <-w.ready:
		return &pageLease{b: b, n: n}, nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready:
			// Granted meanwhile: give it back.
			b.add(-n)
		default:
			b.waiters.Remove(elem)
		}
		b.grant() // the waiters behind this one may fit now
		b.mu.Unlock()
		return nil, ctx.Err()
	}
}

// fits reports whether n more bytes may be granted. b.mu is held.
func (b *pageBudget) fits(n int64) bool {
	return b.used == 0 || b.used+n <= b.limit
}

// add changes the bytes held by n. b.mu is held.
func (b *pageBudget) add(n int64) {
	b.used += n
	if b.held != nil {
		b.held.Set(float64(b.used))
	}
}

// grant hands out the waiting reservations, oldest first, while they fit. b.mu is held.
func (b *pageBudget) grant() {
	for e := b.waiters.Front(); e != nil; e = b.waiters.Front() {
		w := e.Value.(*budgetWaiter)
		if !b.fits(w.n) {
			return
		}
		b.add(w.n)
		b.waiters.Remove(e)
		close(w.ready)
	}
}

// usedBytes returns the bytes held.
func (b *pageBudget) usedBytes() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// resize sets the lease to n bytes (at least minPageCharge) without waiting.
func (l *pageLease) resize(n int64) {
	n = max(n, minPageCharge)
	if l.b == nil || n == l.n {
		l.n = n
		return
	}
	l.b.mu.Lock()
	l.b.add(n - l.n)
	if n < l.n {
		l.b.grant()
	}
	l.b.mu.Unlock()
	l.n = n
}

// release gives the lease's bytes back.
func (l *pageLease) release() {
	if l.b != nil {
		l.b.mu.Lock()
		l.b.add(-l.n)
		l.b.grant()
		l.b.mu.Unlock()
	}
	l.b, l.n = nil, 0
}

// holdPage makes sure the poller holds a reservation before it calls Xero: it waits for one of
// the size of the stream's last page when it holds none. A poller that holds one (pages read but
// not committed yet) goes on without waiting, and settlePage adds the next page to it.
func (p *poller) holdPage(ctx context.Context) error {
	if p.lease != nil {
		return nil
	}
	est := p.lastPage
	if est == 0 {
		est = defaultPageEstimate
	}
	l, err := p.mem.reserve(ctx, est)
	if err != nil {
		return err
	}
	p.lease, p.leaseBase = l, 0
	return nil
}

// settlePage counts a page of size bytes (its records' JSON) in the poller's reservation, in
// place of the estimate reserved for it.
func (p *poller) settlePage(size int64) {
	p.lastPage = max(size, minPageCharge)
	if p.lease == nil {
		return
	}
	// The page stays counted until the write that follows it is committed (pipeline.go).
	p.unsent += p.lastPage
	p.leaseBase += p.lastPage
	p.lease.resize(p.leaseBase)
}

// dropPages releases the poller's reservation: its pages are committed, or dropped.
func (p *poller) dropPages() {
	if p.lease != nil {
		p.lease.release()
		p.lease, p.leaseBase = nil, 0
	}
}

// pageSize is the bytes of a page's records.
func pageSize(recs []item) int64 {
	var n int64
	for _, it := range recs {
		n += int64(len(it.raw))
	}
	return n
}
