package avro

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"
	"github.com/xero-kafka/xero-kafka/internal/avrocheck"
)

// repoRoot returns the directory holding go.mod.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// specPath returns Xero's OpenAPI spec from XERO_OPENAPI_SPEC (default
// ../shared/xero/openapi/xero_accounting.yaml; relative paths are taken from the repository
// root), or skips the test when it is absent.
func specPath(tb testing.TB) string {
	tb.Helper()
	p, ok := findSpec(tb)
	if !ok {
		tb.Skipf("Xero's OpenAPI spec is not at %s: set XERO_OPENAPI_SPEC to the path of xero_accounting.yaml", p)
	}
	return p
}

// findSpec returns where Xero's spec should be and whether it is there.
func findSpec(tb testing.TB) (string, bool) {
	tb.Helper()
	p := os.Getenv("XERO_OPENAPI_SPEC")
	if p == "" {
		p = "../shared/xero/openapi/xero_accounting.yaml"
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(repoRoot(tb), p)
	}
	_, err := os.Stat(p)
	return p, err == nil
}

func mustCodec(tb testing.TB, stream string) *Codec {
	tb.Helper()
	c, err := NewCodec(stream)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// parsedSchema parses the codec's value schema for the independent decoder.
func parsedSchema(tb testing.TB, c *Codec) hamba.Schema {
	tb.Helper()
	s, err := hamba.ParseWithCache(c.ValueSchema(), "", &hamba.SchemaCache{})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// decodeAvro decodes Avro binary with hamba's generic decoder.
func decodeAvro(tb testing.TB, s hamba.Schema, bin []byte) map[string]any {
	tb.Helper()
	var out map[string]any
	if err := hamba.Unmarshal(s, bin, &out); err != nil {
		tb.Fatalf("hamba cannot decode the transcoder's output: %v", err)
	}
	return out
}

// parseJSON decodes a record's JSON keeping numbers as their text.
func parseJSON(tb testing.TB, raw []byte) any {
	tb.Helper()
	v, err := avrocheck.ParseJSON(raw)
	if err != nil {
		tb.Fatalf("test input is not JSON: %v\n%s", err, raw)
	}
	return v
}

// roundTrip transcodes raw, decodes the Avro with hamba and compares every field with the JSON.
func roundTrip(tb testing.TB, c *Codec, s hamba.Schema, raw []byte) {
	tb.Helper()
	m := avrocheck.Meta{TenantID: "7a5c1c7e-0b5e-4a57-9d2e-2f0ad4bb0f11", ExtractedAt: time.UnixMilli(1767225600123)}
	bin, err := c.AppendValue(nil, raw, m.TenantID, m.ExtractedAt)
	if err != nil {
		tb.Fatalf("AppendValue: %v\n%s", err, raw)
	}
	got := decodeAvro(tb, s, bin)
	if diffs := avrocheck.Compare(s, parseJSON(tb, raw), got, m); len(diffs) > 0 {
		tb.Fatalf("Avro differs from the JSON:\n%s\ninput: %s", strings.Join(diffs, "\n"), raw)
	}
}
