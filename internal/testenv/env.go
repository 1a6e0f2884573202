package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The environment variables that point tests at real services.
const (
	EnvKafkaBrokers    = "XK_KAFKA_BROKERS"
	EnvRegistryURL     = "XK_SCHEMA_REGISTRY_URL"
	EnvKafkaRestart    = "XK_KAFKA_RESTART"
	EnvKafkaCrash      = "XK_KAFKA_CRASH"
	EnvRegistryRestart = "XK_REGISTRY_RESTART"
	EnvRequireTools    = "XK_REQUIRE_TOOLS"
	EnvInteropPython   = "XK_INTEROP_PYTHON"
	ReplicationFactor  = 1 // for every topic a test creates: the real broker has one node
)

// Real reports whether tests run against a real Kafka broker (XK_KAFKA_BROKERS is set).
func Real() bool { return os.Getenv(EnvKafkaBrokers) != "" }

// RealRegistry reports whether tests run against a real Schema Registry (XK_SCHEMA_REGISTRY_URL
// is set).
func RealRegistry() bool { return os.Getenv(EnvRegistryURL) != "" }

// Prefix returns a name unique to this call, made from the test's name and a random suffix, such
// as "xk-TestFencing-3f9a1c2e". Use it for everything a test creates on a shared broker or
// registry: topics (prefix + ".invoices"), transactional ids, groups. Call it once per test and
// keep the result.
func Prefix(t testing.TB) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random prefix: %v", err)
	}
	return "xk-" + sanitize(t.Name(), 60) + "-" + hex.EncodeToString(b[:])
}

// sanitize keeps letters and digits, turns runs of anything else into one "-", and cuts the
// result to at most max bytes.
func sanitize(name string, max int) string {
	var sb strings.Builder
	dash := false
	for _, r := range name {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			sb.WriteRune(r)
			dash = false
			continue
		}
		if !dash && sb.Len() > 0 {
			sb.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(sb.String(), "-")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	if s == "" {
		s = "test"
	}
	return s
}

// RepoRoot returns the repository's root directory: the nearest parent of the working
// directory (a package directory, under go test) that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Unavailable skips the test because something it needs is missing, or fails it when
// XK_REQUIRE_TOOLS is set (as make test does), so that a broken installation cannot pass as a
// skipped test.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(EnvRequireTools) != "" {
		t.Fatalf("required by "+EnvRequireTools+": "+format, args...)
	}
	t.Skipf(format, args...)
}
