package xero

import (
	"bytes"
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
	// Fields names top-level fields of the records whose raw values List reads while it splits
	// the page (Page.Fields), so that the caller need not parse each record again to find them.
	Fields []string
	// ModifiedSince, when not zero, is sent as If-Modified-Since in UTC at second resolution
	// (2006-01-02T15:04:05, the form Xero documents). Fractions of a second are dropped, so
	// the header never lies after the time asked for: a record changed in that same second is
	// returned, not skipped.
	ModifiedSince time.Time
}

// Page is one list response.
type Page struct {
	// Records are the elements of the wrapper array, each a complete JSON object byte for
	// byte as Xero sent it, in response order. Their syntax is valid JSON (RFC 8259); their
	// strings may hold invalid UTF-8 and their objects duplicate names, which are left for the
	// consumer to judge. They share one buffer the size of the response body; each is capped,
	// so appending to one copies it.
	Records []json.RawMessage
	// values holds the raw values of the request's Fields: record i's are
	// values[i*nfields:(i+1)*nfields]. See Fields.
	values  []json.RawMessage
	nfields int
	// Pagination is the response's pagination object; nil when it has none.
	Pagination *Pagination
	// ServerTime is the envelope's DateTimeUTC: Xero's clock when it answered. Zero if absent.
	ServerTime time.Time
	// Limits are the X-*-Limit-Remaining headers of the response.
	Limits Limits
}

// Fields returns the raw values of the request's Fields in record i, in the order of the
// request: the value of the first member of that name (as encoding/json and gjson read
// duplicates), or nil where the record has no such member. A name is compared after
// unescaping. It returns nil when the request named no fields or the page was built without
// them.
func (p *Page) Fields(i int) []json.RawMessage {
	if p.nfields == 0 || len(p.values) < (i+1)*p.nfields {
		return nil
	}
	return p.values[i*p.nfields : (i+1)*p.nfields : (i+1)*p.nfields]
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
// The body is read whole and split: the records of the wrapper array are handed out as raw JSON,
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
			if p, err = decodePage(resp.Body, req.Wrapper, resp.ContentLength, req.Fields...); err != nil {
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

// DecodePage reads body, a whole list response held in memory, as List reads the body of a 200:
// the records of the wrapper array, the values of fields in each (Page.Fields), the pagination
// and the server time. Errors say what is wrong with the body.
func DecodePage(body []byte, wrapper string, fields ...string) (*Page, error) {
	return decodePage(bytes.NewReader(body), wrapper, int64(len(body)), fields...)
}

// decodePage reads a list response body into one buffer of its size, then splits it in one
// pass (split.go): the envelope's members, and the wrapper array record by record. Records are
// handed out as slices of that buffer, and the values of the top-level members named by fields
// are found as each record is split off. sizeHint is the body's length if known (else -1).
// Errors of the stream itself (an early end, bad syntax, a dropped connection) are *bodyError;
// a complete body of the wrong shape is a plain error.
func decodePage(body io.Reader, wrapper string, sizeHint int64, fields ...string) (*Page, error) {
	buf, err := readBody(body, sizeHint)
	if err != nil {
		return nil, &bodyError{err}
	}
	return splitPage(buf, wrapper, fields)
}

// readBody reads a whole body into a buffer of its size: exactly size bytes when the length is
// known, else grown as it comes and copied to its length if growing left much unused.
func readBody(r io.Reader, size int64) ([]byte, error) {
	if size >= 0 {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		// The transport ends the body at its Content-Length; anything else sends more.
		var more [1]byte
		if n, err := r.Read(more[:]); n > 0 || (err != nil && err != io.EOF) {
			return nil, fmt.Errorf("body longer than its length of %d bytes (%v)", size, err)
		}
		return buf, nil
	}
	buf, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if cap(buf)-len(buf) > len(buf)/8 {
		buf = bytes.Clone(buf)
	}
	return buf, nil
}
