package connector_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xero-kafka/xero-kafka/xerosim"
)

// BenchmarkStartToFirstCall measures a fresh start with every stream: from Run to the first
// request to Xero (the token) and to the first Accounting API call, on a broker and a registry
// that hold none of the topics and subjects yet. It runs on kfake and srfake, or on the real
// services with XK_KAFKA_BROKERS and XK_SCHEMA_REGISTRY_URL:
//
//	go test -run '^$' -bench StartToFirstCall -benchtime 5x ./connector/
func BenchmarkStartToFirstCall(b *testing.B) {
	var first, firstAPI time.Duration
	for range b.N {
		h := newHarness(b, xerosim.Seed(1), xerosim.Tenants(1), xerosim.Fast())
		var start, seen, seenAPI atomic.Int64 // unix ns
		target, err := url.Parse(h.sim.URL())
		if err != nil {
			b.Fatal(err)
		}
		sim := httputil.NewSingleHostReverseProxy(target)
		sim.ErrorLog = log.New(io.Discard, "", 0) // calls cut short by the stop
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			now := time.Now().UnixNano()
			seen.CompareAndSwap(0, now)
			if strings.HasPrefix(r.URL.Path, "/api.xro/") {
				seenAPI.CompareAndSwap(0, now)
			}
			sim.ServeHTTP(w, r)
		}))
		h.cfg.Xero.APIURL, h.cfg.Xero.IdentityURL = proxy.URL, proxy.URL

		start.Store(time.Now().UnixNano())
		r := h.start(h.cfg)
		deadline := time.Now().Add(time.Minute)
		for seenAPI.Load() == 0 {
			select {
			case <-r.done:
				b.Fatalf("the connector stopped before its first call: %v", r.err)
			case <-time.After(5 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				b.Fatal("no Xero call within a minute of the start")
			}
		}
		first += time.Duration(seen.Load() - start.Load())
		firstAPI += time.Duration(seenAPI.Load() - start.Load())
		if err := r.stop(); err != nil {
			b.Fatal(err)
		}
		proxy.Close()
	}
	b.ReportMetric(first.Seconds()/float64(b.N), "s_first_call")
	b.ReportMetric(firstAPI.Seconds()/float64(b.N), "s_first_api_call")
}
