package offsets

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Bookmark is the committed position of one (tenant, stream). Zero value = nothing read yet.
//
// It is stored as JSON, so a field added here is carried with no change to the format: give it a
// json tag with omitempty. If a release that does not know the field must not read the bookmark,
// bump formatVersion in value.go as well.
type Bookmark struct {
	// Keyset: the low watermark, unix ms of the replication key: every record version with a key
	// below it has been written. Offset: the last JournalNumber written.
	Watermark int64 `json:"watermark,omitempty"`
	// Keyset: id -> replication-key value (unix ms) of records already written whose value is at or
	// above the fetch lower bound of Watermark (used to drop re-read records, keep the rest).
	Window map[string]int64 `json:"window,omitempty"`
	// Keyset: traversals past page 1 whose page boundaries are not yet known to be gap-free.
	Verify []Verify `json:"verify,omitempty"`
	// Scan: id -> 64-bit hash of the last version written of each live record.
	Hashes map[string]uint64 `json:"hashes,omitempty"`
}

// Verify is a keyset traversal past page 1 that must still be checked for gaps: the range of
// replication-key values it paged through and what was written in that range.
type Verify struct {
	// From is the watermark when the traversal began (unix ms); the range starts at its fetch
	// lower bound.
	From int64 `json:"from,omitempty"`
	// To is the watermark when the traversal ended, the range's upper end; 0 while under way.
	To int64 `json:"to,omitempty"`
	// Start is the server time (unix ms) of the traversal's first answer: a record modified
	// before it cannot have shifted the traversal's pages.
	Start int64 `json:"start,omitempty"`
	// Written maps the ids written in the range to the replication-key value written.
	Written map[string]int64 `json:"written,omitempty"`
	// Moved is true when a record of Written came back with a newer value from after Start:
	// the range must be read again.
	Moved bool `json:"moved,omitempty"`
}

const (
	// chunkSize is the most payload one record carries. With its header a value stays under
	// MaxValueSize, a quarter of the broker's default max.message.bytes (1 MiB), and a record
	// batch holding it fits kgo's default ProducerBatchMaxBytes (about 1 MB) with room to spare.
	chunkSize = 256 << 10

	// MaxValueSize is the largest record value this package writes, in bytes. The producer's
	// ProducerBatchMaxBytes and the state topic's max.message.bytes must exceed it (both do by
	// default).
	MaxValueSize = bookmarkHdrSize + chunkSize

	// compressAbove is the JSON size from which a bookmark is stored zstd-compressed. Below it,
	// the frame overhead is not worth it and the JSON stays readable with kcat.
	compressAbove = 1024
)

// crcTable is CRC-32C, used to check that the parts of a bookmark were put back together right.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// The zstd encoder and decoder are built once: building them costs far more than using them, and
// their EncodeAll and DecodeAll are safe for concurrent use. DecodeAll and EncodeAll start no
// goroutines.
var (
	zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(false))
		if err != nil {
			panic("offsets: zstd encoder with fixed options: " + err.Error())
		}
		return enc
	})
	zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
		dec, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(maxPayload),
			zstd.WithDecodeAllCapLimit(true))
		if err != nil {
			panic("offsets: zstd decoder with fixed options: " + err.Error())
		}
		return dec
	})
)

// BookmarkRecords returns the records that store b as the bookmark of (tenant, stream) in the state
// topic. They must all be produced in one transaction (with the data they account for): a head
// record under bookmark/<tenant>/<stream> and, when the payload exceeds one record, chunk records
// under chunk/<tenant>/<stream>/<n>. The head carries a new random generation that the chunks
// repeat, so that Load ignores the chunks of an older, larger version still in the log.
//
// Tenant and stream must be non-empty, valid UTF-8, without '/' or control characters.
func BookmarkRecords(topic, tenant, stream string, b Bookmark) ([]*kgo.Record, error) {
	if topic == "" {
		return nil, fmt.Errorf("bookmark records for %s/%s: empty topic name", tenant, stream)
	}
	if err := checkIDNames(tenant, stream); err != nil {
		return nil, fmt.Errorf("bookmark records: %w", err)
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("bookmark records for %s/%s: encode: %w", tenant, stream, err)
	}
	v := value{version: writeVersion(kindBookmark), kind: kindBookmark, codec: codecJSON}
	payload := raw
	if len(raw) > compressAbove {
		if z := zstdEncoder().EncodeAll(raw, nil); len(z) < len(raw) {
			payload, v.codec = z, codecZstdJSON
		}
	}
	if len(raw) > maxPayload || len(payload) > maxPayload {
		return nil, fmt.Errorf("bookmark records for %s/%s: %d bytes of JSON (%d stored) exceed the %d-byte limit",
			tenant, stream, len(raw), len(payload), maxPayload)
	}
	rand.Read(v.gen[:]) // never returns an error (crypto/rand, Go 1.24+)
	v.parts = uint32(max(1, (len(payload)+chunkSize-1)/chunkSize))
	v.size = uint32(len(payload))
	v.rawSize = uint32(len(raw))
	v.sum = crc32.Checksum(payload, crcTable)

	recs := make([]*kgo.Record, 0, v.parts)
	for i := range int(v.parts) {
		part := payload[i*chunkSize : min(len(payload), (i+1)*chunkSize)]
		if i == 0 {
			v.data = part
			recs = append(recs, &kgo.Record{
				Topic: topic,
				Key:   []byte(bookmarkKey(tenant, stream)),
				Value: appendValue(make([]byte, 0, bookmarkHdrSize+len(part)), v),
			})
			continue
		}
		c := value{version: writeVersion(kindChunk), kind: kindChunk, gen: v.gen, index: uint32(i), data: part}
		recs = append(recs, &kgo.Record{
			Topic: topic,
			Key:   []byte(chunkKey(tenant, stream, i)),
			Value: appendValue(make([]byte, 0, chunkHdrSize+len(part)), c),
		})
	}
	return recs, nil
}

// decodeBookmark turns a whole stored payload (all parts joined) back into a bookmark, checking it
// against the head's sizes and checksum.
func decodeBookmark(head value, payload []byte) (Bookmark, error) {
	if uint64(len(payload)) != uint64(head.size) {
		return Bookmark{}, fmt.Errorf("payload of %d bytes, the head says %d", len(payload), head.size)
	}
	return decodeJSON[Bookmark](payload, head)
}

// decodeJSON checks a stored payload against the checksum of its value, decompresses it if it
// is stored so, checks the JSON's size and decodes it into a T.
func decodeJSON[T any](payload []byte, v value) (T, error) {
	var out T
	if sum := crc32.Checksum(payload, crcTable); sum != v.sum {
		return out, fmt.Errorf("payload checksum %08x, the record says %08x", sum, v.sum)
	}
	raw := payload
	if v.codec == codecZstdJSON {
		var err error
		// With the cap limit, the decoder writes at most rawSize bytes (plus one to notice excess).
		raw, err = zstdDecoder().DecodeAll(payload, make([]byte, 0, int(v.rawSize)+1))
		if err != nil {
			return out, fmt.Errorf("decompress: %w", err)
		}
	}
	if uint64(len(raw)) != uint64(v.rawSize) {
		return out, fmt.Errorf("%d bytes of JSON, the record says %d", len(raw), v.rawSize)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("decode JSON: %w", err)
	}
	return out, nil
}
