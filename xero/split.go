package xero

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/xero-kafka/xero-kafka/internal/jsonscan"
	"github.com/xero-kafka/xero-kafka/internal/xerotime"
)

// This file is the split of a list response held in memory: one pass over the body that checks
// its JSON syntax (RFC 8259, as jsontext reads it with duplicate names and invalid UTF-8
// allowed), cuts the wrapper array into its records, and notes the values of the requested
// top-level fields of each record on the way. It does no I/O; FuzzSplit checks it against
// jsontext.

// splitPage reads the list response held in buf. Xero's records go through byte for byte:
// duplicate names and invalid UTF-8 are left for the consumer to judge rather than failing the
// page.
func splitPage(buf []byte, wrapper string, fields []string) (*Page, error) {
	s := splitter{buf: buf}
	var (
		p     = Page{nfields: len(fields)}
		found bool
		// shape is the first error of a well-formed body that is not the response expected.
		// It is returned once the whole body is known to be well-formed, else the syntax
		// error is.
		shape error
	)
	i, err := s.expect(0, '{', "at the start of the response")
	if err != nil {
		return nil, &bodyError{err}
	}
	if j := s.space(i); j < len(buf) && buf[j] == '}' {
		i = j
	} else {
		for {
			nameStart := s.space(i)
			if i, _, _, err = s.name(nameStart); err != nil {
				return nil, &bodyError{err}
			}
			i = s.space(i)
			switch key := s.text(nameStart); key {
			case wrapper:
				found = true
				if i, err = s.records(i, &p, fields, &shape); err != nil {
					return nil, err
				}
			case "pagination":
				start := i
				if i, err = s.value(i, 1); err != nil {
					return nil, &bodyError{fmt.Errorf("pagination: %w", err)}
				}
				if err := json.Unmarshal(buf[start:i], &p.Pagination); err != nil && shape == nil {
					shape = fmt.Errorf("pagination: %w", err)
				}
			case "DateTimeUTC":
				start := i
				if i, err = s.value(i, 1); err != nil {
					return nil, &bodyError{fmt.Errorf("DateTimeUTC: %w", err)}
				}
				if err := p.serverTime(buf[start:i]); err != nil && shape == nil {
					shape = err
				}
			default:
				if i, err = s.value(i, 1); err != nil {
					return nil, &bodyError{err}
				}
			}
			i = s.space(i)
			if i < len(buf) && buf[i] == ',' {
				i++
				continue
			}
			break
		}
	}
	if i, err = s.expect(i, '}', "at the end of the response"); err != nil {
		return nil, &bodyError{err}
	}
	// Anything after the envelope means the body is not what it seems.
	if i = s.space(i); i != len(buf) {
		return nil, &bodyError{jsonscan.Errorf(i, "data after the response object")}
	}
	if shape != nil {
		return nil, shape
	}
	if !found {
		return nil, fmt.Errorf("the response has no %q array", wrapper)
	}
	if p.Records == nil {
		p.Records = []json.RawMessage{}
	}
	return &p, nil
}

// serverTime sets p.ServerTime from the envelope's DateTimeUTC, the valid JSON value v: the
// milliseconds plus the offset (internal/xerotime); null and "/Date(0+0000)/" are no time.
func (p *Page) serverTime(v []byte) error {
	switch v[0] {
	case 'n':
		return nil
	case '"':
		text, err := jsontext.AppendUnquote(nil, v)
		if err != nil {
			return fmt.Errorf("DateTimeUTC: %w", err)
		}
		ms, err := xerotime.ParseMS(string(text))
		switch {
		case err == nil:
			p.ServerTime = time.UnixMilli(ms).UTC()
		case err != xerotime.ErrNoDate:
			return fmt.Errorf("DateTimeUTC: %w", err)
		}
		return nil
	}
	return fmt.Errorf("DateTimeUTC is %s, not a string", kindOf(v[0]))
}

// maxNesting bounds the nesting of arrays and objects, as jsontext does.
const maxNesting = 10000

// splitter walks one body. Its methods take the offset to start at and return the offset after
// what they read.
type splitter struct {
	buf []byte
	// stack holds the open containers of the value being read: '{' or '['.
	stack []byte
	// scratch holds a member name with its escapes resolved.
	scratch []byte
}

// space returns the offset of the first byte at or after i that is not JSON white space.
func (s *splitter) space(i int) int {
	if i < len(s.buf) && s.buf[i] > ' ' {
		return i // most often
	}
	return s.skipSpace(i)
}

func (s *splitter) skipSpace(i int) int {
	for i < len(s.buf) {
		switch s.buf[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// expect checks that the byte at i, after white space, is c, and returns the offset after it.
func (s *splitter) expect(i int, c byte, where string) (int, error) {
	i = s.space(i)
	if i >= len(s.buf) {
		return i, jsonscan.Errorf(i, "unexpected end of input, want %q %s", c, where)
	}
	if s.buf[i] != c {
		return i, jsonscan.Errorf(i, "unexpected %s, want %q %s", describe(s.buf[i]), c, where)
	}
	return i + 1, nil
}

// str checks the string whose opening quote is at i and returns the offset after its closing
// quote, and whether it holds escapes. Bytes of 0x80 and above are taken as they are: invalid
// UTF-8 is left for the consumer to judge.
func (s *splitter) str(i int) (end int, escaped bool, err error) {
	b := s.buf
	start := i
	i++
	for {
		// Eight bytes at a time up to the first quote, backslash or control character.
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if m := jsonscan.LessBytes(w, 0x20) | jsonscan.ZeroBytes(w^jsonscan.Quotes) | jsonscan.ZeroBytes(w^jsonscan.Backslashes); m != 0 {
				i += jsonscan.FirstMarked(m)
				break
			}
			i += 8
		}
		for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= len(b) {
			return i, escaped, jsonscan.Errorf(start, "unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			n, err := jsonscan.Escape(b, i)
			if err != nil {
				return i, escaped, err
			}
			i += n
		default:
			return i, escaped, jsonscan.Errorf(i, "control character %#02x in a string", c)
		}
	}
}

// value checks the JSON value at i (after white space), inside outer containers, and returns
// the offset after it.
func (s *splitter) value(i, outer int) (int, error) {
	b := s.buf
	s.stack = s.stack[:0]
	for {
		// A value starts at i.
		i = s.space(i)
		if i >= len(b) {
			return i, jsonscan.Errorf(i, "unexpected end of input, want a value")
		}
		var err error
		switch c := b[i]; {
		case c == '"':
			if i, _, err = s.str(i); err != nil {
				return i, err
			}
		case c == '{' || c == '[':
			if outer+len(s.stack) >= maxNesting {
				return i, jsonscan.Errorf(i, "nested deeper than %d", maxNesting)
			}
			s.stack = append(s.stack, c)
			i = s.space(i + 1)
			if i < len(b) && b[i] == c+2 { // '}' or ']': empty
				s.stack = s.stack[:len(s.stack)-1]
				i++
				break
			}
			if c == '{' {
				if i, _, _, err = s.name(i); err != nil {
					return i, err
				}
			}
			continue
		case c == 't':
			i, err = s.literal(i, "true")
		case c == 'f':
			i, err = s.literal(i, "false")
		case c == 'n':
			i, err = s.literal(i, "null")
		case c == '-' || (c >= '0' && c <= '9'):
			i, err = s.number(i)
		default:
			return i, jsonscan.Errorf(i, "unexpected %s, want a value", describe(c))
		}
		if err != nil {
			return i, err
		}
		// A value ended at i: close the containers it ends, and find the next value.
		for {
			if len(s.stack) == 0 {
				return i, nil
			}
			i = s.space(i)
			if i >= len(b) {
				return i, jsonscan.Errorf(i, "unexpected end of input in an object or array")
			}
			open := s.stack[len(s.stack)-1]
			if b[i] == open+2 {
				s.stack = s.stack[:len(s.stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return i, jsonscan.Errorf(i, "unexpected %s, want ',' or %q", describe(b[i]), open+2)
			}
			i++
			if open == '{' {
				if i, _, _, err = s.name(i); err != nil {
					return i, err
				}
			}
			break
		}
	}
}

// name checks a member name and its colon at i (after white space), and returns the offset
// after the colon and the offset after the name's closing quote.
func (s *splitter) name(i int) (after, nameEnd int, escaped bool, err error) {
	i = s.space(i)
	if i >= len(s.buf) {
		return i, i, false, jsonscan.Errorf(i, "unexpected end of input, want a member name")
	}
	if s.buf[i] != '"' {
		return i, i, false, jsonscan.Errorf(i, "unexpected %s, want a member name", describe(s.buf[i]))
	}
	if nameEnd, escaped, err = s.str(i); err != nil {
		return nameEnd, nameEnd, escaped, err
	}
	after, err = s.expect(nameEnd, ':', "after a member name")
	return after, nameEnd, escaped, err
}

// records reads the wrapper array (or null) at i, after white space, into p.Records, and the
// values of fields in each record into p.values. Malformed JSON is a *bodyError. A wrapper
// that is not an array, or a record that is not an object, is the wrong shape: the first such
// error is left in shape, and the reading goes on, so that a malformed body is always known as
// one.
func (s *splitter) records(i int, p *Page, fields []string, shape *error) (int, error) {
	b := s.buf
	if i >= len(b) {
		return i, &bodyError{jsonscan.Errorf(i, "unexpected end of input, want the records")}
	}
	if b[i] != '[' {
		end, err := s.value(i, 1)
		if err != nil {
			return end, &bodyError{err}
		}
		if b[i] != 'n' && *shape == nil { // "Invoices": null has no records
			*shape = fmt.Errorf("the wrapper is %s, not an array", kindOf(b[i]))
		}
		return end, nil
	}
	if i = s.space(i + 1); i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for n := 1; ; n++ {
		var err error
		switch {
		case i < len(b) && b[i] == '{':
			start, k := i, len(p.values)
			if len(fields) > 0 {
				p.values = append(p.values, make([]json.RawMessage, len(fields))...)
			}
			if i, err = s.record(i, fields, p.values[k:]); err != nil {
				return i, &bodyError{err}
			}
			p.Records = append(p.Records, json.RawMessage(b[start:i:i]))
		default:
			start := i
			if i, err = s.value(i, 2); err != nil {
				return i, &bodyError{err}
			}
			if *shape == nil {
				*shape = fmt.Errorf("record %d is %s, not a JSON object", n, kindOf(b[start]))
			}
		}
		if i = s.space(i); i < len(b) && b[i] == ',' {
			i = s.space(i + 1)
			continue
		}
		if i, err = s.expect(i, ']', "after a record"); err != nil {
			return i, &bodyError{err}
		}
		return i, nil
	}
}

// record checks the record, the object at i, and returns the offset after it. It stores in vals
// the first value of each of fields among the record's members, and stops comparing names once
// it has them all.
func (s *splitter) record(i int, fields []string, vals []json.RawMessage) (int, error) {
	b := s.buf
	left := len(vals)
	if i = s.space(i + 1); i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		nameStart := s.space(i)
		after, nameEnd, escaped, err := s.name(nameStart)
		if err != nil {
			return after, err
		}
		start := s.space(after)
		// The record is the third level of the body: the envelope, the array, the record.
		if i, err = s.value(start, 3); err != nil {
			return i, err
		}
		if left > 0 {
			if j := s.field(b[nameStart:nameEnd], escaped, fields); j >= 0 && vals[j] == nil {
				vals[j] = json.RawMessage(b[start:i:i])
				left--
			}
		}
		if i = s.space(i); i < len(b) && b[i] == ',' {
			i++
			continue
		}
		return s.expect(i, '}', "after a member of a record")
	}
}

// field returns the index in fields of the quoted member name q, or -1. A name with escapes is
// compared by what it stands for.
func (s *splitter) field(q []byte, escaped bool, fields []string) int {
	name := q[1 : len(q)-1]
	if escaped {
		var err error
		if s.scratch, err = jsontext.AppendUnquote(s.scratch[:0], q); err != nil {
			return -1 // invalid UTF-8, which no field name holds
		}
		name = s.scratch
	}
	for j, f := range fields {
		if string(name) == f {
			return j
		}
	}
	return -1
}

// text returns the member name whose opening quote is at i, unescaped; "" if it is not valid
// UTF-8, which no name the envelope is read for is.
func (s *splitter) text(i int) string {
	end, escaped, _ := s.str(i)
	if !escaped {
		return string(s.buf[i+1 : end-1])
	}
	name, err := jsontext.AppendUnquote(nil, s.buf[i:end])
	if err != nil {
		return ""
	}
	return string(name)
}

func (s *splitter) literal(i int, lit string) (int, error) {
	if len(s.buf)-i < len(lit) || string(s.buf[i:i+len(lit)]) != lit {
		return i, jsonscan.Errorf(i, "invalid literal, want %s", lit)
	}
	return i + len(lit), nil
}

// number checks the number at i and returns the offset after it.
func (s *splitter) number(i int) (int, error) {
	b, start := s.buf, i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, jsonscan.Errorf(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		d := i + 1
		if i = digits(b, d); i == d {
			return i, jsonscan.Errorf(start, "invalid number: no digit after '.'")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		if i = digits(b, d); i == d {
			return i, jsonscan.Errorf(start, "invalid number: no digit in the exponent")
		}
	}
	return i, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// kindOf names the kind of JSON value that starts with c, or "" if none does.
func kindOf(c byte) string {
	switch {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return ""
}

// describe names the byte c for an error message.
func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("byte %#02x", c)
}
