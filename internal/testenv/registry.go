package testenv

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// Registry returns the base URL of a Confluent-compatible Schema Registry: the real one when
// XK_SCHEMA_REGISTRY_URL is set, else a new srfake registry that is closed when the test ends.
func Registry(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvRegistryURL); u != "" {
		return u
	}
	reg := srfake.New()
	t.Cleanup(reg.Close)
	return reg.URL()
}

// RestartRegistry stops the real registry and starts it again, with the services script (or
// XK_REGISTRY_RESTART). Only the real registry can be restarted: on srfake the test is
// skipped. The registry must come back with every schema it had.
func RestartRegistry(t testing.TB) {
	t.Helper()
	if !RealRegistry() {
		t.Skip("srfake keeps its schemas only in the test's memory: a restart is a real registry's")
	}
	var cmd *exec.Cmd
	if c := os.Getenv(EnvRegistryRestart); c != "" {
		cmd = exec.CommandContext(t.Context(), "bash", "-c", c)
	} else {
		cmd = exec.CommandContext(t.Context(), "bash", filepath.Join(RepoRoot(t), "scripts", "services.sh"), "restart", "registry")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("restart the registry (%s): %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	t.Logf("restarted the registry:\n%s", strings.TrimSpace(string(out)))
}

// registryTimeout bounds one request of a test's registry client: a safety net, not a
// performance bound. franz-go's default, 5 s, is shorter than srfake's answers can take on a
// loaded machine under the race detector, and each timeout costs a connector a setup retry
// after a growing wait.
const registryTimeout = time.Minute

// RegistryClient returns a franz-go Schema Registry client of the registry at url. Its
// connections are closed when the test ends: a real registry outlives the test, and would keep
// an idle connection (and its goroutines) open.
func RegistryClient(t testing.TB, url string) *sr.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	cl, err := sr.NewClient(sr.URLs(url), sr.HTTPClient(&http.Client{Transport: tr, Timeout: registryTimeout}))
	if err != nil {
		t.Fatalf("schema registry client for %s: %v", url, err)
	}
	return cl
}
