package avro

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"

	"github.com/xero-kafka/xero-kafka/internal/avrocheck"
	"github.com/xero-kafka/xero-kafka/streams"
)

func TestNewCodecEveryStream(t *testing.T) {
	for _, name := range streams.Names() {
		c, err := NewCodec(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Stream() != name || c.ValueSchema() == "" || c.KeySchema() == "" {
			t.Errorf("%s: incomplete codec", name)
		}
	}
	if _, err := NewCodec("nope"); err == nil {
		t.Error("NewCodec accepted an unknown stream")
	}
}

// TestSchemaText checks that the codec serves the embedded files byte for byte: the registered
// text must be the generated one (hamba's String() would drop docs and defaults).
func TestSchemaText(t *testing.T) {
	c := mustCodec(t, "invoices")
	want, err := schemaFiles.ReadFile("schemas/invoices-value.avsc")
	if err != nil {
		t.Fatal(err)
	}
	if c.ValueSchema() != string(want) {
		t.Error("ValueSchema is not the embedded file")
	}
	if !strings.Contains(c.ValueSchema(), `"default": null`) || !strings.Contains(c.ValueSchema(), `"doc":`) {
		t.Error("ValueSchema lost defaults or docs")
	}
}

func TestUnknownFields(t *testing.T) {
	c := mustCodec(t, "invoices")
	s := parsedSchema(t, c)
	raw := `{
		"InvoiceID": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
		"NewTopLevel": {"Deep": [1, 2.50, "x"], "When": "\/Date(0)\/"},
		"LineItems": [
			{"Description": "first", "UnitAmount": 1.5, "Carbon": 12.25,
			 "Tracking": [{"Name": "Region", "Option": "North", "Colour": "red"}]},
			{"Description": "second", "Esc\u00e9": null}
		],
		"Contact": {"ContactID": "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7", "Pronouns": "they", "Addresses": [{"City": "Wellington", "What3Words": "///a.b.c"}]},
		"_unknown_fields": "sent by Xero",
		"Total": 10.00
	}`
	roundTrip(t, c, s, []byte(raw))

	// And the exact text kept, level by level.
	bin, err := c.AppendValue(nil, []byte(raw), "tenant", time.UnixMilli(0))
	if err != nil {
		t.Fatal(err)
	}
	got := decodeAvro(t, s, bin)
	if want := `{"NewTopLevel":{"Deep": [1, 2.50, "x"], "When": "\/Date(0)\/"},"_unknown_fields":"sent by Xero"}`; got[fieldUnknownFields] != want {
		t.Errorf("top level: %v, want %s", got[fieldUnknownFields], want)
	}
	lines := got["LineItems"].(map[string]any)["array"].([]any)
	if u := lines[0].(map[string]any)[fieldUnknownFields]; u != `{"Carbon":12.25}` {
		t.Errorf("LineItems[0]: %v", u)
	}
	if u := lines[1].(map[string]any)[fieldUnknownFields]; u != `{"Esc\u00e9":null}` {
		t.Errorf("LineItems[1]: %v", u)
	}
	tracking := lines[0].(map[string]any)["Tracking"].(map[string]any)["array"].([]any)
	if u := tracking[0].(map[string]any)[fieldUnknownFields]; u != `{"Colour":"red"}` {
		t.Errorf("LineItems[0].Tracking[0]: %v", u)
	}
	contact := got["Contact"].(map[string]any)["xerokafka.accounting.Contact"].(map[string]any)
	if u := contact[fieldUnknownFields]; u != `{"Pronouns":"they"}` {
		t.Errorf("Contact: %v", u)
	}
}

func TestValues(t *testing.T) {
	c := mustCodec(t, "invoices")
	s := parsedSchema(t, c)
	raw := `{"InvoiceID":"x","Total":"50.00","HasErrors":"false","IsDiscounted":true,
		"CurrencyRate":0.1234567891,"Date":"2018-10-20T00:00:00","DueDate":"\/Date(-86400000)\/",
		"UpdatedDateUTC":"\/Date(-1+1300)\/","LineItems":[],"Payments":null,"Reference":"\ud83d\ude00 \u00e9\/"}`
	bin, err := c.AppendValue(nil, []byte(raw), "tenant", time.UnixMilli(-5))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, s, []byte(raw))
	got := decodeAvro(t, s, bin)
	checks := []struct {
		field string
		ok    bool
	}{
		{"Total", got["Total"].(*big.Rat).Cmp(big.NewRat(50, 1)) == 0},
		{"HasErrors", got["HasErrors"] == false},
		{"CurrencyRate", got["CurrencyRate"].(*big.Rat).Cmp(big.NewRat(1234567891, 10000000000)) == 0},
		{"Date", got["Date"].(time.Time).Equal(time.Date(2018, 10, 20, 0, 0, 0, 0, time.UTC))},
		{"DueDate", got["DueDate"].(time.Time).Equal(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC))},
		{"UpdatedDateUTC", got["UpdatedDateUTC"].(time.Time).UnixMilli() == 13*3600_000-1}, // plus the offset
		{"LineItems", len(got["LineItems"].(map[string]any)["array"].([]any)) == 0},
		{"Payments", got["Payments"] == nil},
		{"Reference", got["Reference"] == "😀 é/"},
		{"_extracted_at", got["_extracted_at"].(time.Time).UnixMilli() == -5},
		{"_tenant_id", got["_tenant_id"] == "tenant"},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s: decoded %v", ch.field, got[ch.field])
		}
	}
}

// TestBadValues: every value that does not fit its schema is an error naming the stream and the
// field, never a silent change.
func TestBadValues(t *testing.T) {
	tests := []struct {
		name, stream, raw string
		path, msg         string
	}{
		{"string for a decimal", "invoices", `{"Total":"forty"}`, "Total", `want a number, got the string "forty"`},
		{"bool for a decimal", "invoices", `{"Total":true}`, "Total", "want a number, got a boolean"},
		{"object for a string", "invoices", `{"InvoiceNumber":{"Value":"INV-1"}}`, "InvoiceNumber", "want a string, got an object"},
		{"array for a string", "invoices", `{"InvoiceNumber":["INV-1"]}`, "InvoiceNumber", "want a string, got an array"},
		{"object for a decimal", "invoices", `{"Total":{"Value":1}}`, "Total", "want a number, got an object"},
		{"string for a record", "invoices", `{"Contact":"Ridgeway"}`, "Contact", "want an object, got a string"},
		{"string for an array", "invoices", `{"LineItems":"none"}`, "LineItems", "want an array, got a string"},
		{"blank string for a decimal", "invoices", `{"Total":" "}`, "Total", `want a number, got the string " "`},
		{"date before its offset", "invoices", `{"Date":"\/Date(1397390400000+0000)\/"}`, "Date", "is not midnight UTC (2014-04-13T12:00:00.000Z)"},
		{"date off by its offset", "invoices", `{"Date":"\/Date(1397347200000+1200)\/"}`, "Date", "is not midnight UTC (2014-04-13T12:00:00.000Z)"},
		{"malformed offset", "invoices", `{"UpdatedDateUTC":"\/Date(1397390400000+120)\/"}`, "UpdatedDateUTC", "want a sign and hh or hhmm"},
		{"empty value in an array", "invoices", `{"LineItems":[{},""]}`, "LineItems[1]", `"" (an empty value of another type), and the schema does not allow null in this array`},
		{"empty object in an array of strings", "bank_transactions", `{"ValidationErrors":[{"Message":{}}],"LineItems":[[]]}`, "LineItems[0]", "[] (an empty value of another type), and the schema does not allow null in this array"},
		{"number for a boolean", "invoices", `{"HasErrors":1}`, "HasErrors", "want a boolean, got a number"},
		{"string for a boolean", "invoices", `{"HasErrors":"yes"}`, "HasErrors", `want a boolean, got the string "yes"`},
		{"array for a record", "invoices", `{"Contact":[{"Name":"Ridgeway"}]}`, "Contact", "want an object, got an array"},
		{"object for an array", "invoices", `{"LineItems":{"Description":"x"}}`, "LineItems", "want an array, got an object"},
		{"number for a date", "invoices", `{"Date":1539993600000}`, "Date", "want a date string, got a number"},
		{"too many decimals", "invoices", `{"LineItems":[{},{},{"UnitAmount":1.12345}]}`, "LineItems[2].UnitAmount", "1.12345 has 5 decimal places; the schema holds 4"},
		{"too many rate decimals", "invoices", `{"LineItems":[{},{},{}],"CurrencyRate":1.123456789012}`, "CurrencyRate", "1.123456789012 has 12 decimal places; the schema holds 10"},
		{"too many digits", "invoices", `{"Total":1234567890123456789.5}`, "Total", "has 19 integer digits; the schema holds 18"},
		{"non-midnight date", "invoices", `{"DueDate":"\/Date(1546128000001+0000)\/"}`, "DueDate", "is not midnight UTC (2018-12-30T00:00:00.001Z)"},
		{"bad /Date/", "invoices", `{"UpdatedDateUTC":"\/Date(12x)\/"}`, "UpdatedDateUTC", `want "/Date(milliseconds±hhmm)/"`},
		{"not a date", "invoices", `{"UpdatedDateUTC":"soon"}`, "UpdatedDateUTC", "neither"},
		{"finer than ms", "invoices", `{"UpdatedDateUTC":"2018-11-02T16:31:30.1234567"}`, "UpdatedDateUTC", "finer than a millisecond"},
		{"long out of range", "journals", `{"JournalNumber":9223372036854775808}`, "JournalNumber", "out of the range of a long"},
		{"long not whole", "journals", `{"JournalNumber":12.5}`, "JournalNumber", "12.5 is not a whole number"},
		{"null in an array", "invoices", `{"LineItems":[{},null]}`, "LineItems[1]", "does not allow null"},
		{"nested wrong type", "invoices", `{"Payments":[{"Invoice":{"LineItems":[{"Tracking":[{"Name":{"x":7}}]}]}}]}`, "Payments[0].Invoice.LineItems[0].Tracking[0].Name", "want a string, got an object"},
		{"duplicate field", "invoices", `{"Total":1,"Total":2}`, "Total", "occurs twice"},
		{"lone surrogate", "invoices", `{"Reference":"\ud800"}`, "Reference", "lone UTF-16 surrogate"},
		{"invalid UTF-8", "invoices", "{\"Reference\":\"\xff\"}", "", "invalid UTF-8"},
		{"malformed JSON", "invoices", `{"Total":1,}`, "", "invalid JSON at offset 11"},
		{"trailing data", "invoices", `{} {}`, "", "data after the record"},
		{"not an object", "invoices", `[1]`, "", "want an object, got an array"},
		{"empty input", "invoices", ``, "", "unexpected end of input"},
	}
	codecs := map[string]*Codec{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := codecs[tt.stream]
			if c == nil {
				c = mustCodec(t, tt.stream)
				codecs[tt.stream] = c
			}
			dst := []byte("keep")
			out, err := c.AppendValue(dst, []byte(tt.raw), "tenant", time.Now())
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *FieldError", err, err)
			}
			if fe.Stream != tt.stream || fe.Path != tt.path || !strings.Contains(fe.Err.Error(), tt.msg) {
				t.Errorf("got stream %q path %q err %q\nwant %q %q %q", fe.Stream, fe.Path, fe.Err, tt.stream, tt.path, tt.msg)
			}
			want := tt.stream + ": "
			if tt.path != "" {
				want += tt.path + ": "
			}
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("message %q does not start with %q", err, want)
			}
			if string(out) != "keep" {
				t.Errorf("dst changed to %q on error", out)
			}
		})
	}
}

// TestMismatches covers every kind of mismatch between Xero's JSON and the schema that is not an
// error, with the values written as Xero writes them: what is read, and what is written as null
// and kept in _unknown_fields (the rest are in TestBadValues). Each record is also checked by the
// oracle, which reads the JSON by the same rules with its own code.
func TestMismatches(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	rat := func(s string) *big.Rat { r, _ := new(big.Rat).SetString(s); return r }
	tests := []struct {
		name, stream, raw string
		field             string
		want              any    // the decoded value of field; nil for null
		kept              string // the record's _unknown_fields, "" for null
	}{
		// Read.
		{"number for a string", "receipts", `{"ReceiptNumber":1}`, "ReceiptNumber", "1", ""},
		{"number text kept exactly", "invoices", `{"Reference":108.60}`, "Reference", "108.60", ""},
		{"negative number with exponent for a string", "invoices", `{"Reference":-1E+3}`, "Reference", "-1E+3", ""},
		{"boolean for a string", "invoices", `{"Reference":false}`, "Reference", "false", ""},
		{"quoted money", "invoices", `{"Total":"108.6"}`, "Total", rat("108.6"), ""},
		{"whole-number money", "invoices", `{"Total":0}`, "Total", rat("0"), ""},
		{"money with one decimal", "invoices", `{"AmountDue":108.6}`, "AmountDue", rat("108.6"), ""},
		{"quoted integer", "journals", `{"JournalNumber":"42"}`, "JournalNumber", int64(42), ""},
		{"quoted boolean", "invoices", `{"HasErrors":"False"}`, "HasErrors", false, ""},
		{"empty object for a record", "organisations", `{"PaymentTerms":{}}`, "PaymentTerms", map[string]any{}, ""},
		{"date with +1200", "invoices", `{"Date":"\/Date(1397390400000+1200)\/"}`, "Date", day(2014, 4, 14), ""},
		{"date with +1300", "invoices", `{"DueDate":"\/Date(1541156400000+1300)\/"}`, "DueDate", day(2018, 11, 3), ""},
		{"timestamp with +1200", "invoices", `{"UpdatedDateUTC":"\/Date(1221517731500+1200)\/"}`, "UpdatedDateUTC", time.UnixMilli(1221560931500).UTC(), ""},
		{"timestamp with -0500", "payments", `{"UpdatedDateUTC":"\/Date(1221578931500-0500)\/"}`, "UpdatedDateUTC", time.UnixMilli(1221560931500).UTC(), ""},
		// Xero's "no date": null, and not kept.
		{"no date in a date", "invoices", `{"FullyPaidOnDate":"\/Date(0+0000)\/"}`, "FullyPaidOnDate", nil, ""},
		{"no date in a timestamp", "invoices", `{"UpdatedDateUTC":"\/Date(0)\/"}`, "UpdatedDateUTC", nil, ""},
		// Empty values of another type: null, kept as Xero wrote them.
		{"empty string for a date", "invoices", `{"DueDate":""}`, "DueDate", nil, `{"DueDate":""}`},
		{"empty string for a timestamp", "invoices", `{"UpdatedDateUTC":""}`, "UpdatedDateUTC", nil, `{"UpdatedDateUTC":""}`},
		{"empty string for a decimal", "invoices", `{"CurrencyRate":""}`, "CurrencyRate", nil, `{"CurrencyRate":""}`},
		{"empty string for an integer", "journals", `{"JournalNumber":""}`, "JournalNumber", nil, `{"JournalNumber":""}`},
		{"empty string for a boolean", "invoices", `{"HasErrors":""}`, "HasErrors", nil, `{"HasErrors":""}`},
		{"empty string for a record", "invoices", `{"Contact":""}`, "Contact", nil, `{"Contact":""}`},
		{"empty string for an array", "invoices", `{"LineItems":"" }`, "LineItems", nil, `{"LineItems":""}`},
		{"empty array for a record", "invoices", `{"Contact":[ ]}`, "Contact", nil, `{"Contact":[ ]}`},
		{"empty object for an array", "invoices", `{"LineItems":{}}`, "LineItems", nil, `{"LineItems":{}}`},
		{"empty object for a string", "invoices", `{"Reference":{}}`, "Reference", nil, `{"Reference":{}}`},
		{"empty array for a string", "invoices", `{"Reference":[]}`, "Reference", nil, `{"Reference":[]}`},
		{"empty object for a decimal", "invoices", `{"Total":{}}`, "Total", nil, `{"Total":{}}`},
		{"empty array for a date", "invoices", `{"Date":[]}`, "Date", nil, `{"Date":[]}`},
		{"kept next to an unknown field", "invoices", `{"DateString":"2014-04-14T00:00:00","Total":""}`, "Total", nil, `{"DateString":"2014-04-14T00:00:00","Total":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCodec(t, tt.stream)
			s := parsedSchema(t, c)
			roundTrip(t, c, s, []byte(tt.raw))
			bin, err := c.AppendValue(nil, []byte(tt.raw), "tenant", time.UnixMilli(0))
			if err != nil {
				t.Fatal(err)
			}
			got := decodeAvro(t, s, bin)
			v := got[tt.field]
			if w, ok := v.(map[string]any); ok && len(w) == 1 { // a union's branch
				for _, inner := range w {
					v = inner
				}
			}
			switch want := tt.want.(type) {
			case *big.Rat:
				if r, ok := v.(*big.Rat); !ok || r.Cmp(want) != 0 {
					t.Errorf("%s = %v, want %s", tt.field, v, want.RatString())
				}
			case time.Time:
				if tm, ok := v.(time.Time); !ok || !tm.Equal(want) {
					t.Errorf("%s = %v, want %v", tt.field, v, want)
				}
			case map[string]any:
				if m, ok := v.(map[string]any); !ok || m[fieldUnknownFields] != nil {
					t.Errorf("%s = %v, want a record", tt.field, v)
				}
			default:
				if v != tt.want {
					t.Errorf("%s = %#v, want %#v", tt.field, v, tt.want)
				}
			}
			var wantKept any
			if tt.kept != "" {
				wantKept = tt.kept
			}
			if got[fieldUnknownFields] != wantKept {
				t.Errorf("_unknown_fields = %v, want %v", got[fieldUnknownFields], wantKept)
			}
		})
	}
}

// TestSchemaShapes runs the transcoder on a hand-written schema with the types the generated ones
// do not use (int, non-nullable fields, a nullable array item, a record without
// _unknown_fields).
func TestSchemaShapes(t *testing.T) {
	value := `{"type":"record","name":"R","namespace":"x","fields":[
		{"name":"I","type":"int"},
		{"name":"Items","type":{"type":"array","items":["null","long"]}},
		{"name":"Inner","type":{"type":"record","name":"In","fields":[{"name":"A","type":["null","string"],"default":null}]}},
		{"name":"U","type":["string","null"]},
		{"name":"_unknown_fields","type":["null","string"],"default":null}]}`
	key := `{"type":"record","name":"RKey","fields":[{"name":"TenantID","type":"string"},{"name":"ID","type":"string"}]}`
	c, err := newCodec("test", "ID", value, key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := hamba.Parse(value)
	if err != nil {
		t.Fatal(err)
	}
	good := `{"I":-2147483648,"Items":[1,null,-3],"Inner":{"A":"a"},"U":"u"}`
	bin, err := c.AppendValue(nil, []byte(good), "t", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := hamba.Unmarshal(s, bin, &got); err != nil {
		t.Fatal(err)
	}
	if got["I"] != -2147483648 || len(got["Items"].([]any)) != 3 || got["Items"].([]any)[1] != nil || got["U"] != "u" {
		t.Errorf("decoded %v", got)
	}
	for _, tt := range []struct{ raw, path, msg string }{
		{`{"I":2147483648,"Items":[],"Inner":{}}`, "I", "out of the range of an int"},
		{`{"Items":[],"Inner":{}}`, "I", "missing, and the schema does not allow null"},
		{`{"I":null,"Items":[],"Inner":{}}`, "I", "null, and the schema does not allow null"},
		{`{"I":1,"Items":[],"Inner":{"B":1}}`, "Inner", "field \"B\" is not in the schema of x.In, which has no _unknown_fields"},
		{`{"I":"","Items":[],"Inner":{}}`, "I", `"" (an empty value of another type), and the schema does not allow null`},
		{`{"I":1,"Items":[],"Inner":{"A":{}}}`, "Inner.A", "{} (an empty value of another type): the record has no _unknown_fields field to keep it"},
	} {
		_, err := c.AppendValue(nil, []byte(tt.raw), "t", time.Now())
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != tt.path || !strings.Contains(fe.Err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %s: %s", tt.raw, err, tt.path, tt.msg)
		}
	}
	for _, bad := range []string{
		`{"type":"record","name":"R","fields":[{"name":"F","type":"double"}]}`,
		`{"type":"record","name":"R","fields":[{"name":"F","type":["null","string","long"]}]}`,
		`{"type":"record","name":"R","fields":[{"name":"F","type":{"type":"bytes","logicalType":"decimal","precision":39,"scale":2}}]}`,
		`{"type":"record","name":"R","fields":[{"name":"_tenant_id","type":"long"}]}`,
		`{"type":"record","name":"R","fields":[{"name":"_unknown_fields","type":["null","string"]},{"name":"F","type":"string"}]}`,
		`"string"`,
	} {
		if _, err := newCodec("test", "ID", bad, key); err == nil {
			t.Errorf("schema accepted: %s", bad)
		}
	}
}

func TestAppendValueTenant(t *testing.T) {
	c := mustCodec(t, "currencies")
	for _, tenant := range []string{"", "\xff"} {
		_, err := c.AppendValue(nil, []byte(`{"Code":"NZD"}`), tenant, time.Now())
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != fieldTenantID {
			t.Errorf("tenant %q: %v", tenant, err)
		}
	}
}

func TestAppendKey(t *testing.T) {
	for _, st := range streams.All() {
		c := mustCodec(t, st.Name)
		ks, err := hamba.Parse(c.KeySchema())
		if err != nil {
			t.Fatal(err)
		}
		bin, err := c.AppendKey([]byte{0xAA}, "tenant-1", "key-é")
		if err != nil {
			t.Fatal(err)
		}
		if bin[0] != 0xAA {
			t.Fatal("AppendKey did not append")
		}
		var got map[string]any
		if err := hamba.Unmarshal(ks, bin[1:], &got); err != nil {
			t.Fatal(err)
		}
		if got["TenantID"] != "tenant-1" || got[st.PrimaryKey] != "key-é" || len(got) != 2 {
			t.Errorf("%s: key decodes to %v", st.Name, got)
		}
	}
	c := mustCodec(t, "tax_rates")
	for _, bad := range [][2]string{{"", "TAX001"}, {"t", ""}, {"t", "\xff"}} {
		_, err := c.AppendKey(nil, bad[0], bad[1])
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("AppendKey(%q, %q) = %v, want a *FieldError", bad[0], bad[1], err)
		}
	}
}

// TestCompareCatchesDifferences makes sure the round-trip comparison can fail: a decoded value
// that differs from the JSON in any way is reported.
func TestCompareCatchesDifferences(t *testing.T) {
	c := mustCodec(t, "invoices")
	s := parsedSchema(t, c)
	m := avrocheck.Meta{TenantID: "t", ExtractedAt: time.UnixMilli(7)}
	base := `{"InvoiceID":"x","Total":46.00,"Date":"\/Date(1539993600000+0000)\/","UpdatedDateUTC":"\/Date(1541176290160)\/","LineItems":[{"Quantity":1.5}],"Extra":1}`
	bin, err := c.AppendValue(nil, []byte(base), m.TenantID, m.ExtractedAt)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeAvro(t, s, bin)
	if diffs := avrocheck.Compare(s, parseJSON(t, []byte(base)), got, m); len(diffs) != 0 {
		t.Fatalf("identical input reported as different: %v", diffs)
	}
	for _, other := range []string{
		`{"InvoiceID":"y","Total":46.00,"Date":"\/Date(1539993600000+0000)\/","UpdatedDateUTC":"\/Date(1541176290160)\/","LineItems":[{"Quantity":1.5}],"Extra":1}`,
		`{"InvoiceID":"x","Total":46.01,"Date":"\/Date(1539993600000+0000)\/","UpdatedDateUTC":"\/Date(1541176290160)\/","LineItems":[{"Quantity":1.5}],"Extra":1}`,
		`{"InvoiceID":"x","Total":46.00,"Date":"\/Date(1540080000000+0000)\/","UpdatedDateUTC":"\/Date(1541176290160)\/","LineItems":[{"Quantity":1.5}],"Extra":1}`,
		`{"InvoiceID":"x","Total":46.00,"Date":"\/Date(1539993600000+0000)\/","UpdatedDateUTC":"\/Date(1541176290161)\/","LineItems":[{"Quantity":1.5}],"Extra":1}`,
		`{"InvoiceID":"x","Total":46.00,"Date":"\/Date(1539993600000+0000)\/","UpdatedDateUTC":"\/Date(1541176290160)\/","LineItems":[{"Quantity":1.5},{}],"Extra":1}`,
		`{"InvoiceID":"x","Total":46.00,"Date":"\/Date(1539993600000+0000)\/","UpdatedDateUTC":"\/Date(1541176290160)\/","LineItems":[{"Quantity":1.5}],"Extra":2}`,
		`{"InvoiceID":"x","Total":46.00,"Date":"\/Date(1539993600000+0000)\/","UpdatedDateUTC":"\/Date(1541176290160)\/","LineItems":[{"Quantity":1.5}]}`,
		`{"Total":46.00,"Date":"\/Date(1539993600000+0000)\/","UpdatedDateUTC":"\/Date(1541176290160)\/","LineItems":[{"Quantity":1.5}],"Extra":1}`,
	} {
		if diffs := avrocheck.Compare(s, parseJSON(t, []byte(other)), got, m); len(diffs) == 0 {
			t.Errorf("difference not reported for %s", other)
		}
	}
	if diffs := avrocheck.Compare(s, parseJSON(t, []byte(base)), got, avrocheck.Meta{TenantID: "u", ExtractedAt: m.ExtractedAt}); len(diffs) == 0 {
		t.Error("a different tenant was not reported")
	}
}

// TestConcurrentUse encodes from several goroutines with one codec (run with -race): each result
// must equal the one encoded alone.
func TestConcurrentUse(t *testing.T) {
	c := mustCodec(t, "invoices")
	s := parsedSchema(t, c)
	records := generatedRecords(t, s, 8, 42, 2)
	at := time.UnixMilli(99)
	want := make([][]byte, len(records))
	for k, raw := range records {
		var err error
		if want[k], err = c.AppendValue(nil, raw, "tenant", at); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			var buf []byte
			for round := 0; round < 20; round++ {
				for k, raw := range records {
					var err error
					if buf, err = c.AppendValue(buf[:0], raw, "tenant", at); err != nil {
						errs <- err
						return
					}
					if string(buf) != string(want[k]) {
						errs <- errors.New("a concurrent encoding differs from the sequential one")
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestValidValueDepth: the nesting AppendValue refuses, AppendValidValue refuses with the same
// error, wherever it is (a known field's records and arrays, an unknown field, an empty value),
// and the deepest nesting it takes, it takes.
func TestValidValueDepth(t *testing.T) {
	c := mustCodec(t, "invoices")
	at := time.UnixMilli(1)
	nest := func(levels int) string { return strings.Repeat("[", levels) + strings.Repeat("]", levels) }
	for _, tt := range []struct {
		name string
		rec  string
		ok   bool
	}{
		// The record is the first level, so an unknown field holds maxDepth-1 more.
		{"unknown field at the limit", `{"X":` + nest(maxDepth-1) + `}`, true},
		{"unknown field past the limit", `{"X":` + nest(maxDepth) + `}`, false},
		{"unknown field in a line item past the limit", `{"LineItems":[{"X":` + nest(maxDepth-2) + `}]}`, false},
		{"line items past the limit", `{"LineItems":` + nest(maxDepth) + `}`, false},
		{"empty value past the limit", `{"Contact":{"Addresses":[{"City":` + nest(maxDepth-3) + `}]}}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin, err := c.AppendValue(nil, []byte(tt.rec), "tenant", at)
			vbin, verr := c.AppendValidValue(nil, []byte(tt.rec), "tenant", at)
			if fmt.Sprint(verr) != fmt.Sprint(err) || !bytes.Equal(vbin, bin) {
				t.Fatalf("AppendValidValue: %x, %v; AppendValue: %x, %v", vbin, verr, bin, err)
			}
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "nested deeper than")) {
				t.Fatalf("err = %v, want nested deeper than %d", err, maxDepth)
			}
		})
	}
}
