package xerosim

import (
	"fmt"
	"strconv"
)

// Sales and purchase documents: invoices, credit notes, quotes, purchase orders, repeating
// invoices and receipts.

func init() {
	defs[sInvoices].render = renderInvoice
	defs[sCreditNotes].render = renderCreditNote
	defs[sQuotes].render = renderQuote
	defs[sPurchaseOrders].render = renderPurchaseOrder
	defs[sRepeatingInvoices].render = renderRepeatingInvoice
	defs[sReceipts].render = renderReceipt
}

// invoiceSales reports whether invoice k is a sales invoice (ACCREC) rather than a bill.
func (t *tenant) invoiceSales(k int) bool {
	r := t.rec(sInvoices, k)
	return r.next()%10 < 6
}

// appendInvoiceNumber appends the number of invoice k: INV-0001 for a sales invoice, the
// supplier's SUP-123456 for a bill.
func (t *tenant) appendInvoiceNumber(b []byte, k int) []byte {
	if t.invoiceSales(k) {
		return appendPadded(append(b, "INV-"...), int64(k+1), 4)
	}
	r := t.rec(sInvoices, k)
	r.next()
	return strconv.AppendInt(append(b, "SUP-"...), int64(1000+r.intn(900000)), 10)
}

// invoiceNumber writes key: the number of invoice k.
func (c *rctx) invoiceNumber(key string, k int) {
	w := c.w
	start := w.openStr(key)
	w.b = c.t.appendInvoiceNumber(w.b, k)
	w.closeStr(start)
}

func (t *tenant) creditNoteSales(k int) bool {
	r := t.rec(sCreditNotes, k)
	return r.next()%10 < 6
}

// paymentDate is the date of payment j.
func (t *tenant) paymentDate(c *rctx, j int) int64 {
	s, k := t.paymentTarget(j)
	r := t.rec(sPayments, j)
	var base int64
	if s >= 0 {
		base = midnight(t.tables[s].initTS(k))
	}
	if j >= t.n0(sPayments) {
		base = midnight(t.tables[sPayments].initTS(j))
	}
	return base + int64(r.intn(20))*day
}

// livePayment reports whether payment j exists and is not deleted.
func (t *tenant) livePayment(j int) bool {
	return j >= 0 && j < t.tables[sPayments].len() && t.liveStatus(sPayments, j) == "AUTHORISED"
}

// paymentSummary writes the short payment Xero embeds in invoices and credit notes.
func (c *rctx) paymentSummary(j int, amount, rate int64) {
	w := c.w
	r := c.t.recVer(sPayments, j, c.t.tables[sPayments].ver[j])
	w.elem()
	w.id("PaymentID", c.t.rid(sPayments, j))
	w.msDate("Date", c.t.paymentDate(c, j))
	w.money("Amount", amount, 2)
	w.reference(&r)
	c.currencyRate(rate)
	w.boolean("HasAccount", false)
	w.boolean("HasValidationErrors", false)
	w.end()
}

func (c *rctx) dateTwins(key string, ms int64) {
	c.w.isoDate(key+"String", ms)
	c.w.msDate(key, ms)
}

func renderInvoice(c *rctx, i int) {
	c.begin(sInvoices, i)
	t, w := c.t, c.w
	sales := t.invoiceSales(i)
	d := c.makeDoc(sInvoices, i, sales)
	rv := t.recVer(sInvoices, i, c.ver(i))
	st := c.status(i)
	w.obj()
	if sales {
		w.str("Type", "ACCREC")
	} else {
		w.str("Type", "ACCPAY")
	}
	w.id("InvoiceID", t.rid(sInvoices, i))
	c.invoiceNumber("InvoiceNumber", i)
	w.reference(&rv)
	paid := int64(0)
	paidOn := int64(0)
	w.arr("Payments")
	if j := t.invoicePayment(i); j >= 0 && t.livePayment(j) {
		c.paymentSummary(j, d.total, d.rate)
		paid = d.total
		paidOn = t.paymentDate(c, j)
	}
	w.endArr()
	if c.shape.on {
		c.creditNotes(d.total)
	} else {
		w.emptyArr("CreditNotes")
	}
	w.emptyArr("Prepayments")
	w.emptyArr("Overpayments")
	due := d.total - paid
	if st == "VOIDED" || st == "DELETED" {
		due = 0
	}
	w.money("AmountDue", due, 2)
	w.money("AmountPaid", paid, 2)
	w.money("AmountCredited", 0, 2)
	if !c.shape.on || !c.shape.r.chance(0.2) { // absent from a fifth of recorded invoices
		c.currencyRate(d.rate)
	}
	w.boolean("IsDiscounted", d.discount != 0)
	if c.shape.on && c.shape.r.chance(0.4) {
		c.attachments(sInvoices, i, "Invoices")
	} else {
		w.boolean("HasAttachments", rv.chance(0.1))
	}
	w.boolean("HasErrors", false)
	if c.shape.on {
		w.boolean("HasValidationErrors", false)
	}
	r := t.rec(sInvoices, i)
	r.next()
	if t.n0(sRepeatingInvoices) > 0 && r.chance(0.05) {
		w.id("RepeatingInvoiceID", t.rid(sRepeatingInvoices, r.intn(t.n0(sRepeatingInvoices))))
	}
	c.contactSummary(d.contact)
	c.dateTwins("Date", d.date)
	c.dateTwins("DueDate", d.due)
	if sales && rv.chance(0.3) {
		w.msDate("ExpectedPaymentDate", d.due+int64(rv.intn(10))*day)
	}
	if !sales && rv.chance(0.3) {
		w.msDate("PlannedPaymentDate", d.due-int64(rv.intn(5))*day)
	}
	if d.theme >= 0 && sales {
		w.id("BrandingThemeID", t.rid(sBrandingThemes, d.theme))
	}
	w.str("Status", st)
	w.str("LineAmountTypes", d.lat)
	c.lineItems(&d, true)
	w.money("SubTotal", d.sub, 2)
	w.money("TotalTax", d.tax, 2)
	w.money("Total", d.total, 2)
	if d.discount != 0 {
		w.money("TotalDiscount", d.discount, 2)
	}
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.isoUTC("UpdatedDateUTCString", c.upd(i))
	w.str("CurrencyCode", d.currency)
	if paidOn != 0 && st == "PAID" {
		w.msDate("FullyPaidOnDate", paidOn)
	} else if c.shape.on {
		w.noDate("FullyPaidOnDate")
	}
	if sales {
		w.boolean("SentToContact", st != "DRAFT" && rv.chance(0.7))
		w.str("Url", "")
	}
	w.end()
}

func renderCreditNote(c *rctx, i int) {
	c.begin(sCreditNotes, i)
	t, w := c.t, c.w
	sales := t.creditNoteSales(i)
	d := c.makeDoc(sCreditNotes, i, sales)
	rv := t.recVer(sCreditNotes, i, c.ver(i))
	st := c.status(i)
	w.obj()
	if sales {
		w.str("Type", "ACCRECCREDIT")
	} else {
		w.str("Type", "ACCPAYCREDIT")
	}
	w.id("CreditNoteID", t.rid(sCreditNotes, i))
	w.numbered("CreditNoteNumber", "CN-", i+1)
	used := int64(0)
	var usedOn int64
	w.arr("Payments")
	if j := t.creditNotePayment(i); j >= 0 && t.livePayment(j) {
		c.paymentSummary(j, d.total, d.rate)
		used = d.total
		usedOn = t.paymentDate(c, j)
	}
	w.endArr()
	c.currencyRate(d.rate)
	w.reference(&rv)
	w.arr("Allocations")
	if t.creditNoteAllocated(i) && st != "VOIDED" && st != "DELETED" {
		r := t.rec(sCreditNotes, i)
		k := r.intn(t.n0(sInvoices))
		c.allocation(sCreditNotes, i, k, d.total, d.date+int64(r.intn(10))*day)
		used = d.total
		usedOn = d.date
	}
	w.endArr()
	remaining := d.total - used
	if st == "VOIDED" || st == "DELETED" || st == "DRAFT" || st == "SUBMITTED" {
		remaining = 0
		if st == "DRAFT" || st == "SUBMITTED" {
			remaining = d.total
		}
	}
	w.money("RemainingCredit", remaining, 2)
	w.boolean("HasAttachments", rv.chance(0.1))
	c.contactSummary(d.contact)
	c.dateTwins("Date", d.date)
	c.dateTwins("DueDate", d.due)
	if d.theme >= 0 && sales {
		w.id("BrandingThemeID", t.rid(sBrandingThemes, d.theme))
	}
	w.str("Status", st)
	w.str("LineAmountTypes", d.lat)
	c.lineItems(&d, true)
	w.money("SubTotal", d.sub, 2)
	w.money("TotalTax", d.tax, 2)
	w.money("Total", d.total, 2)
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.isoUTC("UpdatedDateUTCString", c.upd(i))
	w.str("CurrencyCode", d.currency)
	if st == "PAID" && usedOn != 0 {
		w.msDate("FullyPaidOnDate", usedOn)
	}
	if sales {
		w.boolean("SentToContact", st != "DRAFT" && rv.chance(0.5))
	}
	w.end()
}

// allocation writes one allocation of a credit note, overpayment or prepayment to invoice k.
func (c *rctx) allocation(s streamID, i, k int, amount, date int64) {
	w := c.w
	w.elem()
	w.id("AllocationID", c.t.sub(kindAllocation, s, i, 0))
	w.money("Amount", amount, 2)
	w.msDate("Date", date)
	w.objKey("Invoice")
	w.id("InvoiceID", c.t.rid(sInvoices, k))
	c.invoiceNumber("InvoiceNumber", k)
	w.emptyArr("Payments")
	w.emptyArr("CreditNotes")
	w.emptyArr("Prepayments")
	w.emptyArr("Overpayments")
	w.boolean("HasErrors", false)
	w.boolean("IsDiscounted", false)
	w.emptyArr("LineItems")
	w.end()
	w.boolean("IsDeleted", false)
	w.end()
}

var quoteLAT = map[string]string{"Exclusive": "EXCLUSIVE", "Inclusive": "INCLUSIVE", "NoTax": "NOTAX"}

func renderQuote(c *rctx, i int) {
	c.begin(sQuotes, i)
	t, w := c.t, c.w
	d := c.makeDoc(sQuotes, i, true)
	rv := t.recVer(sQuotes, i, c.ver(i))
	w.obj()
	w.id("QuoteID", t.rid(sQuotes, i))
	w.numbered("QuoteNumber", "QU-", i+1)
	w.reference(&rv)
	w.str("Terms", pick(&rv, []string{"Valid for 30 days", "Not valid after the expiry date", "50% deposit on acceptance", ""}))
	w.objKey("Contact")
	if d.contact >= 0 {
		w.id("ContactID", t.rid(sContacts, d.contact))
		c.contactName("Name", d.contact)
	}
	w.end()
	c.lineItems(&d, true)
	w.msDateNoZone("Date", d.date)
	w.isoDate("DateString", d.date)
	exp := d.date + int64(14+rv.intn(30))*day
	w.msDateNoZone("ExpiryDate", exp)
	w.isoDate("ExpiryDateString", exp)
	w.str("Status", c.status(i))
	c.currencyRate(d.rate)
	w.str("CurrencyCode", d.currency)
	w.money("SubTotal", d.sub, 2)
	w.money("TotalTax", d.tax, 2)
	w.money("Total", d.total, 2)
	w.money("TotalDiscount", d.discount, 2)
	w.str("Title", pick(&rv, []string{"Quote", "Your Quote", "Proposal", "Estimate"}))
	w.str("Summary", pick(&rv, []string{"Thank you for the opportunity", "As discussed", "Please buy this", ""}))
	if d.theme >= 0 {
		w.id("BrandingThemeID", t.rid(sBrandingThemes, d.theme))
	}
	w.msDateNoZone("UpdatedDateUTC", c.upd(i))
	w.str("LineAmountTypes", quoteLAT[d.lat])
	w.end()
}

func renderPurchaseOrder(c *rctx, i int) {
	c.begin(sPurchaseOrders, i)
	t, w := c.t, c.w
	d := c.makeDoc(sPurchaseOrders, i, false)
	rv := t.recVer(sPurchaseOrders, i, c.ver(i))
	st := c.status(i)
	w.obj()
	w.id("PurchaseOrderID", t.rid(sPurchaseOrders, i))
	w.numbered("PurchaseOrderNumber", "PO-", i+1)
	c.dateTwins("Date", d.date)
	c.dateTwins("DeliveryDate", d.due)
	w.str("AttentionTo", pick(&rv, firstNames))
	w.str("Telephone", fmt.Sprintf("0%d %03d %04d", 2+rv.intn(8), rv.intn(1000), rv.intn(10000)))
	pl := pick(&rv, t.prof.places)
	w.str("DeliveryAddress", fmt.Sprintf("%d %s, %s %s", 1+rv.intn(200), pick(&rv, streetNames), pl.city, pl.postcode))
	w.str("DeliveryInstructions", pick(&rv, []string{"Leave at reception", "Call on arrival", "Deliver to loading bay", ""}))
	w.msDate("ExpectedArrivalDate", d.due+int64(rv.intn(7))*day)
	w.reference(&rv)
	if d.theme >= 0 {
		w.id("BrandingThemeID", t.rid(sBrandingThemes, d.theme))
	}
	c.currencyRate(d.rate)
	w.str("CurrencyCode", d.currency)
	c.contactSummary(d.contact)
	w.str("Status", st)
	w.str("LineAmountTypes", d.lat)
	c.lineItems(&d, true)
	w.money("SubTotal", d.sub, 2)
	w.money("TotalTax", d.tax, 2)
	w.money("Total", d.total, 2)
	w.money("TotalDiscount", d.discount, 2)
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.boolean("HasAttachments", rv.chance(0.1))
	w.boolean("SentToContact", st != "DRAFT" && rv.chance(0.6))
	w.end()
}

var dueDateTypes = []string{"DAYSAFTERBILLDATE", "DAYSAFTERBILLMONTH", "OFCURRENTMONTH", "OFFOLLOWINGMONTH"}

func renderRepeatingInvoice(c *rctx, i int) {
	c.begin(sRepeatingInvoices, i)
	t, w := c.t, c.w
	r := t.rec(sRepeatingInvoices, i)
	sales := r.chance(0.7)
	d := c.makeDoc(sRepeatingInvoices, i, sales)
	rv := t.recVer(sRepeatingInvoices, i, c.ver(i))
	w.obj()
	w.objKey("Schedule")
	w.integer("Period", int64(1+r.intn(3)))
	unit := pick(&r, []string{"WEEKLY", "MONTHLY"})
	w.str("Unit", unit)
	w.integer("DueDate", int64(1+r.intn(28)))
	w.str("DueDateType", pick(&r, dueDateTypes))
	w.msDate("StartDate", d.date)
	w.msDate("NextScheduledDate", d.date+int64(30+rv.intn(60))*day)
	if r.chance(0.4) {
		w.msDate("EndDate", d.date+int64(365+r.intn(365))*day)
	}
	w.end()
	w.id("RepeatingInvoiceID", t.rid(sRepeatingInvoices, i))
	w.id("ID", t.rid(sRepeatingInvoices, i))
	if sales {
		w.str("Type", "ACCREC")
	} else {
		w.str("Type", "ACCPAY")
	}
	w.str("Reference", pick(&rv, []string{"[Week]", "[Month] retainer", "Monthly support", "Rent [Month]"}))
	w.boolean("HasAttachments", false)
	w.boolean("ApprovedForSending", rv.chance(0.3))
	w.boolean("SendCopy", rv.chance(0.2))
	w.boolean("MarkAsSent", rv.chance(0.2))
	w.boolean("IncludePDF", rv.chance(0.5))
	c.contactSummary(d.contact)
	w.str("Status", c.status(i))
	w.str("LineAmountTypes", d.lat)
	c.lineItems(&d, true)
	w.money("SubTotal", d.sub, 2)
	w.money("TotalTax", d.tax, 2)
	w.money("Total", d.total, 2)
	w.str("CurrencyCode", d.currency)
	if d.theme >= 0 && sales {
		w.id("BrandingThemeID", t.rid(sBrandingThemes, d.theme))
	}
	w.end()
}

func renderReceipt(c *rctx, i int) {
	c.begin(sReceipts, i)
	t, w := c.t, c.w
	d := c.makeDoc(sReceipts, i, false)
	rv := t.recVer(sReceipts, i, c.ver(i))
	r := t.rec(sReceipts, i)
	w.obj()
	w.id("ReceiptID", t.rid(sReceipts, i))
	if c.shape.on {
		w.integer("ReceiptNumber", int64(i+1)) // a number, as in Xero's own example
	} else {
		w.str("ReceiptNumber", strconv.Itoa(i+1))
	}
	w.str("Status", c.status(i))
	if nu := t.n0(sUsers); nu > 0 {
		u := r.intn(nu)
		w.objKey("User")
		w.id("UserID", t.rid(sUsers, u))
		fn, ln, _ := t.userName(u)
		w.str("FirstName", fn)
		w.str("LastName", ln)
		w.end()
	}
	c.contactSummary(d.contact)
	w.msDate("Date", d.date)
	if c.shape.on {
		w.isoDate("DateString", d.date)
	}
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.reference(&rv)
	w.str("LineAmountTypes", d.lat)
	c.lineItems(&d, true)
	w.money("SubTotal", d.sub, 2)
	w.money("TotalTax", d.tax, 2)
	w.money("Total", d.total, 2)
	if c.shape.on && c.shape.r.chance(0.5) {
		c.attachments(sReceipts, i, "Receipts")
	} else {
		w.boolean("HasAttachments", rv.chance(0.5))
	}
	w.end()
}
