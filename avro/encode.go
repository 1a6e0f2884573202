package avro

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/xero-kafka/xero-kafka/internal/xerotime"
)

// encoder holds the state of one AppendValue call. Its slices are kept between calls (Codec pools
// encoders), so a record is transcoded without allocating once they have grown.
type encoder struct {
	in          []byte
	tenantID    string
	extractedAt int64
	// slots is a stack: each record being read pushes one entry per field of its plan.
	slots []slot
	// errs holds the errors of the fields of the records being read.
	errs []error
	// unknown is a stack of the fields of the records being read that go to _unknown_fields:
	// those their schema does not know, and placeholders their type cannot hold (emptyValue).
	unknown []located
	// depth is the number of objects and arrays the reading is inside; tooDeep is set when a
	// value nests deeper than maxDepth, which the full check reports (AppendValidValue).
	depth   int
	tooDeep bool
	// out holds the Avro record being written, with the values of its fields in the order of
	// the input before they are put in the schema's.
	out []byte
	// text holds a string's text when escapes had to be resolved.
	text []byte
}

// span is where a value lies in the input.
type span struct{ start, end int }

func (s span32) wide() span { return span{int(s.start), int(s.end)} }

// located is where a field is in the input: its quoted name and its value.
type located struct{ name, value span }

// slot is what record found for one field of its plan. It is kept small, as records have
// dozens of fields: offsets are int32 (AppendValue refuses records over maxRecord bytes, so
// that what it writes for one stays far below 2 GiB), and the error of a field is in
// encoder.errs.
type slot struct {
	state slotState
	// name and value are where the member is in the input.
	name, value span32
	// out is where the field's Avro value was written (slotValue), without a union branch;
	// for slotNoValue and slotError, out.start is the index of the error in encoder.errs.
	out span32
}

type span32 struct{ start, end int32 }

type slotState uint8

const (
	slotMissing slotState = iota
	slotNull
	slotValue
	slotNoValue // a *noValue
	slotError
)

// errTooDeep is returned, with encoder.tooDeep set, by a reading that went deeper than maxDepth.
var errTooDeep = errors.New("nested too deep")

// noValue is what value returns when the JSON value stands for "no value" in a form the type
// cannot hold: the field is written as null and, when keep is set, kept in _unknown_fields as
// Xero wrote it.
type noValue struct {
	keep bool
	what string
}

func (n *noValue) Error() string { return n.what }

var (
	// noDate: "/Date(0+0000)/", which Xero sends for "no date".
	noDate = &noValue{what: `"/Date(0+0000)/" means no date`}
	// emptyValue: "", {} or [] where the type is not a string, a record or an array
	// respectively.
	emptyValue = &noValue{keep: true, what: "an empty value of another type"}
)

// record reads the JSON object at e.in[i] (no leading space), appends the Avro record and
// returns the offset after the object.
//
// It reads the object once, in the order of its members: each known field's value is
// written as it comes, after the output of the record so far, and where it is noted in the
// field's slot. Then the fields are copied in schema order, and the result is moved back to
// where the record's output began. An error of a field's value is kept in its slot and the
// reading goes on, so that the error returned is the first in schema order, whatever the order
// of the members.
func (e *encoder) record(dst []byte, r *recordPlan, i int) ([]byte, int, error) {
	if e.in[i] != '{' {
		return dst, i, wrongType("an object", e.in[i])
	}
	if e.depth >= maxDepth {
		e.tooDeep = true
		return dst, i, errTooDeep
	}
	e.depth++
	base := len(e.slots)
	e.slots = slices.Grow(e.slots, len(r.fields))[:base+len(r.fields)]
	clear(e.slots[base:])
	ubase, ebase := len(e.unknown), len(e.errs)
	defer func() {
		e.slots = e.slots[:base]
		e.unknown = e.unknown[:ubase]
		e.errs = e.errs[:ebase]
		e.depth--
	}()

	// The members, in the input's order. The input is valid JSON, so the punctuation is
	// where it must be.
	start := len(dst)
	i = skipSpace(e.in, i+1)
	prev := -1 // the last Xero field found
	if e.in[i] != '}' {
		for {
			nameEnd, idx, known := e.member(r, i, prev)
			name := span{i, nameEnd}
			i = skipSpace(e.in, name.end)
			i = skipSpace(e.in, i+1) // after the ':'
			var end int
			if !known {
				if end = e.skip(i); e.tooDeep {
					return dst, i, errTooDeep
				}
				e.unknown = append(e.unknown, located{name, span{i, end}})
			} else {
				if e.slots[base+idx].state != slotMissing {
					return dst, i, fieldErr(r.fields[idx].name, errors.New("the field occurs twice in the object"))
				}
				prev = idx
				if dst, end = e.field(dst, &r.fields[idx].typ, i, base+idx); e.tooDeep {
					return dst, i, errTooDeep
				}
				s := &e.slots[base+idx]
				s.name, s.value = span32{int32(name.start), int32(name.end)}, span32{int32(i), int32(end)}
			}
			i = skipSpace(e.in, end)
			if e.in[i] == '}' {
				break
			}
			i = skipSpace(e.in, i+1) // after the ','
		}
	}
	end := i + 1

	// The fields, in schema order.
	at := len(dst)
	wroteUnknown := false
	for k := range r.fields {
		f := &r.fields[k]
		switch f.role {
		case roleTenantID:
			dst = appendString(dst, e.tenantID)
		case roleExtractedAt:
			dst = appendLong(dst, e.extractedAt)
		case roleUnknown:
			dst = e.appendUnknown(dst, &f.typ, ubase)
			wroteUnknown = true
		default:
			s := &e.slots[base+k]
			switch s.state {
			case slotValue:
				if f.typ.nullable {
					dst = appendLong(dst, f.typ.valueIndex)
				}
				dst = append(dst, dst[s.out.start:s.out.end]...)
			case slotMissing, slotNull:
				if !f.typ.nullable {
					what := "null"
					if s.state == slotMissing {
						what = "missing"
					}
					return dst, end, fieldErr(f.name, fmt.Errorf("%s, and the schema does not allow null", what))
				}
				dst = appendLong(dst, f.typ.nullIndex)
			case slotNoValue:
				nv := e.errs[s.out.start].(*noValue)
				v := e.in[s.value.start:s.value.end]
				if !f.typ.nullable {
					return dst, end, fieldErr(f.name, fmt.Errorf("%s (%s), and the schema does not allow null", v, nv))
				}
				dst = appendLong(dst, f.typ.nullIndex)
				if nv.keep {
					if r.unknownAt < 0 {
						return dst, end, fieldErr(f.name, fmt.Errorf("%s (%s): the record has no %s field to keep it", v, nv, fieldUnknownFields))
					}
					e.unknown = append(e.unknown, located{s.name.wide(), s.value.wide()})
				}
			case slotError:
				return dst, end, fieldErr(f.name, e.errs[s.out.start])
			}
		}
	}
	if !wroteUnknown && len(e.unknown) > ubase {
		u := e.unknown[ubase]
		return dst, end, fmt.Errorf("field %s is not in the schema of %s, which has no %s field to keep it",
			e.in[u.name.start:u.name.end], r.name, fieldUnknownFields)
	}
	n := copy(dst[start:], dst[at:])
	return dst[:start+n], end, nil
}

// field writes the value at e.in[i] of a field of type t after dst, notes what it found in
// e.slots[k], and returns the offset after the value.
func (e *encoder) field(dst []byte, t *typePlan, i, k int) ([]byte, int) {
	if e.in[i] == 'n' {
		e.slots[k].state = slotNull
		return dst, i + len("null")
	}
	at := len(dst)
	dst, end, err := e.value(dst, t, i)
	if err == nil {
		// The slot is found again after the value is read: a nested record grows e.slots.
		s := &e.slots[k]
		s.state, s.out = slotValue, span32{int32(at), int32(len(dst))}
		return dst, end
	}
	if e.tooDeep {
		return dst, i
	}
	s := &e.slots[k]
	s.state, s.out.start = slotError, int32(len(e.errs))
	if _, ok := err.(*noValue); ok {
		s.state = slotNoValue
	}
	e.errs = append(e.errs, err)
	return dst[:at], e.skip(i)
}

// member reads the member name at e.in[i], the member that follows field prev (-1: the first
// member, or none known yet), and returns the offset after the name and the index of the Xero
// field it names, if any.
//
// Xero writes the members of a record in the same order from one record to the next, though not
// in the schema's: r.next remembers which field followed prev last time. When the input holds
// that field's quoted name, written without escapes, one comparison finds both the end of the
// name and the field. Otherwise the name is read to its closing quote, its escapes resolved,
// and looked up.
func (e *encoder) member(r *recordPlan, i, prev int) (end, idx int, known bool) {
	hint := &r.next[prev+1]
	k := hint.Load()
	if k >= 0 {
		if q := r.fields[k].quoted; len(e.in)-i >= len(q) && string(e.in[i:i+len(q)]) == q {
			return i + len(q), int(k), true
		}
	}
	end, escaped := stringEnd(e.in, i)
	name := e.in[i+1 : end-1]
	if escaped {
		var err error
		e.text, err = unquote(e.text[:0], e.in[i:end])
		if err != nil {
			return end, 0, false // a name that is not valid UTF-8 is no schema field; it is kept as unknown
		}
		name = e.text
	}
	idx, known = r.byName[string(name)]
	if known && int32(idx) != k {
		hint.Store(int32(idx))
	}
	return end, idx, known
}

// appendUnknown writes the _unknown_fields value of the record whose unknown fields start at
// e.unknown[ubase]: null, or a JSON object of those fields with their names and values exactly
// as they appear in the input.
func (e *encoder) appendUnknown(dst []byte, t *typePlan, ubase int) []byte {
	fields := e.unknown[ubase:]
	if len(fields) == 0 {
		return appendLong(dst, t.nullIndex)
	}
	dst = appendLong(dst, t.valueIndex)
	n := 2 + len(fields) - 1 // braces and commas
	for _, u := range fields {
		n += u.name.end - u.name.start + 1 + u.value.end - u.value.start
	}
	dst = appendLong(dst, int64(n))
	dst = append(dst, '{')
	for k, u := range fields {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e.in[u.name.start:u.name.end]...)
		dst = append(dst, ':')
		dst = append(dst, e.in[u.value.start:u.value.end]...)
	}
	return append(dst, '}')
}

// value reads the non-null JSON value at e.in[i], appends it as type t (without a union branch,
// which the caller writes) and returns the offset after the value. A value that stands for "no
// value" in a form t cannot hold is a *noValue error, and nothing is appended.
func (e *encoder) value(dst []byte, t *typePlan, i int) ([]byte, int, error) {
	c := e.in[i]
	if e.empty(t.kind, i) {
		return dst, i, emptyValue
	}
	switch t.kind {
	case kindRecord:
		return e.record(dst, t.record, i)
	case kindArray:
		if c != '[' {
			return dst, i, wrongType("an array", c)
		}
		return e.array(dst, t.items, i)
	case kindString:
		switch {
		case c == '-' || (c >= '0' && c <= '9'):
			// Xero sends numbers in some string fields ("ReceiptNumber": 1 in its own examples):
			// the number's exact text is the string.
			end, _ := scanNumber(e.in, i) // validated before
			return appendBytes(dst, e.in[i:end]), end, nil
		case c == 't':
			return appendString(dst, "true"), i + len("true"), nil
		case c == 'f':
			return appendString(dst, "false"), i + len("false"), nil
		case c != '"':
			return dst, i, wrongType("a string", c)
		}
		text, end, err := e.str(i)
		if err != nil {
			return dst, i, err
		}
		return appendBytes(dst, text), end, nil
	case kindBoolean:
		switch c {
		case 't':
			return appendBool(dst, true), i + len("true"), nil
		case 'f':
			return appendBool(dst, false), i + len("false"), nil
		case '"':
			// Xero quotes some booleans (BatchPayment.IsReconciled in its own examples).
			text, end, err := e.str(i)
			if err != nil {
				return dst, i, err
			}
			switch {
			case bytes.EqualFold(text, []byte("true")):
				return appendBool(dst, true), end, nil
			case bytes.EqualFold(text, []byte("false")):
				return appendBool(dst, false), end, nil
			}
			return dst, i, fmt.Errorf("want a boolean, got the string %s", quoteValue(text))
		}
		return dst, i, wrongType("a boolean", c)
	case kindInt, kindLong:
		num, end, err := e.number(i)
		if err != nil {
			return dst, i, err
		}
		v, err := integer(num, t.kind == kindInt)
		if err != nil {
			return dst, i, err
		}
		return appendLong(dst, v), end, nil
	case kindDecimal:
		num, end, err := e.number(i)
		if err != nil {
			return dst, i, err
		}
		u, neg, err := parseDecimal(num, t.precision, t.scale)
		if err != nil {
			return dst, i, err
		}
		return appendDecimalBytes(dst, u, neg), end, nil
	case kindDate, kindTimestampMillis:
		if c != '"' {
			return dst, i, wrongType("a date string", c)
		}
		text, end, err := e.str(i)
		if err != nil {
			return dst, i, err
		}
		ms, err := xerotime.Parse(text)
		if err == xerotime.ErrNoDate {
			return dst, i, noDate
		}
		if err != nil {
			return dst, i, err
		}
		if t.kind == kindTimestampMillis {
			return appendLong(dst, ms), end, nil
		}
		days, err := daysOf(ms, text)
		if err != nil {
			return dst, i, err
		}
		return appendLong(dst, int64(days)), end, nil
	}
	return dst, i, fmt.Errorf("unsupported kind %d", t.kind)
}

// empty reports whether the value at e.in[i] is an empty value of a JSON type that the kind
// does not take: "" where the kind is not a string, {} where it is not a record, [] where it is
// not an array. Such a value means "no value" (emptyValue).
func (e *encoder) empty(k kind, i int) bool {
	switch e.in[i] {
	case '"':
		return k != kindString && e.in[i+1] == '"'
	case '{':
		return k != kindRecord && e.in[skipSpace(e.in, i+1)] == '}'
	case '[':
		return k != kindArray && e.in[skipSpace(e.in, i+1)] == ']'
	}
	return false
}

// array reads the JSON array at e.in[i] and appends it as one Avro block of items.
func (e *encoder) array(dst []byte, items *typePlan, i int) ([]byte, int, error) {
	if e.depth >= maxDepth {
		e.tooDeep = true
		return dst, i, errTooDeep
	}
	e.depth++
	defer func() { e.depth-- }()
	i = skipSpace(e.in, i+1)
	if e.in[i] == ']' {
		return append(dst, 0), i + 1, nil
	}
	at := len(dst)
	dst = append(dst, 0) // the count, written when known
	var n int64
	for {
		var err error
		if e.in[i] == 'n' {
			if !items.nullable {
				return dst, i, indexErr(n, errors.New("null, and the schema does not allow null in this array"))
			}
			dst = appendLong(dst, items.nullIndex)
			i += len("null")
		} else {
			if items.nullable {
				dst = appendLong(dst, items.valueIndex)
			}
			if dst, i, err = e.value(dst, items, i); err != nil {
				if nv, ok := err.(*noValue); ok {
					if end := e.skip(i); !e.tooDeep {
						err = fmt.Errorf("%s (%s), and the schema does not allow null in this array", e.in[i:end], nv)
					}
				}
				return dst, i, indexErr(n, err)
			}
		}
		n++
		i = skipSpace(e.in, i)
		if e.in[i] == ']' {
			break
		}
		i = skipSpace(e.in, i+1) // after the ','
	}
	dst = insertCount(dst, at, n)
	return append(dst, 0), i + 1, nil
}

// number returns the text of the number at e.in[i] and the offset after it. Xero quotes some
// numbers (BatchPayment.TotalAmount in its own examples), so a string holding exactly a JSON
// number is read the same way as the bare number.
func (e *encoder) number(i int) ([]byte, int, error) {
	switch c := e.in[i]; {
	case c == '-' || (c >= '0' && c <= '9'):
		end, _ := scanNumber(e.in, i) // validated before
		return e.in[i:end], end, nil
	case c == '"':
		num, end, err := e.str(i)
		if err != nil {
			return nil, i, err
		}
		if n, err := scanNumber(num, 0); len(num) == 0 || err != nil || n != len(num) {
			return nil, i, fmt.Errorf("want a number, got the string %s", quoteValue(num))
		}
		return num, end, nil
	default:
		return nil, i, wrongType("a number", c)
	}
}

// str returns the text of the JSON string at e.in[i] and the offset after it. The text is a
// slice of the input, or of e.text when escapes had to be resolved.
func (e *encoder) str(i int) ([]byte, int, error) {
	end, escaped := stringEnd(e.in, i)
	text := e.in[i+1 : end-1]
	if !escaped {
		return text, end, nil
	}
	var err error
	e.text, err = unquote(e.text[:0], e.in[i:end])
	return e.text, end, err
}

// integer reads the JSON number num as an Avro int (32 bits) or long (64 bits). The number must
// be a whole number (5, 5.0 and 5e0 are; 5.5 is not) in the type's range.
func integer(num []byte, int32Only bool) (int64, error) {
	lo, hi, what := int64(math.MinInt64), int64(math.MaxInt64), "a long (64 bits)"
	if int32Only {
		lo, hi, what = math.MinInt32, math.MaxInt32, "an int (32 bits)"
	}
	u, neg, err := parseDecimal(num, maxPrecision, 0)
	if err != nil {
		if de := (*decimalError)(nil); errors.As(err, &de) && de.places > 0 {
			return 0, fmt.Errorf("%s is not a whole number", num)
		}
		return 0, fmt.Errorf("%s is out of the range of %s", num, what)
	}
	if u.hi != 0 || (!neg && u.lo > uint64(hi)) || (neg && u.lo > uint64(-(lo+1))+1) {
		return 0, fmt.Errorf("%s is out of the range of %s", num, what)
	}
	if neg {
		return -int64(u.lo-1) - 1, nil
	}
	return int64(u.lo), nil
}

func wrongType(want string, c byte) error {
	return fmt.Errorf("want %s, got %s", want, jsonKind(c))
}

// pathError carries the path of the field where an error happened, built on the way back up:
// segments are appended innermost first.
type pathError struct {
	segments []string
	err      error
}

func (e *pathError) Error() string { return e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

func fieldErr(name string, err error) error {
	return addSegment(name, err)
}

func indexErr(n int64, err error) error {
	return addSegment("["+strconv.FormatInt(n, 10)+"]", err)
}

func addSegment(seg string, err error) error {
	var pe *pathError
	if errors.As(err, &pe) {
		pe.segments = append(pe.segments, seg)
		return pe
	}
	return &pathError{segments: []string{seg}, err: err}
}

// path joins the segments: LineItems[2].UnitAmount.
func (e *pathError) path() string {
	var b []byte
	for k := len(e.segments) - 1; k >= 0; k-- {
		s := e.segments[k]
		if len(b) > 0 && s[0] != '[' {
			b = append(b, '.')
		}
		b = append(b, s...)
	}
	return string(b)
}
