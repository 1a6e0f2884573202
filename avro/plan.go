package avro

import (
	"fmt"
	"sync/atomic"

	hamba "github.com/hamba/avro/v2"
)

// A plan is what the transcoder needs to know about a schema, worked out once per Codec: for each
// record, its fields in schema order with their JSON names and kinds, and a map from JSON name to
// field for the record's Xero fields. Records are shared by name, so the recursive schemas
// (Invoice → Payment → Invoice) give a plan with cycles, not an endless one.

// kind is how one value is read from JSON and written to Avro.
type kind uint8

const (
	kindString kind = iota + 1
	kindBoolean
	kindInt
	kindLong
	kindDecimal
	kindDate            // int date: days since the epoch
	kindTimestampMillis // long timestamp-millis
	kindRecord
	kindArray
)

// role tells the fields the connector adds apart from Xero's.
type role uint8

const (
	roleXero        role = iota
	roleTenantID         // _tenant_id: the tenant given to AppendValue
	roleExtractedAt      // _extracted_at: the time given to AppendValue
	roleUnknown          // _unknown_fields: the JSON fields the record's schema does not know
)

// Names of the fields the connector adds to Xero's.
const (
	fieldTenantID      = "_tenant_id"
	fieldExtractedAt   = "_extracted_at"
	fieldUnknownFields = "_unknown_fields"
)

// typePlan is how to read and write one value.
type typePlan struct {
	kind kind
	// nullable: the Avro type is a union of null and the value's type; nullIndex and valueIndex
	// are the union branches written before a null and before a value.
	nullable   bool
	nullIndex  int64
	valueIndex int64
	// decimals
	precision, scale int
	// records and arrays
	record *recordPlan
	items  *typePlan
}

type fieldPlan struct {
	name string // the Avro field name, which is also the JSON name
	// quoted is the name as a JSON string, "Name": Avro names hold no quote or backslash, so
	// these are exactly the bytes of a member with that name written without escapes.
	quoted string
	role   role
	typ    typePlan
}

type recordPlan struct {
	name   string
	fields []fieldPlan
	// byName maps the JSON name of each Xero field to its index in fields.
	byName map[string]int
	// next guesses the order of Xero's members, which is the same from one record to the next
	// but not the schema's: next[k+1] is the index of the Xero field that followed field k (k =
	// -1: the first member) the last time that was looked up, or -1. A right guess costs one
	// comparison of the input's bytes with the field's quoted name, instead of reading the name
	// to its closing quote and a map lookup; a wrong one, that comparison more. Codecs are shared
	// by goroutines, hence the atomics.
	next []atomic.Int32
	// unknownAt is the index of the _unknown_fields field, -1 if the record has none.
	unknownAt int
}

// compile builds the plan of a record schema.
func compile(s hamba.Schema) (*recordPlan, error) {
	c := &compiler{records: make(map[string]*recordPlan)}
	t, err := c.typ(s)
	if err != nil {
		return nil, err
	}
	if t.kind != kindRecord || t.nullable {
		return nil, fmt.Errorf("the schema is not a record")
	}
	return t.record, nil
}

type compiler struct {
	records map[string]*recordPlan // by full name
}

func (c *compiler) typ(s hamba.Schema) (typePlan, error) {
	switch s := s.(type) {
	case *hamba.UnionSchema:
		types := s.Types()
		if len(types) != 2 || !s.Nullable() {
			return typePlan{}, fmt.Errorf("union %s: only unions of null and one type are supported", s)
		}
		nullIdx, typIdx := s.Indices()
		t, err := c.typ(types[typIdx])
		if err != nil {
			return typePlan{}, err
		}
		if t.nullable {
			return typePlan{}, fmt.Errorf("union %s: nested union", s)
		}
		t.nullable, t.nullIndex, t.valueIndex = true, int64(nullIdx), int64(typIdx)
		return t, nil
	case *hamba.RefSchema:
		return c.typ(s.Schema())
	case *hamba.RecordSchema:
		return c.record(s)
	case *hamba.ArraySchema:
		items, err := c.typ(s.Items())
		if err != nil {
			return typePlan{}, err
		}
		return typePlan{kind: kindArray, items: &items}, nil
	case *hamba.PrimitiveSchema:
		return primitive(s)
	default:
		return typePlan{}, fmt.Errorf("unsupported Avro type %s", s.Type())
	}
}

func primitive(s *hamba.PrimitiveSchema) (typePlan, error) {
	logical := ""
	if l := s.Logical(); l != nil {
		logical = string(l.Type())
	}
	switch {
	case s.Type() == hamba.String && logical == "":
		return typePlan{kind: kindString}, nil
	case s.Type() == hamba.String && logical == string(hamba.UUID):
		return typePlan{kind: kindString}, nil
	case s.Type() == hamba.Boolean:
		return typePlan{kind: kindBoolean}, nil
	case s.Type() == hamba.Int && logical == "":
		return typePlan{kind: kindInt}, nil
	case s.Type() == hamba.Int && logical == string(hamba.Date):
		return typePlan{kind: kindDate}, nil
	case s.Type() == hamba.Long && logical == "":
		return typePlan{kind: kindLong}, nil
	case s.Type() == hamba.Long && logical == string(hamba.TimestampMillis):
		return typePlan{kind: kindTimestampMillis}, nil
	case s.Type() == hamba.Bytes && logical == string(hamba.Decimal):
		d := s.Logical().(*hamba.DecimalLogicalSchema)
		if d.Precision() < 1 || d.Precision() > maxPrecision || d.Scale() < 0 || d.Scale() > d.Precision() {
			return typePlan{}, fmt.Errorf("unsupported decimal(%d,%d): precision must be 1 to %d and scale 0 to precision", d.Precision(), d.Scale(), maxPrecision)
		}
		return typePlan{kind: kindDecimal, precision: d.Precision(), scale: d.Scale()}, nil
	}
	return typePlan{}, fmt.Errorf("unsupported Avro type %s", s)
}

func (c *compiler) record(s *hamba.RecordSchema) (typePlan, error) {
	if r, ok := c.records[s.FullName()]; ok {
		return typePlan{kind: kindRecord, record: r}, nil
	}
	r := &recordPlan{name: s.FullName(), byName: make(map[string]int), unknownAt: -1}
	c.records[s.FullName()] = r
	for _, f := range s.Fields() {
		t, err := c.typ(f.Type())
		if err != nil {
			return typePlan{}, fmt.Errorf("%s.%s: %w", s.Name(), f.Name(), err)
		}
		fp := fieldPlan{name: f.Name(), quoted: `"` + f.Name() + `"`, typ: t}
		switch f.Name() {
		case fieldTenantID:
			fp.role = roleTenantID
			if t.kind != kindString || t.nullable {
				return typePlan{}, fmt.Errorf("%s.%s must be a string", s.Name(), f.Name())
			}
		case fieldExtractedAt:
			fp.role = roleExtractedAt
			if t.kind != kindTimestampMillis || t.nullable {
				return typePlan{}, fmt.Errorf("%s.%s must be a timestamp-millis", s.Name(), f.Name())
			}
		case fieldUnknownFields:
			fp.role = roleUnknown
			if t.kind != kindString || !t.nullable {
				return typePlan{}, fmt.Errorf("%s.%s must be a nullable string", s.Name(), f.Name())
			}
			r.unknownAt = len(r.fields)
		default:
			// The transcoder decides what goes to _unknown_fields while it writes the fields
			// before it.
			if r.unknownAt >= 0 {
				return typePlan{}, fmt.Errorf("%s.%s: Xero's fields must come before %s", s.Name(), f.Name(), fieldUnknownFields)
			}
			r.byName[f.Name()] = len(r.fields)
		}
		r.fields = append(r.fields, fp)
	}
	r.next = make([]atomic.Int32, len(r.fields)+1)
	for k := range r.next {
		r.next[k].Store(-1)
	}
	return typePlan{kind: kindRecord, record: r}, nil
}
