package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/xero-kafka/xero-kafka/streams"
)

// namespace is the Avro namespace of every generated record.
const namespace = "xerokafka.accounting"

// Decimal types. Xero declares every amount, quantity and rate as `type: number` (mostly
// `format: double`) and sends it as a JSON number with a fixed number of decimals. The
// transcoder reads the number's text and refuses a value that does not fit, so these sizes are
// chosen to hold everything Xero documents, with room to spare, and they can never shrink later
// (a decimal's scale is part of what its bytes mean).
//
//   - Amounts: decimal(22,4). Totals, tax and line amounts are kept to 2 decimal places by Xero;
//     UnitAmount, UnitPrice and Quantity have up to 4 with unitdp=4 (the connector always asks
//     for it); tax rates (TaxComponent.Rate, DisplayTaxRate, EffectiveRate) are "decimal to 4dp";
//     discount and CIS rates are percentages with at most 4. Scale 4 holds all of them exactly.
//     18 integer digits are far beyond any amount an organisation can hold in Xero and match the
//     integer part Xero documents for currency rates.
//   - Currency rates (every property named CurrencyRate): decimal(28,10). Xero documents the rate
//     as up to 18 integer digits and up to 10 decimal places ("max length = [18].[10]"; the spec
//     states [18].[6] on Invoice), so the larger of the two is used.
//
// Both fit the 38-digit decimals of common sinks (Spark, Snowflake, Parquet, BigQuery BIGNUMERIC;
// decimal(22,4) also fits BigQuery NUMERIC).
const (
	amountPrecision = 22
	amountScale     = 4
	ratePrecision   = 28
	rateScale       = 10
)

// dateTimes lists the properties marked x-is-msdate (a date) that Xero nevertheless sends with a
// time of day, which a date would have to drop: they are written as timestamp-millis instead.
//   - BankTransfer.Date: the spec's own example response for GET /BankTransfers has
//     "Date": "/Date(1478985000000+0000)/" (2016-11-12T21:10:00Z, DateString 2016-11-12T21:10:00).
var dateTimes = map[string]bool{
	"BankTransfer.Date": true,
}

// Names of the fields the connector adds to Xero's.
const (
	fieldTenantID      = "_tenant_id"
	fieldExtractedAt   = "_extracted_at"
	fieldUnknownFields = "_unknown_fields"
)

// record, field, array, decimal and logical are the JSON shapes of Avro schema parts. Structs
// (not maps) fix the order of keys in the output, so the files are stable and readable.
type record struct {
	Type      string  `json:"type"`
	Name      string  `json:"name"`
	Namespace string  `json:"namespace,omitempty"`
	Doc       string  `json:"doc,omitempty"`
	Fields    []field `json:"fields"`
}

type field struct {
	Name    string          `json:"name"`
	Doc     string          `json:"doc,omitempty"`
	Type    any             `json:"type"`
	Default json.RawMessage `json:"default,omitempty"`
}

type array struct {
	Type  string `json:"type"`
	Items any    `json:"items"`
}

type decimal struct {
	Type        string `json:"type"`
	LogicalType string `json:"logicalType"`
	Precision   int    `json:"precision"`
	Scale       int    `json:"scale"`
}

type logical struct {
	Type        string `json:"type"`
	LogicalType string `json:"logicalType"`
}

var null = json.RawMessage("null")

// generate builds the value and key schema of every stream from the spec at specPath. The result
// maps a file name (<stream>-value.avsc, <stream>-key.avsc) to its content.
func generate(specPath string) (map[string][]byte, error) {
	sp, err := loadSpec(specPath)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte)
	for _, st := range streams.All() {
		value, err := valueSchema(sp, st)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", st.Name, err)
		}
		key, err := keySchema(sp, st)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", st.Name, err)
		}
		files[st.Name+"-value.avsc"] = value
		files[st.Name+"-key.avsc"] = key
	}
	return files, nil
}

// generator builds one value schema. A named record is written out in full where it first
// occurs and referred to by name afterwards, which also ends the spec's cycles
// (Invoice → Payments → Payment → Invoice).
type generator struct {
	spec    *spec
	top     string
	defined map[string]bool
}

func valueSchema(sp *spec, st streams.Stream) ([]byte, error) {
	node, ok := sp.schemas[st.Schema]
	if !ok {
		return nil, fmt.Errorf("schema %s is not in the spec", st.Schema)
	}
	if lookup(lookup(node, "properties"), st.PrimaryKey) == nil {
		return nil, fmt.Errorf("schema %s has no primary key property %s", st.Schema, st.PrimaryKey)
	}
	g := &generator{spec: sp, top: st.Schema, defined: make(map[string]bool)}
	rec, err := g.record(st.Schema, node)
	if err != nil {
		return nil, err
	}
	r := rec.(*record)
	r.Namespace = namespace
	return marshal(r)
}

func keySchema(sp *spec, st streams.Stream) ([]byte, error) {
	return marshal(&record{
		Type:      "record",
		Name:      st.Schema + "Key",
		Namespace: namespace,
		Doc:       fmt.Sprintf("Key of the %s topic: the organisation and the record's %s.", st.Name, st.PrimaryKey),
		Fields: []field{
			{Name: "TenantID", Doc: "The Xero tenant (organisation) id.", Type: "string"},
			{Name: st.PrimaryKey, Doc: "The record's primary key in Xero.", Type: "string"},
		},
	})
}

// record returns the record for the named component schema: its full definition the first time,
// its name afterwards.
func (g *generator) record(name string, node *yaml.Node) (any, error) {
	if g.defined[name] {
		return name, nil
	}
	g.defined[name] = true
	r := &record{Type: "record", Name: name, Doc: clean(scalar(node, "description"))}
	for _, p := range pairs(lookup(node, "properties")) {
		prop, def := p[0].Value, p[1]
		t, err := g.typeOf(name, prop, def)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, prop, err)
		}
		r.Fields = append(r.Fields, field{
			Name:    prop,
			Doc:     clean(scalar(def, "description")),
			Type:    []any{"null", t},
			Default: null,
		})
	}
	r.Fields = append(r.Fields, field{
		Name:    fieldUnknownFields,
		Doc:     "Fields Xero sent that this schema does not know: a JSON object of their names and original JSON values, or null when there were none.",
		Type:    []any{"null", "string"},
		Default: null,
	})
	if name == g.top {
		r.Fields = append(r.Fields,
			field{Name: fieldTenantID, Doc: "The Xero tenant (organisation) id the record was read from.", Type: "string"},
			field{Name: fieldExtractedAt, Doc: "When the connector read the record from Xero.", Type: logical{Type: "long", LogicalType: "timestamp-millis"}},
		)
	}
	return r, nil
}

// typeOf maps the schema of property prop of record owner to an Avro type (without the null
// branch, which record adds).
func (g *generator) typeOf(owner, prop string, n *yaml.Node) (any, error) {
	if ref := scalar(n, "$ref"); ref != "" {
		name, target, err := g.spec.resolveRef(ref)
		if err != nil {
			return nil, err
		}
		if isObject(target) {
			return g.record(name, target)
		}
		return g.typeOf(owner, prop, target)
	}
	switch typ := scalar(n, "type"); typ {
	case "string":
		switch {
		case isTrue(n, "x-is-msdate") && dateTimes[owner+"."+prop]:
			return logical{Type: "long", LogicalType: "timestamp-millis"}, nil
		case isTrue(n, "x-is-msdate"):
			return logical{Type: "int", LogicalType: "date"}, nil
		case isTrue(n, "x-is-msdate-time"):
			return logical{Type: "long", LogicalType: "timestamp-millis"}, nil
		}
		// Plain strings, uuids and enums: Xero adds enum values, so they stay strings.
		return "string", nil
	case "number":
		if prop == "CurrencyRate" {
			return decimal{Type: "bytes", LogicalType: "decimal", Precision: ratePrecision, Scale: rateScale}, nil
		}
		return decimal{Type: "bytes", LogicalType: "decimal", Precision: amountPrecision, Scale: amountScale}, nil
	case "integer":
		if scalar(n, "format") == "int32" {
			return "int", nil
		}
		return "long", nil
	case "boolean":
		return "boolean", nil
	case "array":
		items := lookup(n, "items")
		if items == nil {
			return nil, fmt.Errorf("array without items")
		}
		t, err := g.typeOf(owner, prop, items)
		if err != nil {
			return nil, fmt.Errorf("items: %w", err)
		}
		return array{Type: "array", Items: t}, nil
	case "object", "":
		if lookup(n, "properties") != nil {
			// An object defined in place gets a name from where it is.
			return g.record(owner+"_"+prop, n)
		}
		return nil, fmt.Errorf("object without properties is not supported")
	default:
		return nil, fmt.Errorf("unsupported type %q", typ)
	}
}

// isObject reports whether a component schema describes an object (a record) rather than a
// scalar such as an enum.
func isObject(n *yaml.Node) bool {
	return scalar(n, "type") == "object" || lookup(n, "properties") != nil
}

// clean turns a description into a one-line doc string.
func clean(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
