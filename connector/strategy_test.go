package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
)

// The strategies are driven here without the poller: model.cycle is the poller's loop with a
// model list in place of Xero and a model topic in place of Kafka. No goroutine, no clock.

// version is one data record written: its id and the version ("V") of its JSON.
type version struct {
	id string
	v  int
}

// model runs cycles of a stream's strategy against src and keeps what was committed.
type model struct {
	t      testing.TB
	stream *streams.Stream
	src    lister
	// bm is the committed bookmark.
	bm   offsets.Bookmark
	dead hashSet
	// data and tombs are the records committed to the stream's topic, in order; dead the
	// dead letters.
	data  []version
	tombs []string
	// log is every record of the topic in order, a tombstone as version 0.
	log   []version
	dead1 int
	// fail, when set, fails commit n (from 1) before anything of it is written.
	fail    func(n int) bool
	commits int
	// reads are the reads of the last cycle.
	reads []read
	// snap, when checkRollback is set, is a deep copy of the committed bookmark, taken at each
	// commit: the bookmarks of a strategy share their maps with the committed one, and a
	// failed cycle must leave it as it was committed.
	checkRollback bool
	snap          offsets.Bookmark
}

// abandon ends a failed cycle as the poller does, and checks that the committed bookmark is as
// it was committed.
func (m *model) abandon(st strategy, writes []write, failed int) {
	m.t.Helper()
	abandon(st, &m.dead, writes, failed)
	if m.checkRollback && !reflect.DeepEqual(m.bm, m.snap) {
		m.t.Errorf("after a failed cycle the committed bookmark changed:\n%+v\nwant\n%+v", m.bm, m.snap)
	}
}

func newModel(t testing.TB, stream string, src lister) *model {
	t.Helper()
	s, ok := streams.ByName(stream)
	if !ok {
		t.Fatalf("no stream %s", stream)
	}
	return &model{t: t, stream: &s, src: src, checkRollback: true}
}

var errInjected = errors.New("injected commit failure")

// cycle runs one cycle from the committed bookmark, as poller.cycle does.
func (m *model) cycle() error {
	st := newStrategy(m.stream, m.bm, &m.dead)
	if m.checkRollback {
		m.snap = cloneBookmark(m.bm)
	}
	m.reads = m.reads[:0]
	r := st.first()
	for {
		m.reads = append(m.reads, r)
		pg, err := m.src.List(context.Background(), request(m.stream, "t1", r))
		if err != nil {
			m.abandon(st, nil, 0)
			return err
		}
		s, err := st.take(pageOf(m.stream, pg, r.page, time.Time{}))
		if err != nil {
			m.abandon(st, nil, 0)
			return err
		}
		for i, w := range s.writes {
			m.commits++
			if m.fail != nil && m.fail(m.commits) {
				m.abandon(st, s.writes, i)
				return fmt.Errorf("commit %d: %w", m.commits, errInjected)
			}
			for _, it := range w.items {
				if it.bad != nil {
					m.dead1++
					continue
				}
				v := version{it.meta.id, int(gjson.GetBytes(it.raw, "V").Int())}
				m.data, m.log = append(m.data, v), append(m.log, v)
			}
			for _, id := range w.tombstones {
				m.tombs, m.log = append(m.tombs, id), append(m.log, version{id: id})
			}
			m.bm = w.bm
			if m.checkRollback {
				m.snap = cloneBookmark(w.bm)
			}
		}
		if s.next == nil {
			return nil
		}
		r = *s.next
	}
}

// checkVersions asserts that the records written, last version per id, equal the source's, and
// that no version was written twice or after a newer one.
func checkVersions(t *testing.T, src *memSource, data []version) {
	t.Helper()
	last := map[string]int{}
	for _, d := range data {
		if d.v <= last[d.id] {
			t.Errorf("record %s: version %d written after version %d", d.id, d.v, last[d.id])
		}
		last[d.id] = d.v
	}
	for id, r := range src.recs {
		if last[id] != r.version {
			t.Errorf("record %s: source has version %d, the topic %d", id, r.version, last[id])
		}
	}
	if len(last) != len(src.recs) {
		t.Errorf("topic has %d records, source %d", len(last), len(src.recs))
	}
}

// newMemSource is a source of n records one step apart, paged by pageSize.
func newMemSource(seed uint64, pageSize, n int) *memSource {
	src := &memSource{pageSize: pageSize, now: 1_700_000_000_000, step: 3000, rng: rand.New(rand.NewPCG(seed, 1)), recs: map[string]*memRec{}}
	for i := range n {
		src.upsert(fmt.Sprintf("r%04d", i), src.tick())
	}
	return src
}

// TestKeysetStrategyTable: single cycles of the keyset strategy, what it reads and writes.
func TestKeysetStrategyTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		// n records one step apart, pages of pageSize; changes made after a first cycle.
		n, pageSize int
		change      func(s *memSource)
		// what the second cycle must do
		reads, written int
	}{
		{name: "nothing new", n: 25, pageSize: 10, reads: 1, written: 0},
		{name: "one edit", n: 25, pageSize: 10, change: func(s *memSource) { s.upsert("r0003", s.tick()) }, reads: 1, written: 1},
		{name: "new records fill two pages", n: 25, pageSize: 10, change: func(s *memSource) {
			for i := 25; i < 43; i++ {
				s.upsert(fmt.Sprintf("r%04d", i), s.tick())
			}
		}, reads: 3, written: 18},
		{name: "a bulk import in one millisecond", n: 5, pageSize: 10, change: func(s *memSource) {
			at := s.tick()
			for i := 5; i < 40; i++ {
				s.upsert(fmt.Sprintf("r%04d", i), at)
			}
		}, reads: 5, written: 35},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newMemSource(1, tc.pageSize, tc.n)
			m := newModel(t, "invoices", src)
			if err := m.cycle(); err != nil {
				t.Fatal(err)
			}
			checkVersions(t, src, m.data)
			if got := len(m.data); got != tc.n {
				t.Fatalf("first cycle wrote %d records, want %d", got, tc.n)
			}
			if tc.change != nil {
				tc.change(src)
			}
			src.now += 60_000
			before := len(m.data)
			if err := m.cycle(); err != nil {
				t.Fatal(err)
			}
			checkVersions(t, src, m.data)
			if got := len(m.data) - before; got != tc.written {
				t.Errorf("wrote %d records, want %d", got, tc.written)
			}
			if got := len(m.reads); got < tc.reads || got > tc.reads+2 {
				t.Errorf("made %d reads, want %d (or up to 2 more to settle a traversal)", got, tc.reads)
			}
			for _, r := range m.reads {
				if r.query.Get("order") != "UpdatedDateUTC ASC" {
					t.Errorf("read %+v is not ordered by UpdatedDateUTC", r)
				}
			}
			if len(m.bm.Verify) != 0 {
				t.Errorf("a traversal is left to check: %+v", m.bm.Verify)
			}
		})
	}
}

// TestKeysetStrategyReadsFromBelowTheWatermark: the first read asks for page 1 from one whole
// second below the watermark, so records at the watermark come back however Xero compares.
func TestKeysetStrategyReadsFromBelowTheWatermark(t *testing.T) {
	s, _ := streams.ByName("invoices")
	for _, c := range []struct{ wm, since int64 }{
		{0, 0},
		{1_700_000_000_000, 1_699_999_999_000},
		{1_700_000_000_999, 1_699_999_999_000},
	} {
		r := newStrategy(&s, offsets.Bookmark{Watermark: c.wm}, &hashSet{}).first()
		if r.page != 1 || r.since != c.since {
			t.Errorf("watermark %d: first read page %d since %d, want page 1 since %d", c.wm, r.page, r.since, c.since)
		}
	}
}

// TestKeysetStrategyPlansBeforeCommit: the strategy plans its next read from the bookmark it
// asked to write, before that write is committed, and a failed commit leaves the committed
// bookmark for the next cycle, which writes the same records again and nothing else.
func TestKeysetStrategyPlansBeforeCommit(t *testing.T) {
	src := newMemSource(2, 10, 35)
	s, _ := streams.ByName("invoices")
	st := newStrategy(&s, offsets.Bookmark{}, &hashSet{})
	r := st.first()
	pg, err := src.List(context.Background(), request(&s, "t1", r))
	if err != nil {
		t.Fatal(err)
	}
	step, err := st.take(pageOf(&s, pg, r.page, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(step.writes) != 1 || len(step.writes[0].items) != 10 || step.next == nil {
		t.Fatalf("page 1 of 4: want one write of 10 records and a next read, got %d writes, next %v", len(step.writes), step.next)
	}
	wm := step.writes[0].bm.Watermark
	if want := lowerBound(wm); step.next.page != 1 || step.next.since != want {
		t.Errorf("next read page %d since %d, want page 1 since %d (from the uncommitted watermark %d)", step.next.page, step.next.since, want, wm)
	}

	m := newModel(t, "invoices", src)
	m.fail = func(n int) bool { return n == 2 }
	if err := m.cycle(); !errors.Is(err, errInjected) {
		t.Fatalf("cycle: %v, want the injected failure", err)
	}
	if got := len(m.data); got != 10 {
		t.Fatalf("before the failure: %d records committed, want 10", got)
	}
	if m.bm.Watermark != wm {
		t.Errorf("committed watermark %d, want %d (the first write's)", m.bm.Watermark, wm)
	}
	if err := m.cycle(); err != nil {
		t.Fatal(err)
	}
	checkVersions(t, src, m.data)
}

// fixedList answers every read with the same records, whatever the page: with pages > 1, a
// server that ignores the page number.
type fixedList struct {
	recs            []string
	pageSize, pages int
}

func (f fixedList) List(context.Context, xero.Request) (*xero.Page, error) {
	pg := &xero.Page{Pagination: &xero.Pagination{Page: 1, PageSize: f.pageSize, PageCount: f.pages, ItemCount: f.pages * len(f.recs)}}
	for _, r := range f.recs {
		pg.Records = append(pg.Records, json.RawMessage(r))
	}
	return pg, nil
}

// TestKeysetStrategyStalls: a server whose pages cannot be got through ends the cycle with a
// stall error instead of reading forever.
func TestKeysetStrategyStalls(t *testing.T) {
	var recs []string
	for i := range 3 {
		recs = append(recs, fmt.Sprintf(`{"InvoiceID":"r%d","UpdatedDateUTC":"/Date(%d+0000)/"}`, i, 1_700_000_000_000+int64(i)))
	}
	m := newModel(t, "invoices", fixedList{recs: recs, pageSize: 3, pages: 3})
	err := m.cycle()
	var stall *stallError
	if !errors.As(err, &stall) || !strings.Contains(err.Error(), "ignores the page number") {
		t.Fatalf("cycle: %v, want a stall error naming the page number", err)
	}
	if len(m.reads) > 10 {
		t.Errorf("stalled after %d reads", len(m.reads))
	}
}

// TestKeysetStrategyDeadLetters: a record without readable keys is dead-lettered once, however
// often it is read, and does not move the watermark; a dead letter whose commit failed is
// written by the next cycle.
func TestKeysetStrategyDeadLetters(t *testing.T) {
	recs := []string{
		`{"InvoiceID":"a","UpdatedDateUTC":"/Date(1700000000000+0000)/","V":1}`,
		`{"UpdatedDateUTC":"/Date(1700000009000+0000)/"}`,
	}
	m := newModel(t, "invoices", fixedList{recs: recs, pageSize: 100, pages: 1})
	m.fail = func(n int) bool { return n == 1 }
	if err := m.cycle(); !errors.Is(err, errInjected) {
		t.Fatalf("cycle: %v, want the injected failure", err)
	}
	for range 3 {
		if err := m.cycle(); err != nil {
			t.Fatal(err)
		}
	}
	if m.dead1 != 1 || len(m.data) != 1 {
		t.Errorf("%d dead letters and %d records, want 1 and 1", m.dead1, len(m.data))
	}
	if m.bm.Watermark != 1_700_000_000_000 {
		t.Errorf("watermark %d, want the readable record's", m.bm.Watermark)
	}
}

// journal is an append-only model list read by offset, FixedPageSize records per call.
type journal struct{ n int }

func (j journal) List(_ context.Context, req xero.Request) (*xero.Page, error) {
	off, err := strconv.Atoi(req.Query.Get("offset"))
	if err != nil {
		return nil, err
	}
	pg := &xero.Page{}
	for i := off + 1; i <= j.n && len(pg.Records) < streams.FixedPageSize; i++ {
		pg.Records = append(pg.Records, json.RawMessage(fmt.Sprintf(`{"JournalID":"j%d","JournalNumber":%d,"V":1}`, i, i)))
	}
	return pg, nil
}

// TestOffsetStrategy: journals are read by number from the offset; each write moves the offset
// to the largest number written.
func TestOffsetStrategy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		from, n   int
		reads     int
		wantWrite int
	}{
		{"empty", 0, 0, 1, 0},
		{"one page", 0, 40, 1, 40},
		{"full pages", 0, 250, 3, 250},
		{"exact pages", 0, 200, 3, 200},
		{"resume", 120, 250, 2, 130},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(t, "journals", journal{tc.n})
			m.bm.Watermark = int64(tc.from)
			if err := m.cycle(); err != nil {
				t.Fatal(err)
			}
			if len(m.reads) != tc.reads || len(m.data) != tc.wantWrite {
				t.Errorf("%d reads, %d written; want %d and %d", len(m.reads), len(m.data), tc.reads, tc.wantWrite)
			}
			if m.bm.Watermark != int64(max(tc.from, tc.n)) {
				t.Errorf("offset %d, want %d", m.bm.Watermark, max(tc.from, tc.n))
			}
			for i, r := range m.reads {
				if want := strconv.Itoa(tc.from + i*streams.FixedPageSize); r.query.Get("offset") != want {
					t.Errorf("read %d from offset %s, want %s", i, r.query.Get("offset"), want)
				}
			}
		})
	}
}

// TestOffsetStrategyStalls: a full page with nothing above the offset is a stall, not a loop.
func TestOffsetStrategyStalls(t *testing.T) {
	var recs []string
	for i := range streams.FixedPageSize {
		recs = append(recs, fmt.Sprintf(`{"JournalID":"j%d","JournalNumber":%d}`, i, i+1))
	}
	m := newModel(t, "journals", fixedList{recs: recs})
	m.bm.Watermark = 500
	var stall *stallError
	if err := m.cycle(); !errors.As(err, &stall) {
		t.Fatalf("cycle: %v, want a stall error", err)
	}
}

// table is a model list for scans: records by id with a content version, paged by
// FixedPageSize on PageOnly endpoints, filtered by the stream's FilterParam; edit, when set,
// runs before each call.
type table struct {
	stream *streams.Stream
	recs   map[string]int
	calls  int
	edit   func(t *table, call int)
}

func (t *table) List(_ context.Context, req xero.Request) (*xero.Page, error) {
	t.calls++
	if t.edit != nil {
		t.edit(t, t.calls)
	}
	ids := make([]string, 0, len(t.recs))
	for id := range t.recs {
		if f := t.stream.FilterParam; f == "" || req.Query.Get(f) == "" || req.Query.Get(f) == id {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if t.stream.Paging == streams.PageOnly {
		page, _ := strconv.Atoi(req.Query.Get("page"))
		lo := min((page-1)*streams.FixedPageSize, len(ids))
		ids = ids[lo:min(lo+streams.FixedPageSize, len(ids))]
	}
	pg := &xero.Page{}
	for _, id := range ids {
		pg.Records = append(pg.Records, json.RawMessage(fmt.Sprintf(`{%q:%q,"UpdatedDateUTC":"/Date(1700000000000+0000)/","V":%d}`, t.stream.PrimaryKey, id, t.recs[id])))
	}
	return pg, nil
}

// TestScanStrategy: a scan writes the records whose content changed and tombstones the ones
// gone; on a multi-page list it looks each missing record up by id first.
func TestScanStrategy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream string
		n      int
		edit   func(t *table)
		// the second cycle's records written, tombstones and lookups
		written, tombs, lookups int
	}{
		{"unchanged", "items", 30, nil, 0, 0, 0},
		{"unpaged: an edit and a deletion", "items", 30, func(t *table) { t.recs["r0001"]++; delete(t.recs, "r0002") }, 1, 1, 0},
		{"paged: a deletion is looked up", "linked_transactions", 250, func(t *table) { delete(t.recs, "r0100") }, 0, 1, 1},
		{"paged: new and edited", "linked_transactions", 250, func(t *table) { t.recs["r0999"] = 1; t.recs["r0000"]++ }, 2, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(t, tc.stream, nil)
			src := &table{stream: m.stream, recs: map[string]int{}}
			for i := range tc.n {
				src.recs[fmt.Sprintf("r%04d", i)] = 1
			}
			m.src = src
			if err := m.cycle(); err != nil {
				t.Fatal(err)
			}
			if len(m.data) != tc.n || len(m.bm.Hashes) != tc.n {
				t.Fatalf("first scan wrote %d records and holds %d hashes, want %d", len(m.data), len(m.bm.Hashes), tc.n)
			}
			if tc.edit != nil {
				tc.edit(src)
			}
			data, commits := len(m.data), m.commits
			if err := m.cycle(); err != nil {
				t.Fatal(err)
			}
			lookups := 0
			for _, r := range m.reads {
				if r.lookup != "" {
					lookups++
					if r.query.Get(m.stream.FilterParam) != r.lookup {
						t.Errorf("lookup of %s reads %v", r.lookup, r.query)
					}
				}
			}
			if got := len(m.data) - data; got != tc.written || len(m.tombs) != tc.tombs || lookups != tc.lookups {
				t.Errorf("wrote %d records, %d tombstones, %d lookups; want %d, %d, %d", got, len(m.tombs), lookups, tc.written, tc.tombs, tc.lookups)
			}
			if tc.edit == nil && m.commits != commits {
				t.Errorf("a scan that found nothing new committed %d times", m.commits-commits)
			}
			if len(m.bm.Hashes) != len(src.recs) {
				t.Errorf("bookmark holds %d hashes, the source %d records", len(m.bm.Hashes), len(src.recs))
			}
		})
	}
}

// TestScanStrategyUnderChange: property: whatever the edits, creations and deletions made while
// a multi-page scan runs, once they stop a scan leaves the topic (last value per key, with
// tombstones) equal to the source, and no record is tombstoned while Xero still has it.
func TestScanStrategyUnderChange(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 9))
			m := newModel(t, "linked_transactions", nil)
			src := &table{stream: m.stream, recs: map[string]int{}}
			for i := range 260 {
				src.recs[fmt.Sprintf("r%04d", i)] = 1
			}
			next := 260
			src.edit = func(tb *table, call int) {
				switch rng.IntN(4) {
				case 0:
					tb.recs[fmt.Sprintf("r%04d", next)] = 1 // sorts last
					next++
				case 1:
					if id := fmt.Sprintf("r%04d", rng.IntN(next)); tb.recs[id] > 0 {
						tb.recs[id]++ // a deleted record never comes back
					}
				case 2:
					delete(tb.recs, fmt.Sprintf("r%04d", rng.IntN(next)))
				}
			}
			m.src = src
			m.fail = func(int) bool { return rng.IntN(6) == 0 }
			for range 8 {
				_ = m.cycle() // failures are retried by the next cycle
			}
			src.edit, m.fail = nil, nil
			if err := m.cycle(); err != nil {
				t.Fatal(err)
			}
			live := map[string]int{}
			for _, d := range m.log {
				if d.v == 0 {
					delete(live, d.id)
					continue
				}
				live[d.id] = d.v
			}
			for id, v := range src.recs {
				if live[id] != v {
					t.Errorf("record %s: source version %d, topic %d", id, v, live[id])
				}
			}
			if len(live) != len(src.recs) {
				t.Errorf("topic holds %d live records, source %d", len(live), len(src.recs))
			}
			for _, id := range m.tombs {
				if _, ok := src.recs[id]; ok {
					t.Errorf("record %s was tombstoned while the source has it", id)
				}
			}
		})
	}
}

// BenchmarkKeysetTraversalPage: the cost of a traversal page of 1,000 new records sharing one
// UpdatedDateUTC, as in a bulk import, against a bookmark that already holds n records of that
// instant. It should not grow with n. Each page is taken back after it is read, as after a
// failed commit, so the bookmark keeps its size.
func BenchmarkKeysetTraversalPage(b *testing.B) {
	s, _ := streams.ByName("invoices")
	const at = int64(1_700_000_000_000)
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("bookmark=%d", n), func(b *testing.B) {
			window := make(map[string]int64, n)
			for i := range n {
				window[fmt.Sprintf("old%07d", i)] = at
			}
			bm := offsets.Bookmark{Watermark: at, Window: window,
				Verify: []offsets.Verify{{From: at, Start: at, Written: copyPositions(window)}}}
			f := fetched{items: make([]item, 1000)}
			for i := range f.items {
				raw := fmt.Appendf(nil, `{"InvoiceID":"new%07d","UpdatedDateUTC":"/Date(%d+0000)/"}`, i, at)
				m, err := readMeta(&s, raw)
				if err != nil {
					b.Fatal(err)
				}
				f.items[i] = item{raw: raw, meta: m}
			}
			b.ReportAllocs()
			for b.Loop() {
				k := newKeyset(&s, bm, &hashSet{})
				k.traversing, k.page = 0, 2
				st, err := k.take(f)
				if err != nil || len(st.writes) != 1 || len(st.writes[0].items) != 1000 {
					b.Fatalf("take: %v, %d writes", err, len(st.writes))
				}
				abandon(k, &hashSet{}, st.writes, 0)
			}
			if len(window) != n {
				b.Fatalf("the window holds %d records after the pages were taken back, want %d", len(window), n)
			}
		})
	}
}
