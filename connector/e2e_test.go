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
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
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
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// settleLimit bounds every wait for the connector to catch up: a limit on a condition, not a
// timing assertion.
const settleLimit = 3 * time.Minute

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
	cfg.PollInterval, cfg.FullTableInterval = 100*time.Millisecond, 300*time.Millisecond
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
	deadline := time.Now().Add(settleLimit)
	for time.Now().Before(deadline) {
		if settled(c.Status(), since) {
			return
		}
		h.checkRunning(c)
		time.Sleep(50 * time.Millisecond)
	}
	var stacks strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
	h.t.Fatalf("the connector did not settle within %v; streams not settled:\n%s\ngoroutines:\n%s", settleLimit, unsettled(c.Status(), since), stacks.String())
}

// checkRunning fails the test at once if c's Run has returned: waiting on would only hide why.
func (h *harness) checkRunning(c *running) {
	h.t.Helper()
	select {
	case <-c.done:
		h.t.Fatalf("the connector stopped by itself: %v\nstreams:\n%s", c.err, unsettled(c.Status(), time.Now()))
	default:
	}
}

// waitWritten waits until c has committed at least one record.
func (h *harness) waitWritten(c *running) {
	h.t.Helper()
	deadline := time.Now().Add(settleLimit)
	for time.Now().Before(deadline) {
		for _, t := range c.Status().Tenants {
			for _, s := range t.Streams {
				if s.RecordsWritten > 0 {
					return
				}
			}
		}
		h.checkRunning(c)
		time.Sleep(20 * time.Millisecond)
	}
	var stacks strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
	h.t.Fatalf("the connector wrote nothing within %v; streams:\n%s\ngoroutines:\n%s", settleLimit, unsettled(c.Status(), time.Now()), stacks.String())
}

// unsettled describes the streams that have not finished, without error, a cycle begun after
// since.
func unsettled(st connector.Status, since time.Time) string {
	var b strings.Builder
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			if !caughtUpSince(s, since) {
				j, _ := json.Marshal(s)
				fmt.Fprintf(&b, "  %s: %s\n", t.TenantID, j)
			}
		}
	}
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

// mutator changes the simulator's data until stopped: single edits of every kind, and bulk
// imports larger than a page, on invoices (pages of 1000) and quotes (pages of 100).
func mutator(sim *xerosim.Sim, seed uint64) (stop func()) { return changes(sim, seed, true) }

// changes is mutator, with or without the bulk imports.
func changes(sim *xerosim.Sim, seed uint64, bulk bool) (stop func()) {
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
			if bulk && n%150 == 75 {
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

// TestEndToEnd is the oracle of the pipeline: two organisations, all 26 streams, the simulator
// changing data all along (with bulk imports larger than a page), faults on Xero's side, the
// connector stopped mid-sync several times and the broker restarted once; after the changes
// stop and the connector catches up, every topic equals Xero, field by field.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t,
		xerosim.Seed(11), xerosim.Tenants(2), xerosim.NoLimits(),
		xerosim.Volume("invoices", 2500), xerosim.Volume("journals", 1000), xerosim.Volume("quotes", 250),
		// Access tokens live 60 s and the grace period too: the chain rotates during the
		// test and across restarts. (A run stopped while it saves a rotated token restarts
		// from the previous one, which works within the grace period: it must outlast a broker
		// restart on a loaded machine, 10 to 30 s.)
		xerosim.TimeScale(30),
		xerosim.WithFaults(xerosim.Faults{Status500: 0.01, Status503: 0.01, Truncated: 0.01, Malformed: 0.005, Drop: 0.005}),
		xerosim.AsRecorded(0.3), // a share of records in the shapes recorded from Xero's API
	)
	rng := rand.New(rand.NewPCG(3, 4))
	stopMutations := mutator(h.sim, 5)
	defer stopMutations()
	for i := range 4 {
		r := h.start(h.cfg)
		// Stop it mid-sync: after it has committed something (on a loaded machine the setup
		// alone may take longer than the pause), and at a random point after that.
		h.waitWritten(r)
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		if i == 2 && os.Getenv("XK_SKIP_RESTART") == "" {
			h.kafka.Restart(t)
			time.Sleep(500 * time.Millisecond)
		}
		if err := r.stop(); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	r := h.start(h.cfg)
	// XK_E2E_MUTATE_SECONDS lengthens the last run under change, to stress the sync.
	time.Sleep(time.Duration(envInt("XK_E2E_MUTATE_SECONDS", 1)) * time.Second)
	stopMutations()
	h.waitSettled(r, time.Now())
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	h.checkEndState()
	st := h.sim.Stats()
	// Every run starts with a refresh, and access tokens expire during the longer runs.
	if st.TokenRefreshes < 5 || st.TokenRefreshFailures > 0 {
		t.Errorf("token refreshes %d, refused %d: want at least one per run (5), none refused", st.TokenRefreshes, st.TokenRefreshFailures)
	}
	t.Logf("simulator: %d mutations, %d token refreshes, faults %v", st.Mutations, st.TokenRefreshes, st.Faults)
}

// TestResumeReadsNothingTwice: a connector restarted after a complete sync makes one call per
// stream and tenant, and writes nothing.
func TestResumeReadsNothingTwice(t *testing.T) {
	t.Parallel()
	// More invoices than a page and journals than a call, so a backfill needs several calls.
	h := newHarness(t, xerosim.Seed(3), xerosim.Tenants(2), xerosim.Fast(), xerosim.Volume("invoices", 1200), xerosim.Volume("journals", 250))
	r := h.start(h.cfg)
	h.waitSettled(r, time.Now())
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	before := h.sim.Stats()

	cfg := h.cfg
	cfg.PollInterval, cfg.FullTableInterval = time.Hour, time.Hour // one cycle per stream
	c := h.start(cfg)
	h.waitSettled(c, time.Now().Add(-time.Hour))
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	after := h.sim.Stats()
	written := int64(0)
	for _, tn := range c.Status().Tenants {
		for _, s := range tn.Streams {
			written += s.RecordsWritten
		}
	}
	if written != 0 {
		t.Errorf("the resumed connector wrote %d records, want 0", written)
	}
	for _, s := range streams.All() {
		endpoint := "GET /api.xro/2.0" + s.Path
		calls := total(after.Calls[endpoint]) - total(before.Calls[endpoint])
		want := 2 // one per tenant
		if s.Path == "/Currencies" {
			want = 4 // and the access check of each tenant at start
		}
		if calls != want {
			t.Errorf("%s: %d calls after the restart, want %d", endpoint, calls, want)
		}
	}
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
	h := newHarness(t, xerosim.Seed(5), xerosim.Tenants(1), xerosim.Fast(), xerosim.InitialRefreshToken("second-instance-seed"))
	first := xerosim.New(xerosim.Seed(5), xerosim.Tenants(1), xerosim.Fast(), xerosim.InitialRefreshToken("first-instance-seed"))
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
		t.Fatal("the first instance was not fenced")
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

// TestInteropDecodesEveryTopic: an independent consumer (Python: librdkafka and fastavro, see
// interop/decode.py) reads every topic with read_committed, decodes keys and values through the
// Schema Registry, and what it reads equals Xero, field by field.
func TestInteropDecodesEveryTopic(t *testing.T) {
	t.Parallel()
	h := newHarness(t, xerosim.Seed(9), xerosim.Tenants(2), xerosim.Fast(), xerosim.Volume("journals", 300))
	r := h.start(h.cfg)
	h.waitSettled(r, time.Now())
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
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
		xerosim.Volume("invoices", 1500), xerosim.Volume("journals", 400), xerosim.Volume("contacts", 300))
	h.cfg.Streams = []string{"invoices", "journals", "contacts", "payments", "currencies", "items"}
	stopMutations := changes(h.sim, 23, false)
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
	deadline := time.Now().Add(settleLimit)
	for {
		lossy.mu.Lock()
		n := lossy.answerLost + lossy.notSent
		lossy.mu.Unlock()
		if n >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d commits lost their answer within %v", n, settleLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
