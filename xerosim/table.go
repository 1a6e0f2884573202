package xerosim

import (
	"cmp"
	"slices"
	"sort"
	"sync/atomic"
)

// Record flags.
const (
	flagGone   = 1 << iota // hard-deleted: absent from every list
	flagHidden             // archived or deleted: listed only with includeArchived/includeDeleted
)

// table holds the small mutable state of one stream of one tenant: per record its version,
// status and flags, and two orders over the records, the natural order (by record index, the
// order of creation) and the UpdatedDateUTC order (ties broken by record id). The records
// themselves are generated on demand from (seed, index, version).
//
// The UpdatedDateUTC order is an append-only log: initial records are generated with strictly
// increasing timestamps, and every change stamps the simulator's monotonic clock, so a changed
// record always moves to the end. The old log entry is left in place and marked stale; a
// Fenwick tree over "current entry" flags finds the k-th current entry in O(log n).
type table struct {
	def    *streamDef
	idSeed uint64
	// clk is moved forward when a change is given a timestamp ahead of it (touch); nil in
	// tests of the table alone.
	clk *clock

	n0             int   // records generated at start
	baseTS, stepTS int64 // initial timestamps: baseTS + i*stepTS + jitter(i)
	created        []int64

	ver    []uint32
	status []uint8
	flags  []uint8

	ord   []int32 // log of (record, timestamp), ordered by (timestamp, id)
	ordTS []int64
	pos   []int32 // current log position of each record
	stale int

	logAll, logVis *fenwick // over log positions: current, and current and not hidden
	natAll, natVis *fenwick // over record indexes: not gone, and not gone and not hidden

	// batchFrom is the log position of the first entry appended since beginBatch, or -1 when no
	// batch is open. While one is, entries are appended unsorted and endBatch sorts them once.
	batchFrom int

	// Written by readers under the read lock, hence atomic.
	recent  [64]atomic.Int32 // indexes recently served, for mutations aimed at records being read
	nRecent atomic.Uint64
	imsLow  atomic.Int64 // lower bound of the last If-Modified-Since window served
}

func newTable(def *streamDef, idSeed uint64, n int, baseTS, endTS int64, statusOf func(i int) uint8) *table {
	t := &table{def: def, idSeed: idSeed, n0: n, baseTS: baseTS, batchFrom: -1}
	if n > 0 {
		t.stepTS = (endTS - baseTS) / int64(n)
		if t.stepTS < 1 {
			t.stepTS = 1
		}
	}
	t.ver = make([]uint32, n)
	t.status = make([]uint8, n)
	t.flags = make([]uint8, n)
	t.ord = make([]int32, n)
	t.ordTS = make([]int64, n)
	t.pos = make([]int32, n)
	all := make([]bool, n)
	vis := make([]bool, n)
	for i := 0; i < n; i++ {
		st := statusOf(i)
		t.status[i] = st
		if def.hidden(st) {
			t.flags[i] |= flagHidden
		}
		t.ord[i] = int32(i)
		t.ordTS[i] = t.initTS(i)
		t.pos[i] = int32(i)
		all[i] = true
		vis[i] = t.flags[i]&flagHidden == 0
	}
	t.logAll = newFenwick(slices.Clone(all))
	t.natAll = newFenwick(all)
	if def.hide != hideNone {
		t.logVis = newFenwick(slices.Clone(vis))
		t.natVis = newFenwick(vis)
	} else {
		t.logVis, t.natVis = t.logAll, t.natAll
	}
	return t
}

func (t *table) len() int { return len(t.ver) }

func (t *table) id(i int) uuid { return makeUUID(mix(t.idSeed, uint64(i))) }

// initTS is the creation timestamp of record i, strictly increasing for generated records.
func (t *table) initTS(i int) int64 {
	if i >= t.n0 {
		return t.created[i-t.n0]
	}
	j := int64(mix(t.idSeed^0x5157, uint64(i)) % uint64(t.stepTS))
	return t.baseTS + int64(i)*t.stepTS + j
}

// upd is the current UpdatedDateUTC (or CreatedDateUTC) of record i.
func (t *table) upd(i int) int64 { return t.ordTS[t.pos[i]] }

func (t *table) gone(i int) bool   { return t.flags[i]&flagGone != 0 }
func (t *table) hidden(i int) bool { return t.flags[i]&flagHidden != 0 }

// visible reports whether record i is listed by a call with or without the include switch.
func (t *table) visible(i int, include bool) bool {
	return !t.gone(i) && (include || !t.hidden(i))
}

// appendEntry puts record i at the end of the log with timestamp ts, keeping (ts, id) order
// among entries that share the timestamp.
func (t *table) appendEntry(i int, ts int64) {
	p := len(t.ord)
	if p > 0 {
		ts = max(ts, t.ordTS[p-1]) // the log stays in time order (see touch)
	}
	t.ord = append(t.ord, int32(i))
	t.ordTS = append(t.ordTS, ts)
	t.logAll.push(true)
	if t.logVis != t.logAll {
		t.logVis.push(!t.hidden(i))
	}
	if t.batchFrom >= 0 {
		t.pos[i] = int32(p) // endBatch puts it in (ts, id) order
		return
	}
	id := t.id(i)
	for p > 0 && t.ordTS[p-1] == ts && id.less(t.id(int(t.ord[p-1]))) {
		j := int(t.ord[p-1])
		t.ord[p-1], t.ord[p] = int32(i), int32(j)
		ja, jv := t.logAll.flags[p-1], t.logVis.flags[p-1]
		ia, iv := t.logAll.flags[p], t.logVis.flags[p]
		t.logAll.set(p, ja)
		t.logAll.set(p-1, ia)
		if t.logVis != t.logAll {
			t.logVis.set(p, jv)
			t.logVis.set(p-1, iv)
		}
		if int(t.pos[j]) == p-1 {
			t.pos[j] = int32(p)
		}
		p--
	}
	t.pos[i] = int32(p)
}

// touch records a change of record i at ts: a new version at the end of the log. A version
// is always later than the one it replaces, by a millisecond if two changes fall in the same
// one: two versions with one UpdatedDateUTC would be indistinguishable to any client.
func (t *table) touch(i int, ts int64) {
	if prev := t.upd(i); ts <= prev {
		ts = prev + 1
		if t.clk != nil {
			t.clk.reach(ts)
		}
	}
	p := int(t.pos[i])
	t.logAll.set(p, false)
	t.logVis.set(p, false)
	t.stale++
	t.ver[i]++
	t.appendEntry(i, ts)
	t.maybeCompact()
}

// maybeCompact drops the stale entries once they are most of the log, unless a batch is open
// (compacting would move the batch's entries).
func (t *table) maybeCompact() {
	if t.batchFrom < 0 && t.stale > 4096 && t.stale > len(t.ord)/2 {
		t.compact()
	}
}

// beginBatch starts a run of changes that share their timestamps, such as a bulk import:
// appendEntry then leaves the (ts, id) order to endBatch, which restores it with one sort instead
// of one insertion per record (quadratic when many records share an instant).
func (t *table) beginBatch() { t.batchFrom = len(t.ord) }

// endBatch sorts the entries appended since beginBatch, together with the earlier entries that
// share the first one's timestamp, into (ts, id) order; equal keys keep their order, as
// appendEntry's insertion would.
func (t *table) endBatch() {
	lo := t.batchFrom
	t.batchFrom = -1
	if lo < 0 || lo >= len(t.ord) {
		return
	}
	for first := t.ordTS[lo]; lo > 0 && t.ordTS[lo-1] == first; {
		lo--
	}
	type entry struct {
		rec      int32
		ts       int64
		id       uuid
		all, vis bool
		current  bool
	}
	seg := make([]entry, 0, len(t.ord)-lo)
	for p := lo; p < len(t.ord); p++ {
		r := t.ord[p]
		seg = append(seg, entry{rec: r, ts: t.ordTS[p], id: t.id(int(r)),
			all: t.logAll.flags[p], vis: t.logVis.flags[p], current: int(t.pos[r]) == p})
	}
	slices.SortStableFunc(seg, func(a, b entry) int {
		switch {
		case a.ts != b.ts:
			return cmp.Compare(a.ts, b.ts)
		case a.id.less(b.id):
			return -1
		case b.id.less(a.id):
			return 1
		}
		return 0
	})
	for k, e := range seg {
		p := lo + k
		t.ord[p], t.ordTS[p] = e.rec, e.ts
		t.logAll.set(p, e.all)
		if t.logVis != t.logAll {
			t.logVis.set(p, e.vis)
		}
		if e.current {
			t.pos[e.rec] = int32(p)
		}
	}
	t.maybeCompact()
}

// setStatus changes the status of record i and its hidden flag.
func (t *table) setStatus(i int, st uint8) {
	t.status[i] = st
	h := t.def.hidden(st)
	if h == t.hidden(i) {
		return
	}
	if h {
		t.flags[i] |= flagHidden
	} else {
		t.flags[i] &^= flagHidden
	}
	if t.natVis != t.natAll {
		t.natVis.set(i, !h && !t.gone(i))
		t.logVis.set(int(t.pos[i]), !h && !t.gone(i))
	}
}

// remove hard-deletes record i.
func (t *table) remove(i int) {
	t.flags[i] |= flagGone
	p := int(t.pos[i])
	t.logAll.set(p, false)
	t.logVis.set(p, false)
	t.natAll.set(i, false)
	t.natVis.set(i, false)
}

// create appends a new record created at ts and returns its index.
func (t *table) create(ts int64, st uint8) int {
	i := len(t.ver)
	t.created = append(t.created, ts)
	t.ver = append(t.ver, 0)
	t.status = append(t.status, st)
	var fl uint8
	if t.def.hidden(st) {
		fl = flagHidden
	}
	t.flags = append(t.flags, fl)
	t.pos = append(t.pos, 0)
	t.natAll.push(true)
	if t.natVis != t.natAll {
		t.natVis.push(fl == 0)
	}
	t.appendEntry(i, ts)
	return i
}

// compact drops stale log entries; the order of current entries is unchanged.
func (t *table) compact() {
	n := 0
	for p, i := range t.ord {
		if int(t.pos[i]) != p {
			continue
		}
		t.ord[n] = i
		t.ordTS[n] = t.ordTS[p]
		t.pos[i] = int32(n)
		n++
	}
	t.ord = t.ord[:n]
	t.ordTS = t.ordTS[:n]
	t.stale = 0
	all := make([]bool, n)
	vis := make([]bool, n)
	for p, i := range t.ord {
		all[p] = !t.gone(int(i))
		vis[p] = all[p] && !t.hidden(int(i))
	}
	t.logAll = newFenwick(all)
	if t.logVis != nil && t.def.hide != hideNone {
		t.logVis = newFenwick(vis)
	} else {
		t.logVis = t.logAll
	}
}

// orderKind is the sort order of a list call.
type orderKind int

const (
	orderNatural orderKind = iota
	orderUpdatedAsc
	orderUpdatedDesc
	orderNaturalDesc
)

// selection is the ordered set of records a list call matches, addressable by rank.
type selection struct {
	t       *table
	order   orderKind
	include bool
	total   int
	r0      int     // rank of the first match in the tree the order uses
	pre     []int32 // natural order with If-Modified-Since: changed records before the cut
	cut     int     // natural order: first record index whose creation passes the bound
}

// sel returns the records visible to a call with the given bound (low <= timestamp; low < 0
// means no If-Modified-Since), order and include switch.
func (t *table) sel(low int64, order orderKind, include bool) selection {
	s := selection{t: t, order: order, include: include}
	logF, natF := t.logAll, t.natAll
	if !include {
		logF, natF = t.logVis, t.natVis
	}
	switch order {
	case orderUpdatedAsc, orderUpdatedDesc:
		start := 0
		if low >= 0 {
			start = sort.Search(len(t.ordTS), func(p int) bool { return t.ordTS[p] >= low })
		}
		s.r0 = logF.prefix(start)
		s.total = logF.total - s.r0
	default:
		if low < 0 {
			s.total = natF.total
			return s
		}
		n := t.len()
		s.cut = sort.Search(n, func(i int) bool { return t.initTS(i) >= low })
		start := sort.Search(len(t.ordTS), func(p int) bool { return t.ordTS[p] >= low })
		for p := start; p < len(t.ord); p++ {
			i := int(t.ord[p])
			if int(t.pos[i]) == p && int(i) < s.cut && t.visible(i, include) {
				s.pre = append(s.pre, int32(i))
			}
		}
		slices.Sort(s.pre)
		s.r0 = natF.prefix(s.cut)
		s.total = len(s.pre) + natF.total - s.r0
	}
	return s
}

// at returns the record index of rank k (0 <= k < total) in the selection's order.
func (s *selection) at(k int) int {
	t := s.t
	logF, natF := t.logAll, t.natAll
	if !s.include {
		logF, natF = t.logVis, t.natVis
	}
	switch s.order {
	case orderUpdatedAsc:
		return int(t.ord[logF.find(s.r0+k)])
	case orderUpdatedDesc:
		return int(t.ord[logF.find(logF.total-1-k)])
	case orderNaturalDesc:
		k = s.total - 1 - k
	}
	if k < len(s.pre) {
		return int(s.pre[k])
	}
	return natF.find(s.r0 + k - len(s.pre))
}

// served remembers record i as recently read by a client.
func (t *table) served(i int) {
	n := t.nRecent.Add(1) - 1
	t.recent[n%uint64(len(t.recent))].Store(int32(i))
}
