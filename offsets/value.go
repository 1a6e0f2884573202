package offsets

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// formatVersion is the newest value layout this release reads. Every value starts with its
// version, and the decoder accepts each version up to this one: a newer release reads what an
// older one wrote, and an older release stops with ErrFutureVersion at a value from a newer one.
//
// Each kind is written at the lowest version that holds it (writeVersion), so a change to one kind
// does not make an older release stop at the others. Version 2 added the seed hash in clear to
// token values and the reset kind; version 3 the delta kind; bookmarks, chunks and startup markers
// are as in version 1.
//
// Bump it when a change to the layout, or to the JSON of a bookmark, must not be read by a release
// that does not know it (for example a new field whose absence would change what a bookmark means).
// A JSON field that older releases may safely ignore needs no bump.
const formatVersion = 3

// writeVersion is the version a value of kind k is written with.
func writeVersion(k valueKind) byte {
	switch k {
	case kindToken, kindReset:
		return 2
	case kindDelta:
		return 3
	}
	return 1
}

// magic starts every value, so that a value that is not a state record is told apart from one of
// a newer format version.
const magic = "XK"

// hdrSize is the common header of every value: magic, format version, kind.
const hdrSize = len(magic) + 2

// valueKind is the last byte of the common header. It must agree with the record key.
type valueKind byte

const (
	kindBookmark valueKind = 'B' // head of a bookmark: metadata and part 0
	kindChunk    valueKind = 'C' // part 1, 2, ... of a bookmark
	kindToken    valueKind = 'T' // the sealed refresh token
	kindStartup  valueKind = 'M' // a startup marker
	kindReset    valueKind = 'R' // an operator's request to read a stream again (version 2 on)
	kindDelta    valueKind = 'D' // a change to a bookmark (version 3 on)
)

// payloadCodec says how a bookmark's JSON is stored.
type payloadCodec byte

const (
	codecJSON     payloadCodec = 0 // the JSON as is
	codecZstdJSON payloadCodec = 1 // one zstd frame holding the JSON
)

// Sizes of the fixed parts of the values (the layout is in README.md).
const (
	genSize         = 16
	nonceSize       = 16
	bookmarkHdrSize = hdrSize + genSize + 1 + 4 + 4 + 4 + 4
	chunkHdrSize    = hdrSize + genSize + 4
	deltaHdrSize    = hdrSize + genSize + 4 + 1 + 4 + 4
	startupSize     = hdrSize + nonceSize + 8
	resetSize       = hdrSize + 1 + 8 + 8
	seedHashSize    = 64 // hex SHA-256 (HashSeed)
)

// maxPayload bounds the stored and the decompressed size of one bookmark (1 GiB), so that a
// corrupt size field cannot make the decoder allocate without limit.
const maxPayload = 1 << 30

// value is one decoded state record value. Which fields are set depends on kind.
type value struct {
	version byte
	kind    valueKind

	gen     [genSize]byte // kindBookmark, kindChunk: the write this part belongs to; kindDelta: the base it changes
	codec   payloadCodec  // kindBookmark, kindDelta
	parts   uint32        // kindBookmark: number of records holding the payload, head included
	size    uint32        // kindBookmark: stored payload bytes over all parts
	rawSize uint32        // kindBookmark, kindDelta: JSON bytes (after decompression)
	sum     uint32        // kindBookmark: CRC-32C of the stored payload, all parts in order; kindDelta: of its payload
	index   uint32        // kindChunk, kindDelta: 1 or more
	data    []byte        // kindBookmark: part 0; kindChunk: its part; kindDelta: the change; kindToken: the sealed token

	seedHash string // kindToken from version 2: HashSeed of the chain's seed, in clear ("" for none)

	nonce   [nonceSize]byte // kindStartup
	at      int64           // kindStartup, kindReset: when it was written, unix milliseconds
	hasFrom bool            // kindReset: from is set; otherwise the stream is read from the start
	from    int64           // kindReset: unix milliseconds
}

// appendValue appends the encoding of v (with the format version v.version) to dst.
func appendValue(dst []byte, v value) []byte {
	dst = appendHeader(dst, v.version, v.kind)
	switch v.kind {
	case kindBookmark:
		dst = append(dst, v.gen[:]...)
		dst = append(dst, byte(v.codec))
		dst = binary.BigEndian.AppendUint32(dst, v.parts)
		dst = binary.BigEndian.AppendUint32(dst, v.size)
		dst = binary.BigEndian.AppendUint32(dst, v.rawSize)
		dst = binary.BigEndian.AppendUint32(dst, v.sum)
		dst = append(dst, v.data...)
	case kindChunk:
		dst = append(dst, v.gen[:]...)
		dst = binary.BigEndian.AppendUint32(dst, v.index)
		dst = append(dst, v.data...)
	case kindDelta:
		dst = append(dst, v.gen[:]...)
		dst = binary.BigEndian.AppendUint32(dst, v.index)
		dst = append(dst, byte(v.codec))
		dst = binary.BigEndian.AppendUint32(dst, v.rawSize)
		dst = binary.BigEndian.AppendUint32(dst, v.sum)
		dst = append(dst, v.data...)
	case kindToken:
		if v.version >= 2 {
			dst = append(dst, byte(len(v.seedHash)))
			dst = append(dst, v.seedHash...)
		}
		dst = append(dst, v.data...)
	case kindStartup:
		dst = append(dst, v.nonce[:]...)
		dst = binary.BigEndian.AppendUint64(dst, uint64(v.at))
	case kindReset:
		flags := byte(0)
		if v.hasFrom {
			flags = 1
		}
		dst = append(dst, flags)
		dst = binary.BigEndian.AppendUint64(dst, uint64(v.from))
		dst = binary.BigEndian.AppendUint64(dst, uint64(v.at))
	}
	return dst
}

func appendHeader(dst []byte, version byte, kind valueKind) []byte {
	return append(append(dst, magic...), version, byte(kind))
}

// decodeValue reads a value. It checks the layout, not the payload: a bookmark's JSON and a sealed
// token are read once the whole state is known. The data field aliases b.
func decodeValue(b []byte) (value, error) {
	if len(b) < hdrSize {
		return value{}, fmt.Errorf("value of %d bytes is too short for a header", len(b))
	}
	if string(b[:len(magic)]) != magic {
		return value{}, fmt.Errorf("value does not start with %q: not a state record", magic)
	}
	v := value{version: b[len(magic)], kind: valueKind(b[len(magic)+1])}
	switch {
	case v.version == 0:
		return value{}, errors.New("format version 0 does not exist")
	case v.version > formatVersion:
		return value{}, fmt.Errorf("%w: the value has format version %d, this release reads up to %d",
			ErrFutureVersion, v.version, formatVersion)
	}
	switch v.kind {
	case kindBookmark:
		if len(b) < bookmarkHdrSize {
			return value{}, fmt.Errorf("bookmark value of %d bytes is shorter than its %d-byte header", len(b), bookmarkHdrSize)
		}
		p := b[hdrSize:]
		copy(v.gen[:], p)
		p = p[genSize:]
		v.codec = payloadCodec(p[0])
		v.parts = binary.BigEndian.Uint32(p[1:])
		v.size = binary.BigEndian.Uint32(p[5:])
		v.rawSize = binary.BigEndian.Uint32(p[9:])
		v.sum = binary.BigEndian.Uint32(p[13:])
		v.data = p[17:]
		switch {
		case v.codec != codecJSON && v.codec != codecZstdJSON:
			return value{}, fmt.Errorf("bookmark payload codec %d is unknown", v.codec)
		case v.parts < 1 || v.parts >= maxChunks:
			return value{}, fmt.Errorf("bookmark part count %d is not from 1 to %d", v.parts, maxChunks-1)
		case v.size > maxPayload || v.rawSize > maxPayload:
			return value{}, fmt.Errorf("bookmark sizes %d (stored) and %d (JSON) exceed %d", v.size, v.rawSize, maxPayload)
		case v.codec == codecJSON && v.rawSize != v.size:
			return value{}, fmt.Errorf("uncompressed bookmark has stored size %d but JSON size %d", v.size, v.rawSize)
		case uint64(len(v.data)) > uint64(v.size):
			return value{}, fmt.Errorf("bookmark head holds %d bytes, more than the %d of the whole payload", len(v.data), v.size)
		case v.parts == 1 && uint64(len(v.data)) != uint64(v.size):
			return value{}, fmt.Errorf("single-record bookmark holds %d bytes, its header says %d", len(v.data), v.size)
		}
	case kindChunk:
		if len(b) < chunkHdrSize {
			return value{}, fmt.Errorf("chunk value of %d bytes is shorter than its %d-byte header", len(b), chunkHdrSize)
		}
		p := b[hdrSize:]
		copy(v.gen[:], p)
		p = p[genSize:]
		v.index = binary.BigEndian.Uint32(p)
		v.data = p[4:]
		if v.index < 1 || v.index >= maxChunks {
			return value{}, fmt.Errorf("chunk index %d is not from 1 to %d", v.index, maxChunks-1)
		}
	case kindDelta:
		if v.version < 3 {
			return value{}, fmt.Errorf("delta value of format version %d: deltas exist from version 3", v.version)
		}
		if len(b) < deltaHdrSize {
			return value{}, fmt.Errorf("delta value of %d bytes is shorter than its %d-byte header", len(b), deltaHdrSize)
		}
		p := b[hdrSize:]
		copy(v.gen[:], p)
		p = p[genSize:]
		v.index = binary.BigEndian.Uint32(p)
		v.codec = payloadCodec(p[4])
		v.rawSize = binary.BigEndian.Uint32(p[5:])
		v.sum = binary.BigEndian.Uint32(p[9:])
		v.data = p[13:]
		switch {
		case v.index < 1 || v.index >= maxDeltas:
			return value{}, fmt.Errorf("delta number %d is not from 1 to %d", v.index, maxDeltas-1)
		case v.codec != codecJSON && v.codec != codecZstdJSON:
			return value{}, fmt.Errorf("delta payload codec %d is unknown", v.codec)
		case v.rawSize > maxPayload:
			return value{}, fmt.Errorf("delta JSON size %d exceeds %d", v.rawSize, maxPayload)
		case v.codec == codecJSON && uint64(v.rawSize) != uint64(len(v.data)):
			return value{}, fmt.Errorf("uncompressed delta holds %d bytes, its header says %d", len(v.data), v.rawSize)
		}
	case kindToken:
		v.data = b[hdrSize:]
		if v.version >= 2 {
			if len(v.data) == 0 {
				return value{}, errors.New("token value has no seed hash length")
			}
			n := int(v.data[0])
			if n != 0 && n != seedHashSize || len(v.data) < 1+n {
				return value{}, fmt.Errorf("token value has a seed hash of %d bytes, want 0 or %d", n, seedHashSize)
			}
			v.seedHash = string(v.data[1 : 1+n])
			if _, err := hex.DecodeString(v.seedHash); err != nil {
				return value{}, errors.New("token value has a seed hash that is not hexadecimal")
			}
			v.data = v.data[1+n:]
		}
		if len(v.data) == 0 {
			return value{}, errors.New("token value holds no sealed token")
		}
	case kindStartup:
		if len(b) != startupSize {
			return value{}, fmt.Errorf("startup marker of %d bytes, want %d", len(b), startupSize)
		}
		copy(v.nonce[:], b[hdrSize:])
		v.at = int64(binary.BigEndian.Uint64(b[hdrSize+nonceSize:]))
	case kindReset:
		if v.version < 2 {
			return value{}, fmt.Errorf("reset value of format version %d: resets exist from version 2", v.version)
		}
		if len(b) != resetSize {
			return value{}, fmt.Errorf("reset value of %d bytes, want %d", len(b), resetSize)
		}
		if b[hdrSize] > 1 {
			return value{}, fmt.Errorf("reset value has unknown flags %#x", b[hdrSize])
		}
		v.hasFrom = b[hdrSize] == 1
		v.from = int64(binary.BigEndian.Uint64(b[hdrSize+1:]))
		v.at = int64(binary.BigEndian.Uint64(b[hdrSize+9:]))
	default:
		return value{}, fmt.Errorf("value kind %q is unknown", byte(v.kind))
	}
	return v, nil
}

// kindFor is the value kind a record key must carry.
func kindFor(k keyKind) valueKind {
	switch k {
	case keyToken:
		return kindToken
	case keyStartup:
		return kindStartup
	case keyBookmark:
		return kindBookmark
	case keyChunk:
		return kindChunk
	case keyReset:
		return kindReset
	case keyDelta:
		return kindDelta
	}
	return 0
}
