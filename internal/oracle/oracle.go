// Package oracle is the end-state check of the project's end-to-end tests: it reads every data
// topic as a read_committed consumer would, decodes keys and the last value of each key through
// the Schema Registry with hamba's generic decoder (independent of the connector's transcoder),
// and compares the topics with the simulator's truth: the last value of every key equals Xero's
// record, field by field, nothing is there that Xero does not have, and no record version was
// written twice (versions of a key are compared as their Avro bytes without the extraction time).
package oracle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/registry"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/xero-kafka/xero-kafka/internal/avrocheck"
	"github.com/xero-kafka/xero-kafka/internal/testenv"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// maxDuplicatesShown bounds the duplicates reported one by one per stream.
const maxDuplicatesShown = 5

// Target says what to check: the topics of the given streams, named <TopicPrefix>.<stream>,
// on Kafka, with their schemas in the registry at RegistryURL, against Sim.
type Target struct {
	Kafka       testenv.Cluster
	RegistryURL string
	TopicPrefix string
	Streams     []streams.Stream // all of them when empty
	Sim         *xerosim.Sim
	// Reread names the streams read again on purpose (a reset): a version may be there twice.
	Reread map[string]bool
}

// Result sums up a check.
type Result struct {
	Records    int // records read (read_committed)
	Compared   int // records of Xero compared field by field
	Duplicates int // record versions written more than once
}

// record is one record of a data topic: its key decoded through the registry, its value as
// written.
type record struct {
	tenant, id string
	offset     int64
	schemaID   int
	value      []byte // the Avro body, after the Confluent header; nil for a tombstone
}

func (tg Target) streams() []streams.Stream {
	if len(tg.Streams) == 0 {
		return streams.All()
	}
	return tg.Streams
}

// topics is what readTopics read: the records of each stream, and the registry's schemas.
type topics struct {
	records map[string][]record // per stream name
	schemas map[int]hamba.Schema
	api     hamba.API // hamba's defaults, with the union branches of schemas resolved
}

// readTopics reads every data topic of the target (read_committed) and decodes each record's
// key through the registry. Values stay as written: most are only compared with each other
// (as bytes) and only the last value of each key is decoded.
func readTopics(t testing.TB, tg Target) topics {
	t.Helper()
	var names []string
	for _, s := range tg.streams() {
		names = append(names, tg.TopicPrefix+"."+s.Name)
	}
	// A transport of its own, closed when done: a real registry outlives the check and would
	// keep an idle connection open.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	reg, err := registry.NewClient(tg.RegistryURL, registry.WithHTTPClient(&http.Client{Transport: tr, Timeout: time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	out := topics{records: map[string][]record{}, schemas: map[int]hamba.Schema{}, api: hamba.Config{}.Freeze()}
	split := func(framed []byte) (int, []byte) {
		t.Helper()
		var hdr sr.ConfluentHeader
		id, body, err := hdr.DecodeID(framed)
		if err != nil {
			t.Fatalf("not Confluent wire format: % x: %v", framed[:min(len(framed), 8)], err)
		}
		if _, ok := out.schemas[id]; !ok {
			s, err := reg.GetSchema(context.Background(), id)
			if err != nil {
				t.Fatalf("schema %d: %v", id, err)
			}
			out.schemas[id] = s
			resolveUnions(out.api, s, map[string]bool{})
		}
		return id, body
	}
	type tenantID struct{ tenant, id string }
	keys := map[string]tenantID{} // a key's bytes → its fields: a key comes once per version
	for _, r := range tg.Kafka.ReadAll(t, kgo.ReadCommitted(), names...) {
		stream := strings.TrimPrefix(r.Topic, tg.TopicPrefix+".")
		k, ok := keys[string(r.Key)]
		if !ok {
			ks, kb := split(r.Key)
			var key map[string]any
			if err := out.api.Unmarshal(out.schemas[ks], kb, &key); err != nil {
				t.Fatalf("%s: key: %v", r.Topic, err)
			}
			s, _ := streams.ByName(stream)
			k = tenantID{fmt.Sprint(key["TenantID"]), fmt.Sprint(key[s.PrimaryKey])}
			keys[string(r.Key)] = k
		}
		d := record{tenant: k.tenant, id: k.id, offset: r.Offset}
		if r.Value != nil {
			d.schemaID, d.value = split(r.Value)
		}
		out.records[stream] = append(out.records[stream], d)
	}
	return out
}

// resolveUnions registers, with api, a generic type for each record, array and map that is a
// branch of a union in s: hamba then decodes such a branch into a map[string]any or []any with
// decoders it builds once, where it otherwise builds them again for each value it decodes (and
// wraps the value in a map keyed by the branch's name; avrocheck.Compare reads both).
func resolveUnions(api hamba.API, s hamba.Schema, done map[string]bool) {
	if n, ok := s.(hamba.NamedSchema); ok {
		if done[n.FullName()] {
			return
		}
		done[n.FullName()] = true
	}
	switch s := s.(type) {
	case *hamba.RefSchema:
		resolveUnions(api, s.Schema(), done)
	case *hamba.RecordSchema:
		for _, f := range s.Fields() {
			resolveUnions(api, f.Type(), done)
		}
	case *hamba.ArraySchema:
		resolveUnions(api, s.Items(), done)
	case *hamba.MapSchema:
		resolveUnions(api, s.Values(), done)
	case *hamba.UnionSchema:
		for _, b := range s.Types() {
			switch b := deref(b).(type) {
			case *hamba.RecordSchema:
				api.Register(b.FullName(), map[string]any{})
			case *hamba.ArraySchema:
				api.Register("array:"+typeName(b.Items()), []any{})
			case *hamba.MapSchema:
				api.Register("map:"+typeName(b.Values()), map[string]any{})
			}
			resolveUnions(api, b, done)
		}
	}
}

func deref(s hamba.Schema) hamba.Schema {
	if r, ok := s.(*hamba.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// typeName is the name hamba resolves a union branch's items or values by: a named type's full
// name, else the type with its logical type.
func typeName(s hamba.Schema) string {
	s = deref(s)
	if n, ok := s.(hamba.NamedSchema); ok {
		return n.FullName()
	}
	if l, ok := s.(hamba.LogicalTypeSchema); ok && l.Logical() != nil {
		return string(s.Type()) + "." + string(l.Logical().Type())
	}
	return string(s.Type())
}

// decode decodes r's value with hamba's generic decoder.
func (tp topics) decode(t testing.TB, stream string, r record) map[string]any {
	t.Helper()
	var v map[string]any
	if err := tp.api.Unmarshal(tp.schemas[r.schemaID], r.value, &v); err != nil {
		t.Fatalf("%s %s/%s at offset %d: value: %v", stream, r.tenant, r.id, r.offset, err)
	}
	return v
}

// extractedAt reads only the _extracted_at field of a value; hamba skips the others.
type extractedAt struct {
	At int64 `avro:"_extracted_at"`
}

// version identifies a record version: a value without its extraction time. A value's Avro
// encoding ends with _extracted_at (a long, the last field of every value schema), so two
// values written with the same schema are equal apart from it exactly when their bodies
// without its bytes are equal: the encoding of a value by one schema is a function of the
// value. Values of one key written with different schemas are compared decoded (fingerprint).
func (tp topics) version(t testing.TB, stream string, r record) [32]byte {
	t.Helper()
	var at extractedAt
	if err := tp.api.Unmarshal(tp.schemas[r.schemaID], r.value, &at); err != nil {
		t.Fatalf("%s %s/%s at offset %d: _extracted_at: %v", stream, r.tenant, r.id, r.offset, err)
	}
	tail := binary.AppendVarint(nil, at.At) // Avro's long: zigzag, then a varint
	if !bytes.HasSuffix(r.value, tail) {
		t.Fatalf("%s %s/%s at offset %d: the value does not end with its _extracted_at (%d); the check reads it as the last field", stream, r.tenant, r.id, r.offset, at.At)
	}
	h := sha256.New()
	_ = binary.Write(h, binary.BigEndian, int64(r.schemaID))
	h.Write(r.value[:len(r.value)-len(tail)])
	return [32]byte(h.Sum(nil))
}

// CheckEndState reports, as test errors, every difference between the topics and Xero: for
// every tenant and stream, the last value per key equals the simulator's current record, field
// by field; no key is in a topic that Xero does not have; and no record version (the same
// value, apart from its extraction time) was written twice for a key. It fails the test when
// nothing was compared.
func CheckEndState(t testing.TB, tg Target) Result {
	t.Helper()
	tp := readTopics(t, tg)
	var res Result
	for _, s := range tg.streams() {
		type key struct{ tenant, id string }
		recs := tp.records[s.Name]
		res.Records += len(recs)
		// The records of each key, in offset order, and the keys in the order they first came.
		versions := map[key][]int{}
		var order []key
		for i, d := range recs {
			k := key{d.tenant, d.id}
			if versions[k] == nil {
				order = append(order, k)
			}
			versions[k] = append(versions[k], i)
		}
		// history says what was written for a record, for the failure messages.
		history := func(k key) []string {
			var out []string
			for _, i := range versions[k] {
				d := recs[i]
				if d.value == nil {
					out = append(out, fmt.Sprintf("@%d tombstone", d.offset))
					continue
				}
				out = append(out, fmt.Sprintf("@%d %v", d.offset, tp.decode(t, s.Name, d)[s.ReplicationKey]))
			}
			return out
		}
		last := map[key]record{}
		dups := 0
		for _, k := range order {
			idx := versions[k]
			if d := recs[idx[len(idx)-1]]; d.value != nil {
				last[k] = d
			}
			if tg.Reread[s.Name] {
				continue
			}
			var values []record
			sameSchema := true
			for _, i := range idx {
				if d := recs[i]; d.value != nil {
					sameSchema = sameSchema && (len(values) == 0 || d.schemaID == values[0].schemaID)
					values = append(values, d)
				}
			}
			if len(values) < 2 {
				continue // nothing to be written twice
			}
			seen := map[[32]byte]int64{}
			for _, d := range values {
				var fp [32]byte
				if sameSchema {
					fp = tp.version(t, s.Name, d)
				} else {
					fp = Fingerprint(tp.decode(t, s.Name, d))
				}
				if first, ok := seen[fp]; ok {
					res.Duplicates++
					if dups++; dups <= maxDuplicatesShown {
						t.Errorf("%s %s/%s: the same version written twice, at offsets %d and %d", s.Name, d.tenant, d.id, first, d.offset)
					}
					continue
				}
				seen[fp] = d.offset
			}
		}
		if dups > maxDuplicatesShown {
			t.Errorf("%s: %d record versions written twice in all (the first %d above)", s.Name, dups, maxDuplicatesShown)
		}
		for _, tenant := range tg.Sim.Tenants() {
			truth, err := tg.Sim.Truth(tenant, s.Name)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{}
			for _, raw := range truth {
				j, err := avrocheck.ParseJSON(raw)
				if err != nil {
					t.Fatal(err)
				}
				want[fmt.Sprint(j.(map[string]any)[s.PrimaryKey])] = j
			}
			for id, j := range want {
				got, ok := last[key{tenant, id}]
				if !ok {
					t.Errorf("%s %s/%s: in Xero (%s %v), missing from the topic; written: %v", s.Name, tenant, id, s.ReplicationKey, j.(map[string]any)[s.ReplicationKey], history(key{tenant, id}))
					continue
				}
				schema := tp.schemas[got.schemaID]
				if diffs := avrocheck.Compare(schema, j, tp.decode(t, s.Name, got), avrocheck.Meta{TenantID: tenant}); len(diffs) > 0 {
					t.Errorf("%s %s/%s (Xero's %s %v) differs from Xero:\n  %s\n  written: %v", s.Name, tenant, id, s.ReplicationKey,
						j.(map[string]any)[s.ReplicationKey], strings.Join(diffs[:min(len(diffs), 5)], "\n  "), history(key{tenant, id}))
				}
				res.Compared++
			}
			for k := range last {
				if _, ok := want[k.id]; !ok && k.tenant == tenant {
					t.Errorf("%s %s/%s: in the topic, not in Xero", s.Name, tenant, k.id)
				}
			}
		}
	}
	if res.Compared == 0 {
		t.Fatal("no record was compared")
	}
	return res
}

// Fingerprint identifies a record version: its decoded value without the extraction time.
func Fingerprint(v map[string]any) [32]byte {
	c := make(map[string]any, len(v))
	for k, x := range v {
		if k != "_extracted_at" {
			c[k] = x
		}
	}
	b, _ := json.Marshal(c)
	return sha256.Sum256(b)
}
