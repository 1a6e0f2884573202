package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// checkEnv is a configuration with a client secret and a refresh token for sim, reading three
// streams.
func checkEnv(t *testing.T, sim *xerosim.Sim, kafka testenv.Cluster, registry string) map[string]string {
	t.Helper()
	env := simEnv(t, sim, kafka, registry)
	env["XERO_CLIENT_SECRET"] = sim.ClientSecret()
	env["XERO_REFRESH_TOKEN"] = sim.RefreshToken()
	env["XERO_STREAMS"] = "invoices,journals,contacts"
	return env
}

// runCheck runs 'check' and returns its exit status and table.
func runCheck(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := check(t.Context(), args, envconfig.MapLookuper(env), &stdout, &stderr)
	return exitStatus(err, &stderr), stdout.String()
}

// row returns the table's row of the check named name, and whether it failed.
func row(t *testing.T, table, name string) (line string, failed bool) {
	t.Helper()
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, name+" ") {
			return l, strings.Contains(l, " FAIL ")
		}
	}
	t.Fatalf("no row %q in:\n%s", name, table)
	return "", false
}

func TestCheckPasses(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(41), xerosim.Fast(), xerosim.Volume("invoices", 10))
	t.Cleanup(sim.Close)
	env := checkEnv(t, sim, testenv.Kafka(t), testenv.Registry(t))
	code, table := runCheck(t, env)
	if code != exitOK || strings.Contains(table, "FAIL") {
		t.Fatalf("exit %d:\n%s", code, table)
	}
	for _, name := range []string{"configuration", "kafka reachable", "kafka topics", "kafka transactional id",
		"schema registry reachable", "schema subjects", "state topic", "xero token", "organisations"} {
		row(t, table, name)
	}
	if l, _ := row(t, table, "scope journals"); !strings.Contains(l, "accounting.journals.read") {
		t.Errorf("the journals row does not name its scope: %s", l)
	}
	// The token check rotated the chain and stored the new token: a second check, now
	// without XERO_REFRESH_TOKEN, continues from the state.
	delete(env, "XERO_REFRESH_TOKEN")
	if code, table := runCheck(t, env); code != exitOK {
		t.Fatalf("second check: exit %d:\n%s", code, table)
	}
	if st := sim.Stats(); st.TokenRefreshes != 2 || st.TokenRefreshFailures != 0 {
		t.Errorf("refreshes %d, refused %d; want one each check, none refused", st.TokenRefreshes, st.TokenRefreshFailures)
	}
}

// TestCheckFailures: each kind of failure makes its own row fail, with its own fix, and exit 1.
func TestCheckFailures(t *testing.T) {
	kafka := testenv.Kafka(t)
	registry := testenv.Registry(t)
	otherKey := "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	tests := []struct {
		name    string
		simOpts []xerosim.Option
		before  func(t *testing.T, env map[string]string) // runs a passing check first
		set     map[string]string
		row     string
		fix     string
		// timeout is check's --timeout. The rows that fail by timing out (an address where
		// nothing listens, which the Kafka client retries) take a short one; the others a
		// generous one, as storing the rotated token creates the state topic and runs a first
		// transaction, which a loaded machine's broker can take seconds to do.
		timeout string
	}{
		{name: "bad client secret", set: map[string]string{"XERO_CLIENT_SECRET": "wrong"}, row: "xero token", fix: "XERO_CLIENT_SECRET"},
		{name: "revoked token", set: map[string]string{"XERO_REFRESH_TOKEN": "rt_revoked"}, row: "xero token", fix: "xero-kafka auth"},
		{name: "unknown tenant", set: map[string]string{"XERO_TENANT_ID": "00000000-0000-4000-8000-000000000000"}, row: "organisations", fix: "XERO_TENANT_ID"},
		{name: "missing scope", simOpts: []xerosim.Option{xerosim.RefuseScopes("accounting.journals.read")}, row: "scope journals", fix: "granting accounting.journals.read"},
		{name: "kafka unreachable", set: map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, row: "kafka reachable", fix: "KAFKA_BOOTSTRAP_SERVERS", timeout: "5s"},
		{name: "registry unreachable", set: map[string]string{"SCHEMA_REGISTRY_URL": "http://127.0.0.1:1"}, row: "schema registry reachable", fix: "SCHEMA_REGISTRY_URL", timeout: "5s"},
		{name: "wrong state key", before: func(t *testing.T, env map[string]string) {
			if code, table := runCheck(t, env); code != exitOK {
				t.Fatalf("first check: exit %d:\n%s", code, table)
			}
		}, set: map[string]string{"XERO_STATE_KEY": otherKey}, row: "state topic", fix: "XERO_STATE_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := xerosim.New(append([]xerosim.Option{xerosim.Seed(42), xerosim.Fast()}, tt.simOpts...)...)
			t.Cleanup(sim.Close)
			env := checkEnv(t, sim, kafka, registry)
			if tt.before != nil {
				tt.before(t, env)
			}
			for k, v := range tt.set {
				env[k] = v
			}
			timeout := tt.timeout
			if timeout == "" {
				timeout = "2m"
			}
			code, table := runCheck(t, env, "--timeout", timeout)
			if code != exitFailed {
				t.Fatalf("exit %d, want %d:\n%s", code, exitFailed, table)
			}
			line, failed := row(t, table, tt.row)
			if !failed || !strings.Contains(line, tt.fix) {
				t.Errorf("want %q to fail with a fix naming %q:\n%s", tt.row, tt.fix, table)
			}
			for _, s := range []string{env["XERO_CLIENT_SECRET"], sim.RefreshToken(), env["XERO_STATE_KEY"]} {
				if len(s) > 5 && strings.Contains(table, s) {
					t.Errorf("a secret is in the table:\n%s", table)
				}
			}
		})
	}
}

// TestCheckBesideRunningConnector: 'check' next to a running connector neither fences it nor
// breaks its token chain: the connector keeps running, and when its own refresh token is
// refused (check spent it, and the grace period passed) it continues from the token check
// stored.
func TestCheckBesideRunningConnector(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(43), xerosim.Fast(), xerosim.Volume("invoices", 50))
	t.Cleanup(sim.Close)
	kafka := testenv.Kafka(t)
	env := checkEnv(t, sim, kafka, testenv.Registry(t))
	env["XERO_STREAMS"] = "invoices,currencies"

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var runLog syncBuffer
	go func() { done <- run(ctx, envconfig.MapLookuper(env), &runLog) }()
	countCommitted(t, kafka, env["KAFKA_TOPIC_PREFIX"]+".invoices", 50)

	delete(env, "XERO_REFRESH_TOKEN") // check continues the stored chain
	if code, table := runCheck(t, env); code != exitOK {
		t.Fatalf("check: exit %d:\n%s", code, table)
	}
	refreshes := sim.Stats().TokenRefreshes
	sim.Advance(time.Hour) // the connector's access token and the grace of its spent refresh token pass
	deadline := time.Now().Add(2 * time.Minute)
	for sim.Stats().TokenRefreshes == refreshes {
		select {
		case err := <-done:
			t.Fatalf("the connector stopped: %v\n%s", err, runLog.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connector did not refresh its token within 2m\n%s", runLog.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the connector stopped: %v\n%s", err, runLog.String())
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, runLog.String())
	}
	if st := sim.Stats(); st.TokenRefreshFailures != 1 || !strings.Contains(runLog.String(), "spent by another process") {
		t.Errorf("refused refreshes %d (want the connector's spent token, once); log:\n%s", st.TokenRefreshFailures, runLog.String())
	}
}
