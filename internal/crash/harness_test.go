package crash

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/internal/faultproxy"
	"github.com/xero-kafka/xero-kafka/internal/testenv"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// waitLimit bounds every wait for a process or the broker: a limit on a condition, not a timing
// assertion.
const waitLimit = 3 * time.Minute

// stateKey is the XERO_STATE_KEY of every run: 32 bytes, base64.
var stateKey = base64.StdEncoding.EncodeToString([]byte("crash-harness-state-key-32-bytes"))

// harness runs xero-kafka processes against a simulator and the test's broker behind a proxy.
type harness struct {
	t           *testing.T
	rng         *rand.Rand
	bin         string
	dir         string
	kafka       testenv.Cluster
	registryURL string
	proxy       *faultproxy.Proxy
	sim         *xerosim.Sim
	prefix      string
	seedToken   string
	runs        []*instance
}

// newHarness builds the program and starts the simulator and the proxy.
func newHarness(t *testing.T, seed uint64, simOpts ...xerosim.Option) *harness {
	t.Helper()
	if !testenv.Real() {
		t.Skip("needs the real broker: the harness crashes it with SIGKILL and tests its transactions through a proxy; kfake lives inside the test process")
	}
	h := &harness{
		t:           t,
		rng:         rand.New(rand.NewPCG(seed, 0xc4a5)),
		dir:         t.TempDir(),
		kafka:       testenv.Kafka(t),
		registryURL: testenv.Registry(t),
		prefix:      testenv.Prefix(t),
	}
	h.bin = build(t, h.dir)
	h.sim = xerosim.New(append([]xerosim.Option{xerosim.Seed(int64(seed))}, simOpts...)...)
	t.Cleanup(h.sim.Close)
	h.seedToken = h.sim.RefreshToken()
	p, err := faultproxy.New(seed, nil, h.kafka.Brokers...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	h.proxy = p
	t.Cleanup(func() {
		for _, r := range h.runs {
			r.kill()
		}
		if t.Failed() && len(h.runs) > 0 {
			t.Logf("log of the last run (%s):\n%s", h.runs[len(h.runs)-1].logPath, tail(h.runs[len(h.runs)-1].logPath, 40))
		}
	})
	return h
}

// build compiles cmd/xero-kafka into dir.
func build(t *testing.T, dir string) string {
	t.Helper()
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	bin := filepath.Join(dir, "xero-kafka")
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, "./cmd/xero-kafka")
	cmd.Dir = testenv.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/xero-kafka: %v\n%s", err, out)
	}
	return bin
}

// dropAll sets the proxy's drop rates of the four request kinds whose lost answers matter to a
// transactional producer.
func (h *harness) dropAll(endTxn, produce, initProducerID, addPartitions float64) {
	h.proxy.Drop(kmsg.EndTxn, endTxn)
	h.proxy.Drop(kmsg.Produce, produce)
	h.proxy.Drop(kmsg.InitProducerID, initProducerID)
	h.proxy.Drop(kmsg.AddPartitionsToTxn, addPartitions)
}

// instance is one xero-kafka process.
type instance struct {
	n       int
	cmd     *exec.Cmd
	logPath string
	started time.Time

	mu     sync.Mutex
	id     string // the instance id it logged
	status string // base URL of its status server
	ready  chan struct{}

	exited   chan struct{}
	waitErr  error
	killed   bool
	killedAt time.Time
}

// start runs a new xero-kafka process.
func (h *harness) start() *instance {
	h.t.Helper()
	r := &instance{n: len(h.runs), ready: make(chan struct{}), exited: make(chan struct{}), started: time.Now()}
	r.logPath = filepath.Join(h.dir, fmt.Sprintf("run-%03d.log", r.n))
	logf, err := os.Create(r.logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	r.cmd = exec.Command(h.bin, "run")
	r.cmd.Env = h.env()
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	r.cmd.Stdout = logf
	if err := r.cmd.Start(); err != nil {
		h.t.Fatalf("start xero-kafka: %v", err)
	}
	h.runs = append(h.runs, r)
	go func() {
		defer close(r.exited)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = logf.Write(append(line, '\n'))
			r.observe(line)
		}
		r.waitErr = r.cmd.Wait()
		_ = logf.Close()
	}()
	return r
}

// observe picks the instance id and the status address out of the process's log.
func (r *instance) observe(line []byte) {
	var rec struct {
		Msg      string `json:"msg"`
		Instance string `json:"instance"`
		Addr     string `json:"addr"`
	}
	if json.Unmarshal(line, &rec) != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case rec.Msg == "starting" && rec.Instance != "":
		r.id = rec.Instance
	case strings.HasPrefix(rec.Msg, "serving /status") && rec.Addr != "" && r.status == "":
		r.status = "http://" + rec.Addr
		close(r.ready)
	}
}

func (h *harness) env() []string {
	tenants := strings.Join(h.sim.Tenants(), ",")
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + h.dir,
		"XERO_CLIENT_ID=" + h.sim.ClientID(),
		"XERO_CLIENT_SECRET=" + h.sim.ClientSecret(),
		"XERO_REFRESH_TOKEN=" + h.seedToken,
		"XERO_STATE_KEY=" + stateKey,
		"XERO_TENANT_ID=" + tenants,
		"XERO_API_URL=" + h.sim.URL(),
		"XERO_IDENTITY_URL=" + h.sim.URL(),
		"XERO_POLL_INTERVAL=200ms",
		"XERO_FULL_TABLE_INTERVAL=500ms",
		"XERO_REQUEST_TIMEOUT=10s",
		"KAFKA_BOOTSTRAP_SERVERS=" + strings.Join(h.proxy.Addrs(h.kafka.Brokers...), ","),
		"KAFKA_TOPIC_PREFIX=" + h.prefix,
		"KAFKA_STATE_TOPIC=" + h.prefix + "._state",
		"KAFKA_TRANSACTIONAL_ID=" + h.prefix + "-connector",
		"KAFKA_TOPIC_REPLICATION_FACTOR=1",
		// Keep every version, so that a version written twice is seen.
		"KAFKA_TOPIC_CLEANUP_POLICY=delete",
		"SCHEMA_REGISTRY_URL=" + h.registryURL,
		"HTTP_ADDR=127.0.0.1:0",
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
	}
}

// kill sends SIGKILL and waits for the process to end.
func (r *instance) kill() {
	select {
	case <-r.exited:
		return
	default:
	}
	r.killed, r.killedAt = true, time.Now()
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
}

// stop sends SIGTERM (a soft stop) and returns the process's exit error.
func (h *harness) stop(r *instance) error {
	h.t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
		return r.waitErr
	case <-time.After(waitLimit):
		r.kill()
		h.t.Fatalf("run %d did not stop within %v of SIGTERM", r.n, waitLimit)
		return nil
	}
}

func (r *instance) instanceID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id
}

// statusOf returns the process's /status, or false while it does not answer.
func (r *instance) statusOf() (connector.Status, bool) {
	select {
	case <-r.ready:
	default:
		return connector.Status{}, false
	}
	r.mu.Lock()
	base := r.status
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/status?all", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return connector.Status{}, false
	}
	defer resp.Body.Close()
	var st connector.Status
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return connector.Status{}, false
	}
	return st, true
}

// waitFor polls the process's status until cond holds, and reports true; it reports false if
// the process exits first, and fails the test if the limit passes first.
func (h *harness) waitFor(r *instance, what string, cond func(connector.Status) bool) bool {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		select {
		case <-r.exited:
			return false
		default:
		}
		if st, ok := r.statusOf(); ok && cond(st) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, _ := r.statusOf()
	var lagging []connector.StreamStatus
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			if !s.CaughtUp || s.LastError != "" {
				lagging = append(lagging, s)
			}
		}
	}
	j, _ := json.Marshal(lagging)
	h.t.Fatalf("run %d: not %s within %v; streams not caught up or failing: %s", r.n, what, waitLimit, j)
	return false
}

func wrote(st connector.Status) bool {
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			if s.RecordsWritten > 0 {
				return true
			}
		}
	}
	return false
}

// settledSince: every stream has finished, without error, a cycle begun after since (it may be
// in its next cycle already).
func settledSince(since time.Time) func(connector.Status) bool {
	return func(st connector.Status) bool {
		if len(st.Tenants) == 0 {
			return false
		}
		for _, t := range st.Tenants {
			for _, s := range t.Streams {
				if s.CaughtUpAt == nil || !s.CaughtUpAt.After(since) {
					return false
				}
			}
		}
		return true
	}
}

// checkNoPanic fails the test for any run whose output shows a panic, a fatal runtime error
// or a data race.
func (h *harness) checkNoPanic() {
	h.t.Helper()
	for _, r := range h.runs {
		b, err := os.ReadFile(r.logPath)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, bad := range []string{"panic:", "fatal error:", "DATA RACE"} {
			if strings.Contains(string(b), bad) {
				h.t.Errorf("run %d printed %q; log %s:\n%s", r.n, bad, r.logPath, tail(r.logPath, 40))
			}
		}
	}
}

// mutate changes the simulator's data until stopped: single edits of every kind, and now and
// then a bulk import larger than a page.
func (h *harness) mutate(seed uint64) (stop func()) {
	rng := rand.New(rand.NewPCG(seed, 1))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// About 40 changes a second, and a bulk import every 30 s: enough to change records
		// under every run, few enough for the end-state check of a long run to stay quick.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			h.sim.Mutate(1 + rng.IntN(3))
			if n%600 == 100 {
				tenants := h.sim.Tenants()
				h.sim.Burst(tenants[rng.IntN(len(tenants))], "invoices", 1100+rng.IntN(300))
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

// tail returns the last lines of a file.
func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// lastLine returns the last line a process printed, with any stamp of time left out, so that
// equal reasons count together.
func lastLine(path string) string {
	l := tail(path, 1)
	var rec struct {
		Msg string `json:"msg"`
		Err string `json:"err"`
	}
	if json.Unmarshal([]byte(l), &rec) == nil {
		return rec.Msg + ": " + rec.Err
	}
	return l
}
