package xerosim

// Word lists and country profiles the generator draws from.

var (
	firstNames = []string{"Olivia", "Jack", "Amelia", "Noah", "Isla", "Leo", "Charlotte", "Oliver", "Mia", "George",
		"Ava", "Lucas", "Grace", "Henry", "Ruby", "Arlo", "Zoe", "Hugo", "Ella", "Theo", "Aroha", "Wiremu", "Priya", "Mateo"}
	lastNames = []string{"Smith", "Williams", "Brown", "Wilson", "Taylor", "Jones", "Ngata", "Singh", "Walker", "Clarke",
		"Patel", "Anderson", "Thompson", "Martin", "Lee", "Harris", "Young", "King", "Wright", "Campbell", "Rossi", "Chen"}
	companyWords = []string{"Ridgeway", "Bayside", "Harbour", "Summit", "Kowhai", "Pacific", "Silverfern", "Northgate",
		"Ironbark", "Bluegum", "Coastal", "Meridian", "Totara", "Redwood", "Lakeside", "Granite", "Orchard", "Beacon",
		"Parkview", "Southern Cross", "Kauri", "Wattle", "Highland", "Riverside"}
	companyKinds = []string{"Plumbing", "Catering", "Design", "Logistics", "Consulting", "Electrical", "Bakery",
		"Print", "Motors", "Landscaping", "Software", "Hardware", "Dental", "Legal", "Builders", "Coffee Roasters",
		"Events", "Cleaning", "Tiling", "Accounting"}
	companySuffix = []string{"Ltd", "Limited", "& Co", "Pty Ltd", "Group", "Services", "Co", "Holdings"}
	streetNames   = []string{"Queen Street", "High Street", "Victoria Road", "Church Lane", "Station Road", "Park Avenue",
		"Main Street", "George Street", "King Street", "Marine Parade", "Hill Road", "Beach Road"}
	productWords = []string{"Consulting hours", "Site visit", "Annual licence", "Support plan", "Widget", "Gadget",
		"Installation", "Freight", "Design work", "Training session", "Maintenance", "Hardware kit", "Cable pack",
		"Paint (10L)", "Timber lengths", "Coffee beans 1kg", "Printer toner", "Office chairs", "Hosting", "Repairs"}
	narrations = []string{"Accrual for month end", "Depreciation", "Reclassify expense", "Opening balances",
		"Correct coding error", "Payroll accrual", "Prepaid insurance", "GST adjustment", "Loan interest"}
	refWords = []string{"PO", "Job", "Order", "Ref", "Project", "Contract", "Quote"}
)

// taxDef is one tax rate of a country profile.
type taxDef struct {
	taxType, name, report string
	rate                  int64 // percent in 1e-4 units (15% = 150000)
	components            []taxComp
	assets, equity, exps  bool
	liabs, revenue        bool
	status                string
}

type taxComp struct {
	name     string
	rate     int64
	compound bool
}

type place struct{ city, region, postcode string }

// profile is what differs between organisations of different countries.
type profile struct {
	country, countryName, version, currency, currencyName, timezone string
	salesTax, purchaseTax, noTax                                    string // tax types used on documents
	taxNumber                                                       string
	salesTaxBasis, salesTaxPeriod                                   string
	phoneCC                                                         string
	fyEndDay, fyEndMonth                                            int
	arCode, apCode, taxCode, salesCode, costCode                    string
	places                                                          []place
	taxes                                                           []taxDef
}

var profiles = []*profile{
	{
		country: "NZ", countryName: "New Zealand", version: "NZ", currency: "NZD", currencyName: "New Zealand Dollar",
		timezone: "NEWZEALANDSTANDARDTIME", salesTax: "OUTPUT2", purchaseTax: "INPUT2", noTax: "NONE",
		taxNumber: "071-138-054", salesTaxBasis: "PAYMENTS", salesTaxPeriod: "TWOMONTHS", phoneCC: "64",
		fyEndDay: 31, fyEndMonth: 3, arCode: "610", apCode: "800", taxCode: "820", salesCode: "200", costCode: "310",
		places: []place{{"Auckland", "Auckland", "1010"}, {"Wellington", "Wellington", "6011"}, {"Christchurch", "Canterbury", "8011"}, {"Dunedin", "Otago", "9016"}},
		taxes: []taxDef{
			{taxType: "OUTPUT2", name: "15% GST on Income", report: "OUTPUT", rate: 150000, components: []taxComp{{"GST", 150000, false}}, assets: true, equity: true, liabs: true, revenue: true, status: "ACTIVE"},
			{taxType: "INPUT2", name: "15% GST on Expenses", report: "INPUT", rate: 150000, components: []taxComp{{"GST", 150000, false}}, assets: true, equity: true, exps: true, liabs: true, status: "ACTIVE"},
			{taxType: "ZERORATED", name: "Zero Rated", report: "OUTPUT", rate: 0, components: []taxComp{{"GST", 0, false}}, assets: true, equity: true, exps: true, liabs: true, revenue: true, status: "ACTIVE"},
			{taxType: "GSTONIMPORTS", name: "GST on Imports", report: "GSTONIMPORTS", rate: 0, components: []taxComp{{"GST", 0, false}}, liabs: true, status: "ACTIVE"},
			{taxType: "NONE", name: "No GST", report: "NONE", rate: 0, components: []taxComp{{"GST", 0, false}}, assets: true, equity: true, exps: true, liabs: true, revenue: true, status: "ACTIVE"},
		},
	},
	{
		country: "AU", countryName: "Australia", version: "AU", currency: "AUD", currencyName: "Australian Dollar",
		timezone: "AUSEASTERNSTANDARDTIME", salesTax: "OUTPUT", purchaseTax: "INPUT", noTax: "BASEXCLUDED",
		taxNumber: "53 004 085 616", salesTaxBasis: "ACCRUALS", salesTaxPeriod: "QUARTERLY1", phoneCC: "61",
		fyEndDay: 30, fyEndMonth: 6, arCode: "610", apCode: "800", taxCode: "820", salesCode: "200", costCode: "310",
		places: []place{{"Sydney", "NSW", "2000"}, {"Melbourne", "VIC", "3000"}, {"Brisbane", "QLD", "4000"}, {"Perth", "WA", "6000"}},
		taxes: []taxDef{
			{taxType: "OUTPUT", name: "GST on Income", report: "OUTPUT", rate: 100000, components: []taxComp{{"GST", 100000, false}}, assets: true, equity: true, liabs: true, revenue: true, status: "ACTIVE"},
			{taxType: "INPUT", name: "GST on Expenses", report: "INPUT", rate: 100000, components: []taxComp{{"GST", 100000, false}}, assets: true, equity: true, exps: true, liabs: true, status: "ACTIVE"},
			{taxType: "EXEMPTOUTPUT", name: "GST Free Income", report: "EXEMPTOUTPUT", rate: 0, components: []taxComp{{"GST", 0, false}}, assets: true, equity: true, liabs: true, revenue: true, status: "ACTIVE"},
			{taxType: "EXEMPTEXPENSES", name: "GST Free Expenses", report: "EXEMPTEXPENSES", rate: 0, components: []taxComp{{"GST", 0, false}}, assets: true, equity: true, exps: true, liabs: true, status: "ACTIVE"},
			{taxType: "BASEXCLUDED", name: "BAS Excluded", report: "BASEXCLUDED", rate: 0, components: []taxComp{{"GST", 0, false}}, assets: true, equity: true, exps: true, liabs: true, revenue: true, status: "ACTIVE"},
			{taxType: "INPUTTAXED", name: "Input Taxed", report: "INPUTTAXED", rate: 0, components: []taxComp{{"GST", 0, false}}, assets: true, equity: true, exps: true, liabs: true, revenue: true, status: "ARCHIVED"},
		},
	},
	{
		country: "GB", countryName: "United Kingdom", version: "UK", currency: "GBP", currencyName: "British Pound",
		timezone: "GMTSTANDARDTIME", salesTax: "OUTPUT2", purchaseTax: "INPUT2", noTax: "NONE",
		taxNumber: "GB 123 4567 89", salesTaxBasis: "ACCRUAL", salesTaxPeriod: "QUARTERLY1", phoneCC: "44",
		fyEndDay: 31, fyEndMonth: 12, arCode: "610", apCode: "800", taxCode: "820", salesCode: "200", costCode: "310",
		places: []place{{"London", "Greater London", "EC1A 1BB"}, {"Manchester", "Greater Manchester", "M1 1AE"}, {"Leeds", "West Yorkshire", "LS1 4AP"}, {"Bristol", "Bristol", "BS1 4ST"}},
		taxes: []taxDef{
			{taxType: "OUTPUT2", name: "20% (VAT on Income)", report: "OUTPUT", rate: 200000, components: []taxComp{{"VAT", 200000, false}}, assets: true, equity: true, liabs: true, revenue: true, status: "ACTIVE"},
			{taxType: "INPUT2", name: "20% (VAT on Expenses)", report: "INPUT", rate: 200000, components: []taxComp{{"VAT", 200000, false}}, assets: true, equity: true, exps: true, liabs: true, status: "ACTIVE"},
			{taxType: "RROUTPUT", name: "5% (VAT on Income)", report: "OUTPUT", rate: 50000, components: []taxComp{{"VAT", 50000, false}}, assets: true, equity: true, liabs: true, revenue: true, status: "ACTIVE"},
			{taxType: "ZERORATEDOUTPUT", name: "Zero Rated Income", report: "OUTPUT", rate: 0, components: []taxComp{{"VAT", 0, false}}, assets: true, equity: true, liabs: true, revenue: true, status: "ACTIVE"},
			{taxType: "NONE", name: "No VAT", report: "NONE", rate: 0, components: []taxComp{{"VAT", 0, false}}, assets: true, equity: true, exps: true, liabs: true, revenue: true, status: "ACTIVE"},
		},
	},
	{
		country: "US", countryName: "United States", version: "US", currency: "USD", currencyName: "United States Dollar",
		timezone: "EASTERNSTANDARDTIME", salesTax: "OUTPUT", purchaseTax: "INPUT", noTax: "NONE",
		taxNumber: "12-3456789", salesTaxBasis: "ACCRUAL", salesTaxPeriod: "MONTHLY", phoneCC: "1",
		fyEndDay: 31, fyEndMonth: 12, arCode: "120", apCode: "200", taxCode: "220", salesCode: "400", costCode: "500",
		places: []place{{"New York", "NY", "10001"}, {"Austin", "TX", "73301"}, {"Portland", "OR", "97201"}, {"Denver", "CO", "80202"}},
		taxes: []taxDef{
			{taxType: "OUTPUT", name: "Tax on Sales", report: "USSALESTAX", rate: 88750, components: []taxComp{{"State Tax", 40000, false}, {"City Tax", 48750, false}}, assets: true, equity: true, liabs: true, revenue: true, status: "ACTIVE"},
			{taxType: "INPUT", name: "Tax on Purchases", report: "USSALESTAX", rate: 0, components: []taxComp{{"Purchase Tax", 0, false}}, assets: true, equity: true, exps: true, liabs: true, status: "ACTIVE"},
			{taxType: "NONE", name: "Tax Exempt", report: "NONE", rate: 0, components: []taxComp{{"Tax", 0, false}}, assets: true, equity: true, exps: true, liabs: true, revenue: true, status: "ACTIVE"},
		},
	},
}

// currencyNames gives descriptions for the currencies tenants may add to their base one.
var currencyNames = map[string]string{
	"NZD": "New Zealand Dollar", "AUD": "Australian Dollar", "GBP": "British Pound", "USD": "United States Dollar",
	"EUR": "Euro", "CAD": "Canadian Dollar", "JPY": "Japanese Yen", "SGD": "Singapore Dollar", "FJD": "Fiji Dollar",
	"HKD": "Hong Kong Dollar", "CHF": "Swiss Franc", "ZAR": "South African Rand",
}

var extraCurrencies = []string{"USD", "EUR", "GBP", "AUD", "NZD", "CAD", "JPY", "SGD", "FJD", "HKD", "CHF", "ZAR"}

// chartDef is one account of the standard chart.
type chartDef struct {
	code, name, typ, class, system, tax string // tax: "sales", "purchase", "none"
	bank                                bool
}

// chart is the base chart of accounts; codes are remapped per profile for AR/AP/tax/sales/cost.
var chart = []chartDef{
	{code: "090", name: "Business Bank Account", typ: "BANK", class: "ASSET", tax: "none", bank: true},
	{code: "091", name: "Business Savings Account", typ: "BANK", class: "ASSET", tax: "none", bank: true},
	{code: "ar", name: "Accounts Receivable", typ: "CURRENT", class: "ASSET", system: "DEBTORS", tax: "none"},
	{code: "ap", name: "Accounts Payable", typ: "CURRLIAB", class: "LIABILITY", system: "CREDITORS", tax: "none"},
	{code: "tax", name: "Sales Tax", typ: "CURRLIAB", class: "LIABILITY", system: "GST", tax: "none"},
	{code: "sales", name: "Sales", typ: "REVENUE", class: "REVENUE", tax: "sales"},
	{code: "260", name: "Other Revenue", typ: "REVENUE", class: "REVENUE", tax: "sales"},
	{code: "270", name: "Interest Income", typ: "REVENUE", class: "REVENUE", tax: "none"},
	{code: "cost", name: "Cost of Goods Sold", typ: "DIRECTCOSTS", class: "EXPENSE", tax: "purchase"},
	{code: "400", name: "Advertising", typ: "OVERHEADS", class: "EXPENSE", tax: "purchase"},
	{code: "404", name: "Bank Fees", typ: "OVERHEADS", class: "EXPENSE", tax: "none"},
	{code: "408", name: "Cleaning", typ: "OVERHEADS", class: "EXPENSE", tax: "purchase"},
	{code: "412", name: "Consulting & Accounting", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "420", name: "Entertainment", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "429", name: "General Expenses", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "433", name: "Insurance", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "445", name: "Light, Power, Heating", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "449", name: "Motor Vehicle Expenses", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "461", name: "Printing & Stationery", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "469", name: "Rent", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "473", name: "Repairs and Maintenance", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "489", name: "Telephone & Internet", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "493", name: "Travel - National", typ: "EXPENSE", class: "EXPENSE", tax: "purchase"},
	{code: "630", name: "Inventory", typ: "INVENTORY", class: "ASSET", tax: "none"},
	{code: "710", name: "Office Equipment", typ: "FIXED", class: "ASSET", tax: "purchase"},
	{code: "720", name: "Computer Equipment", typ: "FIXED", class: "ASSET", tax: "purchase"},
	{code: "877", name: "Tracking Transfers", typ: "CURRLIAB", class: "LIABILITY", system: "TRACKINGTRANSFERS", tax: "none"},
	{code: "960", name: "Retained Earnings", typ: "EQUITY", class: "EQUITY", system: "RETAINEDEARNINGS", tax: "none"},
	{code: "970", name: "Owner A Funds Introduced", typ: "EQUITY", class: "EQUITY", tax: "none"},
}

// Indexes into chart used by the generator.
const (
	acctBank0 = 0
	acctBank1 = 1
	acctAR    = 2
	acctAP    = 3
	acctTax   = 4
	acctSales = 5
	acctCost  = 8
)

var (
	revenueAccts = []int{5, 6}
	expenseAccts = []int{8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22}
)
