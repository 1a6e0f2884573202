package offsets

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The record keys of the state topic. Compaction keeps the last record of each key, so each piece of
// state that must survive on its own has a key of its own:
//
//	token                            the encrypted refresh token
//	startup                          the startup marker of the last instance that loaded the state
//	bookmark/<tenant>/<stream>       a bookmark (its head record: metadata and the first part)
//	chunk/<tenant>/<stream>/<index>  part <index> (1, 2, ...) of a bookmark too large for one record
//	delta/<tenant>/<stream>/<n>      change n (1, 2, ...) to a bookmark since its last whole version
//	reset/<tenant>/<stream>/<id>     an operator's request to read a stream again, until applied
const (
	tokenKey       = "token"
	startupKey     = "startup"
	bookmarkPrefix = "bookmark/"
	chunkPrefix    = "chunk/"
	deltaPrefix    = "delta/"
	resetPrefix    = "reset/"
)

// keyKind says which piece of state a record key names.
type keyKind int

const (
	keyToken keyKind = iota + 1
	keyStartup
	keyBookmark
	keyChunk
	keyReset
	keyDelta
)

// recordKey is a parsed record key.
type recordKey struct {
	kind    keyKind
	tenant  string // keyBookmark, keyChunk, keyDelta, keyReset
	stream  string // keyBookmark, keyChunk, keyDelta, keyReset
	index   int    // keyChunk, keyDelta: 1 or more
	resetID string // keyReset: 32 lowercase hex digits
}

// BookmarkID names one bookmark: a (tenant, stream) pair.
type BookmarkID struct {
	Tenant string
	Stream string
}

func (id BookmarkID) String() string { return id.Tenant + "/" + id.Stream }

func (k recordKey) id() BookmarkID { return BookmarkID{Tenant: k.tenant, Stream: k.stream} }

// maxChunks bounds the part count of one bookmark: far more than a bookmark can usefully hold
// (maxChunks × chunkSize is 4 GiB) and small enough that an index never overflows.
const maxChunks = 1 << 14

// checkName reports whether s can be used as a tenant or stream name in a record key: not empty,
// valid UTF-8, without '/' (the separator) or control characters.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	for _, r := range s {
		if r == '/' || r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s %q contains %q", what, s, r)
		}
	}
	return nil
}

func bookmarkKey(tenant, stream string) string {
	return bookmarkPrefix + tenant + "/" + stream
}

func chunkKey(tenant, stream string, index int) string {
	return chunkPrefix + tenant + "/" + stream + "/" + strconv.Itoa(index)
}

func deltaKey(tenant, stream string, n int) string {
	return deltaPrefix + tenant + "/" + stream + "/" + strconv.Itoa(n)
}

func resetKey(tenant, stream, id string) string {
	return resetPrefix + tenant + "/" + stream + "/" + id
}

// resetIDSize is the length of a reset's id: 16 random bytes in lowercase hex.
const resetIDSize = 32

func checkResetID(id string) error {
	if len(id) != resetIDSize || strings.Trim(id, "0123456789abcdef") != "" {
		return fmt.Errorf("reset id %q is not %d lowercase hex digits", id, resetIDSize)
	}
	return nil
}

// parseKey reads a record key. Every accepted key is in canonical form: formatting the result again
// gives the same bytes, so two spellings never name the same state under different keys.
func parseKey(b []byte) (recordKey, error) {
	s := string(b)
	switch {
	case s == tokenKey:
		return recordKey{kind: keyToken}, nil
	case s == startupKey:
		return recordKey{kind: keyStartup}, nil
	case strings.HasPrefix(s, bookmarkPrefix):
		parts := strings.Split(s[len(bookmarkPrefix):], "/")
		if len(parts) != 2 {
			return recordKey{}, errors.New("bookmark key is not bookmark/<tenant>/<stream>")
		}
		if err := checkIDNames(parts[0], parts[1]); err != nil {
			return recordKey{}, err
		}
		return recordKey{kind: keyBookmark, tenant: parts[0], stream: parts[1]}, nil
	case strings.HasPrefix(s, chunkPrefix):
		parts := strings.Split(s[len(chunkPrefix):], "/")
		if len(parts) != 3 {
			return recordKey{}, errors.New("chunk key is not chunk/<tenant>/<stream>/<index>")
		}
		if err := checkIDNames(parts[0], parts[1]); err != nil {
			return recordKey{}, err
		}
		index, err := strconv.Atoi(parts[2])
		if err != nil || index < 1 || index >= maxChunks || strconv.Itoa(index) != parts[2] {
			return recordKey{}, fmt.Errorf("chunk index %q is not a number from 1 to %d", parts[2], maxChunks-1)
		}
		return recordKey{kind: keyChunk, tenant: parts[0], stream: parts[1], index: index}, nil
	case strings.HasPrefix(s, deltaPrefix):
		parts := strings.Split(s[len(deltaPrefix):], "/")
		if len(parts) != 3 {
			return recordKey{}, errors.New("delta key is not delta/<tenant>/<stream>/<n>")
		}
		if err := checkIDNames(parts[0], parts[1]); err != nil {
			return recordKey{}, err
		}
		n, err := strconv.Atoi(parts[2])
		if err != nil || n < 1 || n >= maxDeltas || strconv.Itoa(n) != parts[2] {
			return recordKey{}, fmt.Errorf("delta number %q is not a number from 1 to %d", parts[2], maxDeltas-1)
		}
		return recordKey{kind: keyDelta, tenant: parts[0], stream: parts[1], index: n}, nil
	case strings.HasPrefix(s, resetPrefix):
		parts := strings.Split(s[len(resetPrefix):], "/")
		if len(parts) != 3 {
			return recordKey{}, errors.New("reset key is not reset/<tenant>/<stream>/<id>")
		}
		if err := checkIDNames(parts[0], parts[1]); err != nil {
			return recordKey{}, err
		}
		if err := checkResetID(parts[2]); err != nil {
			return recordKey{}, err
		}
		return recordKey{kind: keyReset, tenant: parts[0], stream: parts[1], resetID: parts[2]}, nil
	}
	return recordKey{}, errors.New("unknown key: this release reads token, startup, bookmark/..., chunk/..., delta/... and reset/... (a newer release may have written it)")
}

func checkIDNames(tenant, stream string) error {
	if err := checkName("tenant", tenant); err != nil {
		return err
	}
	return checkName("stream", stream)
}
