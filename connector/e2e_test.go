package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/internal/avrocheck"
	"github.com/xero-kafka/xero-kafka/internal/oracle"
	"github.com/xero-kafka/xero-kafka/internal/testenv"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// settleLimit bounds every wait for the connector to catch up: a limit on a condition, not a
// timing assertion. It is generous: on a loaded 2-core machine under the race detector, the
// setup of 26 streams alone has taken minutes.
const settleLimit = 5 * time.Minute

// harness runs connectors against the simulator and the test's Kafka and Schema Registry.
type harness struct {
	t           testing.TB
	kafka       testenv.Cluster
	registryURL string
	sim         *xerosim.Sim
	cfg         connector.Config
	sealer      offsets.Sealer
	logs        *lockedBuffer
	// reread names the streams read again on purpose (a reset): each version may be there twice.
	reread map[string]bool
}

func newHarness(t testing.TB, simOpts ...xerosim.Option) *harness {
	t.Helper()
	kafka := testenv.Kafka(t)
	regURL := testenv.Registry(t)
	sim := xerosim.New(simOpts...)
	t.Cleanup(sim.Close)
	prefix := testenv.Prefix(t)
	sealer, err := offsets.NewAESGCM([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	// The program's defaults (connector.Settings), pointed at the simulator and the test's topics.
	cfg := connector.DefaultConfig()
	cfg.Xero.APIURL, cfg.Xero.IdentityURL = sim.URL(), sim.URL()
	cfg.Xero.ClientID, cfg.Xero.ClientSecret = sim.ClientID(), sim.ClientSecret()
	cfg.Xero.BackoffBase, cfg.Xero.BackoffMax = 10*time.Millisecond, 200*time.Millisecond
	cfg.RefreshToken = sim.RefreshToken()
	cfg.TopicPrefix, cfg.StateTopic, cfg.TransactionalID = prefix, prefix+"._state", prefix+"-connector"
	cfg.TopicReplicationFactor = 1
	cfg.TopicCleanupPolicy = "delete" // keep every version, to tell whether one was written twice
	// Often enough that a stream settles soon after the changes stop, seldom enough that idle
	// polls of the 26 streams do not take the machine.
	cfg.PollInterval, cfg.FullTableInterval = 500*time.Millisecond, time.Second
	h := &harness{
		t: t, kafka: kafka, registryURL: regURL, sim: sim, sealer: sealer, logs: &lockedBuffer{},
		cfg: cfg,
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("connector logs:\n%s", h.logs.tail(60))
		}
	})
	return h
}

// running is a connector started by the harness.
type running struct {
	*connector.Connector
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's error, once done is closed
}

// stop soft-stops the connector and returns Run's error.
func (r *running) stop() error {
	r.cancel()
	<-r.done
	return r.err
}

// start runs a connector until it is stopped (or the test ends).
func (h *harness) start(cfg connector.Config) *running {
	h.t.Helper()
	return h.startWith(cfg, nil)
}

// startWith is start, with prepare called on the connector before it runs.
func (h *harness) startWith(cfg connector.Config, prepare func(*connector.Connector)) *running {
	h.t.Helper()
	c, err := connector.New(cfg, connector.Deps{
		Kafka:    []kgo.Opt{kgo.SeedBrokers(h.kafka.Brokers...)},
		Registry: testenv.RegistryClient(h.t, h.registryURL),
		Sealer:   h.sealer,
		Logger:   slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if prepare != nil {
		prepare(c)
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

// waitSettled waits until every stream has finished, without error, a cycle that began after
// since: everything the simulator held at since is then written.
func (h *harness) waitSettled(c *running, since time.Time) {
	h.t.Helper()
	begun := time.Now()
	deadline := begun.Add(settleLimit)
	for time.Now().Before(deadline) {
		if settled(c.Status(), since) {
			h.t.Logf("settled after %v", time.Since(begun).Round(time.Millisecond)) // where a slow test spends its time
			return
		}
		h.checkRunning(c, since)
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("the connector did not settle within %v\n%s", settleLimit, h.report(c, since))
}

// checkRunning fails the test at once if c's Run has returned: waiting on would only hide why.
func (h *harness) checkRunning(c *running, since time.Time) {
	h.t.Helper()
	select {
	case <-c.done:
		h.t.Fatalf("the connector stopped by itself: %v\n%s", c.err, h.report(c, since))
	default:
	}
}

// waitWritten waits until c has committed at least one record.
func (h *harness) waitWritten(c *running) {
	h.t.Helper()
	since := time.Now()
	deadline := since.Add(settleLimit)
	for time.Now().Before(deadline) {
		for _, t := range c.Status().Tenants {
			for _, s := range t.Streams {
				if s.RecordsWritten > 0 {
					h.t.Logf("first records written after %v", time.Since(since).Round(time.Millisecond))
					return
				}
			}
		}
		h.checkRunning(c, since)
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("the connector wrote nothing within %v\n%s", settleLimit, h.report(c, since))
}

// waitFor polls cond until it holds, failing the test with what every poller of c was doing if
// it does not within settleLimit or if c stops by itself. what names the condition.
func (h *harness) waitFor(c *running, what string, cond func() bool) {
	h.t.Helper()
	since := time.Now()
	deadline := since.Add(settleLimit)
	for !cond() {
		h.checkRunning(c, since)
		if time.Now().After(deadline) {
			h.t.Fatalf("not within %v: %s\n%s", settleLimit, what, h.report(c, since))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logLinesPerStream is how many of its last log lines a failed wait shows per stream.
const logLinesPerStream = 8

// logAttr finds a stream's or tenant's attribute in a text log line.
var (
	logTenant = regexp.MustCompile(`(?:^| )tenant=(\S+)`)
	logStream = regexp.MustCompile(`(?:^| )stream=(\S+)`)
)

// report says what every poller of c was doing, so that a failed wait explains itself: each
// stream's status as /status shows it (marked when it has not finished a cycle begun after
// since) with its last log lines, then the connector's last lines of its own and the
// goroutines' stacks.
func (h *harness) report(c *running, since time.Time) string {
	lines := strings.Split(strings.TrimRight(h.logs.tail(1<<30), "\n"), "\n")
	perStream := map[string][]string{}
	var own []string
	for _, l := range lines {
		if l == "" {
			continue
		}
		tm, sm := logTenant.FindStringSubmatch(l), logStream.FindStringSubmatch(l)
		if tm == nil || sm == nil {
			own = append(own, l)
			continue
		}
		k := tm[1] + "/" + sm[1]
		perStream[k] = append(perStream[k], l)
	}
	last := func(ls []string, n int) []string { return ls[max(0, len(ls)-n):] }

	var b strings.Builder
	st := c.Status()
	fmt.Fprintf(&b, "status at %s (caught up: %t; wait began %s):\n", time.Now().UTC().Format(time.RFC3339Nano), st.CaughtUp, since.UTC().Format(time.RFC3339Nano))
	if len(st.Tenants) == 0 {
		b.WriteString("  no stream yet: the connector is still setting up\n")
	}
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			mark := "settled"
			if !caughtUpSince(s, since) {
				mark = "NOT SETTLED"
			}
			j, _ := json.Marshal(s)
			fmt.Fprintf(&b, "  %s/%s [%s]: %s\n", t.TenantID, s.Stream, mark, j)
			for _, l := range last(perStream[t.TenantID+"/"+s.Stream], logLinesPerStream) {
				fmt.Fprintf(&b, "      | %s\n", l)
			}
		}
	}
	b.WriteString("connector's own last log lines:\n")
	for _, l := range last(own, 3*logLinesPerStream) {
		fmt.Fprintf(&b, "  | %s\n", l)
	}
	b.WriteString("goroutines:\n")
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	return b.String()
}

// settled reports whether every stream has finished, without error, a cycle begun after since.
// (A stream may be in its next cycle already: polls follow each other closely in the tests.)
func settled(st connector.Status, since time.Time) bool {
	if len(st.Tenants) == 0 {
		return false
	}
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			if !caughtUpSince(s, since) {
				return false
			}
		}
	}
	return true
}

func caughtUpSince(s connector.StreamStatus, since time.Time) bool {
	return s.CaughtUpAt != nil && s.CaughtUpAt.After(since)
}

// streams returns the streams the harness's connectors read.
func (h *harness) streams() []streams.Stream {
	if len(h.cfg.Streams) == 0 {
		return streams.All()
	}
	var out []streams.Stream
	for _, name := range h.cfg.Streams {
		s, _ := streams.ByName(name)
		out = append(out, s)
	}
	return out
}

// checkEndState is the correctness oracle (internal/oracle): for every tenant and stream, the
// last value per key of the topic equals the simulator's current records, field by field; and
// no record version was written twice.
func (h *harness) checkEndState() {
	h.t.Helper()
	res := oracle.CheckEndState(h.t, oracle.Target{
		Kafka: h.kafka, RegistryURL: h.registryURL, TopicPrefix: h.cfg.TopicPrefix, Streams: h.streams(), Sim: h.sim,
		Reread: h.reread,
	})
	h.t.Logf("end state: %d records equal Xero's, field by field", res.Compared)
}

// mutator changes the simulator's data until stopped: single edits of every kind, and a few
// bulk imports larger than a page, on invoices (pages of 1000) and quotes (pages of 100).
func mutator(sim *xerosim.Sim, seed uint64) (stop func()) { return changes(sim, seed, bulkImports) }

// bulkImports is how many bulk imports mutator makes at most, one every 1.5 s: enough to land
// within a sync, not so many that the data grows with the test's duration (a slow machine would
// otherwise have ever more to read).
const bulkImports = 3

// changes is mutator, with at most bulk bulk imports.
func changes(sim *xerosim.Sim, seed uint64, bulk int) (stop func()) {
	rng := rand.New(rand.NewPCG(seed, 1))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			sim.Mutate(1 + rng.IntN(3))
			if n%150 == 75 && n/150 < bulk {
				tenant := sim.Tenants()[rng.IntN(len(sim.Tenants()))]
				sim.Burst(tenant, "invoices", 1100+rng.IntN(400))
				sim.Burst(tenant, "quotes", 120+rng.IntN(80))
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}

// accessTokenLife is how long the simulator's access tokens live, in its time: advancing it by
// more makes the connector's token expire at once.
const accessTokenLife = 30 * time.Minute

// TestEndToEnd is the oracle of the pipeline: two organisations, all 26 streams, the simulator
// changing data all along (with bulk imports larger than a page), faults on Xero's side, access
// tokens expiring mid-run, the connector stopped mid-sync several times and the broker restarted
// once; after the changes stop and the connector catches up, every topic equals Xero, field by
// field, and no record version was written twice.
func TestEndToEnd(t *testing.T) {
	// On the real broker, the restart waits until no other test uses the broker: this test
	// then runs alone, before the parallel ones start, rather than hold its connector waiting
	// for all of them. kfake clusters are the test's own.
	if !testenv.Real() {
		t.Parallel()
	}
	h := newHarness(t,
		xerosim.Seed(11), xerosim.Tenants(2), xerosim.NoLimits(),
		// Each stream read in several calls: invoices in pages of 1000, quotes of 100,
		// journals 100 a call.
		xerosim.Volume("invoices", 1200), xerosim.Volume("journals", 250), xerosim.Volume("quotes", 150),
		xerosim.WithFaults(xerosim.Faults{Status500: 0.01, Status503: 0.01, Truncated: 0.01, Malformed: 0.005, Drop: 0.005}),
		xerosim.AsRecorded(0.3), // a share of records in the shapes recorded from Xero's API
	)
	rng := rand.New(rand.NewPCG(3, 4))
	stopMutations := mutator(h.sim, 5)
	defer stopMutations()
	// Three runs stopped mid-sync: the second while the broker restarts, the third right after
	// (it replays a state written before the restart).
	const stopped = 3
	for i := range stopped {
		r := h.start(h.cfg)
		// Stop it mid-sync: after it has committed something (on a loaded machine the setup
		// alone may take longer than the pause), and at a random point after that.
		h.waitWritten(r)
		// The access token expires now, in the simulator's time: the next calls are refused
		// with TokenExpired and the connector rotates the refresh token mid-run. (The test
		// moves the simulator's clock rather than running it fast, so that a slow machine
		// cannot outlast the grace period of a refresh token whose save a stop interrupted.)
		h.sim.Advance(accessTokenLife + time.Minute)
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		if i == 1 && os.Getenv("XK_SKIP_RESTART") == "" {
			h.kafka.Restart(t)
			time.Sleep(500 * time.Millisecond)
		}
		if err := r.stop(); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	r := h.start(h.cfg)
	// Its token expires too, after its first commit: the cycles it needs to settle cannot
	// run without a refresh.
	h.waitWritten(r)
	h.sim.Advance(accessTokenLife + time.Minute)
	// XK_E2E_MUTATE_SECONDS lengthens the last run under change, to stress the sync.
	time.Sleep(time.Duration(envInt("XK_E2E_MUTATE_SECONDS", 1)) * time.Second)
	stopMutations()
	h.waitSettled(r, time.Now())
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	h.checkEndState()
	st := h.sim.Stats()
	// Every run starts with a refresh, and the last one refreshes again after its token
	// expired (the others may be stopped before their next call).
	if runs := stopped + 1; st.TokenRefreshes < runs+1 || st.TokenRefreshFailures > 0 {
		t.Errorf("token refreshes %d, refused %d: want one per run (%d) and one more after the last run's token expired, none refused",
			st.TokenRefreshes, st.TokenRefreshFailures, runs)
	}
	t.Logf("simulator: %d mutations, %d token refreshes, faults %v", st.Mutations, st.TokenRefreshes, st.Faults)
}

// TestBackfillThenResume: after a first full sync of two organisations and all 26 streams, an
// independent consumer (Python: librdkafka and fastavro, see interop/decode.py) reads every
// topic with read_committed, decodes keys and values through the Schema Registry, and what it
// reads equals Xero, field by field. A connector restarted then makes one call per stream and
// tenant, and writes nothing.
func TestBackfillThenResume(t *testing.T) {
	t.Parallel()
	// More invoices than a page and journals than a call, so a backfill needs several calls.
	h := newHarness(t, xerosim.Seed(3), xerosim.Tenants(2), xerosim.Fast(), xerosim.Volume("invoices", 1200), xerosim.Volume("journals", 250))
	r := h.start(h.cfg)
	h.waitSettled(r, time.Now())
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	checkInterop(t, h)

	// The calls the resumed connector begins, per path: counted on its side, so that a call
	// the first one began before it stopped cannot be counted as the second one's.
	var calls struct {
		sync.Mutex
		byPath map[string]int
	}
	calls.byPath = map[string]int{}
	cfg := h.cfg
	cfg.Xero.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		calls.Lock()
		calls.byPath[req.Method+" "+req.URL.Path]++
		calls.Unlock()
		return http.DefaultTransport.RoundTrip(req)
	})
	cfg.PollInterval, cfg.FullTableInterval = time.Hour, time.Hour // one cycle per stream
	c := h.start(cfg)
	h.waitSettled(c, time.Now().Add(-time.Hour))
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	written := int64(0)
	for _, tn := range c.Status().Tenants {
		for _, s := range tn.Streams {
			written += s.RecordsWritten
		}
	}
	if written != 0 {
		t.Errorf("the resumed connector wrote %d records, want 0", written)
	}
	calls.Lock()
	for _, s := range streams.All() {
		endpoint := "GET /api.xro/2.0" + s.Path
		want := 2 // one per tenant
		if s.Path == "/Currencies" {
			want = 4 // and the access check of each tenant at start
		}
		if n := calls.byPath[endpoint]; n != want {
			t.Errorf("%s: %d calls after the restart, want %d", endpoint, n, want)
		}
	}
	calls.Unlock()
	h.checkEndState()
}

func total(byStatus map[int]int) int {
	n := 0
	for _, c := range byStatus {
		n += c
	}
	return n
}

// TestFencedInstanceStops: a second instance with the same transactional id takes over; the
// first stops with ErrFenced and calls Xero no more.
func TestFencedInstanceStops(t *testing.T) {
	t.Parallel()
	// Two simulators of the same organisation, each with its own token chain: the first
	// instance reads one, the second the other, so their Xero calls can be told apart.
	// Fewer journals than the simulator's 1500: the volume proves nothing about fencing.
	h := newHarness(t, xerosim.Seed(5), xerosim.Tenants(1), xerosim.Fast(), xerosim.Volume("journals", 150), xerosim.InitialRefreshToken("second-instance-seed"))
	first := xerosim.New(xerosim.Seed(5), xerosim.Tenants(1), xerosim.Fast(), xerosim.Volume("journals", 150), xerosim.InitialRefreshToken("first-instance-seed"))
	t.Cleanup(first.Close)
	cfgA := h.cfg
	cfgA.Xero.APIURL, cfgA.Xero.IdentityURL = first.URL(), first.URL()
	cfgA.Xero.ClientID, cfgA.Xero.ClientSecret, cfgA.RefreshToken = first.ClientID(), first.ClientSecret(), first.RefreshToken()
	cfgA.Tenants = first.Tenants()
	// When each call of the first instance begins, seen from its side: a call begun before the
	// stop may reach the simulator after it (net/http writes requests from its own goroutine),
	// but none may begin after Run has returned.
	var begun struct {
		sync.Mutex
		times []time.Time
	}
	cfgA.Xero.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		begun.Lock()
		begun.times = append(begun.times, time.Now())
		begun.Unlock()
		return http.DefaultTransport.RoundTrip(req)
	})
	a := h.start(cfgA)
	h.waitSettled(a, time.Now())

	b := h.start(h.cfg)
	select {
	case <-a.done:
		if !errors.Is(a.err, connector.ErrFenced) {
			t.Fatalf("first instance stopped with %v, want ErrFenced", a.err)
		}
	case <-time.After(settleLimit):
		t.Fatalf("the first instance was not fenced within %v\n%s", settleLimit, h.report(a, time.Now()))
	}
	stopped := time.Now()
	h.waitSettled(b, time.Now())
	begun.Lock()
	defer begun.Unlock()
	if len(begun.times) == 0 {
		t.Fatal("no call of the first instance went through its transport")
	}
	for _, at := range begun.times {
		if at.After(stopped) {
			t.Errorf("the fenced instance began a call to Xero at %v, after it stopped at %v", at, stopped)
		}
	}
}

// lockedBuffer collects logs from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) tail(lines int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	all := strings.Split(strings.TrimRight(string(b.buf), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// checkInterop checks the topics of every stream of h the way an independent consumer reads
// them (Python: librdkafka and fastavro, see interop/decode.py): with read_committed, keys and
// values decoded through the Schema Registry, what it reads equals Xero, field by field.
func checkInterop(t *testing.T, h *harness) {
	t.Helper()
	var topics []string
	for _, s := range streams.All() {
		topics = append(topics, h.cfg.TopicPrefix+"."+s.Name)
	}
	records := testenv.DecodeWithPython(t, h.kafka.Brokers, h.registryURL, topics...)

	type key struct{ stream, tenant, id string }
	got := map[key]json.RawMessage{}
	for _, d := range records {
		stream := strings.TrimPrefix(d.Topic, h.cfg.TopicPrefix+".")
		s, _ := streams.ByName(stream)
		var k map[string]any
		if err := json.Unmarshal(d.Key, &k); err != nil {
			t.Fatalf("%s: key %s: %v", d.Topic, d.Key, err)
		}
		got[key{stream, fmt.Sprint(k["TenantID"]), fmt.Sprint(k[s.PrimaryKey])}] = d.Value
	}
	compared := 0
	for _, s := range streams.All() {
		codec, err := avro.NewCodec(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		schema, err := hamba.Parse(codec.ValueSchema())
		if err != nil {
			t.Fatal(err)
		}
		for _, tenant := range h.sim.Tenants() {
			truth, err := h.sim.Truth(tenant, s.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range truth {
				j, err := avrocheck.ParseJSON(raw)
				if err != nil {
					t.Fatal(err)
				}
				id := fmt.Sprint(j.(map[string]any)[s.PrimaryKey])
				value, ok := got[key{s.Name, tenant, id}]
				if !ok || string(value) == "null" {
					t.Errorf("%s %s/%s: not read by the independent consumer", s.Name, tenant, id)
					continue
				}
				pv, err := avrocheck.ParseJSON(value)
				if err != nil {
					t.Fatal(err)
				}
				a, err := avrocheck.FromInterop(schema, pv)
				if err != nil {
					t.Fatalf("%s %s/%s: %v", s.Name, tenant, id, err)
				}
				if diffs := avrocheck.Compare(schema, j, a, avrocheck.Meta{TenantID: tenant}); len(diffs) > 0 {
					t.Errorf("%s %s/%s as Python read it differs from Xero:\n  %s", s.Name, tenant, id, strings.Join(diffs[:min(5, len(diffs))], "\n  "))
				}
				compared++
			}
		}
	}
	if compared == 0 {
		t.Fatal("nothing compared")
	}
	t.Logf("the independent consumer read %d records; %d equal Xero's, field by field", len(records), compared)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// TestStartBeforeKafka: a connector started while its broker is out of reach keeps trying, and
// syncs once the broker is there.
func TestStartBeforeKafka(t *testing.T) {
	if testenv.Real() {
		t.Skip("needs a broker of its own that starts late; runs on kfake")
	}
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	h := newHarness(t, xerosim.Seed(2), xerosim.Tenants(1), xerosim.Fast())
	h.cfg.Streams = []string{"invoices", "currencies"}
	h.kafka = testenv.Cluster{Brokers: []string{fmt.Sprintf("127.0.0.1:%d", port)}}
	r := h.start(h.cfg)
	time.Sleep(1500 * time.Millisecond) // the first attempts fail: nothing listens yet
	select {
	case <-r.done:
		t.Fatalf("the connector gave up while Kafka was away: %v", r.err)
	default:
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	h.waitSettled(r, time.Now())
	if !strings.Contains(h.logs.tail(200), "setup failed; trying again") {
		t.Error("no retry was logged")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// lossyCommits is a transactional producer whose commits sometimes end without an answer: the
// commit either reached the broker and was applied (answerLost) or never left (notSent). Either
// way the writer sees only an error that says nothing of the outcome.
type lossyCommits struct {
	connector.TxnProducer
	mu                  sync.Mutex
	rng                 *rand.Rand
	on                  bool
	answerLost, notSent int
}

var errConnectionCut = errors.New("broker closed the connection")

func (l *lossyCommits) EndTransaction(ctx context.Context, try kgo.TransactionEndTry) error {
	l.mu.Lock()
	roll, on := l.rng.IntN(10), l.on
	l.mu.Unlock()
	if try != kgo.TryCommit || !on || roll >= 3 {
		return l.TxnProducer.EndTransaction(ctx, try)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if roll == 0 {
		l.notSent++
		return fmt.Errorf("end transaction: %w", errConnectionCut)
	}
	if err := l.TxnProducer.EndTransaction(ctx, try); err != nil {
		return err
	}
	l.answerLost++
	return fmt.Errorf("end transaction: %w", errConnectionCut)
}

func (l *lossyCommits) set(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = on
}

// TestCommitAnswerLost: when the answer to a commit is lost, the connector cannot tell whether
// the transaction landed. It must neither write the pages again (a duplicate, if it landed) nor
// move on (a loss, if it did not): it reloads the state and resumes from what was committed.
func TestCommitAnswerLost(t *testing.T) {
	t.Parallel()
	h := newHarness(t, xerosim.Seed(21), xerosim.Tenants(2), xerosim.NoLimits(),
		xerosim.Volume("invoices", 1100), xerosim.Volume("journals", 250), xerosim.Volume("contacts", 300))
	h.cfg.Streams = []string{"invoices", "journals", "contacts", "payments", "currencies", "items"}
	stopMutations := changes(h.sim, 23, 0)
	defer stopMutations()

	lossy := &lossyCommits{rng: rand.New(rand.NewPCG(21, 22)), on: true}
	r := h.startWith(h.cfg, func(c *connector.Connector) {
		c.WrapProducer(func(p connector.TxnProducer) connector.TxnProducer {
			lossy.mu.Lock()
			defer lossy.mu.Unlock()
			lossy.TxnProducer = p
			return lossy
		})
	})
	// Let commits fail for a while, under change.
	h.waitFor(r, "6 commits whose answer was lost", func() bool {
		lossy.mu.Lock()
		defer lossy.mu.Unlock()
		return lossy.answerLost+lossy.notSent >= 6
	})
	lossy.set(false)
	stopMutations()
	h.waitSettled(r, time.Now())
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	h.checkEndState()
	t.Logf("commits whose answer was lost: %d applied, %d not sent", lossy.answerLost, lossy.notSent)
	if lossy.answerLost == 0 {
		t.Error("no applied commit lost its answer: the test proved nothing")
	}
	if !strings.Contains(h.logs.tail(100000), "reloading the state") {
		t.Error("the connector never reloaded its state")
	}
}

// TestEndToEndCoarseModifiedSince: against a server that reads If-Modified-Since at day
// precision, or ignores it, streams of several pages sync under change to the simulator's truth
// with no record version written twice, and a caught-up cycle costs a bounded number of calls.
func TestEndToEndCoarseModifiedSince(t *testing.T) {
	if testenv.Real() {
		t.Skip("what is tested is the server's answers; runs with the tests on the in-process fakes")
	}
	t.Parallel()
	for _, mode := range []xerosim.IMSMode{xerosim.IMSDay, xerosim.IMSIgnored} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, xerosim.Seed(31), xerosim.Tenants(1), xerosim.NoLimits(), xerosim.ModifiedSince(mode),
				xerosim.Volume("invoices", 1500), xerosim.Volume("contacts", 1100), xerosim.Volume("quotes", 250))
			h.cfg.Streams = []string{"invoices", "contacts", "quotes", "payments"}
			// Each cycle reads most of the list again: leave moments when every stream is
			// idle, so that waitSettled can see them.
			h.cfg.PollInterval = time.Second
			stopMutations := mutator(h.sim, 37)
			r := h.start(h.cfg)
			h.waitWritten(r)
			time.Sleep(time.Second)
			stopMutations()
			h.waitSettled(r, time.Now())
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
			h.checkEndState()

			// One more cycle per stream, with nothing new: it reads each page about once.
			before := h.sim.Stats()
			cfg := h.cfg
			cfg.PollInterval, cfg.FullTableInterval = time.Hour, time.Hour
			c := h.start(cfg)
			h.waitSettled(c, time.Now().Add(-time.Hour))
			if err := c.stop(); err != nil {
				t.Fatal(err)
			}
			after := h.sim.Stats()
			for _, st := range c.Status().Tenants[0].Streams {
				if st.RecordsWritten != 0 {
					t.Errorf("%s: a cycle with nothing new wrote %d records", st.Stream, st.RecordsWritten)
				}
			}
			for _, name := range h.cfg.Streams {
				s, _ := streams.ByName(name)
				size := streams.FixedPageSize
				if s.Paging == streams.PageSize {
					size = streams.MaxPageSize
				}
				truth, err := h.sim.Truth(h.sim.Tenants()[0], name)
				if err != nil {
					t.Fatal(err)
				}
				pages := (len(truth) + size - 1) / size
				calls := total(after.Calls[endpointOf(name)]) - total(before.Calls[endpointOf(name)])
				t.Logf("%s: %d records in %d pages: %d calls in a cycle with nothing new", name, len(truth), pages, calls)
				if calls > pages+2 {
					t.Errorf("%s: %d calls in a cycle with nothing new, for %d pages", name, calls, pages)
				}
			}
		})
	}
}

// failingProduce is a transactional producer whose records are refused while on, as by a broker
// that cannot be reached: every transaction, a rotated refresh token's included, is aborted.
type failingProduce struct {
	connector.TxnProducer
	on *atomic.Bool
}

var errBrokerAway = errors.New("broker out of reach")

func (f failingProduce) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	if !f.on.Load() {
		return f.TxnProducer.ProduceSync(ctx, rs...)
	}
	out := make(kgo.ProduceResults, len(rs))
	for i, r := range rs {
		out[i] = kgo.ProduceResult{Record: r, Err: errBrokerAway}
	}
	return out
}

// TestUnsavedTokenAfterGrace: a refresh token rotated while the broker is away cannot be saved,
// and a stop loses it. A restart within Xero's grace period continues from the token saved
// before, which Xero exchanges again; a restart after it gets Xero's refusal and stops at once,
// saying to authorise the app again, rather than waiting for a token that no call can bring.
// (Time in the simulator is moved on by the test; a simulator running faster than real time
// would let a slow machine outlast the grace period.)
func TestUnsavedTokenAfterGrace(t *testing.T) {
	t.Parallel()
	h := newHarness(t, xerosim.Seed(41), xerosim.Tenants(1), xerosim.Fast())
	h.cfg.Streams = []string{"invoices", "currencies"}
	var away atomic.Bool
	start := func() *running {
		return h.startWith(h.cfg, func(c *connector.Connector) {
			c.WrapProducer(func(p connector.TxnProducer) connector.TxnProducer { return failingProduce{p, &away} })
		})
	}
	// rotateUnsaved makes r's access token expire while the broker is away, waits until the
	// rotated refresh token could not be saved, and stops r.
	rotateUnsaved := func(r *running) {
		t.Helper()
		refreshes := h.sim.Stats().TokenRefreshes
		away.Store(true)
		h.sim.Advance(accessTokenLife + time.Minute)
		h.waitFor(r, "a refresh whose token could not be saved", func() bool {
			return h.sim.Stats().TokenRefreshes > refreshes && strings.Contains(h.logs.tail(1<<20), "could not save the new refresh token")
		})
		if err := r.stop(); err != nil {
			t.Fatalf("stop while the broker is away: %v", err)
		}
		away.Store(false)
	}

	r := start()
	h.waitSettled(r, time.Now())
	rotateUnsaved(r)
	// Within the grace period: the previous token works again.
	r = start()
	h.waitSettled(r, time.Now())
	rotateUnsaved(r)
	// After it: refused, and said so.
	h.sim.Advance(31 * time.Minute)
	r = start()
	err := h.waitEnded(r)
	if !errors.Is(err, xero.ErrUnauthorized) || !strings.Contains(err.Error(), "xero-kafka auth") {
		t.Fatalf("a start from a token past its grace period ended with %v, want Xero's refusal naming 'xero-kafka auth'", err)
	}
	if st := h.sim.Stats(); st.TokenRefreshFailures != 1 {
		t.Errorf("%d refused refreshes, want 1", st.TokenRefreshFailures)
	}
}
