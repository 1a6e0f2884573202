package connector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// The record path reads each record's JSON as few times as it can: the page split finds the key
// fields (xero.Page.Fields) and checks the syntax, and the transcoder then skips its own check
// (avro.Codec.AppendValidValue). The tests below hold it to the plain reading, each record on its
// own: gjson for the keys (readMeta) and the checking transcoder (AppendValue). Keys, values,
// headers, topics, replication keys, hashes and errors must all be the same.

// pageOfRecords reads records as one list response of stream s, as List reads a body.
func pageOfRecords(s *streams.Stream, records []json.RawMessage) (*xero.Page, error) {
	var body bytes.Buffer
	fmt.Fprintf(&body, `{"Id":"x","Status":"OK","%s":[`, s.Wrapper)
	for i, r := range records {
		if i > 0 {
			body.WriteString(",\n ")
		}
		body.Write(r)
	}
	body.WriteString("]}")
	return xero.DecodePage(body.Bytes(), s.Wrapper, metaFields(s)...)
}

// checkingEncoder is the transcoder as it was before the page's check was trusted: every value
// is checked as a whole.
type checkingEncoder struct{ *avro.Codec }

func (c checkingEncoder) AppendValidValue(dst, raw []byte, tenantID string, at time.Time) ([]byte, error) {
	return c.AppendValue(dst, raw, tenantID, at)
}

// sameRecords reads records as one page of stream s and checks that every record comes out of
// the page path exactly as out of the plain one. It returns how many went to the dead-letter
// topic.
func sameRecords(tb testing.TB, s *streams.Stream, codec *avro.Codec, records []json.RawMessage) int {
	tb.Helper()
	const tenant = "0b7e3c4d-5f6a-4b8c-9d0e-1f2a3b4c5d6e"
	pg, err := pageOfRecords(s, records)
	if err != nil {
		tb.Fatalf("%s: list: %v", s.Name, err)
	}
	if len(pg.Records) != len(records) {
		tb.Fatalf("%s: %d records in the page, sent %d", s.Name, len(pg.Records), len(records))
	}
	at := time.UnixMilli(1767225600123)
	f := pageOf(s, pg, 1, at)
	fast := builder{streamBuilder: &streamBuilder{stream: s, topic: "xero." + s.Name, deadTopic: "dead", enc: codec, keyID: 3, valueID: 4}, tenant: tenant}
	plain := fast
	plain.enc = checkingEncoder{codec}
	dead := 0
	for i, it := range f.items {
		raw := records[i]
		if !bytes.Equal(it.raw, raw) {
			tb.Fatalf("%s record %d: the page holds %s, sent %s", s.Name, i, it.raw, raw)
		}
		want, wantErr := readMeta(s, raw)
		if it.meta != want || fmt.Sprint(it.bad) != fmt.Sprint(wantErr) {
			tb.Fatalf("%s record %d %s:\nmeta %+v, %v\nwant %+v, %v", s.Name, i, raw, it.meta, it.bad, want, wantErr)
		}
		if it.bad != nil {
			dead++
			if !sameRecord(fast.deadLetter(it.raw, it.meta, it.bad), plain.deadLetter(raw, want, wantErr)) {
				tb.Fatalf("%s record %d: dead letters differ", s.Name, i)
			}
			continue
		}
		got, gotDead, gotErr := fast.record(it.raw, it.meta, at)
		exp, expDead, expErr := plain.record(raw, want, at)
		if gotDead != expDead || fmt.Sprint(gotErr) != fmt.Sprint(expErr) || !sameRecord(got, exp) {
			tb.Fatalf("%s record %d %s:\ngot  %v %v %+v\nwant %v %v %+v", s.Name, i, raw, gotDead, gotErr, got, expDead, expErr, exp)
		}
		if gotDead {
			dead++
		}
	}
	return dead
}

func sameRecord(a, b *kgo.Record) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Topic != b.Topic || !bytes.Equal(a.Key, b.Key) || !bytes.Equal(a.Value, b.Value) || len(a.Headers) != len(b.Headers) {
		return false
	}
	for i := range a.Headers {
		if a.Headers[i].Key != b.Headers[i].Key || !bytes.Equal(a.Headers[i].Value, b.Headers[i].Value) {
			return false
		}
	}
	return true
}

// shuffled returns v, a valid JSON value, with the members of each of its objects in a random
// order and a little white space between the tokens.
func shuffled(rng *rand.Rand, v gjson.Result) string {
	switch {
	case v.IsObject():
		var members []string
		v.ForEach(func(k, m gjson.Result) bool {
			members = append(members, k.Raw+" :"+shuffled(rng, m))
			return true
		})
		rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		return "{ " + strings.Join(members, ",\t") + "\n}"
	case v.IsArray():
		var items []string
		for _, it := range v.Array() {
			items = append(items, shuffled(rng, it))
		}
		return "[" + strings.Join(items, " , ") + "]"
	}
	return v.Raw
}

// odd returns variants of raw, a record of stream s, with the values a page may hold beside the
// usual ones.
func odd(s *streams.Stream, raw json.RawMessage) []json.RawMessage {
	set := func(path, value string) json.RawMessage {
		out, err := sjsonSetRaw(raw, path, value)
		if err != nil {
			panic(err)
		}
		return out
	}
	pk, rk := s.PrimaryKey, s.ReplicationKey
	var out []json.RawMessage
	add := func(r json.RawMessage) { out = append(out, r) }
	// Strings with escapes, unicode and invalid UTF-8, in a field the schema knows and in one it
	// does not.
	known := ""
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		if k.Str != pk && k.Str != rk && v.Type == gjson.String && !strings.HasPrefix(v.Str, "/Date(") {
			known = k.Str
			return false
		}
		return true
	})
	for _, text := range []string{
		`"a \"quoted\" \\ back\/slash\n\t\u00e9\ud83c\udf89 end"`,
		`"Zoë 東京 🎉 ✓"`,
		`"brackets \"}]\" {[ and \\\" inside"`,
		"\"bad \xff\xfe UTF-8\"",
		`"lone \ud800 surrogate"`,
		`""`,
	} {
		if known != "" {
			add(set(known, text))
		}
		add(set("ExtraField", text))
	}
	// Huge and odd numbers, in an unknown field and in the place of a string.
	for _, num := range []string{`123456789012345678901234567890123456789012`, `1e400`, `-0.000000000000000000001`, `0`} {
		add(set("ExtraNumber", num))
		if known != "" {
			add(set(known, num))
		}
	}
	// Nulls and missing keys.
	add(set(pk, `null`))
	add(set(pk, `""`))
	add(set(pk, `"id with \"escapes\" \/ \u00e9"`))
	add(set(pk, `12345`))
	add(json.RawMessage(strings.Replace(string(raw), `"`+pk+`"`, `"`+pk[:1]+`\u00`+strconv.FormatInt(int64(pk[1]), 16)+pk[2:]+`"`, 1)))
	add(json.RawMessage(strings.Replace(string(raw), `"`+pk+`"`, `"Renamed`+pk+`"`, 1)))
	if rk != "" {
		add(set(rk, `null`))
		add(set(rk, `"not a date"`))
		add(set(rk, `"\/Date(1573755038314+1230)\/"`))
		add(set(rk, `1573755038314`))
		add(set(rk, `1.5`))
		add(json.RawMessage(strings.Replace(string(raw), `"`+rk+`"`, `"Renamed`+rk+`"`, 1)))
	}
	// A second member of the same name, and nesting deeper than the transcoder takes.
	add(json.RawMessage(`{"` + pk + `":"dup-first",` + string(raw[1:])))
	add(set("Deep", strings.Repeat("[", 600)+strings.Repeat("]", 600)))
	add(set("DeepObject", strings.Repeat(`{"a":`, 300)+"1"+strings.Repeat("}", 300)))
	return out
}

// sjsonSetRaw sets the top-level member path of the object raw to the raw JSON value (added at
// the end when absent), keeping every other byte.
func sjsonSetRaw(raw json.RawMessage, path, value string) (json.RawMessage, error) {
	r := gjson.GetBytes(raw, path)
	if r.Exists() {
		// Index is the offset of the value in raw.
		out := append([]byte(nil), raw[:r.Index]...)
		out = append(out, value...)
		return append(out, raw[r.Index+len(r.Raw):]...), nil
	}
	end := bytes.LastIndexByte(raw, '}')
	if end < 0 {
		return nil, fmt.Errorf("not an object: %s", raw)
	}
	out := append([]byte(nil), raw[:end]...)
	if bytes.TrimSpace(out)[len(bytes.TrimSpace(out))-1] != '{' {
		out = append(out, ',')
	}
	out = append(out, `"`+path+`":`+value...)
	return append(out, raw[end:]...), nil
}

// TestPagePathAsPlainReading runs every stream's simulated records, the same shuffled, and odd
// variants of them through both readings.
func TestPagePathAsPlainReading(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	total, dead := 0, 0
	for _, s := range streams.All() {
		sim := xerosim.NewSim(xerosim.Seed(7), xerosim.Tenants(1), xerosim.Volume(s.Name, 12))
		records, err := sim.Truth(sim.Tenants()[0], s.Name)
		sim.Close()
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if len(records) == 0 {
			// The simulator does not make this stream's records: a record of its keys alone.
			r := `{"` + s.PrimaryKey + `":"6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"`
			switch s.ReplicationKey {
			case "":
			case "JournalNumber":
				r += `,"JournalNumber":7`
			default:
				r += `,"` + s.ReplicationKey + `":"\/Date(1573755038314+0000)\/"`
			}
			records = []json.RawMessage{json.RawMessage(r + "}")}
			t.Logf("%s: no simulated records, one of its keys alone", s.Name)
		}
		codec, err := avro.NewCodec(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		page := append([]json.RawMessage(nil), records...)
		for _, r := range records {
			page = append(page, json.RawMessage(shuffled(rng, gjson.ParseBytes(r))))
		}
		page = append(page, odd(&s, records[0])...)
		dead += sameRecords(t, &s, codec, page)
		total += len(page)
	}
	// The odd variants must reach both the dead-letter topic and the stream's.
	if dead == 0 || dead == total {
		t.Fatalf("%d of %d records were dead letters", dead, total)
	}
	t.Logf("%d records, %d dead letters", total, dead)
}

// FuzzPagePath gives one record's JSON to both readings, as an invoice and as a journal. A body
// the page split refuses is not a record the connector ever builds.
func FuzzPagePath(f *testing.F) {
	sim := xerosim.NewSim(xerosim.Seed(3), xerosim.Tenants(1), xerosim.Volume("invoices", 3), xerosim.Volume("journals", 3))
	for _, name := range []string{"invoices", "journals"} {
		records, err := sim.Truth(sim.Tenants()[0], name)
		if err != nil {
			f.Fatal(err)
		}
		for _, r := range records {
			f.Add([]byte(r))
		}
	}
	sim.Close()
	f.Add([]byte(`{"InvoiceID":"a","UpdatedDateUTC":"\/Date(1573755038314+0000)\/","Total":1e999}`))
	f.Add([]byte(`{"JournalID":"j","JournalNumber":12345678901234567890,"JournalLines":[{"x":[[[]]]}]}`))
	f.Add([]byte("{\"Invoice\\u0049D\":\"\xff\",\"LineItems\":[{\"Quantity\":\"1.0\"}]}"))
	var codecs []*avro.Codec
	var ss []streams.Stream
	for _, name := range []string{"invoices", "journals"} {
		s, _ := streams.ByName(name)
		c, err := avro.NewCodec(name)
		if err != nil {
			f.Fatal(err)
		}
		ss, codecs = append(ss, s), append(codecs, c)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '{' {
			return // the page would not hold it as one record
		}
		for k := range ss {
			pg, err := pageOfRecords(&ss[k], []json.RawMessage{raw})
			if err != nil || len(pg.Records) != 1 || !bytes.Equal(pg.Records[0], raw) {
				return // not one valid record
			}
			sameRecords(t, &ss[k], codecs[k], []json.RawMessage{raw})
		}
	})
}
