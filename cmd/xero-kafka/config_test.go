package main

import (
	"bytes"
	"maps"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/xero-kafka/xero-kafka/connector"
)

// badValues holds, for every variable of connector.Settings, a value the program must refuse
// (with the variables it needs beside it, if any). A new variable without one fails
// TestEveryVariableRefusesABadValue.
var badValues = map[string]map[string]string{
	"XERO_CLIENT_ID":                 {"XERO_CLIENT_ID": ""},
	"XERO_CLIENT_SECRET":             {"XERO_CLIENT_SECRET": "secret\n"},
	"XERO_REFRESH_TOKEN":             {"XERO_REFRESH_TOKEN": "tok\ten"},
	"XERO_GRANT":                     {"XERO_GRANT": "password"},
	"XERO_SCOPES":                    {"XERO_SCOPES": "all"},
	"XERO_AUTH_PORT":                 {"XERO_AUTH_PORT": "70000"},
	"XERO_STATE_KEY":                 {"XERO_STATE_KEY": "c2hvcnQ="},
	"XERO_TENANT_ID":                 {"XERO_TENANT_ID": "acme"},
	"XERO_STREAMS":                   {"XERO_STREAMS": "invoices,widgets"},
	"XERO_START_DATE":                {"XERO_START_DATE": "yesterday"},
	"XERO_API_URL":                   {"XERO_API_URL": "ftp://x"},
	"XERO_IDENTITY_URL":              {"XERO_IDENTITY_URL": "identity.xero.com"},
	"XERO_LOGIN_URL":                 {"XERO_LOGIN_URL": "http://"},
	"XERO_DAY_LIMIT":                 {"XERO_DAY_LIMIT": "0"},
	"XERO_POLL_INTERVAL":             {"XERO_POLL_INTERVAL": "-1m"},
	"XERO_FULL_TABLE_INTERVAL":       {"XERO_FULL_TABLE_INTERVAL": "soon"},
	"XERO_REQUEST_TIMEOUT":           {"XERO_REQUEST_TIMEOUT": "0s"},
	"KAFKA_BOOTSTRAP_SERVERS":        {"KAFKA_BOOTSTRAP_SERVERS": "kafka"},
	"KAFKA_TOPIC_PREFIX":             {"KAFKA_TOPIC_PREFIX": "my topics"},
	"KAFKA_STATE_TOPIC":              {"KAFKA_STATE_TOPIC": "state/topic"},
	"KAFKA_DEAD_LETTER_TOPIC":        {"KAFKA_DEAD_LETTER_TOPIC": "dead letters"},
	"KAFKA_TRANSACTIONAL_ID":         {"KAFKA_TRANSACTIONAL_ID": "id with spaces"},
	"KAFKA_TRANSACTION_TIMEOUT":      {"KAFKA_TRANSACTION_TIMEOUT": "0s"},
	"KAFKA_TOPIC_PARTITIONS":         {"KAFKA_TOPIC_PARTITIONS": "0"},
	"KAFKA_TOPIC_REPLICATION_FACTOR": {"KAFKA_TOPIC_REPLICATION_FACTOR": "0"},
	"KAFKA_TOPIC_CLEANUP_POLICY":     {"KAFKA_TOPIC_CLEANUP_POLICY": "forever"},
	"KAFKA_TLS":                      {"KAFKA_TLS": "maybe"},
	"KAFKA_TLS_CA_FILE":              {"KAFKA_TLS_CA_FILE": "/nonexistent/ca.pem"},
	"KAFKA_SASL_MECHANISM":           {"KAFKA_SASL_MECHANISM": "GSSAPI"},
	"KAFKA_SASL_USERNAME":            {"KAFKA_SASL_USERNAME": "user", "KAFKA_SASL_MECHANISM": "PLAIN"},
	"KAFKA_SASL_PASSWORD":            {"KAFKA_SASL_PASSWORD": "pass\n"},
	"KAFKA_MAX_TRANSACTION_RECORDS":  {"KAFKA_MAX_TRANSACTION_RECORDS": "0"},
	"KAFKA_COMPRESSION":              {"KAFKA_COMPRESSION": "brotli"},
	"SCHEMA_REGISTRY_URL":            {"SCHEMA_REGISTRY_URL": "registry:8081"},
	"SCHEMA_REGISTRY_USERNAME":       {"SCHEMA_REGISTRY_USERNAME": "user"},
	"SCHEMA_REGISTRY_PASSWORD":       {"SCHEMA_REGISTRY_PASSWORD": "pass\r"},
	"HTTP_ADDR":                      {"HTTP_ADDR": "localhost"},
	"METRICS_PER_TENANT":             {"METRICS_PER_TENANT": "perhaps"},
	"PAGE_MEMORY_MIB":                {"PAGE_MEMORY_MIB": "-1"},
	"MEMORY_LIMIT_MIB":               {"MEMORY_LIMIT_MIB": "200MiB"},
	"SYNC_WORKERS":                   {"SYNC_WORKERS": "0"},
	"LOG_LEVEL":                      {"LOG_LEVEL": "loud"},
	"LOG_FORMAT":                     {"LOG_FORMAT": "xml"},
	"KAFKA_LOG_LEVEL":                {"KAFKA_LOG_LEVEL": "loud"},
}

// TestEveryVariableRefusesABadValue: for each variable of the one table, a bad value stops
// 'run' with status 2 and one line naming the variable, before any network call.
func TestEveryVariableRefusesABadValue(t *testing.T) {
	for _, s := range connector.Settings() {
		t.Run(s.Var, func(t *testing.T) {
			bad, ok := badValues[s.Var]
			if !ok {
				t.Fatalf("no bad value of %s in this test", s.Var)
			}
			env := validEnv()
			maps.Copy(env, bad)
			var stdout, stderr bytes.Buffer
			code := realMain([]string{"run"}, envconfig.MapLookuper(env), &stdout, &stderr)
			if code != exitConfig {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitConfig, stderr.String())
			}
			out := strings.TrimSpace(stderr.String())
			if strings.Contains(out, "\n") {
				t.Errorf("want one line, got:\n%s", out)
			}
			if !strings.Contains(out, s.Var) {
				t.Errorf("%q does not name %s", out, s.Var)
			}
		})
	}
}

// TestDefaultsComeFromTheTable: every variable left unset reads as its default in
// connector.Settings, and setting it to another value changes the configuration (the
// variable is really read); the connector's own defaults (DefaultConfig) are the same.
func TestDefaultsComeFromTheTable(t *testing.T) {
	// A valid value other than the default, for each variable that has a default.
	other := map[string]string{
		"XERO_GRANT": "client_credentials", "XERO_SCOPES": "broad", "XERO_AUTH_PORT": "9999",
		"XERO_API_URL": "http://api.test", "XERO_IDENTITY_URL": "http://identity.test",
		"XERO_LOGIN_URL": "http://login.test", "XERO_DAY_LIMIT": "1000",
		"XERO_FULL_TABLE_INTERVAL": "1h", "XERO_REQUEST_TIMEOUT": "5s",
		"KAFKA_TOPIC_PREFIX": "acme", "KAFKA_STATE_TOPIC": "acme-state",
		"KAFKA_TRANSACTIONAL_ID": "acme-1", "KAFKA_TRANSACTION_TIMEOUT": "30s",
		"KAFKA_TOPIC_PARTITIONS": "3", "KAFKA_TOPIC_REPLICATION_FACTOR": "3",
		"KAFKA_TOPIC_CLEANUP_POLICY": "delete", "KAFKA_TLS": "true",
		"KAFKA_MAX_TRANSACTION_RECORDS": "500", "KAFKA_COMPRESSION": "none", "HTTP_ADDR": ":9090", "METRICS_PER_TENANT": "true", "PAGE_MEMORY_MIB": "64", "MEMORY_LIMIT_MIB": "0", "SYNC_WORKERS": "50",
		"LOG_LEVEL": "debug", "LOG_FORMAT": "json", "KAFKA_LOG_LEVEL": "error",
	}
	base, err := readEnv(t.Context(), envconfig.MapLookuper(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range connector.Settings() {
		if s.Default == "" {
			continue
		}
		t.Run(s.Var, func(t *testing.T) {
			env := validEnv()
			env[s.Var] = s.Default
			explicit, err := readEnv(t.Context(), envconfig.MapLookuper(env))
			if err != nil {
				t.Fatalf("%s=%s: %v", s.Var, s.Default, err)
			}
			if !reflect.DeepEqual(base, explicit) {
				t.Errorf("unset and %s=%s read differently", s.Var, s.Default)
			}
			v, ok := other[s.Var]
			if !ok {
				t.Fatalf("no other value of %s in this test", s.Var)
			}
			env[s.Var] = v
			if s.Var == "XERO_GRANT" {
				env["XERO_REFRESH_TOKEN"] = ""
			}
			changed, err := readEnv(t.Context(), envconfig.MapLookuper(env))
			if err != nil {
				t.Fatalf("%s=%s: %v", s.Var, v, err)
			}
			if reflect.DeepEqual(base, changed) {
				t.Errorf("%s=%s reads as the default", s.Var, v)
			}
		})
	}
	// The connector's defaults are the environment's.
	got := base.connectorConfig()
	want := connector.DefaultConfig()
	got.Xero.ClientID, got.Xero.ClientSecret, got.RefreshToken = "", "", ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the environment's defaults make\n%+v\nconnector.DefaultConfig is\n%+v", got, want)
	}
}

// TestHelpAndREADMEFollowTheTable: 'xero-kafka help' and README.md's configuration table list
// every variable of connector.Settings with its default, and no variable the table lacks.
func TestHelpAndREADMEFollowTheTable(t *testing.T) {
	help := usage()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // variable -> its README row
	for line := range strings.SplitSeq(string(readme), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		for _, v := range regexp.MustCompile("`([A-Z][A-Z_]+)`").FindAllStringSubmatch(cells[1], -1) {
			rows[v[1]] = line
		}
	}
	known := map[string]bool{}
	for _, s := range connector.Settings() {
		known[s.Var] = true
		if !regexp.MustCompile(`(?m)^  ` + s.Var + `\b`).MatchString(help) {
			t.Errorf("help does not list %s", s.Var)
		}
		row, ok := rows[s.Var]
		if !ok {
			t.Errorf("README's configuration table does not list %s", s.Var)
			continue
		}
		if s.Default != "" && !strings.Contains(strings.Join(strings.Fields(help), " "), "default "+s.Default) {
			t.Errorf("help does not give %s's default %s", s.Var, s.Default)
		}
		if s.Default != "" && !strings.Contains(strings.Split(row, "|")[2], s.Default) {
			t.Errorf("README gives %s another default than %s: %s", s.Var, s.Default, row)
		}
		if s.Required && !strings.Contains(row, "required") {
			t.Errorf("README does not say %s is required: %s", s.Var, row)
		}
	}
	for v := range rows {
		if (strings.HasPrefix(v, "XERO_") || strings.HasPrefix(v, "KAFKA_") || strings.HasPrefix(v, "SCHEMA_REGISTRY_")) && !known[v] {
			t.Errorf("README's table lists %s, which the program does not read", v)
		}
	}
}

// TestGOMEMLIMITReplacesMemoryLimit: with GOMEMLIMIT set, the connector is given no way to set
// the runtime's memory limit, so MEMORY_LIMIT_MIB does not override the user's limit.
func TestGOMEMLIMITReplacesMemoryLimit(t *testing.T) {
	if memoryLimitSetter(envconfig.MapLookuper(map[string]string{"GOMEMLIMIT": "300MiB"})) != nil {
		t.Error("GOMEMLIMIT set, and the connector may still set the limit")
	}
	if memoryLimitSetter(envconfig.MapLookuper(map[string]string{})) == nil {
		t.Error("GOMEMLIMIT unset, and the connector cannot set the limit")
	}
}
