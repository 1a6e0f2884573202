package xerosim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// discard is a ResponseWriter that counts bytes and keeps nothing.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(code int)        { d.status = code }
func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

// benchSim builds a simulator without network and an authorised request maker.
func benchSim(tb testing.TB, opts ...Option) (*Sim, func(path string) *discard) {
	tb.Helper()
	s := NewSim(append([]Option{Fast()}, opts...)...)
	tb.Cleanup(s.Close)
	access, _, _, ok := s.auth.exchange(s.RefreshToken(), s.clock.now(), false)
	if !ok {
		tb.Fatal("no token")
	}
	h := s.Handler()
	ten := s.Tenants()[0]
	req := httptest.NewRequest("GET", "/api.xro/2.0/Invoices", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("xero-tenant-id", ten)
	req.Header.Set("Accept", "application/json")
	w := &discard{h: http.Header{}}
	return s, func(path string) *discard {
		r := req.Clone(req.Context())
		r.URL.RawQuery = ""
		r.URL.Path, r.URL.RawQuery, _ = cutQuery(path)
		r.RequestURI = path
		w.h = http.Header{}
		w.status, w.n = 0, 0
		h.ServeHTTP(w, r)
		if w.status != 200 {
			tb.Fatalf("%s: %d", path, w.status)
		}
		return w
	}
}

func cutQuery(p string) (string, string, bool) {
	for i := range p {
		if p[i] == '?' {
			return p[:i], p[i+1:], true
		}
	}
	return p, "", false
}

// BenchmarkInvoicePage measures one 1,000-invoice page with line items (unitdp=4), rendered
// and written by the handler (no network).
//
//	go test -run '^$' -bench BenchmarkInvoicePage -benchmem ./xerosim/
func BenchmarkInvoicePage(b *testing.B) {
	_, get := benchSim(b, Volume("invoices", 100_000))
	b.ReportAllocs()
	b.ResetTimer()
	bytes := 0
	for i := 0; i < b.N; i++ {
		w := get(fmt.Sprintf("/api.xro/2.0/Invoices?page=%d&pageSize=1000&unitdp=4&includeArchived=true", 1+i%100))
		bytes += w.n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/page")
}

// BenchmarkMillionInvoices serves every page of a tenant with 1,000,000 invoices and
// 2,000,000 journals (1,000 pages of 1,000 invoices with line items, ordered by
// UpdatedDateUTC, then journal calls at the start, middle and end) and reports the heap: it
// stays flat because records are generated when served.
//
//	go test -run '^$' -bench BenchmarkMillionInvoices -benchtime 1x ./xerosim/
func BenchmarkMillionInvoices(b *testing.B) {
	for i := 0; i < b.N; i++ {
		_, get := benchSim(b, Volume("invoices", 1_000_000), Volume("journals", 2_000_000))
		var ms runtime.MemStats
		heap := func() float64 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			return float64(ms.HeapAlloc) / (1 << 20)
		}
		start := heap()
		peak := start
		for page := 1; page <= 1000; page++ {
			w := get(fmt.Sprintf("/api.xro/2.0/Invoices?page=%d&pageSize=1000&unitdp=4&order=UpdatedDateUTC%%20ASC", page))
			if w.n < 100_000 {
				b.Fatalf("page %d: only %d bytes", page, w.n)
			}
			if page%100 == 0 {
				peak = max(peak, heap())
			}
		}
		for _, off := range []int{0, 1_000_000, 1_999_900} {
			get(fmt.Sprintf("/api.xro/2.0/Journals?offset=%d", off))
		}
		end := heap()
		b.ReportMetric(start, "heap-start-MB")
		b.ReportMetric(peak, "heap-peak-MB")
		b.ReportMetric(end, "heap-end-MB")
		if peak > start+64 {
			b.Fatalf("heap grew from %.1f MB to %.1f MB while paging", start, peak)
		}
	}
}
