package xerosim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Truth returns the current records of a stream of a tenant exactly as a complete list call
// with the connector's parameters returns them (page given so line details are present,
// unitdp=4 where the endpoint takes it, includeArchived=true, includeDeleted=true), in the
// endpoint's natural order: creation order, journals by JournalNumber. Hard-deleted records
// are absent. Streams the simulator does not serve (employees by default, journals when
// gated) have no records.
func (s *Sim) Truth(tenantID, stream string) ([]json.RawMessage, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	d := defsByName[stream]
	if d == nil {
		return nil, fmt.Errorf("xerosim: unknown stream %q", stream)
	}
	if (d.id == sEmployees && !s.cfg.employees) || (d.id == sJournals && s.cfg.gateJournals) {
		return []json.RawMessage{}, nil
	}
	b := &jw{}
	unitdp := 2
	if d.unitdp {
		unitdp = 4
	}
	c := rctx{w: b, t: t, tb: t.tables[d.id], unitdp: unitdp, lines: true, include: true}
	var out []json.RawMessage
	s.mu.RLock()
	defer s.mu.RUnlock()
	emit := func() {
		rec := make(json.RawMessage, len(b.b))
		copy(rec, b.b)
		out = append(out, rec)
		b.b = b.b[:0]
		b.first = true
	}
	b.first = true
	if d.id == sJournals {
		out = make([]json.RawMessage, 0, t.jr.count())
		for n := 1; n <= t.jr.count(); n++ {
			c.renderJournal(n)
			emit()
		}
		return out, nil
	}
	sel := t.tables[d.id].sel(-1, orderNatural, true)
	out = make([]json.RawMessage, 0, sel.total)
	for k := 0; k < sel.total; k++ {
		d.render(&c, sel.at(k))
		emit()
	}
	return out, nil
}

// handleTruth serves GET /__sim/truth/{tenant}/{stream}: a JSON array of the records.
func (s *Sim) handleTruth(w http.ResponseWriter, r *http.Request) {
	recs, err := s.Truth(r.PathValue("tenant"), r.PathValue("stream"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	b := make([]byte, 0, 1<<16)
	b = append(b, '[')
	for i, rec := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, rec...)
	}
	b = append(b, ']')
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
