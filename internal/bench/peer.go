package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/xero-kafka/xero-kafka/connector"
)

// peerStreams are the streams both tools read in the side-by-side run.
var peerStreams = []string{"invoices", "journals"}

// toolRun is what one tool's first sync of the peer volumes cost.
type toolRun struct {
	calls   int64
	wall    time.Duration // process start to caught up (xero-kafka) or to exit (tap-xero)
	cpu     time.Duration
	peak    int64
	records map[string]int64
}

func (b *bench) peer(ctx context.Context) {
	if !b.wants("peer") {
		return
	}
	sz := b.cfg.Sizes
	what := fmt.Sprintf("peer side by side: tap-xero 2.6.0 vs xero-kafka, %s invoices + %s journals, same simulator and seed",
		thousands(int64(sz.PeerInvoices)), thousands(int64(sz.PeerJournals)))
	vols := map[string]int{"invoices": sz.PeerInvoices, "journals": sz.PeerJournals}
	tap, err := b.tapXero(ctx, vols)
	if err != nil {
		b.add("peer", what, "", err)
		return
	}
	xk, err := b.xeroKafkaPeer(ctx, vols)
	if err != nil {
		b.add("peer", what, "", fmt.Errorf("xero-kafka's side: %w", err))
		return
	}
	ratio := func(a, b float64) string { return fmt.Sprintf("%.1f×", a/max(b, 1e-9)) }
	var recs []string
	for _, s := range peerStreams {
		recs = append(recs, fmt.Sprintf("%s %s/%s", s, thousands(tap.records[s]), thousands(xk.records[s])))
	}
	fig := fmt.Sprintf("tap-xero: %s calls, %s wall, %.1f CPU s, peak RSS %s; xero-kafka: %s calls, %s wall, %.1f CPU s, peak RSS %s; "+
		"tap-xero/xero-kafka: calls %s, wall %s, CPU %s; records tap-xero/xero-kafka: %s",
		thousands(tap.calls), tap.wall.Round(100*time.Millisecond), tap.cpu.Seconds(), mib(tap.peak),
		thousands(xk.calls), xk.wall.Round(100*time.Millisecond), xk.cpu.Seconds(), mib(xk.peak),
		ratio(float64(tap.calls), float64(xk.calls)), ratio(tap.wall.Seconds(), xk.wall.Seconds()), ratio(tap.cpu.Seconds(), xk.cpu.Seconds()),
		strings.Join(recs, ", "))
	b.add("peer", what, fig, nil)
}

func (b *bench) xeroKafkaPeer(ctx context.Context, vols map[string]int) (toolRun, error) {
	var res toolRun
	tg := b.real
	if tg == nil {
		tg = b.fake
	}
	if tg == nil {
		return res, errNoReal
	}
	dir, prefix, err := b.scratch("peer-xero-kafka")
	if err != nil {
		return res, err
	}
	s, err := startSim(ctx, b.cfg.Self, dir, SimSpec{Tenants: 1, Seed: b.cfg.Seed, Volumes: vols, NoLimits: true})
	if err != nil {
		return res, err
	}
	defer s.stop()
	defer func() { _ = deleteTopics(context.WithoutCancel(ctx), *tg, prefix) }()
	r, err := startRun(b.cfg.Bin, filepath.Join(dir, "xero-kafka.log"), b.runEnv(s, *tg, prefix, true, "XERO_STREAMS="+strings.Join(peerStreams, ",")))
	if err != nil {
		return res, err
	}
	defer r.stop()
	st, _, err := r.waitStatus(ctx, 100*time.Millisecond, b.cfg.Sizes.Limit, "caught up", func(st connector.Status) bool { return st.CaughtUp })
	if err != nil {
		return res, err
	}
	res.wall = time.Since(r.started)
	if res.cpu, err = cpuOf(r.pid()); err != nil {
		return res, err
	}
	if res.peak, _, err = memOf(r.pid()); err != nil {
		return res, err
	}
	c, err := s.calls(ctx)
	if err != nil {
		return res, err
	}
	res.calls = c.API
	res.records = map[string]int64{}
	for _, t := range st.Tenants {
		for _, ss := range t.Streams {
			res.records[ss.Stream] += ss.RecordsWritten
		}
	}
	return res, nil
}

// tapXero runs tap-xero's sync of the peer streams against a simulator reached through the TLS
// proxy, after its discovery (not counted, as a deployment discovers once).
func (b *bench) tapXero(ctx context.Context, vols map[string]int) (toolRun, error) {
	var res toolRun
	tapBin := filepath.Join(b.cfg.TapVenv, "bin", "tap-xero")
	if b.cfg.TapVenv == "" {
		return res, errors.New("not run: no tap-xero environment given (scripts/bench.sh installs it into .cache/tap-xero-venv)")
	}
	if _, err := os.Stat(tapBin); err != nil {
		return res, fmt.Errorf("not run: tap-xero is not installed: %w", err)
	}
	dir, _, err := b.scratch("peer-tap-xero")
	if err != nil {
		return res, err
	}
	// One CA per environment, kept beside it, so that its bundle gains one certificate, once.
	caDir := filepath.Join(b.cfg.TapVenv, "xkbench-ca")
	s, err := startSim(ctx, b.cfg.Self, dir, SimSpec{Tenants: 1, Seed: b.cfg.Seed, Volumes: vols, NoLimits: true, TLSProxy: true, CADir: caDir})
	if err != nil {
		return res, err
	}
	defer s.stop()
	if err := trustCA(ctx, b.cfg.TapVenv, filepath.Join(caDir, "ca.pem")); err != nil {
		return res, err
	}
	cfgPath := filepath.Join(dir, "tap-config.json")
	conf, _ := json.Marshal(map[string]string{
		"client_id": s.ClientID, "client_secret": s.ClientSecret, "refresh_token": s.RefreshToken,
		"tenant_id": s.Tenants[0], "start_date": "2000-01-01T00:00:00Z", "user_agent": "tap-xero benchmark",
	})
	if err := os.WriteFile(cfgPath, conf, 0o600); err != nil {
		return res, err
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "HTTPS_PROXY=" + s.ProxyURL, "https_proxy=" + s.ProxyURL}

	// The script runs under the environment's own interpreter, not the one its first line names:
	// an environment copied or moved with its checkout keeps the old path there, and would use
	// the old copy's packages and CA bundle.
	python := filepath.Join(b.cfg.TapVenv, "bin", "python")
	disc := exec.CommandContext(ctx, python, tapBin, "--config", cfgPath, "--discover")
	disc.Env = env
	var stderr bytes.Buffer
	disc.Stderr = &stderr
	catalog, err := disc.Output()
	if err != nil {
		return res, fmt.Errorf("tap-xero --discover: %w: %s", err, lastLines(stderr.Bytes(), 3))
	}
	catalog, err = selectStreams(catalog, peerStreams)
	if err != nil {
		return res, err
	}
	catPath := filepath.Join(dir, "tap-catalog.json")
	if err := os.WriteFile(catPath, catalog, 0o644); err != nil {
		return res, err
	}
	if err := s.resetCalls(ctx); err != nil {
		return res, err
	}
	logf, err := os.Create(filepath.Join(dir, "tap-xero.log"))
	if err != nil {
		return res, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, python, tapBin, "--config", cfgPath, "--catalog", catPath)
	cmd.Env = env
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start tap-xero: %w", err)
	}
	res.records = map[string]int64{}
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var msg struct {
			Type   string `json:"type"`
			Stream string `json:"stream"`
		}
		line := sc.Bytes()
		if !bytes.Contains(line[:min(len(line), 40)], []byte(`"RECORD"`)) {
			continue
		}
		if json.Unmarshal(line, &msg) == nil && msg.Type == "RECORD" {
			res.records[msg.Stream]++
		}
	}
	if err := cmd.Wait(); err != nil {
		return res, fmt.Errorf("tap-xero sync: %w (log %s: %s)", err, logf.Name(), oneLine(tail(logf.Name(), 1)))
	}
	res.wall = time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		res.peak = ru.Maxrss << 10
	}
	c, err := s.calls(ctx)
	if err != nil {
		return res, err
	}
	res.calls = c.API
	for _, st := range peerStreams {
		if res.records[st] == 0 {
			return res, fmt.Errorf("tap-xero wrote no %s records (log %s)", st, logf.Name())
		}
	}
	return res, nil
}

// selectStreams marks the given streams selected in a Singer catalog.
func selectStreams(catalog []byte, names []string) ([]byte, error) {
	var cat struct {
		Streams []map[string]any `json:"streams"`
	}
	if err := json.Unmarshal(catalog, &cat); err != nil {
		return nil, fmt.Errorf("tap-xero's catalog: %w", err)
	}
	found := 0
	for _, s := range cat.Streams {
		id, _ := s["tap_stream_id"].(string)
		if !slices.Contains(names, id) {
			continue
		}
		found++
		md, _ := s["metadata"].([]any)
		for _, m := range md {
			e, _ := m.(map[string]any)
			if bc, _ := e["breadcrumb"].([]any); len(bc) == 0 {
				if meta, ok := e["metadata"].(map[string]any); ok {
					meta["selected"] = true
				}
			}
		}
	}
	if found != len(names) {
		return nil, fmt.Errorf("tap-xero's catalog holds %d of the streams %v", found, names)
	}
	return json.Marshal(cat)
}

// trustCA adds the benchmark CA to the CA bundle of the tap's Python environment (certifi's,
// which requests uses), once: the venv is the benchmark's own, in .cache/.
func trustCA(ctx context.Context, venv, caPath string) error {
	ca, err := os.ReadFile(caPath)
	if err != nil {
		return fmt.Errorf("read the benchmark CA: %w", err)
	}
	out, err := exec.CommandContext(ctx, filepath.Join(venv, "bin", "python"), "-c", "import certifi; print(certifi.where())").Output()
	if err != nil {
		return fmt.Errorf("find the CA bundle of %s: %w", venv, err)
	}
	bundle := strings.TrimSpace(string(out))
	have, err := os.ReadFile(bundle)
	if err != nil {
		return fmt.Errorf("read the CA bundle %s: %w", bundle, err)
	}
	if bytes.Contains(have, bytes.TrimSpace(ca)) {
		return nil
	}
	f, err := os.OpenFile(bundle, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("trust the benchmark CA in %s: %w", bundle, err)
	}
	defer f.Close()
	if _, err := f.Write(append([]byte("\n# xero-kafka benchmark CA: the simulator under Xero's host names\n"), ca...)); err != nil {
		return fmt.Errorf("trust the benchmark CA in %s: %w", bundle, err)
	}
	return nil
}
