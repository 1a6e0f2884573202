package offsets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// formatKey writes a parsed key back.
func formatKey(k recordKey) string {
	switch k.kind {
	case keyToken:
		return tokenKey
	case keyStartup:
		return startupKey
	case keyBookmark:
		return bookmarkKey(k.tenant, k.stream)
	case keyChunk:
		return chunkKey(k.tenant, k.stream, k.index)
	case keyReset:
		return resetKey(k.tenant, k.stream, k.resetID)
	case keyDelta:
		return deltaKey(k.tenant, k.stream, k.index)
	}
	return "?"
}

func TestParseKeys(t *testing.T) {
	cases := []struct {
		key  string
		want recordKey // zero kind: must be rejected
	}{
		{"token", recordKey{kind: keyToken}},
		{"startup", recordKey{kind: keyStartup}},
		{"bookmark/t1/invoices", recordKey{kind: keyBookmark, tenant: "t1", stream: "invoices"}},
		{"chunk/t1/invoices/1", recordKey{kind: keyChunk, tenant: "t1", stream: "invoices", index: 1}},
		{"chunk/t1/invoices/16383", recordKey{kind: keyChunk, tenant: "t1", stream: "invoices", index: 16383}},
		{"Token", recordKey{}},
		{"token/", recordKey{}},
		{"bookmark/t1", recordKey{}},
		{"bookmark/t1/invoices/1", recordKey{}},
		{"bookmark//invoices", recordKey{}},
		{"bookmark/t1/", recordKey{}},
		{"bookmark/t\x00/invoices", recordKey{}},
		{"bookmark/t\xff/invoices", recordKey{}},
		{"chunk/t1/invoices/0", recordKey{}},
		{"chunk/t1/invoices/01", recordKey{}},
		{"chunk/t1/invoices/+1", recordKey{}},
		{"chunk/t1/invoices/16384", recordKey{}},
		{"chunk/t1/invoices", recordKey{}},
		{"reset/t1/invoices/0123456789abcdef0123456789abcdef", recordKey{kind: keyReset, tenant: "t1", stream: "invoices", resetID: "0123456789abcdef0123456789abcdef"}},
		{"reset/t1/invoices/0123456789ABCDEF0123456789abcdef", recordKey{}},
		{"reset/t1/invoices/0123456789abcdef", recordKey{}},
		{"reset/t1/invoices", recordKey{}},
		{"reset//invoices/0123456789abcdef0123456789abcdef", recordKey{}},
		{"", recordKey{}},
	}
	for _, c := range cases {
		t.Run(strconv.Quote(c.key), func(t *testing.T) {
			got, err := parseKey([]byte(c.key))
			if c.want.kind == 0 {
				if err == nil {
					t.Fatalf("parseKey accepted it as %+v", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("parseKey = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestBookmarkRecordsArguments(t *testing.T) {
	cases := []struct{ topic, tenant, stream, msg string }{
		{"", "t", "s", "empty topic"},
		{"state", "", "s", "tenant is empty"},
		{"state", "t", "", "stream is empty"},
		{"state", "a/b", "s", `contains '/'`},
		{"state", "t", "in\nvoices", `contains '\n'`},
	}
	for _, c := range cases {
		t.Run(c.msg, func(t *testing.T) {
			_, err := BookmarkRecords(c.topic, c.tenant, c.stream, Bookmark{})
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("BookmarkRecords: %v, want an error containing %q", err, c.msg)
			}
		})
	}
}

// TestBookmarkEncoding checks what is stored: small bookmarks as plain JSON (readable with kcat),
// large ones compressed, and chunks carrying the head's generation.
func TestBookmarkEncoding(t *testing.T) {
	small, err := BookmarkRecords("state", "t", "journals", Bookmark{Watermark: 42})
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeValue(small[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if len(small) != 1 || v.codec != codecJSON || string(v.data) != `{"watermark":42}` {
		t.Fatalf("small bookmark: %d records, codec %d, data %q", len(small), v.codec, v.data)
	}
	if string(small[0].Key) != "bookmark/t/journals" {
		t.Fatalf("key %q", small[0].Key)
	}

	large, err := BookmarkRecords("state", "t", "items", scanBookmark(30_000))
	if err != nil {
		t.Fatal(err)
	}
	head, err := decodeValue(large[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if head.codec != codecZstdJSON || int(head.parts) != len(large) || len(large) < 2 {
		t.Fatalf("large bookmark: codec %d, %d parts in the head, %d records", head.codec, head.parts, len(large))
	}
	for i, r := range large[1:] {
		c, err := decodeValue(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if c.gen != head.gen || c.index != uint32(i+1) || string(r.Key) != fmt.Sprintf("chunk/t/items/%d", i+1) {
			t.Fatalf("chunk %d: key %q, index %d, generation %x (head %x)", i+1, r.Key, c.index, c.gen, head.gen)
		}
	}
	again, _ := BookmarkRecords("state", "t", "items", Bookmark{Watermark: 1})
	if v, _ := decodeValue(again[0].Value); v.gen == head.gen {
		t.Fatal("two writes share a generation")
	}
}

// decodeRecords puts a bookmark back together from the records of one BookmarkRecords call, the
// way Load does: each value's layout, then the joined payload.
func decodeRecords(recs []*kgo.Record) (Bookmark, error) {
	head, err := decodeValue(recs[0].Value)
	if err != nil {
		return Bookmark{}, err
	}
	payload := append([]byte(nil), head.data...)
	for _, r := range recs[1:] {
		c, err := decodeValue(r.Value)
		if err != nil {
			return Bookmark{}, err
		}
		if c.gen != head.gen {
			return Bookmark{}, fmt.Errorf("chunk %s of another generation", r.Key)
		}
		payload = append(payload, c.data...)
	}
	return decodeBookmark(head, payload)
}

// FuzzDecodeValue: decoding never panics, and an accepted value encodes back to the same bytes.
func FuzzDecodeValue(f *testing.F) {
	recs, _ := BookmarkRecords("state", "t", "s", Bookmark{Watermark: 1, Window: map[string]int64{"a": 1}})
	f.Add(recs[0].Value)
	large, _ := BookmarkRecords("state", "t", "s", Bookmark{Window: manyIDs(40_000)})
	for _, r := range large {
		f.Add(r.Value[:min(len(r.Value), 200)])
	}
	tok, _ := TokenRecord("state", Token{RefreshToken: "x"}, testSealer(f, testKey(1)))
	f.Add(tok.Value)
	f.Add(appendValue(nil, value{version: 1, kind: kindStartup, at: 1}))
	seeded, _ := TokenRecord("state", Token{RefreshToken: "x", SeedHash: HashSeed("seed")}, testSealer(f, testKey(1)))
	f.Add(seeded.Value)
	reset, _ := NewReset("t", "s", time.UnixMilli(-1), time.UnixMilli(2))
	resetRec, _ := reset.Record("state")
	f.Add(resetRec.Value)
	f.Add(appendValue(nil, value{version: 2, kind: kindReset, at: 3}))
	f.Add([]byte("XK\x02B"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeValue(b)
		if err != nil {
			return
		}
		if got := appendValue(nil, v); !bytes.Equal(got, b) {
			t.Fatalf("decoded %x, encoded back %x", b, got)
		}
	})
}

// FuzzParseKey: parsing never panics, and an accepted key formats back to the same string.
func FuzzParseKey(f *testing.F) {
	for _, k := range []string{"token", "startup", "bookmark/t/s", "chunk/t/s/3", "chunk/t/s/03", "bookmark/a/b/c",
		"reset/t/s/0123456789abcdef0123456789abcdef", "reset/t/s/0123456789ABCDEF0123456789abcdef"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		k, err := parseKey([]byte(key))
		if err != nil {
			return
		}
		if got := formatKey(k); got != key {
			t.Fatalf("parsed %q, formatted back %q", key, got)
		}
	})
}

// FuzzDecodeBookmark: decoding a payload (plain or zstd JSON) never panics, and a bookmark that
// decodes survives BookmarkRecords and decoding again unchanged.
func FuzzDecodeBookmark(f *testing.F) {
	f.Add([]byte(`{"watermark":5,"window":{"a":1},"verify":{"value":1,"ids":["x"],"moved":true}}`), false, uint32(0))
	f.Add([]byte(`{"hashes":{"a":18446744073709551615},"scan_page":2,"scan_seen":["a","b"]}`), false, uint32(0))
	f.Add([]byte(`{"WATERMARK":1,"window":{},"hashes":null,"unknown":[1,2]}`), false, uint32(0))
	raw := []byte(`{"scan_seen":["` + strings.Repeat("abc", 500) + `"]}`)
	f.Add(zstdEncoder().EncodeAll(raw, nil), true, uint32(len(raw)))
	f.Add([]byte("\x28\xb5\x2f\xfd\x00\x00"), true, uint32(10))
	f.Fuzz(func(t *testing.T, payload []byte, compressed bool, rawSize uint32) {
		head := value{version: formatVersion, kind: kindBookmark, parts: 1, size: uint32(len(payload)),
			rawSize: uint32(len(payload)), sum: crc32.Checksum(payload, crcTable), data: payload}
		if compressed {
			head.codec, head.rawSize = codecZstdJSON, rawSize%(1<<20)
		}
		b, err := decodeBookmark(head, payload)
		if err != nil {
			return
		}
		recs, err := BookmarkRecords("state", "t", "s", b)
		if err != nil {
			t.Fatalf("BookmarkRecords of a decoded bookmark: %v", err)
		}
		b2, err := decodeRecords(recs)
		if err != nil {
			t.Fatalf("decode the records of a decoded bookmark: %v", err)
		}
		j1, _ := json.Marshal(b)
		j2, _ := json.Marshal(b2)
		if !bytes.Equal(j1, j2) {
			t.Fatalf("round trip changed the bookmark:\n%s\n%s", j1, j2)
		}
	})
}

// manyIDs is a window of n repetitive ids: large as JSON, small compressed.
func manyIDs(n int) map[string]int64 {
	m := make(map[string]int64, n)
	for i := range n {
		m[fmt.Sprintf("0123456789abcdef-%08d", i)] = int64(i)
	}
	return m
}
