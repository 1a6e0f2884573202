package avro

import (
	"embed"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	hamba "github.com/hamba/avro/v2"

	"github.com/xero-kafka/xero-kafka/internal/jsonscan"
	"github.com/xero-kafka/xero-kafka/streams"
)

// schemaFiles holds the generated schemas: <stream>-value.avsc and <stream>-key.avsc.
//
//go:embed schemas/*.avsc
var schemaFiles embed.FS

// maxRecord is the size of the largest record the transcoder takes, 256 MiB: Xero's are a few
// kB.
const maxRecord = 1 << 28

// Codec transcodes the records of one stream. It is safe for concurrent use.
type Codec struct {
	stream      string
	valueSchema string
	keySchema   string
	primaryKey  string
	plan        *recordPlan
	encoders    sync.Pool // *encoder
}

// FieldError is the error of AppendValue and AppendKey: what was wrong, and where.
type FieldError struct {
	// Stream is the stream whose record it was: "invoices".
	Stream string
	// Path locates the field in the record: "LineItems[2].UnitAmount". It is empty when the
	// error is not about one field (the input is not a JSON object, for example).
	Path string
	// Err says what is wrong with the value.
	Err error
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Stream + ": " + e.Err.Error()
	}
	return e.Stream + ": " + e.Path + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// NewCodec returns the codec of the named stream: it parses the stream's embedded schemas and
// works out its transcoding plan. Create one per stream at startup and reuse it.
func NewCodec(stream string) (*Codec, error) {
	st, ok := streams.ByName(stream)
	if !ok {
		return nil, fmt.Errorf("avro: unknown stream %q", stream)
	}
	value, err := schemaFiles.ReadFile("schemas/" + stream + "-value.avsc")
	if err != nil {
		return nil, fmt.Errorf("avro: %s: value schema: %w", stream, err)
	}
	key, err := schemaFiles.ReadFile("schemas/" + stream + "-key.avsc")
	if err != nil {
		return nil, fmt.Errorf("avro: %s: key schema: %w", stream, err)
	}
	return newCodec(st.Name, st.PrimaryKey, string(value), string(key))
}

func newCodec(stream, primaryKey, value, key string) (*Codec, error) {
	vs, err := hamba.ParseWithCache(value, "", &hamba.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("avro: %s: parse value schema: %w", stream, err)
	}
	plan, err := compile(vs)
	if err != nil {
		return nil, fmt.Errorf("avro: %s: value schema: %w", stream, err)
	}
	ks, err := hamba.ParseWithCache(key, "", &hamba.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("avro: %s: parse key schema: %w", stream, err)
	}
	if err := checkKey(ks, primaryKey); err != nil {
		return nil, fmt.Errorf("avro: %s: key schema: %w", stream, err)
	}
	c := &Codec{stream: stream, valueSchema: value, keySchema: key, primaryKey: primaryKey, plan: plan}
	c.encoders.New = func() any { return new(encoder) }
	return c, nil
}

// checkKey makes sure the key schema is the record AppendKey writes: two strings, the tenant id
// and the primary key.
func checkKey(s hamba.Schema, primaryKey string) error {
	r, ok := s.(*hamba.RecordSchema)
	if !ok || len(r.Fields()) != 2 {
		return errors.New("want a record of two fields")
	}
	for k, name := range []string{"TenantID", primaryKey} {
		f := r.Fields()[k]
		if f.Name() != name || f.Type().Type() != hamba.String {
			return fmt.Errorf("field %d must be the string %s", k+1, name)
		}
	}
	return nil
}

// Stream returns the name of the codec's stream.
func (c *Codec) Stream() string { return c.stream }

// ValueSchema returns the value schema exactly as generated (the text to register).
func (c *Codec) ValueSchema() string { return c.valueSchema }

// KeySchema returns the key schema exactly as generated (the text to register).
func (c *Codec) KeySchema() string { return c.keySchema }

// AppendValue transcodes raw, one record as Xero's JSON (a complete object), to the Avro binary
// of the value schema, appended to dst; tenantID and extractedAt fill the _tenant_id and
// _extracted_at fields. It writes the body only, not the Confluent wire header.
//
// The transcoding is exact or fails: a value of the wrong JSON type, a number that does not fit
// its decimal, a date that is not midnight UTC, malformed JSON and so on return a *FieldError
// naming the field. Fields the schema does not know are kept in _unknown_fields, and so are
// empty values of another type ("", {} or [] where the field is not a string, a record or an
// array), which are written as null; "/Date(0+0000)/" is null. README.md has the table of every
// mismatch. On error, dst is returned with its original length.
func (c *Codec) AppendValue(dst, raw []byte, tenantID string, extractedAt time.Time) ([]byte, error) {
	return c.appendValue(dst, raw, tenantID, extractedAt, false)
}

// AppendValidValue is AppendValue for a record whose JSON syntax has been checked already, as
// the xero package checks every record of a page while it splits the page (RFC 8259).
// It gives the same bytes and the same errors as AppendValue, and reads the record once less:
// the syntax is not checked again, only the UTF-8 of its strings and the depth of its nesting.
// Given JSON that is not valid, it may return wrong bytes rather than an error.
func (c *Codec) AppendValidValue(dst, raw []byte, tenantID string, extractedAt time.Time) ([]byte, error) {
	return c.appendValue(dst, raw, tenantID, extractedAt, true)
}

func (c *Codec) appendValue(dst, raw []byte, tenantID string, extractedAt time.Time, valid bool) ([]byte, error) {
	if err := checkTenant(tenantID); err != nil {
		return dst, &FieldError{Stream: c.stream, Path: fieldTenantID, Err: err}
	}
	if len(raw) > maxRecord {
		return dst, &FieldError{Stream: c.stream, Err: fmt.Errorf("the record is %d bytes, more than the %d the transcoder takes", len(raw), maxRecord)}
	}
	e := c.encoders.Get().(*encoder)
	defer c.encoders.Put(e)
	i := skipSpace(raw, 0)
	if !valid || i >= len(raw) || !utf8.Valid(raw) {
		// Not checked before, or not UTF-8: the full check says what is wrong, if anything.
		if err := checkRecord(raw, i); err != nil {
			return dst, &FieldError{Stream: c.stream, Err: err}
		}
	}
	e.in, e.tenantID, e.extractedAt = raw, tenantID, extractedAt.UnixMilli()
	e.depth, e.tooDeep = 0, false
	out, end, err := e.record(e.out[:0], c.plan, i)
	e.out, e.in, e.tenantID = out[:0], nil, ""
	switch {
	case e.tooDeep:
		// Valid JSON, nested deeper than the full check allows: that check says where.
		if err = checkRecord(raw, i); err == nil {
			err = jsonscan.Errorf(i, "nested deeper than %d", maxDepth)
		}
		return dst, &FieldError{Stream: c.stream, Err: err}
	case err == nil:
		if j := skipSpace(raw, end); j != len(raw) {
			err = jsonscan.Errorf(j, "data after the record")
		}
	}
	if err != nil {
		fe := &FieldError{Stream: c.stream, Err: err}
		var pe *pathError
		if errors.As(err, &pe) {
			fe.Path, fe.Err = pe.path(), pe.err
		}
		return dst, fe
	}
	return append(dst, out...), nil
}

// checkRecord validates the JSON value at raw[i] as the only one of raw.
func checkRecord(raw []byte, i int) error {
	end, err := skipValue(raw, i)
	if err != nil {
		return err
	}
	if j := skipSpace(raw, end); j != len(raw) {
		return jsonscan.Errorf(j, "data after the record")
	}
	return nil
}

// AppendKey appends the Avro binary of the key record: the tenant id and the primary key.
func (c *Codec) AppendKey(dst []byte, tenantID, primaryKey string) ([]byte, error) {
	if err := checkTenant(tenantID); err != nil {
		return dst, &FieldError{Stream: c.stream, Path: "TenantID", Err: err}
	}
	if primaryKey == "" || !utf8.ValidString(primaryKey) {
		return dst, &FieldError{Stream: c.stream, Path: c.primaryKey, Err: errors.New("the primary key must be a non-empty UTF-8 string")}
	}
	dst = appendString(dst, tenantID)
	return appendString(dst, primaryKey), nil
}

func checkTenant(tenantID string) error {
	if tenantID == "" || !utf8.ValidString(tenantID) {
		return errors.New("the tenant id must be a non-empty UTF-8 string")
	}
	return nil
}
