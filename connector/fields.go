package connector

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/tidwall/gjson"

	"github.com/xero-kafka/xero-kafka/streams"
)

// recordMeta is what the connector itself needs from a raw Xero record: its identity, its
// position in the stream, and a fingerprint of its content. The full record is transcoded by the
// avro package.
type recordMeta struct {
	// id is the primary key's value.
	id string
	// pos is the replication key as a number: unix milliseconds for dates, the value itself for
	// JournalNumber. Zero when the stream has no replication key.
	pos int64
	// posText is the replication key as Xero sent it, for the record header.
	posText string
	// hash fingerprints the record's bytes; scans compare it to find changed records.
	hash uint64
}

var errNoPrimaryKey = errors.New("no primary key")

// readMeta extracts the primary key and the replication key of one raw record. The hash is set
// even when it fails.
func readMeta(s *streams.Stream, raw []byte) (recordMeta, error) {
	m := recordMeta{hash: xxhash.Sum64(raw)}
	id := gjson.GetBytes(raw, s.PrimaryKey)
	if id.Type != gjson.String || id.Str == "" {
		return m, fmt.Errorf("%s: %w", s.PrimaryKey, errNoPrimaryKey)
	}
	m.id = id.Str
	if s.ReplicationKey == "" {
		return m, nil
	}
	v := gjson.GetBytes(raw, s.ReplicationKey)
	switch v.Type {
	case gjson.Number:
		n, err := strconv.ParseInt(v.Raw, 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s: %q is not an integer", s.ReplicationKey, v.Raw)
		}
		m.pos, m.posText = n, v.Raw
	case gjson.String:
		ms, err := parseXeroTime(v.Str)
		if err != nil {
			return m, fmt.Errorf("%s: %w", s.ReplicationKey, err)
		}
		m.pos, m.posText = ms, time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
	default:
		return m, fmt.Errorf("%s: missing", s.ReplicationKey)
	}
	return m, nil
}

// parseXeroTime reads a Xero timestamp, /Date(1541176290160+0000)/ (the offset is optional and
// informational: the number is milliseconds since the epoch in UTC) or ISO 8601, as unix ms.
func parseXeroTime(s string) (int64, error) {
	if rest, ok := strings.CutPrefix(s, "/Date("); ok {
		body, ok := strings.CutSuffix(rest, ")/")
		if !ok {
			return 0, fmt.Errorf("malformed date %q", s)
		}
		if i := strings.IndexAny(body[1:], "+-"); i >= 0 {
			body = body[:i+1]
		}
		ms, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed date %q", s)
		}
		return ms, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("malformed date %q", s)
}
