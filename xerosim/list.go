package xerosim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Page sizes.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
	fixedPageSize   = 100 // Quotes, LinkedTransactions, Journals
	chunk           = 1000
)

// listQuery is a parsed list call.
type listQuery struct {
	page         int // 0: no page parameter
	pageSize     int
	offset       int
	order        orderKind
	low          int64 // If-Modified-Since lower bound (unix ms), -1 without the header
	include      bool
	unitdp       int
	paymentsOnly bool
	ltID         string // LinkedTransactionID filter
	ltStatus     string // Status filter (LinkedTransactions)
}

// unsupportedFilters are spec parameters the simulator does not evaluate: a call using one
// gets a 400 rather than an unfiltered list.
var unsupportedFilters = []string{"IDs", "InvoiceNumbers", "ContactIDs", "Statuses", "searchTerm", "References",
	"createdByMyApp", "SourceTransactionID", "TargetTransactionID", "ContactID", "DateFrom", "DateTo",
	"ExpiryDateFrom", "ExpiryDateTo", "QuoteNumber"}

// listHandler serves the list endpoint of one stream.
func (s *Sim) listHandler(d *streamDef) http.HandlerFunc {
	endpoint := "GET /api.xro/2.0" + d.path
	return func(w http.ResponseWriter, r *http.Request) {
		if d.id == sEmployees && !s.cfg.employees {
			http.Error(w, "The resource you're looking for cannot be found", http.StatusNotFound)
			return
		}
		t, ok := s.authorize(w, r, true, d.path)
		if !ok {
			return
		}
		if d.id == sJournals && s.cfg.gateJournals {
			s.problem(w, http.StatusUnauthorized, "AuthorizationUnsuccessful")
			return
		}
		adm := s.lim.acquire(t, s.clock.now())
		adm.headers(w)
		if adm.problem != "" {
			s.stats.limited(adm.problem)
			w.Header().Set("X-Rate-Limit-Problem", adm.problem)
			if adm.problem != "concurrent" {
				w.Header().Set("Retry-After", strconv.FormatInt(s.clock.realSeconds(adm.retryAfter), 10))
			}
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		defer s.lim.release(t)
		if !acceptsJSON(r) {
			http.Error(w, "xerosim answers in JSON only: send Accept: application/json", http.StatusNotAcceptable)
			return
		}
		q, msg := s.parseList(d, r, endpoint)
		if msg != "" {
			s.validationError(w, msg)
			return
		}
		if r.URL.Query().Get("where") != "" {
			s.mu.RLock()
			n := t.tables[d.id].natAll.total
			s.mu.RUnlock()
			if d.paging == pagingPageSize && n >= s.cfg.highVolume {
				s.notEfficient(w, d)
				return
			}
			s.validationError(w, "xerosim does not evaluate where filters")
			return
		}
		f := s.faults.draw(r)
		if f != faultNone {
			s.stats.fault(f.String())
			if s.applyFault(w, r, d, f) {
				return
			}
		}
		s.writeList(w, t, d, q, f)
	}
}

func acceptsJSON(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "application/json")
}

// parseList reads the parameters of a list call; msg is a validation message on error.
func (s *Sim) parseList(d *streamDef, r *http.Request, endpoint string) (q listQuery, msg string) {
	v := r.URL.Query()
	q.low = -1
	q.unitdp = 2
	q.pageSize = defaultPageSize
	for _, f := range unsupportedFilters {
		if v.Has(f) {
			return q, fmt.Sprintf("xerosim does not evaluate the %s filter", f)
		}
	}
	if d.paging == pagingPageSize || d.paging == pagingPageOnly {
		if p := v.Get("page"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 {
				return q, "page must be a positive integer"
			}
			q.page = n
		}
	}
	if ps := v.Get("pageSize"); ps != "" {
		n, err := strconv.Atoi(ps)
		if d.paging == pagingPageSize && q.page > 0 {
			if err != nil || n < 1 {
				return q, "pageSize must be a positive integer"
			}
			if n > maxPageSize {
				s.stats.pageSizeIgnored(endpoint)
				n = maxPageSize
			}
			q.pageSize = n
		} else {
			s.stats.pageSizeIgnored(endpoint)
		}
	}
	if d.paging == pagingPageOnly {
		q.pageSize = fixedPageSize
	}
	if d.paging == pagingOffset {
		if o := v.Get("offset"); o != "" {
			n, err := strconv.Atoi(o)
			if err != nil || n < 0 {
				return q, "offset must be a non-negative integer"
			}
			q.offset = n
		}
		q.paymentsOnly = strings.EqualFold(v.Get("paymentsOnly"), "true")
	}
	if d.ordered {
		o, ok := parseOrder(d, v.Get("order"))
		if !ok {
			return q, fmt.Sprintf("xerosim cannot order %s by %q", d.wrapper, v.Get("order"))
		}
		q.order = o
	}
	if d.ims {
		if h := r.Header.Get("If-Modified-Since"); h != "" {
			ts, err := parseIMS(h)
			if err != nil {
				return q, "If-Modified-Since is not a valid date: " + h
			}
			q.low = s.cfg.ims.low(ts.UnixMilli())
		}
	}
	switch d.hide {
	case hideArchived:
		q.include = strings.EqualFold(v.Get("includeArchived"), "true")
	case hideDeleted:
		q.include = strings.EqualFold(v.Get("includeDeleted"), "true")
	}
	if d.unitdp && v.Get("unitdp") == "4" {
		q.unitdp = 4
	}
	if d.id == sLinkedTransactions {
		q.ltID = strings.ToLower(v.Get("LinkedTransactionID"))
		q.ltStatus = v.Get("Status")
	}
	return q, ""
}

// parseOrder understands the natural order, UpdatedDateUTC (or CreatedDateUTC where that is
// the endpoint's timestamp) ascending and descending.
func parseOrder(d *streamDef, o string) (orderKind, bool) {
	o = strings.TrimSpace(o)
	if o == "" {
		return orderNatural, true
	}
	field, dir, _ := strings.Cut(o, " ")
	dir = strings.ToUpper(strings.TrimSpace(dir))
	desc := dir == "DESC"
	if dir != "" && dir != "ASC" && dir != "DESC" {
		return 0, false
	}
	if !strings.EqualFold(field, d.imsField) || d.imsField == "" {
		return 0, false
	}
	if d.imsField == "CreatedDateUTC" {
		if desc {
			return orderNaturalDesc, true
		}
		return orderNatural, true
	}
	if desc {
		return orderUpdatedDesc, true
	}
	return orderUpdatedAsc, true
}

// parseIMS accepts ISO-8601 with or without an offset (no offset means UTC), with or without
// a fraction, and the HTTP date format.
func parseIMS(h string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, h); err == nil {
			return t, nil
		}
	}
	return http.ParseTime(h)
}

// validationError answers 400 with Xero's error body.
func (s *Sim) validationError(w http.ResponseWriter, msg string) {
	b := &jw{}
	b.obj()
	b.integer("ErrorNumber", 10)
	b.str("Type", "ValidationException")
	b.str("Message", "A validation exception occurred")
	b.arr("Elements")
	b.elem()
	b.arr("ValidationErrors")
	b.elem()
	b.str("Message", msg)
	b.end()
	b.endArr()
	b.end()
	b.endArr()
	b.end()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b.b)
}

// notEfficient answers Xero's 400 for unselective queries on very large organisations.
func (s *Sim) notEfficient(w http.ResponseWriter, d *streamDef) {
	b := &jw{}
	b.obj()
	b.integer("ErrorNumber", 10)
	b.str("Type", "ValidationException")
	b.str("Message", "Your request is not filtering "+d.wrapper+" efficiently, given the extremely high volume for this organisation. Please check https://developer.xero.com/documentation/api/efficient-data-retrieval")
	b.end()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b.b)
}

// envelope writes the start of a list response up to the opening of the wrapper array.
func (s *Sim) envelope(b *jw, id uuid, now int64) {
	b.obj()
	b.id("Id", id)
	b.str("Status", "OK")
	b.str("ProviderName", s.cfg.provider)
	b.msDateNoZone("DateTimeUTC", now)
}

// listPlan is what one list call returns: a rank range of a selection (or journal numbers).
type listPlan struct {
	sel        selection
	ids        []int32 // explicit indexes (filtered linked transactions)
	from, to   int     // ranks [from, to)
	pagination bool
	total      int
}

// plan selects the records of a list call. Must hold s.mu (read).
func (s *Sim) plan(t *tenant, d *streamDef, q *listQuery) listPlan {
	tb := t.tables[d.id]
	var p listPlan
	if q.ltID != "" || q.ltStatus != "" {
		for k := 0; k < tb.len(); k++ {
			if tb.gone(k) || (q.ltID != "" && tb.id(k).String() != q.ltID) || (q.ltStatus != "" && d.statuses[tb.status[k]] != q.ltStatus) {
				continue
			}
			p.ids = append(p.ids, int32(k))
		}
		p.total = len(p.ids)
	} else {
		p.sel = tb.sel(q.low, q.order, q.include)
		p.total = p.sel.total
	}
	p.from, p.to = 0, p.total
	if q.page > 0 {
		p.from = min(p.total, (q.page-1)*q.pageSize)
		p.to = min(p.total, p.from+q.pageSize)
		p.pagination = d.paging == pagingPageSize
	}
	return p
}

func (p *listPlan) at(k int) int {
	if p.ids != nil {
		return int(p.ids[k])
	}
	return p.sel.at(k)
}

// writeList renders and sends a list response. Paged responses are rendered under one read
// lock (a consistent page); responses without paging are rendered and sent in chunks of 1000
// records, taking the lock again for each chunk.
func (s *Sim) writeList(w http.ResponseWriter, t *tenant, d *streamDef, q listQuery, f fault) {
	b := s.bufs.Get().(*jw)
	defer func() {
		if cap(b.b) <= 4<<20 {
			s.bufs.Put(b)
		}
	}()
	b.b = b.b[:0]
	id := s.newID()
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Xero-Correlation-Id", id.String())
	c := rctx{w: b, t: t, tb: t.tables[d.id], unitdp: q.unitdp, lines: !d.lines || q.page > 0, include: q.include}
	defer func() {
		if c.copied > 0 {
			s.stats.prerendered(c.copied)
		}
	}()

	// The answer is stamped once the data are locked: no change it shows is newer than its
	// DateTimeUTC, and no change it misses is older.
	if d.id == sJournals {
		s.mu.RLock()
		s.envelope(b, id, s.clock.now())
		b.arr(d.wrapper)
		jr := t.jr
		n := q.offset + 1
		if q.low >= 0 {
			n = max(n, jr.firstFrom(q.low))
		}
		for got := 0; n <= jr.count() && got < fixedPageSize; n++ {
			if q.paymentsOnly && !jr.isPayment(n) {
				continue
			}
			b.sep()
			if !c.copyRendered(sJournals, n) {
				c.renderJournal(n)
			}
			got++
		}
		s.mu.RUnlock()
		b.endArr()
		b.end()
		s.send(w, b.b, f)
		return
	}

	s.mu.RLock()
	s.envelope(b, id, s.clock.now())
	p := s.plan(t, d, &q)
	if p.pagination {
		b.objKey("pagination")
		b.integer("page", int64(q.page))
		b.integer("pageSize", int64(q.pageSize))
		b.integer("pageCount", int64((p.total+q.pageSize-1)/q.pageSize))
		b.integer("itemCount", int64(p.total))
		b.end()
	}
	b.arr(d.wrapper)
	if q.low >= 0 {
		c.tb.imsLow.Store(q.low)
	}
	if p.to-p.from <= chunk {
		for k := p.from; k < p.to; k++ {
			i := p.at(k)
			b.sep()
			if !c.copyRendered(d.id, i) {
				d.render(&c, i)
			}
			c.tb.served(i)
		}
		s.mu.RUnlock()
		b.endArr()
		b.end()
		s.send(w, b.b, f)
		return
	}
	// A large response without paging: stream it.
	w.WriteHeader(http.StatusOK)
	k := p.from
	for {
		end := min(p.to, k+chunk)
		for ; k < end; k++ {
			b.sep()
			if i := p.at(k); !c.copyRendered(d.id, i) {
				d.render(&c, i)
			}
		}
		s.mu.RUnlock()
		if k >= p.to {
			break
		}
		if _, err := w.Write(b.b); err != nil {
			return
		}
		b.b = b.b[:0]
		if f == faultTruncated {
			s.hangUp(w)
			return
		}
		s.mu.RLock()
		p = s.plan(t, d, &q)
	}
	b.endArr()
	b.end()
	_, _ = w.Write(b.b)
}
