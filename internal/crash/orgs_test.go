package crash

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xero-kafka/xero-kafka/internal/oracle"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// The size of TestOrgsUnderChange: organisations, how long the data keeps changing after the
// first sync, and whether the simulator enforces Xero's rate limits (1) or none (0). `make
// bench` runs 50 organisations for a minute under Xero's limits (its orgs-oracle row); the test
// command the short form, without limits, which under Xero's 60 calls a minute would spend most
// of its time waiting for them.
const (
	envOrgsTenants = "XK_ORGS_ORACLE_TENANTS"
	envOrgsSeconds = "XK_ORGS_ORACLE_SECONDS"
	envOrgsLimits  = "XK_ORGS_ORACLE_LIMITS"
)

// OrgsResultPrefix starts the line TestOrgsUnderChange logs with its figures, which the
// benchmark harness reads.
const OrgsResultPrefix = "orgs-oracle:"

// TestOrgsUnderChange runs many small organisations, under Xero's rate limits, through
// `xero-kafka run` as its own process on the real broker, while the simulator changes their
// data across streams (creates, edits, voids, archives, hard deletes, bulk imports). The data
// keeps changing through the first sync and for a while after it; then it stops, every stream
// finishes one more cycle, the process stops cleanly, and every topic, read read_committed,
// must equal the simulator's end state: nothing lost, nothing written twice.
func TestOrgsUnderChange(t *testing.T) {
	tenants := envInt(envOrgsTenants, 5)
	changing := time.Duration(envInt(envOrgsSeconds, 10)) * time.Second
	limits := envInt(envOrgsLimits, 0) == 1
	opts := []xerosim.Option{
		xerosim.Tenants(tenants),
		xerosim.Volume("invoices", 50), xerosim.Volume("journals", 150), xerosim.Volume("contacts", 30),
		xerosim.Volume("payments", 20), xerosim.Volume("bank_transactions", 20),
	}
	if !limits {
		opts = append(opts, xerosim.NoLimits())
	}
	h := newHarness(t, seed(), opts...)
	begin := time.Now()
	stopMutations := h.mutate(seed())
	defer stopMutations()
	r := h.start()
	if !h.waitFor(r, "caught up while the data changes", settledSince(begin)) {
		t.Fatalf("the connector ended during the first sync; log %s:\n%s", r.logPath, tail(r.logPath, 40))
	}
	firstSync := time.Since(begin)
	time.Sleep(changing)
	stopMutations()

	since := time.Now()
	if !h.waitFor(r, "settled after the last change", settledSince(since)) {
		t.Fatalf("the connector ended before it settled; log %s:\n%s", r.logPath, tail(r.logPath, 40))
	}
	if err := h.stop(r); err != nil {
		t.Errorf("the connector stopped with %v, want a clean exit", err)
	}
	h.checkNoPanic()

	res := oracle.CheckEndState(t, oracle.Target{Kafka: h.kafka, RegistryURL: h.registryURL, TopicPrefix: h.prefix, Sim: h.sim})
	st := h.sim.Stats()
	if n := st.RateLimited["minute"] + st.RateLimited["appminute"] + st.RateLimited["concurrent"] + st.RateLimited["day"]; n > 0 {
		t.Errorf("the simulator refused %d calls for a rate limit: %v", n, st.RateLimited)
	}
	result := "equal to Xero"
	if t.Failed() {
		result = "FAILED"
	}
	var refused []string
	for k, v := range st.RateLimited {
		refused = append(refused, fmt.Sprintf("%s %d", k, v))
	}
	limitsSaid := "no rate limits"
	if limits {
		limitsSaid = "Xero's rate limits"
	}
	t.Logf("%s organisations %d (%s), records %d read (read_committed), %d compared field by field, %d written twice, changes %d (%s of changes after a first sync of %s), 429s [%s]: %s",
		OrgsResultPrefix, tenants, limitsSaid, res.Records, res.Compared, res.Duplicates, st.Mutations, changing, firstSync.Round(time.Second),
		strings.Join(refused, ", "), result)
}
