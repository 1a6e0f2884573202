package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
)

// ErrFenced means another instance with the same transactional id took over: its startup
// fenced this one's producer. The connector stops at once, before any further Xero call.
var ErrFenced = offsets.ErrFenced

// errWriterStopped answers a commit asked for after the writer stopped.
var errWriterStopped = errors.New("transactional writer stopped")

// writer commits records in Kafka transactions on the connector's single transactional producer.
//
// Pollers hand it the records of a page together with their new bookmark; the writer queues the
// requests that arrive while a transaction runs and commits them together in the next one (one
// commit round trip for many pages), bounded by records (maxRecords) and bytes (maxGroupBytes),
// and answers every request of the group with the transaction's outcome. A request is committed
// entirely or not at all, so a poller moves its bookmark only after a nil answer.
//
// A group that is not full and whose chain has said that its next request is coming waits for
// it, up to groupHold after the group's first request was sent: a broker spends on each
// transaction (its produce and commit requests, its markers on every partition touched) about
// what it spends on hundreds of records, so fewer, larger transactions cost it less per record.
// The last request of a cycle does not wait.
//
// A poller may hand over its next page before the answer for the last one (a pipeline); such
// requests carry the poller's chain. Each page's bookmark is a change from the page before it,
// so once a transaction fails the writer refuses, without producing them, the chain's requests
// still queued and any that arrive later: the poller starts a new chain from its committed
// bookmark.
type writer struct {
	cl txnProducer
	// reqs is unbuffered: a request is taken only by a running writer, which answers every
	// request it took, so nobody waits on an answer that will never come.
	reqs chan *commitReq
	// stopped is closed when run returns; err is then the reason.
	stopped chan struct{}
	err     error
	// committed counts the transactions committed.
	committed atomic.Int64
	// maxRecords and maxGroupBytes bound one transaction, keeping transactions short; a single
	// request larger than either goes alone.
	maxRecords    int
	maxGroupBytes int
	// groupWait is how long an idle writer waits for more requests to join the first one
	// before it begins a transaction.
	groupWait time.Duration
	// groupHold is how long, from its first request's send, a group that is not full waits while
	// a chain of it has said that its next request is coming; holdRecords ends that wait once
	// the group holds as many records.
	groupHold   time.Duration
	holdRecords int
	// txnTimeout bounds one transaction's produce and commit, whatever happens to the run context.
	txnTimeout time.Duration
	log        *slog.Logger
	metrics    *metrics
}

type commitReq struct {
	recs  []*kgo.Record
	bytes int
	// chain links the requests of one poller's pipeline (nil: a request on its own); more says
	// that the chain's next request is coming.
	chain *chain
	more  bool
	start time.Time
	done  chan error
}

// chain is the sequence of requests of one poller in which each request's bookmark is a change
// from the one before. Only the writer's goroutine reads or sets its fields.
type chain struct {
	broken bool
	// more is the more of the chain's last request taken.
	more bool
}

// errChainBroken answers a request queued behind a failed transaction of its chain: it was not
// produced.
var errChainBroken = errors.New("not written: an earlier transaction of the same stream failed")

// Bounds of a transaction besides the records.
const (
	// maxGroupBytes bounds the keys and values of one transaction.
	maxGroupBytes = 16 << 20
	// defaultGroupWait lets the pages of a stream that arrive together share a transaction
	// when the writer was idle; while a transaction runs, the next group gathers anyway.
	defaultGroupWait = time.Millisecond
	// defaultGroupHold bounds how long a group waits for the next page of a stream that has
	// more: two or three pages of a thousand invoices, read and transcoded, on a slow core. The
	// pipeline has room for several such pages (pipelineRecords), so the stream reads on while
	// its group waits. On a 2-core machine beside a real broker, 50 ms rather than 20 cut a
	// first sync of 100,000 invoices from 94 transactions to 40 and of 200,000 journals from
	// 158 to 67, and the broker's CPU per record by about half.
	defaultGroupHold = 50 * time.Millisecond
)

// txnProducer is the transactional side of *kgo.Client that the writer uses.
type txnProducer interface {
	BeginTransaction() error
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
	EndTransaction(ctx context.Context, commit kgo.TransactionEndTry) error
}

func newWriter(cl txnProducer, maxRecords int, txnTimeout time.Duration, log *slog.Logger, m *metrics) *writer {
	return &writer{
		cl:            cl,
		reqs:          make(chan *commitReq),
		stopped:       make(chan struct{}),
		maxRecords:    maxRecords,
		maxGroupBytes: maxGroupBytes,
		groupWait:     defaultGroupWait,
		groupHold:     defaultGroupHold,
		holdRecords:   pipelineRecords / 2,
		txnTimeout:    txnTimeout,
		log:           log,
		metrics:       m,
	}
}

// commit writes recs in a transaction and returns its outcome. It returns an error without
// writing when ctx ends before the writer takes the request or the writer has stopped; once
// taken, the request's transaction runs to its end and commit waits for it.
func (w *writer) commit(ctx context.Context, recs []*kgo.Record) error {
	done, err := w.send(ctx, nil, recs, false)
	if err != nil {
		return err
	}
	return <-done
}

// send hands recs to the writer as the next request of chain c (nil: none) and returns the
// channel that will carry its answer; it waits only until the writer takes the request. more
// says that c's next request is coming: the transaction of this one may wait for it. It
// returns an error, and nothing is written, when ctx ends first or the writer has stopped.
func (w *writer) send(ctx context.Context, c *chain, recs []*kgo.Record, more bool) (<-chan error, error) {
	req := &commitReq{recs: recs, bytes: recordBytes(recs), chain: c, more: more && c != nil, start: time.Now(), done: make(chan error, 1)}
	w.metrics.inFlight.Add(float64(len(recs)))
	var err error
	select {
	case w.reqs <- req:
		return req.done, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-w.stopped:
		err = w.stopReason()
	}
	w.metrics.inFlight.Sub(float64(len(recs)))
	return nil, err
}

// stopReason is the answer to a request the stopped writer did not produce. w.stopped is closed.
func (w *writer) stopReason() error {
	if w.err != nil {
		return w.err
	}
	return errWriterStopped
}

// answer gives r its outcome.
func (w *writer) answer(r *commitReq, err error) {
	w.metrics.inFlight.Sub(float64(len(r.recs)))
	w.metrics.observeCommit(r.start)
	r.done <- err
}

// recordBytes is the size of the keys and values of recs.
func recordBytes(recs []*kgo.Record) int {
	n := 0
	for _, r := range recs {
		n += len(r.Key) + len(r.Value)
	}
	return n
}

// txnDone is the outcome of a transaction run by transact.
type txnDone struct {
	group []*commitReq
	err   error
}

// run takes requests until ctx ends (a soft stop: the transaction under way finishes first) or
// the producer is fenced or broken, which it returns. Requests it took and did not produce are
// answered with the reason it stopped.
func (w *writer) run(ctx context.Context) (err error) {
	var queue []*commitReq
	results := make(chan txnDone, 1)
	running := false
	var wait *time.Timer // the idle writer's wait for a group to gather
	var hold *time.Timer // the wait of a group for the next request of a chain
	defer func() {
		if wait != nil {
			wait.Stop()
		}
		if hold != nil {
			hold.Stop()
		}
		w.err = err
		close(w.stopped)
		for _, r := range queue {
			w.answer(r, w.stopReason())
		}
	}()
	for {
		if ctx.Err() != nil {
			// A soft stop: begin nothing more.
			if running {
				return w.finish(<-results, &queue)
			}
			return nil
		}
		if !running && len(queue) > 0 && (w.full(queue) || wait == nil && !w.holding(queue, &hold)) {
			if wait != nil {
				wait.Stop()
				wait = nil
			}
			if hold != nil {
				hold.Stop()
				hold = nil
			}
			var group []*commitReq
			group, queue = w.group(queue)
			running = true
			go func() { results <- txnDone{group: group, err: w.transact(group)} }()
		}
		var waited, held <-chan time.Time
		if wait != nil {
			waited = wait.C
		}
		if hold != nil {
			held = hold.C
		}
		select {
		case <-ctx.Done():
			if running {
				return w.finish(<-results, &queue)
			}
			return nil
		case r := <-w.reqs:
			if r.chain != nil && r.chain.broken {
				w.answer(r, errChainBroken)
				continue
			}
			if r.chain != nil {
				r.chain.more = r.more
			}
			queue = append(queue, r)
			if !running && len(queue) == 1 && w.groupWait > 0 {
				wait = time.NewTimer(w.groupWait)
			}
		case <-waited:
			wait = nil
		case <-held:
			hold = nil
		case res := <-results:
			running = false
			if err := w.finish(res, &queue); err != nil {
				return err
			}
		}
	}
}

// holding reports whether the next group waits for a request still to come: a chain of the
// queue has said that its next request is coming, the oldest request was sent less than
// groupHold ago, and the queue holds fewer than holdRecords records. It keeps *t, the timer of
// the hold, running to the hold's end (nil when it does not hold; a timer that fired is set to
// nil by the run loop).
//
// holdRecords is half a poller's pipeline (pipelineRecords): a group of one stream that held
// until its pipeline was full would leave the poller nothing to do but wait while it commits.
func (w *writer) holding(queue []*commitReq, t **time.Timer) bool {
	left := w.groupHold - time.Since(queue[0].start)
	n, _ := queued(queue)
	more := slices.ContainsFunc(queue, func(r *commitReq) bool { return r.chain != nil && r.chain.more })
	if !more || left <= 0 || n >= w.holdRecords {
		return false
	}
	if *t == nil {
		*t = time.NewTimer(left)
	}
	return true
}

// full reports whether the queue fills a transaction.
func (w *writer) full(queue []*commitReq) bool {
	n, b := queued(queue)
	return n >= w.maxRecords || b >= w.maxGroupBytes
}

// queued returns the records and the bytes of the requests of queue.
func queued(queue []*commitReq) (records, bytes int) {
	for _, r := range queue {
		records, bytes = records+len(r.recs), bytes+r.bytes
	}
	return records, bytes
}

// group splits the next transaction's requests off the queue: the oldest, and those after it
// while they fit the bounds.
func (w *writer) group(queue []*commitReq) (group, rest []*commitReq) {
	n, b := len(queue[0].recs), queue[0].bytes
	i := 1
	for ; i < len(queue); i++ {
		r := queue[i]
		if n+len(r.recs) > w.maxRecords || b+r.bytes > w.maxGroupBytes {
			break
		}
		n, b = n+len(r.recs), b+r.bytes
	}
	return queue[:i:i], queue[i:]
}

// finish answers the requests of a finished transaction. When it failed, their chains are broken:
// the queued requests of those chains are refused. It returns the error that stops the writer.
func (w *writer) finish(res txnDone, queue *[]*commitReq) error {
	for _, r := range res.group {
		w.answer(r, res.err)
	}
	if res.err == nil {
		return nil
	}
	for _, r := range res.group {
		if r.chain != nil {
			r.chain.broken = true
		}
	}
	kept := (*queue)[:0]
	for _, r := range *queue {
		if r.chain != nil && r.chain.broken {
			w.answer(r, errChainBroken)
			continue
		}
		kept = append(kept, r)
	}
	clear((*queue)[len(kept):])
	*queue = kept
	switch err := res.err; {
	case errors.Is(err, ErrFenced):
		w.log.Error("stopping: the producer was fenced by a newer instance", "transactional_id_error", err)
		return err
	case errors.Is(err, errProducerBroken), errors.Is(err, errOutcomeUnknown):
		return err
	default:
		w.log.Warn("transaction aborted; its pages will be read again", "requests", len(res.group), "err", err)
		return nil
	}
}

// errProducerBroken marks a producer that cannot begin another transaction.
var errProducerBroken = errors.New("transactional producer is in an unrecoverable state")

// errOutcomeUnknown marks a transaction whose commit was sent but whose answer never came: it
// may or may not have been committed. The writer stops; the connector reloads the state to find
// out (Connector.run).
var errOutcomeUnknown = errors.New("the outcome of a transaction commit is unknown")

// transact produces the records of group in one transaction and commits it, or aborts it.
//
// The context of the produce and the commit is not the run context: cancelling an EndTxn in
// flight would leave its outcome unknown (kgo's EndTransaction documentation), so a soft stop
// lets it finish and only txnTimeout cuts it short.
func (w *writer) transact(group []*commitReq) error {
	n := 0
	for _, r := range group {
		n += len(r.recs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.txnTimeout)
	defer cancel()
	start := time.Now()

	if err := w.cl.BeginTransaction(); err != nil {
		if isFenced(err) {
			return fmt.Errorf("%w: %v", ErrFenced, err)
		}
		return fmt.Errorf("%w: begin transaction: %v", errProducerBroken, err)
	}
	recs := make([]*kgo.Record, 0, n)
	for _, r := range group {
		recs = append(recs, r.recs...)
	}
	if err := w.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		w.metrics.transactions.WithLabelValues("aborted").Inc()
		// Nothing was asked to commit, so nothing can have been committed.
		abortErr := w.cl.EndTransaction(ctx, kgo.TryAbort)
		if isFenced(err) || isFenced(abortErr) {
			return fmt.Errorf("%w: %v", ErrFenced, errors.Join(err, abortErr))
		}
		return fmt.Errorf("produce %d records: %w", len(recs), errors.Join(err, abortErr))
	}
	if err := w.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		w.metrics.transactions.WithLabelValues("aborted").Inc()
		if isFenced(err) {
			return fmt.Errorf("%w: %v", ErrFenced, err)
		}
		if !definitive(err) {
			// The request may have reached the coordinator and the transaction may be
			// committed: aborting now cannot undo that, and calling it aborted would have the
			// pollers write its pages again. Only the state topic can tell.
			return fmt.Errorf("%w: commit transaction of %d records: %v", errOutcomeUnknown, len(recs), err)
		}
		// The broker refused the commit (or it was not attempted): nothing was committed.
		// An abort clears the transaction for the next one.
		if abortErr := w.cl.EndTransaction(ctx, kgo.TryAbort); abortErr != nil {
			if isFenced(abortErr) {
				return fmt.Errorf("%w: %v", ErrFenced, errors.Join(err, abortErr))
			}
			return fmt.Errorf("%w: commit transaction of %d records refused (%v), then its abort failed: %v", errProducerBroken, len(recs), err, abortErr)
		}
		return fmt.Errorf("commit transaction of %d records: %w", len(recs), err)
	}
	w.committed.Add(1)
	w.metrics.transactions.WithLabelValues("committed").Inc()
	w.metrics.transactionSeconds.Observe(time.Since(start).Seconds())
	return nil
}

// definitive reports whether a failed EndTxn commit is known not to have committed: the broker
// answered with an error that is not a transient one, or kgo did not attempt the commit at all
// (OperationNotAttempted). A transport error, a timeout, a retriable error that outlived kgo's
// retries or UNKNOWN_SERVER_ERROR leaves the outcome unknown.
func definitive(err error) bool {
	var ke *kerr.Error
	return errors.As(err, &ke) && !ke.Retriable && ke.Code != kerr.UnknownServerError.Code
}

// isFenced reports whether err means a newer producer with the same transactional id exists.
func isFenced(err error) bool {
	return err != nil && (offsets.IsFenced(err) ||
		errors.Is(err, kerr.ProducerFenced) ||
		errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed))
}
