// Package oracle is the end-state check of the project's end-to-end tests: it reads every data
// topic as a read_committed consumer would, decodes each record through the Schema Registry
// with hamba's generic decoder (independent of the connector's transcoder), and compares the
// topics with the simulator's truth: the last value of every key equals Xero's record, field by
// field, nothing is there that Xero does not have, and no record version was written twice.
package oracle

import (
	"context"
	"crypto/sha256"
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

// Record is one record of a data topic, decoded through the registry.
type Record struct {
	Tenant, ID string
	Offset     int64
	Value      map[string]any // nil for a tombstone
	Schema     hamba.Schema
}

// Result sums up a check.
type Result struct {
	Records    int // records read (read_committed)
	Compared   int // records of Xero compared field by field
	Duplicates int // record versions written more than once
}

func (tg Target) streams() []streams.Stream {
	if len(tg.Streams) == 0 {
		return streams.All()
	}
	return tg.Streams
}

// ReadTopics reads every data topic of the target (read_committed) and decodes each record
// through the registry, per stream name.
func ReadTopics(t testing.TB, tg Target) map[string][]Record {
	t.Helper()
	var topics []string
	for _, s := range tg.streams() {
		topics = append(topics, tg.TopicPrefix+"."+s.Name)
	}
	// A transport of its own, closed when done: a real registry outlives the check and would
	// keep an idle connection open.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	reg, err := registry.NewClient(tg.RegistryURL, registry.WithHTTPClient(&http.Client{Transport: tr, Timeout: time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[int]hamba.Schema{}
	schemaOf := func(framed []byte) (hamba.Schema, []byte) {
		t.Helper()
		var hdr sr.ConfluentHeader
		id, body, err := hdr.DecodeID(framed)
		if err != nil {
			t.Fatalf("not Confluent wire format: % x: %v", framed[:min(len(framed), 8)], err)
		}
		s, ok := schemas[id]
		if !ok {
			s, err = reg.GetSchema(context.Background(), id)
			if err != nil {
				t.Fatalf("schema %d: %v", id, err)
			}
			schemas[id] = s
		}
		return s, body
	}
	out := map[string][]Record{}
	for _, r := range tg.Kafka.ReadAll(t, kgo.ReadCommitted(), topics...) {
		ks, kb := schemaOf(r.Key)
		var key map[string]any
		if err := hamba.Unmarshal(ks, kb, &key); err != nil {
			t.Fatalf("%s: key: %v", r.Topic, err)
		}
		stream := strings.TrimPrefix(r.Topic, tg.TopicPrefix+".")
		s, _ := streams.ByName(stream)
		d := Record{Tenant: fmt.Sprint(key["TenantID"]), ID: fmt.Sprint(key[s.PrimaryKey]), Offset: r.Offset}
		if r.Value != nil {
			vs, vb := schemaOf(r.Value)
			if err := hamba.Unmarshal(vs, vb, &d.Value); err != nil {
				t.Fatalf("%s: value: %v", r.Topic, err)
			}
			d.Schema = vs
		}
		out[stream] = append(out[stream], d)
	}
	return out
}

// CheckEndState reports, as test errors, every difference between the topics and Xero: for
// every tenant and stream, the last value per key equals the simulator's current record, field
// by field; no key is in a topic that Xero does not have; and no record version (the same
// value, apart from its extraction time) was written twice for a key. It fails the test when
// nothing was compared.
func CheckEndState(t testing.TB, tg Target) Result {
	t.Helper()
	topics := ReadTopics(t, tg)
	var res Result
	for _, s := range tg.streams() {
		type key struct{ tenant, id string }
		last := map[key]Record{}
		seen := map[key]map[[32]byte]int64{}
		history := map[key][]string{} // what was written for each record, for the failure messages
		dups := 0
		for _, d := range topics[s.Name] {
			res.Records++
			k := key{d.Tenant, d.ID}
			if d.Value == nil {
				history[k] = append(history[k], fmt.Sprintf("@%d tombstone", d.Offset))
				delete(last, k)
				continue
			}
			history[k] = append(history[k], fmt.Sprintf("@%d %v", d.Offset, d.Value[s.ReplicationKey]))
			fp := Fingerprint(d.Value)
			if seen[k] == nil {
				seen[k] = map[[32]byte]int64{}
			}
			if first, ok := seen[k][fp]; ok && !tg.Reread[s.Name] {
				res.Duplicates++
				if dups++; dups <= maxDuplicatesShown {
					t.Errorf("%s %s/%s: the same version written twice, at offsets %d and %d", s.Name, d.Tenant, d.ID, first, d.Offset)
				}
			} else {
				seen[k][fp] = d.Offset
			}
			last[k] = d
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
					t.Errorf("%s %s/%s: in Xero (%s %v), missing from the topic; written: %v", s.Name, tenant, id, s.ReplicationKey, j.(map[string]any)[s.ReplicationKey], history[key{tenant, id}])
					continue
				}
				if diffs := avrocheck.Compare(got.Schema, j, got.Value, avrocheck.Meta{TenantID: tenant}); len(diffs) > 0 {
					t.Errorf("%s %s/%s (Xero's %s %v) differs from Xero:\n  %s\n  written: %v", s.Name, tenant, id, s.ReplicationKey,
						j.(map[string]any)[s.ReplicationKey], strings.Join(diffs[:min(len(diffs), 5)], "\n  "), history[key{tenant, id}])
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
