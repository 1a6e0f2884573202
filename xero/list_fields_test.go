package xero

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestListReadsFieldsWhileSplitting(t *testing.T) {
	recs := []string{
		`{"InvoiceID":"a","UpdatedDateUTC":"\/Date(1+0000)\/","Total":1}`,
		// Duplicates: the first wins. A nested member of the same name is not the field.
		`{"Contact":{"InvoiceID":"nested"},"InvoiceID":"b","InvoiceID":"second"}`,
		// An escaped name is the name it stands for.
		`{"\u0049nvoiceID" : 42 , "UpdatedDateUTC" : null}`,
		`{}`,
		`{"LineItems":[{"UpdatedDateUTC":"x"}],"UpdatedDateUTC":{"a":[1,2]}}`,
	}
	want := [][]string{
		{`"a"`, `"\/Date(1+0000)\/"`},
		{`"b"`, ""},
		{`42`, `null`},
		{"", ""},
		{"", `{"a":[1,2]}`},
	}
	body := pageBody("Invoices", recs, "")
	env := newTestEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}), nil)
	req := invoicesReq()
	req.Fields = []string{"InvoiceID", "UpdatedDateUTC"}
	page, err := env.client.List(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != len(recs) {
		t.Fatalf("%d records, want %d", len(page.Records), len(recs))
	}
	for i, rec := range page.Records {
		if string(rec) != recs[i] {
			t.Errorf("record %d = %s, want %s", i, rec, recs[i])
		}
		vals := page.Fields(i)
		if len(vals) != 2 {
			t.Fatalf("record %d: %d values, want 2", i, len(vals))
		}
		for j, v := range vals {
			if want[i][j] == "" {
				if v != nil {
					t.Errorf("record %d field %s = %s, want none", i, req.Fields[j], v)
				}
				continue
			}
			if string(v) != want[i][j] {
				t.Errorf("record %d field %s = %q, want %q", i, req.Fields[j], v, want[i][j])
			}
		}
	}
	// Appending to a value must not overwrite the record around it.
	_ = append(page.Fields(0)[0], 'x')
	if string(page.Records[0]) != recs[0] {
		t.Error("a field value shares capacity with its record")
	}
	// Without Fields in the request, a page has none.
	page, err = env.client.List(t.Context(), invoicesReq())
	if err != nil {
		t.Fatal(err)
	}
	if page.Fields(0) != nil {
		t.Errorf("fields %q read without being asked for", page.Fields(0))
	}
}

// TestPageMemoryFollowsTheBody: a small page holds about its own size, not a fixed block.
func TestPageMemoryFollowsTheBody(t *testing.T) {
	body := pageBody("Invoices", testRecords(2), "")
	if len(body) > 4<<10 {
		t.Fatalf("the test body is %d bytes; it should be small", len(body))
	}
	for _, size := range []int64{int64(len(body)), -1} {
		const runs = 50
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range runs {
			p, err := decodePage(strings.NewReader(body), "Invoices", size, "InvoiceID")
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Records) != 2 {
				t.Fatalf("%d records", len(p.Records))
			}
		}
		runtime.ReadMemStats(&after)
		perPage := (after.TotalAlloc - before.TotalAlloc) / runs
		// The body, the decoder's state and the slices of records: a few times the body,
		// far from the 64 KiB block a page once took whatever its size.
		t.Logf("size hint %d: %d bytes allocated per %d-byte page", size, perPage, len(body))
		if limit := uint64(8*len(body) + 16<<10); perPage > limit {
			t.Errorf("size hint %d: %d bytes allocated per %d-byte page, want at most %d", size, perPage, len(body), limit)
		}
	}
}

func TestReadBodySizedToTheBody(t *testing.T) {
	body := strings.Repeat("x", 5000)
	b, err := readBody(strings.NewReader(body), int64(len(body)))
	if err != nil || string(b) != body || cap(b) != len(body) {
		t.Errorf("known length: len %d cap %d err %v, want len = cap = %d", len(b), cap(b), err, len(body))
	}
	b, err = readBody(strings.NewReader(body), -1)
	if err != nil || string(b) != body || cap(b) > len(body)+len(body)/8 {
		t.Errorf("unknown length: len %d cap %d err %v, want %d and little spare", len(b), cap(b), err, len(body))
	}
	if _, err := readBody(strings.NewReader(body), int64(len(body)+1)); err != io.ErrUnexpectedEOF {
		t.Errorf("short body: err = %v, want %v", err, io.ErrUnexpectedEOF)
	}
	if _, err := readBody(strings.NewReader(body), int64(len(body)-1)); err == nil {
		t.Error("a body longer than its length was accepted")
	}
}

// FuzzRecordFields checks the values read while splitting a page against gjson reading each
// record on its own (the way the connector read them before): the same member, the same bytes.
func FuzzRecordFields(f *testing.F) {
	for _, s := range []string{
		`{"InvoiceID":"a","UpdatedDateUTC":"\/Date(1+0000)\/"}`,
		`{"InvoiceID":"a","InvoiceID":"b"}`,
		`{"\u0049nvoiceID":"\u00e9","x":{"InvoiceID":1}}`,
		`{"a":[{"InvoiceID":"n"}],"UpdatedDateUTC":-1.5e3}`,
		`{"InvoiceID\u0000":"z","InvoiceID":null}`,
		`{"Invoice\\ID":"z","JournalNumber":12}`,
		recordedInvoice,
	} {
		f.Add(s)
	}
	fields := []string{"InvoiceID", "UpdatedDateUTC", "JournalNumber"}
	f.Fuzz(func(t *testing.T, rec string) {
		body := `{"Invoices":[` + rec + `]}`
		p, err := decodePage(strings.NewReader(body), "Invoices", int64(len(body)), fields...)
		if err != nil || len(p.Records) != 1 {
			return // not one object: nothing to compare
		}
		raw := p.Records[0]
		if !bytes.Equal(raw, bytes.TrimSpace([]byte(rec))) {
			t.Fatalf("record %q read as %q", rec, raw)
		}
		for j, name := range fields {
			got := p.Fields(0)[j]
			want := gjson.GetBytes(raw, name)
			if !want.Exists() {
				if got != nil {
					t.Fatalf("%s: found %q where gjson finds nothing in %q", name, got, raw)
				}
				continue
			}
			if string(got) != want.Raw {
				t.Fatalf("%s: %q, gjson reads %q in %q", name, got, want.Raw, raw)
			}
		}
	})
}

// BenchmarkPageKeys compares two ways to split a 1000-invoice page and read each record's
// primary and replication keys: splitting, then gjson on each record (as the connector did), and
// finding them as each record is split off (Request.Fields).
//
//	go test -run '^$' -bench PageKeys -benchmem ./xero/
func BenchmarkPageKeys(b *testing.B) {
	fields := []string{"InvoiceID", "UpdatedDateUTC"}
	b.Run("split-then-gjson", func(b *testing.B) {
		b.SetBytes(int64(len(benchBody)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := decodePage(strings.NewReader(benchBody), "Invoices", int64(len(benchBody)))
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range p.Records {
				for _, f := range fields {
					if !gjson.GetBytes(r, f).Exists() {
						b.Fatalf("no %s", f)
					}
				}
			}
		}
	})
	b.Run("while-splitting", func(b *testing.B) {
		b.SetBytes(int64(len(benchBody)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := decodePage(strings.NewReader(benchBody), "Invoices", int64(len(benchBody)), fields...)
			if err != nil {
				b.Fatal(err)
			}
			for i := range p.Records {
				for j := range fields {
					if p.Fields(i)[j] == nil {
						b.Fatalf("no %s", fields[j])
					}
				}
			}
		}
	})
}
