package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xero-kafka/xero-kafka/connector"
)

// Sizes are the volumes of a run: the full figures or the short form of the test command.
type Sizes struct {
	Invoices    int // end to end, and peak RSS at this size
	Journals    int
	BigInvoices int // peak RSS at a large size
	// Bulk are the sizes of bulk imports, each sharing one UpdatedDateUTC.
	Bulk []int
	// Orgs organisations with OrgVolumes each, Xero's rate limits on.
	Orgs       int
	OrgVolumes map[string]int
	// Latency samples at a 1 s poll interval and at the planned one.
	FastSamples, PlannedSamples int
	// PeerInvoices and PeerJournals are the volumes of the side-by-side run with tap-xero.
	PeerInvoices, PeerJournals int
	// RateLimited runs the connector package's rate-limited reference benchmark.
	RateLimited bool
	// OracleOrgs organisations change for OracleSeconds after their first sync in the
	// end-to-end check of internal/crash (0: the row is skipped; the test command runs its
	// short form).
	OracleOrgs, OracleSeconds int
	// Runs is how many times each end-to-end row is measured, the real broker's and kfake's
	// runs alternating; a row reports its median run by records/s, and the range.
	Runs int
	// Limit bounds each wait for a connector.
	Limit time.Duration
}

// Full is the size of `make bench`.
func Full() Sizes {
	return Sizes{
		Invoices: 100_000, Journals: 200_000, BigInvoices: 1_000_000, Bulk: []int{20_000, 200_000},
		Orgs: 1000, OrgVolumes: smallOrg(),
		FastSamples: 10, PlannedSamples: 3,
		PeerInvoices: 20_000, PeerJournals: 40_000,
		RateLimited: true, OracleOrgs: 50, OracleSeconds: 60, Runs: 5, Limit: 15 * time.Minute,
	}
}

// Short is the size of the short form that runs in the test command.
func Short() Sizes {
	return Sizes{
		Invoices: 300, Journals: 500, BigInvoices: 1000, Bulk: []int{200, 400},
		Orgs: 3, OrgVolumes: smallOrg(),
		FastSamples: 2, PlannedSamples: 0,
		PeerInvoices: 200, PeerJournals: 300,
		Runs: 1, Limit: 3 * time.Minute,
	}
}

// smallOrg is a small organisation: a few dozen records in the busy streams, the simulator's
// defaults (a handful) in the others.
func smallOrg() map[string]int {
	return map[string]int{"invoices": 50, "journals": 150, "contacts": 30, "payments": 20, "bank_transactions": 20}
}

// Config says what to run and with what.
type Config struct {
	Bin  string // the xero-kafka binary
	Self string // the harness's binary, started again for the helper processes
	Dir  string // logs and scratch files
	// Repo is the repository root, for the rate-limited reference benchmark (go test).
	Repo  string
	GoBin string
	// RealBrokers and RealRegistry are the real Kafka and Apicurio; without them the rows of
	// the real broker say so.
	RealBrokers  []string
	RealRegistry string
	// RealBrokerPID and RealRegistryPID are their processes, for the CPU each spends per
	// record (0: not reported).
	RealBrokerPID, RealRegistryPID int
	// FakeAsReal runs the rows of the real broker on kfake when there is no real broker: the
	// short form of the test command on fakes.
	FakeAsReal bool
	// ConnectorEnv are variables given to every connector the benchmark starts, after its
	// own (KAFKA_COMPRESSION=zstd, say): the figures of a setting other than the default.
	ConnectorEnv []string
	// TapVenv is the Python environment holding tap-xero; without it the peer's row says so.
	TapVenv string
	// Only keeps the rows whose id it matches (nil: every row).
	Only  *regexp.Regexp
	Sizes Sizes
	Seed  int64
	// Command reproduces a row: the row's id is appended as `-only '^id$'`.
	Command string
	Log     *slog.Logger
}

// Row is one figure of the table.
type Row struct {
	ID      string
	What    string
	Figure  string
	Command string
}

// Table is the result of a run.
type Table struct {
	Started  time.Time
	Duration time.Duration
	Machine  Machine
	Sizes    Sizes
	Rows     []Row
}

type bench struct {
	cfg  Config
	real *target
	fake *target
	rows []Row
	// realIsFake: kfake stands in for the real broker.
	realIsFake bool
	runID      string
	n          int
	// warmUpRounds is how many rounds the real broker's warm-up took (0: none ran).
	warmUpRounds int
}

// Run measures every row, in order; a row that cannot be measured says why instead of a figure.
// It fails only when nothing can run at all.
func Run(ctx context.Context, cfg Config) (*Table, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	for _, p := range []string{cfg.Bin, cfg.Self} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("benchmark binaries: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("make the benchmark directory: %w", err)
	}
	tb := &Table{Started: time.Now().UTC(), Sizes: cfg.Sizes, Machine: ReadMachine()}
	b := &bench{cfg: cfg, runID: fmt.Sprintf("bench%d", time.Now().Unix()%1_000_000)}
	if len(cfg.RealBrokers) > 0 {
		b.real = &target{name: "real broker", brokers: cfg.RealBrokers, registry: cfg.RealRegistry}
		for _, p := range []process{{"broker", cfg.RealBrokerPID}, {"registry", cfg.RealRegistryPID}} {
			if p.pid > 0 {
				b.real.procs = append(b.real.procs, p)
			}
		}
	}
	if b.wantsFake() || (b.real == nil && cfg.FakeAsReal) {
		var info KafkaInfo
		h, err := startHelper(ctx, cfg.Self, filepath.Join(cfg.Dir, "kfake.log"), &info, "kfake")
		if err != nil {
			return nil, fmt.Errorf("start kfake: %w", err)
		}
		defer h.stop()
		b.fake = &target{name: "kfake", brokers: info.Brokers, registry: info.Registry,
			procs: []process{{"kfake and its registry", h.cmd.Process.Pid}}}
		if b.real == nil && cfg.FakeAsReal {
			b.real, b.realIsFake = b.fake, true
		}
	}
	b.endToEnd(ctx)
	b.bigRSS(ctx)
	b.latency(ctx)
	b.bulk(ctx)
	b.rateLimited(ctx)
	b.orgs(ctx)
	b.orgsOracle(ctx)
	b.peer(ctx)
	tb.Rows = b.rows
	tb.Duration = time.Since(tb.Started).Round(time.Second)
	tb.Machine.LoadAfter = loadAverage()
	return tb, ctx.Err()
}

// wants reports whether any of ids is selected.
func (b *bench) wants(ids ...string) bool {
	if b.cfg.Only == nil {
		return true
	}
	return slices.ContainsFunc(ids, b.cfg.Only.MatchString)
}

func (b *bench) wantsFake() bool { return b.wants("invoices-kfake", "journals-kfake") }

// add appends a row; err, when not nil, stands in for the figure.
func (b *bench) add(id, what, figure string, err error) {
	if !b.wants(id) {
		return
	}
	if b.realIsFake {
		what = strings.ReplaceAll(what, "real broker", "kfake standing in for the real broker")
	}
	if err != nil {
		figure = "not measured: " + oneLine(err.Error())
		b.cfg.Log.Warn("row not measured", "row", id, "err", err)
	} else {
		b.cfg.Log.Info("measured", "row", id, "figure", figure)
	}
	cmd := b.cfg.Command + " -only '^" + id + "$'"
	b.rows = append(b.rows, Row{ID: id, What: what, Figure: figure, Command: cmd})
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// scratch returns a fresh directory and topic prefix for one connector setup.
func (b *bench) scratch(name string) (dir, prefix string, err error) {
	b.n++
	dir = filepath.Join(b.cfg.Dir, fmt.Sprintf("%02d-%s", b.n, name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("make %s: %w", dir, err)
	}
	return dir, fmt.Sprintf("%s-%02d-%s", b.runID, b.n, name), nil
}

// errNoReal explains the rows of the real broker in a run without one.
var errNoReal = errors.New("no real broker: run scripts/bench.sh, which starts Kafka and Apicurio")

// syncResult is what one first sync cost.
type syncResult struct {
	records   int64
	wall      time.Duration // first Xero call to caught up
	firstCall time.Duration // process start to first Xero call
	cpu       time.Duration // the connector's CPU from start to caught up
	peak      int64         // VmHWM at caught up
	disk      int64         // the run's topics on the broker's disk at caught up (0: unknown)
	txns      int64         // Kafka transactions committed (0: unknown)
	// others is the CPU the processes beside the connector (broker, registry, simulator)
	// spent from the connector's start to caught up.
	others []processCPU
}

// processCPU is the CPU time one process spent during a sync, and the part of it that its JIT
// compiler threads spent (a JVM's; 0 for the others).
type processCPU struct {
	name      string
	cpu       time.Duration
	compiling time.Duration
}

func (r syncResult) perSecond() float64  { return float64(r.records) / r.wall.Seconds() }
func (r syncResult) cpuPer100k() float64 { return r.per100k(r.cpu) }

func (r syncResult) per100k(cpu time.Duration) float64 {
	return cpu.Seconds() * 100_000 / float64(max(r.records, 1))
}

// firstSync runs one organisation with n records of stream, without rate limits, to caught up.
func (b *bench) firstSync(ctx context.Context, tg *target, stream string, n int) (syncResult, error) {
	var res syncResult
	if tg == nil {
		return res, errNoReal
	}
	dir, prefix, err := b.scratch(stream + "-" + strings.ReplaceAll(tg.name, " ", "-"))
	if err != nil {
		return res, err
	}
	s, err := startSim(ctx, b.cfg.Self, dir, SimSpec{Tenants: 1, Seed: b.cfg.Seed, Volumes: map[string]int{stream: n}, NoLimits: true, Prerendered: true})
	if err != nil {
		return res, err
	}
	defer s.stop()
	defer func() { _ = deleteTopics(context.WithoutCancel(ctx), *tg, prefix) }()
	procs := append(slices.Clip(tg.procs), process{"simulator", s.cmd.Process.Pid})
	before, err := cpusOf(procs)
	if err != nil {
		return res, err
	}
	r, err := startRun(b.cfg.Bin, filepath.Join(dir, "xero-kafka.log"), b.runEnv(s, *tg, prefix, true, "XERO_STREAMS="+stream))
	if err != nil {
		return res, err
	}
	defer r.stop()
	st, _, err := r.waitStatus(ctx, 100*time.Millisecond, b.cfg.Sizes.Limit, "caught up", func(st connector.Status) bool { return st.CaughtUp })
	if err != nil {
		return res, err
	}
	// The sync ended when its last stream caught up, which /status says to within the
	// period it is polled at; the connector's own time of it is exact.
	done := time.Now()
	if at := caughtUpAt(st); !at.IsZero() && at.Before(done) {
		done = at
	}
	if m, err := r.get(ctx, "/metrics"); err == nil {
		res.txns = committedTransactions(m)
	}
	after, err := cpusOf(procs)
	if err != nil {
		return res, err
	}
	for i, p := range procs {
		res.others = append(res.others, processCPU{p.name, after[i].cpu - before[i].cpu, after[i].compiling - before[i].compiling})
	}
	if tg.name == "real broker" {
		if res.disk, err = diskBytes(ctx, *tg, prefix); err != nil {
			return res, err
		}
	}
	if res.cpu, err = cpuOf(r.pid()); err != nil {
		return res, err
	}
	if res.peak, _, err = memOf(r.pid()); err != nil {
		return res, err
	}
	calls, err := s.calls(ctx)
	if err != nil {
		return res, fmt.Errorf("count the simulator's calls: %w", err)
	}
	first := time.Unix(0, calls.FirstCall)
	res.records, res.wall, res.firstCall = records(st), done.Sub(first), first.Sub(r.started)
	if res.records < int64(n) {
		return res, fmt.Errorf("caught up with %d records written, want at least %d", res.records, n)
	}
	if calls.Prerendered < n {
		// The connector's list calls no longer ask for what the simulator rendered at start,
		// so it rendered the records again for the calls, on the cores being measured.
		return res, fmt.Errorf("the simulator sent %d of the %d records as rendered at start: the list parameters differ", calls.Prerendered, n)
	}
	return res, nil
}

func syncFigure(r syncResult) string {
	return fmt.Sprintf("%s records/s; %.2f CPU s per 100k%s; %s records in %s; first call %s after start",
		thousands(int64(r.perSecond())), r.cpuPer100k(), r.othersFigure(), thousands(r.records), r.wall.Round(10*time.Millisecond), r.firstCall.Round(10*time.Millisecond))
}

// othersFigure is the CPU per 100k records of the processes beside the connector, from its
// start to caught up: " (others: broker 0.90 of which JIT compiling 0.30, simulator 0.40)"
// (setup included: the registry's is mostly the schemas' registration). A JVM's compiler
// threads are shown apart: a broker in service has long compiled its code, and its compiling
// during a row is a cost of the benchmark's young broker.
func (r syncResult) othersFigure() string {
	var sb strings.Builder
	for i, p := range r.others {
		if i == 0 {
			sb.WriteString(" (others:")
		} else {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, " %s %.2f", p.name, r.per100k(p.cpu))
		if p.compiling > 0 {
			fmt.Fprintf(&sb, " of which JIT compiling %.2f", r.per100k(p.compiling))
		}
	}
	if sb.Len() > 0 {
		sb.WriteString(")")
	}
	if r.disk > 0 {
		fmt.Fprintf(&sb, "; %s on the broker's disk", humanBytes(r.disk))
	}
	if r.txns > 0 {
		fmt.Fprintf(&sb, "; %s transactions", thousands(r.txns))
	}
	return sb.String()
}

// committedTransactions reads the connector's count of committed transactions from its
// /metrics body (0 when it is not there).
func committedTransactions(metrics []byte) int64 {
	const series = `xero_kafka_transactions_total{outcome="committed"} `
	for line := range strings.Lines(string(metrics)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return int64(f)
			}
		}
	}
	return 0
}

// runEnv is the environment of a connector: runEnv's, then the configured ConnectorEnv.
func (b *bench) runEnv(s *sim, tg target, prefix string, withToken bool, extra ...string) []string {
	return append(runEnv(s, tg, prefix, withToken, extra...), b.cfg.ConnectorEnv...)
}

func (b *bench) endToEnd(ctx context.Context) {
	sz := b.cfg.Sizes
	b.warmUp(ctx)
	for _, stream := range []string{"invoices", "journals"} {
		n := sz.Invoices
		if stream == "journals" {
			n = sz.Journals
		}
		// The runs alternate, so that a change in the machine's load over the rows falls on
		// both brokers alike. A broker's runs stop at its first failure, which the row reports.
		var reals, fakes []syncResult
		var errReal, errFake error = errNoReal, errors.New("not run")
		for i := range max(sz.Runs, 1) {
			if b.wants(stream+"-real", stream+"-kfake", "rss-"+stream) && b.real != nil && (i == 0 || errReal == nil) {
				var r syncResult
				if r, errReal = b.firstSync(ctx, b.real, stream, n); errReal == nil {
					reals = append(reals, r)
				}
			}
			if b.wants(stream+"-kfake") && b.fake != nil && (i == 0 || errFake == nil) {
				var r syncResult
				if r, errFake = b.firstSync(ctx, b.fake, stream, n); errFake == nil {
					fakes = append(fakes, r)
				}
			}
		}
		real, fake := median(reals), median(fakes)
		fig, err := syncFigureOr(real, errReal)
		if err == nil {
			fig += spread(reals)
			if b.warmUpRounds == 1 {
				fig += "; after 1 warm-up round"
			} else if b.warmUpRounds > 1 {
				fig += fmt.Sprintf("; after %d warm-up rounds", b.warmUpRounds)
			}
		}
		b.add(stream+"-real", fmt.Sprintf("%s end to end, real broker (%s, one organisation)", stream, thousands(int64(n))), fig, err)
		fig, err = syncFigureOr(fake, errFake)
		if err == nil {
			fig += spread(fakes)
		}
		if err == nil && errReal == nil {
			// Three places: the goal is 0.9, and 0.896 is not 0.90.
			fig += fmt.Sprintf("; real/kfake records/s = %.3f (medians)", real.perSecond()/fake.perSecond())
		} else if err == nil {
			fig += "; no ratio: the real broker's run failed"
		}
		b.add(stream+"-kfake", fmt.Sprintf("%s end to end, kfake in its own process (same volume)", stream), fig, err)
		if stream == "invoices" {
			var peak int64
			for _, r := range reals {
				peak = max(peak, r.peak)
			}
			b.add("rss-invoices", fmt.Sprintf("peak RSS (VmHWM), %s invoices, real broker", thousands(int64(n))), mib(peak), errReal)
		}
	}
}

// The real broker's warm-up: rounds of a sync of each stream, at least minWarmUpRounds and at
// most maxWarmUpRounds, ending after the first round in which the broker's JIT compiler threads
// spent at most settledCompiling of its CPU in each sync.
const (
	minWarmUpRounds  = 10
	maxWarmUpRounds  = 20
	settledCompiling = 0.25
)

// median returns the run with the median records/s (of two, the slower); the zero result when
// there is none.
func median(runs []syncResult) syncResult {
	if len(runs) == 0 {
		return syncResult{}
	}
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b syncResult) int { return cmp.Compare(a.perSecond(), b.perSecond()) })
	return sorted[(len(sorted)-1)/2]
}

// spread is the range of records/s and CPU per 100k over several runs ("" for one run).
func spread(runs []syncResult) string {
	if len(runs) < 2 {
		return ""
	}
	lo, hi := runs[0], runs[0]
	minCPU, maxCPU := runs[0].cpuPer100k(), runs[0].cpuPer100k()
	for _, r := range runs[1:] {
		if r.perSecond() < lo.perSecond() {
			lo = r
		}
		if r.perSecond() > hi.perSecond() {
			hi = r
		}
		minCPU, maxCPU = min(minCPU, r.cpuPer100k()), max(maxCPU, r.cpuPer100k())
	}
	return fmt.Sprintf("; median of %d runs: %s–%s records/s, %.2f–%.2f CPU s per 100k",
		len(runs), thousands(int64(lo.perSecond())), thousands(int64(hi.perSecond())), minCPU, maxCPU)
}

// warmUp runs untimed syncs of as many invoices and journals as the rows on each broker the
// end-to-end rows use, so that they measure a broker that has run before, as one in service
// has: the JVM of a Kafka broker just started compiles the broker's code for minutes. The
// journals, a transaction per small page, warm up its transaction path. With a fifth of the
// invoices alone, the rows cost a fresh broker 3.3 and 8.1 CPU s per 100k (invoices,
// journals); with a fifth of each, 1.7 and 6.0; only after about two full runs did it settle
// near 0.6 and 1.8. Its compiler threads then go on with a long tail (each row creates and
// deletes its topics): on a 2-core machine they took 30–60% of the broker's CPU in the first
// rounds, still 10–53% in the fifth to the eighth, and rose and fell from round to round. In 23
// rounds on a broker just started, they took 0.08–1.83 CPU s per 100k invoices in the first ten
// and 0.03–0.28 in the last eight; the first round in which they took at most a quarter of the
// broker's CPU in both syncs was the twelfth. So the real broker takes rounds until
// one in which they are quiet (settledCompiling), at least minWarmUpRounds and at most
// maxWarmUpRounds; the rows say how many it took. kfake, a Go program, takes one. The first
// ten rounds always run: on a faster machine a quiet round came as early as the seventh, by
// chance, and the compiler still took 0.15 and 0.28 CPU s per 100k invoices and journals in
// the rows measured after it.
func (b *bench) warmUp(ctx context.Context) {
	syncs := []struct {
		stream string
		n      int
	}{{"invoices", b.cfg.Sizes.Invoices}, {"journals", b.cfg.Sizes.Journals}}
	if b.wants("invoices-real", "journals-real", "invoices-kfake", "journals-kfake", "rss-invoices") && b.real != nil {
		rounds := maxWarmUpRounds
		if b.realIsFake {
			rounds = 1
		}
		for round := range rounds {
			settled := true
			for _, s := range syncs {
				r, err := b.firstSync(ctx, b.real, s.stream, s.n)
				if err != nil {
					b.cfg.Log.Warn("warm-up sync on the real broker failed", "stream", s.stream, "err", err)
					settled = false
					continue
				}
				settled = settled && r.compilingShare("broker") <= settledCompiling
				b.cfg.Log.Info("warm-up sync on the real broker", "round", round+1, "stream", s.stream, "figure", syncFigure(r))
			}
			b.warmUpRounds = round + 1
			if settled && b.warmUpRounds >= minWarmUpRounds {
				break
			}
		}
	}
	if b.wantsFake() && b.fake != nil {
		for _, s := range syncs {
			if _, err := b.firstSync(ctx, b.fake, s.stream, s.n); err != nil {
				b.cfg.Log.Warn("warm-up sync on kfake failed", "stream", s.stream, "err", err)
			}
		}
	}
}

// compilingShare is the part of the CPU of the process called name during the sync that its JIT
// compiler threads spent (0 when it spent none).
func (r syncResult) compilingShare(name string) float64 {
	for _, p := range r.others {
		if p.name == name && p.cpu > 0 {
			return float64(p.compiling) / float64(p.cpu)
		}
	}
	return 0
}

func syncFigureOr(r syncResult, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return syncFigure(r), nil
}

func (b *bench) bigRSS(ctx context.Context) {
	if !b.wants("rss-big") {
		return
	}
	n := b.cfg.Sizes.BigInvoices
	r, err := b.firstSync(ctx, b.real, "invoices", n)
	fig := ""
	if err == nil {
		fig = fmt.Sprintf("%s (at %s records/s, %.2f CPU s per 100k)", mib(r.peak), thousands(int64(r.perSecond())), r.cpuPer100k())
	}
	b.add("rss-big", fmt.Sprintf("peak RSS (VmHWM), %s invoices, real broker", thousands(int64(n))), fig, err)
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}
