package connector_test

import (
	"testing"
	"time"

	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// BenchmarkBackfill measures a first full sync, end to end: the simulator with no rate limit,
// the connector, the in-process broker (or the real one, with XK_KAFKA_BROKERS). Run it with
//
//	go test -run '^$' -bench Backfill -benchtime 1x ./connector/
//
// It reports records per second, and the calls made per stream, to compare with the floor
// (one call per 1000 invoices or contacts, one per 100 journals, plus the journals call that
// finds nothing new).
func BenchmarkBackfill(b *testing.B) {
	cases := []struct {
		name    string
		volumes map[string]int
	}{
		{"invoices", map[string]int{"invoices": 20_000}},
		{"journals", map[string]int{"journals": 50_000}},
		{"economy", map[string]int{"invoices": 100_000, "contacts": 20_000, "journals": 200_000}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var records, seconds float64
			calls := map[string]int{}
			for range b.N {
				b.StopTimer()
				opts := []xerosim.Option{xerosim.Seed(1), xerosim.Tenants(1), xerosim.Fast()}
				var names []string
				for name, n := range c.volumes {
					opts = append(opts, xerosim.Volume(name, n))
					names = append(names, name)
				}
				h := newHarness(b, opts...)
				h.cfg.Streams = names
				// One cycle per stream: a stream that caught up does not poll again while
				// the others finish, so the calls counted are the backfill's.
				h.cfg.PollInterval, h.cfg.FullTableInterval = time.Hour, time.Hour
				before := h.sim.Stats()
				b.StartTimer()

				start := time.Now()
				r := h.start(h.cfg)
				h.waitSettled(r, start)
				seconds += time.Since(start).Seconds()

				b.StopTimer()
				if err := r.stop(); err != nil {
					b.Fatal(err)
				}
				for _, tn := range r.Status().Tenants {
					for _, s := range tn.Streams {
						records += float64(s.RecordsWritten)
					}
				}
				after := h.sim.Stats()
				for _, name := range names {
					endpoint := endpointOf(name)
					calls[name] += total(after.Calls[endpoint]) - total(before.Calls[endpoint])
				}
			}
			b.ReportMetric(records/seconds, "records/s")
			sum := 0
			for name, n := range calls {
				b.ReportMetric(float64(n)/float64(b.N), "calls_"+name)
				sum += n
			}
			b.ReportMetric(float64(sum)/float64(b.N), "calls")
		})
	}
}

func endpointOf(stream string) string {
	s, _ := streams.ByName(stream)
	return "GET /api.xro/2.0" + s.Path
}
