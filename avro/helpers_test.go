package avro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"
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
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("test input is not JSON: %v\n%s", err, raw)
	}
	return v
}

// meta is what AppendValue was given besides the JSON.
type meta struct {
	tenantID    string
	extractedAt time.Time
}

// roundTrip transcodes raw, decodes the Avro with hamba and compares every field with the JSON.
func roundTrip(tb testing.TB, c *Codec, s hamba.Schema, raw []byte) {
	tb.Helper()
	m := meta{tenantID: "7a5c1c7e-0b5e-4a57-9d2e-2f0ad4bb0f11", extractedAt: time.UnixMilli(1767225600123)}
	bin, err := c.AppendValue(nil, raw, m.tenantID, m.extractedAt)
	if err != nil {
		tb.Fatalf("AppendValue: %v\n%s", err, raw)
	}
	got := decodeAvro(tb, s, bin)
	if diffs := compareValue(s, parseJSON(tb, raw), got, m, ""); len(diffs) > 0 {
		tb.Fatalf("Avro differs from the JSON:\n%s\ninput: %s", strings.Join(diffs, "\n"), raw)
	}
}

// compareValue compares a JSON value (numbers as json.Number) with the value hamba decoded for
// schema s, exactly: decimals as rationals, dates to the day, timestamps to the millisecond. It
// returns the differences found, each with its path.
func compareValue(s hamba.Schema, j, a any, m meta, path string) []string {
	if ref, ok := s.(*hamba.RefSchema); ok {
		s = ref.Schema()
	}
	if u, ok := s.(*hamba.UnionSchema); ok {
		if j == nil {
			if a != nil {
				return []string{fmt.Sprintf("%s: JSON null or absent, Avro %v", path, a)}
			}
			return nil
		}
		_, idx := u.Indices()
		s = u.Types()[idx]
		if ref, ok := s.(*hamba.RefSchema); ok {
			s = ref.Schema()
		}
		// hamba's generic decoder wraps a union's record or array value in a map keyed by the
		// branch's name.
		branch := string(s.Type())
		if n, ok := s.(hamba.NamedSchema); ok {
			branch = n.FullName()
		}
		if w, ok := a.(map[string]any); ok && len(w) == 1 && w[branch] != nil {
			a = w[branch]
		}
	}
	if j == nil || a == nil {
		return []string{fmt.Sprintf("%s: JSON %v, Avro %v", path, j, a)}
	}
	switch s := s.(type) {
	case *hamba.RecordSchema:
		jm, ok1 := j.(map[string]any)
		am, ok2 := a.(map[string]any)
		if !ok1 || !ok2 {
			return []string{fmt.Sprintf("%s: JSON %T, Avro %T", path, j, a)}
		}
		return compareRecord(s, jm, am, m, path)
	case *hamba.ArraySchema:
		ja, ok1 := j.([]any)
		aa, ok2 := a.([]any)
		if !ok1 || !ok2 || len(ja) != len(aa) {
			return []string{fmt.Sprintf("%s: JSON %v, Avro %v", path, j, a)}
		}
		var diffs []string
		for k := range ja {
			diffs = append(diffs, compareValue(s.Items(), ja[k], aa[k], m, fmt.Sprintf("%s[%d]", path, k))...)
		}
		return diffs
	case *hamba.PrimitiveSchema:
		if ok, why := comparePrimitive(s, j, a); !ok {
			return []string{fmt.Sprintf("%s: %s", path, why)}
		}
		return nil
	}
	return []string{fmt.Sprintf("%s: unexpected schema %s", path, s)}
}

func compareRecord(s *hamba.RecordSchema, j, a map[string]any, m meta, path string) []string {
	var diffs []string
	known := map[string]bool{}
	prefix := path
	if prefix != "" {
		prefix += "."
	}
	for _, f := range s.Fields() {
		known[f.Name()] = true
		av, ok := a[f.Name()]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s%s: missing from the decoded record", prefix, f.Name()))
			continue
		}
		switch f.Name() {
		case fieldTenantID:
			if av != m.tenantID {
				diffs = append(diffs, fmt.Sprintf("%s%s: %v, want %s", prefix, f.Name(), av, m.tenantID))
			}
		case fieldExtractedAt:
			if t, ok := av.(time.Time); !ok || t.UnixMilli() != m.extractedAt.UnixMilli() {
				diffs = append(diffs, fmt.Sprintf("%s%s: %v, want %v", prefix, f.Name(), av, m.extractedAt))
			}
		case fieldUnknownFields:
		default:
			diffs = append(diffs, compareValue(f.Type(), j[f.Name()], av, m, prefix+f.Name())...)
		}
	}
	// Every JSON field the schema does not know must be in _unknown_fields, with its value.
	unknown := map[string]any{}
	for k, v := range j {
		if !known[k] || k == fieldUnknownFields || k == fieldTenantID || k == fieldExtractedAt {
			unknown[k] = v
		}
	}
	got := a[fieldUnknownFields]
	switch {
	case len(unknown) == 0 && got != nil:
		diffs = append(diffs, fmt.Sprintf("%s%s: %v, want null", prefix, fieldUnknownFields, got))
	case len(unknown) > 0:
		text, _ := got.(string)
		var decoded any
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&decoded); err != nil || !reflect.DeepEqual(decoded, any(unknown)) {
			diffs = append(diffs, fmt.Sprintf("%s%s: %q, want the fields %v", prefix, fieldUnknownFields, text, unknown))
		}
	}
	return diffs
}

func comparePrimitive(s *hamba.PrimitiveSchema, j, a any) (bool, string) {
	logical := ""
	if l := s.Logical(); l != nil {
		logical = string(l.Type())
	}
	switch {
	case logical == string(hamba.Decimal):
		// A number, or a number quoted as a string (as Xero sometimes sends them).
		var num string
		switch j := j.(type) {
		case json.Number:
			num = string(j)
		case string:
			num = j
		}
		r, ok2 := a.(*big.Rat)
		if num == "" || !ok2 {
			return false, fmt.Sprintf("JSON %v (%T), Avro %v (%T)", j, j, a, a)
		}
		want, ok := new(big.Rat).SetString(num)
		if !ok || want.Cmp(r) != 0 {
			return false, fmt.Sprintf("JSON %s, Avro %s", num, r.FloatString(12))
		}
	case logical == string(hamba.Date):
		str, ok := j.(string)
		t, ok2 := a.(time.Time)
		ms, err := refInstant(str)
		if !ok || !ok2 || err != nil || ms%msPerDay != 0 || t.UnixMilli() != ms {
			return false, fmt.Sprintf("JSON %v, Avro %v (%v)", j, a, err)
		}
	case logical == string(hamba.TimestampMillis):
		str, ok := j.(string)
		t, ok2 := a.(time.Time)
		ms, err := refInstant(str)
		if !ok || !ok2 || err != nil || t.UnixMilli() != ms {
			return false, fmt.Sprintf("JSON %v, Avro %v (%v)", j, a, err)
		}
	case s.Type() == hamba.Boolean:
		// A boolean, or one quoted as a string (as Xero sometimes sends them).
		want, ok := j.(bool)
		if str, isStr := j.(string); isStr {
			want, ok = strings.EqualFold(str, "true"), strings.EqualFold(str, "true") || strings.EqualFold(str, "false")
		}
		if !ok || a != want {
			return false, fmt.Sprintf("JSON %#v, Avro %#v", j, a)
		}
	case s.Type() == hamba.Int || s.Type() == hamba.Long:
		num, ok := j.(json.Number)
		if str, isStr := j.(string); isStr {
			num, ok = json.Number(str), true
		}
		want, err := num.Int64()
		var got int64
		switch a := a.(type) {
		case int:
			got = int64(a)
		case int32:
			got = int64(a)
		case int64:
			got = a
		default:
			ok = false
		}
		if !ok || err != nil || got != want {
			return false, fmt.Sprintf("JSON %v, Avro %v", j, a)
		}
	default:
		if !reflect.DeepEqual(j, a) {
			return false, fmt.Sprintf("JSON %#v, Avro %#v", j, a)
		}
	}
	return true, ""
}

var refMSDate = regexp.MustCompile(`^/Date\((-?\d+)([+-]\d{2,4})?\)/$`)

// refInstant is the tests' own reading of a date value, independent of the transcoder's: the
// /Date(ms±hhmm)/ form (the milliseconds are UTC) or ISO-8601 with no zone meaning UTC.
func refInstant(s string) (int64, error) {
	if m := refMSDate.FindStringSubmatch(s); m != nil {
		return strconv.ParseInt(m[1], 10, 64)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("not a date: %q", s)
}
