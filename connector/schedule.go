package connector

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xero"
)

// The scheduler runs the pollers of a session. A poller is a value, not a goroutine: the
// scheduler keeps the pollers waiting for their next cycle in a heap ordered by the time each is
// due, and one goroutine hands the due ones, earliest first, to a bounded pool of workers. A
// worker runs one cycle of one poller (step) and gives the poller back with the time of its next
// cycle. Among pollers that are due, the one due first runs first, so no stream waits behind
// streams that became due after it. A poller is in the heap or with one worker, never both, so its
// cycles never overlap.
//
// A fatal error of a cycle (fenced, the refresh token rejected, the writer broken, a commit whose
// outcome is unknown) stops every worker and ends run with that error; a stop (ctx ending) lets
// the cycles under way end as they do on a soft stop, and run returns nil.

// loop is what a poller carries from one of its cycles to the next.
type loop struct {
	// backoff is the wait after the next failure.
	backoff time.Duration
	// warnedRemoved and warnedStall: said once, not at every cycle.
	warnedRemoved, warnedStall bool
	// refused is set while Xero refuses the stream (a missing scope, journals below the
	// Advanced tier).
	refused bool
}

// task is a poller in the scheduler.
type task struct {
	p    *poller
	loop loop
	// due is when its next cycle may start; seq orders tasks due at the same time by when
	// they were queued.
	due time.Time
	seq uint64
	// index is its place in the heap, -1 while a worker runs it.
	index int
	// woken is set when a reset arrives while a worker runs it: its next cycle is due at once.
	woken bool
}

// taskHeap orders tasks by due time, then by the order they were queued (container/heap).
type taskHeap []*task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h taskHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *taskHeap) Push(x any) {
	t := x.(*task)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// scheduler runs cycles of many pollers on at most workers goroutines. Make one with
// newScheduler, add the pollers and call run once.
type scheduler struct {
	workers int
	now     func() time.Time
	// onFatal, when set, is called with the first fatal error, before the workers have
	// stopped: the session stops its writer and watch at the same moment as the pollers.
	onFatal func()

	kick chan struct{} // wakes the dispatching loop

	mu    sync.Mutex
	queue taskHeap
	byID  map[offsets.BookmarkID]*task
	seq   uint64
	idle  int
	err   error
}

// newScheduler returns a scheduler of at most workers goroutines (at least one) on the clock now
// (nil: time.Now).
func newScheduler(workers int, now func() time.Time) *scheduler {
	if now == nil {
		now = time.Now
	}
	return &scheduler{
		workers: max(workers, 1),
		now:     now,
		kick:    make(chan struct{}, 1),
		byID:    make(map[offsets.BookmarkID]*task),
	}
}

// add queues p, its first cycle due after its start delay (stagger.go). Call it before run.
func (s *scheduler) add(p *poller) {
	t := &task{p: p, loop: loop{backoff: firstRetry, refused: p.status.missingScope() != ""}} // as an earlier session left it
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[offsets.BookmarkID{Tenant: p.tenant, Stream: p.stream.Name}] = t
	s.push(t, s.now().Add(p.startDelay))
}

// push queues t, due at due; s.mu is held.
func (s *scheduler) push(t *task, due time.Time) {
	s.seq++
	t.due, t.seq = due, s.seq
	heap.Push(&s.queue, t)
}

// wake makes the next cycle of (tenant, stream) due at once: an operator asked to read it
// again. A poller whose cycle runs starts the next one as soon as it ends. Unknown pairs are
// ignored. It is safe to call from any goroutine, before and during run.
func (s *scheduler) wake(tenant, stream string) {
	s.mu.Lock()
	t, ok := s.byID[offsets.BookmarkID{Tenant: tenant, Stream: stream}]
	if ok {
		if t.index < 0 {
			t.woken = true
		} else if now := s.now(); t.due.After(now) {
			s.seq++
			t.due, t.seq = now, s.seq
			heap.Fix(&s.queue, t.index)
		}
	}
	s.mu.Unlock()
	if ok {
		s.poke()
	}
}

func (s *scheduler) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// run runs the pollers' cycles until ctx ends (it returns nil) or a cycle fails for the
// connector as a whole (it returns that error). Either way it returns once every worker has
// stopped.
func (s *scheduler) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	n := min(s.workers, len(s.queue))
	s.idle = n
	s.mu.Unlock()
	work := make(chan *task, n) // never full: a task is sent only to an idle worker
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for t := range work {
				s.finish(t, cancel, t.step(ctx))
			}
		})
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var due <-chan time.Time
		if next := s.dispatch(work); next >= 0 {
			timer.Reset(next) // since Go 1.23, no value of an earlier arming is left to read
			due = timer.C
		}
		select {
		case <-ctx.Done():
			timer.Stop()
			close(work)
			wg.Wait()
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.err
		case <-s.kick:
		case <-due:
		}
	}
}

// dispatch hands every due task it can to an idle worker, earliest first, and returns the wait
// until the next task is due; -1 when no worker is idle or nothing waits.
func (s *scheduler) dispatch(work chan<- *task) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for s.idle > 0 && len(s.queue) > 0 && !s.queue[0].due.After(now) {
		t := heap.Pop(&s.queue).(*task)
		s.idle--
		work <- t
	}
	if s.idle == 0 || len(s.queue) == 0 {
		return -1
	}
	return s.queue[0].due.Sub(now)
}

// finish takes back t after its cycle: queued again at its next due time, or, after a fatal
// error, kept out while everything stops.
func (s *scheduler) finish(t *task, cancel context.CancelFunc, o outcome) {
	s.mu.Lock()
	s.idle++
	switch {
	case o.err != nil:
		if s.err == nil {
			s.err = o.err
			if s.onFatal != nil {
				s.onFatal()
			}
		}
		cancel()
	case o.stopped:
	default:
		due := s.now().Add(o.wait)
		if t.woken {
			due, t.woken = s.now(), false
		}
		s.push(t, due)
	}
	s.mu.Unlock()
	s.poke()
}

// outcome is how one cycle ended: the wait before the next, or a stop, or an error that ends
// the session.
type outcome struct {
	wait    time.Duration
	stopped bool
	err     error
}

// step runs one cycle of t's poller, applying the operator's resets first, records how it went
// and decides when the next is due: the plan's interval after a good cycle, a growing backoff
// after failures, the time Xero names after its day limit, a long pause while Xero refuses the
// endpoint.
func (t *task) step(ctx context.Context) outcome {
	p, l := t.p, &t.loop
	if ctx.Err() != nil {
		return outcome{stopped: true}
	}
	p.status.begin(p.now())
	p.openWriter()
	err := p.applyResets(ctx)
	if err == nil {
		err = p.cycle(ctx)
	}
	p.parkWriter()
	p.packBookmark()
	p.build.dropHeaderValues()
	p.dropPages()
	if ctx.Err() != nil {
		return outcome{stopped: true}
	}
	removed := p.stream.Removed && errors.Is(err, xero.ErrNotFound)
	if removed {
		// Nothing to read is a complete read: the stream is caught up, and says why it is
		// empty.
		p.status.end(p.now(), nil)
		p.status.warn("Xero has removed " + p.stream.Path + " (404): the topic stays empty")
	} else {
		p.status.end(p.now(), err)
	}
	wait := p.plan.next(err == nil, p.interval)
	switch {
	case err == nil:
		l.backoff = firstRetry
		if l.refused {
			p.grant()
			l.refused = false
		}
		p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "ok").Inc()
	case fatal(err):
		return outcome{err: fmt.Errorf("tenant %s: %s: %w", p.tenant, p.stream.Name, err)}
	case errors.Is(err, xero.ErrDayLimit):
		wait = retryAfter(err, time.Hour)
		p.status.pause(p.now().Add(wait))
		p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "day_limit").Inc()
		p.log.Warn("Xero's daily call limit for this organisation is used up; pausing the stream until it resets", "resume_in", wait.Round(time.Second))
	case xero.IsRefused(err):
		wait = p.fixed.refusedFor
		p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "refused").Inc()
		p.refuse(err, !l.refused)
		l.refused = true
	case removed:
		p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "removed").Inc()
		if !l.warnedRemoved {
			p.log.Warn("Xero has removed this endpoint; the stream stays empty and is checked again later", "path", p.stream.Path)
			l.warnedRemoved = true
		}
	case errors.As(err, new(*stallError)):
		// The server answers in a way the strategy cannot make progress with: reading on
		// would read the same pages again. Back off as after an error, and say so once.
		p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "stalled").Inc()
		if !l.warnedStall {
			p.log.Warn("sync cycle stopped without progress; retrying with backoff", "err", err)
			l.warnedStall = true
		}
		wait = l.backoff
		l.backoff = min(2*l.backoff, lastRetry)
	default:
		p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "error").Inc()
		wait = l.backoff
		if ra := retryAfter(err, 0); ra > wait {
			wait = ra
		}
		l.backoff = min(2*l.backoff, lastRetry)
		p.log.Warn("sync cycle failed; retrying from the last committed bookmark", "retry_in", wait, "err", err)
	}
	return outcome{wait: wait}
}
