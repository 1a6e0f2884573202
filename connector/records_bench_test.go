package connector

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// BenchmarkRecordPath measures what the connector spends on a page of 1,000 of the simulator's
// records between the network and the producer: the list call (served from memory by httptest),
// pageOf (keys, replication key, hash) and builder.record (Avro key and value, headers) for each
// record. ns/record and the allocations per page are the figures to compare.
//
//	go test -run '^$' -bench RecordPath -benchmem ./connector/
func BenchmarkRecordPath(b *testing.B) {
	for _, name := range []string{"invoices", "journals"} {
		b.Run(name, func(b *testing.B) {
			s, _ := streams.ByName(name)
			sim := xerosim.NewSim(xerosim.Seed(1), xerosim.Tenants(1), xerosim.Volume(name, 1000))
			b.Cleanup(sim.Close)
			tenant := sim.Tenants()[0]
			records, err := sim.Truth(tenant, name)
			if err != nil {
				b.Fatal(err)
			}
			body, err := json.Marshal(map[string]any{"Status": "OK", s.Wrapper: records})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/connect/token" {
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":1800}`)
					return
				}
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.Write(body)
			}))
			b.Cleanup(srv.Close)
			api, err := xero.NewCustomConnectionClient(xero.Config{APIURL: srv.URL, IdentityURL: srv.URL, ClientID: "id", ClientSecret: "secret"}, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { api.Close() })
			codec, err := avro.NewCodec(name)
			if err != nil {
				b.Fatal(err)
			}
			build := builder{streamBuilder: &streamBuilder{stream: &s, topic: "xero." + name, deadTopic: "xero.dead", enc: codec, keyID: 1, valueID: 2}, tenant: tenant}
			req := xero.Request{Tenant: tenant, Path: s.Path, Wrapper: s.Wrapper, Fields: metaFields(&s)}
			at := time.Now()
			n := 0
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				pg, err := api.List(b.Context(), req)
				if err != nil {
					b.Fatal(err)
				}
				f := pageOf(&s, pg, 1, at)
				for _, it := range f.items {
					if it.bad != nil {
						b.Fatal(it.bad)
					}
					if _, dead, err := build.record(it.raw, it.meta, at); err != nil || dead {
						b.Fatalf("record %s: %v", it.meta.id, err)
					}
				}
				n += len(f.items)
			}
			if n == 0 {
				b.Fatal("no records")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
		})
	}
}
