package testenv_test

import (
	"bytes"
	"encoding/json"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

const invoiceKeySchema = `{"type":"record","name":"InvoiceKey","namespace":"com.example.xk","fields":[
  {"name":"TenantID","type":"string"},
  {"name":"InvoiceID","type":"string"}]}`

const invoiceSchema = `{"type":"record","name":"Invoice","namespace":"com.example.xk","fields":[
  {"name":"InvoiceID","type":"string"},
  {"name":"Total","type":{"type":"bytes","logicalType":"decimal","precision":18,"scale":4}},
  {"name":"Tax","type":["null",{"type":"bytes","logicalType":"decimal","precision":18,"scale":4}],"default":null},
  {"name":"UpdatedDateUTC","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"Date","type":["null",{"type":"int","logicalType":"date"}],"default":null},
  {"name":"Reference","type":["null","string"],"default":null},
  {"name":"LineItems","type":{"type":"array","items":{"type":"record","name":"LineItem","fields":[
    {"name":"Description","type":["null","string"],"default":null},
    {"name":"Quantity","type":{"type":"bytes","logicalType":"decimal","precision":18,"scale":4}}]}}},
  {"name":"Sequence","type":"long"}]}`

type invoiceKey struct {
	TenantID  string `avro:"TenantID"`
	InvoiceID string `avro:"InvoiceID"`
}

type lineItem struct {
	Description *string  `avro:"Description"`
	Quantity    *big.Rat `avro:"Quantity"`
}

type invoice struct {
	InvoiceID      string     `avro:"InvoiceID"`
	Total          *big.Rat   `avro:"Total"`
	Tax            *big.Rat   `avro:"Tax"`
	UpdatedDateUTC time.Time  `avro:"UpdatedDateUTC"`
	Date           *time.Time `avro:"Date"`
	Reference      *string    `avro:"Reference"`
	LineItems      []lineItem `avro:"LineItems"`
	Sequence       int64      `avro:"Sequence"`
}

func rat(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("bad decimal %q", s)
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// TestDecodeWithPython writes Avro records with hamba/avro and the Confluent framing of franz-go's
// sr package, and checks what the independent decoder makes of them, field by field.
func TestDecodeWithPython(t *testing.T) {
	k := testenv.Kafka(t)
	regURL := testenv.Registry(t)
	topic := testenv.Prefix(t) + ".invoices"
	k.CreateTopic(t, topic, 1, nil)

	ctx := t.Context()
	reg := testenv.RegistryClient(t, regURL)
	keySS, err := reg.CreateSchema(ctx, topic+"-key", sr.Schema{Schema: invoiceKeySchema, Type: sr.TypeAvro})
	if err != nil {
		t.Fatalf("register key schema: %v", err)
	}
	valSS, err := reg.CreateSchema(ctx, topic+"-value", sr.Schema{Schema: invoiceSchema, Type: sr.TypeAvro})
	if err != nil {
		t.Fatalf("register value schema: %v", err)
	}
	keyAvro := avro.MustParse(invoiceKeySchema)
	valAvro := avro.MustParse(invoiceSchema)
	encode := func(id int, s avro.Schema, v any) []byte {
		t.Helper()
		b, err := (&sr.ConfluentHeader{}).AppendEncode(nil, id, nil)
		if err != nil {
			t.Fatalf("header: %v", err)
		}
		body, err := avro.Marshal(s, v)
		if err != nil {
			t.Fatalf("encode %T: %v", v, err)
		}
		return append(b, body...)
	}
	key := func(id string) []byte {
		return encode(keySS.ID, keyAvro, invoiceKey{TenantID: "tenant-1", InvoiceID: id})
	}

	full := invoice{
		InvoiceID:      "inv-1",
		Total:          rat(t, "1234.56"),
		Tax:            rat(t, "-0.0001"),
		UpdatedDateUTC: time.Date(2024, 3, 1, 12, 34, 56, 789_000_000, time.UTC),
		Date:           ptr(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)),
		Reference:      ptr("INV-001 “Zoë”"),
		LineItems: []lineItem{
			{Description: ptr("Widget"), Quantity: rat(t, "3")},
			{Description: nil, Quantity: rat(t, "0.5")},
		},
		Sequence: 1<<53 + 1, // not exact as a float64: must come through as written
	}
	sparse := invoice{
		InvoiceID:      "inv-2",
		Total:          rat(t, "0"),
		UpdatedDateUTC: time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		LineItems:      []lineItem{},
		Sequence:       -7,
	}
	hdr := []kgo.RecordHeader{{Key: "xero.tenant_id", Value: []byte("tenant-1")}, {Key: "xero.stream", Value: []byte("invoices")}}

	cl := k.Client(t, kgo.TransactionalID(testenv.Prefix(t)), kgo.DefaultProduceTopic(topic))
	txn := func(commit bool, recs ...*kgo.Record) []*kgo.Record {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatalf("begin transaction: %v", err)
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatalf("end transaction: %v", err)
		}
		return recs
	}
	committed := txn(true,
		&kgo.Record{Key: key("inv-1"), Value: encode(valSS.ID, valAvro, full), Headers: hdr},
		&kgo.Record{Key: key("inv-2"), Value: encode(valSS.ID, valAvro, sparse)},
	)
	txn(false, &kgo.Record{Key: key("inv-3"), Value: encode(valSS.ID, valAvro, sparse)})    // aborted: invisible
	committed = append(committed, txn(true, &kgo.Record{Key: key("inv-1"), Value: nil})...) // tombstone

	want := []string{
		`{"key":{"TenantID":"tenant-1","InvoiceID":"inv-1"},
		  "value":{"InvoiceID":"inv-1","Total":"1234.5600","Tax":"-0.0001",
		    "UpdatedDateUTC":"2024-03-01T12:34:56.789Z","Date":"2024-02-29","Reference":"INV-001 “Zoë”",
		    "LineItems":[{"Description":"Widget","Quantity":"3.0000"},{"Description":null,"Quantity":"0.5000"}],
		    "Sequence":9007199254740993},
		  "headers":[{"key":"xero.tenant_id","value":"tenant-1"},{"key":"xero.stream","value":"invoices"}]}`,
		`{"key":{"TenantID":"tenant-1","InvoiceID":"inv-2"},
		  "value":{"InvoiceID":"inv-2","Total":"0.0000","Tax":null,
		    "UpdatedDateUTC":"1969-12-31T23:59:59.999Z","Date":null,"Reference":null,"LineItems":[],"Sequence":-7},
		  "headers":[]}`,
		`{"key":{"TenantID":"tenant-1","InvoiceID":"inv-1"},"value":null,"headers":[]}`,
	}

	got := testenv.DecodeWithPython(t, k.Brokers, regURL, topic)
	if len(got) != len(want) {
		t.Fatalf("decoded %d records, want %d: %+v", len(got), len(want), got)
	}
	for i, d := range got {
		if d.Topic != topic || d.Partition != 0 || d.Offset != committed[i].Offset {
			t.Errorf("record %d at %s/%d@%d, want %s/0@%d", i, d.Topic, d.Partition, d.Offset, topic, committed[i].Offset)
		}
		gotJSON, err := json.Marshal(struct {
			Key     json.RawMessage  `json:"key"`
			Value   json.RawMessage  `json:"value"`
			Headers []testenv.Header `json:"headers"`
		}{d.Key, d.Value, d.Headers})
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, gotJSON, []byte(want[i])) {
			t.Errorf("record %d:\n got %s\nwant %s", i, gotJSON, want[i])
		}
	}
}

// sameJSON compares two JSON documents by value, keeping numbers exact.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	parse := func(p []byte) any {
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		return v
	}
	return reflect.DeepEqual(parse(a), parse(b))
}
