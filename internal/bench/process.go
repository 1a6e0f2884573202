package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xero-kafka/xero-kafka/connector"
)

// helper is a helper process (simulator or kfake) started from the harness's own binary.
type helper struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startHelper runs `self args...` and decodes the JSON line it prints first into info.
func startHelper(ctx context.Context, self, logPath string, info any, args ...string) (*helper, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create the log of %s: %w", args[0], err)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		_ = logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s %s: %w", self, args[0], err)
	}
	h := &helper{cmd: cmd, done: make(chan struct{})}
	lines := make(chan []byte, 1)
	go func() {
		defer close(h.done)
		defer logf.Close()
		r := bufio.NewReader(out)
		line, err := r.ReadBytes('\n')
		if err == nil {
			lines <- line
		}
		close(lines)
		_, _ = io.Copy(logf, r)
		_ = cmd.Wait()
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			<-h.done
			return nil, fmt.Errorf("%s %s ended before it was ready; log %s:\n%s", self, args[0], logPath, tail(logPath, 20))
		}
		if err := json.Unmarshal(line, info); err != nil {
			h.stop()
			return nil, fmt.Errorf("%s %s printed %q, not its address: %w", self, args[0], line, err)
		}
		return h, nil
	case <-ctx.Done():
		h.stop()
		return nil, ctx.Err()
	case <-time.After(5 * time.Minute):
		h.stop()
		return nil, fmt.Errorf("%s %s not ready within 5 minutes; log %s", self, args[0], logPath)
	}
}

func (h *helper) stop() {
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.done
	}
}

// sim is a running simulator process.
type sim struct {
	*helper
	SimInfo
}

func startSim(ctx context.Context, self, dir string, spec SimSpec) (*sim, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	s := &sim{}
	h, err := startHelper(ctx, self, filepath.Join(dir, "sim.log"), &s.SimInfo, "sim", string(b))
	if err != nil {
		return nil, err
	}
	s.helper = h
	return s, nil
}

// calls reads the simulator's count of API calls.
func (s *sim) calls(ctx context.Context) (CallCount, error) {
	var c CallCount
	err := getJSON(ctx, s.URL+"/__bench/calls", &c)
	return c, err
}

func (s *sim) resetCalls(ctx context.Context) error {
	_, err := post(ctx, s.URL+"/__bench/reset")
	return err
}

// burst changes n records of a stream of the first organisation at one instant.
func (s *sim) burst(ctx context.Context, stream string, n int) error {
	_, err := post(ctx, fmt.Sprintf("%s/__bench/burst?tenant=%s&stream=%s&n=%d", s.URL, s.Tenants[0], stream, n))
	return err
}

func post(ctx context.Context, url string) ([]byte, error) {
	return call(ctx, http.MethodPost, url)
}

func getBody(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return call(ctx, http.MethodGet, url)
}

// call makes one request and returns its body; any status but 200 is an error that names the
// request and quotes the body.
func call(ctx context.Context, method, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(b)))
	}
	return b, err
}

func getJSON(ctx context.Context, url string, v any) error {
	b, err := getBody(ctx, url)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// target is a broker and registry for the connector.
type target struct {
	name     string // "real broker" or "kfake"
	brokers  []string
	registry string
	// procs are the processes that serve it and whose CPU a sync's figure reports (none:
	// only the connector's).
	procs []process
}

// process is a process beside the connector whose CPU time a figure reports.
type process struct {
	name string // "broker", "registry", "simulator"
	pid  int
}

// stateKey is XERO_STATE_KEY of every run: 32 bytes, base64 ("xero-kafka-benchmark-key-32bytes").
const stateKey = "eGVyby1rYWZrYS1iZW5jaG1hcmsta2V5LTMyYnl0ZXM="

// run is one `xero-kafka run` process.
type run struct {
	cmd     *exec.Cmd
	started time.Time
	logPath string

	mu     sync.Mutex
	status string // base URL of /status
	ready  chan struct{}
	exited chan struct{}
}

// runEnv is the environment of a connector against sim and tg, with topics named prefix.
func runEnv(s *sim, tg target, prefix string, withToken bool, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"XERO_CLIENT_ID=" + s.ClientID,
		"XERO_CLIENT_SECRET=" + s.ClientSecret,
		"XERO_STATE_KEY=" + stateKey,
		"XERO_API_URL=" + s.URL,
		"XERO_IDENTITY_URL=" + s.URL,
		"KAFKA_BOOTSTRAP_SERVERS=" + strings.Join(tg.brokers, ","),
		"KAFKA_TOPIC_PREFIX=" + prefix,
		"KAFKA_STATE_TOPIC=" + prefix + "._state",
		"KAFKA_TRANSACTIONAL_ID=" + prefix,
		"KAFKA_TOPIC_REPLICATION_FACTOR=1",
		"SCHEMA_REGISTRY_URL=" + tg.registry,
		"HTTP_ADDR=127.0.0.1:0",
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
	}
	if withToken {
		env = append(env, "XERO_REFRESH_TOKEN="+s.RefreshToken)
	}
	return append(env, extra...)
}

// startRun starts `bin run` with env; its log goes to logPath.
func startRun(bin, logPath string, env []string) (*run, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create the connector's log: %w", err)
	}
	r := &run{logPath: logPath, ready: make(chan struct{}), exited: make(chan struct{})}
	r.cmd = exec.Command(bin, "run")
	r.cmd.Env = env
	r.cmd.Stdout = logf
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		_ = logf.Close()
		return nil, err
	}
	r.started = time.Now()
	if err := r.cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start xero-kafka run: %w", err)
	}
	go func() {
		defer close(r.exited)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = logf.Write(append(line, '\n'))
			r.observe(line)
		}
		_ = r.cmd.Wait()
		_ = logf.Close()
	}()
	return r, nil
}

func (r *run) observe(line []byte) {
	var rec struct {
		Msg  string `json:"msg"`
		Addr string `json:"addr"`
	}
	if json.Unmarshal(line, &rec) != nil || !strings.HasPrefix(rec.Msg, "serving /status") || rec.Addr == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == "" {
		r.status = "http://" + rec.Addr
		close(r.ready)
	}
}

func (r *run) pid() int { return r.cmd.Process.Pid }

// get fetches a path of the status server once it serves.
func (r *run) get(ctx context.Context, path string) ([]byte, error) {
	select {
	case <-r.ready:
	case <-r.exited:
		return nil, fmt.Errorf("xero-kafka run ended; log %s:\n%s", r.logPath, tail(r.logPath, 20))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.mu.Lock()
	base := r.status
	r.mu.Unlock()
	return getBody(ctx, base+path)
}

func (r *run) statusOf(ctx context.Context) (connector.Status, int, error) {
	var st connector.Status
	b, err := r.get(ctx, "/status?all") // every stream; /status alone is a summary
	if err != nil {
		return st, 0, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, len(b), fmt.Errorf("decode /status: %w", err)
	}
	return st, len(b), nil
}

// waitStatus polls /status every period until cond holds or limit passes; it returns the status
// that held and the largest body seen.
func (r *run) waitStatus(ctx context.Context, period, limit time.Duration, what string, cond func(connector.Status) bool) (connector.Status, int, error) {
	deadline := time.Now().Add(limit)
	largest := 0
	for {
		select {
		case <-r.exited:
			return connector.Status{}, largest, fmt.Errorf("xero-kafka run ended before %s; log %s:\n%s", what, r.logPath, tail(r.logPath, 20))
		default:
		}
		st, n, err := r.statusOf(ctx)
		largest = max(largest, n)
		if err == nil && cond(st) {
			return st, largest, nil
		}
		if ctx.Err() != nil {
			return st, largest, ctx.Err()
		}
		if time.Now().After(deadline) {
			return st, largest, fmt.Errorf("not %s within %v (last error: %v); log %s", what, limit, err, r.logPath)
		}
		time.Sleep(period)
	}
}

// stop ends the process with SIGTERM (SIGKILL after a minute).
func (r *run) stop() {
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(time.Minute):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// records sums the records written over every organisation and stream.
func records(st connector.Status) int64 {
	var n int64
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			n += s.RecordsWritten
		}
	}
	return n
}

// caughtUpAt is when the last stream of st to catch up ended the cycle that caught it up, by
// the connector's clock (LastSuccess), or the zero time when one has not. It lets a sync be timed
// to the moment its last commit was answered rather than to when /status was next polled.
func caughtUpAt(st connector.Status) time.Time {
	var last time.Time
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			if !s.CaughtUp || s.LastSuccess == nil {
				return time.Time{}
			}
			if s.LastSuccess.After(last) {
				last = *s.LastSuccess
			}
		}
	}
	return last
}

// caughtUpSince: every stream finished without error a cycle begun after since.
func caughtUpSince(since time.Time) func(connector.Status) bool {
	return func(st connector.Status) bool {
		if len(st.Tenants) == 0 {
			return false
		}
		for _, t := range st.Tenants {
			for _, s := range t.Streams {
				if s.CaughtUpAt == nil || s.CaughtUpAt.Before(since) {
					return false
				}
			}
		}
		return true
	}
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}
