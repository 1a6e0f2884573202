package xerosim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// specPath finds Xero's OpenAPI spec: $XERO_OPENAPI_SPEC, or ../shared/xero/openapi/ beside the
// repository. The spec is not part of the repository.
func specPath(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("XERO_OPENAPI_SPEC"); p != "" {
		return p
	}
	p := filepath.Join("..", "..", "shared", "xero", "openapi", "xero_accounting.yaml")
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("Xero's OpenAPI spec not found: set XERO_OPENAPI_SPEC to xero_accounting.yaml (looked for %s)", p)
	}
	return p
}

// undeclaredExtras are properties Xero really sends that the spec does not declare. The
// simulator sends them too; the validator adds them to the schemas as strings and rejects any
// other undeclared property.
var undeclaredExtras = map[string][]string{
	"Invoice":         {"DateString", "DueDateString"},
	"CreditNote":      {"DateString", "DueDateString"},
	"BankTransaction": {"DateString"},
	"BankTransfer":    {"DateString", "CreatedDateUTCString"},
	"Overpayment":     {"DateString"},
	"Prepayment":      {"DateString"},
	"PurchaseOrder":   {"DateString", "DeliveryDateString"},
}

// loadStrictSpec loads the spec and makes every object schema reject undeclared properties.
func loadStrictSpec(tb testing.TB) *openapi3.T {
	tb.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath(tb))
	if err != nil {
		tb.Fatalf("load spec: %v", err)
	}
	for name, extras := range undeclaredExtras {
		s := doc.Components.Schemas[name].Value
		for _, p := range extras {
			if _, ok := s.Properties[p]; ok {
				tb.Fatalf("%s.%s is declared now: drop it from undeclaredExtras", name, p)
			}
			s.Properties[p] = openapi3.NewSchemaRef("", openapi3.NewStringSchema())
		}
	}
	no := false
	seen := map[*openapi3.Schema]bool{}
	var walk func(s *openapi3.Schema)
	walk = func(s *openapi3.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Schema == nil {
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
		}
		for _, p := range s.Properties {
			walk(p.Value)
		}
		if s.Items != nil {
			walk(s.Items.Value)
		}
		for _, x := range append(append(s.AllOf, s.AnyOf...), s.OneOf...) {
			walk(x.Value)
		}
	}
	for _, s := range doc.Components.Schemas {
		walk(s.Value)
	}
	return doc
}

var (
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	noZoneRE = regexp.MustCompile(`^/Date\(\d+\)/$`)
)

// validateList checks a list body: the envelope (which the wrapper schemas do not declare) by
// hand, the rest against the wrapper schema.
func validateList(tb testing.TB, doc *openapi3.T, d *streamDef, body []byte) {
	tb.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		tb.Fatalf("%s: %v", d.name, err)
	}
	if id, _ := v["Id"].(string); !uuidRE.MatchString(id) || v["Status"] != "OK" || v["ProviderName"] == nil {
		tb.Fatalf("%s: bad envelope %v %v %v", d.name, v["Id"], v["Status"], v["ProviderName"])
	}
	if dt, _ := v["DateTimeUTC"].(string); !noZoneRE.MatchString(dt) {
		tb.Fatalf("%s: DateTimeUTC %q", d.name, dt)
	}
	for _, k := range []string{"Id", "Status", "ProviderName", "DateTimeUTC"} {
		delete(v, k)
	}
	var schema *openapi3.Schema
	if d.id == sEmployees {
		// /Employees is gone from the spec; its schema is still there.
		schema = openapi3.NewObjectSchema().WithProperty("Employees", openapi3.NewArraySchema().WithItems(doc.Components.Schemas["Employee"].Value))
		no := false
		schema.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	} else {
		op := doc.Paths.Find(d.path).Get
		schema = op.Responses.Status(200).Value.Content["application/json"].Schema.Value
	}
	if err := schema.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
		msg := err.Error()
		if len(msg) > 3000 {
			msg = msg[:3000]
		}
		tb.Fatalf("%s: response does not match the spec: %s", d.name, msg)
	}
}

// TestResponsesMatchOpenAPISpec walks every endpoint with every parameter shape, on data that
// has been changed (so every status shows up), and validates each body against the spec.
func TestResponsesMatchOpenAPISpec(t *testing.T) {
	doc := loadStrictSpec(t)
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			s := newSim(t, Fast(), ServeEmployees(), Seed(seed), Tenants(2))
			s.Mutate(1500)
			c := newClient(t, s)
			for _, ten := range s.Tenants() {
				for _, d := range defs {
					queries := []string{"", "includeArchived=true&includeDeleted=true&unitdp=4"}
					switch d.paging {
					case pagingPageSize:
						queries = append(queries, "page=1&pageSize=1000&unitdp=4&includeArchived=true", "page=2&order=UpdatedDateUTC%20DESC")
					case pagingPageOnly:
						queries = append(queries, "page=1", "page=2")
					case pagingOffset:
						queries = append(queries, "offset=100", "offset=0&paymentsOnly=true")
					}
					for _, q := range queries {
						path := "/api.xro/2.0" + d.path + "?" + q
						resp, body := c.get(ten, path, nil)
						if resp.StatusCode != 200 {
							t.Fatalf("%s: %d", path, resp.StatusCode)
						}
						validateList(t, doc, d, body)
					}
				}
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		s := newSim(t, Fast(), Volume("invoices", 20), HighVolumeThreshold(10))
		c := newClient(t, s)
		errSchema := doc.Components.Schemas["Error"].Value
		for _, path := range []string{"/api.xro/2.0/Invoices?page=0", "/api.xro/2.0/Invoices?page=1&where=Status%3D%3D%22PAID%22", "/api.xro/2.0/Contacts?order=Name"} {
			resp, body := c.get(s.Tenants()[0], path, nil)
			var v any
			if resp.StatusCode != 400 || json.Unmarshal(body, &v) != nil {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
			}
			if err := errSchema.VisitJSON(v, openapi3.VisitAsResponse()); err != nil {
				t.Fatalf("%s: error body does not match the spec: %v", path, err)
			}
			if strings.Contains(path, "where") && !strings.Contains(string(body), "not filtering Invoices efficiently") {
				t.Fatalf("where on a large tenant: %s", body)
			}
		}
	})
}

// TestStrictSpecRejectsUnknownFields shows that the validator is strict: an undeclared property,
// a wrong enum value or a number where a string belongs fails.
func TestStrictSpecRejectsUnknownFields(t *testing.T) {
	doc := loadStrictSpec(t)
	schema := doc.Paths.Find("/Invoices").Get.Responses.Status(200).Value.Content["application/json"].Schema.Value
	for name, body := range map[string]string{
		"undeclared":  `{"Invoices":[{"InvoiceID":"d4956132-ed94-4dd7-9eaa-aa22dfdf06f2","Colour":"red"}]}`,
		"nested":      `{"Invoices":[{"LineItems":[{"Colour":"red"}]}]}`,
		"enum":        `{"Invoices":[{"Status":"LOST"}]}`,
		"type":        `{"Invoices":[{"InvoiceNumber":7}]}`,
		"pagination":  `{"pagination":{"page":"one"},"Invoices":[]}`,
		"unknown key": `{"Invoice":[]}`,
	} {
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		if err := schema.VisitJSON(v, openapi3.VisitAsResponse()); err == nil {
			t.Errorf("%s: %s accepted", name, body)
		}
	}
	var ok any
	_ = json.Unmarshal([]byte(`{"Invoices":[{"DateString":"2019-10-24T00:00:00","Status":"PAID"}]}`), &ok)
	if err := schema.VisitJSON(ok, openapi3.VisitAsResponse()); err != nil {
		t.Errorf("documented extra rejected: %v", err)
	}
}
