package xero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ifModifiedSinceLayout is the If-Modified-Since format Xero documents: "A UTC timestamp
// (yyyy-mm-ddThh:mm:ss)", with no zone and no fraction of a second.
const ifModifiedSinceLayout = "2006-01-02T15:04:05"

// Request is one list call of the Accounting API.
type Request struct {
	// Tenant is the xero-tenant-id of the organisation to read.
	Tenant string
	// Path is the endpoint below the Accounting API base: "/Invoices".
	Path string
	// Wrapper is the key of the record array in the response: "Invoices".
	Wrapper string
	// Query holds the query parameters: page, pageSize, offset, order, unitdp, ...
	Query url.Values
	// ModifiedSince, when not zero, is sent as If-Modified-Since in UTC at second resolution
	// (2006-01-02T15:04:05, the form Xero documents). Fractions of a second are dropped, so
	// the header never lies after the time asked for: a record changed in that same second is
	// returned, not skipped.
	ModifiedSince time.Time
}

// Page is one list response.
type Page struct {
	// Records are the elements of the wrapper array, each a complete JSON object byte for
	// byte as Xero sent it, in response order. They share one buffer of about the size of the
	// response: keep them, but do not append to them.
	Records []json.RawMessage
	// Pagination is the response's pagination object; nil when it has none.
	Pagination *Pagination
	// ServerTime is the envelope's DateTimeUTC: Xero's clock when it answered. Zero if absent.
	ServerTime time.Time
	// Limits are the X-*-Limit-Remaining headers of the response.
	Limits Limits
}

// Pagination is the pagination object of the endpoints that take pageSize.
type Pagination struct {
	Page      int `json:"page"`
	PageSize  int `json:"pageSize"`
	PageCount int `json:"pageCount"`
	ItemCount int `json:"itemCount"`
}

// List reads one response of an Accounting API list endpoint:
// GET Config.APIURL + "/api.xro/2.0" + req.Path + "?" + req.Query.
//
// The body is decoded as a stream: the records of the wrapper array are handed out as raw JSON,
// never decoded into maps. A 304 Not Modified is an empty page. A 200 without the wrapper
// array is an error; a body that ends early or is malformed repeats the call (at most
// Config.MaxAttempts times) and is never returned as a short page. Failures are *APIError or
// wrap what happened with the tenant, endpoint and page; see IsRetryable.
func (c *Client) List(ctx context.Context, req Request) (*Page, error) {
	cl := call{tenant: req.Tenant, endpoint: req.Path}
	cl.page, _ = strconv.Atoi(req.Query.Get("page"))
	switch {
	case req.Tenant == "":
		return nil, cl.wrap(errors.New("no tenant in the request"))
	case !strings.HasPrefix(req.Path, "/"):
		return nil, cl.wrap(fmt.Errorf("path %q does not start with /", req.Path))
	case req.Wrapper == "":
		return nil, cl.wrap(errors.New("no wrapper key in the request"))
	}
	u := c.cfg.APIURL + accountingPrefix + req.Path
	if len(req.Query) > 0 {
		u += "?" + req.Query.Encode()
	}
	h := http.Header{}
	h.Set(tenantHeader, req.Tenant)
	if !req.ModifiedSince.IsZero() {
		h.Set("If-Modified-Since", req.ModifiedSince.UTC().Format(ifModifiedSinceLayout))
	}

	var page *Page
	err := c.do(ctx, cl, u, h, func(resp *http.Response) error {
		p := &Page{}
		if resp.StatusCode != http.StatusNotModified {
			var err error
			if p, err = decodePage(resp.Body, req.Wrapper); err != nil {
				return err
			}
		}
		p.Limits = limitsFromHeader(resp.Header, c.clock.Now())
		page = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// decodePage reads a list response body as a stream of JSON tokens: the envelope's keys one by
// one, and the wrapper array element by element, each kept as its raw bytes. Errors of the
// stream itself (an early end, bad syntax, a dropped connection) are *bodyError; a complete
// body of the wrong shape is a plain error.
func decodePage(body io.Reader, wrapper string) (*Page, error) {
	dec := json.NewDecoder(body)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var (
		p     Page
		found bool
		// Every record is appended to one buffer and sliced from it at the end, so a page
		// costs a few allocations instead of one per record.
		buf  []byte
		ends []int
	)
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, &bodyError{err}
		}
		switch key {
		case wrapper:
			found = true
			if buf, ends, err = readRecords(dec, buf[:0], ends[:0]); err != nil {
				return nil, err
			}
		case "pagination":
			if err := dec.Decode(&p.Pagination); err != nil {
				return nil, &bodyError{fmt.Errorf("pagination: %w", err)}
			}
		case "DateTimeUTC":
			var s string
			if err := dec.Decode(&s); err != nil {
				return nil, &bodyError{fmt.Errorf("DateTimeUTC: %w", err)}
			}
			if p.ServerTime, err = parseMSDate(s); err != nil {
				return nil, fmt.Errorf("DateTimeUTC: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, &bodyError{err}
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	// Anything after the envelope means the body is not what it seems.
	if _, err := dec.Token(); err != io.EOF {
		return nil, &bodyError{fmt.Errorf("data after the response object (%v)", err)}
	}
	if !found {
		return nil, fmt.Errorf("the response has no %q array", wrapper)
	}
	p.Records = make([]json.RawMessage, len(ends))
	start := 0
	for i, end := range ends {
		p.Records[i] = json.RawMessage(buf[start:end:end])
		start = end
	}
	return &p, nil
}

// readRecords reads the wrapper array (or null) into buf, noting where each record ends.
func readRecords(dec *json.Decoder, buf []byte, ends []int) ([]byte, []int, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, &bodyError{err}
	}
	if tok == nil {
		return buf, ends, nil // "Invoices": null
	}
	if tok != json.Delim('[') {
		return nil, nil, fmt.Errorf("the wrapper is %v, not an array", tok)
	}
	var raw json.RawMessage
	for dec.More() {
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, &bodyError{err}
		}
		if raw[0] != '{' {
			return nil, nil, fmt.Errorf("record %d is not a JSON object", len(ends)+1)
		}
		buf = append(buf, raw...)
		ends = append(ends, len(buf))
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, nil, err
	}
	return buf, ends, nil
}

// expectDelim reads the next token and checks it is d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return &bodyError{err}
	}
	if tok != d {
		return &bodyError{fmt.Errorf("expected %v, found %v", d, tok)}
	}
	return nil
}

// parseMSDate parses Xero's "/Date(1552326816230)/" and "/Date(1552326816230+0000)/". The
// number is milliseconds since the Unix epoch in UTC; the offset, when present, only says
// which zone the value was entered in and does not move the instant.
func parseMSDate(s string) (time.Time, error) {
	inner, ok := strings.CutPrefix(s, "/Date(")
	if ok {
		inner, ok = strings.CutSuffix(inner, ")/")
	}
	if !ok {
		return time.Time{}, fmt.Errorf("%q is not a /Date(ms)/ value", s)
	}
	if i := strings.LastIndexAny(inner, "+-"); i > 0 {
		if off := inner[i+1:]; len(off) < 2 || len(off) > 4 || strings.Trim(off, "0123456789") != "" {
			return time.Time{}, fmt.Errorf("%q has a malformed offset", s)
		}
		inner = inner[:i]
	}
	ms, err := strconv.ParseInt(inner, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a /Date(ms)/ value", s)
	}
	return time.UnixMilli(ms).UTC(), nil
}
