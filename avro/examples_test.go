package avro

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	hamba "github.com/hamba/avro/v2"
	"go.yaml.in/yaml/v3"

	"github.com/xero-kafka/xero-kafka/streams"
)

// specExamples returns, per stream, the records of the example response of the stream's list
// operation in Xero's spec, as JSON. Streams whose operation has no example are absent.
func specExamples(tb testing.TB) map[string][][]byte {
	tb.Helper()
	data, err := os.ReadFile(specPath(tb))
	if err != nil {
		tb.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		tb.Fatal(err)
	}
	root := doc.Content[0]
	out := make(map[string][][]byte)
	for _, st := range streams.All() {
		example := yamlPath(root, "paths", st.Path, "get", "responses", "200", "content", "application/json", "example")
		if example == nil {
			continue
		}
		records := yamlPath(example, st.Wrapper)
		if records == nil || records.Kind != yaml.SequenceNode {
			tb.Fatalf("%s: the example has no %s array", st.Name, st.Wrapper)
		}
		c := mustCodec(tb, st.Name)
		s := parsedSchema(tb, c)
		for _, rec := range records.Content {
			var buf bytes.Buffer
			yamlToJSON(tb, &buf, rec, s)
			out[st.Name] = append(out[st.Name], buf.Bytes())
		}
	}
	return out
}

func yamlPath(n *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// yamlToJSON writes a YAML example as the JSON Xero would send, whatever the schema says: scalars
// keep their text (46.00 stays 46.00) and their YAML type (ReceiptNumber: 1 is the number 1, as
// in Xero's own example); JSON has no timestamp type, so a YAML timestamp is a string.
func yamlToJSON(tb testing.TB, buf *bytes.Buffer, n *yaml.Node, s hamba.Schema) {
	tb.Helper()
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	s = unwrap(s)
	switch n.Kind {
	case yaml.MappingNode:
		rec, _ := s.(*hamba.RecordSchema)
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			key := n.Content[i].Value
			writeJSONString(buf, key)
			buf.WriteByte(':')
			var fs hamba.Schema
			if rec != nil {
				for _, f := range rec.Fields() {
					if f.Name() == key {
						fs = f.Type()
					}
				}
			}
			yamlToJSON(tb, buf, n.Content[i+1], fs)
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		var items hamba.Schema
		if arr, ok := s.(*hamba.ArraySchema); ok {
			items = arr.Items()
		}
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			yamlToJSON(tb, buf, item, items)
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch tag := n.ShortTag(); {
		case tag == "!!null":
			buf.WriteString("null")
		case tag == "!!str" || tag == "!!timestamp":
			writeJSONString(buf, n.Value)
		case (tag == "!!int" || tag == "!!float") && json.Valid([]byte(n.Value)):
			buf.WriteString(n.Value)
		case tag == "!!bool":
			buf.WriteString(strings.ToLower(n.Value))
		default:
			writeJSONString(buf, n.Value)
		}
	default:
		tb.Fatalf("unexpected YAML node kind %v", n.Kind)
	}
}

// unwrap returns the non-null branch of a nullable union, resolving references.
func unwrap(s hamba.Schema) hamba.Schema {
	if u, ok := s.(*hamba.UnionSchema); ok {
		_, idx := u.Indices()
		s = u.Types()[idx]
	}
	if r, ok := s.(*hamba.RefSchema); ok {
		s = r.Schema()
	}
	return s
}

func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

// TestSpecExamples transcodes every record of the example responses in Xero's spec and checks
// that an independent decoder reads back every field's exact value, and every field the schema
// does not know in _unknown_fields.
func TestSpecExamples(t *testing.T) {
	examples := specExamples(t)
	for _, st := range streams.All() {
		t.Run(st.Name, func(t *testing.T) {
			records := examples[st.Name]
			if len(records) == 0 {
				t.Skipf("the spec has no example response for GET %s", st.Path)
			}
			c := mustCodec(t, st.Name)
			s := parsedSchema(t, c)
			for _, raw := range records {
				roundTrip(t, c, s, raw)
			}
		})
	}
}
