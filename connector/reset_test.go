package connector_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// TestResetWhileRunning: a reset committed to the state topic by another producer (as `xero-kafka
// state reset` does) is applied by the running instance without a restart and without fencing it:
// the stream is read again from the start (a keyset, an offset and a scanned stream), the other
// streams are not, and the end state still equals Xero.
func TestResetWhileRunning(t *testing.T) {
	t.Parallel()
	h := newHarness(t, xerosim.Seed(21), xerosim.Tenants(1), xerosim.Fast(), xerosim.NoLimits(),
		xerosim.Volume("invoices", 300), xerosim.Volume("journals", 150))
	h.cfg.Streams = []string{"invoices", "journals", "tax_rates", "contacts"}
	h.reread = map[string]bool{"invoices": true, "journals": true, "tax_rates": true}
	r := h.start(h.cfg)
	h.waitSettled(r, time.Now())
	tenant := h.sim.Tenants()[0]
	before := written(r.Status(), tenant)

	admin, err := kgo.NewClient(kgo.SeedBrokers(h.kafka.Brokers...), kgo.TransactionalID(h.cfg.TransactionalID+"-admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var recs []*kgo.Record
	for _, stream := range []string{"invoices", "journals", "tax_rates"} {
		rs, err := offsets.NewReset(tenant, stream, time.Time{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		rec, err := rs.Record(h.cfg.StateTopic)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if err := offsets.Commit(t.Context(), admin, recs...); err != nil {
		t.Fatalf("commit the resets: %v", err)
	}

	// Every record of the reset streams is written again, by the same instance.
	want := map[string]int{}
	for _, stream := range []string{"invoices", "journals", "tax_rates"} {
		truth, err := h.sim.Truth(tenant, stream)
		if err != nil {
			t.Fatal(err)
		}
		want[stream] = len(truth)
	}
	h.waitFor(r, fmt.Sprintf("the reset streams read again: want %v more records than %v", want, before), func() bool {
		now := written(r.Status(), tenant)
		for stream, n := range want {
			if now[stream]-before[stream] < int64(n) {
				return false
			}
		}
		return true
	})
	h.waitSettled(r, time.Now())
	after := written(r.Status(), tenant)
	if after["contacts"] != before["contacts"] {
		t.Errorf("contacts, not reset, wrote %d records after the reset", after["contacts"]-before["contacts"])
	}
	if err := r.stop(); err != nil {
		t.Fatalf("the instance that applied the reset: %v", err)
	}
	h.checkEndState()

	// Applied resets are done: the next start reads nothing again.
	st := loadState(t, h)
	if pending := st.Resets(); len(pending) != 0 {
		t.Errorf("resets still pending after they were applied: %+v", pending)
	}
}

// written returns the records written per stream of tenant since the start.
func written(st connector.Status, tenant string) map[string]int64 {
	out := map[string]int64{}
	for _, tn := range st.Tenants {
		if tn.TenantID != tenant {
			continue
		}
		for _, s := range tn.Streams {
			out[s.Stream] = s.RecordsWritten
		}
	}
	return out
}

// loadState reads the harness's state topic without writing to it.
func loadState(t *testing.T, h *harness) *offsets.State {
	t.Helper()
	st, err := offsets.Inspect(t.Context(), []kgo.Opt{kgo.SeedBrokers(h.kafka.Brokers...)}, h.cfg.StateTopic, h.sealer)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestNewTokenReplacesUnreadableToken: a stored token that the state key cannot open stops a
// start that gives the token that seeded its chain, naming what to do; a start that gives a new
// refresh token goes on, and its chain replaces the unreadable token.
func TestNewTokenReplacesUnreadableToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, xerosim.Seed(8), xerosim.Tenants(1), xerosim.Fast(), xerosim.NoLimits())
	h.cfg.Streams = []string{"tax_rates", "currencies"}
	r := h.start(h.cfg)
	h.waitSettled(r, time.Now())
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	other, err := offsets.NewAESGCM([]byte("another state key, 32 bytes long"))
	if err != nil {
		t.Fatal(err)
	}
	h.sealer = other
	r = h.start(h.cfg) // the seed of the stored chain, used up
	select {
	case <-r.done:
	case <-time.After(settleLimit):
		t.Fatal("the start with an unreadable token and the used-up seed did not stop")
	}
	if r.err == nil || !strings.Contains(r.err.Error(), "XERO_REFRESH_TOKEN") || !errors.Is(r.err, offsets.ErrKeyMismatch) {
		t.Fatalf("start error %v: want ErrKeyMismatch, naming what to give", r.err)
	}
	if n := strings.Count(r.err.Error(), "load state from"); n != 1 {
		t.Errorf("start error %q says %q %d times, want once", r.err, "load state from", n)
	}
	if strings.Contains(r.err.Error(), h.cfg.RefreshToken) {
		t.Fatalf("the error shows the refresh token: %v", r.err)
	}

	cfg := h.cfg
	cfg.RefreshToken = h.sim.RefreshToken() // a token the operator got anew from Xero
	r = h.start(cfg)
	h.waitSettled(r, time.Now())
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	tok, ok := loadState(t, h).Token()
	if !ok || tok.SeedHash != offsets.HashSeed(cfg.RefreshToken) {
		t.Fatalf("after the new start the state holds token %v (readable %t), want one of the chain seeded by the new token", tok, ok)
	}
	h.checkEndState()
}
