package connector

import (
	"encoding/json"
	"maps"
	"net/url"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
)

// A sync strategy decides, one page at a time, what a cycle reads and what it writes. It is a
// state machine with no I/O: it never calls Xero, never builds or commits a record, never reads
// a clock and starts no goroutine. The poller's loop (poller.cycle) asks it for its first read,
// fetches the page, hands the page to take, commits the writes the step returns, and fetches the
// step's next read, until a step has none.
//
// A strategy starts from the committed bookmark and keeps a working bookmark: the one its last
// write carries. Each write's bookmark follows the previous one, so a strategy plans its next
// read from what it has asked to write, before the write is committed. When a commit fails the
// cycle ends and the strategy is dropped; the next cycle starts a new one from the committed
// bookmark.
type strategy interface {
	// first is the cycle's first read.
	first() read
	// take reads the answer to the last read and returns what to write and what to read next.
	// An error (a *stallError) ends the cycle with nothing written.
	take(f fetched) (step, error)
	// rollback takes back what the strategy changed, since its last write, in the maps its
	// bookmarks share with the committed one.
	rollback()
}

// abandon ends a cycle whose writes from index failed on were not committed (failed ==
// len(writes) when the failure came after them): it takes back their changes to the maps they
// share with the committed bookmark, the last first, and forgets their dead letters, which the
// next cycle writes again.
func abandon(st strategy, dead *hashSet, writes []write, failed int) {
	st.rollback()
	for i := len(writes) - 1; i >= failed; i-- {
		writes[i].undo.apply()
		forgetBad(dead, writes[i].items)
	}
}

// forgetBad removes the records without readable keys among items from dead.
func forgetBad(dead *hashSet, items []item) {
	for _, it := range items {
		if it.bad != nil {
			dead.remove(it.hash())
		}
	}
}

// newStrategy returns the stream's strategy for a cycle that starts from the committed bookmark
// bm. dead holds the records without readable keys already dead-lettered, which no bookmark can
// hold; the strategy adds the ones it writes.
func newStrategy(s *streams.Stream, bm offsets.Bookmark, dead *hashSet) strategy {
	switch s.Sync {
	case streams.Keyset:
		return newKeyset(s, bm, dead)
	case streams.Offset:
		return &offsetSync{stream: s, bm: bm, dead: dead}
	case streams.Scan:
		return newScan(s, bm, dead)
	}
	return nil
}

// read is one call to Xero that a strategy asks for.
type read struct {
	// query is the stream's query with the strategy's parameters (order, offset, a filter); the
	// poller adds the paging parameters.
	query url.Values
	// page is the page number, from 1; ignored by endpoints that are not paged by number.
	page int
	// since is the If-Modified-Since (unix ms), 0 for none.
	since int64
	// lookup is the primary key of the one record this read looks up, or "".
	lookup string
}

// write is what commits at once, in one transaction (which may hold other writes too): records
// to build from the items (an item without readable keys becomes a dead letter), tombstones for
// the ids, and the bookmark that covers them.
type write struct {
	items      []item
	tombstones []string
	bm         offsets.Bookmark
	// undo takes back the changes this write made to maps it shares with the committed
	// bookmark (nil when it shares none).
	undo *undoLog
}

// touched lists the ids whose entries in the bookmark's maps the write may have changed: its
// records, its tombstones and what its undo log changed. The bookmark writer compares only
// these (offsets.BookmarkWriter.Records), so that a commit costs what it changes.
func (w write) touched() []string {
	ids := make([]string, 0, len(w.items)+len(w.tombstones))
	for _, it := range w.items {
		if it.bad == nil {
			ids = append(ids, it.meta.id)
		}
	}
	ids = append(ids, w.tombstones...)
	if w.undo != nil {
		for _, e := range w.undo.entries {
			ids = append(ids, e.id)
		}
	}
	return ids
}

// step is the outcome of one page: the writes to commit, in order, then the next read (nil: the
// cycle is over), and what the poller should log or count.
type step struct {
	writes []write
	next   *read
	notes  []note
}

// note is an event of a step that the poller logs or counts.
type note struct {
	kind noteKind
	// notePage: the page read, its size, how many of its records were new, whether it was last.
	page, records, fresh int
	last                 bool
	// noteCoarse: the If-Modified-Since asked for; noteReread: the range read again.
	from, to int64
}

type noteKind int

const (
	// notePage: a keyset page was read.
	notePage noteKind = iota + 1
	// noteCoarse: the server sent records older than If-Modified-Since.
	noteCoarse
	// noteReread: a traversal's range is read again.
	noteReread
)

// item is one record of a page with what the connector read from it.
type item struct {
	raw  json.RawMessage
	meta recordMeta
	// bad is why the record's keys could not be read; such a record goes to the dead-letter
	// topic.
	bad error
	// at is when the page was read: the record's extraction time.
	at time.Time
}

// hash fingerprints the record's bytes. Scans compare it with the bookmark's to find changed
// records, and dead letters without readable keys are known by it; the other records never
// need it, so it is worked out only when asked for.
func (it item) hash() uint64 { return xxhash.Sum64(it.raw) }

// fetched is one page of a stream.
type fetched struct {
	items []item
	// last is true when no page follows this one.
	last bool
	// serverTime is Xero's clock when it answered, unix ms (0 when unknown).
	serverTime int64
}

// keepBad reports whether a record without readable keys is to be dead-lettered: not when the
// same bytes were dead-lettered already.
func keepBad(dead *hashSet, it item) bool {
	return dead.add(it.hash())
}

// cloneBookmark returns a deep copy of b: a working copy that a failed commit leaves behind.
func cloneBookmark(b offsets.Bookmark) offsets.Bookmark {
	c := b
	c.Window = maps.Clone(b.Window)
	c.Hashes = maps.Clone(b.Hashes)
	if b.Verify != nil {
		c.Verify = make([]offsets.Verify, len(b.Verify))
		for i, v := range b.Verify {
			c.Verify[i] = v
			c.Verify[i].Written = copyPositions(v.Written)
		}
	}
	return c
}

// hashSet is a bounded set of record hashes: when full it forgets everything and starts again,
// so at worst a record is dead-lettered twice.
type hashSet struct {
	m map[uint64]struct{}
}

const hashSetLimit = 10000

// add inserts h and reports whether it was new.
func (s *hashSet) add(h uint64) bool {
	if _, ok := s.m[h]; ok {
		return false
	}
	if s.m == nil || len(s.m) >= hashSetLimit {
		s.m = make(map[uint64]struct{})
	}
	s.m[h] = struct{}{}
	return true
}

// remove forgets h.
func (s *hashSet) remove(h uint64) { delete(s.m, h) }
