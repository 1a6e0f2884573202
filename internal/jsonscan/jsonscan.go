// Package jsonscan holds what the project's two JSON scanners share: the page split of package
// xero, which lets invalid UTF-8 through, and the record scanner of package avro, which does not.
// It has the error both give for malformed JSON, and the tests they use to step over a string
// eight bytes at a time: a word of the input is tested at once for the bytes that need a
// closer look, and only then byte by byte.
package jsonscan

import (
	"fmt"
	"math/bits"
)

// SyntaxError is malformed JSON at a byte offset of the input.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

// Errorf returns a *SyntaxError at offset off.
func Errorf(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

const (
	// Ones has a 1 in every byte of a word: Ones * c is the word of eight bytes c.
	Ones = 0x0101010101010101
	// High is the high bit of every byte of a word: the bytes of multi-byte UTF-8 sequences.
	High = 0x8080808080808080
	// Quotes and Backslashes are the words of eight '"' and of eight '\\'.
	Quotes      = Ones * '"'
	Backslashes = Ones * '\\'
)

// ZeroBytes has the high bit set in the lowest zero byte of w, and possibly in bytes above it;
// it is zero when w has no zero byte. ZeroBytes(w ^ (Ones * c)) finds the bytes c.
func ZeroBytes(w uint64) uint64 { return (w - Ones) & ^w & High }

// LessBytes is ZeroBytes for the bytes of w below n (n ≤ 128).
func LessBytes(w uint64, n byte) uint64 { return (w - Ones*uint64(n)) & ^w & High }

// FirstMarked returns the index of the lowest byte whose high bit is set in m, which is not 0.
func FirstMarked(m uint64) int { return bits.TrailingZeros64(m) / 8 }

// Escape checks the escape sequence at in[i], a backslash inside a string, and returns its
// length: 2, or 6 for \uXXXX.
func Escape(in []byte, i int) (int, error) {
	if i+1 >= len(in) {
		return 0, Errorf(i, "unexpected end of input in a string")
	}
	switch in[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		if len(in)-i < 6 || !isHex(in[i+2]) || !isHex(in[i+3]) || !isHex(in[i+4]) || !isHex(in[i+5]) {
			return 0, Errorf(i, "invalid \\u escape")
		}
		return 6, nil
	}
	return 0, Errorf(i, "invalid escape \\%c", in[i+1])
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
