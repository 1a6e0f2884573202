package xerosim

// Prerendered records: a throughput benchmark runs a connector against a simulator on the same
// cores, and the simulator's rendering of each record, which stands in for work done on Xero's
// servers, takes CPU from the connector. With the Prerendered option the simulator renders the
// records of every tenant once, when it starts, as a paged list call asks for them, and such a
// call copies the bytes instead of rendering them again. The bytes are those the call would
// render (TestPrerenderedAsRendered). The first change to the data (Mutate, Burst) drops them
// all, since a change to one record can show in others (an invoice embeds its contact).

// Prerendered renders every record once at start, for benchmarks whose data do not change: a
// paged list call with the usual parameters then sends stored bytes. Any change drops them, and
// the simulator renders as usual from then on.
func Prerendered() Option { return func(c *config) { c.prerender = true } }

// rendered holds the records of one stream of a tenant, rendered alone with one set of list
// parameters: record k's bytes are buf[off[k]:off[k+1]] (k is the table index, or the journal
// number for journals).
type rendered struct {
	unitdp  int
	lines   bool
	include bool
	off     []int
	buf     []byte
}

// record returns the stored bytes of record k when c asks for the parameters they were rendered
// with, else nil.
func (r *rendered) record(c *rctx, k int) []byte {
	if r == nil || c.unitdp != r.unitdp || c.lines != r.lines || c.include != r.include || k+1 >= len(r.off) || r.off[k] == r.off[k+1] {
		return nil
	}
	return r.buf[r.off[k]:r.off[k+1]]
}

// prerender renders the records of every stream of t with the parameters that a paged list
// call of the stream sends most often: unitdp=4 where the endpoint takes it, line details, and
// the archived or deleted records where it can include them. Records that are gone are stored
// empty; no list call returns them. Must be called before t is served.
func (t *tenant) prerender() {
	for _, d := range defs {
		tb := t.tables[d.id]
		var n int
		switch {
		case d.id == sJournals && t.jr.count() > 0:
			n = t.jr.count() + 1 // journal numbers start at 1
		case tb != nil && d.render != nil:
			n = tb.len()
		}
		if n == 0 {
			continue
		}
		c := rctx{w: &jw{}, t: t, tb: tb, unitdp: 2, lines: true, include: d.hide != hideNone}
		if d.unitdp {
			c.unitdp = 4
		}
		r := &rendered{unitdp: c.unitdp, lines: c.lines, include: c.include, off: make([]int, 1, n+1)}
		for k := range n {
			switch {
			case d.id == sJournals && k > 0:
				c.renderJournal(k)
			case d.id != sJournals && !tb.gone(k):
				d.render(&c, k)
			}
			r.off = append(r.off, len(c.w.b))
		}
		r.buf = c.w.b
		t.pre[d.id] = r
	}
}

// copyRendered appends the stored bytes of record k of stream s, if c's tenant holds them for
// c's parameters, and reports whether it did.
func (c *rctx) copyRendered(s streamID, k int) bool {
	b := c.t.pre[s].record(c, k)
	if b == nil {
		return false
	}
	c.w.b = append(c.w.b, b...)
	c.copied++
	return true
}

// dropPrerendered forgets every tenant's stored records. Must hold s.mu.
func (s *Sim) dropPrerendered() {
	if !s.cfg.prerender {
		return
	}
	for _, t := range s.tenants {
		t.pre = [numStreams]*rendered{}
	}
}
