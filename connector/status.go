package connector

import (
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xero-kafka/xero-kafka/offsets"
)

// Status is what GET /status reports: per tenant and stream, where the stream stands.
type Status struct {
	// CaughtUp is true when every stream of every tenant has caught up at least once.
	CaughtUp bool           `json:"caught_up"`
	Tenants  []TenantStatus `json:"tenants"`
}

// TenantStatus is the status of one organisation's streams.
type TenantStatus struct {
	TenantID string         `json:"tenant_id"`
	Name     string         `json:"name,omitempty"`
	Streams  []StreamStatus `json:"streams"`
}

// StreamStatus is the status of one (tenant, stream).
type StreamStatus struct {
	Stream   string         `json:"stream"`
	Bookmark BookmarkStatus `json:"bookmark"`
	// RecordsWritten counts the data records and tombstones committed since the start.
	RecordsWritten int64 `json:"records_written"`
	// DeadLetters counts the records sent to the dead-letter topic since the start.
	DeadLetters int64      `json:"dead_letters"`
	LastPoll    *time.Time `json:"last_poll,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	// Warning explains a stream that is caught up but cannot hold data.
	Warning     string     `json:"warning,omitempty"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	// CaughtUp is true when the last cycle read to the end of the stream without error.
	CaughtUp bool `json:"caught_up"`
	// CaughtUpAt is when the last cycle that read to the end without error began: everything
	// Xero held then is written.
	CaughtUpAt *time.Time `json:"caught_up_at,omitempty"`
	// Syncing is true while a cycle runs.
	Syncing bool `json:"syncing"`
}

// BookmarkStatus summarises a bookmark without its record ids.
type BookmarkStatus struct {
	// Watermark is the replication-key value below which everything is written (keyset).
	Watermark *time.Time `json:"watermark,omitempty"`
	// Offset is the last number written (journals).
	Offset int64 `json:"offset,omitempty"`
	// Records is the number of live records tracked (scans).
	Records int `json:"records,omitempty"`
	// PendingVerifications counts traversals awaiting their check.
	PendingVerifications int `json:"pending_verifications,omitempty"`
}

// streamStatus is the live status of one poller; the poller writes it, the status page reads it.
type streamStatus struct {
	tenant, stream string
	offsetKind     bool // the bookmark's watermark is a number, not a time
	deadLetters    atomic.Int64

	mu          sync.Mutex
	bookmark    BookmarkStatus
	written     int64
	lastPoll    time.Time
	lastErr     string
	warning     string
	pausedUntil time.Time
	caughtUp    bool
	caughtUpAt  time.Time // start of the last cycle that ended without error
	everCaught  bool
	syncing     bool
}

func (s *streamStatus) begin(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncing = true
	s.lastPoll = now
}

func (s *streamStatus) end(now time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncing = false
	s.caughtUp = err == nil
	s.everCaught = s.everCaught || err == nil
	if err == nil {
		s.caughtUpAt = s.lastPoll
	}
	if err != nil {
		s.lastErr = err.Error()
	} else {
		s.lastErr = ""
		s.pausedUntil = time.Time{}
	}
}

func (s *streamStatus) warn(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.warning = msg
}

func (s *streamStatus) pause(until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pausedUntil = until
}

func (s *streamStatus) committed(b offsets.Bookmark, records int) {
	bs := BookmarkStatus{Records: len(b.Hashes), PendingVerifications: len(b.Verify)}
	switch {
	case s.offsetKind:
		bs.Offset = b.Watermark
	case b.Watermark > 0:
		t := time.UnixMilli(b.Watermark).UTC()
		bs.Watermark = &t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bookmark = bs
	s.written += int64(records)
}

func (s *streamStatus) snapshot() StreamStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := StreamStatus{
		Stream:         s.stream,
		Bookmark:       s.bookmark,
		RecordsWritten: s.written,
		DeadLetters:    s.deadLetters.Load(),
		LastError:      s.lastErr,
		Warning:        s.warning,
		CaughtUp:       s.caughtUp,
		Syncing:        s.syncing,
	}
	if !s.lastPoll.IsZero() {
		t := s.lastPoll.UTC()
		st.LastPoll = &t
	}
	if !s.pausedUntil.IsZero() {
		t := s.pausedUntil.UTC()
		st.PausedUntil = &t
	}
	if !s.caughtUpAt.IsZero() {
		t := s.caughtUpAt.UTC()
		st.CaughtUpAt = &t
	}
	return st
}

// board holds the status of every poller.
type board struct {
	mu      sync.Mutex
	names   map[string]string // tenant id -> organisation name
	streams []*streamStatus
}

// stream returns the status of (tenant, stream), adding it on first use: the pollers of a later
// session report where those of the earlier one did, and its counts go on.
func (b *board) stream(tenant, stream string, offsetKind bool) *streamStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.streams {
		if s.tenant == tenant && s.stream == stream {
			return s
		}
	}
	s := &streamStatus{tenant: tenant, stream: stream, offsetKind: offsetKind}
	b.streams = append(b.streams, s)
	return s
}

func (b *board) setName(tenant, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.names == nil {
		b.names = make(map[string]string)
	}
	b.names[tenant] = name
}

// status returns a snapshot, tenants and streams in a stable order.
func (b *board) status() Status {
	b.mu.Lock()
	all := append([]*streamStatus(nil), b.streams...)
	names := make(map[string]string, len(b.names))
	for k, v := range b.names {
		names[k] = v
	}
	b.mu.Unlock()

	st := Status{CaughtUp: len(all) > 0}
	byTenant := map[string]*TenantStatus{}
	var order []string
	for _, s := range all {
		t, ok := byTenant[s.tenant]
		if !ok {
			t = &TenantStatus{TenantID: s.tenant, Name: names[s.tenant]}
			byTenant[s.tenant] = t
			order = append(order, s.tenant)
		}
		t.Streams = append(t.Streams, s.snapshot())
		s.mu.Lock()
		st.CaughtUp = st.CaughtUp && s.everCaught
		s.mu.Unlock()
	}
	sort.Strings(order)
	for _, id := range order {
		st.Tenants = append(st.Tenants, *byTenant[id])
	}
	return st
}

// ServeHTTP serves the status as JSON.
func (b *board) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(b.status())
}
