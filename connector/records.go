package connector

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/streams"
)

// Record headers. Every data record carries the tenant, the stream and, where the stream has one,
// the replication-key value, so consumers can route and trace without decoding the value.
const (
	headerTenant      = "xero.tenant_id"
	headerStream      = "xero.stream"
	headerPosition    = "xero.replication_key"
	headerOp          = "xero.op" // "u" upsert, "d" delete (tombstone)
	headerError       = "xero.error"
	headerErrorDetail = "xero.error_field"
)

// encoder transcodes one stream's records to Avro; *avro.Codec implements it. The records come
// from xero.Page, whose split has checked their JSON syntax, so the transcoder need not check it
// again (AppendValidValue).
type encoder interface {
	AppendKey(dst []byte, tenantID, primaryKey string) ([]byte, error)
	AppendValidValue(dst, raw []byte, tenantID string, extractedAt time.Time) ([]byte, error)
}

// builder turns the raw records of one (tenant, stream) into Kafka records: Avro key and value in
// the Confluent wire format on the stream's topic, or the raw JSON on the dead-letter topic when
// the record cannot be transcoded. What does not depend on the tenant is the stream's
// streamBuilder, which the pollers of every organisation share.
type builder struct {
	*streamBuilder
	tenant string
	// values holds the header values every record of the builder shares, made on first use
	// in a turn and dropped when the turn ends (dropHeaderValues): the producer only reads
	// them, and a waiting stream does not keep them.
	values *headerValues
}

// streamBuilder is what the builders of one stream share: its topics, codec and schema ids.
type streamBuilder struct {
	stream    *streams.Stream
	topic     string
	deadTopic string
	enc       encoder
	keyID     int
	valueID   int
}

// dropHeaderValues lets go of the shared header values at the end of a turn; the records that
// use them keep them alive until they are answered.
func (b *builder) dropHeaderValues() {
	b.values = nil
}

// headerValues are the header values of a builder's records that do not depend on the record.
type headerValues struct {
	tenant, stream, upsert, del []byte
}

// record builds the Kafka record of one Xero record. A record that cannot be transcoded goes to
// the dead-letter topic: dead is then true and the error says why.
func (b *builder) record(raw []byte, m recordMeta, extractedAt time.Time) (rec *kgo.Record, dead bool, err error) {
	// The key and the value share one allocation. The Avro value of a Xero record is about half
	// its JSON (at most 0.54 of it in the simulator's invoices and journals).
	buf := make([]byte, 0, keySize+len(raw)*5/8+16)
	key, err := b.appendKey(buf, m.id)
	if err != nil {
		return nil, false, err
	}
	key = key[:len(key):len(key)]
	var h sr.ConfluentHeader
	value, err := h.AppendEncode(buf[len(key):len(key)], b.valueID, nil)
	if err != nil {
		return nil, false, fmt.Errorf("frame value: %w", err)
	}
	value, encErr := b.enc.AppendValidValue(value, raw, b.tenant, extractedAt)
	if encErr != nil {
		return b.deadLetter(raw, m, encErr), true, encErr
	}
	// The record and its headers are one allocation, and the replication key's header value
	// goes in the room left after the value.
	r := &recordAlloc{}
	r.rec = kgo.Record{Topic: b.topic, Key: key, Headers: b.appendHeaders(r.headers[:0], "u")}
	if m.posText != "" {
		pos := append(value[len(value):], m.posText...)
		r.rec.Headers = append(r.rec.Headers, kgo.RecordHeader{Key: headerPosition, Value: pos[:len(pos):len(pos)]})
	}
	r.rec.Value = value[:len(value):len(value)]
	return &r.rec, false, nil
}

// recordAlloc is a record with room for the headers of a record of the stream's topic.
type recordAlloc struct {
	rec     kgo.Record
	headers [4]kgo.RecordHeader
}

// tombstone builds the delete marker of a record that disappeared from Xero: its key with a null
// value, so compaction removes the key.
func (b *builder) tombstone(id string) (*kgo.Record, error) {
	key, err := b.key(id)
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Topic: b.topic, Key: key, Headers: b.headers(recordMeta{id: id}, "d")}, nil
}

// keySize is room for a key: the wire header, then the tenant id and the primary key, each a
// UUID in Xero, with their lengths.
const keySize = 96

func (b *builder) key(id string) ([]byte, error) {
	return b.appendKey(make([]byte, 0, keySize), id)
}

// appendKey appends to dst the key of the record id, framed.
func (b *builder) appendKey(dst []byte, id string) ([]byte, error) {
	var h sr.ConfluentHeader
	key, err := h.AppendEncode(dst, b.keyID, nil)
	if err != nil {
		return nil, fmt.Errorf("frame key: %w", err)
	}
	key, err = b.enc.AppendKey(key, b.tenant, id)
	if err != nil {
		return nil, fmt.Errorf("encode key %q: %w", id, err)
	}
	return key, nil
}

func (b *builder) headers(m recordMeta, op string) []kgo.RecordHeader {
	h := b.appendHeaders(make([]kgo.RecordHeader, 0, 4), op)
	if m.posText != "" {
		h = append(h, kgo.RecordHeader{Key: headerPosition, Value: []byte(m.posText)})
	}
	return h
}

// appendHeaders appends the headers every record of the builder has: tenant, stream and op.
func (b *builder) appendHeaders(h []kgo.RecordHeader, op string) []kgo.RecordHeader {
	if b.values == nil {
		b.values = &headerValues{tenant: []byte(b.tenant), stream: []byte(b.stream.Name), upsert: []byte("u"), del: []byte("d")}
	}
	opValue := b.values.upsert
	if op != "u" {
		opValue = b.values.del
	}
	return append(h,
		kgo.RecordHeader{Key: headerTenant, Value: b.values.tenant},
		kgo.RecordHeader{Key: headerStream, Value: b.values.stream},
		kgo.RecordHeader{Key: headerOp, Value: opValue},
	)
}

// deadLetter wraps a record that could not be transcoded: the raw JSON as the value, a plain-text
// key naming tenant, stream and record, and the error in the headers.
func (b *builder) deadLetter(raw []byte, m recordMeta, cause error) *kgo.Record {
	h := b.headers(m, "u")
	h = append(h, kgo.RecordHeader{Key: headerError, Value: []byte(cause.Error())})
	if f := fieldOf(cause); f != "" {
		h = append(h, kgo.RecordHeader{Key: headerErrorDetail, Value: []byte(f)})
	}
	return &kgo.Record{
		Topic:   b.deadTopic,
		Key:     []byte(b.tenant + "/" + b.stream.Name + "/" + m.id),
		Value:   append([]byte(nil), raw...),
		Headers: h,
	}
}

// fieldOf returns the field a transcoding error names, or "".
func fieldOf(err error) string {
	var fe *avro.FieldError
	if errors.As(err, &fe) {
		return fe.Path
	}
	return ""
}
