package connector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
)

// memSource is an adversarial in-memory Xero list endpoint: records ordered by (UpdatedDateUTC,
// id), filtered by If-Modified-Since, paged by number, and changed between calls by a mutate
// function, as Xero's data changes while a client pages through it.
type memSource struct {
	mu       sync.Mutex
	pageSize int
	// secondResolution and exclusive select how If-Modified-Since is compared; dayResolution
	// compares dates only, and ignoreIMS returns every record whatever the header says.
	secondResolution, exclusive bool
	dayResolution, ignoreIMS    bool
	now                         int64 // the source's clock, unix ms
	step                        int64 // the clock advances by 1 to step ms per change
	// stampSkew, when set, moves each answer's server time by up to that many ms either way
	// from the moment its page was read, as Xero may stamp an answer before or after reading.
	stampSkew int64
	rng       *rand.Rand
	recs      map[string]*memRec
	// order holds recs sorted by (pos, id), kept so by upsert.
	order  []*memRec
	mutate func(s *memSource, call int)
	// downtime, when set, changes the data while the connector is down after a failure.
	downtime func(s *memSource)
	calls    int
}

type memRec struct {
	id      string
	pos     int64
	version int
}

func (s *memSource) tick() int64 {
	s.now += 1 + s.rng.Int64N(s.step)
	return s.now
}

// upsert creates or updates a record at the source's current time.
func (s *memSource) upsert(id string, at int64) {
	r, ok := s.recs[id]
	if !ok {
		r = &memRec{id: id}
		s.recs[id] = r
	} else {
		s.order = slices.Delete(s.order, s.index(r.pos, id), s.index(r.pos, id)+1)
	}
	r.pos, r.version = at, r.version+1
	s.order = slices.Insert(s.order, s.index(at, id), r)
}

// index is where (pos, id) is or belongs in order.
func (s *memSource) index(pos int64, id string) int {
	return sort.Search(len(s.order), func(i int) bool {
		r := s.order[i]
		return r.pos > pos || (r.pos == pos && r.id >= id)
	})
}

// sorted returns the records ordered by (pos, id); the caller must not change the slice.
func (s *memSource) sorted() []*memRec { return s.order }

func (s *memSource) List(_ context.Context, req xero.Request) (*xero.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.mutate != nil {
		s.mutate(s, s.calls)
	}
	var ims int64
	if !req.ModifiedSince.IsZero() {
		ims = req.ModifiedSince.UnixMilli()
	}
	// Like Xero, the list is in creation order unless asked otherwise.
	all := s.sorted()
	if req.Query.Get("order") != "UpdatedDateUTC ASC" {
		all = slices.Clone(all)
		sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	}
	var match []*memRec
	for _, r := range all {
		pos, bound := r.pos, ims
		if s.secondResolution {
			pos, bound = pos/1000*1000, bound/1000*1000
		}
		if s.dayResolution {
			const day = 24 * 3600 * 1000
			pos, bound = pos/day*day, bound/day*day
		}
		if req.ModifiedSince.IsZero() || s.ignoreIMS || pos > bound || (!s.exclusive && pos == bound) {
			match = append(match, r)
		}
	}
	page, _ := strconv.Atoi(req.Query.Get("page"))
	if page < 1 {
		page = 1
	}
	lo, hi := min((page-1)*s.pageSize, len(match)), min(page*s.pageSize, len(match))
	pg := &xero.Page{
		Pagination: &xero.Pagination{Page: page, PageSize: s.pageSize, PageCount: (len(match) + s.pageSize - 1) / s.pageSize, ItemCount: len(match)},
		ServerTime: time.UnixMilli(s.now),
	}
	if s.stampSkew > 0 {
		pg.ServerTime = time.UnixMilli(s.now - s.stampSkew + s.rng.Int64N(2*s.stampSkew+1))
	}
	for _, r := range match[lo:hi] {
		pg.Records = append(pg.Records, json.RawMessage(fmt.Sprintf(`{"InvoiceID":%q,"UpdatedDateUTC":"/Date(%d+0000)/","V":%d}`, r.id, r.pos, r.version)))
	}
	return pg, nil
}

// rawEncoder "encodes" a record as its raw JSON, so the test can read what was written.
type rawEncoder struct{}

func (rawEncoder) AppendKey(dst []byte, tenantID, pk string) ([]byte, error) {
	return append(dst, pk...), nil
}

func (rawEncoder) AppendValidValue(dst, raw []byte, _ string, _ time.Time) ([]byte, error) {
	return append(dst, raw...), nil
}

// memLog is a committer that keeps every committed record, failing some commits on demand.
type memLog struct {
	mu      sync.Mutex
	data    []*kgo.Record
	failing func(n int) bool
	commits int
}

func (l *memLog) commit(_ context.Context, recs []*kgo.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.commits++
	if l.failing != nil && l.failing(l.commits) {
		return fmt.Errorf("injected commit failure %d", l.commits)
	}
	for _, r := range recs {
		if r.Topic == "data" {
			l.data = append(l.data, r)
		}
	}
	return nil
}

func newTestPoller(t testing.TB, stream string, src lister, out committer) *poller {
	t.Helper()
	s, ok := streams.ByName(stream)
	if !ok {
		t.Fatalf("no stream %s", stream)
	}
	return &poller{
		stream: &s, tenant: "t1", api: src, out: out,
		build:   builder{streamBuilder: &streamBuilder{stream: &s, topic: "data", deadTopic: "dead", enc: rawEncoder{}}, tenant: "t1"},
		fixed:   &pollerSettings{stateTopic: "state"},
		now:     time.Now,
		log:     slog.New(slog.DiscardHandler),
		status:  &streamStatus{},
		resets:  (*offsets.ResetInbox)(nil),
		metrics: newMetrics(nil, false),
	}
}

// checkEndState asserts that the written records, last value per key, equal the source, and
// that no record version was written twice or after a newer one.
func checkEndState(t *testing.T, src *memSource, log *memLog) {
	t.Helper()
	data := make([]version, 0, len(log.data))
	for _, r := range log.data {
		var v struct{ V int }
		if err := json.Unmarshal(r.Value[5:], &v); err != nil {
			t.Fatalf("value %q: %v", r.Value, err)
		}
		data = append(data, version{string(r.Key[5:]), v.V})
	}
	checkVersions(t, src, data)
}

// syncUntilSettled runs cycles of the model, continuing from the committed bookmark after
// failures as a restarted connector would, stops the changes and the injected failures after
// stopAfter cycles, and runs on until a cycle ends with no traversal left to check.
func syncUntilSettled(t *testing.T, m *model, src *memSource, stopAfter int) {
	t.Helper()
	for i := 0; i < stopAfter+50; i++ {
		if i == stopAfter {
			src.mutate = nil
			m.fail = nil
		}
		err := m.cycle()
		if err != nil && i < stopAfter {
			// The connector is down for a while after a failure, and Xero changes meanwhile.
			if src.downtime != nil {
				src.downtime(src)
			}
		}
		if i >= stopAfter {
			if err != nil {
				t.Fatalf("cycle without failures injected: %v", err)
			}
			if len(m.bm.Verify) == 0 {
				return
			}
		}
	}
	t.Fatalf("did not settle; the bookmark has %d pending traversals", len(m.bm.Verify))
}

// TestKeysetUnderChange: property: whatever Xero's data does while the keyset strategy pages
// through it (edits anywhere, creations, bulk imports sharing one timestamp, failed commits, and
// edits while the connector is down), once the changes stop the topic holds every record's
// last version, with no version written twice or out of order. It drives the strategy directly
// against the model list, under every way Xero may compare If-Modified-Since.
func TestKeysetUnderChange(t *testing.T) {
	if testenv.Real() {
		t.Skip("in memory only: it runs with the tests on the in-process fakes")
	}
	for _, mode := range []struct {
		name               string
		seconds, exclusive bool
		day, ignored       bool
		stampSkew          int64
		seeds              uint64
	}{
		{"inclusive-ms", false, false, false, false, 0, 12},
		{"exclusive-ms", false, true, false, false, 0, 12},
		{"inclusive-second", true, false, false, false, 0, 12},
		{"exclusive-second", true, true, false, false, 0, 12},
		// Servers that compare dates only, or not at all, send old records again.
		{"day", false, false, true, false, 0, 12},
		{"ignored", false, false, false, true, 0, 12},
		// Losses from a skewed stamp are rarer: more seeds.
		{"stamped-early-or-late", false, false, false, false, 2000, 24},
	} {
		for seed := uint64(1); seed <= mode.seeds; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", mode.name, seed), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(seed, 7))
				src := &memSource{pageSize: 10, secondResolution: mode.seconds, exclusive: mode.exclusive,
					dayResolution: mode.day, ignoreIMS: mode.ignored, stampSkew: mode.stampSkew,
					now: 1_700_000_000_000, step: 400, rng: rng, recs: map[string]*memRec{}}
				next := 0
				// Ids in random order, as Xero's: a new record sorts anywhere among the
				// records sharing its timestamp.
				newID := func() string { next++; return fmt.Sprintf("%08x-%05d", rng.Uint32(), next) }
				// History: spread records, then a burst of 35 sharing one timestamp.
				for i := 0; i < 120; i++ {
					src.upsert(newID(), src.tick())
				}
				at := src.tick()
				for i := 0; i < 35; i++ {
					src.upsert(newID(), at)
				}
				for i := 0; i < 30; i++ {
					src.upsert(newID(), src.tick())
				}
				var edited []string
				src.mutate = func(s *memSource, call int) {
					switch rng.IntN(5) {
					case 0: // edit records anywhere, including the ones being paged through
						all := s.sorted()
						for j := 0; j < 1+rng.IntN(3); j++ {
							id := all[rng.IntN(len(all))].id
							s.upsert(id, s.tick())
							edited = append(edited, id)
						}
					case 1: // create
						s.upsert(newID(), s.tick())
					case 2: // a bulk import: many records, one timestamp
						if rng.IntN(4) == 0 {
							at := s.tick()
							for j := 0; j < 5+rng.IntN(25); j++ {
								s.upsert(newID(), at)
							}
						}
					case 3: // a record created in the millisecond of the last answer: it
						// sorts among the records of that millisecond already read
						s.upsert(newID(), s.now)
					}
				}
				// While the connector is down, the records edited lately are edited again: a
				// version made during a traversal may then never be read.
				src.downtime = func(s *memSource) {
					for _, id := range edited[max(0, len(edited)-6):] {
						s.upsert(id, s.tick())
					}
				}
				m := newModel(t, "invoices", src)
				m.fail = func(n int) bool { return rng.IntN(15) == 0 }
				// Checking that failed cycles leave the committed bookmark as it was costs
				// a copy of it per commit: a few seeds suffice.
				m.checkRollback = seed <= 3
				syncUntilSettled(t, m, src, 25)
				checkVersions(t, src, m.data)
			})
		}
	}
}

func TestKeysetRestartResumes(t *testing.T) {
	src := &memSource{pageSize: 10, now: 1_700_000_000_000, step: 5000, rng: rand.New(rand.NewPCG(1, 2)), recs: map[string]*memRec{}}
	for i := 0; i < 95; i++ {
		src.upsert(fmt.Sprintf("r%03d", i), src.tick())
	}
	log := &memLog{}
	p := newTestPoller(t, "invoices", src, log)
	if err := p.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	callsFirst := src.calls
	// A new poller from the committed bookmark reads nothing it already wrote.
	p2 := newTestPoller(t, "invoices", src, log)
	p2.bm = p.bm
	if err := p2.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := src.calls - callsFirst; got != 1 {
		t.Errorf("resumed cycle made %d calls, want 1", got)
	}
	checkEndState(t, src, log)
	if len(log.data) != 95 {
		t.Errorf("wrote %d records, want 95", len(log.data))
	}
}

// TestKeysetCoarseServer: against a server that compares If-Modified-Since by date only, or
// ignores it, a stream of many pages syncs with no record written twice, and a cycle reads each
// page at most a bounded number of times.
func TestKeysetCoarseServer(t *testing.T) {
	for _, mode := range []struct {
		name         string
		day, ignored bool
	}{{"day", true, false}, {"ignored", false, true}} {
		t.Run(mode.name, func(t *testing.T) {
			src := &memSource{pageSize: 10, dayResolution: mode.day, ignoreIMS: mode.ignored,
				now: 1_700_000_000_000, step: 3000, rng: rand.New(rand.NewPCG(3, 3)), recs: map[string]*memRec{}}
			for i := 0; i < 250; i++ {
				src.upsert(fmt.Sprintf("r%04d", i), src.tick())
			}
			log := &memLog{}
			p := newTestPoller(t, "invoices", src, log)
			pages := func() int { return (len(src.recs) + src.pageSize - 1) / src.pageSize }
			cycle := func(what string, maxCalls int) {
				t.Helper()
				before := src.calls
				if err := p.cycle(context.Background()); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if calls := src.calls - before; calls > maxCalls {
					t.Errorf("%s: %d calls for %d pages, want at most %d", what, calls, pages(), maxCalls)
				}
				checkEndState(t, src, log)
			}
			// A first sync from nothing reads each page about once.
			cycle("first sync", 2*pages()+2)
			// Created and edited records come back at the end of the list.
			for i := 250; i < 265; i++ {
				src.upsert(fmt.Sprintf("r%04d", i), src.tick())
			}
			for _, id := range []string{"r0003", "r0120", "r0249"} {
				src.upsert(id, src.tick())
			}
			// The next poll comes a while after the changes. (A change within seconds of a
			// traversal's first page may have shifted it; that costs a re-read, which
			// TestKeysetUnderChange covers.)
			src.now += 60_000
			written := len(log.data)
			cycle("changes", pages()+3)
			if got := len(log.data) - written; got != 18 {
				t.Errorf("wrote %d records for 18 changes", got)
			}
			written = len(log.data)
			cycle("nothing new", pages()+2)
			if got := len(log.data) - written; got != 0 {
				t.Errorf("a cycle with nothing new wrote %d records", got)
			}
		})
	}
}

// TestKeysetCoarseServerMove: from a server that ignores If-Modified-Since, page 1 holds old
// records that are not in the window. One of them edited while a traversal pages on moves to
// the end of the list and shifts the later pages: the record that crosses the page boundary
// must still be written.
func TestKeysetCoarseServerMove(t *testing.T) {
	src := &memSource{pageSize: 10, ignoreIMS: true, now: 1_700_000_000_000, step: 3000,
		rng: rand.New(rand.NewPCG(5, 5)), recs: map[string]*memRec{}}
	for i := 0; i < 50; i++ {
		src.upsert(fmt.Sprintf("r%04d", i), src.tick())
	}
	log := &memLog{}
	p := newTestPoller(t, "invoices", src, log)
	if err := p.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.now += 60_000
	for i := 50; i < 65; i++ {
		src.upsert(fmt.Sprintf("r%04d", i), src.tick())
	}
	src.now += 60_000
	// The next cycle reads page 1 (old records), then traverses pages 2 to 7. Just before page
	// 7 is read, the first record of page 1 is edited: record r0060, first of page 7, moves
	// onto page 6, already read.
	first := src.calls
	src.mutate = func(s *memSource, call int) {
		if call == first+7 {
			s.upsert("r0000", s.tick())
		}
	}
	if err := p.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.mutate = nil
	if err := p.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkEndState(t, src, log)
}
