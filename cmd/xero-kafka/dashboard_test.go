package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Files that query the connector's metrics.
var (
	dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "dashboards", "xero-kafka.json")
	alertsFile    = filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml")
)

// metricName matches the project's metric names in a PromQL expression.
var metricName = regexp.MustCompile(`\bxero_[a-z_]+\b`)

// queriedMetrics returns the metrics the dashboard and the alert examples query, by file.
func queriedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	byFile := map[string][]string{}

	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			byFile[dashboardFile] = append(byFile[dashboardFile], metricName.FindAllString(tg.Expr, -1)...)
		}
	}

	raw, err = os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("%s: a rule without a name or an expression: %+v", alertsFile, r)
			}
			byFile[alertsFile] = append(byFile[alertsFile], metricName.FindAllString(r.Expr, -1)...)
		}
	}
	return byFile
}

// TestDashboardPanels: the dashboard covers throughput, lag, budget, errors and transactions,
// and every panel queries something.
func TestDashboardPanels(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Type    string            `json:"type"`
			Title   string            `json:"title"`
			Targets []json.RawMessage `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, p := range dash.Panels {
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
	}
	for _, want := range []string{"Throughput", "Lag", "Xero budget", "Errors", "Transactions"} {
		if !strings.Contains(strings.Join(rows, ","), want) {
			t.Errorf("no %q row in %v", want, rows)
		}
	}
	if len(queriedMetrics(t)[dashboardFile]) == 0 {
		t.Error("the dashboard queries no metric of the connector")
	}
}

// checkServed checks a running connector's HTTP endpoints at base: /readyz answers ready, and
// /metrics has every metric the dashboard and the alert examples query.
func checkServed(t *testing.T, base string) {
	t.Helper()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	if code, body := get("/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz after the first sync: %d %q", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	_, exposition := get("/metrics")
	served := map[string]bool{}
	for _, line := range strings.Split(exposition, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		served[name] = true
	}
	for file, names := range queriedMetrics(t) {
		var missing []string
		for _, n := range names {
			if !served[n] {
				missing = append(missing, n)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s queries metrics that /metrics does not serve: %v", file, slicesCompact(missing))
		}
	}
}

func slicesCompact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
