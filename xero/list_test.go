package xero

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestListSendsTheRequestXeroExpects(t *testing.T) {
	tests := []struct {
		name      string
		since     time.Time
		wantSince string
	}{
		{"no If-Modified-Since", time.Time{}, ""},
		{"UTC, fraction dropped", time.Date(2026, 2, 28, 23, 59, 58, 999_000_000, time.UTC), "2026-02-28T23:59:58"},
		{"other zone converted to UTC", time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("NZDT", 13*3600)), "2026-02-28T21:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			env := newTestEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Clone(r.Context())
				okInvoices(w, r)
			}), nil)
			req := invoicesReq()
			req.Query = url.Values{"page": {"4"}, "pageSize": {"1000"}, "order": {"UpdatedDateUTC ASC"}, "unitdp": {"4"}}
			req.ModifiedSince = tt.since
			if _, err := env.client.List(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			checks := map[string][2]string{
				"path":              {got.URL.Path, "/api.xro/2.0/Invoices"},
				"query":             {got.URL.Query().Encode(), req.Query.Encode()},
				"Authorization":     {got.Header.Get("Authorization"), "Bearer access-token-1"},
				"xero-tenant-id":    {got.Header.Get("xero-tenant-id"), testTenant},
				"Accept":            {got.Header.Get("Accept"), "application/json"},
				"User-Agent":        {got.Header.Get("User-Agent"), DefaultUserAgent},
				"If-Modified-Since": {got.Header.Get("If-Modified-Since"), tt.wantSince},
			}
			for name, c := range checks {
				if c[0] != c[1] {
					t.Errorf("%s = %q, want %q", name, c[0], c[1])
				}
			}
		})
	}
}

// testRecords makes n invoice-like records that exercise the decoder: escaped slashes and
// quotes, unicode escapes, brackets inside strings, nested arrays and objects, numbers with
// trailing zeros, null, and some inner whitespace.
func testRecords(n int) []string {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"InvoiceID":"%08x-0000-4000-8000-000000000000","Type":"ACCREC","InvoiceNumber":"INV-%d",`+
			`"Reference":"Ref ]} \"quoted\" caf\u00e9 \u2603 \\ back","Date":"\/Date(1539993600000+0000)\/",`+
			`"UpdatedDateUTC":"\/Date(%d+0000)\/","SubTotal":46.00,"TotalTax":4.60, "Total":50.6,"AmountDue":1e2,`+
			`"Contact":{"ContactID":"c-%d","Name":"Contact [%d]","Addresses":[]},"BrandingThemeID":null,"IsDiscounted":false,`+
			`"LineItems":[{"Description":"Line {1}","Quantity":1.0000,"UnitAmount":46.0000,"Tracking":[{"Name":"Region","Option":"North"}]},`+
			`{"Description":"Line 2","Quantity":-2,"Tracking":[]}]}`,
			i, i, 1584566350680+int64(i)*1000, i%37, i)
	}
	return recs
}

// pageBody wraps records in a list envelope, spaced and ordered the way Xero's vary.
func pageBody(wrapper string, recs []string, pagination string) string {
	var b strings.Builder
	b.WriteString(`{"Id":"900c500b-6f7d-4b58-a9b6-b7a6c2ad0000","Status":"OK","ProviderName":"test",`)
	b.WriteString(`"DateTimeUTC":"\/Date(1552326816230)\/",`)
	if pagination != "" {
		b.WriteString(`"pagination":` + pagination + `,`)
	}
	b.WriteString(`"Warnings":[{"Message":"a \"warning\" with ] and }"}],`)
	b.WriteString(`"` + wrapper + `": [` + "\n  ")
	b.WriteString(strings.Join(recs, ",\n  "))
	b.WriteString("\n]}\n")
	return b.String()
}

func TestListLargePageByteForByte(t *testing.T) {
	recs := testRecords(1000)
	body := pageBody("Invoices", recs, `{"page":4,"pageSize":1000,"pageCount":9,"itemCount":8765}`)
	env := newTestEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, body)
	}), nil)
	page, err := env.client.List(t.Context(), invoicesReq())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != len(recs) {
		t.Fatalf("%d records, want %d", len(page.Records), len(recs))
	}
	for i, r := range page.Records {
		if !bytes.Equal(r, []byte(recs[i])) {
			t.Fatalf("record %d differs:\n got %s\nwant %s", i, r, recs[i])
		}
		if !json.Valid(r) {
			t.Fatalf("record %d is not valid JSON", i)
		}
	}
	// Appending to one record must not overwrite the next.
	_ = append(page.Records[0], 'x')
	if !bytes.Equal(page.Records[1], []byte(recs[1])) {
		t.Error("records share capacity: appending to one changed the next")
	}
	want := Pagination{Page: 4, PageSize: 1000, PageCount: 9, ItemCount: 8765}
	if page.Pagination == nil || *page.Pagination != want {
		t.Errorf("pagination = %+v, want %+v", page.Pagination, want)
	}
}

// recordedInvoice has the shapes of invoices recorded from Xero: a date with an offset and its
// DateString, "no date", whole-number money, empty strings, {} and fields the spec does not list.
const recordedInvoice = `{"Type":"ACCREC","InvoiceID":"243216c5-369e-4056-ac67-05388f86dc81",` +
	`"Date":"\/Date(1397390400000+1200)\/","DateString":"2014-04-14T00:00:00",` +
	`"UpdatedDateUTC":"\/Date(1221517731500+1200)\/","FullyPaidOnDate":"\/Date(0+0000)\/",` +
	`"Total":0,"AmountDue":108.6,"Reference":"","Contact":{"ContactID":"x","SkypeUserName":"",` +
	`"Addresses":[{"AddressType":"POBOX","City":"","Region":""}],"PaymentTerms":{}},` +
	`"HasAttachments":true,"Attachments":[{"FileName":"a.pdf"}],"LineItems":[{"ValidationErrors":[],` +
	`"Tracking":[{"Name":"Region","Options":[]}]}]}`

func TestListEnvelope(t *testing.T) {
	serverTime := time.UnixMilli(1552326816230).UTC()
	tests := []struct {
		name           string
		body           string
		wantRecords    []string
		wantPagination *Pagination
		wantTime       time.Time
	}{
		{
			name:        "no pagination",
			body:        `{"Id":"x","Status":"OK","DateTimeUTC":"\/Date(1552326816230)\/","Accounts":[{"AccountID":"a"},{"AccountID":"b"}]}`,
			wantRecords: []string{`{"AccountID":"a"}`, `{"AccountID":"b"}`},
			wantTime:    serverTime,
		},
		{
			name:           "records first, pagination and time last",
			body:           `{"Accounts":[{"AccountID":"a"}],"pagination":{"page":2,"pageSize":100,"pageCount":2,"itemCount":101},"DateTimeUTC":"/Date(1552326816230+0000)/"}`,
			wantRecords:    []string{`{"AccountID":"a"}`},
			wantPagination: &Pagination{Page: 2, PageSize: 100, PageCount: 2, ItemCount: 101},
			wantTime:       serverTime,
		},
		{
			name:        "offset +1300: the milliseconds plus 13 hours",
			body:        `{"DateTimeUTC":"\/Date(1552326816230+1300)\/","Accounts":[]}`,
			wantRecords: []string{},
			wantTime:    serverTime.Add(13 * time.Hour),
		},
		{
			name:        "offset +1200",
			body:        `{"DateTimeUTC":"\/Date(1552283616230+1200)\/","Accounts":[]}`,
			wantRecords: []string{},
			wantTime:    serverTime,
		},
		{
			name:        "offset -0500",
			body:        `{"DateTimeUTC":"\/Date(1552344816230-0500)\/","Accounts":[]}`,
			wantRecords: []string{},
			wantTime:    serverTime,
		},
		{
			name:        "no date",
			body:        `{"DateTimeUTC":"\/Date(0+0000)\/","Accounts":[]}`,
			wantRecords: []string{},
		},
		{
			// Records go through byte for byte, whatever they hold: shapes recorded from Xero.
			name:        "records as recorded",
			body:        `{"DateTimeUTC":"\/Date(1552326816230)\/","Invoices":[` + recordedInvoice + `,{"ReceiptNumber":1,"PaymentTerms":{},"Total":108.6}]}`,
			wantRecords: []string{recordedInvoice, `{"ReceiptNumber":1,"PaymentTerms":{},"Total":108.6}`},
			wantTime:    serverTime,
		},
		{
			name:        "empty array",
			body:        `{"DateTimeUTC":"\/Date(1552326816230)\/","Accounts":[]}`,
			wantRecords: []string{},
			wantTime:    serverTime,
		},
		{
			name:        "null array",
			body:        `{"Accounts":null}`,
			wantRecords: []string{},
		},
		{
			name:        "other keys holding arrays and objects are skipped",
			body:        `{"Elements":[{"Accounts":[1]}],"Meta":{"Accounts":[{"x":1}]},"Accounts":[ {"AccountID":"a"} ],"Tail":[[],{}]}`,
			wantRecords: []string{`{"AccountID":"a"}`},
		},
		{
			name:        "pagination null",
			body:        `{"pagination":null,"Accounts":[]}`,
			wantRecords: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wrapper := "Accounts"
			if strings.Contains(tt.body, `"Invoices"`) {
				wrapper = "Invoices"
			}
			p, err := decodePage(strings.NewReader(tt.body), wrapper, -1)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Records) != len(tt.wantRecords) {
				t.Fatalf("records %q, want %q", p.Records, tt.wantRecords)
			}
			for i := range p.Records {
				if string(p.Records[i]) != tt.wantRecords[i] {
					t.Errorf("record %d = %s, want %s", i, p.Records[i], tt.wantRecords[i])
				}
			}
			if (p.Pagination == nil) != (tt.wantPagination == nil) || (p.Pagination != nil && *p.Pagination != *tt.wantPagination) {
				t.Errorf("pagination = %+v, want %+v", p.Pagination, tt.wantPagination)
			}
			if !p.ServerTime.Equal(tt.wantTime) {
				t.Errorf("server time = %v, want %v", p.ServerTime, tt.wantTime)
			}
		})
	}
}

func TestListLimitsFromHeaders(t *testing.T) {
	env := newTestEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-DayLimit-Remaining", "4983")
		w.Header().Set("X-MinLimit-Remaining", "58")
		w.Header().Set("X-AppMinLimit-Remaining", "9999")
		okInvoices(w, r)
	}), nil)
	page, err := env.client.List(t.Context(), invoicesReq())
	if err != nil {
		t.Fatal(err)
	}
	l := page.Limits
	if l.DayRemaining != 4983 || l.MinuteRemaining != 58 || l.AppMinuteRemaining != 9999 {
		t.Errorf("page limits = %+v", l)
	}
	if cl := env.client.Limits(testTenant); cl.DayRemaining != 4983 || cl.MinuteRemaining != 58 || cl.AppMinuteRemaining != 9999 {
		t.Errorf("client limits = %+v", cl)
	}
}

func TestListNotModifiedIsEmpty(t *testing.T) {
	env := newTestEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	}), nil)
	req := invoicesReq()
	req.ModifiedSince = time.Now()
	page, err := env.client.List(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 0 || page.Pagination != nil {
		t.Errorf("page = %+v, want empty", page)
	}
}

// cutBody declares a longer body than it sends, so the client sees the connection end mid-body.
func cutBody(body string, at int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body[:at])
	}
}

func sendBody(body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
}

func TestListBadBodies(t *testing.T) {
	good := pageBody("Invoices", testRecords(3), "")
	bad := map[string]func(http.ResponseWriter, *http.Request){
		"connection dropped mid-record":   cutBody(good, len(good)/2),
		"connection dropped before the ]": cutBody(good, len(good)-4),
		"body ends mid-record":            sendBody(good[:len(good)/2]),
		"body ends after the array":       sendBody(strings.TrimSuffix(good, "}\n")),
		"empty body":                      sendBody(""),
		"malformed token":                 sendBody(strings.Replace(good, `"SubTotal":46.00`, `"SubTotal":46..00`, 1)),
		"data after the object":           sendBody(good + `{"Invoices":[]}`),
		"not an object":                   sendBody(`["Invoices"]`),
	}
	for name, fault := range bad {
		t.Run(name, func(t *testing.T) {
			t.Run("retried then success", func(t *testing.T) {
				s := &scripted{steps: steps(fault, fault, sendBody(good))}
				env := newTestEnv(t, s, nil)
				page, err := env.client.List(t.Context(), invoicesReq())
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Records) != 3 {
					t.Errorf("%d records, want 3", len(page.Records))
				}
				if s.Calls() != 3 {
					t.Errorf("%d calls, want 3", s.Calls())
				}
			})
			t.Run("gives up after the bound", func(t *testing.T) {
				s := &scripted{steps: steps(fault, fault, fault, fault, fault, fault)}
				env := newTestEnv(t, s, func(c *Config) { c.MaxAttempts = 3 })
				page, err := env.client.List(t.Context(), invoicesReq())
				if err == nil {
					t.Fatalf("got a page of %d records from a bad body", len(page.Records))
				}
				if !IsRetryable(err) {
					t.Errorf("IsRetryable(%v) = false", err)
				}
				if !strings.HasPrefix(err.Error(), "tenant 3f2a9c1d…: GET /Invoices page 1: after 3 attempts: read response body: ") {
					t.Errorf("error = %q", err)
				}
				if s.Calls() != 3 {
					t.Errorf("%d calls, want 3", s.Calls())
				}
			})
		})
	}
}

func TestListWrongShapeIsNotRetried(t *testing.T) {
	tests := map[string]string{
		"no wrapper":          `{"Id":"x","Status":"OK","Contacts":[]}`,
		"wrapper not array":   `{"Invoices":{"InvoiceID":"a"}}`,
		"record not object":   `{"Invoices":[{"InvoiceID":"a"},"b"]}`,
		"unreadable date":     `{"DateTimeUTC":"2026-01-01","Invoices":[]}`,
		"wrapper key missing": `{}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			s := &scripted{steps: steps(sendBody(body), sendBody(body))}
			env := newTestEnv(t, s, nil)
			_, err := env.client.List(t.Context(), invoicesReq())
			if err == nil || IsRetryable(err) {
				t.Fatalf("err = %v, want a non-retryable error", err)
			}
			if s.Calls() != 1 {
				t.Errorf("%d calls, want 1", s.Calls())
			}
		})
	}
}

func TestListErrors(t *testing.T) {
	tests := []struct {
		name          string
		path          string
		answer        func(http.ResponseWriter, *http.Request)
		want          error
		wantRetryable bool
		wantCalls     int
		wantMsg       string // the whole message, or "" to skip
		wantIn        []string
	}{
		{
			name:      "403 is ErrForbidden naming the causes",
			answer:    func(w http.ResponseWriter, r *http.Request) { writeProblem(w, 403, "AuthenticationUnsuccessful") },
			want:      ErrForbidden,
			wantCalls: 1,
			wantIn:    []string{"403 AuthenticationUnsuccessful", "not connected to this app", "accounting.journals.read", "Advanced tier"},
		},
		{
			name:      "404 is ErrNotFound",
			path:      "/Employees",
			answer:    status(404),
			want:      ErrNotFound,
			wantCalls: 1,
			wantMsg:   "tenant 3f2a9c1d…: GET /Employees page 1: 404 not found: Xero has no such endpoint or record",
		},
		{
			name:      "401 AuthorizationUnsuccessful is ErrUnauthorized",
			answer:    func(w http.ResponseWriter, r *http.Request) { writeProblem(w, 401, "AuthorizationUnsuccessful") },
			want:      ErrUnauthorized,
			wantCalls: 1,
			wantIn:    []string{"revoked", "reconnect"},
		},
		{
			name:      "401 AuthorizationUnsuccessful on journals is the tier gate",
			path:      "/Journals",
			answer:    func(w http.ResponseWriter, r *http.Request) { writeProblem(w, 401, "AuthorizationUnsuccessful") },
			want:      ErrForbidden,
			wantCalls: 1,
			wantIn:    []string{"Advanced tier", "accounting.journals.read"},
		},
		{
			name: "400 carries Xero's message",
			answer: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
				io.WriteString(w, `{"ErrorNumber":10,"Type":"ValidationException","Message":"Your request is not filtering Invoices efficiently"}`)
			},
			wantCalls: 1,
			wantMsg:   "tenant 3f2a9c1d…: GET /Invoices page 1: 400 bad request: Your request is not filtering Invoices efficiently",
		},
		{
			name: "503 gives up after the bound",
			answer: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "The Xero API is currently offline for maintenance", 503)
			},
			wantRetryable: true,
			wantCalls:     DefaultMaxAttempts,
			wantMsg:       "tenant 3f2a9c1d…: GET /Invoices page 1: 503 service unavailable: The Xero API is currently offline for maintenance",
		},
		{
			name:          "429 minute beyond the wait bound",
			answer:        status(429, "X-Rate-Limit-Problem", "minute", "Retry-After", "338"),
			wantRetryable: true,
			wantCalls:     1,
			wantMsg:       "tenant 3f2a9c1d…: GET /Invoices page 1: 429 minute limit, retry in 5m38s",
		},
		{
			name:      "429 day is ErrDayLimit",
			answer:    status(429, "X-Rate-Limit-Problem", "day", "Retry-After", "7200"),
			want:      ErrDayLimit,
			wantCalls: 1,
			wantMsg:   "tenant 3f2a9c1d…: GET /Invoices page 1: 429 day limit, retry in 2h0m0s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{}
			for range 10 {
				s.steps = append(s.steps, tt.answer)
			}
			env := newTestEnv(t, s, nil)
			req := invoicesReq()
			if tt.path != "" {
				req.Path = tt.path
			}
			_, err := env.client.List(t.Context(), req)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *APIError", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
			for _, other := range []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrDayLimit} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error also matches %v", other)
				}
			}
			if got := IsRetryable(err); got != tt.wantRetryable {
				t.Errorf("IsRetryable = %v, want %v", got, tt.wantRetryable)
			}
			if got := s.Calls(); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("message\n got %q\nwant %q", err, tt.wantMsg)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not mention %q", err, w)
				}
			}
			if ae.Tenant != testTenant || ae.Page != 1 {
				t.Errorf("APIError = %+v, want tenant and page filled", ae)
			}
		})
	}
}

func TestListDayLimitPausesTheTenant(t *testing.T) {
	s := &scripted{steps: steps(status(429, "X-Rate-Limit-Problem", "day", "Retry-After", "7200"))}
	env := newTestEnv(t, s, nil)
	if _, err := env.client.List(t.Context(), invoicesReq()); !errors.Is(err, ErrDayLimit) {
		t.Fatalf("err = %v, want ErrDayLimit", err)
	}
	env.clock.Advance(time.Hour)
	_, err := env.client.List(t.Context(), invoicesReq())
	var ae *APIError
	if !errors.Is(err, ErrDayLimit) || !errors.As(err, &ae) || ae.RetryAfter != time.Hour {
		t.Fatalf("err = %v, want ErrDayLimit with an hour to wait", err)
	}
	if s.Calls() != 1 {
		t.Errorf("%d calls reached the server, want 1", s.Calls())
	}
	if l := env.client.Limits(testTenant); l.Last429.Problem != ProblemDay || l.Last429.RetryAfter != 2*time.Hour {
		t.Errorf("Last429 = %+v", l.Last429)
	}
	env.clock.Advance(time.Hour)
	if _, err := env.client.List(t.Context(), invoicesReq()); err != nil {
		t.Errorf("after the reset: %v", err)
	}
}

func TestListRetriesServerErrorsThenSucceeds(t *testing.T) {
	s := &scripted{steps: steps(status(500), status(503), cutBody(`{"Invoices":[{"InvoiceID":"a"}]}`, 10), dropConnection)}
	env := newTestEnv(t, s, nil)
	page, err := env.client.List(t.Context(), invoicesReq())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || s.Calls() != 5 {
		t.Errorf("%d records after %d calls, want 1 after 5", len(page.Records), s.Calls())
	}
}

func TestListRejectsBadRequests(t *testing.T) {
	env := newTestEnv(t, okInvoices, nil)
	for name, req := range map[string]Request{
		"no tenant":  {Path: "/Invoices", Wrapper: "Invoices"},
		"no wrapper": {Tenant: testTenant, Path: "/Invoices"},
		"no slash":   {Tenant: testTenant, Path: "Invoices", Wrapper: "Invoices"},
	} {
		if _, err := env.client.List(t.Context(), req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if env.xero.APICalls() != 0 {
		t.Errorf("%d calls made for invalid requests", env.xero.APICalls())
	}
}

func TestListConcurrentCallersShareTheClient(t *testing.T) {
	env := newTestEnv(t, okInvoices, nil)
	var wg sync.WaitGroup
	for _, tenant := range []string{testTenant, testTenant2} {
		for range 10 {
			wg.Go(func() {
				req := invoicesReq()
				req.Tenant = tenant
				if _, err := env.client.List(t.Context(), req); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	if env.xero.APICalls() != 20 {
		t.Errorf("%d calls, want 20", env.xero.APICalls())
	}
}

func TestListWaitsOutAMinuteLimit(t *testing.T) {
	s := &scripted{steps: steps(status(429, "X-Rate-Limit-Problem", "minute", "Retry-After", "38"))}
	env := newTestEnv(t, s, nil)
	if _, err := env.client.List(t.Context(), invoicesReq()); err != nil {
		t.Fatal(err)
	}
	if got := env.clock.Sleeps(); len(got) != 1 || got[0] != 38*time.Second {
		t.Errorf("waits %v, want [38s]", got)
	}
	if s.Calls() != 2 {
		t.Errorf("%d calls, want 2", s.Calls())
	}
	if l := env.client.Limits(testTenant); l.Last429.Problem != ProblemMinute || l.Last429.RetryAfter != 38*time.Second {
		t.Errorf("Last429 = %+v", l.Last429)
	}
}
