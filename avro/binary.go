package avro

import "encoding/binary"

// Avro's binary encoding, the few parts the transcoder writes. Ints and longs are zig-zag
// varints (binary.AppendVarint is exactly that encoding); strings and bytes are a long length
// and the bytes; a union is the long index of its branch and the value; an array is blocks of a
// long count and that many items, ended by a count of zero.

func appendLong(dst []byte, v int64) []byte {
	return binary.AppendVarint(dst, v)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendVarint(dst, int64(len(s)))
	return append(dst, s...)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// insertCount writes the block count n at dst[at], where one byte was reserved for it, moving
// the items after it when n needs more than one byte.
func insertCount(dst []byte, at int, n int64) []byte {
	var buf [binary.MaxVarintLen64]byte
	c := binary.PutVarint(buf[:], n)
	if c == 1 {
		dst[at] = buf[0]
		return dst
	}
	dst = append(dst, buf[:c-1]...) // grow by c-1
	copy(dst[at+c:], dst[at+1:len(dst)-(c-1)])
	copy(dst[at:], buf[:c])
	return dst
}
