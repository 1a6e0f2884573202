package avro

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xero-kafka/xero-kafka/internal/jsonscan"
)

// This file is a small JSON scanner over a byte slice. It finds where values start and end and
// validates them (RFC 8259 grammar, plus UTF-8 in strings); it never builds a value. The
// transcoder uses it to read one record without allocating: it notes the extent of each field's
// value, then reads those extents in schema order. FuzzScan checks it against encoding/json.

// maxDepth bounds the nesting of arrays and objects, so hostile input cannot exhaust the stack.
// Xero's records nest about six levels.
const maxDepth = 512

// skipSpace returns the offset of the first byte at or after i that is not JSON white space.
func skipSpace(in []byte, i int) int {
	for i < len(in) {
		switch in[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue validates the JSON value starting at in[i] (no leading space) and returns the offset
// just after it.
func skipValue(in []byte, i int) (int, error) {
	return skipValueDepth(in, i, 0)
}

// skipValueDepth is skipValue inside depth containers.
func skipValueDepth(in []byte, i, depth int) (int, error) {
	if i >= len(in) {
		return i, jsonscan.Errorf(i, "unexpected end of input")
	}
	switch c := in[i]; {
	case c == '"':
		end, _, err := scanString(in, i)
		return end, err
	case c == '{':
		if depth >= maxDepth {
			return i, jsonscan.Errorf(i, "nested deeper than %d", maxDepth)
		}
		i = skipSpace(in, i+1)
		if i < len(in) && in[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(in) || in[i] != '"' {
				return i, jsonscan.Errorf(i, "want a field name")
			}
			end, _, err := scanString(in, i)
			if err != nil {
				return end, err
			}
			i = skipSpace(in, end)
			if i >= len(in) || in[i] != ':' {
				return i, jsonscan.Errorf(i, "want ':' after a field name")
			}
			i = skipSpace(in, i+1)
			if i, err = skipValueDepth(in, i, depth+1); err != nil {
				return i, err
			}
			i = skipSpace(in, i)
			if i >= len(in) {
				return i, jsonscan.Errorf(i, "unexpected end of input in an object")
			}
			switch in[i] {
			case ',':
				i = skipSpace(in, i+1)
			case '}':
				return i + 1, nil
			default:
				return i, jsonscan.Errorf(i, "want ',' or '}' in an object")
			}
		}
	case c == '[':
		if depth >= maxDepth {
			return i, jsonscan.Errorf(i, "nested deeper than %d", maxDepth)
		}
		i = skipSpace(in, i+1)
		if i < len(in) && in[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = skipValueDepth(in, i, depth+1); err != nil {
				return i, err
			}
			i = skipSpace(in, i)
			if i >= len(in) {
				return i, jsonscan.Errorf(i, "unexpected end of input in an array")
			}
			switch in[i] {
			case ',':
				i = skipSpace(in, i+1)
			case ']':
				return i + 1, nil
			default:
				return i, jsonscan.Errorf(i, "want ',' or ']' in an array")
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(in, i)
	case c == 't':
		return scanLiteral(in, i, "true")
	case c == 'f':
		return scanLiteral(in, i, "false")
	case c == 'n':
		return scanLiteral(in, i, "null")
	default:
		return i, jsonscan.Errorf(i, "unexpected character %q", c)
	}
}

func scanLiteral(in []byte, i int, lit string) (int, error) {
	if len(in)-i < len(lit) || string(in[i:i+len(lit)]) != lit {
		return i, jsonscan.Errorf(i, "invalid literal, want %s", lit)
	}
	return i + len(lit), nil
}

// scanNumber validates the JSON number at in[i] and returns the offset after it.
func scanNumber(in []byte, i int) (int, error) {
	start := i
	if i < len(in) && in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && in[i] >= '1' && in[i] <= '9':
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
	default:
		return i, jsonscan.Errorf(start, "invalid number")
	}
	if i < len(in) && in[i] == '.' {
		i++
		d := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == d {
			return i, jsonscan.Errorf(start, "invalid number: no digit after '.'")
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		d := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == d {
			return i, jsonscan.Errorf(start, "invalid number: no digit in the exponent")
		}
	}
	return i, nil
}

// plain marks the bytes that stand for themselves inside a string: printable ASCII other than
// the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString validates the JSON string whose opening quote is at in[i]. It returns the offset
// after the closing quote and whether the string holds escapes.
func scanString(in []byte, i int) (end int, escaped bool, err error) {
	start := i
	i++
	for i < len(in) {
		i = plainPrefix(in, i)
		for i < len(in) && plain[in[i]] {
			i++
		}
		if i >= len(in) {
			break
		}
		c := in[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			n, err := jsonscan.Escape(in, i)
			if err != nil {
				return i, escaped, err
			}
			i += n
		case c < 0x20:
			return i, escaped, jsonscan.Errorf(i, "control character %#02x in a string", c)
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 {
				return i, escaped, jsonscan.Errorf(i, "invalid UTF-8 in a string")
			}
			i += size
		}
	}
	return i, escaped, jsonscan.Errorf(start, "unterminated string")
}

// hex4 reads the four hex digits at in[i:i+4].
func hex4(in []byte, i int) (rune, bool) {
	if len(in)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range in[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

var errLoneSurrogate = errors.New("string holds a \\u escape of a lone UTF-16 surrogate, which has no UTF-8 form")

// unquote appends the text of the valid JSON string q (with its quotes, as returned by
// scanString) to dst, resolving escapes. A lone surrogate escape is an error: it cannot be
// written as UTF-8, and replacing it would change the value.
func unquote(dst, q []byte) ([]byte, error) {
	q = q[1 : len(q)-1]
	for i := 0; i < len(q); {
		c := q[i]
		if c != '\\' {
			j := i + 1
			for j < len(q) && q[j] != '\\' {
				j++
			}
			dst = append(dst, q[i:j]...)
			i = j
			continue
		}
		switch q[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(q, i+2)
			i += 6
			if utf16.IsSurrogate(r) {
				var r2 rune = -1
				if i+6 <= len(q) && q[i] == '\\' && q[i+1] == 'u' {
					r2, _ = hex4(q, i+2)
				}
				dec := utf16.DecodeRune(r, r2)
				if dec == utf8.RuneError {
					return dst, errLoneSurrogate
				}
				r = dec
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, q[i+1])
		}
		i += 2
	}
	return dst, nil
}

// jsonKind names the kind of the JSON value starting with c, for error messages.
func jsonKind(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// The functions below move over input that has been validated already (the transcoder
// validates a record as a whole first, or is given one the xero package has checked), so they
// only look for where values end.

// skip returns the offset after the valid JSON value starting at e.in[i]. A value that nests
// deeper than maxDepth, counting the containers the reading is inside, sets e.tooDeep.
func (e *encoder) skip(i int) int {
	in := e.in
	switch in[i] {
	case '"':
		end, _ := stringEnd(in, i)
		return end
	case '{', '[':
		for depth := 0; ; {
			for !bracketOrQuote[in[i]] {
				i++
			}
			switch in[i] {
			case '"':
				i, _ = stringEnd(in, i)
				continue
			case '{', '[':
				if e.depth+depth >= maxDepth {
					e.tooDeep = true
					return i
				}
				depth++
			default: // '}', ']'
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	case 't', 'n':
		return i + 4
	case 'f':
		return i + 5
	default:
		j := i + 1
		for j < len(in) && numberByte[in[j]] {
			j++
		}
		return j
	}
}

// numberByte marks the bytes a JSON number is made of.
var numberByte = func() (t [256]bool) {
	for _, c := range []byte("0123456789+-.eE") {
		t[c] = true
	}
	return t
}()

// stringEnd returns the offset after the valid JSON string whose opening quote is at in[i], and
// whether the string holds escapes.
func stringEnd(in []byte, i int) (int, bool) {
	j, escaped := i+1, false
	for {
		j = quoteOrBackslash(in, j)
		switch in[j] {
		case '"':
			return j + 1, escaped
		case '\\':
			escaped = true
			j += 2 // the escaped byte; the hex digits of \u that follow are plain bytes
		default:
			j++
		}
	}
}

// bracketOrQuote marks the bytes skip stops at.
var bracketOrQuote = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}
