package connector

import (
	"testing"

	"github.com/xero-kafka/xero-kafka/streams"
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
			if m.hash == 0 {
				t.Error("no hash")
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
