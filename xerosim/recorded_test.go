package xerosim

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// truthOf returns every record of every stream of every tenant, by stream.
func truthOf(t *testing.T, s *Sim) map[string][]json.RawMessage {
	t.Helper()
	out := map[string][]json.RawMessage{}
	for _, tenant := range s.Tenants() {
		for _, d := range defs {
			recs, err := s.Truth(tenant, d.name)
			if err != nil {
				t.Fatal(err)
			}
			out[d.name] = append(out[d.name], recs...)
		}
	}
	return out
}

func recordedSim(t *testing.T, opts ...Option) *Sim {
	t.Helper()
	s := NewSim(append([]Option{Seed(5), Tenants(2), ServeEmployees(), Volume("invoices", 300), Volume("payments", 200), Volume("receipts", 60)}, opts...)...)
	t.Cleanup(s.Close)
	return s
}

// TestAsRecordedOffLeavesOutputAlone: with a share of zero, every record is byte for byte what
// the simulator writes without the option.
func TestAsRecordedOffLeavesOutputAlone(t *testing.T) {
	plain, zero := truthOf(t, recordedSim(t)), truthOf(t, recordedSim(t, AsRecorded(0)))
	for name, recs := range plain {
		for k := range recs {
			if !bytes.Equal(recs[k], zero[name][k]) {
				t.Fatalf("%s record %d differs:\n%s\n%s", name, k, recs[k], zero[name][k])
			}
		}
	}
	for _, recs := range plain {
		for _, r := range recs {
			if bytes.Contains(r, []byte("+1200)")) || bytes.Contains(r, []byte("+1300)")) || bytes.Contains(r, []byte("TaxNumbeType")) {
				t.Fatalf("a recorded shape in the default output: %s", r)
			}
		}
	}
}

// TestAsRecordedShapes: with every record as recorded, each shape recorded from Xero occurs.
func TestAsRecordedShapes(t *testing.T) {
	all := truthOf(t, recordedSim(t, AsRecorded(1)))
	shapes := []struct {
		what, stream string
		re           string
	}{
		{"a date with +1200", "invoices", `"Date":"\\/Date\(-?\d+\+1200\)\\/"`},
		{"a date with +1300", "invoices", `"Date":"\\/Date\(-?\d+\+1300\)\\/"`},
		{"a timestamp with an offset", "payments", `"UpdatedDateUTC":"\\/Date\(\d+\+1[23]00\)\\/"`},
		{"a journal date with an offset", "journals", `"JournalDate":"\\/Date\(\d+\+1[23]00\)\\/"`},
		{"no date", "invoices", `"FullyPaidOnDate":"\\/Date\(0\+0000\)\\/"`},
		{"whole-number money", "invoices", `"AmountCredited":0,`},
		{"money with one decimal", "invoices", `"(Total|SubTotal|TotalTax|AmountDue|AmountPaid|LineAmount)":-?\d+\.\d[,}]`},
		{"a whole currency rate", "invoices", `"CurrencyRate":1,`},
		{"a full contact with empty addresses and groups", "invoices", `"Contact":\{"ContactID":"[^"]+","ContactNumber":"C\d+".*"Addresses":\[\{"AddressType":"POBOX","AddressLine1":"".*"ContactGroups":\[\{`},
		{"a full contact in a payment", "payments", `"Invoice":\{.*"Contact":\{[^{}]*"SkypeUserName":"".*"Phones":\[\{`},
		{"attachments next to HasAttachments", "invoices", `"HasAttachments":true,"Attachments":\[\{"AttachmentID":`},
		{"credit notes inside an invoice", "invoices", `"CreditNotes":\[\{"CreditNoteID":`},
		{"ValidationErrors on line items", "invoices", `"Tracking":\[[^\]]*\],"ValidationErrors":\[\]`},
		{"Options on line-item tracking", "invoices", `"Options":\[\]\}`},
		{"{} for an empty object", "organisations", `"PaymentTerms":\{\}`},
		{"a number where the spec says string", "receipts", `"ReceiptNumber":\d+,`},
		{"a quoted amount and boolean", "payments", `"BatchPayment":\{.*"TotalAmount":"\d+\.\d\d","IsReconciled":"false"\}`},
		{"DateString", "receipts", `"DateString":"\d{4}-\d\d-\d\dT00:00:00"`},
		{"HasValidationErrors on an invoice", "invoices", `"HasErrors":false,"HasValidationErrors":false`},
		{"SkypeUserName and TaxNumbeType", "contacts", `"SkypeUserName":"","TaxNumbeType":""`},
		{"mostly empty addresses", "contacts", `"AddressType":"STREET","AddressLine1":"","AddressLine2":""`},
	}
	for _, sh := range shapes {
		re := regexp.MustCompile(sh.re)
		found := false
		for _, r := range all[sh.stream] {
			if re.Match(r) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: no %s record matches %s", sh.what, sh.stream, sh.re)
		}
	}
	missing := 0
	for _, r := range all["invoices"] {
		var inv map[string]json.RawMessage
		if err := json.Unmarshal(r, &inv); err != nil {
			t.Fatal(err)
		}
		if _, ok := inv["CurrencyRate"]; !ok {
			missing++
		}
	}
	if n := len(all["invoices"]); missing < n/10 || missing > n*3/10 {
		t.Errorf("CurrencyRate absent from %d of %d invoices, want about a fifth", missing, n)
	}
}

var offsetDate = regexp.MustCompile(`^/Date\((-?\d+)([+-]\d\d)(\d\d)\)/$`)

// instant is the test's reading of a /Date()/ value: the milliseconds plus the offset.
func instant(t *testing.T, v any) time.Time {
	t.Helper()
	m := offsetDate.FindStringSubmatch(v.(string))
	if m == nil {
		t.Fatalf("%v is not /Date(ms±hhmm)/", v)
	}
	ms, _ := strconv.ParseInt(m[1], 10, 64)
	h, _ := strconv.ParseInt(m[2], 10, 64)
	mm, _ := strconv.ParseInt(m[3], 10, 64)
	if h < 0 {
		mm = -mm
	}
	return time.UnixMilli(ms + (h*60+mm)*60_000).UTC()
}

// TestAsRecordedMeansTheSameInstants: a record written with an offset says the same dates and
// times as its ISO twins (DateString, UpdatedDateUTCString), which carry no offset, and the
// same as the record written without the option; recorded money is the same number.
func TestAsRecordedMeansTheSameInstants(t *testing.T) {
	plain, rec := truthOf(t, recordedSim(t)), truthOf(t, recordedSim(t, AsRecorded(1)))
	for k, raw := range rec["invoices"] {
		var r, p map[string]any
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(plain["invoices"][k], &p); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(r["Date"].(string), "00)/") || strings.HasSuffix(r["Date"].(string), "+0000)/") {
			t.Fatalf("invoice %d: Date %v has no offset", k, r["Date"])
		}
		if got := instant(t, r["Date"]).Format("2006-01-02T15:04:05"); got != r["DateString"] {
			t.Errorf("invoice %d: Date %v is %s, DateString %v", k, r["Date"], got, r["DateString"])
		}
		if got := instant(t, r["UpdatedDateUTC"]).Format("2006-01-02T15:04:05Z"); got != r["UpdatedDateUTCString"] {
			t.Errorf("invoice %d: UpdatedDateUTC %v is %s, UpdatedDateUTCString %v", k, r["UpdatedDateUTC"], got, r["UpdatedDateUTCString"])
		}
		for _, f := range []string{"Date", "DueDate", "UpdatedDateUTC"} {
			if a, b := instant(t, r[f]), instant(t, p[f]); !a.Equal(b) {
				t.Errorf("invoice %d: %s %v is %v, without the option %v", k, f, r[f], a, b)
			}
		}
		for _, f := range []string{"Total", "AmountDue", "SubTotal"} {
			if r[f] != p[f] { // float64 from both: 108.6 and 108.60 decode alike
				t.Errorf("invoice %d: %s %v, without the option %v", k, f, r[f], p[f])
			}
		}
	}
}

// TestAsRecordedShare: the option's share of records is written as recorded, the same records
// through the list endpoint as in Truth.
func TestAsRecordedShare(t *testing.T) {
	s := newSim(t, Seed(5), Fast(), Volume("invoices", 400), AsRecorded(0.3))
	tenant := s.Tenants()[0]
	truth, err := s.Truth(tenant, "invoices")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range truth {
		if bytes.Contains(r, []byte(`"TaxNumbeType"`)) || bytes.Contains(r, []byte(`"SkypeUserName"`)) || bytes.Contains(r, []byte(`+1200)`)) || bytes.Contains(r, []byte(`+1300)`)) {
			n++
		}
	}
	if n < 80 || n > 160 {
		t.Errorf("%d of %d invoices as recorded, want about 30%%", n, len(truth))
	}
	c := newClient(t, s)
	for page := 1; page <= 4; page++ {
		l := c.getList(tenant, "invoices", "page="+strconv.Itoa(page)+"&unitdp=4", nil)
		for k, r := range l.Raw {
			if want := truth[(page-1)*100+k]; !bytes.Equal(r, want) {
				t.Fatalf("page %d record %d differs from Truth:\n%s\n%s", page, k, r, want)
			}
		}
	}
}

// BenchmarkInvoicePageAsRecorded is BenchmarkInvoicePage with every record as recorded (full
// nested contacts, attachments, credit notes): the cost of the shapes.
//
//	go test -run '^$' -bench 'BenchmarkInvoicePage' -benchmem ./xerosim/
func BenchmarkInvoicePageAsRecorded(b *testing.B) {
	_, get := benchSim(b, Volume("invoices", 100_000), AsRecorded(1))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		get("/api.xro/2.0/Invoices?page=" + strconv.Itoa(1+i%100) + "&pageSize=1000&unitdp=4&includeArchived=true")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

// TestRecordAloneAsInAResponse: a record written on its own is byte for byte the record written
// among others in one response, which reuses the contacts it has already embedded. More
// contacts than the reuse keeps at once, in both forms, so that contacts displace each other.
func TestRecordAloneAsInAResponse(t *testing.T) {
	s := recordedSim(t, AsRecorded(0.5), Volume("contacts", 700), Volume("invoices", 1500))
	s.Mutate(300)
	for _, tenant := range s.Tenants() {
		tn, err := s.tenant(tenant)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range defs {
			if d.id == sJournals {
				continue
			}
			recs, err := s.Truth(tenant, d.name)
			if err != nil {
				t.Fatal(err)
			}
			s.mu.RLock()
			sel := tn.tables[d.id].sel(-1, orderNatural, true)
			for k := 0; k < sel.total; k++ {
				w := &jw{first: true}
				c := rctx{w: w, t: tn, tb: tn.tables[d.id], unitdp: 2, lines: true, include: true}
				if d.unitdp {
					c.unitdp = 4
				}
				d.render(&c, sel.at(k))
				if !bytes.Equal(w.b, recs[k]) {
					s.mu.RUnlock()
					t.Fatalf("%s record %d alone:\n%s\nin a response:\n%s", d.name, k, w.b, recs[k])
				}
			}
			s.mu.RUnlock()
		}
	}
}
