package avro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"

	"github.com/xero-kafka/xero-kafka/internal/avrocheck"
	"github.com/xero-kafka/xero-kafka/streams"
)

// interopPython returns a Python interpreter that has Apache Avro's package, or skips the test.
func interopPython(tb testing.TB) string {
	tb.Helper()
	py := os.Getenv("AVRO_INTEROP_PYTHON")
	if py == "" {
		py = filepath.Join(repoRoot(tb), ".cache", "avro-interop", "bin", "python")
	}
	if out, err := exec.Command(py, "-c", "import avro.io, avro.schema").CombinedOutput(); err != nil {
		tb.Skipf("no Python with Apache Avro's package at %s (%v %s): run avro/interop/run.sh, or set AVRO_INTEROP_PYTHON",
			py, err, bytes.TrimSpace(out))
	}
	return py
}

// TestInterop has Apache Avro's Python implementation decode what the transcoder writes (the
// spec's examples, generated records of every stream and the benchmark records) and compares
// every value with the JSON, as TestSpecExamples does with hamba.
func TestInterop(t *testing.T) {
	py := interopPython(t)
	dir := t.TempDir()
	m := avrocheck.Meta{TenantID: "7a5c1c7e-0b5e-4a57-9d2e-2f0ad4bb0f11", ExtractedAt: time.UnixMilli(1767225600123)}

	var examples map[string][][]byte
	if _, ok := findSpec(t); ok {
		examples = specExamples(t)
	} else {
		t.Log("Xero's spec is absent (XERO_OPENAPI_SPEC): checking generated records only")
	}
	type testCase struct {
		Schema string `json:"schema"`
		Data   string `json:"data"`
		stream string
		raw    []byte
		s      hamba.Schema
	}
	var cases []testCase
	for k, st := range streams.All() {
		c := mustCodec(t, st.Name)
		s := parsedSchema(t, c)
		schemaFile := filepath.Join(dir, st.Name+"-value.avsc")
		if err := os.WriteFile(schemaFile, []byte(c.ValueSchema()), 0o644); err != nil {
			t.Fatal(err)
		}
		records := append(examples[st.Name], generatedRecords(t, s, 6, uint64(1000+k), 2)...)
		switch st.Name {
		case "invoices", "journals":
			raw, err := os.ReadFile(filepath.Join("testdata", strings.TrimSuffix(st.Name, "s")+".json"))
			if err != nil {
				t.Fatal(err)
			}
			records = append(records, raw)
		}
		for _, raw := range records {
			bin, err := c.AppendValue(nil, raw, m.TenantID, m.ExtractedAt)
			if err != nil {
				t.Fatalf("%s: %v", st.Name, err)
			}
			data := filepath.Join(dir, fmt.Sprintf("case-%d.avro", len(cases)))
			if err := os.WriteFile(data, bin, 0o644); err != nil {
				t.Fatal(err)
			}
			cases = append(cases, testCase{Schema: schemaFile, Data: data, stream: st.Name, raw: raw, s: s})
		}
	}
	list, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	casesFile := filepath.Join(dir, "cases.json")
	if err := os.WriteFile(casesFile, list, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(py, filepath.Join("interop", "decode.py"), casesFile)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("decode.py: %v\n%s", err, stderr.Bytes())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var decoded []any
	if err := dec.Decode(&decoded); err != nil {
		t.Fatal(err)
	}
	if len(decoded) != len(cases) {
		t.Fatalf("decode.py returned %d values for %d cases", len(decoded), len(cases))
	}
	for k, tc := range cases {
		got := fromPython(t, tc.s, decoded[k])
		if diffs := avrocheck.Compare(tc.s, parseJSON(t, tc.raw), got, m); len(diffs) > 0 {
			t.Errorf("%s: Python's decoding differs from the JSON:\n%s\ninput: %s", tc.stream, strings.Join(diffs, "\n"), tc.raw)
		}
	}
	t.Logf("Python's avro decoded %d records of %d streams", len(cases), len(streams.All()))
}

// fromPython turns decode.py's output for schema s into the values hamba's generic decoder
// gives, so that avrocheck.Compare can check it.
func fromPython(tb testing.TB, s hamba.Schema, v any) any {
	tb.Helper()
	if v == nil {
		return nil
	}
	switch s := unwrap(s).(type) {
	case *hamba.RecordSchema:
		m := v.(map[string]any)
		out := make(map[string]any, len(m))
		for _, f := range s.Fields() {
			if fv, ok := m[f.Name()]; ok {
				out[f.Name()] = fromPython(tb, f.Type(), fv)
			}
		}
		return out
	case *hamba.ArraySchema:
		items := v.([]any)
		out := make([]any, len(items))
		for k, item := range items {
			out[k] = fromPython(tb, s.Items(), item)
		}
		return out
	case *hamba.PrimitiveSchema:
		logical := ""
		if s.Logical() != nil {
			logical = string(s.Logical().Type())
		}
		switch {
		case logical == "decimal":
			r, ok := new(big.Rat).SetString(v.(string))
			if !ok {
				tb.Fatalf("decode.py gave the decimal %v", v)
			}
			return r
		case logical == "date":
			d, err := time.Parse("2006-01-02", v.(string))
			if err != nil {
				tb.Fatal(err)
			}
			return d
		case logical == "timestamp-millis":
			ms, err := v.(json.Number).Int64()
			if err != nil {
				tb.Fatal(err)
			}
			return time.UnixMilli(ms).UTC()
		case s.Type() == hamba.Int || s.Type() == hamba.Long:
			n, err := v.(json.Number).Int64()
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	return v
}
