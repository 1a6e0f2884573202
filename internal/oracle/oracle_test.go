package oracle

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/internal/testenv"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// errorBook is a testing.TB whose Errorf is noted rather than reported: the test reads what
// the check found.
type errorBook struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (b *errorBook) Errorf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, fmt.Sprintf(format, args...))
}

func (b *errorBook) Helper() {}

// TestCheckEndStateFindsEachDifference writes a topic of contacts equal to the simulator's, then
// one of each kind of difference, and wants the check to find each one, and nothing else: a
// version written twice (with another extraction time), a record missing (a tombstone), one that
// differs from Xero, one Xero does not have. A record written in two versions is no duplicate.
func TestCheckEndStateFindsEachDifference(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(7), xerosim.Tenants(1), xerosim.Volume("contacts", 12))
	t.Cleanup(sim.Close)
	kafka := testenv.Kafka(t)
	regURL := testenv.Registry(t)
	prefix := testenv.Prefix(t)
	topic := prefix + ".contacts"
	kafka.CreateTopic(t, topic, 2, nil)
	codec, err := avro.NewCodec("contacts")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := avro.Register(t.Context(), testenv.RegistryClient(t, regURL), topic, codec)
	if err != nil {
		t.Fatal(err)
	}
	stream, _ := streams.ByName("contacts")
	tenant := sim.Tenants()[0]
	truth, err := sim.Truth(tenant, "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if len(truth) < 6 {
		t.Fatalf("%d contacts in the simulator, want at least 6", len(truth))
	}
	idOf := func(raw json.RawMessage) string {
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(v[stream.PrimaryKey])
	}
	var hdr sr.ConfluentHeader
	extracted := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := func(id string, raw json.RawMessage) *kgo.Record {
		t.Helper()
		framed := func(schemaID int) []byte {
			b, err := hdr.AppendEncode(nil, schemaID, nil)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		key, err := codec.AppendKey(framed(ids.KeyID), tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		r := &kgo.Record{Topic: topic, Key: key}
		if raw != nil {
			extracted = extracted.Add(1500 * time.Millisecond) // each version its own extraction time
			if r.Value, err = codec.AppendValue(framed(ids.ValueID), raw, tenant, extracted); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	write := func(recs ...*kgo.Record) {
		t.Helper()
		cl := kafka.Client(t, kgo.TransactionalID(testenv.Prefix(t)+"-writer"), kgo.DefaultProduceTopic(topic))
		if err := testenv.Commit(t.Context(), cl, recs...); err != nil {
			t.Fatalf("write: %v", err)
		}
		cl.Close()
	}
	changed := func(raw json.RawMessage) json.RawMessage {
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		v["Name"] = fmt.Sprint(v["Name"], " (changed)")
		if addresses, _ := v["Addresses"].([]any); len(addresses) > 0 { // inside a union of an array of records
			addresses[len(addresses)-1].(map[string]any)["City"] = "Elsewhere"
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	check := func() (Result, []string) {
		t.Helper()
		book := &errorBook{TB: t}
		res := CheckEndState(book, Target{Kafka: kafka, RegistryURL: regURL, TopicPrefix: prefix, Streams: []streams.Stream{stream}, Sim: sim})
		return res, book.errs
	}

	// Every contact once; one in an earlier version first.
	var recs []*kgo.Record
	for i, raw := range truth {
		if i == 5 {
			recs = append(recs, rec(idOf(raw), changed(raw)))
		}
		recs = append(recs, rec(idOf(raw), raw))
	}
	write(recs...)
	res, errs := check()
	if len(errs) > 0 || res.Compared != len(truth) || res.Duplicates != 0 || res.Records != len(truth)+1 {
		t.Fatalf("equal topic: %+v, errors:\n%s", res, strings.Join(errs, "\n"))
	}

	write(
		rec(idOf(truth[0]), truth[0]),          // written twice
		rec(idOf(truth[1]), nil),               // deleted from the topic
		rec(idOf(truth[2]), changed(truth[2])), // differs
		rec("not-in-xero", truth[3]),           // a record Xero does not have
	)
	res, errs = check()
	want := []string{
		fmt.Sprintf("contacts %s/%s: the same version written twice", tenant, idOf(truth[0])),
		fmt.Sprintf("contacts %s/%s: in Xero", tenant, idOf(truth[1])),
		fmt.Sprintf("contacts %s/%s (Xero's", tenant, idOf(truth[2])),
		fmt.Sprintf("contacts %s/not-in-xero: in the topic, not in Xero", tenant),
	}
	if res.Duplicates != 1 || len(errs) != len(want) {
		t.Errorf("%d duplicates, %d errors; want 1 and %d:\n%s", res.Duplicates, len(errs), len(want), strings.Join(errs, "\n"))
	}
	for _, w := range want {
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.HasPrefix(e, w) }) {
			t.Errorf("no error starting %q among:\n%s", w, strings.Join(errs, "\n"))
		}
	}
	if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, "].City: ") && strings.Contains(e, "Elsewhere") }) {
		t.Errorf("the changed city of an address was not found among:\n%s", strings.Join(errs, "\n"))
	}
}
