package xerosim

import (
	"fmt"
	"slices"
	"time"
)

// Mutations. Every change stamps the simulated clock's "now" on the record (UpdatedDateUTC,
// or CreatedDateUTC for a created bank transfer), bumps its version (so generated fields that
// vary by version change) and posts journals where Xero would. Targets are biased toward the
// records clients are reading: a third of them hit a record recently served, a fifth hit the
// front of the last If-Modified-Since window served.

// mutator applies changes at the configured rate.
type mutator struct {
	s   *Sim
	gen rng // guarded by s.mu
}

func newMutator(s *Sim) *mutator { return &mutator{s: s, gen: newRNG(mix(s.seed, 0x3a7e))} }

// mutationWeights says how often each stream is changed.
var mutationWeights = []struct {
	s      streamID
	weight int
}{
	{sInvoices, 25}, {sContacts, 14}, {sPayments, 10}, {sBankTransactions, 10}, {sCreditNotes, 5},
	{sItems, 4}, {sLinkedTransactions, 4}, {sQuotes, 4}, {sPurchaseOrders, 4}, {sManualJournals, 3},
	{sBankTransfers, 3}, {sOverpayments, 2}, {sPrepayments, 2}, {sReceipts, 2}, {sExpenseClaims, 2},
	{sAccounts, 2}, {sUsers, 1}, {sRepeatingInvoices, 1}, {sContactGroups, 1}, {sEmployees, 1},
}

// run applies mutations at cfg.mutationRate per simulated second until stop is closed.
func (m *mutator) run(stop chan struct{}) {
	defer m.s.done.Done()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last := m.s.clock.now()
	owed := 0.0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := m.s.clock.now()
		owed += float64(now-last) / 1000 * m.s.cfg.mutationRate
		last = now
		if n := int(owed); n > 0 {
			owed -= float64(n)
			m.s.Mutate(n)
		}
	}
}

// Mutate applies n random changes now: creates, updates, voids and soft deletes, archives,
// hard deletes and now and then a bulk import (many records sharing one UpdatedDateUTC).
func (s *Sim) Mutate(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropPrerendered()
	m := s.mut
	applied := 0
	for k := 0; k < n; k++ {
		t := s.tenants[m.gen.intn(len(s.tenants))]
		st := m.pickStream()
		if m.gen.chance(0.005) {
			applied += s.burstLocked(t, st, 10+m.gen.intn(190))
			continue
		}
		if s.mutateOne(t, st) {
			applied++
		}
	}
	s.stats.mutations(applied)
}

func (m *mutator) pickStream() streamID {
	total := 0
	for _, w := range mutationWeights {
		total += w.weight
	}
	v := m.gen.intn(total)
	for _, w := range mutationWeights {
		if v < w.weight {
			return w.s
		}
		v -= w.weight
	}
	return sInvoices
}

// target picks a live record of tb, biased toward what clients read. Must hold s.mu.
func (m *mutator) target(tb *table) int {
	if tb.natAll.total == 0 {
		return -1
	}
	switch x := m.gen.float(); {
	case x < 0.33 && tb.nRecent.Load() > 0:
		n := min(tb.nRecent.Load(), uint64(len(tb.recent)))
		i := int(tb.recent[m.gen.intn(int(n))].Load())
		if i < tb.len() && !tb.gone(i) {
			return i
		}
	case x < 0.53 && tb.imsLow.Load() > 0:
		sel := tb.sel(tb.imsLow.Load(), orderUpdatedAsc, true)
		if sel.total > 0 {
			return sel.at(m.gen.intn(min(sel.total, 10)))
		}
	}
	return tb.natAll.find(m.gen.intn(tb.natAll.total))
}

// posting reports whether a record in status st has posted to the ledger.
func posting(s streamID, st string) bool {
	switch s {
	case sInvoices, sCreditNotes:
		return st == "AUTHORISED" || st == "PAID"
	case sBankTransactions, sPayments, sBankTransfers:
		return st == "AUTHORISED"
	case sManualJournals:
		return st == "POSTED"
	case sOverpayments, sPrepayments:
		return st == "AUTHORISED" || st == "PAID"
	}
	return false
}

// nextStatus is the status an edit moves a record to ("" keeps it).
var nextStatus = map[streamID]map[string]string{
	sInvoices:           {"DRAFT": "SUBMITTED", "SUBMITTED": "AUTHORISED"},
	sCreditNotes:        {"DRAFT": "SUBMITTED", "SUBMITTED": "AUTHORISED"},
	sPurchaseOrders:     {"DRAFT": "SUBMITTED", "SUBMITTED": "AUTHORISED", "AUTHORISED": "BILLED"},
	sQuotes:             {"DRAFT": "SENT", "SENT": "ACCEPTED", "ACCEPTED": "INVOICED"},
	sReceipts:           {"DRAFT": "SUBMITTED", "SUBMITTED": "AUTHORISED"},
	sExpenseClaims:      {"SUBMITTED": "AUTHORISED", "AUTHORISED": "PAID"},
	sManualJournals:     {"DRAFT": "POSTED"},
	sLinkedTransactions: {"APPROVED": "ONDRAFT", "ONDRAFT": "BILLED"},
	sRepeatingInvoices:  {"DRAFT": "AUTHORISED"},
	sOverpayments:       {"AUTHORISED": "PAID"},
	sPrepayments:        {"AUTHORISED": "PAID"},
}

// voidStatus is the status a void or delete moves a record to ("" when it cannot be voided).
func voidStatus(s streamID, st string) string {
	switch s {
	case sInvoices, sCreditNotes:
		switch st {
		case "DRAFT", "SUBMITTED":
			return "DELETED"
		case "AUTHORISED":
			return "VOIDED"
		}
	case sBankTransactions:
		if st == "AUTHORISED" {
			return "VOIDED"
		}
	case sPayments, sBankTransfers:
		if st == "AUTHORISED" {
			return "DELETED"
		}
	case sManualJournals:
		switch st {
		case "DRAFT":
			return "DELETED"
		case "POSTED":
			return "VOIDED"
		}
	case sPurchaseOrders, sQuotes:
		if st != "DELETED" && st != "BILLED" && st != "INVOICED" {
			return "DELETED"
		}
	case sReceipts, sOverpayments, sPrepayments:
		if st != "VOIDED" && st != "PAID" {
			return "VOIDED"
		}
	case sExpenseClaims:
		if st != "PAID" && st != "VOIDED" {
			return "VOIDED"
		}
	case sLinkedTransactions:
		if st != "VOIDED" {
			return "VOIDED"
		}
	case sRepeatingInvoices, sContactGroups:
		if st != "DELETED" {
			return "DELETED"
		}
	case sAccounts, sContacts, sEmployees:
		if st == "ACTIVE" {
			return "ARCHIVED"
		}
	}
	return ""
}

// mutateOne applies one random change to stream s of tenant t. Must hold s.mu.
func (s *Sim) mutateOne(t *tenant, sid streamID) bool {
	m := s.mut
	tb := t.tables[sid]
	now := s.clock.now()
	x := m.gen.float()
	switch {
	case x < 0.2:
		return s.create(t, sid, now) >= 0
	case x < 0.3 && (sid == sItems || sid == sLinkedTransactions):
		i := m.target(tb)
		if i < 0 || (sid == sItems && i < t.referencedItems()) {
			return false
		}
		tb.remove(i)
		return true
	case x < 0.45:
		i := m.target(tb)
		if i < 0 {
			return false
		}
		old := tb.def.statuses[tb.status[i]]
		v := voidStatus(sid, old)
		if v == "" || (sid == sAccounts && i < len(chart)) {
			return s.update(t, sid, i, now)
		}
		s.setStatus(t, sid, i, v, now)
		return true
	default:
		i := m.target(tb)
		if i < 0 {
			return false
		}
		return s.update(t, sid, i, now)
	}
}

// update edits record i: a new version, perhaps a step forward in its life cycle.
func (s *Sim) update(t *tenant, sid streamID, i int, now int64) bool {
	tb := t.tables[sid]
	if sid == sBankTransfers {
		// A transfer cannot be edited, only deleted; its CreatedDateUTC never moves.
		return false
	}
	old := tb.def.statuses[tb.status[i]]
	next := old
	if n := nextStatus[sid][old]; n != "" && s.mut.gen.chance(0.5) {
		next = n
	}
	if next != old {
		s.setStatus(t, sid, i, next, now)
		return true
	}
	t.touch(sid, i, now)
	if posting(sid, old) {
		t.jr.post(sid, i, true, now)
		t.jr.post(sid, i, false, now)
	}
	return true
}

// touch records an edit of record i of stream sid, and of the records that show it: the
// document a payment pays embeds a summary of the payment, so an edit of the payment is a
// change of the document too.
func (t *tenant) touch(sid streamID, i int, now int64) {
	t.tables[sid].touch(i, now)
	if sid != sPayments {
		return
	}
	ts, k := t.paymentTarget(i)
	if tb := t.tables[ts]; (ts == sInvoices || ts == sCreditNotes) && k >= 0 && k < tb.len() && !tb.gone(k) {
		tb.touch(k, now)
	}
}

// setStatus moves record i to status st, with the side effects Xero has.
func (s *Sim) setStatus(t *tenant, sid streamID, i int, st string, now int64) {
	tb := t.tables[sid]
	old := tb.def.statuses[tb.status[i]]
	tb.setStatus(i, tb.def.statusIndex(st))
	if sid == sBankTransfers {
		tb.ver[i]++ // CreatedDateUTC does not move
	} else {
		tb.touch(i, now)
	}
	switch {
	case posting(sid, old) && !posting(sid, st):
		t.jr.post(sid, i, true, now)
	case !posting(sid, old) && posting(sid, st):
		t.jr.post(sid, i, false, now)
	}
	// Deleting a payment reopens what it paid.
	if sid == sPayments && st == "DELETED" {
		if ts, k := t.paymentTarget(i); ts == sInvoices && k < t.tables[sInvoices].len() {
			ti := t.tables[sInvoices]
			if ti.def.statuses[ti.status[k]] == "PAID" {
				ti.setStatus(k, ti.def.statusIndex("AUTHORISED"))
			}
			ti.touch(k, now)
		} else if ts == sCreditNotes {
			tc := t.tables[sCreditNotes]
			if tc.def.statuses[tc.status[k]] == "PAID" {
				tc.setStatus(k, tc.def.statusIndex("AUTHORISED"))
			}
			tc.touch(k, now)
		}
	}
}

// create adds a record to stream sid and returns its index (-1 if none could be made).
func (s *Sim) create(t *tenant, sid streamID, now int64) int {
	tb := t.tables[sid]
	switch sid {
	case sOrganisations, sTaxRates, sTrackingCategories, sCurrencies, sBrandingThemes:
		return -1
	case sPayments:
		// Pay an authorised invoice that has no payment yet.
		ti := t.tables[sInvoices]
		if ti.len() == 0 {
			return -1
		}
		for try := 0; try < 20; try++ {
			k := s.mut.gen.intn(ti.len())
			if ti.gone(k) || ti.def.statuses[ti.status[k]] != "AUTHORISED" {
				continue
			}
			if j := t.invoicePayment(k); j >= 0 && t.livePayment(j) {
				continue
			}
			i := tb.len()
			t.payInv[int32(i)] = int32(k)
			t.invPay[int32(k)] = int32(i)
			tb.create(now, tb.def.statusIndex("AUTHORISED"))
			ti.setStatus(k, ti.def.statusIndex("PAID"))
			ti.touch(k, now)
			t.jr.post(sPayments, i, false, now)
			return i
		}
		return -1
	}
	i := tb.len()
	st := t.initStatus(tb.def, i)
	tb.create(now, st)
	if posting(sid, tb.def.statuses[st]) {
		t.jr.post(sid, i, false, now)
	}
	return i
}

// Burst changes n records of one stream of one tenant at the same instant, as a bulk import
// does: about half are new records, the rest edits of existing ones, and all share one
// UpdatedDateUTC (CreatedDateUTC for bank transfers, all new; for journals, n postings share
// one CreatedDateUTC). It panics on an unknown tenant or stream.
func (s *Sim) Burst(tenantID, stream string, n int) {
	t, err := s.tenant(tenantID)
	if err != nil {
		panic(err)
	}
	d := defsByName[stream]
	if d == nil {
		panic(fmt.Sprintf("xerosim: unknown stream %q", stream))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropPrerendered()
	s.stats.mutations(s.burstLocked(t, d.id, n))
}

// burstLocked implements Burst; it returns the number of records changed. Must hold s.mu.
func (s *Sim) burstLocked(t *tenant, sid streamID, n int) int {
	now := s.clock.now()
	if sid == sJournals {
		ti := t.tables[sInvoices]
		if ti.len() == 0 {
			return 0
		}
		for k := 0; k < n; k++ {
			t.jr.post(sInvoices, s.mut.gen.intn(ti.len()), false, now)
		}
		return n
	}
	tb := t.tables[sid]
	switch sid {
	case sOrganisations, sTaxRates, sTrackingCategories, sCurrencies, sBrandingThemes:
		return 0
	}
	var edits []int
	creates := n / 2
	if sid == sBankTransfers || tb.natAll.total == 0 {
		creates = n
	}
	picked := make(map[int]bool, n-creates)
	for k := creates; k < n; k++ {
		if i := tb.natAll.find(s.mut.gen.intn(tb.natAll.total)); !picked[i] {
			picked[i] = true
			edits = append(edits, i)
		}
	}
	slices.Sort(edits) // the order of the draws, whatever the map does
	// All the changes share one instant: their log entries are sorted once at the end.
	tb.beginBatch()
	defer tb.endBatch()
	changed := 0
	for _, i := range edits {
		t.touch(sid, i, now)
		changed++
	}
	for k := 0; k < creates; k++ {
		if s.create(t, sid, now) >= 0 {
			changed++
		}
	}
	return changed
}
