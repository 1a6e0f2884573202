package avro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		num              string
		precision, scale int
		want             string // the unscaled value, or the error text
	}{
		{"0", 22, 4, "0"},
		{"-0.00", 22, 4, "0"},
		{"46.00", 22, 4, "460000"},
		{"46.00000000", 22, 4, "460000"}, // trailing zeros are not decimal places
		{"-1.5", 22, 4, "-15000"},
		{"0.0001", 22, 4, "1"},
		{"125.1234", 22, 4, "1251234"},
		{"1E2", 22, 4, "1000000"},
		{"1.5e-3", 22, 4, "15"},
		{"12345e-4", 22, 4, "12345"},
		{"999999999999999999.9999", 22, 4, "9999999999999999999999"},
		{"-999999999999999999.9999", 22, 4, "-9999999999999999999999"},
		{"1.123456789", 28, 10, "11234567890"},
		{"999999999999999999.9999999999", 28, 10, "9999999999999999999999999999"},
		{"0.00000000000000000000000000000000000000000000000000", 22, 4, "0"},
		{"0e999999999999999999999", 22, 4, "0"},
		{"1.12345", 22, 4, "1.12345 has 5 decimal places; the schema holds 4"},
		{"1.123456789012", 28, 10, "1.123456789012 has 12 decimal places; the schema holds 10"},
		{"1e-5", 22, 4, "1e-5 has 5 decimal places; the schema holds 4"},
		{"1000000000000000000", 22, 4, "1000000000000000000 has 19 integer digits; the schema holds 18 (decimal(22,4))"},
		{"-1e18", 22, 4, "-1e18 has 19 integer digits; the schema holds 18 (decimal(22,4))"},
		{"1e999999999999", 22, 4, "integer digits"},
		{"1e-999999999999", 22, 4, "decimal places"},
		{"99999999999999999999999999999999999999", 38, 0, "99999999999999999999999999999999999999"},
	}
	for _, tt := range tests {
		t.Run(tt.num, func(t *testing.T) {
			u, neg, err := parseDecimal([]byte(tt.num), tt.precision, tt.scale)
			if err != nil {
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %q, want %q", err, tt.want)
				}
				return
			}
			if got := bigOf(u, neg).String(); got != tt.want {
				t.Fatalf("unscaled %s, want %s", got, tt.want)
			}
		})
	}
}

func bigOf(u uint128, neg bool) *big.Int {
	v := new(big.Int).SetUint64(u.hi)
	v.Lsh(v, 64)
	v.Or(v, new(big.Int).SetUint64(u.lo))
	if neg {
		v.Neg(v)
	}
	return v
}

// decodeDecimalBytes reads Avro decimal bytes (length-prefixed two's complement) back.
func decodeDecimalBytes(tb testing.TB, b []byte) *big.Int {
	tb.Helper()
	n, size := varint(b)
	if size <= 0 || int(n) != len(b)-size {
		tb.Fatalf("bad length prefix in %x", b)
	}
	body := b[size:]
	v := new(big.Int).SetBytes(body)
	if len(body) > 0 && body[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(body))))
	}
	return v
}

func varint(b []byte) (int64, int) {
	var ux uint64
	for k, c := range b {
		ux |= uint64(c&0x7f) << (7 * k)
		if c < 0x80 {
			x := int64(ux >> 1)
			if ux&1 != 0 {
				x = ^x
			}
			return x, k + 1
		}
	}
	return 0, 0
}

func TestAppendDecimalBytes(t *testing.T) {
	tests := []struct {
		num  string
		want string // hex of the two's complement bytes
	}{
		{"0", "00"},
		{"0.0001", "01"},
		{"0.0127", "7f"},
		{"0.0128", "0080"},
		{"-0.0001", "ff"},
		{"-0.0128", "80"},
		{"-0.0129", "ff7f"},
		{"999999999999999999.9999", "021e19e0c9bab23fffff"},
		{"-999999999999999999.9999", "fde1e61f36454dc00001"},
	}
	for _, tt := range tests {
		t.Run(tt.num, func(t *testing.T) {
			u, neg, err := parseDecimal([]byte(tt.num), 22, 4)
			if err != nil {
				t.Fatal(err)
			}
			b := appendDecimalBytes(nil, u, neg)
			_, size := varint(b)
			if got := fmt.Sprintf("%x", b[size:]); got != tt.want {
				t.Errorf("bytes %s, want %s", got, tt.want)
			}
			if got, want := decodeDecimalBytes(t, b), bigOf(u, neg); got.Cmp(want) != 0 {
				t.Errorf("decodes to %s, want %s", got, want)
			}
		})
	}
}

// FuzzParseDecimal checks parseDecimal against math/big: what it accepts is the exact value of
// the number at the scale, and it refuses exactly the numbers that do not fit.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{
		"0", "-0.5", "46.00", "1.123456789012", "1e-3", "12345678901234567890.5", "9e17", "-0.00001", "1E+2",
		// money as recorded from Xero: whole numbers and one decimal
		"108.6", "40", "-108.6", "1", "4369.1",
	} {
		f.Add(s, 4)
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, num string, scale int) {
		if scale < 0 || scale > 12 {
			return
		}
		precision := 18 + scale
		if end, err := scanNumber([]byte(num), 0); err != nil || end != len(num) || len(num) > 200 {
			return // parseDecimal takes validated JSON numbers only
		}
		u, neg, err := parseDecimal([]byte(num), precision, scale)
		want, ok := new(big.Rat).SetString(num)
		if !ok {
			return // math/big refuses exponents beyond its range
		}
		scaled := new(big.Rat).Mul(want, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
		limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil)
		fits := scaled.IsInt() && new(big.Int).Abs(scaled.Num()).Cmp(limit) < 0
		if err != nil {
			if fits {
				t.Fatalf("%q at decimal(%d,%d) refused but fits: %v", num, precision, scale, err)
			}
			return
		}
		if !fits {
			t.Fatalf("%q at decimal(%d,%d) accepted but does not fit", num, precision, scale)
		}
		if got := bigOf(u, neg); got.Cmp(scaled.Num()) != 0 {
			t.Fatalf("%q: unscaled %s, want %s", num, got, scaled.Num())
		}
		if got := decodeDecimalBytes(t, appendDecimalBytes(nil, u, neg)); got.Cmp(scaled.Num()) != 0 {
			t.Fatalf("%q: bytes decode to %s, want %s", num, got, scaled.Num())
		}
	})
}

func TestDaysOf(t *testing.T) {
	for _, tt := range []struct {
		ms   int64
		want string
	}{
		{0, "0"},
		{msPerDay, "1"},
		{-msPerDay, "-1"},
		{-2208988800000, "-25567"},
		{1, "is not midnight UTC (1970-01-01T00:00:00.001Z)"},
		{-1, "is not midnight UTC (1969-12-31T23:59:59.999Z)"},
		{1478985000000, "is not midnight UTC (2016-11-12T21:10:00.000Z)"},
	} {
		days, err := daysOf(tt.ms, []byte("x"))
		got := strconv.Itoa(int(days))
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("daysOf(%d) = %s, want %s", tt.ms, got, tt.want)
		}
	}
}

func TestScanInvalid(t *testing.T) {
	for _, in := range []string{
		``, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{a:1}`, `[1,]`, `[1 2]`, `01`, `1.`, `1e`, `-`, `+1`, `.5`,
		`tru`, `nul`, `"abc`, `"a\x"`, `"a\u12"`, "\"a\x01\"", "\"\xff\"", `{"a":1}}`, `"\`,
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	} {
		if end, err := skipValue([]byte(in), 0); err == nil && end == len(in) {
			t.Errorf("%q accepted", in)
		}
	}
	for _, in := range []string{
		`{}`, `[]`, `{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude00\/"}`, `-0.5e+10`, `""`, `true`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	} {
		if end, err := skipValue([]byte(in), 0); err != nil || end != len(in) {
			t.Errorf("%q refused: %v", in, err)
		}
	}
}

// FuzzScan checks the scanner against encoding/json: the same inputs are valid (the scanner also
// requires UTF-8 and bounds nesting), skip finds the same ends on valid input, and strings
// unquote to what encoding/json reads.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,"x",null,true,false,{"b":[]}]`, `"\u00e9\ud83d\ude00\/\n"`, `-1.5e+3`, `"\ud800"`, "\"\xff\"", `{"a" : [ 1 , 2 ] }`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		end, err := skipValue(in, 0)
		valid := err == nil && skipSpace(in, end) == len(in)
		deep := bytes.Count(in, []byte("["))+bytes.Count(in, []byte("{")) >= maxDepth
		if want := json.Valid(in) && len(in) > 0 && in[0] > ' ' && utf8.Valid(in); valid != want && !deep {
			t.Fatalf("scanner says valid=%v (%v), encoding/json and utf8 say %v: %q", valid, err, want, in)
		}
		if !valid {
			return
		}
		if got := (&encoder{in: in}).skip(0); got != end {
			t.Fatalf("skip ends at %d, skipValue at %d: %q", got, end, in)
		}
		if in[0] == '"' {
			var want string
			if err := json.Unmarshal(in[:end], &want); err != nil {
				t.Fatal(err)
			}
			got, err := unquote(nil, in[:end])
			if err != nil {
				if !strings.ContainsRune(want, utf8.RuneError) {
					t.Fatalf("unquote %q: %v, encoding/json reads %q", in, err, want)
				}
				return
			}
			if string(got) != want {
				t.Fatalf("unquote %q = %q, encoding/json reads %q", in, got, want)
			}
		}
	})
}
