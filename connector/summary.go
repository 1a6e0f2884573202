package connector

import (
	"cmp"
	"slices"
	"time"
)

// Summary is what GET /status reports by default: counts over every organisation and stream,
// and the few streams that need a look. Its size does not grow with the organisations.
type Summary struct {
	// CaughtUp is true when every stream of every organisation has caught up at least once.
	CaughtUp bool `json:"caught_up"`
	// Tenants counts the organisations read; TenantsCaughtUp those whose every stream has
	// caught up at least once.
	Tenants         int `json:"tenants"`
	TenantsCaughtUp int `json:"tenants_caught_up"`
	Streams         int `json:"streams"`
	// ByState counts the streams in each state (see StreamState).
	ByState map[string]int `json:"streams_by_state"`
	// RecordsWritten and DeadLetters sum over every stream since the start.
	RecordsWritten int64 `json:"records_written"`
	DeadLetters    int64 `json:"dead_letters"`
	// Slowest are the streams longest without a successful cycle (since their start, before
	// the first), at most summaryRows of them, the slowest first.
	Slowest []StreamRef `json:"slowest,omitempty"`
	// Failing are streams whose last cycle failed, at most summaryRows of them, the longest
	// failing first.
	Failing []StreamRef `json:"failing,omitempty"`
}

// StreamRef names one (organisation, stream) of the summary; GET /status?tenant=ID gives the
// rest.
type StreamRef struct {
	TenantID string `json:"tenant_id"`
	Stream   string `json:"stream"`
	State    string `json:"state"`
	// LagSeconds is the time since the last successful cycle (since the start, before the
	// first).
	LagSeconds float64 `json:"lag_seconds"`
	LastError  string  `json:"last_error,omitempty"`
}

// summaryRows bounds the lists of a summary.
const summaryRows = 10

// States of a stream in a summary, one per stream, the first that applies.
const (
	// StatePaused: Xero's day limit for the organisation is used up until paused_until.
	StatePaused = "paused"
	// StateRefused: Xero refuses the stream for a missing scope.
	StateRefused = "refused"
	// StateError: the last cycle failed; the stream is retried with backoff.
	StateError = "error"
	// StateFirstSync: the stream has not caught up yet since the start.
	StateFirstSync = "first_sync"
	// StateSyncing: a cycle runs, after the stream caught up before.
	StateSyncing = "syncing"
	// StateIdle: caught up, waiting for its next cycle.
	StateIdle = "idle"
)

// state returns the stream's summary state and its lag. s.mu is held.
func (s *streamStatus) state(now time.Time) (string, float64) {
	since := s.lastSuccess
	if since.isZero() {
		since = s.added
	}
	lag := max(0, now.Sub(since.time()).Seconds())
	switch {
	case !s.pausedUntil.isZero() && s.pausedUntil.time().After(now):
		return StatePaused, lag
	case s.missing != "":
		return StateRefused, lag
	case s.lastErr != "":
		return StateError, lag
	case !s.everCaught:
		return StateFirstSync, lag
	case s.syncing:
		return StateSyncing, lag
	}
	return StateIdle, lag
}

// summary counts the streams by state as of now.
func (b *board) summary(now time.Time) Summary {
	all := b.all()
	sum := Summary{CaughtUp: len(all) > 0, Streams: len(all), ByState: map[string]int{}}
	tenantCaught := map[string]bool{}
	var slow, failing []StreamRef
	for _, s := range all {
		s.mu.Lock()
		state, lag := s.state(now)
		ref := StreamRef{TenantID: s.tenant, Stream: s.stream, State: state, LagSeconds: lag, LastError: s.lastErr}
		caught := s.everCaught
		sum.RecordsWritten += s.written
		s.mu.Unlock()
		sum.DeadLetters += s.deadLetters.Load()
		sum.ByState[state]++
		sum.CaughtUp = sum.CaughtUp && caught
		if was, ok := tenantCaught[s.tenant]; !ok || was {
			tenantCaught[s.tenant] = caught
		}
		slow = keepTop(slow, ref)
		if ref.LastError != "" {
			failing = keepTop(failing, ref)
		}
	}
	sum.Tenants = len(tenantCaught)
	for _, c := range tenantCaught {
		if c {
			sum.TenantsCaughtUp++
		}
	}
	sum.Slowest, sum.Failing = slow, failing
	return sum
}

// keepTop adds r to refs, kept as the summaryRows largest lags, the largest first (ties by
// tenant and stream, for a stable order).
func keepTop(refs []StreamRef, r StreamRef) []StreamRef {
	cmpRef := func(a, b StreamRef) int {
		return cmp.Or(cmp.Compare(b.LagSeconds, a.LagSeconds), cmp.Compare(a.TenantID, b.TenantID), cmp.Compare(a.Stream, b.Stream))
	}
	i, _ := slices.BinarySearchFunc(refs, r, cmpRef)
	if i >= summaryRows {
		return refs
	}
	refs = slices.Insert(refs, i, r)
	if len(refs) > summaryRows {
		refs = refs[:summaryRows]
	}
	return refs
}

// tenant returns the status of one organisation's streams, and false when none is read.
func (b *board) tenant(id string) (TenantStatus, bool) {
	t := TenantStatus{TenantID: id, Name: b.name(id)}
	for _, s := range b.all() {
		if s.tenant == id {
			t.Streams = append(t.Streams, s.snapshot())
		}
	}
	return t, len(t.Streams) > 0
}

// Summary returns the counts of GET /status.
func (c *Connector) Summary() Summary { return c.board.summary(c.deps.Now()) }
