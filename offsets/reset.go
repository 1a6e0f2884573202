package offsets

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Reset is an operator's request to read one (tenant, stream) again: from the start, or from
// From. An administrative tool commits it under a key of its own (reset/<tenant>/<stream>/<id>);
// the instance that reads the stream applies it by committing the stream's new bookmark together
// with Reset.DoneRecord, a tombstone of that key, in one transaction. Until then the reset is
// pending: a start finds it in the state, and a running instance receives it through
// WatchTakeover.
type Reset struct {
	BookmarkID
	ID     string    // 32 lowercase hex digits, random: one per request
	From   time.Time // zero: from the start
	At     time.Time // when it was asked for
	Offset int64     // where it is in the state topic; -1 before it is written
}

// NewReset returns a new reset of (tenant, stream) with a random id, asked for at now. A zero
// from means from the start.
func NewReset(tenant, stream string, from, now time.Time) (Reset, error) {
	if err := checkIDNames(tenant, stream); err != nil {
		return Reset{}, fmt.Errorf("reset: %w", err)
	}
	var b [resetIDSize / 2]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	return Reset{
		BookmarkID: BookmarkID{Tenant: tenant, Stream: stream},
		ID:         hex.EncodeToString(b[:]),
		From:       from,
		At:         now,
		Offset:     -1,
	}, nil
}

func (r Reset) key() string { return resetKey(r.Tenant, r.Stream, r.ID) }

// Record returns the record that asks for r. Commit it in a transaction of a producer whose
// transactional id is not the connector's, so that the running instance is not fenced.
func (r Reset) Record(topic string) (*kgo.Record, error) {
	if topic == "" {
		return nil, errors.New("reset record: empty topic name")
	}
	if err := checkIDNames(r.Tenant, r.Stream); err != nil {
		return nil, fmt.Errorf("reset record: %w", err)
	}
	if err := checkResetID(r.ID); err != nil {
		return nil, fmt.Errorf("reset record: %w", err)
	}
	v := value{version: writeVersion(kindReset), kind: kindReset, at: r.At.UnixMilli()}
	if !r.From.IsZero() {
		v.hasFrom, v.from = true, r.From.UnixMilli()
	}
	return &kgo.Record{Topic: topic, Key: []byte(r.key()), Value: appendValue(nil, v)}, nil
}

// DoneRecord returns the tombstone that marks r as applied. Commit it in the same transaction as
// the bookmark that applies r.
func (r Reset) DoneRecord(topic string) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(r.key())}
}

// resetFromValue rebuilds a reset from its key and value.
func resetFromValue(k recordKey, v value, offset int64) Reset {
	r := Reset{BookmarkID: k.id(), ID: k.resetID, At: time.UnixMilli(v.at).UTC(), Offset: offset}
	if v.hasFrom {
		r.From = time.UnixMilli(v.from).UTC()
	}
	return r
}

// resetBoard holds the pending resets of every (tenant, stream) for the pollers that apply them.
type resetBoard struct {
	mu      sync.Mutex
	inboxes map[BookmarkID]*ResetInbox
}

func newResetBoard(pending []Reset) *resetBoard {
	b := &resetBoard{inboxes: make(map[BookmarkID]*ResetInbox)}
	for _, r := range pending {
		b.deliver(r)
	}
	return b
}

func (b *resetBoard) inbox(id BookmarkID) *ResetInbox {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.inboxes[id]
	if !ok {
		in = &ResetInbox{ready: make(chan struct{}, 1)}
		b.inboxes[id] = in
	}
	return in
}

func (b *resetBoard) deliver(r Reset) { b.inbox(r.BookmarkID).add(r) }

// ResetInbox returns where the pending resets of (tenant, stream) wait: those found by Load, and
// those WatchTakeover receives later. It is safe for concurrent use.
func (s *State) ResetInbox(tenant, stream string) *ResetInbox {
	if s.inbox == nil {
		s.inbox = newResetBoard(nil)
	}
	return s.inbox.inbox(BookmarkID{Tenant: tenant, Stream: stream})
}

// ResetInbox holds the pending resets of one (tenant, stream). A nil *ResetInbox is empty and
// never ready. Its methods are safe for concurrent use.
type ResetInbox struct {
	mu      sync.Mutex
	pending []Reset
	ready   chan struct{} // holds a value while resets are pending
}

func (in *ResetInbox) add(r Reset) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if slices.ContainsFunc(in.pending, func(p Reset) bool { return p.ID == r.ID }) {
		return
	}
	in.pending = append(in.pending, r)
	select {
	case in.ready <- struct{}{}:
	default:
	}
}

// Ready is readable when a reset arrives; after reading it, call Pending.
func (in *ResetInbox) Ready() <-chan struct{} {
	if in == nil {
		return nil
	}
	return in.ready
}

// Pending returns the resets not yet applied, oldest first. The last one is the one to apply;
// the earlier ones are superseded by it and are marked done with it.
func (in *ResetInbox) Pending() []Reset {
	if in == nil {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.pending)
}

// Applied removes the given resets once the transaction that applied them has committed. When
// none is left, Ready is no longer readable.
func (in *ResetInbox) Applied(done []Reset) {
	if in == nil {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.pending = slices.DeleteFunc(in.pending, func(p Reset) bool {
		return slices.ContainsFunc(done, func(d Reset) bool { return d.ID == p.ID })
	})
	if len(in.pending) == 0 {
		select {
		case <-in.ready:
		default:
		}
	}
}
