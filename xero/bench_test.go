package xero

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// benchBody is a page of 1000 invoices shaped like Xero's (line items, contact, dates).
var benchBody = pageBody("Invoices", testRecords(1000), `{"page":1,"pageSize":1000,"pageCount":3,"itemCount":2500}`)

// BenchmarkList measures a whole List call of a 1000-invoice page served by httptest:
// the transport chain, the token, and the streamed decoding.
//
//	go test -run '^$' -bench BenchmarkList -benchmem ./xero/
func BenchmarkList(b *testing.B) {
	env := newTestEnv(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, benchBody)
	}), nil)
	req := invoicesReq()
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		page, err := env.client.List(b.Context(), req)
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Records) != 1000 {
			b.Fatalf("%d records", len(page.Records))
		}
	}
}

// BenchmarkDecodePage measures the decoding alone, from memory.
func BenchmarkDecodePage(b *testing.B) {
	b.SetBytes(int64(len(benchBody)))
	b.ReportAllocs()
	for b.Loop() {
		page, err := decodePage(strings.NewReader(benchBody), "Invoices", int64(len(benchBody)))
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Records) != 1000 {
			b.Fatalf("%d records", len(page.Records))
		}
	}
}
