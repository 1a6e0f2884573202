package offsets

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordKeys returns the keys of recs, a tombstone's marked with a leading "-".
func recordKeys(recs []*kgo.Record) []string {
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = string(r.Key)
		if r.Value == nil {
			keys[i] = "-" + keys[i]
		}
	}
	return keys
}

// TestParkedWriterWritesAsOne: a writer dropped after each commit and made again from the
// committed bookmark and StoredBookmark writes the same records (keys, deltas, tombstones) as one
// writer kept throughout, and the state topic then holds the same bookmark.
func TestParkedWriterWritesAsOne(t *testing.T) {
	memoryOnly(t)
	// A stored bookmark with deltas, as a start finds it.
	seed := newMemTopic(t)
	w0 := seed.load().BookmarkWriter(tenantA, "invoices")
	cur := Bookmark{Watermark: 1_732_000_000_000, Window: map[string]int64{}}
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []string
	for range 40 {
		next := cloneBM(cur)
		touched := change(rng, &next, &ids)
		recs, err := w0.Records(next, touched)
		if err != nil {
			t.Fatal(err)
		}
		seed.commit(recs)
		w0.Committed()
		cur = next
	}

	kept, parked := newMemTopic(t), newMemTopic(t)
	kept.recs, parked.recs = slices.Clone(seed.recs), slices.Clone(seed.recs)
	kept.next, parked.next = seed.next, seed.next
	st := seed.load()
	loaded, _ := st.Bookmark(tenantA, "invoices")
	wk := st.BookmarkWriter(tenantA, "invoices")
	sb := st.Stored(tenantA, "invoices")
	st.ReleaseBookmarks()
	if _, ok := st.Bookmark(tenantA, "invoices"); ok || len(st.Bookmarks()) != 0 {
		t.Fatal("the state still holds the bookmarks after ReleaseBookmarks")
	}
	committed := cloneBM(loaded)
	deltas := 0
	for step := range 300 {
		next := cloneBM(committed)
		touched := change(rng, &next, &ids)
		a, err := wk.Records(next, touched)
		if err != nil {
			t.Fatal(err)
		}
		wp := sb.Writer("state", tenantA, "invoices", committed)
		b, err := wp.Records(next, touched)
		if err != nil {
			t.Fatal(err)
		}
		if ka, kb := recordKeys(a), recordKeys(b); !slices.Equal(ka, kb) {
			t.Fatalf("step %d: the kept writer writes %v, the parked one %v", step, ka, kb)
		}
		if len(a) > 0 && len(a[len(a)-1].Key) > len(deltaPrefix) && string(a[len(a)-1].Key[:len(deltaPrefix)]) == deltaPrefix {
			deltas++
		}
		kept.commit(a)
		parked.commit(b)
		wk.Committed()
		wp.Committed()
		sb = wp.Park()
		committed = next
	}
	if deltas < 100 {
		t.Errorf("%d of 300 writes were deltas; the test means to compare deltas", deltas)
	}
	want := roundTrip(t, committed)
	checkBookmark(t, kept.load(), tenantA, "invoices", want)
	checkBookmark(t, parked.load(), tenantA, "invoices", want)
}
