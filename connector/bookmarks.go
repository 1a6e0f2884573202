package connector

// A waiting stream keeps its committed bookmark (poller.bm) and how it is stored
// (poller.stored), not a bookmark writer: the writer keeps a copy of the bookmark of its own,
// since a cycle changes the maps of the working bookmark in place, and 26,000 waiting streams
// would hold every bookmark twice. The writer is made when a turn begins and dropped when it
// ends, so at most one copy per worker exists at once. For the same reason a waiting stream
// keeps a small keyset window packed (window.go, poller.window) rather than as a map.

// openWriter makes the stream's bookmark writer from the committed bookmark, unless it has one,
// unpacking the committed bookmark's window first.
func (p *poller) openWriter() {
	if p.window != "" {
		p.bm.Window, p.window = p.window.unpack(), ""
	}
	if p.bw == nil {
		p.bw = p.stored.Writer(p.fixed.stateTopic, p.tenant, p.stream.Name, p.bm)
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

// packBookmark packs the committed bookmark's window for the wait until the next turn, if it is
// small (window.go). The turn is over: nothing else holds the window's map.
func (p *poller) packBookmark() {
	if pw, ok := packWindow(p.bm.Window); ok {
		p.window, p.bm.Window = pw, nil
	}
}
