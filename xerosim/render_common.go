package xerosim

import (
	"strconv"
)

// rctx is what a renderer needs to write one record.
type rctx struct {
	w       *jw
	t       *tenant
	tb      *table
	unitdp  int  // decimal places of unit amounts (2, or 4 with unitdp=4)
	lines   bool // line details wanted (page given on paged document endpoints)
	include bool // includeArchived/includeDeleted given
	docBuf  []line
	tmpBuf  []line // for documents looked up while another is being written
	shape   shape  // how the record being written looks (recorded.go)
	// contacts holds the embedded contacts written so far in this response; nil until the
	// first one.
	contacts *contactCache
	// copied counts the records of the response copied from those rendered at start.
	copied int
}

func (c *rctx) ver(i int) uint32    { return c.tb.ver[i] }
func (c *rctx) status(i int) string { return c.tb.def.statuses[c.tb.status[i]] }
func (c *rctx) upd(i int) int64     { return c.tb.upd(i) }

const day = 86400_000

func midnight(ms int64) int64 { return ms - ((ms%day)+day)%day }

// line is one generated line item.
type line struct {
	id           uuid
	desc         string
	qty, unit    int64 // 1e-4 units
	acct         int
	item         int // -1: none
	tax          *taxDef
	track        [2]int // option per tracking category, -1: none
	discountRate int64  // percent in 1e-4 units
	amount, tax4 int64  // line amount and tax, rounded to cents, in 1e-4 units
}

// doc is the stable content of a transaction: who, when, what and how much.
type doc struct {
	contact  int
	date     int64
	due      int64
	currency string
	rate     int64 // 1e-6 units
	lat      string
	lines    []line
	sub, tax int64
	total    int64
	discount int64
	theme    int
	sales    bool
}

// makeDoc generates the stable part of record i of stream s. sales selects revenue accounts
// and the sales tax; otherwise expense accounts and the purchase tax.
func (c *rctx) makeDoc(s streamID, i int, sales bool) doc {
	d := c.genDoc(s, i, sales, c.docBuf)
	c.docBuf = d.lines
	return d
}

// otherDoc generates another record's document without disturbing the one being written.
func (c *rctx) otherDoc(s streamID, i int, sales bool) doc {
	d := c.genDoc(s, i, sales, c.tmpBuf)
	c.tmpBuf = d.lines
	return d
}

func (c *rctx) genDoc(s streamID, i int, sales bool, buf []line) doc {
	t := c.t
	r := t.rec(s, i)
	d := doc{sales: sales}
	d.contact = t.contactFor(&r)
	created := t.tables[s].initTS(i)
	d.date = midnight(created - int64(r.intn(5))*day)
	d.due = d.date + int64(7+r.intn(30))*day
	d.currency = t.prof.currency
	d.rate = 1_000_000
	if len(t.currencies) > 1 && r.chance(0.1) {
		d.currency = t.currencies[1+r.intn(len(t.currencies)-1)]
		d.rate = t.rates[d.currency]
	}
	switch v := r.intn(10); {
	case v < 7:
		d.lat = "Exclusive"
	case v < 9:
		d.lat = "Inclusive"
	default:
		d.lat = "NoTax"
	}
	if nb := t.n0(sBrandingThemes); nb > 0 {
		d.theme = r.intn(nb)
	} else {
		d.theme = -1
	}
	taxType := t.prof.purchaseTax
	if sales {
		taxType = t.prof.salesTax
	}
	if d.lat == "NoTax" {
		taxType = t.prof.noTax
	}
	td := t.taxDef(taxType)
	n := 1 + r.intn(4)
	d.lines = buf[:0]
	for j := 0; j < n; j++ {
		l := line{id: t.sub(kindLine, s, i, j), item: -1, tax: td, track: [2]int{-1, -1}}
		if sales {
			l.acct = pick(&r, revenueAccts)
		} else {
			l.acct = pick(&r, expenseAccts)
		}
		if ni := t.referencedItems(); ni > 0 && r.chance(0.4) {
			l.item = r.intn(ni)
			l.desc, l.unit = t.itemSale(l.item)
		} else {
			l.desc = pick(&r, productWords)
			if r.chance(0.2) {
				l.unit = int64(r.between(10000, 20_000_000)) // four decimals
			} else {
				l.unit = int64(r.between(100, 200_000)) * 100
			}
		}
		l.qty = int64(r.between(1, 10)) * 10000
		if r.chance(0.1) {
			l.qty += 5000
		}
		gross := roundTo(l.qty*l.unit/10000, 2)
		if r.chance(0.1) {
			l.discountRate = 100000 // 10%
			disc := roundTo(gross*l.discountRate/1_000_000, 2)
			d.discount += disc
			gross -= disc
		}
		l.amount = gross
		switch d.lat {
		case "Exclusive":
			l.tax4 = roundTo(l.amount*td.rate/1_000_000, 2)
			d.sub += l.amount
		case "Inclusive":
			l.tax4 = roundTo(l.amount*td.rate/(1_000_000+td.rate), 2)
			d.sub += l.amount - l.tax4
		default:
			d.sub += l.amount
		}
		d.tax += l.tax4
		if r.chance(0.5) {
			l.track[0] = r.intn(4)
			if r.chance(0.5) {
				l.track[1] = r.intn(4)
			}
		}
		d.lines = append(d.lines, l)
	}
	d.total = d.sub + d.tax
	return d
}

func (t *tenant) taxDef(taxType string) *taxDef {
	for k := range t.prof.taxes {
		if t.prof.taxes[k].taxType == taxType {
			return &t.prof.taxes[k]
		}
	}
	return &t.prof.taxes[0]
}

// itemCode is the code of item k.
func itemCode(t *tenant, k int) string { return string(appendItemCode(nil, t, k)) }

// appendItemCode appends the code of item k: up to four capitals of its word, a dash and k+1.
func appendItemCode(b []byte, t *tenant, k int) []byte {
	r := t.rec(sItems, k)
	w := productWords[r.intn(len(productWords))]
	n := 0
	for i := 0; i < len(w) && n < 4; i++ {
		if c := w[i]; c >= 'a' && c <= 'z' {
			b = append(b, c-32)
			n++
		} else if c >= 'A' && c <= 'Z' {
			b = append(b, c)
			n++
		}
	}
	b = append(b, '-')
	return strconv.AppendInt(b, int64(k+1), 10)
}

// itemSale returns an item's name and sale price (1e-4 units).
func (t *tenant) itemSale(k int) (string, int64) {
	r := t.rec(sItems, k)
	name := productWords[r.intn(len(productWords))]
	price := int64(r.between(100, 100_000)) * 100
	if r.chance(0.2) {
		price += int64(r.intn(100))
	}
	return name, price
}

// contactSummary writes the short contact Xero embeds in transactions (the full one in a
// record written as recorded).
func (c *rctx) contactSummary(k int) {
	w := c.w
	full := c.shape.on && k >= 0
	w.key("Contact")
	if text, ok := c.contacts.get(k, full); ok {
		w.b = append(w.b, text...)
		return
	}
	start := len(w.b)
	if full {
		c.contactFull(k)
	} else {
		w.obj()
		if k >= 0 {
			w.id("ContactID", c.t.rid(sContacts, k))
			c.contactName("Name", k)
		}
		w.emptyArr("Addresses")
		w.emptyArr("Phones")
		w.emptyArr("ContactGroups")
		w.emptyArr("ContactPersons")
		w.boolean("HasValidationErrors", false)
		w.end()
	}
	if k >= 0 {
		c.contacts = c.contacts.put(k, full, w.b[start:])
	}
}

// contactCache keeps the Contact objects written so far in one response. Both forms of the
// embedded contact are made from the contact's stable part alone (the tenant's seed and the
// contact's index, never its version or status), so a contact is written the same way each
// time, and a page of a thousand invoices names far fewer contacts than that. It is
// direct-mapped, so its size stays bounded however many contacts a response names.
type contactCache struct {
	slots [256]contactSlot
}

type contactSlot struct {
	k         int
	full, set bool
	text      []byte
}

// get returns the cached object of contact k in the full or short form.
func (cc *contactCache) get(k int, full bool) ([]byte, bool) {
	if cc == nil || k < 0 {
		return nil, false
	}
	s := &cc.slots[k%len(cc.slots)]
	if !s.set || s.k != k || s.full != full {
		return nil, false
	}
	return s.text, true
}

// put caches obj as the object of contact k and returns the cache (made on first use).
func (cc *contactCache) put(k int, full bool, obj []byte) *contactCache {
	if cc == nil {
		cc = &contactCache{}
	}
	s := &cc.slots[k%len(cc.slots)]
	s.k, s.full, s.set = k, full, true
	s.text = append(s.text[:0], obj...)
	return cc
}

// lineItems writes the LineItems array (empty without line details).
func (c *rctx) lineItems(d *doc, withItem bool) {
	w := c.w
	if !c.lines {
		w.emptyArr("LineItems")
		return
	}
	w.arr("LineItems")
	for k := range d.lines {
		l := &d.lines[k]
		w.elem()
		w.id("LineItemID", l.id)
		w.str("Description", l.desc)
		w.money("Quantity", l.qty, 4)
		w.money("UnitAmount", l.unit, c.unitdp)
		if l.item >= 0 && withItem {
			c.itemCode("ItemCode", l.item)
		}
		w.str("AccountCode", c.t.accountCode(l.acct))
		c.accountID(l.acct)
		w.str("TaxType", l.tax.taxType)
		w.money("TaxAmount", l.tax4, 2)
		w.money("LineAmount", l.amount, 2)
		if l.discountRate != 0 {
			w.money("DiscountRate", l.discountRate, 2)
		}
		c.tracking("Tracking", l.track)
		if c.shape.on {
			w.emptyArr("ValidationErrors")
		}
		if l.item >= 0 && withItem {
			w.objKey("Item")
			c.itemCode("Code", l.item)
			name, _ := c.t.itemSale(l.item)
			w.str("Name", name)
			w.id("ItemID", c.t.rid(sItems, l.item))
			w.end()
		}
		w.end()
	}
	w.endArr()
}

// tracking writes line-item tracking: the chosen option of each category.
func (c *rctx) tracking(key string, tr [2]int) {
	w := c.w
	w.arr(key)
	for cat, opt := range tr {
		if opt < 0 {
			continue
		}
		c.trackingElem(cat, opt)
		if c.shape.on {
			w.emptyArr("Options")
		}
		w.end()
	}
	w.endArr()
}

// trackingElem opens the next element of an array of tracking and writes the Name, Option and
// ids of option opt of category cat, leaving the object open for the caller to end.
func (c *rctx) trackingElem(cat, opt int) {
	w := c.w
	w.sep()
	if cat < len(c.t.lineTracking) && opt < len(c.t.lineTracking[cat]) {
		w.b = append(w.b, c.t.lineTracking[cat][opt]...)
		w.first = false
		return
	}
	w.obj()
	w.str("Name", trackingCats[cat].name)
	w.str("Option", trackingCats[cat].options[opt].name)
	c.trackingCategoryID(cat)
	c.trackingOptionID(cat, opt)
}

// currencyRate writes a rate with the six decimals Xero prints.
func (c *rctx) currencyRate(rate int64) {
	w := c.w
	w.key("CurrencyRate")
	start := len(w.b)
	w.b = strconv.AppendInt(w.b, rate/1_000_000, 10)
	w.b = append(w.b, '.')
	f := rate % 1_000_000
	for p := 100000; p > 0; p /= 10 {
		w.b = append(w.b, byte('0'+f/int64(p)%10))
	}
	if w.trimMoney {
		w.trimZeros(start)
	}
}

// contactName is the stable display name of contact k.
func (t *tenant) contactName(k int) string { return string(t.appendContactName(nil, k)) }

// appendContactName appends the stable display name of contact k: a person's name or a
// company's, followed by k+1.
func (t *tenant) appendContactName(b []byte, k int) []byte {
	r := t.rec(sContacts, k)
	if r.chance(0.3) {
		b = append(b, pick(&r, firstNames)...)
		b = append(b, ' ')
		b = append(b, pick(&r, lastNames)...)
		b = append(b, '-')
		return strconv.AppendInt(b, int64(k+1), 10)
	}
	b = append(b, pick(&r, companyWords)...)
	b = append(b, ' ')
	b = append(b, pick(&r, companyKinds)...)
	b = append(b, ' ')
	b = append(b, pick(&r, companySuffix)...)
	b = append(b, ' ')
	return strconv.AppendInt(b, int64(k+1), 10)
}

// contactName writes key: the name of contact k.
func (c *rctx) contactName(key string, k int) {
	w := c.w
	start := w.openStr(key)
	w.b = c.t.appendContactName(w.b, k)
	w.closeStr(start)
}

// itemCode writes key: the code of item k.
func (c *rctx) itemCode(key string, k int) {
	w := c.w
	start := w.openStr(key)
	w.b = appendItemCode(w.b, c.t, k)
	w.closeStr(start)
}

// reference writes a version-dependent free-text Reference drawn from r: empty a fifth of the
// time, otherwise a word and a number.
func (w *jw) reference(r *rng) {
	start := w.openStr("Reference")
	if !r.chance(0.2) {
		w.b = append(w.b, pick(r, refWords)...)
		w.b = append(w.b, ' ')
		w.b = strconv.AppendInt(w.b, int64(r.between(100, 99999)), 10)
	}
	w.closeStr(start)
}
