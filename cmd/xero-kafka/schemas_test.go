package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/streams"
)

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"version"}, envconfig.MapLookuper(nil), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"xero-kafka ", "commit ", runtime.Version()} {
		if !strings.Contains(out, want) {
			t.Errorf("version output %q lacks %q", out, want)
		}
	}
}

// TestSchemasOut: --out writes the 52 schemas, each the text the connector registers.
func TestSchemasOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "schemas")
	var stdout, stderr bytes.Buffer
	code := realMain([]string{"schemas", "--out", dir}, envconfig.MapLookuper(map[string]string{"KAFKA_TOPIC_PREFIX": "acme"}), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.avsc"))
	if err != nil || len(files) != 2*len(streams.Names()) {
		t.Fatalf("%d files (%v), want %d", len(files), err, 2*len(streams.Names()))
	}
	for _, name := range streams.Names() {
		c, err := avro.NewCodec(name)
		if err != nil {
			t.Fatal(err)
		}
		for suffix, want := range map[string]string{"-key.avsc": c.KeySchema(), "-value.avsc": c.ValueSchema()} {
			got, err := os.ReadFile(filepath.Join(dir, "acme."+name+suffix))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(got)) != strings.TrimSpace(want) {
				t.Errorf("acme.%s%s differs from the registered schema", name, suffix)
			}
		}
	}
}

func TestSchemasPrint(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := realMain([]string{"schemas", "--streams", "currencies,invoices"}, envconfig.MapLookuper(nil), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"// xero.currencies-key\n", "// xero.currencies-value\n", "// xero.invoices-value\n", `"name": "InvoiceKey"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "// xero.contacts") {
		t.Errorf("printed a stream not asked for")
	}
}

// TestSchemasCheck runs --check on srfake: subjects missing, then identical. Incompatibility is
// tested on Apicurio (internal/integration TestSchemasCheck), since srfake calls everything
// compatible.
func TestSchemasCheck(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	env := envconfig.MapLookuper(map[string]string{"SCHEMA_REGISTRY_URL": reg.URL()})
	args := []string{"schemas", "--check", "--streams", "currencies"}

	var stdout, stderr bytes.Buffer
	if code := realMain(args, env, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "not registered"); n != 2 {
		t.Errorf("want 2 subjects not registered:\n%s", stdout.String())
	}

	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := avro.NewCodec("currencies")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := avro.Register(t.Context(), cl, "xero.currencies", c); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if code := realMain(args, env, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"xero.currencies-key    registered, identical", "xero.currencies-value  registered, identical"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestSchemasErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"check without registry", []string{"--check"}, nil, "SCHEMA_REGISTRY_URL"},
		{"registry not a URL", []string{"--check"}, map[string]string{"SCHEMA_REGISTRY_URL": "registry:8081"}, "SCHEMA_REGISTRY_URL"},
		{"unknown stream", []string{"--streams", "widgets"}, nil, `unknown stream "widgets"`},
		{"out and check", []string{"--out", "x", "--check"}, nil, "exclude"},
		{"argument", []string{"now"}, nil, "no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := realMain(append([]string{"schemas"}, tt.args...), envconfig.MapLookuper(tt.env), &stdout, &stderr)
			if code != exitConfig || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d naming %q", code, stderr.String(), exitConfig, tt.want)
			}
		})
	}
}
