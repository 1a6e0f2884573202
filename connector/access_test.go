package connector_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/internal/testenv"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// startWithMetrics runs a connector with cfg and a metrics registry until stop is called.
func (h *harness) startWithMetrics(cfg connector.Config, reg prometheus.Registerer) *running {
	h.t.Helper()
	c, err := connector.New(cfg, connector.Deps{
		Kafka:    []kgo.Opt{kgo.SeedBrokers(h.kafka.Brokers...)},
		Registry: testenv.RegistryClient(h.t, h.registryURL),
		Sealer:   h.sealer,
		Logger:   slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Metrics:  reg,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Connector: c, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = c.Run(ctx)
		close(r.done)
	}()
	h.t.Cleanup(func() { _ = r.stop() })
	return r
}

// waitEnded waits for Run to return by itself and returns its error.
func (h *harness) waitEnded(r *running) error {
	h.t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(settleLimit):
		h.t.Fatalf("the connector did not stop within %v", settleLimit)
		return nil
	}
}

// TestCustomConnection: with the client_credentials grant and no refresh token, the connector
// syncs the single organisation of the custom connection to the end state.
func TestCustomConnection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, xerosim.Seed(21), xerosim.NoLimits(), xerosim.Volume("invoices", 300), xerosim.Volume("contacts", 50))
	h.cfg.Grant = connector.GrantClientCredentials
	h.cfg.RefreshToken = ""
	h.cfg.Streams = []string{"invoices", "contacts", "currencies"}
	since := time.Now()
	r := h.start(h.cfg)
	h.waitSettled(r, since)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	h.checkEndState()
	if st := h.sim.Stats(); st.TokenRefreshes != 0 {
		t.Errorf("%d refresh-token grants; a custom connection needs none", st.TokenRefreshes)
	}
}

// TestNoTokenAnywhere: without XERO_REFRESH_TOKEN and with no chain in the state, the connector
// stops with ErrNoRefreshToken, which says to run 'xero-kafka auth'.
func TestNoTokenAnywhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t, xerosim.Seed(22), xerosim.Fast())
	h.cfg.RefreshToken = ""
	h.cfg.Streams = []string{"currencies"}
	err := h.waitEnded(h.start(h.cfg))
	if !errors.Is(err, connector.ErrNoRefreshToken) || !strings.Contains(err.Error(), "xero-kafka auth") {
		t.Fatalf("Run: %v", err)
	}
}

// TestAccessCheckAtStart: an organisation that refuses /Currencies stops the connector before
// any sync, with a line naming the organisation, the scope and what to do.
func TestAccessCheckAtStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, xerosim.Seed(23), xerosim.Fast(), xerosim.RefuseScopes("accounting.settings.read"))
	h.cfg.Streams = []string{"invoices", "contacts"}
	err := h.waitEnded(h.start(h.cfg))
	if err == nil {
		t.Fatal("Run returned nil")
	}
	for _, want := range []string{h.sim.Tenants()[0], "accounting.settings.read", "/Currencies", "xero-kafka auth"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %q: %v", want, err)
		}
	}
	if n := total(h.sim.Stats().Calls["GET /api.xro/2.0/Invoices"]); n != 0 {
		t.Errorf("%d calls to /Invoices after the check failed", n)
	}
}

// TestMissingScopeOneStream: a stream whose scope is missing is marked in /status and
// /metrics with that scope and logged once, while the other streams sync to the end state.
func TestMissingScopeOneStream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, xerosim.Seed(24), xerosim.NoLimits(), xerosim.Volume("invoices", 200), xerosim.Volume("journals", 100),
		xerosim.RefuseScopes("accounting.journals.read"))
	h.cfg.Streams = []string{"invoices", "journals", "contacts"}
	reg := prometheus.NewRegistry()
	since := time.Now()
	r := h.startWithMetrics(h.cfg, reg)

	h.waitFor(r, "journals marked refused for accounting.journals.read, the other two streams synced", func() bool {
		var refused, synced int
		for _, tn := range r.Status().Tenants {
			for _, s := range tn.Streams {
				switch {
				case s.Stream == "journals" && s.MissingScope == "accounting.journals.read" && strings.Contains(s.Warning, "accounting.journals.read"):
					refused++
				case s.Stream != "journals" && s.CaughtUpAt != nil && s.CaughtUpAt.After(since):
					synced++
				}
			}
		}
		return refused == 1 && synced == 2
	})
	// Without per-organisation series the gauge counts the organisations refused.
	if v := gauge(t, reg, "xero_kafka_streams_refused", map[string]string{"stream": "journals", "scope": "accounting.journals.read"}); v != 1 {
		t.Errorf("xero_kafka_streams_refused = %v, want 1", v)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(h.logs.tail(1<<20), "Xero refused /Journals"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once", n)
	}
	h.cfg.Streams = []string{"invoices", "contacts"}
	h.checkEndState()
}

// gauge returns the value of the gauge name with the given labels, failing if absent.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metric
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}
