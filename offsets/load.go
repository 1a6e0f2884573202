package offsets

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// statePartition is the state topic's only partition.
const statePartition = 0

// Load reads the committed state from the state topic.
//
//  1. It checks that the topic exists with one partition and cleanup.policy=compact.
//  2. It writes a startup marker (key "startup", a random nonce) in a transaction of its own with
//     producer, which must be the instance's transactional producer and not be in a transaction.
//     The first transaction of a producer fences every earlier producer with the same
//     transactional id and aborts its open transaction, so no older instance can commit anything
//     after this point. If producer is itself fenced, the error satisfies errors.Is(err, ErrFenced).
//  3. It replays the partition from the start with a new read_committed consumer, built from
//     consumerOpts (seed brokers, TLS, SASL, logger; no topics or isolation level: Load sets
//     those), until it reaches its own marker. Everything before it is the committed state: the
//     last value of each key. This works whatever the log ends with (an aborted transaction,
//     control records, earlier markers), where waiting for the end offset could hang.
//
// A record Load cannot read (a key it does not know, a value from a newer release, a damaged
// value, a bookmark with a missing part, a token the sealer cannot open) stops it with a
// *RecordError naming the offset and the key. Nothing must be written to the state topic until Load
// has returned a State. Load waits for as long as ctx allows: give it a deadline.
func Load(ctx context.Context, producer *kgo.Client, consumerOpts []kgo.Opt, topic string, s Sealer) (*State, error) {
	switch {
	case producer == nil:
		return nil, errors.New("load state: no producer")
	case topic == "":
		return nil, errors.New("load state: empty topic name")
	case s == nil:
		return nil, fmt.Errorf("load state from %s: no sealer", topic)
	}
	opts := append(slices.Clip(consumerOpts),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			topic: {statePartition: kgo.NewOffset().AtStart()},
		}),
	)
	consumer, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("load state from %s: consumer: %w", topic, err)
	}
	defer consumer.Close()

	if err := checkTopic(ctx, kadm.NewClient(consumer), topic); err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	m, err := writeMarker(ctx, producer, topic)
	if err != nil {
		if IsFenced(err) {
			return nil, fmt.Errorf("load state from %s: write startup marker: %w: %w", topic, ErrFenced, err)
		}
		return nil, fmt.Errorf("load state from %s: write startup marker: %w", topic, err)
	}
	r := &replay{
		topic:  topic,
		heads:  make(map[BookmarkID]entry),
		chunks: make(map[chunkID]entry),
	}
	if err := r.run(ctx, consumer, m); err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	st, err := r.finish(s)
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	st.summary.MarkerOffset = m.offset
	return st, nil
}

// marker is the startup marker this Load wrote: where it landed and what it holds.
type marker struct {
	offset int64
	nonce  [nonceSize]byte
}

// writeMarker commits a startup marker in a transaction of its own.
func writeMarker(ctx context.Context, cl *kgo.Client, topic string) (marker, error) {
	v := value{version: formatVersion, kind: kindStartup, at: time.Now().UnixMilli()}
	rand.Read(v.nonce[:]) // never returns an error (crypto/rand, Go 1.24+)
	rec := &kgo.Record{Topic: topic, Key: []byte(startupKey), Value: appendValue(nil, v)}

	if err := cl.BeginTransaction(); err != nil {
		return marker{}, fmt.Errorf("begin transaction: %w", err)
	}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return marker{}, errors.Join(fmt.Errorf("produce: %w", err), abort(ctx, cl))
	}
	// On a producer-ID error kgo answers TryCommit with OperationNotAttempted and expects TryAbort;
	// after an unknown outcome, TryAbort also resets the producer for its next transaction.
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return marker{}, errors.Join(fmt.Errorf("commit: %w", err), abort(ctx, cl))
	}
	if rec.Partition != statePartition {
		return marker{}, fmt.Errorf("the marker went to partition %d, not %d", rec.Partition, statePartition)
	}
	return marker{offset: rec.Offset, nonce: v.nonce}, nil
}

func abort(ctx context.Context, cl *kgo.Client) error {
	if err := cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return fmt.Errorf("abort: %w", err)
	}
	return nil
}

// entry is the last record read for a key.
type entry struct {
	offset int64
	key    string
	v      value
}

type chunkID struct {
	BookmarkID
	index uint32
}

// replay collects the last value of each key, checking each record's key and value layout as it
// goes. Payloads (bookmark JSON, the sealed token) are read once, for the last values only, by
// finish.
type replay struct {
	topic  string
	heads  map[BookmarkID]entry
	chunks map[chunkID]entry
	token  *entry
	sum    Summary
}

// run consumes until the record at the marker's offset, which must be the marker.
func (r *replay) run(ctx context.Context, cl *kgo.Client, m marker) error {
	next := int64(0) // the offset after the last record read, for errors
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("replay %s: stopped at offset %d before the startup marker at offset %d: %w",
				r.topic, next, m.offset, err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if ferr == nil {
				ferr = fmt.Errorf("replay %s: fetch partition %d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		for it := fs.RecordIter(); !it.Done(); {
			rec := it.Next()
			switch {
			case rec.Offset < m.offset:
				if err := r.apply(rec); err != nil {
					return err
				}
				next = rec.Offset + 1
			case rec.Offset == m.offset:
				v, err := decodeValue(rec.Value)
				if string(rec.Key) == startupKey && err == nil && v.kind == kindStartup && v.nonce == m.nonce {
					return nil
				}
				return r.recordError(rec, errors.New("the record at the offset of this instance's startup marker is not that marker"))
			default:
				// Compaction removed our marker, which it does only when a later one exists:
				// another instance has started since this one wrote its marker.
				return fmt.Errorf("replay %s: offset %d follows the startup marker written at offset %d, which is gone: "+
					"another instance has started since: %w", r.topic, rec.Offset, m.offset, ErrFenced)
			}
		}
	}
}

func (r *replay) recordError(rec *kgo.Record, err error) error {
	return &RecordError{Topic: r.topic, Partition: rec.Partition, Offset: rec.Offset, Key: string(rec.Key), Err: err}
}

// apply reads one record before the marker.
func (r *replay) apply(rec *kgo.Record) error {
	r.sum.Records++
	r.sum.Bytes += int64(len(rec.Key) + len(rec.Value))
	k, err := parseKey(rec.Key)
	if err != nil {
		return r.recordError(rec, err)
	}
	id := k.id()
	if rec.Value == nil { // a tombstone deletes the key
		r.sum.Tombstones++
		switch k.kind {
		case keyToken:
			r.token = nil
		case keyBookmark:
			delete(r.heads, id)
		case keyChunk:
			delete(r.chunks, chunkID{id, uint32(k.index)})
		}
		return nil
	}
	v, err := decodeValue(rec.Value)
	if err != nil {
		return r.recordError(rec, err)
	}
	if want := kindFor(k.kind); v.kind != want {
		return r.recordError(rec, fmt.Errorf("value of kind %q under a key that holds kind %q", byte(v.kind), byte(want)))
	}
	e := entry{offset: rec.Offset, key: string(rec.Key), v: v}
	switch k.kind {
	case keyToken:
		r.token = &e
	case keyStartup:
		r.sum.Markers++
	case keyBookmark:
		r.heads[id] = e
	case keyChunk:
		if v.index != uint32(k.index) {
			return r.recordError(rec, fmt.Errorf("chunk value says index %d, its key says %d", v.index, k.index))
		}
		r.chunks[chunkID{id, v.index}] = e
	}
	return nil
}

// finish puts the bookmarks back together and opens the token.
func (r *replay) finish(s Sealer) (*State, error) {
	st := &State{
		topic:     r.topic,
		bookmarks: make(map[BookmarkID]Bookmark, len(r.heads)),
		info:      make([]BookmarkInfo, 0, len(r.heads)),
		summary:   r.sum,
	}
	st.summary.Topic = r.topic
	used := make(map[chunkID]bool)
	var payload []byte
	for id, h := range r.heads {
		payload = append(payload[:0], h.v.data...)
		for i := uint32(1); i < h.v.parts; i++ {
			cid := chunkID{id, i}
			c, ok := r.chunks[cid]
			if !ok || c.v.gen != h.v.gen {
				return nil, &RecordError{
					Topic: r.topic, Partition: statePartition, Offset: h.offset, Key: h.key,
					Err: fmt.Errorf("bookmark of %d records (generation %x) is missing record %s", h.v.parts, h.v.gen, chunkKey(id.Tenant, id.Stream, int(i))),
				}
			}
			used[cid] = true
			payload = append(payload, c.v.data...)
		}
		b, err := decodeBookmark(h.v, payload)
		if err != nil {
			return nil, &RecordError{Topic: r.topic, Partition: statePartition, Offset: h.offset, Key: h.key, Err: fmt.Errorf("bookmark: %w", err)}
		}
		st.bookmarks[id] = b
		st.info = append(st.info, BookmarkInfo{
			BookmarkID: id, Offset: h.offset, Records: int(h.v.parts),
			Stored: int(h.v.size), JSON: int(h.v.rawSize),
		})
		if h.v.parts > 1 {
			st.summary.Chunked++
		}
	}
	for cid := range r.chunks {
		if !used[cid] {
			st.stale = append(st.stale, chunkKey(cid.Tenant, cid.Stream, int(cid.index)))
		}
	}
	slices.Sort(st.stale)
	slices.SortFunc(st.info, func(a, b BookmarkInfo) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Stream, b.Stream))
	})
	st.summary.Bookmarks = len(st.bookmarks)
	st.summary.StaleChunks = len(st.stale)
	if r.token != nil {
		t, err := decodeToken(r.token.v, r.token.key, s)
		if err != nil {
			return nil, &RecordError{Topic: r.topic, Partition: statePartition, Offset: r.token.offset, Key: r.token.key, Err: err}
		}
		st.token, st.hasToken = t, true
		st.summary.Token = true
		st.summary.TokenSavedAt = t.SavedAt
	}
	return st, nil
}

// State is the committed state read by Load. It is not safe for concurrent use; the connector reads
// it once at start.
type State struct {
	topic     string
	bookmarks map[BookmarkID]Bookmark
	info      []BookmarkInfo // sorted by tenant, stream
	token     Token
	hasToken  bool
	stale     []string // keys of chunk records no bookmark uses, sorted
	summary   Summary
}

// Summary counts what Load read: for logs and the status page. It holds no secret.
type Summary struct {
	Topic        string
	Records      int       // records replayed before the startup marker (committed, not yet compacted away)
	Bytes        int64     // their keys and values, in bytes
	Tombstones   int       // records with no value (deletions)
	Markers      int       // startup markers of earlier starts
	Bookmarks    int       // bookmarks loaded
	Chunked      int       // of which stored over more than one record
	StaleChunks  int       // chunk records of older bookmark versions, ignored (see StaleChunkTombstones)
	Token        bool      // a refresh token is stored
	TokenSavedAt time.Time // when it was saved
	MarkerOffset int64     // where this start's marker is
}

// BookmarkInfo describes one loaded bookmark without its content.
type BookmarkInfo struct {
	BookmarkID
	Offset  int64 // of its head record
	Records int   // head and chunks
	Stored  int   // stored payload bytes (compressed when Stored < JSON)
	JSON    int   // JSON bytes
}

// Bookmark returns the bookmark of (tenant, stream), and whether one is stored. The maps and slices
// of the result belong to the State: the caller may take them over, not share them.
func (s *State) Bookmark(tenant, stream string) (Bookmark, bool) {
	b, ok := s.bookmarks[BookmarkID{Tenant: tenant, Stream: stream}]
	return b, ok
}

// Token returns the last committed refresh token, and whether one is stored.
func (s *State) Token() (Token, bool) { return s.token, s.hasToken }

// Bookmarks lists the loaded bookmarks, sorted by tenant and stream.
func (s *State) Bookmarks() []BookmarkInfo { return slices.Clone(s.info) }

// Summary counts what was loaded.
func (s *State) Summary() Summary { return s.summary }

// String describes the state by its counts, never its content: the State holds the token, and
// printing it (%v, %+v, ...) must not show it.
func (s *State) String() string {
	sum := s.summary
	return fmt.Sprintf("State{Topic:%s Records:%d Bookmarks:%d Chunked:%d StaleChunks:%d Markers:%d HasRefreshToken:%t}",
		sum.Topic, sum.Records, sum.Bookmarks, sum.Chunked, sum.StaleChunks, sum.Markers, sum.Token)
}

// GoString is String.
func (s *State) GoString() string { return s.String() }

// Format writes String for every verb.
func (s *State) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue logs the summary: counts, never the token.
func (s *State) LogValue() slog.Value {
	sum := s.summary
	return slog.GroupValue(
		slog.String("topic", sum.Topic),
		slog.Int("records", sum.Records),
		slog.Int64("bytes", sum.Bytes),
		slog.Int("bookmarks", sum.Bookmarks),
		slog.Int("chunked", sum.Chunked),
		slog.Int("stale_chunks", sum.StaleChunks),
		slog.Int("markers", sum.Markers),
		slog.Bool("has_refresh_token", sum.Token),
		slog.Int64("marker_offset", sum.MarkerOffset),
	)
}

// StaleChunkTombstones returns tombstones for the chunk records that no loaded bookmark uses: the
// tail of an older, larger version of a bookmark. Load ignores them, so removing them is optional;
// it saves their bytes at every later start. Produce them in a transaction before any bookmark
// record is written (a tombstone produced after a new chunk of the same key would delete it).
func (s *State) StaleChunkTombstones() []*kgo.Record {
	recs := make([]*kgo.Record, 0, len(s.stale))
	for _, k := range s.stale {
		recs = append(recs, &kgo.Record{Topic: s.topic, Key: []byte(k)})
	}
	return recs
}
