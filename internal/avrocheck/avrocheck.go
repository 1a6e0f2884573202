// Package avrocheck is the oracle of the project's tests: it compares a Xero JSON record with
// the Avro value an independent decoder (hamba's generic decoder, or the Python interop
// decoder's output) read back, field by field and exactly: decimals as rationals, dates to the
// day, timestamps to the millisecond, unknown fields as JSON.
//
// It reads Xero's JSON by the rules avro/README.md states, with its own code: a /Date()/ value is
// its milliseconds plus its offset, "/Date(0+0000)/" is null, a number or boolean in a string
// field is its JSON text, and an empty value of another type ("", {} or [] where the field is
// not a string, a record or an array) is null, kept in _unknown_fields.
package avrocheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	hamba "github.com/hamba/avro/v2"
)

// Names of the metadata fields every value record carries.
const (
	fieldTenantID      = "_tenant_id"
	fieldExtractedAt   = "_extracted_at"
	fieldUnknownFields = "_unknown_fields"
)

// Meta is what the transcoder was given besides the JSON. A zero ExtractedAt is not checked
// (only that the field holds a time).
type Meta struct {
	TenantID    string
	ExtractedAt time.Time
}

// ParseJSON decodes a record's JSON keeping numbers as their text (json.Number).
func ParseJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// Compare compares the Xero JSON value j (as ParseJSON returns it) with the value a that
// hamba's generic decoder read for schema s, and returns every difference with its path.
func Compare(s hamba.Schema, j, a any, m Meta) []string {
	return compareValue(s, j, a, m, "")
}

// compareValue compares a JSON value (numbers as json.Number) with the value hamba decoded for
// schema s, exactly: decimals as rationals, dates to the day, timestamps to the millisecond. It
// returns the differences found, each with its path.
func compareValue(s hamba.Schema, j, a any, m Meta, path string) []string {
	if ref, ok := s.(*hamba.RefSchema); ok {
		s = ref.Schema()
	}
	if u, ok := s.(*hamba.UnionSchema); ok {
		if j == nil {
			if a != nil {
				return []string{fmt.Sprintf("%s: JSON null or absent, Avro %v", path, a)}
			}
			return nil
		}
		_, idx := u.Indices()
		s = u.Types()[idx]
		if ref, ok := s.(*hamba.RefSchema); ok {
			s = ref.Schema()
		}
		// hamba's generic decoder wraps a union's record or array value in a map keyed by the
		// branch's name.
		branch := string(s.Type())
		if n, ok := s.(hamba.NamedSchema); ok {
			branch = n.FullName()
		}
		if w, ok := a.(map[string]any); ok && len(w) == 1 && w[branch] != nil {
			a = w[branch]
		}
	}
	if j == nil || a == nil {
		return []string{fmt.Sprintf("%s: JSON %v, Avro %v", path, j, a)}
	}
	switch s := s.(type) {
	case *hamba.RecordSchema:
		jm, ok1 := j.(map[string]any)
		am, ok2 := a.(map[string]any)
		if !ok1 || !ok2 {
			return []string{fmt.Sprintf("%s: JSON %T, Avro %T", path, j, a)}
		}
		return compareRecord(s, jm, am, m, path)
	case *hamba.ArraySchema:
		ja, ok1 := j.([]any)
		aa, ok2 := a.([]any)
		if !ok1 || !ok2 || len(ja) != len(aa) {
			return []string{fmt.Sprintf("%s: JSON %v, Avro %v", path, j, a)}
		}
		var diffs []string
		for k := range ja {
			diffs = append(diffs, compareValue(s.Items(), ja[k], aa[k], m, fmt.Sprintf("%s[%d]", path, k))...)
		}
		return diffs
	case *hamba.PrimitiveSchema:
		if ok, why := comparePrimitive(s, j, a); !ok {
			return []string{fmt.Sprintf("%s: %s", path, why)}
		}
		return nil
	}
	return []string{fmt.Sprintf("%s: unexpected schema %s", path, s)}
}

func compareRecord(s *hamba.RecordSchema, j, a map[string]any, m Meta, path string) []string {
	var diffs []string
	known := map[string]bool{}
	prefix := path
	if prefix != "" {
		prefix += "."
	}
	// Known fields whose value is an empty placeholder go to _unknown_fields too.
	unknown := map[string]any{}
	for _, f := range s.Fields() {
		known[f.Name()] = true
		av, ok := a[f.Name()]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s%s: missing from the decoded record", prefix, f.Name()))
			continue
		}
		switch f.Name() {
		case fieldTenantID:
			if av != m.TenantID {
				diffs = append(diffs, fmt.Sprintf("%s%s: %v, want %s", prefix, f.Name(), av, m.TenantID))
			}
		case fieldExtractedAt:
			if t, ok := av.(time.Time); !ok || (!m.ExtractedAt.IsZero() && t.UnixMilli() != m.ExtractedAt.UnixMilli()) {
				diffs = append(diffs, fmt.Sprintf("%s%s: %v, want %v", prefix, f.Name(), av, m.ExtractedAt))
			}
		case fieldUnknownFields:
		default:
			jv := j[f.Name()]
			switch {
			case isPlaceholder(f.Type(), jv):
				unknown[f.Name()] = jv
				jv = nil
			case isNoDate(f.Type(), jv):
				jv = nil
			}
			diffs = append(diffs, compareValue(f.Type(), jv, av, m, prefix+f.Name())...)
		}
	}
	// Every JSON field the schema does not know must be in _unknown_fields, with its value.
	for k, v := range j {
		if !known[k] || k == fieldUnknownFields || k == fieldTenantID || k == fieldExtractedAt {
			unknown[k] = v
		}
	}
	got := a[fieldUnknownFields]
	switch {
	case len(unknown) == 0 && got != nil:
		diffs = append(diffs, fmt.Sprintf("%s%s: %v, want null", prefix, fieldUnknownFields, got))
	case len(unknown) > 0:
		text, _ := got.(string)
		var decoded any
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&decoded); err != nil || !reflect.DeepEqual(decoded, any(unknown)) {
			diffs = append(diffs, fmt.Sprintf("%s%s: %q, want the fields %v", prefix, fieldUnknownFields, text, unknown))
		}
	}
	return diffs
}

// nonNull returns the type of a nullable union's value, resolving references.
func nonNull(s hamba.Schema) hamba.Schema {
	if ref, ok := s.(*hamba.RefSchema); ok {
		s = ref.Schema()
	}
	if u, ok := s.(*hamba.UnionSchema); ok {
		for _, t := range u.Types() {
			if t.Type() != hamba.Null {
				s = t
			}
		}
	}
	if ref, ok := s.(*hamba.RefSchema); ok {
		s = ref.Schema()
	}
	return s
}

// isPlaceholder reports whether the JSON value j is an empty value of a type the schema s does
// not take: "" where s is not a string, {} where it is not a record, [] where it is not an
// array.
func isPlaceholder(s hamba.Schema, j any) bool {
	s = nonNull(s)
	switch j := j.(type) {
	case string:
		p, ok := s.(*hamba.PrimitiveSchema)
		return j == "" && !(ok && p.Type() == hamba.String && p.Logical() == nil)
	case map[string]any:
		_, ok := s.(*hamba.RecordSchema)
		return len(j) == 0 && !ok
	case []any:
		_, ok := s.(*hamba.ArraySchema)
		return len(j) == 0 && !ok
	}
	return false
}

// isNoDate reports whether j is Xero's "no date", /Date(0±hhmm)/, in a date or timestamp field.
func isNoDate(s hamba.Schema, j any) bool {
	p, ok := nonNull(s).(*hamba.PrimitiveSchema)
	str, isStr := j.(string)
	if !ok || !isStr || p.Logical() == nil {
		return false
	}
	if l := p.Logical().Type(); l != hamba.Date && l != hamba.TimestampMillis {
		return false
	}
	m := refMSDate.FindStringSubmatch(str)
	return m != nil && strings.Trim(strings.TrimPrefix(m[1], "-"), "0") == ""
}

// wholeNumber reads a JSON number that is a whole number in the range of int64, in any of its
// forms: 5, 5.0, 5e0, 0e99999999999999999999.
func wholeNumber(num string) (int64, bool) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(num), "e")
	m, ok := new(big.Rat).SetString(mant)
	if !ok {
		return 0, false
	}
	if m.Sign() == 0 {
		return 0, true
	}
	if hasExp {
		// A non-zero number times 10 to a power this large is out of range or not whole.
		e, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || e > 1000 || e < -1000 {
			return 0, false
		}
		if m, ok = new(big.Rat).SetString(num); !ok {
			return 0, false
		}
	}
	if !m.IsInt() || !m.Num().IsInt64() {
		return 0, false
	}
	return m.Num().Int64(), true
}

func comparePrimitive(s *hamba.PrimitiveSchema, j, a any) (bool, string) {
	logical := ""
	if l := s.Logical(); l != nil {
		logical = string(l.Type())
	}
	switch {
	case logical == string(hamba.Decimal):
		// A number, or a number quoted as a string (as Xero sometimes sends them).
		var num string
		switch j := j.(type) {
		case json.Number:
			num = string(j)
		case string:
			num = j
		}
		r, ok2 := a.(*big.Rat)
		if num == "" || !ok2 {
			return false, fmt.Sprintf("JSON %v (%T), Avro %v (%T)", j, j, a, a)
		}
		want, ok := new(big.Rat).SetString(num)
		if !ok || want.Cmp(r) != 0 {
			return false, fmt.Sprintf("JSON %s, Avro %s", num, r.FloatString(12))
		}
	case logical == string(hamba.Date):
		str, ok := j.(string)
		t, ok2 := a.(time.Time)
		ms, err := refInstant(str)
		if !ok || !ok2 || err != nil || ms%(24*60*60*1000) != 0 || t.UnixMilli() != ms {
			return false, fmt.Sprintf("JSON %v, Avro %v (%v)", j, a, err)
		}
	case logical == string(hamba.TimestampMillis):
		str, ok := j.(string)
		t, ok2 := a.(time.Time)
		ms, err := refInstant(str)
		if !ok || !ok2 || err != nil || t.UnixMilli() != ms {
			return false, fmt.Sprintf("JSON %v, Avro %v (%v)", j, a, err)
		}
	case s.Type() == hamba.Boolean:
		// A boolean, or one quoted as a string (as Xero sometimes sends them).
		want, ok := j.(bool)
		if str, isStr := j.(string); isStr {
			want, ok = strings.EqualFold(str, "true"), strings.EqualFold(str, "true") || strings.EqualFold(str, "false")
		}
		if !ok || a != want {
			return false, fmt.Sprintf("JSON %#v, Avro %#v", j, a)
		}
	case s.Type() == hamba.Int || s.Type() == hamba.Long:
		num, ok := j.(json.Number)
		if str, isStr := j.(string); isStr {
			num, ok = json.Number(str), true
		}
		want, isInt := wholeNumber(string(num))
		ok = ok && isInt
		var got int64
		switch a := a.(type) {
		case int:
			got = int64(a)
		case int32:
			got = int64(a)
		case int64:
			got = a
		default:
			ok = false
		}
		if !ok || got != want {
			return false, fmt.Sprintf("JSON %v, Avro %v", j, a)
		}
	case s.Type() == hamba.String:
		// A string, or a number or boolean as its JSON text (Xero's "ReceiptNumber": 1).
		want := j
		switch j := j.(type) {
		case json.Number:
			want = string(j)
		case bool:
			want = strconv.FormatBool(j)
		}
		if want != a {
			return false, fmt.Sprintf("JSON %#v, Avro %#v", j, a)
		}
	default:
		if !reflect.DeepEqual(j, a) {
			return false, fmt.Sprintf("JSON %#v, Avro %#v", j, a)
		}
	}
	return true, ""
}

var refMSDate = regexp.MustCompile(`^/Date\((-?\d+)(?:([+-])(\d\d)(\d\d)?)?\)/$`)

// refInstant is the tests' own reading of a date value, independent of the transcoder's: the
// /Date(ms±hhmm)/ form (the milliseconds plus the offset) or ISO-8601 with no zone meaning UTC.
func refInstant(s string) (int64, error) {
	if m := refMSDate.FindStringSubmatch(s); m != nil {
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || m[2] == "" {
			return ms, err
		}
		h, _ := strconv.ParseInt(m[3], 10, 64)
		var mm int64
		if m[4] != "" {
			mm, _ = strconv.ParseInt(m[4], 10, 64)
		}
		off := (h*60 + mm) * int64(time.Minute/time.Millisecond)
		if m[2] == "-" {
			off = -off
		}
		return ms + off, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("not a date: %q", s)
}

// FromInterop converts a value as the Python interop decoder prints it (decimals as exact
// strings, dates as YYYY-MM-DD, timestamps as ISO-8601, longs as numbers, unions bare; parsed
// with ParseJSON) into the shape hamba's generic decoder gives for schema s, so Compare can
// check it.
func FromInterop(s hamba.Schema, v any) (any, error) {
	if ref, ok := s.(*hamba.RefSchema); ok {
		s = ref.Schema()
	}
	if v == nil {
		return nil, nil
	}
	switch s := s.(type) {
	case *hamba.UnionSchema:
		for _, branch := range s.Types() {
			if branch.Type() == hamba.Null {
				continue
			}
			return FromInterop(branch, v)
		}
		return nil, fmt.Errorf("union %s has no non-null branch", s)
	case *hamba.RecordSchema:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("record %s: got %T", s.FullName(), v)
		}
		out := make(map[string]any, len(m))
		for _, f := range s.Fields() {
			fv, err := FromInterop(f.Type(), m[f.Name()])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name(), err)
			}
			out[f.Name()] = fv
		}
		return out, nil
	case *hamba.ArraySchema:
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("array: got %T", v)
		}
		out := make([]any, len(a))
		for i := range a {
			var err error
			if out[i], err = FromInterop(s.Items(), a[i]); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return out, nil
	case *hamba.PrimitiveSchema:
		return primitiveFromInterop(s, v)
	}
	return nil, fmt.Errorf("unexpected schema %s", s)
}

func primitiveFromInterop(s *hamba.PrimitiveSchema, v any) (any, error) {
	logical := ""
	if l := s.Logical(); l != nil {
		logical = string(l.Type())
	}
	str, _ := v.(string)
	switch {
	case logical == string(hamba.Decimal):
		r, ok := new(big.Rat).SetString(str)
		if !ok {
			return nil, fmt.Errorf("decimal %v", v)
		}
		return r, nil
	case logical == string(hamba.Date):
		return time.Parse("2006-01-02", str)
	case logical == string(hamba.TimestampMillis):
		return time.Parse(time.RFC3339Nano, str)
	case s.Type() == hamba.Long || s.Type() == hamba.Int:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("integer %v (%T)", v, v)
		}
		return n.Int64()
	}
	return v, nil
}
