package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
)

// heldSender is a sender that answers nothing until the poller waits: a second after a request
// arrives with none held, it answers every request held, in the order sent. The request of index
// failAt (counted over its life; -1 for none) fails, and, as the writer does with a broken
// chain, so does every later one of the same cycle. It records the bookmark the bookmark writer
// was asked for with each request and keeps the data records committed.
type heldSender struct {
	p      *poller
	log    *memLog
	mu     sync.Mutex
	held   []heldReq
	asked  []offsets.Bookmark
	sent   int
	failAt int
	broken bool
	// maxHeld is the most requests held at once.
	maxHeld int
	// mores are the more flags of the requests, and sizes their records, in the order sent.
	mores []bool
	sizes []int
}

type heldReq struct {
	recs []*kgo.Record
	idx  int
	done chan error
}

func (s *heldSender) send(_ context.Context, _ *chain, recs []*kgo.Record, more bool) (<-chan error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mores = append(s.mores, more)
	s.sizes = append(s.sizes, len(recs))
	done := make(chan error, 1)
	s.asked = append(s.asked, cloneBookmark(s.p.bw.Bookmark()))
	s.held = append(s.held, heldReq{recs: recs, idx: s.sent, done: done})
	s.maxHeld = max(s.maxHeld, len(s.held))
	s.sent++
	if len(s.held) == 1 {
		go func() {
			time.Sleep(time.Second)
			s.answer()
		}()
	}
	return done, nil
}

func (s *heldSender) answer() {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, r := range held {
		switch {
		case r.idx == s.failAt:
			s.broken = true
			r.done <- fmt.Errorf("injected failure of transaction %d", r.idx)
		case s.broken:
			r.done <- errChainBroken
		default:
			if err := s.log.commit(context.Background(), r.recs); err != nil {
				panic(err)
			}
			r.done <- nil
		}
	}
}

// commit serves the operator's resets, which this test does not make.
func (s *heldSender) commit(ctx context.Context, recs []*kgo.Record) error {
	return s.log.commit(ctx, recs)
}

// sameBookmark compares two bookmarks as stored: empty maps and lists as none.
func sameBookmark(t *testing.T, a, b offsets.Bookmark) bool {
	t.Helper()
	norm := func(x offsets.Bookmark) string {
		raw, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		var y offsets.Bookmark
		if err := json.Unmarshal(raw, &y); err != nil {
			t.Fatal(err)
		}
		raw, _ = json.Marshal(y)
		return string(raw)
	}
	return norm(a) == norm(b)
}

// TestPipelineFailureAtEachPosition: a keyset cycle under edits sends all its writes before the
// first answer; the transaction at each position in turn fails (and the ones behind it are
// refused). The poller keeps exactly the bookmark of the last write committed before it, and the
// bookmark writer goes on from the same; later cycles then write every record's last version
// with no version written twice.
func TestPipelineFailureAtEachPosition(t *testing.T) {
	zstdOutsideBubbles(t)
	var sent int
	synctest.Test(t, func(t *testing.T) { sent = pipelineFailureAt(t, -1) })
	if sent < 5 {
		t.Fatalf("the cycle sent %d writes: too few to fail at several positions", sent)
	}
	for failAt := range sent {
		t.Run(fmt.Sprint("fail", failAt), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { pipelineFailureAt(t, failAt) })
		})
	}
}

// pipelineFailureAt runs the check of TestPipelineFailureAtEachPosition with the failure at
// write failAt of the second cycle (-1: none) and returns how many writes that cycle sent.
func pipelineFailureAt(t *testing.T, failAt int) int {
	rng := rand.New(rand.NewPCG(3, 9))
	src := &memSource{pageSize: 10, now: 1_700_000_000_000, step: 400, rng: rng, recs: map[string]*memRec{}}
	next := 0
	newID := func() string { next++; return fmt.Sprintf("%08x-%05d", rng.Uint32(), next) }
	for range 60 {
		src.upsert(newID(), src.tick())
	}
	log := &memLog{}
	out := &heldSender{log: log, failAt: -1}
	p := newTestPoller(t, "invoices", src, out)
	out.p = p
	if err := p.cycle(t.Context()); err != nil {
		t.Fatalf("first cycle: %v", err)
	}
	// Each write says that another follows, but the cycle's last: only that one's transaction
	// need not wait for more.
	for i, more := range out.mores {
		if last := i == len(out.mores)-1; more == last {
			t.Errorf("write %d of %d sent with more=%v", i, len(out.mores), more)
		}
	}
	// New records and edits, and edits while the next cycle pages through them.
	for range 30 {
		src.upsert(newID(), src.tick())
	}
	src.mutate = func(s *memSource, call int) {
		if call%2 == 0 {
			all := s.sorted()
			s.upsert(all[rng.IntN(len(all))].id, s.tick())
		}
		if call%5 == 0 {
			s.upsert(newID(), s.now)
		}
	}
	before := cloneBookmark(p.bm)
	first := out.sent
	out.failAt = -1
	if failAt >= 0 {
		out.failAt = first + failAt
	}
	err := p.cycle(t.Context())
	sent := out.sent - first
	if out.maxHeld < min(sent, 2) {
		t.Errorf("at most %d writes were in flight of %d: the cycle waited for each answer", out.maxHeld, sent)
	}
	want := before
	switch {
	case failAt < 0:
		want = out.asked[len(out.asked)-1]
	case failAt > 0:
		want = out.asked[first+min(failAt, sent)-1]
	}
	if failAt < 0 && err != nil {
		t.Fatalf("cycle without failures: %v", err)
	}
	if failAt >= 0 && failAt < sent && err == nil {
		t.Fatalf("the cycle's write %d of %d failed, and the cycle did not", failAt, sent)
	}
	if !sameBookmark(t, p.bm, want) {
		t.Fatalf("failure at write %d of %d: the poller holds %+v, want the bookmark of the last write committed, %+v", failAt, sent, p.bm, want)
	}
	if !sameBookmark(t, p.bw.Bookmark(), want) {
		t.Fatalf("failure at write %d of %d: the bookmark writer goes on from %+v, want %+v", failAt, sent, p.bw.Bookmark(), want)
	}
	out.failAt, out.broken = -1, false
	src.mutate = nil
	for range 20 {
		if err := p.cycle(t.Context()); err != nil {
			t.Fatalf("cycle after the failure: %v", err)
		}
		if len(p.bm.Verify) == 0 {
			checkVersions(t, src, versionsOf(t, log))
			return sent
		}
	}
	t.Fatalf("did not settle; the bookmark has %d traversals", len(p.bm.Verify))
	return sent
}

// versionsOf reads the (id, version) of each data record log holds, in order.
func versionsOf(t *testing.T, log *memLog) []version {
	t.Helper()
	out := make([]version, 0, len(log.data))
	for _, r := range log.data {
		var v struct{ V int }
		if err := json.Unmarshal(r.Value[5:], &v); err != nil {
			t.Fatalf("value %q: %v", r.Value, err)
		}
		out = append(out, version{string(r.Key[5:]), v.V})
	}
	return out
}

// TestPipelineOverlapsCommits: with the writer, a stream reads its next pages while its first
// transaction runs, and the pages read meanwhile share the next transaction.
func TestPipelineOverlapsCommits(t *testing.T) {
	zstdOutsideBubbles(t)
	synctest.Test(t, func(t *testing.T) {
		src := filledSource(95)
		f := &fakeTxn{gate: make(chan struct{})}
		w, _ := startWriter(t, f)
		p := newTestPoller(t, "invoices", src, w)
		done := make(chan error, 1)
		go func() { done <- p.cycle(t.Context()) }()
		synctest.Wait() // the first transaction is held; the poller has read on
		src.mu.Lock()
		calls := src.calls
		src.mu.Unlock()
		if calls < 5 {
			t.Errorf("%d calls while the first transaction ran, want the pages that follow it", calls)
		}
		close(f.gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		txns := len(f.txns)
		f.mu.Unlock()
		if txns >= src.calls {
			t.Errorf("%d transactions for %d pages: pages read together did not share one", txns, src.calls)
		}
		if len(p.bm.Window) == 0 || p.bm.Watermark == 0 {
			t.Errorf("bookmark %+v after the cycle: nothing committed", p.bm)
		}
	})
}

// TestPipelineStopsAtFirstFailure: once a write fails, the poller reads no further page than
// the one it was reading while it built the records of the write.
func TestPipelineStopsAtFirstFailure(t *testing.T) {
	zstdOutsideBubbles(t)
	synctest.Test(t, func(t *testing.T) {
		src := filledSource(95)
		out := committerFunc(func(context.Context, []*kgo.Record) error { return errors.New("injected") })
		p := newTestPoller(t, "invoices", src, out)
		if err := p.cycle(t.Context()); err == nil {
			t.Fatal("the cycle ended without the failure")
		}
		if src.calls != 2 {
			t.Errorf("%d calls, want 2 (the first page and the one read while its write was built): the pages after a failed write were read", src.calls)
		}
		if !sameBookmark(t, p.bm, offsets.Bookmark{}) {
			t.Errorf("bookmark %+v after a failed first write, want none", p.bm)
		}
	})
}

// TestPipelineReadsAhead: the call for the next page is made before the records of the page
// before are committed, so that Xero's answer and the building of those records overlap.
func TestPipelineReadsAhead(t *testing.T) {
	zstdOutsideBubbles(t)
	synctest.Test(t, func(t *testing.T) {
		src := filledSource(25) // pages of 10, 10 and 5
		asked := map[int]chan struct{}{2: make(chan struct{}), 3: make(chan struct{})}
		src.mutate = func(_ *memSource, call int) {
			if c, ok := asked[call]; ok {
				close(c)
			}
		}
		commits := 0
		out := committerFunc(func(context.Context, []*kgo.Record) error {
			commits++
			if c, ok := asked[commits+1]; ok {
				select {
				case <-c:
				case <-time.After(time.Minute):
					t.Errorf("commit %d came before the call for page %d", commits, commits+1)
				}
			}
			return nil
		})
		p := newTestPoller(t, "invoices", src, out)
		if err := p.cycle(t.Context()); err != nil {
			t.Fatal(err)
		}
		if commits < 3 {
			t.Errorf("%d commits of %d pages, want at least one for each of the 3 pages", commits, src.calls)
		}
	})
}

// zstdOutsideBubbles builds the state records' zstd encoder, made once per process with
// goroutines of its own, outside any synctest bubble.
func zstdOutsideBubbles(t *testing.T) {
	t.Helper()
	if _, err := offsets.BookmarkRecords("state", "t", "linked_transactions", offsets.Bookmark{Hashes: bigHashes()}); err != nil {
		t.Fatal(err)
	}
}

// filledSource returns a list of n records in pages of 10.
func filledSource(n int) *memSource {
	src := &memSource{pageSize: 10, now: 1_700_000_000_000, step: 400, rng: rand.New(rand.NewPCG(1, 1)), recs: map[string]*memRec{}}
	for i := range n {
		src.upsert(fmt.Sprintf("r%03d", i), src.tick())
	}
	return src
}

// TestPipelineFullSaysNoMore: a write that fills the pipeline tells the writer that no other
// follows it for now: the poller waits for its answer before it reads on, so its transaction
// must not wait for the next write.
func TestPipelineFullSaysNoMore(t *testing.T) {
	zstdOutsideBubbles(t)
	synctest.Test(t, func(t *testing.T) {
		src := filledSource(pipelineRecords + 1000)
		out := &heldSender{log: &memLog{}, failAt: -1}
		p := newTestPoller(t, "invoices", src, out)
		out.p = p
		if err := p.cycle(t.Context()); err != nil {
			t.Fatal(err)
		}
		first := slices.Index(out.mores, false)
		if first < 0 || first == len(out.mores)-1 {
			t.Fatalf("no write but the last of %d said that none follows: the pipeline of %d records filled up", len(out.mores), pipelineRecords)
		}
		before := 0
		for _, n := range out.sizes[:first] {
			before += n
		}
		if before >= pipelineRecords || before+out.sizes[first] < pipelineRecords {
			t.Errorf("the first write that said none follows was write %d, after %d records: want the one that filled the pipeline of %d",
				first, before, pipelineRecords)
		}
	})
}

// TestPollerCountsRecordsWritten: the records counter moves by the records of each write, once
// a write rather than once a record, and ends at the records the cycle wrote.
func TestPollerCountsRecordsWritten(t *testing.T) {
	zstdOutsideBubbles(t)
	synctest.Test(t, func(t *testing.T) {
		src := filledSource(95)
		log := &memLog{}
		p := newTestPoller(t, "invoices", src, log)
		if err := p.cycle(t.Context()); err != nil {
			t.Fatal(err)
		}
		written := testutil.ToFloat64(p.metrics.records.WithLabelValues("t1", "invoices", "written"))
		if written != float64(len(log.data)) || written != 95 {
			t.Errorf("records written counted %v, the topic holds %d, want 95", written, len(log.data))
		}
		if n := testutil.ToFloat64(p.metrics.records.WithLabelValues("t1", "invoices", "tombstone")); n != 0 {
			t.Errorf("%v tombstones counted for a cycle that wrote none", n)
		}
	})
}
