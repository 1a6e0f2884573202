package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
)

// adminSuffix makes the transactional id of the commands that write to the state topic beside
// a running connector (auth, check): an id of their own, so they never fence it.
const adminSuffix = "-admin"

const authUsage = `usage: xero-kafka auth [--timeout 5m] [--no-browser]

Authorises the Xero app for the organisations you choose and stores the refresh token,
encrypted with XERO_STATE_KEY, in the state topic, where 'xero-kafka run' takes it up.

It prints the redirect URI to register in the Xero app (http://localhost:XERO_AUTH_PORT/callback)
and the authorise URL (and opens a browser where there is one), asking for the scopes of the
configured streams (XERO_STREAMS, XERO_SCOPES) and offline_access. It then waits for Xero to
send the browser back, checks the answer's state, exchanges the code (with PKCE when
XERO_CLIENT_SECRET is empty), commits the refresh token as the start of the chain and lists
the connected organisations. It writes with the transactional id KAFKA_TRANSACTIONAL_ID-admin and no
startup marker, so a running connector is not fenced.

It uses the variables of 'run' except SCHEMA_REGISTRY_URL and XERO_REFRESH_TOKEN.

Flags:
`

// auth is `xero-kafka auth`. browse opens a URL in the user's browser.
func auth(ctx context.Context, args []string, lookup envconfig.Lookuper, stdout, stderr io.Writer, browse func(string) error) error {
	fs := flag.NewFlagSet("auth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, authUsage); fs.PrintDefaults() }
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the browser to come back")
	noBrowser := fs.Bool("no-browser", false, "only print the URL")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &configError{msg: err.Error()}
	}
	e, err := readEnvFor(ctx, lookup, true)
	if err != nil {
		return err
	}
	if e.Xero.Grant == connector.GrantClientCredentials {
		return badConfig("XERO_GRANT", "client_credentials (a custom connection) needs no authorisation: start 'xero-kafka run'")
	}
	key, _ := stateKey(e.Xero.StateKey)
	sealer, err := offsets.NewAESGCM(key)
	if err != nil {
		return badConfig("XERO_STATE_KEY", "%v", err)
	}
	scopes, err := e.scopes()
	if err != nil {
		return err
	}
	kafka, err := e.kafkaOpts()
	if err != nil {
		return err
	}
	cfg := e.connectorConfig().Xero

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(e.Xero.AuthPort)))
	if err != nil {
		return fmt.Errorf("listen for Xero's redirect on port %d (XERO_AUTH_PORT): %w", e.Xero.AuthPort, err)
	}
	defer ln.Close()
	redirect := fmt.Sprintf("http://localhost:%d/callback", ln.Addr().(*net.TCPAddr).Port)
	a, err := xero.NewAuthorization(cfg, redirect, scopes)
	if err != nil {
		return &configError{msg: err.Error()}
	}

	results := make(chan authResult, 1)
	srv := &http.Server{Handler: callbackHandler(a, results), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	fmt.Fprintf(stdout, "Redirect URI (add it to your Xero app exactly as written): %s\n", redirect)
	fmt.Fprintf(stdout, "Scopes: %s\n", strings.Join(scopes, " "))
	if a.PKCE() {
		fmt.Fprintln(stdout, "No XERO_CLIENT_SECRET: the code is proven with PKCE.")
	}
	fmt.Fprintf(stdout, "Open this URL to authorise the app, then choose the organisations to connect:\n\n  %s\n\n", a.URL())
	if !*noBrowser && browse != nil {
		if err := browse(a.URL()); err != nil {
			fmt.Fprintln(stdout, "(no browser could be opened: open the URL yourself)")
		}
	}

	var res authResult
	timer := time.NewTimer(*timeout)
	defer timer.Stop()
	select {
	case res = <-results:
	case <-timer.C:
		return fmt.Errorf("authorisation: no answer from the browser within %s: open the URL above and consent, or check that %s is registered in the Xero app", *timeout, redirect)
	case <-ctx.Done():
		return errors.New("authorisation: stopped before the browser came back")
	}
	if res.err != nil {
		switch {
		case errors.Is(res.err, xero.ErrConsentDenied):
			return fmt.Errorf("authorisation: %w: nothing was stored; run 'xero-kafka auth' again and allow access", res.err)
		case errors.Is(res.err, xero.ErrStateMismatch):
			return fmt.Errorf("authorisation: the answer's state does not match this authorisation: it came from another or a stale authorise page, and was not used; run 'xero-kafka auth' again")
		}
		return fmt.Errorf("authorisation: %w", res.err)
	}

	producer, err := kgo.NewClient(append(kafka, kgo.TransactionalID(e.Kafka.TransactionalID+adminSuffix))...)
	if err != nil {
		return fmt.Errorf("kafka producer: %w", err)
	}
	defer producer.Close()
	store := &chainStart{producer: producer, topic: e.Kafka.StateTopic, sealer: sealer}
	log := newLogger(stderr, levelOf(e.LogLevel), e.LogFormat)
	api, err := xero.NewClientFromGrant(cfg, res.grant, store, log.With("component", "xero"), nil)
	if err != nil {
		return err
	}
	// Store the chain's first token before anything spends it.
	if err := offsets.CreateTopic(ctx, kadm.NewClient(producer), e.Kafka.StateTopic, e.Kafka.TopicReplication); err != nil {
		return err
	}
	if err := store.SaveRefreshToken(ctx, res.grant.RefreshToken()); err != nil {
		return err
	}
	conns, err := api.Connections(ctx)
	if err != nil {
		return fmt.Errorf("list the connected organisations: %w", err)
	}
	fmt.Fprintln(stdout, "Connected organisations:")
	for _, c := range conns {
		fmt.Fprintf(stdout, "  %s  %s (%s)\n", c.TenantID, c.TenantName, strings.ToLower(c.TenantType))
	}
	if len(conns) == 0 {
		fmt.Fprintln(stdout, "  none: run 'xero-kafka auth' again and choose an organisation on Xero's consent page")
	}
	fmt.Fprintf(stdout, "The refresh token is stored, encrypted, in %s: start the connector with 'xero-kafka run'.\n", e.Kafka.StateTopic)
	if e.Xero.RefreshToken != "" {
		fmt.Fprintln(stdout, "Unset XERO_REFRESH_TOKEN first: 'run' would seed a new chain from it instead.")
	}
	return nil
}

// authResult is what the redirect brought.
type authResult struct {
	grant *xero.Grant
	err   error
}

// callbackHandler serves the redirect URI: the first answer completes the authorisation and
// goes to results; the browser gets a page saying what happened.
func callbackHandler(a *xero.Authorization, results chan<- authResult) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		g, err := a.Complete(r.Context(), r.URL.Query())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		msg := "xero-kafka is authorised. You can close this window and go back to the terminal."
		if err != nil {
			msg = "xero-kafka was not authorised: " + err.Error() + ". Go back to the terminal."
		}
		fmt.Fprintf(w, "<!doctype html><title>xero-kafka</title><p>%s</p>\n", html.EscapeString(msg))
		select {
		case results <- authResult{grant: g, err: err}:
		default: // an answer is already in: this one is ignored
		}
	})
	return mux
}

// chainStart commits refresh tokens to the state topic, each as the start of a chain (its
// seed hash is its own), in a transaction of its own.
type chainStart struct {
	producer *kgo.Client
	topic    string
	sealer   offsets.Sealer
}

func (s *chainStart) SaveRefreshToken(ctx context.Context, rt string) error {
	rec, err := offsets.TokenRecord(s.topic, offsets.Token{RefreshToken: rt, SeedHash: offsets.HashSeed(rt), SavedAt: time.Now()}, s.sealer)
	if err != nil {
		return err
	}
	return s.commit(ctx, rec)
}

// commit writes rec in a transaction of its own.
func (s *chainStart) commit(ctx context.Context, rec *kgo.Record) error {
	if err := s.producer.BeginTransaction(); err != nil {
		return fmt.Errorf("store the refresh token in %s: %w", s.topic, err)
	}
	if err := s.producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
		_ = s.producer.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort)
		return fmt.Errorf("store the refresh token in %s: %w", s.topic, err)
	}
	if err := s.producer.EndTransaction(ctx, kgo.TryCommit); err != nil {
		_ = s.producer.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort)
		return fmt.Errorf("store the refresh token in %s: commit: %w", s.topic, err)
	}
	return nil
}

// scopes are the scopes the configured streams need.
func (e *env) scopes() ([]string, error) {
	names := e.Xero.Streams
	if len(names) == 0 {
		names = streams.Names()
	}
	paths := make([]string, 0, len(names))
	for _, n := range names {
		s, ok := streams.ByName(strings.TrimSpace(n))
		if !ok {
			return nil, badConfig("XERO_STREAMS", "stream %q: unknown", n)
		}
		paths = append(paths, s.Path)
	}
	return xero.Scopes(paths, e.Xero.Scopes == "broad"), nil
}

// levelOf is the log level of LOG_LEVEL, already checked.
func levelOf(s string) slog.Level {
	l, _ := slogLevel(s)
	return l
}

// openBrowser opens url in the desktop's browser, where there is one.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no display")
		}
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
