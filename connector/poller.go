package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
)

// lister reads one page of a Xero list endpoint; *xero.Client implements it.
type lister interface {
	List(ctx context.Context, req xero.Request) (*xero.Page, error)
}

// committer writes records in one Kafka transaction; *writer implements it.
type committer interface {
	commit(ctx context.Context, recs []*kgo.Record) error
}

// poller keeps one (tenant, stream) in sync: it runs a sync cycle, waits for the next one, and
// repeats until its context ends. A cycle reads what changed since the committed bookmark and
// commits each page's records together with the bookmark that follows them, so the bookmark in
// memory always equals the one in the state topic.
type poller struct {
	stream     *streams.Stream
	tenant     string
	api        lister
	out        committer
	build      builder
	stateTopic string
	// bm is the last committed bookmark. It changes only after a commit returned nil.
	bm offsets.Bookmark
	// interval is the pause between cycles that caught up.
	interval time.Duration
	// startMS is the earliest replication-key value wanted (XERO_START_DATE), unix ms.
	startMS int64
	// resets holds the operator's pending requests to read the stream again (reset.go).
	resets *offsets.ResetInbox
	// deadSeen remembers the records without readable keys already dead-lettered, which no
	// bookmark can hold.
	deadSeen hashSet
	now      func() time.Time
	log      *slog.Logger
	status   *streamStatus
	metrics  *metrics
	// scope is the read scope the stream's endpoint needs; refusedFor is the pause after Xero
	// refused the endpoint (a missing scope, or journals below the Advanced tier).
	scope      string
	refusedFor time.Duration
	// mem bounds the pages held over all pollers (memory.go); lease is this poller's share,
	// leaseBase its bytes, lastPage the size of its last page. startDelay staggers the first
	// call (stagger.go).
	mem                 *pageBudget
	lease               *pageLease
	leaseBase, lastPage int64
	startDelay          time.Duration
}

// Waits after failures: doubling from the first to the last.
const (
	firstRetry = 5 * time.Second
	lastRetry  = 5 * time.Minute
)

// run polls until ctx ends. It returns nil on a stop and an error only when the connector as a
// whole cannot go on (fenced, the refresh token rejected, the writer broken).
func (p *poller) run(ctx context.Context) error {
	backoff := firstRetry
	warnedRemoved, warnedStall := false, false
	refused := p.status.missingScope() != "" // as an earlier session left it
	if !p.waitStart(ctx) {
		return nil
	}
	for {
		p.status.begin(p.now())
		err := p.applyResets(ctx)
		if err == nil {
			err = p.cycle(ctx)
		}
		p.dropPages()
		if ctx.Err() != nil {
			return nil
		}
		removed := p.stream.Removed && errors.Is(err, xero.ErrNotFound)
		if removed {
			// Nothing to read is a complete read: the stream is caught up, and says why
			// it is empty.
			p.status.end(p.now(), nil)
			p.status.warn("Xero has removed " + p.stream.Path + " (404): the topic stays empty")
		} else {
			p.status.end(p.now(), err)
		}
		wait := p.interval
		switch {
		case err == nil:
			backoff = firstRetry
			if refused {
				p.grant()
				refused = false
			}
			p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "ok").Inc()
		case fatal(err):
			return fmt.Errorf("tenant %s: %s: %w", p.tenant, p.stream.Name, err)
		case errors.Is(err, xero.ErrDayLimit):
			wait = retryAfter(err, time.Hour)
			p.status.pause(p.now().Add(wait))
			p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "day_limit").Inc()
			p.log.Warn("Xero's daily call limit for this organisation is used up; pausing the stream until it resets", "resume_in", wait.Round(time.Second))
		case xero.IsRefused(err):
			wait = p.refusedFor
			p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "refused").Inc()
			p.refuse(err, !refused)
			refused = true
		case removed:
			p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "removed").Inc()
			if !warnedRemoved {
				p.log.Warn("Xero has removed this endpoint; the stream stays empty and is checked again later", "path", p.stream.Path)
				warnedRemoved = true
			}
		case errors.As(err, new(*stallError)):
			// The server answers in a way the strategy cannot make progress with: reading on
			// would read the same pages again. Back off as after an error, and say so once.
			p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "stalled").Inc()
			if !warnedStall {
				p.log.Warn("sync cycle stopped without progress; retrying with backoff", "err", err)
				warnedStall = true
			}
			wait = backoff
			backoff = min(2*backoff, lastRetry)
		default:
			p.metrics.cycles.WithLabelValues(p.tenant, p.stream.Name, "error").Inc()
			wait = backoff
			if ra := retryAfter(err, 0); ra > wait {
				wait = ra
			}
			backoff = min(2*backoff, lastRetry)
			p.log.Warn("sync cycle failed; retrying from the last committed bookmark", "retry_in", wait, "err", err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		case <-p.resets.Ready(): // an operator asked to read the stream again
			timer.Stop()
		}
	}
}

// fatal reports whether err stops the whole connector rather than one stream.
func fatal(err error) bool {
	return errors.Is(err, ErrFenced) || errors.Is(err, errProducerBroken) || errors.Is(err, errOutcomeUnknown) || tokenRejected(err)
}

// tokenRejected reports whether Xero refused the app's refresh token or credentials: no call of
// any tenant can succeed until a person re-authorises the app. A 401 on one tenant's endpoint
// (its connection revoked) concerns that tenant only.
func tokenRejected(err error) bool {
	var apiErr *xero.APIError
	return errors.Is(err, xero.ErrUnauthorized) && !(errors.As(err, &apiErr) && apiErr.Tenant != "")
}

// retryAfter returns the wait an API error asks for, or def.
func retryAfter(err error, def time.Duration) time.Duration {
	var apiErr *xero.APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		return apiErr.RetryAfter
	}
	return def
}

// cycle runs one sync cycle with the stream's strategy.
func (p *poller) cycle(ctx context.Context) error {
	switch p.stream.Sync {
	case streams.Keyset:
		return p.keysetCycle(ctx)
	case streams.Offset:
		return p.offsetCycle(ctx)
	case streams.Scan:
		return p.scanCycle(ctx)
	}
	return fmt.Errorf("unknown sync strategy %v", p.stream.Sync)
}

// item is one record of a page with what the connector read from it.
type item struct {
	raw  json.RawMessage
	meta recordMeta
	// bad is why the record's keys could not be read; such a record goes to the dead-letter
	// topic.
	bad error
}

// fetched is one page of a stream.
type fetched struct {
	items []item
	// last is true when no page follows this one.
	last bool
	// serverTime is Xero's clock when it answered, unix ms (0 when unknown).
	serverTime int64
}

// fetch reads one page. page is ignored on unpaged endpoints; modifiedSince (unix ms, 0 for
// none) becomes If-Modified-Since.
func (p *poller) fetch(ctx context.Context, q url.Values, page int, modifiedSince int64) (fetched, error) {
	s := p.stream
	switch s.Paging {
	case streams.PageSize:
		q.Set("page", strconv.Itoa(page))
		q.Set("pageSize", strconv.Itoa(streams.MaxPageSize))
	case streams.PageOnly:
		q.Set("page", strconv.Itoa(page))
	}
	req := xero.Request{Tenant: p.tenant, Path: s.Path, Wrapper: s.Wrapper, Query: q}
	if modifiedSince != 0 {
		req.ModifiedSince = time.UnixMilli(modifiedSince).UTC()
	}
	if err := p.holdPage(ctx); err != nil {
		return fetched{}, err
	}
	pg, err := p.api.List(ctx, req)
	if err != nil {
		return fetched{}, err // the client's error names the endpoint and the page
	}
	f := fetched{items: make([]item, len(pg.Records)), last: isLast(s, pg, page)}
	if !pg.ServerTime.IsZero() {
		f.serverTime = pg.ServerTime.UnixMilli()
	}
	for i, raw := range pg.Records {
		m, err := readMeta(s, raw)
		f.items[i] = item{raw: raw, meta: m, bad: err}
	}
	p.settlePage(pageSize(f.items))
	p.metrics.pages.WithLabelValues(p.tenant, s.Name).Inc()
	p.status.fetched(page, pg.Pagination)
	return f, nil
}

// isLast reports whether page is the last of the list.
func isLast(s *streams.Stream, pg *xero.Page, page int) bool {
	switch s.Paging {
	case streams.PageSize:
		if pg.Pagination != nil && pg.Pagination.PageCount > 0 {
			return page >= pg.Pagination.PageCount
		}
		size := streams.MaxPageSize
		if pg.Pagination != nil && pg.Pagination.PageSize > 0 {
			size = pg.Pagination.PageSize
		}
		return len(pg.Records) < size
	case streams.PageOnly, streams.OffsetPaged:
		return len(pg.Records) < streams.FixedPageSize
	}
	return true
}

// emit builds the Kafka record of it, or its dead letter, and counts it.
func (p *poller) emit(out []*kgo.Record, it item, extractedAt time.Time) ([]*kgo.Record, error) {
	if it.bad != nil {
		if !p.deadSeen.add(it.meta.hash) {
			return out, nil // dead-lettered already, and its keys cannot tell it is the same
		}
		p.log.Warn("record without readable keys sent to the dead-letter topic", "err", it.bad)
		p.metrics.records.WithLabelValues(p.tenant, p.stream.Name, "dead_letter").Inc()
		p.status.deadLetters.Add(1)
		return append(out, p.build.deadLetter(it.raw, it.meta, it.bad)), nil
	}
	rec, dead, err := p.build.record(it.raw, it.meta, extractedAt)
	switch {
	case dead:
		p.log.Warn("record that does not fit its schema sent to the dead-letter topic", "id", it.meta.id, "err", err)
		p.metrics.records.WithLabelValues(p.tenant, p.stream.Name, "dead_letter").Inc()
		p.status.deadLetters.Add(1)
	case err != nil:
		return out, fmt.Errorf("record %s: %w", it.meta.id, err)
	default:
		p.metrics.records.WithLabelValues(p.tenant, p.stream.Name, "written").Inc()
	}
	return append(out, rec), nil
}

// commit writes recs and the bookmark next in one transaction; on success next becomes the
// committed bookmark.
func (p *poller) commit(ctx context.Context, recs []*kgo.Record, next offsets.Bookmark) error {
	state, err := offsets.BookmarkRecords(p.stateTopic, p.tenant, p.stream.Name, next)
	if err != nil {
		return fmt.Errorf("encode bookmark: %w", err)
	}
	// Records written to the stream's topic (data and tombstones), not the dead letters.
	written := 0
	for _, r := range recs {
		if r.Topic == p.build.topic {
			written++
		}
	}
	err = p.out.commit(ctx, append(recs, state...))
	p.dropPages()
	if err != nil {
		return err
	}
	p.bm = next
	p.status.committed(next, written)
	p.log.Debug("committed", "records", written, "dead_letters", len(recs)-written, "watermark", next.Watermark,
		"window", len(next.Window), "traversals", len(next.Verify), "hashes", len(next.Hashes))
	return nil
}

// offsetCycle reads an append-only stream by number: each call returns up to 100 records
// numbered above the offset, and the offset becomes the largest number written.
func (p *poller) offsetCycle(ctx context.Context) error {
	for {
		q := p.stream.Query()
		q.Set("offset", strconv.FormatInt(p.bm.Watermark, 10))
		f, err := p.fetch(ctx, q, 0, 0)
		if err != nil {
			return err
		}
		next := cloneBookmark(p.bm)
		var out []*kgo.Record
		now := p.now()
		for _, it := range f.items {
			if it.bad == nil && it.meta.pos <= p.bm.Watermark {
				continue // at or below the offset: already written
			}
			if out, err = p.emit(out, it, now); err != nil {
				return err
			}
			next.Watermark = max(next.Watermark, it.meta.pos)
		}
		if len(out) > 0 {
			if err := p.commit(ctx, out, next); err != nil {
				return err
			}
		}
		if f.last {
			return nil
		}
		if next.Watermark == p.bm.Watermark && len(out) == 0 {
			return &stallError{reason: fmt.Sprintf("offset %d: a full page with nothing above the offset", p.bm.Watermark)}
		}
	}
}

// cloneBookmark returns a deep copy of b: a working copy that a failed commit leaves behind.
func cloneBookmark(b offsets.Bookmark) offsets.Bookmark {
	c := b
	c.Window = maps.Clone(b.Window)
	c.Hashes = maps.Clone(b.Hashes)
	if b.Verify != nil {
		c.Verify = make([]offsets.Verify, len(b.Verify))
		for i, v := range b.Verify {
			c.Verify[i] = v
			c.Verify[i].Written = copyPositions(v.Written)
		}
	}
	return c
}

// hashSet is a bounded set of record hashes: when full it forgets everything and starts again,
// so at worst a record is dead-lettered twice.
type hashSet struct {
	m map[uint64]struct{}
}

const hashSetLimit = 10000

// add inserts h and reports whether it was new.
func (s *hashSet) add(h uint64) bool {
	if _, ok := s.m[h]; ok {
		return false
	}
	if s.m == nil || len(s.m) >= hashSetLimit {
		s.m = make(map[uint64]struct{})
	}
	s.m[h] = struct{}{}
	return true
}
