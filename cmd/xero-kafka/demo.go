package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// demoFlags are the settings of `xero-kafka demo`.
type demoFlags struct {
	kafkaAddr, registryAddr, simAddr, httpAddr string
	tenants                                    int
	seed                                       int64
	mutationRate                               float64
	volumes                                    volumeFlag
	pollInterval                               time.Duration
	xeroLimits                                 bool
	logLevel                                   string
}

// volumeFlag collects --volume stream=n.
type volumeFlag map[string]int

func (v volumeFlag) String() string { return fmt.Sprint(map[string]int(v)) }

func (v volumeFlag) Set(s string) error {
	name, n, ok := strings.Cut(s, "=")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 0 {
		return fmt.Errorf("%q: want stream=count", s)
	}
	v[name] = count
	return nil
}

func parseDemoFlags(args []string, stderr io.Writer) (*demoFlags, error) {
	f := &demoFlags{volumes: volumeFlag{}}
	fs := flag.NewFlagSet("xero-kafka demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.kafkaAddr, "kafka-addr", "127.0.0.1:9092", "address of the in-process Kafka broker")
	fs.StringVar(&f.registryAddr, "registry-addr", "127.0.0.1:8081", "address of the in-process Schema Registry")
	fs.StringVar(&f.simAddr, "sim-addr", "127.0.0.1:8082", "address of the Xero simulator")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "address of /status, /metrics and /healthz")
	fs.IntVar(&f.tenants, "tenants", 2, "organisations in the simulator")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the simulator's data")
	fs.Float64Var(&f.mutationRate, "mutation-rate", 2, "changes per second the simulator makes to its data after the first sync (0: none)")
	fs.Var(f.volumes, "volume", "records of a stream at start, e.g. --volume invoices=20000 (repeatable)")
	fs.DurationVar(&f.pollInterval, "poll-interval", 3*time.Second, "pause between polls of a stream")
	fs.BoolVar(&f.xeroLimits, "xero-limits", false, "enforce Xero's rate limits in the simulator (60 calls a minute per organisation)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "connector log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return nil, &configError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, &configError{msg: fmt.Sprintf("demo takes no arguments, got %q", fs.Args())}
	}
	if f.tenants < 1 {
		return nil, &configError{msg: "--tenants: must be at least 1"}
	}
	for name := range f.volumes {
		if !contains(xerosim.StreamNames(), name) {
			return nil, &configError{msg: fmt.Sprintf("--volume: unknown stream %q", name)}
		}
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// demo is `xero-kafka demo`: Kafka (kfake), a Schema Registry (srfake) and the Xero simulator in
// this process, and the connector reading every stream of every organisation into them.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseDemoFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) || strings.Contains(err.Error(), flag.ErrHelp.Error()) {
			return nil
		}
		return err
	}
	level, err := slogLevel(f.logLevel)
	if err != nil {
		return err
	}
	log := newLogger(stderr, level, "text")

	// The Kafka broker.
	kafkaPort, err := portOf(f.kafkaAddr, "--kafka-addr")
	if err != nil {
		return err
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(kafkaPort))
	if err != nil {
		return fmt.Errorf("start the in-process Kafka on %s: %w", f.kafkaAddr, err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	// The Schema Registry.
	regLn, err := net.Listen("tcp", f.registryAddr)
	if err != nil {
		return fmt.Errorf("start the in-process Schema Registry on %s: %w", f.registryAddr, err)
	}
	registryURL := "http://" + regLn.Addr().String()
	stopRegistry := serve(regLn, srfake.NewRegistry().Handler())
	defer stopRegistry()

	// The Xero simulator. Its data changes only once the first sync is done, so the summary
	// counts the starting data.
	opts := []xerosim.Option{xerosim.Seed(f.seed), xerosim.Tenants(f.tenants)}
	for name, n := range f.volumes {
		opts = append(opts, xerosim.Volume(name, n))
	}
	if !f.xeroLimits {
		opts = append(opts, xerosim.NoLimits())
	}
	sim := xerosim.NewSim(opts...)
	defer sim.Close()
	simLn, err := net.Listen("tcp", f.simAddr)
	if err != nil {
		return fmt.Errorf("start the Xero simulator on %s: %w", f.simAddr, err)
	}
	simURL := "http://" + simLn.Addr().String()
	stopSim := serve(simLn, sim.Handler())
	defer stopSim()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := offsets.NewAESGCM(key)
	if err != nil {
		return err
	}
	registry, err := sr.NewClient(sr.URLs(registryURL))
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	// The program's defaults (connector.Settings), pointed at the simulator.
	cfg := connector.DefaultConfig()
	cfg.Xero.APIURL, cfg.Xero.IdentityURL = simURL, simURL
	cfg.Xero.ClientID, cfg.Xero.ClientSecret = sim.ClientID(), sim.ClientSecret()
	cfg.RefreshToken = sim.RefreshToken()
	cfg.PollInterval, cfg.FullTableInterval = f.pollInterval, 10*f.pollInterval
	if !f.xeroLimits {
		cfg.DayLimit = math.MaxInt32 // the simulator enforces none: nothing to plan for
	}
	c, err := connector.New(cfg, connector.Deps{
		Kafka:    []kgo.Opt{kgo.SeedBrokers(brokers...)},
		Registry: registry,
		Sealer:   sealer,
		Logger:   log,
		Metrics:  reg,
	})
	if err != nil {
		return err
	}
	httpAddr, stopHTTP, err := serveHTTP(f.httpAddr, c, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer stopHTTP()

	fmt.Fprintf(stdout, `xero-kafka demo: every stream of %d simulated Xero organisations into an in-process Kafka.

  Kafka (bootstrap)     %s   consumers: isolation.level=read_committed
  Schema Registry       %s
  Xero simulator        %s   tenants: %s
  Status                http://%s/status   (also /metrics)
  Topics                xero.<stream> (26), xero.dead_letters, _xero-kafka-state

`, f.tenants, strings.Join(brokers, ","), registryURL, simURL, strings.Join(sim.Tenants(), ", "), httpAddr)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	firstSync := true
	var lastTotal int64
	var lastLine string
	for {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, "\nstopped.")
			return nil
		case <-tick.C:
		}
		st := c.Status()
		total, caught, all := progress(st)
		if firstSync {
			if line := fmt.Sprintf("\rfirst sync: %d/%d streams caught up, %d records written   ", caught, all, total); line != lastLine {
				fmt.Fprint(stdout, line)
				lastLine = line
			}
			if !st.CaughtUp {
				continue
			}
			firstSync = false
			fmt.Fprintf(stdout, "\n\nFirst full sync done in %s.\n\n", time.Since(start).Round(100*time.Millisecond))
			printSummary(stdout, st)
			if f.mutationRate > 0 {
				go mutate(ctx, sim, f.mutationRate)
				fmt.Fprintf(stdout, "\nThe simulator now changes %.3g records a second; the connector streams the changes. Ctrl-C stops.\n", f.mutationRate)
			} else {
				fmt.Fprintln(stdout, "\nStreaming changes (none are made: --mutation-rate 0). Ctrl-C stops.")
			}
			lastTotal = total
			continue
		}
		if total != lastTotal {
			fmt.Fprintf(stdout, "%s  %d records written (+%d)\n", time.Now().Format(time.TimeOnly), total, total-lastTotal)
			lastTotal = total
		}
	}
}

// mutate changes the simulator's data at about rate changes a second until ctx ends.
func mutate(ctx context.Context, sim *xerosim.Sim, rate float64) {
	every := time.Duration(float64(time.Second) / rate)
	n := 1
	if every < 50*time.Millisecond {
		n = int(rate / 20)
		every = 50 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sim.Mutate(n)
		}
	}
}

// progress returns the records written so far and how many (tenant, stream) pairs caught up.
func progress(st connector.Status) (records int64, caught, all int) {
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			records += s.RecordsWritten
			all++
			if s.CaughtUp {
				caught++
			}
		}
	}
	return records, caught, all
}

// printSummary prints, per stream, the records written across tenants.
func printSummary(w io.Writer, st connector.Status) {
	type row struct {
		records, dead int64
		note          string
	}
	rows := map[string]*row{}
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			r := rows[s.Stream]
			if r == nil {
				r = &row{}
				rows[s.Stream] = r
			}
			r.records += s.RecordsWritten
			r.dead += s.DeadLetters
			if s.LastError != "" {
				r.note = s.LastError
			}
			if s.Warning != "" {
				r.note = s.Warning
			}
		}
	}
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "topic\trecords\tdead letters\t\n")
	var total int64
	for _, n := range names {
		r := rows[n]
		total += r.records
		fmt.Fprintf(tw, "xero.%s\t%d\t%d\t\n", n, r.records, r.dead)
	}
	fmt.Fprintf(tw, "total\t%d\t\t\n", total)
	_ = tw.Flush()
	for _, n := range names {
		if note := rows[n].note; note != "" {
			fmt.Fprintf(w, "  %s: %s\n", n, note)
		}
	}
}

// serve serves h on ln until the returned function is called.
func serve(ln net.Listener, h http.Handler) (stop func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}

// portOf returns the port of a 127.0.0.1:port address (kfake listens on loopback).
func portOf(addr, flagName string) (int, error) {
	host, p, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil || port < 0 || port > 65535 {
		return 0, &configError{msg: fmt.Sprintf("%s %q: want host:port", flagName, addr)}
	}
	if host != "127.0.0.1" && host != "localhost" && host != "" {
		return 0, &configError{msg: fmt.Sprintf("%s %q: the in-process Kafka listens on 127.0.0.1 only", flagName, addr)}
	}
	return port, nil
}
