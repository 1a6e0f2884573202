package xerosim

import "fmt"

// Bank transactions, bank transfers, payments, overpayments and prepayments.

func init() {
	defs[sBankTransactions].render = renderBankTransaction
	defs[sBankTransfers].render = renderBankTransfer
	defs[sPayments].render = renderPayment
	defs[sOverpayments].render = renderOverpayment
	defs[sPrepayments].render = renderPrepayment
}

// bankAccount writes the short account Xero embeds: id, code and name.
func (c *rctx) bankAccount(key string, a int) {
	w := c.w
	w.objKey(key)
	c.accountID(a)
	w.str("Code", c.t.accountCode(a))
	w.str("Name", chart[a].name)
	w.end()
}

func (t *tenant) bankTxnReceive(i int) bool {
	r := t.rec(sBankTransactions, i)
	return r.next()%2 == 0
}

func renderBankTransaction(c *rctx, i int) {
	c.begin(sBankTransactions, i)
	t, w := c.t, c.w
	receive := t.bankTxnReceive(i)
	d := c.makeDoc(sBankTransactions, i, receive)
	rv := t.recVer(sBankTransactions, i, c.ver(i))
	r := t.rec(sBankTransactions, i)
	r.next()
	w.obj()
	w.id("BankTransactionID", t.rid(sBankTransactions, i))
	c.bankAccount("BankAccount", acctBank0+r.intn(2))
	if receive {
		w.str("Type", "RECEIVE")
	} else {
		w.str("Type", "SPEND")
	}
	w.reference(&rv)
	w.boolean("IsReconciled", rv.chance(0.7))
	w.boolean("HasAttachments", rv.chance(0.1))
	c.contactSummary(d.contact)
	c.dateTwins("Date", d.date)
	w.str("Status", c.status(i))
	w.str("LineAmountTypes", d.lat)
	c.lineItems(&d, true)
	w.money("SubTotal", d.sub, 2)
	w.money("TotalTax", d.tax, 2)
	w.money("Total", d.total, 2)
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.str("CurrencyCode", d.currency)
	if d.rate != 1_000_000 {
		c.currencyRate(d.rate)
	}
	w.end()
}

func renderBankTransfer(c *rctx, i int) {
	c.begin(sBankTransfers, i)
	t, w := c.t, c.w
	r := t.rec(sBankTransfers, i)
	rv := t.recVer(sBankTransfers, i, c.ver(i))
	created := c.upd(i)
	date := midnight(created - int64(r.intn(3))*day)
	from := acctBank0 + r.intn(2)
	w.obj()
	w.id("BankTransferID", t.rid(sBankTransfers, i))
	w.key("CreatedDateUTCString")
	w.b = append(w.b, '"')
	w.b = appendISO(w.b, created)
	w.b = append(w.b, '"')
	w.msDate("CreatedDateUTC", created)
	c.dateTwins("Date", date)
	w.str("Status", c.status(i))
	c.bankAccount("FromBankAccount", from)
	c.bankAccount("ToBankAccount", acctBank0+acctBank1-from)
	w.money("Amount", int64(r.between(1000, 5_000_000))*100, 2)
	w.id("FromBankTransactionID", t.sub(kindLine, sBankTransfers, i, 1))
	w.id("ToBankTransactionID", t.sub(kindLine, sBankTransfers, i, 2))
	w.boolean("FromIsReconciled", rv.chance(0.6))
	w.boolean("ToIsReconciled", rv.chance(0.6))
	w.str("Reference", fmt.Sprintf("Transfer %d", i+1))
	w.boolean("HasAttachments", false)
	c.currencyRate(1_000_000)
	tr := [2]int{-1, -1}
	if r.chance(0.3) {
		tr[0] = r.intn(4)
	}
	c.trackingRefs("FromTracking", tr)
	c.trackingRefs("ToTracking", tr)
	w.end()
}

// trackingRefs writes TrackingReference items (bank transfers).
func (c *rctx) trackingRefs(key string, tr [2]int) {
	w := c.w
	w.arr(key)
	for cat, opt := range tr {
		if opt < 0 {
			continue
		}
		w.elem()
		c.trackingCategoryID(cat)
		c.trackingOptionID(cat, opt)
		w.str("Name", trackingCats[cat].name)
		w.str("Option", trackingCats[cat].options[opt].name)
		w.end()
	}
	w.endArr()
}

func renderPayment(c *rctx, i int) {
	c.begin(sPayments, i)
	t, w := c.t, c.w
	s, k := t.paymentTarget(i)
	rv := t.recVer(sPayments, i, c.ver(i))
	r := t.rec(sPayments, i)
	var d doc
	sales := true
	if s == sInvoices {
		sales = t.invoiceSales(k)
		d = c.otherDoc(sInvoices, k, sales)
	} else if s == sCreditNotes {
		sales = t.creditNoteSales(k)
		d = c.otherDoc(sCreditNotes, k, sales)
	}
	w.obj()
	w.id("PaymentID", t.rid(sPayments, i))
	w.msDate("Date", t.paymentDate(c, i))
	bankAmount := d.total
	if d.rate != 1_000_000 {
		bankAmount = roundTo(d.total*1_000_000/max(1, d.rate), 2)
	}
	w.money("BankAmount", bankAmount, 2)
	w.money("Amount", d.total, 2)
	w.reference(&rv)
	c.currencyRate(d.rate)
	switch {
	case s == sInvoices && sales:
		w.str("PaymentType", "ACCRECPAYMENT")
	case s == sInvoices:
		w.str("PaymentType", "ACCPAYPAYMENT")
	case sales:
		w.str("PaymentType", "ARCREDITPAYMENT")
	default:
		w.str("PaymentType", "APCREDITPAYMENT")
	}
	w.str("Status", c.status(i))
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.isoUTC("UpdatedDateUTCString", c.upd(i))
	w.boolean("HasAccount", true)
	w.boolean("IsReconciled", rv.chance(0.6))
	w.objKey("Account")
	a := acctBank0 + r.intn(2)
	c.accountID(a)
	w.str("Code", t.accountCode(a))
	w.end()
	if c.shape.on && c.shape.r.chance(0.5) {
		c.batchPayment(i, a, t.paymentDate(c, i), bankAmount)
	}
	if s == sInvoices {
		w.objKey("Invoice")
		if sales {
			w.str("Type", "ACCREC")
		} else {
			w.str("Type", "ACCPAY")
		}
		w.id("InvoiceID", t.rid(sInvoices, k))
		c.invoiceNumber("InvoiceNumber", k)
		w.emptyArr("Payments")
		w.emptyArr("CreditNotes")
		w.emptyArr("Prepayments")
		w.emptyArr("Overpayments")
		w.boolean("HasErrors", false)
		w.boolean("IsDiscounted", false)
		c.contactSummary(d.contact)
		w.emptyArr("LineItems")
		w.str("CurrencyCode", d.currency)
		w.end()
	} else if s == sCreditNotes {
		w.objKey("CreditNote")
		if sales {
			w.str("Type", "ACCRECCREDIT")
		} else {
			w.str("Type", "ACCPAYCREDIT")
		}
		w.id("CreditNoteID", t.rid(sCreditNotes, k))
		w.numbered("CreditNoteNumber", "CN-", k+1)
		c.contactSummary(d.contact)
		w.emptyArr("LineItems")
		w.str("CurrencyCode", d.currency)
		w.end()
		w.numbered("CreditNoteNumber", "CN-", k+1)
	}
	w.boolean("HasValidationErrors", false)
	w.end()
}

// overPrepayment writes an overpayment or a prepayment; they share their shape.
func (c *rctx) overPrepayment(s streamID, i int, idKey, recv, spend string) {
	c.begin(s, i)
	t, w := c.t, c.w
	r := t.rec(s, i)
	receive := r.chance(0.6)
	d := c.makeDoc(s, i, receive)
	rv := t.recVer(s, i, c.ver(i))
	st := c.status(i)
	w.obj()
	w.id(idKey, t.rid(s, i))
	if receive {
		w.str("Type", recv)
	} else {
		w.str("Type", spend)
	}
	w.reference(&rv)
	remaining := d.total
	w.arr("Allocations")
	if st == "PAID" && t.n0(sInvoices) > 0 {
		k := r.intn(t.n0(sInvoices))
		c.allocation(s, i, k, d.total, d.date+int64(r.intn(20))*day)
		remaining = 0
	}
	w.endArr()
	if st == "VOIDED" {
		remaining = 0
	}
	w.money("RemainingCredit", remaining, 2)
	w.emptyArr("Payments")
	w.boolean("HasAttachments", rv.chance(0.1))
	c.contactSummary(d.contact)
	c.dateTwins("Date", d.date)
	w.str("Status", st)
	w.str("LineAmountTypes", d.lat)
	c.lineItems(&d, false)
	w.money("SubTotal", d.sub, 2)
	w.money("TotalTax", d.tax, 2)
	w.money("Total", d.total, 2)
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.isoUTC("UpdatedDateUTCString", c.upd(i))
	w.str("CurrencyCode", d.currency)
	c.currencyRate(d.rate)
	w.end()
}

func renderOverpayment(c *rctx, i int) {
	c.overPrepayment(sOverpayments, i, "OverpaymentID", "RECEIVE-OVERPAYMENT", "SPEND-OVERPAYMENT")
}

func renderPrepayment(c *rctx, i int) {
	c.overPrepayment(sPrepayments, i, "PrepaymentID", "RECEIVE-PREPAYMENT", "SPEND-PREPAYMENT")
}
