package xerosim

import (
	"fmt"
	"strings"
)

// Manual journals, linked transactions and expense claims.

func init() {
	defs[sManualJournals].render = renderManualJournal
	defs[sLinkedTransactions].render = renderLinkedTransaction
	defs[sExpenseClaims].render = renderExpenseClaim
}

func renderManualJournal(c *rctx, i int) {
	c.begin(sManualJournals, i)
	t, w := c.t, c.w
	r := t.rec(sManualJournals, i)
	rv := t.recVer(sManualJournals, i, c.ver(i))
	date := midnight(t.tables[sManualJournals].initTS(i))
	w.obj()
	w.msDate("Date", date)
	w.str("Status", c.status(i))
	w.str("LineAmountTypes", "NoTax")
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.id("ManualJournalID", t.rid(sManualJournals, i))
	w.str("Narration", pick(&rv, narrations))
	if !c.lines {
		w.emptyArr("JournalLines")
	} else {
		w.arr("JournalLines")
		n := 2 + r.intn(3)
		var sum int64
		for k := 0; k < n; k++ {
			amt := int64(r.between(100, 500_000)) * 100
			if k == n-1 {
				amt = -sum
			} else if k%2 == 1 {
				amt = -amt
			}
			sum += amt
			a := pick(&r, expenseAccts)
			w.elem()
			w.money("LineAmount", amt, 2)
			w.str("AccountCode", t.accountCode(a))
			c.accountID(a)
			w.str("Description", pick(&r, narrations))
			w.str("TaxType", t.prof.noTax)
			w.arr("Tracking")
			if r.chance(0.3) {
				opt := r.intn(4)
				c.trackingElem(0, opt)
				w.end()
			}
			w.endArr()
			w.money("TaxAmount", 0, 2)
			w.boolean("IsBlank", false)
			w.end()
		}
		w.endArr()
	}
	w.boolean("ShowOnCashBasisReports", rv.chance(0.8))
	w.boolean("HasAttachments", rv.chance(0.1))
	w.end()
}

// invoiceOfKind finds an invoice of the wanted kind near a random start, or -1.
func (t *tenant) invoiceOfKind(r *rng, sales bool) int {
	n := t.n0(sInvoices)
	if n == 0 {
		return -1
	}
	start := r.intn(n)
	for k := 0; k < min(n, 64); k++ {
		if i := (start + k) % n; t.invoiceSales(i) == sales {
			return i
		}
	}
	return start
}

func renderLinkedTransaction(c *rctx, i int) {
	c.begin(sLinkedTransactions, i)
	t, w := c.t, c.w
	r := t.rec(sLinkedTransactions, i)
	src := t.invoiceOfKind(&r, false)
	dst := t.invoiceOfKind(&r, true)
	st := c.status(i)
	w.obj()
	w.id("LinkedTransactionID", t.rid(sLinkedTransactions, i))
	if src >= 0 {
		w.id("SourceTransactionID", t.rid(sInvoices, src))
		w.id("SourceLineItemID", t.sub(kindLine, sInvoices, src, 0))
		sd := c.otherDoc(sInvoices, src, false)
		if sd.contact >= 0 {
			dd := c.otherDoc(sInvoices, max(dst, 0), true)
			if dd.contact >= 0 {
				w.id("ContactID", t.rid(sContacts, dd.contact))
			}
		}
	}
	if dst >= 0 && (st == "ONDRAFT" || st == "BILLED") {
		w.id("TargetTransactionID", t.rid(sInvoices, dst))
		w.id("TargetLineItemID", t.sub(kindLine, sInvoices, dst, 0))
	}
	w.str("Status", st)
	w.str("Type", "BILLABLEEXPENSE")
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.str("SourceTransactionTypeCode", "ACCPAY")
	w.end()
}

func renderExpenseClaim(c *rctx, i int) {
	c.begin(sExpenseClaims, i)
	t, w := c.t, c.w
	r := t.rec(sExpenseClaims, i)
	st := c.status(i)
	w.obj()
	w.id("ExpenseClaimID", t.rid(sExpenseClaims, i))
	w.str("Status", st)
	w.msDate("UpdatedDateUTC", c.upd(i))
	if nu := t.n0(sUsers); nu > 0 {
		w.objKey("User")
		// A snapshot, not the user's live timestamp: a change to the user does not move
		// the UpdatedDateUTC of the claims that embed it (see README, Limitations).
		u := r.intn(nu)
		c.userFields(u, t.tables[sUsers].initTS(u))
		w.end()
	}
	var total int64
	w.arr("Receipts")
	if i < t.n0(sReceipts) {
		d := c.otherDoc(sReceipts, i, false)
		total = d.total
		w.elem()
		w.id("ReceiptID", t.rid(sReceipts, i))
		w.str("ReceiptNumber", fmt.Sprint(i+1))
		w.msDate("Date", d.date)
		w.money("Total", d.total, 2)
		w.end()
	}
	w.endArr()
	w.emptyArr("Payments")
	paid := int64(0)
	if st == "PAID" {
		paid = total
	}
	w.money("Total", total, 2)
	w.money("AmountDue", total-paid, 2)
	w.money("AmountPaid", paid, 2)
	rep := midnight(t.tables[sExpenseClaims].initTS(i))
	if st == "AUTHORISED" || st == "PAID" {
		w.msDate("PaymentDueDate", rep+14*day)
	}
	w.msDate("ReportingDate", rep)
	w.end()
}

// userName returns user u's first and last name and e-mail address.
func (t *tenant) userName(u int) (string, string, string) {
	r := t.rec(sUsers, u)
	fn, ln := pick(&r, firstNames), pick(&r, lastNames)
	return fn, ln, strings.ToLower(fn+"."+ln) + fmt.Sprintf("%d@example.com", u+1)
}

// userFields writes the fields of user u into the open object, with updated as its
// UpdatedDateUTC.
func (c *rctx) userFields(u int, updated int64) {
	t, w := c.t, c.w
	fn, ln, mail := t.userName(u)
	w.id("UserID", t.rid(sUsers, u))
	w.str("EmailAddress", mail)
	w.str("FirstName", fn)
	w.str("LastName", ln)
	w.msDate("UpdatedDateUTC", updated)
	w.boolean("IsSubscriber", u == 0)
	roles := []string{"STANDARD", "FINANCIALADVISER", "READONLY", "INVOICEONLY", "STANDARD"}
	w.str("OrganisationRole", roles[u%len(roles)])
}
