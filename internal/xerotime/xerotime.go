// Package xerotime reads the dates and times of Xero's Accounting API: its
// "/Date(milliseconds±hhmm)/" form and the ISO-8601 forms it sends next to it. The API client,
// the connector and the Avro transcoder all read Xero's times here, so they agree on every
// instant.
//
// Responses recorded from Xero's API show what the offset of the /Date()/ form means: the
// instant is the milliseconds plus the offset. "/Date(1397390400000+1200)/" is
// 2014-04-14T00:00:00Z (1397390400000 is 2014-04-13T12:00:00Z, plus 12 hours), and the same
// record's DateString says 2014-04-14T00:00:00; an UpdatedDateUTC recorded as
// "/Date(1221517731500+1200)/" in one response is "/Date(1221560931500+0000)/" in another.
// "/Date(0+0000)/" (zero milliseconds, whatever the offset) is how Xero writes "no date": Parse
// returns ErrNoDate for it rather than 1970-01-01.
package xerotime

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrNoDate is returned for Xero's "no date" value, "/Date(0+0000)/" (zero milliseconds, with
// any offset or none).
var ErrNoDate = errors.New(`"/Date(0+0000)/" means no date`)

// errNotMSDate is the reason a value starting with "/Date(" was refused.
var errNotMSDate = errors.New(`want "/Date(milliseconds±hhmm)/"`)

// text is what the parsers read: a string or the bytes of one, escapes already resolved
// ("\/" is "/").
type text interface{ ~string | ~[]byte }

// ParseMS reads the /Date()/ form: "/Date(1539993600000+0000)/", "/Date(1571875200000)/",
// "/Date(-86400000+1300)/". The milliseconds may be negative; the offset is optional, a sign and
// 2 (hh) or 4 (hhmm) digits. It returns the instant in Unix milliseconds: the milliseconds plus
// the offset. ErrNoDate is returned for zero milliseconds.
func ParseMS[T text](s T) (int64, error) {
	ms, err := parseMS(s)
	if err != nil && err != ErrNoDate {
		return 0, fmt.Errorf("%s: %w", Quote(s), err)
	}
	return ms, err
}

func parseMS[T text](s T) (int64, error) {
	const prefix, suffix = "/Date(", ")/"
	n := len(s)
	if n < len(prefix)+len(suffix) || string(s[:len(prefix)]) != prefix || string(s[n-len(suffix):]) != suffix {
		return 0, errNotMSDate
	}
	rest := s[len(prefix) : n-len(suffix)]
	i := 0
	neg := false
	if i < len(rest) && rest[i] == '-' {
		neg = true
		i++
	}
	start := i
	var ms int64
	for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
		d := int64(rest[i] - '0')
		if ms > (math.MaxInt64-d)/10 {
			return 0, errors.New("milliseconds out of range")
		}
		ms = ms*10 + d
	}
	if i == start {
		return 0, errNotMSDate
	}
	if neg {
		ms = -ms
	}
	var off int64
	if i < len(rest) {
		var err error
		if off, err = offsetMS(rest[i:]); err != nil {
			return 0, err
		}
	}
	if ms == 0 {
		return 0, ErrNoDate
	}
	if (off > 0 && ms > math.MaxInt64-off) || (off < 0 && ms < math.MinInt64-off) {
		return 0, errors.New("milliseconds out of range")
	}
	return ms + off, nil
}

// offsetMS reads an offset "+hh" or "+hhmm" (or with '-') as milliseconds.
func offsetMS[T text](s T) (int64, error) {
	if s[0] != '+' && s[0] != '-' {
		return 0, errNotMSDate
	}
	digits := s[1:]
	if len(digits) != 2 && len(digits) != 4 {
		return 0, fmt.Errorf("offset %q: want a sign and hh or hhmm", string(s))
	}
	var v [4]int64
	for k := 0; k < len(digits); k++ {
		c := digits[k]
		if c < '0' || c > '9' {
			return 0, errNotMSDate
		}
		v[k] = int64(c - '0')
	}
	hours, minutes := v[0]*10+v[1], v[2]*10+v[3]
	if hours > 23 || minutes > 59 {
		return 0, fmt.Errorf("offset %q is not a time zone offset", string(s))
	}
	off := (hours*60 + minutes) * 60_000
	if s[0] == '-' {
		off = -off
	}
	return off, nil
}

// ISO-8601 forms Xero uses next to its /Date()/ values: a date, and a date-time with or without
// a zone (no zone means UTC) and with up to 7 fractional digits.
const (
	isoDate       = "2006-01-02"
	isoDateTime   = "2006-01-02T15:04:05.999999999"
	isoDateTimeTZ = "2006-01-02T15:04:05.999999999Z07:00"
)

// Parse reads a date or timestamp value, in the /Date()/ form (see ParseMS) or as ISO 8601
// ("2018-10-20", "2018-10-20T00:00:00", "2018-11-02T16:31:30.123Z", "...+13:00"; no zone means
// UTC), as Unix milliseconds. A value finer than a millisecond is an error: no field Xero sends
// holds one, and a millisecond timestamp could not keep it. ErrNoDate is returned for
// "/Date(0+0000)/".
func Parse[T text](s T) (int64, error) {
	if len(s) >= 6 && string(s[:6]) == "/Date(" {
		return ParseMS(s)
	}
	str := string(s)
	var t time.Time
	var err error
	switch {
	case len(str) == len(isoDate):
		t, err = time.Parse(isoDate, str)
	case len(str) > 19 && (str[len(str)-1] == 'Z' || str[len(str)-6] == '+' || str[len(str)-6] == '-'):
		t, err = time.Parse(isoDateTimeTZ, str)
	default:
		t, err = time.Parse(isoDateTime, str)
	}
	if err != nil {
		return 0, fmt.Errorf(`%s is neither "/Date(milliseconds±hhmm)/" nor an ISO-8601 date or date-time`, Quote(s))
	}
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		return 0, fmt.Errorf("%s is finer than a millisecond", Quote(s))
	}
	return t.UnixMilli(), nil
}

// Quote quotes a value for an error message, shortened when long.
func Quote[T text](s T) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", string(s[:max]))
	}
	return fmt.Sprintf("%q", string(s))
}
