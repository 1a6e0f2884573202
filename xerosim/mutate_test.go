package xerosim

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestMutateChangesData(t *testing.T) {
	s := newSim(t, Fast(), Tenants(2), Seed(7))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	journalsBefore := s.tenants[0].jr.count() + s.tenants[1].jr.count()
	before := map[string]string{}
	for _, ti := range s.Tenants() {
		for _, name := range StreamNames() {
			recs, _ := s.Truth(ti, name)
			before[ti+name] = fmt.Sprint(len(recs)) + string(mustJoin(recs))
		}
	}
	t0 := s.clock.now()
	s.Mutate(2000)
	t1 := s.clock.now()
	if st := s.Stats(); st.Mutations < 1000 {
		t.Fatalf("only %d of 2000 mutations applied", st.Mutations)
	}
	changed := 0
	for _, ti := range s.Tenants() {
		for _, name := range StreamNames() {
			recs, _ := s.Truth(ti, name)
			if fmt.Sprint(len(recs))+string(mustJoin(recs)) != before[ti+name] {
				changed++
			}
		}
	}
	if changed < 20 {
		t.Fatalf("only %d (tenant, stream) pairs changed", changed)
	}
	if s.tenants[0].jr.count()+s.tenants[1].jr.count() <= journalsBefore {
		t.Fatal("no journals posted")
	}
	// Changed records carry the simulated clock's now, hard-deleted items are gone, and the
	// truth still equals what paging returns.
	recs, _ := s.Truth(ten, "invoices")
	newest := int64(0)
	for _, r := range recs {
		var v map[string]any
		_ = json.Unmarshal(r, &v)
		newest = max(newest, msDate(t, v["UpdatedDateUTC"]))
	}
	if newest < t0 || newest > t1 {
		t.Fatalf("newest UpdatedDateUTC %d, mutations ran from %d to %d", newest, t0, t1)
	}
	items, _ := s.Truth(ten, "items")
	tb := s.tenants[0].tables[sItems]
	if gone := tb.len() - tb.natAll.total; gone == 0 || len(items) != tb.natAll.total {
		t.Fatalf("items: %d hard-deleted, truth has %d of %d", gone, len(items), tb.len())
	}
	l := c.getList(ten, "items", "", nil)
	if len(l.Raw) != len(items) {
		t.Fatalf("list has %d items, truth %d", len(l.Raw), len(items))
	}
}

func mustJoin(rs []json.RawMessage) []byte {
	var b []byte
	for _, r := range rs {
		b = append(b, r...)
	}
	return b
}

func TestMutationsAfterTruthStillConsistent(t *testing.T) {
	s := newSim(t, Fast(), Seed(9))
	s.Mutate(3000)
	c := newClient(t, s)
	ten := s.Tenants()[0]
	for _, name := range []string{"invoices", "contacts", "payments", "linked_transactions", "bank_transfers", "journals"} {
		truth, _ := s.Truth(ten, name)
		var got []json.RawMessage
		d := defsByName[name]
		for page := 1; ; page++ {
			q := fmt.Sprintf("page=%d&pageSize=1000&unitdp=4&includeArchived=true&includeDeleted=true", page)
			if d.paging == pagingOffset {
				q = fmt.Sprintf("offset=%d", len(got))
			}
			l := c.getList(ten, name, q, nil)
			got = append(got, l.Raw...)
			if d.paging == pagingNone || len(l.Raw) < 100 || (l.Pagination != nil && page >= l.Pagination.PageCount) {
				break
			}
		}
		if string(mustJoin(got)) != string(mustJoin(truth)) {
			t.Fatalf("%s: paging (%d) differs from truth (%d)", name, len(got), len(truth))
		}
	}
}

func TestBurstSharesOneTimestamp(t *testing.T) {
	s := newSim(t, Fast(), Volume("invoices", 400))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	s.Advance(time.Second)
	at := s.clock.now()
	s.Burst(ten, "invoices", 300)
	hdr := map[string]string{"If-Modified-Since": time.UnixMilli(at).UTC().Format("2006-01-02T15:04:05")}
	var recs []map[string]any
	for page := 1; page <= 2; page++ {
		recs = append(recs, c.getList(ten, "invoices", fmt.Sprintf("page=%d&pageSize=200&order=UpdatedDateUTC%%20ASC", page), hdr).Records...)
	}
	same := 0
	var tied []string
	for _, r := range recs {
		if msDate(t, r["UpdatedDateUTC"]) == at {
			same++
			tied = append(tied, r["InvoiceID"].(string))
		}
	}
	if same < 250 || !slices.IsSorted(tied) {
		t.Fatalf("%d of the burst share UpdatedDateUTC %d (sorted by id: %v)", same, at, slices.IsSorted(tied))
	}
	// Bank transfers: a bulk import shares CreatedDateUTC.
	s.Burst(ten, "bank_transfers", 50)
	l := c.getList(ten, "bank_transfers", "includeDeleted=true&order=CreatedDateUTC%20DESC", nil)
	first := msDate(t, l.Records[0]["CreatedDateUTC"])
	for _, r := range l.Records[:50] {
		if msDate(t, r["CreatedDateUTC"]) != first {
			t.Fatal("bank transfer burst does not share CreatedDateUTC")
		}
	}
}

func TestMutationsHitRecordsBeingRead(t *testing.T) {
	s := newSim(t, Fast(), Volume("invoices", 5000), Seed(3))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	page := c.getList(ten, "invoices", "page=2&pageSize=50", nil)
	served := ids(page.Records, "InvoiceID")
	var before []int64
	for _, r := range page.Records {
		before = append(before, msDate(t, r["UpdatedDateUTC"]))
	}
	s.Mutate(400)
	truth, _ := s.Truth(ten, "invoices")
	hit := 0
	for _, r := range truth {
		var v map[string]any
		_ = json.Unmarshal(r, &v)
		if k := slices.Index(served, v["InvoiceID"].(string)); k >= 0 && msDate(t, v["UpdatedDateUTC"]) != before[k] {
			hit++
		}
	}
	if hit == 0 {
		t.Fatal("no mutation hit a record that was just served")
	}
}

func TestMutationRate(t *testing.T) {
	s := newSim(t, Fast(), MutationRate(50), TimeScale(100))
	deadline := time.Now().Add(20 * time.Second)
	for s.Stats().Mutations < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d mutations", s.Stats().Mutations)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPaymentDeleteReopensInvoice(t *testing.T) {
	s := newSim(t, Fast())
	ten := s.tenants[0]
	// Find a paid invoice and delete its payment.
	ti := ten.tables[sInvoices]
	k := -1
	for i := 0; i < ti.len(); i++ {
		if ti.def.statuses[ti.status[i]] == "PAID" {
			k = i
			break
		}
	}
	if k < 0 {
		t.Fatal("no paid invoice")
	}
	j := ten.invoicePayment(k)
	s.mu.Lock()
	s.setStatus(ten, sPayments, j, "DELETED", s.clock.now())
	s.mu.Unlock()
	recs, _ := s.Truth(s.Tenants()[0], "invoices")
	var v struct {
		Status    string
		Payments  []any
		AmountDue float64
		Total     float64
	}
	_ = json.Unmarshal(recs[k], &v)
	if v.Status != "AUTHORISED" || len(v.Payments) != 0 || v.AmountDue != v.Total {
		t.Fatalf("invoice after its payment was deleted: %+v", v)
	}
}

// TestVersionsHaveDistinctTimestamps: two changes of one record in the same millisecond give
// two different UpdatedDateUTC, later versions later, the log stays in time order, and the
// clock never falls behind a timestamp it gave out.
func TestVersionsHaveDistinctTimestamps(t *testing.T) {
	frozen := time.UnixMilli(1_800_000_000_000)
	s := newSim(t, Fast(), Clock(func() time.Time { return frozen }), StartTime(frozen))
	tb := s.tenants[0].tables[sInvoices]
	now := s.clock.now()
	before := tb.upd(3)
	for range 3 {
		tb.touch(3, now)
	}
	tb.touch(4, now)
	if got := tb.upd(3); got != max(now, before+1)+2 {
		t.Fatalf("after three changes at %d, UpdatedDateUTC %d, want %d", now, got, max(now, before+1)+2)
	}
	if s.clock.now() < tb.upd(3) {
		t.Fatalf("clock %d is behind the timestamp %d it gave out", s.clock.now(), tb.upd(3))
	}
	if tb.upd(4) < tb.upd(3) {
		t.Fatalf("record 4 changed after record 3 but has an earlier timestamp: %d < %d", tb.upd(4), tb.upd(3))
	}
	if !slices.IsSorted(tb.ordTS) {
		t.Fatal("the change log is out of time order")
	}
}

// TestContentChangesMoveTheTimestamp: whenever a record of an If-Modified-Since stream reads
// differently, its UpdatedDateUTC has moved too. A change that did not move it would be
// invisible to every incremental client, and the end-state tests could not pass.
func TestContentChangesMoveTheTimestamp(t *testing.T) {
	idOf := map[string]string{
		"accounts": "AccountID", "bank_transactions": "BankTransactionID", "contacts": "ContactID",
		"credit_notes": "CreditNoteID", "expense_claims": "ExpenseClaimID", "invoices": "InvoiceID",
		"manual_journals": "ManualJournalID", "overpayments": "OverpaymentID", "payments": "PaymentID",
		"prepayments": "PrepaymentID", "purchase_orders": "PurchaseOrderID", "quotes": "QuoteID",
		"receipts": "ReceiptID", "users": "UserID",
	}
	for _, seed := range []int64{2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s := newSim(t, Fast(), Seed(seed), Tenants(2), Volume("invoices", 300), Volume("payments", 200), Volume("credit_notes", 60))
			snapshot := func() map[string]string {
				all := map[string]string{}
				for _, ten := range s.Tenants() {
					for name, key := range idOf {
						recs, err := s.Truth(ten, name)
						if err != nil {
							t.Fatal(err)
						}
						for _, r := range recs {
							var v map[string]any
							if err := json.Unmarshal(r, &v); err != nil {
								t.Fatal(err)
							}
							all[ten+"/"+name+"/"+fmt.Sprint(v[key])] = string(r)
						}
					}
				}
				return all
			}
			prev := snapshot()
			// Batches large enough to include the bulk imports the mutator makes by itself.
			for round := range 20 {
				s.Mutate(200)
				if round%25 == 10 {
					s.Burst(s.Tenants()[round%2], "invoices", 40)
				}
				cur := snapshot()
				for k, now := range cur {
					if before, ok := prev[k]; ok && before != now && updated(t, before) == updated(t, now) {
						t.Fatalf("round %d: %s changed without a new UpdatedDateUTC:\nbefore %s\nafter  %s", round, k, before, now)
					}
				}
				prev = cur
			}
		})
	}
}

func updated(tb testing.TB, raw string) string {
	var v struct{ UpdatedDateUTC string }
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		tb.Fatal(err)
	}
	return v.UpdatedDateUTC
}

// TestAnswerStampCoversItsData: an answer's DateTimeUTC is no earlier than any UpdatedDateUTC it
// shows, even while changes are being made, so a client can tell the changes an answer saw
// from the ones it could not.
func TestAnswerStampCoversItsData(t *testing.T) {
	s := newSim(t, Fast(), Seed(4), Volume("quotes", 300))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			default:
			}
			s.Burst(ten, "quotes", 150)
			s.Mutate(5)
		}
	}()
	defer func() { close(done); <-stopped }()
	for range 100 {
		l := c.getList(ten, "quotes", "page=1&order=UpdatedDateUTC%20DESC", nil)
		stamp := msDate(t, l.DateTimeUTC)
		for _, r := range l.Records {
			if at := msDate(t, r["UpdatedDateUTC"]); at > stamp {
				t.Fatalf("answer stamped %d shows quote %v updated at %d", stamp, r["QuoteID"], at)
			}
		}
	}
}
