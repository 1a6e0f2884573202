package xerotime

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // the instant as RFC 3339 in UTC, "no date", or the error text
	}{
		// As recorded from New Zealand organisations: the offset is added.
		{"/Date(1397390400000+1200)/", "2014-04-14T00:00:00Z"},
		{"/Date(1221517731500+1200)/", "2008-09-16T10:28:51.5Z"},
		{"/Date(1221560931500+0000)/", "2008-09-16T10:28:51.5Z"},
		{"/Date(1541156400000+1300)/", "2018-11-03T00:00:00Z"},
		{"/Date(1539993600000-0500)/", "2018-10-19T19:00:00Z"},
		{"/Date(1539993600000+0530)/", "2018-10-20T05:30:00Z"},
		{"/Date(1539993600000+13)/", "2018-10-20T13:00:00Z"},
		{"/Date(1539993600000)/", "2018-10-20T00:00:00Z"},
		{"/Date(-86400000+0000)/", "1969-12-31T00:00:00Z"},
		{"/Date(-2208988800000)/", "1900-01-01T00:00:00Z"},
		{"/Date(1+0000)/", "1970-01-01T00:00:00.001Z"},
		{"/Date(9223372036854775807)/", "292278994-08-17T07:12:55.807Z"},
		// Xero's "no date".
		{"/Date(0+0000)/", "no date"},
		{"/Date(0)/", "no date"},
		{"/Date(-0+1200)/", "no date"},
		// ISO 8601: no zone means UTC.
		{"2018-11-02T16:31:30Z", "2018-11-02T16:31:30Z"},
		{"2018-11-02T16:31:30.123Z", "2018-11-02T16:31:30.123Z"},
		{"2018-11-02T16:31:30.1230000", "2018-11-02T16:31:30.123Z"},
		{"2018-11-02T16:31:30+13:00", "2018-11-02T03:31:30Z"},
		{"2018-10-20T00:00:00", "2018-10-20T00:00:00Z"},
		{"2018-10-20", "2018-10-20T00:00:00Z"},
		{"1969-12-31", "1969-12-31T00:00:00Z"},
		// Refused.
		{"/Date(abc)/", "want"},
		{"/Date()/", "want"},
		{"/Date(123+)/", "want a sign and hh or hhmm"},
		{"/Date(123+120)/", "want a sign and hh or hhmm"},
		{"/Date(123+0000x)/", "want a sign and hh or hhmm"},
		{"/Date(123+12a0)/", "want"},
		{"/Date(123+2400)/", "not a time zone offset"},
		{"/Date(123+1260)/", "not a time zone offset"},
		{"/Date(123 +0000)/", "want"},
		{"/Date(123", "want"},
		{"/Date(99999999999999999999)/", "out of range"},
		{"/Date(9223372036854775807+0100)/", "out of range"},
		{"/Date(-9223372036854775807-0100)/", "out of range"},
		{"Date(123)", "neither"},
		{"2018-11-02T16:31:30.1234Z", "finer than a millisecond"},
		{"2018-13-02", "neither"},
		{"yesterday", "neither"},
		{"", "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			for _, ms := range []func() (int64, error){
				func() (int64, error) { return Parse(tt.in) },
				func() (int64, error) { return Parse([]byte(tt.in)) },
			} {
				v, err := ms()
				var got string
				switch {
				case errors.Is(err, ErrNoDate):
					got = "no date"
				case err != nil:
					got = err.Error()
					if !strings.Contains(got, strconv.Quote(tt.in)) && tt.in != "" {
						t.Errorf("error %q does not quote the value", got)
					}
				default:
					got = time.UnixMilli(v).UTC().Format(time.RFC3339Nano)
				}
				if !strings.Contains(got, tt.want) {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

// refMS is the test's own reading of the /Date()/ form.
var refMS = regexp.MustCompile(`^/Date\((-?\d+)(?:([+-])(\d\d)(\d\d)?)?\)/$`)

// FuzzParseMS checks the /Date()/ reader against a regular expression and math/big: it accepts
// exactly the well-formed values and returns the milliseconds plus the offset.
func FuzzParseMS(f *testing.F) {
	for _, s := range []string{
		"/Date(1539993600000+0000)/", "/Date(1397390400000+1200)/", "/Date(1221517731500+1300)/",
		"/Date(1539993600000-0500)/", "/Date(1539993600000+0545)/", "/Date(-1)/", "/Date(0+13)/",
		"/Date(0+0000)/", "/Date(9223372036854775807)/", "/Date(9223372036854775000+1200)/",
		"/Date(1-0000)/", "/Date(x)/", "/Date(1+120)/",
	} {
		f.Add(s)
	}
	limit := new(big.Int).Lsh(big.NewInt(1), 63)
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMS(s)
		if got, err2 := ParseMS([]byte(s)); got != ms || (err == nil) != (err2 == nil) {
			t.Fatalf("%q: string and bytes disagree: %d, %v and %d, %v", s, ms, err, got, err2)
		}
		m := refMS.FindStringSubmatch(s)
		if m == nil {
			if err == nil {
				t.Fatalf("%q accepted, but it is not /Date(ms±hhmm)/", s)
			}
			return
		}
		want, ok := new(big.Int).SetString(m[1], 10)
		if !ok {
			t.Fatal(m[1])
		}
		if want.CmpAbs(limit) >= 0 {
			if err == nil {
				t.Fatalf("%q accepted, but its milliseconds are out of range", s)
			}
			return
		}
		if m[2] != "" {
			h, _ := strconv.Atoi(m[3])
			mm := 0
			if m[4] != "" {
				mm, _ = strconv.Atoi(m[4])
			}
			if h > 23 || mm > 59 {
				if err == nil {
					t.Fatalf("%q accepted, but its offset is no time zone's", s)
				}
				return
			}
			off := big.NewInt(int64((h*60 + mm) * 60_000))
			if m[2] == "-" {
				off.Neg(off)
			}
			want.Add(want, off)
		}
		if m[1] == "0" || strings.Trim(strings.TrimPrefix(m[1], "-"), "0") == "" {
			if !errors.Is(err, ErrNoDate) {
				t.Fatalf("%q: %d, %v, want ErrNoDate", s, ms, err)
			}
			return
		}
		if want.Cmp(limit) >= 0 || want.Cmp(new(big.Int).Neg(limit)) < 0 {
			if err == nil {
				t.Fatalf("%q accepted, but the instant is out of range", s)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q refused: %v", s, err)
		}
		if ms != want.Int64() {
			t.Fatalf("%q: %d ms, want %s", s, ms, want)
		}
		// The instant reads back the same from the offset-free form (zero would be "no date").
		if again, err := ParseMS(fmt.Sprintf("/Date(%d+0000)/", ms)); ms != 0 && (err != nil || again != ms) {
			t.Fatalf("%q: the form without offset of %d reads as %d, %v", s, ms, again, err)
		}
	})
}

func TestParseBytesAllocatesNothing(t *testing.T) {
	in := []byte("/Date(1397390400000+1200)/")
	if n := testing.AllocsPerRun(100, func() {
		if _, err := Parse(in); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Parse of a /Date()/ value allocates %v times", n)
	}
}
