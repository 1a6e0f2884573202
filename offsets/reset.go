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
// Only the pairs with pending resets take memory; a channel exists only for the inboxes whose
// Ready was asked for.
type resetBoard struct {
	mu      sync.Mutex
	pending map[BookmarkID][]Reset
	ready   map[BookmarkID]chan struct{}
	notify  func(tenant, stream string)
}

func newResetBoard(pending []Reset) *resetBoard {
	b := &resetBoard{}
	for _, r := range pending {
		b.deliver(r)
	}
	return b
}

// deliver adds r to its inbox, unless it is there already, and tells whoever waits.
func (b *resetBoard) deliver(r Reset) {
	b.mu.Lock()
	id := r.BookmarkID
	if slices.ContainsFunc(b.pending[id], func(p Reset) bool { return p.ID == r.ID }) {
		b.mu.Unlock()
		return
	}
	if b.pending == nil {
		b.pending = make(map[BookmarkID][]Reset)
	}
	b.pending[id] = append(b.pending[id], r)
	if ch, ok := b.ready[id]; ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	notify := b.notify
	b.mu.Unlock()
	if notify != nil {
		notify(id.Tenant, id.Stream)
	}
}

// ResetInbox returns where the pending resets of (tenant, stream) wait: those found by Load, and
// those WatchTakeover receives later. It is safe for concurrent use.
func (s *State) ResetInbox(tenant, stream string) *ResetInbox {
	return &ResetInbox{board: s.resetBoard(), id: BookmarkID{Tenant: tenant, Stream: stream}}
}

// OnReset has f called with the (tenant, stream) of every reset WatchTakeover delivers from now
// on, after it is pending in its inbox. f must not block. It replaces the f of an earlier call.
func (s *State) OnReset(f func(tenant, stream string)) {
	b := s.resetBoard()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.notify = f
}

func (s *State) resetBoard() *resetBoard {
	if s.inbox == nil {
		s.inbox = newResetBoard(nil)
	}
	return s.inbox
}

// ResetInbox is the view of one (tenant, stream)'s pending resets. A nil *ResetInbox is empty and
// never ready. Its methods are safe for concurrent use.
type ResetInbox struct {
	board *resetBoard
	id    BookmarkID
}

// Ready is readable while resets are pending; after reading it, call Pending. (OnReset tells of
// new resets without a channel per stream.)
func (in *ResetInbox) Ready() <-chan struct{} {
	if in == nil {
		return nil
	}
	b := in.board
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.ready[in.id]
	if !ok {
		if b.ready == nil {
			b.ready = make(map[BookmarkID]chan struct{})
		}
		ch = make(chan struct{}, 1)
		if len(b.pending[in.id]) > 0 {
			ch <- struct{}{}
		}
		b.ready[in.id] = ch
	}
	return ch
}

// Pending returns the resets not yet applied, oldest first. The last one is the one to apply;
// the earlier ones are superseded by it and are marked done with it.
func (in *ResetInbox) Pending() []Reset {
	if in == nil {
		return nil
	}
	in.board.mu.Lock()
	defer in.board.mu.Unlock()
	return slices.Clone(in.board.pending[in.id])
}

// Applied removes the given resets once the transaction that applied them has committed. When
// none is left, Ready is no longer readable.
func (in *ResetInbox) Applied(done []Reset) {
	if in == nil {
		return
	}
	b := in.board
	b.mu.Lock()
	defer b.mu.Unlock()
	left := slices.DeleteFunc(b.pending[in.id], func(p Reset) bool {
		return slices.ContainsFunc(done, func(d Reset) bool { return d.ID == p.ID })
	})
	if len(left) > 0 {
		b.pending[in.id] = left
		return
	}
	delete(b.pending, in.id)
	if ch, ok := b.ready[in.id]; ok {
		select {
		case <-ch:
		default:
		}
	}
}
