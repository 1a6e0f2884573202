package xerosim

import "encoding/binary"

// Deterministic randomness. Every generated value is a pure function of the seed and of where
// it is used (tenant, stream, record index, version, field), so any record can be rebuilt at
// any time without storing it.

// mix returns a well-mixed 64-bit hash of a and b (splitmix64 finaliser over a combination).
func mix(a, b uint64) uint64 {
	z := a ^ (b + 0x9e3779b97f4a7c15 + (a << 6) + (a >> 2))
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// mix3 hashes three values.
func mix3(a, b, c uint64) uint64 { return mix(mix(a, b), c) }

// rng is a small splitmix64 generator.
type rng struct{ s uint64 }

func newRNG(seed uint64) rng { return rng{s: seed} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a value in [0, n); n must be positive.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// chance returns true with probability p.
func (r *rng) chance(p float64) bool { return float64(r.next()>>11)/float64(1<<53) < p }

// float returns a value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / float64(1<<53) }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// uuid is a 16-byte identifier rendered in Xero's lower-case 8-4-4-4-12 form.
type uuid [16]byte

// makeUUID builds a version-4 style UUID from a hash.
func makeUUID(h uint64) uuid {
	var u uuid
	a, b := mix(h, 1), mix(h, 2)
	for i := 0; i < 8; i++ {
		u[i] = byte(a >> (56 - 8*i))
		u[8+i] = byte(b >> (56 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

const hexDigits = "0123456789abcdef"

// putUUID writes the 36-character text of u into d. Every record holds several ids, so the
// hex digits are made eight at a time (hex8) rather than one nibble at a time.
func putUUID(d []byte, u uuid) {
	d = d[:36]
	a, b := hex8(binary.BigEndian.Uint32(u[0:])), hex8(binary.BigEndian.Uint32(u[4:]))
	c, e := hex8(binary.BigEndian.Uint32(u[8:])), hex8(binary.BigEndian.Uint32(u[12:]))
	binary.BigEndian.PutUint64(d[0:], a)
	d[8] = '-'
	binary.BigEndian.PutUint32(d[9:], uint32(b>>32))
	d[13] = '-'
	binary.BigEndian.PutUint32(d[14:], uint32(b))
	d[18] = '-'
	binary.BigEndian.PutUint32(d[19:], uint32(c>>32))
	d[23] = '-'
	binary.BigEndian.PutUint32(d[24:], uint32(c))
	binary.BigEndian.PutUint64(d[28:], e)
}

// hex8 returns the eight lower-case hex digits of v as the bytes of a uint64, the first digit in
// the most significant byte.
func hex8(v uint32) uint64 {
	// Spread the nibbles out to one a byte: 0xabcdef12 becomes 0x0a0b0c0d0e0f0102.
	n := uint64(v)
	n = (n | n<<16) & 0x0000ffff0000ffff
	n = (n | n<<8) & 0x00ff00ff00ff00ff
	n = (n | n<<4) & 0x0f0f0f0f0f0f0f0f
	// Add '0' to every byte, and 'a'-'0'-10 more to those of 10 and over (which carry into
	// bit 4 once 6 is added).
	letters := (n + 0x0606060606060606) >> 4 & 0x0101010101010101
	return n + 0x3030303030303030 + letters*('a'-'0'-10)
}

func appendUUID(b []byte, u uuid) []byte {
	var text [36]byte
	putUUID(text[:], u)
	return append(b, text[:]...)
}

func (u uuid) String() string { return string(appendUUID(nil, u)) }

// less orders UUIDs as their text does (lower-case hex compares like the bytes).
func (u uuid) less(v uuid) bool {
	for i := range u {
		if u[i] != v[i] {
			return u[i] < v[i]
		}
	}
	return false
}
