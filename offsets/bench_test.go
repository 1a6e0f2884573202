package offsets

import (
	"encoding/json"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkBookmark measures BookmarkRecords (encode) and what Load does with the records of one
// bookmark (decode), and reports the stored size:
//
//	go test -run '^$' -bench BenchmarkBookmark -benchmem ./offsets/
func BenchmarkBookmark(b *testing.B) {
	verify := keysetBookmark()
	v := Verify{From: verify.Watermark, To: verify.Watermark + 5_000, Written: map[string]int64{}}
	for i := range 1000 {
		v.Written[uuid()] = v.From + int64(i)
	}
	verify.Verify = []Verify{v}
	cases := []struct {
		name string
		bm   Bookmark
	}{
		{"keyset", keysetBookmark()},
		{"keyset_verify_1000", verify},
		{"hashes_100k", scanBookmark(100_000)},
	}
	for _, c := range cases {
		raw, err := json.Marshal(c.bm)
		if err != nil {
			b.Fatal(err)
		}
		recs, err := BookmarkRecords("xero-state", tenantA, "items", c.bm)
		if err != nil {
			b.Fatal(err)
		}
		report := func(b *testing.B) {
			b.ReportMetric(float64(len(raw)), "json_bytes")
			b.ReportMetric(float64(storedBytes(recs)), "stored_bytes")
			b.ReportMetric(float64(len(recs)), "records")
		}
		b.Run("encode/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := BookmarkRecords("xero-state", tenantA, "items", c.bm); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
		b.Run("decode/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeRecords(recs); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
	}
}

// storedBytes is the size of the records' keys and values.
func storedBytes(recs []*kgo.Record) int {
	n := 0
	for _, r := range recs {
		n += len(r.Key) + len(r.Value)
	}
	return n
}
