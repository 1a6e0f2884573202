package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
// Pollers hand it the records of a page together with their new bookmark and wait for the
// answer; the writer groups the requests that are waiting at the same moment into one
// transaction (one commit round trip for many pages) and answers every request of the group
// with the transaction's outcome. A request is committed entirely or not at all, so a poller
// moves its in-memory bookmark only after a nil answer.
type writer struct {
	cl txnProducer
	// reqs is unbuffered: a request is taken only when the writer is ready for it, so after the
	// writer stops nobody waits on an answer that will never come.
	reqs chan *commitReq
	// stopped is closed when run returns; err is then the reason.
	stopped chan struct{}
	err     error
	// committed counts the transactions committed.
	committed atomic.Int64
	// maxRecords bounds the records of one transaction, keeping transactions short.
	maxRecords int
	// txnTimeout bounds one transaction's produce and commit, whatever happens to the run context.
	txnTimeout time.Duration
	log        *slog.Logger
	metrics    *metrics
}

type commitReq struct {
	recs []*kgo.Record
	done chan error
}

// txnProducer is the transactional side of *kgo.Client that the writer uses.
type txnProducer interface {
	BeginTransaction() error
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
	EndTransaction(ctx context.Context, commit kgo.TransactionEndTry) error
}

func newWriter(cl txnProducer, maxRecords int, txnTimeout time.Duration, log *slog.Logger, m *metrics) *writer {
	return &writer{
		cl:         cl,
		reqs:       make(chan *commitReq),
		stopped:    make(chan struct{}),
		maxRecords: maxRecords,
		txnTimeout: txnTimeout,
		log:        log,
		metrics:    m,
	}
}

// commit writes recs in a transaction and returns its outcome. It returns an error without
// writing when ctx ends before the writer takes the request or the writer has stopped; once
// taken, the request's transaction runs to its end and commit waits for it.
func (w *writer) commit(ctx context.Context, recs []*kgo.Record) error {
	w.metrics.inFlight.Add(float64(len(recs)))
	defer w.metrics.inFlight.Sub(float64(len(recs)))
	defer w.metrics.observeCommit(time.Now())
	req := &commitReq{recs: recs, done: make(chan error, 1)}
	select {
	case w.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stopped:
		if w.err != nil {
			return w.err
		}
		return errWriterStopped
	}
	return <-req.done
}

// run takes requests until ctx ends (a soft stop: the transaction under way finishes first) or
// the producer is fenced or broken, which it returns.
func (w *writer) run(ctx context.Context) (err error) {
	defer func() {
		w.err = err
		close(w.stopped)
	}()
	for {
		var group []*commitReq
		select {
		case <-ctx.Done():
			return nil
		case r := <-w.reqs:
			group = append(group, r)
		}
		n := len(group[0].recs)
	gather:
		for n < w.maxRecords {
			select {
			case r := <-w.reqs:
				group = append(group, r)
				n += len(r.recs)
			default:
				break gather
			}
		}
		err := w.transact(group, n)
		for _, r := range group {
			r.done <- err
		}
		switch {
		case err == nil:
		case errors.Is(err, ErrFenced):
			w.log.Error("stopping: the producer was fenced by a newer instance", "transactional_id_error", err)
			return err
		case errors.Is(err, errProducerBroken), errors.Is(err, errOutcomeUnknown):
			return err
		default:
			w.log.Warn("transaction aborted; its pages will be read again", "requests", len(group), "records", n, "err", err)
		}
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
func (w *writer) transact(group []*commitReq, n int) error {
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
