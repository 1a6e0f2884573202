package avro

import (
	"errors"
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
		{"UpdatedDateUTC", got["UpdatedDateUTC"].(time.Time).UnixMilli() == -1},
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
		{"number for a string", "invoices", `{"InvoiceNumber":42}`, "InvoiceNumber", "want a string, got a number"},
		{"object for a string", "invoices", `{"InvoiceNumber":{}}`, "InvoiceNumber", "want a string, got an object"},
		{"number for a boolean", "invoices", `{"HasErrors":1}`, "HasErrors", "want a boolean, got a number"},
		{"string for a boolean", "invoices", `{"HasErrors":"yes"}`, "HasErrors", `want a boolean, got the string "yes"`},
		{"array for a record", "invoices", `{"Contact":[]}`, "Contact", "want an object, got an array"},
		{"object for an array", "invoices", `{"LineItems":{}}`, "LineItems", "want an array, got an object"},
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
		{"nested wrong type", "invoices", `{"Payments":[{"Invoice":{"LineItems":[{"Tracking":[{"Name":7}]}]}}]}`, "Payments[0].Invoice.LineItems[0].Tracking[0].Name", "want a string, got a number"},
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
