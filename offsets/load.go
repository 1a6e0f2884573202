package offsets

import (
	"bytes"
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
// Each key is judged by its last record only, as compaction will leave it: a tombstone removes the
// key, whether this release knows the key or not, so an unreadable record is removed by producing
// a tombstone for its key. A last record Load cannot read (a key it does not know, a value from a
// newer release, a damaged value, a bookmark with a missing part) stops it with an error wrapping
// the *RecordError of the first one, naming its offset and key. A stored token the sealer cannot
// open does not stop Load: State.CheckSeed decides whether the start may go on.
//
// Nothing must be written to the state topic until Load has returned a State. Load waits for as
// long as ctx allows: give it a deadline.
func Load(ctx context.Context, producer *kgo.Client, consumerOpts []kgo.Opt, topic string, s Sealer) (*State, error) {
	switch {
	case producer == nil:
		return nil, errors.New("load state: no producer")
	case topic == "":
		return nil, errors.New("load state: empty topic name")
	case s == nil:
		return nil, fmt.Errorf("load state from %s: no sealer", topic)
	}
	consumer, err := stateConsumer(consumerOpts, topic, kgo.NewOffset().AtStart())
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
		return nil, fmt.Errorf("load state from %s: %w: %w", topic, ErrStartupMarker, err)
	}
	r := newReplay(topic)
	if err := r.untilMarker(ctx, consumer, m); err != nil {
		return nil, fmt.Errorf("load state from %s: %w", topic, err)
	}
	st := r.finish(s)
	st.summary.MarkerOffset = m.offset
	if bad := st.blocking(); len(bad) > 0 {
		if len(bad) == 1 {
			return nil, fmt.Errorf("load state from %s: %w", topic, bad[0])
		}
		return nil, fmt.Errorf("load state from %s: %w (and %d more unreadable records)", topic, bad[0], len(bad)-1)
	}
	return st, nil
}

// Inspect reads the committed state without writing anything: it replays the state topic
// (read_committed) up to its last stable offset, as it is when Inspect begins. Unlike Load it
// returns the state even when records cannot be read; State.Unreadable lists them. It fences
// nobody and writes no marker, so it may run while an instance runs; what that instance commits
// after Inspect began is not in the result.
func Inspect(ctx context.Context, consumerOpts []kgo.Opt, topic string, s Sealer) (*State, error) {
	switch {
	case topic == "":
		return nil, errors.New("inspect state: empty topic name")
	case s == nil:
		return nil, fmt.Errorf("inspect state in %s: no sealer", topic)
	}
	// Control records are kept so that the replay sees the last offset before the end even
	// when the log ends with a transaction marker (of an aborted transaction too).
	consumer, err := stateConsumer(append(slices.Clip(consumerOpts), kgo.KeepControlRecords()), topic, kgo.NewOffset().AtStart())
	if err != nil {
		return nil, fmt.Errorf("inspect state in %s: consumer: %w", topic, err)
	}
	defer consumer.Close()
	adm := kadm.NewClient(consumer)
	if err := checkTopic(ctx, adm, topic); err != nil {
		return nil, fmt.Errorf("inspect state: %w", err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("inspect state in %s: last stable offset: %w", topic, err)
	}
	end, ok := ends.Lookup(topic, statePartition)
	if !ok {
		return nil, fmt.Errorf("inspect state in %s: no last stable offset for partition %d", topic, statePartition)
	}
	r := newReplay(topic)
	if err := r.untilEnd(ctx, consumer, end.Offset); err != nil {
		return nil, fmt.Errorf("inspect state in %s: %w", topic, err)
	}
	st := r.finish(s)
	st.summary.MarkerOffset = -1
	st.summary.EndOffset = end.Offset
	return st, nil
}

// stateConsumer returns a read_committed consumer of the state partition from offset.
func stateConsumer(consumerOpts []kgo.Opt, topic string, from kgo.Offset) (*kgo.Client, error) {
	return kgo.NewClient(append(slices.Clip(consumerOpts),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {statePartition: from}}),
	)...)
}

// marker is the startup marker this Load wrote: where it landed and what it holds.
type marker struct {
	offset int64
	nonce  [nonceSize]byte
}

// writeMarker commits a startup marker in a transaction of its own.
func writeMarker(ctx context.Context, cl *kgo.Client, topic string) (marker, error) {
	v := value{version: writeVersion(kindStartup), kind: kindStartup, at: time.Now().UnixMilli()}
	rand.Read(v.nonce[:]) // never returns an error (crypto/rand, Go 1.24+)
	rec := &kgo.Record{Topic: topic, Key: []byte(startupKey), Value: appendValue(nil, v)}
	if err := Commit(ctx, cl, rec); err != nil {
		return marker{}, err
	}
	if rec.Partition != statePartition {
		return marker{}, fmt.Errorf("the marker went to partition %d, not %d", rec.Partition, statePartition)
	}
	return marker{offset: rec.Offset, nonce: v.nonce}, nil
}

// Commit produces recs in one transaction of the transactional producer cl and commits it; on
// failure it aborts the transaction, so that cl can begin another. Administrative writes (resets,
// tombstones of unreadable records) use it with a producer whose transactional id is not the
// connector's: a producer with the connector's id would fence the running instance.
func Commit(ctx context.Context, cl *kgo.Client, recs ...*kgo.Record) error {
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return errors.Join(fmt.Errorf("produce: %w", err), abort(ctx, cl))
	}
	// On a producer-ID error kgo answers TryCommit with OperationNotAttempted and expects TryAbort;
	// after an unknown outcome, TryAbort also resets the producer for its next transaction.
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return errors.Join(fmt.Errorf("commit: %w", err), abort(ctx, cl))
	}
	return nil
}

func abort(ctx context.Context, cl *kgo.Client) error {
	if err := cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return fmt.Errorf("abort: %w", err)
	}
	return nil
}

// entry is a readable last record of a key.
type entry struct {
	offset int64
	key    string
	at     time.Time // the record's timestamp: when it was produced
	v      value
}

type chunkID struct {
	BookmarkID
	index uint32
}

// replay collects the last record of each key. Only those are judged, once the replay is done:
// a record that a later one of the same key replaces (or a tombstone removes) does not matter,
// since compaction will drop it.
type replay struct {
	topic string
	last  map[string]lastRecord
	sum   Summary
}

// lastRecord is what the replay keeps of the last record of a key. Its value is copied out of
// the fetched batch: a record kept as fetched would keep its whole batch in memory, most of it
// records that later ones replace.
type lastRecord struct {
	offset int64
	at     time.Time
	value  []byte
}

func newReplay(topic string) *replay {
	return &replay{topic: topic, last: make(map[string]lastRecord)}
}

// add takes one committed record.
func (r *replay) add(rec *kgo.Record) {
	r.sum.Records++
	r.sum.Bytes += int64(len(rec.Key) + len(rec.Value))
	switch {
	case rec.Value == nil:
		// A tombstone removes its key, whatever the key: nothing of it is left to judge.
		r.sum.Tombstones++
		delete(r.last, string(rec.Key))
		return
	case string(rec.Key) == startupKey:
		r.sum.Markers++
	}
	r.last[string(rec.Key)] = lastRecord{offset: rec.Offset, at: rec.Timestamp, value: bytes.Clone(rec.Value)}
}

// poll returns the next records, or the first fetch error.
func poll(ctx context.Context, cl *kgo.Client) ([]*kgo.Record, error) {
	fs := cl.PollFetches(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ferr error
	fs.EachError(func(t string, p int32, err error) {
		if ferr == nil {
			ferr = fmt.Errorf("fetch partition %d: %w", p, err)
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	return fs.Records(), nil
}

// untilMarker consumes until the record at the marker's offset, which must be the marker.
func (r *replay) untilMarker(ctx context.Context, cl *kgo.Client, m marker) error {
	next := int64(0) // the offset after the last record read, for errors
	for {
		recs, err := poll(ctx, cl)
		if err != nil {
			return fmt.Errorf("replay: stopped at offset %d before the startup marker at offset %d: %w", next, m.offset, err)
		}
		for _, rec := range recs {
			switch {
			case rec.Offset < m.offset:
				r.add(rec)
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
				return fmt.Errorf("replay: offset %d follows the startup marker written at offset %d, which is gone: "+
					"another instance has started since: %w", rec.Offset, m.offset, ErrFenced)
			}
		}
	}
}

// untilEnd consumes the records before offset end. The consumer must keep control records: the
// record at end-1 is then always seen, even when it is a transaction marker.
func (r *replay) untilEnd(ctx context.Context, cl *kgo.Client, end int64) error {
	next := int64(0)
	for next < end {
		recs, err := poll(ctx, cl)
		if err != nil {
			return fmt.Errorf("replay: stopped at offset %d before the end at offset %d: %w", next, end, err)
		}
		for _, rec := range recs {
			if rec.Offset >= end {
				return nil
			}
			if !rec.Attrs.IsControl() {
				r.add(rec)
			}
			next = rec.Offset + 1
		}
	}
	return nil
}

func (r *replay) recordError(rec *kgo.Record, err error) *RecordError {
	return &RecordError{Topic: r.topic, Partition: rec.Partition, Offset: rec.Offset, Key: string(rec.Key), Err: err}
}

// keyedRecord is a last record with its key, as finish judges it.
type keyedRecord struct {
	key string
	lastRecord
}

func (r *replay) lastError(rec keyedRecord, err error) *RecordError {
	return &RecordError{Topic: r.topic, Partition: statePartition, Offset: rec.offset, Key: rec.key, Err: err}
}

// finish judges the last record of each key: it checks keys and value layouts, puts the bookmarks
// back together and opens the token. Records it cannot read go to State.unreadable.
func (r *replay) finish(s Sealer) *State {
	st := &State{
		topic:     r.topic,
		bookmarks: make(map[BookmarkID]Bookmark),
		layouts:   make(map[BookmarkID]layout),
		staleByID: make(map[BookmarkID][]string),
		summary:   r.sum,
	}
	st.summary.Topic = r.topic
	recs := make([]keyedRecord, 0, len(r.last))
	for k, l := range r.last {
		recs = append(recs, keyedRecord{key: k, lastRecord: l})
	}
	r.last = nil // the values live on in recs; the map is not needed any more
	slices.SortFunc(recs, func(a, b keyedRecord) int { return cmp.Compare(a.offset, b.offset) })
	heads := make(map[BookmarkID]entry)
	chunks := make(map[chunkID]entry)
	deltas := make(map[chunkID]entry)
	deltaNums := make(map[BookmarkID][]uint32)
	var token *entry
	for _, rec := range recs {
		k, err := parseKey([]byte(rec.key))
		if err != nil {
			st.unreadable = append(st.unreadable, r.lastError(rec, err))
			continue
		}
		v, err := decodeValue(rec.value)
		if err != nil {
			st.unreadable = append(st.unreadable, r.lastError(rec, err))
			continue
		}
		if want := kindFor(k.kind); v.kind != want {
			st.unreadable = append(st.unreadable, r.lastError(rec, fmt.Errorf("value of kind %q under a key that holds kind %q", byte(v.kind), byte(want))))
			continue
		}
		e := entry{offset: rec.offset, key: rec.key, at: rec.at, v: v}
		id := k.id()
		switch k.kind {
		case keyToken:
			token = &e
		case keyBookmark:
			heads[id] = e
		case keyChunk:
			if v.index != uint32(k.index) {
				st.unreadable = append(st.unreadable, r.lastError(rec, fmt.Errorf("chunk value says index %d, its key says %d", v.index, k.index)))
				continue
			}
			chunks[chunkID{id, v.index}] = e
		case keyDelta:
			if v.index != uint32(k.index) {
				st.unreadable = append(st.unreadable, r.lastError(rec, fmt.Errorf("delta value says number %d, its key says %d", v.index, k.index)))
				continue
			}
			deltas[chunkID{id, v.index}] = e
			deltaNums[id] = append(deltaNums[id], v.index)
		case keyReset:
			st.resets = append(st.resets, resetFromValue(k, v, rec.offset))
		}
	}
	used := make(map[chunkID]bool)
	usedDeltas := make(map[chunkID]bool)
	var payload []byte
	for id, h := range heads {
		bad := func(err error) {
			st.unreadable = append(st.unreadable, &RecordError{Topic: r.topic, Partition: statePartition, Offset: h.offset, Key: h.key, Err: err})
		}
		payload = append(payload[:0], h.v.data...)
		missing := false
		for i := uint32(1); i < h.v.parts; i++ {
			cid := chunkID{id, i}
			c, ok := chunks[cid]
			if !ok || c.v.gen != h.v.gen {
				bad(fmt.Errorf("bookmark of %d records (generation %x) is missing record %s", h.v.parts, h.v.gen, chunkKey(id.Tenant, id.Stream, int(i))))
				missing = true
				break
			}
			used[cid] = true
			payload = append(payload, c.v.data...)
		}
		if missing {
			continue
		}
		b, err := decodeBookmark(h.v, payload)
		if err != nil {
			bad(fmt.Errorf("bookmark: %w", err))
			continue
		}
		info := BookmarkInfo{
			BookmarkID: id, Offset: h.offset, CommittedAt: h.at, Records: int(h.v.parts),
			Stored: int(h.v.size), JSON: int(h.v.rawSize),
		}
		lay := layout{known: true, gen: h.v.gen, parts: int(h.v.parts), base: int(h.v.size)}
		// The deltas on this base follow it from number 1 without a gap; a delta of the same
		// base after a gap means one is missing. Deltas of other bases are stale.
		for n := uint32(1); ; n++ {
			d, ok := deltas[chunkID{id, n}]
			if !ok || d.v.gen != h.v.gen {
				break
			}
			usedDeltas[chunkID{id, n}] = true
			if b, err = applyDelta(b, d.v); err != nil {
				break
			}
			lay.deltas, lay.deltaBytes = int(n), lay.deltaBytes+len(d.v.data)
			info.Records++
			info.Deltas++
			info.Stored += len(d.v.data)
			info.JSON += int(d.v.rawSize)
			info.Offset, info.CommittedAt = d.offset, d.at
		}
		if err != nil {
			bad(fmt.Errorf("bookmark: %s: %w", deltaKey(id.Tenant, id.Stream, lay.deltas+1), err))
			continue
		}
		for _, n := range deltaNums[id] {
			if cid := (chunkID{id, n}); !usedDeltas[cid] && deltas[cid].v.gen == h.v.gen {
				err = fmt.Errorf("bookmark has %d changes on generation %x, and %s of the same generation after a gap",
					lay.deltas, h.v.gen, deltaKey(id.Tenant, id.Stream, int(n)))
				break
			}
		}
		if err != nil {
			bad(err)
			continue
		}
		st.bookmarks[id] = b
		st.layouts[id] = lay
		st.info = append(st.info, info)
		if h.v.parts > 1 {
			st.summary.Chunked++
		}
	}
	addStale := func(id BookmarkID, key string) {
		st.stale = append(st.stale, key)
		st.staleByID[id] = append(st.staleByID[id], key)
	}
	for cid := range chunks {
		if !used[cid] {
			addStale(cid.BookmarkID, chunkKey(cid.Tenant, cid.Stream, int(cid.index)))
		}
	}
	for cid := range deltas {
		if !usedDeltas[cid] {
			addStale(cid.BookmarkID, deltaKey(cid.Tenant, cid.Stream, int(cid.index)))
		}
	}
	for _, keys := range st.staleByID {
		slices.Sort(keys)
	}
	slices.Sort(st.stale)
	slices.SortFunc(st.info, func(a, b BookmarkInfo) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Stream, b.Stream))
	})
	st.summary.Bookmarks = len(st.bookmarks)
	st.summary.StaleChunks = len(st.stale)
	if token != nil {
		st.hasTokenRecord = true
		st.tokenSeedHash = token.v.seedHash
		t, err := decodeToken(token.v, token.key, s)
		if err != nil {
			st.tokenErr = &RecordError{Topic: r.topic, Partition: statePartition, Offset: token.offset, Key: token.key, Err: err}
			st.unreadable = append(st.unreadable, st.tokenErr)
		} else {
			st.token, st.hasToken = t, true
			st.summary.Token = true
			st.summary.TokenSavedAt = t.SavedAt
		}
	}
	slices.SortFunc(st.unreadable, func(a, b *RecordError) int { return cmp.Compare(a.Offset, b.Offset) })
	st.inbox = newResetBoard(st.resets)
	return st
}

// State is the committed state read by Load or Inspect. Its reading methods are not safe for
// concurrent use (the connector reads it once at start); ResetInbox and what it returns are, and
// WatchTakeover delivers to them the resets asked for while the instance runs.
type State struct {
	topic     string
	bookmarks map[BookmarkID]Bookmark
	info      []BookmarkInfo // sorted by tenant, stream
	token     Token
	hasToken  bool
	layouts   map[BookmarkID]layout // how each loaded bookmark is stored
	stale     []string              // keys of chunk and delta records no bookmark uses, sorted
	staleByID map[BookmarkID][]string
	summary   Summary

	// unreadable lists the last records that cannot be read, by offset; tokenErr is among them
	// when it is set.
	unreadable []*RecordError
	// hasTokenRecord says a token record is stored, readable or not; tokenSeedHash is the seed
	// hash written in clear beside it ("" for none, or for a record of format version 1).
	hasTokenRecord bool
	tokenSeedHash  string
	tokenErr       *RecordError
	// resets are the pending resets, by offset; inbox hands them to the pollers.
	resets []Reset
	inbox  *resetBoard
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
	StaleChunks  int       // chunk and delta records no bookmark uses, ignored (a BookmarkWriter removes them)
	Token        bool      // a refresh token is stored
	TokenSavedAt time.Time // when it was saved
	MarkerOffset int64     // where this start's marker is (Load); -1 for Inspect
	EndOffset    int64     // Inspect: the last stable offset it read up to
}

// BookmarkInfo describes one loaded bookmark without its content.
type BookmarkInfo struct {
	BookmarkID
	Offset      int64     // of its last record: the head, or the last delta
	CommittedAt time.Time // that record's timestamp: when it was last committed
	Records     int       // head, chunks and deltas
	Deltas      int       // of which deltas: changes since the bookmark was last written whole
	Stored      int       // stored payload bytes (compressed when Stored < JSON)
	JSON        int       // JSON bytes
}

// Bookmark returns the bookmark of (tenant, stream), and whether one is stored. The maps and slices
// of the result belong to the State: the caller may take them over, not share them.
func (s *State) Bookmark(tenant, stream string) (Bookmark, bool) {
	b, ok := s.bookmarks[BookmarkID{Tenant: tenant, Stream: stream}]
	return b, ok
}

// Token returns the last committed refresh token, and whether one is stored and readable.
func (s *State) Token() (Token, bool) { return s.token, s.hasToken }

// Unreadable lists the records the state cannot be read from, by offset: last records of their keys
// whose key or value this release cannot read, bookmarks missing a part, and a token the sealer
// cannot open. A tombstone for a listed record's key removes it from the state.
func (s *State) Unreadable() []*RecordError { return slices.Clone(s.unreadable) }

// blocking returns the unreadable records that stop a start. A token that cannot be opened is not
// among them: CheckSeed decides about it.
func (s *State) blocking() []*RecordError {
	var out []*RecordError
	for _, e := range s.unreadable {
		if e != s.tokenErr {
			out = append(out, e)
		}
	}
	return out
}

// TokenError returns why the stored token record cannot be read, or nil when it can or none is
// stored.
func (s *State) TokenError() error {
	if s.tokenErr == nil {
		return nil
	}
	return s.tokenErr
}

// TokenSeedHash returns the seed hash stored beside the token record, readable or not, and whether
// a token record is stored: it tells which token seeded the chain without opening it. The hash is
// "" for a record written before it was stored in clear (format version 1); read the Token's
// SeedHash then.
func (s *State) TokenSeedHash() (string, bool) {
	if s.hasToken && s.tokenSeedHash == "" {
		return s.token.SeedHash, true
	}
	return s.tokenSeedHash, s.hasTokenRecord
}

// CheckSeed decides whether a start may go on when the stored token cannot be opened with the
// state key (another key, or a damaged record), given envToken, the refresh token in the
// environment ("" for none). It returns nil when the stored token is readable or absent, and when
// envToken is a new token: not the one that seeded the stored chain, whose hash is stored in clear
// beside the token. The new token then seeds a new chain, which replaces the unreadable record at
// the first refresh. Otherwise it returns an error wrapping the token's *RecordError (and
// ErrKeyMismatch when the key does not open it): the chain cannot go on from a used-up seed.
func (s *State) CheckSeed(envToken string) error {
	if s.tokenErr == nil {
		return nil
	}
	switch {
	case envToken == "":
		return fmt.Errorf("the stored refresh token cannot be read and no refresh token is given to seed a new chain: %w", s.tokenErr)
	case s.tokenSeedHash == "":
		return fmt.Errorf("the stored refresh token cannot be read, and its record (format version 1) does not say "+
			"which token seeded it, so a given token cannot be told from the used-up seed: %w", s.tokenErr)
	case s.tokenSeedHash == HashSeed(envToken):
		return fmt.Errorf("the stored refresh token cannot be read, and the given refresh token is the one that seeded "+
			"its chain, used up since: give the state key that wrote it, or a new refresh token: %w", s.tokenErr)
	}
	return nil
}

// Resets lists the pending resets found in the state topic, by offset.
func (s *State) Resets() []Reset { return slices.Clone(s.resets) }

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

// UnreadableTombstones returns a tombstone for the key of each unreadable record (Unreadable):
// committed, they remove those records from the state, and nothing else. A bookmark removed so
// makes its stream read again from the start; a token removed so makes the next start seed a new
// chain from the refresh token it is given.
func (s *State) UnreadableTombstones() []*kgo.Record {
	recs := make([]*kgo.Record, 0, len(s.unreadable))
	for _, e := range s.unreadable {
		recs = append(recs, &kgo.Record{Topic: s.topic, Key: []byte(e.Key)})
	}
	return recs
}
