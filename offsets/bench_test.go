package offsets

import (
	"encoding/json"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

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

// BenchmarkCommitGrowingWindow commits page after page of 100 new ids sharing one replication-key
// value (a bulk import), until the window holds n ids: one op is the whole import. "whole" stores
// every bookmark with BookmarkRecords, "writer" with a BookmarkWriter told the page's ids. It
// reports the time spent making the records (wall and process CPU) and the bytes written, per
// commit and per import:
//
//	go test -run '^$' -bench BenchmarkCommitGrowingWindow -benchtime 1x ./offsets/
func BenchmarkCommitGrowingWindow(b *testing.B) {
	for _, n := range []int{10_000, 50_000, 200_000} {
		for _, mode := range []string{"whole", "writer"} {
			b.Run(fmt.Sprintf("ids=%d/%s", n, mode), func(b *testing.B) {
				ids := make([]string, n)
				for i := range ids {
					ids[i] = uuid()
				}
				var spent, cpu time.Duration
				bytes, commits := 0, 0
				for b.Loop() {
					w := NewBookmarkWriter("xero-state", tenantA, "invoices", Bookmark{})
					cur := Bookmark{Watermark: 1_732_000_000_000}
					for page := 0; page < n; page += 100 {
						next := cur
						next.Window = maps.Clone(cur.Window)
						if next.Window == nil {
							next.Window = make(map[string]int64)
						}
						touched := ids[page:min(n, page+100)]
						for _, id := range touched {
							next.Window[id] = next.Watermark
						}
						start, cpu0 := time.Now(), cpuTime()
						var recs []*kgo.Record
						var err error
						if mode == "whole" {
							recs, err = BookmarkRecords("xero-state", tenantA, "invoices", next)
						} else {
							recs, err = w.Records(next, touched)
							w.Committed()
						}
						spent, cpu = spent+time.Since(start), cpu+cpuTime()-cpu0
						if err != nil {
							b.Fatal(err)
						}
						bytes += storedBytes(recs)
						commits++
						cur = next
					}
				}
				b.ReportMetric(float64(spent.Nanoseconds())/float64(commits), "ns/commit")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(commits), "cpu-ns/commit")
				b.ReportMetric(float64(bytes)/float64(commits), "bytes/commit")
				b.ReportMetric(float64(bytes)/float64(b.N), "bytes/import")
			})
		}
	}
}

// BenchmarkCommitScan commits scans of 50,000 records of which 1% (500) changed since the last:
// one op is one commit. It reports the time spent making the records (wall and process CPU) and
// the bytes written:
//
//	go test -run '^$' -bench BenchmarkCommitScan ./offsets/
func BenchmarkCommitScan(b *testing.B) {
	for _, mode := range []string{"whole", "writer"} {
		b.Run(mode, func(b *testing.B) {
			cur := scanBookmark(50_000)
			ids := slices.Collect(maps.Keys(cur.Hashes))
			w := NewBookmarkWriter("xero-state", tenantA, "items", Bookmark{})
			if _, err := w.Records(cur, nil); err != nil {
				b.Fatal(err)
			}
			w.Committed()
			var spent, cpu time.Duration
			bytes, commits := 0, 0
			rng := mrand.New(mrand.NewPCG(1, 2))
			for b.Loop() {
				next := cur
				next.Hashes = maps.Clone(cur.Hashes)
				touched := make([]string, 0, 500)
				for range 500 {
					id := ids[rng.IntN(len(ids))]
					next.Hashes[id] = rng.Uint64()
					touched = append(touched, id)
				}
				start, cpu0 := time.Now(), cpuTime()
				var recs []*kgo.Record
				var err error
				if mode == "whole" {
					recs, err = BookmarkRecords("xero-state", tenantA, "items", next)
				} else {
					recs, err = w.Records(next, touched)
					w.Committed()
				}
				spent, cpu = spent+time.Since(start), cpu+cpuTime()-cpu0
				if err != nil {
					b.Fatal(err)
				}
				bytes += storedBytes(recs)
				commits++
				cur = next
			}
			b.ReportMetric(float64(spent.Nanoseconds())/float64(commits), "ns/commit")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(commits), "cpu-ns/commit")
			b.ReportMetric(float64(bytes)/float64(commits), "bytes/commit")
		})
	}
}
