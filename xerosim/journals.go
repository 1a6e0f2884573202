package xerosim

import "sort"

// Journals are Xero's ledger postings: immutable, numbered from 1, ordered by JournalNumber
// and CreatedDateUTC. Generated journals are a function of their number; journals posted while
// the simulator runs (a transaction created, edited or voided) are kept in a small log.

// journalSources are the streams whose records post journals, with relative weights.
var journalSources = []struct {
	s      streamID
	weight int
}{
	{sInvoices, 40}, {sPayments, 20}, {sBankTransactions, 20}, {sCreditNotes, 5}, {sManualJournals, 5},
	{sBankTransfers, 3}, {sOverpayments, 2}, {sPrepayments, 2},
}

// posted is a journal posted at run time.
type posted struct {
	src     streamID
	idx     int32
	reverse bool // reverses the record's previous posting
	ts      int64
}

type journalLog struct {
	t              *tenant
	n0             int
	baseTS, stepTS int64
	posted         []posted
	seed           uint64
}

func newJournalLog(t *tenant, n int) *journalLog {
	j := &journalLog{t: t, n0: n, baseTS: t.baseTS, seed: mix(t.seed, kindJournal)}
	if n > 0 {
		j.stepTS = max(1, (t.endTS-t.baseTS)/int64(n))
	}
	return j
}

// count is the highest JournalNumber.
func (j *journalLog) count() int { return j.n0 + len(j.posted) }

// created is the CreatedDateUTC of journal number n (1-based).
func (j *journalLog) created(n int) int64 {
	if n > j.n0 {
		return j.posted[n-j.n0-1].ts
	}
	i := int64(n - 1)
	return j.baseTS + i*j.stepTS + int64(mix(j.seed, uint64(n))%uint64(j.stepTS))
}

// source returns what journal n posts: the stream, the record and whether it is a reversal.
func (j *journalLog) source(n int) (streamID, int, bool) {
	if n > j.n0 {
		p := j.posted[n-j.n0-1]
		return p.src, int(p.idx), p.reverse
	}
	t := j.t
	total := 0
	for _, js := range journalSources {
		if t.vol[js.s] > 0 {
			total += js.weight
		}
	}
	if total == 0 {
		return -1, -1, false
	}
	h := mix(j.seed^0xabc, uint64(n))
	v := int(h % uint64(total))
	for _, js := range journalSources {
		if t.vol[js.s] == 0 {
			continue
		}
		if v < js.weight {
			vol := t.vol[js.s]
			// A record near the same point in history, so dates line up.
			idx := int(int64(n-1) * int64(vol) / int64(j.n0))
			idx = min(vol-1, idx+int(h>>32%5))
			return js.s, idx, false
		}
		v -= js.weight
	}
	return -1, -1, false
}

// firstFrom returns the first journal number whose CreatedDateUTC is at or after low.
func (j *journalLog) firstFrom(low int64) int {
	return 1 + sort.Search(j.count(), func(i int) bool { return j.created(i+1) >= low })
}

// post appends a journal for record idx of s at ts.
func (j *journalLog) post(s streamID, idx int, reverse bool, ts int64) {
	j.posted = append(j.posted, posted{src: s, idx: int32(idx), reverse: reverse, ts: ts})
}

// isPayment reports whether journal n comes from a payment (paymentsOnly=true).
func (j *journalLog) isPayment(n int) bool {
	s, _, _ := j.source(n)
	return s == sPayments
}

var journalSourceTypes = map[streamID][2]string{ // sales, purchase
	sInvoices:         {"ACCREC", "ACCPAY"},
	sCreditNotes:      {"ACCRECCREDIT", "ACCPAYCREDIT"},
	sBankTransactions: {"CASHREC", "CASHPAID"},
	sPayments:         {"ACCRECPAYMENT", "ACCPAYPAYMENT"},
	sManualJournals:   {"MANJOURNAL", "MANJOURNAL"},
	sBankTransfers:    {"TRANSFER", "TRANSFER"},
	sOverpayments:     {"AROVERPAYMENT", "APOVERPAYMENT"},
	sPrepayments:      {"ARPREPAYMENT", "APPREPAYMENT"},
}

// renderJournal writes journal number n.
func (c *rctx) renderJournal(n int) {
	c.begin(sJournals, n)
	t, w := c.t, c.w
	jr := t.jr
	s, idx, rev := jr.source(n)
	w.obj()
	w.id("JournalID", t.sub(kindJournal, sJournals, n, 0))
	created := jr.created(n)
	if s < 0 {
		w.msDate("JournalDate", midnight(created))
		w.integer("JournalNumber", int64(n))
		w.msDate("CreatedDateUTC", created)
		w.emptyArr("JournalLines")
		w.end()
		return
	}
	// What the source posts: a control account against the income or expense accounts.
	var (
		date            int64
		refInvoice      = -1 // the invoice whose number is the Reference, if any
		sales           bool
		control, other  int
		net, tax        int64
		taxType         string
		taxName         string
		track           [2]int = [2]int{-1, -1}
		sourceTypeSales bool
	)
	r := t.rec(s, idx)
	switch s {
	case sInvoices, sCreditNotes, sBankTransactions, sOverpayments, sPrepayments:
		switch s {
		case sInvoices:
			sales = t.invoiceSales(idx)
		case sCreditNotes:
			sales = t.creditNoteSales(idx)
		case sBankTransactions:
			sales = t.bankTxnReceive(idx)
		default:
			rr := t.rec(s, idx)
			sales = rr.chance(0.6)
		}
		d := c.otherDoc(s, idx, sales)
		date, net, tax = d.date, d.sub, d.tax
		other = d.lines[0].acct
		track = d.lines[0].track
		taxType, taxName = d.lines[0].tax.taxType, d.lines[0].tax.name
		control = acctAR
		if !sales {
			control = acctAP
		}
		if s == sBankTransactions {
			control = acctBank0
		}
		if s == sCreditNotes {
			net, tax = -net, -tax
		}
		if s == sInvoices {
			refInvoice = idx
		}
		sourceTypeSales = sales
	case sPayments:
		ts, k := t.paymentTarget(idx)
		if ts == sInvoices {
			sales = t.invoiceSales(k)
		} else if ts == sCreditNotes {
			sales = !t.creditNoteSales(k)
		}
		d := c.otherDoc(ts, k, sales)
		date, net = t.paymentDate(c, idx), d.total
		control, other = acctBank0, acctAR
		if !sales {
			other = acctAP
		}
		sourceTypeSales = sales
	case sBankTransfers:
		date = midnight(t.tables[s].initTS(idx))
		net = int64(r.between(1000, 5_000_000)) * 100
		control, other = acctBank1, acctBank0
		sourceTypeSales = true
	case sManualJournals:
		date = midnight(t.tables[s].initTS(idx))
		net = int64(r.between(100, 500_000)) * 100
		control, other = pick(&r, expenseAccts), pick(&r, expenseAccts)
		sourceTypeSales = true
	}
	sign := int64(1)
	if !sales {
		sign = -1
	}
	if rev {
		sign = -sign
	}
	w.msDate("JournalDate", date)
	w.integer("JournalNumber", int64(n))
	w.msDate("CreatedDateUTC", created)
	if refInvoice >= 0 {
		c.invoiceNumber("Reference", refInvoice)
	} else {
		w.str("Reference", "")
	}
	w.id("SourceID", t.rid(s, idx))
	st := journalSourceTypes[s]
	if sourceTypeSales {
		w.str("SourceType", st[0])
	} else {
		w.str("SourceType", st[1])
	}
	w.arr("JournalLines")
	c.journalLine(n, 0, control, sign*(net+tax), 0, "", "", "", [2]int{-1, -1})
	c.journalLine(n, 1, other, -sign*net, -sign*tax, taxType, taxName, pick(&r, productWords), track)
	if tax != 0 {
		c.journalLine(n, 2, acctTax, -sign*tax, 0, taxType, taxName, "", [2]int{-1, -1})
	}
	w.endArr()
	w.end()
}

func (c *rctx) journalLine(n, k, acct int, net, taxAmt int64, taxType, taxName, desc string, tr [2]int) {
	t, w := c.t, c.w
	w.elem()
	w.id("JournalLineID", t.sub(kindJournalLine, sJournals, n, k))
	c.accountID(acct)
	w.str("AccountCode", t.accountCode(acct))
	w.str("AccountType", chart[acct].typ)
	w.str("AccountName", chart[acct].name)
	w.str("Description", desc)
	w.money("NetAmount", net, 2)
	w.money("GrossAmount", net+taxAmt, 2)
	w.money("TaxAmount", taxAmt, 2)
	if taxType != "" {
		w.str("TaxType", taxType)
		w.str("TaxName", taxName)
	}
	w.arr("TrackingCategories")
	for cat, opt := range tr {
		if opt < 0 {
			continue
		}
		c.trackingElem(cat, opt)
		w.end()
	}
	w.endArr()
	w.end()
}
