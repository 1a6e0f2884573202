package xero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestIsRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"429 minute", &APIError{StatusCode: 429, Problem: ProblemMinute}, true},
		{"429 concurrent", &APIError{StatusCode: 429, Problem: ProblemConcurrent}, true},
		{"429 appminute", &APIError{StatusCode: 429, Problem: ProblemAppMinute}, true},
		{"429 day", &APIError{StatusCode: 429, Problem: ProblemDay}, false},
		{"500", &APIError{StatusCode: 500}, true},
		{"503 wrapped", fmt.Errorf("invoices: %w", &APIError{StatusCode: 503}), true},
		{"501", &APIError{StatusCode: 501}, false},
		{"400", &APIError{StatusCode: 400}, false},
		{"401", &APIError{StatusCode: 401}, false},
		{"403", &APIError{StatusCode: 403}, false},
		{"404", &APIError{StatusCode: 404}, false},
		{"attempt timeout", &attemptTimeoutError{time.Second}, true},
		{"truncated body", &bodyError{io.ErrUnexpectedEOF}, true},
		{"dropped connection", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"connection reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"connection refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"DNS", &net.DNSError{Err: "no such host", Name: "api.xero.com"}, true},
		{"net/http header timeout", &url.Error{Op: "Get", URL: "u", Err: headerTimeout{}}, true},
		{"caller cancelled", context.Canceled, false},
		{"caller deadline through net/http", &url.Error{Op: "Get", URL: "u", Err: context.DeadlineExceeded}, false},
		{"caller deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"invalid_grant", fmt.Errorf("refresh: %w: re-authorise", ErrUnauthorized), false},
		{"unknown", errors.New("something else"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetryable(tt.err); got != tt.want {
				t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// headerTimeout is shaped like net/http's timeout error: a net.Error whose Is claims
// context.DeadlineExceeded.
type headerTimeout struct{}

func (headerTimeout) Error() string        { return "net/http: timeout awaiting response headers" }
func (headerTimeout) Timeout() bool        { return true }
func (headerTimeout) Temporary() bool      { return true }
func (headerTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

func TestAPIErrorMessage(t *testing.T) {
	tests := []struct {
		err  *APIError
		want string
	}{
		{
			&APIError{Tenant: "3f2a9c1d-0000-4000-8000-000000000001", Endpoint: "/Invoices", Page: 4, StatusCode: 429, Problem: "minute", RetryAfter: 38 * time.Second},
			"tenant 3f2a9c1d…: GET /Invoices page 4: 429 minute limit, retry in 38s",
		},
		{
			&APIError{Endpoint: "/connections", StatusCode: 502, Body: "<html>\n  Bad gateway\n</html>"},
			"GET /connections: 502 bad gateway: <html> Bad gateway </html>",
		},
		{
			&APIError{Endpoint: tokenPath, StatusCode: 503, Problem: "temporarily_unavailable"},
			"POST /connect/token: 503 service unavailable: temporarily_unavailable",
		},
		{
			&APIError{Tenant: "t1", Endpoint: "/Accounts", StatusCode: 429},
			"tenant t1: GET /Accounts: 429 rate limited",
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

func TestTrimBody(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	got := trimBody([]byte("  " + long + "  "))
	if !strings.HasSuffix(got, "…") || len(got) > maxErrorBody+len("…") || !strings.HasPrefix(got, "éé") {
		t.Errorf("trimBody = %q (%d bytes)", got, len(got))
	}
	if strings.ContainsRune(strings.TrimSuffix(got, "…"), '\uFFFD') {
		t.Error("trimBody cut a character in half")
	}
}

// FuzzDecodePage: no panic on any body; a page that decodes has records that are JSON objects.
func FuzzDecodePage(f *testing.F) {
	f.Add(pageBody("Invoices", testRecords(2), `{"page":1,"pageSize":100,"pageCount":1,"itemCount":2}`))
	f.Add(`{"Invoices":[]}`)
	f.Add(`{"Invoices":[{"a":[1,{"b":"]"}]}],"x":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		p, err := decodePage(strings.NewReader(body), "Invoices", -1)
		if err != nil {
			return
		}
		for i, r := range p.Records {
			if len(r) == 0 || r[0] != '{' || !json.Valid(r) {
				t.Errorf("record %d is not a JSON object: %q", i, r)
			}
		}
	})
}
