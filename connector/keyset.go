package connector

import (
	"fmt"
	"maps"
	"net/url"
	"slices"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
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

// followUps bounds the extra passes a cycle makes to check its re-reads; a re-read still
// unchecked then is checked by the next cycle.
const followUps = 3

// keyset is the keyset strategy's state machine. A cycle is made of passes: a pass reads from
// the watermark to the end of the list, then settles the traversals (settle). After a re-read
// the cycle makes another pass, so the re-read is checked against the changes made while it ran,
// not against those of a whole poll interval.
//
// Every page read either writes something, moves the bookmark, or moves on to the next page; a
// pass that would read the same page again without any of these fails with a *stallError
// instead of looping.
type keyset struct {
	stream *streams.Stream
	dead   *hashSet
	// bm is the working bookmark: the one the last write carries, or the committed one. Its
	// maps (the window, each traversal's Written) are shared with the bookmarks of the writes
	// and the committed one; undo holds the old values of the entries changed since the last
	// write, so that a page costs what it changes, not the size of the bookmark.
	bm   offsets.Bookmark
	undo *undoLog
	// pass counts the passes of the cycle, from 0.
	pass int
	// page is the page the pass reads; since the If-Modified-Since it is read with.
	page  int
	since int64
	// traversing is the index in Verify of the traversal under way, or -1 on page 1.
	traversing int
	// coarse is set once the server has sent a record older than the If-Modified-Since asked
	// for: it compares at a coarser precision, or not at all. Its page 1 then starts below the
	// window, and a traversal reads on to the end of the list rather than starting from page 1
	// again, which would read the same old records once more.
	coarse bool
	// prev is the previous page read in this pass; first1 the last page 1 read, and first1At
	// the bookmark it was read at.
	prev, first1 pageSig
	first1At     bookmarkSig
	// Once the pass has read to the end of the list, settleAt is the index in Verify of the
	// traversal to settle next, and reread says whether the pass read a range again.
	settleAt int
	reread   bool
	// rereading is set while the range of traversal settleAt is read again, from old (the
	// traversal as it was) at page rrPage.
	rereading bool
	old       offsets.Verify
	rrPage    int
}

func newKeyset(s *streams.Stream, bm offsets.Bookmark, dead *hashSet) *keyset {
	k := &keyset{stream: s, dead: dead, bm: bm, undo: &undoLog{}}
	k.startPass()
	return k
}

// startPass resets what a pass knows of the pages it read.
func (k *keyset) startPass() {
	k.page, k.traversing, k.coarse = 1, -1, false
	k.prev, k.first1, k.first1At = pageSig{}, pageSig{}, bookmarkSig{}
	k.settleAt, k.reread, k.rereading = 0, false, false
}

// query is the stream's query ordered by the replication key, oldest first.
func (k *keyset) query() url.Values {
	q := k.stream.Query()
	q.Set("order", k.stream.ReplicationKey+" ASC")
	return q
}

func (k *keyset) first() read { return k.passRead() }

// passRead is the pass's read of its current page, from just below the watermark.
func (k *keyset) passRead() read {
	k.since = lowerBound(k.bm.Watermark)
	return read{query: k.query(), page: k.page, since: k.since}
}

func (k *keyset) take(f fetched) (step, error) {
	if k.rereading {
		return k.rereadPage(f), nil
	}
	return k.passPage(f)
}

// working returns a copy of the working bookmark to change: its own list of traversals, the
// maps shared (their changes go through k.undo).
func (k *keyset) working() offsets.Bookmark {
	next := k.bm
	next.Verify = slices.Clone(k.bm.Verify)
	return next
}

// write adds a write of out with the bookmark next to st; next becomes the working bookmark.
func (k *keyset) write(st *step, out []item, next offsets.Bookmark) {
	st.writes = append(st.writes, write{items: out, bm: next, undo: k.undo})
	k.bm, k.undo = next, &undoLog{}
}

// rollback takes back the changes made to the maps since the last write.
func (k *keyset) rollback() {
	k.undo.apply()
}

// writeIfChanged writes unless there is nothing to write and the bookmark is unchanged.
func (k *keyset) writeIfChanged(st *step, out []item, next offsets.Bookmark) {
	if len(out) == 0 && sigOf(next) == sigOf(k.bm) {
		k.bm = next
		return
	}
	k.write(st, out, next)
}

// passPage takes a page of the pass.
func (k *keyset) passPage(f fetched) (step, error) {
	sig := signature(f)
	switch {
	case k.page == 1 && sig == k.first1 && sig.n > 0 && k.first1At == sigOf(k.bm):
		return step{}, &stallError{reason: "page 1 came back unchanged with nothing written since it was last read"}
	case k.page > 1 && sig == k.prev && sig.n > 0:
		return step{}, &stallError{reason: fmt.Sprintf("page %d holds the same records as page %d: the server ignores the page number", k.page, k.page-1)}
	}
	var st step
	k.prev = sig
	if k.page == 1 {
		k.first1, k.first1At = sig, sigOf(k.bm)
	}
	if !k.coarse && olderThan(f, k.since) {
		k.coarse = true
		st.notes = append(st.notes, note{kind: noteCoarse, from: k.since})
	}
	next := k.working()
	out, maxPos, beyond, fresh := k.pageItems(&next, f)
	if k.coarse && k.traversing >= 0 {
		see(&next.Verify[k.traversing], f, k.undo)
	}
	st.notes = append(st.notes, note{kind: notePage, page: k.page, records: len(f.items), fresh: fresh, last: f.last})

	switch {
	case k.traversing < 0 && (f.last || beyond || fresh > 0):
		// Page 1 is contiguous from the window's start: everything below its largest value
		// has now been written. A traversal left unfinished by a failure needs no settling:
		// the watermark never jumped over its range, and reading on from page 1 covers it.
		dropUnfinished(&next)
		advance(&next, maxPos, k.undo)
		k.writeIfChanged(&st, out, next)
		if f.last {
			return k.settle(st), nil
		}
	case k.traversing < 0:
		// Page 1 holds only records already written and more pages follow: traverse, or
		// resume a traversal a failure interrupted (its pages are read again and what they
		// wrote is in the window).
		k.traversing = unfinished(next)
		if k.traversing < 0 {
			next.Verify = append(next.Verify, offsets.Verify{
				From:    next.Watermark,
				Start:   f.serverTime,
				Written: copyPositions(next.Window),
			})
			k.traversing = len(next.Verify) - 1
		}
		if k.coarse {
			see(&next.Verify[k.traversing], f, k.undo)
		}
		k.write(&st, out, next)
		k.page = 2
		return k.then(st, k.passRead()), nil
	case f.last || (beyond && !k.coarse):
		// The traversal reached records above the watermark: it ends here.
		advance(&next, maxPos, k.undo)
		next.Verify[k.traversing].To = next.Watermark
		k.write(&st, out, next)
		k.traversing = -1
		if f.last {
			return k.settle(st), nil
		}
	default:
		k.writeIfChanged(&st, out, next)
		k.page++
		return k.then(st, k.passRead()), nil
	}
	k.page = 1
	return k.then(st, k.passRead()), nil
}

// then sets the next read of st.
func (k *keyset) then(st step, r read) step {
	st.next = &r
	return st
}

// see adds every record of the page to the traversal's Written, whether it was written now or
// long ago. From a server that sends records older than asked, the pages of a traversal hold
// old records that the window does not: if one of them is edited while the traversal runs, it
// leaves its page and shifts the next ones, and only its presence in Written lets noteMoves see
// that. (Below the watermark everything is written, so Written stays true.)
func see(v *offsets.Verify, f fetched, u *undoLog) {
	for _, it := range f.items {
		if it.bad != nil {
			continue
		}
		if w, ok := v.Written[it.meta.id]; !ok || it.meta.pos > w {
			u.set(v.Written, it.meta.id, it.meta.pos)
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

// bookmarkSig tells two bookmarks of a pass apart: anything committed between them moves the
// watermark, grows the window, or changes the traversals (their number, and for each whether it
// saw a move and how many records its Written holds).
type bookmarkSig struct {
	watermark int64
	window    int
	verify    int
	// traversals folds, in order, each traversal's Moved and len(Written).
	traversals uint64
}

func sigOf(b offsets.Bookmark) bookmarkSig {
	s := bookmarkSig{watermark: b.Watermark, window: len(b.Window), verify: len(b.Verify)}
	for _, v := range b.Verify {
		n := uint64(len(v.Written)) << 1
		if v.Moved {
			n |= 1
		}
		s.traversals = s.traversals*1_000_003 + n
	}
	return s
}

// stallError ends a cycle that would read the same page again without progress. The poller
// logs it once per stream and counts it.
type stallError struct{ reason string }

func (e *stallError) Error() string { return "no progress: " + e.reason }

// pageItems returns the new records of one page, which it records in the working bookmark
// next, with the largest UpdatedDateUTC on the page, whether any record lies above the watermark,
// and how many records were new.
func (k *keyset) pageItems(next *offsets.Bookmark, f fetched) (out []item, maxPos int64, beyond bool, fresh int) {
	maxPos = next.Watermark
	for _, it := range f.items {
		if it.bad != nil {
			if keepBad(k.dead, it) {
				out = append(out, it)
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
		noteMoves(next, m, k.undo)
		if done {
			continue
		}
		out = append(out, it)
		remember(next, m, k.undo)
		fresh++
	}
	return out, maxPos, beyond, fresh
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
func advance(b *offsets.Bookmark, pos int64, u *undoLog) {
	if pos <= b.Watermark {
		return
	}
	b.Watermark = pos
	lb := lowerBound(pos)
	for id, w := range b.Window {
		if w < lb {
			u.del(b.Window, id)
		}
	}
}

// remember records that the version m was written: in the window, and in every traversal
// whose range holds it.
func remember(b *offsets.Bookmark, m recordMeta, u *undoLog) {
	if m.pos >= lowerBound(b.Watermark) {
		if b.Window == nil {
			b.Window = make(map[string]int64)
		}
		u.set(b.Window, m.id, m.pos)
	}
	for i := range b.Verify {
		v := &b.Verify[i]
		if m.pos >= lowerBound(v.From) && (v.To == 0 || m.pos <= v.To) {
			u.set(v.Written, m.id, m.pos)
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
func noteMoves(b *offsets.Bookmark, m recordMeta, u *undoLog) {
	for i := range b.Verify {
		v := &b.Verify[i]
		if w, ok := v.Written[m.id]; ok && m.pos > w && m.pos >= v.Start-stampTolerance {
			v.Moved = true
			u.set(v.Written, m.id, m.pos)
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

// settle runs when a pass has read to the end of the list: every record that moved during a
// finished traversal has been seen by now. Traversals with no move are dropped; the range of
// each one with a move is read again (reread). When none is left, the pass is over: after a
// re-read, another pass follows, up to followUps.
func (k *keyset) settle(st step) step {
	for k.settleAt < len(k.bm.Verify) {
		v := k.bm.Verify[k.settleAt]
		switch {
		case v.To == 0:
			k.settleAt++ // unfinished (cannot happen at the end of a pass; kept to be safe)
		case !v.Moved:
			next := k.working()
			next.Verify = append(next.Verify[:k.settleAt], next.Verify[k.settleAt+1:]...)
			k.write(&st, nil, next)
		default:
			st.notes = append(st.notes, note{kind: noteReread, from: v.From, to: v.To})
			k.reread, k.rereading, k.old, k.rrPage = true, true, v, 1
			return k.then(st, k.rereadRead())
		}
	}
	if !k.reread || k.pass == followUps {
		return st // the cycle is over
	}
	k.pass++
	k.startPass()
	return k.then(st, k.passRead())
}

// rereadRead is the read of the re-read's current page.
func (k *keyset) rereadRead() read {
	return read{query: k.query(), page: k.rrPage, since: lowerBound(k.old.From)}
}

// rereadPage takes a page of the range of traversal settleAt read again from its start, and
// writes every record in it that was not written. The reading is itself a traversal: it
// replaces traversal settleAt, and a later pass settles it in turn.
func (k *keyset) rereadPage(f fetched) step {
	old := k.old
	next := k.working()
	v := &next.Verify[k.settleAt]
	if k.rrPage == 1 {
		// The reading starts afresh: no move seen yet.
		*v = offsets.Verify{From: old.From, To: old.To, Start: f.serverTime, Written: v.Written}
	}
	var out []item
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
		noteMoves(&next, m, k.undo)
		if done {
			continue
		}
		out = append(out, it)
		remember(&next, m, k.undo)
	}
	var st step
	k.write(&st, out, next)
	if f.last || end {
		k.rereading = false
		k.settleAt++
		return k.settle(st)
	}
	k.rrPage++
	return k.then(st, k.rereadRead())
}

// undoLog holds the old values of the map entries changed in a working bookmark, so that the
// changes can be taken back when the write that carries them is not committed.
type undoLog struct {
	entries []undoEntry
}

type undoEntry struct {
	m   map[string]int64
	id  string
	old int64
	had bool
}

// set sets m[id] to v, remembering the old value.
func (u *undoLog) set(m map[string]int64, id string, v int64) {
	old, had := m[id]
	u.entries = append(u.entries, undoEntry{m: m, id: id, old: old, had: had})
	m[id] = v
}

// del deletes m[id], remembering the old value.
func (u *undoLog) del(m map[string]int64, id string) {
	old, had := m[id]
	if !had {
		return
	}
	u.entries = append(u.entries, undoEntry{m: m, id: id, old: old, had: true})
	delete(m, id)
}

// apply takes the changes back, the last first, and empties the log.
func (u *undoLog) apply() {
	if u == nil {
		return
	}
	for i := len(u.entries) - 1; i >= 0; i-- {
		e := u.entries[i]
		if e.had {
			e.m[e.id] = e.old
		} else {
			delete(e.m, e.id)
		}
	}
	u.entries = nil
}
