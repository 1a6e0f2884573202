// Package streams is the table of the 26 Xero entities the connector reads: for each, the endpoint,
// the wrapper key of its list response, its keys, how it is paged and how changes are found.
//
// It is plain data with no behaviour beyond lookups. Differences between streams are named values
// (Sync, Paging) that the connector switches on, never stream names.
package streams

import (
	"fmt"
	"net/url"
)

// Sync says how the connector finds what changed in a stream since its bookmark.
type Sync int

const (
	// Keyset reads the records whose replication key (UpdatedDateUTC) moved past the watermark:
	// If-Modified-Since just below the watermark, ordered by the replication key ascending,
	// starting again at page 1 after every committed page.
	Keyset Sync = iota + 1
	// Offset reads an append-only stream by a strictly increasing number (journals:
	// offset = the last JournalNumber written).
	Offset
	// Scan reads the whole stream every cycle and emits the records whose content changed since
	// the last scan, and a tombstone for each record that disappeared. It serves endpoints
	// without If-Modified-Since, the full tables, and the streams whose changes or deletions
	// If-Modified-Since cannot see (hard deletes, soft deletes that keep the cursor).
	Scan
)

func (s Sync) String() string {
	switch s {
	case Keyset:
		return "keyset"
	case Offset:
		return "offset"
	case Scan:
		return "scan"
	}
	return fmt.Sprintf("Sync(%d)", int(s))
}

// Paging says how an endpoint splits its list into calls.
type Paging int

const (
	// Unpaged endpoints return the whole list in one response.
	Unpaged Paging = iota + 1
	// PageSize endpoints take page and pageSize (up to 1000) and answer with a pagination object.
	PageSize
	// PageOnly endpoints take page alone and return up to 100 records per page, with no
	// pagination object: a short page is the last.
	PageOnly
	// OffsetPaged endpoints take offset and return up to 100 records numbered above it.
	OffsetPaged
)

func (p Paging) String() string {
	switch p {
	case Unpaged:
		return "unpaged"
	case PageSize:
		return "page+pageSize"
	case PageOnly:
		return "page"
	case OffsetPaged:
		return "offset"
	}
	return fmt.Sprintf("Paging(%d)", int(p))
}

// Page sizes Xero serves.
const (
	// MaxPageSize is the largest pageSize Xero accepts on PageSize endpoints.
	MaxPageSize = 1000
	// FixedPageSize is the number of records per page on PageOnly and OffsetPaged endpoints.
	FixedPageSize = 100
)

// Stream describes one Xero entity and how to read it. Values are immutable: take them from All
// or ByName and do not modify them.
type Stream struct {
	// Name is the stream's name, the suffix of its topic: "invoices".
	Name string
	// Path is the list endpoint under the Accounting API base: "/Invoices".
	Path string
	// Wrapper is the key of the record array in the response body: "Invoices".
	Wrapper string
	// Schema is the name of the record's schema in Xero's OpenAPI spec: "Invoice".
	Schema string
	// PrimaryKey is the field that identifies a record within one organisation.
	PrimaryKey string
	// ReplicationKey is the field whose value orders changes (UpdatedDateUTC, JournalNumber,
	// CreatedDateUTC), or "" for a full table.
	ReplicationKey string
	// Sync says how changes are found.
	Sync Sync
	// Paging says how the endpoint splits its list.
	Paging Paging
	// ModifiedSince is true when the endpoint honours the If-Modified-Since header.
	ModifiedSince bool
	// Ordered is true when the endpoint takes an order parameter.
	Ordered bool
	// FullTable marks the reference tables that change rarely and are polled less often.
	FullTable bool
	// Removed is true when Xero has withdrawn the endpoint: a 404 there is a warning for the
	// stream, not a failure of the connector.
	Removed bool
	// Params are fixed query parameters sent on every call (unitdp, includeArchived, ...).
	Params map[string]string
	// FilterParam is a query parameter that selects one record by its primary key, used to
	// confirm that a record missing from a multi-page scan is really gone ("" when the endpoint
	// has none; a scan of an unpaged endpoint is a consistent snapshot and needs none).
	FilterParam string
}

// Query returns the fixed query parameters of the stream as url.Values, a fresh copy each call.
func (s *Stream) Query() url.Values {
	q := make(url.Values, len(s.Params))
	for k, v := range s.Params {
		q.Set(k, v)
	}
	return q
}

// Common fixed parameters. unitdp=4 gives unit amounts their full four decimals; the archive and
// delete switches make the list include records Xero hides by default.
var (
	unitdp          = map[string]string{"unitdp": "4"}
	archived        = map[string]string{"includeArchived": "true"}
	archivedUnitdp  = map[string]string{"includeArchived": "true", "unitdp": "4"}
	includesDeleted = map[string]string{"includeDeleted": "true"}
)

// incremental builds a Keyset stream on UpdatedDateUTC; every such endpoint takes
// If-Modified-Since and order.
func incremental(name, path, wrapper, schema, pk string, paging Paging, params map[string]string) Stream {
	return Stream{
		Name: name, Path: path, Wrapper: wrapper, Schema: schema,
		PrimaryKey: pk, ReplicationKey: "UpdatedDateUTC",
		Sync: Keyset, Paging: paging, ModifiedSince: true, Ordered: true, Params: params,
	}
}

// table builds a full-table Scan stream read in one call.
func table(name, path, wrapper, schema, pk string, params map[string]string) Stream {
	return Stream{
		Name: name, Path: path, Wrapper: wrapper, Schema: schema, PrimaryKey: pk,
		Sync: Scan, Paging: Unpaged, FullTable: true, Params: params,
	}
}

var all = []Stream{
	incremental("accounts", "/Accounts", "Accounts", "Account", "AccountID", Unpaged, nil),
	incremental("bank_transactions", "/BankTransactions", "BankTransactions", "BankTransaction", "BankTransactionID", PageSize, unitdp),
	{
		// Bank transfers have no UpdatedDateUTC: their cursor is CreatedDateUTC, which a soft
		// delete (Status DELETED, visible with includeDeleted) does not move. A scan sees both.
		Name: "bank_transfers", Path: "/BankTransfers", Wrapper: "BankTransfers", Schema: "BankTransfer",
		PrimaryKey: "BankTransferID", ReplicationKey: "CreatedDateUTC",
		Sync: Scan, Paging: Unpaged, ModifiedSince: true, Ordered: true, Params: includesDeleted,
	},
	incremental("contacts", "/Contacts", "Contacts", "Contact", "ContactID", PageSize, archived),
	incremental("credit_notes", "/CreditNotes", "CreditNotes", "CreditNote", "CreditNoteID", PageSize, unitdp),
	func() Stream {
		s := incremental("employees", "/Employees", "Employees", "Employee", "EmployeeID", Unpaged, nil)
		s.Removed = true
		return s
	}(),
	incremental("expense_claims", "/ExpenseClaims", "ExpenseClaims", "ExpenseClaim", "ExpenseClaimID", Unpaged, nil),
	incremental("invoices", "/Invoices", "Invoices", "Invoice", "InvoiceID", PageSize, archivedUnitdp),
	{
		// Items can be hard-deleted (204, the row is gone), which If-Modified-Since cannot see.
		// The endpoint is unpaged, so a scan costs the same one call.
		Name: "items", Path: "/Items", Wrapper: "Items", Schema: "Item",
		PrimaryKey: "ItemID", ReplicationKey: "UpdatedDateUTC",
		Sync: Scan, Paging: Unpaged, ModifiedSince: true, Ordered: true, Params: unitdp,
	},
	{
		Name: "journals", Path: "/Journals", Wrapper: "Journals", Schema: "Journal",
		PrimaryKey: "JournalID", ReplicationKey: "JournalNumber",
		Sync: Offset, Paging: OffsetPaged, ModifiedSince: true,
	},
	{
		// No If-Modified-Since, where or order on this endpoint, and rows can be hard-deleted:
		// every cycle reads all pages and emits what changed.
		Name: "linked_transactions", Path: "/LinkedTransactions", Wrapper: "LinkedTransactions", Schema: "LinkedTransaction",
		PrimaryKey: "LinkedTransactionID", ReplicationKey: "UpdatedDateUTC",
		Sync: Scan, Paging: PageOnly, FilterParam: "LinkedTransactionID",
	},
	incremental("manual_journals", "/ManualJournals", "ManualJournals", "ManualJournal", "ManualJournalID", PageSize, nil),
	incremental("overpayments", "/Overpayments", "Overpayments", "Overpayment", "OverpaymentID", PageSize, unitdp),
	incremental("payments", "/Payments", "Payments", "Payment", "PaymentID", PageSize, nil),
	incremental("prepayments", "/Prepayments", "Prepayments", "Prepayment", "PrepaymentID", PageSize, unitdp),
	incremental("purchase_orders", "/PurchaseOrders", "PurchaseOrders", "PurchaseOrder", "PurchaseOrderID", PageSize, nil),
	incremental("quotes", "/Quotes", "Quotes", "Quote", "QuoteID", PageOnly, nil),
	incremental("receipts", "/Receipts", "Receipts", "Receipt", "ReceiptID", Unpaged, unitdp),
	incremental("users", "/Users", "Users", "User", "UserID", Unpaged, nil),
	table("branding_themes", "/BrandingThemes", "BrandingThemes", "BrandingTheme", "BrandingThemeID", nil),
	table("contact_groups", "/ContactGroups", "ContactGroups", "ContactGroup", "ContactGroupID", nil),
	table("currencies", "/Currencies", "Currencies", "Currency", "Code", nil),
	table("organisations", "/Organisation", "Organisations", "Organisation", "OrganisationID", nil),
	table("repeating_invoices", "/RepeatingInvoices", "RepeatingInvoices", "RepeatingInvoice", "RepeatingInvoiceID", nil),
	table("tax_rates", "/TaxRates", "TaxRates", "TaxRate", "TaxType", nil),
	table("tracking_categories", "/TrackingCategories", "TrackingCategories", "TrackingCategory", "TrackingCategoryID", archived),
}

var byName = func() map[string]*Stream {
	m := make(map[string]*Stream, len(all))
	for i := range all {
		m[all[i].Name] = &all[i]
	}
	return m
}()

// All returns the 26 streams in a stable order. The slice is a copy; the Params maps are shared
// and must not be modified.
func All() []Stream {
	return append([]Stream(nil), all...)
}

// ByName returns the stream with the given name.
func ByName(name string) (Stream, bool) {
	s, ok := byName[name]
	if !ok {
		return Stream{}, false
	}
	return *s, true
}

// Names returns the names of all streams in the order of All.
func Names() []string {
	names := make([]string, len(all))
	for i := range all {
		names[i] = all[i].Name
	}
	return names
}
