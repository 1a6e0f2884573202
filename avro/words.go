package avro

import (
	"encoding/binary"

	"github.com/xero-kafka/xero-kafka/internal/jsonscan"
)

// Strings are most of a Xero record's bytes (ids, names, dates), and most of their bytes stand
// for themselves. The scanners look at them eight bytes at a time (internal/jsonscan): a word of
// the input is tested at once for the bytes that need a closer look (a quote, a backslash, a
// control character, a byte of a multi-byte UTF-8 sequence), and only then byte by byte.

// plainPrefix returns the offset of the first byte at or after i that is not plain (see plain),
// or a multiple of 8 bytes short of the end of in: the caller looks at the bytes left one by
// one.
func plainPrefix(in []byte, i int) int {
	for i+8 <= len(in) {
		w := binary.LittleEndian.Uint64(in[i:])
		if m := jsonscan.LessBytes(w, 0x20) | jsonscan.ZeroBytes(w^jsonscan.Quotes) | jsonscan.ZeroBytes(w^jsonscan.Backslashes) | w&jsonscan.High; m != 0 {
			return i + jsonscan.FirstMarked(m)
		}
		i += 8
	}
	return i
}

// quoteOrBackslash returns the offset of the first quote or backslash at or after i, or a
// multiple of 8 bytes short of the end of in, like plainPrefix.
func quoteOrBackslash(in []byte, i int) int {
	for i+8 <= len(in) {
		w := binary.LittleEndian.Uint64(in[i:])
		if m := jsonscan.ZeroBytes(w^jsonscan.Quotes) | jsonscan.ZeroBytes(w^jsonscan.Backslashes); m != 0 {
			return i + jsonscan.FirstMarked(m)
		}
		i += 8
	}
	return i
}
