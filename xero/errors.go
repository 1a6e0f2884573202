package xero

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Sentinels for the decisions a caller makes. Match them with errors.Is: an *APIError matches
// the sentinel of its status, and token errors wrap ErrUnauthorized.
var (
	// ErrUnauthorized: Xero does not accept the app's credentials for this call. From the API:
	// 401 AuthorizationUnsuccessful (the connection was revoked) or a TokenExpired that survived
	// a fresh token. From the token endpoint: invalid_grant (the refresh token is expired,
	// revoked or already used) or invalid_client. Not retryable: a person must re-authorise the
	// app and set XERO_REFRESH_TOKEN, or fix the client id and secret.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the tenant refused this endpoint. 403: the tenant is not connected to this
	// app, or the app lacks the scope. Also a 401 AuthorizationUnsuccessful on /Journals, which
	// is how Xero answers an app below the Advanced tier (since March 2026). Not retryable; it
	// concerns this tenant or this endpoint, not the whole app.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: 404, the endpoint or record does not exist (for example /Employees, which
	// Xero removed in April 2026). Not retryable.
	ErrNotFound = errors.New("not found")
	// ErrDayLimit: 429 with X-Rate-Limit-Problem day, the tenant's daily call limit is spent.
	// The *APIError carries RetryAfter, the time until Xero's day window resets; the client
	// refuses further calls to that tenant until then. Not retryable within a sync: pause the
	// tenant.
	ErrDayLimit = errors.New("daily call limit reached")
)

// Rate-limit problems Xero names in X-Rate-Limit-Problem (lower case).
const (
	ProblemMinute     = "minute"
	ProblemDay        = "day"
	ProblemConcurrent = "concurrent"
	ProblemAppMinute  = "appminute"
)

// Problem texts of 401 and 403 bodies (the Detail field).
const (
	detailTokenExpired              = "TokenExpired"
	detailAuthorizationUnsuccessful = "AuthorizationUnsuccessful"
)

// maxErrorBody is how much of an error body an APIError keeps.
const maxErrorBody = 512

// APIError is an answer from Xero other than success. It says what was asked (tenant,
// endpoint, page) and what came back (status, problem, the start of the body); it never holds a
// header or a token.
type APIError struct {
	// Tenant is the xero-tenant-id of the call ("" for tenantless calls).
	Tenant string
	// Endpoint is the path below the API base: "/Invoices", "/connections", "/connect/token".
	Endpoint string
	// Page is the page parameter of the call, 0 when it had none.
	Page int
	// StatusCode is the HTTP status.
	StatusCode int
	// Problem is what Xero named as the cause: X-Rate-Limit-Problem on a 429 ("minute", "day",
	// "concurrent", "appminute"), the Detail of a 401 or 403 ("TokenExpired: ...",
	// "AuthorizationUnsuccessful"), the Message of a 400, the error code of the token endpoint.
	Problem string
	// RetryAfter is the Retry-After header, 0 when absent.
	RetryAfter time.Duration
	// Body is the start of the response body, whitespace trimmed, at most 512 bytes.
	Body string
}

// Error reads like "tenant 3f2a9c1d…: GET /Invoices page 4: 429 minute limit, retry in 38s".
func (e *APIError) Error() string {
	var b strings.Builder
	if e.Tenant != "" {
		b.WriteString("tenant ")
		b.WriteString(shortID(e.Tenant))
		b.WriteString(": ")
	}
	method := http.MethodGet
	if e.Endpoint == tokenPath {
		method = http.MethodPost
	}
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(e.Endpoint)
	if e.Page > 0 {
		fmt.Fprintf(&b, " page %d", e.Page)
	}
	b.WriteString(": ")
	b.WriteString(e.status())
	return b.String()
}

// status is the part of the message after the call: the status and what it means.
func (e *APIError) status() string {
	switch e.StatusCode {
	case http.StatusTooManyRequests:
		s := "429 rate limited"
		if e.Problem != "" {
			s = "429 " + e.Problem + " limit"
		}
		if e.RetryAfter > 0 {
			s += ", retry in " + e.RetryAfter.String()
		}
		return s
	case http.StatusUnauthorized:
		switch {
		case e.journalsGate():
			return "401 AuthorizationUnsuccessful: journals need Xero's Advanced tier (since March 2026) and the " +
				"accounting.journals.read scope; if other endpoints of this tenant also answer 401, the connection was revoked"
		case strings.HasPrefix(e.Problem, detailTokenExpired):
			return "401 TokenExpired: Xero rejected an access token the client had just refreshed"
		default:
			return "401 " + orDefault(e.Problem, "Unauthorized") +
				": the connection to this organisation was revoked or the app lost access; reconnect it"
		}
	case http.StatusForbidden:
		return "403 " + orDefault(e.Problem, "Forbidden") +
			": the tenant is not connected to this app, or the app lacks the scope for this endpoint " +
			"(journals need accounting.journals.read and, since March 2026, Xero's Advanced tier)"
	case http.StatusNotFound:
		return "404 not found: Xero has no such endpoint or record"
	}
	s := strconv.Itoa(e.StatusCode) + " " + strings.ToLower(http.StatusText(e.StatusCode))
	if detail := orDefault(e.Problem, e.Body); detail != "" {
		s += ": " + oneLine(detail, 200)
	}
	return s
}

// journalsGate reports the 401 Xero gives an app without access to journals.
func (e *APIError) journalsGate() bool {
	return e.StatusCode == http.StatusUnauthorized && e.Endpoint == "/Journals" &&
		strings.HasPrefix(e.Problem, detailAuthorizationUnsuccessful)
}

// sentinel is the Err* value e matches, or nil.
func (e *APIError) sentinel() error {
	switch {
	case e.StatusCode == http.StatusTooManyRequests && e.Problem == ProblemDay:
		return ErrDayLimit
	case e.journalsGate():
		return ErrForbidden
	case e.StatusCode == http.StatusUnauthorized:
		return ErrUnauthorized
	case e.StatusCode == http.StatusForbidden:
		return ErrForbidden
	case e.StatusCode == http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}

// Is makes errors.Is(err, ErrDayLimit) and the other sentinels match.
func (e *APIError) Is(target error) bool {
	s := e.sentinel()
	return s != nil && s == target
}

// retryable says whether repeating the same call later can succeed.
func (e *APIError) retryable() bool {
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		// Minute, app-minute and concurrent limits free up within a minute; the day limit
		// does not free up within a sync.
		return e.Problem != ProblemDay
	case e.StatusCode == http.StatusNotImplemented:
		return false
	case e.StatusCode >= 500:
		// Xero's 500 is "an unhandled error", its 503 a maintenance window or an organisation
		// briefly offline; 502 and 504 come from the gateway. All pass.
		return true
	case e.StatusCode == http.StatusRequestTimeout:
		return true
	}
	// 400 (the request itself is wrong), 401, 403, 404 and the rest give the same answer again.
	return false
}

// IsRetryable reports whether err is a transient failure, so the same call made again later
// can succeed. The client has already retried such failures up to Config.MaxAttempts times; a
// caller that gets one may wait (an *APIError's RetryAfter, if set) and try again.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	// Errors of this package that know their answer: a timed-out attempt, a truncated or
	// malformed body, a token endpoint that failed on its side.
	var t interface{ retryable() bool }
	if errors.As(err, &t) {
		return t.retryable()
	}
	// The caller cancelled or its own deadline passed: stopping was asked for, not a fault.
	// (Only context.DeadlineExceeded itself: net/http's own timeouts also claim to be it
	// through errors.Is, and those are faults.)
	if errors.Is(err, context.Canceled) || holds(err, context.DeadlineExceeded) {
		return false
	}
	// Decisions, not faults.
	for _, s := range []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrDayLimit} {
		if errors.Is(err, s) {
			return false
		}
	}
	// A dropped connection: the server or a proxy closed it before or during the response
	// (EOF, reset, broken pipe), or refused it while restarting.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	// A network timeout (dial, TLS handshake, response headers).
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// Any other failure of the network below HTTP (DNS, dial, read, write).
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &de)
}

// holds reports whether target itself is in err's chain, compared with == rather than through
// the Is methods of the errors in the chain.
func holds(err, target error) bool {
	for err != nil {
		if err == target {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if holds(e, target) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

// attemptTimeoutError is one attempt running past Config.RequestTimeout while the caller's
// context was still live.
type attemptTimeoutError struct{ timeout time.Duration }

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("no complete response within the request timeout of %s", e.timeout)
}
func (e *attemptTimeoutError) Timeout() bool   { return true }
func (e *attemptTimeoutError) retryable() bool { return true }

// bodyError is a 200 body that could not be read to its end or was not the JSON expected: the
// connection dropped mid-body, the body was cut short, or it was malformed. The call is
// repeated; its records are never returned as a short page.
type bodyError struct {
	err error
}

func (e *bodyError) Error() string   { return "read response body: " + e.err.Error() }
func (e *bodyError) Unwrap() error   { return e.err }
func (e *bodyError) retryable() bool { return true }

// newAPIError builds the error for a response that is not a success, reading (and closing) at
// most a few KiB of its body.
func newAPIError(resp *http.Response, tenant, endpoint string, page int) *APIError {
	body := readErrorBody(resp)
	e := &APIError{
		Tenant:     tenant,
		Endpoint:   endpoint,
		Page:       page,
		StatusCode: resp.StatusCode,
		RetryAfter: retryAfter(resp.Header),
		Body:       trimBody(body),
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		e.Problem = strings.ToLower(resp.Header.Get("X-Rate-Limit-Problem"))
	} else {
		e.Problem = problemOf(body)
	}
	return e
}

// readErrorBody reads the start of an error body and closes it.
func readErrorBody(resp *http.Response) []byte {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	return body
}

// problemOf finds the cause Xero names in an error body: Detail (401, 403), Message (400), error
// (token endpoint). It returns "" for a body that is not such JSON.
func problemOf(body []byte) string {
	var b struct {
		Detail  string `json:"Detail"`
		Message string `json:"Message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	return oneLine(orDefault(b.Detail, orDefault(b.Message, b.Error)), 200)
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date (not expected from Xero).
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

// trimBody keeps the start of an error body, at most maxErrorBody bytes of valid UTF-8.
func trimBody(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) <= maxErrorBody {
		return strings.ToValidUTF8(string(body), "?")
	}
	cut := maxErrorBody
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return strings.ToValidUTF8(string(body[:cut]), "?") + "…"
}

// oneLine folds s onto one line and cuts it at n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

// shortID is the start of a tenant id, enough to tell tenants apart in a message.
func shortID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8] + "…"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
