package avro

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"time"
)

const msPerDay = 24 * 60 * 60 * 1000

var errNotMSDate = errors.New(`want "/Date(milliseconds±hhmm)/"`)

// parseMSDate reads Xero's date form "/Date(1539993600000+0000)/": milliseconds since the Unix
// epoch in UTC, possibly negative, and an optional offset (2 to 4 digits after the sign) that
// says which zone the value was entered in. The milliseconds are UTC whatever the offset, so the
// offset is checked and otherwise ignored. s is the string's text, escapes resolved ("\/" → "/").
func parseMSDate(s []byte) (int64, error) {
	rest, ok := bytes.CutPrefix(s, []byte("/Date("))
	if !ok {
		return 0, errNotMSDate
	}
	rest, ok = bytes.CutSuffix(rest, []byte(")/"))
	if !ok {
		return 0, errNotMSDate
	}
	neg := false
	if len(rest) > 0 && rest[0] == '-' {
		neg = true
		rest = rest[1:]
	}
	var ms uint64
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		d := uint64(rest[n] - '0')
		if ms > (math.MaxInt64-d)/10 {
			return 0, errors.New("milliseconds out of range")
		}
		ms = ms*10 + d
		n++
	}
	if n == 0 {
		return 0, errNotMSDate
	}
	if off := rest[n:]; len(off) > 0 {
		if off[0] != '+' && off[0] != '-' || len(off) < 3 || len(off) > 5 {
			return 0, errNotMSDate
		}
		for _, c := range off[1:] {
			if c < '0' || c > '9' {
				return 0, errNotMSDate
			}
		}
	}
	if neg {
		return -int64(ms), nil
	}
	return int64(ms), nil
}

// ISO-8601 forms Xero uses next to its /Date()/ values: a date, and a date-time with or
// without a zone (no zone means UTC) and with up to 7 fractional digits.
const (
	isoDate       = "2006-01-02"
	isoDateTime   = "2006-01-02T15:04:05.999999999"
	isoDateTimeTZ = "2006-01-02T15:04:05.999999999Z07:00"
)

// parseInstant reads a date or timestamp value, in the /Date()/ form or as an ISO-8601 string,
// as milliseconds since the epoch (UTC). A value finer than a millisecond is an error: it would
// not survive in a timestamp-millis.
func parseInstant(s []byte) (int64, error) {
	if bytes.HasPrefix(s, []byte("/Date(")) {
		ms, err := parseMSDate(s)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", quoteValue(s), err)
		}
		return ms, nil
	}
	text := string(s)
	var t time.Time
	var err error
	switch {
	case len(text) == len(isoDate):
		t, err = time.Parse(isoDate, text)
	case len(text) > 19 && (text[len(text)-1] == 'Z' || text[len(text)-6] == '+' || text[len(text)-6] == '-'):
		t, err = time.Parse(isoDateTimeTZ, text)
	default:
		t, err = time.Parse(isoDateTime, text)
	}
	if err != nil {
		return 0, fmt.Errorf(`%s is neither "/Date(milliseconds±hhmm)/" nor an ISO-8601 date or date-time`, quoteValue(s))
	}
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		return 0, fmt.Errorf("%s is finer than a millisecond; the field holds milliseconds", quoteValue(s))
	}
	return t.UnixMilli(), nil
}

// ParseTime reads a Xero date or timestamp as milliseconds since the epoch (UTC), by the rules
// the transcoder applies to timestamp fields: "/Date(milliseconds±hhmm)/" or ISO 8601, nothing
// finer than a millisecond.
func ParseTime(s string) (int64, error) { return parseInstant([]byte(s)) }

// daysOf turns an instant into an Avro date (days since the epoch). Xero sends dates as midnight
// UTC; any other time of day is an error, never truncated.
func daysOf(ms int64, text []byte) (int32, error) {
	if ms%msPerDay != 0 {
		return 0, fmt.Errorf("%s is not midnight UTC (%s); the field is a date",
			quoteValue(text), time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	}
	days := ms / msPerDay
	if days < math.MinInt32 || days > math.MaxInt32 {
		return 0, fmt.Errorf("%s is out of the range of a date", quoteValue(text))
	}
	return int32(days), nil
}

// quoteValue quotes a value for an error message, shortened when long.
func quoteValue(s []byte) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
