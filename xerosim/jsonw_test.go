package xerosim

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendISO holds the hand-written ISO form to time's layout, on the edges of the four-digit
// years and on random instants across ±4,000 years.
func TestAppendISO(t *testing.T) {
	instants := []int64{0, -1, 1, 1584566350680, 253402300799999, 253402300800000, -62135596800000, -62135596800001}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		instants = append(instants, r.Int64N(1<<48)-1<<47)
	}
	for _, ms := range instants {
		if got, want := string(appendISO(nil, ms)), time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05"); got != want {
			t.Fatalf("appendISO(%d) = %s, want %s", ms, got, want)
		}
	}
}

// TestAppendUUID holds the id text to fmt's hex of the same bytes.
func TestAppendUUID(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	us := []uuid{{}, {0: 0xff, 15: 0xff}, makeUUID(0)}
	for range 100_000 {
		var u uuid
		for i := range u {
			u[i] = byte(r.Uint32())
		}
		us = append(us, u, makeUUID(r.Uint64()))
	}
	for _, u := range us {
		want := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
		if got := string(appendUUID([]byte("x"), u)); got != "x"+want {
			t.Fatalf("appendUUID(% x) = %s, want x%s", u[:], got, want)
		}
	}
}

// TestAppendDecimal holds appendDecimal to a plain rendering through big-number arithmetic:
// rounding half away from zero to dp places, with dp digits after the point.
func TestAppendDecimal(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vs := []int64{0, 1, -1, 49, 50, -50, 51, 99, 100, -149, -150, 9999, 10000, -10000, 5000, -5000,
		1 << 62, -1 << 62}
	for range 100_000 {
		vs = append(vs, r.Int64N(2_000_000_000)-1_000_000_000, r.Int64N(2_000_000)-1_000_000, r.Int64N(math.MaxInt64)>>1-1<<61)
	}
	for _, v := range vs {
		for dp := 0; dp <= 4; dp++ {
			// v is in 1e-4 units: round |v| / 10^(4-dp) half up, then put the point in.
			a := new(big.Int).Abs(big.NewInt(v))
			div := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(4-dp)), nil)
			q := new(big.Int).Add(a, new(big.Int).Rsh(div, 1))
			q.Quo(q, div)
			digits := fmt.Sprintf("%0*s", dp+1, q.String())
			want := digits[:len(digits)-dp]
			if dp > 0 {
				want += "." + digits[len(digits)-dp:]
			}
			if v < 0 && q.Sign() != 0 {
				want = "-" + want
			}
			if got := string(appendDecimal(nil, v, dp)); got != want {
				t.Fatalf("appendDecimal(%d, %d) = %s, want %s", v, dp, got, want)
			}
		}
	}
}

// TestCloseStr holds a string written in place (openStr, closeStr) to str, including text that
// needs escaping.
func TestCloseStr(t *testing.T) {
	for _, s := range []string{"", "plain", `a "quoted" \\ word`, "tab\there", "\x01", "ünïcode", "bad \xff byte"} {
		var a, b jw
		a.obj()
		a.str("K", s)
		b.obj()
		start := b.openStr("K")
		b.b = append(b.b, s...)
		b.closeStr(start)
		if string(a.b) != string(b.b) {
			t.Errorf("%q: written in place as %s, str writes %s", s, b.b, a.b)
		}
	}
}
