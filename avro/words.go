package avro

import (
	"encoding/binary"
	"math/bits"
)

// Strings are most of a Xero record's bytes (ids, names, dates), and most of their bytes stand
// for themselves. The scanners look at them eight bytes at a time: a word of the input is tested
// at once for the bytes that need a closer look (a quote, a backslash, a control character, a
// byte of a multi-byte UTF-8 sequence), and only then byte by byte.

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// zeroBytes has the high bit set in the lowest zero byte of w, and possibly in bytes above it;
// it is zero when w has no zero byte.
func zeroBytes(w uint64) uint64 { return (w - ones) & ^w & high }

// lessBytes is zeroBytes for the bytes of w below n (n ≤ 128).
func lessBytes(w uint64, n byte) uint64 { return (w - ones*uint64(n)) & ^w & high }

// firstMarked returns the index of the lowest byte whose high bit is set in m, which is not 0.
func firstMarked(m uint64) int { return bits.TrailingZeros64(m) / 8 }

// plainPrefix returns the offset of the first byte at or after i that is not plain (see plain),
// or a multiple of 8 bytes short of the end of in: the caller looks at the bytes left one by
// one.
func plainPrefix(in []byte, i int) int {
	for i+8 <= len(in) {
		w := binary.LittleEndian.Uint64(in[i:])
		if m := lessBytes(w, 0x20) | zeroBytes(w^(ones*'"')) | zeroBytes(w^(ones*'\\')) | w&high; m != 0 {
			return i + firstMarked(m)
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
		if m := zeroBytes(w^(ones*'"')) | zeroBytes(w^(ones*'\\')); m != 0 {
			return i + firstMarked(m)
		}
		i += 8
	}
	return i
}
