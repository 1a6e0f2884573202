package xerosim

import (
	"bytes"
	"strconv"
)

// Shapes recorded from Xero's real API that the simulator's default output does not have. With
// AsRecorded(share), that share of records (drawn per record version, so a record keeps its
// shape until it changes) is written the way recorded responses are:
//
//   - every /Date() value carries the organisation's offset, +1200 or +1300, and its
//     milliseconds are the instant minus that offset (Xero means the milliseconds plus the
//     offset: "/Date(1397390400000+1200)/" is 2014-04-14);
//   - money and rates without trailing zeros (0, 108.6, 1);
//   - fields absent rather than null (CurrencyRate on a fifth of invoices);
//   - "/Date(0+0000)/" where there is no date (FullyPaidOnDate of an invoice not paid);
//   - a full Contact inside transactions, with mostly empty addresses, phones and groups;
//   - Attachments next to HasAttachments: true, non-empty CreditNotes inside invoices;
//   - ValidationErrors: [] on line items and Options: [] on their tracking;
//   - {} for an empty object (Organisation.PaymentTerms), a number where the spec says string
//     (ReceiptNumber), quoted numbers and booleans (BatchPayment.TotalAmount, IsReconciled);
//   - fields the spec does not list (DateString, HasValidationErrors, SkypeUserName, ID, and
//     Xero's misspelt TaxNumbeType).

// shape is how the record being written looks: as by default, or as recorded.
type shape struct {
	on bool
	r  rng // the choices within a recorded record
}

// recordedSalt separates the draws of the shapes from every other draw of a record.
const recordedSalt = 0x7ec0_4de5

// begin decides the shape of record i of stream s before it is written. Every renderer calls it
// first: the writer's date and money forms are set here for the whole record.
func (c *rctx) begin(s streamID, i int) {
	w := c.w
	c.shape = shape{}
	w.dateOffset, w.offsetText, w.trimMoney = 0, "", false
	if c.t.recorded <= 0 {
		return
	}
	var ver uint32
	if s != sJournals {
		ver = c.t.tables[s].ver[i]
	}
	r := newRNG(mix(mix3(c.t.seed^recordedSalt, uint64(s), uint64(i)), uint64(ver)))
	if !r.chance(c.t.recorded) {
		return
	}
	c.shape = shape{on: true, r: r}
	w.dateOffset, w.offsetText = 12*3600_000, "+1200"
	if c.shape.r.chance(0.5) {
		w.dateOffset, w.offsetText = 13*3600_000, "+1300"
	}
	w.trimMoney = true
}

// noDate writes Xero's "no date".
func (w *jw) noDate(k string) {
	w.key(k)
	w.b = append(w.b, `"\/Date(0+0000)\/"`...)
}

// trimZeros drops the trailing zeros of the decimal number written at w.b[start:], and its point
// if nothing is left after it: 40.00 becomes 40, 108.60 becomes 108.6.
func (w *jw) trimZeros(start int) {
	if bytes.IndexByte(w.b[start:], '.') < 0 {
		return
	}
	for w.b[len(w.b)-1] == '0' {
		w.b = w.b[:len(w.b)-1]
	}
	if w.b[len(w.b)-1] == '.' {
		w.b = w.b[:len(w.b)-1]
	}
}

// contactFull writes the Contact object (its value; the caller writes the key) Xero embeds in
// transactions as recorded: the whole contact, with mostly empty addresses and phones, from its
// stable part only (its current version would change the transaction without a new
// UpdatedDateUTC).
func (c *rctx) contactFull(k int) {
	t, w := c.t, c.w
	r := t.rec(sContacts, k)
	fn, ln := pick(&r, firstNames), pick(&r, lastNames)
	supplier, customer := r.chance(0.4), r.chance(0.8)
	p := t.prof
	w.obj()
	w.id("ContactID", t.rid(sContacts, k))
	w.key("ContactNumber")
	w.b = append(w.b, `"C`...)
	w.b = appendPadded(w.b, int64(k+1), 5)
	w.b = append(w.b, '"')
	c.contactName("Name", k)
	w.str("FirstName", fn)
	w.str("LastName", ln)
	w.key("EmailAddress")
	w.b = append(w.b, '"')
	w.b = appendLower(w.b, fn)
	w.b = append(w.b, '.')
	w.b = appendLower(w.b, ln)
	w.b = strconv.AppendInt(w.b, int64(k+1), 10)
	w.b = append(w.b, `@example.com"`...)
	w.str("SkypeUserName", "")
	w.str("BankAccountDetails", "")
	if p.country == "NZ" || r.chance(0.3) {
		w.str("TaxNumbeType", "")
	}
	w.arr("Addresses")
	for _, typ := range []string{"POBOX", "STREET"} {
		w.elem()
		w.str("AddressType", typ)
		city := ""
		if typ == "POBOX" && r.chance(0.3) {
			city = p.places[0].city
		}
		for _, f := range []string{"AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4"} {
			w.str(f, "")
		}
		w.str("City", city)
		w.str("Region", "")
		w.str("PostalCode", "")
		w.str("Country", "")
		w.str("AttentionTo", "")
		w.end()
	}
	w.endArr()
	w.arr("Phones")
	for n, typ := range []string{"DDI", "DEFAULT", "FAX", "MOBILE"} {
		w.elem()
		w.str("PhoneType", typ)
		if n == 1 && r.chance(0.5) {
			w.key("PhoneNumber")
			w.b = append(w.b, '"')
			w.b = appendPadded(w.b, int64(r.intn(1000)), 3)
			w.b = append(w.b, '-')
			w.b = appendPadded(w.b, int64(r.intn(10000)), 4)
			w.b = append(w.b, '"')
			w.key("PhoneAreaCode")
			w.b = append(w.b, '"', byte('2'+r.intn(8)), '"')
			w.str("PhoneCountryCode", p.phoneCC)
		} else {
			w.str("PhoneNumber", "")
			w.str("PhoneAreaCode", "")
			w.str("PhoneCountryCode", "")
		}
		w.end()
	}
	w.endArr()
	w.arr("ContactGroups")
	if ng := t.n0(sContactGroups); ng > 0 && r.chance(0.4) {
		g := r.intn(ng)
		w.elem()
		w.id("ContactGroupID", t.rid(sContactGroups, g))
		w.str("Name", t.groupName(g))
		w.str("Status", "ACTIVE")
		w.emptyArr("Contacts")
		w.end()
	}
	w.endArr()
	w.boolean("IsSupplier", supplier)
	w.boolean("IsCustomer", customer)
	w.emptyArr("ContactPersons")
	w.boolean("HasValidationErrors", false)
	w.end()
}

// appendPadded appends v (not negative) with at least width digits.
func appendPadded(b []byte, v int64, width int) []byte {
	for p, n := int64(10), 1; n < width; p, n = p*10, n+1 {
		if v < p {
			b = append(b, '0')
		}
	}
	return strconv.AppendInt(b, v, 10)
}

// appendLower appends s in lower case (ASCII letters; names here are ASCII or keep their case).
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// attachments writes HasAttachments: true and the Attachments of record i of stream s, as
// recorded.
func (c *rctx) attachments(s streamID, i int, endpoint string) {
	w := c.w
	r := &c.shape.r
	w.boolean("HasAttachments", true)
	w.arr("Attachments")
	for n := 1 + r.intn(2); n > 0; n-- {
		id := makeUUID(mix(mix3(c.t.seed^recordedSalt, uint64(s), uint64(i)), uint64(n)))
		word := pick(r, attachmentWords)
		num := int64(1 + r.intn(999))
		w.elem()
		w.id("AttachmentID", id)
		start := w.openStr("FileName")
		w.b = appendFileName(w.b, word, num)
		w.closeStr(start)
		start = w.openStr("Url")
		w.b = append(w.b, "https://api.xero.com/api.xro/2.0/"...)
		w.b = append(w.b, endpoint...)
		w.b = append(w.b, '/')
		w.b = appendUUID(w.b, c.tb.id(i))
		w.b = append(w.b, "/Attachments/"...)
		w.b = appendFileName(w.b, word, num)
		w.closeStr(start)
		w.str("MimeType", "application/pdf")
		w.integer("ContentLength", int64(1000+r.intn(500_000)))
		w.end()
	}
	w.endArr()
}

var attachmentWords = []string{"receipt", "scan", "invoice", "quote"}

// appendFileName appends an attachment's file name: receipt-12.pdf.
func appendFileName(b []byte, word string, num int64) []byte {
	b = append(b, word...)
	b = append(b, '-')
	b = strconv.AppendInt(b, num, 10)
	return append(b, ".pdf"...)
}

// creditNotes writes the CreditNotes of an invoice as recorded: one credit note applied to it,
// summarised as Xero does, from the credit note's stable part.
func (c *rctx) creditNotes(invoiceTotal int64) {
	t, w := c.t, c.w
	nc := t.n0(sCreditNotes)
	if nc == 0 || !c.shape.r.chance(0.4) {
		w.emptyArr("CreditNotes")
		return
	}
	k := c.shape.r.intn(nc)
	d := c.otherDoc(sCreditNotes, k, t.creditNoteSales(k))
	w.arr("CreditNotes")
	w.elem()
	w.id("CreditNoteID", t.rid(sCreditNotes, k))
	w.numbered("CreditNoteNumber", "CN-", k+1)
	w.id("ID", t.rid(sCreditNotes, k))
	w.money("AppliedAmount", min(d.total, invoiceTotal), 2)
	w.isoDate("DateString", d.date)
	w.msDate("Date", d.date)
	w.emptyArr("LineItems")
	w.money("Total", d.total, 2)
	w.end()
	w.endArr()
}

// batchPayment writes the BatchPayment Xero embeds in payments, with the quoted amount and
// boolean of Xero's own example.
func (c *rctx) batchPayment(i int, account int, date, amount int64) {
	t, w := c.t, c.w
	w.objKey("BatchPayment")
	w.objKey("Account")
	c.accountID(account)
	w.end()
	w.id("BatchPaymentID", makeUUID(mix(mix3(t.seed^recordedSalt, uint64(sPayments), uint64(i)), kindBatch)))
	w.msDate("Date", date)
	w.str("Type", "RECBATCH")
	w.str("Status", "AUTHORISED")
	w.key("TotalAmount")
	w.b = append(w.b, '"')
	w.b = appendDecimal(w.b, amount, 2)
	w.b = append(w.b, '"')
	w.str("IsReconciled", "false")
	w.end()
}
