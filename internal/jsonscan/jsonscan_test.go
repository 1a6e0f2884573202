package jsonscan

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestFirstMarked: the lowest byte the word tests mark is the first byte a byte-by-byte search
// finds, for quotes, backslashes and control characters, on random words rich in them.
func TestFirstMarked(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	special := []byte{'"', '\\', 0, 0x1f, 0x20, 0x7f, 0x80, 0xff, 'a'}
	for range 200_000 {
		var b [8]byte
		for i := range b {
			if r.IntN(3) == 0 {
				b[i] = special[r.IntN(len(special))]
			} else {
				b[i] = byte(r.IntN(256))
			}
		}
		w := binary.LittleEndian.Uint64(b[:])
		want := -1
		for i, c := range b {
			if c < 0x20 || c == '"' || c == '\\' {
				want = i
				break
			}
		}
		got := -1
		if m := LessBytes(w, 0x20) | ZeroBytes(w^Quotes) | ZeroBytes(w^Backslashes); m != 0 {
			got = FirstMarked(m)
		}
		if got != want {
			t.Fatalf("% x: first marked %d, want %d", b, got, want)
		}
	}
}

func TestSyntaxError(t *testing.T) {
	if got := Errorf(12, "want %q", ':').Error(); got != `invalid JSON at offset 12: want ':'` {
		t.Errorf("Error() = %s", got)
	}
}
