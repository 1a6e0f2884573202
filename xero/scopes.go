package xero

import (
	"slices"
	"strings"
)

// Scopes of Xero's identity service that the connector asks for.
const (
	// ScopeOfflineAccess makes the authorisation return a refresh token.
	ScopeOfflineAccess = "offline_access"
	// ScopeSettingsRead covers /Currencies, the call that checks access at start.
	ScopeSettingsRead = "accounting.settings.read"
)

// endpointScopes maps each list endpoint the connector reads to the read-only scope it needs:
// granular (every app created since 2 March 2026) and broad (older apps, until September 2027).
// Granular scopes split the broad accounting.transactions by family; items moved from the
// settings to the invoices family.
var endpointScopes = map[string]struct{ granular, broad string }{
	"/Accounts":           {ScopeSettingsRead, ScopeSettingsRead},
	"/BrandingThemes":     {ScopeSettingsRead, ScopeSettingsRead},
	"/Currencies":         {ScopeSettingsRead, ScopeSettingsRead},
	"/Employees":          {ScopeSettingsRead, ScopeSettingsRead},
	"/Organisation":       {ScopeSettingsRead, ScopeSettingsRead},
	"/TaxRates":           {ScopeSettingsRead, ScopeSettingsRead},
	"/TrackingCategories": {ScopeSettingsRead, ScopeSettingsRead},
	"/Users":              {ScopeSettingsRead, ScopeSettingsRead},
	"/Contacts":           {"accounting.contacts.read", "accounting.contacts.read"},
	"/ContactGroups":      {"accounting.contacts.read", "accounting.contacts.read"},
	"/Journals":           {"accounting.journals.read", "accounting.journals.read"},
	"/Items":              {"accounting.invoices.read", ScopeSettingsRead},
	"/Invoices":           {"accounting.invoices.read", "accounting.transactions.read"},
	"/CreditNotes":        {"accounting.invoices.read", "accounting.transactions.read"},
	"/LinkedTransactions": {"accounting.invoices.read", "accounting.transactions.read"},
	"/PurchaseOrders":     {"accounting.invoices.read", "accounting.transactions.read"},
	"/Quotes":             {"accounting.invoices.read", "accounting.transactions.read"},
	"/RepeatingInvoices":  {"accounting.invoices.read", "accounting.transactions.read"},
	"/Overpayments":       {"accounting.payments.read", "accounting.transactions.read"},
	"/Payments":           {"accounting.payments.read", "accounting.transactions.read"},
	"/Prepayments":        {"accounting.payments.read", "accounting.transactions.read"},
	"/BankTransactions":   {"accounting.banktransactions.read", "accounting.transactions.read"},
	"/BankTransfers":      {"accounting.banktransactions.read", "accounting.transactions.read"},
	"/ManualJournals":     {"accounting.manualjournals.read", "accounting.transactions.read"},
	"/ExpenseClaims":      {"accounting.classicexpenses.read", "accounting.transactions.read"},
	"/Receipts":           {"accounting.classicexpenses.read", "accounting.transactions.read"},
}

// ScopeFor returns the read scope an endpoint ("/Invoices") needs: the broad one when broad is
// true, else the granular one. It returns "" for an endpoint it does not know.
func ScopeFor(endpoint string, broad bool) string {
	s, ok := endpointScopes[endpoint]
	if !ok {
		return ""
	}
	if broad {
		return s.broad
	}
	return s.granular
}

// Scopes returns the scopes to ask for to read the given endpoints: each one's read scope,
// accounting.settings.read (for the check at start), and offline_access, sorted, without
// repeats. Endpoints it does not know add nothing.
func Scopes(endpoints []string, broad bool) []string {
	set := []string{ScopeOfflineAccess, ScopeSettingsRead}
	for _, e := range endpoints {
		if s := ScopeFor(e, broad); s != "" {
			set = append(set, s)
		}
	}
	slices.Sort(set)
	return slices.Compact(set)
}

// ParseScopes splits the scope string of a token response ("openid accounting.settings.read").
func ParseScopes(s string) []string { return strings.Fields(s) }
