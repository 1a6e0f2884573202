package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fakeTxn is a transactional producer that records its transactions. gate, when set, holds the
// produce of the first transaction until it is closed; commitErr answers the commits, after
// commitErrs, which answer the first ones in turn.
type fakeTxn struct {
	mu         sync.Mutex
	begins     int
	ends       []kgo.TransactionEndTry
	txns       [][]*kgo.Record // the records of each committed transaction
	produced   []*kgo.Record   // every record produced, committed or not
	cur        []*kgo.Record
	gate       chan struct{}
	beginErr   error
	commitErr  error
	commitErrs []error
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
	f.produced = append(f.produced, rs...)
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
		if len(f.commitErrs) > 0 {
			err := f.commitErrs[0]
			f.commitErrs = f.commitErrs[1:]
			if err != nil {
				return err
			}
		} else if f.commitErr != nil {
			return f.commitErr
		}
		f.txns = append(f.txns, f.cur)
	}
	return nil
}

func startWriter(t *testing.T, f *fakeTxn) (*writer, <-chan error) {
	t.Helper()
	w := newWriter(f, 1000, time.Minute, slog.New(slog.DiscardHandler), newMetrics(nil, false))
	w.groupWait = 0 // a group is what waits while a transaction runs
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
		w.groupWait = 0
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

// TestWriterRefusesABrokenChain: when a transaction fails, the requests of its chain queued
// behind it, and those that come later, are refused without being produced; other requests, and
// a new chain of the same poller, are committed.
func TestWriterRefusesABrokenChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTxn{gate: make(chan struct{}), commitErrs: []error{kerr.InvalidTxnState}}
		w, _ := startWriter(t, f)
		var a, other chain
		send := func(c *chain, key string) <-chan error {
			done, err := w.send(t.Context(), c, recs(key), false)
			if err != nil {
				t.Fatalf("send %s: %v", key, err)
			}
			return done
		}
		a1 := send(&a, "a1")
		synctest.Wait() // a1's transaction is producing, held by the gate
		a2, b1, a3 := send(&a, "a2"), send(&other, "b1"), send(&a, "a3")
		synctest.Wait()
		close(f.gate)
		if err := <-a1; err == nil || errors.Is(err, errChainBroken) {
			t.Fatalf("a1: %v, want its transaction's failure", err)
		}
		for name, done := range map[string]<-chan error{"a2": a2, "a3": a3} {
			if err := <-done; !errors.Is(err, errChainBroken) {
				t.Errorf("%s, queued behind the failed a1: %v, want errChainBroken", name, err)
			}
		}
		if err := <-b1; err != nil {
			t.Errorf("b1, of another chain: %v", err)
		}
		if err := <-send(&a, "a4"); !errors.Is(err, errChainBroken) {
			t.Errorf("a4, sent after the failure on the broken chain: %v, want errChainBroken", err)
		}
		var fresh chain
		if err := <-send(&fresh, "a5"); err != nil {
			t.Errorf("a5, on a new chain: %v", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, r := range f.produced {
			if k := string(r.Key); k == "a2" || k == "a3" || k == "a4" {
				t.Errorf("%s was produced", k)
			}
		}
		if got := keysOf(f.txns); len(got) != 2 || got[0][0] != "b1" || got[1][0] != "a5" {
			t.Errorf("committed %v, want b1 then a5", got)
		}
	})
}

// TestWriterGroupBounds: an idle writer waits groupWait for more requests, and a group stops
// at the record and byte bounds.
func TestWriterGroupBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTxn{}
		w := newWriter(f, 3, time.Minute, slog.New(slog.DiscardHandler), newMetrics(nil, false))
		w.groupWait = 10 * time.Millisecond
		w.maxGroupBytes = 100
		go func() { _ = w.run(t.Context()) }()
		var c chain
		var dones []<-chan error
		send := func(rs []*kgo.Record) {
			done, err := w.send(t.Context(), &c, rs, false)
			if err != nil {
				t.Fatal(err)
			}
			dones = append(dones, done)
		}
		send(recs("a"))
		time.Sleep(5 * time.Millisecond) // within the wait
		send(recs("b"))
		time.Sleep(20 * time.Millisecond) // past it: a and b committed together
		send(recs("c", "d"))
		send(recs("e", "f")) // over 3 records with c and d
		big := recs("g")
		big[0].Value = make([]byte, 120) // over the byte bound alone: a group of its own
		send(big)
		send(recs("h"))
		for _, d := range dones {
			if err := <-d; err != nil {
				t.Fatal(err)
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		got := fmt.Sprint(keysOf(f.txns))
		if want := "[[a b] [c d] [e f] [g] [h]]"; got != want {
			t.Errorf("transactions %s, want %s", got, want)
		}
	})
}

// TestWriterHoldsForTheNextPage: a group whose chain says that its next request is coming waits
// for it, up to groupHold from its first request; the request that says no more is coming ends
// the wait at once, and so does a full group.
func TestWriterHoldsForTheNextPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeTxn{}
		w := newWriter(f, 5, time.Minute, slog.New(slog.DiscardHandler), newMetrics(nil, false))
		w.groupWait = time.Millisecond
		w.groupHold = 20 * time.Millisecond
		go func() { _ = w.run(t.Context()) }()
		committed := func() string {
			synctest.Wait()
			f.mu.Lock()
			defer f.mu.Unlock()
			return fmt.Sprint(keysOf(f.txns))
		}
		send := func(c *chain, more bool, keys ...string) <-chan error {
			done, err := w.send(t.Context(), c, recs(keys...), more)
			if err != nil {
				t.Fatal(err)
			}
			return done
		}

		var a chain
		start := time.Now()
		send(&a, true, "a1")
		time.Sleep(8 * time.Millisecond)
		send(&a, true, "a2")
		time.Sleep(8 * time.Millisecond)
		if got := committed(); got != "[]" {
			t.Fatalf("committed %s within the hold, want nothing yet", got)
		}
		if err := <-send(&a, false, "a3"); err != nil {
			t.Fatal(err)
		}
		if got, want := committed(), "[[a1 a2 a3]]"; got != want {
			t.Fatalf("committed %s, want %s", got, want)
		}
		if took := time.Since(start); took != 16*time.Millisecond {
			t.Errorf("the last page committed %s after the first was sent, want 16ms: it waited", took)
		}

		// A next page that does not come: the group goes at the end of the hold.
		var b chain
		start = time.Now()
		if err := <-send(&b, true, "b1"); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 20*time.Millisecond {
			t.Errorf("b1 committed after %s, want the hold, 20ms", took)
		}

		// A full group does not wait.
		var c chain
		start = time.Now()
		send(&c, true, "c1", "c2", "c3")
		if err := <-send(&c, true, "c4", "c5"); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("a full group committed after %s, want at once", took)
		}

		// A group that holds holdRecords records goes although its chain has more: the poller
		// reads the next group's pages while this one commits.
		w.holdRecords = 3
		var e chain
		start = time.Now()
		send(&e, true, "e1", "e2")
		if err := <-send(&e, true, "e3"); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != time.Millisecond {
			t.Errorf("a group of holdRecords committed after %s, want groupWait, 1ms", took)
		}
		w.holdRecords = pipelineRecords / 2

		// A request on its own, or the last of its chain, waits only groupWait.
		start = time.Now()
		if err := w.commit(t.Context(), recs("d1")); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != time.Millisecond {
			t.Errorf("a request on its own committed after %s, want groupWait, 1ms", took)
		}
		if got, want := committed(), "[[a1 a2 a3] [b1] [c1 c2 c3 c4 c5] [e1 e2 e3] [d1]]"; got != want {
			t.Errorf("committed %s, want %s", got, want)
		}
	})
}
