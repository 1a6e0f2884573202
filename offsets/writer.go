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
// bookmark. The writer keeps a copy of the committed bookmark of its own, updated by each change
// it writes, so the caller may go on changing the maps of the bookmarks it passes (a poller
// changes its working bookmark in place and takes the changes back when a commit fails).
type BookmarkWriter struct {
	topic, tenant, stream string
	err                   error // of the arguments, returned by every Records

	committed Bookmark
	stored    layout
	// stale are the keys of records of this bookmark that no version uses any more (the tail of
	// a larger older version, deltas of an older base). The next write tombstones them.
	stale []string

	pending *write
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

// write is what Records produced and Committed adopts: the change written (a delta) or, for a
// bookmark written whole, the bookmark.
type write struct {
	delta  *bookmarkDelta
	whole  Bookmark
	stored layout
}

// NewBookmarkWriter returns a writer for (tenant, stream) whose committed bookmark is committed,
// stored in a way it does not know: its first write is a whole bookmark, as BookmarkRecords
// writes it. State.BookmarkWriter knows what is stored and starts with a delta.
func NewBookmarkWriter(topic, tenant, stream string, committed Bookmark) *BookmarkWriter {
	w := &BookmarkWriter{topic: topic, tenant: tenant, stream: stream, committed: copyBookmark(committed)}
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

// Bookmark returns the last committed bookmark: the one of the last Records call followed by
// Committed.
func (w *BookmarkWriter) Bookmark() Bookmark { return w.committed }

// Records returns the records that store next, the new bookmark, given what is committed. They
// must be produced in one transaction, in order; no other record of the bookmark may be written
// until Committed or another Records.
//
// touched lists every id whose entry in Window, Hashes or a Verify's Written may differ between
// the committed bookmark and next (duplicates allowed); entries removed while moving the
// watermark or ending a scan may be left out, they are found by count. With touched nil every
// entry is compared. The cost of a delta follows len(touched) and the size of the change.
func (w *BookmarkWriter) Records(next Bookmark, touched []string) ([]*kgo.Record, error) {
	w.pending = nil
	if w.err != nil {
		return nil, w.err
	}
	st := w.stored
	if st.known && st.base+st.deltaBytes >= wholeBelow && st.deltas+1 < maxDeltas {
		d := diffBookmark(w.committed, next, touched)
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
			key := deltaKey(w.tenant, w.stream, st.deltas)
			recs := w.tombstones(nil, map[string]bool{key: true})
			recs = append(recs, &kgo.Record{Topic: w.topic, Key: []byte(key), Value: appendValue(make([]byte, 0, deltaHdrSize+len(payload)), v)})
			w.pending = &write{delta: &d, stored: st}
			return recs, nil
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
	w.pending = &write{whole: next, stored: layout{known: true, gen: head.gen, parts: int(head.parts), base: int(head.size)}}
	return append(recs, base...), nil
}

// Committed records that the transaction holding the records of the last Records call has
// committed. Without a Records call since the last Committed it does nothing.
func (w *BookmarkWriter) Committed() {
	if w.pending == nil {
		return
	}
	p := w.pending
	w.stored = p.stored
	if p.delta != nil {
		// The delta was made from w.committed, so it applies; the maps are changed in place.
		b, err := p.delta.apply(w.committed)
		if err != nil {
			// It cannot happen; were it to, the next write stores the bookmark whole, which
			// needs no committed copy (Load ignores the deltas of the replaced base).
			b, w.stored = Bookmark{}, layout{}
		}
		w.committed = b
	} else {
		w.committed = copyBookmark(p.whole)
	}
	w.stale, w.pending = nil, nil
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
