package avro

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkEncode measures AppendValue on realistic records: an invoice with 5 line items (each
// with 2 tracking options) and a payment, and a journal with 4 lines. records/s is per core.
//
//	go test -run x -bench Encode -benchmem ./avro/
func BenchmarkEncode(b *testing.B) {
	for _, bc := range []struct{ stream, file string }{
		{"invoices", "invoice.json"},
		{"journals", "journal.json"},
	} {
		b.Run(bc.stream, func(b *testing.B) {
			raw, err := os.ReadFile(filepath.Join("testdata", bc.file))
			if err != nil {
				b.Fatal(err)
			}
			c := mustCodec(b, bc.stream)
			at := time.Now()
			buf, err := c.AppendValue(nil, raw, "7a5c1c7e-0b5e-4a57-9d2e-2f0ad4bb0f11", at)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf, err = c.AppendValue(buf[:0], raw, "7a5c1c7e-0b5e-4a57-9d2e-2f0ad4bb0f11", at)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
