package connector

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
)

func TestReadMeta(t *testing.T) {
	invoices, _ := streams.ByName("invoices")
	journals, _ := streams.ByName("journals")
	tests := []struct {
		name    string
		stream  streams.Stream
		raw     string
		id      string
		pos     int64
		posText string
		wantErr bool
	}{
		{"ms date with offset", invoices, `{"InvoiceID":"a","UpdatedDateUTC":"/Date(1541176290160+0000)/"}`, "a", 1541176290160, "2018-11-02T16:31:30.16Z", false},
		{"ms date with +1200", invoices, `{"InvoiceID":"a","UpdatedDateUTC":"\/Date(1221517731500+1200)\/"}`, "a", 1221560931500, "2008-09-16T10:28:51.5Z", false},
		{"ms date with -0500", invoices, `{"InvoiceID":"a","UpdatedDateUTC":"/Date(1221578931500-0500)/"}`, "a", 1221560931500, "2008-09-16T10:28:51.5Z", false},
		{"no date", invoices, `{"InvoiceID":"a","UpdatedDateUTC":"/Date(0+0000)/"}`, "a", 0, "", true},
		{"ms date without offset", invoices, `{"InvoiceID":"a","UpdatedDateUTC":"/Date(1541176290160)/"}`, "a", 1541176290160, "2018-11-02T16:31:30.16Z", false},
		{"negative epoch", invoices, `{"InvoiceID":"a","UpdatedDateUTC":"/Date(-86400000+0000)/"}`, "a", -86400000, "1969-12-31T00:00:00Z", false},
		{"ISO date-time", invoices, `{"InvoiceID":"a","UpdatedDateUTC":"2018-11-02T16:31:30.160"}`, "a", 1541176290160, "2018-11-02T16:31:30.16Z", false},
		{"journal number", journals, `{"JournalID":"j","JournalNumber":42}`, "j", 42, "42", false},
		{"no primary key", invoices, `{"UpdatedDateUTC":"/Date(1+0000)/"}`, "", 0, "", true},
		{"no replication key", invoices, `{"InvoiceID":"a"}`, "a", 0, "", true},
		{"malformed date", invoices, `{"InvoiceID":"a","UpdatedDateUTC":"/Date(12x)/"}`, "a", 0, "", true},
		{"malformed offset", invoices, `{"InvoiceID":"a","UpdatedDateUTC":"/Date(12+0)/"}`, "a", 0, "", true},
		{"finer than a millisecond", invoices, `{"InvoiceID":"a","UpdatedDateUTC":"2018-11-02T16:31:30.1601"}`, "a", 0, "", true},
		{"fractional journal number", journals, `{"JournalID":"j","JournalNumber":4.5}`, "j", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := readMeta(&tt.stream, []byte(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if m.id != tt.id || m.pos != tt.pos || m.posText != tt.posText {
				t.Errorf("got (%q, %d, %q), want (%q, %d, %q)", m.id, m.pos, m.posText, tt.id, tt.pos, tt.posText)
			}
		})
	}
}

// TestPageMetaMatchesReadMeta sends pages of random records through a real xero.Client and
// checks that the keys read while the page is split (pageMeta) are readMeta's, record by record:
// the same identity, position, header text, hash and error.
func TestPageMetaMatchesReadMeta(t *testing.T) {
	var body atomic.Value // the page the server answers with
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/connect/token" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":1800}`)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, body.Load().(string))
	}))
	defer srv.Close()
	api, err := xero.NewCustomConnectionClient(xero.Config{APIURL: srv.URL, IdentityURL: srv.URL, ClientID: "id", ClientSecret: "secret"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"invoices", "journals", "tax_rates"} {
		s, ok := streams.ByName(name)
		if !ok {
			t.Fatalf("no stream %s", name)
		}
		fields := metaFields(&s)
		for page := range 20 {
			recs := make([]string, 200)
			for i := range recs {
				recs[i] = randomRecord(rng, s)
			}
			body.Store(`{"Status":"OK",` + strconv.Quote(s.Wrapper) + `:[` + strings.Join(recs, ",") + `]}`)
			pg, err := api.List(t.Context(), xero.Request{Tenant: "t", Path: s.Path, Wrapper: s.Wrapper, Fields: fields})
			if err != nil {
				t.Fatalf("%s page %d: %v", name, page, err)
			}
			if len(pg.Records) != len(recs) {
				t.Fatalf("%s page %d: %d records, want %d", name, page, len(pg.Records), len(recs))
			}
			for i, raw := range pg.Records {
				got, gotErr := pageMeta(&s, pg, i)
				want, wantErr := readMeta(&s, raw)
				if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("%s record %s:\n pageMeta %+v, %v\n readMeta %+v, %v", name, raw, got, gotErr, want, wantErr)
				}
			}
		}
	}
}

// randomRecord returns a JSON object whose keys may be missing, repeated, escaped, nested,
// null, of the wrong type or malformed, among random other members.
func randomRecord(rng *rand.Rand, s streams.Stream) string {
	var members []string
	add := func(name, value string) {
		if rng.IntN(8) == 0 && name != "" { // an escaped spelling of the same name
			name = `\u00` + strconv.FormatInt(int64(name[0]), 16) + name[1:]
		}
		members = append(members, `"`+name+`":`+value)
	}
	for range rng.IntN(4) {
		add(randomName(rng), randomValue(rng, s, 2))
	}
	for range rng.IntN(3) { // zero, one or two of each key
		add(s.PrimaryKey, randomID(rng))
		if s.ReplicationKey != "" {
			add(s.ReplicationKey, randomPosition(rng))
		}
		add(randomName(rng), randomValue(rng, s, 2))
	}
	rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	return "{" + strings.Join(members, ",") + "}"
}

func randomName(rng *rand.Rand) string {
	return []string{"Status", "Total", "Contact", "LineItems", "InvoiceIDs", "invoiceid", "Journal Number", "x"}[rng.IntN(8)]
}

func randomID(rng *rand.Rand) string {
	return []string{`"a"`, `""`, `"caf\u00e9 \"q\""`, `"\/id\/"`, `7`, `null`, `true`, `{"id":"x"}`, `["a"]`,
		fmt.Sprintf(`"%08x-0000-4000-8000-%012x"`, rng.Uint32(), rng.Uint64()>>16)}[rng.IntN(10)]
}

func randomPosition(rng *rand.Rand) string {
	ms := rng.Int64N(4_000_000_000_000) - 1_000_000_000_000
	return []string{
		fmt.Sprintf(`"/Date(%d+0000)/"`, ms),
		fmt.Sprintf(`"\/Date(%d%+05d)\/"`, ms, rng.IntN(2400)-1200),
		fmt.Sprintf(`"/Date(%d)/"`, ms),
		`"/Date(0+0000)/"`, `"/Date(12x)/"`, `"/Date(1+0)/"`,
		time.UnixMilli(ms).UTC().Format(`"2006-01-02T15:04:05.000"`),
		`"2018-11-02T16:31:30.1601"`, `"yesterday"`, `""`,
		strconv.FormatInt(rng.Int64N(1_000_000), 10), `4.5`, `1e3`, `-0`, `99999999999999999999`,
		`null`, `false`, `{}`, `[1]`,
	}[rng.IntN(19)]
}

func randomValue(rng *rand.Rand, s streams.Stream, depth int) string {
	switch n := rng.IntN(6); {
	case n == 0 && depth > 0: // an object that holds the keys one level down
		return `{"` + s.PrimaryKey + `":` + randomID(rng) + `,"v":` + randomValue(rng, s, depth-1) + `}`
	case n == 1 && depth > 0:
		return `[` + randomValue(rng, s, depth-1) + `,` + randomValue(rng, s, depth-1) + `]`
	case n == 2:
		return randomPosition(rng)
	default:
		return randomID(rng)
	}
}

// FuzzParseValue checks that parseValue reads a JSON value as gjson does, for the values it
// reads itself (plain strings and numbers) and the ones it hands to gjson.
func FuzzParseValue(f *testing.F) {
	for _, v := range []string{
		`"0a5c1c7e-0b5e-4a57-9d2e-2f0ad4bb0f11"`, `""`, `"/Date(1573755038314+0000)/"`, `"a\"b"`, `"\/Date(1573755038314+0000)\/"`, `"\/\/x\/"`, `"\/\n"`, `"x\\/"`, `"\\\/"`,
		`"\u00e9t\u00e9"`, `"\ud800"`, "\"caf\xc3\xa9\"", "\"\xff\"", `12`, `-7`, `0`, `1.5e3`,
		`123456789012345678901`, `null`, `true`, `false`, `{}`, `{"a":1}`, `[1,2]`, `[]`,
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !gjsonValid(v) {
			return
		}
		got, want := parseValue([]byte(v)), gjson.Parse(v)
		if got.Type != want.Type || got.Raw != want.Raw || got.Str != want.Str || got.Num != want.Num {
			t.Fatalf("%q: parseValue %+v, gjson %+v", v, got, want)
		}
	})
}

// gjsonValid reports whether v is one JSON value with nothing around it, which is what the
// page's parse hands to parseValue.
func gjsonValid(v string) bool {
	return v != "" && json.Valid([]byte(v)) && strings.TrimSpace(v) == v
}
