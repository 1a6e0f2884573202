package xerosim

// The 26 streams as the simulator serves them. Names are the same strings the connector uses;
// the simulator keeps its own table so that it stays an independent oracle.

type streamID int

const (
	sAccounts streamID = iota
	sBankTransactions
	sBankTransfers
	sContacts
	sCreditNotes
	sEmployees
	sExpenseClaims
	sInvoices
	sItems
	sJournals
	sLinkedTransactions
	sManualJournals
	sOverpayments
	sPayments
	sPrepayments
	sPurchaseOrders
	sQuotes
	sReceipts
	sUsers
	sBrandingThemes
	sContactGroups
	sCurrencies
	sOrganisations
	sRepeatingInvoices
	sTaxRates
	sTrackingCategories
	numStreams
)

// paging is how an endpoint splits its list.
type paging int

const (
	pagingNone     paging = iota // whole list in one response
	pagingPageSize               // page + pageSize (<= 1000), pagination object
	pagingPageOnly               // page, 100 a page, no pagination object
	pagingOffset                 // offset = JournalNumber, 100 a call
)

// hideRule says which records a plain list call leaves out.
type hideRule int

const (
	hideNone     hideRule = iota
	hideArchived          // shown only with includeArchived=true
	hideDeleted           // shown only with includeDeleted=true
)

// streamDef describes one endpoint.
type streamDef struct {
	id        streamID
	name      string
	path      string
	wrapper   string
	paging    paging
	ims       bool   // honours If-Modified-Since
	imsField  string // UpdatedDateUTC or CreatedDateUTC
	ordered   bool   // takes order
	unitdp    bool   // takes unitdp
	lines     bool   // paged document endpoint: line details only when page is given
	hide      hideRule
	hideValue string   // the status that hides a record
	statuses  []string // status values, indexed by the stored status byte
	volume    int      // default number of records per tenant
	mutable   bool     // changed by the background mutator
	render    func(c *rctx, i int)
}

func (d *streamDef) hidden(st uint8) bool {
	return d.hide != hideNone && int(st) < len(d.statuses) && d.statuses[st] == d.hideValue
}

// statusIndex returns the stored byte of a status value.
func (d *streamDef) statusIndex(s string) uint8 {
	for i, v := range d.statuses {
		if v == s {
			return uint8(i)
		}
	}
	panic("xerosim: unknown status " + s + " for " + d.name)
}

var (
	docStatuses = []string{"DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED"}
)

// defs is indexed by streamID; render functions are attached in init to avoid a cycle.
var defs = [numStreams]*streamDef{
	sAccounts:           {name: "accounts", path: "/Accounts", wrapper: "Accounts", ims: true, imsField: "UpdatedDateUTC", ordered: true, statuses: []string{"ACTIVE", "ARCHIVED", "DELETED"}, volume: len(chart), mutable: true},
	sBankTransactions:   {name: "bank_transactions", path: "/BankTransactions", wrapper: "BankTransactions", paging: pagingPageSize, ims: true, imsField: "UpdatedDateUTC", ordered: true, unitdp: true, lines: true, statuses: []string{"AUTHORISED", "DELETED", "VOIDED"}, volume: 300, mutable: true},
	sBankTransfers:      {name: "bank_transfers", path: "/BankTransfers", wrapper: "BankTransfers", ims: true, imsField: "CreatedDateUTC", ordered: true, hide: hideDeleted, hideValue: "DELETED", statuses: []string{"AUTHORISED", "DELETED"}, volume: 20, mutable: true},
	sContacts:           {name: "contacts", path: "/Contacts", wrapper: "Contacts", paging: pagingPageSize, ims: true, imsField: "UpdatedDateUTC", ordered: true, hide: hideArchived, hideValue: "ARCHIVED", statuses: []string{"ACTIVE", "ARCHIVED", "GDPRREQUEST"}, volume: 200, mutable: true},
	sCreditNotes:        {name: "credit_notes", path: "/CreditNotes", wrapper: "CreditNotes", paging: pagingPageSize, ims: true, imsField: "UpdatedDateUTC", ordered: true, unitdp: true, lines: true, statuses: docStatuses, volume: 50, mutable: true},
	sEmployees:          {name: "employees", path: "/Employees", wrapper: "Employees", ims: true, imsField: "UpdatedDateUTC", ordered: true, statuses: []string{"ACTIVE", "ARCHIVED", "GDPRREQUEST", "DELETED"}, volume: 10, mutable: true},
	sExpenseClaims:      {name: "expense_claims", path: "/ExpenseClaims", wrapper: "ExpenseClaims", ims: true, imsField: "UpdatedDateUTC", ordered: true, statuses: []string{"SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"}, volume: 10, mutable: true},
	sInvoices:           {name: "invoices", path: "/Invoices", wrapper: "Invoices", paging: pagingPageSize, ims: true, imsField: "UpdatedDateUTC", ordered: true, unitdp: true, lines: true, statuses: docStatuses, volume: 500, mutable: true},
	sItems:              {name: "items", path: "/Items", wrapper: "Items", ims: true, imsField: "UpdatedDateUTC", ordered: true, unitdp: true, statuses: []string{"ACTIVE"}, volume: 30, mutable: true},
	sJournals:           {name: "journals", path: "/Journals", wrapper: "Journals", paging: pagingOffset, ims: true, imsField: "CreatedDateUTC", volume: 1500},
	sLinkedTransactions: {name: "linked_transactions", path: "/LinkedTransactions", wrapper: "LinkedTransactions", paging: pagingPageOnly, statuses: []string{"APPROVED", "DRAFT", "ONDRAFT", "BILLED", "VOIDED"}, volume: 20, mutable: true},
	sManualJournals:     {name: "manual_journals", path: "/ManualJournals", wrapper: "ManualJournals", paging: pagingPageSize, ims: true, imsField: "UpdatedDateUTC", ordered: true, lines: true, statuses: []string{"DRAFT", "POSTED", "DELETED", "VOIDED", "ARCHIVED"}, volume: 20, mutable: true},
	sOverpayments:       {name: "overpayments", path: "/Overpayments", wrapper: "Overpayments", paging: pagingPageSize, ims: true, imsField: "UpdatedDateUTC", ordered: true, unitdp: true, lines: true, statuses: []string{"AUTHORISED", "PAID", "VOIDED"}, volume: 10, mutable: true},
	sPayments:           {name: "payments", path: "/Payments", wrapper: "Payments", paging: pagingPageSize, ims: true, imsField: "UpdatedDateUTC", ordered: true, statuses: []string{"AUTHORISED", "DELETED"}, volume: 300, mutable: true},
	sPrepayments:        {name: "prepayments", path: "/Prepayments", wrapper: "Prepayments", paging: pagingPageSize, ims: true, imsField: "UpdatedDateUTC", ordered: true, unitdp: true, lines: true, statuses: []string{"AUTHORISED", "PAID", "VOIDED"}, volume: 10, mutable: true},
	sPurchaseOrders:     {name: "purchase_orders", path: "/PurchaseOrders", wrapper: "PurchaseOrders", paging: pagingPageSize, ims: true, imsField: "UpdatedDateUTC", ordered: true, lines: true, statuses: []string{"DRAFT", "SUBMITTED", "AUTHORISED", "BILLED", "DELETED"}, volume: 50, mutable: true},
	sQuotes:             {name: "quotes", path: "/Quotes", wrapper: "Quotes", paging: pagingPageOnly, ims: true, imsField: "UpdatedDateUTC", ordered: true, lines: true, statuses: []string{"DRAFT", "SENT", "DECLINED", "ACCEPTED", "INVOICED", "DELETED"}, volume: 50, mutable: true},
	sReceipts:           {name: "receipts", path: "/Receipts", wrapper: "Receipts", ims: true, imsField: "UpdatedDateUTC", ordered: true, unitdp: true, statuses: []string{"DRAFT", "SUBMITTED", "AUTHORISED", "DECLINED", "VOIDED"}, volume: 20, mutable: true},
	sUsers:              {name: "users", path: "/Users", wrapper: "Users", ims: true, imsField: "UpdatedDateUTC", ordered: true, statuses: []string{"ACTIVE"}, volume: 5, mutable: true},
	sBrandingThemes:     {name: "branding_themes", path: "/BrandingThemes", wrapper: "BrandingThemes", statuses: []string{"ACTIVE"}, volume: 3},
	sContactGroups:      {name: "contact_groups", path: "/ContactGroups", wrapper: "ContactGroups", ordered: true, statuses: []string{"ACTIVE", "DELETED"}, volume: 4, mutable: true},
	sCurrencies:         {name: "currencies", path: "/Currencies", wrapper: "Currencies", ordered: true, statuses: []string{"ACTIVE"}, volume: 4},
	sOrganisations:      {name: "organisations", path: "/Organisation", wrapper: "Organisations", statuses: []string{"ACTIVE"}, volume: 1},
	sRepeatingInvoices:  {name: "repeating_invoices", path: "/RepeatingInvoices", wrapper: "RepeatingInvoices", ordered: true, statuses: []string{"DRAFT", "AUTHORISED", "DELETED"}, volume: 10, mutable: true},
	sTaxRates:           {name: "tax_rates", path: "/TaxRates", wrapper: "TaxRates", ordered: true, statuses: []string{"ACTIVE", "DELETED", "ARCHIVED", "PENDING"}},
	sTrackingCategories: {name: "tracking_categories", path: "/TrackingCategories", wrapper: "TrackingCategories", ordered: true, hide: hideArchived, hideValue: "ARCHIVED", statuses: []string{"ACTIVE", "ARCHIVED", "DELETED"}, volume: 3},
}

var defsByName = func() map[string]*streamDef {
	m := make(map[string]*streamDef, numStreams)
	for i, d := range defs {
		d.id = streamID(i)
		m[d.name] = d
	}
	return m
}()

// StreamNames returns the names of the 26 streams the simulator serves, in a stable order.
func StreamNames() []string {
	names := make([]string, 0, numStreams)
	for _, d := range defs {
		names = append(names, d.name)
	}
	return names
}
