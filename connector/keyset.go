package connector

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
)

// Keyset sync: how no record is skipped or written twice while Xero data changes.
//
// Xero returns the records modified since If-Modified-Since ordered by UpdatedDateUTC, in pages
// selected by number. Paging by number through a list that changes is unsafe: when a record on
// an earlier page is edited it moves to the end, everything after it shifts one place forward,
// and the record that crosses the page boundary is never seen. So a cycle always asks for page
// 1 of a window that starts just below the watermark, and moves the watermark after each
// committed page (keyset windows).
//
// The bookmark holds:
//
//   - Watermark: every record version whose UpdatedDateUTC is below it has been written.
//   - Window: the records already written at or above the window's lower bound, with the
//     UpdatedDateUTC written. A record read again with that same value (or an older one) is
//     dropped; a record not there, or with a newer value, is written. This is exact
//     deduplication, whether Xero compares If-Modified-Since inclusively or not, by millisecond
//     or by second.
//
// Page 1 of a window is contiguous from its start, so after it the watermark may move to the
// largest UpdatedDateUTC on it. When page 1 holds nothing new and more pages follow (more
// records than a page within the window, a bulk import sharing one timestamp), the cycle pages
// forward through the window: a traversal. Its page boundaries may hide a record if one of the
// records already read moves during the traversal. Such a move is detectable: the moved record
// comes back, later in the list, with an UpdatedDateUTC newer than the one written and no older
// than the traversal's first answer (give or take stampTolerance). It may have been edited again
// since, and the version the move made never be read, so any newer version counts. A traversal
// is therefore remembered (offsets.Verify: its range, the records written in it, the server time
// of its first answer) until a cycle has read to the end of the list. If none of its records
// moved, it is dropped; if one did, its range is read again and every record in it that was not
// written is written then. The re-read is checked in turn: the cycle reads to the end of the
// list once more at once, so that only the changes made during the re-read count against it.

// lowerBound is the If-Modified-Since sent for a watermark: one second below the watermark's
// whole second, so records at the watermark itself are returned however Xero compares.
func lowerBound(watermark int64) int64 {
	if watermark <= 0 {
		return 0
	}
	return watermark - watermark%1000 - 1000
}

// keysetQuery is the stream's query ordered by the replication key, oldest first.
func (p *poller) keysetQuery() url.Values {
	q := p.stream.Query()
	q.Set("order", p.stream.ReplicationKey+" ASC")
	return q
}

// followUps bounds the extra passes a cycle makes to check its re-reads; a re-read still
// unchecked then is checked by the next cycle.
const followUps = 3

// keysetCycle reads everything modified since the bookmark, then settles its traversals. After
// a re-read it reads to the end of the list again, so the re-read is checked against the
// changes made while it ran, not against those of a whole poll interval.
func (p *poller) keysetCycle(ctx context.Context) error {
	for pass := 0; ; pass++ {
		reread, err := p.keysetPass(ctx)
		if err != nil || !reread || pass == followUps {
			return err
		}
	}
}

// keysetPass reads from the watermark to the end of the list, then settles the traversals; it
// reports whether a range was read again.
//
// Every page read either writes something, moves the bookmark, or moves on to the next page;
// a pass that would read the same page again without any of these fails with a *stallError
// instead of looping.
func (p *poller) keysetPass(ctx context.Context) (reread bool, err error) {
	page := 1
	traversing := -1 // index in Verify of the traversal under way, or -1 on page 1
	// coarse is set once the server has sent a record older than the If-Modified-Since asked
	// for: it compares at a coarser precision, or not at all. Its page 1 then starts below
	// the window, and a traversal reads on to the end of the list rather than starting from
	// page 1 again, which would read the same old records once more.
	coarse := false
	var prev pageSig   // the previous page read in this pass
	var first1 pageSig // the last page 1 read, and the bookmark it was read at
	var first1At offsets.Bookmark
	for {
		since := lowerBound(p.bm.Watermark)
		f, err := p.fetch(ctx, p.keysetQuery(), page, since)
		if err != nil {
			return false, err
		}
		sig := signature(f)
		switch {
		case page == 1 && sig == first1 && sig.n > 0 && sameBookmark(first1At, p.bm):
			return false, &stallError{reason: "page 1 came back unchanged with nothing written since it was last read"}
		case page > 1 && sig == prev && sig.n > 0:
			return false, &stallError{reason: fmt.Sprintf("page %d holds the same records as page %d: the server ignores the page number", page, page-1)}
		}
		prev = sig
		if page == 1 {
			first1, first1At = sig, p.bm
		}
		if !coarse && olderThan(f, since) {
			coarse = true
			p.log.Debug("the server returns records older than If-Modified-Since; traversals read to the end of the list", "if_modified_since", time.UnixMilli(since).UTC())
		}
		next := cloneBookmark(p.bm)
		out, maxPos, beyond, fresh, err := p.keysetPage(&next, f, p.now())
		if err != nil {
			return false, err
		}
		if coarse && traversing >= 0 {
			see(&next.Verify[traversing], f)
		}
		p.log.Debug("keyset page read", "page", page, "records", len(f.items), "new", fresh, "last", f.last)

		switch {
		case traversing < 0 && (f.last || beyond || fresh > 0):
			// Page 1 is contiguous from the window's start: everything below its largest
			// value has now been written. A traversal left unfinished by a failure needs
			// no settling: the watermark never jumped over its range, and reading on from
			// page 1 covers it.
			dropUnfinished(&next)
			advance(&next, maxPos)
			if err := p.commitIfChanged(ctx, out, next); err != nil {
				return false, err
			}
			if f.last {
				return p.settle(ctx)
			}
		case traversing < 0:
			// Page 1 holds only records already written and more pages follow: traverse,
			// or resume a traversal a failure interrupted (its pages are read again and
			// what they wrote is in the window).
			traversing = unfinished(next)
			if traversing < 0 {
				next.Verify = append(next.Verify, offsets.Verify{
					From:    next.Watermark,
					Start:   f.serverTime,
					Written: copyPositions(next.Window),
				})
				traversing = len(next.Verify) - 1
			}
			if coarse {
				see(&next.Verify[traversing], f)
			}
			if err := p.commit(ctx, out, next); err != nil {
				return false, err
			}
			page = 2
			continue
		case f.last || (beyond && !coarse):
			// The traversal reached records above the watermark: it ends here.
			advance(&next, maxPos)
			next.Verify[traversing].To = next.Watermark
			if err := p.commit(ctx, out, next); err != nil {
				return false, err
			}
			traversing = -1
			if f.last {
				return p.settle(ctx)
			}
		default:
			if err := p.commitIfChanged(ctx, out, next); err != nil {
				return false, err
			}
			page++
			continue
		}
		page = 1
	}
}

// see adds every record of the page to the traversal's Written, whether it was written now or
// long ago. From a server that sends records older than asked, the pages of a traversal hold
// old records that the window does not: if one of them is edited while the traversal runs, it
// leaves its page and shifts the next ones, and only its presence in Written lets noteMoves see
// that. (Below the watermark everything is written, so Written stays true.)
func see(v *offsets.Verify, f fetched) {
	for _, it := range f.items {
		if it.bad != nil {
			continue
		}
		if w, ok := v.Written[it.meta.id]; !ok || it.meta.pos > w {
			v.Written[it.meta.id] = it.meta.pos
		}
	}
}

// pageSig tells two pages apart cheaply: their size and first and last records.
type pageSig struct {
	n                 int
	firstID, lastID   string
	firstPos, lastPos int64
}

func signature(f fetched) pageSig {
	if len(f.items) == 0 {
		return pageSig{}
	}
	a, z := f.items[0].meta, f.items[len(f.items)-1].meta
	return pageSig{n: len(f.items), firstID: a.id, lastID: z.id, firstPos: a.pos, lastPos: z.pos}
}

// olderThan reports whether the page holds a record modified before since (unix ms), which an
// exact If-Modified-Since would have left out.
func olderThan(f fetched, since int64) bool {
	for _, it := range f.items {
		if it.bad == nil && it.meta.pos < since {
			return true
		}
	}
	return false
}

// sameBookmark reports whether nothing was committed between two bookmarks of a pass: the
// watermark, the window and the traversals are as they were.
func sameBookmark(a, b offsets.Bookmark) bool {
	return a.Watermark == b.Watermark && len(a.Window) == len(b.Window) && !verifyChanged(a, b)
}

// stallError ends a cycle that would read the same page again without progress. The poller
// logs it once per stream and counts it.
type stallError struct{ reason string }

func (e *stallError) Error() string { return "no progress: " + e.reason }

// keysetPage writes the new records of one page into out and the working bookmark next. It
// returns the largest UpdatedDateUTC on the page, whether any record lies above the watermark,
// and how many records were new.
func (p *poller) keysetPage(next *offsets.Bookmark, f fetched, now time.Time) (out []*kgo.Record, maxPos int64, beyond bool, fresh int, err error) {
	maxPos = next.Watermark
	for _, it := range f.items {
		if it.bad != nil {
			if out, err = p.emit(out, it, now); err != nil {
				return nil, 0, false, 0, err
			}
			continue
		}
		m := it.meta
		maxPos = max(maxPos, m.pos)
		if m.pos > next.Watermark {
			beyond = true
		}
		// Whether it is written is judged before noteMoves records the version seen.
		done := written(next, m)
		noteMoves(next, m)
		if done {
			continue
		}
		if out, err = p.emit(out, it, now); err != nil {
			return nil, 0, false, 0, err
		}
		remember(next, m)
		fresh++
	}
	return out, maxPos, beyond, fresh, nil
}

// written reports whether the bookmark b says that the version m, or a newer one, has been
// written. A server that coarsens or ignores If-Modified-Since sends records from below the
// window again: the bookmark, not the server, decides.
//
//   - In the window, the value written is known.
//   - In the range of a traversal still to be checked, the traversal knows every version written
//     in it (Written starts as the window and follows every write in the range): a version it
//     does not hold may have been skipped by a page boundary, and is not written.
//   - Elsewhere below the watermark, everything is written.
func written(b *offsets.Bookmark, m recordMeta) bool {
	if w, ok := b.Window[m.id]; ok && w >= m.pos {
		return true
	}
	inRange := false
	for _, v := range b.Verify {
		if m.pos >= lowerBound(v.From) && (v.To == 0 || m.pos <= v.To) {
			if w, ok := v.Written[m.id]; ok && w >= m.pos {
				return true
			}
			inRange = true
		}
	}
	return !inRange && m.pos < b.Watermark
}

// advance moves the watermark up to pos and drops from the window what the next window's lower
// bound excludes.
func advance(b *offsets.Bookmark, pos int64) {
	if pos <= b.Watermark {
		return
	}
	b.Watermark = pos
	lb := lowerBound(pos)
	for id, w := range b.Window {
		if w < lb {
			delete(b.Window, id)
		}
	}
}

// remember records that the version m was written: in the window, and in every traversal
// whose range holds it.
func remember(b *offsets.Bookmark, m recordMeta) {
	if m.pos >= lowerBound(b.Watermark) {
		if b.Window == nil {
			b.Window = make(map[string]int64)
		}
		b.Window[m.id] = m.pos
	}
	for i := range b.Verify {
		v := &b.Verify[i]
		if m.pos >= lowerBound(v.From) && (v.To == 0 || m.pos <= v.To) {
			v.Written[m.id] = m.pos
		}
	}
}

// stampTolerance moves a traversal's start back. Xero stamps an answer's DateTimeUTC at some
// point while it serves the call, not necessarily when it reads the data: a change made just
// after the first page was read may carry an earlier time than that page's stamp, and it can
// still shift the next page. Counting the changes within this margin costs at most a needless
// re-read; missing one would lose a record.
const stampTolerance = int64(5000) // ms

// noteMoves marks the traversals that m shows may not be gap-free: m was written in the
// traversal's range and has been modified since the traversal began. (A change before its first
// answer removed the record before any page was read: it shifts no page boundary.) The change
// may also have come after the traversal's last page; telling the two apart would take the
// version in between, which a later edit can hide, so both count. The version seen replaces the
// one in Written, so a re-read of the range counts only the changes made after it.
func noteMoves(b *offsets.Bookmark, m recordMeta) {
	for i := range b.Verify {
		v := &b.Verify[i]
		if w, ok := v.Written[m.id]; ok && m.pos > w && m.pos >= v.Start-stampTolerance {
			v.Moved = true
			v.Written[m.id] = m.pos
		}
	}
}

// unfinished returns the index of the traversal under way in b, or -1.
func unfinished(b offsets.Bookmark) int {
	for i, v := range b.Verify {
		if v.To == 0 {
			return i
		}
	}
	return -1
}

// dropUnfinished removes the traversals of b that never ended.
func dropUnfinished(b *offsets.Bookmark) {
	if unfinished(*b) < 0 {
		return
	}
	kept := b.Verify[:0]
	for _, v := range b.Verify {
		if v.To != 0 {
			kept = append(kept, v)
		}
	}
	b.Verify = kept
}

// copyPositions copies m; the copy is never nil, since traversals add to it.
func copyPositions(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return maps.Clone(m)
}

// commitIfChanged commits unless there is nothing to write and the bookmark is unchanged.
func (p *poller) commitIfChanged(ctx context.Context, out []*kgo.Record, next offsets.Bookmark) error {
	if len(out) == 0 && next.Watermark == p.bm.Watermark && len(next.Window) == len(p.bm.Window) && !verifyChanged(p.bm, next) {
		p.bm = next
		return nil
	}
	return p.commit(ctx, out, next)
}

func verifyChanged(a, b offsets.Bookmark) bool {
	if len(a.Verify) != len(b.Verify) {
		return true
	}
	for i := range a.Verify {
		if a.Verify[i].Moved != b.Verify[i].Moved || len(a.Verify[i].Written) != len(b.Verify[i].Written) {
			return true
		}
	}
	return false
}

// settle runs when a cycle has read to the end of the list: every record that moved during a
// finished traversal has been seen by now. Traversals with no move are dropped; the range of
// each one with a move is read again, and settle reports that it did.
func (p *poller) settle(ctx context.Context) (reread bool, err error) {
	for i := 0; i < len(p.bm.Verify); {
		v := p.bm.Verify[i]
		switch {
		case v.To == 0:
			i++ // unfinished (cannot happen at the end of a cycle; kept to be safe)
		case !v.Moved:
			next := cloneBookmark(p.bm)
			next.Verify = append(next.Verify[:i], next.Verify[i+1:]...)
			if err := p.commit(ctx, nil, next); err != nil {
				return reread, err
			}
		default:
			p.log.Info("a record of a traversal's range changed while or after it was paged through; reading the range again", "from", time.UnixMilli(v.From).UTC(), "to", time.UnixMilli(v.To).UTC())
			p.metrics.rereads.WithLabelValues(p.tenant, p.stream.Name).Inc()
			if err := p.reread(ctx, i); err != nil {
				return true, err
			}
			reread = true
			i++
		}
	}
	return reread, nil
}

// reread reads the range of traversal i again from its start and writes every record in it
// that was not written. The reading is itself a traversal: it replaces traversal i, and a
// later cycle settles it in turn.
func (p *poller) reread(ctx context.Context, i int) error {
	old := p.bm.Verify[i]
	for page := 1; ; page++ {
		f, err := p.fetch(ctx, p.keysetQuery(), page, lowerBound(old.From))
		if err != nil {
			return err
		}
		next := cloneBookmark(p.bm)
		v := &next.Verify[i]
		if page == 1 {
			// The reading starts afresh: no move seen yet.
			*v = offsets.Verify{From: old.From, To: old.To, Start: f.serverTime, Written: v.Written}
		}
		var out []*kgo.Record
		now := p.now()
		end := false // the page reached past the range
		for _, it := range f.items {
			m := it.meta
			if it.bad != nil {
				continue // dead-lettered when the range was first read
			}
			if m.pos > old.To {
				end = true
				continue
			}
			if m.pos < lowerBound(old.From) {
				continue // below the range: the server sent more than asked, and the pass reads it
			}
			done := written(&next, m)
			noteMoves(&next, m)
			if done {
				continue
			}
			if out, err = p.emit(out, it, now); err != nil {
				return err
			}
			remember(&next, m)
		}
		if err := p.commit(ctx, out, next); err != nil {
			return err
		}
		if f.last || end {
			return nil
		}
	}
}
