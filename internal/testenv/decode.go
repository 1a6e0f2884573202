package testenv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Decoded is one record as the independent decoder (interop/decode.py) read it.
type Decoded struct {
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Key       json.RawMessage `json:"key"`   // null when the record has no key
	Value     json.RawMessage `json:"value"` // null for a tombstone
	Headers   []Header        `json:"headers"`
}

// Header is a record header; Value is nil for a header without a value.
type Header struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

// DecodeWithPython reads the topics from the beginning to the end with read_committed through an
// independent client (librdkafka and fastavro, interop/decode.py), which decodes Avro keys and
// values in the Confluent wire format with the schemas of the registry at registryURL. It
// returns the records in topic, partition and offset order, and fails the test if any record
// cannot be decoded. The decoder's Python environment comes from scripts/provision.sh interop
// (make setup); without it the test is skipped, or fails under XK_REQUIRE_TOOLS.
//
// Decoded values are JSON: decimals as exact strings at the schema's scale ("1234.5600"),
// timestamps as ISO-8601 UTC strings with milliseconds ("2024-03-01T12:34:56.789Z"), dates as
// "2024-03-01", bytes as base64, unions as the bare value; interop/decode.py lists every rule.
func DecodeWithPython(t testing.TB, brokers []string, registryURL string, topics ...string) []Decoded {
	t.Helper()
	return decodeWith(t, brokers, registryURL, "avro", topics)
}

// DecodeWithPythonStringKeys is DecodeWithPython for topics whose keys are plain UTF-8 strings.
func DecodeWithPythonStringKeys(t testing.TB, brokers []string, registryURL string, topics ...string) []Decoded {
	t.Helper()
	return decodeWith(t, brokers, registryURL, "string", topics)
}

func decodeWith(t testing.TB, brokers []string, registryURL, keys string, topics []string) []Decoded {
	t.Helper()
	root := RepoRoot(t)
	python := os.Getenv(EnvInteropPython)
	if python == "" {
		python = filepath.Join(root, ".cache", "interop-venv", "bin", "python")
	}
	if _, err := os.Stat(python); err != nil {
		Unavailable(t, "interop decoder: no Python environment at %s (run scripts/provision.sh interop, or make setup)", python)
	}
	out := filepath.Join(t.TempDir(), "decoded.jsonl")
	args := []string{
		filepath.Join(root, "interop", "decode.py"),
		"--brokers", strings.Join(brokers, ","),
		"--registry", registryURL,
		"--keys", keys,
		"--output", out,
	}
	cmd := exec.CommandContext(t.Context(), python, append(args, topics...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("interop decoder: %v\n%s", err, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatalf("interop decoder output: %v", err)
	}
	defer f.Close()
	var recs []Decoded
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var d Decoded
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("interop decoder output line %d: %v", len(recs)+1, err)
		}
		recs = append(recs, d)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("interop decoder output: %v", err)
	}
	return recs
}
