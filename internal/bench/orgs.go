package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/xero-kafka/xero-kafka/connector"
)

// orgs: many small organisations under Xero's rate limits, a first sync and a restart.
func (b *bench) orgs(ctx context.Context) {
	if !b.wants("orgs-first", "orgs-restart", "orgs-bodies") {
		return
	}
	n := b.cfg.Sizes.Orgs
	first, restart, bodies, err := b.orgsOf(ctx, n)
	ferr, rerr := err, err
	if err == nil && restart == "" {
		rerr = fmt.Errorf("the restart was not measured")
	}
	if err != nil && first != "" {
		ferr = nil // the first sync was measured; the restart failed
	}
	b.add("orgs-first", fmt.Sprintf("%s organisations (small volumes, Xero's limits), first sync, real broker", thousands(int64(n))), first, ferr)
	b.add("orgs-restart", fmt.Sprintf("%s organisations, restart with no new data", thousands(int64(n))), restart, rerr)
	b.add("orgs-bodies", fmt.Sprintf("%s organisations, largest bodies served", thousands(int64(n))), bodies, ferr)
}

func (b *bench) orgsOf(ctx context.Context, n int) (first, restart, bodies string, err error) {
	if b.real == nil {
		return "", "", "", errNoReal
	}
	tg := *b.real
	dir, prefix, err := b.scratch("orgs")
	if err != nil {
		return "", "", "", err
	}
	s, err := startSim(ctx, b.cfg.Self, dir, SimSpec{Tenants: n, Seed: b.cfg.Seed, Volumes: b.cfg.Sizes.OrgVolumes})
	if err != nil {
		return "", "", "", err
	}
	defer s.stop()
	defer func() { _ = deleteTopics(context.WithoutCancel(ctx), tg, prefix) }()

	r, err := startRun(b.cfg.Bin, filepath.Join(dir, "xero-kafka-1.log"), b.runEnv(s, tg, prefix, true))
	if err != nil {
		return "", "", "", err
	}
	largestMetrics, largestStatus := 0, 0
	st, _, err := r.waitStatus(ctx, 2*time.Second, b.cfg.Sizes.Limit, "caught up", func(st connector.Status) bool {
		if m, err := r.get(ctx, "/metrics"); err == nil {
			largestMetrics = max(largestMetrics, len(m))
		}
		if m, err := r.get(ctx, "/status"); err == nil {
			largestStatus = max(largestStatus, len(m))
		}
		return st.CaughtUp
	})
	if err != nil {
		r.stop()
		return "", "", "", err
	}
	took := time.Since(r.started)
	peak, _, err := memOf(r.pid())
	if err != nil {
		r.stop()
		return "", "", "", err
	}
	calls, err := s.calls(ctx)
	r.stop()
	if err != nil {
		return "", "", "", err
	}
	// As a rate, the app limit allows calls/10,000 minutes; in Xero's fixed one-minute windows
	// the last window of calls opens whole minutes after the first call.
	floor := time.Duration(calls.API) * time.Minute / 10_000
	windows := time.Duration((calls.API-1)/10_000) * time.Minute
	first = fmt.Sprintf("peak RSS %s; caught up %s after start, %.2f× the floor (%s calls, %s records; floor at the app limit of 10,000 calls/min: %s as a rate; in fixed minute windows the last opens %s after the first call); %s",
		mib(peak), took.Round(time.Second), took.Seconds()/max(floor.Seconds(), 1e-9), thousands(calls.API), thousands(records(st)),
		floor.Round(time.Second), windows, traceSummary(calls))
	_ = writeTrace(filepath.Join(dir, "orgs-first-calls.txt"), calls)
	bodies = fmt.Sprintf("/status %s, /metrics %s", humanBytes(int64(largestStatus)), humanBytes(int64(largestMetrics)))

	if err := s.resetCalls(ctx); err != nil {
		return first, "", bodies, err
	}
	r2, err := startRun(b.cfg.Bin, filepath.Join(dir, "xero-kafka-2.log"), b.runEnv(s, tg, prefix, false))
	if err != nil {
		return first, "", bodies, err
	}
	defer r2.stop()
	var firstCall time.Duration
	for firstCall == 0 {
		select {
		case <-r2.exited:
			return first, "", bodies, fmt.Errorf("the restarted connector ended; log %s:\n%s", r2.logPath, tail(r2.logPath, 20))
		case <-ctx.Done():
			return first, "", bodies, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		c, err := s.calls(ctx)
		if err != nil {
			return first, "", bodies, err
		}
		if c.API > 0 {
			firstCall = time.Unix(0, c.FirstCall).Sub(r2.started)
		}
		if time.Since(r2.started) > b.cfg.Sizes.Limit {
			return first, "", bodies, fmt.Errorf("no Xero call within %v of the restart", b.cfg.Sizes.Limit)
		}
	}
	since := r2.started
	_, _, werr := r2.waitStatus(ctx, 2*time.Second, min(b.cfg.Sizes.Limit, 4*time.Minute), "caught up again", caughtUpSince(since))
	peak2, _, err := memOf(r2.pid())
	if err != nil {
		return first, "", bodies, err
	}
	c2, _ := s.calls(ctx)
	restart = fmt.Sprintf("first call %s after start; peak RSS %s", firstCall.Round(10*time.Millisecond), mib(peak2))
	if werr == nil {
		restart += fmt.Sprintf(" through a full cycle of every stream (%s, %s calls)", time.Since(since).Round(time.Second), thousands(c2.API))
	} else {
		restart += fmt.Sprintf(" in the first %s (a full cycle did not finish: %s)", time.Since(since).Round(time.Second), oneLine(werr.Error()))
	}
	return first, restart, bodies, nil
}

// traceSummary says how the calls of a run spread over minutes since the first call, and which
// 429s the simulator answered.
func traceSummary(c CallCount) string {
	var mins []string
	for i := 0; i < len(c.PerSecond); i += 60 {
		n := 0
		for _, v := range c.PerSecond[i:min(i+60, len(c.PerSecond))] {
			n += v
		}
		mins = append(mins, thousands(int64(n)))
	}
	refused := "no 429"
	if len(c.Refused) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(c.Refused)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, c.Refused[k]))
		}
		refused = "429s: " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("calls per minute from the first: %s; %s", strings.Join(mins, " / "), refused)
}

// writeTrace writes the calls answered in each second since the first call, one line a second.
func writeTrace(path string, c CallCount) error {
	var b strings.Builder
	for i, n := range c.PerSecond {
		fmt.Fprintf(&b, "%d %d\n", i, n)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// oracleResultPrefix starts the line of figures internal/crash's TestOrgsUnderChange logs.
const oracleResultPrefix = "orgs-oracle:"

// orgsOracle runs the end-to-end check of many organisations under change: internal/crash's
// TestOrgsUnderChange (xero-kafka as its own process, the real broker, internal/oracle's check
// of every topic), at the size of the run, and reports the figures it logs.
func (b *bench) orgsOracle(ctx context.Context) {
	if !b.wants("orgs-oracle") {
		return
	}
	n, secs := b.cfg.Sizes.OracleOrgs, b.cfg.Sizes.OracleSeconds
	what := fmt.Sprintf("%d organisations (Xero's limits) whose data changes during the first sync and %ds after it; every topic read_committed against the simulator's end state, real broker", n, secs)
	cmdline := fmt.Sprintf("XK_ORGS_ORACLE_TENANTS=%d XK_ORGS_ORACLE_SECONDS=%d XK_ORGS_ORACLE_LIMITS=1 go test -count=1 -v -run '^TestOrgsUnderChange$' ./internal/crash/ (with the real services' XK_* variables)", n, secs)
	switch {
	case n == 0:
		b.add("orgs-oracle", "organisations under change, end-to-end check", "", errors.New("skipped in the short form: the test command runs TestOrgsUnderChange with 5 organisations"))
		return
	case b.real == nil || b.realIsFake:
		b.add("orgs-oracle", what, "", errNoReal)
		return
	}
	cmd := exec.CommandContext(ctx, b.cfg.GoBin, "test", "-count=1", "-v", "-timeout", "30m", "-run", "^TestOrgsUnderChange$", "./internal/crash/")
	cmd.Dir = b.cfg.Repo
	cmd.Env = append(withoutEnv(os.Environ(), "XK_KAFKA_BROKERS", "XK_SCHEMA_REGISTRY_URL"),
		"XK_KAFKA_BROKERS="+strings.Join(b.real.brokers, ","), "XK_SCHEMA_REGISTRY_URL="+b.real.registry,
		fmt.Sprintf("XK_ORGS_ORACLE_TENANTS=%d", n), fmt.Sprintf("XK_ORGS_ORACLE_SECONDS=%d", secs), "XK_ORGS_ORACLE_LIMITS=1")
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(filepath.Join(b.cfg.Dir, "orgs-oracle.log"), out, 0o644)
	fig := ""
	for _, line := range strings.Split(string(out), "\n") {
		if _, after, ok := strings.Cut(line, oracleResultPrefix); ok {
			fig = strings.TrimSpace(after)
		}
	}
	switch {
	case err != nil:
		b.add("orgs-oracle", what+"; "+cmdline, "", fmt.Errorf("%w: %s%s", err, fig, lastLines(out, 8)))
	case fig == "":
		b.add("orgs-oracle", what+"; "+cmdline, "", errors.New("TestOrgsUnderChange printed no figures (was it skipped?)"))
	default:
		b.add("orgs-oracle", what+"; "+cmdline, fig, nil)
	}
}
