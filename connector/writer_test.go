package connector

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fakeTxn is a transactional producer that records its transactions. gate, when set, holds the
// produce of the first transaction until it is closed; commitErr answers the commits.
type fakeTxn struct {
	mu        sync.Mutex
	begins    int
	ends      []kgo.TransactionEndTry
	txns      [][]*kgo.Record // the records of each committed transaction
	cur       []*kgo.Record
	gate      chan struct{}
	beginErr  error
	commitErr error
}

func (f *fakeTxn) BeginTransaction() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.beginErr != nil {
		return f.beginErr
	}
	f.begins++
	f.cur = nil
	return nil
}

func (f *fakeTxn) ProduceSync(_ context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	f.mu.Lock()
	first, gate := f.begins == 1, f.gate
	f.cur = append(f.cur, rs...)
	f.mu.Unlock()
	if first && gate != nil {
		<-gate
	}
	res := make(kgo.ProduceResults, len(rs))
	for i, r := range rs {
		res[i] = kgo.ProduceResult{Record: r}
	}
	return res
}

func (f *fakeTxn) EndTransaction(_ context.Context, try kgo.TransactionEndTry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ends = append(f.ends, try)
	if try == kgo.TryCommit {
		if f.commitErr != nil {
			return f.commitErr
		}
		f.txns = append(f.txns, f.cur)
	}
	return nil
}

func startWriter(t *testing.T, f *fakeTxn) (*writer, <-chan error) {
	t.Helper()
	w := newWriter(f, 1000, time.Minute, slog.New(slog.DiscardHandler), newMetrics(nil, false))
	done := make(chan error, 1)
	go func() { done <- w.run(t.Context()) }()
	return w, done
}

func recs(keys ...string) []*kgo.Record {
	out := make([]*kgo.Record, len(keys))
	for i, k := range keys {
		out[i] = &kgo.Record{Topic: "data", Key: []byte(k)}
	}
	return out
}

// TestWriterGroupsWaitingRequests: the requests that wait while a transaction runs are committed
// together in the next one, and each is answered.
func TestWriterGroupsWaitingRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTxn{gate: make(chan struct{})}
		w, _ := startWriter(t, f)
		errs := make(chan error, 3)
		go func() { errs <- w.commit(t.Context(), recs("a")) }()
		synctest.Wait() // the first transaction is producing, held by the gate
		go func() { errs <- w.commit(t.Context(), recs("b")) }()
		go func() { errs <- w.commit(t.Context(), recs("c", "d")) }()
		synctest.Wait() // both wait for the writer
		close(f.gate)
		for range 3 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.txns) != 2 || len(f.txns[0]) != 1 || len(f.txns[1]) != 3 {
			t.Fatalf("transactions %v, want [a] then b, c and d together", keysOf(f.txns))
		}
	})
}

func keysOf(txns [][]*kgo.Record) [][]string {
	var out [][]string
	for _, t := range txns {
		var ks []string
		for _, r := range t {
			ks = append(ks, string(r.Key))
		}
		out = append(out, ks)
	}
	return out
}

// TestWriterOutcomeUnknownEndsSession: a commit whose answer never came is neither retried nor
// aborted: the writer stops with errOutcomeUnknown and answers later requests with it, without
// beginning another transaction.
func TestWriterOutcomeUnknownEndsSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTxn{commitErr: context.DeadlineExceeded}
		w, done := startWriter(t, f)
		if err := w.commit(t.Context(), recs("a")); !errors.Is(err, errOutcomeUnknown) {
			t.Fatalf("commit: %v, want an unknown outcome", err)
		}
		if err := <-done; !errors.Is(err, errOutcomeUnknown) {
			t.Fatalf("run: %v, want an unknown outcome", err)
		}
		if err := w.commit(t.Context(), recs("b")); !errors.Is(err, errOutcomeUnknown) {
			t.Errorf("commit after the stop: %v, want the writer's reason", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.begins != 1 || len(f.ends) != 1 {
			t.Errorf("%d transactions begun, %d ended; want 1 and 1 (no abort after an unknown commit)", f.begins, len(f.ends))
		}
	})
}

// TestWriterRefusedCommitGoesOn: a commit the broker refused is aborted and reported; the writer
// goes on with the next request.
func TestWriterRefusedCommitGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTxn{commitErr: kerr.InvalidTxnState}
		w, _ := startWriter(t, f)
		err := w.commit(t.Context(), recs("a"))
		if err == nil || errors.Is(err, errOutcomeUnknown) || fatal(err) {
			t.Fatalf("commit: %v, want a refusal that is not fatal", err)
		}
		f.mu.Lock()
		f.commitErr = nil
		f.mu.Unlock()
		if err := w.commit(t.Context(), recs("b")); err != nil {
			t.Fatalf("next commit: %v", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if want := []kgo.TransactionEndTry{kgo.TryCommit, kgo.TryAbort, kgo.TryCommit}; len(f.ends) != 3 || f.ends[1] != want[1] {
			t.Errorf("ends %v, want %v", f.ends, want)
		}
		if len(f.txns) != 1 || string(f.txns[0][0].Key) != "b" {
			t.Errorf("committed %v, want only b", keysOf(f.txns))
		}
	})
}

// TestWriterFenced: a producer fenced by a newer instance stops the writer with ErrFenced.
func TestWriterFenced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTxn{beginErr: kerr.ProducerFenced}
		w, done := startWriter(t, f)
		if err := w.commit(t.Context(), recs("a")); !errors.Is(err, ErrFenced) {
			t.Fatalf("commit: %v, want ErrFenced", err)
		}
		if err := <-done; !errors.Is(err, ErrFenced) {
			t.Fatalf("run: %v, want ErrFenced", err)
		}
	})
}

// TestWriterSoftStop: a stop while a transaction runs lets it finish and answers its request.
func TestWriterSoftStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTxn{gate: make(chan struct{})}
		w := newWriter(f, 1000, time.Minute, slog.New(slog.DiscardHandler), newMetrics(nil, false))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- w.run(ctx) }()
		errs := make(chan error, 1)
		go func() { errs <- w.commit(t.Context(), recs("a")) }()
		synctest.Wait()
		cancel()
		synctest.Wait()
		close(f.gate)
		if err := <-errs; err != nil {
			t.Fatalf("commit under way at the stop: %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("run: %v", err)
		}
		if err := w.commit(t.Context(), recs("b")); !errors.Is(err, errWriterStopped) {
			t.Errorf("commit after the stop: %v, want errWriterStopped", err)
		}
	})
}
