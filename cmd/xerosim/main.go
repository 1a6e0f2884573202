// Command xerosim serves the Xero API simulator on a TCP address until interrupted.
//
//	xerosim --addr 127.0.0.1:8080 --tenants 3 --seed 7 --volume invoices=100000 --mutation-rate 2
//
// It prints its base URL, the client id and secret, the initial refresh token and the tenant
// ids, then serves /connect/token, /connections, /api.xro/2.0/... and /__sim/... until SIGINT
// or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xero-kafka/xero-kafka/xerosim"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "xerosim:", err)
		os.Exit(2)
	}
}

// volumes collects repeated --volume stream=n flags.
type volumes map[string]int

func (v volumes) String() string { return fmt.Sprint(map[string]int(v)) }

func (v volumes) Set(s string) error {
	name, n, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want stream=n, got %q", s)
	}
	c, err := strconv.Atoi(n)
	if err != nil || c < 0 {
		return fmt.Errorf("volume of %s: want a non-negative integer, got %q", name, n)
	}
	known := false
	for _, s := range xerosim.StreamNames() {
		known = known || s == name
	}
	if !known {
		return fmt.Errorf("unknown stream %q (streams: %s)", name, strings.Join(xerosim.StreamNames(), " "))
	}
	v[name] = c
	return nil
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("xerosim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr         = fs.String("addr", "127.0.0.1:0", "address to listen on (port 0 picks a free port)")
		tenants      = fs.Int("tenants", 1, "number of organisations connected to the app")
		seed         = fs.Int64("seed", 1, "seed of all generated data, ids and tokens")
		vols         = volumes{}
		rate         = fs.Float64("mutation-rate", 0, "changes per simulated second (0: data stays still)")
		perMinute    = fs.Int("minute-limit", 60, "calls per tenant per minute")
		perDay       = fs.Int("day-limit", 5000, "calls per tenant per day (1000 on Xero's Starter tier)")
		concurrent   = fs.Int("concurrent-limit", 5, "calls in progress per tenant")
		appMinute    = fs.Int("app-minute-limit", 10000, "calls per minute for the app")
		noLimits     = fs.Bool("no-limits", false, "do not enforce rate limits (the headers are still sent)")
		scale        = fs.Float64("time-scale", 1, "simulated seconds per real second")
		ims          = fs.String("ims", "inclusive-second", "If-Modified-Since comparison: inclusive-second, inclusive-milli, exclusive-second or exclusive-milli")
		gate         = fs.Bool("gate-journals", false, "answer /Journals with 401 as for apps below Xero's Advanced tier")
		employees    = fs.Bool("employees", false, "serve /Employees (Xero removed it: 404 by default)")
		clientID     = fs.String("client-id", "", "client id of the app (default: derived from the seed)")
		clientSecret = fs.String("client-secret", "", "client secret of the app (default: derived from the seed)")
		refresh      = fs.String("refresh-token", "", "initial refresh token (default: derived from the seed)")
		f            xerosim.Faults
	)
	fs.Var(vols, "volume", "records per tenant of a stream at start, as stream=n (repeatable)")
	fs.Float64Var(&f.Status500, "fault-500", 0, "rate of 500 answers (0..1)")
	fs.Float64Var(&f.Status502, "fault-502", 0, "rate of 502 answers")
	fs.Float64Var(&f.Status503, "fault-503", 0, "rate of 503 answers")
	fs.Float64Var(&f.Status504, "fault-504", 0, "rate of 504 answers")
	fs.Float64Var(&f.NotEfficient, "fault-not-efficient", 0, `rate of 400 "not filtering efficiently" answers`)
	fs.Float64Var(&f.Drop, "fault-drop", 0, "rate of connections closed without an answer")
	fs.Float64Var(&f.Truncated, "fault-truncated", 0, "rate of bodies cut off half-way")
	fs.Float64Var(&f.Malformed, "fault-malformed", 0, "rate of bodies that are not valid JSON")
	fs.Float64Var(&f.Slow, "fault-slow", 0, "rate of slow answers")
	fs.DurationVar(&f.SlowDelay, "slow-delay", 2*time.Second, "delay of a slow answer")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: xerosim [flags]\n\nServes a simulated Xero (OAuth2 token endpoint, /connections, the Accounting API list\nendpoints and /__sim/stats, /__sim/truth/{tenant}/{stream}) until interrupted.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	mode, ok := map[string]xerosim.IMSMode{
		"inclusive-second": xerosim.IMSInclusiveSecond, "inclusive-milli": xerosim.IMSInclusiveMilli,
		"exclusive-second": xerosim.IMSExclusiveSecond, "exclusive-milli": xerosim.IMSExclusiveMilli,
	}[*ims]
	if !ok {
		return fmt.Errorf("--ims: unknown mode %q", *ims)
	}
	opts := []xerosim.Option{
		xerosim.Tenants(*tenants), xerosim.Seed(*seed), xerosim.MutationRate(*rate), xerosim.TimeScale(*scale),
		xerosim.RateLimits(xerosim.Limits{Concurrent: *concurrent, PerMinute: *perMinute, PerDay: *perDay, AppPerMinute: *appMinute}),
		xerosim.ModifiedSince(mode), xerosim.WithFaults(f), xerosim.ClientCredentials(*clientID, *clientSecret),
		xerosim.InitialRefreshToken(*refresh),
	}
	for name, n := range vols {
		opts = append(opts, xerosim.Volume(name, n))
	}
	if *noLimits {
		opts = append(opts, xerosim.NoLimits())
	}
	if *gate {
		opts = append(opts, xerosim.GateJournals())
	}
	if *employees {
		opts = append(opts, xerosim.ServeEmployees())
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	sim := xerosim.NewSim(opts...)
	defer sim.Close()
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "base URL:      %s\n", base)
	fmt.Fprintf(stdout, "token URL:     %s/connect/token\n", base)
	fmt.Fprintf(stdout, "API URL:       %s/api.xro/2.0\n", base)
	fmt.Fprintf(stdout, "client id:     %s\n", sim.ClientID())
	fmt.Fprintf(stdout, "client secret: %s\n", sim.ClientSecret())
	fmt.Fprintf(stdout, "refresh token: %s\n", sim.RefreshToken())
	for _, id := range sim.Tenants() {
		fmt.Fprintf(stdout, "tenant:        %s\n", id)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
