package offsets

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// memTopic is a state topic in memory: the committed records in order, compacted on demand. It
// is read with the same replay as Load, without a broker.
type memTopic struct {
	t      testing.TB
	recs   []*kgo.Record
	next   int64
	sealer Sealer
}

func newMemTopic(t testing.TB) *memTopic {
	return &memTopic{t: t, sealer: testSealer(t, testKey(1))}
}

func (m *memTopic) commit(recs []*kgo.Record) {
	for _, r := range recs {
		c := *r
		c.Offset, c.Partition = m.next, statePartition
		m.next++
		m.recs = append(m.recs, &c)
	}
}

// compact keeps the last record of each key and drops tombstones, as the cleaner does in time.
func (m *memTopic) compact() {
	last := make(map[string]int)
	for i, r := range m.recs {
		last[string(r.Key)] = i
	}
	kept := m.recs[:0]
	for i, r := range m.recs {
		if last[string(r.Key)] == i && r.Value != nil {
			kept = append(kept, r)
		}
	}
	m.recs = kept
}

func (m *memTopic) load() *State {
	m.t.Helper()
	r := newReplay("state")
	for _, rec := range m.recs {
		r.add(rec)
	}
	st := r.finish(m.sealer)
	if bad := st.blocking(); len(bad) > 0 {
		m.t.Fatalf("load: %v", bad[0])
	}
	return st
}

// liveKeys lists the keys whose last record is not a tombstone.
func (m *memTopic) liveKeys() []string {
	last := make(map[string]*kgo.Record)
	for _, r := range m.recs {
		last[string(r.Key)] = r
	}
	var keys []string
	for k, r := range last {
		if r.Value != nil {
			keys = append(keys, k)
		}
	}
	return keys
}

// roundTrip is b as a whole bookmark comes back from the state topic: empty maps and lists are nil.
func roundTrip(t testing.TB, b Bookmark) Bookmark {
	t.Helper()
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var out Bookmark
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func cloneBM(b Bookmark) Bookmark {
	c := b
	c.Window = maps.Clone(b.Window)
	c.Hashes = maps.Clone(b.Hashes)
	c.Verify = nil
	for _, v := range b.Verify {
		v.Written = maps.Clone(v.Written)
		c.Verify = append(c.Verify, v)
	}
	return c
}

// change makes a random change to b, as a keyset or scan poller would, and returns the ids it
// touched. Removals are left out of touched, as the writer allows.
func change(rng *rand.Rand, b *Bookmark, ids *[]string) []string {
	var touched []string
	add := func() string {
		id := fmt.Sprintf("id-%d", len(*ids))
		*ids = append(*ids, id)
		return id
	}
	pick := func(m map[string]int64) (string, bool) {
		for id := range m {
			return id, true
		}
		return "", false
	}
	switch op := rng.IntN(10); {
	case op < 4: // a page of new records in the window and the traversal under way
		if b.Window == nil {
			b.Window = map[string]int64{}
		}
		for range 1 + rng.IntN(30) {
			id := add()
			b.Window[id] = b.Watermark
			for i := range b.Verify {
				b.Verify[i].Written[id] = b.Watermark
			}
			touched = append(touched, id)
		}
	case op == 4: // the watermark moves: the window forgets part of itself
		b.Watermark += 1000
		for id := range b.Window {
			if rng.IntN(3) == 0 {
				delete(b.Window, id)
			}
		}
	case op == 5: // a traversal starts with the window, a range is read again, or the oldest one settles
		if len(b.Verify) > 0 && rng.IntN(3) == 0 {
			k := rng.IntN(len(b.Verify))
			b.Verify[k].Start += 1 + rng.Int64N(10)
			b.Verify[k].Moved = false
		} else if len(b.Verify) < 3 && rng.IntN(2) == 0 {
			b.Verify = append(b.Verify, Verify{From: b.Watermark, Start: b.Watermark + rng.Int64N(10), Written: maps.Clone(b.Window)})
		} else if len(b.Verify) > 0 {
			b.Verify = b.Verify[1:]
		}
	case op == 6: // a record moves during a traversal
		for i := range b.Verify {
			if id, ok := pick(b.Verify[i].Written); ok {
				b.Verify[i].Written[id]++
				b.Verify[i].Moved, b.Verify[i].To = true, b.Watermark
				touched = append(touched, id)
			}
		}
	default: // a scan: some hashes change, some records appear, some go
		if b.Hashes == nil {
			b.Hashes = map[string]uint64{}
		}
		for id := range b.Hashes {
			switch rng.IntN(20) {
			case 0:
				b.Hashes[id]++
				touched = append(touched, id)
			case 1:
				delete(b.Hashes, id)
			}
		}
		for range rng.IntN(60) {
			id := add()
			b.Hashes[id] = rng.Uint64()
			touched = append(touched, id)
		}
	}
	return touched
}

// TestWriterRebuildsEveryBookmark commits a long run of random changes through a writer, some of
// them failing, with the writer built again from the loaded state now and then, and checks after
// each commit that the state holds exactly the bookmark and not one unused record.
//
// In the "in place" mode the caller changes the maps of the bookmark it passed before, as the
// keyset poller does with its working bookmark, and no commit fails (the poller would take its
// changes back).
func TestWriterRebuildsEveryBookmark(t *testing.T) {
	memoryOnly(t)
	for _, inPlace := range []bool{false, true} {
		for seed := range uint64(3) {
			t.Run(fmt.Sprint("in place ", inPlace, " seed", seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 1))
				topic := newMemTopic(t)
				st := topic.load()
				w := st.BookmarkWriter(tenantA, "items")
				var ids []string
				var cur Bookmark
				deltas, bases := 0, 0
				for step := range 100 {
					next := cloneBM(cur)
					if inPlace {
						next = cur
					}
					touched := change(rng, &next, &ids)
					if rng.IntN(10) == 0 {
						touched = nil
					}
					recs, err := w.Records(next, touched)
					if err != nil {
						t.Fatalf("step %d: Records: %v", step, err)
					}
					for _, r := range recs {
						if len(r.Value) > MaxValueSize {
							t.Fatalf("step %d: %s of %d bytes exceeds MaxValueSize", step, r.Key, len(r.Value))
						}
						switch {
						case strings.HasPrefix(string(r.Key), deltaPrefix) && r.Value != nil:
							deltas++
						case strings.HasPrefix(string(r.Key), bookmarkPrefix):
							bases++
						}
					}
					if !inPlace && rng.IntN(8) == 0 {
						continue // the transaction failed: the writer keeps the committed bookmark
					}
					topic.commit(recs)
					w.Committed()
					cur = next
					if rng.IntN(2) == 0 {
						topic.compact()
					}
					st = topic.load()
					got, ok := st.Bookmark(tenantA, "items")
					if want := roundTrip(t, cur); !ok || !reflect.DeepEqual(got, want) {
						t.Fatalf("step %d: loaded %s, committed %s", step, short(got), short(want))
					}
					if n := st.Summary().StaleChunks; n != 0 {
						t.Fatalf("step %d: %d unused records after the commit", step, n)
					}
					if !reflect.DeepEqual(roundTrip(t, w.Bookmark()), roundTrip(t, cur)) {
						t.Fatalf("step %d: the writer's committed bookmark is not the last committed", step)
					}
					if rng.IntN(10) == 0 {
						w = st.BookmarkWriter(tenantA, "items")
					}
				}
				if deltas == 0 || bases < 2 {
					t.Fatalf("%d deltas and %d whole writes: the run did not exercise both", deltas, bases)
				}
			})
		}
	}
}

// TestWriterIncremental checks what a commit costs: a page added to a large window, or a few
// hashes changed in a large scan, is written as a delta of about the change's size; the deltas
// are folded into a new whole version once they outweigh it, and that write removes them.
func TestWriterIncremental(t *testing.T) {
	memoryOnly(t)
	topic := newMemTopic(t)
	w := topic.load().BookmarkWriter(tenantA, "invoices")
	cur := Bookmark{Watermark: 1_732_000_000_000, Window: map[string]int64{}}
	maxDelta, wholes, rebase := 0, 0, false
	for page := range 200 {
		next := cloneBM(cur)
		var touched []string
		for range 100 {
			id := uuid()
			next.Window[id] = next.Watermark
			touched = append(touched, id)
		}
		recs, err := w.Records(next, touched)
		if err != nil {
			t.Fatal(err)
		}
		switch k := string(recs[len(recs)-1].Key); {
		case strings.HasPrefix(k, deltaPrefix):
			if len(recs) != 1 {
				t.Fatalf("page %d: a delta with %d other records", page, len(recs)-1)
			}
			maxDelta = max(maxDelta, storedBytes(recs))
		default:
			wholes++
			for _, r := range recs {
				if strings.HasPrefix(string(r.Key), deltaPrefix) && r.Value == nil {
					rebase = true
				}
			}
		}
		topic.commit(recs)
		w.Committed()
		cur = next
	}
	// 100 UUIDs with their values are about 6 KB of JSON.
	if maxDelta > 8<<10 {
		t.Errorf("largest delta for a page of 100 ids: %d bytes, want about the page's size", maxDelta)
	}
	// 20,000 ids: whole writes at the start (a small bookmark) and then about once per doubling.
	if wholes > 20 || !rebase {
		t.Errorf("%d whole writes for 200 pages (a rebase removed the deltas: %t)", wholes, rebase)
	}
	st := topic.load()
	checkBookmark(t, st, tenantA, "invoices", roundTrip(t, cur))
	if info := st.Bookmarks()[0]; info.Deltas == 0 || info.Records != info.Deltas+1+countPrefix(topic.liveKeys(), chunkPrefix) {
		t.Errorf("Bookmarks() = %+v", info)
	}

	// A scan of 20,000 records with 1% changed writes about 1% of the hashes.
	scan := scanBookmark(20_000)
	sw := NewBookmarkWriter("state", tenantA, "items", Bookmark{})
	recs, err := sw.Records(scan, nil)
	if err != nil {
		t.Fatal(err)
	}
	whole := storedBytes(recs)
	sw.Committed()
	topic.commit(recs)
	next := cloneBM(scan)
	var touched []string
	for id := range next.Hashes {
		if len(touched) == 200 {
			break
		}
		next.Hashes[id]++
		touched = append(touched, id)
	}
	for _, tch := range [][]string{touched, nil} {
		recs, err = sw.Records(next, tch)
		if err != nil {
			t.Fatal(err)
		}
		if got := storedBytes(recs); len(recs) != 1 || got > whole/50 {
			t.Errorf("touched=%d: 1%% of 20,000 hashes changed: %d records of %d bytes, the whole is %d",
				len(tch), len(recs), got, whole)
		}
	}
	topic.commit(recs)
	sw.Committed()
	checkBookmark(t, topic.load(), tenantA, "items", roundTrip(t, next))
}

// memoryOnly runs a test that needs no broker once, on the kfake run, in parallel with the others.
func memoryOnly(t *testing.T) {
	if testenv.Real() {
		t.Skip("needs no broker: the run on the in-process fakes covers it")
	}
	t.Parallel()
}

func countPrefix(keys []string, prefix string) int {
	n := 0
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// TestWriterCleansOlderVersions: a writer built from the state removes, with its first write, the
// records no version uses: the tail of a larger version written whole, and the deltas of an older
// base. After compaction only the bookmark's own records remain.
func TestWriterCleansOlderVersions(t *testing.T) {
	memoryOnly(t)
	topic := newMemTopic(t)
	large := scanBookmark(30_000)
	recs, err := BookmarkRecords("state", tenantA, "items", large)
	if err != nil {
		t.Fatal(err)
	}
	topic.commit(recs)
	w := topic.load().BookmarkWriter(tenantA, "items")
	cur := large
	for range 3 { // deltas on the large base
		next := cloneBM(cur)
		id := uuid()
		next.Hashes[id] = 7
		recs, err := w.Records(next, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		topic.commit(recs)
		w.Committed()
		cur = next
	}
	// A smaller version written whole, as a writer without the state would: the chunks beyond it
	// and the three deltas are left behind.
	small := Bookmark{Hashes: map[string]uint64{"a": 1}}
	recs, err = BookmarkRecords("state", tenantA, "items", small)
	if err != nil {
		t.Fatal(err)
	}
	topic.commit(recs)
	st := topic.load()
	checkBookmark(t, st, tenantA, "items", small)
	if got := st.Summary().StaleChunks; got < 4 {
		t.Fatalf("unused records after the small version: %d, want the large one's chunks and 3 deltas", got)
	}
	w = st.BookmarkWriter(tenantA, "items")
	next := Bookmark{Hashes: map[string]uint64{"a": 1, "b": 2}}
	recs, err = w.Records(next, []string{"b"})
	if err != nil {
		t.Fatal(err)
	}
	topic.commit(recs)
	w.Committed()
	topic.compact()
	st = topic.load()
	checkBookmark(t, st, tenantA, "items", next)
	if got := st.Summary().StaleChunks; got != 0 {
		t.Errorf("unused records after the writer's first commit: %d, want 0", got)
	}
	if keys := topic.liveKeys(); len(keys) != 1 || keys[0] != bookmarkKey(tenantA, "items") {
		t.Errorf("keys after compaction: %v, want the head alone", keys)
	}
}

// TestDeltaErrors: a delta that does not fit its base, or follows a gap, stops Load with an error
// naming the record; a delta of another base is ignored as unused.
func TestDeltaErrors(t *testing.T) {
	memoryOnly(t)
	base := Bookmark{Watermark: 5, Hashes: manyHashes(5000)}
	setup := func(t *testing.T) (*memTopic, []*kgo.Record) {
		topic := newMemTopic(t)
		w := topic.load().BookmarkWriter(tenantA, "items")
		recs, err := w.Records(base, nil)
		if err != nil {
			t.Fatal(err)
		}
		topic.commit(recs)
		w.Committed()
		var deltas []*kgo.Record
		cur := base
		for i := range 3 {
			next := cloneBM(cur)
			next.Hashes[fmt.Sprint("new", i)] = 1
			recs, err := w.Records(next, []string{fmt.Sprint("new", i)})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || !strings.HasPrefix(string(recs[0].Key), deltaPrefix) {
				t.Fatalf("change %d: %d records, want one delta", i, len(recs))
			}
			deltas = append(deltas, recs[0])
			w.Committed()
			cur = next
		}
		return topic, deltas
	}
	loadErr := func(topic *memTopic) string {
		r := newReplay("state")
		for _, rec := range topic.recs {
			r.add(rec)
		}
		st := r.finish(topic.sealer)
		if len(st.Unreadable()) == 0 {
			return ""
		}
		return st.Unreadable()[0].Error()
	}

	t.Run("gap", func(t *testing.T) {
		topic, deltas := setup(t)
		topic.commit([]*kgo.Record{deltas[0], deltas[2]})
		if msg := loadErr(topic); !strings.Contains(msg, "delta/"+tenantA+"/items/3 of the same generation after a gap") {
			t.Fatalf("load: %q", msg)
		}
	})
	t.Run("damaged", func(t *testing.T) {
		topic, deltas := setup(t)
		bad := *deltas[0]
		bad.Value = append([]byte(nil), bad.Value...)
		bad.Value[len(bad.Value)-1] ^= 1
		topic.commit([]*kgo.Record{&bad})
		if msg := loadErr(topic); !strings.Contains(msg, "delta/"+tenantA+"/items/1") || !strings.Contains(msg, "checksum") {
			t.Fatalf("load: %q", msg)
		}
	})
	t.Run("another base", func(t *testing.T) {
		topic, deltas := setup(t)
		whole, err := BookmarkRecords("state", tenantA, "items", base)
		if err != nil {
			t.Fatal(err)
		}
		topic.commit(deltas[:1])
		topic.commit(whole)
		topic.commit(deltas[1:2])
		st := topic.load()
		checkBookmark(t, st, tenantA, "items", base)
		if n := st.Summary().StaleChunks; n != 2 {
			t.Fatalf("unused records: %d, want the 2 deltas of the older base", n)
		}
	})
	t.Run("not of its base", func(t *testing.T) {
		d := bookmarkDelta{Hashes: mapDelta[uint64]{Del: []string{"missing"}}}
		if _, err := d.apply(base); err == nil || !strings.Contains(err.Error(), `removes "missing"`) {
			t.Fatalf("apply: %v", err)
		}
		d = bookmarkDelta{Verify: []verifyDelta{{Of: 1}}}
		if _, err := d.apply(base); err == nil || !strings.Contains(err.Error(), "continues traversal 1 of 0") {
			t.Fatalf("apply: %v", err)
		}
	})
}

func manyHashes(n int) map[string]uint64 {
	m := make(map[string]uint64, n)
	for i := range n {
		m[fmt.Sprintf("%08d-%s", i, "0000-0000-0000-000000000000")] = uint64(i) * 0x9e3779b97f4a7c15
	}
	return m
}

func TestWriterArguments(t *testing.T) {
	memoryOnly(t)
	for _, c := range []struct{ topic, tenant, stream, msg string }{
		{"", "t", "s", "empty topic"},
		{"state", "", "s", "tenant is empty"},
		{"state", "t", "a/b", `contains '/'`},
	} {
		w := NewBookmarkWriter(c.topic, c.tenant, c.stream, Bookmark{})
		if _, err := w.Records(Bookmark{Watermark: 1}, nil); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Records for (%q, %q, %q): %v, want an error containing %q", c.topic, c.tenant, c.stream, err, c.msg)
		}
	}
}

// TestWriterOnBroker commits a bookmark through a writer on a broker: a large version in chunks,
// changes as deltas, and a smaller version that needs fewer chunks. Each replacement removes the
// records it no longer uses in its own transaction, so that after compaction the topic holds the
// bookmark's records and nothing else.
func TestWriterOnBroker(t *testing.T) {
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))
	w := e.load(p).BookmarkWriter(tenantA, "items")
	commit := func(next Bookmark, touched []string) []*kgo.Record {
		t.Helper()
		recs, err := w.Records(next, touched)
		if err != nil {
			t.Fatalf("Records: %v", err)
		}
		e.commit(p, recs...)
		w.Committed()
		return recs
	}
	large := scanBookmark(30_000)
	if recs := commit(large, nil); len(recs) < 2 {
		t.Fatalf("30,000 hashes in %d record; the test needs chunks", len(recs))
	}
	cur := large
	for i := range 3 {
		next := cloneBM(cur)
		id := fmt.Sprint("new", i)
		next.Hashes[id] = uint64(i)
		if recs := commit(next, []string{id}); len(recs) != 1 || !strings.HasPrefix(string(recs[0].Key), deltaPrefix) {
			t.Fatalf("change %d: %d records, want one delta", i, len(recs))
		}
		cur = next
	}
	st := e.load(p)
	checkBookmark(t, st, tenantA, "items", cur)
	if info := st.Bookmarks(); len(info) != 1 || info[0].Deltas != 3 {
		t.Fatalf("Bookmarks() = %+v, want one bookmark with 3 deltas", info)
	}

	// Most records go: the change outweighs the stored version, which is written again whole, in
	// fewer records. The deltas and the chunks it no longer needs are tombstoned with it.
	small := Bookmark{Hashes: map[string]uint64{}}
	for id, h := range cur.Hashes {
		if len(small.Hashes) == 100 {
			break
		}
		small.Hashes[id] = h
	}
	recs := commit(small, nil)
	tombstones := 0
	for _, r := range recs {
		if r.Value == nil {
			tombstones++
		}
	}
	if tombstones < 4 {
		t.Fatalf("the smaller version came with %d tombstones, want the 3 deltas and the unused chunks", tombstones)
	}
	for _, compacted := range []bool{false, true} {
		if compacted {
			e.compact(p)
		}
		st = e.load(p)
		checkBookmark(t, st, tenantA, "items", small)
		if n := st.Summary().StaleChunks; n != 0 {
			t.Errorf("compacted=%t: %d unused records, want 0", compacted, n)
		}
	}
	// kfake compacts everything but the last batch; tombstones stay (until delete.retention.ms
	// on a real broker). What holds a value is the head and the startup marker.
	if e.cluster != nil {
		if sum := st.Summary(); sum.Records-sum.Tombstones-sum.Markers != 1 {
			t.Errorf("records with a value after compaction: %+v, want the head alone besides the markers", sum)
		}
	}
}

// TestWriterPipelined asks for several writes before the first is answered, as a poller that
// reads on while its pages commit, and answers them as the writer of transactions would: a
// prefix commits, and from the first failure on none does. After each round the loaded state, and
// the bookmark the writer makes its next write from, equal the last committed bookmark, and once a
// write has committed no unused record is left: the state starts with the tail of a larger
// version that Load reports unused, and the first round fails whole, so the writer must tombstone
// that tail again after taking its writes back.
func TestWriterPipelined(t *testing.T) {
	memoryOnly(t)
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 2))
			topic := newMemTopic(t)
			for _, b := range []Bookmark{{Watermark: 1, Hashes: manyHashes(20000)}, {Watermark: 2}} {
				recs, err := BookmarkRecords("state", tenantA, "items", b)
				if err != nil {
					t.Fatal(err)
				}
				topic.commit(recs)
			}
			st := topic.load()
			if st.Summary().StaleChunks == 0 {
				t.Fatal("the state holds no unused record to start with")
			}
			w := st.BookmarkWriter(tenantA, "items")
			var ids []string
			cur, _ := st.Bookmark(tenantA, "items")
			deltas, bases, failed := 0, 0, 0
			for round := range 40 {
				n := 1 + rng.IntN(5)
				asked := make([]Bookmark, 0, n)
				batches := make([][]*kgo.Record, 0, n)
				prev := cur
				for range n {
					next := cloneBM(prev)
					for i := range next.Verify {
						if next.Verify[i].Written == nil { // as loaded when empty
							next.Verify[i].Written = map[string]int64{}
						}
					}
					touched := change(rng, &next, &ids)
					recs, err := w.Append(next, touched)
					if err != nil {
						t.Fatalf("round %d: Append: %v", round, err)
					}
					for _, r := range recs {
						switch {
						case strings.HasPrefix(string(r.Key), deltaPrefix) && r.Value != nil:
							deltas++
						case strings.HasPrefix(string(r.Key), bookmarkPrefix):
							bases++
						}
					}
					if got := w.Outstanding(); got != len(asked)+1 {
						t.Fatalf("round %d: %d writes outstanding, want %d", round, got, len(asked)+1)
					}
					asked = append(asked, next)
					batches = append(batches, recs)
					prev = next
				}
				ok := n
				if round == 0 {
					ok = 0
					failed++
				} else if rng.IntN(2) == 0 {
					ok = rng.IntN(n) // the transaction of write ok fails, and so every later one
					failed++
				}
				for i := range ok {
					topic.commit(batches[i])
					w.Committed()
					cur = asked[i]
				}
				w.Failed()
				if w.Outstanding() != 0 {
					t.Fatalf("round %d: %d writes outstanding after Failed", round, w.Outstanding())
				}
				if rng.IntN(4) != 0 {
					topic.compact()
				}
				st := topic.load()
				if got, _ := st.Bookmark(tenantA, "items"); !reflect.DeepEqual(roundTrip(t, got), roundTrip(t, cur)) {
					t.Fatalf("round %d (%d of %d committed): loaded %s, committed %s", round, ok, n, short(got), short(cur))
				}
				if !reflect.DeepEqual(roundTrip(t, w.Bookmark()), roundTrip(t, cur)) {
					t.Fatalf("round %d (%d of %d committed): the writer goes on from %s, committed %s", round, ok, n, short(w.Bookmark()), short(cur))
				}
				if ok > 0 {
					if k := st.Summary().StaleChunks; k != 0 {
						t.Fatalf("round %d (%d of %d committed): %d unused records", round, ok, n, k)
					}
				}
				if rng.IntN(15) == 0 {
					w = st.BookmarkWriter(tenantA, "items")
				}
			}
			if deltas == 0 || bases < 2 || failed == 0 {
				t.Fatalf("%d deltas, %d whole writes, %d failed rounds: the run did not exercise each", deltas, bases, failed)
			}
		})
	}
}
