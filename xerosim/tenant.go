package xerosim

import (
	"fmt"
	"slices"
)

// Stream ids and kinds used to derive sub-identifiers from a tenant seed.
const (
	kindLine uint64 = iota + 1000
	kindJournal
	kindJournalLine
	kindTrackCat
	kindTrackOpt
	kindAllocation
	kindBatch
	kindConn
	kindAuthEvent
	kindTenant
	kindOrg
)

// trackCat is a tracking category and its options.
type trackCat struct {
	name    string
	options []trackOpt
}

type trackOpt struct {
	name     string
	archived bool
}

// trackingCats is the same shape in every tenant (ids differ): two active categories and one
// archived, with one archived option, so includeArchived has something to show.
var trackingCats = []trackCat{
	{name: "Region", options: []trackOpt{{"North", false}, {"South", false}, {"East", false}, {"West", false}, {"Central", true}}},
	{name: "Department", options: []trackOpt{{"Sales", false}, {"Operations", false}, {"Admin", false}, {"Marketing", false}}},
	{name: "Legacy Projects", options: []trackOpt{{"Project Apollo", false}, {"Project Kea", false}}},
}

// tenant is one simulated organisation: its reference data, its tables and its journals.
type tenant struct {
	idx        int
	id         uuid
	seed       uint64
	name       string
	prof       *profile
	currencies []string         // base currency first
	rates      map[string]int64 // currency rate to base, in 1e-6 units
	acctCodes  []string         // code of each chart account
	tables     [numStreams]*table
	vol        [numStreams]int // records generated at start, per stream
	jr         *journalLog
	// pre holds each stream's records rendered at start (Prerendered); nil once the data change.
	pre [numStreams]*rendered

	payInv map[int32]int32 // payments created at run time -> invoice
	invPay map[int32]int32 // invoice -> payment created at run time
	// payStep and its inverse modulo the number of generated invoices define the bijection
	// between generated payments and invoices (see paymentTarget).
	payStep, payStepInv int

	recorded float64 // share of records written as recorded (AsRecorded)

	// The text of ids that most records embed and that depend on the seed alone: the standard
	// chart's accounts, and the tracking categories and their options. Made once by newTenant
	// and only read afterwards.
	acctIDs  [][36]byte   // account i of the chart
	trackIDs [][36]byte   // tracking category cat
	optIDs   [][][36]byte // option opt of tracking category cat
	// lineTracking holds, per category and option, the opening and fields of the tracking
	// object a line item embeds: {"Name":…,"Option":…,"TrackingCategoryID":…,"TrackingOptionID":…
	lineTracking [][][]byte

	orgCreated, connCreated, connUpdated int64
	baseTS, endTS                        int64
	minutePhase, dayPhase                int64 // rate-limit window offsets (ms)
}

// volume returns the configured start volume of a stream.
func volume(cfg *config, d *streamDef) int {
	if n, ok := cfg.volumes[d.name]; ok {
		return n
	}
	return d.volume
}

func newTenant(cfg *config, idx int, startMS int64, clk *clock) *tenant {
	seed := mix(uint64(cfg.seed), uint64(idx)+kindTenant)
	r := newRNG(seed)
	t := &tenant{idx: idx, seed: seed, id: makeUUID(mix(seed, kindTenant)), recorded: cfg.recorded}
	t.prof = profiles[r.intn(len(profiles))]
	t.name = fmt.Sprintf("%s %s %s", pick(&r, companyWords), pick(&r, companyKinds), pick(&r, []string{"Ltd", "Limited", "Group", "Co"}))
	if idx == 0 {
		t.name = "Demo Company (" + t.prof.version + ")"
	}
	// Currencies: the base one plus a few others, different per tenant.
	t.currencies = []string{t.prof.currency}
	t.rates = map[string]int64{t.prof.currency: 1_000_000}
	nCur := volume(cfg, defs[sCurrencies])
	for _, c := range extraCurrencies {
		if len(t.currencies) >= nCur {
			break
		}
		if c == t.prof.currency || !r.chance(0.6) {
			continue
		}
		t.currencies = append(t.currencies, c)
		t.rates[c] = int64(300_000 + r.intn(1_500_000))
	}
	t.acctCodes = make([]string, len(chart))
	for i, a := range chart {
		switch a.code {
		case "ar":
			t.acctCodes[i] = t.prof.arCode
		case "ap":
			t.acctCodes[i] = t.prof.apCode
		case "tax":
			t.acctCodes[i] = t.prof.taxCode
		case "sales":
			t.acctCodes[i] = t.prof.salesCode
		case "cost":
			t.acctCodes[i] = t.prof.costCode
		default:
			t.acctCodes[i] = a.code
		}
	}
	// History: three years ending an hour before the simulated start, or before a fixed
	// date if that is earlier, so that the same seed gives the same data.
	end := min(startMS, dataEpoch) - 3600_000
	t.endTS = end
	t.baseTS = end - 3*365*86400_000
	t.orgCreated = t.baseTS - 86400_000*int64(30+r.intn(300))
	t.connCreated = end - 86400_000*int64(1+r.intn(20))
	t.connUpdated = t.connCreated + int64(r.intn(86400_000))
	t.minutePhase = int64(r.intn(60_000))
	t.dayPhase = int64(r.intn(86400_000))
	t.payInv = map[int32]int32{}
	t.invPay = map[int32]int32{}

	for _, d := range defs {
		n := volume(cfg, d)
		switch d.id {
		case sAccounts:
			n = max(n, len(chart))
		case sOrganisations:
			n = 1
		case sTaxRates:
			n = len(t.prof.taxes)
		case sTrackingCategories:
			n = len(trackingCats)
		case sCurrencies:
			n = len(t.currencies)
		}
		t.vol[d.id] = n
	}
	if ni := t.vol[sInvoices]; ni > 0 {
		t.payStep = coprimeStep(ni)
		t.payStepInv = modInverse(t.payStep, ni)
	}
	for _, d := range defs {
		if d.id == sJournals {
			continue
		}
		t.tables[d.id] = newTable(d, mix(seed, uint64(d.id)), t.vol[d.id], t.baseTS, t.endTS, func(i int) uint8 { return t.initStatus(d, i) })
		t.tables[d.id].clk = clk
	}
	t.jr = newJournalLog(t, t.vol[sJournals])
	t.acctIDs = make([][36]byte, len(chart))
	for i := range t.acctIDs {
		putUUID(t.acctIDs[i][:], t.rid(sAccounts, i))
	}
	t.trackIDs = make([][36]byte, len(trackingCats))
	t.optIDs = make([][][36]byte, len(trackingCats))
	for cat := range trackingCats {
		putUUID(t.trackIDs[cat][:], t.rid(sTrackingCategories, cat))
		t.optIDs[cat] = make([][36]byte, len(trackingCats[cat].options))
		for opt := range t.optIDs[cat] {
			putUUID(t.optIDs[cat][opt][:], t.sub(kindTrackOpt, sTrackingCategories, cat, opt))
		}
	}
	t.lineTracking = make([][][]byte, len(trackingCats))
	for cat, tc := range trackingCats {
		t.lineTracking[cat] = make([][]byte, len(tc.options))
		for opt, o := range tc.options {
			w := jw{}
			w.obj()
			w.str("Name", tc.name)
			w.str("Option", o.name)
			w.idText("TrackingCategoryID", &t.trackIDs[cat])
			w.idText("TrackingOptionID", &t.optIDs[cat][opt])
			t.lineTracking[cat][opt] = w.b
		}
	}
	return t
}

// accountID writes the AccountID of account a.
func (c *rctx) accountID(a int) {
	if a < len(c.t.acctIDs) {
		c.w.idText("AccountID", &c.t.acctIDs[a])
		return
	}
	c.w.id("AccountID", c.t.rid(sAccounts, a))
}

// trackingCategoryID writes the TrackingCategoryID of category cat.
func (c *rctx) trackingCategoryID(cat int) {
	if cat < len(c.t.trackIDs) {
		c.w.idText("TrackingCategoryID", &c.t.trackIDs[cat])
		return
	}
	c.w.id("TrackingCategoryID", c.t.rid(sTrackingCategories, cat))
}

// trackingOptionID writes the TrackingOptionID of option opt of category cat.
func (c *rctx) trackingOptionID(cat, opt int) {
	if cat < len(c.t.optIDs) && opt < len(c.t.optIDs[cat]) {
		c.w.idText("TrackingOptionID", &c.t.optIDs[cat][opt])
		return
	}
	c.w.id("TrackingOptionID", c.t.sub(kindTrackOpt, sTrackingCategories, cat, opt))
}

// dataEpoch is the latest moment generated history may reach (2026-01-01T00:00:00Z), so data
// does not depend on the day the simulator runs.
const dataEpoch = 1767225600000

// rec returns a generator for the stable part of record i of stream s (what never changes
// between versions).
func (t *tenant) rec(s streamID, i int) rng { return newRNG(mix3(t.seed, uint64(s), uint64(i))) }

// recVer returns a generator for the parts of record i that change with its version.
func (t *tenant) recVer(s streamID, i int, ver uint32) rng {
	return newRNG(mix(mix3(t.seed, uint64(s), uint64(i)), uint64(ver)+77))
}

// sub derives the id of a sub-object (line, allocation, option) of a record.
func (t *tenant) sub(kind uint64, s streamID, i, j int) uuid {
	return makeUUID(mix(mix3(t.seed, kind, uint64(s)), uint64(i)<<20|uint64(j)))
}

func (t *tenant) rid(s streamID, i int) uuid { return t.tables[s].id(i) }

// initStatus is the status a generated record starts with.
func (t *tenant) initStatus(d *streamDef, i int) uint8 {
	r := newRNG(mix3(t.seed, uint64(d.id)+500, uint64(i)))
	w := func(weights ...int) uint8 {
		sum := 0
		for _, x := range weights {
			sum += x
		}
		v := r.intn(sum)
		for k, x := range weights {
			if v < x {
				return uint8(k)
			}
			v -= x
		}
		return 0
	}
	switch d.id {
	case sInvoices:
		if t.invoicePayment(i) >= 0 {
			return d.statusIndex("PAID")
		}
		// DRAFT SUBMITTED DELETED AUTHORISED PAID VOIDED
		return w(10, 6, 3, 75, 0, 6)
	case sCreditNotes:
		if t.creditNotePayment(i) >= 0 || t.creditNoteAllocated(i) {
			return d.statusIndex("PAID")
		}
		return w(10, 3, 3, 80, 0, 4)
	case sContacts:
		return w(92, 8, 0)
	case sBankTransactions:
		return w(94, 3, 3)
	case sBankTransfers:
		return w(95, 5)
	case sManualJournals:
		return w(10, 82, 3, 3, 2)
	case sOverpayments, sPrepayments:
		return w(60, 35, 5)
	case sPurchaseOrders:
		return w(15, 10, 50, 20, 5)
	case sQuotes:
		return w(15, 35, 10, 25, 10, 5)
	case sReceipts:
		return w(10, 20, 60, 5, 5)
	case sExpenseClaims:
		return w(20, 40, 30, 5, 5)
	case sLinkedTransactions:
		return w(40, 30, 10, 15, 5)
	case sRepeatingInvoices:
		return w(20, 75, 5)
	case sAccounts:
		if i >= len(chart) {
			return w(90, 10, 0)
		}
	case sTaxRates:
		return d.statusIndex(t.prof.taxes[i].status)
	case sTrackingCategories:
		if i == 2 {
			return d.statusIndex("ARCHIVED")
		}
	case sEmployees:
		return w(85, 10, 0, 5)
	case sContactGroups:
		return w(90, 10)
	}
	return 0
}

// Payments link to invoices through a fixed bijection so that both sides can be generated
// independently: payment j < #invoices pays invoice perm(j); later payments refund credit notes.

func (t *tenant) n0(s streamID) int { return t.vol[s] }

func coprimeStep(n int) int {
	if n <= 1 {
		return 1
	}
	for _, p := range []int{7919, 104729, 15485863, 2147483647 % n} {
		if p%n != 0 && gcd(p%n, n) == 1 {
			return p % n
		}
	}
	return 1
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// modInverse returns x with a*x = 1 mod n.
func modInverse(a, n int) int {
	t, nt, r, nr := 0, 1, n, a
	for nr != 0 {
		q := r / nr
		t, nt = nt, t-q*nt
		r, nr = nr, r-q*nr
	}
	if t < 0 {
		t += n
	}
	return t
}

// paymentTarget returns the stream and index a payment pays.
func (t *tenant) paymentTarget(j int) (streamID, int) {
	if inv, ok := t.payInv[int32(j)]; ok {
		return sInvoices, int(inv)
	}
	ni, nc := t.n0(sInvoices), t.n0(sCreditNotes)
	if j < ni {
		return sInvoices, (j * t.payStep) % ni
	}
	if nc > 0 {
		return sCreditNotes, (j - ni) % nc
	}
	if ni > 0 {
		return sInvoices, j % ni
	}
	return -1, -1
}

// invoicePayment returns the payment of invoice k, or -1.
func (t *tenant) invoicePayment(k int) int {
	if p, ok := t.invPay[int32(k)]; ok {
		return int(p)
	}
	ni := t.n0(sInvoices)
	if k >= ni || ni == 0 {
		return -1
	}
	j := (k * t.payStepInv) % ni
	if ni == 1 {
		j = 0
	}
	if j < t.n0(sPayments) {
		return j
	}
	return -1
}

// creditNotePayment returns the refund payment of credit note k, or -1.
func (t *tenant) creditNotePayment(k int) int {
	ni := t.n0(sInvoices)
	if k >= t.n0(sCreditNotes) {
		return -1
	}
	if j := ni + k; j < t.n0(sPayments) {
		return j
	}
	return -1
}

// creditNoteAllocated reports whether credit note k is allocated against an invoice.
func (t *tenant) creditNoteAllocated(k int) bool {
	r := t.rec(sCreditNotes, k)
	r.next()
	return k < t.n0(sCreditNotes) && t.n0(sInvoices) > 0 && r.chance(0.3) && t.creditNotePayment(k) < 0
}

// live reports whether record i of s exists and is not soft-deleted or voided.
func (t *tenant) liveStatus(s streamID, i int) string {
	tb := t.tables[s]
	return tb.def.statuses[tb.status[i]]
}

// contactFor picks the contact of a document: an existing, generated contact.
func (t *tenant) contactFor(r *rng) int {
	n := t.n0(sContacts)
	if n == 0 {
		return -1
	}
	return r.intn(n)
}

// referencedItems is how many items documents may reference; items beyond can be hard-deleted.
func (t *tenant) referencedItems() int { return (t.n0(sItems) + 1) / 2 }

// accountCode returns the code of account i of the accounts table.
func (t *tenant) accountCode(i int) string {
	if i < len(t.acctCodes) {
		return t.acctCodes[i]
	}
	return fmt.Sprintf("X%04d", i)
}

// sortedStreams lists the stream definitions by name, for stable output.
func sortedStreams() []*streamDef {
	ds := slices.Clone(defs[:])
	slices.SortFunc(ds, func(a, b *streamDef) int {
		if a.name < b.name {
			return -1
		}
		return 1
	})
	return ds
}
