package connector

import (
	"context"
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

// resetInbox holds the operator's pending resets of one stream; *offsets.ResetInbox implements
// it (a nil one is empty). The scheduler learns of new ones through offsets.State.OnReset.
type resetInbox interface {
	// Pending returns the resets not yet applied, oldest first.
	Pending() []offsets.Reset
	// Applied removes the resets a committed transaction applied.
	Applied(done []offsets.Reset)
}

// poller keeps one (tenant, stream) in sync: the scheduler (schedule.go) runs its sync cycles,
// each when the one before says. A cycle reads what changed since the committed bookmark and
// commits each page's records together with the bookmark that follows them, so the bookmark in
// memory always equals the one in the state topic.
type poller struct {
	stream *streams.Stream
	tenant string
	api    lister
	out    committer
	build  builder
	// fixed holds the settings every poller of the connector shares.
	fixed *pollerSettings
	// bm is the last committed bookmark. It changes only after a commit returned nil.
	bm offsets.Bookmark
	// window is bm's window packed while the stream waits, bm.Window then nil (bookmarks.go).
	window packedWindow
	// bw writes the bookmark as what changed since the committed one; between cycles it is nil
	// and stored says how the committed bookmark is stored (bookmarks.go).
	bw     *offsets.BookmarkWriter
	stored offsets.StoredBookmark
	// interval is the pause between cycles that caught up; plan, when set, replaces it with
	// the organisation's day-budget plan, and counts the calls of each cycle (plan.go).
	interval time.Duration
	plan     *streamPlan
	// resets holds the operator's pending requests to read the stream again (reset.go).
	resets resetInbox
	// deadSeen remembers the records without readable keys already dead-lettered, which no
	// bookmark can hold.
	deadSeen hashSet
	now      func() time.Time
	log      *slog.Logger
	status   *streamStatus
	metrics  *metrics
	// scope is the read scope the stream's endpoint needs.
	scope string
	// mem bounds the pages held over all pollers (memory.go); lease is this poller's share,
	// leaseBase its bytes, lastPage the size of its last page. startDelay staggers the first
	// call (stagger.go).
	mem                 *pageBudget
	lease               *pageLease
	leaseBase, lastPage int64
	// unsent is the bytes of the pages read since the last write sent, which that write's
	// answer releases (pipeline.go).
	unsent     int64
	startDelay time.Duration
}

// pollerSettings are the settings every poller of a connector shares, held once.
type pollerSettings struct {
	stateTopic string
	// startMS is the earliest replication-key value wanted (XERO_START_DATE), unix ms.
	startMS int64
	// refusedFor is the pause after Xero refused an endpoint (a missing scope, or journals
	// below the Advanced tier).
	refusedFor time.Duration
}

// Waits after failures: doubling from the first to the last.
const (
	firstRetry = 5 * time.Second
	lastRetry  = 5 * time.Minute
)

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

// cycle runs one sync cycle: the one loop that reads pages, builds records and commits them.
// The stream's strategy (strategy.go) decides, from each page, what to write with which
// bookmark and what to read next. The writes are pipelined (pipeline.go): the next page is read
// while the records of the last one are built and the last writes commit.
func (p *poller) cycle(ctx context.Context) error {
	st := newStrategy(p.stream, p.bm, &p.deadSeen)
	if st == nil {
		return fmt.Errorf("unknown sync strategy %v", p.stream.Sync)
	}
	pl := &pipeline{}
	p.unsent = 0
	next, err := p.readAhead(ctx, st.first())
	if err != nil {
		return p.finish(st, pl, nil, err)
	}
	for {
		f, err := p.land(next)
		if err != nil {
			return p.finish(st, pl, nil, err)
		}
		s, err := st.take(f)
		p.report(s.notes)
		if err != nil {
			return p.finish(st, pl, nil, err)
		}
		next = nil
		if s.next != nil {
			// The next page is read while this step's records are built and sent, once the
			// pipeline has room for another page.
			if err := p.room(pl); err != nil {
				return p.finish(st, pl, s.writes, nil)
			}
			if next, err = p.readAhead(ctx, *s.next); err != nil {
				return p.finish(st, pl, s.writes, err)
			}
		}
		for i, w := range s.writes {
			// more: the cycle has another write after this one, which its transaction may wait for.
			more := i < len(s.writes)-1 || s.next != nil
			if err := p.send(ctx, pl, w, more); err != nil {
				next.drop()
				return p.finish(st, pl, s.writes[i:], err)
			}
		}
		if s.next == nil {
			return p.finish(st, pl, nil, nil)
		}
	}
}

// request is the Xero call of r on stream s: r's query with the paging parameters.
func request(s *streams.Stream, tenant string, r read) xero.Request {
	q := maps.Clone(r.query)
	if q == nil {
		q = url.Values{}
	}
	switch s.Paging {
	case streams.PageSize:
		q.Set("page", strconv.Itoa(r.page))
		q.Set("pageSize", strconv.Itoa(streams.MaxPageSize))
	case streams.PageOnly:
		q.Set("page", strconv.Itoa(r.page))
	}
	req := xero.Request{Tenant: tenant, Path: s.Path, Wrapper: s.Wrapper, Query: q, Fields: metaFields(s)}
	if r.since != 0 {
		req.ModifiedSince = time.UnixMilli(r.since).UTC()
	}
	return req
}

// pageOf reads the records of pg, the answer to page page of stream s read at at.
func pageOf(s *streams.Stream, pg *xero.Page, page int, at time.Time) fetched {
	f := fetched{items: make([]item, len(pg.Records)), last: isLast(s, pg, page)}
	if !pg.ServerTime.IsZero() {
		f.serverTime = pg.ServerTime.UnixMilli()
	}
	for i, raw := range pg.Records {
		m, err := pageMeta(s, pg, i)
		f.items[i] = item{raw: raw, meta: m, bad: err, at: at}
	}
	return f
}

// reading is a page being read on a goroutine of its own, while the poller builds and sends the
// records of the page before.
type reading struct {
	r      read
	cancel context.CancelFunc
	done   chan struct{}
	// Set before done is closed.
	pg  *xero.Page
	f   fetched
	err error
}

// readAhead starts the call r, within the page-memory budget (memory.go): it waits for a
// reservation when the poller holds none, then reads the page and splits it into items on a
// goroutine. land takes the result; drop abandons it.
func (p *poller) readAhead(ctx context.Context, r read) (*reading, error) {
	if err := p.holdPage(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	rd := &reading{r: r, cancel: cancel, done: make(chan struct{})}
	req := request(p.stream, p.tenant, r)
	go func() {
		defer close(rd.done)
		rd.pg, rd.err = p.api.List(ctx, req)
		if rd.err == nil {
			rd.f = pageOf(p.stream, rd.pg, r.page, p.now())
		}
	}()
	return rd, nil
}

// land waits for the page rd reads and counts it: in the metrics, the status and the poller's
// page-memory reservation.
func (p *poller) land(rd *reading) (fetched, error) {
	<-rd.done
	rd.cancel()
	if rd.err != nil {
		if rd.r.lookup != "" {
			return fetched{}, fmt.Errorf("look up %s %s: %w", p.stream.PrimaryKey, rd.r.lookup, rd.err)
		}
		return fetched{}, rd.err // the client's error names the endpoint and the page
	}
	p.metrics.pages.WithLabelValues(p.tenant, p.stream.Name).Inc()
	p.status.fetched(rd.r.page, rd.pg.Pagination)
	p.settlePage(pageSize(rd.f.items))
	return rd.f, nil
}

// drop abandons the read: it cancels the call and waits for its goroutine. The page, if it came,
// was never counted.
func (rd *reading) drop() {
	if rd != nil {
		rd.cancel()
		<-rd.done
	}
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

// report logs and counts what a step noted.
func (p *poller) report(notes []note) {
	for _, n := range notes {
		switch n.kind {
		case notePage:
			p.log.Debug("keyset page read", "page", n.page, "records", n.records, "new", n.fresh, "last", n.last)
		case noteCoarse:
			p.log.Debug("the server returns records older than If-Modified-Since; traversals read to the end of the list", "if_modified_since", time.UnixMilli(n.from).UTC())
		case noteReread:
			p.log.Info("a record of a traversal's range changed while or after it was paged through; reading the range again", "from", time.UnixMilli(n.from).UTC(), "to", time.UnixMilli(n.to).UTC())
			p.metrics.rereads.WithLabelValues(p.tenant, p.stream.Name).Inc()
		}
	}
}

// emit builds the Kafka record of it, or its dead letter, which it counts (send counts the
// records written).
func (p *poller) emit(it item) (*kgo.Record, error) {
	if it.bad != nil {
		p.log.Warn("record without readable keys sent to the dead-letter topic", "err", it.bad)
		p.metrics.records.WithLabelValues(p.tenant, p.stream.Name, "dead_letter").Inc()
		p.status.deadLetters.Add(1)
		return p.build.deadLetter(it.raw, it.meta, it.bad), nil
	}
	rec, dead, err := p.build.record(it.raw, it.meta, it.at)
	switch {
	case dead:
		p.log.Warn("record that does not fit its schema sent to the dead-letter topic", "id", it.meta.id, "err", err)
		p.metrics.records.WithLabelValues(p.tenant, p.stream.Name, "dead_letter").Inc()
		p.status.deadLetters.Add(1)
	case err != nil:
		return nil, fmt.Errorf("record %s: %w", it.meta.id, err)
	}
	return rec, nil
}
