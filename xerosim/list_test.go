package xerosim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPageSizePaging(t *testing.T) {
	s := newSim(t, Fast(), Volume("invoices", 250))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	tests := []struct {
		query           string
		page, size, cnt int
		pageCount       int
		ignored         int
	}{
		{"page=1", 1, 100, 100, 3, 0},
		{"page=3", 3, 100, 50, 3, 0},
		{"page=4", 4, 100, 0, 3, 0},
		{"page=1&pageSize=1000", 1, 1000, 250, 1, 0},
		{"page=2&pageSize=120", 2, 120, 120, 3, 0},
		{"page=1&pageSize=5000", 1, 1000, 250, 1, 1}, // capped at 1000
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			before := s.Stats().PageSizeIgnored
			l := c.getList(ten, "invoices", tc.query, nil)
			if l.Pagination == nil {
				t.Fatal("no pagination object")
			}
			want := pagination{Page: tc.page, PageSize: tc.size, PageCount: tc.pageCount, ItemCount: 250}
			if *l.Pagination != want || len(l.Raw) != tc.cnt {
				t.Fatalf("pagination %+v with %d records, want %+v with %d", *l.Pagination, len(l.Raw), want, tc.cnt)
			}
			if got := s.Stats().PageSizeIgnored - before; got != tc.ignored {
				t.Fatalf("pageSize ignored %d times, want %d", got, tc.ignored)
			}
		})
	}
	t.Run("no page: everything, no line items, no pagination", func(t *testing.T) {
		l := c.getList(ten, "invoices", "", nil)
		if l.Pagination != nil || len(l.Raw) != 250 {
			t.Fatalf("pagination %v, %d records", l.Pagination, len(l.Raw))
		}
		for _, r := range l.Records {
			if li := r["LineItems"].([]any); len(li) != 0 {
				t.Fatalf("line items without page: %v", li)
			}
		}
		l = c.getList(ten, "invoices", "page=1", nil)
		for _, r := range l.Records {
			if li := r["LineItems"].([]any); len(li) == 0 {
				t.Fatal("no line items with page")
			}
		}
	})
	t.Run("bad page", func(t *testing.T) {
		resp, body := c.get(ten, "/api.xro/2.0/Invoices?page=0", nil)
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"Type":"ValidationException"`) {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
}

func TestPageOnlyPaging(t *testing.T) {
	s := newSim(t, Fast(), Volume("quotes", 230), Volume("linked_transactions", 150))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	for _, stream := range []string{"quotes", "linked_transactions"} {
		t.Run(stream, func(t *testing.T) {
			n := volume(&s.cfg, defsByName[stream])
			before := s.Stats().PageSizeIgnored
			var all []string
			for page := 1; ; page++ {
				l := c.getList(ten, stream, fmt.Sprintf("page=%d&pageSize=1000", page), nil)
				if l.Pagination != nil {
					t.Fatal("pagination object on a page-only endpoint")
				}
				if len(l.Raw) > 100 {
					t.Fatalf("page %d has %d records", page, len(l.Raw))
				}
				key := defsByName[stream].wrapper[:len(defsByName[stream].wrapper)-1] + "ID"
				all = append(all, ids(l.Records, key)...)
				if len(l.Raw) < 100 {
					break
				}
			}
			if len(all) != n {
				t.Fatalf("read %d records, want %d", len(all), n)
			}
			if s.Stats().PageSizeIgnored == before {
				t.Fatal("pageSize on a page-only endpoint not counted as ignored")
			}
		})
	}
}

func TestLinkedTransactionIDFilter(t *testing.T) {
	s := newSim(t, Fast())
	c := newClient(t, s)
	ten := s.Tenants()[0]
	l := c.getList(ten, "linked_transactions", "page=1", nil)
	id := l.Records[3]["LinkedTransactionID"].(string)
	one := c.getList(ten, "linked_transactions", "page=1&LinkedTransactionID="+id, nil)
	if len(one.Records) != 1 || one.Records[0]["LinkedTransactionID"] != id {
		t.Fatalf("filter returned %v", one.Records)
	}
	none := c.getList(ten, "linked_transactions", "page=1&LinkedTransactionID=00000000-0000-0000-0000-000000000000", nil)
	if len(none.Records) != 0 {
		t.Fatalf("filter on a missing id returned %d", len(none.Records))
	}
}

func TestJournalsOffset(t *testing.T) {
	s := newSim(t, Fast(), Volume("journals", 250))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	offset, seen := 0, 0
	lastCreated := int64(0)
	for {
		l := c.getList(ten, "journals", fmt.Sprintf("offset=%d", offset), nil)
		if len(l.Raw) > 100 {
			t.Fatalf("%d journals in one call", len(l.Raw))
		}
		for _, r := range l.Records {
			n := int(r["JournalNumber"].(float64))
			if n != offset+1 {
				t.Fatalf("journal %d after offset %d", n, offset)
			}
			created := msDate(t, r["CreatedDateUTC"])
			if created < lastCreated {
				t.Fatalf("journal %d created before the previous one", n)
			}
			lastCreated = created
			offset = n
			seen++
		}
		if len(l.Raw) < 100 {
			break
		}
	}
	if seen != 250 {
		t.Fatalf("saw %d journals", seen)
	}
	// If-Modified-Since on CreatedDateUTC.
	all, _ := s.Truth(ten, "journals")
	var j200 map[string]any
	_ = json.Unmarshal(all[199], &j200)
	ims := time.UnixMilli(msDate(t, j200["CreatedDateUTC"])).UTC().Format("2006-01-02T15:04:05.000")
	l := c.getList(ten, "journals", "offset=0", map[string]string{"If-Modified-Since": ims})
	if first := int(l.Records[0]["JournalNumber"].(float64)); first > 200 || first < 190 {
		t.Fatalf("first journal since %s is %d", ims, first)
	}
}

func TestModifiedSinceModes(t *testing.T) {
	// Records at known times: take three contacts and give them updates within one second.
	base := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		mode IMSMode
		// which of the records changed at +200ms, +700ms (same second) and +1500ms are
		// returned for a header of +700ms
		want []bool
	}{
		{IMSInclusiveSecond, []bool{true, true, true}},
		{IMSInclusiveMilli, []bool{false, true, true}},
		{IMSExclusiveMilli, []bool{false, false, true}},
		{IMSExclusiveSecond, []bool{false, false, true}},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			var now time.Time = base
			s := newSim(t, Fast(), StartTime(base), Clock(func() time.Time { return now }), ModifiedSince(tc.mode))
			ten := s.Tenants()[0]
			c := newClient(t, s)
			var changed []string
			for _, ms := range []int{200, 700, 1500} {
				now = base.Add(time.Duration(ms) * time.Millisecond)
				changed = append(changed, s.touchForTest(ten, "contacts", 3+len(changed)*7))
			}
			hdr := map[string]string{"If-Modified-Since": base.Add(700 * time.Millisecond).Format("2006-01-02T15:04:05.000")}
			l := c.getList(ten, "contacts", "page=1&includeArchived=true", hdr)
			got := ids(l.Records, "ContactID")
			for k, id := range changed {
				if slices.Contains(got, id) != tc.want[k] {
					t.Errorf("record changed at step %d returned=%v, want %v (got %d records)", k, !tc.want[k], tc.want[k], len(got))
				}
			}
			if len(got) != 3-countFalse(tc.want) {
				t.Errorf("got %d records, want only the changed ones", len(got))
			}
		})
	}
}

func countFalse(bs []bool) int {
	n := 0
	for _, b := range bs {
		if !b {
			n++
		}
	}
	return n
}

// touchForTest updates record k of a stream now and returns its id.
func (s *Sim) touchForTest(tenantID, stream string, k int) string {
	t, _ := s.tenant(tenantID)
	d := defsByName[stream]
	s.mu.Lock()
	defer s.mu.Unlock()
	tb := t.tables[d.id]
	tb.touch(k, s.clock.now())
	return tb.id(k).String()
}

func TestOrderAndTies(t *testing.T) {
	s := newSim(t, Fast(), Volume("invoices", 300))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	// Make ties: several invoices changed in the same millisecond.
	base := s.clock.now()
	tb := s.tenants[0].tables[sInvoices]
	s.mu.Lock()
	for _, k := range []int{5, 250, 17, 100} {
		tb.touch(k, base)
	}
	s.mu.Unlock()
	var asc []map[string]any
	for page := 1; page <= 3; page++ {
		asc = append(asc, c.getList(ten, "invoices", fmt.Sprintf("page=%d&order=UpdatedDateUTC%%20ASC", page), nil).Records...)
	}
	for k := 1; k < len(asc); k++ {
		a, b := msDate(t, asc[k-1]["UpdatedDateUTC"]), msDate(t, asc[k]["UpdatedDateUTC"])
		if a > b || (a == b && asc[k-1]["InvoiceID"].(string) >= asc[k]["InvoiceID"].(string)) {
			t.Fatalf("not ordered by (UpdatedDateUTC, InvoiceID) at %d", k)
		}
	}
	tail := ids(asc[len(asc)-4:], "InvoiceID")
	if !slices.IsSorted(tail) {
		t.Fatalf("ties not broken by id: %v", tail)
	}
	var desc []map[string]any
	for page := 1; page <= 3; page++ {
		desc = append(desc, c.getList(ten, "invoices", fmt.Sprintf("page=%d&order=UpdatedDateUTC%%20DESC", page), nil).Records...)
	}
	a, d := ids(asc, "InvoiceID"), ids(desc, "InvoiceID")
	slices.Reverse(d)
	if !slices.Equal(a, d) {
		t.Fatal("DESC is not the reverse of ASC")
	}
	natural := c.getList(ten, "invoices", "pageSize=1000&page=1", nil).Records
	for k, r := range natural {
		if want := fmt.Sprintf("INV-%04d", k+1); r["Type"] == "ACCREC" && r["InvoiceNumber"] != want {
			t.Fatalf("natural order: record %d is %v", k, r["InvoiceNumber"])
		}
	}
	resp, _ := c.get(ten, "/api.xro/2.0/Invoices?page=1&order=Total", nil)
	if resp.StatusCode != 400 {
		t.Fatalf("unsupported order: %d", resp.StatusCode)
	}
}

func TestIncludeArchivedAndDeleted(t *testing.T) {
	s := newSim(t, Fast(), Volume("contacts", 400), Volume("bank_transfers", 200))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	count := func(stream, query, field, value string) (all, matching int) {
		l := c.getList(ten, stream, query, nil)
		for _, r := range l.Records {
			if r[field] == value {
				matching++
			}
		}
		return len(l.Records), matching
	}
	all, arch := count("contacts", "page=1&pageSize=1000&includeArchived=true", "ContactStatus", "ARCHIVED")
	plain, plainArch := count("contacts", "page=1&pageSize=1000", "ContactStatus", "ARCHIVED")
	if arch == 0 || plainArch != 0 || plain != all-arch || all != 400 {
		t.Fatalf("contacts: %d with %d archived; without includeArchived %d with %d archived", all, arch, plain, plainArch)
	}
	all, del := count("bank_transfers", "includeDeleted=true", "Status", "DELETED")
	plain, plainDel := count("bank_transfers", "", "Status", "DELETED")
	if del == 0 || plainDel != 0 || plain != all-del || all != 200 {
		t.Fatalf("bank transfers: %d with %d deleted; plain %d with %d deleted", all, del, plain, plainDel)
	}
	// Tracking categories: the archived category and option appear only with includeArchived.
	if n := len(c.getList(ten, "tracking_categories", "", nil).Records); n != 2 {
		t.Fatalf("%d tracking categories without includeArchived", n)
	}
	tc := c.getList(ten, "tracking_categories", "includeArchived=true", nil).Records
	if len(tc) != 3 || len(tc[0]["Options"].([]any)) != 5 {
		t.Fatalf("with includeArchived: %d categories", len(tc))
	}
}

func TestUnitdp(t *testing.T) {
	s := newSim(t, Fast(), Volume("invoices", 200))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	re := regexp.MustCompile(`"UnitAmount":-?\d+\.(\d+)`)
	for _, tc := range []struct {
		q    string
		want int
	}{{"page=1&pageSize=200", 2}, {"page=1&pageSize=200&unitdp=4", 4}} {
		_, body := c.get(ten, "/api.xro/2.0/Invoices?"+tc.q, nil)
		ms := re.FindAllSubmatch(body, -1)
		if len(ms) == 0 {
			t.Fatal("no unit amounts")
		}
		for _, m := range ms {
			if len(m[1]) != tc.want {
				t.Fatalf("%s: unit amount with %d decimals", tc.q, len(m[1]))
			}
		}
	}
	// Money elsewhere keeps two decimals and the dates are escaped.
	_, body := c.get(ten, "/api.xro/2.0/Invoices?page=1&unitdp=4", nil)
	if !regexp.MustCompile(`"Total":\d+\.\d\d[,}]`).Match(body) || !strings.Contains(string(body), `"UpdatedDateUTC":"\/Date(`) {
		t.Fatal("money or date format")
	}
}

func TestTruthEqualsPaging(t *testing.T) {
	s := newSim(t, Fast(), Tenants(2), ServeEmployees())
	c := newClient(t, s)
	for _, ten := range s.Tenants() {
		for _, name := range StreamNames() {
			d := defsByName[name]
			truth, err := s.Truth(ten, name)
			if err != nil {
				t.Fatal(err)
			}
			var got []json.RawMessage
			extra := "&unitdp=4&includeArchived=true&includeDeleted=true"
			switch d.paging {
			case pagingPageSize, pagingPageOnly:
				for page := 1; ; page++ {
					l := c.getList(ten, name, fmt.Sprintf("page=%d&pageSize=1000", page)+extra, nil)
					got = append(got, l.Raw...)
					if len(l.Raw) < 100 || (l.Pagination != nil && page >= l.Pagination.PageCount) {
						break
					}
				}
			case pagingOffset:
				for off := 0; ; off += 100 {
					l := c.getList(ten, name, fmt.Sprintf("offset=%d", off), nil)
					got = append(got, l.Raw...)
					if len(l.Raw) < 100 {
						break
					}
				}
			default:
				got = c.getList(ten, name, extra[1:], nil).Raw
			}
			if len(got) != len(truth) {
				t.Fatalf("%s: paging gave %d records, truth %d", name, len(got), len(truth))
			}
			for k := range got {
				if string(got[k]) != string(truth[k]) {
					t.Fatalf("%s record %d differs:\n%s\n%s", name, k, got[k], truth[k])
				}
			}
		}
	}
	// The HTTP form returns the same.
	resp, body := c.get("", "/__sim/truth/"+s.Tenants()[1]+"/invoices", nil)
	var recs []json.RawMessage
	if resp.StatusCode != 200 || json.Unmarshal(body, &recs) != nil {
		t.Fatalf("truth endpoint: %d", resp.StatusCode)
	}
	truth, _ := s.Truth(s.Tenants()[1], "invoices")
	if len(recs) != len(truth) || string(recs[0]) != string(truth[0]) {
		t.Fatal("GET /__sim/truth differs from Truth")
	}
}

func TestDeterministicFromSeed(t *testing.T) {
	at := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	a := newSim(t, Fast(), Seed(42), Tenants(2), StartTime(at))
	b := newSim(t, Fast(), Seed(42), Tenants(2), StartTime(at.Add(time.Hour)))
	other := newSim(t, Fast(), Seed(43), Tenants(2), StartTime(at))
	if !slices.Equal(a.Tenants(), b.Tenants()) || slices.Equal(a.Tenants(), other.Tenants()) {
		t.Fatal("tenant ids do not follow the seed")
	}
	if a.RefreshToken() != b.RefreshToken() || a.ClientID() != b.ClientID() {
		t.Fatal("credentials do not follow the seed")
	}
	for _, name := range StreamNames() {
		ra, _ := a.Truth(a.Tenants()[1], name)
		rb, _ := b.Truth(b.Tenants()[1], name)
		if fmt.Sprint(ra) != fmt.Sprint(rb) {
			t.Fatalf("%s differs between two simulators with the same seed", name)
		}
	}
	ra, _ := a.Truth(a.Tenants()[0], "invoices")
	ro, _ := other.Truth(other.Tenants()[0], "invoices")
	if string(ra[0]) == string(ro[0]) {
		t.Fatal("different seeds gave the same invoice")
	}
}

func TestReferentialIntegrity(t *testing.T) {
	s := newSim(t, Fast(), Tenants(2))
	for _, ten := range s.Tenants() {
		set := func(stream, key string) map[string]bool {
			recs, _ := s.Truth(ten, stream)
			m := map[string]bool{}
			for _, r := range recs {
				var v map[string]any
				_ = json.Unmarshal(r, &v)
				m[v[key].(string)] = true
			}
			return m
		}
		contacts, accounts := set("contacts", "ContactID"), set("accounts", "AccountID")
		items, themes := set("items", "Code"), set("branding_themes", "BrandingThemeID")
		invoices, creditNotes := set("invoices", "InvoiceID"), set("credit_notes", "CreditNoteID")
		options := map[string]bool{}
		tcs, _ := s.Truth(ten, "tracking_categories")
		for _, r := range tcs {
			var v struct {
				Options []struct{ TrackingOptionID string }
			}
			_ = json.Unmarshal(r, &v)
			for _, o := range v.Options {
				options[o.TrackingOptionID] = true
			}
		}
		for _, stream := range []string{"invoices", "credit_notes", "bank_transactions", "quotes", "purchase_orders", "receipts", "repeating_invoices", "overpayments", "prepayments"} {
			recs, _ := s.Truth(ten, stream)
			for _, r := range recs {
				var v struct {
					Contact         struct{ ContactID string }
					BrandingThemeID string
					LineItems       []struct {
						AccountID string
						ItemCode  string
						Tracking  []struct{ TrackingOptionID string }
					}
				}
				if err := json.Unmarshal(r, &v); err != nil {
					t.Fatal(err)
				}
				if !contacts[v.Contact.ContactID] {
					t.Fatalf("%s: contact %s does not exist", stream, v.Contact.ContactID)
				}
				if v.BrandingThemeID != "" && !themes[v.BrandingThemeID] {
					t.Fatalf("%s: branding theme %s does not exist", stream, v.BrandingThemeID)
				}
				for _, li := range v.LineItems {
					if !accounts[li.AccountID] || (li.ItemCode != "" && !items[li.ItemCode]) {
						t.Fatalf("%s: line item refers to a missing account or item: %+v", stream, li)
					}
					for _, tr := range li.Tracking {
						if !options[tr.TrackingOptionID] {
							t.Fatalf("%s: tracking option %s does not exist", stream, tr.TrackingOptionID)
						}
					}
				}
			}
		}
		payments, _ := s.Truth(ten, "payments")
		for _, r := range payments {
			var v struct {
				Invoice    *struct{ InvoiceID string }
				CreditNote *struct{ CreditNoteID string }
			}
			_ = json.Unmarshal(r, &v)
			if (v.Invoice == nil || !invoices[v.Invoice.InvoiceID]) && (v.CreditNote == nil || !creditNotes[v.CreditNote.CreditNoteID]) {
				t.Fatalf("payment refers to nothing: %s", r)
			}
		}
		journals, _ := s.Truth(ten, "journals")
		sources := map[string]map[string]bool{"ACCREC": invoices, "ACCPAY": invoices, "ACCRECCREDIT": creditNotes, "ACCPAYCREDIT": creditNotes}
		for k, r := range journals {
			var v struct {
				JournalNumber int
				SourceID      string
				SourceType    string
				JournalLines  []struct{ NetAmount float64 }
			}
			_ = json.Unmarshal(r, &v)
			if v.JournalNumber != k+1 {
				t.Fatalf("journal %d has number %d", k+1, v.JournalNumber)
			}
			if m := sources[v.SourceType]; m != nil && !m[v.SourceID] {
				t.Fatalf("journal %d: source %s %s does not exist", v.JournalNumber, v.SourceType, v.SourceID)
			}
			sum := 0.0
			for _, l := range v.JournalLines {
				sum += l.NetAmount
			}
			if sum > 0.001 || sum < -0.001 {
				t.Fatalf("journal %d does not balance: %v", v.JournalNumber, sum)
			}
		}
	}
	// Currencies and tax rates differ between tenants.
	c0, _ := s.Truth(s.Tenants()[0], "organisations")
	c1, _ := s.Truth(s.Tenants()[1], "organisations")
	if string(c0[0]) == string(c1[0]) {
		t.Fatal("two tenants with the same organisation")
	}
}

func TestQueryEscaping(t *testing.T) {
	if got := url.QueryEscape("UpdatedDateUTC ASC"); got != "UpdatedDateUTC+ASC" {
		t.Fatal(got)
	}
}
