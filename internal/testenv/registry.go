package testenv

import (
	"os"
	"testing"

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

// RegistryClient returns a franz-go Schema Registry client of the registry at url.
func RegistryClient(t testing.TB, url string) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatalf("schema registry client for %s: %v", url, err)
	}
	return cl
}
