package xerosim

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

func appendUUID(b []byte, u uuid) []byte {
	var text [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			text[j] = '-'
			j++
		}
		text[j], text[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
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
