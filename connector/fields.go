package connector

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/tidwall/gjson"

	"github.com/xero-kafka/xero-kafka/internal/xerotime"
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
		// The same reading as the transcoder's: the milliseconds plus the offset.
		ms, err := xerotime.Parse(v.Str)
		if err != nil {
			return m, fmt.Errorf("%s: %w", s.ReplicationKey, err)
		}
		m.pos, m.posText = ms, time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
	default:
		return m, fmt.Errorf("%s: missing", s.ReplicationKey)
	}
	return m, nil
}
