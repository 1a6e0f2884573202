//go:build unix

package connector_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/xero-kafka/xero-kafka/xerosim"
)

// BenchmarkBulkImport measures a backfill of invoices that all share one UpdatedDateUTC (a bulk
// import), which the keyset strategy pages through while its bookmark's window and traversal
// grow to hold every one of them. Run it with
//
//	go test -run '^$' -bench BulkImport -benchtime 1x ./connector/
//
// It reports records per second and the process's CPU seconds per 100,000 records (the
// simulator and the in-process broker included).
func BenchmarkBulkImport(b *testing.B) {
	for _, n := range []int{20_000, 50_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var records, seconds, cpu float64
			for range b.N {
				b.StopTimer()
				h := newHarness(b, xerosim.Seed(1), xerosim.Tenants(1), xerosim.NoLimits(), xerosim.Volume("invoices", 1))
				// A burst creates half its count and edits the rest among the records there
				// are (one here): n new invoices, one timestamp.
				h.sim.Burst(h.sim.Tenants()[0], "invoices", 2*n)
				h.cfg.Streams = []string{"invoices"}
				h.cfg.PollInterval, h.cfg.FullTableInterval = time.Hour, time.Hour
				b.StartTimer()

				start, cpu0 := time.Now(), cpuSeconds(b)
				r := h.start(h.cfg)
				h.waitSettled(r, start)
				seconds += time.Since(start).Seconds()
				cpu += cpuSeconds(b) - cpu0

				b.StopTimer()
				if err := r.stop(); err != nil {
					b.Fatal(err)
				}
				for _, tn := range r.Status().Tenants {
					for _, s := range tn.Streams {
						records += float64(s.RecordsWritten)
					}
				}
			}
			if records < float64(n*b.N) {
				b.Fatalf("%.0f records written, want at least %d", records, n*b.N)
			}
			b.ReportMetric(records/seconds, "records/s")
			b.ReportMetric(cpu/records*100_000, "cpu_s/100k")
		})
	}
}

// cpuSeconds is the CPU time the process has used, user and system.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
