package xerosim

import (
	"fmt"
	"strings"
)

// Settings and reference data: accounts, items, users, employees, branding themes, contact
// groups, currencies, the organisation, tax rates and tracking categories.

func init() {
	defs[sAccounts].render = renderAccount
	defs[sItems].render = renderItem
	defs[sUsers].render = renderUser
	defs[sEmployees].render = renderEmployee
	defs[sBrandingThemes].render = renderBrandingTheme
	defs[sContactGroups].render = renderContactGroup
	defs[sCurrencies].render = renderCurrency
	defs[sOrganisations].render = renderOrganisation
	defs[sTaxRates].render = renderTaxRate
	defs[sTrackingCategories].render = renderTrackingCategory
	defs[sContacts].render = renderContact
}

func renderAccount(c *rctx, i int) {
	c.begin(sAccounts, i)
	t, w := c.t, c.w
	rv := t.recVer(sAccounts, i, c.ver(i))
	a := chartDef{name: fmt.Sprintf("Expense account %d", i+1), typ: "EXPENSE", class: "EXPENSE", tax: "purchase"}
	if i < len(chart) {
		a = chart[i]
	}
	w.obj()
	c.accountID(i)
	w.str("Code", t.accountCode(i))
	name := a.name
	if c.ver(i) > 0 && i >= len(chart) {
		name = fmt.Sprintf("%s (%d)", a.name, c.ver(i))
	}
	w.str("Name", name)
	w.str("Status", c.status(i))
	w.str("Type", a.typ)
	switch a.tax {
	case "sales":
		w.str("TaxType", t.prof.salesTax)
	case "purchase":
		w.str("TaxType", t.prof.purchaseTax)
	default:
		w.str("TaxType", t.prof.noTax)
	}
	w.str("Description", pick(&rv, []string{"", "Used for day-to-day trading", "See the accounting policy"}))
	w.str("Class", a.class)
	if a.system != "" {
		w.str("SystemAccount", a.system)
	}
	w.boolean("EnablePaymentsToAccount", a.bank)
	w.boolean("ShowInExpenseClaims", a.typ == "EXPENSE" || a.typ == "OVERHEADS")
	if a.bank {
		w.str("BankAccountType", "BANK")
		w.str("BankAccountNumber", fmt.Sprintf("%02d%04d%08d%03d", 1+i, 1000+i*7, 1234567+i*31, i))
		w.str("CurrencyCode", t.prof.currency)
	} else {
		w.str("BankAccountType", "")
	}
	w.str("ReportingCode", strings.ToUpper(a.class[:3])+".CUR")
	w.str("ReportingCodeName", a.class[:1]+strings.ToLower(a.class[1:]))
	w.boolean("HasAttachments", false)
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.boolean("AddToWatchlist", rv.chance(0.1))
	w.end()
}

func renderItem(c *rctx, i int) {
	c.begin(sItems, i)
	t, w := c.t, c.w
	rv := t.recVer(sItems, i, c.ver(i))
	r := t.rec(sItems, i)
	name, price := t.itemSale(i)
	tracked := i < t.referencedItems() && i%5 == 0
	w.obj()
	w.id("ItemID", t.rid(sItems, i))
	w.str("Code", itemCode(t, i))
	w.str("Description", name+" "+pick(&rv, []string{"(standard)", "(premium)", "- each", ""}))
	w.str("PurchaseDescription", name)
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.objKey("PurchaseDetails")
	w.money("UnitPrice", price*6/10, c.unitdp)
	if tracked {
		w.str("COGSAccountCode", t.accountCode(acctCost))
	} else {
		w.str("AccountCode", t.accountCode(pick(&r, expenseAccts)))
	}
	w.str("TaxType", t.prof.purchaseTax)
	w.end()
	w.objKey("SalesDetails")
	w.money("UnitPrice", price, c.unitdp)
	w.str("AccountCode", t.accountCode(pick(&r, revenueAccts)))
	w.str("TaxType", t.prof.salesTax)
	w.end()
	w.str("Name", name)
	w.boolean("IsTrackedAsInventory", tracked)
	if tracked {
		w.str("InventoryAssetAccountCode", "630")
		qty := int64(rv.between(0, 500)) * 10000
		w.money("TotalCostPool", roundTo(qty*(price*6/10)/10000, 2), 2)
		w.money("QuantityOnHand", qty, 4)
	}
	w.boolean("IsSold", true)
	w.boolean("IsPurchased", true)
	w.end()
}

func renderUser(c *rctx, i int) {
	c.begin(sUsers, i)
	c.w.obj()
	c.userFields(i, c.upd(i))
	c.w.end()
}

func renderEmployee(c *rctx, i int) {
	c.begin(sEmployees, i)
	t, w := c.t, c.w
	r := t.rec(sEmployees, i)
	fn, ln := pick(&r, firstNames), pick(&r, lastNames)
	w.obj()
	w.id("EmployeeID", t.rid(sEmployees, i))
	w.str("Status", c.status(i))
	w.str("FirstName", fn)
	w.str("LastName", ln)
	w.objKey("ExternalLink")
	w.str("Url", "https://www.example.com/staff/"+strings.ToLower(fn))
	w.str("Description", "Profile")
	w.end()
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.end()
}

var themeNames = []string{"Standard", "Special Projects", "Very orange invoice!", "Minimal", "Corporate"}

func renderBrandingTheme(c *rctx, i int) {
	c.begin(sBrandingThemes, i)
	t, w := c.t, c.w
	w.obj()
	w.id("BrandingThemeID", t.rid(sBrandingThemes, i))
	name := themeNames[i%len(themeNames)]
	if i >= len(themeNames) {
		name = fmt.Sprintf("%s %d", name, i+1)
	}
	w.str("Name", name)
	if i > 0 {
		w.str("LogoUrl", fmt.Sprintf("https://in.xero.com/logo?id=%s", t.rid(sBrandingThemes, i)))
	}
	w.str("Type", "INVOICE")
	w.integer("SortOrder", int64(i))
	w.msDate("CreatedDateUTC", c.upd(i))
	w.end()
}

var groupNames = []string{"Suppliers", "Preferred Customers", "VIP", "Wholesale", "Overseas", "Staff"}

func renderContactGroup(c *rctx, i int) {
	c.begin(sContactGroups, i)
	t, w := c.t, c.w
	w.obj()
	w.id("ContactGroupID", t.rid(sContactGroups, i))
	w.str("Name", t.groupName(i))
	w.str("Status", c.status(i))
	w.emptyArr("Contacts")
	w.end()
}

func (t *tenant) groupName(i int) string {
	if i < len(groupNames) {
		return groupNames[i]
	}
	return fmt.Sprintf("Group %d", i+1)
}

func renderCurrency(c *rctx, i int) {
	c.begin(sCurrencies, i)
	w := c.w
	code := c.t.currencies[min(i, len(c.t.currencies)-1)]
	w.obj()
	w.str("Code", code)
	w.str("Description", currencyNames[code])
	w.end()
}

func renderOrganisation(c *rctx, i int) {
	c.begin(sOrganisations, i)
	t, w := c.t, c.w
	p := t.prof
	r := t.rec(sOrganisations, i)
	w.obj()
	w.str("APIKey", strings.ToUpper(fmt.Sprintf("%016x", t.seed))[:16])
	w.str("Name", t.name)
	w.str("LegalName", t.name)
	w.boolean("PaysTax", true)
	w.str("Version", p.version)
	w.str("OrganisationType", "COMPANY")
	w.str("BaseCurrency", p.currency)
	w.str("CountryCode", p.country)
	w.boolean("IsDemoCompany", t.idx == 0)
	w.str("OrganisationStatus", "ACTIVE")
	w.str("RegistrationNumber", fmt.Sprintf("%07d", r.intn(10_000_000)))
	if p.country == "US" {
		w.str("EmployerIdentificationNumber", p.taxNumber)
	}
	w.str("TaxNumber", p.taxNumber)
	w.integer("FinancialYearEndDay", int64(p.fyEndDay))
	w.integer("FinancialYearEndMonth", int64(p.fyEndMonth))
	w.str("SalesTaxBasis", p.salesTaxBasis)
	w.str("SalesTaxPeriod", p.salesTaxPeriod)
	w.str("DefaultSalesTax", "Tax Exclusive")
	w.str("DefaultPurchasesTax", "Tax Inclusive")
	w.msDate("PeriodLockDate", midnight(t.baseTS))
	w.msDate("EndOfYearLockDate", midnight(t.baseTS))
	w.msDateNoZone("CreatedDateUTC", t.orgCreated)
	w.str("OrganisationEntityType", "COMPANY")
	w.str("Timezone", p.timezone)
	w.str("ShortCode", fmt.Sprintf("!%05x", t.seed&0xfffff))
	w.id("OrganisationID", makeUUID(mix(t.seed, kindOrg)))
	w.str("Edition", "BUSINESS")
	w.str("Class", "PREMIUM")
	w.str("LineOfBusiness", pick(&r, companyKinds))
	pl := p.places[0]
	w.arr("Addresses")
	for _, typ := range []string{"STREET", "POBOX"} {
		w.elem()
		w.str("AddressType", typ)
		w.str("AddressLine1", fmt.Sprintf("%d %s", 1+r.intn(300), pick(&r, streetNames)))
		w.str("City", pl.city)
		w.str("Region", pl.region)
		w.str("PostalCode", pl.postcode)
		w.str("Country", p.countryName)
		w.str("AttentionTo", "")
		w.end()
	}
	w.endArr()
	w.arr("Phones")
	w.elem()
	w.str("PhoneType", "OFFICE")
	w.str("PhoneNumber", fmt.Sprintf("%03d %04d", r.intn(1000), r.intn(10000)))
	w.str("PhoneAreaCode", fmt.Sprint(2+r.intn(8)))
	w.str("PhoneCountryCode", p.phoneCC)
	w.end()
	w.endArr()
	w.arr("ExternalLinks")
	w.elem()
	w.str("LinkType", "Website")
	w.str("Url", "https://www.example.com/"+strings.ToLower(strings.ReplaceAll(t.name, " ", "-")))
	w.end()
	w.endArr()
	w.objKey("PaymentTerms")
	if !c.shape.on { // recorded: {}
		w.objKey("Bills")
		w.integer("Day", 20)
		w.str("Type", "OFFOLLOWINGMONTH")
		w.end()
		w.objKey("Sales")
		w.integer("Day", 14)
		w.str("Type", "DAYSAFTERBILLDATE")
		w.end()
	}
	w.end()
	w.end()
}

func renderTaxRate(c *rctx, i int) {
	c.begin(sTaxRates, i)
	w := c.w
	td := &c.t.prof.taxes[i%len(c.t.prof.taxes)]
	w.obj()
	w.str("Name", td.name)
	w.str("TaxType", td.taxType)
	w.str("ReportTaxType", td.report)
	w.boolean("CanApplyToAssets", td.assets)
	w.boolean("CanApplyToEquity", td.equity)
	w.boolean("CanApplyToExpenses", td.exps)
	w.boolean("CanApplyToLiabilities", td.liabs)
	w.boolean("CanApplyToRevenue", td.revenue)
	w.money("DisplayTaxRate", td.rate, 4)
	w.money("EffectiveRate", td.rate, 4)
	w.str("Status", c.status(i))
	w.arr("TaxComponents")
	for _, tc := range td.components {
		w.elem()
		w.str("Name", tc.name)
		w.money("Rate", tc.rate, 4)
		w.boolean("IsCompound", tc.compound)
		w.boolean("IsNonRecoverable", false)
		w.end()
	}
	w.endArr()
	w.end()
}

func renderTrackingCategory(c *rctx, i int) {
	c.begin(sTrackingCategories, i)
	w := c.w
	tc := trackingCats[i%len(trackingCats)]
	w.obj()
	w.str("Name", tc.name)
	w.str("Status", c.status(i))
	c.trackingCategoryID(i)
	w.arr("Options")
	for k, o := range tc.options {
		if o.archived && !c.include {
			continue
		}
		w.elem()
		c.trackingOptionID(i, k)
		w.str("Name", o.name)
		if o.archived {
			w.str("Status", "ARCHIVED")
		} else {
			w.str("Status", "ACTIVE")
		}
		c.trackingCategoryID(i)
		w.end()
	}
	w.endArr()
	w.end()
}

func renderContact(c *rctx, i int) {
	c.begin(sContacts, i)
	t, w := c.t, c.w
	r := t.rec(sContacts, i)
	rv := t.recVer(sContacts, i, c.ver(i))
	p := t.prof
	name := t.contactName(i)
	fn, ln := pick(&r, firstNames), pick(&r, lastNames)
	supplier, customer := r.chance(0.4), r.chance(0.8)
	w.obj()
	w.id("ContactID", t.rid(sContacts, i))
	w.str("ContactNumber", fmt.Sprintf("C%05d", i+1))
	w.str("AccountNumber", fmt.Sprintf("ACC-%05d", i+1))
	w.str("ContactStatus", c.status(i))
	w.str("Name", name)
	w.str("FirstName", fn)
	w.str("LastName", ln)
	w.str("CompanyNumber", fmt.Sprintf("%08d", r.intn(100_000_000)))
	w.str("EmailAddress", strings.ToLower(fn+"."+ln)+fmt.Sprintf("%d@example.com", i+1))
	w.str("BankAccountDetails", fmt.Sprintf("%02d-%04d-%07d-%02d", r.intn(40), r.intn(10000), r.intn(10_000_000), r.intn(100)))
	w.str("TaxNumber", fmt.Sprintf("%03d-%03d-%03d", r.intn(1000), r.intn(1000), r.intn(1000)))
	if p.country == "US" {
		w.str("TaxNumberType", "EIN")
	}
	w.str("AccountsReceivableTaxType", p.salesTax)
	w.str("AccountsPayableTaxType", p.purchaseTax)
	pl := pick(&rv, p.places)
	if c.shape.on {
		w.str("SkypeUserName", "")
		w.str("TaxNumbeType", "") // sic, as Xero sends it
	}
	w.arr("Addresses")
	for _, typ := range []string{"STREET", "POBOX"} {
		w.elem()
		w.str("AddressType", typ)
		if c.shape.on && (typ == "POBOX" || c.shape.r.chance(0.6)) { // mostly empty strings
			for _, f := range []string{"AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4", "City", "Region", "PostalCode", "Country", "AttentionTo"} {
				w.str(f, "")
			}
			w.end()
			continue
		}
		w.str("AddressLine1", fmt.Sprintf("%d %s", 1+rv.intn(400), pick(&rv, streetNames)))
		w.str("AddressLine2", "")
		w.str("AddressLine3", "")
		w.str("AddressLine4", "")
		w.str("City", pl.city)
		w.str("Region", pl.region)
		w.str("PostalCode", pl.postcode)
		w.str("Country", p.countryName)
		w.str("AttentionTo", "")
		w.end()
	}
	w.endArr()
	w.arr("Phones")
	for k, typ := range []string{"DEFAULT", "DDI", "FAX", "MOBILE"} {
		w.elem()
		w.str("PhoneType", typ)
		if k == 0 || k == 3 {
			w.str("PhoneNumber", fmt.Sprintf("%03d-%04d", rv.intn(1000), rv.intn(10000)))
			w.str("PhoneAreaCode", fmt.Sprint(2+rv.intn(8)))
			w.str("PhoneCountryCode", p.phoneCC)
		} else {
			w.str("PhoneNumber", "")
			w.str("PhoneAreaCode", "")
			w.str("PhoneCountryCode", "")
		}
		w.end()
	}
	w.endArr()
	w.msDate("UpdatedDateUTC", c.upd(i))
	w.arr("ContactGroups")
	if ng := t.n0(sContactGroups); ng > 0 && r.chance(0.2) {
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
	w.str("SalesDefaultLineAmountType", "EXCLUSIVE")
	w.str("PurchasesDefaultLineAmountType", "INCLUSIVE")
	cur := t.currencies[r.intn(len(t.currencies))]
	if r.chance(0.8) {
		cur = p.currency
	}
	w.str("DefaultCurrency", cur)
	if customer {
		w.str("SalesDefaultAccountCode", t.accountCode(acctSales))
	}
	if supplier {
		w.str("PurchasesDefaultAccountCode", t.accountCode(pick(&r, expenseAccts)))
	}
	w.arr("SalesTrackingCategories")
	if r.chance(0.2) {
		w.elem()
		w.str("TrackingCategoryName", trackingCats[0].name)
		w.str("TrackingOptionName", trackingCats[0].options[r.intn(4)].name)
		w.end()
	}
	w.endArr()
	w.emptyArr("PurchasesTrackingCategories")
	if r.chance(0.3) {
		w.objKey("PaymentTerms")
		w.objKey("Sales")
		w.integer("Day", int64(7+r.intn(24)))
		w.str("Type", "DAYSAFTERBILLDATE")
		w.end()
		w.end()
	}
	if nb := t.n0(sBrandingThemes); nb > 0 && r.chance(0.2) {
		b := r.intn(nb)
		w.objKey("BrandingTheme")
		w.id("BrandingThemeID", t.rid(sBrandingThemes, b))
		w.str("Name", themeNames[b%len(themeNames)])
		w.end()
	}
	if supplier && r.chance(0.5) {
		w.objKey("BatchPayments")
		w.str("BankAccountNumber", fmt.Sprintf("%02d-%04d-%07d-%02d", r.intn(40), r.intn(10000), r.intn(10_000_000), r.intn(100)))
		w.str("BankAccountName", name)
		w.str("Details", "Invoice payment")
		w.end()
	}
	w.objKey("Balances")
	w.objKey("AccountsReceivable")
	out := int64(rv.between(0, 500_000)) * 100
	w.money("Outstanding", out, 2)
	w.money("Overdue", out/3, 2)
	w.end()
	w.objKey("AccountsPayable")
	out = int64(rv.between(0, 200_000)) * 100
	w.money("Outstanding", out, 2)
	w.money("Overdue", out/4, 2)
	w.end()
	w.end()
	w.emptyArr("ContactPersons")
	w.boolean("HasAttachments", false)
	w.str("Website", "")
	w.boolean("HasValidationErrors", false)
	w.end()
}
