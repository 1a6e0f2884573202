package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/xero-kafka/xero-kafka/streams"
)

var update = flag.Bool("update", false, "rewrite avro/schemas from the spec")

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

// specPath returns Xero's spec from XERO_OPENAPI_SPEC (default ../shared/xero/openapi/xero_accounting.yaml,
// relative paths taken from the repository root), or skips the test when it is absent.
func specPath(tb testing.TB) string {
	tb.Helper()
	root := repoRoot(tb)
	p := os.Getenv("XERO_OPENAPI_SPEC")
	if p == "" {
		p = "../shared/xero/openapi/xero_accounting.yaml"
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("Xero's OpenAPI spec is not at %s: set XERO_OPENAPI_SPEC to the path of xero_accounting.yaml", p)
	}
	return p
}

// TestGolden fails when the committed schemas differ from what the generator makes of the spec.
// Run `go test ./cmd/avrogen -update` to rewrite them.
func TestGolden(t *testing.T) {
	files, err := generate(specPath(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repoRoot(t), "avro", "schemas")
	if *update {
		if err := write(dir, files); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := filepath.Glob(filepath.Join(dir, "*.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range committed {
		names = append(names, filepath.Base(p))
	}
	var want []string
	for name := range files {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("avro/schemas holds %v, the generator writes %v (run go test ./cmd/avrogen -update)", names, want)
	}
	for _, name := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, files[name]) {
			t.Errorf("avro/schemas/%s differs from the generator's output (run go test ./cmd/avrogen -update)", name)
		}
	}
}

// TestGenerateFromSpec checks properties of the real schemas that the mapping promises.
func TestGenerateFromSpec(t *testing.T) {
	files, err := generate(specPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 52 {
		t.Fatalf("got %d files, want 52 (26 streams × value and key)", len(files))
	}
	for name, text := range files {
		if _, err := avro.ParseBytesWithCache(text, "", &avro.SchemaCache{}); err != nil {
			t.Errorf("%s does not parse: %v", name, err)
		}
	}
	inv := fieldsOf(t, files["invoices-value.avsc"], "Invoice")
	tests := []struct {
		field string
		want  string
	}{
		{"InvoiceID", `["null","string"]`},
		{"Date", `["null",{"type":"int","logicalType":"date"}]`},
		{"UpdatedDateUTC", `["null",{"type":"long","logicalType":"timestamp-millis"}]`},
		{"Total", `["null",{"type":"bytes","logicalType":"decimal","precision":22,"scale":4}]`},
		{"CurrencyRate", `["null",{"type":"bytes","logicalType":"decimal","precision":28,"scale":10}]`},
		{"Status", `["null","string"]`},
		{"CurrencyCode", `["null","string"]`},
		{"HasAttachments", `["null","boolean"]`},
		{"_unknown_fields", `["null","string"]`},
		{"_tenant_id", `"string"`},
		{"_extracted_at", `{"type":"long","logicalType":"timestamp-millis"}`},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			f, ok := inv[tt.field]
			if !ok {
				t.Fatalf("Invoice has no field %s", tt.field)
			}
			if got := compact(t, f.Type); got != tt.want {
				t.Errorf("type %s, want %s", got, tt.want)
			}
			if strings.HasPrefix(tt.want, `["null"`) && string(f.Default) != "null" {
				t.Errorf("default %s, want null", f.Default)
			}
		})
	}
	key := string(files["currencies-key.avsc"])
	for _, want := range []string{`"name": "CurrencyKey"`, `"name": "TenantID"`, `"name": "Code"`} {
		if !strings.Contains(key, want) {
			t.Errorf("currencies-key.avsc lacks %s:\n%s", want, key)
		}
	}
}

// TestGenerateShapes runs the generator on a small spec with the constructs Xero uses: a cycle,
// arrays of records, enums by reference, dates, integers and an object defined in place.
func TestGenerateShapes(t *testing.T) {
	spec := `
openapi: 3.0.0
components:
  schemas:
    Currency:
      type: object
      description: A   currency
        of the organisation.
      properties:
        Code:
          $ref: "#/components/schemas/CurrencyCode"
          type: string
        Description:
          type: string
        Parent:
          $ref: "#/components/schemas/Currency"
        Children:
          type: array
          items:
            $ref: "#/components/schemas/Child"
        Box:
          type: object
          properties:
            Size:
              type: integer
              format: int32
    Child:
      properties:
        Back:
          $ref: "#/components/schemas/Currency"
        On:
          type: string
          x-is-msdate: true
        At:
          type: string
          x-is-msdate-time: true
        N:
          type: integer
        Tags:
          type: array
          items:
            type: string
    CurrencyCode:
      type: string
      enum: [NZD, AUD]
`
	path := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	sp, err := loadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	st := streamFor(t, "currencies")
	out, err := valueSchema(sp, st)
	if err != nil {
		t.Fatal(err)
	}
	got := compact(t, out)
	want := `{"type":"record","name":"Currency","namespace":"xerokafka.accounting","doc":"A currency of the organisation.","fields":[` +
		`{"name":"Code","type":["null","string"],"default":null},` +
		`{"name":"Description","type":["null","string"],"default":null},` +
		`{"name":"Parent","type":["null","Currency"],"default":null},` +
		`{"name":"Children","type":["null",{"type":"array","items":{"type":"record","name":"Child","fields":[` +
		`{"name":"Back","type":["null","Currency"],"default":null},` +
		`{"name":"On","type":["null",{"type":"int","logicalType":"date"}],"default":null},` +
		`{"name":"At","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null},` +
		`{"name":"N","type":["null","long"],"default":null},` +
		`{"name":"Tags","type":["null",{"type":"array","items":"string"}],"default":null},` +
		`{"name":"_unknown_fields","doc":"` + unknownDoc + `","type":["null","string"],"default":null}]}}],"default":null},` +
		`{"name":"Box","type":["null",{"type":"record","name":"Currency_Box","fields":[` +
		`{"name":"Size","type":["null","int"],"default":null},` +
		`{"name":"_unknown_fields","doc":"` + unknownDoc + `","type":["null","string"],"default":null}]}],"default":null},` +
		`{"name":"_unknown_fields","doc":"` + unknownDoc + `","type":["null","string"],"default":null},` +
		`{"name":"_tenant_id","doc":"The Xero tenant (organisation) id the record was read from.","type":"string"},` +
		`{"name":"_extracted_at","doc":"When the connector read the record from Xero.","type":{"type":"long","logicalType":"timestamp-millis"}}]}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := avro.ParseBytesWithCache(out, "", &avro.SchemaCache{}); err != nil {
		t.Errorf("generated schema does not parse: %v", err)
	}

	// The primary key must be a property of the schema.
	if _, err := valueSchema(sp, streamFor(t, "invoices")); err == nil {
		t.Error("a stream whose schema is missing was accepted")
	}
}

const unknownDoc = "Fields Xero sent that this schema does not know: a JSON object of their names and original JSON values, or null when there were none."

func TestWriteRemovesStaleFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gone-value.avsc"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := write(dir, map[string][]byte{"a-value.avsc": []byte("{}\n")}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"README.md", "a-value.avsc"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want %v", names, want)
	}
}

// fieldsOf returns the fields of the top-level record of schema text.
func fieldsOf(tb testing.TB, text []byte, name string) map[string]field {
	tb.Helper()
	var r struct {
		Name   string `json:"name"`
		Fields []struct {
			Name    string          `json:"name"`
			Type    json.RawMessage `json:"type"`
			Default json.RawMessage `json:"default"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(text, &r); err != nil {
		tb.Fatal(err)
	}
	if r.Name != name {
		tb.Fatalf("record %s, want %s", r.Name, name)
	}
	out := make(map[string]field)
	for _, f := range r.Fields {
		out[f.Name] = field{Name: f.Name, Type: []byte(f.Type), Default: f.Default}
	}
	return out
}

// compact re-encodes JSON text (or a json.RawMessage held in an any) without spaces.
func compact(tb testing.TB, v any) string {
	tb.Helper()
	var raw []byte
	switch v := v.(type) {
	case []byte:
		raw = v
	default:
		tb.Fatalf("compact: %T", v)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		tb.Fatal(err)
	}
	return buf.String()
}

func streamFor(tb testing.TB, name string) streams.Stream {
	tb.Helper()
	st, ok := streams.ByName(name)
	if !ok {
		tb.Fatalf("no stream %s", name)
	}
	return st
}
