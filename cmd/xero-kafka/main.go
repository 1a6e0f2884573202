// Command xero-kafka streams Xero accounting data into Kafka as Avro, exactly once.
//
//	xero-kafka run    the connector, configured by environment variables
//	xero-kafka auth   authorise the Xero app and store the refresh token in the state topic
//	xero-kafka check  a table of what stands between the configuration and a working connector
//	xero-kafka demo   the whole pipeline in one process: an in-process Kafka, Schema Registry
//	                  and Xero simulator
//	xero-kafka state    show, reset and repair the state topic
//	xero-kafka schemas  the key and value schemas of every stream; --check compares them with
//	                    the registry
//	xero-kafka version  the version, commit and Go version
//	xero-kafka help     the commands and the environment variables
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sethvargo/go-envconfig"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xero"
)

func main() {
	os.Exit(realMain(os.Args[1:], envconfig.OsLookuper(), os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitConfig = 2
)

func realMain(args []string, env envconfig.Lookuper, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitConfig
	}
	ctx, stop := softStop(stderr)
	defer stop()

	var err error
	switch args[0] {
	case "run":
		err = run(ctx, env, stderr)
	case "demo":
		err = demo(ctx, args[1:], stdout, stderr)
	case "state":
		err = stateCmd(ctx, args[1:], env, os.Stdin, stdout, stderr)
	case "auth":
		err = auth(ctx, args[1:], env, stdout, stderr, openBrowser)
	case "check":
		err = check(ctx, args[1:], env, stdout, stderr)
	case "schemas":
		err = schemas(ctx, args[1:], env, stdout, stderr)
	case "version":
		printVersion(stdout)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage())
		return exitOK
	default:
		fmt.Fprintf(stderr, "xero-kafka: unknown command %q\n\n%s", args[0], usage())
		return exitConfig
	}
	return exitStatus(err, stderr)
}

// exitStatus prints err on one line and returns the exit status it calls for.
func exitStatus(err error, stderr io.Writer) int {
	var cfgErr *configError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &cfgErr):
		fmt.Fprintf(stderr, "xero-kafka: configuration: %v\n", err)
		return exitConfig
	default:
		fmt.Fprintf(stderr, "xero-kafka: %v\n", err)
		return exitFailed
	}
}

// softStop returns a context that ends on the first SIGINT or SIGTERM (a soft stop: the
// transaction under way finishes); a second signal exits at once. An open transaction left by
// that is aborted by Kafka after its timeout, or fenced by the next start; nothing is lost.
func softStop(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	done := make(chan struct{})
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		fmt.Fprintln(stderr, "xero-kafka: stopping after the transaction under way (signal again to stop at once)")
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "xero-kafka: stopping at once")
			os.Exit(exitFailed)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// run is `xero-kafka run`: the connector configured by the environment.
func run(ctx context.Context, lookup envconfig.Lookuper, stderr io.Writer) error {
	e, err := readEnv(ctx, lookup)
	if err != nil {
		return err
	}
	level, _ := slogLevel(e.LogLevel)
	log := newLogger(stderr, level, e.LogFormat)

	key, _ := stateKey(e.Xero.StateKey)
	sealer, err := offsets.NewAESGCM(key)
	if err != nil {
		return badConfig("XERO_STATE_KEY", "%v", err)
	}
	kafka, err := e.kafkaOpts()
	if err != nil {
		return err
	}
	registry, err := e.registry()
	if err != nil {
		return err
	}
	// Each process names itself in its User-Agent, so that calls to Xero can be told apart by
	// instance (two instances of a deployment overlap while one takes over from the other).
	instance := rand.Text()[:12]
	cfg := e.connectorConfig()
	cfg.Xero.UserAgent = xero.DefaultUserAgent + " (instance " + instance + ")"
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c, err := connector.New(cfg, connector.Deps{
		Kafka: kafka, Registry: registry, Sealer: sealer, Logger: log, Metrics: reg,
		SetMemoryLimit: memoryLimitSetter(lookup),
	})
	if err != nil {
		return &configError{msg: err.Error()}
	}
	log.Info("starting", "instance", instance)
	_, stopHTTP, err := serveHTTP(e.HTTPAddr, c, reg, log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	progressCtx, stopProgress := context.WithCancel(ctx)
	defer stopProgress()
	if isTerminal(stderr) && e.LogFormat == "text" {
		go tableProgress(progressCtx, c.Status, stderr)
	} else {
		go logProgress(progressCtx, c.Status, log)
	}
	return c.Run(ctx)
}

// memoryLimitSetter returns how the connector sets the runtime's soft memory limit
// (MEMORY_LIMIT_MIB), or nil when GOMEMLIMIT is set: the runtime has read that one itself, and
// it replaces MEMORY_LIMIT_MIB.
func memoryLimitSetter(lookup envconfig.Lookuper) func(int64) int64 {
	if v, ok := lookup.Lookup("GOMEMLIMIT"); ok && v != "" {
		return nil
	}
	return debug.SetMemoryLimit
}

// serveHTTP serves /status (a summary; ?tenant=ID one organisation, ?all every stream), /metrics,
// /healthz and /readyz on addr and returns the address it listens on.
func serveHTTP(addr string, c *connector.Connector, reg *prometheus.Registry, log *slog.Logger) (bound string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("status server on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /status", c.StatusHandler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// /healthz: the process serves; /readyz: it can work (state replayed, Kafka and the
	// registry answering).
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("GET /readyz", c.ReadyHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status server stopped", "err", err)
		}
	}()
	log.Info("serving /status, /metrics, /healthz and /readyz", "addr", ln.Addr().String())
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

const commandsUsage = `xero-kafka streams Xero accounting data into Kafka as Avro, exactly once.

Commands:
  run    run the connector, configured by the environment (below)
  auth   authorise the Xero app in a browser and store its refresh token, encrypted, in the
         state topic; 'xero-kafka auth -h' says more
  check  check the configuration, Kafka, the registry, the state and Xero, as a table of
         pass/FAIL with fixes; safe beside a running connector ('xero-kafka check -h')
  demo   run the whole pipeline in one process on an in-process Kafka, Schema Registry and
         Xero simulator; 'xero-kafka demo -h' lists its flags
  state  read and repair the state topic (environment: KAFKA_*, XERO_STATE_KEY, and
         XERO_REFRESH_TOKEN if set); it writes only what is confirmed, with the transactional
         id KAFKA_TRANSACTIONAL_ID-admin, so a running instance goes on:
           state show [--json]       bookmarks per organisation and stream, when each was last
                                     committed, the token's age, which token seeded the chain,
                                     pending resets and unreadable records
           state reset --tenant T --stream S [--from DATE] [--yes]
                                     read a stream again from the start or from DATE; a running
                                     instance applies it before its next cycle of the stream
           state remove-unreadable [--yes]
                                     remove (tombstone) the records a start cannot read, and
                                     nothing else
  schemas  print the key and value schemas of every stream, write them (--out DIR), or
           compare them with SCHEMA_REGISTRY_URL (--check); 'xero-kafka schemas -h'
  version  print the version, the commit and the Go version
  help   print this

`

// usage is what 'xero-kafka help' prints: the commands, then every variable of
// connector.Settings with its default.
func usage() string {
	var b strings.Builder
	b.WriteString(commandsUsage)
	b.WriteString("Environment of 'run' (* required):\n")
	for _, s := range connector.Settings() {
		name := s.Var
		if s.Required {
			name += " *"
		}
		text := s.Usage
		if s.Default != "" {
			text += "; default " + s.Default
		}
		writeWrapped(&b, name, text)
	}
	b.WriteString(exitUsage)
	return b.String()
}

// writeWrapped writes one variable of the usage text: its name in a column of 32, its text
// wrapped at 100 characters.
func writeWrapped(b *strings.Builder, name, text string) {
	const indent, width = 32, 100
	line := "  " + name
	if len(line) >= indent {
		b.WriteString(line + "\n")
		line = ""
	}
	line += strings.Repeat(" ", indent-len(line))
	n := len(line)
	for i, w := range strings.Fields(text) {
		if i > 0 && n+1+len(w) > width {
			b.WriteString(line + "\n")
			line, n = strings.Repeat(" ", indent)+w, indent+len(w)
			continue
		}
		if i > 0 {
			line += " "
			n++
		}
		line += w
		n += len(w)
	}
	b.WriteString(line + "\n")
}

const exitUsage = `
Exit status: 0 after a stop by signal, 1 on failure, 2 on a configuration error ('check': 0
when every check passes, 1 when one fails).
`
