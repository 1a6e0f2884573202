package connector

import (
	"bytes"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// TestBuilderRecord checks a built record against the codec's own key and value: the key and
// value share an allocation but neither reaches into the other, and the headers every record
// shares are right in each of them.
func TestBuilderRecord(t *testing.T) {
	for _, name := range []string{"invoices", "journals", "contacts"} {
		s, _ := streams.ByName(name)
		sim := xerosim.NewSim(xerosim.Seed(4), xerosim.Tenants(1), xerosim.Volume(name, 40))
		t.Cleanup(sim.Close)
		tenant := sim.Tenants()[0]
		records, err := sim.Truth(tenant, name)
		if err != nil {
			t.Fatal(err)
		}
		codec, err := avro.NewCodec(name)
		if err != nil {
			t.Fatal(err)
		}
		b := builder{streamBuilder: &streamBuilder{stream: &s, topic: "t", deadTopic: "dead", enc: codec, keyID: 7, valueID: 9}, tenant: tenant}
		at := time.UnixMilli(1767225600123)
		for _, raw := range records {
			m, err := readMeta(&s, raw)
			if err != nil {
				t.Fatal(err)
			}
			rec, dead, err := b.record(raw, m, at)
			if err != nil || dead {
				t.Fatalf("%s %s: dead %v, %v", name, m.id, dead, err)
			}
			var h sr.ConfluentHeader
			wantKey, _ := h.AppendEncode(nil, 7, nil)
			wantKey, _ = codec.AppendKey(wantKey, tenant, m.id)
			wantValue, _ := h.AppendEncode(nil, 9, nil)
			wantValue, _ = codec.AppendValue(wantValue, raw, tenant, at)
			value := bytes.Clone(rec.Value)
			_ = append(rec.Key, bytes.Repeat([]byte{0xff}, 64)...) // must not write into the value
			if !bytes.Equal(rec.Key, wantKey) || !bytes.Equal(rec.Value, wantValue) || !bytes.Equal(rec.Value, value) {
				t.Fatalf("%s %s: key %x value %x, want %x %x", name, m.id, rec.Key, rec.Value, wantKey, wantValue)
			}
			got := map[string]string{}
			for _, hd := range rec.Headers {
				got[hd.Key] = string(hd.Value)
			}
			want := map[string]string{headerTenant: tenant, headerStream: name, headerOp: "u"}
			if m.posText != "" {
				want[headerPosition] = m.posText
			}
			if len(got) != len(want) {
				t.Fatalf("%s: headers %v, want %v", name, got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("%s: header %s = %q, want %q", name, k, got[k], v)
				}
			}
			del, err := b.tombstone(m.id)
			if err != nil || del.Value != nil || string(del.Headers[2].Value) != "d" || !bytes.Equal(del.Key, wantKey) {
				t.Fatalf("%s: tombstone %+v, %v", name, del, err)
			}
		}
	}
}
