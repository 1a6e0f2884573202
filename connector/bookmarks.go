package connector

// A waiting stream keeps its committed bookmark (poller.bm) and how it is stored
// (poller.stored), not a bookmark writer: the writer keeps a copy of the bookmark of its own,
// since a cycle changes the maps of the working bookmark in place, and 26,000 waiting streams
// would hold every bookmark twice. The writer is made when a turn begins and dropped when it
// ends, so at most one copy per worker exists at once.

// openWriter makes the stream's bookmark writer from the committed bookmark, unless it has one.
func (p *poller) openWriter() {
	if p.bw == nil {
		p.bw = p.stored.Writer(p.stateTopic, p.tenant, p.stream.Name, p.bm)
	}
}

// parkWriter drops the stream's bookmark writer, keeping how the committed bookmark is stored.
// The turn's writes are all answered by then: those that failed were taken back, and the
// working bookmark is the committed one again.
func (p *poller) parkWriter() {
	if p.bw != nil {
		p.stored = p.bw.Park()
		p.bw = nil
	}
}
