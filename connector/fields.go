package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/xero-kafka/xero-kafka/internal/xerotime"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
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
}

var errNoPrimaryKey = errors.New("no primary key")

// metaFields lists the top-level fields readMeta reads: the primary key, then the replication key
// if the stream has one. A list call asks for them (xero.Request.Fields) so that the page is
// parsed once, and metaOf reads what it found.
func metaFields(s *streams.Stream) []string {
	if s.ReplicationKey == "" {
		return []string{s.PrimaryKey}
	}
	return []string{s.PrimaryKey, s.ReplicationKey}
}

// readMeta extracts the primary key and the replication key of one raw record.
func readMeta(s *streams.Stream, raw []byte) (recordMeta, error) {
	var rk gjson.Result
	if s.ReplicationKey != "" {
		rk = gjson.GetBytes(raw, s.ReplicationKey)
	}
	return meta(s, raw, gjson.GetBytes(raw, s.PrimaryKey), rk)
}

// metaOf is readMeta from the values of metaFields(s) that the page's parse found in raw (nil
// for a field the record lacks).
func metaOf(s *streams.Stream, raw []byte, vals []json.RawMessage) (recordMeta, error) {
	var id, rk gjson.Result
	if len(vals) > 0 && vals[0] != nil {
		id = parseValue(vals[0])
	}
	if len(vals) > 1 && vals[1] != nil {
		if m, ok := dateMeta(vals[1]); ok && id.Type == gjson.String && id.Str != "" {
			m.id = id.Str
			return m, nil
		}
		rk = parseValue(vals[1])
	}
	return meta(s, raw, id, rk)
}

// dateMeta reads v, a replication key the page's parse found, when it is a date Xero writes
// ("\/Date(1573755038314+0000)\/") without making a string of it. It returns false for
// anything else, which meta reads and judges.
func dateMeta(v []byte) (recordMeta, bool) {
	var buf [64]byte
	if len(v) < 2 || len(v) > len(buf) || v[0] != '"' || !onlySlashEscapes(v) {
		return recordMeta{}, false
	}
	text := buf[:0]
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' {
			i++ // \/
		}
		text = append(text, v[i])
	}
	ms, err := xerotime.Parse(text)
	if err != nil {
		return recordMeta{}, false
	}
	return recordMeta{pos: ms, posText: time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)}, true
}

// parseValue is gjson.ParseBytes of v, one JSON value the page's parse found, without going
// through gjson for what keys and replication keys are: a string with no escape but \/ (Xero
// writes its dates "\/Date(1573755038314+0000)\/"), and a number. Anything else (other escapes,
// null, objects) is left to gjson.
func parseValue(v []byte) gjson.Result {
	switch c := v[0]; {
	case c == '"' && onlySlashEscapes(v):
		raw := string(v)
		str := raw[1 : len(raw)-1]
		if strings.IndexByte(str, '\\') >= 0 {
			str = strings.ReplaceAll(str, `\/`, "/")
		}
		return gjson.Result{Type: gjson.String, Raw: raw, Str: str}
	case c == '-' || c >= '0' && c <= '9':
		raw := string(v)
		n, _ := strconv.ParseFloat(raw, 64)
		return gjson.Result{Type: gjson.Number, Raw: raw, Num: n}
	}
	return gjson.ParseBytes(v)
}

// onlySlashEscapes reports whether every backslash of the JSON string q escapes a slash.
func onlySlashEscapes(q []byte) bool {
	for i := bytes.IndexByte(q, '\\'); i >= 0; {
		if i+1 >= len(q) || q[i+1] != '/' {
			return false
		}
		j := bytes.IndexByte(q[i+2:], '\\')
		if j < 0 {
			return true
		}
		i += 2 + j
	}
	return true
}

// meta reads the primary key id and the replication key rk of the record raw.
func meta(s *streams.Stream, raw []byte, id, rk gjson.Result) (recordMeta, error) {
	var m recordMeta
	if id.Type != gjson.String || id.Str == "" {
		return m, fmt.Errorf("%s: %w", s.PrimaryKey, errNoPrimaryKey)
	}
	m.id = id.Str
	if s.ReplicationKey == "" {
		return m, nil
	}
	switch rk.Type {
	case gjson.Number:
		n, err := strconv.ParseInt(rk.Raw, 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s: %q is not an integer", s.ReplicationKey, rk.Raw)
		}
		m.pos, m.posText = n, rk.Raw
	case gjson.String:
		// The same reading as the transcoder's: the milliseconds plus the offset.
		ms, err := xerotime.Parse(rk.Str)
		if err != nil {
			return m, fmt.Errorf("%s: %w", s.ReplicationKey, err)
		}
		m.pos, m.posText = ms, time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
	default:
		return m, fmt.Errorf("%s: missing", s.ReplicationKey)
	}
	return m, nil
}

// pageMeta is readMeta of record i of pg, from the values the page's parse found when the list
// call read them, else from the record itself.
func pageMeta(s *streams.Stream, pg *xero.Page, i int) (recordMeta, error) {
	if vals := pg.Fields(i); vals != nil {
		return metaOf(s, pg.Records[i], vals)
	}
	return readMeta(s, pg.Records[i])
}
