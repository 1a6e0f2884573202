package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// validEnv is a complete configuration; tests change one variable at a time.
func validEnv() map[string]string {
	return map[string]string{
		"XERO_CLIENT_ID":          "client",
		"XERO_CLIENT_SECRET":      "very-secret-client-secret",
		"XERO_REFRESH_TOKEN":      "very-secret-refresh-token",
		"XERO_STATE_KEY":          "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
		"SCHEMA_REGISTRY_URL":     "http://127.0.0.1:1",
	}
}

// TestConfigErrors: a missing or malformed variable stops the program with status 2 and one
// line naming the variable, before any network call, and no secret in it.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name     string
		set      map[string]string
		unset    string
		variable string
	}{
		{"missing client id", nil, "XERO_CLIENT_ID", "XERO_CLIENT_ID"},
		{"empty brokers", map[string]string{"KAFKA_BOOTSTRAP_SERVERS": ""}, "", "KAFKA_BOOTSTRAP_SERVERS"},
		{"broker without port", map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "kafka"}, "", "KAFKA_BOOTSTRAP_SERVERS"},
		{"tenant not a UUID", map[string]string{"XERO_TENANT_ID": "3f2a9c1d-0b4e-4c6a-9f1e-2d7b8a6c5e43,acme"}, "", "XERO_TENANT_ID"},
		{"HTTP_ADDR without port", map[string]string{"HTTP_ADDR": "localhost"}, "", "HTTP_ADDR"},
		{"HTTP_ADDR bad port", map[string]string{"HTTP_ADDR": ":80800"}, "", "HTTP_ADDR"},
		{"unknown grant", map[string]string{"XERO_GRANT": "password"}, "", "XERO_GRANT"},
		{"custom connection without secret", map[string]string{"XERO_GRANT": "client_credentials"}, "XERO_CLIENT_SECRET", "XERO_CLIENT_SECRET"},
		{"unknown scope set", map[string]string{"XERO_SCOPES": "all"}, "", "XERO_SCOPES"},
		{"missing state key", nil, "XERO_STATE_KEY", "XERO_STATE_KEY"},
		{"missing brokers", nil, "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"},
		{"missing registry", nil, "SCHEMA_REGISTRY_URL", "SCHEMA_REGISTRY_URL"},
		{"short state key", map[string]string{"XERO_STATE_KEY": "c2hvcnQ="}, "", "XERO_STATE_KEY"},
		{"day limit not a number", map[string]string{"XERO_DAY_LIMIT": "lots"}, "", "XERO_DAY_LIMIT"},
		{"day limit zero", map[string]string{"XERO_DAY_LIMIT": "0"}, "", "XERO_DAY_LIMIT"},
		{"bad duration", map[string]string{"XERO_POLL_INTERVAL": "soon"}, "", "XERO_POLL_INTERVAL"},
		{"bad start date", map[string]string{"XERO_START_DATE": "yesterday"}, "", "XERO_START_DATE"},
		{"bad partitions", map[string]string{"KAFKA_TOPIC_PARTITIONS": "0"}, "", "KAFKA_TOPIC_PARTITIONS"},
		{"partitions not a number", map[string]string{"KAFKA_TOPIC_PARTITIONS": "x"}, "", "KAFKA_TOPIC_PARTITIONS"},
		{"registry not a URL", map[string]string{"SCHEMA_REGISTRY_URL": "registry:8081"}, "", "SCHEMA_REGISTRY_URL"},
		{"api not a URL", map[string]string{"XERO_API_URL": "ftp://x"}, "", "XERO_API_URL"},
		{"unknown SASL", map[string]string{"KAFKA_SASL_MECHANISM": "GSSAPI"}, "", "KAFKA_SASL_MECHANISM"},
		{"SASL without password", map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u"}, "", "KAFKA_SASL_USERNAME"},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, "", "LOG_LEVEL"},
		{"bad log format", map[string]string{"LOG_FORMAT": "xml"}, "", "LOG_FORMAT"},
		{"unknown stream", map[string]string{"XERO_STREAMS": "invoices,widgets"}, "", "XERO_STREAMS"},
		{"bad cleanup policy", map[string]string{"KAFKA_TOPIC_CLEANUP_POLICY": "forever"}, "", "KAFKA_TOPIC_CLEANUP_POLICY"},
		{"negative page memory", map[string]string{"PAGE_MEMORY_MIB": "-1"}, "", "PAGE_MEMORY_MIB"},
		{"page memory not a number", map[string]string{"PAGE_MEMORY_MIB": "lots"}, "", "PAGE_MEMORY_MIB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := validEnv()
			for k, v := range tt.set {
				env[k] = v
			}
			delete(env, tt.unset)
			var stdout, stderr bytes.Buffer
			code := realMain([]string{"run"}, envconfig.MapLookuper(env), &stdout, &stderr)
			if code != exitConfig {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitConfig, stderr.String())
			}
			out := stderr.String()
			if strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("want one line, got:\n%s", out)
			}
			if !strings.Contains(out, tt.variable) {
				t.Errorf("%q does not name %s", out, tt.variable)
			}
			for _, s := range []string{"very-secret-client-secret", "very-secret-refresh-token", env["XERO_STATE_KEY"]} {
				if s != "" && strings.Contains(out, s) {
					t.Errorf("a secret is in the error: %q", out)
				}
			}
		})
	}
}

// TestPageMemoryLimit: PAGE_MEMORY_MIB is MiB, and 0 turns the limit off.
func TestPageMemoryLimit(t *testing.T) {
	for mib, want := range map[int]int64{16: 16 << 20, 1: 1 << 20, 0: -1} {
		if got := pageMemoryLimit(mib); got != want {
			t.Errorf("PAGE_MEMORY_MIB=%d: limit %d, want %d", mib, got, want)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"launch"}, envconfig.MapLookuper(nil), &stdout, &stderr); code != exitConfig {
		t.Fatalf("exit %d, want %d", code, exitConfig)
	}
	if code := realMain([]string{"help"}, envconfig.MapLookuper(nil), &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "XERO_STATE_KEY") {
		t.Fatalf("help: exit %d, output %q", code, stdout.String())
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	s := secret("hunter2")
	for _, out := range []string{s.String(), s.GoString(), s.LogValue().String()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret printed: %q", out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemo runs the demo as a newcomer would, on free ports: its first sync ends with all 26
// topics, 25 with data and employees empty with its warning, and a summary.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- demo(ctx, []string{
			"--kafka-addr", "127.0.0.1:0", "--registry-addr", "127.0.0.1:0",
			"--sim-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--mutation-rate", "20",
		}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(stdout.String(), "records written (+") {
		select {
		case err := <-done:
			t.Fatalf("demo ended: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no changes streamed after the first sync within 3m\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	m := regexp.MustCompile(`Status\s+http://(\S+)/status`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no status address in:\n%s", stdout.String())
	}
	checkServed(t, "http://"+m[1])
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v", err)
	}
	out := stdout.String()
	if !strings.Contains(out, "First full sync done") {
		t.Fatalf("no summary:\n%s", out)
	}
	rows := regexp.MustCompile(`(?m)^\s*xero\.(\w+)\s+(\d+)\s+(\d+)\s*$`).FindAllStringSubmatch(out, -1)
	if len(rows) != 26 {
		t.Fatalf("summary has %d topics, want 26:\n%s", len(rows), out)
	}
	for _, r := range rows {
		switch {
		case r[1] == "employees" && r[2] != "0":
			t.Errorf("employees has %s records, want 0", r[2])
		case r[1] != "employees" && r[2] == "0":
			t.Errorf("%s has no records", r[1])
		case r[3] != "0":
			t.Errorf("%s has %s dead letters", r[1], r[3])
		}
	}
	if !strings.Contains(out, "employees: Xero has removed /Employees (404)") {
		t.Errorf("no warning for employees:\n%s", out)
	}
}
