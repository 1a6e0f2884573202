package xerosim

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// jw appends JSON to a byte slice without reflection. It tracks only whether the next value
// in the current object or array needs a comma before it.
type jw struct {
	b     []byte
	first bool
	// The forms of the record being written, set by rctx.begin (recorded.go): /Date() values
	// are written as the instant minus dateOffset (ms) followed by offsetText ("+1200"; none
	// means "+0000"), and money without trailing zeros when trimMoney is set.
	dateOffset int64
	offsetText string
	trimMoney  bool
}

func (w *jw) sep() {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
}

// extend lengthens w.b by n bytes and returns them for the caller to fill in place (an id's
// text is made straight into the page).
func (w *jw) extend(n int) []byte {
	l := len(w.b)
	if cap(w.b)-l < n {
		w.b = slices.Grow(w.b, n)
	}
	w.b = w.b[:l+n]
	return w.b[l:]
}

func (w *jw) key(k string) {
	b := w.b // appended to locally: w.b is stored once rather than after every append
	if !w.first {
		b = append(b, ',')
	}
	w.first = false
	b = append(b, '"')
	b = append(b, k...)
	w.b = append(b, '"', ':')
}

// obj opens an object as the next value (call key or sep first).
func (w *jw) obj() { w.b = append(w.b, '{'); w.first = true }

// objKey opens an object under key k.
func (w *jw) objKey(k string) { w.key(k); w.obj() }

// end closes an object.
func (w *jw) end() { w.b = append(w.b, '}'); w.first = false }

// arr opens an array under key k.
func (w *jw) arr(k string) { w.key(k); w.b = append(w.b, '['); w.first = true }

// endArr closes an array.
func (w *jw) endArr() { w.b = append(w.b, ']'); w.first = false }

// emptyArr writes k: [].
func (w *jw) emptyArr(k string) { w.key(k); w.b = append(w.b, '[', ']') }

// elem starts the next object element of an array.
func (w *jw) elem() { w.sep(); w.obj() }

func (w *jw) str(k, v string) { w.key(k); w.b = appendQuoted(w.b, v) }

// openStr writes key k and the opening quote of a string whose text the caller then appends to
// w.b itself, sparing a string built only to be copied; closeStr(start) ends it, with start
// the value openStr returned.
func (w *jw) openStr(k string) (start int) {
	w.key(k)
	w.b = append(w.b, '"')
	return len(w.b)
}

// closeStr closes the string opened by openStr. The text was appended as is: should it hold
// anything JSON escapes, it is written again through appendQuoted, so the result is always
// what str would have written.
func (w *jw) closeStr(start int) {
	for _, c := range w.b[start:] {
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			text := string(w.b[start:])
			w.b = appendQuoted(w.b[:start-1], text)
			return
		}
	}
	w.b = append(w.b, '"')
}

// numbered writes k: prefix followed by n with at least four digits (INV-0001, CN-0012).
func (w *jw) numbered(k, prefix string, n int) {
	start := w.openStr(k)
	w.b = append(w.b, prefix...)
	w.b = appendPadded(w.b, int64(n), 4)
	w.closeStr(start)
}

func (w *jw) strBytes(k string, v []byte) { w.key(k); w.b = appendQuoted(w.b, string(v)) }

func (w *jw) id(k string, u uuid) {
	w.key(k)
	d := w.extend(38)
	d[0], d[37] = '"', '"'
	putUUID(d[1:37], u)
}

// idText writes k: an id whose text is already made.
func (w *jw) idText(k string, text *[36]byte) {
	w.key(k)
	d := w.extend(38)
	d[0], d[37] = '"', '"'
	copy(d[1:37], text[:])
}

func (w *jw) boolean(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jw) integer(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

// money writes a decimal held in ten-thousandths with dp decimal places (2 or 4), rounding half
// away from zero, the way Xero prints amounts: 40.00, 12.3456.
func (w *jw) money(k string, v int64, dp int) {
	w.key(k)
	start := len(w.b)
	w.b = appendDecimal(w.b, v, dp)
	if w.trimMoney {
		w.trimZeros(start)
	}
}

// msDate writes a timestamp in Xero's escaped MS-JSON form, with the +0000 offset (or the
// record's offset, see dateOffset).
func (w *jw) msDate(k string, ms int64) {
	w.key(k)
	if w.offsetText != "" {
		w.b = append(w.b, `"\/Date(`...)
		w.b = strconv.AppendInt(w.b, ms-w.dateOffset, 10)
		w.b = append(w.b, w.offsetText...)
		w.b = append(w.b, `)\/"`...)
		return
	}
	w.b = appendMSDate(w.b, ms, true)
}

// msDateNoZone writes the form without an offset (DateTimeUTC, Quote dates).
func (w *jw) msDateNoZone(k string, ms int64) {
	w.key(k)
	w.b = appendMSDate(w.b, ms, false)
}

// isoDate writes the ISO twin of a date ("2019-10-24T00:00:00").
func (w *jw) isoDate(k string, ms int64) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = appendISO(w.b, ms)
	w.b = append(w.b, '"')
}

// isoUTC writes an UpdatedDateUTCString-style value ("2019-03-05T18:59:06Z").
func (w *jw) isoUTC(k string, ms int64) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = appendISO(w.b, ms)
	w.b = append(w.b, 'Z', '"')
}

func appendMSDate(b []byte, ms int64, zone bool) []byte {
	b = append(b, `"\/Date(`...)
	b = strconv.AppendInt(b, ms, 10)
	if zone {
		b = append(b, "+0000"...)
	}
	return append(b, `)\/"`...)
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000}

// appendDecimal formats v (in 1e-4 units) with dp places (0..4).
func appendDecimal(b []byte, v int64, dp int) []byte {
	neg := v < 0
	if neg {
		v = -v
	}
	var q int64 // rounded to dp places, half away from zero
	switch dp {
	case 4:
		q = v
	case 2: // the common case, with a constant divisor
		q = (v + 50) / 100
	default:
		div := pow10[4-dp]
		q = (v + div/2) / div
	}
	if neg && q != 0 {
		b = append(b, '-')
	}
	if q < 0 { // only v = math.MinInt64 overflows
		b = strconv.AppendInt(b, q/pow10[dp], 10)
		if dp > 0 {
			b = append(b, '.')
			frac := q % pow10[dp]
			for p := dp - 1; p >= 0; p-- {
				b = append(b, byte('0'+frac/pow10[p]%10))
			}
		}
		return b
	}
	// Written right to left: the decimals, the point, then at least one integer digit.
	var buf [24]byte
	i := len(buf)
	u := uint64(q)
	for range dp {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	if dp > 0 {
		i--
		buf[i] = '.'
	}
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

// round4 rounds a 1e-4 value to dp places and returns it in 1e-4 units.
func roundTo(v int64, dp int) int64 {
	div := pow10[4-dp]
	if v < 0 {
		return -((-v + div/2) / div * div)
	}
	return (v + div/2) / div * div
}

// appendQuoted writes s as a JSON string. Xero escapes the solidus only in dates, so it is left
// alone here.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendISO appends the instant ms in UTC as 2006-01-02T15:04:05. A page of invoices holds
// thousands of these, so the digits are written directly rather than through a layout.
func appendISO(b []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05")
	}
	hour, minute, sec := t.Clock()
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
}
