package connector

import (
	"slices"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
)

// scanFlush is how many records a multi-page scan gathers before it commits them with its
// progress: fewer, larger transactions, since each carries the whole fingerprint map.
const scanFlush = 2000

// scanSync reads the whole stream and writes what differs from the last scan: records whose
// content changed (their fingerprint in the bookmark differs) and a tombstone for each record
// that is gone.
//
// A scan of an unpaged endpoint is one consistent answer, so a record missing from it is gone. A
// multi-page scan can miss a record that shifted across a page boundary while it ran, so each
// record it did not see is looked up by its id before it is declared deleted.
type scanSync struct {
	stream *streams.Stream
	dead   *hashSet
	// next is the working bookmark: the fingerprints of the records written so far.
	next offsets.Bookmark
	// seen holds the ids the scan has read.
	seen map[string]struct{}
	// out and tombs are written with the next write.
	out   []item
	tombs []string
	page  int
	// multiPage is set when the list had more than one page; changed when the fingerprints
	// changed since the last write.
	multiPage, changed bool
	// missing are the ids of the last scan that this one did not see, in order; missing[at] is
	// the one being looked up.
	missing []string
	at      int
}

func newScan(s *streams.Stream, bm offsets.Bookmark, dead *hashSet) *scanSync {
	next := cloneBookmark(bm)
	if next.Hashes == nil {
		next.Hashes = make(map[string]uint64)
	}
	return &scanSync{stream: s, dead: dead, next: next, seen: make(map[string]struct{}, len(next.Hashes)), page: 1}
}

func (s *scanSync) first() read { return read{query: s.stream.Query(), page: 1} }

// rollback forgets the dead letters gathered since the last write. The fingerprints need
// nothing: a scan works on its own copy, taken at the start and after each write (each write
// carries the whole map anyway).
func (s *scanSync) rollback() { forgetBad(s.dead, s.out) }

func (s *scanSync) take(f fetched) (step, error) {
	if s.missing != nil {
		return s.looked(f), nil
	}
	for _, it := range f.items {
		if it.bad == nil {
			s.seen[it.meta.id] = struct{}{}
			h := it.hash()
			if old, ok := s.next.Hashes[it.meta.id]; ok && old == h {
				continue
			}
			s.next.Hashes[it.meta.id] = h
			s.changed = true
		} else if !keepBad(s.dead, it) {
			continue
		}
		s.out = append(s.out, it)
	}
	var st step
	if !f.last {
		s.multiPage = true
		if len(s.out) >= scanFlush {
			s.flush(&st)
		}
		s.page++
		st.next = &read{query: s.stream.Query(), page: s.page}
		return st, nil
	}
	s.missing = []string{}
	for id := range s.next.Hashes {
		if _, ok := s.seen[id]; !ok {
			s.missing = append(s.missing, id)
		}
	}
	slices.Sort(s.missing)
	return s.deletions(st), nil
}

// flush adds a write of what the scan gathered to st; the scan goes on from a copy of its
// bookmark.
func (s *scanSync) flush(st *step) {
	st.writes = append(st.writes, write{items: s.out, tombstones: s.tombs, bm: s.next})
	s.next, s.out, s.tombs = cloneBookmark(s.next), nil, nil
}

// deletions settles the missing ids from missing[at]: each is looked up, when the scan had
// several pages and the endpoint can select a record by id, or else tombstoned. When none is
// left, it writes what changed.
func (s *scanSync) deletions(st step) step {
	for ; s.at < len(s.missing); s.at++ {
		id := s.missing[s.at]
		if s.multiPage && s.stream.FilterParam != "" {
			q := s.stream.Query()
			q.Set(s.stream.FilterParam, id)
			st.next = &read{query: q, page: 1, lookup: id}
			return st
		}
		s.gone(id)
	}
	if s.changed || len(s.out) > 0 || len(s.tombs) > 0 {
		s.flush(&st)
	}
	return st
}

// looked reads the answer to the lookup of missing[at].
func (s *scanSync) looked(f fetched) step {
	id := s.missing[s.at]
	i := slices.IndexFunc(f.items, func(it item) bool { return it.bad == nil && it.meta.id == id })
	if i < 0 {
		s.gone(id)
	} else if h := f.items[i].hash(); h != s.next.Hashes[id] {
		s.next.Hashes[id] = h
		s.changed = true
		s.out = append(s.out, f.items[i])
	}
	s.at++
	return s.deletions(step{})
}

// gone tombstones a record Xero no longer has.
func (s *scanSync) gone(id string) {
	s.tombs = append(s.tombs, id)
	delete(s.next.Hashes, id)
	s.changed = true
}
