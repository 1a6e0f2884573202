package avro

import (
	"fmt"
	"math/bits"
)

// maxPrecision is the largest decimal precision the transcoder handles: every unscaled value of up
// to 38 digits fits in 128 bits.
const maxPrecision = 38

// uint128 is an unsigned 128-bit integer, hi and lo 64-bit halves.
type uint128 struct{ hi, lo uint64 }

func (u uint128) mul10add(d uint64) uint128 {
	hiOfLo, lo := bits.Mul64(u.lo, 10)
	lo, carry := bits.Add64(lo, d, 0)
	return uint128{hi: u.hi*10 + hiOfLo + carry, lo: lo}
}

func (u uint128) isZero() bool { return u.hi == 0 && u.lo == 0 }

// decimalError says why a number does not fit a decimal(precision, scale): either its decimal
// places (places > 0) or its integer digits.
type decimalError struct {
	num               string
	places, intDigits int
	precision, scale  int
}

func (e *decimalError) Error() string {
	if e.places > 0 {
		return fmt.Sprintf("%s has %d decimal places; the schema holds %d", e.num, e.places, e.scale)
	}
	return fmt.Sprintf("%s has %d integer digits; the schema holds %d (decimal(%d,%d))",
		e.num, e.intDigits, e.precision-e.scale, e.precision, e.scale)
}

// parseDecimal reads the JSON number text num (already validated by scanNumber) as an unscaled
// integer at the given scale: 12.5 at scale 4 is 125000. It never rounds: a value with more
// significant decimal places than scale, or more integer digits than precision-scale, is an
// error. Trailing zeros do not count as decimal places (46.00000 at scale 4 is 46.0000, the same
// number).
func parseDecimal(num []byte, precision, scale int) (u uint128, neg bool, err error) {
	if v, neg, ok := smallDecimal(num, precision, scale); ok {
		return uint128{lo: v}, neg, nil
	}
	return parseDecimalSlow(num, precision, scale)
}

// pow10 holds the powers of ten that fit in 64 bits.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for k := 1; k < len(p); k++ {
		p[k] = p[k-1] * 10
	}
	return p
}()

// smallDecimal is parseDecimal for the numbers Xero sends in almost every decimal field: no
// exponent, no more decimal places than scale, and at most 19 digits once scaled, so that the
// unscaled value is one uint64 built in one pass. It returns false for any other number, and
// for one that does not fit, leaving the error to parseDecimalSlow.
func smallDecimal(num []byte, precision, scale int) (v uint64, neg, ok bool) {
	i := 0
	if len(num) > 0 && num[0] == '-' {
		neg, i = true, 1
	}
	nInt, intDigits := 0, 0 // digits before the point, and those after its leading zeros
	for ; i < len(num) && num[i] >= '0' && num[i] <= '9'; i++ {
		d := uint64(num[i] - '0')
		if d != 0 || intDigits > 0 {
			intDigits++
		}
		v = v*10 + d
		nInt++
	}
	nFrac := 0
	if i < len(num) && num[i] == '.' {
		for i++; i < len(num) && num[i] >= '0' && num[i] <= '9'; i++ {
			v = v*10 + uint64(num[i]-'0')
			nFrac++
		}
	}
	if i != len(num) || nInt == 0 || nFrac > scale || nInt+scale > 19 || intDigits > precision-scale {
		return 0, false, false
	}
	v *= pow10[scale-nFrac]
	if v == 0 {
		neg = false // zero, whatever its sign
	}
	return v, neg, true
}

// parseDecimalSlow is parseDecimal for any number scanNumber accepts.
func parseDecimalSlow(num []byte, precision, scale int) (u uint128, neg bool, err error) {
	i := 0
	if num[0] == '-' {
		neg = true
		i = 1
	}
	// The digits before and after the point, seen as one sequence C = int ++ frac, with the point
	// after pointPos digits of C (the exponent moves it).
	intStart := i
	for i < len(num) && num[i] >= '0' && num[i] <= '9' {
		i++
	}
	intEnd := i
	fracStart, fracEnd := i, i
	if i < len(num) && num[i] == '.' {
		i++
		fracStart = i
		for i < len(num) && num[i] >= '0' && num[i] <= '9' {
			i++
		}
		fracEnd = i
	}
	exp := 0
	if i < len(num) && (num[i] == 'e' || num[i] == 'E') {
		i++
		expNeg := false
		if num[i] == '+' || num[i] == '-' {
			expNeg = num[i] == '-'
			i++
		}
		for ; i < len(num); i++ {
			if exp < 100000 { // beyond this the value cannot fit any precision anyway
				exp = exp*10 + int(num[i]-'0')
			}
		}
		if expNeg {
			exp = -exp
		}
	}
	nInt := intEnd - intStart
	n := nInt + (fracEnd - fracStart)
	digit := func(k int) byte { // the k-th digit of C
		if k < nInt {
			return num[intStart+k]
		}
		return num[fracStart+k-nInt]
	}
	first, last := -1, -1
	for k := 0; k < n; k++ {
		if digit(k) != '0' {
			if first < 0 {
				first = k
			}
			last = k
		}
	}
	if first < 0 {
		return uint128{}, false, nil // zero, whatever its sign or exponent
	}
	// The value is D × 10^e, D = C[first..last] without leading or trailing zeros.
	pointPos := nInt + exp
	e := pointPos - last - 1
	if -e > scale {
		return u, neg, &decimalError{num: string(num), places: -e, scale: scale}
	}
	if intDigits := last - first + 1 + e; intDigits > precision-scale {
		return u, neg, &decimalError{num: string(num), intDigits: intDigits, precision: precision, scale: scale}
	}
	for k := first; k <= last; k++ {
		u = u.mul10add(uint64(digit(k) - '0'))
	}
	for k := 0; k < e+scale; k++ {
		u = u.mul10add(0)
	}
	return u, neg, nil
}

// appendDecimalBytes appends the Avro bytes of a decimal: the minimal big-endian two's complement
// of the unscaled value, preceded by its length.
func appendDecimalBytes(dst []byte, u uint128, neg bool) []byte {
	if neg && !u.isZero() {
		// two's complement: invert and add one
		lo, carry := bits.Add64(^u.lo, 1, 0)
		u = uint128{hi: ^u.hi + carry, lo: lo}
	}
	var b [16]byte
	for k := 0; k < 8; k++ {
		b[k] = byte(u.hi >> (56 - 8*k))
		b[8+k] = byte(u.lo >> (56 - 8*k))
	}
	s := b[:]
	for len(s) > 1 && ((s[0] == 0x00 && s[1]&0x80 == 0) || (s[0] == 0xff && s[1]&0x80 != 0)) {
		s = s[1:]
	}
	dst = appendLong(dst, int64(len(s)))
	return append(dst, s...)
}
