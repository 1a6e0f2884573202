package offsets

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"maps"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A bookmark that changes a little at each commit is stored as a base (the head and chunk records
// of BookmarkRecords) and a run of delta records, each holding what changed since the one before.
// A commit writes one delta, whose size follows the change, not the bookmark. Once the deltas
// would outweigh the base, the commit writes a new base instead and tombstones the deltas and any
// chunk the new base no longer needs, in the same transaction. The base's size at least doubles
// between two rewrites while it grows, so the bytes written stay proportional to the changes.
const (
	// wholeBelow is the stored size under which a bookmark is always written whole: a delta
	// would save next to nothing and leave one more record to replay and clean up.
	wholeBelow = 4 << 10

	// maxDeltas bounds the delta records on one base, and so the records Load reads per bookmark.
	maxDeltas = 1 << 12
)

// BookmarkWriter writes the successive bookmarks of one (tenant, stream), each as the records
// that store it given what is already stored. It is not safe for concurrent use.
//
// Use it once per commit:
//
//	recs, err := w.Records(next, touched) // produce recs in the transaction of the page
//	// ... commit the transaction ...
//	w.Committed() // only once the transaction has committed
//
// A commit that fails needs nothing: the next Records starts again from the last committed
// bookmark. The writer keeps a copy of the bookmark of its own, updated by each change it writes,
// so the caller may go on changing the maps of the bookmarks it passes (a poller changes its
// working bookmark in place and takes the changes back when a commit fails).
//
// Writes may also be asked for before the earlier ones are answered, each made from the one
// before (a pipeline of transactions, committed in order):
//
//	a, _ := w.Append(b1, t1) // transaction 1
//	b, _ := w.Append(b2, t2) // transaction 2, a change from b1
//	w.Committed()            // transaction 1 committed
//	w.Failed()               // transaction 2 failed: the next write is made from b1
//
// Each outstanding write keeps what it changed in the writer's copy, so taking writes back costs
// what they changed, not the size of the bookmark.
type BookmarkWriter struct {
	topic, tenant, stream string
	err                   error // of the arguments, returned by every Records

	// last is the bookmark of the last write asked for (the committed one when none is
	// outstanding) and stored how it is stored once that write commits.
	last   Bookmark
	stored layout
	// stale are the keys of records of this bookmark that no version uses any more (the tail of
	// a larger older version, deltas of an older base). The next write tombstones them.
	stale []string

	// pending are the writes asked for and not yet answered, oldest first.
	pending []*write
}

// layout is how the committed bookmark is stored.
type layout struct {
	known      bool // false: nothing stored, or not known what: the next write is a base
	gen        [genSize]byte
	parts      int // records of the base: head and chunks
	base       int // stored payload bytes of the base
	deltas     int // delta records 1..deltas on the base
	deltaBytes int // their stored payload bytes
}

// write is an outstanding write: what to restore in the writer to take it back.
type write struct {
	// prev is the writer's bookmark before the write, prevStored its layout, and stale the
	// unused keys the write tombstones.
	prev       Bookmark
	prevStored layout
	stale      []string
	// undo holds the old values of the entries a delta changed in prev's maps (a whole write
	// changes none: the writer takes a copy of it).
	undo bookmarkUndo
}

// NewBookmarkWriter returns a writer for (tenant, stream) whose committed bookmark is committed,
// stored in a way it does not know: its first write is a whole bookmark, as BookmarkRecords
// writes it. State.BookmarkWriter knows what is stored and starts with a delta.
func NewBookmarkWriter(topic, tenant, stream string, committed Bookmark) *BookmarkWriter {
	w := &BookmarkWriter{topic: topic, tenant: tenant, stream: stream, last: copyBookmark(committed)}
	switch {
	case topic == "":
		w.err = fmt.Errorf("bookmark writer for %s/%s: empty topic name", tenant, stream)
	default:
		if err := checkIDNames(tenant, stream); err != nil {
			w.err = fmt.Errorf("bookmark writer: %w", err)
		}
	}
	return w
}

// BookmarkWriter returns the writer of (tenant, stream) starting from the loaded bookmark (none:
// the zero Bookmark) and how it is stored. Its first write also tombstones the records of the
// bookmark that Load found unused.
func (s *State) BookmarkWriter(tenant, stream string) *BookmarkWriter {
	id := BookmarkID{Tenant: tenant, Stream: stream}
	w := NewBookmarkWriter(s.topic, tenant, stream, s.bookmarks[id])
	w.stored = s.layouts[id]
	w.stale = s.staleByID[id]
	return w
}

// Bookmark returns the bookmark the next write is made from: the last committed one when no
// write is outstanding, else the one of the last write asked for.
func (w *BookmarkWriter) Bookmark() Bookmark { return w.last }

// Records returns the records that store next, the new bookmark, given what is committed. They
// must be produced in one transaction, in order; no other record of the bookmark may be written
// until Committed or another Records.
//
// touched lists every id whose entry in Window, Hashes or a Verify's Written may differ between
// the committed bookmark and next (duplicates allowed); entries removed while moving the
// watermark or ending a scan may be left out, they are found by count. With touched nil every
// entry is compared. The cost of a delta follows len(touched) and the size of the change.
func (w *BookmarkWriter) Records(next Bookmark, touched []string) ([]*kgo.Record, error) {
	w.Failed()
	return w.Append(next, touched)
}

// Append is Records for a write asked for while earlier ones are outstanding: its records store
// next given the bookmark of the last write asked for, and are to be committed after those of
// that write, in a later transaction or later in the same one. Committed answers the oldest
// outstanding write; Failed takes back every outstanding one.
func (w *BookmarkWriter) Append(next Bookmark, touched []string) ([]*kgo.Record, error) {
	if w.err != nil {
		return nil, w.err
	}
	st := w.stored
	if st.known && st.base+st.deltaBytes >= wholeBelow && st.deltas+1 < maxDeltas {
		d := diffBookmark(w.last, next, touched)
		raw, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("bookmark records for %s/%s: encode the change: %w", w.tenant, w.stream, err)
		}
		payload, codec := compress(raw)
		if len(payload) <= chunkSize && st.deltaBytes+len(payload) <= st.base {
			st.deltas++
			st.deltaBytes += len(payload)
			v := value{
				version: writeVersion(kindDelta), kind: kindDelta, gen: st.gen, index: uint32(st.deltas),
				codec: codec, rawSize: uint32(len(raw)), sum: crc32.Checksum(payload, crcTable), data: payload,
			}
			// The delta was made from w.last, so it applies; its maps are changed in place.
			pw := &write{prev: w.last, prevStored: w.stored, undo: undoOf(w.last, d)}
			if b, err := d.apply(w.last); err == nil {
				key := deltaKey(w.tenant, w.stream, st.deltas)
				recs := w.tombstones(nil, map[string]bool{key: true})
				recs = append(recs, &kgo.Record{Topic: w.topic, Key: []byte(key), Value: appendValue(make([]byte, 0, deltaHdrSize+len(payload)), v)})
				pw.stale, w.stale = w.stale, nil
				w.last, w.stored = b, st
				w.pending = append(w.pending, pw)
				return recs, nil
			}
			// It cannot happen; were it to, the bookmark is written whole, which needs no
			// copy (Load ignores the deltas of a replaced base).
			pw.undo.restore()
			st = w.stored
		}
	}

	base, err := BookmarkRecords(w.topic, w.tenant, w.stream, next)
	if err != nil {
		return nil, err
	}
	head, err := decodeValue(base[0].Value)
	if err != nil {
		return nil, fmt.Errorf("bookmark records for %s/%s: read back the head: %w", w.tenant, w.stream, err)
	}
	written := make(map[string]bool, len(base))
	for _, r := range base {
		written[string(r.Key)] = true
	}
	var gone []string
	if st.known {
		for i := int(head.parts); i < st.parts; i++ {
			gone = append(gone, chunkKey(w.tenant, w.stream, i))
		}
		for i := 1; i <= st.deltas; i++ {
			gone = append(gone, deltaKey(w.tenant, w.stream, i))
		}
	}
	recs := w.tombstones(gone, written)
	w.pending = append(w.pending, &write{prev: w.last, prevStored: w.stored, stale: w.stale})
	w.last, w.stale = copyBookmark(next), nil
	w.stored = layout{known: true, gen: head.gen, parts: int(head.parts), base: int(head.size)}
	return append(recs, base...), nil
}

// Committed records that the transaction holding the records of the oldest outstanding write has
// committed. Without an outstanding write it does nothing.
func (w *BookmarkWriter) Committed() {
	if len(w.pending) == 0 {
		return
	}
	w.pending[0] = nil
	w.pending = w.pending[1:]
}

// Failed takes back every outstanding write: their transactions failed, or will not be committed
// (a later one is refused once an earlier one failed). The next write is made from the last
// committed bookmark and tombstones again the unused records the failed writes were to remove.
func (w *BookmarkWriter) Failed() {
	for i := len(w.pending) - 1; i >= 0; i-- {
		p := w.pending[i]
		p.undo.restore()
		w.last, w.stored = p.prev, p.prevStored
		if p.stale != nil {
			w.stale = p.stale
		}
		w.pending[i] = nil
	}
	w.pending = w.pending[:0]
}

// Outstanding returns the number of writes asked for and not yet answered.
func (w *BookmarkWriter) Outstanding() int { return len(w.pending) }

// bookmarkUndo holds the old values of the entries a delta changes in a bookmark's maps, which
// it changes in place.
type bookmarkUndo struct {
	window, written mapUndo[int64]
	hashes          mapUndo[uint64]
}

// undoOf returns what restores the entries of b's maps that d changes.
func undoOf(b Bookmark, d bookmarkDelta) bookmarkUndo {
	var u bookmarkUndo
	u.window.note(b.Window, d.Window)
	u.hashes.note(b.Hashes, d.Hashes)
	for _, vd := range d.Verify {
		if vd.Of > 0 && vd.Of <= len(b.Verify) {
			u.written.note(b.Verify[vd.Of-1].Written, vd.Written)
		}
	}
	return u
}

// restore puts the old values back.
func (u *bookmarkUndo) restore() {
	u.window.restore()
	u.hashes.restore()
	u.written.restore()
}

// mapUndo holds the old values of map entries.
type mapUndo[V comparable] []mapEntry[V]

type mapEntry[V comparable] struct {
	m   map[string]V
	id  string
	old V
	had bool
}

// note remembers the entries of m that d sets or removes (none when m is nil: applying d then
// makes a new map).
func (u *mapUndo[V]) note(m map[string]V, d mapDelta[V]) {
	if m == nil {
		return
	}
	for _, id := range d.Del {
		old, had := m[id]
		*u = append(*u, mapEntry[V]{m: m, id: id, old: old, had: had})
	}
	for id := range d.Set {
		old, had := m[id]
		*u = append(*u, mapEntry[V]{m: m, id: id, old: old, had: had})
	}
}

// restore puts the noted entries back, the last noted first.
func (u *mapUndo[V]) restore() {
	for i := len(*u) - 1; i >= 0; i-- {
		e := (*u)[i]
		if e.had {
			e.m[e.id] = e.old
		} else {
			delete(e.m, e.id)
		}
	}
	*u = nil
}

// copyBookmark returns a deep copy of b.
func copyBookmark(b Bookmark) Bookmark {
	c := b
	c.Window = maps.Clone(b.Window)
	c.Hashes = maps.Clone(b.Hashes)
	if b.Verify != nil {
		c.Verify = make([]Verify, len(b.Verify))
		for i, v := range b.Verify {
			c.Verify[i] = v
			c.Verify[i].Written = maps.Clone(v.Written)
		}
	}
	return c
}

// tombstones returns tombstones for keys and the stale keys, except those written in the same
// transaction (which replace them anyway; a tombstone there could only do harm).
func (w *BookmarkWriter) tombstones(keys []string, written map[string]bool) []*kgo.Record {
	recs := make([]*kgo.Record, 0, len(keys)+len(w.stale)+1)
	seen := make(map[string]bool, len(keys)+len(w.stale))
	for _, k := range append(keys, w.stale...) {
		if written[k] || seen[k] {
			continue
		}
		seen[k] = true
		recs = append(recs, &kgo.Record{Topic: w.topic, Key: []byte(k)})
	}
	return recs
}

// compress returns the stored form of a JSON payload and its codec.
func compress(raw []byte) ([]byte, payloadCodec) {
	if len(raw) > compressAbove {
		if z := zstdEncoder().EncodeAll(raw, nil); len(z) < len(raw) {
			return z, codecZstdJSON
		}
	}
	return raw, codecJSON
}
