package connector

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xero"
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
	// MissingScope is the scope Xero refused this stream for (401 or 403 while the
	// organisation's other calls work); the stream is polled again only rarely.
	MissingScope string `json:"missing_scope,omitempty"`
	// LastSuccess is when the last cycle without error ended.
	LastSuccess *time.Time `json:"last_success,omitempty"`
	// Pages is the number of pages read in the cycle under way, or in the last one.
	Pages int `json:"pages,omitempty"`
	// PagesLeft is what Xero's last page count says remains of the cycle under way; -1 when
	// the endpoint gives no page count.
	PagesLeft int `json:"pages_left"`
	// CycleStarted is when the cycle under way, or the last one, began.
	CycleStarted *time.Time `json:"cycle_started,omitempty"`
	// Plan is the stream's part of the organisation's day budget (plan.go).
	Plan *StreamPlan `json:"plan,omitempty"`
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
// 26,000 of them live as long as the connector, so it holds times as stamps and the bookmark's
// summary as numbers, and makes the time values only when asked (snapshot).
type streamStatus struct {
	tenant, stream string
	offsetKind     bool // the bookmark's watermark is a number, not a time
	deadLetters    atomic.Int64

	mu sync.Mutex
	// mark is the committed bookmark's watermark: unix ms, or the last number written when
	// offsetKind; records and pending count its hashes and its traversals awaiting a check.
	mark             int64
	records, pending int32
	written          int64
	lastPoll         stamp
	lastErr          string
	warning          string
	missing          string
	pausedUntil      stamp
	caughtUp         bool
	everCaught       bool
	syncing          bool
	caughtUpAt       stamp // start of the last cycle that ended without error
	// added is when the poller was created; lastSuccess when its last good cycle ended.
	added, lastSuccess stamp
	// pages read in the current cycle, and the pages Xero said were left after the last one
	// (-1: unknown).
	pages, pagesLeft int32
	// plan, when set, returns the stream's day-budget plan.
	plan func() *StreamPlan
}

// stamp is a time as unix nanoseconds, 0 for none (the zero time.Time): a third of a
// time.Time. The instant of the epoch itself reads as none, which no clock of the connector
// gives.
type stamp int64

func stampOf(t time.Time) stamp {
	if t.IsZero() {
		return 0
	}
	return stamp(t.UnixNano())
}

func (s stamp) isZero() bool { return s == 0 }

// time returns the stamp as a UTC time, the zero time for none.
func (s stamp) time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s)).UTC()
}

// ptr returns the stamp as a UTC time to point at, nil for none.
func (s stamp) ptr() *time.Time {
	if s == 0 {
		return nil
	}
	t := s.time()
	return &t
}

func (s *streamStatus) begin(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncing = true
	s.lastPoll = stampOf(now)
	s.pages = 0
	s.pagesLeft = -1
}

// fetched records a page read: page is its number (0 on endpoints paged by offset) and pg
// Xero's pagination object (nil when not given).
func (s *streamStatus) fetched(page int, pg *xero.Pagination) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages++
	switch {
	case pg != nil && pg.PageCount > 0:
		s.pagesLeft = int32(max(0, pg.PageCount-max(page, 1)))
	default:
		s.pagesLeft = -1
	}
}

// lastSuccessOrStart is when the stream last caught up, or when it started if it never did.
func (s *streamStatus) lastSuccessOrStart() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastSuccess.isZero() {
		return s.added.time()
	}
	return s.lastSuccess.time()
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
		s.pausedUntil = 0
		s.lastSuccess = stampOf(now)
		s.pagesLeft = 0
	}
}

func (s *streamStatus) warn(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.warning = msg
}

// refused marks the stream refused for scope (empty: granted again), with why in the warning.
// missingScope is the scope Xero refuses the stream for, or "".
func (s *streamStatus) missingScope() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.missing
}

// refused sets the scope Xero refuses the stream for ("" once it reads again) and returns the
// one set before.
func (s *streamStatus) refused(scope, msg string) (was string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	was = s.missing
	s.missing, s.warning = scope, msg
	return was
}

func (s *streamStatus) pause(until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pausedUntil = stampOf(until)
}

func (s *streamStatus) committed(b offsets.Bookmark, records int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mark = b.Watermark
	s.records, s.pending = int32(len(b.Hashes)), int32(len(b.Verify))
	s.written += int64(records)
}

// bookmarkStatus returns the summary of the committed bookmark. s.mu is held.
func (s *streamStatus) bookmarkStatus() BookmarkStatus {
	bs := BookmarkStatus{Records: int(s.records), PendingVerifications: int(s.pending)}
	switch {
	case s.offsetKind:
		bs.Offset = s.mark
	case s.mark > 0:
		t := time.UnixMilli(s.mark).UTC()
		bs.Watermark = &t
	}
	return bs
}

func (s *streamStatus) snapshot() StreamStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := StreamStatus{
		Stream:         s.stream,
		Bookmark:       s.bookmarkStatus(),
		RecordsWritten: s.written,
		DeadLetters:    s.deadLetters.Load(),
		LastError:      s.lastErr,
		Warning:        s.warning,
		MissingScope:   s.missing,
		CaughtUp:       s.caughtUp,
		Syncing:        s.syncing,
		Pages:          int(s.pages),
		PagesLeft:      int(s.pagesLeft),
		LastSuccess:    s.lastSuccess.ptr(),
		LastPoll:       s.lastPoll.ptr(),
		PausedUntil:    s.pausedUntil.ptr(),
		CaughtUpAt:     s.caughtUpAt.ptr(),
	}
	st.CycleStarted = st.LastPoll
	if s.plan != nil {
		st.Plan = s.plan()
	}
	return st
}

// board holds the status of every poller.
type board struct {
	metrics *metrics
	now     func() time.Time

	mu      sync.Mutex
	names   map[string]string // tenant id -> organisation name
	streams []*streamStatus
	index   map[[2]string]*streamStatus // (tenant, stream) -> its status in streams
}

func newBoard(m *metrics, now func() time.Time) *board {
	return &board{metrics: m, now: now}
}

// stream returns the status of (tenant, stream), adding it on first use (and creating its
// metrics at zero): the pollers of a later session report where those of the earlier one did,
// and its counts go on.
func (b *board) stream(tenant, stream string, offsetKind bool) *streamStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.index[[2]string{tenant, stream}]; ok {
		return s
	}
	if b.index == nil {
		b.index = make(map[[2]string]*streamStatus)
	}
	s := &streamStatus{tenant: tenant, stream: stream, offsetKind: offsetKind, added: stampOf(b.now()), pagesLeft: -1}
	b.metrics.initStream(tenant, stream)
	b.streams = append(b.streams, s)
	b.index[[2]string{tenant, stream}] = s
	return s
}

// all returns every poller's status.
func (b *board) all() []*streamStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*streamStatus(nil), b.streams...)
}

func (b *board) setName(tenant, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.names == nil {
		b.names = make(map[string]string)
	}
	b.names[tenant] = name
}

// name returns the organisation name of tenant, "" if unknown.
func (b *board) name(tenant string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.names[tenant]
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

// writeAll writes status() as indented JSON, one organisation at a time: with thousands of
// organisations the whole body (14 MB for 26,000 streams) is never held in memory, nor the
// snapshot of every stream.
func (b *board) writeAll(w io.Writer) error {
	b.mu.Lock()
	all := slices.Clone(b.streams)
	names := maps.Clone(b.names)
	b.mu.Unlock()

	byTenant := map[string][]*streamStatus{}
	var order []string
	caughtUp := len(all) > 0
	for _, s := range all {
		if _, ok := byTenant[s.tenant]; !ok {
			order = append(order, s.tenant)
		}
		byTenant[s.tenant] = append(byTenant[s.tenant], s)
		s.mu.Lock()
		caughtUp = caughtUp && s.everCaught
		s.mu.Unlock()
	}
	sort.Strings(order)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "{\n  \"caught_up\": %t,\n  \"tenants\": ", caughtUp)
	if len(order) == 0 {
		_, _ = bw.WriteString("null\n}\n")
		return bw.Flush()
	}
	_, _ = bw.WriteString("[")
	for i, id := range order {
		t := TenantStatus{TenantID: id, Name: names[id], Streams: make([]StreamStatus, 0, len(byTenant[id]))}
		for _, s := range byTenant[id] {
			t.Streams = append(t.Streams, s.snapshot())
		}
		data, err := json.MarshalIndent(t, "    ", "  ")
		if err != nil {
			return fmt.Errorf("status of tenant %s: %w", id, err)
		}
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		_, _ = bw.WriteString("\n    ")
		_, _ = bw.Write(data)
	}
	_, _ = bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

// ServeHTTP serves GET /status as JSON: the summary; with ?tenant=ID that organisation's
// streams (404 when it is not read); with ?all the status of every stream, which grows with
// the organisations.
func (b *board) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var v any
	switch {
	case q.Has("tenant"):
		t, ok := b.tenant(q.Get("tenant"))
		if !ok {
			http.Error(w, fmt.Sprintf("tenant %q: no stream of this organisation is read", q.Get("tenant")), http.StatusNotFound)
			return
		}
		v = t
	case q.Has("all"):
		w.Header().Set("Content-Type", "application/json")
		_ = b.writeAll(w)
		return
	default:
		v = b.summary(b.now())
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// pinger answers whether a service can be reached; *kgo.Client implements it.
type pinger interface {
	Ping(ctx context.Context) error
}

// readiness says whether the connector can do its work: its state replayed, Kafka and the
// Schema Registry answering.
type readiness struct {
	registry *sr.Client

	mu sync.Mutex
	// kafka is the transactional producer once the state is replayed; nil before and after
	// Run.
	kafka pinger
}

func (r *readiness) set(kafka pinger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kafka = kafka
}

// check returns nil when ready, else what is missing.
func (r *readiness) check(ctx context.Context) error {
	r.mu.Lock()
	kafka := r.kafka
	r.mu.Unlock()
	if kafka == nil {
		return errors.New("the state topic is not replayed yet")
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var errs []error
	if err := kafka.Ping(ctx); err != nil {
		errs = append(errs, fmt.Errorf("kafka: %w", err))
	}
	// The global compatibility setting: the lightest request every Confluent-compatible
	// registry answers.
	if res := r.registry.Compatibility(ctx); len(res) == 0 || res[0].Err != nil {
		err := errors.New("no answer")
		if len(res) > 0 {
			err = res[0].Err
		}
		errs = append(errs, fmt.Errorf("schema registry: %w", err))
	}
	return errors.Join(errs...)
}

// readyTimeout bounds a readiness check: a probe waits for it.
const readyTimeout = 5 * time.Second

// Ready returns nil once the state is replayed and while Kafka and the Schema Registry answer;
// otherwise an error that says what is missing.
func (c *Connector) Ready(ctx context.Context) error { return c.ready.check(ctx) }

// ReadyHandler serves GET /readyz: 200 when Ready returns nil, else 503 with the reason.
func (c *Connector) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := c.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
}
