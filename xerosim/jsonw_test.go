package xerosim

import (
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
