package connector_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// TestReadyAfterReplay: the connector is not ready before it has replayed the state topic, is
// ready once it has (with Kafka and the registry answering), and is not ready after Run
// returns. Its metrics then show the streams it synced.
func TestReadyAfterReplay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.cfg
	cfg.Streams = []string{"currencies", "tax_rates"}
	reg := prometheus.NewRegistry()
	c, err := connector.New(cfg, connector.Deps{
		Kafka:    []kgo.Opt{kgo.SeedBrokers(h.kafka.Brokers...)},
		Registry: testenv.RegistryClient(t, h.registryURL),
		Sealer:   h.sealer,
		Logger:   slog.New(slog.NewTextHandler(h.logs, nil)),
		Metrics:  reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(t.Context()); err == nil || !strings.Contains(err.Error(), "not replayed") {
		t.Fatalf("before Run: Ready = %v, want the state not replayed", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	deadline := time.Now().Add(settleLimit)
	for c.Ready(t.Context()) != nil || !c.Status().CaughtUp {
		if time.Now().After(deadline) {
			t.Fatalf("not ready and caught up within %v: %v", settleLimit, c.Ready(t.Context()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	n, err := testutil.GatherAndCount(reg, "xero_kafka_stream_lag_seconds", "xero_kafka_records_in_flight", "xero_kafka_commit_seconds")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2+1+1 { // lag of the two streams, records in flight, commit latency
		t.Errorf("%d samples of lag, records in flight and commit latency, want 4", n)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	done <- nil
	if err := c.Ready(t.Context()); err == nil {
		t.Error("ready after Run returned")
	}
}
