package xero

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// referenceSplit reads body with jsontext (duplicate names and invalid UTF-8 allowed): whether it
// is one valid JSON value and nothing else, whether that value is an object, and the elements of
// its wrapper arrays in order.
func referenceSplit(body []byte, wrapper string) (valid, object bool, records [][]byte) {
	opts := []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}
	dec := jsontext.NewDecoder(bytes.NewReader(body), opts...)
	if _, err := dec.ReadValue(); err != nil {
		return false, false, nil
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return false, false, nil
	}
	dec = jsontext.NewDecoder(bytes.NewReader(body), opts...)
	if tok, _ := dec.ReadToken(); tok.Kind() != '{' {
		return true, false, nil
	}
	for dec.PeekKind() != '}' {
		name, _ := dec.ReadToken()
		if name.String() != wrapper || dec.PeekKind() != '[' {
			dec.SkipValue()
			continue
		}
		dec.ReadToken()
		for dec.PeekKind() != ']' {
			v, _ := dec.ReadValue()
			records = append(records, bytes.Clone(v))
		}
		dec.ReadToken()
	}
	return true, true, records
}

// FuzzSplit checks the split against jsontext: a body jsontext rejects is a *bodyError (read
// again), one it accepts never is, and a page read has the records jsontext finds.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		pageBody("Invoices", testRecords(3), `{"page":1,"pageSize":100,"pageCount":1,"itemCount":3}`),
		`{"Invoices":[` + recordedInvoice + `]}`,
		`{"Invoices":[{"a":"\ud800"},{"b":"\xff"}, {"c":[1,-0.5e+7,{"d":null}]}]}`,
		`{"Invoices":null,"DateTimeUTC":"\/Date(0+0000)\/"}`,
		`{"Invoices":[{"a":01}]}`,
		`{"Invoices":[{"a":"x` + "\x01" + `"}]}`,
		`{"Invoices":[{"a":1,}]}`,
		`{"Invoices":[1]}`,
		`{"\u0049nvoices":[{}]} `,
		`{"Invoices":[{}]}{}`,
		`[{"Invoices":[]}]`,
		`{"Invoices":[{"a":[[[[]]]]}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		valid, object, want := referenceSplit([]byte(body), "Invoices")
		p, err := splitPage([]byte(body), "Invoices", []string{"a"})
		var be *bodyError
		switch {
		case !valid || !object:
			if !errors.As(err, &be) {
				t.Fatalf("%q: jsontext rejects it as a page (valid %v), split gives %v, want a body error", body, valid, err)
			}
			return
		case errors.As(err, &be):
			t.Fatalf("%q: jsontext accepts it, split gives %v", body, err)
		case err != nil:
			return // a well-formed body of the wrong shape
		}
		got := make([][]byte, len(p.Records))
		for i, r := range p.Records {
			got[i] = r
		}
		if !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("%q: records %q, jsontext reads %q", body, got, want)
		}
	})
}

// TestSplitDepth: the split takes as many levels of nesting as jsontext, and no more.
func TestSplitDepth(t *testing.T) {
	for _, depth := range []int{maxNesting, maxNesting + 1} {
		// The envelope, the array and the record are three levels.
		arrays := depth - 3
		body := `{"Invoices":[{"a":` + strings.Repeat("[", arrays) + strings.Repeat("]", arrays) + `}]}`
		valid, _, _ := referenceSplit([]byte(body), "Invoices")
		if valid != (depth == maxNesting) {
			t.Fatalf("jsontext reads %d levels as valid: %v", depth, valid)
		}
		if _, err := splitPage([]byte(body), "Invoices", nil); valid != (err == nil) {
			t.Errorf("%d levels: jsontext valid %v, split error %v", depth, valid, err)
		}
	}
}
