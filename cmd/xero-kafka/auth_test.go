package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// simEnv is the configuration of auth and run against sim, the test's Kafka and registry, with
// no client secret (a public client: PKCE) and no refresh token.
func simEnv(t *testing.T, sim *xerosim.Sim, kafka testenv.Cluster, registry string) map[string]string {
	t.Helper()
	prefix := testenv.Prefix(t)
	return map[string]string{
		"XERO_CLIENT_ID":                 sim.ClientID(),
		"XERO_STATE_KEY":                 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"XERO_API_URL":                   sim.URL(),
		"XERO_IDENTITY_URL":              sim.URL(),
		"XERO_LOGIN_URL":                 sim.URL(),
		"XERO_AUTH_PORT":                 "0",
		"XERO_STREAMS":                   "invoices,contacts,currencies",
		"XERO_POLL_INTERVAL":             "200ms",
		"KAFKA_BOOTSTRAP_SERVERS":        strings.Join(kafka.Brokers, ","),
		"KAFKA_TOPIC_PREFIX":             prefix,
		"KAFKA_STATE_TOPIC":              prefix + "._state",
		"KAFKA_TRANSACTIONAL_ID":         prefix,
		"KAFKA_TOPIC_REPLICATION_FACTOR": "1",
		"SCHEMA_REGISTRY_URL":            registry,
		"HTTP_ADDR":                      "127.0.0.1:0",
	}
}

// stateRecords reads the state topic read_committed until it holds a token record, and returns
// everything read.
func stateRecords(t *testing.T, kafka testenv.Cluster, topic string) []*kgo.Record {
	t.Helper()
	cl := kafka.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var recs []*kgo.Record
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no token record in %s", topic)
		}
		recs = append(recs, fs.Records()...)
		for _, r := range recs {
			if string(r.Key) == "token" {
				return recs
			}
		}
	}
}

// countCommitted waits until topic holds want committed records.
func countCommitted(t *testing.T, kafka testenv.Cluster, topic string, want int) {
	t.Helper()
	cl := kafka.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	n := 0
	for n < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: %d committed records, want %d", topic, n, want)
		}
		n += len(fs.Records())
	}
}

// TestAuthThenRun drives 'auth' against the simulator, the browser played by the test: the
// token lands encrypted in the state topic, and a following 'run' without XERO_REFRESH_TOKEN
// continues that chain and syncs.
func TestAuthThenRun(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(31), xerosim.Tenants(2), xerosim.Volume("invoices", 120), xerosim.Fast())
	t.Cleanup(sim.Close)
	kafka := testenv.Kafka(t)
	env := simEnv(t, sim, kafka, testenv.Registry(t))

	var stdout, stderr bytes.Buffer
	browse := func(u string) error { return sim.Consent(t.Context(), u, true) }
	if err := auth(t.Context(), nil, envconfig.MapLookuper(env), &stdout, &stderr, browse); err != nil {
		t.Fatalf("auth: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"Redirect URI (add it to your Xero app exactly as written): http://localhost:", "/callback",
		"accounting.invoices.read", "accounting.contacts.read", "offline_access", "PKCE", sim.Tenants()[0], sim.Tenants()[1], "xero-kafka run"} {
		if !strings.Contains(out, want) {
			t.Errorf("auth's output lacks %q:\n%s", want, out)
		}
	}
	token := sim.RefreshToken() // the chain the authorisation started
	recs := stateRecords(t, kafka, env["KAFKA_STATE_TOPIC"])
	for _, r := range recs {
		if bytes.Contains(r.Value, []byte(token)) || strings.Contains(out+stderr.String(), token) {
			t.Fatal("the refresh token is stored or printed in clear")
		}
		if string(r.Key) == "startup" {
			t.Error("auth wrote a startup marker, which would stop a running connector")
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var runLog syncBuffer
	go func() { done <- run(ctx, envconfig.MapLookuper(env), &runLog) }()
	want := 0
	for _, tenant := range sim.Tenants() {
		recs, err := sim.Truth(tenant, "invoices")
		if err != nil {
			t.Fatal(err)
		}
		want += len(recs)
	}
	countCommitted(t, kafka, env["KAFKA_TOPIC_PREFIX"]+".invoices", want)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, runLog.String())
	}
	if !strings.Contains(runLog.String(), "continuing the chain stored in the state") {
		t.Errorf("run did not say it continued the stored chain:\n%s", runLog.String())
	}
	if st := sim.Stats(); st.TokenRefreshes < 1 || st.TokenRefreshFailures != 0 {
		t.Errorf("refreshes %d, refused %d: run must spend the stored token once", st.TokenRefreshes, st.TokenRefreshFailures)
	}
}

// TestAuthFailures: a denied consent, an answer with another state and no answer at all each
// end 'auth' with one line and a non-zero status, and store nothing.
func TestAuthFailures(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(32), xerosim.Fast())
	t.Cleanup(sim.Close)
	kafka := testenv.Kafka(t)
	env := simEnv(t, sim, kafka, "")
	tests := []struct {
		name   string
		args   []string
		browse func(string) error
		want   string
	}{
		{"consent denied", nil, func(u string) error { return sim.Consent(t.Context(), u, false) }, "consent denied"},
		{"another state", nil, func(u string) error {
			p, _ := url.Parse(u)
			q := p.Query()
			q.Set("state", "forged")
			p.RawQuery = q.Encode()
			return sim.Consent(t.Context(), p.String(), true)
		}, "state does not match"},
		{"no answer", []string{"--timeout", "300ms"}, func(string) error { return nil }, "no answer from the browser within 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := auth(t.Context(), tt.args, envconfig.MapLookuper(env), &stdout, &stderr, tt.browse)
			code := exitStatus(err, &stderr)
			if code == exitOK {
				t.Fatalf("exit 0\n%s", stdout.String())
			}
			line := stderr.String()
			if strings.Count(strings.TrimSpace(line), "\n") != 0 || !strings.Contains(line, tt.want) {
				t.Errorf("want one line saying %q, got:\n%s", tt.want, line)
			}
		})
	}
	admin := kafka.Admin(t)
	topics, err := admin.ListTopics(t.Context(), env["KAFKA_STATE_TOPIC"])
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has(env["KAFKA_STATE_TOPIC"]) {
		t.Error("a failed authorisation created the state topic")
	}
}
