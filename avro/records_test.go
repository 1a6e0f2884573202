package avro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	hamba "github.com/hamba/avro/v2"

	"github.com/xero-kafka/xero-kafka/streams"
)

// recordGen writes random but realistic Xero records for a schema: every field filled most of the
// time, values at the edges of their types (largest decimals, negative epochs, escapes, non-ASCII
// text), fields in random order, some nulls and absent fields, and fields the schema does not know
// at every level.
type recordGen struct {
	r        *rand.Rand
	maxDepth int // nested records deeper than this are left out
}

func newRecordGen(seed uint64, maxDepth int) *recordGen {
	return &recordGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), maxDepth: maxDepth}
}

// record writes a JSON object for s. seen counts the records on the path from the top, to bound
// the recursion through the spec's cycles.
func (g *recordGen) record(buf *bytes.Buffer, s *hamba.RecordSchema, seen map[string]int, depth int) {
	seen[s.FullName()]++
	defer func() { seen[s.FullName()]-- }()
	type kv struct {
		name  string
		write func()
	}
	var fields []kv
	for _, f := range s.Fields() {
		if strings.HasPrefix(f.Name(), "_") {
			continue
		}
		switch p := g.r.IntN(20); {
		case p == 0: // absent
			continue
		case p == 1:
			fields = append(fields, kv{f.Name(), func() { buf.WriteString("null") }})
			continue
		}
		ft := unwrap(f.Type())
		if rec, ok := ft.(*hamba.RecordSchema); ok && (seen[rec.FullName()] > 1 || depth >= g.maxDepth) {
			continue // deep enough
		}
		fields = append(fields, kv{f.Name(), func() { g.value(buf, f.Name(), ft, seen, depth) }})
	}
	if g.r.IntN(3) == 0 {
		name := fmt.Sprintf("AddedByXero%d", g.r.IntN(100))
		fields = append(fields, kv{name, func() { g.unknownValue(buf, 0) }})
	}
	g.r.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
	buf.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		g.space(buf)
		writeJSONString(buf, f.name)
		g.space(buf)
		buf.WriteByte(':')
		g.space(buf)
		f.write()
	}
	g.space(buf)
	buf.WriteByte('}')
}

func (g *recordGen) space(buf *bytes.Buffer) {
	if g.r.IntN(8) == 0 {
		buf.WriteString([]string{" ", "\n  ", "\t", "\r\n"}[g.r.IntN(4)])
	}
}

func (g *recordGen) value(buf *bytes.Buffer, name string, s hamba.Schema, seen map[string]int, depth int) {
	s = unwrap(s)
	switch s := s.(type) {
	case *hamba.RecordSchema:
		g.record(buf, s, seen, depth+1)
	case *hamba.ArraySchema:
		items := unwrap(s.Items())
		n := g.r.IntN(4)
		if rec, ok := items.(*hamba.RecordSchema); ok && (seen[rec.FullName()] > 1 || depth >= g.maxDepth) {
			n = 0
		}
		buf.WriteByte('[')
		for i := 0; i < n; i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			g.space(buf)
			g.value(buf, name, items, seen, depth)
		}
		buf.WriteByte(']')
	case *hamba.PrimitiveSchema:
		g.primitive(buf, name, s)
	default:
		panic(fmt.Sprintf("no generator for %s", s))
	}
}

var sampleText = []string{
	"Red Fish, Blue Fish", "INV-0001", "", "Müller & Söhne GmbH", "日本語の請求書", "emoji 😀 in a name",
	"a \"quoted\" word and a back\\slash", "line one\nline two", "tab\there", "</script>", "ACCREC", "AUTHORISED",
	"200", "0001", "1e5", "true", "null", "https://example.com/path?x=1&y=2", "€ 1.234,56",
}

func (g *recordGen) primitive(buf *bytes.Buffer, name string, s *hamba.PrimitiveSchema) {
	logical := ""
	if l := s.Logical(); l != nil {
		logical = string(l.Type())
	}
	switch {
	case logical == string(hamba.Decimal):
		d := s.Logical().(*hamba.DecimalLogicalSchema)
		buf.WriteString(g.decimal(d.Precision(), d.Scale()))
	case logical == string(hamba.Date):
		days := g.r.Int64N(200*365) - 70*365 // 1900 to 2100
		g.dateString(buf, days*msPerDay, true)
	case logical == string(hamba.TimestampMillis):
		ms := g.r.Int64N(200*365*msPerDay) - 70*365*msPerDay
		g.dateString(buf, ms, false)
	case s.Type() == hamba.Boolean:
		buf.WriteString(strconv.FormatBool(g.r.IntN(2) == 0))
	case s.Type() == hamba.Int:
		buf.WriteString(strconv.FormatInt(g.integer(math.MinInt32, math.MaxInt32), 10))
	case s.Type() == hamba.Long:
		buf.WriteString(strconv.FormatInt(g.integer(math.MinInt64, math.MaxInt64), 10))
	case s.Type() == hamba.String:
		if strings.HasSuffix(name, "ID") {
			writeJSONString(buf, fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), g.r.IntN(1<<12), g.r.Int64N(1<<48)))
			return
		}
		g.text(buf, sampleText[g.r.IntN(len(sampleText))])
	default:
		panic(fmt.Sprintf("no generator for %s", s))
	}
}

// text writes s as a JSON string, escaping some characters that need no escape (\/, \u00e9,
// surrogate pairs) as Xero's serializer does.
func (g *recordGen) text(buf *bytes.Buffer, s string) {
	if g.r.IntN(2) == 0 {
		writeJSONString(buf, s)
		return
	}
	buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			buf.WriteByte('\\')
			buf.WriteRune(r)
		case r == '/':
			buf.WriteString(`\/`)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r < 0x20 || r >= 0x80:
			if r > 0xffff {
				r1, r2 := utf16Pair(r)
				fmt.Fprintf(buf, `\u%04x\u%04X`, r1, r2)
			} else {
				fmt.Fprintf(buf, `\u%04x`, r)
			}
		default:
			buf.WriteRune(r)
		}
	}
	buf.WriteByte('"')
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

func (g *recordGen) integer(lo, hi int64) int64 {
	switch g.r.IntN(6) {
	case 0:
		return lo
	case 1:
		return hi
	case 2:
		return 0
	default:
		return g.r.Int64N(10000) - 100
	}
}

// decimal writes a number that fits decimal(precision, scale), sometimes with the most digits
// allowed, sometimes with trailing zeros, as Xero writes 46.00.
func (g *recordGen) decimal(precision, scale int) string {
	var b strings.Builder
	if g.r.IntN(4) == 0 {
		b.WriteByte('-')
	}
	intDigits := g.r.IntN(precision - scale + 1)
	fracDigits := g.r.IntN(scale + 1)
	if g.r.IntN(5) == 0 {
		intDigits, fracDigits = precision-scale, scale
	}
	if intDigits == 0 {
		b.WriteByte('0')
	} else {
		b.WriteByte(byte('1' + g.r.IntN(9)))
		for i := 1; i < intDigits; i++ {
			b.WriteByte(byte('0' + g.r.IntN(10)))
		}
	}
	if fracDigits > 0 {
		b.WriteByte('.')
		for i := 0; i < fracDigits; i++ {
			if g.r.IntN(3) == 0 {
				b.WriteByte('0')
			} else {
				b.WriteByte(byte('0' + g.r.IntN(10)))
			}
		}
	}
	return b.String()
}

// dateString writes an instant in one of the forms Xero uses.
func (g *recordGen) dateString(buf *bytes.Buffer, ms int64, date bool) {
	t := time.UnixMilli(ms).UTC()
	const hour = 3600_000
	var s string
	switch g.r.IntN(7) {
	case 0:
		s = fmt.Sprintf(`\/Date(%d)\/`, ms)
	case 1: // the instant is the milliseconds plus the offset
		s = fmt.Sprintf(`\/Date(%d-0500)\/`, ms+5*hour)
	case 2:
		if date {
			s = t.Format("2006-01-02T15:04:05")
		} else {
			s = t.Format("2006-01-02T15:04:05.000Z07:00")
		}
	case 3:
		s = fmt.Sprintf("/Date(%d+1300)/", ms-13*hour)
	case 4:
		s = fmt.Sprintf(`\/Date(%d+1200)\/`, ms-12*hour)
	default:
		s = fmt.Sprintf(`\/Date(%d+0000)\/`, ms)
	}
	buf.WriteString(`"` + s + `"`)
}

// unknownValue writes any JSON value, as a field Xero might add.
func (g *recordGen) unknownValue(buf *bytes.Buffer, depth int) {
	switch k := g.r.IntN(8); {
	case k == 0 && depth < 3:
		buf.WriteString(`{"Nested":`)
		g.unknownValue(buf, depth+1)
		buf.WriteString(`, "n" : 1.50}`)
	case k == 1 && depth < 3:
		buf.WriteString("[")
		g.unknownValue(buf, depth+1)
		buf.WriteString(",true, null ]")
	case k == 2:
		buf.WriteString("123456789012345678901234567890.123456789")
	case k == 3:
		buf.WriteString("null")
	case k == 4:
		buf.WriteString("-1.5e-7")
	default:
		g.text(buf, sampleText[g.r.IntN(len(sampleText))])
	}
}

// generatedRecords returns n generated records of a stream.
func generatedRecords(tb testing.TB, s hamba.Schema, n int, seed uint64, maxDepth int) [][]byte {
	tb.Helper()
	g := newRecordGen(seed, maxDepth)
	out := make([][]byte, n)
	for i := range out {
		var buf bytes.Buffer
		g.record(&buf, s.(*hamba.RecordSchema), map[string]int{}, 0)
		if !json.Valid(buf.Bytes()) || !utf8.Valid(buf.Bytes()) {
			tb.Fatalf("generated invalid JSON: %s", buf.Bytes())
		}
		out[i] = buf.Bytes()
	}
	return out
}

// TestGeneratedRecords round-trips generated records of every stream through the transcoder and
// an independent decoder.
func TestGeneratedRecords(t *testing.T) {
	for k, st := range streams.All() {
		t.Run(st.Name, func(t *testing.T) {
			c := mustCodec(t, st.Name)
			s := parsedSchema(t, c)
			for _, raw := range generatedRecords(t, s, 25, uint64(k+1), 3) {
				roundTrip(t, c, s, raw)
			}
		})
	}
}
