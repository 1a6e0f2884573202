package avro

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	hamba "github.com/hamba/avro/v2"

	"github.com/xero-kafka/xero-kafka/internal/avrocheck"
)

// FuzzAppendValue feeds arbitrary bytes to the transcoder. It must never panic; it must answer
// with a *FieldError or with Avro that an independent decoder reads back as exactly the JSON.
// Where the bytes are one valid JSON value (invalid UTF-8 and duplicate names allowed, as the
// xero package's split lets them through), AppendValidValue must answer exactly the same.
func FuzzAppendValue(f *testing.F) {
	names := []string{"invoices", "journals", "currencies", "bank_transfers"}
	codecs := make([]*Codec, len(names))
	schemas := make([]hamba.Schema, len(names))
	for k, name := range names {
		codecs[k] = mustCodec(f, name)
		schemas[k] = parsedSchema(f, codecs[k])
		for _, raw := range generatedRecords(f, schemas[k], 2, uint64(k+100), 1) {
			f.Add(uint8(k), raw)
		}
	}
	for _, s := range []string{
		`{}`, `{"Total":"50.00","HasErrors":"false"}`, `{"LineItems":[{"Tracking":[{}]}],"X":[{"y":null}]}`,
		`{"JournalNumber":1e3,"JournalLines":[{"NetAmount":-0.00}]}`, `{"Code":"NZD","Description":"\u00e9"}`,
		`{"Date":"\/Date(-62135596800000)\/"}`, `{"Payments":[{"Invoice":{"Payments":[{"Amount":1}]}}]}`,
		// as recorded from Xero: offsets, no date, whole-number money, numbers for strings, {}
		`{"Date":"\/Date(1397390400000+1200)\/","DateString":"2014-04-14T00:00:00","UpdatedDateUTC":"\/Date(1221517731500+1200)\/"}`,
		`{"DueDate":"\/Date(1541156400000+1300)\/","FullyPaidOnDate":"\/Date(0+0000)\/","Total":0,"AmountDue":108.6,"CurrencyRate":1}`,
		`{"InvoiceNumber":1,"Reference":true,"Contact":{"Addresses":[{"City":""}],"SkypeUserName":""},"LineItems":[{"ValidationErrors":[],"Tracking":[{"Options":[]}]}]}`,
		`{"DueDate":"","Total":{},"Contact":[],"LineItems":{},"Reference":[],"HasErrors":""}`,
	} {
		f.Add(uint8(0), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		k := int(which) % len(codecs)
		c, s := codecs[k], schemas[k]
		m := avrocheck.Meta{TenantID: "tenant", ExtractedAt: time.UnixMilli(1)}
		bin, err := c.AppendValue(nil, raw, m.TenantID, m.ExtractedAt)
		if syntaxValid(raw) {
			// As the connector calls it, on records whose syntax the page's split checked.
			vbin, verr := c.AppendValidValue(nil, raw, m.TenantID, m.ExtractedAt)
			if !bytes.Equal(vbin, bin) || fmt.Sprint(verr) != fmt.Sprint(err) {
				t.Fatalf("%q: AppendValidValue gives %x, %v; AppendValue %x, %v", raw, vbin, verr, bin, err)
			}
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Stream != names[k] || !strings.HasPrefix(err.Error(), names[k]+": ") {
				t.Fatalf("error %v (%T) is not a *FieldError of %s", err, err, names[k])
			}
			return
		}
		var got map[string]any
		if err := hamba.Unmarshal(s, bin, &got); err != nil {
			t.Fatalf("accepted %q but hamba cannot decode the result: %v", raw, err)
		}
		if diffs := avrocheck.Compare(s, parseJSON(t, raw), got, m); len(diffs) > 0 {
			t.Fatalf("accepted %q but the Avro differs:\n%s", raw, strings.Join(diffs, "\n"))
		}
	})
}

// FuzzSmallDecimal checks that the one-pass reading of short numbers gives what the general one
// gives, wherever it takes a number.
func FuzzSmallDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0", "-0.00", "4558.74", "1.000000", "00012.5", "99999999999999.9999", "1e3", "12.34567", "-185.5630"} {
		f.Add(s, 18, 4)
	}
	f.Fuzz(func(t *testing.T, num string, precision, scale int) {
		precision = 1 + abs(precision)%maxPrecision
		scale = abs(scale) % (precision + 1)
		if end, err := scanNumber([]byte(num), 0); err != nil || end != len(num) {
			return
		}
		v, neg, ok := smallDecimal([]byte(num), precision, scale)
		if !ok {
			return
		}
		u, wantNeg, err := parseDecimalSlow([]byte(num), precision, scale)
		if err != nil || u != (uint128{lo: v}) || neg != wantNeg {
			t.Fatalf("%s as decimal(%d,%d): %d %v, want %v %v %v", num, precision, scale, v, neg, u, wantNeg, err)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// syntaxValid reports whether raw is one valid JSON value, read as the xero package's split
// reads records: duplicate names and invalid UTF-8 allowed.
func syntaxValid(raw []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if _, err := dec.ReadValue(); err != nil {
		return false
	}
	_, err := dec.ReadToken()
	return err == io.EOF
}
